//! RFC 7523 §2.2 / §3 and OIDC Core §9: client authentication with a signed JWT
//! (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`).
//!
//! - `private_key_jwt`: signed with the client's private key (RS256, ES256 or EdDSA), verified
//!   with the public keys it registered (`jwks`, or fetched from `jwks_uri` by the caller).
//! - `client_secret_jwt`: HS256 with the client's secret.
//!
//! Checked here: the algorithm (allow-list, and the key's own `alg`), the signature, `iss` =
//! `sub` = the client, `aud` one of the accepted audiences (the issuer, the token endpoint or
//! the endpoint called), `exp` present, not past and at most [`MAX_LIFETIME_SECS`] ahead, `iat`
//! not in the future, `jti` present. The caller refuses a `jti` it has seen (replay).

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use keys::JwkSet;
use serde::Deserialize;

use crate::protocol::error::OAuthError;
use crate::protocol::types::UnixTime;

/// RFC 7523 §2.2 `client_assertion_type`.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The JWS algorithms accepted for client assertions (advertised in discovery).
pub const ASSERTION_ALGORITHMS: [&str; 4] = ["RS256", "ES256", "EdDSA", "HS256"];

/// An assertion may be valid for at most this long from now (RFC 7523 §3 lets the server
/// refuse an `exp` too far in the future): a captured assertion is useful only briefly, and
/// the replay cache only has to remember `jti`s this long.
pub const MAX_LIFETIME_SECS: i64 = 300;

/// Clock skew tolerated on `exp` and `iat`.
pub const LEEWAY_SECS: i64 = 30;

/// Longest assertion accepted (bytes).
pub const MAX_ASSERTION_LEN: usize = 8 * 1024;

/// At most this many keys in a client's JWKS.
pub const MAX_CLIENT_KEYS: usize = 10;

/// What the assertion is checked against.
pub enum AssertionKeys<'a> {
    /// `private_key_jwt`: the client's public keys.
    Public(&'a JwkSet),
    /// `client_secret_jwt`: the client's secret.
    Secret(&'a [u8]),
}

/// A verified assertion: what the replay cache needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The assertion's unique id.
    pub jti: String,
    /// Its expiry: the replay cache keeps the `jti` until then.
    pub exp: UnixTime,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    jti: Option<String>,
}

fn refused(description: &'static str) -> OAuthError {
    OAuthError::invalid_client(description)
}

/// RFC 7523 §3: the client an assertion claims to be (`sub`, which must equal `iss`), read
/// without verifying anything, to find the client's keys.
pub fn claimed_client(assertion: &str) -> Result<String, OAuthError> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(refused("client_assertion is too long"));
    }
    let payload = assertion
        .split('.')
        .nth(1)
        .and_then(keys::b64url_decode)
        .ok_or(refused("client_assertion is not a JWS in compact form"))?;
    #[derive(Deserialize)]
    struct Who {
        iss: Option<String>,
        sub: Option<String>,
    }
    let who: Who = serde_json::from_slice(&payload)
        .map_err(|_| refused("client_assertion's payload is not a JSON object"))?;
    match (who.iss, who.sub) {
        (Some(iss), Some(sub)) if iss == sub && !sub.is_empty() => Ok(sub),
        _ => Err(refused(
            "client_assertion must carry iss and sub, both the client_id (RFC 7523 §3)",
        )),
    }
}

/// Verifies `assertion` for `client_id` with `keys`, accepting any of `audiences` as `aud`.
pub fn verify(
    assertion: &str,
    client_id: &str,
    keys: AssertionKeys<'_>,
    audiences: &[String],
    now: UnixTime,
) -> Result<Verified, OAuthError> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(refused("client_assertion is too long"));
    }
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| refused("client_assertion's header is malformed"))?;
    let key = match keys {
        AssertionKeys::Secret(secret) => {
            if header.alg != Algorithm::HS256 {
                return Err(refused("client_secret_jwt assertions are signed HS256"));
            }
            DecodingKey::from_secret(secret)
        }
        AssertionKeys::Public(jwks) => {
            if !matches!(
                header.alg,
                Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA
            ) {
                return Err(refused(
                    "private_key_jwt assertions are signed RS256, ES256 or EdDSA",
                ));
            }
            let jwk = select_key(jwks, header.kid.as_deref(), header.alg).map_err(refused)?;
            DecodingKey::from_jwk(jwk)
                .map_err(|_| refused("the client's registered key cannot verify this assertion"))?
        }
    };
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_owned());
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = LEEWAY_SECS.unsigned_abs();
    // jsonwebtoken reads the system clock for `exp`; the decision below uses the given time.
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            refused(match error.kind() {
                ErrorKind::InvalidSignature => "client_assertion's signature does not verify",
                ErrorKind::InvalidAudience => {
                    "client_assertion's aud must be the issuer or the endpoint's URL"
                }
                ErrorKind::InvalidIssuer | ErrorKind::InvalidSubject => {
                    "client_assertion's iss and sub must be the client_id"
                }
                ErrorKind::MissingRequiredClaim(_) => {
                    "client_assertion must carry iss, sub, aud, exp and jti"
                }
                _ => "client_assertion is not a valid JWT",
            })
        })?
        .claims;
    debug_assert!(claims.iss == client_id && claims.sub == client_id);
    let exp = claims.exp.ok_or(refused(
        "client_assertion must carry iss, sub, aud, exp and jti",
    ))?;
    if exp + LEEWAY_SECS <= now.0 {
        return Err(refused("client_assertion has expired"));
    }
    if exp > now.0 + MAX_LIFETIME_SECS {
        return Err(refused(
            "client_assertion's exp is too far ahead: at most 5 minutes",
        ));
    }
    if claims.iat.is_some_and(|iat| iat > now.0 + LEEWAY_SECS) {
        return Err(refused("client_assertion's iat is in the future"));
    }
    let jti = claims
        .jti
        .filter(|jti| !jti.is_empty() && jti.len() <= 256)
        .ok_or(refused(
            "client_assertion must carry a jti (at most 256 characters) for replay protection",
        ))?;
    Ok(Verified {
        jti,
        exp: UnixTime(exp),
    })
}

/// The key the header names (`kid`), or the only signing key of the algorithm's type (client
/// assertions and request objects).
pub fn select_key<'j>(
    jwks: &'j JwkSet,
    kid: Option<&str>,
    alg: Algorithm,
) -> Result<&'j Jwk, &'static str> {
    let fits = |jwk: &&Jwk| {
        let type_fits = matches!(
            (&jwk.algorithm, alg),
            (AlgorithmParameters::RSA(_), Algorithm::RS256)
                | (AlgorithmParameters::EllipticCurve(_), Algorithm::ES256)
                | (AlgorithmParameters::OctetKeyPair(_), Algorithm::EdDSA)
        );
        let alg_fits = jwk
            .common
            .key_algorithm
            .is_none_or(|key_alg| key_alg.to_string() == format!("{alg:?}"));
        let use_fits = !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption));
        type_fits && alg_fits && use_fits
    };
    let mut candidates = jwks.keys.iter().filter(fits).filter(|jwk| match kid {
        Some(kid) => jwk.common.key_id.as_deref() == Some(kid),
        None => true,
    });
    match (candidates.next(), candidates.next()) {
        (Some(jwk), None) => Ok(jwk),
        (None, _) => Err("no registered key of the client matches the JWT's kid and alg"),
        (Some(_), Some(_)) => {
            Err("several registered keys match: name one with kid in the JWT's header")
        }
    }
}

/// OIDC Registration §2 `jwks`: public signing keys only, at most [`MAX_CLIENT_KEYS`], each
/// usable by the verifier.
pub fn check_client_jwks(jwks: &JwkSet) -> Result<(), &'static str> {
    if jwks.keys.is_empty() || jwks.keys.len() > MAX_CLIENT_KEYS {
        return Err("jwks must hold 1 to 10 keys");
    }
    for jwk in &jwks.keys {
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err("jwks must hold public keys (RSA, EC or OKP), never a symmetric key");
        }
        let decoded = |member: &str| keys::b64url_decode(member).map(|bytes| bytes.len());
        let well_formed = match &jwk.algorithm {
            // At least 2048-bit moduli; P-256 coordinates and Ed25519 keys are 32 bytes.
            AlgorithmParameters::RSA(rsa) => {
                decoded(&rsa.n).is_some_and(|len| len >= 256) && decoded(&rsa.e).is_some()
            }
            AlgorithmParameters::EllipticCurve(ec) => {
                format!("{:?}", ec.curve) == "P256"
                    && decoded(&ec.x) == Some(32)
                    && decoded(&ec.y) == Some(32)
            }
            AlgorithmParameters::OctetKeyPair(okp) => {
                format!("{:?}", okp.curve) == "Ed25519" && decoded(&okp.x) == Some(32)
            }
            _ => false,
        };
        if !well_formed || DecodingKey::from_jwk(jwk).is_err() {
            return Err(
                "jwks holds a key that cannot verify signatures (RSA of 2048 bits or more, P-256 or Ed25519)",
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keys::{SigningAlg, SigningKey};
    use serde_json::json;

    const NOW: UnixTime = UnixTime(1_000_000);
    const TOKEN_ENDPOINT: &str = "https://op.example/token";

    fn jwks_of(keys: &[&SigningKey]) -> JwkSet {
        serde_json::from_value(json!({
            "keys": keys.iter().map(|key| serde_json::to_value(key.public_jwk()).unwrap()).collect::<Vec<_>>()
        }))
        .unwrap()
    }

    fn claims(changes: serde_json::Value) -> serde_json::Value {
        let mut claims = json!({
            "iss": "c1", "sub": "c1", "aud": TOKEN_ENDPOINT,
            "exp": NOW.0 + 60, "iat": NOW.0, "jti": "j-1",
        });
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    fn audiences() -> Vec<String> {
        vec!["https://op.example".into(), TOKEN_ENDPOINT.into()]
    }

    fn hs256(secret: &[u8], claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    #[test]
    fn private_key_jwt_table() {
        let key = SigningKey::generate(SigningAlg::ES256).unwrap();
        let other = SigningKey::generate(SigningAlg::ES256).unwrap();
        let rsa = SigningKey::generate(SigningAlg::RS256).unwrap();
        let jwks = jwks_of(&[&key, &rsa]);
        let sign = |key: &SigningKey, changes| key.sign("JWT", &claims(changes)).unwrap();
        let ok = verify(
            &sign(&key, json!({})),
            "c1",
            AssertionKeys::Public(&jwks),
            &audiences(),
            NOW,
        )
        .unwrap();
        assert_eq!(
            ok,
            Verified {
                jti: "j-1".into(),
                exp: UnixTime(NOW.0 + 60)
            }
        );
        assert!(
            verify(
                &sign(&rsa, json!({"aud": "https://op.example"})),
                "c1",
                AssertionKeys::Public(&jwks),
                &audiences(),
                NOW
            )
            .is_ok(),
            "RS256, and the issuer as audience"
        );
        let cases = [
            (sign(&other, json!({})), "no registered key"),
            (
                sign(&key, json!({"aud": "https://evil.example"})),
                "aud must be",
            ),
            (sign(&key, json!({"iss": "c2", "sub": "c2"})), "iss and sub"),
            (sign(&key, json!({"sub": "c2"})), "iss and sub"),
            (sign(&key, json!({"exp": NOW.0 - 31})), "expired"),
            (sign(&key, json!({"exp": NOW.0 + 301})), "too far ahead"),
            (
                sign(&key, json!({"iat": NOW.0 + 120})),
                "iat is in the future",
            ),
            (sign(&key, json!({"jti": null})), "jti"),
            (sign(&key, json!({"jti": ""})), "jti"),
            (sign(&key, json!({"exp": null})), "must carry"),
            (
                hs256(b"secret", &claims(json!({}))),
                "RS256, ES256 or EdDSA",
            ),
            ("garbage".to_owned(), "header is malformed"),
            ("a".repeat(MAX_ASSERTION_LEN + 1), "too long"),
        ];
        for (assertion, expected) in cases {
            let error = verify(
                &assertion,
                "c1",
                AssertionKeys::Public(&jwks),
                &audiences(),
                NOW,
            )
            .unwrap_err();
            assert_eq!(error.code, crate::protocol::ErrorCode::InvalidClient);
            assert!(
                error.description.contains(expected),
                "{expected}: {}",
                error.description
            );
        }
        // A tampered payload keeps the header and signature of a valid assertion.
        let valid = sign(&key, json!({}));
        let mut parts: Vec<&str> = valid.split('.').collect();
        let forged =
            keys::b64url(serde_json::to_vec(&claims(json!({"sub": "c1", "jti": "j-2"}))).unwrap());
        parts[1] = &forged;
        let error = verify(
            &parts.join("."),
            "c1",
            AssertionKeys::Public(&jwks),
            &audiences(),
            NOW,
        )
        .unwrap_err();
        assert!(
            error.description.contains("signature"),
            "{}",
            error.description
        );
    }

    #[test]
    fn client_secret_jwt_uses_hs256_with_the_secret() {
        let assertion = hs256(b"the-secret", &claims(json!({})));
        assert!(
            verify(
                &assertion,
                "c1",
                AssertionKeys::Secret(b"the-secret"),
                &audiences(),
                NOW
            )
            .is_ok()
        );
        let error = verify(
            &assertion,
            "c1",
            AssertionKeys::Secret(b"another"),
            &audiences(),
            NOW,
        )
        .unwrap_err();
        assert!(error.description.contains("signature"));
        let key = SigningKey::generate(SigningAlg::ES256).unwrap();
        let signed = key.sign("JWT", &claims(json!({}))).unwrap();
        let error = verify(
            &signed,
            "c1",
            AssertionKeys::Secret(b"the-secret"),
            &audiences(),
            NOW,
        )
        .unwrap_err();
        assert!(error.description.contains("HS256"));
    }

    #[test]
    fn the_claimed_client_is_sub_equal_to_iss() {
        let key = SigningKey::generate(SigningAlg::ES256).unwrap();
        assert_eq!(
            claimed_client(&key.sign("JWT", &claims(json!({}))).unwrap()).unwrap(),
            "c1"
        );
        for changes in [
            json!({"sub": "c2"}),
            json!({"iss": null}),
            json!({"sub": ""}),
        ] {
            let assertion = key.sign("JWT", &claims(changes.clone())).unwrap();
            assert!(claimed_client(&assertion).is_err(), "{changes}");
        }
        assert!(claimed_client("not.a-jwt").is_err());
    }

    #[test]
    fn registered_jwks_hold_public_signing_keys_only() {
        let key = SigningKey::generate(SigningAlg::EdDSA).unwrap();
        assert!(check_client_jwks(&jwks_of(&[&key])).is_ok());
        assert!(check_client_jwks(&JwkSet { keys: vec![] }).is_err());
        let symmetric: JwkSet =
            serde_json::from_value(json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})).unwrap();
        assert!(
            check_client_jwks(&symmetric)
                .unwrap_err()
                .contains("symmetric")
        );
        let eleven = jwks_of(&[&key; 11]);
        assert!(check_client_jwks(&eleven).is_err());
    }
}
