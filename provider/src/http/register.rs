//! RFC 7591 dynamic client registration and RFC 7592 client configuration management.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::app::{AppState, now};
use crate::config::RegistrationPolicy;
use crate::http::authorize::random_bytes;
use crate::http::error::{ApiError, BearerError, no_store};
use crate::http::paths;
use crate::protocol::client::{ClientMetadata, RegisteredClient};
use crate::protocol::registration::{RegistrationRequest, validate_registration};
use crate::protocol::types::{ClientId, SecretDigest, encode_random};
use crate::protocol::{ErrorCode, OAuthError};
use crate::seed::DEMO_API_AUDIENCE;
use crate::telemetry::FLOW;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::REGISTER, post(post_register))
        .route(
            paths::REGISTER_CLIENT,
            get(get_client).put(put_client).delete(delete_client),
        )
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn parse_metadata(headers: &HeaderMap, body: &Bytes) -> Result<RegistrationRequest, OAuthError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "the body must be application/json (RFC 7591 §3.1)",
        ));
    }
    serde_json::from_slice(body).map_err(|_| {
        OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "the body is not a JSON object of client metadata",
        )
    })
}

/// The public metadata of a client, with RFC 7591 member names.
fn metadata_json(client_id: &ClientId, metadata: &ClientMetadata) -> Value {
    json!({
        "client_id": client_id.as_str(),
        "client_name": metadata.client_name,
        "redirect_uris": metadata.redirect_uris,
        "post_logout_redirect_uris": metadata.post_logout_redirect_uris,
        "grant_types": metadata.grant_types,
        "response_types": metadata.response_types,
        "token_endpoint_auth_method": metadata.token_endpoint_auth_method,
        "application_type": metadata.application_type,
        "scope": metadata.scope,
        "id_token_signed_response_alg": metadata.id_token_signed_response_alg,
    })
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    no_store(&mut response);
    response
}

/// `POST /register` (RFC 7591 §3.1).
#[tracing::instrument(skip_all)]
async fn post_register(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        match &state.registration {
            RegistrationPolicy::Open => {}
            RegistrationPolicy::InitialAccessToken(digest) => {
                if !bearer(&headers).is_some_and(|token| digest.matches(token)) {
                    return Err(BearerError::OAuth(OAuthError::invalid_token("registration needs a valid initial access token (RFC 7591 §3)")).into_response());
                }
            }
            RegistrationPolicy::Disabled => {
                return Err(ApiError::OAuth(OAuthError::new(ErrorCode::AccessDenied, "dynamic registration is disabled on this provider")).into_response());
            }
        }
        let request = parse_metadata(&headers, &body).map_err(|error| ApiError::OAuth(error).into_response())?;
        let metadata = validate_registration(request, DEMO_API_AUDIENCE).map_err(|error| ApiError::OAuth(error).into_response())?;
        let client_id = ClientId::parse(&encode_random(random_bytes())[..22]).map_err(|error| ApiError::OAuth(error).into_response())?;
        let secret = (metadata.token_endpoint_auth_method != "none").then(|| encode_random(random_bytes()));
        let registration_token = encode_random(random_bytes());
        let now = now();
        let client = RegisteredClient { client_id: client_id.clone(), secret_digest: secret.as_deref().map(SecretDigest::of), metadata };
        let store = &state.store;
        let saved = async {
            store.upsert_client(&client, now).await?;
            store.set_registration_token(client_id.as_str(), &SecretDigest::of(&registration_token)).await?;
            store.audit("client_registered", Some(client_id.as_str()), None, &client.metadata.client_name, now).await
        }
        .await;
        saved.map_err(|error| ApiError::from(error).into_response())?;
        tracing::info!(target: FLOW, "register: new client {client_id} ({}) registered (RFC 7591 §3.2.1)", client.metadata.client_name);
        let mut body = metadata_json(&client_id, &client.metadata);
        body["client_id_issued_at"] = json!(now.0);
        if let Some(secret) = secret {
            body["client_secret"] = json!(secret);
            body["client_secret_expires_at"] = json!(0);
        }
        body["registration_access_token"] = json!(registration_token);
        body["registration_client_uri"] = json!(state.issuer.url_for(&paths::register_client(client_id.as_str())));
        Ok(json_response(StatusCode::CREATED, body))
    }
    .await;
    result.unwrap_or_else(|response| response)
}

/// RFC 7592 §3: the registration access token authenticates management calls. Unknown client
/// and wrong token get the same 401.
async fn managed_client(
    state: &AppState,
    headers: &HeaderMap,
    client_id: &str,
) -> Result<RegisteredClient, Response> {
    let refused = || {
        BearerError::OAuth(OAuthError::invalid_token(
            "the registration access token is invalid for this client",
        ))
        .into_response()
    };
    let digest = state
        .store
        .registration_token(client_id)
        .await
        .map_err(|error| ApiError::from(error).into_response())?;
    let authorized = match (digest, bearer(headers)) {
        (Some(digest), Some(token)) => digest.matches(token),
        _ => false,
    };
    if !authorized {
        return Err(refused());
    }
    state
        .store
        .client(client_id)
        .await
        .map_err(|error| ApiError::from(error).into_response())?
        .ok_or_else(refused)
}

/// `GET /register/{client_id}` (RFC 7592 §2.1).
async fn get_client(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match managed_client(&state, &headers, &client_id).await {
        Ok(client) => {
            let mut body = metadata_json(&client.client_id, &client.metadata);
            body["registration_client_uri"] = json!(
                state
                    .issuer
                    .url_for(&paths::register_client(client.client_id.as_str()))
            );
            json_response(StatusCode::OK, body)
        }
        Err(response) => response,
    }
}

/// `PUT /register/{client_id}` (RFC 7592 §2.2): replaces the metadata.
async fn put_client(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let client = managed_client(&state, &headers, &client_id).await?;
        let raw: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if raw.get("client_id").and_then(Value::as_str) != Some(client_id.as_str()) {
            return Err(ApiError::OAuth(OAuthError::invalid_request(
                "the body must repeat the client_id (RFC 7592 §2.2)",
            ))
            .into_response());
        }
        let request = parse_metadata(&headers, &body)
            .map_err(|error| ApiError::OAuth(error).into_response())?;
        let metadata = validate_registration(request, DEMO_API_AUDIENCE)
            .map_err(|error| ApiError::OAuth(error).into_response())?;
        if (metadata.token_endpoint_auth_method == "none") != client.is_public() {
            return Err(ApiError::OAuth(OAuthError::new(
                ErrorCode::InvalidClientMetadata,
                "a client cannot switch between public and confidential",
            ))
            .into_response());
        }
        let updated = RegisteredClient { metadata, ..client };
        state
            .store
            .upsert_client(&updated, now())
            .await
            .map_err(|error| ApiError::from(error).into_response())?;
        let mut body = metadata_json(&updated.client_id, &updated.metadata);
        body["registration_client_uri"] =
            json!(state.issuer.url_for(&paths::register_client(&client_id)));
        Ok(json_response(StatusCode::OK, body))
    }
    .await;
    result.unwrap_or_else(|response| response)
}

/// `DELETE /register/{client_id}` (RFC 7592 §2.3): deletes the client and revokes its grants.
async fn delete_client(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        managed_client(&state, &headers, &client_id).await?;
        let now = now();
        state.store.delete_client(&client_id, now).await.map_err(|error| ApiError::from(error).into_response())?;
        state.store.audit("client_deleted", Some(&client_id), None, "deleted through RFC 7592", now).await.map_err(|error| ApiError::from(error).into_response())?;
        tracing::info!(target: FLOW, "register: client {client_id} deleted; its refresh tokens are revoked (RFC 7592 §2.3)");
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    result.unwrap_or_else(|response: Response| response)
}
