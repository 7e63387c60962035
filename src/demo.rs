//! The demo: fictional organizations, partnerships, charters and journey maps (data/demo.json)
//! loaded through the same store methods as real input, so the demo can never hold what the
//! product would refuse. Charters are drafted, acknowledged and signed by the parties' own people,
//! before a partnership goes active, exactly as the product requires; journeys are mapped, tried
//! with patients and revised by the parties' people, in that order.
//!
//! Once a partnership is active its people report what happened, dated back from the day the demo
//! is loaded: two years of metric values (generated here, deterministically, from each metric's
//! baseline, target and dates, and imported as CSV by the owning party), corrections,
//! commitments kept, steering meetings with their action items; then the reviews its stage path
//! goes through, each decided and signed by the parties.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use serde::Deserialize;
use serde_json::{Map, Value};

use concord_domain::account::{Email, Role};
use concord_domain::attainment::expected_progress;
use concord_domain::charter::{
    Charter, CharterVersion, CommitmentStatus, Metric, ReportingCadence, SignInput,
};
use concord_domain::journey::{self, gaps_of, JourneyInput, StageEdit, TrialRunInput};
use concord_domain::ledger::{period_containing, CorrectionInput};
use concord_domain::meeting::{
    ActionInput, ActionStatus, ActionUpdate, Attendee, MeetingInput, MeetingKind,
};
use concord_domain::organization::OrganizationInput;
use concord_domain::partnership::{PartnershipInput, PartnershipType, PartyInput, Stage};
use concord_domain::review::{
    CommitmentUpdate, DecisionInput, OpenReviewInput, ReviewDecision, ReviewStatus,
};
use concord_domain::{OrgId, PartnershipId, UserId};
use concord_storage::{Actor, Backend, ImportError, Store};

pub const DEFAULT_DEMO_DATABASE_URL: &str = "sqlite://concord-demo.db";
/// Every demo account's password (printed at start and in the README; demo data only).
pub const DEMO_PASSWORD: &str = "concord-demo-2026";
/// A demo adviser who belongs to two organizations, to show the organization switcher.
pub const DEMO_ADVISER: &str = "adviser@concord-demo.example";
pub const DEMO_JSON: &str = include_str!("../data/demo.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoData {
    organizations: Vec<OrganizationInput>,
    partnerships: Vec<DemoPartnership>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPartnership {
    name: String,
    purpose: String,
    #[serde(rename = "type")]
    partnership_type: PartnershipType,
    parties: Vec<DemoParty>,
    stage_path: Vec<Stage>,
    /// Drafted and signed before the stage path reaches `active`.
    #[serde(default)]
    charter: Option<DemoCharter>,
    /// Mapped once the stage path and the charter are done.
    #[serde(default)]
    journeys: Vec<DemoJourney>,
    /// The metric values the owning parties report once the partnership is active.
    #[serde(default)]
    ledger: Option<DemoLedger>,
    /// Commitments of the charter reported on once the partnership is active.
    #[serde(default)]
    commitment_reports: Vec<DemoCommitmentReport>,
    /// The steering group's meetings since the charter's start.
    #[serde(default)]
    meetings: Option<DemoMeetings>,
    /// One review for each move to `under_review` in the stage path, in order. A review with a
    /// decision signed by every party moves the partnership to the stage the decision leads to,
    /// which must be the next one in the stage path.
    #[serde(default)]
    reviews: Vec<DemoReview>,
}

/// How the owning parties' values are generated: for every metric of the effective charter, the
/// 24 complete months before the month the demo is loaded (or the 8 complete quarters, or the 2
/// complete years, after the metric's cadence). A value follows the straight path from the
/// baseline on the charter's start to the target on the target date, a little ahead of it, with
/// a deterministic noise; before the start it stays near the baseline, after the target date near
/// the target. A metric the charter gained in an amendment the demo signs later has no values
/// yet.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoLedger {
    /// Where each party's numbers come from, by organization name.
    #[serde(default)]
    sources: BTreeMap<String, String>,
    /// Metrics that keep another pace along the path, by metric id: 1.0 is exactly on it, 0.8 a
    /// fifth behind (at risk), above 1 ahead.
    #[serde(default)]
    pace: BTreeMap<u32, f64>,
    /// A metric that drifts away from its target over its latest periods.
    #[serde(default)]
    drift: Option<DemoDrift>,
    /// Values reported wrong first, then corrected.
    #[serde(default)]
    corrections: Vec<DemoCorrection>,
    /// Notes on particular values.
    #[serde(default)]
    notes: Vec<DemoValueNote>,
}

/// Over its latest `periods` periods, the metric loses `per_period` of progress each period. In the
/// demo data this is the Narragansett Bay agreement's "Saltmarsh outpatients scanned within 7 days
/// of the order" (metric 1), falling as Saltmarsh's volumes run about 40% above plan: off track and
/// worsening, which its review answers by restructuring (asserted in tests/demo.rs).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoDrift {
    metric: u32,
    periods: usize,
    per_period: f64,
    /// The note on the latest value.
    #[serde(default)]
    note: String,
}

/// The value of `metric` `periods_ago` periods back (1 = the latest) is first reported off by
/// `first_reported_off_by`, then corrected by the same party with a reason.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCorrection {
    metric: u32,
    periods_ago: usize,
    first_reported_off_by: f64,
    reason: String,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoValueNote {
    metric: u32,
    periods_ago: usize,
    note: String,
}

/// A party reports where one of its commitments stands (the charter's commitment id).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCommitmentReport {
    by: String,
    commitment: u32,
    status: CommitmentStatus,
    #[serde(default)]
    note: String,
}

/// Steering meetings from the charter's start (at most two years back) until the day before the
/// demo is loaded, on Tuesdays: every `every_weeks` weeks, or else on the second Tuesday of every
/// month. The charter's steering group attends. Routine meetings take their notes from `notes`
/// in turn; `held` gives particular meetings (counted back from the latest) their notes,
/// decisions and action items.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoMeetings {
    /// The party whose demo admin records the meetings.
    recorded_by: String,
    #[serde(default)]
    every_weeks: Option<u32>,
    notes: Vec<String>,
    #[serde(default)]
    held: Vec<DemoMeeting>,
    /// Other meetings (working sessions, executive meetings), dated back from the day the demo is
    /// loaded.
    #[serde(default)]
    others: Vec<DemoOtherMeeting>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoMeeting {
    /// 0 is the latest steering meeting, 1 the one before, and so on.
    ago: usize,
    notes: String,
    #[serde(default)]
    decisions: Vec<String>,
    #[serde(default)]
    actions: Vec<DemoAction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoOtherMeeting {
    days_ago: u64,
    kind: MeetingKind,
    attendees: Vec<DemoAttendee>,
    notes: String,
    #[serde(default)]
    decisions: Vec<String>,
    #[serde(default)]
    actions: Vec<DemoAction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoAttendee {
    party: String,
    name: String,
}

/// An action item, due `due_days` after its meeting; `done` is the note it was closed with.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoAction {
    what: String,
    owner: String,
    #[serde(default)]
    owner_name: String,
    due_days: u64,
    #[serde(default)]
    done: Option<String>,
}

/// A review, opened by a party's alliance manager; when it has a decision, that is recorded by
/// `decided_by` and signed by the parties in `signed`, in order.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoReview {
    opened_by: String,
    reason: String,
    #[serde(default)]
    decision: Option<ReviewDecision>,
    #[serde(default)]
    rationale: String,
    #[serde(default)]
    decided_by: Option<String>,
    #[serde(default)]
    signed: Vec<String>,
}

/// A journey map as the demo writes it, loaded in time order: created, tried with end users,
/// then changed. `content` is a [`JourneyInput`] whose stage owners are organization names (or
/// `null` for a stage nobody owns yet); stages carry their own ids so that handoffs, assumptions
/// and feedback can refer to them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoJourney {
    /// The party whose demo admin maps the journey.
    created_by: String,
    content: Map<String, Value>,
    #[serde(default)]
    trial_runs: Vec<DemoTrialRun>,
    /// What the parties changed after the trial runs, in order.
    #[serde(default)]
    changes: Vec<DemoJourneyChange>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoTrialRun {
    /// The party whose demo admin records the run.
    recorded_by: String,
    run: TrialRunInput,
}

/// A change after a trial run: stages rewritten in place (each names the `id` it replaces, and
/// its owner by organization name), then feedback marked addressed with what was done.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoJourneyChange {
    by: String,
    #[serde(default)]
    revised_stages: Vec<Map<String, Value>>,
    #[serde(default)]
    addressed: Vec<DemoAddressed>,
}

/// The feedback a participant gave on a stage, and what was done about it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoAddressed {
    stage: u32,
    participant: String,
    note: String,
}

/// A charter as the demo writes it. `content` is a [`Charter`] that names parties by
/// organization name (in `party`, `owner`, `from` and `to`); an alliance manager is given as
/// `{"party": name}` (the party's demo admin) or `{"party": name, "email": …}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCharter {
    /// The party whose alliance manager writes the draft.
    drafted_by: String,
    content: Map<String, Value>,
    /// Parties that acknowledge the others' stakes, in order.
    #[serde(default)]
    acknowledged: Vec<String>,
    /// Parties that sign, in order; when all have, the version is effective.
    #[serde(default)]
    signed: Vec<String>,
    /// A second version, drafted once the stage path is done.
    #[serde(default)]
    amendment: Option<DemoAmendment>,
}

/// A new version of an effective charter: `changes` replaces whole sections of it (items that
/// carry over keep their `id`, so the diff shows them as changed rather than replaced).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoAmendment {
    drafted_by: String,
    changes: Map<String, Value>,
    #[serde(default)]
    acknowledged: Vec<String>,
    #[serde(default)]
    signed: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoParty {
    organization: String,
    role: String,
}

/// Deletes a SQLite demo database (and its WAL files) so the demo starts fresh. PostgreSQL
/// databases are left to [`load`], which refuses a non-empty one.
pub fn reset_sqlite_file(url: &str) -> Result<(), String> {
    if Backend::from_url(url).map_err(|e| e.to_string())? != Backend::Sqlite {
        return Ok(());
    }
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{path}{suffix}");
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove the old demo database {p}: {e}")),
        }
    }
    Ok(())
}

/// Loads the demo into an empty database and returns a summary to print.
pub async fn load(store: &Store) -> Result<String, String> {
    load_on(store, chrono::Utc::now().date_naive()).await
}

/// [`load`] as if on `today`: every date the demo invents (metric periods, meetings, action
/// items' due dates) is counted back from it, so nothing is ever in the future.
pub async fn load_on(store: &Store, today: NaiveDate) -> Result<String, String> {
    let data: DemoData =
        serde_json::from_str(DEMO_JSON).map_err(|e| format!("demo data is invalid: {e}"))?;
    if !store
        .all_organizations()
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Err(
            "the demo needs an empty database; this one already has organizations".to_string(),
        );
    }
    let actor = Actor::new("demo");
    let mut ids: Vec<(String, OrgId)> = Vec::new();
    for o in &data.organizations {
        let org = store
            .create_organization(&actor, o)
            .await
            .map_err(|e| format!("demo organization {}: {e}", o.name))?;
        ids.push((o.name.clone(), org.id));
    }
    // One admin per organization and a viewer or two; one password hash shared by all demo
    // accounts (hashing is deliberately slow).
    let hash = concord_web::auth::password::hash(DEMO_PASSWORD.to_string()).await?;
    let mut accounts = Vec::new();
    let mut people = People::default();
    for (name, id) in &ids {
        let email = Email::parse(&format!("admin@{}.example", slug(name)))
            .map_err(|e| format!("demo account for {name}: {e}"))?;
        let user = store
            .create_user(
                &actor,
                &email,
                &format!("{name} admin"),
                &hash,
                *id,
                Role::Admin,
            )
            .await
            .map_err(|e| format!("demo account {email}: {e}"))?;
        people.admins.push((*id, user.id));
        people.by_email.push((email.to_string(), user.id));
        accounts.push(format!("  {email:<58} admin of {name}"));
    }
    if ids.len() >= 2 {
        let adviser = Email::parse(DEMO_ADVISER).map_err(|e| e.to_string())?;
        let user = store
            .create_user(
                &actor,
                &adviser,
                "Robin Adviser",
                &hash,
                ids[0].1,
                Role::Viewer,
            )
            .await
            .map_err(|e| format!("demo account {adviser}: {e}"))?;
        people.by_email.push((adviser.to_string(), user.id));
        store
            .add_membership(&actor, user.id, ids[1].1, Role::AllianceManager)
            .await
            .map_err(|e| format!("demo account {adviser}: {e}"))?;
        accounts.push(format!(
            "  {DEMO_ADVISER:<58} viewer of {}, alliance manager of {}",
            ids[0].0, ids[1].0
        ));
    }
    let mut charters = CharterCount::default();
    let mut journeys = JourneyCount::default();
    let mut activity = ActivityCount::default();
    for p in &data.partnerships {
        let parties = p
            .parties
            .iter()
            .map(|party| {
                ids.iter()
                    .find(|(n, _)| *n == party.organization)
                    .map(|(_, id)| PartyInput {
                        organization_id: *id,
                        role: party.role.clone(),
                    })
                    .ok_or_else(|| {
                        format!(
                            "demo party {} is not a demo organization",
                            party.organization
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let named: Vec<(String, OrgId)> = p
            .parties
            .iter()
            .zip(&parties)
            .map(|(d, i)| (d.organization.clone(), i.organization_id))
            .collect();
        let created = store
            .create_partnership(
                &actor,
                &PartnershipInput {
                    name: p.name.clone(),
                    purpose: p.purpose.clone(),
                    partnership_type: p.partnership_type,
                    parties,
                },
            )
            .await
            .map_err(|e| format!("demo partnership {}: {e}", p.name))?;
        // The charter is agreed before going live: the product refuses `active` without it.
        let go_live = p
            .stage_path
            .iter()
            .position(|s| *s == Stage::Active)
            .unwrap_or(p.stage_path.len());
        let (before, after) = p.stage_path.split_at(go_live);
        for stage in before {
            store
                .transition_partnership(&actor, created.id, *stage, "Recorded with the demo data")
                .await
                .map_err(|e| format!("demo partnership {}: {e}", p.name))?;
        }
        let ctx = Ctx {
            store,
            people: &people,
            parties: &named,
            id: created.id,
        };
        if let Some(c) = &p.charter {
            let first = async {
                let content = ctx.resolve(Value::Object(c.content.clone()))?;
                ctx.version(&c.drafted_by, &content, &c.acknowledged, &c.signed)
                    .await
            };
            first
                .await
                .map_err(|e| format!("demo charter of {}: {e}", p.name))?;
        }
        // Going live, then what the parties did since (dated back from today), then the rest of
        // the stage path: the reviews the figures are judged in.
        if let Some((live, rest)) = after.split_first() {
            store
                .transition_partnership(&actor, created.id, *live, "Recorded with the demo data")
                .await
                .map_err(|e| format!("demo partnership {}: {e}", p.name))?;
            ctx.activity(p, today, &mut activity)
                .await
                .map_err(|e| format!("demo figures of {}: {e}", p.name))?;
            ctx.rest_of_path(&actor, rest, &p.reviews, today, &mut activity)
                .await
                .map_err(|e| format!("demo partnership {}: {e}", p.name))?;
        } else if p.ledger.is_some()
            || p.meetings.is_some()
            || !p.commitment_reports.is_empty()
            || !p.reviews.is_empty()
        {
            return Err(format!(
                "demo partnership {}: figures, meetings and reviews need the stage path to reach active",
                p.name
            ));
        }
        if let Some(a) = p.charter.as_ref().and_then(|c| c.amendment.as_ref()) {
            ctx.amend(&actor, a)
                .await
                .map_err(|e| format!("demo charter amendment of {}: {e}", p.name))?;
        }
        if p.charter.is_some() {
            let (_, record) = store
                .charter(&actor, created.id)
                .await
                .map_err(|e| format!("demo charter of {}: {e}", p.name))?;
            charters.total += 1;
            charters.in_force += usize::from(record.effective().is_some());
            charters.drafts += usize::from(record.draft().is_some());
        }
        for j in &p.journeys {
            let name = j.content.get("name").and_then(Value::as_str).unwrap_or("");
            let id = ctx
                .journey(j)
                .await
                .map_err(|e| format!("demo journey \"{name}\" of {}: {e}", p.name))?;
            let (_, journey, runs) = store
                .journey(&actor, id)
                .await
                .map_err(|e| format!("demo journey \"{name}\" of {}: {e}", p.name))?;
            journeys.total += 1;
            journeys.trial_runs += runs.len();
            journeys.gaps += gaps_of(&journey, &runs).len();
        }
    }
    // What the server's review scheduler would do at start: the charters' review intervals are
    // fixed in the data, so partnerships whose review is overdue today get it opened now (a
    // scheduled review, moving them to under_review) and the demo shows what serving shows.
    let scheduled = store
        .open_due_reviews(today)
        .await
        .map_err(|e| format!("demo reviews: {e}"))?;
    activity.reviews_open += scheduled.len();
    let market = load_market(store).await?;
    let discovery = load_discovery(store, &people, &ids).await?;
    let health = crate::demo_health::load(store, &people.admins, &hash, today).await?;
    Ok(market
        + &discovery
        + &health
        + &format!(
        "Demo loaded: {} organizations, {} partnerships, {} charters ({} in force, {} draft{} awaiting signatures), {} journey{} ({} trial run{}, {} open gap{}), {} ledger entries in {} partnerships ({} correction{}), {} meeting{} ({} action item{}), {} review{} ({} closed, {} open, {} of them opened as scheduled).\nSign in with any of these accounts; the password of each is {DEMO_PASSWORD}\n{}",
        data.organizations.len(),
        data.partnerships.len(),
        charters.total,
        charters.in_force,
        charters.drafts,
        plural(charters.drafts),
        journeys.total,
        plural(journeys.total),
        journeys.trial_runs,
        plural(journeys.trial_runs),
        journeys.gaps,
        plural(journeys.gaps),
        activity.entries,
        activity.ledgers,
        activity.corrections,
        plural(activity.corrections),
        activity.meetings,
        plural(activity.meetings),
        activity.actions,
        plural(activity.actions),
        activity.reviews_closed + activity.reviews_open,
        plural(activity.reviews_closed + activity.reviews_open),
        activity.reviews_closed,
        activity.reviews_open,
        scheduled.len(),
        accounts.join("\n")
    ))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[derive(Default)]
struct JourneyCount {
    total: usize,
    trial_runs: usize,
    gaps: usize,
}

#[derive(Default)]
struct CharterCount {
    total: usize,
    in_force: usize,
    drafts: usize,
}

#[derive(Default)]
struct ActivityCount {
    /// Ledger entries, corrections included.
    entries: usize,
    /// Partnerships with a ledger.
    ledgers: usize,
    corrections: usize,
    meetings: usize,
    actions: usize,
    reviews_closed: usize,
    reviews_open: usize,
}

/// The demo's people: each organization's admin, and every account by e-mail.
#[derive(Default)]
struct People {
    admins: Vec<(OrgId, UserId)>,
    by_email: Vec<(String, UserId)>,
}

/// One partnership's charter being loaded.
struct Ctx<'a> {
    store: &'a Store,
    people: &'a People,
    /// The parties, by organization name.
    parties: &'a [(String, OrgId)],
    id: PartnershipId,
}

/// The charter fields whose value is a party.
const PARTY_FIELDS: &[&str] = &["party", "owner", "from", "to"];

impl Ctx<'_> {
    fn party(&self, name: &str) -> Result<OrgId, String> {
        self.parties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .ok_or_else(|| format!("{name} is not a party to this partnership"))
    }

    /// Turns demo content into a charter: party names become ids, alliance managers get a user.
    fn resolve(&self, mut content: Value) -> Result<Charter, String> {
        self.resolve_names(&mut content, "")?;
        if let Some(managers) = content
            .pointer_mut("/governance/alliance_managers")
            .and_then(Value::as_array_mut)
        {
            for (i, m) in managers.iter_mut().enumerate() {
                let field = format!("governance.alliance_managers[{i}]");
                let Some(m) = m.as_object_mut() else {
                    return Err(format!("{field}: expected an object"));
                };
                if m.contains_key("user_id") && !m.contains_key("email") {
                    continue;
                }
                let org = m.get("party").and_then(Value::as_i64).map(OrgId);
                let user = match m.remove("email") {
                    Some(Value::String(email)) => self
                        .people
                        .by_email
                        .iter()
                        .find(|(e, _)| *e == email)
                        .map(|(_, u)| *u)
                        .ok_or_else(|| format!("{field}.email: {email} is not a demo account"))?,
                    Some(_) => return Err(format!("{field}.email: expected an e-mail address")),
                    None => match org.and_then(|o| self.admin(o)) {
                        Some(u) => u,
                        None => return Err(format!("{field}.party: expected a party")),
                    },
                };
                m.entry("user_id").or_insert(Value::from(user.0));
            }
        }
        serde_json::from_value(content).map_err(|e| format!("the content is not a charter: {e}"))
    }

    fn resolve_names(&self, v: &mut Value, path: &str) -> Result<(), String> {
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    let here = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    match child {
                        Value::String(name) if PARTY_FIELDS.contains(&k.as_str()) => {
                            let id = self.party(name).map_err(|e| format!("{here}: {e}"))?;
                            *child = Value::from(id.0);
                        }
                        _ => self.resolve_names(child, &here)?,
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.resolve_names(item, &format!("{path}[{i}]"))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn admin(&self, org: OrgId) -> Option<UserId> {
        self.people
            .admins
            .iter()
            .find(|(o, _)| *o == org)
            .map(|(_, u)| *u)
    }

    /// A person acting for the named party: its first alliance manager in the charter, else its
    /// demo admin.
    async fn person(&self, name: &str, charter: &Charter) -> Result<Actor, String> {
        let org = self.party(name)?;
        let user = charter
            .governance
            .alliance_managers
            .iter()
            .find(|m| m.party == org)
            .map(|m| m.user_id)
            .or_else(|| self.admin(org))
            .ok_or_else(|| format!("{name} has no demo account"))?;
        self.act_as(user, org, name).await
    }

    /// The named party's demo admin, acting for it.
    async fn member(&self, name: &str) -> Result<Actor, String> {
        let org = self.party(name)?;
        let user = self
            .admin(org)
            .ok_or_else(|| format!("{name} has no demo account"))?;
        self.act_as(user, org, name).await
    }

    async fn act_as(&self, user: UserId, org: OrgId, name: &str) -> Result<Actor, String> {
        let acting = self
            .store
            .acting(user, org)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("user {user} cannot act for {name}"))?;
        Ok(Actor::person("demo", &acting, None))
    }

    /// Drafts a version, then has the named parties acknowledge the stakes and sign it, each
    /// against the exact text they read.
    async fn version(
        &self,
        drafted_by: &str,
        content: &Charter,
        acknowledged: &[String],
        signed: &[String],
    ) -> Result<CharterVersion, String> {
        let author = self.person(drafted_by, content).await?;
        let mut version = self
            .store
            .save_charter_draft(&author, self.id, content)
            .await
            .map_err(|e| e.to_string())?;
        let read = SignInput {
            version: version.number,
            content_sha256: Some(version.content_sha256.clone()),
        };
        for name in acknowledged {
            let who = self.person(name, &version.content).await?;
            version = self
                .store
                .acknowledge_stakes(&who, self.id, &read)
                .await
                .map_err(|e| format!("{name} acknowledging the stakes: {e}"))?;
        }
        for name in signed {
            let who = self.person(name, &version.content).await?;
            version = self
                .store
                .sign_charter(&who, self.id, &read)
                .await
                .map_err(|e| format!("{name} signing: {e}"))?;
        }
        Ok(version)
    }

    /// Maps a journey, records its trial runs, then applies the changes made after them, each
    /// step by one of the parties' people. Returns the journey's id.
    async fn journey(&self, j: &DemoJourney) -> Result<i64, String> {
        let mut content = Value::Object(j.content.clone());
        self.resolve_names(&mut content, "")?;
        let input: JourneyInput = serde_json::from_value(content)
            .map_err(|e| format!("the content is not a journey: {e}"))?;
        let author = self.member(&j.created_by).await?;
        let id = self
            .store
            .create_journey(&author, self.id, &input)
            .await
            .map_err(|e| e.to_string())?
            .id;
        for r in &j.trial_runs {
            let who = self.member(&r.recorded_by).await?;
            self.store
                .record_trial_run(&who, id, &r.run)
                .await
                .map_err(|e| format!("trial run of {}: {e}", r.run.run_on))?;
        }
        for change in &j.changes {
            let who = self.member(&change.by).await?;
            for (i, s) in change.revised_stages.iter().enumerate() {
                let field = format!("revised_stages[{i}]");
                let mut s = Value::Object(s.clone());
                self.resolve_names(&mut s, &field)?;
                let stage: journey::Stage =
                    serde_json::from_value(s).map_err(|e| format!("{field}: not a stage: {e}"))?;
                let stage_id = stage
                    .id
                    .ok_or_else(|| format!("{field}.id: name the stage this replaces"))?;
                self.store
                    .edit_stages(&who, id, StageEdit::Replace(stage_id, stage))
                    .await
                    .map_err(|e| format!("{field}: {e}"))?;
            }
            for a in &change.addressed {
                let (_, _, runs) = self
                    .store
                    .journey(&who, id)
                    .await
                    .map_err(|e| e.to_string())?;
                let feedback = runs
                    .iter()
                    .flat_map(|r| r.feedback.iter())
                    .find(|f| {
                        f.stage == a.stage
                            && f.participant == a.participant
                            && f.addressed_at.is_none()
                    })
                    .ok_or_else(|| {
                        format!(
                            "no open feedback from {} on stage {}",
                            a.participant, a.stage
                        )
                    })?;
                self.store
                    .address_feedback(&who, id, feedback.id, &a.note)
                    .await
                    .map_err(|e| {
                        format!(
                            "addressing the feedback from {} on stage {}: {e}",
                            a.participant, a.stage
                        )
                    })?;
            }
        }
        Ok(id)
    }

    /// A new version: the effective one with some sections replaced.
    async fn amend(&self, operator: &Actor, a: &DemoAmendment) -> Result<CharterVersion, String> {
        let (_, record) = self
            .store
            .charter(operator, self.id)
            .await
            .map_err(|e| e.to_string())?;
        let base = record
            .effective()
            .ok_or("an amendment needs an effective version to amend")?;
        let Value::Object(mut content) =
            serde_json::to_value(&base.content).map_err(|e| e.to_string())?
        else {
            return Err("a charter is a JSON object".into());
        };
        for (section, value) in &a.changes {
            if !content.contains_key(section) {
                return Err(format!("{section} is not a charter section"));
            }
            content.insert(section.clone(), value.clone());
        }
        let content = self.resolve(Value::Object(content))?;
        self.version(&a.drafted_by, &content, &a.acknowledged, &a.signed)
            .await
    }
}

/// What a partnership's people did once it went active, and the reviews after.
impl Ctx<'_> {
    fn party_name(&self, org: OrgId) -> Result<&str, String> {
        self.parties
            .iter()
            .find(|(_, id)| *id == org)
            .map(|(n, _)| n.as_str())
            .ok_or_else(|| format!("organization {org} is not a party to this partnership"))
    }

    async fn effective(&self) -> Result<concord_storage::EffectiveCharter, String> {
        self.store
            .effective_charter(self.id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the partnership has no effective charter".to_string())
    }

    /// Metric values, commitment reports and meetings, in that order.
    async fn activity(
        &self,
        p: &DemoPartnership,
        today: NaiveDate,
        count: &mut ActivityCount,
    ) -> Result<(), String> {
        if let Some(l) = &p.ledger {
            let amendment = p.charter.as_ref().and_then(|c| c.amendment.as_ref());
            self.ledger(&p.name, l, amendment, today, count)
                .await
                .map_err(|e| format!("ledger: {e}"))?;
        }
        for r in &p.commitment_reports {
            let who = self.member(&r.by).await?;
            let update = CommitmentUpdate {
                status: r.status,
                note: r.note.clone(),
            };
            self.store
                .report_commitment(&who, self.id, r.commitment, &update, today)
                .await
                .map_err(|e| format!("commitment {}: {e}", r.commitment))?;
        }
        if let Some(m) = &p.meetings {
            self.meetings(m, today, count)
                .await
                .map_err(|e| format!("meetings: {e}"))?;
        }
        Ok(())
    }

    /// Generates every metric's values, imports them as one CSV per owning party (as its demo
    /// admin), then applies the corrections.
    async fn ledger(
        &self,
        name: &str,
        l: &DemoLedger,
        amendment: Option<&DemoAmendment>,
        today: NaiveDate,
        count: &mut ActivityCount,
    ) -> Result<(), String> {
        let charter = self.effective().await?;
        let start = charter.path_start();
        let metrics = &charter.content.metrics;
        let known = |id: u32| {
            if metrics.iter().any(|m| m.id == Some(id)) {
                Ok(())
            } else {
                Err(format!("metric {id} is not in the effective charter"))
            }
        };
        for id in l.pace.keys() {
            known(*id)?;
        }
        for id in l.drift.iter().map(|d| d.metric).chain(
            l.corrections
                .iter()
                .map(|c| c.metric)
                .chain(l.notes.iter().map(|n| n.metric)),
        ) {
            known(id)?;
        }
        // One CSV per owning party, in the order of the charter's metrics.
        let mut files: Vec<(OrgId, String)> = Vec::new();
        let mut corrections = Vec::new();
        for m in metrics {
            let id = m.id.unwrap_or(0);
            let plan = planned(m, amendment, self.parties.len());
            let periods = periods_before(m.cadence, today);
            let pace = l
                .pace
                .get(&id)
                .copied()
                .unwrap_or_else(|| 1.05 + 0.03 * noise(name, id, 0));
            let mut values: Vec<f64> = periods
                .iter()
                .enumerate()
                .map(|(i, start_of_period)| {
                    let end = concord_domain::ledger::period_end(m.cadence, *start_of_period)
                        .unwrap_or(*start_of_period);
                    let expected = expected_progress(start, plan.target_date, end);
                    (expected * pace).min(1.02) + 0.03 * noise(name, id, i as u64 + 1)
                })
                .collect();
            if let Some(d) = l.drift.as_ref().filter(|d| d.metric == id) {
                let n = values.len();
                if d.periods >= n {
                    return Err(format!(
                        "metric {id} drifts over {} periods but has {n}",
                        d.periods
                    ));
                }
                let from = values[n - d.periods - 1];
                for k in 0..d.periods {
                    values[n - d.periods + k] = from - d.per_period * (k + 1) as f64
                        + 0.01 * noise(name, id, 1000 + k as u64);
                }
            }
            let values: Vec<f64> = values.into_iter().map(|p| value_of(&plan, p)).collect();
            let mut rows: Vec<(f64, String)> = values.iter().map(|v| (*v, String::new())).collect();
            for n in l.notes.iter().filter(|n| n.metric == id) {
                let i = back(rows.len(), n.periods_ago)?;
                rows[i].1 = n.note.clone();
            }
            if let Some(d) = l.drift.as_ref().filter(|d| d.metric == id) {
                if let Some(last) = rows.last_mut() {
                    last.1 = d.note.clone();
                }
            }
            for c in l.corrections.iter().filter(|c| c.metric == id) {
                let i = back(rows.len(), c.periods_ago)?;
                rows[i].0 = round_for(&plan, values[i] + c.first_reported_off_by);
                corrections.push((m.owner, id, periods[i], values[i], c));
            }
            let source = l
                .sources
                .get(self.party_name(m.owner)?)
                .cloned()
                .unwrap_or_default();
            let at = match files.iter().position(|(o, _)| *o == m.owner) {
                Some(at) => at,
                None => {
                    files.push((m.owner, "metric,period,value,note,source\n".to_string()));
                    files.len() - 1
                }
            };
            let file = &mut files[at].1;
            for (period, (value, note)) in periods.iter().zip(&rows) {
                file.push_str(&format!(
                    "{id},{period},{},{},{}\n",
                    canonical(&plan, *value),
                    csv_cell(note),
                    csv_cell(&source)
                ));
            }
        }
        for (owner, csv) in &files {
            let who = self.member(self.party_name(*owner)?).await?;
            let summary = self
                .store
                .import_values(&who, self.id, csv.as_bytes(), today)
                .await
                .map_err(|e| match e {
                    ImportError::Rows(rows) => rows
                        .iter()
                        .map(|r| r.to_string())
                        .collect::<Vec<_>>()
                        .join("; "),
                    ImportError::Store(e) => e.to_string(),
                })?;
            count.entries += summary.imported;
        }
        for (owner, metric, period, value, c) in corrections {
            let who = self.member(self.party_name(owner)?).await?;
            let entries = self
                .store
                .ledger_entries(&who, self.id, Some(metric))
                .await
                .map_err(|e| e.to_string())?;
            let first = entries
                .iter()
                .find(|e| e.period_start == period)
                .ok_or_else(|| format!("metric {metric} has no value for {period} to correct"))?;
            self.store
                .correct_entry(
                    &who,
                    self.id,
                    first.seq,
                    &CorrectionInput {
                        value,
                        reason: c.reason.clone(),
                        note: c.note.clone(),
                        source: first.source.clone(),
                    },
                )
                .await
                .map_err(|e| format!("correcting entry {}: {e}", first.seq))?;
            count.entries += 1;
            count.corrections += 1;
        }
        count.ledgers += usize::from(!files.is_empty());
        Ok(())
    }

    /// The steering meetings on their schedule, then the other meetings; action items marked
    /// done by their owners right after the meeting that agreed them.
    async fn meetings(
        &self,
        m: &DemoMeetings,
        today: NaiveDate,
        count: &mut ActivityCount,
    ) -> Result<(), String> {
        let charter = self.effective().await?;
        let two_years_back = today
            .checked_sub_months(Months::new(24))
            .ok_or("the date is out of range")?;
        let dates = steering_dates(
            charter.path_start().max(two_years_back),
            today,
            m.every_weeks,
        );
        if m.notes.is_empty() {
            return Err("give the routine meetings' notes".into());
        }
        for h in &m.held {
            if h.ago >= dates.len() {
                return Err(format!(
                    "meeting {} back: only {} steering meetings were held",
                    h.ago,
                    dates.len()
                ));
            }
        }
        let attendees: Vec<Attendee> = charter
            .content
            .governance
            .steering_group
            .iter()
            .map(|s| Attendee {
                organization_id: s.party,
                name: s.name.clone(),
                user_id: None,
            })
            .collect();
        let who = self.member(&m.recorded_by).await?;
        for (i, day) in dates.iter().enumerate() {
            let ago = dates.len() - 1 - i;
            let (notes, decisions, actions) = match m.held.iter().find(|h| h.ago == ago) {
                Some(h) => (h.notes.clone(), h.decisions.clone(), h.actions.as_slice()),
                None => (m.notes[i % m.notes.len()].clone(), Vec::new(), &[][..]),
            };
            let input = MeetingInput {
                held_on: *day,
                kind: MeetingKind::Steering,
                attendees: attendees.clone(),
                notes,
                decisions,
                actions: self.action_inputs(actions, *day)?,
            };
            self.meeting(&who, &input, actions, today, count)
                .await
                .map_err(|e| format!("steering meeting of {day}: {e}"))?;
        }
        for o in &m.others {
            let day = today - Days::new(o.days_ago);
            let attendees = o
                .attendees
                .iter()
                .map(|a| {
                    Ok(Attendee {
                        organization_id: self.party(&a.party)?,
                        name: a.name.clone(),
                        user_id: None,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            let input = MeetingInput {
                held_on: day,
                kind: o.kind,
                attendees,
                notes: o.notes.clone(),
                decisions: o.decisions.clone(),
                actions: self.action_inputs(&o.actions, day)?,
            };
            self.meeting(&who, &input, &o.actions, today, count)
                .await
                .map_err(|e| format!("{} meeting of {day}: {e}", o.kind))?;
        }
        Ok(())
    }

    fn action_inputs(
        &self,
        actions: &[DemoAction],
        day: NaiveDate,
    ) -> Result<Vec<ActionInput>, String> {
        actions
            .iter()
            .map(|a| {
                Ok(ActionInput {
                    what: a.what.clone(),
                    owner: self.party(&a.owner)?,
                    owner_name: a.owner_name.clone(),
                    due_on: day + Days::new(a.due_days),
                })
            })
            .collect()
    }

    async fn meeting(
        &self,
        who: &Actor,
        input: &MeetingInput,
        actions: &[DemoAction],
        today: NaiveDate,
        count: &mut ActivityCount,
    ) -> Result<(), String> {
        let meeting = self
            .store
            .record_meeting(who, self.id, input, today)
            .await
            .map_err(|e| e.to_string())?;
        count.meetings += 1;
        count.actions += meeting.actions.len();
        for a in actions {
            let Some(note) = &a.done else { continue };
            let item = meeting
                .actions
                .iter()
                .find(|i| i.what == a.what)
                .ok_or_else(|| format!("action \"{}\" was not recorded", a.what))?;
            let owner = self.member(&a.owner).await?;
            let update = ActionUpdate {
                status: ActionStatus::Done,
                note: note.clone(),
            };
            self.store
                .update_action(&owner, self.id, item.id, &update, today)
                .await
                .map_err(|e| format!("closing \"{}\": {e}", a.what))?;
        }
        Ok(())
    }

    /// The stage path after going active: a move to `under_review` holds the next review, whose
    /// signed decision makes the next move; other moves are plain transitions.
    async fn rest_of_path(
        &self,
        operator: &Actor,
        rest: &[Stage],
        reviews: &[DemoReview],
        today: NaiveDate,
        count: &mut ActivityCount,
    ) -> Result<(), String> {
        let mut reviews = reviews.iter();
        let mut previous = Stage::Active;
        for stage in rest {
            if previous == Stage::UnderReview {
                let now = self
                    .store
                    .get_partnership(operator, self.id)
                    .await
                    .map_err(|e| e.to_string())?
                    .stage;
                if now != *stage {
                    return Err(format!(
                        "the review left the partnership {now}, but the stage path goes on to {stage}"
                    ));
                }
            } else if *stage == Stage::UnderReview {
                let r = reviews
                    .next()
                    .ok_or("each move to under_review needs a review in `reviews`")?;
                self.review(r, today, count)
                    .await
                    .map_err(|e| format!("review \"{}\": {e}", r.reason))?;
            } else {
                self.store
                    .transition_partnership(
                        operator,
                        self.id,
                        *stage,
                        "Recorded with the demo data",
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            }
            previous = *stage;
        }
        if reviews.next().is_some() {
            return Err("more reviews than moves to under_review in the stage path".into());
        }
        Ok(())
    }

    /// Opens a review (which moves the partnership to `under_review`), then records its decision
    /// and has the parties sign it.
    async fn review(
        &self,
        r: &DemoReview,
        today: NaiveDate,
        count: &mut ActivityCount,
    ) -> Result<(), String> {
        let charter = self.effective().await?.content;
        let opener = self.person(&r.opened_by, &charter).await?;
        let open = OpenReviewInput {
            reason: r.reason.clone(),
        };
        let review = self
            .store
            .open_review(&opener, self.id, &open, today)
            .await
            .map_err(|e| e.to_string())?;
        let Some(decision) = r.decision else {
            if r.decided_by.is_some() || !r.rationale.is_empty() || !r.signed.is_empty() {
                return Err(
                    "a review without a decision has no rationale, decider or signatures".into(),
                );
            }
            count.reviews_open += 1;
            return Ok(());
        };
        let decider = r
            .decided_by
            .as_deref()
            .ok_or("name the party that records the decision in decided_by")?;
        let decider = self.person(decider, &charter).await?;
        let input = DecisionInput {
            decision,
            rationale: r.rationale.clone(),
        };
        let mut review = self
            .store
            .decide_review(&decider, self.id, review.number, &input, today)
            .await
            .map_err(|e| format!("deciding: {e}"))?;
        for name in &r.signed {
            let who = self.person(name, &charter).await?;
            review = self
                .store
                .sign_review(&who, self.id, review.number, today)
                .await
                .map_err(|e| format!("{name} signing: {e}"))?;
        }
        if review.status == ReviewStatus::Closed {
            count.reviews_closed += 1;
        } else {
            count.reviews_open += 1;
        }
        Ok(())
    }
}

/// The metric as it will stand once the demo's amendment is signed by every party, so values
/// generated now follow the targets the parties end up with.
fn planned(m: &Metric, amendment: Option<&DemoAmendment>, parties: usize) -> Metric {
    let mut plan = m.clone();
    let Some(changed) = amendment
        .filter(|a| a.signed.len() == parties)
        .and_then(|a| a.changes.get("metrics"))
        .and_then(Value::as_array)
        .and_then(|ms| {
            ms.iter()
                .find(|x| x.get("id").and_then(Value::as_u64) == m.id.map(u64::from))
        })
    else {
        return plan;
    };
    if let Some(b) = changed.get("baseline").and_then(Value::as_f64) {
        plan.baseline = b;
    }
    if let Some(t) = changed.get("target").and_then(Value::as_f64) {
        plan.target = t;
    }
    if let Some(d) = changed
        .get("target_date")
        .and_then(Value::as_str)
        .and_then(|d| d.parse().ok())
    {
        plan.target_date = d;
    }
    plan
}

/// The first days of the complete periods of the last two years before `today`'s month: 24
/// months, 8 quarters or 2 years, oldest first.
fn periods_before(cadence: ReportingCadence, today: NaiveDate) -> Vec<NaiveDate> {
    let current = period_containing(cadence, today);
    let (step, n) = match cadence {
        ReportingCadence::Monthly => (1, 24),
        ReportingCadence::Quarterly => (3, 8),
        ReportingCadence::Annual => (12, 2),
    };
    (1..=n)
        .rev()
        .filter_map(|k| current.checked_sub_months(Months::new(step * k)))
        .collect()
}

/// Index of the period `ago` periods back (1 = the latest) among `n`.
fn back(n: usize, ago: usize) -> Result<usize, String> {
    if ago == 0 || ago > n {
        return Err(format!("periods_ago must be from 1 to {n}"));
    }
    Ok(n - ago)
}

/// Steering meetings from `from` until the day before `today`, on Tuesdays: every `every_weeks`
/// weeks from the first Tuesday, or on the second Tuesday of each month.
fn steering_dates(from: NaiveDate, today: NaiveDate, every_weeks: Option<u32>) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    match every_weeks {
        Some(w) => {
            let ahead = (7 + Weekday::Tue.num_days_from_monday()
                - from.weekday().num_days_from_monday())
                % 7;
            let mut day = from + Days::new(u64::from(ahead));
            while day < today {
                out.push(day);
                day = day + Days::new(7 * u64::from(w.max(1)));
            }
        }
        None => {
            let mut month = NaiveDate::from_ymd_opt(from.year(), from.month(), 1);
            while let Some(m) = month {
                let Some(day) =
                    NaiveDate::from_weekday_of_month_opt(m.year(), m.month(), Weekday::Tue, 2)
                else {
                    break;
                };
                if day >= today {
                    break;
                }
                if day >= from {
                    out.push(day);
                }
                month = m.checked_add_months(Months::new(1));
            }
        }
    }
    out
}

/// A deterministic noise in [-1, 1] for a partnership, a metric and a step: FNV-1a over them,
/// then the splitmix64 finalizer.
fn noise(partnership: &str, metric: u32, step: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = partnership
        .bytes()
        .chain(metric.to_le_bytes())
        .chain(step.to_le_bytes());
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// The value at `progress` from the metric's baseline (0) to its target (1), kept where the unit
/// allows (no negative counts, no percentage above 100) and rounded as the unit is reported.
fn value_of(m: &Metric, progress: f64) -> f64 {
    let mut v = m.baseline + (m.target - m.baseline) * progress;
    if m.baseline >= 0.0 && m.target >= 0.0 {
        v = v.max(0.0);
    }
    if m.unit.contains('%') {
        v = v.min(100.0);
    }
    round_for(m, v)
}

/// Decimals a unit is reported with: whole dollars and whole counts, one decimal otherwise.
fn decimals(m: &Metric) -> usize {
    let unit = m.unit.to_lowercase();
    let whole = unit.starts_with("usd")
        || ["deaths", "kits", "workstreams"]
            .iter()
            .any(|w| unit.contains(w));
    if whole {
        0
    } else {
        1
    }
}

fn round_for(m: &Metric, v: f64) -> f64 {
    let scale = 10f64.powi(decimals(m) as i32);
    let r = (v * scale).round() / scale;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// The value as written in the CSV, with the unit's decimals.
fn canonical(m: &Metric, v: f64) -> String {
    format!("{v:.*}", decimals(m))
}

/// A CSV cell, quoted when it needs to be.
fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// "Quinnehtuk Valley Health" → "quinnehtuk-valley-health".
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Where the shipped market reference data is: `$CONCORD_MARKET_DATA`, `./data/market`, or the
/// source tree's `data/market`.
pub fn market_data_dir() -> Option<std::path::PathBuf> {
    let candidates = [
        std::env::var_os("CONCORD_MARKET_DATA").map(std::path::PathBuf::from),
        Some(std::path::PathBuf::from("data/market")),
        Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/market")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| d.join("nucc_taxonomy_251.csv").is_file())
}

/// Imports the shipped public reference data (ZIP centroids, NUCC taxonomy, the NPPES samples of
/// Connecticut, Massachusetts and Rhode Island, CMS hospitals, post-acute lists), so a market scan
/// works around the demo organizations. Returns a line for the summary.
async fn load_market(store: &Store) -> Result<String, String> {
    let Some(dir) = market_data_dir() else {
        return Ok("Market data not found (set CONCORD_MARKET_DATA to the data/market folder, or run `concord market import`).\n".to_string());
    };
    let started = std::time::Instant::now();
    let reports = concord_storage::market_import::import_shipped_samples(store, &dir)
        .await
        .map_err(|e| format!("demo market data from {}: {e}", dir.display()))?;
    let candidates: u64 = reports.iter().map(|r| r.candidates).sum();
    let rejected: u64 = reports.iter().map(|r| r.rows_rejected).sum();
    Ok(format!(
        "Market data: {candidates} candidates (NPPES organizations and practices, hospitals, post-acute facilities) from {}, {rejected} rows without a ZIP centroid or otherwise rejected, in {:.1} s.\n",
        dir.display(),
        started.elapsed().as_secs_f64()
    ))
}

/// A little discovery work over the shipped public data, so the scorecards, competitors and
/// ecosystem-map pages show what they are for: Elm City Family Medicine Collaborative scans for
/// dental care within 25 miles and starts private fit scorecards for the two best-ranked
/// candidates (judging the first), and Quinnehtuk Valley Health marks a competitor. Skipped when
/// the market data was not found.
async fn load_discovery(
    store: &Store,
    people: &People,
    ids: &[(String, OrgId)],
) -> Result<String, String> {
    use concord_domain::market::scan::ScanParams;
    use concord_domain::market::scorecard::{
        CompetitorInput, JudgementInput, JudgementsInput, NewScorecardInput,
    };

    if market_data_dir().is_none() {
        return Ok(String::new());
    }
    let org = |name: &str| {
        ids.iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .ok_or_else(|| format!("the demo has no organization {name}"))
    };
    let act = |org_id: OrgId, name: &'static str| async move {
        let user = people
            .admins
            .iter()
            .find(|(o, _)| *o == org_id)
            .map(|(_, u)| *u)
            .ok_or_else(|| format!("{name} has no demo account"))?;
        let acting = store
            .acting(user, org_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the demo admin cannot act for {name}"))?;
        Ok::<Actor, String>(Actor::person("demo", &acting, None))
    };

    let elm_city = org("Elm City Family Medicine Collaborative")?;
    let elm = act(elm_city, "Elm City Family Medicine Collaborative").await?;
    let scan = store
        .market_scan(&ScanParams {
            org: Some(elm_city.0.to_string()),
            capability: Some("dental".to_string()),
            radius_miles: Some("25".to_string()),
            ..ScanParams::default()
        })
        .await
        .map_err(|e| format!("demo market scan: {e}"))?;
    let mut scorecards = 0;
    for (i, found) in scan.results.iter().take(2).enumerate() {
        let card = store
            .create_scorecard(
                &elm,
                &NewScorecardInput {
                    source: Some(found.candidate.source.clone()),
                    reference: Some(found.candidate.reference.clone()),
                    ..NewScorecardInput::default()
                },
            )
            .await
            .map_err(|e| format!("demo scorecard for {}: {e}", found.candidate.name))?;
        if i == 0 {
            let mut criteria = std::collections::BTreeMap::new();
            criteria.insert(
                "strategic_alignment".to_string(),
                JudgementInput {
                    judgement: Some(4),
                    evidence: "Both want every patient with diabetes to see a dentist once a year."
                        .to_string(),
                },
            );
            store
                .update_judgements(&elm, card.id, &JudgementsInput { criteria })
                .await
                .map_err(|e| format!("demo judgement: {e}"))?;
        }
        scorecards += 1;
    }

    let quinnehtuk = org("Quinnehtuk Valley Health")?;
    let valley = act(quinnehtuk, "Quinnehtuk Valley Health").await?;
    store
        .add_competitor(
            &valley,
            &CompetitorInput {
                organization_id: org("Ashgrove Community Hospital")?.0,
                note: "Competes for the same commercially insured patients in the valley."
                    .to_string(),
            },
        )
        .await
        .map_err(|e| format!("demo competitor: {e}"))?;
    Ok(format!(
        "Discovery: {} dental candidates within 25 miles of Elm City Family Medicine Collaborative, {scorecards} fit scorecards started; 1 competitor marked by Quinnehtuk Valley Health.\n",
        scan.results.len()
    ))
}
