//! A client's registered public keys (OIDC Registration §2 `jwks` / `jwks_uri`), for client
//! assertions (RFC 7523) and request objects (RFC 9101), and their encryption keys (JWE).

use std::borrow::Cow;

use keys::jwe::{KeyManagement, recipient_key};
use serde_json::{Map, Value};

use crate::protocol::client::RegisteredClient;
use crate::protocol::registration::jwks_json;
use crate::state::AppState;
use crate::telemetry::FLOW;

/// The keys could not be had; the reason is logged (it may name the client's URL), never
/// shown.
#[derive(Debug)]
pub struct Unavailable;

/// The client's registered public keys: inline, or fetched from its `jwks_uri` (through the
/// fetcher: its address rules, size cap and cache).
pub async fn client_jwks<'c>(
    state: &AppState,
    client: &'c RegisteredClient,
) -> Result<Cow<'c, keys::JwkSet>, Unavailable> {
    let refuse = |description: String| {
        tracing::info!(target: FLOW, "client keys of {}: {description}", client.client_id);
        Unavailable
    };
    if let Some(jwks) = &client.metadata.jwks {
        return Ok(Cow::Borrowed(jwks));
    }
    let uri = client
        .metadata
        .jwks_uri
        .as_deref()
        .ok_or_else(|| refuse("no jwks and no jwks_uri".into()))?;
    let value = state
        .fetcher
        .json(uri, 64 * 1024)
        .await
        .map_err(|error| refuse(format!("{uri}: {error}")))?;
    let jwks: keys::JwkSet = serde_json::from_value((*value).clone())
        .map_err(|_| refuse(format!("{uri}: not a JWK Set")))?;
    crate::protocol::client_assertion::check_client_jwks(&jwks)
        .map_err(|reason| refuse(format!("{uri}: {reason}")))?;
    Ok(Cow::Owned(jwks))
}

/// The client's public key for JWE `alg` (OIDC Core §10.2): from its inline `jwks`, or its
/// `jwks_uri` (fetched as for signatures, and fetched again once when no key fits, in case the
/// client rotated).
pub async fn encryption_key(
    state: &AppState,
    client: &RegisteredClient,
    alg: KeyManagement,
) -> Result<Map<String, Value>, Unavailable> {
    let refuse = |description: String| {
        tracing::info!(target: FLOW, "client keys of {}: {description}", client.client_id);
        Unavailable
    };
    if let Some(jwks) = &client.metadata.jwks {
        let value = jwks_json(jwks);
        return recipient_key(&value, alg)
            .cloned()
            .map_err(|error| refuse(error.to_string()));
    }
    let uri = client
        .metadata
        .jwks_uri
        .as_deref()
        .ok_or_else(|| refuse("no jwks and no jwks_uri".into()))?;
    for attempt in 0..2 {
        let value = state
            .fetcher
            .json(uri, 64 * 1024)
            .await
            .map_err(|error| refuse(format!("{uri}: {error}")))?;
        match recipient_key(&value, alg) {
            Ok(key) => return Ok(key.clone()),
            Err(_) if attempt == 0 => state.fetcher.forget(uri),
            Err(error) => return Err(refuse(format!("{uri}: {error}"))),
        }
    }
    Err(Unavailable)
}
