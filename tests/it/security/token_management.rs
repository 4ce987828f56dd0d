//! `/introspect`, `/revoke` and `/userinfo`: tokens presented where they do not belong.

use reqwest::StatusCode;

use super::{Attack, Expect, run};
use crate::support::{Rp, Tokens, spawn_provider};

const BAD: StatusCode = StatusCode::BAD_REQUEST;
const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;

#[tokio::test]
async fn token_management_attacks_are_refused() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let (_, user) = provider
        .tokens(&browser, &Rp::web(), "openid profile", &[])
        .await;
    let service = Tokens::from_reply(
        &provider
            .token_request(
                &Rp::service(),
                &[("grant_type", "client_credentials"), ("scope", "api:read")],
            )
            .await,
    );
    let id_token = user.id_token.clone().expect("an ID token");
    let mut forged = user.access_token.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let introspect = provider.url("/introspect");
    let revoke = provider.url("/revoke");
    let userinfo = provider.url("/userinfo");
    let web = Some(("demo-web", "demo-web-secret"));
    let attacks = vec![
        Attack::form(
            "introspection without client authentication",
            introspect.clone(),
            None,
            &[("token", &user.access_token)],
            UNAUTHORIZED,
            Expect::Json("invalid_client"),
        ),
        Attack::form(
            "introspection by a public client",
            introspect.clone(),
            None,
            &[("token", &user.access_token), ("client_id", "demo-cli")],
            BAD,
            Expect::Json("unauthorized_client"),
        ),
        Attack::form(
            "introspection with a wrong secret",
            introspect.clone(),
            Some(("demo-web", "wrong")),
            &[("token", &user.access_token)],
            UNAUTHORIZED,
            Expect::Json("invalid_client"),
        ),
        Attack::form(
            "introspection without a token",
            introspect.clone(),
            web,
            &[],
            BAD,
            Expect::Json("invalid_request"),
        ),
        Attack::form(
            "introspection with token twice",
            introspect.clone(),
            web,
            &[("token", "a"), ("token", "b")],
            BAD,
            Expect::Json("invalid_request"),
        ),
        Attack::form(
            "revocation without client authentication",
            revoke.clone(),
            None,
            &[("token", &user.access_token)],
            UNAUTHORIZED,
            Expect::Json("invalid_client"),
        ),
        Attack::form(
            "revocation with a wrong secret",
            revoke.clone(),
            Some(("demo-service", "wrong")),
            &[("token", &user.access_token)],
            UNAUTHORIZED,
            Expect::Json("invalid_client"),
        ),
        Attack::form(
            "revocation without a token",
            revoke.clone(),
            web,
            &[],
            BAD,
            Expect::Json("invalid_request"),
        ),
        Attack::form(
            "revocation with token twice",
            revoke.clone(),
            web,
            &[("token", "a"), ("token", "b")],
            BAD,
            Expect::Json("invalid_request"),
        ),
        Attack::get(
            "UserInfo without a token",
            userinfo.clone(),
            UNAUTHORIZED,
            Expect::Bearer(None),
        ),
        Attack::get(
            "UserInfo with Bearer not-a-jwt",
            userinfo.clone(),
            UNAUTHORIZED,
            Expect::Bearer(Some("invalid_token")),
        )
        .header("authorization", "Bearer not-a-jwt"),
        Attack::get(
            "UserInfo with a forged signature",
            userinfo.clone(),
            UNAUTHORIZED,
            Expect::Bearer(Some("invalid_token")),
        )
        .header("authorization", format!("Bearer {forged}")),
        Attack::get(
            "UserInfo with an ID token",
            userinfo.clone(),
            UNAUTHORIZED,
            Expect::Bearer(Some("invalid_token")),
        )
        .header("authorization", format!("Bearer {id_token}")),
        Attack::get(
            "UserInfo with a client token (no user, no openid)",
            userinfo.clone(),
            StatusCode::FORBIDDEN,
            Expect::Bearer(Some("insufficient_scope")),
        )
        .header("authorization", format!("Bearer {}", service.access_token)),
        Attack::get(
            "UserInfo with the token in the query (an unsupported method: no credentials, RFC 6750 §3.1)",
            format!("{userinfo}?access_token={}", user.access_token),
            UNAUTHORIZED,
            Expect::Bearer(None),
        ),
        Attack::get(
            "UserInfo with two Authorization headers",
            userinfo.clone(),
            BAD,
            Expect::Bearer(Some("invalid_request")),
        )
        .header("authorization", format!("Bearer {}", user.access_token))
        .header("authorization", format!("Bearer {}", user.access_token)),
        Attack::get(
            "UserInfo with an unsigned token (alg none)",
            userinfo.clone(),
            UNAUTHORIZED,
            Expect::Bearer(Some("invalid_token")),
        )
        .header(
            "authorization",
            "Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJhZG1pbiJ9.",
        ),
    ];
    let mut ran = run(&provider, attacks).await;
    // A revoked token: revocation, then UserInfo refuses it.
    let reply = provider
        .revoke(&Rp::web(), &user.access_token, Some("access_token"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    ran += run(
        &provider,
        vec![
            Attack::get(
                "UserInfo with a revoked token",
                userinfo,
                UNAUTHORIZED,
                Expect::Bearer(Some("invalid_token")),
            )
            .header("authorization", format!("Bearer {}", user.access_token)),
        ],
    )
    .await;
    assert!(ran >= 18, "{ran}");
}
