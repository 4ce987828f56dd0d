//! RFC 7662 token introspection and RFC 7009 revocation.

use axum::extract::State;
use axum::response::Response;
use openapi::document::tags;
use openapi::responses::{InvalidClient, ServerError};
use openapi::{
    ErrorBody, IntrospectionRequest, IntrospectionResponse, RevocationRequest, RevocationResponse,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::extractors::ClientForm;
use crate::http::own_tokens::{standing, verify_own_access_token};
use crate::http::paths;
use crate::http::responses::{cross_origin_api, no_store_json};
use crate::protocol::claims::AccessTokenClaims;
use crate::protocol::client::RegisteredClient;
use crate::protocol::introspect::{
    Introspection, access_token_introspection, is_reportable_access_token,
    refresh_token_introspection,
};
use crate::protocol::types::{SecretDigest, UnixTime};
use crate::protocol::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::store::RefreshTokenRecord;
use crate::telemetry::FLOW;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_introspect))
        .routes(routes!(post_revoke))
        .layer(cross_origin_api())
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
        && let Some(record) = state
            .store
            .grants
            .refresh_token(&SecretDigest::of(token))
            .await?
    {
        return Ok(Some(Found::Refresh(record)));
    }
    if let Ok(claims) = verify_own_access_token(state, token) {
        return Ok(Some(Found::Access(claims)));
    }
    if !try_refresh_first
        && let Some(record) = state
            .store
            .grants
            .refresh_token(&SecretDigest::of(token))
            .await?
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
        "client_id": openapi::demo::API_CLIENT_ID, "client_secret": openapi::demo::API_CLIENT_SECRET,
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
async fn post_introspect(
    State(state): State<AppState>,
    ClientForm { client, params }: ClientForm,
) -> Result<Response, ApiError> {
    if client.is_public() {
        return Err(ApiError::OAuth(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use introspection",
        )));
    }
    let token = params.required("token", "token is missing")?;
    let hint = params.single("token_type_hint")?;
    let answer = introspect(&state, &client, token, hint, state.now()).await?;
    tracing::info!(target: FLOW, "introspect: {} asked about a token -> active: {} (RFC 7662 §2.2)", client.client_id, answer.active);
    Ok(no_store_json(answer))
}

async fn introspect(
    state: &AppState,
    client: &RegisteredClient,
    token: &str,
    hint: Option<&str>,
    now: UnixTime,
) -> Result<Introspection, ApiError> {
    let registry = state.resources.get().await?;
    Ok(match find_token(state, token, hint).await? {
        Some(Found::Access(claims))
            if is_reportable_access_token(client, &claims, &registry, now) =>
        {
            let standing = standing(state, &claims).await?;
            access_token_introspection(claims, standing)
        }
        Some(Found::Refresh(record)) => {
            refresh_token_introspection(client, record, &state.issuer, now)
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
        "token": "paste a token issued to demo-api",
        "client_id": openapi::demo::API_CLIENT_ID, "client_secret": openapi::demo::API_CLIENT_SECRET,
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
async fn post_revoke(
    State(state): State<AppState>,
    ClientForm { client, params }: ClientForm,
) -> Result<Response, ApiError> {
    let token = params.required("token", "token is missing")?;
    let now = state.now();
    match find_token(&state, token, params.single("token_type_hint")?).await? {
        Some(Found::Refresh(record)) if record.grant.client_id == client.client_id => {
            state
                .store
                .grants
                .revoke_grant(&record.grant.grant_id, now)
                .await?;
            state
                .store
                .audit
                .audit(
                    "refresh_token_revoked",
                    Some(client.client_id.as_str()),
                    Some(record.grant.subject.as_str()),
                    "revoked by the client",
                    now,
                )
                .await?;
            tracing::info!(target: FLOW, "revoke: refresh token revoked with its whole family and the access tokens issued from it (RFC 7009 §2.1)");
        }
        Some(Found::Access(claims)) if claims.client_id == client.client_id.as_str() => {
            state
                .store
                .grants
                .deny_access_token(&claims.jti, UnixTime(claims.exp))
                .await?;
            tracing::info!(target: FLOW, "revoke: access token {} is on the deny-list until it expires; introspection and userinfo refuse it", claims.jti);
        }
        _ => {
            tracing::info!(target: FLOW, "revoke: unknown or foreign token; answered 200 all the same (RFC 7009 §2.2)");
        }
    }
    Ok(no_store_json(serde_json::json!({})))
}
