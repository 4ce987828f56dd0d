//! The provider's error type: protocol errors, storage failures and internal failures.

use crate::protocol::OAuthError;

/// Boxed source error for [`Error::Internal`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a provider operation can fail with. Only [`Error::OAuth`] ever reaches a client
/// with its details; the others become a fixed `server_error`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A protocol error with an RFC code.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] crate::store::Error),
    /// Anything else that went wrong on our side.
    #[error("{context}: {source}")]
    Internal {
        /// What we were doing.
        context: &'static str,
        /// The cause.
        source: BoxError,
    },
}

impl Error {
    /// Wraps a failure with what we were doing when it happened.
    pub fn internal(context: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Internal {
            context,
            source: source.into(),
        }
    }
}
