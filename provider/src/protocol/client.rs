//! Registered clients (RFC 7591 metadata names) and RFC 6749 §2.3 client authentication.

use std::borrow::Borrow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keys::SigningAlg;
use keys::jwe::{ContentEncryption, KeyManagement};
use serde::{Deserialize, Serialize};

pub use openapi::{ApplicationType, GrantType, ResponseType, TokenEndpointAuthMethod};

use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::params::Params;
use crate::protocol::redirect_uri::LoopbackRule;
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{ClientId, ClientSecret, SecretDigest};

/// RFC 7591 §2 client metadata, typed: strings exist only at the store and wire boundaries,
/// plus a few provider-specific members (documented below).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientMetadata {
    /// Human-readable name shown on the consent page.
    pub client_name: String,
    /// Registered redirection endpoints, compared by exact string.
    pub redirect_uris: Vec<String>,
    /// OpenID Connect RP-Initiated Logout §3.1 registered post-logout redirects.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Grants the client may use.
    pub grant_types: Vec<GrantType>,
    /// `["code"]` for clients that use the authorization endpoint, else empty.
    #[serde(default)]
    pub response_types: Vec<ResponseType>,
    /// How the client authenticates at the token endpoint; `none` makes it a public client.
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// OIDC Registration §2; native public clients get the RFC 8252 loopback rule.
    #[serde(default = "default_application_type")]
    pub application_type: ApplicationType,
    /// The scopes the client may request.
    pub scope: ScopeSet,
    /// OIDC Registration §2: the ID token signature algorithm.
    #[serde(default = "default_alg")]
    pub id_token_signed_response_alg: SigningAlg,
    /// Provider-specific: the access-token signature algorithm (default RS256).
    #[serde(default = "default_alg")]
    pub access_token_signed_response_alg: SigningAlg,
    /// Provider-specific: the resource server (RFC 8707 indicator) of access tokens when the
    /// client names none; `None`: tokens for the provider itself (UserInfo). Records stored
    /// before the resource registry call it `default_audience`.
    #[serde(
        default,
        alias = "default_audience",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_resource: Option<String>,
    /// Provider-specific: the further RFC 8707 resource indicators this client may request
    /// (only registered resources count).
    #[serde(default)]
    pub allowed_resources: Vec<String>,
    /// Provider-specific: a first-party client skips the consent page (unless `prompt=consent`
    /// or a scope needs explicit consent, such as `offline_access`).
    #[serde(default)]
    pub first_party: bool,
    /// RFC 9126 §6: this client must use pushed authorization requests.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Provider-specific: a resource server may introspect tokens issued to other clients
    /// (RFC 7662 §2.1 leaves the policy to the server).
    #[serde(default)]
    pub resource_server: bool,
    /// RFC 9449 §5.2: every token request of this client must carry a DPoP proof.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// OIDC Registration §2: the client's public keys (`private_key_jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<keys::JwkSet>,
    /// OIDC Registration §2: where the client publishes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// RFC 9101 §10.5 / OIDC Registration §2: request objects must be signed with this algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg: Option<SigningAlg>,
    /// RFC 9101 §10.5: every authorization request must be a signed request object (by value,
    /// or pushed).
    #[serde(default)]
    pub require_signed_request_object: bool,
    /// OIDC Registration §2: ID tokens are encrypted to the client's key with this JWE
    /// key-management algorithm (then `id_token_encrypted_response_enc` is set too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_encrypted_response_alg: Option<KeyManagement>,
    /// OIDC Registration §2: the JWE content encryption of ID tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_encrypted_response_enc: Option<ContentEncryption>,
    /// OIDC Registration §2: UserInfo answers as a JWT signed with this algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_signed_response_alg: Option<SigningAlg>,
    /// OIDC Registration §2: UserInfo answers encrypted to the client's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_encrypted_response_alg: Option<KeyManagement>,
    /// OIDC Registration §2: the JWE content encryption of UserInfo answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_encrypted_response_enc: Option<ContentEncryption>,
    /// OIDC Registration §2: the `acr_values` of requests that name none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_acr_values: Vec<String>,
    /// Back-Channel Logout §2.2: where logout tokens are POSTed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// Back-Channel Logout §2.2: the client needs `sid` in logout tokens (always sent here).
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// Provider-specific, `client_secret_jwt` only: the per-client input from which the
    /// client's secret is derived with the server's HMAC key (HS256 needs the secret itself;
    /// it is never stored, only re-derived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_derivation: Option<String>,
}

fn default_application_type() -> ApplicationType {
    ApplicationType::Web
}

fn default_alg() -> SigningAlg {
    SigningAlg::RS256
}

/// A client as the protocol core sees it: its id, secret digest (confidential clients) and
/// metadata.
#[derive(Clone, Debug)]
pub struct RegisteredClient {
    /// The client identifier.
    pub client_id: ClientId,
    /// SHA-256 digest of the secret; `None` for public clients.
    pub secret_digest: Option<SecretDigest>,
    /// Registered metadata.
    pub metadata: ClientMetadata,
}

impl RegisteredClient {
    /// True for public clients (`token_endpoint_auth_method: none`).
    pub fn is_public(&self) -> bool {
        self.metadata.token_endpoint_auth_method.is_public()
    }

    /// RFC 8252 §7.3 applies to native public clients only.
    pub fn loopback_rule(&self) -> LoopbackRule {
        if self.is_public() && self.metadata.application_type == ApplicationType::Native {
            LoopbackRule::AnyPort
        } else {
            LoopbackRule::ExactOnly
        }
    }

    /// True when `grant_type` is registered for the client.
    pub fn allows_grant(&self, grant_type: GrantType) -> bool {
        self.metadata.grant_types.contains(&grant_type)
    }

    /// RFC 6749 §5.2 `unauthorized_client` unless the client is registered for `grant_type`.
    pub fn check_grant(&self, grant_type: GrantType) -> Result<(), OAuthError> {
        if self.allows_grant(grant_type) {
            Ok(())
        } else {
            Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client is not registered for this grant type",
            ))
        }
    }

    /// The scopes the client may request.
    pub fn allowed_scope(&self) -> &ScopeSet {
        &self.metadata.scope
    }

    /// How ID tokens are encrypted to the client, if they are.
    pub fn id_token_encryption(&self) -> Option<(KeyManagement, ContentEncryption)> {
        let metadata = &self.metadata;
        Some((
            metadata.id_token_encrypted_response_alg?,
            metadata
                .id_token_encrypted_response_enc
                .unwrap_or(ContentEncryption::A128CbcHs256),
        ))
    }

    /// How UserInfo answers are encrypted to the client, if they are.
    pub fn userinfo_encryption(&self) -> Option<(KeyManagement, ContentEncryption)> {
        let metadata = &self.metadata;
        Some((
            metadata.userinfo_encrypted_response_alg?,
            metadata
                .userinfo_encrypted_response_enc
                .unwrap_or(ContentEncryption::A128CbcHs256),
        ))
    }

    /// The ID token signature algorithm.
    pub fn id_token_alg(&self) -> SigningAlg {
        self.metadata.id_token_signed_response_alg
    }

    /// The access token signature algorithm of tokens for the provider itself (a resource
    /// server's tokens are signed with the resource's algorithm).
    pub fn access_token_alg(&self) -> SigningAlg {
        self.metadata.access_token_signed_response_alg
    }
}

/// How the client presented itself at a token-type endpoint (RFC 6749 §2.3).
#[derive(Debug)]
pub enum PresentedCredentials {
    /// `Authorization: Basic` (RFC 6749 §2.3.1).
    Basic {
        /// Decoded client id.
        client_id: String,
        /// Decoded secret.
        secret: ClientSecret,
    },
    /// `client_id` + `client_secret` in the form body.
    Post {
        /// The client id.
        client_id: String,
        /// The secret.
        secret: ClientSecret,
    },
    /// Only `client_id` in the form body: a public client.
    None {
        /// The client id.
        client_id: String,
    },
    /// RFC 7523 §2.2: `client_assertion_type` jwt-bearer and `client_assertion` (the JWT is
    /// verified by the caller, which has to load the client's keys).
    Assertion {
        /// The client the assertion names (`sub`).
        client_id: String,
        /// The JWT.
        assertion: String,
    },
}

impl PresentedCredentials {
    /// The client id the caller claims.
    pub fn client_id(&self) -> &str {
        match self {
            PresentedCredentials::Basic { client_id, .. }
            | PresentedCredentials::Post { client_id, .. }
            | PresentedCredentials::None { client_id }
            | PresentedCredentials::Assertion { client_id, .. } => client_id,
        }
    }

    /// True when the client used HTTP Basic, so a 401 must carry `WWW-Authenticate: Basic`.
    pub fn used_basic(&self) -> bool {
        matches!(self, PresentedCredentials::Basic { .. })
    }
}

/// The failure to report when client authentication fails, with whether Basic was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAuthError {
    /// The error to send.
    pub error: OAuthError,
    /// RFC 6749 §5.2: answer 401 + `WWW-Authenticate: Basic` when the client used Basic.
    pub used_basic: bool,
}

impl ClientAuthError {
    /// The failure `error`, answered with a Basic challenge when `used_basic`.
    pub fn new(error: OAuthError, used_basic: bool) -> Self {
        ClientAuthError { error, used_basic }
    }
}

const BAD_CLIENT: OAuthError = OAuthError::invalid_client("client authentication failed");

/// RFC 6749 §2.3: reads the client's credentials from the `Authorization` header and the body.
///
/// Using more than one method is an `invalid_request` (RFC 6749 §2.3). The Basic credentials
/// are form-urlencoded before base64 (RFC 6749 §2.3.1), so both halves are decoded.
pub fn parse_client_credentials(
    authorization: Option<&str>,
    params: &Params,
) -> Result<PresentedCredentials, ClientAuthError> {
    let body_client_id = params
        .single("client_id")
        .map_err(|e| ClientAuthError::new(e, false))?;
    let body_secret = params
        .single("client_secret")
        .map_err(|e| ClientAuthError::new(e, false))?;
    let assertion_type = params
        .single("client_assertion_type")
        .map_err(|e| ClientAuthError::new(e, false))?;
    let assertion = params
        .single("client_assertion")
        .map_err(|e| ClientAuthError::new(e, false))?;
    if assertion_type.is_some() || assertion.is_some() {
        let refuse = |error| Err(ClientAuthError::new(error, authorization.is_some()));
        if authorization.is_some() || body_secret.is_some() {
            return refuse(OAuthError::invalid_request(
                "use one client authentication method: a client_assertion, or a secret",
            ));
        }
        if assertion_type != Some(crate::protocol::client_assertion::ASSERTION_TYPE) {
            return refuse(OAuthError::invalid_client(
                "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer (RFC 7523 §2.2)",
            ));
        }
        let Some(assertion) = assertion else {
            return refuse(OAuthError::invalid_client("client_assertion is missing"));
        };
        let client_id = crate::protocol::client_assertion::claimed_client(assertion)
            .map_err(|error| ClientAuthError::new(error, false))?;
        if body_client_id.is_some_and(|id| id != client_id) {
            return refuse(OAuthError::invalid_client(
                "client_id differs from the client_assertion's sub (RFC 7523 §3)",
            ));
        }
        return Ok(PresentedCredentials::Assertion {
            client_id,
            assertion: assertion.to_owned(),
        });
    }
    if let Some(header) = authorization {
        let (scheme, value) = header.trim().split_once(' ').unwrap_or((header, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(ClientAuthError::new(
                OAuthError::invalid_client(
                    "only HTTP Basic client authentication is accepted in the Authorization header",
                ),
                true,
            ));
        }
        if body_secret.is_some() {
            return Err(ClientAuthError::new(
                OAuthError::invalid_request(
                    "use one client authentication method, not Basic and client_secret together",
                ),
                true,
            ));
        }
        let (client_id, secret) = decode_basic(value.trim()).ok_or(ClientAuthError::new(
            OAuthError::invalid_client("the Basic credentials are malformed (RFC 6749 §2.3.1)"),
            true,
        ))?;
        if body_client_id.is_some_and(|id| id != client_id) {
            return Err(ClientAuthError::new(
                OAuthError::invalid_request(
                    "client_id in the body differs from the Basic credentials",
                ),
                true,
            ));
        }
        return Ok(PresentedCredentials::Basic { client_id, secret });
    }
    let client_id = body_client_id
        .ok_or(ClientAuthError::new(
            OAuthError::invalid_client(
                "client authentication is required: send HTTP Basic or client_id",
            ),
            false,
        ))?
        .to_owned();
    Ok(match body_secret {
        Some(secret) => PresentedCredentials::Post {
            client_id,
            secret: ClientSecret::new(secret.to_owned()),
        },
        None => PresentedCredentials::None { client_id },
    })
}

fn decode_basic(value: &str) -> Option<(String, ClientSecret)> {
    let decoded = STANDARD.decode(value).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (raw_id, raw_secret) = text.split_once(':')?;
    let unescape = |part: &str| {
        let plus_as_space = part.replace('+', " ");
        percent_encoding::percent_decode_str(&plus_as_space)
            .decode_utf8()
            .ok()
            .map(|cow| cow.into_owned())
    };
    let client_id = unescape(raw_id)?;
    let secret = unescape(raw_secret)?;
    if client_id.is_empty() {
        return None;
    }
    Some((client_id, ClientSecret::new(secret)))
}

/// RFC 6749 §2.3 / §3.2.1: checks presented credentials against the registered client.
///
/// `client` is `None` when no client has the presented id; that fails exactly like a wrong
/// secret, so responses do not reveal which client ids exist.
///
/// Generic over ownership: callers holding the record get it back, callers with a reference
/// get the reference (no copy either way).
pub fn authenticate_client<C: Borrow<RegisteredClient>>(
    presented: &PresentedCredentials,
    client: Option<C>,
) -> Result<C, ClientAuthError> {
    let used_basic = presented.used_basic();
    let client = client.ok_or(ClientAuthError::new(BAD_CLIENT, used_basic))?;
    let registered: &RegisteredClient = client.borrow();
    // RFC 7591 §2: the client registered one method; another one is refused even with the
    // right secret, so a leaked secret cannot be replayed by a method the client never uses
    // (and a Basic client's secret never has to appear in a request body).
    let method = registered.metadata.token_endpoint_auth_method;
    let method_matches = matches!(
        (presented, method),
        (
            PresentedCredentials::Basic { .. },
            TokenEndpointAuthMethod::ClientSecretBasic
        ) | (
            PresentedCredentials::Post { .. },
            TokenEndpointAuthMethod::ClientSecretPost
        ) | (
            PresentedCredentials::None { .. },
            TokenEndpointAuthMethod::None
        )
    );
    match (presented, &registered.secret_digest, registered.is_public()) {
        (PresentedCredentials::None { .. }, None, true) => Ok(client),
        (
            PresentedCredentials::Basic { secret, .. } | PresentedCredentials::Post { secret, .. },
            Some(digest),
            false,
        ) if digest.matches(secret.expose()) && method_matches => Ok(client),
        (
            PresentedCredentials::Basic { secret, .. } | PresentedCredentials::Post { secret, .. },
            Some(digest),
            false,
        ) if digest.matches(secret.expose()) => Err(ClientAuthError::new(
            OAuthError::invalid_client(
                "this client is registered for another token_endpoint_auth_method (RFC 7591 §2)",
            ),
            used_basic,
        )),
        (PresentedCredentials::Assertion { .. }, _, _) => Err(ClientAuthError::new(
            OAuthError::invalid_client(
                "client assertions are checked by the caller, with the client's keys",
            ),
            used_basic,
        )),
        (PresentedCredentials::None { .. }, _, false) => Err(ClientAuthError::new(
            OAuthError::invalid_client(
                "this client is confidential: authenticate with its client secret",
            ),
            used_basic,
        )),
        _ => Err(ClientAuthError::new(BAD_CLIENT, used_basic)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn client(id: &str, secret: Option<&str>) -> RegisteredClient {
        RegisteredClient {
            client_id: ClientId::parse(id).unwrap(),
            secret_digest: secret.map(SecretDigest::of),
            metadata: ClientMetadata {
                client_name: id.to_owned(),
                redirect_uris: vec!["https://app.example.com/callback".into()],
                post_logout_redirect_uris: vec![],
                grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                response_types: vec![ResponseType::Code],
                token_endpoint_auth_method: if secret.is_some() {
                    TokenEndpointAuthMethod::ClientSecretBasic
                } else {
                    TokenEndpointAuthMethod::None
                },
                application_type: if secret.is_some() {
                    ApplicationType::Web
                } else {
                    ApplicationType::Native
                },
                scope: ScopeSet::parse("openid profile email offline_access api:read").unwrap(),
                id_token_signed_response_alg: SigningAlg::RS256,
                access_token_signed_response_alg: SigningAlg::RS256,
                default_resource: Some("http://127.0.0.1:8081".into()),
                allowed_resources: vec!["https://api.example.com".into()],
                first_party: true,
                require_pushed_authorization_requests: false,
                resource_server: false,
                jwks: None,
                jwks_uri: None,
                dpop_bound_access_tokens: false,
                request_object_signing_alg: None,
                require_signed_request_object: false,
                id_token_encrypted_response_alg: None,
                id_token_encrypted_response_enc: None,
                userinfo_signed_response_alg: None,
                userinfo_encrypted_response_alg: None,
                userinfo_encrypted_response_enc: None,
                default_acr_values: Vec::new(),
                backchannel_logout_uri: None,
                backchannel_logout_session_required: false,
                secret_derivation: None,
            },
        }
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_credentials_are_form_urldecoded() {
        // RFC 6749 §2.3.1: the id and secret are form-urlencoded before base64.
        let header = basic("my%3Aclient", "s%C3%A9cret+with+space");
        let presented = parse_client_credentials(Some(&header), &Params::default()).unwrap();
        match presented {
            PresentedCredentials::Basic { client_id, secret } => {
                assert_eq!(client_id, "my:client");
                assert_eq!(secret.expose(), "sécret with space");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn client_authentication_table() {
        let confidential = client("demo-web", Some("demo-web-secret"));
        let mut post_client = client("demo-post", Some("demo-post-secret"));
        post_client.metadata.token_endpoint_auth_method = TokenEndpointAuthMethod::ClientSecretPost;
        let public = client("demo-cli", None);
        let post = |id: &str, secret: &str| {
            Params::from_pairs([("client_id", id), ("client_secret", secret)])
        };
        let none = |id: &str| Params::from_pairs([("client_id", id)]);
        // (authorization header, body, registered client, expected ok, expected code, used basic)
        type Case<'a> = (
            Option<String>,
            Params,
            Option<&'a RegisteredClient>,
            Result<(), (ErrorCode, bool)>,
        );
        let cases: Vec<Case> = vec![
            (
                Some(basic("demo-web", "demo-web-secret")),
                Params::default(),
                Some(&confidential),
                Ok(()),
            ),
            (
                None,
                post("demo-web", "demo-web-secret"),
                Some(&confidential),
                Err((ErrorCode::InvalidClient, false)),
            ),
            (
                None,
                post("demo-post", "demo-post-secret"),
                Some(&post_client),
                Ok(()),
            ),
            (
                Some(basic("demo-post", "demo-post-secret")),
                Params::default(),
                Some(&post_client),
                Err((ErrorCode::InvalidClient, true)),
            ),
            (None, none("demo-cli"), Some(&public), Ok(())),
            (
                Some(basic("demo-web", "wrong")),
                Params::default(),
                Some(&confidential),
                Err((ErrorCode::InvalidClient, true)),
            ),
            (
                None,
                post("demo-web", "wrong"),
                Some(&confidential),
                Err((ErrorCode::InvalidClient, false)),
            ),
            (
                None,
                none("demo-web"),
                Some(&confidential),
                Err((ErrorCode::InvalidClient, false)),
            ),
            (
                None,
                post("demo-cli", "anything"),
                Some(&public),
                Err((ErrorCode::InvalidClient, false)),
            ),
            (
                Some(basic("nobody", "x")),
                Params::default(),
                None,
                Err((ErrorCode::InvalidClient, true)),
            ),
            (
                None,
                Params::default(),
                None,
                Err((ErrorCode::InvalidClient, false)),
            ),
            (
                Some("Bearer abc".into()),
                Params::default(),
                None,
                Err((ErrorCode::InvalidClient, true)),
            ),
            (
                Some("Basic !!!".into()),
                Params::default(),
                None,
                Err((ErrorCode::InvalidClient, true)),
            ),
            (
                Some(basic("demo-web", "demo-web-secret")),
                post("demo-web", "demo-web-secret"),
                Some(&confidential),
                Err((ErrorCode::InvalidRequest, true)),
            ),
        ];
        for (index, (header, params, registered, expected)) in cases.into_iter().enumerate() {
            let result = parse_client_credentials(header.as_deref(), &params)
                .and_then(|presented| authenticate_client(&presented, registered).map(|_| ()));
            let got = result.map_err(|err| (err.error.code, err.used_basic));
            assert_eq!(got, expected, "case {index}");
        }
    }

    #[test]
    fn loopback_rule_for_native_public_clients_only() {
        assert_eq!(
            client("demo-cli", None).loopback_rule(),
            LoopbackRule::AnyPort
        );
        assert_eq!(
            client("demo-web", Some("s")).loopback_rule(),
            LoopbackRule::ExactOnly
        );
    }
}
