//! The demo API (the resource crate's verifier and scope guards) attacked with tokens that are
//! not for it.

use reqwest::StatusCode;

use super::{Attack, Expect, run};
use crate::support::{Rp, Tokens, spawn_provider};

#[tokio::test]
async fn resource_server_attacks_are_refused() {
    let provider = spawn_provider().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = resource::demo::serve(
        resource::demo::Config::new(provider.issuer.clone()),
        listener,
    )
    .await
    .expect("the demo API starts");
    let me = format!("{}/api/me", api.base_url());
    let notes = format!("{}/api/notes", api.base_url());
    let (_, user) = provider
        .tokens(&provider.browser(), &Rp::web(), "openid api:read", &[])
        .await;
    let exchanged_elsewhere = Tokens::from_reply(
        &provider
            .token_request(
                &Rp::api(),
                &[("grant_type", "client_credentials"), ("scope", "api:read")],
            )
            .await,
    );
    let id_token = user.id_token.clone().expect("an ID token");
    let bearer = |token: &str| format!("Bearer {token}");
    let unauthorized = StatusCode::UNAUTHORIZED;
    let attacks = vec![
        Attack::get("no token", me.clone(), unauthorized, Expect::Bearer(None)),
        Attack::get(
            "Bearer not-a-jwt",
            me.clone(),
            unauthorized,
            Expect::Bearer(Some("invalid_token")),
        )
        .header("authorization", "Bearer not-a-jwt"),
        Attack::get(
            "three parts that are not base64url",
            me.clone(),
            unauthorized,
            Expect::Bearer(Some("invalid_token")),
        )
        .header("authorization", "Bearer a.b.c"),
        Attack::get(
            "an ID token",
            me.clone(),
            unauthorized,
            Expect::Bearer(Some("invalid_token")),
        )
        .header("authorization", bearer(&id_token)),
        Attack::get(
            "alg none",
            me.clone(),
            unauthorized,
            Expect::Bearer(Some("invalid_token")),
        )
        .header(
            "authorization",
            "Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJhZG1pbiJ9.",
        ),
        Attack::get(
            "the token in the query",
            format!("{me}?access_token={}", user.access_token),
            StatusCode::BAD_REQUEST,
            Expect::Bearer(Some("invalid_request")),
        ),
        Attack::get(
            "a write without the write scope",
            notes.clone(),
            StatusCode::FORBIDDEN,
            Expect::Bearer(Some("insufficient_scope")),
        )
        .header("authorization", bearer(&user.access_token))
        .method_post_note(),
        Attack::get(
            "two tokens in one header",
            me.clone(),
            StatusCode::BAD_REQUEST,
            Expect::Bearer(Some("invalid_request")),
        )
        .header(
            "authorization",
            format!(
                "Bearer {} {}",
                user.access_token, exchanged_elsewhere.access_token
            ),
        ),
        Attack::get(
            "a client token's write without api:write",
            notes.clone(),
            StatusCode::FORBIDDEN,
            Expect::Bearer(Some("insufficient_scope")),
        )
        .header("authorization", bearer(&exchanged_elsewhere.access_token))
        .method_post_note(),
    ];
    // The provider's health is what `run` checks afterwards; the API must stay up too.
    let ran = run(&provider, attacks).await;
    let health = reqwest::get(format!("{}/healthz", api.base_url()))
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(ran >= 8, "{ran}");
}

impl Attack {
    fn method_post_note(mut self) -> Self {
        self.method = reqwest::Method::POST;
        self.raw_body("application/json", br#"{"text":"pwned"}"#.to_vec())
    }
}
