//! The RFC 9068 §2.2 claim set of an access token, and the checks of §4 that do not need a key.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::{Error, ScopeSet};

/// The verified claims of an access token (RFC 9068 §2.2).
///
/// As an axum extractor it reuses the claims [`BearerLayer`](crate::BearerLayer) put into the
/// request extensions, or else verifies the bearer token itself with the [`Verifier`](crate::Verifier)
/// it finds in the state through `FromRef` (for an app without state: `.with_state(verifier)`).
/// A refused request gets the RFC 6750 response of [`Rejection`](crate::Rejection).
///
/// ```
/// use axum::{Json, Router, extract::FromRef, routing::get};
/// use resource::{AccessClaims, Verifier};
///
/// #[derive(Clone)]
/// struct AppState {
///     verifier: Verifier,
/// }
///
/// impl FromRef<AppState> for Verifier {
///     fn from_ref(state: &AppState) -> Verifier {
///         state.verifier.clone()
///     }
/// }
///
/// async fn get_me(claims: AccessClaims) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "sub": claims.sub }))
/// }
///
/// fn app(verifier: Verifier) -> Router {
///     Router::new().route("/me", get(get_me)).with_state(AppState { verifier })
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessClaims {
    /// `iss`: the issuer, equal to the configured one.
    pub iss: String,
    /// `sub`: the resource owner (or the client, for client-credentials tokens).
    pub sub: String,
    /// `client_id`: the OAuth client the token was issued to (RFC 8693 §4.3).
    pub client_id: String,
    /// `aud`: the audiences; at least one is ours.
    pub aud: Vec<String>,
    /// `exp`: expiry, unix seconds.
    pub exp: u64,
    /// `iat`: issue time, unix seconds.
    pub iat: u64,
    /// `nbf`: not-before, unix seconds, when present.
    pub nbf: Option<u64>,
    /// `jti`: the token's unique id; safe to log.
    pub jti: String,
    /// `scope`: the granted scopes.
    pub scope: ScopeSet,
    /// `cnf.jkt` (RFC 9449 §6.1): the DPoP key the token is bound to; such a token is only
    /// accepted with the `DPoP` scheme and a proof made with that key.
    pub dpop_jkt: Option<String>,
}

impl AccessClaims {
    /// `Ok` when the token grants every space-separated scope in `required`, else
    /// [`Error::InsufficientScope`] (render it with `Rejection::from`).
    pub fn require_scopes(&self, required: &str) -> Result<(), Error> {
        if self.scope.contains_all(required) {
            Ok(())
        } else {
            Err(Error::InsufficientScope {
                required: required.to_owned(),
            })
        }
    }
}

/// The claims as they arrive: everything optional, so each absence gets its own error.
/// Strings borrow from the decoded JSON where they can (no escapes), to spare allocations.
#[derive(Deserialize)]
pub(crate) struct RawClaims<'a> {
    #[serde(borrow)]
    iss: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sub: Option<Cow<'a, str>>,
    #[serde(borrow)]
    client_id: Option<Cow<'a, str>>,
    aud: Option<Audience>,
    exp: Option<NumericDate>,
    iat: Option<NumericDate>,
    nbf: Option<NumericDate>,
    #[serde(borrow)]
    jti: Option<Cow<'a, str>>,
    #[serde(borrow)]
    scope: Option<Cow<'a, str>>,
    #[serde(default)]
    cnf: Option<Confirmation>,
}

/// RFC 7800 / RFC 9449 §6: the key a token is bound to.
#[derive(Deserialize)]
struct Confirmation {
    jkt: Option<String>,
}

/// What the claims must say, and how much clock skew to forgive.
pub(crate) struct Expectations<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audiences: &'a [String],
    pub(crate) leeway_secs: u64,
}

/// RFC 9068 §4 steps after the signature, in order: `iss` (exact), `aud` (one of ours), `exp`,
/// `nbf` and `iat` (with leeway), then presence of `jti`, `client_id`, `sub`.
/// `now` is unix seconds, passed in so the checks are pure.
pub(crate) fn check_claims(
    raw: RawClaims<'_>,
    expected: &Expectations<'_>,
    now: u64,
) -> Result<AccessClaims, Error> {
    let iss = raw
        .iss
        .filter(|iss| iss == expected.issuer)
        .ok_or(Error::WrongIssuer)?
        .into_owned();
    let aud = raw
        .aud
        .map(|aud| aud.0)
        .filter(|aud| aud.iter().any(|one| expected.audiences.contains(one)))
        .ok_or(Error::WrongAudience)?;
    let leeway = expected.leeway_secs;
    // RFC 7519 §4.1.4: valid only while now is before exp.
    let exp = raw.exp.ok_or(Error::MissingClaim("exp"))?.0;
    if now >= exp.saturating_add(leeway) {
        return Err(Error::Expired);
    }
    // RFC 7519 §4.1.5: not valid before nbf.
    let nbf = raw.nbf.map(|nbf| nbf.0);
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(Error::NotYetValid);
    }
    let iat = raw.iat.ok_or(Error::MissingClaim("iat"))?.0;
    if iat > now.saturating_add(leeway) {
        return Err(Error::IssuedInFuture);
    }
    let present = |value: Option<Cow<'_, str>>, name| {
        value
            .filter(|value| !value.is_empty())
            .map(Cow::into_owned)
            .ok_or(Error::MissingClaim(name))
    };
    let jti = present(raw.jti, "jti")?;
    let client_id = present(raw.client_id, "client_id")?;
    let sub = present(raw.sub, "sub")?;
    Ok(AccessClaims {
        iss,
        sub,
        client_id,
        aud,
        exp,
        iat,
        nbf,
        jti,
        scope: ScopeSet::parse(raw.scope.as_deref().unwrap_or_default()),
        dpop_jkt: raw.cnf.and_then(|cnf| cnf.jkt),
    })
}

/// RFC 7519 §4.1.3: `aud` is one string or an array of strings.
struct Audience(Vec<String>);

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudienceVisitor;
        impl<'de> Visitor<'de> for AudienceVisitor {
            type Value = Audience;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Audience, E> {
                Ok(Audience(vec![value.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut audiences = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
                while let Some(audience) = seq.next_element::<String>()? {
                    audiences.push(audience);
                }
                Ok(Audience(audiences))
            }
        }
        deserializer.deserialize_any(AudienceVisitor)
    }
}

/// RFC 7519 §2 NumericDate: seconds since the epoch, possibly fractional (truncated here).
struct NumericDate(u64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateVisitor;
        impl Visitor<'_> for DateVisitor {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative number of seconds")
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<NumericDate, E> {
                Ok(NumericDate(value))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<NumericDate, E> {
                u64::try_from(value)
                    .map(NumericDate)
                    .map_err(|_| E::custom("negative NumericDate"))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<NumericDate, E> {
                if value.is_finite() && value >= 0.0 && value < u64::MAX as f64 {
                    // Truncation is the intent: NumericDate is whole seconds for our checks.
                    Ok(NumericDate(value as u64))
                } else {
                    Err(E::custom("NumericDate out of range"))
                }
            }
        }
        deserializer.deserialize_any(DateVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const NOW: u64 = 1_800_000_000;
    const ISSUER: &str = "https://issuer.example";

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "sub": "alice", "client_id": "notes-app", "aud": "https://api.example",
            "exp": NOW + 300, "iat": NOW - 10, "jti": "j-1", "scope": "api:read openid",
        })
    }

    fn with(member: &str, value: Value) -> Value {
        let mut claims = claims();
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(member);
        } else {
            claims[member] = value;
        }
        claims
    }

    fn check(claims: Value, leeway_secs: u64) -> Result<AccessClaims, Error> {
        let audiences = ["https://api.example".to_owned(), "urn:second".to_owned()];
        let expected = Expectations {
            issuer: ISSUER,
            audiences: &audiences,
            leeway_secs,
        };
        let json = serde_json::to_vec(&claims).unwrap();
        let raw: RawClaims<'_> =
            serde_json::from_slice(&json).map_err(|_| Error::Malformed("test"))?;
        check_claims(raw, &expected, NOW)
    }

    #[test]
    fn valid_claims_become_access_claims() {
        let claims = check(claims(), 0).unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.client_id, "notes-app");
        assert_eq!(claims.aud, ["https://api.example"]);
        assert_eq!(
            (claims.exp, claims.iat, claims.nbf),
            (NOW + 300, NOW - 10, None)
        );
        assert!(claims.scope.contains("api:read") && claims.scope.contains("openid"));
        assert!(claims.require_scopes("api:read").is_ok());
        assert!(
            matches!(claims.require_scopes("api:write"), Err(Error::InsufficientScope { required }) if required == "api:write")
        );
    }

    /// A short label per outcome, so the table below stays one line per case.
    fn label(outcome: &Result<AccessClaims, Error>) -> String {
        match outcome {
            Ok(_) => "ok".into(),
            Err(Error::WrongIssuer) => "iss".into(),
            Err(Error::WrongAudience) => "aud".into(),
            Err(Error::Expired) => "exp".into(),
            Err(Error::NotYetValid) => "nbf".into(),
            Err(Error::IssuedInFuture) => "iat".into(),
            Err(Error::MissingClaim(claim)) => format!("missing {claim}"),
            Err(Error::Malformed(_)) => "malformed".into(),
            Err(other) => format!("unexpected {other:?}"),
        }
    }

    #[test]
    fn each_claim_check_has_its_own_error() {
        let table: Vec<(&str, Value, u64, &str)> = vec![
            (
                "iss other",
                with("iss", json!("https://evil.example")),
                0,
                "iss",
            ),
            (
                "iss differs by a slash",
                with("iss", json!("https://issuer.example/")),
                0,
                "iss",
            ),
            ("iss missing", with("iss", Value::Null), 0, "iss"),
            (
                "aud other",
                with("aud", json!("https://other.example")),
                0,
                "aud",
            ),
            ("aud missing", with("aud", Value::Null), 0, "aud"),
            (
                "aud is the client (ID token)",
                with("aud", json!("notes-app")),
                0,
                "aud",
            ),
            (
                "aud array with ours",
                with("aud", json!(["x", "urn:second"])),
                0,
                "ok",
            ),
            ("aud empty array", with("aud", json!([])), 0, "aud"),
            ("exp passed", with("exp", json!(NOW - 1)), 0, "exp"),
            ("exp now", with("exp", json!(NOW)), 0, "exp"),
            (
                "exp passed within leeway",
                with("exp", json!(NOW - 20)),
                30,
                "ok",
            ),
            (
                "exp passed beyond leeway",
                with("exp", json!(NOW - 30)),
                30,
                "exp",
            ),
            (
                "exp fractional",
                with("exp", json!(NOW as f64 + 0.5)),
                0,
                "exp",
            ),
            ("exp missing", with("exp", Value::Null), 0, "missing exp"),
            ("nbf future", with("nbf", json!(NOW + 60)), 30, "nbf"),
            (
                "nbf future within leeway",
                with("nbf", json!(NOW + 20)),
                30,
                "ok",
            ),
            ("nbf past", with("nbf", json!(NOW - 60)), 0, "ok"),
            ("iat future", with("iat", json!(NOW + 60)), 30, "iat"),
            (
                "iat future within leeway",
                with("iat", json!(NOW + 20)),
                30,
                "ok",
            ),
            ("iat missing", with("iat", Value::Null), 0, "missing iat"),
            ("jti missing", with("jti", Value::Null), 0, "missing jti"),
            ("jti empty", with("jti", json!("")), 0, "missing jti"),
            (
                "client_id missing",
                with("client_id", Value::Null),
                0,
                "missing client_id",
            ),
            ("sub missing", with("sub", Value::Null), 0, "missing sub"),
            (
                "scope missing is no scope",
                with("scope", Value::Null),
                0,
                "ok",
            ),
            ("exp negative", with("exp", json!(-5)), 0, "malformed"),
            ("sub not a string", with("sub", json!(42)), 0, "malformed"),
        ];
        for (name, claims, leeway, expected) in table {
            assert_eq!(label(&check(claims, leeway)), expected, "{name}");
        }
    }

    #[test]
    fn checks_run_in_rfc_order() {
        // Everything is wrong: the issuer check speaks first, then audience, then time.
        let all_wrong = json!({"iss": "x", "aud": "y", "exp": 1, "iat": NOW + 999});
        assert!(matches!(check(all_wrong, 0), Err(Error::WrongIssuer)));
        let wrong_aud = json!({"iss": ISSUER, "aud": "y", "exp": 1});
        assert!(matches!(check(wrong_aud, 0), Err(Error::WrongAudience)));
        let expired_and_incomplete = json!({"iss": ISSUER, "aud": "https://api.example", "exp": 1});
        assert!(matches!(
            check(expired_and_incomplete, 0),
            Err(Error::Expired)
        ));
    }
}
