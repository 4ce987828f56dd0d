//! The authorization request parser: any query string, validated against the demo clients as
//! `/authorize` does (stage one: client and redirect URI; stage two: everything else).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use provider::protocol::authorize::{RequestSource, validate_authorize, validate_client_redirect};
use provider::protocol::client::RegisteredClient;
use provider::protocol::params::Params;
use provider::protocol::OAuthError;

fn clients() -> &'static [RegisteredClient] {
    static CLIENTS: OnceLock<Vec<RegisteredClient>> = OnceLock::new();
    CLIENTS.get_or_init(provider::seed::demo_clients)
}

fuzz_target!(|data: &[u8]| {
    let params = Params::parse(data);
    let client = params
        .single("client_id")
        .ok()
        .flatten()
        .and_then(|id| clients().iter().find(|client| client.client_id.as_str() == id));
    let Ok(redirect_uri) = validate_client_redirect(&params, client) else {
        return;
    };
    let Some(client) = client else {
        return;
    };
    for source in [RequestSource::Direct, RequestSource::Pushed] {
        let _ = validate_authorize(&params, client, redirect_uri.clone(), source, |_| {
            Err(OAuthError::invalid_request("no hints while fuzzing"))
        });
    }
});
