//! A scripted user agent: it follows the provider's redirects by hand and fills in the real
//! login and consent forms, recording each hop as a browser ↔ provider exchange.

use std::sync::Arc;

use anyhow::{Context, bail};

use crate::http::{RawResponse, send};
use crate::timeline::{Exchange, Lane, Timeline};

/// Where an authorization ended.
#[derive(Debug)]
pub enum Landing {
    /// The provider redirected to the client's redirect URI: the full URL (with code or error).
    Redirected(String),
    /// The provider showed a page instead (an error page, or the login form again).
    Page {
        /// HTTP status.
        status: u16,
        /// Whether a `Location` header was present.
        has_location: bool,
        /// The page's heading or title.
        summary: String,
    },
}

/// Credentials the scripted user types.
pub struct User<'a> {
    /// User name.
    pub username: &'a str,
    /// Password.
    pub password: &'a str,
}

/// The scripted browser: a cookie jar (the provider's session and browser-binding cookies),
/// redirects off so every hop is visible.
pub struct Browser {
    http: reqwest::Client,
    timeline: Arc<Timeline>,
}

enum Next {
    Get(String),
    Post {
        url: String,
        form: Vec<(String, String)>,
        kind: FormKind,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FormKind {
    Login,
    Consent,
}

impl Browser {
    /// A fresh browser (empty cookie jar).
    pub fn new(timeline: Arc<Timeline>) -> anyhow::Result<Browser> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(crate::http::TIMEOUT)
            .build()
            .context("building the browser's HTTP client")?;
        Ok(Browser { http, timeline })
    }

    /// Follows an authorization request until the provider redirects to `redirect_uri`,
    /// signing in and allowing consent when asked. At most 10 hops.
    pub async fn authorize(
        &self,
        authorize_url: &str,
        redirect_uri: &str,
        user: &User<'_>,
    ) -> anyhow::Result<Landing> {
        let mut next = Next::Get(authorize_url.to_owned());
        let mut logins = 0;
        for _ in 0..10 {
            let (url, response) = self.fetch(&next, user).await?;
            if (300..400).contains(&response.status) {
                let location = response
                    .header("location")
                    .context("a redirect without Location")?;
                let target = url::Url::parse(&url)
                    .and_then(|base| base.join(location))
                    .context("an unparseable Location")?
                    .to_string();
                if target.starts_with(redirect_uri) {
                    return Ok(Landing::Redirected(target));
                }
                next = Next::Get(target);
                continue;
            }
            let page = &response.body;
            let form = if response.status == 200 && page.contains("name=\"password\"") {
                Some(FormKind::Login)
            } else if response.status == 200 && page.contains("name=\"decision\"") {
                Some(FormKind::Consent)
            } else {
                None
            };
            match form {
                Some(FormKind::Login) if logins == 0 => {
                    logins += 1;
                    next = form_submission(&url, page, FormKind::Login, user)?;
                }
                Some(FormKind::Consent) => {
                    next = form_submission(&url, page, FormKind::Consent, user)?
                }
                _ => {
                    return Ok(Landing::Page {
                        status: response.status,
                        has_location: response.header("location").is_some(),
                        summary: response.summary(),
                    });
                }
            }
        }
        bail!("the provider redirected more than 10 times")
    }

    /// Sends one hop and records it.
    async fn fetch(&self, next: &Next, user: &User<'_>) -> anyhow::Result<(String, RawResponse)> {
        const CONTEXT: &str = "browsing the provider";
        let (url, request, exchange) = match next {
            Next::Get(url) => (
                url.clone(),
                self.http.get(url),
                Exchange::request(Lane::Browser, Lane::Provider, "", "GET", url),
            ),
            Next::Post { url, form, kind } => {
                let mut exchange =
                    Exchange::request(Lane::Browser, Lane::Provider, "", "POST", url);
                for (name, value) in form {
                    exchange = exchange.field(name, value);
                }
                let title = match kind {
                    FormKind::Login => "Submit the login form",
                    FormKind::Consent => "Allow on the consent page",
                };
                exchange.title = title.to_owned();
                (url.clone(), self.http.post(url).form(form), exchange)
            }
        };
        let response = send(request, CONTEXT).await?;
        let exchange = describe(exchange, next, &response, user).respond(
            response.status,
            response.shown_headers(),
            response.summary(),
        );
        self.timeline.record(exchange);
        Ok((url, response))
    }
}

/// Gives each hop its title and explanation from what it turned out to be.
fn describe(exchange: Exchange, next: &Next, response: &RawResponse, user: &User<'_>) -> Exchange {
    let is_authorize = matches!(next, Next::Get(url) if url.contains("/authorize"));
    let is_end_session = matches!(next, Next::Get(url) if url.contains("/end_session"));
    let page = &response.body;
    match next {
        Next::Get(_) if is_authorize => {
            let mut exchange = exchange.explain(
                "The browser arrives at the authorization endpoint with the client's request. The provider \
                 checks client_id and redirect_uri first; only then may it redirect anywhere.",
                "RFC 6749 §4.1.1, §4.1.2.1, RFC 7636 §4.3",
            );
            exchange.title = "Authorization request".to_owned();
            exchange
        }
        Next::Get(_) if is_end_session => {
            let mut exchange = exchange.explain(
                "The browser arrives at the end_session_endpoint. The id_token_hint names the signed-in user, so the \
                 provider ends its session without asking and returns to the registered post_logout_redirect_uri \
                 with our state.",
                "OpenID Connect RP-Initiated Logout 1.0 §2-3",
            );
            exchange.title = "End session at the provider".to_owned();
            exchange
        }
        Next::Get(_) if page.contains("name=\"password\"") => {
            let mut exchange = exchange.explain(
                "No session at the provider yet, so it shows its login page. The form carries a CSRF token \
                 and is bound to this browser by a cookie.",
                "OIDC Core §3.1.2.3",
            );
            exchange.title = "Login page".to_owned();
            exchange
        }
        Next::Get(_) if page.contains("name=\"decision\"") => {
            let mut exchange = exchange.explain(
                "offline_access was requested, so the provider asks the user to consent (OIDC Core §11) and \
                 lists the scopes in plain words.",
                "OIDC Core §3.1.2.4, §11",
            );
            exchange.title = "Consent page".to_owned();
            exchange
        }
        Next::Get(_) => {
            let mut exchange = exchange.explain("The browser follows the provider's redirect.", "RFC 9110 §15.4.4");
            exchange.title = "Follow the redirect".to_owned();
            exchange
        }
        Next::Post { kind: FormKind::Login, .. } => exchange.explain(
            &format!(
                "The user types {} and the password into the provider's page. The password goes to the \
                 provider only, never to the client.",
                user.username
            ),
            "OIDC Core §3.1.2.3",
        ),
        Next::Post { kind: FormKind::Consent, .. } => exchange.explain(
            "The user allows. The provider stores the consent, issues a one-time code and redirects the browser \
             to the client's registered redirect_uri with code, state and iss.",
            "RFC 6749 §4.1.2, RFC 9207 §2",
        ),
    }
}

/// Reads the form's action and CSRF token and fills it in.
fn form_submission(
    page_url: &str,
    page: &str,
    kind: FormKind,
    user: &User<'_>,
) -> anyhow::Result<Next> {
    let action =
        attribute_after(page, "<form", "action").context("the page's form has no action")?;
    let csrf = input_value(page, "csrf_token").context("the form has no csrf_token")?;
    let url = url::Url::parse(page_url)?.join(&action)?.to_string();
    let mut form = vec![("csrf_token".to_owned(), csrf)];
    match kind {
        FormKind::Login => {
            form.push(("username".to_owned(), user.username.to_owned()));
            form.push(("password".to_owned(), user.password.to_owned()));
        }
        FormKind::Consent => form.push(("decision".to_owned(), "allow".to_owned())),
    }
    Ok(Next::Post { url, form, kind })
}

/// The value of `attribute` in the first `tag` element.
fn attribute_after(page: &str, tag: &str, attribute: &str) -> Option<String> {
    let start = page.find(tag)?;
    let end = page[start..].find('>')? + start;
    let element = &page[start..end];
    let marker = format!("{attribute}=\"");
    let from = element.find(&marker)? + marker.len();
    let to = element[from..].find('"')? + from;
    Some(unescape(&element[from..to]))
}

/// The `value` of the input named `name`.
fn input_value(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let position = page.find(&marker)?;
    let start = page[..position].rfind('<')?;
    let end = page[position..].find('>')? + position;
    let element = &page[start..end];
    let from = element.find("value=\"")? + "value=\"".len();
    let to = element[from..].find('"')? + from;
    Some(unescape(&element[from..to]))
}

/// Undoes the HTML escaping askama applies to attribute values.
fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN: &str = r#"<form method="post" action="/interaction/abc&#x2f;login">
  <input type="hidden" name="csrf_token" value="tok-1">
  <input id="username" name="username" type="text" value="" required autofocus>
  <input id="password" name="password" type="password" required>"#;

    #[test]
    fn reads_the_login_form() {
        let user = User {
            username: "alice",
            password: "pw",
        };
        let Next::Post { url, form, .. } = form_submission(
            "http://127.0.0.1:1/interaction/abc",
            LOGIN,
            FormKind::Login,
            &user,
        )
        .unwrap() else {
            panic!("expected a POST");
        };
        assert_eq!(url, "http://127.0.0.1:1/interaction/abc/login");
        assert_eq!(form[0], ("csrf_token".to_owned(), "tok-1".to_owned()));
        assert_eq!(form[1].1, "alice");
        assert_eq!(form[2].1, "pw");
    }
}
