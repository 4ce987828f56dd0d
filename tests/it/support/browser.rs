//! The front channel as a browser drives it: `/authorize`, the provider's own 303s followed by
//! hand, the login and consent forms read by string search, and the redirect back to the RP.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::support::{ALICE, Callback, Reply, Rp, TestProvider, encode, owned, random_token};

/// An HTML form of the provider, read by string search.
#[derive(Clone, Debug)]
pub struct Form {
    /// Absolute URL of the form's `action`.
    pub action: String,
    /// The hidden `csrf_token` value.
    pub csrf_token: String,
    /// The whole page.
    pub html: String,
}

/// Where a browser ended up after following the provider's own redirects.
#[derive(Debug)]
pub enum Step {
    /// The login form.
    Login(Form),
    /// The consent page.
    Consent(Form),
    /// Sent back to the client.
    Callback(Callback),
    /// Any other page (error pages).
    Page(Reply),
}

impl Step {
    /// The callback, or a panic naming where the browser is instead.
    pub fn callback(self) -> Callback {
        match self {
            Step::Callback(callback) => callback,
            other => panic!(
                "expected a redirect to the client, got {}",
                other.describe()
            ),
        }
    }

    /// The login form, or a panic.
    pub fn login_form(self) -> Form {
        match self {
            Step::Login(form) => form,
            other => panic!("expected the login form, got {}", other.describe()),
        }
    }

    /// The consent form, or a panic.
    pub fn consent_form(self) -> Form {
        match self {
            Step::Consent(form) => form,
            other => panic!("expected the consent page, got {}", other.describe()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Step::Login(_) => "the login form".into(),
            Step::Consent(_) => "the consent page".into(),
            Step::Callback(callback) => format!("a redirect to {}", callback.url),
            Step::Page(reply) => format!("a page {}: {}", reply.status, reply.text),
        }
    }
}

/// RFC 7636 PKCE pair (S256).
#[derive(Clone, Debug)]
pub struct Pkce {
    /// 43 characters of base64url (256 random bits).
    pub verifier: String,
    /// `BASE64URL(SHA256(ASCII(verifier)))` (RFC 7636 §4.2).
    pub challenge: String,
}

impl Pkce {
    /// A fresh random pair.
    pub fn new() -> Pkce {
        let verifier = random_token();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// The result of a completed authorization request.
#[derive(Clone, Debug)]
pub struct Flow {
    /// The authorization code.
    pub code: String,
    /// `state` as echoed in the callback.
    pub state: String,
    /// The `state` the RP sent.
    pub sent_state: String,
    /// `iss` of the callback (RFC 9207).
    pub iss: String,
    /// The PKCE verifier for the token request.
    pub verifier: String,
    /// The nonce the RP sent.
    pub nonce: String,
    /// The redirect URI used.
    pub redirect_uri: String,
    /// Whether the login form was shown.
    pub saw_login: bool,
    /// Whether the consent page was shown.
    pub saw_consent: bool,
}

/// The parameters of a valid authorization request, for tests to change.
pub fn authorization_params(
    rp: &Rp,
    scope: &str,
    pkce: &Pkce,
    state: &str,
    nonce: &str,
) -> Vec<(String, String)> {
    owned(&[
        ("response_type", "code"),
        ("client_id", rp.client_id),
        ("redirect_uri", &rp.redirect_uri),
        ("scope", scope),
        ("state", state),
        ("nonce", nonce),
        ("code_challenge", &pkce.challenge),
        ("code_challenge_method", "S256"),
    ])
}

/// Replaces (or with `None` removes) parameters; unknown names are appended. A name given
/// several times in `changes` is sent several times (RFC 8707 `resource`).
pub fn with_changes(
    mut pairs: Vec<(String, String)>,
    changes: &[(&str, Option<&str>)],
) -> Vec<(String, String)> {
    let mut changed: Vec<&str> = Vec::new();
    for (name, value) in changes {
        if !changed.contains(name) {
            pairs.retain(|(key, _)| key != name);
            changed.push(name);
        }
        if let Some(value) = value {
            pairs.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    pairs
}

fn unescape_html(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the first `marker"..."` in `html` (e.g. `action="`).
pub fn attribute_after<'h>(html: &'h str, marker: &str) -> Option<&'h str> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(&html[start..start + end])
}

impl TestProvider {
    /// `/authorize?…` with the pairs form-encoded in order (repeats kept).
    pub fn authorize_url(&self, params: &[(String, String)]) -> String {
        format!("{}?{}", self.url("/authorize"), encode(params))
    }

    /// Follows the provider's own redirects (by hand) until a page or a redirect to the client.
    pub async fn follow(&self, browser: &reqwest::Client, mut reply: Reply) -> Step {
        for _ in 0..10 {
            if !reply.status.is_redirection() {
                return self.classify(reply);
            }
            assert_eq!(
                reply.status,
                StatusCode::SEE_OTHER,
                "the provider redirects with 303"
            );
            let location = reply
                .location()
                .expect("a redirect has a Location")
                .to_owned();
            let absolute = if location.starts_with('/') {
                self.url(&location)
            } else {
                location
            };
            if absolute.starts_with(&format!("{}/", self.base_url)) {
                reply = self.get(browser, &absolute).await;
            } else {
                return Step::Callback(Callback::parse(&absolute));
            }
        }
        panic!("more than 10 redirects");
    }

    fn classify(&self, reply: Reply) -> Step {
        let is_form =
            reply.status == StatusCode::OK && reply.text.contains("<form method=\"post\"");
        if is_form && reply.text.contains("name=\"password\"") {
            Step::Login(self.form(&reply.text))
        } else if is_form && reply.text.contains("name=\"decision\"") {
            Step::Consent(self.form(&reply.text))
        } else {
            Step::Page(reply)
        }
    }

    /// Reads `action` and the hidden `csrf_token` of the page's form.
    pub fn form(&self, html: &str) -> Form {
        let form_start = html.find("<form").expect("the page has a form");
        let action = attribute_after(&html[form_start..], "action=\"").expect("form action");
        let action = unescape_html(action);
        let csrf_token =
            attribute_after(html, "name=\"csrf_token\" value=\"").expect("hidden csrf_token input");
        Form {
            action: if action.starts_with('/') {
                self.url(&action)
            } else {
                action
            },
            csrf_token: unescape_html(csrf_token),
            html: html.to_owned(),
        }
    }

    /// GET `/authorize` with these parameters and follow the provider's redirects.
    pub async fn start(&self, browser: &reqwest::Client, params: &[(String, String)]) -> Step {
        let reply = self.get(browser, &self.authorize_url(params)).await;
        self.follow(browser, reply).await
    }

    /// Posts the login form with these credentials and follows the redirects.
    pub async fn login(
        &self,
        browser: &reqwest::Client,
        form: &Form,
        (username, password): (&str, &str),
    ) -> Step {
        let body = encode(&owned(&[
            ("csrf_token", &form.csrf_token),
            ("username", username),
            ("password", password),
        ]));
        let reply = self.post_form(browser, &form.action, body).await;
        self.follow(browser, reply).await
    }

    /// Presses Allow or Deny on the consent page and follows the redirects.
    pub async fn consent(&self, browser: &reqwest::Client, form: &Form, allow: bool) -> Step {
        let decision = if allow { "allow" } else { "deny" };
        let body = encode(&owned(&[
            ("csrf_token", &form.csrf_token),
            ("decision", decision),
        ]));
        let reply = self.post_form(browser, &form.action, body).await;
        self.follow(browser, reply).await
    }

    /// Runs an authorization request to the code: logs in as alice and allows consent when
    /// asked. `extra` changes the request (e.g. `("prompt", Some("consent"))`).
    pub async fn code_flow(
        &self,
        browser: &reqwest::Client,
        rp: &Rp,
        scope: &str,
        extra: &[(&str, Option<&str>)],
    ) -> Flow {
        self.code_flow_as(browser, rp, scope, extra, ALICE).await
    }

    /// [`TestProvider::code_flow`] for another user.
    pub async fn code_flow_as(
        &self,
        browser: &reqwest::Client,
        rp: &Rp,
        scope: &str,
        extra: &[(&str, Option<&str>)],
        user: (&str, &str),
    ) -> Flow {
        let pkce = Pkce::new();
        let sent_state = random_token();
        let nonce = random_token();
        let params = with_changes(
            authorization_params(rp, scope, &pkce, &sent_state, &nonce),
            extra,
        );
        let step = self.start(browser, &params).await;
        let (callback, saw_login, saw_consent) = self.finish(browser, step, user).await;
        assert_eq!(
            callback.param("error"),
            None,
            "authorization failed: {}",
            callback.url
        );
        Flow {
            code: callback
                .param("code")
                .expect("code in the callback")
                .to_owned(),
            state: callback.param("state").unwrap_or_default().to_owned(),
            sent_state,
            iss: callback.param("iss").unwrap_or_default().to_owned(),
            verifier: pkce.verifier,
            nonce,
            redirect_uri: callback.endpoint(),
            saw_login,
            saw_consent,
        }
    }

    /// Logs in as `user` and allows consent until the browser is sent back to the client:
    /// the callback, and whether the login form and the consent page were shown.
    pub async fn finish(
        &self,
        browser: &reqwest::Client,
        mut step: Step,
        user: (&str, &str),
    ) -> (Callback, bool, bool) {
        let (mut saw_login, mut saw_consent) = (false, false);
        let callback = loop {
            step = match step {
                Step::Login(form) => {
                    assert!(!saw_login, "the login form came back: wrong credentials?");
                    saw_login = true;
                    self.login(browser, &form, user).await
                }
                Step::Consent(form) => {
                    assert!(!saw_consent, "the consent page came back");
                    saw_consent = true;
                    self.consent(browser, &form, true).await
                }
                Step::Callback(callback) => break callback,
                Step::Page(reply) => panic!("unexpected page {}: {}", reply.status, reply.text),
            };
        };
        (callback, saw_login, saw_consent)
    }
}
