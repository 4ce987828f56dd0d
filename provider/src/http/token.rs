//! RFC 6749 §3.2 token endpoint: authorization_code, refresh_token, client_credentials and the
//! RFC 8628 device_code grant.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use openapi::document::tags;
use openapi::responses::{InvalidClient, ServerError};
use openapi::{ErrorBody, TokenResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::{AppState, now};
use crate::http::authorize::random_bytes;
use crate::http::error::{ApiError, no_store};
use crate::http::paths;
use crate::protocol::claims::{
    AccessTokenClaims, AccessTokenGrant, IdTokenGrant, access_token_claims, id_token_claims,
};
use crate::protocol::client::{RegisteredClient, authenticate_client, parse_client_credentials};
use crate::protocol::device::{PollDecision, poll_device};
use crate::protocol::params::Params;
use crate::protocol::scope::ScopeSet;
use crate::protocol::token::{
    DEVICE_CODE_GRANT, RefreshDecision, RefreshGrant, RefreshState, TokenRequest,
    check_client_credentials, check_code_redemption, check_grant_allowed, check_refresh,
    parse_token_request, should_issue_refresh_token,
};
use crate::protocol::types::{
    OpaqueToken, RefreshToken, SecretDigest, Subject, UnixTime, encode_random,
};
use crate::protocol::{ErrorCode, OAuthError};
use crate::store::{CodeRedemption, RefreshTokenRecord};
use crate::{Error, telemetry::FLOW};

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_token))
        .layer(crate::http::cross_origin_api())
}

/// Reads the form body of a token-family endpoint: `application/x-www-form-urlencoded` only.
pub(crate) fn form_params(headers: &HeaderMap, body: &Bytes) -> Result<Params, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded (RFC 6749 §3.2)",
        ));
    }
    Ok(Params::parse(body))
}

/// Authenticates the client of a token-family request (RFC 6749 §2.3).
pub(crate) async fn authenticated_client(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<RegisteredClient, ApiError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let presented = parse_client_credentials(authorization, params)?;
    let registered = state.store.client(presented.client_id()).await?;
    let client = authenticate_client(&presented, registered).inspect_err(|_| {
        tracing::info!(target: FLOW, "token: client authentication failed -> 401 invalid_client (RFC 6749 §5.2)");
    })?;
    tracing::Span::current().record("client_id", client.client_id.as_str());
    Ok(client)
}

/// A JSON success response that must not be cached (RFC 6749 §5.1).
pub(crate) fn no_store_json(body: impl serde::Serialize) -> Response {
    let mut response = axum::Json(body).into_response();
    no_store(&mut response);
    response
}

/// Token request (every grant).
///
/// RFC 6749 §3.2: exchange an authorization code (with the PKCE verifier), a refresh token
/// (rotated: the old one is spent, reuse revokes the family), client credentials, or an RFC
/// 8628 device code for tokens. Form-encoded; see `TokenRequest` for which members each
/// grant needs. Try it: `grant_type=client_credentials` with client_basic
/// `demo-service` / `demo-service-secret` (or those two in the body).
#[utoipa::path(
    post,
    path = paths::TOKEN,
    tag = tags::TOKEN,
    request_body(content = openapi::TokenRequest, content_type = "application/x-www-form-urlencoded", examples(
        ("1-client_credentials" = (summary = "client_credentials: demo-service, secret in the body (works as is)", value = json!({
            "grant_type": "client_credentials", "scope": "api:read",
            "client_id": openapi::demo::SERVICE_CLIENT_ID, "client_secret": openapi::demo::SERVICE_CLIENT_SECRET,
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
    )),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "RFC 6749 §5.1: the tokens.", body = TokenResponse, headers(
            ("Cache-Control" = String, description = "`no-store`"),
            ("Pragma" = String, description = "`no-cache`"),
        )),
        (status = 400, description = "RFC 6749 §5.2 / RFC 8628 §3.5: `invalid_request` (missing, repeated or malformed parameter, body not form-encoded), `invalid_grant` (code or refresh token invalid, expired, used, or PKCE mismatch), `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`, `invalid_target`, or for device polls `authorization_pending`, `slow_down`, `access_denied`, `expired_token`.", body = ErrorBody, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        ), examples(
            ("invalid_grant" = (value = json!({"error": "invalid_grant", "error_description": "the authorization code is invalid or expired"}))),
            ("unsupported_grant_type" = (value = json!({"error": "unsupported_grant_type", "error_description": "this grant type was removed by OAuth 2.1 and is not supported"}))),
            ("authorization_pending" = (value = json!({"error": "authorization_pending", "error_description": "the user has not finished yet; keep polling"}))),
        )),
        (status = 401, response = InvalidClient),
        (status = 500, response = ServerError),
    ),
)]
#[tracing::instrument(skip_all, fields(client_id, grant_type))]
async fn post_token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match token(&state, &headers, &body).await {
        Ok(response) => no_store_json(response),
        Err(error) => error.into_response(),
    }
}

async fn token(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<TokenResponse, ApiError> {
    let params = form_params(headers, body)?;
    let client = authenticated_client(state, headers, &params).await?;
    match parse_token_request(&params)? {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            tracing::Span::current().record("grant_type", "authorization_code");
            check_grant_allowed(&client, "authorization_code")?;
            let now = now();
            let issued = match state.ephemeral.consume_code(&code.digest(), now).await? {
                CodeRedemption::Consumed(issued) => issued,
                CodeRedemption::Replayed { grant_id } => {
                    state.store.revoke_grant(&grant_id, now).await?;
                    state
                        .store
                        .audit(
                            "authorization_code_replay",
                            Some(client.client_id.as_str()),
                            None,
                            "code reused; grant revoked",
                            now,
                        )
                        .await?;
                    tracing::warn!(client_id = %client.client_id, "authorization code replayed; its grant was revoked");
                    tracing::info!(target: FLOW,
                        "token: this code was already used -> invalid_grant, and every token issued from it is revoked (RFC 6749 §4.1.2)");
                    return Err(OAuthError::invalid_grant("the authorization code was already used; tokens issued from it are revoked").into());
                }
                CodeRedemption::Unknown => {
                    return Err(OAuthError::invalid_grant(
                        "the authorization code is invalid or expired",
                    )
                    .into());
                }
            };
            check_code_redemption(&issued, &client, &redirect_uri, &code_verifier, now).inspect_err(|error| {
                tracing::info!(target: FLOW, "token: {} -> invalid_grant (the code is now burned)", error.description);
            })?;
            tracing::info!(target: FLOW,
                "token: PKCE verifier matches the challenge (RFC 7636 §4.6); code was one-time and bound to {} and its redirect_uri",
                client.client_id);
            let refresh = should_issue_refresh_token(&client, &issued.scope);
            let minting = Minting {
                subject: &issued.subject,
                scope: &issued.scope,
                granted_scope: &issued.scope,
                audience: &issued.audience,
                auth_time: issued.auth_time,
                nonce: issued.nonce.as_deref(),
                grant_id: &issued.grant_id,
                refresh: refresh.then_some(RefreshIssue::First),
            };
            mint(state, &client, minting, now).await
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => {
            tracing::Span::current().record("grant_type", "refresh_token");
            check_grant_allowed(&client, "refresh_token")?;
            refresh(state, &client, &refresh_token, scope.as_ref()).await
        }
        TokenRequest::ClientCredentials { scope, resource } => {
            tracing::Span::current().record("grant_type", "client_credentials");
            check_grant_allowed(&client, "client_credentials")?;
            let scope = check_client_credentials(&client, scope.as_ref())?;
            let audience = client.audience_for(resource.as_deref())?;
            let (access_token, _) = mint_access_token(
                state,
                &client,
                client.client_id.as_str(),
                &scope,
                &audience,
                None,
                now(),
            )?;
            tracing::info!(target: FLOW,
                "token: client_credentials for {}: no user, so sub = client_id, no ID token, no refresh token (RFC 6749 §4.4, RFC 9068 §2.2)",
                client.client_id);
            Ok(TokenResponse {
                access_token,
                token_type: "Bearer".into(),
                expires_in: state.lifetimes.access_token,
                scope: Some(scope.to_string()),
                id_token: None,
                refresh_token: None,
            })
        }
        TokenRequest::DeviceCode { device_code } => {
            tracing::Span::current().record("grant_type", DEVICE_CODE_GRANT);
            check_grant_allowed(&client, DEVICE_CODE_GRANT)?;
            device_token(state, &client, &device_code).await
        }
    }
}

/// RFC 8628 §3.4-3.5: answers a device poll.
async fn device_token(
    state: &AppState,
    client: &RegisteredClient,
    device_code: &OpaqueToken,
) -> Result<TokenResponse, ApiError> {
    let now = now();
    let digest = device_code.digest();
    let record =
        state
            .ephemeral
            .device_by_code(&digest)
            .await?
            .ok_or(OAuthError::invalid_grant(
                "the device code is invalid or was already used",
            ))?;
    match poll_device(&record.grant, client, now)? {
        PollDecision::Refuse {
            error,
            interval_secs,
        } => {
            state
                .ephemeral
                .record_device_poll(&digest, now, interval_secs)
                .await?;
            tracing::info!(target: FLOW, "token: device poll -> {} (RFC 8628 §3.5)", error.code.as_str());
            Err(error.into())
        }
        PollDecision::Denied => {
            state.ephemeral.take_device(&digest).await?;
            Err(OAuthError::new(ErrorCode::AccessDenied, "the user denied the device").into())
        }
        PollDecision::Issue(authentication) => {
            if !state.ephemeral.take_device(&digest).await? {
                return Err(OAuthError::invalid_grant("the device code was already used").into());
            }
            tracing::info!(target: FLOW, "token: the user approved the device; the device code is spent and tokens are issued (RFC 8628 §3.5)");
            let grant = &record.grant;
            let grant_id = encode_random(random_bytes());
            let minting = Minting {
                subject: &authentication.subject,
                scope: &grant.scope,
                granted_scope: &grant.scope,
                audience: &grant.audience,
                auth_time: authentication.auth_time,
                nonce: None,
                grant_id: &grant_id,
                refresh: should_issue_refresh_token(client, &grant.scope)
                    .then_some(RefreshIssue::First),
            };
            mint(state, client, minting, now).await
        }
    }
}

async fn refresh(
    state: &AppState,
    client: &RegisteredClient,
    presented: &RefreshToken,
    requested: Option<&ScopeSet>,
) -> Result<TokenResponse, ApiError> {
    let now = now();
    let digest = presented.digest();
    let record = state
        .store
        .refresh_token(&digest)
        .await?
        .ok_or(OAuthError::invalid_grant(
            "the refresh token is invalid or expired",
        ))?;
    let refresh_state = record.state(state.refresh_grace_secs, now);
    let scope = match check_refresh(
        &record.grant,
        refresh_state,
        record.expires_at,
        client,
        requested,
        now,
    )? {
        RefreshDecision::RevokeFamily => {
            state
                .store
                .revoke_grant(&record.grant.grant_id, now)
                .await?;
            let subject = record.grant.subject.as_str();
            state
                .store
                .audit(
                    "refresh_token_reuse",
                    Some(client.client_id.as_str()),
                    Some(subject),
                    "rotated refresh token reused; family revoked",
                    now,
                )
                .await?;
            tracing::warn!(client_id = %client.client_id, "refresh token reuse detected; token family revoked");
            tracing::info!(target: FLOW,
                "token: a rotated-out refresh token was used again -> the whole family is revoked (RFC 9700 §4.14.2)");
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; this grant is revoked",
            )
            .into());
        }
        RefreshDecision::Rotate(scope) => scope,
    };
    if state
        .store
        .user_by_subject(&record.grant.subject)
        .await?
        .is_none()
    {
        return Err(OAuthError::invalid_grant("the user of this grant no longer exists").into());
    }
    tracing::info!(target: FLOW, "token: refresh token accepted; rotating it (OAuth 2.1 §4.3.1), scope \"{scope}\"");
    let issue = match refresh_state {
        RefreshState::Rotated { .. } => RefreshIssue::Grace(digest),
        _ => RefreshIssue::Rotate(digest),
    };
    let minting = Minting {
        subject: &record.grant.subject,
        scope: &scope,
        granted_scope: &record.grant.scope,
        audience: &record.grant.audience,
        auth_time: record.grant.auth_time,
        nonce: None,
        grant_id: &record.grant.grant_id,
        refresh: Some(issue),
    };
    mint(state, client, minting, now).await
}

enum RefreshIssue {
    /// A new family (code exchange, device grant).
    First,
    /// Replace this token (refresh).
    Rotate(SecretDigest),
    /// Reuse of a just-rotated token inside the grace window.
    Grace(SecretDigest),
}

struct Minting<'a> {
    subject: &'a Subject,
    /// Scope of the tokens issued now.
    scope: &'a ScopeSet,
    /// Scope of the grant (kept by a rotated refresh token).
    granted_scope: &'a ScopeSet,
    audience: &'a str,
    auth_time: UnixTime,
    nonce: Option<&'a str>,
    grant_id: &'a str,
    refresh: Option<RefreshIssue>,
}

/// Signs an RFC 9068 access token with the client's algorithm; returns it with its claims.
fn mint_access_token(
    state: &AppState,
    client: &RegisteredClient,
    subject: &str,
    scope: &ScopeSet,
    audience: &str,
    auth_time: Option<UnixTime>,
    now: UnixTime,
) -> Result<(String, AccessTokenClaims), Error> {
    let alg = client.access_token_alg();
    let published = state.published();
    let key = published.keys.active(alg).ok_or_else(|| {
        Error::internal("minting an access token", format!("no active {alg} key"))
    })?;
    let grant = AccessTokenGrant {
        subject,
        client_id: &client.client_id,
        scope,
        audience,
        auth_time,
    };
    let jti = encode_random(random_bytes());
    let claims = access_token_claims(
        &grant,
        &state.issuer,
        jti,
        now,
        state.lifetimes.access_token,
    );
    let token = key
        .sign("at+jwt", &claims)
        .map_err(|err| Error::internal("signing an access token", err))?;
    tracing::info!(target: FLOW,
        "token: access token minted as an RFC 9068 JWT (typ at+jwt, {alg}, kid {}), aud {audience}, jti {}, expires in {} s",
        key.kid(), claims.jti, state.lifetimes.access_token);
    Ok((token, claims))
}

/// Signs the access token (RFC 9068), the ID token for `openid`, and stores the refresh token.
async fn mint(
    state: &AppState,
    client: &RegisteredClient,
    minting: Minting<'_>,
    now: UnixTime,
) -> Result<TokenResponse, ApiError> {
    let lifetimes = state.lifetimes;
    let (access_token, claims) = mint_access_token(
        state,
        client,
        minting.subject.as_str(),
        minting.scope,
        minting.audience,
        Some(minting.auth_time),
        now,
    )?;
    state
        .store
        .record_access_token(&claims.jti, minting.grant_id, UnixTime(claims.exp))
        .await?;
    let id_token = if minting.scope.contains("openid") {
        let alg = client.id_token_alg();
        let published = state.published();
        let key = published.keys.active(alg).ok_or_else(|| {
            Error::internal("minting an ID token", format!("no active {alg} key"))
        })?;
        let grant = IdTokenGrant {
            subject: minting.subject,
            client_id: &client.client_id,
            auth_time: minting.auth_time,
            nonce: minting.nonce,
        };
        let claims = id_token_claims(
            &grant,
            &state.issuer,
            &access_token,
            alg,
            now,
            lifetimes.id_token,
        );
        tracing::info!(target: FLOW, "token: ID token signed with {alg} for aud {}, with nonce and at_hash (OIDC Core §3.1.3.6)", client.client_id);
        Some(
            key.sign("JWT", &claims)
                .map_err(|err| Error::internal("signing an ID token", err))?,
        )
    } else {
        None
    };
    let refresh_token = match &minting.refresh {
        None => None,
        Some(issue) => Some(store_refresh_token(state, client, &minting, issue, now).await?),
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: lifetimes.access_token,
        scope: Some(minting.scope.to_string()),
        id_token,
        refresh_token,
    })
}

/// Creates the next refresh token of the family: first, rotated, or via the grace window.
async fn store_refresh_token(
    state: &AppState,
    client: &RegisteredClient,
    minting: &Minting<'_>,
    issue: &RefreshIssue,
    now: UnixTime,
) -> Result<String, ApiError> {
    let token = RefreshToken::from_random(random_bytes());
    let record = RefreshTokenRecord {
        digest: token.digest(),
        grant: RefreshGrant {
            client_id: client.client_id.clone(),
            subject: minting.subject.clone(),
            scope: minting.granted_scope.clone(),
            audience: minting.audience.to_owned(),
            auth_time: minting.auth_time,
            grant_id: minting.grant_id.to_owned(),
        },
        issued_at: now,
        expires_at: now.plus(state.lifetimes.refresh_token),
        rotated_at: None,
        revoked: false,
        grace_used: false,
    };
    let reused = OAuthError::new(
        ErrorCode::InvalidGrant,
        "the refresh token was already used; this grant is revoked",
    );
    match issue {
        RefreshIssue::First => state.store.insert_refresh_token(&record).await?,
        RefreshIssue::Rotate(old) => {
            if !state.store.rotate_refresh_token(old, &record, now).await? {
                // A concurrent request rotated it first: treat as reuse.
                state.store.revoke_grant(minting.grant_id, now).await?;
                return Err(reused.into());
            }
        }
        RefreshIssue::Grace(old) => {
            if !state.store.use_refresh_grace(old, &record).await? {
                state.store.revoke_grant(minting.grant_id, now).await?;
                return Err(reused.into());
            }
            let subject = minting.subject.as_str();
            state
                .store
                .audit(
                    "refresh_token_grace_reuse",
                    Some(client.client_id.as_str()),
                    Some(subject),
                    "rotated refresh token reused within the grace window",
                    now,
                )
                .await?;
            tracing::info!(target: FLOW, "token: a just-rotated refresh token was reused inside the grace window; allowed once");
        }
    }
    tracing::info!(target: FLOW, "token: refresh token issued (offline_access granted); stored hashed, one use only");
    Ok(token.expose().to_owned())
}
