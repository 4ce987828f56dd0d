//! RFC 7662 token introspection and RFC 7009 revocation.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use openapi::document::tags;
use openapi::responses::{InvalidClient, ServerError};
use openapi::{
    ErrorBody, IntrospectionRequest, IntrospectionResponse, RevocationRequest, RevocationResponse,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::{AppState, now};
use crate::http::authorize::verify_own_access_token;
use crate::http::error::ApiError;
use crate::http::paths;
use crate::http::token::{authenticated_client, form_params, no_store_json};
use crate::protocol::claims::AccessTokenClaims;
use crate::protocol::client::RegisteredClient;
use crate::protocol::introspect::{
    Introspection, access_token_introspection, may_introspect, refresh_token_introspection,
};
use crate::protocol::token::RefreshState;
use crate::protocol::types::{SecretDigest, UnixTime};
use crate::protocol::{ErrorCode, OAuthError};
use crate::store::RefreshTokenRecord;
use crate::telemetry::FLOW;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_introspect))
        .routes(routes!(post_revoke))
        .layer(crate::http::cross_origin_api())
}

/// A token we issued, found by trying what it can be.
enum Found {
    Access(AccessTokenClaims),
    Refresh(RefreshTokenRecord),
}

/// `token_type_hint` decides which lookup runs first; it is a hint, never trusted (RFC 7662
/// §2.1, RFC 7009 §2.1).
async fn find_token(
    state: &AppState,
    token: &str,
    hint: Option<&str>,
) -> Result<Option<Found>, ApiError> {
    let try_refresh_first = hint == Some("refresh_token");
    if try_refresh_first
        && let Some(record) = state.store.refresh_token(&SecretDigest::of(token)).await?
    {
        return Ok(Some(Found::Refresh(record)));
    }
    if let Ok(claims) = verify_own_access_token(state, token) {
        return Ok(Some(Found::Access(claims)));
    }
    if !try_refresh_first
        && let Some(record) = state.store.refresh_token(&SecretDigest::of(token)).await?
    {
        return Ok(Some(Found::Refresh(record)));
    }
    Ok(None)
}

/// Token introspection.
///
/// RFC 7662 §2: is this access or refresh token active, and what does it carry? Confidential
/// clients only; a client learns about its own tokens (a registered resource server about
/// any). Unknown, expired, revoked and foreign tokens are all `{"active": false}`.
#[utoipa::path(
    post,
    path = paths::INTROSPECT,
    tag = tags::TOKEN_MANAGEMENT,
    request_body(content = IntrospectionRequest, content_type = "application/x-www-form-urlencoded", example = json!({
        "token": "paste an access or refresh token",
        "client_id": openapi::demo::SERVICE_CLIENT_ID, "client_secret": openapi::demo::SERVICE_CLIENT_SECRET,
    })),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "RFC 7662 §2.2 introspection response.", body = IntrospectionResponse, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 400, description = "`invalid_request` (no `token`, a repeated parameter, body not form-encoded) or `unauthorized_client` (public clients cannot introspect).", body = ErrorBody, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 401, response = InvalidClient),
        (status = 500, response = ServerError),
    ),
)]
#[tracing::instrument(skip_all, fields(client_id))]
async fn post_introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let params = form_params(&headers, &body)?;
        let client = authenticated_client(&state, &headers, &params).await?;
        if client.is_public() {
            return Err(ApiError::OAuth(OAuthError::new(ErrorCode::UnauthorizedClient, "public clients cannot use introspection")));
        }
        let token = params.required("token", "token is missing")?;
        let answer = introspect(&state, &client, token, params.single("token_type_hint")?, now()).await?;
        tracing::info!(target: FLOW, "introspect: {} asked about a token -> active: {} (RFC 7662 §2.2)", client.client_id, answer.active);
        Ok::<_, ApiError>(no_store_json(answer))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn introspect(
    state: &AppState,
    client: &RegisteredClient,
    token: &str,
    hint: Option<&str>,
    now: UnixTime,
) -> Result<Introspection, ApiError> {
    Ok(match find_token(state, token, hint).await? {
        Some(Found::Access(claims))
            if claims.exp > now.0 && may_introspect(client, &claims.client_id) =>
        {
            // A revoked token, or one whose client was deleted (RFC 7592 §2.3), is inactive.
            if state.store.is_access_token_denied(&claims.jti).await?
                || state.store.client(&claims.client_id).await?.is_none()
            {
                Introspection::inactive()
            } else {
                access_token_introspection(claims)
            }
        }
        Some(Found::Refresh(record))
            if record.state(0, now) == RefreshState::Live
                && record.expires_at > now
                && may_introspect(client, record.grant.client_id.as_str()) =>
        {
            refresh_token_introspection(
                record.grant,
                record.issued_at,
                record.expires_at,
                &state.issuer,
            )
        }
        _ => Introspection::inactive(),
    })
}

/// Token revocation.
///
/// RFC 7009 §2: revoking a refresh token revokes its whole family and the access tokens issued
/// from it; an access token is deny-listed until it expires. Always 200 for tokens we do not
/// know or that belong to someone else: the answer must not tell an attacker anything.
#[utoipa::path(
    post,
    path = paths::REVOKE,
    tag = tags::TOKEN_MANAGEMENT,
    request_body(content = RevocationRequest, content_type = "application/x-www-form-urlencoded", example = json!({
        "token": "paste a token issued to demo-service",
        "client_id": openapi::demo::SERVICE_CLIENT_ID, "client_secret": openapi::demo::SERVICE_CLIENT_SECRET,
    })),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "RFC 7009 §2.2: revoked, or nothing to revoke (indistinguishable on purpose).", body = RevocationResponse, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 400, description = "`invalid_request`: no `token`, a repeated parameter, or a body that is not form-encoded.", body = ErrorBody, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 401, response = InvalidClient),
        (status = 500, response = ServerError),
    ),
)]
#[tracing::instrument(skip_all, fields(client_id))]
async fn post_revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let params = form_params(&headers, &body)?;
        let client = authenticated_client(&state, &headers, &params).await?;
        let token = params.required("token", "token is missing")?;
        let now = now();
        match find_token(&state, token, params.single("token_type_hint")?).await? {
            Some(Found::Refresh(record)) if record.grant.client_id == client.client_id => {
                state.store.revoke_grant(&record.grant.grant_id, now).await?;
                state.store.audit("refresh_token_revoked", Some(client.client_id.as_str()), Some(record.grant.subject.as_str()), "revoked by the client", now).await?;
                tracing::info!(target: FLOW, "revoke: refresh token revoked with its whole family and the access tokens issued from it (RFC 7009 §2.1)");
            }
            Some(Found::Access(claims)) if claims.client_id == client.client_id.as_str() => {
                state.store.deny_access_token(&claims.jti, UnixTime(claims.exp)).await?;
                tracing::info!(target: FLOW, "revoke: access token {} is on the deny-list until it expires; introspection and userinfo refuse it", claims.jti);
            }
            _ => tracing::info!(target: FLOW, "revoke: unknown or foreign token; answered 200 all the same (RFC 7009 §2.2)"),
        }
        Ok::<_, ApiError>(no_store_json(serde_json::json!({})))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
