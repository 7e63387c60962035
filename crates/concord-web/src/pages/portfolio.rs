//! The home page after sign-in: the portfolio dashboard (issue 6), and its CSV export
//! `/portfolio.csv`. Rows, filters and summaries come from `api/portfolio.rs` (one code path
//! for the page, the CSV and the JSON); this module lays them out: the filter form, summary
//! tiles, partnerships per stage, a chart of health by partnership type, and the sortable table
//! with each partnership's health band and sparkline.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use concord_domain::partnership::{PartnershipType, Stage};
use concord_domain::verdict::VerdictKind;

use super::chart::Px;
use super::{render, Chrome, Opt, PageError};
use crate::api::portfolio::{
    by_type, portfolio_rows, totals, PortfolioFilter, PortfolioParams, PortfolioRow, SortKey,
    TypeSummary, VerdictFilter, PAGE_SIZE,
};
use crate::auth::PageAuth;
use crate::AppState;

/// The dashboard's parameters from the query string; parameters it does not know (an old
/// bookmark) are ignored rather than refused.
fn params(query: Option<String>) -> PortfolioParams {
    let mut p = PortfolioParams::default();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let v = Some(v.into_owned());
        match k.as_ref() {
            "type" => p.partnership_type = v,
            "stage" => p.stage = v,
            "verdict" => p.verdict = v,
            "warnings" => p.warnings = v,
            "q" => p.q = v,
            "archived" => p.archived = v,
            "sort" => p.sort = v,
            "dir" => p.dir = v,
            "page" => p.page = v,
            _ => {}
        }
    }
    p
}

/// A health score's band: its colour on the page.
fn band(score: Option<f64>) -> (&'static str, &'static str) {
    match score {
        None => ("none", "No score yet"),
        Some(s) if s >= 70.0 => ("good", "Healthy"),
        Some(s) if s >= 50.0 => ("watch", "Watch"),
        Some(_) => ("risk", "At risk"),
    }
}

fn fmt1(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", fmt1(v))
    } else if v < 0.0 {
        format!("−{}", fmt1(-v))
    } else {
        "±0".into()
    }
}

struct Line {
    id: i64,
    name: String,
    partners: String,
    type_label: &'static str,
    stage: Stage,
    archived: bool,
    verdict: Option<VerdictKind>,
    score: String,
    band: &'static str,
    band_label: &'static str,
    trend: String,
    trend_dir: &'static str,
    /// The sparkline's `points` attribute (empty: no sparkline).
    spark: String,
    spark_title: String,
    warnings: u32,
    next_review: String,
    overdue: bool,
}

const SPARK_W: f64 = 96.0;
const SPARK_H: f64 = 24.0;

/// The sparkline as polyline points: x by date across the series' span, y by score on 0–100.
fn sparkline(r: &PortfolioRow) -> (String, String) {
    let pts = &r.sparkline;
    if pts.len() < 2 {
        return (String::new(), String::new());
    }
    let first = pts[0].on;
    let span = (pts[pts.len() - 1].on - first).num_days().max(1) as f64;
    let y = |v: f64| Px(SPARK_H - 2.0 - v.clamp(0.0, 100.0) / 100.0 * (SPARK_H - 4.0));
    let x = |d: NaiveDate| Px(1.0 + (d - first).num_days() as f64 / span * (SPARK_W - 2.0));
    let points = pts
        .iter()
        .map(|p| format!("{},{}", x(p.on), y(p.score)))
        .collect::<Vec<_>>()
        .join(" ");
    let title = pts
        .iter()
        .map(|p| format!("{}: {}", p.on.format("%b %Y"), fmt1(p.score)))
        .collect::<Vec<_>>()
        .join(", ");
    (points, title)
}

impl Line {
    fn new(r: &PortfolioRow) -> Line {
        let (band, band_label) = band(r.health_score);
        let (spark, spark_title) = sparkline(r);
        Line {
            id: r.id,
            name: r.name.clone(),
            partners: r.partners.join(" · "),
            type_label: r.partnership_type.label(),
            stage: r.stage,
            archived: r.archived,
            verdict: r.verdict,
            score: r.health_score.map(fmt1).unwrap_or_default(),
            band,
            band_label,
            trend: r.trend_30d.map(signed).unwrap_or_default(),
            trend_dir: match r.trend_30d {
                Some(t) if t >= 1.0 => "up",
                Some(t) if t <= -1.0 => "down",
                _ => "flat",
            },
            spark,
            spark_title,
            warnings: r.warnings,
            next_review: r
                .next_review
                .map(|d| d.format("%-d %b %Y").to_string())
                .unwrap_or_default(),
            overdue: r.review_overdue,
        }
    }
}

/// A sortable column header: the link that sorts by it (or flips the direction).
struct Header {
    label: &'static str,
    href: String,
    /// `ascending`, `descending` or `none` (aria-sort).
    aria: &'static str,
}

/// One type's row in the health-by-type chart.
struct TypeBar {
    label: &'static str,
    href: String,
    y: Px,
    text_y: Px,
    count: u32,
    scored: u32,
    /// min–max range and mean, laid out (absent when no partnership of the type has a score).
    range: Option<(Px, Px, Px)>,
    mean: String,
    range_text: String,
}

struct StageLink {
    label: &'static str,
    key: &'static str,
    count: u32,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "portfolio.html")]
struct PortfolioPage {
    active: &'static str,
    chrome: Chrome,
    notices: Vec<String>,
    q: String,
    types: Vec<Opt>,
    stages: Vec<Opt>,
    verdicts: Vec<Opt>,
    has_warnings: bool,
    archived: bool,
    sort: &'static str,
    dir: &'static str,
    total: u32,
    active_count: u32,
    with_warnings: u32,
    overdue: u32,
    average: String,
    average_band: &'static str,
    stage_links: Vec<StageLink>,
    bars: Vec<TypeBar>,
    chart_height: i64,
    axis: Vec<(Px, u32)>,
    plot_left: Px,
    plot_right: Px,
    headers: Vec<Header>,
    lines: Vec<Line>,
    first: usize,
    last: usize,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
    csv_href: String,
    api_href: String,
}

/// The query string for `filter` with some parts replaced (`sort`, `dir`, `page`, `stage`).
fn link(base: &str, f: &PortfolioFilter, change: &[(&str, String)]) -> String {
    let mut pairs: Vec<(&str, String)> = vec![
        ("q", f.q.clone()),
        (
            "type",
            f.partnership_type
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
        ),
        (
            "stage",
            f.stage.map(|t| t.as_str().to_string()).unwrap_or_default(),
        ),
        (
            "verdict",
            match f.verdict {
                None => String::new(),
                Some(VerdictFilter::None) => "none".into(),
                Some(VerdictFilter::Is(k)) => k.as_str().into(),
            },
        ),
        (
            "warnings",
            if f.has_warnings {
                "true".into()
            } else {
                String::new()
            },
        ),
        (
            "archived",
            if f.archived {
                "true".into()
            } else {
                String::new()
            },
        ),
        ("sort", f.sort.as_str().into()),
        ("dir", if f.desc { "desc" } else { "asc" }.into()),
        (
            "page",
            if f.page > 1 {
                f.page.to_string()
            } else {
                String::new()
            },
        ),
    ];
    for (k, v) in change {
        if let Some(p) = pairs.iter_mut().find(|(pk, _)| pk == k) {
            p.1 = v.clone();
        }
    }
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    let q = s.finish();
    if q.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{q}")
    }
}

const CHART_LEFT: f64 = 170.0;
const CHART_RIGHT: f64 = 560.0;
const ROW_H: f64 = 30.0;

fn scale(v: f64) -> Px {
    Px(CHART_LEFT + v.clamp(0.0, 100.0) / 100.0 * (CHART_RIGHT - CHART_LEFT))
}

fn type_bars(summary: &[TypeSummary], f: &PortfolioFilter) -> Vec<TypeBar> {
    summary
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let y = 6.0 + ROW_H * i as f64;
            let range = match (t.min, t.mean, t.max) {
                (Some(lo), Some(m), Some(hi)) => Some((scale(lo), scale(m), scale(hi))),
                _ => None,
            };
            TypeBar {
                label: t.partnership_type.label(),
                href: link(
                    "/",
                    f,
                    &[
                        ("type", t.partnership_type.as_str().into()),
                        ("page", String::new()),
                    ],
                ),
                y: Px(y + ROW_H / 2.0),
                text_y: Px(y + ROW_H / 2.0 + 4.0),
                count: t.count,
                scored: t.scored,
                range,
                mean: t.mean.map(fmt1).unwrap_or_default(),
                range_text: match (t.min, t.max) {
                    (Some(lo), Some(hi)) => format!("{}–{}", fmt1(lo), fmt1(hi)),
                    _ => String::new(),
                },
            }
        })
        .collect()
}

/// `GET /`: the portfolio dashboard.
pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (mut filter, errors) = PortfolioFilter::parse(&params(query));
    // The page ignores a value it does not know, and says so.
    let notices: Vec<String> = errors
        .into_errors()
        .into_iter()
        .map(|e| format!("Ignored the {} filter: {}.", e.field, e.message))
        .collect();
    let rows = portfolio_rows(&s, &who.actor()).await?;
    // Only the page's rows are laid out; the totals and the chart cover every matching row.
    let matching = filter.apply(&rows);
    let totals = totals(&matching);
    let by_type = by_type(&matching);
    let total_rows = matching.len();
    let pages = total_rows.div_ceil(PAGE_SIZE).max(1);
    filter.page = filter.page.min(pages);
    let start = (filter.page - 1) * PAGE_SIZE;
    let lines: Vec<Line> = matching
        .iter()
        .skip(start)
        .take(PAGE_SIZE)
        .map(|r| Line::new(r))
        .collect();
    let headers = [
        SortKey::Name,
        SortKey::Type,
        SortKey::Stage,
        SortKey::Health,
        SortKey::Trend,
        SortKey::Warnings,
        SortKey::NextReview,
    ]
    .iter()
    .map(|k| {
        let current = filter.sort == *k;
        let desc = if current {
            !filter.desc
        } else {
            k.natural_desc()
        };
        Header {
            label: k.label(),
            href: link(
                "/",
                &filter,
                &[
                    ("sort", k.as_str().into()),
                    ("dir", if desc { "desc" } else { "asc" }.into()),
                    ("page", String::new()),
                ],
            ),
            aria: match (current, filter.desc) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            },
        }
    })
    .collect();
    let stage_links = totals
        .by_stage
        .iter()
        .map(|c| StageLink {
            label: c.stage.label(),
            key: c.stage.as_str(),
            count: c.count,
            current: filter.stage == Some(c.stage),
            href: link(
                "/",
                &filter,
                &[("stage", c.stage.as_str().into()), ("page", String::new())],
            ),
        })
        .collect();
    let bars = type_bars(&by_type, &filter);
    let chart_height = (6.0 + ROW_H * bars.len() as f64 + 28.0) as i64;
    let page_link = |n: usize| link("/", &filter, &[("page", n.to_string())]);
    let opt_all = |label: &str| Opt::new(String::new(), label.to_string(), false);
    let mut types = vec![opt_all("Any type")];
    types.extend(PartnershipType::ALL.iter().map(|t| {
        Opt::new(
            t.as_str().to_string(),
            t.label().to_string(),
            filter.partnership_type == Some(*t),
        )
    }));
    let mut stages = vec![opt_all("Any stage")];
    stages.extend(Stage::ALL.iter().map(|t| {
        Opt::new(
            t.as_str().to_string(),
            t.label().to_string(),
            filter.stage == Some(*t),
        )
    }));
    let mut verdicts = vec![opt_all("Any verdict")];
    verdicts.extend(VerdictKind::ALL.iter().map(|t| {
        Opt::new(
            t.as_str().to_string(),
            t.label().to_string(),
            filter.verdict == Some(VerdictFilter::Is(*t)),
        )
    }));
    verdicts.push(Opt::new(
        "none",
        "No effective charter",
        filter.verdict == Some(VerdictFilter::None),
    ));
    render(
        StatusCode::OK,
        &PortfolioPage {
            active: "dashboard",
            chrome: Chrome::load(&s, &who).await?,
            notices,
            q: filter.q.clone(),
            types,
            stages,
            verdicts,
            has_warnings: filter.has_warnings,
            archived: filter.archived,
            sort: filter.sort.as_str(),
            dir: if filter.desc { "desc" } else { "asc" },
            total: totals.partnerships,
            active_count: totals.active,
            with_warnings: totals.with_warnings,
            overdue: totals.reviews_overdue,
            average: totals.average_health.map(fmt1).unwrap_or_default(),
            average_band: band(totals.average_health).0,
            stage_links,
            bars,
            chart_height,
            axis: [0, 25, 50, 75, 100]
                .iter()
                .map(|v| (scale(*v as f64), *v))
                .collect(),
            plot_left: Px(CHART_LEFT),
            plot_right: Px(CHART_RIGHT),
            headers,
            first: if total_rows == 0 { 0 } else { start + 1 },
            last: start + lines.len(),
            lines,
            page: filter.page,
            pages,
            prev: (filter.page > 1).then(|| page_link(filter.page - 1)),
            next: (filter.page < pages).then(|| page_link(filter.page + 1)),
            csv_href: link("/portfolio.csv", &filter, &[("page", String::new())]),
            api_href: link("/api/v1/portfolio", &filter, &[("page", String::new())]),
        },
    )
}

/// One CSV field, quoted when it must be; a leading `=`, `+`, `-` or `@` in text is prefixed
/// with `'` so a spreadsheet does not run it as a formula.
fn csv_field(out: &mut String, v: &str) {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&v);
    }
}

/// The rows as CSV: `id,name,partners,type,stage,verdict,health_score,trend_30d,warnings,next_review`.
pub fn to_csv(rows: &[&PortfolioRow]) -> String {
    let mut out = String::from(
        "id,name,partners,type,stage,verdict,health_score,trend_30d,warnings,next_review\n",
    );
    for r in rows {
        out.push_str(&r.id.to_string());
        out.push(',');
        csv_field(&mut out, &r.name);
        out.push(',');
        csv_field(&mut out, &r.partners.join("; "));
        out.push(',');
        out.push_str(r.partnership_type.as_str());
        out.push(',');
        out.push_str(r.stage.as_str());
        out.push(',');
        out.push_str(r.verdict.map(|v| v.as_str()).unwrap_or(""));
        out.push(',');
        out.push_str(&r.health_score.map(fmt1).unwrap_or_default());
        out.push(',');
        // A trend is a signed number: written plainly (no formula guard needed for digits).
        out.push_str(&r.trend_30d.map(fmt1).unwrap_or_default());
        out.push(',');
        out.push_str(&r.warnings.to_string());
        out.push(',');
        out.push_str(
            &r.next_review
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        );
        out.push('\n');
    }
    out
}

/// `GET /portfolio.csv`: the matching rows (every page) with the dashboard's filters and order.
/// A filter value that is not allowed is refused (422, naming the parameter): a download cannot
/// show that it was ignored.
pub async fn export_csv(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (filter, errors) = PortfolioFilter::parse(&params(query));
    if let Some(e) = errors.into_errors().into_iter().next() {
        return Err(PageError::Refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("The {} filter: {}.", e.field, e.message),
        ));
    }
    let rows = portfolio_rows(&s, &who.actor()).await?;
    let matching = filter.apply(&rows);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"portfolio.csv\"",
            ),
        ],
        to_csv(&matching),
    )
        .into_response())
}
