//! The steps of an authorization request that `/authorize`, the interaction pages and the
//! device verification page share: starting and completing an interaction, deciding what the
//! user must do next, and issuing the code.

use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;

use crate::Error;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::paths;
use crate::http::responses::see_other;
use crate::protocol::OAuthError;
use crate::protocol::authorize::{
    Authentication, AuthorizationRequest, InteractionProgress, NextStep, error_redirect, next_step,
    success_redirect,
};
use crate::protocol::backchannel::Participant;
use crate::protocol::client::RegisteredClient;
use crate::protocol::types::{AuthorizationCode, OpaqueToken, encode_random};
use crate::state::AppState;
use crate::store::{InteractionPurpose, InteractionRecord, IssuedCode};
use crate::telemetry::FLOW;

/// Stores a new interaction bound to this browser (the `oidc_browser` cookie, set when
/// missing).
pub async fn start_interaction(
    state: &AppState,
    jar: CookieJar,
    purpose: InteractionPurpose,
) -> Result<(CookieJar, InteractionRecord), Error> {
    let (jar, browser_digest) = match cookies::digest(&jar, cookies::BROWSER, &state.issuer) {
        Some(digest) => (jar, digest),
        None => {
            let browser = OpaqueToken::from_random(state.random_bytes());
            let digest = browser.digest();
            (
                jar.add(cookies::build(cookies::BROWSER, &browser, &state.issuer)),
                digest,
            )
        }
    };
    let interaction = InteractionRecord {
        second_factor: None,
        id: encode_random(state.random_bytes()),
        csrf_token: encode_random(state.random_bytes()),
        browser_digest,
        purpose,
        authentication: None,
        expires_at: state.now().plus(state.lifetimes.interaction),
    };
    state.store.ephemeral.put_interaction(&interaction).await?;
    Ok((jar, interaction))
}

/// Deletes a finished interaction; fails if a concurrent submit finished it first.
pub async fn complete_interaction(
    state: &AppState,
    interaction: &InteractionRecord,
) -> Result<(), PageError> {
    if state
        .store
        .ephemeral
        .take_interaction(&interaction.id)
        .await?
    {
        Ok(())
    } else {
        Err(PageError::OAuth(OAuthError::invalid_request(
            "this sign-in was already completed",
        )))
    }
}

/// RFC 9700 §4.11.2: may an error be redirected to this client before the user did anything?
/// Not for a client that registered itself (it holds an RFC 7592 registration token): anyone
/// can register a redirect URI, and an error redirect without any user interaction would make
/// the provider an open redirector. Those errors are shown on a page instead.
pub async fn may_redirect_silently(
    state: &AppState,
    client: &RegisteredClient,
) -> Result<bool, crate::store::Error> {
    // A client known only by its metadata document is as unvetted as a self-registered one.
    if crate::protocol::cimd::is_document_url(client.client_id.as_str())
        && state.client_metadata_documents
    {
        return Ok(false);
    }
    Ok(state
        .store
        .clients
        .registration_token(client.client_id.as_str())
        .await?
        .is_none())
}

/// Decides the next step of a code-flow request and performs it: redirect to the interaction
/// page, redirect with an error (`prompt=none`), or issue the code.
pub async fn proceed(
    state: &AppState,
    jar: CookieJar,
    client: &RegisteredClient,
    request: AuthorizationRequest,
    session: Option<Authentication>,
    progress: InteractionProgress,
    interaction: Option<InteractionRecord>,
) -> Result<Response, PageError> {
    let remembered = match &session {
        Some(auth) => {
            state
                .store
                .grants
                .consent(&auth.subject, client.client_id.as_str())
                .await?
        }
        None => None,
    };
    match next_step(
        &request,
        client,
        session.as_ref(),
        remembered.as_ref(),
        progress,
        state.now(),
    ) {
        Err(error) => {
            if interaction.is_none() && !may_redirect_silently(state, client).await? {
                tracing::info!(target: FLOW, "authorize: {} -> shown on a page: a self-registered client gets no error redirect before the user acted (RFC 9700 §4.11.2)", error.description);
                return Err(PageError::OAuth(error));
            }
            tracing::info!(target: FLOW, "authorize: {} -> {} (OIDC Core §3.1.2.6)", error.description, error.code.as_str());
            if let Some(interaction) = &interaction {
                state
                    .store
                    .ephemeral
                    .take_interaction(&interaction.id)
                    .await?;
            }
            let location = error_redirect(
                &request.redirect_uri,
                &error,
                request.state.as_deref(),
                &state.issuer,
            );
            Ok(see_other(jar, &location))
        }
        Ok(NextStep::IssueCode(authentication)) => {
            if let Some(interaction) = &interaction {
                complete_interaction(state, interaction).await?;
            }
            issue_code(state, jar, client, &request, authentication).await
        }
        Ok(NextStep::Login | NextStep::Consent(_)) => {
            let (jar, interaction) = match interaction {
                Some(interaction) => (jar, interaction),
                None => {
                    start_interaction(state, jar, InteractionPurpose::Authorize(Box::new(request)))
                        .await?
                }
            };
            Ok(see_other(jar, &paths::interaction(&interaction.id)))
        }
    }
}

/// RFC 6749 §4.1.2: stores the code (hashed, one-time, short-lived) and redirects with
/// `code`, `state` and `iss` (RFC 9207).
async fn issue_code(
    state: &AppState,
    jar: CookieJar,
    client: &RegisteredClient,
    request: &AuthorizationRequest,
    authentication: Authentication,
) -> Result<Response, PageError> {
    let now = state.now();
    let code = AuthorizationCode::from_random(state.random_bytes());
    let issued = IssuedCode {
        client_id: client.client_id.clone(),
        redirect_uri: request.redirect_uri.as_str().to_owned(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        subject: authentication.subject,
        auth_time: authentication.auth_time,
        sid: authentication.sid.clone(),
        amr: authentication.amr.clone(),
        resources: request.resources.clone(),
        dpop_jkt: request.dpop_jkt.clone(),
        grant_id: encode_random(state.random_bytes()),
        expires_at: now.plus(state.lifetimes.code),
    };
    state
        .store
        .ephemeral
        .insert_code(&code.digest(), &issued)
        .await?;
    // Back-Channel Logout: this client takes part in the session until it ends.
    if let (true, Some(_), Some(sid)) = (
        state.features.backchannel_logout,
        &client.metadata.backchannel_logout_uri,
        &issued.sid,
    ) {
        let participant = Participant {
            sid: sid.clone(),
            client_id: client.client_id.clone(),
            subject: issued.subject.clone(),
        };
        let session_end = issued.auth_time.plus(state.lifetimes.session);
        state
            .store
            .users
            .add_session_client(&participant, session_end)
            .await?;
    }
    tracing::info!(target: FLOW,
        "authorize: issued a one-time authorization code to {} (valid {} s, stored hashed) and redirect with state and iss (RFC 6749 §4.1.2, RFC 9207)",
        client.client_id, state.lifetimes.code);
    let location = success_redirect(
        &request.redirect_uri,
        code.expose(),
        request.state.as_deref(),
        &state.issuer,
    );
    Ok(see_other(jar, &location))
}
