//! Installs the tracing subscriber. `RUST_LOG` overrides the default filter.
//!
//! Educational narration uses the `flow` target: one line per protocol step, naming the RFC
//! section. In dev mode it is on and each line's component is coloured (when stderr is a
//! terminal); in serve mode it is off unless `RUST_LOG` turns it on (`RUST_LOG=flow=info`).

use std::io::IsTerminal;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, Mode};

/// The tracing target of the educational narration.
pub const FLOW: &str = "flow";

/// Lines waiting for the writer thread at most; a logging thread waits when it is full.
const LOG_QUEUE_LINES: usize = 4096;

/// Keeps the log writer's thread running; dropping it writes out what is still buffered.
/// Hold it until the process ends.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    // Only held: its drop flushes the writer.
    _writer: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Installs the global subscriber once; later calls (tests) are no-ops.
///
/// Lines go to stderr through a writer thread with a buffer (`tracing-appender`): the async
/// workers format a line and hand it over instead of making a `write` system call each. In
/// dev mode two narration lines per token request cost the token endpoint about a fifth of
/// its throughput when written inline. The writer never drops lines: when its queue is full,
/// the logging thread waits, as it did when it wrote itself.
///
/// Default filters: dev mode narrates the protocol (`flow`) and leaves out the access lines;
/// serve mode writes one access line per request (`access`: route, status, latency, with the
/// request id and client id of the request span) and no narration. With the `otlp` feature and
/// `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are also exported over OTLP.
pub fn init(mode: Mode, format: LogFormat) -> LogGuard {
    let default_filter = match mode {
        Mode::Dev => "provider=info,flow=info,tower_http=info",
        Mode::Serve => "provider=info,flow=off,access=info,tower_http=info",
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let registry = tracing_subscriber::registry().with(filter);
    #[cfg(feature = "otlp")]
    let registry = registry.with(otlp::layer());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        // The queue is allocated up front (the default, 128k lines, is 4 MB); the writer thread
        // drains it far faster than requests fill it.
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .thread_name("provider-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let installed = match format {
        LogFormat::Json => registry.with(json_layer(writer)).try_init(),
        LogFormat::Text => {
            let ansi = std::io::stderr().is_terminal();
            let text = tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(ansi)
                .event_format(FlowFormat {
                    ansi,
                    inner: Format::default().with_ansi(ansi),
                });
            registry.with(text).try_init()
        }
    };
    LogGuard {
        _writer: installed.is_ok().then_some(guard),
    }
}

/// One JSON object per line: the event's fields at the top level, the current span's fields
/// (request id, route, client id) under `span`.
fn json_layer<S, W>(writer: W) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(writer)
}

/// OTLP trace export (the `otlp` feature).
#[cfg(feature = "otlp")]
mod otlp {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithHttpConfig as _;
    use tracing::Subscriber;
    use tracing_subscriber::Layer;
    use tracing_subscriber::registry::LookupSpan;

    /// A layer exporting spans to `OTEL_EXPORTER_OTLP_ENDPOINT` (HTTP/protobuf), or nothing
    /// when the variable is unset or the exporter cannot be built.
    pub fn layer<S>() -> Option<impl Layer<S>>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT")?;
        let client = OnTokio {
            client: reqwest::Client::new(),
            runtime: tokio::runtime::Handle::try_current().ok()?,
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .build()
            .inspect_err(|err| eprintln!("provider: OTLP export disabled: {err}"))
            .ok()?;
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .build();
        let tracer = provider.tracer("provider");
        opentelemetry::global::set_tracer_provider(provider);
        Some(tracing_opentelemetry::layer().with_tracer(tracer))
    }

    /// The exporter's HTTP client: the workspace's reqwest, run on the provider's Tokio runtime
    /// (the SDK's batch processor calls it from a thread of its own).
    #[derive(Debug)]
    struct OnTokio {
        client: reqwest::Client,
        runtime: tokio::runtime::Handle,
    }

    #[async_trait::async_trait]
    impl opentelemetry_http::HttpClient for OnTokio {
        async fn send_bytes(
            &self,
            request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
        ) -> Result<
            opentelemetry_http::Response<opentelemetry_http::Bytes>,
            opentelemetry_http::HttpError,
        > {
            let client = self.client.clone();
            let sent = self.runtime.spawn(async move {
                let request = reqwest::Request::try_from(request)?;
                let response = client.execute(request).await?;
                let mut answer = opentelemetry_http::Response::builder().status(response.status());
                for (name, value) in response.headers() {
                    answer = answer.header(name, value);
                }
                let body = response.bytes().await?;
                Ok::<_, opentelemetry_http::HttpError>(answer.body(body)?)
            });
            sent.await?
        }
    }
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_access_lines_carry_the_request_span_fields() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let filter = EnvFilter::new("access=info,provider=info");
        let subscriber = tracing_subscriber::registry()
            .with(filter)
            .with(json_layer(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                method = "POST",
                route = "/token",
                request_id = "req-1",
                client_id = tracing::field::Empty,
            );
            let _entered = span.enter();
            span.record("client_id", "demo-service");
            tracing::info!(target: "access", status = 200u16, latency_ms = 1.5, "POST /token");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["status"], 200);
        assert_eq!(line["latency_ms"], 1.5);
        assert_eq!(line["target"], "access");
        assert_eq!(line["span"]["request_id"], "req-1");
        assert_eq!(line["span"]["route"], "/token");
        assert_eq!(line["span"]["client_id"], "demo-service");
    }
}
