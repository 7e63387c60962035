//! `verdict()` on a large charter (target: under 100 µs), with `Charter::validate` and
//! `charter_diff::diff` on the same charter as secondary benches.
//!
//! Run: `cargo bench -p concord-domain --bench verdict`

use std::hint::black_box;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};

use concord_domain::charter::*;
use concord_domain::charter_diff::diff;
use concord_domain::verdict::{verdict, PartyRef, VerdictInput, VerdictKind};
use concord_domain::{OrgId, UserId};

const PARTIES: [OrgId; 3] = [OrgId(1), OrgId(2), OrgId(3)];
const NAMES: [&str; 3] = [
    "Riverside Health System",
    "Harbor Community Clinic",
    "Northgate Pharmacy Group",
];

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn party(i: usize) -> OrgId {
    PARTIES[i % PARTIES.len()]
}

/// 3 parties, 50 goals, 6 alone goals, 200 metrics, 30 commitments, 100 stakes, 10 tradeoffs,
/// 20 areas, 6 alliance managers, 6 steering members, 10 ideas, 5 exit criteria, 10 value flows.
/// No ids: `validate` assigns them.
fn big_charter() -> Charter {
    let starts = date(2026, 1, 1);
    Charter {
        summary: "A regional partnership for chronic disease management across three counties, \
                  with shared care pathways, shared data and a joint workforce programme."
            .into(),
        starts_on: Some(starts),
        ends_on: Some(date(2029, 12, 31)),
        goals: (0..50)
            .map(|i| Goal {
                id: None,
                title: format!("Shared goal number {i}"),
                description: format!("What shared goal {i} means for patients in the region."),
                community_benefit: i % 3 == 0,
            })
            .collect(),
        alone_goals: (0..6)
            .map(|i| AloneGoal {
                party: party(i),
                goal: format!("Goal {i} this party could not reach alone"),
                why: "It lacks the clinicians, the sites or the data to do it.".into(),
            })
            .collect(),
        metrics: (0..200)
            .map(|i| {
                let category = MetricCategory::ALL[i % MetricCategory::ALL.len()];
                let higher = i % 2 == 0;
                Metric {
                    id: None,
                    name: format!("Success metric {i:03}"),
                    category,
                    unit: "%".into(),
                    direction: if higher {
                        Direction::Higher
                    } else {
                        Direction::Lower
                    },
                    baseline: 40.0 + i as f64 / 10.0,
                    target: if higher { 60.0 } else { 20.0 } + i as f64 / 10.0,
                    target_date: starts + Duration::days(365 + i as i64),
                    cadence: ReportingCadence::ALL[i % ReportingCadence::ALL.len()],
                    owner: party(i),
                }
            })
            .collect(),
        commitments: (0..30)
            .map(|i| Commitment {
                id: None,
                party: party(i),
                what: format!("Commitment {i}: deliver the agreed piece of work"),
                due_on: starts + Duration::days(30 * i as i64),
                status: CommitmentStatus::Open,
            })
            .collect(),
        stakes: (0..100)
            .map(|i| Stake {
                party: party(i),
                // parties cycle with period 3, kinds with period 2: every party gets both kinds
                kind: if i % 2 == 0 {
                    StakeKind::Benefit
                } else {
                    StakeKind::Risk
                },
                description: format!("Stake line {i}: what is gained or put at risk"),
                magnitude: Magnitude::ALL[i % Magnitude::ALL.len()],
            })
            .collect(),
        tradeoffs: (0..10)
            .map(|i| Tradeoff {
                party: party(i),
                description: format!("Tradeoff {i} accepted openly"),
            })
            .collect(),
        coopetition: Coopetition {
            areas: (0..20)
                .map(|i| Area {
                    kind: AreaKind::ALL[i % AreaKind::ALL.len()],
                    name: format!("Area {i}"),
                    stance: if i < 15 {
                        Stance::Cooperate
                    } else {
                        Stance::Compete
                    },
                })
                .collect(),
            no_competing_areas: false,
        },
        governance: Governance {
            alliance_managers: (0..6)
                .map(|i| AllianceManager {
                    party: party(i),
                    user_id: UserId(100 + i as i64),
                })
                .collect(),
            steering_group: (0..6)
                .map(|i| SteeringMember {
                    party: party(i),
                    name: format!("Steering member {i}"),
                    title: "Director".into(),
                })
                .collect(),
            meeting_cadence: Some(MeetingCadence::Monthly),
            review_interval_months: Some(12),
        },
        innovation_agenda: (0..10)
            .map(|i| Idea {
                id: None,
                title: format!("Idea {i}"),
                description: "Something to explore together later.".into(),
                status: IdeaStatus::ALL[i % IdeaStatus::ALL.len()],
            })
            .collect(),
        exit_criteria: (0..5).map(|i| format!("Exit criterion {i}")).collect(),
        // Referral flows first, so the finder's-fee check walks past them.
        value_flows: (0..10)
            .map(|i| ValueFlow {
                from: party(i),
                to: party(i + 1),
                kind: ValueFlowKind::ALL[(i + 2) % ValueFlowKind::ALL.len()],
                description: format!("Flow {i}"),
            })
            .collect(),
    }
}

fn refs() -> Vec<PartyRef<'static>> {
    PARTIES
        .iter()
        .zip(NAMES)
        .map(|(&id, name)| PartyRef { id, name })
        .collect()
}

fn active() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
}

/// `metric_agreed_at` for every metric, in id order. With `early = Some(k)` only the metric with
/// id k was agreed before going active; the others a month after.
fn agreed(c: &Charter, early: Option<u32>) -> Vec<(u32, DateTime<Utc>)> {
    c.metrics
        .iter()
        .map(|m| {
            let id = m.id.unwrap();
            let at = if Some(id) == early {
                active() - Duration::days(30)
            } else {
                active() + Duration::days(30)
            };
            (id, at)
        })
        .collect()
}

fn bench_verdict(cr: &mut Criterion) {
    let c = big_charter().validate(&PARTIES, None).unwrap();
    assert_eq!(c.goals.len(), 50);
    assert_eq!(c.metrics.len(), 200);
    assert_eq!(c.stakes.len(), 100);
    let parties = refs();
    let last_id = c.metrics.last().unwrap().id;
    let first_id = c.metrics.first().unwrap().id;
    // Worst case for the timing rule: only the last metric was agreed before go-live, so every
    // metric is looked up in `metric_agreed_at` (200 × up to 200 comparisons).
    let late = agreed(&c, last_id);
    // Typical case: the first metric already settles the timing rule.
    let early = agreed(&c, first_id);
    // No metric agreed before go-live: the rule fails after scanning everything.
    let none = agreed(&c, None);

    let input = |agreed| VerdictInput {
        charter: Some(&c),
        parties: &parties,
        acknowledged: &PARTIES,
        went_active_at: Some(active()),
        metric_agreed_at: agreed,
    };
    assert_eq!(verdict(&input(&late)).verdict, VerdictKind::Strategic);
    assert_eq!(verdict(&input(&early)).verdict, VerdictKind::Strategic);
    assert_eq!(verdict(&input(&none)).verdict, VerdictKind::PartlyStrategic);

    let mut g = cr.benchmark_group("verdict");
    g.bench_function("big_charter_timing_scans_all_metrics", |b| {
        let i = input(&late);
        b.iter(|| verdict(black_box(&i)))
    });
    g.bench_function("big_charter_first_metric_early", |b| {
        let i = input(&early);
        b.iter(|| verdict(black_box(&i)))
    });
    g.bench_function("big_charter_no_metric_early", |b| {
        let i = input(&none);
        b.iter(|| verdict(black_box(&i)))
    });
    g.bench_function("no_charter", |b| {
        let i = VerdictInput {
            charter: None,
            ..input(&late)
        };
        b.iter(|| verdict(black_box(&i)))
    });
    g.finish();
}

fn bench_validate(cr: &mut Criterion) {
    let raw = big_charter();
    let prior = raw.validate(&PARTIES, None).unwrap();
    let mut g = cr.benchmark_group("validate");
    g.bench_function("big_charter_new", |b| {
        b.iter(|| black_box(&raw).validate(&PARTIES, None).unwrap())
    });
    g.bench_function("big_charter_against_prior", |b| {
        b.iter(|| {
            black_box(&prior)
                .validate(&PARTIES, Some(black_box(&prior)))
                .unwrap()
        })
    });
    g.finish();
}

fn bench_diff(cr: &mut Criterion) {
    let a = big_charter().validate(&PARTIES, None).unwrap();
    let mut b = a.clone();
    b.summary.push_str(" Revised at the first review.");
    for m in b.metrics.iter_mut().step_by(10) {
        m.target += 5.0
            * if m.direction == Direction::Higher {
                1.0
            } else {
                -1.0
            };
    }
    b.goals.drain(10..15);
    for i in 0..5 {
        b.goals.push(Goal {
            id: Some(100 + i),
            title: format!("New goal {i}"),
            description: String::new(),
            community_benefit: false,
        });
    }
    for s in b.stakes.iter_mut().step_by(10) {
        s.magnitude = Magnitude::High;
    }
    b.governance.meeting_cadence = Some(MeetingCadence::Quarterly);
    b.value_flows.pop();
    let changes = diff(&a, &b);
    assert!(changes.len() > 40, "{}", changes.len());

    let same = a.clone();
    let mut g = cr.benchmark_group("diff");
    g.bench_function("big_charters_with_edits", |bn| {
        bn.iter(|| diff(black_box(&a), black_box(&b)))
    });
    g.bench_function("big_charters_identical", |bn| {
        bn.iter(|| diff(black_box(&a), black_box(&same)))
    });
    g.finish();
}

criterion_group!(benches, bench_verdict, bench_validate, bench_diff);
criterion_main!(benches);
