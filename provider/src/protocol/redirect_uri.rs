//! RFC 6749 §3.1.2 redirection endpoints, compared by exact string (OAuth 2.1 §4.1.3), with the
//! one RFC 8252 §7.3 exception: a native client's loopback IP redirect may use any port.

use crate::protocol::error::OAuthError;

/// A syntactically valid redirect URI: absolute, no fragment (RFC 6749 §3.1.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Parses an absolute URI without a fragment.
    pub fn parse(raw: &str) -> Result<Self, OAuthError> {
        let url = url::Url::parse(raw)
            .map_err(|_| OAuthError::invalid_request("redirect_uri is not an absolute URI"))?;
        if url.fragment().is_some() || raw.contains('#') {
            return Err(OAuthError::invalid_request(
                "redirect_uri must not contain a fragment",
            ));
        }
        Ok(RedirectUri(raw.to_owned()))
    }

    /// The URI as received (never normalised: matching is by exact string).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether the RFC 8252 §7.3 loopback-port exception may apply to a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopbackRule {
    /// Native public clients: `http://127.0.0.1` / `http://[::1]` redirects match on any port.
    AnyPort,
    /// Everyone else: exact string match only.
    ExactOnly,
}

/// RFC 6749 §3.1.2.3 / OAuth 2.1 §4.1.3: is `requested` one of the client's registered URIs?
///
/// Exact string comparison, except that under [`LoopbackRule::AnyPort`] a registered
/// `http://127.0.0.1/path` (or `[::1]`) matches a request for the same URI with any port
/// (RFC 8252 §7.3). `localhost` gets no exception (RFC 8252 §8.3 recommends the IP literal).
pub fn is_registered_redirect_uri(
    registered: &[String],
    requested: &RedirectUri,
    rule: LoopbackRule,
) -> bool {
    registered.iter().any(|candidate| {
        candidate == requested.as_str()
            || (rule == LoopbackRule::AnyPort && loopback_matches(candidate, requested.as_str()))
    })
}

fn loopback_matches(registered: &str, requested: &str) -> bool {
    let (Ok(registered), Ok(requested)) = (url::Url::parse(registered), url::Url::parse(requested))
    else {
        return false;
    };
    let is_loopback_ip = |url: &url::Url| {
        url.scheme() == "http"
            && matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback() && ip == std::net::Ipv4Addr::LOCALHOST)
            || url.scheme() == "http"
                && matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
    };
    is_loopback_ip(&registered)
        && is_loopback_ip(&requested)
        && registered.host() == requested.host()
        && registered.path() == requested.path()
        && registered.query() == requested.query()
        && registered.username().is_empty()
        && requested.username().is_empty()
        && requested.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(registered: &str, requested: &str, rule: LoopbackRule, expected: bool) {
        let parsed = match RedirectUri::parse(requested) {
            Ok(uri) => uri,
            Err(_) => {
                assert!(
                    !expected,
                    "{requested} did not parse but was expected to match"
                );
                return;
            }
        };
        assert_eq!(
            is_registered_redirect_uri(&[registered.to_owned()], &parsed, rule),
            expected,
            "registered {registered} requested {requested} rule {rule:?}"
        );
    }

    #[test]
    fn matching_table() {
        use LoopbackRule::{AnyPort, ExactOnly};
        let web = "https://app.example.com/callback";
        let cases: &[(&str, &str, LoopbackRule, bool)] = &[
            (web, "https://app.example.com/callback", ExactOnly, true),
            // prefix and suffix tricks
            (
                web,
                "https://app.example.com/callback/evil",
                ExactOnly,
                false,
            ),
            (web, "https://app.example.com/callbac", ExactOnly, false),
            (
                web,
                "https://app.example.com/callback?x=1",
                ExactOnly,
                false,
            ),
            (
                web,
                "https://app.example.com.evil.com/callback",
                ExactOnly,
                false,
            ),
            (
                web,
                "https://evil.com/?https://app.example.com/callback",
                ExactOnly,
                false,
            ),
            // path traversal and case are not normalised away
            (
                web,
                "https://app.example.com/callback/../callback",
                ExactOnly,
                false,
            ),
            (
                web,
                "https://app.example.com/x/../callback",
                ExactOnly,
                false,
            ),
            (web, "https://APP.example.com/callback", ExactOnly, false),
            (web, "http://app.example.com/callback", ExactOnly, false),
            // fragments are refused outright
            (
                web,
                "https://app.example.com/callback#frag",
                ExactOnly,
                false,
            ),
            // other port on a non-loopback host
            (web, "https://app.example.com:8443/callback", AnyPort, false),
            (
                "http://127.0.0.1:8082/callback",
                "http://127.0.0.1:9999/callback",
                ExactOnly,
                false,
            ),
            (
                "http://127.0.0.1:8082/callback",
                "http://127.0.0.1:8082/callback",
                ExactOnly,
                true,
            ),
            // RFC 8252 §7.3 loopback any port, native clients only
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:53123/callback",
                AnyPort,
                true,
            ),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1/callback",
                AnyPort,
                true,
            ),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:53123/callback",
                ExactOnly,
                false,
            ),
            (
                "http://[::1]/callback",
                "http://[::1]:4000/callback",
                AnyPort,
                true,
            ),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:53123/other",
                AnyPort,
                false,
            ),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:53123/callback?x=1",
                AnyPort,
                false,
            ),
            (
                "http://127.0.0.1/callback",
                "http://localhost:53123/callback",
                AnyPort,
                false,
            ),
            (
                "http://127.0.0.1/callback",
                "https://127.0.0.1:53123/callback",
                AnyPort,
                false,
            ),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.2:53123/callback",
                AnyPort,
                false,
            ),
            (
                "http://127.0.0.1/callback",
                "http://user@127.0.0.1:53123/callback",
                AnyPort,
                false,
            ),
            (
                "http://127.0.0.1/callback",
                "http://[::1]:53123/callback",
                AnyPort,
                false,
            ),
        ];
        for (registered, requested, rule, expected) in cases {
            check(registered, requested, *rule, *expected);
        }
    }

    #[test]
    fn parse_rejects_relative_and_fragment() {
        assert!(RedirectUri::parse("/callback").is_err());
        assert!(RedirectUri::parse("https://a.example/cb#x").is_err());
        assert!(RedirectUri::parse("com.example.app:/callback").is_ok());
    }
}
