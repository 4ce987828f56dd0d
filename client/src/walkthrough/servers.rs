//! The walkthrough's own servers: a dev-mode provider (demo users and clients, fresh SQLite
//! file in a temp directory) and the resource demo API, both on free loopback ports.

use anyhow::Context;
use tokio::net::TcpListener;

/// The servers started in-process.
pub struct LocalServers {
    provider: provider::RunningProvider,
    resource: resource::demo::DemoServer,
    /// Holds the SQLite file until the end.
    _directory: tempfile::TempDir,
}

impl LocalServers {
    /// Starts both; returns once the resource server holds the provider's keys.
    pub async fn start() -> anyhow::Result<LocalServers> {
        let directory =
            tempfile::tempdir().context("creating a temp directory for the provider's database")?;
        let provider = provider::start(provider::Config::for_tests(
            &directory.path().join("provider.db"),
        ))
        .await
        .context("starting the provider")?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a port for the resource server")?;
        // DPoP proofs name the URL the API is really reached at (its htu), not its audience.
        let public_url = format!(
            "http://{}",
            listener
                .local_addr()
                .context("reading the resource server's address")?
        );
        let mut config = resource::demo::Config::new(provider.issuer.as_str());
        config.public_url = Some(public_url);
        let resource = resource::demo::serve(config, listener)
            .await
            .context("starting the resource server")?;
        // Load the JWKS now rather than waiting for the background fetch.
        resource
            .verifier()
            .refresh()
            .await
            .context("letting the resource server fetch the provider's JWKS")?;
        Ok(LocalServers {
            provider,
            resource,
            _directory: directory,
        })
    }

    /// The provider's issuer.
    pub fn issuer(&self) -> String {
        self.provider.issuer.as_str().to_owned()
    }

    /// The resource server's base URL.
    pub fn resource_url(&self) -> String {
        self.resource.base_url()
    }

    /// Stops both.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.resource
            .shutdown()
            .await
            .context("stopping the resource server")?;
        self.provider
            .shutdown()
            .await
            .context("stopping the provider")?;
        Ok(())
    }
}
