//! The state every handler shares: configuration values, the stores, the published keys and
//! documents, the rate limiters, and the injected clock and randomness.
//!
//! **Invariant:** this module depends on nothing in `http/`; `http/` depends on it.

use std::ops::Deref;
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use keys::KeySet;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::Semaphore;

use crate::clock::{Clock, SystemClock};
use crate::cluster::Cluster;
use crate::config::{Config, RateLimits, RegistrationPolicy};
use crate::protocol::cimd;
use crate::protocol::client::RegisteredClient;
use crate::protocol::issuance;
use crate::protocol::throttle::ThrottlePolicy;
use crate::protocol::types::{Issuer, Lifetimes, UnixTime};
use crate::random::{OsRandom, Random};
use crate::secrets::ServerSecret;
use crate::store::Stores;
use crate::store::registry::CachedRegistry;

/// Where the provider reads the time and draws random bytes. Real by default; tests may fix
/// both.
#[derive(Clone, Debug)]
pub struct Environment {
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The random source.
    pub random: Arc<dyn Random>,
}

impl Default for Environment {
    fn default() -> Self {
        Environment {
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
        }
    }
}

/// The signing keys with the discovery document and JWKS serialised once from them; replaced
/// whole when the key set changes.
pub struct Published {
    /// Signing keys, parsed once.
    pub keys: KeySet,
    /// The discovery document bytes.
    pub discovery_json: Bytes,
    /// The JWKS bytes.
    pub jwks_json: Bytes,
}

/// What the provider shares with other nodes or the process: built at start, kept in the state.
pub struct Services {
    /// Counters and change broadcasts.
    pub cluster: Arc<Cluster>,
    /// The server's HMAC key.
    pub secret: ServerSecret,
    /// The metrics recorder.
    pub metrics: PrometheusHandle,
}

/// Shared, read-mostly state of a running provider.
pub struct Shared {
    /// The issuer identifier.
    pub issuer: Issuer,
    /// Lifetimes.
    pub lifetimes: Lifetimes,
    /// Storage, one handle per aggregate.
    pub store: Stores,
    /// Keys and the documents derived from them.
    published: RwLock<Arc<Published>>,
    /// Bounds concurrent bcrypt work so a login storm cannot starve other endpoints.
    pub password_hashing: Semaphore,
    /// Show the demo accounts on the login page.
    pub show_demo_hint: bool,
    /// Refresh-token grace window in seconds (0 = off).
    pub refresh_grace_secs: u64,
    /// Seconds audit events are kept (`None`: forever).
    pub audit_retention: Option<u64>,
    /// Who may register clients.
    pub registration: RegistrationPolicy,
    /// How the rules for dynamically registered clients are chosen.
    pub registration_limits: crate::protocol::registration::RegistrationLimits,
    /// The resource servers (RFC 8707), cached.
    pub resources: CachedRegistry,
    /// Fetches what clients point at (`jwks_uri`), with SSRF protections and a cache.
    pub fetcher: crate::fetch::Fetcher,
    /// RFC 9449 §8: DPoP proofs must carry a server nonce.
    pub dpop_require_nonce: bool,
    /// Client ID Metadata Documents: an https `client_id` names its metadata document.
    pub client_metadata_documents: bool,
    /// Optional protocol features that are on.
    pub features: crate::protocol::types::Features,
    /// Counters and change broadcasts shared with the other nodes (or kept in this one).
    pub cluster: Arc<Cluster>,
    /// Requests per client address on the endpoints that create state.
    pub rate_limits: RateLimits,
    /// Password-guessing throttle.
    pub throttle: ThrottlePolicy,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The server's HMAC key (device cookies, logout confirmations).
    pub secret: ServerSecret,
    /// The metrics recorder (renders `/metrics`).
    pub metrics: PrometheusHandle,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
    /// Where random bytes come from.
    pub random: Arc<dyn Random>,
}

impl Shared {
    /// The state of a provider configured by `config`, serving `issuer` from `store` with the
    /// keys and documents of `published`.
    pub fn new(
        config: &Config,
        issuer: Issuer,
        store: Stores,
        published: Published,
        services: Services,
        environment: Environment,
    ) -> Self {
        let Services {
            cluster,
            secret,
            metrics,
        } = services;
        Shared {
            registration_limits: config.registration_limits(),
            resources: CachedRegistry::new(Arc::clone(&store.resources), issuer.as_str()),
            fetcher: crate::fetch::Fetcher::new(crate::fetch::FetchPolicy {
                allow_local: config.mode == crate::config::Mode::Dev,
            }),
            dpop_require_nonce: config.dpop_require_nonce,
            client_metadata_documents: config.client_metadata_documents,
            features: config.features,
            issuer,
            lifetimes: config.lifetimes,
            store,
            published: RwLock::new(Arc::new(published)),
            password_hashing: Semaphore::new(config.password_hash_concurrency.max(1)),
            show_demo_hint: config.seed_demo_data,
            refresh_grace_secs: config.refresh_grace_secs,
            audit_retention: config.audit_retention,
            registration: config.registration.clone(),
            cluster,
            rate_limits: config.rate_limits,
            throttle: config.throttle,
            trusted_proxies: config.trusted_proxies.clone(),
            secret,
            metrics,
            clock: environment.clock,
            random: environment.random,
        }
    }

    /// The current keys and documents (cheap: one `Arc` clone).
    pub fn published(&self) -> Arc<Published> {
        let guard = self
            .published
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(&guard)
    }

    /// Publishes a new key set with its documents.
    pub fn replace_published(&self, published: Published) {
        let mut guard = self
            .published
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = Arc::new(published);
    }

    /// The client `client_id` names: a registered one, or else (with Client ID Metadata
    /// Documents on) the public client its metadata document at that URL describes. A document that
    /// cannot be fetched or is not acceptable names no client (the reason is logged).
    pub async fn client(
        &self,
        client_id: &str,
    ) -> Result<Option<RegisteredClient>, crate::store::Error> {
        // A registered client wins, even one whose id looks like a URL.
        let registered = self.store.clients.client(client_id).await?;
        if registered.is_some()
            || !(self.client_metadata_documents && cimd::is_document_url(client_id))
        {
            return Ok(registered);
        }
        let document = match self.fetcher.json(client_id, cimd::MAX_DOCUMENT_BYTES).await {
            Ok(document) => document,
            Err(error) => {
                tracing::info!(target: "flow", "client: metadata document {client_id} unusable: {error}");
                return Ok(None);
            }
        };
        let rules = self
            .registration_limits
            .rules(&*self.resources.get().await?);
        Ok(
            match cimd::client_from_document(client_id, &document, &rules) {
                Ok(client) => Some(client),
                Err(reason) => {
                    tracing::info!(target: "flow", "client: metadata document {client_id} refused: {reason}");
                    None
                }
            },
        )
    }

    /// The current time, from the injected clock.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// 32 fresh random bytes, from the injected source.
    pub fn random_bytes(&self) -> [u8; 32] {
        self.random.bytes32()
    }

    /// The random inputs of one token issuance.
    pub fn issuance_randomness(&self) -> issuance::Randomness {
        issuance::Randomness {
            jti: self.random.bytes32(),
            grant_id: self.random.bytes32(),
            refresh_token: self.random.bytes32(),
        }
    }
}

/// The axum state: a cheap handle to [`Shared`].
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Wraps the shared state.
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
