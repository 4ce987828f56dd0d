//! OpenID Connect Discovery 1.0 / RFC 8414 metadata and the RFC 7517 JWK Set.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// OpenID Connect Discovery 1.0 §3 and RFC 8414 §2 authorization server metadata.
///
/// Optional members are omitted when `None`, so the document advertises only what exists.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DiscoveryDocument {
    /// The issuer identifier; equals the URL the document was fetched under, minus the suffix.
    pub issuer: String,
    /// RFC 6749 §3.1 authorization endpoint.
    pub authorization_endpoint: String,
    /// RFC 6749 §3.2 token endpoint.
    pub token_endpoint: String,
    /// OIDC Core §5.3 UserInfo endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub userinfo_endpoint: Option<String>,
    /// RFC 7517 JWK Set of the signing keys.
    pub jwks_uri: String,
    /// RFC 7591 dynamic client registration endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub registration_endpoint: Option<String>,
    /// RFC 7662 introspection endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub introspection_endpoint: Option<String>,
    /// RFC 7009 revocation endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub revocation_endpoint: Option<String>,
    /// RFC 8628 device authorization endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub device_authorization_endpoint: Option<String>,
    /// RFC 9126 pushed authorization request endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 9126 §5: whether every client must use PAR.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub require_pushed_authorization_requests: Option<bool>,
    /// OpenID Connect RP-Initiated Logout 1.0 end-session endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub end_session_endpoint: Option<String>,
    /// Scopes a client may request.
    pub scopes_supported: Vec<String>,
    /// Only `code`: OAuth 2.1 drops the implicit and hybrid flows.
    pub response_types_supported: Vec<String>,
    /// Only `query`.
    pub response_modes_supported: Vec<String>,
    /// Grants the token endpoint accepts.
    pub grant_types_supported: Vec<String>,
    /// `public` subject identifiers (stable per user, the same for every client).
    pub subject_types_supported: Vec<String>,
    /// ID token signature algorithms.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Client authentication methods at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 8414 §2: JWS algorithms of `private_key_jwt` (asymmetric) and `client_secret_jwt`
    /// (HS256) client assertions.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// draft-ietf-oauth-client-id-metadata-document: an https `client_id` naming the client's
    /// metadata document is accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_id_metadata_document_supported: Option<bool>,
    /// RFC 9449 §5.1: the JWS algorithms of DPoP proofs.
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// Client authentication methods at the introspection endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub introspection_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Client authentication methods at the revocation endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Claims the provider can release.
    pub claims_supported: Vec<String>,
    /// RFC 7636: only `S256`; `plain` is refused.
    pub code_challenge_methods_supported: Vec<String>,
    /// OIDC `prompt` values honoured.
    pub prompt_values_supported: Vec<String>,
    /// RFC 9207: the authorization response carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// OIDC Discovery: `claims` request parameter (not supported).
    pub claims_parameter_supported: bool,
    /// OIDC Discovery: the `acr` values: `1` (a password), `2` (a second factor).
    pub acr_values_supported: Vec<String>,
    /// OIDC Discovery: `request` parameter (RFC 9101 signed request objects by value, when
    /// enabled).
    pub request_parameter_supported: bool,
    /// OIDC Discovery / RFC 9101 §10.1: the algorithms request objects may be signed with
    /// (only when request objects are enabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg_values_supported: Option<Vec<String>>,
    /// RFC 9101 §10.5: every client must use signed request objects (per-client otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_signed_request_object: Option<bool>,
    /// OIDC Discovery: JWE `alg` values for ID tokens (only when encrypted responses are on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_encryption_alg_values_supported: Option<Vec<String>>,
    /// OIDC Discovery: JWE `enc` values for ID tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_encryption_enc_values_supported: Option<Vec<String>>,
    /// OIDC Discovery: JWS algorithms of signed UserInfo responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_signing_alg_values_supported: Option<Vec<String>>,
    /// OIDC Discovery: JWE `alg` values for UserInfo responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_encryption_alg_values_supported: Option<Vec<String>>,
    /// OIDC Discovery: JWE `enc` values for UserInfo responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_encryption_enc_values_supported: Option<Vec<String>>,
    /// Back-Channel Logout §2.1: logout tokens are sent (when enabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_supported: Option<bool>,
    /// Back-Channel Logout §2.1: logout tokens and ID tokens carry `sid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_session_supported: Option<bool>,
    /// OIDC Discovery: `request_uri` parameter outside PAR (not supported).
    pub request_uri_parameter_supported: bool,
}

/// RFC 7517 §5 JWK Set: the provider's public signing keys (public members only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    /// Every published key: the active signing keys and, around a rotation, the next and the
    /// previous ones. Pick the key by the JWS header's `kid`.
    pub keys: Vec<Jwk>,
}

/// RFC 7517 §4 JSON Web Key, public members only (RFC 7518 §6 for RSA and EC, RFC 8037 for
/// OKP/Ed25519). Unknown members may appear and must be ignored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"kty": "EC", "use": "sig", "alg": "ES256", "kid": "o1kowKaBICb0EdgFUH-pgAbAa9yz_E4zPWyEqRGVvgc", "crv": "P-256", "x": "faALSx3W7H401d_mTX03wgDxYQNd7yNuR15BoD75sVM", "y": "tUapMpmI2dQFQQ_zGEL9ShIYUKlCMkYR6m6aiIBOpFk"}))]
pub struct Jwk {
    /// Key type: `RSA`, `EC` or `OKP`.
    #[schema(example = "RSA")]
    pub kty: String,
    /// RFC 7638 thumbprint of the key; JWS headers name it.
    pub kid: String,
    /// Signature algorithm the key is used with: `RS256`, `ES256` or `EdDSA`.
    #[schema(example = "RS256")]
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub key_use: String,
    /// RSA modulus (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub n: Option<String>,
    /// RSA public exponent (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub e: Option<String>,
    /// Curve: `P-256` (EC) or `Ed25519` (OKP).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub crv: Option<String>,
    /// EC x coordinate or the Ed25519 public key (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub x: Option<String>,
    /// EC y coordinate (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub y: Option<String>,
}
