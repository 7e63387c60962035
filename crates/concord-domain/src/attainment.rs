//! Metric attainment: how far each charter metric has come from its baseline towards its target,
//! whether that is where a straight path to the target date says it should be, which way it is
//! heading, and one roll-up across the categories. Pure functions over the charter's [`Metric`]s
//! and their reported values ([`Point`]s); recomputed on every read.
//!
//! # Formulas
//!
//! - **Progress** of a value `v`: `(v − baseline) / (target − baseline)`. 0 at the baseline, 1 at
//!   the target, below 0 when the metric moved the wrong way, above 1 when it beat the target. The
//!   sign of `target − baseline` decides what "better" means, so a lower-is-better metric (target
//!   below baseline) needs no special case. Only when `target == baseline` does the metric's
//!   [`Direction`] decide: progress is 1 when the value meets or beats the target in that direction,
//!   0 otherwise.
//! - **Attainment**: progress clamped to `[0, 1]`.
//! - **Expected progress** on a day `at`: a straight path from the baseline on `start` (the charter
//!   start) to the target on `target_date`: `(at − start) / (target_date − start)` in days, clamped
//!   to `[0, 1]`. A target date on or before the start expects everything from the target date on
//!   (1) and nothing before it (0).
//! - **Shortfall** of a value reported for a period: expected progress at the period's end minus
//!   attainment. **Status**: *on track* when the shortfall is at most
//!   [`ON_TRACK_SHORTFALL`] (10 points of progress), *at risk* when at most [`AT_RISK_SHORTFALL`]
//!   (25 points), *off track* beyond; *no data* when nothing was reported. The comparisons allow
//!   [`THRESHOLD_TOLERANCE`] so that, say, 80 % expected and 70 % attained is on track despite
//!   floating-point rounding.
//! - **Trend**: the least-squares slope of the raw progress of the latest [`TREND_WINDOW`] periods
//!   against their index (0, 1, …), i.e. change in progress per reporting period. *Improving* above
//!   [`TREND_EPSILON`], *worsening* below `−TREND_EPSILON`, *steady* between; *not enough data*
//!   with fewer than two periods.
//! - **Off-track streak**: how many of the latest consecutive periods were off track, each judged
//!   by its own value at its own period end.
//! - **Roll-up**: per category, the mean attainment of its metrics that have data; overall, the
//!   mean of those category attainments weighted by [`CategoryWeights`] (1 for every category
//!   unless configured), over categories with data and a weight above 0. Metrics without data
//!   count in `no_data` and in their category's `metrics`, never as 0 %.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::charter::{Direction, Metric, MetricCategory};

/// Largest shortfall (expected progress minus attainment) that is still on track: 0.10.
pub const ON_TRACK_SHORTFALL: f64 = 0.10;
/// Largest shortfall that is at risk rather than off track: 0.25.
pub const AT_RISK_SHORTFALL: f64 = 0.25;
/// How many of the latest periods the trend looks at: 6.
pub const TREND_WINDOW: usize = 6;
/// Smallest slope of progress per period that counts as improving (or, negated, worsening): 0.01.
pub const TREND_EPSILON: f64 = 0.01;
/// Slack allowed when a shortfall is compared with a threshold, so that values that are on a
/// threshold in decimal (80 % expected, 70 % attained) are not pushed over it by rounding.
pub const THRESHOLD_TOLERANCE: f64 = 1e-9;

/// One reported value of a metric: the current value for its period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Point {
    /// First day of the reporting period.
    pub period_start: NaiveDate,
    /// Last day of the reporting period; the status is judged on this day.
    pub period_end: NaiveDate,
    /// The value, in the metric's unit.
    pub value: f64,
}

string_enum! {
    /// Where a metric stands against the straight path from its baseline to its target.
    pub enum Status {
        OnTrack = "on_track" => "On track",
        AtRisk = "at_risk" => "At risk",
        OffTrack = "off_track" => "Off track",
        NoData = "no_data" => "No data",
    }
}

string_enum! {
    /// Which way a metric's progress has been moving over its latest periods.
    pub enum Trend {
        Improving = "improving" => "Improving",
        Steady = "steady" => "Steady",
        Worsening = "worsening" => "Worsening",
        Unknown = "unknown" => "Not enough data",
    }
}

/// Progress of `value` from the metric's baseline (0.0) to its target (1.0):
/// `(value − baseline) / (target − baseline)`, unclamped.
///
/// When `target == baseline` the metric's direction decides: 1.0 when the value meets or beats the
/// target in that direction, 0.0 otherwise. Never NaN for finite inputs (it can be infinite when
/// the target is a hair's breadth from the baseline and the value far away).
pub fn progress(m: &Metric, value: f64) -> f64 {
    let (baseline, target) = (m.baseline, m.target);
    if target == baseline {
        let meets = match m.direction {
            Direction::Higher => value >= target,
            Direction::Lower => value <= target,
        };
        return if meets { 1.0 } else { 0.0 };
    }
    let span = target - baseline;
    if span.is_finite() {
        (value - baseline) / span
    } else {
        // Baseline and target so far apart that the difference overflows: halve everything first.
        (value / 2.0 - baseline / 2.0) / (target / 2.0 - baseline / 2.0)
    }
}

/// Attainment of `value`: [`progress`] clamped to `[0, 1]`. Never NaN for finite inputs.
pub fn attainment_of(m: &Metric, value: f64) -> f64 {
    let p = progress(m, value);
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

/// Where a straight path from the baseline on `start` to the target on `target_date` expects
/// progress to be on `at`: `(at − start) / (target_date − start)` in days, clamped to `[0, 1]`.
/// When `target_date <= start`: 1.0 from the target date on, 0.0 before it.
pub fn expected_progress(start: NaiveDate, target_date: NaiveDate, at: NaiveDate) -> f64 {
    if target_date <= start {
        return if at >= target_date { 1.0 } else { 0.0 };
    }
    let total = (target_date - start).num_days() as f64;
    let elapsed = (at - start).num_days() as f64;
    (elapsed / total).clamp(0.0, 1.0)
}

/// Shortfall of a point: expected progress at the end of its period minus its attainment.
fn shortfall_of(m: &Metric, start: NaiveDate, p: &Point) -> f64 {
    expected_progress(start, m.target_date, p.period_end) - attainment_of(m, p.value)
}

fn status_for_shortfall(shortfall: f64) -> Status {
    if shortfall <= ON_TRACK_SHORTFALL + THRESHOLD_TOLERANCE {
        Status::OnTrack
    } else if shortfall <= AT_RISK_SHORTFALL + THRESHOLD_TOLERANCE {
        Status::AtRisk
    } else {
        Status::OffTrack
    }
}

/// Status of one value at the end of its period. The shortfall is
/// `expected_progress(start, m.target_date, p.period_end) − attainment_of(m, p.value)`: on track
/// when it is at most [`ON_TRACK_SHORTFALL`], at risk when at most [`AT_RISK_SHORTFALL`], off
/// track beyond (each within [`THRESHOLD_TOLERANCE`]). Never [`Status::NoData`].
pub fn status_of(m: &Metric, start: NaiveDate, p: &Point) -> Status {
    status_for_shortfall(shortfall_of(m, start, p))
}

/// One metric's attainment, as of its latest reported period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricAttainment {
    /// The metric's stable id in the charter (0 when it has none yet).
    pub metric_id: u32,
    /// The metric's name.
    pub name: String,
    /// What the metric measures.
    pub category: MetricCategory,
    /// The unit of baseline, target and values.
    pub unit: String,
    /// Which way the metric should move.
    pub direction: Direction,
    /// Value at the start (progress 0).
    pub baseline: f64,
    /// Value to reach (progress 1).
    pub target: f64,
    /// Where the straight path from baseline to target begins (the charter start).
    pub start: NaiveDate,
    /// When the target should be reached.
    pub target_date: NaiveDate,
    /// The point with the latest period, if any was reported.
    pub latest: Option<Point>,
    /// Raw (unclamped) progress of the latest value.
    pub progress: Option<f64>,
    /// Attainment of the latest value (progress clamped to `[0, 1]`).
    pub attainment: Option<f64>,
    /// Progress the straight path expects at the end of the latest period.
    pub expected: Option<f64>,
    /// `expected − attainment` for the latest period.
    pub shortfall: Option<f64>,
    /// Status of the latest value; `no_data` when nothing was reported.
    pub status: Status,
    /// Direction of the least-squares slope of progress over the latest [`TREND_WINDOW`] periods.
    pub trend: Trend,
    /// That slope, in progress per period (0.05 = five points of progress a period); present
    /// from two periods on.
    pub trend_per_period: Option<f64>,
    /// How many periods have a (finite) value.
    pub periods_reported: usize,
    /// How many of the latest consecutive periods were off track.
    pub off_track_streak: usize,
}

/// Least-squares slope of `ys` against their index 0, 1, …; `None` with fewer than two values or
/// when the values are so extreme that the slope is not a finite number.
fn slope(ys: &[f64]) -> Option<f64> {
    let n = ys.len();
    if n < 2 {
        return None;
    }
    let mean_x = (n - 1) as f64 / 2.0;
    let mean_y = ys.iter().sum::<f64>() / n as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mean_x;
        num += dx * (y - mean_y);
        den += dx * dx;
    }
    let s = num / den;
    s.is_finite().then_some(s)
}

/// Attainment, status, trend and streak of one metric.
///
/// `points` are the current value of each reported period, in any order: they are sorted by
/// period here (start, then end, then value, so the result never depends on the input order), and
/// points with a non-finite value are ignored. `start` is where the straight path begins; callers
/// pass the charter's start.
pub fn metric_attainment(m: &Metric, start: NaiveDate, points: &[Point]) -> MetricAttainment {
    let mut pts: Vec<&Point> = points.iter().filter(|p| p.value.is_finite()).collect();
    pts.sort_by(|a, b| {
        (a.period_start, a.period_end)
            .cmp(&(b.period_start, b.period_end))
            .then(a.value.total_cmp(&b.value))
    });

    let latest = pts.last().map(|p| (*p).clone());
    let (progress_now, attainment, expected, shortfall, status) = match &latest {
        Some(p) => {
            let expected = expected_progress(start, m.target_date, p.period_end);
            let attainment = attainment_of(m, p.value);
            let shortfall = expected - attainment;
            (
                Some(progress(m, p.value)),
                Some(attainment),
                Some(expected),
                Some(shortfall),
                status_for_shortfall(shortfall),
            )
        }
        None => (None, None, None, None, Status::NoData),
    };

    let window = &pts[pts.len().saturating_sub(TREND_WINDOW)..];
    let ys: Vec<f64> = window.iter().map(|p| progress(m, p.value)).collect();
    let trend_per_period = slope(&ys);
    let trend = match trend_per_period {
        None => Trend::Unknown,
        Some(s) if s > TREND_EPSILON => Trend::Improving,
        Some(s) if s < -TREND_EPSILON => Trend::Worsening,
        Some(_) => Trend::Steady,
    };

    let off_track_streak = pts
        .iter()
        .rev()
        .take_while(|p| status_of(m, start, p) == Status::OffTrack)
        .count();

    MetricAttainment {
        metric_id: m.id.unwrap_or(0),
        name: m.name.clone(),
        category: m.category,
        unit: m.unit.clone(),
        direction: m.direction,
        baseline: m.baseline,
        target: m.target,
        start,
        target_date: m.target_date,
        latest,
        progress: progress_now,
        attainment,
        expected,
        shortfall,
        status,
        trend,
        trend_per_period,
        periods_reported: pts.len(),
        off_track_streak,
    }
}

/// How much each category counts in the overall roll-up. The default gives 1.0 to every
/// category; negative or non-finite weights are stored as 0 (the category is left out of the
/// overall figure).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CategoryWeights {
    /// The weight of every category, keyed by its wire name.
    weights: BTreeMap<MetricCategory, f64>,
}

impl Default for CategoryWeights {
    fn default() -> Self {
        Self {
            weights: MetricCategory::ALL.iter().map(|c| (*c, 1.0)).collect(),
        }
    }
}

impl CategoryWeights {
    /// Weights from `(category, weight)` pairs; a category not named weighs 1.0, a later pair for
    /// the same category wins, and a negative or non-finite weight becomes 0.
    pub fn from_pairs(pairs: &[(MetricCategory, f64)]) -> Self {
        let mut w = Self::default();
        for (c, v) in pairs {
            let v = if v.is_finite() && *v > 0.0 { *v } else { 0.0 };
            w.weights.insert(*c, v);
        }
        w
    }

    /// The weight of a category (never negative, never NaN or infinite).
    pub fn weight(&self, c: MetricCategory) -> f64 {
        self.weights.get(&c).copied().unwrap_or(1.0)
    }
}

/// One category of the roll-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CategoryRollup {
    /// The category.
    pub category: MetricCategory,
    /// How many metrics it has.
    pub metrics: usize,
    /// How many of them have reported data.
    pub with_data: usize,
    /// Mean attainment of the metrics with data; absent when none has.
    pub attainment: Option<f64>,
    /// The category's weight in the overall figure.
    pub weight: f64,
}

/// Attainment across a charter's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rollup {
    /// Categories that have at least one metric, in [`MetricCategory::ALL`] order.
    pub categories: Vec<CategoryRollup>,
    /// Weighted mean of the category attainments, over categories with data and a weight above 0;
    /// absent when there is none.
    pub overall: Option<f64>,
    /// Metrics on track.
    pub on_track: usize,
    /// Metrics at risk.
    pub at_risk: usize,
    /// Metrics off track.
    pub off_track: usize,
    /// Metrics with no reported value.
    pub no_data: usize,
}

/// Rolls metric attainments up per category and overall (see the module documentation).
pub fn rollup(items: &[MetricAttainment], weights: &CategoryWeights) -> Rollup {
    let categories: Vec<CategoryRollup> = MetricCategory::ALL
        .iter()
        .filter_map(|&category| {
            let in_category: Vec<&MetricAttainment> =
                items.iter().filter(|i| i.category == category).collect();
            if in_category.is_empty() {
                return None;
            }
            let with_data: Vec<f64> = in_category.iter().filter_map(|i| i.attainment).collect();
            let attainment = (!with_data.is_empty())
                .then(|| with_data.iter().sum::<f64>() / with_data.len() as f64);
            Some(CategoryRollup {
                category,
                metrics: in_category.len(),
                with_data: with_data.len(),
                attainment,
                weight: weights.weight(category),
            })
        })
        .collect();

    let counted: Vec<(f64, f64)> = categories
        .iter()
        .filter_map(|c| c.attainment.map(|a| (a, c.weight)))
        .filter(|(_, w)| *w > 0.0)
        .collect();
    let overall = if counted.is_empty() {
        None
    } else {
        // Scale by the largest weight so that huge weights cannot overflow the sums.
        let max_w = counted.iter().map(|(_, w)| *w).fold(0.0, f64::max);
        let (mut sum, mut total) = (0.0, 0.0);
        for (a, w) in &counted {
            let w = w / max_w;
            sum += a * w;
            total += w;
        }
        let lo = counted
            .iter()
            .map(|(a, _)| *a)
            .fold(f64::INFINITY, f64::min);
        let hi = counted
            .iter()
            .map(|(a, _)| *a)
            .fold(f64::NEG_INFINITY, f64::max);
        // A weighted mean lies between the smallest and largest value; clamp away rounding.
        Some((sum / total).clamp(lo, hi))
    };

    let count = |s: Status| items.iter().filter(|i| i.status == s).count();
    Rollup {
        categories,
        overall,
        on_track: count(Status::OnTrack),
        at_risk: count(Status::AtRisk),
        off_track: count(Status::OffTrack),
        no_data: count(Status::NoData),
    }
}
