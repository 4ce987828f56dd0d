//! The accept loop: what `axum::serve` does, plus what a server facing the internet needs:
//!
//! - a header-read timeout (a client that trickles its request head is closed, slowloris);
//! - a cap on open connections (beyond it new connections are closed at once, and `/jwks` keeps
//!   answering for the connections already open);
//! - TLS served directly with rustls (`--tls-cert`, `--tls-key`), the files reloaded on SIGHUP
//!   and when they change on disk, with a handshake deadline;
//! - graceful shutdown: stop accepting, let in-flight requests finish within a deadline.
//!
//! hyper-util's connection builder does the HTTP/1 and HTTP/2 work.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tower::ServiceExt;

/// How the listener behaves.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The longest a client may take to send a request's head.
    pub header_read_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_deadline: Duration,
    /// Serve TLS with these files.
    pub tls: Option<TlsFiles>,
    /// How often the TLS files are checked for changes.
    pub tls_reload_interval: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            shutdown_deadline: Duration::from_secs(20),
            tls: None,
            tls_reload_interval: Duration::from_secs(10),
        }
    }
}

/// A PEM certificate chain and its private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Serving failed to start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A PEM file could not be read or parsed.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the pair.
    #[error("the TLS certificate and key do not form a usable pair: {0}")]
    Tls(#[from] tokio_rustls::rustls::Error),
}

/// Reads the certificate chain and key into a rustls configuration (HTTP/2 and HTTP/1.1 by
/// ALPN).
pub fn tls_config(files: &TlsFiles) -> Result<ServerConfig, ServeError> {
    let pem_error = |path: &Path, reason: String| ServeError::Pem {
        path: path.display().to_string(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|err| pem_error(&files.cert, err.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| pem_error(&files.cert, err.to_string()))?;
    if chain.is_empty() {
        return Err(pem_error(&files.cert, "no certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|err| pem_error(&files.key, err.to_string()))?;
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The TLS configuration in use; replaced whole when the files change.
struct Tls {
    files: TlsFiles,
    current: RwLock<Arc<ServerConfig>>,
    modified: RwLock<Option<(SystemTime, SystemTime)>>,
}

impl Tls {
    fn load(files: TlsFiles) -> Result<Self, ServeError> {
        let config = tls_config(&files)?;
        let modified = modification_times(&files);
        Ok(Tls {
            files,
            current: RwLock::new(Arc::new(config)),
            modified: RwLock::new(modified),
        })
    }

    fn acceptor(&self) -> TlsAcceptor {
        let config = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        TlsAcceptor::from(Arc::clone(&config))
    }

    /// Re-reads the files; a broken pair keeps the old configuration (and says so).
    fn reload(&self, why: &str) {
        match tls_config(&self.files) {
            Ok(config) => {
                *self
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(config);
                *self
                    .modified
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    modification_times(&self.files);
                tracing::info!(why, "TLS certificate reloaded");
            }
            Err(err) => {
                tracing::error!(why, error = %err, "TLS certificate not reloaded; the previous one stays in use")
            }
        }
    }

    fn changed_on_disk(&self) -> bool {
        let now = modification_times(&self.files);
        let before = *self
            .modified
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        now.is_some() && now != before
    }
}

fn modification_times(files: &TlsFiles) -> Option<(SystemTime, SystemTime)> {
    let modified = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    };
    Some((modified(&files.cert)?, modified(&files.key)?))
}

/// Reloads on SIGHUP and when the files' modification times change (checked every
/// `interval`).
fn watch_tls(tls: Arc<Tls>, interval: Duration) {
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut poll = tokio::time::interval(interval);
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hangup.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<()>();
            tokio::select! {
                () = signalled => tls.reload("SIGHUP"),
                _ = poll.tick() => {
                    if tls.changed_on_disk() {
                        tls.reload("the files changed");
                    }
                }
            }
        }
    });
}

/// Serves `router` on `listener` until `shutdown` completes, then drains for at most the
/// shutdown deadline.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let tls = options
        .tls
        .clone()
        .map(Tls::load)
        .transpose()?
        .map(Arc::new);
    if let Some(tls) = &tls {
        watch_tls(Arc::clone(tls), options.tls_reload_interval);
    }
    let connections = Arc::new(Semaphore::new(options.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut full_warned = false;
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            if !full_warned {
                tracing::warn!(
                    max = options.max_connections,
                    "connection cap reached: new connections are closed until some end"
                );
                full_warned = true;
            }
            drop(stream);
            continue;
        };
        full_warned = false;
        let connection = Connection {
            router: router.clone(),
            peer,
            header_read_timeout: options.header_read_timeout,
            stopping: stopping.clone(),
            _permit: permit,
        };
        match &tls {
            Some(tls) => {
                let acceptor = tls.acceptor();
                let timeout = options.header_read_timeout;
                tokio::spawn(async move {
                    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection.run(TokioIo::new(stream)).await,
                        Ok(Err(err)) => {
                            tracing::debug!(%peer, error = %err, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
            None => {
                tokio::spawn(connection.run(TokioIo::new(stream)));
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let all = u32::try_from(options.max_connections).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(options.shutdown_deadline, connections.acquire_many(all));
    if drained.await.is_err() {
        tracing::warn!(
            deadline = ?options.shutdown_deadline,
            "in-flight requests did not finish before the shutdown deadline"
        );
    }
    Ok(())
}

/// One accepted connection.
struct Connection {
    router: Router,
    peer: SocketAddr,
    header_read_timeout: Duration,
    stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn run<I>(mut self, io: TokioIo<I>)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let service =
            self.router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request.map(axum::body::Body::new)
                });
        let service = TowerToHyperService::new(service);
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(Some(self.header_read_timeout));
        builder.http2().timer(TokioTimer::new());
        let connection = builder.serve_connection_with_upgrades(io, service);
        let mut connection = std::pin::pin!(connection);
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        tracing::debug!(%peer, error = %err, "connection ended with an error");
                    }
                    break;
                }
                changed = self.stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    if changed.is_err() {
                        // The accept loop is gone: nothing more to wait for but the connection.
                        let _ = connection.as_mut().await;
                        break;
                    }
                }
            }
        }
    }
}

/// Waits for Ctrl-C or SIGTERM (what container runtimes send).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Answers every plain-http request with a permanent redirect to the same path on `https_base`
/// (`--http-redirect-bind`).
pub fn redirect_to_https(https_base: String) -> Router {
    Router::new().fallback(move |uri: axum::http::Uri| {
        let https_base = https_base.clone();
        async move {
            let path = uri
                .path_and_query()
                .map_or("/", axum::http::uri::PathAndQuery::as_str);
            axum::response::Redirect::permanent(&format!("{https_base}{path}"))
        }
    })
}

/// Accepts on a listener that only redirects to https.
pub async fn serve_redirect(listener: TcpListener, https_base: String) {
    let app = redirect_to_https(https_base);
    let _ = axum::serve(listener, app).await;
}

/// Binds a TCP listener (with the error naming the flag).
pub async fn bind(address: SocketAddr, flag: &str) -> Result<TcpListener, std::io::Error> {
    TcpListener::bind(address).await.map_err(|err| {
        std::io::Error::new(err.kind(), format!("binding {address} ({flag}): {err}"))
    })
}
