//! The resource server's verifier: any bearer token, verified offline against a fixed JWKS (an
//! RS256, an ES256 and an EdDSA key). Also mutates real tokens: the input may start with a
//! valid signed token's header and payload.
#![no_main]

use std::sync::OnceLock;

use keys::{KeySet, KeyStatus, SigningAlg, SigningKey};
use libfuzzer_sys::fuzz_target;
use resource::{Verifier, VerifierConfig};

struct Fixture {
    runtime: tokio::runtime::Runtime,
    verifier: Verifier,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        keys::install_crypto_provider();
        let set = KeySet::new(SigningAlg::ALL.map(|alg| {
            (std::sync::Arc::new(SigningKey::generate(alg).expect("a key")), KeyStatus::Active)
        }))
        .expect("a key set");
        let jwks = set.jwks();
        let config = VerifierConfig::new("https://id.example", "https://api.example");
        let verifier = Verifier::from_jwk_set(config, &jwks).expect("a verifier");
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        Fixture { runtime, verifier }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let fixture = fixture();
    let _ = fixture.runtime.block_on(fixture.verifier.verify(token));
});
