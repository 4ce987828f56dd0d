//! Prometheus `/metrics`: requests by matched route, tokens by grant and client, sign-ins by
//! outcome, the database pool, Redis, key ages; on a separate listener with `--metrics-bind`.

use std::net::SocketAddr;

use reqwest::StatusCode;

use crate::support::{Rp, spawn_provider, spawn_provider_with};

/// The value of the first sample line that starts with `prefix` and contains every `label`.
fn sample(text: &str, prefix: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(prefix) && labels.iter().all(|label| line.contains(label)))
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_tokens_and_sign_ins() {
    let provider = spawn_provider().await;
    let service = Rp::service();
    let reply = provider
        .client_post("/token", &service, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let browser = provider.browser();
    provider
        .code_flow(&browser, &Rp::web(), "openid", &[])
        .await;
    let metrics = provider
        .get(&provider.http, &provider.url("/metrics"))
        .await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/plain"))
    );
    let text = &metrics.text;
    let tokens = sample(
        text,
        "oidc_tokens_issued_total",
        &["grant=\"client_credentials\"", "client_id=\"demo-service\""],
    );
    assert!(tokens.is_some_and(|count| count >= 1.0), "{text}");
    let requests = sample(
        text,
        "http_requests_total",
        &["route=\"/token\"", "method=\"POST\"", "status=\"200\""],
    );
    assert!(requests.is_some_and(|count| count >= 1.0), "{text}");
    // Routes are matched paths: an interaction id never becomes a label.
    assert!(text.contains("route=\"/interaction/{id}\""), "{text}");
    assert!(
        sample(
            text,
            "http_request_duration_seconds_bucket",
            &["route=\"/token\""]
        )
        .is_some()
    );
    assert!(
        sample(text, "oidc_sign_ins_total", &["result=\"success\""]).is_some(),
        "{text}"
    );
    let redis = if std::env::var("OIDC_TEST_STACK").is_ok_and(|stack| stack == "production") {
        1.0
    } else {
        -1.0
    };
    assert_eq!(
        sample(text, "oidc_redis_up", &[]),
        Some(redis),
        "1 shared, -1 not configured"
    );
    assert!(sample(text, "oidc_db_connections", &["state=\"max\""]).is_some_and(|max| max >= 1.0));
    let key_age = sample(text, "oidc_signing_key_age_seconds", &["alg=\"RS256\""]);
    assert!(key_age.is_some_and(|age| age >= 0.0), "{text}");
}

#[tokio::test]
async fn metrics_move_to_their_own_listener() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address: SocketAddr = free.local_addr().unwrap();
    drop(free);
    let provider = spawn_provider_with(|config| config.metrics_bind = Some(address)).await;
    let main = provider
        .get(&provider.http, &provider.url("/metrics"))
        .await;
    assert_eq!(
        main.status,
        StatusCode::NOT_FOUND,
        "not on the main listener"
    );
    let reply = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert!(reply.text().await.unwrap().contains("oidc_redis_up"));
    // The management listener answers the probes too (health checks when the main listener
    // speaks TLS), and `provider healthcheck` finds the node there.
    for (path, body) in [("/healthz", "ok"), ("/readyz", "database: ok")] {
        let reply = reqwest::get(format!("http://{address}{path}"))
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK, "{path}");
        assert!(reply.text().await.unwrap().contains(body), "{path}");
    }
    let checked = provider::healthcheck::check(address, std::time::Duration::from_secs(3))
        .await
        .expect("ready");
    assert!(checked.starts_with("ready"), "{checked}");
    // Nothing else is there: the API stays on the main listener.
    let token = reqwest::get(format!("http://{address}/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::NOT_FOUND);
}
