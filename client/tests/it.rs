//! Integration tests of the client crate (one test binary): the web app against a real provider
//! and resource server on free loopback ports, driven like a browser with a cookie-keeping
//! reqwest client; and the walkthrough end to end with every attack.
//!
//! The provider registers `demo-web` with the redirect URI `http://127.0.0.1:8082/callback`. The
//! web app runs on a free port with that URL as its public URL (as behind a reverse proxy), and
//! the test's "browser" maps the public origin to the real address when it follows redirects.

// Helpers outside #[test] functions unwrap too: clippy's allow-unwrap-in-tests covers only the
// test functions themselves, and a failed setup step should fail the test loudly.
#![allow(clippy::unwrap_used)]

use client::config::{ClientConfig, DEFAULT_SCOPE, Flow, WalkthroughConfig, WebConfig};
use client::oidc::token::{ClientRegistration, ClientSecret};
use client::walkthrough::{Attack, Kind, Verdict};
use reqwest::StatusCode;
use tokio::net::TcpListener;

const PUBLIC_URL: &str = "http://127.0.0.1:8082";

/// Logs are silent unless TEST_LOG=1.
fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        client::telemetry::init();
    }
}

/// A provider (dev seed, fresh SQLite file) and the resource demo, both on free ports.
struct Stack {
    provider: provider::RunningProvider,
    resource: resource::demo::DemoServer,
    _directory: tempfile::TempDir,
}

impl Stack {
    async fn start() -> Stack {
        init_logs();
        let directory = tempfile::tempdir().unwrap();
        let provider = provider::start(provider::Config::for_tests(
            &directory.path().join("provider.db"),
        ))
        .await
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let resource = resource::demo::serve(
            resource::demo::Config::new(provider.issuer.as_str()),
            listener,
        )
        .await
        .unwrap();
        resource.verifier().refresh().await.unwrap();
        Stack {
            provider,
            resource,
            _directory: directory,
        }
    }

    fn issuer(&self) -> String {
        self.provider.issuer.as_str().to_owned()
    }

    fn registration(&self) -> ClientRegistration {
        ClientRegistration {
            client_id: "demo-web".into(),
            client_secret: Some(ClientSecret::new("demo-web-secret".into())),
            redirect_uri: format!("{PUBLIC_URL}/callback"),
            post_logout_redirect_uri: Some(format!("{PUBLIC_URL}/")),
            scope: DEFAULT_SCOPE.into(),
        }
    }

    async fn shutdown(self) {
        self.resource.shutdown().await.unwrap();
        self.provider.shutdown().await.unwrap();
    }
}

/// The web app on a free port, with the registered URL as its public URL.
async fn start_web(stack: &Stack) -> (client::web::RunningWeb, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = WebConfig {
        bind: listener.local_addr().unwrap(),
        public_url: PUBLIC_URL.into(),
        client: ClientConfig {
            issuer: stack.issuer(),
            resource: stack.resource.base_url(),
            registration: stack.registration(),
        },
    };
    let web = client::web::serve(config, listener).await.unwrap();
    let base = format!("http://{}", web.local_addr);
    (web, base)
}

/// A browser: one cookie jar for every origin, redirects followed by hand.
struct Browser {
    http: reqwest::Client,
    /// The web app's real address, standing in for `PUBLIC_URL`.
    web: String,
}

struct Page {
    url: String,
    status: StatusCode,
    location: Option<String>,
    set_cookie: Vec<String>,
    body: String,
}

impl Browser {
    fn new(web: &str) -> Browser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            http,
            web: web.to_owned(),
        }
    }

    /// Maps the public origin to the real one.
    fn real(&self, url: &str) -> String {
        match url.strip_prefix(PUBLIC_URL) {
            Some(rest) => format!("{}{rest}", self.web),
            None => url.to_owned(),
        }
    }

    async fn read(url: String, response: reqwest::Response) -> Page {
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_owned())
            .map(|location| {
                url::Url::parse(&url)
                    .unwrap()
                    .join(&location)
                    .unwrap()
                    .to_string()
            });
        let set_cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect();
        let body = response.text().await.unwrap();
        Page {
            url,
            status,
            location,
            set_cookie,
            body,
        }
    }

    async fn get(&self, url: &str) -> Page {
        let url = self.real(url);
        let response = self.http.get(&url).send().await.unwrap();
        Browser::read(url, response).await
    }

    async fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        let url = self.real(url);
        let response = self.http.post(&url).form(form).send().await.unwrap();
        Browser::read(url, response).await
    }

    /// Follows redirects (GET) until a non-redirect page.
    async fn follow(&self, mut page: Page) -> Page {
        for _ in 0..10 {
            match (&page.location, page.status.is_redirection()) {
                (Some(location), true) => page = self.get(&location.clone()).await,
                _ => return page,
            }
        }
        panic!("too many redirects")
    }

    /// Submits the form of a provider page (login or consent) and follows the redirects.
    async fn submit(&self, page: &Page, fields: &[(&str, &str)]) -> Page {
        let action = attribute(&page.body, "action=\"").expect("form action");
        let csrf = attribute(
            &page.body[page.body.find("name=\"csrf_token\"").unwrap()..],
            "value=\"",
        )
        .expect("csrf token");
        let url = url::Url::parse(&page.url)
            .unwrap()
            .join(&action)
            .unwrap()
            .to_string();
        let mut form = vec![("csrf_token", csrf.as_str())];
        form.extend_from_slice(fields);
        let response = self.post(&url, &form).await;
        self.follow(response).await
    }
}

fn attribute(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&#x2f;", "/")
            .replace("&amp;", "&"),
    )
}

/// Signs in through the real login and consent pages; returns the home page afterwards.
async fn sign_in(browser: &Browser) -> Page {
    let start = browser.post(&format!("{PUBLIC_URL}/login"), &[]).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let cookie = start
        .set_cookie
        .iter()
        .find(|cookie| cookie.starts_with("rp_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let authorize = start.location.clone().unwrap();
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    assert!(authorize.contains("nonce="), "{authorize}");
    let login = browser.follow(start).await;
    assert!(
        login.body.contains("name=\"password\""),
        "login page expected: {}",
        login.body
    );
    let consent = browser
        .submit(
            &login,
            &[("username", "alice"), ("password", "alice-password-2026")],
        )
        .await;
    assert!(
        consent.body.contains("name=\"decision\""),
        "consent page expected (offline_access): {}",
        consent.body
    );
    let home = browser.submit(&consent, &[("decision", "allow")]).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    home
}

/// Positions of `needles` in `haystack`, asserting each is found after the previous.
fn assert_in_order(haystack: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        match haystack[from..].find(needle) {
            Some(position) => from += position + needle.len(),
            None => panic!("{needle:?} missing (or out of order) after byte {from}"),
        }
    }
}

#[tokio::test]
async fn web_client_signs_in_calls_the_api_refreshes_and_logs_out() {
    let stack = Stack::start().await;
    let (web, base) = start_web(&stack).await;
    let browser = Browser::new(&base);

    let start = browser.get(&format!("{PUBLIC_URL}/")).await;
    assert_eq!(start.status, StatusCode::OK);
    assert!(start.body.contains("Sign in"));

    let home = sign_in(&browser).await;
    assert!(home.body.contains("Hello, Alice Liddell"), "{}", home.body);
    assert!(home.body.contains("alice@example.com"));
    assert!(
        home.body.contains("6c2f5e0a-8c1e-4d8f-9a51-2f1f2a8b7c01"),
        "sub of alice"
    );
    assert!(home.body.contains("Access token (RFC 9068 JWT)"));
    assert!(
        home.body.contains("at+jwt"),
        "the decoded access token header is shown"
    );
    assert!(home.body.contains("data-exp="));

    let me = browser
        .follow(browser.post(&format!("{PUBLIC_URL}/actions/me"), &[]).await)
        .await;
    assert!(me.body.contains("GET /api/me → 200"), "{}", me.body);
    let notes = browser
        .follow(
            browser
                .post(&format!("{PUBLIC_URL}/actions/notes"), &[])
                .await,
        )
        .await;
    assert!(
        notes.body.contains("GET /api/notes → 200"),
        "{}",
        notes.body
    );
    let written = browser
        .follow(
            browser
                .post(
                    &format!("{PUBLIC_URL}/actions/write-note"),
                    &[("text", "from the test")],
                )
                .await,
        )
        .await;
    assert!(
        written.body.contains("POST /api/notes → 201"),
        "{}",
        written.body
    );
    let refreshed = browser
        .follow(
            browser
                .post(&format!("{PUBLIC_URL}/actions/refresh"), &[])
                .await,
        )
        .await;
    assert!(
        refreshed.body.contains("Tokens refreshed"),
        "{}",
        refreshed.body
    );
    let again = browser
        .follow(
            browser
                .post(&format!("{PUBLIC_URL}/actions/notes"), &[])
                .await,
        )
        .await;
    assert!(
        again.body.contains("from the test"),
        "the refreshed token still reads the note"
    );

    let discovery: serde_json::Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        stack.issuer()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let logout_advertised = discovery.get("end_session_endpoint").is_some();
    if logout_advertised {
        let logout = browser.post(&format!("{PUBLIC_URL}/logout"), &[]).await;
        assert_eq!(logout.status, StatusCode::SEE_OTHER);
        let end_session = logout.location.clone().unwrap();
        assert!(
            end_session.starts_with(discovery["end_session_endpoint"].as_str().unwrap()),
            "{end_session}"
        );
        assert!(end_session.contains("id_token_hint="));
        assert!(end_session.contains("post_logout_redirect_uri="));
        let back = browser.follow(logout).await;
        assert_eq!(back.status, StatusCode::OK);
        assert!(
            back.body
                .contains("You are signed out of this app and of the provider"),
            "{}",
            back.body
        );
        assert!(back.body.contains("Sign in"));
    } else {
        let logout = browser
            .follow(browser.post(&format!("{PUBLIC_URL}/logout"), &[]).await)
            .await;
        assert!(
            logout.body.contains("Signed out of this app"),
            "{}",
            logout.body
        );
    }

    let timeline = browser.get(&format!("{PUBLIC_URL}/timeline")).await;
    assert_eq!(timeline.status, StatusCode::OK);
    let mut expected = vec![
        "<svg",
        "Discovery",
        "JWKS",
        "Sign in clicked",
        "Prepare the sign-in: PKCE, state, nonce",
        "Authorization request",
        "Authorization response (callback)",
        "Check the authorization response",
        "Token request: code → tokens",
        "Validate the ID token",
        "UserInfo",
        "Call GET /api/me",
        "Call GET /api/notes",
        "Call POST /api/notes",
        "Token request: refresh",
    ];
    if logout_advertised {
        expected.extend([
            "Button: Log out",
            "End session at the provider",
            "Back from the provider&#39;s logout",
        ]);
    }
    let list = &timeline.body[timeline.body.find("</svg>").unwrap()..];
    assert_in_order(list, &expected[1..]);
    assert!(timeline.body.contains("<svg"));
    // Secrets never reach the timeline; codes and tokens appear shortened only.
    for secret in [
        "demo-web-secret",
        "alice-password-2026",
        "ZGVtby13ZWI6ZGVtby13ZWItc2VjcmV0",
    ] {
        assert!(
            !timeline.body.contains(secret),
            "{secret} leaked into the timeline"
        );
    }
    assert!(
        timeline.body.contains("•••••• (hidden, 64 chars)"),
        "code_verifier masked"
    );

    web.shutdown().await.unwrap();
    stack.shutdown().await;
}

#[tokio::test]
async fn web_callback_refuses_a_foreign_state_and_a_missing_session() {
    let stack = Stack::start().await;
    let (web, base) = start_web(&stack).await;

    // No session cookie at all: refused before anything else.
    let stranger = Browser::new(&base);
    let page = stranger
        .get(&format!("{PUBLIC_URL}/callback?code=abc&state=xyz&iss=x"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body.contains("no sign-in in progress here"),
        "{}",
        page.body
    );

    // A sign-in in progress, but the callback carries another state (login CSRF).
    let browser = Browser::new(&base);
    let start = browser.post(&format!("{PUBLIC_URL}/login"), &[]).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let iss = url::form_urlencoded::byte_serialize(stack.issuer().as_bytes()).collect::<String>();
    let forged = browser
        .get(&format!(
            "{PUBLIC_URL}/callback?code=abc&state=forged&iss={iss}"
        ))
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert!(
        forged.body.contains("state does not match"),
        "{}",
        forged.body
    );

    // The pending sign-in was consumed: replaying the real flow's callback now fails too.
    let replay = browser
        .get(&format!(
            "{PUBLIC_URL}/callback?code=abc&state=forged&iss={iss}"
        ))
        .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);

    // Cross-site form posts are refused (tower-http's CSRF layer).
    let cross_site = reqwest::Client::new()
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    web.shutdown().await.unwrap();
    stack.shutdown().await;
}

/// The walkthrough as demo-web and alice against in-process servers (no issuer given), no
/// pauses, no colour.
/// OpenID Connect Back-Channel Logout: the user signs out at the provider (its own logout
/// page, not through this app); the provider POSTs a logout token to the web app's
/// `/backchannel-logout`, which ends the local session; the timeline shows the call. Hostile
/// POSTs to the receiver are refused with 400.
#[tokio::test]
async fn a_logout_at_the_provider_ends_the_web_session_over_the_back_channel() {
    let stack = Stack::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let real = format!("http://{}", listener.local_addr().unwrap());
    // A client registered with the web app's real receiver address.
    let http = reqwest::Client::new();
    let registered: serde_json::Value = http
        .post(format!("{}/register", stack.issuer()))
        .json(&serde_json::json!({
            "client_name": "Back-channel demo", "redirect_uris": [format!("{PUBLIC_URL}/callback")],
            "post_logout_redirect_uris": [format!("{PUBLIC_URL}/")],
            "grant_types": ["authorization_code", "refresh_token"], "scope": DEFAULT_SCOPE,
            "backchannel_logout_uri": format!("{real}/backchannel-logout"),
            "backchannel_logout_session_required": true,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let registration = ClientRegistration {
        client_id: registered["client_id"].as_str().unwrap().to_owned(),
        client_secret: Some(ClientSecret::new(
            registered["client_secret"].as_str().unwrap().to_owned(),
        )),
        redirect_uri: format!("{PUBLIC_URL}/callback"),
        post_logout_redirect_uri: Some(format!("{PUBLIC_URL}/")),
        scope: DEFAULT_SCOPE.into(),
    };
    let config = WebConfig {
        bind: listener.local_addr().unwrap(),
        public_url: PUBLIC_URL.into(),
        client: ClientConfig {
            issuer: stack.issuer(),
            resource: stack.resource.base_url(),
            registration,
        },
    };
    let web = client::web::serve(config, listener).await.unwrap();
    let browser = Browser::new(&real);
    let home = sign_in(&browser).await;
    assert!(home.body.contains("alice"), "{}", home.body);

    // The user signs out at the provider itself, confirming on its page.
    let confirm = browser
        .get(&format!("{}/end_session", stack.issuer()))
        .await;
    assert!(
        confirm.body.contains("Yes, sign me out"),
        "{}",
        confirm.body
    );
    let signed_out = browser.submit(&confirm, &[("decision", "logout")]).await;
    assert_eq!(signed_out.status, StatusCode::OK, "{}", signed_out.body);

    // The provider's worker delivers within seconds; the app's home page shows it.
    let mut home = browser.get(&format!("{PUBLIC_URL}/")).await;
    for _ in 0..50 {
        if home.body.contains("Signed out by the provider") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        home = browser.get(&format!("{PUBLIC_URL}/")).await;
    }
    assert!(
        home.body.contains("Signed out by the provider"),
        "{}",
        home.body
    );
    assert!(!home.body.contains("Call GET /api/me"), "no tokens left");
    let timeline = browser.get(&format!("{PUBLIC_URL}/timeline")).await;
    assert!(
        timeline.body.contains("Back-channel logout"),
        "{}",
        timeline.body
    );
    assert!(timeline.body.contains("Logout token (Back-Channel Logout"));

    // Hostile POSTs to the receiver.
    let receiver = format!("{real}/backchannel-logout");
    let garbage = http
        .post(&receiver)
        .form(&[("logout_token", "not.a.token")])
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = garbage.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    let twice = http
        .post(&receiver)
        .form(&[("logout_token", "a"), ("logout_token", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
    let json = http
        .post(&receiver)
        .json(&serde_json::json!({"logout_token": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::BAD_REQUEST);
    // A token signed by someone else, with every claim right.
    let forger = keys::SigningKey::generate(keys::SigningAlg::RS256).unwrap();
    let forged = forger
        .sign(
            "logout+jwt",
            &serde_json::json!({
                "iss": stack.issuer(), "aud": registered["client_id"], "iat": 1, "jti": "j",
                "sub": "x", "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
            }),
        )
        .unwrap();
    let refused = http
        .post(&receiver)
        .form(&[("logout_token", forged.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

    web.shutdown().await.unwrap();
    stack.shutdown().await;
}

fn walkthrough_config(flow: Flow, attacks: bool) -> WalkthroughConfig {
    WalkthroughConfig {
        issuer: None,
        resource: String::new(),
        registration: ClientRegistration {
            client_id: "demo-web".into(),
            client_secret: Some(ClientSecret::new("demo-web-secret".into())),
            redirect_uri: format!("{PUBLIC_URL}/callback"),
            post_logout_redirect_uri: Some(format!("{PUBLIC_URL}/")),
            scope: DEFAULT_SCOPE.into(),
        },
        username: "alice".into(),
        password: ClientSecret::new("alice-password-2026".into()),
        pause: false,
        colour: false,
        attacks,
        flow,
    }
}

#[tokio::test]
async fn walkthrough_runs_end_to_end_and_every_attack_is_refused_for_the_right_reason() {
    init_logs();
    let config = walkthrough_config(Flow::Code, true);
    let mut output = Vec::new();
    let report = client::walkthrough::run(config, &mut output).await.unwrap();
    let output = String::from_utf8(output).unwrap();

    for outcome in report
        .outcomes
        .iter()
        .filter(|outcome| outcome.kind == Kind::Step)
    {
        let logout_skipped = outcome.title == "Log out at the provider"
            && matches!(outcome.verdict, Verdict::Skipped(_));
        assert!(
            outcome.verdict == Verdict::Passed || logout_skipped,
            "{}: {:?}",
            outcome.title,
            outcome.verdict
        );
    }
    let attacks: Vec<(Attack, &Verdict)> = report.attacks().collect();
    assert_eq!(attacks.len(), Attack::ALL.len());
    for (attack, verdict) in attacks {
        let Verdict::Refused(reason) = verdict else {
            panic!("{attack:?} was not refused as expected: {verdict:?}");
        };
        let expected: &[&str] = match attack {
            Attack::WrongPkceVerifier => &["400 invalid_grant"],
            Attack::ReusedAuthorizationCode => &["400 invalid_grant", "revoked"],
            Attack::UnregisteredRedirectUri => &["HTTP 400", "no Location"],
            Attack::TamperedAccessToken => &["401 invalid_token", "signature"],
            Attack::ExpiredAccessToken => &["401 invalid_token", "expired"],
            Attack::AlgNone => &["401 invalid_token", "algorithm"],
            Attack::IdTokenAsAccessToken => &["401 invalid_token", "at+jwt"],
            Attack::InsufficientScope => &["403 insufficient_scope", "api:write"],
            Attack::RefreshTokenReuse => &[
                "reuse: HTTP 400 invalid_grant",
                "newest refresh token is revoked too: HTTP 400 invalid_grant",
            ],
            other => panic!("{other:?} belongs to another flow"),
        };
        for fragment in expected {
            assert!(
                reason.contains(fragment),
                "{attack:?}: {fragment:?} not in {reason:?}"
            );
        }
    }
    assert!(report.all_as_expected(), "{}", report.summary());

    assert_in_order(
        &output,
        &[
            "Step 1 ·",
            "Step 2 ·",
            "Discovery",
            "JWKS",
            "code_challenge",
            "Validate the ID token",
            "Attack 1 ·",
            "Attack 9 ·",
        ],
    );
    assert!(
        !output.contains('\u{1b}'),
        "plain output has no colour codes"
    );
    for secret in [
        "demo-web-secret",
        "alice-password-2026",
        "ZGVtby13ZWI6ZGVtby13ZWItc2VjcmV0",
    ] {
        assert!(
            !output.contains(secret),
            "{secret} leaked into the walkthrough output"
        );
    }
    assert!(
        output.contains("attacks: 9 of 9 refused"),
        "{}",
        report.summary()
    );
}

/// `--flow resource|dpop|token-exchange`: every step passes and every attack of the flow is
/// refused for its reason, against in-process servers; no secret reaches the output.
#[tokio::test]
async fn the_other_flows_run_and_refuse_their_attacks() {
    init_logs();
    /// The flow, its attacks with a fragment of each refusal, and texts the tour must show.
    type Case = (
        Flow,
        &'static [(Attack, &'static str)],
        &'static [&'static str],
    );
    let cases: [Case; 3] = [
        (
            Flow::Resource,
            &[
                (Attack::TokenForAnotherApi, "aud does not name this API"),
                (Attack::UnregisteredResource, "invalid_target"),
                (Attack::ReplayedClientAssertion, "invalid_client"),
            ],
            &["private_key_jwt", "urn:demo:api:es256", "\"ES256\""],
        ),
        (
            Flow::Dpop,
            &[
                (Attack::ReplayedDpopProof, "invalid_dpop_proof"),
                (Attack::DpopTokenWithoutKey, "cnf.jkt"),
            ],
            &["DPoP", "cnf.jkt", "token_type = \"DPoP\""],
        ),
        (
            Flow::TokenExchange,
            &[(Attack::ForbiddenExchange, "unauthorized_client")],
            &["subject_token", "act = ", "demo-api"],
        ),
    ];
    for (flow, attacks, shown) in cases {
        let config = walkthrough_config(flow, false);
        let mut output = Vec::new();
        let report = client::walkthrough::run(config, &mut output).await.unwrap();
        let output = String::from_utf8(output).unwrap();
        assert!(
            report.all_as_expected(),
            "{flow:?}: {}\n{output}",
            report.summary()
        );
        let played: Vec<(Attack, &Verdict)> = report.attacks().collect();
        assert_eq!(played.len(), attacks.len(), "{flow:?}");
        for ((attack, verdict), (expected, fragment)) in played.iter().zip(attacks) {
            assert_eq!(attack, expected, "{flow:?}");
            let Verdict::Refused(reason) = verdict else {
                panic!("{attack:?}: {verdict:?}");
            };
            assert!(reason.contains(fragment), "{attack:?}: {reason}");
        }
        for text in shown {
            assert!(output.contains(text), "{flow:?}: {text:?} not shown");
        }
        for secret in [
            "demo-web-secret",
            "demo-service-secret",
            "demo-api-secret",
            "alice-password-2026",
        ] {
            assert!(!output.contains(secret), "{flow:?}: {secret} leaked");
        }
    }
}
