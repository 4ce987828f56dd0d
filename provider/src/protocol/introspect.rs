//! RFC 7662 token introspection responses.

use serde::Serialize;

use crate::protocol::claims::{AccessTokenClaims, Actor, Confirmation, TokenStanding};
use crate::protocol::client::RegisteredClient;
use crate::protocol::grants::refresh_token::RefreshTokenRecord;
use crate::protocol::resource::Registry;
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
    /// RFC 8693 §4.1: the actor chain of an exchanged token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    /// RFC 9449 §6.2: the DPoP key a bound token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

impl Introspection {
    /// `{"active": false}`.
    pub fn inactive() -> Self {
        Introspection::default()
    }
}

/// RFC 7662 §2.1: may `caller` learn about a token issued to `token_client_id`? Its own tokens
/// always; others' only when it is registered as a resource server (any token; see also
/// [`is_reportable_access_token`] for a resource's own introspection client).
pub fn may_introspect(caller: &RegisteredClient, token_client_id: &str) -> bool {
    caller.client_id.as_str() == token_client_id || caller.metadata.resource_server
}

/// Whether an access token verified by signature is worth looking up at all: unexpired and
/// one the caller may learn about (its own, any for a resource-server client, or one for the
/// resource whose introspection client the caller is). Otherwise the answer is
/// `{"active": false}` without any store access.
pub fn is_reportable_access_token(
    caller: &RegisteredClient,
    claims: &AccessTokenClaims,
    registry: &Registry,
    now: UnixTime,
) -> bool {
    claims.exp > now.0
        && (may_introspect(caller, &claims.client_id)
            || registry.may_introspect(caller.client_id.as_str(), &claims.aud))
}

/// RFC 7662 §2.2: the answer for a reportable access token, given what the store says of it.
/// A revoked token, or one whose client was deleted (RFC 7592 §2.3), is inactive.
pub fn access_token_introspection(
    claims: AccessTokenClaims,
    standing: TokenStanding,
) -> Introspection {
    if standing != TokenStanding::Valid {
        return Introspection::inactive();
    }
    Introspection {
        active: true,
        scope: Some(claims.scope),
        client_id: Some(claims.client_id),
        sub: Some(claims.sub),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        iss: Some(claims.iss),
        aud: Some(claims.aud),
        token_type: Some(
            if claims.cnf.is_some() {
                "DPoP"
            } else {
                "Bearer"
            }
            .into(),
        ),
        jti: Some(claims.jti),
        act: claims.act,
        cnf: claims.cnf,
    }
}

/// RFC 7662 §2.2: the answer for a stored refresh token: active while live (neither rotated nor
/// revoked) and unexpired, and only for its own client (or a resource server).
pub fn refresh_token_introspection(
    caller: &RegisteredClient,
    record: RefreshTokenRecord,
    issuer: &Issuer,
    now: UnixTime,
) -> Introspection {
    if !record.is_active(now) || !may_introspect(caller, record.grant.client_id.as_str()) {
        return Introspection::inactive();
    }
    let grant = record.grant;
    Introspection {
        active: true,
        scope: Some(grant.scope.to_string()),
        client_id: Some(grant.client_id.as_str().to_owned()),
        sub: Some(grant.subject.as_str().to_owned()),
        exp: Some(record.expires_at.0),
        iat: Some(record.issued_at.0),
        iss: Some(issuer.as_str().to_owned()),
        aud: None,
        token_type: Some("refresh_token".into()),
        jti: None,
        act: None,
        cnf: grant.dpop_jkt.map(|jkt| Confirmation { jkt }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::tests::client;
    use crate::protocol::resource::tests::sample_registry;

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

    fn claims(client_id: &str, exp: i64) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://id.example.com".into(),
            sub: "u-1".into(),
            aud: "https://api.example".into(),
            exp,
            iat: exp - 600,
            jti: "jti-1".into(),
            client_id: client_id.into(),
            scope: "openid".into(),
            auth_time: None,
            act: None,
            may_act: None,
            cnf: None,
        }
    }

    #[test]
    fn access_tokens_are_active_only_while_valid_unexpired_and_visible() {
        let web = client("demo-web", Some("s"));
        let now = UnixTime(1000);
        let mut registry_records: Vec<_> = sample_registry().iter().cloned().collect();
        registry_records[0].introspection_client = Some("notes-api".into());
        let audience = registry_records[0].identifier.clone();
        let registry = Registry::new("https://issuer.example", registry_records);
        assert!(is_reportable_access_token(
            &web,
            &claims("demo-web", 1001),
            &registry,
            now
        ));
        assert!(
            !is_reportable_access_token(&web, &claims("demo-web", 1000), &registry, now),
            "expired"
        );
        assert!(
            !is_reportable_access_token(&web, &claims("demo-cli", 1001), &registry, now),
            "foreign"
        );
        let api = client("notes-api", Some("s"));
        let mut for_the_api = claims("demo-cli", 1001);
        for_the_api.aud = audience;
        assert!(
            is_reportable_access_token(&api, &for_the_api, &registry, now),
            "the resource's own introspection client sees tokens for it"
        );
        assert!(
            !is_reportable_access_token(&api, &claims("demo-cli", 1001), &registry, now),
            "but not tokens for another resource"
        );
        let cases = [
            (TokenStanding::Valid, true),
            (TokenStanding::Revoked, false),
            (TokenStanding::ClientDeleted, false),
        ];
        for (standing, active) in cases {
            let answer = access_token_introspection(claims("demo-web", 1001), standing);
            assert_eq!(answer.active, active, "{standing:?}");
            assert_eq!(
                answer.jti.is_some(),
                active,
                "inactive answers carry nothing else"
            );
        }
    }

    #[test]
    fn refresh_tokens_are_active_only_while_live() {
        use crate::protocol::grants::refresh_token::RefreshGrant;
        use crate::protocol::scope::ScopeSet;
        use crate::protocol::types::{SecretDigest, Subject};
        let web = client("demo-web", Some("s"));
        let issuer = Issuer::parse("https://id.example.com", false).unwrap();
        let record = |rotated: bool, revoked: bool| RefreshTokenRecord {
            digest: SecretDigest::of("r"),
            grant: RefreshGrant {
                amr: Vec::new(),
                client_id: web.client_id.clone(),
                subject: Subject("u-1".into()),
                scope: ScopeSet::parse("openid offline_access").unwrap(),
                resources: crate::protocol::resource::Resources::one("urn:a"),
                auth_time: UnixTime(0),
                sid: None,
                grant_id: "g".into(),
                dpop_jkt: None,
            },
            issued_at: UnixTime(0),
            expires_at: UnixTime(100),
            rotated_at: rotated.then_some(UnixTime(5)),
            revoked,
            grace_used: false,
        };
        let active = |record, caller: &RegisteredClient, now| {
            refresh_token_introspection(caller, record, &issuer, UnixTime(now)).active
        };
        assert!(active(record(false, false), &web, 10));
        assert!(!active(record(true, false), &web, 10), "rotated");
        assert!(!active(record(false, true), &web, 10), "revoked");
        assert!(!active(record(false, false), &web, 100), "expired");
        assert!(
            !active(record(false, false), &client("other", Some("s")), 10),
            "foreign"
        );
        let answer = refresh_token_introspection(&web, record(false, false), &issuer, UnixTime(10));
        assert_eq!(answer.token_type.as_deref(), Some("refresh_token"));
    }
}
