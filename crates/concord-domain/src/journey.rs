//! Consumer journey maps across partners: ordered stages with an owning party, touchpoints and
//! what the end user should know, feel and do; handoffs between stages; assumptions about the end
//! user; trial runs with feedback; and gap detection over all of it.
//!
//! A journey's *design* (stages, handoffs, assumptions) is one document with stable ids, like the
//! charter: handoffs and assumptions refer to stages by id, and validation checks every reference
//! against the same journey. Trial runs and their feedback are separate, append-only records.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::assign_ids;
pub use crate::ids::MAX_ITEM_ID as MAX_ID;
use crate::text::clean;
use crate::{OrgId, PartnershipId, ValidationErrors};

string_enum! {
    /// Whom the journey serves.
    pub enum EndUser {
        Patient = "patient" => "Patient",
        Member = "member" => "Member",
        Caregiver = "caregiver" => "Caregiver",
        Resident = "resident" => "Resident",
    }
}

string_enum! {
    /// How a touchpoint or a handoff happens.
    pub enum Channel {
        InPerson = "in_person" => "In person",
        Phone = "phone" => "Phone",
        Portal = "portal" => "Portal",
        Text = "text" => "Text message",
        Mail = "mail" => "Mail",
        HomeVisit = "home_visit" => "Home visit",
    }
}

string_enum! {
    /// What is known about an assumption.
    pub enum AssumptionStatus {
        Untested = "untested" => "Untested",
        Validated = "validated" => "Validated",
        Invalidated = "invalidated" => "Invalidated",
    }
}

string_enum! {
    /// How bad a trial-run finding is.
    pub enum Severity {
        Minor = "minor" => "Minor",
        Major = "major" => "Major",
        Blocking = "blocking" => "Blocking",
    }
}

string_enum! {
    /// The kinds of gap detection finds.
    pub enum GapKind {
        NoOwner = "no_owner" => "Nobody owns this stage",
        NoNextStep = "no_next_step" => "No next step",
        HandoffWithoutChannel = "handoff_without_channel" => "Handoff without a channel",
        HandoffWithoutInformation = "handoff_without_information" => "Handoff without information",
        Lull = "lull" => "Lull without support",
        MissingKnowFeelDo = "missing_know_feel_do" => "Know, feel or do missing",
        InvalidatedAssumption = "invalidated_assumption" => "Invalidated assumption still in the design",
        UnaddressedFeedback = "unaddressed_feedback" => "Severe trial feedback not addressed",
    }
}

/// Default days between touchpoints before a stage without support is a lull.
pub const DEFAULT_LULL_DAYS: u32 = 7;
/// Bounds that keep one journey a readable map (and a bounded request).
pub const MAX_STAGES: usize = 300;
pub const MAX_HANDOFFS: usize = 600;
pub const MAX_ASSUMPTIONS: usize = 500;

/// A moment where the end user meets a party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Touchpoint {
    pub channel: Channel,
    #[serde(default)]
    pub description: String,
    /// A support touchpoint (a check-in call, a reminder text) that keeps the end user company
    /// through a wait.
    #[serde(default)]
    pub support: bool,
}

/// One stage of the journey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = JourneyStage)]
pub struct Stage {
    /// Stable across edits; leave out for a new stage (or choose one, to refer to it from a
    /// handoff in the same request).
    #[serde(default)]
    pub id: Option<u32>,
    /// 1-based place in the journey. When any stage gives one, stages are ordered by it and two
    /// stages may not share a position; otherwise the list order is the journey order.
    #[serde(default)]
    pub position: Option<u32>,
    pub name: String,
    /// The party that owns the stage, if one does yet.
    #[serde(default)]
    pub owner: Option<OrgId>,
    #[serde(default)]
    pub touchpoints: Vec<Touchpoint>,
    /// What the end user should know at this stage.
    #[serde(default)]
    pub know: String,
    /// What the end user should feel.
    #[serde(default)]
    pub feel: String,
    /// What the end user should do.
    #[serde(default, rename = "do")]
    pub act: String,
    /// Expected days until the next stage.
    #[serde(default)]
    pub days_to_next: Option<u32>,
    #[serde(default)]
    pub next_step: String,
    /// When the stage's content last changed (kept by Concord; what a client sends is ignored
    /// except on import).
    #[serde(default)]
    pub revised_at: Option<DateTime<Utc>>,
}

/// Passing the end user (and information) from one stage to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    #[serde(default)]
    pub id: Option<u32>,
    pub from_stage: u32,
    pub to_stage: u32,
    #[serde(default)]
    pub channel: Option<Channel>,
    /// What information passes with the end user.
    #[serde(default)]
    pub information: String,
}

/// A statement about the end user the design relies on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assumption {
    #[serde(default)]
    pub id: Option<u32>,
    pub statement: String,
    #[serde(default = "untested")]
    pub status: AssumptionStatus,
    #[serde(default)]
    pub evidence: String,
    /// The stages (ids) that rely on it.
    #[serde(default)]
    pub stages: Vec<u32>,
    /// When the status last changed (kept by Concord).
    #[serde(default)]
    pub status_changed_at: Option<DateTime<Utc>>,
}

fn untested() -> AssumptionStatus {
    AssumptionStatus::Untested
}

/// The design of a journey: what the parties edit together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Design {
    #[serde(default)]
    pub stages: Vec<Stage>,
    #[serde(default)]
    pub handoffs: Vec<Handoff>,
    #[serde(default)]
    pub assumptions: Vec<Assumption>,
    /// The largest ids ever used (kept by Concord), so an id removed from the design is never
    /// given to something else — feedback recorded on a removed stage stays with that stage.
    #[serde(default)]
    pub used_ids: UsedIds,
}

/// The largest id ever used in each list of a design.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsedIds {
    #[serde(default)]
    pub stages: u32,
    #[serde(default)]
    pub handoffs: u32,
    #[serde(default)]
    pub assumptions: u32,
}

/// What a client sends to create a journey or replace it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyInput {
    pub name: String,
    pub end_user: EndUser,
    #[serde(default)]
    pub description: String,
    /// Days between touchpoints beyond which a stage without a support touchpoint is a lull
    /// (default 7).
    #[serde(default)]
    pub lull_threshold_days: Option<u32>,
    #[serde(default)]
    pub design: Design,
}

/// A stored journey.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Journey {
    pub id: i64,
    pub partnership_id: PartnershipId,
    pub name: String,
    pub end_user: EndUser,
    pub description: String,
    pub lull_threshold_days: u32,
    pub design: Design,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One participant's feedback on one stage, as a client sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackInput {
    /// The stage (id) of this journey the feedback is about.
    pub stage: u32,
    /// One of the run's pseudonymous participant ids.
    pub participant: String,
    pub what_happened: String,
    #[serde(default)]
    pub knew: String,
    #[serde(default)]
    pub felt: String,
    #[serde(default)]
    pub did: String,
    pub severity: Severity,
}

/// An assumption a trial run validated or invalidated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssumptionVerdict {
    pub assumption: u32,
    pub status: AssumptionStatus,
    #[serde(default)]
    pub evidence: String,
}

/// A trial run with real end users, as a client sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialRunInput {
    pub run_on: NaiveDate,
    /// Pseudonymous ids (letters, digits, `-` and `_`, up to 40): never names, e-mail addresses,
    /// phone numbers or record numbers.
    pub participants: Vec<String>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub feedback: Vec<FeedbackInput>,
    #[serde(default)]
    pub assumptions: Vec<AssumptionVerdict>,
}

/// Stored feedback.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Feedback {
    pub id: i64,
    pub trial_run_id: i64,
    pub stage: u32,
    pub participant: String,
    pub what_happened: String,
    pub knew: String,
    pub felt: String,
    pub did: String,
    pub severity: Severity,
    pub addressed_at: Option<DateTime<Utc>>,
    pub addressed_note: String,
}

/// A stored trial run with its feedback.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrialRun {
    pub id: i64,
    pub journey_id: i64,
    pub run_on: NaiveDate,
    pub participants: Vec<String>,
    pub notes: String,
    pub feedback: Vec<Feedback>,
    pub created_at: DateTime<Utc>,
}

/// One gap, with the stage (and handoff or assumption) it concerns and the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Gap {
    pub kind: GapKind,
    pub label: String,
    pub stage: Option<u32>,
    pub stage_name: String,
    pub handoff: Option<u32>,
    pub assumption: Option<u32>,
    pub evidence: String,
}

impl Design {
    /// The largest id ever used in each list (those in the design and those recorded in
    /// `used_ids`), so new items never reuse one.
    pub fn max_ids(&self) -> (u32, u32, u32) {
        let max = |ids: &mut dyn Iterator<Item = u32>, used: u32| {
            ids.max().unwrap_or(0).max(used.min(MAX_ID))
        };
        (
            max(
                &mut self.stages.iter().filter_map(|s| s.id),
                self.used_ids.stages,
            ),
            max(
                &mut self.handoffs.iter().filter_map(|h| h.id),
                self.used_ids.handoffs,
            ),
            max(
                &mut self.assumptions.iter().filter_map(|a| a.id),
                self.used_ids.assumptions,
            ),
        )
    }

    pub fn stage(&self, id: u32) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == Some(id))
    }

    /// Checks the design against the partnership's parties and returns it cleaned: stages in
    /// order with positions 1..n, an id on every item, every reference to a stage of this
    /// journey. `floor` are the largest ids used before (see [`Design::max_ids`]).
    pub fn validate(
        &self,
        parties: &[OrgId],
        floor: (u32, u32, u32),
    ) -> Result<Design, ValidationErrors> {
        // Never below what this design says it has used (an imported file carries it).
        let floor = (
            floor.0.max(self.used_ids.stages.min(MAX_ID)),
            floor.1.max(self.used_ids.handoffs.min(MAX_ID)),
            floor.2.max(self.used_ids.assumptions.min(MAX_ID)),
        );
        let mut e = ValidationErrors::new();
        let mut d = self.clone();
        if d.stages.len() > MAX_STAGES {
            e.add("stages", "too_many", format!("at most {MAX_STAGES} stages"));
        }
        if d.handoffs.len() > MAX_HANDOFFS {
            e.add(
                "handoffs",
                "too_many",
                format!("at most {MAX_HANDOFFS} handoffs"),
            );
        }
        if d.assumptions.len() > MAX_ASSUMPTIONS {
            e.add(
                "assumptions",
                "too_many",
                format!("at most {MAX_ASSUMPTIONS} assumptions"),
            );
        }
        // Order: by explicit position when any is given; collisions are refused.
        if d.stages.iter().any(|s| s.position.is_some()) {
            let mut used: HashMap<u32, usize> = HashMap::new();
            for (i, s) in d.stages.iter().enumerate() {
                match s.position {
                    None => e.add(
                        format!("stages[{i}].position"),
                        "required",
                        "give every stage a position, or none",
                    ),
                    Some(0) => e.add(
                        format!("stages[{i}].position"),
                        "invalid",
                        "positions start at 1",
                    ),
                    Some(p) => {
                        if let Some(j) = used.insert(p, i) {
                            e.add(
                                format!("stages[{i}].position"),
                                "position_taken",
                                format!(
                                    "position {p} is already taken by stage {} (\"{}\")",
                                    j + 1,
                                    d.stages[j].name.trim()
                                ),
                            );
                        }
                    }
                }
            }
        }
        for (i, s) in d.stages.iter_mut().enumerate() {
            let f = format!("stages[{i}]");
            s.name = clean(&mut e, &format!("{f}.name"), &s.name, 1, 200, false);
            if let Some(o) = s.owner {
                if !parties.contains(&o) {
                    e.add(
                        format!("{f}.owner"),
                        "not_a_party",
                        format!("organization {o} is not a party to this partnership"),
                    );
                }
            }
            if s.touchpoints.len() > 20 {
                e.add(
                    format!("{f}.touchpoints"),
                    "too_many",
                    "at most 20 touchpoints",
                );
            }
            for (j, t) in s.touchpoints.iter_mut().enumerate() {
                t.description = clean(
                    &mut e,
                    &format!("{f}.touchpoints[{j}].description"),
                    &t.description,
                    0,
                    500,
                    false,
                );
            }
            s.know = clean(&mut e, &format!("{f}.know"), &s.know, 0, 1000, true);
            s.feel = clean(&mut e, &format!("{f}.feel"), &s.feel, 0, 1000, true);
            s.act = clean(&mut e, &format!("{f}.do"), &s.act, 0, 1000, true);
            s.next_step = clean(
                &mut e,
                &format!("{f}.next_step"),
                &s.next_step,
                0,
                500,
                true,
            );
            if let Some(days) = s.days_to_next {
                if days > 3650 {
                    e.add(
                        format!("{f}.days_to_next"),
                        "out_of_range",
                        format!("at most 3650 days (got {days})"),
                    );
                }
            }
        }
        assign_ids(&mut e, "stages", &mut d.stages, floor.0, |s| &mut s.id);
        if !e.is_empty() {
            return Err(e);
        }
        if d.stages.iter().any(|s| s.position.is_some()) {
            d.stages.sort_by_key(|s| s.position);
        }
        for (i, s) in d.stages.iter_mut().enumerate() {
            s.position = Some(i as u32 + 1);
        }
        let ids: BTreeSet<u32> = d.stages.iter().filter_map(|s| s.id).collect();
        let stage_ref = |e: &mut ValidationErrors, field: String, id: u32| {
            if !ids.contains(&id) {
                e.add(
                    field,
                    "unknown_stage",
                    format!("stage {id} is not a stage of this journey"),
                );
            }
        };
        for (i, h) in d.handoffs.iter_mut().enumerate() {
            let f = format!("handoffs[{i}]");
            stage_ref(&mut e, format!("{f}.from_stage"), h.from_stage);
            stage_ref(&mut e, format!("{f}.to_stage"), h.to_stage);
            if h.from_stage == h.to_stage {
                e.add(
                    format!("{f}.to_stage"),
                    "same_stage",
                    "a handoff goes from one stage to another",
                );
            }
            h.information = clean(
                &mut e,
                &format!("{f}.information"),
                &h.information,
                0,
                1000,
                true,
            );
        }
        assign_ids(&mut e, "handoffs", &mut d.handoffs, floor.1, |h| &mut h.id);
        for (i, a) in d.assumptions.iter_mut().enumerate() {
            let f = format!("assumptions[{i}]");
            a.statement = clean(
                &mut e,
                &format!("{f}.statement"),
                &a.statement,
                1,
                500,
                true,
            );
            a.evidence = clean(&mut e, &format!("{f}.evidence"), &a.evidence, 0, 2000, true);
            for (j, s) in a.stages.iter().enumerate() {
                stage_ref(&mut e, format!("{f}.stages[{j}]"), *s);
            }
            a.stages.sort_unstable();
            a.stages.dedup();
        }
        assign_ids(&mut e, "assumptions", &mut d.assumptions, floor.2, |a| {
            &mut a.id
        });
        let now_used = d.max_ids();
        d.used_ids = UsedIds {
            stages: now_used.0.max(floor.0),
            handoffs: now_used.1.max(floor.1),
            assumptions: now_used.2.max(floor.2),
        };
        e.into_result(d)
    }

    /// Carries Concord's own timestamps over from the previous design: a stage's `revised_at`
    /// stays while its content is unchanged and becomes `now` when it changes (or is new); an
    /// assumption's `status_changed_at` likewise follows its status.
    pub fn stamp(&mut self, previous: &Design, now: DateTime<Utc>) {
        for s in &mut self.stages {
            let before = previous.stages.iter().find(|p| p.id == s.id);
            s.revised_at = match before {
                Some(p) if same_stage(p, s) => p.revised_at.or(Some(now)),
                _ => Some(now),
            };
        }
        for a in &mut self.assumptions {
            let before = previous.assumptions.iter().find(|p| p.id == a.id);
            a.status_changed_at = match before {
                Some(p) if p.status == a.status => p.status_changed_at,
                None if a.status == AssumptionStatus::Untested => None,
                _ => Some(now),
            };
        }
    }
}

/// Whether two versions of a stage say the same thing (position and timestamps aside).
fn same_stage(a: &Stage, b: &Stage) -> bool {
    a.name == b.name
        && a.owner == b.owner
        && a.touchpoints == b.touchpoints
        && a.know == b.know
        && a.feel == b.feel
        && a.act == b.act
        && a.days_to_next == b.days_to_next
        && a.next_step == b.next_step
}

impl JourneyInput {
    /// Checks the journey's own fields and its design.
    pub fn validate(
        &self,
        parties: &[OrgId],
        floor: (u32, u32, u32),
    ) -> Result<JourneyInput, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let name = clean(&mut e, "name", &self.name, 1, 200, false);
        let description = clean(&mut e, "description", &self.description, 0, 4000, true);
        if let Some(t) = self.lull_threshold_days {
            if !(1..=365).contains(&t) {
                e.add(
                    "lull_threshold_days",
                    "out_of_range",
                    format!("must be between 1 and 365 days (got {t})"),
                );
            }
        }
        let design = match self.design.validate(parties, floor) {
            Ok(d) => Some(d),
            Err(d) => {
                e.extend_prefixed("design", d);
                None
            }
        };
        let design = match (e.is_empty(), design) {
            (true, Some(d)) => d,
            _ => return Err(e),
        };
        Ok(JourneyInput {
            name,
            end_user: self.end_user,
            description,
            lull_threshold_days: Some(self.lull_threshold_days.unwrap_or(DEFAULT_LULL_DAYS)),
            design,
        })
    }
}

/// Whether a participant id looks pseudonymous: 1–40 letters, digits, `-` or `_`, with at most
/// 6 digits in all — so no phone, record or date-of-birth number fits, with or without
/// separators (`555-123-4567`, `MRN-123-4567` and `1990-01-15` are refused; `P-07` is fine).
pub fn is_pseudonymous(id: &str) -> bool {
    let ok_chars = !id.is_empty()
        && id.len() <= 40
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok_chars && id.chars().filter(|c| c.is_ascii_digit()).count() <= 6
}

impl TrialRunInput {
    /// Checks a trial run against the journey's design: every feedback item names a stage of
    /// this journey and one of the run's participants; every assumption verdict names an
    /// assumption of this journey.
    pub fn validate(&self, design: &Design) -> Result<TrialRunInput, ValidationErrors> {
        self.validate_against(design, false)
    }

    /// [`TrialRunInput::validate`]; with `history`, feedback may also name a stage the journey
    /// had and removed (an id up to `used_ids.stages`), as an exported journey's feedback can.
    pub fn validate_against(
        &self,
        design: &Design,
        history: bool,
    ) -> Result<TrialRunInput, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let mut r = self.clone();
        if r.participants.is_empty() {
            e.add(
                "participants",
                "required",
                "a trial run has at least one participant",
            );
        }
        if r.participants.len() > 500 {
            e.add("participants", "too_many", "at most 500 participants");
        }
        for (i, p) in r.participants.iter_mut().enumerate() {
            *p = p.trim().to_string();
            if !is_pseudonymous(p) {
                e.add(
                    format!("participants[{i}]"),
                    "not_pseudonymous",
                    "use a pseudonymous id (letters, digits, - and _; no names, e-mail addresses, phone or record numbers)",
                );
            }
        }
        let mut seen = BTreeSet::new();
        for (i, p) in r.participants.iter().enumerate() {
            if !seen.insert(p.clone()) {
                e.add(
                    format!("participants[{i}]"),
                    "duplicate",
                    format!("participant {p} is listed twice"),
                );
            }
        }
        r.notes = clean(&mut e, "notes", &r.notes, 0, 4000, true);
        if r.feedback.len() > 5000 {
            e.add("feedback", "too_many", "at most 5000 feedback items");
        }
        for (i, f) in r.feedback.iter_mut().enumerate() {
            let p = format!("feedback[{i}]");
            let removed_before = history && f.stage >= 1 && f.stage <= design.max_ids().0;
            if design.stage(f.stage).is_none() && !removed_before {
                e.add(
                    format!("{p}.stage"),
                    "unknown_stage",
                    format!("stage {} is not a stage of this journey", f.stage),
                );
            }
            f.participant = f.participant.trim().to_string();
            if !seen.contains(&f.participant) {
                e.add(
                    format!("{p}.participant"),
                    "unknown_participant",
                    format!("{} is not one of this run's participants", f.participant),
                );
            }
            f.what_happened = clean(
                &mut e,
                &format!("{p}.what_happened"),
                &f.what_happened,
                1,
                2000,
                true,
            );
            f.knew = clean(&mut e, &format!("{p}.knew"), &f.knew, 0, 1000, true);
            f.felt = clean(&mut e, &format!("{p}.felt"), &f.felt, 0, 1000, true);
            f.did = clean(&mut e, &format!("{p}.did"), &f.did, 0, 1000, true);
        }
        for (i, a) in r.assumptions.iter_mut().enumerate() {
            let p = format!("assumptions[{i}]");
            if !design
                .assumptions
                .iter()
                .any(|x| x.id == Some(a.assumption))
            {
                e.add(
                    format!("{p}.assumption"),
                    "unknown_assumption",
                    format!(
                        "assumption {} is not an assumption of this journey",
                        a.assumption
                    ),
                );
            }
            if a.status == AssumptionStatus::Untested {
                e.add(
                    format!("{p}.status"),
                    "invalid",
                    "a trial run validates or invalidates an assumption",
                );
            }
            a.evidence = clean(&mut e, &format!("{p}.evidence"), &a.evidence, 0, 2000, true);
        }
        e.into_result(r)
    }
}

/// What gap detection looks at besides the design: every feedback item with whether it has
/// been addressed.
#[derive(Debug, Clone, Copy)]
pub struct FeedbackRef<'a> {
    pub id: i64,
    pub stage: u32,
    pub severity: Severity,
    pub addressed: bool,
    pub what_happened: &'a str,
}

fn gap(kind: GapKind, s: &Stage, evidence: String) -> Gap {
    Gap {
        kind,
        label: kind.label().to_string(),
        stage: s.id,
        stage_name: s.name.clone(),
        handoff: None,
        assumption: None,
        evidence,
    }
}

/// Every gap in a journey, stage by stage in journey order. Pure.
pub fn detect_gaps(
    design: &Design,
    lull_threshold_days: u32,
    feedback: &[FeedbackRef<'_>],
) -> Vec<Gap> {
    let mut by_stage: HashMap<u32, Vec<Gap>> = HashMap::new();
    let index: HashMap<u32, &Stage> = design
        .stages
        .iter()
        .filter_map(|s| s.id.map(|id| (id, s)))
        .collect();
    let last = design.stages.len().saturating_sub(1);
    for (i, s) in design.stages.iter().enumerate() {
        let Some(id) = s.id else { continue };
        let out = by_stage.entry(id).or_default();
        if s.owner.is_none() {
            out.push(gap(
                GapKind::NoOwner,
                s,
                format!("\"{}\" has no owning party.", s.name),
            ));
        }
        if i != last && s.next_step.trim().is_empty() {
            out.push(gap(
                GapKind::NoNextStep,
                s,
                format!(
                    "\"{}\" does not say what happens next, and it is not the last stage.",
                    s.name
                ),
            ));
        }
        if let Some(days) = s.days_to_next {
            if days > lull_threshold_days && !s.touchpoints.iter().any(|t| t.support) {
                out.push(gap(
                    GapKind::Lull,
                    s,
                    format!(
                        "{days} days expected before the next stage, over the {lull_threshold_days}-day threshold, with no support touchpoint."
                    ),
                ));
            }
        }
        let missing: Vec<&str> = [("know", &s.know), ("feel", &s.feel), ("do", &s.act)]
            .iter()
            .filter(|(_, v)| v.trim().is_empty())
            .map(|(k, _)| *k)
            .collect();
        if !missing.is_empty() {
            out.push(gap(
                GapKind::MissingKnowFeelDo,
                s,
                format!(
                    "What the end user should {} is not written.",
                    missing.join(", ")
                ),
            ));
        }
    }
    for h in &design.handoffs {
        let (Some(from), Some(to)) = (index.get(&h.from_stage), index.get(&h.to_stage)) else {
            continue;
        };
        // Only a handoff known to stay within one party is exempt: while either end has no
        // owner the handoff may cross parties, so it must say how and what passes.
        let same_party = matches!((from.owner, to.owner), (Some(a), Some(b)) if a == b);
        if same_party {
            continue;
        }
        let out = by_stage.entry(h.from_stage).or_default();
        if h.channel.is_none() {
            let mut g = gap(
                GapKind::HandoffWithoutChannel,
                from,
                format!(
                    "The handoff from \"{}\" to \"{}\" crosses (or may cross) parties but has no channel.",
                    from.name, to.name
                ),
            );
            g.handoff = h.id;
            out.push(g);
        }
        if h.information.trim().is_empty() {
            let mut g = gap(
                GapKind::HandoffWithoutInformation,
                from,
                format!(
                    "The handoff from \"{}\" to \"{}\" crosses parties but says no information passes.",
                    from.name, to.name
                ),
            );
            g.handoff = h.id;
            out.push(g);
        }
    }
    for a in &design.assumptions {
        if a.status != AssumptionStatus::Invalidated {
            continue;
        }
        for sid in &a.stages {
            let Some(s) = index.get(sid) else { continue };
            let unchanged = match (s.revised_at, a.status_changed_at) {
                (Some(rev), Some(inv)) => rev <= inv,
                _ => true,
            };
            if unchanged {
                let mut g = gap(
                    GapKind::InvalidatedAssumption,
                    s,
                    format!(
                        "\"{}\" was invalidated{} and \"{}\" has not changed since.",
                        a.statement,
                        if a.evidence.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", a.evidence)
                        },
                        s.name
                    ),
                );
                g.assumption = a.id;
                by_stage.entry(*sid).or_default().push(g);
            }
        }
    }
    let mut severe: HashMap<u32, (usize, usize, &str)> = HashMap::new();
    for f in feedback {
        if f.addressed || f.severity == Severity::Minor || !index.contains_key(&f.stage) {
            continue;
        }
        let slot = severe.entry(f.stage).or_insert((0, 0, f.what_happened));
        match f.severity {
            Severity::Blocking => slot.0 += 1,
            _ => slot.1 += 1,
        }
    }
    for (sid, (blocking, major, example)) in severe {
        let s = index[&sid];
        let count = |n: usize, word: &str| match n {
            0 => None,
            1 => Some(format!("1 {word} finding")),
            n => Some(format!("{n} {word} findings")),
        };
        let counts: Vec<String> = [count(blocking, "blocking"), count(major, "major")]
            .into_iter()
            .flatten()
            .collect();
        by_stage.entry(sid).or_default().push(gap(
            GapKind::UnaddressedFeedback,
            s,
            format!(
                "{} from trial runs not addressed, e.g. \"{example}\".",
                counts.join(" and ")
            ),
        ));
    }
    let mut out = Vec::new();
    for s in &design.stages {
        if let Some(mut g) = s.id.and_then(|id| by_stage.remove(&id)) {
            g.sort_by_key(|g| g.kind);
            out.append(&mut g);
        }
    }
    out
}

/// The gaps of a stored journey with its trial runs.
pub fn gaps_of(journey: &Journey, runs: &[TrialRun]) -> Vec<Gap> {
    let feedback: Vec<FeedbackRef<'_>> = runs
        .iter()
        .flat_map(|r| r.feedback.iter())
        .map(|f| FeedbackRef {
            id: f.id,
            stage: f.stage,
            severity: f.severity,
            addressed: f.addressed_at.is_some(),
            what_happened: &f.what_happened,
        })
        .collect();
    detect_gaps(&journey.design, journey.lull_threshold_days, &feedback)
}

/// A journey as a file: everything needed to recreate it elsewhere (`POST …/journeys/import`).
/// Stages are referred to by their ids inside the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyExport {
    /// Always `concord.journey/1`.
    pub format: String,
    pub name: String,
    pub end_user: EndUser,
    #[serde(default)]
    pub description: String,
    pub lull_threshold_days: u32,
    pub design: Design,
    #[serde(default)]
    pub trial_runs: Vec<TrialRunExport>,
}

/// A trial run in an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialRunExport {
    pub run_on: NaiveDate,
    pub participants: Vec<String>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub feedback: Vec<FeedbackExport>,
}

/// Feedback in an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackExport {
    pub stage: u32,
    pub participant: String,
    pub what_happened: String,
    #[serde(default)]
    pub knew: String,
    #[serde(default)]
    pub felt: String,
    #[serde(default)]
    pub did: String,
    pub severity: Severity,
    #[serde(default)]
    pub addressed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub addressed_note: String,
}

pub const EXPORT_FORMAT: &str = "concord.journey/1";

/// The export of a stored journey.
pub fn export(journey: &Journey, runs: &[TrialRun]) -> JourneyExport {
    JourneyExport {
        format: EXPORT_FORMAT.to_string(),
        name: journey.name.clone(),
        end_user: journey.end_user,
        description: journey.description.clone(),
        lull_threshold_days: journey.lull_threshold_days,
        design: journey.design.clone(),
        trial_runs: runs
            .iter()
            .map(|r| TrialRunExport {
                run_on: r.run_on,
                participants: r.participants.clone(),
                notes: r.notes.clone(),
                feedback: r
                    .feedback
                    .iter()
                    .map(|f| FeedbackExport {
                        stage: f.stage,
                        participant: f.participant.clone(),
                        what_happened: f.what_happened.clone(),
                        knew: f.knew.clone(),
                        felt: f.felt.clone(),
                        did: f.did.clone(),
                        severity: f.severity,
                        addressed_at: f.addressed_at,
                        addressed_note: f.addressed_note.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

impl JourneyExport {
    /// Checks a file before import: the journey, its design (ids kept as written), and every
    /// trial run against that design — a reference to a stage the file does not contain is
    /// refused with its path.
    pub fn validate(&self, parties: &[OrgId]) -> Result<JourneyExport, ValidationErrors> {
        let mut e = ValidationErrors::new();
        if self.format != EXPORT_FORMAT {
            e.add(
                "format",
                "unsupported_format",
                format!("expected \"{EXPORT_FORMAT}\", got \"{}\"", self.format),
            );
        }
        let input = JourneyInput {
            name: self.name.clone(),
            end_user: self.end_user,
            description: self.description.clone(),
            lull_threshold_days: Some(self.lull_threshold_days),
            design: self.design.clone(),
        };
        let checked = match input.validate(parties, (0, 0, 0)) {
            Ok(i) => Some(i),
            Err(v) => {
                for err in v.into_errors() {
                    e.add(err.field, err.code, err.message);
                }
                None
            }
        };
        let design = checked
            .as_ref()
            .map(|i| i.design.clone())
            .unwrap_or_else(|| self.design.clone());
        let mut runs = Vec::with_capacity(self.trial_runs.len());
        for (i, r) in self.trial_runs.iter().enumerate() {
            let as_input = TrialRunInput {
                run_on: r.run_on,
                participants: r.participants.clone(),
                notes: r.notes.clone(),
                feedback: r
                    .feedback
                    .iter()
                    .map(|f| FeedbackInput {
                        stage: f.stage,
                        participant: f.participant.clone(),
                        what_happened: f.what_happened.clone(),
                        knew: f.knew.clone(),
                        felt: f.felt.clone(),
                        did: f.did.clone(),
                        severity: f.severity,
                    })
                    .collect(),
                assumptions: Vec::new(),
            };
            match as_input.validate_against(&design, true) {
                Ok(ok) => {
                    let mut run = r.clone();
                    run.participants = ok.participants;
                    run.notes = ok.notes;
                    for (f, okf) in run.feedback.iter_mut().zip(ok.feedback) {
                        f.participant = okf.participant;
                        f.what_happened = okf.what_happened;
                        f.knew = okf.knew;
                        f.felt = okf.felt;
                        f.did = okf.did;
                    }
                    runs.push(run);
                }
                Err(v) => e.extend_prefixed(&format!("trial_runs[{i}]"), v),
            }
        }
        let Some(checked) = checked else {
            return Err(e);
        };
        e.into_result(JourneyExport {
            format: EXPORT_FORMAT.to_string(),
            name: checked.name,
            end_user: checked.end_user,
            description: checked.description,
            lull_threshold_days: checked.lull_threshold_days.unwrap_or(DEFAULT_LULL_DAYS),
            design: checked.design,
            trial_runs: runs,
        })
    }
}

/// A journey in a list, with how many stages and gaps it has.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct JourneySummary {
    pub id: i64,
    pub partnership_id: PartnershipId,
    pub name: String,
    pub end_user: EndUser,
    pub stages: u32,
    pub gaps: u32,
    pub updated_at: DateTime<Utc>,
}

/// A stage operation from the page or the API (add, change, move, remove one stage).
#[derive(Debug, Clone, PartialEq)]
pub enum StageEdit {
    Add(Stage),
    Replace(u32, Stage),
    Move(u32, u32),
    Remove(u32),
}

impl Design {
    /// Applies one stage edit. Removing a stage removes its handoffs and its links from
    /// assumptions; moving renumbers the others. Unknown stage ids are refused by name.
    pub fn apply(&mut self, edit: StageEdit) -> Result<(), ValidationErrors> {
        let find = |d: &Design, id: u32| {
            d.stages
                .iter()
                .position(|s| s.id == Some(id))
                .ok_or_else(|| {
                    ValidationErrors::single(
                        "stage",
                        "unknown_stage",
                        format!("stage {id} is not a stage of this journey"),
                    )
                })
        };
        for s in &mut self.stages {
            s.position = None;
        }
        match edit {
            StageEdit::Add(mut s) => {
                let at = s.position.take();
                s.id = None;
                let len = self.stages.len();
                let i = at.map(|p| (p.max(1) as usize - 1).min(len)).unwrap_or(len);
                self.stages.insert(i, s);
            }
            StageEdit::Replace(id, mut s) => {
                let i = find(self, id)?;
                s.id = Some(id);
                s.position = None;
                s.revised_at = self.stages[i].revised_at;
                self.stages[i] = s;
            }
            StageEdit::Move(id, to) => {
                let i = find(self, id)?;
                if to == 0 || to as usize > self.stages.len() {
                    return Err(ValidationErrors::single(
                        "position",
                        "out_of_range",
                        format!("positions run from 1 to {}", self.stages.len()),
                    ));
                }
                let s = self.stages.remove(i);
                self.stages.insert(to as usize - 1, s);
            }
            StageEdit::Remove(id) => {
                let i = find(self, id)?;
                self.stages.remove(i);
                self.handoffs
                    .retain(|h| h.from_stage != id && h.to_stage != id);
                for a in &mut self.assumptions {
                    a.stages.retain(|s| *s != id);
                }
            }
        }
        Ok(())
    }
}
