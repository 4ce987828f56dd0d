//! `Verifier::verify` for each signing algorithm (RS256, ES256, EdDSA) against the bare signature
//! check of the same token with the same backend (jsonwebtoken over aws-lc-rs): the difference
//! is what the verifier adds (parsing, key lookup, claim checks).
//!
//! Run: `cargo bench -p resource --bench verify -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};

use keys::{SigningAlg, SigningKey};
use resource::{AccessClaims, Error, JwkSet, Verifier, VerifierConfig};

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "https://api.example";

/// Drives `verify` on the cached path, which never waits, without a runtime in the loop.
fn verify_cached(verifier: &Verifier, token: &str) -> Result<AccessClaims, Error> {
    let mut future = pin!(verifier.verify(token));
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result,
        Poll::Pending => Err(Error::KeysUnavailable),
    }
}

fn claims() -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    json!({
        "iss": ISSUER, "sub": "248289761001", "aud": AUDIENCE, "client_id": "notes-app",
        "exp": now + 3600, "iat": now, "jti": "4a6f2b1e-8d3c-4f7a-9b2e-1c5d7e9f0a3b",
        "scope": "openid profile api:read api:write",
    })
}

/// Median time per call of `a` and `b`, measured in alternating batches so that load from
/// other processes (this machine is shared) hits both alike.
fn interleaved_medians(mut a: impl FnMut(), mut b: impl FnMut(), total: Duration) -> (f64, f64) {
    const BATCH: u32 = 100;
    let (mut a_samples, mut b_samples) = (Vec::new(), Vec::new());
    let started = Instant::now();
    while started.elapsed() < total {
        for (run, samples) in [
            (&mut a as &mut dyn FnMut(), &mut a_samples),
            (&mut b, &mut b_samples),
        ] {
            let batch_start = Instant::now();
            for _ in 0..BATCH {
                run();
            }
            samples.push(batch_start.elapsed().as_secs_f64() * 1e6 / f64::from(BATCH));
        }
    }
    let median = |samples: &mut Vec<f64>| {
        samples.sort_by(f64::total_cmp);
        samples[samples.len() / 2]
    };
    (median(&mut a_samples), median(&mut b_samples))
}

fn bench_verify(c: &mut Criterion) {
    keys::install_crypto_provider();
    for alg in SigningAlg::ALL {
        let key = SigningKey::generate(alg).expect("key generation");
        let jwks = JwkSet {
            keys: vec![key.public_jwk().clone()],
        };
        let verifier =
            Verifier::from_jwk_set(VerifierConfig::new(ISSUER, AUDIENCE), &jwks).expect("verifier");
        let token = key.sign("at+jwt", &claims()).expect("signing");
        verify_cached(&verifier, &token).expect("the token verifies");

        let decoding_key = DecodingKey::from_jwk(key.public_jwk()).expect("decoding key");
        let (signing_input, signature) = token.rsplit_once('.').expect("compact JWS");
        let mut no_validation = Validation::new(alg.jwt_algorithm());
        no_validation.required_spec_claims.clear();
        no_validation.validate_exp = false;
        no_validation.validate_aud = false;

        // Only under `cargo bench`: `cargo test --benches` runs each benchmark once, quickly.
        if std::env::args().any(|arg| arg == "--bench") {
            let (signature_median, verifier_median) = interleaved_medians(
                || {
                    black_box(
                        jsonwebtoken::crypto::verify(
                            signature,
                            signing_input.as_bytes(),
                            &decoding_key,
                            alg.jwt_algorithm(),
                        )
                        .expect("verifies"),
                    );
                },
                || {
                    black_box(verify_cached(&verifier, black_box(&token)).expect("verifies"));
                },
                Duration::from_secs(3),
            );
            eprintln!(
                "{alg} interleaved medians: signature_only {signature_median:.2} µs, verifier {verifier_median:.2} µs, overhead {:.1} %",
                (verifier_median / signature_median - 1.0) * 100.0
            );
        }

        let mut group = c.benchmark_group(alg.as_str());
        group.bench_function("signature_only", |bencher| {
            bencher.iter(|| {
                jsonwebtoken::crypto::verify(
                    black_box(signature),
                    black_box(signing_input.as_bytes()),
                    &decoding_key,
                    alg.jwt_algorithm(),
                )
                .expect("verifies")
            })
        });
        group.bench_function("jsonwebtoken_decode_no_validation", |bencher| {
            bencher.iter(|| {
                jsonwebtoken::decode::<Value>(black_box(&token), &decoding_key, &no_validation)
                    .expect("decodes")
            })
        });
        group.bench_function("verifier", |bencher| {
            bencher.iter(|| verify_cached(&verifier, black_box(&token)).expect("verifies"))
        });
        group.finish();
    }
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
