//! OpenID Connect Back-Channel Logout 1.0: the session id (`sid`) clients see, the logout
//! token, and how often a delivery is retried.
//!
//! The provider remembers which clients with a `backchannel_logout_uri` received tokens in
//! which session (the session's participants). When the session ends (logout, expiry, an
//! operator's sign-out), each participant is sent a logout token: a JWT signed like an ID token,
//! with the event `http://schemas.openid.net/event/backchannel-logout`, `sub`, `sid`, and no
//! `nonce` (§2.4).

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::protocol::types::{ClientId, Issuer, SecretDigest, Subject, UnixTime};

/// §2.4: the event member of a logout token.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// §2.4 / RFC 8725 §3.11: the explicit `typ` of logout tokens.
pub const TOKEN_TYPE: &str = "logout+jwt";

/// A logout token is valid this long (RPs refuse older ones; retries sign a fresh one).
pub const TOKEN_LIFETIME_SECS: u64 = 120;

/// Deliveries waiting at most (a bounded queue: beyond it, new logouts are dropped and logged).
pub const MAX_QUEUE: u64 = 10_000;

/// The waits before each retry (§2.8 leaves the policy to the provider): five retries over
/// about seven hours, then the delivery is given up.
const RETRY_WAITS_SECS: [u64; 5] = [10, 60, 600, 3600, 6 * 3600];

/// The `sid` of the session whose cookie has this digest: public (it goes into ID tokens),
/// stable for the session's life, and useless for finding the cookie (a hash of a hash).
pub fn session_id(session_digest: &SecretDigest) -> String {
    let hash = Sha256::digest(format!("sid:{}", session_digest.as_str()).as_bytes());
    keys::b64url(&hash[..16])
}

/// When to try a delivery again after `attempts` failed ones; `None`: give up.
pub fn next_attempt(attempts: u32, now: UnixTime) -> Option<UnixTime> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    RETRY_WAITS_SECS.get(index).map(|wait| now.plus(*wait))
}

/// A client of an ended session, to be told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// The session's `sid`.
    pub sid: String,
    /// The client.
    pub client_id: ClientId,
    /// The user.
    pub subject: Subject,
}

/// §2.4 logout token claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogoutTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The client.
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry (short: a retry signs a new token).
    pub exp: i64,
    /// Unique id (RPs may refuse a replay).
    pub jti: String,
    /// The user.
    pub sub: String,
    /// The session.
    pub sid: String,
    /// `{"http://schemas.openid.net/event/backchannel-logout": {}}`.
    pub events: serde_json::Value,
}

/// The logout token claims for `participant`.
pub fn logout_token_claims(
    participant: &Participant,
    issuer: &Issuer,
    jti: String,
    now: UnixTime,
) -> LogoutTokenClaims {
    LogoutTokenClaims {
        iss: issuer.as_str().to_owned(),
        aud: participant.client_id.as_str().to_owned(),
        iat: now.0,
        exp: now.plus(TOKEN_LIFETIME_SECS).0,
        jti,
        sub: participant.subject.as_str().to_owned(),
        sid: participant.sid.clone(),
        events: serde_json::json!({ EVENT: {} }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sid_is_stable_short_and_not_the_digest() {
        let digest = SecretDigest::of("session-cookie");
        let sid = session_id(&digest);
        assert_eq!(sid, session_id(&digest));
        assert_eq!(sid.len(), 22);
        assert!(!digest.as_str().contains(&sid));
        assert_ne!(sid, session_id(&SecretDigest::of("another")));
    }

    #[test]
    fn retries_back_off_then_stop() {
        let now = UnixTime(1000);
        let waits: Vec<Option<i64>> = (0..=6)
            .map(|attempts| next_attempt(attempts, now).map(|at| at.0 - now.0))
            .collect();
        assert_eq!(
            waits,
            [
                None,
                Some(10),
                Some(60),
                Some(600),
                Some(3600),
                Some(21_600),
                None
            ]
        );
    }

    #[test]
    fn the_logout_token_has_the_event_sub_and_sid_and_no_nonce() {
        let participant = Participant {
            sid: "s1".into(),
            client_id: ClientId::parse("rp").unwrap(),
            subject: Subject("alice".into()),
        };
        let issuer = Issuer::parse("https://op.example.com", false).unwrap();
        let claims = logout_token_claims(&participant, &issuer, "j1".into(), UnixTime(100));
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["events"][EVENT], serde_json::json!({}));
        assert_eq!(
            (json["sub"].as_str(), json["sid"].as_str()),
            (Some("alice"), Some("s1"))
        );
        assert_eq!(json["aud"], "rp");
        assert_eq!(json["exp"], 220);
        assert!(json.get("nonce").is_none());
    }
}
