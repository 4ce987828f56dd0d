//! `client web`: the demo relying party as a small web app.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /` | sign-in button, or who you are, the decoded tokens and the action buttons |
//! | `POST /login` | starts the code flow: PKCE, state, nonce, then 303 to the provider |
//! | `GET /callback` | RFC 6749 §4.1.2 redirection endpoint: state, iss, code exchange, ID token |
//! | `POST /actions/{me,notes,write-note,refresh}` | API calls and the refresh, then back to `/` |
//! | `POST /logout` | ends the local session and, when advertised, the provider's (RP-initiated logout) |
//! | `POST /backchannel-logout` | the provider's logout token (Back-Channel Logout): ends the local sessions of that provider session |
//! | `GET /timeline` | every exchange of this session, with an SVG sequence diagram |
//!
//! Tokens stay in the server-side session ([`session`]); the browser holds one `HttpOnly`,
//! `SameSite=Lax` cookie. POST routes are behind tower-http's cross-origin check.

mod actions;
mod backchannel;
mod home;
mod logout;
pub mod pages;
mod respond;
pub mod sequence;
pub mod session;
mod sign_in;

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::{OnceCell, oneshot};
use tokio::task::JoinHandle;
use tower_http::csrf::CsrfLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::Error;
use crate::config::WebConfig;
use crate::oidc::OidcClient;
use crate::timeline::{Exchange, Timeline};
use crate::web::session::SessionStore;

/// Shared state of the web app.
pub struct Shared {
    config: WebConfig,
    http: reqwest::Client,
    /// Discovery happens at the first sign-in (the provider may start after us) and is kept.
    oidc: OnceCell<(Arc<OidcClient>, Vec<Exchange>)>,
    sessions: SessionStore,
}

/// The axum state: a cheap handle to [`Shared`].
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// The state for `config`.
    pub fn new(config: WebConfig) -> Result<AppState, Error> {
        Ok(AppState(Arc::new(Shared {
            http: crate::http::back_channel_client()?,
            config,
            oidc: OnceCell::new(),
            sessions: SessionStore::default(),
        })))
    }

    /// The relying party, discovering the provider on first use; the discovery and JWKS
    /// exchanges are returned so each session's timeline can show them.
    async fn oidc(&self) -> Result<(Arc<OidcClient>, Vec<Exchange>), Error> {
        let (client, exchanges) = self
            .oidc
            .get_or_try_init(|| async {
                let timeline = Timeline::new();
                let client = OidcClient::discover(
                    self.http.clone(),
                    &self.config.client.issuer,
                    self.config.client.registration.clone(),
                    &timeline,
                )
                .await
                .inspect_err(|error| tracing::warn!(error = %error, "discovery failed; will retry at the next sign-in"))?;
                tracing::info!(target: "flow", issuer = %client.issuer(), logout = client.supports_logout(), "client: provider discovered and its JWKS cached (OIDC Discovery §4)");
                Ok::<_, Error>((Arc::new(client), timeline.snapshot()))
            })
            .await?;
        Ok((Arc::clone(client), exchanges.clone()))
    }

    fn secure_cookies(&self) -> bool {
        self.config.public_url.starts_with("https://")
    }
}

/// The router with every route and the cross-cutting layers.
pub fn router(state: AppState) -> Router {
    let issuer_origin = url::Url::parse(&state.config.client.issuer)
        .map(|issuer| issuer.origin().ascii_serialization())
        .unwrap_or_default();
    // form-action must allow the provider: the browser follows our 303 after a form POST there.
    let csp = format!(
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
         form-action 'self' {issuer_origin}; frame-ancestors 'none'; base-uri 'none'"
    );
    let csp = HeaderValue::from_str(&csp)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    let forms = Router::new()
        .route("/login", post(sign_in::post_login))
        .route("/logout", post(logout::post_logout))
        .route("/actions/me", post(actions::post_me))
        .route("/actions/notes", post(actions::post_notes))
        .route("/actions/write-note", post(actions::post_write_note))
        .route("/actions/refresh", post(actions::post_refresh))
        .layer(CsrfLayer::new());
    Router::new()
        .route("/", get(home::get_home))
        .route("/callback", get(sign_in::get_callback))
        // Server to server (the provider), so outside the browser forms' CSRF check.
        .route(
            "/backchannel-logout",
            post(backchannel::post_backchannel_logout),
        )
        .route("/timeline", get(home::get_timeline))
        .route("/assets/client.css", get(home::get_stylesheet))
        .route("/assets/client.js", get(home::get_script))
        .route("/healthz", get(|| async { "ok" }))
        .merge(forms)
        .with_state(state)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    // The path only: the callback's query carries the code and state.
                    let path = request.extensions().get::<MatchedPath>().map_or_else(
                        || request.uri().path().to_owned(),
                        |matched| matched.as_str().to_owned(),
                    );
                    tracing::info_span!("request", method = %request.method(), path = %path)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}

/// A running web app.
pub struct RunningWeb {
    /// The bound address.
    pub local_addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningWeb {
    /// Stops accepting, finishes in-flight requests and waits.
    pub async fn shutdown(self) -> Result<(), Error> {
        let _ = self.shutdown.send(());
        match self.task.await {
            Ok(result) => result.map_err(|source| Error::Io {
                context: "serving the web app",
                source,
            }),
            Err(_) => Err(Error::Io {
                context: "serving the web app",
                source: std::io::Error::other("the server task panicked"),
            }),
        }
    }
}

/// Serves on an already bound listener (tests bind `127.0.0.1:0`) and returns at once.
pub async fn serve(config: WebConfig, listener: TcpListener) -> Result<RunningWeb, Error> {
    let local_addr = listener.local_addr().map_err(|source| Error::Io {
        context: "reading the bound address",
        source,
    })?;
    let public_url = config.public_url.clone();
    let app = router(AppState::new(config)?);
    let (shutdown, signal) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = signal.await;
            })
            .await
    });
    tracing::info!("client web listening on http://{local_addr} (public URL {public_url})");
    Ok(RunningWeb {
        local_addr,
        shutdown,
        task,
    })
}

/// Binds `config.bind`, serves until Ctrl-C or SIGTERM, then shuts down gracefully (in-flight
/// requests get [`resource::demo::SHUTDOWN_DEADLINE`]).
pub async fn run(config: WebConfig) -> Result<(), Error> {
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| Error::Io {
            context: "binding the listen address (--bind / CLIENT_BIND)",
            source,
        })?;
    let server = serve(config, listener).await?;
    resource::demo::shutdown_signal().await;
    tracing::info!("shutting down: no new connections; finishing the requests in flight");
    match tokio::time::timeout(resource::demo::SHUTDOWN_DEADLINE, server.shutdown()).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!("requests still in flight after the shutdown deadline; stopping");
            Ok(())
        }
    }
}
