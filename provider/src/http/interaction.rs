//! The pages of an authorization interaction: login and consent, for the code flow and for
//! the device flow (RFC 8628 §3.3).
//!
//! An interaction is bound to the browser that started it (`oidc_browser` cookie) and every
//! form carries its synchroniser token; tower-http's cross-origin check guards the form posts
//! on top. Completing an interaction deletes it, so it completes once.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use openapi::document::tags;
use openapi::responses::{CrossOriginRefused, HtmlError, HtmlServerError};
use openapi::{ConsentForm, LoginForm, SecondFactorForm};
use tower_http::csrf::CsrfLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Error;
use crate::http::code_flow::{complete_interaction, proceed};
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::extractors::{ClientIp, PageForm, PathId};
use crate::http::login_throttle::LoginAttempt;
use crate::http::paths;
use crate::http::responses::{no_store_page, see_other};
use crate::http::session::{current_session, second_factor_ok};
use crate::protocol::authorize::{
    Authentication, InteractionProgress, NextStep, error_redirect, next_step,
};
use crate::protocol::backchannel::session_id;
use crate::protocol::client::RegisteredClient;
use crate::protocol::device::{DeviceStatus, next_device_step};
use crate::protocol::params::Params;
use crate::protocol::scope::describe_scope;
use crate::protocol::throttle::Throttle;
use crate::protocol::types::{OpaqueToken, Password, SecretDigest, Subject};
use crate::protocol::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::store::{InteractionPurpose, InteractionRecord, PendingSecondFactor, SessionRecord};
use crate::telemetry::FLOW;
use crate::templates::{ConsentPage, LoginPage, MessagePage, ScopeLine, SecondFactorPage};

/// Routes of this module. The form targets get tower-http's cross-origin (CSRF) protection on
/// top of the per-interaction synchroniser token.
pub fn router() -> OpenApiRouter<AppState> {
    let forms = OpenApiRouter::new()
        .routes(routes!(post_login))
        .routes(routes!(post_second_factor))
        .routes(routes!(post_consent))
        .layer(CsrfLayer::new());
    OpenApiRouter::new()
        .routes(routes!(get_interaction))
        .merge(forms)
}

const EXPIRED: OAuthError = OAuthError::invalid_request(
    "this sign-in has expired or was already completed; start again from the application",
);

/// Loads an interaction and checks that this browser started it.
async fn load_interaction(
    state: &AppState,
    jar: &CookieJar,
    id: &str,
) -> Result<(InteractionRecord, RegisteredClient), PageError> {
    let interaction = state
        .store
        .ephemeral
        .interaction(id, state.now())
        .await?
        .ok_or(PageError::OAuth(EXPIRED))?;
    let same_browser = cookies::digest(jar, cookies::BROWSER, &state.issuer)
        .is_some_and(|digest| digest == interaction.browser_digest);
    if !same_browser {
        return Err(PageError::OAuth(OAuthError::invalid_request(
            "this sign-in was started in another browser; start again from the application",
        )));
    }
    let client = state
        .client(interaction.purpose.client_id())
        .await?
        .ok_or(PageError::OAuth(EXPIRED))?;
    Ok((interaction, client))
}

/// The session to use: the login done in this interaction, else the browser's SSO session.
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

/// The current step of an interaction.
async fn step_of(
    state: &AppState,
    client: &RegisteredClient,
    interaction: &InteractionRecord,
    session: Option<&Authentication>,
    consented: bool,
) -> Result<Result<NextStep, OAuthError>, Error> {
    let progress = progress_of(interaction, consented);
    Ok(match &interaction.purpose {
        InteractionPurpose::Authorize(request) => {
            let remembered = match session {
                Some(auth) => {
                    state
                        .store
                        .grants
                        .consent(&auth.subject, client.client_id.as_str())
                        .await?
                }
                None => None,
            };
            next_step(
                request,
                client,
                session,
                remembered.as_ref(),
                progress,
                state.now(),
            )
        }
        InteractionPurpose::Device { .. } => Ok(next_device_step(session, progress)),
    })
}

/// Login or consent page (HTML).
///
/// `GET /interaction/{id}` renders the current step of an interaction started by
/// `/authorize` or `/device`: the login form, the consent page, or (nothing left to ask) the
/// outcome. Only the browser that started the interaction may open it (`oidc_browser` cookie).
#[utoipa::path(
    get,
    path = paths::INTERACTION,
    tag = tags::AUTHORIZATION,
    params(("id" = String, Path, description = "The interaction id from the `/authorize` or `/device` redirect.")),
    responses(
        (status = 200, description = "The login form, the consent page, or a device flow's outcome page.", body = String, content_type = "text/html", headers(
            ("Cache-Control" = String, description = "`no-store` on the login and consent pages."),
        )),
        (status = 303, description = "Nothing left to ask: on to the client's `redirect_uri` (code or error) or to this page again.", headers(
            ("Location" = String, description = "`{redirect_uri}?code=…&state=…&iss=…` or `{redirect_uri}?error=…` (RFC 6749 §4.1.2)."),
        )),
        (status = 400, response = HtmlError),
        (status = 500, response = HtmlServerError),
    ),
)]
async fn get_interaction(
    State(state): State<AppState>,
    jar: CookieJar,
    PathId(id): PathId,
) -> Result<Response, PageError> {
    let (interaction, client) = load_interaction(&state, &jar, &id).await?;
    if interaction.second_factor.is_some() && interaction.authentication.is_none() {
        tracing::info!(target: FLOW, "login: asking for the second factor (a code from the authenticator app, or a recovery code)");
        return Ok(second_factor_page(&interaction, &client, None));
    }
    let session = interaction_session(&state, &jar, &interaction).await?;
    match step_of(&state, &client, &interaction, session.as_ref(), false).await? {
        Ok(NextStep::Login) => {
            tracing::info!(target: FLOW, "login: showing the login form for {} (OIDC Core §3.1.2.3)", client.client_id);
            let hint = match &interaction.purpose {
                InteractionPurpose::Authorize(request) => {
                    request.login_hint.as_deref().unwrap_or_default()
                }
                InteractionPurpose::Device { .. } => "",
            };
            Ok(login_page(&state, &interaction, &client, hint, None))
        }
        Ok(NextStep::Consent(authentication)) => {
            consent_page(&state, &interaction, &client, &authentication).await
        }
        // Nothing left to ask (e.g. the page was reloaded after login): finish.
        _ => finish(&state, jar, &client, interaction, session, false).await,
    }
}

/// Continues after a login or consent: for the code flow via `proceed`, for a device by
/// recording the user's decision.
async fn finish(
    state: &AppState,
    jar: CookieJar,
    client: &RegisteredClient,
    interaction: InteractionRecord,
    session: Option<Authentication>,
    consented: bool,
) -> Result<Response, PageError> {
    match interaction.purpose.clone() {
        InteractionPurpose::Authorize(request) => {
            let progress = progress_of(&interaction, consented);
            proceed(
                state,
                jar,
                client,
                *request,
                session,
                progress,
                Some(interaction),
            )
            .await
        }
        InteractionPurpose::Device { user_code, .. } => {
            match step_of(state, client, &interaction, session.as_ref(), consented).await? {
                Ok(NextStep::IssueCode(authentication)) => {
                    complete_interaction(state, &interaction).await?;
                    if !state
                        .store
                        .ephemeral
                        .decide_device(&user_code, &DeviceStatus::Approved(authentication))
                        .await?
                    {
                        return Err(PageError::OAuth(OAuthError::invalid_request(
                            "this device code has expired; start again on the device",
                        )));
                    }
                    tracing::info!(target: FLOW, "consent: the device was approved; its next poll receives tokens (RFC 8628 §3.5)");
                    Ok(MessagePage {
                    title: "Device connected",
                    message: "You approved the device. You can close this page and return to it.",
                }
                .into_response())
                }
                _ => Ok(see_other(jar, &paths::interaction(&interaction.id))),
            }
        }
    }
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
    no_store_page(page)
}

async fn consent_page(
    state: &AppState,
    interaction: &InteractionRecord,
    client: &RegisteredClient,
    authentication: &Authentication,
) -> Result<Response, PageError> {
    let user = state
        .store
        .users
        .user_by_subject(&authentication.subject)
        .await?;
    let username = user.map(|user| user.username).unwrap_or_default();
    let destination = match &interaction.purpose {
        InteractionPurpose::Authorize(request) => {
            let origin = url::Url::parse(request.redirect_uri.as_str())
                .ok()
                .map(|url| url.origin().ascii_serialization())
                .unwrap_or_default();
            format!("Tokens are sent to {origin}.")
        }
        InteractionPurpose::Device { user_code, .. } => {
            format!(
                "Tokens are sent to the device showing the code {user_code}. Allow only if you started this on your own device."
            )
        }
    };
    let scope = interaction.purpose.scope();
    // RFC 8707: the user sees which APIs the tokens will open (by their registered names).
    let apis = match &interaction.purpose {
        InteractionPurpose::Authorize(request) => {
            let registry = state.resources.get().await?;
            request
                .resources
                .iter()
                .map(|identifier| {
                    registry
                        .get(identifier)
                        .map_or_else(|| identifier.to_owned(), |api| api.name.clone())
                })
                .collect()
        }
        InteractionPurpose::Device { .. } => Vec::new(),
    };
    tracing::info!(target: FLOW, "consent: asking {username} to allow {} the scope \"{scope}\" for {:?}", client.client_id, apis);
    let page = ConsentPage {
        client_name: &client.metadata.client_name,
        username: &username,
        scopes: scope
            .iter()
            .map(|scope| ScopeLine {
                name: scope.to_owned(),
                description: describe_scope(scope),
            })
            .collect(),
        action: paths::interaction_consent(&interaction.id),
        csrf_token: &interaction.csrf_token,
        destination,
        apis,
        client_host: crate::protocol::cimd::is_document_url(client.client_id.as_str())
            .then(|| crate::protocol::cimd::host_of(client.client_id.as_str()))
            .flatten(),
    };
    Ok(no_store_page(page))
}

/// Checks the form's synchroniser token in constant time.
fn check_csrf(interaction: &InteractionRecord, params: &Params) -> Result<(), PageError> {
    let presented = params
        .single("csrf_token")
        .ok()
        .flatten()
        .unwrap_or_default();
    if !presented.is_empty()
        && SecretDigest::of(presented) == SecretDigest::of(&interaction.csrf_token)
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
const LOGIN_THROTTLED: &str = "Too many sign-in attempts. Wait a minute and try again.";
/// User names are at most 64 characters (`provider users add`); longer input is refused before
/// any lookup or throttle record.
const MAX_USERNAME_CHARS: usize = 64;

/// Submit the login form (HTML form target).
///
/// `POST /interaction/{id}/login` checks the user name and password (bcrypt; unknown users
/// take as long as wrong passwords) and starts the SSO session. The form carries the page's
/// synchroniser token; cross-origin posts are refused.
#[utoipa::path(
    post,
    path = paths::INTERACTION_LOGIN,
    tag = tags::AUTHORIZATION,
    params(("id" = String, Path, description = "The interaction id.")),
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded", example = json!({
        "csrf_token": "the token from the login page", "username": "alice", "password": "",
    })),
    responses(
        (status = 200, description = "The login form again with \"The user name or password is incorrect.\" (the same for unknown users).", body = String, content_type = "text/html"),
        (status = 429, description = "Too many password attempts for this user name or client address: the login form again with \"Too many sign-in attempts. Wait a minute and try again.\"; the password was not checked.", body = String, content_type = "text/html"),
        (status = 303, description = "Signed in: back to the interaction page for the next step.", headers(
            ("Location" = String, description = "`/interaction/{id}`"),
            ("Set-Cookie" = String, description = "`oidc_session`: the new SSO session (HttpOnly, SameSite=Lax; a new id at every login)."),
        )),
        (status = 400, response = HtmlError),
        (status = 403, response = CrossOriginRefused),
        (status = 500, response = HtmlServerError),
    ),
)]
async fn post_login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    PathId(id): PathId,
    PageForm(params): PageForm,
) -> Result<Response, PageError> {
    let (mut interaction, client) = load_interaction(&state, &jar, &id).await?;
    check_csrf(&interaction, &params)?;
    let username = params
        .single("username")
        .ok()
        .flatten()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if username.chars().count() > MAX_USERNAME_CHARS {
        return Ok(login_page(
            &state,
            &interaction,
            &client,
            "",
            Some(LOGIN_FAILED),
        ));
    }
    // Throttled before any bcrypt work: the same answer for every user name, existing or not.
    let attempt = LoginAttempt::new(&state, &username, ip, &jar);
    if let Throttle::Wait { retry_after_secs } = attempt.decide(&state).await {
        crate::metrics::sign_in("throttled");
        tracing::warn!(address = %ip, "password attempts throttled");
        tracing::info!(target: FLOW, "login: this account has recent failures (or this address too many); refused before checking the password");
        let page = login_page(
            &state,
            &interaction,
            &client,
            &username,
            Some(LOGIN_THROTTLED),
        );
        let retry_after = [(header::RETRY_AFTER, retry_after_secs.to_string())];
        return Ok((StatusCode::TOO_MANY_REQUESTS, retry_after, page).into_response());
    }
    let password = Password::new(
        params
            .single("password")
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_owned(),
    );
    let user = if username.is_empty() {
        None
    } else {
        state.store.users.user_by_username(&username).await?
    };
    let hash = user
        .as_ref()
        .map_or(DUMMY_HASH.to_owned(), |user| user.password_hash.clone());
    // A disabled account fails like a wrong password, after the same bcrypt work.
    let enabled = user.as_ref().is_some_and(|user| !user.disabled);
    let verified = verify_password(&state, password, hash).await? && enabled;
    let Some(user) = user.filter(|_| verified) else {
        attempt.failed(&state).await;
        crate::metrics::sign_in("failure");
        tracing::info!(target: FLOW, "login: wrong user name or password; the same answer for both, after the same bcrypt work");
        return Ok(login_page(
            &state,
            &interaction,
            &client,
            &username,
            Some(LOGIN_FAILED),
        ));
    };
    // A second factor is asked for before anything is started: the password alone proves
    // nothing yet, so the throttle's failure count stays until the code is right too.
    let enrolled = state
        .store
        .users
        .totp(&user.subject)
        .await?
        .is_some_and(|totp| totp.confirmed);
    if enrolled {
        interaction.second_factor = Some(PendingSecondFactor {
            subject: user.subject.clone(),
            username: user.username.clone(),
        });
        state.store.ephemeral.put_interaction(&interaction).await?;
        tracing::info!(target: FLOW, "login: password verified for {}; a second factor is enrolled, so a code is asked for next (RFC 6238)", user.username);
        return Ok(see_other(jar, &paths::interaction(&interaction.id)));
    }
    let jar = attempt.succeeded(&state, jar).await;
    crate::metrics::sign_in("success");
    tracing::info!(target: FLOW, "login: password verified for {} (bcrypt, off the async workers); SSO session started", user.username);
    start_session(&state, jar, interaction, user.subject, vec!["pwd".into()]).await
}

/// Starts the SSO session of `subject`, signed in by `amr`, and goes on with the interaction.
///
/// A new session cookie at every login (no session fixation). The same user signing in again
/// keeps the session's sid (and its back-channel logout clients); another user's sign-in ends
/// the old session, and its clients are told.
async fn start_session(
    state: &AppState,
    jar: CookieJar,
    mut interaction: InteractionRecord,
    subject: Subject,
    amr: Vec<String>,
) -> Result<Response, PageError> {
    let now = state.now();
    let session_id_token = OpaqueToken::from_random(state.random_bytes());
    let mut sid = session_id(&session_id_token.digest());
    if let Some(old) = cookies::digest(&jar, cookies::SESSION, &state.issuer) {
        let previous = state.store.users.session(&old, now).await?;
        state.store.users.delete_session(&old).await?;
        match previous {
            Some(previous) if previous.subject == subject => {
                state
                    .store
                    .users
                    .extend_session_clients(&previous.sid, now.plus(state.lifetimes.session))
                    .await?;
                sid = previous.sid;
            }
            Some(previous) => {
                crate::backchannel::session_ended(state, &previous.sid).await?;
            }
            None => {}
        }
    }
    state
        .store
        .users
        .create_session(&SessionRecord {
            id_digest: session_id_token.digest(),
            sid: sid.clone(),
            amr: amr.clone(),
            subject: subject.clone(),
            auth_time: now,
            expires_at: now.plus(state.lifetimes.session),
        })
        .await?;
    let jar = jar.add(cookies::build(
        cookies::SESSION,
        &session_id_token,
        &state.issuer,
    ));
    interaction.second_factor = None;
    interaction.authentication = Some(Authentication {
        subject,
        auth_time: now,
        sid: Some(sid),
        amr,
    });
    state.store.ephemeral.put_interaction(&interaction).await?;
    Ok(see_other(jar, &paths::interaction(&interaction.id)))
}

const CODE_FAILED: &str = "That code is not valid. Enter the current code from your authenticator app, or an unused recovery code.";

/// Submit the second-factor form (HTML form target).
///
/// `POST /interaction/{id}/second-factor`, after the password of a user with an authenticator
/// app: a current six-digit TOTP code (RFC 6238; each code once) or one of the user's unused
/// recovery codes. Throttled like passwords.
#[utoipa::path(
    post,
    path = paths::INTERACTION_SECOND_FACTOR,
    tag = tags::AUTHORIZATION,
    params(("id" = String, Path, description = "The interaction id.")),
    request_body(content = SecondFactorForm, content_type = "application/x-www-form-urlencoded", example = json!({
        "csrf_token": "the token from the page", "code": "123456",
    })),
    responses(
        (status = 200, description = "The form again with \"That code is not valid…\" (a wrong, reused or expired code).", body = String, content_type = "text/html"),
        (status = 429, description = "Too many attempts for this account or address: the form again; the code was not checked.", body = String, content_type = "text/html"),
        (status = 303, description = "Signed in with two factors: back to the interaction page for the next step.", headers(
            ("Location" = String, description = "`/interaction/{id}`"),
            ("Set-Cookie" = String, description = "`oidc_session`: the new SSO session."),
        )),
        (status = 400, response = HtmlError),
        (status = 403, response = CrossOriginRefused),
        (status = 500, response = HtmlServerError),
    ),
)]
async fn post_second_factor(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    PathId(id): PathId,
    PageForm(params): PageForm,
) -> Result<Response, PageError> {
    let (interaction, client) = load_interaction(&state, &jar, &id).await?;
    check_csrf(&interaction, &params)?;
    let Some(pending) = interaction.second_factor.clone() else {
        return Err(PageError::OAuth(OAuthError::invalid_request(
            "no sign-in is waiting for a second factor here; start again from the application",
        )));
    };
    let attempt = LoginAttempt::new(&state, &pending.username, ip, &jar);
    if let Throttle::Wait { retry_after_secs } = attempt.decide(&state).await {
        crate::metrics::sign_in("throttled");
        let page = second_factor_page(&interaction, &client, Some(LOGIN_THROTTLED));
        let retry_after = [(header::RETRY_AFTER, retry_after_secs.to_string())];
        return Ok((StatusCode::TOO_MANY_REQUESTS, retry_after, page).into_response());
    }
    let code = params
        .single("code")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_owned();
    if !second_factor_ok(&state, &pending.subject, &code).await? {
        attempt.failed(&state).await;
        crate::metrics::sign_in("failure");
        tracing::info!(target: FLOW, "login: second factor refused for {} (wrong, reused or expired code)", pending.username);
        return Ok(second_factor_page(&interaction, &client, Some(CODE_FAILED)));
    }
    let jar = attempt.succeeded(&state, jar).await;
    crate::metrics::sign_in("success");
    tracing::info!(target: FLOW, "login: second factor accepted for {}; SSO session started with amr pwd otp mfa (RFC 8176)", pending.username);
    let amr = ["pwd", "otp", "mfa"].map(str::to_owned).to_vec();
    start_session(&state, jar, interaction, pending.subject, amr).await
}

fn second_factor_page(
    interaction: &InteractionRecord,
    client: &RegisteredClient,
    error: Option<&str>,
) -> Response {
    no_store_page(SecondFactorPage {
        client_name: &client.metadata.client_name,
        action: paths::interaction_second_factor(&interaction.id),
        csrf_token: &interaction.csrf_token,
        error,
    })
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

/// Submit the consent form (HTML form target).
///
/// `POST /interaction/{id}/consent`: Allow or Deny. Allow remembers the consent and continues;
/// Deny ends the interaction with `access_denied` (RFC 6749 §4.1.2.1).
#[utoipa::path(
    post,
    path = paths::INTERACTION_CONSENT,
    tag = tags::AUTHORIZATION,
    params(("id" = String, Path, description = "The interaction id.")),
    request_body(content = ConsentForm, content_type = "application/x-www-form-urlencoded", example = json!({
        "csrf_token": "the token from the consent page", "decision": "allow",
    })),
    responses(
        (status = 200, description = "A device flow's outcome page (approved or denied).", body = String, content_type = "text/html"),
        (status = 303, description = "On to the client's `redirect_uri` (code, or `error=access_denied`), or back to the interaction page when consent is not the current step.", headers(
            ("Location" = String, description = "`{redirect_uri}?code=…` / `{redirect_uri}?error=access_denied…` / `/interaction/{id}`"),
        )),
        (status = 400, response = HtmlError),
        (status = 403, response = CrossOriginRefused),
        (status = 500, response = HtmlServerError),
    ),
)]
async fn post_consent(
    State(state): State<AppState>,
    jar: CookieJar,
    PathId(id): PathId,
    PageForm(params): PageForm,
) -> Result<Response, PageError> {
    let (interaction, client) = load_interaction(&state, &jar, &id).await?;
    check_csrf(&interaction, &params)?;
    let session = interaction_session(&state, &jar, &interaction).await?;
    // Consent only counts when consent is the current step (not before login).
    let Ok(NextStep::Consent(authentication)) =
        step_of(&state, &client, &interaction, session.as_ref(), false).await?
    else {
        return Ok(see_other(jar, &paths::interaction(&interaction.id)));
    };
    if params.single("decision").ok().flatten() != Some("allow") {
        complete_interaction(&state, &interaction).await?;
        tracing::info!(target: FLOW, "consent: the user denied {} -> access_denied (RFC 6749 §4.1.2.1)", client.client_id);
        return Ok(match &interaction.purpose {
            InteractionPurpose::Authorize(request) => {
                let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
                let location = error_redirect(
                    &request.redirect_uri,
                    &error,
                    request.state.as_deref(),
                    &state.issuer,
                );
                see_other(jar, &location)
            }
            InteractionPurpose::Device { user_code, .. } => {
                state
                    .store
                    .ephemeral
                    .decide_device(user_code, &DeviceStatus::Denied)
                    .await?;
                MessagePage {
                    title: "Device not connected",
                    message: "You denied the request. The device gets no access.",
                }
                .into_response()
            }
        });
    }
    if let InteractionPurpose::Authorize(request) = &interaction.purpose {
        state
            .store
            .grants
            .save_consent(
                &authentication.subject,
                client.client_id.as_str(),
                &request.scope,
                state.now(),
            )
            .await?;
    }
    tracing::info!(target: FLOW, "consent: the user allowed {} the scope \"{}\"", client.client_id, interaction.purpose.scope());
    finish(&state, jar, &client, interaction, session, true).await
}
