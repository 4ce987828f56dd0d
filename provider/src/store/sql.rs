//! The SQL both backends share. SQLite and PostgreSQL accept the same statements here
//! (`$n` placeholders, `ON CONFLICT … DO UPDATE`, `UPDATE/DELETE … RETURNING`, `TRUE`/`FALSE`,
//! `BIGINT` unix times, JSON kept as text), so every trait is implemented once, by
//! [`sql_backend!`], for a store type that has a `pool: sqlx::Pool<DB>` field. What differs
//! (connection options, migrations, file locations) stays in `sqlite.rs` and `postgres.rs`.

/// Implements every store trait for `$store` (a struct with `pool: sqlx::Pool<$db>`).
macro_rules! sql_backend {
    ($store:ident, $db:ty) => {
        mod shared_sql {
            use async_trait::async_trait;
            use keys::{KeyStatus, SigningAlg};
            use sqlx::Row;

            use super::$store;
            use crate::protocol::authorize::Authentication;
            use crate::protocol::client::{ClientMetadata, RegisteredClient};
            use crate::protocol::device::{DeviceGrant, DeviceStatus};
            use crate::protocol::grants::refresh_token::RefreshGrant;
            use crate::protocol::resource::{ResourceServer, Resources};
            use crate::protocol::scope::ScopeSet;
            use crate::protocol::types::{ClientId, SecretDigest, Subject, UnixTime};
            use crate::store::{
                AuditEvent, AuditStore, ClientStore, DeviceRecord, EphemeralStore, Error, GrantStore,
                EndedLogouts, EndedSessions, InteractionRecord, IssuedCode, KeyStore, LogoutDelivery,
                Maintenance, Participant, TotpRecord,
                PurgePolicy, Redemption, RefreshTokenRecord, ResourceStore, Result, SessionRecord,
                SigningKeyRecord, UserRecord, UserStore,
            };

impl $store {
    /// One transaction: `mark_old` must change exactly one row (the presented token, still in
    /// the state the statement requires); only then is `new` stored. Otherwise nothing changes
    /// and the answer is `false`: a concurrent request used the token first.
    async fn replace_refresh_token(
        &self,
        mark_old: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>,
        new: &RefreshTokenRecord,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if mark_old.execute(&mut *tx).await?.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_refresh(&mut *tx, new).await?;
        tx.commit().await?;
        Ok(true)
    }
}

fn participant_from_row(row: &<$db as sqlx::Database>::Row) -> Result<Participant> {
    let client_id: String = row.try_get("client_id")?;
    Ok(Participant {
        sid: row.try_get("sid")?,
        client_id: ClientId::parse(&client_id).map_err(|_| Error::Invalid("client_id"))?,
        subject: Subject(row.try_get("subject")?),
    })
}

fn client_from_row(row: &<$db as sqlx::Database>::Row) -> Result<RegisteredClient> {
    let client_id: String = row.try_get("client_id")?;
    let secret_digest: Option<String> = row.try_get("secret_digest")?;
    let metadata: String = row.try_get("metadata")?;
    Ok(RegisteredClient {
        client_id: ClientId::parse(&client_id).map_err(|_| Error::Invalid("client_id"))?,
        secret_digest: secret_digest.map(SecretDigest),
        metadata: serde_json::from_str::<ClientMetadata>(&metadata)?,
    })
}

fn user_from_row(row: &<$db as sqlx::Database>::Row) -> Result<UserRecord> {
    Ok(UserRecord {
        subject: Subject(row.try_get("subject")?),
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        email_verified: row.try_get("email_verified")?,
        disabled: row.try_get("disabled")?,
    })
}

fn refresh_from_row(row: &<$db as sqlx::Database>::Row) -> Result<RefreshTokenRecord> {
    let data: String = row.try_get("data")?;
    let rotated_at: Option<i64> = row.try_get("rotated_at")?;
    let revoked_at: Option<i64> = row.try_get("revoked_at")?;
    Ok(RefreshTokenRecord {
        digest: SecretDigest(row.try_get("token_digest")?),
        grant: serde_json::from_str::<RefreshGrant>(&data)?,
        issued_at: UnixTime(row.try_get("issued_at")?),
        expires_at: UnixTime(row.try_get("expires_at")?),
        rotated_at: rotated_at.map(UnixTime),
        revoked: revoked_at.is_some(),
        grace_used: row.try_get("grace_used")?,
    })
}

fn device_from_row(row: &<$db as sqlx::Database>::Row) -> Result<DeviceRecord> {
    let status: String = row.try_get("status")?;
    let subject: Option<String> = row.try_get("subject")?;
    let auth_time: Option<i64> = row.try_get("auth_time")?;
    let status = match (status.as_str(), subject, auth_time) {
        // The device grant keeps no session id: its tokens carry no sid.
        ("approved", Some(subject), Some(auth_time)) => DeviceStatus::Approved(Authentication {
            subject: Subject(subject),
            auth_time: UnixTime(auth_time),
            sid: None,
            amr: Vec::new(),
        }),
        ("denied", _, _) => DeviceStatus::Denied,
        ("pending", _, _) => DeviceStatus::Pending,
        _ => return Err(Error::Invalid("device status")),
    };
    let client_id: String = row.try_get("client_id")?;
    let scope: String = row.try_get("scope")?;
    let interval: i64 = row.try_get("interval_secs")?;
    Ok(DeviceRecord {
        device_code_digest: SecretDigest(row.try_get("device_code_digest")?),
        grant: DeviceGrant {
            client_id: ClientId::parse(&client_id)
                .map_err(|_| Error::Invalid("device client_id"))?,
            user_code: row.try_get("user_code")?,
            scope: ScopeSet::parse(&scope).map_err(|_| Error::Invalid("device scope"))?,
            resources: Resources::from(row.try_get::<String, _>("audience")?),
            status,
            interval_secs: u64::try_from(interval)
                .map_err(|_| Error::Invalid("device interval"))?,
            last_poll_at: row.try_get::<Option<i64>, _>("last_poll_at")?.map(UnixTime),
            expires_at: UnixTime(row.try_get("expires_at")?),
        },
    })
}

const DEVICE_COLUMNS: &str = "device_code_digest, user_code, client_id, scope, audience, status, subject, auth_time, interval_secs, last_poll_at, expires_at";

const USER_COLUMNS: &str =
    "subject, username, password_hash, name, email, email_verified, disabled";

#[async_trait]
impl ResourceStore for $store {
    async fn resources(&self) -> Result<Vec<ResourceServer>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT data FROM resource_servers ORDER BY identifier")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|data| serde_json::from_str(data).map_err(Error::from))
            .collect()
    }

    async fn upsert_resource(&self, resource: &ResourceServer, now: UnixTime) -> Result<()> {
        sqlx::query(
            "INSERT INTO resource_servers (identifier, data, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (identifier) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
        )
        .bind(&resource.identifier)
        .bind(serde_json::to_string(resource)?)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_resource(&self, identifier: &str) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM resource_servers WHERE identifier = $1")
            .bind(identifier)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }
}

#[async_trait]
impl ClientStore for $store {
    #[tracing::instrument(skip(self), level = "debug")]
    async fn client(&self, client_id: &str) -> Result<Option<RegisteredClient>> {
        let row = sqlx::query(
            "SELECT client_id, secret_digest, metadata FROM clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn upsert_client(&self, client: &RegisteredClient, now: UnixTime) -> Result<()> {
        sqlx::query(
            "INSERT INTO clients (client_id, secret_digest, metadata, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (client_id) DO UPDATE SET secret_digest = excluded.secret_digest, metadata = excluded.metadata",
        )
        .bind(client.client_id.as_str())
        .bind(client.secret_digest.as_ref().map(SecretDigest::as_str))
        .bind(serde_json::to_string(&client.metadata)?)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_clients(&self) -> Result<Vec<RegisteredClient>> {
        let rows = sqlx::query(
            "SELECT client_id, secret_digest, metadata FROM clients ORDER BY client_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(client_from_row).collect()
    }

    async fn set_registration_token(&self, client_id: &str, digest: &SecretDigest) -> Result<()> {
        sqlx::query("UPDATE clients SET registration_token_digest = $1 WHERE client_id = $2")
            .bind(digest.as_str())
            .bind(client_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn registration_token(&self, client_id: &str) -> Result<Option<SecretDigest>> {
        let digest: Option<Option<String>> = sqlx::query_scalar(
            "SELECT registration_token_digest FROM clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(digest.flatten().map(SecretDigest))
    }

    async fn delete_client(&self, client_id: &str, now: UnixTime) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM consents WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND client_id = $2")
            .bind(now.0)
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl UserStore for $store {
    async fn user_by_subject(&self, subject: &Subject) -> Result<Option<UserRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE subject = $1"
        )))
        .bind(subject.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        )))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn end_sessions_of(&self, subject: &Subject) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE subject = $1")
            .bind(subject.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn upsert_user(&self, user: &UserRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (subject, username, password_hash, name, email, email_verified, disabled) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (subject) DO UPDATE SET username = excluded.username, password_hash = excluded.password_hash, disabled = excluded.disabled,
               name = excluded.name, email = excluded.email, email_verified = excluded.email_verified",
        )
        .bind(user.subject.as_str())
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(&user.name)
        .bind(&user.email)
        .bind(user.email_verified)
        .bind(user.disabled)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<()> {
        sqlx::query("INSERT INTO sessions (id_digest, subject, auth_time, expires_at, sid, amr) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(session.id_digest.as_str())
            .bind(session.subject.as_str())
            .bind(session.auth_time.0)
            .bind(session.expires_at.0)
            .bind(&session.sid)
            .bind(session.amr.join(" "))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session(
        &self,
        id_digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>> {
        let row = sqlx::query("SELECT subject, auth_time, expires_at, sid, amr FROM sessions WHERE id_digest = $1 AND expires_at > $2")
            .bind(id_digest.as_str())
            .bind(now.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let sid: Option<String> = row.try_get("sid")?;
            let amr: Option<String> = row.try_get("amr")?;
            Ok(SessionRecord {
                // Sessions from before the column were password sign-ins.
                amr: amr.map_or_else(|| vec!["pwd".to_owned()], |amr| amr.split_whitespace().map(str::to_owned).collect()),
                // Sessions from before the column: the id their cookie gives.
                sid: sid.unwrap_or_else(|| crate::protocol::backchannel::session_id(id_digest)),
                id_digest: id_digest.clone(),
                subject: Subject(row.try_get("subject")?),
                auth_time: UnixTime(row.try_get("auth_time")?),
                expires_at: UnixTime(row.try_get("expires_at")?),
            })
        })
        .transpose()
    }

    async fn delete_session(&self, id_digest: &SecretDigest) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_digest = $1")
            .bind(id_digest.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn add_session_client(&self, participant: &Participant, expires_at: UnixTime) -> Result<()> {
        sqlx::query(
            "INSERT INTO session_clients (sid, client_id, subject, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (sid, client_id) DO UPDATE SET expires_at = excluded.expires_at",
        )
        .bind(&participant.sid)
        .bind(participant.client_id.as_str())
        .bind(participant.subject.as_str())
        .bind(expires_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn totp(&self, subject: &Subject) -> Result<Option<TotpRecord>> {
        let row = sqlx::query("SELECT secret, confirmed, last_step FROM user_mfa WHERE subject = $1")
            .bind(subject.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(TotpRecord {
                sealed_secret: row.try_get("secret")?,
                confirmed: row.try_get("confirmed")?,
                last_step: row.try_get("last_step")?,
            })
        })
        .transpose()
    }

    async fn begin_totp(&self, subject: &Subject, sealed_secret: &str, now: UnixTime) -> Result<bool> {
        let changed = sqlx::query(
            "INSERT INTO user_mfa (subject, secret, confirmed, last_step, updated_at) VALUES ($1, $2, FALSE, 0, $3)
             ON CONFLICT (subject) DO UPDATE SET secret = excluded.secret, last_step = 0, updated_at = excluded.updated_at
             WHERE user_mfa.confirmed = FALSE",
        )
        .bind(subject.as_str())
        .bind(sealed_secret)
        .bind(now.0)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    async fn confirm_totp(&self, subject: &Subject, step: i64, recovery_codes: &[SecretDigest], now: UnixTime) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let confirmed = sqlx::query(
            "UPDATE user_mfa SET confirmed = TRUE, last_step = $2, updated_at = $3 WHERE subject = $1 AND confirmed = FALSE",
        )
        .bind(subject.as_str())
        .bind(step)
        .bind(now.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if confirmed != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM recovery_codes WHERE subject = $1")
            .bind(subject.as_str())
            .execute(&mut *tx)
            .await?;
        for digest in recovery_codes {
            sqlx::query("INSERT INTO recovery_codes (subject, code_digest) VALUES ($1, $2)")
                .bind(subject.as_str())
                .bind(digest.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn use_totp_step(&self, subject: &Subject, step: i64) -> Result<bool> {
        let used = sqlx::query(
            "UPDATE user_mfa SET last_step = $2 WHERE subject = $1 AND confirmed = TRUE AND last_step < $2",
        )
        .bind(subject.as_str())
        .bind(step)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(used == 1)
    }

    async fn use_recovery_code(&self, subject: &Subject, digest: &SecretDigest) -> Result<bool> {
        let used = sqlx::query("DELETE FROM recovery_codes WHERE subject = $1 AND code_digest = $2")
            .bind(subject.as_str())
            .bind(digest.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(used == 1)
    }

    async fn recovery_codes_left(&self, subject: &Subject) -> Result<u64> {
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE subject = $1")
            .bind(subject.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(left).unwrap_or(0))
    }

    async fn reset_mfa(&self, subject: &Subject) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query("DELETE FROM user_mfa WHERE subject = $1")
            .bind(subject.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM recovery_codes WHERE subject = $1")
            .bind(subject.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed > 0)
    }

    async fn extend_session_clients(&self, sid: &str, expires_at: UnixTime) -> Result<()> {
        sqlx::query("UPDATE session_clients SET expires_at = $2 WHERE sid = $1")
            .bind(sid)
            .bind(expires_at.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn end_session_clients(
        &self,
        ended: EndedSessions<'_>,
        batch: &str,
        now: UnixTime,
        max_queue: u64,
    ) -> Result<EndedLogouts> {
        let mut tx = self.pool.begin().await?;
        let rows = match ended {
            EndedSessions::Sid(sid) => {
                sqlx::query("DELETE FROM session_clients WHERE sid = $1 RETURNING sid, client_id, subject")
                    .bind(sid)
                    .fetch_all(&mut *tx)
                    .await?
            }
            EndedSessions::Subject(subject) => {
                sqlx::query("DELETE FROM session_clients WHERE subject = $1 RETURNING sid, client_id, subject")
                    .bind(subject.as_str())
                    .fetch_all(&mut *tx)
                    .await?
            }
            EndedSessions::ExpiredBy { now, limit } => {
                sqlx::query(
                    "DELETE FROM session_clients WHERE (sid, client_id) IN
                       (SELECT sid, client_id FROM session_clients WHERE expires_at <= $1 LIMIT $2)
                     RETURNING sid, client_id, subject",
                )
                .bind(now.0)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?
            }
        };
        let participants = rows.iter().map(participant_from_row).collect::<Result<Vec<_>>>()?;
        if participants.is_empty() {
            // The common case (the delivery task looks every few seconds): nothing to queue.
            tx.commit().await?;
            return Ok(EndedLogouts::default());
        }
        let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM logout_deliveries")
            .fetch_one(&mut *tx)
            .await?;
        let room = max_queue.saturating_sub(u64::try_from(waiting).unwrap_or(0));
        let mut ended = EndedLogouts::default();
        for (index, participant) in participants.into_iter().enumerate() {
            if ended.queued.len() as u64 >= room {
                ended.dropped += 1;
                continue;
            }
            let delivery = LogoutDelivery {
                id: format!("{batch}.{index}"),
                participant,
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
            };
            sqlx::query(
                "INSERT INTO logout_deliveries (id, sid, client_id, subject, attempts, next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&delivery.id)
            .bind(&delivery.participant.sid)
            .bind(delivery.participant.client_id.as_str())
            .bind(delivery.participant.subject.as_str())
            .bind(i64::from(delivery.attempts))
            .bind(delivery.next_attempt_at.0)
            .bind(delivery.created_at.0)
            .execute(&mut *tx)
            .await?;
            ended.queued.push(delivery);
        }
        tx.commit().await?;
        Ok(ended)
    }

    async fn claim_logouts(&self, now: UnixTime, lease_until: UnixTime, limit: u32) -> Result<Vec<LogoutDelivery>> {
        // The outer condition is checked again on each row, so two nodes never claim one.
        let rows = sqlx::query(
            "UPDATE logout_deliveries SET next_attempt_at = $2
             WHERE id IN (SELECT id FROM logout_deliveries WHERE next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $3)
               AND next_attempt_at <= $1
             RETURNING id, sid, client_id, subject, attempts, next_attempt_at, created_at",
        )
        .bind(now.0)
        .bind(lease_until.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let attempts: i64 = row.try_get("attempts")?;
                Ok(LogoutDelivery {
                    id: row.try_get("id")?,
                    participant: participant_from_row(row)?,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    next_attempt_at: UnixTime(row.try_get("next_attempt_at")?),
                    created_at: UnixTime(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    async fn finish_logout(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM logout_deliveries WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn retry_logout(&self, id: &str, attempts: u32, next_attempt_at: UnixTime) -> Result<()> {
        sqlx::query("UPDATE logout_deliveries SET attempts = $2, next_attempt_at = $3 WHERE id = $1")
            .bind(id)
            .bind(i64::from(attempts))
            .bind(next_attempt_at.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl GrantStore for $store {
    async fn consent(&self, subject: &Subject, client_id: &str) -> Result<Option<ScopeSet>> {
        let scope: Option<String> =
            sqlx::query_scalar("SELECT scope FROM consents WHERE subject = $1 AND client_id = $2")
                .bind(subject.as_str())
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
        scope
            .map(|scope| ScopeSet::parse(&scope).map_err(|_| Error::Invalid("consent scope")))
            .transpose()
    }

    async fn save_consent(
        &self,
        subject: &Subject,
        client_id: &str,
        scope: &ScopeSet,
        now: UnixTime,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let previous: Option<String> =
            sqlx::query_scalar("SELECT scope FROM consents WHERE subject = $1 AND client_id = $2")
                .bind(subject.as_str())
                .bind(client_id)
                .fetch_optional(&mut *tx)
                .await?;
        let merged = match previous.as_deref().map(ScopeSet::parse) {
            Some(Ok(previous)) => previous.union(scope),
            _ => scope.clone(),
        };
        sqlx::query(
            "INSERT INTO consents (subject, client_id, scope, granted_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (subject, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
        )
        .bind(subject.as_str())
        .bind(client_id)
        .bind(merged.to_string())
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_refresh_token(&self, record: &RefreshTokenRecord) -> Result<()> {
        insert_refresh(&self.pool, record).await
    }

    async fn refresh_token(&self, digest: &SecretDigest) -> Result<Option<RefreshTokenRecord>> {
        let row = sqlx::query(
            "SELECT token_digest, data, issued_at, expires_at, rotated_at, revoked_at, grace_used FROM refresh_tokens WHERE token_digest = $1",
        )
        .bind(digest.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(refresh_from_row).transpose()
    }

    async fn rotate_refresh_token(
        &self,
        old: &SecretDigest,
        new: &RefreshTokenRecord,
        now: UnixTime,
    ) -> Result<bool> {
        let mark_rotated = sqlx::query(
            "UPDATE refresh_tokens SET rotated_at = $1 WHERE token_digest = $2 AND rotated_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now.0)
        .bind(old.as_str());
        self.replace_refresh_token(mark_rotated, new).await
    }

    async fn use_refresh_grace(
        &self,
        old: &SecretDigest,
        new: &RefreshTokenRecord,
    ) -> Result<bool> {
        let mark_grace_spent = sqlx::query(
            "UPDATE refresh_tokens SET grace_used = TRUE WHERE token_digest = $1 AND grace_used = FALSE AND revoked_at IS NULL AND rotated_at IS NOT NULL",
        )
        .bind(old.as_str());
        self.replace_refresh_token(mark_grace_spent, new).await
    }

    async fn revoke_grant(&self, grant_id: &str, now: UnixTime) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
        )
        .bind(now.0)
        .bind(grant_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO denied_access_tokens (jti, expires_at)
             SELECT jti, expires_at FROM grant_access_tokens WHERE grant_id = $1 AND expires_at > $2
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(grant_id)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_grants_of(&self, subject: &Subject, now: UnixTime) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO denied_access_tokens (jti, expires_at)
             SELECT jti, expires_at FROM grant_access_tokens
             WHERE expires_at > $2 AND grant_id IN (SELECT family_id FROM refresh_tokens WHERE subject = $1)
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(subject.as_str())
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        let revoked = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE subject = $1 AND revoked_at IS NULL",
        )
        .bind(subject.as_str())
        .bind(now.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(revoked)
    }

    async fn record_access_token(
        &self,
        jti: &str,
        grant_id: &str,
        expires_at: UnixTime,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO grant_access_tokens (jti, grant_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(jti)
        .bind(grant_id)
        .bind(expires_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn access_token_grant(&self, jti: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT grant_id FROM grant_access_tokens WHERE jti = $1")
                .bind(jti)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn deny_access_token(&self, jti: &str, expires_at: UnixTime) -> Result<()> {
        sqlx::query("INSERT INTO denied_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(expires_at.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn is_access_token_denied(&self, jti: &str) -> Result<bool> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT jti FROM denied_access_tokens WHERE jti = $1")
                .bind(jti)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }
}

#[async_trait]
impl KeyStore for $store {
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        let rows = sqlx::query("SELECT kid, alg, private_pem, status, created_at, activate_at, remove_at FROM signing_keys ORDER BY created_at, kid")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let alg: String = row.try_get("alg")?;
                let status: String = row.try_get("status")?;
                Ok(SigningKeyRecord {
                    kid: row.try_get("kid")?,
                    alg: SigningAlg::parse(&alg).map_err(|_| Error::Invalid("signing key alg"))?,
                    private_pem: row.try_get("private_pem")?,
                    status: KeyStatus::parse(&status)
                        .ok_or(Error::Invalid("signing key status"))?,
                    created_at: UnixTime(row.try_get("created_at")?),
                    activate_at: row.try_get::<Option<i64>, _>("activate_at")?.map(UnixTime),
                    remove_at: row.try_get::<Option<i64>, _>("remove_at")?.map(UnixTime),
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private_pem, status, created_at, activate_at, remove_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.kid)
        .bind(key.alg.as_str())
        .bind(&key.private_pem)
        .bind(key.status.as_str())
        .bind(key.created_at.0)
        .bind(key.activate_at.map(|time| time.0))
        .bind(key.remove_at.map(|time| time.0))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        sqlx::query(
            "UPDATE signing_keys SET status = $1, activate_at = $2, remove_at = $3 WHERE kid = $4",
        )
        .bind(key.status.as_str())
        .bind(key.activate_at.map(|time| time.0))
        .bind(key.remove_at.map(|time| time.0))
        .bind(&key.kid)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn server_secret(&self, name: &str, candidate: &str, now: UnixTime) -> Result<String> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<()> {
        sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn replace_key_material(&self, kid: &str, private_pem: &str) -> Result<()> {
        sqlx::query("UPDATE signing_keys SET private_pem = $1 WHERE kid = $2")
            .bind(private_pem)
            .bind(kid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn replace_server_secret(&self, name: &str, value: &str) -> Result<()> {
        sqlx::query("UPDATE server_secrets SET value = $1 WHERE name = $2")
            .bind(value)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn read_server_secret(&self, name: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

#[async_trait]
impl AuditStore for $store {
    async fn audit_events(&self, after_id: i64, limit: u32) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT id, at, kind, client_id, subject, detail FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEvent {
                    id: row.try_get("id")?,
                    at: UnixTime(row.try_get("at")?),
                    kind: row.try_get("kind")?,
                    client_id: row.try_get("client_id")?,
                    subject: row.try_get("subject")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    async fn last_audit_id(&self) -> Result<i64> {
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM audit_events")
            .fetch_one(&self.pool)
            .await?;
        Ok(last.unwrap_or(0))
    }

    async fn audit(
        &self,
        kind: &str,
        client_id: Option<&str>,
        subject: Option<&str>,
        detail: &str,
        now: UnixTime,
    ) -> Result<()> {
        sqlx::query("INSERT INTO audit_events (at, kind, client_id, subject, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(now.0)
            .bind(kind)
            .bind(client_id)
            .bind(subject)
            .bind(detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Maintenance for $store {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn pool_status(&self) -> crate::store::PoolStatus {
        crate::store::PoolStatus {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn purge_expired(&self, policy: &PurgePolicy) -> Result<u64> {
        // (table, primary key, expiry column); names are constants, never input.
        const TABLES: [(&str, &str, &str); 9] = [
            ("sessions", "id_digest", "expires_at"),
            ("interactions", "id", "expires_at"),
            ("authorization_codes", "code_digest", "expires_at"),
            ("refresh_tokens", "token_digest", "expires_at"),
            ("grant_access_tokens", "jti", "expires_at"),
            ("denied_access_tokens", "jti", "expires_at"),
            ("device_codes", "device_code_digest", "expires_at"),
            ("pushed_requests", "request_uri_digest", "expires_at"),
            ("audit_events", "id", "at"),
        ];
        let mut purged = 0;
        for (table, key, column) in TABLES {
            let cutoff = match (table, policy.audit_before) {
                ("audit_events", Some(before)) => before,
                ("audit_events", None) => continue,
                _ => policy.now,
            };
            let statement = format!(
                "DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {column} <= $1 LIMIT $2)"
            );
            loop {
                let started = std::time::Instant::now();
                let deleted = sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                    .bind(cutoff.0)
                    .bind(i64::from(policy.batch))
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                purged += deleted;
                if deleted < u64::from(policy.batch) {
                    break;
                }
                // Requests get the write lock (SQLite has one) and the connections for twice
                // as long as the statement held them. Unpaced, a purge of a million expired
                // rows took the write lock back to back for 10 s and the refresh grant's p99
                // went 1.9x while it ran; paced, the purge takes longer and requests see less.
                tokio::time::sleep(started.elapsed() * 2).await;
            }
        }
        Ok(purged)
    }

    async fn row_counts(&self) -> Result<Vec<(&'static str, u64)>> {
        const TABLES: [&str; 5] = [
            "interactions",
            "authorization_codes",
            "device_codes",
            "pushed_requests",
            "sessions",
        ];
        let mut counts = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {table}"
            )))
            .fetch_one(&self.pool)
            .await?;
            counts.push((table, u64::try_from(count).unwrap_or(0)));
        }
        Ok(counts)
    }
}

#[async_trait]
impl EphemeralStore for $store {
    async fn put_interaction(&self, interaction: &InteractionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO interactions (id, data, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(&interaction.id)
        .bind(serde_json::to_string(interaction)?)
        .bind(interaction.expires_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn interaction(&self, id: &str, now: UnixTime) -> Result<Option<InteractionRecord>> {
        let data: Option<String> =
            sqlx::query_scalar("SELECT data FROM interactions WHERE id = $1 AND expires_at > $2")
                .bind(id)
                .bind(now.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(data.map(|data| serde_json::from_str(&data)).transpose()?)
    }

    async fn take_interaction(&self, id: &str) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM interactions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted == 1)
    }

    async fn insert_code(&self, digest: &SecretDigest, code: &IssuedCode) -> Result<()> {
        sqlx::query("INSERT INTO authorization_codes (code_digest, data, grant_id, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(digest.as_str())
            .bind(serde_json::to_string(code)?)
            .bind(&code.grant_id)
            .bind(code.expires_at.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn consume_code(&self, digest: &SecretDigest, now: UnixTime) -> Result<Redemption> {
        // One statement: of two concurrent redemptions only one sees consumed_at IS NULL.
        let consumed: Option<String> = sqlx::query_scalar(
            "UPDATE authorization_codes SET consumed_at = $1 WHERE code_digest = $2 AND consumed_at IS NULL RETURNING data",
        )
        .bind(now.0)
        .bind(digest.as_str())
        .fetch_optional(&self.pool)
        .await?;
        if let Some(data) = consumed {
            return Ok(Redemption::Consumed(Box::new(serde_json::from_str(&data)?)));
        }
        let replayed: Option<String> =
            sqlx::query_scalar("SELECT grant_id FROM authorization_codes WHERE code_digest = $1")
                .bind(digest.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(match replayed {
            Some(grant_id) => Redemption::Replayed { grant_id },
            None => Redemption::Unknown,
        })
    }

    async fn insert_device(&self, record: &DeviceRecord) -> Result<()> {
        let grant = &record.grant;
        sqlx::query(
            "INSERT INTO device_codes (device_code_digest, user_code, client_id, scope, audience, status, interval_secs, expires_at)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)",
        )
        .bind(record.device_code_digest.as_str())
        .bind(&grant.user_code)
        .bind(grant.client_id.as_str())
        .bind(grant.scope.to_string())
        .bind(grant.resources.to_string())
        .bind(i64::try_from(grant.interval_secs).unwrap_or(i64::MAX))
        .bind(grant.expires_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn device_by_code(&self, digest: &SecretDigest) -> Result<Option<DeviceRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS} FROM device_codes WHERE device_code_digest = $1"
        )))
        .bind(digest.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn pending_device_by_user_code(
        &self,
        user_code: &str,
        now: UnixTime,
    ) -> Result<Option<DeviceRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS} FROM device_codes WHERE user_code = $1 AND status = 'pending' AND expires_at > $2"
        )))
        .bind(user_code)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn record_device_poll(
        &self,
        digest: &SecretDigest,
        now: UnixTime,
        interval_secs: u64,
    ) -> Result<()> {
        sqlx::query("UPDATE device_codes SET last_poll_at = $1, interval_secs = $2 WHERE device_code_digest = $3")
            .bind(now.0)
            .bind(i64::try_from(interval_secs).unwrap_or(i64::MAX))
            .bind(digest.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn decide_device(&self, user_code: &str, status: &DeviceStatus) -> Result<bool> {
        let (status, subject, auth_time) = match status {
            DeviceStatus::Approved(authentication) => (
                "approved",
                Some(authentication.subject.as_str().to_owned()),
                Some(authentication.auth_time.0),
            ),
            DeviceStatus::Denied => ("denied", None, None),
            DeviceStatus::Pending => ("pending", None, None),
        };
        let updated = sqlx::query(
            "UPDATE device_codes SET status = $1, subject = $2, auth_time = $3 WHERE user_code = $4 AND status = 'pending'",
        )
        .bind(status)
        .bind(subject)
        .bind(auth_time)
        .bind(user_code)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn take_device(&self, digest: &SecretDigest) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM device_codes WHERE device_code_digest = $1")
            .bind(digest.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted == 1)
    }

    async fn insert_pushed_request(
        &self,
        digest: &SecretDigest,
        client_id: &str,
        params: &[(String, String)],
        expires_at: UnixTime,
    ) -> Result<()> {
        sqlx::query("INSERT INTO pushed_requests (request_uri_digest, client_id, params, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(digest.as_str())
            .bind(client_id)
            .bind(serde_json::to_string(params)?)
            .bind(expires_at.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn take_pushed_request(
        &self,
        digest: &SecretDigest,
        client_id: &str,
        now: UnixTime,
    ) -> Result<Option<Vec<(String, String)>>> {
        let params: Option<String> = sqlx::query_scalar(
            "DELETE FROM pushed_requests WHERE request_uri_digest = $1 AND client_id = $2 AND expires_at > $3 RETURNING params",
        )
        .bind(digest.as_str())
        .bind(client_id)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(params
            .map(|params| serde_json::from_str(&params))
            .transpose()?)
    }
}

async fn insert_refresh<'e, E>(executor: E, record: &RefreshTokenRecord) -> Result<()>
where
    E: sqlx::Executor<'e, Database = $db>,
{
    sqlx::query(
        "INSERT INTO refresh_tokens (token_digest, family_id, client_id, subject, data, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(record.digest.as_str())
    .bind(&record.grant.grant_id)
    .bind(record.grant.client_id.as_str())
    .bind(record.grant.subject.as_str())
    .bind(serde_json::to_string(&record.grant)?)
    .bind(record.issued_at.0)
    .bind(record.expires_at.0)
    .execute(executor)
    .await?;
    Ok(())
}

        }
    };
}

pub(crate) use sql_backend;
