//! OIDC Core §5.3 UserInfo endpoint, protected by our own access tokens (RFC 6750).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::app::AppState;
use crate::http::error::BearerError;
use crate::http::paths;
use crate::protocol::claims::{AccessTokenClaims, UserProfile, userinfo_claims};
use crate::protocol::params::Params;
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::Subject;
use crate::protocol::{ErrorCode, OAuthError};
use crate::telemetry::FLOW;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route(paths::USERINFO, get(userinfo).post(userinfo))
}

/// RFC 6750 §2.1 header or (POST only) §2.2 form body; never both, never the query string.
fn bearer_token(method: &Method, headers: &HeaderMap, body: &Bytes) -> Result<String, BearerError> {
    let from_header = match headers.get(header::AUTHORIZATION) {
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
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    let from_body = if *method == Method::POST && is_form {
        Params::parse(body)
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
        (Some(token), None) | (None, Some(token)) => Ok(token),
        (None, None) => Err(BearerError::Missing),
    }
}

/// `GET|POST /userinfo`.
#[tracing::instrument(skip_all, fields(client_id))]
async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let token = bearer_token(&method, &headers, &body)?;
        let invalid = |description| BearerError::OAuth(OAuthError::invalid_token(description));
        let header = jsonwebtoken_header_typ(&token);
        if !header.is_some_and(|typ| typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")) {
            return Err(invalid("the token is not an access token (typ at+jwt, RFC 9068 §4)"));
        }
        let mut validation = keys::Validation::new(keys::SigningAlg::RS256.jwt_algorithm());
        validation.set_issuer(&[state.issuer.as_str()]);
        validation.validate_aud = false;
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let claims = state.published().keys.verify::<AccessTokenClaims>(&token, &validation)
            .map_err(|_| invalid("the access token is invalid or expired"))?
            .claims;
        tracing::Span::current().record("client_id", claims.client_id.as_str());
        if state.store.is_access_token_denied(&claims.jti).await? {
            return Err(invalid("the access token has been revoked"));
        }
        let scope = ScopeSet::parse(&claims.scope).unwrap_or_default();
        if !scope.contains("openid") {
            return Err(BearerError::OAuth(OAuthError::new(ErrorCode::InsufficientScope, "the access token lacks the openid scope")));
        }
        let user = state
            .store
            .user_by_subject(&Subject(claims.sub.clone()))
            .await?
            .ok_or_else(|| invalid("the user of this token no longer exists"))?;
        let profile = UserProfile {
            subject: user.subject,
            username: user.username,
            name: user.name,
            email: user.email,
            email_verified: user.email_verified,
        };
        let released = userinfo_claims(&profile, &scope);
        tracing::info!(target: FLOW, "userinfo: token verified offline (signature, iss, exp, not revoked); released {:?} for scope \"{scope}\" (OIDC Core §5.4)",
            released.keys().collect::<Vec<_>>());
        let mut response = Json(released).into_response();
        crate::http::error::no_store(&mut response);
        Ok::<_, BearerError>(response)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The JOSE header's `typ`, without verifying anything yet.
fn jsonwebtoken_header_typ(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let bytes = keys::b64url_decode(header)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("typ")?.as_str().map(str::to_owned)
}
