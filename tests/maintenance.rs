//! Backup, restore and the portable export and import, end to end: the demo installation moves
//! SQLite → PostgreSQL → SQLite with every row intact; `concord backup` copies a database that is
//! being written to, consistently; `concord restore` brings it back with every ledger verified;
//! bad files and non-empty targets are refused with nothing written.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use concord_domain::health::stakeholder::{DepartureInput, StakeholderInput, SuccessorInput};
use concord_domain::health::StakeholderStatus;
use concord_domain::organization::{OrgKind, OrganizationInput};
use concord_domain::PartnershipId;
use concord_storage::portable::DERIVED;
use concord_storage::testing::{fresh_postgres_url, fresh_sqlite_url, migrated_store};
use concord_storage::{Actor, ConnectOptions, Store, TableCount};
use serde_json::Value;

async fn export(store: &Store) -> String {
    let mut out = Vec::new();
    store.export_all(&mut out).await.expect("export");
    String::from_utf8(out).unwrap()
}

/// Every ledger verifies; returns how many there are.
async fn verify_all(store: &Store) -> usize {
    let ids = store.ledger_partnerships().await.unwrap();
    for id in &ids {
        let v = store.verify_ledger_unscoped(*id).await.unwrap();
        assert!(v.valid && v.first_mismatch.is_none(), "ledger {id}: {v:?}");
    }
    ids.len()
}

/// A value as the application means it: a timestamp as an instant, a JSON document as a value
/// (PostgreSQL keeps JSONB in its own key order and spacing).
fn normal(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Value::String(
                    t.with_timezone(&Utc)
                        .to_rfc3339_opts(SecondsFormat::Nanos, true),
                );
            }
            if s.starts_with('{') || s.starts_with('[') {
                if let Ok(doc) = serde_json::from_str::<Value>(s) {
                    return doc;
                }
            }
            v.clone()
        }
        _ => v.clone(),
    }
}

/// The rows of an export (not its header), each normalised.
fn rows(text: &str) -> Vec<(String, BTreeMap<String, Value>)> {
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let row = v["row"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), normal(v)))
                .collect();
            (v["table"].as_str().unwrap().to_string(), row)
        })
        .collect()
}

/// Asserts two exports hold the same rows, reporting the first difference.
fn assert_same_rows(what: &str, a: &str, b: &str) {
    let (a, b) = (rows(a), rows(b));
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "{what}: row {} differs", i + 1);
    }
    assert_eq!(a.len(), b.len(), "{what}: row counts differ");
}

fn counts_without_derived(c: Vec<TableCount>) -> Vec<TableCount> {
    c.into_iter()
        .filter(|c| !DERIVED.contains(&c.table.as_str()))
        .collect()
}

/// A successor named after the person left is a later row of the same table: the import must
/// set that forward reference once the table is in.
async fn name_a_successor(store: &Store) {
    let actor = Actor::new("test");
    let today = Utc::now().date_naive();
    for id in 1..=20 {
        let Ok((_, roster)) = store.stakeholders(&actor, PartnershipId(id), today).await else {
            continue;
        };
        let Some(leaver) = roster
            .people
            .iter()
            .find(|s| s.status == StakeholderStatus::Active)
        else {
            continue;
        };
        let input = StakeholderInput {
            organization_id: leaver.organization_id,
            name: "Successor Person".into(),
            title: String::new(),
            email: String::new(),
            role: leaver.role,
            influence: leaver.influence,
            engagement: leaver.engagement,
        };
        let Ok(successor) = store
            .add_stakeholder(&actor, PartnershipId(id), &input)
            .await
        else {
            continue;
        };
        let departure = DepartureInput { departed_on: today };
        store
            .depart_stakeholder(&actor, PartnershipId(id), leaver.id, &departure, today)
            .await
            .unwrap();
        let named = store
            .name_successor(
                &actor,
                PartnershipId(id),
                leaver.id,
                &SuccessorInput {
                    successor_id: successor.id,
                },
                today,
            )
            .await
            .unwrap();
        assert!(named.successor_id > Some(named.id));
        return;
    }
    panic!("no demo partnership takes a successor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_moves_to_postgres_and_back_with_every_row_intact() {
    let first = migrated_store(&fresh_sqlite_url()).await;
    concord::demo::load(&first).await.expect("demo loads");
    name_a_successor(&first).await;
    let e1 = export(&first).await;
    let counts = first.table_counts().await.unwrap();
    let empty: Vec<&str> = counts
        .iter()
        .filter(|c| c.rows == 0)
        .map(|c| c.table.as_str())
        .collect();
    eprintln!(
        "demo: {} rows in {} tables; empty: {empty:?}",
        rows(&e1).len(),
        counts.len()
    );
    assert!(
        empty.len() * 4 < counts.len(),
        "the demo should fill most tables: {empty:?}"
    );
    let ledgers = verify_all(&first).await;
    assert!(ledgers > 0);

    let e2 = match fresh_postgres_url("portable_round_trip").await {
        Some(url) => {
            let pg = migrated_store(&url).await;
            pg.import_all(e1.as_bytes())
                .await
                .expect("import into PostgreSQL");
            assert_eq!(verify_all(&pg).await, ledgers);
            let e2 = export(&pg).await;
            assert!(e2.contains("\"backend\":\"postgres\""));
            assert_same_rows("SQLite and PostgreSQL exports", &e1, &e2);
            pg.close().await;
            e2
        }
        None => e1.clone(),
    };

    let last = migrated_store(&fresh_sqlite_url()).await;
    last.import_all(e2.as_bytes())
        .await
        .expect("import into SQLite");
    assert_eq!(verify_all(&last).await, ledgers);
    let e3 = export(&last).await;
    assert_same_rows("first and last SQLite", &e1, &e3);
    assert_eq!(
        counts_without_derived(last.table_counts().await.unwrap()),
        counts_without_derived(counts)
    );
    if e2 == e1 {
        // SQLite to SQLite: byte for byte.
        assert_eq!(
            e3.lines().skip(1).collect::<Vec<_>>(),
            e1.lines().skip(1).collect::<Vec<_>>()
        );
    }
    // The health the import left to recompute is computed on read like any other.
    let portfolio_orgs = last.table_counts().await.unwrap();
    assert!(portfolio_orgs
        .iter()
        .any(|c| c.table == "health_marks" && c.rows > 0));
    first.close().await;
    last.close().await;
}

fn concord(dir: &Path) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_concord"));
    c.current_dir(dir)
        .env_remove("CONCORD_DATABASE_URL")
        .env_remove("CONCORD_CONFIG");
    c
}

async fn run(c: &mut tokio::process::Command) -> (bool, String, String) {
    let out = c.output().await.expect("run concord");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn count(c: &[TableCount], table: &str) -> u64 {
    c.iter().find(|c| c.table == table).map_or(0, |c| c.rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sqlite_backup_taken_under_writes_restores_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("live.db").display());
    let store = migrated_store(&url).await;
    concord::demo::load(&store).await.expect("demo loads");
    let before = store.table_counts().await.unwrap();

    // Writers create organizations (a row and its audit rows in one transaction) throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (store, stop, written) = (store.clone(), stop.clone(), written.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let input = OrganizationInput {
                        name: format!("Writer {w} organization {i}"),
                        kind: OrgKind::HealthSystem,
                        ..OrganizationInput::default()
                    };
                    store
                        .create_organization(&Actor::new("writer"), &input)
                        .await
                        .unwrap();
                    written.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    while written.load(Ordering::Relaxed) < 30 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let at_start = written.load(Ordering::Relaxed);
    let backup = dir.path().join("backup.db");
    let (ok, out, err) = run(concord(dir.path())
        .args(["--database-url", &url, "backup"])
        .arg(&backup))
    .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("integrity ok"), "{out}");
    let at_end = written.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let after = store.table_counts().await.unwrap();
    let per_org = (count(&after, "audit_log") - count(&before, "audit_log"))
        / (count(&after, "organizations") - count(&before, "organizations"));
    assert!(
        at_end > at_start,
        "the writers kept writing during the backup"
    );

    // A second backup to the same file is refused.
    let (ok, _, err) = run(concord(dir.path())
        .args(["--database-url", &url, "backup"])
        .arg(&backup))
    .await;
    assert!(!ok && err.contains("exists"), "{err}");

    // Restore into a new path: every ledger verifies, and the copy is one moment of the
    // database: the demo, plus some of the writers' organizations each with its audit rows.
    let restored_url = format!("sqlite://{}", dir.path().join("restored.db").display());
    let (ok, out, err) = run(concord(dir.path())
        .args(["--database-url", &restored_url, "restore"])
        .arg(&backup))
    .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("0 not valid"), "{out}");
    let restored = migrated_store(&restored_url).await;
    let got = restored.table_counts().await.unwrap();
    let orgs = count(&got, "organizations") - count(&before, "organizations");
    assert!(
        (at_start..=at_end).contains(&orgs),
        "{orgs} writer organizations in the backup, {at_start}..={at_end} written around it"
    );
    assert_eq!(
        count(&got, "audit_log") - count(&before, "audit_log"),
        orgs * per_org,
        "every organization in the backup has its audit rows"
    );
    for c in &before {
        if !["organizations", "audit_log", "audit_log_orgs"].contains(&c.table.as_str()) {
            assert_eq!(count(&got, &c.table), c.rows, "table {}", c.table);
        }
    }
    verify_all(&restored).await;

    // Restoring over an existing database replaces it (a stale WAL is not replayed).
    store.close().await;
    let (ok, out, err) = run(concord(dir.path())
        .args(["--database-url", &url, "restore"])
        .arg(&backup))
    .await;
    assert!(ok, "{out}{err}");
    let again = migrated_store(&url).await;
    assert_eq!(again.table_counts().await.unwrap(), got);
    again.close().await;
    restored.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_files_and_non_empty_targets_are_refused_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let store = migrated_store(&url).await;
    concord::demo::load(&store).await.expect("demo loads");
    let export_file = dir.path().join("all.jsonl");
    let (ok, out, err) = run(concord(dir.path())
        .args(["--database-url", &url, "export", "all"])
        .arg(&export_file))
    .await;
    assert!(ok, "{out}{err}");
    assert!(out.starts_with("Exported "), "{out}");

    // Into a non-empty database: refused, nothing written.
    let before = store.table_counts().await.unwrap();
    let (ok, _, err) = run(concord(dir.path())
        .args(["--database-url", &url, "import", "all"])
        .arg(&export_file))
    .await;
    assert!(!ok && err.contains("not empty"), "{err}");
    assert_eq!(store.table_counts().await.unwrap(), before);
    store.close().await;

    // A corrupt line N: named, and the new database stays empty.
    let text = std::fs::read_to_string(&export_file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let n = lines.len() / 2;
    lines[n - 1] = "{\"table\": \"partnerships\", \"row\": {";
    let corrupt = dir.path().join("corrupt.jsonl");
    std::fs::write(&corrupt, lines.join("\n")).unwrap();
    let empty_url = format!("sqlite://{}", dir.path().join("b.db").display());
    let (ok, _, err) = run(concord(dir.path())
        .args(["--database-url", &empty_url, "import", "all"])
        .arg(&corrupt))
    .await;
    assert!(!ok, "{err}");
    assert!(err.contains(&format!("line {n}")), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    let empty = migrated_store(&empty_url).await;
    let rows: u64 = empty
        .table_counts()
        .await
        .unwrap()
        .iter()
        .filter(|c| c.table != "capabilities")
        .map(|c| c.rows)
        .sum();
    assert_eq!(rows, 0);
    empty.close().await;

    // The good file restores into it (a portable export is recognised by `restore`).
    let (ok, out, err) = run(concord(dir.path())
        .args(["--database-url", &empty_url, "restore"])
        .arg(&export_file))
    .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("0 not valid"), "{out}");

    // A random file is no backup.
    let random = dir.path().join("random.bin");
    std::fs::write(
        &random,
        (0..4096u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let (ok, _, err) = run(concord(dir.path())
        .args(["--database-url", &empty_url, "restore"])
        .arg(&random))
    .await;
    assert!(!ok && err.contains("is not a Concord backup"), "{err}");
    // A SQLite file that is not Concord's is refused before anything is replaced.
    let plain = dir.path().join("plain.db");
    {
        let s = Store::connect(
            &format!("sqlite://{}", plain.display()),
            &ConnectOptions::default(),
        )
        .await
        .unwrap();
        s.ping().await.unwrap();
        s.close().await;
    }
    let target = migrated_store(&empty_url).await;
    let kept = target.table_counts().await.unwrap();
    target.close().await;
    let (ok, _, err) = run(concord(dir.path())
        .args(["--database-url", &empty_url, "restore"])
        .arg(&plain))
    .await;
    assert!(!ok, "{err}");
    let target = migrated_store(&empty_url).await;
    assert_eq!(target.table_counts().await.unwrap(), kept);
    target.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_backup_and_restore_through_pg_dump_and_the_portable_export() {
    let Some(url) = fresh_postgres_url("pg_backup").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = migrated_store(&url).await;
    concord::demo::load(&store).await.expect("demo loads");
    let before = store.table_counts().await.unwrap();
    store.close().await;

    // pg_dump on PATH: a custom archive, restored into a new database by pg_restore.
    let dump = dir.path().join("pg.dump");
    let (ok, out, err) = run(concord(dir.path())
        .args(["--database-url", &url, "backup"])
        .arg(&dump))
    .await;
    assert!(ok, "{out}{err}");
    assert!(std::fs::read(&dump).unwrap().starts_with(b"PGDMP"));
    let target = fresh_postgres_url("pg_restore").await.unwrap();
    let (ok, out, err) = run(concord(dir.path())
        .args(["--database-url", &target, "restore"])
        .arg(&dump))
    .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("0 not valid"), "{out}");
    let restored = migrated_store(&target).await;
    assert_eq!(restored.table_counts().await.unwrap(), before);
    assert!(verify_all(&restored).await > 0);
    restored.close().await;

    // A pg_dump archive cannot go into SQLite: the message says what to use.
    let sqlite = format!("sqlite://{}", dir.path().join("x.db").display());
    let (ok, _, err) = run(concord(dir.path())
        .args(["--database-url", &sqlite, "restore"])
        .arg(&dump))
    .await;
    assert!(!ok && err.contains("concord export all"), "{err}");

    // Without pg_dump: a portable export, restored into a new database by the importer.
    let portable = dir.path().join("pg.jsonl");
    let (ok, out, err) = run(concord(dir.path())
        .env("PATH", dir.path())
        .args(["--database-url", &url, "backup"])
        .arg(&portable))
    .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("portable export"), "{out}");
    let target = fresh_postgres_url("pg_restore_portable").await.unwrap();
    let (ok, out, err) = run(concord(dir.path())
        .args(["--database-url", &target, "restore"])
        .arg(&portable))
    .await;
    assert!(ok, "{out}{err}");
    let restored = migrated_store(&target).await;
    assert_eq!(
        counts_without_derived(restored.table_counts().await.unwrap()),
        counts_without_derived(before)
    );
    restored.close().await;
}
