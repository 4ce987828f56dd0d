//! Calling the resource server (the notes API) with the access token (RFC 6750 §2.1), and
//! reading its refusals (RFC 6750 §3).

use serde_json::{Value, json};

use crate::Error;
use crate::http::send;
use crate::timeline::{Exchange, Lane, Outcome, Timeline};

/// The calls the demo makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiCall {
    /// `GET /api/me`: any valid token.
    Me,
    /// `GET /api/notes`: needs `api:read`.
    ListNotes,
    /// `POST /api/notes {"text"}`: needs `api:write`.
    CreateNote(String),
}

impl ApiCall {
    /// `GET` or `POST`.
    pub fn method(&self) -> &'static str {
        match self {
            ApiCall::Me | ApiCall::ListNotes => "GET",
            ApiCall::CreateNote(_) => "POST",
        }
    }

    /// The path.
    pub fn path(&self) -> &'static str {
        match self {
            ApiCall::Me => "/api/me",
            ApiCall::ListNotes | ApiCall::CreateNote(_) => "/api/notes",
        }
    }

    fn explanation(&self) -> &'static str {
        match self {
            ApiCall::Me => {
                "The client presents the access token as a Bearer credential. The resource server verifies it \
                            offline (signature against the provider's JWKS, typ at+jwt, iss, aud, exp) and answers \
                            who the token speaks for."
            }
            ApiCall::ListNotes => {
                "Reading notes needs the api:read scope; the resource server checks the token's scope claim."
            }
            ApiCall::CreateNote(_) => "Writing a note needs the api:write scope.",
        }
    }
}

/// What the resource server answered.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// The JSON body (or the text wrapped in a string).
    pub body: Value,
    /// The parsed `WWW-Authenticate` challenge of a refusal.
    pub challenge: BearerChallenge,
}

impl ApiResponse {
    /// 2xx?
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The RFC 6750 error code from the challenge, else from the body.
    pub fn error_code(&self) -> Option<&str> {
        self.challenge
            .error
            .as_deref()
            .or_else(|| self.body.get("error").and_then(Value::as_str))
    }

    /// The error description from the challenge, else from the body.
    pub fn error_description(&self) -> Option<&str> {
        self.challenge
            .error_description
            .as_deref()
            .or_else(|| self.body.get("error_description").and_then(Value::as_str))
    }
}

/// The parameters of a `WWW-Authenticate: Bearer ...` challenge (RFC 6750 §3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// `error`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
    /// `scope` (for `insufficient_scope`).
    pub scope: Option<String>,
}

impl BearerChallenge {
    /// Parses `Bearer realm="x", error="invalid_token", error_description="..."`.
    pub fn parse(header: &str) -> BearerChallenge {
        let mut challenge = BearerChallenge::default();
        let Some(rest) = header
            .strip_prefix("Bearer")
            .or_else(|| header.strip_prefix("bearer"))
        else {
            return challenge;
        };
        let mut chars = rest.chars().peekable();
        loop {
            // Skip separators, read a name up to '='.
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let name: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
            if name.is_empty() || chars.next() != Some('=') {
                break;
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        other => value.push(other),
                    }
                }
            } else {
                value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
            }
            match name.trim() {
                "error" => challenge.error = Some(value),
                "error_description" => challenge.error_description = Some(value),
                "scope" => challenge.scope = Some(value),
                _ => {}
            }
        }
        challenge
    }
}

/// Calls the API with `access_token` and records the exchange under `title`.
pub async fn call(
    http: &reqwest::Client,
    resource: &str,
    access_token: &str,
    api_call: &ApiCall,
    title: &str,
    timeline: &Timeline,
) -> Result<ApiResponse, Error> {
    call_explained(
        http,
        resource,
        access_token,
        api_call,
        title,
        api_call.explanation(),
        timeline,
    )
    .await
}

/// [`call`] with an explanation of its own (the walkthrough's attacks say what the attacker does).
pub async fn call_explained(
    http: &reqwest::Client,
    resource: &str,
    access_token: &str,
    api_call: &ApiCall,
    title: &str,
    explanation: &str,
    timeline: &Timeline,
) -> Result<ApiResponse, Error> {
    const CONTEXT: &str = "calling the resource server";
    let url = format!("{}{}", resource.trim_end_matches('/'), api_call.path());
    let authorization = format!("Bearer {access_token}");
    let mut exchange =
        Exchange::request(Lane::Client, Lane::Resource, title, api_call.method(), &url)
            .header("Authorization", &authorization)
            .explain(explanation, "RFC 6750 §2.1, RFC 9068 §4");
    let mut request = match api_call {
        ApiCall::Me | ApiCall::ListNotes => http.get(&url),
        ApiCall::CreateNote(text) => {
            exchange = exchange.field("text", text);
            http.post(&url).json(&json!({ "text": text }))
        }
    };
    request = request.header(reqwest::header::AUTHORIZATION, authorization);
    let response = match send(request, CONTEXT).await {
        Ok(response) => response,
        Err(error) => {
            timeline.record(exchange.with_outcome(Outcome::Failed));
            return Err(error);
        }
    };
    timeline.record(exchange.respond(
        response.status,
        response.shown_headers(),
        response.summary(),
    ));
    let body = serde_json::from_str(&response.body)
        .unwrap_or_else(|_| Value::String(response.body.clone()));
    Ok(ApiResponse {
        status: response.status,
        body,
        challenge: BearerChallenge::parse(response.header("www-authenticate").unwrap_or_default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_parsing_table() {
        let check =
            |header: &str, error: Option<&str>, description: Option<&str>, scope: Option<&str>| {
                let parsed = BearerChallenge::parse(header);
                assert_eq!(parsed.error.as_deref(), error, "{header}");
                assert_eq!(parsed.error_description.as_deref(), description, "{header}");
                assert_eq!(parsed.scope.as_deref(), scope, "{header}");
            };
        check("Bearer", None, None, None);
        check(r#"Bearer realm="notes demo""#, None, None, None);
        check(
            r#"Bearer realm="notes demo", error="invalid_token", error_description="The token signature is invalid.""#,
            Some("invalid_token"),
            Some("The token signature is invalid."),
            None,
        );
        check(
            r#"Bearer error="insufficient_scope", scope="api:write", error_description="a \"quoted\" word""#,
            Some("insufficient_scope"),
            Some(r#"a "quoted" word"#),
            Some("api:write"),
        );
        check("Basic realm=\"x\"", None, None, None);
    }
}
