//! `state` (RFC 6749 §10.12) and `nonce` (OIDC Core §3.1.2.1): two random values the client
//! invents per sign-in and checks when the answer comes back.
//!
//! - `state` travels through the browser and comes back on the redirect. The client keeps its
//!   copy in the browser's session, so a callback that was not started by *this* browser (login
//!   CSRF: an attacker making you sign in to *their* account) is refused.
//! - `nonce` goes to the provider, which copies it into the ID token. A token minted for another
//!   sign-in (a replayed or injected ID token) carries another nonce and is refused.
//!
//! Both are 32 random bytes (256 bits) from a CSPRNG, base64url-encoded, and compared in
//! constant time.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// 32 random bytes from the thread-local CSPRNG, base64url without padding (43 characters).
fn random_value() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Constant-time string comparison: a timing side channel must not reveal how many leading
/// characters of a guess were right.
fn equals(expected: &str, presented: &str) -> bool {
    expected.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// RFC 6749 §4.1.1 `state`: binds the authorization response to the browser that asked for it.
#[derive(Clone, PartialEq, Eq)]
pub struct State(String);

impl State {
    /// A fresh random state.
    pub fn generate() -> Self {
        State(random_value())
    }

    /// Wraps a value (e.g. read back from a store).
    pub fn from_string(value: String) -> Self {
        State(value)
    }

    /// The value sent in the authorization request.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// RFC 6749 §10.12: does the `state` that came back equal ours?
    pub fn matches(&self, presented: &str) -> bool {
        equals(&self.0, presented)
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("State([redacted])")
    }
}

/// OIDC Core §3.1.2.1 `nonce`: binds the ID token to this sign-in.
#[derive(Clone, PartialEq, Eq)]
pub struct Nonce(String);

impl Nonce {
    /// A fresh random nonce.
    pub fn generate() -> Self {
        Nonce(random_value())
    }

    /// Wraps a value (e.g. in tests).
    pub fn from_string(value: String) -> Self {
        Nonce(value)
    }

    /// The value sent in the authorization request.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// OIDC Core §3.1.3.7 step 11: does the ID token's `nonce` equal ours?
    pub fn matches(&self, presented: &str) -> bool {
        equals(&self.0, presented)
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonce([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_are_long_random_and_url_safe() {
        let states: Vec<State> = (0..50).map(|_| State::generate()).collect();
        for state in &states {
            assert_eq!(state.as_str().len(), 43);
            assert!(
                state
                    .as_str()
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
            );
        }
        let mut distinct: Vec<&str> = states.iter().map(State::as_str).collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), states.len());
        assert_ne!(Nonce::generate().as_str(), Nonce::generate().as_str());
    }

    #[test]
    fn state_check_table() {
        let state = State::from_string("abc123".into());
        let check = |presented: &str, expected: bool| {
            assert_eq!(state.matches(presented), expected, "{presented:?}");
        };
        check("abc123", true);
        check("abc12", false);
        check("abc1234", false);
        check("ABC123", false);
        check("", false);
    }

    #[test]
    fn nonce_check_table() {
        let nonce = Nonce::from_string("n-0S6_WzA2Mj".into());
        let check = |presented: &str, expected: bool| {
            assert_eq!(nonce.matches(presented), expected, "{presented:?}");
        };
        check("n-0S6_WzA2Mj", true);
        check("n-0S6_WzA2Mk", false);
        check("", false);
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(format!("{:?}", State::generate()), "State([redacted])");
        assert_eq!(format!("{:?}", Nonce::generate()), "Nonce([redacted])");
    }
}
