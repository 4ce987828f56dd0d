//! HTTP fetches of the discovery document and the JWKS: redirects off, a timeout, a size cap.

use std::time::Duration;

use axum::http::header::{ACCEPT, CACHE_CONTROL};
use axum::http::{HeaderMap, StatusCode};
use reqwest::Url;
use serde::Deserialize;

use crate::Error;
use crate::key_store::KeyStore;

/// Bodies larger than this are refused: a JWKS is a few KiB.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Cache lifetime when the JWKS response has no `Cache-Control: max-age`.
pub(crate) const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5 * 60);
/// `max-age` is clamped into this range: no hammering, no week-old keys.
pub(crate) const MIN_MAX_AGE: Duration = Duration::from_secs(60);
pub(crate) const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// A freshly fetched key set and how long the issuer lets us cache it.
pub(crate) struct FetchedKeys {
    pub(crate) store: KeyStore,
    pub(crate) max_age: Duration,
}

/// The HTTP client for discovery and JWKS requests.
///
/// # Security
/// Redirects are not followed (an issuer's keys live at the URL it names), every request has a
/// timeout and bodies are capped, so a hostile or broken endpoint can neither redirect us
/// elsewhere nor hang or flood us.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        // Fetches are minutes apart: a pooled connection would only go stale.
        .pool_max_idle_per_host(0)
        .user_agent(concat!("resource/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| Error::Config(format!("the HTTP client could not be built: {err}")))
}

#[derive(Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    jwks_uri: String,
}

/// OpenID Connect Discovery 1.0 §4: reads `jwks_uri`, after checking that the document's
/// `issuer` is exactly the one we trust (§4.3).
pub(crate) async fn discover_jwks_uri(
    http: &reqwest::Client,
    discovery_url: &Url,
    expected_issuer: &str,
    allow_http: bool,
) -> Result<Url, Error> {
    let fail = |reason, source: Option<reqwest::Error>| Error::Discovery {
        url: discovery_url.to_string(),
        reason,
        source: source.map(Into::into),
    };
    let (_, body) = get_json(http, discovery_url)
        .await
        .map_err(|(reason, source)| fail(reason, source))?;
    let document: DiscoveryDocument =
        serde_json::from_slice(&body).map_err(|_| fail("not a discovery document", None))?;
    if document.issuer != expected_issuer {
        return Err(fail("its issuer differs from the configured issuer", None));
    }
    let jwks_uri =
        Url::parse(&document.jwks_uri).map_err(|_| fail("jwks_uri is not a URL", None))?;
    if !matches!(jwks_uri.scheme(), "http" | "https") {
        return Err(fail("jwks_uri is not an http(s) URL", None));
    }
    if !crate::config::is_secure_transport(&jwks_uri, allow_http) {
        return Err(fail(
            "jwks_uri is plain http on a host that is not loopback (keys could be replaced in transit)",
            None,
        ));
    }
    Ok(jwks_uri)
}

#[derive(Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
}

/// RFC 7517 §5: fetches and parses the JWK set; an empty or unusable set is an error, so a
/// broken response never replaces good cached keys.
pub(crate) async fn fetch_jwks(
    http: &reqwest::Client,
    jwks_uri: &Url,
) -> Result<FetchedKeys, Error> {
    let fetched = fetch_jwks_once(http, jwks_uri).await;
    let result = if fetched.is_ok() { "ok" } else { "error" };
    metrics::counter!("resource_jwks_fetches_total", "result" => result).increment(1);
    fetched
}

async fn fetch_jwks_once(http: &reqwest::Client, jwks_uri: &Url) -> Result<FetchedKeys, Error> {
    let fail = |reason, source: Option<reqwest::Error>| Error::JwksFetch {
        url: jwks_uri.to_string(),
        reason,
        source: source.map(Into::into),
    };
    let (headers, body) = get_json(http, jwks_uri)
        .await
        .map_err(|(reason, source)| fail(reason, source))?;
    let raw: RawJwkSet = serde_json::from_slice(&body).map_err(|_| fail("not a JWK set", None))?;
    let store = KeyStore::from_jwk_values(&raw.keys);
    if store.is_empty() {
        return Err(fail("it holds no usable signature keys", None));
    }
    Ok(FetchedKeys {
        store,
        max_age: cache_max_age(&headers),
    })
}

type FetchFailure = (&'static str, Option<reqwest::Error>);

async fn get_json(http: &reqwest::Client, url: &Url) -> Result<(HeaderMap, Vec<u8>), FetchFailure> {
    let mut response = http
        .get(url.clone())
        .header(ACCEPT, "application/json")
        .send()
        .await
        .map_err(|err| ("the request failed", Some(err)))?;
    if response.status() != StatusCode::OK {
        return Err(("the response status is not 200", None));
    }
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(("the body is too large", None));
    }
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| ("reading the body failed", Some(err)))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(("the body is too large", None));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((headers, body))
}

/// RFC 9111 §5.2.2.1: the `max-age` of a `Cache-Control` header, clamped to
/// [`MIN_MAX_AGE`, `MAX_MAX_AGE`]; [`DEFAULT_MAX_AGE`] when absent or unreadable.
/// `no-store` and `no-cache` mean "as short as we allow".
pub(crate) fn cache_max_age(headers: &HeaderMap) -> Duration {
    let mut max_age = None;
    let mut no_cache = false;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',').map(str::trim) {
            let (name, argument) = directive.split_once('=').unwrap_or((directive, ""));
            if name.eq_ignore_ascii_case("max-age") {
                max_age = argument.trim_matches('"').parse::<u64>().ok().or(max_age);
            } else if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache")
            {
                no_cache = true;
            }
        }
    }
    let seconds = match (no_cache, max_age) {
        (true, _) => 0,
        (false, Some(seconds)) => seconds,
        (false, None) => return DEFAULT_MAX_AGE,
    };
    Duration::from_secs(seconds).clamp(MIN_MAX_AGE, MAX_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::http::HeaderValue;
    use axum::http::header::LOCATION;
    use axum::response::IntoResponse;
    use axum::routing::get;

    use keys::SigningAlg;

    use super::*;
    use crate::test_support::{jwk_set, signing_key};

    /// An issuer double that misbehaves in every way a JWKS endpoint can.
    async fn odd_server() -> String {
        let jwks = serde_json::to_string(&jwk_set(&[signing_key(SigningAlg::ES256)])).unwrap();
        let app = Router::new()
            .route(
                "/jwks",
                get(move || async move { ([(CACHE_CONTROL, "max-age=900")], jwks) }),
            )
            .route(
                "/redirect",
                get(|| async { (StatusCode::FOUND, [(LOCATION, "/jwks")]).into_response() }),
            )
            .route(
                "/error",
                get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
            )
            .route(
                "/huge",
                get(|| async {
                    format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(MAX_BODY_BYTES))
                }),
            )
            .route("/empty", get(|| async { r#"{"keys":[]}"# }))
            .route(
                "/symmetric",
                get(|| async { r#"{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}"# }),
            )
            .route("/html", get(|| async { "<html>" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn jwks_fetch_refuses_redirects_errors_floods_and_useless_sets() {
        let base = odd_server().await;
        let http = http_client(Duration::from_secs(2)).unwrap();
        let fetch = |path: &str| {
            let url = Url::parse(&format!("{base}{path}")).unwrap();
            let http = http.clone();
            async move { fetch_jwks(&http, &url).await }
        };
        let fetched = fetch("/jwks").await.unwrap();
        assert_eq!(fetched.store.len(), 1);
        assert_eq!(
            fetched.max_age,
            Duration::from_secs(900),
            "Cache-Control max-age is honoured"
        );
        let cases = [
            ("/redirect", "the response status is not 200"),
            ("/error", "the response status is not 200"),
            ("/huge", "the body is too large"),
            ("/empty", "it holds no usable signature keys"),
            ("/symmetric", "it holds no usable signature keys"),
            ("/html", "not a JWK set"),
        ];
        for (path, expected) in cases {
            match fetch(path).await {
                Err(Error::JwksFetch { reason, .. }) => assert_eq!(reason, expected, "{path}"),
                Err(other) => panic!("{path}: {other:?}"),
                Ok(_) => panic!("{path}: accepted"),
            }
        }
    }

    fn check(values: &[&str], expected_secs: u64) {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        }
        assert_eq!(
            cache_max_age(&headers),
            Duration::from_secs(expected_secs),
            "{values:?}"
        );
    }

    #[test]
    fn cache_control_max_age_is_honoured_within_bounds() {
        check(&[], 300);
        check(&["public"], 300);
        check(&["max-age=600"], 600);
        check(&["public, max-age=3600, must-revalidate"], 3600);
        check(&["Max-Age=120"], 120);
        check(&["max-age=\"900\""], 900);
        check(&["max-age=5"], 60);
        check(&["max-age=0"], 60);
        check(&["max-age=31536000"], 86_400);
        check(&["max-age=banana"], 300);
        check(&["no-store"], 60);
        check(&["no-cache, max-age=600"], 60);
        check(&["public", "max-age=900"], 900);
    }
}
