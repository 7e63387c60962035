//! The charter story, run on SQLite always and on PostgreSQL when CONCORD_TEST_POSTGRES_URL is
//! set: parties signing at the same moment, stakes acknowledgements across versions, the audit
//! rows every charter write leaves, and requests that race each other.

use concord_domain::account::Role;
use concord_domain::audit::{AuditEntry, AuditFilter};
use concord_domain::charter::{Charter, CharterRecord, CharterVersion, SignInput, VersionStatus};
use concord_domain::organization::OrgKind;
use concord_domain::paging::PageRequest;
use concord_domain::partnership::{PartnershipInput, PartnershipType, PartyInput, Stage};
use concord_domain::{OrgId, PartnershipId};
use concord_storage::{Actor, Store, StoreError};
use serde_json::json;

mod common;
use common::{member, operator, org, uid};

/// Two organizations in a partnership, each with an alliance manager; `a_admin` and `b_admin` read
/// the audit log.
struct World {
    p: PartnershipId,
    a: OrgId,
    b: OrgId,
    alice: Actor,
    bob: Actor,
    a_admin: Actor,
    b_admin: Actor,
}

async fn partnership(store: &Store, name: &str, orgs: &[OrgId]) -> PartnershipId {
    store
        .create_partnership(
            &operator(),
            &PartnershipInput {
                name: name.into(),
                purpose: "Dental care for primary-care patients".into(),
                partnership_type: PartnershipType::HorizontallyAdjacent,
                parties: orgs
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
        .id
}

async fn world(store: &Store) -> World {
    let a = org(store, "Shoreline Primary Care", OrgKind::PhysicianGroup).await;
    let b = org(store, "Bright Harbor Dental", OrgKind::DentalGroup).await;
    let p = partnership(store, "Smiles in primary care", &[a, b]).await;
    World {
        p,
        a,
        b,
        alice: member(store, "alice@shoreline.example", a, Role::AllianceManager).await,
        bob: member(store, "bob@harbor.example", b, Role::AllianceManager).await,
        a_admin: member(store, "admin@shoreline.example", a, Role::Admin).await,
        b_admin: member(store, "admin@harbor.example", b, Role::Admin).await,
    }
}

/// A charter that passes every verdict test, between `a` (managed by `am`) and `b` (by `bm`).
fn charter(a: OrgId, am: &Actor, b: OrgId, bm: &Actor) -> Charter {
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
            { "name": "Dental visit within 60 days", "category": "access", "unit": "%",
              "direction": "higher", "baseline": 20.0, "target": 60.0, "target_date": "2027-06-30",
              "cadence": "quarterly", "owner": b }
        ],
        "stakes": [
            { "party": a, "kind": "benefit", "description": "Better diabetes outcomes", "magnitude": "high" },
            { "party": a, "kind": "risk", "description": "Staff time on referrals", "magnitude": "low" },
            { "party": b, "kind": "benefit", "description": "New patients", "magnitude": "medium" },
            { "party": b, "kind": "risk", "description": "Uncompensated chair time", "magnitude": "medium" }
        ],
        "tradeoffs": [ { "party": b, "description": "Evening hours for referred patients" } ],
        "coopetition": { "areas": [ { "kind": "service_line", "name": "Oral health", "stance": "cooperate" } ],
                         "no_competing_areas": true },
        "governance": {
            "alliance_managers": [ { "party": a, "user_id": uid(am) }, { "party": b, "user_id": uid(bm) } ],
            "meeting_cadence": "monthly", "review_interval_months": 6
        },
        "innovation_agenda": [ { "title": "Tele-dentistry screening" } ],
        "value_flows": [ { "from": a, "to": b, "kind": "shared_savings" } ]
    }))
    .unwrap()
}

fn w_charter(w: &World) -> Charter {
    charter(w.a, &w.alice, w.b, &w.bob)
}

fn input(v: &CharterVersion) -> SignInput {
    SignInput {
        version: v.number,
        content_sha256: Some(v.content_sha256.clone()),
    }
}

async fn record(store: &Store, actor: &Actor, p: PartnershipId) -> CharterRecord {
    store.charter(actor, p).await.unwrap().1
}

fn count(r: &CharterRecord, status: VersionStatus) -> usize {
    r.versions.iter().filter(|v| v.status == status).count()
}

fn is_conflict(e: &StoreError, on: &str) -> bool {
    matches!(e, StoreError::Conflict { field, .. } | StoreError::Refused { field, .. } if field == on)
}

/// Charter audit entries (oldest first) as an organization's admin reads them.
async fn charter_log(store: &Store, admin: &Actor) -> Vec<AuditEntry> {
    let mut items = store
        .list_audit(
            admin.acting.as_ref().unwrap(),
            &AuditFilter {
                entity: Some("charter".into()),
                ..AuditFilter::default()
            },
            PageRequest::new(Some(1), Some(100)).unwrap(),
        )
        .await
        .unwrap()
        .items;
    items.reverse();
    items
}

on_both!(
    parties_signing_at_once_make_exactly_one_effective_version,
    |store: Store| async move {
        let w = world(&store).await;
        for round in 1..=8u32 {
            let mut c = w_charter(&w);
            c.summary = format!("Round {round}");
            let v = store.save_charter_draft(&w.alice, w.p, &c).await.unwrap();
            assert_eq!(v.number, round);
            let i = input(&v);
            let (ra, rb) = tokio::join!(
                store.sign_charter(&w.alice, w.p, &i),
                store.sign_charter(&w.bob, w.p, &i)
            );
            let (ra, rb) = (ra.unwrap(), rb.unwrap());
            assert!(
                ra.status == VersionStatus::Effective || rb.status == VersionStatus::Effective,
                "round {round}: the last signer sees the version become effective"
            );
            let r = record(&store, &w.alice, w.p).await;
            assert_eq!(count(&r, VersionStatus::Effective), 1, "round {round}");
            assert_eq!(count(&r, VersionStatus::Draft), 0, "round {round}");
            assert_eq!(
                count(&r, VersionStatus::Superseded),
                round as usize - 1,
                "round {round}"
            );
            let eff = r.effective().unwrap();
            assert_eq!(eff.number, round);
            assert_eq!(eff.content.summary, format!("Round {round}"));
            assert!(eff.sign_off.iter().all(|s| s.signed.is_some()));
            assert!(eff.effective_at.is_some());
            let made = store
                .audit_for("charter", &format!("{}/v{round}", w.p.0), 20)
                .await
                .unwrap();
            let actions: Vec<&str> = made.iter().map(|e| e.action.as_str()).collect();
            assert_eq!(
                actions.iter().filter(|a| **a == "make_effective").count(),
                1,
                "round {round}: {actions:?}"
            );
            assert_eq!(actions.iter().filter(|a| **a == "sign").count(), 2);
        }

        // Three parties signing at once.
        let c3 = org(&store, "County Health District", OrgKind::PublicHealth).await;
        let carol = member(&store, "carol@county.example", c3, Role::AllianceManager).await;
        let p3 = partnership(&store, "Three ways", &[w.a, w.b, c3]).await;
        for round in 1..=5u32 {
            let mut c = w_charter(&w);
            c.summary = format!("Three-way round {round}");
            let v = store.save_charter_draft(&carol, p3, &c).await.unwrap();
            let i = input(&v);
            let (ra, rb, rc) = tokio::join!(
                store.sign_charter(&w.alice, p3, &i),
                store.sign_charter(&w.bob, p3, &i),
                store.sign_charter(&carol, p3, &i)
            );
            let effective = [ra.unwrap(), rb.unwrap(), rc.unwrap()]
                .iter()
                .filter(|v| v.status == VersionStatus::Effective)
                .count();
            assert!(effective >= 1, "round {round}");
            let r = record(&store, &carol, p3).await;
            assert_eq!(count(&r, VersionStatus::Effective), 1, "round {round}");
            assert_eq!(r.effective().unwrap().number, round);
            assert_eq!(r.effective().unwrap().sign_off.len(), 3);
            assert!(r
                .effective()
                .unwrap()
                .sign_off
                .iter()
                .all(|s| s.signed.is_some()));
        }
        // The effective charter lets the partnership go active.
        for s in [Stage::Assessing, Stage::Negotiating, Stage::Active] {
            store
                .transition_partnership(&w.alice, w.p, s, "")
                .await
                .unwrap();
        }
    }
);

on_both!(
    acknowledgements_follow_the_stakes,
    |store: Store| async move {
        let w = world(&store).await;
        let v1 = store
            .save_charter_draft(&w.alice, w.p, &w_charter(&w))
            .await
            .unwrap();
        assert!(v1.acknowledged_orgs().is_empty());
        for who in [&w.alice, &w.bob] {
            store
                .acknowledge_stakes(who, w.p, &input(&v1))
                .await
                .unwrap();
        }
        // Acknowledging again is a no-op, not an error.
        let again = store
            .acknowledge_stakes(&w.bob, w.p, &input(&v1))
            .await
            .unwrap();
        assert_eq!(again.acknowledged_orgs(), vec![w.a, w.b]);
        for who in [&w.alice, &w.bob] {
            store.sign_charter(who, w.p, &input(&v1)).await.unwrap();
        }
        let r = record(&store, &w.alice, w.p).await;
        let eff = r.effective().unwrap().clone();
        assert_eq!(eff.acknowledged_orgs(), vec![w.a, w.b]);
        assert_eq!(
            r.verdict(None).verdict,
            concord_domain::verdict::VerdictKind::Strategic
        );

        // A new draft with the same stakes and tradeoffs: the acknowledgements carry over, with
        // who acknowledged and when.
        let mut c = eff.content.clone();
        c.summary = "Version two".into();
        let v2 = store.save_charter_draft(&w.bob, w.p, &c).await.unwrap();
        assert_eq!(v2.number, 2);
        assert_eq!(v2.acknowledged_orgs(), vec![w.a, w.b]);
        for (new, old) in v2.sign_off.iter().zip(&eff.sign_off) {
            let (n, o) = (
                new.acknowledged_stakes.as_ref().unwrap(),
                old.acknowledged_stakes.as_ref().unwrap(),
            );
            assert_eq!(n.user_id, o.user_id);
            assert_eq!(n.acknowledged_at, o.acknowledged_at);
            assert!(new.signed.is_none(), "signatures never carry over");
        }
        // Editing something else keeps them.
        c.metrics[0].target = 70.0;
        let v2 = store.save_charter_draft(&w.alice, w.p, &c).await.unwrap();
        assert_eq!(v2.acknowledged_orgs(), vec![w.a, w.b]);

        // A changed stake clears them on the draft (the effective version keeps its own).
        c.stakes[3].magnitude = concord_domain::charter::Magnitude::High;
        let v2 = store.save_charter_draft(&w.alice, w.p, &c).await.unwrap();
        assert!(v2.acknowledged_orgs().is_empty(), "{:?}", v2.sign_off);
        let r = record(&store, &w.alice, w.p).await;
        assert_eq!(r.effective().unwrap().acknowledged_orgs(), vec![w.a, w.b]);
        let draft_verdict = r.verdict(r.draft());
        let stakes = draft_verdict
            .tests
            .iter()
            .find(|t| t.test == concord_domain::verdict::TestKind::StakesOnTheTable)
            .unwrap();
        assert!(!stakes.passed);
        assert!(stakes
            .reason
            .contains("Shoreline Primary Care and Bright Harbor Dental"));

        // Acknowledged again by one party; then a changed tradeoff clears it too.
        store
            .acknowledge_stakes(&w.bob, w.p, &input(&v2))
            .await
            .unwrap();
        c.tradeoffs[0].description = "Saturday hours for referred patients".into();
        let v2 = store.save_charter_draft(&w.alice, w.p, &c).await.unwrap();
        assert!(v2.acknowledged_orgs().is_empty());

        // A draft created with different stakes from the effective version starts unacknowledged;
        // one created with the same stakes starts acknowledged.
        store.discard_charter_draft(&w.alice, w.p).await.unwrap();
        let v3 = store.save_charter_draft(&w.alice, w.p, &c).await.unwrap();
        assert_eq!(v3.number, 3);
        assert!(v3.acknowledged_orgs().is_empty());
        store.discard_charter_draft(&w.bob, w.p).await.unwrap();
        let mut same = eff.content.clone();
        same.summary = "Version four".into();
        let v4 = store
            .save_charter_draft(&w.alice, w.p, &same)
            .await
            .unwrap();
        assert_eq!(v4.number, 4);
        assert_eq!(v4.acknowledged_orgs(), vec![w.a, w.b]);

        // Acknowledging a version that is neither the draft nor effective is refused.
        let stale = store
            .acknowledge_stakes(
                &w.alice,
                w.p,
                &SignInput {
                    version: 3,
                    content_sha256: None,
                },
            )
            .await
            .unwrap_err();
        assert!(is_conflict(&stale, "version"), "{stale:?}");
    }
);

on_both!(
    every_charter_write_leaves_one_audit_row,
    |store: Store| async move {
        let w = world(&store).await;
        let c3 = org(&store, "County Health District", OrgKind::PublicHealth).await;
        let outsider_admin = member(&store, "admin@county.example", c3, Role::Admin).await;
        let viewer = member(&store, "viewer@shoreline.example", w.a, Role::Viewer).await;
        let contributor = member(
            &store,
            "contributor@shoreline.example",
            w.a,
            Role::Contributor,
        )
        .await;
        let outsider = member(&store, "carol@county.example", c3, Role::AllianceManager).await;
        let start = store.audit_count().await.unwrap();

        // Refusals first: none of them writes anything.
        let mut bad = w_charter(&w);
        bad.metrics[0].target = 10.0;
        let e = store
            .save_charter_draft(&w.alice, w.p, &bad)
            .await
            .unwrap_err();
        let StoreError::Validation(v) = e else {
            panic!("{e:?}")
        };
        assert_eq!(v.errors()[0].field, "metrics[0].target");
        let mut bad = w_charter(&w);
        bad.governance.alliance_managers[0].user_id = concord_domain::UserId(uid(&w.bob));
        let e = store
            .save_charter_draft(&w.alice, w.p, &bad)
            .await
            .unwrap_err();
        let StoreError::Validation(v) = e else {
            panic!("{e:?}")
        };
        assert_eq!(
            v.errors()[0].field,
            "governance.alliance_managers[0].user_id"
        );
        assert!(matches!(
            store.save_charter_draft(&viewer, w.p, &w_charter(&w)).await,
            Err(StoreError::Forbidden(_))
        ));
        assert!(matches!(
            store
                .save_charter_draft(&outsider, w.p, &w_charter(&w))
                .await,
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(store.audit_count().await.unwrap(), start);
        assert!(record(&store, &w.alice, w.p).await.versions.is_empty());

        // The writes.
        let v1 = store
            .save_charter_draft(&contributor, w.p, &w_charter(&w))
            .await
            .unwrap();
        let mut c = v1.content.clone();
        c.summary = "Revised".into();
        let v1 = store.save_charter_draft(&w.alice, w.p, &c).await.unwrap();
        store
            .acknowledge_stakes(&w.bob, w.p, &input(&v1))
            .await
            .unwrap();
        store.sign_charter(&w.bob, w.p, &input(&v1)).await.unwrap();
        // Refused while signed: the contributor cannot sign, nobody can edit, bob cannot sign twice.
        let before = store.audit_count().await.unwrap();
        assert!(matches!(
            store.sign_charter(&contributor, w.p, &input(&v1)).await,
            Err(StoreError::Forbidden(_))
        ));
        let e = store
            .save_charter_draft(&w.alice, w.p, &c)
            .await
            .unwrap_err();
        assert!(is_conflict(&e, "version"), "{e:?}");
        let e = store
            .sign_charter(&w.bob, w.p, &input(&v1))
            .await
            .unwrap_err();
        assert!(is_conflict(&e, "version"), "{e:?}");
        let e = store
            .sign_charter(
                &w.alice,
                w.p,
                &SignInput {
                    version: 1,
                    content_sha256: Some("00".repeat(32)),
                },
            )
            .await
            .unwrap_err();
        assert!(is_conflict(&e, "content_sha256"), "{e:?}");
        assert_eq!(store.audit_count().await.unwrap(), before);

        store
            .withdraw_charter_signature(&w.bob, w.p, &input(&v1))
            .await
            .unwrap();
        store.sign_charter(&w.bob, w.p, &input(&v1)).await.unwrap();
        let done = store
            .sign_charter(&w.alice, w.p, &input(&v1))
            .await
            .unwrap();
        assert_eq!(done.status, VersionStatus::Effective);
        store
            .save_charter_draft(&w.bob, w.p, &done.content)
            .await
            .unwrap();
        store.discard_charter_draft(&w.a_admin, w.p).await.unwrap();

        let expected = [
            ("create_draft", 1, "contributor@shoreline.example"),
            ("update_draft", 1, "alice@shoreline.example"),
            ("acknowledge_stakes", 1, "bob@harbor.example"),
            ("sign", 1, "bob@harbor.example"),
            ("withdraw_signature", 1, "bob@harbor.example"),
            ("sign", 1, "bob@harbor.example"),
            ("sign", 1, "alice@shoreline.example"),
            ("make_effective", 1, "alice@shoreline.example"),
            ("create_draft", 2, "bob@harbor.example"),
            ("discard_draft", 2, "admin@shoreline.example"),
        ];
        assert_eq!(
            store.audit_count().await.unwrap() - start,
            expected.len() as i64,
            "one row per write, none for refusals"
        );
        let log = charter_log(&store, &w.a_admin).await;
        let got: Vec<(&str, String, &str)> = log
            .iter()
            .map(|e| {
                (
                    e.action.as_str(),
                    e.entity_id.clone(),
                    e.user_email.as_deref().unwrap_or("-"),
                )
            })
            .collect();
        let want: Vec<(&str, String, &str)> = expected
            .iter()
            .map(|(a, n, who)| (*a, format!("{}/v{n}", w.p.0), *who))
            .collect();
        assert_eq!(got, want);
        for e in &log {
            assert_eq!(e.entity, "charter");
            assert_eq!(e.actor, "test");
            assert!(e.user_id.is_some());
            let org = e.acting_org_id.unwrap();
            assert!(org == w.a.0 || org == w.b.0, "{e:?}");
        }
        let upd = &log[1];
        assert_eq!(
            upd.before.as_ref().unwrap()["summary"],
            json!(w_charter(&w).summary)
        );
        assert_eq!(upd.after.as_ref().unwrap()["summary"], "Revised");
        let effective = &log[7];
        assert_eq!(
            effective.before.as_ref().unwrap()["effective_version"],
            json!(null)
        );
        assert_eq!(effective.after.as_ref().unwrap()["effective_version"], 1);
        assert_eq!(
            effective.after.as_ref().unwrap()["content_sha256"],
            json!(v1.content_sha256)
        );
        assert_eq!(
            log[3].after.as_ref().unwrap()["organization_id"],
            json!(w.b.0)
        );

        // Both parties' admins read the same rows; an outsider's admin reads none.
        let theirs = charter_log(&store, &w.b_admin).await;
        assert_eq!(
            theirs.iter().map(|e| e.id).collect::<Vec<_>>(),
            log.iter().map(|e| e.id).collect::<Vec<_>>()
        );
        assert!(charter_log(&store, &outsider_admin).await.is_empty());
    }
);

// Requests racing each other must end in a consistent state, answered with a success or a
// conflict (409) — never a database error (500).

on_both!(
    two_first_drafts_at_once_make_one_draft,
    |store: Store| async move {
        let w = world(&store).await;
        for round in 0..10 {
            let p = partnership(&store, &format!("Race {round}"), &[w.a, w.b]).await;
            let c1 = w_charter(&w);
            let mut c2 = w_charter(&w);
            c2.summary = "Bob's wording".into();
            let (ra, rb) = tokio::join!(
                store.save_charter_draft(&w.alice, p, &c1),
                store.save_charter_draft(&w.bob, p, &c2)
            );
            for r in [&ra, &rb] {
                if let Err(e) = r {
                    assert!(
                        is_conflict(e, "version"),
                        "round {round}: a lost race is a conflict (409), not {e:?}"
                    );
                }
            }
            assert!(ra.is_ok() || rb.is_ok());
            let r = record(&store, &w.alice, p).await;
            assert_eq!(count(&r, VersionStatus::Draft), 1);
        }
    }
);

on_both!(one_party_signing_twice_at_once, |store: Store| async move {
    let w = world(&store).await;
    for round in 0..10 {
        let p = partnership(&store, &format!("Race {round}"), &[w.a, w.b]).await;
        let v = store
            .save_charter_draft(&w.alice, p, &w_charter(&w))
            .await
            .unwrap();
        let i = input(&v);
        let (ra, rb) = tokio::join!(
            store.sign_charter(&w.alice, p, &i),
            store.sign_charter(&w.a_admin, p, &i)
        );
        for r in [&ra, &rb] {
            if let Err(e) = r {
                assert!(
                    is_conflict(e, "version"),
                    "round {round}: signing twice is a conflict (409), not {e:?}"
                );
            }
        }
        assert_eq!([&ra, &rb].iter().filter(|r| r.is_ok()).count(), 1);
        let r = record(&store, &w.alice, p).await;
        assert_eq!(count(&r, VersionStatus::Draft), 1);
    }
});

on_both!(
    one_party_acknowledging_twice_at_once,
    |store: Store| async move {
        let w = world(&store).await;
        for round in 0..10 {
            let p = partnership(&store, &format!("Race {round}"), &[w.a, w.b]).await;
            let v = store
                .save_charter_draft(&w.alice, p, &w_charter(&w))
                .await
                .unwrap();
            let i = input(&v);
            let (ra, rb) = tokio::join!(
                store.acknowledge_stakes(&w.bob, p, &i),
                store.acknowledge_stakes(&w.b_admin, p, &i)
            );
            for r in [&ra, &rb] {
                if let Err(e) = r {
                    assert!(
                        is_conflict(e, "version"),
                        "round {round}: acknowledging is idempotent or a conflict, not {e:?}"
                    );
                }
            }
            assert!(ra.is_ok() || rb.is_ok());
            let r = record(&store, &w.alice, p).await;
            assert_eq!(r.draft().unwrap().acknowledged_orgs(), vec![w.b]);
        }
    }
);

on_both!(
    an_edit_racing_a_signature_never_changes_signed_text,
    |store: Store| async move {
        let w = world(&store).await;
        for round in 0..25 {
            let mut c = w_charter(&w);
            c.summary = format!("Round {round}");
            let v = store.save_charter_draft(&w.alice, w.p, &c).await.unwrap();
            let mut edited = v.content.clone();
            edited.summary = format!("Round {round}, edited");
            let i = input(&v);
            let (signed, saved) = tokio::join!(
                store.sign_charter(&w.bob, w.p, &i),
                store.save_charter_draft(&w.alice, w.p, &edited)
            );
            if let Err(e) = &signed {
                assert!(
                    is_conflict(e, "version") || is_conflict(e, "content_sha256"),
                    "{e:?}"
                );
            }
            if let Err(e) = &saved {
                assert!(is_conflict(e, "version"), "{e:?}");
            }
            assert!(
                !(signed.is_ok() && saved.is_ok()),
                "round {round}: both the signature and the edit succeeded, so the signed draft's text changed after it was signed"
            );
            let r = record(&store, &w.alice, w.p).await;
            let d = r.draft().unwrap();
            if signed.is_ok() {
                assert_eq!(d.content_sha256, v.content_sha256, "round {round}");
                store
                    .withdraw_charter_signature(&w.bob, w.p, &input(d))
                    .await
                    .unwrap();
            }
        }
    }
);

on_both!(
    a_withdrawal_racing_the_last_signature_never_leaves_an_unsigned_effective_version,
    |store: Store| async move {
        let w = world(&store).await;
        for round in 0..25 {
            let mut c = w_charter(&w);
            c.summary = format!("Round {round}");
            if record(&store, &w.alice, w.p).await.draft().is_some() {
                store.discard_charter_draft(&w.alice, w.p).await.unwrap();
            }
            let v = store.save_charter_draft(&w.alice, w.p, &c).await.unwrap();
            store.sign_charter(&w.alice, w.p, &input(&v)).await.unwrap();
            let i = input(&v);
            let (withdrawn, signed) = tokio::join!(
                store.withdraw_charter_signature(&w.alice, w.p, &i),
                store.sign_charter(&w.bob, w.p, &i)
            );
            for r in [withdrawn.as_ref().err(), signed.as_ref().err()]
                .into_iter()
                .flatten()
            {
                assert!(is_conflict(r, "version"), "round {round}: {r:?}");
            }
            let r = record(&store, &w.alice, w.p).await;
            for v in r.versions.iter().filter(|v| {
                v.status != VersionStatus::Withdrawn && v.status != VersionStatus::Draft
            }) {
                assert!(
                    v.sign_off.iter().all(|s| s.signed.is_some()),
                    "round {round}: version {} is {} without every signature (withdraw {:?}, sign {:?})",
                    v.number,
                    v.status,
                    withdrawn.as_ref().map(|_| "ok"),
                    signed.as_ref().map(|_| "ok"),
                );
            }
        }
    }
);
