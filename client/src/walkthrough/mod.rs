//! `client walkthrough`: the whole code flow in the terminal, one numbered step at a time, with
//! every request, response, decoded token and the spec section that explains it.
//!
//! With no `--issuer` it starts a provider and the resource demo in-process on free ports, so
//! one command is enough. It signs in as alice by submitting the provider's real login form
//! (a scripted browser: cookie jar, redirects followed by hand). `--attacks` adds nine attack
//! scenarios, each shown being refused with its reason.
//!
//! [`run`] returns a [`Report`] of every step and attack, so a test can check that each attack
//! was refused for the right reason.

mod attacks;
pub mod browser;
mod console;
mod flows;
mod servers;

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::api::{self, ApiCall};
use crate::config::{Flow, WalkthroughConfig};
use crate::oidc::OidcClient;
use crate::oidc::authorize::AuthorizeOptions;
use crate::oidc::id_token::IdTokenClaims;
use crate::oidc::token::TokenSet;
use crate::state::State;
use crate::timeline::{Exchange, Lane, Timeline};
use crate::walkthrough::browser::{Browser, Landing, User};
use crate::walkthrough::console::Console;

pub use attacks::Attack;

/// How one step or attack ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The step did what the flow needs.
    Passed,
    /// The step did not apply (e.g. logout when the provider has no end-session endpoint).
    Skipped(String),
    /// The attack was refused, for the expected reason (given).
    Refused(String),
    /// The attack was *not* refused as expected (what happened instead).
    NotRefused(String),
    /// Something failed that should not have.
    Failed(String),
}

/// A step of the normal flow, or an attack scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A step of the flow.
    Step,
    /// An attack scenario.
    Attack(Attack),
}

/// The outcome of one step or attack.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// "Step 4" or "Attack 2".
    pub label: String,
    /// The title.
    pub title: String,
    /// Step or attack.
    pub kind: Kind,
    /// How it ended.
    pub verdict: Verdict,
}

impl Outcome {
    /// A step that passed or was skipped, or an attack that was refused.
    pub fn is_as_expected(&self) -> bool {
        match self.kind {
            Kind::Step => matches!(self.verdict, Verdict::Passed | Verdict::Skipped(_)),
            Kind::Attack(_) => matches!(self.verdict, Verdict::Refused(_)),
        }
    }
}

/// Everything the walkthrough did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// In order.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// Whether every step passed (or was skipped) and every attack was refused.
    pub fn all_as_expected(&self) -> bool {
        self.outcomes.iter().all(Outcome::is_as_expected)
    }

    /// The attack outcomes.
    pub fn attacks(&self) -> impl Iterator<Item = (Attack, &Verdict)> {
        self.outcomes
            .iter()
            .filter_map(|outcome| match outcome.kind {
                Kind::Attack(attack) => Some((attack, &outcome.verdict)),
                Kind::Step => None,
            })
    }

    /// One line: how many steps passed and attacks were refused.
    pub fn summary(&self) -> String {
        let steps = self
            .outcomes
            .iter()
            .filter(|outcome| outcome.kind == Kind::Step);
        let (mut passed, mut skipped, mut failed) = (0, 0, 0);
        for step in steps {
            match step.verdict {
                Verdict::Passed => passed += 1,
                Verdict::Skipped(_) => skipped += 1,
                _ => failed += 1,
            }
        }
        let total_attacks = self.attacks().count();
        let refused = self
            .attacks()
            .filter(|(_, verdict)| matches!(verdict, Verdict::Refused(_)))
            .count();
        let mut summary =
            format!("walkthrough: {passed} steps passed, {skipped} skipped, {failed} failed");
        if total_attacks > 0 {
            summary.push_str(&format!(
                "; attacks: {refused} of {total_attacks} refused for the right reason"
            ));
        }
        summary
    }
}

/// The tour in progress: prints steps and the exchanges recorded during each.
struct Tour<'a> {
    console: Console<'a>,
    timeline: Arc<Timeline>,
    printed: usize,
    report: Report,
    pause: bool,
    steps: usize,
    attacks: usize,
    /// Titles of exchanges whose explanation was printed already.
    explained: HashSet<String>,
}

impl Tour<'_> {
    fn begin(&mut self, kind: Kind, title: &str, intro: &str) -> anyhow::Result<String> {
        let label = match kind {
            Kind::Step => {
                self.steps += 1;
                format!("Step {}", self.steps)
            }
            Kind::Attack(_) => {
                self.attacks += 1;
                format!("Attack {}", self.attacks)
            }
        };
        self.printed = self.timeline.len();
        self.console.heading(&label, title, intro)?;
        Ok(label)
    }

    fn print_exchanges(&mut self) -> anyhow::Result<()> {
        let new = self.timeline.since(self.printed);
        self.printed += new.len();
        for (index, exchange) in new.iter().enumerate() {
            let letter = char::from(b'a' + u8::try_from(index % 26).unwrap_or(0));
            let first_time = self.explained.insert(exchange.title.clone());
            self.console.exchange(letter, exchange, first_time)?;
        }
        Ok(())
    }

    async fn end(
        &mut self,
        label: String,
        kind: Kind,
        title: &str,
        verdict: Verdict,
    ) -> anyhow::Result<()> {
        self.print_exchanges()?;
        self.console.blank()?;
        match &verdict {
            Verdict::Passed => self.console.verdict(true, "done", "")?,
            Verdict::Skipped(reason) => self.console.verdict(true, "skipped:", reason)?,
            Verdict::Refused(reason) => {
                self.console
                    .verdict(true, "REFUSED, as it must be:", reason)?
            }
            Verdict::NotRefused(detail) => self.console.verdict(false, "NOT REFUSED:", detail)?,
            Verdict::Failed(detail) => self.console.verdict(false, "FAILED:", detail)?,
        }
        self.report.outcomes.push(Outcome {
            label,
            title: title.to_owned(),
            kind,
            verdict,
        });
        self.console.flush()?;
        if self.pause {
            self.console.text("⏎  press Enter for the next step")?;
            self.console.flush()?;
            tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
            })
            .await
            .context("waiting for Enter")?;
        }
        Ok(())
    }

    /// Runs one step: the closure's error becomes a `Failed` verdict (and is returned, so the
    /// flow stops).
    async fn step<T>(
        &mut self,
        title: &str,
        intro: &str,
        work: impl AsyncFnOnce(&mut Self) -> anyhow::Result<(T, Verdict)>,
    ) -> anyhow::Result<T> {
        let label = self.begin(Kind::Step, title, intro)?;
        match work(self).await {
            Ok((value, verdict)) => {
                self.end(label, Kind::Step, title, verdict).await?;
                Ok(value)
            }
            Err(error) => {
                self.end(
                    label,
                    Kind::Step,
                    title,
                    Verdict::Failed(format!("{error:#}")),
                )
                .await?;
                Err(error)
            }
        }
    }
}

/// What the main flow leaves for the attacks and the logout.
struct SignedIn {
    tokens: TokenSet,
    first_claims: IdTokenClaims,
}

/// Runs the walkthrough, writing the tour to `out`, and returns the report.
///
/// Errors are infrastructure failures (servers that cannot start); a step that fails is a
/// `Failed` verdict in the report and ends the tour early.
pub async fn run(
    config: WalkthroughConfig,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<Report> {
    let mut console = Console::new(out, config.colour);
    let (title, subtitle) = match config.flow {
        Flow::Code => (
            "OAuth 2.1 + OpenID Connect: the authorization code flow, step by step",
            "Every request and response of a real sign-in, with the spec section behind it.",
        ),
        Flow::Resource => (
            "Tokens for several APIs: resource indicators (RFC 8707) and private_key_jwt (RFC 7523)",
            "One token per API, each with the API's audience, algorithm and scopes; a client that signs instead of sharing a secret.",
        ),
        Flow::Dpop => (
            "Sender-constrained tokens: DPoP (RFC 9449)",
            "A token bound to a key the client holds: stolen alone, it is useless.",
        ),
        Flow::TokenExchange => (
            "Calling the next service on the user's behalf: token exchange (RFC 8693)",
            "An API trades the user's token for a narrower one, naming itself as the actor.",
        ),
    };
    console.banner(title, subtitle)?;
    let timeline = Arc::new(Timeline::new());
    let mut tour = Tour {
        console,
        timeline: Arc::clone(&timeline),
        printed: 0,
        report: Report::default(),
        pause: config.pause,
        steps: 0,
        attacks: 0,
        explained: HashSet::new(),
    };
    let servers = match &config.issuer {
        Some(_) => None,
        None => Some(
            tour.step(
                "Start a provider and a resource server",
                "No --issuer was given, so the walkthrough starts the OpenID provider (dev mode: demo users and \
                 clients, a fresh SQLite file) and the notes API in this process, each on a free loopback port.",
                async |tour| {
                    let servers = servers::LocalServers::start().await?;
                    tour.console.text(&format!("provider (issuer): {}", servers.issuer()))?;
                    tour.console.text(&format!("resource server: {}", servers.resource_url()))?;
                    Ok((servers, Verdict::Passed))
                },
            )
            .await?,
        ),
    };
    let issuer = match (&servers, &config.issuer) {
        (Some(servers), _) => servers.issuer(),
        (None, Some(issuer)) => issuer.clone(),
        (None, None) => bail!("no issuer"),
    };
    let resource = match &servers {
        Some(servers) => servers.resource_url(),
        None => config.resource.clone(),
    };
    let result = tour_flow(&mut tour, &config, &issuer, &resource).await;
    if let Some(servers) = servers {
        servers.shutdown().await?;
    }
    if let Err(error) = result {
        // The failed step is in the report already; the tour ends there.
        tracing::debug!(error = %format!("{error:#}"), "walkthrough stopped early");
    }
    tour.console.blank()?;
    tour.console.text(&tour.report.summary())?;
    tour.console.flush()?;
    Ok(tour.report)
}

async fn tour_flow(
    tour: &mut Tour<'_>,
    config: &WalkthroughConfig,
    issuer: &str,
    resource: &str,
) -> anyhow::Result<()> {
    let timeline = Arc::clone(&tour.timeline);
    let client = tour
        .step(
            "Discover the provider and fetch its keys",
            "The client needs only the issuer URL. Discovery tells it every endpoint; the JWKS gives the public keys \
             that signed ID tokens will be checked against.",
            async |_| {
                let http = crate::http::back_channel_client()?;
                let client = OidcClient::discover(http, issuer, config.registration.clone(), &timeline).await?;
                Ok((client, Verdict::Passed))
            },
        )
        .await?;
    let browser = Browser::new(Arc::clone(&timeline))?;
    let user = User {
        username: &config.username,
        password: config.password.expose(),
    };
    match config.flow {
        Flow::Code => {}
        Flow::Resource => return flows::resource_flow(tour, &client, resource).await,
        Flow::Dpop => return flows::dpop_flow(tour, &client, resource).await,
        Flow::TokenExchange => {
            return flows::token_exchange_flow(tour, &client, &browser, &user).await;
        }
    }
    let signed_in = sign_in_steps(tour, &client, &browser, &user).await?;
    let signed_in = api_and_refresh_steps(tour, &client, resource, signed_in).await?;
    if config.attacks {
        let context = attacks::Context {
            client: &client,
            browser: &browser,
            user: &user,
            resource,
            timeline: &timeline,
            access_token: &signed_in.tokens.access_token,
            id_token: signed_in.tokens.id_token.as_ref(),
        };
        for attack in Attack::ALL {
            let label = tour.begin(Kind::Attack(attack), attack.title(), attack.intro())?;
            let verdict = match attacks::run(attack, &context).await {
                Ok(verdict) => verdict,
                Err(error) => Verdict::Failed(format!("{error:#}")),
            };
            tour.end(label, Kind::Attack(attack), attack.title(), verdict)
                .await?;
        }
    }
    logout_step(tour, &client, &browser, &user, &signed_in).await
}

async fn sign_in_steps(
    tour: &mut Tour<'_>,
    client: &OidcClient,
    browser: &Browser,
    user: &User<'_>,
) -> anyhow::Result<SignedIn> {
    let timeline = Arc::clone(&tour.timeline);
    let (pending, authorize_url) = tour
        .step(
            "Prepare the authorization request",
            "The client invents a PKCE code_verifier (kept secret), a state and a nonce, and builds the URL it sends \
             the browser to. Only the verifier's SHA-256 hash (the code_challenge) goes into the URL.",
            async |_| Ok((client.begin(&AuthorizeOptions::default(), &timeline), Verdict::Passed)),
        )
        .await?;
    let callback_url = tour
        .step(
            "Sign in at the provider (in the browser)",
            &format!(
                "The browser follows the redirect to the provider, which shows its login page; the user signs in as \
                 {} and allows the requested scopes. The client is not involved: it only sees the result.",
                user.username
            ),
            async |_| match browser.authorize(&authorize_url, &pending.redirect_uri, user).await? {
                Landing::Redirected(url) => Ok((url, Verdict::Passed)),
                Landing::Page { status, summary, .. } => bail!("the provider answered {status} with {summary} instead of redirecting back"),
            },
        )
        .await?;
    let code = tour
        .step(
            "Back at the client: check the authorization response",
            "The browser arrives at the client's redirect URI with code, state and iss. Before using the code the \
             client checks that state is the one it stored for this browser and that iss is its provider.",
            async |_| {
                timeline.record(
                    Exchange::request(Lane::Browser, Lane::Client, "Authorization response (callback)", "GET", &callback_url).explain(
                        "The provider's redirect brings the browser to the client's callback (the walkthrough plays the \
                         client here, so nothing listens on that port).",
                        "RFC 6749 §4.1.2, RFC 9207 §2",
                    ),
                );
                let query = callback_url.split_once('?').map(|(_, query)| query).unwrap_or_default();
                Ok((client.check_callback(&pending.state, query, &timeline)?, Verdict::Passed))
            },
        )
        .await?;
    let tokens = tour
        .step(
            "Exchange the code for tokens",
            "Back channel, client to provider: the code, the redirect_uri again, the PKCE code_verifier and the client's \
             credentials. The answer holds an access token (RFC 9068 JWT), an ID token and a refresh token.",
            async |_| {
                let tokens = client.redeem_code(&code, &pending.verifier, &pending.redirect_uri, &timeline).await?;
                Ok((tokens, Verdict::Passed))
            },
        )
        .await?;
    let validated = tour
        .step(
            "Validate the ID token",
            "The ID token is the provider's signed statement of who signed in. The client checks the signature against \
             the JWKS, then iss, aud, azp, exp, iat, the nonce it sent, and at_hash (which ties the access token to it).",
            async |_| {
                let validated = client.validate_token_response(&tokens, &pending.nonce, &timeline).await?;
                Ok((validated, Verdict::Passed))
            },
        )
        .await?;
    tour.step(
        "Ask UserInfo who signed in",
        "The access token opens the provider's UserInfo endpoint, which returns the profile claims the scopes allow. \
         The client checks that its sub equals the ID token's.",
        async |_| {
            client.userinfo(&tokens.access_token, &validated.claims.sub, &timeline).await?;
            Ok(((), Verdict::Passed))
        },
    )
    .await?;
    Ok(SignedIn {
        first_claims: validated.claims,
        tokens,
    })
}

async fn api_and_refresh_steps(
    tour: &mut Tour<'_>,
    client: &OidcClient,
    resource: &str,
    signed_in: SignedIn,
) -> anyhow::Result<SignedIn> {
    let timeline = Arc::clone(&tour.timeline);
    let calls = [
        (
            ApiCall::Me,
            "Call the API: GET /api/me",
            "The client sends the access token as a Bearer credential. The resource server verifies it offline (signature with the provider's JWKS, typ at+jwt, iss, aud, exp) without calling the provider.",
        ),
        (
            ApiCall::ListNotes,
            "Call the API: GET /api/notes",
            "Reading notes needs the api:read scope, which the token carries.",
        ),
        (
            ApiCall::CreateNote("Written during the walkthrough".into()),
            "Call the API: POST /api/notes",
            "Writing needs api:write.",
        ),
    ];
    for (call, title, intro) in calls {
        let access_token = signed_in.tokens.access_token.expose().to_owned();
        tour.step(title, intro, async |_| {
            let response = api::call(
                client.http(),
                resource,
                &access_token,
                &call,
                title.trim_start_matches("Call the API: "),
                &timeline,
            )
            .await?;
            if response.is_success() {
                Ok(((), Verdict::Passed))
            } else {
                bail!(
                    "the resource server answered {} {}",
                    response.status,
                    response.error_code().unwrap_or_default()
                )
            }
        })
        .await?;
    }
    let refresh_token = signed_in
        .tokens
        .refresh_token
        .clone()
        .context("no refresh token although offline_access was requested")?;
    let refreshed = tour
        .step(
            "Refresh the tokens",
            "Later, without the user, the client trades its refresh token for fresh tokens. The provider rotates the \
             refresh token (the old one is now spent) and sends a new ID token, which must name the same user.",
            async |_| Ok((client.refresh(&refresh_token, &signed_in.first_claims, &timeline).await?, Verdict::Passed)),
        )
        .await?;
    Ok(SignedIn {
        tokens: TokenSet {
            id_token: refreshed
                .tokens
                .id_token
                .clone()
                .or(signed_in.tokens.id_token),
            ..refreshed.tokens
        },
        first_claims: signed_in.first_claims,
    })
}

async fn logout_step(
    tour: &mut Tour<'_>,
    client: &OidcClient,
    browser: &Browser,
    user: &User<'_>,
    signed_in: &SignedIn,
) -> anyhow::Result<()> {
    let timeline = Arc::clone(&tour.timeline);
    tour.step(
        "Log out at the provider",
        "RP-initiated logout: the client forgets its tokens and sends the browser to the provider's end_session_endpoint \
         with the ID token as id_token_hint, its post_logout_redirect_uri and a state, which must come back unchanged.",
        async |_| {
            let Some(id_token) = &signed_in.tokens.id_token else {
                return Ok(((), Verdict::Skipped("no ID token to send as id_token_hint".into())));
            };
            let logout_state = State::generate();
            let Some(url) = client.end_session_url(id_token, &logout_state) else {
                return Ok(((), Verdict::Skipped("the provider does not advertise an end_session_endpoint".into())));
            };
            let back_to = client
                .registration()
                .post_logout_redirect_uri
                .clone()
                .context("no post_logout_redirect_uri configured")?;
            match browser.authorize(&url, &back_to, user).await? {
                Landing::Redirected(location) => {
                    let returned = url::Url::parse(&location)?
                        .query_pairs()
                        .find(|(name, _)| name == "state")
                        .map(|(_, value)| value.into_owned());
                    let matches = returned.as_deref().is_some_and(|value| logout_state.matches(value));
                    timeline.record(
                        Exchange::note(Lane::Client, "Check the logout response")
                            .explain("The state must be the one the client sent.", "OpenID Connect RP-Initiated Logout 1.0 §3")
                            .with_note(if matches { "✓ state matches" } else { "✗ state does not match" }),
                    );
                    if !matches {
                        bail!("the provider returned another state");
                    }
                    // Proof that the provider's session is gone: a silent sign-in must now fail.
                    let silent = AuthorizeOptions {
                        prompt: Some("none".to_owned()),
                        ..AuthorizeOptions::default()
                    };
                    let (pending, url) = client.begin(&silent, &timeline);
                    let ended = match browser.authorize(&url, &pending.redirect_uri, user).await? {
                        Landing::Redirected(location) => location.contains("error=login_required"),
                        Landing::Page { .. } => false,
                    };
                    timeline.record(
                        Exchange::note(Lane::Client, "Is the provider session gone?")
                            .explain(
                                "A silent sign-in (prompt=none) must now come back with login_required instead of a code.",
                                "OIDC Core §3.1.2.1, §3.1.2.6",
                            )
                            .with_note(if ended { "✓ login_required: the provider session has ended" } else { "✗ the provider still has a session" }),
                    );
                    if ended {
                        Ok(((), Verdict::Passed))
                    } else {
                        bail!("after logout a prompt=none sign-in did not answer login_required")
                    }
                }
                Landing::Page { status, summary, .. } => bail!("the provider answered {status} with {summary} instead of returning to the client"),
            }
        },
    )
    .await
}
