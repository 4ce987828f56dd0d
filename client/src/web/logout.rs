//! `POST /logout` (RP-initiated logout) and the check of the `state` the provider sends back.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{Redirect, Response};
use axum_extra::extract::cookie::CookieJar;

use crate::state::State as OAuthState;
use crate::timeline::{Exchange, Lane, Outcome};
use crate::web::AppState;
use crate::web::respond::{
    browser_request, field, no_store, not_signed_in, redirect_home, timeline_of,
};
use crate::web::session::{Flash, SessionKey};

/// `POST /logout`: forgets the tokens and, when the provider advertises it, sends the browser
/// to the end-session endpoint (RP-Initiated Logout 1.0 §2).
#[tracing::instrument(skip_all)]
pub(crate) async fn post_logout(State(state): State<AppState>, jar: CookieJar) -> Response {
    let Some(key) = state.sessions.find(&jar) else {
        return not_signed_in();
    };
    let timeline = timeline_of(&state, &key);
    let id = browser_request(
        &timeline,
        "Button: Log out",
        "POST",
        &format!("{}/logout", state.config.public_url),
        "The user logs out: the app forgets the tokens and, if the provider supports it, asks it to end its session too.",
        "OpenID Connect RP-Initiated Logout 1.0 §2",
    );
    let tokens = state
        .sessions
        .with(&key, |session| session.tokens.take())
        .flatten();
    let client = state.oidc.get().map(|(client, _)| Arc::clone(client));
    let end_session = match (&client, &tokens) {
        (Some(client), Some(tokens)) => {
            let logout_state = OAuthState::generate();
            client
                .end_session_url(&tokens.id_token, &logout_state)
                .map(|url| (url, logout_state))
        }
        _ => None,
    };
    match end_session {
        Some((url, logout_state)) => {
            state
                .sessions
                .with(&key, |session| session.logout_state = Some(logout_state));
            timeline.update(id, |exchange| {
                exchange.respond(303, vec![field("Location", &url)], String::new())
            });
            timeline.record(
                Exchange::request(Lane::Browser, Lane::Provider, "End session at the provider", "GET", &url).explain(
                    "The browser goes to the provider's end_session_endpoint with our ID token as id_token_hint, \
                     so the provider knows whose session to end and that the request comes from a client the \
                     user was signed in to; it then returns to our post_logout_redirect_uri with state.",
                    "OpenID Connect RP-Initiated Logout 1.0 §2-3",
                ),
            );
            tracing::info!(target: "flow", "client: local session cleared; browser sent to the end_session_endpoint");
            no_store(Redirect::to(&url))
        }
        None => {
            state.sessions.with(&key, |session| {
                session.flash = Some(Flash {
                    title: "Signed out of this app".into(),
                    body: "The tokens are forgotten. The provider does not advertise an end_session_endpoint, so your \
                           session there continues (the next Sign in may not ask for a password)."
                        .into(),
                    ok: true,
                });
            });
            redirect_home(&timeline, id)
        }
    }
}

/// The `state` parameter of a query string.
pub(crate) fn query_state(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "state")
        .map(|(_, value)| value.into_owned())
}

/// The browser is back from the provider's end-session endpoint.
pub(crate) fn post_logout_return(state: &AppState, key: &SessionKey, returned: &str) {
    let url = format!("{}/?state={returned}", state.config.public_url);
    state.sessions.with(key, |session| {
        let expected = session.logout_state.take();
        let matches = expected.as_ref().is_some_and(|expected| expected.matches(returned));
        let exchange = Exchange::request(Lane::Browser, Lane::Client, "Back from the provider's logout", "GET", &url)
            .explain(
                "The provider ended its session and sent the browser to our post_logout_redirect_uri with the \
                 state we sent, which the client checks like the sign-in's state.",
                "OpenID Connect RP-Initiated Logout 1.0 §3",
            )
            .respond(200, Vec::new(), "HTML page: \"Sign in to the demo app\"".to_owned());
        let exchange = if matches {
            exchange.with_note("✓ state equals the one sent with the logout request")
        } else {
            exchange
                .with_note("✗ state does not match a logout started here; ignored")
                .with_outcome(Outcome::Refused)
        };
        session.timeline.record(exchange);
        session.flash = Some(Flash {
            title: if matches { "Signed out".into() } else { "Unexpected logout response".into() },
            body: if matches {
                "You are signed out of this app and of the provider (the provider returned our logout state).".into()
            } else {
                "A logout response arrived that this browser did not start; it was ignored.".into()
            },
            ok: matches,
        });
    });
}
