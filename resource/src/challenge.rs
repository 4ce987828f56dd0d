//! RFC 6750 §3 responses: the `WWW-Authenticate: Bearer` challenge plus a JSON body.

use std::sync::Arc;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Response};
use axum::response::IntoResponse;
use serde_json::json;

use crate::Error;
use crate::error::ErrorCode;

/// The fixed parameters of every challenge of one protected resource.
#[derive(Debug)]
pub(crate) struct Challenge {
    pub(crate) realm: String,
    /// RFC 9728 §5.1: where clients find the protected-resource metadata.
    pub(crate) resource_metadata: Option<String>,
    /// Only DPoP is accepted: challenges name the DPoP scheme only.
    pub(crate) dpop_required: bool,
}

/// A refused request, rendered per RFC 6750 §3.
///
/// - no token: `401`, `WWW-Authenticate: Bearer realm="…", resource_metadata="…"`;
/// - bad token: `401`, `Bearer …, error="invalid_token", error_description="…"`;
/// - missing scope: `403`, `Bearer …, error="insufficient_scope", scope="…"`;
/// - malformed request: `400`, `Bearer …, error="invalid_request"`.
///
/// The body is JSON `{error, error_description}` ([`openapi::BearerErrorBody`]); for the
/// no-token case it has no `error`, as RFC 6750 §3.1 sends no code then. Responses carry
/// `Cache-Control: no-store`.
#[derive(Debug)]
pub struct Rejection {
    error: Error,
    challenge: Option<Arc<Challenge>>,
}

impl Rejection {
    pub(crate) fn new(error: Error, challenge: Option<Arc<Challenge>>) -> Rejection {
        Rejection { error, challenge }
    }

    /// The error this rejection renders.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The `WWW-Authenticate` value, or `None` for non-challenge errors (500, 503).
    pub fn www_authenticate(&self) -> Option<String> {
        let code = self.error.code();
        let code_text = match code {
            ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError => return None,
            other => other.as_str(),
        };
        let mut parameters: Vec<(&str, String)> = Vec::with_capacity(5);
        if let Some(challenge) = &self.challenge {
            parameters.push(("realm", challenge.realm.clone()));
        }
        if let Some(code_text) = code_text {
            parameters.push(("error", code_text.to_owned()));
            parameters.push(("error_description", self.error.description().into_owned()));
        }
        if let Error::InsufficientScope { required } = &self.error {
            parameters.push(("scope", required.clone()));
        }
        if let Some(url) = self
            .challenge
            .as_ref()
            .and_then(|challenge| challenge.resource_metadata.clone())
        {
            parameters.push(("resource_metadata", url));
        }
        let rendered: Vec<String> = parameters
            .into_iter()
            .map(|(name, value)| format!("{name}=\"{}\"", quoted_string_content(&value)))
            .collect();
        // RFC 9449 §7.1: DPoP problems (and every problem where only DPoP is accepted) get a
        // DPoP challenge with the accepted algorithms; the rest the RFC 6750 Bearer one (a
        // client that can do DPoP learns of it from the provider's metadata).
        let dpop_required = self
            .challenge
            .as_ref()
            .is_some_and(|challenge| challenge.dpop_required);
        let dpop_error = matches!(
            self.error,
            Error::InvalidDpopProof(_) | Error::WrongScheme(_)
        );
        let algs = format!("algs=\"{}\"", keys::dpop::ALGORITHMS.join(" "));
        let dpop = if rendered.is_empty() {
            format!("DPoP {algs}")
        } else {
            format!("DPoP {}, {algs}", rendered.join(", "))
        };
        let bearer = if rendered.is_empty() {
            "Bearer".to_owned()
        } else {
            format!("Bearer {}", rendered.join(", "))
        };
        Some(if dpop_required || dpop_error {
            dpop
        } else {
            bearer
        })
    }

    /// Renders the response into any body type that can be built from a `String`, so the
    /// layers work in any tower stack, not only axum's.
    pub(crate) fn into_http_response<B: From<String>>(self) -> Response<B> {
        let code = self.error.code();
        // RFC 6750 §3.1: a request without credentials gets no error code, in the challenge
        // or in the body; every other rejection names its RFC 6750 code.
        let body = match code.as_str() {
            Some(error) => json!({ "error": error, "error_description": self.error.description() }),
            None => json!({ "error_description": self.error.description() }),
        };
        let mut response = Response::new(B::from(body.to_string()));
        *response.status_mut() = code.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(value) = self
            .www_authenticate()
            .and_then(|value| HeaderValue::from_str(&value).ok())
        {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl From<Error> for Rejection {
    /// A rejection without realm or metadata URL (for errors raised in handlers).
    fn from(error: Error) -> Rejection {
        Rejection::new(error, None)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> axum::response::Response {
        self.into_http_response()
    }
}

/// RFC 9110 §5.6.4 quoted-string content: escapes `"` and `\`, drops what a header cannot carry.
fn quoted_string_content(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for character in value.chars() {
        match character {
            '"' | '\\' => {
                out.push('\\');
                out.push(character);
            }
            ' '..='~' => out.push(character),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge() -> Option<Arc<Challenge>> {
        Some(Arc::new(Challenge {
            realm: "notes".into(),
            resource_metadata: Some(
                "http://127.0.0.1:8081/.well-known/oauth-protected-resource".into(),
            ),
            dpop_required: false,
        }))
    }

    #[test]
    fn challenges_follow_rfc6750_section_3() {
        let metadata =
            r#"resource_metadata="http://127.0.0.1:8081/.well-known/oauth-protected-resource""#;
        let cases = [
            (
                Error::MissingToken,
                format!(r#"Bearer realm="notes", {metadata}"#),
            ),
            (
                Error::Expired,
                format!(
                    r#"Bearer realm="notes", error="invalid_token", error_description="The access token has expired.", {metadata}"#
                ),
            ),
            (
                Error::InsufficientScope {
                    required: "api:write".into(),
                },
                format!(
                    r#"Bearer realm="notes", error="insufficient_scope", error_description="The access token lacks the scope api:write.", scope="api:write", {metadata}"#
                ),
            ),
            (
                Error::InvalidRequest("send one Authorization header"),
                format!(
                    r#"Bearer realm="notes", error="invalid_request", error_description="Invalid request: send one Authorization header.", {metadata}"#
                ),
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(
                Rejection::new(error, challenge())
                    .www_authenticate()
                    .unwrap(),
                expected
            );
        }
    }

    #[test]
    fn infrastructure_errors_send_no_challenge() {
        assert_eq!(
            Rejection::new(Error::KeysUnavailable, challenge()).www_authenticate(),
            None
        );
        let response: Response<String> =
            Rejection::new(Error::KeysUnavailable, challenge()).into_http_response();
        assert_eq!(response.status(), 503);
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn without_challenge_parameters_the_bare_scheme_is_sent() {
        assert_eq!(
            Rejection::from(Error::MissingToken)
                .www_authenticate()
                .unwrap(),
            "Bearer"
        );
    }

    #[test]
    fn realm_values_are_escaped() {
        let challenge = Arc::new(Challenge {
            realm: "a \"quoted\" \\ realm\r\n".into(),
            resource_metadata: None,
            dpop_required: false,
        });
        let header = Rejection::new(Error::MissingToken, Some(challenge))
            .www_authenticate()
            .unwrap();
        assert_eq!(header, r#"Bearer realm="a \"quoted\" \\ realm""#);
        assert!(HeaderValue::from_str(&header).is_ok());
    }

    #[test]
    fn body_is_json_with_error_and_description() {
        let response: Response<String> =
            Rejection::new(Error::WrongAudience, challenge()).into_http_response();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["error"], "invalid_token");
        assert_eq!(
            body["error_description"],
            "The token is not intended for this resource (aud)."
        );
        let missing: Response<String> =
            Rejection::new(Error::MissingToken, challenge()).into_http_response();
        let body: serde_json::Value = serde_json::from_str(missing.body()).unwrap();
        assert!(
            body.get("error").is_none(),
            "no error code without credentials: {body}"
        );
        assert!(body["error_description"].is_string());
    }
}
