//! Every route path, in one place: the router and the discovery document both read these, so
//! they cannot drift apart.

/// OpenID Connect Discovery 1.0 §4.
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
/// RFC 8414 §3.
pub const OAUTH_AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";
/// RFC 7517 JWK Set.
pub const JWKS: &str = "/jwks";
/// RFC 6749 §3.1.
pub const AUTHORIZE: &str = "/authorize";
/// Login and consent pages of one authorization interaction.
pub const INTERACTION: &str = "/interaction/{id}";
/// Login form target.
pub const INTERACTION_LOGIN: &str = "/interaction/{id}/login";
/// Consent form target.
pub const INTERACTION_CONSENT: &str = "/interaction/{id}/consent";
/// RFC 6749 §3.2.
pub const TOKEN: &str = "/token";
/// OIDC Core §5.3.
pub const USERINFO: &str = "/userinfo";
/// Liveness.
pub const HEALTHZ: &str = "/healthz";
/// Readiness (database reachable).
pub const READYZ: &str = "/readyz";

/// The concrete path of an interaction page.
pub fn interaction(id: &str) -> String {
    INTERACTION.replace("{id}", id)
}

/// The concrete login form target.
pub fn interaction_login(id: &str) -> String {
    INTERACTION_LOGIN.replace("{id}", id)
}

/// The concrete consent form target.
pub fn interaction_consent(id: &str) -> String {
    INTERACTION_CONSENT.replace("{id}", id)
}
