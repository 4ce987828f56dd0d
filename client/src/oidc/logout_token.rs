//! OpenID Connect Back-Channel Logout 1.0 §2.6: validating a logout token, one check at a time.
//!
//! A logout token is the provider's signed statement "the session `sid` of user `sub` ended".
//! Like an ID token it must be signed by the provider for *us*; unlike one it must carry the
//! back-channel logout event and must not carry a `nonce` (so an ID token cannot be passed off
//! as a logout token, nor the reverse).
//!
//! | check | guards against |
//! | --- | --- |
//! | signature with a key from the provider's JWKS | forged logouts |
//! | `typ`, when present, is `logout+jwt` | another JWT of the provider used as one (RFC 8725 §3.11) |
//! | `iss` is the provider, `aud` contains our `client_id` | logouts meant for others |
//! | `iat` present, `exp` (when present) not past | stale tokens |
//! | `events` has `http://schemas.openid.net/event/backchannel-logout` | other security events |
//! | `sub` or `sid` present, no `nonce` | ID tokens replayed as logout tokens |

use jsonwebtoken::Algorithm;
use serde_json::Value;

use crate::oidc::jwks::{Jwks, SignatureError};

/// §2.4: the event a logout token carries.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What a valid logout token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutClaims {
    /// The user, when given.
    pub sub: Option<String>,
    /// The provider session, when given.
    pub sid: Option<String>,
}

/// Why a logout token was refused (§2.8: the answer is 400 with this as the description).
#[derive(Debug, thiserror::Error)]
pub enum LogoutTokenError {
    /// The signature or the header.
    #[error("logout token signature: {0}")]
    Signature(#[from] SignatureError),
    /// A claim check failed.
    #[error("logout token: {0}")]
    Claim(&'static str),
}

/// Validates `token` for `client_id` from `issuer` at `now`.
pub fn validate(
    token: &str,
    jwks: &Jwks,
    issuer: &str,
    client_id: &str,
    algorithms: &[Algorithm],
    now: i64,
    leeway_secs: i64,
) -> Result<LogoutClaims, LogoutTokenError> {
    let refuse = LogoutTokenError::Claim;
    let verified = jwks.verify(token, algorithms)?;
    if verified
        .header
        .get("typ")
        .and_then(Value::as_str)
        .is_some_and(|typ| !typ.eq_ignore_ascii_case("logout+jwt"))
    {
        return Err(refuse("typ is not logout+jwt"));
    }
    let claims = &verified.claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(issuer) {
        return Err(refuse("iss is not our provider"));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == client_id,
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err(refuse("aud does not name this client"));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(refuse("iat is missing"))?;
    if iat > now + leeway_secs {
        return Err(refuse("iat is in the future"));
    }
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp + leeway_secs <= now)
    {
        return Err(refuse("the token has expired"));
    }
    if !claims
        .get("events")
        .and_then(|events| events.get(EVENT))
        .is_some_and(Value::is_object)
    {
        return Err(refuse(
            "events does not carry the back-channel logout event",
        ));
    }
    if claims.get("nonce").is_some() {
        return Err(refuse("a logout token must not carry a nonce"));
    }
    let sub = text("sub").map(str::to_owned);
    let sid = text("sid").map(str::to_owned);
    if sub.is_none() && sid.is_none() {
        return Err(refuse("the token names neither sub nor sid"));
    }
    Ok(LogoutClaims { sub, sid })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::JwkSet;
    use keys::{SigningAlg, SigningKey};
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;
    const ISSUER: &str = "https://op.example.com";

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "aud": "rp", "iat": NOW, "exp": NOW + 120, "jti": "j",
            "sub": "alice", "sid": "s1", "events": {EVENT: {}},
        })
    }

    fn check(
        key: &SigningKey,
        jwks: &Jwks,
        typ: &str,
        claims: &Value,
    ) -> Result<LogoutClaims, String> {
        let token = key.sign(typ, claims).unwrap();
        validate(
            &token,
            jwks,
            ISSUER,
            "rp",
            &[Algorithm::RS256, Algorithm::ES256],
            NOW,
            30,
        )
        .map_err(|error| error.to_string())
    }

    #[test]
    fn the_checks_of_section_2_6() {
        let key = SigningKey::generate(SigningAlg::ES256).unwrap();
        let other = SigningKey::generate(SigningAlg::ES256).unwrap();
        let set: JwkSet = serde_json::from_value(json!({"keys": [key.public_jwk()]})).unwrap();
        let jwks = Jwks::new(set);
        assert_eq!(
            check(&key, &jwks, "logout+jwt", &claims()),
            Ok(LogoutClaims {
                sub: Some("alice".into()),
                sid: Some("s1".into())
            })
        );
        let change = |name: &str, value: Value| {
            let mut claims = claims();
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value;
            }
            claims
        };
        let refused = [
            ("another typ", check(&key, &jwks, "JWT+at", &claims())),
            (
                "another issuer",
                check(
                    &key,
                    &jwks,
                    "logout+jwt",
                    &change("iss", json!("https://evil")),
                ),
            ),
            (
                "another audience",
                check(&key, &jwks, "logout+jwt", &change("aud", json!("other"))),
            ),
            (
                "no iat",
                check(&key, &jwks, "logout+jwt", &change("iat", Value::Null)),
            ),
            (
                "iat ahead",
                check(&key, &jwks, "logout+jwt", &change("iat", json!(NOW + 600))),
            ),
            (
                "expired",
                check(&key, &jwks, "logout+jwt", &change("exp", json!(NOW - 60))),
            ),
            (
                "no event",
                check(&key, &jwks, "logout+jwt", &change("events", json!({}))),
            ),
            (
                "an ID token",
                check(&key, &jwks, "JWT", &change("nonce", json!("n"))),
            ),
            (
                "anonymous",
                check(&key, &jwks, "logout+jwt", &{
                    let mut claims = change("sid", Value::Null);
                    claims.as_object_mut().unwrap().remove("sub");
                    claims
                }),
            ),
            ("wrong key", check(&other, &jwks, "logout+jwt", &claims())),
        ];
        for (name, outcome) in refused {
            assert!(outcome.is_err(), "{name}: {outcome:?}");
        }
    }
}
