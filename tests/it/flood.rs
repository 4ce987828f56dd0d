//! Bounded growth under a flood: every `/authorize` stores an interaction before anyone signs
//! in, so the table must be emptied of expired rows on a schedule (in bounded statements), and
//! `oidc_store_rows` lets an operator watch it.

use std::sync::Arc;
use std::time::Duration;

use provider::clock::{Clock, ManualClock};
use reqwest::StatusCode;

use crate::support::{Pkce, Rp, TestProvider, authorization_params, spawn};

/// `oidc_store_rows{table="interactions"}` from `/metrics`.
async fn interactions(provider: &TestProvider) -> u64 {
    let text = provider
        .get(&provider.http, &provider.url("/metrics"))
        .await
        .text;
    text.lines()
        .find(|line| line.starts_with("oidc_store_rows{table=\"interactions\"}"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

async fn flood(provider: &TestProvider, requests: usize) {
    let rp = Rp::web();
    let pkce = Pkce::new();
    let url = provider.authorize_url(&authorization_params(&rp, "openid", &pkce, "s", "n"));
    for _ in 0..requests {
        let status = provider
            .http
            .get(&url)
            .send()
            .await
            .expect("GET /authorize")
            .status();
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "each request stores an interaction"
        );
    }
}

#[tokio::test]
async fn interactions_stay_bounded_by_their_lifetime_under_a_flood() {
    let clock = Arc::new(ManualClock::new(provider::clock::SystemClock.now()));
    let environment = provider::state::Environment {
        clock: clock.clone(),
        ..provider::state::Environment::default()
    };
    let provider = spawn(
        |config| config.purge_interval = Duration::from_millis(200),
        environment,
    )
    .await;
    flood(&provider, 600).await;
    assert_eq!(interactions(&provider).await, 600);
    // Fifteen minutes later the first wave has expired; a second wave arrives.
    clock.advance(901);
    flood(&provider, 300).await;
    let mut rows = 0;
    for _ in 0..50 {
        rows = interactions(&provider).await;
        if rows == 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        rows, 300,
        "only the live wave is left: rows are bounded by rate x lifetime"
    );
}
