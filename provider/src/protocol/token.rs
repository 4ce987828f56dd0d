//! RFC 6749 §4.1.3 / §6 token requests: parsing the grant and the checks on codes and refresh
//! tokens. Lookups and persistence happen in the HTTP layer; decisions happen here.

use serde::{Deserialize, Serialize};

use crate::protocol::client::RegisteredClient;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::params::Params;
use crate::protocol::pkce::{CodeChallenge, CodeVerifier, verify_pkce};
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{
    AuthorizationCode, ClientId, OpaqueToken, RefreshToken, Subject, UnixTime,
};

/// A parsed token request.
#[derive(Debug)]
pub enum TokenRequest {
    /// RFC 6749 §4.1.3.
    AuthorizationCode {
        /// The code.
        code: AuthorizationCode,
        /// Must equal the authorization request's redirect_uri.
        redirect_uri: String,
        /// RFC 7636 §4.5 verifier.
        code_verifier: CodeVerifier,
    },
    /// RFC 6749 §6.
    RefreshToken {
        /// The presented refresh token.
        refresh_token: RefreshToken,
        /// Optional narrower scope.
        scope: Option<ScopeSet>,
    },
    /// RFC 6749 §4.4.
    ClientCredentials {
        /// Requested scope (default: everything the client may request).
        scope: Option<ScopeSet>,
        /// RFC 8707 resource indicator.
        resource: Option<String>,
    },
    /// RFC 8628 §3.4.
    DeviceCode {
        /// The device code from the device authorization response.
        device_code: OpaqueToken,
    },
}

/// RFC 8628 §3.4 grant type URN.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Grant types the token endpoint understands (others get `unsupported_grant_type`).
pub const SUPPORTED_GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    DEVICE_CODE_GRANT,
];

/// RFC 6749 §4.1.3 / §6: reads the grant-specific parameters.
pub fn parse_token_request(params: &Params) -> Result<TokenRequest, OAuthError> {
    let grant_type = params.required("grant_type", "grant_type is missing")?;
    match grant_type {
        "authorization_code" => Ok(TokenRequest::AuthorizationCode {
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
        }),
        "refresh_token" => Ok(TokenRequest::RefreshToken {
            refresh_token: RefreshToken::new(
                params
                    .required("refresh_token", "refresh_token is missing")?
                    .to_owned(),
            ),
            scope: params.single("scope")?.map(ScopeSet::parse).transpose()?,
        }),
        "client_credentials" => Ok(TokenRequest::ClientCredentials {
            scope: params
                .single("scope")?
                .map(ScopeSet::parse_known)
                .transpose()?,
            resource: params.single("resource")?.map(str::to_owned),
        }),
        DEVICE_CODE_GRANT => Ok(TokenRequest::DeviceCode {
            device_code: OpaqueToken::new(
                params
                    .required("device_code", "device_code is missing")?
                    .to_owned(),
            ),
        }),
        "password" | "implicit" => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "this grant type was removed by OAuth 2.1 and is not supported",
        )),
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "grant_type is not supported by this provider",
        )),
    }
}

/// RFC 6749 §5.2 `unauthorized_client` when the client is not registered for the grant.
pub fn check_grant_allowed(client: &RegisteredClient, grant_type: &str) -> Result<(), OAuthError> {
    if client.allows_grant(grant_type) {
        Ok(())
    } else {
        Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is not registered for this grant type",
        ))
    }
}

/// What an authorization code stands for, stored (hashed) until it is redeemed.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    /// Access-token audience.
    pub audience: String,
    /// Identifies the grant: the refresh-token family and everything revoked on code replay.
    pub grant_id: String,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// RFC 6749 §4.1.3 + RFC 7636 §4.6: checks a freshly consumed code against the token request.
pub fn check_code_redemption(
    code: &IssuedCode,
    client: &RegisteredClient,
    redirect_uri: &str,
    code_verifier: &CodeVerifier,
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
    if code.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the one in the authorization request",
        ));
    }
    verify_pkce(&code.code_challenge, code_verifier)
}

/// The grant behind a refresh token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefreshGrant {
    /// The client.
    pub client_id: ClientId,
    /// The user.
    pub subject: Subject,
    /// The scope originally granted (RFC 6749 §6: a rotated token keeps it).
    pub scope: ScopeSet,
    /// Access-token audience.
    pub audience: String,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// The family (grant) id.
    pub grant_id: String,
}

/// A refresh token's state as the store reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshState {
    /// Never used, not revoked.
    Live,
    /// Already exchanged for a newer token. `within_grace`: rotated less than the configured
    /// grace window ago and the grace reuse not spent yet.
    Rotated {
        /// Whether one more use is tolerated.
        within_grace: bool,
    },
    /// Revoked (family revocation or explicit).
    Revoked,
}

impl RefreshState {
    /// A stored token's state. A rotated token is still usable once within `grace_secs` of its
    /// rotation (0 = never), for concurrent refreshes of one client; that one use is spent once
    /// `grace_used` is set.
    pub fn of(
        revoked: bool,
        rotated_at: Option<UnixTime>,
        grace_used: bool,
        grace_secs: u64,
        now: UnixTime,
    ) -> Self {
        match (revoked, rotated_at) {
            (true, _) => RefreshState::Revoked,
            (false, None) => RefreshState::Live,
            (false, Some(rotated_at)) => RefreshState::Rotated {
                within_grace: !grace_used
                    && grace_secs > 0
                    && now.0.saturating_sub(rotated_at.0)
                        <= i64::try_from(grace_secs).unwrap_or(i64::MAX),
            },
        }
    }
}

/// What to do with a presented refresh token.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Rotate it and issue tokens with this (possibly narrowed) scope.
    Rotate(ScopeSet),
    /// Reuse of a rotated token: revoke the whole family, answer `invalid_grant`.
    RevokeFamily,
}

/// RFC 6749 §6 + OAuth 2.1 §4.3.1 + RFC 9700 §4.14.2: checks a refresh request.
pub fn check_refresh(
    grant: &RefreshGrant,
    state: RefreshState,
    expires_at: UnixTime,
    client: &RegisteredClient,
    requested_scope: Option<&ScopeSet>,
    now: UnixTime,
) -> Result<RefreshDecision, OAuthError> {
    if grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    match state {
        RefreshState::Rotated { within_grace: true } => {
            // The grace window (off by default) absorbs concurrent refreshes by one client.
        }
        RefreshState::Rotated {
            within_grace: false,
        } => return Ok(RefreshDecision::RevokeFamily),
        RefreshState::Revoked => {
            return Err(OAuthError::invalid_grant(
                "the refresh token has been revoked",
            ));
        }
        RefreshState::Live => {}
    }
    if now >= expires_at {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    let scope = match requested_scope {
        None => grant.scope.clone(),
        Some(requested) if requested.is_subset_of(&grant.scope) && !requested.is_empty() => {
            requested.clone()
        }
        Some(_) => {
            return Err(OAuthError::invalid_scope(
                "a refresh may only narrow the originally granted scope",
            ));
        }
    };
    Ok(RefreshDecision::Rotate(scope))
}

/// RFC 6749 §4.4: confidential clients only; the scope is what was asked (default: all the
/// client may request), never `openid` (there is no user) and never beyond the client's scope.
pub fn check_client_credentials(
    client: &RegisteredClient,
    requested: Option<&ScopeSet>,
) -> Result<ScopeSet, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "client_credentials is for confidential clients only",
        ));
    }
    let allowed = client.allowed_scope();
    let scope = match requested {
        Some(requested) if !requested.is_empty() => requested.clone(),
        _ => allowed.clone(),
    };
    if scope.contains("openid") || scope.contains("offline_access") {
        return Err(OAuthError::invalid_scope(
            "openid and offline_access need a user; client_credentials has none",
        ));
    }
    if !scope.is_subset_of(&allowed) {
        return Err(OAuthError::invalid_scope(
            "scope includes a scope this client may not request",
        ));
    }
    Ok(scope)
}

/// OIDC Core §11: a refresh token is issued only when `offline_access` was granted and the
/// client is registered for the refresh_token grant.
pub fn should_issue_refresh_token(client: &RegisteredClient, scope: &ScopeSet) -> bool {
    scope.contains("offline_access") && client.allows_grant("refresh_token")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::tests::client;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn code() -> IssuedCode {
        IssuedCode {
            client_id: ClientId::parse("demo-web").unwrap(),
            redirect_uri: "https://app.example.com/callback".into(),
            scope: ScopeSet::parse("openid").unwrap(),
            nonce: None,
            code_challenge: CodeChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap(),
            subject: Subject("u-1".into()),
            auth_time: UnixTime(0),
            audience: "aud".into(),
            grant_id: "g".into(),
            expires_at: UnixTime(600),
        }
    }

    #[test]
    fn code_redemption_table() {
        let web = client("demo-web", Some("s"));
        let other = client("other", Some("s"));
        let right = || CodeVerifier::parse(VERIFIER).unwrap();
        let wrong = || CodeVerifier::parse(&"b".repeat(43)).unwrap();
        let cb = "https://app.example.com/callback";
        let cases: Vec<(&RegisteredClient, &str, CodeVerifier, i64, bool)> = vec![
            (&web, cb, right(), 100, true),
            (&other, cb, right(), 100, false),
            (&web, "https://app.example.com/other", right(), 100, false),
            (&web, cb, wrong(), 100, false),
            (&web, cb, right(), 600, false),
        ];
        for (index, (client, redirect, verifier, now, ok)) in cases.into_iter().enumerate() {
            let result = check_code_redemption(&code(), client, redirect, &verifier, UnixTime(now));
            assert_eq!(result.is_ok(), ok, "case {index}");
            if let Err(err) = result {
                assert_eq!(err.code, ErrorCode::InvalidGrant);
            }
        }
    }

    #[test]
    fn token_request_parsing() {
        let parse = |pairs: &[(&str, &str)]| {
            parse_token_request(&Params::from_pairs(pairs.iter().copied())).map_err(|e| e.code)
        };
        assert!(matches!(
            parse(&[("grant_type", "refresh_token"), ("refresh_token", "x")]),
            Ok(TokenRequest::RefreshToken { .. })
        ));
        assert!(matches!(
            parse(&[
                ("grant_type", "authorization_code"),
                ("code", "c"),
                ("redirect_uri", "r"),
                ("code_verifier", VERIFIER)
            ]),
            Ok(TokenRequest::AuthorizationCode { .. })
        ));
        assert_eq!(
            parse(&[
                ("grant_type", "authorization_code"),
                ("code", "c"),
                ("redirect_uri", "r")
            ])
            .unwrap_err(),
            ErrorCode::InvalidRequest
        );
        assert_eq!(parse(&[]).unwrap_err(), ErrorCode::InvalidRequest);
        assert_eq!(
            parse(&[("grant_type", "password")]).unwrap_err(),
            ErrorCode::UnsupportedGrantType
        );
        assert_eq!(
            parse(&[("grant_type", "urn:x")]).unwrap_err(),
            ErrorCode::UnsupportedGrantType
        );
        assert_eq!(
            parse(&[
                ("grant_type", "refresh_token"),
                ("grant_type", "refresh_token")
            ])
            .unwrap_err(),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn client_credentials_table() {
        let mut service = client("demo-service", Some("s"));
        service.metadata.scope = "api:read api:write".into();
        let public = client("demo-cli", None);
        let scope = |raw: &str| ScopeSet::parse(raw).unwrap();
        let check = |client, requested: Option<&str>| {
            check_client_credentials(client, requested.map(scope).as_ref())
                .map(|s| s.to_string())
                .map_err(|e| e.code)
        };
        assert_eq!(check(&service, Some("api:read")), Ok("api:read".into()));
        assert_eq!(check(&service, None), Ok("api:read api:write".into()));
        assert_eq!(
            check(&service, Some("openid")),
            Err(ErrorCode::InvalidScope)
        );
        assert_eq!(
            check(&service, Some("api:read profile")),
            Err(ErrorCode::InvalidScope)
        );
        assert_eq!(
            check(&public, Some("api:read")),
            Err(ErrorCode::UnauthorizedClient)
        );
    }

    #[test]
    fn refresh_state_and_grace_window() {
        use RefreshState::*;
        let t = UnixTime(1000);
        let cases = [
            ((false, None, false, 0, 1000), Live),
            ((true, Some(t), false, 30, 1000), Revoked),
            (
                (false, Some(t), false, 0, 1000),
                Rotated {
                    within_grace: false,
                },
            ),
            (
                (false, Some(t), false, 30, 1030),
                Rotated { within_grace: true },
            ),
            (
                (false, Some(t), false, 30, 1031),
                Rotated {
                    within_grace: false,
                },
            ),
            (
                (false, Some(t), true, 30, 1001),
                Rotated {
                    within_grace: false,
                },
            ),
        ];
        for ((revoked, rotated_at, grace_used, grace, now), expected) in cases {
            assert_eq!(
                RefreshState::of(revoked, rotated_at, grace_used, grace, UnixTime(now)),
                expected
            );
        }
    }

    #[test]
    fn refresh_table() {
        let web = client("demo-web", Some("s"));
        let other = client("other", Some("s"));
        let grant = RefreshGrant {
            client_id: web.client_id.clone(),
            subject: Subject("u".into()),
            scope: ScopeSet::parse("openid offline_access api:read").unwrap(),
            audience: "a".into(),
            auth_time: UnixTime(0),
            grant_id: "g".into(),
        };
        let narrow = ScopeSet::parse("openid").unwrap();
        let wider = ScopeSet::parse("openid api:write").unwrap();
        use RefreshState::*;
        let check = |state, client, scope, now| {
            check_refresh(&grant, state, UnixTime(1000), client, scope, UnixTime(now))
                .map_err(|e| e.code)
        };
        assert_eq!(
            check(Live, &web, None, 10),
            Ok(RefreshDecision::Rotate(grant.scope.clone()))
        );
        assert_eq!(
            check(Live, &web, Some(&narrow), 10),
            Ok(RefreshDecision::Rotate(narrow.clone()))
        );
        assert_eq!(
            check(Live, &web, Some(&wider), 10),
            Err(ErrorCode::InvalidScope)
        );
        assert_eq!(
            check(
                Rotated {
                    within_grace: false
                },
                &web,
                None,
                10
            ),
            Ok(RefreshDecision::RevokeFamily)
        );
        assert_eq!(
            check(Rotated { within_grace: true }, &web, None, 10),
            Ok(RefreshDecision::Rotate(grant.scope.clone()))
        );
        assert_eq!(check(Revoked, &web, None, 10), Err(ErrorCode::InvalidGrant));
        assert_eq!(check(Live, &web, None, 1000), Err(ErrorCode::InvalidGrant));
        assert_eq!(check(Live, &other, None, 10), Err(ErrorCode::InvalidGrant));
    }
}
