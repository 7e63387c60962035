//! Backup and restore, and the portable export and import (`concord backup`, `concord restore`,
//! `concord export all`, `concord import all`).

use crate::cli::Cli;

/// Runs the maintenance command in `cli.command`.
pub async fn run(_cli: &Cli) -> Result<(), String> {
    Err("not built yet".into())
}
