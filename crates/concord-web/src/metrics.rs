//! Prometheus metrics at `/metrics`, in the text exposition format 0.0.4.
//!
//! Requests are counted and timed by method, route *template* (`/api/v1/partnerships/{id}`, never
//! the raw path, whose ids would make the series unbounded) and status; the database pools and
//! the ledger are read when the metrics are scraped. Nothing here carries tenant data.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use concord_storage::Store;

use crate::AppState;

/// Upper bounds of the latency histogram's buckets, in seconds (1 ms to 10 s).
pub const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Reads one figure of a pool's use.
type PoolGauge = fn(&concord_storage::PoolStats) -> u32;

/// The series of one (method, route, status).
#[derive(Debug, Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    /// Observations per bucket (not cumulative; the exposition sums them up).
    buckets: [u64; BUCKETS.len()],
}

/// Request counts and latencies since the process started.
#[derive(Debug, Default)]
pub struct Metrics {
    http: Mutex<HashMap<(&'static str, String, u16), Series>>,
}

/// The method as a label: the standard ones by name, anything else as `other` (a client may
/// send any token, and each would be a new series).
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    /// Records one answered request.
    pub fn observe(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let mut http = self.http.lock().unwrap_or_else(|e| e.into_inner());
        let series = http
            .entry((method_label(method), route.to_string(), status))
            .or_default();
        series.count += 1;
        series.sum += seconds;
        if let Some(i) = BUCKETS.iter().position(|le| seconds <= *le) {
            series.buckets[i] += 1;
        }
    }

    /// The exposition: request series sorted by route, method and status, then the pools and
    /// the ledger.
    pub fn render(&self, store: &Store) -> String {
        let mut series: Vec<_> = {
            let http = self.http.lock().unwrap_or_else(|e| e.into_inner());
            http.iter()
                .map(|((m, r, s), v)| ((r.clone(), *m, *s), v.clone()))
                .collect()
        };
        series.sort_by(|a, b| a.0.cmp(&b.0));
        let labels = |route: &str, method: &str, status: u16| {
            format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                escape(route)
            )
        };
        let mut out = String::new();
        head(
            &mut out,
            "concord_http_requests_total",
            "counter",
            "HTTP requests answered, by method, route template and status.",
        );
        for ((route, method, status), s) in &series {
            let _ = writeln!(
                out,
                "concord_http_requests_total{{{}}} {}",
                labels(route, method, *status),
                s.count
            );
        }
        head(
            &mut out,
            "concord_http_request_duration_seconds",
            "histogram",
            "Time from receiving a request to its response head, by method, route template and status.",
        );
        for ((route, method, status), s) in &series {
            let l = labels(route, method, *status);
            let mut cumulative = 0;
            for (le, n) in BUCKETS.iter().zip(s.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "concord_http_request_duration_seconds_bucket{{{l},le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "concord_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "concord_http_request_duration_seconds_sum{{{l}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "concord_http_request_duration_seconds_count{{{l}}} {}",
                s.count
            );
        }
        let pools = store.pool_stats();
        let gauges: [(&str, &str, PoolGauge); 4] = [
            (
                "concord_db_pool_connections",
                "Open database connections (idle and in use) per pool: read and write on SQLite, shared on PostgreSQL.",
                |p| p.size,
            ),
            (
                "concord_db_pool_idle_connections",
                "Open database connections waiting to be used, per pool.",
                |p| p.idle,
            ),
            (
                "concord_db_pool_in_use_connections",
                "Database connections serving a query or a transaction, per pool.",
                |p| p.size.saturating_sub(p.idle),
            ),
            (
                "concord_db_pool_max_connections",
                "The most connections a pool opens (max_connections; 1 for SQLite's writer).",
                |p| p.max,
            ),
        ];
        for (name, help, value) in gauges {
            head(&mut out, name, "gauge", help);
            for p in &pools {
                let _ = writeln!(out, "{name}{{pool=\"{}\"}} {}", p.pool, value(p));
            }
        }
        head(
            &mut out,
            "concord_db_pool_timeouts_total",
            "counter",
            "Queries refused because no database connection came free within pool_timeout_ms (answered 503 with Retry-After).",
        );
        let _ = writeln!(
            out,
            "concord_db_pool_timeouts_total {}",
            concord_storage::pool_timeouts()
        );
        head(
            &mut out,
            "concord_ledger_appends_total",
            "counter",
            "Metric-ledger entries committed (values, corrections and imported rows).",
        );
        let _ = writeln!(
            out,
            "concord_ledger_appends_total {}",
            store.ledger_appends()
        );
        out
    }
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the exposition format wants it: backslash, quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware: counts and times every request under its route template (`unmatched` when no
/// route matched).
pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let res = next.run(req).await;
    metrics.observe(
        &method,
        route.as_deref().unwrap_or("unmatched"),
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

/// `GET /metrics`: no sign-in, since it carries no tenant data.
pub async fn handler(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(&s.store),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_methods_bounded() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"BREW").expect("method")),
            "other"
        );
    }
}
