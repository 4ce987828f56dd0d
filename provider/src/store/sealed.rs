//! A [`KeyStore`] decorator that keeps private key material sealed at rest: signing keys and
//! server secrets are sealed with the key-encryption key on the way in and opened on the way
//! out, so every backend stores only ciphertext and no caller handles the KEK.
//!
//! Values written before sealing existed (plain PEM, plain secrets) are read as they are and
//! sealed in place the first time they are read.

use std::sync::Arc;

use async_trait::async_trait;

use crate::protocol::types::UnixTime;
use crate::sealing::KeyEncryptionKey;
use crate::store::{KeyStore, Result, SigningKeyRecord};

/// Sealing in front of a backend's key store.
pub struct SealedKeys {
    inner: Arc<dyn KeyStore>,
    kek: Arc<KeyEncryptionKey>,
}

impl SealedKeys {
    /// Seals what goes into `inner` with `kek`.
    pub fn new(inner: Arc<dyn KeyStore>, kek: Arc<KeyEncryptionKey>) -> Self {
        SealedKeys { inner, kek }
    }
}

#[async_trait]
impl KeyStore for SealedKeys {
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        let mut records = self.inner.signing_keys().await?;
        for record in &mut records {
            let (pem, was_sealed) = self.kek.open(&record.kid, &record.private_pem)?;
            if !was_sealed {
                let sealed = self.kek.seal(&record.kid, &pem)?;
                self.inner
                    .replace_key_material(&record.kid, &sealed)
                    .await?;
                tracing::info!(kid = %record.kid, "sealed a signing key stored before encryption at rest");
            }
            record.private_pem = pem;
        }
        Ok(records)
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        let mut sealed = key.clone();
        sealed.private_pem = self.kek.seal(&key.kid, &key.private_pem)?;
        self.inner.insert_signing_key(&sealed).await
    }

    async fn update_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        // Status and schedule only: the material is not written.
        self.inner.update_signing_key(key).await
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<()> {
        self.inner.delete_signing_key(kid).await
    }

    async fn replace_key_material(&self, kid: &str, private_pem: &str) -> Result<()> {
        let sealed = self.kek.seal(kid, private_pem)?;
        self.inner.replace_key_material(kid, &sealed).await
    }

    async fn server_secret(&self, name: &str, candidate: &str, now: UnixTime) -> Result<String> {
        let sealed = self.kek.seal(name, candidate)?;
        let stored = self.inner.server_secret(name, &sealed, now).await?;
        let (value, was_sealed) = self.kek.open(name, &stored)?;
        if !was_sealed {
            self.replace_server_secret(name, &value).await?;
            tracing::info!(
                name,
                "sealed a server secret stored before encryption at rest"
            );
        }
        Ok(value)
    }

    async fn replace_server_secret(&self, name: &str, value: &str) -> Result<()> {
        let sealed = self.kek.seal(name, value)?;
        self.inner.replace_server_secret(name, &sealed).await
    }

    async fn read_server_secret(&self, name: &str) -> Result<Option<String>> {
        match self.inner.read_server_secret(name).await? {
            Some(stored) => Ok(Some(self.kek.open(name, &stored)?.0)),
            None => Ok(None),
        }
    }
}

/// Re-seals every signing key and server secret from `old` to `new`, in place: how an operator
/// rotates the key-encryption key (`provider keys reencrypt`). Returns how many values it
/// re-sealed. Values already sealed under `new` are left alone, so an interrupted run can be
/// repeated.
pub async fn reencrypt(
    raw: &dyn KeyStore,
    old: &KeyEncryptionKey,
    new: &KeyEncryptionKey,
    secret_names: &[&str],
) -> Result<usize> {
    let mut count = 0;
    for record in raw.signing_keys().await? {
        if new
            .open(&record.kid, &record.private_pem)
            .is_ok_and(|(_, sealed)| sealed)
        {
            continue;
        }
        let (pem, _) = old.open(&record.kid, &record.private_pem)?;
        raw.replace_key_material(&record.kid, &new.seal(&record.kid, &pem)?)
            .await?;
        count += 1;
    }
    for name in secret_names {
        let Some(stored) = raw.read_server_secret(name).await? else {
            continue;
        };
        if new.open(name, &stored).is_ok_and(|(_, sealed)| sealed) {
            continue;
        }
        let (value, _) = old.open(name, &stored)?;
        raw.replace_server_secret(name, &new.seal(name, &value)?)
            .await?;
        count += 1;
    }
    Ok(count)
}

/// The key store of a command started without the key-encryption key: it lists keys (without
/// their material) and changes their schedule, and refuses anything that needs the material.
pub struct LockedKeys {
    inner: Arc<dyn KeyStore>,
}

impl LockedKeys {
    /// Locks `inner`.
    pub fn new(inner: Arc<dyn KeyStore>) -> Self {
        LockedKeys { inner }
    }
}

fn locked() -> crate::store::Error {
    crate::store::Error::Sealed(crate::sealing::SealError::Key(
        crate::sealing::MISSING.to_owned(),
    ))
}

#[async_trait]
impl KeyStore for LockedKeys {
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        let mut records = self.inner.signing_keys().await?;
        for record in &mut records {
            record.private_pem.clear();
        }
        Ok(records)
    }

    async fn insert_signing_key(&self, _key: &SigningKeyRecord) -> Result<()> {
        Err(locked())
    }

    async fn update_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        self.inner.update_signing_key(key).await
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<()> {
        self.inner.delete_signing_key(kid).await
    }

    async fn replace_key_material(&self, _kid: &str, _private_pem: &str) -> Result<()> {
        Err(locked())
    }

    async fn server_secret(&self, _name: &str, _candidate: &str, _now: UnixTime) -> Result<String> {
        Err(locked())
    }

    async fn replace_server_secret(&self, _name: &str, _value: &str) -> Result<()> {
        Err(locked())
    }

    async fn read_server_secret(&self, _name: &str) -> Result<Option<String>> {
        Err(locked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sealing::KeyEncryptionKey;
    use crate::store::sqlite::SqliteStore;
    use keys::{KeyStatus, SigningAlg};

    fn kek(byte: u8) -> Arc<KeyEncryptionKey> {
        Arc::new(KeyEncryptionKey::from_text(&KeyEncryptionKey::generate_text([byte; 32])).unwrap())
    }

    async fn raw_store() -> (tempfile::TempDir, Arc<dyn KeyStore>) {
        keys::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sealed.db");
        let url = format!("sqlite://{}", path.display());
        (
            dir,
            Arc::new(SqliteStore::open(&url, Some(&path)).await.unwrap()),
        )
    }

    fn record(kid: &str, pem: &str) -> SigningKeyRecord {
        SigningKeyRecord {
            kid: kid.into(),
            alg: SigningAlg::ES256,
            private_pem: pem.into(),
            status: KeyStatus::Active,
            created_at: UnixTime(1),
            activate_at: None,
            remove_at: None,
        }
    }

    #[tokio::test]
    async fn the_database_holds_only_sealed_material_and_the_callers_only_plaintext() {
        let (_dir, raw) = raw_store().await;
        let sealed = SealedKeys::new(Arc::clone(&raw), kek(1));
        sealed
            .insert_signing_key(&record("k1", "-----BEGIN PRIVATE KEY-----\nAAA\n"))
            .await
            .unwrap();
        let stored = raw.signing_keys().await.unwrap();
        assert!(
            stored[0].private_pem.starts_with("sealed:v1:"),
            "{}",
            stored[0].private_pem
        );
        assert!(!stored[0].private_pem.contains("BEGIN"));
        assert_eq!(
            sealed.signing_keys().await.unwrap()[0].private_pem,
            "-----BEGIN PRIVATE KEY-----\nAAA\n"
        );

        let secret = sealed
            .server_secret("hmac-sha256", "first", UnixTime(1))
            .await
            .unwrap();
        assert_eq!(secret, "first");
        assert_eq!(
            sealed
                .server_secret("hmac-sha256", "second", UnixTime(2))
                .await
                .unwrap(),
            "first",
            "the first value stays"
        );
        let stored = raw
            .read_server_secret("hmac-sha256")
            .await
            .unwrap()
            .unwrap();
        assert!(stored.starts_with("sealed:v1:") && !stored.contains("first"));

        // Another KEK cannot open them, and says which key sealed them.
        let other = SealedKeys::new(Arc::clone(&raw), kek(2));
        let refused = other.signing_keys().await.unwrap_err().to_string();
        assert!(refused.contains("another key-encryption key"), "{refused}");
        assert!(
            other
                .server_secret("hmac-sha256", "x", UnixTime(3))
                .await
                .is_err()
        );
        // Moving a sealed value to another record does not open (the kid is authenticated).
        let moved = raw.signing_keys().await.unwrap()[0].private_pem.clone();
        raw.insert_signing_key(&record("k2", &moved)).await.unwrap();
        assert!(sealed.signing_keys().await.is_err());
    }

    #[tokio::test]
    async fn material_stored_before_sealing_is_sealed_when_first_read() {
        let (_dir, raw) = raw_store().await;
        raw.insert_signing_key(&record("legacy", "-----BEGIN PRIVATE KEY-----\nOLD\n"))
            .await
            .unwrap();
        raw.server_secret("hmac-sha256", "plain-secret", UnixTime(1))
            .await
            .unwrap();
        let sealed = SealedKeys::new(Arc::clone(&raw), kek(1));
        assert_eq!(
            sealed.signing_keys().await.unwrap()[0].private_pem,
            "-----BEGIN PRIVATE KEY-----\nOLD\n"
        );
        assert_eq!(
            sealed
                .server_secret("hmac-sha256", "new", UnixTime(2))
                .await
                .unwrap(),
            "plain-secret"
        );
        assert!(
            raw.signing_keys().await.unwrap()[0]
                .private_pem
                .starts_with("sealed:v1:")
        );
        assert!(
            raw.read_server_secret("hmac-sha256")
                .await
                .unwrap()
                .unwrap()
                .starts_with("sealed:v1:")
        );
        assert_eq!(
            sealed.signing_keys().await.unwrap()[0].private_pem,
            "-----BEGIN PRIVATE KEY-----\nOLD\n"
        );
    }

    #[tokio::test]
    async fn reencryption_moves_everything_to_the_new_key_and_can_be_repeated() {
        let (_dir, raw) = raw_store().await;
        let (old, new) = (kek(1), kek(2));
        let before = SealedKeys::new(Arc::clone(&raw), Arc::clone(&old));
        before
            .insert_signing_key(&record("k1", "PEM-1"))
            .await
            .unwrap();
        before
            .insert_signing_key(&record("k2", "PEM-2"))
            .await
            .unwrap();
        before
            .server_secret("hmac-sha256", "secret", UnixTime(1))
            .await
            .unwrap();
        let names = ["hmac-sha256", "never-stored"];
        assert_eq!(
            reencrypt(raw.as_ref(), &old, &new, &names).await.unwrap(),
            3
        );
        assert_eq!(
            reencrypt(raw.as_ref(), &old, &new, &names).await.unwrap(),
            0,
            "repeatable"
        );
        let after = SealedKeys::new(Arc::clone(&raw), Arc::clone(&new));
        let pems: Vec<String> = after
            .signing_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.private_pem)
            .collect();
        assert_eq!(pems, ["PEM-1", "PEM-2"]);
        assert_eq!(
            after
                .read_server_secret("hmac-sha256")
                .await
                .unwrap()
                .as_deref(),
            Some("secret")
        );
        assert!(
            before.signing_keys().await.is_err(),
            "the old key no longer opens them"
        );
        // A third key cannot re-encrypt what it cannot open.
        assert!(
            reencrypt(raw.as_ref(), &kek(3), &kek(4), &names)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn without_the_key_keys_are_listed_but_never_written_or_opened() {
        let (_dir, raw) = raw_store().await;
        SealedKeys::new(Arc::clone(&raw), kek(1))
            .insert_signing_key(&record("k1", "PEM"))
            .await
            .unwrap();
        let locked = LockedKeys::new(Arc::clone(&raw));
        let listed = locked.signing_keys().await.unwrap();
        assert_eq!(
            (listed[0].kid.as_str(), listed[0].private_pem.as_str()),
            ("k1", "")
        );
        let refused = locked
            .insert_signing_key(&record("k2", "PEM"))
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains("OIDC_KEY_ENCRYPTION_KEY"), "{refused}");
        assert!(
            locked
                .server_secret("hmac-sha256", "x", UnixTime(1))
                .await
                .is_err()
        );
        assert_eq!(raw.signing_keys().await.unwrap().len(), 1);
    }
}
