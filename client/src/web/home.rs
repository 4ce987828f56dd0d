//! `GET /` (the start page or the signed-in view), `GET /timeline` and the static assets.

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde_json::Value;

use crate::oidc::OidcClient;
use crate::timeline::{mask, unix_now};
use crate::web::AppState;
use crate::web::logout::{post_logout_return, query_state};
use crate::web::pages::{HomePage, SignedInView, TimelinePage, claim_lines, remaining};
use crate::web::respond::{no_store, timeline_of};
use crate::web::sequence;
use crate::web::session::Tokens;

/// `GET /`: the start page, or the signed-in view. When the provider sends the browser back
/// after logout, the `state` we sent is checked (RP-Initiated Logout §3).
#[tracing::instrument(skip_all)]
pub(crate) async fn get_home(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let session = state.sessions.find(&jar);
    let logout_state = query.as_deref().and_then(query_state);
    if let (Some(key), Some(returned)) = (&session, &logout_state) {
        post_logout_return(&state, key, returned);
    }
    let logout_supported = match state.oidc.get() {
        Some((client, _)) => client.supports_logout(),
        None => false,
    };
    let now = unix_now();
    let (signed_in, flash, timeline_len) = match &session {
        Some(key) => state
            .sessions
            .with(key, |session| {
                let view = session.tokens.as_ref().map(|tokens| {
                    signed_in_view(
                        state.oidc.get().map(|(client, _)| client.as_ref()),
                        tokens,
                        now,
                    )
                });
                (view, session.flash.take(), session.timeline.len())
            })
            .unwrap_or((None, None, 0)),
        None => (None, None, 0),
    };
    no_store(HomePage {
        issuer: state.config.client.issuer.clone(),
        resource: state.config.client.resource.clone(),
        client_id: state.config.client.registration.client_id.clone(),
        logout_supported,
        signed_in,
        flash,
        timeline_len,
    })
}

fn signed_in_view(client: Option<&OidcClient>, tokens: &Tokens, now: i64) -> SignedInView {
    let userinfo = tokens.userinfo.clone().unwrap_or(Value::Null);
    let text = |name: &str| {
        userinfo
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let display_name = [
        text("name"),
        text("preferred_username"),
        tokens.id_claims.sub.clone(),
    ]
    .into_iter()
    .find(|candidate| !candidate.is_empty())
    .unwrap_or_default();
    let id_claims = serde_json::to_value(&tokens.id_claims).unwrap_or(Value::Null);
    let mut token_views = Vec::new();
    if let Some(client) = client {
        token_views.extend(client.id_token_view(tokens.id_token.expose()));
        token_views.extend(client.access_token_view(tokens.access_token.expose()));
    }
    SignedInView {
        display_name,
        username: text("preferred_username"),
        email: text("email"),
        id_claims: claim_lines(&id_claims),
        userinfo: claim_lines(&userinfo),
        tokens: token_views,
        access_expires_at: tokens.access_expires_at,
        access_remaining: remaining(tokens.access_expires_at, now),
        refresh_token: tokens
            .refresh_token
            .as_ref()
            .map_or_else(|| "none".to_owned(), |token| mask::shorten(token.expose())),
        scope: tokens.scope.clone(),
    }
}
/// `GET /timeline`.
#[tracing::instrument(skip_all)]
pub(crate) async fn get_timeline(State(state): State<AppState>, jar: CookieJar) -> Response {
    let exchanges = match state.sessions.find(&jar) {
        Some(key) => timeline_of(&state, &key).snapshot(),
        None => Vec::new(),
    };
    no_store(TimelinePage {
        diagram: sequence::layout(&exchanges),
        exchanges,
    })
}

/// `GET /assets/client.css`.
pub(crate) async fn get_stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../assets/client.css"),
    )
        .into_response()
}

/// `GET /assets/client.js`.
pub(crate) async fn get_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../assets/client.js"),
    )
        .into_response()
}
