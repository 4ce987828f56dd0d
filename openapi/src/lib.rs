//! Public wire types shared by the provider, the resource server and the demo client, the base
//! OpenAPI document, and the Swagger UI wiring.
//!
//! What it does: defines the bodies that cross the wire, with the member names the RFCs give
//! them (OpenID Connect Discovery / RFC 8414 metadata, the RFC 7517 JWK Set, RFC 6749 token
//! requests and responses, RFC 7662 introspection, RFC 7009 revocation, RFC 7591/7592
//! registration, RFC 8628 device authorization, RFC 9126 pushed requests, UserInfo, the
//! RFC 6749 §5.2 error body, and for protected resources RFC 9728 metadata, the RFC 6750 §3
//! error body and the demo notes API's bodies). Each derives [`utoipa::ToSchema`], so the servers document
//! their endpoints with the very types they serialise. [`document`] holds the base OpenAPI
//! document, the shared security schemes and [`document::combine`], which assembles the
//! published document from the parts each server contributes; [`responses`] holds the error
//! responses operations share; [`demo`] holds example values that work against
//! `provider dev`. With the `swagger-ui` feature, `swagger` mounts Swagger UI (vendored
//! assets, no download at build time).
//!
//! What it does not do: any protocol logic or IO, and it never depends on the provider or the
//! resource server: they hand their parts in. Form bodies are documented here but parsed by
//! the servers themselves (RFC 6749 §3.1 rules on repeated and empty parameters).
#![warn(missing_docs)]

mod authorize;
mod device;
mod discovery;
pub mod document;
mod error;
mod introspection;
mod protected_resource;
mod registration;
pub mod responses;
#[cfg(feature = "swagger-ui")]
pub mod swagger;
mod token;
mod userinfo;

pub use authorize::{
    AuthorizationRequestParams, CodeChallengeMethod, ConsentDecision, ConsentForm,
    EndSessionConfirmForm, EndSessionParams, LoginForm, LogoutDecision, ParResponse,
    PushedAuthorizationRequest, ResponseMode, ResponseType, SecondFactorForm,
};
pub use device::{
    DeviceAuthorizationRequest, DeviceAuthorizationResponse, DevicePageParams,
    DeviceVerificationForm,
};
pub use discovery::{DiscoveryDocument, Jwk, Jwks};
pub use error::{Error, ErrorBody};
pub use introspection::{
    IntrospectionRequest, IntrospectionResponse, RevocationRequest, RevocationResponse,
    TokenTypeHint,
};
pub use protected_resource::{
    BearerErrorBody, MAX_NOTE_CHARS, Me, NOT_BLANK_PATTERN, NewNote, Note, NoteList,
    PROTECTED_RESOURCE_WELL_KNOWN, ProtectedResourceMetadata,
};
pub use registration::{
    ApplicationType, ClientInformation, ClientMetadataRequest, ClientUpdateRequest,
    TokenEndpointAuthMethod,
};
pub use token::{
    ACCESS_TOKEN_TYPE, GrantType, ID_TOKEN_TYPE, JWT_TOKEN_TYPE, REFRESH_TOKEN_TYPE, TokenRequest,
    TokenResponse,
};
pub use userinfo::{UserInfo, UserInfoForm};

/// Example values that work against `provider dev` (its seeded demo clients and users), so
/// Swagger UI's "Try it out" succeeds without editing anything.
pub mod demo {
    /// The notes API's own client: a resource server that authenticates with
    /// `client_secret_post`, so its examples work with the secret in the body as they are.
    pub const API_CLIENT_ID: &str = "demo-api";
    /// Its secret.
    pub const API_CLIENT_SECRET: &str = "demo-api-secret";
    /// Confidential client for the client_credentials grant (HTTP Basic: Swagger UI's
    /// Authorize button, `client_basic`).
    pub const SERVICE_CLIENT_ID: &str = "demo-service";
    /// Its secret.
    pub const SERVICE_CLIENT_SECRET: &str = "demo-service-secret";
    /// Confidential web client (authorization code + refresh; HTTP Basic).
    pub const WEB_CLIENT_ID: &str = "demo-web";
    /// Its secret.
    pub const WEB_CLIENT_SECRET: &str = "demo-web-secret";
    /// Its registered redirect URI.
    pub const WEB_REDIRECT_URI: &str = "http://127.0.0.1:8082/callback";
    /// Public native client (RFC 8252 loopback redirect on any port).
    pub const CLI_CLIENT_ID: &str = "demo-cli";
    /// Its registered loopback redirect URI.
    pub const CLI_REDIRECT_URI: &str = "http://127.0.0.1/callback";
    /// The demo API: the default audience and the one allowed RFC 8707 `resource` of every
    /// demo client.
    pub const API_RESOURCE: &str = "http://127.0.0.1:8081";
    /// Public device-flow client.
    pub const DEVICE_CLIENT_ID: &str = "demo-device";
    /// RFC 7636 Appendix B `code_challenge` (its verifier is
    /// `dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk`).
    pub const CODE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    /// RFC 7636 Appendix B `code_verifier`.
    pub const CODE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
}
