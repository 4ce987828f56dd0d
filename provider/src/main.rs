//! `provider dev` / `provider serve` / `provider keys rotate`: parses the command line and runs.

use clap::Parser;
use provider::config::{Cli, Command, Config, KeysCommand, Mode};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Keys(KeysCommand::Rotate { database_url, alg }) = cli.command {
        provider::telemetry::init(Mode::Dev);
        let database_url =
            database_url.unwrap_or_else(|| provider::config::DEFAULT_DATABASE_URL.to_owned());
        let rotated = provider::signing::rotate_keys(&database_url, alg.as_deref()).await?;
        for (alg, kid, activate_at) in rotated {
            tracing::info!(
                "rotated {alg}: new key {kid} is published now and signs from unix time {activate_at}"
            );
        }
        return Ok(());
    }
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
