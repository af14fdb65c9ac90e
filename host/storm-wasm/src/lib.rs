//! storm-wasm: runs Apache Storm spouts and bolts compiled to WebAssembly
//! components, as the subprocess of a ShellBolt or ShellSpout.
//!
//! One process serves one Storm task: it reads Storm's messages on a reader
//! thread (which answers heartbeats at once), and runs the plugin on the main
//! thread, in batches, inside a wasmtime store with limits.

pub mod bindings;
pub mod cache;
pub mod cli;
pub mod engine;
pub mod limits;
mod logging;
pub mod output;
pub mod plugin_state;
mod restarts;
pub mod sandbox;
pub mod state;
pub mod stdio;
mod task;
pub mod watch;
pub mod worker;

use std::process::ExitCode;

use cli::{Cli, Command};

/// Exit code when Storm sent something that is not the protocol.
pub const EXIT_PROTOCOL: u8 = 2;
/// Exit code when the plugin cannot be loaded or started.
pub const EXIT_PLUGIN: u8 = 3;
/// Exit code for any other failure.
pub const EXIT_FAILURE: u8 = 1;

/// Runs the command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Bolt(args) => task::run(task::Kind::Bolt, args),
        Command::Spout(args) => task::run(task::Kind::Spout, args),
        Command::Run(args) => worker::run(args),
        Command::Compile(args) => {
            logging::init_stderr_only(&args.log);
            match engine::compile_only(&args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("storm-wasm: {e:#}");
                    ExitCode::from(EXIT_PLUGIN)
                }
            }
        }
    }
}
