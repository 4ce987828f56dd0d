//! RFC 7591 dynamic client registration and RFC 7592 client configuration management.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::GrantType;

/// RFC 7591 §2 `token_endpoint_auth_method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    /// HTTP Basic with the issued secret (the default).
    ClientSecretBasic,
    /// `client_id` + `client_secret` in the form body.
    ClientSecretPost,
    /// A public client: no secret (PKCE protects its codes).
    None,
    /// RFC 7523 §2.2 / OIDC Core §9: a JWT the client signs with its private key (its public
    /// keys registered as `jwks` or `jwks_uri`); no shared secret exists.
    PrivateKeyJwt,
    /// OIDC Core §9: a JWT the client MACs (HS256) with its issued `client_secret`.
    ClientSecretJwt,
}

impl TokenEndpointAuthMethod {
    /// Every method the token endpoint accepts.
    pub const ALL: [TokenEndpointAuthMethod; 5] = [
        TokenEndpointAuthMethod::ClientSecretBasic,
        TokenEndpointAuthMethod::ClientSecretPost,
        TokenEndpointAuthMethod::None,
        TokenEndpointAuthMethod::PrivateKeyJwt,
        TokenEndpointAuthMethod::ClientSecretJwt,
    ];

    /// The registered name (RFC 7591 §2).
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenEndpointAuthMethod::ClientSecretBasic => "client_secret_basic",
            TokenEndpointAuthMethod::ClientSecretPost => "client_secret_post",
            TokenEndpointAuthMethod::None => "none",
            TokenEndpointAuthMethod::PrivateKeyJwt => "private_key_jwt",
            TokenEndpointAuthMethod::ClientSecretJwt => "client_secret_jwt",
        }
    }

    /// Parses a registered name; `None` for methods this provider does not implement.
    pub fn parse(value: &str) -> Option<Self> {
        TokenEndpointAuthMethod::ALL
            .into_iter()
            .find(|method| method.as_str() == value)
    }

    /// True for the methods that need an issued client secret.
    pub const fn uses_secret(self) -> bool {
        matches!(
            self,
            TokenEndpointAuthMethod::ClientSecretBasic
                | TokenEndpointAuthMethod::ClientSecretPost
                | TokenEndpointAuthMethod::ClientSecretJwt
        )
    }

    /// True for `none`: a public client.
    pub const fn is_public(self) -> bool {
        matches!(self, TokenEndpointAuthMethod::None)
    }

    /// True for the methods that authenticate with a signed JWT (`client_assertion`).
    pub const fn uses_assertion(self) -> bool {
        matches!(
            self,
            TokenEndpointAuthMethod::PrivateKeyJwt | TokenEndpointAuthMethod::ClientSecretJwt
        )
    }
}

/// OIDC Registration §2 `application_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationType {
    /// Redirect URIs use https (http only on loopback). The default.
    Web,
    /// RFC 8252 native app: loopback redirects on any port, or a reverse-DNS private scheme.
    Native,
}

impl ApplicationType {
    /// Both kinds.
    pub const ALL: [ApplicationType; 2] = [ApplicationType::Web, ApplicationType::Native];

    /// The registered name (OIDC Registration §2).
    pub const fn as_str(self) -> &'static str {
        match self {
            ApplicationType::Web => "web",
            ApplicationType::Native => "native",
        }
    }

    /// Parses a registered name.
    pub fn parse(value: &str) -> Option<Self> {
        ApplicationType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

/// RFC 7591 §2 client metadata, sent as JSON to `POST /register`. Unknown members are ignored
/// (§2); omitted ones get the defaults below.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "client_name": "My web app",
    "redirect_uris": ["http://127.0.0.1:8082/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_method": "client_secret_basic",
    "scope": "openid profile email offline_access"
}))]
pub struct ClientMetadataRequest {
    /// Redirect URIs (required for `authorization_code`): absolute, no fragment; https, or
    /// http on loopback; native apps may use a reverse-DNS private-use scheme.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// RP-Initiated Logout §3.1: where `/end_session` may send the browser afterwards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Default `client_secret_basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    /// Default `["authorization_code"]`. `refresh_token` needs `authorization_code` or the
    /// device grant; public clients cannot use `client_credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub grant_types: Option<Vec<GrantType>>,
    /// Only `code`; default `["code"]` when `authorization_code` is used, else `[]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub response_types: Option<Vec<String>>,
    /// Display name shown on the consent page (at most 100 printable characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_length = 100, example = "My web app")]
    pub client_name: Option<String>,
    /// Space-separated scopes the client may request (known scopes only). Default
    /// `openid profile email offline_access`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "openid profile email offline_access")]
    pub scope: Option<String>,
    /// Default `web`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub application_type: Option<ApplicationType>,
    /// `RS256` (default), `ES256` or `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "RS256")]
    pub id_token_signed_response_alg: Option<String>,
    /// OIDC Registration §2: the client's public signing keys as a JWK Set (1 to 10 RSA, EC
    /// or OKP keys, no private members); `private_key_jwt` needs this or `jwks_uri`, never
    /// both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Object)]
    pub jwks: Option<serde_json::Value>,
    /// OIDC Registration §2: where the client publishes its JWK Set: https (http only on
    /// loopback, dev mode), fetched with no redirects, 5 s, 64 KB at most, cached as its
    /// `Cache-Control` says; non-public addresses are refused outside dev mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "https://app.example.com/jwks.json")]
    pub jwks_uri: Option<String>,
    /// RFC 9449 §5.2: every token request of this client carries a DPoP proof (one without
    /// is refused with `invalid_dpop_proof`). Default `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub dpop_bound_access_tokens: Option<bool>,
    /// RFC 9101 §10.5 / OIDC Registration §2: request objects of this client are signed with
    /// this algorithm (`RS256`, `ES256` or `EdDSA`; `none` is refused). Needs `jwks` or
    /// `jwks_uri`, and request objects enabled (see `request_parameter_supported`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "ES256")]
    pub request_object_signing_alg: Option<String>,
    /// RFC 9101 §10.5: every authorization request of this client must be a signed request
    /// object (`request` at `/authorize` or `/par`). Default `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub require_signed_request_object: Option<bool>,
    /// OIDC Registration §2: ID tokens are encrypted to the client (JWE `RSA-OAEP-256` or
    /// `ECDH-ES`) with a key from its `jwks`/`jwks_uri` (RSA, or EC P-256; `use` absent or
    /// `enc`). Only when `id_token_encryption_alg_values_supported` is advertised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "RSA-OAEP-256")]
    pub id_token_encrypted_response_alg: Option<String>,
    /// JWE `enc` of ID tokens: `A128CBC-HS256` (default), `A128GCM` or `A256GCM`; needs the
    /// `alg` above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "A256GCM")]
    pub id_token_encrypted_response_enc: Option<String>,
    /// OIDC Core §5.3.2: UserInfo answers as a JWT (`application/jwt`) signed with this
    /// algorithm (`RS256`, `ES256` or `EdDSA`), with `iss` and `aud`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "ES256")]
    pub userinfo_signed_response_alg: Option<String>,
    /// UserInfo answers encrypted to the client (as for ID tokens); nested in a signature when
    /// `userinfo_signed_response_alg` is set too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "ECDH-ES")]
    pub userinfo_encrypted_response_alg: Option<String>,
    /// JWE `enc` of UserInfo answers (default `A128CBC-HS256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "A128GCM")]
    pub userinfo_encrypted_response_enc: Option<String>,
    /// OpenID Connect Back-Channel Logout §2.2: where the provider POSTs a logout token
    /// (`logout_token`, form-encoded) when a session this client got tokens in ends. https
    /// (http only on loopback), no fragment. Only when `backchannel_logout_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        example = "https://app.example.com/backchannel-logout"
    )]
    pub backchannel_logout_uri: Option<String>,
    /// §2.2: the client needs `sid` in logout tokens (this provider always sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub backchannel_logout_session_required: Option<bool>,
    /// OIDC Registration §2: `acr_values` for authorization requests that name none: `1`
    /// (password) or `2` (a second factor: users who set one up are asked for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(["2"]))]
    pub default_acr_values: Option<Vec<String>>,
}

/// RFC 7592 §2.2 update request: the complete metadata (it replaces the old), repeating the
/// `client_id`. A client cannot switch between public and confidential.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientUpdateRequest {
    /// Must equal the `client_id` in the path.
    #[schema(min_length = 1)]
    pub client_id: String,
    /// The new metadata.
    #[serde(flatten)]
    pub metadata: ClientMetadataRequest,
}

/// RFC 7591 §3.2.1 client information response (and RFC 7592 §3 read/update responses):
/// the registered metadata with defaults filled in. Sent with `Cache-Control: no-store`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientInformation {
    /// The issued client identifier.
    pub client_id: String,
    /// Display name.
    pub client_name: String,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Registered grant types.
    pub grant_types: Vec<String>,
    /// Registered response types.
    pub response_types: Vec<String>,
    /// How the client authenticates at the token endpoint.
    pub token_endpoint_auth_method: String,
    /// `web` or `native`.
    pub application_type: String,
    /// Scopes the client may request.
    pub scope: String,
    /// ID token signature algorithm.
    pub id_token_signed_response_alg: String,
    /// The registered public keys, when given inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Object)]
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its public keys, when registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub jwks_uri: Option<String>,
    /// RFC 9449 §5.2: the client always uses DPoP.
    pub dpop_bound_access_tokens: bool,
    /// RFC 9101 §10.5: the algorithm of the client's request objects, when registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub request_object_signing_alg: Option<String>,
    /// RFC 9101 §10.5: present (`true`) when the client must send signed request objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub require_signed_request_object: Option<bool>,
    /// OIDC Registration §2: JWE `alg` of ID tokens, when registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id_token_encrypted_response_alg: Option<String>,
    /// JWE `enc` of ID tokens, when registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id_token_encrypted_response_enc: Option<String>,
    /// Signature algorithm of UserInfo answers, when registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub userinfo_signed_response_alg: Option<String>,
    /// JWE `alg` of UserInfo answers, when registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub userinfo_encrypted_response_alg: Option<String>,
    /// JWE `enc` of UserInfo answers, when registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub userinfo_encrypted_response_enc: Option<String>,
    /// Back-Channel Logout §2.2: where logout tokens go, when registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub backchannel_logout_uri: Option<String>,
    /// Back-Channel Logout §2.2: present with `backchannel_logout_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub backchannel_logout_session_required: Option<bool>,
    /// OIDC Registration §2: the registered `default_acr_values`, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub default_acr_values: Option<Vec<String>>,
    /// RFC 7592 §3: the client configuration endpoint of this client.
    pub registration_client_uri: String,
    /// Registration only: issue time (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_id_issued_at: Option<i64>,
    /// Registration only, confidential clients: the secret (shown once, stored hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_secret: Option<String>,
    /// Registration only, confidential clients: `0` (the secret does not expire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_secret_expires_at: Option<i64>,
    /// Registration only: the RFC 7592 bearer token for managing this client (shown once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub registration_access_token: Option<String>,
}
