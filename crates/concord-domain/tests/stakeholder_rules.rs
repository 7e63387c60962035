//! The stakeholder roster rules through the crate's public API: input validation (a party's
//! people only, named fields on error), departures not in the future, and the continuity rule —
//! an alert for each departed key person until a successor is named and briefed. Property tests
//! check what must hold for every roster.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

use concord_domain::health::stakeholder::*;
use concord_domain::health::{Level, StakeholderRole, StakeholderStatus};
use concord_domain::OrgId;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn input(org: i64, name: &str) -> StakeholderInput {
    StakeholderInput {
        organization_id: OrgId(org),
        name: name.into(),
        title: "VP Strategy".into(),
        email: "Ana@Example.org".into(),
        role: StakeholderRole::Champion,
        influence: Level::High,
        engagement: Level::Medium,
    }
}

fn person(id: i64, org: i64, role: StakeholderRole) -> Stakeholder {
    let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    Stakeholder {
        id,
        partnership_id: 1,
        organization_id: OrgId(org),
        name: format!("Person {id}"),
        title: String::new(),
        email: String::new(),
        role,
        influence: Level::Medium,
        engagement: Level::Medium,
        status: StakeholderStatus::Active,
        departed_on: None,
        successor_id: None,
        briefed_on: None,
        created_at: t,
        updated_at: t,
    }
}

fn departed(mut s: Stakeholder, on: NaiveDate) -> Stakeholder {
    s.status = StakeholderStatus::Departed;
    s.departed_on = Some(on);
    s
}

fn tasks_for(s: &Stakeholder, done: usize) -> Vec<ContinuityTask> {
    let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    re_education_topics()
        .iter()
        .enumerate()
        .map(|(i, (topic, what))| ContinuityTask {
            id: s.id * 100 + i as i64,
            stakeholder_id: s.id,
            organization_id: s.organization_id,
            topic: (*topic).into(),
            what: (*what).into(),
            status: if i < done {
                TaskStatus::Done
            } else {
                TaskStatus::Open
            },
            created_at: t,
            done_at: None,
            done_by: String::new(),
        })
        .collect()
}

#[test]
fn valid_input_is_cleaned() {
    let v = input(1, "  Ana Alvarez ")
        .validate(&[OrgId(1), OrgId(2)])
        .unwrap();
    assert_eq!(v.name, "Ana Alvarez");
    assert_eq!(v.email, "ana@example.org");
}

#[test]
fn a_non_party_organization_is_refused_by_field() {
    let e = input(9, "Ana").validate(&[OrgId(1), OrgId(2)]).unwrap_err();
    assert_eq!(e.errors()[0].field, "organization_id");
    assert_eq!(e.errors()[0].code, "not_a_party");
}

#[test]
fn every_bad_field_is_named() {
    let mut i = input(1, " ");
    i.email = "not-an-address".into();
    i.title = "x".repeat(201);
    let e = i.validate(&[OrgId(1)]).unwrap_err();
    let fields: Vec<&str> = e.errors().iter().map(|x| x.field.as_str()).collect();
    assert_eq!(fields, ["name", "title", "email"]);
}

#[test]
fn blank_email_is_allowed() {
    let mut i = input(1, "Ana");
    i.email = "  ".into();
    assert_eq!(i.validate(&[OrgId(1)]).unwrap().email, "");
}

#[test]
fn a_departure_cannot_be_in_the_future() {
    let today = day(2026, 6, 1);
    let e = DepartureInput {
        departed_on: day(2026, 6, 2),
    }
    .validate(today)
    .unwrap_err();
    assert_eq!(e.errors()[0].field, "departed_on");
    assert_eq!(
        DepartureInput { departed_on: today }.validate(today),
        Ok(today)
    );
}

#[test]
fn a_departed_champion_raises_an_alert_until_replaced_and_briefed() {
    let today = day(2026, 6, 10);
    let champion = departed(person(1, 7, StakeholderRole::Champion), day(2026, 6, 1));
    let successor = person(2, 7, StakeholderRole::OperationalLead);
    let tasks = tasks_for(&champion, 0);
    let n = tasks.len();

    // No successor, every task open.
    let a = continuity_alerts(&[champion.clone(), successor.clone()], &tasks, today);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].stakeholder_id, 1);
    assert_eq!(a[0].organization_id, OrgId(7));
    assert_eq!(a[0].role, StakeholderRole::Champion);
    assert_eq!(a[0].successor, None);
    assert_eq!((a[0].open_tasks, a[0].total_tasks), (n, n));
    assert_eq!(a[0].days_since_departure, 9);

    // Successor named, tasks still open: still an alert, naming the successor.
    let mut named = champion.clone();
    named.successor_id = Some(2);
    let a = continuity_alerts(&[named.clone(), successor.clone()], &tasks, today);
    assert_eq!(
        a[0].successor,
        Some(SuccessorRef {
            id: 2,
            name: "Person 2".into()
        })
    );

    // Every task done but not yet marked briefed: still an alert.
    let done = tasks_for(&champion, n);
    let a = continuity_alerts(&[named.clone(), successor.clone()], &done, today);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].open_tasks, 0);

    // Briefed: gone.
    named.briefed_on = Some(today);
    assert!(continuity_alerts(&[named, successor], &done, today).is_empty());
}

#[test]
fn briefed_without_a_successor_is_still_an_alert() {
    let today = day(2026, 6, 10);
    let mut s = departed(person(1, 7, StakeholderRole::AllianceManager), today);
    s.briefed_on = Some(today);
    let tasks = tasks_for(&s, 5);
    assert_eq!(continuity_alerts(&[s], &tasks, today).len(), 1);
}

#[test]
fn non_key_departures_and_active_people_raise_nothing() {
    let today = day(2026, 6, 10);
    let people = vec![
        departed(person(1, 7, StakeholderRole::OperationalLead), today),
        departed(person(2, 7, StakeholderRole::ClinicianLead), today),
        person(3, 7, StakeholderRole::Champion),
        person(4, 8, StakeholderRole::ExecutiveSponsor),
    ];
    assert!(continuity_alerts(&people, &[], today).is_empty());
}

#[test]
fn alerts_are_oldest_first_and_days_never_negative() {
    let today = day(2026, 6, 10);
    let people = vec![
        departed(person(1, 7, StakeholderRole::Champion), day(2026, 6, 5)),
        departed(
            person(2, 8, StakeholderRole::ExecutiveSponsor),
            day(2026, 5, 1),
        ),
        departed(
            person(3, 8, StakeholderRole::AllianceManager),
            day(2026, 7, 1),
        ),
    ];
    let a = continuity_alerts(&people, &[], today);
    let ids: Vec<i64> = a.iter().map(|x| x.stakeholder_id).collect();
    assert_eq!(ids, [2, 1, 3]);
    assert_eq!(a[2].days_since_departure, 0);
}

#[test]
fn handover_needs_both_conditions() {
    assert!(handover_complete(Some(1), 0));
    assert!(!handover_complete(None, 0));
    assert!(!handover_complete(Some(1), 1));
}

fn role() -> impl Strategy<Value = StakeholderRole> {
    prop::sample::select(StakeholderRole::ALL.to_vec())
}

proptest! {
    /// An alert exists exactly for each departed key person who lacks a successor, has an open
    /// task, or is not marked briefed; and its counts match the tasks.
    #[test]
    fn alerts_match_the_rule(
        people in prop::collection::vec(
            (role(), any::<bool>(), 0u32..60, prop::option::of(0usize..5), 0usize..=5, any::<bool>()),
            0..12,
        )
    ) {
        let today = day(2026, 6, 30);
        let mut roster = Vec::new();
        let mut tasks = Vec::new();
        for (i, (r, gone, ago, succ, done, briefed)) in people.iter().enumerate() {
            let id = i as i64 + 1;
            let mut s = person(id, 7, *r);
            if *gone {
                s = departed(s, today - Duration::days(i64::from(*ago)));
                s.successor_id = succ.map(|k| (k as i64 % people.len() as i64) + 1);
                s.briefed_on = briefed.then_some(today);
                if r.is_key() {
                    tasks.extend(tasks_for(&s, *done));
                }
            }
            roster.push(s);
        }
        let alerts = continuity_alerts(&roster, &tasks, today);
        for s in &roster {
            let open = tasks.iter().filter(|t| t.stakeholder_id == s.id && t.status == TaskStatus::Open).count();
            let expected = s.status == StakeholderStatus::Departed
                && s.role.is_key()
                && !(s.successor_id.is_some() && open == 0 && s.briefed_on.is_some());
            let got = alerts.iter().find(|a| a.stakeholder_id == s.id);
            prop_assert_eq!(got.is_some(), expected);
            if let Some(a) = got {
                prop_assert_eq!(a.open_tasks, open);
                prop_assert!(a.open_tasks <= a.total_tasks);
                prop_assert!(a.days_since_departure >= 0);
                prop_assert_eq!(a.successor.as_ref().map(|x| x.id), s.successor_id);
            }
        }
        // Oldest departure first.
        for w in alerts.windows(2) {
            prop_assert!(w[0].departed_on <= w[1].departed_on);
        }
    }

    /// Completing tasks never adds an alert.
    #[test]
    fn more_done_never_adds_alerts(done_a in 0usize..=5, extra in 0usize..=5, named in any::<bool>()) {
        let today = day(2026, 6, 30);
        let mut s = departed(person(1, 7, StakeholderRole::Champion), today);
        s.successor_id = named.then_some(2);
        let succ = person(2, 7, StakeholderRole::Other);
        let before = continuity_alerts(&[s.clone(), succ.clone()], &tasks_for(&s, done_a), today).len();
        let after = continuity_alerts(&[s.clone(), succ], &tasks_for(&s, (done_a + extra).min(5)), today).len();
        prop_assert!(after <= before);
    }

    /// Validation is idempotent: a cleaned input validates to itself.
    #[test]
    fn validation_is_idempotent(name in "[ a-zA-Z]{0,30}", title in "[ a-z]{0,20}", org in 1i64..4) {
        let mut i = input(org, &name);
        i.title = title;
        if let Ok(v) = i.validate(&[OrgId(1), OrgId(2)]) {
            prop_assert_eq!(v.validate(&[OrgId(1), OrgId(2)]), Ok(v.clone()));
        }
    }
}
