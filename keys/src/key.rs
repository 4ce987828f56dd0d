//! One signing key: algorithm, RFC 7638 `kid`, a ready key pair and its public JWK.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The JWS algorithms this provider signs with (RFC 7518 §3.1, RFC 8037 §3.1). Serialised as
/// the JOSE `alg` name; deserialising anything else (including `none` and HS*) fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over a 2048-bit key: the OpenID Connect default.
    RS256,
    /// ECDSA over P-256 with SHA-256: small, fast signatures.
    ES256,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl SigningAlg {
    /// Every supported algorithm, default first.
    pub const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    /// Parses a JOSE `alg` name; anything else (including `none` and HS*) is refused.
    pub fn parse(name: &str) -> Result<Self, Error> {
        match name {
            "RS256" => Ok(SigningAlg::RS256),
            "ES256" => Ok(SigningAlg::ES256),
            "EdDSA" => Ok(SigningAlg::EdDSA),
            other => Err(Error::UnsupportedAlgorithm(other.to_owned())),
        }
    }

    /// The matching jsonwebtoken algorithm, for verification.
    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            SigningAlg::RS256 => Algorithm::RS256,
            SigningAlg::ES256 => Algorithm::ES256,
            SigningAlg::EdDSA => Algorithm::EdDSA,
        }
    }
}

impl From<SigningAlg> for &'static str {
    fn from(alg: SigningAlg) -> Self {
        alg.as_str()
    }
}

impl TryFrom<String> for SigningAlg {
    type Error = Error;

    fn try_from(name: String) -> Result<Self, Error> {
        SigningAlg::parse(&name)
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key id: the RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Kid(String);

impl Kid {
    /// The kid as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The parsed key pair of the crypto backend, ready to sign without re-parsing.
enum KeyPair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private signing key, parsed once and kept ready.
///
/// # Security
/// `Debug` prints only the algorithm and `kid`; the private key leaves this type only through
/// [`SigningKey::to_pkcs8_pem`], for the caller to persist.
pub struct SigningKey {
    alg: SigningAlg,
    kid: Kid,
    key_pair: KeyPair,
    pkcs8_der: Vec<u8>,
    public_jwk: Jwk,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    /// Generates a fresh key: RSA-2048 for RS256, P-256 for ES256, Ed25519 for EdDSA.
    ///
    /// RSA generation takes tens to hundreds of milliseconds: call it off the async runtime.
    pub fn generate(alg: SigningAlg) -> Result<Self, Error> {
        let rng = SystemRandom::new();
        let pkcs8_der = match alg {
            SigningAlg::RS256 => {
                let key_pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| Error::Generate("RS256"))?;
                let der = key_pair.as_der().map_err(|_| Error::Generate("RS256"))?;
                der.as_ref().to_vec()
            }
            SigningAlg::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| Error::Generate("ES256"))?
                    .as_ref()
                    .to_vec()
            }
            // PKCS#8 v1 (48 bytes): jsonwebtoken derives the public JWK only from that form.
            SigningAlg::EdDSA => Ed25519KeyPair::generate_pkcs8v1(&rng)
                .map_err(|_| Error::Generate("EdDSA"))?
                .as_ref()
                .to_vec(),
        };
        Self::from_pkcs8_der(alg, pkcs8_der)
    }

    /// Loads a key from its PKCS#8 DER bytes.
    pub fn from_pkcs8_der(alg: SigningAlg, pkcs8_der: Vec<u8>) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidKey {
            alg: alg.as_str(),
            reason,
        };
        let (key_pair, encoding_key) = match alg {
            SigningAlg::RS256 => {
                let key_pair = RsaKeyPair::from_pkcs8(&pkcs8_der)
                    .map_err(|_| invalid("not an RSA PKCS#8 key"))?;
                if key_pair.public_modulus_len() < 256 {
                    return Err(invalid("RSA keys must have at least 2048 bits"));
                }
                // jsonwebtoken's DER constructor wants PKCS#1; its PEM parser takes PKCS#8.
                let encoding_key =
                    EncodingKey::from_rsa_pem(pem("PRIVATE KEY", &pkcs8_der).as_bytes())
                        .map_err(|_| invalid("not an RSA PKCS#8 key"))?;
                (KeyPair::Rsa(key_pair), encoding_key)
            }
            SigningAlg::ES256 => {
                let key_pair =
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8_der)
                        .map_err(|_| invalid("not a P-256 PKCS#8 key"))?;
                (KeyPair::Ec(key_pair), EncodingKey::from_ec_der(&pkcs8_der))
            }
            SigningAlg::EdDSA => {
                let key_pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8_der)
                    .map_err(|_| invalid("not an Ed25519 PKCS#8 key"))?;
                (KeyPair::Ed(key_pair), EncodingKey::from_ed_der(&pkcs8_der))
            }
        };
        let mut public_jwk = Jwk::from_encoding_key(&encoding_key, alg.jwt_algorithm())
            .map_err(|_| invalid("public key could not be derived"))?;
        let thumbprint = public_jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| invalid("thumbprint could not be computed"))?;
        public_jwk.common.key_id = Some(thumbprint.clone());
        public_jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        public_jwk.common.key_algorithm = Some(match alg {
            SigningAlg::RS256 => KeyAlgorithm::RS256,
            SigningAlg::ES256 => KeyAlgorithm::ES256,
            SigningAlg::EdDSA => KeyAlgorithm::EdDSA,
        });
        Ok(SigningKey {
            alg,
            kid: Kid(thumbprint),
            key_pair,
            pkcs8_der,
            public_jwk,
            rng: SystemRandom::new(),
        })
    }

    /// Loads a key from PKCS#8 PEM text (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(alg: SigningAlg, pem_text: &str) -> Result<Self, Error> {
        let body: String = pem_text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("-----"))
            .collect();
        let der = STANDARD.decode(body).map_err(|_| Error::InvalidKey {
            alg: alg.as_str(),
            reason: "PEM body is not base64",
        })?;
        Self::from_pkcs8_der(alg, der)
    }

    /// The private key as PKCS#8 PEM, for the caller to persist.
    ///
    /// # Security
    /// This is the one way key material leaves the type: write it only to protected storage.
    pub fn to_pkcs8_pem(&self) -> String {
        pem("PRIVATE KEY", &self.pkcs8_der)
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// The RFC 7638 thumbprint that names this key.
    pub fn kid(&self) -> &Kid {
        &self.kid
    }

    /// The public JWK (`kty`, `kid`, `alg`, `use: sig` and the public parameters only).
    pub fn public_jwk(&self) -> &Jwk {
        &self.public_jwk
    }

    /// Signs `claims` as a compact JWS with header `{alg, kid, typ}` (RFC 7515 §7.1).
    ///
    /// `typ` is `at+jwt` for access tokens (RFC 9068 §2.1) and `JWT` for ID tokens.
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> Result<String, Error> {
        crate::jws::sign_compact(self, typ, claims)
    }

    /// Signs raw bytes (the JWS signing input) with the ready key pair.
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.key_pair {
            KeyPair::Rsa(key_pair) => {
                let mut signature = vec![0u8; key_pair.public_modulus_len()];
                key_pair
                    .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
                    .map_err(|_| Error::Sign)?;
                Ok(signature)
            }
            KeyPair::Ec(key_pair) => Ok(key_pair
                .sign(&self.rng, message)
                .map_err(|_| Error::Sign)?
                .as_ref()
                .to_vec()),
            KeyPair::Ed(key_pair) => Ok(key_pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// PEM armour (RFC 7468): base64 in 64-character lines between BEGIN/END labels.
fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
