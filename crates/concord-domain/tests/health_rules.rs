//! The health score's properties and the early-warning rules at their boundaries.

use chrono::NaiveDate;
use proptest::prelude::*;

use concord_domain::health::score::{
    driver_values, score, trend, DepartedKeyPerson, DriverKey, DriverValue, HealthInputs,
    ReviewTiming, SharedRisk, TrendDirection, Weights,
};
use concord_domain::health::warnings::{detect, WarningRule, WarningRules};
use concord_domain::health::StakeholderRole;
use concord_domain::meeting::Adherence;
use concord_domain::OrgId;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn values(vs: &[Option<f64>]) -> Vec<DriverValue> {
    DriverKey::ALL
        .iter()
        .zip(vs)
        .map(|(k, v)| DriverValue {
            key: *k,
            value: *v,
            detail: String::new(),
            link: String::new(),
        })
        .collect()
}

fn weights(ws: &[f64]) -> Weights {
    let mut w = Weights::default();
    for (k, x) in DriverKey::ALL.iter().zip(ws) {
        w.set(*k, *x);
    }
    w
}

fn arb_values() -> impl Strategy<Value = Vec<Option<f64>>> {
    prop::collection::vec(prop::option::of(0.0f64..=1.0), 8)
}

fn arb_weights() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.0f64..=100.0, 8)
}

proptest! {
    #[test]
    fn score_is_between_0_and_100(v in arb_values(), w in arb_weights()) {
        let s = score(&values(&v), &weights(&w));
        if let Some(x) = s.score {
            prop_assert!((0.0..=100.0).contains(&x));
        }
    }

    #[test]
    fn raising_a_driver_never_lowers_the_score(v in arb_values(), w in arb_weights(), i in 0usize..8, up in 0.0f64..=1.0) {
        let w = weights(&w);
        let before = score(&values(&v), &w).score;
        let mut v2 = v.clone();
        if let Some(x) = v2[i] {
            v2[i] = Some((x + up).min(1.0));
            let after = score(&values(&v2), &w).score;
            prop_assert!(after.unwrap_or(0.0) + 1e-9 >= before.unwrap_or(0.0));
        }
    }

    #[test]
    fn scaling_weights_changes_nothing(v in arb_values(), w in arb_weights(), k in 0.01f64..=1.0) {
        let a = score(&values(&v), &weights(&w)).score;
        let scaled: Vec<f64> = w.iter().map(|x| x * k).collect();
        let b = score(&values(&v), &weights(&scaled)).score;
        match (a, b) {
            (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-6),
            (None, None) => {}
            (a, b) => prop_assert!(false, "{a:?} vs {b:?}"),
        }
    }

    #[test]
    fn contributions_add_up_to_the_score(v in arb_values(), w in arb_weights()) {
        let s = score(&values(&v), &weights(&w));
        let sum: f64 = s.drivers.iter().map(|d| d.contribution).sum();
        prop_assert!((s.score.unwrap_or(0.0) - sum).abs() < 1e-6);
    }
}

#[test]
fn all_ones_is_100_and_all_zeros_is_0() {
    let w = Weights::default();
    assert_eq!(score(&values(&[Some(1.0); 8]), &w).score, Some(100.0));
    assert_eq!(score(&values(&[Some(0.0); 8]), &w).score, Some(0.0));
    assert_eq!(score(&values(&[None; 8]), &w).score, None);
}

#[test]
fn drivers_without_data_are_renormalised_away() {
    let mut v = [None; 8];
    v[0] = Some(0.5);
    let s = score(&values(&v), &Weights::default());
    assert_eq!(s.score, Some(50.0));
    assert_eq!(s.drivers.len(), 8);
    assert_eq!(s.drivers[1].contribution, 0.0);
}

#[test]
fn weights_validate_names_the_field() {
    let mut w = Weights::default();
    w.set(DriverKey::SurveyLevel, 101.0);
    let e = w.validate().unwrap_err();
    assert_eq!(e.errors()[0].field, "weights.survey_level");
    let zero = weights(&[0.0; 8]);
    assert!(zero.validate().is_err());
    assert!(Weights::default().validate().is_ok());
}

#[test]
fn trend_compares_with_30_days_ago() {
    let today = d("2026-06-30");
    let h = vec![
        (d("2026-05-01"), 60.0),
        (d("2026-05-31"), 70.0),
        (today, 80.0),
    ];
    let t = trend(&h, today);
    assert_eq!(t.delta_30d, Some(10.0));
    assert_eq!(t.direction, TrendDirection::Up);
    let t = trend(&[(today, 80.0)], today);
    assert_eq!(t.direction, TrendDirection::Unknown);
    let t = trend(&[(d("2026-05-01"), 81.0), (today, 80.0)], today);
    assert_eq!(t.direction, TrendDirection::Steady);
}

fn base() -> HealthInputs {
    HealthInputs::empty(7, d("2026-06-30"))
}

fn rules_of(inp: &HealthInputs) -> Vec<WarningRule> {
    detect(inp, &WarningRules::default())
        .into_iter()
        .map(|w| w.rule)
        .collect()
}

#[test]
fn nothing_raises_nothing() {
    assert!(rules_of(&base()).is_empty());
    let v = driver_values(&base());
    assert_eq!(v.len(), 8);
    // With nothing measured yet (no values, commitments, meetings or survey), risks and
    // continuity alone give no score: an untested partnership does not look perfect.
    let s = score(&v, &Weights::default());
    assert_eq!(s.score, None);
    assert!(s.drivers.iter().all(|d| d.contribution == 0.0));
}

fn adherence(ratio: f64) -> Adherence {
    Adherence {
        cadence: None,
        window_start: d("2025-07-01"),
        window_end: d("2026-06-30"),
        expected: 4,
        held: (ratio * 4.0) as u32,
        ratio: Some(ratio),
        last_held: Some(d("2026-03-01")),
        next_due: None,
    }
}

#[test]
fn cadence_below_75_percent_warns() {
    let mut inp = base();
    inp.cadence = Some(adherence(0.75));
    assert!(!rules_of(&inp).contains(&WarningRule::CadenceLow));
    inp.cadence = Some(adherence(0.74));
    assert!(rules_of(&inp).contains(&WarningRule::CadenceLow));
}

fn risk(l: u8, i: u8, mitigated: bool) -> SharedRisk {
    SharedRisk {
        id: 3,
        title: "Data sharing".into(),
        likelihood: l,
        impact: i,
        mitigated,
        review_on: None,
    }
}

#[test]
fn high_risk_without_mitigation_warns() {
    let mut inp = base();
    inp.risks = vec![risk(3, 5, true)];
    assert!(rules_of(&inp).is_empty());
    inp.risks = vec![risk(2, 5, false)]; // 10 < 15
    assert!(rules_of(&inp).is_empty());
    inp.risks = vec![risk(3, 5, false)]; // 15
    assert_eq!(rules_of(&inp), vec![WarningRule::HighRiskUnmitigated]);
    let v = driver_values(&inp);
    // One unmitigated high risk counts double: 1 - 2/3.
    assert!((v[5].value.unwrap() - 1.0 / 3.0).abs() < 1e-9);
}

#[test]
fn departed_key_person_without_briefed_successor_warns() {
    let mut inp = base();
    let mut p = DepartedKeyPerson {
        stakeholder_id: 4,
        name: "Dana".into(),
        role: StakeholderRole::Champion,
        organization_id: OrgId(1),
        departed_on: Some(d("2026-06-01")),
        successor_briefed: true,
    };
    inp.departed = vec![p.clone()];
    assert!(rules_of(&inp).is_empty());
    p.successor_briefed = false;
    inp.departed = vec![p];
    assert_eq!(rules_of(&inp), vec![WarningRule::KeyPersonDeparted]);
    assert_eq!(driver_values(&inp)[6].value, Some(0.5));
}

#[test]
fn overdue_review_warns() {
    let mut inp = base();
    inp.reviews = ReviewTiming {
        next_due: Some(d("2026-06-30")),
        open: None,
    };
    assert!(rules_of(&inp).is_empty());
    assert_eq!(driver_values(&inp)[7].value, Some(1.0));
    inp.reviews.next_due = Some(d("2026-06-29"));
    assert_eq!(rules_of(&inp), vec![WarningRule::ReviewOverdue]);
    inp.reviews = ReviewTiming {
        next_due: None,
        open: Some((2, d("2026-04-01"))),
    };
    let w = detect(&inp, &WarningRules::default());
    assert_eq!(w[0].key, "review_overdue:2:2026-04-01");
    assert_eq!(w[0].link, "/partnerships/7/reviews/2");
    // 90 days overdue → 0.
    assert_eq!(driver_values(&inp)[7].value, Some(0.0));
}

#[test]
fn commitment_late_by_more_than_30_days_warns() {
    use concord_domain::charter::CommitmentStatus;
    use concord_domain::review::CommitmentState;
    let mut inp = base();
    let c = |days: i64| CommitmentState {
        id: 2,
        party: OrgId(1),
        what: "Share the data".into(),
        due_on: d("2026-06-30") - chrono::Days::new(days as u64),
        status: CommitmentStatus::Late,
        late: true,
        days_late: Some(days),
        last_report: None,
    };
    inp.commitments = vec![c(30)];
    assert!(rules_of(&inp).is_empty());
    inp.commitments = vec![c(31)];
    assert_eq!(rules_of(&inp), vec![WarningRule::CommitmentLate]);
    assert_eq!(driver_values(&inp)[1].value, Some(0.0));
}
