//! The browser's single sign-on session, as the authorization endpoint and the interaction and
//! logout pages see it.

use axum_extra::extract::cookie::CookieJar;

use crate::Error;
use crate::http::cookies;
use crate::protocol::authorize::Authentication;
use crate::state::AppState;

/// The browser's live SSO session, if any.
pub async fn current_session(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<Authentication>, Error> {
    let Some(digest) = cookies::digest(jar, cookies::SESSION, &state.issuer) else {
        return Ok(None);
    };
    let session = state.store.users.session(&digest, state.now()).await?;
    Ok(session.map(|session| Authentication {
        sid: Some(session.sid),
        subject: session.subject,
        auth_time: session.auth_time,
    }))
}
