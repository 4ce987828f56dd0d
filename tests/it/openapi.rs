//! The OpenAPI documents: the committed `openapi/openapi.json` (the provider's and the demo
//! resource server's operations, each at its server) is exactly what the code generates; the
//! provider serves its part at `/openapi.json` with Swagger UI at `/docs`, and so does the
//! resource server; the seeded `swagger-ui` client (what the provider's Swagger UI Authorize
//! button uses) completes the code flow with PKCE to a UserInfo call.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    ALICE, Callback, ClientAuth, Pkce, Rp, Tokens, authorization_params, encode, owned,
    spawn_provider,
};

/// The command that rewrites the committed document.
const REGENERATE: &str = "UPDATE_OPENAPI=1 cargo test -p tests openapi";

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json")
}

/// The published document, assembled from every server's part, each placed at its server
/// (the defaults of `provider dev` and of the demo resource server). The two serve the same
/// probe paths; `combine` joins those per server (see openapi/README.md).
fn generated() -> String {
    use ::openapi::document::{at_server, combine, server, to_json};
    use resource::demo::{DEFAULT_AUDIENCE, DEFAULT_BIND, DEFAULT_ISSUER};

    let provider = at_server(
        provider::http::openapi_part(),
        server(
            DEFAULT_ISSUER,
            "The provider (`provider dev`'s issuer; use your own).",
        ),
    );
    let resource = at_server(
        resource::demo::docs::openapi_part(DEFAULT_ISSUER, DEFAULT_AUDIENCE),
        server(
            &format!("http://{DEFAULT_BIND}"),
            "The demo resource server (`resource`'s default address).",
        ),
    );
    let document = combine([provider, resource]).expect("the parts do not clash");
    to_json(&document).expect("the document serialises")
}

/// What the provider serves at `/openapi.json`: its own part alone.
fn provider_document() -> Value {
    let document = ::openapi::document::combine([provider::http::openapi_part()])
        .expect("one part cannot clash");
    serde_json::to_value(document).expect("JSON")
}

#[test]
fn the_committed_document_holds_both_servers_operations() {
    let document: Value = serde_json::from_str(&generated()).expect("JSON");
    assert_eq!(document["servers"][0]["url"], "http://127.0.0.1:8080");
    let resource = "http://127.0.0.1:8081";
    for path in [
        "/api/me",
        "/api/notes",
        "/.well-known/oauth-protected-resource",
    ] {
        assert_eq!(
            document["paths"][path]["servers"][0]["url"], resource,
            "{path} is the resource server's"
        );
    }
    assert!(document["paths"]["/token"].get("servers").is_none());
    for probe in ["/healthz", "/readyz"] {
        let servers: Vec<&str> = document["paths"][probe]["servers"]
            .as_array()
            .expect("both servers")
            .iter()
            .map(|server| server["url"].as_str().expect("url"))
            .collect();
        assert_eq!(servers, ["http://127.0.0.1:8080", resource], "{probe}");
    }
    let readiness = &document["paths"]["/readyz"]["get"]["responses"]["200"]["content"];
    assert!(readiness.get("text/plain").is_some() && readiness.get("application/json").is_some());
    let operations: usize = document["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| {
            ["get", "put", "post", "delete", "patch"]
                .iter()
                .filter(|method| item.get(**method).is_some())
                .count()
        })
        .sum();
    assert_eq!(
        operations, 31,
        "27 provider operations (the second-factor form is the 27th), 4 more from the resource server"
    );
}

#[test]
fn committed_openapi_json_is_what_the_code_generates() {
    let generated = generated();
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write openapi/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(committed, generated)| committed != generated)
            .map_or_else(
                || "the files differ in length".to_owned(),
                |index| format!("first difference at line {}", index + 1),
            );
        panic!(
            "openapi/openapi.json is out of date ({first_difference}).\n\
             Regenerate it with:\n\n    {REGENERATE}\n\nand commit the result."
        );
    }
}

#[tokio::test]
async fn the_provider_serves_the_document_and_swagger_ui() {
    let provider = spawn_provider().await;
    let served = provider
        .get(&provider.http, &provider.url("/openapi.json"))
        .await;
    assert_eq!(served.status, StatusCode::OK);
    let served: Value = serde_json::from_str(&served.text).expect("JSON");
    assert_eq!(
        served,
        provider_document(),
        "/openapi.json differs from the generated document"
    );
    assert_eq!(served["openapi"], "3.1.0");
    for path in [
        "/token",
        "/authorize",
        "/userinfo",
        "/register/{client_id}",
        "/healthz",
    ] {
        assert!(
            served["paths"][path].is_object(),
            "{path} is not documented"
        );
    }

    let redirect = provider.get(&provider.http, &provider.url("/docs")).await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER);
    assert_eq!(redirect.location(), Some("/docs/"));
    let page = provider.get(&provider.http, &provider.url("/docs/")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("swagger-ui-bundle.js"), "{}", page.text);
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let bundle = provider
        .get(&provider.http, &provider.url("/docs/swagger-ui-bundle.js"))
        .await;
    assert_eq!(bundle.status, StatusCode::OK, "vendored assets are served");
    let initializer = provider
        .get(
            &provider.http,
            &provider.url("/docs/swagger-initializer.js"),
        )
        .await;
    assert!(initializer.text.contains(r#""clientId": "swagger-ui""#));
    assert!(
        initializer
            .text
            .contains(r#""usePkceWithAuthorizationCodeGrant": true"#)
    );
}

#[tokio::test]
async fn the_resource_server_serves_its_document_and_swagger_ui() {
    let provider = spawn_provider().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server = resource::demo::serve(
        resource::demo::Config::new(provider.issuer.clone()),
        listener,
    )
    .await
    .expect("the demo API starts");
    let http = reqwest::Client::new();
    let base_url = server.base_url();
    let served: Value = http
        .get(format!("{base_url}/openapi.json"))
        .send()
        .await
        .expect("GET /openapi.json")
        .json()
        .await
        .expect("JSON");
    let expected = serde_json::to_value(resource::demo::docs::openapi(
        &provider.issuer,
        resource::demo::DEFAULT_AUDIENCE,
    ))
    .expect("JSON");
    assert_eq!(served, expected);
    let flow =
        &served["components"]["securitySchemes"]["issuer_oauth2"]["flows"]["authorizationCode"];
    assert_eq!(
        flow["authorizationUrl"],
        format!("{}/authorize", provider.issuer),
        "absolute URLs at the configured issuer"
    );
    assert_eq!(flow["tokenUrl"], format!("{}/token", provider.issuer));
    // The committed document describes the same operations (at the default issuer).
    let committed: Value = serde_json::from_str(&generated()).expect("JSON");
    for path in ["/api/me", "/api/notes"] {
        assert_eq!(
            served["paths"][path]["get"]["responses"], committed["paths"][path]["get"]["responses"],
            "{path}"
        );
    }

    let page = http
        .get(format!("{base_url}/docs/"))
        .send()
        .await
        .expect("GET /docs/");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .expect("text")
            .contains("swagger-ui-bundle.js")
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_swagger_ui_client_signs_in_with_pkce_and_reads_userinfo() {
    let provider = spawn_provider().await;
    let swagger_ui = Rp {
        client_id: "swagger-ui",
        secret: None,
        auth: ClientAuth::None,
        redirect_uri: format!("{}/docs/oauth2-redirect.html", provider.issuer),
    };
    let browser = provider.browser();
    let pkce = Pkce::new();
    let params = authorization_params(&swagger_ui, "openid profile email", &pkce, "s", "n");
    let mut reply = provider
        .get(&browser, &provider.authorize_url(&params))
        .await;
    // The redirect URI lives on the provider's own origin, so follow by hand and stop there.
    let callback = loop {
        if reply.status == StatusCode::SEE_OTHER {
            let location = reply.location().expect("Location").to_owned();
            let absolute = if location.starts_with('/') {
                provider.url(&location)
            } else {
                location
            };
            if absolute.starts_with(&swagger_ui.redirect_uri) {
                break Callback::parse(&absolute);
            }
            reply = provider.get(&browser, &absolute).await;
            continue;
        }
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let form = provider.form(&reply.text);
        let mut fields = vec![("csrf_token", form.csrf_token.as_str())];
        if reply.text.contains("name=\"password\"") {
            fields.extend([("username", ALICE.0), ("password", ALICE.1)]);
        } else {
            fields.push(("decision", "allow"));
        }
        reply = provider
            .post_form(&browser, &form.action, encode(&owned(&fields)))
            .await;
    };
    let code = callback.param("code").expect("a code");
    let tokens = Tokens::from_reply(
        &provider
            .token_request(
                &swagger_ui,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &swagger_ui.redirect_uri),
                    ("code_verifier", &pkce.verifier),
                ],
            )
            .await,
    );
    let userinfo = provider.userinfo(&tokens.access_token).await;
    assert_eq!(userinfo.status, StatusCode::OK, "{}", userinfo.text);
    assert_eq!(userinfo.json()["preferred_username"], "alice");

    let elsewhere = Rp {
        redirect_uri: "http://127.0.0.1:9/docs/oauth2-redirect.html".into(),
        ..swagger_ui
    };
    let params = authorization_params(&elsewhere, "openid", &pkce, "s", "n");
    let refused = provider
        .get(&browser, &provider.authorize_url(&params))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "only the provider's own /docs may receive swagger-ui codes"
    );
}
