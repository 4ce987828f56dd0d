//! The login throttle of `protocol/throttle.rs` applied: failure records in the cluster (shared
//! by every node with Redis) and the device cookie that lets a browser which signed in to an
//! account before keep trying while that account is delayed for everyone else.
//!
//! The device cookie (`oidc_device`) holds up to eight entries, one per account this browser
//! signed in to: the account's key (a digest of the user name), a random nonce that names the
//! browser's own failure record, and when it was issued. The value is the entries in base64url,
//! a dot, and their HMAC made with the server's secret, so it cannot be forged or changed.

use std::net::IpAddr;
use std::time::Duration;

use axum_extra::extract::cookie::CookieJar;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::cluster::Failures;
use crate::http::cookies;
use crate::protocol::throttle::{AttemptHistory, Throttle, address_bucket};
use crate::protocol::types::{UnixTime, encode_random};
use crate::state::AppState;

/// The HMAC purpose of device cookies.
const PURPOSE: &str = "device-cookie";
/// How long a device cookie entry is honoured.
const DEVICE_LIFETIME_SECS: u64 = 180 * 24 * 3600;
/// Accounts remembered per browser.
const MAX_ENTRIES: usize = 8;

/// One account this browser signed in to.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DeviceEntry {
    account: String,
    nonce: String,
    issued_at: i64,
}

/// The counter key of a user name (existing or not): a digest, so records name no one.
fn account_key(username: &str) -> String {
    let digest = Sha256::digest(username.trim().to_lowercase().as_bytes());
    digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The verified, unexpired entries of the browser's device cookie.
fn device_entries(state: &AppState, jar: &CookieJar, now: UnixTime) -> Vec<DeviceEntry> {
    let Some(cookie) = jar.get(cookies::DEVICE.for_issuer(&state.issuer)) else {
        return Vec::new();
    };
    let Some((encoded, tag)) = cookie.value().split_once('.') else {
        return Vec::new();
    };
    let Some(payload) = URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return Vec::new();
    };
    if !state.secret.verify(PURPOSE, payload.as_bytes(), tag) {
        return Vec::new();
    }
    payload
        .split('~')
        .filter_map(|entry| {
            let mut parts = entry.split('.');
            let account = parts.next()?.to_owned();
            let nonce = parts.next()?.to_owned();
            let issued_at = parts.next()?.parse().ok()?;
            Some(DeviceEntry {
                account,
                nonce,
                issued_at,
            })
        })
        .filter(|entry| UnixTime(entry.issued_at).plus(DEVICE_LIFETIME_SECS) > now)
        .take(MAX_ENTRIES)
        .collect()
}

/// One password attempt, as the throttle sees it.
pub struct LoginAttempt {
    account: String,
    address: String,
    entries: Vec<DeviceEntry>,
}

impl LoginAttempt {
    /// The attempt on `username` from `ip`, in the browser holding `jar`.
    pub fn new(state: &AppState, username: &str, ip: IpAddr, jar: &CookieJar) -> Self {
        LoginAttempt {
            account: account_key(username),
            address: address_bucket(ip),
            entries: device_entries(state, jar, state.now()),
        }
    }

    fn device(&self) -> Option<&DeviceEntry> {
        self.entries
            .iter()
            .find(|entry| entry.account == self.account)
    }

    fn account_record(&self) -> String {
        format!("login:account:{}", self.account)
    }

    fn address_record(&self) -> String {
        format!("login:address:{}", self.address)
    }

    fn device_record(device: &DeviceEntry) -> String {
        format!("login:device:{}", device.nonce)
    }

    /// Whether the password may be checked now.
    pub async fn decide(&self, state: &AppState) -> Throttle {
        let cluster = &state.cluster;
        let pair = |failures: Option<Failures>| failures.map(|f| (f.count, f.last));
        let address = cluster.failures(&self.address_record()).await;
        let now = state.now();
        let address_window = state.throttle.address_window_secs;
        let history = AttemptHistory {
            account: pair(cluster.failures(&self.account_record()).await),
            address_failures: address.map_or(0, |failures| failures.count),
            address_resets_in_secs: address.map_or(0, |failures| {
                u64::try_from(failures.last.plus(address_window).0 - now.0).unwrap_or(0)
            }),
            trusted_device: match self.device() {
                Some(device) => Some(
                    pair(cluster.failures(&Self::device_record(device)).await).unwrap_or((0, now)),
                ),
                None => None,
            },
        };
        state.throttle.decide(&history, now)
    }

    /// Records a wrong password (for an existing user name or not).
    pub async fn failed(&self, state: &AppState) {
        let now = state.now();
        let policy = state.throttle;
        let record = Duration::from_secs(policy.record_ttl_secs);
        let cluster = &state.cluster;
        cluster
            .record_failure(&self.account_record(), now, record)
            .await;
        cluster
            .record_failure(
                &self.address_record(),
                now,
                Duration::from_secs(policy.address_window_secs),
            )
            .await;
        if let Some(device) = self.device() {
            cluster
                .record_failure(&Self::device_record(device), now, record)
                .await;
        }
    }

    /// A correct password: this browser is trusted for the account from now on (the device
    /// cookie, re-issued with this entry first). The account's failures are forgotten when the
    /// password came through the door open to everyone; a sign-in from a trusted browser forgets
    /// only that browser's failures, so an attack still under way stays slowed.
    pub async fn succeeded(self, state: &AppState, jar: CookieJar) -> CookieJar {
        if self.device().is_none() {
            state.cluster.clear(&self.account_record()).await;
        }
        let now = state.now();
        let mut entries = self.entries;
        let current = match entries
            .iter()
            .position(|entry| entry.account == self.account)
        {
            Some(index) => {
                let entry = entries.remove(index);
                state.cluster.clear(&Self::device_record(&entry)).await;
                entry
            }
            None => DeviceEntry {
                account: self.account,
                nonce: encode_random(state.random_bytes()),
                issued_at: now.0,
            },
        };
        entries.insert(0, current);
        entries.truncate(MAX_ENTRIES);
        let payload = entries
            .iter()
            .map(|entry| format!("{}.{}.{}", entry.account, entry.nonce, entry.issued_at))
            .collect::<Vec<_>>()
            .join("~");
        let tag = state.secret.sign(PURPOSE, payload.as_bytes());
        let value = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(payload));
        let mut cookie = cookies::with_flags(cookies::DEVICE, value, &state.issuer);
        cookie.set_max_age(time::Duration::seconds(
            i64::try_from(DEVICE_LIFETIME_SECS).unwrap_or(i64::MAX),
        ));
        jar.add(cookie)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_keys_ignore_case_and_surrounding_spaces() {
        assert_eq!(account_key("Alice"), account_key(" alice "));
        assert_ne!(account_key("alice"), account_key("bob"));
        assert_eq!(account_key("alice").len(), 32);
    }
}
