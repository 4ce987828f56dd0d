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
/// Second-factor form target (a TOTP or recovery code after the password).
pub const INTERACTION_SECOND_FACTOR: &str = "/interaction/{id}/second-factor";
/// The signed-in user's account page: second factor.
pub const ACCOUNT: &str = "/account";
/// Where the account page's own sign-in returns.
pub const ACCOUNT_CALLBACK: &str = "/account/callback";
/// Authenticator app enrolment (GET: the QR code; POST: the first code).
pub const ACCOUNT_TOTP: &str = "/account/totp";
/// Turning the authenticator app off (with a current code).
pub const ACCOUNT_TOTP_OFF: &str = "/account/totp/off";
/// RFC 6749 §3.2.
pub const TOKEN: &str = "/token";
/// OIDC Core §5.3.
pub const USERINFO: &str = "/userinfo";
/// Liveness.
pub const HEALTHZ: &str = "/healthz";
/// Readiness (database reachable).
pub const READYZ: &str = "/readyz";
/// Prometheus metrics (not an API operation).
pub const METRICS: &str = "/metrics";

/// The concrete path of an interaction page.
pub fn interaction(id: &str) -> String {
    INTERACTION.replace("{id}", id)
}

/// The concrete login form target.
pub fn interaction_login(id: &str) -> String {
    INTERACTION_LOGIN.replace("{id}", id)
}

/// The concrete second-factor form target.
pub fn interaction_second_factor(id: &str) -> String {
    INTERACTION_SECOND_FACTOR.replace("{id}", id)
}

/// The concrete consent form target.
pub fn interaction_consent(id: &str) -> String {
    INTERACTION_CONSENT.replace("{id}", id)
}

/// RFC 7591 registration endpoint.
pub const REGISTER: &str = "/register";
/// RFC 7592 client configuration endpoint.
pub const REGISTER_CLIENT: &str = "/register/{client_id}";
/// RFC 7662 introspection endpoint.
pub const INTROSPECT: &str = "/introspect";
/// RFC 7009 revocation endpoint.
pub const REVOKE: &str = "/revoke";
/// RFC 8628 device authorization endpoint.
pub const DEVICE_AUTHORIZATION: &str = "/device_authorization";
/// RFC 8628 verification URI (user code entry).
pub const DEVICE: &str = "/device";
/// RFC 9126 pushed authorization request endpoint.
pub const PAR: &str = "/par";
/// OpenID Connect RP-Initiated Logout end-session endpoint.
pub const END_SESSION: &str = "/end_session";
/// Logout confirmation form target.
pub const END_SESSION_CONFIRM: &str = "/end_session/confirm";

/// The stylesheet of the HTML pages (not an API operation: see `docs::UNDOCUMENTED`).
pub const STYLESHEET: &str = "/assets/provider.css";
/// The OpenAPI 3.1 document of the provider.
pub const OPENAPI_JSON: &str = "/openapi.json";
/// Swagger UI (`/docs` redirects to `/docs/`; the assets live below it).
pub const DOCS: &str = "/docs";
/// Swagger UI's OAuth 2.0 redirect page: the redirect URI of the seeded `swagger-ui` client.
pub const DOCS_OAUTH2_REDIRECT: &str = "/docs/oauth2-redirect.html";

/// The concrete RFC 7592 client configuration URI path.
pub fn register_client(client_id: &str) -> String {
    REGISTER_CLIENT.replace("{client_id}", client_id)
}
