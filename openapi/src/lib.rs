//! Public wire types shared by the provider, the resource server and the demo client.
//!
//! What it does: defines the JSON bodies that cross the wire, with the member names the RFCs
//! give them: the OpenID Connect Discovery / RFC 8414 metadata document, the RFC 6749 §5.1
//! token response and the RFC 6749 §5.2 error body.
//!
//! What it does not do: any protocol logic or IO. The provider fills these types; clients and
//! tests read them. (The OpenAPI document and Swagger UI wiring arrive with the OpenAPI issue.)
#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

/// OpenID Connect Discovery 1.0 §3 and RFC 8414 §2 authorization server metadata.
///
/// Optional members are omitted when `None`, so the document advertises only what exists.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiscoveryDocument {
    /// The issuer identifier; equals the URL the document was fetched under, minus the suffix.
    pub issuer: String,
    /// RFC 6749 §3.1 authorization endpoint.
    pub authorization_endpoint: String,
    /// RFC 6749 §3.2 token endpoint.
    pub token_endpoint: String,
    /// OIDC Core §5.3 UserInfo endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// RFC 7517 JWK Set of the signing keys.
    pub jwks_uri: String,
    /// RFC 7591 dynamic client registration endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// RFC 7662 introspection endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// RFC 7009 revocation endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// RFC 8628 device authorization endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// RFC 9126 pushed authorization request endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 9126 §5: whether every client must use PAR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// OpenID Connect RP-Initiated Logout 1.0 end-session endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// Scopes a client may request.
    pub scopes_supported: Vec<String>,
    /// Only `code`: OAuth 2.1 drops the implicit and hybrid flows.
    pub response_types_supported: Vec<String>,
    /// Only `query`.
    pub response_modes_supported: Vec<String>,
    /// Grants the token endpoint accepts.
    pub grant_types_supported: Vec<String>,
    /// `public` subject identifiers (stable per user, the same for every client).
    pub subject_types_supported: Vec<String>,
    /// ID token signature algorithms.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Client authentication methods at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Client authentication methods at the introspection endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Client authentication methods at the revocation endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Claims the provider can release.
    pub claims_supported: Vec<String>,
    /// RFC 7636: only `S256`; `plain` is refused.
    pub code_challenge_methods_supported: Vec<String>,
    /// OIDC `prompt` values honoured.
    pub prompt_values_supported: Vec<String>,
    /// RFC 9207: the authorization response carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// OIDC Discovery: `claims` request parameter (not supported).
    pub claims_parameter_supported: bool,
    /// OIDC Discovery: `request` parameter (not supported).
    pub request_parameter_supported: bool,
    /// OIDC Discovery: `request_uri` parameter outside PAR (not supported).
    pub request_uri_parameter_supported: bool,
}

/// RFC 6749 §5.1 successful token response (plus the OIDC `id_token`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// RFC 9068 JWT access token.
    pub access_token: String,
    /// Always `Bearer` (RFC 6750).
    pub token_type: String,
    /// Access token lifetime in seconds.
    pub expires_in: u64,
    /// The granted scope, when it differs from the request or always (we always send it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// OIDC Core §3.1.3.3 ID token, for `openid` requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Rotating refresh token, when `offline_access` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// RFC 6749 §5.2 error body (also RFC 7591 §3.2.2 and RFC 6750 §3 bodies).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error code (`invalid_request`, `invalid_grant`, ...).
    pub error: String,
    /// A short sentence a client developer can act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}
