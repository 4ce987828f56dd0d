//! A small read-through cache of client records for the hot paths (every token request
//! authenticates its client).
//!
//! Entries live [`CLIENT_CACHE_TTL`]; a change made on this node invalidates its entry at once,
//! a change made on another node of a cluster is seen within the TTL. Only found clients are
//! cached (a flood of random ids must not grow it), and the map is bounded.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::protocol::client::RegisteredClient;

/// How long a cached client record is trusted.
pub const CLIENT_CACHE_TTL: Duration = Duration::from_secs(10);
/// Upper bound on cached clients; the map is cleared when it is reached.
const MAX_ENTRIES: usize = 10_000;

/// The cache. Cheap to share; backends embed one.
#[derive(Debug, Default)]
pub struct ClientCache {
    entries: RwLock<HashMap<String, (Instant, Arc<RegisteredClient>)>>,
}

impl ClientCache {
    /// A fresh cached record, if any.
    pub fn get(&self, client_id: &str) -> Option<Arc<RegisteredClient>> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(client_id)
            .filter(|(stored_at, _)| stored_at.elapsed() < CLIENT_CACHE_TTL)
            .map(|(_, client)| Arc::clone(client))
    }

    /// Remembers a record just read from the database.
    pub fn put(&self, client: RegisteredClient) -> Arc<RegisteredClient> {
        let client = Arc::new(client);
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            client.client_id.as_str().to_owned(),
            (Instant::now(), Arc::clone(&client)),
        );
        client
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::tests::client;

    #[test]
    fn put_get_invalidate() {
        let cache = ClientCache::default();
        assert!(cache.get("demo-web").is_none());
        cache.put(client("demo-web", Some("s")));
        assert_eq!(
            cache.get("demo-web").unwrap().client_id.as_str(),
            "demo-web"
        );
        cache.invalidate("demo-web");
        assert!(cache.get("demo-web").is_none());
    }
}
