//! Error rendering, by endpoint family (STYLE §5):
//! - token-family endpoints: JSON `{error, error_description}`, 400 (401 for `invalid_client`,
//!   with `WWW-Authenticate: Basic` when the client used Basic), `Cache-Control: no-store`;
//! - bearer-protected endpoints (UserInfo): RFC 6750 §3 `WWW-Authenticate: Bearer` challenges;
//! - HTML pages: an error page, never a redirect to an unvalidated URI.
//!
//! Storage and internal errors are logged once here (inside the request span) and become a
//! fixed `server_error` text: no driver messages, no stack traces.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openapi::ErrorBody;

use crate::Error;
use crate::http::limits::TooManyRequests;
use crate::http::responses::no_store;
use crate::protocol::client::ClientAuthError;
use crate::protocol::{ErrorCode, OAuthError};
use crate::templates::ErrorPage;

const SERVER_ERROR: OAuthError = OAuthError::new(
    ErrorCode::ServerError,
    "the server failed to process the request; try again later",
);

fn log_internal(error: &Error) {
    tracing::error!(error = %error, "request failed");
}

/// An error at a JSON endpoint (token, and later introspection, revocation, registration...).
#[derive(Debug)]
pub enum ApiError {
    /// Protocol error.
    OAuth(OAuthError),
    /// Client authentication failed.
    ClientAuth(ClientAuthError),
    /// The body is larger than the endpoint accepts (413).
    PayloadTooLarge,
    /// Too many requests from this address (429 with `Retry-After`).
    TooManyRequests(TooManyRequests),
    /// RFC 9449 §5 / §8: a DPoP error, with a fresh `DPoP-Nonce` for the next proof.
    Dpop {
        /// `invalid_dpop_proof` or `use_dpop_nonce`.
        error: OAuthError,
        /// The nonce to use next.
        nonce: String,
    },
    /// Our failure.
    Internal(Error),
}

/// RFC 6749 has no code for rate limits; `temporarily_unavailable` (§4.1.2.1) says "try later",
/// and the status and `Retry-After` (RFC 6585 §4) say when.
const RATE_LIMITED: OAuthError = OAuthError::new(
    ErrorCode::TemporarilyUnavailable,
    "too many requests from this address; retry after the time in Retry-After",
);

fn retry_after(response: &mut Response, limit: TooManyRequests) {
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(limit.retry_after_secs),
    );
}

impl From<TooManyRequests> for ApiError {
    fn from(limit: TooManyRequests) -> Self {
        ApiError::TooManyRequests(limit)
    }
}

impl From<TooManyRequests> for PageError {
    fn from(limit: TooManyRequests) -> Self {
        PageError::TooManyRequests(limit)
    }
}

impl From<OAuthError> for ApiError {
    fn from(error: OAuthError) -> Self {
        ApiError::OAuth(error)
    }
}

impl From<ClientAuthError> for ApiError {
    fn from(error: ClientAuthError) -> Self {
        ApiError::ClientAuth(error)
    }
}

impl From<crate::store::Error> for ApiError {
    fn from(error: crate::store::Error) -> Self {
        ApiError::Internal(Error::Store(error))
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::OAuth(error) => ApiError::OAuth(error),
            other => ApiError::Internal(other),
        }
    }
}

/// The JSON error response of RFC 6749 §5.2.
pub fn json_error(status: StatusCode, error: &OAuthError) -> Response {
    let body = ErrorBody {
        error: error.code.as_str().to_owned(),
        error_description: Some(error.description.to_owned()),
    };
    let mut response = (status, Json(body)).into_response();
    no_store(&mut response);
    response
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::OAuth(error) => json_error(status_of(error.code), &error),
            ApiError::ClientAuth(ClientAuthError { error, used_basic }) => {
                let status = status_of(error.code);
                let mut response = json_error(status, &error);
                if status == StatusCode::UNAUTHORIZED {
                    // RFC 6749 §5.2: 401 must carry a challenge; Basic is our only header scheme.
                    let challenge = if used_basic {
                        r#"Basic realm="token", charset="UTF-8""#
                    } else {
                        r#"Basic realm="token""#
                    };
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static(challenge),
                    );
                }
                response
            }
            ApiError::Dpop { error, nonce } => {
                let mut response = json_error(StatusCode::BAD_REQUEST, &error);
                if let Ok(value) = HeaderValue::from_str(&nonce) {
                    response.headers_mut().insert("dpop-nonce", value);
                }
                response
            }
            ApiError::PayloadTooLarge => json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &OAuthError::invalid_request("the request body is too large"),
            ),
            ApiError::TooManyRequests(limit) => {
                let mut response = json_error(StatusCode::TOO_MANY_REQUESTS, &RATE_LIMITED);
                retry_after(&mut response, limit);
                response
            }
            ApiError::Internal(error) => {
                log_internal(&error);
                json_error(StatusCode::INTERNAL_SERVER_ERROR, &SERVER_ERROR)
            }
        }
    }
}

/// An error at a Bearer-protected endpoint (RFC 6750 §3).
#[derive(Debug)]
pub enum BearerError {
    /// No credentials at all: 401 with a bare challenge (RFC 6750 §3.1: no error code).
    Missing,
    /// `invalid_request`, `invalid_token` or `insufficient_scope`.
    OAuth(OAuthError),
    /// RFC 9449 §7.1: a DPoP problem, answered with a `DPoP` challenge.
    Dpop(OAuthError),
    /// Our failure.
    Internal(Error),
}

impl From<Error> for BearerError {
    fn from(error: Error) -> Self {
        match error {
            Error::OAuth(error) => BearerError::OAuth(error),
            other => BearerError::Internal(other),
        }
    }
}

impl From<crate::store::Error> for BearerError {
    fn from(error: crate::store::Error) -> Self {
        BearerError::Internal(Error::Store(error))
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        self.into_response_for("userinfo")
    }
}

impl BearerError {
    /// The RFC 6750 §3 response with `realm` naming the protected endpoint.
    pub fn into_response_for(self, realm: &str) -> Response {
        let (status, challenge, body) = match self {
            BearerError::Missing => (
                StatusCode::UNAUTHORIZED,
                format!(r#"Bearer realm="{realm}""#),
                OAuthError::invalid_token(
                    "an access token is required (RFC 6750 §2.1 Authorization: Bearer)",
                ),
            ),
            BearerError::OAuth(error) => {
                let scope = if error.code == ErrorCode::InsufficientScope {
                    r#", scope="openid""#
                } else {
                    ""
                };
                (
                    status_of(error.code),
                    format!(
                        r#"Bearer realm="{realm}", error="{}", error_description="{}"{scope}"#,
                        error.code.as_str(),
                        error.description
                    ),
                    error,
                )
            }
            BearerError::Dpop(error) => (
                StatusCode::UNAUTHORIZED,
                format!(
                    r#"DPoP algs="{}", error="{}", error_description="{}""#,
                    keys::dpop::ALGORITHMS.join(" "),
                    error.code.as_str(),
                    error.description
                ),
                error,
            ),
            BearerError::Internal(error) => {
                log_internal(&error);
                return json_error(StatusCode::INTERNAL_SERVER_ERROR, &SERVER_ERROR);
            }
        };
        let mut response = json_error(status, &body);
        if let Ok(value) = HeaderValue::from_str(&challenge_safe(&challenge)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// RFC 6750 §3: `error_description` may only use %x20-21 / %x23-5B / %x5D-7E, and a header value
/// must be visible ASCII. Descriptions are written for people (with "§"), so the challenge
/// spells the section sign out and drops anything else outside that set; the JSON body keeps
/// the original text.
fn challenge_safe(challenge: &str) -> String {
    challenge
        .replace('§', "section ")
        .chars()
        .filter(|c| c.is_ascii() && (*c == ' ' || c.is_ascii_graphic()) && *c != '\\')
        .collect()
}

/// An error shown to the user as an HTML page (authorization endpoint before the redirect URI
/// is trusted, interaction pages).
#[derive(Debug)]
pub enum PageError {
    /// A protocol error to explain.
    OAuth(OAuthError),
    /// Too many requests from this address (429 with `Retry-After`).
    TooManyRequests(TooManyRequests),
    /// Our failure.
    Internal(Error),
}

impl From<OAuthError> for PageError {
    fn from(error: OAuthError) -> Self {
        PageError::OAuth(error)
    }
}

impl From<crate::store::Error> for PageError {
    fn from(error: crate::store::Error) -> Self {
        PageError::Internal(Error::Store(error))
    }
}

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        match error {
            Error::OAuth(error) => PageError::OAuth(error),
            other => PageError::Internal(other),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let limit = match &self {
            PageError::TooManyRequests(limit) => Some(*limit),
            _ => None,
        };
        let (status, error) = match self {
            PageError::OAuth(error) => (StatusCode::BAD_REQUEST, error),
            PageError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, RATE_LIMITED),
            PageError::Internal(error) => {
                log_internal(&error);
                (StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR)
            }
        };
        let page = ErrorPage {
            error: error.code.as_str(),
            description: error.description,
        };
        let mut response = (status, page).into_response();
        if let Some(limit) = limit {
            retry_after(&mut response, limit);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn token_errors_are_rfc6749_json() {
        let response =
            ApiError::OAuth(OAuthError::invalid_grant("the code has expired")).into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = body_json(response).await;
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(body["error_description"], "the code has expired");
    }

    #[tokio::test]
    async fn invalid_client_is_401_with_basic_challenge() {
        let error = ClientAuthError {
            error: OAuthError::invalid_client("client authentication failed"),
            used_basic: true,
        };
        let response = ApiError::ClientAuth(error).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak() {
        let error = Error::internal(
            "loading a thing",
            std::io::Error::other("disk /var/secret exploded"),
        );
        let response = ApiError::Internal(error).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_json(response).await;
        assert_eq!(body["error"], "server_error");
        assert!(!body.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn every_bearer_error_keeps_its_challenge_header() {
        for description in [
            "the token is not an access token (typ at+jwt, RFC 9068 §4)",
            "non-ASCII é and a backslash \\ are dropped",
        ] {
            let response =
                BearerError::OAuth(OAuthError::invalid_token(description)).into_response();
            let challenge = response.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                challenge.starts_with(r#"Bearer realm="userinfo", error="invalid_token""#),
                "{challenge}"
            );
            assert!(
                challenge.is_ascii() && !challenge.contains('\\'),
                "{challenge}"
            );
        }
        let missing = BearerError::Missing.into_response();
        assert!(missing.headers().contains_key(header::WWW_AUTHENTICATE));
    }

    #[tokio::test]
    async fn bearer_challenges_follow_rfc6750() {
        let missing = BearerError::Missing.into_response();
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            missing.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer realm="userinfo""#
        );
        let invalid = BearerError::OAuth(OAuthError::invalid_token("the access token has expired"))
            .into_response();
        let challenge = invalid.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
        let scope = BearerError::OAuth(OAuthError::new(
            ErrorCode::InsufficientScope,
            "needs openid",
        ))
        .into_response();
        assert_eq!(scope.status(), StatusCode::FORBIDDEN);
        assert!(
            scope.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains(r#"scope="openid""#)
        );
    }
}
