//! RFC 9449 DPoP proofs: making one ([`SigningKey::dpop_proof`], for clients and tests) and
//! checking one ([`verify_proof`], for the provider's token and UserInfo endpoints and for
//! resource servers). Pure: the caller passes the time, and keeps the replay cache of `jti`s.
//!
//! A proof is a JWS with `typ: dpop+jwt`, an asymmetric `alg`, and the public key itself in
//! its header (`jwk`). It binds one HTTP request: `htm` (the method), `htu` (the URL without
//! query and fragment), `iat`, a unique `jti`, for resource requests `ath` (the hash of the
//! access token) and, when the server asks for one, its `nonce`. The key's RFC 7638 thumbprint
//! (`jkt`) is what an access token is bound to (`cnf.jkt`).

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::jws::b64url;
use crate::{Error, SigningKey};

/// The JWS `typ` of a proof.
pub const PROOF_TYPE: &str = "dpop+jwt";
/// The proof algorithms accepted (advertised as `dpop_signing_alg_values_supported`).
pub const ALGORITHMS: [&str; 3] = ["ES256", "RS256", "EdDSA"];
/// A proof is accepted this long after its `iat` (the replay cache keeps `jti`s as long).
pub const MAX_AGE_SECS: i64 = 300;
/// Clock skew tolerated for an `iat` in the future.
pub const FUTURE_SKEW_SECS: i64 = 60;
/// Longest proof accepted (bytes).
pub const MAX_PROOF_LEN: usize = 8 * 1024;

/// What the request a proof must match looks like.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The request URL as the client addressed it (query and fragment are ignored).
    pub url: &'a str,
    /// Resource requests: the access token, whose hash must be `ath`.
    pub access_token: Option<&'a str>,
    /// The nonces the server accepts now; `None` when it does not require one.
    pub nonces: Option<&'a [String]>,
    /// The current time (seconds since the epoch).
    pub now: i64,
}

/// A proof that checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedProof {
    /// RFC 7638 SHA-256 thumbprint of the proof's key (`cnf.jkt`).
    pub jkt: String,
    /// The proof's unique id: refuse it when seen before.
    pub jti: String,
    /// When it was made.
    pub iat: i64,
}

/// Why a proof was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// RFC 9449 `invalid_dpop_proof`, with the reason.
    #[error("{0}")]
    Invalid(&'static str),
    /// RFC 9449 §8 `use_dpop_nonce`: the server requires a (fresh) nonce.
    #[error("a DPoP nonce from the server is required")]
    UseNonce,
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// RFC 9449 §4.3: checks `proof` against the request.
pub fn verify_proof(proof: &str, expected: &Expected<'_>) -> Result<VerifiedProof, ProofError> {
    let invalid = ProofError::Invalid;
    if proof.len() > MAX_PROOF_LEN {
        return Err(invalid("the DPoP proof is too long"));
    }
    let header = jsonwebtoken::decode_header(proof)
        .map_err(|_| invalid("the DPoP proof is not a JWS with a valid header"))?;
    if header.typ.as_deref() != Some(PROOF_TYPE) {
        return Err(invalid("the DPoP proof's typ must be dpop+jwt"));
    }
    if !matches!(
        header.alg,
        Algorithm::ES256 | Algorithm::RS256 | Algorithm::EdDSA
    ) {
        return Err(invalid(
            "the DPoP proof must be signed ES256, RS256 or EdDSA",
        ));
    }
    let jwk = header.jwk.ok_or(invalid(
        "the DPoP proof's header must carry the public key (jwk)",
    ))?;
    if has_private_members(&jwk) {
        return Err(invalid(
            "the DPoP proof's jwk must not contain a private key",
        ));
    }
    let key_fits = matches!(
        (&jwk.algorithm, header.alg),
        (AlgorithmParameters::EllipticCurve(_), Algorithm::ES256)
            | (AlgorithmParameters::RSA(_), Algorithm::RS256)
            | (AlgorithmParameters::OctetKeyPair(_), Algorithm::EdDSA)
    );
    let key = DecodingKey::from_jwk(&jwk)
        .ok()
        .filter(|_| key_fits)
        .ok_or(invalid("the DPoP proof's jwk does not fit its alg"))?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<ProofClaims>(proof, &key, &validation)
        .map_err(|_| invalid("the DPoP proof's signature does not verify"))?
        .claims;
    let jti = claims
        .jti
        .filter(|jti| !jti.is_empty() && jti.len() <= 256)
        .ok_or(invalid("the DPoP proof needs a jti"))?;
    if claims.htm.as_deref() != Some(expected.method) {
        return Err(invalid("the DPoP proof's htm is not this request's method"));
    }
    let htu_matches = claims
        .htu
        .as_deref()
        .and_then(normalize_htu)
        .zip(normalize_htu(expected.url))
        .is_some_and(|(got, want)| got == want);
    if !htu_matches {
        return Err(invalid("the DPoP proof's htu is not this request's URL"));
    }
    let iat = claims.iat.ok_or(invalid("the DPoP proof needs an iat"))?;
    if iat > expected.now + FUTURE_SKEW_SECS {
        return Err(invalid("the DPoP proof's iat is in the future"));
    }
    if iat < expected.now - MAX_AGE_SECS {
        return Err(invalid("the DPoP proof is too old"));
    }
    match expected.access_token {
        Some(token) if claims.ath.as_deref() != Some(ath(token).as_str()) => {
            return Err(invalid(
                "the DPoP proof's ath is not the hash of the access token",
            ));
        }
        _ => {}
    }
    if let Some(nonces) = expected.nonces
        && !claims
            .nonce
            .as_ref()
            .is_some_and(|nonce| nonces.contains(nonce))
    {
        return Err(ProofError::UseNonce);
    }
    let jkt = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| invalid("the DPoP proof's jwk has no thumbprint"))?;
    Ok(VerifiedProof { jkt, jti, iat })
}

/// RFC 9449 §4.2 `ath`: base64url(SHA-256(access token)).
pub fn ath(access_token: &str) -> String {
    b64url(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        access_token.as_bytes(),
    ))
}

/// RFC 9449 §4.3 with RFC 3986 §6 normalisation: scheme and host lower-cased, the default
/// port dropped, query and fragment removed. `None` when `url` is not an absolute http(s) URL.
pub fn normalize_htu(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}{path}"))
}

fn has_private_members(jwk: &Jwk) -> bool {
    serde_json::to_value(jwk).is_ok_and(|value| {
        ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .any(|member| value.get(member).is_some())
    })
}

#[derive(Serialize)]
struct ProofHeader<'a> {
    typ: &'a str,
    alg: &'a str,
    jwk: &'a Jwk,
}

#[derive(Serialize)]
struct NewProof<'a> {
    jti: &'a str,
    htm: &'a str,
    htu: &'a str,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ath: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
}

/// What a proof is for (see [`SigningKey::dpop_proof`]).
#[derive(Clone, Copy, Debug)]
pub struct ProofRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The URL (without query).
    pub url: &'a str,
    /// For resource requests: the access token (its hash becomes `ath`).
    pub access_token: Option<&'a str>,
    /// The server's nonce, once it gave one.
    pub nonce: Option<&'a str>,
    /// A unique id.
    pub jti: &'a str,
    /// The time of the proof.
    pub iat: i64,
}

impl SigningKey {
    /// RFC 9449 §4.2: a DPoP proof for one request, signed with this key (its public JWK in
    /// the header, without `kid`, `use` and `alg`, which are not part of the key).
    pub fn dpop_proof(&self, request: &ProofRequest<'_>) -> Result<String, Error> {
        let mut jwk = self.public_jwk().clone();
        jwk.common = Default::default();
        let header = serde_json::to_vec(&ProofHeader {
            typ: PROOF_TYPE,
            alg: self.alg().as_str(),
            jwk: &jwk,
        })?;
        let claims = serde_json::to_vec(&NewProof {
            jti: request.jti,
            htm: request.method,
            htu: request.url,
            iat: request.iat,
            ath: request.access_token.map(ath),
            nonce: request.nonce,
        })?;
        let mut proof = format!("{}.{}", b64url(header), b64url(claims));
        let signature = self.sign_bytes(proof.as_bytes())?;
        proof.push('.');
        proof.push_str(&b64url(signature));
        Ok(proof)
    }

    /// The RFC 7638 thumbprint a token bound to this key carries as `cnf.jkt` (the `kid`).
    pub fn jkt(&self) -> &str {
        self.kid().as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningAlg;

    const NOW: i64 = 1_700_000_000;
    const URL: &str = "https://rs.example/api/me";

    fn proof(key: &SigningKey, change: impl FnOnce(&mut ProofRequest<'_>)) -> String {
        let mut request = ProofRequest {
            method: "GET",
            url: URL,
            access_token: Some("the-token"),
            nonce: None,
            jti: "j-1",
            iat: NOW,
        };
        change(&mut request);
        key.dpop_proof(&request).unwrap()
    }

    fn expected() -> Expected<'static> {
        Expected {
            method: "GET",
            url: URL,
            access_token: Some("the-token"),
            nonces: None,
            now: NOW,
        }
    }

    #[test]
    fn a_valid_proof_yields_the_keys_thumbprint_for_every_algorithm() {
        for alg in SigningAlg::ALL {
            let key = SigningKey::generate(alg).unwrap();
            let verified = verify_proof(&proof(&key, |_| {}), &expected()).unwrap();
            assert_eq!(
                verified.jkt,
                key.jkt(),
                "{alg:?}: the jkt is the RFC 7638 thumbprint"
            );
            assert_eq!((verified.jti.as_str(), verified.iat), ("j-1", NOW));
        }
    }

    #[test]
    fn every_mismatch_is_refused() {
        let key = SigningKey::generate(SigningAlg::ES256).unwrap();
        let cases: Vec<(String, Expected<'static>, &str)> = vec![
            (proof(&key, |r| r.method = "POST"), expected(), "htm"),
            (
                proof(&key, |r| r.url = "https://rs.example/api/notes"),
                expected(),
                "htu",
            ),
            (
                proof(&key, |r| r.url = "https://evil.example/api/me"),
                expected(),
                "htu",
            ),
            (
                proof(&key, |r| r.iat = NOW - MAX_AGE_SECS - 1),
                expected(),
                "too old",
            ),
            (
                proof(&key, |r| r.iat = NOW + FUTURE_SKEW_SECS + 1),
                expected(),
                "future",
            ),
            (
                proof(&key, |r| r.access_token = Some("another")),
                expected(),
                "ath",
            ),
            (proof(&key, |r| r.access_token = None), expected(), "ath"),
            (proof(&key, |r| r.jti = ""), expected(), "jti"),
            ("x".repeat(MAX_PROOF_LEN + 1), expected(), "too long"),
            ("garbage".into(), expected(), "header"),
            // An access token signed by the provider is not a proof (typ, jwk).
            (
                key.sign("at+jwt", &serde_json::json!({"jti": "x"}))
                    .unwrap(),
                expected(),
                "typ",
            ),
        ];
        for (proof, expected, reason) in cases {
            let error = verify_proof(&proof, &expected).unwrap_err();
            assert!(error.to_string().contains(reason), "{reason}: {error}");
        }
    }

    #[test]
    fn a_forged_or_private_key_proof_is_refused() {
        let key = SigningKey::generate(SigningAlg::ES256).unwrap();
        let other = SigningKey::generate(SigningAlg::ES256).unwrap();
        // Other key's signature under this key's header.
        let genuine = proof(&key, |_| {});
        let forged = proof(&other, |_| {});
        let (head, _) = genuine.rsplit_once('.').unwrap();
        let (_, signature) = forged.rsplit_once('.').unwrap();
        let error = verify_proof(&format!("{head}.{signature}"), &expected()).unwrap_err();
        assert!(error.to_string().contains("signature"), "{error}");
        // A header claiming a private key member.
        let (header, rest) = genuine.split_once('.').unwrap();
        let mut header: serde_json::Value =
            serde_json::from_slice(&crate::b64url_decode(header).unwrap()).unwrap();
        header["jwk"]["d"] = "AAAA".into();
        let tampered = format!("{}.{rest}", b64url(serde_json::to_vec(&header).unwrap()));
        assert!(verify_proof(&tampered, &expected()).is_err());
    }

    #[test]
    fn nonces_are_required_only_when_the_server_says() {
        let key = SigningKey::generate(SigningAlg::EdDSA).unwrap();
        let nonces = vec!["n-now".to_owned(), "n-before".to_owned()];
        let mut with_nonces = expected();
        with_nonces.nonces = Some(&nonces);
        assert_eq!(
            verify_proof(&proof(&key, |_| {}), &with_nonces),
            Err(ProofError::UseNonce)
        );
        assert_eq!(
            verify_proof(&proof(&key, |r| r.nonce = Some("stale")), &with_nonces),
            Err(ProofError::UseNonce)
        );
        assert!(verify_proof(&proof(&key, |r| r.nonce = Some("n-before")), &with_nonces).is_ok());
    }

    #[test]
    fn htu_normalisation() {
        for (a, b, same) in [
            (
                "https://RS.example:443/api/me?x=1",
                "https://rs.example/api/me",
                true,
            ),
            (
                "http://127.0.0.1:8081/api/me",
                "http://127.0.0.1:8081/api/me#f",
                true,
            ),
            (
                "https://rs.example/api/me",
                "https://rs.example/api/ME",
                false,
            ),
            ("https://rs.example:8443/x", "https://rs.example/x", false),
            ("http://rs.example/x", "https://rs.example/x", false),
        ] {
            assert_eq!(normalize_htu(a) == normalize_htu(b), same, "{a} vs {b}");
        }
        assert_eq!(normalize_htu("ftp://x/y"), None);
        assert_eq!(normalize_htu("https://user@x/y"), None);
    }
}
