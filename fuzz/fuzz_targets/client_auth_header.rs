//! Client authentication: any `Authorization` header (the first line of the input) with any
//! form body (the rest), checked against the demo clients.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use provider::protocol::client::{RegisteredClient, authenticate_client, parse_client_credentials};
use provider::protocol::params::Params;

fn clients() -> &'static [RegisteredClient] {
    static CLIENTS: OnceLock<Vec<RegisteredClient>> = OnceLock::new();
    CLIENTS.get_or_init(provider::seed::demo_clients)
}

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&byte| byte == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let header = std::str::from_utf8(header).ok();
    let params = Params::parse(body);
    if let Ok(presented) = parse_client_credentials(header, &params) {
        let client = clients()
            .iter()
            .find(|client| client.client_id.as_str() == presented.client_id());
        let _ = authenticate_client(&presented, client);
    }
});
