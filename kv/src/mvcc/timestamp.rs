//! Hybrid logical clock timestamps.
//!
//! A [`Timestamp`] is wall-clock milliseconds plus a logical counter. Ordering invariant:
//! timestamps order by `(wall_ms, logical)`; a [`HybridClock`] never hands out the same or a
//! smaller timestamp twice, even when the wall clock stalls or steps back, and
//! [`HybridClock::update`] folds in timestamps seen from other nodes so causally later events
//! get larger timestamps across nodes. The wall clock is injected ([`WallClock`]): nothing in
//! `kv` reads the system time.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// A hybrid logical clock timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    pub wall_ms: u64,
    pub logical: u32,
}

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp {
        wall_ms: 0,
        logical: 0,
    };
    pub const MAX: Timestamp = Timestamp {
        wall_ms: u64::MAX,
        logical: u32::MAX,
    };

    pub const fn new(wall_ms: u64, logical: u32) -> Self {
        Timestamp { wall_ms, logical }
    }

    /// The smallest timestamp greater than `self`.
    pub fn next(self) -> Timestamp {
        match self.logical.checked_add(1) {
            Some(logical) => Timestamp {
                wall_ms: self.wall_ms,
                logical,
            },
            None => Timestamp {
                wall_ms: self.wall_ms + 1,
                logical: 0,
            },
        }
    }

    /// 12 bytes that sort in *descending* timestamp order (newest first).
    pub fn encode_desc(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(!self.wall_ms).to_be_bytes());
        out.extend_from_slice(&(!self.logical).to_be_bytes());
    }

    /// Inverse of [`Timestamp::encode_desc`].
    pub fn decode_desc(bytes: &[u8]) -> Option<Timestamp> {
        let wall: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
        let logical: [u8; 4] = bytes.get(8..12)?.try_into().ok()?;
        Some(Timestamp {
            wall_ms: !u64::from_be_bytes(wall),
            logical: !u32::from_be_bytes(logical),
        })
    }

    /// 12 bytes in ascending order, for storage in values.
    pub fn to_bytes(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..8].copy_from_slice(&self.wall_ms.to_be_bytes());
        out[8..].copy_from_slice(&self.logical.to_be_bytes());
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Timestamp> {
        Some(Timestamp {
            wall_ms: u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?),
            logical: u32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?),
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.wall_ms, self.logical)
    }
}

/// A source of wall-clock time in milliseconds (the system clock in a server, a manual clock
/// in tests).
pub trait WallClock: Send + Sync + fmt::Debug {
    fn now_millis(&self) -> u64;
}

/// A wall clock that moves only when told to, for tests and simulation.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn new(start_ms: u64) -> Self {
        ManualClock(AtomicU64::new(start_ms))
    }

    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl WallClock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A hybrid logical clock over an injected wall clock.
#[derive(Debug, Clone)]
pub struct HybridClock {
    wall: Arc<dyn WallClock>,
    last: Arc<Mutex<Timestamp>>,
}

impl HybridClock {
    pub fn new(wall: Arc<dyn WallClock>) -> Self {
        HybridClock {
            wall,
            last: Arc::new(Mutex::new(Timestamp::ZERO)),
        }
    }

    /// A timestamp greater than every one this clock returned or observed before.
    pub fn now(&self) -> Timestamp {
        let wall = self.wall.now_millis();
        let mut last = self.last.lock();
        *last = if wall > last.wall_ms {
            Timestamp::new(wall, 0)
        } else {
            last.next()
        };
        *last
    }

    /// Folds in a timestamp seen elsewhere, so later local timestamps exceed it.
    pub fn update(&self, observed: Timestamp) {
        let mut last = self.last.lock();
        if observed > *last {
            *last = observed;
        }
    }

    /// Wall-clock milliseconds now, from the injected clock.
    pub fn wall_millis(&self) -> u64 {
        self.wall.now_millis()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_when_the_wall_clock_stalls_or_steps_back() {
        let wall = Arc::new(ManualClock::new(100));
        let clock = HybridClock::new(wall.clone());
        let a = clock.now();
        let b = clock.now();
        wall.set(50);
        let c = clock.now();
        wall.set(200);
        let d = clock.now();
        assert!(a < b && b < c && c < d, "{a} {b} {c} {d}");
        assert_eq!(d, Timestamp::new(200, 0));
        clock.update(Timestamp::new(500, 7));
        assert_eq!(clock.now(), Timestamp::new(500, 8));
    }

    #[test]
    fn descending_encoding_orders_newest_first() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        Timestamp::new(5, 1).encode_desc(&mut a);
        Timestamp::new(5, 2).encode_desc(&mut b);
        assert!(b < a);
        assert_eq!(Timestamp::decode_desc(&a), Some(Timestamp::new(5, 1)));
        assert_eq!(
            Timestamp::from_bytes(&Timestamp::new(9, 3).to_bytes()),
            Some(Timestamp::new(9, 3))
        );
    }
}
