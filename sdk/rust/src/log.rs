use crate::__private::bindings::storm::plugin::host;
use crate::__private::types::LogLevel;

/// Storm's log levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Storm level 0.
    Trace,
    /// Storm level 1.
    Debug,
    /// Storm level 2.
    Info,
    /// Storm level 3.
    Warn,
    /// Storm level 4.
    Error,
}

/// Logs `message` through Storm's multi-lang log handler. The macros
/// [`info!`](crate::info) and friends format and call this.
pub fn log(level: Level, message: &str) {
    let level = match level {
        Level::Trace => LogLevel::Trace,
        Level::Debug => LogLevel::Debug,
        Level::Info => LogLevel::Info,
        Level::Warn => LogLevel::Warn,
        Level::Error => LogLevel::Error,
    };
    host::log(level, message);
}

/// Reports an error to Storm (worker log and UI). Fails nothing.
pub fn report_error(message: &str) {
    host::report_error(message);
}

/// Updates the metric `name` registered on the Java side
/// (`WasmBolt.withMetric(name)`); `params` goes to its `updateMetricFromRPC`.
/// Storm kills the task on a name that was not registered there.
pub fn metric<P: serde::Serialize>(name: &str, params: P) -> crate::Result<()> {
    let bytes =
        rmp_serde::to_vec(&params).map_err(|e| crate::Error::msg(format!("cannot encode metric `{name}`: {e}")))?;
    host::metrics(name, &bytes);
    Ok(())
}

/// Logs at Storm's TRACE level, with `format!` syntax.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => {
        $crate::log($crate::Level::Trace, &::std::format!($($arg)*))
    };
}

/// Logs at Storm's DEBUG level, with `format!` syntax.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        $crate::log($crate::Level::Debug, &::std::format!($($arg)*))
    };
}

/// Logs at Storm's INFO level, with `format!` syntax.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => {
        $crate::log($crate::Level::Info, &::std::format!($($arg)*))
    };
}

/// Logs at Storm's WARN level, with `format!` syntax.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::log($crate::Level::Warn, &::std::format!($($arg)*))
    };
}

/// Logs at Storm's ERROR level, with `format!` syntax.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => {
        $crate::log($crate::Level::Error, &::std::format!($($arg)*))
    };
}
