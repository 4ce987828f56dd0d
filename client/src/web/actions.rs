//! The signed-in buttons: API calls (`/actions/me`, `/actions/notes`, `/actions/write-note`) and
//! `/actions/refresh`.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use crate::api::{self, ApiCall};
use crate::jwt;
use crate::oidc::token::RefreshToken;
use crate::timeline::unix_now;
use crate::web::AppState;
use crate::web::respond::{
    browser_request, not_signed_in, provider_unreachable, redirect_home, timeline_of,
};
use crate::web::session::Flash;

/// `POST /actions/me`.
pub(crate) async fn post_me(State(state): State<AppState>, jar: CookieJar) -> Response {
    api_action(state, jar, ApiCall::Me, "/actions/me").await
}

/// `POST /actions/notes`.
pub(crate) async fn post_notes(State(state): State<AppState>, jar: CookieJar) -> Response {
    api_action(state, jar, ApiCall::ListNotes, "/actions/notes").await
}

#[derive(Deserialize)]
pub(crate) struct NoteForm {
    text: String,
}

/// `POST /actions/write-note`.
pub(crate) async fn post_write_note(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<NoteForm>,
) -> Response {
    api_action(
        state,
        jar,
        ApiCall::CreateNote(form.text),
        "/actions/write-note",
    )
    .await
}

#[tracing::instrument(skip_all, fields(path = api_call.path()))]
async fn api_action(state: AppState, jar: CookieJar, api_call: ApiCall, action: &str) -> Response {
    let Some(key) = state.sessions.find(&jar) else {
        return not_signed_in();
    };
    let access_token = state
        .sessions
        .with(&key, |session| {
            session
                .tokens
                .as_ref()
                .map(|tokens| tokens.access_token.expose().to_owned())
        })
        .flatten();
    let Some(access_token) = access_token else {
        return not_signed_in();
    };
    let timeline = timeline_of(&state, &key);
    let id = browser_request(
        &timeline,
        &format!("Button: {} {}", api_call.method(), api_call.path()),
        "POST",
        &format!("{}{action}", state.config.public_url),
        "The browser asks this app to call the API. The app attaches the access token itself: the browser never holds it.",
        "OAuth 2.0 for Browser-Based Apps §6.1 (backend for frontend)",
    );
    let title = format!("Call {} {}", api_call.method(), api_call.path());
    let flash = match api::call(
        &state.http,
        &state.config.client.resource,
        &access_token,
        &api_call,
        &title,
        &timeline,
    )
    .await
    {
        Ok(response) => Flash {
            title: format!(
                "{} {} → {}",
                api_call.method(),
                api_call.path(),
                response.status
            ),
            body: match response.error_code() {
                Some(code) if !response.is_success() => format!(
                    "{code}: {}\n\n{}",
                    response.error_description().unwrap_or_default(),
                    jwt::pretty(&response.body)
                ),
                _ => jwt::pretty(&response.body),
            },
            ok: response.is_success(),
        },
        Err(error) => Flash {
            title: format!("{} {} failed", api_call.method(), api_call.path()),
            body: error.public_description().into_owned(),
            ok: false,
        },
    };
    state
        .sessions
        .with(&key, |session| session.flash = Some(flash));
    redirect_home(&timeline, id)
}

/// `POST /actions/refresh`: rotates the refresh token and validates the new ID token.
#[tracing::instrument(skip_all)]
pub(crate) async fn post_refresh(State(state): State<AppState>, jar: CookieJar) -> Response {
    let Some(key) = state.sessions.find(&jar) else {
        return not_signed_in();
    };
    let Some(lock) = state
        .sessions
        .with(&key, |session| Arc::clone(&session.refresh_lock))
    else {
        return not_signed_in();
    };
    // One refresh at a time per session: a rotated token must never be presented twice.
    let _guard = lock.lock().await;
    let current = state
        .sessions
        .with(&key, |session| {
            session
                .tokens
                .as_ref()
                .map(|tokens| (tokens.refresh_token.clone(), tokens.first_id_claims.clone()))
        })
        .flatten();
    let Some((refresh_token, first_claims)) = current else {
        return not_signed_in();
    };
    let (client, _) = match state.oidc().await {
        Ok(found) => found,
        Err(error) => return provider_unreachable(&error),
    };
    let timeline = timeline_of(&state, &key);
    let id = browser_request(
        &timeline,
        "Button: Refresh tokens",
        "POST",
        &format!("{}/actions/refresh", state.config.public_url),
        "The browser asks this app to refresh; the refresh token never leaves the server.",
        "RFC 6749 §6",
    );
    let Some(refresh_token) = refresh_token else {
        state.sessions.with(&key, |session| {
            session.flash = Some(Flash {
                title: "No refresh token".into(),
                body: "The provider issued no refresh token (offline_access was not granted)."
                    .into(),
                ok: false,
            });
        });
        return redirect_home(&timeline, id);
    };
    let flash = match client
        .refresh(&refresh_token, &first_claims, &timeline)
        .await
    {
        Ok(refreshed) => {
            let tokens = refreshed.tokens;
            let new_refresh: Option<RefreshToken> = tokens.refresh_token.clone();
            state.sessions.with(&key, |session| {
                if let Some(stored) = session.tokens.as_mut() {
                    stored.access_expires_at =
                        unix_now() + i64::try_from(tokens.expires_in.unwrap_or(0)).unwrap_or(0);
                    stored.access_token = tokens.access_token;
                    stored.refresh_token = new_refresh.or(stored.refresh_token.take());
                    if let (Some(id_token), Some(validated)) = (tokens.id_token, refreshed.id_token)
                    {
                        stored.id_token = id_token;
                        stored.id_claims = validated.claims;
                    }
                    if let Some(scope) = tokens.scope {
                        stored.scope = scope;
                    }
                }
            });
            Flash {
                title: "Tokens refreshed".into(),
                body: "New access token and ID token received; the refresh token was rotated (the old one is now spent)."
                    .into(),
                ok: true,
            }
        }
        Err(error) => {
            let revoked = error.oauth_code() == Some("invalid_grant");
            if revoked {
                state.sessions.with(&key, |session| session.tokens = None);
            }
            Flash {
                title: "Refresh refused".into(),
                body: format!(
                    "{}{}",
                    error.public_description(),
                    if revoked {
                        "\nThe grant is gone: you are signed out of this app."
                    } else {
                        ""
                    }
                ),
                ok: false,
            }
        }
    };
    state
        .sessions
        .with(&key, |session| session.flash = Some(flash));
    redirect_home(&timeline, id)
}
