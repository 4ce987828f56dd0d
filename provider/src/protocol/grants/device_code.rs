//! RFC 8628 §3.4-3.5: the device polls the token endpoint with its device code until the user
//! approves or denies on another device.

use crate::protocol::client::RegisteredClient;
use crate::protocol::device::{DeviceGrant, DeviceStatus};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::grants::{
    GrantError, GrantId, Issue, RefreshPlan, TokenSubject, UserGrant, should_issue_refresh_token,
};
use crate::protocol::params::Params;
use crate::protocol::resource::{Registry, token_resource};
use crate::protocol::types::{OpaqueToken, UnixTime};

/// The grant's parameters.
#[derive(Debug)]
pub struct Request {
    /// The device code from the device authorization response.
    pub device_code: OpaqueToken,
    /// RFC 8707 §2.2: which of the requested resources this token is for.
    pub resource: Option<String>,
}

impl Request {
    /// RFC 8628 §3.4: `device_code` is required.
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        Ok(Request {
            device_code: OpaqueToken::new(
                params
                    .required("device_code", "device_code is missing")?
                    .to_owned(),
            ),
            resource: token_resource(params)?,
        })
    }
}

/// The answer to a poll; each variant names what the caller stores before answering.
#[derive(Debug, PartialEq, Eq)]
pub enum Poll {
    /// Not yet: record this poll with the (possibly raised) interval, then answer `error`.
    Wait {
        /// `authorization_pending` or `slow_down`.
        error: OAuthError,
        /// The interval to store (slow_down adds 5 s, RFC 8628 §3.5).
        interval_secs: u64,
    },
    /// The user denied: delete the device code, answer `access_denied`.
    Denied,
    /// The user approved: spend the device code (once only), then issue.
    Approved(Box<Issue>),
}

/// The error after a denial (RFC 8628 §3.5).
pub const DENIED: OAuthError =
    OAuthError::new(ErrorCode::AccessDenied, "the user denied the device");
/// The error when the device code was spent between the load and the spend.
pub const ALREADY_USED: OAuthError = OAuthError::invalid_grant("the device code was already used");

/// RFC 8628 §3.4-3.5: decides the answer to a poll for the loaded device grant.
pub fn poll(
    client: &RegisteredClient,
    registry: &Registry,
    request: &Request,
    grant: Option<DeviceGrant>,
    now: UnixTime,
) -> Result<Poll, GrantError> {
    let grant = grant.ok_or(OAuthError::invalid_grant(
        "the device code is invalid or was already used",
    ))?;
    if grant.client_id != client.client_id {
        return Err(
            OAuthError::invalid_grant("the device code was issued to another client").into(),
        );
    }
    if now >= grant.expires_at {
        return Err(OAuthError::new(
            ErrorCode::ExpiredToken,
            "the device code has expired; start again",
        )
        .into());
    }
    let too_fast = grant.last_poll_at.is_some_and(|last| {
        now.0.saturating_sub(last.0) < i64::try_from(grant.interval_secs).unwrap_or(i64::MAX)
    });
    Ok(match grant.status {
        DeviceStatus::Approved(authentication) => {
            let refresh = if should_issue_refresh_token(client, &grant.scope) {
                RefreshPlan::First
            } else {
                RefreshPlan::None
            };
            let target = registry.target(
                client,
                &grant.resources,
                request.resource.as_deref(),
                &grant.scope,
            )?;
            Poll::Approved(Box::new(Issue {
                target,
                dpop_jkt: None,
                subject: TokenSubject::User(UserGrant {
                    authentication,
                    nonce: None,
                    grant_id: GrantId::New,
                    granted_scope: grant.scope,
                    resources: grant.resources,
                    refresh,
                }),
            }))
        }
        DeviceStatus::Denied => Poll::Denied,
        DeviceStatus::Pending if too_fast => Poll::Wait {
            error: OAuthError::new(
                ErrorCode::SlowDown,
                "polling too fast: wait the interval plus 5 seconds",
            ),
            interval_secs: grant.interval_secs + 5,
        },
        DeviceStatus::Pending => Poll::Wait {
            error: OAuthError::new(
                ErrorCode::AuthorizationPending,
                "the user has not finished yet; keep polling",
            ),
            interval_secs: grant.interval_secs,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::authorize::Authentication;
    use crate::protocol::client::tests::client;
    use crate::protocol::resource::Resources;
    use crate::protocol::resource::tests::sample_registry;
    use crate::protocol::scope::ScopeSet;
    use crate::protocol::types::Subject;

    fn alice() -> Authentication {
        Authentication {
            amr: Vec::new(),
            subject: Subject("u".into()),
            auth_time: UnixTime(5),
            sid: None,
        }
    }

    fn grant(status: DeviceStatus, last: Option<i64>, scope: &str) -> DeviceGrant {
        DeviceGrant {
            client_id: client("demo-device", None).client_id,
            user_code: "BDWP-HQPK".into(),
            scope: ScopeSet::parse(scope).unwrap(),
            resources: Resources::one("http://127.0.0.1:8081"),
            status,
            interval_secs: 5,
            last_poll_at: last.map(UnixTime),
            expires_at: UnixTime(600),
        }
    }

    /// `Ok(name)` for the outcome, `Err((code, stored interval))` for refusals.
    fn outcome(result: Result<Poll, GrantError>) -> Result<&'static str, (ErrorCode, u64)> {
        match result {
            Ok(Poll::Wait {
                error,
                interval_secs,
            }) => Err((error.code, interval_secs)),
            Ok(Poll::Approved(_)) => Ok("approved"),
            Ok(Poll::Denied) => Ok("denied"),
            Err(GrantError::Refused(error)) => Err((error.code, 0)),
            Err(GrantError::Replayed(replay)) => panic!("unexpected {replay:?}"),
        }
    }

    #[test]
    fn poll_table() {
        let device = client("demo-device", None);
        let other = client("other", None);
        use DeviceStatus::*;
        type Case<'a> = (
            &'a RegisteredClient,
            Option<DeviceGrant>,
            i64,
            Result<&'static str, (ErrorCode, u64)>,
        );
        let cases: Vec<Case> = vec![
            (
                &device,
                Some(grant(Pending, None, "openid")),
                10,
                Err((ErrorCode::AuthorizationPending, 5)),
            ),
            (
                &device,
                Some(grant(Pending, Some(8), "openid")),
                10,
                Err((ErrorCode::SlowDown, 10)),
            ),
            (
                &device,
                Some(grant(Pending, Some(5), "openid")),
                10,
                Err((ErrorCode::AuthorizationPending, 5)),
            ),
            (
                &device,
                Some(grant(Approved(alice()), Some(9), "openid")),
                10,
                Ok("approved"),
            ),
            (
                &device,
                Some(grant(Denied, None, "openid")),
                10,
                Ok("denied"),
            ),
            (
                &device,
                Some(grant(Pending, None, "openid")),
                600,
                Err((ErrorCode::ExpiredToken, 0)),
            ),
            (
                &other,
                Some(grant(Pending, None, "openid")),
                10,
                Err((ErrorCode::InvalidGrant, 0)),
            ),
            (&device, None, 10, Err((ErrorCode::InvalidGrant, 0))),
        ];
        for (index, (client, grant, now, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                outcome(poll(
                    client,
                    &sample_registry(),
                    &Request {
                        device_code: OpaqueToken::new("d".into()),
                        resource: None,
                    },
                    grant,
                    UnixTime(now)
                )),
                expected,
                "case {index}"
            );
        }
    }

    #[test]
    fn approval_starts_a_new_grant_with_a_refresh_token_only_for_offline_access() {
        let device = client("demo-device", None);
        for (scope, refresh) in [
            ("openid offline_access", RefreshPlan::First),
            ("openid", RefreshPlan::None),
        ] {
            let Ok(Poll::Approved(issue)) = poll(
                &device,
                &sample_registry(),
                &Request {
                    device_code: OpaqueToken::new("d".into()),
                    resource: None,
                },
                Some(grant(DeviceStatus::Approved(alice()), None, scope)),
                UnixTime(10),
            ) else {
                panic!("approved");
            };
            let TokenSubject::User(grant) = issue.subject else {
                panic!("a user grant");
            };
            assert_eq!(grant.authentication, alice());
            assert_eq!(grant.grant_id, GrantId::New);
            assert_eq!(grant.refresh, refresh, "{scope}");
        }
    }
}
