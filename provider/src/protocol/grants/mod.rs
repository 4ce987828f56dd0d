//! The token endpoint's grants, one module each (the shape of ory/fosite's one handler per
//! grant): each turns a parsed request, plus what the caller loaded from the store, into an
//! [`Issue`] (what to mint) or a [`GrantError`]. They do no IO; issuance (`protocol/issuance.rs`)
//! mints the tokens for all of them, and the one replay policy is [`Replay`].
//!
//! Adding a grant: a [`GrantType`] variant (in the `openapi` crate, so discovery, registration
//! and the OpenAPI document learn it too), a module here with its `Request::parse` and its
//! decision function, an arm in [`parse_token_request`] and in the dispatcher
//! (`http/token.rs`). The compiler lists every `match` that must change.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;
pub mod token_exchange;

pub use crate::protocol::client::GrantType;

use crate::protocol::authorize::Authentication;
use crate::protocol::client::RegisteredClient;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::params::Params;
use crate::protocol::resource::{Resources, Target};
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{SecretDigest, Subject};

/// A parsed token request: the grant and its own parameters.
#[derive(Debug)]
pub enum TokenRequest {
    /// RFC 6749 §4.1.3.
    AuthorizationCode(authorization_code::Request),
    /// RFC 6749 §6.
    RefreshToken(refresh_token::Request),
    /// RFC 6749 §4.4.
    ClientCredentials(client_credentials::Request),
    /// RFC 8628 §3.4.
    DeviceCode(device_code::Request),
    /// RFC 8693 §2.1.
    TokenExchange(token_exchange::Request),
}

impl TokenRequest {
    /// The grant this request uses.
    pub fn grant_type(&self) -> GrantType {
        match self {
            TokenRequest::AuthorizationCode(_) => GrantType::AuthorizationCode,
            TokenRequest::RefreshToken(_) => GrantType::RefreshToken,
            TokenRequest::ClientCredentials(_) => GrantType::ClientCredentials,
            TokenRequest::DeviceCode(_) => GrantType::DeviceCode,
            TokenRequest::TokenExchange(_) => GrantType::TokenExchange,
        }
    }
}

/// RFC 6749 §3.2 / §5.2: reads `grant_type`, then the grant's own parameters. Removed grants
/// (`password`, `implicit`) and unknown ones are `unsupported_grant_type`.
pub fn parse_token_request(params: &Params) -> Result<TokenRequest, OAuthError> {
    let raw = params.required("grant_type", "grant_type is missing")?;
    let Some(grant_type) = GrantType::parse(raw) else {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            if matches!(raw, "password" | "implicit") {
                "this grant type was removed by OAuth 2.1 and is not supported"
            } else {
                "grant_type is not supported by this provider"
            },
        ));
    };
    Ok(match grant_type {
        GrantType::AuthorizationCode => {
            TokenRequest::AuthorizationCode(authorization_code::Request::parse(params)?)
        }
        GrantType::RefreshToken => {
            TokenRequest::RefreshToken(refresh_token::Request::parse(params)?)
        }
        GrantType::ClientCredentials => {
            TokenRequest::ClientCredentials(client_credentials::Request::parse(params)?)
        }
        GrantType::DeviceCode => TokenRequest::DeviceCode(device_code::Request::parse(params)?),
        GrantType::TokenExchange => {
            TokenRequest::TokenExchange(token_exchange::Request::parse(params)?)
        }
    })
}

/// What a grant decided to issue. Issuance turns it into signed tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// What the access token is for: audience, algorithm, lifetime and (narrowed) scope.
    pub target: Target,
    /// RFC 9449: the DPoP key the access token (and a public client's refresh token) is bound
    /// to; set by the dispatcher from the request's proof.
    pub dpop_jkt: Option<String>,
    /// Whom the tokens speak for.
    pub subject: TokenSubject,
}

/// Whom the tokens speak for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSubject {
    /// A signed-in user: `sub` is the user, an ID token for `openid`, maybe a refresh token.
    User(UserGrant),
    /// The client itself (RFC 9068 §2.2: `sub` is the `client_id`; no ID token, no refresh
    /// token, no grant to revoke).
    Client,
    /// The subject of an exchanged token (RFC 8693): its `sub`, maybe an actor chain; one
    /// access token only, recorded under the subject token's grant.
    Delegated(token_exchange::Delegation),
}

/// A user's grant: who and when, which grant (a code replay or a refresh-token reuse revokes it
/// whole), and what happens to refresh tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserGrant {
    /// The user and when they authenticated (`sub`, `auth_time`).
    pub authentication: Authentication,
    /// The authorization request's nonce, for the ID token (code flow only).
    pub nonce: Option<String>,
    /// Which grant.
    pub grant_id: GrantId,
    /// The scope granted (a refresh token keeps it even when this response is narrower).
    pub granted_scope: ScopeSet,
    /// The resources granted (a refresh token keeps them; each token is for one of them).
    pub resources: Resources,
    /// What happens to refresh tokens.
    pub refresh: RefreshPlan,
}

/// A grant's identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantId {
    /// Created at the authorization endpoint (code) or by an earlier token request (refresh).
    Existing(String),
    /// A grant starting now (device flow); issuance draws its id.
    New,
}

/// What the token response does with refresh tokens (OIDC Core §11, OAuth 2.1 §4.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshPlan {
    /// No refresh token.
    None,
    /// The first refresh token of a new grant.
    First,
    /// Rotation: the presented token (by digest) is spent, a successor is issued.
    Rotate(SecretDigest),
    /// The one reuse of a just-rotated token inside the grace window.
    Grace(SecretDigest),
}

/// OIDC Core §11: a refresh token is issued only when `offline_access` was granted and the
/// client is registered for the refresh_token grant.
pub fn should_issue_refresh_token(client: &RegisteredClient, scope: &ScopeSet) -> bool {
    scope.contains("offline_access") && client.allows_grant(GrantType::RefreshToken)
}

/// Why a grant refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantError {
    /// Answer with this error; nothing else happens.
    Refused(OAuthError),
    /// A one-time credential came back: revoke the grant behind it, then refuse.
    Replayed(Replay),
}

impl From<OAuthError> for GrantError {
    fn from(error: OAuthError) -> Self {
        GrantError::Refused(error)
    }
}

/// A one-time credential presented again. The policy is the same for every kind (RFC 6749
/// §4.1.2, RFC 9700 §4.14.2): revoke every token of the grant, write an audit event, refuse
/// with `invalid_grant`. [`ReplayKind`] supplies the words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    /// What was replayed.
    pub kind: ReplayKind,
    /// The grant to revoke.
    pub grant_id: String,
    /// The user of the grant, when known (for the audit trail).
    pub subject: Option<Subject>,
}

/// The kinds of replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayKind {
    /// An authorization code redeemed a second time (RFC 6749 §4.1.2).
    AuthorizationCode,
    /// A rotated-out refresh token used again (RFC 9700 §4.14.2).
    RefreshToken,
    /// Two requests rotated the same refresh token at once and this one lost: treated as
    /// reuse, because the provider cannot tell a race from a stolen copy.
    ConcurrentRefresh,
}

impl ReplayKind {
    /// The audit event name.
    pub fn audit_event(self) -> &'static str {
        match self {
            ReplayKind::AuthorizationCode => "authorization_code_replay",
            ReplayKind::RefreshToken => "refresh_token_reuse",
            ReplayKind::ConcurrentRefresh => "refresh_token_concurrent_use",
        }
    }

    /// The audit event detail.
    pub fn audit_detail(self) -> &'static str {
        match self {
            ReplayKind::AuthorizationCode => "code reused; grant revoked",
            ReplayKind::RefreshToken => "rotated refresh token reused; family revoked",
            ReplayKind::ConcurrentRefresh => {
                "refresh token used by two requests at once; family revoked"
            }
        }
    }

    /// The error the client receives.
    pub fn error(self) -> OAuthError {
        OAuthError::invalid_grant(match self {
            ReplayKind::AuthorizationCode => {
                "the authorization code was already used; tokens issued from it are revoked"
            }
            ReplayKind::RefreshToken | ReplayKind::ConcurrentRefresh => {
                "the refresh token was already used; this grant is revoked"
            }
        })
    }

    /// One sentence for the educational log, with the RFC section.
    pub fn explanation(self) -> &'static str {
        match self {
            ReplayKind::AuthorizationCode => {
                "this code was already used -> invalid_grant, and every token issued from it is revoked (RFC 6749 §4.1.2)"
            }
            ReplayKind::RefreshToken => {
                "a rotated-out refresh token was used again -> the whole family is revoked (RFC 9700 §4.14.2)"
            }
            ReplayKind::ConcurrentRefresh => {
                "another request rotated this refresh token first -> treated as reuse, the family is revoked (RFC 9700 §4.14.2)"
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    pub(crate) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn parse(pairs: &[(&str, &str)]) -> Result<GrantType, ErrorCode> {
        parse_token_request(&Params::from_pairs(pairs.iter().copied()))
            .map(|request| request.grant_type())
            .map_err(|error| error.code)
    }

    #[test]
    fn grant_type_dispatch_table() {
        use GrantType::*;
        type Case<'a> = (&'a [(&'a str, &'a str)], Result<GrantType, ErrorCode>);
        let cases: &[Case] = &[
            (
                &[("grant_type", "refresh_token"), ("refresh_token", "x")],
                Ok(RefreshToken),
            ),
            (
                &[
                    ("grant_type", "authorization_code"),
                    ("code", "c"),
                    ("redirect_uri", "r"),
                    ("code_verifier", VERIFIER),
                ],
                Ok(AuthorizationCode),
            ),
            (
                &[("grant_type", "client_credentials")],
                Ok(ClientCredentials),
            ),
            (
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", "d"),
                ],
                Ok(DeviceCode),
            ),
            (&[], Err(ErrorCode::InvalidRequest)),
            (&[("grant_type", "")], Err(ErrorCode::InvalidRequest)),
            (
                &[("grant_type", "password")],
                Err(ErrorCode::UnsupportedGrantType),
            ),
            (
                &[("grant_type", "implicit")],
                Err(ErrorCode::UnsupportedGrantType),
            ),
            (
                &[("grant_type", "urn:x")],
                Err(ErrorCode::UnsupportedGrantType),
            ),
            (
                &[("grant_type", "Refresh_Token")],
                Err(ErrorCode::UnsupportedGrantType),
            ),
            (
                &[
                    ("grant_type", "refresh_token"),
                    ("grant_type", "refresh_token"),
                ],
                Err(ErrorCode::InvalidRequest),
            ),
        ];
        for (pairs, expected) in cases {
            assert_eq!(parse(pairs), *expected, "{pairs:?}");
        }
    }

    #[test]
    fn every_grant_type_parses_to_its_own_request() {
        for grant in GrantType::ALL {
            let mut pairs = vec![("grant_type", grant.as_str())];
            pairs.extend_from_slice(match grant {
                GrantType::AuthorizationCode => &[
                    ("code", "c"),
                    ("redirect_uri", "r"),
                    ("code_verifier", VERIFIER),
                ][..],
                GrantType::RefreshToken => &[("refresh_token", "t")][..],
                GrantType::ClientCredentials => &[][..],
                GrantType::DeviceCode => &[("device_code", "d")][..],
                GrantType::TokenExchange => &[
                    ("subject_token", "t"),
                    ("subject_token_type", openapi::ACCESS_TOKEN_TYPE),
                ][..],
            });
            assert_eq!(parse(&pairs), Ok(grant));
        }
    }

    #[test]
    fn replay_kinds_refuse_with_invalid_grant_and_name_distinct_audit_events() {
        let kinds = [
            ReplayKind::AuthorizationCode,
            ReplayKind::RefreshToken,
            ReplayKind::ConcurrentRefresh,
        ];
        for kind in kinds {
            assert_eq!(kind.error().code, ErrorCode::InvalidGrant);
            assert!(kind.explanation().contains("RFC"));
        }
        let mut events: Vec<&str> = kinds.iter().map(|kind| kind.audit_event()).collect();
        events.dedup();
        assert_eq!(events.len(), kinds.len());
    }
}
