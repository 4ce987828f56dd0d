//! The signed-in user's account page (`/account`): two-step verification with an authenticator
//! app (RFC 6238 TOTP): enrolment with a QR code and a first code, ten single-use recovery
//! codes shown once, and turning it off with a current code.
//!
//! The page signs users in through `/authorize` with its own first-party client
//! (`seed::ACCOUNT_CLIENT_ID`), so the login page, its throttle and the second-factor step are
//! the same as for any application. Its forms carry a synchroniser token bound to the SSO
//! session (an HMAC with the server secret) and sit behind tower-http's cross-origin check.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;
use sha2::Digest;
use tower_http::csrf::CsrfLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::extractors::{ClientIp, PageForm};
use crate::http::login_throttle::LoginAttempt;
use crate::http::paths;
use crate::http::responses::no_store_page;
use crate::http::session::{current_session, second_factor_ok};
use crate::protocol::OAuthError;
use crate::protocol::authorize::Authentication;
use crate::protocol::params::Params;
use crate::protocol::throttle::Throttle;
use crate::protocol::totp;
use crate::protocol::types::{SecretDigest, encode_random};
use crate::state::AppState;
use crate::telemetry::FLOW;
use crate::templates::{AccountPage, RecoveryCodesPage, TotpSetupPage};

/// Routes of this module (browser pages, not API operations: see `docs::UNDOCUMENTED`).
pub fn router() -> OpenApiRouter<AppState> {
    let forms = OpenApiRouter::new()
        .route(
            paths::ACCOUNT_TOTP,
            get(get_totp_setup).post(post_totp_setup),
        )
        // A GET (a bookmark, a reload) goes back to the account page.
        .route(
            paths::ACCOUNT_TOTP_OFF,
            get(|| async { Redirect::to(paths::ACCOUNT) }).post(post_totp_off),
        )
        .layer(CsrfLayer::new());
    OpenApiRouter::new()
        .route(paths::ACCOUNT, get(get_account))
        .route(paths::ACCOUNT_CALLBACK, get(get_callback))
        .merge(forms)
}

/// The session and the account forms' token, or `None` without a session.
async fn signed_in(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<(Authentication, String)>, PageError> {
    let Some(session) = current_session(state, jar).await? else {
        return Ok(None);
    };
    let digest = cookies::digest(jar, cookies::SESSION, &state.issuer)
        .map(|digest| digest.as_str().to_owned())
        .unwrap_or_default();
    let csrf = state.secret.sign("account-forms", digest.as_bytes());
    Ok(Some((session, csrf)))
}

fn check_csrf(state: &AppState, jar: &CookieJar, params: &Params) -> Result<(), PageError> {
    let digest = cookies::digest(jar, cookies::SESSION, &state.issuer)
        .map(|digest| digest.as_str().to_owned())
        .unwrap_or_default();
    let presented = params
        .single("csrf_token")
        .ok()
        .flatten()
        .unwrap_or_default();
    if state
        .secret
        .verify("account-forms", digest.as_bytes(), presented)
    {
        Ok(())
    } else {
        Err(PageError::OAuth(OAuthError::invalid_request(
            "the form has expired; reload the account page and try again",
        )))
    }
}

/// Without a session: sign in through `/authorize` with the account page's own client.
fn sign_in_first(state: &AppState) -> Response {
    let verifier = encode_random(state.random_bytes());
    let challenge = keys::b64url(sha2::Sha256::digest(verifier.as_bytes()));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", crate::seed::ACCOUNT_CLIENT_ID)
        .append_pair(
            "redirect_uri",
            &state.issuer.url_for(paths::ACCOUNT_CALLBACK),
        )
        .append_pair("scope", "openid")
        .append_pair("state", &encode_random(state.random_bytes()))
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    Redirect::to(&format!("{}?{query}", paths::AUTHORIZE)).into_response()
}

/// `GET /account`.
async fn get_account(State(state): State<AppState>, jar: CookieJar) -> Result<Response, PageError> {
    match signed_in(&state, &jar).await? {
        Some((session, csrf)) => account_page(&state, &session, &csrf, None, None).await,
        None => Ok(sign_in_first(&state)),
    }
}

/// `GET /account/callback`: the sign-in is done (the session is what the page needs; the code
/// is left to expire unused).
async fn get_callback() -> Response {
    Redirect::to(paths::ACCOUNT).into_response()
}

async fn account_page(
    state: &AppState,
    session: &Authentication,
    csrf: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let users = &state.store.users;
    let user = users
        .user_by_subject(&session.subject)
        .await?
        .ok_or(PageError::OAuth(OAuthError::invalid_request(
            "this account no longer exists",
        )))?;
    let totp_on = users
        .totp(&session.subject)
        .await?
        .is_some_and(|totp| totp.confirmed);
    let recovery_codes_left = if totp_on {
        users.recovery_codes_left(&session.subject).await?
    } else {
        0
    };
    Ok(no_store_page(AccountPage {
        name: &user.name,
        username: &user.username,
        amr: session.amr.join(" "),
        totp_on,
        recovery_codes_left,
        csrf_token: csrf,
        notice,
        error,
    }))
}

/// `GET /account/totp`: a new secret (pending until its first code), as a QR code and a key.
async fn get_totp_setup(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let Some((session, csrf)) = signed_in(&state, &jar).await? else {
        return Ok(Redirect::to(paths::ACCOUNT).into_response());
    };
    let random = state.random_bytes();
    let secret = &random[..totp::SECRET_LEN];
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&state.random_bytes()[..12]);
    let sealed = state
        .secret
        .seal(session.subject.as_str(), secret, nonce)
        .ok_or_else(|| crate::Error::internal("sealing a TOTP secret", "AES-GCM failed"))?;
    if !state
        .store
        .users
        .begin_totp(&session.subject, &sealed, state.now())
        .await?
    {
        // Already on: turn it off first (with a code).
        return Ok(Redirect::to(paths::ACCOUNT).into_response());
    }
    tracing::info!(target: FLOW, "account: a new authenticator secret is waiting for its first code (RFC 6238)");
    setup_page(&state, &session, secret, &csrf, None).await
}

async fn setup_page(
    state: &AppState,
    session: &Authentication,
    secret: &[u8],
    csrf: &str,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let user = state
        .store
        .users
        .user_by_subject(&session.subject)
        .await?
        .map(|user| user.username)
        .unwrap_or_default();
    let issuer_name = url::Url::parse(state.issuer.as_str())
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| "OpenID Provider".into());
    let uri = totp::otpauth_uri(secret, &user, &issuer_name)
        .ok_or_else(|| crate::Error::internal("the otpauth URI", "totp-rs refused the secret"))?;
    let qr = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|error| crate::Error::internal("rendering the QR code", error.to_string()))?;
    let svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(no_store_page(TotpSetupPage {
        qr_svg: &svg,
        manual_key: &totp::manual_key(secret),
        csrf_token: csrf,
        error,
    }))
}

/// `POST /account/totp`: the first code confirms the enrolment; the recovery codes are shown
/// once.
async fn post_totp_setup(
    State(state): State<AppState>,
    jar: CookieJar,
    PageForm(params): PageForm,
) -> Result<Response, PageError> {
    let Some((session, csrf)) = signed_in(&state, &jar).await? else {
        return Ok(Redirect::to(paths::ACCOUNT).into_response());
    };
    check_csrf(&state, &jar, &params)?;
    let users = &state.store.users;
    let Some(pending) = users
        .totp(&session.subject)
        .await?
        .filter(|totp| !totp.confirmed)
    else {
        return Ok(Redirect::to(paths::ACCOUNT).into_response());
    };
    let secret = state
        .secret
        .open(session.subject.as_str(), &pending.sealed_secret)
        .ok_or_else(|| {
            crate::Error::internal("opening a TOTP secret", "not sealed for this user")
        })?;
    let code = params.single("code").ok().flatten().unwrap_or_default();
    let Some(step) = totp::check(&secret, code, state.now()) else {
        return setup_page(
            &state,
            &session,
            &secret,
            &csrf,
            Some("That code is not the one the app shows now. Check the phone's clock and try the next code."),
        )
        .await;
    };
    let codes: Vec<String> = (0..totp::RECOVERY_CODES)
        .map(|_| totp::recovery_code(&state.random_bytes()))
        .collect();
    let digests: Vec<SecretDigest> = codes
        .iter()
        .filter_map(|code| totp::normalize_recovery_code(code))
        .map(|code| SecretDigest::of(&code))
        .collect();
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    if !users
        .confirm_totp(&session.subject, step, &digests, state.now())
        .await?
    {
        return Ok(Redirect::to(paths::ACCOUNT).into_response());
    }
    state
        .store
        .audit
        .audit(
            "totp_enabled",
            None,
            Some(session.subject.as_str()),
            "",
            state.now(),
        )
        .await?;
    tracing::info!(target: FLOW, "account: two-step verification is on; ten recovery codes issued (stored hashed)");
    Ok(no_store_page(RecoveryCodesPage { codes }))
}

/// `POST /account/totp/off`: with a current code (or a recovery code), throttled like a
/// password.
async fn post_totp_off(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    PageForm(params): PageForm,
) -> Result<Response, PageError> {
    let Some((session, csrf)) = signed_in(&state, &jar).await? else {
        return Ok(Redirect::to(paths::ACCOUNT).into_response());
    };
    check_csrf(&state, &jar, &params)?;
    let username = state
        .store
        .users
        .user_by_subject(&session.subject)
        .await?
        .map(|user| user.username)
        .unwrap_or_default();
    let attempt = LoginAttempt::new(&state, &username, ip, &jar);
    if let Throttle::Wait { .. } = attempt.decide(&state).await {
        return account_page(
            &state,
            &session,
            &csrf,
            None,
            Some("Too many attempts. Wait a minute and try again."),
        )
        .await;
    }
    let code = params.single("code").ok().flatten().unwrap_or_default();
    if !second_factor_ok(&state, &session.subject, code).await? {
        attempt.failed(&state).await;
        return account_page(
            &state,
            &session,
            &csrf,
            None,
            Some("That code is not valid; two-step verification stays on."),
        )
        .await;
    }
    state.store.users.reset_mfa(&session.subject).await?;
    state
        .store
        .audit
        .audit(
            "totp_disabled",
            None,
            Some(session.subject.as_str()),
            "",
            state.now(),
        )
        .await?;
    tracing::info!(target: FLOW, "account: two-step verification turned off (a current code was given)");
    account_page(
        &state,
        &session,
        &csrf,
        Some("Two-step verification is off."),
        None,
    )
    .await
}
