//! Typed extractors: each reads one kind of input and rejects what is malformed with the
//! error format of the endpoint family that uses it, so handlers start from parsed values.
//!
//! - [`QueryParams`], [`PathId`], [`ClientIp`]: never refuse;
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
use crate::protocol::client::{
    ClientAuthError, PresentedCredentials, RegisteredClient, TokenEndpointAuthMethod,
    authenticate_client, parse_client_credentials,
};
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

/// The client's address: the TCP peer, or, when the peer is one of the configured trusted
/// proxies (`--trusted-proxies`), the address it forwarded: the right-most address of
/// `Forwarded: for=` (RFC 7239) or else `X-Forwarded-For` that is not itself a trusted proxy.
/// Every rate limit and the login throttle count by this address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        // Served routers always carry ConnectInfo; a router driven in-process without it (a
        // unit test) is treated as one anonymous peer.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.trusted_proxies,
        )))
    }
}

/// See [`ClientIp`].
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(forwarded_for)
        .collect();
    let chain = if forwarded.is_empty() {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|item| parse_node(item.trim()))
            .collect()
    } else {
        forwarded
    };
    chain
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// The `for=` address of one RFC 7239 forwarded-element.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(value.trim().trim_matches('"')))
            .flatten()
    })
}

/// An address with an optional port: `192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]:80`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = node.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    node.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(ip, _)| ip.parse().ok())
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
        if request
            .headers()
            .get_all(header::AUTHORIZATION)
            .iter()
            .count()
            > 1
        {
            return Err(OAuthError::invalid_request(
                "send exactly one Authorization header (RFC 6749 §2.3: one authentication method)",
            )
            .into());
        }
        let authorization = match request.headers().get(header::AUTHORIZATION) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| {
                        OAuthError::invalid_request("the Authorization header is not visible ASCII")
                    })?
                    .to_owned(),
            ),
        };
        let endpoint = state.issuer.url_for(request.uri().path());
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
        let registered = state.client(presented.client_id()).await?;
        let client = match &presented {
            PresentedCredentials::Assertion { assertion, .. } => {
                authenticate_assertion(state, registered, assertion, endpoint).await
            }
            _ => authenticate_client(&presented, registered),
        }
        .inspect_err(|error| {
            tracing::info!(target: FLOW, "token: client authentication failed ({}) -> 401 invalid_client (RFC 6749 §5.2)", error.error.description);
        })?;
        tracing::Span::current().record("client_id", client.client_id.as_str());
        Ok(ClientForm { client, params })
    }
}

/// RFC 7523 client authentication: the client is registered for `private_key_jwt` (keys from
/// its `jwks`, or fetched from its `jwks_uri`) or `client_secret_jwt` (its derived secret);
/// the assertion verifies, is addressed to the issuer, the token endpoint or `endpoint`, and its
/// `jti` was not seen before (shared through the cluster's counters, so a replay to another
/// node is refused too, while Redis answers).
async fn authenticate_assertion(
    state: &AppState,
    registered: Option<RegisteredClient>,
    assertion: &str,
    endpoint: String,
) -> Result<RegisteredClient, ClientAuthError> {
    use crate::protocol::client_assertion::{AssertionKeys, MAX_LIFETIME_SECS, verify};
    let refuse = |description| ClientAuthError::new(OAuthError::invalid_client(description), false);
    let client = registered.ok_or(refuse("client authentication failed"))?;
    let audiences = vec![
        state.issuer.as_str().to_owned(),
        state.issuer.url_for(crate::http::paths::TOKEN),
        endpoint,
    ];
    let now = state.now();
    let client_id = client.client_id.as_str();
    let verified = match client.metadata.token_endpoint_auth_method {
        TokenEndpointAuthMethod::PrivateKeyJwt => {
            let jwks = crate::http::client_keys::client_jwks(state, &client)
                .await
                .map_err(|_| {
                    ClientAuthError::new(
                        OAuthError::invalid_client(
                            "the client's registered keys could not be read",
                        ),
                        false,
                    )
                })?;
            let verified = verify(
                assertion,
                client_id,
                AssertionKeys::Public(&jwks),
                &audiences,
                now,
            );
            if verified.is_err()
                && let Some(uri) = &client.metadata.jwks_uri
            {
                // The client may have rotated its keys: the next attempt fetches them again.
                state.fetcher.forget(uri);
            }
            verified
        }
        TokenEndpointAuthMethod::ClientSecretJwt => {
            let derivation = client
                .metadata
                .secret_derivation
                .as_deref()
                .ok_or(refuse("this client has no secret for client_secret_jwt"))?;
            let secret = state.secret.client_jwt_secret(client_id, derivation);
            verify(
                assertion,
                client_id,
                AssertionKeys::Secret(secret.as_bytes()),
                &audiences,
                now,
            )
        }
        _ => {
            return Err(refuse(
                "this client is registered for another token_endpoint_auth_method (RFC 7591 §2)",
            ));
        }
    }
    .map_err(|error| ClientAuthError::new(error, false))?;
    // RFC 7523 §3: a jti is used once. The window outlives the assertion's own lifetime.
    let window = std::time::Duration::from_secs(
        u64::try_from((verified.exp.0 - now.0).clamp(1, MAX_LIFETIME_SECS)).unwrap_or(1) + 60,
    );
    let seen = state
        .cluster
        .hit(
            &format!("client_assertion:{client_id}:{}", verified.jti),
            window,
        )
        .await;
    if seen.count > 1 {
        return Err(refuse(
            "client_assertion was used before (RFC 7523 §3: jti is single-use)",
        ));
    }
    Ok(client)
}

/// The access token of a UserInfo request: the RFC 6750 §2.1 `Authorization: Bearer` header
/// (or RFC 9449 §7.1 `Authorization: DPoP`, then the second field is true) or (POST only) the
/// §2.2 `access_token` form member; never both, never the query string.
pub struct BearerToken(pub String, pub bool);

impl<S: Send + Sync> FromRequest<S> for BearerToken {
    type Rejection = BearerError;

    async fn from_request(request: Request, state: &S) -> Result<Self, BearerError> {
        if request
            .headers()
            .get_all(header::AUTHORIZATION)
            .iter()
            .count()
            > 1
        {
            return Err(BearerError::OAuth(OAuthError::invalid_request(
                "send exactly one Authorization header",
            )));
        }
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
                        if (scheme.eq_ignore_ascii_case("bearer")
                            || scheme.eq_ignore_ascii_case("dpop"))
                            && !token.trim().is_empty() =>
                    {
                        Some((token.trim().to_owned(), scheme.eq_ignore_ascii_case("dpop")))
                    }
                    _ => {
                        return Err(BearerError::OAuth(OAuthError::invalid_request(
                            "use Authorization: Bearer <access token> (or DPoP <access token>)",
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
            (Some((token, dpop)), None) => Ok(BearerToken(token, dpop)),
            (None, Some(token)) => Ok(BearerToken(token, false)),
            (None, None) => Err(BearerError::Missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        headers
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> =
            vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let stranger: IpAddr = "198.51.100.9".parse().unwrap();
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        type Case<'a> = (IpAddr, Vec<(&'a str, &'a str)>, IpAddr);
        let cases: Vec<Case> = vec![
            // No proxies trusted by this peer: the headers are ignored (they are spoofable).
            (stranger, vec![("x-forwarded-for", "192.0.2.1")], stranger),
            // The right-most untrusted address of X-Forwarded-For.
            (
                proxy,
                vec![("x-forwarded-for", "203.0.113.7, 192.0.2.1")],
                ip("192.0.2.1"),
            ),
            (
                proxy,
                vec![("x-forwarded-for", "192.0.2.1, 10.0.0.9")],
                ip("192.0.2.1"),
            ),
            (
                proxy,
                vec![("x-forwarded-for", "192.0.2.1:4711")],
                ip("192.0.2.1"),
            ),
            // RFC 7239 takes precedence, quoted IPv6 with a port included.
            (
                proxy,
                vec![
                    (
                        "forwarded",
                        "for=192.0.2.60;proto=https, for=\"[2001:db8:cafe::17]:4711\"",
                    ),
                    ("x-forwarded-for", "192.0.2.1"),
                ],
                ip("2001:db8:cafe::17"),
            ),
            // Garbage or nothing forwarded: the proxy itself.
            (proxy, vec![("x-forwarded-for", "unknown")], proxy),
            (proxy, vec![], proxy),
            (
                ip("::1"),
                vec![("x-forwarded-for", "2001:db8::5")],
                ip("2001:db8::5"),
            ),
        ];
        for (index, (peer, pairs, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                client_ip(peer, &headers(&pairs), &trusted),
                expected,
                "case {index}"
            );
        }
    }
}
