//! The issuer's public keys, parsed once into ready `DecodingKey`s and looked up by `kid`.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};

/// RSA moduli shorter than this (2048 bits) are refused (NIST SP 800-131A).
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// The key type and curve of a JWK: what its header `alg` may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

/// One verification key of the JWKS, parsed once.
pub(crate) struct CachedKey {
    kind: KeyKind,
    /// The JWK's own `alg`, when it has one: then the header `alg` must equal it.
    alg: Option<Algorithm>,
    pub(crate) decoding_key: DecodingKey,
}

impl CachedKey {
    /// RFC 7517 §4.1/§4.4 and RFC 7518 §3.1: the header `alg` must fit the key's `kty` (and
    /// curve), and equal the JWK's `alg` when it names one.
    pub(crate) fn accepts(&self, alg: Algorithm) -> bool {
        if self.alg.is_some_and(|key_alg| key_alg != alg) {
            return false;
        }
        match self.kind {
            KeyKind::Rsa => alg.family() == AlgorithmFamily::Rsa,
            KeyKind::EcP256 => alg == Algorithm::ES256,
            KeyKind::EcP384 => alg == Algorithm::ES384,
            KeyKind::Ed25519 => alg == Algorithm::EdDSA,
        }
    }

    /// Parses one JWK; `Err` says, for the logs, why the key is not usable for verification.
    pub(crate) fn from_jwk(jwk: &Jwk) -> Result<(String, CachedKey), &'static str> {
        let kid = jwk.common.key_id.clone().ok_or("no kid")?;
        if matches!(
            jwk.common.public_key_use,
            Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
        ) {
            return Err("use is not sig");
        }
        if let Some(operations) = &jwk.common.key_operations
            && !operations.contains(&KeyOperations::Verify)
        {
            return Err("key_ops lacks verify");
        }
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(key_algorithm) => match Algorithm::try_from(key_algorithm) {
                Ok(alg) if alg.family() != AlgorithmFamily::Hmac => Some(alg),
                _ => return Err("alg is not an asymmetric signature algorithm"),
            },
        };
        let invalid = |_| "public key parameters are invalid";
        let (kind, decoding_key) = match &jwk.algorithm {
            AlgorithmParameters::RSA(params) => {
                let key =
                    DecodingKey::from_rsa_components(&params.n, &params.e).map_err(invalid)?;
                if let DecodingKeyKind::RsaModulusExponent { n, .. } = key.kind() {
                    let significant = n.iter().skip_while(|byte| **byte == 0).count();
                    if significant < MIN_RSA_MODULUS_BYTES {
                        return Err("RSA modulus is shorter than 2048 bits");
                    }
                }
                (KeyKind::Rsa, key)
            }
            AlgorithmParameters::EllipticCurve(params) => {
                let kind = match params.curve {
                    EllipticCurve::P256 => KeyKind::EcP256,
                    EllipticCurve::P384 => KeyKind::EcP384,
                    _ => return Err("unsupported EC curve"),
                };
                let key = DecodingKey::from_ec_components(&params.x, &params.y).map_err(invalid)?;
                (kind, key)
            }
            AlgorithmParameters::OctetKeyPair(params) => {
                if params.curve != EllipticCurve::Ed25519 {
                    return Err("unsupported OKP curve");
                }
                let key = DecodingKey::from_ed_components(&params.x).map_err(invalid)?;
                (KeyKind::Ed25519, key)
            }
            AlgorithmParameters::OctetKey(_) => return Err("symmetric keys are never used"),
            _ => return Err("unsupported kty"),
        };
        let key = CachedKey {
            kind,
            alg,
            decoding_key,
        };
        if let Some(alg) = alg
            && !key.accepts(alg)
        {
            return Err("alg does not fit the key type");
        }
        Ok((kid, key))
    }
}

/// An immutable snapshot of the usable keys, replaced as a whole on each refresh.
#[derive(Default)]
pub(crate) struct KeyStore {
    keys: HashMap<String, Arc<CachedKey>>,
}

impl KeyStore {
    /// Parses every usable key of a JWKS (given as raw JSON values, so one odd key cannot spoil
    /// the others); the rest are skipped with a debug line.
    pub(crate) fn from_jwk_values(values: &[serde_json::Value]) -> KeyStore {
        let mut keys = HashMap::with_capacity(values.len());
        for value in values {
            let parsed = serde_json::from_value::<Jwk>(value.clone())
                .map_err(|_| "not a JWK")
                .and_then(|jwk| CachedKey::from_jwk(&jwk));
            match parsed {
                Ok((kid, key)) => {
                    if keys.insert(kid.clone(), Arc::new(key)).is_some() {
                        tracing::warn!(
                            kid = ?kid,
                            "jwks has two keys with one kid; the last one wins",
                        );
                    }
                }
                Err(reason) => {
                    let kid = value.get("kid").and_then(serde_json::Value::as_str);
                    tracing::debug!(kid = ?kid, reason, "skipping jwk");
                }
            }
        }
        KeyStore { keys }
    }

    pub(crate) fn get(&self, kid: &str) -> Option<&Arc<CachedKey>> {
        self.keys.get(kid)
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use keys::SigningAlg;

    use super::*;
    use crate::test_support::signing_key;

    fn jwk_value(alg: SigningAlg) -> Value {
        serde_json::to_value(signing_key(alg).public_jwk()).unwrap()
    }

    fn with(mut value: Value, member: &str, new: Value) -> Value {
        value[member] = new;
        value
    }

    #[test]
    fn usable_keys_are_kept_and_others_skipped_with_a_reason() {
        let rsa = jwk_value(SigningAlg::RS256);
        let ec = jwk_value(SigningAlg::ES256);
        let ed = jwk_value(SigningAlg::EdDSA);
        let cases: Vec<(&str, Value, Result<(), &str>)> = vec![
            ("rsa", rsa.clone(), Ok(())),
            ("ec", ec.clone(), Ok(())),
            ("ed", ed.clone(), Ok(())),
            (
                "rsa without alg",
                {
                    let mut v = rsa.clone();
                    v.as_object_mut().unwrap().remove("alg");
                    v
                },
                Ok(()),
            ),
            (
                "no kid",
                {
                    let mut v = rsa.clone();
                    v.as_object_mut().unwrap().remove("kid");
                    v
                },
                Err("no kid"),
            ),
            (
                "use enc",
                with(rsa.clone(), "use", json!("enc")),
                Err("use is not sig"),
            ),
            (
                "key_ops sign only",
                with(rsa.clone(), "key_ops", json!(["sign"])),
                Err("key_ops lacks verify"),
            ),
            (
                "key_ops verify",
                with(rsa.clone(), "key_ops", json!(["verify"])),
                Ok(()),
            ),
            (
                "alg HS256",
                with(rsa.clone(), "alg", json!("HS256")),
                Err("alg is not an asymmetric signature algorithm"),
            ),
            (
                "alg RSA-OAEP",
                with(rsa.clone(), "alg", json!("RSA-OAEP")),
                Err("alg is not an asymmetric signature algorithm"),
            ),
            (
                "rsa claiming ES256",
                with(rsa.clone(), "alg", json!("ES256")),
                Err("alg does not fit the key type"),
            ),
            (
                "ec claiming EdDSA",
                with(ec.clone(), "alg", json!("EdDSA")),
                Err("alg does not fit the key type"),
            ),
            (
                "oct",
                json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"}),
                Err("symmetric keys are never used"),
            ),
            (
                "short rsa",
                json!({"kty": "RSA", "kid": "s", "n": "AQAB", "e": "AQAB"}),
                Err("RSA modulus is shorter than 2048 bits"),
            ),
            (
                "P-521",
                with(ec.clone(), "crv", json!("P-521")),
                Err("unsupported EC curve"),
            ),
        ];
        for (name, value, expected) in cases {
            let parsed = serde_json::from_value::<Jwk>(value)
                .map_err(|_| "not a JWK")
                .and_then(|jwk| CachedKey::from_jwk(&jwk))
                .map(|_| ());
            assert_eq!(parsed, expected, "{name}");
        }
    }

    #[test]
    fn header_alg_must_fit_the_key() {
        let parse = |alg| {
            CachedKey::from_jwk(signing_key(alg).public_jwk())
                .unwrap()
                .1
        };
        let rsa = parse(SigningAlg::RS256);
        let ec = parse(SigningAlg::ES256);
        let ed = parse(SigningAlg::EdDSA);
        // The published JWKs carry alg, so only that exact alg fits.
        assert!(rsa.accepts(Algorithm::RS256));
        assert!(!rsa.accepts(Algorithm::PS256));
        assert!(!rsa.accepts(Algorithm::HS256));
        assert!(!rsa.accepts(Algorithm::ES256));
        assert!(ec.accepts(Algorithm::ES256));
        assert!(!ec.accepts(Algorithm::ES384));
        assert!(!ec.accepts(Algorithm::RS256));
        assert!(ed.accepts(Algorithm::EdDSA));
        assert!(!ed.accepts(Algorithm::ES256));
        // Without a JWK alg, the family decides.
        let mut jwk = signing_key(SigningAlg::RS256).public_jwk().clone();
        jwk.common.key_algorithm = None;
        let rsa_any = CachedKey::from_jwk(&jwk).unwrap().1;
        assert!(rsa_any.accepts(Algorithm::PS256));
        assert!(!rsa_any.accepts(Algorithm::EdDSA));
    }

    #[test]
    fn a_bad_key_does_not_spoil_the_set() {
        let values = vec![
            json!({"kty": "weird"}),
            json!("not even an object"),
            jwk_value(SigningAlg::ES256),
        ];
        let store = KeyStore::from_jwk_values(&values);
        assert_eq!(store.len(), 1);
        assert!(
            store
                .get(signing_key(SigningAlg::ES256).kid().as_str())
                .is_some()
        );
    }
}
