//! Secrets at rest: private signing keys and the server's HMAC secret are stored sealed with
//! AES-256-GCM under a key-encryption key (KEK) that never enters the database, so a copy of
//! the database (a backup, a replica, a stolen disk) does not hold usable keys.
//!
//! The KEK is 32 random bytes, base64url: in `OIDC_KEY_ENCRYPTION_KEY`, or in a file named by
//! `--key-encryption-key-file` (owner-only permissions). Serve mode requires one; dev mode
//! creates `key-encryption.key` beside its SQLite database. A sealed value is
//! `sealed:v1:<key id>:<base64url(nonce || ciphertext || tag)>`, with the record's name (a key's
//! `kid`) as additional authenticated data, so a sealed value cannot be moved to another record.
//! Values stored before sealing existed (PEM text) are read as they are and sealed at the next
//! start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The prefix of sealed values.
const PREFIX: &str = "sealed:v1:";

/// Why a value could not be opened or a key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The value was sealed under another KEK.
    #[error(
        "the value was sealed with another key-encryption key (id {0}); start with the KEK it was sealed with, or re-encrypt"
    )]
    WrongKey(String),
    /// The value is not a sealed value, or was changed.
    #[error("the sealed value is malformed or was tampered with")]
    Corrupt,
    /// The KEK itself is unusable.
    #[error("{0}")]
    Key(String),
}

/// The key-encryption key.
pub struct KeyEncryptionKey {
    key: RandomizedNonceKey,
    id: String,
}

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyEncryptionKey(id {})", self.id)
    }
}

impl KeyEncryptionKey {
    /// A KEK from its base64url text (32 bytes).
    pub fn from_text(text: &str) -> Result<Self, SealError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim().trim_end_matches('='))
            .map_err(|_| SealError::Key("the key-encryption key is not base64url".into()))?;
        if bytes.len() != 32 {
            return Err(SealError::Key(format!(
                "the key-encryption key has {} bytes; it needs 32 (generate one with: head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')",
                bytes.len()
            )));
        }
        let key = RandomizedNonceKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| SealError::Key("the key-encryption key is unusable".into()))?;
        let digest = Sha256::digest(&bytes);
        let id = digest
            .iter()
            .take(4)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Ok(KeyEncryptionKey { key, id })
    }

    /// 32 random bytes as base64url: a new KEK's text.
    pub fn generate_text(random: [u8; 32]) -> String {
        URL_SAFE_NO_PAD.encode(random)
    }

    /// Reads a KEK file, refusing one that others may read.
    pub fn from_file(path: &Path) -> Result<Self, SealError> {
        check_private(path).map_err(SealError::Key)?;
        let text = std::fs::read_to_string(path)
            .map_err(|err| SealError::Key(format!("{}: {err}", path.display())))?;
        Self::from_text(&text)
    }

    /// The KEK file, created (owner-only) with `random` when missing: dev mode's.
    pub fn from_file_or_create(path: &Path, random: [u8; 32]) -> Result<Self, SealError> {
        if !path.exists() {
            write_private(path, &Self::generate_text(random))
                .map_err(|err| SealError::Key(format!("{}: {err}", path.display())))?;
            tracing::info!(path = %path.display(), "created a key-encryption key for dev mode");
        }
        Self::from_file(path)
    }

    /// A short id of the key (the first bytes of its digest), stored with sealed values.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals `plaintext` for the record `name`.
    pub fn seal(&self, name: &str, plaintext: &str) -> Result<String, SealError> {
        let mut in_out = plaintext.as_bytes().to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(name.as_bytes()), &mut in_out)
            .map_err(|_| SealError::Key("sealing failed".into()))?;
        let mut stored = nonce.as_ref().to_vec();
        stored.extend_from_slice(&in_out);
        Ok(format!(
            "{PREFIX}{}:{}",
            self.id,
            URL_SAFE_NO_PAD.encode(stored)
        ))
    }

    /// Opens a value sealed for the record `name`. Unsealed (legacy) values are returned as
    /// they are, with `false` (the caller seals them).
    pub fn open(&self, name: &str, stored: &str) -> Result<(String, bool), SealError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok((stored.to_owned(), false));
        };
        let (id, data) = rest.split_once(':').ok_or(SealError::Corrupt)?;
        if id != self.id {
            return Err(SealError::WrongKey(id.to_owned()));
        }
        let mut bytes = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| SealError::Corrupt)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Corrupt);
        }
        let mut ciphertext = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| SealError::Corrupt)?;
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(name.as_bytes()), &mut ciphertext)
            .map_err(|_| SealError::Corrupt)?;
        let text = String::from_utf8(plaintext.to_vec()).map_err(|_| SealError::Corrupt)?;
        Ok((text, true))
    }
}

/// Where a node finds its KEK.
#[derive(Clone, Debug)]
pub enum KekSource {
    /// Given directly (`OIDC_KEY_ENCRYPTION_KEY`).
    Key(Arc<KeyEncryptionKey>),
    /// A file the operator made (`--key-encryption-key-file`).
    File(PathBuf),
    /// Dev mode's file, created on first use.
    CreateAt(PathBuf),
}

impl KekSource {
    /// From the settings: the key text wins over a file; without either, dev mode creates a
    /// file beside its database and everything else is refused with how to make one.
    pub fn choose(
        text: Option<&str>,
        file: Option<PathBuf>,
        dev_default: Option<PathBuf>,
    ) -> Result<Self, String> {
        match (text, file, dev_default) {
            (Some(text), _, _) => Ok(KekSource::Key(Arc::new(
                KeyEncryptionKey::from_text(text)
                    .map_err(|err| format!("OIDC_KEY_ENCRYPTION_KEY: {err}"))?,
            ))),
            (None, Some(path), _) => Ok(KekSource::File(path)),
            (None, None, Some(path)) => Ok(KekSource::CreateAt(path)),
            (None, None, None) => Err(MISSING.into()),
        }
    }

    /// The KEK (reading or creating its file).
    pub fn load(&self, random: [u8; 32]) -> Result<Arc<KeyEncryptionKey>, SealError> {
        match self {
            KekSource::Key(key) => Ok(Arc::clone(key)),
            KekSource::File(path) => Ok(Arc::new(KeyEncryptionKey::from_file(path)?)),
            KekSource::CreateAt(path) => Ok(Arc::new(KeyEncryptionKey::from_file_or_create(
                path, random,
            )?)),
        }
    }
}

/// What to do without a KEK.
pub const MISSING: &str = "private keys are sealed at rest with a key-encryption key: set OIDC_KEY_ENCRYPTION_KEY or --key-encryption-key-file (make one with: provider keys new-kek > kek.txt && chmod 600 kek.txt)";

/// Whether a stored value is sealed.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// Writes a file only its owner can read (0600), failing if it exists.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        create_private_dir(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Creates a directory only its owner can enter (0700), if missing.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Refuses a file (or directory) that group or others may read or write, saying how to fix it.
pub fn check_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata =
            std::fs::metadata(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            let wanted = if metadata.is_dir() { "700" } else { "600" };
            return Err(format!(
                "{} is readable by others (mode {mode:o}); it holds key material: run chmod {wanted} {}",
                path.display(),
                path.display()
            ));
        }
    }
    Ok(())
}

/// Where dev mode keeps its KEK: beside the SQLite file, or in `./data` for other databases.
pub fn dev_key_path(database_file: Option<&Path>) -> PathBuf {
    let directory = database_file
        .and_then(Path::parent)
        .filter(|parent| !parent.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("data"), Path::to_path_buf);
    directory.join("key-encryption.key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(byte: u8) -> KeyEncryptionKey {
        KeyEncryptionKey::from_text(&KeyEncryptionKey::generate_text([byte; 32])).unwrap()
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_record() {
        let key = kek(1);
        let sealed = key
            .seal("kid-1", "-----BEGIN PRIVATE KEY-----\nabc\n")
            .unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("BEGIN"), "{sealed}");
        assert_eq!(
            key.open("kid-1", &sealed).unwrap(),
            ("-----BEGIN PRIVATE KEY-----\nabc\n".to_owned(), true)
        );
        assert!(
            matches!(key.open("kid-2", &sealed), Err(SealError::Corrupt)),
            "another record"
        );
        assert!(matches!(
            kek(2).open("kid-1", &sealed),
            Err(SealError::WrongKey(_))
        ));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(key.open("kid-1", &tampered).is_err(), "a changed byte");
        assert_ne!(
            key.seal("kid-1", "x").unwrap(),
            key.seal("kid-1", "x").unwrap(),
            "a fresh nonce each time"
        );
        // PEM stored before sealing existed is read as it is, flagged for sealing.
        assert_eq!(
            key.open("kid-1", "-----BEGIN PRIVATE KEY-----").unwrap(),
            ("-----BEGIN PRIVATE KEY-----".to_owned(), false)
        );
    }

    #[test]
    fn key_texts_are_checked() {
        assert!(KeyEncryptionKey::from_text("too-short").is_err());
        assert!(KeyEncryptionKey::from_text("not base64 at all !!!").is_err());
        let text = KeyEncryptionKey::generate_text([9; 32]);
        assert_eq!(
            KeyEncryptionKey::from_text(&format!("{text}\n"))
                .unwrap()
                .id()
                .len(),
            8
        );
        assert!(!format!("{:?}", kek(1)).contains(&text));
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_private_and_refused_otherwise() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("key-encryption.key");
        let first = KeyEncryptionKey::from_file_or_create(&path, [3; 32]).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        let again = KeyEncryptionKey::from_file_or_create(&path, [4; 32]).unwrap();
        assert_eq!(first.id(), again.id(), "an existing key is kept");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = KeyEncryptionKey::from_file(&path).unwrap_err().to_string();
        assert!(refused.contains("chmod 600"), "{refused}");
    }
}
