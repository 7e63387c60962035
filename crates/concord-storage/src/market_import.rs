//! `concord market import`: loading the public reference files (ZIP centroids, the NUCC taxonomy,
//! NPPES, CMS hospitals, the post-acute lists) into the market tables, and `concord market status`.
//!
//! Every import writes a new *version* beside the active one and then, in one short transaction,
//! points `market_sources` at it (with the audit row); the old version's rows are deleted after.
//! Queries read only the active version, so a reader sees the old data or the new, never a mix,
//! and an import that fails or is refused (too many bad rows) leaves the old data active.
//!
//! The pipeline: a parser thread streams the file (the csv crate's `ByteRecord`, never the whole
//! file), checks each row against the imported reference data, aggregates practices in a compact
//! hash map, and sends batches over a bounded channel to a writer. On SQLite the writer is a
//! dedicated `rusqlite` connection (the same libsqlite3 sqlx links) with `synchronous=OFF`, large
//! multi-row prepared INSERTs and a commit every few hundred thousand rows (the rows are invisible
//! until the switch, so committing early changes nothing readers see and lets other writers in);
//! on PostgreSQL it is `COPY … FROM STDIN` inside one transaction.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use concord_domain::market::geo::{self, Point};
use concord_domain::market::nppes::{
    self, NppesColumns, NppesRow, PracticeAggregator, NO_TAXONOMY,
};
use concord_domain::market::reference::{
    self, CapabilityMap, Encoding, FileError, Parsed, TaxonomyCode, ZipCentroid,
};
pub use concord_domain::market::reference::{MarketSource, PostacuteList, RowError};
use serde::Serialize;

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::{Pool, Store, StoreError};

/// How many row errors a report keeps (the count is always exact).
pub const REPORTED_ERRORS: usize = 20;

/// Rows per batch sent from the parser to the writer.
const BATCH: usize = 4096;

/// What the importer reports as it goes (for a progress bar).
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub rows: u64,
    pub bytes: u64,
    pub total_bytes: u64,
}

/// A progress callback (called from the parser thread every few thousand rows).
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Options of one import.
#[derive(Clone)]
pub struct ImportOptions {
    pub encoding: Encoding,
    /// More bad rows than this and the import stops and changes nothing.
    pub max_bad_rows: u64,
    /// For `postacute` with a single file: which list it is (else guessed from the file name).
    pub list: Option<PostacuteList>,
    pub progress: Option<ProgressFn>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            encoding: Encoding::Auto,
            max_bad_rows: 1000,
            list: None,
            progress: None,
        }
    }
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("encoding", &self.encoding)
            .field("max_bad_rows", &self.max_bad_rows)
            .field("list", &self.list)
            .finish()
    }
}

/// What an import did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ImportReport {
    pub source: MarketSource,
    pub version: i64,
    pub file_name: String,
    pub rows_read: u64,
    pub rows_loaded: u64,
    pub rows_rejected: u64,
    /// Candidates written (organizations, practices, hospitals, facilities).
    pub candidates: u64,
    /// The first [`REPORTED_ERRORS`] bad rows.
    pub errors: Vec<RowError>,
    pub elapsed_ms: u64,
    /// Per-source extras (per-list counts, practices, deactivated NPIs …).
    pub detail: serde_json::Value,
}

/// The active version of one source.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceStatus {
    pub source: String,
    pub version: i64,
    pub file_name: String,
    pub rows_read: i64,
    pub rows_loaded: i64,
    pub rows_rejected: i64,
    pub imported_at: chrono::DateTime<chrono::Utc>,
    pub summary: serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct SourceRow {
    source: String,
    version: i64,
    file_name: String,
    rows_read: i64,
    rows_loaded: i64,
    rows_rejected: i64,
    imported_at: chrono::DateTime<chrono::Utc>,
    summary: String,
}

fn refused(field: &str, code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Refused {
        field: field.to_string(),
        code,
        message: message.into(),
    }
}

fn file_error(e: FileError) -> StoreError {
    refused("file", "bad_file", e.0)
}

/// A candidate as written to `market_candidates` (and its cells).
#[derive(Debug, Clone)]
struct Candidate {
    id: i64,
    kind: &'static str,
    ref_: String,
    name: String,
    address: String,
    city: String,
    state: String,
    zip: String,
    point: Point,
    providers: Option<i64>,
    beds: Option<i64>,
    specialties: Vec<String>,
    /// Capability codes, the main one first when `main` (the scan's centrality reads it from
    /// the radius index's `is_primary`).
    capabilities: Vec<String>,
    /// Whether `capabilities[0]` is the candidate's main capability (for NPPES candidates: that
    /// of the primary taxonomy; none when that taxonomy maps to no capability).
    main: bool,
    facility_type: Option<String>,
    ownership: Option<String>,
    star_rating: Option<i64>,
    detail: serde_json::Value,
    facility_list: Option<&'static str>,
}

impl Candidate {
    /// Its rows of the radius index: (capability, whether it is the main one).
    fn offers(&self) -> impl Iterator<Item = (&str, bool)> {
        self.capabilities
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), self.main && i == 0))
    }
}

/// What the parser sends the writer.
enum Msg {
    Zips(Vec<ZipCentroid>),
    Taxonomy(Vec<TaxonomyCode>),
    Providers(Vec<NppesRow>),
    Candidates(Vec<Candidate>),
}

/// What the parser found.
#[derive(Debug, Default)]
struct Outcome {
    rows_read: u64,
    rows_loaded: u64,
    rejected: u64,
    errors: Vec<RowError>,
    candidates: u64,
    detail: serde_json::Map<String, serde_json::Value>,
    /// Too many bad rows: nothing may change.
    aborted: bool,
}

impl Outcome {
    fn reject(&mut self, e: RowError, max: u64) {
        self.rejected += 1;
        if self.errors.len() < REPORTED_ERRORS {
            self.errors.push(e);
        }
        if self.rejected > max {
            self.aborted = true;
        }
    }

    fn absorb<T>(&mut self, p: &Parsed<T>, max: u64, prefix: Option<&str>) {
        self.rows_read += p.rows_read;
        for e in &p.errors {
            let mut e = e.clone();
            if let Some(f) = prefix {
                e.message = format!("{f}: {}", e.message);
            }
            self.reject(e, max);
        }
    }
}

/// The reference data an import checks against (the active ZIP and taxonomy versions).
#[derive(Default)]
struct Refs {
    zips: HashMap<String, Point>,
    /// code → (index, display name, capability index)
    taxonomy: HashMap<String, (u16, String, Option<u8>)>,
    /// capability index → code (at most 64, for the practice bit sets)
    capabilities: Vec<String>,
    display: Vec<String>,
    /// taxonomy index → capability index (parallel to `display`)
    capability_of: Vec<Option<u8>>,
}

impl Refs {
    fn capability_bits(&self, codes: &[String]) -> u64 {
        let mut bits = 0u64;
        for c in codes {
            if let Some((_, _, Some(cap))) = self.taxonomy.get(c) {
                bits |= 1u64 << cap;
            }
        }
        bits
    }

    /// The capability codes of a bit set, `main` (a capability index) first when it is given
    /// and in the set, the others in code order; and whether the first is `main`.
    fn capability_names(&self, bits: u64, main: Option<u8>) -> (Vec<String>, bool) {
        let main = main.filter(|m| *m < 64 && bits & (1u64 << m) != 0);
        let mut v: Vec<String> = (0..64)
            .filter(|i| bits & (1u64 << i) != 0 && Some(*i as u8) != main)
            .filter_map(|i| self.capabilities.get(i).cloned())
            .collect();
        v.sort();
        match main.and_then(|m| self.capabilities.get(usize::from(m))) {
            Some(m) => {
                v.insert(0, m.clone());
                (v, true)
            }
            None => (v, false),
        }
    }

    /// The capability index of a taxonomy code.
    fn capability_of_code(&self, code: Option<&String>) -> Option<u8> {
        code.and_then(|c| self.taxonomy.get(c)).and_then(|t| t.2)
    }
}

/// Candidate ids are the version in the high 32 bits and a sequence number in the low ones, so
/// an import names its rows without asking the database and two imports never collide.
fn candidate_id(version: i64, seq: u64) -> i64 {
    (version << 32) | (seq as i64 & 0xffff_ffff)
}

/// Lists the CSV files of a directory (sorted), or the one file.
fn input_files(path: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| refused("file", "bad_file", format!("{}: {e}", path.display())))?;
    if meta.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| refused("file", "bad_file", format!("{}: {e}", path.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(refused(
                "file",
                "bad_file",
                format!("{} holds no .csv file", path.display()),
            ));
        }
        Ok(files)
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

fn open(path: &Path) -> Result<std::fs::File, StoreError> {
    std::fs::File::open(path)
        .map_err(|e| refused("file", "bad_file", format!("{}: {e}", path.display())))
}

fn file_label(files: &[PathBuf], path: &Path) -> String {
    if files.len() == 1 {
        files[0].display().to_string()
    } else {
        format!("{} ({} files)", path.display(), files.len())
    }
}

impl Store {
    /// Imports one reference source from `path` (a file, or a directory of CSV files for `nppes`
    /// and `postacute`) as a new version, and makes it the active one. Bad rows are skipped and
    /// reported by line and column; more than `options.max_bad_rows` and nothing changes (a
    /// `Refused` with code `too_many_bad_rows`). NPPES and hospitals need the ZIP source (and
    /// NPPES the taxonomy) imported first. One audit row per import.
    pub async fn import_market_file(
        &self,
        actor: &Actor,
        source: MarketSource,
        path: &Path,
        options: &ImportOptions,
    ) -> Result<ImportReport, StoreError> {
        let started = Instant::now();
        let files = input_files(path)?;
        let file_name = file_label(&files, path);
        let map = CapabilityMap::shipped();
        let refs = self.load_refs(source).await?;
        let previous = self.active_version(source).await?;
        let seq_start = match (source, previous) {
            (MarketSource::Postacute, Some(prev)) => self.last_seq(prev).await?,
            _ => 0,
        };
        let version = self.new_version(source).await?;
        let result = self
            .write_version(source, version, files, refs, map, options, seq_start)
            .await;
        let mut outcome = match result {
            Ok(o) if !o.aborted => o,
            Ok(o) => {
                self.drop_version(version).await?;
                let lines: Vec<String> = o.errors.iter().map(|e| e.to_string()).collect();
                return Err(refused(
                    "file",
                    "too_many_bad_rows",
                    format!(
                        "more than {} bad rows (--max-bad-rows); nothing was imported. First errors:\n{}",
                        options.max_bad_rows,
                        lines.join("\n")
                    ),
                ));
            }
            Err(e) => {
                let _ = self.drop_version(version).await;
                return Err(e);
            }
        };
        if source == MarketSource::Postacute {
            if let Err(e) = self
                .carry_other_lists(version, previous, &mut outcome)
                .await
            {
                let _ = self.drop_version(version).await;
                return Err(e);
            }
        }
        let report = ImportReport {
            source,
            version,
            file_name,
            rows_read: outcome.rows_read,
            rows_loaded: outcome.rows_loaded,
            rows_rejected: outcome.rejected,
            candidates: outcome.candidates,
            errors: outcome.errors,
            elapsed_ms: started.elapsed().as_millis() as u64,
            detail: serde_json::Value::Object(outcome.detail),
        };
        if let Err(e) = self.switch(actor, &report).await {
            let _ = self.drop_version(version).await;
            return Err(e);
        }
        self.drop_inactive(source).await?;
        Ok(ImportReport {
            elapsed_ms: started.elapsed().as_millis() as u64,
            ..report
        })
    }

    /// The active version of every imported source.
    pub async fn market_sources(&self) -> Result<Vec<SourceStatus>, StoreError> {
        let rows = run!(&self.read, |p| {
            sqlx::query_as::<_, SourceRow>(
            "SELECT source, version, file_name, rows_read, rows_loaded, rows_rejected, imported_at, summary \
             FROM market_sources ORDER BY source"
        )
        .fetch_all(p)
        .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| SourceStatus {
                source: r.source,
                version: r.version,
                file_name: r.file_name,
                rows_read: r.rows_read,
                rows_loaded: r.rows_loaded,
                rows_rejected: r.rows_rejected,
                imported_at: r.imported_at,
                summary: serde_json::from_str(&r.summary).unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }

    async fn active_version(&self, source: MarketSource) -> Result<Option<i64>, StoreError> {
        Ok(run!(&self.read, |p| sqlx::query_scalar::<_, i64>(
            "SELECT version FROM market_sources WHERE source = $1"
        )
        .bind(source.as_str())
        .fetch_optional(p)
        .await?))
    }

    async fn new_version(&self, source: MarketSource) -> Result<i64, StoreError> {
        Ok(run!(&self.write, |p| sqlx::query_scalar::<_, i64>(
            "INSERT INTO market_versions (source, started_at) VALUES ($1, $2) RETURNING id"
        )
        .bind(source.as_str())
        .bind(crate::now())
        .fetch_one(p)
        .await?))
    }

    /// Loads what `source` is checked against.
    async fn load_refs(&self, source: MarketSource) -> Result<Refs, StoreError> {
        let mut refs = Refs::default();
        if matches!(source, MarketSource::Nppes | MarketSource::Hospitals) {
            let Some(v) = self.active_version(MarketSource::Zip).await? else {
                return Err(refused(
                    "source",
                    "missing_reference",
                    "import the ZIP centroids first (concord market import zip FILE)",
                ));
            };
            let rows: Vec<(String, f64, f64)> = run!(&self.read, |p| sqlx::query_as(
                "SELECT zip, latitude, longitude FROM market_zips WHERE version = $1"
            )
            .bind(v)
            .fetch_all(p)
            .await?);
            refs.zips = rows
                .into_iter()
                .filter_map(|(z, la, lo)| Point::new(la, lo).map(|p| (z, p)))
                .collect();
        }
        if source == MarketSource::Nppes {
            let Some(v) = self.active_version(MarketSource::Taxonomy).await? else {
                return Err(refused(
                    "source",
                    "missing_reference",
                    "import the NUCC taxonomy first (concord market import taxonomy FILE)",
                ));
            };
            let rows: Vec<(String, String, Option<String>)> = run!(&self.read, |p| {
                sqlx::query_as(
                    "SELECT code, display_name, capability_code FROM market_taxonomy WHERE version = $1 ORDER BY code",
                )
                .bind(v)
                .fetch_all(p)
                .await?
            });
            let mut caps: Vec<String> = rows.iter().filter_map(|r| r.2.clone()).collect();
            caps.sort();
            caps.dedup();
            caps.truncate(64);
            for (i, (code, display, cap)) in rows.into_iter().enumerate() {
                let ci = cap
                    .and_then(|c| caps.iter().position(|x| *x == c))
                    .map(|i| i as u8);
                refs.display.push(display.clone());
                refs.capability_of.push(ci);
                refs.taxonomy
                    .insert(code, ((i as u16).min(NO_TAXONOMY - 1), display, ci));
            }
            refs.capabilities = caps;
        }
        Ok(refs)
    }

    /// Parses the files and writes the version's rows (not yet active).
    #[allow(clippy::too_many_arguments)]
    async fn write_version(
        &self,
        source: MarketSource,
        version: i64,
        files: Vec<PathBuf>,
        refs: Refs,
        map: CapabilityMap,
        options: &ImportOptions,
        seq_start: u64,
    ) -> Result<Outcome, StoreError> {
        let options = options.clone();
        match &self.write {
            Pool::Sqlite(p) => {
                let db = p.connect_options().get_filename().to_path_buf();
                if db.as_os_str().is_empty() || db.to_string_lossy().contains(":memory:") {
                    return Err(refused(
                        "database",
                        "unsupported",
                        "market import needs a SQLite file, not an in-memory database",
                    ));
                }
                tokio::task::spawn_blocking(move || {
                    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(8);
                    let parser = std::thread::spawn(move || {
                        produce(
                            source,
                            version,
                            seq_start,
                            &files,
                            &refs,
                            &map,
                            &options,
                            &mut |m| tx.send(m).is_ok(),
                        )
                    });
                    let written = sqlite_bulk::write(&db, version, source, rx);
                    let outcome = parser.join().map_err(|_| {
                        refused("file", "bad_file", "the parser stopped unexpectedly")
                    })?;
                    written?;
                    outcome
                })
                .await
                .map_err(|e| refused("file", "bad_file", format!("the import stopped: {e}")))?
            }
            Pool::Postgres(p) => {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(8);
                let parser = tokio::task::spawn_blocking(move || {
                    produce(
                        source,
                        version,
                        seq_start,
                        &files,
                        &refs,
                        &map,
                        &options,
                        &mut |m| tx.blocking_send(m).is_ok(),
                    )
                });
                let mut conn = p.begin().await?;
                let mut write_err = None;
                while let Some(msg) = rx.recv().await {
                    if let Err(e) = pg_bulk::write(&mut conn, version, source, msg).await {
                        write_err = Some(e);
                        break;
                    }
                }
                drop(rx);
                let outcome = parser
                    .await
                    .map_err(|e| refused("file", "bad_file", format!("the import stopped: {e}")))?;
                if let Some(e) = write_err {
                    return Err(e.into());
                }
                let outcome = outcome?;
                if outcome.aborted {
                    conn.rollback().await?;
                } else {
                    conn.commit().await?;
                }
                Ok(outcome)
            }
        }
    }

    /// For a single post-acute list, the other lists of the active version come along, so the
    /// new version is complete.
    async fn carry_other_lists(
        &self,
        version: i64,
        previous: Option<i64>,
        outcome: &mut Outcome,
    ) -> Result<(), StoreError> {
        let Some(prev) = previous else {
            return Ok(());
        };
        let lists: Vec<String> = outcome
            .detail
            .get("lists")
            .and_then(|l| l.as_object())
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let shift = (version - prev) << 32;
        let in_list = if lists.is_empty() {
            "''".to_string()
        } else {
            lists
                .iter()
                .map(|l| format!("'{}'", l.replace('\'', "")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let copy_candidates = format!(
            "INSERT INTO market_candidates (id, source, version, kind, ref, name, address, city, state, zip, latitude, \
             longitude, providers, beds, specialties, capabilities, facility_type, ownership, star_rating, detail, facility_list) \
             SELECT id + $1, source, $2, kind, ref, name, address, city, state, zip, latitude, longitude, providers, beds, \
             specialties, capabilities, facility_type, ownership, star_rating, detail, facility_list FROM market_candidates \
             WHERE source = 'postacute' AND version = $3 AND facility_list NOT IN ({in_list})"
        );
        let copy_cells = format!(
            "INSERT INTO market_candidate_cells (capability_code, cell, candidate_id, source, version, latitude, \
             longitude, kind, name, state, providers, beds, star_rating, is_primary) \
             SELECT x.capability_code, x.cell, x.candidate_id + $1, x.source, $2, x.latitude, x.longitude, x.kind, \
             x.name, x.state, x.providers, x.beds, x.star_rating, x.is_primary FROM market_candidate_cells x \
             JOIN market_candidates c ON c.id = x.candidate_id \
             WHERE x.source = 'postacute' AND x.version = $3 AND c.facility_list NOT IN ({in_list})"
        );
        let carried = run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query(&copy_candidates)
                .bind(shift)
                .bind(version)
                .bind(prev)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(&copy_cells)
                .bind(shift)
                .bind(version)
                .bind(prev)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            n
        });
        outcome.candidates += carried;
        outcome
            .detail
            .insert("carried_from_previous".into(), carried.into());
        Ok(())
    }

    /// The highest candidate sequence number of a version.
    async fn last_seq(&self, version: i64) -> Result<u64, StoreError> {
        let max: Option<i64> = run!(&self.read, |p| sqlx::query_scalar(
            "SELECT MAX(id) FROM market_candidates WHERE version = $1"
        )
        .bind(version)
        .fetch_one(p)
        .await?);
        Ok(max
            .map(|m| (m - (version << 32)).max(0) as u64)
            .unwrap_or(0))
    }

    /// Points `market_sources` at the new version and records the audit row, in one short
    /// transaction.
    async fn switch(&self, actor: &Actor, report: &ImportReport) -> Result<(), StoreError> {
        let mut summary = serde_json::json!({
            "candidates": report.candidates,
            "errors": report.errors,
            "elapsed_ms": report.elapsed_ms,
        });
        if let (Some(s), serde_json::Value::Object(d)) = (summary.as_object_mut(), &report.detail) {
            for (k, v) in d {
                s.insert(k.clone(), v.clone());
            }
        }
        let summary_text = summary.to_string();
        let audit_detail = serde_json::json!({
            "version": report.version,
            "file": report.file_name,
            "rows_read": report.rows_read,
            "rows_loaded": report.rows_loaded,
            "rows_rejected": report.rows_rejected,
            "candidates": report.candidates,
        });
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            sqlx::query(
                "INSERT INTO market_sources (source, version, file_name, rows_read, rows_loaded, rows_rejected, summary, imported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (source) DO UPDATE SET version = excluded.version, \
                 file_name = excluded.file_name, rows_read = excluded.rows_read, rows_loaded = excluded.rows_loaded, \
                 rows_rejected = excluded.rows_rejected, summary = excluded.summary, imported_at = excluded.imported_at",
            )
            .bind(report.source.as_str())
            .bind(report.version)
            .bind(&report.file_name)
            .bind(report.rows_read as i64)
            .bind(report.rows_loaded as i64)
            .bind(report.rows_rejected as i64)
            .bind(&summary_text)
            .bind(crate::now())
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "import",
                "market_source",
                report.source.as_str(),
                audit_detail
            );
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deletes the rows of one version (an import that did not become active, or an old one).
    async fn drop_version(&self, version: i64) -> Result<(), StoreError> {
        if let Pool::Sqlite(p) = &self.write {
            // Millions of rows: a connection with a large page cache is many times faster.
            let db = p.connect_options().get_filename().to_path_buf();
            if !db.as_os_str().is_empty() && !db.to_string_lossy().contains(":memory:") {
                return tokio::task::spawn_blocking(move || {
                    sqlite_bulk::delete_version(&db, version)
                })
                .await
                .map_err(|e| refused("database", "bad_file", format!("cleanup stopped: {e}")))?;
            }
        }
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            for table in MARKET_TABLES {
                sqlx::query(&format!("DELETE FROM {table} WHERE version = $1"))
                    .bind(version)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deletes every version of `source` but the active one.
    async fn drop_inactive(&self, source: MarketSource) -> Result<(), StoreError> {
        let stale: Vec<i64> = run!(&self.read, |p| sqlx::query_scalar(
            "SELECT v.id FROM market_versions v WHERE v.source = $1 \
             AND v.id < (SELECT version FROM market_sources s WHERE s.source = $1)"
        )
        .bind(source.as_str())
        .fetch_all(p)
        .await?);
        for v in stale {
            self.drop_version(v).await?;
        }
        Ok(())
    }
}

/// The tables that hold versioned rows.
const MARKET_TABLES: [&str; 5] = [
    "market_zips",
    "market_taxonomy",
    "market_providers",
    "market_candidate_cells",
    "market_candidates",
];

/// Imports the reference files shipped in `dir` (`data/market/`): ZIP centroids, the NUCC
/// taxonomy, the NPPES samples (`nppes/`), CMS hospitals and the post-acute lists
/// (`postacute/`), in that order, as the operator `actor`. Used by the demo and by tests.
pub async fn import_shipped_samples(
    store: &Store,
    dir: &Path,
) -> Result<Vec<ImportReport>, StoreError> {
    let actor = Actor::new("market-samples");
    let opts = ImportOptions::default();
    let mut reports = Vec::new();
    for (source, rel) in SHIPPED_FILES {
        reports.push(
            store
                .import_market_file(&actor, *source, &dir.join(rel), &opts)
                .await?,
        );
    }
    Ok(reports)
}

/// The shipped files under `data/market/`, in import order.
pub const SHIPPED_FILES: &[(MarketSource, &str)] = &[
    (MarketSource::Zip, "zcta_centroids_2023_gazetteer.csv"),
    (MarketSource::Taxonomy, "nucc_taxonomy_251.csv"),
    (MarketSource::Nppes, "nppes"),
    (
        MarketSource::Hospitals,
        "cms_hospital_general_information.csv",
    ),
    (MarketSource::Postacute, "postacute"),
];

// ---------------------------------------------------------------------------------------------
// The parser side (one thread): files → batches.

#[allow(clippy::too_many_arguments)]
fn produce(
    source: MarketSource,
    version: i64,
    seq_start: u64,
    files: &[PathBuf],
    refs: &Refs,
    map: &CapabilityMap,
    options: &ImportOptions,
    send: &mut dyn FnMut(Msg) -> bool,
) -> Result<Outcome, StoreError> {
    let mut out = Outcome::default();
    let max = options.max_bad_rows;
    let multi = files.len() > 1;
    let label = |f: &Path| -> Option<String> {
        multi.then(|| {
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    };
    // Candidates carried over from the previous version keep their sequence numbers; new ones
    // come after them.
    let mut seq = seq_start;
    match source {
        MarketSource::Zip => {
            for f in files {
                let p = reference::parse_zip_centroids(open(f)?, options.encoding)
                    .map_err(file_error)?;
                out.absorb(&p, max, label(f).as_deref());
                let mut seen = std::collections::HashSet::new();
                let rows: Vec<ZipCentroid> = p
                    .rows
                    .into_iter()
                    .filter(|z| seen.insert(z.zip.clone()))
                    .collect();
                out.rows_loaded += rows.len() as u64;
                if out.aborted {
                    return Ok(out);
                }
                for chunk in rows.chunks(BATCH) {
                    if !send(Msg::Zips(chunk.to_vec())) {
                        break;
                    }
                }
            }
        }
        MarketSource::Taxonomy => {
            for f in files {
                let p = reference::parse_taxonomy(open(f)?, options.encoding, map)
                    .map_err(file_error)?;
                out.absorb(&p, max, label(f).as_deref());
                out.rows_loaded += p.rows.len() as u64;
                let mapped = p.rows.iter().filter(|t| t.capability.is_some()).count();
                out.detail
                    .insert("mapped_to_capabilities".into(), mapped.into());
                if out.aborted {
                    return Ok(out);
                }
                for chunk in p.rows.chunks(BATCH) {
                    if !send(Msg::Taxonomy(chunk.to_vec())) {
                        break;
                    }
                }
            }
        }
        MarketSource::Hospitals => {
            let mut batch = Vec::new();
            for f in files {
                let p = reference::parse_hospitals(open(f)?, options.encoding, map)
                    .map_err(file_error)?;
                out.absorb(&p, max, label(f).as_deref());
                for h in p.rows {
                    let Some(point) = refs.zips.get(&h.zip).copied() else {
                        let mut e = RowError::new(
                            h.line,
                            "ZIP Code",
                            format!(
                                "hospital {}: ZIP {} has no centroid in the imported ZIP source",
                                h.ccn, h.zip
                            ),
                        );
                        if let Some(f) = label(f) {
                            e.message = format!("{f}: {}", e.message);
                        }
                        out.reject(e, max);
                        continue;
                    };
                    seq += 1;
                    out.rows_loaded += 1;
                    batch.push(Candidate {
                        id: candidate_id(version, seq),
                        kind: "hospital",
                        ref_: h.ccn.clone(),
                        name: h.name,
                        address: h.address,
                        city: h.city,
                        state: h.state,
                        zip: h.zip,
                        point,
                        providers: None,
                        beds: None,
                        specialties: Vec::new(),
                        main: !h.capabilities.is_empty(),
                        capabilities: h.capabilities,
                        facility_type: Some(h.hospital_type),
                        ownership: Some(h.ownership),
                        star_rating: h.star_rating,
                        detail: serde_json::json!({
                            "ccn": h.ccn, "county": h.county, "emergency_services": h.emergency,
                        }),
                        facility_list: None,
                    });
                }
            }
            if out.aborted {
                return Ok(out);
            }
            out.candidates = batch.len() as u64;
            for chunk in batch.chunks(BATCH) {
                if !send(Msg::Candidates(chunk.to_vec())) {
                    break;
                }
            }
        }
        MarketSource::Postacute => {
            let mut lists = serde_json::Map::new();
            let mut batch = Vec::new();
            for f in files {
                let list = match (files.len(), options.list) {
                    (1, Some(l)) => l,
                    _ => {
                        let name = f.to_string_lossy();
                        PostacuteList::from_file_name(&name).ok_or_else(|| {
                            refused(
                                "list",
                                "unknown_list",
                                format!(
                                    "{name}: which post-acute list is this? Pass --list {}",
                                    PostacuteList::WIRE.join("|")
                                ),
                            )
                        })?
                    }
                };
                let p = reference::parse_postacute(open(f)?, options.encoding, list, map)
                    .map_err(file_error)?;
                out.absorb(&p, max, label(f).as_deref());
                let n = p.rows.len() as u64;
                *lists
                    .entry(list.as_str().to_string())
                    .or_insert(serde_json::Value::from(0u64)) = (lists
                    .get(list.as_str())
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0)
                    + n)
                    .into();
                out.rows_loaded += n;
                for fac in p.rows {
                    seq += 1;
                    batch.push(Candidate {
                        id: candidate_id(version, seq),
                        kind: "facility",
                        ref_: fac.id.clone(),
                        name: fac.name,
                        address: fac.address,
                        city: fac.city,
                        state: fac.state,
                        zip: fac.zip,
                        point: fac.point,
                        providers: None,
                        beds: fac.beds,
                        specialties: Vec::new(),
                        main: !fac.capabilities.is_empty(),
                        capabilities: fac.capabilities,
                        facility_type: Some(fac.facility_type),
                        ownership: (!fac.ownership.is_empty()).then_some(fac.ownership),
                        star_rating: None,
                        detail: serde_json::json!({ "id": fac.id, "list": list.as_str() }),
                        facility_list: Some(list.as_str()),
                    });
                }
            }
            out.detail
                .insert("lists".into(), serde_json::Value::Object(lists));
            if out.aborted {
                return Ok(out);
            }
            out.candidates = batch.len() as u64;
            for chunk in batch.chunks(BATCH) {
                if !send(Msg::Candidates(chunk.to_vec())) {
                    break;
                }
            }
        }
        MarketSource::Nppes => {
            produce_nppes(version, files, refs, options, send, &mut out)?;
        }
    }
    Ok(out)
}

/// Streams NPPES files: providers in batches as they are read, organization candidates as they
/// come, practice candidates at the end.
fn produce_nppes(
    version: i64,
    files: &[PathBuf],
    refs: &Refs,
    options: &ImportOptions,
    send: &mut dyn FnMut(Msg) -> bool,
    out: &mut Outcome,
) -> Result<(), StoreError> {
    let max = options.max_bad_rows;
    let total_bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    // About 1,100 bytes per row in the national file, about one practice address per four rows.
    // Sized low on purpose: a table sized for the worst case would be touched all over and count
    // in full towards resident memory; growing doubles it once in a while instead.
    let mut practices = PracticeAggregator::with_capacity((total_bytes / 4400) as usize + 16);
    let mut seq = 0u64;
    let mut providers: Vec<NppesRow> = Vec::with_capacity(BATCH);
    let mut orgs: Vec<Candidate> = Vec::new();
    let mut deactivated = 0u64;
    let mut organizations = 0u64;
    let mut bytes_done = 0u64;
    let mut seen_npi: std::collections::HashSet<u64> = std::collections::HashSet::new();
    for f in files {
        let prefix = (files.len() > 1).then(|| {
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        let file = open(f)?;
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .buffer_capacity(1 << 20)
            .from_reader(concord_domain::csv_io::LineTracking::new(file));
        let header = rdr
            .byte_headers()
            .map_err(|e| refused("file", "bad_file", format!("{}: line 1: {e}", f.display())))?
            .clone();
        let cols = NppesColumns::from_header(&header)
            .map_err(|e| refused("file", "bad_file", format!("{}: {}", f.display(), e.0)))?;
        let mut rec = csv::ByteRecord::new();
        let mut line = 1u64;
        loop {
            let more = match rdr.read_byte_record(&mut rec) {
                Ok(m) => m,
                Err(e) => {
                    out.rows_read += 1;
                    let at = e.position().map(|p| p.line()).unwrap_or(line + 1);
                    let mut err = RowError::new(at, "", format!("unreadable row: {e}"));
                    if let Some(p) = &prefix {
                        err.message = format!("{p}: {}", err.message);
                    }
                    out.reject(err, max);
                    if out.aborted || matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                    continue;
                }
            };
            if !more {
                break;
            }
            out.rows_read += 1;
            line = match rec.position() {
                Some(p) => rdr.get_mut().line_at(p.byte()),
                None => line + 1,
            };
            if out.rows_read.is_multiple_of(65_536) {
                if let Some(progress) = &options.progress {
                    progress(Progress {
                        rows: out.rows_read,
                        bytes: bytes_done + rec.position().map(|p| p.byte()).unwrap_or(0),
                        total_bytes,
                    });
                }
            }
            let parsed = nppes::parse_row(&cols, &rec, line, options.encoding).and_then(|row| {
                row.check_references(
                    &cols,
                    line,
                    |c| refs.taxonomy.contains_key(c),
                    |z| refs.zips.contains_key(z),
                )?;
                Ok(row)
            });
            let row = match parsed {
                Ok(r) => r,
                Err(mut e) => {
                    if let Some(p) = &prefix {
                        e.message = format!("{p}: {}", e.message);
                    }
                    out.reject(e, max);
                    if out.aborted {
                        break;
                    }
                    continue;
                }
            };
            let npi_num: u64 = row.npi.parse().unwrap_or(0);
            if !seen_npi.insert(npi_num) {
                let mut e = RowError::new(
                    line,
                    cols.name(0),
                    format!("NPI {} appears more than once", row.npi),
                );
                if let Some(p) = &prefix {
                    e.message = format!("{p}: {}", e.message);
                }
                out.reject(e, max);
                if out.aborted {
                    break;
                }
                continue;
            }
            out.rows_loaded += 1;
            if row.is_deactivated() {
                deactivated += 1;
            } else if row.entity_type == 2 {
                organizations += 1;
                if let Some(point) = refs.zips.get(&row.zip).copied() {
                    seq += 1;
                    let bits = refs.capability_bits(&row.taxonomies);
                    let (capabilities, main) = refs
                        .capability_names(bits, refs.capability_of_code(row.taxonomies.first()));
                    orgs.push(Candidate {
                        id: candidate_id(version, seq),
                        kind: "organization",
                        ref_: row.npi.clone(),
                        name: row.name.clone(),
                        address: row.address.clone(),
                        city: row.city.clone(),
                        state: row.state.clone(),
                        zip: row.zip.clone(),
                        point,
                        providers: None,
                        beds: None,
                        specialties: row
                            .taxonomies
                            .iter()
                            .filter_map(|c| refs.taxonomy.get(c).map(|t| t.1.clone()))
                            .collect(),
                        capabilities,
                        main,
                        facility_type: None,
                        ownership: None,
                        star_rating: None,
                        detail: serde_json::json!({
                            "npi": row.npi,
                            "taxonomies": row.taxonomies,
                            "enumerated_on": row.enumerated_on,
                        }),
                        facility_list: None,
                    });
                    if orgs.len() >= BATCH && !send(Msg::Candidates(std::mem::take(&mut orgs))) {
                        return Ok(());
                    }
                }
            } else if row.entity_type == 1 {
                let primary = row
                    .taxonomies
                    .first()
                    .and_then(|c| refs.taxonomy.get(c))
                    .map(|t| t.0)
                    .unwrap_or(NO_TAXONOMY);
                practices.add(&row, primary, refs.capability_bits(&row.taxonomies));
            }
            providers.push(row);
            if providers.len() >= BATCH && !send(Msg::Providers(std::mem::take(&mut providers))) {
                return Ok(());
            }
        }
        bytes_done += std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        if out.aborted {
            return Ok(());
        }
    }
    drop(seen_npi);
    if !providers.is_empty() && !send(Msg::Providers(std::mem::take(&mut providers))) {
        return Ok(());
    }
    let practice_count = practices.len() as u64;
    out.detail.insert(
        "practice_map_bytes".into(),
        (practices.memory_bytes() as u64).into(),
    );
    for p in practices.into_practices() {
        let Some(point) = refs.zips.get(&p.zip).copied() else {
            continue;
        };
        seq += 1;
        let specialties: Vec<String> = p
            .taxonomies
            .iter()
            .filter_map(|i| refs.display.get(usize::from(*i)).cloned())
            .collect();
        // The main capability: that of the most common primary taxonomy among its providers.
        let (capabilities, main) = refs.capability_names(
            p.capabilities,
            p.taxonomies
                .first()
                .and_then(|i| refs.capability_of.get(usize::from(*i)).copied().flatten()),
        );
        let name = match specialties.first() {
            Some(s) => format!("{s} practice at {}", p.address),
            None => format!("Practice at {}", p.address),
        };
        orgs.push(Candidate {
            id: candidate_id(version, seq),
            kind: "practice",
            ref_: p.key,
            name,
            address: p.address,
            city: p.city,
            state: p.state,
            zip: p.zip,
            point,
            providers: Some(i64::from(p.providers)),
            beds: None,
            specialties,
            capabilities,
            main,
            facility_type: None,
            ownership: None,
            star_rating: None,
            detail: serde_json::json!({}),
            facility_list: None,
        });
        if orgs.len() >= BATCH && !send(Msg::Candidates(std::mem::take(&mut orgs))) {
            return Ok(());
        }
    }
    if !orgs.is_empty() {
        send(Msg::Candidates(std::mem::take(&mut orgs)));
    }
    if let Some(progress) = &options.progress {
        progress(Progress {
            rows: out.rows_read,
            bytes: total_bytes,
            total_bytes,
        });
    }
    out.candidates = seq;
    out.detail
        .insert("organizations".into(), organizations.into());
    out.detail.insert("practices".into(), practice_count.into());
    out.detail.insert("deactivated".into(), deactivated.into());
    out.detail.insert("bytes".into(), total_bytes.into());
    Ok(())
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn date_text(d: Option<chrono::NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

// ---------------------------------------------------------------------------------------------
// SQLite: a dedicated rusqlite connection, multi-row prepared INSERTs.

mod sqlite_bulk {
    use super::*;
    use rusqlite::{Connection, Statement};

    /// Rows per multi-row INSERT.
    const ROWS_PER_INSERT: usize = 64;
    /// Commit after this many rows (they are invisible until the switch anyway).
    const COMMIT_EVERY: u64 = 2_000_000;

    fn err(e: rusqlite::Error) -> StoreError {
        StoreError::Database(sqlx::Error::Protocol(format!("SQLite bulk write: {e}")))
    }

    /// `INSERT OR FAIL`: a failing row fails the import (the transaction is rolled back), so
    /// SQLite needs no statement journal for these multi-row statements.
    fn multi_insert(table: &str, cols: &[&str], rows: usize) -> String {
        let mut sql = format!("INSERT OR FAIL INTO {table} ({}) VALUES ", cols.join(", "));
        let mut n = 0;
        for r in 0..rows {
            if r > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..cols.len() {
                if c > 0 {
                    sql.push(',');
                }
                n += 1;
                sql.push_str(&format!("?{n}"));
            }
            sql.push(')');
        }
        sql
    }

    const PROVIDER_COLS: [&str; 12] = [
        "version",
        "npi",
        "entity_type",
        "name",
        "credential",
        "address",
        "city",
        "state",
        "zip",
        "taxonomies",
        "enumerated_on",
        "deactivated_on",
    ];
    const CANDIDATE_COLS: [&str; 21] = [
        "id",
        "source",
        "version",
        "kind",
        "ref",
        "name",
        "address",
        "city",
        "state",
        "zip",
        "latitude",
        "longitude",
        "providers",
        "beds",
        "specialties",
        "capabilities",
        "facility_type",
        "ownership",
        "star_rating",
        "detail",
        "facility_list",
    ];
    const CELL_COLS: [&str; 14] = [
        "capability_code",
        "cell",
        "candidate_id",
        "source",
        "version",
        "latitude",
        "longitude",
        "kind",
        "name",
        "state",
        "providers",
        "beds",
        "star_rating",
        "is_primary",
    ];
    const ZIP_COLS: [&str; 4] = ["version", "zip", "latitude", "longitude"];
    const TAXONOMY_COLS: [&str; 7] = [
        "version",
        "code",
        "grouping_name",
        "classification",
        "specialization",
        "display_name",
        "capability_code",
    ];

    /// Binds `rows` through `bind` into multi-row INSERTs of `cols` (a full-size statement for
    /// whole chunks, a one-row statement for the rest).
    fn insert_all<T>(
        conn: &Connection,
        table: &str,
        cols: &[&str],
        rows: &[T],
        bind: impl Fn(&mut Statement<'_>, usize, &T) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        let width = cols.len();
        let mut chunks = rows.chunks_exact(ROWS_PER_INSERT);
        if rows.len() >= ROWS_PER_INSERT {
            let mut stmt = conn
                .prepare_cached(&multi_insert(table, cols, ROWS_PER_INSERT))
                .map_err(err)?;
            for chunk in &mut chunks {
                for (r, row) in chunk.iter().enumerate() {
                    bind(&mut stmt, r * width + 1, row).map_err(err)?;
                }
                stmt.raw_execute().map_err(err)?;
            }
        }
        let rest = if rows.len() >= ROWS_PER_INSERT {
            chunks.remainder()
        } else {
            rows
        };
        if !rest.is_empty() {
            let mut stmt = conn
                .prepare_cached(&multi_insert(table, cols, 1))
                .map_err(err)?;
            for row in rest {
                bind(&mut stmt, 1, row).map_err(err)?;
                stmt.raw_execute().map_err(err)?;
            }
        }
        Ok(())
    }

    fn bind_provider(
        s: &mut Statement<'_>,
        at: usize,
        version: i64,
        r: &NppesRow,
    ) -> rusqlite::Result<()> {
        s.raw_bind_parameter(at, version)?;
        s.raw_bind_parameter(at + 1, r.npi.as_str())?;
        s.raw_bind_parameter(at + 2, i64::from(r.entity_type))?;
        s.raw_bind_parameter(at + 3, r.name.as_str())?;
        s.raw_bind_parameter(at + 4, r.credential.as_str())?;
        s.raw_bind_parameter(at + 5, r.address.as_str())?;
        s.raw_bind_parameter(at + 6, r.city.as_str())?;
        s.raw_bind_parameter(at + 7, r.state.as_str())?;
        s.raw_bind_parameter(at + 8, r.zip.as_str())?;
        s.raw_bind_parameter(at + 9, r.taxonomies.join("|"))?;
        s.raw_bind_parameter(at + 10, date_text(r.enumerated_on))?;
        s.raw_bind_parameter(at + 11, date_text(r.deactivated_on))?;
        Ok(())
    }

    fn bind_candidate(
        s: &mut Statement<'_>,
        at: usize,
        source: &str,
        version: i64,
        c: &Candidate,
    ) -> rusqlite::Result<()> {
        s.raw_bind_parameter(at, c.id)?;
        s.raw_bind_parameter(at + 1, source)?;
        s.raw_bind_parameter(at + 2, version)?;
        s.raw_bind_parameter(at + 3, c.kind)?;
        s.raw_bind_parameter(at + 4, c.ref_.as_str())?;
        s.raw_bind_parameter(at + 5, c.name.as_str())?;
        s.raw_bind_parameter(at + 6, c.address.as_str())?;
        s.raw_bind_parameter(at + 7, c.city.as_str())?;
        s.raw_bind_parameter(at + 8, c.state.as_str())?;
        s.raw_bind_parameter(at + 9, c.zip.as_str())?;
        s.raw_bind_parameter(at + 10, c.point.latitude)?;
        s.raw_bind_parameter(at + 11, c.point.longitude)?;
        s.raw_bind_parameter(at + 12, c.providers)?;
        s.raw_bind_parameter(at + 13, c.beds)?;
        s.raw_bind_parameter(at + 14, json_list(&c.specialties))?;
        s.raw_bind_parameter(at + 15, json_list(&c.capabilities))?;
        s.raw_bind_parameter(at + 16, c.facility_type.as_deref())?;
        s.raw_bind_parameter(at + 17, c.ownership.as_deref())?;
        s.raw_bind_parameter(at + 18, c.star_rating)?;
        s.raw_bind_parameter(at + 19, c.detail.to_string())?;
        s.raw_bind_parameter(at + 20, c.facility_list)?;
        Ok(())
    }

    fn open(db: &Path) -> Result<Connection, StoreError> {
        let conn = Connection::open(db).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err)?;
        conn.execute_batch(
            "PRAGMA synchronous = OFF; PRAGMA cache_size = -131072; PRAGMA temp_store = MEMORY; \
             PRAGMA wal_autocheckpoint = 16384;",
        )
        .map_err(err)?;
        Ok(conn)
    }

    /// Deletes every row of `version`, in one transaction.
    pub(super) fn delete_version(db: &Path, version: i64) -> Result<(), StoreError> {
        let conn = open(db)?;
        conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
        for table in MARKET_TABLES {
            if let Err(e) = conn.execute(
                &format!("DELETE FROM {table} WHERE version = ?1"),
                [version],
            ) {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(err(e));
            }
        }
        conn.execute_batch("COMMIT").map_err(err)
    }

    /// Receives batches and writes them; returns when the parser hangs up.
    pub(super) fn write(
        db: &Path,
        version: i64,
        source: MarketSource,
        rx: std::sync::mpsc::Receiver<Msg>,
    ) -> Result<(), StoreError> {
        let conn = open(db)?;
        conn.set_prepared_statement_cache_capacity(16);
        conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
        let src = source.as_str();
        let mut since_commit = 0u64;
        // Drains the channel even after a write error, so the parser never blocks.
        let mut failure: Option<StoreError> = None;
        for msg in rx.iter() {
            if failure.is_some() {
                continue;
            }
            let result = (|| -> Result<u64, StoreError> {
                Ok(match &msg {
                    Msg::Providers(rows) => {
                        insert_all(
                            &conn,
                            "market_providers",
                            &PROVIDER_COLS,
                            rows,
                            |s, at, r| bind_provider(s, at, version, r),
                        )?;
                        rows.len() as u64
                    }
                    Msg::Candidates(rows) => {
                        insert_all(
                            &conn,
                            "market_candidates",
                            &CANDIDATE_COLS,
                            rows,
                            |s, at, c| bind_candidate(s, at, src, version, c),
                        )?;
                        let cells: Vec<(&str, bool, i64, &Candidate)> = rows
                            .iter()
                            .flat_map(|c| {
                                let cell = geo::cell(c.point);
                                c.offers().map(move |(cap, main)| (cap, main, cell, c))
                            })
                            .collect();
                        insert_all(
                            &conn,
                            "market_candidate_cells",
                            &CELL_COLS,
                            &cells,
                            |s, at, &(cap, main, cell, c)| {
                                s.raw_bind_parameter(at, cap)?;
                                s.raw_bind_parameter(at + 1, cell)?;
                                s.raw_bind_parameter(at + 2, c.id)?;
                                s.raw_bind_parameter(at + 3, src)?;
                                s.raw_bind_parameter(at + 4, version)?;
                                s.raw_bind_parameter(at + 5, c.point.latitude)?;
                                s.raw_bind_parameter(at + 6, c.point.longitude)?;
                                s.raw_bind_parameter(at + 7, c.kind)?;
                                s.raw_bind_parameter(at + 8, c.name.as_str())?;
                                s.raw_bind_parameter(at + 9, c.state.as_str())?;
                                s.raw_bind_parameter(at + 10, c.providers)?;
                                s.raw_bind_parameter(at + 11, c.beds)?;
                                s.raw_bind_parameter(at + 12, c.star_rating)?;
                                s.raw_bind_parameter(at + 13, i64::from(main))
                            },
                        )?;
                        rows.len() as u64
                    }
                    Msg::Zips(rows) => {
                        insert_all(&conn, "market_zips", &ZIP_COLS, rows, |s, at, z| {
                            s.raw_bind_parameter(at, version)?;
                            s.raw_bind_parameter(at + 1, z.zip.as_str())?;
                            s.raw_bind_parameter(at + 2, z.point.latitude)?;
                            s.raw_bind_parameter(at + 3, z.point.longitude)
                        })?;
                        rows.len() as u64
                    }
                    Msg::Taxonomy(rows) => {
                        insert_all(
                            &conn,
                            "market_taxonomy",
                            &TAXONOMY_COLS,
                            rows,
                            |s, at, t| {
                                s.raw_bind_parameter(at, version)?;
                                s.raw_bind_parameter(at + 1, t.code.as_str())?;
                                s.raw_bind_parameter(at + 2, t.grouping.as_str())?;
                                s.raw_bind_parameter(at + 3, t.classification.as_str())?;
                                s.raw_bind_parameter(at + 4, t.specialization.as_str())?;
                                s.raw_bind_parameter(at + 5, t.display_name.as_str())?;
                                s.raw_bind_parameter(at + 6, t.capability.as_deref())
                            },
                        )?;
                        rows.len() as u64
                    }
                })
            })();
            match result {
                Ok(n) => {
                    since_commit += n;
                    if since_commit >= COMMIT_EVERY {
                        since_commit = 0;
                        if let Err(e) = conn.execute_batch("COMMIT; BEGIN IMMEDIATE") {
                            failure = Some(err(e));
                        }
                    }
                }
                Err(e) => failure = Some(e),
            }
        }
        if let Some(e) = failure {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        conn.execute_batch("COMMIT").map_err(err)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: COPY … FROM STDIN (text format) inside the import's transaction.

mod pg_bulk {
    use super::*;

    /// Appends one COPY text field (`\N` for NULL; backslash, tab and line breaks escaped).
    fn field(buf: &mut String, v: Option<&str>) {
        match v {
            None => buf.push_str("\\N"),
            Some(s) => {
                for c in s.chars() {
                    match c {
                        '\\' => buf.push_str("\\\\"),
                        '\t' => buf.push_str("\\t"),
                        '\n' => buf.push_str("\\n"),
                        '\r' => buf.push_str("\\r"),
                        c => buf.push(c),
                    }
                }
            }
        }
    }

    fn row(buf: &mut String, fields: &[Option<&str>]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                buf.push('\t');
            }
            field(buf, *f);
        }
        buf.push('\n');
    }

    async fn copy(
        conn: &mut sqlx::PgConnection,
        statement: &str,
        data: String,
    ) -> Result<(), sqlx::Error> {
        let mut copy = conn.copy_in_raw(statement).await?;
        if let Err(e) = copy.send(data.into_bytes()).await {
            let _ = copy.abort("import failed").await;
            return Err(e);
        }
        copy.finish().await?;
        Ok(())
    }

    pub(super) async fn write(
        conn: &mut sqlx::PgConnection,
        version: i64,
        source: MarketSource,
        msg: Msg,
    ) -> Result<(), sqlx::Error> {
        let v = version.to_string();
        let src = source.as_str();
        let mut buf = String::with_capacity(1 << 20);
        match msg {
            Msg::Providers(rows) => {
                for r in &rows {
                    let et = r.entity_type.to_string();
                    let tax = r.taxonomies.join("|");
                    let (en, de) = (date_text(r.enumerated_on), date_text(r.deactivated_on));
                    row(
                        &mut buf,
                        &[
                            Some(&v),
                            Some(&r.npi),
                            Some(&et),
                            Some(&r.name),
                            Some(&r.credential),
                            Some(&r.address),
                            Some(&r.city),
                            Some(&r.state),
                            Some(&r.zip),
                            Some(&tax),
                            en.as_deref(),
                            de.as_deref(),
                        ],
                    );
                }
                copy(
                    conn,
                    "COPY market_providers (version, npi, entity_type, name, credential, address, city, state, zip, \
                     taxonomies, enumerated_on, deactivated_on) FROM STDIN",
                    buf,
                )
                .await
            }
            Msg::Candidates(rows) => {
                let mut cells = String::new();
                for c in &rows {
                    let id = c.id.to_string();
                    let (lat, lon) = (c.point.latitude.to_string(), c.point.longitude.to_string());
                    let providers = c.providers.map(|n| n.to_string());
                    let beds = c.beds.map(|n| n.to_string());
                    let stars = c.star_rating.map(|n| n.to_string());
                    let (spec, caps, detail) = (
                        json_list(&c.specialties),
                        json_list(&c.capabilities),
                        c.detail.to_string(),
                    );
                    row(
                        &mut buf,
                        &[
                            Some(&id),
                            Some(src),
                            Some(&v),
                            Some(c.kind),
                            Some(&c.ref_),
                            Some(&c.name),
                            Some(&c.address),
                            Some(&c.city),
                            Some(&c.state),
                            Some(&c.zip),
                            Some(&lat),
                            Some(&lon),
                            providers.as_deref(),
                            beds.as_deref(),
                            Some(&spec),
                            Some(&caps),
                            c.facility_type.as_deref(),
                            c.ownership.as_deref(),
                            stars.as_deref(),
                            Some(&detail),
                            c.facility_list,
                        ],
                    );
                    let cell = geo::cell(c.point).to_string();
                    for (cap, main) in c.offers() {
                        row(
                            &mut cells,
                            &[
                                Some(cap),
                                Some(&cell),
                                Some(&id),
                                Some(src),
                                Some(&v),
                                Some(&lat),
                                Some(&lon),
                                Some(c.kind),
                                Some(&c.name),
                                Some(&c.state),
                                providers.as_deref(),
                                beds.as_deref(),
                                stars.as_deref(),
                                Some(if main { "1" } else { "0" }),
                            ],
                        );
                    }
                }
                copy(
                    conn,
                    "COPY market_candidates (id, source, version, kind, ref, name, address, city, state, zip, latitude, \
                     longitude, providers, beds, specialties, capabilities, facility_type, ownership, star_rating, detail, \
                     facility_list) FROM STDIN",
                    buf,
                )
                .await?;
                if !cells.is_empty() {
                    copy(
                        conn,
                        "COPY market_candidate_cells (capability_code, cell, candidate_id, source, version, latitude, \
                         longitude, kind, name, state, providers, beds, star_rating, is_primary) FROM STDIN",
                        cells,
                    )
                    .await?;
                }
                Ok(())
            }
            Msg::Zips(rows) => {
                for z in &rows {
                    let (lat, lon) = (z.point.latitude.to_string(), z.point.longitude.to_string());
                    row(&mut buf, &[Some(&v), Some(&z.zip), Some(&lat), Some(&lon)]);
                }
                copy(
                    conn,
                    "COPY market_zips (version, zip, latitude, longitude) FROM STDIN",
                    buf,
                )
                .await
            }
            Msg::Taxonomy(rows) => {
                for t in &rows {
                    row(
                        &mut buf,
                        &[
                            Some(&v),
                            Some(&t.code),
                            Some(&t.grouping),
                            Some(&t.classification),
                            Some(&t.specialization),
                            Some(&t.display_name),
                            t.capability.as_deref(),
                        ],
                    );
                }
                copy(
                    conn,
                    "COPY market_taxonomy (version, code, grouping_name, classification, specialization, display_name, \
                     capability_code) FROM STDIN",
                    buf,
                )
                .await
            }
        }
    }
}
