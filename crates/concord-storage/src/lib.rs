//! Concord's storage: migrations and queries for SQLite and PostgreSQL through one code path.
//!
//! Every query is written once, with `$1`-style placeholders (which SQLite accepts too), and run
//! against whichever pool the database URL chose via the [`run!`] macro. What differs between the
//! two dialects lives in [`dialect`]. Writes happen in transactions and record an audit entry in
//! the same transaction, so nothing is half-written and nothing changes unrecorded.

use std::str::FromStr;
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
    /// How long a query waits for a connection or a lock.
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }
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
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`). A SQLite file is created when missing,
    /// in WAL mode with a busy timeout, foreign keys on and `synchronous=NORMAL`.
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
                    .busy_timeout(opts.acquire_timeout);
                // No ping before each use: a local SQLite connection does not go stale, and the
                // round trip showed up in the load benchmark.
                let write = SqlitePoolOptions::new()
                    .test_before_acquire(false)
                    .max_connections(1)
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(connect.clone())
                    .await?;
                let read = SqlitePoolOptions::new()
                    .test_before_acquire(false)
                    .max_connections(opts.max_connections.max(1))
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(connect.read_only(false))
                    .await?;
                Ok(Store {
                    read: Pool::Sqlite(read),
                    write: Pool::Sqlite(write),
                    backend,
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
                    .await?;
                Ok(Store {
                    read: Pool::Postgres(pool.clone()),
                    write: Pool::Postgres(pool),
                    backend,
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
        match &self.write {
            Pool::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
            Pool::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        self.seed_catalogue().await
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
