//! `provider dev` / `provider serve` / `provider keys rotate` / `provider users add`: parses the
//! command line and runs.

use clap::Parser;
use std::io::BufRead;

use provider::config::{Cli, Command, Config, KeysCommand, Mode, UsersCommand};

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
    if let Command::Users(UsersCommand::Add {
        database_url,
        username,
        name,
        email,
        email_verified,
    }) = cli.command
    {
        provider::telemetry::init(Mode::Serve);
        let database_url =
            database_url.unwrap_or_else(|| provider::config::DEFAULT_DATABASE_URL.to_owned());
        eprintln!("password for {username} (one line on standard input):");
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = provider::protocol::types::Password::new(
            line.trim_end_matches(['\r', '\n']).to_owned(),
        );
        let user = provider::users::NewUser {
            username,
            name,
            email,
            email_verified,
            password,
        };
        match provider::users::add_user(&database_url, user, rand::random()).await {
            Ok(subject) => eprintln!("created the user with sub {}", subject.as_str()),
            Err(error) => {
                eprintln!("provider users add: {error}");
                std::process::exit(1);
            }
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
