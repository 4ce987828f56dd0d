//! The front channel: RFC 6749 §4.1.1 authorization requests (also pushed, RFC 9126), the
//! login and consent forms, and OpenID Connect RP-Initiated Logout.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// RFC 6749 §3.1.1 `response_type`: only `code` (OAuth 2.1 removed the implicit flow).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// The authorization code flow.
    Code,
}

/// RFC 7636 §4.3 `code_challenge_method`: only `S256` (`plain` is refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum CodeChallengeMethod {
    /// `BASE64URL(SHA256(code_verifier))`.
    S256,
}

/// OAuth 2.0 Multiple Response Types §2.1 `response_mode`: only `query`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// The response parameters go in the redirect URI's query string.
    Query,
}

/// RFC 6749 §4.1.1 / OIDC Core §3.1.2.1 authorization request parameters: the query of
/// `GET /authorize` or the form body of `POST /authorize`.
///
/// With RFC 9126 PAR, send only `client_id` and the `request_uri` from `/par`. Otherwise
/// `response_type`, `redirect_uri`, `scope` and `code_challenge` are required (PKCE S256 is
/// mandatory for every client). Parameters must not repeat; empty ones count as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct AuthorizationRequestParams {
    /// The registered client.
    #[param(min_length = 1, example = json!(crate::demo::CLI_CLIENT_ID))]
    #[schema(min_length = 1, example = json!(crate::demo::CLI_CLIENT_ID))]
    pub client_id: String,
    /// Must be `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false, inline, example = "code")]
    #[schema(nullable = false, example = "code")]
    pub response_type: Option<ResponseType>,
    /// One of the client's registered redirect URIs, exactly (native clients: any loopback
    /// port, RFC 8252 §7.3). Until it is validated, errors are shown as an HTML page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false, example = json!(crate::demo::CLI_REDIRECT_URI))]
    #[schema(nullable = false, example = json!(crate::demo::CLI_REDIRECT_URI))]
    pub redirect_uri: Option<String>,
    /// Space-separated scopes: `openid profile email offline_access api:read api:write`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false, example = "openid profile")]
    #[schema(nullable = false, example = "openid profile")]
    pub scope: Option<String>,
    /// Opaque value echoed back in the redirect (CSRF protection for the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false, max_length = 2048, example = "af0ifjsldkj")]
    #[schema(nullable = false, max_length = 2048, example = "af0ifjsldkj")]
    pub state: Option<String>,
    /// OIDC nonce, copied into the ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false, max_length = 512, example = "n-0S6_WzA2Mj")]
    #[schema(nullable = false, max_length = 512, example = "n-0S6_WzA2Mj")]
    pub nonce: Option<String>,
    /// RFC 7636 S256 challenge: `BASE64URL(SHA256(code_verifier))`, 43 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false, pattern = "^[A-Za-z0-9_-]{43}$", example = json!(crate::demo::CODE_CHALLENGE))]
    #[schema(nullable = false, pattern = "^[A-Za-z0-9_-]{43}$", example = json!(crate::demo::CODE_CHALLENGE))]
    pub code_challenge: Option<String>,
    /// Must be `S256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false, inline, example = "S256")]
    #[schema(nullable = false, example = "S256")]
    pub code_challenge_method: Option<CodeChallengeMethod>,
    /// `query` (the only mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false, inline)]
    #[schema(nullable = false)]
    pub response_mode: Option<ResponseMode>,
    /// OIDC `prompt`: `none`, or any of `login`, `consent`, `select_account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false)]
    #[schema(nullable = false, example = "")]
    pub prompt: Option<String>,
    /// Maximum authentication age in seconds; an older session must log in again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false, minimum = 0)]
    #[schema(nullable = false, minimum = 0)]
    pub max_age: Option<u64>,
    /// Pre-fills the user name on the login page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false, max_length = 256)]
    #[schema(nullable = false, max_length = 256, example = "")]
    pub login_hint: Option<String>,
    /// An ID token this provider issued to this client: the user it names must be signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false)]
    #[schema(nullable = false, example = "")]
    pub id_token_hint: Option<String>,
    /// RFC 8707 resource indicator: a registered resource server the tokens are for; repeat it
    /// for several (each token is then for one of them, chosen at the token endpoint).
    /// Default: the client's default resource. Unknown, unregistered or not the client's:
    /// `invalid_target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false)]
    #[schema(nullable = false, example = json!(crate::demo::API_RESOURCE))]
    pub resource: Option<String>,
    /// RFC 9449 §10: binds the code to a DPoP key (its RFC 7638 SHA-256 thumbprint); the token
    /// request must then carry a DPoP proof made with that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false)]
    #[schema(nullable = false, example = "")]
    pub dpop_jkt: Option<String>,
    /// RFC 9126 §4: the `request_uri` returned by `/par` (one use, 60 seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false)]
    #[schema(nullable = false, example = "")]
    pub request_uri: Option<String>,
    /// OIDC Core §3.1.2.1: requested authentication context: `2` asks for a sign-in with a
    /// second factor (step-up: a session signed in with a password alone signs in again; users
    /// without a second factor get `acr` 1 in the ID token), `1` for a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false)]
    #[schema(nullable = false, example = "")]
    pub acr_values: Option<String>,
    /// RFC 9101 §5.1: the whole request as a signed JWT (request object) by value, when the
    /// provider advertises `request_parameter_supported`: signed RS256, ES256 or EdDSA with a
    /// key the client registered (`jwks`/`jwks_uri`), `iss` = `client_id`, `aud` = the issuer,
    /// `exp` at most an hour ahead. Only its claims count (§6.3); `client_id` must still be
    /// sent alongside. Refused with `invalid_request_object` (shown, never redirected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false)]
    #[schema(nullable = false, example = "")]
    pub request: Option<String>,
}

/// RFC 9126 §2.1 pushed authorization request (`application/x-www-form-urlencoded`): the
/// authorization request parameters, pushed by an authenticated client. `request_uri` must
/// not be pushed and `id_token_hint` is not supported here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PushedAuthorizationRequest {
    /// The client (omit it with HTTP Basic; if sent, it must match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(crate::demo::WEB_CLIENT_ID))]
    pub client_id: Option<String>,
    /// `client_secret_post` clients only (never together with HTTP Basic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_secret: Option<String>,
    /// Must be `code`.
    #[schema(example = "code")]
    pub response_type: ResponseType,
    /// One of the client's registered redirect URIs, exactly.
    #[schema(min_length = 1, example = json!(crate::demo::WEB_REDIRECT_URI))]
    pub redirect_uri: String,
    /// Space-separated scopes.
    #[schema(min_length = 1, example = "openid profile")]
    pub scope: String,
    /// RFC 7636 S256 challenge.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$", example = json!(crate::demo::CODE_CHALLENGE))]
    pub code_challenge: String,
    /// Must be `S256`.
    #[schema(example = "S256")]
    pub code_challenge_method: CodeChallengeMethod,
    /// Echoed back in the redirect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_length = 2048, example = "af0ifjsldkj")]
    pub state: Option<String>,
    /// OIDC nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_length = 512, example = "n-0S6_WzA2Mj")]
    pub nonce: Option<String>,
    /// `query` (the only mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub response_mode: Option<ResponseMode>,
    /// OIDC `prompt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "")]
    pub prompt: Option<String>,
    /// Maximum authentication age in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0)]
    pub max_age: Option<u64>,
    /// Pre-fills the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_length = 256, example = "")]
    pub login_hint: Option<String>,
    /// RFC 8707 resource indicator; repeat it for several (as at `/authorize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(crate::demo::API_RESOURCE))]
    pub resource: Option<String>,
    /// RFC 9101 / RFC 9126 §3: the request as a signed request object (see `/authorize`);
    /// then only its claims count and the parameters above are taken from it. Clients
    /// registered with `require_signed_request_object` must use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "")]
    pub request: Option<String>,
}

/// RFC 9126 §2.2 pushed authorization response. Sent with `Cache-Control: no-store`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ParResponse {
    /// One-time reference for `/authorize?client_id=…&request_uri=…`.
    #[schema(example = "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c")]
    pub request_uri: String,
    /// Seconds until it expires.
    #[schema(example = 60)]
    pub expires_in: u64,
}

/// Login form of an interaction (`POST /interaction/{id}/login`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoginForm {
    /// The synchroniser token from the login page (bound to the interaction).
    #[schema(min_length = 1)]
    pub csrf_token: String,
    /// User name.
    #[schema(example = "alice")]
    pub username: String,
    /// Password (at most 72 bytes: longer ones are refused, not truncated).
    #[schema(format = Password)]
    pub password: String,
}

/// Second-factor form of an interaction (`POST /interaction/{id}/second-factor`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecondFactorForm {
    /// The synchroniser token from the page (bound to the interaction).
    #[schema(min_length = 1)]
    pub csrf_token: String,
    /// A current six-digit code from the authenticator app (RFC 6238), or a recovery code
    /// (`xxxxx-xxxxx`).
    #[schema(example = "123456")]
    pub code: String,
}

/// The user's answer on the consent page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentDecision {
    /// Grant the requested scopes.
    Allow,
    /// Refuse: the client receives `access_denied`.
    Deny,
}

/// Consent form of an interaction (`POST /interaction/{id}/consent`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentForm {
    /// The synchroniser token from the consent page.
    #[schema(min_length = 1)]
    pub csrf_token: String,
    /// Allow or Deny (anything but `allow` counts as Deny).
    pub decision: ConsentDecision,
}

/// OpenID Connect RP-Initiated Logout 1.0 §2 request: the query of `GET /end_session` or the
/// form body of `POST /end_session`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct EndSessionParams {
    /// An ID token this provider issued: when it names the signed-in user, no confirmation is
    /// asked (expired tokens are accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false)]
    #[schema(nullable = false, example = "")]
    pub id_token_hint: Option<String>,
    /// The client asking (needed for `post_logout_redirect_uri` without `id_token_hint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false, example = json!(crate::demo::WEB_CLIENT_ID))]
    #[schema(nullable = false, example = json!(crate::demo::WEB_CLIENT_ID))]
    pub client_id: Option<String>,
    /// One of the client's registered post-logout redirect URIs, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false, example = "http://127.0.0.1:8082/")]
    #[schema(nullable = false, example = "http://127.0.0.1:8082/")]
    pub post_logout_redirect_uri: Option<String>,
    /// Echoed back to the post-logout redirect URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false)]
    #[schema(nullable = false, example = "")]
    pub state: Option<String>,
}

/// The user's answer on the logout confirmation page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogoutDecision {
    /// End the session.
    Logout,
    /// Stay signed in.
    Stay,
}

/// Logout confirmation form (`POST /end_session/confirm`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EndSessionConfirmForm {
    /// The token from the confirmation page: an HMAC by the provider over this browser's
    /// session, the client and the redirect target.
    #[schema(min_length = 1)]
    pub csrf_token: String,
    /// The client that asked for the sign-out (may be empty).
    #[serde(default)]
    pub client_id: String,
    /// The `post_logout_redirect_uri` of the request (may be empty); checked again against
    /// the client's registration.
    #[serde(default)]
    pub post_logout_redirect_uri: String,
    /// The request's `state`, returned with the redirect (may be empty).
    #[serde(default)]
    pub state: String,
    /// `logout` ends the session; anything else keeps it.
    pub decision: LogoutDecision,
}
