//! RFC 9101 request objects at `/authorize` and `/par`: the `request` parameter, verified
//! with the client's registered keys, replaces the request's parameters.

use crate::error::Error;
use crate::http::client_keys::client_jwks;
use crate::protocol::client::RegisteredClient;
use crate::protocol::params::Params;
use crate::protocol::request_object::{check_header, verify};
use crate::protocol::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::telemetry::FLOW;

/// The parameters to use and whether they came from a verified request object. Without
/// `request` (or with request objects off, so that validation refuses it as
/// `request_not_supported`) the parameters are returned as they are.
pub async fn resolve(
    state: &AppState,
    params: Params,
    client: Option<&RegisteredClient>,
) -> Result<(Params, bool), Error> {
    if !state.features.request_objects {
        return Ok((params, false));
    }
    let Some(request) = params.single("request")? else {
        return Ok((params, false));
    };
    let client = client.ok_or(OAuthError::new(
        ErrorCode::InvalidRequest,
        "client_id is required next to request and must name a registered client (RFC 9101 §5)",
    ))?;
    let refused = |error: OAuthError| {
        tracing::info!(target: FLOW, "request object from {}: refused: {} (RFC 9101 §6)", client.client_id, error.description);
        error
    };
    // RFC 9101 §5: outside the object, response_type and client_id may repeat it; nothing else
    // counts (§6.3).
    check_header(request, client).map_err(refused)?;
    let keys = client_jwks(state, client).await.map_err(|_| {
        refused(OAuthError::new(
            ErrorCode::InvalidRequestObject,
            "the client's registered keys could not be read to verify the request object",
        ))
    })?;
    let verified = verify(request, client, &keys, &state.issuer, state.now());
    if verified.is_err()
        && let Some(uri) = &client.metadata.jwks_uri
    {
        // The client may have rotated its keys: the next attempt fetches them again.
        state.fetcher.forget(uri);
    }
    let inner = verified.map_err(refused)?;
    if let (Some(outer), Some(inside)) = (
        params.single("response_type")?,
        inner.single("response_type")?,
    ) && outer != inside
    {
        return Err(refused(OAuthError::new(
            ErrorCode::InvalidRequestObject,
            "response_type outside the request object differs from the one inside (RFC 9101 §5)",
        ))
        .into());
    }
    tracing::info!(target: FLOW, "request object from {}: signature verified with the client's registered key; only its claims count now (RFC 9101 §6.3)", client.client_id);
    Ok((inner, true))
}
