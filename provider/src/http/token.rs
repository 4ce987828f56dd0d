//! RFC 6749 §3.2 token endpoint: the dispatcher. Every request follows the same steps: parse
//! the form and authenticate the client (the [`ClientForm`] extractor), parse the grant, load
//! what the grant needs, let the grant decide (`protocol/grants/`), mint the tokens
//! (`protocol/issuance.rs`), persist what issuance says must be stored, render.
//!
//! A one-time credential that comes back (a replayed code, a reused or raced refresh token)
//! goes through `revoke_replayed`: the one place that revokes, audits and logs.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use openapi::document::tags;
use openapi::responses::{InvalidClient, ServerError};
use openapi::{ErrorBody, TokenResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Error;
use crate::http::client_keys::encryption_key;
use crate::http::dpop;
use crate::http::error::ApiError;
use crate::http::extractors::ClientForm;
use crate::http::own_tokens::presented_for_exchange;
use crate::http::paths;
use crate::http::responses::{cross_origin_api, no_store_json};
use crate::protocol::client::{GrantType, RegisteredClient};
use crate::protocol::grants::device_code::{ALREADY_USED, DENIED, Poll};
use crate::protocol::grants::{
    GrantError, Replay, ReplayKind, TokenRequest, authorization_code, client_credentials,
    device_code, parse_token_request, refresh_token, token_exchange,
};
use crate::protocol::issuance::{self, Minted, RefreshWrite};
use crate::protocol::types::{Subject, UnixTime};
use crate::protocol::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::telemetry::FLOW;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_token))
        .layer(cross_origin_api())
}

/// Token request (every grant).
///
/// RFC 6749 §3.2: exchange an authorization code (with the PKCE verifier), a refresh token
/// (rotated: the old one is spent, reuse revokes the family), client credentials, an RFC
/// 8628 device code, or (RFC 8693 token exchange) an access token for a narrower one. Each
/// client authenticates with its registered method: demo-api with `client_id` and
/// `client_secret` in the body (the examples work as they are), demo-web and demo-service with
/// HTTP Basic (Authorize, `client_basic`); clients registered for `private_key_jwt` or
/// `client_secret_jwt` send `client_assertion_type` and `client_assertion` (RFC 7523). A `DPoP`
/// proof (RFC 9449) binds the access token to the client's key (`token_type: DPoP`,
/// `cnf.jkt`). Form-encoded; see `TokenRequest` for which members each grant needs.
#[utoipa::path(
    post,
    path = paths::TOKEN,
    tag = tags::TOKEN,
    params(("DPoP" = Option<String>, Header, description = "RFC 9449 §4: a DPoP proof JWT (`typ: dpop+jwt`, the public key in `jwk`, `htm: POST`, `htu` this URL, a fresh `jti` and `iat`; the server's `nonce` when it requires one). Binds the access token, and a public client's refresh token, to that key.")),
    request_body(content = openapi::TokenRequest, content_type = "application/x-www-form-urlencoded", examples(
        ("1-client_credentials" = (summary = "client_credentials: demo-api, secret in the body (works as is)", value = json!({
            "grant_type": "client_credentials", "scope": "api:read",
            "client_id": openapi::demo::API_CLIENT_ID, "client_secret": openapi::demo::API_CLIENT_SECRET,
        }))),
        ("2-authorization_code" = (summary = "authorization_code: demo-cli with PKCE (paste the code from the redirect)", value = json!({
            "grant_type": "authorization_code", "code": "paste the code from the redirect",
            "redirect_uri": openapi::demo::CLI_REDIRECT_URI, "code_verifier": openapi::demo::CODE_VERIFIER,
            "client_id": openapi::demo::CLI_CLIENT_ID,
        }))),
        ("3-refresh_token" = (summary = "refresh_token: demo-cli (paste a refresh token)", value = json!({
            "grant_type": "refresh_token", "refresh_token": "paste a refresh token",
            "client_id": openapi::demo::CLI_CLIENT_ID,
        }))),
        ("4-device_code" = (summary = "device_code: demo-device polls (paste the device_code)", value = json!({
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": "paste the device_code from /device_authorization",
            "client_id": openapi::demo::DEVICE_CLIENT_ID,
        }))),
        ("5-token_exchange" = (summary = "token exchange: demo-api (a resource server) narrows a user's access token it received (paste one)", value = json!({
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": "paste a user's access token",
            "subject_token_type": openapi::ACCESS_TOKEN_TYPE,
            "scope": "api:read",
            "client_id": openapi::demo::API_CLIENT_ID, "client_secret": openapi::demo::API_CLIENT_SECRET,
        }))),
    )),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "RFC 6749 §5.1: the tokens.", body = TokenResponse, headers(
            ("Cache-Control" = String, description = "`no-store`"),
            ("Pragma" = String, description = "`no-cache`"),
            ("DPoP-Nonce" = String, description = "RFC 9449 §8: with a DPoP proof, the nonce for the next one"),
        )),
        (status = 400, description = "RFC 6749 §5.2 / RFC 8628 §3.5 / RFC 8693 §2.2.2: `invalid_request` (missing, repeated or malformed parameter, body not form-encoded; for token exchange also an unacceptable subject or actor token), `invalid_grant` (code or refresh token invalid, expired, used, or PKCE mismatch), `unauthorized_client`, `unsupported_grant_type`, `invalid_scope` (for token exchange: any widening), `invalid_target` (a resource the client may not target), `invalid_dpop_proof` / `use_dpop_nonce` (RFC 9449: a missing, malformed, replayed or mismatched DPoP proof, or one without the required nonce; the answer carries `DPoP-Nonce`), or for device polls `authorization_pending`, `slow_down`, `access_denied`, `expired_token`.", body = ErrorBody, headers(
            ("Cache-Control" = String, description = "`no-store`"),
            ("DPoP-Nonce" = String, description = "RFC 9449 §8: the nonce for the next DPoP proof (DPoP errors only)"),
        ), examples(
            ("invalid_grant" = (value = json!({"error": "invalid_grant", "error_description": "the authorization code is invalid or expired"}))),
            ("unsupported_grant_type" = (value = json!({"error": "unsupported_grant_type", "error_description": "this grant type was removed by OAuth 2.1 and is not supported"}))),
            ("authorization_pending" = (value = json!({"error": "authorization_pending", "error_description": "the user has not finished yet; keep polling"}))),
        )),
        (status = 401, response = InvalidClient),
        (status = 500, response = ServerError),
    ),
)]
#[tracing::instrument(skip_all, fields(grant_type))]
async fn post_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientForm { client, params }: ClientForm,
) -> Result<Response, ApiError> {
    let mut request = parse_token_request(&params)?;
    let grant_type = request.grant_type();
    tracing::Span::current().record("grant_type", grant_type.as_str());
    client.check_grant(grant_type)?;
    // RFC 9449 §5: a DPoP proof binds the tokens to the client's key.
    let proof = dpop::check(&state, &headers, "POST", paths::TOKEN, None)
        .await
        .map_err(|error| {
            tracing::info!(target: FLOW, "token: DPoP proof refused: {} -> {}", error.description, error.code.as_str());
            ApiError::Dpop {
                error,
                nonce: dpop::current_nonce(&state),
            }
        })?;
    let dpop_jkt = proof.map(|proof| proof.jkt);
    if dpop_jkt.is_none() && client.metadata.dpop_bound_access_tokens {
        return Err(ApiError::Dpop {
            error: OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "this client registered dpop_bound_access_tokens: send a DPoP proof (RFC 9449 §5.2)",
            ),
            nonce: dpop::current_nonce(&state),
        });
    }
    match &mut request {
        TokenRequest::AuthorizationCode(request) => request.dpop_jkt.clone_from(&dpop_jkt),
        TokenRequest::RefreshToken(request) => request.dpop_jkt.clone_from(&dpop_jkt),
        _ => {}
    }
    // OIDC Core §10.2: the key an ID token is encrypted to is found before anything is
    // consumed, so a client whose keys cannot be read loses no code or refresh token.
    let id_token_recipient = match client.id_token_encryption() {
        Some((alg, enc))
            if !matches!(
                grant_type,
                GrantType::ClientCredentials | GrantType::TokenExchange
            ) =>
        {
            let key = encryption_key(&state, &client, alg).await.map_err(|_| {
                OAuthError::invalid_request(
                    "the ID token cannot be encrypted: the client's registered keys hold no usable encryption key",
                )
            })?;
            Some((key, alg, enc))
        }
        _ => None,
    };
    let now = state.now();
    let store = &state.store;
    let registry = state.resources.get().await?;
    let registry = &*registry;
    let mut exchanged = None;
    let decided = match request {
        TokenRequest::AuthorizationCode(request) => {
            let code = request.code.digest();
            let redemption = store.ephemeral.consume_code(&code, now).await?;
            authorization_code::exchange(&client, registry, &request, redemption, now)
        }
        TokenRequest::RefreshToken(request) => {
            let digest = request.refresh_token.digest();
            let record = store.grants.refresh_token(&digest).await?;
            let user_exists = match &record {
                Some(record) => {
                    let user = store.users.user_by_subject(&record.grant.subject).await?;
                    user.is_some_and(|user| !user.disabled)
                }
                None => false,
            };
            let grace_secs = state.refresh_grace_secs;
            let loaded = refresh_token::Loaded {
                record,
                user_exists,
                grace_secs,
                max_lifetime_secs: state.lifetimes.refresh_token_max,
            };
            refresh_token::exchange(&client, registry, &request, loaded, now)
        }
        TokenRequest::ClientCredentials(request) => {
            client_credentials::exchange(&client, registry, &request)
        }
        TokenRequest::TokenExchange(request) => {
            let subject =
                presented_for_exchange(&state, &request.subject_token, "subject_token").await?;
            let actor = match &request.actor_token {
                Some(token) => Some(presented_for_exchange(&state, token, "actor_token").await?),
                None => None,
            };
            match (subject, actor) {
                (Err(error), _) | (_, Some(Err(error))) => Err(error.into()),
                (Ok(subject), actor) => {
                    let actor = actor.and_then(Result::ok);
                    token_exchange::exchange(
                        &client,
                        registry,
                        &request,
                        &subject,
                        actor.as_ref(),
                        now,
                    )
                    .inspect(|issue| {
                        exchanged = Some(token_exchange::audit_detail(
                            &subject,
                            actor.as_ref(),
                            issue,
                        ))
                    })
                }
            }
        }
        TokenRequest::DeviceCode(request) => {
            let digest = request.device_code.digest();
            let grant = store.ephemeral.device_by_code(&digest).await?;
            match device_code::poll(
                &client,
                registry,
                &request,
                grant.map(|record| record.grant),
                now,
            ) {
                Ok(Poll::Wait {
                    error,
                    interval_secs,
                }) => {
                    store
                        .ephemeral
                        .record_device_poll(&digest, now, interval_secs)
                        .await?;
                    Err(error.into())
                }
                Ok(Poll::Denied) => {
                    store.ephemeral.take_device(&digest).await?;
                    Err(DENIED.into())
                }
                Ok(Poll::Approved(issue)) if store.ephemeral.take_device(&digest).await? => {
                    Ok(*issue)
                }
                Ok(Poll::Approved(_)) => Err(ALREADY_USED.into()),
                Err(error) => Err(error),
            }
        }
    };
    let mut issue = match decided {
        Ok(issue) => issue,
        Err(GrantError::Refused(error)) => {
            tracing::info!(target: FLOW, "token: {} -> {} (RFC 6749 §5.2)", error.description, error.code.as_str());
            return Err(error.into());
        }
        Err(GrantError::Replayed(replay)) => {
            revoke_replayed(&state, &client, &replay, now).await?;
            return Err(replay.kind.error().into());
        }
    };
    issue.dpop_jkt.clone_from(&dpop_jkt);
    let published = state.published();
    let context = issuance::Context {
        issuer: &state.issuer,
        keys: &published.keys,
        lifetimes: &state.lifetimes,
    };
    let random = state.issuance_randomness();
    let mut minted = issuance::mint(issue, &client, &context, random, now)
        .map_err(|error| Error::internal("minting tokens", error))?;
    if let (Some((key, alg, enc)), Some(id_token)) =
        (&id_token_recipient, minted.response.id_token.as_deref())
    {
        // RFC 7519 §5.2: a nested JWT, signed then encrypted.
        let encrypted = keys::jwe::encrypt(id_token.as_bytes(), Some("JWT"), key, *alg, *enc)
            .map_err(|error| Error::internal("encrypting the ID token", error))?;
        tracing::info!(target: FLOW, "token: ID token signed, then encrypted to the client's key ({}, {}; OIDC Core §10.2)", alg.as_str(), enc.as_str());
        minted.response.id_token = Some(encrypted);
    }
    persist(&state, &client, &minted, now).await?;
    if let Some(detail) = exchanged {
        // Every exchange is audited (RFC 8693 leaves the trail to the server).
        let subject = Some(minted.access_token.sub.as_str());
        let client_id = Some(client.client_id.as_str());
        store
            .audit
            .audit("token_exchange", client_id, subject, &detail, now)
            .await?;
    }
    crate::metrics::token_issued(grant_type.as_str(), client.client_id.as_str());
    narrate(grant_type, &client, &minted);
    let mut response = no_store_json(minted.response);
    if dpop_jkt.is_some()
        && let Ok(nonce) = axum::http::HeaderValue::from_str(&dpop::current_nonce(&state))
    {
        response.headers_mut().insert("dpop-nonce", nonce);
    }
    Ok(response)
}

/// The replay policy (RFC 6749 §4.1.2, RFC 9700 §4.14.2): revoke every token of the grant,
/// write the audit event, log it.
async fn revoke_replayed(
    state: &AppState,
    client: &RegisteredClient,
    replay: &Replay,
    now: UnixTime,
) -> Result<(), ApiError> {
    state
        .store
        .grants
        .revoke_grant(&replay.grant_id, now)
        .await?;
    let subject = replay.subject.as_ref().map(Subject::as_str);
    let event = replay.kind.audit_event();
    let client_id = Some(client.client_id.as_str());
    let detail = replay.kind.audit_detail();
    state
        .store
        .audit
        .audit(event, client_id, subject, detail, now)
        .await?;
    tracing::warn!(client_id = %client.client_id, event, "one-time credential replayed; its grant was revoked");
    tracing::info!(target: FLOW, "token: {}", replay.kind.explanation());
    Ok(())
}

/// Stores what issuance produced for a user grant: the access token's `jti` under its grant
/// (so revoking the grant denies it), and the refresh token (first, rotated, or the grace
/// reuse). Losing a rotation race counts as reuse.
async fn persist(
    state: &AppState,
    client: &RegisteredClient,
    minted: &Minted,
    now: UnixTime,
) -> Result<(), ApiError> {
    let Some(grant) = &minted.grant else {
        return Ok(());
    };
    let grants = &state.store.grants;
    let access = &minted.access_token;
    grants
        .record_access_token(&access.jti, &grant.grant_id, UnixTime(access.exp))
        .await?;
    let stored = match &grant.refresh {
        RefreshWrite::None => true,
        RefreshWrite::Insert(record) => {
            grants.insert_refresh_token(record).await?;
            true
        }
        RefreshWrite::Rotate { old, new } => grants.rotate_refresh_token(old, new, now).await?,
        RefreshWrite::Grace { old, new } => {
            let spent = grants.use_refresh_grace(old, new).await?;
            if spent {
                let event = "refresh_token_grace_reuse";
                let detail = "rotated refresh token reused within the grace window";
                let client_id = Some(client.client_id.as_str());
                let subject = Some(access.sub.as_str());
                state
                    .store
                    .audit
                    .audit(event, client_id, subject, detail, now)
                    .await?;
                tracing::info!(target: FLOW, "token: a just-rotated refresh token was reused inside the grace window; allowed once");
            }
            spent
        }
    };
    if !stored {
        let replay = Replay {
            kind: ReplayKind::ConcurrentRefresh,
            grant_id: grant.grant_id.clone(),
            subject: Some(Subject(access.sub.clone())),
        };
        revoke_replayed(state, client, &replay, now).await?;
        return Err(replay.kind.error().into());
    }
    Ok(())
}

/// The educational log of a successful token response.
fn narrate(grant_type: GrantType, client: &RegisteredClient, minted: &Minted) {
    let client_id = &client.client_id;
    match grant_type {
        GrantType::AuthorizationCode => tracing::info!(target: FLOW,
            "token: PKCE verifier matches the challenge (RFC 7636 §4.6); code was one-time and bound to {client_id} and its redirect_uri"),
        GrantType::RefreshToken => tracing::info!(target: FLOW,
            "token: refresh token accepted and rotated (OAuth 2.1 §4.3.1), scope \"{}\"", minted.access_token.scope),
        GrantType::ClientCredentials => tracing::info!(target: FLOW,
            "token: client_credentials for {client_id}: no user, so sub = client_id, no ID token, no refresh token (RFC 6749 §4.4, RFC 9068 §2.2)"),
        GrantType::DeviceCode => tracing::info!(target: FLOW,
            "token: the user approved the device; the device code is spent and tokens are issued (RFC 8628 §3.5)"),
        GrantType::TokenExchange => tracing::info!(target: FLOW,
            "token: token exchange for {client_id}: the subject token is ours and unrevoked, the new token keeps its sub{}, narrows to scope \"{}\" for aud {} and ends no later (RFC 8693 §2.2)",
            if minted.access_token.act.is_some() { " and names the actor in act (§4.1)" } else { "" },
            minted.access_token.scope, minted.access_token.aud),
    }
    let (alg, kid) = &minted.access_token_key;
    let access = &minted.access_token;
    tracing::info!(target: FLOW,
        "token: access token minted as an RFC 9068 JWT (typ at+jwt, {alg}, kid {kid}), aud {}, jti {}, expires at {}",
        access.aud, access.jti, access.exp);
    if let Some(alg) = minted.id_token_alg {
        tracing::info!(target: FLOW, "token: ID token signed with {alg} for aud {client_id}, with nonce and at_hash (OIDC Core §3.1.3.6)");
    }
    if minted.response.refresh_token.is_some() {
        tracing::info!(target: FLOW, "token: refresh token issued (offline_access granted); stored hashed, one use only");
    }
}
