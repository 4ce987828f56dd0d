//! `/register` (RFC 7591/7592): metadata an attacker would like to have accepted.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{Attack, Expect, run};
use crate::support::spawn_provider;

const BAD: StatusCode = StatusCode::BAD_REQUEST;

fn json_post(
    name: &str,
    url: &str,
    body: serde_json::Value,
    status: StatusCode,
    expect: Expect,
) -> Attack {
    Attack::get(name, url.to_owned(), status, expect).method_post_json(body)
}

impl Attack {
    fn method_post_json(mut self, body: serde_json::Value) -> Self {
        self.method = Method::POST;
        self.raw_body("application/json", body.to_string().into_bytes())
    }
}

#[tokio::test]
async fn registration_attacks_are_refused() {
    let provider = spawn_provider().await;
    let register = provider.url("/register");
    let url = register.as_str();
    let metadata = |extra: serde_json::Value| {
        let mut base = json!({"redirect_uris": ["https://app.example.com/cb"]});
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            for (key, value) in extra {
                base.insert(key.clone(), value.clone());
            }
        }
        base
    };
    let attacks = vec![
        json_post(
            "a plain-http redirect URI",
            url,
            json!({"redirect_uris": ["http://app.example.com/cb"]}),
            BAD,
            Expect::Json("invalid_redirect_uri"),
        ),
        json_post(
            "a javascript: redirect URI",
            url,
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            BAD,
            Expect::Json("invalid_redirect_uri"),
        ),
        json_post(
            "a redirect URI with a fragment",
            url,
            json!({"redirect_uris": ["https://app.example.com/cb#x"]}),
            BAD,
            Expect::Json("invalid_redirect_uri"),
        ),
        json_post(
            "a relative redirect URI",
            url,
            json!({"redirect_uris": ["/cb"]}),
            BAD,
            Expect::Json("invalid_redirect_uri"),
        ),
        json_post(
            "the implicit grant",
            url,
            metadata(json!({"grant_types": ["implicit"]})),
            BAD,
            Expect::Json("invalid_client_metadata"),
        ),
        json_post(
            "response_type token",
            url,
            metadata(json!({"response_types": ["token"]})),
            BAD,
            Expect::Json("invalid_client_metadata"),
        ),
        json_post(
            "an unknown auth method",
            url,
            metadata(json!({"token_endpoint_auth_method": "private_key_jwt"})),
            BAD,
            Expect::Json("invalid_client_metadata"),
        ),
        json_post(
            "a public client with client_credentials",
            url,
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            BAD,
            Expect::Json("invalid_client_metadata"),
        ),
        json_post(
            "an unknown scope",
            url,
            metadata(json!({"scope": "openid admin"})),
            BAD,
            Expect::Json("invalid_client_metadata"),
        ),
        json_post(
            "an unsigned ID token algorithm",
            url,
            metadata(json!({"id_token_signed_response_alg": "none"})),
            BAD,
            Expect::Json("invalid_client_metadata"),
        ),
        json_post(
            "a client_name with control characters",
            url,
            metadata(json!({"client_name": "Bank\u{7}\nLogin"})),
            BAD,
            Expect::Json("invalid_client_metadata"),
        ),
        json_post(
            "a 10 000-character client_name",
            url,
            metadata(json!({"client_name": "x".repeat(10_000)})),
            BAD,
            Expect::Json("invalid_client_metadata"),
        ),
        Attack::get(
            "a body that is not JSON",
            register.clone(),
            BAD,
            Expect::Json("invalid_client_metadata"),
        )
        .method_post_json(json!(null))
        .raw_body("application/json", b"{not json".to_vec()),
        Attack::get(
            "RFC 7592 read without the registration token",
            provider.url("/register/demo-web"),
            StatusCode::UNAUTHORIZED,
            Expect::Bearer(None),
        ),
        Attack::get(
            "RFC 7592 read with another client's token",
            provider.url("/register/demo-web"),
            StatusCode::UNAUTHORIZED,
            Expect::Bearer(Some("invalid_token")),
        )
        .header("authorization", "Bearer made-up-registration-token"),
    ];
    let ran = run(&provider, attacks).await;
    assert!(ran >= 15, "{ran}");
}
