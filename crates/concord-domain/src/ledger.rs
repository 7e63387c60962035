//! The metric ledger: values reported per period, never overwritten, hash-chained.
//!
//! Each partnership has one chain. An entry is a value of one charter metric for one period, or a
//! correction of an earlier entry (with a reason). Entry `n` records the hash of entry `n - 1`
//! (`prev_hash`; 64 zeros for the first), and its own `hash` is the SHA-256 of its canonical
//! form, which includes `prev_hash` — so changing, removing or reordering any entry breaks every
//! hash after it. [`verify_chain`] recomputes a chain; a third party can do the same from the CSV
//! or JSON download (the canonical form is documented in the README and in [`Entry::canonical`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::attainment::{MetricAttainment, Rollup};
use crate::charter::{Metric, ReportingCadence};
use crate::csv_io::{CsvRows, RowError};
use crate::text::clean;
use crate::{OrgId, ValidationErrors};

/// The `prev_hash` of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Largest CSV import, in rows.
pub const MAX_IMPORT_ROWS: usize = 200_000;

/// The last day of the period of `cadence` that starts on `start`, or `None` when `start` is not
/// the first day of such a period (a month, a calendar quarter, a calendar year).
pub fn period_end(cadence: ReportingCadence, start: NaiveDate) -> Option<NaiveDate> {
    if start.day() != 1 {
        return None;
    }
    let months = match cadence {
        ReportingCadence::Monthly => 1,
        ReportingCadence::Quarterly if (start.month() - 1).is_multiple_of(3) => 3,
        ReportingCadence::Annual if start.month() == 1 => 12,
        _ => return None,
    };
    start
        .checked_add_months(chrono::Months::new(months))
        .and_then(|d| d.pred_opt())
}

/// The first day of the period of `cadence` that contains `day`.
pub fn period_containing(cadence: ReportingCadence, day: NaiveDate) -> NaiveDate {
    let month = match cadence {
        ReportingCadence::Monthly => day.month(),
        ReportingCadence::Quarterly => (day.month() - 1) / 3 * 3 + 1,
        ReportingCadence::Annual => 1,
    };
    NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day)
}

/// How a period is written for people: "Mar 2026", "Q1 2026", "2026".
pub fn period_label(cadence: ReportingCadence, start: NaiveDate) -> String {
    match cadence {
        ReportingCadence::Monthly => start.format("%b %Y").to_string(),
        ReportingCadence::Quarterly => format!("Q{} {}", (start.month() - 1) / 3 + 1, start.year()),
        ReportingCadence::Annual => start.year().to_string(),
    }
}

/// Parses a period as written in a CSV or a form: `2026-03` (a month), `2026-Q1` (a quarter),
/// `2026` (a year) or the period's first day `2026-03-01`; returns its first day, checked against
/// the metric's cadence. A month, quarter or year label must name a period of the metric's own
/// cadence: `2026` for a monthly metric is refused, not read as January.
pub fn parse_period(cadence: ReportingCadence, text: &str) -> Result<NaiveDate, String> {
    let t = text.trim();
    let (start, named) = if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        (d, None)
    } else if let Some((y, q)) = t.split_once(['Q', 'q']) {
        let y: i32 = y
            .trim_end_matches('-')
            .parse()
            .map_err(|_| format!("`{t}` is not a period (2026-03, 2026-Q1, 2026 or 2026-03-01)"))?;
        let q: u32 = q
            .parse()
            .ok()
            .filter(|q| (1..=4).contains(q))
            .ok_or_else(|| format!("`{t}`: the quarter must be Q1 to Q4"))?;
        let d = NaiveDate::from_ymd_opt(y, (q - 1) * 3 + 1, 1)
            .ok_or_else(|| format!("`{t}` is out of range"))?;
        (d, Some(ReportingCadence::Quarterly))
    } else if let Some((y, m)) = t.split_once('-') {
        let y: i32 = y.parse().map_err(|_| bad_period(t))?;
        let m: u32 = m.parse().map_err(|_| bad_period(t))?;
        let d = NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(|| bad_period(t))?;
        (d, Some(ReportingCadence::Monthly))
    } else if t.len() == 4 {
        let y: i32 = t.parse().map_err(|_| bad_period(t))?;
        let d = NaiveDate::from_ymd_opt(y, 1, 1).ok_or_else(|| bad_period(t))?;
        (d, Some(ReportingCadence::Annual))
    } else {
        return Err(bad_period(t));
    };
    if let Some(named) = named.filter(|n| *n != cadence) {
        let kind = |c: ReportingCadence| match c {
            ReportingCadence::Monthly => ("a month", "2026-03"),
            ReportingCadence::Quarterly => ("a quarter", "2026-Q1"),
            ReportingCadence::Annual => ("a year", "2026"),
        };
        let ((what, _), (want, example)) = (kind(named), kind(cadence));
        return Err(format!(
            "`{t}` names {what}, but the metric is reported {}; give {want} ({example}) or the period's first day",
            cadence.label().to_lowercase()
        ));
    }
    match period_end(cadence, start) {
        Some(_) => Ok(start),
        None => Err(cadence_mismatch(cadence, start)),
    }
}

fn bad_period(t: &str) -> String {
    format!("`{t}` is not a period (2026-03, 2026-Q1, 2026 or 2026-03-01)")
}

fn cadence_mismatch(cadence: ReportingCadence, start: NaiveDate) -> String {
    let what = match cadence {
        ReportingCadence::Monthly => "the first day of a month",
        ReportingCadence::Quarterly => "the first day of a calendar quarter (Jan, Apr, Jul, Oct)",
        ReportingCadence::Annual => "1 January",
    };
    format!(
        "the metric is reported {}; a period must start on {what} (got {start})",
        cadence.label().to_lowercase()
    )
}

/// Writes a value the way the ledger stores and hashes it: the shortest decimal that reads back
/// as the same number, never in exponent form, `0` for negative zero.
pub fn canonical_value(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    format!("{v}")
}

/// A value for a period, as a member of the owning party reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueInput {
    /// First day of the period (a month, quarter or year, after the metric's cadence).
    pub period_start: NaiveDate,
    /// Last day of the period; computed from the cadence when left out, refused when it differs.
    #[serde(default)]
    pub period_end: Option<NaiveDate>,
    /// A finite number in the metric's unit.
    pub value: f64,
    #[serde(default)]
    pub note: String,
    /// Where the number comes from (a report, a query, a system).
    #[serde(default)]
    pub source: String,
}

/// A correction of an earlier entry: the new value and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionInput {
    pub value: f64,
    /// Why the earlier value was wrong; required.
    pub reason: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub source: String,
}

/// A value checked against its metric, ready to be chained.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedValue {
    pub metric_id: u32,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub value: f64,
    pub note: String,
    pub source: String,
}

fn check_number(e: &mut ValidationErrors, field: &str, v: f64) {
    if !v.is_finite() {
        e.add(field, "not_finite", "must be a finite number");
    } else if v.abs() > 1e15 {
        e.add(field, "out_of_range", "must be between -1e15 and 1e15");
    }
}

/// Checks that `reporter` owns `metric` (it reports the metric's data).
pub fn check_owner(metric: &Metric, reporter: OrgId) -> Result<(), ValidationErrors> {
    if metric.owner != reporter {
        return Err(ValidationErrors::single(
            "metric_id",
            "not_owner",
            format!(
                "metric {} (\"{}\") is owned by organization {}; only its members report values",
                metric.id.unwrap_or(0),
                metric.name,
                metric.owner
            ),
        ));
    }
    Ok(())
}

impl ValueInput {
    /// Checks the period against the metric's cadence, the value, note and source. Periods
    /// that have not started by `today` are refused.
    pub fn validate(
        &self,
        metric: &Metric,
        today: NaiveDate,
    ) -> Result<CheckedValue, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let end = match period_end(metric.cadence, self.period_start) {
            None => {
                e.add(
                    "period_start",
                    "cadence_mismatch",
                    cadence_mismatch(metric.cadence, self.period_start),
                );
                None
            }
            Some(end) => {
                if let Some(given) = self.period_end {
                    if given != end {
                        e.add(
                            "period_end",
                            "cadence_mismatch",
                            format!(
                                "a {} period starting {} ends on {end}, not {given}",
                                metric.cadence.label().to_lowercase(),
                                self.period_start
                            ),
                        );
                    }
                }
                if self.period_start > today {
                    e.add(
                        "period_start",
                        "future_period",
                        format!("the period starting {} has not begun", self.period_start),
                    );
                }
                Some(end)
            }
        };
        check_number(&mut e, "value", self.value);
        let note = clean(&mut e, "note", &self.note, 0, 2000, true);
        let source = clean(&mut e, "source", &self.source, 0, 300, false);
        match (end, e.is_empty()) {
            (Some(period_end), true) => Ok(CheckedValue {
                metric_id: metric.id.unwrap_or(0),
                period_start: self.period_start,
                period_end,
                value: if self.value == 0.0 { 0.0 } else { self.value },
                note,
                source,
            }),
            _ => Err(e),
        }
    }
}

impl CorrectionInput {
    /// Checks the value and the reason; the period is the corrected entry's.
    pub fn validate(&self) -> Result<(f64, String, String, String), ValidationErrors> {
        let mut e = ValidationErrors::new();
        check_number(&mut e, "value", self.value);
        let reason = clean(&mut e, "reason", &self.reason, 1, 1000, true);
        let note = clean(&mut e, "note", &self.note, 0, 2000, true);
        let source = clean(&mut e, "source", &self.source, 0, 300, false);
        if e.is_empty() {
            Ok((
                if self.value == 0.0 { 0.0 } else { self.value },
                reason,
                note,
                source,
            ))
        } else {
            Err(e)
        }
    }
}

/// One ledger entry: what is hashed, plus the hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Entry {
    /// Position in the partnership's chain, from 1.
    pub seq: i64,
    pub partnership_id: i64,
    pub metric_id: u32,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The value as hashed ([`canonical_value`]).
    pub value: String,
    pub note: String,
    pub source: String,
    /// The reporting organization.
    pub organization_id: i64,
    /// The reporting user.
    pub reported_by: i64,
    /// RFC 3339, UTC, microseconds: `2026-03-04T10:11:12.123456Z`.
    pub recorded_at: String,
    /// The entry this one corrects.
    pub supersedes: Option<i64>,
    /// Why, for a correction; empty otherwise.
    pub reason: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The canonical spelling of a timestamp in the ledger.
pub fn canonical_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    partnership_id: i64,
    metric_id: u32,
    period_start: String,
    period_end: String,
    value: &'a str,
    note: &'a str,
    source: &'a str,
    organization_id: i64,
    reported_by: i64,
    recorded_at: &'a str,
    supersedes: Option<i64>,
    reason: &'a str,
    prev_hash: &'a str,
}

impl Entry {
    /// The bytes hashed: a JSON object with exactly these keys in this order and no whitespace —
    /// `seq, partnership_id, metric_id, period_start, period_end, value, note, source,
    /// organization_id, reported_by, recorded_at, supersedes, reason, prev_hash` — where numbers
    /// are integers, `supersedes` is `null` or an integer, dates are `YYYY-MM-DD`, every other
    /// value is a JSON string (escaped as JSON requires, non-ASCII left as UTF-8).
    pub fn canonical(&self) -> String {
        let c = Canonical {
            seq: self.seq,
            partnership_id: self.partnership_id,
            metric_id: self.metric_id,
            period_start: self.period_start.to_string(),
            period_end: self.period_end.to_string(),
            value: &self.value,
            note: &self.note,
            source: &self.source,
            organization_id: self.organization_id,
            reported_by: self.reported_by,
            recorded_at: &self.recorded_at,
            supersedes: self.supersedes,
            reason: &self.reason,
            prev_hash: &self.prev_hash,
        };
        serde_json::to_string(&c).unwrap_or_default()
    }

    /// Lower-case hex SHA-256 of [`Entry::canonical`].
    pub fn compute_hash(&self) -> String {
        hex(&Sha256::digest(self.canonical().as_bytes()))
    }

    /// Fills `prev_hash` and `hash` given the previous entry's hash.
    pub fn seal(mut self, prev_hash: &str) -> Entry {
        self.prev_hash = prev_hash.to_string();
        self.hash = self.compute_hash();
        self
    }

    /// The value as a number.
    pub fn number(&self) -> f64 {
        self.value.parse().unwrap_or(f64::NAN)
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The outcome of recomputing a chain.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Verification {
    /// Whether every entry matched.
    pub valid: bool,
    /// Entries checked.
    pub entries: u64,
    /// The hash of the last entry (the chain's head), when there is one.
    pub head: Option<String>,
    /// The first entry that does not match, and why.
    pub first_mismatch: Option<Mismatch>,
}

/// Why an entry does not match.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Mismatch {
    pub seq: i64,
    /// `sequence_gap`, `prev_hash_mismatch` or `hash_mismatch`.
    pub code: String,
    pub message: String,
    pub expected: String,
    pub found: String,
}

/// Walks a chain incrementally, so a long chain can be checked as it streams from the database.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    prev: String,
    next_seq: i64,
    entries: u64,
    mismatch: Option<Mismatch>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            prev: GENESIS.to_string(),
            next_seq: 1,
            entries: 0,
            mismatch: None,
        }
    }
}

impl ChainVerifier {
    /// Checks the next entry. After the first mismatch, later entries are only counted.
    pub fn push(&mut self, e: &Entry) {
        self.entries += 1;
        if self.mismatch.is_some() {
            return;
        }
        let mismatch = if e.seq != self.next_seq {
            Some(Mismatch {
                seq: e.seq,
                code: "sequence_gap".into(),
                message: format!(
                    "expected entry {} next, found entry {}",
                    self.next_seq, e.seq
                ),
                expected: self.next_seq.to_string(),
                found: e.seq.to_string(),
            })
        } else if e.prev_hash != self.prev {
            Some(Mismatch {
                seq: e.seq,
                code: "prev_hash_mismatch".into(),
                message: "prev_hash is not the hash of the entry before".into(),
                expected: self.prev.clone(),
                found: e.prev_hash.clone(),
            })
        } else {
            let h = e.compute_hash();
            (h != e.hash).then(|| Mismatch {
                seq: e.seq,
                code: "hash_mismatch".into(),
                message: "the entry's content does not hash to its recorded hash".into(),
                expected: h,
                found: e.hash.clone(),
            })
        };
        self.mismatch = mismatch;
        self.prev = e.hash.clone();
        self.next_seq = e.seq + 1;
    }

    pub fn finish(self) -> Verification {
        Verification {
            valid: self.mismatch.is_none(),
            entries: self.entries,
            head: (self.entries > 0).then_some(self.prev),
            first_mismatch: self.mismatch,
        }
    }
}

/// Recomputes a whole chain (entries in `seq` order).
pub fn verify_chain<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Verification {
    let mut v = ChainVerifier::default();
    for e in entries {
        v.push(e);
    }
    v.finish()
}

/// The current entry of each (metric, period): the one no later entry supersedes.
pub fn current_entries(entries: &[Entry]) -> Vec<&Entry> {
    let superseded: HashSet<i64> = entries.iter().filter_map(|e| e.supersedes).collect();
    entries
        .iter()
        .filter(|e| !superseded.contains(&e.seq))
        .collect()
}

/// The current value of one period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CurrentValue {
    /// The ledger entry that holds it.
    pub seq: i64,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub value: f64,
    /// Whether this value corrects an earlier entry.
    pub corrected: bool,
    pub note: String,
}

/// One metric with its current values and attainment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MetricLine {
    pub metric: Metric,
    pub attainment: MetricAttainment,
    /// Current value per period, oldest first.
    pub values: Vec<CurrentValue>,
    /// Whether the asker may report it: their organization owns the metric and they are a
    /// contributor or above.
    pub reportable: bool,
}

/// A partnership's metrics: each with its values and attainment, and the roll-up.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MetricsOverview {
    pub partnership_id: i64,
    /// The effective charter the metrics come from; `None` before one is signed.
    pub charter_version: Option<u32>,
    pub path_start: Option<NaiveDate>,
    pub metrics: Vec<MetricLine>,
    pub rollup: Rollup,
    /// Entries in the ledger and the hash of the last one.
    pub entries: i64,
    pub head: Option<String>,
}

/// What a bulk import appended.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ImportSummary {
    pub imported: usize,
    pub first_seq: i64,
    pub last_seq: i64,
    pub head: String,
}

/// What an import needs to know besides the file.
pub struct ImportContext<'a> {
    /// The metrics of the effective charter.
    pub metrics: &'a [Metric],
    /// The organization importing; it must own every metric it reports.
    pub reporter: OrgId,
    pub today: NaiveDate,
    /// (metric id, period start) that already have a value.
    pub existing: &'a HashSet<(u32, NaiveDate)>,
}

/// The CSV columns of a value import.
pub const IMPORT_COLUMNS: &[&str] = &["metric", "period", "value"];
pub const IMPORT_OPTIONAL: &[&str] = &["note", "source"];

/// Parses a value import: `metric` (the metric's id or its exact name), `period` (see
/// [`parse_period`]), `value`, optional `note` and `source`. The file is checked as a whole and
/// every problem is returned with its line and column; nothing is returned unless every row is good.
pub fn parse_values_csv<R: Read>(
    input: R,
    ctx: &ImportContext<'_>,
) -> Result<Vec<CheckedValue>, Vec<RowError>> {
    let mut rows = CsvRows::new(input, IMPORT_COLUMNS, IMPORT_OPTIONAL)?;
    let by_id: HashMap<u32, &Metric> = ctx
        .metrics
        .iter()
        .filter_map(|m| m.id.map(|id| (id, m)))
        .collect();
    let by_name: BTreeMap<String, &Metric> = ctx
        .metrics
        .iter()
        .map(|m| (m.name.trim().to_lowercase(), m))
        .collect();
    let mut seen: HashMap<(u32, NaiveDate), u64> = HashMap::new();
    let mut out = Vec::new();
    let mut errors: Vec<RowError> = Vec::new();
    let mut count = 0usize;
    const MAX_ERRORS: usize = 1000;
    while let Some(row) = rows.next_row() {
        if errors.len() >= MAX_ERRORS {
            break;
        }
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        count += 1;
        if count > MAX_IMPORT_ROWS {
            errors.push(RowError {
                line: row.line,
                column: "(row)".into(),
                message: format!("the file has more than {MAX_IMPORT_ROWS} rows; split it"),
            });
            break;
        }
        let line = row.line;
        let err = |column: &str, message: String| RowError {
            line,
            column: column.to_string(),
            message,
        };
        let mtext = row.get("metric");
        let metric = if mtext.is_empty() {
            errors.push(err("metric", "must not be empty".into()));
            None
        } else {
            let found = mtext
                .parse::<u32>()
                .ok()
                .and_then(|id| by_id.get(&id).copied())
                .or_else(|| by_name.get(&mtext.to_lowercase()).copied());
            if found.is_none() {
                errors.push(err(
                    "metric",
                    format!(
                        "`{mtext}` is not a metric of the effective charter (give its id or name)"
                    ),
                ));
            }
            found
        };
        let vtext = row.get("value");
        let value = if vtext.is_empty() {
            errors.push(err("value", "must not be empty".into()));
            None
        } else {
            match vtext.parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                Ok(_) => {
                    errors.push(err("value", format!("`{vtext}` is not a finite number")));
                    None
                }
                Err(_) => {
                    errors.push(err("value", format!("`{vtext}` is not a number")));
                    None
                }
            }
        };
        let Some(metric) = metric else { continue };
        if let Err(ve) = check_owner(metric, ctx.reporter) {
            errors.extend(row.field_errors(ve, |_| "metric".into()));
            continue;
        }
        let ptext = row.get("period");
        let start = if ptext.is_empty() {
            errors.push(err("period", "must not be empty".into()));
            continue;
        } else {
            match parse_period(metric.cadence, ptext) {
                Ok(s) => s,
                Err(m) => {
                    errors.push(err("period", m));
                    continue;
                }
            }
        };
        let Some(value) = value else { continue };
        let input = ValueInput {
            period_start: start,
            period_end: None,
            value,
            note: row.get("note").to_string(),
            source: row.get("source").to_string(),
        };
        let checked = match input.validate(metric, ctx.today) {
            Ok(c) => c,
            Err(ve) => {
                errors.extend(row.field_errors(ve, |f| match f {
                    "period_start" | "period_end" => "period".into(),
                    other => other.to_string(),
                }));
                continue;
            }
        };
        let key = (checked.metric_id, checked.period_start);
        if ctx.existing.contains(&key) {
            errors.push(err(
                "period",
                format!(
                    "metric {} already has a value for {}; send a correction of that entry instead",
                    key.0,
                    period_label(metric.cadence, key.1)
                ),
            ));
            continue;
        }
        if let Some(first) = seen.insert(key, line) {
            errors.push(err(
                "period",
                format!(
                    "metric {} has a value for {} on line {first} already",
                    key.0,
                    period_label(metric.cadence, key.1)
                ),
            ));
            continue;
        }
        out.push(checked);
    }
    if count == 0 && errors.is_empty() {
        errors.push(RowError {
            line: 1,
            column: "(file)".into(),
            message: "the file has no rows".into(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The ledger download columns, in order.
pub const EXPORT_COLUMNS: &[&str] = &[
    "seq",
    "partnership_id",
    "metric_id",
    "period_start",
    "period_end",
    "value",
    "note",
    "source",
    "organization_id",
    "reported_by",
    "recorded_at",
    "supersedes",
    "reason",
    "prev_hash",
    "hash",
];

/// Writes entries as CSV with every hashed field, so the chain can be checked from the file.
pub fn write_ledger_csv<'a, W: std::io::Write>(
    out: W,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(EXPORT_COLUMNS)?;
    for e in entries {
        let sup = e.supersedes.map(|s| s.to_string()).unwrap_or_default();
        w.write_record([
            e.seq.to_string().as_str(),
            &e.partnership_id.to_string(),
            &e.metric_id.to_string(),
            &e.period_start.to_string(),
            &e.period_end.to_string(),
            &e.value,
            &e.note,
            &e.source,
            &e.organization_id.to_string(),
            &e.reported_by.to_string(),
            &e.recorded_at,
            &sup,
            &e.reason,
            &e.prev_hash,
            &e.hash,
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Reads a ledger CSV download back (for `concord verify --file` and for tests).
pub fn read_ledger_csv<R: Read>(input: R) -> Result<Vec<Entry>, Vec<RowError>> {
    let mut rows = CsvRows::new(input, EXPORT_COLUMNS, &[])?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    while let Some(row) = rows.next_row() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let line = row.line;
        let mut bad = |column: &str| {
            errors.push(RowError {
                line,
                column: column.into(),
                message: format!("`{}` is not valid here", row.get(column)),
            })
        };
        let int = |c: &str| row.get(c).parse::<i64>().ok();
        let date = |c: &str| NaiveDate::parse_from_str(row.get(c), "%Y-%m-%d").ok();
        let (Some(seq), Some(pid), Some(mid), Some(ps), Some(pe), Some(org), Some(by)) = (
            int("seq"),
            int("partnership_id"),
            row.get("metric_id").parse::<u32>().ok(),
            date("period_start"),
            date("period_end"),
            int("organization_id"),
            int("reported_by"),
        ) else {
            bad("(row)");
            continue;
        };
        let supersedes = match row.get("supersedes") {
            "" => None,
            s => match s.parse() {
                Ok(v) => Some(v),
                Err(_) => {
                    bad("supersedes");
                    continue;
                }
            },
        };
        out.push(Entry {
            seq,
            partnership_id: pid,
            metric_id: mid,
            period_start: ps,
            period_end: pe,
            value: row.get("value").into(),
            note: row.get("note").into(),
            source: row.get("source").into(),
            organization_id: org,
            reported_by: by,
            recorded_at: row.get("recorded_at").into(),
            supersedes,
            reason: row.get("reason").into(),
            prev_hash: row.get("prev_hash").into(),
            hash: row.get("hash").into(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charter::{Direction, MetricCategory};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn metric(cadence: ReportingCadence) -> Metric {
        Metric {
            id: Some(3),
            name: "Screenings".into(),
            category: MetricCategory::Access,
            unit: "patients".into(),
            direction: Direction::Higher,
            baseline: 10.0,
            target: 50.0,
            target_date: d("2027-12-31"),
            cadence,
            owner: OrgId(7),
        }
    }

    fn entry(seq: i64) -> Entry {
        Entry {
            seq,
            partnership_id: 1,
            metric_id: 3,
            period_start: d("2026-01-01"),
            period_end: d("2026-01-31"),
            value: "12.5".into(),
            note: "Ünïcode \"quoted\"\nline".into(),
            source: "EHR".into(),
            organization_id: 7,
            reported_by: 9,
            recorded_at: "2026-02-03T10:00:00.000000Z".into(),
            supersedes: None,
            reason: String::new(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn periods_follow_the_cadence() {
        assert_eq!(
            period_end(ReportingCadence::Monthly, d("2026-02-01")),
            Some(d("2026-02-28"))
        );
        assert_eq!(period_end(ReportingCadence::Monthly, d("2026-02-02")), None);
        assert_eq!(
            period_end(ReportingCadence::Quarterly, d("2026-04-01")),
            Some(d("2026-06-30"))
        );
        assert_eq!(
            period_end(ReportingCadence::Quarterly, d("2026-05-01")),
            None
        );
        assert_eq!(
            period_end(ReportingCadence::Annual, d("2026-01-01")),
            Some(d("2026-12-31"))
        );
        assert_eq!(period_end(ReportingCadence::Annual, d("2026-02-01")), None);
        assert_eq!(
            parse_period(ReportingCadence::Quarterly, "2026-Q3"),
            Ok(d("2026-07-01"))
        );
        assert_eq!(
            parse_period(ReportingCadence::Monthly, "2026-03"),
            Ok(d("2026-03-01"))
        );
        assert_eq!(
            parse_period(ReportingCadence::Annual, "2025"),
            Ok(d("2025-01-01"))
        );
        assert!(parse_period(ReportingCadence::Quarterly, "2026-03").is_err());
        // A label names a period of its own length: it must be the metric's cadence.
        assert!(parse_period(ReportingCadence::Quarterly, "2026-04").is_err());
        assert!(parse_period(ReportingCadence::Monthly, "2026-Q1").is_err());
        assert!(parse_period(ReportingCadence::Monthly, "2026").is_err());
        assert!(parse_period(ReportingCadence::Quarterly, "2026").is_err());
        assert!(parse_period(ReportingCadence::Annual, "2026-01").is_err());
        assert!(parse_period(ReportingCadence::Annual, "2026-Q1").is_err());
        assert_eq!(
            parse_period(ReportingCadence::Quarterly, "2026-04-01"),
            Ok(d("2026-04-01"))
        );
        assert_eq!(
            parse_period(ReportingCadence::Annual, "2026-01-01"),
            Ok(d("2026-01-01"))
        );
        assert!(parse_period(ReportingCadence::Monthly, "2026-13").is_err());
        assert!(parse_period(ReportingCadence::Monthly, "March").is_err());
        assert_eq!(
            period_containing(ReportingCadence::Quarterly, d("2026-08-19")),
            d("2026-07-01")
        );
        assert_eq!(
            period_label(ReportingCadence::Quarterly, d("2026-07-01")),
            "Q3 2026"
        );
    }

    #[test]
    fn values_are_checked() {
        let m = metric(ReportingCadence::Monthly);
        let ok = ValueInput {
            period_start: d("2026-01-01"),
            period_end: None,
            value: -0.0,
            note: String::new(),
            source: String::new(),
        };
        let c = ok.validate(&m, d("2026-03-01")).unwrap();
        assert_eq!(c.period_end, d("2026-01-31"));
        assert_eq!(canonical_value(c.value), "0");
        let bad = ValueInput {
            period_start: d("2026-01-02"),
            value: f64::NAN,
            ..ok.clone()
        };
        let e = bad.validate(&m, d("2026-03-01")).unwrap_err();
        let fields: Vec<_> = e.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["period_start", "value"]);
        let wrong_end = ValueInput {
            period_end: Some(d("2026-01-30")),
            ..ok.clone()
        };
        assert_eq!(
            wrong_end
                .validate(&m, d("2026-03-01"))
                .unwrap_err()
                .errors()[0]
                .field,
            "period_end"
        );
        let future = ValueInput {
            period_start: d("2026-04-01"),
            ..ok
        };
        assert_eq!(
            future.validate(&m, d("2026-03-01")).unwrap_err().errors()[0].code,
            "future_period"
        );
        assert!(check_owner(&m, OrgId(8)).is_err());
    }

    #[test]
    fn canonical_values_round_trip() {
        for v in [0.1, 1e21, 1e-7, -3.25, 42.0, 123456.789] {
            let s = canonical_value(v);
            assert!(!s.contains('e'), "{s}");
            assert_eq!(s.parse::<f64>().unwrap(), v);
        }
    }

    #[test]
    fn canonical_form_is_fixed() {
        let e = entry(1).seal(GENESIS);
        assert_eq!(
            e.canonical(),
            format!(
                "{{\"seq\":1,\"partnership_id\":1,\"metric_id\":3,\"period_start\":\"2026-01-01\",\
                 \"period_end\":\"2026-01-31\",\"value\":\"12.5\",\"note\":\"Ünïcode \\\"quoted\\\"\\nline\",\
                 \"source\":\"EHR\",\"organization_id\":7,\"reported_by\":9,\
                 \"recorded_at\":\"2026-02-03T10:00:00.000000Z\",\"supersedes\":null,\"reason\":\"\",\
                 \"prev_hash\":\"{GENESIS}\"}}"
            )
        );
        assert_eq!(e.hash.len(), 64);
    }

    #[test]
    fn tampering_is_found() {
        let a = entry(1).seal(GENESIS);
        let b = entry(2).seal(&a.hash);
        let c = Entry {
            supersedes: Some(2),
            reason: "typo".into(),
            ..entry(3)
        }
        .seal(&b.hash);
        let chain = vec![a.clone(), b.clone(), c.clone()];
        let v = verify_chain(&chain);
        assert!(v.valid);
        assert_eq!(v.head.as_deref(), Some(c.hash.as_str()));
        assert_eq!(
            current_entries(&chain)
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>(),
            [1, 3]
        );

        let mut changed = chain.clone();
        changed[1].value = "13".into();
        let m = verify_chain(&changed).first_mismatch.unwrap();
        assert_eq!((m.seq, m.code.as_str()), (2, "hash_mismatch"));

        let mut resealed = chain.clone();
        resealed[1].value = "13".into();
        resealed[1] = resealed[1].clone().seal(&a.hash);
        let m = verify_chain(&resealed).first_mismatch.unwrap();
        assert_eq!((m.seq, m.code.as_str()), (3, "prev_hash_mismatch"));

        let removed = vec![a, c];
        let m = verify_chain(&removed).first_mismatch.unwrap();
        assert_eq!((m.seq, m.code.as_str()), (3, "sequence_gap"));
    }

    #[test]
    fn csv_round_trip_verifies() {
        let a = entry(1).seal(GENESIS);
        let b = Entry {
            note: "comma, quote \" and\nnewline".into(),
            ..entry(2)
        }
        .seal(&a.hash);
        let mut buf = Vec::new();
        write_ledger_csv(&mut buf, [&a, &b]).unwrap();
        let back = read_ledger_csv(buf.as_slice()).unwrap();
        assert_eq!(back, vec![a, b]);
        assert!(verify_chain(&back).valid);
    }

    #[test]
    fn import_names_every_bad_row() {
        let metrics = vec![metric(ReportingCadence::Monthly), {
            let mut q = metric(ReportingCadence::Quarterly);
            q.id = Some(4);
            q.name = "Readmissions".into();
            q.owner = OrgId(8);
            q
        }];
        let existing: HashSet<(u32, NaiveDate)> = [(3, d("2026-01-01"))].into_iter().collect();
        let ctx = ImportContext {
            metrics: &metrics,
            reporter: OrgId(7),
            today: d("2026-06-15"),
            existing: &existing,
        };
        let good = "metric,period,value,note\n3,2026-02,12,ok\nScreenings,2026-03,14,\n";
        let rows = parse_values_csv(good.as_bytes(), &ctx).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].period_start, d("2026-03-01"));

        let bad = "metric,period,value\n3,2026-02,12\n3,2026-02,13\n3,2026-01,1\n4,2026-Q1,1\n9,2026-04,1\n3,2026-04,abc\n3,2026-05,inf\n3,2026-04-02,1\n3,2026-09,1\n";
        let errs = parse_values_csv(bad.as_bytes(), &ctx).unwrap_err();
        let got: Vec<(u64, &str)> = errs.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(
            got,
            [
                (3, "period"),
                (4, "period"),
                (5, "metric"),
                (6, "metric"),
                (7, "value"),
                (8, "value"),
                (9, "period"),
                (10, "period")
            ]
        );
        let empty = "metric,period,value\n";
        assert_eq!(
            parse_values_csv(empty.as_bytes(), &ctx).unwrap_err()[0].column,
            "(file)"
        );
        let missing = "metric,value\n3,1\n";
        assert_eq!(
            parse_values_csv(missing.as_bytes(), &ctx).unwrap_err()[0].column,
            "period"
        );
    }
}
