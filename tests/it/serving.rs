//! The listener under hostile or unusual conditions: clients that trickle their request head
//! (slowloris), more connections than the cap, TLS served directly (and its certificate
//! replaced on disk), and a shutdown with a request in flight.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{
    LOGIN_FAILED, Pkce, Rp, authorization_params, encode, owned, spawn_provider,
    spawn_provider_with,
};

/// Reads until the server closes the connection (or `limit` passes); returns when it closed.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(start + limit),
            stream.read(&mut buffer),
        )
        .await
        {
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_trickle_their_request_head_are_closed_and_others_are_served() {
    let provider = spawn_provider_with(|config| {
        config.serve.header_read_timeout = Duration::from_secs(2);
    })
    .await;
    let address = provider.base_url.trim_start_matches("http://").to_owned();
    // Fifty connections send a request line and then one header byte every half second.
    let mut tricklers = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let address = address.clone();
        tricklers.spawn(async move {
            let mut stream = TcpStream::connect(&address).await.expect("connect");
            stream
                .write_all(b"GET /jwks HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await
                .expect("write the request line");
            let writer = async {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if stream.write_all(b"a").await.is_err() {
                        return;
                    }
                }
            };
            tokio::select! {
                () = writer => {}
                () = tokio::time::sleep(Duration::from_secs(30)) => panic!("never closed"),
            }
        });
    }
    // Meanwhile an ordinary request is answered at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let reply = provider
        .http
        .get(provider.url("/jwks"))
        .send()
        .await
        .expect("GET /jwks");
    assert_eq!(reply.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "not delayed by the tricklers"
    );
    // Every trickler is closed: its writes start failing within the timeout plus a margin.
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Some(result) = tricklers.join_next().await {
        result.expect("the trickler ended because the server closed it");
    }
    assert!(Instant::now() < deadline);
    // And one trickler measured exactly: closed about when the header timeout expires.
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /jwks HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let closed = closed_within(&mut stream, Duration::from_secs(30)).await;
    let closed = closed.expect("the server closed the connection");
    assert!(closed <= Duration::from_secs(5), "closed after {closed:?}");
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_while_open_ones_keep_working() {
    let provider = spawn_provider_with(|config| config.serve.max_connections = 3).await;
    let address = provider.base_url.trim_start_matches("http://").to_owned();
    // Three idle keep-alive connections hold the whole budget ...
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buffer = [0u8; 512];
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    // ... so a fourth is closed without an answer.
    let mut extra = TcpStream::connect(&address).await.unwrap();
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let closed = closed_within(&mut extra, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the connection over the cap is closed");
    // The held connections still serve requests.
    let stream = &mut held[0];
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 512];
    let read = stream.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
    // Once they close, new connections are accepted again.
    held.clear();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reply = reqwest::get(provider.url("/healthz")).await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
}

/// A self-signed certificate for 127.0.0.1, as PEM (certificate, key).
fn certificate() -> (String, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .expect("a self-signed certificate");
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

#[tokio::test]
async fn tls_is_served_directly_and_a_replaced_certificate_is_picked_up() {
    keys::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    let (first_cert, first_key) = certificate();
    std::fs::write(&cert_path, &first_cert).unwrap();
    std::fs::write(&key_path, &first_key).unwrap();
    let files = provider::serve::TlsFiles {
        cert: cert_path.clone(),
        key: key_path.clone(),
    };
    let provider = spawn_provider_with(move |config| {
        config.serve.tls = Some(files);
        config.serve.tls_reload_interval = Duration::from_millis(100);
    })
    .await;
    assert!(
        provider.issuer.starts_with("https://"),
        "{}",
        provider.issuer
    );
    let trusting = |pem: &str| {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
            .build()
            .unwrap()
    };
    let discovery = trusting(&first_cert)
        .get(format!(
            "{}/.well-known/openid-configuration",
            provider.issuer
        ))
        .send()
        .await
        .expect("https with the first certificate");
    assert_eq!(discovery.status(), StatusCode::OK);
    assert_eq!(
        discovery
            .headers()
            .get("strict-transport-security")
            .and_then(|value| value.to_str().ok()),
        Some("max-age=31536000"),
        "RFC 6797 under an https issuer"
    );
    let document: serde_json::Value = discovery.json().await.unwrap();
    assert_eq!(document["issuer"], provider.issuer);
    // Browser cookies under https: __Host- prefixed, Secure, host-only, Path=/.
    let authorize = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(first_cert.as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!(
            "{}/authorize?response_type=code&client_id=demo-web&redirect_uri=http%3A%2F%2F127.0.0.1%3A8082%2Fcallback&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            provider.issuer
        ))
        .send()
        .await
        .expect("https /authorize");
    let cookie = authorize
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.contains("oidc_browser"))
        .expect("the browser-binding cookie")
        .to_owned();
    assert!(cookie.starts_with("__Host-oidc_browser="), "{cookie}");
    for flag in ["Secure", "HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(
        trusting(&certificate().0)
            .get(format!("{}/healthz", provider.issuer))
            .send()
            .await
            .is_err(),
        "a client trusting another certificate refuses the connection"
    );
    assert!(
        reqwest::get(format!("{}/healthz", provider.base_url))
            .await
            .is_err(),
        "no plain http on the TLS listener"
    );
    // Replace the files; new connections present the new certificate.
    let (second_cert, second_key) = certificate();
    tokio::time::sleep(Duration::from_millis(20)).await;
    std::fs::write(&key_path, &second_key).unwrap();
    std::fs::write(&cert_path, &second_cert).unwrap();
    let second = trusting(&second_cert);
    let reloaded = async {
        loop {
            if let Ok(reply) = second
                .get(format!("{}/healthz", provider.issuer))
                .send()
                .await
            {
                return reply.status();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let status = tokio::time::timeout(Duration::from_secs(10), reloaded)
        .await
        .expect("the new certificate is served within the reload interval");
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn tls_files_that_do_not_match_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = certificate();
    let (_, other_key) = certificate();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, other_key).unwrap();
    let error = provider::serve::tls_config(&provider::serve::TlsFiles {
        cert: cert_path,
        key: key_path.clone(),
    })
    .unwrap_err();
    assert!(error.to_string().contains("pair"), "{error}");
    std::fs::write(&key_path, "not a key").unwrap();
    let error = provider::serve::tls_config(&provider::serve::TlsFiles {
        cert: dir.path().join("missing.pem"),
        key: key_path,
    })
    .unwrap_err();
    assert!(error.to_string().contains("missing.pem"), "{error}");
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight() {
    let mut provider = spawn_provider().await;
    let browser = provider.browser();
    let form = {
        let pkce = Pkce::new();
        let params = authorization_params(&Rp::web(), "openid", &pkce, "state", "nonce");
        let start = provider
            .get(&browser, &provider.authorize_url(&params))
            .await;
        let interaction = start.location().expect("an interaction").to_owned();
        let page = provider.get(&browser, &provider.url(&interaction)).await;
        provider.form(&page.text)
    };
    // A login takes a bcrypt verification (tenths of a second): long enough to be in flight
    // when the shutdown starts.
    let body = encode(&owned(&[
        ("csrf_token", &form.csrf_token),
        ("username", "alice"),
        ("password", "wrong password"),
    ]));
    let in_flight = tokio::spawn({
        let browser = browser.clone();
        async move {
            let reply = browser
                .post(&form.action)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await?;
            let status = reply.status();
            Ok::<_, reqwest::Error>((status, reply.text().await?))
        }
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    provider.stop().await.expect("a clean shutdown");
    let (status, text) = in_flight
        .await
        .unwrap()
        .expect("the request in flight was answered");
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains(LOGIN_FAILED), "the whole login page arrived");
    assert!(
        reqwest::get(provider.url("/healthz")).await.is_err(),
        "no new connections after shutdown"
    );
}

#[tokio::test]
async fn plain_http_issuers_send_no_hsts_and_plain_cookies() {
    let provider = crate::support::spawn_provider().await;
    let reply = provider
        .get(
            &provider.http,
            &provider.url(
                "/authorize?response_type=code&client_id=demo-web&redirect_uri=http%3A%2F%2F127.0.0.1%3A8082%2Fcallback&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            ),
        )
        .await;
    assert!(reply.header("strict-transport-security").is_none());
    let cookie = reply
        .header_all("set-cookie")
        .into_iter()
        .find(|value| value.contains("oidc_browser"))
        .expect("the browser-binding cookie");
    assert!(cookie.starts_with("oidc_browser="), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "a plain-http lab cannot use Secure cookies: {cookie}"
    );
}
