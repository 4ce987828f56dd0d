//! The `client` binary: parse the command line, start tracing, run the library.

use std::io::IsTerminal;

use clap::Parser;
use client::config::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Web(args) => {
            client::telemetry::init();
            let config = args.into_config()?;
            client::web::run(config).await?;
        }
        Command::Walkthrough(args) => {
            client::telemetry::init_if_requested();
            // Colour only on a terminal and when NO_COLOR is unset (https://no-color.org).
            let colour_allowed = std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
            let config = args.into_config(colour_allowed)?;
            let mut stdout = std::io::stdout();
            // The tour is written to stdout through `Write`: the console output is the
            // walkthrough's user interface (STYLE.md §7), ending with a summary line.
            let report = client::walkthrough::run(config, &mut stdout).await?;
            if !report.all_as_expected() {
                anyhow::bail!("some steps did not behave as expected (see above)");
            }
        }
    }
    Ok(())
}
