//! The attainment rules through the crate's public API: progress and attainment of a value, the
//! straight expected path, status thresholds, trend, off-track streak and the category roll-up.
//! Unit tests pin each rule; property tests check what must hold for every metric (moving toward
//! the target never hurts, attainment stays in [0, 1], the roll-up is a weighted mean that moves
//! with its inputs, the order of the reported points does not matter).

use chrono::{Duration, NaiveDate};
use proptest::collection::vec;
use proptest::prelude::*;

use concord_domain::attainment::*;
use concord_domain::charter::{Direction, Metric, MetricCategory, ReportingCadence};
use concord_domain::OrgId;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn start() -> NaiveDate {
    date(2026, 1, 1)
}

fn metric(direction: Direction, baseline: f64, target: f64) -> Metric {
    Metric {
        id: Some(1),
        name: "30-day readmissions".into(),
        category: MetricCategory::ClinicalQuality,
        unit: "%".into(),
        direction,
        baseline,
        target,
        target_date: date(2027, 1, 1),
        cadence: ReportingCadence::Quarterly,
        owner: OrgId(1),
    }
}

fn higher() -> Metric {
    metric(Direction::Higher, 40.0, 60.0)
}

fn lower() -> Metric {
    metric(Direction::Lower, 20.0, 10.0)
}

/// A one-day period ending on `end`.
fn point_on(end: NaiveDate, value: f64) -> Point {
    Point {
        period_start: end,
        period_end: end,
        value,
    }
}

/// The `k`-th quarter from the start, as a point with `value`.
fn quarter(k: i64, value: f64) -> Point {
    let s = start() + Duration::days(91 * k);
    Point {
        period_start: s,
        period_end: s + Duration::days(90),
        value,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn rank(s: Status) -> u8 {
    match s {
        Status::NoData => 0,
        Status::OffTrack => 1,
        Status::AtRisk => 2,
        Status::OnTrack => 3,
    }
}

// ---------------------------------------------------------------------------------------------
// Progress and attainment
// ---------------------------------------------------------------------------------------------

#[test]
fn higher_is_better_progress_runs_from_baseline_to_target() {
    let m = higher();
    assert_eq!(progress(&m, 40.0), 0.0);
    assert_eq!(progress(&m, 50.0), 0.5);
    assert_eq!(progress(&m, 60.0), 1.0);
    assert_eq!(progress(&m, 30.0), -0.5);
    assert_eq!(progress(&m, 70.0), 1.5);
    assert_eq!(attainment_of(&m, 30.0), 0.0);
    assert_eq!(attainment_of(&m, 55.0), 0.75);
    assert_eq!(attainment_of(&m, 70.0), 1.0);
}

#[test]
fn lower_is_better_progress_runs_from_baseline_down_to_target() {
    let m = lower();
    assert_eq!(progress(&m, 20.0), 0.0);
    assert_eq!(progress(&m, 15.0), 0.5);
    assert_eq!(progress(&m, 10.0), 1.0);
    assert_eq!(progress(&m, 25.0), -0.5);
    assert_eq!(progress(&m, 5.0), 1.5);
    assert_eq!(attainment_of(&m, 25.0), 0.0);
    assert_eq!(attainment_of(&m, 12.0), 0.8);
    assert_eq!(attainment_of(&m, 0.0), 1.0);
}

#[test]
fn baseline_equal_to_target_is_met_or_not_in_the_metrics_direction() {
    let up = metric(Direction::Higher, 50.0, 50.0);
    assert_eq!(progress(&up, 50.0), 1.0);
    assert_eq!(progress(&up, 51.0), 1.0);
    assert_eq!(progress(&up, 49.9), 0.0);
    let down = metric(Direction::Lower, 50.0, 50.0);
    assert_eq!(progress(&down, 50.0), 1.0);
    assert_eq!(progress(&down, 49.0), 1.0);
    assert_eq!(progress(&down, 50.1), 0.0);
    assert_eq!(attainment_of(&down, 1e9), 0.0);
}

#[test]
fn extreme_finite_inputs_do_not_overflow_into_nan() {
    let m = metric(Direction::Higher, -f64::MAX, f64::MAX);
    assert_eq!(progress(&m, 0.0), 0.5);
    assert_eq!(progress(&m, f64::MAX), 1.0);
    assert_eq!(attainment_of(&m, -f64::MAX), 0.0);
    // A target a hair above the baseline: progress may be huge, attainment is still 1.
    let tiny = metric(Direction::Higher, 0.0, f64::MIN_POSITIVE);
    assert!(!progress(&tiny, f64::MAX).is_nan());
    assert_eq!(attainment_of(&tiny, f64::MAX), 1.0);
    assert_eq!(attainment_of(&tiny, -f64::MAX), 0.0);
}

// ---------------------------------------------------------------------------------------------
// The expected straight path
// ---------------------------------------------------------------------------------------------

#[test]
fn expected_path_runs_from_zero_at_start_to_one_at_target_date() {
    let (s, t) = (date(2026, 1, 1), date(2026, 1, 11));
    assert_eq!(expected_progress(s, t, s), 0.0);
    assert_eq!(expected_progress(s, t, date(2026, 1, 6)), 0.5);
    assert_eq!(expected_progress(s, t, date(2026, 1, 9)), 0.8);
    assert_eq!(expected_progress(s, t, t), 1.0);
    // Clamped outside the path.
    assert_eq!(expected_progress(s, t, date(2025, 12, 1)), 0.0);
    assert_eq!(expected_progress(s, t, date(2027, 1, 1)), 1.0);
}

#[test]
fn expected_path_with_target_date_on_or_before_start_is_a_step() {
    let s = date(2026, 6, 1);
    for t in [s, date(2026, 1, 1)] {
        assert_eq!(expected_progress(s, t, t), 1.0);
        assert_eq!(expected_progress(s, t, t + Duration::days(30)), 1.0);
        assert_eq!(expected_progress(s, t, t - Duration::days(1)), 0.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

#[test]
fn status_thresholds_at_the_target_date() {
    // Judged on the target date, so 100 % is expected and the shortfall is 1 − attainment.
    let m = metric(Direction::Higher, 0.0, 100.0);
    let on = |v: f64| status_of(&m, start(), &point_on(m.target_date, v));
    assert_eq!(on(100.0), Status::OnTrack);
    assert_eq!(on(120.0), Status::OnTrack);
    assert_eq!(
        on(90.0),
        Status::OnTrack,
        "a 10-point shortfall is on track"
    );
    assert_eq!(on(89.0), Status::AtRisk);
    assert_eq!(on(75.0), Status::AtRisk, "a 25-point shortfall is at risk");
    assert_eq!(on(74.0), Status::OffTrack);
    assert_eq!(on(-50.0), Status::OffTrack);
}

#[test]
fn status_thresholds_are_inclusive_despite_rounding() {
    // 80 % expected (day 8 of 10) and 70 % attained: 0.8 − 0.7 is 0.10000000000000009 in f64.
    let mut m = metric(Direction::Higher, 0.0, 10.0);
    m.target_date = date(2026, 1, 11);
    let p = point_on(date(2026, 1, 9), 7.0);
    assert_eq!(status_of(&m, start(), &p), Status::OnTrack);
    assert_eq!(
        status_of(&m, start(), &point_on(date(2026, 1, 9), 6.9)),
        Status::AtRisk
    );
}

#[test]
fn status_early_on_the_path_is_forgiving() {
    // Halfway through the year only half the progress is expected.
    let m = higher();
    let mid = date(2026, 7, 2); // day 182 of 365: expected ≈ 0.4986
    assert_eq!(
        status_of(&m, start(), &point_on(mid, 48.0)),
        Status::OnTrack
    ); // 0.4
    assert_eq!(status_of(&m, start(), &point_on(mid, 46.0)), Status::AtRisk); // 0.3
    assert_eq!(
        status_of(&m, start(), &point_on(mid, 44.0)),
        Status::OffTrack
    ); // 0.2
       // Before the start nothing is expected: even the baseline is on track.
    assert_eq!(
        status_of(&m, start(), &point_on(date(2025, 12, 1), 40.0)),
        Status::OnTrack
    );
}

#[test]
fn status_for_a_lower_is_better_metric() {
    let m = lower();
    let end = m.target_date;
    assert_eq!(
        status_of(&m, start(), &point_on(end, 11.0)),
        Status::OnTrack
    );
    assert_eq!(status_of(&m, start(), &point_on(end, 12.0)), Status::AtRisk);
    assert_eq!(
        status_of(&m, start(), &point_on(end, 13.0)),
        Status::OffTrack
    );
}

// ---------------------------------------------------------------------------------------------
// One metric's attainment
// ---------------------------------------------------------------------------------------------

#[test]
fn no_points_means_no_data() {
    let m = higher();
    let a = metric_attainment(&m, start(), &[]);
    assert_eq!(a.status, Status::NoData);
    assert_eq!(a.trend, Trend::Unknown);
    assert_eq!(a.latest, None);
    assert_eq!(a.progress, None);
    assert_eq!(a.attainment, None);
    assert_eq!(a.expected, None);
    assert_eq!(a.shortfall, None);
    assert_eq!(a.trend_per_period, None);
    assert_eq!(a.periods_reported, 0);
    assert_eq!(a.off_track_streak, 0);
    assert_eq!(a.metric_id, 1);
    assert_eq!(a.name, m.name);
    assert_eq!(a.category, m.category);
    assert_eq!(a.unit, "%");
    assert_eq!(a.direction, Direction::Higher);
    assert_eq!((a.baseline, a.target), (40.0, 60.0));
    assert_eq!((a.start, a.target_date), (start(), m.target_date));
}

#[test]
fn a_metric_without_id_reports_id_zero() {
    let mut m = higher();
    m.id = None;
    assert_eq!(metric_attainment(&m, start(), &[]).metric_id, 0);
}

#[test]
fn latest_is_the_latest_period_whatever_the_input_order() {
    let m = higher();
    let pts = [
        quarter(3, 52.0),
        quarter(0, 41.0),
        quarter(2, 48.0),
        quarter(1, 45.0),
    ];
    let a = metric_attainment(&m, start(), &pts);
    assert_eq!(a.latest, Some(quarter(3, 52.0)));
    assert_eq!(a.progress, Some(progress(&m, 52.0)));
    assert_eq!(a.attainment, Some(attainment_of(&m, 52.0)));
    let expected = expected_progress(start(), m.target_date, quarter(3, 0.0).period_end);
    assert_eq!(a.expected, Some(expected));
    assert_eq!(a.shortfall, Some(expected - attainment_of(&m, 52.0)));
    assert_eq!(a.status, status_of(&m, start(), &quarter(3, 52.0)));
    assert_eq!(a.periods_reported, 4);
}

#[test]
fn non_finite_values_are_ignored() {
    let m = higher();
    let pts = [
        quarter(0, 44.0),
        quarter(1, f64::NAN),
        quarter(2, f64::INFINITY),
        quarter(3, f64::NEG_INFINITY),
    ];
    let a = metric_attainment(&m, start(), &pts);
    assert_eq!(a.periods_reported, 1);
    assert_eq!(a.latest, Some(quarter(0, 44.0)));
    assert_eq!(a.trend, Trend::Unknown);
}

#[test]
fn attainment_serializes_with_wire_names() {
    let a = metric_attainment(&higher(), start(), &[quarter(0, 50.0), quarter(1, 55.0)]);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["status"], "on_track");
    assert_eq!(json["trend"], "improving");
    assert_eq!(json["category"], "clinical_quality");
    assert_eq!(json["direction"], "higher");
    assert_eq!(json["latest"]["period_start"], "2026-04-02");
    assert_eq!(Status::OnTrack.label(), "On track");
    assert_eq!(Trend::Unknown.label(), "Not enough data");
    assert_eq!("at_risk".parse::<Status>().unwrap(), Status::AtRisk);
    assert_eq!(Status::ALL.len(), 4);
    assert_eq!(Trend::ALL.len(), 4);
}

// ---------------------------------------------------------------------------------------------
// Trend
// ---------------------------------------------------------------------------------------------

#[test]
fn trend_needs_two_periods() {
    let a = metric_attainment(&higher(), start(), &[quarter(0, 50.0)]);
    assert_eq!(a.trend, Trend::Unknown);
    assert_eq!(a.trend_per_period, None);
}

#[test]
fn trend_improving_steady_and_worsening() {
    let m = higher(); // 1 unit of value = 0.05 of progress
    let improving = metric_attainment(
        &m,
        start(),
        &[quarter(0, 42.0), quarter(1, 44.0), quarter(2, 46.0)],
    );
    assert_eq!(improving.trend, Trend::Improving);
    assert!(close(improving.trend_per_period.unwrap(), 0.1));

    let worsening = metric_attainment(&m, start(), &[quarter(0, 46.0), quarter(1, 44.0)]);
    assert_eq!(worsening.trend, Trend::Worsening);
    assert!(close(worsening.trend_per_period.unwrap(), -0.1));

    let flat = metric_attainment(
        &m,
        start(),
        &[quarter(0, 45.0), quarter(1, 45.0), quarter(2, 45.0)],
    );
    assert_eq!(flat.trend, Trend::Steady);
    assert_eq!(flat.trend_per_period, Some(0.0));

    // 0.1 of value per period = 0.005 of progress: below the epsilon, so steady.
    let drift = metric_attainment(
        &m,
        start(),
        &[quarter(0, 45.0), quarter(1, 45.1), quarter(2, 45.2)],
    );
    assert_eq!(drift.trend, Trend::Steady);
    assert!(close(drift.trend_per_period.unwrap(), 0.005));
}

#[test]
fn trend_for_a_lower_is_better_metric_follows_progress_not_value() {
    let m = lower();
    let a = metric_attainment(
        &m,
        start(),
        &[quarter(0, 19.0), quarter(1, 17.0), quarter(2, 15.0)],
    );
    assert_eq!(
        a.trend,
        Trend::Improving,
        "falling values are improving when lower is better"
    );
    assert!(close(a.trend_per_period.unwrap(), 0.2));
}

#[test]
fn trend_uses_raw_progress_beyond_the_target() {
    // Attainment is 1 throughout, but raw progress keeps rising.
    let m = higher();
    let a = metric_attainment(
        &m,
        start(),
        &[quarter(0, 62.0), quarter(1, 64.0), quarter(2, 66.0)],
    );
    assert_eq!(a.trend, Trend::Improving);
    assert!(close(a.trend_per_period.unwrap(), 0.1));
}

#[test]
fn trend_looks_at_the_latest_window_only() {
    assert_eq!(TREND_WINDOW, 6);
    let m = higher();
    // A collapse long ago, then six flat periods.
    let mut pts = vec![quarter(0, 60.0), quarter(1, 30.0)];
    pts.extend((2..8).map(|k| quarter(k, 45.0)));
    let a = metric_attainment(&m, start(), &pts);
    assert_eq!(a.trend, Trend::Steady);
    assert_eq!(a.trend_per_period, Some(0.0));
    assert_eq!(a.periods_reported, 8);
}

#[test]
fn trend_slope_is_least_squares() {
    // Progress 0, 0.3, 0.3, 0.6 against 0..4: slope = Σ(x−x̄)(y−ȳ)/Σ(x−x̄)² = 0.9/5 = 0.18.
    let m = metric(Direction::Higher, 0.0, 10.0);
    let a = metric_attainment(
        &m,
        start(),
        &[
            quarter(0, 0.0),
            quarter(1, 3.0),
            quarter(2, 3.0),
            quarter(3, 6.0),
        ],
    );
    assert!(close(a.trend_per_period.unwrap(), 0.18), "{a:?}");
}

// ---------------------------------------------------------------------------------------------
// Off-track streak
// ---------------------------------------------------------------------------------------------

#[test]
fn off_track_streak_counts_the_latest_consecutive_off_track_periods() {
    // Target date the day after the start; with the target long past, everything below
    // 75 % attainment (value 55) is off track.
    let mut m = higher();
    m.target_date = start() + Duration::days(1);
    let pts = [
        quarter(0, 40.0), // off
        quarter(1, 59.0), // on
        quarter(2, 41.0), // off
        quarter(3, 42.0), // off
        quarter(4, 43.0), // off
    ];
    let a = metric_attainment(&m, start(), &pts);
    assert_eq!(a.status, Status::OffTrack);
    assert_eq!(a.off_track_streak, 3);

    let mut recovered = pts.to_vec();
    recovered.push(quarter(5, 58.0));
    let b = metric_attainment(&m, start(), &recovered);
    assert_eq!(b.status, Status::OnTrack);
    assert_eq!(b.off_track_streak, 0);

    let at_risk_last = metric_attainment(&m, start(), &[quarter(0, 40.0), quarter(1, 56.0)]);
    assert_eq!(at_risk_last.status, Status::AtRisk);
    assert_eq!(at_risk_last.off_track_streak, 0);
}

#[test]
fn each_period_is_judged_at_its_own_end() {
    // Early periods expect little, so the same value is on track early and off track later
    // (quarter 0 ends on day 90 of 365, quarter 3 on day 363; 44 is 20 % attainment).
    let m = higher();
    let pts = [quarter(0, 44.0), quarter(3, 44.0)];
    assert_eq!(status_of(&m, start(), &pts[0]), Status::OnTrack);
    assert_eq!(status_of(&m, start(), &pts[1]), Status::OffTrack);
    let a = metric_attainment(&m, start(), &pts);
    assert_eq!(a.off_track_streak, 1);
}

// ---------------------------------------------------------------------------------------------
// Roll-up
// ---------------------------------------------------------------------------------------------

/// A metric attainment in `category` with the given latest attainment (None = no data), judged
/// at the target date so the status follows directly from the attainment.
fn item(category: MetricCategory, attainment: Option<f64>) -> MetricAttainment {
    let mut m = metric(Direction::Higher, 0.0, 100.0);
    m.category = category;
    let pts: Vec<Point> = attainment
        .map(|a| point_on(m.target_date, a * 100.0))
        .into_iter()
        .collect();
    metric_attainment(&m, start(), &pts)
}

#[test]
fn default_weights_are_one_and_bad_weights_are_zero() {
    let d = CategoryWeights::default();
    for c in MetricCategory::ALL {
        assert_eq!(d.weight(*c), 1.0);
    }
    let w = CategoryWeights::from_pairs(&[
        (MetricCategory::Financial, 0.5),
        (MetricCategory::Access, -2.0),
        (MetricCategory::Workforce, f64::NAN),
        (MetricCategory::Operational, f64::INFINITY),
        (MetricCategory::ClinicalQuality, 3.0),
        (MetricCategory::ClinicalQuality, 2.0),
    ]);
    assert_eq!(w.weight(MetricCategory::Financial), 0.5);
    assert_eq!(w.weight(MetricCategory::Access), 0.0);
    assert_eq!(w.weight(MetricCategory::Workforce), 0.0);
    assert_eq!(w.weight(MetricCategory::Operational), 0.0);
    assert_eq!(
        w.weight(MetricCategory::ClinicalQuality),
        2.0,
        "the later pair wins"
    );
    assert_eq!(w.weight(MetricCategory::PatientExperience), 1.0);
    assert_eq!(CategoryWeights::from_pairs(&[]), d);
}

#[test]
fn rollup_per_category_and_overall() {
    use MetricCategory::*;
    let items = [
        item(Access, Some(0.5)),
        item(Financial, Some(1.0)),
        item(Access, Some(0.9)),
        item(Access, None),
        item(Workforce, None),
    ];
    let r = rollup(&items, &CategoryWeights::default());
    // Only categories with metrics, in MetricCategory::ALL order.
    let cats: Vec<MetricCategory> = r.categories.iter().map(|c| c.category).collect();
    assert_eq!(cats, vec![Financial, Access, Workforce]);
    let access = &r.categories[1];
    assert_eq!((access.metrics, access.with_data), (3, 2));
    assert!(
        close(access.attainment.unwrap(), 0.7),
        "no data does not count as 0 %"
    );
    assert_eq!(access.weight, 1.0);
    assert_eq!(r.categories[0].attainment, Some(1.0));
    assert_eq!(r.categories[2].attainment, None);
    assert_eq!(r.categories[2].with_data, 0);
    // Equal weights: the mean of the category means, not of the metrics.
    assert!(close(r.overall.unwrap(), 0.85));
    assert_eq!(
        (r.on_track, r.at_risk, r.off_track, r.no_data),
        (2, 0, 1, 2)
    );
}

#[test]
fn rollup_weights_shift_the_overall() {
    use MetricCategory::*;
    let items = [
        item(Financial, Some(0.2)),
        item(CommunityBenefit, Some(0.8)),
    ];
    let w = CategoryWeights::from_pairs(&[(Financial, 1.0), (CommunityBenefit, 3.0)]);
    let r = rollup(&items, &w);
    assert!(close(r.overall.unwrap(), (0.2 + 3.0 * 0.8) / 4.0));
    assert_eq!(r.categories[1].weight, 3.0);

    // A zero weight leaves the category out of the overall but not out of the list.
    let w = CategoryWeights::from_pairs(&[(Financial, 0.0)]);
    let r = rollup(&items, &w);
    assert_eq!(r.overall, Some(0.8));
    assert_eq!(r.categories.len(), 2);
    assert_eq!(r.categories[0].weight, 0.0);

    // Every weight zero: no overall.
    let w = CategoryWeights::from_pairs(&[(Financial, 0.0), (CommunityBenefit, -1.0)]);
    assert_eq!(rollup(&items, &w).overall, None);

    // Huge weights do not overflow.
    let w = CategoryWeights::from_pairs(&[(Financial, f64::MAX), (CommunityBenefit, f64::MAX)]);
    assert!(close(rollup(&items, &w).overall.unwrap(), 0.5));
}

#[test]
fn rollup_of_nothing_or_no_data() {
    let r = rollup(&[], &CategoryWeights::default());
    assert!(r.categories.is_empty());
    assert_eq!(r.overall, None);
    assert_eq!(
        (r.on_track, r.at_risk, r.off_track, r.no_data),
        (0, 0, 0, 0)
    );

    let r = rollup(
        &[item(MetricCategory::Access, None)],
        &CategoryWeights::default(),
    );
    assert_eq!(r.overall, None);
    assert_eq!(r.no_data, 1);
    assert_eq!(r.categories.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

fn finite() -> impl Strategy<Value = f64> {
    use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    prop_oneof![
        POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO,
        -1e6..1e6f64,
        -100.0..100.0f64,
        Just(0.0),
    ]
}

fn category() -> impl Strategy<Value = MetricCategory> {
    proptest::sample::select(MetricCategory::ALL)
}

fn direction() -> impl Strategy<Value = Direction> {
    proptest::sample::select(Direction::ALL)
}

/// A metric whose target is on the right side of its baseline for its direction (or equal to
/// it), with values in a range that reads like real data.
fn consistent_metric() -> impl Strategy<Value = Metric> {
    (
        direction(),
        -1e6..1e6f64,
        prop_oneof![1 => Just(0.0), 6 => 1e-6..1e6f64],
        category(),
        0i64..1500,
    )
        .prop_map(|(direction, baseline, delta, category, days)| {
            let target = match direction {
                Direction::Higher => baseline + delta,
                Direction::Lower => baseline - delta,
            };
            let mut m = metric(direction, baseline, target);
            m.category = category;
            m.target_date = start() + Duration::days(days - 30);
            m
        })
}

fn value_near(m: &Metric) -> impl Strategy<Value = f64> {
    let span = (m.target - m.baseline).abs().max(1.0);
    let lo = m.baseline.min(m.target) - 2.0 * span;
    let hi = m.baseline.max(m.target) + 2.0 * span;
    lo..hi
}

fn day() -> impl Strategy<Value = NaiveDate> {
    (-60i64..2000).prop_map(|d| start() + Duration::days(d))
}

/// Moves `v` a fraction `t` of the way to `target`, never past it.
fn toward(v: f64, target: f64, t: f64) -> f64 {
    let moved = v + t * (target - v);
    moved.clamp(v.min(target), v.max(target))
}

/// A metric with quarterly points (distinct, consecutive periods).
fn metric_with_points() -> impl Strategy<Value = (Metric, Vec<Point>)> {
    consistent_metric().prop_flat_map(|m| {
        let values = vec(value_near(&m), 0..8);
        (Just(m), values).prop_map(|(m, vs)| {
            let pts = vs
                .into_iter()
                .enumerate()
                .map(|(k, v)| quarter(k as i64, v))
                .collect();
            (m, pts)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// (1) Moving a value toward the target (not past it) never lowers attainment, for both
    /// directions and for baseline == target.
    #[test]
    fn closer_to_target_never_lowers_attainment(
        (m, v) in consistent_metric().prop_flat_map(|m| { let v = value_near(&m); (Just(m), v) }),
        t in 0.0..=1.0f64,
    ) {
        let closer = toward(v, m.target, t);
        let (before, after) = (attainment_of(&m, v), attainment_of(&m, closer));
        prop_assert!(after >= before, "{v} → {closer}: {before} → {after} ({m:?})");
    }

    /// (2) Attainment is always within [0, 1] and progress never NaN for finite inputs, whatever
    /// the direction and however extreme the numbers.
    #[test]
    fn attainment_is_bounded_and_never_nan(
        d in direction(), baseline in finite(), target in finite(), value in finite(),
    ) {
        let m = metric(d, baseline, target);
        let p = progress(&m, value);
        let a = attainment_of(&m, value);
        prop_assert!(!p.is_nan(), "progress NaN for {m:?} at {value}");
        prop_assert!((0.0..=1.0).contains(&a), "attainment {a} for {m:?} at {value}");
    }

    /// (2b) Expected progress is within [0, 1] and never decreases with time.
    #[test]
    fn expected_progress_is_bounded_and_monotone(s in day(), t in day(), a in day(), b in day()) {
        let (early, late) = if a <= b { (a, b) } else { (b, a) };
        let (e, l) = (expected_progress(s, t, early), expected_progress(s, t, late));
        prop_assert!((0.0..=1.0).contains(&e) && (0.0..=1.0).contains(&l));
        prop_assert!(l >= e);
    }

    /// (3) A better value (in the metric's direction) never gives a worse status.
    #[test]
    fn better_value_never_gives_a_worse_status(
        (m, v) in consistent_metric().prop_flat_map(|m| { let v = value_near(&m); (Just(m), v) }),
        gain in 0.0..1e6f64,
        end in day(),
    ) {
        let better = match m.direction {
            Direction::Higher => v + gain,
            Direction::Lower => v - gain,
        };
        let s0 = status_of(&m, start(), &point_on(end, v));
        let s1 = status_of(&m, start(), &point_on(end, better));
        prop_assert!(rank(s1) >= rank(s0), "{v} {s0:?} → {better} {s1:?} ({m:?})");
        prop_assert_ne!(s0, Status::NoData);
    }

    /// (4) The overall roll-up lies within the smallest and largest counted category attainment.
    #[test]
    fn overall_is_within_the_category_range(
        metrics in vec(metric_with_points(), 0..10),
        weights in vec((category(), prop_oneof![Just(0.0), 0.0..5.0f64, Just(-1.0)]), 0..7),
    ) {
        let items: Vec<MetricAttainment> =
            metrics.iter().map(|(m, pts)| metric_attainment(m, start(), pts)).collect();
        let w = CategoryWeights::from_pairs(&weights);
        let r = rollup(&items, &w);
        let counted: Vec<f64> = r.categories.iter()
            .filter(|c| c.weight > 0.0)
            .filter_map(|c| c.attainment)
            .collect();
        match r.overall {
            None => prop_assert!(counted.is_empty()),
            Some(o) => {
                let lo = counted.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = counted.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                prop_assert!(lo <= o && o <= hi, "{o} not in [{lo}, {hi}]");
                prop_assert!((0.0..=1.0).contains(&o));
            }
        }
        prop_assert_eq!(r.on_track + r.at_risk + r.off_track + r.no_data, items.len());
        prop_assert_eq!(r.categories.iter().map(|c| c.metrics).sum::<usize>(), items.len());
    }

    /// (5) Moving one metric's latest value toward its target never lowers the overall roll-up.
    #[test]
    fn raising_one_metric_never_lowers_the_overall(
        metrics in vec(metric_with_points(), 1..10),
        which in any::<proptest::sample::Index>(),
        t in 0.0..=1.0f64,
        weights in vec((category(), 0.0..5.0f64), 0..7),
    ) {
        let w = CategoryWeights::from_pairs(&weights);
        let items = |ms: &[(Metric, Vec<Point>)]| -> Vec<MetricAttainment> {
            ms.iter().map(|(m, pts)| metric_attainment(m, start(), pts)).collect()
        };
        let before = rollup(&items(&metrics), &w);
        let mut changed = metrics.clone();
        let (m, pts) = &mut changed[which.index(metrics.len())];
        if let Some(last) = pts.last_mut() {
            last.value = toward(last.value, m.target, t);
        }
        let after = rollup(&items(&changed), &w);
        match (before.overall, after.overall) {
            (None, None) => {}
            (Some(b), Some(a)) => prop_assert!(a >= b, "{b} → {a}"),
            other => prop_assert!(false, "data changed presence: {other:?}"),
        }
    }

    /// (6) The order of the input points does not matter.
    #[test]
    fn point_order_does_not_matter(
        m in consistent_metric(),
        pts in vec((day(), 0i64..120, prop_oneof![8 => -1e3..1e3f64, 1 => Just(f64::NAN), 1 => Just(f64::INFINITY)]), 0..12),
        seed in any::<u64>(),
    ) {
        let pts: Vec<Point> = pts.into_iter()
            .map(|(s, len, value)| Point { period_start: s, period_end: s + Duration::days(len), value })
            .collect();
        let mut shuffled = pts.clone();
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let a = metric_attainment(&m, start(), &pts);
        let b = metric_attainment(&m, start(), &shuffled);
        prop_assert_eq!(&a, &b);
        prop_assert!(a.off_track_streak <= a.periods_reported);
        prop_assert_eq!(a.status == Status::NoData, a.periods_reported == 0);
        prop_assert!(a.trend_per_period.is_some() == (a.periods_reported >= 2));
    }
}
