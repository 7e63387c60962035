//! The metric pages: the metrics of the effective charter with their attainment, a chart per
//! metric and a form to report a value; a metric's history with its corrections (and a form to
//! correct the current value of a period); the CSV upload; and the ledger itself with its
//! verification.
//!
//! Every write loads the partnership first (another tenant gets "not found"), refuses viewers
//! (403), turns the form into the domain's input, calls one store method and redirects back to
//! the anchor of what changed. A refusal renders the page again with the typed values and each
//! error next to its input (422 for invalid input, 409 for a conflict such as a period that
//! already has a value).

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Datelike, Months, NaiveDate};
use serde::Deserialize;

use concord_domain::attainment::{Status, Trend};
use concord_domain::charter::{Metric, ReportingCadence};
use concord_domain::csv_io::RowError;
use concord_domain::ledger::{
    canonical_value, parse_period, period_containing, period_label, CorrectionInput, CurrentValue,
    Entry, MetricLine, ValueInput,
};
use concord_domain::paging::Page;
use concord_domain::partnership::Partnership;
use concord_domain::{OrgId, PartnershipId, UserId, ValidationErrors};
use concord_storage::{ImportError, StoreError};

use super::chart::{self, ChartInput, ChartPoint};
use super::journeys::PageIds;
use super::{capitalize, form_errors, human_time, render, see_other, Chrome, Opt, PageError};
use super::{PageId, Pager};
use crate::api::ledger::today;
use crate::auth::{PageAuth, Principal};
use crate::extract::Form;
use crate::AppState;

/// Periods shown in a metric's card (newest first); the history page shows every one.
const RECENT_ROWS: usize = 6;
/// Ledger entries per page.
const LEDGER_PAGE: usize = 100;
/// Characters of a hash shown in tables (the whole hash is in the title).
const HASH_CHARS: usize = 12;
/// The chart's size in SVG user units (it scales down with the page).
const CHART_W: u32 = 640;
const CHART_H: u32 = 260;

const VIEWERS_READ: &str =
    "Viewers read the metrics; contributors, alliance managers and admins report values.";

// ---------------------------------------------------------------- small helpers

fn small_id(n: i64) -> Result<u32, PageError> {
    u32::try_from(n).map_err(|_| PageError::NotFound)
}

/// A value with its unit: "42.5 %", "300 USD", "12".
fn with_unit(value: &str, unit: &str) -> String {
    let unit = unit.trim();
    if unit.is_empty() {
        value.to_string()
    } else {
        format!("{value} {unit}")
    }
}

fn number(v: f64) -> String {
    canonical_value(v)
}

/// A share as a whole percentage: "62 %".
fn percent(share: f64) -> String {
    let p = (share * 100.0).round();
    format!("{} %", if p == 0.0 { 0.0 } else { p })
}

fn opt_percent(share: Option<f64>) -> String {
    share.map(percent).unwrap_or_else(|| "—".into())
}

fn day(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// The first characters of a hash, for tables.
fn short_hash(h: &str) -> String {
    h.chars().take(HASH_CHARS).collect()
}

/// An entry's RFC 3339 `recorded_at` as people read it.
fn recorded(at: &str) -> String {
    DateTime::parse_from_rfc3339(at)
        .map(|t| human_time(t.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| at.to_string())
}

/// The trend in words with its slope: "Improving · +4.2 points of progress a period".
fn trend_text(trend: Trend, slope: Option<f64>) -> String {
    match slope {
        Some(s) => {
            let points = (s * 1000.0).round() / 10.0;
            let points = if points == 0.0 { 0.0 } else { points };
            format!(
                "{} · {points:+.1} points of progress a period",
                trend.label()
            )
        }
        None => trend.label().to_string(),
    }
}

fn period_text(cadence: Option<ReportingCadence>, start: NaiveDate, end: NaiveDate) -> String {
    match cadence {
        Some(c) => period_label(c, start),
        None => format!("{start} – {end}"),
    }
}

/// Names of the parties and their people, for showing ids as words.
struct Names {
    parties: Vec<(OrgId, String)>,
    people: Vec<(OrgId, UserId, String)>,
}

impl Names {
    /// The parties only (no query).
    fn parties(p: &Partnership) -> Names {
        Names {
            parties: p
                .parties
                .iter()
                .map(|x| (x.organization_id, x.organization_name.clone()))
                .collect(),
            people: Vec::new(),
        }
    }

    /// The parties and their people.
    async fn load(s: &AppState, p: &Partnership) -> Result<Names, PageError> {
        Ok(Names {
            people: s.store.people_of_parties(p).await?,
            ..Names::parties(p)
        })
    }

    fn party(&self, id: i64) -> String {
        self.parties
            .iter()
            .find(|(o, _)| o.0 == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("organization {id}"))
    }

    fn person(&self, id: i64) -> String {
        self.people
            .iter()
            .find(|(_, u, _)| u.0 == id)
            .map(|(_, _, n)| n.clone())
            .unwrap_or_else(|| format!("user {id}"))
    }
}

/// The ledger page (newest first, [`LEDGER_PAGE`] a page) that shows entry `seq` of `total`.
fn ledger_href(pid: PartnershipId, total: i64, seq: i64) -> String {
    let page = (total - seq).max(0) / LEDGER_PAGE as i64 + 1;
    if page == 1 {
        format!("/partnerships/{pid}/ledger#entry-{seq}")
    } else {
        format!("/partnerships/{pid}/ledger?page={page}#entry-{seq}")
    }
}

// ---------------------------------------------------------------- form inputs

/// One labelled input; `id` is unique on the page, `name` is what the form posts.
pub struct Input {
    id: String,
    name: &'static str,
    label: &'static str,
    /// `text`, `date` or `textarea`.
    kind: &'static str,
    /// Typed as a decimal number (a text input with a decimal keyboard, so that any precision
    /// and negative values are accepted and checked on the server).
    decimal: bool,
    value: String,
    error: String,
    hint: &'static str,
    required: bool,
    /// `full`, `half` or `third` of the form's grid row.
    width: &'static str,
}

/// A refused form: which one, what was typed and what was wrong.
struct Submitted {
    /// `report-{metric}` or `correct-{seq}`.
    key: String,
    form: Form,
    errors: ValidationErrors,
    /// The period that already has a value, when that was the refusal.
    duplicate: Option<NaiveDate>,
}

impl Submitted {
    /// The message for an input (its field names joined), or "".
    fn error(&self, fields: &[&str]) -> String {
        self.errors
            .errors()
            .iter()
            .filter(|e| fields.contains(&e.field.as_str()))
            .map(|e| capitalize(&e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Messages no input shows.
    fn general(&self, shown: &[&str]) -> Vec<String> {
        self.errors
            .errors()
            .iter()
            .filter(|e| !shown.contains(&e.field.as_str()))
            .map(|e| capitalize(&e.message))
            .collect()
    }
}

/// Builds the inputs of one form: empty, or what was typed when this is the refused form.
struct Fields<'a> {
    prefix: String,
    sub: Option<&'a Submitted>,
}

impl<'a> Fields<'a> {
    fn new(key: &str, prefix: String, sub: Option<&'a Submitted>) -> Self {
        Fields {
            prefix,
            sub: sub.filter(|s| s.key == key),
        }
    }

    fn input(&self, kind: &'static str, name: &'static str, label: &'static str) -> Input {
        Input {
            id: format!("{}-{name}", self.prefix),
            name,
            label,
            kind,
            decimal: false,
            value: self
                .sub
                .map(|s| s.form.get(name).to_string())
                .unwrap_or_default(),
            error: self.sub.map(|s| s.error(&[name])).unwrap_or_default(),
            hint: "",
            required: false,
            width: match kind {
                "textarea" => "full",
                _ => "third",
            },
        }
    }

    fn value(&self, label: &'static str) -> Input {
        Input {
            decimal: true,
            required: true,
            ..self.input("text", "value", label)
        }
    }
}

/// The alert at the top of a page whose form was refused.
struct Refusal {
    anchor: String,
    what: &'static str,
    on_fields: bool,
    messages: Vec<String>,
}

fn refusal_of(sub: &Submitted, anchor: String, what: &'static str, fields: &[&str]) -> Refusal {
    Refusal {
        anchor,
        what,
        on_fields: sub
            .errors
            .errors()
            .iter()
            .any(|e| fields.contains(&e.field.as_str())),
        messages: sub
            .errors
            .errors()
            .iter()
            .map(|e| match field_label(&e.field) {
                Some(label) => format!("{label}: {}", e.message),
                None => capitalize(&e.message),
            })
            .collect(),
    }
}

/// How a form field is named in the summary of a refusal.
fn field_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "period_start" | "period_end" => "Period",
        "value" => "Value",
        "reason" => "Reason",
        "note" => "Note",
        "source" => "Source",
        _ => return None,
    })
}

/// Loads the partnership for a write: not found for another tenant, refused for a viewer.
async fn writable(s: &AppState, who: &Principal, id: PartnershipId) -> Result<(), PageError> {
    s.store.get_partnership(&who.actor(), id).await?;
    if !who.acting.role.can_contribute() {
        return Err(PageError::Refused(
            StatusCode::FORBIDDEN,
            VIEWERS_READ.into(),
        ));
    }
    Ok(())
}

/// Status and errors for a store refusal of a form; other errors become an error page.
fn refused(e: StoreError) -> Result<(StatusCode, ValidationErrors), PageError> {
    let status = match &e {
        StoreError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::CONFLICT,
    };
    Ok((status, form_errors(e)?))
}

/// A decimal number typed into a form, or the error for `field`.
fn parse_number(errors: &mut ValidationErrors, field: &str, text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        errors.add(field, "required", "enter a number");
        return None;
    }
    match t.parse::<f64>() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.add(
                field,
                "not_a_number",
                format!("`{t}` is not a number (use a dot for decimals, e.g. 42.5)"),
            );
            None
        }
    }
}

/// Adds the domain's errors for fields that were read (`skip` lists those already in error).
fn merge(errors: &mut ValidationErrors, domain: Result<(), ValidationErrors>, skip: &[&str]) {
    if let Err(v) = domain {
        for e in v.into_errors() {
            if !skip.contains(&e.field.as_str()) {
                errors.add(e.field, e.code, e.message);
            }
        }
    }
}

// ---------------------------------------------------------------- the metrics page

pub struct CategoryView {
    label: &'static str,
    weight: String,
    metrics: usize,
    with_data: usize,
    attainment: String,
}

pub struct ValueRow {
    seq: i64,
    period: String,
    value: String,
    corrected: bool,
    note: String,
    ledger: String,
}

pub struct ReportForm {
    /// Recent periods that have no value yet, newest first.
    periods: Vec<Opt>,
    period_start: String,
    period_error: String,
    /// The entry that already holds the period, when that was the refusal.
    duplicate_seq: Option<i64>,
    fields: Vec<Input>,
    general: Vec<String>,
    cadence_hint: String,
}

pub struct MetricCard {
    id: u32,
    name: String,
    category: &'static str,
    unit: String,
    direction: &'static str,
    baseline: String,
    target: String,
    target_date: String,
    cadence: &'static str,
    owner: String,
    status: Status,
    attainment: String,
    expected: String,
    trend: String,
    latest: String,
    periods_reported: usize,
    off_track_streak: usize,
    chart: String,
    recent: Vec<ValueRow>,
    form: Option<ReportForm>,
}

pub struct ImportRow {
    line: u64,
    column: String,
    message: String,
}

pub struct ImportView {
    /// Metrics the acting organization reports: id, name, cadence.
    owned: Vec<(u32, String, String)>,
    /// An example row for the first of them.
    example: String,
    rows: Vec<ImportRow>,
    general: String,
    action: String,
}

/// What a refused upload said.
struct ImportFailure {
    rows: Vec<RowError>,
    general: String,
}

#[derive(Template)]
#[template(path = "metrics.html")]
struct MetricsPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    charter_version: Option<u32>,
    path_start: String,
    overall: String,
    categories: Vec<CategoryView>,
    on_track: usize,
    at_risk: usize,
    off_track: usize,
    no_data: usize,
    entries: i64,
    cards: Vec<MetricCard>,
    can_write: bool,
    archived: bool,
    import: Option<ImportView>,
    import_failed: bool,
    import_message: String,
    notice: String,
    refusal: Option<Refusal>,
}

#[derive(Deserialize, Default)]
pub struct MetricsParams {
    reported: Option<String>,
    imported: Option<String>,
    first: Option<String>,
    last: Option<String>,
}

/// Recent periods of `cadence` up to the one containing `today` that have no value, newest first.
fn open_periods(
    cadence: ReportingCadence,
    values: &[CurrentValue],
    today: NaiveDate,
) -> Vec<NaiveDate> {
    let taken: HashSet<NaiveDate> = values.iter().map(|v| v.period_start).collect();
    let (step, count) = match cadence {
        ReportingCadence::Monthly => (1, 12),
        ReportingCadence::Quarterly => (3, 8),
        ReportingCadence::Annual => (12, 5),
    };
    let mut out = Vec::new();
    let mut start = Some(period_containing(cadence, today));
    for _ in 0..count {
        let Some(d) = start else { break };
        if !taken.contains(&d) {
            out.push(d);
        }
        start = d.checked_sub_months(Months::new(step));
    }
    out
}

/// A period as the CSV import writes it: `2026-03`, `2026-Q1` or `2026`.
fn csv_period(c: ReportingCadence, start: NaiveDate) -> String {
    match c {
        ReportingCadence::Monthly => start.format("%Y-%m").to_string(),
        ReportingCadence::Quarterly => {
            format!("{}-Q{}", start.format("%Y"), (start.month() - 1) / 3 + 1)
        }
        ReportingCadence::Annual => start.format("%Y").to_string(),
    }
}

fn cadence_hint(c: ReportingCadence) -> &'static str {
    match c {
        ReportingCadence::Monthly => "A month: its first day, e.g. 2026-03-01.",
        ReportingCadence::Quarterly => {
            "A calendar quarter: its first day (1 Jan, 1 Apr, 1 Jul or 1 Oct), e.g. 2026-04-01."
        }
        ReportingCadence::Annual => "A year: 1 January, e.g. 2026-01-01.",
    }
}

fn report_form(line: &MetricLine, id: u32, sub: Option<&Submitted>) -> ReportForm {
    let m = &line.metric;
    let key = format!("report-{id}");
    let f = Fields::new(&key, format!("m{id}"), sub);
    let typed_period = f.sub.map(|s| s.form.get("period").to_string());
    let periods = open_periods(m.cadence, &line.values, today())
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let v = d.to_string();
            let selected = match &typed_period {
                Some(t) => *t == v,
                None => i == 0,
            };
            Opt::new(v, period_label(m.cadence, d), selected)
        })
        .collect();
    let duplicate_seq = f.sub.and_then(|s| s.duplicate).and_then(|d| {
        line.values
            .iter()
            .find(|v| v.period_start == d)
            .map(|v| v.seq)
    });
    let mut value = f.value(if m.unit.trim().is_empty() {
        "Value"
    } else {
        "Value (in the metric's unit)"
    });
    value.hint = "A number; use a dot for decimals.";
    let mut source = f.input("text", "source", "Source");
    source.hint = "Where the number comes from: a report, a query, a system.";
    source.width = "half";
    let note = f.input("textarea", "note", "Note");
    ReportForm {
        periods,
        period_start: f
            .sub
            .map(|s| s.form.get("period_start").to_string())
            .unwrap_or_default(),
        period_error: f
            .sub
            .map(|s| s.error(&["period_start", "period_end"]))
            .unwrap_or_default(),
        duplicate_seq,
        fields: vec![value, source, note],
        general: f
            .sub
            .map(|s| s.general(&["period_start", "period_end", "value", "note", "source"]))
            .unwrap_or_default(),
        cadence_hint: cadence_hint(m.cadence).to_string(),
    }
}

fn metric_card(
    pid: PartnershipId,
    line: &MetricLine,
    entries: i64,
    names: &Names,
    can_write: bool,
    sub: Option<&Submitted>,
) -> MetricCard {
    let m = &line.metric;
    let a = &line.attainment;
    let id = m.id.unwrap_or(0);
    let points: Vec<ChartPoint> = line
        .values
        .iter()
        .map(|v| ChartPoint {
            at: v.period_end,
            value: v.value,
            label: format!(
                "{}: {}{}",
                period_label(m.cadence, v.period_start),
                with_unit(&number(v.value), &m.unit),
                if v.corrected { " (corrected)" } else { "" }
            ),
            corrected: v.corrected,
        })
        .collect();
    let chart = chart::render(&ChartInput {
        title: &m.name,
        unit: &m.unit,
        baseline: m.baseline,
        target: m.target,
        path_start: a.start,
        target_date: m.target_date,
        points: &points,
        width: CHART_W,
        height: CHART_H,
    });
    let recent = line
        .values
        .iter()
        .rev()
        .take(RECENT_ROWS)
        .map(|v| ValueRow {
            seq: v.seq,
            period: period_label(m.cadence, v.period_start),
            value: with_unit(&number(v.value), &m.unit),
            corrected: v.corrected,
            note: v.note.clone(),
            ledger: ledger_href(pid, entries, v.seq),
        })
        .collect();
    let latest = a
        .latest
        .as_ref()
        .map(|p| {
            format!(
                "{}: {}",
                period_label(m.cadence, p.period_start),
                with_unit(&number(p.value), &m.unit)
            )
        })
        .unwrap_or_else(|| "No value yet".into());
    MetricCard {
        id,
        name: m.name.clone(),
        category: m.category.label(),
        unit: m.unit.clone(),
        direction: m.direction.label(),
        baseline: with_unit(&number(m.baseline), &m.unit),
        target: with_unit(&number(m.target), &m.unit),
        target_date: day(m.target_date),
        cadence: m.cadence.label(),
        owner: names.party(m.owner.0),
        status: a.status,
        attainment: opt_percent(a.attainment),
        expected: opt_percent(a.expected),
        trend: trend_text(a.trend, a.trend_per_period),
        latest,
        periods_reported: a.periods_reported,
        off_track_streak: a.off_track_streak,
        chart,
        recent,
        form: (can_write && line.reportable).then(|| report_form(line, id, sub)),
    }
}

#[allow(clippy::too_many_arguments)]
async fn metrics_page(
    s: &AppState,
    who: &Principal,
    pid: PartnershipId,
    sub: Option<Submitted>,
    failure: Option<ImportFailure>,
    status: StatusCode,
    notice: String,
) -> Result<Response, PageError> {
    let (p, o) = s.store.metrics_overview(&who.actor(), pid).await?;
    let names = Names::parties(&p);
    let archived = p.archived_at.is_some();
    let can_write = who.acting.role.can_contribute() && !archived;
    let path_start = o.path_start.unwrap_or_else(today);
    let cards = o
        .metrics
        .iter()
        .map(|l| metric_card(pid, l, o.entries, &names, can_write, sub.as_ref()))
        .collect();
    let categories = o
        .rollup
        .categories
        .iter()
        .map(|c| CategoryView {
            label: c.category.label(),
            weight: number(c.weight),
            metrics: c.metrics,
            with_data: c.with_data,
            attainment: opt_percent(c.attainment),
        })
        .collect();
    let owned: Vec<(u32, String, String)> = o
        .metrics
        .iter()
        .filter(|l| l.reportable)
        .map(|l| {
            (
                l.metric.id.unwrap_or(0),
                l.metric.name.clone(),
                l.metric.cadence.label().to_lowercase(),
            )
        })
        .collect();
    let import_failed = failure.is_some();
    // Why the upload was refused when it was not about its rows (no charter, archived, too large).
    let import_message = failure
        .as_ref()
        .map(|f| f.general.clone())
        .unwrap_or_default();
    let import = (can_write && o.charter_version.is_some()).then(|| {
        let (rows, general) = match failure {
            Some(f) => (
                f.rows
                    .into_iter()
                    .map(|r| ImportRow {
                        line: r.line,
                        column: r.column,
                        message: capitalize(&r.message),
                    })
                    .collect(),
                f.general,
            ),
            None => (Vec::new(), String::new()),
        };
        let example = o
            .metrics
            .iter()
            .find(|l| l.reportable)
            .map(|l| {
                let m = &l.metric;
                let period = csv_period(m.cadence, period_containing(m.cadence, today()));
                format!(
                    "{},{period},{},,Operations report",
                    m.id.unwrap_or(0),
                    number(m.baseline)
                )
            })
            .unwrap_or_default();
        ImportView {
            owned,
            example,
            rows,
            general,
            action: format!(
                "/partnerships/{pid}/metrics/import?csrf={}",
                form_urlencoded::byte_serialize(who.csrf().as_bytes()).collect::<String>()
            ),
        }
    });
    let refusal = sub.as_ref().map(|x| {
        let anchor = x.key.replacen("report-", "metric-", 1);
        refusal_of(
            x,
            anchor,
            "The value was not recorded",
            &["period_start", "period_end", "value", "note", "source"],
        )
    });
    render(
        status,
        &MetricsPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            charter_version: o.charter_version,
            path_start: day(path_start),
            overall: opt_percent(o.rollup.overall),
            categories,
            on_track: o.rollup.on_track,
            at_risk: o.rollup.at_risk,
            off_track: o.rollup.off_track,
            no_data: o.rollup.no_data,
            entries: o.entries,
            cards,
            can_write,
            archived,
            import,
            import_failed,
            import_message,
            notice,
            refusal,
            p,
        },
    )
}

fn positive(v: &Option<String>) -> Option<i64> {
    v.as_deref()
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|n| *n > 0)
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    Query(q): Query<MetricsParams>,
) -> Result<Response, PageError> {
    let notice = if let Some(seq) = positive(&q.reported) {
        format!("Value recorded in the ledger as entry {seq}.")
    } else if let (Some(n), Some(a), Some(b)) =
        (positive(&q.imported), positive(&q.first), positive(&q.last))
    {
        format!(
            "{n} value{} imported, entries {a}–{b}.",
            if n == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    };
    metrics_page(
        &s,
        &who,
        PartnershipId(id),
        None,
        None,
        StatusCode::OK,
        notice,
    )
    .await
}

/// `POST /partnerships/{id}/metrics/{metric}/values`: reports a value for a period.
pub async fn report(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, metric): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let pid = PartnershipId(id);
    let metric = small_id(metric)?;
    writable(&s, &who, pid).await?;
    let key = format!("report-{metric}");
    let today = today();
    let charter = s.store.effective_charter(pid).await?;
    let Some(charter) = charter else {
        let errors = ValidationErrors::single(
            "metric_id",
            "no_effective_charter",
            "the partnership has no effective charter yet; its metrics are defined there",
        );
        let sub = Submitted {
            key,
            form,
            errors,
            duplicate: None,
        };
        return metrics_page(
            &s,
            &who,
            pid,
            Some(sub),
            None,
            StatusCode::CONFLICT,
            String::new(),
        )
        .await;
    };
    let m: Metric = charter.metric(metric).cloned().ok_or(PageError::NotFound)?;

    // Read the form; anything unreadable is named, with the domain's view of the rest.
    let mut errors = ValidationErrors::new();
    let typed = form.get("period_start").trim();
    let period_text = if typed.is_empty() {
        form.get("period").trim()
    } else {
        typed
    };
    let period_start = if period_text.is_empty() {
        errors.add(
            "period_start",
            "required",
            "choose a period, or type the first day of one",
        );
        None
    } else {
        match parse_period(m.cadence, period_text) {
            Ok(d) => Some(d),
            Err(msg) => {
                errors.add("period_start", "invalid_period", msg);
                None
            }
        }
    };
    let value = parse_number(&mut errors, "value", form.get("value"));
    let input = ValueInput {
        period_start: period_start.unwrap_or_else(|| period_containing(m.cadence, today)),
        period_end: None,
        value: value.unwrap_or(0.0),
        note: form.get("note").to_string(),
        source: form.get("source").to_string(),
    };
    if !errors.is_empty() {
        let read: Vec<String> = errors.errors().iter().map(|e| e.field.clone()).collect();
        let skip: Vec<&str> = read.iter().map(String::as_str).collect();
        merge(&mut errors, input.validate(&m, today).map(|_| ()), &skip);
        let sub = Submitted {
            key,
            form,
            errors,
            duplicate: None,
        };
        return metrics_page(
            &s,
            &who,
            pid,
            Some(sub),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
        )
        .await;
    }
    match s
        .store
        .report_value(&who.actor(), pid, metric, &input, today)
        .await
    {
        Ok(e) => Ok(see_other(&format!(
            "/partnerships/{pid}/metrics?reported={}#metric-{metric}",
            e.seq
        ))),
        Err(e) => {
            let duplicate = matches!(
                &e,
                StoreError::Refused {
                    code: "duplicate_period",
                    ..
                }
            )
            .then_some(input.period_start);
            let (status, errors) = refused(e)?;
            let sub = Submitted {
                key,
                form,
                errors,
                duplicate,
            };
            metrics_page(&s, &who, pid, Some(sub), None, status, String::new()).await
        }
    }
}

/// Reads the uploaded file of the import form.
async fn uploaded_file(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<axum::body::Bytes, (StatusCode, String)> {
    let mut mp = multipart.map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            "Send the file with the upload form (as multipart/form-data).".to_string(),
        )
    })?;
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            (
                status,
                format!(
                    "The file is larger than {} MiB; split it into smaller files.",
                    crate::api::ledger::MAX_CSV_BYTES / (1024 * 1024)
                ),
            )
        } else {
            (
                StatusCode::BAD_REQUEST,
                "The upload could not be read; choose the file and send it again.".to_string(),
            )
        }
    };
    loop {
        match mp.next_field().await.map_err(unreadable)? {
            Some(field) if field.name() == Some("file") => {
                let bytes = field.bytes().await.map_err(unreadable)?;
                if bytes.is_empty() {
                    break;
                }
                return Ok(bytes);
            }
            Some(_) => continue,
            None => break,
        }
    }
    Err((
        StatusCode::UNPROCESSABLE_ENTITY,
        "Choose a CSV file to import.".to_string(),
    ))
}

/// `POST /partnerships/{id}/metrics/import` (multipart, CSRF token in the query string):
/// imports values from a CSV file, all or nothing.
pub async fn import(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let pid = PartnershipId(id);
    writable(&s, &who, pid).await?;
    let failed = |status: StatusCode, rows: Vec<RowError>, general: String| {
        let s = s.clone();
        let who = who.clone();
        async move {
            metrics_page(
                &s,
                &who,
                pid,
                None,
                Some(ImportFailure { rows, general }),
                status,
                String::new(),
            )
            .await
        }
    };
    let bytes = match uploaded_file(multipart).await {
        Ok(b) => b,
        Err((status, message)) => return failed(status, Vec::new(), message).await,
    };
    match s
        .store
        .import_values(&who.actor(), pid, &bytes, today())
        .await
    {
        Ok(sum) => Ok(see_other(&format!(
            "/partnerships/{pid}/metrics?imported={}&first={}&last={}#import",
            sum.imported, sum.first_seq, sum.last_seq
        ))),
        Err(ImportError::Rows(rows)) => {
            failed(StatusCode::UNPROCESSABLE_ENTITY, rows, String::new()).await
        }
        Err(ImportError::Store(e)) => {
            let (status, errors) = refused(e)?;
            let general = errors
                .errors()
                .iter()
                .map(|e| capitalize(&e.message))
                .collect::<Vec<_>>()
                .join(" ");
            failed(status, Vec::new(), general).await
        }
    }
}

// ---------------------------------------------------------------- a metric's history

pub struct CorrectionForm {
    fields: Vec<Input>,
    general: Vec<String>,
    open: bool,
}

pub struct HistoryRow {
    seq: i64,
    period: String,
    value: String,
    note: String,
    source: String,
    reporter_org: String,
    reporter: String,
    recorded: String,
    supersedes: Option<i64>,
    reason: String,
    superseded_by: Option<i64>,
    hash: String,
    hash_short: String,
    ledger: String,
    form: Option<CorrectionForm>,
}

#[derive(Template)]
#[template(path = "metric_history.html")]
struct HistoryPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    metric_id: u32,
    name: String,
    in_charter: bool,
    charter_version: Option<u32>,
    facts: Vec<(&'static str, String)>,
    status: Option<Status>,
    attainment: String,
    rows: Vec<HistoryRow>,
    current: usize,
    corrections: usize,
    can_correct: bool,
    notice: String,
    refusal: Option<Refusal>,
}

#[derive(Deserialize, Default)]
pub struct HistoryParams {
    corrected: Option<String>,
}

fn correction_form(seq: i64, sub: Option<&Submitted>) -> CorrectionForm {
    let key = format!("correct-{seq}");
    let f = Fields::new(&key, format!("c{seq}"), sub);
    let value = f.value("Corrected value");
    let mut reason = f.input("textarea", "reason", "Reason for the correction");
    reason.required = true;
    reason.hint = "Why the earlier value was wrong; both parties see it in the ledger.";
    let mut note = f.input("text", "note", "Note");
    note.width = "half";
    let mut source = f.input("text", "source", "Source");
    source.width = "third";
    CorrectionForm {
        open: f.sub.is_some(),
        general: f
            .sub
            .map(|s| s.general(&["value", "reason", "note", "source"]))
            .unwrap_or_default(),
        fields: vec![value, source, reason, note],
    }
}

async fn history_page(
    s: &AppState,
    who: &Principal,
    pid: PartnershipId,
    metric: u32,
    sub: Option<Submitted>,
    status: StatusCode,
    notice: String,
) -> Result<Response, PageError> {
    let actor = who.actor();
    let (p, o) = s.store.metrics_overview(&actor, pid).await?;
    let entries = s.store.ledger_entries(&actor, pid, Some(metric)).await?;
    let line = o.metrics.iter().find(|l| l.metric.id == Some(metric));
    if line.is_none() && entries.is_empty() {
        return Err(PageError::NotFound);
    }
    let names = Names::load(s, &p).await?;
    let archived = p.archived_at.is_some();
    let can_correct =
        who.acting.role.can_contribute() && !archived && line.is_some_and(|l| l.reportable);
    let cadence = line.map(|l| l.metric.cadence);
    let unit = line.map(|l| l.metric.unit.clone()).unwrap_or_default();
    let superseded_by: HashMap<i64, i64> = entries
        .iter()
        .filter_map(|e| e.supersedes.map(|s| (s, e.seq)))
        .collect();
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| b.period_start.cmp(&a.period_start).then(b.seq.cmp(&a.seq)));
    let rows: Vec<HistoryRow> = sorted
        .into_iter()
        .map(|e| {
            let by = superseded_by.get(&e.seq).copied();
            HistoryRow {
                seq: e.seq,
                period: period_text(cadence, e.period_start, e.period_end),
                value: with_unit(&e.value, &unit),
                note: e.note.clone(),
                source: e.source.clone(),
                reporter_org: names.party(e.organization_id),
                reporter: names.person(e.reported_by),
                recorded: recorded(&e.recorded_at),
                supersedes: e.supersedes,
                reason: e.reason.clone(),
                superseded_by: by,
                hash_short: short_hash(&e.hash),
                hash: e.hash.clone(),
                ledger: ledger_href(pid, o.entries, e.seq),
                form: (can_correct && by.is_none()).then(|| correction_form(e.seq, sub.as_ref())),
            }
        })
        .collect();
    let facts = match line {
        Some(l) => {
            let m = &l.metric;
            vec![
                ("Category", m.category.label().to_string()),
                (
                    "Unit",
                    if m.unit.is_empty() {
                        "—".into()
                    } else {
                        m.unit.clone()
                    },
                ),
                ("Direction", m.direction.label().to_string()),
                (
                    "Baseline → target",
                    format!(
                        "{} → {} by {}",
                        with_unit(&number(m.baseline), &m.unit),
                        with_unit(&number(m.target), &m.unit),
                        day(m.target_date)
                    ),
                ),
                (
                    "Reported",
                    format!("{} by {}", m.cadence.label(), names.party(m.owner.0)),
                ),
                (
                    "Trend",
                    trend_text(l.attainment.trend, l.attainment.trend_per_period),
                ),
            ]
        }
        None => Vec::new(),
    };
    let name = line
        .map(|l| l.metric.name.clone())
        .unwrap_or_else(|| format!("Metric {metric}"));
    let refusal = sub.as_ref().map(|x| {
        refusal_of(
            x,
            x.key.clone(),
            "The correction was not recorded",
            &["value", "reason", "note", "source"],
        )
    });
    render(
        status,
        &HistoryPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            metric_id: metric,
            name,
            in_charter: line.is_some(),
            charter_version: o.charter_version,
            facts,
            status: line.map(|l| l.attainment.status),
            attainment: opt_percent(line.and_then(|l| l.attainment.attainment)),
            current: rows.iter().filter(|r| r.superseded_by.is_none()).count(),
            corrections: rows.iter().filter(|r| r.supersedes.is_some()).count(),
            rows,
            can_correct,
            notice,
            refusal,
            p,
        },
    )
}

pub async fn history(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, metric): PageIds,
    Query(q): Query<HistoryParams>,
) -> Result<Response, PageError> {
    let notice = positive(&q.corrected)
        .map(|seq| format!("Correction recorded in the ledger as entry {seq}."))
        .unwrap_or_default();
    history_page(
        &s,
        &who,
        PartnershipId(id),
        small_id(metric)?,
        None,
        StatusCode::OK,
        notice,
    )
    .await
}

/// `POST /partnerships/{id}/ledger/{seq}/corrections`: corrects the current value of a period.
pub async fn correct(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, seq): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let pid = PartnershipId(id);
    writable(&s, &who, pid).await?;
    let entry = s.store.ledger_entry(&who.actor(), pid, seq).await?;
    let key = format!("correct-{seq}");
    let mut errors = ValidationErrors::new();
    let value = parse_number(&mut errors, "value", form.get("value"));
    let input = CorrectionInput {
        value: value.unwrap_or(0.0),
        reason: form.get("reason").to_string(),
        note: form.get("note").to_string(),
        source: form.get("source").to_string(),
    };
    if !errors.is_empty() {
        merge(&mut errors, input.validate().map(|_| ()), &["value"]);
        let sub = Submitted {
            key,
            form,
            errors,
            duplicate: None,
        };
        return history_page(
            &s,
            &who,
            pid,
            entry.metric_id,
            Some(sub),
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
        )
        .await;
    }
    match s.store.correct_entry(&who.actor(), pid, seq, &input).await {
        Ok(e) => Ok(see_other(&format!(
            "/partnerships/{pid}/metrics/{}?corrected={}#entry-{}",
            e.metric_id, e.seq, e.seq
        ))),
        Err(e) => {
            let (status, errors) = refused(e)?;
            let sub = Submitted {
                key,
                form,
                errors,
                duplicate: None,
            };
            history_page(
                &s,
                &who,
                pid,
                entry.metric_id,
                Some(sub),
                status,
                String::new(),
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- the ledger

pub struct LedgerRow {
    seq: i64,
    metric_id: u32,
    metric: String,
    period: String,
    value: String,
    reporter_org: String,
    reporter: String,
    recorded: String,
    supersedes: Option<i64>,
    reason: String,
    hash: String,
    hash_short: String,
}

pub struct MismatchView {
    seq: i64,
    code: String,
    message: String,
    expected: String,
    found: String,
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    valid: bool,
    checked: u64,
    head: String,
    mismatch: Option<MismatchView>,
    rows: Vec<LedgerRow>,
    pager: Pager,
}

#[derive(Deserialize, Default)]
pub struct LedgerParams {
    page: Option<String>,
}

pub async fn ledger(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    Query(q): Query<LedgerParams>,
) -> Result<Response, PageError> {
    let pid = PartnershipId(id);
    let actor = who.actor();
    let p = s.store.get_partnership(&actor, pid).await?;
    let verification = s.store.verify_ledger(&actor, pid).await?;
    let entries = s.store.ledger_entries(&actor, pid, None).await?;
    let charter = s.store.effective_charter(pid).await?;
    let names = Names::load(&s, &p).await?;
    let metric_of = |id: u32| charter.as_ref().and_then(|c| c.metric(id));
    let page = q
        .page
        .as_deref()
        .and_then(|t| t.trim().parse::<u32>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1);
    let rows = entries
        .iter()
        .rev()
        .skip((page as usize - 1).saturating_mul(LEDGER_PAGE))
        .take(LEDGER_PAGE)
        .map(|e| {
            let m = metric_of(e.metric_id);
            LedgerRow {
                seq: e.seq,
                metric_id: e.metric_id,
                metric: m
                    .map(|m| m.name.clone())
                    .unwrap_or_else(|| format!("Metric {}", e.metric_id)),
                period: period_text(m.map(|m| m.cadence), e.period_start, e.period_end),
                value: with_unit(&e.value, m.map(|m| m.unit.as_str()).unwrap_or("")),
                reporter_org: names.party(e.organization_id),
                reporter: names.person(e.reported_by),
                recorded: recorded(&e.recorded_at),
                supersedes: e.supersedes,
                reason: e.reason.clone(),
                hash_short: short_hash(&e.hash),
                hash: e.hash.clone(),
            }
        })
        .collect();
    let listed: Page<()> = Page {
        items: Vec::new(),
        page,
        per_page: LEDGER_PAGE as u32,
        total: entries.len() as u64,
    };
    let pager = Pager::new(&listed, &format!("/partnerships/{pid}/ledger"), &[]);
    let mismatch = verification.first_mismatch.map(|m| MismatchView {
        seq: m.seq,
        code: m.code,
        message: capitalize(&m.message),
        expected: m.expected,
        found: m.found,
    });
    render(
        StatusCode::OK,
        &LedgerPage {
            active: "partnerships",
            chrome: Chrome::load(&s, &who).await?,
            valid: verification.valid,
            checked: verification.entries,
            head: verification.head.unwrap_or_default(),
            mismatch,
            rows,
            pager,
            p,
        },
    )
}

// ---------------------------------------------------------------- the partnership page's card

/// The metrics in one line for the partnership page.
pub struct MetricsSummary {
    pub has_charter: bool,
    pub metrics: usize,
    pub overall: String,
    pub on_track: usize,
    pub at_risk: usize,
    pub off_track: usize,
    pub no_data: usize,
    pub entries: i64,
}

/// The roll-up of `p`'s metrics; `p` must have been read through a scoped method.
pub(super) async fn summary(
    s: &AppState,
    p: &Partnership,
    who: &Principal,
) -> Result<MetricsSummary, PageError> {
    let o = s.store.metrics_of(p, &who.actor()).await?;
    Ok(MetricsSummary {
        has_charter: o.charter_version.is_some(),
        metrics: o.metrics.len(),
        overall: opt_percent(o.rollup.overall),
        on_track: o.rollup.on_track,
        at_risk: o.rollup.at_risk,
        off_track: o.rollup.off_track,
        no_data: o.rollup.no_data,
        entries: o.entries,
    })
}
