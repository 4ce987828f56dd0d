//! `provider dev` / `provider serve`: parses the configuration and runs the provider.

use clap::Parser;
use provider::config::{Cli, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = match Config::from_command(cli.command) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("provider: invalid configuration: {message}");
            std::process::exit(2);
        }
    };
    provider::telemetry::init(config.mode);
    let running = provider::start(config).await?;
    running.wait().await?;
    tracing::info!("provider stopped");
    Ok(())
}
