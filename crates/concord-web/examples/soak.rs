//! Open-loop load generator for `bench/soak.sh` (issue 9, load soak).
//!
//! ```text
//! soak --base URL --token TOKEN --email E --password P --partnerships N --pairs FILE
//!      --value-from YYYY-MM --server-pid PID [--rate R] [--duration S] [--warmup S]
//!      [--window S] [--find-rate [--start-rate R] [--step-seconds S]] [--p99-ms 100]
//! ```
//!
//! Requests are started at fixed intervals (1/R s) whatever the server does, and each latency is
//! measured from the moment its request was due, not from when it was sent: a server that falls
//! behind shows it in the percentiles (no coordinated omission). The mix (see [`MIX`]) reads the
//! portfolio dashboard, partnership and metrics pages (session cookie) and the JSON API (bearer
//! token), writes metric values (every one a new partnership, metric and period: the pairs in
//! FILE, one `partnership metric` per line, months going back from `--value-from`) and internal
//! notes, and signs in through the form (Argon2id). An answer other than the expected status
//! (200 for reads, 201 for writes, 303 for a sign-in) or no answer within 10 s is an error.
//!
//! Every `--window` seconds it prints elapsed time, requests, errors, p50 and p99 (ms) and the
//! server's RSS; at the end the totals, RSS after the warm-up and at the end, and exits 1 when
//! there were errors, p99 reached `--p99-ms` or RSS grew by 10 % or more. `--find-rate` instead
//! runs steps of `--step-seconds` at rising rates (x1.25 from `--start-rate`) and prints the
//! highest with p99 under `--p99-ms` and no errors as `CHOSEN_RATE <r>`.

use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{header, redirect, Client, Method, StatusCode};
use tokio::time::Instant;

/// The request mix: name and weight (per thousand).
const MIX: &[(&str, u32)] = &[
    ("page_portfolio", 80),
    ("page_partnership", 200),
    ("page_metrics", 70),
    ("api_partnerships", 205),
    ("api_partnership", 100),
    ("api_portfolio", 50),
    ("api_metrics", 100),
    ("write_value", 100),
    ("write_note", 90),
    ("sign_in", 5),
];

struct Args {
    base: String,
    token: String,
    email: String,
    password: String,
    partnerships: u32,
    pairs: Vec<(u32, u32)>,
    value_from: (i32, u32),
    server_pid: u32,
    rate: f64,
    duration: f64,
    warmup: f64,
    window: f64,
    find_rate: bool,
    start_rate: f64,
    step_seconds: f64,
    p99_ms: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        base: String::new(),
        token: String::new(),
        email: String::new(),
        password: String::new(),
        partnerships: 0,
        pairs: Vec::new(),
        value_from: (0, 0),
        server_pid: 0,
        rate: 100.0,
        duration: 600.0,
        warmup: 30.0,
        window: 30.0,
        find_rate: false,
        start_rate: 50.0,
        step_seconds: 20.0,
        p99_ms: 100.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--find-rate" {
            a.find_rate = true;
            continue;
        }
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("{flag}: `{v}` is not a number"))
        };
        match flag.as_str() {
            "--base" => a.base = v.trim_end_matches('/').to_string(),
            "--token" => a.token = v,
            "--email" => a.email = v,
            "--password" => a.password = v,
            "--partnerships" => a.partnerships = num(&v)? as u32,
            "--pairs" => {
                let f = std::fs::File::open(&v).map_err(|e| format!("--pairs {v}: {e}"))?;
                for line in std::io::BufReader::new(f).lines() {
                    let line = line.map_err(|e| format!("--pairs {v}: {e}"))?;
                    let mut w = line.split_whitespace().map(str::parse::<u32>);
                    if let (Some(Ok(p)), Some(Ok(m))) = (w.next(), w.next()) {
                        a.pairs.push((p, m));
                    }
                }
            }
            "--value-from" => {
                let (y, m) = v
                    .split_once('-')
                    .and_then(|(y, m)| Some((y.parse().ok()?, m.parse().ok()?)))
                    .filter(|&(_, m): &(i32, u32)| (1..=12).contains(&m))
                    .ok_or_else(|| format!("--value-from: `{v}` is not YYYY-MM"))?;
                a.value_from = (y, m);
            }
            "--server-pid" => a.server_pid = num(&v)? as u32,
            "--rate" => a.rate = num(&v)?,
            "--duration" => a.duration = num(&v)?,
            "--warmup" => a.warmup = num(&v)?,
            "--window" => a.window = num(&v)?,
            "--start-rate" => a.start_rate = num(&v)?,
            "--step-seconds" => a.step_seconds = num(&v)?,
            "--p99-ms" => a.p99_ms = num(&v)?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.base.is_empty() || a.token.is_empty() || a.email.is_empty() || a.partnerships == 0 {
        return Err("--base, --token, --email, --password and --partnerships are required".into());
    }
    if a.pairs.is_empty() || a.value_from.0 == 0 || a.server_pid == 0 {
        return Err("--pairs (non-empty), --value-from and --server-pid are required".into());
    }
    if a.rate <= 0.0 || a.start_rate <= 0.0 || a.window <= 0.0 {
        return Err("rates and the window must be positive".into());
    }
    Ok(a)
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Latencies (µs) and errors, overall and per request kind.
#[derive(Default, Clone)]
struct Tally {
    lat: Vec<u32>,
    errors: u64,
    by_kind: Vec<(Vec<u32>, u64)>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            by_kind: vec![(Vec::new(), 0); MIX.len()],
            ..Default::default()
        }
    }
    fn add(&mut self, kind: usize, us: u32, ok: bool) {
        self.lat.push(us);
        self.by_kind[kind].0.push(us);
        if !ok {
            self.errors += 1;
            self.by_kind[kind].1 += 1;
        }
    }
}

/// The p-th percentile (0..100) in ms of unsorted µs values.
fn pct(v: &mut [u32], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let i = ((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[i] as f64 / 1000.0
}

/// How a request is authenticated: the session cookie (pages), the bearer token (API), or not
/// at all (the sign-in form, which carries the credentials).
enum Auth {
    Cookie,
    Bearer,
    None,
}

struct Shared {
    window: Tally,
    total: Tally,
    counting: bool,
    errors_shown: u32,
}

struct Gen {
    args: Args,
    client: Client,
    session: String,
    shared: Arc<Mutex<Shared>>,
    rng: StdRng,
    values: u64,
    notes: u64,
}

impl Gen {
    /// One request of `kind`, due at `due`; its outcome goes to the tallies.
    fn fire(&mut self, kind: usize, due: Instant) {
        let a = &self.args;
        let p = self.rng.gen_range(1..=a.partnerships);
        let json = |path: String, body: String| (Method::POST, path, Auth::Bearer, Some(body), 201);
        let (method, path, auth, body, expect) = match MIX[kind].0 {
            "page_portfolio" => (Method::GET, "/".into(), Auth::Cookie, None, 200),
            "page_partnership" => (
                Method::GET,
                format!("/partnerships/{p}"),
                Auth::Cookie,
                None,
                200,
            ),
            "page_metrics" => (
                Method::GET,
                format!("/partnerships/{p}/metrics"),
                Auth::Cookie,
                None,
                200,
            ),
            "api_partnerships" => (
                Method::GET,
                "/api/v1/partnerships".into(),
                Auth::Bearer,
                None,
                200,
            ),
            "api_partnership" => (
                Method::GET,
                format!("/api/v1/partnerships/{p}"),
                Auth::Bearer,
                None,
                200,
            ),
            "api_portfolio" => (
                Method::GET,
                "/api/v1/portfolio".into(),
                Auth::Bearer,
                None,
                200,
            ),
            "api_metrics" => (
                Method::GET,
                format!("/api/v1/partnerships/{p}/metrics"),
                Auth::Bearer,
                None,
                200,
            ),
            "write_value" => {
                let k = self.values;
                self.values += 1;
                let (wp, m) = a.pairs[(k % a.pairs.len() as u64) as usize];
                let back = (k / a.pairs.len() as u64) as i32;
                let months = a.value_from.0 * 12 + a.value_from.1 as i32 - 1 - back;
                let body = format!(
                    r#"{{"period_start":"{:04}-{:02}-01","value":{}.{:02},"source":"soak"}}"#,
                    months / 12,
                    months % 12 + 1,
                    100 + k % 900,
                    k % 100
                );
                json(
                    format!("/api/v1/partnerships/{wp}/metrics/{m}/values"),
                    body,
                )
            }
            "write_note" => {
                self.notes += 1;
                let body = format!(
                    r#"{{"body":"Soak note {} about partnership {p}"}}"#,
                    self.notes
                );
                json(format!("/api/v1/partnerships/{p}/notes"), body)
            }
            _ => (Method::POST, "/sign-in".into(), Auth::None, None, 303),
        };
        let mut req = self.client.request(method, format!("{}{path}", a.base));
        match auth {
            Auth::Cookie => {
                req = req.header(header::COOKIE, format!("concord_session={}", self.session))
            }
            Auth::Bearer => req = req.header(header::AUTHORIZATION, format!("Bearer {}", a.token)),
            Auth::None => req = req.form(&[("email", &a.email), ("password", &a.password)]),
        }
        if let Some(b) = body {
            req = req.header(header::CONTENT_TYPE, "application/json").body(b);
        }
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let res = req.send().await;
            let (ok, what) = match res {
                Ok(r) => {
                    let status = r.status();
                    // Read the whole answer: the latency is that of the complete response.
                    let text = r.text().await;
                    match text {
                        Ok(_) if status == StatusCode::from_u16(expect).unwrap() => {
                            (true, String::new())
                        }
                        Ok(t) => (
                            false,
                            format!("HTTP {status}: {}", t.chars().take(200).collect::<String>()),
                        ),
                        Err(e) => (false, format!("HTTP {status}, body not read: {e}")),
                    }
                }
                Err(e) => (false, format!("no answer: {e}")),
            };
            let us = due.elapsed().as_micros().min(u32::MAX as u128) as u32;
            let mut s = shared.lock().unwrap();
            if !ok && s.errors_shown < 10 {
                s.errors_shown += 1;
                eprintln!("error: {} {path}: {what}", MIX[kind].0);
            }
            s.window.add(kind, us, ok);
            if s.counting {
                s.total.add(kind, us, ok);
            }
        });
    }

    fn pick(&mut self) -> usize {
        let mut r = self.rng.gen_range(0..MIX.iter().map(|m| m.1).sum::<u32>());
        for (i, m) in MIX.iter().enumerate() {
            if r < m.1 {
                return i;
            }
            r -= m.1;
        }
        MIX.len() - 1
    }

    /// Runs at `rate` for `secs`, printing a row every window when `rows`; counts into the
    /// totals from `count_after` seconds on. Waits for the requests in flight at the end.
    async fn run(&mut self, rate: f64, secs: f64, count_after: f64, rows: bool) {
        let start = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / rate);
        let mut next_row = Duration::from_secs_f64(self.args.window);
        let mut i: u64 = 0;
        loop {
            let due = start + interval.mul_f64(i as f64);
            let elapsed = due - start;
            if elapsed.as_secs_f64() >= secs {
                break;
            }
            if elapsed.as_secs_f64() >= count_after {
                self.shared.lock().unwrap().counting = true;
            }
            if rows && elapsed >= next_row {
                self.row(next_row.as_secs_f64());
                next_row += Duration::from_secs_f64(self.args.window);
            }
            tokio::time::sleep_until(due).await;
            let kind = self.pick();
            self.fire(kind, due);
            i += 1;
        }
        // Let the requests in flight finish (each has a 10 s timeout).
        for _ in 0..120 {
            if Arc::strong_count(&self.shared) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if rows {
            self.row(secs);
        }
        self.shared.lock().unwrap().counting = false;
    }

    fn row(&self, at: f64) {
        let mut s = self.shared.lock().unwrap();
        let mut w = std::mem::replace(&mut s.window, Tally::new());
        drop(s);
        println!(
            "| {:>6.0} s | {:>7} | {:>6} | {:>7.1} | {:>7.1} | {:>7.1} |",
            at,
            w.lat.len(),
            w.errors,
            pct(&mut w.lat, 50.0),
            pct(&mut w.lat, 99.0),
            rss_mb(self.args.server_pid)
        );
    }

    fn take_total(&self) -> Tally {
        std::mem::replace(&mut self.shared.lock().unwrap().total, Tally::new())
    }
}

async fn sign_in(client: &Client, a: &Args) -> Result<String, String> {
    let r = client
        .post(format!("{}/sign-in", a.base))
        .form(&[("email", &a.email), ("password", &a.password)])
        .send()
        .await
        .map_err(|e| format!("sign-in: {e}"))?;
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("concord_session="))
        .map(|c| c.split(';').next().unwrap_or("").to_string())
        .ok_or_else(|| format!("sign-in answered {} without a session cookie", r.status()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("soak: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let client = Client::builder()
        .redirect(redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(1024)
        .build()
        .expect("an HTTP client");
    let session = match sign_in(&client, &args).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("soak: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let shared = Arc::new(Mutex::new(Shared {
        window: Tally::new(),
        total: Tally::new(),
        counting: false,
        errors_shown: 0,
    }));
    let mut g = Gen {
        args,
        client,
        session,
        shared,
        rng: StdRng::seed_from_u64(9),
        values: 0,
        notes: 0,
    };
    println!(
        "mix (per thousand): {}",
        MIX.iter()
            .map(|(n, w)| format!("{n} {w}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if g.args.find_rate {
        return find_rate(&mut g).await;
    }
    let (rate, warmup, duration) = (g.args.rate, g.args.warmup, g.args.duration);
    println!("warm-up: {warmup} s at {rate} req/s");
    g.run(rate, warmup, f64::INFINITY, false).await;
    g.take_total();
    g.shared.lock().unwrap().window = Tally::new();
    let rss_start = rss_mb(g.args.server_pid);
    println!("RSS after the warm-up: {rss_start:.1} MB; soak: {duration} s at {rate} req/s");
    println!("| elapsed | requests | errors | p50 ms | p99 ms | RSS MB |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    let t0 = std::time::Instant::now();
    g.run(rate, duration, 0.0, true).await;
    let secs = t0.elapsed().as_secs_f64();
    let rss_end = rss_mb(g.args.server_pid);
    let mut t = g.take_total();
    println!();
    println!("| request | share ‰ | requests | errors | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (i, (lat, errs)) in t.by_kind.iter_mut().enumerate() {
        println!(
            "| {} | {} | {} | {} | {:.1} | {:.1} |",
            MIX[i].0,
            MIX[i].1,
            lat.len(),
            errs,
            pct(lat, 50.0),
            pct(lat, 99.0)
        );
    }
    let (p50, p99) = (pct(&mut t.lat, 50.0), pct(&mut t.lat, 99.0));
    let growth = (rss_end - rss_start) / rss_start * 100.0;
    println!(
        "SOAK_RESULT rate={rate} seconds={secs:.1} requests={} achieved_rps={:.1} errors={} p50_ms={p50:.2} p99_ms={p99:.2} rss_start_mb={rss_start:.1} rss_end_mb={rss_end:.1} growth_pct={growth:.1}",
        t.lat.len(),
        t.lat.len() as f64 / secs,
        t.errors
    );
    if t.errors > 0 || p99 >= g.args.p99_ms || growth >= 10.0 {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

/// Steps of rising rate; prints `CHOSEN_RATE <r>` (0 when even the first step fails).
async fn find_rate(g: &mut Gen) -> std::process::ExitCode {
    let (mut rate, step, limit) = (g.args.start_rate, g.args.step_seconds, g.args.p99_ms);
    let mut chosen = 0.0;
    println!("| rate req/s | requests | errors | p50 ms | p99 ms | RSS MB | verdict |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    loop {
        // The first 3 s of a step let the connections and the pool settle.
        g.run(rate, step, 3.0_f64.min(step / 4.0), false).await;
        g.shared.lock().unwrap().window = Tally::new();
        let mut t = g.take_total();
        let p99 = pct(&mut t.lat, 99.0);
        let ok = t.errors == 0 && p99 < limit;
        println!(
            "| {rate:.0} | {} | {} | {:.1} | {p99:.1} | {:.1} | {} |",
            t.lat.len(),
            t.errors,
            pct(&mut t.lat, 50.0),
            rss_mb(g.args.server_pid),
            if ok { "ok" } else { "over" }
        );
        if !ok {
            break;
        }
        chosen = rate;
        rate = (rate * 1.25).round();
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    println!("CHOSEN_RATE {chosen:.0}");
    std::process::ExitCode::SUCCESS
}
