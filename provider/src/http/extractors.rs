//! Typed extractors: each reads one kind of input and rejects what is malformed with the
//! error format of the endpoint family that uses it, so handlers start from parsed values.
//!
//! - [`QueryParams`], [`PathId`], [`PeerIp`]: never refuse;
//! - [`PageForm`]: HTML form posts (errors as an HTML page);
//! - [`ClientForm`]: token-family endpoints, the form body plus the RFC 6749 §2.3 client
//!   authentication (errors as RFC 6749 §5.2 JSON);
//! - [`BearerToken`]: the RFC 6750 §2 access token of UserInfo (errors as RFC 6750 §3
//!   challenges).

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};

use crate::http::error::{ApiError, BearerError, PageError};
use crate::protocol::OAuthError;
use crate::protocol::client::{RegisteredClient, authenticate_client, parse_client_credentials};
use crate::protocol::params::Params;
use crate::state::AppState;
use crate::telemetry::FLOW;

/// The one `{…}` segment of a route path (`/interaction/{id}`, `/register/{client_id}`),
/// percent-decoded.
///
/// A segment that is not UTF-8 cannot name anything the provider issued, so it arrives as an
/// empty string: the handler answers as for any unknown id, in its documented error format,
/// instead of axum's plain-text `400 Invalid URL` rejection.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let id = Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| id)
            .unwrap_or_default();
        Ok(PathId(id))
    }
}

/// The query string's parameters (RFC 6749 §3.1 rules apply when they are read).
pub struct QueryParams(pub Params);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(QueryParams(Params::parse(
            parts.uri.query().unwrap_or_default().as_bytes(),
        )))
    }
}

/// The address of the peer that sent the request (the TCP peer).
pub struct PeerIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        // Served routers always carry ConnectInfo; a router driven in-process without it (a
        // unit test) is treated as one anonymous peer.
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        Ok(PeerIp(ip))
    }
}

/// Reads the body; a body over the size limit is `413`, anything else unreadable `400`.
async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, BodyError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection: BytesRejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                BodyError::TooLarge
            } else {
                BodyError::Unreadable
            }
        })
}

enum BodyError {
    TooLarge,
    Unreadable,
}

/// A form posted by one of our HTML pages. Browsers always send form encoding, so the content
/// type is not checked; what cannot be read is an error page.
pub struct PageForm(pub Params);

impl<S: Send + Sync> FromRequest<S> for PageForm {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, PageError> {
        let body = read_body(request, state).await.map_err(|_| {
            PageError::OAuth(OAuthError::invalid_request(
                "the form could not be read; reload the page and try again",
            ))
        })?;
        Ok(PageForm(Params::parse(&body)))
    }
}

fn is_form_encoded(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A token-family request (token, introspection, revocation, PAR, device authorization): an
/// `application/x-www-form-urlencoded` body (RFC 6749 §3.2) from a client authenticated per
/// RFC 6749 §2.3 (HTTP Basic, `client_secret_post`, or `client_id` alone for public clients).
pub struct ClientForm {
    /// The authenticated client.
    pub client: RegisteredClient,
    /// The form parameters.
    pub params: Params,
}

impl FromRequest<AppState> for ClientForm {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        if !is_form_encoded(request.headers()) {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded (RFC 6749 §3.2)",
            )
            .into());
        }
        let authorization = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = read_body(request, state)
            .await
            .map_err(|error| match error {
                BodyError::TooLarge => ApiError::PayloadTooLarge,
                BodyError::Unreadable => {
                    OAuthError::invalid_request("the request body could not be read").into()
                }
            })?;
        let params = Params::parse(&body);
        let presented = parse_client_credentials(authorization.as_deref(), &params)?;
        let registered = state.store.clients.client(presented.client_id()).await?;
        let client = authenticate_client(&presented, registered).inspect_err(|_| {
            tracing::info!(target: FLOW, "token: client authentication failed -> 401 invalid_client (RFC 6749 §5.2)");
        })?;
        tracing::Span::current().record("client_id", client.client_id.as_str());
        Ok(ClientForm { client, params })
    }
}

/// The access token of a UserInfo request: the RFC 6750 §2.1 `Authorization: Bearer` header
/// or (POST only) the §2.2 `access_token` form member; never both, never the query string.
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequest<S> for BearerToken {
    type Rejection = BearerError;

    async fn from_request(request: Request, state: &S) -> Result<Self, BearerError> {
        let from_header = match request.headers().get(header::AUTHORIZATION) {
            None => None,
            Some(value) => {
                let value = value.to_str().map_err(|_| {
                    BearerError::OAuth(OAuthError::invalid_request(
                        "the Authorization header is malformed",
                    ))
                })?;
                match value.split_once(' ') {
                    Some((scheme, token))
                        if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
                    {
                        Some(token.trim().to_owned())
                    }
                    _ => {
                        return Err(BearerError::OAuth(OAuthError::invalid_request(
                            "use Authorization: Bearer <access token>",
                        )));
                    }
                }
            }
        };
        // A GET or HEAD carries its token in the header only; the body is never read for them.
        let from_body = if request.method() == Method::POST && is_form_encoded(request.headers()) {
            let body = read_body(request, state).await.map_err(|_| {
                BearerError::OAuth(OAuthError::invalid_request(
                    "the request body could not be read",
                ))
            })?;
            Params::parse(&body)
                .single("access_token")
                .map_err(BearerError::OAuth)?
                .map(str::to_owned)
        } else {
            None
        };
        match (from_header, from_body) {
            (Some(_), Some(_)) => Err(BearerError::OAuth(OAuthError::invalid_request(
                "send the access token in one place only (RFC 6750 §2)",
            ))),
            (Some(token), None) | (None, Some(token)) => Ok(BearerToken(token)),
            (None, None) => Err(BearerError::Missing),
        }
    }
}
