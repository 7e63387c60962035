//! One storage story, run on SQLite always and on PostgreSQL when CONCORD_TEST_POSTGRES_URL is set.

use concord_domain::account::{Email, Role, TokenScope};
use concord_domain::audit::AuditFilter;
use concord_domain::capability::{CapabilityCategory, CapabilityInput, ContinuumLevel};
use concord_domain::csv_io::parse_organizations;
use concord_domain::note::NoteInput;
use concord_domain::organization::{OrgKind, OrganizationFilter, OrganizationInput};
use concord_domain::paging::PageRequest;
use concord_domain::partnership::{
    PartnershipFilter, PartnershipInput, PartnershipSort, PartnershipType, PartyInput, Stage,
};
use concord_domain::OrgId;
use concord_storage::testing::fresh_store;
use concord_storage::{Actor, Backend, ImportError, Store, StoreError};

macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let store = fresh_store(Backend::Sqlite, stringify!($name))
                    .await
                    .unwrap();
                ($body)(store).await;
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(store) = fresh_store(Backend::Postgres, stringify!($name)).await {
                    ($body)(store).await;
                }
            }
        }
    };
}

fn actor() -> Actor {
    Actor::new("test")
}

fn org(name: &str, kind: OrgKind) -> OrganizationInput {
    OrganizationInput {
        name: name.into(),
        kind,
        capabilities_offered: vec!["primary_care".into()],
        capabilities_sought: vec!["dental".into()],
        ..OrganizationInput::default()
    }
}

async fn two_orgs(store: &Store) -> (OrgId, OrgId) {
    let a = store
        .create_organization(
            &actor(),
            &org("Shoreline Primary Care", OrgKind::PhysicianGroup),
        )
        .await
        .unwrap();
    let b = store
        .create_organization(&actor(), &org("Bright Harbor Dental", OrgKind::DentalGroup))
        .await
        .unwrap();
    (a.id, b.id)
}

fn partnership(a: OrgId, b: OrgId) -> PartnershipInput {
    PartnershipInput {
        name: "Smiles in primary care".into(),
        purpose: "Dental screening in primary-care visits".into(),
        partnership_type: PartnershipType::HorizontallyAdjacent,
        parties: vec![
            PartyInput {
                organization_id: a,
                role: "primary care".into(),
            },
            PartyInput {
                organization_id: b,
                role: "dental".into(),
            },
        ],
    }
}

on_both!(
    catalogue_is_seeded_and_editable,
    |store: Store| async move {
        let caps = store.list_capabilities().await.unwrap();
        assert!(caps.len() >= 22);
        // Migrating again does not duplicate or reset anything.
        let mut edited = CapabilityInput {
            code: "dental".into(),
            name: "Dental and oral health".into(),
            category: CapabilityCategory::Clinical,
            continuum_level: ContinuumLevel::Primary,
            description: "Edited".into(),
        };
        store
            .update_capability(&actor(), "dental", &edited)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        assert_eq!(store.list_capabilities().await.unwrap().len(), caps.len());
        assert_eq!(
            store.get_capability("dental").await.unwrap().name,
            "Dental and oral health"
        );
        edited.code = "teledentistry".into();
        edited.name = "Teledentistry".into();
        store.create_capability(&actor(), &edited).await.unwrap();
        let dup = store
            .create_capability(&actor(), &edited)
            .await
            .unwrap_err();
        assert!(
            matches!(dup, StoreError::Conflict { ref field, .. } if field == "code" || field == "name"),
            "{dup:?}"
        );
    }
);

on_both!(organization_round_trip, |store: Store| async move {
    let mut input = org("Harbor Valley Health", OrgKind::HealthSystem);
    input.npi = Some("1234567893".into());
    input.address.zip = Some("06510".into());
    input.address.latitude = Some(41.3083);
    input.address.longitude = Some(-72.9279);
    input.size.beds = Some(350);
    input.size.covered_lives = Some(5_000_000_000);
    input.values = vec!["equity".into()];
    input.business_model.decision_making = Some("Board".into());
    let created = store.create_organization(&actor(), &input).await.unwrap();
    let read = store.get_organization(created.id).await.unwrap();
    assert_eq!(read, created);
    assert_eq!(read.profile, input.validate().unwrap());

    input.name = "Harbor Valley Health System".into();
    input.capabilities_offered = vec!["dental".into(), "lab".into()];
    let updated = store
        .update_organization(&actor(), created.id, &input)
        .await
        .unwrap();
    assert_eq!(updated.profile.capabilities_offered.len(), 2);
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(
        store
            .audit_for("organization", &created.id.to_string(), 10)
            .await
            .unwrap()
            .len(),
        2
    );
});

on_both!(
    duplicates_and_unknowns_are_named,
    |store: Store| async move {
        store
            .create_organization(
                &actor(),
                &org("Harbor Valley Health", OrgKind::HealthSystem),
            )
            .await
            .unwrap();
        let err = store
            .create_organization(
                &actor(),
                &org("  harbor valley   HEALTH ", OrgKind::Hospital),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { ref field, .. } if field == "name"),
            "{err:?}"
        );

        let mut bad = org("Other", OrgKind::Hospital);
        bad.capabilities_sought = vec!["teleportation".into()];
        let StoreError::Validation(e) =
            store.create_organization(&actor(), &bad).await.unwrap_err()
        else {
            panic!("expected validation error")
        };
        assert_eq!(e.errors()[0].field, "capabilities_sought[0]");
        // Nothing half-written: one organization, one audit entry.
        let page = store
            .list_organizations(&OrganizationFilter::default(), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(store.audit_count().await.unwrap(), 1);

        let missing = store
            .update_organization(&actor(), OrgId(9999), &org("X", OrgKind::Other))
            .await
            .unwrap_err();
        assert!(matches!(missing, StoreError::NotFound { .. }));
    }
);

on_both!(organization_list_filters, |store: Store| async move {
    two_orgs(&store).await;
    let f = OrganizationFilter {
        q: Some("HARBOR".into()),
        kind: None,
    };
    let page = store
        .list_organizations(&f, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].name, "Bright Harbor Dental");
    let f = OrganizationFilter {
        q: None,
        kind: Some(OrgKind::PhysicianGroup),
    };
    let page = store
        .list_organizations(&f, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items[0].name, "Shoreline Primary Care");
    assert_eq!(
        page.items[0].capabilities_offered[0].as_str(),
        "primary_care"
    );
    // LIKE wildcards are literal.
    let f = OrganizationFilter {
        q: Some("%".into()),
        kind: None,
    };
    assert_eq!(
        store
            .list_organizations(&f, PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );
});

on_both!(partnership_lifecycle, |store: Store| async move {
    let (a, b) = two_orgs(&store).await;
    let p = store
        .create_partnership(&actor(), &partnership(a, b))
        .await
        .unwrap();
    assert_eq!(p.stage, Stage::Exploring);
    assert_eq!(p.parties.len(), 2);
    assert_eq!(p.parties[0].organization_name, "Shoreline Primary Care");

    let err = store
        .transition_partnership(&actor(), p.id, Stage::Active, "")
        .await
        .unwrap_err();
    let StoreError::IllegalTransition(t) = err else {
        panic!("{err:?}")
    };
    assert_eq!(t.allowed, vec![Stage::Assessing]);

    for s in [Stage::Assessing, Stage::Negotiating] {
        store
            .transition_partnership(&actor(), p.id, s, "moving on")
            .await
            .unwrap();
    }
    // Going active needs an effective charter (see the charter story).
    let err = store
        .transition_partnership(&actor(), p.id, Stage::Active, "")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Refused { field, code: "charter_required", .. } if field == "to"),
        "{err:?}"
    );
    let history = store.stage_history(&actor(), p.id).await.unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0].from_stage, None);
    assert_eq!(history[2].to_stage, Stage::Negotiating);

    let archived = store.archive_partnership(&actor(), p.id).await.unwrap();
    assert!(archived.archived_at.is_some());
    let err = store
        .transition_partnership(&actor(), p.id, Stage::UnderReview, "")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Archived { .. }));
    let listed = store
        .list_partnerships(
            &actor(),
            &PartnershipFilter::default(),
            PartnershipSort::Name,
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(listed.total, 0);
    // create + 2 transitions + archive, plus 2 organizations
    assert_eq!(store.audit_count().await.unwrap(), 6);
});

on_both!(
    partnership_validation_writes_nothing,
    |store: Store| async move {
        let (a, _) = two_orgs(&store).await;
        let err = store
            .create_partnership(&actor(), &partnership(a, OrgId(424242)))
            .await
            .unwrap_err();
        let StoreError::Validation(e) = err else {
            panic!("{err:?}")
        };
        assert_eq!(e.errors()[0].field, "parties[1].organization_id");
        let mut one = partnership(a, a);
        one.parties.pop();
        assert!(matches!(
            store.create_partnership(&actor(), &one).await,
            Err(StoreError::Validation(_))
        ));
        let listed = store
            .list_partnerships(
                &actor(),
                &PartnershipFilter {
                    include_archived: true,
                    ..Default::default()
                },
                PartnershipSort::Name,
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(listed.total, 0);
    }
);

on_both!(
    partnership_list_filters_sorts_and_pages,
    |store: Store| async move {
        let (a, b) = two_orgs(&store).await;
        let c = store
            .create_organization(&actor(), &org("County Health", OrgKind::PublicHealth))
            .await
            .unwrap()
            .id;
        for i in 0..7 {
            let mut input = partnership(a, if i % 2 == 0 { b } else { c });
            input.name = format!("Partnership {i}");
            input.partnership_type = if i < 3 {
                PartnershipType::Wholesale
            } else {
                PartnershipType::VerticallyAdjacent
            };
            let p = store.create_partnership(&actor(), &input).await.unwrap();
            if i == 6 {
                store
                    .transition_partnership(&actor(), p.id, Stage::Assessing, "")
                    .await
                    .unwrap();
            }
        }
        let f = PartnershipFilter {
            partnership_type: Some(PartnershipType::Wholesale),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_partnerships(&actor(), &f, PartnershipSort::Name, PageRequest::default())
                .await
                .unwrap()
                .total,
            3
        );
        let f = PartnershipFilter {
            party: Some(c),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_partnerships(&actor(), &f, PartnershipSort::Name, PageRequest::default())
                .await
                .unwrap()
                .total,
            3
        );
        let f = PartnershipFilter {
            stage: Some(Stage::Assessing),
            ..Default::default()
        };
        let page = store
            .list_partnerships(&actor(), &f, PartnershipSort::Name, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.items[0].name, "Partnership 6");

        let page = store
            .list_partnerships(
                &actor(),
                &PartnershipFilter::default(),
                PartnershipSort::NameDesc,
                PageRequest::new(Some(2), Some(3)).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(page.total, 7);
        let names: Vec<_> = page.items.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["Partnership 3", "Partnership 2", "Partnership 1"]
        );
        assert!(page.items.iter().all(|p| p.parties.len() == 2));
        let page = store
            .list_partnerships(
                &actor(),
                &PartnershipFilter::default(),
                PartnershipSort::Stage,
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(page.items.last().unwrap().stage, Stage::Assessing);
        assert_eq!(store.partnerships_of(&actor(), c).await.unwrap().len(), 3);
    }
);

on_both!(csv_import_is_all_or_nothing, |store: Store| async move {
    store
        .create_organization(&actor(), &org("Existing Org", OrgKind::Other))
        .await
        .unwrap();
    let csv = "name,kind,capabilities_offered\nNew One,hospital,lab\nExisting Org,hospital,\nNew Two,hospital,warp_drive\n";
    let rows = parse_organizations(csv.as_bytes()).unwrap();
    let Err(ImportError::Rows(errs)) = store.import_organizations(&actor(), &rows).await else {
        panic!("expected row errors")
    };
    let got: Vec<_> = errs.iter().map(|e| (e.line, e.column.as_str())).collect();
    assert_eq!(got, vec![(3, "name"), (4, "capabilities_offered")]);
    assert_eq!(store.all_organizations().await.unwrap().len(), 1);

    let csv =
        "name,kind,capabilities_offered\nNew One,hospital,lab\nNew Two,hospital,imaging;lab\n";
    let rows = parse_organizations(csv.as_bytes()).unwrap();
    assert_eq!(
        store.import_organizations(&actor(), &rows).await.unwrap(),
        2
    );
    let all = store.all_organizations().await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].profile.capabilities_offered.len(), 2);
});

/// A user with a role in `org`, as the store sees them when they act.
async fn member(store: &Store, email: &str, org: OrgId, role: Role) -> Actor {
    let email = Email::parse(email).unwrap();
    let user = store
        .create_user(
            &actor(),
            &email,
            "Test Person",
            "$argon2id$not-used-here",
            org,
            role,
        )
        .await
        .unwrap();
    let acting = store.acting(user.id, org).await.unwrap().unwrap();
    Actor::person("test", &acting, None)
}

on_both!(the_boundary_between_partners, |store: Store| async move {
    let (a, b) = two_orgs(&store).await;
    let c = store
        .create_organization(&actor(), &org("County Health", OrgKind::PublicHealth))
        .await
        .unwrap()
        .id;
    let p = store
        .create_partnership(&actor(), &partnership(a, b))
        .await
        .unwrap();
    let alice = member(&store, "alice@shoreline.example", a, Role::Admin).await;
    let bob = member(&store, "bob@harbor.example", b, Role::Viewer).await;
    let dana = member(&store, "dana@harbor.example", b, Role::Admin).await;
    let carol = member(&store, "carol@county.example", c, Role::AllianceManager).await;

    // An outsider sees nothing, and cannot act: every answer is "not found".
    assert!(matches!(
        store.get_partnership(&carol, p.id).await,
        Err(StoreError::NotFound { .. })
    ));
    let listed = store
        .list_partnerships(
            &carol,
            &PartnershipFilter::default(),
            PartnershipSort::Name,
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(listed.total, 0);
    assert!(matches!(
        store
            .transition_partnership(&carol, p.id, Stage::Assessing, "")
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.stage_history(&carol, p.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.notes(&carol, p.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.archive_partnership(&carol, p.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.partnerships_of(&carol, a).await.unwrap().len(), 0);
    // …and cannot record a partnership between other organizations.
    let StoreError::Validation(e) = store
        .create_partnership(&carol, &partnership(a, b))
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(e.errors()[0].code, "acting_organization_missing");

    // A viewer of a party reads but cannot write.
    assert_eq!(store.get_partnership(&bob, p.id).await.unwrap().id, p.id);
    assert!(matches!(
        store
            .transition_partnership(&bob, p.id, Stage::Assessing, "")
            .await,
        Err(StoreError::Forbidden(_))
    ));
    assert!(matches!(
        store
            .create_note(&bob, p.id, &NoteInput { body: "x".into() })
            .await,
        Err(StoreError::Forbidden(_))
    ));

    // Notes stay inside the organization that wrote them.
    store
        .create_note(
            &alice,
            p.id,
            &NoteInput {
                body: "Their CFO is new; go slowly.".into(),
            },
        )
        .await
        .unwrap();
    store
        .create_note(
            &dana,
            p.id,
            &NoteInput {
                body: "Push for a bigger share.".into(),
            },
        )
        .await
        .unwrap();
    let a_notes = store.notes(&alice, p.id).await.unwrap();
    assert_eq!(a_notes.len(), 1);
    assert_eq!(a_notes[0].body, "Their CFO is new; go slowly.");
    let b_notes = store.notes(&bob, p.id).await.unwrap();
    assert_eq!(b_notes.len(), 1);
    assert_eq!(b_notes[0].body, "Push for a bigger share.");

    // The audit log: each side's admin reads what concerns their organization, never the other's notes.
    store
        .transition_partnership(&alice, p.id, Stage::Assessing, "go")
        .await
        .unwrap();
    let alice_acting = alice.acting.clone().unwrap();
    let log = store
        .list_audit(
            &alice_acting,
            &AuditFilter::default(),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert!(log
        .items
        .iter()
        .any(|e| e.entity == "partnership" && e.action == "transition"));
    assert!(log.items.iter().any(|e| e.entity == "note"));
    let t = log.items.iter().find(|e| e.action == "transition").unwrap();
    assert_eq!(t.user_email.as_deref(), Some("alice@shoreline.example"));
    assert_eq!(t.before.as_ref().unwrap()["stage"], "exploring");
    assert_eq!(t.after.as_ref().unwrap()["stage"], "assessing");
    let dana_acting = dana.acting.clone().unwrap();
    let log_b = store
        .list_audit(
            &dana_acting,
            &AuditFilter::default(),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert!(
        log_b.items.iter().any(|e| e.action == "transition"),
        "the partner sees shared changes"
    );
    let notes_seen_by_b: Vec<_> = log_b.items.iter().filter(|e| e.entity == "note").collect();
    assert_eq!(notes_seen_by_b.len(), 1, "only its own note");
    assert!(!notes_seen_by_b[0]
        .after
        .as_ref()
        .unwrap()
        .to_string()
        .contains("CFO"));
    assert!(matches!(
        store
            .list_audit(
                bob.acting.as_ref().unwrap(),
                &AuditFilter::default(),
                PageRequest::default()
            )
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let by_user = store
        .list_audit(
            &alice_acting,
            &AuditFilter {
                user_id: Some(alice_acting.user_id.0),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert!(by_user
        .items
        .iter()
        .all(|e| e.user_id == Some(alice_acting.user_id.0)));
});

on_both!(sessions_tokens_and_invitations, |store: Store| async move {
    let (a, _) = two_orgs(&store).await;
    let alice = member(&store, "alice@shoreline.example", a, Role::Admin).await;
    let acting = alice.acting.clone().unwrap();

    store
        .create_session(
            "hash-1",
            acting.user_id,
            a,
            "csrf-1",
            chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    let s = store.session("hash-1").await.unwrap().unwrap();
    assert_eq!(s.acting, acting);
    assert_eq!(s.csrf_token, "csrf-1");
    store
        .create_session(
            "hash-old",
            acting.user_id,
            a,
            "csrf-2",
            chrono::Duration::hours(-1),
        )
        .await
        .unwrap();
    assert!(
        store.session("hash-old").await.unwrap().is_none(),
        "expired sessions are gone"
    );
    store.delete_session(&alice, "hash-1").await.unwrap();
    assert!(store.session("hash-1").await.unwrap().is_none());

    let t = store
        .create_token(
            &alice,
            &acting,
            "ETL",
            TokenScope::Read,
            "tok-hash",
            "cnc_abcd",
        )
        .await
        .unwrap();
    assert_eq!(
        store.token("tok-hash").await.unwrap().unwrap().scope,
        TokenScope::Read
    );
    store.revoke_token(&alice, &acting, t.id).await.unwrap();
    assert!(store.token("tok-hash").await.unwrap().is_none());
    assert!(store.tokens(&acting).await.unwrap()[0].revoked_at.is_some());

    let invitee = Email::parse("new.person@shoreline.example").unwrap();
    store
        .create_invitation(
            &alice,
            a,
            &invitee,
            Role::Contributor,
            "inv-hash",
            chrono::Duration::days(7),
        )
        .await
        .unwrap();
    let user = store
        .accept_invitation(
            &actor(),
            "inv-hash",
            Some(("New Person", "$argon2id$x")),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        store.acting(user, a).await.unwrap().unwrap().role,
        Role::Contributor
    );
    assert!(matches!(
        store
            .accept_invitation(&actor(), "inv-hash", Some(("Again", "$argon2id$x")), None)
            .await,
        Err(StoreError::Gone(_))
    ));
    store
        .create_invitation(
            &alice,
            a,
            &Email::parse("late@shoreline.example").unwrap(),
            Role::Viewer,
            "old-hash",
            chrono::Duration::seconds(-5),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .accept_invitation(&actor(), "old-hash", Some(("Late", "$argon2id$x")), None)
            .await,
        Err(StoreError::Gone(_))
    ));
    assert!(
        store
            .user_by_email(&Email::parse("late@shoreline.example").unwrap())
            .await
            .unwrap()
            .is_none(),
        "nothing half-written"
    );

    store
        .record_sign_in_failure(&["email:x", "ip:1"])
        .await
        .unwrap();
    store.record_sign_in_failure(&["email:x"]).await.unwrap();
    let since = chrono::Utc::now() - chrono::Duration::minutes(15);
    assert_eq!(store.sign_in_failures("email:x", since).await.unwrap(), 2);
    store.clear_sign_in_failures("email:x").await.unwrap();
    assert_eq!(store.sign_in_failures("email:x", since).await.unwrap(), 0);
    assert_eq!(store.sign_in_failures("ip:1", since).await.unwrap(), 1);
});
