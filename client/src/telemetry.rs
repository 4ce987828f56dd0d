//! Installs the tracing subscriber of `client web`. `RUST_LOG` overrides the default filter.
//!
//! The walkthrough prints its own console output and installs a subscriber only when
//! `RUST_LOG` is set (so the in-process provider's logs do not interleave with the tour).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The default filter of `client web`: our lifecycle and flow lines plus request traces.
pub const DEFAULT_FILTER: &str = "client=info,flow=info,tower_http=info";

/// Installs the fmt subscriber on stderr; colours only on a terminal. A second call is a no-op.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Installs a subscriber for the walkthrough only when `RUST_LOG` asks for one.
pub fn init_if_requested() {
    if let Ok(filter) = EnvFilter::try_from_default_env() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init();
    }
}
