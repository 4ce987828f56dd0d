//! `provider keys list|rotate|new-kek|reencrypt`.

use crate::admin::{Admin, AdminError, Console, timestamp};
use crate::cluster::Change;
use crate::signing;

/// One line per stored key.
pub async fn list(admin: &Admin, console: &mut Console<'_>) -> Result<(), AdminError> {
    let keys = admin.stores.keys.signing_keys().await?;
    for key in &keys {
        let schedule = match (key.activate_at, key.remove_at) {
            (Some(at), _) => format!("signs from {}", timestamp(at)),
            (_, Some(at)) => format!("leaves the JWKS at {}", timestamp(at)),
            _ => String::new(),
        };
        (console.print)(&format!(
            "{}\t{}\t{}\tcreated {}\t{schedule}",
            key.kid,
            key.alg,
            key.status.as_str(),
            timestamp(key.created_at)
        ));
    }
    if keys.is_empty() {
        (console.print)("no keys yet (the provider creates them at its first start)");
    }
    Ok(())
}

/// Adds a `next` key per algorithm (or for `alg`).
pub async fn rotate(
    admin: &Admin,
    alg: Option<&str>,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    let algorithms = match alg {
        Some(name) => vec![
            keys::SigningAlg::parse(name)
                .map_err(|_| AdminError::new("--alg: RS256, ES256 or EdDSA"))?,
        ],
        None => keys::SigningAlg::ALL.to_vec(),
    };
    for alg in algorithms {
        let record = signing::rotate(admin.stores.keys.as_ref(), alg, admin.now).await?;
        let starts = record.activate_at.map(timestamp).unwrap_or_default();
        (console.print)(&format!(
            "rotated {alg}: new key {} is published now and signs from {starts}",
            record.kid
        ));
    }
    let told = admin.announce(Change::Keys).await;
    (console.print)(&format!("the JWKS changed; {told}"));
    Ok(())
}

/// A new key-encryption key's text.
pub fn new_kek(random: [u8; 32]) -> String {
    crate::sealing::KeyEncryptionKey::generate_text(random)
}

/// Re-seals the stored key material from the command's KEK to the one in `new_key_file`.
pub async fn reencrypt(
    admin: &Admin,
    new_key_file: &std::path::Path,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    let old = admin.kek.as_ref().ok_or_else(|| {
        AdminError::new(format!(
            "the current key is needed to open the stored keys: {}",
            crate::sealing::MISSING
        ))
    })?;
    let new = crate::sealing::KeyEncryptionKey::from_file(new_key_file)
        .map_err(|err| AdminError::new(format!("--new-key-file: {err}")))?;
    let count = crate::store::sealed::reencrypt(
        admin.raw_keys.as_ref(),
        old,
        &new,
        crate::secrets::SECRET_NAMES,
    )
    .await?;
    (console.print)(&format!(
        "re-sealed {count} value(s) from key {} to key {}; restart every node with the new key, then run this once more",
        old.id(),
        new.id()
    ));
    Ok(())
}
