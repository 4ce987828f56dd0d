//! Dev-mode demo data: two users, two resource servers and six clients (those of the README and
//! Swagger UI's), seeded idempotently at every start.
//!
//! Password hashes are pre-computed (bcrypt cost 12) so start-up pays for no hashing.

use keys::SigningAlg;

use crate::http::paths;
use crate::protocol::client::{
    ApplicationType, ClientMetadata, GrantType, RegisteredClient, ResponseType,
    TokenEndpointAuthMethod,
};
use crate::protocol::resource::ResourceServer;
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{ClientId, Issuer, SecretDigest, Subject, UnixTime};
use crate::store::{Result, Stores, UserRecord};

/// The demo API's resource identifier: the default `aud` of every demo client's access tokens.
pub const DEMO_API_AUDIENCE: &str = "http://127.0.0.1:8081";

/// The second demo resource: the same scopes, tokens signed ES256 (the benchmark kit selects
/// ES256 tokens on every provider with `resource=urn:demo:api:es256`).
pub const DEMO_ES256_AUDIENCE: &str = "urn:demo:api:es256";

/// The demo resource servers: the notes API (RS256; its own client `demo-api` may introspect
/// its tokens) and an ES256 one.
pub fn demo_resources() -> Vec<ResourceServer> {
    let scopes = ScopeSet::parse("api:read api:write").expect("demo scopes are well-formed");
    vec![
        ResourceServer {
            identifier: DEMO_API_AUDIENCE.to_owned(),
            name: "Demo notes API".to_owned(),
            scopes: scopes.clone(),
            signing_alg: SigningAlg::RS256,
            access_token_lifetime_secs: None,
            introspection_client: Some("demo-api".to_owned()),
        },
        ResourceServer {
            identifier: DEMO_ES256_AUDIENCE.to_owned(),
            name: "Demo API (ES256 tokens)".to_owned(),
            scopes,
            signing_alg: SigningAlg::ES256,
            access_token_lifetime_secs: None,
            introspection_client: None,
        },
    ]
}

struct DemoUser {
    subject: &'static str,
    username: &'static str,
    /// bcrypt cost 12 of the password in the README.
    password_hash: &'static str,
    name: &'static str,
    email: &'static str,
}

const USERS: &[DemoUser] = &[
    DemoUser {
        subject: "6c2f5e0a-8c1e-4d8f-9a51-2f1f2a8b7c01",
        username: "alice",
        password_hash: "$2b$12$WYE9NSojS.XwAJYnaeHdRugWsazDYMuDztcyUHCIiqieOiclPo4b.",
        name: "Alice Liddell",
        email: "alice@example.com",
    },
    DemoUser {
        subject: "0b7d3c9e-41a2-4f6b-8e3d-5a9c1d2e4f02",
        username: "bob",
        password_hash: "$2b$12$pcJpuAnvMgfBCJg16T04NuhxoAQZlnrEmPy010pYSKhQ4.vacJ5Ve",
        name: "Bob Builder",
        email: "bob@example.com",
    },
];

fn metadata(
    name: &str,
    auth_method: TokenEndpointAuthMethod,
    application_type: ApplicationType,
    grants: &[GrantType],
    redirects: &[&str],
    scope: &str,
) -> ClientMetadata {
    ClientMetadata {
        client_name: name.to_owned(),
        redirect_uris: redirects.iter().map(|uri| (*uri).to_owned()).collect(),
        post_logout_redirect_uris: Vec::new(),
        grant_types: grants.to_vec(),
        response_types: if grants.contains(&GrantType::AuthorizationCode) {
            vec![ResponseType::Code]
        } else {
            Vec::new()
        },
        token_endpoint_auth_method: auth_method,
        application_type,
        scope: ScopeSet::parse(scope).expect("demo scopes are well-formed"),
        id_token_signed_response_alg: SigningAlg::RS256,
        access_token_signed_response_alg: SigningAlg::RS256,
        default_resource: Some(DEMO_API_AUDIENCE.to_owned()),
        allowed_resources: vec![DEMO_ES256_AUDIENCE.to_owned()],
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
    }
}

/// The demo clients of the README.
pub fn demo_clients() -> Vec<RegisteredClient> {
    let all_scopes = "openid profile email offline_access api:read api:write";
    let mut web = metadata(
        "Demo web app",
        TokenEndpointAuthMethod::ClientSecretBasic,
        ApplicationType::Web,
        &[
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::TokenExchange,
        ],
        &["http://127.0.0.1:8082/callback"],
        all_scopes,
    );
    web.post_logout_redirect_uris = vec!["http://127.0.0.1:8082/".into()];
    // The demo client's receiver: a logout at the provider ends its session too.
    web.backchannel_logout_uri = Some("http://127.0.0.1:8082/backchannel-logout".into());
    web.backchannel_logout_session_required = true;
    let cli = metadata(
        "Demo CLI (native app)",
        TokenEndpointAuthMethod::None,
        ApplicationType::Native,
        &[GrantType::AuthorizationCode, GrantType::RefreshToken],
        &["http://127.0.0.1/callback"],
        all_scopes,
    );
    let service = metadata(
        "Demo service",
        TokenEndpointAuthMethod::ClientSecretBasic,
        ApplicationType::Web,
        &[GrantType::ClientCredentials],
        &[],
        "api:read api:write",
    );
    let device = metadata(
        "Demo TV (device flow)",
        TokenEndpointAuthMethod::None,
        ApplicationType::Native,
        &[GrantType::DeviceCode, GrantType::RefreshToken],
        &[],
        all_scopes,
    );
    // The notes API's own identity: a resource server, so it may introspect and exchange the
    // tokens it receives (RFC 8693: calling the next service on the user's behalf). It sends
    // its secret in the body (client_secret_post), the other confidential demo clients use
    // HTTP Basic: each is held to its registered method.
    let mut api = metadata(
        "Demo notes API (resource server)",
        TokenEndpointAuthMethod::ClientSecretPost,
        ApplicationType::Web,
        &[GrantType::ClientCredentials, GrantType::TokenExchange],
        &[],
        "openid profile email api:read api:write",
    );
    api.resource_server = true;
    let client = |id: &str, secret: Option<&str>, metadata: ClientMetadata| RegisteredClient {
        client_id: ClientId::parse(id).expect("demo client ids are short printable ASCII"),
        secret_digest: secret.map(SecretDigest::of),
        metadata,
    };
    vec![
        client("demo-web", Some("demo-web-secret"), web),
        client("demo-cli", None, cli),
        client("demo-service", Some("demo-service-secret"), service),
        client("demo-device", None, device),
        client("demo-api", Some("demo-api-secret"), api),
    ]
}

/// The public client of Swagger UI's *Authorize* button (served at `/docs`).
pub const SWAGGER_UI_CLIENT_ID: &str = "swagger-ui";

/// Swagger UI's client: public (PKCE protects its codes), authorization code only, redirect
/// URIs `{issuer}/docs/oauth2-redirect.html` and the demo API's `/docs/oauth2-redirect.html`. The issuer is known only once the
/// provider has bound its address, so it is passed in.
pub fn swagger_ui_client(issuer: &Issuer) -> RegisteredClient {
    let redirect_uri = issuer.url_for(paths::DOCS_OAUTH2_REDIRECT);
    // The demo API's own Swagger UI (resource server on its default address) signs in too.
    let demo_api_redirect_uri = format!("{DEMO_API_AUDIENCE}{}", paths::DOCS_OAUTH2_REDIRECT);
    RegisteredClient {
        client_id: ClientId::parse(SWAGGER_UI_CLIENT_ID)
            .expect("the Swagger UI client id is short printable ASCII"),
        secret_digest: None,
        metadata: metadata(
            "Swagger UI (API documentation)",
            TokenEndpointAuthMethod::None,
            ApplicationType::Web,
            &[GrantType::AuthorizationCode],
            &[&redirect_uri, &demo_api_redirect_uri],
            "openid profile email api:read api:write",
        ),
    }
}

/// The provider's own account page signs users in through `/authorize` like any client.
pub const ACCOUNT_CLIENT_ID: &str = "provider-account";

/// The account page's client: public, first-party, `openid` only, redirect URI
/// `{issuer}/account/callback` (its codes are never redeemed: the sign-in's session is what the
/// page needs). Registered at every start, in every mode.
pub fn account_client(issuer: &Issuer) -> RegisteredClient {
    let mut metadata = metadata(
        "Your account at this provider",
        TokenEndpointAuthMethod::None,
        ApplicationType::Web,
        &[GrantType::AuthorizationCode],
        &[&issuer.url_for(paths::ACCOUNT_CALLBACK)],
        "openid",
    );
    metadata.default_resource = None;
    metadata.allowed_resources = Vec::new();
    RegisteredClient {
        client_id: ClientId::parse(ACCOUNT_CLIENT_ID)
            .expect("the account client id is short printable ASCII"),
        secret_digest: None,
        metadata,
    }
}

/// Seeds the demo users and clients (insert or update, so restarts are harmless).
pub async fn seed_demo_data(store: &Stores, issuer: &Issuer, now: UnixTime) -> Result<()> {
    for resource in demo_resources() {
        store.resources.upsert_resource(&resource, now).await?;
    }
    for user in USERS {
        store
            .users
            .upsert_user(&UserRecord {
                subject: Subject(user.subject.to_owned()),
                username: user.username.to_owned(),
                password_hash: user.password_hash.to_owned(),
                name: user.name.to_owned(),
                email: user.email.to_owned(),
                email_verified: true,
                disabled: false,
            })
            .await?;
    }
    for client in demo_clients() {
        store.clients.upsert_client(&client, now).await?;
    }
    store
        .clients
        .upsert_client(&swagger_ui_client(issuer), now)
        .await?;
    tracing::info!(target: "flow", "seed: demo resources http://127.0.0.1:8081 (RS256) and urn:demo:api:es256 (ES256), users alice, bob and clients demo-web, demo-cli, demo-service, demo-device, demo-api, swagger-ui are ready");
    Ok(())
}
