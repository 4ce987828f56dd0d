//! Storage behind small traits, one per aggregate: [`ClientStore`], [`UserStore`] (accounts and
//! SSO sessions), [`GrantStore`] (consents, refresh-token families, access-token records),
//! [`KeyStore`], [`AuditStore`], [`EphemeralStore`] (short-lived artifacts) and [`Maintenance`].
//! A backend implements them all; [`open`] is the one place that chooses and prepares a
//! backend from the database URL, and hands out [`Stores`], one handle per aggregate, with the
//! client cache ([`cache::CachedClients`]) in front of the clients.
//!
//! **Invariant:** one-time artifacts are consumed atomically in one statement, so two concurrent
//! redemptions of one authorization code cannot both succeed.

pub mod cache;
#[cfg(test)]
pub mod conformance;
pub mod postgres;
pub mod registry;
pub mod sealed;
mod sql;
pub mod sqlite;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use keys::{KeyStatus, SigningAlg};

use crate::protocol::authorize::{Authentication, AuthorizationRequest};
pub use crate::protocol::backchannel::Participant;
use crate::protocol::client::RegisteredClient;
use crate::protocol::device::{DeviceGrant, DeviceStatus};
pub use crate::protocol::grants::authorization_code::{IssuedCode, Redemption};
pub use crate::protocol::grants::refresh_token::RefreshTokenRecord;
use crate::protocol::resource::ResourceServer;
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{ClientId, SecretDigest, Subject, UnixTime};

/// Storage failures. Never shown to clients: they become `server_error` with a fixed text.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database driver failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed at start-up.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Preparing the database location failed (directory, permissions).
    #[error("preparing the database location: {0}")]
    Location(#[from] std::io::Error),
    /// A stored JSON column did not decode (schema drift or corruption).
    #[error("stored data is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// A stored value did not parse into its protocol type.
    #[error("stored value is invalid: {0}")]
    Invalid(&'static str),
    /// Sealed key material could not be opened (another key-encryption key, tampering).
    #[error("key material at rest: {0}")]
    Sealed(#[from] crate::sealing::SealError),
}

/// Store result.
pub type Result<T> = std::result::Result<T, Error>;

/// The default database: the dev SQLite file.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/provider.db";

/// A database URL whose backend this build supports, checked once at the edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://path/to/file.db` (or `sqlite::memory:`): the embedded default.
    Sqlite(String),
    /// `postgres://user@host:port/database`: several nodes share one database.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses a URL, refusing schemes no backend implements.
    pub fn parse(raw: &str) -> std::result::Result<Self, String> {
        if raw.starts_with("sqlite:") {
            Ok(DatabaseUrl::Sqlite(raw.to_owned()))
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(raw.to_owned()))
        } else {
            Err(format!(
                "{:?} is not supported; use sqlite://path/to/file.db or postgres://user@host/database",
                redacted(raw)
            ))
        }
    }

    /// The URL as given (it may hold a password: log [`DatabaseUrl::redacted`] instead).
    pub fn as_str(&self) -> &str {
        match self {
            DatabaseUrl::Sqlite(url) | DatabaseUrl::Postgres(url) => url,
        }
    }

    /// The database file of a file-backed SQLite URL (not of `:memory:` or PostgreSQL).
    pub fn file_path(&self) -> Option<std::path::PathBuf> {
        let DatabaseUrl::Sqlite(url) = self else {
            return None;
        };
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() || path.starts_with(":memory:") {
            return None;
        }
        Some(std::path::PathBuf::from(path))
    }

    /// The URL with any password replaced, for logs and messages.
    pub fn redacted(&self) -> String {
        redacted(self.as_str())
    }
}

/// `scheme://user:secret@host` becomes `scheme://user:***@host`.
fn redacted(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => raw.to_owned(),
    }
}

/// Opens the database at `url`: creates its location with owner-only permissions where it is
/// a file, runs the backend's embedded migrations, and returns one handle per aggregate with
/// the client cache in front. `serve`, `dev`, `users` and `keys` all come through here.
pub async fn open(url: &DatabaseUrl) -> Result<Stores> {
    let stores = match url {
        DatabaseUrl::Sqlite(sqlite_url) => Stores::from_backend(Arc::new(
            sqlite::SqliteStore::open(sqlite_url, url.file_path().as_deref()).await?,
        )),
        DatabaseUrl::Postgres(url) => {
            Stores::from_backend(Arc::new(postgres::PostgresStore::open(url).await?))
        }
    };
    Ok(stores.with_client_cache())
}

/// One handle per aggregate. Cheap to clone.
#[derive(Clone)]
pub struct Stores {
    /// Registered clients.
    pub clients: Arc<dyn ClientStore>,
    /// Registered resource servers (RFC 8707).
    pub resources: Arc<dyn ResourceStore>,
    /// Accounts and SSO sessions.
    pub users: Arc<dyn UserStore>,
    /// Consents, refresh-token families and access-token records.
    pub grants: Arc<dyn GrantStore>,
    /// Signing keys.
    pub keys: Arc<dyn KeyStore>,
    /// The audit trail.
    pub audit: Arc<dyn AuditStore>,
    /// Short-lived artifacts: interactions, codes, device codes, pushed requests.
    pub ephemeral: Arc<dyn EphemeralStore>,
    /// Readiness and clean-up.
    pub maintenance: Arc<dyn Maintenance>,
    /// The client cache in front of `clients`, when there is one (to invalidate it from
    /// outside: changes made by other nodes).
    pub client_cache: Option<Arc<cache::CachedClients>>,
}

/// Everything a backend implements.
pub trait Backend:
    ClientStore
    + ResourceStore
    + UserStore
    + GrantStore
    + KeyStore
    + AuditStore
    + EphemeralStore
    + Maintenance
{
}

impl<T> Backend for T where
    T: ClientStore
        + ResourceStore
        + UserStore
        + GrantStore
        + KeyStore
        + AuditStore
        + EphemeralStore
        + Maintenance
{
}

impl Stores {
    /// Every aggregate served by one backend.
    pub fn from_backend<B: Backend + 'static>(backend: Arc<B>) -> Self {
        Stores {
            clients: backend.clone(),
            resources: backend.clone(),
            users: backend.clone(),
            grants: backend.clone(),
            keys: backend.clone(),
            audit: backend.clone(),
            ephemeral: backend.clone(),
            maintenance: backend,
            client_cache: None,
        }
    }

    /// Seals private key material at rest with `kek` (see [`sealed`]).
    pub fn sealed_with(mut self, kek: Arc<crate::sealing::KeyEncryptionKey>) -> Self {
        self.keys = Arc::new(sealed::SealedKeys::new(self.keys, kek));
        self
    }

    /// Puts the read-through client cache in front of `clients`.
    pub fn with_client_cache(mut self) -> Self {
        let cache = Arc::new(cache::CachedClients::new(self.clients));
        self.clients = cache.clone();
        self.client_cache = Some(cache);
        self
    }
}

/// Registered resource servers (RFC 8707). Few, read as a whole (the registry).
#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// Every registered resource server, by identifier.
    async fn resources(&self) -> Result<Vec<ResourceServer>>;
    /// Creates or replaces a resource server.
    async fn upsert_resource(&self, resource: &ResourceServer, now: UnixTime) -> Result<()>;
    /// Removes a resource server; `false` when there was none.
    async fn delete_resource(&self, identifier: &str) -> Result<bool>;
}

/// A user account.
#[derive(Clone, Debug)]
pub struct UserRecord {
    /// Stable opaque id (`sub`).
    pub subject: Subject,
    /// Login name.
    pub username: String,
    /// bcrypt hash.
    pub password_hash: String,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Email verified.
    pub email_verified: bool,
    /// A disabled account cannot sign in, and its grants and sessions were ended.
    pub disabled: bool,
}

/// A back-channel logout owed to a client (Back-Channel Logout 1.0 §2.5), kept in the database
/// so that it survives a restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutDelivery {
    /// Random id.
    pub id: String,
    /// Who is told about which session.
    pub participant: Participant,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When to try (next).
    pub next_attempt_at: UnixTime,
    /// When the session ended.
    pub created_at: UnixTime,
}

/// A user's TOTP enrolment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpRecord {
    /// The secret, sealed (see `secrets::ServerSecret::seal`).
    pub sealed_secret: String,
    /// Confirmed with a first code: sign-in asks for codes.
    pub confirmed: bool,
    /// The last 30-second step accepted.
    pub last_step: i64,
}

/// Which sessions ended (Back-Channel Logout).
#[derive(Clone, Copy, Debug)]
pub enum EndedSessions<'a> {
    /// This session (logout, or another user signed in in its browser).
    Sid(&'a str),
    /// Every session of this user (an operator's sign-out).
    Subject(&'a Subject),
    /// At most `limit` sessions that expired by `now`.
    ExpiredBy {
        /// The time.
        now: UnixTime,
        /// How many client rows at most.
        limit: u32,
    },
}

/// What [`UserStore::end_session_clients`] queued.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndedLogouts {
    /// The deliveries queued.
    pub queued: Vec<LogoutDelivery>,
    /// Deliveries dropped because the queue was full.
    pub dropped: u64,
}

/// A browser's single sign-on session (the cookie holds the id, the store its digest).
#[derive(Clone, Debug)]
pub struct SessionRecord {
    /// OIDC Core §2 `amr` of the sign-in (`pwd`, then `otp` and `mfa` after a second factor).
    pub amr: Vec<String>,
    /// Back-Channel Logout §2.1 `sid`: public, stable while the same user stays signed in.
    pub sid: String,
    /// Digest of the session id.
    pub id_digest: SecretDigest,
    /// The user.
    pub subject: Subject,
    /// When the user entered credentials.
    pub auth_time: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// A device authorization as stored (RFC 8628).
#[derive(Clone, Debug)]
pub struct DeviceRecord {
    /// Digest of the device code.
    pub device_code_digest: SecretDigest,
    /// The grant state.
    pub grant: DeviceGrant,
}

/// A stored signing key.
///
/// # Security
/// `private_pem` is key material: the `Debug` output redacts it.
#[derive(Clone)]
pub struct SigningKeyRecord {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// The key's algorithm.
    pub alg: SigningAlg,
    /// PKCS#8 PEM.
    pub private_pem: String,
    /// Where the key is in its life.
    pub status: KeyStatus,
    /// Creation time.
    pub created_at: UnixTime,
    /// For `next` keys: when they start signing.
    pub activate_at: Option<UnixTime>,
    /// For `retired` keys: when they leave the JWKS.
    pub remove_at: Option<UnixTime>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("status", &self.status)
            .field("private_pem", &"[redacted]")
            .finish()
    }
}

/// Registered clients (RFC 7591 / RFC 7592).
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// A client by id.
    async fn client(&self, client_id: &str) -> Result<Option<RegisteredClient>>;
    /// Every client, by id.
    async fn list_clients(&self) -> Result<Vec<RegisteredClient>>;
    /// Creates or replaces a client (seeding, registration).
    async fn upsert_client(&self, client: &RegisteredClient, now: UnixTime) -> Result<()>;
    /// Sets the RFC 7592 registration access token digest of a client.
    async fn set_registration_token(&self, client_id: &str, digest: &SecretDigest) -> Result<()>;
    /// The RFC 7592 registration access token digest of a client.
    async fn registration_token(&self, client_id: &str) -> Result<Option<SecretDigest>>;
    /// Deletes a client, its consents and (revoked) its refresh tokens (RFC 7592 §2.3), in one
    /// transaction.
    async fn delete_client(&self, client_id: &str, now: UnixTime) -> Result<()>;
}

/// User accounts and their SSO sessions.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// A user by subject.
    async fn user_by_subject(&self, subject: &Subject) -> Result<Option<UserRecord>>;
    /// A user by login name.
    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>>;
    /// Creates or replaces a user.
    async fn upsert_user(&self, user: &UserRecord) -> Result<()>;
    /// Every user, by user name.
    async fn list_users(&self) -> Result<Vec<UserRecord>>;
    /// Ends every SSO session of a user; returns how many.
    async fn end_sessions_of(&self, subject: &Subject) -> Result<u64>;
    /// Starts a session.
    async fn create_session(&self, session: &SessionRecord) -> Result<()>;
    /// A live session by id digest.
    async fn session(
        &self,
        id_digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>>;
    /// Ends a session.
    async fn delete_session(&self, id_digest: &SecretDigest) -> Result<()>;
    /// Back-Channel Logout: `participant.client_id` received tokens in session
    /// `participant.sid`, which ends at `expires_at`.
    async fn add_session_client(
        &self,
        participant: &Participant,
        expires_at: UnixTime,
    ) -> Result<()>;
    /// The user's TOTP enrolment, if any.
    async fn totp(&self, subject: &Subject) -> Result<Option<TotpRecord>>;
    /// Starts (or restarts) an enrolment with a new sealed secret; `false` when the user has a
    /// confirmed one (it must be turned off first).
    async fn begin_totp(
        &self,
        subject: &Subject,
        sealed_secret: &str,
        now: UnixTime,
    ) -> Result<bool>;
    /// Confirms the pending enrolment with the step of its first code and replaces the recovery
    /// codes, in one transaction; `false` when nothing was pending.
    async fn confirm_totp(
        &self,
        subject: &Subject,
        step: i64,
        recovery_codes: &[SecretDigest],
        now: UnixTime,
    ) -> Result<bool>;
    /// RFC 6238 §5.2: records `step` as used, only when it is later than the last one used
    /// (atomic: of two sign-ins with one code, one wins).
    async fn use_totp_step(&self, subject: &Subject, step: i64) -> Result<bool>;
    /// Spends a recovery code; `false` when it is not one of the user's (or was used).
    async fn use_recovery_code(&self, subject: &Subject, digest: &SecretDigest) -> Result<bool>;
    /// How many recovery codes are left.
    async fn recovery_codes_left(&self, subject: &Subject) -> Result<u64>;
    /// Removes the user's second factor and recovery codes; `false` when there was none.
    async fn reset_mfa(&self, subject: &Subject) -> Result<bool>;
    /// The session `sid` now ends at `expires_at` (the same user signed in again).
    async fn extend_session_clients(&self, sid: &str, expires_at: UnixTime) -> Result<()>;
    /// The clients of the ended sessions stop being participants and each gets a logout
    /// delivery (ids `{batch}.{n}`, due at `now`), in one transaction, so none is lost between
    /// the two; at most `max_queue` deliveries wait in all (the rest are dropped and counted).
    async fn end_session_clients(
        &self,
        ended: EndedSessions<'_>,
        batch: &str,
        now: UnixTime,
        max_queue: u64,
    ) -> Result<EndedLogouts>;
    /// Claims at most `limit` deliveries due at `now` until `lease_until` (so that another node
    /// skips them meanwhile) and returns them.
    async fn claim_logouts(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<LogoutDelivery>>;
    /// A delivery succeeded, or was given up.
    async fn finish_logout(&self, id: &str) -> Result<()>;
    /// A delivery failed `attempts` times; the next try is at `next_attempt_at`.
    async fn retry_logout(&self, id: &str, attempts: u32, next_attempt_at: UnixTime) -> Result<()>;
}

/// What users granted: consents, refresh-token families, and the access tokens issued for a
/// grant (so that revoking the grant denies them).
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// The scope a user has consented to for a client.
    async fn consent(&self, subject: &Subject, client_id: &str) -> Result<Option<ScopeSet>>;
    /// Remembers consent (the union with what was granted before).
    async fn save_consent(
        &self,
        subject: &Subject,
        client_id: &str,
        scope: &ScopeSet,
        now: UnixTime,
    ) -> Result<()>;
    /// Stores a new refresh token.
    async fn insert_refresh_token(&self, record: &RefreshTokenRecord) -> Result<()>;
    /// Looks a refresh token up by digest, whatever its state.
    async fn refresh_token(&self, digest: &SecretDigest) -> Result<Option<RefreshTokenRecord>>;
    /// Atomically marks `old` rotated (only if still live) and stores `new`, in one transaction.
    /// Returns false when `old` was no longer live (a concurrent use won the race).
    async fn rotate_refresh_token(
        &self,
        old: &SecretDigest,
        new: &RefreshTokenRecord,
        now: UnixTime,
    ) -> Result<bool>;
    /// Spends the one grace-window reuse of a rotated token and stores `new`, atomically.
    /// Returns false when the grace was already spent or the token was revoked.
    async fn use_refresh_grace(&self, old: &SecretDigest, new: &RefreshTokenRecord)
    -> Result<bool>;
    /// Revokes a grant: every refresh token of the family, and every access token issued for it
    /// goes on the deny-list until it expires.
    async fn revoke_grant(&self, grant_id: &str, now: UnixTime) -> Result<()>;
    /// Revokes every refresh-token family of a user and denies the access tokens recorded for
    /// them; returns how many refresh tokens were revoked.
    async fn revoke_grants_of(&self, subject: &Subject, now: UnixTime) -> Result<u64>;
    /// Records an access token issued for a user grant.
    async fn record_access_token(
        &self,
        jti: &str,
        grant_id: &str,
        expires_at: UnixTime,
    ) -> Result<()>;
    /// The grant an access token was recorded under (user tokens; `None` for client tokens).
    async fn access_token_grant(&self, jti: &str) -> Result<Option<String>>;
    /// Puts one access token on the deny-list until it expires (RFC 7009).
    async fn deny_access_token(&self, jti: &str, expires_at: UnixTime) -> Result<()>;
    /// True when the access token with this `jti` was revoked.
    async fn is_access_token_denied(&self, jti: &str) -> Result<bool>;
}

/// Signing keys, shared by every node through the database.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every stored signing key.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>>;
    /// Stores a new signing key.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()>;
    /// Updates a key's status and schedule.
    async fn update_signing_key(&self, key: &SigningKeyRecord) -> Result<()>;
    /// Removes a key (after every token it signed has expired).
    async fn delete_signing_key(&self, kid: &str) -> Result<()>;
    /// The shared secret called `name`: stores `candidate` if there is none yet (the first
    /// node to start wins, atomically) and returns the stored value.
    async fn server_secret(&self, name: &str, candidate: &str, now: UnixTime) -> Result<String>;
    /// Replaces a key's stored private material (sealing a legacy key, re-encryption).
    async fn replace_key_material(&self, kid: &str, private_pem: &str) -> Result<()>;
    /// Replaces a stored server secret's value (sealing, re-encryption).
    async fn replace_server_secret(&self, name: &str, value: &str) -> Result<()>;
    /// The stored value of a server secret, if there is one (re-encryption reads it raw).
    async fn read_server_secret(&self, name: &str) -> Result<Option<String>>;
}

/// One audit event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Increasing id.
    pub id: i64,
    /// When it happened.
    pub at: UnixTime,
    /// What happened (`client_registered`, `refresh_token_reuse`, ...).
    pub kind: String,
    /// The client involved.
    pub client_id: Option<String>,
    /// The user involved.
    pub subject: Option<String>,
    /// A sentence.
    pub detail: String,
}

/// The audit trail: reuse detection, revocations, registrations.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Events after `after_id`, oldest first, at most `limit`.
    async fn audit_events(&self, after_id: i64, limit: u32) -> Result<Vec<AuditEvent>>;
    /// The newest event's id (0 when there is none).
    async fn last_audit_id(&self) -> Result<i64>;
    /// Appends an event.
    async fn audit(
        &self,
        kind: &str,
        client_id: Option<&str>,
        subject: Option<&str>,
        detail: &str,
        now: UnixTime,
    ) -> Result<()>;
}

/// Readiness and clean-up.
#[async_trait]
pub trait Maintenance: Send + Sync {
    /// Readiness probe.
    async fn ping(&self) -> Result<()>;
    /// Deletes expired rows (and audit events older than the retention), in statements of at
    /// most `policy.batch` rows so no lock is held long, each followed by a pause twice as
    /// long as it took (at most a third of the write time goes to the purge); returns how many.
    async fn purge_expired(&self, policy: &PurgePolicy) -> Result<u64>;
    /// Rows in the tables that unauthenticated requests fill (interactions, codes, device codes,
    /// pushed requests, sessions): to watch that purging keeps them bounded.
    async fn row_counts(&self) -> Result<Vec<(&'static str, u64)>>;
    /// Closes the connections (at shutdown), waiting for the ones in use.
    async fn close(&self);
    /// The connection pool's state, for metrics.
    fn pool_status(&self) -> PoolStatus;
}

/// What a purge removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PurgePolicy {
    /// Rows that expired at or before this time go.
    pub now: UnixTime,
    /// Audit events at or before this time go (`None`: kept forever).
    pub audit_before: Option<UnixTime>,
    /// Rows per statement at most.
    pub batch: u32,
}

impl PurgePolicy {
    /// Rows per statement by default: short statements, short locks (a few milliseconds on
    /// SQLite with its indexes).
    pub const BATCH: u32 = 250;
}

/// A connection pool's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStatus {
    /// Open connections.
    pub size: u32,
    /// Open and idle.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// State of an authorization interaction (login + consent), kept while the user is on our pages.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct InteractionRecord {
    /// Random id (in the page URL).
    pub id: String,
    /// The forms' synchroniser (CSRF) token; only ever sent to the browser bound below.
    pub csrf_token: String,
    /// Digest of the browser-binding cookie that started the interaction.
    pub browser_digest: SecretDigest,
    /// What the user is asked to approve.
    pub purpose: InteractionPurpose,
    /// Set once the user logged in during this interaction.
    pub authentication: Option<Authentication>,
    /// The password was right; the user's second factor is asked for next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<PendingSecondFactor>,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// A sign-in waiting for its second factor.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingSecondFactor {
    /// The user whose password was right.
    pub subject: Subject,
    /// Their user name (the throttle counts by it).
    pub username: String,
}

/// What an interaction is for.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum InteractionPurpose {
    /// An authorization request (code flow).
    Authorize(Box<AuthorizationRequest>),
    /// A device waiting for approval (RFC 8628 §3.3).
    Device {
        /// The user code the user entered.
        user_code: String,
        /// The device's client.
        client_id: ClientId,
        /// Requested scope.
        scope: ScopeSet,
    },
}

impl InteractionPurpose {
    /// The client asking.
    pub fn client_id(&self) -> &str {
        match self {
            InteractionPurpose::Authorize(request) => request.client_id.as_str(),
            InteractionPurpose::Device { client_id, .. } => client_id.as_str(),
        }
    }

    /// The scope asked for.
    pub fn scope(&self) -> &ScopeSet {
        match self {
            InteractionPurpose::Authorize(request) => &request.scope,
            InteractionPurpose::Device { scope, .. } => scope,
        }
    }
}

/// Short-lived artifacts: interactions, authorization codes, device codes, pushed requests.
/// The SQL backend implements it; a Redis backend may implement it alone.
#[async_trait]
pub trait EphemeralStore: Send + Sync {
    /// Stores or replaces an interaction.
    async fn put_interaction(&self, interaction: &InteractionRecord) -> Result<()>;
    /// A live interaction.
    async fn interaction(&self, id: &str, now: UnixTime) -> Result<Option<InteractionRecord>>;
    /// Deletes an interaction, returning whether it existed (so it completes only once).
    async fn take_interaction(&self, id: &str) -> Result<bool>;

    /// Stores a new authorization code.
    async fn insert_code(&self, digest: &SecretDigest, code: &IssuedCode) -> Result<()>;
    /// Consumes a code atomically (RFC 6749 §4.1.2 "MUST NOT be used more than once"). A
    /// consumed code's row stays until it expires, so that a replay is recognised.
    async fn consume_code(&self, digest: &SecretDigest, now: UnixTime) -> Result<Redemption>;

    /// Stores a new device authorization.
    async fn insert_device(&self, record: &DeviceRecord) -> Result<()>;
    /// A device authorization by device-code digest.
    async fn device_by_code(&self, digest: &SecretDigest) -> Result<Option<DeviceRecord>>;
    /// A live, pending device authorization by user code.
    async fn pending_device_by_user_code(
        &self,
        user_code: &str,
        now: UnixTime,
    ) -> Result<Option<DeviceRecord>>;
    /// Records a poll (time and interval).
    async fn record_device_poll(
        &self,
        digest: &SecretDigest,
        now: UnixTime,
        interval_secs: u64,
    ) -> Result<()>;
    /// Sets the outcome for a pending user code; false when it is no longer pending.
    async fn decide_device(&self, user_code: &str, status: &DeviceStatus) -> Result<bool>;
    /// Deletes a device authorization, returning whether it existed (single use).
    async fn take_device(&self, digest: &SecretDigest) -> Result<bool>;

    /// Stores a pushed authorization request (RFC 9126).
    async fn insert_pushed_request(
        &self,
        digest: &SecretDigest,
        client_id: &str,
        params: &[(String, String)],
        expires_at: UnixTime,
    ) -> Result<()>;
    /// Takes a pushed request once, and only for the client that pushed it: its parameters.
    async fn take_pushed_request(
        &self,
        digest: &SecretDigest,
        client_id: &str,
        now: UnixTime,
    ) -> Result<Option<Vec<(String, String)>>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_name_a_supported_backend() {
        assert!(matches!(
            DatabaseUrl::parse("sqlite://data/provider.db"),
            Ok(DatabaseUrl::Sqlite(_))
        ));
        assert!(DatabaseUrl::parse("sqlite::memory:").is_ok());
        assert!(matches!(
            DatabaseUrl::parse("postgres://oidc@127.0.0.1/test"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(DatabaseUrl::parse("postgresql://oidc@db/oidc").is_ok());
        for refused in ["mysql://x", "data/provider.db", ""] {
            assert!(DatabaseUrl::parse(refused).is_err(), "{refused}");
        }
        let secret = DatabaseUrl::parse("postgres://oidc:hunter2@db/oidc").unwrap();
        assert!(!secret.redacted().contains("hunter2"));
        assert!(
            !DatabaseUrl::parse("mysql://oidc:hunter2@db/x")
                .unwrap_err()
                .contains("hunter2"),
            "errors do not echo passwords"
        );
    }
}
