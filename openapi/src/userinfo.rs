//! OIDC Core §5.3 UserInfo.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// OIDC Core §5.3.2 UserInfo response: `sub` always, the rest by granted scope (`profile`:
/// `name`, `preferred_username`; `email`: `email`, `email_verified`). Sent with
/// `Cache-Control: no-store`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "sub": "6c2f5e0a-8c1e-4d8f-9a51-2f1f2a8b7c01",
    "name": "Alice Liddell",
    "preferred_username": "alice",
    "email": "alice@example.com",
    "email_verified": true
}))]
pub struct UserInfo {
    /// The subject: the same `sub` as in the ID token.
    pub sub: String,
    /// `profile` scope: full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// `profile` scope: user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub preferred_username: Option<String>,
    /// `email` scope: email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub email: Option<String>,
    /// `email` scope: whether the address was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub email_verified: Option<bool>,
}

/// RFC 6750 §2.2 form body of `POST /userinfo`: the access token in the body instead of the
/// `Authorization` header (never both).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserInfoForm {
    /// The access token (omit it when sending `Authorization: Bearer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "")]
    pub access_token: Option<String>,
}
