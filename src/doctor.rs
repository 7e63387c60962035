//! `concord doctor`: checks an installation and says what to fix.

use crate::cli::Cli;

/// Runs every check, prints one line per check, and fails when any check fails.
pub async fn run(_cli: &Cli) -> Result<(), String> {
    Err("concord doctor is not built yet".into())
}
