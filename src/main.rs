//! `concord`: parse the command line and dispatch. Everything else lives in the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = concord::cli::Cli::parse();
    concord::cli::run(cli)
}
