//! The journey rules through the crate's public API: `Design::validate`,
//! `JourneyInput::validate`, `TrialRunInput::validate`, `is_pseudonymous`, `Design::stamp` and
//! `detect_gaps`. Unit tests pin each gap kind both ways and each refusal with its field and
//! code; property tests check what must hold for every design (determinism, gaps only on stages
//! of the design and in journey order, monotonicity when filling things in, a complete design
//! has no gaps, idempotent validation).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use proptest::collection::vec;
use proptest::prelude::*;

use concord_domain::journey::*;
use concord_domain::{OrgId, ValidationErrors};

const A: OrgId = OrgId(1);
const B: OrgId = OrgId(2);
const C: OrgId = OrgId(3);
const OUTSIDER: OrgId = OrgId(99);
const PARTIES: [OrgId; 2] = [A, B];

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn touchpoint(channel: Channel, support: bool) -> Touchpoint {
    Touchpoint {
        channel,
        description: if support {
            "Check-in call".into()
        } else {
            "Visit".into()
        },
        support,
    }
}

/// A stage with nothing missing: owner, know/feel/do, next step, a short wait.
fn stage(id: u32, name: &str, owner: OrgId) -> Stage {
    Stage {
        id: Some(id),
        position: None,
        name: name.into(),
        owner: Some(owner),
        touchpoints: vec![touchpoint(Channel::InPerson, false)],
        know: "Why they are referred and to whom".into(),
        feel: "Confident someone is looking after them".into(),
        act: "Book the appointment".into(),
        days_to_next: Some(2),
        next_step: "The clinic calls to book".into(),
        revised_at: None,
    }
}

/// A handoff with a channel and information.
fn handoff(id: u32, from: u32, to: u32) -> Handoff {
    Handoff {
        id: Some(id),
        from_stage: from,
        to_stage: to,
        channel: Some(Channel::Portal),
        information: "Referral letter and recent X-rays".into(),
    }
}

fn assumption(id: u32, status: AssumptionStatus, stages: &[u32]) -> Assumption {
    Assumption {
        id: Some(id),
        statement: format!("Assumption {id} about the patient"),
        status,
        evidence: String::new(),
        stages: stages.to_vec(),
        status_changed_at: None,
    }
}

fn fb(id: i64, stage: u32, severity: Severity, addressed: bool) -> FeedbackRef<'static> {
    FeedbackRef {
        id,
        stage,
        severity,
        addressed,
        what_happened: "Nobody called back",
    }
}

/// Referral from primary care (A) to dental (B): three stages, a cross-party handoff 1→2 and a
/// same-party handoff 2→3, nothing missing.
fn complete() -> Design {
    Design {
        stages: vec![
            stage(1, "GP visit", A),
            stage(2, "Dental intake", B),
            stage(3, "Dental treatment", B),
        ],
        handoffs: vec![handoff(1, 1, 2), handoff(2, 2, 3)],
        assumptions: vec![assumption(1, AssumptionStatus::Untested, &[1, 2])],
        ..Design::default()
    }
}

fn gaps(d: &Design) -> Vec<Gap> {
    detect_gaps(d, DEFAULT_LULL_DAYS, &[])
}

fn kinds(g: &[Gap]) -> Vec<(GapKind, Option<u32>)> {
    g.iter().map(|g| (g.kind, g.stage)).collect()
}

fn fields(e: &ValidationErrors) -> Vec<(&str, &str)> {
    e.errors()
        .iter()
        .map(|e| (e.field.as_str(), e.code.as_str()))
        .collect()
}

fn has(e: &ValidationErrors, field: &str, code: &str) -> bool {
    e.errors()
        .iter()
        .any(|x| x.field == field && x.code == code)
}

fn stage_mut(d: &mut Design, id: u32) -> &mut Stage {
    d.stages.iter_mut().find(|s| s.id == Some(id)).unwrap()
}

#[test]
fn complete_design_has_no_gaps() {
    assert_eq!(gaps(&complete()), vec![]);
    assert!(complete().validate(&PARTIES, (0, 0, 0)).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Gap kinds, each both ways
// ---------------------------------------------------------------------------------------------

#[test]
fn stage_without_owner_is_a_gap() {
    let mut d = complete();
    stage_mut(&mut d, 2).owner = None;
    let g = gaps(&d);
    assert_eq!(kinds(&g), vec![(GapKind::NoOwner, Some(2))]);
    assert_eq!(g[0].stage_name, "Dental intake");
    assert_eq!(g[0].label, GapKind::NoOwner.label());
    assert!(g[0].evidence.contains("Dental intake"), "{}", g[0].evidence);
    assert_eq!(g[0].handoff, None);
    assert_eq!(g[0].assumption, None);
}

#[test]
fn owned_stages_are_not_flagged_for_ownership() {
    assert!(gaps(&complete()).iter().all(|g| g.kind != GapKind::NoOwner));
}

#[test]
fn stage_without_next_step_is_a_gap_unless_last() {
    let mut d = complete();
    stage_mut(&mut d, 1).next_step = String::new();
    stage_mut(&mut d, 2).next_step = "   ".into();
    stage_mut(&mut d, 3).next_step = String::new();
    assert_eq!(
        kinds(&gaps(&d)),
        vec![
            (GapKind::NoNextStep, Some(1)),
            (GapKind::NoNextStep, Some(2))
        ]
    );
}

#[test]
fn last_stage_is_last_in_journey_order_not_by_id() {
    // Journey order 3, 1, 2: stage 2 is last, stage 3 is first.
    let mut d = complete();
    d.stages.rotate_right(1);
    stage_mut(&mut d, 2).next_step = String::new();
    stage_mut(&mut d, 3).next_step = String::new();
    assert_eq!(kinds(&gaps(&d)), vec![(GapKind::NoNextStep, Some(3))]);
}

#[test]
fn a_single_stage_needs_no_next_step() {
    let mut s = stage(1, "Only", A);
    s.next_step = String::new();
    let d = Design {
        stages: vec![s],
        ..Design::default()
    };
    assert_eq!(gaps(&d), vec![]);
}

#[test]
fn cross_party_handoff_without_channel_is_a_gap() {
    let mut d = complete();
    d.handoffs[0].channel = None;
    let g = gaps(&d);
    assert_eq!(kinds(&g), vec![(GapKind::HandoffWithoutChannel, Some(1))]);
    assert_eq!(g[0].handoff, Some(1));
    assert!(g[0].evidence.contains("GP visit") && g[0].evidence.contains("Dental intake"));
}

#[test]
fn cross_party_handoff_without_information_is_a_gap() {
    let mut d = complete();
    d.handoffs[0].information = "  ".into();
    let g = gaps(&d);
    assert_eq!(
        kinds(&g),
        vec![(GapKind::HandoffWithoutInformation, Some(1))]
    );
    assert_eq!(g[0].handoff, Some(1));
}

#[test]
fn cross_party_handoff_without_both_is_two_gaps_on_the_from_stage() {
    let mut d = complete();
    // A handoff going backwards in the journey: B's intake back to A's GP.
    d.handoffs.push(Handoff {
        id: Some(7),
        from_stage: 2,
        to_stage: 1,
        channel: None,
        information: String::new(),
    });
    let g = gaps(&d);
    assert_eq!(
        kinds(&g),
        vec![
            (GapKind::HandoffWithoutChannel, Some(2)),
            (GapKind::HandoffWithoutInformation, Some(2))
        ]
    );
    assert!(g.iter().all(|g| g.handoff == Some(7)));
}

#[test]
fn same_party_handoffs_are_never_flagged() {
    let mut d = complete();
    // 2→3 are both B's.
    d.handoffs[1].channel = None;
    d.handoffs[1].information = String::new();
    assert_eq!(gaps(&d), vec![]);
    // And every stage A's: 1→2 and 2→3 both same-party, backwards too.
    stage_mut(&mut d, 2).owner = Some(A);
    stage_mut(&mut d, 3).owner = Some(A);
    d.handoffs.push(Handoff {
        id: Some(3),
        from_stage: 3,
        to_stage: 1,
        channel: None,
        information: String::new(),
    });
    d.handoffs[0].channel = None;
    d.handoffs[0].information = String::new();
    assert_eq!(gaps(&d), vec![]);
}

#[test]
fn handoff_gaps_are_per_handoff() {
    let mut d = complete();
    d.stages.push(stage(4, "Follow-up at GP", A));
    d.handoffs.push(Handoff {
        id: Some(3),
        from_stage: 3,
        to_stage: 4,
        channel: None,
        information: "Treatment summary".into(),
    });
    d.handoffs.push(Handoff {
        id: Some(4),
        from_stage: 3,
        to_stage: 1,
        channel: None,
        information: "Treatment summary".into(),
    });
    let g = gaps(&d);
    assert_eq!(
        g.iter()
            .map(|g| (g.kind, g.stage, g.handoff))
            .collect::<Vec<_>>(),
        vec![
            (GapKind::HandoffWithoutChannel, Some(3), Some(3)),
            (GapKind::HandoffWithoutChannel, Some(3), Some(4)),
        ]
    );
}

#[test]
fn lull_over_the_threshold_without_support_is_a_gap() {
    let mut d = complete();
    stage_mut(&mut d, 2).days_to_next = Some(8);
    let g = gaps(&d);
    assert_eq!(kinds(&g), vec![(GapKind::Lull, Some(2))]);
    assert!(g[0].evidence.contains('8'), "{}", g[0].evidence);
    // A touchpoint that is not a support one does not help.
    stage_mut(&mut d, 2)
        .touchpoints
        .push(touchpoint(Channel::Mail, false));
    assert_eq!(kinds(&gaps(&d)), vec![(GapKind::Lull, Some(2))]);
}

#[test]
fn lull_at_the_threshold_is_not_a_gap() {
    let mut d = complete();
    stage_mut(&mut d, 2).days_to_next = Some(DEFAULT_LULL_DAYS);
    stage_mut(&mut d, 2).touchpoints.clear();
    assert_eq!(gaps(&d), vec![]);
}

#[test]
fn lull_with_a_support_touchpoint_is_not_a_gap() {
    let mut d = complete();
    stage_mut(&mut d, 2).days_to_next = Some(60);
    stage_mut(&mut d, 2)
        .touchpoints
        .push(touchpoint(Channel::Text, true));
    assert_eq!(gaps(&d), vec![]);
}

#[test]
fn no_expected_wait_is_not_a_lull() {
    let mut d = complete();
    stage_mut(&mut d, 2).days_to_next = None;
    stage_mut(&mut d, 2).touchpoints.clear();
    assert_eq!(gaps(&d), vec![]);
}

#[test]
fn lull_threshold_is_configurable() {
    let mut d = complete();
    stage_mut(&mut d, 1).days_to_next = Some(10);
    stage_mut(&mut d, 2).days_to_next = Some(15);
    stage_mut(&mut d, 3).days_to_next = Some(14);
    assert_eq!(
        kinds(&detect_gaps(&d, 14, &[])),
        vec![(GapKind::Lull, Some(2))]
    );
    assert_eq!(
        kinds(&detect_gaps(&d, 3, &[])),
        vec![
            (GapKind::Lull, Some(1)),
            (GapKind::Lull, Some(2)),
            (GapKind::Lull, Some(3))
        ]
    );
    assert_eq!(detect_gaps(&d, 15, &[]), vec![]);
}

/// The know/feel/do words a MissingKnowFeelDo gap names.
fn named(g: &Gap) -> BTreeSet<&str> {
    g.evidence
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| ["know", "feel", "do"].contains(w))
        .collect()
}

#[test]
fn missing_know_feel_or_do_is_a_gap_naming_which() {
    let cases: [(&[&str], &[&str]); 7] = [
        (&["know"], &["know"]),
        (&["feel"], &["feel"]),
        (&["do"], &["do"]),
        (&["know", "do"], &["know", "do"]),
        (&["feel", "do"], &["feel", "do"]),
        (&["know", "feel"], &["know", "feel"]),
        (&["know", "feel", "do"], &["know", "feel", "do"]),
    ];
    for (blank, expected) in cases {
        let mut d = complete();
        let s = stage_mut(&mut d, 3);
        for b in blank {
            match *b {
                "know" => s.know = String::new(),
                "feel" => s.feel = " \n ".into(),
                _ => s.act = String::new(),
            }
        }
        let g = gaps(&d);
        assert_eq!(
            kinds(&g),
            vec![(GapKind::MissingKnowFeelDo, Some(3))],
            "{blank:?}"
        );
        assert_eq!(
            named(&g[0]),
            expected.iter().copied().collect::<BTreeSet<_>>(),
            "{blank:?}: {}",
            g[0].evidence
        );
    }
}

/// v1 at day 1 (assumption untested), v2 at day 5 (assumption 1 invalidated, stages unchanged).
fn invalidated_at_day_5() -> Design {
    let mut v1 = complete();
    v1.assumptions = vec![
        assumption(1, AssumptionStatus::Untested, &[1, 2]),
        assumption(2, AssumptionStatus::Untested, &[3]),
    ];
    v1.stamp(&Design::default(), at(1));
    let mut v2 = v1.clone();
    v2.assumptions[0].status = AssumptionStatus::Invalidated;
    v2.assumptions[0].evidence = "Most patients had no portal login".into();
    v2.stamp(&v1, at(5));
    assert_eq!(v2.assumptions[0].status_changed_at, Some(at(5)));
    assert!(v2.stages.iter().all(|s| s.revised_at == Some(at(1))));
    v2
}

#[test]
fn invalidated_assumption_on_unchanged_stages_is_a_gap_on_each() {
    let d = invalidated_at_day_5();
    let g = gaps(&d);
    assert_eq!(
        kinds(&g),
        vec![
            (GapKind::InvalidatedAssumption, Some(1)),
            (GapKind::InvalidatedAssumption, Some(2))
        ]
    );
    assert!(g.iter().all(|g| g.assumption == Some(1)));
    assert!(
        g[0].evidence.contains("no portal login"),
        "{}",
        g[0].evidence
    );
}

#[test]
fn invalidated_assumption_is_not_a_gap_once_the_stage_was_revised_after() {
    let v2 = invalidated_at_day_5();
    let mut v3 = v2.clone();
    stage_mut(&mut v3, 2).touchpoints = vec![touchpoint(Channel::Phone, true)];
    v3.stamp(&v2, at(9));
    assert_eq!(stage_mut(&mut v3, 2).revised_at, Some(at(9)));
    assert_eq!(stage_mut(&mut v3, 1).revised_at, Some(at(1)));
    assert_eq!(
        kinds(&gaps(&v3)),
        vec![(GapKind::InvalidatedAssumption, Some(1))]
    );
    // Revising stage 1 too clears it.
    let mut v4 = v3.clone();
    stage_mut(&mut v4, 1).know = "That the clinic will phone, not e-mail".into();
    v4.stamp(&v3, at(10));
    assert_eq!(gaps(&v4), vec![]);
}

#[test]
fn untested_and_validated_assumptions_are_never_gaps() {
    let mut d = complete();
    d.assumptions = vec![
        assumption(1, AssumptionStatus::Untested, &[1, 2, 3]),
        assumption(2, AssumptionStatus::Validated, &[1, 2, 3]),
    ];
    assert_eq!(gaps(&d), vec![]);
}

#[test]
fn invalidated_assumption_linked_to_a_removed_stage_is_ignored() {
    let mut d = complete();
    d.assumptions = vec![assumption(1, AssumptionStatus::Invalidated, &[42])];
    assert_eq!(gaps(&d), vec![]);
}

#[test]
fn severe_unaddressed_feedback_is_a_gap() {
    let d = complete();
    for sev in [Severity::Major, Severity::Blocking] {
        let g = detect_gaps(&d, 7, &[fb(1, 2, sev, false)]);
        assert_eq!(kinds(&g), vec![(GapKind::UnaddressedFeedback, Some(2))]);
        assert!(g[0].evidence.contains("Nobody called back"));
    }
}

#[test]
fn severe_feedback_on_one_stage_is_one_gap_counting_them() {
    let f = [
        fb(1, 2, Severity::Major, false),
        fb(2, 2, Severity::Blocking, false),
        fb(3, 2, Severity::Major, false),
        fb(4, 2, Severity::Minor, false),
        fb(5, 2, Severity::Blocking, true),
    ];
    let g = detect_gaps(&complete(), 7, &f);
    assert_eq!(kinds(&g), vec![(GapKind::UnaddressedFeedback, Some(2))]);
    assert!(
        g[0].evidence.contains("1 blocking") && g[0].evidence.contains("2 major"),
        "{}",
        g[0].evidence
    );
}

#[test]
fn minor_or_addressed_feedback_is_not_a_gap() {
    let f = [
        fb(1, 1, Severity::Minor, false),
        fb(2, 2, Severity::Major, true),
        fb(3, 3, Severity::Blocking, true),
        fb(4, 3, Severity::Minor, true),
    ];
    assert_eq!(detect_gaps(&complete(), 7, &f), vec![]);
}

#[test]
fn feedback_for_a_stage_no_longer_in_the_design_is_ignored() {
    let f = [
        fb(1, 4, Severity::Blocking, false),
        fb(2, 0, Severity::Major, false),
    ];
    assert_eq!(detect_gaps(&complete(), 7, &f), vec![]);
}

#[test]
fn gaps_come_in_journey_order_then_by_kind() {
    // Journey order: 30, 10, 20 (ids deliberately not in order).
    let mut d = Design {
        stages: vec![
            stage(30, "Discharge", A),
            stage(10, "First home visit", B),
            stage(20, "Follow-up call", B),
        ],
        handoffs: vec![handoff(1, 30, 10), handoff(2, 10, 20), handoff(3, 20, 30)],
        assumptions: vec![assumption(1, AssumptionStatus::Invalidated, &[20, 30])],
        ..Design::default()
    };
    stage_mut(&mut d, 20).owner = None;
    stage_mut(&mut d, 20).know = String::new();
    stage_mut(&mut d, 10).next_step = String::new();
    stage_mut(&mut d, 10).days_to_next = Some(30);
    d.handoffs[0].channel = None;
    d.handoffs[0].information = String::new();
    let f = [
        fb(1, 20, Severity::Blocking, false),
        fb(2, 10, Severity::Major, false),
        fb(3, 30, Severity::Major, false),
    ];
    let g = detect_gaps(&d, 7, &f);
    assert_eq!(
        kinds(&g),
        vec![
            (GapKind::HandoffWithoutChannel, Some(30)),
            (GapKind::HandoffWithoutInformation, Some(30)),
            (GapKind::InvalidatedAssumption, Some(30)),
            (GapKind::UnaddressedFeedback, Some(30)),
            (GapKind::NoNextStep, Some(10)),
            (GapKind::Lull, Some(10)),
            (GapKind::UnaddressedFeedback, Some(10)),
            (GapKind::NoOwner, Some(20)),
            (GapKind::MissingKnowFeelDo, Some(20)),
            (GapKind::InvalidatedAssumption, Some(20)),
            (GapKind::UnaddressedFeedback, Some(20)),
        ]
    );
    // Same answer every time (the feedback tally is a hash map).
    for _ in 0..20 {
        assert_eq!(detect_gaps(&d, 7, &f), g);
    }
}

/// Filling in an owner should never add gaps (the monotonicity). Today a handoff
/// between an owned stage and an unowned one is not "cross-party", so giving the unowned stage
/// a different owner removes one NoOwner gap but adds a HandoffWithoutChannel and a
/// HandoffWithoutInformation gap: 1 gap becomes 2.
#[test]
fn filling_in_an_owner_never_adds_gaps() {
    let mut before = complete();
    stage_mut(&mut before, 2).owner = None;
    before.handoffs[0].channel = None;
    before.handoffs[0].information = String::new();
    let mut after = before.clone();
    stage_mut(&mut after, 2).owner = Some(B);
    let (g0, g1) = (gaps(&before), gaps(&after));
    assert!(
        g1.len() <= g0.len(),
        "before: {:?}\nafter: {:?}",
        kinds(&g0),
        kinds(&g1)
    );
}

// ---------------------------------------------------------------------------------------------
// Design::validate
// ---------------------------------------------------------------------------------------------

fn positioned(positions: &[Option<u32>]) -> Design {
    Design {
        stages: positions
            .iter()
            .enumerate()
            .map(|(i, p)| Stage {
                position: *p,
                ..stage(i as u32 + 1, &format!("Stage {}", i + 1), A)
            })
            .collect(),
        ..Design::default()
    }
}

#[test]
fn position_collision_is_refused_with_the_field() {
    let e = positioned(&[Some(1), Some(2), Some(2)])
        .validate(&PARTIES, (0, 0, 0))
        .unwrap_err();
    assert_eq!(fields(&e), vec![("stages[2].position", "position_taken")]);
    assert!(e.errors()[0].message.contains("Stage 2"), "{e}");
}

#[test]
fn positions_all_or_none_and_from_one() {
    let e = positioned(&[Some(1), None, Some(0)])
        .validate(&PARTIES, (0, 0, 0))
        .unwrap_err();
    assert!(has(&e, "stages[1].position", "required"), "{e}");
    assert!(has(&e, "stages[2].position", "invalid"), "{e}");
}

#[test]
fn stages_are_ordered_by_position_and_renumbered() {
    let d = positioned(&[Some(30), Some(10), Some(20), Some(11)])
        .validate(&PARTIES, (0, 0, 0))
        .unwrap();
    assert_eq!(
        d.stages.iter().map(|s| s.id.unwrap()).collect::<Vec<_>>(),
        vec![2, 4, 3, 1]
    );
    assert_eq!(
        d.stages.iter().map(|s| s.position).collect::<Vec<_>>(),
        vec![Some(1), Some(2), Some(3), Some(4)]
    );
}

#[test]
fn without_positions_the_list_order_is_the_journey_order() {
    let mut d = complete();
    d.stages.reverse();
    let v = d.validate(&PARTIES, (0, 0, 0)).unwrap();
    assert_eq!(
        v.stages
            .iter()
            .map(|s| (s.id.unwrap(), s.position.unwrap()))
            .collect::<Vec<_>>(),
        vec![(3, 1), (2, 2), (1, 3)]
    );
}

#[test]
fn handoff_to_a_stage_not_in_this_journey_is_refused() {
    let mut d = complete();
    d.handoffs.push(handoff(3, 2, 77));
    d.handoffs.push(handoff(4, 78, 1));
    let e = d.validate(&PARTIES, (0, 0, 0)).unwrap_err();
    assert_eq!(
        fields(&e),
        vec![
            ("handoffs[2].to_stage", "unknown_stage"),
            ("handoffs[3].from_stage", "unknown_stage")
        ]
    );
}

#[test]
fn handoff_from_a_stage_to_itself_is_refused() {
    let mut d = complete();
    d.handoffs.push(handoff(3, 2, 2));
    let e = d.validate(&PARTIES, (0, 0, 0)).unwrap_err();
    assert_eq!(fields(&e), vec![("handoffs[2].to_stage", "same_stage")]);
}

#[test]
fn stage_owned_by_a_non_party_is_refused() {
    let mut d = complete();
    d.stages[1].owner = Some(OUTSIDER);
    let e = d.validate(&PARTIES, (0, 0, 0)).unwrap_err();
    assert_eq!(fields(&e), vec![("stages[1].owner", "not_a_party")]);
    // A third party is fine when it is a party.
    let mut d = complete();
    d.stages[1].owner = Some(C);
    assert!(d.validate(&[A, B, C], (0, 0, 0)).is_ok());
}

#[test]
fn assumption_linking_an_unknown_stage_is_refused() {
    let mut d = complete();
    d.assumptions
        .push(assumption(2, AssumptionStatus::Untested, &[1, 9]));
    let e = d.validate(&PARTIES, (0, 0, 0)).unwrap_err();
    assert_eq!(
        fields(&e),
        vec![("assumptions[1].stages[1]", "unknown_stage")]
    );
}

#[test]
fn assumption_stage_links_are_sorted_and_deduplicated() {
    let mut d = complete();
    d.assumptions[0].stages = vec![3, 1, 3, 2, 1];
    let v = d.validate(&PARTIES, (0, 0, 0)).unwrap();
    assert_eq!(v.assumptions[0].stages, vec![1, 2, 3]);
}

#[test]
fn new_ids_are_assigned_above_the_floor_and_above_any_given_id() {
    let mut d = complete();
    d.stages.push(Stage {
        id: None,
        ..stage(0, "New stage", A)
    });
    d.handoffs.push(Handoff {
        id: None,
        ..handoff(0, 3, 1)
    });
    d.assumptions.push(Assumption {
        id: None,
        ..assumption(0, AssumptionStatus::Untested, &[3])
    });
    // Floors above every id in the design: stage 4, handoff 3 and assumption 2 were deleted
    // before; their ids must not come back.
    let v = d.validate(&PARTIES, (4, 3, 2)).unwrap();
    assert_eq!(v.stages[3].id, Some(5));
    assert_eq!(v.handoffs[2].id, Some(4));
    assert_eq!(v.assumptions[1].id, Some(3));
    // A given id above the floor raises the next one.
    let mut d = complete();
    d.stages.push(stage(40, "Chosen id", A));
    d.stages.push(Stage {
        id: None,
        ..stage(0, "New", A)
    });
    d.handoffs.push(handoff(9, 3, 40));
    let v = d.validate(&PARTIES, (4, 0, 0)).unwrap();
    assert_eq!(
        v.stages.iter().map(|s| s.id.unwrap()).collect::<Vec<_>>(),
        vec![1, 2, 3, 40, 41]
    );
    // Existing ids are kept as they are, and the design remembers the floor in `used_ids`.
    let v = complete().validate(&PARTIES, (10, 10, 10)).unwrap();
    assert_eq!(
        v.stages.iter().map(|s| s.id.unwrap()).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(v.max_ids(), (10, 10, 10));
}

#[test]
fn several_new_stages_get_distinct_consecutive_ids() {
    let mut d = Design::default();
    for i in 0..5 {
        d.stages.push(Stage {
            id: None,
            ..stage(0, &format!("S{i}"), A)
        });
    }
    let v = d.validate(&PARTIES, (2, 0, 0)).unwrap();
    assert_eq!(
        v.stages.iter().map(|s| s.id.unwrap()).collect::<Vec<_>>(),
        vec![3, 4, 5, 6, 7]
    );
}

#[test]
fn duplicate_and_zero_ids_are_refused() {
    let mut d = complete();
    d.stages[2].id = Some(2);
    let e = d.validate(&PARTIES, (0, 0, 0)).unwrap_err();
    assert_eq!(fields(&e), vec![("stages[2].id", "duplicate_id")]);

    let mut d = complete();
    d.stages[0].id = Some(0);
    d.handoffs[1].id = Some(1);
    let e = d.validate(&PARTIES, (0, 0, 0)).unwrap_err();
    assert!(has(&e, "stages[0].id", "invalid"), "{e}");

    let mut d = complete();
    d.handoffs[1].id = Some(1);
    d.assumptions
        .push(assumption(1, AssumptionStatus::Untested, &[]));
    let e = d.validate(&PARTIES, (0, 0, 0)).unwrap_err();
    assert_eq!(
        fields(&e),
        vec![
            ("handoffs[1].id", "duplicate_id"),
            ("assumptions[1].id", "duplicate_id")
        ]
    );
}

/// A client may send any u32 as an id. A stage with id u32::MAX next to a new stage must not
/// overflow the id counter (a panic in debug builds; in release the new stage wraps to id 0).
#[test]
fn an_id_at_u32_max_does_not_overflow_the_next_id() {
    let d = Design {
        stages: vec![
            stage(u32::MAX, "Huge id", A),
            Stage {
                id: None,
                ..stage(0, "New", A)
            },
        ],
        ..Design::default()
    };
    let r = std::panic::catch_unwind(|| d.validate(&PARTIES, (0, 0, 0)));
    match r {
        Err(_) => panic!("Design::validate panicked on a stage id of u32::MAX"),
        Ok(Err(_)) => {}
        Ok(Ok(v)) => {
            let ids: BTreeSet<u32> = v.stages.iter().map(|s| s.id.unwrap()).collect();
            assert_eq!(ids.len(), 2);
            assert!(!ids.contains(&0));
        }
    }
}

#[test]
fn text_fields_are_cleaned_and_bounded() {
    let mut d = complete();
    d.stages[0].name = "  GP visit  ".into();
    d.stages[1].know = "  Where to go\nand when  ".into();
    let v = d.validate(&PARTIES, (0, 0, 0)).unwrap();
    assert_eq!(v.stages[0].name, "GP visit");
    assert_eq!(v.stages[1].know, "Where to go\nand when");

    let mut d = complete();
    d.stages[0].name = "  ".into();
    d.stages[1].name = "a\nb".into();
    d.stages[2].days_to_next = Some(4000);
    let e = d.validate(&PARTIES, (0, 0, 0)).unwrap_err();
    assert!(has(&e, "stages[0].name", "required"), "{e}");
    assert!(has(&e, "stages[1].name", "invalid_characters"), "{e}");
    assert!(has(&e, "stages[2].days_to_next", "out_of_range"), "{e}");
}

#[test]
fn too_many_stages_are_refused() {
    let d = Design {
        stages: (1..=MAX_STAGES as u32 + 1)
            .map(|i| stage(i, &format!("S{i}"), A))
            .collect(),
        ..Design::default()
    };
    let e = d.validate(&PARTIES, (0, 0, 0)).unwrap_err();
    assert!(has(&e, "stages", "too_many"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// JourneyInput::validate
// ---------------------------------------------------------------------------------------------

fn input(design: Design) -> JourneyInput {
    JourneyInput {
        name: "Referral from primary care to dental".into(),
        end_user: EndUser::Patient,
        description: String::new(),
        lull_threshold_days: None,
        design,
    }
}

#[test]
fn journey_input_prefixes_design_errors_with_design() {
    let mut d = complete();
    d.stages[0].owner = Some(OUTSIDER);
    d.handoffs.clear();
    let mut i = input(d);
    i.name = " ".into();
    let e = i.validate(&PARTIES, (0, 0, 0)).unwrap_err();
    assert_eq!(
        fields(&e),
        vec![
            ("name", "required"),
            ("design.stages[0].owner", "not_a_party")
        ]
    );

    let mut d = complete();
    d.handoffs.push(handoff(3, 1, 99));
    let e = input(d).validate(&PARTIES, (0, 0, 0)).unwrap_err();
    assert_eq!(
        fields(&e),
        vec![("design.handoffs[2].to_stage", "unknown_stage")]
    );

    let e = input(positioned(&[Some(1), Some(1)]))
        .validate(&PARTIES, (0, 0, 0))
        .unwrap_err();
    assert_eq!(
        fields(&e),
        vec![("design.stages[1].position", "position_taken")]
    );
}

#[test]
fn journey_input_lull_threshold_defaults_to_seven_and_is_bounded() {
    let v = input(complete()).validate(&PARTIES, (0, 0, 0)).unwrap();
    assert_eq!(v.lull_threshold_days, Some(DEFAULT_LULL_DAYS));
    assert_eq!(DEFAULT_LULL_DAYS, 7);
    let mut i = input(complete());
    i.lull_threshold_days = Some(14);
    assert_eq!(
        i.validate(&PARTIES, (0, 0, 0)).unwrap().lull_threshold_days,
        Some(14)
    );
    for bad in [0, 366] {
        let mut i = input(complete());
        i.lull_threshold_days = Some(bad);
        let e = i.validate(&PARTIES, (0, 0, 0)).unwrap_err();
        assert_eq!(fields(&e), vec![("lull_threshold_days", "out_of_range")]);
    }
}

#[test]
fn journey_input_round_trips_through_json() {
    let v = input(complete()).validate(&PARTIES, (0, 0, 0)).unwrap();
    let json = serde_json::to_string(&v).unwrap();
    assert!(json.contains("\"do\":"), "{json}");
    let back: JourneyInput = serde_json::from_str(&json).unwrap();
    assert_eq!(back, v);
    assert_eq!(back.validate(&PARTIES, back.design.max_ids()).unwrap(), v);
}

// ---------------------------------------------------------------------------------------------
// TrialRunInput::validate and is_pseudonymous
// ---------------------------------------------------------------------------------------------

fn feedback(stage: u32, participant: &str, severity: Severity) -> FeedbackInput {
    FeedbackInput {
        stage,
        participant: participant.into(),
        what_happened: "Waited two weeks for a call".into(),
        knew: String::new(),
        felt: "Forgotten".into(),
        did: "Called the GP".into(),
        severity,
    }
}

fn run() -> TrialRunInput {
    TrialRunInput {
        run_on: date(2026, 4, 2),
        participants: vec!["P-07".into(), "caregiver_3".into()],
        notes: String::new(),
        feedback: vec![
            feedback(1, "P-07", Severity::Minor),
            feedback(2, "caregiver_3", Severity::Blocking),
        ],
        assumptions: vec![AssumptionVerdict {
            assumption: 1,
            status: AssumptionStatus::Invalidated,
            evidence: "Neither participant used the portal".into(),
        }],
    }
}

#[test]
fn a_good_trial_run_passes_trimmed() {
    let mut r = run();
    r.participants[0] = "  P-07 ".into();
    r.feedback[0].participant = "P-07  ".into();
    let v = r.validate(&complete()).unwrap();
    assert_eq!(v.participants, vec!["P-07", "caregiver_3"]);
    assert_eq!(v.feedback[0].participant, "P-07");
}

#[test]
fn feedback_for_a_stage_of_another_journey_is_refused() {
    let mut r = run();
    r.feedback.push(feedback(12, "P-07", Severity::Major));
    let e = r.validate(&complete()).unwrap_err();
    assert_eq!(fields(&e), vec![("feedback[2].stage", "unknown_stage")]);
}

#[test]
fn feedback_from_someone_not_in_the_run_is_refused() {
    let mut r = run();
    r.feedback.push(feedback(1, "P-08", Severity::Major));
    let e = r.validate(&complete()).unwrap_err();
    assert_eq!(
        fields(&e),
        vec![("feedback[2].participant", "unknown_participant")]
    );
}

#[test]
fn non_pseudonymous_participants_are_refused() {
    let long = "x".repeat(41);
    for bad in [
        "jane.doe@example.org",
        "Jane Doe",
        "5551234567",
        "",
        "   ",
        "MRN1234567",
        "José",
        long.as_str(),
    ] {
        assert!(!is_pseudonymous(bad.trim()), "{bad:?} accepted");
        let mut r = run();
        r.participants.push(bad.to_string());
        let e = r.validate(&complete()).unwrap_err();
        assert_eq!(
            fields(&e),
            vec![("participants[2]", "not_pseudonymous")],
            "{bad:?}"
        );
    }
}

#[test]
fn pseudonyms_are_accepted() {
    let long = "x".repeat(40);
    for good in [
        "P-07",
        "caregiver_3",
        "p1",
        "RESIDENT-123456",
        "A",
        long.as_str(),
    ] {
        assert!(is_pseudonymous(good), "{good:?} refused");
    }
}

/// The doc promises "never ... phone numbers"; a phone number written the usual way, with
/// separators, has no run of 7 digits and passes.
#[test]
fn phone_numbers_with_separators_are_not_pseudonymous() {
    for phone in ["555-123-4567", "555_123_4567"] {
        assert!(!is_pseudonymous(phone), "{phone:?} accepted as a pseudonym");
    }
}

#[test]
fn participants_listed_twice_are_refused() {
    let mut r = run();
    r.participants.push("P-07".into());
    let e = r.validate(&complete()).unwrap_err();
    assert_eq!(fields(&e), vec![("participants[2]", "duplicate")]);
    let mut r = run();
    r.participants.clear();
    r.feedback.clear();
    let e = r.validate(&complete()).unwrap_err();
    assert_eq!(fields(&e), vec![("participants", "required")]);
}

#[test]
fn untested_is_not_a_trial_verdict() {
    let mut r = run();
    r.assumptions[0].status = AssumptionStatus::Untested;
    let e = r.validate(&complete()).unwrap_err();
    assert_eq!(fields(&e), vec![("assumptions[0].status", "invalid")]);
    let mut r = run();
    r.assumptions[0].status = AssumptionStatus::Validated;
    assert!(r.validate(&complete()).is_ok());
}

#[test]
fn verdict_on_an_unknown_assumption_is_refused() {
    let mut r = run();
    r.assumptions[0].assumption = 5;
    let e = r.validate(&complete()).unwrap_err();
    assert_eq!(
        fields(&e),
        vec![("assumptions[0].assumption", "unknown_assumption")]
    );
}

#[test]
fn feedback_needs_what_happened() {
    let mut r = run();
    r.feedback[1].what_happened = " ".into();
    let e = r.validate(&complete()).unwrap_err();
    assert_eq!(fields(&e), vec![("feedback[1].what_happened", "required")]);
}

// ---------------------------------------------------------------------------------------------
// Design::stamp
// ---------------------------------------------------------------------------------------------

#[test]
fn stamp_keeps_unchanged_stages_and_stamps_changed_and_new_ones() {
    let mut v1 = complete();
    v1.stamp(&Design::default(), at(1));
    assert!(v1.stages.iter().all(|s| s.revised_at == Some(at(1))));

    let mut v2 = v1.clone();
    stage_mut(&mut v2, 2).feel = "Reassured".into();
    v2.stages.push(stage(4, "Recall", B));
    // Reordering alone is not a change.
    v2.stages.swap(0, 2);
    // What a client sends is ignored.
    stage_mut(&mut v2, 3).revised_at = Some(at(28));
    v2.stamp(&v1, at(2));
    assert_eq!(stage_mut(&mut v2, 1).revised_at, Some(at(1)));
    assert_eq!(stage_mut(&mut v2, 2).revised_at, Some(at(2)));
    assert_eq!(stage_mut(&mut v2, 3).revised_at, Some(at(1)));
    assert_eq!(stage_mut(&mut v2, 4).revised_at, Some(at(2)));

    // Each content field counts as a change.
    let edits: [fn(&mut Stage); 8] = [
        |s| s.name.push('!'),
        |s| s.owner = None,
        |s| s.touchpoints.clear(),
        |s| s.know.push('!'),
        |s| s.feel.push('!'),
        |s| s.act.push('!'),
        |s| s.days_to_next = Some(99),
        |s| s.next_step.push('!'),
    ];
    for (i, edit) in edits.iter().enumerate() {
        let mut v3 = v1.clone();
        edit(stage_mut(&mut v3, 1));
        v3.stamp(&v1, at(3));
        assert_eq!(stage_mut(&mut v3, 1).revised_at, Some(at(3)), "edit {i}");
        assert_eq!(stage_mut(&mut v3, 2).revised_at, Some(at(1)), "edit {i}");
    }
}

#[test]
fn stamp_follows_assumption_status() {
    let mut v1 = complete();
    v1.assumptions
        .push(assumption(2, AssumptionStatus::Untested, &[1]));
    v1.stamp(&Design::default(), at(1));
    assert_eq!(v1.assumptions[0].status_changed_at, None);

    let mut v2 = v1.clone();
    v2.assumptions[0].status = AssumptionStatus::Invalidated;
    v2.assumptions[1].evidence = "Not tested yet".into();
    v2.assumptions
        .push(assumption(3, AssumptionStatus::Validated, &[2]));
    v2.assumptions
        .push(assumption(4, AssumptionStatus::Untested, &[2]));
    v2.stamp(&v1, at(2));
    assert_eq!(v2.assumptions[0].status_changed_at, Some(at(2)));
    assert_eq!(v2.assumptions[1].status_changed_at, None);
    assert_eq!(v2.assumptions[2].status_changed_at, Some(at(2)));
    assert_eq!(v2.assumptions[3].status_changed_at, None);

    // Unchanged status keeps its stamp; a further change re-stamps.
    let mut v3 = v2.clone();
    v3.assumptions[0].evidence = "More evidence".into();
    v3.assumptions[2].status = AssumptionStatus::Invalidated;
    v3.assumptions[2].status_changed_at = Some(at(20));
    v3.stamp(&v2, at(3));
    assert_eq!(v3.assumptions[0].status_changed_at, Some(at(2)));
    assert_eq!(v3.assumptions[2].status_changed_at, Some(at(3)));
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct World {
    parties: Vec<OrgId>,
    design: Design,
    feedback: Vec<(u32, Severity, bool)>,
    threshold: u32,
}

impl World {
    fn refs(&self) -> Vec<FeedbackRef<'static>> {
        self.feedback
            .iter()
            .enumerate()
            .map(|(i, &(stage, severity, addressed))| FeedbackRef {
                id: i as i64 + 1,
                stage,
                severity,
                addressed,
                what_happened: "Something went wrong",
            })
            .collect()
    }

    fn gaps(&self) -> Vec<Gap> {
        detect_gaps(&self.design, self.threshold, &self.refs())
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("  ".to_string()),
        "[a-z]{1,8}( [a-z]{1,8}){0,3}",
    ]
}

fn pick<T: Clone + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all.to_vec())
}

fn arb_time() -> impl Strategy<Value = Option<DateTime<Utc>>> {
    proptest::option::of((1u32..=28).prop_map(at))
}

/// One stage's seed: (owner index, touchpoints, know, feel, do, days, next step, revised).
type StageSeed = (
    Option<usize>,
    Vec<(Channel, bool)>,
    String,
    String,
    String,
    Option<u32>,
    String,
    Option<DateTime<Utc>>,
);

fn arb_stage() -> impl Strategy<Value = StageSeed> {
    (
        proptest::option::of(0usize..3),
        vec((pick(Channel::ALL), any::<bool>()), 0..3),
        text(),
        text(),
        text(),
        proptest::option::of(0u32..30),
        text(),
        arb_time(),
    )
}

fn arb_world() -> impl Strategy<Value = World> {
    (1usize..=40, 2usize..=3, any::<bool>(), 1u32..=14)
        .prop_flat_map(|(n, np, with_positions, threshold)| {
            let positions: Vec<u32> = (1..=n as u32).map(|p| p * 3).collect();
            (
                vec(arb_stage(), n),
                Just(positions).prop_shuffle(),
                // Handoffs: (from index, offset to the to index, channel, information, id?).
                vec(
                    (
                        0..n,
                        1..n.max(2),
                        proptest::option::of(pick(Channel::ALL)),
                        text(),
                        any::<bool>(),
                    ),
                    if n > 1 { 0..60 } else { 0..1 },
                ),
                // Assumptions: (status, stage indices, changed at, id?).
                vec(
                    (
                        pick(AssumptionStatus::ALL),
                        vec(0..n, 0..4),
                        arb_time(),
                        any::<bool>(),
                    ),
                    0..15,
                ),
                // Feedback: a stage id (sometimes one not in the design), severity, addressed.
                vec(
                    (1..=n as u32 + 3, pick(Severity::ALL), any::<bool>()),
                    0..60,
                ),
                Just((np, with_positions, threshold)),
            )
        })
        .prop_map(
            |(seeds, positions, hs, asm, feedback, (np, with_positions, threshold))| {
                let parties: Vec<OrgId> = (1..=np as i64).map(OrgId).collect();
                let n = seeds.len();
                // Ids 1..n, but the journey order is the seed order, which the ids follow
                // backwards, so "last" and "first" by id and by order differ.
                let id_of = |i: usize| (n - i) as u32;
                let stages = seeds
                    .into_iter()
                    .enumerate()
                    .map(
                        |(i, (owner, tps, know, feel, act, days, next, revised))| Stage {
                            id: Some(id_of(i)),
                            position: with_positions.then(|| positions[i]),
                            name: format!("Stage {i}"),
                            owner: owner.map(|o| parties[o % np]),
                            touchpoints: tps
                                .into_iter()
                                .map(|(channel, support)| touchpoint(channel, support))
                                .collect(),
                            know,
                            feel,
                            act,
                            days_to_next: days,
                            next_step: next,
                            revised_at: revised,
                        },
                    )
                    .collect();
                let handoffs = hs
                    .into_iter()
                    .enumerate()
                    .map(|(k, (from, off, channel, information, with_id))| Handoff {
                        id: with_id.then_some(k as u32 + 1),
                        from_stage: id_of(from),
                        to_stage: id_of((from + off) % n),
                        channel,
                        information,
                    })
                    .collect();
                let assumptions = asm
                    .into_iter()
                    .enumerate()
                    .map(|(k, (status, idx, changed, with_id))| Assumption {
                        id: with_id.then_some(k as u32 + 1),
                        statement: format!("Assumption {k}"),
                        status,
                        evidence: String::new(),
                        stages: idx.into_iter().map(id_of).collect(),
                        status_changed_at: changed,
                    })
                    .collect();
                World {
                    parties,
                    design: Design {
                        stages,
                        handoffs,
                        assumptions,
                        ..Design::default()
                    },
                    feedback,
                    threshold,
                }
            },
        )
        .prop_map(|mut w| {
            // Detection runs on validated designs: stages in journey order, ids assigned.
            w.design = w
                .design
                .validate(&w.parties, (0, 0, 0))
                .expect("generated designs are valid");
            w
        })
}

/// What identifies a gap, evidence aside (the evidence of a know/feel/do gap shrinks as fields
/// are filled in).
type GapKey = (GapKind, Option<u32>, Option<u32>, Option<u32>);

fn keys(g: &[Gap]) -> BTreeMap<GapKey, usize> {
    let mut m = BTreeMap::new();
    for g in g {
        *m.entry((g.kind, g.stage, g.handoff, g.assumption))
            .or_insert(0) += 1;
    }
    m
}

/// Every gap of `after` is a gap of `before` (as a multiset of keys).
fn is_sub(after: &[Gap], before: &[Gap]) -> bool {
    let b = keys(before);
    keys(after)
        .into_iter()
        .all(|(k, n)| b.get(&k).is_some_and(|m| n <= *m))
}

/// Which fields to fill in on each stage and handoff.
#[derive(Debug, Clone)]
struct Fill {
    stages: Vec<[bool; 6]>,
    handoffs: Vec<[bool; 2]>,
}

fn arb_fill() -> impl Strategy<Value = Fill> {
    (vec(any::<[bool; 6]>(), 40), vec(any::<[bool; 2]>(), 60))
        .prop_map(|(stages, handoffs)| Fill { stages, handoffs })
}

/// Fills in (only blanks) what `fill` says; `owners` whether owner filling is allowed.
fn apply_fill(w: &World, fill: &Fill, owners: bool, owner_pick: usize) -> Design {
    let mut d = w.design.clone();
    for (s, f) in d.stages.iter_mut().zip(&fill.stages) {
        if owners && f[0] && s.owner.is_none() {
            s.owner = Some(w.parties[owner_pick % w.parties.len()]);
        }
        if f[1] && s.next_step.trim().is_empty() {
            s.next_step = "Next".into();
        }
        if f[2] && s.know.trim().is_empty() {
            s.know = "Know".into();
        }
        if f[3] && s.feel.trim().is_empty() {
            s.feel = "Feel".into();
        }
        if f[4] && s.act.trim().is_empty() {
            s.act = "Do".into();
        }
        if f[5] {
            s.touchpoints.push(touchpoint(Channel::Phone, true));
        }
    }
    for (h, f) in d.handoffs.iter_mut().zip(&fill.handoffs) {
        if f[0] && h.channel.is_none() {
            h.channel = Some(Channel::Phone);
        }
        if f[1] && h.information.trim().is_empty() {
            h.information = "Summary".into();
        }
    }
    d
}

proptest! {
    // No regressions file: shrunk failures are printed, and the deterministic unit tests above
    // pin every failure found so far.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(256)
    })]

    #[test]
    fn detect_gaps_is_deterministic(w in arb_world()) {
        let g = w.gaps();
        prop_assert_eq!(&g, &w.gaps());
        let copy = w.clone();
        prop_assert_eq!(&g, &copy.gaps());
    }

    #[test]
    fn gaps_are_on_stages_of_the_design_in_journey_order(w in arb_world()) {
        let order: BTreeMap<u32, usize> = w
            .design
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.unwrap(), i))
            .collect();
        let handoffs: BTreeSet<u32> = w.design.handoffs.iter().map(|h| h.id.unwrap()).collect();
        let assumptions: BTreeSet<u32> =
            w.design.assumptions.iter().map(|a| a.id.unwrap()).collect();
        let g = w.gaps();
        let mut last = (0usize, None::<GapKind>);
        for gap in &g {
            let sid = gap.stage.expect("every gap names its stage");
            let Some(&i) = order.get(&sid) else {
                return Err(TestCaseError::fail(format!("gap on stage {sid} not in the design")));
            };
            prop_assert_eq!(&gap.stage_name, &w.design.stages[i].name);
            prop_assert_eq!(gap.label.as_str(), gap.kind.label());
            if let Some(h) = gap.handoff {
                prop_assert!(handoffs.contains(&h));
            }
            if let Some(a) = gap.assumption {
                prop_assert!(assumptions.contains(&a));
            }
            // Journey order, then kind order within a stage.
            prop_assert!(i >= last.0, "stage order: {:?}", kinds(&g));
            if i == last.0 {
                prop_assert!(Some(gap.kind) >= last.1, "kind order: {:?}", kinds(&g));
            }
            last = (i, Some(gap.kind));
        }
        // At most one feedback gap and one no-owner gap per stage.
        let k = keys(&g);
        prop_assert!(k
            .iter()
            .filter(|(k, _)| matches!(k.0, GapKind::UnaddressedFeedback | GapKind::NoOwner))
            .all(|(_, n)| *n == 1));
    }

    #[test]
    fn filling_in_fields_never_adds_gaps(w in arb_world(), fill in arb_fill()) {
        let before = w.gaps();
        let filled = World { design: apply_fill(&w, &fill, false, 0), ..w.clone() };
        let after = filled.gaps();
        prop_assert!(after.len() <= before.len());
        prop_assert!(is_sub(&after, &before), "before {:?}\nafter {:?}", kinds(&before), kinds(&after));
    }

    /// The monotonicity including owners: see `filling_in_an_owner_never_adds_gaps`.
    #[test]
    fn filling_in_owners_never_adds_gaps(w in arb_world(), fill in arb_fill(), pick in 0usize..3) {
        let before = w.gaps();
        let filled = World { design: apply_fill(&w, &fill, true, pick), ..w.clone() };
        let after = filled.gaps();
        prop_assert!(after.len() <= before.len(), "before {:?}\nafter {:?}", kinds(&before), kinds(&after));
    }

    #[test]
    fn addressing_feedback_never_adds_gaps(w in arb_world(), mask in vec(any::<bool>(), 60)) {
        let before = w.gaps();
        let mut addressed = w.clone();
        for (f, m) in addressed.feedback.iter_mut().zip(&mask) {
            f.2 |= *m;
        }
        let after = addressed.gaps();
        prop_assert!(after.len() <= before.len());
        prop_assert!(is_sub(&after, &before));
        // Addressing all of it leaves no feedback gap.
        for f in addressed.feedback.iter_mut() {
            f.2 = true;
        }
        prop_assert!(addressed.gaps().iter().all(|g| g.kind != GapKind::UnaddressedFeedback));
    }

    #[test]
    fn a_complete_design_has_no_gaps(w in arb_world(), owner_pick in vec(0usize..3, 40)) {
        let all = Fill { stages: vec![[true; 6]; 40], handoffs: vec![[true; 2]; 60] };
        let mut d = apply_fill(&w, &all, false, 0);
        for (s, p) in d.stages.iter_mut().zip(&owner_pick) {
            s.owner.get_or_insert(w.parties[p % w.parties.len()]);
        }
        for a in &mut d.assumptions {
            if a.status == AssumptionStatus::Invalidated {
                a.status = AssumptionStatus::Validated;
            }
        }
        let mut complete = World { design: d, ..w };
        for f in &mut complete.feedback {
            if f.1 != Severity::Minor {
                f.2 = true;
            }
        }
        let g = complete.gaps();
        prop_assert!(g.is_empty(), "{:?}", kinds(&g));
        // Whatever the threshold.
        prop_assert!(detect_gaps(&complete.design, 1, &complete.refs()).is_empty());
    }

    #[test]
    fn validate_is_idempotent(w in arb_world()) {
        let v = &w.design;
        prop_assert_eq!(v.validate(&w.parties, v.max_ids()), Ok(v.clone()));
        // And a second time with a higher floor changes no item (every id is given); only the
        // remembered floor rises.
        let higher = v.validate(&w.parties, (100, 100, 100)).unwrap();
        prop_assert_eq!(&higher.stages, &v.stages);
        prop_assert_eq!(&higher.handoffs, &v.handoffs);
        prop_assert_eq!(&higher.assumptions, &v.assumptions);
        prop_assert_eq!(higher.used_ids.stages, 100);
        // Positions are 1..n in order and ids are unique.
        let ids: BTreeSet<u32> = v.stages.iter().map(|s| s.id.unwrap()).collect();
        prop_assert_eq!(ids.len(), v.stages.len());
        for (i, s) in v.stages.iter().enumerate() {
            prop_assert_eq!(s.position, Some(i as u32 + 1));
        }
    }

    #[test]
    fn unvalidated_ids_land_above_the_floor(w in arb_world(), floor in 0u32..100) {
        let mut d = w.design.clone();
        d.used_ids = Default::default();
        for h in &mut d.handoffs { h.id = None; }
        for a in &mut d.assumptions { a.id = None; }
        let v = d.validate(&w.parties, (0, floor, floor)).unwrap();
        let hs: Vec<u32> = v.handoffs.iter().map(|h| h.id.unwrap()).collect();
        prop_assert_eq!(hs, (floor + 1..=floor + d.handoffs.len() as u32).collect::<Vec<_>>());
        let asm: Vec<u32> = v.assumptions.iter().map(|a| a.id.unwrap()).collect();
        prop_assert_eq!(asm, (floor + 1..=floor + d.assumptions.len() as u32).collect::<Vec<_>>());
    }
}
