//! RFC 9126 pushed authorization requests.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::Response;
use openapi::document::tags;
use openapi::responses::{InvalidClient, RateLimited, ServerError};
use openapi::{ErrorBody, ParResponse, PushedAuthorizationRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::dpop;
use crate::http::error::ApiError;
use crate::http::extractors::{ClientForm, ClientIp};
use crate::http::limits::Limited;
use crate::http::paths;
use crate::http::request_object;
use crate::http::responses::no_store_json_with;
use crate::protocol::OAuthError;
use crate::protocol::authorize::{RequestSource, validate_authorize, validate_client_redirect};
use crate::protocol::types::{SecretDigest, encode_random};
use crate::state::AppState;
use crate::telemetry::FLOW;

/// RFC 9126 §2.2: a pushed request lives 60 seconds.
const PAR_LIFETIME_SECS: u64 = 60;
/// RFC 9126 §2.2 URN prefix.
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(post_par))
}

/// Pushed authorization request.
///
/// RFC 9126 §2: authenticates the client, validates the request exactly as `/authorize` would,
/// and returns a one-time `request_uri` (60 seconds) for
/// `/authorize?client_id=…&request_uri=…`. Try it with the demo-web example values after
/// pressing Authorize (`client_basic`: demo-web / demo-web-secret; demo-web is registered for
/// HTTP Basic, so its secret in the body is refused).
#[utoipa::path(
    post,
    path = paths::PAR,
    tag = tags::AUTHORIZATION,
    request_body(content = PushedAuthorizationRequest, content_type = "application/x-www-form-urlencoded", example = json!({
        "client_id": openapi::demo::WEB_CLIENT_ID,
        "response_type": "code", "redirect_uri": openapi::demo::WEB_REDIRECT_URI, "scope": "openid profile",
        "code_challenge": openapi::demo::CODE_CHALLENGE, "code_challenge_method": "S256", "state": "af0ifjsldkj",
    })),
    security(("client_basic" = []), ()),
    responses(
        (status = 201, description = "RFC 9126 §2.2: the request is stored.", body = ParResponse, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 400, description = "RFC 9126 §2.3: the request is invalid as an authorization request (`invalid_request`, `invalid_scope`, `unsupported_response_type`, `unauthorized_client`, `invalid_target`, ...) or pushes a `request_uri`.", body = ErrorBody, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 401, response = InvalidClient),
        (status = 429, response = RateLimited),
        (status = 500, response = ServerError),
    ),
)]
async fn post_par(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ClientForm { client, params }: ClientForm,
) -> Result<Response, ApiError> {
    Limited::Par.check(&state, ip).await?;
    if params.contains("request_uri") {
        return Err(ApiError::OAuth(OAuthError::invalid_request(
            "request_uri must not be pushed (RFC 9126 §2.1)",
        )));
    }
    // RFC 9126 §3: a pushed request object is verified now; its claims are what is stored.
    let (params, signed) = request_object::resolve(&state, params, Some(&client)).await?;
    if client.metadata.require_signed_request_object && !signed {
        return Err(ApiError::OAuth(OAuthError::invalid_request(
            "this client must push its authorization requests as signed request objects (RFC 9101 §10.5)",
        )));
    }
    // RFC 9449 §10.1: a DPoP proof at PAR binds the code to its key, as dpop_jkt would.
    let proof = dpop::check(&state, &headers, "POST", paths::PAR, None)
        .await
        .map_err(|error| ApiError::Dpop {
            error,
            nonce: dpop::current_nonce(&state),
        })?;
    if let (Some(proof), Ok(Some(jkt))) = (&proof, params.single("dpop_jkt"))
        && proof.jkt != jkt
    {
        return Err(ApiError::Dpop {
            error: OAuthError::new(
                crate::protocol::ErrorCode::InvalidDpopProof,
                "dpop_jkt differs from the key of the DPoP proof (RFC 9449 §10.1)",
            ),
            nonce: dpop::current_nonce(&state),
        });
    }
    let redirect_uri = validate_client_redirect(&params, Some(&client))?;
    // id_token_hint in a pushed request is not supported: it would need the user's browser.
    let registry = state.resources.get().await?;
    validate_authorize(
        &params,
        &client,
        &registry,
        redirect_uri,
        RequestSource::Pushed,
        |_| {
            Err(OAuthError::invalid_request(
                "id_token_hint is not supported in pushed requests",
            ))
        },
    )?;
    let handle = encode_random(state.random_bytes());
    let request_uri = format!("{REQUEST_URI_PREFIX}{handle}");
    // Client credentials are not part of the authorization request.
    let mut pairs: Vec<(String, String)> = params
        .pairs()
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "client_secret" | "client_assertion" | "client_assertion_type"
            )
        })
        .cloned()
        .collect();
    if let Some(proof) = proof
        && !params.contains("dpop_jkt")
    {
        pairs.push(("dpop_jkt".to_owned(), proof.jkt));
    }
    state
        .store
        .ephemeral
        .insert_pushed_request(
            &SecretDigest::of(&request_uri),
            client.client_id.as_str(),
            &pairs,
            state.now().plus(PAR_LIFETIME_SECS),
        )
        .await?;
    tracing::info!(target: FLOW, "par: {} pushed a valid authorization request; the browser will carry only the request_uri (RFC 9126 §2.2)", client.client_id);
    Ok(no_store_json_with(
        StatusCode::CREATED,
        ParResponse {
            request_uri,
            expires_in: PAR_LIFETIME_SECS,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_uri_is_a_urn() {
        assert!(REQUEST_URI_PREFIX.starts_with("urn:ietf:params:oauth:request_uri:"));
    }
}
