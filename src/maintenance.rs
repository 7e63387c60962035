//! Backup and restore, and the portable export and import (`concord backup`, `concord restore`,
//! `concord export all`, `concord import all`).
//!
//! A backup is whatever restores fastest on the same database: a SQLite file written by
//! `VACUUM INTO`, a `pg_dump --format=custom` archive, or (PostgreSQL without `pg_dump`) a
//! portable export. `concord restore` recognises the three by their first bytes.

use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Instant;

use concord_storage::backup::{check_sqlite_file, restore_sqlite_file, SQLITE_MAGIC};
use concord_storage::portable::MAGIC as PORTABLE_MAGIC;
use concord_storage::{Backend, Store, TableCount};
use concord_web::error::error_chain;

use crate::cli::{connect, overrides, verify_database, Cli, Command, ExportCommand, ImportCommand};
use crate::config::{redact, Config};

/// The first bytes of a `pg_dump --format=custom` archive.
const PG_DUMP_MAGIC: &[u8] = b"PGDMP";

/// Runs the maintenance command in `cli.command`.
pub async fn run(cli: &Cli) -> Result<(), String> {
    let config = Config::load(cli.config.as_deref(), &overrides(cli, None))?;
    let started = Instant::now();
    match &cli.command {
        Command::Backup { file } => backup(&config, file).await?,
        Command::Restore { file } => restore(&config, file).await?,
        Command::Export(ExportCommand::All { file }) => {
            let store = connect(&config).await?;
            let counts = export(&store, file).await;
            store.close().await;
            counts?;
        }
        Command::Import(ImportCommand::All { file }) => {
            let store = connect(&config).await?;
            let done = import(&store, file).await;
            store.close().await;
            done?;
        }
        _ => return Err("not a backup, restore, export or import command".into()),
    }
    println!("Done in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}

fn size(path: &Path) -> String {
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn summary(counts: &[TableCount]) -> String {
    let rows: u64 = counts.iter().map(|c| c.rows).sum();
    format!("{rows} rows in {} tables", counts.len())
}

/// Prints each table that has rows.
fn print_counts(counts: &[TableCount]) {
    for c in counts.iter().filter(|c| c.rows > 0) {
        println!("  {:<28} {:>10}", c.table, c.rows);
    }
}

fn refuse_existing(file: &Path) -> Result<(), String> {
    if file.exists() {
        return Err(format!(
            "{} exists; choose a new file (nothing is overwritten)",
            file.display()
        ));
    }
    Ok(())
}

/// Writes the portable export of `store` to `file` (refused if it exists; removed on failure).
async fn export(store: &Store, file: &Path) -> Result<Vec<TableCount>, String> {
    refuse_existing(file)?;
    let out = std::fs::File::create_new(file)
        .map_err(|e| format!("cannot create {}: {e}", file.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let written = store.export_all(&mut out).await;
    let synced = out
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all());
    match (written, synced) {
        (Ok(counts), Ok(())) => {
            println!(
                "Exported {} to {} ({}).",
                summary(&counts),
                file.display(),
                size(file)
            );
            Ok(counts)
        }
        (Err(e), _) => {
            let _ = std::fs::remove_file(file);
            Err(format!("export failed: {}", error_chain(&e)))
        }
        (_, Err(e)) => {
            let _ = std::fs::remove_file(file);
            Err(format!("cannot write {}: {e}", file.display()))
        }
    }
}

/// Imports the portable export `file` into `store` (which must be empty), then verifies every
/// ledger.
async fn import(store: &Store, file: &Path) -> Result<(), String> {
    let input =
        std::fs::File::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    let counts = store
        .import_all(BufReader::with_capacity(1 << 20, input))
        .await
        .map_err(|e| {
            format!(
                "{}: nothing was imported: {}",
                file.display(),
                error_chain(&e)
            )
        })?;
    println!("Imported {} from {}.", summary(&counts), file.display());
    print_counts(&counts);
    verify_database(store, None).await
}

/// Where an executable is on PATH.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Splits the password out of a `postgres://user:password@host/db` URL, so it travels to
/// `pg_dump` and `pg_restore` in `PGPASSWORD` rather than on a command line others can read.
fn split_password(url: &str) -> (String, Option<String>) {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((cred, host)) = rest.split_once('@') {
            if let Some((user, password)) = cred.split_once(':') {
                return (
                    format!("{scheme}://{user}@{host}"),
                    Some(percent_decode(password)),
                );
            }
        }
    }
    (url.to_string(), None)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs a PostgreSQL client tool against `url`, the password in the environment.
fn pg_tool(program: &Path, url: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
    let (url, password) = split_password(url);
    let mut c = Process::new(program);
    c.args(args).arg("--dbname").arg(&url);
    if let Some(p) = password {
        c.env("PGPASSWORD", p);
    }
    let out = c
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed ({}): {}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

async fn backup(config: &Config, file: &Path) -> Result<(), String> {
    refuse_existing(file)?;
    match Backend::from_url(&config.database_url).map_err(|e| e.to_string())? {
        Backend::Sqlite => {
            let store = connect(config).await?;
            let done = store.backup_sqlite(file).await;
            store.close().await;
            done.map_err(|e| format!("backup failed: {}", error_chain(&e)))?;
            let schema = check_sqlite_file(file)
                .await
                .map_err(|e| format!("the backup does not check: {}", error_chain(&e)))?;
            println!(
                "Backed up {} to {} ({}, SQLite, schema {schema}, integrity ok).",
                redact(&config.database_url),
                file.display(),
                size(file)
            );
        }
        Backend::Postgres => match on_path("pg_dump") {
            Some(pg_dump) => {
                let args = [
                    "--format=custom".as_ref(),
                    "--file".as_ref(),
                    file.as_os_str(),
                ];
                if let Err(e) = pg_tool(&pg_dump, &config.database_url, &args) {
                    let _ = std::fs::remove_file(file);
                    return Err(e);
                }
                println!(
                    "Backed up {} to {} ({}, pg_dump custom archive; restore with `concord restore`).",
                    redact(&config.database_url),
                    file.display(),
                    size(file)
                );
            }
            None => {
                println!("pg_dump is not on PATH: writing a portable export instead.");
                let store = connect(config).await?;
                let counts = export(&store, file).await;
                store.close().await;
                counts?;
            }
        },
    }
    Ok(())
}

/// What a backup file is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Sqlite,
    PgDump,
    Portable,
}

fn detect(file: &Path) -> Result<Format, String> {
    let mut head = Vec::with_capacity(32);
    std::fs::File::open(file)
        .and_then(|f| f.take(32).read_to_end(&mut head))
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if head.starts_with(SQLITE_MAGIC) {
        Ok(Format::Sqlite)
    } else if head.starts_with(PG_DUMP_MAGIC) {
        Ok(Format::PgDump)
    } else if head.starts_with(PORTABLE_MAGIC) {
        Ok(Format::Portable)
    } else {
        Err(format!(
            "{} is not a Concord backup: expected a SQLite database, a pg_dump custom archive or a \
             portable export (`concord export all`)",
            file.display()
        ))
    }
}

async fn restore(config: &Config, file: &Path) -> Result<(), String> {
    let format = detect(file)?;
    let backend = Backend::from_url(&config.database_url).map_err(|e| e.to_string())?;
    match (format, backend) {
        (Format::Sqlite, Backend::Sqlite) => {
            restore_sqlite_file(file, &config.database_url)
                .await
                .map_err(|e| format!("restore failed: {}", error_chain(&e)))?;
            println!(
                "Restored {} from the SQLite backup {}.",
                redact(&config.database_url),
                file.display()
            );
        }
        (Format::PgDump, Backend::Postgres) => {
            let pg_restore = on_path("pg_restore").ok_or(
                "pg_restore is not on PATH: install the PostgreSQL client tools of the server's \
                 version (or newer)",
            )?;
            let args = [
                "--clean".as_ref(),
                "--if-exists".as_ref(),
                "--no-owner".as_ref(),
                "--single-transaction".as_ref(),
                file.as_os_str(),
            ];
            pg_tool(&pg_restore, &config.database_url, &args)?;
            println!(
                "Restored {} from the pg_dump archive {}.",
                redact(&config.database_url),
                file.display()
            );
        }
        (Format::Portable, _) => {
            let store = connect(config).await?;
            let done = import(&store, file).await;
            store.close().await;
            return done;
        }
        (Format::Sqlite, Backend::Postgres) => {
            return Err(format!(
                "{} is a SQLite backup and the database is PostgreSQL: restore it into SQLite, then \
                 move it with `concord export all` and `concord import all`",
                file.display()
            ))
        }
        (Format::PgDump, Backend::Sqlite) => {
            return Err(format!(
                "{} is a pg_dump archive, which only PostgreSQL restores: to move to SQLite, run \
                 `concord export all` against the PostgreSQL database and `concord import all` here",
                file.display()
            ))
        }
    }
    let store = connect(config).await?;
    let checked = async {
        let counts = store
            .table_counts()
            .await
            .map_err(|e| format!("cannot count the restored rows: {}", error_chain(&e)))?;
        println!("The database now holds {}.", summary(&counts));
        print_counts(&counts);
        verify_database(&store, None).await
    }
    .await;
    store.close().await;
    checked
}
