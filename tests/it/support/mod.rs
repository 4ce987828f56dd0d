//! A test provider on `127.0.0.1:0` with its own SQLite file, and an independent relying party:
//! plain HTTP with reqwest (redirects off, a cookie jar per browser), HTML forms read by string
//! search, PKCE and JWT verification done here with sha2, base64 and jsonwebtoken against the
//! published JWKS. Nothing here calls provider internals other than `start`.
//!
//! - `wire`: raw HTTP answers, callbacks, form encoding, RFC 6749 §5.2 error asserts;
//! - `browser`: the front channel (authorize, login and consent pages, PKCE);
//! - `tokens`: the back channel (token endpoint, UserInfo, JWKS and JWT verification);
//! - `documents`: a loopback server for what clients publish (JWKS, metadata documents).

mod browser;
mod documents;
mod lifecycle;
mod tokens;
mod wire;

use std::sync::{Arc, Once};

use provider::clock::{Clock, ManualClock};
use tempfile::TempDir;

pub use browser::*;
pub use documents::*;
pub use lifecycle::*;
pub use tokens::*;
pub use wire::*;

/// The confidential demo web client.
pub const WEB: &str = "demo-web";
/// Its secret.
pub const WEB_SECRET: &str = "demo-web-secret";
/// Its one registered redirect URI.
pub const WEB_REDIRECT: &str = "http://127.0.0.1:8082/callback";
/// The public native demo client (RFC 8252 loopback redirect, any port).
pub const CLI: &str = "demo-cli";
/// The default `aud` of demo access tokens (the demo API).
pub const API_AUDIENCE: &str = "http://127.0.0.1:8081";
/// Demo user.
pub const ALICE: (&str, &str) = ("alice", "alice-password-2026");
/// Demo user.
pub const BOB: (&str, &str) = ("bob", "bob-password-2026");
/// The message of a failed login (same for unknown users and wrong passwords).
pub const LOGIN_FAILED: &str = "The user name or password is incorrect.";

/// How a relying party authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// RFC 6749 §2.3.1 HTTP Basic.
    Basic,
    /// RFC 6749 §2.3.1 `client_id` + `client_secret` in the body.
    Post,
    /// Public client: `client_id` only.
    None,
}

/// A relying party's registration as the test knows it.
#[derive(Clone, Debug)]
pub struct Rp {
    /// The client id.
    pub client_id: &'static str,
    /// The secret, for confidential clients.
    pub secret: Option<&'static str>,
    /// The token endpoint authentication the RP uses.
    pub auth: ClientAuth,
    /// The redirect URI it sends.
    pub redirect_uri: String,
}

impl Rp {
    /// demo-web with `client_secret_basic`.
    pub fn web() -> Rp {
        Rp {
            client_id: WEB,
            secret: Some(WEB_SECRET),
            auth: ClientAuth::Basic,
            redirect_uri: WEB_REDIRECT.to_owned(),
        }
    }

    /// demo-web with `client_secret_post`.
    pub fn web_post() -> Rp {
        Rp {
            auth: ClientAuth::Post,
            ..Rp::web()
        }
    }

    /// demo-cli listening on the given loopback port (RFC 8252 §7.3).
    pub fn cli(port: u16) -> Rp {
        Rp {
            client_id: CLI,
            secret: None,
            auth: ClientAuth::None,
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        }
    }

    /// demo-cli on a port the OS just handed out, as a native app would.
    pub fn cli_random_port() -> Rp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        Rp::cli(port)
    }
}

static CRYPTO: Once = Once::new();

/// A running provider with its own SQLite file, and a default browser.
pub struct TestProvider {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The issuer the provider reports.
    pub issuer: String,
    /// The default browser: cookie store, redirects off.
    pub http: reqwest::Client,
    /// The provider's database (to seed what a test needs beside the demo data).
    pub database_url: provider::store::DatabaseUrl,
    running: Option<provider::RunningProvider>,
    _schema: Option<provider::store::testing::TestSchema>,
    _redis: Option<RedisNamespace>,
    _dir: TempDir,
}

/// Starts a dev-mode provider (demo users and clients) on `127.0.0.1:0` with a fresh database.
pub async fn spawn_provider() -> TestProvider {
    spawn_provider_with(|_| {}).await
}

/// [`spawn_provider`] with a clock the test moves: the provider reads all its time from it, so
/// expiry is tested without sleeping. It starts at the real time, so the tokens it signs also
/// verify with jsonwebtoken's real-time checks until the test moves the clock.
pub async fn spawn_provider_with_clock() -> (TestProvider, Arc<ManualClock>) {
    let start = provider::clock::SystemClock.now();
    let clock = Arc::new(ManualClock::new(start));
    let environment = provider::state::Environment {
        clock: clock.clone(),
        ..provider::state::Environment::default()
    };
    (spawn(|_| {}, environment).await, clock)
}

/// [`spawn_provider`] with the dev-mode test configuration changed before the start (refresh
/// grace window, registration policy, lifetimes).
pub async fn spawn_provider_with(configure: impl FnOnce(&mut provider::Config)) -> TestProvider {
    spawn(configure, provider::state::Environment::default()).await
}

/// [`spawn_provider_with`] reading time and randomness from `environment` (nodes of one
/// cluster can share a clock).
pub async fn spawn(
    configure: impl FnOnce(&mut provider::Config),
    environment: provider::state::Environment,
) -> TestProvider {
    CRYPTO.call_once(|| {
        keys::install_crypto_provider();
        if std::env::var("TEST_LOG").is_ok_and(|value| value == "1") {
            // The guard lives as long as the test process.
            std::mem::forget(provider::telemetry::init(
                provider::config::Mode::Dev,
                provider::config::LogFormat::Text,
            ));
        }
    });
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = provider::Config::for_tests(&dir.path().join("provider.db"));
    let schema = production_stack(&mut config).await;
    configure(&mut config);
    let database_url = config.database_url.clone();
    let config_redis = config.redis_url.clone();
    let running = provider::start_with(config, environment)
        .await
        .expect("provider starts");
    let base_url = format!("http://{}", running.local_addr);
    let issuer = running.issuer.as_str().to_owned();
    TestProvider {
        base_url,
        issuer,
        http: new_browser(),
        database_url,
        _redis: config_redis.map(|url| RedisNamespace {
            url,
            namespace: provider::cluster::Cluster::namespace(&running.issuer),
        }),
        running: Some(running),
        _schema: schema,
        _dir: dir,
    }
}

/// The Redis keys of one test provider (its issuer's namespace), deleted when it is dropped.
struct RedisNamespace {
    url: String,
    namespace: String,
}

impl Drop for RedisNamespace {
    fn drop(&mut self) {
        let url = self.url.clone();
        let pattern = format!("{}:*", self.namespace);
        // Drop may run inside a runtime: clean up on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(client) = redis::Client::open(url) else {
                return;
            };
            let Ok(mut connection) = client.get_connection() else {
                return;
            };
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(&pattern)
                .query(&mut connection)
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut connection);
            }
        });
        let _ = cleanup.join();
    }
}

/// With `OIDC_TEST_STACK=production`, every test provider runs on PostgreSQL (a schema of its
/// own, dropped afterwards) and Redis instead of SQLite and per-node memory: `.ci/run` runs the
/// whole suite a second time that way.
async fn production_stack(
    config: &mut provider::Config,
) -> Option<provider::store::testing::TestSchema> {
    if std::env::var("OIDC_TEST_STACK").ok().as_deref() != Some("production") {
        return None;
    }
    let postgres = provider::store::testing::postgres_url()
        .expect("OIDC_TEST_STACK=production needs OIDC_TEST_POSTGRES_URL");
    let redis = std::env::var("OIDC_TEST_REDIS_URL")
        .expect("OIDC_TEST_STACK=production needs OIDC_TEST_REDIS_URL");
    let schema = provider::store::testing::TestSchema::create(&postgres).await;
    config.database_url =
        provider::store::DatabaseUrl::parse(&schema.url()).expect("a PostgreSQL URL");
    config.redis_url = Some(redis);
    Some(schema)
}

fn new_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

impl TestProvider {
    /// Stops the provider as SIGTERM would: no new connections, the requests in flight finish.
    pub async fn stop(&mut self) -> std::io::Result<()> {
        match self.running.take() {
            Some(running) => running.shutdown().await,
            None => Ok(()),
        }
    }

    /// Stops the provider and starts a new one on the same database (and Redis namespace): what
    /// a restart keeps, it kept in the database. The new one listens on a new port.
    pub async fn restart(&mut self) {
        self.stop().await.expect("the provider stops");
        let mut config = provider::Config::for_tests(&self._dir.path().join("provider.db"));
        config.database_url = self.database_url.clone();
        config.redis_url = self._redis.as_ref().map(|redis| redis.url.clone());
        let running = provider::start_with(config, provider::state::Environment::default())
            .await
            .expect("the provider starts again");
        self.base_url = format!("http://{}", running.local_addr);
        self.issuer = running.issuer.as_str().to_owned();
        // The issuer names the Redis namespace: the new one is cleaned up on drop too.
        if let Some(redis) = self._redis.take() {
            self._redis = Some(RedisNamespace {
                url: redis.url.clone(),
                namespace: provider::cluster::Cluster::namespace(&running.issuer),
            });
        }
        self.running = Some(running);
    }

    /// `base_url + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A fresh browser: its own empty cookie jar, redirects off.
    pub fn browser(&self) -> reqwest::Client {
        new_browser()
    }

    /// A GET, read to the end.
    pub async fn get(&self, browser: &reqwest::Client, url: &str) -> Reply {
        Reply::read(browser.get(url).send().await.expect("GET")).await
    }

    /// A form POST (raw body), read to the end.
    pub async fn post_form(&self, browser: &reqwest::Client, url: &str, body: String) -> Reply {
        let response = browser
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        Reply::read(response).await
    }
}
