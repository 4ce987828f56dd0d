//! The `resource` demo binary: parse config, start tracing, run the demo API from the library.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = resource::demo::Args::parse();
    resource::demo::telemetry::init();
    keys::install_crypto_provider();
    let config = args.into_config()?;
    resource::demo::run(config).await?;
    Ok(())
}
