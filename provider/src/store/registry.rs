//! The resource registry as the token endpoint reads it: loaded whole from the
//! [`ResourceStore`] and kept for [`REGISTRY_TTL`], so a token request does not query the
//! database for it. A change made through this node (or announced by another) invalidates it
//! at once; a change made elsewhere (`provider resources add` on another machine) is seen
//! within the TTL, as for client records.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::protocol::resource::{Registry, ResourceServer};
use crate::protocol::types::UnixTime;
use crate::store::{ResourceStore, Result};

/// How long a loaded registry is trusted.
pub const REGISTRY_TTL: Duration = Duration::from_secs(10);

/// The cached registry.
pub struct CachedRegistry {
    store: Arc<dyn ResourceStore>,
    issuer: String,
    current: RwLock<Option<(Instant, Arc<Registry>)>>,
}

impl CachedRegistry {
    /// Reads `store`; tokens for no resource are for `issuer`.
    pub fn new(store: Arc<dyn ResourceStore>, issuer: &str) -> Self {
        CachedRegistry {
            store,
            issuer: issuer.to_owned(),
            current: RwLock::new(None),
        }
    }

    /// The registry, reloaded when older than [`REGISTRY_TTL`].
    pub async fn get(&self) -> Result<Arc<Registry>> {
        if let Some((loaded_at, registry)) = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            && loaded_at.elapsed() < REGISTRY_TTL
        {
            return Ok(Arc::clone(registry));
        }
        let registry = Arc::new(Registry::new(&self.issuer, self.store.resources().await?));
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((Instant::now(), Arc::clone(&registry)));
        Ok(registry)
    }

    /// Forgets the loaded registry (a change was announced).
    pub fn invalidate(&self) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// Stores `resource` and invalidates.
    pub async fn upsert(&self, resource: &ResourceServer, now: UnixTime) -> Result<()> {
        self.store.upsert_resource(resource, now).await?;
        self.invalidate();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use keys::SigningAlg;

    #[tokio::test]
    async fn reads_once_and_sees_changes_made_through_it() {
        let store = Arc::new(SqliteStore::open("sqlite::memory:", None).await.unwrap());
        let cached = CachedRegistry::new(store.clone(), "https://issuer");
        assert!(cached.get().await.unwrap().get("urn:a").is_none());
        let resource = ResourceServer {
            identifier: "urn:a".into(),
            name: "A".into(),
            scopes: Default::default(),
            signing_alg: SigningAlg::ES256,
            access_token_lifetime_secs: None,
            introspection_client: None,
        };
        // Written behind its back: not seen until the TTL or an invalidation.
        store.upsert_resource(&resource, UnixTime(1)).await.unwrap();
        assert!(cached.get().await.unwrap().get("urn:a").is_none());
        cached.invalidate();
        assert!(cached.get().await.unwrap().get("urn:a").is_some());
        store.delete_resource("urn:a").await.unwrap();
        cached
            .upsert(
                &ResourceServer {
                    identifier: "urn:b".into(),
                    ..resource
                },
                UnixTime(2),
            )
            .await
            .unwrap();
        let now = cached.get().await.unwrap();
        assert!(now.get("urn:a").is_none() && now.get("urn:b").is_some());
    }
}
