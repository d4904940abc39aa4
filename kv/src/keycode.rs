//! Order-preserving key encoding ("keycode"): the byte order of encoded keys is the logical
//! order of the values they encode, so ordered structures over values (SQL rows and indexes,
//! MVCC versions) become ranges of byte keys.
//!
//! | type | encoding |
//! |---|---|
//! | `u64` | 8 bytes big-endian |
//! | `i64` | 8 bytes big-endian with the sign bit flipped (negatives sort first) |
//! | `f64` | IEEE bits big-endian; positives get the sign bit flipped, negatives every bit inverted; `-0.0` is encoded as `+0.0` and every NaN as one canonical NaN, which sorts after `+inf` |
//! | `bool` | `0x00` false, `0x01` true |
//! | bytes, strings | each `0x00` escaped as `0x00 0xff`, then the terminator `0x00 0x00`: a prefix sorts before its extensions |
//! | tuple | the elements' encodings concatenated: tuples order element by element |
//! | [`Value`] | a tag byte (the variant index, `Null` first), then the value's encoding |
//!
//! Decoding is strict: a truncated value, a bad escape, an unknown tag or bytes left over after
//! the last expected element is an [`Error::InvalidArgument`](crate::Error) naming the problem.

use std::cmp::Ordering;
use std::ops::Bound;

use crate::db::prefix_successor;
use crate::error::{Error, Result};

/// Appends `v`.
pub fn encode_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends `v`.
pub fn encode_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&((v as u64) ^ (1 << 63)).to_be_bytes());
}

/// Appends `v` (`-0.0` as `+0.0`, NaN canonical and greatest).
pub fn encode_f64(out: &mut Vec<u8>, v: f64) {
    let v = if v == 0.0 {
        0.0
    } else if v.is_nan() {
        f64::NAN
    } else {
        v
    };
    let bits = v.to_bits();
    let bits = if bits >> 63 == 1 {
        !bits
    } else {
        bits ^ (1 << 63)
    };
    out.extend_from_slice(&bits.to_be_bytes());
}

/// Appends `v`.
pub fn encode_bool(out: &mut Vec<u8>, v: bool) {
    out.push(u8::from(v));
}

/// Appends `v`, escaped and terminated.
pub fn encode_bytes(out: &mut Vec<u8>, v: &[u8]) {
    for &b in v {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// Appends `v`, escaped and terminated like bytes.
pub fn encode_str(out: &mut Vec<u8>, v: &str) {
    encode_bytes(out, v.as_bytes());
}

/// The range of every key that starts with `prefix`, for scans.
pub fn prefix_range(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let end = prefix_successor(prefix).map_or(Bound::Unbounded, Bound::Excluded);
    (Bound::Included(prefix.to_vec()), end)
}

/// Reads encoded values from the front of a key.
#[derive(Debug, Clone)]
pub struct KeyDecoder<'a> {
    input: &'a [u8],
}

fn malformed(what: &str) -> Error {
    Error::InvalidArgument(format!("malformed key: {what}"))
}

impl<'a> KeyDecoder<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        KeyDecoder { input }
    }

    /// The bytes not yet decoded.
    pub fn remaining(&self) -> &'a [u8] {
        self.input
    }

    /// Fails if any bytes are left.
    pub fn finish(self) -> Result<()> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(malformed(&format!("{} trailing bytes", self.input.len())))
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.input.len() < n {
            return Err(malformed(&format!("truncated {what}")));
        }
        let (head, tail) = self.input.split_at(n);
        self.input = tail;
        Ok(head)
    }

    fn eight(&mut self, what: &str) -> Result<u64> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    pub fn u64(&mut self) -> Result<u64> {
        self.eight("u64")
    }

    pub fn i64(&mut self) -> Result<i64> {
        Ok((self.eight("i64")? ^ (1 << 63)) as i64)
    }

    pub fn f64(&mut self) -> Result<f64> {
        let bits = self.eight("f64")?;
        let bits = if bits >> 63 == 1 {
            bits ^ (1 << 63)
        } else {
            !bits
        };
        Ok(f64::from_bits(bits))
    }

    pub fn bool(&mut self) -> Result<bool> {
        match self.take(1, "bool")?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(malformed(&format!("bool byte {b:#04x}"))),
        }
    }

    pub fn bytes(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            match (self.input.get(i), self.input.get(i + 1)) {
                (Some(0), Some(0)) => {
                    self.input = &self.input[i + 2..];
                    return Ok(out);
                }
                (Some(0), Some(0xff)) => {
                    out.push(0);
                    i += 2;
                }
                (Some(0), Some(b)) => return Err(malformed(&format!("bad escape 0x00 {b:#04x}"))),
                (Some(0), None) | (None, _) => return Err(malformed("unterminated byte string")),
                (Some(&b), _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
    }

    pub fn str(&mut self) -> Result<String> {
        String::from_utf8(self.bytes()?).map_err(|_| malformed("string is not UTF-8"))
    }

    pub fn value(&mut self) -> Result<Value> {
        Ok(match self.take(1, "value tag")?[0] {
            0 => Value::Null,
            1 => Value::Bool(self.bool()?),
            2 => Value::Int(self.i64()?),
            3 => Value::UInt(self.u64()?),
            4 => Value::Float(self.f64()?),
            5 => Value::Str(self.str()?),
            6 => Value::Bytes(self.bytes()?),
            t => return Err(malformed(&format!("unknown value tag {t}"))),
        })
    }
}

/// A dynamically typed key element, for keys whose element types vary (SQL index keys).
/// Values of different variants order by variant (`Null` first), then by value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
}

impl Value {
    fn tag(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::UInt(_) => 3,
            Value::Float(_) => 4,
            Value::Str(_) => 5,
            Value::Bytes(_) => 6,
        }
    }

    /// Appends the tag and the value.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
        match self {
            Value::Null => {}
            Value::Bool(b) => encode_bool(out, *b),
            Value::Int(i) => encode_i64(out, *i),
            Value::UInt(u) => encode_u64(out, *u),
            Value::Float(f) => encode_f64(out, *f),
            Value::Str(s) => encode_str(out, s),
            Value::Bytes(b) => encode_bytes(out, b),
        }
    }

    /// The logical order the encoding preserves (`total_cmp` for floats, with `-0.0 == 0.0`
    /// and every NaN equal and greatest).
    pub fn logical_cmp(&self, other: &Value) -> Ordering {
        let canon = |f: f64| {
            if f == 0.0 {
                0.0
            } else if f.is_nan() {
                f64::NAN
            } else {
                f
            }
        };
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::UInt(a), Value::UInt(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => {
                let (a, b) = (canon(*a), canon(*b));
                match (a.is_nan(), b.is_nan()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    (false, false) => a.total_cmp(&b),
                }
            }
            (Value::Str(a), Value::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Value::Bytes(a), Value::Bytes(b)) => a.cmp(b),
            _ => self.tag().cmp(&other.tag()),
        }
    }
}

/// Encodes a tuple of values.
pub fn encode_tuple(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        v.encode(&mut out);
    }
    out
}

/// Decodes a whole key as a tuple of values; fails on malformed or trailing bytes.
pub fn decode_tuple(key: &[u8]) -> Result<Vec<Value>> {
    let mut d = KeyDecoder::new(key);
    let mut out = Vec::new();
    while !d.remaining().is_empty() {
        out.push(d.value()?);
    }
    d.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<u64>().prop_map(Value::UInt),
            any::<f64>().prop_map(Value::Float),
            prop_oneof![
                Just(-0.0),
                Just(0.0),
                Just(f64::INFINITY),
                Just(f64::NEG_INFINITY),
                Just(f64::NAN)
            ]
            .prop_map(Value::Float),
            ".{0,6}".prop_map(Value::Str),
            prop::collection::vec(prop_oneof![Just(0u8), Just(0xff), any::<u8>()], 0..6)
                .prop_map(Value::Bytes),
        ]
    }

    fn tuple_cmp(a: &[Value], b: &[Value]) -> Ordering {
        for (x, y) in a.iter().zip(b) {
            match x.logical_cmp(y) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        a.len().cmp(&b.len())
    }

    proptest! {
        #[test]
        fn byte_order_is_logical_order(a in value(), b in value()) {
            let (ea, eb) = (encode_tuple(std::slice::from_ref(&a)), encode_tuple(std::slice::from_ref(&b)));
            prop_assert_eq!(ea.cmp(&eb), a.logical_cmp(&b), "{:?} vs {:?}", a, b);
        }

        #[test]
        fn tuples_order_element_by_element(a in prop::collection::vec(value(), 0..4), b in prop::collection::vec(value(), 0..4)) {
            prop_assert_eq!(encode_tuple(&a).cmp(&encode_tuple(&b)), tuple_cmp(&a, &b));
        }

        #[test]
        fn round_trips(a in prop::collection::vec(value(), 0..4)) {
            let decoded = decode_tuple(&encode_tuple(&a)).unwrap();
            prop_assert_eq!(tuple_cmp(&decoded, &a), Ordering::Equal);
        }

        #[test]
        fn typed_encodings_preserve_order(a in any::<i64>(), b in any::<i64>(), x in any::<u64>(), y in any::<u64>(),
                                          s in prop::collection::vec(any::<u8>(), 0..8), t in prop::collection::vec(any::<u8>(), 0..8)) {
            let enc = |f: &dyn Fn(&mut Vec<u8>)| { let mut v = Vec::new(); f(&mut v); v };
            prop_assert_eq!(enc(&|o| encode_i64(o, a)).cmp(&enc(&|o| encode_i64(o, b))), a.cmp(&b));
            prop_assert_eq!(enc(&|o| encode_u64(o, x)).cmp(&enc(&|o| encode_u64(o, y))), x.cmp(&y));
            prop_assert_eq!(enc(&|o| encode_bytes(o, &s)).cmp(&enc(&|o| encode_bytes(o, &t))), s.cmp(&t));
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..24)) {
            let _ = decode_tuple(&bytes);
        }
    }

    #[test]
    fn prefixes_sort_before_extensions_and_escapes_round_trip() {
        let mut a = Vec::new();
        encode_bytes(&mut a, b"ab");
        let mut b = Vec::new();
        encode_bytes(&mut b, b"ab\x00");
        let mut c = Vec::new();
        encode_bytes(&mut c, b"ab\x00\x01");
        assert!(a < b && b < c);
        assert_eq!(KeyDecoder::new(&c).bytes().unwrap(), b"ab\x00\x01");
    }

    #[test]
    fn decoding_rejects_trailing_and_malformed_bytes() {
        let mut k = encode_tuple(&[Value::Int(5)]);
        k.push(7);
        assert!(decode_tuple(&k).is_err());
        assert!(KeyDecoder::new(&[0, 1]).bytes().is_err());
        assert!(KeyDecoder::new(&[b'a', 0]).bytes().is_err());
        assert!(KeyDecoder::new(&[2]).bool().is_err());
        let mut d = KeyDecoder::new(&[1, 2, 3]);
        assert!(d.u64().is_err());
        assert!(decode_tuple(&[9]).is_err());
        let mut one = Vec::new();
        encode_u64(&mut one, 1);
        let mut d = KeyDecoder::new(&one);
        d.u64().unwrap();
        d.finish().unwrap();
    }

    #[test]
    fn prefix_range_covers_exactly_the_prefix() {
        let (lo, hi) = prefix_range(&[1, 0xff]);
        assert_eq!(lo, Bound::Included(vec![1, 0xff]));
        assert_eq!(hi, Bound::Excluded(vec![2]));
        assert_eq!(prefix_range(&[0xff]).1, Bound::Unbounded);
    }
}
