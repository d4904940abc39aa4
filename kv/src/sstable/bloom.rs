//! A bloom filter over user keys, one per SSTable.
//!
//! Layout: `bits (m/8 bytes) | k u8`. Probes use double hashing from one 64-bit hash
//! (Kirsch–Mitzenmacher), so building costs one hash per key.

/// A 64-bit hash of `data` (multiply-xorshift over 8-byte words, then a final avalanche).
pub fn hash64(data: &[u8]) -> u64 {
    const M: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (data.len() as u64).wrapping_mul(M) ^ 0x2545_f491_4f6c_dd1d;
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(M);
        h ^= h >> 29;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(M);
    }
    // fmix64 from MurmurHash3: every input bit affects every output bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Builds the filter bytes for the given key hashes.
pub fn build(hashes: &[u64], bits_per_key: usize) -> Vec<u8> {
    // k = bits_per_key × ln 2 minimises the false-positive rate.
    let k = ((bits_per_key as f64) * 0.69).round().clamp(1.0, 30.0) as u8;
    let bits = (hashes.len() * bits_per_key).max(64);
    let bytes = bits.div_ceil(8);
    let bits = bytes * 8;
    let mut out = vec![0u8; bytes + 1];
    for &h in hashes {
        let delta = h.rotate_left(32) | 1;
        let mut x = h;
        for _ in 0..k {
            let bit = (x % bits as u64) as usize;
            out[bit / 8] |= 1 << (bit % 8);
            x = x.wrapping_add(delta);
        }
    }
    out[bytes] = k;
    out
}

/// Whether the filter may contain a key with hash `h` (false means certainly not).
pub fn may_contain(filter: &[u8], h: u64) -> bool {
    let Some((&k, bits)) = filter.split_last() else {
        return true;
    };
    if bits.is_empty() || k == 0 || k > 30 {
        // Not a filter this build writes: do not let it hide keys.
        return true;
    }
    let nbits = bits.len() as u64 * 8;
    let delta = h.rotate_left(32) | 1;
    let mut x = h;
    for _ in 0..k {
        let bit = (x % nbits) as usize;
        if bits[bit / 8] & (1 << (bit % 8)) == 0 {
            return false;
        }
        x = x.wrapping_add(delta);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let keys: Vec<u64> = (0..10_000u32).map(|i| hash64(&i.to_be_bytes())).collect();
        let filter = build(&keys, 10);
        assert!(keys.iter().all(|&h| may_contain(&filter, h)));
        let false_positives = (10_000..20_000u32)
            .filter(|i| may_contain(&filter, hash64(&i.to_be_bytes())))
            .count();
        // About 1% is expected at 10 bits per key.
        assert!(
            false_positives < 300,
            "{false_positives} false positives in 10000"
        );
    }
}
