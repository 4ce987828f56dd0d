//! The `provider` binary: `dev` / `serve` run the server; `clients`, `resources`, `users`, `keys`
//! and `audit` are the operator's commands. Parses the command line and runs.

use std::io::{BufRead, Write};

use clap::Parser;

use provider::admin::{
    self, Admin, AdminError, AuditCommand, ClientsCommand, Console, KeysCommand, ResourcesCommand,
    Target, UsersCommand,
};
use provider::config::{Cli, Command, Config};
use provider::random::{OsRandom, Random};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = match cli.command {
        Command::Clients(command) => return operate(Operation::Clients(command)).await,
        Command::Resources(command) => return operate(Operation::Resources(command)).await,
        Command::Users(command) => return operate(Operation::Users(command)).await,
        Command::Keys(command) => return operate(Operation::Keys(command)).await,
        Command::Audit(command) => return operate(Operation::Audit(command)).await,
        Command::Healthcheck(args) => healthcheck(&args).await,
        Command::Doctor(args) => doctor(*args).await,
        server => server,
    };
    let config = match Config::from_command(command) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("provider: invalid configuration: {message}");
            std::process::exit(2);
        }
    };
    let log = provider::telemetry::init(config.mode, config.log_format);
    // Start-up failures are the operator's to fix: one clear line, exit code 1.
    let running = match provider::start(config).await {
        Ok(running) => running,
        Err(error) => {
            tracing::error!(%error, "the provider could not start");
            drop(log);
            eprintln!("provider: {error}");
            std::process::exit(1);
        }
    };
    running.wait().await?;
    tracing::info!("provider stopped");
    Ok(())
}

enum Operation {
    Clients(ClientsCommand),
    Resources(ResourcesCommand),
    Users(UsersCommand),
    Keys(KeysCommand),
    Audit(AuditCommand),
}

impl Operation {
    /// The deployment the command works on (`keys new-kek` works on none).
    fn target(&self) -> Option<&Target> {
        Some(match self {
            Operation::Clients(ClientsCommand::Add(args)) => &args.target,
            Operation::Clients(
                ClientsCommand::List(target)
                | ClientsCommand::Show { target, .. }
                | ClientsCommand::Remove { target, .. }
                | ClientsCommand::RotateSecret { target, .. },
            ) => target,
            Operation::Resources(ResourcesCommand::Add(args)) => &args.target,
            Operation::Resources(
                ResourcesCommand::List(target) | ResourcesCommand::Remove { target, .. },
            ) => target,
            Operation::Users(UsersCommand::Add(args)) => &args.target,
            Operation::Users(
                UsersCommand::List(target)
                | UsersCommand::Passwd { target, .. }
                | UsersCommand::Disable { target, .. }
                | UsersCommand::SignOut { target, .. }
                | UsersCommand::ResetMfa { target, .. }
                | UsersCommand::Enable { target, .. },
            ) => target,
            Operation::Keys(
                KeysCommand::List(target)
                | KeysCommand::Rotate { target, .. }
                | KeysCommand::Reencrypt { target, .. },
            ) => target,
            Operation::Keys(KeysCommand::NewKek) => return None,
            Operation::Audit(AuditCommand::Tail { target, .. }) => target,
        })
    }
}

/// `provider healthcheck`: one line, exit code 0 (ready) or 1.
/// `provider doctor`: prints the report; exit 1 on a high finding (a configuration that does
/// not load is one).
async fn doctor(args: provider::doctor::DoctorArgs) -> ! {
    let report = match &args.issuer_url {
        Some(url) => provider::doctor::audit_issuer(url, &args).await,
        None => {
            let common = provider::config::CommonArgs {
                ..std::mem::take(&mut { args }.common)
            };
            match Config::from_command(Command::Serve(common)) {
                Ok(config) => provider::doctor::audit_config(&config),
                Err(message) => provider::doctor::unloadable_config(&message),
            }
        }
    };
    #[allow(clippy::print_stdout)]
    {
        println!("{report}");
    }
    std::process::exit(i32::from(report.has_high()))
}

async fn healthcheck(args: &provider::healthcheck::HealthcheckArgs) -> ! {
    let timeout = std::time::Duration::from_secs(args.timeout);
    let result = match provider::healthcheck::target(args) {
        Ok(address) => provider::healthcheck::check(address, timeout).await,
        Err(message) => Err(message),
    };
    match result {
        Ok(body) => {
            #[allow(clippy::print_stdout)]
            {
                println!("ready: {}", body.replace('\n', "; "));
            }
            std::process::exit(0)
        }
        Err(message) => {
            eprintln!("provider healthcheck: {message}");
            std::process::exit(1)
        }
    }
}

/// Runs an operator command: its output on stdout, a failure on stderr with exit code 1.
async fn operate(operation: Operation) -> anyhow::Result<()> {
    // The output is the command's interface, as the walkthrough's is the client's.
    #[allow(clippy::print_stdout)]
    let mut print = |line: &str| {
        println!("{line}");
        let _ = std::io::stdout().flush();
    };
    let mut read_secret = |prompt: &str| -> std::io::Result<String> {
        eprintln!("{prompt}");
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    };
    let mut console = Console {
        print: &mut print,
        read_secret: &mut read_secret,
    };
    let result = run(operation, &mut console).await;
    if let Err(error) = result {
        eprintln!("provider: {error}");
        std::process::exit(1);
    }
    Ok(())
}

async fn run(operation: Operation, console: &mut Console<'_>) -> Result<(), AdminError> {
    let Some(target) = operation.target() else {
        (console.print)(&admin::keys::new_kek(OsRandom.bytes32()));
        return Ok(());
    };
    let admin = Admin::open(target).await?;
    match operation {
        Operation::Clients(command) => match command {
            ClientsCommand::Add(args) => admin::clients::add(&admin, *args, console).await,
            ClientsCommand::List(_) => admin::clients::list(&admin, console).await,
            ClientsCommand::Show { client_id, .. } => {
                admin::clients::show(&admin, &client_id, console).await
            }
            ClientsCommand::Remove { client_id, .. } => {
                admin::clients::remove(&admin, &client_id, console).await
            }
            ClientsCommand::RotateSecret { client_id, .. } => {
                admin::clients::rotate_secret(&admin, &client_id, console).await
            }
        },
        Operation::Resources(command) => match command {
            ResourcesCommand::Add(args) => admin::resources::add(&admin, args, console).await,
            ResourcesCommand::List(_) => admin::resources::list(&admin, console).await,
            ResourcesCommand::Remove { identifier, .. } => {
                admin::resources::remove(&admin, &identifier, console).await
            }
        },
        Operation::Users(command) => match command {
            UsersCommand::Add(args) => admin::users::add(&admin, args, console).await,
            UsersCommand::List(_) => admin::users::list(&admin, console).await,
            UsersCommand::Passwd { username, .. } => {
                admin::users::passwd(&admin, &username, console).await
            }
            UsersCommand::Disable { username, .. } => {
                admin::users::set_disabled(&admin, &username, true, console).await
            }
            UsersCommand::ResetMfa { username, .. } => {
                admin::users::reset_mfa(&admin, &username, console).await
            }
            UsersCommand::SignOut { username, .. } => {
                admin::users::sign_out(&admin, &username, console).await
            }
            UsersCommand::Enable { username, .. } => {
                admin::users::set_disabled(&admin, &username, false, console).await
            }
        },
        Operation::Keys(command) => match command {
            KeysCommand::List(_) => admin::keys::list(&admin, console).await,
            KeysCommand::Rotate { alg, .. } => {
                admin::keys::rotate(&admin, alg.as_deref(), console).await
            }
            KeysCommand::Reencrypt { new_key_file, .. } => {
                admin::keys::reencrypt(&admin, &new_key_file, console).await
            }
            KeysCommand::NewKek => Ok(()),
        },
        Operation::Audit(AuditCommand::Tail { lines, follow, .. }) => {
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            admin::audit::tail(&admin, lines, follow, stop, console).await
        }
    }
}
