//! Token issuance for every grant: one place that mints the RFC 9068 access token, the OIDC
//! Core ID token (when the scope has `openid` and there is a user) and the next refresh token
//! of a grant, from a grant's [`Issue`].
//!
//! Minting signs (CPU work on keys parsed once) but does no IO: the caller passes the time and
//! the random bytes, and persists what [`Minted`] says must be stored.

use keys::{KeySet, SigningAlg};
use openapi::TokenResponse;

use crate::protocol::claims::{
    AccessTokenClaims, AccessTokenGrant, IdTokenGrant, access_token_claims, id_token_claims,
};
use crate::protocol::client::RegisteredClient;
use crate::protocol::grants::refresh_token::{RefreshGrant, RefreshTokenRecord};
use crate::protocol::grants::{GrantId, Issue, RefreshPlan, TokenSubject};
use crate::protocol::types::{
    Issuer, Lifetimes, RefreshToken, SecretDigest, UnixTime, encode_random,
};

/// What issuance reads: who issues, with which keys, for how long.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The issuer (`iss`).
    pub issuer: &'a Issuer,
    /// The signing keys.
    pub keys: &'a KeySet,
    /// Token lifetimes.
    pub lifetimes: &'a Lifetimes,
}

/// The random inputs of one issuance (drawn by the caller; all 256-bit).
#[derive(Clone, Copy, Debug)]
pub struct Randomness {
    /// The access token's `jti`.
    pub jti: [u8; 32],
    /// The id of a grant that starts now (device flow).
    pub grant_id: [u8; 32],
    /// The refresh token, if one is issued.
    pub refresh_token: [u8; 32],
}

/// Signing failed: a missing key or a crypto error. Never the client's fault.
#[derive(Debug, thiserror::Error)]
pub enum IssuanceError {
    /// No active key for the algorithm the client is registered with.
    #[error("no active {0} signing key")]
    NoActiveKey(SigningAlg),
    /// The signature could not be made.
    #[error("signing failed: {0}")]
    Signing(#[from] keys::Error),
}

/// What was minted, and what the caller must store before answering.
#[derive(Debug)]
pub struct Minted {
    /// The token response (RFC 6749 §5.1).
    pub response: TokenResponse,
    /// The access token's claims (its `jti` and `exp` for the grant's records).
    pub access_token: AccessTokenClaims,
    /// The access token's signature algorithm and key id, for the log.
    pub access_token_key: (SigningAlg, String),
    /// The ID token's signature algorithm, when one was issued.
    pub id_token_alg: Option<SigningAlg>,
    /// The user grant the tokens belong to (`None` for client_credentials).
    pub grant: Option<MintedGrant>,
}

/// The grant side of a user's tokens.
#[derive(Debug)]
pub struct MintedGrant {
    /// The grant id: record the access token under it, so revoking the grant denies it.
    pub grant_id: String,
    /// What to do in the refresh-token table.
    pub refresh: RefreshWrite,
}

/// The refresh-token write that completes an issuance.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshWrite {
    /// Nothing to store.
    None,
    /// Store the first token of the grant.
    Insert(RefreshTokenRecord),
    /// Mark `old` rotated (only if still live) and store `new`, atomically.
    Rotate {
        /// The presented token.
        old: SecretDigest,
        /// Its successor.
        new: RefreshTokenRecord,
    },
    /// Spend `old`'s one grace reuse (only if unspent) and store `new`, atomically.
    Grace {
        /// The presented, already rotated token.
        old: SecretDigest,
        /// Its successor.
        new: RefreshTokenRecord,
    },
}

/// Mints the tokens of `issue` for `client`.
///
/// - Access token (RFC 9068): `typ: at+jwt`, signed with the target's algorithm (the
///   resource's, or the client's for the provider itself), `sub` the user or (no user) the client.
/// - ID token (OIDC Core §3.1.3.6): only for a user and a scope with `openid`; with `nonce` and
///   `at_hash`, signed with the client's ID-token algorithm.
/// - Refresh token: only when the grant's [`RefreshPlan`] says so; it keeps the granted scope.
pub fn mint(
    issue: Issue,
    client: &RegisteredClient,
    context: &Context<'_>,
    random: Randomness,
    now: UnixTime,
) -> Result<Minted, IssuanceError> {
    let lifetimes = context.lifetimes;
    let user = match &issue.subject {
        TokenSubject::User(grant) => Some(grant),
        TokenSubject::Client | TokenSubject::Delegated(_) => None,
    };
    let delegation = match &issue.subject {
        TokenSubject::Delegated(delegation) => Some(delegation),
        _ => None,
    };
    // An exchanged token ends no later than the token it was exchanged for.
    // The resource's lifetime, else the provider's.
    let base_lifetime = issue.target.lifetime_secs.unwrap_or(lifetimes.access_token);
    let access_lifetime = delegation.map_or(base_lifetime, |delegation| {
        base_lifetime.min(u64::try_from(delegation.not_after.0 - now.0).unwrap_or(0))
    });
    let access_alg = issue.target.alg;
    let access_key = context
        .keys
        .active(access_alg)
        .ok_or(IssuanceError::NoActiveKey(access_alg))?;
    let claims = access_token_claims(
        &AccessTokenGrant {
            subject: match (user, delegation) {
                (Some(grant), _) => grant.authentication.subject.as_str(),
                (None, Some(delegation)) => delegation.subject.as_str(),
                (None, None) => client.client_id.as_str(),
            },
            client_id: &client.client_id,
            scope: &issue.target.scope,
            audience: &issue.target.audience,
            auth_time: user
                .map(|grant| grant.authentication.auth_time)
                .or_else(|| delegation.and_then(|delegation| delegation.auth_time)),
            act: delegation.and_then(|delegation| delegation.act.as_ref()),
            dpop_jkt: issue.dpop_jkt.as_deref(),
        },
        context.issuer,
        encode_random(random.jti),
        now,
        access_lifetime,
    );
    let access_token = access_key.sign("at+jwt", &claims)?;
    let access_token_key = (access_alg, access_key.kid().to_string());
    let id_token = match user {
        Some(grant) if issue.target.scope.contains("openid") => {
            let alg = client.id_token_alg();
            let key = context
                .keys
                .active(alg)
                .ok_or(IssuanceError::NoActiveKey(alg))?;
            let id_claims = id_token_claims(
                &IdTokenGrant {
                    subject: &grant.authentication.subject,
                    client_id: &client.client_id,
                    auth_time: grant.authentication.auth_time,
                    nonce: grant.nonce.as_deref(),
                    sid: grant.authentication.sid.as_deref(),
                    amr: &grant.authentication.amr,
                },
                context.issuer,
                &access_token,
                alg,
                now,
                lifetimes.id_token,
            );
            Some((key.sign("JWT", &id_claims)?, alg))
        }
        _ => None,
    };
    let (id_token, id_token_alg) = id_token.unzip();
    let issued_token_type = delegation.map(|_| openapi::ACCESS_TOKEN_TYPE.to_owned());
    let (refresh_token, grant) = match issue.subject {
        TokenSubject::Client => (None, None),
        TokenSubject::Delegated(delegation) => (
            None,
            delegation.grant_id.map(|grant_id| MintedGrant {
                grant_id,
                refresh: RefreshWrite::None,
            }),
        ),
        TokenSubject::User(grant) => {
            let grant_id = match grant.grant_id {
                GrantId::Existing(grant_id) => grant_id,
                GrantId::New => encode_random(random.grant_id),
            };
            let token = RefreshToken::from_random(random.refresh_token);
            // Idle lifetime, capped by the grant's absolute one (from the sign-in).
            let absolute_end = grant
                .authentication
                .auth_time
                .plus(lifetimes.refresh_token_max);
            let refresh_lifetime = lifetimes
                .refresh_token
                .min(u64::try_from(absolute_end.0 - now.0).unwrap_or(0));
            let record = RefreshTokenRecord::new(
                token.digest(),
                RefreshGrant {
                    client_id: client.client_id.clone(),
                    subject: grant.authentication.subject,
                    scope: grant.granted_scope,
                    resources: grant.resources,
                    auth_time: grant.authentication.auth_time,
                    sid: grant.authentication.sid.clone(),
                    amr: grant.authentication.amr.clone(),
                    grant_id: grant_id.clone(),
                    // RFC 9449 §5: bound for public clients; a confidential client's refresh
                    // token is already bound to its authentication.
                    dpop_jkt: if client.is_public() {
                        issue.dpop_jkt.clone()
                    } else {
                        None
                    },
                },
                now,
                refresh_lifetime,
            );
            let write = match grant.refresh {
                RefreshPlan::None => RefreshWrite::None,
                RefreshPlan::First => RefreshWrite::Insert(record),
                RefreshPlan::Rotate(old) => RefreshWrite::Rotate { old, new: record },
                RefreshPlan::Grace(old) => RefreshWrite::Grace { old, new: record },
            };
            let refresh_token = (write != RefreshWrite::None).then(|| token.expose().to_owned());
            (
                refresh_token,
                Some(MintedGrant {
                    grant_id,
                    refresh: write,
                }),
            )
        }
    };
    Ok(Minted {
        response: TokenResponse {
            access_token,
            // RFC 9449 §5: a bound token's type is DPoP.
            token_type: if issue.dpop_jkt.is_some() {
                "DPoP".into()
            } else {
                "Bearer".into()
            },
            expires_in: access_lifetime,
            scope: Some(issue.target.scope.to_string()),
            id_token,
            refresh_token,
            issued_token_type,
        },
        access_token: claims,
        access_token_key,
        id_token_alg,
        grant,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use serde_json::Value;

    use super::*;
    use crate::protocol::resource::{Resources, Target};

    fn target(audience: &str, scope: &str) -> Target {
        Target {
            audience: audience.into(),
            alg: SigningAlg::RS256,
            lifetime_secs: None,
            scope: ScopeSet::parse(scope).unwrap(),
        }
    }
    use crate::protocol::authorize::Authentication;
    use crate::protocol::claims::token_hash;
    use crate::protocol::client::tests::client;
    use crate::protocol::grants::UserGrant;
    use crate::protocol::scope::ScopeSet;
    use crate::protocol::types::Subject;

    const NOW: UnixTime = UnixTime(1_800_000_000);

    /// One key per algorithm, generated once per test process (RSA is slow in debug builds).
    fn keys() -> &'static KeySet {
        static KEYS: OnceLock<KeySet> = OnceLock::new();
        KEYS.get_or_init(|| {
            keys::install_crypto_provider();
            KeySet::new(SigningAlg::ALL.map(|alg| {
                (
                    Arc::new(keys::SigningKey::generate(alg).unwrap()),
                    keys::KeyStatus::Active,
                )
            }))
            .unwrap()
        })
    }

    fn issuer() -> Issuer {
        Issuer::parse("https://id.example.com", false).unwrap()
    }

    /// Fixed randomness: each field its own byte, so the outputs are known in advance.
    const RANDOM: Randomness = Randomness {
        jti: [1; 32],
        grant_id: [2; 32],
        refresh_token: [3; 32],
    };

    fn mint_with(issue: Issue, client: &RegisteredClient) -> Minted {
        let issuer = issuer();
        let lifetimes = Lifetimes::default();
        let context = Context {
            issuer: &issuer,
            keys: keys(),
            lifetimes: &lifetimes,
        };
        mint(issue, client, &context, RANDOM, NOW).unwrap()
    }

    /// The payload of a compact JWS, and its header.
    fn decode(token: &str) -> (Value, Value) {
        let mut parts = token.split('.');
        let header = keys::b64url_decode(parts.next().unwrap()).unwrap();
        let payload = keys::b64url_decode(parts.next().unwrap()).unwrap();
        (
            serde_json::from_slice(&header).unwrap(),
            serde_json::from_slice(&payload).unwrap(),
        )
    }

    fn user_issue(scope: &str, grant_id: GrantId, refresh: RefreshPlan) -> Issue {
        Issue {
            target: target("https://api.example", scope),
            subject: TokenSubject::User(UserGrant {
                authentication: Authentication {
                    amr: Vec::new(),
                    subject: Subject("u-1".into()),
                    auth_time: UnixTime(NOW.0 - 60),
                    sid: None,
                },
                nonce: Some("n-1".into()),
                grant_id,
                granted_scope: ScopeSet::parse("openid offline_access api:read").unwrap(),
                resources: Resources::one("https://api.example"),
                refresh,
            }),
            dpop_jkt: None,
        }
    }

    #[test]
    fn a_code_exchange_mints_access_id_and_first_refresh_token() {
        let web = client("demo-web", Some("s"));
        let minted = mint_with(
            user_issue(
                "openid offline_access",
                GrantId::Existing("grant-1".into()),
                RefreshPlan::First,
            ),
            &web,
        );
        let response = &minted.response;
        assert_eq!(response.token_type, "Bearer");
        assert_eq!(response.expires_in, 600);
        assert_eq!(response.scope.as_deref(), Some("offline_access openid"));
        let (header, access) = decode(&response.access_token);
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], "RS256");
        assert_eq!(access["sub"], "u-1");
        assert_eq!(access["aud"], "https://api.example");
        assert_eq!(access["iss"], "https://id.example.com");
        assert_eq!(access["exp"], NOW.0 + 600);
        assert_eq!(
            access["jti"],
            encode_random([1; 32]),
            "jti from the given bytes"
        );
        assert_eq!(access["auth_time"], NOW.0 - 60);
        let (id_header, id) = decode(response.id_token.as_deref().unwrap());
        assert_eq!(id_header["typ"], "JWT");
        assert_eq!(id["aud"], "demo-web");
        assert_eq!(id["nonce"], "n-1");
        assert_eq!(
            id["at_hash"],
            token_hash(&response.access_token, SigningAlg::RS256)
        );
        let expected_refresh = encode_random([3; 32]);
        assert_eq!(
            response.refresh_token.as_deref(),
            Some(expected_refresh.as_str())
        );
        let grant = minted.grant.unwrap();
        assert_eq!(grant.grant_id, "grant-1");
        let RefreshWrite::Insert(record) = grant.refresh else {
            panic!("a first refresh token");
        };
        assert_eq!(record.digest, SecretDigest::of(&expected_refresh));
        assert_eq!(
            record.expires_at,
            NOW.plus(Lifetimes::default().refresh_token)
        );
        assert_eq!(
            record.grant.scope,
            ScopeSet::parse("openid offline_access api:read").unwrap(),
            "the refresh token keeps the granted scope"
        );
    }

    #[test]
    fn no_id_token_without_openid_and_none_for_clients() {
        let web = client("demo-web", Some("s"));
        let minted = mint_with(
            user_issue("api:read", GrantId::Existing("g".into()), RefreshPlan::None),
            &web,
        );
        assert!(minted.response.id_token.is_none());
        assert!(minted.response.refresh_token.is_none());
        assert_eq!(minted.grant.unwrap().refresh, RefreshWrite::None);

        let service = client("demo-service", Some("s"));
        let minted = mint_with(
            Issue {
                target: target("https://api.example", "api:read"),
                subject: TokenSubject::Client,
                dpop_jkt: None,
            },
            &service,
        );
        let (_, access) = decode(&minted.response.access_token);
        assert_eq!(
            access["sub"], "demo-service",
            "RFC 9068 §2.2: sub is the client"
        );
        assert!(access.get("auth_time").is_none());
        assert!(minted.response.id_token.is_none());
        assert!(minted.response.refresh_token.is_none());
        assert!(minted.grant.is_none(), "nothing to record or revoke");
    }

    #[test]
    fn an_exchange_mints_one_access_token_that_ends_with_its_subject_token() {
        use crate::protocol::claims::Actor;
        use crate::protocol::grants::token_exchange::Delegation;
        let api = client("demo-api", Some("s"));
        let delegated = |not_after: i64, grant_id: Option<&str>| Issue {
            target: target("https://other.example", "openid api:read"),
            subject: TokenSubject::Delegated(Delegation {
                subject: "u-1".into(),
                auth_time: Some(UnixTime(NOW.0 - 60)),
                grant_id: grant_id.map(str::to_owned),
                act: Some(Actor {
                    sub: "agent".into(),
                    client_id: Some("demo-api".into()),
                    act: None,
                }),
                not_after: UnixTime(not_after),
            }),
            dpop_jkt: None,
        };
        let minted = mint_with(delegated(NOW.0 + 120, Some("grant-1")), &api);
        let response = &minted.response;
        assert_eq!(
            response.issued_token_type.as_deref(),
            Some(openapi::ACCESS_TOKEN_TYPE)
        );
        assert_eq!(
            response.expires_in, 120,
            "capped by the subject token's expiry"
        );
        assert!(
            response.id_token.is_none(),
            "openid in scope, but an exchange issues one token"
        );
        assert!(response.refresh_token.is_none());
        let (header, access) = decode(&response.access_token);
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(access["sub"], "u-1");
        assert_eq!(access["client_id"], "demo-api");
        assert_eq!(access["exp"], NOW.0 + 120);
        assert_eq!(access["auth_time"], NOW.0 - 60);
        assert_eq!(
            access["act"],
            serde_json::json!({"sub": "agent", "client_id": "demo-api"})
        );
        let grant = minted.grant.unwrap();
        assert_eq!(
            (grant.grant_id.as_str(), grant.refresh),
            ("grant-1", RefreshWrite::None),
            "recorded under the user's grant"
        );
        // A long-lived subject token: the usual lifetime; a client token: no grant.
        let minted = mint_with(delegated(NOW.0 + 100_000, None), &api);
        assert_eq!(minted.response.expires_in, 600);
        assert!(minted.grant.is_none());
        // The other grants never say what they issued (RFC 8693 only).
        let minted = mint_with(
            user_issue("api:read", GrantId::Existing("g".into()), RefreshPlan::None),
            &api,
        );
        assert!(minted.response.issued_token_type.is_none());
        let (_, access) = decode(&minted.response.access_token);
        assert!(access.get("act").is_none() && access.get("may_act").is_none());
    }

    #[test]
    fn rotation_grace_and_new_grants() {
        let web = client("demo-web", Some("s"));
        let old = SecretDigest::of("old");
        let rotated = mint_with(
            user_issue(
                "openid",
                GrantId::Existing("g".into()),
                RefreshPlan::Rotate(old.clone()),
            ),
            &web,
        );
        assert!(matches!(
            rotated.grant.unwrap().refresh,
            RefreshWrite::Rotate { old: ref presented, .. } if *presented == old
        ));
        let grace = mint_with(
            user_issue(
                "openid",
                GrantId::Existing("g".into()),
                RefreshPlan::Grace(old.clone()),
            ),
            &web,
        );
        assert!(matches!(
            grace.grant.unwrap().refresh,
            RefreshWrite::Grace { .. }
        ));
        let device = mint_with(user_issue("openid", GrantId::New, RefreshPlan::First), &web);
        assert_eq!(
            device.grant.unwrap().grant_id,
            encode_random([2; 32]),
            "a new grant's id comes from the given bytes"
        );
    }

    #[test]
    fn the_targets_and_the_clients_algorithms_choose_the_keys() {
        let mut web = client("demo-web", Some("s"));
        web.metadata.id_token_signed_response_alg = SigningAlg::EdDSA;
        let mut issue = user_issue("openid", GrantId::Existing("g".into()), RefreshPlan::None);
        issue.target.alg = SigningAlg::ES256;
        issue.target.lifetime_secs = Some(42);
        let minted = mint_with(issue, &web);
        assert_eq!(
            decode(&minted.response.access_token).1["exp"],
            NOW.0 + 42,
            "the resource's lifetime"
        );
        assert_eq!(minted.response.expires_in, 42);
        assert_eq!(decode(&minted.response.access_token).0["alg"], "ES256");
        assert_eq!(minted.access_token_key.0, SigningAlg::ES256);
        assert_eq!(
            decode(minted.response.id_token.as_deref().unwrap()).0["alg"],
            "EdDSA"
        );
        assert_eq!(minted.id_token_alg, Some(SigningAlg::EdDSA));
    }

    #[test]
    fn a_missing_key_is_an_issuance_error() {
        let only_rsa = KeySet::new([(
            Arc::clone(keys().active(SigningAlg::RS256).unwrap()),
            keys::KeyStatus::Active,
        )])
        .unwrap();
        let web = client("demo-web", Some("s"));
        let mut issue = user_issue("openid", GrantId::New, RefreshPlan::None);
        issue.target.alg = SigningAlg::ES256;
        let issuer = issuer();
        let lifetimes = Lifetimes::default();
        let context = Context {
            issuer: &issuer,
            keys: &only_rsa,
            lifetimes: &lifetimes,
        };
        let result = mint(issue, &web, &context, RANDOM, NOW);
        assert!(matches!(
            result,
            Err(IssuanceError::NoActiveKey(SigningAlg::ES256))
        ));
    }
}
