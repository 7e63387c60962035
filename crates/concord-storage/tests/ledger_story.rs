//! The ledger story, run on SQLite always and on PostgreSQL when CONCORD_TEST_POSTGRES_URL is set:
//! many reporters appending to one chain at once, two reporters racing for one period, corrections
//! racing each other, imports racing single values, and reviews opened, decided and signed by
//! parties acting at the same moment. Every race ends in a whole chain (or one review) and every
//! loser gets a clear refusal — never a database error.

use chrono::NaiveDate;
use concord_domain::account::Role;
use concord_domain::charter::{Charter, SignInput};
use concord_domain::ledger::{verify_chain, CorrectionInput, ValueInput, GENESIS};
use concord_domain::organization::OrgKind;
use concord_domain::partnership::{PartnershipInput, PartnershipType, PartyInput, Stage};
use concord_domain::review::{DecisionInput, OpenReviewInput, ReviewDecision, ReviewStatus};
use concord_domain::{OrgId, PartnershipId};
use concord_storage::{Actor, Store, StoreError};
use serde_json::json;
use tokio::task::JoinSet;

mod common;
use common::{member, operator, org, uid};

/// Two parties, an alliance manager and a contributor on each side.
struct World {
    a: OrgId,
    b: OrgId,
    alice: Actor,
    bob: Actor,
    ann: Actor,
    ben: Actor,
}

async fn world(store: &Store) -> World {
    let a = org(store, "Shoreline Primary Care", OrgKind::PhysicianGroup).await;
    let b = org(store, "Bright Harbor Dental", OrgKind::DentalGroup).await;
    World {
        a,
        b,
        alice: member(store, "alice@shoreline.example", a, Role::AllianceManager).await,
        bob: member(store, "bob@harbor.example", b, Role::AllianceManager).await,
        ann: member(store, "ann@shoreline.example", a, Role::Contributor).await,
        ben: member(store, "ben@harbor.example", b, Role::Contributor).await,
    }
}

/// A charter with monthly metrics owned by `a` (ids 1 and 2) and a quarterly one owned by `b` (3).
fn charter(w: &World) -> Charter {
    let (a, b) = (w.a, w.b);
    serde_json::from_value(json!({
        "summary": "Dental care for primary-care patients who have none.",
        "starts_on": "2026-01-01",
        "ends_on": "2028-12-31",
        "goals": [ { "title": "Every diabetic patient sees a dentist yearly" } ],
        "alone_goals": [
            { "party": a, "goal": "Close the oral-health gap", "why": "No dentists on staff" },
            { "party": b, "goal": "Reach uninsured patients", "why": "No referral base" }
        ],
        "metrics": [
            { "name": "Referrals sent", "category": "access", "unit": "patients",
              "direction": "higher", "baseline": 10.0, "target": 50.0, "target_date": "2027-12-31",
              "cadence": "monthly", "owner": a },
            { "name": "Referral turnaround", "category": "operational", "unit": "days",
              "direction": "lower", "baseline": 20.0, "target": 5.0, "target_date": "2027-12-31",
              "cadence": "monthly", "owner": a },
            { "name": "Dental visit within 60 days", "category": "access", "unit": "%",
              "direction": "higher", "baseline": 20.0, "target": 60.0, "target_date": "2027-06-30",
              "cadence": "quarterly", "owner": b }
        ],
        "commitments": [ { "party": a, "what": "Embed referral in the EHR", "due_on": "2026-03-31" } ],
        "stakes": [
            { "party": a, "kind": "benefit", "description": "Better diabetes outcomes", "magnitude": "high" },
            { "party": a, "kind": "risk", "description": "Staff time on referrals", "magnitude": "low" },
            { "party": b, "kind": "benefit", "description": "New patients", "magnitude": "medium" },
            { "party": b, "kind": "risk", "description": "Uncompensated chair time", "magnitude": "medium" }
        ],
        "coopetition": { "areas": [ { "kind": "service_line", "name": "Oral health", "stance": "cooperate" } ],
                         "no_competing_areas": true },
        "governance": {
            "alliance_managers": [ { "party": a, "user_id": uid(&w.alice) }, { "party": b, "user_id": uid(&w.bob) } ],
            "meeting_cadence": "monthly", "review_interval_months": 6
        },
        "innovation_agenda": [ { "title": "Tele-dentistry screening" } ],
        "value_flows": [ { "from": a, "to": b, "kind": "shared_savings" } ]
    }))
    .unwrap()
}

/// A partnership between the world's parties with an effective charter.
async fn partnership(store: &Store, w: &World, name: &str) -> PartnershipId {
    let p = store
        .create_partnership(
            &operator(),
            &PartnershipInput {
                name: name.into(),
                purpose: "Dental care for primary-care patients".into(),
                partnership_type: PartnershipType::HorizontallyAdjacent,
                parties: [w.a, w.b]
                    .iter()
                    .enumerate()
                    .map(|(i, o)| PartyInput {
                        organization_id: *o,
                        role: format!("party {i}"),
                    })
                    .collect(),
            },
        )
        .await
        .unwrap()
        .id;
    let v = store
        .save_charter_draft(&w.alice, p, &charter(w))
        .await
        .unwrap();
    let input = SignInput {
        version: v.number,
        content_sha256: Some(v.content_sha256.clone()),
    };
    for who in [&w.alice, &w.bob] {
        store.acknowledge_stakes(who, p, &input).await.unwrap();
        store.sign_charter(who, p, &input).await.unwrap();
    }
    assert!(store.effective_charter(p).await.unwrap().is_some());
    p
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn month(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Months::new(n)
}

fn value(start: NaiveDate, v: f64) -> ValueInput {
    ValueInput {
        period_start: start,
        period_end: None,
        value: v,
        note: String::new(),
        source: String::new(),
    }
}

fn refused_with(e: &StoreError, want: &str) -> bool {
    matches!(e, StoreError::Refused { code, .. } if *code == want)
}

/// Checks the partnership's chain: numbered 1..=n without gaps, each linked to the one before,
/// and the store's own verification agrees.
async fn assert_whole_chain(store: &Store, who: &Actor, p: PartnershipId, n: usize) {
    let entries = store.ledger_entries(who, p, None).await.unwrap();
    assert_eq!(entries.len(), n);
    let seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=n as i64).collect::<Vec<_>>());
    if let Some(first) = entries.first() {
        assert_eq!(first.prev_hash, GENESIS);
    }
    let local = verify_chain(&entries);
    assert!(local.valid, "{local:?}");
    let v = store.verify_ledger(who, p).await.unwrap();
    assert!(v.valid, "{v:?}");
    assert_eq!(v.entries, n as u64);
    assert_eq!(v.head, local.head);
}

on_both!(
    sixteen_reporters_at_once_make_one_chain,
    |store: Store| async move {
        let w = world(&store).await;
        let p = partnership(&store, &w, "Busy reporting").await;
        let day = today();
        let mut set = JoinSet::new();
        for i in 0..16u32 {
            let (store, who) = (
                store.clone(),
                if i % 2 == 0 {
                    w.alice.clone()
                } else {
                    w.ann.clone()
                },
            );
            set.spawn(async move {
                store
                    .report_value(&who, p, 1, &value(month(i), f64::from(i)), day)
                    .await
            });
        }
        let mut seqs = Vec::new();
        while let Some(r) = set.join_next().await {
            let e = r
                .unwrap()
                .expect("every report of a different period succeeds");
            seqs.push(e.seq);
        }
        seqs.sort();
        assert_eq!(
            seqs,
            (1..=16).collect::<Vec<i64>>(),
            "unique sequence numbers 1..16"
        );
        assert_whole_chain(&store, &w.alice, p, 16).await;
        // Each report left one audit row.
        let mut audited = 0;
        for seq in 1..=16 {
            audited += store
                .audit_for("metric_entry", &format!("{}/{seq}", p.0), 5)
                .await
                .unwrap()
                .len();
        }
        assert_eq!(audited, 16);

        // A second round on two metrics and a second partnership at once: each chain stays whole.
        let q = partnership(&store, &w, "Second deal").await;
        let mut set = JoinSet::new();
        for i in 0..24u32 {
            let store = store.clone();
            let who = w.alice.clone();
            let (pid, metric) = match i % 3 {
                0 => (p, 2),
                1 => (q, 1),
                _ => (q, 2),
            };
            set.spawn(async move {
                store
                    .report_value(&who, pid, metric, &value(month(100 + i), 1.5), day)
                    .await
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap().expect("different periods never conflict");
        }
        assert_whole_chain(&store, &w.alice, p, 24).await;
        assert_whole_chain(&store, &w.alice, q, 16).await;
    }
);

on_both!(
    verifying_while_others_append_never_cries_wolf,
    |store: Store| async move {
        let w = world(&store).await;
        let p = partnership(&store, &w, "Busy and audited").await;
        let day = today();
        // Reporters keep appending while an auditor verifies over and over: the chain is whole at
        // every moment, so every verification must say so.
        let writers = {
            let store = store.clone();
            let who = w.ann.clone();
            tokio::spawn(async move {
                for i in 0..150u32 {
                    store
                        .report_value(&who, p, 1 + i % 2, &value(month(i / 2), 1.0), day)
                        .await
                        .unwrap();
                }
            })
        };
        let mut checks = 0;
        while !writers.is_finished() {
            let v = store.verify_ledger(&w.bob, p).await.unwrap();
            assert!(
                v.valid,
                "a whole chain reported broken during appends: {v:?}"
            );
            checks += 1;
        }
        writers.await.unwrap();
        assert!(checks > 0);
        assert_whole_chain(&store, &w.alice, p, 150).await;
    }
);

on_both!(
    two_reports_of_one_period_one_wins,
    |store: Store| async move {
        let w = world(&store).await;
        let p = partnership(&store, &w, "Racing reporters").await;
        let day = today();
        for round in 0..12u32 {
            let period = month(round);
            let (va, vb) = (value(period, 10.0), value(period, 11.0));
            let (ra, rb) = tokio::join!(
                store.report_value(&w.alice, p, 1, &va, day),
                store.report_value(&w.ann, p, 1, &vb, day)
            );
            let ok: Vec<_> = [&ra, &rb].into_iter().filter(|r| r.is_ok()).collect();
            assert_eq!(
                ok.len(),
                1,
                "round {round}: exactly one report of the period"
            );
            for r in [&ra, &rb] {
                if let Err(e) = r {
                    assert!(
                        refused_with(e, "duplicate_period"),
                        "round {round}: the loser is told to correct instead, not {e:?}"
                    );
                }
            }
        }
        assert_whole_chain(&store, &w.alice, p, 12).await;
        let overview = store.metrics_overview(&w.bob, p).await.unwrap().1;
        assert_eq!(overview.metrics[0].values.len(), 12);
        assert_eq!(overview.entries, 12);

        // Two corrections of the same entry at once: one supersedes it, the other is told to correct
        // the winner.
        for seq in 1..=6i64 {
            let fix = |v: f64| CorrectionInput {
                value: v,
                reason: "Recounted".into(),
                note: String::new(),
                source: String::new(),
            };
            let (fa, fb) = (fix(1.0), fix(2.0));
            let (ra, rb) = tokio::join!(
                store.correct_entry(&w.alice, p, seq, &fa),
                store.correct_entry(&w.ann, p, seq, &fb)
            );
            assert_eq!(
                [&ra, &rb].iter().filter(|r| r.is_ok()).count(),
                1,
                "entry {seq}: corrected once"
            );
            for r in [&ra, &rb] {
                if let Err(e) = r {
                    assert!(refused_with(e, "already_corrected"), "{e:?}");
                }
            }
        }
        assert_whole_chain(&store, &w.alice, p, 18).await;
        let overview = store.metrics_overview(&w.alice, p).await.unwrap().1;
        let values = &overview.metrics[0].values;
        assert_eq!(values.len(), 12, "still one current value per period");
        assert_eq!(values.iter().filter(|v| v.corrected).count(), 6);

        // An import racing single values on the same chain: both land, the chain stays whole; a value
        // for a period the import also carries makes exactly one of them fail.
        let csv: String = std::iter::once("metric,period,value".to_string())
            .chain((200..400u32).map(|n| format!("2,{},{n}", month(n).format("%Y-%m"))))
            .collect::<Vec<_>>()
            .join("\n");
        let (v1, v2) = (value(month(50), 3.0), value(month(399), 3.0));
        let (imported, single, clash) = tokio::join!(
            store.import_values(&w.alice, p, csv.as_bytes(), day),
            store.report_value(&w.ann, p, 1, &v1, day),
            store.report_value(&w.ann, p, 2, &v2, day),
        );
        single.expect("a different metric's period");
        match (&imported, &clash) {
            (Ok(s), Err(e)) => {
                assert_eq!(s.imported, 200);
                assert!(refused_with(e, "duplicate_period"), "{e:?}");
            }
            (Err(concord_storage::ImportError::Rows(rows)), Ok(_)) => {
                // The single value landed first, so the import names the row it now collides with.
                assert_eq!(rows.len(), 1, "{rows:?}");
                assert_eq!((rows[0].line, rows[0].column.as_str()), (201, "period"));
            }
            (Err(concord_storage::ImportError::Store(e)), Ok(_)) => {
                // …or it landed between the import's check and its write.
                assert!(refused_with(e, "duplicate_period"), "{e:?}");
            }
            other => panic!("exactly one of the import and the clashing value lands: {other:?}"),
        }
        let n = store.ledger_entries(&w.alice, p, None).await.unwrap().len();
        assert!(n == 18 + 1 + 200 || n == 18 + 1 + 1, "{n}");
        assert_whole_chain(&store, &w.alice, p, n).await;
    }
);

on_both!(who_may_report_what, |store: Store| async move {
    let w = world(&store).await;
    let p = partnership(&store, &w, "Owners only").await;
    let day = today();
    // The owner's contributor may; the other party's manager may not; an operator may not.
    store
        .report_value(&w.ann, p, 1, &value(month(0), 1.0), day)
        .await
        .unwrap();
    let e = store
        .report_value(&w.bob, p, 1, &value(month(1), 1.0), day)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Validation(v) if v.errors()[0].field == "metric_id" && v.errors()[0].code == "not_owner"),
        "{e:?}"
    );
    let e = store
        .report_value(&operator(), p, 1, &value(month(1), 1.0), day)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e:?}");
    // The quarterly metric belongs to b: its contributor reports it, a month start that is not a
    // quarter's is refused.
    store
        .report_value(&w.ben, p, 3, &value(month(3), 25.0), day)
        .await
        .unwrap();
    let e = store
        .report_value(&w.ben, p, 3, &value(month(4), 25.0), day)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Validation(v) if v.errors()[0].field == "period_start" && v.errors()[0].code == "cadence_mismatch"),
        "{e:?}"
    );
    assert_whole_chain(&store, &w.bob, p, 2).await;
    let chain = store.ledger_entries(&w.bob, p, None).await.unwrap();
    assert_eq!(chain[1].organization_id, w.b.0);
    assert_eq!(chain[1].reported_by, uid(&w.ben));
    assert_eq!(chain[1].period_end.to_string(), "1990-06-30");
});

on_both!(
    reviews_opened_and_signed_at_once,
    |store: Store| async move {
        let w = world(&store).await;
        for round in 0..4 {
            let p = partnership(&store, &w, &format!("Review race {round}")).await;
            for to in [Stage::Assessing, Stage::Negotiating, Stage::Active] {
                store
                    .transition_partnership(&w.alice, p, to, "")
                    .await
                    .unwrap();
            }
            // Both managers open a review at once, while the scheduler runs: exactly one review.
            let early = OpenReviewInput {
                reason: "Volumes dropped".into(),
            };
            let day = today();
            let far = day + chrono::Months::new(120);
            let (ra, rb, due) = tokio::join!(
                store.open_review(&w.alice, p, &early, day),
                store.open_review(&w.bob, p, &early, day),
                store.open_due_reviews(far),
            );
            // (The scheduler also opens the reviews of earlier rounds' partnerships, due again.)
            let due = due.expect("the scheduler never fails on a race");
            let due_here = due.iter().filter(|(id, _)| *id == p).count();
            let opened = [&ra, &rb].iter().filter(|r| r.is_ok()).count() + due_here;
            assert_eq!(
                opened,
                1,
                "round {round}: one review ({:?}, {:?}, {due:?})",
                ra.as_ref().map(|r| r.number),
                rb.as_ref().map(|r| r.number)
            );
            for r in [&ra, &rb] {
                if let Err(e) = r {
                    assert!(
                        refused_with(e, "review_open") || refused_with(e, "not_active"),
                        "round {round}: {e:?}"
                    );
                }
            }
            let got = store.get_partnership(&w.alice, p).await.unwrap();
            assert_eq!(got.stage, Stage::UnderReview);
            let reviews = store.reviews(&w.alice, p, day).await.unwrap();
            assert_eq!(reviews.reviews.len(), 1);
            let number = reviews.reviews[0].number;
            let changes = store.stage_history(&w.alice, p).await.unwrap();
            assert_eq!(
                changes
                    .iter()
                    .filter(|c| c.to_stage == Stage::UnderReview)
                    .count(),
                1,
                "round {round}: one move to under_review"
            );

            // Decided, then both managers sign at once: closed exactly once, the stage moved once.
            store
                .decide_review(
                    &w.alice,
                    p,
                    number,
                    &DecisionInput {
                        decision: ReviewDecision::Continue,
                        rationale: "On track".into(),
                    },
                    day,
                )
                .await
                .unwrap();
            let (sa, sb) = tokio::join!(
                store.sign_review(&w.alice, p, number, day),
                store.sign_review(&w.bob, p, number, day)
            );
            sa.unwrap();
            sb.unwrap();
            let r = store.review(&w.bob, p, number, day).await.unwrap();
            assert_eq!(r.status, ReviewStatus::Closed, "round {round}");
            assert_eq!(r.signatures.len(), 2);
            assert!(r.awaiting.is_empty());
            let got = store.get_partnership(&w.alice, p).await.unwrap();
            assert_eq!(got.stage, Stage::Active, "round {round}");
            let changes = store.stage_history(&w.alice, p).await.unwrap();
            assert_eq!(
                changes
                    .iter()
                    .filter(|c| c.from_stage == Some(Stage::UnderReview))
                    .count(),
                1,
                "round {round}: one move out of review"
            );
            let closes = store
                .audit_for("review", &format!("{}/{number}", p.0), 20)
                .await
                .unwrap()
                .iter()
                .filter(|e| e.action == "close_review")
                .count();
            assert_eq!(closes, 1, "round {round}");
        }
    }
);

/// The decision each standing signature of review `n` was given on, from the audit log.
async fn signed_decisions(store: &Store, p: PartnershipId, n: u32) -> Vec<(i64, String)> {
    let log = store
        .audit_for("review", &format!("{}/{n}", p.0), 500)
        .await
        .unwrap();
    let mut out: Vec<(i64, String)> = Vec::new();
    for e in log.iter().filter(|e| e.action == "sign_review") {
        let after = e.after.as_ref().unwrap();
        let org = after["organization_id"].as_i64().unwrap();
        if !out.iter().any(|(o, _)| *o == org) {
            out.push((org, after["decision"].as_str().unwrap().to_string()));
        }
    }
    out
}

on_both!(
    a_signature_never_outlives_its_decision,
    |store: Store| async move {
        let w = world(&store).await;
        let p = partnership(&store, &w, "Changing minds").await;
        for to in [Stage::Assessing, Stage::Negotiating, Stage::Active] {
            store
                .transition_partnership(&w.alice, p, to, "")
                .await
                .unwrap();
        }
        let day = today();
        let decide = |d: ReviewDecision| DecisionInput {
            decision: d,
            rationale: "Because".into(),
        };
        let early = OpenReviewInput::default();
        for round in 0..25 {
            let n = store
                .open_review(&w.alice, p, &early, day)
                .await
                .unwrap()
                .number;
            store
                .decide_review(&w.alice, p, n, &decide(ReviewDecision::Expand), day)
                .await
                .unwrap();
            // Bob signs while Alice changes the decision.
            let to_continue = decide(ReviewDecision::Continue);
            let (signed, changed) = tokio::join!(
                store.sign_review(&w.bob, p, n, day),
                store.decide_review(&w.alice, p, n, &to_continue, day)
            );
            changed.unwrap();
            if let Err(e) = &signed {
                assert!(refused_with(e, "decision_changed"), "round {round}: {e:?}");
            }
            let r = store.review(&w.alice, p, n, day).await.unwrap();
            assert_eq!(r.decision, Some(ReviewDecision::Continue));
            assert_eq!(r.status, ReviewStatus::AwaitingSignatures, "round {round}");
            // A signature that stands was given on the decision that stands.
            let given = signed_decisions(&store, p, n).await;
            for s in &r.signatures {
                let on = given
                    .iter()
                    .find(|(o, _)| *o == s.organization_id.0)
                    .map(|(_, d)| d.as_str());
                assert_eq!(
                    on,
                    Some("continue"),
                    "round {round}: organization {} signed {on:?} but the decision is continue",
                    s.organization_id
                );
            }
            // Close it: whoever has not signed the standing decision signs now.
            for who in [&w.alice, &w.bob] {
                if !r
                    .signatures
                    .iter()
                    .any(|s| Some(s.organization_id.0) == who.org_id())
                {
                    store.sign_review(who, p, n, day).await.unwrap();
                }
            }
            let r = store.review(&w.alice, p, n, day).await.unwrap();
            assert_eq!(r.status, ReviewStatus::Closed, "round {round}");
            assert_eq!(
                store.get_partnership(&w.alice, p).await.unwrap().stage,
                Stage::Active
            );
        }

        // The last signature racing a changed decision: the review closes on the decision both
        // signed, or stays open on the new one — never closes on a decision one party did not sign.
        for round in 0..25 {
            let n = store
                .open_review(&w.alice, p, &early, day)
                .await
                .unwrap()
                .number;
            store
                .decide_review(&w.alice, p, n, &decide(ReviewDecision::Continue), day)
                .await
                .unwrap();
            store.sign_review(&w.alice, p, n, day).await.unwrap();
            let to_exit = decide(ReviewDecision::Exit);
            let (signed, changed) = tokio::join!(
                store.sign_review(&w.bob, p, n, day),
                store.decide_review(&w.alice, p, n, &to_exit, day)
            );
            let r = store.review(&w.alice, p, n, day).await.unwrap();
            let stage = store.get_partnership(&w.alice, p).await.unwrap().stage;
            match (&signed, &changed) {
                (Ok(_), Err(e)) => {
                    // Bob closed it first; the change came too late.
                    assert!(refused_with(e, "review_closed"), "round {round}: {e:?}");
                    assert_eq!(r.status, ReviewStatus::Closed);
                    assert_eq!(r.decision, Some(ReviewDecision::Continue));
                    assert_eq!(stage, Stage::Active);
                }
                (_, Ok(_)) => {
                    // The change landed: every signature was cleared or is on `exit`.
                    if let Err(e) = &signed {
                        assert!(
                            refused_with(e, "decision_changed") || refused_with(e, "review_closed"),
                            "round {round}: {e:?}"
                        );
                    }
                    assert_eq!(
                        r.decision,
                        Some(ReviewDecision::Exit),
                        "round {round}: {r:?}"
                    );
                    assert_ne!(r.status, ReviewStatus::Closed, "round {round}: {r:?}");
                    assert_eq!(stage, Stage::UnderReview, "round {round}");
                    let given = signed_decisions(&store, p, n).await;
                    for s in &r.signatures {
                        let on = given
                            .iter()
                            .find(|(o, _)| *o == s.organization_id.0)
                            .map(|(_, d)| d.as_str());
                        assert_eq!(on, Some("exit"), "round {round}");
                    }
                    // Settle it back to active for the next round.
                    store
                        .decide_review(&w.alice, p, n, &decide(ReviewDecision::Continue), day)
                        .await
                        .unwrap();
                    for who in [&w.alice, &w.bob] {
                        store.sign_review(who, p, n, day).await.unwrap();
                    }
                }
                (Err(a), Err(b)) => panic!("round {round}: both refused: {a:?} / {b:?}"),
            }
            assert_eq!(
                store.get_partnership(&w.alice, p).await.unwrap().stage,
                Stage::Active,
                "round {round}"
            );
        }
    }
);
