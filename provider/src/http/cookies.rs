//! The provider's two browser cookies, both random 256-bit handles whose digests the store keeps:
//! - `oidc_session`: the single sign-on session;
//! - `oidc_browser`: binds an authorization interaction to the browser that started it, so a
//!   login or consent form cannot be completed from another browser (login CSRF).
//!
//! Both are `HttpOnly`, `SameSite=Lax` (the redirect back from a client must carry the session)
//! and `Secure` whenever the issuer is https.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::protocol::types::{Issuer, OpaqueToken, SecretDigest};

/// SSO session cookie name.
pub const SESSION: &str = "oidc_session";
/// Browser-binding cookie name.
pub const BROWSER: &str = "oidc_browser";
/// Device cookie name: the accounts this browser signed in to (login throttling).
pub const DEVICE: &str = "oidc_device";

/// The digest of a cookie's value, if present.
pub fn digest(jar: &CookieJar, name: &str) -> Option<SecretDigest> {
    jar.get(name).map(|cookie| SecretDigest::of(cookie.value()))
}

/// Builds a cookie with our flags. It is a browser-session cookie (no `Max-Age`): the server
/// side enforces the session lifetime, and closing the browser ends it early.
pub fn build(name: &'static str, value: &OpaqueToken, issuer: &Issuer) -> Cookie<'static> {
    Cookie::build((name, value.expose().to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(issuer.is_https())
        .build()
}

/// A removal cookie for `name`.
pub fn removal(name: &'static str) -> Cookie<'static> {
    Cookie::build((name, "")).path("/").build()
}
