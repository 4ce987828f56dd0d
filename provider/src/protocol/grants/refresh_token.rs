//! RFC 6749 §6 with OAuth 2.1 §4.3.1 and RFC 9700 §4.14.2: refresh tokens rotate at every use,
//! and a rotated-out token coming back revokes its whole family.

use serde::{Deserialize, Serialize};

use crate::protocol::authorize::Authentication;
use crate::protocol::client::RegisteredClient;
use crate::protocol::error::OAuthError;
use crate::protocol::grants::{
    GrantError, GrantId, Issue, RefreshPlan, Replay, ReplayKind, TokenSubject, UserGrant,
};
use crate::protocol::params::Params;
use crate::protocol::resource::{Registry, Resources, token_resource};
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{ClientId, RefreshToken, SecretDigest, Subject, UnixTime};

/// The grant's parameters.
#[derive(Debug)]
pub struct Request {
    /// The presented refresh token.
    pub refresh_token: RefreshToken,
    /// Optional narrower scope (RFC 6749 §6).
    pub scope: Option<ScopeSet>,
    /// RFC 8707 §2.2: which of the grant's resources this token is for.
    pub resource: Option<String>,
    /// RFC 9449: the thumbprint of the key of the request's DPoP proof (set by the caller).
    pub dpop_jkt: Option<String>,
}

impl Request {
    /// RFC 6749 §6: `refresh_token` is required, `scope` optional.
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        Ok(Request {
            refresh_token: RefreshToken::new(
                params
                    .required("refresh_token", "refresh_token is missing")?
                    .to_owned(),
            ),
            scope: params.single("scope")?.map(ScopeSet::parse).transpose()?,
            resource: token_resource(params)?,
            dpop_jkt: None,
        })
    }
}

/// The grant behind a refresh token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshGrant {
    /// The client.
    pub client_id: ClientId,
    /// The user.
    pub subject: Subject,
    /// The scope originally granted (RFC 6749 §6: a rotated token keeps it).
    pub scope: ScopeSet,
    /// The resources granted (RFC 8707); stored as `audience`, its name before the registry.
    #[serde(rename = "audience")]
    pub resources: Resources,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// Back-Channel Logout §2.1: the SSO session of the sign-in (refreshed ID tokens repeat it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// How the user signed in (refreshed ID tokens repeat `amr` and `acr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The family (grant) id.
    pub grant_id: String,
    /// RFC 9449 §5: a public client's refresh token is bound to the DPoP key it was issued
    /// with; only a proof of that key may use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
}

/// A refresh token as stored (the token itself only as its digest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// Digest of the token.
    pub digest: SecretDigest,
    /// The grant behind it.
    pub grant: RefreshGrant,
    /// Issue time.
    pub issued_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
    /// When it was exchanged for a newer token.
    pub rotated_at: Option<UnixTime>,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Whether its one grace-window reuse was spent.
    pub grace_used: bool,
}

impl RefreshTokenRecord {
    /// A new, live token of `grant`.
    pub fn new(
        digest: SecretDigest,
        grant: RefreshGrant,
        issued_at: UnixTime,
        lifetime_secs: u64,
    ) -> Self {
        RefreshTokenRecord {
            digest,
            grant,
            issued_at,
            expires_at: issued_at.plus(lifetime_secs),
            rotated_at: None,
            revoked: false,
            grace_used: false,
        }
    }

    /// The token's state, given the configured grace window (0 = off).
    pub fn state(&self, grace_secs: u64, now: UnixTime) -> RefreshState {
        RefreshState::of(
            self.revoked,
            self.rotated_at,
            self.grace_used,
            grace_secs,
            now,
        )
    }

    /// RFC 7662: live (neither rotated nor revoked) and not expired.
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.state(0, now) == RefreshState::Live && now < self.expires_at
    }
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

/// What the caller loaded for a refresh request.
#[derive(Debug)]
pub struct Loaded {
    /// The stored token, if the digest is known.
    pub record: Option<RefreshTokenRecord>,
    /// Whether the grant's user still exists and is not disabled.
    pub user_exists: bool,
    /// The configured grace window in seconds (0 = off).
    pub grace_secs: u64,
    /// The absolute lifetime of a grant's refresh tokens, from the user's sign-in.
    pub max_lifetime_secs: u64,
}

/// RFC 6749 §6 + OAuth 2.1 §4.3.1 + RFC 9700 §4.14.2: decides a refresh request.
///
/// The token must belong to the client, be live (a rotated-out one is reuse: its family is
/// revoked, unless the configured grace window tolerates one concurrent reuse), unexpired, and
/// its user must still exist. A requested scope may only narrow the granted one; the new
/// refresh token keeps the granted scope.
pub fn exchange(
    client: &RegisteredClient,
    registry: &Registry,
    request: &Request,
    loaded: Loaded,
    now: UnixTime,
) -> Result<Issue, GrantError> {
    let record = loaded.record.ok_or(OAuthError::invalid_grant(
        "the refresh token is invalid or expired",
    ))?;
    if record.grant.client_id != client.client_id {
        return Err(
            OAuthError::invalid_grant("the refresh token was issued to another client").into(),
        );
    }
    let state = record.state(loaded.grace_secs, now);
    let plan = match state {
        RefreshState::Live => RefreshPlan::Rotate(record.digest.clone()),
        // The grace window (off by default) absorbs concurrent refreshes by one client.
        RefreshState::Rotated { within_grace: true } => RefreshPlan::Grace(record.digest.clone()),
        RefreshState::Rotated {
            within_grace: false,
        } => {
            return Err(GrantError::Replayed(Replay {
                kind: ReplayKind::RefreshToken,
                grant_id: record.grant.grant_id,
                subject: Some(record.grant.subject),
            }));
        }
        RefreshState::Revoked => {
            return Err(OAuthError::invalid_grant("the refresh token has been revoked").into());
        }
    };
    if now >= record.expires_at {
        return Err(OAuthError::invalid_grant("the refresh token has expired").into());
    }
    // Rotation renews the idle lifetime, never this one: a stolen family cannot live forever.
    if now >= record.grant.auth_time.plus(loaded.max_lifetime_secs) {
        return Err(OAuthError::invalid_grant(
            "the grant reached its maximum lifetime; the user must sign in again",
        )
        .into());
    }
    let scope = match &request.scope {
        None => record.grant.scope.clone(),
        Some(requested) if requested.is_subset_of(&record.grant.scope) && !requested.is_empty() => {
            requested.clone()
        }
        Some(_) => {
            return Err(OAuthError::invalid_scope(
                "a refresh may only narrow the originally granted scope",
            )
            .into());
        }
    };
    if let Some(bound) = &record.grant.dpop_jkt
        && request.dpop_jkt.as_ref() != Some(bound)
    {
        return Err(OAuthError::invalid_grant(
            "the refresh token is bound to a DPoP key: send a DPoP proof made with that key (RFC 9449 §5)",
        )
        .into());
    }
    if !loaded.user_exists {
        return Err(OAuthError::invalid_grant(
            "the user of this grant no longer exists or is disabled",
        )
        .into());
    }
    let grant = record.grant;
    let target = registry.target(
        client,
        &grant.resources,
        request.resource.as_deref(),
        &scope,
    )?;
    Ok(Issue {
        target,
        dpop_jkt: None,
        subject: TokenSubject::User(UserGrant {
            authentication: Authentication {
                subject: grant.subject,
                auth_time: grant.auth_time,
                sid: grant.sid,
                amr: grant.amr,
            },
            nonce: None,
            grant_id: GrantId::Existing(grant.grant_id),
            granted_scope: grant.scope,
            resources: grant.resources,
            refresh: plan,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorCode;
    use crate::protocol::client::tests::client;
    use crate::protocol::resource::tests::sample_registry;

    const GRANTED: &str = "openid offline_access api:read";

    fn record(rotated_at: Option<i64>, revoked: bool, grace_used: bool) -> RefreshTokenRecord {
        RefreshTokenRecord {
            digest: SecretDigest::of("refresh-1"),
            grant: RefreshGrant {
                amr: Vec::new(),
                client_id: ClientId::parse("demo-web").unwrap(),
                subject: Subject("u-1".into()),
                scope: ScopeSet::parse(GRANTED).unwrap(),
                resources: Resources::from(
                    "https://api.example.com https://other.example".to_owned(),
                ),
                auth_time: UnixTime(5),
                sid: None,
                grant_id: "grant-1".into(),
                dpop_jkt: None,
            },
            issued_at: UnixTime(0),
            expires_at: UnixTime(1000),
            rotated_at: rotated_at.map(UnixTime),
            revoked,
            grace_used,
        }
    }

    fn request(scope: Option<&str>) -> Request {
        Request {
            refresh_token: RefreshToken::new("refresh-1".into()),
            scope: scope.map(|scope| ScopeSet::parse(scope).unwrap()),
            resource: None,
            dpop_jkt: None,
        }
    }

    fn loaded(record: RefreshTokenRecord) -> Loaded {
        Loaded {
            record: Some(record),
            user_exists: true,
            grace_secs: 30,
            max_lifetime_secs: 30 * 24 * 3600,
        }
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
    fn a_live_token_rotates_and_keeps_the_granted_scope() {
        let web = client("demo-web", Some("s"));
        let issue = exchange(
            &web,
            &sample_registry(),
            &request(Some("openid")),
            loaded(record(None, false, false)),
            UnixTime(10),
        )
        .unwrap();
        assert_eq!(issue.target.scope, ScopeSet::parse("openid").unwrap());
        assert_eq!(
            issue.target.audience, "https://api.example.com",
            "the grant's first resource"
        );
        assert_eq!(
            issue.subject,
            TokenSubject::User(UserGrant {
                authentication: Authentication {
                    amr: Vec::new(),
                    subject: Subject("u-1".into()),
                    auth_time: UnixTime(5),
                    sid: None,
                },
                nonce: None,
                grant_id: GrantId::Existing("grant-1".into()),
                granted_scope: ScopeSet::parse(GRANTED).unwrap(),
                resources: Resources::from(
                    "https://api.example.com https://other.example".to_owned()
                ),
                refresh: RefreshPlan::Rotate(SecretDigest::of("refresh-1")),
            })
        );
    }

    #[test]
    fn a_just_rotated_token_inside_the_grace_window_is_reused_once() {
        let web = client("demo-web", Some("s"));
        let issue = exchange(
            &web,
            &sample_registry(),
            &request(None),
            loaded(record(Some(100), false, false)),
            UnixTime(120),
        )
        .unwrap();
        let TokenSubject::User(grant) = issue.subject else {
            panic!("a user grant");
        };
        assert_eq!(
            grant.refresh,
            RefreshPlan::Grace(SecretDigest::of("refresh-1"))
        );
    }

    #[test]
    fn reuse_outside_the_grace_window_revokes_the_family() {
        let web = client("demo-web", Some("s"));
        for (rotated_at, grace_used, now) in [(100, false, 131), (100, true, 101)] {
            assert_eq!(
                exchange(
                    &web,
                    &sample_registry(),
                    &request(None),
                    loaded(record(Some(rotated_at), false, grace_used)),
                    UnixTime(now),
                ),
                Err(GrantError::Replayed(Replay {
                    kind: ReplayKind::RefreshToken,
                    grant_id: "grant-1".into(),
                    subject: Some(Subject("u-1".into())),
                }))
            );
        }
    }

    #[test]
    fn refusals_table() {
        let web = client("demo-web", Some("s"));
        let other = client("other", Some("s"));
        let live = || record(None, false, false);
        type Case<'a> = (
            &'a RegisteredClient,
            Option<&'a str>,
            Loaded,
            i64,
            ErrorCode,
        );
        let cases: Vec<Case> = vec![
            (
                &web,
                None,
                Loaded {
                    record: None,
                    user_exists: true,
                    grace_secs: 0,
                    max_lifetime_secs: 30 * 24 * 3600,
                },
                10,
                ErrorCode::InvalidGrant,
            ),
            (&other, None, loaded(live()), 10, ErrorCode::InvalidGrant),
            (
                &web,
                None,
                loaded(record(None, true, false)),
                10,
                ErrorCode::InvalidGrant,
            ),
            (&web, None, loaded(live()), 1000, ErrorCode::InvalidGrant),
            (
                &web,
                Some("openid api:write"),
                loaded(live()),
                10,
                ErrorCode::InvalidScope,
            ),
            (
                &web,
                None,
                Loaded {
                    user_exists: false,
                    ..loaded(live())
                },
                10,
                ErrorCode::InvalidGrant,
            ),
            // Live and unexpired, but the user signed in (auth_time 5) longer ago than the
            // absolute lifetime.
            (
                &web,
                None,
                Loaded {
                    max_lifetime_secs: 5,
                    ..loaded(live())
                },
                10,
                ErrorCode::InvalidGrant,
            ),
        ];
        for (index, (client, scope, loaded, now, expected)) in cases.into_iter().enumerate() {
            match exchange(
                client,
                &sample_registry(),
                &request(scope),
                loaded,
                UnixTime(now),
            ) {
                Err(GrantError::Refused(error)) => assert_eq!(error.code, expected, "case {index}"),
                other => panic!("case {index}: {other:?}"),
            }
        }
    }

    #[test]
    fn parsing() {
        assert!(Request::parse(&Params::from_pairs([("refresh_token", "t")])).is_ok());
        for pairs in [
            vec![],
            vec![("refresh_token", "")],
            vec![("refresh_token", "t"), ("refresh_token", "u")],
            vec![("refresh_token", "t"), ("scope", "a\"b")],
        ] {
            assert!(
                Request::parse(&Params::from_pairs(pairs.clone())).is_err(),
                "{pairs:?}"
            );
        }
    }
}
