//! Client ID Metadata Documents against a running provider: a client whose `client_id` is the
//! URL of its metadata document signs a user in without registering (the consent page names
//! the document's host), and every unusable document names no client.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{
    ClientAuth, Rp, Tokens, page_error_code, serve_documents, spawn_provider, spawn_provider_with,
};

fn document(client_id: &str, redirect_uri: &str) -> serde_json::Value {
    json!({
        "client_id": client_id,
        "client_name": "MCP inspector (test)",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

const CALLBACK: &str = "http://127.0.0.1:7777/callback";

#[tokio::test]
async fn a_document_client_signs_a_user_in_after_consent() {
    let provider = spawn_provider().await;
    assert_eq!(
        provider.discovery().await["client_id_metadata_document_supported"],
        true
    );
    let base = serve_documents(|base| {
        vec![(
            "/client.json",
            document(&format!("{base}/client.json"), CALLBACK).to_string(),
        )]
    })
    .await;
    let client_id = format!("{base}/client.json");
    let rp = Rp::registered(&client_id, None, ClientAuth::None, CALLBACK);
    let browser = provider.browser();
    let flow = provider
        .code_flow(&browser, &rp, "openid api:read", &[])
        .await;
    assert!(
        flow.saw_consent,
        "a document client always asks for consent"
    );
    let tokens = Tokens::from_reply(&provider.exchange_code(&rp, &flow).await);
    let claims = crate::support::unverified_claims(&tokens.access_token);
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(
        claims["aud"],
        crate::support::API_AUDIENCE,
        "dev rules: the demo API by default"
    );
}

#[tokio::test]
async fn unusable_documents_name_no_client() {
    let provider = spawn_provider().await;
    let base = serve_documents(|base| {
        vec![
            (
                "/mismatch.json",
                document("https://other.example/client.json", CALLBACK).to_string(),
            ),
            ("/secret.json", {
                let mut doc = document(&format!("{base}/secret.json"), CALLBACK);
                doc["client_secret"] = json!("s");
                doc.to_string()
            }),
            ("/big.json", {
                let mut doc = document(&format!("{base}/big.json"), CALLBACK);
                doc["client_name"] = json!("x".repeat(6000));
                doc.to_string()
            }),
            ("/confidential.json", {
                let mut doc = document(&format!("{base}/confidential.json"), CALLBACK);
                doc["token_endpoint_auth_method"] = json!("client_secret_basic");
                doc.to_string()
            }),
            ("/not-json.json", "<html>hello</html>".to_owned()),
            (
                "/good.json",
                document(&format!("{base}/good.json"), CALLBACK).to_string(),
            ),
        ]
    })
    .await;
    let browser = provider.browser();
    for path in [
        "/mismatch.json",
        "/secret.json",
        "/big.json",
        "/confidential.json",
        "/not-json.json",
        "/missing.json",
    ] {
        let client_id = format!("{base}{path}");
        let rp = Rp::registered(&client_id, None, ClientAuth::None, CALLBACK);
        let params = crate::support::authorization_params(
            &rp,
            "openid",
            &crate::support::Pkce::new(),
            "s",
            "n",
        );
        let reply = provider
            .get(&browser, &provider.authorize_url(&params))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.text
        );
        assert_eq!(
            page_error_code(&reply),
            Some("invalid_client"),
            "{path}: never redirected"
        );
    }
    // A good document, but a redirect URI it does not list: a page, never a redirect.
    let rp = Rp::registered(
        &format!("{base}/good.json"),
        None,
        ClientAuth::None,
        "http://127.0.0.1:7777/elsewhere",
    );
    let params =
        crate::support::authorization_params(&rp, "openid", &crate::support::Pkce::new(), "s", "n");
    let reply = provider
        .get(&browser, &provider.authorize_url(&params))
        .await;
    assert_eq!(
        page_error_code(&reply),
        Some("invalid_request"),
        "{}",
        reply.text
    );
    // An error after the client is known is still a page: the document is unvetted.
    let rp = Rp::registered(
        &format!("{base}/good.json"),
        None,
        ClientAuth::None,
        CALLBACK,
    );
    let params = crate::support::with_changes(
        crate::support::authorization_params(&rp, "openid", &crate::support::Pkce::new(), "s", "n"),
        &[("code_challenge_method", Some("plain"))],
    );
    let reply = provider
        .get(&browser, &provider.authorize_url(&params))
        .await;
    assert!(
        reply.location().is_none(),
        "no error redirect to an unvetted client"
    );
}

#[tokio::test]
async fn serve_mode_ignores_documents_unless_configured() {
    let provider = spawn_provider_with(|config| config.client_metadata_documents = false).await;
    assert!(
        provider
            .discovery()
            .await
            .get("client_id_metadata_document_supported")
            .is_none()
    );
    let base = serve_documents(|_| Vec::new()).await;
    let rp = Rp::registered(
        &format!("{base}/client.json"),
        None,
        ClientAuth::None,
        CALLBACK,
    );
    let params =
        crate::support::authorization_params(&rp, "openid", &crate::support::Pkce::new(), "s", "n");
    let reply = provider
        .get(&provider.browser(), &provider.authorize_url(&params))
        .await;
    assert_eq!(page_error_code(&reply), Some("invalid_client"));
}
