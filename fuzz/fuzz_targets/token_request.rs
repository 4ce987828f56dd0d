//! The token request parser: any form body, every grant's parameters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provider::protocol::grants::parse_token_request;
use provider::protocol::params::Params;

fuzz_target!(|data: &[u8]| {
    let _ = parse_token_request(&Params::parse(data));
});
