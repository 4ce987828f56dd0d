//! OpenID Connect Discovery 1.0: learning the provider's endpoints from one well-known URL.

use openapi::DiscoveryDocument;

use crate::Error;
use crate::http::send;
use crate::timeline::{Exchange, Lane};

/// `{issuer}/.well-known/openid-configuration` (OIDC Discovery §4.1).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Fetches and checks the discovery document.
///
/// OIDC Discovery §4.3: the `issuer` inside must be *exactly* the issuer we asked for;
/// otherwise an attacker who can serve a document could make us trust their endpoints.
pub(crate) async fn fetch(
    http: &reqwest::Client,
    issuer: &str,
) -> (Result<DiscoveryDocument, Error>, Exchange) {
    const CONTEXT: &str = "fetching the discovery document";
    let url = discovery_url(issuer);
    let exchange = Exchange::request(Lane::Client, Lane::Provider, "Discovery", "GET", &url).explain(
        "The client learns every endpoint, the signing algorithms and the supported features from one \
         well-known URL instead of hard-coding them.",
        "OIDC Discovery §4, RFC 8414 §3",
    );
    let response = match send(http.get(&url), CONTEXT).await {
        Ok(response) => response,
        Err(error) => {
            return (
                Err(error),
                exchange.with_outcome(crate::timeline::Outcome::Failed),
            );
        }
    };
    let exchange = exchange.respond(
        response.status,
        response.shown_headers(),
        response.summary(),
    );
    if !response.is_success() {
        return (
            Err(Error::protocol(
                CONTEXT,
                format!("HTTP {}", response.status),
            )),
            exchange,
        );
    }
    let document = response.json::<DiscoveryDocument>(CONTEXT).and_then(|document| {
        if document.issuer != issuer {
            return Err(Error::protocol(
                CONTEXT,
                format!(
                    "the document's issuer {:?} is not the configured issuer {issuer:?} (OIDC Discovery §4.3)",
                    document.issuer
                ),
            ));
        }
        if !document.code_challenge_methods_supported.iter().any(|method| method == "S256") {
            return Err(Error::protocol(CONTEXT, "the provider does not support PKCE S256"));
        }
        Ok(document)
    });
    let exchange = match &document {
        Ok(document) => exchange.with_note(format!(
            "issuer matches; end_session_endpoint {}",
            if document.end_session_endpoint.is_some() {
                "advertised: logout will use it"
            } else {
                "not advertised: logout stays local"
            }
        )),
        Err(_) => exchange.with_outcome(crate::timeline::Outcome::Failed),
    };
    (document, exchange)
}
