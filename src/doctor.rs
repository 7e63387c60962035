//! `concord doctor`: checks an installation and says what to fix.
//!
//! Each check answers `ok`, `warn` or `FAIL` on one line with what to do. Nothing is changed: the
//! database is opened without running migrations (and a missing SQLite file is not created).

use std::path::{Path, PathBuf};

use serde::Serialize;

use concord_storage::{Backend, Store, StoreError};
use concord_web::error::error_chain;

use crate::cli::{overrides, Cli, Command};
use crate::config::{redact, Config};

/// Free space below which the disk check warns (and, below [`DISK_FAIL_BYTES`], fails).
const DISK_WARN_BYTES: u64 = 1 << 30;
const DISK_WARN_PERCENT: u64 = 10;
const DISK_FAIL_BYTES: u64 = 100 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    status: Status,
    message: String,
}

fn check(check: &'static str, status: Status, message: impl Into<String>) -> Check {
    Check {
        check,
        status,
        message: message.into(),
    }
}

/// Runs every check, prints one line per check, and fails when any check fails.
pub async fn run(cli: &Cli) -> Result<(), String> {
    let json = matches!(cli.command, Command::Doctor { json: true });
    let checks = checks(cli).await;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&checks).map_err(|e| e.to_string())?
        );
    } else {
        for c in &checks {
            let status = match c.status {
                Status::Ok => "ok",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            println!("{status:<4}  {:<13}  {}", c.check, c.message);
        }
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        Err(format!("{failed} check(s) failed; see above"))
    } else {
        Ok(())
    }
}

async fn checks(cli: &Cli) -> Vec<Check> {
    let mut out = Vec::new();
    let config = match Config::load(cli.config.as_deref(), &overrides(cli, None)) {
        Ok(c) => c,
        Err(e) => {
            out.push(check(
                "configuration",
                Status::Fail,
                format!("{e}; fix the setting and run `concord doctor` again"),
            ));
            return out;
        }
    };
    let source = match cli.config.as_deref() {
        Some(file) => format!("{} with", file.display()),
        None if Path::new("concord.toml").exists() => "concord.toml with".into(),
        None => "defaults,".into(),
    };
    out.push(check(
        "configuration",
        Status::Ok,
        format!(
            "{source} environment and flags; database {}",
            redact(&config.database_url)
        ),
    ));
    let backend = Backend::from_url(&config.database_url).unwrap_or(Backend::Sqlite);
    let file = concord_storage::sqlite_path(&config.database_url);
    out.push(disk(file.as_deref()));
    let store = match open(&config, backend, file.as_deref()).await {
        Ok(store) => store,
        Err(message) => {
            out.push(check("database", Status::Fail, message));
            return out;
        }
    };
    out.push(check(
        "database",
        Status::Ok,
        format!(
            "{} at {} answers",
            backend.name(),
            redact(&config.database_url)
        ),
    ));
    let current = migrations(&store).await;
    let schema_ok = current.status == Status::Ok;
    out.push(current);
    out.push(integrity(&store).await);
    out.push(if schema_ok {
        ledgers(&store).await
    } else {
        check(
            "ledgers",
            Status::Warn,
            "not checked: the schema is not current (see migrations)",
        )
    });
    store.close().await;
    out
}

/// Connects without migrating; a SQLite file that does not exist is reported, not created.
async fn open(config: &Config, backend: Backend, file: Option<&Path>) -> Result<Store, String> {
    if let Some(path) = file.filter(|p| p.as_os_str() != ":memory:") {
        if !path.exists() {
            return Err(format!(
                "the SQLite file {} does not exist; check --database-url, or run `concord migrate` to create it",
                path.display()
            ));
        }
    }
    let url = redact(&config.database_url);
    let unreachable = |e: StoreError| {
        format!(
            "cannot reach {} at {url} within {} ms (pool_timeout_ms): {}; check that the server runs and the URL, user and password are right",
            backend.name(),
            config.pool_timeout.as_millis(),
            error_chain(&e)
        )
    };
    let store = Store::connect(&config.database_url, &config.connect_options())
        .await
        .map_err(unreachable)?;
    if let Err(e) = store.ping().await {
        store.close().await;
        return Err(unreachable(e));
    }
    Ok(store)
}

async fn migrations(store: &Store) -> Check {
    let s = match store.migration_status().await {
        Ok(s) => s,
        Err(e) => {
            return check(
                "migrations",
                Status::Fail,
                format!("cannot read the applied migrations: {}", error_chain(&e)),
            )
        }
    };
    let list = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    if !s.failed.is_empty() {
        check(
            "migrations",
            Status::Fail,
            format!(
                "migration(s) {} started but did not finish; restore the latest backup (`concord restore`)",
                list(&s.failed)
            ),
        )
    } else if !s.unknown.is_empty() {
        check(
            "migrations",
            Status::Fail,
            format!(
                "the database has migration(s) {} that this binary does not know: a newer Concord migrated it; run that version",
                list(&s.unknown)
            ),
        )
    } else if !s.modified.is_empty() {
        check(
            "migrations",
            Status::Fail,
            format!(
                "migration(s) {} differ from the ones applied (checksum); run the Concord version that migrated this database",
                list(&s.modified)
            ),
        )
    } else if !s.pending.is_empty() {
        check(
            "migrations",
            Status::Fail,
            format!(
                "{} of {} migration(s) not applied (first: {}); run `concord migrate`",
                s.pending.len(),
                s.embedded,
                s.pending[0]
            ),
        )
    } else {
        check(
            "migrations",
            Status::Ok,
            format!("all {} applied", s.embedded),
        )
    }
}

async fn integrity(store: &Store) -> Check {
    match store.check_integrity().await {
        Err(e) => check(
            "integrity",
            Status::Fail,
            format!("the check could not run: {}", error_chain(&e)),
        ),
        Ok(i) if !i.problems.is_empty() => check(
            "integrity",
            Status::Fail,
            format!(
                "{}; restore the latest backup (`concord restore`)",
                i.problems.join("; ")
            ),
        ),
        Ok(i) if !i.warnings.is_empty() => check(
            "integrity",
            Status::Warn,
            format!(
                "{} passed, but {}",
                i.checked.join(", "),
                i.warnings.join("; ")
            ),
        ),
        Ok(i) => check(
            "integrity",
            Status::Ok,
            format!("{} passed", i.checked.join(", ")),
        ),
    }
}

/// Every ledger chain, as `concord verify` checks them.
async fn ledgers(store: &Store) -> Check {
    let ids = match store.ledger_partnerships().await {
        Ok(ids) => ids,
        Err(e) => {
            return check(
                "ledgers",
                Status::Fail,
                format!("cannot list the ledgers: {}", error_chain(&e)),
            )
        }
    };
    let mut entries = 0;
    let mut bad = Vec::new();
    for id in &ids {
        match store.verify_ledger_unscoped(*id).await {
            Ok(v) => {
                entries += v.entries;
                if let Some(m) = v.first_mismatch {
                    bad.push(format!(
                        "partnership {id} at entry {} ({}): {}",
                        m.seq, m.code, m.message
                    ));
                }
            }
            Err(e) => bad.push(format!("partnership {id}: {}", error_chain(&e))),
        }
    }
    if bad.is_empty() {
        check(
            "ledgers",
            Status::Ok,
            format!("{} chain(s) verify ({entries} entries)", ids.len()),
        )
    } else {
        check(
            "ledgers",
            Status::Fail,
            format!(
                "{} of {} chain(s) do not verify: {}; run `concord verify` for details and restore the entries from a backup",
                bad.len(),
                ids.len(),
                bad.join("; ")
            ),
        )
    }
}

/// Free space on the file system of the SQLite file (or the working directory for PostgreSQL,
/// whose data lives on its server).
fn disk(file: Option<&Path>) -> Check {
    let dir: PathBuf = match file.and_then(Path::parent) {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let place = if file.is_some() {
        format!("{} (the database's directory)", dir.display())
    } else {
        format!(
            "{} (the working directory; PostgreSQL's own disk is the server's to watch)",
            dir.display()
        )
    };
    match free_space(&dir) {
        Err(e) => check(
            "disk space",
            Status::Warn,
            format!("cannot measure free space in {place}: {e}"),
        ),
        Ok((free, total)) => {
            let percent = free.saturating_mul(100) / total.max(1);
            let said = format!(
                "{} free of {} ({percent}%) in {place}",
                gib(free),
                gib(total)
            );
            if free < DISK_FAIL_BYTES {
                check(
                    "disk space",
                    Status::Fail,
                    format!("{said}; writes will soon fail: free space now"),
                )
            } else if free < DISK_WARN_BYTES || percent < DISK_WARN_PERCENT {
                check(
                    "disk space",
                    Status::Warn,
                    format!("{said}; free space or move the database to a larger disk"),
                )
            } else {
                check("disk space", Status::Ok, said)
            }
        }
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// Bytes available to this user and the file system's size.
#[cfg(unix)]
fn free_space(dir: &Path) -> Result<(u64, u64), String> {
    let s = rustix::fs::statvfs(dir).map_err(|e| e.to_string())?;
    Ok((
        s.f_bavail.saturating_mul(s.f_frsize),
        s.f_blocks.saturating_mul(s.f_frsize),
    ))
}

#[cfg(not(unix))]
fn free_space(_: &Path) -> Result<(u64, u64), String> {
    Err("not measured on this platform".into())
}
