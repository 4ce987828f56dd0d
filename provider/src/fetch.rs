//! Fetching documents that clients point the provider at (a client's `jwks_uri`), with the
//! protections a server that fetches URLs chosen by strangers needs (SSRF):
//!
//! - https only; plain http only to a loopback address, and only where the policy allows it
//!   (dev mode);
//! - the host is resolved first and every address checked: loopback, private, link-local,
//!   shared (CGNAT), unique-local and other non-public addresses are refused unless the policy
//!   allows them (dev mode); the connection then goes to an address that was checked (no second
//!   lookup an attacker could answer differently);
//! - no redirects, a short timeout, a size cap read incrementally;
//! - successes are cached as long as `Cache-Control: max-age` says (bounded), failures never.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where fetches may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Allow loopback and private addresses, and plain http to loopback (dev mode only).
    pub allow_local: bool,
}

/// Why a fetch failed (the message is safe to show to the client that registered the URL).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL is not one the provider fetches.
    #[error("{0}")]
    Refused(&'static str),
    /// The server did not answer usefully.
    #[error("{0}")]
    Failed(String),
}

/// Time allowed for a whole fetch.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Cached for this long when the response does not say.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// Never cached longer than this.
const MAX_MAX_AGE: Duration = Duration::from_secs(3600);
/// Cached documents at most (the map is cleared when it is reached).
const MAX_ENTRIES: usize = 1000;

type Entry = (Instant, Arc<serde_json::Value>);

/// The fetcher, with its cache.
pub struct Fetcher {
    policy: FetchPolicy,
    cache: Mutex<HashMap<String, Entry>>,
}

impl Fetcher {
    /// A fetcher that follows `policy`.
    pub fn new(policy: FetchPolicy) -> Self {
        Fetcher {
            policy,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The JSON document at `url`, at most `max_bytes` long, from the cache when fresh.
    pub async fn json(
        &self,
        url: &str,
        max_bytes: usize,
    ) -> Result<Arc<serde_json::Value>, FetchError> {
        if let Some((expires, value)) = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(url)
            && *expires > Instant::now()
        {
            return Ok(Arc::clone(value));
        }
        let (value, max_age) = self.fetch(url, max_bytes).await?;
        let value = Arc::new(value);
        if let Some(max_age) = max_age {
            let mut cache = self
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
            cache.insert(
                url.to_owned(),
                (Instant::now() + max_age, Arc::clone(&value)),
            );
        }
        Ok(value)
    }

    /// Forgets a cached document (its keys did not verify: the client may have rotated them).
    pub fn forget(&self, url: &str) {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(url);
    }

    /// Back-Channel Logout §2.5: a form POST (the logout token) to a URL a client registered,
    /// with the same address rules as fetches: no redirects, 5 s. Returns the answer's status.
    pub async fn post_form(
        &self,
        raw: &str,
        form: &[(&str, &str)],
    ) -> Result<reqwest::StatusCode, FetchError> {
        let (client, url) = self.checked_client(raw).await?;
        let response = client.post(url).form(form).send().await.map_err(|error| {
            FetchError::Failed(if error.is_timeout() {
                "the server did not answer in time".into()
            } else {
                "the server could not be reached".into()
            })
        })?;
        Ok(response.status())
    }

    /// An HTTP client that connects only to the checked addresses of `raw`'s host.
    async fn checked_client(&self, raw: &str) -> Result<(reqwest::Client, url::Url), FetchError> {
        let url = url::Url::parse(raw).map_err(|_| FetchError::Refused("not an absolute URL"))?;
        let host = url
            .host_str()
            .ok_or(FetchError::Refused("the URL has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url
            .port_or_known_default()
            .ok_or(FetchError::Refused("the URL has no port"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::Refused("the URL must not carry credentials"));
        }
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| FetchError::Failed(format!("the host {host} does not resolve")))?
            .collect();
        if addresses.is_empty() {
            return Err(FetchError::Failed(format!(
                "the host {host} does not resolve"
            )));
        }
        let all_loopback = addresses.iter().all(|address| address.ip().is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if self.policy.allow_local && all_loopback => {}
            _ => return Err(FetchError::Refused("only https URLs are fetched")),
        }
        if !self.policy.allow_local
            && let Some(address) = addresses.iter().find(|address| !is_public(address.ip()))
        {
            tracing::info!(%address, "fetch refused: not a public address");
            return Err(FetchError::Refused(
                "the URL's host resolves to a non-public address",
            ));
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .resolve_to_addrs(&host, &addresses)
            .build()
            .map_err(|_| FetchError::Failed("the HTTP client could not be built".into()))?;
        Ok((client, url))
    }

    async fn fetch(
        &self,
        raw: &str,
        max_bytes: usize,
    ) -> Result<(serde_json::Value, Option<Duration>), FetchError> {
        let (client, url) = self.checked_client(raw).await?;
        let mut response = client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|error| {
                FetchError::Failed(if error.is_timeout() {
                    "the server did not answer in time".into()
                } else {
                    "the server could not be reached".into()
                })
            })?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Failed(format!(
                "the server answered {} (redirects are not followed)",
                response.status().as_u16()
            )));
        }
        if response
            .content_length()
            .is_some_and(|length| length > max_bytes as u64)
        {
            return Err(FetchError::Failed(format!(
                "the document is larger than {max_bytes} bytes"
            )));
        }
        let max_age = max_age(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| FetchError::Failed("the document could not be read".into()))?
        {
            if body.len() + chunk.len() > max_bytes {
                return Err(FetchError::Failed(format!(
                    "the document is larger than {max_bytes} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let value = serde_json::from_slice(&body)
            .map_err(|_| FetchError::Failed("the document is not JSON".into()))?;
        Ok((value, max_age))
    }
}

/// How long a response may be cached: `None` for `no-store`/`no-cache`/`max-age=0`.
fn max_age(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let Some(control) = headers
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
    else {
        return Some(DEFAULT_MAX_AGE);
    };
    let mut age = DEFAULT_MAX_AGE;
    for directive in control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" || lower == "private" {
            return None;
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            match seconds.trim_matches('"').parse::<u64>() {
                Ok(0) | Err(_) => return None,
                Ok(seconds) => age = Duration::from_secs(seconds),
            }
        }
    }
    Some(age.min(MAX_MAX_AGE))
}

/// True for addresses on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 192 && b == 0) // IETF protocol assignments
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn public_addresses_only() {
        for (ip, public) in [
            ("8.8.8.8", true),
            ("2606:4700::1111", true),
            ("127.0.0.1", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("0.0.0.0", false),
            ("::1", false),
            ("fd00::1", false),
            ("fe80::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:8.8.8.8", true),
        ] {
            assert_eq!(is_public(ip.parse().unwrap()), public, "{ip}");
        }
    }

    #[test]
    fn cache_lifetimes_follow_cache_control() {
        let with = |value: &str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::CACHE_CONTROL, value.parse().unwrap());
            max_age(&headers)
        };
        assert_eq!(
            max_age(&reqwest::header::HeaderMap::new()),
            Some(DEFAULT_MAX_AGE)
        );
        assert_eq!(with("public, max-age=60"), Some(Duration::from_secs(60)));
        assert_eq!(with("max-age=999999"), Some(MAX_MAX_AGE));
        assert_eq!(with("no-store"), None);
        assert_eq!(with("max-age=0"), None);
        assert_eq!(with("max-age=soon"), None);
    }

    /// A local HTTP/1.1 server (raw, one response per connection): `/jwks` (counted),
    /// `/big`, `/redirect`, `/text`, and 404 elsewhere.
    async fn server(hits: Arc<AtomicUsize>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut request = vec![0u8; 4096];
                let read = stream.read(&mut request).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&request[..read]).to_string();
                let path = request.split(' ').nth(1).unwrap_or("/").to_owned();
                let (status, headers, body) = match path.as_str() {
                    "/jwks" => {
                        hits.fetch_add(1, Ordering::SeqCst);
                        (
                            "200 OK",
                            "cache-control: max-age=60\r\n",
                            r#"{"keys":[]}"#.to_owned(),
                        )
                    }
                    "/big" => ("200 OK", "", "x".repeat(10_000)),
                    "/redirect" => (
                        "307 Temporary Redirect",
                        "location: /jwks\r\n",
                        String::new(),
                    ),
                    "/text" => ("200 OK", "", "not json".to_owned()),
                    _ => ("404 Not Found", "", String::new()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            }
        });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn fetches_caches_and_refuses() {
        let hits = Arc::new(AtomicUsize::new(0));
        let base = server(Arc::clone(&hits)).await;
        let dev = Fetcher::new(FetchPolicy { allow_local: true });
        let jwks = format!("{base}/jwks");
        assert_eq!(
            dev.json(&jwks, 5000).await.unwrap()["keys"],
            serde_json::json!([])
        );
        dev.json(&jwks, 5000).await.unwrap();
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "the second read came from the cache"
        );
        dev.forget(&jwks);
        dev.json(&jwks, 5000).await.unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        for (path, expected) in [
            ("/big", "larger than 5000"),
            ("/redirect", "answered 307"),
            ("/missing", "answered 404"),
            ("/text", "not JSON"),
        ] {
            let error = dev.json(&format!("{base}{path}"), 5000).await.unwrap_err();
            assert!(error.to_string().contains(expected), "{path}: {error}");
        }
        // Outside dev mode: no loopback, no plain http, no credentials in the URL.
        let serve = Fetcher::new(FetchPolicy { allow_local: false });
        assert_eq!(
            serve.json(&jwks, 5000).await.unwrap_err(),
            FetchError::Refused("only https URLs are fetched")
        );
        let loopback_https = jwks.replace("http://", "https://");
        assert_eq!(
            serve.json(&loopback_https, 5000).await.unwrap_err(),
            FetchError::Refused("the URL's host resolves to a non-public address")
        );
        assert!(matches!(
            serve.json("https://user:pw@example.com/jwks", 5000).await,
            Err(FetchError::Refused(_))
        ));
        assert!(matches!(
            dev.json("ftp://127.0.0.1/x", 5000).await,
            Err(FetchError::Refused(_))
        ));
    }
}
