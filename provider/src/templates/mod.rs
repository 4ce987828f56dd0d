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

/// The second step of a sign-in: a code from the authenticator app or a recovery code
/// (field `code`).
#[derive(Template, WebTemplate)]
#[template(path = "second_factor.html")]
pub struct SecondFactorPage<'a> {
    /// Name of the requesting client.
    pub client_name: &'a str,
    /// Form target.
    pub action: String,
    /// Synchroniser token of the interaction.
    pub csrf_token: &'a str,
    /// Error message of the previous attempt.
    pub error: Option<&'a str>,
}

/// The account page of the signed-in user.
#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    /// The user's name.
    pub name: &'a str,
    /// The user name.
    pub username: &'a str,
    /// How the current session signed in (`amr`).
    pub amr: String,
    /// The authenticator app is set up.
    pub totp_on: bool,
    /// Recovery codes left.
    pub recovery_codes_left: u64,
    /// The account forms' synchroniser token (bound to the session).
    pub csrf_token: &'a str,
    /// A message after an action.
    pub notice: Option<&'a str>,
    /// An error of the last action.
    pub error: Option<&'a str>,
}

/// Authenticator app enrolment: the QR code (server-rendered SVG), the key to type in by hand
/// and the form for the first code.
#[derive(Template, WebTemplate)]
#[template(path = "totp_setup.html")]
pub struct TotpSetupPage<'a> {
    /// The QR code of the `otpauth://` URI, as SVG markup (generated here, not user input).
    pub qr_svg: &'a str,
    /// The secret in base32, in groups.
    pub manual_key: &'a str,
    /// The account's synchroniser token.
    pub csrf_token: &'a str,
    /// Error of the previous attempt.
    pub error: Option<&'a str>,
}

/// The recovery codes, shown once after enrolment.
#[derive(Template, WebTemplate)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage {
    /// The codes.
    pub codes: Vec<String>,
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
    /// Where the tokens will go, in one sentence.
    pub destination: String,
    /// The APIs (RFC 8707 resources) the tokens are for, by name; empty: none named.
    pub apis: Vec<String>,
    /// For a client known only by its metadata document: the host that published it.
    pub client_host: Option<String>,
}

/// A page with a message and no form (device flow outcome, logout done).
#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    /// Heading.
    pub title: &'a str,
    /// Text.
    pub message: &'a str,
}

/// RFC 8628 §3.3: the user code entry form (field `user_code`).
#[derive(Template, WebTemplate)]
#[template(path = "device.html")]
pub struct DevicePage<'a> {
    /// Pre-filled code (from `verification_uri_complete`).
    pub user_code: &'a str,
    /// Error of the previous attempt.
    pub error: Option<&'a str>,
}

/// RP-Initiated Logout: ask before ending the session when the request is not trusted.
#[derive(Template, WebTemplate)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    /// Synchroniser token (an HMAC over the session, client and redirect).
    pub csrf_token: &'a str,
    /// The client that asked, carried through the form.
    pub client_id: &'a str,
    /// Where to go afterwards, validated again when the form comes back.
    pub post_logout_redirect_uri: &'a str,
    /// The request's `state`.
    pub state: &'a str,
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
