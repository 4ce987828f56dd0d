//! A full authorization-code exchange against a provider in this process, over loopback HTTP,
//! on SQLite: `/authorize` answered from the SSO session with a code, then the code redeemed for
//! an ID token, an access token and a refresh token (PKCE checked, the code consumed, the
//! refresh token and the grant written). Next to it, client_credentials RS256 through the same
//! server and client, the reference the code flow is compared with (one RS256 signature and no
//! write, where the code flow signs twice and writes).
//!
//! `cargo bench -p tests --bench code_exchange`

// The integration tests' harness: a dev provider on 127.0.0.1:0 with its own SQLite file, and a
// relying party over reqwest. This bench uses a few of its helpers only.
#[allow(dead_code, unused_imports)]
#[path = "../it/support/mod.rs"]
mod support;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use support::{Rp, Tokens, spawn_provider};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let provider = runtime.block_on(spawn_provider());
    let browser = provider.browser();
    let rp = Rp::web();
    // The first flow signs in (bcrypt) and starts the SSO session; the measured ones reuse it.
    let first =
        runtime.block_on(provider.tokens(&browser, &rp, "openid profile offline_access", &[]));
    assert!(
        first.1.refresh_token.is_some(),
        "offline_access gives a refresh token"
    );

    let mut group = c.benchmark_group("sqlite");
    group.bench_function("code flow: authorize (SSO) + code exchange", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let (_, tokens) = provider
                    .tokens(&browser, &rp, "openid profile offline_access", &[])
                    .await;
                black_box(tokens)
            })
        })
    });
    let service = Rp::service();
    group.bench_function("client_credentials RS256", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let reply = provider
                    .token_request(
                        &service,
                        &[
                            ("grant_type", "client_credentials"),
                            ("scope", "api:read"),
                            ("resource", "http://127.0.0.1:8081"),
                        ],
                    )
                    .await;
                black_box(Tokens::from_reply(&reply))
            })
        })
    });
    let mut refresh_token = first.1.refresh_token.clone().expect("refresh token");
    group.bench_function("refresh grant (rotation)", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let reply = provider.refresh(&rp, &refresh_token, None).await;
                let tokens = Tokens::from_reply(&reply);
                refresh_token = tokens.refresh_token.clone().expect("a new refresh token");
                black_box(tokens)
            })
        })
    });
    group.finish();
    drop(browser);
    runtime.block_on(async move {
        let mut provider = provider;
        provider.stop().await.expect("provider stops");
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
