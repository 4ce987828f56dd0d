//! A set of signing keys: one active key per algorithm plus retired keys that stay published
//! (and verifiable) until every token they signed has expired.

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, TokenData, Validation};
use serde::de::DeserializeOwned;

use crate::{Error, SigningAlg, SigningKey};

/// Where a key is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Signs new tokens (at most one per algorithm) and verifies.
    Active,
    /// Published in the JWKS before it signs anything, so caches learn it first.
    Next,
    /// No longer signs; still published and verifiable until its tokens expire.
    Retired,
}

impl KeyStatus {
    /// Every status.
    pub const ALL: [KeyStatus; 3] = [KeyStatus::Active, KeyStatus::Next, KeyStatus::Retired];

    /// The name a store keeps: `active`, `next` or `retired`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Next => "next",
            KeyStatus::Retired => "retired",
        }
    }

    /// Parses a stored name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        KeyStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

struct Entry {
    key: Arc<SigningKey>,
    status: KeyStatus,
    decoding_key: DecodingKey,
}

/// The provider's keys. Cheap to share behind an `Arc`; rebuilt (not mutated) on rotation.
pub struct KeySet {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.entries
                    .iter()
                    .map(|entry| (entry.key.kid(), entry.status)),
            )
            .finish()
    }
}

impl KeySet {
    /// Builds a key set. The first `Active` key of each algorithm signs for it.
    pub fn new(
        keys: impl IntoIterator<Item = (Arc<SigningKey>, KeyStatus)>,
    ) -> Result<Self, Error> {
        let entries = keys
            .into_iter()
            .map(|(key, status)| {
                let decoding_key = DecodingKey::from_jwk(key.public_jwk())?;
                Ok(Entry {
                    key,
                    status,
                    decoding_key,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(KeySet { entries })
    }

    /// The key that signs new tokens with `alg`, if the set has one.
    pub fn active(&self, alg: SigningAlg) -> Option<&Arc<SigningKey>> {
        self.entries
            .iter()
            .find(|entry| entry.status == KeyStatus::Active && entry.key.alg() == alg)
            .map(|entry| &entry.key)
    }

    /// Algorithms that have an active key, in [`SigningAlg::ALL`] order.
    pub fn active_algorithms(&self) -> Vec<SigningAlg> {
        SigningAlg::ALL
            .into_iter()
            .filter(|alg| self.active(*alg).is_some())
            .collect()
    }

    /// Every key with its status, in the order given to [`KeySet::new`].
    pub fn entries(&self) -> impl Iterator<Item = (&Arc<SigningKey>, KeyStatus)> {
        self.entries.iter().map(|entry| (&entry.key, entry.status))
    }

    /// The public JWKS: every key in the set, public members only.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .entries
                .iter()
                .map(|entry| entry.key.public_jwk().clone())
                .collect(),
        }
    }

    /// Verifies a compact JWS signed by one of these keys and decodes its claims.
    ///
    /// The key is chosen by the header's `kid`; the header's `alg` must be that key's algorithm
    /// (so `none`, HS256-with-a-public-key and algorithm confusion are refused). Claim checks
    /// (`exp`, `iss`, `aud`, ...) are those configured in `validation`; its algorithm list is
    /// replaced by the key's algorithm. `typ` is not checked here: callers compare it.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<TokenData<T>, Error> {
        let header = jsonwebtoken::decode_header(token)?;
        let kid = header.kid.as_deref().ok_or(Error::UnknownKid)?;
        let entry = self
            .entries
            .iter()
            .find(|entry| entry.key.kid().as_str() == kid)
            .ok_or(Error::UnknownKid)?;
        let alg = entry.key.alg().jwt_algorithm();
        if header.alg != alg {
            return Err(Error::AlgorithmMismatch);
        }
        let mut validation = validation.clone();
        validation.algorithms = vec![alg];
        Ok(jsonwebtoken::decode(
            token,
            &entry.decoding_key,
            &validation,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
    use serde_json::{Value, json};

    use super::*;

    /// RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
    const RFC7638_JWK: &str = r#"{"kty":"RSA","e":"AQAB","alg":"RS256","kid":"2011-04-29","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}"#;
    const RFC7638_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    /// Keys are generated once per test process: RSA generation is slow in debug builds.
    fn keys() -> &'static [Arc<SigningKey>; 3] {
        static KEYS: OnceLock<[Arc<SigningKey>; 3]> = OnceLock::new();
        KEYS.get_or_init(|| {
            crate::install_crypto_provider();
            SigningAlg::ALL.map(|alg| Arc::new(SigningKey::generate(alg).expect("keygen")))
        })
    }

    #[test]
    fn statuses_and_algorithms_round_trip_through_their_names() {
        for status in KeyStatus::ALL {
            assert_eq!(KeyStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(KeyStatus::parse("Active"), None);
        for alg in SigningAlg::ALL {
            let json = serde_json::to_value(alg).unwrap();
            assert_eq!(json, json!(alg.as_str()));
            assert_eq!(serde_json::from_value::<SigningAlg>(json).unwrap(), alg);
        }
        for refused in ["none", "HS256", "rs256", ""] {
            assert!(
                serde_json::from_value::<SigningAlg>(json!(refused)).is_err(),
                "{refused}"
            );
        }
    }

    fn key(alg: SigningAlg) -> &'static Arc<SigningKey> {
        keys().iter().find(|key| key.alg() == alg).expect("key")
    }

    fn set_of(keys: &[&Arc<SigningKey>]) -> KeySet {
        KeySet::new(keys.iter().map(|key| (Arc::clone(key), KeyStatus::Active))).expect("key set")
    }

    fn lenient() -> Validation {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation
    }

    fn claims() -> Value {
        json!({"sub": "248289761001", "iss": "https://issuer.example", "n": 1})
    }

    #[test]
    fn rfc7638_thumbprint_vector() {
        crate::install_crypto_provider();
        let jwk: Jwk = serde_json::from_str(RFC7638_JWK).unwrap();
        assert_eq!(
            jwk.thumbprint(ThumbprintHash::SHA256).unwrap(),
            RFC7638_THUMBPRINT
        );
    }

    #[test]
    fn kid_is_the_thumbprint_of_the_published_jwk() {
        for key in keys() {
            let thumbprint = key.public_jwk().thumbprint(ThumbprintHash::SHA256).unwrap();
            assert_eq!(key.kid().as_str(), thumbprint, "{}", key.alg());
        }
    }

    #[test]
    fn sign_verify_round_trip_for_every_algorithm() {
        for key in keys() {
            let set = set_of(&[key]);
            let token = key.sign("at+jwt", &claims()).unwrap();
            let data: TokenData<Value> = set.verify(&token, &lenient()).unwrap();
            assert_eq!(data.claims, claims(), "{}", key.alg());
            assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
            assert_eq!(data.header.kid.as_deref(), Some(key.kid().as_str()));
            assert_eq!(data.header.alg, key.alg().jwt_algorithm());
        }
    }

    #[test]
    fn tampered_payload_is_rejected() {
        for key in keys() {
            let set = set_of(&[key]);
            let token = key.sign("JWT", &claims()).unwrap();
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            parts[1] = URL_SAFE_NO_PAD
                .encode(br#"{"sub":"attacker","iss":"https://issuer.example","n":1}"#);
            let tampered = parts.join(".");
            let result = set.verify::<Value>(&tampered, &lenient());
            assert!(
                matches!(result, Err(Error::Jwt(_))),
                "{}: {result:?}",
                key.alg()
            );
        }
    }

    #[test]
    fn signature_from_another_key_is_rejected() {
        let rsa = key(SigningAlg::RS256);
        let other = Arc::new(SigningKey::generate(SigningAlg::ES256).unwrap());
        let token = other.sign("JWT", &claims()).unwrap();
        // The attacker's kid is unknown to our set.
        assert!(matches!(
            set_of(&[rsa]).verify::<Value>(&token, &lenient()),
            Err(Error::UnknownKid)
        ));
        // Claiming our kid does not help: the signature does not match our key.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let es = key(SigningAlg::ES256);
        parts[0] = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"ES256","kid":"{}","typ":"JWT"}}"#,
            es.kid()
        ));
        let forged = parts.join(".");
        assert!(matches!(
            set_of(&[es]).verify::<Value>(&forged, &lenient()),
            Err(Error::Jwt(_))
        ));
    }

    #[test]
    fn alg_none_and_alg_confusion_are_rejected() {
        let rsa = key(SigningAlg::RS256);
        let set = set_of(&[rsa]);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
        let cases = [
            (
                "none",
                format!(r#"{{"alg":"none","kid":"{}"}}"#, rsa.kid()),
                String::new(),
            ),
            (
                "HS256",
                format!(r#"{{"alg":"HS256","kid":"{}"}}"#, rsa.kid()),
                "c2ln".to_owned(),
            ),
            (
                "ES256",
                format!(r#"{{"alg":"ES256","kid":"{}"}}"#, rsa.kid()),
                "c2ln".to_owned(),
            ),
        ];
        for (name, header, signature) in cases {
            let token = format!("{}.{payload}.{signature}", URL_SAFE_NO_PAD.encode(header));
            let result = set.verify::<Value>(&token, &lenient());
            assert!(result.is_err(), "alg {name} was accepted");
        }
    }

    #[test]
    fn token_without_kid_is_rejected() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let token = format!("{header}.e30.c2ln");
        let set = set_of(&[key(SigningAlg::RS256)]);
        assert!(matches!(
            set.verify::<Value>(&token, &lenient()),
            Err(Error::UnknownKid)
        ));
    }

    #[test]
    fn pem_round_trip_keeps_the_kid_and_signs_verifiably() {
        for key in keys() {
            let pem = key.to_pkcs8_pem();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            let loaded = Arc::new(SigningKey::from_pkcs8_pem(key.alg(), &pem).unwrap());
            assert_eq!(loaded.kid(), key.kid());
            let token = loaded.sign("JWT", &claims()).unwrap();
            assert!(set_of(&[key]).verify::<Value>(&token, &lenient()).is_ok());
        }
    }

    #[test]
    fn loading_a_key_with_the_wrong_algorithm_fails() {
        let ec_pem = key(SigningAlg::ES256).to_pkcs8_pem();
        assert!(matches!(
            SigningKey::from_pkcs8_pem(SigningAlg::RS256, &ec_pem),
            Err(Error::InvalidKey { .. })
        ));
        assert!(
            SigningKey::from_pkcs8_pem(SigningAlg::ES256, "-----BEGIN PRIVATE KEY-----\n!!\n")
                .is_err()
        );
    }

    #[test]
    fn jwks_has_public_members_only() {
        let set = KeySet::new(
            keys()
                .iter()
                .map(|key| (Arc::clone(key), KeyStatus::Active)),
        )
        .unwrap();
        let jwks = serde_json::to_value(set.jwks()).unwrap();
        let published = jwks["keys"].as_array().unwrap();
        assert_eq!(published.len(), 3);
        for jwk in published {
            for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
                assert!(jwk.get(private).is_none(), "{private} published in {jwk}");
            }
            assert_eq!(jwk["use"], "sig");
            assert!(jwk["kid"].is_string() && jwk["alg"].is_string() && jwk["kty"].is_string());
        }
        let kty: Vec<&str> = published
            .iter()
            .map(|jwk| jwk["kty"].as_str().unwrap())
            .collect();
        assert_eq!(kty, ["RSA", "EC", "OKP"]);
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        for key in keys() {
            let debug = format!("{key:?}");
            let pem_body: String = key.to_pkcs8_pem().lines().nth(1).unwrap().to_owned();
            assert!(debug.contains("[redacted]"));
            assert!(!debug.contains(&pem_body[..16]));
        }
    }

    #[test]
    fn active_picks_the_active_key_per_algorithm() {
        let retired = Arc::new(SigningKey::generate(SigningAlg::ES256).unwrap());
        let set = KeySet::new([
            (Arc::clone(&retired), KeyStatus::Retired),
            (Arc::clone(key(SigningAlg::ES256)), KeyStatus::Active),
        ])
        .unwrap();
        assert_eq!(
            set.active(SigningAlg::ES256).unwrap().kid(),
            key(SigningAlg::ES256).kid()
        );
        assert!(set.active(SigningAlg::RS256).is_none());
        assert_eq!(set.active_algorithms(), vec![SigningAlg::ES256]);
        // A retired key still verifies what it signed.
        let token = retired.sign("JWT", &claims()).unwrap();
        assert!(set.verify::<Value>(&token, &lenient()).is_ok());
        assert_eq!(set.jwks().keys.len(), 2);
    }
}
