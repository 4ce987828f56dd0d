//! Storage behind traits: [`Store`] for durable data, [`EphemeralStore`] for short-lived
//! artifacts. The backend is chosen once in `app.rs` from the database URL; nothing outside this
//! module knows which one runs.
//!
//! **Invariant:** one-time artifacts are consumed atomically in one statement, so two concurrent
//! redemptions of one authorization code cannot both succeed.

pub mod sqlite;

use async_trait::async_trait;

use crate::protocol::client::RegisteredClient;
use crate::protocol::scope::ScopeSet;
use crate::protocol::token::{IssuedCode, RefreshGrant, RefreshState};
use crate::protocol::types::{SecretDigest, Subject, UnixTime};

/// Storage failures. Never shown to clients: they become `server_error` with a fixed text.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database driver failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed at start-up.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored JSON column did not decode (schema drift or corruption).
    #[error("stored data is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// A stored value did not parse into its protocol type.
    #[error("stored value is invalid: {0}")]
    Invalid(&'static str),
}

/// Store result.
pub type Result<T> = std::result::Result<T, Error>;

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
}

/// A browser's single sign-on session (the cookie holds the id, the store its digest).
#[derive(Clone, Debug)]
pub struct SessionRecord {
    /// Digest of the session id.
    pub id_digest: SecretDigest,
    /// The user.
    pub subject: Subject,
    /// When the user entered credentials.
    pub auth_time: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// A refresh token as stored.
#[derive(Clone, Debug)]
pub struct RefreshTokenRecord {
    /// Digest of the token.
    pub digest: SecretDigest,
    /// The grant behind it.
    pub grant: RefreshGrant,
    /// Issue time.
    pub issued_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
    /// Live, rotated or revoked.
    pub state: RefreshState,
}

/// Outcome of consuming an authorization code.
#[derive(Debug)]
pub enum CodeRedemption {
    /// First use: the code is now consumed.
    Consumed(Box<IssuedCode>),
    /// The code was consumed before: a replay (RFC 6749 §4.1.2: revoke what it issued).
    Replayed {
        /// The grant to revoke.
        grant_id: String,
    },
    /// No such code.
    Unknown,
}

/// A stored signing key.
#[derive(Clone, Debug)]
pub struct SigningKeyRecord {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// JOSE alg name.
    pub alg: String,
    /// PKCS#8 PEM.
    pub private_pem: String,
    /// `active`, `next` or `retired`.
    pub status: String,
    /// Creation time.
    pub created_at: UnixTime,
}

/// Durable data: clients, users, consents, sessions, refresh tokens, keys.
#[async_trait]
pub trait Store: Send + Sync {
    /// Readiness probe.
    async fn ping(&self) -> Result<()>;

    /// A client by id.
    async fn client(&self, client_id: &str) -> Result<Option<RegisteredClient>>;
    /// Creates or replaces a client (seeding, registration).
    async fn upsert_client(&self, client: &RegisteredClient, now: UnixTime) -> Result<()>;

    /// A user by subject.
    async fn user_by_subject(&self, subject: &Subject) -> Result<Option<UserRecord>>;
    /// A user by login name.
    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>>;
    /// Creates or replaces a user (seeding).
    async fn upsert_user(&self, user: &UserRecord) -> Result<()>;

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
    /// Revokes a grant: every refresh token of the family, and every access token issued for it
    /// goes on the deny-list until it expires.
    async fn revoke_grant(&self, grant_id: &str, now: UnixTime) -> Result<()>;

    /// Records an access token issued for a user grant.
    async fn record_access_token(
        &self,
        jti: &str,
        grant_id: &str,
        expires_at: UnixTime,
    ) -> Result<()>;
    /// True when the access token with this `jti` was revoked.
    async fn is_access_token_denied(&self, jti: &str) -> Result<bool>;

    /// Every stored signing key.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>>;
    /// Stores a new signing key.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()>;

    /// Deletes expired rows; returns how many.
    async fn purge_expired(&self, now: UnixTime) -> Result<u64>;
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
    /// The validated authorization request.
    pub request: crate::protocol::authorize::AuthorizationRequest,
    /// Set once the user logged in during this interaction.
    pub authentication: Option<crate::protocol::authorize::Authentication>,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// Short-lived artifacts: interactions and authorization codes (later: device codes, PAR).
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
    /// Consumes a code atomically (RFC 6749 §4.1.2 "MUST NOT be used more than once").
    async fn consume_code(&self, digest: &SecretDigest, now: UnixTime) -> Result<CodeRedemption>;
}
