//! OIDC Discovery 1.0 / RFC 8414 metadata and the JWKS, both served as bytes serialised once.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use keys::KeySet;
use keys::jwe::{ContentEncryption, KeyManagement};
use openapi::document::tags;
use openapi::{DiscoveryDocument, Jwks};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::RegistrationPolicy;
use crate::http::paths;
use crate::http::responses::json_document;
use crate::protocol::claims::{ACR_MFA, ACR_PASSWORD};
use crate::protocol::client::{GrantType, TokenEndpointAuthMethod};
use crate::protocol::client_assertion::ASSERTION_ALGORITHMS;
use crate::protocol::request_object;
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{Features, Issuer};
use crate::state::AppState;

/// Routes of this module. The stylesheet is not an API operation (see `docs::UNDOCUMENTED`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_openid_configuration))
        .routes(routes!(get_oauth_authorization_server))
        .routes(routes!(get_jwks))
        .route(paths::STYLESHEET, get(get_stylesheet))
}

/// Builds the metadata document. It advertises only what is implemented.
pub fn document(
    issuer: &Issuer,
    keys: &KeySet,
    registration: &RegistrationPolicy,
    scopes: &ScopeSet,
    client_metadata_documents: bool,
    features: Features,
) -> DiscoveryDocument {
    let strings = |items: &[&str]| {
        items
            .iter()
            .map(|item| (*item).to_owned())
            .collect::<Vec<_>>()
    };
    let id_token_algs: Vec<String> = keys
        .active_algorithms()
        .iter()
        .map(|alg| alg.as_str().to_owned())
        .collect();
    let encryption = features.encrypted_responses;
    let jwe_algs = || {
        KeyManagement::ALL
            .iter()
            .map(|alg| alg.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    let jwe_encs = || {
        ContentEncryption::ALL
            .iter()
            .map(|enc| enc.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    DiscoveryDocument {
        issuer: issuer.as_str().to_owned(),
        authorization_endpoint: issuer.url_for(paths::AUTHORIZE),
        token_endpoint: issuer.url_for(paths::TOKEN),
        userinfo_endpoint: Some(issuer.url_for(paths::USERINFO)),
        jwks_uri: issuer.url_for(paths::JWKS),
        registration_endpoint: (*registration != RegistrationPolicy::Disabled)
            .then(|| issuer.url_for(paths::REGISTER)),
        introspection_endpoint: Some(issuer.url_for(paths::INTROSPECT)),
        revocation_endpoint: Some(issuer.url_for(paths::REVOKE)),
        device_authorization_endpoint: Some(issuer.url_for(paths::DEVICE_AUTHORIZATION)),
        pushed_authorization_request_endpoint: Some(issuer.url_for(paths::PAR)),
        require_pushed_authorization_requests: Some(false),
        end_session_endpoint: Some(issuer.url_for(paths::END_SESSION)),
        scopes_supported: scopes.iter().map(str::to_owned).collect(),
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query"]),
        grant_types_supported: GrantType::ALL
            .iter()
            .map(|grant| grant.as_str().to_owned())
            .collect(),
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: id_token_algs.clone(),
        token_endpoint_auth_methods_supported: auth_methods(|_| true),
        token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS
            .iter()
            .map(|alg| (*alg).to_owned())
            .collect(),
        client_id_metadata_document_supported: client_metadata_documents.then_some(true),
        dpop_signing_alg_values_supported: keys::dpop::ALGORITHMS
            .iter()
            .map(|alg| (*alg).to_owned())
            .collect(),
        // Public clients cannot introspect (RFC 7662 §2.1 leaves the policy to the server).
        introspection_endpoint_auth_methods_supported: Some(auth_methods(|method| {
            !method.is_public()
        })),
        revocation_endpoint_auth_methods_supported: Some(auth_methods(|_| true)),
        claims_supported: strings(&[
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "sid",
            "amr",
            "acr",
            "at_hash",
            "name",
            "preferred_username",
            "email",
            "email_verified",
        ]),
        code_challenge_methods_supported: strings(&["S256"]),
        prompt_values_supported: strings(&["none", "login", "consent", "select_account"]),
        authorization_response_iss_parameter_supported: true,
        claims_parameter_supported: false,
        acr_values_supported: strings(&[ACR_PASSWORD, ACR_MFA]),
        request_parameter_supported: features.request_objects,
        request_object_signing_alg_values_supported: features
            .request_objects
            .then(|| strings(&request_object::ALGORITHMS)),
        require_signed_request_object: features.request_objects.then_some(false),
        id_token_encryption_alg_values_supported: encryption.then(jwe_algs),
        id_token_encryption_enc_values_supported: encryption.then(jwe_encs),
        userinfo_signing_alg_values_supported: encryption.then(|| id_token_algs.clone()),
        userinfo_encryption_alg_values_supported: encryption.then(jwe_algs),
        userinfo_encryption_enc_values_supported: encryption.then(jwe_encs),
        backchannel_logout_supported: features.backchannel_logout.then_some(true),
        backchannel_logout_session_supported: features.backchannel_logout.then_some(true),
        request_uri_parameter_supported: false,
    }
}

/// The token endpoint authentication methods that pass `filter`, by their registered names.
fn auth_methods(filter: impl Fn(TokenEndpointAuthMethod) -> bool) -> Vec<String> {
    TokenEndpointAuthMethod::ALL
        .into_iter()
        .filter(|method| filter(*method))
        .map(|method| method.as_str().to_owned())
        .collect()
}

/// OpenID Connect Discovery metadata.
///
/// OIDC Discovery 1.0 §4: every endpoint, scope, grant and algorithm the provider supports.
/// `issuer` equals the URL this was fetched from, minus the suffix.
#[utoipa::path(
    get,
    path = paths::OPENID_CONFIGURATION,
    tag = tags::DISCOVERY,
    responses((status = 200, description = "The metadata document.", body = DiscoveryDocument, headers(
        ("Cache-Control" = String, description = "`public, max-age=300`"),
        ("Access-Control-Allow-Origin" = String, description = "`*`: browser apps may read it."),
    ))),
)]
async fn get_openid_configuration(State(state): State<AppState>) -> Response {
    get_discovery(&state)
}

/// OAuth 2.0 authorization server metadata.
///
/// RFC 8414 §3: the same document as `/.well-known/openid-configuration`.
#[utoipa::path(
    get,
    path = paths::OAUTH_AUTHORIZATION_SERVER,
    tag = tags::DISCOVERY,
    responses((status = 200, description = "The metadata document.", body = DiscoveryDocument, headers(
        ("Cache-Control" = String, description = "`public, max-age=300`"),
        ("Access-Control-Allow-Origin" = String, description = "`*`: browser apps may read it."),
    ))),
)]
async fn get_oauth_authorization_server(State(state): State<AppState>) -> Response {
    get_discovery(&state)
}

/// OIDC Discovery §4 / RFC 8414 §3: the metadata document.
fn get_discovery(state: &AppState) -> Response {
    json_document(state.published().discovery_json.clone(), CACHE_CONTROL)
}

/// Both documents may be cached as long as a new key waits before signing
/// (`signing::PUBLISH_BEFORE_USE_SECS` is longer).
const CACHE_CONTROL: &str = "public, max-age=300";

/// The public signing keys (JWK Set).
///
/// RFC 7517 §5: the keys that verify ID tokens and access tokens, public members only. A key
/// is published before it signs and stays after it retires; pick it by the JWS `kid`.
#[utoipa::path(
    get,
    path = paths::JWKS,
    tag = tags::DISCOVERY,
    responses((status = 200, description = "The JWK Set.", body = Jwks, content_type = "application/json", headers(
        ("Cache-Control" = String, description = "`public, max-age=300`"),
        ("Access-Control-Allow-Origin" = String, description = "`*`"),
    ))),
)]
async fn get_jwks(State(state): State<AppState>) -> Response {
    json_document(state.published().jwks_json.clone(), CACHE_CONTROL)
}

async fn get_stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../../assets/provider.css"),
    )
        .into_response()
}
