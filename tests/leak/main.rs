//! No secret reaches the logs: every flow runs with every target logging at TRACE into a buffer
//! (its own process, so the global subscriber sees only these flows and captures everything:
//! the provider, sqlx, hyper, tower-http), and the buffer must not contain a password, a client
//! secret, a code, a PKCE verifier, a device or user code, a refresh token, an access or ID
//! token, or the server's HMAC-signed cookies.

#[allow(dead_code, unused_imports)]
#[path = "../it/support/mod.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::StatusCode;
use tracing_subscriber::fmt::MakeWriter;

use support::{ALICE, Rp, Tokens, encode, owned, spawn_provider};

/// Everything logged, by every thread.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("the log buffer")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(capture.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        capture
    })
}

#[tokio::test]
async fn no_secret_is_logged_at_any_level() {
    let logs = capture();
    let provider = spawn_provider().await;
    let mut secrets: Vec<(String, String)> = vec![
        ("alice's password".into(), ALICE.1.into()),
        ("demo-web's secret".into(), "demo-web-secret".into()),
        ("demo-service's secret".into(), "demo-service-secret".into()),
        ("demo-api's secret".into(), "demo-api-secret".into()),
    ];

    // The code flow, with a refresh.
    let browser = provider.browser();
    let rp = Rp::web();
    let flow = provider
        .code_flow(&browser, &rp, "openid profile offline_access api:read", &[])
        .await;
    secrets.push(("the authorization code".into(), flow.code.clone()));
    secrets.push(("the PKCE verifier".into(), flow.verifier.clone()));
    let tokens = Tokens::from_reply(&provider.exchange_code(&rp, &flow).await);
    let refresh = tokens.refresh_token.clone().expect("a refresh token");
    secrets.push(("the access token".into(), tokens.access_token.clone()));
    secrets.push((
        "the ID token".into(),
        tokens.id_token.clone().expect("an ID token"),
    ));
    secrets.push(("the refresh token".into(), refresh.clone()));
    let refreshed = Tokens::from_reply(&provider.refresh(&rp, &refresh, None).await);
    secrets.push((
        "the rotated refresh token".into(),
        refreshed.refresh_token.clone().expect("a successor"),
    ));
    secrets.push((
        "the refreshed access token".into(),
        refreshed.access_token.clone(),
    ));
    assert_eq!(
        provider.userinfo(&refreshed.access_token).await.status,
        StatusCode::OK
    );
    // A wrong password too: the attempt is logged, the password is not.
    let wrong_password = "not-alice-password-XYZ-0042";
    secrets.push(("a wrong password".into(), wrong_password.into()));
    let other = provider.browser();
    let login = provider
        .start(
            &other,
            &support::authorization_params(&rp, "openid", &support::Pkce::new(), "s", "n"),
        )
        .await
        .login_form();
    let _ = provider
        .login(&other, &login, ("alice", wrong_password))
        .await;

    // client_credentials, introspection and revocation.
    let service = Tokens::from_reply(
        &provider
            .token_request(
                &Rp::service(),
                &[("grant_type", "client_credentials"), ("scope", "api:read")],
            )
            .await,
    );
    secrets.push((
        "the client_credentials token".into(),
        service.access_token.clone(),
    ));
    assert_eq!(
        provider
            .introspect(&Rp::service(), &service.access_token, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        provider
            .revoke(&Rp::service(), &service.access_token, None)
            .await
            .status,
        StatusCode::OK
    );

    // The device flow.
    let authorization = provider
        .client_post(
            "/device_authorization",
            &Rp::device(),
            &[("scope", "openid offline_access")],
        )
        .await
        .json();
    let device_code = authorization["device_code"]
        .as_str()
        .expect("device_code")
        .to_owned();
    let user_code = authorization["user_code"]
        .as_str()
        .expect("user_code")
        .to_owned();
    secrets.push(("the device code".into(), device_code.clone()));
    secrets.push(("the user code".into(), user_code.clone()));
    let device_browser = provider.browser();
    let entered = provider
        .post_form(
            &device_browser,
            &provider.url("/device"),
            encode(&owned(&[("user_code", &user_code)])),
        )
        .await;
    let login = provider.follow(&device_browser, entered).await.login_form();
    let consent = provider
        .login(&device_browser, &login, ALICE)
        .await
        .consent_form();
    let _ = provider.consent(&device_browser, &consent, true).await;
    let device_tokens = Tokens::from_reply(
        &provider
            .token_request(
                &Rp::device(),
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", &device_code),
                ],
            )
            .await,
    );
    secrets.push((
        "the device's access token".into(),
        device_tokens.access_token.clone(),
    ));
    secrets.push((
        "the device's refresh token".into(),
        device_tokens.refresh_token.clone().expect("offline_access"),
    ));

    // Token exchange.
    let exchanged = Tokens::from_reply(
        &provider
            .token_request(
                &Rp::api(),
                &[
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("subject_token", &refreshed.access_token),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                    ),
                    ("scope", "api:read"),
                ],
            )
            .await,
    );
    secrets.push(("the exchanged token".into(), exchanged.access_token.clone()));

    let text = String::from_utf8_lossy(&logs.0.lock().expect("the log buffer")).into_owned();
    assert!(
        text.contains("TRACE") || text.contains("DEBUG"),
        "the capture works at every level"
    );
    assert!(
        text.lines().count() > 200,
        "the flows were logged: {} lines",
        text.lines().count()
    );
    assert!(text.contains("client_id"), "logs still carry client ids");
    for (name, secret) in &secrets {
        // Whole values, and for tokens also their signature part (a truncated token is as bad).
        let mut needles = vec![secret.clone()];
        if let Some(signature) = secret
            .rsplit('.')
            .next()
            .filter(|part| part.len() >= 20 && secret.contains('.'))
        {
            needles.push(signature.to_owned());
        }
        for needle in needles {
            if let Some(at) = text.find(&needle) {
                let line = text[..at].rsplit('\n').next().unwrap_or_default();
                panic!("{name} is in the logs, on the line starting: {line}");
            }
        }
    }
}
