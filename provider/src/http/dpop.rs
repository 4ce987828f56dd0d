//! RFC 9449 DPoP at the provider: the proof of a request (token endpoint, PAR, UserInfo), the
//! server nonces, and the replay cache of proof `jti`s.
//!
//! Nonces are stateless: an HMAC (the server secret, shared by every node) of a five-minute
//! time window; the current and the previous window's nonces are accepted. They are required
//! only with `--dpop-require-nonce`, but every DPoP response carries the current one
//! (`DPoP-Nonce`) so clients can send it.
//!
//! Replays: each proof's `jti` is counted through the cluster (Redis when configured, else this
//! node's bounded memory) for as long as the proof could be accepted.

use axum::http::HeaderMap;
use keys::dpop::{
    Expected, FUTURE_SKEW_SECS, MAX_AGE_SECS, ProofError, VerifiedProof, verify_proof,
};

use crate::protocol::{ErrorCode, OAuthError};
use crate::state::AppState;

/// A nonce is issued per window of this many seconds.
const NONCE_WINDOW_SECS: i64 = 300;

fn nonce_for(state: &AppState, window: i64) -> String {
    state
        .secret
        .sign("dpop-nonce", window.to_string().as_bytes())
        .chars()
        .take(32)
        .collect()
}

/// The nonce clients should put in their next proof.
pub fn current_nonce(state: &AppState) -> String {
    nonce_for(state, state.now().0.div_euclid(NONCE_WINDOW_SECS))
}

fn accepted_nonces(state: &AppState) -> Vec<String> {
    let window = state.now().0.div_euclid(NONCE_WINDOW_SECS);
    vec![nonce_for(state, window), nonce_for(state, window - 1)]
}

/// The `DPoP` header's value: none, or exactly one.
pub fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let mut values = headers.get_all("dpop").iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "send at most one DPoP header (RFC 9449 §4.3)",
        ));
    }
    first
        .map(|value| {
            value.to_str().map_err(|_| {
                OAuthError::new(
                    ErrorCode::InvalidDpopProof,
                    "the DPoP header is not visible ASCII",
                )
            })
        })
        .transpose()
}

/// Checks the request's DPoP proof, if it sent one, for `method` on `path` (and, for resource
/// requests, `access_token`): RFC 9449 §4.3, the server's nonce when required, and no replay.
pub async fn check(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    access_token: Option<&str>,
) -> Result<Option<VerifiedProof>, OAuthError> {
    let Some(proof) = proof_header(headers)? else {
        return Ok(None);
    };
    let url = state.issuer.url_for(path);
    let nonces = state.dpop_require_nonce.then(|| accepted_nonces(state));
    let verified = verify_proof(
        proof,
        &Expected {
            method,
            url: &url,
            access_token,
            nonces: nonces.as_deref(),
            now: state.now().0,
        },
    )
    .map_err(|error| match error {
        ProofError::Invalid(reason) => OAuthError::new(ErrorCode::InvalidDpopProof, reason),
        ProofError::UseNonce => OAuthError::new(
            ErrorCode::UseDpopNonce,
            "this server requires a nonce in DPoP proofs: use the one in DPoP-Nonce",
        ),
    })?;
    let window = std::time::Duration::from_secs(
        u64::try_from(MAX_AGE_SECS + FUTURE_SKEW_SECS).unwrap_or(360),
    );
    let seen = state
        .cluster
        .hit(&format!("dpop:{}:{}", verified.jkt, verified.jti), window)
        .await;
    if seen.count > 1 {
        return Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "this DPoP proof was used before (RFC 9449 §11.1: jti is single-use)",
        ));
    }
    Ok(Some(verified))
}
