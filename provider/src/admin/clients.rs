//! `provider clients add|list|show|remove|rotate-secret`.

use clap::Args;
use serde_json::json;

use crate::admin::{Admin, AdminError, Console, Target};
use crate::cluster::Change;
use crate::protocol::client::RegisteredClient;
use crate::protocol::registration::{
    RegistrationRequest, RegistrationRules, validate_registration,
};
use crate::protocol::resource::Registry;
use crate::protocol::types::{ClientId, SecretDigest, encode_random};

/// `provider clients add`.
#[derive(Clone, Debug, Args)]
pub struct AddArgs {
    /// Display name (shown on the consent page).
    #[arg(long)]
    pub name: String,
    /// A redirect URI (repeat for several); required for authorization_code.
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// A post-logout redirect URI (repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// A grant (repeat): authorization_code, refresh_token, client_credentials,
    /// urn:ietf:params:oauth:grant-type:device_code [default: authorization_code].
    #[arg(long = "grant")]
    pub grants: Vec<String>,
    /// Space-separated scopes the client may request [default: openid profile email
    /// offline_access].
    #[arg(long)]
    pub scope: Option<String>,
    /// client_secret_basic, client_secret_post or none (public) [default: client_secret_basic].
    #[arg(long)]
    pub auth_method: Option<String>,
    /// web or native [default: web].
    #[arg(long)]
    pub application_type: Option<String>,
    /// Where the client publishes its public keys (for private_key_jwt).
    #[arg(long)]
    pub jwks_uri: Option<String>,
    /// A registered resource server it may request tokens for (repeat for several; the first
    /// is its default) [default: none, tokens for UserInfo only].
    #[arg(long = "resource")]
    pub resources: Vec<String>,
    /// Choose the client id instead of a random one.
    #[arg(long)]
    pub client_id: Option<String>,
    /// First-party: skips the consent page (except for offline_access).
    #[arg(long)]
    pub first_party: bool,
    /// Must use pushed authorization requests (RFC 9126 §6).
    #[arg(long)]
    pub require_par: bool,
    /// May introspect tokens issued to other clients (a resource server).
    #[arg(long)]
    pub resource_server: bool,
    #[command(flatten)]
    pub target: Target,
}

/// Registers the client the arguments describe, with the checks of dynamic registration.
pub async fn add(
    admin: &Admin,
    args: AddArgs,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    let request = RegistrationRequest {
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        token_endpoint_auth_method: args.auth_method,
        grant_types: (!args.grants.is_empty()).then_some(args.grants),
        response_types: None,
        client_name: Some(args.name),
        scope: args.scope,
        application_type: args.application_type,
        id_token_signed_response_alg: None,
        jwks: None,
        jwks_uri: args.jwks_uri,
        dpop_bound_access_tokens: None,
        request_object_signing_alg: None,
        require_signed_request_object: None,
        ..RegistrationRequest::default()
    };
    let registry = Registry::new("", admin.stores.resources.resources().await?);
    if let Some(unknown) = args
        .resources
        .iter()
        .find(|identifier| registry.get(identifier).is_none())
    {
        return Err(AdminError(format!(
            "--resource {unknown:?} is not a registered resource (see provider resources list)"
        )));
    }
    let rules = RegistrationRules::open(&registry, args.resources);
    let mut metadata = validate_registration(request, &rules)
        .map_err(|error| AdminError(format!("{}: {}", error.code.as_str(), error.description)))?;
    metadata.first_party = args.first_party;
    metadata.require_pushed_authorization_requests = args.require_par;
    metadata.resource_server = args.resource_server;
    let raw_id = args
        .client_id
        .unwrap_or_else(|| encode_random(admin.random_bytes())[..22].to_owned());
    let client_id = ClientId::parse(&raw_id)
        .map_err(|_| AdminError::new("--client-id: 1 to 255 visible ASCII characters"))?;
    if admin
        .stores
        .clients
        .client(client_id.as_str())
        .await?
        .is_some()
    {
        return Err(AdminError(format!("a client {client_id} exists already")));
    }
    let secret = issue_secret(admin, &client_id, &mut metadata).await?;
    let name = metadata.client_name.clone();
    let client = RegisteredClient {
        client_id: client_id.clone(),
        secret_digest: secret.as_deref().map(SecretDigest::of),
        metadata,
    };
    admin
        .stores
        .clients
        .upsert_client(&client, admin.now)
        .await?;
    admin
        .audit("client_registered", Some(client_id.as_str()), None)
        .await?;
    let told = admin.announce(Change::Client(client_id.to_string())).await;
    (console.print)(&match secret {
        Some(secret) => format!(
            "created confidential client {client_id} ({name}); its secret, shown only now: {secret}"
        ),
        None => format!("created public client {client_id} ({name}); {told}"),
    });
    Ok(())
}

/// One line per client.
pub async fn list(admin: &Admin, console: &mut Console<'_>) -> Result<(), AdminError> {
    let clients = admin.stores.clients.list_clients().await?;
    for client in &clients {
        let kind = if client.is_public() {
            "public"
        } else {
            "confidential"
        };
        let grants: Vec<&str> = client
            .metadata
            .grant_types
            .iter()
            .map(|grant| grant.as_str())
            .collect();
        (console.print)(&format!(
            "{}\t{kind}\t{}\t{}",
            client.client_id,
            grants.join(","),
            client.metadata.client_name
        ));
    }
    if clients.is_empty() {
        (console.print)("no clients");
    }
    Ok(())
}

async fn existing(admin: &Admin, client_id: &str) -> Result<RegisteredClient, AdminError> {
    admin
        .stores
        .clients
        .client(client_id)
        .await?
        .ok_or_else(|| AdminError(format!("no client {client_id:?}")))
}

/// The metadata as JSON (no secret).
pub async fn show(
    admin: &Admin,
    client_id: &str,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    let client = existing(admin, client_id).await?;
    let document = json!({
        "client_id": client.client_id.as_str(),
        "confidential": !client.is_public(),
        "metadata": client.metadata,
    });
    let text = serde_json::to_string_pretty(&document)
        .map_err(|err| AdminError(format!("rendering the metadata: {err}")))?;
    for line in text.lines() {
        (console.print)(line);
    }
    Ok(())
}

/// Deletes a client (its refresh tokens are revoked with it).
pub async fn remove(
    admin: &Admin,
    client_id: &str,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    existing(admin, client_id).await?;
    admin
        .stores
        .clients
        .delete_client(client_id, admin.now)
        .await?;
    admin.audit("client_deleted", Some(client_id), None).await?;
    let told = admin.announce(Change::Client(client_id.to_owned())).await;
    (console.print)(&format!(
        "removed client {client_id}; its refresh tokens are revoked and its access tokens refused by this provider; {told}"
    ));
    Ok(())
}

/// A new secret for a confidential client.
pub async fn rotate_secret(
    admin: &Admin,
    client_id: &str,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    let mut client = existing(admin, client_id).await?;
    if !client.metadata.token_endpoint_auth_method.uses_secret() {
        return Err(AdminError(format!(
            "{client_id} is a public client or uses private_key_jwt: it has no secret"
        )));
    }
    let client_id_typed = client.client_id.clone();
    let secret = issue_secret(admin, &client_id_typed, &mut client.metadata)
        .await?
        .ok_or(AdminError::new("this client has no secret"))?;
    client.secret_digest = Some(SecretDigest::of(&secret));
    admin
        .stores
        .clients
        .upsert_client(&client, admin.now)
        .await?;
    admin
        .audit("client_secret_rotated", Some(client_id), None)
        .await?;
    let told = admin.announce(Change::Client(client_id.to_owned())).await;
    (console.print)(&format!(
        "client {client_id} has a new secret, shown only now: {secret}; the old one no longer works ({told})"
    ));
    Ok(())
}

/// The secret a client is issued: random, or for `client_secret_jwt` derived from the server's
/// HMAC key and a new derivation input (the key is read from the database, so the admin needs
/// the key-encryption key then).
async fn issue_secret(
    admin: &Admin,
    client_id: &ClientId,
    metadata: &mut crate::protocol::client::ClientMetadata,
) -> Result<Option<String>, AdminError> {
    use crate::protocol::client::TokenEndpointAuthMethod;
    Ok(match metadata.token_endpoint_auth_method {
        TokenEndpointAuthMethod::ClientSecretJwt => {
            let server_secret = crate::secrets::ServerSecret::load(
                admin.stores.keys.as_ref(),
                admin.random_bytes(),
                admin.now,
            )
            .await?;
            let derivation = encode_random(admin.random_bytes());
            let secret = server_secret.client_jwt_secret(client_id.as_str(), &derivation);
            metadata.secret_derivation = Some(derivation);
            Some(secret)
        }
        method if method.uses_secret() => Some(encode_random(admin.random_bytes())),
        _ => None,
    })
}
