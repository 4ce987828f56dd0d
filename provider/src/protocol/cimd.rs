//! OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, the client
//! registration the MCP authorization specification prefers): a `client_id` that is an https
//! URL names a JSON document of client metadata published at that URL. The provider fetches it
//! (`fetch.rs`: SSRF guards, size cap, cache) and this module turns it into a client:
//!
//! - the document's `client_id` must equal the URL exactly;
//! - it is a public client (`token_endpoint_auth_method` absent or `none`; no secrets in the
//!   document), using the code flow with PKCE and its own `redirect_uris` (exact match);
//! - everything else is checked as dynamic registration checks it, under the rules for
//!   self-registered clients (grants, scopes, resources; without a `scope` it may ask for every
//!   scope the rules allow); it is never first-party, so the
//!   consent page always shows, naming the document's host.

use crate::protocol::client::{ClientMetadata, RegisteredClient, TokenEndpointAuthMethod};
use crate::protocol::registration::{
    RegistrationRequest, RegistrationRules, validate_registration,
};
use crate::protocol::types::ClientId;

/// A metadata document is at most this long (bytes).
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;

/// A `client_id` URL is at most this long.
const MAX_URL_LEN: usize = 2048;

/// True when `client_id` is a client metadata document URL: http(s) (the fetcher allows plain
/// http to loopback in dev mode only), with a path beyond `/`, no fragment, no credentials, no
/// dot segments (draft §3).
pub fn is_document_url(client_id: &str) -> bool {
    if client_id.len() > MAX_URL_LEN
        || !(client_id.starts_with("https://") || client_id.starts_with("http://"))
    {
        return false;
    }
    let Ok(url) = url::Url::parse(client_id) else {
        return false;
    };
    let raw_path = client_id
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|slash| &rest[slash..]))
        .unwrap_or_default();
    url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() != "/"
        && !raw_path
            .split(['/', '?'])
            .any(|segment| segment == "." || segment == "..")
}

/// The host a consent page names for a document client.
pub fn host_of(client_id: &str) -> Option<String> {
    url::Url::parse(client_id)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
}

/// Turns the fetched `document` of `client_id` into a public client under `rules`.
pub fn client_from_document(
    client_id: &str,
    document: &serde_json::Value,
    rules: &RegistrationRules,
) -> Result<RegisteredClient, &'static str> {
    let object = document
        .as_object()
        .ok_or("the client metadata document is not a JSON object")?;
    if object.get("client_id").and_then(serde_json::Value::as_str) != Some(client_id) {
        return Err("the document's client_id is not the URL it was fetched from");
    }
    if object.contains_key("client_secret") || object.contains_key("client_secret_expires_at") {
        return Err("a client metadata document must not contain a client secret");
    }
    let request: RegistrationRequest = serde_json::from_value(document.clone())
        .map_err(|_| "the document's metadata has the wrong types")?;
    match request.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(_) => {
            return Err("only public clients (token_endpoint_auth_method none) are supported");
        }
    }
    if request.redirect_uris.is_empty() {
        return Err("the document must list redirect_uris");
    }
    // Without a `scope`, the client may ask for whatever the rules allow: it has no operator
    // to ask, and the user consents to each request anyway.
    let scope = request
        .scope
        .clone()
        .or_else(|| Some(rules.scopes.to_string()));
    let mut metadata: ClientMetadata = validate_registration(
        RegistrationRequest {
            token_endpoint_auth_method: Some("none".to_owned()),
            scope,
            ..request
        },
        rules,
    )
    .map_err(|error| error.description)?;
    debug_assert_eq!(
        metadata.token_endpoint_auth_method,
        TokenEndpointAuthMethod::None
    );
    if !object.contains_key("client_name") {
        metadata.client_name = host_of(client_id).unwrap_or_default();
    }
    Ok(RegisteredClient {
        client_id: ClientId::parse(client_id)
            .map_err(|_| "the client_id is not a valid client identifier")?,
        secret_digest: None,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::registration::RegistrationLimits;
    use crate::protocol::resource::tests::sample_registry;
    use serde_json::json;

    const URL: &str = "https://app.example.com/oauth/client.json";

    fn rules() -> RegistrationRules {
        RegistrationLimits {
            open: true,
            ..RegistrationLimits::default()
        }
        .rules(&sample_registry())
    }

    fn document(changes: serde_json::Value) -> serde_json::Value {
        let mut document = json!({
            "client_id": URL,
            "client_name": "Example MCP client",
            "redirect_uris": ["http://127.0.0.1:3333/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                document.as_object_mut().unwrap().remove(name);
            } else {
                document[name] = value.clone();
            }
        }
        document
    }

    #[test]
    fn document_urls_follow_the_draft() {
        for (url, ok) in [
            (URL, true),
            ("https://app.example.com/c", true),
            ("http://127.0.0.1:9000/client.json", true),
            ("https://app.example.com/", false),
            ("https://app.example.com", false),
            ("https://app.example.com/a/../client.json", false),
            ("https://app.example.com/./client.json", false),
            ("https://app.example.com/c#frag", false),
            ("https://user:pw@app.example.com/c", false),
            ("demo-web", false),
            ("urn:example:client", false),
        ] {
            assert_eq!(is_document_url(url), ok, "{url}");
        }
        assert!(!is_document_url(&format!(
            "https://a.example/{}",
            "x".repeat(3000)
        )));
    }

    #[test]
    fn a_document_becomes_a_public_client_with_its_redirect_uris() {
        let client = client_from_document(URL, &document(json!({})), &rules()).unwrap();
        assert!(client.is_public());
        assert_eq!(client.client_id.as_str(), URL);
        assert_eq!(
            client.metadata.redirect_uris,
            ["http://127.0.0.1:3333/callback"]
        );
        assert!(
            !client.metadata.first_party,
            "the consent page always shows"
        );
        assert_eq!(client.metadata.client_name, "Example MCP client");
        assert_eq!(
            client.metadata.scope,
            rules().scopes,
            "no scope: what the rules allow"
        );
        let unnamed =
            client_from_document(URL, &document(json!({"client_name": null})), &rules()).unwrap();
        assert_eq!(unnamed.metadata.client_name, "app.example.com");
    }

    #[test]
    fn bad_documents_are_refused_with_a_reason() {
        for (changes, reason) in [
            (
                json!({"client_id": "https://other.example/client.json"}),
                "client_id",
            ),
            (json!({"client_id": null}), "client_id"),
            (json!({"client_secret": "s"}), "secret"),
            (
                json!({"token_endpoint_auth_method": "client_secret_basic"}),
                "public",
            ),
            (json!({"redirect_uris": []}), "redirect_uris"),
            (
                json!({"redirect_uris": ["http://evil.example/cb"]}),
                "loopback",
            ),
            (
                json!({"grant_types": ["client_credentials"], "response_types": []}),
                "public client",
            ),
            (json!({"redirect_uris": "not a list"}), "types"),
        ] {
            let error =
                client_from_document(URL, &document(changes.clone()), &rules()).unwrap_err();
            assert!(error.contains(reason), "{changes}: {error}");
        }
        assert!(client_from_document(URL, &json!(["not", "an", "object"]), &rules()).is_err());
    }
}
