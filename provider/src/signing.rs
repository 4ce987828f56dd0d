//! Signing keys: loaded from the store at start-up (the first key of each algorithm is
//! generated when none exists) and rotated on a schedule that never surprises a cache:
//!
//! 1. `provider keys rotate` (or the automatic interval) adds a `next` key. It is published in
//!    the JWKS at once but does not sign yet.
//! 2. After the JWKS cache lifetime ([`JWKS_MAX_AGE_SECS`]) plus a margin, the `next` key becomes
//!    `active` and the previous active key becomes `retired`: still published, no longer signing.
//! 3. A retired key leaves the JWKS once every token it signed has expired.
//!
//! Every node applies the schedule and reloads the keys from the store, so a cluster converges.

use std::sync::Arc;

use keys::{KeySet, KeyStatus, SigningAlg, SigningKey};

use crate::Error;
use crate::protocol::types::UnixTime;
use crate::store::{KeyStore, SigningKeyRecord};

/// `Cache-Control: max-age` of the JWKS and discovery documents.
pub const JWKS_MAX_AGE_SECS: u64 = 300;
/// A new key signs only after every cache has had the chance to fetch it.
pub const PUBLISH_BEFORE_USE_SECS: u64 = JWKS_MAX_AGE_SECS + 60;
/// Clock-skew allowance added before a retired key is removed.
const REMOVAL_MARGIN_SECS: u64 = 120;

/// The rotation policy.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// Automatic rotation interval (None: only `provider keys rotate`).
    pub rotation_interval: Option<u64>,
    /// The longest lifetime of a token signed by these keys.
    pub max_token_lifetime: u64,
}

/// What the store holds, as (kid, status) pairs: to notice changes cheaply.
pub fn fingerprint(records: &[SigningKeyRecord]) -> Vec<(String, &'static str)> {
    let mut pairs: Vec<(String, &'static str)> = records
        .iter()
        .map(|record| (record.kid.clone(), record.status.as_str()))
        .collect();
    pairs.sort();
    pairs
}

/// The same pairs for a loaded key set.
pub fn fingerprint_of(keys: &KeySet) -> Vec<(String, &'static str)> {
    let mut pairs: Vec<(String, &'static str)> = keys
        .entries()
        .map(|(key, status)| (key.kid().to_string(), status.as_str()))
        .collect();
    pairs.sort();
    pairs
}

async fn generate(alg: SigningAlg) -> Result<SigningKey, Error> {
    tokio::task::spawn_blocking(move || SigningKey::generate(alg))
        .await
        .map_err(|err| Error::internal("generating a signing key", err))?
        .map_err(|err| Error::internal("generating a signing key", err))
}

/// Reads every stored key; generates an active RS256, ES256 and EdDSA key when missing.
///
/// RSA generation is CPU work: it runs on the blocking pool.
pub async fn load_or_generate(store: &dyn KeyStore, now: UnixTime) -> Result<KeySet, Error> {
    let mut records = store.signing_keys().await?;
    for alg in SigningAlg::ALL {
        let has_active = records
            .iter()
            .any(|record| record.alg == alg && record.status == KeyStatus::Active);
        if has_active {
            continue;
        }
        let key = generate(alg).await?;
        let record = SigningKeyRecord {
            kid: key.kid().to_string(),
            alg,
            private_pem: key.to_pkcs8_pem(),
            status: KeyStatus::Active,
            created_at: now,
            activate_at: None,
            remove_at: None,
        };
        store.insert_signing_key(&record).await?;
        tracing::info!(target: "flow", "keys: generated a new {alg} signing key, kid {} (RFC 7638 thumbprint)", key.kid());
        records.push(record);
    }
    // The store's order (creation time, then kid), so every node publishes the same JWKS
    // whether it generated the keys or loaded them.
    records
        .sort_by(|left, right| (left.created_at, &left.kid).cmp(&(right.created_at, &right.kid)));
    let mut entries = Vec::with_capacity(records.len());
    for record in records {
        let key = SigningKey::from_pkcs8_pem(record.alg, &record.private_pem)
            .map_err(|err| Error::internal("loading signing keys", err))?;
        entries.push((Arc::new(key), record.status));
    }
    let key_set =
        KeySet::new(entries).map_err(|err| Error::internal("building the key set", err))?;
    tracing::info!(keys = ?key_set, "signing keys loaded");
    Ok(key_set)
}

/// Adds a `next` key for `alg`: published now, signing after [`PUBLISH_BEFORE_USE_SECS`].
pub async fn rotate(
    store: &dyn KeyStore,
    alg: SigningAlg,
    now: UnixTime,
) -> Result<SigningKeyRecord, Error> {
    let key = generate(alg).await?;
    let record = SigningKeyRecord {
        kid: key.kid().to_string(),
        alg,
        private_pem: key.to_pkcs8_pem(),
        status: KeyStatus::Next,
        created_at: now,
        activate_at: Some(now.plus(PUBLISH_BEFORE_USE_SECS)),
        remove_at: None,
    };
    store.insert_signing_key(&record).await?;
    tracing::info!(target: "flow", "keys: new {alg} key {} published; it starts signing in {PUBLISH_BEFORE_USE_SECS} s", record.kid);
    Ok(record)
}

/// Promotes due `next` keys, retires what they replace, removes expired retired keys, and
/// (with an interval) starts a rotation when the active key is old enough. Returns whether it
/// changed anything (then the other nodes should reload their keys).
pub async fn apply_schedule(
    store: &dyn KeyStore,
    schedule: &Schedule,
    now: UnixTime,
) -> Result<bool, Error> {
    let records = store.signing_keys().await?;
    let mut changed = false;
    for alg in SigningAlg::ALL {
        let of_alg: Vec<&SigningKeyRecord> =
            records.iter().filter(|record| record.alg == alg).collect();
        let due_next = of_alg
            .iter()
            .filter(|record| {
                record.status == KeyStatus::Next && record.activate_at.is_some_and(|at| at <= now)
            })
            .max_by_key(|record| record.created_at);
        if let Some(next) = due_next {
            for active in of_alg
                .iter()
                .filter(|record| record.status == KeyStatus::Active)
            {
                let mut retired = (*active).clone();
                retired.status = KeyStatus::Retired;
                retired.remove_at =
                    Some(now.plus(schedule.max_token_lifetime + REMOVAL_MARGIN_SECS));
                store.update_signing_key(&retired).await?;
                tracing::info!(target: "flow", "keys: {alg} key {} retired: published until its tokens expire", retired.kid);
            }
            let mut promoted = (*next).clone();
            promoted.status = KeyStatus::Active;
            promoted.activate_at = None;
            store.update_signing_key(&promoted).await?;
            changed = true;
            tracing::info!(target: "flow", "keys: {alg} key {} now signs new tokens", promoted.kid);
        }
        for retired in of_alg.iter().filter(|record| {
            record.status == KeyStatus::Retired && record.remove_at.is_some_and(|at| at <= now)
        }) {
            store.delete_signing_key(&retired.kid).await?;
            changed = true;
            tracing::info!(target: "flow", "keys: {alg} key {} removed from the JWKS: every token it signed has expired", retired.kid);
        }
        if let Some(interval) = schedule.rotation_interval {
            let active_is_old = of_alg
                .iter()
                .filter(|record| record.status == KeyStatus::Active)
                .all(|record| record.created_at.plus(interval) <= now);
            let has_next = of_alg.iter().any(|record| record.status == KeyStatus::Next);
            let has_active = of_alg
                .iter()
                .any(|record| record.status == KeyStatus::Active);
            if active_is_old && !has_next && has_active {
                rotate(store, alg, now).await?;
                changed = true;
            }
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::KeyStore;
    use crate::store::sqlite::SqliteStore;

    const T0: UnixTime = UnixTime(1_000_000);

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        keys::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.db");
        let url = format!("sqlite://{}", path.display());
        (dir, SqliteStore::open(&url, Some(&path)).await.unwrap())
    }

    /// The statuses of one algorithm's keys, sorted.
    fn statuses(records: &[SigningKeyRecord], alg: &str) -> Vec<&'static str> {
        let mut statuses: Vec<&'static str> = records
            .iter()
            .filter(|record| record.alg.as_str() == alg)
            .map(|record| record.status.as_str())
            .collect();
        statuses.sort();
        statuses
    }

    #[tokio::test]
    async fn first_start_generates_one_active_key_per_algorithm_and_reloads_them() {
        let (_dir, store) = store().await;
        let first = load_or_generate(&store, T0).await.unwrap();
        assert_eq!(first.active_algorithms(), SigningAlg::ALL.to_vec());
        let second = load_or_generate(&store, T0).await.unwrap();
        assert_eq!(
            fingerprint_of(&first),
            fingerprint_of(&second),
            "keys persist across restarts"
        );
        assert_eq!(
            fingerprint(&store.signing_keys().await.unwrap()),
            fingerprint_of(&second)
        );
    }

    #[tokio::test]
    async fn rotation_publishes_before_use_and_retires_after_expiry() {
        let (_dir, store) = store().await;
        let schedule = Schedule {
            rotation_interval: None,
            max_token_lifetime: 600,
        };
        let initial = load_or_generate(&store, T0).await.unwrap();
        let old_kid = initial.active(SigningAlg::ES256).unwrap().kid().to_string();
        let next = rotate(&store, SigningAlg::ES256, T0).await.unwrap();
        // Published at once, not signing yet.
        let keys = load_or_generate(&store, T0).await.unwrap();
        assert_eq!(
            keys.active(SigningAlg::ES256).unwrap().kid().to_string(),
            old_kid
        );
        assert!(
            keys.jwks().find(&next.kid).is_some(),
            "the next key is in the JWKS before it signs"
        );
        // Before the publish-before-use delay nothing changes.
        apply_schedule(&store, &schedule, T0.plus(PUBLISH_BEFORE_USE_SECS - 1))
            .await
            .unwrap();
        assert_eq!(
            statuses(&store.signing_keys().await.unwrap(), "ES256"),
            ["active", "next"]
        );
        // After it, the next key signs and the old one is retired but still published.
        let promoted_at = T0.plus(PUBLISH_BEFORE_USE_SECS);
        apply_schedule(&store, &schedule, promoted_at)
            .await
            .unwrap();
        let keys = load_or_generate(&store, promoted_at).await.unwrap();
        assert_eq!(
            keys.active(SigningAlg::ES256).unwrap().kid().to_string(),
            next.kid
        );
        assert!(
            keys.jwks().find(&old_kid).is_some(),
            "the retired key verifies tokens it signed"
        );
        let old_token = initial
            .active(SigningAlg::ES256)
            .unwrap()
            .sign("JWT", &serde_json::json!({"sub": "x"}))
            .unwrap();
        let mut validation = keys::Validation::new(SigningAlg::ES256.jwt_algorithm());
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        assert!(
            keys.verify::<serde_json::Value>(&old_token, &validation)
                .is_ok()
        );
        // Once every token it signed has expired, the retired key leaves the JWKS.
        apply_schedule(
            &store,
            &schedule,
            promoted_at.plus(600 + REMOVAL_MARGIN_SECS - 1),
        )
        .await
        .unwrap();
        assert!(
            store
                .signing_keys()
                .await
                .unwrap()
                .iter()
                .any(|record| record.kid == old_kid)
        );
        apply_schedule(
            &store,
            &schedule,
            promoted_at.plus(600 + REMOVAL_MARGIN_SECS),
        )
        .await
        .unwrap();
        assert!(
            !store
                .signing_keys()
                .await
                .unwrap()
                .iter()
                .any(|record| record.kid == old_kid)
        );
        // Other algorithms were untouched.
        assert_eq!(
            statuses(&store.signing_keys().await.unwrap(), "RS256"),
            ["active"]
        );
    }

    #[tokio::test]
    async fn the_interval_starts_a_rotation_when_the_active_key_is_old() {
        let (_dir, store) = store().await;
        let schedule = Schedule {
            rotation_interval: Some(86_400),
            max_token_lifetime: 600,
        };
        load_or_generate(&store, T0).await.unwrap();
        apply_schedule(&store, &schedule, T0.plus(86_399))
            .await
            .unwrap();
        assert_eq!(
            statuses(&store.signing_keys().await.unwrap(), "EdDSA"),
            ["active"]
        );
        apply_schedule(&store, &schedule, T0.plus(86_400))
            .await
            .unwrap();
        assert_eq!(
            statuses(&store.signing_keys().await.unwrap(), "EdDSA"),
            ["active", "next"]
        );
        // A second pass does not stack another next key.
        apply_schedule(&store, &schedule, T0.plus(86_401))
            .await
            .unwrap();
        assert_eq!(
            statuses(&store.signing_keys().await.unwrap(), "EdDSA"),
            ["active", "next"]
        );
    }
}
