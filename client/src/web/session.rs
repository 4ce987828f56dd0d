//! Server-side sessions: tokens never reach the browser.
//!
//! The browser holds one random cookie (`rp_session`: `HttpOnly`, `SameSite=Lax`, `Secure` on
//! https). The server keeps, per session, the pending sign-in (state, nonce, PKCE verifier),
//! the tokens and the timeline. This is the "backend for frontend" pattern: a stolen page or a
//! cross-site script never sees an access or refresh token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::oidc::authorize::PendingAuthorization;
use crate::oidc::id_token::IdTokenClaims;
use crate::oidc::token::{AccessToken, IdToken, RefreshToken};
use crate::state::State;
use crate::timeline::Timeline;

/// The session cookie's name (distinct from the provider's cookies: on 127.0.0.1 all ports
/// share one cookie jar).
pub const COOKIE: &str = "rp_session";
/// Sessions idle longer than this are dropped.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(8 * 3600);
/// A pending sign-in older than this is refused at the callback (the provider's codes live
/// ten minutes too).
pub const PENDING_TIMEOUT_SECS: i64 = 600;
/// The most sessions kept; the least recently used go first.
pub const MAX_SESSIONS: usize = 10_000;

/// The tokens of a signed-in session.
#[derive(Debug)]
pub struct Tokens {
    /// The access token.
    pub access_token: AccessToken,
    /// Its `exp` (from the token response's `expires_in`).
    pub access_expires_at: i64,
    /// The refresh token, when `offline_access` was granted.
    pub refresh_token: Option<RefreshToken>,
    /// The latest ID token (sent back as `id_token_hint` at logout).
    pub id_token: IdToken,
    /// Its validated claims.
    pub id_claims: IdTokenClaims,
    /// The claims of the sign-in's ID token (refreshes are checked against them).
    pub first_id_claims: IdTokenClaims,
    /// The UserInfo answer.
    pub userinfo: Option<Value>,
    /// The granted scope.
    pub scope: String,
}

/// The outcome of the last button pressed, shown once on the home page.
#[derive(Clone, Debug)]
pub struct Flash {
    /// A heading ("GET /api/me → 200").
    pub title: String,
    /// Pretty body or sentence.
    pub body: String,
    /// Success or refusal.
    pub ok: bool,
}

/// One browser's state.
#[derive(Debug)]
pub struct Session {
    /// Every exchange of this session.
    pub timeline: Arc<Timeline>,
    /// The sign-in in progress.
    pub pending: Option<PendingAuthorization>,
    /// The tokens once signed in.
    pub tokens: Option<Tokens>,
    /// The `state` sent to the end-session endpoint, checked when the browser comes back.
    pub logout_state: Option<State>,
    /// The last action's outcome.
    pub flash: Option<Flash>,
    /// Serialises refreshes: two tabs refreshing at once would present the same refresh token
    /// twice, which the provider treats as theft and answers by revoking the family.
    pub refresh_lock: Arc<tokio::sync::Mutex<()>>,
    last_seen: Instant,
}

impl Session {
    fn new() -> Session {
        Session {
            timeline: Arc::new(Timeline::new()),
            pending: None,
            tokens: None,
            logout_state: None,
            flash: None,
            refresh_lock: Arc::new(tokio::sync::Mutex::new(())),
            last_seen: Instant::now(),
        }
    }
}

/// A session id: the SHA-256 of the cookie value, so the map never holds the cookie itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionKey(String);

impl SessionKey {
    fn of(cookie_value: &str) -> SessionKey {
        SessionKey(URL_SAFE_NO_PAD.encode(Sha256::digest(cookie_value.as_bytes())))
    }
}

/// 256 random bits, base64url.
fn random_cookie_value() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// `HttpOnly` (no script can read it), `SameSite=Lax` (sent on the top-level redirect back from
/// the provider, not on cross-site POSTs), `Secure` on https, no `Max-Age` (ends with the
/// browser; the server enforces the idle timeout).
fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// Every session of this process, in memory.
#[derive(Debug, Default)]
pub struct SessionStore {
    sessions: Mutex<HashMap<SessionKey, Session>>,
}

impl SessionStore {
    /// The session of this request's cookie, if it exists and is not idle too long.
    pub fn find(&self, jar: &CookieJar) -> Option<SessionKey> {
        let key = SessionKey::of(jar.get(COOKIE)?.value());
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        match sessions.get_mut(&key) {
            Some(session) if session.last_seen.elapsed() < IDLE_TIMEOUT => {
                session.last_seen = Instant::now();
                Some(key)
            }
            Some(_) => {
                sessions.remove(&key);
                None
            }
            None => None,
        }
    }

    /// The session of this request, or a new one with its cookie added to the jar.
    pub fn find_or_create(&self, jar: CookieJar, secure: bool) -> (CookieJar, SessionKey) {
        if let Some(key) = self.find(&jar) {
            return (jar, key);
        }
        let value = random_cookie_value();
        let key = SessionKey::of(&value);
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, session| session.last_seen.elapsed() < IDLE_TIMEOUT);
            if sessions.len() >= MAX_SESSIONS
                && let Some(oldest) = sessions
                    .iter()
                    .min_by_key(|(_, session)| session.last_seen)
                    .map(|(key, _)| key.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(key.clone(), Session::new());
        (jar.add(session_cookie(value, secure)), key)
    }

    /// Moves the session to a fresh id and cookie. Called after sign-in, so a session id
    /// planted in the browser before it (session fixation) is worth nothing afterwards.
    pub fn rotate(
        &self,
        jar: CookieJar,
        key: &SessionKey,
        secure: bool,
    ) -> (CookieJar, SessionKey) {
        let value = random_cookie_value();
        let new_key = SessionKey::of(&value);
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(session) = sessions.remove(key) {
            sessions.insert(new_key.clone(), session);
        }
        (jar.add(session_cookie(value, secure)), new_key)
    }

    /// Runs `change` on the session (under the lock: never await inside).
    pub fn with<R>(&self, key: &SessionKey, change: impl FnOnce(&mut Session) -> R) -> Option<R> {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.get_mut(key).map(change)
    }

    /// Runs `change` on every signed-in session whose tokens `matches` (under the lock: never
    /// await inside); returns how many there were.
    pub fn for_each_signed_in(
        &self,
        matches: impl Fn(&Tokens) -> bool,
        mut change: impl FnMut(&mut Session),
    ) -> usize {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let mut count = 0;
        for session in sessions.values_mut() {
            if session.tokens.as_ref().is_some_and(&matches) {
                change(session);
                count += 1;
            }
        }
        count
    }

    /// How many sessions exist.
    pub fn len(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_created_once_and_found_by_its_cookie() {
        let store = SessionStore::default();
        let (jar, key) = store.find_or_create(CookieJar::new(), false);
        let cookie = jar.get(COOKIE).unwrap().clone();
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some("/"));
        let again = CookieJar::new().add(Cookie::new(COOKIE, cookie.value().to_owned()));
        assert_eq!(store.find(&again), Some(key.clone()));
        let (_, same) = store.find_or_create(again, false);
        assert_eq!(same, key);
        assert_eq!(store.len(), 1);
        // The map is keyed by a digest, never by the cookie value itself.
        assert_ne!(key.0, cookie.value());
        let forged = CookieJar::new().add(Cookie::new(COOKIE, "guessed"));
        assert_eq!(store.find(&forged), None);
    }

    #[test]
    fn rotation_moves_the_session_to_a_new_cookie() {
        let store = SessionStore::default();
        let (jar, key) = store.find_or_create(CookieJar::new(), false);
        store.with(&key, |session| {
            session.flash = Some(Flash {
                title: "kept".into(),
                body: String::new(),
                ok: true,
            })
        });
        let old_value = jar.get(COOKIE).unwrap().value().to_owned();
        let (jar, new_key) = store.rotate(jar, &key, false);
        assert_ne!(new_key, key);
        assert_ne!(jar.get(COOKIE).unwrap().value(), old_value);
        assert!(store.with(&key, |_| ()).is_none(), "the old id is gone");
        assert_eq!(
            store
                .with(&new_key, |session| session.flash.clone().unwrap().title)
                .as_deref(),
            Some("kept")
        );
        assert_eq!(store.find(&jar), Some(new_key));
    }
}
