//! Fit scorecard and ecosystem map rules: validation names the field, the total is a monotone
//! weighted mean within 0–100, a failed gate always shows, a weight of zero drops a criterion,
//! and the map's layout is deterministic.

use std::collections::BTreeMap;

use concord_domain::market::ecosystem_map::{
    layout, EdgeInput, MapFilter, NodeInput, NodeKind, MAP_SIZE,
};
use concord_domain::market::scorecard::{
    check_gates, evaluate, weighted_total, Criterion, FitProfile, Judgement, JudgementInput,
    Judgements, JudgementsInput, Settings, SettingsInput, Verdict,
};
use concord_domain::organization::{BusinessModel, RevenueModel, Size};
use concord_domain::partnership::PartnershipType;
use proptest::prelude::*;

fn profile(name: &str) -> FitProfile {
    FitProfile {
        name: name.into(),
        kind: "physician_group".into(),
        ..FitProfile::default()
    }
}

fn evaluator() -> FitProfile {
    FitProfile {
        state: Some("CT".into()),
        zip: Some("06510".into()),
        latitude: Some(41.3083),
        longitude: Some(-72.9279),
        values: vec!["Equity".into(), "physician-led".into()],
        capabilities_sought: vec!["dental".into(), "podiatry".into()],
        size: Size {
            providers: Some(400),
            ..Size::default()
        },
        ..profile("Harbor Valley Health")
    }
}

fn candidate() -> FitProfile {
    FitProfile {
        state: Some("CT".into()),
        zip: Some("06511".into()),
        latitude: Some(41.3163),
        longitude: Some(-72.9223),
        values: vec!["equity".into(), "access".into()],
        capabilities_offered: vec!["dental".into()],
        star_rating: Some(4),
        size: Size {
            providers: Some(20),
            ..Size::default()
        },
        business_model: Some(BusinessModel {
            revenue_model: Some(RevenueModel::FeeForService),
            decision_making: Some("Partners vote".into()),
            ..BusinessModel::default()
        }),
        ..profile("Bright Harbor Dental")
    }
}

fn judgements(strategic: u8) -> Judgements {
    let mut j = Judgements::new();
    j.insert(
        Criterion::StrategicAlignment,
        Judgement {
            judgement: Some(strategic),
            evidence: "Fills our dental gap".into(),
        },
    );
    j
}

#[test]
fn a_full_evaluation_explains_itself() {
    let e = evaluate(
        &evaluator(),
        &candidate(),
        &judgements(4),
        &Settings::default(),
    );
    let by = |c: Criterion| e.criteria.iter().find(|s| s.criterion == c).unwrap();
    assert_eq!(by(Criterion::StrategicAlignment).score, Some(75.0));
    assert_eq!(by(Criterion::Complementarity).score, Some(50.0));
    assert_eq!(by(Criterion::HistoricalPerformance).score, Some(75.0));
    assert_eq!(by(Criterion::Transparency).score, Some(40.0));
    // equity shared of {equity, physician-led, access}.
    assert_eq!(by(Criterion::CultureValues).score, Some(33.3));
    assert!(by(Criterion::GeographicFit)
        .explanation
        .contains("same ZIP3"));
    // 400 providers against 20: 20×, a warning.
    assert_eq!(e.warnings.len(), 1, "{:?}", e.warnings);
    assert!(e.warnings[0].contains("Harbor Valley Health is 20.0×"));
    assert!(e.total.is_some());
    assert!(e.explanation[0].starts_with("Total "));
    assert!(e
        .explanation
        .iter()
        .any(|l| l.starts_with("Strategic alignment contributed")));
    assert!(e
        .price_note
        .contains("Price is deliberately not a criterion"));
    assert_eq!(
        by(Criterion::StrategicAlignment).evidence,
        "Fills our dental gap"
    );
}

#[test]
fn a_failed_gate_decides_the_verdict_whatever_the_total() {
    let mut s = Settings::default();
    s.gates.insert(Criterion::Transparency, 90.0);
    let e = evaluate(&evaluator(), &candidate(), &judgements(5), &s);
    assert_eq!(e.verdict, Verdict::FailsGate);
    assert!(!e.gates[0].passed);
    assert!(e.explanation.iter().any(|l| l.contains("must-pass")));
    // An unscored gated criterion fails too.
    let mut s = Settings::default();
    s.gates.insert(Criterion::StrategicAlignment, 10.0);
    let e = evaluate(&evaluator(), &candidate(), &Judgements::new(), &s);
    assert_eq!(e.verdict, Verdict::FailsGate);
    assert!(e.gates[0].message.contains("no score"));
}

#[test]
fn judgements_are_validated_by_field() {
    let mut criteria = BTreeMap::new();
    criteria.insert(
        "strategic_alignment".to_string(),
        JudgementInput {
            judgement: Some(6),
            evidence: String::new(),
        },
    );
    criteria.insert(
        "price".to_string(),
        JudgementInput {
            judgement: Some(3),
            evidence: String::new(),
        },
    );
    criteria.insert(
        "geographic_fit".to_string(),
        JudgementInput {
            judgement: Some(3),
            evidence: "ok".into(),
        },
    );
    let e = JudgementsInput { criteria }.validate().unwrap_err();
    let fields: Vec<(&str, &str)> = e
        .errors()
        .iter()
        .map(|e| (e.field.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("criteria.geographic_fit.judgement", "not_judged"),
            ("criteria.price", "unknown_criterion"),
            ("criteria.strategic_alignment.judgement", "out_of_range"),
        ]
    );
}

#[test]
fn settings_are_validated_by_field() {
    let mut weights = BTreeMap::new();
    weights.insert("strategic_alignment".to_string(), -1.0);
    weights.insert("complementarity".to_string(), f64::NAN);
    weights.insert("price".to_string(), 1.0);
    let mut gates = BTreeMap::new();
    gates.insert("geographic_fit".to_string(), 101.0);
    let e = SettingsInput { weights, gates }.validate().unwrap_err();
    let fields: Vec<(&str, &str)> = e
        .errors()
        .iter()
        .map(|e| (e.field.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("weights.complementarity", "not_finite"),
            ("weights.price", "unknown_criterion"),
            ("weights.strategic_alignment", "negative"),
            ("gates.geographic_fit", "out_of_range"),
        ]
    );
    let ok = SettingsInput::default().validate().unwrap();
    assert_eq!(ok, Settings::default());
}

#[test]
fn the_layout_is_deterministic_and_inside_the_drawing() {
    let center = NodeInput {
        key: "org:1".into(),
        kind: NodeKind::Center,
        label: "Home".into(),
        href: None,
    };
    let nodes: Vec<NodeInput> = (2..9)
        .map(|i| NodeInput {
            key: format!("org:{i}"),
            kind: if i % 3 == 0 {
                NodeKind::Competitor
            } else if i % 3 == 1 {
                NodeKind::Candidate
            } else {
                NodeKind::Partner
            },
            label: format!("Org {i}"),
            href: None,
        })
        .collect();
    let edges: Vec<EdgeInput> = nodes
        .iter()
        .map(|n| EdgeInput {
            to: n.key.clone(),
            relation: match n.kind {
                NodeKind::Partner => "partnership",
                NodeKind::Candidate => "evaluating",
                _ => "competes",
            }
            .into(),
            partnership_id: None,
            partnership_name: None,
            partnership_type: (n.kind == NodeKind::Partner).then_some(PartnershipType::Wholesale),
            stage: None,
            health: None,
            score: None,
        })
        .collect();
    let a = layout(center.clone(), &nodes, &edges, &MapFilter::default());
    let mut reversed = nodes.clone();
    reversed.reverse();
    let b = layout(center.clone(), &reversed, &edges, &MapFilter::default());
    assert_eq!(a, b, "input order does not change the picture");
    assert_eq!(a.nodes.len(), 7);
    assert_eq!(a.edges.len(), 7);
    for n in &a.nodes {
        assert!(n.x > 0.0 && n.x < MAP_SIZE && n.y > 0.0 && n.y < MAP_SIZE);
        let r = ((n.x - 320.0).powi(2) + (n.y - 320.0).powi(2)).sqrt();
        assert!((r - n.kind.ring() * 320.0).abs() < 0.2, "{n:?} on its ring");
    }
    // Filters: only competitors; only vertically adjacent partnerships (none here).
    let only = layout(
        center.clone(),
        &nodes,
        &edges,
        &MapFilter {
            kinds: vec![NodeKind::Competitor],
            partnership_type: None,
        },
    );
    assert!(only.nodes.iter().all(|n| n.kind == NodeKind::Competitor));
    let typed = layout(
        center,
        &nodes,
        &edges,
        &MapFilter {
            kinds: vec![],
            partnership_type: Some(PartnershipType::VerticallyAdjacent),
        },
    );
    assert!(typed.nodes.iter().all(|n| n.kind != NodeKind::Partner));
    assert!(typed.edges.iter().all(|e| e.relation != "partnership"));
}

fn scores() -> impl Strategy<Value = Vec<(Option<f64>, f64)>> {
    proptest::collection::vec(
        (proptest::option::of(0.0f64..=100.0), 0.0f64..10.0),
        Criterion::ALL.len(),
    )
}

proptest! {
    #[test]
    fn raising_a_score_never_lowers_the_total(s in scores(), i in 0usize..7, up in 0.0f64..100.0) {
        let (before, _) = weighted_total(&s);
        let mut raised = s.clone();
        if let Some(v) = raised[i].0 {
            raised[i].0 = Some((v + up).min(100.0));
            let (after, _) = weighted_total(&raised);
            prop_assert!(after.unwrap() + 1e-9 >= before.unwrap());
        }
    }

    #[test]
    fn the_total_is_within_0_and_100(s in scores()) {
        let (total, contributions) = weighted_total(&s);
        if let Some(t) = total {
            prop_assert!((0.0..=100.0).contains(&t));
            prop_assert!((contributions.iter().sum::<f64>() - t).abs() < 1e-6);
        }
    }

    #[test]
    fn a_zero_weight_drops_the_criterion(s in scores(), i in 0usize..7, other in 0.0f64..=100.0) {
        let mut s = s;
        s[i].1 = 0.0;
        let (a, ca) = weighted_total(&s);
        s[i].0 = Some(other);
        let (b, _) = weighted_total(&s);
        prop_assert_eq!(a, b);
        prop_assert_eq!(ca[i], 0.0);
    }

    #[test]
    fn a_failed_gate_always_shows(j in 1u8..=5, threshold in 0.0f64..=100.0, w in 0.0f64..5.0) {
        let mut settings = Settings::default();
        settings.gates.insert(Criterion::StrategicAlignment, threshold);
        settings.weights.insert(Criterion::StrategicAlignment, w);
        let e = evaluate(&evaluator(), &candidate(), &judgements(j), &settings);
        let score = f64::from(j - 1) * 25.0;
        let gate = &e.gates[0];
        prop_assert_eq!(gate.passed, score >= threshold);
        if score < threshold {
            prop_assert_eq!(e.verdict, Verdict::FailsGate);
            prop_assert!(e.explanation.iter().any(|l| l.contains("Fails a must-pass gate")));
        } else {
            prop_assert_ne!(e.verdict, Verdict::FailsGate);
        }
        let scores = e.criteria.iter().map(|c| (c.criterion, c.score)).collect();
        prop_assert_eq!(check_gates(&settings, &scores).len(), 1);
    }

    #[test]
    fn evaluating_never_panics(j in proptest::option::of(1u8..=5), lat in -90.0f64..90.0,
                               providers in proptest::option::of(0u32..100_000),
                               tags in proptest::collection::vec("[a-z]{0,6}", 0..5)) {
        let mut c = candidate();
        c.latitude = Some(lat);
        c.size.providers = providers;
        c.values = tags;
        let mut js = Judgements::new();
        js.insert(Criterion::CultureValues, Judgement { judgement: j, evidence: String::new() });
        let e = evaluate(&evaluator(), &c, &js, &Settings::default());
        for s in &e.criteria {
            if let Some(v) = s.score { prop_assert!((0.0..=100.0).contains(&v)); }
        }
    }
}
