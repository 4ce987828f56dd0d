//! Configuration: `Args` (clap: flags and `OIDC_*` env vars) merged with an optional TOML file,
//! then validated into [`Config`]. Precedence: flag > env > file > built-in default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

use crate::admin::{AuditCommand, ClientsCommand, KeysCommand, UsersCommand};
use crate::protocol::throttle::ThrottlePolicy;
use crate::protocol::types::Issuer;
pub use crate::protocol::types::Lifetimes;
use crate::sealing::{KekSource, dev_key_path};
use crate::serve::{ServeOptions, TlsFiles};
use crate::store::DatabaseUrl;

/// Command line of the `provider` binary.
#[derive(Debug, Parser)]
#[command(
    name = "provider",
    version,
    about = "OpenID Connect provider (OAuth 2.1 authorization server)"
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Development mode: SQLite under ./data, demo users and clients, plain http on loopback,
    /// educational log lines.
    Dev(CommonArgs),
    /// Production mode: no demo data; an https issuer is required unless --allow-insecure-http.
    Serve(CommonArgs),
    /// Registered clients.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Resource servers (RFC 8707): the APIs access tokens are issued for.
    #[command(subcommand)]
    Resources(crate::admin::ResourcesCommand),
    /// User accounts (serve mode seeds no demo users).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Exits 0 when the node configured by the same environment answers /readyz with 200
    /// (a container HEALTHCHECK for images without curl).
    Healthcheck(crate::healthcheck::HealthcheckArgs),
    /// Security audit: without a URL, of the configuration `provider serve` would run with;
    /// with one, of any issuer over HTTP (metadata, JWKS, page headers, probes of /authorize).
    /// Findings carry a severity and an RFC section; exit 1 on any high finding.
    Doctor(Box<DoctorArgs>),
}

/// `provider doctor`'s arguments.
#[derive(Debug, Default, Args)]
pub struct DoctorArgs {
    /// The issuer to audit over HTTP (any OpenID provider or OAuth authorization server);
    /// without it, the configuration `provider serve` would run with is checked.
    pub issuer_url: Option<String>,
    /// A registered client to probe `/authorize` with (else the doctor registers one itself
    /// when the issuer offers open dynamic registration, and deletes it afterwards).
    #[arg(long)]
    pub client_id: Option<String>,
    /// The secret of `--client-id`, for a client_credentials token (its lifetime is checked).
    #[arg(long)]
    pub client_secret: Option<String>,
    /// A redirect URI registered for `--client-id`.
    #[arg(long)]
    pub redirect_uri: Option<String>,
    /// `resource` (RFC 8707) for the client_credentials token.
    #[arg(long)]
    pub resource: Option<String>,
    /// Seconds each HTTP request may take.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// The configuration to check when no URL is given (flags as for `provider serve`).
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Flags shared by both modes. All optional: defaults go in after merging with the file.
#[derive(Debug, Default, Args)]
pub struct CommonArgs {
    /// TOML configuration file (same keys as the long flags, with underscores).
    #[arg(long, env = "OIDC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "OIDC_BIND")]
    pub bind: Option<String>,
    /// Issuer URL [default: derived from the bound address, e.g. http://127.0.0.1:8080].
    #[arg(long, env = "OIDC_ISSUER")]
    pub issuer: Option<String>,
    /// Database URL [default: sqlite://data/provider.db].
    #[arg(long = "database", env = "OIDC_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Allow a plain-http issuer in serve mode (dangerous outside a lab: tokens travel in clear).
    #[arg(long, env = "OIDC_ALLOW_INSECURE_HTTP", num_args = 0..=1, default_missing_value = "true")]
    pub allow_insecure_http: Option<bool>,
    /// Access token lifetime in seconds [default: 600].
    #[arg(long, env = "OIDC_ACCESS_TOKEN_TTL")]
    pub access_token_ttl: Option<u64>,
    /// Authorization code lifetime in seconds [default: 600].
    #[arg(long, env = "OIDC_CODE_TTL")]
    pub code_ttl: Option<u64>,
    /// Refresh token lifetime in seconds [default: 1209600, 14 days].
    #[arg(long, env = "OIDC_REFRESH_TOKEN_TTL")]
    pub refresh_token_ttl: Option<u64>,
    /// Days to keep audit events; 0 keeps them forever [default: 365].
    #[arg(long, env = "OIDC_AUDIT_RETENTION_DAYS")]
    pub audit_retention_days: Option<u64>,
    /// A grant's refresh tokens live at most this many seconds from the user's sign-in,
    /// however often they rotate [default: 2592000, 30 days].
    #[arg(long, env = "OIDC_REFRESH_TOKEN_MAX_LIFETIME")]
    pub refresh_token_max_lifetime: Option<u64>,
    /// SSO session lifetime in seconds [default: 28800, 8 hours].
    #[arg(long, env = "OIDC_SESSION_TTL")]
    pub session_ttl: Option<u64>,
    /// Seconds in which a just-rotated refresh token may be used once more by its client
    /// (concurrent refreshes) [default: 0, off].
    #[arg(long, env = "OIDC_REFRESH_GRACE")]
    pub refresh_grace: Option<u64>,
    /// Initial access token required by dynamic registration in serve mode (RFC 7591 §3);
    /// without it, serve mode does not offer registration. Dev mode registration is open.
    #[arg(long, env = "OIDC_REGISTRATION_TOKEN", hide_env_values = true)]
    pub registration_token: Option<String>,
    /// Rotate signing keys automatically every this many seconds [default: off].
    #[arg(long, env = "OIDC_KEY_ROTATION_INTERVAL")]
    pub key_rotation_interval: Option<u64>,
    /// Resource servers (RFC 8707 identifiers, registered ones) dynamically registered clients
    /// may request tokens for, comma-separated; the first is their default [default: dev mode
    /// every registered resource; serve mode none: tokens for UserInfo only].
    #[arg(long, env = "OIDC_REGISTRATION_RESOURCES", value_delimiter = ',')]
    pub registration_resources: Option<Vec<String>>,
    /// Grants dynamically registered clients may have, comma-separated [default: dev mode
    /// every grant; serve mode authorization_code, refresh_token and the device grant].
    #[arg(long, env = "OIDC_REGISTRATION_GRANT_TYPES", value_delimiter = ',')]
    pub registration_grant_types: Option<Vec<String>>,
    /// Scopes dynamically registered clients may have, space-separated [default: dev mode
    /// every scope; serve mode every scope but the write scopes].
    #[arg(long, env = "OIDC_REGISTRATION_SCOPES")]
    pub registration_scopes: Option<String>,
    /// Accept Client ID Metadata Documents: an https client_id names the client's metadata,
    /// fetched from it (public clients; the registration rules apply) [default: dev mode on,
    /// serve mode off].
    #[arg(long, env = "OIDC_CLIENT_METADATA_DOCUMENTS", num_args = 0..=1, default_missing_value = "true")]
    pub client_metadata_documents: Option<bool>,
    /// Accept signed request objects (RFC 9101 JAR: `request` by value at /authorize and
    /// /par) and let clients register `request_object_signing_alg` and
    /// `require_signed_request_object` [default: dev mode on, serve mode off].
    #[arg(long, env = "OIDC_REQUEST_OBJECTS", num_args = 0..=1, default_missing_value = "true")]
    pub request_objects: Option<bool>,
    /// Sign and encrypt responses for clients that register for it: signed UserInfo
    /// (`userinfo_signed_response_alg`), and ID tokens and UserInfo encrypted to the client's
    /// key (`id_token_encrypted_response_alg/enc`, `userinfo_encrypted_response_alg/enc`;
    /// RSA-OAEP-256 or ECDH-ES) [default: dev mode on, serve mode off].
    #[arg(long, env = "OIDC_ENCRYPTED_RESPONSES", num_args = 0..=1, default_missing_value = "true")]
    pub encrypted_responses: Option<bool>,
    /// OpenID Connect Back-Channel Logout: clients may register a backchannel_logout_uri; when
    /// a session ends (logout, expiry, `provider users sign-out`/`disable`) each client that
    /// got tokens in it is sent a signed logout token, retried from a queue kept in the
    /// database [default: dev mode on, serve mode off].
    #[arg(long, env = "OIDC_BACKCHANNEL_LOGOUT", num_args = 0..=1, default_missing_value = "true")]
    pub backchannel_logout: Option<bool>,
    /// Require a server nonce in DPoP proofs (RFC 9449 §8): the first proof of a client is
    /// answered `use_dpop_nonce` with the nonce to use [default: false].
    #[arg(long, env = "OIDC_DPOP_REQUIRE_NONCE", num_args = 0..=1, default_missing_value = "true")]
    pub dpop_require_nonce: Option<bool>,
    /// Redis shared by several nodes (rate limits, login throttling, cache invalidation), e.g.
    /// redis://127.0.0.1:6379 [default: none, everything per node].
    #[arg(long = "redis", env = "OIDC_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Reverse proxies whose Forwarded / X-Forwarded-For / X-Forwarded-Proto headers are
    /// trusted, as a comma-separated CIDR list (e.g. 10.0.0.0/8,127.0.0.1/32) [default: none].
    #[arg(long, env = "OIDC_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
    /// Serve TLS with this PEM certificate chain (with --tls-key); reloaded on SIGHUP and when
    /// the file changes [default: plain http].
    #[arg(long, env = "OIDC_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "OIDC_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Also listen here for plain http and redirect every request to the https issuer (with
    /// TLS) [default: off].
    #[arg(long, env = "OIDC_HTTP_REDIRECT_BIND")]
    pub http_redirect_bind: Option<String>,
    /// Seconds a client may take to send a request's head before the connection is closed
    /// [default: 10].
    #[arg(long, env = "OIDC_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<u64>,
    /// Open connections at most; more are closed at once [default: 10000].
    #[arg(long, env = "OIDC_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Serve /metrics on this separate address instead of the main listener (keep it off the
    /// internet) [default: on the main listener].
    #[arg(long, env = "OIDC_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// Log format: `text` (coloured on a terminal) or `json` (one object per line, with the
    /// request id, route, client id and latency) [default: text].
    #[arg(long, env = "OIDC_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// File holding the key-encryption key that seals private signing keys at rest (32 random
    /// bytes, base64url, owner-only permissions) [default: dev mode creates
    /// key-encryption.key beside its database; serve mode requires this or
    /// OIDC_KEY_ENCRYPTION_KEY].
    #[arg(long, env = "OIDC_KEY_ENCRYPTION_KEY_FILE")]
    pub key_encryption_key_file: Option<PathBuf>,
    /// The key-encryption key itself (prefer the environment variable or a file: flags show
    /// in process listings).
    #[arg(long, env = "OIDC_KEY_ENCRYPTION_KEY", hide_env_values = true)]
    pub key_encryption_key: Option<String>,
}

/// The TOML file: the same keys, all optional; unknown keys are an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    key_encryption_key_file: Option<PathBuf>,
    registration_grant_types: Option<Vec<String>>,
    registration_scopes: Option<String>,
    audit_retention_days: Option<u64>,
    refresh_token_max_lifetime: Option<u64>,
    bind: Option<String>,
    issuer: Option<String>,
    database_url: Option<String>,
    allow_insecure_http: Option<bool>,
    access_token_ttl: Option<u64>,
    code_ttl: Option<u64>,
    refresh_token_ttl: Option<u64>,
    session_ttl: Option<u64>,
    refresh_grace: Option<u64>,
    registration_token: Option<String>,
    key_rotation_interval: Option<u64>,
    registration_resources: Option<Vec<String>>,
    dpop_require_nonce: Option<bool>,
    client_metadata_documents: Option<bool>,
    request_objects: Option<bool>,
    encrypted_responses: Option<bool>,
    backchannel_logout: Option<bool>,
    /// `[[resources]]`: resource servers this provider issues tokens for.
    #[serde(default)]
    resources: Vec<crate::protocol::resource::ResourceServer>,
    redis_url: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    http_redirect_bind: Option<String>,
    header_read_timeout: Option<u64>,
    max_connections: Option<usize>,
    metrics_bind: Option<String>,
    log_format: Option<String>,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal): the dev default.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    /// `--log-format` / `OIDC_LOG_FORMAT`.
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        match raw {
            None | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!(
                "--log-format / OIDC_LOG_FORMAT: {other:?} is neither text nor json"
            )),
        }
    }
}

/// Which mode runs. Behaviour differences are the fields of [`Config`], not checks of this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `provider dev`.
    Dev,
    /// `provider serve`.
    Serve,
}

/// Who may use dynamic client registration (RFC 7591 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrationPolicy {
    /// Anyone (dev mode).
    Open,
    /// Callers presenting this initial access token (its SHA-256 digest is kept).
    InitialAccessToken(crate::protocol::types::SecretDigest),
    /// Not offered.
    Disabled,
}

/// Validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Mode.
    pub mode: Mode,
    /// Listen address.
    pub bind: SocketAddr,
    /// Explicit issuer; `None` derives it from the bound address.
    pub issuer: Option<Issuer>,
    /// Database URL.
    pub database_url: DatabaseUrl,
    /// Whether a plain-http issuer is allowed.
    pub allow_insecure_http: bool,
    /// Seed the demo users and clients.
    pub seed_demo_data: bool,
    /// Lifetimes.
    pub lifetimes: Lifetimes,
    /// Concurrent bcrypt verifications (the rest wait; async workers never hash).
    pub password_hash_concurrency: usize,
    /// Refresh-token grace window in seconds (0 = off).
    pub refresh_grace_secs: u64,
    /// Dynamic registration policy.
    pub registration: RegistrationPolicy,
    /// Automatic key rotation interval in seconds.
    pub key_rotation_interval: Option<u64>,
    /// The resources dynamically registered clients may request (`None`: the mode's default).
    pub registration_resources: Option<Vec<String>>,
    /// Resource servers from the configuration file, registered (replaced) at start.
    pub resources: Vec<crate::protocol::resource::ResourceServer>,
    /// RFC 9449 §8: require server nonces in DPoP proofs.
    pub dpop_require_nonce: bool,
    /// Client ID Metadata Documents accepted.
    pub client_metadata_documents: bool,
    /// Optional protocol features that are on.
    pub features: crate::protocol::types::Features,
    /// Grants dynamically registered clients may have (`None`: the mode's default).
    pub registration_grant_types: Option<Vec<crate::protocol::client::GrantType>>,
    /// Scopes dynamically registered clients may have (`None`: the mode's default).
    pub registration_scopes: Option<crate::protocol::scope::ScopeSet>,
    /// Redis shared by several nodes.
    pub redis_url: Option<String>,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Requests per client address on the endpoints that create state without authentication.
    pub rate_limits: RateLimits,
    /// Password-guessing throttle.
    pub throttle: ThrottlePolicy,
    /// Listener behaviour: timeouts, connection cap, TLS.
    pub serve: ServeOptions,
    /// A plain-http listener that redirects to https.
    pub http_redirect_bind: Option<SocketAddr>,
    /// A separate listener for `/metrics` (else it is on the main one).
    pub metrics_bind: Option<SocketAddr>,
    /// How logs are written.
    pub log_format: LogFormat,
    /// Where the key-encryption key comes from.
    pub key_encryption_key: KekSource,
    /// Seconds audit events are kept (`None`: forever).
    pub audit_retention: Option<u64>,
    /// How often expired rows are purged.
    pub purge_interval: std::time::Duration,
}

/// Audit events are kept a year unless configured otherwise.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u64 = 365;
/// Expired rows are purged this often (in bounded statements).
pub const PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Requests per client address (IPv6 /64) on the endpoints that create state before anyone
/// authenticates; beyond them, `429` with `Retry-After`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// `/authorize` requests per minute (each may store an interaction).
    pub authorize_per_minute: u64,
    /// `/par` requests per minute.
    pub par_per_minute: u64,
    /// `/device_authorization` requests per minute.
    pub device_authorization_per_minute: u64,
    /// `/register` requests per hour.
    pub register_per_hour: u64,
    /// User codes entered at `/device` per minute (RFC 8628 §5.1: guessing).
    pub user_code_per_minute: u64,
}

impl RateLimits {
    /// Serve mode: what one user, or a busy office behind one address, needs.
    pub const SERVE: RateLimits = RateLimits {
        authorize_per_minute: 300,
        par_per_minute: 300,
        device_authorization_per_minute: 60,
        register_per_hour: 30,
        user_code_per_minute: 10,
    };

    /// Dev mode is the lab: test suites and fuzzers run from one address.
    pub const DEV: RateLimits = RateLimits {
        authorize_per_minute: 20_000,
        par_per_minute: 20_000,
        device_authorization_per_minute: 2_000,
        register_per_hour: 20_000,
        user_code_per_minute: 60,
    };
}

const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// Concurrent bcrypt verifications on a machine with `cores` cores: half of them (at least
/// one), so a login flood leaves the other half to every other endpoint. Measured on 2 cores
/// with one hash per core at a time, a flood of wrong passwords tripled `/jwks`'s p99.
fn password_hash_concurrency(cores: usize) -> usize {
    (cores / 2).max(1)
}
pub use crate::store::DEFAULT_DATABASE_URL;

impl Config {
    /// Merges flags/env with the optional file and validates. Errors name the flag.
    pub fn from_command(command: Command) -> Result<Self, String> {
        let (mode, args) = match command {
            Command::Dev(args) => (Mode::Dev, args),
            Command::Serve(args) => (Mode::Serve, args),
            Command::Clients(_)
            | Command::Resources(_)
            | Command::Users(_)
            | Command::Keys(_)
            | Command::Audit(_)
            | Command::Healthcheck(_)
            | Command::Doctor(_) => {
                return Err(
                    "clients, resources, users, keys, audit and healthcheck are commands, not server modes"
                        .into(),
                );
            }
        };
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let bind_raw = args
            .bind
            .or(file.bind)
            .unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind: SocketAddr = bind_raw.parse().map_err(|_| {
            format!("--bind / OIDC_BIND: {bind_raw:?} is not an address like 127.0.0.1:8080")
        })?;
        // Dev mode is loopback http by design; serve mode must opt in to plain http.
        let allow_insecure_http = mode == Mode::Dev
            || args
                .allow_insecure_http
                .or(file.allow_insecure_http)
                .unwrap_or(false);
        let issuer = args
            .issuer
            .or(file.issuer)
            .map(|raw| {
                Issuer::parse(&raw, allow_insecure_http)
                    .map_err(|err| format!("--issuer / OIDC_ISSUER: {err}"))
            })
            .transpose()?;
        let tls = match (
            args.tls_cert.or(file.tls_cert),
            args.tls_key.or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => return Err("--tls-cert and --tls-key go together".into()),
        };
        if let Some(files) = &tls {
            crate::serve::tls_config(files)
                .map_err(|err| format!("--tls-cert / --tls-key: {err}"))?;
        }
        if issuer.is_none() && !allow_insecure_http && tls.is_none() {
            return Err("--issuer / OIDC_ISSUER is required in serve mode (an https URL), or pass --allow-insecure-http".into());
        }
        let http_redirect_bind = args
            .http_redirect_bind
            .or(file.http_redirect_bind)
            .map(|raw| {
                raw.parse::<SocketAddr>().map_err(|_| {
                    format!("--http-redirect-bind / OIDC_HTTP_REDIRECT_BIND: {raw:?} is not an address like 0.0.0.0:80")
                })
            })
            .transpose()?;
        if http_redirect_bind.is_some() && tls.is_none() {
            return Err("--http-redirect-bind needs --tls-cert and --tls-key".into());
        }
        let defaults = ServeOptions::default();
        let header_read_timeout = match args.header_read_timeout.or(file.header_read_timeout) {
            Some(0) => return Err("--header-read-timeout: must be greater than zero".into()),
            Some(seconds) => std::time::Duration::from_secs(seconds),
            None => defaults.header_read_timeout,
        };
        let max_connections = match args.max_connections.or(file.max_connections) {
            Some(0) => return Err("--max-connections: must be greater than zero".into()),
            Some(count) => count,
            None => defaults.max_connections,
        };
        let serve = ServeOptions {
            header_read_timeout,
            max_connections,
            tls,
            ..defaults
        };
        let database_url = database_url(args.database_url.or(file.database_url))?;
        let key_encryption_key = KekSource::choose(
            args.key_encryption_key.as_deref(),
            args.key_encryption_key_file
                .or(file.key_encryption_key_file),
            (mode == Mode::Dev).then(|| dev_key_path(database_url.file_path().as_deref())),
        )?;
        let defaults = Lifetimes::default();
        let positive = |value: Option<u64>, default: u64, flag: &str| match value {
            Some(0) => Err(format!("{flag}: must be greater than zero")),
            Some(value) => Ok(value),
            None => Ok(default),
        };
        let access_token = positive(
            args.access_token_ttl.or(file.access_token_ttl),
            defaults.access_token,
            "--access-token-ttl",
        )?;
        let lifetimes = Lifetimes {
            code: positive(args.code_ttl.or(file.code_ttl), defaults.code, "--code-ttl")?,
            access_token,
            id_token: access_token,
            refresh_token: positive(
                args.refresh_token_ttl.or(file.refresh_token_ttl),
                defaults.refresh_token,
                "--refresh-token-ttl",
            )?,
            refresh_token_max: positive(
                args.refresh_token_max_lifetime
                    .or(file.refresh_token_max_lifetime),
                defaults.refresh_token_max,
                "--refresh-token-max-lifetime",
            )?,
            session: positive(
                args.session_ttl.or(file.session_ttl),
                defaults.session,
                "--session-ttl",
            )?,
            interaction: defaults.interaction,
        };
        let registration = match (args.registration_token.or(file.registration_token), mode) {
            (Some(token), _) if token.len() < 16 => {
                return Err("--registration-token / OIDC_REGISTRATION_TOKEN: use at least 16 random characters".into());
            }
            (Some(token), _) => RegistrationPolicy::InitialAccessToken(
                crate::protocol::types::SecretDigest::of(&token),
            ),
            (None, Mode::Dev) => RegistrationPolicy::Open,
            (None, Mode::Serve) => RegistrationPolicy::Disabled,
        };
        let key_rotation_interval = args.key_rotation_interval.or(file.key_rotation_interval);
        if key_rotation_interval.is_some_and(|interval| interval < 3600) {
            return Err(
                "--key-rotation-interval: rotate at most hourly (3600 seconds or more)".into(),
            );
        }
        let registration_resources = args
            .registration_resources
            .or(file.registration_resources)
            .map(|identifiers| {
                identifiers
                    .iter()
                    .map(|raw| resource_identifier(raw.trim()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        for resource in &file.resources {
            resource
                .validate()
                .map_err(|error| format!("--config [[resources]]: {error}"))?;
        }
        let registration_grant_types = args
            .registration_grant_types
            .or(file.registration_grant_types)
            .map(|names| {
                names
                    .iter()
                    .map(|name| {
                        crate::protocol::client::GrantType::parse(name.trim()).ok_or_else(|| {
                            format!("--registration-grant-types / OIDC_REGISTRATION_GRANT_TYPES: {name:?} is not a grant this provider supports")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let registration_scopes = args
            .registration_scopes
            .or(file.registration_scopes)
            .map(|raw| {
                crate::protocol::scope::ScopeSet::parse(&raw).map_err(|_| {
                    "--registration-scopes / OIDC_REGISTRATION_SCOPES: not a valid scope list"
                        .to_owned()
                })
            })
            .transpose()?;
        Ok(Config {
            mode,
            bind,
            issuer,
            database_url,
            allow_insecure_http,
            seed_demo_data: mode == Mode::Dev,
            lifetimes,
            password_hash_concurrency: password_hash_concurrency(
                std::thread::available_parallelism().map_or(1, usize::from),
            ),
            refresh_grace_secs: args.refresh_grace.or(file.refresh_grace).unwrap_or(0),
            registration,
            key_rotation_interval,
            registration_resources,
            resources: file.resources,
            dpop_require_nonce: args
                .dpop_require_nonce
                .or(file.dpop_require_nonce)
                .unwrap_or(false),
            client_metadata_documents: args
                .client_metadata_documents
                .or(file.client_metadata_documents)
                .unwrap_or(mode == Mode::Dev),
            features: crate::protocol::types::Features {
                request_objects: args
                    .request_objects
                    .or(file.request_objects)
                    .unwrap_or(mode == Mode::Dev),
                encrypted_responses: args
                    .encrypted_responses
                    .or(file.encrypted_responses)
                    .unwrap_or(mode == Mode::Dev),
                backchannel_logout: args
                    .backchannel_logout
                    .or(file.backchannel_logout)
                    .unwrap_or(mode == Mode::Dev),
            },
            registration_grant_types,
            registration_scopes,
            redis_url: args
                .redis_url
                .or(file.redis_url)
                .map(redis_url)
                .transpose()?,
            trusted_proxies: cidrs(args.trusted_proxies.or(file.trusted_proxies))?,
            rate_limits: match mode {
                Mode::Dev => RateLimits::DEV,
                Mode::Serve => RateLimits::SERVE,
            },
            throttle: ThrottlePolicy::default(),
            serve,
            http_redirect_bind,
            metrics_bind: args
                .metrics_bind
                .or(file.metrics_bind)
                .map(|raw| {
                    raw.parse::<SocketAddr>().map_err(|_| {
                        format!("--metrics-bind / OIDC_METRICS_BIND: {raw:?} is not an address like 127.0.0.1:9090")
                    })
                })
                .transpose()?,
            log_format: LogFormat::parse(args.log_format.or(file.log_format).as_deref())?,
            key_encryption_key,
            audit_retention: match args
                .audit_retention_days
                .or(file.audit_retention_days)
                .unwrap_or(DEFAULT_AUDIT_RETENTION_DAYS)
            {
                0 => None,
                days => Some(days.saturating_mul(24 * 3600)),
            },
            purge_interval: PURGE_INTERVAL,
        })
    }

    /// How the rules for dynamically registered clients are chosen (resolved against the
    /// resource registry at each registration).
    pub fn registration_limits(&self) -> crate::protocol::registration::RegistrationLimits {
        crate::protocol::registration::RegistrationLimits {
            open: self.mode == Mode::Dev,
            grant_types: self.registration_grant_types.clone(),
            scopes: self.registration_scopes.clone(),
            resources: self.registration_resources.clone(),
            features: self.features,
        }
    }

    /// A dev-mode config for tests: loopback port 0, the given SQLite file, demo data.
    pub fn for_tests(database_path: &Path) -> Self {
        Config {
            mode: Mode::Dev,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            issuer: None,
            database_url: DatabaseUrl::Sqlite(format!("sqlite://{}", database_path.display())),
            allow_insecure_http: true,
            seed_demo_data: true,
            lifetimes: Lifetimes::default(),
            password_hash_concurrency: 2,
            refresh_grace_secs: 0,
            registration: RegistrationPolicy::Open,
            key_rotation_interval: None,
            registration_resources: None,
            resources: Vec::new(),
            dpop_require_nonce: false,
            client_metadata_documents: true,
            features: crate::protocol::types::Features::ALL,
            registration_grant_types: None,
            registration_scopes: None,
            redis_url: None,
            trusted_proxies: Vec::new(),
            rate_limits: RateLimits::DEV,
            throttle: ThrottlePolicy::default(),
            serve: ServeOptions::default(),
            http_redirect_bind: None,
            metrics_bind: None,
            log_format: LogFormat::Text,
            key_encryption_key: KekSource::CreateAt(dev_key_path(Some(database_path))),
            audit_retention: Some(DEFAULT_AUDIT_RETENTION_DAYS * 24 * 3600),
            purge_interval: PURGE_INTERVAL,
        }
    }
}

/// `--redis` / `OIDC_REDIS_URL`: a `redis://` URL (checked here; the server may be down).
fn redis_url(raw: String) -> Result<String, String> {
    match url::Url::parse(&raw) {
        Ok(url) if url.scheme() == "redis" && url.host_str().is_some() => Ok(raw),
        _ => Err("--redis / OIDC_REDIS_URL: use a redis://host:port URL".into()),
    }
}

/// `--trusted-proxies` / `OIDC_TRUSTED_PROXIES`: CIDRs (a bare address is one host).
fn cidrs(raw: Option<Vec<String>>) -> Result<Vec<ipnet::IpNet>, String> {
    raw.unwrap_or_default()
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    format!("--trusted-proxies / OIDC_TRUSTED_PROXIES: {item:?} is not a CIDR like 10.0.0.0/8")
                })
        })
        .collect()
}

/// The database URL of `--database` / `OIDC_DATABASE_URL` (default: the dev SQLite file).
pub fn database_url(raw: Option<String>) -> Result<DatabaseUrl, String> {
    let raw = raw.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    DatabaseUrl::parse(&raw).map_err(|err| format!("--database / OIDC_DATABASE_URL: {err}"))
}

/// A resource indicator for `--registration-resources` (RFC 8707 §2: absolute URIs without a
/// fragment).
fn resource_identifier(raw: &str) -> Result<String, String> {
    crate::protocol::resource::parse_indicator(raw)
        .map(str::to_owned)
        .map_err(|_| {
            format!(
                "--registration-resources / OIDC_REGISTRATION_RESOURCES: {raw:?} is not an absolute URI without a fragment"
            )
        })
}

fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("--config {}: cannot read: {err}", path.display()))?;
    toml::from_str(&text).map_err(|err| format!("--config {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(args: CommonArgs) -> Result<Config, String> {
        Config::from_command(Command::Dev(args))
    }

    #[test]
    fn defaults_in_dev() {
        let config = dev(CommonArgs::default()).unwrap();
        assert_eq!(config.bind.to_string(), DEFAULT_BIND);
        assert!(config.issuer.is_none());
        assert!(config.seed_demo_data);
        assert_eq!(config.lifetimes.access_token, 600);
    }

    #[test]
    fn flag_beats_file_and_file_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("provider.toml");
        std::fs::write(&path, "bind = \"127.0.0.1:9000\"\naccess_token_ttl = 120\n").unwrap();
        let from_file = dev(CommonArgs {
            config: Some(path.clone()),
            ..CommonArgs::default()
        })
        .unwrap();
        assert_eq!(from_file.bind.to_string(), "127.0.0.1:9000");
        assert_eq!(from_file.lifetimes.access_token, 120);
        let flag = dev(CommonArgs {
            config: Some(path),
            bind: Some("127.0.0.1:9001".into()),
            ..CommonArgs::default()
        })
        .unwrap();
        assert_eq!(flag.bind.to_string(), "127.0.0.1:9001");
    }

    #[test]
    fn errors_name_the_flag() {
        let cases = [
            (
                CommonArgs {
                    bind: Some("nonsense".into()),
                    ..CommonArgs::default()
                },
                "--bind",
            ),
            (
                CommonArgs {
                    issuer: Some("ftp://x".into()),
                    ..CommonArgs::default()
                },
                "--issuer",
            ),
            (
                CommonArgs {
                    database_url: Some("mysql://x".into()),
                    ..CommonArgs::default()
                },
                "--database",
            ),
            (
                CommonArgs {
                    access_token_ttl: Some(0),
                    ..CommonArgs::default()
                },
                "--access-token-ttl",
            ),
            (
                CommonArgs {
                    config: Some("/nonexistent.toml".into()),
                    ..CommonArgs::default()
                },
                "--config",
            ),
        ];
        for (args, flag) in cases {
            let err = dev(args).unwrap_err();
            assert!(err.contains(flag), "{err} should name {flag}");
        }
    }

    /// A key-encryption key for serve-mode configs.
    const KEK: &str = "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU";

    #[test]
    fn serve_needs_a_key_encryption_key_and_dev_makes_one_beside_its_database() {
        let serve = |args: CommonArgs| {
            Config::from_command(Command::Serve(CommonArgs {
                issuer: Some("https://id.example.com".into()),
                ..args
            }))
        };
        let refused = serve(CommonArgs::default()).unwrap_err();
        assert!(
            refused.contains("OIDC_KEY_ENCRYPTION_KEY")
                && refused.contains("provider keys new-kek"),
            "{refused}"
        );
        assert!(matches!(
            serve(CommonArgs { key_encryption_key_file: Some("/etc/oidc/kek".into()), ..CommonArgs::default() })
                .unwrap()
                .key_encryption_key,
            KekSource::File(path) if path == Path::new("/etc/oidc/kek")
        ));
        let short = serve(CommonArgs {
            key_encryption_key: Some("c2hvcnQ".into()),
            ..CommonArgs::default()
        })
        .unwrap_err();
        assert!(
            short.contains("OIDC_KEY_ENCRYPTION_KEY") && short.contains("32"),
            "{short}"
        );
        assert!(matches!(
            serve(CommonArgs {
                key_encryption_key: Some(KEK.into()),
                ..CommonArgs::default()
            })
            .unwrap()
            .key_encryption_key,
            KekSource::Key(_)
        ));
        assert!(matches!(
            dev(CommonArgs { database_url: Some("sqlite://var/oidc/provider.db".into()), ..CommonArgs::default() })
                .unwrap()
                .key_encryption_key,
            KekSource::CreateAt(path) if path == Path::new("var/oidc/key-encryption.key")
        ));
    }

    #[test]
    fn serve_refuses_plain_http_issuer() {
        let err = Config::from_command(Command::Serve(CommonArgs {
            issuer: Some("http://id.example.com".into()),
            ..CommonArgs::default()
        }))
        .unwrap_err();
        assert!(err.contains("https"), "{err}");
        assert!(Config::from_command(Command::Serve(CommonArgs::default())).is_err());
        let ok = Config::from_command(Command::Serve(CommonArgs {
            issuer: Some("https://id.example.com".into()),
            key_encryption_key: Some(KEK.into()),
            ..CommonArgs::default()
        }))
        .unwrap();
        assert!(!ok.seed_demo_data);
    }

    #[test]
    fn registered_clients_get_the_configured_resources() {
        assert_eq!(
            dev(CommonArgs::default()).unwrap().registration_resources,
            None
        );
        let serve = |resources: Option<Vec<&str>>| {
            Config::from_command(Command::Serve(CommonArgs {
                issuer: Some("https://id.example.com".into()),
                key_encryption_key: Some(KEK.into()),
                registration_resources: resources
                    .map(|list| list.into_iter().map(str::to_owned).collect()),
                ..CommonArgs::default()
            }))
        };
        assert!(!serve(None).unwrap().registration_limits().open);
        assert_eq!(
            serve(Some(vec!["https://api.example.com", " urn:b "]))
                .unwrap()
                .registration_resources,
            Some(vec![
                "https://api.example.com".to_owned(),
                "urn:b".to_owned()
            ])
        );
        for bad in ["not a uri", "https://api.example.com#frag"] {
            assert!(
                serve(Some(vec![bad]))
                    .unwrap_err()
                    .contains("--registration-resources")
            );
        }
    }

    #[test]
    fn bcrypt_gets_half_the_cores() {
        for (cores, hashes) in [(1, 1), (2, 1), (3, 1), (4, 2), (16, 8)] {
            assert_eq!(password_hash_concurrency(cores), hashes, "{cores} cores");
        }
    }

    #[test]
    fn redis_and_trusted_proxies() {
        let config = dev(CommonArgs {
            redis_url: Some("redis://127.0.0.1:6379".into()),
            trusted_proxies: Some(vec![
                "10.0.0.0/8".into(),
                " 127.0.0.1 ".into(),
                "::1".into(),
            ]),
            ..CommonArgs::default()
        })
        .unwrap();
        assert_eq!(config.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
        let proxies: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(proxies, ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
        for (args, flag) in [
            (
                CommonArgs {
                    redis_url: Some("http://x".into()),
                    ..CommonArgs::default()
                },
                "--redis",
            ),
            (
                CommonArgs {
                    trusted_proxies: Some(vec!["10.0.0.0/33".into()]),
                    ..CommonArgs::default()
                },
                "--trusted-proxies",
            ),
        ] {
            assert!(dev(args).unwrap_err().contains(flag));
        }
    }

    /// The example file loads, and names every flag of `serve` (set or commented out).
    #[test]
    fn the_example_file_loads_and_covers_every_option() {
        use clap::CommandFactory;
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../provider.example.toml");
        let config = Config::from_command(Command::Serve(CommonArgs {
            config: Some(path.clone()),
            ..CommonArgs::default()
        }))
        .unwrap();
        assert_eq!(config.issuer.unwrap().as_str(), "https://id.example.com");
        assert!(matches!(config.database_url, DatabaseUrl::Postgres(_)));
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.trusted_proxies.len(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        let cli = Cli::command();
        let serve = cli.find_subcommand("serve").unwrap();
        for argument in serve.get_arguments() {
            let Some(long) = argument.get_long() else {
                continue;
            };
            // The file names settings, not secrets: the KEK itself comes from the
            // environment (or --key-encryption-key-file).
            if long == "config" || long == "key-encryption-key" {
                continue;
            }
            let key = match long {
                "database" => "database_url".to_owned(),
                "redis" => "redis_url".to_owned(),
                other => other.replace('-', "_"),
            };
            assert!(
                text.contains(&format!("\n{key} = ")) || text.contains(&format!("\n# {key} = ")),
                "provider.example.toml does not mention {key}"
            );
        }
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "bnid = \"x\"\n").unwrap();
        assert!(
            dev(CommonArgs {
                config: Some(path),
                ..CommonArgs::default()
            })
            .unwrap_err()
            .contains("--config")
        );
    }
}
