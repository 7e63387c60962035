//! The risk register's rules: validation naming the field, severity and the high zone, the
//! register's order, the heat map, the seeds (and that the migrations seed the same texts).

use chrono::{NaiveDate, TimeZone, Utc};
use concord_domain::health::risk::{
    check_change, heat_map, seeds, sort_register, Risk, RiskInput, SEEDS,
};
use concord_domain::health::{RiskCategory, RiskStatus, Visibility, HIGH_RISK};
use concord_domain::{OrgId, PartnershipId};
use proptest::prelude::*;

const PARTIES: [OrgId; 2] = [OrgId(1), OrgId(2)];

fn input() -> RiskInput {
    RiskInput {
        category: RiskCategory::DataSharing,
        title: "  No data-use agreement yet ".into(),
        description: "Claims data would flow before the agreement is signed.".into(),
        likelihood: 2,
        impact: 5,
        owner_org_id: Some(OrgId(2)),
        owner_name: "Dana Ruiz".into(),
        mitigation: String::new(),
        status: RiskStatus::Open,
        review_on: NaiveDate::from_ymd_opt(2026, 6, 1),
        visibility: Visibility::Shared,
    }
}

fn risk(id: i64, l: u8, i: u8, status: RiskStatus) -> Risk {
    let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    Risk {
        id,
        partnership_id: PartnershipId(1),
        category: RiskCategory::Other,
        title: format!("risk {id}"),
        description: String::new(),
        likelihood: l,
        impact: i,
        severity: l * i,
        high: l * i >= HIGH_RISK,
        owner_org_id: None,
        owner_name: String::new(),
        mitigation: String::new(),
        status,
        review_on: None,
        visibility: Visibility::Shared,
        private_org_id: None,
        seeded: false,
        created_by: "test".into(),
        created_at: t,
        updated_at: t,
    }
}

fn fields(e: &concord_domain::ValidationErrors) -> Vec<(&str, &str)> {
    e.errors()
        .iter()
        .map(|e| (e.field.as_str(), e.code.as_str()))
        .collect()
}

#[test]
fn a_valid_risk_is_cleaned() {
    let r = input().validate(&PARTIES).unwrap();
    assert_eq!(r.title, "No data-use agreement yet");
    assert_eq!(r.severity(), 10);
}

#[test]
fn scores_out_of_range_name_their_field() {
    for bad in [0u8, 6, 255] {
        let mut i = input();
        i.likelihood = bad;
        let e = i.validate(&PARTIES).unwrap_err();
        assert_eq!(fields(&e), vec![("likelihood", "out_of_range")]);
        let mut i = input();
        i.impact = bad;
        let e = i.validate(&PARTIES).unwrap_err();
        assert_eq!(fields(&e), vec![("impact", "out_of_range")]);
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut i = input();
    i.title = "   ".into();
    i.likelihood = 0;
    i.impact = 9;
    i.owner_org_id = Some(OrgId(77));
    i.owner_name = "x".repeat(201);
    let e = i.validate(&PARTIES).unwrap_err();
    assert_eq!(
        fields(&e),
        vec![
            ("title", "required"),
            ("likelihood", "out_of_range"),
            ("impact", "out_of_range"),
            ("owner_org_id", "not_a_party"),
            ("owner_name", "too_long"),
        ]
    );
}

#[test]
fn control_characters_are_refused_in_the_title_but_lines_allowed_in_text() {
    let mut i = input();
    i.title = "a\nb".into();
    i.mitigation = "step one\nstep two".into();
    let e = i.validate(&PARTIES).unwrap_err();
    assert_eq!(fields(&e), vec![("title", "invalid_characters")]);
}

#[test]
fn json_defaults_and_unknown_values() {
    let r: RiskInput = serde_json::from_value(serde_json::json!({
        "category": "regulatory", "title": "Stark", "likelihood": 1, "impact": 5
    }))
    .unwrap();
    assert_eq!(r.status, RiskStatus::Open);
    assert_eq!(r.visibility, Visibility::Shared);
    assert_eq!(r.owner_org_id, None);
    assert!(serde_json::from_value::<RiskInput>(serde_json::json!({
        "category": "weather", "title": "Storm", "likelihood": 1, "impact": 5
    }))
    .is_err());
    assert!(serde_json::from_value::<RiskInput>(serde_json::json!({
        "category": "other", "title": "x", "likelihood": 1, "impact": "x"
    }))
    .is_err());
}

#[test]
fn a_shared_risk_cannot_be_made_private_but_a_private_one_can_be_shared() {
    let shared = risk(1, 3, 3, RiskStatus::Open);
    let mut next = shared.to_input();
    next.visibility = Visibility::Private;
    let e = check_change(&shared, &next).unwrap_err();
    assert_eq!(fields(&e), vec![("visibility", "cannot_hide_shared")]);
    let mut private = risk(2, 3, 3, RiskStatus::Open);
    private.visibility = Visibility::Private;
    private.private_org_id = Some(OrgId(1));
    let mut next = private.to_input();
    next.visibility = Visibility::Shared;
    assert!(check_change(&private, &next).is_ok());
}

#[test]
fn high_zone_and_overdue_review() {
    assert!(risk(1, 3, 5, RiskStatus::Open).is_high());
    assert!(!risk(1, 2, 5, RiskStatus::Open).is_high());
    assert!(risk(1, 5, 5, RiskStatus::Open).high_without_mitigation());
    let mut mitigated = risk(1, 5, 5, RiskStatus::Mitigating);
    mitigated.mitigation = "weekly check-in".into();
    assert!(!mitigated.high_without_mitigation());
    assert!(!risk(1, 5, 5, RiskStatus::Closed).high_without_mitigation());
    let today = NaiveDate::from_ymd_opt(2026, 5, 2).unwrap();
    let mut r = risk(1, 1, 1, RiskStatus::Open);
    r.review_on = NaiveDate::from_ymd_opt(2026, 5, 1);
    assert!(r.review_overdue(today));
    r.review_on = Some(today);
    assert!(!r.review_overdue(today));
    r.review_on = NaiveDate::from_ymd_opt(2026, 5, 1);
    r.status = RiskStatus::Closed;
    assert!(!r.review_overdue(today));
}

#[test]
fn the_register_puts_open_severe_risks_first() {
    let mut list = vec![
        risk(1, 1, 1, RiskStatus::Open),
        risk(2, 5, 5, RiskStatus::Closed),
        risk(3, 4, 4, RiskStatus::Mitigating),
        risk(4, 4, 4, RiskStatus::Open),
        risk(5, 2, 3, RiskStatus::Open),
    ];
    sort_register(&mut list);
    let ids: Vec<i64> = list.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![3, 4, 5, 1, 2]);
}

#[test]
fn the_three_seeds() {
    let s = seeds();
    assert_eq!(s.len(), 3);
    let cats: Vec<RiskCategory> = s.iter().map(|r| r.category).collect();
    assert_eq!(
        cats,
        vec![
            RiskCategory::BusinessModel,
            RiskCategory::PowerAsymmetry,
            RiskCategory::ConsumerAssumptions
        ]
    );
    for r in &s {
        assert_eq!(r.visibility, Visibility::Shared);
        assert_eq!(r.status, RiskStatus::Open);
        assert!(r.validate(&PARTIES).is_ok(), "{r:?}");
        assert!(!r.description.is_empty());
        assert!(r.description.contains("Suggested mitigation"));
        // Not high: the seeds start a conversation, they do not raise warnings.
        assert!(r.severity() < HIGH_RISK);
    }
}

/// The migrations seed partnerships that existed before the register with the same texts.
#[test]
fn the_migrations_seed_the_same_texts() {
    for db in ["sqlite", "postgres"] {
        let path = format!(
            "{}/../concord-storage/migrations/{db}/0009_health.sql",
            env!("CARGO_MANIFEST_DIR")
        );
        let sql = std::fs::read_to_string(&path).unwrap();
        for s in SEEDS {
            let q = |t: &str| format!("'{}'", t.replace('\'', "''"));
            assert!(
                sql.contains(&q(s.category.as_str())),
                "{db}: {:?}",
                s.category
            );
            assert!(sql.contains(&q(s.title)), "{db}: {}", s.title);
            assert!(sql.contains(&q(s.description)), "{db}: {}", s.title);
            assert!(
                sql.contains(&format!(
                    "s.description, {}, {}, ''",
                    s.likelihood, s.impact
                )),
                "{db}: seeded scores"
            );
        }
        assert!(sql.contains(&format!("'{}'", concord_domain::health::risk::SEED_AUTHOR)));
    }
}

proptest! {
    #[test]
    fn validation_accepts_exactly_scores_one_to_five(l in any::<u8>(), i in any::<u8>()) {
        let mut r = input();
        r.likelihood = l;
        r.impact = i;
        let ok = (1..=5).contains(&l) && (1..=5).contains(&i);
        match r.validate(&PARTIES) {
            Ok(v) => {
                prop_assert!(ok);
                prop_assert_eq!(v.severity(), l * i);
                prop_assert!((1..=25).contains(&v.severity()));
            }
            Err(e) => {
                prop_assert!(!ok);
                for f in e.errors() {
                    prop_assert!(f.field == "likelihood" || f.field == "impact");
                    prop_assert_eq!(f.code.as_str(), "out_of_range");
                }
            }
        }
    }

    #[test]
    fn the_owner_must_be_a_party(owner in 0i64..10) {
        let mut r = input();
        r.owner_org_id = Some(OrgId(owner));
        let res = r.validate(&PARTIES);
        prop_assert_eq!(res.is_ok(), owner == 1 || owner == 2);
    }

    #[test]
    fn the_heat_map_counts_every_risk_once_in_its_cell(
        scores in proptest::collection::vec((1u8..=5, 1u8..=5), 0..40)
    ) {
        let list: Vec<Risk> = scores
            .iter()
            .enumerate()
            .map(|(n, (l, i))| risk(n as i64, *l, *i, RiskStatus::Open))
            .collect();
        let m = heat_map(&list);
        let total: usize = m.iter().flatten().sum();
        prop_assert_eq!(total, list.len());
        for (l, i) in &scores {
            prop_assert!(m[usize::from(*l - 1)][usize::from(*i - 1)] > 0);
        }
    }

    #[test]
    fn the_register_order_is_open_first_then_by_severity(
        scores in proptest::collection::vec((1u8..=5, 1u8..=5, 0usize..3), 0..30)
    ) {
        let mut list: Vec<Risk> = scores
            .iter()
            .enumerate()
            .map(|(n, (l, i, s))| risk(n as i64, *l, *i, RiskStatus::ALL[*s]))
            .collect();
        sort_register(&mut list);
        for w in list.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            prop_assert!(a.is_open() >= b.is_open());
            if a.is_open() == b.is_open() {
                prop_assert!(a.severity() >= b.severity());
            }
        }
    }
}
