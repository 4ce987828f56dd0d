//! The demo's tracing subscriber.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Used when `RUST_LOG` is unset: our logs, request traces and the educational `flow` lines.
pub const DEFAULT_FILTER: &str = "resource=info,tower_http=info,flow=info";

/// Installs the fmt subscriber on stderr, filtered by `RUST_LOG` (default [`DEFAULT_FILTER`]);
/// colours only on a terminal. A second call is a no-op (tests may call it many times).
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
