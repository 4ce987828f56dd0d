//! Raw HTTP answers and the wire-level checks shared by every area.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

/// An HTTP answer read to the end.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body text.
    pub text: String,
}

impl Reply {
    /// Reads status, headers and body.
    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("read the response body");
        Reply {
            status,
            headers,
            text,
        }
    }

    /// A header as text (`None` when absent or not ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Every value of a repeatable header (`Set-Cookie`).
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|err| {
            panic!("expected JSON ({err}), got {} {:?}", self.status, self.text)
        })
    }

    /// The `Set-Cookie` header that sets `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.header_all("set-cookie")
            .into_iter()
            .find(|cookie| cookie.starts_with(&prefix))
    }
}

/// The redirect back to the client, with its query parameters.
#[derive(Clone, Debug)]
pub struct Callback {
    /// The full URL.
    pub url: Url,
    pairs: Vec<(String, String)>,
}

impl Callback {
    /// Parses an absolute redirect location.
    pub fn parse(location: &str) -> Callback {
        let url =
            Url::parse(location).unwrap_or_else(|err| panic!("bad callback {location}: {err}"));
        let pairs = url.query_pairs().into_owned().collect();
        Callback { url, pairs }
    }

    /// The single value of a query parameter (panics when repeated).
    pub fn param(&self, name: &str) -> Option<&str> {
        let mut values = self.pairs.iter().filter(|(key, _)| key == name);
        let first = values.next().map(|(_, value)| value.as_str());
        assert!(
            values.next().is_none(),
            "{name} appears twice in {}",
            self.url
        );
        first
    }

    /// The URL without its query: what the client registered.
    pub fn endpoint(&self) -> String {
        let mut url = self.url.clone();
        url.set_query(None);
        url.to_string()
    }
}

/// 256 random bits as base64url (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// Turns `&[("a", "b")]` into owned pairs.
pub fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// Form-encodes pairs, repeated names kept.
pub fn encode(pairs: &[(String, String)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// `Authorization: Basic` for a client id and secret (RFC 6749 §2.3.1).
pub fn basic_header(client_id: &str, secret: &str) -> String {
    let encode_part =
        |part: &str| url::form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", encode_part(client_id), encode_part(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// The `Cache-Control` and `Content-Type` of a token-family JSON answer (RFC 6749 §5.1/§5.2).
pub fn assert_json_no_store(reply: &Reply, context: &str) {
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "{context}: Cache-Control"
    );
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{context}: Content-Type {content_type}"
    );
}

/// An RFC 6749 §5.2 error: status, `error`, a non-empty `error_description`, no caching.
pub fn assert_oauth_error(reply: &Reply, status: StatusCode, error: &str, context: &str) {
    assert!(
        reply.status.as_u16() < 500,
        "{context}: server error {}",
        reply.text
    );
    assert_eq!(reply.status, status, "{context}: status ({})", reply.text);
    let json = reply.json();
    assert_eq!(json["error"], error, "{context}: error ({})", reply.text);
    assert!(
        json["error_description"]
            .as_str()
            .is_some_and(|text| !text.is_empty()),
        "{context}: error_description ({})",
        reply.text
    );
    assert_json_no_store(reply, context);
}
