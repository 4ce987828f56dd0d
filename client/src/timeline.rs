//! The flow timeline: every HTTP exchange between the browser, this client, the provider and the
//! resource server, in order, with the parameters that matter, the answer, the decoded tokens
//! and a sentence on why it happens (with the spec section).
//!
//! # Security
//! Values are masked when an [`Exchange`] is *built*, so nothing secret is ever stored here:
//! passwords, `client_secret` and `code_verifier` become `•••` ([`mask::secret`]); codes and
//! tokens are shortened to their first and last characters ([`mask::shorten`]). Decoded JWTs
//! show header and claims, never the signature.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::jwt;

/// The four parties of the flow: one lane each in the sequence diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lane {
    /// The user's browser (the user agent of RFC 6749).
    Browser,
    /// This relying party (the OAuth client).
    Client,
    /// The OpenID provider (the authorization server).
    Provider,
    /// The resource server (the notes API).
    Resource,
}

impl Lane {
    /// Every lane, left to right.
    pub const ALL: [Lane; 4] = [Lane::Browser, Lane::Client, Lane::Provider, Lane::Resource];

    /// The display name.
    pub fn name(self) -> &'static str {
        match self {
            Lane::Browser => "Browser",
            Lane::Client => "Client",
            Lane::Provider => "Provider",
            Lane::Resource => "Resource",
        }
    }

    /// Lower-case name, for CSS classes.
    pub fn css(self) -> &'static str {
        match self {
            Lane::Browser => "browser",
            Lane::Client => "client",
            Lane::Provider => "provider",
            Lane::Resource => "resource",
        }
    }

    /// Position from the left (0-based).
    pub fn index(self) -> usize {
        match self {
            Lane::Browser => 0,
            Lane::Client => 1,
            Lane::Provider => 2,
            Lane::Resource => 3,
        }
    }
}

/// How an exchange ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It did what the flow needs.
    Ok,
    /// The other side refused it (what an attack should get).
    Refused,
    /// Something failed that should not have.
    Failed,
}

impl Outcome {
    /// Lower-case name, for CSS classes.
    pub fn css(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }
}

/// A name and an already-masked value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Parameter or header name.
    pub name: String,
    /// The value as shown (masked or shortened where needed).
    pub value: String,
}

/// The request half of an exchange.
#[derive(Clone, Debug)]
pub struct RequestView {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The URL without its query (query parameters are listed in `fields`).
    pub url: String,
    /// Query or form parameters (masked).
    pub fields: Vec<Field>,
    /// Headers worth showing (masked).
    pub headers: Vec<Field>,
}

/// The response half of an exchange.
#[derive(Clone, Debug)]
pub struct ResponseView {
    /// HTTP status code.
    pub status: u16,
    /// Headers worth showing (`Location`, `WWW-Authenticate`, ...), masked.
    pub headers: Vec<Field>,
    /// A short, masked summary of the body.
    pub body: String,
}

/// A decoded JWT for display.
#[derive(Clone, Debug)]
pub struct TokenView {
    /// "ID token", "Access token", ...
    pub label: String,
    /// Pretty-printed JOSE header.
    pub header: String,
    /// Pretty-printed claims.
    pub payload: String,
    /// What is known about the signature ("verified: RS256, kid …", "not verified", ...).
    pub signature: String,
    /// `exp`, for countdowns.
    pub expires_at: Option<i64>,
}

impl TokenView {
    /// Decodes `token` for display; `None` when it is not a JWT (e.g. an opaque refresh token).
    pub fn decode(label: &str, token: &str, signature: impl Into<String>) -> Option<TokenView> {
        let decoded = jwt::decode(token)?;
        Some(TokenView {
            label: label.to_owned(),
            header: jwt::pretty(&decoded.header),
            payload: jwt::pretty(&decoded.payload),
            signature: signature.into(),
            expires_at: decoded.claim_i64("exp"),
        })
    }
}

/// One step of the flow: usually an HTTP request and its response, sometimes a note about work
/// the client does on its own (generating PKCE values, validating an ID token).
#[derive(Clone, Debug)]
pub struct Exchange {
    /// A short title ("Token request", "Call GET /api/me", ...).
    pub title: String,
    /// Who sends.
    pub from: Lane,
    /// Who receives (equal to `from` for a note).
    pub to: Lane,
    /// The request; `None` for a note.
    pub request: Option<RequestView>,
    /// The response, when there was one.
    pub response: Option<ResponseView>,
    /// One or two sentences: why this happens and what to look at.
    pub explanation: String,
    /// The spec sections that define it ("RFC 6749 §4.1.3").
    pub spec: String,
    /// Decoded tokens carried by this exchange.
    pub tokens: Vec<TokenView>,
    /// Extra lines, e.g. the checks of an ID token validation.
    pub notes: Vec<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// When it was recorded (unix seconds).
    pub at: i64,
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

impl Exchange {
    /// A request from `from` to `to`. Query parameters of `url` are moved into the field list
    /// (masked), so the URL shown never carries a secret.
    pub fn request(from: Lane, to: Lane, title: &str, method: &str, url: &str) -> Exchange {
        let (base, fields) = split_url(url);
        Exchange {
            title: title.to_owned(),
            from,
            to,
            request: Some(RequestView {
                method: method.to_owned(),
                url: base,
                fields,
                headers: Vec::new(),
            }),
            response: None,
            explanation: String::new(),
            spec: String::new(),
            tokens: Vec::new(),
            notes: Vec::new(),
            outcome: Outcome::Ok,
            at: unix_now(),
        }
    }

    /// Work `lane` does on its own (no HTTP).
    pub fn note(lane: Lane, title: &str) -> Exchange {
        Exchange {
            title: title.to_owned(),
            from: lane,
            to: lane,
            request: None,
            response: None,
            explanation: String::new(),
            spec: String::new(),
            tokens: Vec::new(),
            notes: Vec::new(),
            outcome: Outcome::Ok,
            at: unix_now(),
        }
    }

    /// Whether this is a note rather than a request.
    pub fn is_note(&self) -> bool {
        self.request.is_none()
    }

    /// Adds a request parameter, masked by its name ([`mask::param`]).
    pub fn field(mut self, name: &str, value: &str) -> Self {
        if let Some(request) = &mut self.request {
            request.fields.push(Field {
                name: name.to_owned(),
                value: mask::param(name, value),
            });
        }
        self
    }

    /// Adds a request header; `Authorization` and `Cookie` values are masked.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Some(request) = &mut self.request {
            request.headers.push(Field {
                name: name.to_owned(),
                value: mask::header(name, value),
            });
        }
        self
    }

    /// Sets the explanation and the spec sections.
    pub fn explain(mut self, explanation: &str, spec: &str) -> Self {
        explanation.clone_into(&mut self.explanation);
        spec.clone_into(&mut self.spec);
        self
    }

    /// Adds an extra line (a check, a computed value).
    pub fn with_note(mut self, line: impl Into<String>) -> Self {
        self.notes.push(line.into());
        self
    }

    /// Adds a decoded token.
    pub fn with_token(mut self, token: Option<TokenView>) -> Self {
        self.tokens.extend(token);
        self
    }

    /// Sets the outcome.
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// Records the response: status, the interesting headers, and a masked body summary.
    pub fn respond(mut self, status: u16, headers: Vec<Field>, body: String) -> Self {
        self.response = Some(ResponseView {
            status,
            headers,
            body,
        });
        if status >= 400 {
            self.outcome = Outcome::Refused;
        }
        self
    }

    /// The title with the request line, for one-line lists.
    pub fn headline(&self) -> String {
        match &self.request {
            Some(request) => format!("{} {}", request.method, path_of(&request.url)),
            None => self.title.clone(),
        }
    }
}

/// The path of a URL (for compact labels); the whole text when it does not parse.
pub fn path_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => parsed.path().to_owned(),
        Err(_) => url.to_owned(),
    }
}

/// Splits `url` into its text without the query and the masked query parameters.
fn split_url(url: &str) -> (String, Vec<Field>) {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let fields = parsed
                .query_pairs()
                .map(|(name, value)| Field {
                    value: mask::param(&name, &value),
                    name: name.into_owned(),
                })
                .collect();
            parsed.set_query(None);
            parsed.set_fragment(None);
            (parsed.to_string(), fields)
        }
        Err(_) => (url.to_owned(), Vec::new()),
    }
}

/// Masking rules, applied when values enter the timeline.
pub mod mask {
    use serde_json::Value;

    /// Parameters that are secrets: never shown at all.
    const SECRETS: &[&str] = &["client_secret", "code_verifier", "password"];
    /// Parameters that are bearer credentials or one-time codes: shown shortened.
    const CREDENTIALS: &[&str] = &[
        "code",
        "access_token",
        "id_token",
        "refresh_token",
        "id_token_hint",
        "token",
        "session",
        "client_assertion",
        "subject_token",
        "actor_token",
        "dpop",
    ];

    /// Replaces a secret with dots and its length.
    pub fn secret(value: &str) -> String {
        format!("•••••• (hidden, {} chars)", value.chars().count())
    }

    /// Keeps the first 10 and last 6 characters of a long credential.
    pub fn shorten(value: &str) -> String {
        let chars: Vec<char> = value.chars().collect();
        if chars.len() <= 20 {
            let head: String = chars.iter().take(4).collect();
            return format!("{head}… ({} chars)", chars.len());
        }
        let head: String = chars.iter().take(10).collect();
        let tail: String = chars[chars.len() - 6..].iter().collect();
        format!("{head}…{tail} ({} chars)", chars.len())
    }

    /// Masks a parameter by its name; other values are shown (cut at 300 characters).
    pub fn param(name: &str, value: &str) -> String {
        let lower = name.to_ascii_lowercase();
        if SECRETS.contains(&lower.as_str()) {
            secret(value)
        } else if CREDENTIALS.contains(&lower.as_str()) {
            shorten(value)
        } else if value.chars().count() > 300 {
            let head: String = value.chars().take(300).collect();
            format!("{head}…")
        } else {
            value.to_owned()
        }
    }

    /// Masks a header value: credentials keep their scheme only.
    pub fn header(name: &str, value: &str) -> String {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "authorization" => match value.split_once(' ') {
                Some((scheme, credential)) if scheme.eq_ignore_ascii_case("basic") => {
                    format!("{scheme} {}", secret(credential))
                }
                Some((scheme, credential)) => format!("{scheme} {}", shorten(credential)),
                None => secret(value),
            },
            "cookie" | "set-cookie" => value
                .split(';')
                .next()
                .and_then(|pair| pair.split_once('='))
                .map_or_else(
                    || secret(value),
                    |(cookie, content)| format!("{}={}", cookie.trim(), shorten(content)),
                ),
            "location" => location(value),
            _ => param(name, value),
        }
    }

    /// Masks the query of a `Location` URL (codes, hints), keeping everything else.
    pub fn location(value: &str) -> String {
        let Some((base, query)) = value.split_once('?') else {
            return value.to_owned();
        };
        let masked: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(name, content)| format!("{name}={}", param(&name, &content)))
            .collect();
        format!("{base}?{}", masked.join("&"))
    }

    /// Masks a JSON body recursively by member name.
    pub fn json(value: &Value) -> Value {
        match value {
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(name, member)| {
                        let masked = match member {
                            Value::String(text) => Value::String(param(name, text)),
                            other => json(other),
                        };
                        (name.clone(), masked)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(json).collect()),
            other => other.clone(),
        }
    }
}

/// A short, masked summary of a response body: pretty JSON (masked), the title of an HTML
/// page, or the first line of text.
pub fn summarise_body(content_type: &str, body: &str) -> String {
    const LIMIT: usize = 2000;
    if content_type.contains("json")
        && let Ok(value) = serde_json::from_str::<Value>(body)
    {
        let text = jwt::pretty(&mask::json(&value));
        if text.chars().count() > LIMIT {
            let head: String = text.chars().take(LIMIT).collect();
            return format!("{head}\n…");
        }
        return text;
    }
    if content_type.contains("html") {
        let title = between(body, "<h1>", "</h1>")
            .or_else(|| between(body, "<title>", "</title>"))
            .unwrap_or("(untitled)");
        return format!("HTML page: \"{}\"", title.trim());
    }
    let first_line = body.lines().next().unwrap_or_default();
    let cut: String = first_line.chars().take(200).collect();
    if body.is_empty() {
        "(empty body)".to_owned()
    } else {
        cut
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// The exchanges of one browser session (web) or one walkthrough run, in order.
///
/// Shared between tasks (`Arc<Timeline>`); the lock is held only to push or copy.
#[derive(Debug, Default)]
pub struct Timeline {
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// `(id, exchange)` in order of recording.
    items: VecDeque<(u64, Exchange)>,
    next_id: u64,
}

/// Identifies a recorded exchange, to add its response later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExchangeId(u64);

/// The most exchanges kept; older ones are dropped first.
pub const MAX_ENTRIES: usize = 500;

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Timeline {
        Timeline::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends an exchange.
    pub fn record(&self, exchange: Exchange) -> ExchangeId {
        let mut entries = self.lock();
        if entries.items.len() == MAX_ENTRIES {
            entries.items.pop_front();
        }
        let id = entries.next_id;
        entries.next_id += 1;
        entries.items.push_back((id, exchange));
        ExchangeId(id)
    }

    /// Changes a recorded exchange (e.g. adds the response once it is known); a no-op when
    /// it was dropped already.
    pub fn update(&self, id: ExchangeId, change: impl FnOnce(Exchange) -> Exchange) {
        let mut entries = self.lock();
        if let Some(slot) = entries
            .items
            .iter_mut()
            .find(|(item_id, _)| *item_id == id.0)
        {
            let placeholder = Exchange::note(Lane::Client, "");
            let exchange = std::mem::replace(&mut slot.1, placeholder);
            slot.1 = change(exchange);
        }
    }

    /// A copy of every exchange so far.
    pub fn snapshot(&self) -> Vec<Exchange> {
        self.lock()
            .items
            .iter()
            .map(|(_, exchange)| exchange.clone())
            .collect()
    }

    /// The exchanges recorded after the first `start` ones.
    pub fn since(&self, start: usize) -> Vec<Exchange> {
        self.lock()
            .items
            .iter()
            .skip(start)
            .map(|(_, exchange)| exchange.clone())
            .collect()
    }

    /// How many exchanges are kept.
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_masking_table() {
        let check = |name: &str, value: &str, expected: &str| {
            assert_eq!(mask::param(name, value), expected, "{name}");
        };
        check(
            "client_secret",
            "demo-web-secret",
            "•••••• (hidden, 15 chars)",
        );
        check(
            "code_verifier",
            &"a".repeat(64),
            "•••••• (hidden, 64 chars)",
        );
        check(
            "password",
            "alice-password-2026",
            "•••••• (hidden, 19 chars)",
        );
        check(
            "code",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "abcdefghij…BCDEFG (43 chars)",
        );
        check("refresh_token", "short", "shor… (5 chars)");
        check("scope", "openid profile", "openid profile");
        check(
            "redirect_uri",
            "http://127.0.0.1:8082/callback",
            "http://127.0.0.1:8082/callback",
        );
    }

    #[test]
    fn urls_lose_their_query_and_keep_masked_fields() {
        let exchange = Exchange::request(
            Lane::Browser,
            Lane::Client,
            "Callback",
            "GET",
            "http://127.0.0.1:8082/callback?code=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG&state=xyz&iss=http%3A%2F%2F127.0.0.1%3A8080",
        );
        let request = exchange.request.unwrap();
        assert_eq!(request.url, "http://127.0.0.1:8082/callback");
        assert_eq!(request.fields[0].value, "abcdefghij…BCDEFG (43 chars)");
        assert_eq!(request.fields[1].value, "xyz");
        assert_eq!(request.fields[2].value, "http://127.0.0.1:8080");
    }

    #[test]
    fn headers_and_json_bodies_are_masked() {
        assert_eq!(
            mask::header("Authorization", "Basic ZGVtby13ZWI6ZGVtby13ZWItc2VjcmV0"),
            "Basic •••••• (hidden, 32 chars)"
        );
        assert!(
            mask::header(
                "Authorization",
                "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig-sig-sig"
            )
            .starts_with("Bearer eyJhbGciOi…")
        );
        assert_eq!(
            mask::location("http://x/cb?code=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG&state=s1"),
            "http://x/cb?code=abcdefghij…BCDEFG (43 chars)&state=s1"
        );
        let body = r#"{"access_token":"eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.payload.signature","token_type":"Bearer","refresh_token":"0123456789abcdefghijklmnop"}"#;
        let summary = summarise_body("application/json", body);
        assert!(summary.contains("\"token_type\": \"Bearer\""));
        assert!(!summary.contains("signature"));
        assert!(!summary.contains("0123456789abcdefghijklmnop"));
    }

    #[test]
    fn html_bodies_are_summarised_by_heading() {
        assert_eq!(
            summarise_body(
                "text/html; charset=utf-8",
                "<html><h1>Sign in</h1><form></form>"
            ),
            "HTML page: \"Sign in\""
        );
    }

    #[test]
    fn timeline_keeps_order_and_a_bounded_size() {
        let timeline = Timeline::new();
        for index in 0..(MAX_ENTRIES + 3) {
            timeline.record(Exchange::note(Lane::Client, &format!("step {index}")));
        }
        assert_eq!(timeline.len(), MAX_ENTRIES);
        assert_eq!(timeline.snapshot()[0].title, "step 3");
        assert_eq!(
            timeline.since(MAX_ENTRIES - 1)[0].title,
            format!("step {}", MAX_ENTRIES + 2)
        );
        let id = timeline.record(Exchange::request(
            Lane::Browser,
            Lane::Client,
            "r",
            "GET",
            "http://x/",
        ));
        timeline.update(id, |exchange| {
            exchange.respond(303, Vec::new(), String::new())
        });
        assert_eq!(
            timeline
                .snapshot()
                .last()
                .unwrap()
                .response
                .as_ref()
                .unwrap()
                .status,
            303
        );
    }
}
