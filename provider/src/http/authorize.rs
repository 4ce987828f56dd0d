//! RFC 6749 §3.1 authorization endpoint.
//!
//! `/authorize` validates the request (or takes a pushed one, RFC 9126); when the user must log
//! in or consent it starts an interaction (see `interaction.rs`) and redirects there; when
//! nothing is left to do it issues the code and sends the browser to the client.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use openapi::AuthorizationRequestParams;
use openapi::document::tags;
use openapi::responses::{HtmlError, HtmlServerError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::{AppState, now};
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::interaction::{complete_interaction, start_interaction};
use crate::http::paths;
use crate::protocol::authorize::{
    Authentication, AuthorizationRequest, InteractionProgress, NextStep, error_redirect, next_step,
    success_redirect, validate_authorize, validate_client_redirect,
};
use crate::protocol::claims::AccessTokenClaims;
use crate::protocol::client::RegisteredClient;
use crate::protocol::params::Params;
use crate::protocol::token::IssuedCode;
use crate::protocol::types::{AuthorizationCode, SecretDigest, Subject, encode_random};
use crate::protocol::{ErrorCode, OAuthError};
use crate::store::{InteractionPurpose, InteractionRecord};
use crate::{Error, telemetry::FLOW};

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_authorize, post_authorize))
}

/// Random bytes for codes, handles and ids (the protocol core takes them as input).
pub(crate) fn random_bytes() -> [u8; 32] {
    rand::random()
}

/// A 303 redirect that also carries cookie changes.
pub(crate) fn see_other(jar: CookieJar, location: &str) -> Response {
    (jar, Redirect::to(location)).into_response()
}

/// Authorization request (browser).
///
/// RFC 6749 §4.1.1 / OIDC Core §3.1.2.1 with mandatory PKCE S256 (RFC 7636), or RFC 9126
/// `client_id` + `request_uri` after `/par`. Open it in a browser: it answers with redirects
/// to the login and consent pages and finally to the client's `redirect_uri` with `code`,
/// `state` and `iss` (RFC 9207), or with `error` once the redirect URI is trusted.
#[utoipa::path(
    get,
    path = paths::AUTHORIZE,
    tag = tags::AUTHORIZATION,
    params(AuthorizationRequestParams),
    responses(
        (status = 303, description = AUTHORIZE_REDIRECT, headers(
            ("Location" = String, description = "`/interaction/{id}`, or `{redirect_uri}?code=…&state=…&iss=…`, or `{redirect_uri}?error=…&error_description=…&state=…&iss=…` (RFC 6749 §4.1.2, RFC 9207)."),
            ("Set-Cookie" = String, description = "`oidc_browser`: binds the interaction to this browser (HttpOnly, SameSite=Lax)."),
        )),
        (status = 400, response = HtmlError),
        (status = 500, response = HtmlServerError),
    ),
)]
async fn get_authorize(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    authorize(state, jar, params).await
}

/// Authorization request, form-encoded (browser).
///
/// OIDC Core §3.1.2.1: the same parameters as `GET /authorize`, in a form body.
#[utoipa::path(
    post,
    path = paths::AUTHORIZE,
    tag = tags::AUTHORIZATION,
    request_body(content = AuthorizationRequestParams, content_type = "application/x-www-form-urlencoded", example = json!({
        "client_id": openapi::demo::CLI_CLIENT_ID, "response_type": "code", "redirect_uri": openapi::demo::CLI_REDIRECT_URI,
        "scope": "openid profile", "state": "af0ifjsldkj", "nonce": "n-0S6_WzA2Mj",
        "code_challenge": openapi::demo::CODE_CHALLENGE, "code_challenge_method": "S256",
    })),
    responses(
        (status = 303, description = AUTHORIZE_REDIRECT, headers(
            ("Location" = String, description = "`/interaction/{id}`, or `{redirect_uri}?code=…&state=…&iss=…`, or `{redirect_uri}?error=…&error_description=…&state=…&iss=…` (RFC 6749 §4.1.2, RFC 9207)."),
            ("Set-Cookie" = String, description = "`oidc_browser`: binds the interaction to this browser (HttpOnly, SameSite=Lax)."),
        )),
        (status = 400, response = HtmlError),
        (status = 500, response = HtmlServerError),
    ),
)]
async fn post_authorize(State(state): State<AppState>, jar: CookieJar, body: Bytes) -> Response {
    authorize(state, jar, Params::parse(&body)).await
}

const AUTHORIZE_REDIRECT: &str = "See Other: to the login or consent page of a new \
    interaction, or (nothing left to ask) to the client's `redirect_uri` with the code, or with \
    an error once `client_id` and `redirect_uri` are validated.";

#[tracing::instrument(skip_all, fields(client_id))]
async fn authorize(state: AppState, jar: CookieJar, params: Params) -> Response {
    match authorize_inner(&state, jar, params).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// RFC 9126 §4: `/authorize?client_id=…&request_uri=…` uses the pushed parameters, once.
async fn resolve_pushed_request(
    state: &AppState,
    params: Params,
) -> Result<(Params, bool), PageError> {
    let Some(request_uri) = params.single("request_uri")? else {
        return Ok((params, false));
    };
    let invalid =
        |description| PageError::OAuth(OAuthError::new(ErrorCode::InvalidRequestUri, description));
    let client_id = params
        .single("client_id")?
        .ok_or_else(|| invalid("client_id is required with request_uri (RFC 9126 §4)"))?;
    // Taken only together with the client that pushed it: a wrong client_id spends nothing.
    let pairs = state
        .ephemeral
        .take_pushed_request(&SecretDigest::of(request_uri), client_id, now())
        .await?
        .ok_or_else(|| invalid("request_uri is unknown, expired, already used or pushed by another client (RFC 9126 §4)"))?;
    tracing::info!(target: FLOW, "authorize: using the request {client_id} pushed to the PAR endpoint (RFC 9126 §4); it is now spent");
    Ok((Params::from_pairs(pairs), true))
}

async fn authorize_inner(
    state: &AppState,
    jar: CookieJar,
    params: Params,
) -> Result<Response, PageError> {
    let (params, pushed) = resolve_pushed_request(state, params).await?;
    let client = match params.single("client_id")? {
        Some(client_id) => state.store.client(client_id).await?,
        None => None,
    };
    // Stage one: until client_id and redirect_uri are valid, errors are shown, never redirected.
    let redirect_uri = validate_client_redirect(&params, client.as_ref()).inspect_err(|error| {
        tracing::info!(target: FLOW, "authorize: refused before redirecting: {} (RFC 6749 §4.1.2.1: never redirect to an unverified URI)", error.description);
    })?;
    let Some(client) = client else {
        return Err(PageError::OAuth(OAuthError::invalid_request(
            "client_id does not name a registered client",
        )));
    };
    tracing::Span::current().record("client_id", client.client_id.as_str());
    let state_param = params.single("state").ok().flatten().map(str::to_owned);
    let validated = if client.metadata.require_pushed_authorization_requests && !pushed {
        Err(OAuthError::invalid_request(
            "this client must push its authorization requests (RFC 9126 §6)",
        ))
    } else {
        validate_authorize(&params, &client, redirect_uri.clone(), |hint| {
            verify_id_token_hint(state, &client, hint)
        })
    };
    let request = match validated {
        Ok(request) => request,
        Err(error) => {
            tracing::info!(target: FLOW, "authorize: {} -> error redirect {} (RFC 6749 §4.1.2.1)", error.description, error.code.as_str());
            return Ok(Redirect::to(&error_redirect(
                &redirect_uri,
                &error,
                state_param.as_deref(),
                &state.issuer,
            ))
            .into_response());
        }
    };
    tracing::info!(target: FLOW,
        "authorize: request from {} is valid: redirect_uri registered, PKCE S256 challenge present, scope \"{}\" (RFC 6749 §4.1.1, RFC 7636 §4.3)",
        client.client_id, request.scope);
    let session = current_session(state, &jar).await?;
    proceed(
        state,
        jar,
        &client,
        request,
        session,
        InteractionProgress::default(),
        None,
    )
    .await
}

/// Why a presented token is not one of our access tokens.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NotOurAccessToken {
    /// Not signed by our keys for our issuer (or not a JWT at all).
    Invalid,
    /// Signed by us, but `typ` is not `at+jwt` (an ID token, RFC 9068 §4).
    NotAnAccessToken,
}

/// Verifies an access token we issued: signature by our keys, our issuer, `typ` `at+jwt`
/// (RFC 9068 §4; media-type names compare case-insensitively, `application/` may be spelled
/// out). Any audience; expiry is left to the caller (UserInfo refuses, introspection answers
/// inactive).
pub(crate) fn verify_own_access_token(
    state: &AppState,
    token: &str,
) -> Result<AccessTokenClaims, NotOurAccessToken> {
    let mut validation = keys::Validation::new(keys::SigningAlg::RS256.jwt_algorithm());
    validation.set_issuer(&[state.issuer.as_str()]);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let data = state
        .published()
        .keys
        .verify::<AccessTokenClaims>(token, &validation)
        .map_err(|_| NotOurAccessToken::Invalid)?;
    let typ = data.header.typ.as_deref().unwrap_or_default();
    if typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt") {
        Ok(data.claims)
    } else {
        Err(NotOurAccessToken::NotAnAccessToken)
    }
}

/// Verifies an ID token we issued to `client` (signature, issuer, audience; expiry does not
/// matter) and returns its claims: `id_token_hint` at authorization and at logout.
pub(crate) fn verify_own_id_token(
    state: &AppState,
    client_id: Option<&str>,
    token: &str,
) -> Option<serde_json::Value> {
    let mut validation = keys::Validation::new(keys::SigningAlg::RS256.jwt_algorithm());
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[state.issuer.as_str()]);
    match client_id {
        Some(client_id) => validation.set_audience(&[client_id]),
        None => validation.validate_aud = false,
    }
    let data = state
        .published()
        .keys
        .verify::<serde_json::Value>(token, &validation)
        .ok()?;
    // RFC 8725 §3.11 / RFC 9068 §4: an access token (typ at+jwt) is never an ID token.
    let typ = data.header.typ.as_deref().unwrap_or("JWT");
    typ.eq_ignore_ascii_case("JWT").then_some(data.claims)
}

/// OIDC Core §3.1.2.1 `id_token_hint`: an ID token we issued to this client.
fn verify_id_token_hint(
    state: &AppState,
    client: &RegisteredClient,
    hint: &str,
) -> Result<Subject, OAuthError> {
    let claims = verify_own_id_token(state, Some(client.client_id.as_str()), hint).ok_or(
        OAuthError::invalid_request(
            "id_token_hint is not an ID token this provider issued to this client",
        ),
    )?;
    claims
        .get("sub")
        .and_then(serde_json::Value::as_str)
        .map(|sub| Subject(sub.to_owned()))
        .ok_or(OAuthError::invalid_request("id_token_hint has no sub"))
}

/// The browser's live SSO session, if any.
pub(crate) async fn current_session(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<Authentication>, Error> {
    let Some(digest) = cookies::digest(jar, cookies::SESSION) else {
        return Ok(None);
    };
    let session = state.store.session(&digest, now()).await?;
    Ok(session.map(|session| Authentication {
        subject: session.subject,
        auth_time: session.auth_time,
    }))
}

/// Decides the next step of a code-flow request and performs it: redirect to the interaction
/// page, or issue the code.
pub(crate) async fn proceed(
    state: &AppState,
    jar: CookieJar,
    client: &RegisteredClient,
    request: AuthorizationRequest,
    session: Option<Authentication>,
    progress: InteractionProgress,
    interaction: Option<InteractionRecord>,
) -> Result<Response, PageError> {
    let remembered = match &session {
        Some(auth) => {
            state
                .store
                .consent(&auth.subject, client.client_id.as_str())
                .await?
        }
        None => None,
    };
    match next_step(
        &request,
        client,
        session.as_ref(),
        remembered.as_ref(),
        progress,
        now(),
    ) {
        Err(error) => {
            tracing::info!(target: FLOW, "authorize: {} -> {} (OIDC Core §3.1.2.6)", error.description, error.code.as_str());
            if let Some(interaction) = &interaction {
                state.ephemeral.take_interaction(&interaction.id).await?;
            }
            let location = error_redirect(
                &request.redirect_uri,
                &error,
                request.state.as_deref(),
                &state.issuer,
            );
            Ok(see_other(jar, &location))
        }
        Ok(NextStep::IssueCode(authentication)) => {
            if let Some(interaction) = &interaction {
                complete_interaction(state, interaction).await?;
            }
            issue_code(state, jar, client, &request, authentication).await
        }
        Ok(NextStep::Login | NextStep::Consent(_)) => {
            let (jar, interaction) = match interaction {
                Some(interaction) => (jar, interaction),
                None => {
                    start_interaction(state, jar, InteractionPurpose::Authorize(request)).await?
                }
            };
            Ok(see_other(jar, &paths::interaction(&interaction.id)))
        }
    }
}

/// RFC 6749 §4.1.2: stores the code (hashed, one-time, short-lived) and redirects with
/// `code`, `state` and `iss` (RFC 9207).
async fn issue_code(
    state: &AppState,
    jar: CookieJar,
    client: &RegisteredClient,
    request: &AuthorizationRequest,
    authentication: Authentication,
) -> Result<Response, PageError> {
    let now = now();
    let code = AuthorizationCode::from_random(random_bytes());
    let issued = IssuedCode {
        client_id: client.client_id.clone(),
        redirect_uri: request.redirect_uri.as_str().to_owned(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        subject: authentication.subject,
        auth_time: authentication.auth_time,
        audience: request.audience.clone(),
        grant_id: encode_random(random_bytes()),
        expires_at: now.plus(state.lifetimes.code),
    };
    state.ephemeral.insert_code(&code.digest(), &issued).await?;
    tracing::info!(target: FLOW,
        "authorize: issued a one-time authorization code to {} (valid {} s, stored hashed) and redirect with state and iss (RFC 6749 §4.1.2, RFC 9207)",
        client.client_id, state.lifetimes.code);
    let location = success_redirect(
        &request.redirect_uri,
        code.expose(),
        request.state.as_deref(),
        &state.issuer,
    );
    Ok(see_other(jar, &location))
}
