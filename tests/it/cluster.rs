//! Two provider nodes sharing one PostgreSQL database, one Redis and one issuer, as behind a
//! load balancer: a code from node A is redeemed on node B, a refresh on A, a revocation on B is
//! seen by A's introspection, failed logins count across both, both publish the same JWKS, a key
//! rotation started by the operator is used for signing by B after the schedule, and a client
//! deleted through A is refused by B at once.
//!
//! Runs when `OIDC_TEST_POSTGRES_URL` and `OIDC_TEST_REDIS_URL` name the servers (`.ci/run`
//! sets both); otherwise it says what it skipped.

use std::sync::Arc;

use provider::clock::{Clock, ManualClock};
use provider::store::testing::{TestSchema, postgres_url};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    ALICE, ClientAuth, Pkce, Rp, TestProvider, Tokens, assert_oauth_error, authorization_params,
    encode, owned, spawn,
};

/// The key-encryption key both nodes are deployed with.
const SHARED_KEK: &str = "Q0xVU1RFUi1URVNULUtFSy0zMi1CWVRFUy1MT05HISE";

/// The issuer both nodes share (what a load balancer's name would be); random per run, so
/// concurrent runs on one Redis do not share counters.
fn issuer() -> String {
    format!("http://oidc-{:08x}.cluster.test", rand::random::<u32>())
}

async fn node(
    schema: &TestSchema,
    redis: &str,
    clock: &Arc<ManualClock>,
    issuer: &str,
) -> TestProvider {
    let database = provider::store::DatabaseUrl::parse(&schema.url()).expect("a PostgreSQL URL");
    let redis = redis.to_owned();
    let issuer = issuer.to_owned();
    let environment = provider::state::Environment {
        clock: clock.clone(),
        ..provider::state::Environment::default()
    };
    spawn(
        move |config| {
            config.database_url = database;
            config.redis_url = Some(redis);
            config.key_encryption_key = provider::sealing::KekSource::Key(std::sync::Arc::new(
                provider::sealing::KeyEncryptionKey::from_text(SHARED_KEK).expect("a KEK"),
            ));
            config.issuer = Some(
                provider::protocol::types::Issuer::parse(&issuer, true).expect("an issuer URL"),
            );
        },
        environment,
    )
    .await
}

/// A login attempt on `node` in a fresh browser; the reply to the password POST.
async fn login_attempt(node: &TestProvider, user: (&str, &str)) -> crate::support::Reply {
    let browser = node.browser();
    let pkce = Pkce::new();
    let mut params = authorization_params(&Rp::web(), "openid", &pkce, "s", "n");
    params.push(("prompt".into(), "login".into()));
    let start = node.get(&browser, &node.authorize_url(&params)).await;
    let interaction = start.location().expect("an interaction").to_owned();
    let page = node.get(&browser, &node.url(&interaction)).await;
    let form = node.form(&page.text);
    let body = encode(&owned(&[
        ("csrf_token", &form.csrf_token),
        ("username", user.0),
        ("password", user.1),
    ]));
    node.post_form(&browser, &form.action, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_codes_tokens_throttles_keys_and_clients() {
    let (Some(postgres), Some(redis)) = (
        postgres_url(),
        std::env::var("OIDC_TEST_REDIS_URL")
            .ok()
            .filter(|url| !url.is_empty()),
    ) else {
        eprintln!(
            "skipped: set OIDC_TEST_POSTGRES_URL and OIDC_TEST_REDIS_URL to run the two-node test"
        );
        return;
    };
    let schema = TestSchema::create(&postgres).await;
    let clock = Arc::new(ManualClock::new(provider::clock::SystemClock.now()));
    let shared_issuer = issuer();
    let a = node(&schema, &redis, &clock, &shared_issuer).await;
    let b = node(&schema, &redis, &clock, &shared_issuer).await;
    assert_ne!(a.base_url, b.base_url);

    // A code issued by A is redeemed on B.
    let web = Rp::web();
    let browser = a.browser();
    let flow = a
        .code_flow(&browser, &web, "openid offline_access", &[])
        .await;
    let reply = b.exchange_code(&web, &flow).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "B redeems A's code: {}",
        reply.text
    );
    let tokens = Tokens::from_reply(&reply);
    let replay = a.exchange_code(&web, &flow).await;
    assert_oauth_error(
        &replay,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "the code is spent on A too",
    );

    // The refresh token B issued (now revoked by the replay) ... so a fresh grant, refreshed on A.
    let flow = b
        .code_flow(&b.browser(), &web, "openid offline_access", &[])
        .await;
    let tokens_b = Tokens::from_reply(&b.exchange_code(&web, &flow).await);
    let refreshed = a
        .refresh(&web, tokens_b.refresh_token.as_deref().unwrap(), None)
        .await;
    assert_eq!(
        refreshed.status,
        StatusCode::OK,
        "A rotates B's refresh token: {}",
        refreshed.text
    );
    let refreshed = Tokens::from_reply(&refreshed);

    // Revoked on B, inactive in an introspection on A.
    let revoke = b
        .revoke(&web, refreshed.refresh_token.as_deref().unwrap(), None)
        .await;
    assert_eq!(revoke.status, StatusCode::OK);
    let answer = a
        .introspect(&web, refreshed.refresh_token.as_deref().unwrap(), None)
        .await;
    assert_eq!(answer.json()["active"], false, "{}", answer.text);
    let answer = a.introspect(&web, &refreshed.access_token, None).await;
    assert_eq!(
        answer.json()["active"],
        false,
        "the family's access token is denied too"
    );
    assert_eq!(
        a.introspect(&web, &tokens.access_token, None).await.json()["active"],
        false
    );

    // Failed logins count across both nodes: three on A, two on B, then A waits.
    for (node, round) in [(&a, 1), (&a, 2), (&a, 3), (&b, 4), (&b, 5)] {
        let reply = login_attempt(node, ("bob", "wrong")).await;
        assert_eq!(reply.status, StatusCode::OK, "failure {round} is checked");
    }
    let throttled = login_attempt(&a, ("bob", "bob-password-2026")).await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "A knows B's failures"
    );
    clock.advance(1);
    let signed_in = login_attempt(&b, ("bob", "bob-password-2026")).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "after the delay, B signs bob in"
    );
    assert_eq!(login_attempt(&a, ALICE).await.status, StatusCode::SEE_OTHER);

    // Both publish the same keys.
    let jwks_a = a.get(&a.http, &a.url("/jwks")).await.json();
    let jwks_b = b.get(&b.http, &b.url("/jwks")).await.json();
    assert_eq!(jwks_a, jwks_b);

    // The operator rotates RS256; both nodes publish the new key at once, and after the
    // schedule B signs with it.
    let target = provider::admin::Target {
        database_url: Some(schema.url()),
        redis_url: Some(redis.clone()),
        issuer: Some(shared_issuer.clone()),
        key_encryption_key: Some(SHARED_KEK.to_owned()),
        ..provider::admin::Target::default()
    };
    let admin = provider::admin::Admin::open(&target).await.unwrap();
    let record = provider::signing::rotate(
        admin.stores.keys.as_ref(),
        keys::SigningAlg::RS256,
        clock.now(),
    )
    .await
    .unwrap();
    admin.announce(provider::cluster::Change::Keys).await;
    let published = |node: &TestProvider, kid: String| {
        let url = node.url("/jwks");
        let http = node.http.clone();
        async move {
            for _ in 0..50 {
                let jwks: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
                if jwks["keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|key| key["kid"] == kid)
                {
                    return true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            false
        }
    };
    assert!(
        published(&a, record.kid.clone()).await,
        "A publishes the next key"
    );
    assert!(
        published(&b, record.kid.clone()).await,
        "B publishes the next key"
    );
    clock.advance(provider::signing::PUBLISH_BEFORE_USE_SECS);
    admin.announce(provider::cluster::Change::Keys).await;
    let service = Rp::service();
    let mut signed_with_new_key = false;
    for _ in 0..50 {
        let reply = b
            .client_post("/token", &service, &[("grant_type", "client_credentials")])
            .await;
        let token = reply.json()["access_token"].as_str().unwrap().to_owned();
        let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
        if kid == record.kid {
            signed_with_new_key = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        signed_with_new_key,
        "B signs with the rotated key after the schedule"
    );

    // A client deleted through A is refused by B at once (not after B's 10 s cache).
    let registered = a
        .json_request(
            Method::POST,
            &a.url("/register"),
            None,
            Some(&json!({"grant_types": ["client_credentials"], "scope": "api:read"})),
        )
        .await;
    let body = registered.json();
    let client = Rp::registered(
        body["client_id"].as_str().unwrap(),
        body["client_secret"].as_str(),
        ClientAuth::Basic,
        "",
    );
    let grant = [("grant_type", "client_credentials")];
    assert_eq!(
        b.client_post("/token", &client, &grant).await.status,
        StatusCode::OK,
        "B caches it"
    );
    let deleted = a
        .json_request(
            Method::DELETE,
            &a.url(&format!("/register/{}", client.client_id)),
            body["registration_access_token"].as_str(),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let mut refused = false;
    for _ in 0..20 {
        if b.client_post("/token", &client, &grant).await.status == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(refused, "B forgot the deleted client within 2 s");
}

/// Redis configured but unreachable (a closed port): nothing breaks; limits count per node, and
/// `/readyz` and `/metrics` say so.
#[tokio::test]
async fn an_unreachable_redis_degrades_to_per_node_limits() {
    // A clock that stands still: the throttle's delay does not run out during the test.
    let clock = Arc::new(ManualClock::new(provider::clock::SystemClock.now()));
    let environment = provider::state::Environment {
        clock,
        ..provider::state::Environment::default()
    };
    let provider = spawn(
        |config| config.redis_url = Some("redis://127.0.0.1:1".into()),
        environment,
    )
    .await;
    let browser = provider.browser();
    let (_, tokens) = provider.tokens(&browser, &Rp::web(), "openid", &[]).await;
    assert!(!tokens.access_token.is_empty(), "sign-in and tokens work");
    for _ in 0..5 {
        login_attempt(&provider, ("bob", "wrong")).await;
    }
    let throttled = login_attempt(&provider, ("bob", "bob-password-2026")).await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the throttle still works, in this node's memory"
    );
    let ready = provider.get(&provider.http, &provider.url("/readyz")).await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "not ready-blocking: {}",
        ready.text
    );
    assert!(
        ready
            .text
            .contains("redis: unavailable: limits fall back to this node's memory"),
        "{}",
        ready.text
    );
    let metrics = provider
        .get(&provider.http, &provider.url("/metrics"))
        .await;
    assert!(metrics.text.contains("oidc_redis_up 0"), "{}", metrics.text);
}
