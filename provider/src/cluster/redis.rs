//! Redis behind the cluster: counters through small Lua scripts (atomic on the server), changes
//! through pub/sub. Every call has a short deadline; a failed call marks the link unhealthy (one
//! warning) and the caller falls back to per-node memory; the connection manager keeps
//! reconnecting, and the first call that succeeds again marks it healthy (one info line).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Client, Script};
use tokio::sync::broadcast;

use crate::cluster::{Change, Failures, Hit};
use crate::protocol::types::UnixTime;

/// The longest a request waits for Redis before counting in memory instead.
const DEADLINE: Duration = Duration::from_millis(250);

/// INCR, starting a window on the first hit; returns the count and the window's remaining ms.
const HIT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
";

/// One more failure at ARGV[1]; the record lives ARGV[2] ms after it.
const FAILURE: &str = r"
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return count
";

/// The link to Redis.
pub struct RedisLink {
    manager: ConnectionManager,
    namespace: String,
    healthy: Arc<AtomicBool>,
    hit: Script,
    failure: Script,
}

impl RedisLink {
    /// Prepares the connection (lazily: an unreachable server is not an error here) and starts
    /// the subscriber that forwards changes from other nodes to `changes`.
    pub fn connect(
        url: &str,
        namespace: &str,
        changes: broadcast::Sender<Change>,
    ) -> Result<Self, redis::RedisError> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let healthy = Arc::new(AtomicBool::new(true));
        let channel = format!("{namespace}:changes");
        tokio::spawn(subscribe(client, channel, changes, Arc::clone(&healthy)));
        Ok(RedisLink {
            manager,
            namespace: namespace.to_owned(),
            healthy,
            hit: Script::new(HIT),
            failure: Script::new(FAILURE),
        })
    }

    /// Whether the last call succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.namespace)
    }

    /// Runs `call` with the deadline, recording health; `None` when Redis did not answer.
    async fn call<T>(&self, call: impl Future<Output = redis::RedisResult<T>>) -> Option<T> {
        match tokio::time::timeout(DEADLINE, call).await {
            Ok(Ok(value)) => {
                if !self.healthy.swap(true, Ordering::Relaxed) {
                    tracing::info!(
                        "redis answers again: rate limits and changes are shared by every node"
                    );
                }
                Some(value)
            }
            outcome => {
                if self.healthy.swap(false, Ordering::Relaxed) {
                    let reason = match outcome {
                        Ok(Err(err)) => err.to_string(),
                        _ => "no answer within 250 ms".to_owned(),
                    };
                    tracing::warn!(%reason, "redis is unavailable: rate limits fall back to this node's memory until it answers");
                }
                None
            }
        }
    }

    /// One more hit on `key` in a fixed window.
    pub async fn hit(&self, key: &str, window: Duration) -> Option<Hit> {
        let mut connection = self.manager.clone();
        let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let key = self.key(key);
        let (count, ttl): (u64, i64) = self
            .call(self.hit.key(&key).arg(millis).invoke_async(&mut connection))
            .await?;
        Some(Hit {
            count,
            resets_in: Duration::from_millis(u64::try_from(ttl).unwrap_or(0)),
        })
    }

    /// The failure record of `key`: `Some(None)` when there is none, `None` when Redis did not
    /// answer.
    pub async fn failures(&self, key: &str) -> Option<Option<Failures>> {
        let mut connection = self.manager.clone();
        let key = self.key(key);
        let (count, last): (Option<u64>, Option<i64>) = self
            .call(async move {
                redis::cmd("HMGET")
                    .arg(&key)
                    .arg("count")
                    .arg("last")
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        Some(match (count, last) {
            (Some(count), Some(last)) => Some(Failures {
                count,
                last: UnixTime(last),
            }),
            _ => None,
        })
    }

    /// One more failure for `key`.
    pub async fn record_failure(
        &self,
        key: &str,
        now: UnixTime,
        ttl: Duration,
    ) -> Option<Failures> {
        let mut connection = self.manager.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let key = self.key(key);
        let count: u64 = self
            .call(
                self.failure
                    .key(&key)
                    .arg(now.0)
                    .arg(millis)
                    .invoke_async(&mut connection),
            )
            .await?;
        Some(Failures { count, last: now })
    }

    /// Forgets `key`.
    pub async fn clear(&self, key: &str) {
        let mut connection = self.manager.clone();
        let key = self.key(key);
        self.call(async move { connection.del::<_, ()>(&key).await })
            .await;
    }

    /// Publishes a change to every node; delivery is best effort (a node that misses it sees
    /// the change within the cache lifetime or at its next key check).
    pub fn publish(&self, change: Change) {
        let mut connection = self.manager.clone();
        let channel = format!("{}:changes", self.namespace);
        let healthy = Arc::clone(&self.healthy);
        tokio::spawn(async move {
            let sent = tokio::time::timeout(
                DEADLINE,
                connection.publish::<_, _, ()>(&channel, change.encode()),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) && healthy.swap(false, Ordering::Relaxed) {
                tracing::warn!(
                    "redis is unavailable: a change was not broadcast; other nodes see it within the cache lifetime"
                );
            }
        });
    }
}

/// Forwards the channel's messages to this node until the process ends, reconnecting with a
/// pause; after every (re)subscription it asks for a resync, since messages may have been
/// missed in between.
async fn subscribe(
    client: Client,
    channel: String,
    changes: broadcast::Sender<Change>,
    healthy: Arc<AtomicBool>,
) {
    let mut first = true;
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(&channel).await.is_ok() {
                    if !first {
                        let _ = changes.send(Change::Resync);
                    }
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let payload: String = message.get_payload().unwrap_or_default();
                        if let Some(change) = Change::decode(&payload) {
                            let _ = changes.send(change);
                        }
                    }
                }
            }
            Err(err) => {
                if healthy.swap(false, Ordering::Relaxed) {
                    tracing::warn!(error = %err, "redis is unavailable: changes from other nodes arrive through cache lifetimes until it answers");
                }
            }
        }
        first = false;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::cluster::{Change, Cluster, Sharing};
    use crate::protocol::types::UnixTime;

    /// `OIDC_TEST_REDIS_URL`, or `None` (and the test says it skipped).
    fn redis_url() -> Option<String> {
        let url = std::env::var("OIDC_TEST_REDIS_URL")
            .ok()
            .filter(|url| !url.is_empty());
        if url.is_none() {
            eprintln!("skipped: OIDC_TEST_REDIS_URL is not set");
        }
        url
    }

    fn fresh_namespace() -> String {
        format!("oidc-test:{:016x}", rand::random::<u64>())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_share_counters_failures_and_changes() {
        let Some(url) = redis_url() else { return };
        let namespace = fresh_namespace();
        let first = Cluster::with_redis(&url, &namespace).unwrap();
        let second = Cluster::with_redis(&url, &namespace).unwrap();
        let window = Duration::from_secs(60);
        assert_eq!(first.hit("rate:x", window).await.count, 1);
        assert_eq!(
            second.hit("rate:x", window).await.count,
            2,
            "one count for both nodes"
        );
        assert_eq!(first.sharing(), Sharing::Shared);
        let ttl = Duration::from_secs(60);
        first.record_failure("login:a", UnixTime(100), ttl).await;
        let seen = second.record_failure("login:a", UnixTime(101), ttl).await;
        assert_eq!(seen.count, 2);
        let read = first.failures("login:a").await.unwrap();
        assert_eq!((read.count, read.last), (2, UnixTime(101)));
        second.clear("login:a").await;
        assert_eq!(first.failures("login:a").await, None);
        // Another deployment on the same Redis counts apart.
        let other = Cluster::with_redis(&url, &fresh_namespace()).unwrap();
        assert_eq!(other.hit("rate:x", window).await.count, 1);
        // A change published on one node reaches the other (subscriptions start in the
        // background: publish until it arrives).
        let mut changes = second.subscribe();
        let received = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                first.publish(Change::Client("demo-web".into()));
                if let Ok(Ok(change)) =
                    tokio::time::timeout(Duration::from_millis(200), changes.recv()).await
                {
                    return change;
                }
            }
        })
        .await
        .expect("the change arrives");
        assert_eq!(received, Change::Client("demo-web".into()));
        for key in ["rate:x"] {
            first.clear(key).await;
            other.clear(key).await;
        }
    }

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_to_this_nodes_memory() {
        // Port 1 is closed on these machines: every call fails at once.
        let cluster = Cluster::with_redis("redis://127.0.0.1:1", &fresh_namespace()).unwrap();
        let window = Duration::from_secs(60);
        assert_eq!(cluster.hit("rate:y", window).await.count, 1);
        assert_eq!(
            cluster.hit("rate:y", window).await.count,
            2,
            "counted in memory"
        );
        assert_eq!(cluster.sharing(), Sharing::Degraded);
        let failures = cluster.record_failure("login:b", UnixTime(5), window).await;
        assert_eq!(failures.count, 1);
        assert_eq!(cluster.failures("login:b").await.map(|f| f.count), Some(1));
        cluster.publish(Change::Keys);
    }
}
