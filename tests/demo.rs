//! The demo data loads through the product's own validation, on both databases, and covers what
//! the brief asks for.

use concord_domain::attainment::{Status, Trend};
use concord_domain::charter::{CommitmentStatus, ReportingCadence, VersionStatus};
use concord_domain::charter_diff::{diff, ChangeKind};
use concord_domain::journey::{gaps_of, AssumptionStatus, GapKind, Journey, Severity, TrialRun};
use concord_domain::meeting::{cadence_adherence, ActionStatus, Adherence, Meeting, MeetingKind};
use concord_domain::paging::PageRequest;
use concord_domain::partnership::{
    Partnership, PartnershipFilter, PartnershipSort, PartnershipType, Stage,
};
use concord_domain::review::{ReviewDecision, ReviewStatus};
use concord_domain::verdict::{TestKind, VerdictKind};
use concord_domain::PartnershipId;
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
    assert!(
        summary.contains("2 journeys (1 trial run, 3 open gaps)"),
        "{summary}"
    );
    assert!(
        summary.contains("ledger entries in 7 partnerships (1 correction)"),
        "{summary}"
    );
    // Three closed and one opened early; how many more were opened as scheduled depends on the
    // day (the charters' review intervals run from fixed dates).
    assert!(summary.contains("(3 closed, "), "{summary}");
    assert!(summary.contains("of them opened as scheduled"), "{summary}");
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
    // Discovery: the shipped public data answers a scan around a demo organization in each of
    // the sample's states, and Elm City's scorecards were started from one.
    assert!(summary.contains("2 fit scorecards started"), "{summary}");
    for state in ["CT", "MA", "RI"] {
        let o = orgs
            .iter()
            .find(|o| o.profile.address.state.as_deref() == Some(state))
            .expect("a demo organization in each state");
        let run = store
            .market_scan(&concord_domain::market::scan::ScanParams {
                org: Some(o.id.0.to_string()),
                capability: Some("primary_care".to_string()),
                radius_miles: Some("50".to_string()),
                ..Default::default()
            })
            .await
            .expect("scan");
        assert!(
            !run.results.is_empty(),
            "primary care near {}",
            o.profile.name
        );
    }
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

    check_journeys(
        &store,
        named("Elm City Smiles-to-Screening Alliance"),
        named("Central Connecticut Post-Acute Network"),
    )
    .await;

    check_ledgers(&store, &all.items).await;
    check_meetings_and_commitments(&store, &all.items).await;
    check_reviews(&store, &all.items).await;
    check_health(&store).await;

    assert!(
        concord::demo::load(&store).await.is_err(),
        "the demo refuses a non-empty database"
    );
}

/// The sustain story: a healthy partnership, a declining one and one whose champion left, each
/// with the health score and warnings that say so; and a history for the trend.
async fn check_health(store: &Store) {
    use concord_domain::health::warnings::WarningRule as R;
    let [healthy, declining, left] = concord::demo_health::story_ids(store).await.unwrap();
    let op = Actor::new("test");
    let (_, h) = store.partnership_health(&op, healthy).await.unwrap();
    let (_, d) = store.partnership_health(&op, declining).await.unwrap();
    let (_, l) = store.partnership_health(&op, left).await.unwrap();
    let rules = |x: &concord_domain::health::score::PartnershipHealth| {
        x.warnings.iter().map(|w| w.rule).collect::<Vec<_>>()
    };
    let (hs, ds, ls) = (h.score.unwrap(), d.score.unwrap(), l.score.unwrap());
    assert!(hs >= 75.0, "healthy scores {hs}: {:?}", h.drivers);
    assert!(
        ds < hs - 15.0,
        "declining scores {ds} against {hs}: {:?}",
        d.drivers
    );
    assert!(ls < hs, "champion left scores {ls} against {hs}");
    for r in [
        R::PerceptionGap,
        R::KeyPersonDeparted,
        R::HighRiskUnmitigated,
    ] {
        assert!(
            !rules(&h).contains(&r),
            "healthy has no {r} warning: {:?}",
            rules(&h)
        );
    }
    assert!(rules(&d).contains(&R::PerceptionGap), "{:?}", rules(&d));
    assert!(
        rules(&d).contains(&R::HighRiskUnmitigated),
        "{:?}",
        rules(&d)
    );
    assert!(rules(&d).contains(&R::MetricOffTrack), "{:?}", rules(&d));
    assert!(rules(&l).contains(&R::KeyPersonDeparted), "{:?}", rules(&l));
    assert!(!rules(&l).contains(&R::PerceptionGap), "{:?}", rules(&l));
    for x in [&h, &d, &l] {
        assert!(x.history.len() >= 6, "a health history: {:?}", x.history);
    }
    // The champion's party has re-education tasks; the roster shows the alert.
    let p = store.get_partnership(&op, left).await.unwrap();
    let alerts = store.continuity_alerts_of(&p, today()).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].open_tasks > 0);
}

fn partnership<'a>(all: &'a [Partnership], name: &str) -> &'a Partnership {
    all.iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("demo partnership {name}"))
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Two years of values for every partnership with an effective charter, most metrics on track,
/// one going off track, one correction, and every chain verifies.
async fn check_ledgers(store: &Store, all: &[Partnership]) {
    let operator = Actor::new("test");
    let (mut with_data, mut on_track, mut without_data) = (0, 0, 0);
    let mut off_track = Vec::new();
    let mut ledgers = 0;
    for p in all {
        let (_, overview) = store.metrics_overview(&operator, p.id).await.unwrap();
        let verified = store.verify_ledger_unscoped(p.id).await.unwrap();
        assert!(verified.valid, "{}: {:?}", p.name, verified.first_mismatch);
        assert_eq!(verified.entries as i64, overview.entries, "{}", p.name);
        if store.effective_charter(p.id).await.unwrap().is_none() {
            assert_eq!(overview.entries, 0, "{} has no charter in force", p.name);
            continue;
        }
        assert!(overview.entries > 0, "{} has a ledger", p.name);
        ledgers += 1;
        for line in &overview.metrics {
            let a = &line.attainment;
            if a.periods_reported == 0 {
                without_data += 1;
                continue;
            }
            // The complete periods of the last two years before this month.
            let periods = match line.metric.cadence {
                ReportingCadence::Monthly => 24,
                ReportingCadence::Quarterly => 8,
                ReportingCadence::Annual => 2,
            };
            assert_eq!(a.periods_reported, periods, "{}: {}", p.name, a.name);
            let latest = a.latest.as_ref().unwrap();
            assert!(latest.period_end < today(), "{}: {}", p.name, a.name);
            with_data += 1;
            match a.status {
                Status::OnTrack => on_track += 1,
                Status::OffTrack => off_track.push((p.name.clone(), a.clone())),
                _ => {}
            }
        }
    }
    assert_eq!(ledgers, 7);
    assert!(
        without_data <= 1,
        "only the metric the revenue-cycle amendment adds has no values yet"
    );
    assert!(
        on_track * 4 >= with_data * 3,
        "most metrics are on track: {on_track} of {with_data}"
    );

    // The one metric going off track: Saltmarsh outpatients waiting longer for a scan as its
    // volumes run above plan, period after period.
    assert_eq!(off_track.len(), 1, "{off_track:?}");
    let (name, a) = &off_track[0];
    assert_eq!(name, "Narragansett Bay Imaging and Lab Capacity Agreement");
    assert_eq!(
        a.name,
        "Saltmarsh outpatients scanned within 7 days of the order"
    );
    assert_eq!(a.status, Status::OffTrack);
    assert_eq!(a.trend, Trend::Worsening);
    assert!(a.off_track_streak >= 2, "{a:?}");

    // One correction: a quarter's HbA1c figure recounted, the first entry kept in the chain.
    let lab = partnership(all, "Farmington River Outreach Laboratory Partnership");
    let entries = store.ledger_entries(&operator, lab.id, None).await.unwrap();
    let corrections: Vec<_> = entries.iter().filter(|e| e.supersedes.is_some()).collect();
    assert_eq!(corrections.len(), 1);
    let correction = corrections[0];
    assert_eq!(
        correction.reason,
        "Recounted after the EHR interface backlog cleared"
    );
    let first = entries
        .iter()
        .find(|e| Some(e.seq) == correction.supersedes)
        .expect("the corrected entry stays in the ledger");
    assert_eq!(
        (first.metric_id, first.period_start),
        (correction.metric_id, correction.period_start)
    );
    assert!(correction.number() > first.number());
    let (_, overview) = store.metrics_overview(&operator, lab.id).await.unwrap();
    let current = overview
        .metrics
        .iter()
        .flat_map(|l| l.values.iter())
        .find(|v| v.seq == correction.seq)
        .expect("the correction is the current value of its quarter");
    assert!(current.corrected);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.supersedes.is_none() && e.organization_id == correction.organization_id)
            .count()
            + 1,
        entries
            .iter()
            .filter(|e| e.organization_id == correction.organization_id)
            .count()
    );
}

/// A partnership's meetings, checked for every party's presence and notes, and its steering
/// meetings against the charter's cadence.
async fn adherence(store: &Store, p: &Partnership) -> (Vec<Meeting>, Adherence) {
    let operator = Actor::new("test");
    let charter = store.effective_charter(p.id).await.unwrap().unwrap();
    let meetings = store.meetings(&operator, p.id, today()).await.unwrap();
    let parties: Vec<_> = p.parties.iter().map(|x| x.organization_id).collect();
    for m in &meetings {
        assert!(m.held_on < today());
        assert!(!m.notes.is_empty());
        for party in &parties {
            assert!(
                m.attendees.iter().any(|a| a.organization_id == *party),
                "both parties attend"
            );
        }
    }
    let steering: Vec<_> = meetings
        .iter()
        .filter(|m| m.kind == MeetingKind::Steering)
        .map(|m| m.held_on)
        .collect();
    // The store counts from the charter's start: the demo's partnerships went active (in the
    // database) on the day it was loaded, but have met since their charters started.
    let a = store.cadence_of(p, Some(&charter), today()).await.unwrap();
    assert_eq!(
        a,
        cadence_adherence(
            charter.content.governance.meeting_cadence,
            charter.path_start(),
            today(),
            &steering,
        )
    );
    (meetings, a)
}

/// Steering meetings at the charter's cadence in one partnership and below it in another, action
/// items done and late, commitments done and late.
async fn check_meetings_and_commitments(store: &Store, all: &[Partnership]) {
    let operator = Actor::new("test");
    let (revenue, a) = adherence(
        store,
        partnership(all, "Quinnehtuk Revenue Cycle Partnership"),
    )
    .await;
    assert_eq!(a.ratio, Some(1.0), "monthly steering meetings: {a:?}");
    assert!(revenue.iter().any(|m| m.kind == MeetingKind::Working));
    assert!(revenue.iter().any(|m| !m.decisions.is_empty()));
    let actions: Vec<_> = revenue.iter().flat_map(|m| m.actions.iter()).collect();
    assert!(actions
        .iter()
        .any(|x| x.status == ActionStatus::Done && !x.note.is_empty()));
    assert!(
        actions
            .iter()
            .any(|x| x.status == ActionStatus::Open && x.late),
        "an action item open past its due date"
    );

    let (_, a) = adherence(
        store,
        partnership(all, "Northwest Hills Community Health Compact"),
    )
    .await;
    let ratio = a.ratio.expect("a cadence");
    assert!(
        ratio < 0.75,
        "every three weeks against a fortnightly cadence: {a:?}"
    );

    let p = partnership(all, "Quinnehtuk Revenue Cycle Partnership");
    let commitments = store.commitments(&operator, p.id, today()).await.unwrap();
    assert!(commitments
        .iter()
        .any(|c| c.status == CommitmentStatus::Done && c.last_report.is_some()));
    assert!(commitments
        .iter()
        .any(|c| c.late && c.status == CommitmentStatus::Late && c.days_late.unwrap_or(0) > 0));
}

/// The annual review of the revenue-cycle partnership closed with a decision to continue, signed
/// by both alliance managers; the others decided, or still in progress.
async fn check_reviews(store: &Store, all: &[Partnership]) {
    let operator = Actor::new("test");
    let expected = [
        (
            "Quinnehtuk Revenue Cycle Partnership",
            Some(ReviewDecision::Continue),
            Stage::Active,
        ),
        (
            "Narragansett Bay Imaging and Lab Capacity Agreement",
            Some(ReviewDecision::Restructure),
            Stage::Restructuring,
        ),
        (
            "Saltmarsh Turnaround Program",
            Some(ReviewDecision::Exit),
            Stage::Ended,
        ),
        ("Greater Hartford Value Alliance", None, Stage::UnderReview),
    ];
    for (name, decision, stage) in expected {
        let p = partnership(all, name);
        assert_eq!(p.stage, stage, "{name}");
        let overview = store.reviews(&operator, p.id, today()).await.unwrap();
        assert_eq!(overview.reviews.len(), 1, "{name}");
        let r = &overview.reviews[0];
        assert_eq!(r.decision, decision, "{name}");
        assert!(!r.reason.is_empty());
        if decision.is_some() {
            assert_eq!(r.status, ReviewStatus::Closed, "{name}");
            assert!(!r.rationale.is_empty());
            assert!(r.awaiting.is_empty());
            let mut signed: Vec<_> = r.signatures.iter().map(|s| s.organization_id).collect();
            let mut parties: Vec<_> = p.parties.iter().map(|x| x.organization_id).collect();
            signed.sort();
            parties.sort();
            assert_eq!(signed, parties, "{name}: every party signed");
            assert!(
                !r.packet.metrics.is_empty(),
                "{name}: the packet has the figures"
            );
        } else {
            assert_eq!(r.status, ReviewStatus::Open, "{name}");
        }
    }
    let p = partnership(all, "Quinnehtuk Revenue Cycle Partnership");
    let r = &store
        .reviews(&operator, p.id, today())
        .await
        .unwrap()
        .reviews[0];
    assert_eq!(r.reason, "Annual review");
    assert!(r.packet.commitments_late >= 1);
    assert!(r.packet.rollup.on_track >= 5);

    // Reviews overdue on the load day were opened as scheduled reviews by the loader (what the
    // server's scheduler does at start), so running it again opens nothing.
    assert!(store.open_due_reviews(today()).await.unwrap().is_empty());
    for p in all.iter().filter(|p| p.stage == Stage::UnderReview) {
        let overview = store.reviews(&operator, p.id, today()).await.unwrap();
        let open = overview
            .reviews
            .iter()
            .find(|r| r.status == ReviewStatus::Open)
            .unwrap_or_else(|| panic!("{}: under review without an open review", p.name));
        assert!(open.due_on <= today(), "{}", p.name);
    }
}

async fn journey_named(
    store: &Store,
    partnership: PartnershipId,
    name: &str,
) -> (Journey, Vec<TrialRun>) {
    let operator = Actor::new("test");
    let summaries = store.journeys(&operator, partnership).await.unwrap();
    let id = summaries
        .iter()
        .find(|j| j.name == name)
        .unwrap_or_else(|| panic!("demo journey {name}: {summaries:?}"))
        .id;
    let (_, journey, runs) = store.journey(&operator, id).await.unwrap();
    (journey, runs)
}

/// The gaps of a journey as (kind, stage name).
fn gap_list(journey: &Journey, runs: &[TrialRun]) -> Vec<(GapKind, String)> {
    gaps_of(journey, runs)
        .into_iter()
        .map(|g| (g.kind, g.stage_name))
        .collect()
}

/// The journeys: a primary-care to dental referral where a trial run found two gaps and one was
/// fixed, and a discharge to home health whose first draft shows a lull and an unowned stage.
async fn check_journeys(store: &Store, elm: PartnershipId, post_acute: PartnershipId) {
    let (referral, runs) = journey_named(store, elm, "Referral from primary care to dental").await;
    assert!(referral.design.stages.len() >= 6);
    let owners: std::collections::BTreeSet<_> =
        referral.design.stages.iter().map(|s| s.owner).collect();
    assert_eq!(owners.len(), 2, "stages are owned by both practices");
    assert!(referral
        .design
        .handoffs
        .iter()
        .all(|h| h.channel.is_some() && !h.information.is_empty()));

    // One trial run with pseudonymous participants.
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.participants.len(), 8);
    assert!(run.participants.iter().all(|p| p.starts_with("P-")));

    let stage_id = |name: &str| {
        referral
            .design
            .stages
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.id)
            .unwrap_or_else(|| panic!("stage {name}"))
    };
    let scheduling = stage_id("Scheduling call from Bright Harbor");
    let first_visit = stage_id("First dental visit");

    // The run found a blocking problem at scheduling and invalidated two assumptions.
    let severe: Vec<_> = run
        .feedback
        .iter()
        .filter(|f| f.severity != Severity::Minor)
        .collect();
    assert!(severe
        .iter()
        .any(|f| f.severity == Severity::Blocking && f.stage == scheduling));
    let invalidated: Vec<_> = referral
        .design
        .assumptions
        .iter()
        .filter(|a| a.status == AssumptionStatus::Invalidated)
        .collect();
    assert_eq!(invalidated.len(), 2, "{invalidated:?}");
    assert!(invalidated.iter().all(|a| !a.evidence.is_empty()));
    assert!(referral
        .design
        .assumptions
        .iter()
        .any(|a| a.status == AssumptionStatus::Validated));

    // Fixed: the scheduling stage was rewritten after the run (with a support touchpoint) and
    // every severe finding there is addressed, with what was done.
    let stage = referral.design.stage(scheduling).unwrap();
    assert!(stage.touchpoints.iter().any(|t| t.support));
    let call_themselves = invalidated
        .iter()
        .find(|a| a.stages.contains(&scheduling))
        .expect("an invalidated assumption about scheduling");
    assert!(
        stage.revised_at > call_themselves.status_changed_at,
        "the stage changed after the assumption was invalidated"
    );
    assert!(severe
        .iter()
        .all(|f| (f.stage == scheduling)
            == (f.addressed_at.is_some() && !f.addressed_note.is_empty())));
    assert!(severe.iter().any(|f| f.addressed_at.is_some()));

    // Before the fix, scheduling showed the blocking feedback and the invalidated assumption.
    let mut before = referral.clone();
    before
        .design
        .stages
        .iter_mut()
        .find(|s| s.id == Some(scheduling))
        .unwrap()
        .revised_at = call_themselves.status_changed_at;
    let mut open_runs = runs.clone();
    for f in open_runs.iter_mut().flat_map(|r| r.feedback.iter_mut()) {
        f.addressed_at = None;
    }
    let kinds_before: Vec<GapKind> = gaps_of(&before, &open_runs)
        .into_iter()
        .filter(|g| g.stage == Some(scheduling))
        .map(|g| g.kind)
        .collect();
    assert_eq!(
        kinds_before,
        vec![GapKind::InvalidatedAssumption, GapKind::UnaddressedFeedback]
    );

    // Still open: the reminder text did not bring everyone to the first visit, and that stage
    // has not changed since.
    assert_eq!(
        gap_list(&referral, &runs),
        vec![(
            GapKind::InvalidatedAssumption,
            "First dental visit".to_string()
        )]
    );
    let open = &gaps_of(&referral, &runs)[0];
    assert_eq!(open.stage, Some(first_visit));
    assert!(open.evidence.contains("reminder text"), "{}", open.evidence);

    // Discharge to home health: a first draft with a stage nobody owns and a lull.
    let (discharge, runs) = journey_named(store, post_acute, "Discharge to home health").await;
    assert!(runs.is_empty());
    assert_eq!(
        gap_list(&discharge, &runs),
        vec![
            (
                GapKind::NoOwner,
                "Medication reconciliation at home".to_string()
            ),
            (GapKind::Lull, "Discharge from home-health care".to_string()),
        ]
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
