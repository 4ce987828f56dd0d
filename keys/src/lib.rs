//! Signing keys for the OpenID provider.
//!
//! What it does:
//! - generates RSA-2048 (`RS256`, the default), P-256 (`ES256`) and Ed25519 (`EdDSA`) key pairs
//!   with aws-lc-rs, and names each by its RFC 7638 JWK thumbprint (the `kid`);
//! - keeps every private key parsed **once**, as a ready aws-lc-rs key pair, so signing a token
//!   never re-parses a PEM (see [`SigningKey::sign`]);
//! - exports the public JWKS (`kty`, `kid`, `alg`, `use: sig`; never a private member);
//! - verifies compact JWS against its own keys with jsonwebtoken ([`KeySet::verify`]);
//! - makes and checks RFC 9449 DPoP proofs ([`dpop`]);
//! - with the `jwe` feature, encrypts to a client's public key (RFC 7516, josekit): `jwe`.
//!
//! What it deliberately does not do: IO of any kind. Persisting keys (as PKCS#8 PEM text) and
//! deciding when to rotate belong to the caller; this crate only turns bytes into keys and back.
//!
//! Entry points: [`SigningKey::generate`], [`SigningKey::from_pkcs8_pem`], [`KeySet`].
#![warn(missing_docs)]

pub mod dpop;
mod error;
#[cfg(feature = "jwe")]
pub mod jwe;
mod jws;
mod key;
mod keyset;

pub use error::Error;
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use jsonwebtoken::{TokenData, Validation};
pub use jws::{b64url, b64url_decode};
pub use key::{Kid, SigningAlg, SigningKey};
pub use keyset::{KeySet, KeyStatus};

/// Installs jsonwebtoken's aws-lc-rs crypto provider for the process.
///
/// jsonwebtoken panics at the first signature operation when no provider (or two) is compiled
/// in; calling this at start-up makes the choice explicit and is also a compile-time proof that
/// the `aws_lc_rs` feature is on. Calling it more than once is harmless.
pub fn install_crypto_provider() {
    // An Err only means a provider was installed already, which is what we want.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}
