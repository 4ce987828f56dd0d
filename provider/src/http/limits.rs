//! Rate limits on the endpoints that create state before anyone authenticates (`/authorize`
//! stores an interaction, `/par` a request, `/device_authorization` a device code, `/register`
//! a client; `/device` checks guessable user codes): fixed windows per client address (an
//! IPv6 /64 counts as one), shared by every node through the cluster.

use std::net::IpAddr;
use std::time::Duration;

use crate::protocol::throttle::address_bucket;
use crate::state::AppState;

/// An endpoint with a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
    /// `GET/POST /authorize`.
    Authorize,
    /// `POST /par`.
    Par,
    /// `POST /device_authorization`.
    DeviceAuthorization,
    /// `POST /register`.
    Register,
    /// `POST /device` (user code entry).
    UserCode,
}

/// Over the limit: retry after this many seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyRequests {
    /// `Retry-After`.
    pub retry_after_secs: u64,
}

impl Limited {
    fn name(self) -> &'static str {
        match self {
            Limited::Authorize => "authorize",
            Limited::Par => "par",
            Limited::DeviceAuthorization => "device_authorization",
            Limited::Register => "register",
            Limited::UserCode => "user_code",
        }
    }

    /// The budget and its window under the state's configuration.
    fn budget(self, state: &AppState) -> (u64, Duration) {
        let limits = state.rate_limits;
        let minute = Duration::from_secs(60);
        match self {
            Limited::Authorize => (limits.authorize_per_minute, minute),
            Limited::Par => (limits.par_per_minute, minute),
            Limited::DeviceAuthorization => (limits.device_authorization_per_minute, minute),
            Limited::Register => (limits.register_per_hour, Duration::from_secs(3600)),
            Limited::UserCode => (limits.user_code_per_minute, minute),
        }
    }

    /// Counts one request from `ip`; `Err` when it is over the budget.
    pub async fn check(self, state: &AppState, ip: IpAddr) -> Result<(), TooManyRequests> {
        let (budget, window) = self.budget(state);
        let key = format!("rate:{}:{}", self.name(), address_bucket(ip));
        let hit = state.cluster.hit(&key, window).await;
        if hit.count <= budget {
            return Ok(());
        }
        crate::metrics::rate_limited(self.name());
        if hit.count == budget + 1 {
            tracing::warn!(endpoint = self.name(), address = %address_bucket(ip), "rate limit reached");
        }
        Err(TooManyRequests {
            retry_after_secs: hit.resets_in.as_secs().max(1),
        })
    }
}
