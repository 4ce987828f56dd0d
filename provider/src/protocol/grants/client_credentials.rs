//! RFC 6749 §4.4: a confidential client acting on its own behalf. No user: `sub` is the
//! client (RFC 9068 §2.2), and there is no ID token and no refresh token.

use crate::protocol::client::RegisteredClient;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::grants::{GrantError, Issue, TokenSubject};
use crate::protocol::params::Params;
use crate::protocol::resource::{Registry, token_resource};
use crate::protocol::scope::ScopeSet;

/// The grant's parameters.
#[derive(Debug)]
pub struct Request {
    /// Requested scope (default: everything the client may request).
    pub scope: Option<ScopeSet>,
    /// RFC 8707 resource indicator.
    pub resource: Option<String>,
}

impl Request {
    /// RFC 6749 §4.4.2: `scope` (known scopes only) and RFC 8707 `resource`, both optional.
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        Ok(Request {
            scope: params.single("scope")?.map(ScopeSet::parse).transpose()?,
            resource: token_resource(params)?,
        })
    }
}

/// RFC 6749 §4.4: confidential clients only; the scope is what was asked (default: all the
/// client may request), never `openid` or `offline_access` (there is no user) and never beyond
/// the client's scope; the audience follows RFC 8707.
pub fn exchange(
    client: &RegisteredClient,
    registry: &Registry,
    request: &Request,
) -> Result<Issue, GrantError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "client_credentials is for confidential clients only",
        )
        .into());
    }
    let allowed = client.allowed_scope();
    let scope = match &request.scope {
        Some(requested) if !requested.is_empty() => requested.clone(),
        _ => allowed.clone(),
    };
    if scope.contains("openid") || scope.contains("offline_access") {
        return Err(OAuthError::invalid_scope(
            "openid and offline_access need a user; client_credentials has none",
        )
        .into());
    }
    if !scope.is_subset_of(allowed) {
        return Err(OAuthError::invalid_scope(
            "scope includes a scope this client may not request",
        )
        .into());
    }
    let target = registry.client_target(client, request.resource.as_deref(), &scope)?;
    if target.scope.is_empty() && !scope.is_empty() {
        return Err(OAuthError::invalid_scope(
            "the resource accepts none of the requested scopes (RFC 8707 §2.2)",
        )
        .into());
    }
    Ok(Issue {
        target,
        dpop_jkt: None,
        subject: TokenSubject::Client,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::tests::client;
    use crate::protocol::resource::tests::sample_registry;

    fn check(
        client: &RegisteredClient,
        scope: Option<&str>,
        resource: Option<&str>,
    ) -> Result<(String, String), ErrorCode> {
        let request = Request {
            scope: scope.map(|scope| ScopeSet::parse(scope).unwrap()),
            resource: resource.map(str::to_owned),
        };
        match exchange(client, &sample_registry(), &request) {
            Ok(issue) => {
                assert_eq!(
                    issue.subject,
                    TokenSubject::Client,
                    "no user, no grant to revoke"
                );
                Ok((issue.target.scope.to_string(), issue.target.audience))
            }
            Err(GrantError::Refused(error)) => Err(error.code),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn table() {
        let mut service = client("demo-service", Some("s"));
        service.metadata.scope = ScopeSet::parse("api:read api:write").unwrap();
        let public = client("demo-cli", None);
        let default = "http://127.0.0.1:8081".to_owned();
        type Case<'a> = (
            &'a RegisteredClient,
            Option<&'a str>,
            Option<&'a str>,
            Result<(String, String), ErrorCode>,
        );
        let cases: &[Case] = &[
            (
                &service,
                Some("api:read"),
                None,
                Ok(("api:read".into(), default.clone())),
            ),
            (
                &service,
                None,
                None,
                Ok(("api:read api:write".into(), default.clone())),
            ),
            (
                &service,
                None,
                Some("https://api.example.com"),
                Ok((
                    "api:read api:write".into(),
                    "https://api.example.com".into(),
                )),
            ),
            (
                &service,
                None,
                Some("https://other.example"),
                Err(ErrorCode::InvalidTarget),
            ),
            (&service, Some("openid"), None, Err(ErrorCode::InvalidScope)),
            (
                &service,
                Some("offline_access"),
                None,
                Err(ErrorCode::InvalidScope),
            ),
            (
                &service,
                Some("api:read profile"),
                None,
                Err(ErrorCode::InvalidScope),
            ),
            (
                &public,
                Some("api:read"),
                None,
                Err(ErrorCode::UnauthorizedClient),
            ),
        ];
        for (index, (client, scope, resource, expected)) in cases.iter().enumerate() {
            assert_eq!(&check(client, *scope, *resource), expected, "case {index}");
        }
    }

    #[test]
    fn parsing_refuses_malformed_scopes_and_several_resources() {
        assert!(Request::parse(&Params::from_pairs([("scope", "api:read")])).is_ok());
        let malformed = Request::parse(&Params::from_pairs([("scope", "a\"b")])).unwrap_err();
        assert_eq!(malformed.code, ErrorCode::InvalidScope);
        let repeated = Request::parse(&Params::from_pairs([
            ("resource", "urn:a"),
            ("resource", "urn:b"),
        ]))
        .unwrap_err();
        assert_eq!(
            repeated.code,
            ErrorCode::InvalidTarget,
            "one audience per token"
        );
        let relative = Request::parse(&Params::from_pairs([("resource", "a")])).unwrap_err();
        assert_eq!(relative.code, ErrorCode::InvalidTarget);
    }

    #[test]
    fn an_unknown_scope_is_refused_when_deciding() {
        let mut service = client("demo-service", Some("s"));
        service.metadata.scope = ScopeSet::parse("api:read").unwrap();
        assert_eq!(
            check(&service, Some("admin"), None),
            Err(ErrorCode::InvalidScope)
        );
    }
}
