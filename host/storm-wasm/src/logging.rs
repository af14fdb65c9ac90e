//! The host's own logs: to stderr through `tracing`, and at or above
//! `--storm-log-level` also to Storm as multi-lang `log` commands.
//!
//! Events can fire on any thread, including while the output lock is held, so
//! the Storm side only queues lines here; `Output` writes them at its next
//! flush (at least once per batch, heartbeat or spout cycle).

use std::fmt::Write as _;
use std::sync::Mutex;

use storm_multilang::LogLevel;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::{LevelArg, LogArgs};

/// Lines kept for Storm before the oldest are dropped (nothing flushes
/// before the handshake completes).
const MAX_QUEUED: usize = 1000;

/// The tracing target of lines the plugin logged itself; those are sent to
/// Storm directly, so the Storm layer skips them.
pub const PLUGIN_TARGET: &str = "storm_wasm::plugin";

static STORM_LINES: Mutex<Vec<(LogLevel, String)>> = Mutex::new(Vec::new());

/// Takes the host log lines waiting to be sent to Storm.
pub fn take_storm_lines() -> Vec<(LogLevel, String)> {
    let mut q = STORM_LINES.lock().unwrap_or_else(|e| e.into_inner());
    std::mem::take(&mut *q)
}

/// Logging for `bolt` and `spout`.
pub fn init(args: &LogArgs) {
    let storm = StormLayer.with_filter(level_filter(args.storm_log_level));
    let _ = tracing_subscriber::registry().with(stderr_layer(args)).with(storm).try_init();
}

/// Logging for commands that do not talk to Storm.
pub fn init_stderr_only(args: &LogArgs) {
    let _ = tracing_subscriber::registry().with(stderr_layer(args)).try_init();
}

fn stderr_layer<S>(args: &LogArgs) -> impl Layer<S>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let filter = EnvFilter::try_new(&args.stderr_log).unwrap_or_else(|e| {
        eprintln!("storm-wasm: ignoring the stderr log filter `{}`: {e}", args.stderr_log);
        EnvFilter::new("warn")
    });
    tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_filter(filter)
}

fn level_filter(level: LevelArg) -> LevelFilter {
    match level {
        LevelArg::Trace => LevelFilter::TRACE,
        LevelArg::Debug => LevelFilter::DEBUG,
        LevelArg::Info => LevelFilter::INFO,
        LevelArg::Warn => LevelFilter::WARN,
        LevelArg::Error => LevelFilter::ERROR,
        LevelArg::Off => LevelFilter::OFF,
    }
}

struct StormLayer;

impl<S: Subscriber> Layer<S> for StormLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target().starts_with(PLUGIN_TARGET) {
            return;
        }
        let level = match *event.metadata().level() {
            Level::TRACE => LogLevel::Trace,
            Level::DEBUG => LogLevel::Debug,
            Level::INFO => LogLevel::Info,
            Level::WARN => LogLevel::Warn,
            Level::ERROR => LogLevel::Error,
        };
        let mut line = LineVisitor::default();
        event.record(&mut line);
        let mut q = STORM_LINES.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= MAX_QUEUED {
            q.remove(0);
        }
        q.push((level, format!("storm-wasm: {}{}", line.message, line.fields)));
    }
}

#[derive(Default)]
struct LineVisitor {
    message: String,
    fields: String,
}

impl Visit for LineVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}
