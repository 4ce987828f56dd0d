//! `provider dev` / `provider serve` / `provider keys rotate` / `provider users add`: parses the
//! command line and runs.

use clap::Parser;
use std::io::BufRead;

use provider::clock::Clock;
use provider::config::{Cli, Command, Config, KeysCommand, LogFormat, Mode, UsersCommand};
use provider::random::Random;

/// The value, or the configuration error on stderr and exit code 2.
fn exit_on_error<T>(result: Result<T, String>) -> T {
    result.unwrap_or_else(|message| {
        eprintln!("provider: invalid configuration: {message}");
        std::process::exit(2);
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Keys(KeysCommand::Rotate { database_url, alg }) = cli.command {
        provider::telemetry::init(Mode::Dev, LogFormat::Text);
        let database_url = exit_on_error(provider::config::database_url(database_url));
        let now = provider::clock::SystemClock.now();
        let rotated = provider::signing::rotate_keys(&database_url, alg.as_deref(), now).await?;
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
        provider::telemetry::init(Mode::Serve, LogFormat::Text);
        let database_url = exit_on_error(provider::config::database_url(database_url));
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
        let subject_random = provider::random::OsRandom.bytes32();
        match provider::users::add_user(&database_url, user, subject_random).await {
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
    provider::telemetry::init(config.mode, config.log_format);
    let running = provider::start(config).await?;
    running.wait().await?;
    tracing::info!("provider stopped");
    Ok(())
}
