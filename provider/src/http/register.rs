//! RFC 7591 dynamic client registration and RFC 7592 client configuration management.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openapi::document::tags;
use openapi::responses::{BearerUnauthorized, RateLimited, ServerError};
use openapi::{ClientInformation, ClientMetadataRequest, ClientUpdateRequest, ErrorBody};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::RegistrationPolicy;
use crate::http::error::{ApiError, BearerError};
use crate::http::extractors::{ClientIp, PathId};
use crate::http::limits::{Limited, TooManyRequests};
use crate::http::paths;
use crate::http::responses::no_store_json_with;
use crate::protocol::client::{ClientMetadata, RegisteredClient, TokenEndpointAuthMethod};
use crate::protocol::registration::{RegistrationRequest, validate_registration};
use crate::protocol::types::{ClientId, SecretDigest, encode_random};
use crate::protocol::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::telemetry::FLOW;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_register))
        .routes(routes!(get_client, put_client, delete_client))
}

/// The realm of the registration endpoints' Bearer challenges.
const REALM: &str = "register";

/// An error of the registration endpoints: RFC 7591 §3.2.2 JSON, or an RFC 6750 challenge in
/// the `register` realm when the bearer credential is missing or wrong.
#[derive(Debug)]
enum RegistrationError {
    Api(ApiError),
    Bearer(BearerError),
}

impl IntoResponse for RegistrationError {
    fn into_response(self) -> Response {
        match self {
            RegistrationError::Api(error) => error.into_response(),
            RegistrationError::Bearer(error) => error.into_response_for(REALM),
        }
    }
}

impl From<OAuthError> for RegistrationError {
    fn from(error: OAuthError) -> Self {
        RegistrationError::Api(ApiError::OAuth(error))
    }
}

impl From<TooManyRequests> for RegistrationError {
    fn from(limit: TooManyRequests) -> Self {
        RegistrationError::Api(ApiError::TooManyRequests(limit))
    }
}

impl From<crate::store::Error> for RegistrationError {
    fn from(error: crate::store::Error) -> Self {
        RegistrationError::Api(error.into())
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Permission to register (RFC 7591 §3): open, or the initial access token, or refused.
struct MayRegister;

impl FromRequestParts<AppState> for MayRegister {
    type Rejection = RegistrationError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, RegistrationError> {
        match &state.registration {
            RegistrationPolicy::Open => Ok(MayRegister),
            RegistrationPolicy::InitialAccessToken(digest) => match bearer(&parts.headers) {
                Some(token) if digest.matches(token) => Ok(MayRegister),
                Some(_) => Err(RegistrationError::Bearer(BearerError::OAuth(
                    OAuthError::invalid_token(
                        "the initial access token is not valid (RFC 7591 §3)",
                    ),
                ))),
                None => Err(RegistrationError::Bearer(BearerError::Missing)),
            },
            RegistrationPolicy::Disabled => Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "dynamic registration is disabled on this provider",
            )
            .into()),
        }
    }
}

/// The client of an RFC 7592 management call, authorized by its registration access token
/// (RFC 7592 §3). An unknown client and a wrong token get the same 401.
struct ManagedClient(RegisteredClient);

impl FromRequestParts<AppState> for ManagedClient {
    type Rejection = RegistrationError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, RegistrationError> {
        let Ok(PathId(client_id)) = PathId::from_request_parts(parts, state).await;
        let Some(token) = bearer(&parts.headers) else {
            return Err(RegistrationError::Bearer(BearerError::Missing));
        };
        let refused = || {
            RegistrationError::Bearer(BearerError::OAuth(OAuthError::invalid_token(
                "the registration access token is invalid for this client",
            )))
        };
        let digest = state.store.clients.registration_token(&client_id).await?;
        if !digest.is_some_and(|digest| digest.matches(token)) {
            return Err(refused());
        }
        let client = state.store.clients.client(&client_id).await?;
        client.map(ManagedClient).ok_or_else(refused)
    }
}

/// A JSON body of client metadata (RFC 7591 §3.1), with the `client_id` member RFC 7592 §2.2
/// requires in updates.
struct MetadataBody {
    request: RegistrationRequest,
    client_id: Option<String>,
}

impl<S: Send + Sync> FromRequest<S> for MetadataBody {
    type Rejection = RegistrationError;

    async fn from_request(request: Request, state: &S) -> Result<Self, RegistrationError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(OAuthError::new(
                ErrorCode::InvalidClientMetadata,
                "the body must be application/json (RFC 7591 §3.1)",
            )
            .into());
        }
        let not_metadata = || {
            OAuthError::new(
                ErrorCode::InvalidClientMetadata,
                "the body is not a JSON object of client metadata",
            )
        };
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| not_metadata())?;
        let value: Value = serde_json::from_slice(&body).map_err(|_| not_metadata())?;
        let client_id = value
            .get("client_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let request = serde_json::from_value(value).map_err(|_| not_metadata())?;
        Ok(MetadataBody { request, client_id })
    }
}

/// The public metadata of a client, with RFC 7591 member names.
fn metadata_json(client_id: &ClientId, metadata: &ClientMetadata) -> Value {
    let mut body = json!({
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
        "dpop_bound_access_tokens": metadata.dpop_bound_access_tokens,
    });
    if let Some(jwks) = &metadata.jwks {
        body["jwks"] = json!(jwks);
    }
    if let Some(jwks_uri) = &metadata.jwks_uri {
        body["jwks_uri"] = json!(jwks_uri);
    }
    if let Some(alg) = metadata.request_object_signing_alg {
        body["request_object_signing_alg"] = json!(alg);
    }
    if metadata.require_signed_request_object {
        body["require_signed_request_object"] = json!(true);
    }
    let optional = [
        (
            "id_token_encrypted_response_alg",
            metadata
                .id_token_encrypted_response_alg
                .map(|alg| alg.as_str()),
        ),
        (
            "id_token_encrypted_response_enc",
            metadata
                .id_token_encrypted_response_enc
                .map(|enc| enc.as_str()),
        ),
        (
            "userinfo_signed_response_alg",
            metadata
                .userinfo_signed_response_alg
                .map(|alg| alg.as_str()),
        ),
        (
            "userinfo_encrypted_response_alg",
            metadata
                .userinfo_encrypted_response_alg
                .map(|alg| alg.as_str()),
        ),
        (
            "userinfo_encrypted_response_enc",
            metadata
                .userinfo_encrypted_response_enc
                .map(|enc| enc.as_str()),
        ),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            body[name] = json!(value);
        }
    }
    if !metadata.default_acr_values.is_empty() {
        body["default_acr_values"] = json!(metadata.default_acr_values);
    }
    if let Some(uri) = &metadata.backchannel_logout_uri {
        body["backchannel_logout_uri"] = json!(uri);
        body["backchannel_logout_session_required"] =
            json!(metadata.backchannel_logout_session_required);
    }
    body
}

/// The secret a new client is issued (none for public and `private_key_jwt` clients). A
/// `client_secret_jwt` secret is derived (see `ServerSecret::client_jwt_secret`), so the
/// metadata gets the derivation input; other secrets are random and only their digest is kept.
fn issue_secret(
    state: &AppState,
    client_id: &ClientId,
    metadata: &mut ClientMetadata,
) -> Option<String> {
    match metadata.token_endpoint_auth_method {
        TokenEndpointAuthMethod::ClientSecretJwt => {
            let derivation = encode_random(state.random_bytes());
            let secret = state
                .secret
                .client_jwt_secret(client_id.as_str(), &derivation);
            metadata.secret_derivation = Some(derivation);
            Some(secret)
        }
        method if method.uses_secret() => Some(encode_random(state.random_bytes())),
        _ => None,
    }
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
        (status = 429, response = RateLimited),
        (status = 500, response = ServerError),
    ),
)]
async fn post_register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    _: MayRegister,
    MetadataBody { request, .. }: MetadataBody,
) -> Result<Response, RegistrationError> {
    Limited::Register.check(&state, ip).await?;
    let mut metadata = validate_registration(
        request,
        &state
            .registration_limits
            .rules(&*state.resources.get().await?),
    )?;
    let client_id = ClientId::parse(&encode_random(state.random_bytes())[..22])?;
    let secret = issue_secret(&state, &client_id, &mut metadata);
    let registration_token = encode_random(state.random_bytes());
    let now = state.now();
    let client = RegisteredClient {
        client_id: client_id.clone(),
        secret_digest: secret.as_deref().map(SecretDigest::of),
        metadata,
    };
    let store = &state.store;
    store.clients.upsert_client(&client, now).await?;
    store
        .clients
        .set_registration_token(client_id.as_str(), &SecretDigest::of(&registration_token))
        .await?;
    store
        .audit
        .audit(
            "client_registered",
            Some(client_id.as_str()),
            None,
            &client.metadata.client_name,
            now,
        )
        .await?;
    tracing::info!(target: FLOW, "register: new client {client_id} ({}) registered (RFC 7591 §3.2.1)", client.metadata.client_name);
    let mut body = metadata_json(&client_id, &client.metadata);
    body["client_id_issued_at"] = json!(now.0);
    if let Some(secret) = secret {
        body["client_secret"] = json!(secret);
        body["client_secret_expires_at"] = json!(0);
    }
    body["registration_access_token"] = json!(registration_token);
    body["registration_client_uri"] = json!(
        state
            .issuer
            .url_for(&paths::register_client(client_id.as_str()))
    );
    Ok(no_store_json_with(StatusCode::CREATED, body))
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
    ManagedClient(client): ManagedClient,
) -> Response {
    let mut body = metadata_json(&client.client_id, &client.metadata);
    body["registration_client_uri"] = json!(
        state
            .issuer
            .url_for(&paths::register_client(client.client_id.as_str()))
    );
    no_store_json_with(StatusCode::OK, body)
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
    ManagedClient(client): ManagedClient,
    MetadataBody { request, client_id }: MetadataBody,
) -> Result<Response, RegistrationError> {
    if client_id.as_deref() != Some(client.client_id.as_str()) {
        return Err(OAuthError::invalid_request(
            "the body must repeat the client_id (RFC 7592 §2.2)",
        )
        .into());
    }
    let metadata = validate_registration(
        request,
        &state
            .registration_limits
            .rules(&*state.resources.get().await?),
    )?;
    let mut metadata = metadata;
    let (old_method, new_method) = (
        client.metadata.token_endpoint_auth_method,
        metadata.token_endpoint_auth_method,
    );
    if new_method.is_public() != client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "a client cannot switch between public and confidential",
        )
        .into());
    }
    // The secret stays what it was: a method that needs another kind of secret (a derived one
    // for client_secret_jwt, a random one for the others) needs a new registration.
    let secret_kind = |method: TokenEndpointAuthMethod| match method {
        TokenEndpointAuthMethod::ClientSecretJwt => 1,
        TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost => 2,
        _ => 0,
    };
    if secret_kind(old_method) != secret_kind(new_method) && secret_kind(new_method) != 0 {
        return Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "this token_endpoint_auth_method needs a secret this client was not issued: register a new client",
        )
        .into());
    }
    metadata
        .secret_derivation
        .clone_from(&client.metadata.secret_derivation);
    let updated = RegisteredClient { metadata, ..client };
    state
        .store
        .clients
        .upsert_client(&updated, state.now())
        .await?;
    let mut body = metadata_json(&updated.client_id, &updated.metadata);
    body["registration_client_uri"] = json!(
        state
            .issuer
            .url_for(&paths::register_client(updated.client_id.as_str()))
    );
    Ok(no_store_json_with(StatusCode::OK, body))
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
    ManagedClient(client): ManagedClient,
) -> Result<Response, RegistrationError> {
    let now = state.now();
    let client_id = client.client_id.as_str();
    state.store.clients.delete_client(client_id, now).await?;
    state
        .store
        .audit
        .audit(
            "client_deleted",
            Some(client_id),
            None,
            "deleted through RFC 7592",
            now,
        )
        .await?;
    tracing::info!(target: FLOW, "register: client {client_id} deleted; its refresh tokens are revoked (RFC 7592 §2.3)");
    Ok(StatusCode::NO_CONTENT.into_response())
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
