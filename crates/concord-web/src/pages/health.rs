//! A partnership's health as a page: the score with its colour band and trend, a line chart of
//! the last twelve months, the drivers (weight, value, contribution, evidence) and the early
//! warnings with their acknowledgement form; and the organization's weights form.
//!
//! The handlers call the same store methods as the JSON API (`api::health`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use concord_domain::health::score::{
    DriverKey, PartnershipHealth, TrendDirection, Weights, MAX_WEIGHT,
};
use concord_domain::partnership::Partnership;
use concord_domain::{PartnershipId, ValidationErrors};
use concord_storage::StoreError;

use super::chart::{self, ChartInput, ChartPoint};
use super::operations::{day, party_name};
use super::{capitalize, render, see_other, Chrome, PageError, PageId};
use crate::auth::{PageAuth, Principal};
use crate::extract::Form;
use crate::AppState;

const CHART_W: u32 = 640;
const CHART_H: u32 = 240;

/// The colour band of a score: `good` from 70, `fair` from 50, `poor` below, `none` without one.
pub fn band(score: Option<f64>) -> &'static str {
    match score {
        None => "none",
        Some(s) if s >= 70.0 => "good",
        Some(s) if s >= 50.0 => "fair",
        Some(_) => "poor",
    }
}

/// The arrow of a trend.
pub fn arrow(d: TrendDirection) -> &'static str {
    match d {
        TrendDirection::Up => "▲",
        TrendDirection::Down => "▼",
        TrendDirection::Steady => "▶",
        TrendDirection::Unknown => "·",
    }
}

struct DriverRow {
    key: String,
    label: String,
    weight: String,
    value: String,
    has_value: bool,
    contribution: String,
    /// Width of the contribution bar, 0–100 (% of the largest possible contribution).
    bar: String,
    detail: String,
    link: String,
    formula: String,
}

struct WarningRow {
    key: String,
    dom: String,
    rule: String,
    severity: String,
    message: String,
    evidence: String,
    link: String,
    acked: bool,
    ack_text: String,
    ack_note: String,
    note: String,
    error: String,
}

#[derive(Template)]
#[template(path = "health.html")]
struct HealthPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    score: String,
    band: &'static str,
    arrow: &'static str,
    trend_text: String,
    delta: String,
    chart: String,
    drivers: Vec<DriverRow>,
    warnings: Vec<WarningRow>,
    open_warnings: usize,
    can_ack: bool,
    next_review: String,
    can_weights: bool,
    alert: String,
}

fn score_text(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.0}")).unwrap_or_else(|| "—".into())
}

async fn health_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    status: StatusCode,
    failed: Option<(String, String, String)>,
    alert: String,
) -> Result<Response, PageError> {
    let (p, h): (Partnership, PartnershipHealth) =
        s.store.partnership_health(&who.actor(), id).await?;
    let total_w: f64 = h
        .drivers
        .iter()
        .filter(|d| d.value.is_some())
        .map(|d| d.weight.max(0.0))
        .sum();
    let drivers = h
        .drivers
        .iter()
        .map(|d| {
            let max = if total_w > 0.0 && d.value.is_some() {
                100.0 * d.weight.max(0.0) / total_w
            } else {
                0.0
            };
            DriverRow {
                key: d.key.as_str().into(),
                label: d.label.clone(),
                weight: format!("{:.0}", d.weight),
                value: d
                    .value
                    .map(|v| format!("{:.0}%", v * 100.0))
                    .unwrap_or_else(|| "No data".into()),
                has_value: d.value.is_some(),
                contribution: format!("{:.1}", d.contribution),
                bar: format!(
                    "{:.0}",
                    if max > 0.0 {
                        (d.contribution / max * 100.0).clamp(0.0, 100.0)
                    } else {
                        0.0
                    }
                ),
                detail: d.detail.clone(),
                link: d.link.clone(),
                formula: d.key.formula().into(),
            }
        })
        .collect();
    let can_ack = who.acting.role.can_contribute() && p.archived_at.is_none();
    let warnings: Vec<WarningRow> = h
        .warnings
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let (note, error) = match &failed {
                Some((k, n, e)) if *k == w.key => (n.clone(), e.clone()),
                _ => (String::new(), String::new()),
            };
            WarningRow {
                key: w.key.clone(),
                dom: format!("warning-{i}"),
                rule: w.rule.as_str().into(),
                severity: w.severity.as_str().into(),
                message: w.message.clone(),
                evidence: w.evidence.clone(),
                link: w.link.clone(),
                acked: w.acknowledged.is_some(),
                ack_text: w
                    .acknowledged
                    .as_ref()
                    .map(|a| {
                        format!(
                            "Acknowledged by {} for {} on {}",
                            a.by,
                            party_name(&p, a.organization_id),
                            day(a.at.date_naive())
                        )
                    })
                    .unwrap_or_default(),
                ack_note: w
                    .acknowledged
                    .as_ref()
                    .map(|a| a.note.clone())
                    .unwrap_or_default(),
                note,
                error,
            }
        })
        .collect();
    let mut alert = alert;
    if let Some((k, _, e)) = &failed {
        if !h.warnings.iter().any(|w| w.key == *k) && alert.is_empty() {
            alert = e.clone();
        }
    }
    let points: Vec<ChartPoint> = h
        .history
        .iter()
        .filter_map(|pt| {
            pt.score.map(|s| ChartPoint {
                at: pt.on,
                value: s,
                label: format!("{}: {:.0}", day(pt.on), s),
                corrected: false,
            })
        })
        .collect();
    let first = points.first().map(|p| p.at).unwrap_or(h.as_of);
    let chart = chart::render(&ChartInput {
        title: "Health score",
        unit: "points",
        baseline: 0.0,
        target: 100.0,
        path_start: first,
        target_date: first,
        points: &points,
        width: CHART_W,
        height: CHART_H,
    });
    render(
        status,
        &HealthPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            score: score_text(h.score),
            band: band(h.score),
            arrow: arrow(h.trend.direction),
            trend_text: h.trend.direction.label().into(),
            delta: h
                .trend
                .delta_30d
                .map(|d| format!("{d:+.0} points in 30 days"))
                .unwrap_or_default(),
            chart,
            drivers,
            open_warnings: h
                .warnings
                .iter()
                .filter(|w| w.acknowledged.is_none())
                .count(),
            warnings,
            can_ack,
            next_review: h.next_review.map(day).unwrap_or_default(),
            can_weights: who.acting.role.can_manage_partnerships(),
            alert,
            p,
        },
    )
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
) -> Result<Response, PageError> {
    health_page(
        &s,
        &who,
        PartnershipId(id),
        StatusCode::OK,
        None,
        String::new(),
    )
    .await
}

pub async fn acknowledge(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let key = form.get("key").to_string();
    let note = form.get("note").to_string();
    match s
        .store
        .acknowledge_warning(&who.actor(), id, &key, &note)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/partnerships/{id}/health#warnings"))),
        Err(StoreError::Validation(v)) => {
            let msg = v
                .message_for("note")
                .or_else(|| v.message_for("key"))
                .map(capitalize)
                .unwrap_or_else(|| v.to_string());
            health_page(
                &s,
                &who,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((key, note, msg)),
                String::new(),
            )
            .await
        }
        Err(StoreError::Refused { message, .. }) => {
            health_page(
                &s,
                &who,
                id,
                StatusCode::CONFLICT,
                None,
                capitalize(&message),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

struct WeightRow {
    key: String,
    label: String,
    value: String,
    formula: String,
    error: String,
}

#[derive(Template)]
#[template(path = "health_weights.html")]
struct WeightsPage {
    active: &'static str,
    chrome: Chrome,
    rows: Vec<WeightRow>,
    can_edit: bool,
    notice: String,
    alert: String,
}

fn weight_rows(values: &[(DriverKey, String)], errors: &ValidationErrors) -> Vec<WeightRow> {
    values
        .iter()
        .map(|(k, v)| WeightRow {
            key: k.as_str().into(),
            label: k.label().into(),
            value: v.clone(),
            formula: k.formula().into(),
            error: errors
                .message_for(&format!("weights.{}", k.as_str()))
                .map(capitalize)
                .unwrap_or_default(),
        })
        .collect()
}

fn num(w: f64) -> String {
    if w.fract() == 0.0 {
        format!("{w:.0}")
    } else {
        format!("{w}")
    }
}

pub async fn weights(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let w = s.store.health_weights(&who.actor()).await?;
    let values: Vec<(DriverKey, String)> = DriverKey::ALL
        .iter()
        .map(|k| (*k, num(w.get(*k))))
        .collect();
    let saved = q.get("done").is_some_and(|v| v == "saved");
    render(
        StatusCode::OK,
        &WeightsPage {
            active: "dashboard",
            chrome: Chrome::load(&s, &who).await?,
            rows: weight_rows(&values, &ValidationErrors::new()),
            can_edit: who.acting.role.can_manage_partnerships(),
            notice: if saved {
                "The weights are saved.".into()
            } else {
                String::new()
            },
            alert: String::new(),
        },
    )
}

pub async fn save_weights(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    form: Form,
) -> Result<Response, PageError> {
    if !who.acting.role.can_manage_partnerships() {
        return Err(PageError::Refused(
            StatusCode::FORBIDDEN,
            "Only admins and alliance managers set the health weights.".into(),
        ));
    }
    let mut w = Weights::default();
    let mut errors = ValidationErrors::new();
    let mut values = Vec::new();
    for k in DriverKey::ALL {
        let raw = form.get(k.as_str()).trim().to_string();
        match raw.parse::<f64>() {
            Ok(v) => w.set(*k, v),
            Err(_) => errors.add(
                format!("weights.{}", k.as_str()),
                "not_a_number",
                format!("enter a number from 0 to {MAX_WEIGHT:.0}"),
            ),
        }
        values.push((*k, raw));
    }
    let result = if errors.is_empty() {
        s.store.set_health_weights(&who.actor(), &w).await
    } else {
        Err(StoreError::Validation(errors))
    };
    match result {
        Ok(_) => Ok(see_other("/organization/health-weights?done=saved")),
        Err(StoreError::Validation(v)) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &WeightsPage {
                active: "dashboard",
                chrome: Chrome::load(&s, &who).await?,
                rows: weight_rows(&values, &v),
                can_edit: true,
                notice: String::new(),
                alert: "Some weights need fixing.".into(),
            },
        ),
        Err(e) => Err(e.into()),
    }
}

/// The "Health" card on the partnership page.
pub struct HealthSummary {
    pub score: String,
    pub band: &'static str,
    pub arrow: &'static str,
    pub trend: String,
    pub warnings: usize,
}

/// The partnership page's health card (from the health cache).
pub(super) async fn summary(
    s: &AppState,
    who: &Principal,
    p: &Partnership,
) -> Result<HealthSummary, PageError> {
    let (_, h) = s.store.partnership_health(&who.actor(), p.id).await?;
    Ok(HealthSummary {
        score: score_text(h.score),
        band: band(h.score),
        arrow: arrow(h.trend.direction),
        trend: match h.trend.delta_30d {
            Some(d) => format!("{} ({d:+.0} in 30 days)", h.trend.direction.label()),
            None => h.trend.direction.label().to_string(),
        },
        warnings: h
            .warnings
            .iter()
            .filter(|w| w.acknowledged.is_none())
            .count(),
    })
}
