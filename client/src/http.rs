//! Sending one HTTP request and keeping what the timeline needs from the answer.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::timeline::{Field, mask, summarise_body};

/// Responses larger than this are refused: no honest answer in this flow comes close.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Timeout of every request the client makes.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client for back-channel calls (discovery, JWKS, token, userinfo, API).
///
/// Redirects are *not* followed: a token or JWKS endpoint that redirects is misconfigured or
/// hostile, and following it could send credentials elsewhere (SSRF, credential leaks).
pub fn back_channel_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent(concat!("demo-relying-party/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| Error::http("building the HTTP client", err))
}

/// A response read to the end (bounded by [`MAX_BODY_BYTES`]).
#[derive(Debug)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

/// Sends `request` and reads the whole answer.
pub async fn send(
    request: reqwest::RequestBuilder,
    context: &'static str,
) -> Result<RawResponse, Error> {
    let mut response = request
        .send()
        .await
        .map_err(|err| Error::http(context, err))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| Error::http(context, err))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Error::protocol(
                context,
                "the response body is larger than 1 MiB",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(RawResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

impl RawResponse {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// 2xx?
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The headers a learner should see, masked.
    pub fn shown_headers(&self) -> Vec<Field> {
        [
            "location",
            "www-authenticate",
            "cache-control",
            "set-cookie",
        ]
        .iter()
        .filter_map(|name| {
            self.header(name).map(|value| Field {
                name: canonical_header_name(name).to_owned(),
                value: mask::header(name, value),
            })
        })
        .collect()
    }

    /// A masked summary of the body.
    pub fn summary(&self) -> String {
        summarise_body(self.header("content-type").unwrap_or_default(), &self.body)
    }

    /// Parses a JSON body.
    pub fn json<T: DeserializeOwned>(&self, context: &'static str) -> Result<T, Error> {
        serde_json::from_str(&self.body).map_err(|err| {
            Error::protocol(
                context,
                format!("the JSON body does not have the expected shape ({err})"),
            )
        })
    }

    /// RFC 6749 §5.2: turns an error answer into [`Error::OAuth`] (or [`Error::Protocol`] when
    /// the body is not an error object).
    pub fn oauth_error(&self, context: &'static str) -> Error {
        match serde_json::from_str::<openapi::ErrorBody>(&self.body) {
            Ok(body) => Error::OAuth {
                context,
                status: self.status,
                error: body.error,
                description: body.error_description,
            },
            Err(_) => Error::protocol(
                context,
                format!("HTTP {} without an RFC 6749 §5.2 error body", self.status),
            ),
        }
    }
}

fn canonical_header_name(name: &str) -> &'static str {
    match name {
        "location" => "Location",
        "www-authenticate" => "WWW-Authenticate",
        "cache-control" => "Cache-Control",
        "set-cookie" => "Set-Cookie",
        _ => "Header",
    }
}
