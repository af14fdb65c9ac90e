use std::process::ExitCode;

use clap::Parser;

// Tuples are allocated on the reader thread and freed on the plugin thread;
// glibc's malloc makes that cross-thread free a large part of the host's
// cost per tuple (measured: about a quarter of its CPU), mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = storm_wasm::cli::Cli::parse();
    storm_wasm::run(cli)
}
