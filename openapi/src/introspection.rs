//! RFC 7662 token introspection and RFC 7009 token revocation.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// RFC 7662 §2.1 / RFC 7009 §2.1 `token_type_hint`: which lookup to try first. A hint only:
/// the provider finds the token either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenTypeHint {
    /// An RFC 9068 JWT access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
}

/// RFC 7662 §2.1 introspection request (`application/x-www-form-urlencoded`). Only
/// confidential clients may introspect (HTTP Basic or `client_id` + `client_secret` here);
/// a client learns about its own tokens, a registered resource server about any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IntrospectionRequest {
    /// The access or refresh token to look at.
    #[schema(min_length = 1, example = "paste an access or refresh token")]
    pub token: String,
    /// Optional hint for the lookup order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub token_type_hint: Option<TokenTypeHint>,
    /// `client_secret_post`: the client id (omit with HTTP Basic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(crate::demo::API_CLIENT_ID))]
    pub client_id: Option<String>,
    /// `client_secret_post`: the client secret (never together with HTTP Basic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(crate::demo::API_CLIENT_SECRET))]
    pub client_secret: Option<String>,
}

/// RFC 7662 §2.2 introspection response. An unknown, expired, revoked or foreign token is
/// `{"active": false}` and nothing else. Sent with `Cache-Control: no-store`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"active": false}))]
pub struct IntrospectionResponse {
    /// Whether the token is active.
    pub active: bool,
    /// Space-separated scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// Subject: the user, or the client for `client_credentials` tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub sub: Option<String>,
    /// Expiry (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub exp: Option<i64>,
    /// Issue time (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub iat: Option<i64>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub iss: Option<String>,
    /// Audience (the resource the access token is for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub aud: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub token_type: Option<String>,
    /// Token id (access tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub jti: Option<String>,
    /// RFC 8693 §4.1, exchanged tokens with an actor: who acts for the subject (`sub`,
    /// `client_id`), with earlier actors nested in `act`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Object, example = json!({"sub": "demo-api", "client_id": "demo-api"}))]
    pub act: Option<serde_json::Value>,
    /// RFC 9449 §6.2: the DPoP key a bound token is bound to (`{"jkt": …}`); its
    /// `token_type` is then `DPoP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Object, example = json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}))]
    pub cnf: Option<serde_json::Value>,
}

/// RFC 7009 §2.1 revocation request (`application/x-www-form-urlencoded`). Revoking a refresh
/// token revokes its whole family; an access token is deny-listed until it expires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevocationRequest {
    /// The token to revoke.
    #[schema(min_length = 1, example = "paste a token issued to this client")]
    pub token: String,
    /// Optional hint for the lookup order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub token_type_hint: Option<TokenTypeHint>,
    /// The client id (`client_secret_post` and public clients; omit with HTTP Basic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(crate::demo::API_CLIENT_ID))]
    pub client_id: Option<String>,
    /// `client_secret_post`: the client secret (never together with HTTP Basic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(crate::demo::API_CLIENT_SECRET))]
    pub client_secret: Option<String>,
}

/// RFC 7009 §2.2: the empty JSON object, for revoked, unknown and foreign tokens alike (the
/// answer tells an attacker nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({}))]
pub struct RevocationResponse {}
