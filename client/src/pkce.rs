//! RFC 7636 Proof Key for Code Exchange (PKCE), written out step by step.
//!
//! The idea in two sentences: before sending the browser to the provider, the client invents a
//! secret (the *code verifier*) and sends only its SHA-256 hash (the *code challenge*). When it
//! later trades the authorization code for tokens it shows the secret itself, so whoever stole
//! the code on the way back (a malicious app, a log file, a proxy) cannot use it.
//!
//! ```text
//! code_verifier  = 43..128 random characters from A-Z a-z 0-9 - . _ ~     (RFC 7636 §4.1)
//! code_challenge = BASE64URL-ENCODE( SHA256( ASCII(code_verifier) ) )     (RFC 7636 §4.2)
//! ```

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// RFC 7636 §4.1: the verifier uses only these 66 "unreserved" characters (RFC 3986 §2.3).
pub const VERIFIER_ALPHABET: &[u8; 66] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// RFC 7636 §4.1: the shortest allowed verifier.
pub const MIN_VERIFIER_LEN: usize = 43;
/// RFC 7636 §4.1: the longest allowed verifier.
pub const MAX_VERIFIER_LEN: usize = 128;
/// The length we generate: 64 characters carry about 386 bits of entropy, well above the
/// 256 bits RFC 7636 §7.1 recommends.
pub const DEFAULT_VERIFIER_LEN: usize = 64;

/// The only challenge method we send. `plain` (the verifier itself) protects nothing when the
/// authorization request can be observed, and OAuth 2.1 servers refuse it.
pub const CHALLENGE_METHOD: &str = "S256";

/// Why a string is not a valid code verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    /// Shorter than 43 or longer than 128 characters.
    #[error("a code_verifier has 43 to 128 characters (RFC 7636 §4.1)")]
    Length,
    /// A character outside the unreserved set.
    #[error("a code_verifier uses only A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)")]
    Alphabet,
}

/// RFC 7636 §4.1 `code_verifier`: the client's secret for one authorization.
///
/// # Security
/// It must stay inside the client until the token request: `Debug` prints `[redacted]`, there
/// is no `Display`, and it is not `Clone` so it cannot be copied around by accident.
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// Generates a fresh verifier of [`DEFAULT_VERIFIER_LEN`] characters.
    pub fn generate() -> Self {
        Self::generate_with_len(DEFAULT_VERIFIER_LEN)
    }

    /// Generates a verifier of `len` characters, clamped into 43..=128.
    ///
    /// Each character is chosen uniformly from the 66-character alphabet with random bytes
    /// from a CSPRNG (`rand::fill` uses the thread-local ChaCha generator seeded by the OS).
    pub fn generate_with_len(len: usize) -> Self {
        let len = len.clamp(MIN_VERIFIER_LEN, MAX_VERIFIER_LEN);
        let mut verifier = String::with_capacity(len);
        // 66 does not divide 256, so `byte % 66` would pick the first 58 characters a little
        // more often. Rejection sampling removes that bias: we only use bytes below 198
        // (3 × 66) and throw the others away.
        const ACCEPT_BELOW: u8 = 3 * 66;
        let mut random_bytes = [0u8; 64];
        while verifier.len() < len {
            rand::fill(&mut random_bytes);
            for byte in random_bytes {
                if verifier.len() == len {
                    break;
                }
                if byte < ACCEPT_BELOW {
                    let index = usize::from(byte % 66);
                    verifier.push(char::from(VERIFIER_ALPHABET[index]));
                }
            }
        }
        CodeVerifier(verifier)
    }

    /// Checks a verifier received from elsewhere (for tests and for the RFC vector).
    pub fn parse(text: &str) -> Result<Self, PkceError> {
        if !(MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN).contains(&text.len()) {
            return Err(PkceError::Length);
        }
        if !text.bytes().all(|byte| VERIFIER_ALPHABET.contains(&byte)) {
            return Err(PkceError::Alphabet);
        }
        Ok(CodeVerifier(text.to_owned()))
    }

    /// The verifier itself, for the one place it is sent: the token request (RFC 7636 §4.5).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its length in characters (safe to show).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a verifier has at least 43 characters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// RFC 7636 §4.2: the S256 challenge of this verifier.
    pub fn challenge(&self) -> CodeChallenge {
        CodeChallenge::s256(self)
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

/// RFC 7636 §4.2 `code_challenge`: safe to send through the browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`, one step per line.
    pub fn s256(verifier: &CodeVerifier) -> Self {
        // Step 1: the verifier is ASCII by construction, so its UTF-8 bytes are its ASCII bytes.
        let ascii_bytes = verifier.expose().as_bytes();
        // Step 2: SHA-256 gives 32 bytes.
        let digest: [u8; 32] = Sha256::digest(ascii_bytes).into();
        // Step 3: base64url without '=' padding (RFC 7636 Appendix A) gives 43 characters.
        CodeChallenge(URL_SAFE_NO_PAD.encode(digest))
    }

    /// The challenge text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B: the example verifier and its S256 challenge.
    const RFC7636_APPENDIX_B_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC7636_APPENDIX_B_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = CodeVerifier::parse(RFC7636_APPENDIX_B_VERIFIER).unwrap();
        assert_eq!(verifier.challenge().as_str(), RFC7636_APPENDIX_B_CHALLENGE);
    }

    #[test]
    fn generated_verifiers_have_a_valid_length_and_alphabet() {
        for requested in [0, 1, 42, 43, 64, 100, 128, 129, 500] {
            let verifier = CodeVerifier::generate_with_len(requested);
            assert!(
                (MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN).contains(&verifier.len()),
                "{requested} -> {}",
                verifier.len()
            );
            assert_eq!(
                verifier.len(),
                requested.clamp(MIN_VERIFIER_LEN, MAX_VERIFIER_LEN)
            );
            assert!(CodeVerifier::parse(verifier.expose()).is_ok());
        }
        let default = CodeVerifier::generate();
        assert_eq!(default.len(), DEFAULT_VERIFIER_LEN);
        assert!(
            default
                .expose()
                .bytes()
                .all(|byte| VERIFIER_ALPHABET.contains(&byte))
        );
    }

    #[test]
    fn generated_verifiers_differ_and_use_the_whole_alphabet() {
        let first = CodeVerifier::generate();
        let second = CodeVerifier::generate();
        assert_ne!(first.expose(), second.expose());
        // 200 verifiers × 128 characters: every one of the 66 characters shows up.
        let mut seen = [false; 256];
        for _ in 0..200 {
            for byte in CodeVerifier::generate_with_len(128).expose().bytes() {
                seen[usize::from(byte)] = true;
            }
        }
        for byte in VERIFIER_ALPHABET {
            assert!(
                seen[usize::from(*byte)],
                "{} never generated",
                char::from(*byte)
            );
        }
    }

    #[test]
    fn parse_table() {
        let check = |input: &str, expected: Result<(), PkceError>| {
            assert_eq!(
                CodeVerifier::parse(input).map(|_| ()),
                expected,
                "{input:?}"
            );
        };
        check(&"a".repeat(43), Ok(()));
        check(&"~".repeat(128), Ok(()));
        check(&"a".repeat(42), Err(PkceError::Length));
        check(&"a".repeat(129), Err(PkceError::Length));
        check(&format!("{}+", "a".repeat(42)), Err(PkceError::Alphabet));
        check(&format!("{}=", "a".repeat(42)), Err(PkceError::Alphabet));
        check(&format!("{}é", "a".repeat(42)), Err(PkceError::Alphabet));
    }

    #[test]
    fn challenge_is_43_base64url_characters() {
        let challenge = CodeVerifier::generate().challenge();
        assert_eq!(challenge.as_str().len(), 43);
        assert!(
            challenge
                .as_str()
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        );
    }

    #[test]
    fn debug_never_shows_the_verifier() {
        let verifier = CodeVerifier::parse(RFC7636_APPENDIX_B_VERIFIER).unwrap();
        assert_eq!(format!("{verifier:?}"), "CodeVerifier([redacted])");
    }
}
