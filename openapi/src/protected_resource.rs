//! The bodies of a protected resource: RFC 9728 metadata, the RFC 6750 §3 error body, and the
//! demo notes API (`/api/me`, `/api/notes`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// RFC 9728 §2 protected resource metadata, served at `/.well-known/oauth-protected-resource`
/// (RFC 9728 §3; the resource identifier's path, if any, follows the suffix).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "resource": "http://127.0.0.1:8081",
    "authorization_servers": ["http://127.0.0.1:8080"],
    "scopes_supported": ["api:read", "api:write"],
    "bearer_methods_supported": ["header"],
    "resource_name": "Notes demo API"
}))]
pub struct ProtectedResourceMetadata {
    /// The resource identifier: the audience (`aud`) access tokens must name.
    pub resource: String,
    /// Issuers whose access tokens the resource accepts.
    pub authorization_servers: Vec<String>,
    /// Scopes the resource understands (omitted when none are declared).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// RFC 6750 §2 methods of presenting the token: only `header` here.
    pub bearer_methods_supported: Vec<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub resource_name: Option<String>,
    /// RFC 9728 §2: the JWS algorithms of DPoP proofs the resource accepts (RFC 9449).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// RFC 9728 §2: only DPoP-bound access tokens are accepted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens_required: bool,
}

/// RFC 9728 §3: the well-known path suffix of protected resource metadata.
pub const PROTECTED_RESOURCE_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

impl ProtectedResourceMetadata {
    /// Metadata for `resource`, protected by tokens of `authorization_server`, accepting tokens
    /// in the `Authorization` header only (RFC 6750 §2.1).
    pub fn new(resource: impl Into<String>, authorization_server: impl Into<String>) -> Self {
        ProtectedResourceMetadata {
            resource: resource.into(),
            authorization_servers: vec![authorization_server.into()],
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name: None,
            dpop_signing_alg_values_supported: ["ES256", "RS256", "EdDSA"]
                .map(str::to_owned)
                .to_vec(),
            dpop_bound_access_tokens_required: false,
        }
    }

    /// Sets `scopes_supported`.
    pub fn scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `resource_name`.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// The path this document is served at: RFC 9728 §3.1 inserts the well-known suffix before
    /// the resource identifier's path, so `https://api.example/notes` gives
    /// `/.well-known/oauth-protected-resource/notes`.
    pub fn well_known_path(&self) -> String {
        let path = url::Url::parse(&self.resource)
            .map(|url| url.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        format!("{PROTECTED_RESOURCE_WELL_KNOWN}{path}")
    }
}

/// RFC 6750 §3 error body of a refused request to a protected resource, sent with
/// `Cache-Control: no-store` and a `WWW-Authenticate: Bearer` challenge.
///
/// RFC 6750 §3.1: a request without any credentials gets no error code, so `error` is absent
/// then; otherwise it is `invalid_request`, `invalid_token` or `insufficient_scope`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"error": "invalid_token", "error_description": "The access token has expired."}))]
pub struct BearerErrorBody {
    /// The RFC 6750 §3.1 error code; absent when the request carried no credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "invalid_token")]
    pub error: Option<String>,
    /// A short sentence a client developer can act on.
    pub error_description: String,
}

/// `GET /api/me`: whom the access token speaks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "sub": "6c2f5e0a-8c1e-4d8f-9a51-2f1f2a8b7c01",
    "client_id": "demo-web",
    "scope": ["api:read", "openid"]
}))]
pub struct Me {
    /// The token's subject: the user, or the client itself for client_credentials tokens.
    pub sub: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The granted scopes, sorted, without duplicates.
    pub scope: Vec<String>,
}

/// Longest note text, in characters (Unicode scalar values).
pub const MAX_NOTE_CHARS: usize = 1000;

/// A note text must contain a character outside this class: the characters Rust's
/// `char::is_whitespace` (Unicode `White_Space`) accepts, written out so that the JSON Schema
/// pattern means the same in every regex dialect.
pub const NOT_BLANK_PATTERN: &str = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// The body of `POST /api/notes`: exactly one member, `text`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "buy milk"}))]
pub struct NewNote {
    /// 1 to 1000 characters, not all whitespace.
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]",
        example = "buy milk"
    )]
    pub text: String,
}

/// One note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": 1, "text": "buy milk", "created_at": 1_795_000_000}))]
pub struct Note {
    /// Unique across users.
    #[schema(minimum = 1)]
    pub id: u64,
    /// 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    pub text: String,
    /// When the note was created, in Unix seconds.
    pub created_at: u64,
}

/// `GET /api/notes`: the caller's notes, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"notes": [{"id": 1, "text": "buy milk", "created_at": 1_795_000_000}]}))]
pub struct NoteList {
    /// Only the caller's (the token subject's) notes.
    pub notes: Vec<Note>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_not_blank_pattern_excludes_exactly_the_rust_whitespace() {
        // Decode the character class by hand: it lists single characters and one range.
        let listed: Vec<char> = [
            '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2028}',
            '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
        ]
        .into_iter()
        .chain('\u{2000}'..='\u{200a}')
        .collect();
        let whitespace: Vec<char> = (char::MIN..=char::MAX)
            .filter(|character| character.is_whitespace())
            .collect();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, whitespace);
        let schema = serde_json::to_value(<NewNote as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["properties"]["text"]["pattern"], NOT_BLANK_PATTERN);
        assert_eq!(schema["properties"]["text"]["maxLength"], MAX_NOTE_CHARS);
        assert_eq!(schema["additionalProperties"], false);
    }
}
