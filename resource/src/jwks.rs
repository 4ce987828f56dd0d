//! The JWKS cache: keys kept ready, refreshed in the background before they expire, refetched
//! once (rate-limited, shared by concurrent misses) when a token names an unknown `kid`, and kept
//! in service when the issuer becomes unreachable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use reqwest::Url;
use tracing::Instrument;

use crate::Error;
use crate::config::KeyLocation;
use crate::fetch::{self, FetchedKeys};
use crate::key_store::{CachedKey, KeyStore};

/// First retry delay after a failed fetch; doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// What the cache can say about its keys, for readiness probes and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwksStatus {
    /// No key set has been loaded yet; tokens cannot be verified.
    Loading {
        /// Why the last attempt failed, if one was made.
        last_error: Option<String>,
    },
    /// Keys are loaded and the last fetch succeeded.
    Ready {
        /// How many usable keys the set holds.
        keys: usize,
    },
    /// Keys are loaded but the last refresh failed, or they are past their `max-age`: tokens are
    /// still verified with the cached keys.
    Stale {
        /// How many usable keys the set holds.
        keys: usize,
        /// Why the keys are stale.
        reason: String,
    },
}

impl JwksStatus {
    /// True when tokens can be verified (fresh or stale keys).
    pub fn is_ready(&self) -> bool {
        !matches!(self, JwksStatus::Loading { .. })
    }
}

/// Where keys come from.
enum Source {
    /// A fixed key set, for tests and for keys distributed out of band.
    Static,
    Remote(Box<Remote>),
}

struct Remote {
    http: reqwest::Client,
    issuer: String,
    location: KeyLocation,
    /// Learnt once from discovery (or given), then reused for every fetch.
    jwks_uri: OnceLock<Url>,
}

impl Remote {
    async fn jwks_uri(&self) -> Result<Url, Error> {
        if let Some(jwks_uri) = self.jwks_uri.get() {
            return Ok(jwks_uri.clone());
        }
        let jwks_uri = match &self.location {
            KeyLocation::JwksUri(jwks_uri) => jwks_uri.clone(),
            KeyLocation::Discovery { url, allow_http } => {
                let jwks_uri =
                    fetch::discover_jwks_uri(&self.http, url, &self.issuer, *allow_http).await?;
                tracing::info!(
                    target: "flow",
                    %jwks_uri,
                    "resource: discovery names the issuer's jwks_uri (OpenID Connect Discovery §4)",
                );
                jwks_uri
            }
        };
        // A concurrent first fetch may have set it already; both learnt the same value.
        let _ = self.jwks_uri.set(jwks_uri.clone());
        Ok(jwks_uri)
    }
}

/// When the current keys were fetched and whether the last attempt failed.
struct Health {
    fetched_at: Option<Instant>,
    max_age: Duration,
    last_error: Option<String>,
    consecutive_failures: u32,
    last_failure_at: Option<Instant>,
}

/// The shared cache behind every clone of a [`Verifier`](crate::Verifier).
pub(crate) struct Jwks {
    source: Source,
    keys: RwLock<Arc<KeyStore>>,
    /// Bumped on every successful store, so a queued miss can tell the keys changed meanwhile.
    generation: AtomicU64,
    health: Mutex<Health>,
    /// Held across every remote fetch, so concurrent misses (and the refresher) wait for the
    /// fetch in flight and reuse its result instead of starting their own.
    fetch_lock: tokio::sync::Mutex<()>,
    /// When the last unknown-`kid` refetch started, for the rate limit.
    last_miss_refetch: Mutex<Option<Instant>>,
    min_refetch_interval: Duration,
    fetches: AtomicU64,
}

/// The result of looking a `kid` up.
pub(crate) enum Lookup {
    Found(Arc<CachedKey>),
    Unknown,
    NoKeys,
}

impl Jwks {
    pub(crate) fn from_store(store: KeyStore) -> Jwks {
        Jwks::new(
            Source::Static,
            store,
            Some(Instant::now()),
            Duration::MAX,
            Duration::MAX,
        )
    }

    pub(crate) fn remote(
        http: reqwest::Client,
        issuer: String,
        location: KeyLocation,
        min_refetch_interval: Duration,
    ) -> Jwks {
        let remote = Remote {
            http,
            issuer,
            location,
            jwks_uri: OnceLock::new(),
        };
        Jwks::new(
            Source::Remote(Box::new(remote)),
            KeyStore::default(),
            None,
            fetch::DEFAULT_MAX_AGE,
            min_refetch_interval,
        )
    }

    fn new(
        source: Source,
        store: KeyStore,
        fetched_at: Option<Instant>,
        max_age: Duration,
        min_refetch_interval: Duration,
    ) -> Jwks {
        Jwks {
            source,
            keys: RwLock::new(Arc::new(store)),
            generation: AtomicU64::new(0),
            health: Mutex::new(Health {
                fetched_at,
                max_age,
                last_error: None,
                consecutive_failures: 0,
                last_failure_at: None,
            }),
            fetch_lock: tokio::sync::Mutex::new(()),
            last_miss_refetch: Mutex::new(None),
            min_refetch_interval,
            fetches: AtomicU64::new(0),
        }
    }

    fn snapshot(&self) -> Arc<KeyStore> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key for `kid`. On a miss, one refetch (rate-limited, shared by concurrent misses)
    /// before giving up.
    pub(crate) async fn lookup(&self, kid: &str) -> Lookup {
        let cached = self
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(kid)
            .cloned();
        if let Some(key) = cached {
            return Lookup::Found(key);
        }
        self.refetch_for_unknown_kid(kid).await;
        let store = self.snapshot();
        match store.get(kid) {
            Some(key) => Lookup::Found(Arc::clone(key)),
            None if store.is_empty() => Lookup::NoKeys,
            None => Lookup::Unknown,
        }
    }

    /// A flood of random `kid`s must not become a flood of fetches: at most one refetch per
    /// `min_refetch_interval`, and misses queued behind a fetch reuse its result.
    async fn refetch_for_unknown_kid(&self, kid: &str) {
        let Source::Remote(remote) = &self.source else {
            return;
        };
        let generation_seen = self.generation.load(Ordering::Acquire);
        let _fetching = self.fetch_lock.lock().await;
        if self.generation.load(Ordering::Acquire) != generation_seen {
            return; // The keys changed while we queued: look again without fetching.
        }
        {
            let mut last_refetch = self
                .last_miss_refetch
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last_refetch.is_some_and(|at| at.elapsed() < self.min_refetch_interval) {
                tracing::debug!(kid = ?kid, "unknown kid; jwks refetch is rate-limited");
                return;
            }
            *last_refetch = Some(Instant::now());
        }
        if self.snapshot().is_empty() {
            tracing::info!(target: "flow", "resource: no keys loaded yet, fetching the JWKS now");
        } else {
            tracing::info!(
                target: "flow",
                kid = ?kid,
                "resource: unknown kid, refetching the JWKS once (key rotation?)",
            );
        }
        // Failures are logged and recorded in the health by `refresh_remote`.
        let _ = self.refresh_remote(remote).await;
    }

    /// Fetches the key set now, whatever the schedule. A static set has nothing to fetch.
    pub(crate) async fn refresh(&self) -> Result<usize, Error> {
        match &self.source {
            Source::Static => Ok(self.snapshot().len()),
            Source::Remote(remote) => {
                let _fetching = self.fetch_lock.lock().await;
                self.refresh_remote(remote).await
            }
        }
    }

    /// The refresher's fetch: skipped when another fetch stored keys while it waited.
    async fn scheduled_refresh(&self) {
        let Source::Remote(remote) = &self.source else {
            return;
        };
        let generation_seen = self.generation.load(Ordering::Acquire);
        let _fetching = self.fetch_lock.lock().await;
        if self.generation.load(Ordering::Acquire) == generation_seen {
            // The outcome is logged and recorded in the health by `refresh_remote`.
            let _ = self.refresh_remote(remote).await;
        }
    }

    /// Fetches and stores the key set; callers hold `fetch_lock`.
    async fn refresh_remote(&self, remote: &Remote) -> Result<usize, Error> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = match remote.jwks_uri().await {
            Ok(jwks_uri) => fetch::fetch_jwks(&remote.http, &jwks_uri).await,
            Err(err) => Err(err),
        };
        match result {
            Ok(FetchedKeys { store, max_age }) => {
                let count = store.len();
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(store);
                self.generation.fetch_add(1, Ordering::AcqRel);
                let mut health = self.health();
                if health.last_error.is_some() {
                    tracing::info!(
                        keys = count,
                        "jwks refreshed; the issuer is reachable again"
                    );
                }
                *health = Health {
                    fetched_at: Some(Instant::now()),
                    max_age,
                    last_error: None,
                    consecutive_failures: 0,
                    last_failure_at: None,
                };
                tracing::info!(
                    target: "flow",
                    keys = count,
                    max_age_secs = max_age.as_secs(),
                    "resource: JWKS loaded; keys parsed once and kept ready",
                );
                Ok(count)
            }
            Err(err) => {
                let cached = self.snapshot().len();
                let mut health = self.health();
                health.consecutive_failures = health.consecutive_failures.saturating_add(1);
                health.last_failure_at = Some(Instant::now());
                health.last_error = Some(err.to_string());
                if cached > 0 {
                    tracing::warn!(
                        error = %err,
                        cached_keys = cached,
                        "jwks refresh failed; serving the cached keys",
                    );
                } else {
                    tracing::warn!(
                        error = %err,
                        "jwks fetch failed; no keys loaded yet, will retry",
                    );
                }
                Err(err)
            }
        }
    }

    pub(crate) fn status(&self) -> JwksStatus {
        let keys = self.snapshot().len();
        let health = self.health();
        let Some(fetched_at) = health.fetched_at else {
            return JwksStatus::Loading {
                last_error: health.last_error.clone(),
            };
        };
        if let Some(error) = &health.last_error {
            return JwksStatus::Stale {
                keys,
                reason: format!("the issuer is unreachable, serving cached keys: {error}"),
            };
        }
        if fetched_at.elapsed() > health.max_age {
            return JwksStatus::Stale {
                keys,
                reason: "the cached keys are past their max-age".to_owned(),
            };
        }
        JwksStatus::Ready { keys }
    }

    /// How many fetches (successful or not) this cache has made.
    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// When the refresher fetches next: at 80 % of `max-age` after a success (so keys never
    /// expire while the issuer is up), after an exponential backoff following a failure, at once
    /// when nothing was ever tried. Recomputed after every sleep, so a fetch made meanwhile by
    /// an unknown-`kid` miss postpones it.
    fn next_refresh_at(&self) -> Instant {
        let health = self.health();
        if let (Some(failed_at), failures @ 1..) =
            (health.last_failure_at, health.consecutive_failures)
        {
            let backoff = FIRST_RETRY_DELAY
                .saturating_mul(2u32.saturating_pow((failures - 1).min(16)))
                .min(MAX_RETRY_DELAY);
            return failed_at + backoff;
        }
        match health.fetched_at {
            None => Instant::now(),
            Some(fetched_at) => fetched_at + health.max_age.min(fetch::MAX_MAX_AGE) / 5 * 4,
        }
    }

    /// Spawns the background refresher. It holds only a weak reference, so it ends once the
    /// last [`Verifier`](crate::Verifier) clone is dropped.
    pub(crate) fn spawn_refresher(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        if matches!(self.source, Source::Static) {
            return;
        }
        let weak: Weak<Jwks> = Arc::downgrade(self);
        let task = async move {
            loop {
                let due = match weak.upgrade() {
                    Some(jwks) => jwks.next_refresh_at(),
                    None => return,
                };
                if due > Instant::now() {
                    tokio::time::sleep_until(due.into()).await;
                    continue; // Re-plan: a miss may have fetched while we slept.
                }
                let Some(jwks) = weak.upgrade() else {
                    return;
                };
                jwks.scheduled_refresh().await;
            }
        };
        runtime.spawn(task.instrument(tracing::info_span!("jwks_refresher")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote_jwks() -> Jwks {
        let location = KeyLocation::JwksUri(Url::parse("http://127.0.0.1:9/jwks").unwrap());
        let http = fetch::http_client(Duration::from_secs(1)).unwrap();
        Jwks::remote(
            http,
            "http://127.0.0.1:9".into(),
            location,
            Duration::from_secs(10),
        )
    }

    #[test]
    fn refresh_schedule_backs_off_after_failures_and_waits_after_success() {
        let jwks = remote_jwks();
        let delay = |jwks: &Jwks| {
            jwks.next_refresh_at()
                .saturating_duration_since(Instant::now())
        };
        assert_eq!(delay(&jwks), Duration::ZERO, "never tried: fetch at once");
        let expected = [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000];
        for (failures, millis) in (1..).zip(expected) {
            {
                let mut health = jwks.health();
                health.consecutive_failures = failures;
                health.last_failure_at = Some(Instant::now());
            }
            let waited = delay(&jwks);
            assert!(
                waited <= Duration::from_millis(millis)
                    && waited > Duration::from_millis(millis) - Duration::from_millis(100),
                "{failures}: {waited:?}"
            );
        }
        jwks.health().consecutive_failures = u32::MAX;
        assert!(delay(&jwks) > Duration::from_secs(29));
        {
            let mut health = jwks.health();
            health.consecutive_failures = 0;
            health.last_failure_at = None;
            health.fetched_at = Some(Instant::now());
            health.max_age = Duration::from_secs(300);
        }
        let waited = delay(&jwks);
        assert!(
            waited <= Duration::from_secs(240) && waited > Duration::from_secs(230),
            "{waited:?}"
        );
    }

    #[test]
    fn status_reports_loading_then_stale() {
        let jwks = remote_jwks();
        assert_eq!(jwks.status(), JwksStatus::Loading { last_error: None });
        assert!(!jwks.status().is_ready());
        jwks.health().last_error = Some("boom".into());
        assert_eq!(
            jwks.status(),
            JwksStatus::Loading {
                last_error: Some("boom".into())
            }
        );
        jwks.health().fetched_at = Some(Instant::now());
        assert!(
            matches!(jwks.status(), JwksStatus::Stale { reason, .. } if reason.contains("unreachable"))
        );
        {
            let mut health = jwks.health();
            health.last_error = None;
            health.max_age = Duration::ZERO;
        }
        assert!(
            matches!(jwks.status(), JwksStatus::Stale { reason, .. } if reason.contains("max-age"))
        );
        assert!(jwks.status().is_ready());
    }
}
