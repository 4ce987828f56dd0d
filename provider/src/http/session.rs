//! The browser's single sign-on session, as the authorization endpoint and the interaction and
//! logout pages see it.

use axum_extra::extract::cookie::CookieJar;

use crate::Error;
use crate::http::cookies;
use crate::protocol::authorize::Authentication;
use crate::protocol::types::{SecretDigest, Subject};
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
        amr: session.amr,
        subject: session.subject,
        auth_time: session.auth_time,
    }))
}

/// A TOTP code (accepted once per 30-second step) or an unused recovery code of `subject`.
pub async fn second_factor_ok(
    state: &AppState,
    subject: &Subject,
    code: &str,
) -> Result<bool, Error> {
    let users = &state.store.users;
    let Some(totp) = users.totp(subject).await?.filter(|totp| totp.confirmed) else {
        return Ok(false);
    };
    let Some(secret) = state.secret.open(subject.as_str(), &totp.sealed_secret) else {
        tracing::warn!("a TOTP secret could not be opened (sealed under another server secret?)");
        return Ok(false);
    };
    if let Some(step) = crate::protocol::totp::check(&secret, code, state.now()) {
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        // RFC 6238 §5.2: each code once; the store takes only a later step.
        return Ok(users.use_totp_step(subject, step).await?);
    }
    match crate::protocol::totp::normalize_recovery_code(code) {
        Some(recovery) => Ok(users
            .use_recovery_code(subject, &SecretDigest::of(&recovery))
            .await?),
        None => Ok(false),
    }
}
