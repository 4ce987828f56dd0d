//! RFC 8628 device authorization grant: user codes and the polling state machine.

use serde::{Deserialize, Serialize};

use crate::protocol::authorize::{Authentication, InteractionProgress, NextStep};
use crate::protocol::client::RegisteredClient;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{ClientId, UnixTime};

/// RFC 8628 §6.1: consonants only (no vowels, so no words; no 0/O, 1/I lookalikes).
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Device codes live ten minutes (RFC 8628 §3.2 `expires_in`).
pub const DEVICE_CODE_LIFETIME_SECS: u64 = 600;
/// Initial polling interval (RFC 8628 §3.2 default 5 s).
pub const POLL_INTERVAL_SECS: u64 = 5;

/// An 8-letter user code, shown as `BDWP-HQPK`, from caller-supplied random bytes.
///
/// 20^8 ≈ 2^34.6 codes; with rate-limited entry and a 10-minute life, guessing is hopeless.
pub fn user_code_from_random(bytes: [u8; 8]) -> String {
    let letters: String = bytes
        .iter()
        .map(|byte| char::from(USER_CODE_ALPHABET[usize::from(*byte) % USER_CODE_ALPHABET.len()]))
        .collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}

/// Normalises what a user typed: case, spaces and dashes do not matter (RFC 8628 §6.1).
/// Returns `None` when it cannot be a user code.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let letters: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = letters.len() == 8 && letters.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then(|| format!("{}-{}", &letters[..4], &letters[4..]))
}

/// Where the user is with a device request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// The user approved.
    Approved(Authentication),
    /// The user denied.
    Denied,
}

/// A device authorization as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceGrant {
    /// The device's client.
    pub client_id: ClientId,
    /// The user code shown on the device.
    pub user_code: String,
    /// Requested scope.
    pub scope: ScopeSet,
    /// Access-token audience.
    pub audience: String,
    /// Status.
    pub status: DeviceStatus,
    /// Current polling interval.
    pub interval_secs: u64,
    /// Last poll.
    pub last_poll_at: Option<UnixTime>,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// What a poll does.
#[derive(Debug, PartialEq, Eq)]
pub enum PollDecision {
    /// Answer the error; store the new interval and poll time when given.
    Refuse {
        /// The error to send.
        error: OAuthError,
        /// Interval to store (slow_down raises it by 5 s, RFC 8628 §3.5).
        interval_secs: u64,
    },
    /// Consume the device code and issue tokens.
    Issue(Authentication),
    /// Answer `access_denied` and delete the device code.
    Denied,
}

/// RFC 8628 §3.4-3.5: decides the answer to a token poll.
pub fn poll_device(
    grant: &DeviceGrant,
    client: &RegisteredClient,
    now: UnixTime,
) -> Result<PollDecision, OAuthError> {
    if grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the device code was issued to another client",
        ));
    }
    if now >= grant.expires_at {
        return Err(OAuthError::new(
            ErrorCode::ExpiredToken,
            "the device code has expired; start again",
        ));
    }
    let too_fast = grant.last_poll_at.is_some_and(|last| {
        now.0.saturating_sub(last.0) < i64::try_from(grant.interval_secs).unwrap_or(i64::MAX)
    });
    match &grant.status {
        DeviceStatus::Approved(authentication) => Ok(PollDecision::Issue(authentication.clone())),
        DeviceStatus::Denied => Ok(PollDecision::Denied),
        DeviceStatus::Pending if too_fast => Ok(PollDecision::Refuse {
            error: OAuthError::new(
                ErrorCode::SlowDown,
                "polling too fast: wait the interval plus 5 seconds",
            ),
            interval_secs: grant.interval_secs + 5,
        }),
        DeviceStatus::Pending => Ok(PollDecision::Refuse {
            error: OAuthError::new(
                ErrorCode::AuthorizationPending,
                "the user has not finished yet; keep polling",
            ),
            interval_secs: grant.interval_secs,
        }),
    }
}

/// RFC 8628 §3.3: the user signs in (or uses the live session), then always confirms: the
/// device is elsewhere, so an existing consent is not enough to hand it tokens.
pub fn next_device_step(
    session: Option<&Authentication>,
    progress: InteractionProgress,
) -> NextStep {
    match session {
        None => NextStep::Login,
        Some(authentication) if !progress.consented => NextStep::Consent(authentication.clone()),
        Some(authentication) => NextStep::IssueCode(authentication.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::tests::client;
    use crate::protocol::types::Subject;

    #[test]
    fn user_codes_are_unambiguous_and_normalised() {
        let code = user_code_from_random([0, 1, 2, 3, 19, 20, 255, 7]);
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert!(
            code.bytes()
                .filter(|b| *b != b'-')
                .all(|b| USER_CODE_ALPHABET.contains(&b))
        );
        assert_eq!(
            normalize_user_code(&code.to_lowercase()),
            Some(code.clone())
        );
        assert_eq!(normalize_user_code("bdwp hqpk"), Some("BDWP-HQPK".into()));
        assert_eq!(normalize_user_code("BDWPHQPK"), Some("BDWP-HQPK".into()));
        assert_eq!(normalize_user_code("BDWP-HQP"), None);
        assert_eq!(
            normalize_user_code("BDWP-HQPA"),
            None,
            "vowels are not in the alphabet"
        );
        assert_eq!(normalize_user_code(""), None);
    }

    #[test]
    fn device_steps() {
        let alice = Authentication {
            subject: Subject("u".into()),
            auth_time: UnixTime(5),
        };
        let fresh = InteractionProgress::default();
        let consented = InteractionProgress {
            logged_in: true,
            consented: true,
        };
        assert_eq!(next_device_step(None, fresh), NextStep::Login);
        assert_eq!(
            next_device_step(Some(&alice), fresh),
            NextStep::Consent(alice.clone())
        );
        assert_eq!(
            next_device_step(Some(&alice), consented),
            NextStep::IssueCode(alice.clone())
        );
    }

    #[test]
    fn poll_table() {
        let device = client("demo-device", None);
        let other = client("other", None);
        let alice = Authentication {
            subject: Subject("u".into()),
            auth_time: UnixTime(5),
        };
        let grant = |status, last: Option<i64>| DeviceGrant {
            client_id: device.client_id.clone(),
            user_code: "BDWP-HQPK".into(),
            scope: ScopeSet::parse("openid").unwrap(),
            audience: "a".into(),
            status,
            interval_secs: 5,
            last_poll_at: last.map(UnixTime),
            expires_at: UnixTime(600),
        };
        let code = |decision: Result<PollDecision, OAuthError>| match decision {
            Ok(PollDecision::Refuse {
                error,
                interval_secs,
            }) => Err((error.code, interval_secs)),
            Ok(PollDecision::Issue(_)) => Ok("issue"),
            Ok(PollDecision::Denied) => Ok("denied"),
            Err(error) => Err((error.code, 0)),
        };
        assert_eq!(
            code(poll_device(
                &grant(DeviceStatus::Pending, None),
                &device,
                UnixTime(10)
            )),
            Err((ErrorCode::AuthorizationPending, 5))
        );
        assert_eq!(
            code(poll_device(
                &grant(DeviceStatus::Pending, Some(8)),
                &device,
                UnixTime(10)
            )),
            Err((ErrorCode::SlowDown, 10))
        );
        assert_eq!(
            code(poll_device(
                &grant(DeviceStatus::Pending, Some(5)),
                &device,
                UnixTime(10)
            )),
            Err((ErrorCode::AuthorizationPending, 5))
        );
        assert_eq!(
            code(poll_device(
                &grant(DeviceStatus::Approved(alice), Some(9)),
                &device,
                UnixTime(10)
            )),
            Ok("issue")
        );
        assert_eq!(
            code(poll_device(
                &grant(DeviceStatus::Denied, None),
                &device,
                UnixTime(10)
            )),
            Ok("denied")
        );
        assert_eq!(
            code(poll_device(
                &grant(DeviceStatus::Pending, None),
                &device,
                UnixTime(600)
            )),
            Err((ErrorCode::ExpiredToken, 0))
        );
        assert_eq!(
            code(poll_device(
                &grant(DeviceStatus::Pending, None),
                &other,
                UnixTime(10)
            )),
            Err((ErrorCode::InvalidGrant, 0))
        );
    }
}
