//! Slowing online password guessing without locking out the innocent (OWASP Authentication
//! Cheat Sheet, "Protect against automated attacks"; NIST SP 800-63B §5.2.2):
//!
//! - per account, only failures count, and they bring growing delays rather than a lock; a
//!   correct password resets them;
//! - a browser that signed in to the account before (a signed device cookie) keeps trying
//!   while the account is delayed for everyone else, with a budget of its own;
//! - per client address (an IPv6 /64 counts as one), failures count too, generously, and only
//!   ever stop attempts on an account that is itself under attack, so a crowd behind one NAT
//!   or proxy signs in normally while someone next to them guesses at another account.
//!
//! The answer to a throttled attempt is the same for known and unknown user names.

use std::net::IpAddr;

use crate::protocol::types::UnixTime;

/// The knobs of the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures an account may have before delays start.
    pub free_failures: u64,
    /// The longest delay between attempts on an account, in seconds.
    pub max_delay_secs: u64,
    /// Failures per client address (IPv6 /64) within [`ThrottlePolicy::address_window_secs`]
    /// before that address stops reaching accounts that have failures of their own.
    pub address_failures: u64,
    /// The window of the per-address count, in seconds.
    pub address_window_secs: u64,
    /// Failures a trusted browser (device cookie) may have before it waits too.
    pub device_failures: u64,
    /// How long a failure record lives after its last failure, in seconds.
    pub record_ttl_secs: u64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            free_failures: 5,
            max_delay_secs: 300,
            address_failures: 100,
            address_window_secs: 900,
            device_failures: 10,
            record_ttl_secs: 24 * 3600,
        }
    }
}

/// What the counters say about one attempt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttemptHistory {
    /// The account's recent failures and the time of the last one.
    pub account: Option<(u64, UnixTime)>,
    /// Failures from the client's address in the current window.
    pub address_failures: u64,
    /// Seconds until the address window ends.
    pub address_resets_in_secs: u64,
    /// The browser's device cookie names this account: its own failures and the last one's time.
    pub trusted_device: Option<(u64, UnixTime)>,
}

/// The decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Throttle {
    /// Check the password.
    Allow,
    /// Refuse without checking; try again after this many seconds.
    Wait {
        /// `Retry-After`.
        retry_after_secs: u64,
    },
}

impl ThrottlePolicy {
    /// The delay after `failures` failures: none for the free ones, then 1, 2, 4 … seconds up
    /// to [`ThrottlePolicy::max_delay_secs`].
    pub fn delay_after(&self, failures: u64, free: u64) -> u64 {
        if failures < free {
            return 0;
        }
        let doublings = u32::try_from(failures - free).unwrap_or(u32::MAX).min(32);
        (1u64 << doublings).min(self.max_delay_secs)
    }

    /// Decides one attempt at `now`.
    pub fn decide(&self, history: &AttemptHistory, now: UnixTime) -> Throttle {
        let waiting = |(failures, last): (u64, UnixTime), free: u64| {
            let until = last.plus(self.delay_after(failures, free));
            (failures >= free && now < until)
                .then(|| u64::try_from(until.0 - now.0).unwrap_or(1).max(1))
        };
        if let Some(device) = history.trusted_device {
            // A browser that signed in before is judged by its own failures only.
            return match waiting(device, self.device_failures) {
                Some(retry_after_secs) => Throttle::Wait { retry_after_secs },
                None => Throttle::Allow,
            };
        }
        if let Some(account) = history.account {
            if let Some(retry_after_secs) = waiting(account, self.free_failures) {
                return Throttle::Wait { retry_after_secs };
            }
            // The address counts only against accounts that are themselves under attack.
            if account.0 > 0 && history.address_failures >= self.address_failures {
                return Throttle::Wait {
                    retry_after_secs: history.address_resets_in_secs.max(1),
                };
            }
        }
        Throttle::Allow
    }
}

/// The counter key of a client address: the address itself for IPv4, its /64 for IPv6 (one
/// customer's allocation, RFC 6177).
pub fn address_bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let segments = ip.segments();
                format!(
                    "{:x}:{:x}:{:x}:{:x}::/64",
                    segments[0], segments[1], segments[2], segments[3]
                )
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = UnixTime(10_000);

    #[test]
    fn delays_grow_after_the_free_failures_and_stop_at_the_cap() {
        let policy = ThrottlePolicy::default();
        let delays: Vec<u64> = (0..16).map(|n| policy.delay_after(n, 5)).collect();
        assert_eq!(
            delays,
            [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
        );
        assert_eq!(policy.delay_after(u64::MAX, 5), 300);
    }

    #[test]
    fn decision_table() {
        let policy = ThrottlePolicy::default();
        let ago = |seconds: i64| UnixTime(NOW.0 - seconds);
        let history = |account, address_failures, trusted_device| AttemptHistory {
            account,
            address_failures,
            address_resets_in_secs: 120,
            trusted_device,
        };
        let wait = |retry_after_secs| Throttle::Wait { retry_after_secs };
        let cases = [
            // A fresh account.
            (history(None, 0, None), Throttle::Allow),
            // Four failures are free.
            (history(Some((4, ago(0))), 0, None), Throttle::Allow),
            // The fifth brings a 1 s delay, the eighth 8 s.
            (history(Some((5, ago(0))), 0, None), wait(1)),
            (history(Some((8, ago(3))), 0, None), wait(5)),
            (history(Some((8, ago(8))), 0, None), Throttle::Allow),
            // A busy address does not stop an account without failures (the NAT crowd) ...
            (history(None, 10_000, None), Throttle::Allow),
            (history(Some((0, ago(0))), 10_000, None), Throttle::Allow),
            // ... but does stop one under attack, until its window ends.
            (history(Some((1, ago(0))), 100, None), wait(120)),
            (history(Some((1, ago(0))), 99, None), Throttle::Allow),
            // A trusted browser ignores the account's delay and the address ...
            (
                history(Some((50, ago(0))), 10_000, Some((0, ago(0)))),
                Throttle::Allow,
            ),
            // ... until its own failures bring delays.
            (history(Some((50, ago(0))), 0, Some((10, ago(0)))), wait(1)),
        ];
        for (index, (history, expected)) in cases.into_iter().enumerate() {
            assert_eq!(policy.decide(&history, NOW), expected, "case {index}");
        }
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        let cases = [
            ("192.0.2.7", "192.0.2.7"),
            ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
        ];
        for (ip, bucket) in cases {
            assert_eq!(address_bucket(ip.parse().unwrap()), bucket, "{ip}");
        }
    }
}
