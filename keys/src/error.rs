/// Everything that can go wrong with keys and signatures.
///
/// Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The crypto backend refused to generate a key.
    #[error("key generation failed for {0}")]
    Generate(&'static str),
    /// Stored key bytes could not be parsed as the algorithm's PKCS#8 key.
    #[error("invalid {alg} private key: {reason}")]
    InvalidKey {
        /// The algorithm the key was meant for.
        alg: &'static str,
        /// What was wrong, without key material.
        reason: &'static str,
    },
    /// An algorithm name that this crate does not sign with.
    #[error("unsupported signing algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The backend failed to produce a signature.
    #[error("signing failed")]
    Sign,
    /// Claims could not be serialised to JSON.
    #[error("claims are not serialisable: {0}")]
    Claims(#[from] serde_json::Error),
    /// The token names a `kid` this key set does not hold.
    #[error("unknown kid")]
    UnknownKid,
    /// The token's `alg` differs from the algorithm of the key its `kid` names.
    #[error("token alg does not match the key's alg")]
    AlgorithmMismatch,
    /// jsonwebtoken rejected the token (bad form, signature, or a claim check).
    #[error("token rejected: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}
