//! The authorization request parser: any query string, validated against the demo clients and
//! the demo resource registry as `/authorize` does (stage one: client and redirect URI; stage
//! two: everything else, repeated `resource` and `dpop_jkt` included).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use provider::protocol::authorize::{RequestSource, validate_authorize, validate_client_redirect};
use provider::protocol::client::RegisteredClient;
use provider::protocol::params::Params;
use provider::protocol::resource::Registry;
use provider::protocol::OAuthError;

fn clients() -> &'static [RegisteredClient] {
    static CLIENTS: OnceLock<Vec<RegisteredClient>> = OnceLock::new();
    CLIENTS.get_or_init(provider::seed::demo_clients)
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::new("https://id.example", provider::seed::demo_resources()))
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
        let _ = validate_authorize(&params, client, registry(), redirect_uri.clone(), source, |_| {
            Err(OAuthError::invalid_request("no hints while fuzzing"))
        });
    }
});
