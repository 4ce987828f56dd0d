//! The RFC 6749 §5.2 error body, shared by every JSON endpoint.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// RFC 6749 §5.2 error body (also RFC 6750 §3, RFC 7591 §3.2.2, RFC 8628 §3.5 and RFC 9126
/// §2.3 bodies). Sent with `Cache-Control: no-store`.
///
/// `error` is one of: `invalid_request`, `invalid_client`, `invalid_grant`,
/// `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`, `invalid_target`
/// (RFC 8707), `access_denied`, `authorization_pending`, `slow_down`, `expired_token`
/// (RFC 8628), `invalid_token`, `insufficient_scope` (RFC 6750), `invalid_redirect_uri`,
/// `invalid_client_metadata` (RFC 7591), `server_error`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"error": "invalid_request", "error_description": "grant_type is missing"}))]
pub struct ErrorBody {
    /// The error code (`invalid_request`, `invalid_grant`, ...).
    #[schema(example = "invalid_request")]
    pub error: String,
    /// A short sentence a client developer can act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error_description: Option<String>,
}

/// Errors of this crate: assembling or serialising the OpenAPI document.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two parts describe the same item differently (or the same operation twice).
    #[error("two parts of the OpenAPI document both define the {0}")]
    Conflict(String),
    /// The document could not be serialised.
    #[error("serialising the OpenAPI document")]
    Serialize(#[source] serde_json::Error),
}
