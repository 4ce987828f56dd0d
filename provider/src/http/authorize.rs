//! RFC 6749 §3.1 authorization endpoint.
//!
//! `/authorize` validates the request (or takes a pushed one, RFC 9126); when the user must log
//! in or consent it starts an interaction (see `interaction.rs`) and redirects there; when
//! nothing is left to do it issues the code and sends the browser to the client.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use openapi::AuthorizationRequestParams;
use openapi::document::tags;
use openapi::responses::{HtmlError, HtmlRateLimited, HtmlServerError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::code_flow::{may_redirect_silently, proceed};
use crate::http::error::PageError;
use crate::http::extractors::{ClientIp, PageForm, QueryParams};
use crate::http::limits::Limited;
use crate::http::own_tokens::verify_own_id_token;
use crate::http::paths;
use crate::http::request_object;
use crate::http::session::current_session;
use crate::protocol::authorize::{
    InteractionProgress, RequestSource, error_redirect, validate_authorize,
    validate_client_redirect,
};
use crate::protocol::client::RegisteredClient;
use crate::protocol::params::Params;
use crate::protocol::types::{SecretDigest, Subject};
use crate::protocol::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::telemetry::FLOW;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_authorize, post_authorize))
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
        (status = 429, response = HtmlRateLimited),
        (status = 500, response = HtmlServerError),
    ),
)]
async fn get_authorize(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    QueryParams(params): QueryParams,
) -> Result<Response, PageError> {
    Limited::Authorize.check(&state, ip).await?;
    authorize(&state, jar, params).await
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
        (status = 429, response = HtmlRateLimited),
        (status = 500, response = HtmlServerError),
    ),
)]
async fn post_authorize(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    PageForm(params): PageForm,
) -> Result<Response, PageError> {
    Limited::Authorize.check(&state, ip).await?;
    authorize(&state, jar, params).await
}

const AUTHORIZE_REDIRECT: &str = "See Other: to the login or consent page of a new \
    interaction, or (nothing left to ask) to the client's `redirect_uri` with the code, or with \
    an error once `client_id` and `redirect_uri` are validated. A client that registered \
    itself gets no error redirect before the user has acted: that error is a 400 page \
    (RFC 9700 §4.11.2).";

/// RFC 9126 §4: `/authorize?client_id=…&request_uri=…` uses the pushed parameters, once.
async fn resolve_pushed_request(
    state: &AppState,
    params: Params,
) -> Result<(Params, RequestSource), PageError> {
    let Some(request_uri) = params.single("request_uri")? else {
        return Ok((params, RequestSource::Direct));
    };
    let invalid =
        |description| PageError::OAuth(OAuthError::new(ErrorCode::InvalidRequestUri, description));
    if params.contains("request") {
        return Err(PageError::OAuth(OAuthError::invalid_request(
            "request and request_uri must not be sent together (RFC 9101 §5)",
        )));
    }
    let client_id = params
        .single("client_id")?
        .ok_or_else(|| invalid("client_id is required with request_uri (RFC 9126 §4)"))?;
    // Taken only together with the client that pushed it: a wrong client_id spends nothing.
    let pairs = state
        .store
        .ephemeral
        .take_pushed_request(&SecretDigest::of(request_uri), client_id, state.now())
        .await?
        .ok_or_else(|| invalid("request_uri is unknown, expired, already used or pushed by another client (RFC 9126 §4)"))?;
    tracing::info!(target: FLOW, "authorize: using the request {client_id} pushed to the PAR endpoint (RFC 9126 §4); it is now spent");
    Ok((Params::from_pairs(pairs), RequestSource::Pushed))
}

async fn authorize(
    state: &AppState,
    jar: CookieJar,
    params: Params,
) -> Result<Response, PageError> {
    let (params, source) = resolve_pushed_request(state, params).await?;
    let client = match params.single("client_id")? {
        Some(client_id) => state.client(client_id).await?,
        None => None,
    };
    // RFC 9101: a signed request object's claims replace the parameters (checked before the
    // redirect URI inside it is trusted, so its errors are shown, never redirected).
    let (params, signed) = request_object::resolve(state, params, client.as_ref()).await?;
    let source = if signed {
        RequestSource::Object
    } else {
        source
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
    let registry = state.resources.get().await?;
    let validated = validate_authorize(
        &params,
        &client,
        &registry,
        redirect_uri.clone(),
        source,
        |hint| verify_id_token_hint(state, &client, hint),
    );
    let request = match validated {
        Ok(request) => request,
        Err(error) => {
            if !may_redirect_silently(state, &client).await? {
                tracing::info!(target: FLOW, "authorize: {} -> shown on a page: a self-registered client gets no error redirect before the user acted (RFC 9700 §4.11.2)", error.description);
                return Err(PageError::OAuth(error));
            }
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
