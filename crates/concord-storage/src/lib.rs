//! Concord's storage: migrations and queries for SQLite and PostgreSQL through one code path.
//!
//! Every query is written once, with `$1`-style placeholders (which SQLite accepts too), and run
//! against whichever pool the database URL chose via the [`run!`] macro. What differs between the
//! two dialects lives in [`dialect`]. Writes happen in transactions and record an audit entry in
//! the same transaction, so nothing is half-written and nothing changes unrecorded.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Runs `$body` with `$p` bound to the concrete pool (`&SqlitePool` or `&PgPool`). The body is
/// compiled once per backend, so the same source text serves both databases with native types.
macro_rules! run {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::Pool::Sqlite($p) => $body,
            $crate::Pool::Postgres($p) => $body,
        }
    };
}

/// Binds a list of [`dialect::Arg`]s to a query, in order.
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                $crate::dialect::Arg::Int(v) => q.bind(*v),
                $crate::dialect::Arg::Text(v) => q.bind(v.as_str()),
            };
        }
        q
    }};
}

mod accounts;
mod audit;
pub mod backup;
mod capabilities;
mod charter;
pub mod dialect;
mod ecosystem;
mod error;
mod fhir;
mod health;
mod journeys;
mod ledger;
pub mod market_import;
mod market_scan;
mod meetings;
mod notes;
mod organizations;
mod partnerships;
pub mod portable;
mod portfolio;
mod reviews;
mod risks;
pub mod scorecards;
mod stakeholders;
mod surveys;
pub mod testing;

pub use accounts::{Credentials, SessionInfo, TokenInfo};
pub use audit::Actor;
pub use error::StoreError;
pub use ledger::EffectiveCharter;
pub use organizations::ImportError;
pub use portable::{PortableError, TableCount};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Chooses the backend from the URL scheme. Anything but SQLite or PostgreSQL is refused, so a
    /// typo can never silently create a fresh SQLite file.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split(':').next().unwrap_or("");
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::UnsupportedUrl {
                scheme: scheme.to_string(),
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Connections in the read pool (and the only pool, on PostgreSQL).
    pub max_connections: u32,
    /// How long a query waits for a free connection before it is refused with
    /// [`StoreError::Busy`] (the server answers 503 with `Retry-After` rather than piling up).
    pub acquire_timeout: Duration,
    /// How long a SQLite statement waits for another process's lock (`busy_timeout`).
    pub lock_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(5),
        }
    }
}

/// One connection pool's use, for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStats {
    /// `read` and `write` on SQLite; `shared` on PostgreSQL, whose reads and writes share a pool.
    pub pool: &'static str,
    /// Open connections (idle and in use).
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// Applied migrations against the ones this binary carries, read without changing anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationStatus {
    pub embedded: usize,
    pub applied: usize,
    /// Embedded but not applied, as `version description`.
    pub pending: Vec<String>,
    /// Applied but unknown to this binary (a newer binary migrated the database).
    pub unknown: Vec<i64>,
    /// Applied with a checksum that differs from the embedded file.
    pub modified: Vec<i64>,
    /// Recorded as started but not finished.
    pub failed: Vec<i64>,
}

/// What [`Store::check_integrity`] checked and found.
#[derive(Debug, Clone, Default)]
pub struct Integrity {
    /// What was checked, for the operator.
    pub checked: Vec<String>,
    /// Damage found.
    pub problems: Vec<String>,
    /// Not damage, but worth knowing (PostgreSQL without data checksums).
    pub warnings: Vec<String>,
}

/// Connection requests refused because no connection came free within the pool timeout, since
/// the process started (every store counts here), for `/metrics`.
pub fn pool_timeouts() -> u64 {
    POOL_TIMEOUTS.load(Ordering::Relaxed)
}

pub(crate) static POOL_TIMEOUTS: AtomicU64 = AtomicU64::new(0);

/// The path of a `sqlite:` URL's file (`None` for other URLs or one that does not parse).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    if Backend::from_url(url).ok()? != Backend::Sqlite {
        return None;
    }
    SqliteConnectOptions::from_str(url)
        .ok()
        .map(|o| o.get_filename().to_path_buf())
}

/// The database, whichever it is. Cheap to clone.
///
/// On SQLite, writes go through a pool of one connection (SQLite has one writer at a time; queuing
/// writers in-process is fairer and faster than letting them spin on the file lock), reads through
/// a pool of several. On PostgreSQL both are the same pool.
#[derive(Clone, Debug)]
pub struct Store {
    read: Pool,
    write: Pool,
    backend: Backend,
    /// Ledger entries committed through this store, for `/metrics`.
    ledger_appends: Arc<AtomicU64>,
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`). A SQLite file is created when missing,
    /// in WAL mode with a busy timeout, foreign keys on and `synchronous=NORMAL`.
    /// A server that does not answer within the acquire timeout is a `Database` error (pool
    /// timed out), not [`StoreError::Busy`]: nothing is serving yet.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Store, StoreError> {
        let backend = Backend::from_url(url)?;
        match backend {
            Backend::Sqlite => {
                let connect = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::BadUrl(e.to_string()))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(opts.lock_timeout);
                // No ping before each use: a local SQLite connection does not go stale, and the
                // round trip showed up in the load benchmark.
                let write = SqlitePoolOptions::new()
                    .test_before_acquire(false)
                    .max_connections(1)
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(connect.clone())
                    .await
                    .map_err(StoreError::Database)?;
                let read = SqlitePoolOptions::new()
                    .test_before_acquire(false)
                    .max_connections(opts.max_connections.max(1))
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(connect.read_only(false))
                    .await
                    .map_err(StoreError::Database)?;
                Ok(Store {
                    read: Pool::Sqlite(read),
                    write: Pool::Sqlite(write),
                    backend,
                    ledger_appends: Default::default(),
                })
            }
            Backend::Postgres => {
                // A broken PostgreSQL connection fails its query and is replaced; pinging before
                // every statement cost 26–42% of detail-page throughput (BENCHMARKS.md).
                let pool = PgPoolOptions::new()
                    .test_before_acquire(false)
                    .max_connections(opts.max_connections.max(1))
                    .acquire_timeout(opts.acquire_timeout)
                    .connect(url)
                    .await
                    .map_err(StoreError::Database)?;
                Ok(Store {
                    read: Pool::Postgres(pool.clone()),
                    write: Pool::Postgres(pool),
                    backend,
                    ledger_appends: Default::default(),
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every pending migration, then adds any shipped catalogue capability that is missing
    /// (existing ones, perhaps edited, are left alone).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        run!(&self.write, |p| self.migrator().run(p).await?);
        self.seed_catalogue().await
    }

    /// The migrations embedded in this binary for the store's backend.
    fn migrator(&self) -> sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        }
    }

    /// Compares the applied migrations with the embedded ones. Reads only: a database that was
    /// never migrated has every migration pending.
    pub async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        let exists: bool = match &self.read {
            Pool::Sqlite(p) => sqlx::query_scalar(
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(p)
            .await?,
            Pool::Postgres(p) => {
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(p)
                    .await?
            }
        };
        let applied: Vec<(i64, Vec<u8>, bool)> = if exists {
            run!(&self.read, |p| {
                sqlx::query_as(
                    "SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version",
                )
                .fetch_all(p)
                .await?
            })
        } else {
            Vec::new()
        };
        let migrator = self.migrator();
        let embedded: Vec<_> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .collect();
        let mut status = MigrationStatus {
            embedded: embedded.len(),
            applied: applied.len(),
            ..MigrationStatus::default()
        };
        for m in &embedded {
            match applied.iter().find(|(v, _, _)| *v == m.version) {
                None => status
                    .pending
                    .push(format!("{} {}", m.version, m.description)),
                Some((v, checksum, _)) if checksum.as_slice() != &*m.checksum => {
                    status.modified.push(*v)
                }
                Some(_) => {}
            }
        }
        for (v, _, success) in &applied {
            if !embedded.iter().any(|m| m.version == *v) {
                status.unknown.push(*v);
            }
            if !success {
                status.failed.push(*v);
            }
        }
        Ok(status)
    }

    /// Checks the database file or cluster for damage. SQLite: `PRAGMA integrity_check` and
    /// `PRAGMA foreign_key_check`. PostgreSQL, without extensions: checksum failures counted by
    /// the server (when data checksums are on) and indexes left invalid by a failed build.
    pub async fn check_integrity(&self) -> Result<Integrity, StoreError> {
        let mut out = Integrity::default();
        match &self.read {
            Pool::Sqlite(p) => {
                let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check(20)")
                    .fetch_all(p)
                    .await?;
                out.checked.push("integrity_check".into());
                out.problems.extend(rows.into_iter().filter(|r| r != "ok"));
                let fks: Vec<(String, Option<i64>, String)> =
                    sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
                        .fetch_all(p)
                        .await?;
                out.checked.push("foreign_key_check".into());
                out.problems
                    .extend(fks.iter().take(20).map(|(t, rowid, parent)| {
                        format!(
                            "{t} row {} refers to a missing {parent} row",
                            rowid.map(|r| r.to_string()).unwrap_or_else(|| "?".into())
                        )
                    }));
                if fks.len() > 20 {
                    out.problems
                        .push(format!("… {} foreign-key violations in all", fks.len()));
                }
            }
            Pool::Postgres(p) => {
                let checksums: String =
                    sqlx::query_scalar("SELECT current_setting('data_checksums')")
                        .fetch_one(p)
                        .await?;
                if checksums == "on" {
                    let failures: i64 = sqlx::query_scalar(
                        "SELECT COALESCE(checksum_failures, 0) FROM pg_stat_database WHERE datname = current_database()",
                    )
                    .fetch_one(p)
                    .await?;
                    out.checked.push("checksum failures".into());
                    if failures > 0 {
                        out.problems.push(format!(
                            "PostgreSQL counted {failures} data checksum failure(s) in this database"
                        ));
                    }
                } else {
                    out.warnings.push(
                        "data checksums are off, so PostgreSQL cannot detect damaged pages (initdb --data-checksums, or pg_checksums --enable while stopped)".into(),
                    );
                }
                let invalid: Vec<String> = sqlx::query_scalar(
                    "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE NOT i.indisvalid AND n.nspname = current_schema() ORDER BY 1",
                )
                .fetch_all(p)
                .await?;
                out.checked.push("index validity".into());
                out.problems.extend(
                    invalid
                        .into_iter()
                        .map(|i| format!("index {i} is invalid; REINDEX INDEX {i}")),
                );
            }
        }
        Ok(out)
    }

    /// Each pool's open, idle and maximum connections.
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        fn stats<DB: sqlx::Database>(pool: &'static str, p: &sqlx::Pool<DB>) -> PoolStats {
            PoolStats {
                pool,
                size: p.size(),
                idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
                max: p.options().get_max_connections(),
            }
        }
        match (&self.read, &self.write) {
            (Pool::Sqlite(r), Pool::Sqlite(w)) => vec![stats("read", r), stats("write", w)],
            (Pool::Postgres(p), _) | (_, Pool::Postgres(p)) => vec![stats("shared", p)],
        }
    }

    /// Ledger entries committed through this store since it was connected.
    pub fn ledger_appends(&self) -> u64 {
        self.ledger_appends.load(Ordering::Relaxed)
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        run!(&self.read, |p| {
            sqlx::query("SELECT 1").execute(p).await?;
        });
        Ok(())
    }

    /// Closes every connection (SQLite checkpoints its WAL on the last close).
    pub async fn close(&self) {
        for pool in [&self.read, &self.write] {
            run!(pool, |p| p.close().await);
        }
    }
}

/// Now, to the microsecond (what PostgreSQL keeps), so a value reads back exactly as written.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
