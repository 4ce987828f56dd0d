//! Per-node counters: what a single node uses, and what several nodes fall back to while Redis
//! is unreachable.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cluster::{Failures, Hit};
use crate::protocol::types::UnixTime;

/// Upper bound on tracked keys; beyond it, expired entries are dropped and, if that is not
/// enough, the oldest half (an attacker cycling keys cannot grow memory without bound).
const MAX_KEYS: usize = 100_000;

#[derive(Debug)]
struct Entry {
    count: u64,
    last: UnixTime,
    expires: Instant,
}

/// Fixed-window counters and failure records in a map.
#[derive(Debug, Default)]
pub struct MemoryCounters {
    entries: Mutex<HashMap<String, Entry>>,
}

impl MemoryCounters {
    fn with_entries<T>(&self, work: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> T {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        work(&mut entries)
    }

    /// One more hit on `key` in a fixed window of `window` (starting at the window's first hit).
    pub fn hit(&self, key: &str, window: Duration) -> Hit {
        let now = Instant::now();
        self.with_entries(|entries| {
            bound(entries, now);
            let entry = entries
                .entry(key.to_owned())
                .and_modify(|entry| {
                    if entry.expires <= now {
                        *entry = Entry {
                            count: 0,
                            last: UnixTime(0),
                            expires: now + window,
                        };
                    }
                })
                .or_insert(Entry {
                    count: 0,
                    last: UnixTime(0),
                    expires: now + window,
                });
            entry.count += 1;
            Hit {
                count: entry.count,
                resets_in: entry.expires.saturating_duration_since(now),
            }
        })
    }

    /// The live failure record of `key`.
    pub fn failures(&self, key: &str) -> Option<Failures> {
        let now = Instant::now();
        self.with_entries(|entries| {
            entries
                .get(key)
                .filter(|entry| entry.expires > now)
                .map(|entry| Failures {
                    count: entry.count,
                    last: entry.last,
                })
        })
    }

    /// One more failure for `key`; the record lives `ttl` after this one.
    pub fn record_failure(&self, key: &str, at: UnixTime, ttl: Duration) -> Failures {
        let now = Instant::now();
        self.with_entries(|entries| {
            bound(entries, now);
            let entry = entries.entry(key.to_owned()).or_insert(Entry {
                count: 0,
                last: at,
                expires: now,
            });
            if entry.expires <= now {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = at;
            entry.expires = now + ttl;
            Failures {
                count: entry.count,
                last: at,
            }
        })
    }

    /// Forgets `key`.
    pub fn clear(&self, key: &str) {
        self.with_entries(|entries| entries.remove(key));
    }

    /// Drops expired entries.
    pub fn prune(&self) {
        let now = Instant::now();
        self.with_entries(|entries| entries.retain(|_, entry| entry.expires > now));
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.with_entries(|entries| entries.len())
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn bound(entries: &mut HashMap<String, Entry>, now: Instant) {
    if entries.len() < MAX_KEYS {
        return;
    }
    entries.retain(|_, entry| entry.expires > now);
    if entries.len() >= MAX_KEYS {
        let mut expiries: Vec<Instant> = entries.values().map(|entry| entry.expires).collect();
        expiries.sort_unstable();
        let cutoff = expiries[expiries.len() / 2];
        entries.retain(|_, entry| entry.expires > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_windows_count_and_reset() {
        let counters = MemoryCounters::default();
        let window = Duration::from_secs(60);
        assert_eq!(counters.hit("ip", window).count, 1);
        assert_eq!(counters.hit("ip", window).count, 2);
        assert!(counters.hit("ip", window).resets_in <= window);
        assert_eq!(counters.hit("other", window).count, 1);
        // A window that has ended (here: one of zero length) starts over.
        assert_eq!(counters.hit("brief", Duration::ZERO).count, 1);
        assert_eq!(counters.hit("brief", Duration::ZERO).count, 1);
    }

    #[test]
    fn failures_accumulate_until_cleared_or_expired() {
        let counters = MemoryCounters::default();
        let ttl = Duration::from_secs(60);
        assert_eq!(counters.failures("alice"), None);
        counters.record_failure("alice", UnixTime(10), ttl);
        let second = counters.record_failure("alice", UnixTime(12), ttl);
        assert_eq!(
            second,
            Failures {
                count: 2,
                last: UnixTime(12)
            }
        );
        assert_eq!(counters.failures("alice"), Some(second));
        counters.clear("alice");
        assert_eq!(counters.failures("alice"), None);
        counters.record_failure("bob", UnixTime(1), Duration::ZERO);
        assert_eq!(counters.failures("bob"), None, "expired at once");
        counters.prune();
        assert!(counters.is_empty());
    }

    #[test]
    fn the_map_is_bounded() {
        let counters = MemoryCounters::default();
        for index in 0..(MAX_KEYS + 10) {
            counters.hit(&format!("key-{index}"), Duration::from_secs(60));
        }
        assert!(counters.len() <= MAX_KEYS, "{}", counters.len());
    }
}
