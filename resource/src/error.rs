//! The crate's one error type, and how each variant maps onto RFC 6750 §3.

use std::borrow::Cow;

use axum::http::StatusCode;

/// A boxed error kept as the `source` of infrastructure failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while protecting a resource.
///
/// The token variants come in the order [`Verifier::verify`](crate::Verifier::verify) checks
/// them, one variant per check, so a test (or a log line) says exactly which check refused a
/// token. Their `Display` text is meant for logs; [`Error::description`] is the sentence sent to
/// clients in `error_description`.
///
/// # Security
/// No variant carries the token, and the texts never contain key material or the messages of
/// the underlying libraries.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// RFC 6750 §3.1: the request carries no bearer token at all.
    #[error("no bearer token in the request")]
    MissingToken,
    /// RFC 6750 §3.1 `invalid_request`: a malformed `Authorization` header, several
    /// `Authorization` headers, or a token sent by more than one method.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),

    /// The token is longer than [`MAX_TOKEN_BYTES`](crate::MAX_TOKEN_BYTES); refused unparsed.
    #[error("token exceeds the size limit")]
    TokenTooLarge,
    /// The token is not a compact JWS (RFC 7515 §7.1), or its header or claims are not the JSON
    /// objects they must be.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// RFC 9068 §4: header `typ` is not `at+jwt`, so this is not an access token (an ID token,
    /// for instance).
    #[error("token typ is not at+jwt")]
    WrongTokenType,
    /// The header `alg` is not on the allow-list (`none` and HS* never are).
    #[error("token alg is not allowed")]
    DisallowedAlgorithm,
    /// No key in the JWKS has the header's `kid`, even after the rate-limited refetch.
    #[error("token kid is unknown")]
    UnknownKid,
    /// The JWK that the `kid` names has a `kty`, curve or `alg` that contradicts the header `alg`.
    #[error("token alg does not match the key's type or alg")]
    KeyAlgorithmMismatch,
    /// The signature does not verify with the key.
    #[error("token signature is invalid")]
    InvalidSignature,
    /// `iss` is absent or differs from the configured issuer (exact string match).
    #[error("token iss is not the expected issuer")]
    WrongIssuer,
    /// `aud` is absent or names none of the configured audiences.
    #[error("token aud does not name this resource")]
    WrongAudience,
    /// `exp` has passed (beyond the leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token was issued in the future")]
    IssuedInFuture,
    /// A claim RFC 9068 §2.2 requires is absent (`exp`, `iat`, `jti`, `client_id` or `sub`).
    #[error("token lacks the {0} claim")]
    MissingClaim(&'static str),

    /// RFC 9449 §7.1 `invalid_dpop_proof`: the DPoP proof is missing, malformed, replayed or
    /// made with another key than the token is bound to.
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(&'static str),
    /// RFC 9449 §7.1: a DPoP-bound token sent as `Bearer`, an unbound token sent as `DPoP`, or
    /// a Bearer token where DPoP is required.
    #[error("wrong token scheme: {0}")]
    WrongScheme(&'static str),

    /// RFC 6750 §3.1 `insufficient_scope`: the token is valid but lacks a scope the route needs.
    #[error("token lacks scope {required}")]
    InsufficientScope {
        /// The space-separated scopes the route requires.
        required: String,
    },

    /// No key set has been loaded yet (the issuer has been unreachable since start-up).
    #[error("no JWKS loaded yet")]
    KeysUnavailable,
    /// The discovery document could not be fetched or is unusable.
    #[error("discovery at {url} failed: {reason}")]
    Discovery {
        /// The discovery URL.
        url: String,
        /// What went wrong, in a few words.
        reason: &'static str,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The JWKS could not be fetched or parsed.
    #[error("fetching the JWKS from {url} failed: {reason}")]
    JwksFetch {
        /// The `jwks_uri`.
        url: String,
        /// What went wrong, in a few words.
        reason: &'static str,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The configuration is unusable; the text names the setting.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An IO failure of the demo server (binding, serving).
    #[error("{context}")]
    Io {
        /// What we were doing.
        context: &'static str,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

/// The error codes of RFC 6750 §3.1 (plus the two non-token outcomes we render).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// RFC 6750 §3.1: the request lacks any authentication information; no code is sent.
    NoCredentials,
    /// RFC 6750 §3.1 `invalid_request` (HTTP 400).
    InvalidRequest,
    /// RFC 6750 §3.1 `invalid_token` (HTTP 401).
    InvalidToken,
    /// RFC 6750 §3.1 `insufficient_scope` (HTTP 403).
    InsufficientScope,
    /// RFC 9449 §7.1 `invalid_dpop_proof` (HTTP 401).
    InvalidDpopProof,
    /// The keys needed to judge the token are not available (HTTP 503).
    TemporarilyUnavailable,
    /// A fault on our side (HTTP 500).
    ServerError,
}

impl ErrorCode {
    /// The `error` value on the wire; `None` when RFC 6750 §3.1 says to send none.
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            ErrorCode::NoCredentials => None,
            ErrorCode::InvalidRequest => Some("invalid_request"),
            ErrorCode::InvalidToken => Some("invalid_token"),
            ErrorCode::InsufficientScope => Some("insufficient_scope"),
            ErrorCode::InvalidDpopProof => Some("invalid_dpop_proof"),
            ErrorCode::TemporarilyUnavailable => Some("temporarily_unavailable"),
            ErrorCode::ServerError => Some("server_error"),
        }
    }

    /// The HTTP status RFC 6750 §3.1 assigns to the code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::NoCredentials | ErrorCode::InvalidToken | ErrorCode::InvalidDpopProof => {
                StatusCode::UNAUTHORIZED
            }
            ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl Error {
    /// Which RFC 6750 §3.1 outcome this error is.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::MissingToken => ErrorCode::NoCredentials,
            Error::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Error::TokenTooLarge
            | Error::Malformed(_)
            | Error::WrongTokenType
            | Error::DisallowedAlgorithm
            | Error::UnknownKid
            | Error::KeyAlgorithmMismatch
            | Error::InvalidSignature
            | Error::WrongIssuer
            | Error::WrongAudience
            | Error::Expired
            | Error::NotYetValid
            | Error::IssuedInFuture
            | Error::MissingClaim(_)
            | Error::WrongScheme(_) => ErrorCode::InvalidToken,
            Error::InvalidDpopProof(_) => ErrorCode::InvalidDpopProof,
            Error::InsufficientScope { .. } => ErrorCode::InsufficientScope,
            Error::KeysUnavailable => ErrorCode::TemporarilyUnavailable,
            Error::Discovery { .. }
            | Error::JwksFetch { .. }
            | Error::Config(_)
            | Error::Io { .. } => ErrorCode::ServerError,
        }
    }

    /// The `error_description` sent to the client: a short sentence a client developer can act on.
    ///
    /// Infrastructure errors get a fixed text; their details go to the logs only.
    pub fn description(&self) -> Cow<'static, str> {
        let text = match self {
            Error::MissingToken => {
                "This resource requires a bearer access token in the Authorization header."
            }
            Error::InvalidRequest(reason) => {
                return Cow::Owned(format!("Invalid request: {reason}."));
            }
            Error::TokenTooLarge => "The access token is larger than 8 KiB.",
            Error::Malformed(reason) => {
                return Cow::Owned(format!("Malformed access token: {reason}."));
            }
            Error::WrongTokenType => {
                "The token is not an access token: its typ header must be at+jwt (RFC 9068)."
            }
            Error::DisallowedAlgorithm => {
                "The token is signed with an algorithm this resource does not accept."
            }
            Error::UnknownKid => "The token is signed with a key the issuer does not publish.",
            Error::KeyAlgorithmMismatch => {
                "The token's alg does not match the type of its signing key."
            }
            Error::InvalidSignature => "The token signature is invalid.",
            Error::WrongIssuer => "The token was not issued by the issuer this resource trusts.",
            Error::WrongAudience => "The token is not intended for this resource (aud).",
            Error::Expired => "The access token has expired.",
            Error::NotYetValid => "The access token is not valid yet (nbf).",
            Error::IssuedInFuture => "The access token was issued in the future (iat).",
            Error::MissingClaim(claim) => {
                return Cow::Owned(format!(
                    "The access token lacks the required {claim} claim."
                ));
            }
            Error::InsufficientScope { required } => {
                return Cow::Owned(format!("The access token lacks the scope {required}."));
            }
            Error::InvalidDpopProof(reason) => {
                return Cow::Owned(format!("Invalid DPoP proof: {reason}."));
            }
            Error::WrongScheme(reason) => {
                return Cow::Owned(format!("Wrong authorization scheme: {reason}."));
            }
            Error::KeysUnavailable => {
                "The issuer's signing keys are not available yet; retry later."
            }
            Error::Discovery { .. }
            | Error::JwksFetch { .. }
            | Error::Config(_)
            | Error::Io { .. } => "The resource server failed; the cause is logged.",
        };
        Cow::Borrowed(text)
    }

    /// A short, stable name of the failure for metrics (`resource_token_verifications_total`).
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::MissingToken => "missing",
            Error::InvalidRequest(_) => "invalid_request",
            Error::TokenTooLarge => "too_large",
            Error::Malformed(_) => "malformed",
            Error::WrongTokenType => "wrong_type",
            Error::DisallowedAlgorithm => "disallowed_algorithm",
            Error::UnknownKid => "unknown_kid",
            Error::KeyAlgorithmMismatch => "key_algorithm_mismatch",
            Error::InvalidSignature => "bad_signature",
            Error::WrongIssuer => "wrong_issuer",
            Error::WrongAudience => "wrong_audience",
            Error::Expired => "expired",
            Error::NotYetValid | Error::IssuedInFuture => "not_yet_valid",
            Error::MissingClaim(_) => "missing_claim",
            Error::InsufficientScope { .. } => "insufficient_scope",
            Error::InvalidDpopProof(_) => "invalid_dpop_proof",
            Error::WrongScheme(_) => "wrong_scheme",
            Error::KeysUnavailable => "keys_unavailable",
            _ => "error",
        }
    }

    /// Wraps an IO error with what we were doing.
    #[cfg(feature = "demo")]
    pub(crate) fn io(context: &'static str, source: std::io::Error) -> Self {
        Error::Io { context, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_rfc6750() {
        let cases: [(Error, Option<&str>, u16); 7] = [
            (Error::MissingToken, None, 401),
            (
                Error::InvalidRequest("two methods"),
                Some("invalid_request"),
                400,
            ),
            (Error::Expired, Some("invalid_token"), 401),
            (Error::MissingClaim("jti"), Some("invalid_token"), 401),
            (
                Error::InsufficientScope {
                    required: "api:read".into(),
                },
                Some("insufficient_scope"),
                403,
            ),
            (Error::KeysUnavailable, Some("temporarily_unavailable"), 503),
            (Error::Config("x".into()), Some("server_error"), 500),
        ];
        for (error, code, status) in cases {
            assert_eq!(error.code().as_str(), code, "{error}");
            assert_eq!(error.code().status().as_u16(), status, "{error}");
        }
    }

    #[test]
    fn descriptions_are_safe_to_quote_in_a_header() {
        let errors = [
            Error::MissingToken,
            Error::TokenTooLarge,
            Error::WrongTokenType,
            Error::DisallowedAlgorithm,
            Error::UnknownKid,
            Error::KeyAlgorithmMismatch,
            Error::InvalidSignature,
            Error::WrongIssuer,
            Error::WrongAudience,
            Error::Expired,
            Error::NotYetValid,
            Error::IssuedInFuture,
            Error::MissingClaim("client_id"),
            Error::KeysUnavailable,
        ];
        for error in errors {
            let description = error.description();
            // RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E.
            assert!(
                description
                    .bytes()
                    .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
                "{description}"
            );
        }
    }

    #[test]
    fn infrastructure_errors_do_not_leak_details() {
        let error = Error::JwksFetch {
            url: "http://internal.example/jwks".into(),
            reason: "connection refused",
            source: None,
        };
        assert!(!error.description().contains("internal.example"));
        assert_eq!(error.code(), ErrorCode::ServerError);
    }
}
