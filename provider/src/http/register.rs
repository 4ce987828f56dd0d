//! RFC 7591 dynamic client registration and RFC 7592 client configuration management.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openapi::document::tags;
use openapi::responses::{BearerUnauthorized, ServerError};
use openapi::{ClientInformation, ClientMetadataRequest, ClientUpdateRequest, ErrorBody};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::{AppState, now};
use crate::config::RegistrationPolicy;
use crate::http::authorize::random_bytes;
use crate::http::error::{ApiError, BearerError, no_store};
use crate::http::extractors::PathId;
use crate::http::paths;
use crate::protocol::client::{ClientMetadata, RegisteredClient};
use crate::protocol::registration::{RegistrationRequest, validate_registration};
use crate::protocol::types::{ClientId, SecretDigest, encode_random};
use crate::protocol::{ErrorCode, OAuthError};
use crate::seed::DEMO_API_AUDIENCE;
use crate::telemetry::FLOW;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_register))
        .routes(routes!(get_client, put_client, delete_client))
}

/// The realm of the registration endpoints' Bearer challenges.
const REALM: &str = "register";

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

/// Register a client.
///
/// RFC 7591 §3.1: send client metadata as JSON; the answer carries the `client_id`, the
/// `client_secret` of a confidential client and the RFC 7592 `registration_access_token`
/// (each shown once). Open in dev mode; with `--registration-token` it needs that initial
/// access token; it can also be disabled.
#[utoipa::path(
    post,
    path = paths::REGISTER,
    tag = tags::REGISTRATION,
    request_body(content = ClientMetadataRequest, content_type = "application/json"),
    security((), ("initial_access_token" = [])),
    responses(
        (status = 201, description = "RFC 7591 §3.2.1: the client is registered.", body = ClientInformation, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 400, description = "RFC 7591 §3.2.2 `invalid_client_metadata` (also for a body that is not a JSON object) or `invalid_redirect_uri`; `access_denied` when registration is disabled.", body = ErrorBody, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        ), examples(
            ("invalid_redirect_uri" = (value = json!({"error": "invalid_redirect_uri", "error_description": "http redirect URIs are allowed on loopback only; use https"}))),
            ("invalid_client_metadata" = (value = json!({"error": "invalid_client_metadata", "error_description": "the body is not a JSON object of client metadata"}))),
        )),
        (status = 401, response = BearerUnauthorized),
        (status = 500, response = ServerError),
    ),
)]
#[tracing::instrument(skip_all)]
async fn post_register(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        match &state.registration {
            RegistrationPolicy::Open => {}
            RegistrationPolicy::InitialAccessToken(digest) => {
                match bearer(&headers) {
                    Some(token) if digest.matches(token) => {}
                    Some(_) => {
                        let error = OAuthError::invalid_token("the initial access token is not valid (RFC 7591 §3)");
                        return Err(BearerError::OAuth(error).into_response_for(REALM));
                    }
                    None => return Err(BearerError::Missing.into_response_for(REALM)),
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
    if bearer(headers).is_none() {
        return Err(BearerError::Missing.into_response_for(REALM));
    }
    let refused = || {
        BearerError::OAuth(OAuthError::invalid_token(
            "the registration access token is invalid for this client",
        ))
        .into_response_for(REALM)
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

/// Read a registered client.
///
/// RFC 7592 §2.1, authorized by the client's registration access token. An unknown client
/// and a wrong token get the same 401.
#[utoipa::path(
    get,
    path = paths::REGISTER_CLIENT,
    tag = tags::REGISTRATION,
    params(("client_id" = String, Path, description = "The registered client's id.")),
    security(("registration_access_token" = [])),
    responses(
        (status = 200, description = "RFC 7592 §3: the current metadata.", body = ClientInformation, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 401, response = BearerUnauthorized),
        (status = 500, response = ServerError),
    ),
)]
async fn get_client(
    State(state): State<AppState>,
    PathId(client_id): PathId,
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

/// Update a registered client.
///
/// RFC 7592 §2.2: replaces the metadata (send all of it, repeating `client_id`). A client
/// cannot switch between public and confidential.
#[utoipa::path(
    put,
    path = paths::REGISTER_CLIENT,
    tag = tags::REGISTRATION,
    params(("client_id" = String, Path, description = "The registered client's id.")),
    request_body(content = ClientUpdateRequest, content_type = "application/json"),
    security(("registration_access_token" = [])),
    responses(
        (status = 200, description = "RFC 7592 §3: the updated metadata.", body = ClientInformation, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 400, description = "`invalid_request` (the body does not repeat the `client_id`), `invalid_client_metadata` or `invalid_redirect_uri`.", body = ErrorBody, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 401, response = BearerUnauthorized),
        (status = 500, response = ServerError),
    ),
)]
async fn put_client(
    State(state): State<AppState>,
    PathId(client_id): PathId,
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

/// Delete a registered client.
///
/// RFC 7592 §2.3: deletes the client and revokes its refresh tokens.
#[utoipa::path(
    delete,
    path = paths::REGISTER_CLIENT,
    tag = tags::REGISTRATION,
    params(("client_id" = String, Path, description = "The registered client's id.")),
    security(("registration_access_token" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = BearerUnauthorized),
        (status = 500, response = ServerError),
    ),
)]
async fn delete_client(
    State(state): State<AppState>,
    PathId(client_id): PathId,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-built registration bodies use only members `ClientInformation` documents.
    #[test]
    fn client_information_documents_every_member() {
        let client = crate::seed::demo_clients().remove(0);
        let mut body = metadata_json(&client.client_id, &client.metadata);
        for member in [
            "client_id_issued_at",
            "client_secret",
            "client_secret_expires_at",
            "registration_access_token",
            "registration_client_uri",
        ] {
            body[member] = json!("set by post_register");
        }
        crate::http::docs::assert_documented(&body, "ClientInformation");
    }
}
