//! Loads the signing keys from the store at start-up, generating the first key of each
//! algorithm when none exists, and keeps what is published (JWKS) serialised once.

use std::sync::Arc;

use keys::{KeySet, KeyStatus, SigningAlg, SigningKey};

use crate::Error;
use crate::protocol::types::UnixTime;
use crate::store::{SigningKeyRecord, Store};

/// Reads every stored key; generates an active RS256, ES256 and EdDSA key when missing.
///
/// RSA generation is CPU work: it runs on the blocking pool.
pub async fn load_or_generate(store: &dyn Store, now: UnixTime) -> Result<KeySet, Error> {
    let mut records = store.signing_keys().await?;
    for alg in SigningAlg::ALL {
        let has_active = records
            .iter()
            .any(|record| record.alg == alg.as_str() && record.status == "active");
        if has_active {
            continue;
        }
        let key = tokio::task::spawn_blocking(move || SigningKey::generate(alg))
            .await
            .map_err(|err| Error::internal("generating a signing key", err))?
            .map_err(|err| Error::internal("generating a signing key", err))?;
        let record = SigningKeyRecord {
            kid: key.kid().to_string(),
            alg: alg.as_str().to_owned(),
            private_pem: key.to_pkcs8_pem(),
            status: "active".into(),
            created_at: now,
        };
        store.insert_signing_key(&record).await?;
        tracing::info!(target: "flow", "keys: generated a new {alg} signing key, kid {} (RFC 7638 thumbprint)", key.kid());
        records.push(record);
    }
    let mut entries = Vec::with_capacity(records.len());
    for record in records {
        let alg = SigningAlg::parse(&record.alg)
            .map_err(|err| Error::internal("loading signing keys", err))?;
        let key = SigningKey::from_pkcs8_pem(alg, &record.private_pem)
            .map_err(|err| Error::internal("loading signing keys", err))?;
        let status = match record.status.as_str() {
            "active" => KeyStatus::Active,
            "next" => KeyStatus::Next,
            _ => KeyStatus::Retired,
        };
        entries.push((Arc::new(key), status));
    }
    let key_set =
        KeySet::new(entries).map_err(|err| Error::internal("building the key set", err))?;
    tracing::info!(keys = ?key_set, "signing keys loaded");
    Ok(key_set)
}
