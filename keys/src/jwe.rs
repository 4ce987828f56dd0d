//! RFC 7516 JWE in compact form, encrypted to a client's public key (OIDC Core §10.2:
//! encrypted ID tokens and UserInfo responses), with josekit.
//!
//! Key management: `RSA-OAEP-256` (an RSA key of 2048 bits or more) and `ECDH-ES` (a P-256
//! key); content encryption: `A128CBC-HS256` (OIDC Registration's default), `A128GCM` and
//! `A256GCM`. The recipient key is chosen from the client's JWK Set: of the right type, not
//! marked for signatures only (`use`), and with no other `alg` than the one asked for.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// JWE key-management algorithms this crate encrypts with (RFC 7518 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyManagement {
    /// RSAES OAEP with SHA-256 (RFC 7518 §4.3).
    #[serde(rename = "RSA-OAEP-256")]
    RsaOaep256,
    /// ECDH-ES direct key agreement on P-256 (RFC 7518 §4.6).
    #[serde(rename = "ECDH-ES")]
    EcdhEs,
}

impl KeyManagement {
    /// Every supported algorithm (advertised in discovery).
    pub const ALL: [KeyManagement; 2] = [KeyManagement::RsaOaep256, KeyManagement::EcdhEs];

    /// The registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyManagement::RsaOaep256 => "RSA-OAEP-256",
            KeyManagement::EcdhEs => "ECDH-ES",
        }
    }

    /// Parses a registered name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    fn fits(self, jwk: &Map<String, Value>) -> bool {
        let text = |member: &str| jwk.get(member).and_then(Value::as_str);
        let kind = match self {
            KeyManagement::RsaOaep256 => text("kty") == Some("RSA"),
            KeyManagement::EcdhEs => text("kty") == Some("EC") && text("crv") == Some("P-256"),
        };
        kind && text("use").is_none_or(|key_use| key_use == "enc")
            && text("alg").is_none_or(|alg| alg == self.as_str())
    }
}

/// JWE content-encryption algorithms (RFC 7518 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContentEncryption {
    /// AES-128-CBC with HMAC-SHA-256 (the OIDC Registration default).
    #[serde(rename = "A128CBC-HS256")]
    A128CbcHs256,
    /// AES-128-GCM.
    #[serde(rename = "A128GCM")]
    A128Gcm,
    /// AES-256-GCM.
    #[serde(rename = "A256GCM")]
    A256Gcm,
}

impl ContentEncryption {
    /// Every supported algorithm (advertised in discovery).
    pub const ALL: [ContentEncryption; 3] = [
        ContentEncryption::A128CbcHs256,
        ContentEncryption::A128Gcm,
        ContentEncryption::A256Gcm,
    ];

    /// The registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentEncryption::A128CbcHs256 => "A128CBC-HS256",
            ContentEncryption::A128Gcm => "A128GCM",
            ContentEncryption::A256Gcm => "A256GCM",
        }
    }

    /// Parses a registered name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|enc| enc.as_str() == name)
    }
}

/// Why encryption failed (never key material).
#[derive(Debug, thiserror::Error)]
pub enum JweError {
    /// The client's JWK Set has no key for the algorithm.
    #[error("the client has no {0} encryption key (RSA for RSA-OAEP-256, P-256 for ECDH-ES)")]
    NoKey(&'static str),
    /// The key is malformed or the backend failed.
    #[error("encryption failed: {0}")]
    Backend(String),
}

/// The recipient key for `alg` in a JWK Set (as JSON): the first that fits, preferring one
/// marked `use: enc`.
pub fn recipient_key(jwks: &Value, alg: KeyManagement) -> Result<&Map<String, Value>, JweError> {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let fitting: Vec<&Map<String, Value>> = keys
        .iter()
        .filter_map(Value::as_object)
        .filter(|jwk| alg.fits(jwk))
        .collect();
    fitting
        .iter()
        .find(|jwk| jwk.get("use").and_then(Value::as_str) == Some("enc"))
        .or(fitting.first())
        .copied()
        .ok_or(JweError::NoKey(alg.as_str()))
}

/// Encrypts `payload` to `recipient` (a public JWK) as a compact JWE. `content_type` is
/// `Some("JWT")` for a nested signed JWT (RFC 7519 §5.2).
pub fn encrypt(
    payload: &[u8],
    content_type: Option<&str>,
    recipient: &Map<String, Value>,
    alg: KeyManagement,
    enc: ContentEncryption,
) -> Result<String, JweError> {
    use josekit::jwe::{ECDH_ES, JweHeader, RSA_OAEP_256};
    let backend = |error: josekit::JoseError| JweError::Backend(error.to_string());
    // Only the public members go to josekit.
    let public: Map<String, Value> = recipient
        .iter()
        .filter(|(name, _)| matches!(name.as_str(), "kty" | "kid" | "n" | "e" | "crv" | "x" | "y"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let jwk = josekit::jwk::Jwk::from_map(public).map_err(backend)?;
    let mut header = JweHeader::new();
    header.set_content_encryption(enc.as_str());
    if let Some(content_type) = content_type {
        header.set_content_type(content_type);
    }
    if let Some(kid) = recipient.get("kid").and_then(Value::as_str) {
        header.set_key_id(kid);
    }
    match alg {
        KeyManagement::RsaOaep256 => {
            let encrypter = RSA_OAEP_256.encrypter_from_jwk(&jwk).map_err(backend)?;
            josekit::jwe::serialize_compact(payload, &header, &encrypter).map_err(backend)
        }
        KeyManagement::EcdhEs => {
            let encrypter = ECDH_ES.encrypter_from_jwk(&jwk).map_err(backend)?;
            josekit::jwe::serialize_compact(payload, &header, &encrypter).map_err(backend)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwe::{ECDH_ES, RSA_OAEP_256};
    use serde_json::json;

    fn public_map(jwk: &josekit::jwk::Jwk, kid: &str) -> Map<String, Value> {
        let mut map = jwk.to_public_key().unwrap().as_ref().clone();
        map.insert("kid".into(), json!(kid));
        map
    }

    #[test]
    fn round_trips_for_every_algorithm_pair() {
        let rsa = josekit::jwk::Jwk::generate_rsa_key(2048).unwrap();
        let ec = josekit::jwk::Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).unwrap();
        for enc in ContentEncryption::ALL {
            for alg in KeyManagement::ALL {
                let (private, public) = match alg {
                    KeyManagement::RsaOaep256 => (&rsa, public_map(&rsa, "r1")),
                    KeyManagement::EcdhEs => (&ec, public_map(&ec, "e1")),
                };
                let jwe = encrypt(b"payload", Some("JWT"), &public, alg, enc).unwrap();
                assert_eq!(jwe.split('.').count(), 5);
                let (payload, header) = match alg {
                    KeyManagement::RsaOaep256 => josekit::jwe::deserialize_compact(
                        &jwe,
                        &RSA_OAEP_256.decrypter_from_jwk(private).unwrap(),
                    ),
                    KeyManagement::EcdhEs => josekit::jwe::deserialize_compact(
                        &jwe,
                        &ECDH_ES.decrypter_from_jwk(private).unwrap(),
                    ),
                }
                .unwrap();
                assert_eq!(payload, b"payload");
                assert_eq!(header.content_encryption(), Some(enc.as_str()));
                assert_eq!(header.algorithm(), Some(alg.as_str()));
                assert_eq!(header.content_type(), Some("JWT"));
                assert!(header.key_id().is_some());
            }
        }
    }

    #[test]
    fn the_recipient_key_fits_the_algorithm() {
        let jwks = json!({"keys": [
            {"kty": "RSA", "use": "sig", "kid": "signing", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "any", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "use": "enc", "kid": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"},
            {"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A128KW", "kid": "kw", "x": "AA", "y": "AA"},
        ]});
        let kid = |alg| {
            recipient_key(&jwks, alg)
                .map(|jwk| jwk["kid"].as_str().unwrap().to_owned())
                .map_err(|error| error.to_string())
        };
        assert_eq!(kid(KeyManagement::RsaOaep256), Ok("enc".into()));
        assert!(kid(KeyManagement::EcdhEs).is_err());
        assert!(recipient_key(&json!({}), KeyManagement::RsaOaep256).is_err());
    }

    #[test]
    fn names_round_trip() {
        for alg in KeyManagement::ALL {
            assert_eq!(KeyManagement::parse(alg.as_str()), Some(alg));
            assert_eq!(serde_json::to_value(alg).unwrap(), json!(alg.as_str()));
        }
        for enc in ContentEncryption::ALL {
            assert_eq!(ContentEncryption::parse(enc.as_str()), Some(enc));
        }
        assert_eq!(KeyManagement::parse("RSA1_5"), None);
        assert_eq!(ContentEncryption::parse("A192GCM"), None);
    }
}
