//! The protocol core's per-request costs, without HTTP: token minting per algorithm against the
//! bare signature of the same claims (issuance overhead), the authorization request parser,
//! PKCE, and a DPoP proof check.
//!
//! `cargo bench -p provider --bench protocol`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use keys::dpop::{Expected, ProofRequest, verify_proof};
use keys::{KeySet, KeyStatus, SigningAlg, SigningKey};
use provider::protocol::OAuthError;
use provider::protocol::authorize::{RequestSource, validate_authorize, validate_client_redirect};
use provider::protocol::grants::{Issue, TokenSubject};
use provider::protocol::issuance::{Context, Randomness, mint};
use provider::protocol::params::Params;
use provider::protocol::pkce::{CodeChallenge, CodeVerifier, verify_pkce};
use provider::protocol::resource::Registry;
use provider::protocol::scope::ScopeSet;
use provider::protocol::types::{Issuer, Lifetimes, UnixTime};

const ISSUER: &str = "http://127.0.0.1:8080";
const NOW: UnixTime = UnixTime(1_795_820_964);

fn bench(c: &mut Criterion) {
    keys::install_crypto_provider();
    let issuer = Issuer::parse(ISSUER, true).expect("issuer");
    let lifetimes = Lifetimes::default();
    let keys: Vec<Arc<SigningKey>> = SigningAlg::ALL
        .into_iter()
        .map(|alg| Arc::new(SigningKey::generate(alg).expect("keygen")))
        .collect();
    let key_set =
        KeySet::new(keys.iter().map(|key| (Arc::clone(key), KeyStatus::Active))).expect("key set");
    let context = Context {
        issuer: &issuer,
        keys: &key_set,
        lifetimes: &lifetimes,
    };
    let registry = Registry::new(ISSUER, provider::seed::demo_resources());
    let clients = provider::seed::demo_clients();
    let service = clients
        .iter()
        .find(|client| client.client_id.as_str() == "demo-service")
        .expect("demo-service");
    let randomness = Randomness {
        jti: [7; 32],
        grant_id: [8; 32],
        refresh_token: [9; 32],
    };

    // client_credentials issuance for each resource algorithm vs the bare signature.
    for (alg, resource) in [
        (SigningAlg::RS256, "http://127.0.0.1:8081"),
        (SigningAlg::ES256, "urn:demo:api:es256"),
    ] {
        let target = registry
            .client_target(
                service,
                Some(resource),
                &ScopeSet::parse("api:read").expect("scope"),
            )
            .expect("target");
        c.bench_function(&format!("mint client_credentials {}", alg.as_str()), |b| {
            b.iter(|| {
                let issue = Issue {
                    target: target.clone(),
                    dpop_jkt: None,
                    subject: TokenSubject::Client,
                };
                black_box(mint(issue, service, &context, randomness, NOW).expect("minted"))
            })
        });
        let key = key_set.active(alg).expect("key");
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": "demo-service", "aud": resource, "exp": NOW.0 + 600,
            "iat": NOW.0, "jti": "8NSxJHRGxprIa13TdrqtoFZ-DriLGlNhQpq5HWZVNP0",
            "client_id": "demo-service", "scope": "api:read",
        });
        c.bench_function(&format!("bare sign {}", alg.as_str()), |b| {
            b.iter(|| black_box(key.sign("at+jwt", &claims).expect("signed")))
        });
    }

    // The authorization request of the demo web app, both validation stages.
    let web = clients
        .iter()
        .find(|client| client.client_id.as_str() == "demo-web")
        .expect("demo-web");
    let query = "response_type=code&client_id=demo-web&redirect_uri=http%3A%2F%2F127.0.0.1%3A8082%2Fcallback\
        &scope=openid%20profile%20api%3Aread&state=af0ifjsldkj&nonce=n-0S6_WzA2Mj\
        &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256\
        &resource=http%3A%2F%2F127.0.0.1%3A8081";
    c.bench_function("authorization request: parse and validate", |b| {
        b.iter(|| {
            let params = Params::parse(black_box(query.as_bytes()));
            let redirect = validate_client_redirect(&params, Some(web)).expect("stage one");
            black_box(
                validate_authorize(
                    &params,
                    web,
                    &registry,
                    redirect,
                    RequestSource::Direct,
                    |_| Err(OAuthError::invalid_request("no hint")),
                )
                .expect("stage two"),
            )
        })
    });

    // RFC 7636 Appendix B.
    let challenge = CodeChallenge::parse(
        Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        Some("S256"),
    )
    .expect("challenge");
    let verifier =
        CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").expect("verifier");
    c.bench_function("pkce S256 verify", |b| {
        b.iter(|| black_box(verify_pkce(&challenge, &verifier)).expect("matches"))
    });

    // A DPoP proof check (ES256), as the token endpoint does it.
    let dpop_key = SigningKey::generate(SigningAlg::ES256).expect("keygen");
    let url = format!("{ISSUER}/token");
    let proof = dpop_key
        .dpop_proof(&ProofRequest {
            method: "POST",
            url: &url,
            access_token: None,
            nonce: None,
            jti: "j-1",
            iat: NOW.0,
        })
        .expect("proof");
    let expected = Expected {
        method: "POST",
        url: &url,
        access_token: None,
        nonces: None,
        now: NOW.0,
    };
    c.bench_function("dpop proof verify ES256", |b| {
        b.iter(|| black_box(verify_proof(black_box(&proof), &expected).expect("valid")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
