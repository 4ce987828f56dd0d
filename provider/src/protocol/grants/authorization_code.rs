//! RFC 6749 §4.1.3 with RFC 7636 §4.6: exchanging an authorization code.
//!
//! The caller consumes the code atomically in the store ([`Redemption`]) and hands the result
//! here; a code that was already consumed is a replay.

use serde::{Deserialize, Serialize};

use crate::protocol::authorize::Authentication;
use crate::protocol::client::RegisteredClient;
use crate::protocol::error::OAuthError;
use crate::protocol::grants::{
    GrantError, GrantId, Issue, RefreshPlan, Replay, ReplayKind, TokenSubject, UserGrant,
    should_issue_refresh_token,
};
use crate::protocol::params::Params;
use crate::protocol::pkce::{CodeChallenge, CodeVerifier, verify_pkce};
use crate::protocol::resource::{Registry, Resources, token_resource};
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{AuthorizationCode, ClientId, Subject, UnixTime};

/// The grant's parameters.
#[derive(Debug)]
pub struct Request {
    /// The code.
    pub code: AuthorizationCode,
    /// Must equal the authorization request's redirect_uri.
    pub redirect_uri: String,
    /// RFC 7636 §4.5 verifier.
    pub code_verifier: CodeVerifier,
    /// RFC 8707 §2.2: which of the authorized resources this token is for.
    pub resource: Option<String>,
    /// RFC 9449: the thumbprint of the key of the request's DPoP proof (set by the caller).
    pub dpop_jkt: Option<String>,
}

impl Request {
    /// RFC 6749 §4.1.3: `code`, `redirect_uri` and (OAuth 2.1) `code_verifier` are required.
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        Ok(Request {
            code: AuthorizationCode::new(params.required("code", "code is missing")?.to_owned()),
            redirect_uri: params
                .required(
                    "redirect_uri",
                    "redirect_uri is missing; repeat the one from the authorization request",
                )?
                .to_owned(),
            code_verifier: CodeVerifier::parse(params.required(
                "code_verifier",
                "code_verifier is missing: PKCE is mandatory (RFC 7636 §4.5)",
            )?)?,
            resource: token_resource(params)?,
            dpop_jkt: None,
        })
    }
}

/// What an authorization code stands for, stored (hashed) until it is redeemed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCode {
    /// The client the code was issued to.
    pub client_id: ClientId,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// Granted scope.
    pub scope: ScopeSet,
    /// Nonce to put into the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge.
    pub code_challenge: CodeChallenge,
    /// The user.
    pub subject: Subject,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// Back-Channel Logout §2.1: the SSO session the code was issued in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// How the user signed in (`amr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The resources the user authorized (RFC 8707); stored as `audience`, the name of the one
    /// resource a code had before the registry.
    #[serde(rename = "audience")]
    pub resources: Resources,
    /// Identifies the grant: the refresh-token family and everything revoked on code replay.
    pub grant_id: String,
    /// RFC 9449 §10: the authorization request bound the code to this DPoP key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// What the store found when it consumed a code (one atomic statement).
#[derive(Debug, PartialEq, Eq)]
pub enum Redemption {
    /// First use: the code is now consumed.
    Consumed(Box<IssuedCode>),
    /// The code was consumed before.
    Replayed {
        /// The grant the first redemption produced.
        grant_id: String,
    },
    /// No such code (never issued, or purged after expiry).
    Unknown,
}

/// RFC 6749 §4.1.3 + RFC 7636 §4.6: decides a code exchange.
///
/// A replay (RFC 6749 §4.1.2: "MUST NOT be used more than once") revokes what the code
/// produced. A code checked and refused here stays consumed: a failed PKCE attempt burns it.
/// The dispatcher has already checked that the client may use this grant.
pub fn exchange(
    client: &RegisteredClient,
    registry: &Registry,
    request: &Request,
    redemption: Redemption,
    now: UnixTime,
) -> Result<Issue, GrantError> {
    let code = match redemption {
        Redemption::Consumed(code) => code,
        Redemption::Replayed { grant_id } => {
            return Err(GrantError::Replayed(Replay {
                kind: ReplayKind::AuthorizationCode,
                grant_id,
                subject: None,
            }));
        }
        Redemption::Unknown => {
            return Err(
                OAuthError::invalid_grant("the authorization code is invalid or expired").into(),
            );
        }
    };
    check_code(&code, client, request, now)?;
    let refresh = if should_issue_refresh_token(client, &code.scope) {
        RefreshPlan::First
    } else {
        RefreshPlan::None
    };
    let target = registry.target(
        client,
        &code.resources,
        request.resource.as_deref(),
        &code.scope,
    )?;
    Ok(Issue {
        target,
        dpop_jkt: None,
        subject: TokenSubject::User(UserGrant {
            authentication: Authentication {
                subject: code.subject,
                auth_time: code.auth_time,
                sid: code.sid,
                amr: code.amr,
            },
            nonce: code.nonce,
            grant_id: GrantId::Existing(code.grant_id),
            granted_scope: code.scope,
            resources: code.resources,
            refresh,
        }),
    })
}

/// The checks on a freshly consumed code: its client, its expiry, the repeated redirect URI
/// and the PKCE verifier.
fn check_code(
    code: &IssuedCode,
    client: &RegisteredClient,
    request: &Request,
    now: UnixTime,
) -> Result<(), OAuthError> {
    if code.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if now >= code.expires_at {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if code.redirect_uri != request.redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the one in the authorization request",
        ));
    }
    verify_pkce(&code.code_challenge, &request.code_verifier)?;
    match &code.dpop_jkt {
        Some(bound) if request.dpop_jkt.as_ref() != Some(bound) => Err(OAuthError::invalid_grant(
            "the code is bound to a DPoP key (dpop_jkt): send a DPoP proof made with that key (RFC 9449 §10)",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorCode;
    use crate::protocol::client::tests::client;
    use crate::protocol::grants::tests::{CHALLENGE, VERIFIER};
    use crate::protocol::resource::Target;
    use crate::protocol::resource::tests::sample_registry;

    const CALLBACK: &str = "https://app.example.com/callback";

    fn code(scope: &str) -> IssuedCode {
        IssuedCode {
            amr: Vec::new(),
            client_id: ClientId::parse("demo-web").unwrap(),
            redirect_uri: CALLBACK.into(),
            scope: ScopeSet::parse(scope).unwrap(),
            nonce: Some("n-1".into()),
            code_challenge: CodeChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap(),
            subject: Subject("u-1".into()),
            auth_time: UnixTime(50),
            sid: None,
            resources: Resources::one("https://api.example.com"),
            grant_id: "grant-1".into(),
            expires_at: UnixTime(600),
            dpop_jkt: None,
        }
    }

    fn request(redirect_uri: &str, verifier: &str) -> Request {
        Request {
            code: AuthorizationCode::new("the-code".into()),
            redirect_uri: redirect_uri.into(),
            code_verifier: CodeVerifier::parse(verifier).unwrap(),
            resource: None,
            dpop_jkt: None,
        }
    }

    fn consumed(scope: &str) -> Redemption {
        Redemption::Consumed(Box::new(code(scope)))
    }

    #[test]
    fn a_valid_exchange_issues_user_tokens_in_the_codes_grant() {
        let web = client("demo-web", Some("s"));
        let issue = exchange(
            &web,
            &sample_registry(),
            &request(CALLBACK, VERIFIER),
            consumed("openid offline_access"),
            UnixTime(100),
        )
        .unwrap();
        assert_eq!(
            issue,
            Issue {
                target: Target {
                    audience: "https://api.example.com".into(),
                    alg: keys::SigningAlg::RS256,
                    lifetime_secs: None,
                    scope: ScopeSet::parse("openid offline_access").unwrap(),
                },
                subject: TokenSubject::User(UserGrant {
                    authentication: Authentication {
                        amr: Vec::new(),
                        subject: Subject("u-1".into()),
                        auth_time: UnixTime(50),
                        sid: None,
                    },
                    nonce: Some("n-1".into()),
                    grant_id: GrantId::Existing("grant-1".into()),
                    granted_scope: ScopeSet::parse("openid offline_access").unwrap(),
                    resources: Resources::one("https://api.example.com"),
                    refresh: RefreshPlan::First,
                }),
                dpop_jkt: None,
            }
        );
        // Without offline_access there is no refresh token (OIDC Core §11).
        let issue = exchange(
            &web,
            &sample_registry(),
            &request(CALLBACK, VERIFIER),
            consumed("openid"),
            UnixTime(100),
        )
        .unwrap();
        let TokenSubject::User(grant) = issue.subject else {
            panic!("a user grant");
        };
        assert_eq!(grant.refresh, RefreshPlan::None);
    }

    #[test]
    fn refusals_table() {
        let web = client("demo-web", Some("s"));
        let other = client("other", Some("s"));
        let wrong_verifier = "b".repeat(43);
        type Case<'a> = (
            &'a RegisteredClient,
            &'a str,
            &'a str,
            Redemption,
            i64,
            ErrorCode,
        );
        let cases: Vec<Case> = vec![
            (
                &other,
                CALLBACK,
                VERIFIER,
                consumed("openid"),
                100,
                ErrorCode::InvalidGrant,
            ),
            (
                &web,
                "https://app.example.com/other",
                VERIFIER,
                consumed("openid"),
                100,
                ErrorCode::InvalidGrant,
            ),
            (
                &web,
                CALLBACK,
                &wrong_verifier,
                consumed("openid"),
                100,
                ErrorCode::InvalidGrant,
            ),
            (
                &web,
                CALLBACK,
                VERIFIER,
                consumed("openid"),
                600,
                ErrorCode::InvalidGrant,
            ),
            (
                &web,
                CALLBACK,
                VERIFIER,
                Redemption::Unknown,
                100,
                ErrorCode::InvalidGrant,
            ),
        ];
        for (index, (client, redirect, verifier, redemption, now, expected)) in
            cases.into_iter().enumerate()
        {
            match exchange(
                client,
                &sample_registry(),
                &request(redirect, verifier),
                redemption,
                UnixTime(now),
            ) {
                Err(GrantError::Refused(error)) => assert_eq!(error.code, expected, "case {index}"),
                other => panic!("case {index}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_replayed_code_asks_for_its_grant_to_be_revoked() {
        let web = client("demo-web", Some("s"));
        let outcome = exchange(
            &web,
            &sample_registry(),
            &request(CALLBACK, VERIFIER),
            Redemption::Replayed {
                grant_id: "grant-1".into(),
            },
            UnixTime(100),
        );
        assert_eq!(
            outcome,
            Err(GrantError::Replayed(Replay {
                kind: ReplayKind::AuthorizationCode,
                grant_id: "grant-1".into(),
                subject: None,
            }))
        );
    }

    #[test]
    fn parsing_requires_every_parameter() {
        let full = [
            ("code", "c"),
            ("redirect_uri", "r"),
            ("code_verifier", VERIFIER),
        ];
        assert!(Request::parse(&Params::from_pairs(full)).is_ok());
        for missing in 0..full.len() {
            let pairs = full
                .iter()
                .enumerate()
                .filter(|(index, _)| *index != missing)
                .map(|(_, pair)| *pair);
            let error = Request::parse(&Params::from_pairs(pairs)).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{:?}", full[missing]);
        }
        // RFC 7636 §4.6: a malformed verifier cannot match any challenge.
        let short_verifier = [
            ("code", "c"),
            ("redirect_uri", "r"),
            ("code_verifier", "short"),
        ];
        assert_eq!(
            Request::parse(&Params::from_pairs(short_verifier))
                .unwrap_err()
                .code,
            ErrorCode::InvalidGrant
        );
    }
}
