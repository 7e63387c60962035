//! Fresh databases for tests: a new SQLite file, or a new PostgreSQL database on the server named
//! by `CONCORD_TEST_POSTGRES_URL`. Used by this crate's test story and by the web crate's tests.

use crate::{ConnectOptions, Store};

/// The variable that names the PostgreSQL server for tests (e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
pub const POSTGRES_ENV: &str = "CONCORD_TEST_POSTGRES_URL";

/// A database URL for a fresh, empty SQLite file in the temp directory.
pub fn fresh_sqlite_url() -> String {
    let dir = std::env::temp_dir().join("concord-tests");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{}.db", uuid::Uuid::new_v4().simple()));
    format!("sqlite://{}", path.display())
}

/// Creates a fresh PostgreSQL database and returns its URL, or `None` (after saying so on stderr)
/// when `CONCORD_TEST_POSTGRES_URL` is not set.
pub async fn fresh_postgres_url(test: &str) -> Option<String> {
    let Ok(admin) = std::env::var(POSTGRES_ENV) else {
        // Straight to the stderr handle: the test harness captures `eprintln!`, and a skip must
        // be seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED on PostgreSQL: {test} (set {POSTGRES_ENV} to run it)"
        );
        return None;
    };
    use sqlx::Connection;
    let name = format!("concord_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={admin} is not reachable: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let _ = conn.close().await;
    let base = match admin.rfind('/') {
        Some(i) if admin[..i].contains("://") && i > admin.find("://").unwrap_or(0) + 2 => {
            &admin[..i]
        }
        _ => admin.as_str(),
    };
    Some(format!("{base}/{name}"))
}

/// A migrated store on a fresh database of the given backend (`None`: PostgreSQL not configured).
pub async fn fresh_store(backend: crate::Backend, test: &str) -> Option<Store> {
    let url = match backend {
        crate::Backend::Sqlite => fresh_sqlite_url(),
        crate::Backend::Postgres => fresh_postgres_url(test).await?,
    };
    Some(migrated_store(&url).await)
}

/// A store on `url` (a small pool), migrated.
pub async fn migrated_store(url: &str) -> Store {
    let store = Store::connect(
        url,
        &ConnectOptions {
            max_connections: 4,
            ..ConnectOptions::default()
        },
    )
    .await
    .expect("connect to test database");
    store.migrate().await.expect("migrate test database");
    store
}
