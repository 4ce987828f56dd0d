//! A read-through cache of client records in front of any [`ClientStore`] (a decorator): every
//! token request authenticates its client, so the hot path should not query the database.
//!
//! Entries live [`CLIENT_CACHE_TTL`]; a change made through this node invalidates its entry at
//! once, a change made on another node of a cluster is seen within the TTL. Only found clients
//! are cached (a flood of random ids must not grow it), and the map is bounded.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::protocol::client::RegisteredClient;
use crate::protocol::types::{SecretDigest, UnixTime};
use crate::store::{ClientStore, Result};

/// How long a cached client record is trusted.
pub const CLIENT_CACHE_TTL: Duration = Duration::from_secs(10);
/// Upper bound on cached clients; the map is cleared when it is reached.
const MAX_ENTRIES: usize = 10_000;

/// Told the id of every client changed through this cache (to tell the other nodes).
pub type ChangeHook = Box<dyn Fn(&str) + Send + Sync>;

/// The decorator.
pub struct CachedClients {
    inner: Arc<dyn ClientStore>,
    entries: RwLock<HashMap<String, (Instant, Arc<RegisteredClient>)>>,
    on_change: OnceLock<ChangeHook>,
}

impl CachedClients {
    /// Caches reads of `inner`.
    pub fn new(inner: Arc<dyn ClientStore>) -> Self {
        CachedClients {
            inner,
            entries: RwLock::new(HashMap::new()),
            on_change: OnceLock::new(),
        }
    }

    /// Calls `hook` with the id of every client changed through this cache (set once).
    pub fn on_change(&self, hook: ChangeHook) {
        let _ = self.on_change.set(hook);
    }

    fn changed(&self, client_id: &str) {
        self.invalidate(client_id);
        if let Some(hook) = self.on_change.get() {
            hook(client_id);
        }
    }

    /// Forgets every cached client (after missed change messages).
    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    fn get(&self, client_id: &str) -> Option<Arc<RegisteredClient>> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(client_id)
            .filter(|(stored_at, _)| stored_at.elapsed() < CLIENT_CACHE_TTL)
            .map(|(_, client)| Arc::clone(client))
    }

    fn put(&self, client: &RegisteredClient) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            client.client_id.as_str().to_owned(),
            (Instant::now(), Arc::new(client.clone())),
        );
    }

    /// Forgets a client after it changed or was deleted.
    pub fn invalidate(&self, client_id: &str) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.remove(client_id);
    }
}

#[async_trait]
impl ClientStore for CachedClients {
    async fn client(&self, client_id: &str) -> Result<Option<RegisteredClient>> {
        if let Some(client) = self.get(client_id) {
            return Ok(Some((*client).clone()));
        }
        let client = self.inner.client(client_id).await?;
        if let Some(client) = &client {
            self.put(client);
        }
        Ok(client)
    }

    async fn upsert_client(&self, client: &RegisteredClient, now: UnixTime) -> Result<()> {
        self.inner.upsert_client(client, now).await?;
        // After the write: a concurrent read cannot re-cache the old row.
        self.changed(client.client_id.as_str());
        Ok(())
    }

    async fn list_clients(&self) -> Result<Vec<RegisteredClient>> {
        self.inner.list_clients().await
    }

    async fn set_registration_token(&self, client_id: &str, digest: &SecretDigest) -> Result<()> {
        self.inner.set_registration_token(client_id, digest).await
    }

    async fn registration_token(&self, client_id: &str) -> Result<Option<SecretDigest>> {
        self.inner.registration_token(client_id).await
    }

    async fn delete_client(&self, client_id: &str, now: UnixTime) -> Result<()> {
        self.inner.delete_client(client_id, now).await?;
        self.changed(client_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::protocol::client::tests::client;

    /// An in-memory client store that counts reads.
    #[derive(Default)]
    struct Counting {
        clients: Mutex<HashMap<String, RegisteredClient>>,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl ClientStore for Counting {
        async fn client(&self, client_id: &str) -> Result<Option<RegisteredClient>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.clients.lock().unwrap().get(client_id).cloned())
        }
        async fn upsert_client(&self, client: &RegisteredClient, _: UnixTime) -> Result<()> {
            let mut clients = self.clients.lock().unwrap();
            clients.insert(client.client_id.as_str().to_owned(), client.clone());
            Ok(())
        }
        async fn list_clients(&self) -> Result<Vec<RegisteredClient>> {
            Ok(self.clients.lock().unwrap().values().cloned().collect())
        }
        async fn set_registration_token(&self, _: &str, _: &SecretDigest) -> Result<()> {
            Ok(())
        }
        async fn registration_token(&self, _: &str) -> Result<Option<SecretDigest>> {
            Ok(None)
        }
        async fn delete_client(&self, client_id: &str, _: UnixTime) -> Result<()> {
            self.clients.lock().unwrap().remove(client_id);
            Ok(())
        }
    }

    #[tokio::test]
    async fn reads_are_cached_and_writes_through_the_cache_invalidate() {
        let backend = Arc::new(Counting::default());
        let cache = CachedClients::new(backend.clone());
        let now = UnixTime(0);
        assert!(cache.client("demo-web").await.unwrap().is_none());
        assert!(cache.client("demo-web").await.unwrap().is_none());
        assert_eq!(
            backend.reads.load(Ordering::SeqCst),
            2,
            "misses are not cached"
        );
        cache
            .upsert_client(&client("demo-web", Some("s")), now)
            .await
            .unwrap();
        cache.client("demo-web").await.unwrap().unwrap();
        cache.client("demo-web").await.unwrap().unwrap();
        assert_eq!(
            backend.reads.load(Ordering::SeqCst),
            3,
            "a hit does not read"
        );
        let mut renamed = client("demo-web", Some("s"));
        renamed.metadata.client_name = "Renamed".into();
        cache.upsert_client(&renamed, now).await.unwrap();
        assert_eq!(
            cache
                .client("demo-web")
                .await
                .unwrap()
                .unwrap()
                .metadata
                .client_name,
            "Renamed",
            "an update through the cache is seen at once"
        );
        cache.delete_client("demo-web", now).await.unwrap();
        assert!(cache.client("demo-web").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn changes_are_announced_and_clear_forgets_everything() {
        let backend = Arc::new(Counting::default());
        let cache = CachedClients::new(backend.clone());
        let announced = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&announced);
        cache.on_change(Box::new(move |id| sink.lock().unwrap().push(id.to_owned())));
        let now = UnixTime(0);
        cache
            .upsert_client(&client("a", Some("s")), now)
            .await
            .unwrap();
        cache.delete_client("a", now).await.unwrap();
        assert_eq!(*announced.lock().unwrap(), ["a", "a"]);
        cache
            .upsert_client(&client("b", Some("s")), now)
            .await
            .unwrap();
        cache.client("b").await.unwrap();
        cache.clear();
        cache.client("b").await.unwrap();
        assert_eq!(
            backend.reads.load(Ordering::SeqCst),
            2,
            "cleared entries are read again"
        );
    }
}
