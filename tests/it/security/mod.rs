//! Attacks against running servers, grouped by endpoint. Each case is a request as an attacker
//! would send it: oversized, duplicated, malformed, replayed, from the wrong client, or asking
//! for more than it may have. Each asserts the exact status and error code, that nothing was
//! issued (no token in the body, no code in a redirect), and that the server still answers a
//! normal request afterwards. Behaviour-specific suites elsewhere go deeper; this is the
//! attacker's checklist in one place (`cargo test -p tests security`).

mod authorize;
mod browser;
mod registration;
mod resource;
mod token;
mod token_management;

use reqwest::{Method, StatusCode};

use crate::support::{TestProvider, basic_header};

/// Where the error code is expected.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// RFC 6749 §5.2 / RFC 7591 §3.2.2 JSON `error`.
    Json(&'static str),
    /// RFC 6750 §3: `WWW-Authenticate: Bearer` with this `error` (or none: no credentials).
    Bearer(Option<&'static str>),
    /// The provider's HTML error page with this code (never a redirect).
    Page(&'static str),
    /// A redirect to the client carrying this `error` (and no code).
    Redirect(&'static str),
    /// An HTML page (not a redirect) that shows the problem in its form.
    Html,
    /// Only the status (e.g. 413 from the body limit, 405).
    Status,
}

/// One hostile request.
pub struct Attack {
    /// What it tries.
    pub name: String,
    /// Method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// Body and its content type.
    pub body: Option<(&'static str, Vec<u8>)>,
    /// Expected status.
    pub status: StatusCode,
    /// Expected error.
    pub expect: Expect,
}

impl Attack {
    /// A request without body.
    pub fn get(name: impl Into<String>, url: String, status: StatusCode, expect: Expect) -> Self {
        Attack {
            name: name.into(),
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
            status,
            expect,
        }
    }

    /// A form POST, with HTTP Basic when `basic` is given.
    pub fn form(
        name: impl Into<String>,
        url: String,
        basic: Option<(&str, &str)>,
        pairs: &[(&str, &str)],
        status: StatusCode,
        expect: Expect,
    ) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let mut attack = Attack {
            name: name.into(),
            method: Method::POST,
            url,
            headers: Vec::new(),
            body: Some(("application/x-www-form-urlencoded", body.into_bytes())),
            status,
            expect,
        };
        if let Some((id, secret)) = basic {
            attack
                .headers
                .push(("authorization", basic_header(id, secret)));
        }
        attack
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Replaces the body.
    pub fn raw_body(mut self, content_type: &'static str, body: Vec<u8>) -> Self {
        self.body = Some((content_type, body));
        self
    }
}

/// Sends every attack with a fresh client (no cookies, no redirects followed) and checks it.
/// Returns how many ran.
pub async fn run(provider: &TestProvider, attacks: Vec<Attack>) -> usize {
    let count = attacks.len();
    for attack in attacks {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        let mut request = http.request(attack.method.clone(), &attack.url);
        for (name, value) in &attack.headers {
            request = request.header(*name, value);
        }
        if let Some((content_type, body)) = &attack.body {
            request = request
                .header("content-type", *content_type)
                .body(body.clone());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", attack.name));
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.unwrap_or_default();
        let name = &attack.name;
        assert_eq!(status, attack.status, "{name}: status ({text})");
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{name}");
        match attack.expect {
            Expect::Json(code) => {
                let json: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|_| panic!("{name}: not JSON: {text}"));
                assert_eq!(json["error"], code, "{name}: {text}");
                assert!(json["error_description"].is_string(), "{name}: {text}");
            }
            Expect::Bearer(code) => {
                assert!(
                    challenge.starts_with("Bearer"),
                    "{name}: challenge {challenge:?}"
                );
                match code {
                    Some(code) => assert!(
                        challenge.contains(&format!("error=\"{code}\"")),
                        "{name}: challenge {challenge:?}"
                    ),
                    None => assert!(!challenge.contains("error="), "{name}: {challenge:?}"),
                }
            }
            Expect::Page(code) => {
                assert!(
                    content_type.starts_with("text/html"),
                    "{name}: {content_type}"
                );
                assert!(location.is_empty(), "{name}: redirected to {location}");
                let shown = text
                    .split_once("<code>")
                    .and_then(|(_, rest)| rest.split_once("</code>"))
                    .map(|(code, _)| code);
                assert_eq!(shown, Some(code), "{name}: the page's error code");
            }
            Expect::Redirect(code) => {
                let url = url::Url::parse(&location)
                    .unwrap_or_else(|_| panic!("{name}: Location {location:?}"));
                let error = url
                    .query_pairs()
                    .find(|(key, _)| key == "error")
                    .map(|(_, value)| value.into_owned());
                assert_eq!(error.as_deref(), Some(code), "{name}: {location}");
            }
            Expect::Html => {
                assert!(
                    content_type.starts_with("text/html"),
                    "{name}: {content_type}"
                );
                assert!(location.is_empty(), "{name}: redirected to {location}");
            }
            Expect::Status => {}
        }
        // Nothing issued.
        for issued in [
            "\"access_token\"",
            "\"refresh_token\"",
            "\"id_token\"",
            "\"device_code\"",
            "\"request_uri\"",
            "\"client_secret\"",
        ] {
            assert!(!text.contains(issued), "{name}: {issued} in {text}");
        }
        assert!(!location.contains("code="), "{name}: a code in {location}");
        // Still up.
        let health = http
            .get(provider.url("/healthz"))
            .send()
            .await
            .expect("healthz");
        assert_eq!(
            health.status(),
            StatusCode::OK,
            "{name}: the provider stopped answering"
        );
    }
    count
}
