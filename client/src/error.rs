//! The crate's one error type.

use std::borrow::Cow;

use crate::oidc::callback::CallbackError;
use crate::oidc::id_token::IdTokenError;

/// Everything that can go wrong while the relying party talks to the provider or the resource.
///
/// Variants carry what a learner needs to understand the failure; none carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid; the text names the flag and its env variable.
    #[error("configuration: {0}")]
    Config(String),
    /// An HTTP request failed before a response arrived (connection refused, timeout, ...).
    #[error("{context}: {source}")]
    Http {
        /// What we were doing.
        context: &'static str,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// A response arrived but is not what the spec says it must be.
    #[error("{context}: {reason}")]
    Protocol {
        /// What we were doing.
        context: &'static str,
        /// What was wrong with the response.
        reason: String,
    },
    /// The provider answered with an RFC 6749 §5.2 error body.
    #[error("{context}: {error} ({})", description.as_deref().unwrap_or("no description"))]
    OAuth {
        /// What we were doing.
        context: &'static str,
        /// HTTP status.
        status: u16,
        /// The `error` code, e.g. `invalid_grant`.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
    /// The authorization response failed validation (state, iss, error).
    #[error("callback: {0}")]
    Callback(#[from] CallbackError),
    /// The ID token failed validation.
    #[error("ID token: {0}")]
    IdToken(#[from] IdTokenError),
    /// Starting or serving a server failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: &'static str,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps a transport error with what we were doing.
    pub fn http(context: &'static str, source: reqwest::Error) -> Self {
        Error::Http { context, source }
    }

    /// A response that breaks the protocol.
    pub fn protocol(context: &'static str, reason: impl Into<String>) -> Self {
        Error::Protocol {
            context,
            reason: reason.into(),
        }
    }

    /// The OAuth `error` code, when the provider sent one.
    pub fn oauth_code(&self) -> Option<&str> {
        match self {
            Error::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }

    /// A sentence safe to show on a page: no transport internals, no secrets.
    pub fn public_description(&self) -> Cow<'_, str> {
        match self {
            Error::Config(text) => Cow::Borrowed(text),
            Error::Http { context, .. } => {
                Cow::Owned(format!("{context}: the server could not be reached"))
            }
            Error::Protocol { context, reason } => Cow::Owned(format!("{context}: {reason}")),
            Error::OAuth {
                context,
                error,
                description,
                ..
            } => Cow::Owned(format!(
                "{context}: {error}{}",
                description
                    .as_deref()
                    .map(|text| format!(" ({text})"))
                    .unwrap_or_default()
            )),
            Error::Callback(error) => Cow::Owned(error.to_string()),
            Error::IdToken(error) => Cow::Owned(format!("ID token refused: {error}")),
            Error::Io { context, .. } => Cow::Owned(format!("{context} failed")),
        }
    }
}
