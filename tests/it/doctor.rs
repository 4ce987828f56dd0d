//! `provider doctor ISSUER_URL` against real issuers: our own dev provider (no high finding,
//! every probe passes), a deliberately bad issuer (each weakness found, high ones fail it), and
//! node-oidc-provider from the benchmark kit when `OIDC_TEST_NODE_PEER` names one (CI starts
//! it; elsewhere the test says it skipped).

use provider::doctor::{DoctorArgs, Report, Severity, audit_issuer};
use serde_json::json;

use crate::support::{serve_documents, spawn_provider};

fn args(client: Option<(&str, &str)>) -> DoctorArgs {
    DoctorArgs {
        client_id: client.map(|(id, _)| id.to_owned()),
        redirect_uri: client.map(|(_, uri)| uri.to_owned()),
        timeout: 10,
        ..DoctorArgs::default()
    }
}

fn severity(report: &Report, check: &str) -> Option<Severity> {
    report.of(check).first().map(|finding| finding.severity)
}

#[tokio::test]
async fn our_dev_provider_passes_every_probe() {
    let provider = spawn_provider().await;
    // With a client the doctor registers itself (open registration in dev mode).
    let report = audit_issuer(&provider.base_url, &args(None)).await;
    eprintln!("{report}");
    assert!(!report.has_high(), "{report}");
    assert_eq!(
        severity(&report, "https"),
        Some(Severity::Info),
        "loopback http is information"
    );
    for check in [
        "metadata.issuer",
        "pkce.advertised",
        "pkce.required",
        "pkce.plain",
        "redirect.exact",
        "grants.implicit",
        "grants.implicit_probe",
        "grants.password",
        "iss.advertised",
        "algorithms.none",
        "jwks.cache",
        "jwks.private",
        "cors.authorize",
        "headers.framing",
        "headers.referrer",
        "headers.nosniff",
    ] {
        assert_eq!(
            severity(&report, check),
            Some(Severity::Ok),
            "{check}: {report}"
        );
    }
    assert!(
        report.of("probes.cleanup").is_empty(),
        "the probe client was deleted"
    );
    // With demo-web (first party: errors are redirected), iss is observed in the response.
    let report = audit_issuer(
        &provider.base_url,
        &args(Some(("demo-web", "http://127.0.0.1:8082/callback"))),
    )
    .await;
    assert_eq!(
        severity(&report, "iss.response"),
        Some(Severity::Ok),
        "{report}"
    );
}

#[tokio::test]
async fn a_weak_issuer_is_reported_and_fails() {
    let base = serve_documents(|base| {
        vec![
            (
                "/.well-known/openid-configuration",
                json!({
                    "issuer": "https://someone-else.example",
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": "http://id.example.com/token",
                    "jwks_uri": format!("{base}/jwks"),
                    "response_types_supported": ["code", "token"],
                    "grant_types_supported": ["authorization_code", "password"],
                    "code_challenge_methods_supported": ["plain", "S256"],
                    "id_token_signing_alg_values_supported": ["RS256", "none"],
                })
                .to_string(),
            ),
            (
                "/jwks",
                json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).to_string(),
            ),
        ]
    })
    .await;
    let report = audit_issuer(&base, &args(None)).await;
    eprintln!("{report}");
    assert!(report.has_high());
    for (check, expected) in [
        ("metadata.issuer", Severity::High),
        ("https", Severity::High),
        ("grants.implicit", Severity::High),
        ("grants.password", Severity::High),
        ("pkce.advertised", Severity::Low),
        ("iss.advertised", Severity::Medium),
        ("algorithms.none", Severity::High),
        ("jwks.private", Severity::High),
        ("jwks.kid", Severity::Low),
        ("headers.framing", Severity::Medium),
        ("probes", Severity::Info),
    ] {
        assert_eq!(
            severity(&report, check),
            Some(expected),
            "{check}: {report}"
        );
    }
}

#[tokio::test]
async fn an_issuer_without_metadata_is_a_high_finding() {
    let base = serve_documents(|_| Vec::new()).await;
    let report = audit_issuer(&base, &args(None)).await;
    assert_eq!(
        severity(&report, "metadata.fetch"),
        Some(Severity::High),
        "{report}"
    );
}

#[tokio::test]
async fn node_oidc_provider_from_the_benchmark_kit() {
    let Ok(peer) = std::env::var("OIDC_TEST_NODE_PEER") else {
        eprintln!(
            "skipped: OIDC_TEST_NODE_PEER is not set (.ci/run starts ../shared/bench/peers/node-oidc-provider)"
        );
        return;
    };
    let report = audit_issuer(
        &peer,
        &DoctorArgs {
            client_id: Some("demo-service".into()),
            client_secret: Some("demo-service-secret".into()),
            resource: Some("urn:demo:api".into()),
            timeout: 10,
            ..DoctorArgs::default()
        },
    )
    .await;
    eprintln!("doctor against node-oidc-provider:\n{report}");
    assert_eq!(
        severity(&report, "metadata.issuer"),
        Some(Severity::Ok),
        "{report}"
    );
    assert_eq!(
        severity(&report, "pkce.advertised"),
        Some(Severity::Ok),
        "{report}"
    );
    // Its hybrid/implicit OIDC response types (id_token, code id_token) are on by default.
    assert_eq!(
        severity(&report, "grants.implicit"),
        Some(Severity::Low),
        "{report}"
    );
    assert_eq!(
        severity(&report, "lifetime.access_token"),
        Some(Severity::Ok),
        "{report}"
    );
    assert_eq!(severity(&report, "https"), Some(Severity::Info), "{report}");
}
