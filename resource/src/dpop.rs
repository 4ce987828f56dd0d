//! RFC 9449 §7 at a resource server: a DPoP-bound access token (`cnf.jkt`) is accepted only
//! with the `DPoP` scheme and a fresh proof of that key, for this request (`htm`, `htu`), this
//! token (`ath`), seen once (`jti`).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::HeaderMap;
use keys::dpop::{Expected, FUTURE_SKEW_SECS, MAX_AGE_SECS, verify_proof};

use crate::Error;

/// Whether this resource server takes Bearer tokens as well as DPoP ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DpopMode {
    /// Bearer tokens, and DPoP-bound tokens with their proofs (the default).
    #[default]
    Allowed,
    /// Only DPoP-bound tokens with their proofs.
    Required,
}

/// Remembered proof ids at most; when full, the expired ones are dropped first.
const MAX_SEEN: usize = 100_000;

/// The `jti`s of accepted proofs, until they could no longer be accepted anyway.
#[derive(Debug, Default)]
pub(crate) struct SeenProofs(Mutex<HashMap<String, i64>>);

impl SeenProofs {
    /// `true` the first time `key` is seen before `expires`.
    fn first_use(&self, key: String, now: i64, expires: i64) -> bool {
        let mut seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= MAX_SEEN {
            seen.retain(|_, until| *until > now);
            if seen.len() >= MAX_SEEN {
                tracing::warn!("DPoP replay cache full of live proofs; forgetting them");
                seen.clear();
            }
        }
        match seen.get(&key) {
            Some(until) if *until > now => false,
            _ => {
                seen.insert(key, expires);
                true
            }
        }
    }
}

/// Checks the request's proof against the token's key `jkt`; `url` is this request's URL as
/// the client addressed it.
pub(crate) fn check_proof(
    seen: &SeenProofs,
    headers: &HeaderMap,
    method: &str,
    url: &str,
    token: &str,
    jkt: &str,
    now: i64,
) -> Result<(), Error> {
    let mut proofs = headers.get_all("dpop").iter();
    let proof = proofs.next().ok_or(Error::InvalidDpopProof(
        "the DPoP header with a proof is missing",
    ))?;
    if proofs.next().is_some() {
        return Err(Error::InvalidDpopProof("send exactly one DPoP header"));
    }
    let proof = proof
        .to_str()
        .map_err(|_| Error::InvalidDpopProof("the DPoP header is not visible ASCII"))?;
    let verified = verify_proof(
        proof,
        &Expected {
            method,
            url,
            access_token: Some(token),
            nonces: None,
            now,
        },
    )
    .map_err(|error| match error {
        keys::dpop::ProofError::Invalid(reason) => Error::InvalidDpopProof(reason),
        keys::dpop::ProofError::UseNonce => Error::InvalidDpopProof("a nonce is required"),
    })?;
    if verified.jkt != jkt {
        return Err(Error::InvalidDpopProof(
            "the proof is made with another key than the token is bound to",
        ));
    }
    let expires = verified.iat + MAX_AGE_SECS + FUTURE_SKEW_SECS;
    if !seen.first_use(format!("{}:{}", verified.jkt, verified.jti), now, expires) {
        return Err(Error::InvalidDpopProof("this proof was used before"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keys::dpop::ProofRequest;
    use keys::{SigningAlg, SigningKey};

    const URL: &str = "https://api.example/api/me";
    const NOW: i64 = 1_700_000_000;

    fn headers(proofs: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for proof in proofs {
            headers.append("dpop", proof.parse().unwrap());
        }
        headers
    }

    #[test]
    fn one_fresh_proof_of_the_bound_key_once() {
        let key = SigningKey::generate(SigningAlg::ES256).unwrap();
        let other = SigningKey::generate(SigningAlg::ES256).unwrap();
        let proof = |key: &SigningKey, jti: &str| {
            key.dpop_proof(&ProofRequest {
                method: "GET",
                url: URL,
                access_token: Some("tok"),
                nonce: None,
                jti,
                iat: NOW,
            })
            .unwrap()
        };
        let seen = SeenProofs::default();
        let check =
            |headers: &HeaderMap| check_proof(&seen, headers, "GET", URL, "tok", key.jkt(), NOW);
        let first = proof(&key, "a");
        assert!(check(&headers(&[&first])).is_ok());
        let replay = check(&headers(&[&first])).unwrap_err();
        assert!(replay.to_string().contains("used before"), "{replay}");
        assert!(
            check(&headers(&[]))
                .unwrap_err()
                .to_string()
                .contains("missing")
        );
        let second = proof(&key, "b");
        assert!(
            check(&headers(&[&second, &second]))
                .unwrap_err()
                .to_string()
                .contains("exactly one")
        );
        let wrong = check(&headers(&[&proof(&other, "c")])).unwrap_err();
        assert!(wrong.to_string().contains("another key"), "{wrong}");
        assert!(
            check_proof(
                &seen,
                &headers(&[&proof(&key, "d")]),
                "POST",
                URL,
                "tok",
                key.jkt(),
                NOW
            )
            .is_err()
        );
    }
}
