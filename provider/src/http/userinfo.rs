//! OIDC Core §5.3 UserInfo endpoint, protected by our own access tokens (RFC 6750).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use openapi::document::tags;
use openapi::responses::{BearerUnauthorized, InsufficientScope, ServerError};
use openapi::{ErrorBody, UserInfo, UserInfoForm};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::{AppState, now};
use crate::http::authorize::{NotOurAccessToken, verify_own_access_token};
use crate::http::error::BearerError;
use crate::http::paths;
use crate::protocol::claims::{UserProfile, userinfo_claims};
use crate::protocol::params::Params;
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::Subject;
use crate::protocol::{ErrorCode, OAuthError};
use crate::telemetry::FLOW;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_userinfo, post_userinfo))
        .layer(crate::http::cross_origin_api())
}

/// Clock skew tolerated on `exp`, as before for every verifier in this workspace.
const EXPIRY_LEEWAY_SECS: i64 = 30;

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

/// Claims about the signed-in user.
///
/// OIDC Core §5.3 with an RFC 6750 §2.1 `Authorization: Bearer` access token that carries the
/// `openid` scope (a user's token: client_credentials tokens have no user). Use Swagger UI's
/// *Authorize* with the oauth2 scheme to get one.
#[utoipa::path(
    get,
    path = paths::USERINFO,
    tag = tags::USERINFO,
    security(("access_token" = []), ("oauth2" = ["openid"])),
    responses(
        (status = 200, description = "The claims the token's scopes release.", body = UserInfo, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 400, description = USERINFO_BAD_REQUEST, body = ErrorBody, headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"userinfo\", error=\"invalid_request\", error_description=\"…\"`"),
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 401, response = BearerUnauthorized),
        (status = 403, response = InsufficientScope),
        (status = 500, response = ServerError),
    ),
)]
async fn get_userinfo(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    // A GET carries its token in the header only (the body is never read for GET or HEAD).
    userinfo(state, method, headers, Bytes::new()).await
}

/// Claims about the signed-in user (form-encoded token).
///
/// OIDC Core §5.3 by POST: the access token in the `Authorization: Bearer` header, or as
/// `access_token` in a form body (RFC 6750 §2.2), never both.
#[utoipa::path(
    post,
    path = paths::USERINFO,
    tag = tags::USERINFO,
    request_body(content = Option<UserInfoForm>, content_type = "application/x-www-form-urlencoded", example = json!({})),
    security(("access_token" = []), ("oauth2" = ["openid"]), ()),
    responses(
        (status = 200, description = "The claims the token's scopes release.", body = UserInfo, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 400, description = USERINFO_BAD_REQUEST, body = ErrorBody, headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"userinfo\", error=\"invalid_request\", error_description=\"…\"`"),
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 401, response = BearerUnauthorized),
        (status = 403, response = InsufficientScope),
        (status = 500, response = ServerError),
    ),
)]
async fn post_userinfo(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    userinfo(state, method, headers, body).await
}

const USERINFO_BAD_REQUEST: &str = "RFC 6750 §3.1 `invalid_request`: a malformed \
    `Authorization` header, a scheme other than Bearer, a repeated `access_token`, or the token \
    sent in two places.";

/// `GET|POST /userinfo`.
#[tracing::instrument(skip_all, fields(client_id))]
async fn userinfo(state: AppState, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let token = bearer_token(&method, &headers, &body)?;
        let invalid = |description| BearerError::OAuth(OAuthError::invalid_token(description));
        let claims = verify_own_access_token(&state, &token).map_err(|problem| match problem {
            NotOurAccessToken::NotAnAccessToken => invalid("the token is not an access token (typ at+jwt, RFC 9068 §4)"),
            NotOurAccessToken::Invalid => invalid("the access token is invalid or expired"),
        })?;
        if claims.exp.saturating_add(EXPIRY_LEEWAY_SECS) < now().0 {
            return Err(invalid("the access token is invalid or expired"));
        }
        tracing::Span::current().record("client_id", claims.client_id.as_str());
        if state.store.is_access_token_denied(&claims.jti).await? {
            return Err(invalid("the access token has been revoked"));
        }
        // RFC 7592 §2.3: deleting a client invalidates its access tokens too.
        if state.store.client(&claims.client_id).await?.is_none() {
            return Err(invalid("the client of this access token no longer exists"));
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

#[cfg(test)]
mod tests {
    use crate::protocol::claims::{UserProfile, userinfo_claims};
    use crate::protocol::scope::ScopeSet;
    use crate::protocol::types::Subject;

    /// Every claim UserInfo can release is documented in `UserInfo`.
    #[test]
    fn released_claims_are_documented() {
        let profile = UserProfile {
            subject: Subject("sub".into()),
            username: "alice".into(),
            name: "Alice".into(),
            email: "alice@example.com".into(),
            email_verified: true,
        };
        let scope = ScopeSet::parse("openid profile email").unwrap();
        let claims = serde_json::Value::Object(userinfo_claims(&profile, &scope));
        crate::http::docs::assert_documented(&claims, "UserInfo");
    }
}
