//! Time, injected: handlers read the clock through [`Clock`], so tests can fix and advance it.
//!
//! The protocol core never reads a clock (it takes `now` as a value); this is where the value
//! comes from. [`SystemClock`] is the default; [`ManualClock`] serves tests that need expiry
//! without sleeping.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::protocol::types::UnixTime;

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time in whole seconds since the Unix epoch.
    fn now(&self) -> UnixTime;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        UnixTime(i64::try_from(seconds).unwrap_or(i64::MAX))
    }
}

/// A clock that stands still until told to move: for tests of expiry and schedules.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: UnixTime) -> Self {
        ManualClock(AtomicI64::new(start.0))
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.0
            .fetch_add(i64::try_from(seconds).unwrap_or(i64::MAX), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(UnixTime(1_000));
        assert_eq!(clock.now(), UnixTime(1_000));
        clock.advance(30);
        assert_eq!(clock.now(), UnixTime(1_030));
        assert!(
            SystemClock.now().0 > 1_700_000_000,
            "the system clock is after 2023"
        );
    }
}
