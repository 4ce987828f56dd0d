//! RFC 6749 §3.1 authorization endpoint and the interaction pages (login, consent) behind it.
//!
//! `/authorize` validates the request; when the user must log in or consent it stores an
//! interaction and redirects to `/interaction/{id}`, which renders the current step. The login
//! and consent forms post back to that interaction; when nothing is left to do the code is
//! issued and the browser is sent to the client's redirect URI.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use tower_http::csrf::CsrfLayer;

use crate::app::{AppState, now};
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::paths;
use crate::protocol::authorize::{
    Authentication, AuthorizationRequest, InteractionProgress, NextStep, error_redirect, next_step,
    success_redirect, validate_authorize, validate_client_redirect,
};
use crate::protocol::client::RegisteredClient;
use crate::protocol::params::Params;
use crate::protocol::scope::describe_scope;
use crate::protocol::token::IssuedCode;
use crate::protocol::types::{
    AuthorizationCode, OpaqueToken, Password, SecretDigest, Subject, encode_random,
};
use crate::protocol::{ErrorCode, OAuthError};
use crate::store::{InteractionRecord, SessionRecord};
use crate::templates::{ConsentPage, LoginPage, ScopeLine};
use crate::{Error, telemetry::FLOW};

/// Routes of this module. The form targets get tower-http's cross-origin (CSRF) protection on
/// top of the per-interaction synchroniser token.
pub fn router() -> Router<AppState> {
    let forms = Router::new()
        .route(paths::INTERACTION_LOGIN, post(post_login))
        .route(paths::INTERACTION_CONSENT, post(post_consent))
        .layer(CsrfLayer::new());
    Router::new()
        .route(paths::AUTHORIZE, get(get_authorize).post(post_authorize))
        .route(paths::INTERACTION, get(get_interaction))
        .merge(forms)
}

/// Random bytes for codes, handles and ids (the protocol core takes them as input).
pub(crate) fn random_bytes() -> [u8; 32] {
    rand::random()
}

/// A redirect that also carries cookie changes.
fn see_other(jar: CookieJar, location: &str) -> Response {
    (jar, Redirect::to(location)).into_response()
}

/// `GET /authorize` (RFC 6749 §4.1.1).
async fn get_authorize(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    authorize(state, jar, params).await
}

/// `POST /authorize` (OIDC Core §3.1.2.1: form-encoded parameters).
async fn post_authorize(State(state): State<AppState>, jar: CookieJar, body: Bytes) -> Response {
    authorize(state, jar, Params::parse(&body)).await
}

#[tracing::instrument(skip_all, fields(client_id))]
async fn authorize(state: AppState, jar: CookieJar, params: Params) -> Response {
    match authorize_inner(&state, jar, &params).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn authorize_inner(
    state: &AppState,
    jar: CookieJar,
    params: &Params,
) -> Result<Response, PageError> {
    let client = match params.single("client_id")? {
        Some(client_id) => state.store.client(client_id).await?,
        None => None,
    };
    // Stage one: until client_id and redirect_uri are valid, errors are shown, never redirected.
    let redirect_uri = validate_client_redirect(params, client.as_ref()).inspect_err(|error| {
        tracing::info!(target: FLOW, "authorize: refused before redirecting: {} (RFC 6749 §4.1.2.1: never redirect to an unverified URI)", error.description);
    })?;
    let Some(client) = client else {
        return Err(PageError::OAuth(OAuthError::invalid_request(
            "client_id does not name a registered client",
        )));
    };
    tracing::Span::current().record("client_id", client.client_id.as_str());
    let state_param = params.single("state").ok().flatten().map(str::to_owned);
    let request = match validate_authorize(params, &client, redirect_uri.clone(), |hint| {
        verify_id_token_hint(state, &client, hint)
    }) {
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

/// Verifies an `id_token_hint`: signed by us, for this client; expiry does not matter (OIDC
/// Core §3.1.2.1).
fn verify_id_token_hint(
    state: &AppState,
    client: &RegisteredClient,
    hint: &str,
) -> Result<Subject, OAuthError> {
    let mut validation = keys::Validation::new(keys::SigningAlg::RS256.jwt_algorithm());
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[state.issuer.as_str()]);
    validation.set_audience(&[client.client_id.as_str()]);
    let data = state
        .keys
        .verify::<serde_json::Value>(hint, &validation)
        .map_err(|_| {
            OAuthError::invalid_request(
                "id_token_hint is not an ID token this provider issued to this client",
            )
        })?;
    data.claims
        .get("sub")
        .and_then(serde_json::Value::as_str)
        .map(|sub| Subject(sub.to_owned()))
        .ok_or(OAuthError::invalid_request("id_token_hint has no sub"))
}

/// The browser's live SSO session, if any.
async fn current_session(
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

/// Decides the next step and performs it: redirect to the interaction page, or issue the code.
async fn proceed(
    state: &AppState,
    jar: CookieJar,
    client: &RegisteredClient,
    request: AuthorizationRequest,
    session: Option<Authentication>,
    progress: InteractionProgress,
    interaction: Option<InteractionRecord>,
) -> Result<Response, PageError> {
    let now = now();
    let remembered = match &session {
        Some(auth) => {
            state
                .store
                .consent(&auth.subject, client.client_id.as_str())
                .await?
        }
        None => None,
    };
    let step = next_step(
        &request,
        client,
        session.as_ref(),
        remembered.as_ref(),
        progress,
        now,
    );
    match step {
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
                // Completing removes the interaction; if it is already gone, a concurrent submit won.
                if !state.ephemeral.take_interaction(&interaction.id).await? {
                    return Err(PageError::OAuth(OAuthError::invalid_request(
                        "this sign-in was already completed",
                    )));
                }
            }
            issue_code(state, jar, client, &request, authentication).await
        }
        Ok(NextStep::Login | NextStep::Consent(_)) => {
            let (jar, interaction) = match interaction {
                Some(interaction) => (jar, interaction),
                None => start_interaction(state, jar, request).await?,
            };
            Ok(see_other(jar, &paths::interaction(&interaction.id)))
        }
    }
}

/// Stores a new interaction bound to this browser.
async fn start_interaction(
    state: &AppState,
    jar: CookieJar,
    request: AuthorizationRequest,
) -> Result<(CookieJar, InteractionRecord), Error> {
    let (jar, browser_digest) = match cookies::digest(&jar, cookies::BROWSER) {
        Some(digest) => (jar, digest),
        None => {
            let browser = OpaqueToken::from_random(random_bytes());
            let digest = browser.digest();
            (
                jar.add(cookies::build(cookies::BROWSER, &browser, &state.issuer)),
                digest,
            )
        }
    };
    let interaction = InteractionRecord {
        id: encode_random(random_bytes()),
        csrf_token: encode_random(random_bytes()),
        browser_digest,
        request,
        authentication: None,
        expires_at: now().plus(state.lifetimes.interaction),
    };
    state.ephemeral.put_interaction(&interaction).await?;
    Ok((jar, interaction))
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

/// Loads an interaction and checks that this browser started it.
async fn load_interaction(
    state: &AppState,
    jar: &CookieJar,
    id: &str,
) -> Result<(InteractionRecord, RegisteredClient), PageError> {
    const EXPIRED: OAuthError = OAuthError::invalid_request(
        "this sign-in has expired or was already completed; start again from the application",
    );
    let interaction = state
        .ephemeral
        .interaction(id, now())
        .await?
        .ok_or(PageError::OAuth(EXPIRED))?;
    let same_browser = cookies::digest(jar, cookies::BROWSER)
        .is_some_and(|digest| digest == interaction.browser_digest);
    if !same_browser {
        return Err(PageError::OAuth(OAuthError::invalid_request(
            "this sign-in was started in another browser; start again from the application",
        )));
    }
    let client = state
        .store
        .client(interaction.request.client_id.as_str())
        .await?
        .ok_or(PageError::OAuth(EXPIRED))?;
    Ok((interaction, client))
}

/// The session to use for an interaction: the login done in it, else the browser's SSO session.
async fn interaction_session(
    state: &AppState,
    jar: &CookieJar,
    interaction: &InteractionRecord,
) -> Result<Option<Authentication>, Error> {
    match &interaction.authentication {
        Some(authentication) => Ok(Some(authentication.clone())),
        None => current_session(state, jar).await,
    }
}

fn progress_of(interaction: &InteractionRecord, consented: bool) -> InteractionProgress {
    InteractionProgress {
        logged_in: interaction.authentication.is_some(),
        consented,
    }
}

/// `GET /interaction/{id}`: renders the current step (login or consent).
#[tracing::instrument(skip_all)]
async fn get_interaction(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let (interaction, client) = load_interaction(&state, &jar, &id).await?;
        let session = interaction_session(&state, &jar, &interaction).await?;
        let remembered = match &session {
            Some(auth) => state.store.consent(&auth.subject, client.client_id.as_str()).await?,
            None => None,
        };
        let step = next_step(&interaction.request, &client, session.as_ref(), remembered.as_ref(), progress_of(&interaction, false), now());
        match step {
            Ok(NextStep::Login) => {
                tracing::info!(target: FLOW, "login: showing the login form for {} (OIDC Core §3.1.2.3)", client.client_id);
                Ok(login_page(&state, &interaction, &client, interaction.request.login_hint.as_deref().unwrap_or_default(), None))
            }
            Ok(NextStep::Consent(authentication)) => consent_page(&state, &interaction, &client, &authentication).await,
            // Nothing left to ask (e.g. the page was reloaded after login): finish.
            _ => proceed(&state, jar, &client, interaction.request.clone(), session, progress_of(&interaction, false), Some(interaction)).await,
        }
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

fn login_page(
    state: &AppState,
    interaction: &InteractionRecord,
    client: &RegisteredClient,
    username: &str,
    error: Option<&str>,
) -> Response {
    let page = LoginPage {
        client_name: &client.metadata.client_name,
        action: paths::interaction_login(&interaction.id),
        csrf_token: &interaction.csrf_token,
        username,
        error,
        show_demo_hint: state.show_demo_hint,
    };
    ([(header::CACHE_CONTROL, "no-store")], page).into_response()
}

async fn consent_page(
    state: &AppState,
    interaction: &InteractionRecord,
    client: &RegisteredClient,
    authentication: &Authentication,
) -> Result<Response, PageError> {
    let user = state.store.user_by_subject(&authentication.subject).await?;
    let username = user.map(|user| user.username).unwrap_or_default();
    let redirect_host = url::Url::parse(interaction.request.redirect_uri.as_str())
        .ok()
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_default();
    tracing::info!(target: FLOW, "consent: asking {username} to allow {} the scope \"{}\"", client.client_id, interaction.request.scope);
    let page = ConsentPage {
        client_name: &client.metadata.client_name,
        username: &username,
        scopes: interaction
            .request
            .scope
            .iter()
            .map(|scope| ScopeLine {
                name: scope.to_owned(),
                description: describe_scope(scope),
            })
            .collect(),
        action: paths::interaction_consent(&interaction.id),
        csrf_token: &interaction.csrf_token,
        redirect_host,
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}

/// Checks the form's synchroniser token in constant time.
fn check_csrf(interaction: &InteractionRecord, params: &Params) -> Result<(), PageError> {
    let presented = params
        .single("csrf_token")
        .ok()
        .flatten()
        .unwrap_or_default();
    if SecretDigest::of(presented) == SecretDigest::of(&interaction.csrf_token)
        && !presented.is_empty()
    {
        Ok(())
    } else {
        Err(PageError::OAuth(OAuthError::invalid_request(
            "the form has expired; reload the page and try again",
        )))
    }
}

/// A bcrypt hash of a random string: unknown user names are verified against it so they take
/// as long as known ones (no user enumeration by timing).
const DUMMY_HASH: &str = "$2b$12$2W7WkC7TGP0nh8Dv/sT5X.LbfbH6rG83q5T2OoCCHO3Az.SlSSfHq";
const LOGIN_FAILED: &str = "The user name or password is incorrect.";

/// `POST /interaction/{id}/login`: checks the credentials and starts the SSO session.
#[tracing::instrument(skip_all)]
async fn post_login(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let (mut interaction, client) = load_interaction(&state, &jar, &id).await?;
        let params = Params::parse(&body);
        check_csrf(&interaction, &params)?;
        let username = params.single("username").ok().flatten().unwrap_or_default().trim().to_owned();
        let password = Password::new(params.single("password").ok().flatten().unwrap_or_default().to_owned());
        let user = if username.is_empty() { None } else { state.store.user_by_username(&username).await? };
        let hash = user.as_ref().map_or(DUMMY_HASH.to_owned(), |user| user.password_hash.clone());
        let verified = verify_password(&state, password, hash).await? && user.is_some();
        let Some(user) = user.filter(|_| verified) else {
            tracing::info!(target: FLOW, "login: wrong user name or password; the same answer for both, after the same bcrypt work");
            return Ok(login_page(&state, &interaction, &client, &username, Some(LOGIN_FAILED)));
        };
        let now = now();
        // A new session id at every login (no session fixation); the old session ends.
        if let Some(old) = cookies::digest(&jar, cookies::SESSION) {
            state.store.delete_session(&old).await?;
        }
        let session_id = OpaqueToken::from_random(random_bytes());
        state
            .store
            .create_session(&SessionRecord {
                id_digest: session_id.digest(),
                subject: user.subject.clone(),
                auth_time: now,
                expires_at: now.plus(state.lifetimes.session),
            })
            .await?;
        let jar = jar.add(cookies::build(cookies::SESSION, &session_id, &state.issuer));
        interaction.authentication = Some(Authentication { subject: user.subject, auth_time: now });
        state.ephemeral.put_interaction(&interaction).await?;
        tracing::info!(target: FLOW, "login: password verified for {} (bcrypt, off the async workers); SSO session started", user.username);
        Ok::<_, PageError>(see_other(jar, &paths::interaction(&interaction.id)))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// bcrypt on the blocking pool, behind the semaphore: a login storm queues here instead of
/// occupying the async workers that serve `/jwks` and `/token`.
async fn verify_password(
    state: &AppState,
    password: Password,
    hash: String,
) -> Result<bool, Error> {
    let _permit = state
        .password_hashing
        .acquire()
        .await
        .map_err(|err| Error::internal("waiting for a password-hashing slot", err))?;
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        // Passwords over 72 bytes are refused rather than silently truncated.
        bcrypt::non_truncating_verify(password.expose(), &hash).unwrap_or(false)
    })
    .await
    .map_err(|err| Error::internal("verifying a password", err))
}

/// `POST /interaction/{id}/consent`: Allow or Deny.
#[tracing::instrument(skip_all)]
async fn post_consent(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let (interaction, client) = load_interaction(&state, &jar, &id).await?;
        let params = Params::parse(&body);
        check_csrf(&interaction, &params)?;
        let session = interaction_session(&state, &jar, &interaction).await?;
        let Some(authentication) = session.clone() else {
            return Ok(see_other(jar, &paths::interaction(&interaction.id)));
        };
        let request = interaction.request.clone();
        if params.single("decision").ok().flatten() != Some("allow") {
            state.ephemeral.take_interaction(&interaction.id).await?;
            tracing::info!(target: FLOW, "consent: the user denied {} -> access_denied (RFC 6749 §4.1.2.1)", client.client_id);
            let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
            return Ok(see_other(jar, &error_redirect(&request.redirect_uri, &error, request.state.as_deref(), &state.issuer)));
        }
        state.store.save_consent(&authentication.subject, client.client_id.as_str(), &request.scope, now()).await?;
        tracing::info!(target: FLOW, "consent: the user allowed {} the scope \"{}\"; remembered for next time", client.client_id, request.scope);
        let progress = progress_of(&interaction, true);
        proceed(&state, jar, &client, request, session, progress, Some(interaction)).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
