//! RFC 7636 Proof Key for Code Exchange, S256 only (OAuth 2.1 §4.1.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::protocol::error::OAuthError;

/// RFC 7636 §4.2 `code_challenge` for method S256: base64url(SHA-256(verifier)), 43 characters.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Validates the authorization request's `code_challenge` + `code_challenge_method`.
    ///
    /// RFC 7636 §4.3 makes `plain` the default when the method is absent; OAuth 2.1 and this
    /// provider accept S256 only, so an absent method is refused too.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Self, OAuthError> {
        let challenge = challenge.ok_or(OAuthError::invalid_request(
            "code_challenge is required: PKCE with S256 is mandatory for every client (RFC 7636, OAuth 2.1)",
        ))?;
        match method {
            Some("S256") => {}
            Some("plain") => {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method plain is not allowed; use S256",
                ));
            }
            None => {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method is required and must be S256",
                ));
            }
            Some(_) => {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method must be S256",
                ));
            }
        }
        let well_formed = challenge.len() == 43
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(OAuthError::invalid_request(
                "code_challenge must be 43 base64url characters (S256)",
            ));
        }
        Ok(CodeChallenge(challenge.to_owned()))
    }

    /// The challenge as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 7636 §4.1 `code_verifier`: 43..=128 characters of `[A-Z] / [a-z] / [0-9] / - . _ ~`.
///
/// # Security
/// Not `Clone`, redacted `Debug`: it is a one-time secret.
pub struct CodeVerifier(String);

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

impl CodeVerifier {
    /// Checks length and alphabet (RFC 7636 §4.1).
    pub fn parse(raw: &str) -> Result<Self, OAuthError> {
        let well_formed = (43..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if well_formed {
            Ok(CodeVerifier(raw.to_owned()))
        } else {
            Err(OAuthError::invalid_grant(
                "code_verifier must be 43 to 128 characters from the RFC 7636 alphabet",
            ))
        }
    }

    /// RFC 7636 §4.2: the S256 challenge of this verifier.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// RFC 7636 §4.6: the server recomputes the challenge from the verifier and compares, in
/// constant time, with the one stored with the code.
pub fn verify_pkce(challenge: &CodeChallenge, verifier: &CodeVerifier) -> Result<(), OAuthError> {
    let computed = verifier.challenge();
    if computed.as_bytes().ct_eq(challenge.0.as_bytes()).into() {
        Ok(())
    } else {
        Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge (RFC 7636 §4.6)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const RFC7636_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC7636_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = CodeVerifier::parse(RFC7636_VERIFIER).unwrap();
        assert_eq!(verifier.challenge(), RFC7636_CHALLENGE);
        let challenge = CodeChallenge::parse(Some(RFC7636_CHALLENGE), Some("S256")).unwrap();
        assert!(verify_pkce(&challenge, &verifier).is_ok());
    }

    #[test]
    fn wrong_verifier_is_invalid_grant() {
        let challenge = CodeChallenge::parse(Some(RFC7636_CHALLENGE), Some("S256")).unwrap();
        let other = CodeVerifier::parse(&"a".repeat(43)).unwrap();
        assert_eq!(
            verify_pkce(&challenge, &other).unwrap_err().code,
            crate::protocol::ErrorCode::InvalidGrant
        );
    }

    #[test]
    fn challenge_parsing_table() {
        let ok = Some(RFC7636_CHALLENGE);
        let cases: &[(Option<&str>, Option<&str>, bool)] = &[
            (ok, Some("S256"), true),
            (ok, Some("plain"), false),
            (ok, None, false),
            (ok, Some("s256"), false),
            (None, Some("S256"), false),
            (Some("short"), Some("S256"), false),
            (
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="),
                Some("S256"),
                false,
            ),
        ];
        for (challenge, method, expected) in cases {
            assert_eq!(
                CodeChallenge::parse(*challenge, *method).is_ok(),
                *expected,
                "{challenge:?} {method:?}"
            );
        }
    }

    #[test]
    fn verifier_parsing_table() {
        let cases: &[(&str, bool)] = &[
            (RFC7636_VERIFIER, true),
            (&"a".repeat(42), false),
            (&"a".repeat(43), true),
            (&"~._-".repeat(32), true),
            (&"a".repeat(129), false),
            ("dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk", false),
        ];
        for (raw, expected) in cases {
            assert_eq!(CodeVerifier::parse(raw).is_ok(), *expected, "{raw}");
        }
    }
}
