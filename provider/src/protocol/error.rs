//! RFC 6749 §4.1.2.1 / §5.2, RFC 6750 §3, OIDC Core §3.1.2.6 error codes.

use std::fmt;

/// The error codes the provider answers with. Each maps to the RFC spelling in [`ErrorCode::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// RFC 6749 §5.2: missing, duplicated or malformed parameter.
    InvalidRequest,
    /// RFC 6749 §5.2: client authentication failed.
    InvalidClient,
    /// RFC 6749 §5.2: code, refresh token or PKCE verifier is invalid, expired or revoked.
    InvalidGrant,
    /// RFC 6749 §5.2: the client may not use this grant.
    UnauthorizedClient,
    /// RFC 6749 §5.2: unknown grant type.
    UnsupportedGrantType,
    /// RFC 6749 §5.2: unknown scope or one the client may not request.
    InvalidScope,
    /// RFC 6749 §4.1.2.1: the user or the server denied the request.
    AccessDenied,
    /// RFC 6749 §4.1.2.1: only `code` is supported.
    UnsupportedResponseType,
    /// RFC 6749 §4.1.2.1: an unexpected condition on our side.
    ServerError,
    /// RFC 6749 §4.1.2.1: overloaded or in maintenance.
    TemporarilyUnavailable,
    /// RFC 8707 §2: the `resource` is not one this client may use.
    InvalidTarget,
    /// OIDC Core §3.1.2.6: `prompt=none` but the user must log in.
    LoginRequired,
    /// OIDC Core §3.1.2.6: `prompt=none` but the user must consent.
    ConsentRequired,
    /// OIDC Core §3.1.2.6: the `request` parameter is not supported.
    RequestNotSupported,
    /// OIDC Core §3.1.2.6: `request_uri` is not supported (outside PAR).
    RequestUriNotSupported,
    /// OIDC Core §3.1.2.6 / RFC 9101 §6.3: the request object is invalid.
    InvalidRequestObject,
    /// RFC 6750 §3.1: the access token is invalid, expired or revoked.
    InvalidToken,
    /// RFC 6750 §3.1: the access token lacks a required scope.
    InsufficientScope,
    /// RFC 8628 §3.5: the user has not finished yet; poll again.
    AuthorizationPending,
    /// RFC 8628 §3.5: polling too fast; add 5 seconds to the interval.
    SlowDown,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
    /// RFC 7591 §3.2.2: a redirect URI is not acceptable.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2: some other client metadata is not acceptable.
    InvalidClientMetadata,
    /// RFC 9126 §2.3 / RFC 6749: the request_uri is invalid, expired or used.
    InvalidRequestUri,
    /// RFC 9449 §5: the DPoP proof is missing where required, malformed or does not match.
    InvalidDpopProof,
    /// RFC 9449 §8: the server requires a nonce in the DPoP proof (see `DPoP-Nonce`).
    UseDpopNonce,
}

impl ErrorCode {
    /// The RFC spelling of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidRequestObject => "invalid_request_object",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::InvalidRequestUri => "invalid_request_uri",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

/// A protocol error: an RFC code plus a fixed sentence a client developer can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OAuthError {
    /// The RFC error code.
    pub code: ErrorCode,
    /// A fixed, non-sensitive explanation (`error_description`).
    pub description: &'static str,
}

impl OAuthError {
    /// Builds an error.
    pub const fn new(code: ErrorCode, description: &'static str) -> Self {
        OAuthError { code, description }
    }

    /// `invalid_request` with a description.
    pub const fn invalid_request(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` with a description.
    pub const fn invalid_grant(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_client` with a description.
    pub const fn invalid_client(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    /// `invalid_scope` with a description.
    pub const fn invalid_scope(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    /// `invalid_token` with a description.
    pub const fn invalid_token(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidToken, description)
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}
