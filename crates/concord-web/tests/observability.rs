//! Operations over HTTP: `/metrics` in the Prometheus text format (route templates, cumulative
//! histograms, pools, ledger appends), body-size limits, the per-request timeout, and refusing
//! with 503 and `Retry-After` when the database pool is exhausted — on SQLite and (when
//! configured) PostgreSQL, with a real lock held from a second connection.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::TestApp;
use concord_storage::{Backend, ConnectOptions, Store};
use serde_json::{json, Value};
use sqlx::Connection;

// ---------------------------------------------------------------------------------------------
// A small reader of the Prometheus text exposition format (0.0.4).

type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses `{k="v",…}`, unescaping values; panics on anything malformed.
fn parse_labels(s: &str, line: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .unwrap_or_else(|| panic!("label without =: {line}"));
        let key = &rest[..eq];
        assert!(is_name(key), "bad label name `{key}`: {line}");
        rest = &rest[eq + 1..];
        assert!(rest.starts_with('"'), "label value not quoted: {line}");
        let mut value = String::new();
        let mut chars = rest[1..].char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i + 1,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("bad escape {other:?}: {line}"),
                },
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {line}"),
            }
        };
        assert!(
            out.insert(key.to_string(), value).is_none(),
            "repeated label {key}: {line}"
        );
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else {
            assert!(rest.is_empty(), "junk after a label: {line}");
        }
    }
    out
}

/// Every sample of an exposition, checking each line's syntax and that every sample belongs to a
/// family declared by `# TYPE` before it.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name, what) = (parts.next(), parts.next(), parts.next());
            let name = name.unwrap_or_else(|| panic!("comment without a name: {line}"));
            assert!(is_name(name), "bad metric name: {line}");
            match kind {
                Some("HELP") => assert!(what.is_some_and(|h| !h.is_empty()), "{line}"),
                Some("TYPE") => {
                    let t = what.unwrap_or("");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                        "bad type: {line}"
                    );
                    assert!(
                        types.insert(name.to_string(), t.to_string()).is_none(),
                        "family typed twice: {line}"
                    );
                }
                _ => panic!("unknown comment: {line}"),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("sample without a value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("value is not a number: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                (name, parse_labels(inner, line))
            }
            None => (series, BTreeMap::new()),
        };
        assert!(is_name(name), "bad metric name: {line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).map(String::as_str) == Some("histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample before its # TYPE: {line}"
        );
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

/// The value of the one sample named `name` whose labels include `want`, or 0 when none.
fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    let found: Vec<_> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && want
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(found.len() <= 1, "{name} {want:?} is ambiguous: {found:?}");
    found.first().map_or(0.0, |s| s.value)
}

async fn scrape(base: &str) -> Vec<Sample> {
    let r = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    parse_exposition(&r.text().await.expect("body"))
}

/// Every histogram series: buckets cumulative and rising, `+Inf` equal to `_count`, `_count`
/// equal to the request counter of the same labels.
fn check_histograms(samples: &[Sample]) {
    let mut series: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.name == "concord_http_request_duration_seconds_bucket")
    {
        let mut labels = s.labels.clone();
        let le = labels.remove("le").expect("le");
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().expect("le is a number")
        };
        series.entry(labels).or_default().push((le, s.value));
    }
    assert!(!series.is_empty(), "some request was timed");
    for (labels, buckets) in series {
        assert!(
            buckets
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{labels:?}: buckets rise with le and are cumulative: {buckets:?}"
        );
        let want: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let count = value(
            samples,
            "concord_http_request_duration_seconds_count",
            &want,
        );
        assert_eq!(buckets.last().map(|b| b.0), Some(f64::INFINITY));
        assert_eq!(buckets.last().map(|b| b.1), Some(count), "{labels:?}");
        assert_eq!(
            value(samples, "concord_http_requests_total", &want),
            count,
            "{labels:?}: the counter and the histogram agree"
        );
    }
}

fn requests(samples: &[Sample], method: &str, route: &str, status: &str) -> f64 {
    value(
        samples,
        "concord_http_requests_total",
        &[("method", method), ("route", route), ("status", status)],
    )
}

on_both!(metrics_count_routes_by_template, |app| {
    let other = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app.partnership("Smiles", app.home, other).await;
    app.effective_charter(pid, other).await;
    let before = scrape(&app.base).await;

    for _ in 0..2 {
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
    assert_eq!(
        app.get(&format!("/api/v1/partnerships/{pid}"))
            .await
            .status(),
        200
    );
    assert_eq!(app.get("/api/v1/partnerships/999999").await.status(), 404);
    assert_eq!(app.get("/no/such/page").await.status(), 404);
    assert_eq!(app.get("/api/v1/no-such-endpoint").await.status(), 404);
    // One value on the ledger: the home organization owns the annual metric.
    let (_, o) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/metrics"))
        .await;
    let annual = o["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"]["cadence"] == "annual")
        .expect("the annual metric")["metric"]["id"]
        .as_i64()
        .unwrap();
    let (status, e) = app
        .post_json(
            &format!("/api/v1/partnerships/{pid}/metrics/{annual}/values"),
            &json!({ "period_start": "2025-01-01", "value": 390.0 }),
        )
        .await;
    assert_eq!(status, 201, "{e}");

    let after = scrape(&app.base).await;
    let delta = |method: &str, route: &str, status: &str| {
        requests(&after, method, route, status) - requests(&before, method, route, status)
    };
    assert_eq!(delta("GET", "/healthz", "200"), 2.0);
    assert_eq!(delta("GET", "/api/v1/partnerships/{id}", "200"), 1.0);
    assert_eq!(delta("GET", "/api/v1/partnerships/{id}", "404"), 1.0);
    assert_eq!(
        delta(
            "POST",
            "/api/v1/partnerships/{id}/metrics/{metric}/values",
            "201"
        ),
        1.0,
        "{:?}",
        after
            .iter()
            .filter(|s| s.name == "concord_http_requests_total")
            .collect::<Vec<_>>()
    );
    assert_eq!(delta("GET", "unmatched", "404"), 2.0);
    // Every route label is a declared template, never a raw path.
    let templates: Vec<String> = concord_web::routes()
        .into_iter()
        .map(|(_, path, _)| path)
        .chain(["/healthz", "/readyz", "/metrics", "unmatched"].map(String::from))
        .collect();
    for s in &after {
        if let Some(route) = s.labels.get("route") {
            assert!(templates.contains(route), "{route} is not a route template");
        }
    }
    // The scrape before this one is counted too.
    assert!(requests(&after, "GET", "/metrics", "200") >= 1.0);
    check_histograms(&after);

    assert_eq!(
        value(&after, "concord_ledger_appends_total", &[])
            - value(&before, "concord_ledger_appends_total", &[]),
        1.0
    );
    let pools: &[&str] = match app.store.backend() {
        Backend::Sqlite => &["read", "write"],
        Backend::Postgres => &["shared"],
    };
    for pool in pools {
        let max = value(&after, "concord_db_pool_max_connections", &[("pool", pool)]);
        let open = value(&after, "concord_db_pool_connections", &[("pool", pool)]);
        let idle = value(
            &after,
            "concord_db_pool_idle_connections",
            &[("pool", pool)],
        );
        let busy = value(
            &after,
            "concord_db_pool_in_use_connections",
            &[("pool", pool)],
        );
        assert!(max >= 1.0 && open <= max, "{pool}: {open} of {max}");
        assert_eq!(idle + busy, open, "{pool}");
    }
    if app.store.backend() == Backend::Sqlite {
        assert_eq!(
            value(
                &after,
                "concord_db_pool_max_connections",
                &[("pool", "write")]
            ),
            1.0,
            "SQLite has one writer"
        );
    }
    assert!(after
        .iter()
        .any(|s| s.name == "concord_db_pool_timeouts_total"));
});

#[tokio::test]
async fn oversized_bodies_are_refused_with_the_limit_named() {
    let app = TestApp::spawn(Backend::Sqlite, "oversized_bodies")
        .await
        .expect("sqlite app");
    let (status, p) = app
        .post_json(
            "/api/v1/organizations",
            &json!({ "name": "Big", "kind": "hospital", "mission": "x".repeat(300 * 1024) }),
        )
        .await;
    assert_eq!(status, 413, "{p}");
    assert_eq!(p["code"], "payload_too_large");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains(&concord_web::extract::MAX_JSON_BYTES.to_string()),
        "{p}"
    );

    // A ledger CSV may be much larger than JSON, up to its own limit.
    let other = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app.partnership("Smiles", app.home, other).await;
    let limit = concord_web::api::ledger::MAX_CSV_BYTES;
    let (status, p) = app
        .post_csv(
            &format!("/api/v1/partnerships/{pid}/metrics/import"),
            vec![b'1'; limit + 1],
        )
        .await;
    assert_eq!(status, 413, "{p}");
    assert_eq!(p["code"], "payload_too_large");
    assert!(
        p["detail"].as_str().unwrap().contains(&limit.to_string()),
        "{p}"
    );
}

// ---------------------------------------------------------------------------------------------
// Overload: a lock held from another connection keeps the store's queries waiting.

/// A second server over the same database as `app`, with its own store and state.
async fn serve(url: &str, opts: ConnectOptions, timeout: Option<Duration>) -> (String, Store) {
    let store = Store::connect(url, &opts).await.expect("connect");
    let mut state = concord_web::AppState::new(store.clone());
    if let Some(t) = timeout {
        state.request_timeout = t;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        concord_web::serve(listener, state, std::future::pending())
            .await
            .expect("server")
    });
    (base, store)
}

/// A transaction on a connection of its own that holds the write lock (SQLite) or an exclusive
/// lock on the tables every request here reads (PostgreSQL), until it is rolled back.
enum Lock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Lock {
    async fn take(url: &str) -> Lock {
        match Backend::from_url(url).expect("backend") {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
                sqlx::raw_sql("BEGIN IMMEDIATE")
                    .execute(&mut c)
                    .await
                    .expect("write lock");
                Lock::Sqlite(c)
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
                sqlx::raw_sql(
                    "BEGIN; LOCK TABLE organizations, sign_in_failures IN ACCESS EXCLUSIVE MODE",
                )
                .execute(&mut c)
                .await
                .expect("table locks");
                Lock::Postgres(c)
            }
        }
    }

    async fn release(self) {
        match self {
            Lock::Sqlite(mut c) => sqlx::raw_sql("ROLLBACK").execute(&mut c).await.map(|_| ()),
            Lock::Postgres(mut c) => sqlx::raw_sql("ROLLBACK").execute(&mut c).await.map(|_| ()),
        }
        .expect("rollback");
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn create_org(base: &str, token: &str, name: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/api/v1/organizations"))
        .bearer_auth(token)
        .json(&json!({ "name": name, "kind": "hospital" }))
        .send()
        .await
        .expect("request")
}

/// A sign-in with a wrong password: it reads, verifies, then records the failure.
async fn failed_sign_in(base: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/sign-in"))
        .form(&[
            ("email", "admin@home.example"),
            ("password", "not the password at all"),
        ])
        .send()
        .await
        .expect("request")
}

/// A 503 that says to come back in a second: a problem with `code` on the API, a page elsewhere.
async fn assert_unavailable(r: reqwest::Response, code: Option<&str>) {
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    let body = r.text().await.unwrap();
    match code {
        Some(code) => {
            assert_eq!(content_type, "application/problem+json");
            let p: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(p["code"], code, "{p}");
            assert_eq!(p["status"], 503);
        }
        None => {
            assert!(content_type.starts_with("text/html"), "{content_type}");
            assert!(body.contains("try again"), "{body}");
        }
    }
}

/// With one connection and a short pool timeout, a request that cannot get a connection while
/// another holds it waiting on a lock is refused at once with 503 and `Retry-After`, on the API
/// and on pages; the held request completes when the lock goes.
async fn pool_exhaustion_is_refused_not_queued(backend: Backend) {
    let Some((app, url)) = TestApp::spawn_with_url(backend, "pool_exhaustion").await else {
        return;
    };
    let (base, store) = serve(
        &url,
        ConnectOptions {
            max_connections: 1,
            acquire_timeout: Duration::from_millis(300),
            lock_timeout: Duration::from_secs(20),
        },
        None,
    )
    .await;
    // The token's first use is recorded in the background; let that happen before the lock.
    let r = client()
        .get(format!("{base}/api/v1/organizations"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let timeouts_before = concord_storage::pool_timeouts();

    let lock = Lock::take(&url).await;
    let held = tokio::spawn({
        let (base, token) = (base.clone(), app.token.clone());
        async move {
            create_org(&base, &token, "Waits for the lock")
                .await
                .status()
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = std::time::Instant::now();
    assert_unavailable(create_org(&base, &app.token, "Refused").await, Some("busy")).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "refused after the pool timeout, not queued: {:?}",
        started.elapsed()
    );
    assert_unavailable(failed_sign_in(&base).await, None).await;

    // /metrics needs no connection: it answers while the pool is exhausted, and shows it.
    let samples = scrape(&base).await;
    let pool = if backend == Backend::Sqlite {
        "write"
    } else {
        "shared"
    };
    assert_eq!(
        value(
            &samples,
            "concord_db_pool_in_use_connections",
            &[("pool", pool)]
        ),
        1.0
    );
    assert!(requests(&samples, "POST", "/api/v1/organizations", "503") >= 1.0);
    assert_eq!(requests(&samples, "POST", "/sign-in", "503"), 1.0);
    assert!(concord_storage::pool_timeouts() >= timeouts_before + 2);

    lock.release().await;
    assert_eq!(held.await.unwrap(), 201, "the held request completes");
    assert_eq!(
        create_org(&base, &app.token, "After the lock")
            .await
            .status(),
        201
    );
    store.close().await;
}

#[tokio::test]
async fn pool_exhaustion_sqlite() {
    pool_exhaustion_is_refused_not_queued(Backend::Sqlite).await;
}

#[tokio::test]
async fn pool_exhaustion_postgres() {
    pool_exhaustion_is_refused_not_queued(Backend::Postgres).await;
}

/// A request still waiting when `request_timeout` runs out is answered 503 with `Retry-After`
/// (a `timeout` problem on the API, a page elsewhere), and its transaction is abandoned: the
/// organization it was creating does not appear.
async fn slow_requests_time_out(backend: Backend) {
    let Some((app, url)) = TestApp::spawn_with_url(backend, "request_timeout").await else {
        return;
    };
    let (base, store) = serve(
        &url,
        ConnectOptions {
            max_connections: 2,
            ..ConnectOptions::default()
        },
        Some(Duration::from_millis(500)),
    )
    .await;
    let r = client()
        .get(format!("{base}/api/v1/organizations"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let lock = Lock::take(&url).await;
    let started = std::time::Instant::now();
    assert_unavailable(
        create_org(&base, &app.token, "Too slow").await,
        Some("timeout"),
    )
    .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_unavailable(failed_sign_in(&base).await, None).await;
    lock.release().await;

    let (status, orgs) = app.get_json("/api/v1/organizations?per_page=100").await;
    assert_eq!(status, 200, "{orgs}");
    assert!(
        !orgs.to_string().contains("Too slow"),
        "the timed-out write was not committed: {orgs}"
    );
    store.close().await;
}

#[tokio::test]
async fn request_timeout_sqlite() {
    slow_requests_time_out(Backend::Sqlite).await;
}

#[tokio::test]
async fn request_timeout_postgres() {
    slow_requests_time_out(Backend::Postgres).await;
}
