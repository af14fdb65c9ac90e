//! The native worker: `storm-wasm run topology.yaml` runs a whole topology
//! of WASM plugins in one process (issue 6, in progress).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunTopologyArgs {
    /// The topology: a Flux-compatible YAML file.
    pub topology: PathBuf,
}

/// Runs `storm-wasm run`.
pub fn run(args: RunTopologyArgs) -> ExitCode {
    eprintln!("storm-wasm run {}: the native worker is not built yet", args.topology.display());
    ExitCode::from(crate::EXIT_FAILURE)
}
