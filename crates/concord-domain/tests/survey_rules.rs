//! The joint health survey's rules through the crate's public API: answers are validated field by
//! field, a party's figures are revealed only from three respondents, perception gaps and the
//! change since the last round are worked out from the revealed figures. Property tests check what
//! must hold for every set of answers: a party under three respondents never shows its averages,
//! gaps stay within [0, 4], every average within [1, 5], the level is the mean of every score, and
//! the order of the answers does not matter.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use proptest::collection::vec;
use proptest::prelude::*;

use concord_domain::health::survey::*;
use concord_domain::health::Dimension;
use concord_domain::OrgId;

const A: OrgId = OrgId(1);
const B: OrgId = OrgId(2);

fn answer(org: OrgId, scores: [u8; 9]) -> SurveyAnswer {
    SurveyAnswer {
        organization_id: org,
        scores,
    }
}

fn all(v: i64) -> BTreeMap<String, i64> {
    Dimension::WIRE.iter().map(|d| (d.to_string(), v)).collect()
}

fn fields(e: &concord_domain::ValidationErrors) -> Vec<(String, String)> {
    e.errors()
        .iter()
        .map(|f| (f.field.clone(), f.code.clone()))
        .collect()
}

#[test]
fn a_complete_answer_passes_in_dimension_order() {
    let mut scores = all(3);
    scores.insert("trust".into(), 5);
    scores.insert("innovation".into(), 1);
    let a = SurveyAnswerInput {
        scores,
        comment: "  Good year.  ".into(),
    }
    .validate()
    .unwrap();
    assert_eq!(a.scores, [5, 3, 3, 3, 3, 3, 3, 3, 1]);
    assert_eq!(a.comment, "Good year.");
}

#[test]
fn missing_and_out_of_range_scores_name_the_dimension() {
    let mut scores = all(3);
    scores.remove("trust");
    scores.insert("fairness".into(), 6);
    scores.insert("governance".into(), 0);
    scores.insert("happiness".into(), 4);
    let e = SurveyAnswerInput {
        scores,
        comment: String::new(),
    }
    .validate()
    .unwrap_err();
    assert_eq!(
        fields(&e),
        vec![
            ("scores.trust".to_string(), "required".to_string()),
            ("scores.governance".to_string(), "out_of_range".to_string()),
            ("scores.fairness".to_string(), "out_of_range".to_string()),
            (
                "scores.happiness".to_string(),
                "unknown_dimension".to_string()
            ),
        ]
    );
}

#[test]
fn a_long_comment_is_refused() {
    let e = SurveyAnswerInput {
        scores: all(4),
        comment: "x".repeat(MAX_COMMENT + 1),
    }
    .validate()
    .unwrap_err();
    assert_eq!(fields(&e), vec![("comment".into(), "too_long".into())]);
    assert!(SurveyAnswerInput {
        scores: all(4),
        comment: "x".repeat(MAX_COMMENT),
    }
    .validate()
    .is_ok());
}

#[test]
fn a_round_needs_a_title_and_a_closing_day_not_in_the_past() {
    let today = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    let e = SurveyRoundInput {
        title: "  ".into(),
        closes_on: Some(NaiveDate::from_ymd_opt(2026, 4, 30).unwrap()),
    }
    .validate(today)
    .unwrap_err();
    assert_eq!(
        fields(&e),
        vec![
            ("title".into(), "required".into()),
            ("closes_on".into(), "past_date".into())
        ]
    );
    let ok = SurveyRoundInput {
        title: " Spring pulse ".into(),
        closes_on: Some(today),
    }
    .validate(today)
    .unwrap();
    assert_eq!(ok.title, "Spring pulse");
}

#[test]
fn two_respondents_are_counted_but_not_revealed() {
    let answers = vec![
        answer(A, [5; 9]),
        answer(A, [5; 9]),
        answer(A, [5; 9]),
        answer(B, [1; 9]),
        answer(B, [2; 9]),
    ];
    let r = results(&answers, None, &[A, B]);
    assert_eq!(r.respondents, 5);
    let a = &r.parties[0];
    assert!(a.revealed);
    assert_eq!(a.averages.len(), 9);
    let b = &r.parties[1];
    assert_eq!(b.respondents, 2);
    assert!(!b.revealed);
    assert!(b.averages.is_empty());
    // Only one party is revealed: no gap can be shown without revealing the other.
    assert!(r.gaps.is_empty());
    assert_eq!(r.max_gap, None);
    // B's answers still count in the overall figure: (15 + 3) / 5.
    assert_eq!(r.overall[0].average, Some(18.0 / 5.0));
    // And B's figures cannot be asked for.
    let e = party_results(1, &r, B).unwrap_err();
    assert_eq!(
        fields(&e),
        vec![("party".into(), "too_few_respondents".into())]
    );
    let e = party_results(1, &r, OrgId(99)).unwrap_err();
    assert_eq!(fields(&e), vec![("party".into(), "not_a_party".into())]);
    assert_eq!(party_results(1, &r, A).unwrap().averages[0].average, 5.0);
}

#[test]
fn gaps_between_revealed_parties_largest_first() {
    let mut a = [4; 9];
    a[0] = 5; // trust
    let mut b = [4; 9];
    b[0] = 3;
    b[1] = 3; // communication
    let answers: Vec<SurveyAnswer> = (0..3)
        .map(|_| answer(A, a))
        .chain((0..3).map(|_| answer(B, b)))
        .collect();
    let r = results(&answers, None, &[A, B]);
    assert_eq!(r.gaps.len(), 9);
    assert_eq!(r.gaps[0].dimension, Dimension::Trust);
    assert_eq!(r.gaps[0].gap, 2.0);
    assert_eq!((r.gaps[0].high, r.gaps[0].low), (A, B));
    assert_eq!(r.gaps[1].dimension, Dimension::Communication);
    assert_eq!(r.gaps[1].gap, 1.0);
    assert!(r.gaps[1].gap >= GAP_WARNING);
    assert_eq!(r.max_gap, Some(2.0));
}

#[test]
fn change_is_measured_against_the_previous_round() {
    let before = vec![answer(A, [3; 9]), answer(B, [3; 9])];
    let now = vec![answer(A, [4; 9]), answer(B, [5; 9])];
    let r = results(&now, Some(&before), &[A, B]);
    assert!(r.overall.iter().all(|f| f.change == Some(1.5)));
    let first = results(&now, None, &[A, B]);
    assert!(first.overall.iter().all(|f| f.change.is_none()));
    let empty = results(&[], None, &[A, B]);
    assert_eq!(empty.level, None);
    assert!(empty.overall.iter().all(|f| f.average.is_none()));
}

fn answers_strategy() -> impl Strategy<Value = Vec<SurveyAnswer>> {
    vec(
        (
            prop_oneof![Just(A), Just(B), Just(OrgId(3))],
            proptest::array::uniform9(1u8..=5),
        )
            .prop_map(|(org, scores)| SurveyAnswer {
                organization_id: org,
                scores,
            }),
        0..20,
    )
}

proptest! {
    #[test]
    fn few_respondents_are_never_revealed(answers in answers_strategy()) {
        let r = results(&answers, None, &[A, B, OrgId(3)]);
        for p in &r.parties {
            let n = answers.iter().filter(|a| a.organization_id == p.organization_id).count();
            prop_assert_eq!(p.respondents, n);
            prop_assert_eq!(p.revealed, n >= MIN_RESPONDENTS);
            if n < MIN_RESPONDENTS {
                prop_assert!(p.averages.is_empty());
                prop_assert!(r.gaps.iter().all(|g| g.high != p.organization_id && g.low != p.organization_id));
                prop_assert!(party_results(1, &r, p.organization_id).is_err());
            }
        }
    }

    #[test]
    fn figures_stay_in_range(answers in answers_strategy()) {
        let r = results(&answers, None, &[A, B, OrgId(3)]);
        for g in &r.gaps {
            prop_assert!(g.gap >= 0.0 && g.gap <= 4.0, "gap {}", g.gap);
        }
        for f in &r.overall {
            if let Some(a) = f.average {
                prop_assert!((1.0..=5.0).contains(&a));
            }
        }
        for p in &r.parties {
            for a in &p.averages {
                prop_assert!((1.0..=5.0).contains(&a.average));
            }
        }
        if let Some(l) = r.level {
            prop_assert!((1.0..=5.0).contains(&l));
        }
    }

    #[test]
    fn the_level_is_the_mean_of_every_score(answers in answers_strategy()) {
        let r = results(&answers, None, &[A, B]);
        if answers.is_empty() {
            prop_assert_eq!(r.level, None);
        } else {
            let sum: u32 = answers.iter().flat_map(|a| a.scores).map(u32::from).sum();
            let mean = f64::from(sum) / (answers.len() * 9) as f64;
            prop_assert!((r.level.unwrap() - mean).abs() < 1e-9);
        }
    }

    #[test]
    fn order_does_not_matter(answers in answers_strategy(), seed in any::<u64>()) {
        let mut shuffled = answers.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(
            results(&answers, Some(&shuffled), &[A, B, OrgId(3)]),
            results(&shuffled, Some(&answers), &[A, B, OrgId(3)])
        );
    }

    #[test]
    fn any_in_range_answer_validates(scores in proptest::array::uniform9(1i64..=5), bad in 0usize..9, value in prop_oneof![-100i64..=0, 6i64..=100]) {
        let map: BTreeMap<String, i64> = Dimension::WIRE.iter().map(|d| d.to_string()).zip(scores).collect();
        let ok = SurveyAnswerInput { scores: map.clone(), comment: String::new() }.validate();
        prop_assert!(ok.is_ok());
        let mut broken = map;
        broken.insert(Dimension::WIRE[bad].to_string(), value);
        let e = SurveyAnswerInput { scores: broken, comment: String::new() }.validate().unwrap_err();
        prop_assert_eq!(e.errors().len(), 1);
        prop_assert_eq!(&e.errors()[0].field, &format!("scores.{}", Dimension::ALL[bad].as_str()));
    }
}
