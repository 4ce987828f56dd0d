//! `provider resources add|list|remove`: the resource servers (RFC 8707) the provider issues
//! access tokens for.

use clap::Args;
use keys::SigningAlg;

use crate::admin::{Admin, AdminError, Console, Target};
use crate::cluster::Change;
use crate::protocol::resource::ResourceServer;
use crate::protocol::scope::ScopeSet;

/// `provider resources add`.
#[derive(Clone, Debug, Args)]
pub struct AddArgs {
    /// The resource indicator: an absolute URI without fragment, the tokens' `aud` (RFC 8707).
    pub identifier: String,
    /// Display name (consent page, listings).
    #[arg(long)]
    pub name: String,
    /// Space-separated scopes the API accepts; its tokens carry only these (and the OpenID
    /// identity scopes) [default: none].
    #[arg(long, default_value = "")]
    pub scopes: String,
    /// Signature algorithm of its access tokens: RS256, ES256 or EdDSA.
    #[arg(long, default_value = "RS256")]
    pub alg: String,
    /// Lifetime of its access tokens in seconds [default: the provider's].
    #[arg(long)]
    pub token_lifetime: Option<u64>,
    /// The client the resource server authenticates as to introspect its tokens [default:
    /// none; it verifies offline].
    #[arg(long)]
    pub introspection_client: Option<String>,
    /// Replace an existing resource with the same identifier.
    #[arg(long)]
    pub replace: bool,
    #[command(flatten)]
    pub target: Target,
}

/// Registers (or with `--replace` replaces) a resource server.
pub async fn add(
    admin: &Admin,
    args: AddArgs,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    let resource = ResourceServer {
        identifier: args.identifier,
        name: args.name,
        scopes: ScopeSet::parse(&args.scopes)
            .map_err(|_| AdminError::new("--scopes: not a valid space-separated scope list"))?,
        signing_alg: SigningAlg::parse(&args.alg)
            .map_err(|_| AdminError::new("--alg: RS256, ES256 or EdDSA"))?,
        access_token_lifetime_secs: args.token_lifetime,
        introspection_client: args.introspection_client,
    };
    resource.validate().map_err(AdminError)?;
    let exists = admin
        .stores
        .resources
        .resources()
        .await?
        .iter()
        .any(|known| known.identifier == resource.identifier);
    if exists && !args.replace {
        return Err(AdminError(format!(
            "a resource {} exists already (--replace to change it)",
            resource.identifier
        )));
    }
    admin
        .stores
        .resources
        .upsert_resource(&resource, admin.now)
        .await?;
    audit(admin, "resource_registered", &resource.identifier).await?;
    let told = admin.announce(Change::Resources).await;
    (console.print)(&format!(
        "{} resource {} ({}, {} tokens); {told}",
        if exists { "replaced" } else { "created" },
        resource.identifier,
        resource.name,
        resource.signing_alg.as_str()
    ));
    Ok(())
}

/// One line per resource: identifier, algorithm, lifetime, scopes, name.
pub async fn list(admin: &Admin, console: &mut Console<'_>) -> Result<(), AdminError> {
    let resources = admin.stores.resources.resources().await?;
    for resource in &resources {
        (console.print)(&format!(
            "{}\t{}\t{}\t{}\t{}",
            resource.identifier,
            resource.signing_alg.as_str(),
            resource
                .access_token_lifetime_secs
                .map_or_else(|| "default".to_owned(), |secs| format!("{secs}s")),
            resource.scopes,
            resource.name
        ));
    }
    if resources.is_empty() {
        (console.print)("no resources");
    }
    Ok(())
}

/// Removes a resource server: clients keep naming it, but tokens for it are refused
/// (`invalid_target`) from then on.
pub async fn remove(
    admin: &Admin,
    identifier: &str,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    if !admin.stores.resources.delete_resource(identifier).await? {
        return Err(AdminError(format!("no resource {identifier:?}")));
    }
    audit(admin, "resource_removed", identifier).await?;
    let told = admin.announce(Change::Resources).await;
    (console.print)(&format!("removed resource {identifier}; {told}"));
    Ok(())
}

async fn audit(admin: &Admin, kind: &str, identifier: &str) -> Result<(), AdminError> {
    admin
        .stores
        .audit
        .audit(
            kind,
            None,
            None,
            &format!("{identifier} by the admin CLI"),
            admin.now,
        )
        .await?;
    Ok(())
}
