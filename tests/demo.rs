//! The demo data loads through the product's own validation, on both databases, and covers what
//! the brief asks for.

use concord_domain::charter::VersionStatus;
use concord_domain::charter_diff::{diff, ChangeKind};
use concord_domain::paging::PageRequest;
use concord_domain::partnership::{PartnershipFilter, PartnershipSort, PartnershipType, Stage};
use concord_domain::verdict::{TestKind, VerdictKind};
use concord_storage::testing::fresh_store;
use concord_storage::{Actor, Backend, Store};

/// The verdict each demo charter shows (on its effective version, else its open draft).
const VERDICTS: &[(&str, VerdictKind)] = &[
    (
        "Quinnehtuk Revenue Cycle Partnership",
        VerdictKind::Strategic,
    ),
    (
        "Rhode Island Limb Preservation Program",
        VerdictKind::Strategic,
    ),
    (
        "Northwest Hills Community Health Compact",
        VerdictKind::Strategic,
    ),
    ("Saltmarsh Turnaround Program", VerdictKind::Strategic),
    (
        "Greater Hartford Value Alliance",
        VerdictKind::PartlyStrategic,
    ),
    (
        "Narragansett Bay Imaging and Lab Capacity Agreement",
        VerdictKind::PartlyStrategic,
    ),
    (
        "Farmington River Outreach Laboratory Partnership",
        VerdictKind::PartlyStrategic,
    ),
    (
        "Elm City Smiles-to-Screening Alliance",
        VerdictKind::Transactional,
    ),
];

fn failed(tests: &[concord_domain::verdict::TestResult]) -> Vec<TestKind> {
    tests.iter().filter(|t| !t.passed).map(|t| t.test).collect()
}

async fn check(store: Store) {
    let summary = concord::demo::load(&store).await.expect("demo loads");
    assert!(summary.contains("organizations"));
    assert!(
        summary.contains("8 charters (7 in force, 2 drafts"),
        "{summary}"
    );
    let orgs = store.all_organizations().await.unwrap();
    assert!(orgs.len() >= 12);
    let in_sample_states = orgs
        .iter()
        .filter(|o| matches!(o.profile.address.state.as_deref(), Some("CT" | "MA" | "RI")))
        .count();
    assert!(
        in_sample_states * 2 > orgs.len(),
        "most organizations are in CT, MA or RI"
    );
    let operator = Actor::new("test");
    let all = store
        .list_partnerships(
            &operator,
            &PartnershipFilter {
                include_archived: true,
                ..PartnershipFilter::default()
            },
            PartnershipSort::Name,
            PageRequest::new(Some(1), Some(100)).unwrap(),
        )
        .await
        .unwrap();
    assert!(all.total >= 6);
    for t in PartnershipType::ALL {
        assert!(
            all.items.iter().any(|p| p.partnership_type == *t),
            "a {t} partnership"
        );
    }

    // Charters: every partnership that has gone live has one in force, and the verdicts cover
    // all three kinds.
    let mut seen = Vec::new();
    for p in &all.items {
        let (_, record) = store.charter(&operator, p.id).await.unwrap();
        let live = matches!(
            p.stage,
            Stage::Active
                | Stage::UnderReview
                | Stage::Restructuring
                | Stage::Ending
                | Stage::Ended
        );
        if live {
            assert!(
                record.effective().is_some(),
                "{} is {} and so has an effective charter",
                p.name,
                p.stage
            );
            assert!(record.went_active_at.is_some());
        }
        let Some(current) = record.current() else {
            assert!(
                !VERDICTS.iter().any(|(n, _)| *n == p.name),
                "{} has a charter",
                p.name
            );
            continue;
        };
        let v = record.verdict(None);
        assert_eq!(v.version, Some(current.number));
        let expected = VERDICTS
            .iter()
            .find(|(n, _)| *n == p.name)
            .map(|(_, k)| *k)
            .unwrap_or_else(|| panic!("{} has a charter but no expected verdict", p.name));
        assert_eq!(v.verdict, expected, "{}: {}", p.name, v.summary);
        let fails = failed(&v.tests);
        match v.verdict {
            VerdictKind::Strategic => assert!(fails.is_empty(), "{}: {fails:?}", p.name),
            VerdictKind::PartlyStrategic => assert!(
                !fails.is_empty() && !fails.contains(&TestKind::NotAFindersFee),
                "{}: {fails:?}",
                p.name
            ),
            VerdictKind::Transactional => assert!(
                fails.contains(&TestKind::NotAFindersFee),
                "{} is a finder's fee: {fails:?}",
                p.name
            ),
        }
        seen.push(v.verdict);
    }
    for kind in VerdictKind::ALL {
        assert!(seen.contains(kind), "a {kind} charter");
    }

    let named = |name: &str| {
        all.items
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("demo partnership {name}"))
            .id
    };

    // The situations behind the partly strategic verdicts.
    let (_, hartford) = store
        .charter(&operator, named("Greater Hartford Value Alliance"))
        .await
        .unwrap();
    assert_eq!(
        failed(&hartford.verdict(None).tests),
        vec![TestKind::StakesOnTheTable, TestKind::RelationshipTended],
        "a party has not acknowledged the stakes and the innovation agenda is empty"
    );
    let (_, narragansett) = store
        .charter(
            &operator,
            named("Narragansett Bay Imaging and Lab Capacity Agreement"),
        )
        .await
        .unwrap();
    assert_eq!(
        failed(&narragansett.verdict(None).tests),
        vec![TestKind::CoopetitionScoped, TestKind::RelationshipTended],
        "no competing areas stated and the innovation agenda is empty"
    );
    // Its restructuring draft, not yet signed, fixes both.
    let draft = narragansett.draft().expect("a restructuring draft");
    assert!(!draft.signed_by_anyone());
    assert_eq!(
        narragansett.verdict(Some(draft)).verdict,
        VerdictKind::Strategic
    );

    // Sign-off in progress: one of the two parties has signed the draft.
    let (_, elm) = store
        .charter(&operator, named("Elm City Smiles-to-Screening Alliance"))
        .await
        .unwrap();
    let draft = elm.current().unwrap();
    assert_eq!(draft.status, VersionStatus::Draft);
    assert_eq!(
        draft.sign_off.iter().filter(|s| s.signed.is_some()).count(),
        1
    );

    // An amendment: version history and a diff with real changes.
    let (_, rc) = store
        .charter(&operator, named("Quinnehtuk Revenue Cycle Partnership"))
        .await
        .unwrap();
    let statuses: Vec<(u32, VersionStatus)> =
        rc.versions.iter().map(|v| (v.number, v.status)).collect();
    assert_eq!(
        statuses,
        vec![
            (2, VersionStatus::Effective),
            (1, VersionStatus::Superseded)
        ]
    );
    let changes = diff(&rc.versions[1].content, &rc.versions[0].content);
    assert!(
        changes.iter().any(|c| c.section == "metrics"
            && c.kind == ChangeKind::Changed
            && c.field.as_deref() == Some("target")),
        "a metric target was raised: {changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c.section == "innovation_agenda" && c.kind == ChangeKind::Added),
        "an idea was added: {changes:?}"
    );
    assert!(
        rc.versions[0]
            .sign_off
            .iter()
            .all(|s| s.signed.is_some() && s.acknowledged_stakes.is_some()),
        "every party signed the amendment and its stakes stay acknowledged"
    );

    assert!(
        concord::demo::load(&store).await.is_err(),
        "the demo refuses a non-empty database"
    );
}

#[tokio::test]
async fn demo_loads_on_sqlite() {
    check(fresh_store(Backend::Sqlite, "demo").await.unwrap()).await;
}

#[tokio::test]
async fn demo_loads_on_postgres() {
    if let Some(store) = fresh_store(Backend::Postgres, "demo").await {
        check(store).await;
    }
}
