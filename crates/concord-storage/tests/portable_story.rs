//! The portable export and import: every table is exported, and a bad file or a non-empty
//! database is refused with nothing written, on both databases.

mod common;

use common::{operator, org};
use concord_domain::organization::OrgKind;
use concord_storage::portable::DERIVED;
use concord_storage::testing::{fresh_postgres_url, fresh_sqlite_url};
use concord_storage::{ConnectOptions, PortableError, Store, TableCount};
use sqlx::Connection;

async fn store_at(url: &str) -> Store {
    let store = Store::connect(url, &ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

/// Every table in the database's own catalog, read here independently of the exporter.
async fn catalog(url: &str) -> Vec<String> {
    let mut tables: Vec<String> = if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap()
    };
    tables.retain(|t| t != "_sqlx_migrations");
    tables.sort();
    tables
}

/// The latest migration shipped (both folders carry the same names).
fn latest_migration() -> i64 {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.split('_').next()?.parse().ok()
        })
        .max()
        .unwrap()
}

async fn export(store: &Store) -> (String, Vec<TableCount>) {
    let mut out = Vec::new();
    let counts = store.export_all(&mut out).await.unwrap();
    (String::from_utf8(out).unwrap(), counts)
}

/// Rows per table, only the tables that have some.
async fn nonempty(store: &Store) -> Vec<TableCount> {
    let mut c = store.table_counts().await.unwrap();
    c.retain(|c| c.rows > 0);
    c
}

async fn every_table_is_exported_and_bad_files_change_nothing(url: String) {
    let source = store_at(&url).await;
    for name in ["Alpha Health", "Beta Clinics", "Gamma Labs"] {
        org(&source, name, OrgKind::HealthSystem).await;
    }
    let (text, counts) = export(&source).await;

    // Every table of the catalog is in the export but the derived caches, which are named.
    let mut exported: Vec<String> = counts.iter().map(|c| c.table.clone()).collect();
    exported.extend(DERIVED.iter().map(|t| t.to_string()));
    exported.sort();
    assert_eq!(
        exported,
        catalog(&url).await,
        "a table is neither exported nor declared derived in portable::DERIVED"
    );
    // Tables come after the tables they reference.
    let position = |t: &str| counts.iter().position(|c| c.table == t).unwrap();
    assert!(position("organizations") < position("partnerships"));
    assert!(position("partnerships") < position("metric_entries"));
    assert!(position("capabilities") < position("organization_capabilities"));

    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(text.starts_with("{\"concord_export\":1,"));
    assert_eq!(header["schema"], latest_migration());
    let lines = text.lines().count();
    let rows: u64 = counts.iter().map(|c| c.rows).sum();
    assert_eq!(lines as u64, rows + 1);
    assert_eq!(
        counts
            .iter()
            .find(|c| c.table == "organizations")
            .unwrap()
            .rows,
        3
    );

    // Into a database that holds records: refused, naming the table, nothing written.
    let before = nonempty(&source).await;
    let err = source.import_all(text.as_bytes()).await.unwrap_err();
    assert!(
        matches!(&err, PortableError::NotEmpty { table } if table == "audit_log" || table == "organizations"),
        "{err}"
    );
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(nonempty(&source).await, before);

    let fresh_url = if url.starts_with("sqlite:") {
        fresh_sqlite_url()
    } else {
        fresh_postgres_url("portable_bad_files").await.unwrap()
    };
    let target = store_at(&fresh_url).await;
    let empty = nonempty(&target).await;
    assert_eq!(
        empty.iter().map(|c| c.table.as_str()).collect::<Vec<_>>(),
        ["capabilities"],
        "a freshly migrated database holds only the seeded catalogue"
    );

    // A corrupt line: its number is named, nothing is written.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len() - 2;
    lines[n - 1] = "{\"table\":\"organizations\",\"row\":{\"id\":".into();
    let err = target
        .import_all(lines.join("\n").as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PortableError::Line { line, .. } if line == n as u64),
        "{err}"
    );
    assert!(err.to_string().starts_with(&format!("line {n}")), "{err}");
    assert_eq!(nonempty(&target).await, empty);

    // A value of the wrong type, an unknown column, a bad timestamp: line, table and column
    // named, nothing written.
    let org_line = text
        .lines()
        .position(|l| l.starts_with("{\"table\":\"organizations\""))
        .unwrap();
    let edited = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut v: serde_json::Value = serde_json::from_str(&lines[org_line]).unwrap();
        edit(&mut v["row"]);
        lines[org_line] = v.to_string();
        lines.join("\n")
    };
    let at = format!("line {}, table organizations, column", org_line + 1);
    let err = target
        .import_all(edited(&|r| r["id"] = "seven".into()).as_bytes())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{at} id: \"seven\" is not an integer")
    );
    let err = target
        .import_all(edited(&|r| r["nickname"] = "Al".into()).as_bytes())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{at} nickname: no such column in this table")
    );
    // SQLite keeps timestamps as text and cannot tell a bad one; PostgreSQL's column type can.
    if url.starts_with("postgres") {
        let err = target
            .import_all(edited(&|r| r["created_at"] = "last Tuesday".into()).as_bytes())
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with(&format!("{at} created_at: ")),
            "{err}"
        );
    }
    assert_eq!(nonempty(&target).await, empty);

    // Another schema: refused with advice.
    let other = text.replacen(
        &format!("\"schema\":{}", latest_migration()),
        &format!("\"schema\":{}", latest_migration() + 1),
        1,
    );
    let err = target.import_all(other.as_bytes()).await.unwrap_err();
    assert!(matches!(err, PortableError::Header(_)), "{err}");
    assert!(err.to_string().contains("release that wrote it"), "{err}");
    let err = target.import_all(&b"hello\n"[..]).await.unwrap_err();
    assert!(
        err.to_string().starts_with("line 1: not a concord export"),
        "{err}"
    );
    assert_eq!(nonempty(&target).await, empty);

    // The good file imports, and the target then exports the same rows.
    let imported = target.import_all(text.as_bytes()).await.unwrap();
    assert_eq!(imported.iter().map(|c| c.rows).sum::<u64>(), rows);
    let (again, _) = export(&target).await;
    assert_eq!(
        again.lines().skip(1).collect::<Vec<_>>(),
        text.lines().skip(1).collect::<Vec<_>>()
    );
    // Ids continue after the imported ones (PostgreSQL sequences were reset).
    let next = org(&target, "Delta Care", OrgKind::HealthSystem).await;
    assert_eq!(next.0, 4);
    let _ = operator();
    source.close().await;
    target.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_every_table_is_exported_and_bad_files_change_nothing() {
    every_table_is_exported_and_bad_files_change_nothing(fresh_sqlite_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_every_table_is_exported_and_bad_files_change_nothing() {
    if let Some(url) = fresh_postgres_url("portable_story").await {
        every_table_is_exported_and_bad_files_change_nothing(url).await;
    }
}
