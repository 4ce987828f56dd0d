//! The provider's two browser cookies, both random 256-bit handles whose digests the store keeps:
//! - `oidc_session`: the single sign-on session;
//! - `oidc_browser`: binds an authorization interaction to the browser that started it, so a
//!   login or consent form cannot be completed from another browser (login CSRF).
//!
//! Both are `HttpOnly`, `SameSite=Lax` (the redirect back from a client must carry the session)
//! and, whenever the issuer is https, `Secure` with the `__Host-` name prefix (RFC 6265bis
//! §4.1.3.2: the browser then refuses the cookie unless it is Secure, host-only and `Path=/`, so
//! a sibling subdomain or a plain-http page cannot plant or overwrite it).

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::protocol::types::{Issuer, OpaqueToken, SecretDigest};

/// A cookie's name in its two forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieName {
    plain: &'static str,
    host_only: &'static str,
}

impl CookieName {
    /// The name to use under `issuer`: `__Host-` prefixed when it is https.
    pub fn for_issuer(self, issuer: &Issuer) -> &'static str {
        if issuer.is_https() {
            self.host_only
        } else {
            self.plain
        }
    }
}

/// SSO session cookie.
pub const SESSION: CookieName = CookieName {
    plain: "oidc_session",
    host_only: "__Host-oidc_session",
};
/// Browser-binding cookie.
pub const BROWSER: CookieName = CookieName {
    plain: "oidc_browser",
    host_only: "__Host-oidc_browser",
};
/// Device cookie: the accounts this browser signed in to (login throttling).
pub const DEVICE: CookieName = CookieName {
    plain: "oidc_device",
    host_only: "__Host-oidc_device",
};

/// The digest of a cookie's value, if present.
pub fn digest(jar: &CookieJar, name: CookieName, issuer: &Issuer) -> Option<SecretDigest> {
    jar.get(name.for_issuer(issuer))
        .map(|cookie| SecretDigest::of(cookie.value()))
}

/// A cookie's value, if present.
pub fn value(jar: &CookieJar, name: CookieName, issuer: &Issuer) -> Option<String> {
    jar.get(name.for_issuer(issuer))
        .map(|cookie| cookie.value().to_owned())
}

/// Builds a cookie with our flags. It is a browser-session cookie (no `Max-Age`): the server
/// side enforces the session lifetime, and closing the browser ends it early.
pub fn build(name: CookieName, value: &OpaqueToken, issuer: &Issuer) -> Cookie<'static> {
    with_flags(name, value.expose().to_owned(), issuer)
}

/// A cookie with our flags (`Path=/`, `HttpOnly`, `SameSite=Lax`, `Secure` under https).
pub fn with_flags(name: CookieName, value: String, issuer: &Issuer) -> Cookie<'static> {
    Cookie::build((name.for_issuer(issuer), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(issuer.is_https())
        .build()
}

/// A removal cookie for `name` (with the same flags: a `__Host-` cookie is removed only by a
/// Secure one).
pub fn removal(name: CookieName, issuer: &Issuer) -> Cookie<'static> {
    with_flags(name, String::new(), issuer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_issuers_get_host_only_secure_cookies() {
        let token = OpaqueToken::from_random([1; 32]);
        for (issuer, name, secure) in [
            ("http://127.0.0.1:8080", "oidc_session", false),
            ("https://id.example.com", "__Host-oidc_session", true),
            ("HTTPS://id.example.com", "__Host-oidc_session", true),
        ] {
            let issuer = Issuer::parse(issuer, true).unwrap();
            let cookie = build(SESSION, &token, &issuer);
            assert_eq!(cookie.name(), name);
            assert_eq!(cookie.secure(), Some(secure), "{issuer}");
            assert_eq!(cookie.path(), Some("/"));
            assert_eq!(cookie.domain(), None, "host-only");
            assert_eq!(cookie.http_only(), Some(true));
            let removal = removal(SESSION, &issuer);
            assert_eq!((removal.name(), removal.secure()), (name, Some(secure)));
        }
    }
}
