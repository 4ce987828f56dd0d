//! OpenID Connect RP-Initiated Logout 1.0: the end-session endpoint.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use openapi::document::tags;
use openapi::responses::{CrossOriginRefused, HtmlError, HtmlServerError};
use openapi::{EndSessionConfirmForm, EndSessionParams};
use tower_http::csrf::CsrfLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::extractors::{PageForm, QueryParams};
use crate::http::own_tokens::verify_own_id_token;
use crate::http::paths;
use crate::http::responses::{no_store_page, see_other};
use crate::http::session::current_session;
use crate::protocol::OAuthError;
use crate::protocol::logout::{LogoutHint, decide_logout};
use crate::protocol::params::Params;
use crate::protocol::types::{ClientId, Subject};
use crate::state::AppState;
use crate::telemetry::FLOW;
use crate::templates::{LogoutPage, MessagePage};

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_end_session, post_end_session))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(post_end_session_confirm))
                .layer(CsrfLayer::new()),
        )
}

/// End the session (browser).
///
/// OpenID Connect RP-Initiated Logout 1.0 §2. With an `id_token_hint` naming the signed-in
/// user the session ends at once; otherwise the user confirms on a page. Afterwards the browser
/// goes to the registered `post_logout_redirect_uri` (with `state`), or sees a signed-out page.
#[utoipa::path(
    get,
    path = paths::END_SESSION,
    tag = tags::LOGOUT,
    params(EndSessionParams),
    responses(
        (status = 200, description = "The confirmation page, or the signed-out page when there is no redirect.", body = String, content_type = "text/html"),
        (status = 303, description = "Signed out: on to the validated `post_logout_redirect_uri`.", headers(
            ("Location" = String, description = "`{post_logout_redirect_uri}?state=…`"),
            ("Set-Cookie" = String, description = "Removes `oidc_session`."),
        )),
        (status = 400, response = HtmlError),
        (status = 500, response = HtmlServerError),
    ),
)]
async fn get_end_session(
    State(state): State<AppState>,
    jar: CookieJar,
    QueryParams(params): QueryParams,
) -> Result<Response, PageError> {
    end_session(&state, jar, params).await
}

/// End the session, form-encoded (browser).
///
/// RP-Initiated Logout §2: the same parameters as `GET /end_session`, in a form body.
#[utoipa::path(
    post,
    path = paths::END_SESSION,
    tag = tags::LOGOUT,
    request_body(content = Option<EndSessionParams>, content_type = "application/x-www-form-urlencoded", example = json!({
        "client_id": openapi::demo::WEB_CLIENT_ID, "post_logout_redirect_uri": "http://127.0.0.1:8082/",
    })),
    responses(
        (status = 200, description = "The confirmation page, or the signed-out page when there is no redirect.", body = String, content_type = "text/html"),
        (status = 303, description = "Signed out: on to the validated `post_logout_redirect_uri`.", headers(
            ("Location" = String, description = "`{post_logout_redirect_uri}?state=…`"),
            ("Set-Cookie" = String, description = "Removes `oidc_session`."),
        )),
        (status = 400, response = HtmlError),
        (status = 500, response = HtmlServerError),
    ),
)]
async fn post_end_session(
    State(state): State<AppState>,
    jar: CookieJar,
    PageForm(params): PageForm,
) -> Result<Response, PageError> {
    end_session(&state, jar, params).await
}

/// The purpose under which the server secret signs confirmation forms.
const CONFIRMATION: &str = "logout-confirmation";

/// What the confirmation form carries back: the client and the request's redirect, to be
/// validated again.
struct ConfirmFields<'a> {
    client_id: &'a str,
    post_logout_redirect_uri: &'a str,
    state: &'a str,
}

impl ConfirmFields<'_> {
    /// The signed message: this browser's session cookie and the fields, NUL-separated.
    fn message(&self, session_cookie: &str) -> String {
        format!(
            "{session_cookie}\u{0}{}\u{0}{}\u{0}{}",
            self.client_id, self.post_logout_redirect_uri, self.state
        )
    }
}

/// The confirmation form's token: an HMAC with the server secret over this browser's session,
/// the client and the redirect request, so neither another site, another browser, nor a
/// tampered form can use it; and no one who learns a session cookie can forge one.
fn confirmation_token(
    state: &AppState,
    session_cookie: &str,
    fields: &ConfirmFields<'_>,
) -> String {
    state
        .secret
        .sign(CONFIRMATION, fields.message(session_cookie).as_bytes())
}

async fn end_session(
    state: &AppState,
    jar: CookieJar,
    params: Params,
) -> Result<Response, PageError> {
    let hint = match params.single("id_token_hint")? {
        None => None,
        Some(token) => {
            let claims =
                verify_own_id_token(state, None, token).ok_or(OAuthError::invalid_request(
                    "id_token_hint is not an ID token this provider issued",
                ))?;
            let subject = claims.get("sub").and_then(serde_json::Value::as_str);
            let audience = claims.get("aud").and_then(serde_json::Value::as_str);
            match (subject, audience) {
                (Some(subject), Some(audience)) => Some(LogoutHint {
                    subject: Subject(subject.to_owned()),
                    client_id: ClientId::parse(audience)?,
                }),
                _ => {
                    return Err(PageError::OAuth(OAuthError::invalid_request(
                        "id_token_hint lacks sub or aud",
                    )));
                }
            }
        }
    };
    let client_id = params.single("client_id")?;
    let client = match hint
        .as_ref()
        .map(|hint| hint.client_id.as_str())
        .or(client_id)
    {
        Some(client_id) => state.client(client_id).await?,
        None => None,
    };
    if hint.is_some() && client.is_none() {
        return Err(PageError::OAuth(OAuthError::invalid_request(
            "id_token_hint was not issued to a registered client",
        )));
    }
    let session = current_session(state, &jar).await?;
    let decision = decide_logout(
        hint.as_ref(),
        client_id,
        client.as_ref(),
        params.single("post_logout_redirect_uri")?,
        params.single("state")?,
        session.as_ref().map(|auth| &auth.subject),
    )?;
    let redirect = decision.redirect.unwrap_or_default();
    if decision.trusted {
        tracing::info!(target: FLOW, "logout: id_token_hint names the signed-in user; ending the session (RP-Initiated Logout §2)");
        return sign_out(state, jar, &redirect).await;
    }
    let session_cookie = cookies::value(&jar, cookies::SESSION, &state.issuer).unwrap_or_default();
    tracing::info!(target: FLOW, "logout: the request does not prove who sent it; asking the user to confirm");
    let fields = ConfirmFields {
        client_id: client
            .as_ref()
            .map(|client| client.client_id.as_str())
            .unwrap_or_default(),
        post_logout_redirect_uri: params
            .single("post_logout_redirect_uri")?
            .unwrap_or_default(),
        state: params.single("state")?.unwrap_or_default(),
    };
    Ok(no_store_page(LogoutPage {
        csrf_token: &confirmation_token(state, &session_cookie, &fields),
        client_id: fields.client_id,
        post_logout_redirect_uri: fields.post_logout_redirect_uri,
        state: fields.state,
    }))
}

/// Ends the SSO session and goes to the (validated) redirect, or shows a signed-out page.
async fn sign_out(state: &AppState, jar: CookieJar, redirect: &str) -> Result<Response, PageError> {
    if let Some(digest) = cookies::digest(&jar, cookies::SESSION, &state.issuer) {
        let session = state.store.users.session(&digest, state.now()).await?;
        state.store.users.delete_session(&digest).await?;
        // Back-Channel Logout: every client that got tokens in this session is told.
        if let Some(session) = session {
            crate::backchannel::session_ended(state, &session.sid).await?;
        }
    }
    let jar = jar.remove(cookies::removal(cookies::SESSION, &state.issuer));
    if redirect.is_empty() {
        Ok((
            jar,
            MessagePage {
                title: "Signed out",
                message: "You are signed out of the provider.",
            },
        )
            .into_response())
    } else {
        Ok(see_other(jar, redirect))
    }
}

/// Confirm or cancel the sign-out (HTML form target).
///
/// `POST /end_session/confirm` from the confirmation page. Its token is an HMAC over this
/// browser's session, the client and the redirect request; the redirect is validated again
/// against the client's registration.
#[utoipa::path(
    post,
    path = paths::END_SESSION_CONFIRM,
    tag = tags::LOGOUT,
    request_body(content = EndSessionConfirmForm, content_type = "application/x-www-form-urlencoded", example = json!({
        "csrf_token": "the token from the confirmation page", "client_id": openapi::demo::WEB_CLIENT_ID,
        "post_logout_redirect_uri": "http://127.0.0.1:8082/", "state": "", "decision": "logout",
    })),
    responses(
        (status = 200, description = "\"Signed out\" (no redirect) or \"Still signed in\".", body = String, content_type = "text/html"),
        (status = 303, description = "Signed out: on to the validated `post_logout_redirect_uri`.", headers(
            ("Location" = String, description = "`{post_logout_redirect_uri}?state=…`"),
            ("Set-Cookie" = String, description = "Removes `oidc_session`."),
        )),
        (status = 400, response = HtmlError),
        (status = 403, response = CrossOriginRefused),
        (status = 500, response = HtmlServerError),
    ),
)]
async fn post_end_session_confirm(
    State(state): State<AppState>,
    jar: CookieJar,
    PageForm(params): PageForm,
) -> Result<Response, PageError> {
    let fields = ConfirmFields {
        client_id: params.single("client_id")?.unwrap_or_default(),
        post_logout_redirect_uri: params
            .single("post_logout_redirect_uri")?
            .unwrap_or_default(),
        state: params.single("state")?.unwrap_or_default(),
    };
    let session_cookie = cookies::value(&jar, cookies::SESSION, &state.issuer).unwrap_or_default();
    let presented = params.single("csrf_token")?.unwrap_or_default();
    let message = fields.message(&session_cookie);
    if !state
        .secret
        .verify(CONFIRMATION, message.as_bytes(), presented)
    {
        return Err(PageError::OAuth(OAuthError::invalid_request(
            "the form has expired; start the sign-out again",
        )));
    }
    // The redirect is validated again: the client may have changed its registration since.
    let client =
        match fields.client_id {
            "" => None,
            client_id => Some(state.client(client_id).await?.ok_or(
                OAuthError::invalid_request(
                    "the client that asked for the sign-out is no longer registered",
                ),
            )?),
        };
    let session = current_session(&state, &jar).await?;
    let redirect = decide_logout(
        None,
        client.as_ref().map(|client| client.client_id.as_str()),
        client.as_ref(),
        Some(fields.post_logout_redirect_uri).filter(|uri| !uri.is_empty()),
        Some(fields.state).filter(|value| !value.is_empty()),
        session.as_ref().map(|auth| &auth.subject),
    )?
    .redirect
    .unwrap_or_default();
    if params.single("decision")? != Some("logout") {
        return Ok(MessagePage {
            title: "Still signed in",
            message: "You stay signed in. You can close this page.",
        }
        .into_response());
    }
    tracing::info!(target: FLOW, "logout: the user confirmed; ending the session");
    sign_out(&state, jar, &redirect).await
}
