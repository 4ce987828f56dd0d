//! OIDC Core §3.1.3.7: validating an ID token, one check at a time.
//!
//! An ID token is the provider's signed statement "this user signed in to *you*, *now*, in
//! answer to *your* request". Each check below guards one word of that sentence:
//!
//! | check | guards against |
//! | --- | --- |
//! | signature with a key from the provider's JWKS | forged tokens |
//! | `typ` is not `at+jwt` | an access token passed off as an ID token (RFC 8725 §3.11) |
//! | `iss` equals the provider's issuer exactly | tokens from another provider (mix-up) |
//! | `aud` contains our `client_id`; `azp` is us | tokens minted for another client |
//! | `exp` in the future, `iat` not in the future | old or replayed tokens |
//! | `nonce` equals the one we sent | a token from another sign-in injected into ours |
//! | `at_hash` matches the access token (§3.1.3.8) | an access token swapped in the response |
//!
//! The clock is a parameter (`now`), so tests can check expiry without waiting.

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::jwt;
use crate::oidc::jwks::{Jwks, SignatureError};
use crate::state::Nonce;

/// Clock-skew allowance for `exp` and `iat`.
pub const DEFAULT_LEEWAY_SECS: i64 = 30;

/// `aud`: one string or an array (RFC 7519 §4.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `client_id` is one of the audiences.
    pub fn contains(&self, client_id: &str) -> bool {
        match self {
            Audience::One(audience) => audience == client_id,
            Audience::Many(audiences) => audiences.iter().any(|audience| audience == client_id),
        }
    }

    /// How many audiences there are.
    pub fn count(&self) -> usize {
        match self {
            Audience::One(_) => 1,
            Audience::Many(audiences) => audiences.len(),
        }
    }
}

/// OIDC Core §2 ID token claims.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user's stable id at this provider.
    pub sub: String,
    /// Audience: our client id.
    pub aud: Audience,
    /// Expiry (unix seconds).
    pub exp: i64,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// When the user authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The nonce of the authorization request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Hash of the access token issued with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Authorized party: the client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// Every other claim (name, email, ...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// What the `nonce` must be.
#[derive(Clone, Copy, Debug)]
pub enum NonceCheck<'a> {
    /// After an authorization request: exactly the nonce we sent (§3.1.3.7 step 11).
    Expect(&'a Nonce),
    /// After a refresh (§12.2): the same user, issuer and `auth_time` as the first ID token,
    /// and a `nonce`, if any, equal to the first one's.
    Refresh {
        /// The ID token of the sign-in.
        previous: &'a IdTokenClaims,
    },
}

/// Everything an ID token is checked against.
#[derive(Clone, Copy, Debug)]
pub struct Expectations<'a> {
    /// The provider's issuer identifier (from discovery, checked against our configuration).
    pub issuer: &'a str,
    /// Our `client_id`.
    pub client_id: &'a str,
    /// The nonce rule.
    pub nonce: NonceCheck<'a>,
    /// The access token of the same response, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// The current time (unix seconds).
    pub now: i64,
    /// Clock-skew allowance in seconds.
    pub leeway_secs: i64,
    /// Algorithms accepted.
    pub algorithms: &'a [Algorithm],
}

/// An ID token that passed every check, with the list of checks for display.
#[derive(Clone, Debug)]
pub struct ValidatedIdToken {
    /// The claims.
    pub claims: IdTokenClaims,
    /// The decoded header.
    pub header: Value,
    /// Its algorithm.
    pub alg: Algorithm,
    /// The key that signed it.
    pub kid: String,
    /// One line per check passed.
    pub checks: Vec<String>,
}

/// Why an ID token was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// The signature check failed.
    #[error("{0}")]
    Signature(#[from] SignatureError),
    /// `typ` says this is another kind of token.
    #[error("typ {0:?} marks another kind of token (an access token is not an ID token)")]
    WrongType(String),
    /// The claims are not an ID token claim set.
    #[error("the claims are not an ID token: {0}")]
    Claims(String),
    /// `iss` is not our provider.
    #[error("iss {found:?} is not the provider's issuer {expected:?} (OIDC Core §3.1.3.7 step 2)")]
    WrongIssuer {
        /// The configured issuer.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// `aud` does not contain our client id.
    #[error("aud does not contain this client's id (OIDC Core §3.1.3.7 step 3)")]
    WrongAudience,
    /// Several audiences but no `azp`.
    #[error("several audiences but no azp claim (OIDC Core §3.1.3.7 step 4)")]
    MissingAuthorizedParty,
    /// `azp` names another client.
    #[error("azp names another client (OIDC Core §3.1.3.7 step 5)")]
    WrongAuthorizedParty,
    /// `exp` has passed.
    #[error("expired at {exp}, now is {now} (OIDC Core §3.1.3.7 step 9)")]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The time of the check.
        now: i64,
    },
    /// `iat` is in the future.
    #[error(
        "issued in the future (iat {iat}, now {now}): check the clocks (OIDC Core §3.1.3.7 step 10)"
    )]
    IssuedInFuture {
        /// The token's `iat`.
        iat: i64,
        /// The time of the check.
        now: i64,
    },
    /// We sent a nonce and the token has none.
    #[error("the nonce is missing (OIDC Core §3.1.3.7 step 11)")]
    MissingNonce,
    /// The nonce differs from ours.
    #[error("the nonce differs from the one this sign-in sent (OIDC Core §3.1.3.7 step 11)")]
    NonceMismatch,
    /// `at_hash` does not match the access token.
    #[error("at_hash does not match the access token of the response (OIDC Core §3.1.3.8)")]
    AtHashMismatch,
    /// A refreshed ID token names another user.
    #[error("the refreshed ID token is about another user (OIDC Core §12.2)")]
    SubjectChanged,
    /// A refreshed ID token changed `auth_time`.
    #[error("the refreshed ID token changed auth_time (OIDC Core §12.2)")]
    AuthTimeChanged,
}

/// Validates `token` against `jwks` and `expected`.
pub fn validate(
    token: &str,
    jwks: &Jwks,
    expected: &Expectations<'_>,
) -> Result<ValidatedIdToken, IdTokenError> {
    let mut checks = Vec::new();
    // Signature first: until it verifies, the claims are text anybody could have written.
    let verified = jwks.verify(token, expected.algorithms)?;
    checks.push(format!(
        "signature verifies: {:?} with key {} from the provider's JWKS",
        verified.alg, verified.kid
    ));
    if let Some(typ) = verified.header.get("typ").and_then(Value::as_str)
        && (typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt"))
    {
        return Err(IdTokenError::WrongType(typ.to_owned()));
    }
    let claims: IdTokenClaims = serde_json::from_value(verified.claims.clone())
        .map_err(|err| IdTokenError::Claims(err.to_string()))?;

    // Step 2: the issuer, compared exactly (no trailing-slash forgiveness).
    if claims.iss != expected.issuer {
        return Err(IdTokenError::WrongIssuer {
            expected: expected.issuer.to_owned(),
            found: claims.iss,
        });
    }
    checks.push(format!("iss is the provider: {}", claims.iss));

    // Steps 3-5: the token is for us.
    if !claims.aud.contains(expected.client_id) {
        return Err(IdTokenError::WrongAudience);
    }
    if claims.aud.count() > 1 && claims.azp.is_none() {
        return Err(IdTokenError::MissingAuthorizedParty);
    }
    if let Some(azp) = &claims.azp
        && azp != expected.client_id
    {
        return Err(IdTokenError::WrongAuthorizedParty);
    }
    checks.push(format!(
        "aud contains our client_id {}{}",
        expected.client_id,
        if claims.azp.is_some() {
            " and azp is us"
        } else {
            ""
        }
    ));

    // Steps 9-10: time.
    if is_expired(claims.exp, expected.now, expected.leeway_secs) {
        return Err(IdTokenError::Expired {
            exp: claims.exp,
            now: expected.now,
        });
    }
    if claims.iat > expected.now.saturating_add(expected.leeway_secs) {
        return Err(IdTokenError::IssuedInFuture {
            iat: claims.iat,
            now: expected.now,
        });
    }
    checks.push(format!(
        "exp is {} s away; iat is not in the future (leeway {} s)",
        claims.exp - expected.now,
        expected.leeway_secs
    ));

    // Step 11: nonce (or, after a refresh, continuity with the first ID token).
    match expected.nonce {
        NonceCheck::Expect(nonce) => {
            let presented = claims.nonce.as_deref().ok_or(IdTokenError::MissingNonce)?;
            if !nonce.matches(presented) {
                return Err(IdTokenError::NonceMismatch);
            }
            checks.push("nonce equals the one this sign-in sent".to_owned());
        }
        NonceCheck::Refresh { previous } => {
            if claims.sub != previous.sub {
                return Err(IdTokenError::SubjectChanged);
            }
            if claims.auth_time.is_some() && claims.auth_time != previous.auth_time {
                return Err(IdTokenError::AuthTimeChanged);
            }
            if let Some(nonce) = &claims.nonce
                && previous.nonce.as_deref() != Some(nonce.as_str())
            {
                return Err(IdTokenError::NonceMismatch);
            }
            checks.push(
                "same sub and auth_time as the sign-in's ID token (refresh, OIDC Core §12.2)"
                    .to_owned(),
            );
        }
    }

    // §3.1.3.8: at_hash binds the access token of the same response to this ID token.
    if let (Some(at_hash), Some(access_token)) = (&claims.at_hash, expected.access_token) {
        let computed = token_hash(access_token, verified.alg);
        if !bool::from(computed.as_bytes().ct_eq(at_hash.as_bytes())) {
            return Err(IdTokenError::AtHashMismatch);
        }
        checks.push(format!(
            "at_hash {at_hash} = left half of the hash of the access token"
        ));
    }

    Ok(ValidatedIdToken {
        claims,
        header: verified.header,
        alg: verified.alg,
        kid: verified.kid,
        checks,
    })
}

/// RFC 7519 §4.1.4: a token must not be accepted on or after `exp`; `leeway_secs` allows for
/// clock skew between the issuer and us.
pub fn is_expired(exp: i64, now: i64, leeway_secs: i64) -> bool {
    now >= exp.saturating_add(leeway_secs)
}

/// OIDC Core §3.1.3.8 `at_hash`: hash the ASCII token with the hash of the JWS algorithm
/// (SHA-256 for RS256/PS256/ES256; SHA-512 for EdDSA with Ed25519), keep the left half,
/// base64url-encode it.
pub fn token_hash(token: &str, alg: Algorithm) -> String {
    let digest: Vec<u8> = match alg {
        Algorithm::EdDSA => Sha512::digest(token.as_bytes()).to_vec(),
        _ => Sha256::digest(token.as_bytes()).to_vec(),
    };
    jwt::encode_part(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use jsonwebtoken::jwk::JwkSet;
    use keys::{SigningAlg, SigningKey};
    use serde_json::json;

    use super::*;
    use crate::oidc::jwks::ACCEPTED_ALGORITHMS;

    const ISSUER: &str = "http://127.0.0.1:8080";
    const CLIENT_ID: &str = "demo-web";
    const NOW: i64 = 1_800_000_000;
    const ACCESS_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln";

    /// One RSA key per test process (generation is the slow part).
    fn key() -> &'static SigningKey {
        static KEY: OnceLock<SigningKey> = OnceLock::new();
        KEY.get_or_init(|| {
            keys::install_crypto_provider();
            SigningKey::generate(SigningAlg::RS256).expect("RSA key generation")
        })
    }

    fn other_key() -> &'static SigningKey {
        static KEY: OnceLock<SigningKey> = OnceLock::new();
        KEY.get_or_init(|| SigningKey::generate(SigningAlg::ES256).expect("EC key generation"))
    }

    fn jwks() -> Jwks {
        Jwks::new(JwkSet {
            keys: vec![key().public_jwk().clone()],
        })
    }

    fn good_claims() -> Value {
        json!({
            "iss": ISSUER,
            "sub": "6c2f5e0a",
            "aud": CLIENT_ID,
            "exp": NOW + 600,
            "iat": NOW,
            "auth_time": NOW - 5,
            "nonce": "nonce-1",
            "at_hash": token_hash(ACCESS_TOKEN, Algorithm::RS256),
        })
    }

    fn sign(claims: &Value) -> String {
        key().sign("JWT", claims).expect("signing")
    }

    fn expectations(nonce: &Nonce) -> Expectations<'_> {
        Expectations {
            issuer: ISSUER,
            client_id: CLIENT_ID,
            nonce: NonceCheck::Expect(nonce),
            access_token: Some(ACCESS_TOKEN),
            now: NOW,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            algorithms: &ACCEPTED_ALGORITHMS,
        }
    }

    /// Validates `token` against the default expectations; `Ok(())` or the error.
    fn check(token: &str) -> Result<(), IdTokenError> {
        let nonce = Nonce::from_string("nonce-1".into());
        validate(token, &jwks(), &expectations(&nonce)).map(|_| ())
    }

    fn with(changes: &[(&str, Value)]) -> String {
        let mut claims = good_claims();
        for (name, value) in changes {
            claims[*name] = value.clone();
        }
        sign(&claims)
    }

    #[test]
    fn a_good_token_passes_every_check() {
        let nonce = Nonce::from_string("nonce-1".into());
        let validated = validate(&sign(&good_claims()), &jwks(), &expectations(&nonce)).unwrap();
        assert_eq!(validated.claims.sub, "6c2f5e0a");
        assert_eq!(validated.alg, Algorithm::RS256);
        assert_eq!(validated.checks.len(), 6, "{:#?}", validated.checks);
    }

    #[test]
    fn claim_failures_table() {
        let cases: Vec<(&str, String, IdTokenError)> = vec![
            (
                "wrong nonce",
                with(&[("nonce", json!("nonce-2"))]),
                IdTokenError::NonceMismatch,
            ),
            (
                "no nonce",
                {
                    let mut claims = good_claims();
                    claims.as_object_mut().unwrap().remove("nonce");
                    sign(&claims)
                },
                IdTokenError::MissingNonce,
            ),
            (
                "wrong aud",
                with(&[("aud", json!("demo-cli"))]),
                IdTokenError::WrongAudience,
            ),
            (
                "aud list without us",
                with(&[("aud", json!(["a", "b"]))]),
                IdTokenError::WrongAudience,
            ),
            (
                "aud list without azp",
                with(&[("aud", json!([CLIENT_ID, "b"]))]),
                IdTokenError::MissingAuthorizedParty,
            ),
            (
                "azp of another client",
                with(&[("azp", json!("demo-cli"))]),
                IdTokenError::WrongAuthorizedParty,
            ),
            (
                "wrong iss",
                with(&[("iss", json!("http://127.0.0.1:9999"))]),
                IdTokenError::WrongIssuer {
                    expected: ISSUER.into(),
                    found: "http://127.0.0.1:9999".into(),
                },
            ),
            (
                "iss with a trailing slash",
                with(&[("iss", json!(format!("{ISSUER}/")))]),
                IdTokenError::WrongIssuer {
                    expected: ISSUER.into(),
                    found: format!("{ISSUER}/"),
                },
            ),
            (
                "expired",
                with(&[("exp", json!(NOW - 31))]),
                IdTokenError::Expired {
                    exp: NOW - 31,
                    now: NOW,
                },
            ),
            (
                "expired at the leeway edge",
                with(&[("exp", json!(NOW - 30))]),
                IdTokenError::Expired {
                    exp: NOW - 30,
                    now: NOW,
                },
            ),
            (
                "issued in the future",
                with(&[("iat", json!(NOW + 120))]),
                IdTokenError::IssuedInFuture {
                    iat: NOW + 120,
                    now: NOW,
                },
            ),
            (
                "bad at_hash",
                with(&[(
                    "at_hash",
                    json!(token_hash("another-token", Algorithm::RS256)),
                )]),
                IdTokenError::AtHashMismatch,
            ),
            (
                "not claims",
                with(&[("exp", json!("soon"))]),
                IdTokenError::Claims(String::new()),
            ),
        ];
        for (name, token, expected) in cases {
            let result = check(&token);
            match (&result, &expected) {
                (Err(IdTokenError::Claims(_)), IdTokenError::Claims(_)) => {}
                _ => assert_eq!(result, Err(expected), "{name}"),
            }
        }
        // Within the leeway an expired token still passes.
        assert_eq!(check(&with(&[("exp", json!(NOW - 29))])), Ok(()));
    }

    #[test]
    fn signature_failures_table() {
        let good = sign(&good_claims());
        let (head, rest) = good.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged_payload = jwt::encode_part(
            serde_json::to_vec(&json!({"iss": ISSUER, "sub": "bob", "aud": CLIENT_ID, "exp": NOW + 600, "iat": NOW, "nonce": "nonce-1"})).unwrap(),
        );
        let tampered = format!("{head}.{forged_payload}.{signature}");
        let none_header = jwt::encode_part(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{forged_payload}.");
        let hs_header = jwt::encode_part(format!(
            r#"{{"alg":"HS256","kid":"{}"}}"#,
            key().kid().as_str()
        ));
        let hmac = format!("{hs_header}.{forged_payload}.{signature}");
        let foreign = other_key().sign("JWT", &good_claims()).unwrap();
        let at_jwt = key().sign("at+jwt", &good_claims()).unwrap();
        let cases: Vec<(&str, String, IdTokenError)> = vec![
            (
                "tampered payload",
                tampered,
                SignatureError::InvalidSignature.into(),
            ),
            (
                "alg none",
                unsigned,
                SignatureError::DisallowedAlgorithm("none".into()).into(),
            ),
            (
                "alg HS256 with the public key",
                hmac,
                SignatureError::DisallowedAlgorithm("HS256".into()).into(),
            ),
            (
                "key not in the JWKS",
                foreign,
                SignatureError::UnknownKid(other_key().kid().as_str().to_owned()).into(),
            ),
            (
                "two parts",
                "a.b".into(),
                SignatureError::Malformed("it must have three parts").into(),
            ),
            (
                "an access token",
                at_jwt,
                IdTokenError::WrongType("at+jwt".into()),
            ),
        ];
        for (name, token, expected) in cases {
            assert_eq!(check(&token), Err(expected), "{name}");
        }
    }

    #[test]
    fn refreshed_tokens_must_continue_the_sign_in() {
        let first: IdTokenClaims = serde_json::from_value(good_claims()).unwrap();
        let refreshed = |changes: &[(&str, Value)]| {
            let mut claims = good_claims();
            claims.as_object_mut().unwrap().remove("nonce");
            for (name, value) in changes {
                claims[*name] = value.clone();
            }
            let token = sign(&claims);
            let nonce = Nonce::from_string("unused".into());
            let mut expected = expectations(&nonce);
            expected.nonce = NonceCheck::Refresh { previous: &first };
            validate(&token, &jwks(), &expected).map(|_| ())
        };
        assert_eq!(refreshed(&[]), Ok(()));
        assert_eq!(
            refreshed(&[("sub", json!("someone-else"))]),
            Err(IdTokenError::SubjectChanged)
        );
        assert_eq!(
            refreshed(&[("auth_time", json!(NOW))]),
            Err(IdTokenError::AuthTimeChanged)
        );
        assert_eq!(
            refreshed(&[("nonce", json!("other"))]),
            Err(IdTokenError::NonceMismatch)
        );
    }

    #[test]
    fn at_hash_follows_oidc_core_3_1_3_8() {
        // Left 128 bits of SHA-256("x"), base64url.
        let expected = jwt::encode_part(&Sha256::digest(b"x")[..16]);
        assert_eq!(token_hash("x", Algorithm::RS256), expected);
        assert_eq!(token_hash("x", Algorithm::RS256).len(), 22);
        assert_eq!(token_hash("x", Algorithm::EdDSA).len(), 43);
    }
}
