//! `POST /login` (start the code flow) and `GET /callback` (the redirection endpoint).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;

use crate::oidc::authorize::AuthorizeOptions;
use crate::timeline::{Exchange, Lane, unix_now};
use crate::web::AppState;
use crate::web::respond::{
    browser_request, error_page, field, no_store, provider_unreachable, redirect_home, timeline_of,
};
use crate::web::session::{Flash, PENDING_TIMEOUT_SECS, Tokens};

/// `POST /login`: prepares PKCE, state and nonce, keeps them in the session, and sends the
/// browser to the authorization endpoint.
#[tracing::instrument(skip_all)]
pub(crate) async fn post_login(State(state): State<AppState>, jar: CookieJar) -> Response {
    let (client, discovery_exchanges) = match state.oidc().await {
        Ok(found) => found,
        Err(error) => return provider_unreachable(&error),
    };
    let (jar, key) = state.sessions.find_or_create(jar, state.secure_cookies());
    let timeline = timeline_of(&state, &key);
    if timeline.is_empty() {
        for exchange in discovery_exchanges {
            timeline.record(
                exchange.with_note("done once when the app first needed the provider, then cached"),
            );
        }
    }
    let login_url = format!("{}/login", state.config.public_url);
    let id = browser_request(
        &timeline,
        "Sign in clicked",
        "POST",
        &login_url,
        "The user presses Sign in. The client answers with a redirect to the provider's authorization endpoint.",
        "RFC 6749 §4.1.1",
    );
    let (pending, authorize_url) = client.begin(&AuthorizeOptions::default(), &timeline);
    state.sessions.with(&key, |session| {
        session.pending = Some(pending);
        session.tokens = None;
    });
    timeline.update(id, |exchange| {
        exchange.respond(303, vec![field("Location", &authorize_url)], String::new())
    });
    timeline.record(
        Exchange::request(Lane::Browser, Lane::Provider, "Authorization request", "GET", &authorize_url).explain(
            "The browser follows the redirect. Login and consent now happen between the browser and the \
             provider: this client sees none of it, and the password never reaches it.",
            "RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1",
        ),
    );
    timeline.record(
        Exchange::note(Lane::Provider, "Login and consent (browser ↔ provider)").explain(
            "The provider shows its login page and, for offline_access, a consent page. These exchanges are \
             between the browser and the provider only; the client learns the outcome at its callback.",
            "OIDC Core §3.1.2.3-3.1.2.4",
        ),
    );
    tracing::info!(target: "flow", "client: sign-in started; browser sent to the authorization endpoint with PKCE S256, state and nonce");
    (jar, no_store(Redirect::to(&authorize_url))).into_response()
}

/// `GET /callback`: the redirection endpoint (RFC 6749 §3.1.2).
#[tracing::instrument(skip_all)]
pub(crate) async fn get_callback(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let Some(key) = state.sessions.find(&jar) else {
        tracing::warn!("callback without a session cookie refused");
        return error_page(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            "This browser has no sign-in in progress here (no session cookie), so the response cannot be \
             matched to a request and is refused (RFC 6749 §10.12).",
            "Start from this app's Sign in button, and use the same host name throughout (127.0.0.1 and localhost do not share cookies).",
        );
    };
    let (client, _) = match state.oidc().await {
        Ok(found) => found,
        Err(error) => return provider_unreachable(&error),
    };
    let timeline = timeline_of(&state, &key);
    let callback_url = format!("{}/callback?{query}", state.config.public_url);
    let id = browser_request(
        &timeline,
        "Authorization response (callback)",
        "GET",
        &callback_url,
        "The provider sends the browser back to the registered redirect URI with a one-time code, our state \
         and its issuer identifier.",
        "RFC 6749 §4.1.2, RFC 9207 §2",
    );
    let pending = state
        .sessions
        .with(&key, |session| session.pending.take())
        .flatten();
    let Some(pending) =
        pending.filter(|pending| unix_now() - pending.created_at < PENDING_TIMEOUT_SECS)
    else {
        timeline.update(id, |exchange| {
            exchange.respond(400, Vec::new(), "no sign-in in progress".into())
        });
        return error_page(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            "No sign-in is in progress in this browser (or it is older than ten minutes), so this response is refused.",
            "Press Sign in again.",
        );
    };
    let code = match client.check_callback(&pending.state, &query, &timeline) {
        Ok(code) => code,
        Err(error) => {
            timeline.update(id, |exchange| {
                exchange.respond(400, Vec::new(), error.public_description().into_owned())
            });
            return error_page(
                StatusCode::BAD_REQUEST,
                "Sign-in refused",
                &error.public_description(),
                "If you denied access, that is the answer: press Sign in to try again.",
            );
        }
    };
    let signed_in = match client.exchange_code(&code, pending, &timeline).await {
        Ok(signed_in) => signed_in,
        Err(error) => {
            tracing::warn!(error = %error, "code exchange failed");
            timeline.update(id, |exchange| {
                exchange.respond(400, Vec::new(), error.public_description().into_owned())
            });
            return error_page(
                StatusCode::BAD_REQUEST,
                "Sign-in failed",
                &error.public_description(),
                "See the flow timeline for the exchange that failed; docs/troubleshooting.md explains the usual causes.",
            );
        }
    };
    let claims = signed_in.id_token.claims.clone();
    let userinfo = client
        .userinfo(&signed_in.tokens.access_token, &claims.sub, &timeline)
        .await
        .inspect_err(|error| tracing::warn!(error = %error, "userinfo failed"))
        .ok();
    let tokens = signed_in.tokens;
    let Some(id_token) = tokens.id_token else {
        return error_page(
            StatusCode::BAD_GATEWAY,
            "Sign-in failed",
            "The token response has no ID token.",
            "",
        );
    };
    tracing::info!(target: "flow", sub = %claims.sub, "client: signed in; ID token validated and tokens kept in the server-side session");
    state.sessions.with(&key, |session| {
        session.tokens = Some(Tokens {
            access_expires_at: unix_now() + i64::try_from(tokens.expires_in.unwrap_or(0)).unwrap_or(0),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            id_token,
            first_id_claims: claims.clone(),
            id_claims: claims,
            userinfo,
            scope: tokens.scope.unwrap_or_default(),
        });
        session.flash = Some(Flash {
            title: "Signed in".into(),
            body: "The code was exchanged, the ID token validated (signature, iss, aud, exp, nonce, at_hash) and \
                   UserInfo fetched. See the flow timeline for every step."
                .into(),
            ok: true,
        });
    });
    let (jar, _) = state.sessions.rotate(jar, &key, state.secure_cookies());
    (jar, redirect_home(&timeline, id)).into_response()
}
