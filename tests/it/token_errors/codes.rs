//! RFC 6749 §4.1.3 + RFC 7636 §4.6: redeeming real codes with a wrong verifier, another
//! redirect URI or another client is `invalid_grant`, and a failed attempt burns the code.

use reqwest::StatusCode;

use crate::support::{
    ClientAuth, Flow, Pkce, Reply, Rp, TestProvider, assert_oauth_error, random_token,
    spawn_provider,
};

/// Which `code_verifier` the token request carries.
#[derive(Clone, Copy, Debug)]
enum Verifier {
    /// The one matching the challenge.
    Right,
    /// A well-formed verifier of another PKCE pair.
    Wrong,
    /// Outside the RFC 7636 §4.1 length/alphabet.
    Malformed,
    /// None at all.
    Missing,
}

/// Redeems `flow`'s code as `redeemer` with the given redirect URI and verifier.
async fn redeem(
    provider: &TestProvider,
    redeemer: &Rp,
    code: &str,
    redirect_uri: &str,
    flow: &Flow,
    verifier: Verifier,
) -> Reply {
    let wrong = Pkce::new().verifier;
    let verifier = match verifier {
        Verifier::Right => Some(flow.verifier.as_str()),
        Verifier::Wrong => Some(wrong.as_str()),
        Verifier::Malformed => Some("short"),
        Verifier::Missing => None,
    };
    let mut pairs = vec![
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        ("code".to_owned(), code.to_owned()),
        ("redirect_uri".to_owned(), redirect_uri.to_owned()),
    ];
    if let Some(verifier) = verifier {
        pairs.push(("code_verifier".to_owned(), verifier.to_owned()));
    }
    match redeemer.auth {
        ClientAuth::None => {
            pairs.push(("client_id".to_owned(), redeemer.client_id.to_owned()));
            provider.raw_token_request(None, &pairs).await
        }
        _ => {
            let secret = redeemer.secret.unwrap_or_default();
            provider
                .raw_token_request(Some((redeemer.client_id, secret)), &pairs)
                .await
        }
    }
}

#[tokio::test]
async fn code_redemption_mismatches_are_invalid_grant() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let (web, cli) = (Rp::web(), Rp::cli_random_port());
    let other_port = Rp::cli_random_port().redirect_uri;
    // (case, code issued to, redeemed by, redirect_uri sent (None: the right one), verifier, error)
    let cases = [
        (
            "missing code_verifier",
            &web,
            &web,
            None,
            Verifier::Missing,
            "invalid_request",
        ),
        (
            "wrong code_verifier",
            &web,
            &web,
            None,
            Verifier::Wrong,
            "invalid_grant",
        ),
        (
            "malformed code_verifier",
            &web,
            &web,
            None,
            Verifier::Malformed,
            "invalid_grant",
        ),
        (
            "redirect_uri with a trailing slash",
            &web,
            &web,
            Some("http://127.0.0.1:8082/callback/"),
            Verifier::Right,
            "invalid_grant",
        ),
        (
            "native redirect_uri on another port than the code's",
            &cli,
            &cli,
            Some(other_port.as_str()),
            Verifier::Right,
            "invalid_grant",
        ),
        (
            "demo-cli code redeemed by demo-web",
            &cli,
            &web,
            None,
            Verifier::Right,
            "invalid_grant",
        ),
        (
            "demo-web code redeemed by demo-cli",
            &web,
            &cli,
            None,
            Verifier::Right,
            "invalid_grant",
        ),
    ];
    // One login; every later code comes from the SSO session.
    for (name, issued_to, redeemer, redirect_uri, verifier, error) in cases {
        let flow = provider.code_flow(&browser, issued_to, "openid", &[]).await;
        let redirect_uri = redirect_uri.unwrap_or(&flow.redirect_uri);
        let reply = redeem(
            &provider,
            redeemer,
            &flow.code,
            redirect_uri,
            &flow,
            verifier,
        )
        .await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, error, name);
    }

    // A wrong verifier burns the code: the right verifier afterwards is refused too.
    let flow = provider.code_flow(&browser, &web, "openid", &[]).await;
    let uri = flow.redirect_uri.clone();
    let reply = redeem(&provider, &web, &flow.code, &uri, &flow, Verifier::Wrong).await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "wrong verifier",
    );
    let reply = redeem(&provider, &web, &flow.code, &uri, &flow, Verifier::Right).await;
    let context = "right verifier after a wrong one";
    assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", context);

    // A made-up code with a plausible shape.
    let reply = redeem(
        &provider,
        &web,
        &random_token(),
        &uri,
        &flow,
        Verifier::Right,
    )
    .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "unknown code",
    );

    // The same helpers redeem fine when everything matches, for both clients.
    for rp in [&web, &cli] {
        let flow = provider.code_flow(&browser, rp, "openid", &[]).await;
        let uri = flow.redirect_uri.clone();
        let reply = redeem(&provider, rp, &flow.code, &uri, &flow, Verifier::Right).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}: {}",
            rp.client_id,
            reply.text
        );
    }
}
