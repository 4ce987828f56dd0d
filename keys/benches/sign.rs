//! Token signing overhead: `SigningKey::sign` (header + claims JSON, base64url, signature)
//! against the bare signature of a same-sized message with the same aws-lc-rs key type.
//! Target: minting at ≥ 85 % of the raw RS256 signing rate.
//!
//! `cargo bench -p keys --bench sign`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keys::{SigningAlg, SigningKey};
use serde_json::json;

fn claims() -> serde_json::Value {
    json!({
        "iss": "http://127.0.0.1:8080",
        "sub": "6c2f5e0a-8c1e-4d8f-9a51-2f1f2a8b7c01",
        "aud": "http://127.0.0.1:8081",
        "exp": 1_795_821_564,
        "iat": 1_795_820_964,
        "jti": "8NSxJHRGxprIa13TdrqtoFZ-DriLGlNhQpq5HWZVNP0",
        "client_id": "demo-service",
        "scope": "api:read",
    })
}

fn bench(c: &mut Criterion) {
    keys::install_crypto_provider();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let message = vec![b'x'; 420];
    let claims = claims();
    for alg in [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA] {
        let key = SigningKey::generate(alg).expect("keygen");
        let pem = key.to_pkcs8_pem();
        let der: Vec<u8> = {
            use base64::Engine;
            let body: String = pem
                .lines()
                .filter(|line| !line.starts_with("-----"))
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .expect("pem body")
        };
        let mut group = c.benchmark_group(alg.as_str());
        group.bench_function("mint (SigningKey::sign)", |b| {
            b.iter(|| key.sign("at+jwt", black_box(&claims)).expect("sign"))
        });
        match alg {
            SigningAlg::RS256 => {
                let raw = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&der).expect("rsa");
                let mut signature = vec![0u8; raw.public_modulus_len()];
                group.bench_function("raw aws-lc-rs sign", |b| {
                    b.iter(|| {
                        raw.sign(
                            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                            &rng,
                            black_box(&message),
                            &mut signature,
                        )
                        .expect("sign")
                    })
                });
            }
            SigningAlg::ES256 => {
                let raw = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &der,
                )
                .expect("ec");
                group.bench_function("raw aws-lc-rs sign", |b| {
                    b.iter(|| raw.sign(&rng, black_box(&message)).expect("sign"))
                });
            }
            SigningAlg::EdDSA => {
                let raw = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                    .expect("ed");
                group.bench_function("raw aws-lc-rs sign", |b| {
                    b.iter(|| raw.sign(black_box(&message)))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
