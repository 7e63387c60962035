//! `concord doctor` end to end on real databases — healthy, never migrated, unreachable, and
//! tampered with behind the application's back — and the JSON request log of `concord serve`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use concord_storage::{ConnectOptions, Store};
use sqlx::Connection;

fn concord(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_concord"));
    c.current_dir(dir)
        .env_remove("CONCORD_DATABASE_URL")
        .env_remove("CONCORD_CONFIG")
        .env_remove("CONCORD_LOG_FORMAT")
        .env_remove("CONCORD_POOL_TIMEOUT_MS");
    c
}

/// Runs `concord doctor --database-url URL ARGS…`: (success, stdout, stderr).
fn doctor(dir: &Path, url: &str, args: &[&str]) -> (bool, String, String) {
    let out = concord(dir)
        .args(["doctor", "--database-url", url])
        .args(args)
        .output()
        .expect("run concord doctor");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.success(), stdout, stderr)
}

/// The line of check `name`.
fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.get(6..).is_some_and(|rest| rest.starts_with(name)))
        .unwrap_or_else(|| panic!("no {name} line in:\n{out}"))
}

/// A database with the demo data (many ledgers) at `url`.
async fn demo_database(url: &str) {
    let store = Store::connect(url, &ConnectOptions::default())
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    concord::demo::load(&store).await.expect("demo data");
    store.close().await;
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("concord.db").display())
}

#[tokio::test]
async fn a_healthy_sqlite_database_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    demo_database(&url).await;
    let (ok, out, err) = doctor(dir.path(), &url, &[]);
    assert!(ok, "{out}\n{err}");
    for name in [
        "configuration",
        "disk space",
        "database",
        "migrations",
        "integrity",
        "ledgers",
    ] {
        let l = line(&out, name);
        // The machine's own disk may be fuller than the warning threshold.
        assert!(
            l.starts_with("ok ") || (name == "disk space" && l.starts_with("warn")),
            "{l}"
        );
    }
    let ledgers = line(&out, "ledgers");
    assert!(
        !ledgers.contains(" 0 chain(s)") && ledgers.contains("chain(s) verify"),
        "{ledgers}"
    );

    let (ok, json, _) = doctor(dir.path(), &url, &["--json"]);
    assert!(ok);
    let checks: serde_json::Value = serde_json::from_str(&json).expect("--json is JSON");
    let checks = checks.as_array().expect("an array of checks");
    assert_eq!(checks.len(), 6, "{json}");
    assert!(
        checks
            .iter()
            .all(|c| c["status"] != "fail" && c["check"].is_string() && c["message"].is_string()),
        "{json}"
    );
}

#[tokio::test]
async fn a_database_never_migrated_fails_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("concord.db"), b"").unwrap();
    let url = sqlite_url(dir.path());
    for _ in 0..2 {
        // Twice: the first run must not have migrated anything.
        let (ok, out, err) = doctor(dir.path(), &url, &[]);
        assert!(!ok, "{out}");
        assert!(err.contains("1 check(s) failed"), "{err}");
        let m = line(&out, "migrations");
        assert!(
            m.starts_with("FAIL") && m.contains("run `concord migrate`"),
            "{m}"
        );
        assert!(line(&out, "database").starts_with("ok "));
    }

    // A missing file is reported, not created.
    let missing = format!("sqlite://{}", dir.path().join("nope.db").display());
    let (ok, out, _) = doctor(dir.path(), &missing, &[]);
    assert!(!ok);
    assert!(line(&out, "database").starts_with("FAIL"), "{out}");
    assert!(!dir.path().join("nope.db").exists());
}

#[tokio::test]
async fn an_unreachable_postgres_fails_without_revealing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = doctor(
        dir.path(),
        "postgres://concord:hunter2@127.0.0.1:1/concord",
        &["--pool-timeout-ms", "300"],
    );
    assert!(!ok, "{out}");
    let l = line(&out, "database");
    assert!(
        l.starts_with("FAIL") && l.contains("PostgreSQL") && l.contains("127.0.0.1:1"),
        "{l}"
    );
    assert!(!out.contains("hunter2"), "{out}");
    assert!(
        !out.contains("migrations"),
        "later checks need the database: {out}"
    );
}

#[tokio::test]
async fn a_tampered_ledger_and_an_orphaned_row_fail() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    demo_database(&url).await;
    {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        // The triggers refuse any change to an entry; an attacker with the file drops them.
        sqlx::raw_sql(
            "DROP TRIGGER metric_entries_no_update; \
             UPDATE metric_entries SET value = '999999' \
             WHERE partnership_id = (SELECT MIN(partnership_id) FROM metric_entries) AND seq = 1; \
             PRAGMA foreign_keys = OFF; \
             DELETE FROM users WHERE id = (SELECT MIN(user_id) FROM memberships);",
        )
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
    }
    let (ok, out, err) = doctor(dir.path(), &url, &[]);
    assert!(!ok, "{out}");
    assert!(err.contains("2 check(s) failed"), "{out}\n{err}");
    let ledgers = line(&out, "ledgers");
    assert!(
        ledgers.starts_with("FAIL")
            && ledgers.contains("1 of ")
            && ledgers.contains("concord verify"),
        "{ledgers}"
    );
    let integrity = line(&out, "integrity");
    assert!(
        integrity.starts_with("FAIL") && integrity.contains("memberships row"),
        "{integrity}"
    );
    assert!(line(&out, "migrations").starts_with("ok "), "{out}");
}

#[tokio::test]
async fn migrations_from_another_binary_fail() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let store = Store::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    let exec = |sql: &'static str| {
        let url = url.clone();
        async move {
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            c.close().await.unwrap();
        }
    };

    exec("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1").await;
    let (ok, out, _) = doctor(dir.path(), &url, &[]);
    assert!(!ok);
    let m = line(&out, "migrations");
    assert!(m.starts_with("FAIL") && m.contains("(s) 1 differ"), "{m}");

    exec(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999, 'from a newer release', 1, x'00', 0)",
    )
    .await;
    let (ok, out, _) = doctor(dir.path(), &url, &[]);
    assert!(!ok);
    let m = line(&out, "migrations");
    assert!(
        m.starts_with("FAIL") && m.contains("99999") && m.contains("newer Concord"),
        "{m}"
    );
}

#[tokio::test]
async fn a_healthy_postgres_database_passes() {
    let Some(url) = concord_storage::testing::fresh_postgres_url("doctor_postgres").await else {
        return;
    };
    demo_database(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = doctor(dir.path(), &url, &[]);
    assert!(ok, "{out}\n{err}");
    assert!(!out.contains("FAIL"), "{out}");
    for name in ["database", "migrations", "ledgers"] {
        assert!(line(&out, name).starts_with("ok "), "{out}");
    }
    // Without data checksums, PostgreSQL cannot see damaged pages: a warning, not a pass.
    let integrity = line(&out, "integrity");
    assert!(
        integrity.starts_with("ok ") || integrity.contains("data checksums are off"),
        "{integrity}"
    );
}

#[test]
fn json_logs_put_one_request_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = concord(dir.path())
        .args(["--log-format", "json", "serve", "--bind", "127.0.0.1:0"])
        .env("CONCORD_DATABASE_URL", sqlite_url(dir.path()))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start concord serve");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let next = || rx.recv_timeout(Duration::from_secs(30));
    let addr = loop {
        let l = next().expect("the server starts");
        if let Some(rest) = l.strip_prefix("Concord is serving http://") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let mut conn = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        conn,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nx-request-id: doctor-log-test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let logged = loop {
        let l = next().expect("the request is logged");
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&l) else {
            continue;
        };
        if v["message"] == "response" {
            break v;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(logged.is_object(), "{logged}");
    assert_eq!(logged["status"], 200, "{logged}");
    assert!(logged["latency_ms"].as_f64().is_some(), "{logged}");
    assert_eq!(logged["span"]["request_id"], "doctor-log-test", "{logged}");
    assert_eq!(logged["span"]["path"], "/healthz", "{logged}");
    assert_eq!(logged["level"], "INFO", "{logged}");
}
