//! The provider's public keys (RFC 7517 JWK Set) and checking a JWS signature against them.
//!
//! The order matters: we decide *which algorithm we accept* before looking at the token's
//! header, take the key only from the provider's JWKS by `kid`, check that the key is of the
//! kind that algorithm needs, and only then verify. Header members that point at other keys
//! (`jku`, `x5u`, `jwk`) are never followed (RFC 8725 §3.10).

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::jwt;

/// Algorithms this client accepts for ID tokens: asymmetric only. `none` and HS* are never
/// accepted: `none` has no signature, and HS* would let anyone holding the (public!) key sign.
pub const ACCEPTED_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// Why a signature check failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not three base64url parts with JSON header and payload.
    #[error("not a compact JWS: {0}")]
    Malformed(&'static str),
    /// `alg` is `none`, HS*, or another algorithm we do not accept.
    #[error("alg {0:?} is not accepted (RFC 8725 §3.1: only the expected asymmetric algorithms)")]
    DisallowedAlgorithm(String),
    /// No `kid` in the header.
    #[error("the header has no kid, so no key of the JWKS can be chosen")]
    MissingKid,
    /// The `kid` is not in the provider's JWKS.
    #[error("kid {0:?} is not in the provider's JWKS")]
    UnknownKid(String),
    /// The key named by `kid` is of another type than `alg` needs, or says another `alg`.
    #[error("the key {0:?} does not fit alg (key type or its alg member differs)")]
    KeyAlgorithmMismatch(String),
    /// The signature does not verify.
    #[error("the signature does not verify with the provider's key")]
    InvalidSignature,
}

/// A token whose signature verified.
#[derive(Clone, Debug)]
pub struct VerifiedJws {
    /// The algorithm used.
    pub alg: Algorithm,
    /// The key id.
    pub kid: String,
    /// The decoded header.
    pub header: Value,
    /// The decoded claims (not yet checked).
    pub claims: Value,
}

/// The provider's JWK Set.
#[derive(Clone, Debug)]
pub struct Jwks {
    set: JwkSet,
}

impl Jwks {
    /// Wraps a fetched set.
    pub fn new(set: JwkSet) -> Jwks {
        Jwks { set }
    }

    /// The key with this `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.set.find(kid)
    }

    /// Every `kid`, for display.
    pub fn kids(&self) -> Vec<String> {
        self.set
            .keys
            .iter()
            .filter_map(|key| key.common.key_id.clone())
            .collect()
    }

    /// Verifies the signature of a compact JWS and returns its decoded parts.
    pub fn verify(
        &self,
        token: &str,
        accepted: &[Algorithm],
    ) -> Result<VerifiedJws, SignatureError> {
        let mut parts = token.split('.');
        let (Some(header_part), Some(payload_part), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SignatureError::Malformed("it must have three parts"));
        };
        let header = jwt::decode_part(header_part).ok_or(SignatureError::Malformed(
            "the header is not base64url JSON",
        ))?;
        let claims = jwt::decode_part(payload_part).ok_or(SignatureError::Malformed(
            "the payload is not base64url JSON",
        ))?;
        let alg_name = header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let alg = alg_name
            .parse::<Algorithm>()
            .ok()
            .filter(|alg| accepted.contains(alg))
            .ok_or_else(|| SignatureError::DisallowedAlgorithm(alg_name.to_owned()))?;
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(SignatureError::MissingKid)?
            .to_owned();
        let jwk = self
            .find(&kid)
            .ok_or_else(|| SignatureError::UnknownKid(kid.clone()))?;
        if !key_fits(jwk, alg) {
            return Err(SignatureError::KeyAlgorithmMismatch(kid));
        }
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|_| SignatureError::KeyAlgorithmMismatch(kid.clone()))?;
        // The signature covers the ASCII text `header.payload`, exactly as received.
        let signing_input = &token[..header_part.len() + 1 + payload_part.len()];
        let verified = jsonwebtoken::crypto::verify(signature, signing_input.as_bytes(), &key, alg)
            .unwrap_or(false);
        if !verified {
            return Err(SignatureError::InvalidSignature);
        }
        Ok(VerifiedJws {
            alg,
            kid,
            header,
            claims,
        })
    }
}

/// The key type must match the algorithm family, and a key that names its `alg` must name this
/// one (RFC 7517 §4.4).
fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let family_fits = matches!(
        (&jwk.algorithm, alg),
        (
            AlgorithmParameters::RSA(_),
            Algorithm::RS256 | Algorithm::PS256
        ) | (AlgorithmParameters::EllipticCurve(_), Algorithm::ES256)
            | (AlgorithmParameters::OctetKeyPair(_), Algorithm::EdDSA)
    );
    let declared = jwk
        .common
        .key_algorithm
        .and_then(|declared| serde_json::to_value(declared).ok());
    let alg_fits = match declared {
        None => true,
        Some(Value::String(declared)) => declared == format!("{alg:?}"),
        Some(_) => false,
    };
    family_fits && alg_fits
}
