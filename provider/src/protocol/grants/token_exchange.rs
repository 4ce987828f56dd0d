//! RFC 8693 token exchange: a client trades a token it holds (the subject token, an access
//! token this provider issued) for a new access token for another of its resources, with the
//! same or fewer scopes. With an actor token the new token names who acts for the subject in
//! a nested `act` claim (§4.1): how a service, or an agent, calls the next service on a user's
//! behalf without holding the user's broader token.
//!
//! The policy (RFC 8693 §2.1 leaves it to the server):
//! - the client is confidential and registered for the grant (in `serve`, only clients an
//!   operator gave it; in `dev` every demo client and every registered one may ask);
//! - the subject token is one of ours, unexpired, not revoked; it was issued to this client, or
//!   this client is a resource server (one that may already introspect any token);
//! - an actor token is ours too and was issued to this client: a client names itself, or a
//!   party it holds a token of, never someone else;
//! - a subject token with `may_act` (§4.4) is exchanged only by the party it names;
//! - the target is one of this client's allowed resources (`invalid_target` otherwise), and
//!   the scope only narrows: within the subject token's scope and the client's;
//! - the new token expires no later than the subject token, carries no refresh token and no ID
//!   token, and is recorded under the subject token's grant, so revoking that grant revokes it.
//!
//! Errors follow §2.2.2: an unacceptable subject or actor token is `invalid_request`.

use openapi::{ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE, JWT_TOKEN_TYPE, REFRESH_TOKEN_TYPE};

use crate::protocol::claims::{AccessTokenClaims, Actor};
use crate::protocol::client::RegisteredClient;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::grants::{GrantError, Issue, TokenSubject};
use crate::protocol::params::Params;
use crate::protocol::resource::Registry;
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::UnixTime;

/// The grant's parameters.
#[derive(Debug)]
pub struct Request {
    /// The token to exchange.
    pub subject_token: String,
    /// The actor's token, when one acts for the subject.
    pub actor_token: Option<String>,
    /// The target (`resource`, or `audience`: the same values here).
    pub target: Option<String>,
    /// Requested scope (default: the subject token's, within the client's).
    pub scope: Option<ScopeSet>,
}

/// The token types accepted as `subject_token_type` / `actor_token_type` and as
/// `requested_token_type`: our access tokens, which are JWTs.
fn is_access_token_type(value: &str) -> bool {
    value == ACCESS_TOKEN_TYPE || value == JWT_TOKEN_TYPE
}

fn check_token_type(value: &str, which: &'static str) -> Result<(), OAuthError> {
    if is_access_token_type(value) {
        Ok(())
    } else if value == ID_TOKEN_TYPE || value == REFRESH_TOKEN_TYPE {
        Err(OAuthError::invalid_request(match which {
            "subject" => {
                "subject_token_type: only access tokens are exchanged here (urn:ietf:params:oauth:token-type:access_token)"
            }
            _ => {
                "actor_token_type: only access tokens act here (urn:ietf:params:oauth:token-type:access_token)"
            }
        }))
    } else {
        Err(OAuthError::invalid_request(match which {
            "subject" => "subject_token_type is not a token type URI this provider knows",
            _ => "actor_token_type is not a token type URI this provider knows",
        }))
    }
}

impl Request {
    /// RFC 8693 §2.1: `subject_token` and `subject_token_type` required; `actor_token` and
    /// `actor_token_type` together or not at all; one `resource` or `audience` at most (this
    /// provider issues single-audience tokens); `requested_token_type` an access token.
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let subject_token = params
            .required("subject_token", "subject_token is missing")?
            .to_owned();
        check_token_type(
            params.required("subject_token_type", "subject_token_type is missing")?,
            "subject",
        )?;
        let actor_token = match (
            params.single("actor_token")?,
            params.single("actor_token_type")?,
        ) {
            (Some(token), Some(kind)) => {
                check_token_type(kind, "actor")?;
                Some(token.to_owned())
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(OAuthError::invalid_request(
                    "actor_token_type is required with actor_token (RFC 8693 §2.1)",
                ));
            }
            (None, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "actor_token_type must not be sent without actor_token (RFC 8693 §2.1)",
                ));
            }
        };
        if let Some(requested) = params.single("requested_token_type")?
            && !is_access_token_type(requested)
        {
            return Err(OAuthError::invalid_request(
                "requested_token_type: this provider issues access tokens only",
            ));
        }
        let several = |name: &str| params.pairs().iter().filter(|(key, _)| key == name).count() > 1;
        if several("resource") || several("audience") {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "one resource or audience per exchange: each token has a single audience",
            ));
        }
        let target = match (params.single("resource")?, params.single("audience")?) {
            (Some(resource), Some(audience)) if resource != audience => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidTarget,
                    "resource and audience name different targets",
                ));
            }
            (resource, audience) => resource.or(audience).map(str::to_owned),
        };
        Ok(Request {
            subject_token,
            actor_token,
            target,
            scope: params.single("scope")?.map(ScopeSet::parse).transpose()?,
        })
    }
}

/// A token the dispatcher verified (our signature, our issuer, `at+jwt`, not revoked, its
/// client still registered) and the grant it belongs to.
#[derive(Clone, Debug)]
pub struct Presented {
    /// Its claims.
    pub claims: AccessTokenClaims,
    /// The user grant it was recorded under (none for client tokens).
    pub grant_id: Option<String>,
}

/// What the exchange issues beyond [`Issue`]: who the token speaks for and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegation {
    /// The subject token's `sub` (a user, or a client for client tokens).
    pub subject: String,
    /// The subject token's `auth_time`.
    pub auth_time: Option<UnixTime>,
    /// The grant to record the new token under.
    pub grant_id: Option<String>,
    /// The actor chain.
    pub act: Option<Actor>,
    /// The subject token's expiry: the new token ends no later.
    pub not_after: UnixTime,
}

/// RFC 8693 §2.1-§2.2: the decision, on tokens already verified by the caller.
pub fn exchange(
    client: &RegisteredClient,
    registry: &Registry,
    request: &Request,
    subject: &Presented,
    actor: Option<&Presented>,
    now: UnixTime,
) -> Result<Issue, GrantError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "token exchange is for confidential clients only",
        )
        .into());
    }
    let claims = &subject.claims;
    if claims.exp <= now.0 {
        return Err(OAuthError::invalid_request("subject_token has expired").into());
    }
    let requester = client.client_id.as_str();
    if claims.client_id != requester && !client.metadata.resource_server {
        return Err(OAuthError::invalid_request(
            "subject_token was issued to another client; only a resource server may exchange tokens it received",
        )
        .into());
    }
    let act = match actor {
        Some(actor) => {
            if actor.claims.exp <= now.0 {
                return Err(OAuthError::invalid_request("actor_token has expired").into());
            }
            if actor.claims.client_id != requester {
                return Err(OAuthError::invalid_request(
                    "actor_token was issued to another client: a client may only name itself or a party it holds a token of",
                )
                .into());
            }
            Some(Actor {
                sub: actor.claims.sub.clone(),
                client_id: Some(actor.claims.client_id.clone()),
                act: claims.act.clone().map(Box::new),
            })
        }
        // Without an actor the chain so far is kept: an exchange never hides who acted.
        None => claims.act.clone(),
    };
    if let Some(allowed) = &claims.may_act {
        let acting_sub = actor.map_or(requester, |actor| actor.claims.sub.as_str());
        let named = allowed.sub == acting_sub
            && allowed
                .client_id
                .as_deref()
                .is_none_or(|client_id| client_id == requester);
        if !named {
            return Err(OAuthError::invalid_request(
                "the subject_token's may_act does not name this actor (RFC 8693 §4.4)",
            )
            .into());
        }
    }
    let held = ScopeSet::parse(&claims.scope)?;
    let ceiling = held
        .intersection(client.allowed_scope())
        .without("offline_access");
    let scope = match &request.scope {
        Some(requested) if !requested.is_empty() => {
            if !requested.is_subset_of(&ceiling) {
                return Err(OAuthError::invalid_scope(
                    "scope may only narrow: it must be within the subject_token's scope and this client's",
                )
                .into());
            }
            requested.clone()
        }
        _ => ceiling,
    };
    let target = registry.client_target(client, request.target.as_deref(), &scope)?;
    if target.scope.is_empty() {
        return Err(OAuthError::invalid_scope(
            "the subject_token, this client and the target resource have no scope in common",
        )
        .into());
    }
    Ok(Issue {
        target,
        dpop_jkt: None,
        subject: TokenSubject::Delegated(Delegation {
            subject: claims.sub.clone(),
            auth_time: claims.auth_time.map(UnixTime),
            grant_id: subject.grant_id.clone(),
            act,
            not_after: UnixTime(claims.exp),
        }),
    })
}

/// The audit detail of an exchange: which tokens (by `jti`, never the tokens) became what.
pub fn audit_detail(subject: &Presented, actor: Option<&Presented>, issue: &Issue) -> String {
    let actor = actor.map_or_else(String::new, |actor| {
        format!(", actor {} (token {})", actor.claims.sub, actor.claims.jti)
    });
    format!(
        "exchanged token {} of client {} for aud {} scope \"{}\"{actor}",
        subject.claims.jti, subject.claims.client_id, issue.target.audience, issue.target.scope
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::tests::client;
    use crate::protocol::resource::tests::sample_registry;

    const NOW: UnixTime = UnixTime(10_000);

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().copied())
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Request, ErrorCode> {
        Request::parse(&params(pairs)).map_err(|error| error.code)
    }

    const SUBJECT: (&str, &str) = ("subject_token", "eyJ.subject.token");
    const AT: (&str, &str) = ("subject_token_type", ACCESS_TOKEN_TYPE);

    #[test]
    fn request_parsing_table() {
        use ErrorCode::{InvalidRequest, InvalidScope, InvalidTarget};
        let ok = |pairs: &[(&str, &str)]| parse(pairs).unwrap();
        assert_eq!(ok(&[SUBJECT, AT]).target, None);
        assert_eq!(
            ok(&[SUBJECT, ("subject_token_type", JWT_TOKEN_TYPE)]).actor_token,
            None
        );
        assert_eq!(
            ok(&[SUBJECT, AT, ("resource", "https://b")])
                .target
                .as_deref(),
            Some("https://b")
        );
        assert_eq!(
            ok(&[SUBJECT, AT, ("audience", "https://b")])
                .target
                .as_deref(),
            Some("https://b")
        );
        assert_eq!(
            ok(&[
                SUBJECT,
                AT,
                ("resource", "https://b"),
                ("audience", "https://b")
            ])
            .target
            .as_deref(),
            Some("https://b")
        );
        assert_eq!(
            ok(&[
                SUBJECT,
                AT,
                ("actor_token", "a"),
                ("actor_token_type", ACCESS_TOKEN_TYPE)
            ])
            .actor_token
            .as_deref(),
            Some("a")
        );
        assert_eq!(
            ok(&[SUBJECT, AT, ("requested_token_type", ACCESS_TOKEN_TYPE)]).scope,
            None
        );
        let refused: &[(&[(&str, &str)], ErrorCode)] = &[
            (&[AT], InvalidRequest),
            (&[SUBJECT], InvalidRequest),
            (
                &[SUBJECT, ("subject_token_type", ID_TOKEN_TYPE)],
                InvalidRequest,
            ),
            (
                &[SUBJECT, ("subject_token_type", REFRESH_TOKEN_TYPE)],
                InvalidRequest,
            ),
            (
                &[SUBJECT, ("subject_token_type", "access_token")],
                InvalidRequest,
            ),
            (&[SUBJECT, AT, SUBJECT], InvalidRequest),
            (&[SUBJECT, AT, ("actor_token", "a")], InvalidRequest),
            (
                &[SUBJECT, AT, ("actor_token_type", ACCESS_TOKEN_TYPE)],
                InvalidRequest,
            ),
            (
                &[
                    SUBJECT,
                    AT,
                    ("actor_token", "a"),
                    ("actor_token_type", "urn:x"),
                ],
                InvalidRequest,
            ),
            (
                &[SUBJECT, AT, ("requested_token_type", ID_TOKEN_TYPE)],
                InvalidRequest,
            ),
            (
                &[
                    SUBJECT,
                    AT,
                    ("resource", "https://a"),
                    ("resource", "https://b"),
                ],
                InvalidTarget,
            ),
            (
                &[
                    SUBJECT,
                    AT,
                    ("audience", "https://a"),
                    ("audience", "https://b"),
                ],
                InvalidTarget,
            ),
            (
                &[
                    SUBJECT,
                    AT,
                    ("resource", "https://a"),
                    ("audience", "https://b"),
                ],
                InvalidTarget,
            ),
            (&[SUBJECT, AT, ("scope", "bad\"scope")], InvalidScope),
        ];
        for (pairs, code) in refused {
            assert_eq!(parse(pairs).err(), Some(*code), "{pairs:?}");
        }
    }

    fn token(client_id: &str, sub: &str, scope: &str) -> Presented {
        Presented {
            claims: AccessTokenClaims {
                iss: "https://id.example.com".into(),
                sub: sub.into(),
                aud: "https://api.example".into(),
                exp: NOW.0 + 300,
                iat: NOW.0 - 300,
                jti: format!("jti-{client_id}-{sub}"),
                client_id: client_id.into(),
                scope: scope.into(),
                auth_time: Some(NOW.0 - 400),
                act: None,
                may_act: None,
                cnf: None,
            },
            grant_id: Some("grant-1".into()),
        }
    }

    /// A confidential client allowed `api:read api:write openid` toward its default audience
    /// and `https://other.example`.
    fn service(id: &str) -> RegisteredClient {
        let mut service = client(id, Some("secret"));
        service.metadata.scope = ScopeSet::parse("openid api:read api:write").unwrap();
        service.metadata.allowed_resources = vec!["https://other.example".into()];
        service
    }

    fn request(target: Option<&str>, scope: Option<&str>) -> Request {
        Request {
            subject_token: "t".into(),
            actor_token: None,
            target: target.map(str::to_owned),
            scope: scope.map(|scope| ScopeSet::parse(scope).unwrap()),
        }
    }

    fn delegation(issue: &Issue) -> &Delegation {
        match &issue.subject {
            TokenSubject::Delegated(delegation) => delegation,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_client_narrows_its_own_users_token_for_another_resource() {
        let web = service("web");
        let subject = token("web", "user-1", "openid api:read api:write offline_access");
        let issue = exchange(
            &web,
            &sample_registry(),
            &request(Some("https://other.example"), Some("api:read")),
            &subject,
            None,
            NOW,
        )
        .unwrap();
        assert_eq!(issue.target.audience, "https://other.example");
        assert_eq!(issue.target.scope.to_string(), "api:read");
        let delegation = delegation(&issue);
        assert_eq!(delegation.subject, "user-1");
        assert_eq!(
            delegation.grant_id.as_deref(),
            Some("grant-1"),
            "revoked with the grant"
        );
        assert_eq!(
            delegation.not_after,
            UnixTime(NOW.0 + 300),
            "ends no later than the subject token"
        );
        assert_eq!(delegation.auth_time, Some(UnixTime(NOW.0 - 400)));
        assert_eq!(delegation.act, None, "no actor: no act claim");
        // Default scope: what the token and the client share, never offline_access.
        let issue = exchange(
            &web,
            &sample_registry(),
            &request(None, None),
            &subject,
            None,
            NOW,
        )
        .unwrap();
        assert_eq!(issue.target.scope.to_string(), "api:read api:write openid");
    }

    /// A name, the client, its request, the subject and actor tokens, the expected error.
    type RefusalCase<'a> = (
        &'a str,
        &'a RegisteredClient,
        Request,
        Presented,
        Option<Presented>,
        ErrorCode,
    );

    #[test]
    fn refusals_table() {
        use ErrorCode::{InvalidRequest, InvalidScope, InvalidTarget, UnauthorizedClient};
        let web = service("web");
        let mut public = service("spa");
        public.metadata.token_endpoint_auth_method =
            crate::protocol::client::TokenEndpointAuthMethod::None;
        let mut expired = token("web", "user-1", "api:read");
        expired.claims.exp = NOW.0;
        let mut named_other = token("web", "user-1", "api:read");
        named_other.claims.may_act = Some(Actor {
            sub: "agent-7".into(),
            client_id: None,
            act: None,
        });
        let cases: Vec<RefusalCase<'_>> = vec![
            (
                "public client",
                &public,
                request(None, None),
                token("spa", "user-1", "api:read"),
                None,
                UnauthorizedClient,
            ),
            (
                "expired subject",
                &web,
                request(None, None),
                expired.clone(),
                None,
                InvalidRequest,
            ),
            (
                "another client's token",
                &web,
                request(None, None),
                token("mallory", "user-1", "api:read"),
                None,
                InvalidRequest,
            ),
            (
                "widening the scope",
                &web,
                request(None, Some("api:write")),
                token("web", "user-1", "api:read"),
                None,
                InvalidScope,
            ),
            (
                "a scope the client may not have",
                &web,
                request(None, Some("email")),
                token("web", "user-1", "email api:read"),
                None,
                InvalidScope,
            ),
            (
                "nothing in common",
                &web,
                request(None, None),
                token("web", "user-1", "email"),
                None,
                InvalidScope,
            ),
            (
                "a resource the client may not target",
                &web,
                request(Some("https://evil.example"), None),
                token("web", "user-1", "api:read"),
                None,
                InvalidTarget,
            ),
            (
                "an actor token of another client",
                &web,
                request(None, None),
                token("web", "user-1", "api:read"),
                Some(token("mallory", "agent", "api:read")),
                InvalidRequest,
            ),
            (
                "an expired actor token",
                &web,
                request(None, None),
                token("web", "user-1", "api:read"),
                Some(expired),
                InvalidRequest,
            ),
            (
                "may_act names another actor",
                &web,
                request(None, None),
                named_other,
                Some(token("web", "agent-8", "api:read")),
                InvalidRequest,
            ),
        ];
        for (name, client, request, subject, actor, code) in cases {
            let refused = exchange(
                client,
                &sample_registry(),
                &request,
                &subject,
                actor.as_ref(),
                NOW,
            );
            match refused {
                Err(GrantError::Refused(error)) => assert_eq!(error.code, code, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn actors_nest_and_may_act_is_honoured() {
        let web = service("web");
        let mut subject = token("web", "user-1", "api:read");
        subject.claims.act = Some(Actor {
            sub: "earlier-agent".into(),
            client_id: Some("web".into()),
            act: None,
        });
        let actor = token("web", "agent-7", "api:read");
        let issue = exchange(
            &web,
            &sample_registry(),
            &request(None, None),
            &subject,
            Some(&actor),
            NOW,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&delegation(&issue).act).unwrap(),
            serde_json::json!({"sub": "agent-7", "client_id": "web", "act": {"sub": "earlier-agent", "client_id": "web"}}),
            "the current actor outside, the earlier one nested (RFC 8693 §4.1)"
        );
        // Without an actor the chain is kept.
        let issue = exchange(
            &web,
            &sample_registry(),
            &request(None, None),
            &subject,
            None,
            NOW,
        )
        .unwrap();
        assert_eq!(
            delegation(&issue).act.as_ref().map(|act| act.sub.as_str()),
            Some("earlier-agent")
        );
        // may_act naming this actor lets it through.
        subject.claims.may_act = Some(Actor {
            sub: "agent-7".into(),
            client_id: Some("web".into()),
            act: None,
        });
        assert!(
            exchange(
                &web,
                &sample_registry(),
                &request(None, None),
                &subject,
                Some(&actor),
                NOW
            )
            .is_ok()
        );
        // may_act naming the client itself, with no actor token.
        subject.claims.may_act = Some(Actor {
            sub: "web".into(),
            client_id: None,
            act: None,
        });
        assert!(
            exchange(
                &web,
                &sample_registry(),
                &request(None, None),
                &subject,
                None,
                NOW
            )
            .is_ok()
        );
    }

    #[test]
    fn a_resource_server_may_exchange_tokens_it_received() {
        let mut api = service("notes-api");
        let subject = token("web", "user-1", "api:read api:write");
        assert!(
            exchange(
                &api,
                &sample_registry(),
                &request(None, None),
                &subject,
                None,
                NOW
            )
            .is_err()
        );
        api.metadata.resource_server = true;
        let issue = exchange(
            &api,
            &sample_registry(),
            &request(Some("https://other.example"), Some("api:read")),
            &subject,
            None,
            NOW,
        )
        .unwrap();
        assert_eq!(
            (
                issue.target.audience.as_str(),
                issue.target.scope.to_string().as_str()
            ),
            ("https://other.example", "api:read")
        );
    }
}
