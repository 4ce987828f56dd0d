//! What the nodes of a deployment share besides the database: counters (rate limits and login
//! throttling) and a broadcast that tells every node at once that a client or the key set
//! changed.
//!
//! With Redis (`--redis`) both are shared through it. Without Redis, or while it is unreachable,
//! counters are kept per node ([`memory::MemoryCounters`]) with a warning in the log and in
//! `/readyz`, and changes reach other nodes through the client cache lifetime (10 s) and the key
//! schedule (30 s). Nothing else depends on Redis: a Redis outage never fails a request.

pub mod memory;
pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use sha2::{Digest, Sha256};

use crate::protocol::types::{Issuer, UnixTime};

/// One more hit in a fixed window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Hits in the current window, this one included.
    pub count: u64,
    /// Until the window ends.
    pub resets_in: Duration,
}

/// A key's recent failures (login throttling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failures {
    /// Failures since the record started (it ends `ttl` after the last failure).
    pub count: u64,
    /// When the last failure happened.
    pub last: UnixTime,
}

/// A change other nodes must see at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A client was created, updated or deleted: forget its cached record.
    Client(String),
    /// The signing keys changed: reload them.
    Keys,
    /// The resource registry changed: reload it.
    Resources,
    /// The broadcast was interrupted and messages may have been missed: forget every cached
    /// client and the registry, and reload the keys.
    Resync,
}

impl Change {
    fn encode(&self) -> String {
        match self {
            Change::Client(client_id) => format!("client:{client_id}"),
            Change::Keys => "keys".to_owned(),
            Change::Resources => "resources".to_owned(),
            Change::Resync => "resync".to_owned(),
        }
    }

    fn decode(message: &str) -> Option<Change> {
        match message {
            "keys" => Some(Change::Keys),
            "resources" => Some(Change::Resources),
            "resync" => Some(Change::Resync),
            other => other
                .strip_prefix("client:")
                .map(|client_id| Change::Client(client_id.to_owned())),
        }
    }
}

/// Where shared state lives right now, for `/readyz` and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// No Redis configured: one node, or several with per-node limits.
    NotConfigured,
    /// Redis answers: counters and changes are shared.
    Shared,
    /// Redis is configured but does not answer: counters are per node until it does.
    Degraded,
}

/// The shared state of the deployment, as one node sees it.
pub struct Cluster {
    memory: memory::MemoryCounters,
    redis: Option<redis::RedisLink>,
    changes: broadcast::Sender<Change>,
}

impl Cluster {
    /// A single node: counters in memory, changes stay local.
    pub fn local() -> Self {
        let (changes, _) = broadcast::channel(256);
        Cluster {
            memory: memory::MemoryCounters::default(),
            redis: None,
            changes,
        }
    }

    /// Shares counters and changes through the Redis at `url` (never fails on an unreachable
    /// server: it connects lazily and keeps trying). Keys and the channel are namespaced by
    /// `namespace`, so deployments sharing a Redis do not mix.
    pub fn with_redis(url: &str, namespace: &str) -> Result<Self, ::redis::RedisError> {
        let (changes, _) = broadcast::channel(256);
        let link = redis::RedisLink::connect(url, namespace, changes.clone())?;
        Ok(Cluster {
            memory: memory::MemoryCounters::default(),
            redis: Some(link),
            changes,
        })
    }

    /// The Redis namespace of a deployment: the issuer's digest, so deployments sharing a Redis
    /// do not mix (every node of one deployment has the same issuer).
    pub fn namespace(issuer: &Issuer) -> String {
        let digest = Sha256::digest(issuer.as_str().as_bytes());
        let hex: String = digest
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("oidc:{hex}")
    }

    /// Whether counters are shared right now.
    pub fn sharing(&self) -> Sharing {
        match &self.redis {
            None => Sharing::NotConfigured,
            Some(link) if link.is_healthy() => Sharing::Shared,
            Some(_) => Sharing::Degraded,
        }
    }

    /// One more hit on `key` in a fixed window of `window`.
    pub async fn hit(&self, key: &str, window: Duration) -> Hit {
        if let Some(link) = &self.redis
            && let Some(hit) = link.hit(key, window).await
        {
            return hit;
        }
        self.memory.hit(key, window)
    }

    /// The failures recorded for `key`, if any.
    pub async fn failures(&self, key: &str) -> Option<Failures> {
        if let Some(link) = &self.redis
            && let Some(failures) = link.failures(key).await
        {
            return failures;
        }
        self.memory.failures(key)
    }

    /// Records one more failure for `key` at `now`; the record ends `ttl` after the last one.
    pub async fn record_failure(&self, key: &str, now: UnixTime, ttl: Duration) -> Failures {
        if let Some(link) = &self.redis
            && let Some(failures) = link.record_failure(key, now, ttl).await
        {
            return failures;
        }
        self.memory.record_failure(key, now, ttl)
    }

    /// Forgets `key` (counters and failures).
    pub async fn clear(&self, key: &str) {
        if let Some(link) = &self.redis {
            link.clear(key).await;
        }
        self.memory.clear(key);
    }

    /// Tells every node (this one included) about a change.
    pub fn publish(&self, change: Change) {
        match &self.redis {
            Some(link) => link.publish(change),
            None => {
                let _ = self.changes.send(change);
            }
        }
    }

    /// The changes this node must apply, from any node.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Forgets expired per-node counters (bounded memory under floods of new keys).
    pub fn prune(&self) {
        self.memory.prune();
    }
}

/// A handle the client cache uses to announce changes.
pub type SharedCluster = Arc<Cluster>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_round_trip_through_their_wire_form() {
        for change in [
            Change::Client("demo-web".into()),
            Change::Client("a:b".into()),
            Change::Keys,
            Change::Resync,
        ] {
            assert_eq!(Change::decode(&change.encode()), Some(change));
        }
        assert_eq!(Change::decode("other"), None);
    }

    #[tokio::test]
    async fn a_local_cluster_counts_in_memory_and_delivers_changes_to_itself() {
        let cluster = Cluster::local();
        assert_eq!(cluster.sharing(), Sharing::NotConfigured);
        let window = Duration::from_secs(60);
        assert_eq!(cluster.hit("k", window).await.count, 1);
        assert_eq!(cluster.hit("k", window).await.count, 2);
        cluster.clear("k").await;
        assert_eq!(cluster.hit("k", window).await.count, 1);
        let mut changes = cluster.subscribe();
        cluster.publish(Change::Keys);
        assert_eq!(changes.recv().await.unwrap(), Change::Keys);
    }
}
