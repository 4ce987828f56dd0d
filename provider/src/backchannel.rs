//! OpenID Connect Back-Channel Logout 1.0, the side with IO: remembering which clients took part
//! in a session, queueing their logout tokens when it ends, and delivering them.
//!
//! - **Participants**: when a code is issued in an SSO session to a client with a
//!   `backchannel_logout_uri`, the pair (sid, client) is stored until the session expires.
//! - **Queue**: when the session ends (the user logs out, it expires, or an operator signs the
//!   user out), its participants become deliveries in the database (bounded by
//!   [`MAX_QUEUE`]), so a restart loses none.
//! - **Delivery**: a task claims due deliveries (a lease, so several nodes never send one
//!   twice), signs a fresh logout token for each (the client's ID token algorithm, typ
//!   `logout+jwt`) and POSTs it as `logout_token` through the fetcher's address rules. A 200 or
//!   204 finishes it; anything else is retried with back-off (10 s to 6 h), then given up.
//!
//! The protocol rules (sid, claims, retry waits) are pure, in `protocol/backchannel.rs`.

use std::time::Duration;

use crate::protocol::backchannel::{
    MAX_QUEUE, Participant, TOKEN_TYPE, logout_token_claims, next_attempt,
};
use crate::protocol::types::{UnixTime, encode_random};
use crate::state::AppState;
use crate::store::EndedSessions;
use crate::store::{LogoutDelivery, UserStore};
use crate::telemetry::FLOW;

/// How often due deliveries and expired sessions are looked for.
pub const TICK: Duration = Duration::from_secs(2);
/// Deliveries handled per tick at most.
const BATCH: u32 = 50;
/// A claimed delivery is skipped by other nodes this long.
const LEASE_SECS: u64 = 60;

/// The sessions `ended` are over: their clients stop being participants and each gets a
/// logout delivery, in one transaction. Returns how many were queued; a full queue drops the
/// rest, with a warning. `batch` is a random id the deliveries' ids start with.
pub async fn end(
    users: &dyn UserStore,
    ended: EndedSessions<'_>,
    batch: [u8; 32],
    now: UnixTime,
) -> Result<u64, crate::store::Error> {
    let outcome = users
        .end_session_clients(ended, &encode_random(batch), now, MAX_QUEUE)
        .await?;
    if outcome.dropped > 0 {
        tracing::warn!(
            dropped = outcome.dropped,
            max = MAX_QUEUE,
            "back-channel logout queue is full: logouts dropped"
        );
    }
    for delivery in &outcome.queued {
        tracing::info!(target: FLOW, "logout: {} will be told that session {} of {} ended (Back-Channel Logout §2.5)",
            delivery.participant.client_id, delivery.participant.sid, delivery.participant.subject.as_str());
    }
    Ok(outcome.queued.len() as u64)
}

/// The session `sid` ended in this provider: tell its clients.
pub async fn session_ended(state: &AppState, sid: &str) -> Result<u64, crate::Error> {
    Ok(end(
        state.store.users.as_ref(),
        EndedSessions::Sid(sid),
        state.random_bytes(),
        state.now(),
    )
    .await?)
}

/// One round of the delivery task: sessions that expired become deliveries, then the due
/// deliveries are sent.
pub async fn tick(state: &AppState) {
    let now = state.now();
    match end(
        state.store.users.as_ref(),
        EndedSessions::ExpiredBy { now, limit: BATCH },
        state.random_bytes(),
        now,
    )
    .await
    {
        Ok(0) => {}
        Ok(count) => {
            tracing::info!(target: FLOW, "logout: {count} client(s) of expired sessions are told (Back-Channel Logout §2)");
        }
        Err(error) => tracing::warn!(%error, "queueing the logouts of expired sessions failed"),
    }
    let claimed = match state
        .store
        .users
        .claim_logouts(now, now.plus(LEASE_SECS), BATCH)
        .await
    {
        Ok(claimed) => claimed,
        Err(error) => {
            tracing::warn!(%error, "claiming back-channel logouts failed");
            return;
        }
    };
    for delivery in claimed {
        deliver(state, delivery).await;
    }
}

/// Signs and POSTs one logout token; finishes, reschedules or gives up the delivery.
async fn deliver(state: &AppState, delivery: LogoutDelivery) {
    let now = state.now();
    let participant = &delivery.participant;
    let client = match state.client(participant.client_id.as_str()).await {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, "loading the client of a back-channel logout failed");
            return;
        }
    };
    let Some((client, uri)) = client.and_then(|client| {
        let uri = client.metadata.backchannel_logout_uri.clone()?;
        Some((client, uri))
    }) else {
        // The client was deleted or no longer wants logouts: nothing to tell.
        let _ = state.store.users.finish_logout(&delivery.id).await;
        return;
    };
    let outcome = match sign(state, &client, participant, now) {
        Ok(token) => state
            .fetcher
            .post_form(&uri, &[("logout_token", token.as_str())])
            .await
            .map_err(|error| error.to_string())
            .and_then(|status| {
                if status == reqwest::StatusCode::OK || status == reqwest::StatusCode::NO_CONTENT {
                    Ok(())
                } else {
                    Err(format!("answered {}", status.as_u16()))
                }
            }),
        Err(error) => Err(error),
    };
    let users = &state.store.users;
    let recorded = match outcome {
        Ok(()) => {
            tracing::info!(target: FLOW, "logout: logout token delivered to {} for session {} (Back-Channel Logout §2.5)", client.client_id, participant.sid);
            users.finish_logout(&delivery.id).await
        }
        Err(reason) => {
            let attempts = delivery.attempts.saturating_add(1);
            match next_attempt(attempts, now) {
                Some(at) => {
                    tracing::info!(target: FLOW, "logout: delivery to {} failed ({reason}); attempt {attempts}, next try at {}", client.client_id, at.0);
                    users.retry_logout(&delivery.id, attempts, at).await
                }
                None => {
                    tracing::warn!(client_id = %client.client_id, attempts, %reason, "back-channel logout given up");
                    users.finish_logout(&delivery.id).await
                }
            }
        }
    };
    if let Err(error) = recorded {
        tracing::warn!(%error, "recording a back-channel logout delivery failed");
    }
}

/// §2.4: the logout token, signed with the key of the client's ID token algorithm.
fn sign(
    state: &AppState,
    client: &crate::protocol::client::RegisteredClient,
    participant: &Participant,
    now: UnixTime,
) -> Result<String, String> {
    let claims = logout_token_claims(
        participant,
        &state.issuer,
        encode_random(state.random_bytes()),
        now,
    );
    let published = state.published();
    let alg = client.id_token_alg();
    let key = published
        .keys
        .active(alg)
        .ok_or_else(|| format!("no active {} key", alg.as_str()))?;
    key.sign(TOKEN_TYPE, &claims)
        .map_err(|error| error.to_string())
}
