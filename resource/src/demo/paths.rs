//! The demo's route paths, in one place: the router and the OpenAPI document both read them
//! (the RFC 9728 metadata path is [`crate::WELL_KNOWN_PATH`], plus the resource identifier's
//! path, if any).

/// Whom the token speaks for.
pub const ME: &str = "/api/me";
/// The caller's notes.
pub const NOTES: &str = "/api/notes";
/// Liveness probe.
pub const HEALTHZ: &str = "/healthz";
/// Readiness probe.
pub const READYZ: &str = "/readyz";
/// Prometheus metrics (not an API operation).
pub const METRICS: &str = "/metrics";
/// This server's OpenAPI document.
pub const OPENAPI_JSON: &str = "/openapi.json";
/// Swagger UI (redirects to `/docs/`, which serves the UI and its assets).
pub const DOCS: &str = "/docs";
/// Swagger UI's OAuth 2.0 redirect page.
pub const DOCS_OAUTH2_REDIRECT: &str = "/docs/oauth2-redirect.html";
