//! Askama view models: display fields only, no logic beyond loops and `if`.
//! The `.html` files live in `provider/templates/`.

use askama::Template;
use askama_web::WebTemplate;

/// The login form. Field names `username` / `password` are part of the contract.
#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    /// Name of the requesting client.
    pub client_name: &'a str,
    /// Form target.
    pub action: String,
    /// Synchroniser token of the interaction.
    pub csrf_token: &'a str,
    /// Pre-filled user name (`login_hint` or the previous attempt).
    pub username: &'a str,
    /// Error message of the previous attempt.
    pub error: Option<&'a str>,
    /// Show the demo accounts (dev mode).
    pub show_demo_hint: bool,
}

/// One requested scope in plain words.
pub struct ScopeLine {
    /// The scope token.
    pub name: String,
    /// What it allows.
    pub description: &'static str,
}

/// The consent page, with explicit Allow and Deny buttons.
#[derive(Template, WebTemplate)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    /// Name of the requesting client.
    pub client_name: &'a str,
    /// Signed-in user.
    pub username: &'a str,
    /// Requested scopes.
    pub scopes: Vec<ScopeLine>,
    /// Form target.
    pub action: String,
    /// Synchroniser token of the interaction.
    pub csrf_token: &'a str,
    /// Where the tokens will go.
    pub redirect_host: String,
}

/// An error the user must see (we do not redirect to an unvalidated URI).
#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// RFC error code.
    pub error: &'a str,
    /// Description.
    pub description: &'a str,
}
