//! `/authorize` and `/par`: the front channel, attacked. Before the client and redirect URI
//! are proven, every error is a page; after, an error redirect (RFC 6749 §4.1.2.1).

use reqwest::StatusCode;

use super::{Attack, Expect, run};
use crate::support::{Pkce, Rp, authorization_params, encode, spawn_provider, with_changes};

const BAD: StatusCode = StatusCode::BAD_REQUEST;
const SEE_OTHER: StatusCode = StatusCode::SEE_OTHER;

#[tokio::test]
async fn authorization_endpoint_attacks_are_refused() {
    let provider = spawn_provider().await;
    let pkce = Pkce::new();
    let base = authorization_params(&Rp::web(), "openid", &pkce, "st", "n");
    let url = |changes: &[(&str, Option<&str>)]| {
        provider.authorize_url(&with_changes(base.clone(), changes))
    };
    let duplicated = format!("{}&scope=openid", url(&[]));
    let attacks = vec![
        Attack::get(
            "an unknown client",
            url(&[("client_id", Some("nobody"))]),
            BAD,
            Expect::Page("invalid_client"),
        ),
        Attack::get(
            "no client_id",
            url(&[("client_id", None)]),
            BAD,
            Expect::Page("invalid_request"),
        ),
        Attack::get(
            "an unregistered redirect_uri (open redirector)",
            url(&[("redirect_uri", Some("https://evil.example/cb"))]),
            BAD,
            Expect::Page("invalid_request"),
        ),
        Attack::get(
            "a redirect_uri differing in a trailing slash",
            url(&[("redirect_uri", Some("http://127.0.0.1:8082/callback/"))]),
            BAD,
            Expect::Page("invalid_request"),
        ),
        Attack::get(
            "a redirect_uri with an added query",
            url(&[(
                "redirect_uri",
                Some("http://127.0.0.1:8082/callback?next=https://evil.example"),
            )]),
            BAD,
            Expect::Page("invalid_request"),
        ),
        Attack::get(
            "no redirect_uri",
            url(&[("redirect_uri", None)]),
            BAD,
            Expect::Page("invalid_request"),
        ),
        Attack::get(
            "a duplicated parameter",
            duplicated,
            SEE_OTHER,
            Expect::Redirect("invalid_request"),
        ),
        Attack::get(
            "response_type=token (implicit, removed)",
            url(&[("response_type", Some("token"))]),
            SEE_OTHER,
            Expect::Redirect("unsupported_response_type"),
        ),
        Attack::get(
            "response_type=code id_token (hybrid)",
            url(&[("response_type", Some("code id_token"))]),
            SEE_OTHER,
            Expect::Redirect("unsupported_response_type"),
        ),
        Attack::get(
            "no PKCE challenge",
            url(&[("code_challenge", None), ("code_challenge_method", None)]),
            SEE_OTHER,
            Expect::Redirect("invalid_request"),
        ),
        Attack::get(
            "PKCE plain (downgrade)",
            url(&[("code_challenge_method", Some("plain"))]),
            SEE_OTHER,
            Expect::Redirect("invalid_request"),
        ),
        Attack::get(
            "a malformed challenge",
            url(&[("code_challenge", Some("short"))]),
            SEE_OTHER,
            Expect::Redirect("invalid_request"),
        ),
        Attack::get(
            "an unknown scope",
            url(&[("scope", Some("openid admin"))]),
            SEE_OTHER,
            Expect::Redirect("invalid_scope"),
        ),
        Attack::get(
            "an unsigned request object (alg none)",
            url(&[("request", Some("eyJhbGciOiJub25lIn0.e30."))]),
            BAD,
            Expect::Page("invalid_request_object"),
        ),
        Attack::get(
            "a made-up request_uri",
            url(&[(
                "request_uri",
                Some("urn:ietf:params:oauth:request_uri:nope"),
            )]),
            BAD,
            Expect::Page("invalid_request_uri"),
        ),
        Attack::get(
            "prompt=none without a session",
            url(&[("prompt", Some("none"))]),
            SEE_OTHER,
            Expect::Redirect("login_required"),
        ),
        Attack::get(
            "a resource the client may not target",
            url(&[("resource", Some("https://evil.example"))]),
            SEE_OTHER,
            Expect::Redirect("invalid_target"),
        ),
        Attack::get(
            "client_id twice",
            format!("{}&client_id=demo-cli", url(&[])),
            BAD,
            Expect::Page("invalid_request"),
        ),
    ];
    let mut ran = run(&provider, attacks).await;

    let par = provider.url("/par");
    let pushed = |changes: &[(&str, Option<&str>)]| -> String {
        encode(&with_changes(base.clone(), changes))
    };
    let form = |name: &str, basic: Option<(&str, &str)>, body: String, status, expect| {
        Attack::form(name, par.clone(), basic, &[], status, expect)
            .raw_body("application/x-www-form-urlencoded", body.into_bytes())
    };
    let web = Some(("demo-web", "demo-web-secret"));
    let attacks = vec![
        form(
            "PAR without client authentication",
            None,
            pushed(&[("client_id", None)]),
            StatusCode::UNAUTHORIZED,
            Expect::Json("invalid_client"),
        ),
        form(
            "PAR with a wrong secret",
            Some(("demo-web", "wrong")),
            pushed(&[]),
            StatusCode::UNAUTHORIZED,
            Expect::Json("invalid_client"),
        ),
        form(
            "PAR pushing a request_uri",
            web,
            pushed(&[("request_uri", Some("urn:x"))]),
            BAD,
            Expect::Json("invalid_request"),
        ),
        form(
            "PAR without PKCE",
            web,
            pushed(&[("code_challenge", None), ("code_challenge_method", None)]),
            BAD,
            Expect::Json("invalid_request"),
        ),
        form(
            "PAR with an unregistered redirect_uri",
            web,
            pushed(&[("redirect_uri", Some("https://evil.example/cb"))]),
            BAD,
            Expect::Json("invalid_request"),
        ),
        form(
            "PAR for another client_id than authenticated",
            web,
            pushed(&[("client_id", Some("demo-cli"))]),
            BAD,
            Expect::Json("invalid_request"),
        ),
    ];
    ran += run(&provider, attacks).await;
    assert!(ran >= 24, "{ran}");
}
