//! The explainable health score: eight drivers, each a value between 0 and 1 worked out from
//! plain figures that storage gathers ([`HealthInputs`]), weighted per organization.
//!
//! # Formula
//!
//! `score = 100 × Σ wᵢ·vᵢ / Σ wᵢ`, summed over the drivers that have data (`vᵢ` known). A driver
//! without data is shown with contribution 0 and its weight is re-normalised away; with no driver
//! that has data (or only zero weights on them) there is no score. A driver's *contribution* is
//! `100 × wᵢ·vᵢ / Σ wⱼ`, in points, so the contributions add up to the score.
//!
//! The drivers (`vᵢ` ∈ [0, 1]):
//!
//! - **metric_attainment**: per metric with data, `1 − max(0, expected − attainment)` (attainment
//!   relative to where the straight path to the target expects it, so a metric on or ahead of
//!   its path counts 1), averaged per category and then over the categories with the roll-up's
//!   category weights. No data without a reported value.
//! - **commitments_kept**: `done / (done + late)` over the charter's commitments that are done or
//!   open past their due date (dropped ones and ones not yet due are left out).
//! - **meeting_cadence**: steering meetings held / expected over the last twelve months, at most
//!   1 (no data without a cadence in the charter or before one interval has passed).
//! - **survey_level**: `(mean − 1) / 4` of the latest survey round with answers (1–5 scale).
//! - **perception_gaps**: `1 − max_gap / 2`, clamped to [0, 1]: the largest gap between the
//!   parties' averages in the latest round (no data unless two parties are revealed).
//! - **open_high_risks**: `1 − min(1, n / 3)` where `n` counts the shared risks that are not
//!   closed and have likelihood × impact ≥ 15, a high risk without mitigation counting double.
//! - **leadership_continuity**: `max(0, 1 − 0.5 · k)` where `k` is the number of departed
//!   executive sponsors, champions and alliance managers without a briefed successor.
//! - **review_timeliness**: 1 when no review is overdue, else `max(0, 1 − days_overdue / 90)`;
//!   no data when the charter sets no review interval and no review is open.
//!
//! Default weights: 25, 15, 10, 15, 10, 10, 10, 5 (in the order above).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::survey::SurveyResults;
use super::{severity, StakeholderRole, HIGH_RISK};
use crate::attainment::{MetricAttainment, Rollup};
use crate::charter::CommitmentStatus;
use crate::meeting::Adherence;
use crate::review::CommitmentState;
use crate::verdict::VerdictKind;
use crate::{OrgId, ValidationErrors};

string_enum! {
    /// One driver of the health score.
    pub enum DriverKey {
        MetricAttainment = "metric_attainment" => "Metric attainment",
        CommitmentsKept = "commitments_kept" => "Commitments kept",
        MeetingCadence = "meeting_cadence" => "Meeting cadence kept",
        SurveyLevel = "survey_level" => "Survey level",
        PerceptionGaps = "perception_gaps" => "Perception gaps",
        OpenHighRisks = "open_high_risks" => "Open high risks",
        LeadershipContinuity = "leadership_continuity" => "Leadership continuity",
        ReviewTimeliness = "review_timeliness" => "Review timeliness",
    }
}

impl DriverKey {
    /// How the driver's value is worked out, in a sentence.
    pub fn formula(self) -> &'static str {
        match self {
            DriverKey::MetricAttainment => "Per metric 1 − shortfall against the straight path to its target (at most 1), averaged per category, then over categories.",
            DriverKey::CommitmentsKept => "Done ÷ (done + late) over commitments that are done or open past their due date.",
            DriverKey::MeetingCadence => "Steering meetings held ÷ expected by the charter's cadence over the last twelve months, at most 1.",
            DriverKey::SurveyLevel => "(Mean answer − 1) ÷ 4 in the latest survey round with answers.",
            DriverKey::PerceptionGaps => "1 − largest perception gap ÷ 2 (at least 0), when two parties are revealed.",
            DriverKey::OpenHighRisks => "1 − min(1, n ÷ 3), n = open shared risks with likelihood × impact ≥ 15, double without mitigation.",
            DriverKey::LeadershipContinuity => "1 − 0.5 per departed sponsor, champion or alliance manager without a briefed successor (at least 0).",
            DriverKey::ReviewTimeliness => "1 when no review is overdue, else 1 − days overdue ÷ 90 (at least 0).",
        }
    }
}

/// How much each driver counts, per organization. Each weight is 0–100 and not all are zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    pub metric_attainment: f64,
    pub commitments_kept: f64,
    pub meeting_cadence: f64,
    pub survey_level: f64,
    pub perception_gaps: f64,
    pub open_high_risks: f64,
    pub leadership_continuity: f64,
    pub review_timeliness: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            metric_attainment: 25.0,
            commitments_kept: 15.0,
            meeting_cadence: 10.0,
            survey_level: 15.0,
            perception_gaps: 10.0,
            open_high_risks: 10.0,
            leadership_continuity: 10.0,
            review_timeliness: 5.0,
        }
    }
}

/// Largest weight a driver may have.
pub const MAX_WEIGHT: f64 = 100.0;

impl Weights {
    /// The weight of one driver.
    pub fn get(&self, key: DriverKey) -> f64 {
        match key {
            DriverKey::MetricAttainment => self.metric_attainment,
            DriverKey::CommitmentsKept => self.commitments_kept,
            DriverKey::MeetingCadence => self.meeting_cadence,
            DriverKey::SurveyLevel => self.survey_level,
            DriverKey::PerceptionGaps => self.perception_gaps,
            DriverKey::OpenHighRisks => self.open_high_risks,
            DriverKey::LeadershipContinuity => self.leadership_continuity,
            DriverKey::ReviewTimeliness => self.review_timeliness,
        }
    }

    /// Sets the weight of one driver.
    pub fn set(&mut self, key: DriverKey, w: f64) {
        let slot = match key {
            DriverKey::MetricAttainment => &mut self.metric_attainment,
            DriverKey::CommitmentsKept => &mut self.commitments_kept,
            DriverKey::MeetingCadence => &mut self.meeting_cadence,
            DriverKey::SurveyLevel => &mut self.survey_level,
            DriverKey::PerceptionGaps => &mut self.perception_gaps,
            DriverKey::OpenHighRisks => &mut self.open_high_risks,
            DriverKey::LeadershipContinuity => &mut self.leadership_continuity,
            DriverKey::ReviewTimeliness => &mut self.review_timeliness,
        };
        *slot = w;
    }

    /// Each weight between 0 and 100 (a finite number), and not all zero. Errors name
    /// `weights.<driver>`.
    pub fn validate(&self) -> Result<Weights, ValidationErrors> {
        let mut e = ValidationErrors::new();
        for k in DriverKey::ALL {
            let w = self.get(*k);
            if !w.is_finite() || !(0.0..=MAX_WEIGHT).contains(&w) {
                e.add(
                    format!("weights.{}", k.as_str()),
                    "out_of_range",
                    "a weight is a number from 0 to 100",
                );
            }
        }
        if e.is_empty() && DriverKey::ALL.iter().all(|k| self.get(*k) == 0.0) {
            e.add(
                format!("weights.{}", DriverKey::MetricAttainment.as_str()),
                "all_zero",
                "at least one driver needs a weight above 0",
            );
        }
        e.into_result(self.clone())
    }
}

/// The latest survey round with answers, and its results.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveySummary {
    pub round: u32,
    pub results: SurveyResults,
}

/// A shared risk that is not closed.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedRisk {
    pub id: i64,
    pub title: String,
    pub likelihood: u8,
    pub impact: u8,
    /// The mitigation is written down (not empty).
    pub mitigated: bool,
    pub review_on: Option<NaiveDate>,
}

impl SharedRisk {
    /// Likelihood × impact at or above [`HIGH_RISK`].
    pub fn is_high(&self) -> bool {
        severity(self.likelihood, self.impact) >= HIGH_RISK
    }
}

/// A departed executive sponsor, champion or alliance manager.
#[derive(Debug, Clone, PartialEq)]
pub struct DepartedKeyPerson {
    pub stakeholder_id: i64,
    pub name: String,
    pub role: StakeholderRole,
    pub organization_id: OrgId,
    pub departed_on: Option<NaiveDate>,
    /// A successor is named and briefed.
    pub successor_briefed: bool,
}

/// When reviews fall due.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewTiming {
    /// The next scheduled review (when none is open and the charter sets an interval).
    pub next_due: Option<NaiveDate>,
    /// A review in progress: its number and due date.
    pub open: Option<(u32, NaiveDate)>,
}

impl ReviewTiming {
    /// The review that is overdue on `today` (its number, 0 for a scheduled one not yet opened,
    /// and its due date), if any.
    pub fn overdue(&self, today: NaiveDate) -> Option<(u32, NaiveDate)> {
        match self.open {
            Some((n, due)) => (due < today).then_some((n, due)),
            None => self.next_due.filter(|d| *d < today).map(|d| (0, d)),
        }
    }

    /// Whether there is any review schedule at all.
    pub fn scheduled(&self) -> bool {
        self.open.is_some() || self.next_due.is_some()
    }
}

/// The plain figures a partnership's health is judged from.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthInputs {
    /// For the links to the evidence.
    pub partnership_id: i64,
    pub today: NaiveDate,
    pub metrics: Vec<MetricAttainment>,
    pub rollup: Option<Rollup>,
    pub commitments: Vec<CommitmentState>,
    pub cadence: Option<Adherence>,
    pub survey: Option<SurveySummary>,
    /// Shared risks that are not closed.
    pub risks: Vec<SharedRisk>,
    pub departed: Vec<DepartedKeyPerson>,
    pub reviews: ReviewTiming,
}

impl HealthInputs {
    /// Inputs with nothing in them (a partnership without a charter, survey, risks or people).
    pub fn empty(partnership_id: i64, today: NaiveDate) -> Self {
        HealthInputs {
            partnership_id,
            today,
            metrics: Vec::new(),
            rollup: None,
            commitments: Vec::new(),
            cadence: None,
            survey: None,
            risks: Vec::new(),
            departed: Vec::new(),
            reviews: ReviewTiming::default(),
        }
    }
}

/// A driver's value before weighting: what the cache keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DriverValue {
    pub key: DriverKey,
    /// 0–1; `null` when there is no data.
    pub value: Option<f64>,
    /// The evidence, in words.
    pub detail: String,
    /// The page that shows the evidence.
    pub link: String,
}

/// A weighted driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Driver {
    pub key: DriverKey,
    pub label: String,
    /// The organization's weight, 0–100.
    pub weight: f64,
    /// 0–1; `null` when there is no data (the weight is then left out).
    pub value: Option<f64>,
    /// Points of the score this driver contributes (0 without data).
    pub contribution: f64,
    pub detail: String,
    pub link: String,
}

/// The score and its drivers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthScore {
    /// 0–100; `null` when no weighted driver has data.
    pub score: Option<f64>,
    pub drivers: Vec<Driver>,
}

fn clamp01(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}

fn metric_value(inp: &HealthInputs) -> DriverValue {
    let link = format!("/partnerships/{}/metrics", inp.partnership_id);
    let with_data: Vec<&MetricAttainment> = inp
        .metrics
        .iter()
        .filter(|m| m.attainment.is_some())
        .collect();
    if with_data.is_empty() {
        let detail = if inp.metrics.is_empty() {
            "No charter metrics".to_string()
        } else {
            format!("No values reported for {} metrics", inp.metrics.len())
        };
        return DriverValue {
            key: DriverKey::MetricAttainment,
            value: None,
            detail,
            link,
        };
    }
    let per_metric = |m: &MetricAttainment| clamp01(1.0 - m.shortfall.unwrap_or(0.0).max(0.0));
    let mut cats: Vec<(f64, f64)> = Vec::new();
    let mut seen = Vec::new();
    for m in &with_data {
        if seen.contains(&m.category) {
            continue;
        }
        seen.push(m.category);
        let vs: Vec<f64> = with_data
            .iter()
            .filter(|x| x.category == m.category)
            .map(|x| per_metric(x))
            .collect();
        let w = inp
            .rollup
            .as_ref()
            .and_then(|r| r.categories.iter().find(|c| c.category == m.category))
            .map(|c| c.weight)
            .unwrap_or(1.0);
        cats.push((vs.iter().sum::<f64>() / vs.len() as f64, w));
    }
    let total: f64 = cats.iter().map(|(_, w)| *w).sum();
    let value = if total > 0.0 {
        cats.iter().map(|(v, w)| v * w).sum::<f64>() / total
    } else {
        cats.iter().map(|(v, _)| v).sum::<f64>() / cats.len() as f64
    };
    let on_track = inp
        .metrics
        .iter()
        .filter(|m| m.status == crate::attainment::Status::OnTrack)
        .count();
    let off_track = inp
        .metrics
        .iter()
        .filter(|m| m.status == crate::attainment::Status::OffTrack)
        .count();
    DriverValue {
        key: DriverKey::MetricAttainment,
        value: Some(clamp01(value)),
        detail: format!(
            "{on_track} of {} metrics on track, {off_track} off track; {} of {} with data",
            inp.metrics.len(),
            with_data.len(),
            inp.metrics.len()
        ),
        link,
    }
}

fn commitments_value(inp: &HealthInputs) -> DriverValue {
    let done = inp
        .commitments
        .iter()
        .filter(|c| c.status == CommitmentStatus::Done)
        .count();
    let late = inp.commitments.iter().filter(|c| c.late).count();
    let link = format!("/partnerships/{}/commitments", inp.partnership_id);
    let (value, detail) = if done + late == 0 {
        (
            None,
            if inp.commitments.is_empty() {
                "No charter commitments".to_string()
            } else {
                "No commitment due yet".to_string()
            },
        )
    } else {
        (
            Some(done as f64 / (done + late) as f64),
            format!("{done} done, {late} late"),
        )
    };
    DriverValue {
        key: DriverKey::CommitmentsKept,
        value,
        detail,
        link,
    }
}

fn cadence_value(inp: &HealthInputs) -> DriverValue {
    let link = format!("/partnerships/{}/meetings", inp.partnership_id);
    let (value, detail) = match &inp.cadence {
        Some(a) if a.ratio.is_some() => (
            a.ratio.map(clamp01),
            format!(
                "{} of {} steering meetings held since {}",
                a.held, a.expected, a.window_start
            ),
        ),
        Some(a) if a.cadence.is_some() => (None, "Less than one interval so far".to_string()),
        _ => (None, "No meeting cadence in the charter".to_string()),
    };
    DriverValue {
        key: DriverKey::MeetingCadence,
        value,
        detail,
        link,
    }
}

fn survey_values(inp: &HealthInputs) -> (DriverValue, DriverValue) {
    let link = format!("/partnerships/{}/surveys", inp.partnership_id);
    match &inp.survey {
        None => (
            DriverValue {
                key: DriverKey::SurveyLevel,
                value: None,
                detail: "No survey answered yet".into(),
                link: link.clone(),
            },
            DriverValue {
                key: DriverKey::PerceptionGaps,
                value: None,
                detail: "No survey answered yet".into(),
                link,
            },
        ),
        Some(s) => {
            let level = s.results.level;
            let gap = s.results.max_gap;
            let largest = s.results.gaps.first();
            (
                DriverValue {
                    key: DriverKey::SurveyLevel,
                    value: level.map(|l| clamp01((l - 1.0) / 4.0)),
                    detail: match level {
                        Some(l) => format!(
                            "Round {}: mean {:.2} of 5 from {} respondents",
                            s.round, l, s.results.respondents
                        ),
                        None => format!("Round {}: no answers", s.round),
                    },
                    link: link.clone(),
                },
                DriverValue {
                    key: DriverKey::PerceptionGaps,
                    value: gap.map(|g| clamp01(1.0 - g / 2.0)),
                    detail: match (gap, largest) {
                        (Some(g), Some(d)) => format!(
                            "Round {}: largest gap {:.2} ({})",
                            s.round,
                            g,
                            d.dimension.label()
                        ),
                        _ => format!(
                            "Round {}: fewer than two parties with enough respondents",
                            s.round
                        ),
                    },
                    link,
                },
            )
        }
    }
}

/// Weighted count of open shared high risks (unmitigated ones count double).
pub fn high_risk_count(risks: &[SharedRisk]) -> usize {
    risks
        .iter()
        .filter(|r| r.is_high())
        .map(|r| if r.mitigated { 1 } else { 2 })
        .sum()
}

fn risks_value(inp: &HealthInputs) -> DriverValue {
    let high: Vec<&SharedRisk> = inp.risks.iter().filter(|r| r.is_high()).collect();
    let unmitigated = high.iter().filter(|r| !r.mitigated).count();
    let n = high_risk_count(&inp.risks);
    DriverValue {
        key: DriverKey::OpenHighRisks,
        value: Some(1.0 - (n as f64 / 3.0).min(1.0)),
        detail: format!(
            "{} open high shared risks, {unmitigated} without mitigation",
            high.len()
        ),
        link: format!("/partnerships/{}/risks", inp.partnership_id),
    }
}

fn continuity_value(inp: &HealthInputs) -> DriverValue {
    let gaps: Vec<&DepartedKeyPerson> = inp
        .departed
        .iter()
        .filter(|d| !d.successor_briefed)
        .collect();
    let detail = if gaps.is_empty() {
        "No key person departed without a briefed successor".to_string()
    } else {
        let names: Vec<String> = gaps
            .iter()
            .map(|d| format!("{} ({})", d.name, d.role.label().to_lowercase()))
            .collect();
        format!("Departed without a briefed successor: {}", names.join(", "))
    };
    DriverValue {
        key: DriverKey::LeadershipContinuity,
        value: Some((1.0 - 0.5 * gaps.len() as f64).max(0.0)),
        detail,
        link: format!("/partnerships/{}/stakeholders", inp.partnership_id),
    }
}

fn review_value(inp: &HealthInputs) -> DriverValue {
    let link = format!("/partnerships/{}/reviews", inp.partnership_id);
    let (value, detail) = if !inp.reviews.scheduled() {
        (None, "No review interval in the charter".to_string())
    } else {
        match inp.reviews.overdue(inp.today) {
            Some((_, due)) => {
                let days = (inp.today - due).num_days();
                (
                    Some((1.0 - days as f64 / 90.0).max(0.0)),
                    format!("Review due {due} is {days} days overdue"),
                )
            }
            None => (
                Some(1.0),
                match (inp.reviews.open, inp.reviews.next_due) {
                    (Some((n, due)), _) => format!("Review {n} in progress, due {due}"),
                    (None, Some(d)) => format!("Next review due {d}"),
                    _ => "On time".to_string(),
                },
            ),
        }
    };
    DriverValue {
        key: DriverKey::ReviewTimeliness,
        value,
        detail,
        link,
    }
}

/// Every driver's value and evidence, in [`DriverKey::ALL`] order. Independent of weights.
pub fn driver_values(inp: &HealthInputs) -> Vec<DriverValue> {
    let (level, gaps) = survey_values(inp);
    vec![
        metric_value(inp),
        commitments_value(inp),
        cadence_value(inp),
        level,
        gaps,
        risks_value(inp),
        continuity_value(inp),
        review_value(inp),
    ]
}

/// Weighs driver values (see the module documentation). Values are clamped to [0, 1] and
/// weights below 0 or not finite count as 0.
pub fn score(values: &[DriverValue], weights: &Weights) -> HealthScore {
    let w_of = |k: DriverKey| {
        let w = weights.get(k);
        if w.is_finite() && w > 0.0 {
            w
        } else {
            0.0
        }
    };
    // Without evidence of how the partnership performs (metric values, commitments, meetings or
    // a survey), the drivers that judge only what has gone wrong (risks, departures, overdue
    // reviews) would make an untested partnership look perfect: there is no score yet.
    let evidence = values
        .iter()
        .any(|v| v.key.is_evidence() && v.value.is_some_and(|x| !x.is_nan()));
    let total: f64 = if evidence {
        values
            .iter()
            .filter(|v| v.value.is_some_and(|x| !x.is_nan()))
            .map(|v| w_of(v.key))
            .sum()
    } else {
        0.0
    };
    let drivers: Vec<Driver> = values
        .iter()
        .map(|v| {
            let value = v.value.filter(|x| !x.is_nan()).map(clamp01);
            let w = w_of(v.key);
            let contribution = match value {
                Some(x) if total > 0.0 => 100.0 * (w / total) * x,
                _ => 0.0,
            };
            Driver {
                key: v.key,
                label: v.key.label().to_string(),
                weight: weights.get(v.key),
                value,
                contribution,
                detail: v.detail.clone(),
                link: v.link.clone(),
            }
        })
        .collect();
    let score = (total > 0.0).then(|| {
        drivers
            .iter()
            .map(|d| d.contribution)
            .sum::<f64>()
            .clamp(0.0, 100.0)
    });
    HealthScore { score, drivers }
}

impl DriverKey {
    /// Drivers measured from what the partnership did (values, commitments, meetings, the
    /// survey); at least one must have data for there to be a score.
    pub fn is_evidence(self) -> bool {
        matches!(
            self,
            DriverKey::MetricAttainment
                | DriverKey::CommitmentsKept
                | DriverKey::MeetingCadence
                | DriverKey::SurveyLevel
        )
    }
}

string_enum! {
    /// Which way the score moved over the last 30 days.
    pub enum TrendDirection {
        Up = "up" => "Improving",
        Steady = "steady" => "Steady",
        Down = "down" => "Declining",
        Unknown = "unknown" => "Not enough history",
    }
}

/// A change of less than this many points is steady.
pub const TREND_STEADY_POINTS: f64 = 2.0;

/// The score's change over 30 days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = HealthTrend)]
pub struct Trend {
    /// The latest score (on or before today) minus the latest score on or before 30 days ago.
    pub delta_30d: Option<f64>,
    pub direction: TrendDirection,
}

/// The trend from a history of `(day, score)` points (any order): the latest point on or before
/// `today` against the latest on or before `today − 30 days`. Up or down from
/// [`TREND_STEADY_POINTS`] points on.
pub fn trend(history: &[(NaiveDate, f64)], today: NaiveDate) -> Trend {
    let latest_by = |day: NaiveDate| {
        history
            .iter()
            .filter(|(d, s)| *d <= day && s.is_finite())
            .max_by_key(|(d, _)| *d)
            .map(|(_, s)| *s)
    };
    let now = latest_by(today);
    let then = latest_by(today - chrono::Days::new(30));
    let delta_30d = match (now, then) {
        (Some(a), Some(b)) => Some(a - b),
        _ => None,
    };
    let direction = match delta_30d {
        None => TrendDirection::Unknown,
        Some(d) if d >= TREND_STEADY_POINTS => TrendDirection::Up,
        Some(d) if d <= -TREND_STEADY_POINTS => TrendDirection::Down,
        Some(_) => TrendDirection::Steady,
    };
    Trend {
        delta_30d,
        direction,
    }
}

/// One partnership's line on the portfolio dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PortfolioHealth {
    pub partnership_id: i64,
    /// 0–100 with the viewing organization's weights.
    pub score: Option<f64>,
    /// Change over 30 days, in points.
    pub trend: Option<f64>,
    /// At most 12 points, oldest first (one per month, the latest in each).
    #[schema(value_type = Vec<Object>)]
    pub sparkline: Vec<(NaiveDate, f64)>,
    /// Warnings not yet acknowledged.
    pub warnings: usize,
    pub next_review: Option<NaiveDate>,
    pub verdict: Option<VerdictKind>,
}

/// Driver values only (no evidence), in [`DriverKey::ALL`] order: the compact form a day of
/// history keeps.
pub fn pack(values: &[DriverValue]) -> Vec<Option<f64>> {
    DriverKey::ALL
        .iter()
        .map(|k| values.iter().find(|v| v.key == *k).and_then(|v| v.value))
        .collect()
}

/// The inverse of [`pack`] (details and links empty); missing entries have no data.
pub fn unpack(packed: &[Option<f64>]) -> Vec<DriverValue> {
    DriverKey::ALL
        .iter()
        .enumerate()
        .map(|(i, k)| DriverValue {
            key: *k,
            value: packed.get(i).copied().flatten(),
            detail: String::new(),
            link: String::new(),
        })
        .collect()
}

/// One day of the score's history, with the viewing organization's weights.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HistoryPoint {
    pub on: NaiveDate,
    pub score: Option<f64>,
}

/// A partnership's health as one organization sees it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PartnershipHealth {
    pub partnership_id: i64,
    /// The day the figures are judged on.
    pub as_of: NaiveDate,
    /// 0–100; `null` when no weighted driver has data.
    pub score: Option<f64>,
    pub drivers: Vec<Driver>,
    pub trend: Trend,
    /// The last twelve months, oldest first.
    pub history: Vec<HistoryPoint>,
    /// Current warnings, acknowledged ones included (with who and when).
    pub warnings: Vec<super::warnings::Warning>,
    /// The viewing organization's weights.
    pub weights: Weights,
    pub next_review: Option<NaiveDate>,
    pub verdict: Option<VerdictKind>,
}
