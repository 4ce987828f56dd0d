//! Askama view models: display fields only. The `.html` files live in `client/templates/`.

use askama::Template;
use askama_web::WebTemplate;
use serde_json::Value;

use crate::timeline::{Exchange, TokenView};
use crate::web::sequence::Diagram;
use crate::web::session::Flash;

/// A claim name and its value as text.
#[derive(Debug)]
pub struct ClaimLine {
    /// Claim name.
    pub name: String,
    /// Value (strings without quotes, times with a readable form).
    pub value: String,
}

/// Turns a JSON object into claim lines; `exp`, `iat`, `auth_time` get a UTC time next to them.
pub fn claim_lines(value: &Value) -> Vec<ClaimLine> {
    let Some(members) = value.as_object() else {
        return Vec::new();
    };
    members
        .iter()
        .map(|(name, member)| {
            let text = match member {
                Value::String(text) => text.clone(),
                Value::Number(number)
                    if matches!(name.as_str(), "exp" | "iat" | "auth_time" | "nbf") =>
                {
                    match number.as_i64() {
                        Some(seconds) => format!("{seconds} ({} UTC)", clock(seconds)),
                        None => number.to_string(),
                    }
                }
                other => other.to_string(),
            };
            ClaimLine {
                name: name.clone(),
                value: text,
            }
        })
        .collect()
}

/// `HH:MM:SS` of a unix time, UTC.
pub fn clock(unix_seconds: i64) -> String {
    let seconds_of_day = unix_seconds.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        seconds_of_day / 3600,
        seconds_of_day % 3600 / 60,
        seconds_of_day % 60
    )
}

/// "9 min 58 s" until `expires_at`, or "expired".
pub fn remaining(expires_at: i64, now: i64) -> String {
    let left = expires_at - now;
    if left <= 0 {
        format!("expired {} s ago", -left)
    } else {
        format!("expires in {} min {} s", left / 60, left % 60)
    }
}

/// What the signed-in home page shows.
#[derive(Debug)]
pub struct SignedInView {
    /// The user's name (UserInfo `name`, else `preferred_username`, else `sub`).
    pub display_name: String,
    /// `preferred_username`, if released.
    pub username: String,
    /// `email`, if released.
    pub email: String,
    /// ID token claims.
    pub id_claims: Vec<ClaimLine>,
    /// UserInfo claims.
    pub userinfo: Vec<ClaimLine>,
    /// Decoded ID and access tokens.
    pub tokens: Vec<TokenView>,
    /// Access token expiry (unix), for the countdown.
    pub access_expires_at: i64,
    /// The countdown text at render time.
    pub access_remaining: String,
    /// The refresh token, shortened (or "none").
    pub refresh_token: String,
    /// The granted scope.
    pub scope: String,
}

/// `GET /`.
#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    /// The provider's issuer.
    pub issuer: String,
    /// The resource server.
    pub resource: String,
    /// Our client id.
    pub client_id: String,
    /// Whether the provider advertises RP-initiated logout.
    pub logout_supported: bool,
    /// The signed-in view, if any.
    pub signed_in: Option<SignedInView>,
    /// The outcome of the last action.
    pub flash: Option<Flash>,
    /// How many exchanges the timeline holds.
    pub timeline_len: usize,
}

/// `GET /timeline`.
#[derive(Template, WebTemplate)]
#[template(path = "timeline.html")]
pub struct TimelinePage {
    /// The sequence diagram.
    pub diagram: Diagram,
    /// Every exchange, in order.
    pub exchanges: Vec<Exchange>,
}

/// Any refused or failed action.
#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The heading.
    pub title: String,
    /// What happened, in one or two sentences.
    pub message: String,
    /// What to try.
    pub hint: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn claim_lines_show_times_readably() {
        let lines =
            claim_lines(&json!({"sub": "abc", "exp": 1_800_000_000, "email_verified": true}));
        let get = |name: &str| {
            lines
                .iter()
                .find(|line| line.name == name)
                .map(|line| line.value.clone())
        };
        assert_eq!(get("sub").as_deref(), Some("abc"));
        assert_eq!(get("exp").as_deref(), Some("1800000000 (08:00:00 UTC)"));
        assert_eq!(get("email_verified").as_deref(), Some("true"));
    }

    #[test]
    fn remaining_table() {
        assert_eq!(remaining(1_000, 402), "expires in 9 min 58 s");
        assert_eq!(remaining(1_000, 1_000), "expired 0 s ago");
        assert_eq!(remaining(1_000, 1_030), "expired 30 s ago");
    }
}
