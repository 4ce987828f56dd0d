//! Claim sets: RFC 9068 access tokens, OIDC Core §2 ID tokens, OIDC Core §5.3 UserInfo.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keys::SigningAlg;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{ClientId, Issuer, Subject, UnixTime};

/// The user attributes the provider can release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserProfile {
    /// Stable opaque id.
    pub subject: Subject,
    /// Login name (`preferred_username`).
    pub username: String,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Whether the address was verified.
    pub email_verified: bool,
}

/// RFC 9068 §2.2 access token claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The user, or the client itself for client_credentials (RFC 9068 §2.2).
    pub sub: String,
    /// The resource server(s) the token is for.
    pub aud: String,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Unique id (used for revocation and replay tracking).
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Granted scope, space-delimited.
    pub scope: String,
    /// When the user authenticated (user tokens only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_time: Option<i64>,
    /// RFC 8693 §4.1: who acts for the subject (token exchange with an actor token); prior
    /// actors nest inside.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub act: Option<Actor>,
    /// RFC 8693 §4.4: who may act for the subject. This provider never issues it, but honours
    /// it when a token carries it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub may_act: Option<Actor>,
    /// RFC 9449 §6.1 / RFC 7800: the key the token is bound to (`{"jkt": …}`); only a
    /// request with a DPoP proof of that key may use it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cnf: Option<Confirmation>,
}

/// RFC 7800 confirmation: the RFC 7638 thumbprint of a DPoP key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// SHA-256 JWK thumbprint, base64url.
    pub jkt: String,
}

/// An RFC 8693 §4.1 actor: the party acting, and (nested) the one that acted before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The actor's subject.
    pub sub: String,
    /// The client the actor's token was issued to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    /// The previous actor in the chain.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub act: Option<Box<Actor>>,
}

/// Everything needed to mint one access token.
#[derive(Clone, Debug)]
pub struct AccessTokenGrant<'a> {
    /// The subject: a user id, or the client id for client_credentials.
    pub subject: &'a str,
    /// The client.
    pub client_id: &'a ClientId,
    /// Granted scope.
    pub scope: &'a ScopeSet,
    /// Audience.
    pub audience: &'a str,
    /// User authentication time, if a user is involved.
    pub auth_time: Option<UnixTime>,
    /// The acting party (token exchange).
    pub act: Option<&'a Actor>,
    /// The DPoP key the token is bound to.
    pub dpop_jkt: Option<&'a str>,
}

/// RFC 9068 §2.2: the claims of an access token.
pub fn access_token_claims(
    grant: &AccessTokenGrant<'_>,
    issuer: &Issuer,
    jti: String,
    now: UnixTime,
    lifetime_secs: u64,
) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: issuer.as_str().to_owned(),
        sub: grant.subject.to_owned(),
        aud: grant.audience.to_owned(),
        exp: now.plus(lifetime_secs).0,
        iat: now.0,
        jti,
        client_id: grant.client_id.as_str().to_owned(),
        scope: grant.scope.to_string(),
        auth_time: grant.auth_time.map(|time| time.0),
        act: grant.act.cloned(),
        may_act: None,
        cnf: grant.dpop_jkt.map(|jkt| Confirmation {
            jkt: jkt.to_owned(),
        }),
    }
}

/// Clock skew tolerated on an access token's `exp` where the provider itself accepts its tokens
/// (UserInfo), as for every verifier in this workspace.
pub const EXPIRY_LEEWAY_SECS: i64 = 30;

/// What the store says of an access token whose signature verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenStanding {
    /// Neither revoked nor orphaned.
    Valid,
    /// On the deny-list (RFC 7009 revocation, or its grant was revoked).
    Revoked,
    /// Its client was deleted (RFC 7592 §2.3 invalidates the client's tokens).
    ClientDeleted,
}

/// OIDC Core §5.3 with RFC 6750 §3.1: may this access token read UserInfo? It must be
/// unexpired (with [`EXPIRY_LEEWAY_SECS`]), valid, and carry `openid` (client_credentials
/// tokens have no user). Returns the token's scope.
pub fn check_userinfo_access(
    claims: &AccessTokenClaims,
    standing: TokenStanding,
    now: UnixTime,
) -> Result<ScopeSet, OAuthError> {
    if claims.exp.saturating_add(EXPIRY_LEEWAY_SECS) < now.0 {
        return Err(OAuthError::invalid_token(
            "the access token is invalid or expired",
        ));
    }
    match standing {
        TokenStanding::Valid => {}
        TokenStanding::Revoked => {
            return Err(OAuthError::invalid_token(
                "the access token has been revoked",
            ));
        }
        TokenStanding::ClientDeleted => {
            return Err(OAuthError::invalid_token(
                "the client of this access token no longer exists",
            ));
        }
    }
    let scope = ScopeSet::parse(&claims.scope).unwrap_or_default();
    if !scope.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the access token lacks the openid scope",
        ));
    }
    Ok(scope)
}

/// OIDC Core §2 ID token claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The user.
    pub sub: String,
    /// The client.
    pub aud: String,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The nonce of the authorization request.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nonce: Option<String>,
    /// OIDC Core §3.1.3.6 access token hash.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub at_hash: Option<String>,
    /// Back-Channel Logout §2.1: the SSO session, which a logout token names.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
    /// OIDC Core §2 / RFC 8176: how the user signed in.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub amr: Option<Vec<String>>,
    /// OIDC Core §2: the assurance level reached ([`ACR_PASSWORD`] or [`ACR_MFA`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub acr: Option<String>,
}

/// `acr` of a sign-in with one factor (a password).
pub const ACR_PASSWORD: &str = "1";
/// `acr` of a sign-in with a second factor (`amr` holds `mfa`); `acr_values=2` asks for it.
pub const ACR_MFA: &str = "2";

/// The `acr` an `amr` reaches: [`ACR_MFA`] with `mfa`, else [`ACR_PASSWORD`]; `None` without
/// a sign-in method (grants from before `amr` was kept).
pub fn acr_of(amr: &[String]) -> Option<&'static str> {
    if amr.is_empty() {
        None
    } else if amr.iter().any(|method| method == "mfa") {
        Some(ACR_MFA)
    } else {
        Some(ACR_PASSWORD)
    }
}

/// Inputs of an ID token.
#[derive(Clone, Debug)]
pub struct IdTokenGrant<'a> {
    /// The user.
    pub subject: &'a Subject,
    /// The client (the audience).
    pub client_id: &'a ClientId,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// The authorization request's nonce (absent on refresh).
    pub nonce: Option<&'a str>,
    /// The SSO session (absent for grants made without one).
    pub sid: Option<&'a str>,
    /// How the user signed in.
    pub amr: &'a [String],
}

/// OIDC Core §3.1.3.6: the ID token claims, with `at_hash` for the access token issued with it.
///
/// Profile and email claims are not copied in: an access token is always issued, so the client
/// reads them from UserInfo (OIDC Core §5.4).
pub fn id_token_claims(
    grant: &IdTokenGrant<'_>,
    issuer: &Issuer,
    access_token: &str,
    alg: SigningAlg,
    now: UnixTime,
    lifetime_secs: u64,
) -> IdTokenClaims {
    IdTokenClaims {
        sid: grant.sid.map(str::to_owned),
        amr: (!grant.amr.is_empty()).then(|| grant.amr.to_vec()),
        acr: acr_of(grant.amr).map(str::to_owned),
        iss: issuer.as_str().to_owned(),
        sub: grant.subject.as_str().to_owned(),
        aud: grant.client_id.as_str().to_owned(),
        exp: now.plus(lifetime_secs).0,
        iat: now.0,
        auth_time: grant.auth_time.0,
        nonce: grant.nonce.map(str::to_owned),
        at_hash: Some(token_hash(access_token, alg)),
    }
}

/// OIDC Core §3.1.3.6: base64url of the left half of the hash of the token's ASCII bytes, with
/// the hash of the JWS algorithm (SHA-256 for RS256/ES256; SHA-512 for Ed25519, as deployed
/// providers do).
pub fn token_hash(token: &str, alg: SigningAlg) -> String {
    match alg {
        SigningAlg::RS256 | SigningAlg::ES256 => {
            let digest = Sha256::digest(token.as_bytes());
            URL_SAFE_NO_PAD.encode(&digest[..16])
        }
        SigningAlg::EdDSA => {
            let digest = Sha512::digest(token.as_bytes());
            URL_SAFE_NO_PAD.encode(&digest[..32])
        }
    }
}

/// OIDC Core §5.3.2 UserInfo response: `sub` always, then the claims of each granted scope
/// (OIDC Core §5.4: `profile` → name, preferred_username; `email` → email, email_verified).
pub fn userinfo_claims(
    user: &UserProfile,
    scope: &ScopeSet,
) -> serde_json::Map<String, serde_json::Value> {
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), user.subject.as_str().into());
    if scope.contains("profile") {
        claims.insert("name".into(), user.name.clone().into());
        claims.insert("preferred_username".into(), user.username.clone().into());
    }
    if scope.contains("email") {
        claims.insert("email".into(), user.email.clone().into());
        claims.insert("email_verified".into(), user.email_verified.into());
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserProfile {
        UserProfile {
            subject: Subject("u-1".into()),
            username: "alice".into(),
            name: "Alice Liddell".into(),
            email: "alice@example.com".into(),
            email_verified: true,
        }
    }

    #[test]
    fn userinfo_releases_claims_by_scope() {
        let cases: &[(&str, &[&str])] = &[
            ("openid", &["sub"]),
            ("openid profile", &["name", "preferred_username", "sub"]),
            ("openid email", &["email", "email_verified", "sub"]),
            (
                "openid profile email",
                &[
                    "email",
                    "email_verified",
                    "name",
                    "preferred_username",
                    "sub",
                ],
            ),
        ];
        for (scope, expected) in cases {
            let claims = userinfo_claims(&alice(), &ScopeSet::parse(scope).unwrap());
            let mut keys: Vec<&str> = claims.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, *expected, "{scope}");
        }
    }

    #[test]
    fn at_hash_vector() {
        // OIDC Core §3.1.3.6 / Appendix A.3 example (RS256: SHA-256, left 128 bits).
        assert_eq!(
            token_hash(
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                SigningAlg::RS256
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(
            token_hash(
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                SigningAlg::ES256
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        // Ed25519: SHA-512, left 256 bits (the value other libraries compute for this token).
        assert_eq!(
            token_hash("dNZX1hEZ9wBCzNL40Upu646bdzQA", SigningAlg::EdDSA),
            "8xltSlOGYrWy8W9yNvRlEth1i_bXW-JROWPLvCv5zog"
        );
    }

    #[test]
    fn rfc9068_claim_set() {
        let issuer = Issuer::parse("https://id.example.com", false).unwrap();
        let client_id = ClientId::parse("demo-web").unwrap();
        let scope = ScopeSet::parse("openid api:read").unwrap();
        let grant = AccessTokenGrant {
            subject: "u-1",
            client_id: &client_id,
            scope: &scope,
            audience: "https://api.example.com",
            auth_time: Some(UnixTime(90)),
            act: None,
            dpop_jkt: None,
        };
        let claims = serde_json::to_value(access_token_claims(
            &grant,
            &issuer,
            "jti-1".into(),
            UnixTime(100),
            600,
        ))
        .unwrap();
        for required in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
            assert!(
                claims.get(required).is_some(),
                "RFC 9068 §2.2 requires {required}"
            );
        }
        assert_eq!(claims["exp"], 700);
        assert_eq!(claims["scope"], "api:read openid");
        assert_eq!(claims["auth_time"], 90);
    }

    #[test]
    fn userinfo_access_table() {
        let claims = |exp: i64, scope: &str| AccessTokenClaims {
            iss: "https://id.example.com".into(),
            sub: "u-1".into(),
            aud: "a".into(),
            exp,
            iat: exp - 600,
            jti: "j".into(),
            client_id: "demo-web".into(),
            scope: scope.into(),
            auth_time: None,
            act: None,
            may_act: None,
            cnf: None,
        };
        let now = UnixTime(1000);
        let check = |exp, scope, standing| {
            check_userinfo_access(&claims(exp, scope), standing, now)
                .map(|scope| scope.to_string())
                .map_err(|error| error.code)
        };
        use TokenStanding::*;
        assert_eq!(
            check(1000, "openid email", Valid),
            Ok("email openid".into())
        );
        assert_eq!(
            check(970, "openid", Valid),
            Ok("openid".into()),
            "inside the leeway"
        );
        assert_eq!(check(969, "openid", Valid), Err(ErrorCode::InvalidToken));
        assert_eq!(check(2000, "openid", Revoked), Err(ErrorCode::InvalidToken));
        assert_eq!(
            check(2000, "openid", ClientDeleted),
            Err(ErrorCode::InvalidToken)
        );
        assert_eq!(
            check(2000, "api:read", Valid),
            Err(ErrorCode::InsufficientScope)
        );
    }
}
