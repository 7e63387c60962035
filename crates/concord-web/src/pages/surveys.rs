//! The joint health survey as pages: the rounds with the open-round form (alliance managers) and
//! the answer form (the nine statements, each on a labelled 1–5 scale), and a round's results —
//! overall figures with their change, a party's column only when at least three of its people
//! answered, the perception gaps with a bar each, a small chart, and the acting organization's
//! own comments.
//!
//! Every handler calls the same store method as the JSON API (`api::surveys`). A refused form is
//! rendered again with each error next to its input (`scores.trust` → the trust scale); a refusal
//! that is not about an input (`round_open`, `already_answered`, `round_closed`) is an alert.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;

use concord_domain::health::survey::{
    SurveyAnswerInput, SurveyRoundInput, SurveyRoundResults, GAP_WARNING, MIN_RESPONDENTS,
};
use concord_domain::health::Dimension;
use concord_domain::partnership::Partnership;
use concord_domain::{PartnershipId, ValidationErrors};
use concord_storage::StoreError;

use super::journeys::PageIds;
use super::operations::{forbid_unless, party_name, refusal};
use super::{capitalize, human_time, render, see_other, Chrome, PageError, PageId};
use crate::api::ledger::today;
use crate::auth::{PageAuth, Principal};
use crate::extract::Form;
use crate::AppState;

const MANAGERS_ONLY: &str = "Only alliance managers and admins open and close survey rounds.";

/// The words of the 1–5 scale.
const SCALE: [&str; 5] = [
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
];

fn small_id(n: i64) -> Result<u32, PageError> {
    u32::try_from(n).map_err(|_| PageError::NotFound)
}

fn day(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// An average with two decimals.
fn avg(v: f64) -> String {
    format!("{v:.2}")
}

fn error_for(v: &ValidationErrors, field: &str) -> String {
    v.errors()
        .iter()
        .filter(|e| e.field == field)
        .map(|e| capitalize(&e.message))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------- the rounds page

struct RoundRow {
    number: u32,
    title: String,
    open: bool,
    status: &'static str,
    opened: String,
    opened_by: String,
    closes: String,
    respondents: usize,
}

/// One choice on a 1–5 scale.
struct ScaleOpt {
    value: u8,
    label: &'static str,
    checked: bool,
}

/// One statement with its scale.
struct Statement {
    name: &'static str,
    label: &'static str,
    statement: &'static str,
    options: Vec<ScaleOpt>,
    error: String,
}

/// The open round as the page shows it.
struct OpenRound {
    number: u32,
    title: String,
    closes: String,
    respondents: usize,
    accepts: bool,
    answered: bool,
}

#[derive(Template)]
#[template(path = "surveys.html")]
struct SurveysPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    rounds: Vec<RoundRow>,
    open: Option<OpenRound>,
    manager: bool,
    can_open: bool,
    why_not: String,
    title_value: String,
    title_error: String,
    closes_value: String,
    closes_error: String,
    statements: Vec<Statement>,
    comment_value: String,
    comment_error: String,
    answer_errors: bool,
    notice: String,
    alert: String,
}

/// What a refused form held, to show again.
#[derive(Default)]
struct FormState {
    title: String,
    closes_on: String,
    scores: BTreeMap<Dimension, u8>,
    comment: String,
    errors: ValidationErrors,
    alert: String,
    notice: String,
}

async fn surveys_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    status: StatusCode,
    st: FormState,
) -> Result<Response, PageError> {
    let actor = who.actor();
    let (p, rounds) = s.store.survey_rounds(&actor, id).await?;
    let now = today();
    let open_round = rounds
        .iter()
        .find(|r| r.status == concord_domain::health::survey::RoundStatus::Open);
    let open = match open_round {
        Some(r) => {
            let res = s
                .store
                .survey_round_results(&actor, id, r.number, now)
                .await?;
            Some(OpenRound {
                number: r.number,
                title: r.title.clone(),
                closes: r.closes_on.map(day).unwrap_or_default(),
                respondents: r.respondents,
                accepts: res.accepts_answers,
                answered: res.answered,
            })
        }
        None => None,
    };
    let manager = who.acting.role.can_manage_partnerships();
    let why_not = if p.archived_at.is_some() {
        "The partnership is archived."
    } else if open.is_some() {
        "A round is open; close it before opening another."
    } else if !manager {
        MANAGERS_ONLY
    } else {
        ""
    };
    let statements = Dimension::ALL
        .iter()
        .map(|d| Statement {
            name: d.as_str(),
            label: d.label(),
            statement: d.statement(),
            options: (1..=5u8)
                .map(|v| ScaleOpt {
                    value: v,
                    label: SCALE[usize::from(v) - 1],
                    checked: st.scores.get(d) == Some(&v),
                })
                .collect(),
            error: error_for(&st.errors, &format!("scores.{}", d.as_str())),
        })
        .collect::<Vec<_>>();
    let comment_error = error_for(&st.errors, "comment");
    let answer_errors = statements.iter().any(|x| !x.error.is_empty()) || !comment_error.is_empty();
    render(
        status,
        &SurveysPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            rounds: rounds
                .iter()
                .map(|r| RoundRow {
                    number: r.number,
                    title: r.title.clone(),
                    open: r.status == concord_domain::health::survey::RoundStatus::Open,
                    status: r.status.label(),
                    opened: human_time(r.opened_at),
                    opened_by: r.opened_by.clone(),
                    closes: r.closes_on.map(day).unwrap_or_default(),
                    respondents: r.respondents,
                })
                .collect(),
            open,
            manager,
            can_open: why_not.is_empty(),
            why_not: why_not.to_string(),
            title_value: st.title,
            title_error: error_for(&st.errors, "title"),
            closes_value: st.closes_on,
            closes_error: error_for(&st.errors, "closes_on"),
            statements,
            comment_value: st.comment,
            comment_error,
            answer_errors,
            notice: st.notice,
            alert: st.alert,
            p,
        },
    )
}

#[derive(Deserialize)]
pub struct DoneParams {
    done: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    Query(q): Query<DoneParams>,
) -> Result<Response, PageError> {
    let notice = match q.done.as_deref() {
        Some("opened") => "The round is open; members of every party can answer it now.",
        Some("closed") => "The round is closed.",
        Some("answered") => "Thank you: your answer is recorded. Nobody sees who answered what.",
        _ => "",
    };
    surveys_page(
        &s,
        &who,
        PartnershipId(id),
        StatusCode::OK,
        FormState {
            notice: notice.into(),
            ..FormState::default()
        },
    )
    .await
}

pub async fn open_round(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let actor = who.actor();
    s.store.get_partnership(&actor, id).await?;
    forbid_unless(who.acting.role.can_manage_partnerships(), MANAGERS_ONLY)?;
    let title = form.get("title").to_string();
    let closes_on = form.get("closes_on").trim().to_string();
    let mut st = FormState {
        title: title.clone(),
        closes_on: closes_on.clone(),
        ..FormState::default()
    };
    let closes = if closes_on.is_empty() {
        None
    } else {
        match NaiveDate::parse_from_str(&closes_on, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                st.errors = ValidationErrors::single(
                    "closes_on",
                    "invalid_date",
                    "give the closing day as a date (YYYY-MM-DD)",
                );
                return surveys_page(&s, &who, id, StatusCode::UNPROCESSABLE_ENTITY, st).await;
            }
        }
    };
    let input = SurveyRoundInput {
        title,
        closes_on: closes,
    };
    match s.store.open_survey_round(&actor, id, &input, today()).await {
        Ok(_) => Ok(see_other(&format!(
            "/partnerships/{id}/surveys?done=opened"
        ))),
        Err(StoreError::Validation(v)) => {
            st.errors = v;
            surveys_page(&s, &who, id, StatusCode::UNPROCESSABLE_ENTITY, st).await
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            st.alert = message;
            surveys_page(&s, &who, id, status, st).await
        }
    }
}

pub async fn close_round(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, round): PageIds,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let n = small_id(round)?;
    let actor = who.actor();
    s.store.get_partnership(&actor, id).await?;
    forbid_unless(who.acting.role.can_manage_partnerships(), MANAGERS_ONLY)?;
    match s.store.close_survey_round(&actor, id, n).await {
        Ok(_) => Ok(see_other(&format!(
            "/partnerships/{id}/surveys?done=closed"
        ))),
        Err(e) => {
            let (status, message) = refusal(e)?;
            surveys_page(
                &s,
                &who,
                id,
                status,
                FormState {
                    alert: message,
                    ..FormState::default()
                },
            )
            .await
        }
    }
}

pub async fn answer(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, round): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let n = small_id(round)?;
    let actor = who.actor();
    let mut scores = BTreeMap::new();
    let mut kept = BTreeMap::new();
    for d in Dimension::ALL {
        if let Ok(v) = form.get(d.as_str()).trim().parse::<i64>() {
            scores.insert(d.as_str().to_string(), v);
            if let Ok(b) = u8::try_from(v) {
                kept.insert(*d, b);
            }
        }
    }
    let input = SurveyAnswerInput {
        scores,
        comment: form.get("comment").to_string(),
    };
    let mut st = FormState {
        scores: kept,
        comment: input.comment.clone(),
        ..FormState::default()
    };
    match s.store.answer_survey(&actor, id, n, &input, today()).await {
        Ok(_) => Ok(see_other(&format!(
            "/partnerships/{id}/surveys?done=answered"
        ))),
        Err(StoreError::Validation(v)) => {
            st.errors = v;
            surveys_page(&s, &who, id, StatusCode::UNPROCESSABLE_ENTITY, st).await
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            st.alert = message;
            surveys_page(&s, &who, id, status, st).await
        }
    }
}

// ---------------------------------------------------------------- a round's results

struct PartyHead {
    name: String,
    respondents: usize,
    revealed: bool,
}

struct Cell {
    text: String,
}

struct ResultRow {
    label: &'static str,
    overall: String,
    /// `up`, `down`, `same` or empty (no earlier round).
    arrow: &'static str,
    change: String,
    parties: Vec<Cell>,
}

struct GapRow {
    label: &'static str,
    gap: String,
    /// Width of the bar, 0–100 (% of the largest possible gap, 4).
    width: String,
    warn: bool,
    high: String,
    low: String,
}

/// One bar of the chart.
struct Bar {
    x: String,
    y: String,
    width: String,
    class: String,
    title: String,
}

struct ChartRow {
    label: &'static str,
    y: String,
}

struct LegendItem {
    class: String,
    name: String,
}

struct SurveyChart {
    width: u32,
    height: u32,
    rows: Vec<ChartRow>,
    bars: Vec<Bar>,
    ticks: Vec<(String, u8)>,
    top: String,
    bottom: String,
    tick_y: String,
    bar_h: String,
    legend: Vec<LegendItem>,
}

#[derive(Template)]
#[template(path = "survey_round.html")]
struct RoundPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    number: u32,
    title: String,
    open: bool,
    status: &'static str,
    respondents: usize,
    level: String,
    compared_with: String,
    answered: bool,
    accepts: bool,
    heads: Vec<PartyHead>,
    rows: Vec<ResultRow>,
    gaps: Vec<GapRow>,
    gaps_hidden: bool,
    min_respondents: usize,
    gap_warning: String,
    chart: Option<SurveyChart>,
    own_org: String,
    comments: Vec<String>,
}

const CHART_LABEL_W: f64 = 190.0;
const CHART_PLOT_W: f64 = 360.0;
const CHART_ROW_H: f64 = 30.0;
const CHART_TOP: f64 = 26.0;

fn chart(p: &Partnership, r: &SurveyRoundResults) -> Option<SurveyChart> {
    let revealed: Vec<_> = r.results.parties.iter().filter(|x| x.revealed).collect();
    if revealed.is_empty() {
        return None;
    }
    let bar_h = (CHART_ROW_H - 8.0) / revealed.len() as f64;
    let mut rows = Vec::new();
    let mut bars = Vec::new();
    for (i, d) in Dimension::ALL.iter().enumerate() {
        let top = CHART_TOP + i as f64 * CHART_ROW_H;
        rows.push(ChartRow {
            label: d.label(),
            y: format!("{:.1}", top + CHART_ROW_H / 2.0 + 4.0),
        });
        for (k, party) in revealed.iter().enumerate() {
            let Some(a) = party.averages.iter().find(|a| a.dimension == *d) else {
                continue;
            };
            bars.push(Bar {
                x: format!("{CHART_LABEL_W:.1}"),
                y: format!("{:.1}", top + 4.0 + k as f64 * bar_h),
                width: format!("{:.1}", (a.average / 5.0).clamp(0.0, 1.0) * CHART_PLOT_W),
                class: format!("survey-bar-{}", k % 4),
                title: format!(
                    "{}: {} — {}",
                    party_name(p, party.organization_id),
                    d.label(),
                    avg(a.average)
                ),
            });
        }
    }
    let bottom = CHART_TOP + Dimension::ALL.len() as f64 * CHART_ROW_H;
    Some(SurveyChart {
        width: (CHART_LABEL_W + CHART_PLOT_W + 20.0) as u32,
        height: (bottom + 22.0) as u32,
        rows,
        bars,
        ticks: (1..=5u8)
            .map(|v| {
                (
                    format!("{:.1}", CHART_LABEL_W + f64::from(v) / 5.0 * CHART_PLOT_W),
                    v,
                )
            })
            .collect(),
        top: format!("{CHART_TOP:.1}"),
        bottom: format!("{bottom:.1}"),
        tick_y: format!("{:.1}", bottom + 16.0),
        bar_h: format!("{:.1}", (bar_h - 2.0).max(1.0)),
        legend: revealed
            .iter()
            .enumerate()
            .map(|(k, x)| LegendItem {
                class: format!("survey-bar-{}", k % 4),
                name: party_name(p, x.organization_id),
            })
            .collect(),
    })
}

pub async fn round(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, round): PageIds,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let n = small_id(round)?;
    let actor = who.actor();
    let p = s.store.get_partnership(&actor, id).await?;
    let r = s.store.survey_round_results(&actor, id, n, today()).await?;
    let comments = s.store.survey_comments(&actor, id, n).await?;
    let res = &r.results;
    let heads = res
        .parties
        .iter()
        .map(|x| PartyHead {
            name: party_name(&p, x.organization_id),
            respondents: x.respondents,
            revealed: x.revealed,
        })
        .collect();
    let rows = res
        .overall
        .iter()
        .map(|f| {
            let (arrow, change) = match f.change {
                Some(c) if c > 0.005 => ("up", format!("+{}", avg(c))),
                Some(c) if c < -0.005 => ("down", avg(c)),
                Some(_) => ("same", "±0.00".to_string()),
                None => ("", String::new()),
            };
            ResultRow {
                label: f.dimension.label(),
                overall: f.average.map(avg).unwrap_or_default(),
                arrow,
                change,
                parties: res
                    .parties
                    .iter()
                    .map(|x| Cell {
                        text: x
                            .averages
                            .iter()
                            .find(|a| a.dimension == f.dimension)
                            .map(|a| avg(a.average))
                            .unwrap_or_default(),
                    })
                    .collect(),
            }
        })
        .collect();
    let gaps = res
        .gaps
        .iter()
        .map(|g| GapRow {
            label: g.dimension.label(),
            gap: avg(g.gap),
            width: format!("{:.1}", (g.gap / 4.0).clamp(0.0, 1.0) * 100.0),
            warn: g.gap >= GAP_WARNING,
            high: party_name(&p, g.high),
            low: party_name(&p, g.low),
        })
        .collect();
    let page = RoundPage {
        active: "partnerships",
        chrome: Chrome::load(&s, &who).await?,
        number: r.round.number,
        title: r.round.title.clone(),
        open: r.round.status == concord_domain::health::survey::RoundStatus::Open,
        status: r.round.status.label(),
        respondents: res.respondents,
        level: res.level.map(avg).unwrap_or_default(),
        compared_with: r.compared_with.map(|c| c.to_string()).unwrap_or_default(),
        answered: r.answered,
        accepts: r.accepts_answers,
        heads,
        rows,
        gaps,
        gaps_hidden: res.parties.iter().filter(|x| x.revealed).count() < 2,
        min_respondents: MIN_RESPONDENTS,
        gap_warning: format!("{GAP_WARNING:.1}"),
        chart: chart(&p, &r),
        own_org: who.acting.org_name.clone(),
        comments: comments.comments,
        p,
    };
    render(StatusCode::OK, &page)
}
