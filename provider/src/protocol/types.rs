//! Protocol newtypes, named after the RFC parameters they carry.
//!
//! Secret-bearing types (`AuthorizationCode`, `RefreshToken`, `CodeVerifier`, `ClientSecret`,
//! `Password`, `OpaqueToken`) print as `TypeName([redacted])`, have no `Display`, and are
//! compared in constant time.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::protocol::error::OAuthError;

/// Seconds since the Unix epoch. The protocol core never reads the clock: callers pass `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// `self + seconds`.
    pub fn plus(self, seconds: u64) -> UnixTime {
        UnixTime(
            self.0
                .saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX)),
        )
    }
}

/// Token and session lifetimes, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    /// Authorization codes (RFC 6749 §4.1.2 recommends at most 10 minutes).
    pub code: u64,
    /// Access tokens.
    pub access_token: u64,
    /// ID tokens.
    pub id_token: u64,
    /// Refresh tokens (idle: each rotation starts it again).
    pub refresh_token: u64,
    /// A grant's refresh tokens at most, from the user's sign-in (rotation does not extend it).
    pub refresh_token_max: u64,
    /// SSO sessions.
    pub session: u64,
    /// Login/consent interactions.
    pub interaction: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            code: 600,
            access_token: 600,
            id_token: 600,
            refresh_token: 14 * 24 * 3600,
            refresh_token_max: 30 * 24 * 3600,
            session: 8 * 3600,
            interaction: 900,
        }
    }
}

/// RFC 6749 §2.2 client identifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// Accepts 1..=255 visible ASCII characters (RFC 6749 App. A.1 VSCHAR).
    pub fn parse(raw: &str) -> Result<Self, OAuthError> {
        let valid =
            !raw.is_empty() && raw.len() <= 255 && raw.bytes().all(|b| (0x20..=0x7e).contains(&b));
        if valid {
            Ok(ClientId(raw.to_owned()))
        } else {
            Err(OAuthError::invalid_request("client_id is malformed"))
        }
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// OIDC Core §2 issuer identifier: an https URL (http only when explicitly allowed) with no
/// query or fragment and no trailing slash.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Issuer {
    text: String,
    https: bool,
}

impl Issuer {
    /// Parses an issuer URL. Plain http needs `allow_insecure_http` (dev mode, loopback tests).
    pub fn parse(raw: &str, allow_insecure_http: bool) -> Result<Self, &'static str> {
        let url = url::Url::parse(raw).map_err(|_| "issuer is not an absolute URL")?;
        match url.scheme() {
            "https" => {}
            "http" if allow_insecure_http => {}
            "http" => {
                return Err("issuer must use https (pass --allow-insecure-http for local testing)");
            }
            _ => return Err("issuer must be an https URL"),
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("issuer must not have a query or fragment");
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("issuer must have a host");
        }
        Ok(Issuer {
            text: raw.trim_end_matches('/').to_owned(),
            // The parsed scheme: `HTTPS://` is https too (schemes are case-insensitive).
            https: url.scheme() == "https",
        })
    }

    /// The issuer as text (no trailing slash).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `issuer + path` (path starts with `/`).
    pub fn url_for(&self, path: &str) -> String {
        format!("{}{}", self.text, path)
    }

    /// True when the issuer's scheme is https (in any case), which decides the `Secure` and
    /// `__Host-` cookie forms and HSTS.
    pub fn is_https(&self) -> bool {
        self.https
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// OIDC Core §2 `sub`: a stable, opaque user id (never the login name).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Subject(pub String);

impl Subject {
    /// The subject as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 digest of a high-entropy secret, base64url: what the store keeps instead of the
/// secret itself (codes, refresh tokens, session ids, client secrets).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretDigest(pub String);

impl SecretDigest {
    /// Digests a secret.
    pub fn of(secret: &str) -> Self {
        SecretDigest(URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes())))
    }

    /// Constant-time comparison with the digest of `secret`.
    pub fn matches(&self, secret: &str) -> bool {
        let candidate = Self::of(secret);
        self.0.as_bytes().ct_eq(candidate.0.as_bytes()).into()
    }

    /// The digest as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        pub struct $name(String);

        impl $name {
            /// Wraps a received value.
            pub fn new(value: String) -> Self {
                $name(value)
            }

            /// The secret text; use only to put it on the wire or digest it.
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// The digest under which the store keeps it.
            pub fn digest(&self) -> SecretDigest {
                SecretDigest::of(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
            }
        }
    };
}

secret_type!(
    /// RFC 6749 §4.1.2 authorization code.
    AuthorizationCode
);
secret_type!(
    /// RFC 6749 §1.5 refresh token.
    RefreshToken
);
secret_type!(
    /// RFC 6749 §2.3.1 client secret.
    ClientSecret
);
secret_type!(
    /// A user's password, as typed into the login form.
    Password
);
secret_type!(
    /// An opaque random handle: SSO session ids, interaction CSRF tokens.
    OpaqueToken
);

/// Encodes 32 random bytes as a 43-character base64url string (256 bits of entropy).
pub fn encode_random(bytes: [u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl AuthorizationCode {
    /// A fresh code from 32 random bytes supplied by the caller.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        AuthorizationCode(encode_random(bytes))
    }
}

impl RefreshToken {
    /// A fresh refresh token from 32 random bytes supplied by the caller.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        RefreshToken(encode_random(bytes))
    }
}

impl OpaqueToken {
    /// A fresh handle from 32 random bytes supplied by the caller.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        OpaqueToken(encode_random(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_debug_redacted() {
        let code = AuthorizationCode::new("SplxlOBeZQQYbYS6WxSbIA".into());
        assert_eq!(format!("{code:?}"), "AuthorizationCode([redacted])");
        let password = Password::new("hunter2".into());
        assert_eq!(format!("{password:?}"), "Password([redacted])");
    }

    #[test]
    fn digest_matches_only_its_secret() {
        let digest = SecretDigest::of("demo-web-secret");
        assert!(digest.matches("demo-web-secret"));
        assert!(!digest.matches("demo-web-secreT"));
        assert!(!digest.matches(""));
        assert_eq!(digest.as_str().len(), 43);
    }

    #[test]
    fn issuer_rules() {
        let cases: &[(&str, bool, Result<&str, ()>)] = &[
            (
                "https://id.example.com",
                false,
                Ok("https://id.example.com"),
            ),
            (
                "https://id.example.com/",
                false,
                Ok("https://id.example.com"),
            ),
            (
                "https://id.example.com/tenant",
                false,
                Ok("https://id.example.com/tenant"),
            ),
            ("http://127.0.0.1:8080", false, Err(())),
            ("http://127.0.0.1:8080", true, Ok("http://127.0.0.1:8080")),
            ("https://id.example.com?x=1", false, Err(())),
            ("https://id.example.com#f", false, Err(())),
            ("ftp://id.example.com", true, Err(())),
            ("not a url", true, Err(())),
        ];
        for (raw, insecure, expected) in cases {
            let got = Issuer::parse(raw, *insecure)
                .map(|issuer| issuer.as_str().to_owned())
                .map_err(|_| ());
            assert_eq!(got, expected.map(str::to_owned), "{raw}");
        }
    }

    #[test]
    fn client_id_rules() {
        assert!(ClientId::parse("demo-web").is_ok());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("tab\there").is_err());
        assert!(ClientId::parse(&"x".repeat(256)).is_err());
    }
}

/// Optional protocol features: advertised in discovery, registrable by clients and accepted in
/// requests only when on (`dev` turns every one on; `serve` only what its configuration says).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// RFC 9101 signed request objects (`request`, by value or pushed through PAR).
    pub request_objects: bool,
    /// OIDC Core §5.3.2 / §10.2: signed UserInfo responses and ID tokens and UserInfo
    /// responses encrypted to the client (JWE).
    pub encrypted_responses: bool,
    /// OpenID Connect Back-Channel Logout 1.0: `sid` in ID tokens, logout tokens POSTed to
    /// every client of an ended session that registered a `backchannel_logout_uri`.
    pub backchannel_logout: bool,
}

impl Features {
    /// Every feature on.
    pub const ALL: Features = Features {
        request_objects: true,
        encrypted_responses: true,
        backchannel_logout: true,
    };
}
