use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = storm_wasm::cli::Cli::parse();
    storm_wasm::run(cli)
}
