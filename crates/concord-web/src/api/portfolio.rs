//! The portfolio dashboard's data (issue 6): every partnership of the acting organization with
//! its health, filtered and sorted by query parameters; the JSON endpoint
//! `GET /api/v1/portfolio`. The home page and `/portfolio.csv` (`pages/portfolio.rs`) use the
//! same rows, filters and summaries.
//!
//! **Speed.** Assembling the rows reads every partnership, its parties and its health figures
//! (1,000 partnerships, 1.2 million metric entries behind them). The assembled rows are kept in
//! memory per organization ([`PortfolioMemo`]) under the portfolio's fingerprint
//! ([`concord_storage::Store::portfolio_fingerprint`]: the health versions the triggers bump in
//! every write's own transaction, partner organizations' last change, the weights) and the day.
//! A request reads the fingerprint (one indexed query), and only when it differs assembles the
//! rows again, so a new value shows at once and an unchanged portfolio costs filtering, sorting
//! and rendering in memory.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::Json;
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use concord_domain::health::score::PortfolioHealth;
use concord_domain::partnership::{Partnership, PartnershipType, Stage};
use concord_domain::verdict::VerdictKind;
use concord_domain::ValidationErrors;
use concord_storage::{Actor, StoreError};

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::AppState;

/// Rows per page on the dashboard (the JSON and CSV answer every matching row).
pub const PAGE_SIZE: usize = 50;

/// One point of a health sparkline.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SparkPoint {
    pub on: NaiveDate,
    pub score: f64,
}

/// One partnership on the portfolio dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PortfolioRow {
    pub id: i64,
    pub name: String,
    /// The name in lower case, for search and order.
    #[serde(skip)]
    pub name_key: String,
    /// The other parties' names, in the partnership's order.
    pub partners: Vec<String>,
    #[serde(rename = "type")]
    pub partnership_type: PartnershipType,
    pub stage: Stage,
    pub archived: bool,
    /// The verdict on the effective charter (none without one).
    pub verdict: Option<VerdictKind>,
    /// 0–100 with the organization's weights; none when nothing can be scored yet.
    pub health_score: Option<f64>,
    /// Change of the score over 30 days, in points.
    pub trend_30d: Option<f64>,
    /// At most 12 points, oldest first.
    pub sparkline: Vec<SparkPoint>,
    /// Early warnings not yet acknowledged.
    pub warnings: u32,
    pub next_review: Option<NaiveDate>,
    /// The next review date has passed.
    pub review_overdue: bool,
}

/// Health by partnership type: the mean score with its range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TypeSummary {
    #[serde(rename = "type")]
    pub partnership_type: PartnershipType,
    /// Partnerships of this type among the rows.
    pub count: u32,
    /// Of which with a health score.
    pub scored: u32,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Totals over the matching rows.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PortfolioTotals {
    pub partnerships: u32,
    /// Active or under review.
    pub active: u32,
    /// With at least one unacknowledged warning.
    pub with_warnings: u32,
    /// With a review date that has passed.
    pub reviews_overdue: u32,
    /// Mean health score of the scored rows.
    pub average_health: Option<f64>,
    /// Partnerships per stage, in lifecycle order.
    pub by_stage: Vec<StageCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StageCount {
    pub stage: Stage,
    pub count: u32,
}

/// The portfolio: every matching row (sorted), totals and health by type.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Portfolio {
    pub total: u32,
    pub totals: PortfolioTotals,
    pub by_type: Vec<TypeSummary>,
    pub rows: Vec<PortfolioRow>,
}

/// Filters and order of the portfolio (the same on the page, the CSV and the API).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PortfolioParams {
    /// Only this partnership type (`wholesale`, `vertically_adjacent`, …).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub partnership_type: Option<String>,
    /// Only this stage.
    pub stage: Option<String>,
    /// Only this verdict: `strategic`, `partly_strategic`, `transactional`, or `none` (no
    /// effective charter).
    pub verdict: Option<String>,
    /// `true`: only partnerships with unacknowledged warnings.
    pub warnings: Option<String>,
    /// Case-insensitive text in the name.
    pub q: Option<String>,
    /// `true`: include archived partnerships.
    pub archived: Option<String>,
    /// Order: `name`, `health` (default), `trend`, `warnings`, `next_review`, `stage`, `type`.
    pub sort: Option<String>,
    /// `asc` or `desc` (default: `asc`, but `desc` for warnings). Rows without a value (no score,
    /// no review date) come last either way.
    pub dir: Option<String>,
    /// Page of the dashboard (50 rows); ignored by the API and the CSV.
    pub page: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    Name,
    #[default]
    Health,
    Trend,
    Warnings,
    NextReview,
    Stage,
    Type,
}

impl SortKey {
    pub const ALL: [SortKey; 7] = [
        SortKey::Name,
        SortKey::Health,
        SortKey::Trend,
        SortKey::Warnings,
        SortKey::NextReview,
        SortKey::Stage,
        SortKey::Type,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Health => "health",
            SortKey::Trend => "trend",
            SortKey::Warnings => "warnings",
            SortKey::NextReview => "next_review",
            SortKey::Stage => "stage",
            SortKey::Type => "type",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Name => "Name",
            SortKey::Health => "Health",
            SortKey::Trend => "Trend",
            SortKey::Warnings => "Warnings",
            SortKey::NextReview => "Next review",
            SortKey::Stage => "Stage",
            SortKey::Type => "Type",
        }
    }

    /// The direction a column header's first click asks for.
    pub fn natural_desc(self) -> bool {
        matches!(self, SortKey::Warnings)
    }
}

/// Which verdict to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictFilter {
    Is(VerdictKind),
    None,
}

/// The parsed filters and order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PortfolioFilter {
    pub partnership_type: Option<PartnershipType>,
    pub stage: Option<Stage>,
    pub verdict: Option<VerdictFilter>,
    pub has_warnings: bool,
    pub q: String,
    pub archived: bool,
    pub sort: SortKey,
    pub desc: bool,
    pub page: usize,
}

fn flag(e: &mut ValidationErrors, field: &str, v: Option<&str>) -> bool {
    match v.map(str::trim) {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("on") => true,
        Some(other) => {
            e.add(
                field,
                "invalid_value",
                format!("`{other}` is not true or false"),
            );
            false
        }
    }
}

fn one_of<T: std::str::FromStr>(
    e: &mut ValidationErrors,
    field: &str,
    v: Option<&str>,
    allowed: &str,
) -> Option<T> {
    let v = v.map(str::trim).filter(|v| !v.is_empty())?;
    match v.parse() {
        Ok(t) => Some(t),
        Err(_) => {
            e.add(
                field,
                "invalid_value",
                format!("`{v}` is not one of {allowed}"),
            );
            None
        }
    }
}

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|t| name(*t)).collect::<Vec<_>>().join(", ")
}

impl PortfolioFilter {
    /// Parses the query parameters. A value that is not allowed is left out of the filter and
    /// named in the errors (the API refuses with 422; the page shows the message and ignores it).
    pub fn parse(p: &PortfolioParams) -> (PortfolioFilter, ValidationErrors) {
        let mut e = ValidationErrors::new();
        let partnership_type = one_of(
            &mut e,
            "type",
            p.partnership_type.as_deref(),
            &names(PartnershipType::ALL, PartnershipType::as_str),
        );
        let stage = one_of(
            &mut e,
            "stage",
            p.stage.as_deref(),
            &names(Stage::ALL, Stage::as_str),
        );
        let verdict = match p.verdict.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("none") => Some(VerdictFilter::None),
            Some(v) => match v.parse::<VerdictKind>() {
                Ok(k) => Some(VerdictFilter::Is(k)),
                Err(_) => {
                    e.add(
                        "verdict",
                        "invalid_value",
                        format!(
                            "`{v}` is not one of {}, none",
                            names(VerdictKind::ALL, VerdictKind::as_str)
                        ),
                    );
                    None
                }
            },
        };
        let has_warnings = flag(&mut e, "warnings", p.warnings.as_deref());
        let archived = flag(&mut e, "archived", p.archived.as_deref());
        let sort = match p.sort.as_deref().map(str::trim) {
            None | Some("") => SortKey::default(),
            Some(v) => match SortKey::ALL.iter().find(|k| k.as_str() == v) {
                Some(k) => *k,
                None => {
                    e.add(
                        "sort",
                        "invalid_value",
                        format!(
                            "`{v}` is not one of {}",
                            names(&SortKey::ALL, SortKey::as_str)
                        ),
                    );
                    SortKey::default()
                }
            },
        };
        let desc = match p.dir.as_deref().map(str::trim) {
            None | Some("") => sort.natural_desc(),
            Some("asc") => false,
            Some("desc") => true,
            Some(v) => {
                e.add(
                    "dir",
                    "invalid_value",
                    format!("`{v}` is not one of asc, desc"),
                );
                sort.natural_desc()
            }
        };
        let page = match p.page.as_deref().map(str::trim) {
            None | Some("") => 1,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=1_000_000).contains(&n) => n,
                _ => {
                    e.add(
                        "page",
                        "invalid_value",
                        format!("`{v}` is not a page number"),
                    );
                    1
                }
            },
        };
        let q = p.q.as_deref().unwrap_or("").trim().to_string();
        (
            PortfolioFilter {
                partnership_type,
                stage,
                verdict,
                has_warnings,
                q,
                archived,
                sort,
                desc,
                page,
            },
            e,
        )
    }

    fn keeps(&self, r: &PortfolioRow, q: &str) -> bool {
        (self.archived || !r.archived)
            && self
                .partnership_type
                .is_none_or(|t| r.partnership_type == t)
            && self.stage.is_none_or(|s| r.stage == s)
            && match self.verdict {
                None => true,
                Some(VerdictFilter::None) => r.verdict.is_none(),
                Some(VerdictFilter::Is(k)) => r.verdict == Some(k),
            }
            && (!self.has_warnings || r.warnings > 0)
            && (q.is_empty() || r.name_key.contains(q))
    }

    /// The matching rows in the requested order.
    pub fn apply<'a>(&self, rows: &'a [PortfolioRow]) -> Vec<&'a PortfolioRow> {
        let q = self.q.to_lowercase();
        let mut out: Vec<&PortfolioRow> = rows.iter().filter(|r| self.keeps(r, &q)).collect();
        let sort = self.sort;
        let desc = self.desc;
        out.sort_by(|a, b| {
            let primary = match sort {
                SortKey::Name => Some(Ordering::Equal),
                SortKey::Health => by_option(a.health_score, b.health_score),
                SortKey::Trend => by_option(a.trend_30d, b.trend_30d),
                SortKey::Warnings => Some(a.warnings.cmp(&b.warnings)),
                SortKey::NextReview => by_option(a.next_review, b.next_review),
                SortKey::Stage => Some(stage_rank(a.stage).cmp(&stage_rank(b.stage))),
                SortKey::Type => Some(a.partnership_type.label().cmp(b.partnership_type.label())),
            };
            // `None`: exactly one side has no value; it goes last whatever the direction.
            match primary {
                None => {
                    if missing(sort, a) {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                Some(o) => {
                    let o = o.then_with(|| by_name(a, b));
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
            }
        });
        out
    }
}

fn missing(sort: SortKey, r: &PortfolioRow) -> bool {
    match sort {
        SortKey::Health => r.health_score.is_none(),
        SortKey::Trend => r.trend_30d.is_none(),
        SortKey::NextReview => r.next_review.is_none(),
        _ => false,
    }
}

/// Compares two optional values: `None` when exactly one is missing.
fn by_option<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Option<Ordering> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.partial_cmp(&b).unwrap_or(Ordering::Equal)),
        (None, None) => Some(Ordering::Equal),
        _ => None,
    }
}

fn by_name(a: &PortfolioRow, b: &PortfolioRow) -> Ordering {
    a.name_key.cmp(&b.name_key).then(a.id.cmp(&b.id))
}

fn stage_rank(s: Stage) -> usize {
    Stage::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A dashboard row from a partnership and its health, as seen by organization `org` on `today`.
pub fn row(p: &Partnership, h: &PortfolioHealth, org: i64, today: NaiveDate) -> PortfolioRow {
    PortfolioRow {
        id: p.id.0,
        name: p.name.clone(),
        name_key: p.name.to_lowercase(),
        partners: p
            .parties
            .iter()
            .filter(|x| x.organization_id.0 != org)
            .map(|x| x.organization_name.clone())
            .collect(),
        partnership_type: p.partnership_type,
        stage: p.stage,
        archived: p.archived_at.is_some(),
        verdict: h.verdict,
        health_score: h.score.filter(|s| s.is_finite()).map(round1),
        trend_30d: h.trend.filter(|s| s.is_finite()).map(round1),
        sparkline: h
            .sparkline
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(on, score)| SparkPoint {
                on: *on,
                score: round1(*score),
            })
            .collect(),
        warnings: u32::try_from(h.warnings).unwrap_or(u32::MAX),
        next_review: h.next_review,
        review_overdue: h.next_review.is_some_and(|d| d < today),
    }
}

/// Totals over `rows`.
pub fn totals(rows: &[&PortfolioRow]) -> PortfolioTotals {
    let scores: Vec<f64> = rows.iter().filter_map(|r| r.health_score).collect();
    let count = |f: &dyn Fn(&PortfolioRow) -> bool| rows.iter().filter(|r| f(r)).count() as u32;
    PortfolioTotals {
        partnerships: rows.len() as u32,
        active: count(&|r| matches!(r.stage, Stage::Active | Stage::UnderReview)),
        with_warnings: count(&|r| r.warnings > 0),
        reviews_overdue: count(&|r| r.review_overdue),
        average_health: (!scores.is_empty())
            .then(|| round1(scores.iter().sum::<f64>() / scores.len() as f64)),
        by_stage: Stage::ALL
            .iter()
            .map(|s| StageCount {
                stage: *s,
                count: count(&|r| r.stage == *s),
            })
            .collect(),
    }
}

/// Health by partnership type over `rows`, one entry per type in the catalogue's order.
pub fn by_type(rows: &[&PortfolioRow]) -> Vec<TypeSummary> {
    PartnershipType::ALL
        .iter()
        .map(|t| {
            let of_type: Vec<&&PortfolioRow> =
                rows.iter().filter(|r| r.partnership_type == *t).collect();
            let scores: Vec<f64> = of_type.iter().filter_map(|r| r.health_score).collect();
            let n = scores.len();
            TypeSummary {
                partnership_type: *t,
                count: of_type.len() as u32,
                scored: n as u32,
                mean: (n > 0).then(|| round1(scores.iter().sum::<f64>() / n as f64)),
                min: scores.iter().copied().reduce(f64::min),
                max: scores.iter().copied().reduce(f64::max),
            }
        })
        .collect()
}

// ---------------------------------------------------------------- the memo

type Fingerprint = (i64, i64, Option<String>);
type Slot = Arc<tokio::sync::Mutex<Option<(Fingerprint, NaiveDate, Arc<Vec<PortfolioRow>>)>>>;

/// The assembled portfolio rows of each organization, under the fingerprint and day they were
/// computed for (see the module documentation).
#[derive(Default)]
pub struct PortfolioMemo {
    slots: Mutex<HashMap<i64, Slot>>,
}

/// Organizations whose portfolio is kept; beyond this the memo starts afresh.
const MEMO_ORGS: usize = 512;

impl PortfolioMemo {
    fn slot(&self, org: i64) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() >= MEMO_ORGS && !slots.contains_key(&org) {
            slots.clear();
        }
        slots.entry(org).or_default().clone()
    }
}

/// Every portfolio row of the acting organization (archived ones included), by id: from the
/// memo when nothing changed since it was assembled today, otherwise assembled again. One
/// request per organization assembles at a time; the others wait for its result.
pub async fn portfolio_rows(
    s: &AppState,
    actor: &Actor,
) -> Result<Arc<Vec<PortfolioRow>>, StoreError> {
    // The fingerprint is read before the rows, so rows assembled while a write lands are kept
    // under the older fingerprint and assembled again on the next request.
    let fp = s.store.portfolio_fingerprint(actor).await?;
    let org = actor.org_id().unwrap_or(0);
    let today = Utc::now().date_naive();
    let slot = s.portfolio.slot(org);
    let mut held = slot.lock().await;
    if let Some((f, day, rows)) = held.as_ref() {
        if *f == fp && *day == today {
            return Ok(rows.clone());
        }
    }
    let rows: Vec<PortfolioRow> = s
        .store
        .portfolio(actor)
        .await?
        .iter()
        .map(|(p, h)| row(p, h, org, today))
        .collect();
    let rows = Arc::new(rows);
    *held = Some((fp, today, rows.clone()));
    Ok(rows)
}

/// The matching rows with totals and health by type.
pub fn assemble(rows: &[PortfolioRow], filter: &PortfolioFilter) -> Portfolio {
    let matching = filter.apply(rows);
    Portfolio {
        total: matching.len() as u32,
        totals: totals(&matching),
        by_type: by_type(&matching),
        rows: matching.into_iter().cloned().collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/portfolio", tag = "health",
    params(PortfolioParams),
    responses(
        (status = 200, description = "Every partnership of the acting organization that matches, sorted, with its health, totals and health by type", body = Portfolio),
        (status = 400, description = "Unknown query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter or the order has a value that is not allowed (the field names the parameter)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiQuery(params): ApiQuery<PortfolioParams>,
) -> Result<Json<Portfolio>, ApiError> {
    let (filter, errors) = PortfolioFilter::parse(&params);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let rows = portfolio_rows(&s, &who.actor()).await?;
    Ok(Json(assemble(&rows, &filter)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: i64, name: &str, score: Option<f64>, warnings: u32) -> PortfolioRow {
        PortfolioRow {
            id,
            name: name.into(),
            name_key: name.to_lowercase(),
            partners: vec![],
            partnership_type: PartnershipType::Wholesale,
            stage: Stage::Active,
            archived: false,
            verdict: None,
            health_score: score,
            trend_30d: None,
            sparkline: vec![],
            warnings,
            next_review: None,
            review_overdue: false,
        }
    }

    fn params(q: &str) -> PortfolioParams {
        serde_urlencoded::from_str(q).expect("params")
    }

    #[test]
    fn unscored_rows_come_last_in_both_directions() {
        let rows = vec![
            r(1, "b", Some(40.0), 0),
            r(2, "a", None, 1),
            r(3, "c", Some(80.0), 2),
        ];
        for (q, want) in [
            ("sort=health&dir=asc", [1, 3, 2]),
            ("sort=health&dir=desc", [3, 1, 2]),
            ("sort=name", [2, 1, 3]),
            ("sort=warnings", [3, 2, 1]),
        ] {
            let (f, e) = PortfolioFilter::parse(&params(q));
            assert!(e.is_empty(), "{q}");
            let got: Vec<i64> = f.apply(&rows).iter().map(|r| r.id).collect();
            assert_eq!(got, want, "{q}");
        }
    }

    #[test]
    fn bad_values_are_named() {
        let (f, e) =
            PortfolioFilter::parse(&params("sort=colour&type=joint&dir=up&warnings=maybe"));
        let fields: Vec<String> = e.into_errors().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["type", "warnings", "sort", "dir"]);
        assert_eq!(f.sort, SortKey::Health);
        assert_eq!(f.partnership_type, None);
    }

    #[test]
    fn summaries() {
        let rows = [
            r(1, "a", Some(40.0), 0),
            r(2, "b", Some(80.0), 3),
            r(3, "c", None, 0),
        ];
        let refs: Vec<&PortfolioRow> = rows.iter().collect();
        let t = totals(&refs);
        assert_eq!(
            (t.partnerships, t.with_warnings, t.average_health),
            (3, 1, Some(60.0))
        );
        let w = &by_type(&refs)[0];
        assert_eq!(
            (w.count, w.scored, w.mean, w.min, w.max),
            (3, 2, Some(60.0), Some(40.0), Some(80.0))
        );
    }
}
