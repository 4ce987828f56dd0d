//! Response helpers shared by the handlers: error pages, redirects and timeline records of
//! the browser's requests.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::Error;
use crate::timeline::{Exchange, Lane, Timeline, mask};
use crate::web::AppState;
use crate::web::pages::ErrorPage;
use crate::web::session::SessionKey;

/// Pages show tokens: never cache them.
pub(crate) fn no_store(response: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], response).into_response()
}

pub(crate) fn error_page(status: StatusCode, title: &str, message: &str, hint: &str) -> Response {
    let page = ErrorPage {
        title: title.to_owned(),
        message: message.to_owned(),
        hint: hint.to_owned(),
    };
    no_store((status, page))
}

pub(crate) fn provider_unreachable(error: &Error) -> Response {
    error_page(
        StatusCode::BAD_GATEWAY,
        "The provider cannot be reached",
        &error.public_description(),
        "Start the provider (cargo run -p provider -- dev) or check --issuer / CLIENT_ISSUER, then try again.",
    )
}

pub(crate) fn timeline_of(state: &AppState, key: &SessionKey) -> Arc<Timeline> {
    state
        .sessions
        .with(key, |session| Arc::clone(&session.timeline))
        .unwrap_or_default()
}

/// Records a browser → client request now; its response is added when known.
pub(crate) fn browser_request(
    timeline: &Timeline,
    title: &str,
    method: &str,
    url: &str,
    explanation: &str,
    spec: &str,
) -> crate::timeline::ExchangeId {
    timeline.record(
        Exchange::request(Lane::Browser, Lane::Client, title, method, url)
            .explain(explanation, spec),
    )
}

pub(crate) fn redirect_home(timeline: &Timeline, id: crate::timeline::ExchangeId) -> Response {
    timeline.update(id, |exchange| {
        exchange.respond(303, vec![field("Location", "/")], String::new())
    });
    no_store(Redirect::to("/"))
}

pub(crate) fn field(name: &str, value: &str) -> crate::timeline::Field {
    crate::timeline::Field {
        name: name.to_owned(),
        value: mask::header(name, value),
    }
}

/// Back to the start page (the user is not signed in, or the session is gone).
pub(crate) fn not_signed_in() -> Response {
    no_store(Redirect::to("/"))
}
