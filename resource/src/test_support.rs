//! Test helpers: signing keys made once per process, token minting and forging, and a JWKS
//! test double served by axum on 127.0.0.1:0.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use keys::{JwkSet, SigningAlg, SigningKey, b64url};

use crate::{Verifier, VerifierConfig};

pub(crate) const ISSUER: &str = "https://issuer.example";
pub(crate) const AUDIENCE: &str = "https://api.example";

/// Logs stay silent unless `TEST_LOG=1` (and the `demo` feature brings a subscriber).
fn init_test_log() {
    #[cfg(feature = "demo")]
    if std::env::var_os("TEST_LOG").is_some() {
        crate::demo::telemetry::init();
    }
}

/// One key per algorithm, generated once per test process (RSA generation is slow in debug).
pub(crate) fn signing_key(alg: SigningAlg) -> &'static SigningKey {
    init_test_log();
    static KEYS: OnceLock<[SigningKey; 3]> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        keys::install_crypto_provider();
        SigningAlg::ALL.map(|alg| SigningKey::generate(alg).expect("key generation"))
    });
    keys.iter()
        .find(|key| key.alg() == alg)
        .expect("a key per algorithm")
}

/// A second key per algorithm: the "new" key of rotation tests, or an attacker's key.
pub(crate) fn other_key(alg: SigningAlg) -> &'static SigningKey {
    static KEYS: OnceLock<[SigningKey; 3]> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        keys::install_crypto_provider();
        SigningAlg::ALL.map(|alg| SigningKey::generate(alg).expect("key generation"))
    });
    keys.iter()
        .find(|key| key.alg() == alg)
        .expect("a key per algorithm")
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A valid RFC 9068 claim set for `issuer`, `sub`, with `scope`.
pub(crate) fn claims_for(issuer: &str, sub: &str, scope: &str) -> Value {
    let now = now();
    json!({
        "iss": issuer, "sub": sub, "aud": AUDIENCE, "client_id": "notes-app",
        "exp": now + 300, "iat": now, "jti": format!("jti-{sub}-{now}"), "scope": scope,
    })
}

pub(crate) fn valid_claims() -> Value {
    claims_for(ISSUER, "alice", "openid api:read")
}

pub(crate) fn jwk_set(keys: &[&SigningKey]) -> JwkSet {
    JwkSet {
        keys: keys.iter().map(|key| key.public_jwk().clone()).collect(),
    }
}

/// A verifier over the three `signing_key`s, no IO.
pub(crate) fn static_verifier(config: VerifierConfig) -> Verifier {
    let keys = SigningAlg::ALL.map(signing_key);
    Verifier::from_jwk_set(config, &jwk_set(&keys)).expect("static verifier")
}

pub(crate) fn default_config() -> VerifierConfig {
    VerifierConfig::new(ISSUER, AUDIENCE)
}

/// Signs with our keys through the `keys` crate: header `{alg, kid, typ}`.
pub(crate) fn mint(alg: SigningAlg, claims: &Value) -> String {
    signing_key(alg).sign("at+jwt", claims).expect("signing")
}

/// Signs with an arbitrary jsonwebtoken header (extra members such as `jku`) using `key`.
pub(crate) fn mint_with_header(key: &SigningKey, header: &Header, claims: &Value) -> String {
    let pem = key.to_pkcs8_pem();
    let encoding_key = match key.alg() {
        SigningAlg::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        SigningAlg::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        SigningAlg::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
    }
    .expect("encoding key");
    jsonwebtoken::encode(header, claims, &encoding_key).expect("encoding")
}

/// The header our provider writes, ready to be tampered with.
pub(crate) fn header_for(key: &SigningKey) -> Header {
    let mut header = Header::new(key.alg().jwt_algorithm());
    header.kid = Some(key.kid().to_string());
    header.typ = Some("at+jwt".to_owned());
    header
}

/// A token assembled by hand from JSON parts, with any signature text.
pub(crate) fn forge(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64url(serde_json::to_vec(header).expect("json")),
        b64url(serde_json::to_vec(claims).expect("json"))
    )
}

/// Polls a verification to completion without a runtime: the cached path never waits.
pub(crate) fn verify_now(
    verifier: &Verifier,
    token: &str,
) -> Result<crate::AccessClaims, crate::Error> {
    let future = std::pin::pin!(verifier.verify(token));
    let mut future = future;
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => panic!("a cached verification waited"),
    }
}

#[derive(Clone)]
struct JwksState {
    keys: Arc<RwLock<JwkSet>>,
    fetches: Arc<AtomicUsize>,
    discovery_fetches: Arc<AtomicUsize>,
    issuer: Arc<OnceLock<String>>,
}

/// A standards-compliant issuer double: discovery and a JWKS, counting fetches.
pub(crate) struct JwksServer {
    pub(crate) base_url: String,
    state: JwksState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl JwksServer {
    pub(crate) async fn start(keys: &[&SigningKey]) -> JwksServer {
        let state = JwksState {
            keys: Arc::new(RwLock::new(jwk_set(keys))),
            fetches: Arc::new(AtomicUsize::new(0)),
            discovery_fetches: Arc::new(AtomicUsize::new(0)),
            issuer: Arc::new(OnceLock::new()),
        };
        let app = Router::new()
            .route("/jwks", get(get_jwks))
            .route("/.well-known/openid-configuration", get(get_discovery))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address: SocketAddr = listener.local_addr().expect("address");
        let base_url = format!("http://{address}");
        state.issuer.set(base_url.clone()).expect("issuer set once");
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = signal.await;
                })
                .await;
        });
        JwksServer {
            base_url,
            state,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    pub(crate) fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.base_url)
    }

    pub(crate) fn set_keys(&self, keys: &[&SigningKey]) {
        *self.state.keys.write().expect("lock") = jwk_set(keys);
    }

    pub(crate) fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    pub(crate) fn discovery_fetches(&self) -> usize {
        self.state.discovery_fetches.load(Ordering::SeqCst)
    }

    /// Stops the server and waits until its port is closed.
    pub(crate) async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }
}

async fn get_jwks(
    State(state): State<JwksState>,
) -> ([(axum::http::HeaderName, &'static str); 1], Json<JwkSet>) {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    let keys = state.keys.read().expect("lock").clone();
    ([(CACHE_CONTROL, "public, max-age=300")], Json(keys))
}

async fn get_discovery(State(state): State<JwksState>) -> Json<Value> {
    state.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    let issuer = state.issuer.get().cloned().unwrap_or_default();
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}
