//! `POST /backchannel-logout`: the provider says a session ended (OpenID Connect Back-Channel
//! Logout 1.0 §2.5-2.8). The logout token is validated (`oidc::logout_token`); every local
//! session signed in through that provider session (`sid`, else every session of `sub`)
//! forgets its tokens, and its timeline shows the provider's call.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::oidc::logout_token::LogoutClaims;
use crate::timeline::{Exchange, Lane, Timeline};
use crate::web::AppState;
use crate::web::respond::no_store;
use crate::web::session::{Flash, Tokens};

/// Longest logout token read.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// §2.8: 400 with a JSON error for a token that does not validate.
fn refused(description: &str) -> Response {
    no_store((
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": "invalid_request", "error_description": description})),
    ))
}

/// §2.7: with `sid`, the sessions of that provider session (and `sub`, when given); with `sub`
/// only, every session of that user.
fn signed_in_by(tokens: &Tokens, claims: &LogoutClaims) -> bool {
    let id = &tokens.first_id_claims;
    let sid = id.other.get("sid").and_then(serde_json::Value::as_str);
    let sub_ok = claims.sub.as_deref().is_none_or(|sub| sub == id.sub);
    match &claims.sid {
        Some(wanted) => sid == Some(wanted.as_str()) && sub_ok,
        None => sub_ok,
    }
}

/// `POST /backchannel-logout` (form: `logout_token`).
#[tracing::instrument(skip_all)]
pub(crate) async fn post_backchannel_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return refused("the logout token must be sent form-encoded (§2.5)");
    }
    let tokens: Vec<String> = url::form_urlencoded::parse(&body)
        .filter(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned())
        .collect();
    let [token] = tokens.as_slice() else {
        return refused("exactly one logout_token is required");
    };
    if token.len() > MAX_TOKEN_LEN {
        return refused("the logout token is too long");
    }
    let client = match state.oidc().await {
        Ok((client, _)) => client,
        Err(_) => return refused("the provider could not be reached to check the token"),
    };
    let scratch = Timeline::new();
    let claims = match client.validate_logout_token(token, &scratch).await {
        Ok(claims) => claims,
        Err(error) => {
            tracing::info!(target: "flow", %error, "client: back-channel logout refused");
            return refused(&error.to_string());
        }
    };
    let url = format!("{}/backchannel-logout", state.config.public_url);
    let view = client.logout_token_view(token);
    let ended = state.sessions.for_each_signed_in(
        |tokens| signed_in_by(tokens, &claims),
        |session| {
            session.tokens = None;
            session.timeline.record(
                Exchange::request(Lane::Provider, Lane::Client, "Back-channel logout", "POST", &url)
                    .explain(
                        "The user's session at the provider ended (logout there, expiry, or an operator's \
                         sign-out). The provider POSTs a signed logout token naming the session (sid) to our \
                         backchannel_logout_uri, server to server; we check it like an ID token (signature, \
                         iss, aud, iat, the logout event, no nonce) and end the local session that sid \
                         signed in.",
                        "OpenID Connect Back-Channel Logout 1.0 §2.5-2.7",
                    )
                    .with_token(view.clone())
                    .with_note("✓ signature, iss, aud, iat, events and no nonce checked; the tokens are forgotten")
                    .respond(200, Vec::new(), String::new()),
            );
            session.flash = Some(Flash {
                title: "Signed out by the provider".into(),
                body: "Your session at the provider ended, and it told this app over the back channel \
                       (a signed logout token), so this app forgot your tokens too. See the timeline."
                    .into(),
                ok: true,
            });
        },
    );
    tracing::info!(target: "flow", sid = ?claims.sid, ended, "client: back-channel logout accepted; local sessions ended");
    no_store(StatusCode::OK.into_response())
}
