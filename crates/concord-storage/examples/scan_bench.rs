//! Times the market scan through the store (issue 8, "Speed and memory"; `bench/market.sh`).
//!
//! ```text
//! cargo run --release -p concord-storage --example scan_bench -- \
//!     --database-url sqlite://market.db --origins origins.csv \
//!     [--capability dental] [--radius 25] [--warmup 10] [--passes 1] [--json FILE]
//! ```
//!
//! `origins.csv` has a header and one origin per line: `zip,latitude,longitude`. After a warm-up
//! (the first `--warmup` origins, once, not measured), every origin is scanned `--passes` times,
//! one at a time, and each call is timed on its own, in two separate passes:
//!
//! - `rank`: [`Store::market_rank`] — the whole question the API answers once it knows the origin:
//!   the candidates offering the capability within the radius (an index read of the grid cells,
//!   the active versions only), each distance checked, scored and sorted;
//! - `near`: [`Store::market_candidates_near`] alone (the database part), for comparison.
//!
//! It prints p50, p95, p99, max and mean in milliseconds, and the mean number of results, and
//! with `--json FILE` writes the same as one JSON object. The database is opened as an ordinary
//! store (`Store::connect`), read-only use; nothing is written.

use std::process::ExitCode;
use std::time::Instant;

use concord_domain::capability::CapabilityCode;
use concord_domain::market::geo::Point;
use concord_domain::market::scan::{ScanFilters, ScanSort};
use concord_domain::paging::PageRequest;
use concord_storage::{ConnectOptions, Store};

struct Args {
    database_url: String,
    origins: String,
    capability: String,
    radius: f64,
    warmup: usize,
    passes: usize,
    json: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        database_url: String::new(),
        origins: String::new(),
        capability: "dental".to_owned(),
        radius: 25.0,
        warmup: 10,
        passes: 1,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--database-url" => args.database_url = value()?,
            "--origins" => args.origins = value()?,
            "--capability" => args.capability = value()?,
            "--radius" => {
                args.radius = value()?
                    .parse()
                    .map_err(|_| "--radius must be a number of miles".to_owned())?
            }
            "--warmup" => {
                args.warmup = value()?
                    .parse()
                    .map_err(|_| "--warmup must be a whole number".to_owned())?
            }
            "--passes" => {
                args.passes = value()?
                    .parse()
                    .map_err(|_| "--passes must be a whole number".to_owned())?
            }
            "--json" => args.json = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.database_url.is_empty() || args.origins.is_empty() {
        return Err(
            "usage: scan_bench --database-url URL --origins FILE [--capability CODE] \
                    [--radius MILES] [--warmup N] [--passes N] [--json FILE]"
                .to_owned(),
        );
    }
    if !(args.radius > 0.0 && args.radius.is_finite()) || args.passes == 0 {
        return Err("--radius must be positive and --passes at least 1".to_owned());
    }
    Ok(args)
}

/// Origins from `zip,latitude,longitude` lines (the first line is the header).
fn read_origins(path: &str) -> Result<Vec<(String, Point)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split(',');
        let (Some(zip), Some(lat), Some(lon)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "{path}: line {}: expected zip,latitude,longitude",
                i + 1
            ));
        };
        let point = lat
            .trim()
            .parse::<f64>()
            .ok()
            .zip(lon.trim().parse::<f64>().ok())
            .and_then(|(a, b)| Point::new(a, b))
            .ok_or_else(|| format!("{path}: line {}: not a latitude and longitude", i + 1))?;
        out.push((zip.trim().to_owned(), point));
    }
    if out.is_empty() {
        return Err(format!("{path}: no origins"));
    }
    Ok(out)
}

/// The value at quantile `q` (nearest rank) of sorted `v`.
fn quantile(v: &[f64], q: f64) -> f64 {
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

#[derive(Debug)]
struct Stats {
    samples: usize,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(f64::total_cmp);
    Stats {
        samples: ms.len(),
        p50: quantile(&ms, 0.50),
        p95: quantile(&ms, 0.95),
        p99: quantile(&ms, 0.99),
        max: *ms.last().expect("samples"),
        mean: ms.iter().sum::<f64>() / ms.len() as f64,
    }
}

fn json(name: &str, s: &Stats) -> String {
    format!(
        "\"{name}\": {{\"samples\": {}, \"p50_ms\": {:.3}, \"p95_ms\": {:.3}, \"p99_ms\": {:.3}, \
         \"max_ms\": {:.3}, \"mean_ms\": {:.3}}}",
        s.samples, s.p50, s.p95, s.p99, s.max, s.mean
    )
}

async fn run(args: Args) -> Result<(), String> {
    let capability = CapabilityCode::parse(&args.capability)
        .map_err(|e| format!("--capability {}: {e}", args.capability))?;
    let wanted = [capability];
    let origins = read_origins(&args.origins)?;
    let store = Store::connect(&args.database_url, &ConnectOptions::default())
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let filters = ScanFilters::default();

    for (_, origin) in origins.iter().take(args.warmup) {
        store
            .market_rank(
                *origin,
                args.radius,
                &wanted,
                &filters,
                ScanSort::Score,
                PageRequest::default(),
            )
            .await
            .map_err(|e| format!("scan failed: {e}"))?;
    }

    // Each measurement in its own pass over the origins, so neither runs on pages the other has
    // just brought into the cache.
    let mut rank_ms = Vec::new();
    let mut results = 0usize;
    let mut empty = 0usize;
    for _ in 0..args.passes {
        for (_, origin) in &origins {
            let t = Instant::now();
            let ranked = store
                .market_rank(
                    *origin,
                    args.radius,
                    &wanted,
                    &filters,
                    ScanSort::Score,
                    PageRequest::default(),
                )
                .await
                .map_err(|e| format!("scan failed: {e}"))?;
            rank_ms.push(t.elapsed().as_secs_f64() * 1e3);
            results += ranked.len();
            empty += usize::from(ranked.is_empty());
        }
    }
    let mut near_ms = Vec::new();
    for _ in 0..args.passes {
        for (_, origin) in &origins {
            let t = Instant::now();
            store
                .market_candidates_near(*origin, args.radius, &wanted)
                .await
                .map_err(|e| format!("scan failed: {e}"))?;
            near_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    store.close().await;

    let n = rank_ms.len();
    let rank = stats(rank_ms);
    let near = stats(near_ms);
    let mean_results = results as f64 / n as f64;
    println!(
        "scan_bench: {} origins x {} passes, capability {}, radius {} miles",
        origins.len(),
        args.passes,
        args.capability,
        args.radius
    );
    println!(
        "  market_rank            p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms  mean {:.2} ms",
        rank.p50, rank.p95, rank.p99, rank.max, rank.mean
    );
    println!(
        "  market_candidates_near p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms  mean {:.2} ms",
        near.p50, near.p95, near.p99, near.max, near.mean
    );
    println!("  results per scan: mean {mean_results:.1}, {empty} of {n} scans empty");
    if let Some(path) = &args.json {
        let body = format!(
            "{{\"origins\": {}, \"passes\": {}, \"capability\": \"{}\", \"radius_miles\": {}, \
             \"mean_results\": {:.1}, \"empty_scans\": {}, {}, {}}}\n",
            origins.len(),
            args.passes,
            args.capability,
            args.radius,
            mean_results,
            empty,
            json("rank", &rank),
            json("near", &near)
        );
        std::fs::write(path, body).map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("scan_bench: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scan_bench: {e}");
            ExitCode::FAILURE
        }
    }
}
