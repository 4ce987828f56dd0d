//! RFC 7662 token introspection responses.

use serde::Serialize;

use crate::protocol::claims::AccessTokenClaims;
use crate::protocol::client::RegisteredClient;
use crate::protocol::token::RefreshGrant;
use crate::protocol::types::{Issuer, UnixTime};

/// RFC 7662 §2.2 response. Inactive tokens carry `active: false` and nothing else.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Introspection {
    /// Whether the token is active.
    pub active: bool,
    /// Scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Token id (access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

impl Introspection {
    /// `{"active": false}`.
    pub fn inactive() -> Self {
        Introspection::default()
    }
}

/// RFC 7662 §2.1: may `caller` learn about a token issued to `token_client_id`? Its own tokens
/// always; others' only when it is registered as a resource server.
pub fn may_introspect(caller: &RegisteredClient, token_client_id: &str) -> bool {
    caller.client_id.as_str() == token_client_id || caller.metadata.resource_server
}

/// The response for a verified, unrevoked access token.
pub fn access_token_introspection(claims: AccessTokenClaims) -> Introspection {
    Introspection {
        active: true,
        scope: Some(claims.scope),
        client_id: Some(claims.client_id),
        sub: Some(claims.sub),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        iss: Some(claims.iss),
        aud: Some(claims.aud),
        token_type: Some("Bearer".into()),
        jti: Some(claims.jti),
    }
}

/// The response for a live refresh token.
pub fn refresh_token_introspection(
    grant: RefreshGrant,
    issued_at: UnixTime,
    expires_at: UnixTime,
    issuer: &Issuer,
) -> Introspection {
    Introspection {
        active: true,
        scope: Some(grant.scope.to_string()),
        client_id: Some(grant.client_id.as_str().to_owned()),
        sub: Some(grant.subject.as_str().to_owned()),
        exp: Some(expires_at.0),
        iat: Some(issued_at.0),
        iss: Some(issuer.as_str().to_owned()),
        aud: None,
        token_type: Some("refresh_token".into()),
        jti: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::tests::client;

    #[test]
    fn inactive_has_only_active_false() {
        assert_eq!(
            serde_json::to_string(&Introspection::inactive()).unwrap(),
            r#"{"active":false}"#
        );
    }

    #[test]
    fn only_own_tokens_unless_resource_server() {
        let web = client("demo-web", Some("s"));
        let mut api = client("api", Some("s"));
        assert!(may_introspect(&web, "demo-web"));
        assert!(!may_introspect(&web, "demo-cli"));
        assert!(!may_introspect(&api, "demo-web"));
        api.metadata.resource_server = true;
        assert!(may_introspect(&api, "demo-web"));
    }
}
