//! RFC 8693 token exchange against a running provider: a client narrows its user's token for
//! another audience or fewer scopes; a resource server exchanges a token it received, naming
//! itself as the actor (`act`, nested across exchanges); the new token dies with the user's
//! grant; every exchange is audited; and every hostile request is refused with the RFC 8693
//! §2.2.2 / RFC 6749 §5.2 error, issuing nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    API_AUDIENCE, Rp, TestProvider, Tokens, assert_oauth_error, spawn_provider,
    spawn_provider_with_clock, unverified_claims,
};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The notes API's own client: a resource server that may exchange tokens it receives.
fn api() -> Rp {
    Rp::api()
}

/// alice's tokens for demo-web.
async fn alice_tokens(provider: &TestProvider, scope: &str) -> Tokens {
    let browser = provider.browser();
    provider.tokens(&browser, &Rp::web(), scope, &[]).await.1
}

async fn exchange(
    provider: &TestProvider,
    rp: &Rp,
    extra: &[(&str, &str)],
) -> crate::support::Reply {
    let mut params = vec![("grant_type", GRANT)];
    params.extend_from_slice(extra);
    provider.token_request(rp, &params).await
}

async fn client_token(provider: &TestProvider, rp: &Rp) -> String {
    let reply = provider
        .token_request(
            rp,
            &[("grant_type", "client_credentials"), ("scope", "api:read")],
        )
        .await;
    Tokens::from_reply(&reply).access_token
}

async fn audit_kinds(provider: &TestProvider) -> Vec<(String, String)> {
    let stores = provider::store::open(&provider.database_url)
        .await
        .expect("the store");
    stores
        .audit
        .audit_events(0, 1000)
        .await
        .expect("audit events")
        .into_iter()
        .map(|event| (event.kind, event.detail))
        .collect()
}

#[tokio::test]
async fn a_client_narrows_its_users_token_and_the_new_token_dies_with_the_grant() {
    let provider = spawn_provider().await;
    let discovery = provider
        .get(
            &provider.http,
            &provider.url("/.well-known/openid-configuration"),
        )
        .await
        .json();
    assert!(
        discovery["grant_types_supported"]
            .as_array()
            .expect("grants")
            .contains(&json!(GRANT))
    );

    let user = alice_tokens(
        &provider,
        "openid profile api:read api:write offline_access",
    )
    .await;
    let user_claims = unverified_claims(&user.access_token);
    let reply = exchange(
        &provider,
        &Rp::web(),
        &[
            ("subject_token", &user.access_token),
            ("subject_token_type", ACCESS),
            ("scope", "api:read"),
            ("resource", API_AUDIENCE),
            ("requested_token_type", ACCESS),
        ],
    )
    .await;
    let exchanged = Tokens::from_reply(&reply);
    assert_eq!(
        exchanged.json["issued_token_type"], ACCESS,
        "RFC 8693 §2.2.1"
    );
    assert_eq!(exchanged.json["token_type"], "Bearer");
    assert_eq!(exchanged.json["scope"], "api:read");
    assert!(
        exchanged.refresh_token.is_none() && exchanged.id_token.is_none(),
        "{}",
        exchanged.json
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let (header, claims) = provider
        .verify_jwt(&exchanged.access_token, API_AUDIENCE)
        .await;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(claims["sub"], user_claims["sub"], "the same user");
    assert_eq!(claims["client_id"], "demo-web");
    assert_eq!(claims["scope"], "api:read");
    assert_eq!(claims["auth_time"], user_claims["auth_time"]);
    assert!(
        claims.get("act").is_none(),
        "no actor token, no act: {claims}"
    );
    assert!(
        claims["exp"].as_i64() <= user_claims["exp"].as_i64(),
        "never outlives the subject token"
    );
    assert_ne!(claims["jti"], user_claims["jti"]);

    let audit = audit_kinds(&provider).await;
    let (_, detail) = audit
        .iter()
        .find(|(kind, _)| kind == "token_exchange")
        .expect("the exchange is audited");
    assert!(
        detail.contains(user_claims["jti"].as_str().expect("jti")),
        "{detail}"
    );
    assert!(
        !detail.contains(&user.access_token),
        "the audit names tokens by jti only"
    );

    // The resource server sees it active; revoking the user's grant (their refresh token)
    // revokes the exchanged token too.
    let active = provider
        .introspect(&api(), &exchanged.access_token, None)
        .await
        .json();
    assert_eq!(active["active"], true, "{active}");
    let revoked = provider
        .revoke(
            &Rp::web(),
            user.refresh_token.as_deref().expect("a refresh token"),
            Some("refresh_token"),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let inactive = provider
        .introspect(&api(), &exchanged.access_token, None)
        .await
        .json();
    assert_eq!(
        inactive["active"], false,
        "revoked with the grant: {inactive}"
    );
    // And a revoked subject token cannot be exchanged again.
    let again = exchange(
        &provider,
        &Rp::web(),
        &[
            ("subject_token", &user.access_token),
            ("subject_token_type", ACCESS),
        ],
    )
    .await;
    assert_oauth_error(
        &again,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "a revoked subject token",
    );
}

#[tokio::test]
async fn a_resource_server_acts_for_the_user_and_actors_nest() {
    let provider = spawn_provider().await;
    let user = alice_tokens(&provider, "openid api:read api:write").await;
    let api_token = client_token(&provider, &api()).await;
    let reply = exchange(
        &provider,
        &api(),
        &[
            ("subject_token", &user.access_token),
            ("subject_token_type", ACCESS),
            ("actor_token", &api_token),
            ("actor_token_type", ACCESS),
            ("audience", API_AUDIENCE),
            ("scope", "api:read"),
        ],
    )
    .await;
    let first = Tokens::from_reply(&reply);
    let (_, claims) = provider.verify_jwt(&first.access_token, API_AUDIENCE).await;
    assert_eq!(claims["sub"], unverified_claims(&user.access_token)["sub"]);
    assert_eq!(claims["client_id"], "demo-api");
    assert_eq!(
        claims["act"],
        json!({"sub": "demo-api", "client_id": "demo-api"}),
        "RFC 8693 §4.1"
    );
    let introspected = provider
        .introspect(&api(), &first.access_token, None)
        .await
        .json();
    assert_eq!(
        introspected["act"], claims["act"],
        "introspection shows the actor too: {introspected}"
    );

    // The API passes the narrowed token on; the next hop exchanges it again, with its own
    // actor token: the chain nests, the newest actor outside.
    let reply = exchange(
        &provider,
        &api(),
        &[
            ("subject_token", &first.access_token),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ("actor_token", &api_token),
            ("actor_token_type", ACCESS),
        ],
    )
    .await;
    let second = Tokens::from_reply(&reply);
    let claims = unverified_claims(&second.access_token);
    assert_eq!(claims["act"]["sub"], "demo-api");
    assert_eq!(
        claims["act"]["act"],
        json!({"sub": "demo-api", "client_id": "demo-api"}),
        "{claims}"
    );
    assert_eq!(claims["scope"], "api:read", "scopes never widen back");
}

/// A name, the client, the form (beside `grant_type`), the expected status and error.
type Refusal = (
    &'static str,
    Rp,
    Vec<(&'static str, String)>,
    StatusCode,
    &'static str,
);

/// Every refusal: exact status and error, nothing issued, the provider still answers.
#[tokio::test]
async fn hostile_exchanges_are_refused_and_issue_nothing() {
    let provider = spawn_provider().await;
    let user = alice_tokens(&provider, "openid api:read offline_access").await;
    let service_token = client_token(&provider, &Rp::service()).await;
    let id_token = user.id_token.clone().expect("an ID token");
    let subject = user.access_token.as_str();
    let mut tampered = subject.to_owned();
    tampered.truncate(tampered.len() - 3);
    tampered.push_str("AAA");
    let huge = "a".repeat(60_000);
    let wrong_secret = Rp {
        secret: Some("not-the-secret"),
        ..Rp::web()
    };
    let cli = Rp::cli(4321);
    let base = [("subject_token", subject), ("subject_token_type", ACCESS)];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, String)> {
        base.iter()
            .chain(extra.iter())
            .map(|(key, value)| (*key, (*value).to_owned()))
            .collect()
    };
    let owned = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        pairs
            .iter()
            .map(|(key, value)| (*key, (*value).to_owned()))
            .collect()
    };
    let cases: Vec<Refusal> = vec![
        (
            "a client not registered for the grant",
            Rp::service(),
            with(&[]),
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        ),
        (
            "a public client",
            cli,
            with(&[]),
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        ),
        (
            "a wrong client secret",
            wrong_secret,
            with(&[]),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "no subject_token",
            Rp::web(),
            owned(&[("subject_token_type", ACCESS)]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "no subject_token_type",
            Rp::web(),
            owned(&[("subject_token", subject)]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "subject_token twice",
            Rp::web(),
            with(&[("subject_token", "x")]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "an unknown token type",
            Rp::web(),
            owned(&[
                ("subject_token", subject),
                ("subject_token_type", "urn:example:saml"),
            ]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "an ID token declared as one",
            Rp::web(),
            owned(&[
                ("subject_token", &id_token),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:id_token",
                ),
            ]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "an ID token posing as an access token",
            Rp::web(),
            owned(&[("subject_token", &id_token), ("subject_token_type", ACCESS)]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "garbage",
            Rp::web(),
            owned(&[
                ("subject_token", "not-a-jwt"),
                ("subject_token_type", ACCESS),
            ]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "a broken signature",
            Rp::web(),
            owned(&[("subject_token", &tampered), ("subject_token_type", ACCESS)]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "an oversized token",
            Rp::web(),
            owned(&[("subject_token", &huge), ("subject_token_type", ACCESS)]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "another client's token",
            Rp::web(),
            owned(&[
                ("subject_token", &service_token),
                ("subject_token_type", ACCESS),
            ]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "another client's token as the actor",
            Rp::web(),
            with(&[])
                .into_iter()
                .chain([
                    ("actor_token", service_token.clone()),
                    ("actor_token_type", ACCESS.to_owned()),
                ])
                .collect(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "actor_token without its type",
            Rp::web(),
            with(&[])
                .into_iter()
                .chain([("actor_token", subject.to_owned())])
                .collect(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "a wider scope",
            Rp::web(),
            with(&[("scope", "api:read api:write")]),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            "an unknown scope",
            Rp::web(),
            with(&[("scope", "admin")]),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            "a resource the client may not target",
            Rp::web(),
            with(&[("resource", "https://evil.example")]),
            StatusCode::BAD_REQUEST,
            "invalid_target",
        ),
        (
            "two resources",
            Rp::web(),
            with(&[
                ("resource", API_AUDIENCE),
                ("resource", "https://other.example"),
            ]),
            StatusCode::BAD_REQUEST,
            "invalid_target",
        ),
        (
            "resource and audience disagree",
            Rp::web(),
            with(&[
                ("resource", API_AUDIENCE),
                ("audience", "https://other.example"),
            ]),
            StatusCode::BAD_REQUEST,
            "invalid_target",
        ),
        (
            "a refresh token wanted",
            Rp::web(),
            with(&[(
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:refresh_token",
            )]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (name, rp, params, status, error) in cases {
        let mut pairs: Vec<(&str, &str)> = vec![("grant_type", GRANT)];
        pairs.extend(params.iter().map(|(key, value)| (*key, value.as_str())));
        let reply = provider.token_request(&rp, &pairs).await;
        assert_oauth_error(&reply, status, error, name);
        assert!(
            reply.json().get("access_token").is_none(),
            "{name}: nothing issued"
        );
        let health = provider
            .get(&provider.http, &provider.url("/healthz"))
            .await;
        assert_eq!(
            health.status,
            StatusCode::OK,
            "{name}: the provider still answers"
        );
    }
    // Nothing was exchanged, so nothing was audited as an exchange.
    assert!(
        audit_kinds(&provider)
            .await
            .iter()
            .all(|(kind, _)| kind != "token_exchange")
    );
}

#[tokio::test]
async fn an_expired_subject_token_is_refused() {
    let (provider, clock) = spawn_provider_with_clock().await;
    let user = alice_tokens(&provider, "openid api:read").await;
    clock.advance(601);
    let reply = exchange(
        &provider,
        &Rp::web(),
        &[
            ("subject_token", &user.access_token),
            ("subject_token_type", ACCESS),
        ],
    )
    .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "an expired subject token",
    );
    let description: Value = reply.json()["error_description"].clone();
    assert!(
        description
            .as_str()
            .is_some_and(|text| text.contains("expired")),
        "{description}"
    );
}
