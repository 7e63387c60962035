//! `concord market import SOURCE FILE` and `concord market status`: loading the public reference
//! data for partner discovery, with a progress bar on stderr and a summary at the end.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Subcommand};
use concord_storage::market_import::{ImportOptions, ImportReport, MarketSource, PostacuteList};
use concord_storage::{Actor, Store, StoreError};
use concord_web::error::error_chain;

#[derive(Debug, Subcommand)]
pub enum MarketCommand {
    /// Import a reference source as a new version and make it active (the old one stays active
    /// until the new one is complete). Order: zip, taxonomy, then nppes, hospitals, postacute.
    /// Bad rows are skipped and reported by line and column.
    Import(MarketImportArgs),
    /// The active version of each source: file, rows read, loaded and rejected, when.
    Status,
}

#[derive(Debug, Args)]
pub struct MarketImportArgs {
    /// zip (ZCTA centroids), taxonomy (NUCC CSV), nppes (npidata_pfile CSV, or a directory of
    /// them), hospitals (CMS hospital general information), postacute (one list, or a directory).
    pub source: String,
    /// The file (or, for nppes and postacute, a directory of CSV files).
    pub file: PathBuf,
    /// For postacute with one file: nursing, home_health, hospice, longterm, rehab, dialysis,
    /// urgent_care or va (by default guessed from the file name).
    #[arg(long)]
    pub list: Option<String>,
    /// auto (UTF-8, falling back to latin-1 per field), utf-8 (invalid bytes make a bad row) or
    /// latin-1.
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// Past this many bad rows the import stops and changes nothing.
    #[arg(long, default_value_t = 1000)]
    pub max_bad_rows: u64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs a market command against an open store.
pub async fn run(store: &Store, command: &MarketCommand) -> Result<(), String> {
    match command {
        MarketCommand::Status => status(store).await,
        MarketCommand::Import(args) => import(store, args).await,
    }
}

async fn status(store: &Store) -> Result<(), String> {
    let sources = store.market_sources().await.map_err(|e| error_chain(&e))?;
    if sources.is_empty() {
        println!("No market data imported yet: concord market import zip FILE, then taxonomy, nppes, hospitals, postacute.");
        return Ok(());
    }
    println!(
        "{:<10} {:>8} {:>11} {:>11} {:>9} {:>11}  {:<25} file",
        "source", "version", "read", "loaded", "rejected", "candidates", "imported at"
    );
    for s in sources {
        let candidates = s
            .summary
            .get("candidates")
            .and_then(|c| c.as_u64())
            .unwrap_or(0);
        println!(
            "{:<10} {:>8} {:>11} {:>11} {:>9} {:>11}  {:<25} {}",
            s.source,
            s.version,
            s.rows_read,
            s.rows_loaded,
            s.rows_rejected,
            candidates,
            s.imported_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            s.file_name
        );
    }
    Ok(())
}

async fn import(store: &Store, args: &MarketImportArgs) -> Result<(), String> {
    let source: MarketSource = args.source.parse().map_err(|e| format!("source: {e}"))?;
    let encoding = args
        .encoding
        .parse()
        .map_err(|e| format!("--encoding: {e}"))?;
    let list = match &args.list {
        None => None,
        Some(l) => Some(
            l.parse::<PostacuteList>()
                .map_err(|e| format!("--list: {e}"))?,
        ),
    };
    if list.is_some() && source != MarketSource::Postacute {
        return Err("--list is only for the postacute source".into());
    }
    let bar = (!args.quiet).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] [{bar:30}] {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(format!("importing {source}"));
        bar
    });
    let started = Instant::now();
    let progress = bar.clone().map(|bar| {
        Arc::new(move |p: concord_storage::market_import::Progress| {
            bar.set_length(p.total_bytes);
            bar.set_position(p.bytes);
            let secs = started.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!(
                "{} rows, {:.0} rows/s, {:.1} MB/s",
                p.rows,
                p.rows as f64 / secs,
                p.bytes as f64 / secs / 1e6
            ));
        }) as concord_storage::market_import::ProgressFn
    });
    let options = ImportOptions {
        encoding,
        max_bad_rows: args.max_bad_rows,
        list,
        progress,
    };
    let result = store
        .import_market_file(&Actor::new("cli"), source, &args.file, &options)
        .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(report) => {
            print!("{}", summary(&report));
            Ok(())
        }
        Err(StoreError::Refused { message, .. }) => Err(message),
        Err(e) => Err(format!("import failed: {}", error_chain(&e))),
    }
}

/// The summary printed after an import.
pub fn summary(r: &ImportReport) -> String {
    let secs = (r.elapsed_ms as f64 / 1000.0).max(0.001);
    let mut out = format!(
        "Imported {} from {} as version {}: {} rows read, {} loaded, {} rejected, {} candidates in {:.1} s ({:.0} rows/s).\n",
        r.source.label(),
        r.file_name,
        r.version,
        r.rows_read,
        r.rows_loaded,
        r.rows_rejected,
        r.candidates,
        secs,
        r.rows_read as f64 / secs,
    );
    if !r.errors.is_empty() {
        out.push_str(&format!(
            "First {} of {} rejected rows:\n",
            r.errors.len(),
            r.rows_rejected
        ));
        for e in &r.errors {
            out.push_str(&format!("  {e}\n"));
        }
    }
    out
}
