//! What a [`Verifier`](crate::Verifier) checks, and where it finds the issuer's keys.

use std::time::Duration;

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use reqwest::Url;

use crate::Error;
use crate::metadata::well_known_url;

/// Algorithms accepted unless configured otherwise: the three our provider signs with.
pub const DEFAULT_ALGORITHMS: [Algorithm; 3] =
    [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];
/// Clock-skew allowance for `exp`, `nbf` and `iat` unless configured otherwise.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// The largest leeway accepted: more would keep expired tokens alive for minutes.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// At most one JWKS refetch for unknown `kid`s per this interval, unless configured otherwise.
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Timeout of each discovery or JWKS request, unless configured otherwise.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// Configuration of a [`Verifier`](crate::Verifier): a builder with safe defaults.
///
/// ```
/// use std::time::Duration;
/// use resource::VerifierConfig;
///
/// let config = VerifierConfig::new("https://issuer.example", "https://api.example")
///     .leeway(Duration::from_secs(10));
/// ```
#[derive(Clone, Debug)]
pub struct VerifierConfig {
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) leeway: Duration,
    pub(crate) jwks_uri: Option<String>,
    pub(crate) min_refetch_interval: Duration,
    pub(crate) http_timeout: Duration,
    pub(crate) realm: Option<String>,
    pub(crate) resource_metadata_url: ResourceMetadataUrl,
    pub(crate) allow_insecure_http: bool,
    pub(crate) dpop: crate::DpopMode,
    pub(crate) public_url: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) enum ResourceMetadataUrl {
    /// RFC 9728 §3.1: derived from the first audience when it is an http(s) URL.
    Derived,
    Explicit(String),
    Omitted,
}

impl VerifierConfig {
    /// Trusts tokens from `issuer` (its `iss`, exactly) that name `audience` in `aud`.
    ///
    /// The JWKS location is learnt once from `{issuer}/.well-known/openid-configuration`
    /// unless [`VerifierConfig::jwks_uri`] sets it.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        VerifierConfig {
            issuer: issuer.into(),
            audiences: vec![audience.into()],
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            leeway: DEFAULT_LEEWAY,
            jwks_uri: None,
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
            realm: None,
            resource_metadata_url: ResourceMetadataUrl::Derived,
            allow_insecure_http: false,
            dpop: crate::DpopMode::Allowed,
            public_url: None,
        }
    }

    /// RFC 9449: whether plain Bearer tokens are accepted too (default), or only DPoP-bound
    /// tokens with their proofs. DPoP-bound tokens always need their proof.
    pub fn dpop(mut self, mode: crate::DpopMode) -> Self {
        self.dpop = mode;
        self
    }

    /// The URL clients address this resource server at (scheme, host, port), against which a
    /// DPoP proof's `htu` is checked (`htu` = this + the request path). Default: the first
    /// audience when it is an http(s) URL.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// The base of DPoP `htu`s, without a trailing slash.
    pub(crate) fn public_base(&self) -> Option<String> {
        self.public_url
            .clone()
            .or_else(|| {
                self.audiences
                    .first()
                    .filter(|aud| aud.starts_with("https://") || aud.starts_with("http://"))
                    .cloned()
            })
            .map(|url| url.trim_end_matches('/').to_owned())
    }

    /// Allows fetching discovery and keys over plain http from hosts other than loopback. Keys
    /// fetched in clear can be replaced in transit, so by default only https (and http on
    /// 127.0.0.1, ::1 or localhost, for development) is used.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Accepts one more audience: a token passes when its `aud` names any of them.
    pub fn also_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Replaces the algorithm allow-list (default RS256, ES256, EdDSA).
    ///
    /// # Security
    /// HS* algorithms are refused when the verifier is built: a public key must never be used
    /// as an HMAC secret. `none` cannot be expressed.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock-skew leeway for `exp`, `nbf` and `iat` (default 30 s, at most 300 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Fetches keys from this JWKS URL instead of learning it by OpenID discovery, for issuers
    /// that publish no discovery document.
    pub fn jwks_uri(mut self, jwks_uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(jwks_uri.into());
        self
    }

    /// At most one refetch per `interval` when tokens name unknown `kid`s (default 10 s).
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// Timeout of each discovery or JWKS request (default 5 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// The `realm` of `WWW-Authenticate` challenges (default: the first audience).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// The RFC 9728 metadata URL sent as `resource_metadata=` in challenges.
    ///
    /// By default it is derived from the first audience when that is an http(s) URL
    /// (RFC 9728 §3.1), and omitted otherwise.
    pub fn resource_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.resource_metadata_url = ResourceMetadataUrl::Explicit(url.into());
        self
    }

    /// Sends no `resource_metadata=` parameter in challenges.
    pub fn without_resource_metadata(mut self) -> Self {
        self.resource_metadata_url = ResourceMetadataUrl::Omitted;
        self
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Checks everything that does not need the network; called by every constructor.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.issuer.is_empty() {
            return Err(Error::Config("the issuer is empty".into()));
        }
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err(Error::Config("an audience is empty".into()));
        }
        if self.algorithms.is_empty() {
            return Err(Error::Config("the algorithm allow-list is empty".into()));
        }
        if let Some(alg) = self
            .algorithms
            .iter()
            .find(|alg| alg.family() == AlgorithmFamily::Hmac)
        {
            return Err(Error::Config(format!(
                "{alg:?} is not allowed: a resource server verifies with public keys only"
            )));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(Error::Config(format!(
                "the leeway must be at most {} s",
                MAX_LEEWAY.as_secs()
            )));
        }
        if let Some(jwks_uri) = &self.jwks_uri {
            parse_http_url("jwks_uri", jwks_uri)?;
        }
        Ok(())
    }

    /// The URL where keys are fetched from: the explicit `jwks_uri`, or the discovery document;
    /// https unless loopback or [`VerifierConfig::allow_insecure_http`].
    pub(crate) fn key_location(&self) -> Result<KeyLocation, Error> {
        let allow_http = self.allow_insecure_http;
        match &self.jwks_uri {
            Some(jwks_uri) => Ok(KeyLocation::JwksUri(secure_url(
                "jwks_uri",
                parse_http_url("jwks_uri", jwks_uri)?,
                allow_http,
            )?)),
            None => {
                let issuer = parse_http_url("issuer", &self.issuer)?;
                let discovery = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.as_str().trim_end_matches('/')
                );
                Ok(KeyLocation::Discovery {
                    url: secure_url("issuer", parse_http_url("issuer", &discovery)?, allow_http)?,
                    allow_http,
                })
            }
        }
    }

    pub(crate) fn realm_or_default(&self) -> String {
        self.realm
            .clone()
            .unwrap_or_else(|| self.audiences[0].clone())
    }

    pub(crate) fn resource_metadata(&self) -> Option<String> {
        match &self.resource_metadata_url {
            ResourceMetadataUrl::Derived => well_known_url(&self.audiences[0]),
            ResourceMetadataUrl::Explicit(url) => Some(url.clone()),
            ResourceMetadataUrl::Omitted => None,
        }
    }
}

/// Where the issuer's keys come from.
#[derive(Clone, Debug)]
pub(crate) enum KeyLocation {
    /// OpenID Connect Discovery 1.0 §4: fetched once to learn `jwks_uri` (which must be https
    /// too, unless `allow_http`).
    Discovery {
        /// The discovery document's URL.
        url: Url,
        /// Plain http from non-loopback hosts was allowed.
        allow_http: bool,
    },
    JwksUri(Url),
}

/// https, or http on a loopback host (127.0.0.0/8, ::1, localhost), or anything http(s) when
/// insecure http was allowed.
pub(crate) fn is_secure_transport(url: &Url, allow_http: bool) -> bool {
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    url.scheme() == "https" || allow_http || loopback
}

fn secure_url(name: &str, url: Url, allow_http: bool) -> Result<Url, Error> {
    if is_secure_transport(&url, allow_http) {
        Ok(url)
    } else {
        Err(Error::Config(format!(
            "{name} {url} is plain http on a host that is not loopback: keys fetched in clear can be replaced in transit; use https, or allow_insecure_http for a lab"
        )))
    }
}

fn parse_http_url(name: &str, text: &str) -> Result<Url, Error> {
    let url =
        Url::parse(text).map_err(|_| Error::Config(format!("{name} {text:?} is not a URL")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config(format!(
            "{name} {text:?} must be an http(s) URL"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(config: VerifierConfig, expected_error: Option<&str>) {
        match (config.validate(), expected_error) {
            (Ok(()), None) => {}
            (Err(Error::Config(text)), Some(expected)) => {
                assert!(text.contains(expected), "{text}")
            }
            (result, expected) => panic!("got {result:?}, expected {expected:?}"),
        }
    }

    fn base() -> VerifierConfig {
        VerifierConfig::new("https://issuer.example", "https://api.example")
    }

    #[test]
    fn validation_table() {
        check(base(), None);
        check(VerifierConfig::new("", "a"), Some("issuer"));
        check(VerifierConfig::new("https://i", ""), Some("audience"));
        check(base().also_audience(""), Some("audience"));
        check(base().algorithms([]), Some("allow-list"));
        check(
            base().algorithms([Algorithm::RS256, Algorithm::HS256]),
            Some("HS256"),
        );
        check(base().algorithms([Algorithm::HS512]), Some("HS512"));
        check(base().algorithms([Algorithm::PS256]), None);
        check(base().leeway(Duration::from_secs(301)), Some("leeway"));
        check(base().leeway(Duration::ZERO), None);
        check(base().jwks_uri("file:///etc/passwd"), Some("http(s)"));
        check(base().jwks_uri("not a url"), Some("not a URL"));
    }

    #[test]
    fn keys_come_over_https_unless_loopback_or_allowed() {
        let location = |issuer: &str, jwks_uri: Option<&str>, allow: bool| {
            let mut config =
                VerifierConfig::new(issuer, "https://api.example").allow_insecure_http(allow);
            if let Some(jwks_uri) = jwks_uri {
                config = config.jwks_uri(jwks_uri);
            }
            config
                .key_location()
                .map(|_| ())
                .map_err(|err| err.to_string())
        };
        let cases: &[(&str, Option<&str>, bool, bool)] = &[
            ("https://id.example", None, false, true),
            ("http://127.0.0.1:8080", None, false, true),
            ("http://127.9.9.9:8080", None, false, true),
            ("http://[::1]:8080", None, false, true),
            ("http://localhost:8080", None, false, true),
            ("http://LOCALHOST:8080", None, false, true),
            ("http://id.example", None, false, false),
            ("http://10.0.0.5:8080", None, false, false),
            ("http://localhost.evil.example", None, false, false),
            ("http://id.example", None, true, true),
            (
                "https://id.example",
                Some("http://keys.example/jwks"),
                false,
                false,
            ),
            (
                "https://id.example",
                Some("http://keys.example/jwks"),
                true,
                true,
            ),
            (
                "https://id.example",
                Some("http://127.0.0.1:9/jwks"),
                false,
                true,
            ),
            (
                "https://id.example",
                Some("https://keys.example/jwks"),
                false,
                true,
            ),
        ];
        for (issuer, jwks_uri, allow, ok) in cases {
            let result = location(issuer, *jwks_uri, *allow);
            assert_eq!(
                result.is_ok(),
                *ok,
                "{issuer} {jwks_uri:?} allow={allow}: {result:?}"
            );
            if let Err(message) = result {
                assert!(
                    message.contains("plain http") && message.contains("allow_insecure_http"),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn discovery_url_is_built_from_the_issuer() {
        let cases = [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/.well-known/openid-configuration",
            ),
            (
                "https://issuer.example/",
                "https://issuer.example/.well-known/openid-configuration",
            ),
            (
                "https://host/tenant",
                "https://host/tenant/.well-known/openid-configuration",
            ),
        ];
        for (issuer, expected) in cases {
            match VerifierConfig::new(issuer, "a").key_location().unwrap() {
                KeyLocation::Discovery { url, .. } => assert_eq!(url.as_str(), expected),
                other => panic!("{other:?}"),
            }
        }
        let explicit = base()
            .jwks_uri("https://keys.example/jwks")
            .key_location()
            .unwrap();
        assert!(
            matches!(explicit, KeyLocation::JwksUri(url) if url.as_str() == "https://keys.example/jwks")
        );
    }

    #[test]
    fn challenge_defaults_come_from_the_first_audience() {
        let config = base().also_audience("urn:other");
        assert_eq!(config.realm_or_default(), "https://api.example");
        assert_eq!(
            config.resource_metadata().as_deref(),
            Some("https://api.example/.well-known/oauth-protected-resource")
        );
        assert_eq!(
            VerifierConfig::new("i", "urn:api").resource_metadata(),
            None
        );
        assert_eq!(base().without_resource_metadata().resource_metadata(), None);
        assert_eq!(
            base()
                .resource_metadata_url("https://x/m")
                .realm("r")
                .resource_metadata()
                .as_deref(),
            Some("https://x/m")
        );
    }
}
