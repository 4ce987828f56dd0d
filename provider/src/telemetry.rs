//! Installs the tracing subscriber. `RUST_LOG` overrides the default filter.
//!
//! Educational narration uses the `flow` target: one line per protocol step, naming the RFC
//! section. In dev mode it is on and each line's component is coloured (when stderr is a
//! terminal); in serve mode it is off unless `RUST_LOG` turns it on (`RUST_LOG=flow=info`).

use std::io::IsTerminal;

use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::Mode;

/// The tracing target of the educational narration.
pub const FLOW: &str = "flow";

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(mode: Mode) {
    let default_filter = match mode {
        Mode::Dev => "provider=info,flow=info,tower_http=info",
        Mode::Serve => "provider=info,flow=off,tower_http=info",
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let ansi = std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .event_format(FlowFormat {
            ansi,
            inner: Format::default().with_ansi(ansi),
        })
        .try_init();
}

/// Formats `flow` events as `component: sentence` with the component coloured; everything else
/// with the default format.
struct FlowFormat {
    ansi: bool,
    inner: Format,
}

/// ANSI colour per component, so a reader can follow who does what.
fn colour(component: &str) -> &'static str {
    match component {
        "authorize" => "\x1b[1;34m",
        "login" | "consent" => "\x1b[1;35m",
        "token" => "\x1b[1;32m",
        "userinfo" => "\x1b[1;36m",
        "keys" | "discovery" => "\x1b[1;33m",
        _ => "\x1b[1;37m",
    }
}

impl<S, N> FormatEvent<S, N> for FlowFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        if event.metadata().target() != FLOW {
            return self.inner.format_event(ctx, writer, event);
        }
        let mut message = String::new();
        let mut visitor = MessageVisitor(&mut message);
        event.record(&mut visitor);
        let (component, rest) = message
            .split_once(": ")
            .unwrap_or(("flow", message.as_str()));
        if self.ansi {
            writeln!(
                writer,
                "  {}{component:>9}\x1b[0m  {rest}",
                colour(component)
            )
        } else {
            writeln!(writer, "  {component:>9}  {rest}")
        }
    }
}

struct MessageVisitor<'a>(&'a mut String);

impl tracing::field::Visit for MessageVisitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}
