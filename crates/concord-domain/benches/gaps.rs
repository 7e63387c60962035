//! `detect_gaps` on a big journey (the target: under 1 ms for 200 stages, 400 handoffs,
//! 300 assumptions and 2,000 feedback items), with `Design::validate` on the same design as a
//! secondary bench.
//!
//! Run: `cargo bench -p concord-domain --bench gaps`

use std::collections::BTreeMap;
use std::hint::black_box;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};

use concord_domain::journey::*;
use concord_domain::OrgId;

const PARTIES: [OrgId; 3] = [OrgId(1), OrgId(2), OrgId(3)];
const STAGES: u32 = 200;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 9, 0, 0).unwrap()
}

/// 200 stages in blocks of 10 per party (so some handoffs cross parties), 400 handoffs, 300
/// assumptions (every third invalidated, each linked to 2–3 stages), every kind of gap present
/// on some stages but most stages complete.
fn big_design() -> Design {
    let stages = (1..=STAGES)
        .map(|id| {
            // Signed, so `i % n == 0` stays plain arithmetic (`is_multiple_of` needs Rust 1.87;
            // the workspace supports 1.85).
            let i = i64::from(id);
            Stage {
                id: Some(id),
                position: None,
                name: format!("Stage {id}: a step on the way from referral to care"),
                // Every 25th stage has no owner yet.
                owner: (i % 25 != 0).then_some(PARTIES[(id as usize / 10) % PARTIES.len()]),
                touchpoints: vec![
                    Touchpoint {
                        channel: Channel::ALL[id as usize % Channel::ALL.len()],
                        description: "Where the patient meets the party".into(),
                        support: false,
                    },
                    Touchpoint {
                        channel: Channel::Text,
                        description: "Reminder text".into(),
                        // Every 4th stage has a support touchpoint.
                        support: i % 4 == 0,
                    },
                ],
                know: if i % 19 == 0 {
                    String::new()
                } else {
                    "What happens at this step and who to call with questions".into()
                },
                feel: if i % 31 == 0 {
                    String::new()
                } else {
                    "Looked after, not passed around".into()
                },
                act: "Turn up, bring the letter, ask questions".into(),
                // Every 6th stage expects a 10-day wait (a lull unless supported).
                days_to_next: Some(if i % 6 == 0 { 10 } else { 2 }),
                next_step: if i % 23 == 0 {
                    String::new()
                } else {
                    "The next party calls within two days".into()
                },
                // Half the stages revised before the invalidations (day 10), half after.
                revised_at: Some(if i % 2 == 0 { at(5) } else { at(20) }),
            }
        })
        .collect();
    let handoffs: Vec<Handoff> = (1..STAGES)
        .map(|id| (id, id + 1))
        .chain((0..(400 - (STAGES - 1))).map(|k| {
            let from = k % STAGES + 1;
            let mut to = (k * 7 + 3) % STAGES + 1;
            if to == from {
                to = to % STAGES + 1;
            }
            (from, to)
        }))
        .enumerate()
        .map(|(k, (from, to))| Handoff {
            id: Some(k as u32 + 1),
            from_stage: from,
            to_stage: to,
            channel: (k % 13 != 0).then_some(Channel::Portal),
            information: if k % 11 == 0 {
                String::new()
            } else {
                "Referral letter, medication list, consent to share".into()
            },
        })
        .collect();
    assert_eq!(handoffs.len(), 400);
    let assumptions = (0..300u32)
        .map(|k| {
            let first = k * 17 % STAGES + 1;
            let links = if k % 2 == 0 { 2 } else { 3 };
            let invalidated = k % 3 == 0;
            Assumption {
                id: Some(k + 1),
                statement: format!("Patients in group {k} can use the portal without help"),
                status: if invalidated {
                    AssumptionStatus::Invalidated
                } else if k % 3 == 1 {
                    AssumptionStatus::Validated
                } else {
                    AssumptionStatus::Untested
                },
                evidence: if invalidated {
                    "Trial run: 4 of 6 participants needed a phone call".into()
                } else {
                    String::new()
                },
                stages: (0..links).map(|j| (first + j * 41) % STAGES + 1).collect(),
                status_changed_at: invalidated.then(|| at(10)),
            }
        })
        .collect();
    Design {
        stages,
        handoffs,
        assumptions,
        ..Design::default()
    }
}

/// 2,000 feedback items: mixed severities, a quarter addressed, 50 about stages no longer in
/// the design.
fn big_feedback() -> Vec<(u32, Severity, bool, String)> {
    (0..2000u32)
        .map(|k| {
            let stage = if k < 50 {
                STAGES + 1 + k
            } else {
                k * 13 % STAGES + 1
            };
            (
                stage,
                Severity::ALL[k as usize % Severity::ALL.len()],
                k % 4 == 0,
                format!(
                    "Participant P-{:03} waited for a call that did not come",
                    k % 60
                ),
            )
        })
        .collect()
}

fn bench_gaps(cr: &mut Criterion) {
    let raw = big_design();
    let design = raw
        .validate(&PARTIES, (0, 0, 0))
        .expect("the bench design is valid");
    assert_eq!(design.stages.len(), 200);
    assert_eq!(design.handoffs.len(), 400);
    assert_eq!(design.assumptions.len(), 300);
    let items = big_feedback();
    let feedback: Vec<FeedbackRef<'_>> = items
        .iter()
        .enumerate()
        .map(|(i, (stage, severity, addressed, what))| FeedbackRef {
            id: i as i64 + 1,
            stage: *stage,
            severity: *severity,
            addressed: *addressed,
            what_happened: what,
        })
        .collect();
    assert_eq!(feedback.len(), 2000);

    let gaps = detect_gaps(&design, DEFAULT_LULL_DAYS, &feedback);
    let mut by_kind: BTreeMap<GapKind, usize> = BTreeMap::new();
    for g in &gaps {
        *by_kind.entry(g.kind).or_default() += 1;
    }
    eprintln!("{} gaps: {by_kind:?}", gaps.len());
    // Every kind is present, as in a real journey under review.
    assert_eq!(by_kind.len(), GapKind::ALL.len(), "{by_kind:?}");

    let mut g = cr.benchmark_group("journey_gaps");
    g.bench_function(
        "detect_200_stages_400_handoffs_300_assumptions_2000_feedback",
        |b| {
            b.iter(|| {
                detect_gaps(
                    black_box(&design),
                    black_box(DEFAULT_LULL_DAYS),
                    black_box(&feedback),
                )
            })
        },
    );
    g.finish();

    let mut g = cr.benchmark_group("journey_validate");
    g.bench_function("design_200_stages_400_handoffs_300_assumptions", |b| {
        b.iter(|| black_box(&raw).validate(black_box(&PARTIES), (0, 0, 0)))
    });
    g.finish();
}

criterion_group!(benches, bench_gaps);
criterion_main!(benches);
