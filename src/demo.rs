//! The demo: fictional organizations, partnerships, charters and journey maps (data/demo.json)
//! loaded through the same store methods as real input, so the demo can never hold what the
//! product would refuse. Charters are drafted, acknowledged and signed by the parties' own people,
//! before a partnership goes active, exactly as the product requires; journeys are mapped, tried
//! with patients and revised by the parties' people, in that order.

use serde::Deserialize;
use serde_json::{Map, Value};

use concord_domain::account::{Email, Role};
use concord_domain::charter::{Charter, CharterVersion, SignInput};
use concord_domain::journey::{self, gaps_of, JourneyInput, StageEdit, TrialRunInput};
use concord_domain::organization::OrganizationInput;
use concord_domain::partnership::{PartnershipInput, PartnershipType, PartyInput, Stage};
use concord_domain::{OrgId, PartnershipId, UserId};
use concord_storage::{Actor, Backend, Store};

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
        for stage in after {
            store
                .transition_partnership(&actor, created.id, *stage, "Recorded with the demo data")
                .await
                .map_err(|e| format!("demo partnership {}: {e}", p.name))?;
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
    Ok(format!(
        "Demo loaded: {} organizations, {} partnerships, {} charters ({} in force, {} draft{} awaiting signatures), {} journey{} ({} trial run{}, {} open gap{}).\nSign in with any of these accounts; the password of each is {DEMO_PASSWORD}\n{}",
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
