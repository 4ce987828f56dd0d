//! RFC 9101 JWT-Secured Authorization Requests (JAR): a signed request object, checked, becomes
//! the authorization request's parameters.
//!
//! Checked here: the size, `alg` (RS256, ES256 or EdDSA; never `none`, never HMAC; the client's
//! registered `request_object_signing_alg` when it has one), `typ` (absent, `JWT` or RFC 9101
//! §10.8's `oauth-authz-req+jwt`), the signature with the client's registered keys, `iss` = the
//! client (§4), `aud` = the issuer (§4), `client_id` inside = the one outside (§5), `exp`
//! present, not past and at most [`MAX_LIFETIME_SECS`] ahead, `nbf` not in the future, and no
//! nested `request` or `request_uri` (§4). Per §6.3 only the object's claims count: the
//! parameters outside it (other than `client_id`) are ignored.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use keys::JwkSet;
use serde_json::{Map, Value};

use crate::protocol::client::RegisteredClient;
use crate::protocol::client_assertion::{LEEWAY_SECS, select_key};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::params::Params;
use crate::protocol::types::{Issuer, UnixTime};

/// The JWS algorithms accepted for request objects (advertised in discovery).
pub const ALGORITHMS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// Longest request object accepted (bytes).
pub const MAX_REQUEST_OBJECT_LEN: usize = 16 * 1024;

/// A request object may be valid for at most this long from now (FAPI 2.0 Message Signing uses
/// the same hour): it authorizes nothing alone, but a captured one should not be usable for
/// days.
pub const MAX_LIFETIME_SECS: i64 = 3600;

/// At most this many claims become parameters.
const MAX_CLAIMS: usize = 64;

fn refused(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestObject, description)
}

/// The `alg` a request object's header names, read before the client's keys are loaded, so a
/// refused algorithm never costs a `jwks_uri` fetch.
pub fn check_header(request: &str, client: &RegisteredClient) -> Result<Algorithm, OAuthError> {
    if request.len() > MAX_REQUEST_OBJECT_LEN {
        return Err(refused("request object is too long (at most 16 KiB)"));
    }
    if request.split('.').count() == 5 {
        return Err(refused(
            "encrypted request objects are not supported; sign the request object (RFC 9101 §6.1)",
        ));
    }
    let header = jsonwebtoken::decode_header(request).map_err(|_| {
        refused("request object is not a signed JWT (unsigned objects are refused: alg none)")
    })?;
    if !matches!(
        header.alg,
        Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA
    ) {
        return Err(refused(
            "request objects must be signed RS256, ES256 or EdDSA with the client's registered key",
        ));
    }
    if let Some(registered) = client.metadata.request_object_signing_alg
        && registered.as_str() != format!("{:?}", header.alg)
    {
        return Err(refused(
            "request object is not signed with the client's registered request_object_signing_alg",
        ));
    }
    if header
        .typ
        .as_deref()
        .is_some_and(|typ| !typ.eq_ignore_ascii_case("oauth-authz-req+jwt") && typ != "JWT")
    {
        return Err(refused(
            "request object typ must be oauth-authz-req+jwt (RFC 9101 §10.8)",
        ));
    }
    Ok(header.alg)
}

/// Verifies `request` (already past [`check_header`]) for `client` with its registered `keys`
/// and returns the authorization parameters it carries, `client_id` included.
pub fn verify(
    request: &str,
    client: &RegisteredClient,
    keys: &JwkSet,
    issuer: &Issuer,
    now: UnixTime,
) -> Result<Params, OAuthError> {
    let alg = check_header(request, client)?;
    let header = jsonwebtoken::decode_header(request)
        .map_err(|_| refused("request object's header is malformed"))?;
    let jwk = select_key(keys, header.kid.as_deref(), alg).map_err(refused)?;
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|_| refused("the client's registered key cannot verify this request object"))?;
    let client_id = client.client_id.as_str();
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[client_id]);
    validation.set_audience(&[issuer.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    // The decision on time below uses the given clock, not jsonwebtoken's.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(request, &key, &validation)
        .map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            refused(match error.kind() {
                ErrorKind::InvalidSignature => "request object's signature does not verify",
                ErrorKind::InvalidAudience => {
                    "request object's aud must be the issuer (RFC 9101 §4)"
                }
                ErrorKind::InvalidIssuer => {
                    "request object's iss must be the client_id (RFC 9101 §4)"
                }
                ErrorKind::MissingRequiredClaim(_) => "request object must carry iss, aud and exp",
                _ => "request object is not a valid JWT",
            })
        })?
        .claims;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(refused("request object's exp must be a number"))?;
    if exp + LEEWAY_SECS <= now.0 {
        return Err(refused("request object has expired"));
    }
    if exp > now.0 + MAX_LIFETIME_SECS {
        return Err(refused(
            "request object's exp is too far ahead: at most one hour",
        ));
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf
            .as_i64()
            .ok_or(refused("request object's nbf must be a number"))?;
        if nbf > now.0 + LEEWAY_SECS {
            return Err(refused("request object is not valid yet (nbf)"));
        }
    }
    match claims.get("client_id") {
        Some(Value::String(inner)) if inner == client_id => {}
        _ => {
            return Err(refused(
                "request object must carry client_id, the same as the request's (RFC 9101 §5)",
            ));
        }
    }
    parameters(&claims)
}

/// The authorization parameters of a verified object's claims (RFC 9101 §4: every parameter
/// as a claim, its JSON value). The JWT's own claims (`iss`, `aud`, `exp`, ...) are not
/// parameters.
fn parameters(claims: &Map<String, Value>) -> Result<Params, OAuthError> {
    const JWT_CLAIMS: [&str; 6] = ["iss", "aud", "exp", "iat", "nbf", "jti"];
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err(refused(
            "request object must not contain request or request_uri (RFC 9101 §4)",
        ));
    }
    if claims.len() > MAX_CLAIMS {
        return Err(refused("request object has too many claims"));
    }
    let mut pairs = Vec::new();
    for (name, value) in claims {
        if JWT_CLAIMS.contains(&name.as_str()) {
            continue;
        }
        match value {
            Value::String(text) => pairs.push((name.clone(), text.clone())),
            Value::Number(number) => pairs.push((name.clone(), number.to_string())),
            Value::Bool(flag) => pairs.push((name.clone(), flag.to_string())),
            // RFC 8707 `resource` may repeat: an array of strings is the repeated parameter.
            Value::Array(items) if name == "resource" => {
                for item in items {
                    let text = item
                        .as_str()
                        .ok_or(refused("request object's resource must be strings"))?;
                    pairs.push((name.clone(), text.to_owned()));
                }
            }
            // `claims` (OIDC Core §5.5) and other structured members are not supported
            // parameters; a JSON object stays JSON text, which no check reads.
            Value::Null => {}
            other => pairs.push((name.clone(), other.to_string())),
        }
    }
    Ok(Params::from_pairs(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::tests::client as sample;
    use keys::{SigningAlg, SigningKey};
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn issuer() -> Issuer {
        Issuer::parse("https://op.example.com", false).unwrap()
    }

    fn client_with(key: &SigningKey) -> (RegisteredClient, JwkSet) {
        let client = sample("app", Some("secret"));
        let jwks: JwkSet = serde_json::from_value(json!({ "keys": [key.public_jwk()] })).unwrap();
        (client, jwks)
    }

    fn claims(client: &RegisteredClient) -> Value {
        json!({
            "iss": client.client_id.as_str(),
            "aud": "https://op.example.com",
            "client_id": client.client_id.as_str(),
            "exp": NOW + 300,
            "iat": NOW,
            "jti": "abc",
            "response_type": "code",
            "redirect_uri": "https://app.example.com/cb",
            "scope": "openid",
            "max_age": 60,
            "resource": ["https://api.one", "https://api.two"],
        })
    }

    fn sign(key: &SigningKey, typ: &str, claims: &Value) -> String {
        key.sign(typ, claims).unwrap()
    }

    #[test]
    fn a_signed_object_becomes_the_parameters() {
        for alg in [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA] {
            let key = SigningKey::generate(alg).unwrap();
            let (client, jwks) = client_with(&key);
            let jwt = sign(&key, "oauth-authz-req+jwt", &claims(&client));
            let params = verify(&jwt, &client, &jwks, &issuer(), UnixTime(NOW)).unwrap();
            assert_eq!(params.single("scope").unwrap(), Some("openid"));
            assert_eq!(params.single("max_age").unwrap(), Some("60"));
            assert_eq!(
                params.all("resource"),
                ["https://api.one", "https://api.two"]
            );
            assert_eq!(
                params.single("client_id").unwrap(),
                Some(client.client_id.as_str())
            );
            assert!(!params.contains("iss") && !params.contains("exp"));
        }
    }

    #[test]
    fn refusal_table() {
        let key = SigningKey::generate(SigningAlg::ES256).unwrap();
        let other = SigningKey::generate(SigningAlg::ES256).unwrap();
        let (client, jwks) = client_with(&key);
        let change = |name: &str, value: Value| {
            let mut claims = claims(&client);
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value;
            }
            claims
        };
        let unsigned = format!(
            "{}.{}.",
            keys::b64url(br#"{"alg":"none"}"#),
            keys::b64url(claims(&client).to_string().as_bytes())
        );
        let hs256 = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims(&client),
            &jsonwebtoken::EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        let cases: Vec<(&str, String)> = vec![
            ("unsigned", unsigned),
            ("hmac", hs256),
            ("wrong key", sign(&other, "JWT", &claims(&client))),
            ("wrong typ", sign(&key, "at+jwt", &claims(&client))),
            (
                "wrong iss",
                sign(&key, "JWT", &change("iss", json!("mallory"))),
            ),
            (
                "wrong aud",
                sign(&key, "JWT", &change("aud", json!("https://evil"))),
            ),
            ("no exp", sign(&key, "JWT", &change("exp", Value::Null))),
            (
                "expired",
                sign(&key, "JWT", &change("exp", json!(NOW - 60))),
            ),
            (
                "far exp",
                sign(&key, "JWT", &change("exp", json!(NOW + 7200))),
            ),
            (
                "nbf ahead",
                sign(&key, "JWT", &change("nbf", json!(NOW + 600))),
            ),
            (
                "no client_id",
                sign(&key, "JWT", &change("client_id", Value::Null)),
            ),
            (
                "other client_id",
                sign(&key, "JWT", &change("client_id", json!("x"))),
            ),
            (
                "nested",
                sign(&key, "JWT", &change("request_uri", json!("urn:x"))),
            ),
            (
                "bad resource",
                sign(&key, "JWT", &change("resource", json!([1]))),
            ),
            ("oversized", "a".repeat(MAX_REQUEST_OBJECT_LEN + 1)),
            ("garbage", "not.a.jwt".into()),
            ("encrypted", "a.b.c.d.e".into()),
        ];
        for (name, jwt) in cases {
            let error = verify(&jwt, &client, &jwks, &issuer(), UnixTime(NOW)).expect_err(name);
            assert_eq!(error.code, ErrorCode::InvalidRequestObject, "{name}");
        }
    }

    #[test]
    fn the_registered_algorithm_is_enforced() {
        let key = SigningKey::generate(SigningAlg::ES256).unwrap();
        let (mut client, jwks) = client_with(&key);
        client.metadata.request_object_signing_alg = Some(SigningAlg::RS256);
        let jwt = sign(&key, "JWT", &claims(&client));
        let error = verify(&jwt, &client, &jwks, &issuer(), UnixTime(NOW)).unwrap_err();
        assert!(error.description.contains("request_object_signing_alg"));
        client.metadata.request_object_signing_alg = Some(SigningAlg::ES256);
        assert!(verify(&jwt, &client, &jwks, &issuer(), UnixTime(NOW)).is_ok());
    }
}
