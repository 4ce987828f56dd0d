//! RFC 6749 §4.1.2: checking the authorization response that arrives at the redirect URI.
//!
//! The browser brings back `code`, `state` and `iss` (or `error`). Anyone can make a browser
//! open our callback URL with parameters of their choice, so the checks come in this order:
//!
//! 1. `state` must equal the value stored in *this browser's* session (RFC 6749 §10.12). If it
//!    does not, we stop before reading anything else: the response is not ours.
//! 2. `iss` must equal our provider's issuer (RFC 9207 §2.4). This defeats mix-up attacks, where
//!    a response from one provider is played to a client that talks to several.
//! 3. An `error` is then a genuine answer from the provider (e.g. `access_denied`).
//! 4. Otherwise `code` must be present.

use std::fmt;

use crate::state::State;

/// RFC 6749 §4.1.2 `code`: one-time, short-lived, and a credential until it is redeemed.
///
/// # Security
/// `Debug` is redacted and there is no `Display`.
pub struct AuthorizationCode(String);

impl AuthorizationCode {
    /// Wraps a code (e.g. in tests).
    pub fn new(code: String) -> Self {
        AuthorizationCode(code)
    }

    /// The code, for the token request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthorizationCode([redacted])")
    }
}

/// Why a callback was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// A parameter appears twice (RFC 6749 §3.1: parameters must not be repeated).
    #[error("the parameter {0} appears more than once (RFC 6749 §3.1)")]
    Repeated(String),
    /// No `state`, although we sent one.
    #[error("the response has no state: it was not started by this browser (RFC 6749 §10.12)")]
    MissingState,
    /// `state` differs from the one stored in this browser's session.
    #[error(
        "state does not match this browser's sign-in: possible login CSRF, refused (RFC 6749 §10.12)"
    )]
    StateMismatch,
    /// No `iss`, although the provider advertises it (RFC 9207 §2.4).
    #[error("the response has no iss although the provider always sends it (RFC 9207 §2.4)")]
    MissingIssuer,
    /// `iss` names another provider.
    #[error("iss {0:?} is not our provider: possible mix-up attack (RFC 9207 §2.4)")]
    IssuerMismatch(String),
    /// The provider answered with an error.
    #[error("the provider answered {error}{}", description.as_deref().map(|text| format!(": {text}")).unwrap_or_default())]
    Provider {
        /// RFC 6749 §4.1.2.1 error code (`access_denied`, `login_required`, ...).
        error: String,
        /// `error_description`, if any.
        description: Option<String>,
    },
    /// Neither `code` nor `error`.
    #[error("the response has neither code nor error (RFC 6749 §4.1.2)")]
    MissingCode,
}

/// The parameters of an authorization response, read from the callback's query string.
#[derive(Default)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("state", &self.state.as_ref().map(|_| "[redacted]"))
            .field("iss", &self.iss)
            .field("error", &self.error)
            .finish()
    }
}

impl CallbackParams {
    /// Parses a raw query string; repeated parameters are refused.
    pub fn parse(query: &str) -> Result<CallbackParams, CallbackError> {
        let mut params = CallbackParams::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "code" => &mut params.code,
                "state" => &mut params.state,
                "iss" => &mut params.iss,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                // Unknown parameters are ignored (RFC 6749 §3.1).
                _ => continue,
            };
            if slot.is_some() {
                return Err(CallbackError::Repeated(name.into_owned()));
            }
            *slot = Some(value.into_owned());
        }
        Ok(params)
    }

    /// The `iss` parameter, for display.
    pub fn iss(&self) -> Option<&str> {
        self.iss.as_deref()
    }

    /// The `error` parameter, for display.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

/// What the callback is checked against.
#[derive(Clone, Copy, Debug)]
pub struct CallbackExpectations<'a> {
    /// The state stored in this browser's session.
    pub state: &'a State,
    /// The provider's issuer.
    pub issuer: &'a str,
    /// Whether the provider promised `iss` (discovery's
    /// `authorization_response_iss_parameter_supported`).
    pub iss_required: bool,
}

/// Runs the checks in the order of the module documentation and returns the code.
pub fn validate_callback(
    params: CallbackParams,
    expected: &CallbackExpectations<'_>,
) -> Result<AuthorizationCode, CallbackError> {
    let presented_state = params.state.as_deref().ok_or(CallbackError::MissingState)?;
    if !expected.state.matches(presented_state) {
        return Err(CallbackError::StateMismatch);
    }
    match params.iss.as_deref() {
        Some(iss) if iss == expected.issuer => {}
        Some(iss) => return Err(CallbackError::IssuerMismatch(iss.to_owned())),
        None if expected.iss_required => return Err(CallbackError::MissingIssuer),
        None => {}
    }
    if let Some(error) = params.error {
        return Err(CallbackError::Provider {
            error,
            description: params.error_description,
        });
    }
    params
        .code
        .map(AuthorizationCode)
        .ok_or(CallbackError::MissingCode)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "http://127.0.0.1:8080";

    fn check(query: &str, iss_required: bool, expected: Result<&str, CallbackError>) {
        let state = State::from_string("s-1".into());
        let expectations = CallbackExpectations {
            state: &state,
            issuer: ISSUER,
            iss_required,
        };
        let result = CallbackParams::parse(query)
            .and_then(|params| validate_callback(params, &expectations));
        match (result, expected) {
            (Ok(code), Ok(expected)) => assert_eq!(code.expose(), expected, "{query}"),
            (Err(error), Err(expected)) => assert_eq!(error, expected, "{query}"),
            (result, expected) => panic!("{query}: got {result:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn callback_table() {
        let iss = "iss=http%3A%2F%2F127.0.0.1%3A8080";
        check(&format!("code=c1&state=s-1&{iss}"), true, Ok("c1"));
        check("code=c1&state=s-1", false, Ok("c1"));
        check("code=c1&state=s-1", true, Err(CallbackError::MissingIssuer));
        check(
            &format!("code=c1&{iss}"),
            true,
            Err(CallbackError::MissingState),
        );
        check(
            &format!("code=c1&state=s-2&{iss}"),
            true,
            Err(CallbackError::StateMismatch),
        );
        check(
            "code=c1&state=s-1&iss=http%3A%2F%2Fevil.example",
            true,
            Err(CallbackError::IssuerMismatch("http://evil.example".into())),
        );
        check(
            &format!("code=c1&code=c2&state=s-1&{iss}"),
            true,
            Err(CallbackError::Repeated("code".into())),
        );
        check(
            &format!("error=access_denied&error_description=the+user+denied&state=s-1&{iss}"),
            true,
            Err(CallbackError::Provider {
                error: "access_denied".into(),
                description: Some("the user denied".into()),
            }),
        );
        // An error with a wrong state is a forged response, not the provider's answer.
        check(
            &format!("error=access_denied&state=forged&{iss}"),
            true,
            Err(CallbackError::StateMismatch),
        );
        check(
            &format!("state=s-1&{iss}"),
            true,
            Err(CallbackError::MissingCode),
        );
        check(
            &format!("code=c1&state=s-1&{iss}&extra=ignored"),
            true,
            Ok("c1"),
        );
    }

    #[test]
    fn debug_hides_code_and_state() {
        let params = CallbackParams::parse("code=secret-code&state=secret-state").unwrap();
        let text = format!("{params:?}");
        assert!(
            !text.contains("secret-code") && !text.contains("secret-state"),
            "{text}"
        );
    }
}
