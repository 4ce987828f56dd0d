//! RFC 6749 §4.4 client credentials grant: an RFC 9068 JWT access token for the client itself
//! (`sub` = `client_id`), no refresh token and no ID token, scope defaulting to everything the
//! client may request, RFC 8707 resource indicators, and each error code on the wire.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    API_AUDIENCE, ClientAuth, Reply, Rp, SERVICE, TestProvider, Tokens, assert_json_no_store,
    assert_oauth_error, audiences, scope_set, spawn_provider,
};

/// A client_credentials request and the scope it should be granted.
struct Grant {
    rp: Rp,
    scope: Option<&'static str>,
    resource: Option<&'static str>,
    expected: &'static str,
}

impl Grant {
    fn new(
        rp: Rp,
        scope: Option<&'static str>,
        resource: Option<&'static str>,
        expected: &'static str,
    ) -> Grant {
        Grant {
            rp,
            scope,
            resource,
            expected,
        }
    }
}

/// A request the token endpoint must refuse, with the RFC 6749 §5.2 answer.
struct Refusal {
    grant: Grant,
    status: StatusCode,
    error: &'static str,
    context: &'static str,
}

impl Refusal {
    fn new(grant: Grant, status: StatusCode, error: &'static str, context: &'static str) -> Self {
        Refusal {
            grant,
            status,
            error,
            context,
        }
    }
}

async fn request(provider: &TestProvider, grant: &Grant) -> Reply {
    let mut params = vec![("grant_type", "client_credentials")];
    params.extend(grant.scope.map(|scope| ("scope", scope)));
    params.extend(grant.resource.map(|resource| ("resource", resource)));
    provider.token_request(&grant.rp, &params).await
}

#[tokio::test]
async fn service_gets_an_rfc9068_access_token_for_itself_and_nothing_else() {
    let provider = spawn_provider().await;
    let cases = [
        Grant::new(Rp::service(), Some("api:read"), None, "api:read"),
        Grant::new(Rp::service(), Some("api:write"), None, "api:write"),
        // RFC 6749 §3.3: no scope means the client's default, here all it may request.
        Grant::new(Rp::service(), None, None, "api:read api:write"),
        Grant::new(Rp::service(), Some(""), None, "api:read api:write"),
        // RFC 8707 §2: an allowed resource becomes the audience.
        Grant::new(
            Rp::service(),
            Some("api:read api:write"),
            Some(API_AUDIENCE),
            "api:read api:write",
        ),
    ];
    for case in cases {
        let context = format!(
            "{:?} scope {:?} resource {:?}",
            case.rp.auth, case.scope, case.resource
        );
        let reply = request(&provider, &case).await;
        assert_eq!(reply.status, StatusCode::OK, "{context}: {}", reply.text);
        assert_json_no_store(&reply, &context);
        assert_eq!(reply.header("pragma"), Some("no-cache"), "{context}");
        let tokens = Tokens::from_reply(&reply);
        let json = &tokens.json;
        let expected_scope = case.expected;
        let expected_aud = API_AUDIENCE;
        assert_eq!(json["token_type"], "Bearer", "{context}: {json}");
        assert!(
            json["expires_in"].as_u64().is_some_and(|secs| secs > 0),
            "{context}: {json}"
        );
        assert_eq!(
            scope_set(json["scope"].as_str().unwrap_or_default()),
            scope_set(expected_scope),
            "{context}: {json}"
        );
        // RFC 6749 §4.4.3: a refresh token SHOULD NOT be included; there is no user, so no
        // ID token either.
        for absent in ["refresh_token", "id_token"] {
            assert!(json.get(absent).is_none(), "{context}: {absent} in {json}");
        }

        let (header, claims) = provider
            .verify_jwt(&tokens.access_token, expected_aud)
            .await;
        // RFC 9068 §2.1: typ at+jwt; §2.2: sub is the client when there is no user.
        assert_eq!(header.typ.as_deref(), Some("at+jwt"), "{context}");
        assert_eq!(claims["sub"], SERVICE, "{context}: {claims}");
        assert_eq!(claims["client_id"], SERVICE, "{context}: {claims}");
        assert_eq!(audiences(&claims), [expected_aud], "{context}");
        assert_eq!(
            scope_set(claims["scope"].as_str().unwrap_or_default()),
            scope_set(expected_scope),
            "{context}: {claims}"
        );
        assert!(claims["jti"].is_string(), "{context}: {claims}");
        assert!(
            claims.get("auth_time").is_none(),
            "{context}: no user, no auth_time: {claims}"
        );
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert_eq!(
            Some(lifetime),
            json["expires_in"].as_i64(),
            "{context}: exp - iat = expires_in"
        );
    }
}

#[tokio::test]
async fn client_credentials_errors_are_rfc6749_codes() {
    let provider = spawn_provider().await;
    let wrong_secret = || Rp::service().with_secret("not-the-secret");
    let bad_request = StatusCode::BAD_REQUEST;
    let cases = [
        Refusal::new(
            Grant::new(Rp::cli_random_port(), Some("api:read"), None, ""),
            bad_request,
            "unauthorized_client",
            "public client demo-cli",
        ),
        Refusal::new(
            Grant::new(Rp::web(), Some("api:read"), None, ""),
            bad_request,
            "unauthorized_client",
            "demo-web is not registered for client_credentials",
        ),
        Refusal::new(
            Grant::new(Rp::service(), Some("openid"), None, ""),
            bad_request,
            "invalid_scope",
            "openid needs a user",
        ),
        Refusal::new(
            Grant::new(Rp::service(), Some("api:read offline_access"), None, ""),
            bad_request,
            "invalid_scope",
            "offline_access needs a user",
        ),
        Refusal::new(
            Grant::new(Rp::service(), Some("profile"), None, ""),
            bad_request,
            "invalid_scope",
            "a known scope the client may not request",
        ),
        Refusal::new(
            Grant::new(Rp::service(), Some("api:read admin"), None, ""),
            bad_request,
            "invalid_scope",
            "an unknown scope",
        ),
        Refusal::new(
            Grant::new(
                Rp::service(),
                Some("api:read"),
                Some("https://other.example/api"),
                "",
            ),
            bad_request,
            "invalid_target",
            "a resource the client may not ask for",
        ),
        Refusal::new(
            Grant::new(wrong_secret(), Some("api:read"), None, ""),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "wrong secret with Basic",
        ),
        Refusal::new(
            Grant::new(
                Rp {
                    auth: ClientAuth::Post,
                    ..wrong_secret()
                },
                Some("api:read"),
                None,
                "",
            ),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "wrong secret in the body",
        ),
    ];
    for Refusal {
        grant,
        status,
        error,
        context,
    } in cases
    {
        let reply = request(&provider, &grant).await;
        assert_oauth_error(&reply, status, error, context);
        let json: Value = reply.json();
        assert!(json.get("access_token").is_none(), "{context}: {json}");
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6749 §5.2: a 401 carries a challenge for the scheme the client used.
            let challenge = reply.header("www-authenticate").unwrap_or_default();
            assert!(challenge.starts_with("Basic"), "{context}: {challenge:?}");
        }
    }
}

/// RFC 7591 §2: a client is held to its registered `token_endpoint_auth_method`; the right
/// secret sent another way is refused.
#[tokio::test]
async fn clients_are_held_to_their_registered_authentication_method() {
    let provider = spawn_provider().await;
    let params = [("grant_type", "client_credentials"), ("scope", "api:read")];
    for (rp, context) in [
        (
            Rp::service_in_body(),
            "demo-service (Basic) sends its secret in the body",
        ),
        (
            Rp {
                auth: ClientAuth::Basic,
                ..Rp::api()
            },
            "demo-api (client_secret_post) uses Basic",
        ),
    ] {
        let reply = provider.token_request(&rp, &params).await;
        assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client", context);
        assert!(
            reply.text.contains("token_endpoint_auth_method"),
            "{context}: {}",
            reply.text
        );
    }
    for rp in [Rp::service(), Rp::api()] {
        let reply = provider.token_request(&rp, &params).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}: {}",
            rp.client_id,
            reply.text
        );
    }
}
