//! Login throttling that slows guessing without locking out the innocent (OWASP): failures
//! bring growing delays per account, a browser that signed in before keeps its access, and a
//! busy address only stops attempts on accounts that are themselves under attack.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use provider::protocol::types::Subject;
use provider::store::UserRecord;
use reqwest::StatusCode;
use tokio::task::JoinSet;

use crate::support::{
    ALICE, Form, LOGIN_FAILED, Pkce, Reply, Rp, TestProvider, authorization_params, encode, owned,
    spawn_provider, spawn_provider_with, spawn_provider_with_clock,
};

const CROWD_PASSWORD: &str = "crowd-password-2026";
const THROTTLED: &str = "Too many sign-in attempts";

/// Adds users `{prefix}0..{prefix}{count}` with one cheap (bcrypt cost 4) password hash, so that
/// hundreds of sign-ins stay fast.
async fn add_users(provider: &TestProvider, prefix: &str, count: usize) {
    let stores = provider::store::open(&provider.database_url)
        .await
        .expect("open the provider's database");
    let hash = bcrypt::hash(CROWD_PASSWORD, 4).expect("bcrypt");
    for index in 0..count {
        stores
            .users
            .upsert_user(&UserRecord {
                subject: Subject(format!("{prefix}-subject-{index}")),
                username: format!("{prefix}{index}"),
                password_hash: hash.clone(),
                name: format!("{prefix} {index}"),
                email: format!("{prefix}{index}@example.com"),
                email_verified: true,
                disabled: false,
            })
            .await
            .expect("add a user");
    }
}

/// A new authorization request in `browser`, up to the login form (`prompt=login`, so a browser
/// with a session is asked again).
async fn login_form(provider: &TestProvider, browser: &reqwest::Client) -> Form {
    let pkce = Pkce::new();
    let mut params = authorization_params(&Rp::web(), "openid", &pkce, "state", "nonce");
    params.push(("prompt".into(), "login".into()));
    let start = provider
        .get(browser, &provider.authorize_url(&params))
        .await;
    let interaction = start
        .location()
        .expect("redirect to the interaction")
        .to_owned();
    let page = provider.get(browser, &provider.url(&interaction)).await;
    provider.form(&page.text)
}

/// One login POST, not followed.
async fn attempt(
    _provider: &TestProvider,
    browser: &reqwest::Client,
    form: &Form,
    (username, password): (&str, &str),
    forwarded_for: Option<&str>,
) -> Reply {
    let body = encode(&owned(&[
        ("csrf_token", &form.csrf_token),
        ("username", username),
        ("password", password),
    ]));
    let mut request = browser
        .post(&form.action)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    Reply::read(request.send().await.expect("POST login")).await
}

fn signed_in(reply: &Reply) -> bool {
    reply.status == StatusCode::SEE_OTHER && reply.set_cookie("oidc_session").is_some()
}

fn throttled(reply: &Reply) -> bool {
    reply.status == StatusCode::TOO_MANY_REQUESTS
        && reply.text.contains(THROTTLED)
        && reply.header("retry-after").is_some()
}

#[tokio::test]
async fn failures_bring_growing_delays_that_a_correct_password_resets() {
    let (provider, clock) = spawn_provider_with_clock().await;
    let browser = provider.browser();
    let form = login_form(&provider, &browser).await;
    // Five failures are free: each is answered normally.
    for round in 1..=5 {
        let reply = attempt(&provider, &browser, &form, ("alice", "guess"), None).await;
        assert_eq!(reply.status, StatusCode::OK, "failure {round}");
        assert!(reply.text.contains(LOGIN_FAILED), "failure {round}");
    }
    // Then the account waits 1 s; even the right password is not checked meanwhile.
    let early = attempt(&provider, &browser, &form, ALICE, None).await;
    assert!(throttled(&early), "{} {}", early.status, early.text);
    assert_eq!(early.header("retry-after"), Some("1"));
    assert_eq!(early.set_cookie("oidc_session"), None);
    // The sixth failure doubles the wait.
    clock.advance(1);
    let sixth = attempt(&provider, &browser, &form, ("alice", "guess"), None).await;
    assert_eq!(sixth.status, StatusCode::OK);
    let wait = attempt(&provider, &browser, &form, ALICE, None).await;
    assert!(throttled(&wait));
    assert_eq!(wait.header("retry-after"), Some("2"));
    // Once the delay has passed the right password works, and resets the account.
    clock.advance(2);
    let other_browser = provider.browser();
    let other_form = login_form(&provider, &other_browser).await;
    let success = attempt(&provider, &other_browser, &other_form, ALICE, None).await;
    assert!(signed_in(&success), "{} {}", success.status, success.text);
    for round in 1..=5 {
        let reply = attempt(&provider, &browser, &form, ("alice", "guess"), None).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "after the reset, failure {round} is free"
        );
    }
}

#[tokio::test]
async fn throttled_answers_are_the_same_for_unknown_user_names() {
    let (provider, _clock) = spawn_provider_with_clock().await;
    let browser = provider.browser();
    let form = login_form(&provider, &browser).await;
    let mut answers = Vec::new();
    for username in ["alice", "nobody-by-this-name"] {
        for _ in 0..5 {
            attempt(&provider, &browser, &form, (username, "guess"), None).await;
        }
        let reply = attempt(&provider, &browser, &form, (username, "guess"), None).await;
        assert!(throttled(&reply), "{username}: {}", reply.status);
        answers.push((reply.status, reply.header("retry-after").map(str::to_owned)));
    }
    assert_eq!(answers[0], answers[1]);
    // A user name longer than any account's is refused before any lookup or record.
    let long = "x".repeat(65);
    let reply = attempt(&provider, &browser, &form, (&long, "guess"), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.text.contains(LOGIN_FAILED));
}

#[tokio::test]
async fn a_browser_that_signed_in_before_keeps_access_while_the_account_is_under_attack() {
    // A clock that stands still: the delays do not run out while the test runs.
    let (provider, _clock) = spawn_provider_with_clock().await;
    let owner = provider.browser();
    let form = login_form(&provider, &owner).await;
    let first = attempt(&provider, &owner, &form, ALICE, None).await;
    assert!(signed_in(&first));
    let device = first.set_cookie("oidc_device").expect("a device cookie");
    let flags = device.to_ascii_lowercase();
    assert!(
        flags.contains("httponly") && flags.contains("max-age="),
        "{device}"
    );

    // Someone else guesses until the account is delayed for everyone.
    let attacker = provider.browser();
    let attacker_form = login_form(&provider, &attacker).await;
    for _ in 0..6 {
        attempt(
            &provider,
            &attacker,
            &attacker_form,
            ("alice", "guess"),
            None,
        )
        .await;
    }
    let blocked = attempt(&provider, &attacker, &attacker_form, ALICE, None).await;
    assert!(
        throttled(&blocked),
        "the right password from a new browser waits"
    );

    // The owner's browser still signs in (and that does not lift the delay for the attacker).
    let again = login_form(&provider, &owner).await;
    let owner_reply = attempt(&provider, &owner, &again, ALICE, None).await;
    assert!(
        signed_in(&owner_reply),
        "{} {}",
        owner_reply.status,
        owner_reply.text
    );

    // The owner's cookie with one character of its payload changed (a later issue time, to
    // stretch its life) is worth nothing: the HMAC no longer matches.
    let value = device
        .split(';')
        .next()
        .and_then(|pair| pair.strip_prefix("oidc_device="))
        .expect("the cookie value")
        .to_owned();
    let (payload, tag) = value.split_once('.').expect("payload.tag");
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let tampered = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(format!("{decoded}9")));
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let base = provider.base_url.parse::<url::Url>().unwrap();
    jar.add_cookie_str(&format!("oidc_device={tampered}; Path=/"), &base);
    let forger = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar)
        .build()
        .unwrap();
    let forged_form = login_form(&provider, &forger).await;
    let forged = attempt(&provider, &forger, &forged_form, ALICE, None).await;
    assert!(throttled(&forged), "{} {}", forged.status, forged.text);
}

/// The scenario: 200 people sign in from one address (an office behind NAT, or
/// everyone behind the TLS proxy) while someone at the same address brute-forces one account
/// and sprays guesses over 150 others. Every correct sign-in succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_signs_in_from_one_address_while_an_attacker_guesses_there() {
    let provider = Arc::new(spawn_provider().await);
    add_users(&provider, "crowd", 200).await;
    add_users(&provider, "victim", 150).await;
    let mut tasks = JoinSet::new();
    // The attacker: a brute force on alice and a spray over the victims, in parallel.
    let attacker = Arc::clone(&provider);
    tasks.spawn(async move {
        let browser = attacker.browser();
        let form = login_form(&attacker, &browser).await;
        let mut refused = 0;
        for round in 0..40 {
            let password = format!("guess-{round}");
            let reply = attempt(&attacker, &browser, &form, ("alice", &password), None).await;
            if throttled(&reply) {
                refused += 1;
            }
        }
        ("brute force", refused)
    });
    let sprayer = Arc::clone(&provider);
    tasks.spawn(async move {
        let browser = sprayer.browser();
        let form = login_form(&sprayer, &browser).await;
        for index in 0..150 {
            let username = format!("victim{index}");
            let reply = attempt(&sprayer, &browser, &form, (&username, "Summer2026!"), None).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "a first guess on {username} is checked"
            );
        }
        ("spray", 0)
    });
    // The crowd, 200 sign-ins, 16 at a time.
    let crowd_done = Arc::new(tokio::sync::Semaphore::new(16));
    for index in 0..200 {
        let provider = Arc::clone(&provider);
        let permits = Arc::clone(&crowd_done);
        tasks.spawn(async move {
            let _permit = permits.acquire().await.unwrap();
            let browser = provider.browser();
            let form = login_form(&provider, &browser).await;
            let username = format!("crowd{index}");
            let reply = attempt(
                &provider,
                &browser,
                &form,
                (&username, CROWD_PASSWORD),
                None,
            )
            .await;
            assert!(
                signed_in(&reply),
                "{username} was refused: {} {}",
                reply.status,
                reply.text
            );
            ("crowd", 0)
        });
    }
    let mut crowd = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            ("crowd", _) => crowd += 1,
            ("brute force", refused) => assert!(
                refused >= 30,
                "the brute force was slowed: {refused} of 40 refused unchecked"
            ),
            _ => {}
        }
    }
    assert_eq!(crowd, 200, "every correct sign-in succeeded");
    // The sprayed accounts now have a failure each and the address is over its budget: their
    // owners wait when signing in from this address (without a device cookie) ...
    let browser = provider.browser();
    let form = login_form(&provider, &browser).await;
    let victim = attempt(
        &provider,
        &browser,
        &form,
        ("victim7", CROWD_PASSWORD),
        None,
    )
    .await;
    assert!(throttled(&victim), "{}", victim.status);
    // ... while a member of the crowd, whose account was never attacked, still signs in.
    let member = attempt(&provider, &browser, &form, ("crowd7", CROWD_PASSWORD), None).await;
    assert!(signed_in(&member), "{}", member.status);
}

/// Behind a trusted proxy every forwarded address has its own budget; without the setting the
/// forwarding headers are ignored, so an attacker cannot pick a fresh address per guess.
#[tokio::test]
async fn forwarded_addresses_count_only_through_trusted_proxies() {
    let behind_proxy = spawn_provider_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        config.throttle.address_failures = 3;
    })
    .await;
    add_users(&behind_proxy, "victim", 4).await;
    let browser = behind_proxy.browser();
    let form = login_form(&behind_proxy, &browser).await;
    for index in 0..3 {
        let username = format!("victim{index}");
        let attacker = Some("203.0.113.9");
        attempt(
            &behind_proxy,
            &browser,
            &form,
            (&username, "guess"),
            attacker,
        )
        .await;
    }
    let victim = ("victim0", CROWD_PASSWORD);
    let from_attacker = attempt(&behind_proxy, &browser, &form, victim, Some("203.0.113.9")).await;
    assert!(
        throttled(&from_attacker),
        "the attacker's address is over its budget"
    );
    let from_owner = attempt(&behind_proxy, &browser, &form, victim, Some("198.51.100.4")).await;
    assert!(
        signed_in(&from_owner),
        "another address signs in: {}",
        from_owner.status
    );

    let direct = spawn_provider_with(|config| config.throttle.address_failures = 3).await;
    add_users(&direct, "victim", 4).await;
    let browser = direct.browser();
    let form = login_form(&direct, &browser).await;
    for index in 0..3 {
        let username = format!("victim{index}");
        let spoofed = format!("192.0.2.{index}");
        attempt(
            &direct,
            &browser,
            &form,
            (&username, "guess"),
            Some(&spoofed),
        )
        .await;
    }
    let spoofed = attempt(
        &direct,
        &browser,
        &form,
        ("victim1", CROWD_PASSWORD),
        Some("192.0.2.200"),
    )
    .await;
    assert!(
        throttled(&spoofed),
        "a made-up X-Forwarded-For does not escape the budget"
    );
}
