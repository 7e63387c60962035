//! Backups of a SQLite database (`concord backup`, `concord restore`): a consistent copy written
//! while the server serves, and its checked replacement of the database file. PostgreSQL backups
//! are `pg_dump` archives or portable exports (`crate::portable`), run by the command line.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

use crate::{Backend, Pool, Store, StoreError};

/// The first 16 bytes of every SQLite database file.
pub const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

fn refused(message: String) -> StoreError {
    StoreError::Refused {
        field: "file".into(),
        code: "backup",
        message,
    }
}

impl Store {
    /// Writes a consistent copy of this SQLite database to `path` with `VACUUM INTO`, through a
    /// read connection: it reads one snapshot, so writers carry on meanwhile. The copy is a
    /// single file (rollback journal), compacted. Refuses an existing `path`.
    pub async fn backup_sqlite(&self, path: &Path) -> Result<(), StoreError> {
        let Pool::Sqlite(p) = &self.read else {
            return Err(refused(format!(
                "VACUUM INTO backs up SQLite, and this database is {}",
                self.backend.name()
            )));
        };
        if path.exists() {
            return Err(refused(format!(
                "{} exists; choose a new file (a backup never overwrites)",
                path.display()
            )));
        }
        let target = path
            .to_str()
            .ok_or_else(|| refused(format!("{} is not a UTF-8 path", path.display())))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(p)
            .await?;
        Ok(())
    }
}

/// Opens a SQLite file (not creating it) and runs `PRAGMA integrity_check`; also checks it is a
/// Concord database (it has the migrations table). Returns the latest migration it has.
pub async fn check_sqlite_file(path: &Path) -> Result<i64, StoreError> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false);
    let mut c = SqliteConnection::connect_with(&opts).await?;
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check(20)")
        .fetch_all(&mut c)
        .await?;
    if problems.iter().any(|p| p != "ok") {
        return Err(refused(format!(
            "{} is damaged: {}",
            path.display(),
            problems.join("; ")
        )));
    }
    let version: Option<i64> = sqlx::query_scalar(
        "SELECT (SELECT MAX(version) FROM _sqlx_migrations WHERE success) \
         WHERE EXISTS (SELECT 1 FROM sqlite_master WHERE name = '_sqlx_migrations')",
    )
    .fetch_optional(&mut c)
    .await?
    .flatten();
    c.close().await?;
    version.ok_or_else(|| {
        refused(format!(
            "{} is a SQLite database but not a Concord one (no migrations table)",
            path.display()
        ))
    })
}

/// Replaces the SQLite database `url` with the backup file `backup`, with the server stopped:
/// the backup is copied beside the database and checked there, the database's WAL is
/// checkpointed into it and removed (a stale WAL must never meet the new file), then the copy is
/// renamed over the database in one step. A failure before the rename leaves the database as it
/// was.
pub async fn restore_sqlite_file(backup: &Path, url: &str) -> Result<(), StoreError> {
    if Backend::from_url(url)? != Backend::Sqlite {
        return Err(refused("not a SQLite database URL".into()));
    }
    let target: PathBuf = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::BadUrl(e.to_string()))?
        .get_filename()
        .to_path_buf();
    let mut tmp = target.clone().into_os_string();
    tmp.push(".restoring");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let result = async {
        std::fs::copy(backup, &tmp).map_err(|e| io(&tmp, e))?;
        check_sqlite_file(&tmp).await?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(&tmp, e))?;
        if target.exists() {
            let opts = SqliteConnectOptions::new()
                .filename(&target)
                .create_if_missing(false);
            let mut c = SqliteConnection::connect_with(&opts).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut c)
                .await?;
            c.close().await?;
        }
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut side = target.clone().into_os_string();
            side.push(suffix);
            match std::fs::remove_file(&side) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(Path::new(&side), e)),
            }
        }
        std::fs::rename(&tmp, &target).map_err(|e| io(&target, e))?;
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    refused(format!("{}: {e}", path.display()))
}
