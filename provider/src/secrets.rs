//! The server's own HMAC key, shared by every node through the database: it signs what the
//! provider hands to browsers and must recognise later (device cookies, logout confirmations).
//!
//! HMAC-SHA256 with aws-lc-rs (the workspace's one crypto backend); each use names its purpose,
//! so a value signed for one purpose never verifies for another.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::protocol::types::UnixTime;
use crate::store::KeyStore;

/// Every server secret's name (re-encryption walks them).
pub const SECRET_NAMES: &[&str] = &[HMAC_SECRET];

/// The prefix of values sealed by [`ServerSecret::seal`].
const SEALED_PREFIX: &str = "sv1:";

/// The name of the HMAC key in the `server_secrets` table.
const HMAC_SECRET: &str = "hmac-sha256";

/// The server's HMAC key.
pub struct ServerSecret(hmac::Key);

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret([redacted])")
    }
}

impl ServerSecret {
    /// The key stored in the database, created from `random` by the first node that starts.
    pub async fn load(
        keys: &dyn KeyStore,
        random: [u8; 32],
        now: UnixTime,
    ) -> Result<Self, crate::store::Error> {
        let candidate = URL_SAFE_NO_PAD.encode(random);
        let stored = keys.server_secret(HMAC_SECRET, &candidate, now).await?;
        let bytes = URL_SAFE_NO_PAD
            .decode(stored)
            .map_err(|_| crate::store::Error::Invalid("server secret"))?;
        Ok(ServerSecret::from_bytes(&bytes))
    }

    /// A key from raw bytes (tests).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        ServerSecret(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    fn input(purpose: &str, message: &[u8]) -> Vec<u8> {
        let mut input = Vec::with_capacity(purpose.len() + 1 + message.len());
        input.extend_from_slice(purpose.as_bytes());
        input.push(0);
        input.extend_from_slice(message);
        input
    }

    /// The tag of `message` for `purpose`, base64url.
    pub fn sign(&self, purpose: &str, message: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, &Self::input(purpose, message)))
    }

    /// The secret of a `client_secret_jwt` client: derived from this key, the client id and
    /// the client's `secret_derivation`, so HS256 assertions can be checked without storing
    /// a recoverable secret (a new derivation input rotates it).
    pub fn client_jwt_secret(&self, client_id: &str, derivation: &str) -> String {
        self.sign(
            "client_secret_jwt",
            format!("{client_id}\n{derivation}").as_bytes(),
        )
    }

    /// AES-256-GCM under a key derived from this one (users' TOTP secrets): a copy of the
    /// database alone cannot read them, since this key is itself sealed under the KEK. `name`
    /// (the user) is the additional data, so a value cannot be moved to another user.
    /// `nonce` must be fresh random bytes.
    pub fn seal(&self, name: &str, plaintext: &[u8], nonce: [u8; 12]) -> Option<String> {
        use aws_lc_rs::aead::{Aad, Nonce};
        let key = self.sealing_key()?;
        let mut sealed = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(name.as_bytes()),
            &mut sealed,
        )
        .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Opens a value made by [`ServerSecret::seal`] for `name`.
    pub fn open(&self, name: &str, sealed: &str) -> Option<Vec<u8>> {
        use aws_lc_rs::aead::{Aad, NONCE_LEN, Nonce};
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed.strip_prefix(SEALED_PREFIX)?)
            .ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let key = self.sealing_key()?;
        let plain = key
            .open_in_place(nonce, Aad::from(name.as_bytes()), &mut buffer)
            .ok()?;
        Some(plain.to_vec())
    }

    fn sealing_key(&self) -> Option<aws_lc_rs::aead::LessSafeKey> {
        use aws_lc_rs::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
        let derived = hmac::sign(&self.0, b"user-secret-sealing-key\0v1");
        UnboundKey::new(&AES_256_GCM, derived.as_ref())
            .ok()
            .map(LessSafeKey::new)
    }

    /// Constant-time check of a tag made by [`ServerSecret::sign`].
    pub fn verify(&self, purpose: &str, message: &[u8], tag: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        hmac::verify(&self.0, &Self::input(purpose, message), &tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_user_secrets_open_only_for_their_user() {
        let secret = ServerSecret::from_bytes(&[1; 32]);
        let sealed = secret.seal("alice", b"totp secret", [9; 12]).unwrap();
        assert!(sealed.starts_with("sv1:") && !sealed.contains("totp"));
        assert_eq!(secret.open("alice", &sealed).unwrap(), b"totp secret");
        assert_eq!(secret.open("bob", &sealed), None, "bound to the user");
        assert_eq!(
            ServerSecret::from_bytes(&[2; 32]).open("alice", &sealed),
            None
        );
        assert_eq!(secret.open("alice", "sv1:AAAA"), None);
    }

    #[test]
    fn tags_verify_only_for_their_purpose_message_and_key() {
        let secret = ServerSecret::from_bytes(&[7; 32]);
        let tag = secret.sign("device", b"alice");
        assert!(secret.verify("device", b"alice", &tag));
        assert!(!secret.verify("logout", b"alice", &tag), "another purpose");
        assert!(!secret.verify("device", b"alicf", &tag), "another message");
        assert!(!ServerSecret::from_bytes(&[8; 32]).verify("device", b"alice", &tag));
        assert!(!secret.verify("device", b"alice", "not base64!"));
        assert!(!secret.verify("device", b"alice", ""));
        assert_eq!(format!("{secret:?}"), "ServerSecret([redacted])");
    }
}
