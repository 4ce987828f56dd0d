//! RFC 6749 §3.2 token endpoint: the form-encoded request of every grant and the response.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The grants the token endpoint accepts. OAuth 2.1 removed `password` and `implicit`; they
/// are answered with `unsupported_grant_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[schema(example = "client_credentials")]
pub enum GrantType {
    /// RFC 6749 §4.1.3 with RFC 7636 PKCE: exchange an authorization code.
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    /// RFC 6749 §6: exchange a refresh token (rotated at every use).
    #[serde(rename = "refresh_token")]
    RefreshToken,
    /// RFC 6749 §4.4: a confidential client acting on its own behalf.
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    /// RFC 8628 §3.4: poll for the tokens of a device authorization.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
    /// RFC 8693: trade a token for another, narrower one (another audience, fewer scopes,
    /// optionally naming the actor).
    #[serde(rename = "urn:ietf:params:oauth:grant-type:token-exchange")]
    TokenExchange,
}

impl GrantType {
    /// Every grant the token endpoint accepts, in the order discovery lists them. Adding a
    /// variant makes the compiler point at every `match` that must learn it.
    pub const ALL: [GrantType; 5] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
        GrantType::TokenExchange,
    ];

    /// The `grant_type` value on the wire (RFC 6749 §4, RFC 8628 §3.4).
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            GrantType::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
        }
    }

    /// Parses a `grant_type` value; `None` for anything this provider does not implement.
    pub fn parse(value: &str) -> Option<Self> {
        GrantType::ALL
            .into_iter()
            .find(|grant| grant.as_str() == value)
    }
}

impl std::fmt::Display for GrantType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RFC 6749 §3.2 token request (`application/x-www-form-urlencoded`). One schema for every
/// grant: `grant_type` decides which of the other members are required.
///
/// - `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5): `code`, `redirect_uri` (exactly as
///   sent to `/authorize`) and `code_verifier` are required.
/// - `refresh_token` (RFC 6749 §6): `refresh_token` is required; `scope` may narrow it.
/// - `client_credentials` (RFC 6749 §4.4): confidential clients only; `scope` and `resource`
///   are optional (default: everything the client may request, for its default audience).
/// - `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4): `device_code` is required.
/// - `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693 §2.1): `subject_token` and
///   `subject_token_type` are required; `actor_token` with `actor_token_type`, `resource` or
///   `audience`, `scope` (only narrower) and `requested_token_type` are optional.
///
/// Client authentication (RFC 6749 §2.3.1): confidential clients use HTTP Basic
/// (`client_secret_basic`) *or* `client_id` + `client_secret` in this body
/// (`client_secret_post`), never both; public clients send only `client_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Which grant this request uses.
    #[schema(example = "client_credentials")]
    pub grant_type: GrantType,
    /// `authorization_code` only: the code from the authorization response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "")]
    pub code: Option<String>,
    /// `authorization_code` only: the redirect URI of the authorization request, repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "")]
    pub redirect_uri: Option<String>,
    /// `authorization_code` only: the RFC 7636 PKCE verifier (43-128 characters of
    /// `[A-Za-z0-9-._~]`) whose S256 hash was the `code_challenge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, pattern = "^[A-Za-z0-9._~-]{43,128}$", example = json!(crate::demo::CODE_VERIFIER))]
    pub code_verifier: Option<String>,
    /// `refresh_token` only: the refresh token (one use: the response carries its successor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "")]
    pub refresh_token: Option<String>,
    /// `urn:ietf:params:oauth:grant-type:device_code` only: the `device_code` of the device
    /// authorization response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "")]
    pub device_code: Option<String>,
    /// `refresh_token` and `client_credentials`: space-separated scopes (a subset of what was
    /// granted or of what the client may request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "api:read")]
    pub scope: Option<String>,
    /// Every grant: RFC 8707 resource indicator, the access token's audience (one per
    /// request: each token has a single audience). With a code, refresh token or device code
    /// it picks one of the resources the user granted (default: the first); with
    /// `client_credentials` and token exchange one of the client's resources (default: its
    /// default). The token's algorithm, lifetime and scopes are the resource's; anything else
    /// is `invalid_target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(crate::demo::API_RESOURCE))]
    pub resource: Option<String>,
    /// Token exchange only (RFC 8693 §2.1): the token to exchange, an access token this
    /// provider issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "")]
    pub subject_token: Option<String>,
    /// Token exchange only: the type of `subject_token`,
    /// `urn:ietf:params:oauth:token-type:access_token` (or `...:jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(ACCESS_TOKEN_TYPE))]
    pub subject_token_type: Option<String>,
    /// Token exchange only: a token of the party acting for the subject (an access token
    /// issued to the requesting client); the new token names it in a nested `act` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub actor_token: Option<String>,
    /// Token exchange only: the type of `actor_token` (required with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub actor_token_type: Option<String>,
    /// Token exchange only: the target service by name; here the same values as `resource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub audience: Option<String>,
    /// Token exchange only: the kind of token wanted; `...:access_token` (the default) or
    /// `...:jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub requested_token_type: Option<String>,
    /// `client_secret_post` and public clients: the client id. With HTTP Basic it may be
    /// omitted (if sent, it must match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(crate::demo::API_CLIENT_ID))]
    pub client_id: Option<String>,
    /// `client_secret_post` only: the client secret. Never together with HTTP Basic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(crate::demo::API_CLIENT_SECRET))]
    pub client_secret: Option<String>,
    /// `private_key_jwt` / `client_secret_jwt` clients (RFC 7523 §2.2):
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_assertion_type: Option<String>,
    /// RFC 7523 §3: a JWT the client signed (`iss` = `sub` = its id, `aud` the issuer or this
    /// endpoint, `jti` used once, `exp` at most 5 minutes ahead). Never with a secret or Basic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_assertion: Option<String>,
}

/// RFC 6749 §5.1 successful token response (plus the OIDC `id_token`). Sent with
/// `Cache-Control: no-store`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// RFC 9068 JWT access token (`typ: at+jwt`).
    pub access_token: String,
    /// Always `Bearer` (RFC 6750).
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Access token lifetime in seconds.
    #[schema(example = 600)]
    pub expires_in: u64,
    /// The granted scope, when it differs from the request or always (we always send it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "openid profile offline_access")]
    pub scope: Option<String>,
    /// OIDC Core §3.1.3.3 ID token, for `openid` requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id_token: Option<String>,
    /// Rotating refresh token, when `offline_access` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
    /// RFC 8693 §2.2.1, token exchange only: the type of the issued token
    /// (`urn:ietf:params:oauth:token-type:access_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub issued_token_type: Option<String>,
}

/// RFC 8693 §3: the token type URI of an OAuth access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// RFC 8693 §3: the token type URI of a JWT.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// RFC 8693 §3: the token type URI of an ID token.
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// RFC 8693 §3: the token type URI of a refresh token.
pub const REFRESH_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:refresh_token";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApplicationType, TokenEndpointAuthMethod};

    /// The serde spelling and `as_str` are written twice; they must agree for every variant.
    #[test]
    fn wire_names_agree_with_serde() {
        fn check<T: Serialize + Copy>(values: &[T], name: impl Fn(T) -> &'static str) {
            for value in values {
                assert_eq!(
                    serde_json::to_value(value).unwrap(),
                    serde_json::Value::from(name(*value))
                );
            }
        }
        check(&GrantType::ALL, GrantType::as_str);
        check(
            &TokenEndpointAuthMethod::ALL,
            TokenEndpointAuthMethod::as_str,
        );
        check(&ApplicationType::ALL, ApplicationType::as_str);
        for grant in GrantType::ALL {
            assert_eq!(GrantType::parse(grant.as_str()), Some(grant));
        }
        assert_eq!(GrantType::parse("password"), None);
        assert_eq!(GrantType::parse("implicit"), None);
        assert_eq!(
            TokenEndpointAuthMethod::parse("private_key_jwt"),
            Some(TokenEndpointAuthMethod::PrivateKeyJwt)
        );
        assert_eq!(TokenEndpointAuthMethod::parse("tls_client_auth"), None);
    }
}
