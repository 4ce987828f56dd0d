//! RFC 7591 dynamic client registration: strict metadata validation (RFC 7591 §2, OIDC
//! Registration §2) into [`ClientMetadata`].

use serde::{Deserialize, Serialize};

use keys::SigningAlg;
use keys::jwe::{ContentEncryption, KeyManagement};

use crate::protocol::claims::{ACR_MFA, ACR_PASSWORD};
use crate::protocol::client::{
    ApplicationType, ClientMetadata, GrantType, ResponseType, TokenEndpointAuthMethod,
};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::resource::{PROVIDER_SCOPES, Registry};
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::Features;

/// The metadata a client sends (RFC 7591 §2); unknown members are ignored (§2).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct RegistrationRequest {
    /// Redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs (RP-Initiated Logout §3.1).
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Token endpoint auth method (default `client_secret_basic`).
    pub token_endpoint_auth_method: Option<String>,
    /// Grant types (default `["authorization_code"]`).
    pub grant_types: Option<Vec<String>>,
    /// Response types (default `["code"]`).
    pub response_types: Option<Vec<String>>,
    /// Display name.
    pub client_name: Option<String>,
    /// Space-separated scopes the client will request.
    pub scope: Option<String>,
    /// `web` (default) or `native`.
    pub application_type: Option<String>,
    /// ID token signature algorithm.
    pub id_token_signed_response_alg: Option<String>,
    /// OIDC Registration §2: the client's public keys, inline (a JWK Set).
    pub jwks: Option<serde_json::Value>,
    /// OIDC Registration §2: where the client publishes its public keys.
    pub jwks_uri: Option<String>,
    /// RFC 9449 §5.2: the client always uses DPoP.
    pub dpop_bound_access_tokens: Option<bool>,
    /// RFC 9101 §10.5 / OIDC Registration §2: the algorithm of its request objects.
    pub request_object_signing_alg: Option<String>,
    /// RFC 9101 §10.5: it sends only signed request objects.
    pub require_signed_request_object: Option<bool>,
    /// OIDC Registration §2: JWE `alg` of its ID tokens.
    pub id_token_encrypted_response_alg: Option<String>,
    /// OIDC Registration §2: JWE `enc` of its ID tokens (default `A128CBC-HS256`).
    pub id_token_encrypted_response_enc: Option<String>,
    /// OIDC Registration §2: UserInfo as a JWT signed with this algorithm.
    pub userinfo_signed_response_alg: Option<String>,
    /// OIDC Registration §2: JWE `alg` of its UserInfo answers.
    pub userinfo_encrypted_response_alg: Option<String>,
    /// OIDC Registration §2: JWE `enc` of its UserInfo answers (default `A128CBC-HS256`).
    pub userinfo_encrypted_response_enc: Option<String>,
    /// Back-Channel Logout §2.2: where logout tokens are POSTed.
    pub backchannel_logout_uri: Option<String>,
    /// Back-Channel Logout §2.2: `sid` is required in logout tokens.
    pub backchannel_logout_session_required: Option<bool>,
    /// OIDC Registration §2: `acr_values` for requests that name none (`1` or `2`).
    pub default_acr_values: Option<Vec<String>>,
}

/// What self-registered clients may have (RFC 7591 §2: the server may restrict metadata),
/// resolved against the current resource registry. Operator-created clients
/// (`provider clients add`) get [`RegistrationRules::open`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationRules {
    /// Grants a self-registered client may register.
    pub grant_types: Vec<GrantType>,
    /// Scopes it may register.
    pub scopes: ScopeSet,
    /// The resources (RFC 8707) it may request tokens for; the first is its default. Empty:
    /// tokens for the provider itself (UserInfo).
    pub resources: Vec<String>,
    /// The optional features a client may register for.
    pub features: Features,
}

impl RegistrationRules {
    /// Everything: every grant, the provider's scopes and every registered resource's, and
    /// the given resources.
    pub fn open(registry: &Registry, resources: Vec<String>) -> Self {
        RegistrationRules {
            grant_types: GrantType::ALL.to_vec(),
            scopes: every_scope(registry),
            resources,
            features: Features::ALL,
        }
    }
}

/// The scopes a client can be given: the provider's own and every registered resource's.
pub fn every_scope(registry: &Registry) -> ScopeSet {
    ScopeSet::from_tokens(PROVIDER_SCOPES).union(&registry.scopes())
}

/// How the rules for self-registered clients are chosen: the mode's defaults, each part
/// replaceable by configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistrationLimits {
    /// `dev`: every grant, scope and resource. Otherwise `serve`'s default: clients that act
    /// for users: no `client_credentials`, no token exchange (a client acting on its own, or
    /// taking over others' tokens, is the operator's decision), no `*:write` scopes, and no
    /// resource (tokens for UserInfo only).
    pub open: bool,
    /// Configured grants (replace the default).
    pub grant_types: Option<Vec<GrantType>>,
    /// Configured scopes (replace the default).
    pub scopes: Option<ScopeSet>,
    /// Configured resources (replace the default).
    pub resources: Option<Vec<String>>,
    /// The optional features that are on.
    pub features: Features,
}

impl RegistrationLimits {
    /// The rules now, with `registry` as it is.
    pub fn rules(&self, registry: &Registry) -> RegistrationRules {
        let grant_types = self.grant_types.clone().unwrap_or_else(|| {
            if self.open {
                GrantType::ALL.to_vec()
            } else {
                vec![
                    GrantType::AuthorizationCode,
                    GrantType::RefreshToken,
                    GrantType::DeviceCode,
                ]
            }
        });
        let scopes = self.scopes.clone().unwrap_or_else(|| {
            let all = every_scope(registry);
            if self.open {
                all
            } else {
                ScopeSet::from_tokens(all.iter().filter(|scope| !scope.ends_with(":write")))
            }
        });
        let resources = self.resources.clone().unwrap_or_else(|| {
            if self.open {
                registry
                    .iter()
                    .map(|resource| resource.identifier.clone())
                    .collect()
            } else {
                Vec::new()
            }
        });
        RegistrationRules {
            grant_types,
            scopes,
            resources,
            features: self.features,
        }
    }
}

const CLIENT_METADATA: ErrorCode = ErrorCode::InvalidClientMetadata;
const REDIRECT: ErrorCode = ErrorCode::InvalidRedirectUri;
const DEFAULT_SCOPE: &str = "openid profile email offline_access";

/// RFC 7591 §3.2.2: validates a registration request, filling defaults. The strings of the
/// request become typed metadata here, each refused with the reason.
pub fn validate_registration(
    request: RegistrationRequest,
    rules: &RegistrationRules,
) -> Result<ClientMetadata, OAuthError> {
    let auth_method = match request.token_endpoint_auth_method.as_deref() {
        None => TokenEndpointAuthMethod::ClientSecretBasic,
        Some(name) => TokenEndpointAuthMethod::parse(name).ok_or(OAuthError::new(
            CLIENT_METADATA,
            "token_endpoint_auth_method must be client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt or none",
        ))?,
    };
    let (jwks, jwks_uri) = client_keys(request.jwks, request.jwks_uri, auth_method)?;
    let application_type = match request.application_type.as_deref() {
        None => ApplicationType::Web,
        Some(name) => ApplicationType::parse(name).ok_or(OAuthError::new(
            CLIENT_METADATA,
            "application_type must be web or native",
        ))?,
    };
    let grant_types = match request.grant_types {
        None => vec![GrantType::AuthorizationCode],
        Some(names) if names.is_empty() => {
            return Err(OAuthError::new(
                CLIENT_METADATA,
                "grant_types must not be empty",
            ));
        }
        Some(names) => names
            .iter()
            .map(|name| GrantType::parse(name))
            .collect::<Option<Vec<_>>>()
            .ok_or(OAuthError::new(
                CLIENT_METADATA,
                "grant_types contains a grant this provider does not support (implicit and password are removed in OAuth 2.1)",
            ))?,
    };
    if grant_types
        .iter()
        .any(|grant| !rules.grant_types.contains(grant))
    {
        return Err(OAuthError::new(
            CLIENT_METADATA,
            "grant_types asks for a grant this provider does not give self-registered clients (registration policy); ask its operator",
        ));
    }
    let uses_code = grant_types.contains(&GrantType::AuthorizationCode);
    let response_types = match request.response_types {
        None if uses_code => vec![ResponseType::Code],
        None => Vec::new(),
        Some(names) => names
            .iter()
            .map(|name| (name == "code").then_some(ResponseType::Code))
            .collect::<Option<Vec<_>>>()
            .ok_or(OAuthError::new(
                CLIENT_METADATA,
                "response_types may only contain code",
            ))?,
    };
    if uses_code != response_types.contains(&ResponseType::Code) {
        return Err(OAuthError::new(
            CLIENT_METADATA,
            "grant_types and response_types are inconsistent (RFC 7591 §2.1)",
        ));
    }
    let issues_refresh_tokens = uses_code || grant_types.contains(&GrantType::DeviceCode);
    if grant_types.contains(&GrantType::RefreshToken) && !issues_refresh_tokens {
        return Err(OAuthError::new(
            CLIENT_METADATA,
            "refresh_token needs authorization_code or the device grant to obtain a first refresh token",
        ));
    }
    if auth_method.is_public() && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(OAuthError::new(
            CLIENT_METADATA,
            "a public client cannot use client_credentials",
        ));
    }
    if auth_method.is_public() && grant_types.contains(&GrantType::TokenExchange) {
        return Err(OAuthError::new(
            CLIENT_METADATA,
            "a public client cannot use token exchange",
        ));
    }
    if uses_code && request.redirect_uris.is_empty() {
        return Err(OAuthError::new(
            REDIRECT,
            "redirect_uris is required for the authorization_code grant",
        ));
    }
    for uri in request
        .redirect_uris
        .iter()
        .chain(&request.post_logout_redirect_uris)
    {
        check_redirect_uri(uri, application_type)?;
    }
    let scope = match request.scope.as_deref() {
        // Without a request, the default within what the policy allows.
        None => ScopeSet::parse(DEFAULT_SCOPE)
            .unwrap_or_default()
            .intersection(&rules.scopes),
        Some(raw) => {
            let scope = ScopeSet::parse(raw).map_err(|_| {
                OAuthError::new(CLIENT_METADATA, "scope is not a valid RFC 6749 §3.3 scope")
            })?;
            if !scope.is_subset_of(&rules.scopes) {
                return Err(OAuthError::new(
                    CLIENT_METADATA,
                    "scope names a scope this provider does not know or does not give self-registered clients (registration policy)",
                ));
            }
            scope
        }
    };
    let id_token_alg = match request.id_token_signed_response_alg.as_deref() {
        None => SigningAlg::RS256,
        Some(name) => SigningAlg::parse(name).map_err(|_| {
            OAuthError::new(
                CLIENT_METADATA,
                "id_token_signed_response_alg must be RS256, ES256 or EdDSA",
            )
        })?,
    };
    let (request_object_signing_alg, require_signed_request_object) = request_objects(
        request.request_object_signing_alg.as_deref(),
        request.require_signed_request_object,
        jwks.is_some() || jwks_uri.is_some(),
        rules.features,
    )?;
    let id_token_encryption = encryption(
        request.id_token_encrypted_response_alg.as_deref(),
        request.id_token_encrypted_response_enc.as_deref(),
        Protected::IdToken,
        (jwks.as_ref(), jwks_uri.is_some()),
        rules.features,
    )?;
    let userinfo_encryption = encryption(
        request.userinfo_encrypted_response_alg.as_deref(),
        request.userinfo_encrypted_response_enc.as_deref(),
        Protected::UserInfo,
        (jwks.as_ref(), jwks_uri.is_some()),
        rules.features,
    )?;
    let userinfo_signed_response_alg = request
        .userinfo_signed_response_alg
        .as_deref()
        .map(|name| {
            if !rules.features.encrypted_responses {
                return Err(OAuthError::new(
                    CLIENT_METADATA,
                    "this provider does not sign UserInfo responses (userinfo_signed_response_alg)",
                ));
            }
            SigningAlg::parse(name).map_err(|_| {
                OAuthError::new(
                    CLIENT_METADATA,
                    "userinfo_signed_response_alg must be RS256, ES256 or EdDSA (none is refused)",
                )
            })
        })
        .transpose()?;
    let backchannel_logout_uri = request
        .backchannel_logout_uri
        .map(|uri| check_backchannel_logout_uri(&uri, rules.features).map(|()| uri))
        .transpose()?;
    if request.backchannel_logout_session_required == Some(true) && backchannel_logout_uri.is_none()
    {
        return Err(OAuthError::new(
            CLIENT_METADATA,
            "backchannel_logout_session_required needs backchannel_logout_uri",
        ));
    }
    let default_acr_values = request.default_acr_values.unwrap_or_default();
    if default_acr_values.len() > 4
        || default_acr_values
            .iter()
            .any(|value| value != ACR_PASSWORD && value != ACR_MFA)
    {
        return Err(OAuthError::new(
            CLIENT_METADATA,
            "default_acr_values may hold 1 (password) and 2 (a second factor)",
        ));
    }
    let client_name = request
        .client_name
        .unwrap_or_else(|| "Unnamed client".into());
    if client_name.chars().count() > 100 || client_name.chars().any(char::is_control) {
        return Err(OAuthError::new(
            CLIENT_METADATA,
            "client_name must be at most 100 printable characters",
        ));
    }
    Ok(ClientMetadata {
        client_name,
        redirect_uris: request.redirect_uris,
        post_logout_redirect_uris: request.post_logout_redirect_uris,
        grant_types,
        response_types,
        token_endpoint_auth_method: auth_method,
        application_type,
        scope,
        id_token_signed_response_alg: id_token_alg,
        access_token_signed_response_alg: SigningAlg::RS256,
        default_resource: rules.resources.first().cloned(),
        allowed_resources: rules.resources.iter().skip(1).cloned().collect(),
        first_party: false,
        require_pushed_authorization_requests: false,
        resource_server: false,
        jwks,
        jwks_uri,
        dpop_bound_access_tokens: request.dpop_bound_access_tokens.unwrap_or(false),
        request_object_signing_alg,
        require_signed_request_object,
        id_token_encrypted_response_alg: id_token_encryption.map(|(alg, _)| alg),
        id_token_encrypted_response_enc: id_token_encryption.map(|(_, enc)| enc),
        userinfo_signed_response_alg,
        userinfo_encrypted_response_alg: userinfo_encryption.map(|(alg, _)| alg),
        userinfo_encrypted_response_enc: userinfo_encryption.map(|(_, enc)| enc),
        backchannel_logout_session_required: request
            .backchannel_logout_session_required
            .unwrap_or(false),
        backchannel_logout_uri,
        default_acr_values,
        secret_derivation: None,
    })
}

/// Back-Channel Logout §2.2: an absolute https URL (http only on loopback), no fragment; only
/// when back-channel logout is on.
fn check_backchannel_logout_uri(raw: &str, features: Features) -> Result<(), OAuthError> {
    if !features.backchannel_logout {
        return Err(OAuthError::new(
            CLIENT_METADATA,
            "this provider does not send back-channel logouts (backchannel_logout_uri)",
        ));
    }
    let url = url::Url::parse(raw).map_err(|_| {
        OAuthError::new(
            CLIENT_METADATA,
            "backchannel_logout_uri must be an absolute URL",
        )
    })?;
    let loopback = matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    if !(url.scheme() == "https" || (url.scheme() == "http" && loopback))
        || raw.contains('#')
        || raw.len() > 2048
        || !url.username().is_empty()
    {
        return Err(OAuthError::new(
            CLIENT_METADATA,
            "backchannel_logout_uri must be an https URL without fragment or credentials (http only on loopback)",
        ));
    }
    Ok(())
}

/// What a JWE registration is for (the error messages name its members).
#[derive(Clone, Copy)]
enum Protected {
    IdToken,
    UserInfo,
}

/// OIDC Registration §2 `*_encrypted_response_alg/enc`: `enc` needs `alg`, `enc` defaults to
/// `A128CBC-HS256`, and the client's keys must be able to receive it (an inline `jwks` is
/// checked now; a `jwks_uri` when a response is encrypted).
fn encryption(
    alg: Option<&str>,
    enc: Option<&str>,
    what: Protected,
    (jwks, has_uri): (Option<&keys::JwkSet>, bool),
    features: Features,
) -> Result<Option<(KeyManagement, ContentEncryption)>, OAuthError> {
    let refuse = |id_token: &'static str, userinfo: &'static str| {
        OAuthError::new(
            CLIENT_METADATA,
            match what {
                Protected::IdToken => id_token,
                Protected::UserInfo => userinfo,
            },
        )
    };
    let alg = match (alg, enc) {
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err(refuse(
                "id_token_encrypted_response_enc needs id_token_encrypted_response_alg (OIDC Registration §2)",
                "userinfo_encrypted_response_enc needs userinfo_encrypted_response_alg (OIDC Registration §2)",
            ));
        }
        (Some(alg), _) => alg,
    };
    if !features.encrypted_responses {
        return Err(refuse(
            "this provider does not encrypt ID tokens (id_token_encrypted_response_alg)",
            "this provider does not encrypt UserInfo responses (userinfo_encrypted_response_alg)",
        ));
    }
    let alg = KeyManagement::parse(alg).ok_or(refuse(
        "id_token_encrypted_response_alg must be RSA-OAEP-256 or ECDH-ES",
        "userinfo_encrypted_response_alg must be RSA-OAEP-256 or ECDH-ES",
    ))?;
    let enc = match enc {
        None => ContentEncryption::A128CbcHs256,
        Some(name) => ContentEncryption::parse(name).ok_or(refuse(
            "id_token_encrypted_response_enc must be A128CBC-HS256, A128GCM or A256GCM",
            "userinfo_encrypted_response_enc must be A128CBC-HS256, A128GCM or A256GCM",
        ))?,
    };
    let usable = match jwks {
        Some(jwks) => keys::jwe::recipient_key(&jwks_json(jwks), alg).is_ok(),
        None => has_uri,
    };
    if !usable {
        return Err(refuse(
            "encrypted ID tokens need the client's public encryption key in jwks or jwks_uri (RSA for RSA-OAEP-256, P-256 for ECDH-ES)",
            "encrypted UserInfo needs the client's public encryption key in jwks or jwks_uri (RSA for RSA-OAEP-256, P-256 for ECDH-ES)",
        ));
    }
    Ok(Some((alg, enc)))
}

/// A registered JWK Set as JSON. An `alg` jsonwebtoken does not know (such as `ECDH-ES`) was
/// read as `UNKNOWN_ALGORITHM`; it is dropped, so the key counts as usable for any algorithm of
/// its type.
pub fn jwks_json(jwks: &keys::JwkSet) -> serde_json::Value {
    let mut value = serde_json::to_value(jwks).unwrap_or_default();
    if let Some(keys) = value
        .get_mut("keys")
        .and_then(serde_json::Value::as_array_mut)
    {
        for key in keys.iter_mut().filter_map(serde_json::Value::as_object_mut) {
            if key.get("alg").and_then(serde_json::Value::as_str) == Some("UNKNOWN_ALGORITHM") {
                key.remove("alg");
            }
        }
    }
    value
}

/// RFC 9101 §10.5 request-object metadata: only when request objects are on, and only for a
/// client that registered public keys to verify them with.
fn request_objects(
    alg: Option<&str>,
    required: Option<bool>,
    has_keys: bool,
    features: Features,
) -> Result<(Option<SigningAlg>, bool), OAuthError> {
    let required = required.unwrap_or(false);
    if alg.is_none() && !required {
        return Ok((None, false));
    }
    if !features.request_objects {
        return Err(OAuthError::new(
            CLIENT_METADATA,
            "this provider does not accept request objects (request_object_signing_alg, require_signed_request_object)",
        ));
    }
    if !has_keys {
        return Err(OAuthError::new(
            CLIENT_METADATA,
            "signed request objects need the client's public keys: send jwks or jwks_uri",
        ));
    }
    let alg = alg
        .map(|name| {
            SigningAlg::parse(name).map_err(|_| {
                OAuthError::new(
                    CLIENT_METADATA,
                    "request_object_signing_alg must be RS256, ES256 or EdDSA (none is refused)",
                )
            })
        })
        .transpose()?;
    Ok((alg, required))
}

/// OIDC Registration §2 `jwks` / `jwks_uri`: never both; `private_key_jwt` needs one. Inline
/// keys must be public signing keys; a `jwks_uri` must be https (the fetcher also allows
/// http on loopback in dev mode, and refuses private addresses outside it).
fn client_keys(
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
    method: TokenEndpointAuthMethod,
) -> Result<(Option<keys::JwkSet>, Option<String>), OAuthError> {
    let jwks = jwks
        .map(|value| {
            let set: keys::JwkSet = serde_json::from_value(value).map_err(|_| {
                OAuthError::new(CLIENT_METADATA, "jwks is not a JWK Set (RFC 7517 §5)")
            })?;
            crate::protocol::client_assertion::check_client_jwks(&set)
                .map_err(|reason| OAuthError::new(CLIENT_METADATA, reason))?;
            Ok::<_, OAuthError>(set)
        })
        .transpose()?;
    if let Some(uri) = &jwks_uri {
        let url = url::Url::parse(uri)
            .map_err(|_| OAuthError::new(CLIENT_METADATA, "jwks_uri must be an absolute URL"))?;
        let loopback = matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
        if !(url.scheme() == "https" || (url.scheme() == "http" && loopback))
            || uri.len() > 2048
            || url.fragment().is_some()
        {
            return Err(OAuthError::new(
                CLIENT_METADATA,
                "jwks_uri must be an https URL without fragment (http only on loopback)",
            ));
        }
    }
    match (&jwks, &jwks_uri, method) {
        (Some(_), Some(_), _) => Err(OAuthError::new(
            CLIENT_METADATA,
            "jwks and jwks_uri must not both be present (OIDC Registration §2)",
        )),
        (None, None, TokenEndpointAuthMethod::PrivateKeyJwt) => Err(OAuthError::new(
            CLIENT_METADATA,
            "private_key_jwt needs the client's public keys: send jwks or jwks_uri",
        )),
        _ => Ok((jwks, jwks_uri)),
    }
}

/// RFC 7591 §2 + RFC 8252 §7 + OAuth 2.1 §2.3.1: absolute, no fragment; web clients use https
/// (http only on loopback); native clients may also use a private-use scheme.
fn check_redirect_uri(raw: &str, application_type: ApplicationType) -> Result<(), OAuthError> {
    let url = url::Url::parse(raw)
        .map_err(|_| OAuthError::new(REDIRECT, "redirect URIs must be absolute URIs"))?;
    if url.fragment().is_some() || raw.contains('#') {
        return Err(OAuthError::new(
            REDIRECT,
            "redirect URIs must not contain a fragment",
        ));
    }
    let loopback = matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(OAuthError::new(
            REDIRECT,
            "http redirect URIs are allowed on loopback only; use https",
        )),
        "javascript" | "data" | "file" | "vbscript" => Err(OAuthError::new(
            REDIRECT,
            "this redirect URI scheme is not allowed",
        )),
        scheme if application_type == ApplicationType::Native && scheme.contains('.') => Ok(()),
        _ => Err(OAuthError::new(
            REDIRECT,
            "custom URI schemes are for native clients and must be reverse-DNS names (RFC 8252 §7.1)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::resource::tests::sample_registry;

    fn request(json: serde_json::Value) -> RegistrationRequest {
        serde_json::from_value(json).unwrap()
    }

    fn lab() -> RegistrationRules {
        RegistrationLimits {
            open: true,
            features: Features::ALL,
            ..RegistrationLimits::default()
        }
        .rules(&sample_registry())
    }

    #[test]
    fn request_object_metadata() {
        use serde_json::json;
        let web = "https://app.example.com/cb";
        let keys_uri = "https://app.example.com/jwks";
        let ok = |value, rules: &RegistrationRules| {
            validate_registration(request(value), rules)
                .map(|metadata| {
                    (
                        metadata.request_object_signing_alg,
                        metadata.require_signed_request_object,
                    )
                })
                .map_err(|e| e.code)
        };
        let lab = lab();
        let off = RegistrationRules {
            features: Features::default(),
            ..lab.clone()
        };
        let bad = Err(ErrorCode::InvalidClientMetadata);
        let table = [
            (json!({"redirect_uris": [web]}), &lab, Ok((None, false))),
            (
                json!({"redirect_uris": [web], "jwks_uri": keys_uri, "request_object_signing_alg": "ES256", "require_signed_request_object": true}),
                &lab,
                Ok((Some(SigningAlg::ES256), true)),
            ),
            (
                json!({"redirect_uris": [web], "jwks_uri": keys_uri, "require_signed_request_object": true}),
                &lab,
                Ok((None, true)),
            ),
            // No keys to verify with.
            (
                json!({"redirect_uris": [web], "require_signed_request_object": true}),
                &lab,
                bad,
            ),
            // Unsigned and symmetric algorithms are refused.
            (
                json!({"redirect_uris": [web], "jwks_uri": keys_uri, "request_object_signing_alg": "none"}),
                &lab,
                bad,
            ),
            (
                json!({"redirect_uris": [web], "jwks_uri": keys_uri, "request_object_signing_alg": "HS256"}),
                &lab,
                bad,
            ),
            // The feature is off.
            (
                json!({"redirect_uris": [web], "jwks_uri": keys_uri, "request_object_signing_alg": "ES256"}),
                &off,
                bad,
            ),
            (
                json!({"redirect_uris": [web], "jwks_uri": keys_uri, "require_signed_request_object": false}),
                &off,
                Ok((None, false)),
            ),
        ];
        for (value, rules, expected) in table {
            assert_eq!(ok(value.clone(), rules), expected, "{value}");
        }
    }

    #[test]
    fn registration_table() {
        use serde_json::json;
        let ok = |value| {
            validate_registration(request(value), &lab())
                .map(|_| ())
                .map_err(|e| e.code)
        };
        assert_eq!(
            ok(json!({"redirect_uris": ["https://app.example.com/cb"]})),
            Ok(())
        );
        assert_eq!(
            ok(
                json!({"redirect_uris": ["http://127.0.0.1:8082/cb"], "token_endpoint_auth_method": "none"})
            ),
            Ok(())
        );
        assert_eq!(
            ok(
                json!({"redirect_uris": ["com.example.app:/cb"], "application_type": "native", "token_endpoint_auth_method": "none"})
            ),
            Ok(())
        );
        assert_eq!(
            ok(json!({"grant_types": ["client_credentials"], "scope": "api:read"})),
            Ok(())
        );
        assert_eq!(
            ok(json!({"redirect_uris": ["http://app.example.com/cb"]})),
            Err(REDIRECT)
        );
        assert_eq!(
            ok(json!({"redirect_uris": ["https://app.example.com/cb#frag"]})),
            Err(REDIRECT)
        );
        assert_eq!(ok(json!({"redirect_uris": ["/relative"]})), Err(REDIRECT));
        assert_eq!(
            ok(json!({"redirect_uris": ["javascript:alert(1)"]})),
            Err(REDIRECT)
        );
        assert_eq!(
            ok(json!({"redirect_uris": ["myapp:/cb"], "application_type": "web"})),
            Err(REDIRECT)
        );
        assert_eq!(ok(json!({})), Err(REDIRECT));
        assert_eq!(
            ok(json!({"redirect_uris": ["https://a.example/cb"], "grant_types": []})),
            Err(CLIENT_METADATA)
        );
        assert_eq!(
            ok(json!({"redirect_uris": ["https://a.example/cb"], "application_type": "desktop"})),
            Err(CLIENT_METADATA)
        );
        assert_eq!(
            ok(json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["implicit"]})),
            Err(CLIENT_METADATA)
        );
        assert_eq!(
            ok(json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]})),
            Err(CLIENT_METADATA)
        );
        assert_eq!(
            ok(
                json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"})
            ),
            Err(CLIENT_METADATA)
        );
        assert_eq!(
            ok(
                json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"})
            ),
            Err(CLIENT_METADATA)
        );
        assert_eq!(
            ok(json!({"redirect_uris": ["https://a.example/cb"], "scope": "openid admin"})),
            Err(CLIENT_METADATA)
        );
        assert_eq!(
            ok(
                json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["refresh_token"]})
            ),
            Err(CLIENT_METADATA)
        );
        assert_eq!(
            ok(
                json!({"redirect_uris": ["https://a.example/cb"], "id_token_signed_response_alg": "none"})
            ),
            Err(CLIENT_METADATA)
        );
    }

    #[test]
    fn defaults_are_filled_in_typed() {
        let metadata = validate_registration(
            request(serde_json::json!({"redirect_uris": ["https://a.example/cb"]})),
            &lab(),
        )
        .unwrap();
        assert_eq!(metadata.grant_types, vec![GrantType::AuthorizationCode]);
        assert_eq!(metadata.response_types, vec![ResponseType::Code]);
        assert_eq!(
            metadata.token_endpoint_auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic
        );
        assert_eq!(metadata.application_type, ApplicationType::Web);
        assert_eq!(metadata.id_token_signed_response_alg, SigningAlg::RS256);
        assert_eq!(
            metadata.default_resource.as_deref(),
            Some("http://127.0.0.1:8081"),
            "every registered resource, the first as default"
        );
        assert_eq!(
            metadata.allowed_resources,
            ["https://api.example.com", "https://other.example"]
        );
        assert_eq!(
            metadata.scope.to_string(),
            "email offline_access openid profile"
        );
        assert!(
            !metadata.first_party,
            "self-registered clients always see the consent page"
        );
    }

    #[test]
    fn the_policy_for_self_registered_clients_is_enforced() {
        use serde_json::json;
        let serve = RegistrationLimits::default().rules(&sample_registry());
        let check = |value, rules: &RegistrationRules| {
            validate_registration(request(value), rules).map_err(|error| error.code)
        };
        let web = json!({"redirect_uris": ["https://a.example/cb"]});
        // serve's default: clients acting for users, read scopes.
        let metadata = check(web.clone(), &serve).unwrap();
        assert_eq!(metadata.default_resource, None, "tokens for UserInfo only");
        assert!(metadata.allowed_resources.is_empty());
        for refused in [
            json!({"grant_types": ["client_credentials"], "scope": "api:read"}),
            json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["authorization_code", "urn:ietf:params:oauth:grant-type:token-exchange"]}),
            json!({"redirect_uris": ["https://a.example/cb"], "scope": "openid api:write"}),
        ] {
            assert_eq!(
                check(refused.clone(), &serve).err(),
                Some(CLIENT_METADATA),
                "{refused}"
            );
            // The lab allows each of them.
            assert!(check(refused.clone(), &lab()).is_ok(), "{refused}");
        }
        assert!(check(json!({"redirect_uris": ["https://a.example/cb"], "scope": "openid api:read offline_access"}), &serve).is_ok());
        assert!(check(json!({"grant_types": ["urn:ietf:params:oauth:grant-type:device_code"], "token_endpoint_auth_method": "none"}), &serve).is_ok());
        // A narrower operator policy narrows the default scope too.
        let narrow = RegistrationRules {
            scopes: ScopeSet::parse("openid").unwrap(),
            ..serve.clone()
        };
        assert_eq!(check(web, &narrow).unwrap().scope.to_string(), "openid");
        assert!(!serve.scopes.contains("api:write") && serve.scopes.contains("api:read"));
    }
}
