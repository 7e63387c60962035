//! The charter: what the parties agree on before they go live. One document per version; a draft
//! becomes effective when every party has signed it. Validation here is the whole rule set that
//! does not need the database (whether an alliance manager is a member of their party is checked
//! by storage with [`Charter::alliance_manager_refs`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::assign_ids;
pub use crate::ids::MAX_ITEM_ID as MAX_ID;
use crate::text::clean;
use crate::{OrgId, UserId, ValidationErrors};

string_enum! {
    /// What a success metric measures. Everything but `financial` counts as non-financial.
    pub enum MetricCategory {
        Financial = "financial" => "Financial",
        ClinicalQuality = "clinical_quality" => "Clinical quality",
        PatientExperience = "patient_experience" => "Patient experience",
        Access = "access" => "Access",
        CommunityBenefit = "community_benefit" => "Community benefit",
        Operational = "operational" => "Operational",
        Workforce = "workforce" => "Workforce",
    }
}

string_enum! {
    /// Which way a metric should move.
    pub enum Direction {
        Higher = "higher" => "Higher is better",
        Lower = "lower" => "Lower is better",
    }
}

string_enum! {
    /// How often the owning party reports a metric's value.
    pub enum ReportingCadence {
        Monthly = "monthly" => "Monthly",
        Quarterly = "quarterly" => "Quarterly",
        Annual = "annual" => "Annual",
    }
}

string_enum! {
    /// Where a commitment stands.
    pub enum CommitmentStatus {
        Open = "open" => "Open",
        Done = "done" => "Done",
        Late = "late" => "Late",
        Dropped = "dropped" => "Dropped",
    }
}

string_enum! {
    /// A line of the stakes ledger is either something a party gains or something it risks.
    pub enum StakeKind {
        Benefit = "benefit" => "Benefit",
        Risk = "risk" => "Risk",
    }
}

string_enum! {
    /// How much a stake weighs.
    pub enum Magnitude {
        Low = "low" => "Low",
        Medium = "medium" => "Medium",
        High = "high" => "High",
    }
}

string_enum! {
    /// The dimension a coopetition area is drawn along.
    pub enum AreaKind {
        ServiceLine = "service_line" => "Service line",
        Geography = "geography" => "Geography",
        Population = "population" => "Population",
        Function = "function" => "Function",
    }
}

string_enum! {
    /// Whether the parties cooperate or keep competing in an area.
    pub enum Stance {
        Cooperate = "cooperate" => "Cooperate",
        Compete = "compete" => "Compete",
    }
}

string_enum! {
    /// How often the steering group meets.
    pub enum MeetingCadence {
        Weekly = "weekly" => "Weekly",
        Fortnightly = "fortnightly" => "Every two weeks",
        Monthly = "monthly" => "Monthly",
        Quarterly = "quarterly" => "Quarterly",
        Semiannual = "semiannual" => "Twice a year",
    }
}

impl MeetingCadence {
    /// The expected number of days between meetings.
    pub fn days(self) -> u32 {
        match self {
            Self::Weekly => 7,
            Self::Fortnightly => 14,
            Self::Monthly => 30,
            Self::Quarterly => 91,
            Self::Semiannual => 182,
        }
    }
}

string_enum! {
    /// Where an innovation-agenda idea ("expansion joint") stands.
    pub enum IdeaStatus {
        Proposed = "proposed" => "Proposed",
        Exploring = "exploring" => "Exploring",
        Piloting = "piloting" => "Piloting",
        Adopted = "adopted" => "Adopted",
        Parked = "parked" => "Parked",
    }
}

string_enum! {
    /// What passes from one party to another.
    pub enum ValueFlowKind {
        ServiceFees = "service_fees" => "Service fees",
        SharedSavings = "shared_savings" => "Shared savings",
        ReferralVolume = "referral_volume" => "Referral volume",
        PerReferralFee = "per_referral_fee" => "Per-referral fee",
        Capital = "capital" => "Capital",
        Data = "data" => "Data",
        Staff = "staff" => "Staff",
    }
}

impl ValueFlowKind {
    /// Referral volume and per-referral fees: a deal made only of these is a finder's fee.
    pub fn is_referral(self) -> bool {
        matches!(self, Self::ReferralVolume | Self::PerReferralFee)
    }
}

string_enum! {
    /// Where a charter version is in its life.
    pub enum VersionStatus {
        Draft = "draft" => "Draft",
        Effective = "effective" => "Effective",
        Superseded = "superseded" => "Superseded",
        Withdrawn = "withdrawn" => "Withdrawn",
    }
}

/// A shared goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    /// Stable across versions; leave out for a new goal and one is assigned.
    #[serde(default)]
    pub id: Option<u32>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Whether the goal benefits the community beyond the parties.
    #[serde(default)]
    pub community_benefit: bool,
}

/// A goal one party could not reach alone, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AloneGoal {
    pub party: OrgId,
    pub goal: String,
    /// Why the party could not reach it alone.
    pub why: String,
}

/// A success metric, defined before the parties go live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    #[serde(default)]
    pub id: Option<u32>,
    pub name: String,
    pub category: MetricCategory,
    /// "%", "days", "patients", "USD" …
    pub unit: String,
    pub direction: Direction,
    pub baseline: f64,
    pub target: f64,
    pub target_date: NaiveDate,
    pub cadence: ReportingCadence,
    /// The party that owns (and reports) the data.
    pub owner: OrgId,
}

/// What one party undertakes to do, by when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    #[serde(default)]
    pub id: Option<u32>,
    pub party: OrgId,
    pub what: String,
    pub due_on: NaiveDate,
    #[serde(default = "open")]
    pub status: CommitmentStatus,
}

fn open() -> CommitmentStatus {
    CommitmentStatus::Open
}

/// A line of the stakes ledger: what a party gains or risks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stake {
    pub party: OrgId,
    pub kind: StakeKind,
    pub description: String,
    pub magnitude: Magnitude,
}

/// A tradeoff a party accepts openly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tradeoff {
    pub party: OrgId,
    pub description: String,
}

/// An area where the parties cooperate or keep competing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Area {
    pub kind: AreaKind,
    pub name: String,
    pub stance: Stance,
}

/// The coopetition scope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Coopetition {
    #[serde(default)]
    pub areas: Vec<Area>,
    /// The parties state explicitly that they compete nowhere.
    #[serde(default)]
    pub no_competing_areas: bool,
}

/// A party's alliance manager: a member of that party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllianceManager {
    pub party: OrgId,
    pub user_id: UserId,
}

/// A member of the steering group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SteeringMember {
    pub party: OrgId,
    pub name: String,
    #[serde(default)]
    pub title: String,
}

/// Who tends the relationship, and how often.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Governance {
    #[serde(default)]
    pub alliance_managers: Vec<AllianceManager>,
    #[serde(default)]
    pub steering_group: Vec<SteeringMember>,
    #[serde(default)]
    pub meeting_cadence: Option<MeetingCadence>,
    /// Months between scheduled reviews (1–36).
    #[serde(default)]
    pub review_interval_months: Option<u32>,
}

/// An idea the parties will explore later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Idea {
    #[serde(default)]
    pub id: Option<u32>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "proposed")]
    pub status: IdeaStatus,
}

fn proposed() -> IdeaStatus {
    IdeaStatus::Proposed
}

/// Value passing from one party to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueFlow {
    pub from: OrgId,
    pub to: OrgId,
    pub kind: ValueFlowKind,
    #[serde(default)]
    pub description: String,
}

/// The content of one charter version, as a client sends it and as it is stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Charter {
    /// What the partnership is for, in a paragraph.
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub starts_on: Option<NaiveDate>,
    #[serde(default)]
    pub ends_on: Option<NaiveDate>,
    #[serde(default)]
    pub goals: Vec<Goal>,
    #[serde(default)]
    pub alone_goals: Vec<AloneGoal>,
    #[serde(default)]
    pub metrics: Vec<Metric>,
    #[serde(default)]
    pub commitments: Vec<Commitment>,
    #[serde(default)]
    pub stakes: Vec<Stake>,
    #[serde(default)]
    pub tradeoffs: Vec<Tradeoff>,
    #[serde(default)]
    pub coopetition: Coopetition,
    #[serde(default)]
    pub governance: Governance,
    #[serde(default)]
    pub innovation_agenda: Vec<Idea>,
    #[serde(default)]
    pub exit_criteria: Vec<String>,
    #[serde(default)]
    pub value_flows: Vec<ValueFlow>,
}

/// Upper bounds that keep one charter a readable document (and a bounded request).
pub const MAX_ITEMS: usize = 300;

/// The sections of a charter, in the order the page shows them; the names are the JSON keys.
pub const SECTIONS: &[(&str, &str)] = &[
    ("summary", "Summary and term"),
    ("goals", "Shared goals"),
    ("alone_goals", "Goals no party could reach alone"),
    ("metrics", "Success metrics"),
    ("commitments", "Commitments"),
    ("stakes", "Stakes ledger"),
    ("tradeoffs", "Tradeoffs accepted"),
    ("coopetition", "Coopetition scope"),
    ("governance", "Governance"),
    ("innovation_agenda", "Innovation agenda"),
    ("exit_criteria", "Exit criteria"),
    ("value_flows", "Value flows"),
];

/// The human title of a section key.
pub fn section_title(key: &str) -> &'static str {
    SECTIONS
        .iter()
        .find(|(k, _)| *k == key || (matches!(key, "starts_on" | "ends_on") && *k == "summary"))
        .map(|(_, t)| *t)
        .unwrap_or("Charter")
}

fn check_party(e: &mut ValidationErrors, field: &str, org: OrgId, parties: &[OrgId]) {
    if !parties.contains(&org) {
        e.add(
            field,
            "not_a_party",
            format!("organization {org} is not a party to this partnership"),
        );
    }
}

fn check_len<T>(e: &mut ValidationErrors, field: &str, items: &[T]) {
    if items.len() > MAX_ITEMS {
        e.add(
            field,
            "too_many",
            format!("at most {MAX_ITEMS} items (got {})", items.len()),
        );
    }
}

fn date_not_before(
    e: &mut ValidationErrors,
    field: &str,
    date: NaiveDate,
    starts_on: Option<NaiveDate>,
) {
    if let Some(s) = starts_on {
        if date < s {
            e.add(
                field,
                "date_out_of_order",
                format!("{date} is before the charter starts ({s})"),
            );
        }
    }
}

impl Charter {
    /// Checks every field against the parties of the partnership and returns the cleaned charter
    /// with an id on every goal, metric, commitment and idea. `prior` is the version the draft
    /// starts from: new items get ids above any it used, so an id is never reused for a different
    /// thing.
    pub fn validate(
        &self,
        parties: &[OrgId],
        prior: Option<&Charter>,
    ) -> Result<Charter, ValidationErrors> {
        self.validate_after(parties, prior.as_slice())
    }

    /// [`Charter::validate`] against every earlier version: new items get ids above any id ever
    /// used, so a removed metric's id is never given to a different metric.
    pub fn validate_after(
        &self,
        parties: &[OrgId],
        priors: &[&Charter],
    ) -> Result<Charter, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let mut c = self.clone();
        c.summary = clean(&mut e, "summary", &self.summary, 0, 4000, true);
        if let (Some(s), Some(end)) = (c.starts_on, c.ends_on) {
            if end <= s {
                e.add(
                    "ends_on",
                    "date_out_of_order",
                    format!("the charter must end after it starts ({s}); got {end}"),
                );
            }
        }
        let floor =
            |f: fn(&Charter) -> Option<u32>| priors.iter().filter_map(|p| f(p)).max().unwrap_or(0);

        check_len(&mut e, "goals", &c.goals);
        for (i, g) in c.goals.iter_mut().enumerate() {
            g.title = clean(
                &mut e,
                &format!("goals[{i}].title"),
                &g.title,
                1,
                200,
                false,
            );
            g.description = clean(
                &mut e,
                &format!("goals[{i}].description"),
                &g.description,
                0,
                2000,
                true,
            );
        }
        assign_ids(
            &mut e,
            "goals",
            &mut c.goals,
            floor(|p| p.goals.iter().filter_map(|g| g.id).max()),
            |g| &mut g.id,
        );

        check_len(&mut e, "alone_goals", &c.alone_goals);
        for (i, g) in c.alone_goals.iter_mut().enumerate() {
            let f = format!("alone_goals[{i}]");
            check_party(&mut e, &format!("{f}.party"), g.party, parties);
            g.goal = clean(&mut e, &format!("{f}.goal"), &g.goal, 1, 500, true);
            g.why = clean(&mut e, &format!("{f}.why"), &g.why, 1, 1000, true);
        }

        check_len(&mut e, "metrics", &c.metrics);
        for (i, m) in c.metrics.iter_mut().enumerate() {
            let f = format!("metrics[{i}]");
            m.name = clean(&mut e, &format!("{f}.name"), &m.name, 1, 200, false);
            m.unit = clean(&mut e, &format!("{f}.unit"), &m.unit, 1, 40, false);
            check_party(&mut e, &format!("{f}.owner"), m.owner, parties);
            if !m.baseline.is_finite() {
                e.add(
                    format!("{f}.baseline"),
                    "invalid",
                    "must be a finite number",
                );
            }
            if !m.target.is_finite() {
                e.add(format!("{f}.target"), "invalid", "must be a finite number");
            } else if m.baseline.is_finite() {
                let wrong_side = match m.direction {
                    Direction::Higher => m.target <= m.baseline,
                    Direction::Lower => m.target >= m.baseline,
                };
                if wrong_side {
                    let (word, cmp) = match m.direction {
                        Direction::Higher => ("higher", "above"),
                        Direction::Lower => ("lower", "below"),
                    };
                    e.add(
                        format!("{f}.target"),
                        "target_wrong_side",
                        format!(
                            "{word} is better, so the target must be {cmp} the baseline ({}); got {}",
                            m.baseline, m.target
                        ),
                    );
                }
            }
            date_not_before(
                &mut e,
                &format!("{f}.target_date"),
                m.target_date,
                c.starts_on,
            );
        }
        assign_ids(
            &mut e,
            "metrics",
            &mut c.metrics,
            floor(|p| p.metrics.iter().filter_map(|m| m.id).max()),
            |m| &mut m.id,
        );
        for (i, m) in c.metrics.iter().enumerate() {
            if c.metrics[..i]
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&m.name))
            {
                e.add(
                    format!("metrics[{i}].name"),
                    "duplicate",
                    format!("another metric is already called \"{}\"", m.name),
                );
            }
        }

        check_len(&mut e, "commitments", &c.commitments);
        for (i, k) in c.commitments.iter_mut().enumerate() {
            let f = format!("commitments[{i}]");
            check_party(&mut e, &format!("{f}.party"), k.party, parties);
            k.what = clean(&mut e, &format!("{f}.what"), &k.what, 1, 500, true);
            date_not_before(&mut e, &format!("{f}.due_on"), k.due_on, c.starts_on);
        }
        assign_ids(
            &mut e,
            "commitments",
            &mut c.commitments,
            floor(|p| p.commitments.iter().filter_map(|k| k.id).max()),
            |k| &mut k.id,
        );

        check_len(&mut e, "stakes", &c.stakes);
        for (i, s) in c.stakes.iter_mut().enumerate() {
            let f = format!("stakes[{i}]");
            check_party(&mut e, &format!("{f}.party"), s.party, parties);
            s.description = clean(
                &mut e,
                &format!("{f}.description"),
                &s.description,
                1,
                1000,
                true,
            );
        }
        check_len(&mut e, "tradeoffs", &c.tradeoffs);
        for (i, t) in c.tradeoffs.iter_mut().enumerate() {
            let f = format!("tradeoffs[{i}]");
            check_party(&mut e, &format!("{f}.party"), t.party, parties);
            t.description = clean(
                &mut e,
                &format!("{f}.description"),
                &t.description,
                1,
                1000,
                true,
            );
        }

        check_len(&mut e, "coopetition.areas", &c.coopetition.areas);
        for (i, a) in c.coopetition.areas.iter_mut().enumerate() {
            a.name = clean(
                &mut e,
                &format!("coopetition.areas[{i}].name"),
                &a.name,
                1,
                200,
                false,
            );
        }
        for (i, a) in c.coopetition.areas.iter().enumerate() {
            if c.coopetition.areas[..i]
                .iter()
                .any(|o| o.kind == a.kind && o.name.eq_ignore_ascii_case(&a.name))
            {
                e.add(
                    format!("coopetition.areas[{i}].name"),
                    "duplicate",
                    format!(
                        "{} \"{}\" is listed twice",
                        a.kind.label().to_lowercase(),
                        a.name
                    ),
                );
            }
        }
        if c.coopetition.no_competing_areas {
            if let Some(i) = c
                .coopetition
                .areas
                .iter()
                .position(|a| a.stance == Stance::Compete)
            {
                e.add(
                    "coopetition.no_competing_areas",
                    "contradiction",
                    format!(
                        "\"no competing areas\" is set but area {} (\"{}\") is marked compete",
                        i + 1,
                        c.coopetition.areas[i].name
                    ),
                );
            }
        }

        let g = &mut c.governance;
        for (i, m) in g.alliance_managers.iter().enumerate() {
            let f = format!("governance.alliance_managers[{i}]");
            check_party(&mut e, &format!("{f}.party"), m.party, parties);
            if g.alliance_managers[..i]
                .iter()
                .any(|o| o.party == m.party && o.user_id == m.user_id)
            {
                e.add(
                    format!("{f}.user_id"),
                    "duplicate",
                    "this person is already an alliance manager for this party",
                );
            }
        }
        if g.alliance_managers.len() > 40 {
            e.add("governance.alliance_managers", "too_many", "at most 40");
        }
        check_len(&mut e, "governance.steering_group", &g.steering_group);
        for (i, s) in g.steering_group.iter_mut().enumerate() {
            let f = format!("governance.steering_group[{i}]");
            check_party(&mut e, &format!("{f}.party"), s.party, parties);
            s.name = clean(&mut e, &format!("{f}.name"), &s.name, 1, 200, false);
            s.title = clean(&mut e, &format!("{f}.title"), &s.title, 0, 200, false);
        }
        if let Some(m) = g.review_interval_months {
            if !(1..=36).contains(&m) {
                e.add(
                    "governance.review_interval_months",
                    "out_of_range",
                    format!("must be between 1 and 36 months (got {m})"),
                );
            }
        }

        check_len(&mut e, "innovation_agenda", &c.innovation_agenda);
        for (i, idea) in c.innovation_agenda.iter_mut().enumerate() {
            let f = format!("innovation_agenda[{i}]");
            idea.title = clean(&mut e, &format!("{f}.title"), &idea.title, 1, 200, false);
            idea.description = clean(
                &mut e,
                &format!("{f}.description"),
                &idea.description,
                0,
                2000,
                true,
            );
        }
        assign_ids(
            &mut e,
            "innovation_agenda",
            &mut c.innovation_agenda,
            floor(|p| p.innovation_agenda.iter().filter_map(|i| i.id).max()),
            |i| &mut i.id,
        );

        check_len(&mut e, "exit_criteria", &c.exit_criteria);
        let mut exits = Vec::with_capacity(c.exit_criteria.len());
        for (i, x) in c.exit_criteria.iter().enumerate() {
            exits.push(clean(
                &mut e,
                &format!("exit_criteria[{i}]"),
                x,
                1,
                1000,
                true,
            ));
        }
        c.exit_criteria = exits;

        check_len(&mut e, "value_flows", &c.value_flows);
        for (i, v) in c.value_flows.iter_mut().enumerate() {
            let f = format!("value_flows[{i}]");
            check_party(&mut e, &format!("{f}.from"), v.from, parties);
            check_party(&mut e, &format!("{f}.to"), v.to, parties);
            if v.from == v.to {
                e.add(
                    format!("{f}.to"),
                    "same_party",
                    "value flows between two different parties",
                );
            }
            v.description = clean(
                &mut e,
                &format!("{f}.description"),
                &v.description,
                0,
                1000,
                true,
            );
        }
        e.into_result(c)
    }

    /// The (field, party, user) of every alliance manager, for storage to check membership.
    pub fn alliance_manager_refs(&self) -> Vec<(String, OrgId, UserId)> {
        self.governance
            .alliance_managers
            .iter()
            .enumerate()
            .map(|(i, m)| {
                (
                    format!("governance.alliance_managers[{i}].user_id"),
                    m.party,
                    m.user_id,
                )
            })
            .collect()
    }

    /// Whether two charters record the same stakes (acknowledgements carry over only then).
    pub fn same_stakes(&self, other: &Charter) -> bool {
        self.stakes == other.stakes && self.tradeoffs == other.tradeoffs
    }

    /// The canonical JSON text of this content: the bytes a signature's hash covers.
    pub fn canonical_json(&self) -> String {
        // Struct fields serialize in declaration order, so this is deterministic.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A party's signature on a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Signature {
    pub organization_id: OrgId,
    pub organization_name: String,
    pub user_id: UserId,
    pub signed_by: String,
    pub signed_at: DateTime<Utc>,
}

/// A party's acknowledgement of the other parties' stakes in a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Acknowledgement {
    pub organization_id: OrgId,
    pub organization_name: String,
    pub user_id: UserId,
    pub acknowledged_by: String,
    pub acknowledged_at: DateTime<Utc>,
}

/// One party's sign-off state on a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SignOff {
    pub organization_id: OrgId,
    pub organization_name: String,
    pub signed: Option<Signature>,
    pub acknowledged_stakes: Option<Acknowledgement>,
}

/// A stored charter version.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CharterVersion {
    pub number: u32,
    pub status: VersionStatus,
    pub content: Charter,
    /// SHA-256 (hex) of the canonical JSON of `content`: what each signature covers.
    pub content_sha256: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub effective_at: Option<DateTime<Utc>>,
    pub sign_off: Vec<SignOff>,
}

impl CharterVersion {
    pub fn signed_by_anyone(&self) -> bool {
        self.sign_off.iter().any(|s| s.signed.is_some())
    }

    pub fn acknowledged_orgs(&self) -> Vec<OrgId> {
        self.sign_off
            .iter()
            .filter(|s| s.acknowledged_stakes.is_some())
            .map(|s| s.organization_id)
            .collect()
    }
}

/// A version in a list: no content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VersionSummary {
    pub number: u32,
    pub status: VersionStatus,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub effective_at: Option<DateTime<Utc>>,
    pub signatures: u32,
    pub parties: u32,
}

/// What a party sends to sign or acknowledge: the version it read and, optionally, the content
/// hash it read, so nobody signs text that changed since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInput {
    pub version: u32,
    #[serde(default)]
    pub content_sha256: Option<String>,
}

/// A partnership's whole charter history, with what the verdict needs besides the text.
#[derive(Debug, Clone, PartialEq)]
pub struct CharterRecord {
    /// The parties, in the partnership's order.
    pub parties: Vec<(OrgId, String)>,
    /// Every version, newest first.
    pub versions: Vec<CharterVersion>,
    /// When the partnership first went active, if it has.
    pub went_active_at: Option<DateTime<Utc>>,
}

/// The verdict on one version (or on no charter), as the API serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VersionVerdict {
    /// The version judged: the effective one, else the open draft; absent when there is no charter.
    pub version: Option<u32>,
    pub status: Option<VersionStatus>,
    pub verdict: crate::verdict::VerdictKind,
    pub summary: String,
    pub tests: Vec<crate::verdict::TestResult>,
}

impl CharterRecord {
    pub fn effective(&self) -> Option<&CharterVersion> {
        self.versions
            .iter()
            .find(|v| v.status == VersionStatus::Effective)
    }

    pub fn draft(&self) -> Option<&CharterVersion> {
        self.versions
            .iter()
            .find(|v| v.status == VersionStatus::Draft)
    }

    pub fn version(&self, number: u32) -> Option<&CharterVersion> {
        self.versions.iter().find(|v| v.number == number)
    }

    /// The version a reader means by "the charter": the effective one, else the open draft.
    pub fn current(&self) -> Option<&CharterVersion> {
        self.effective().or_else(|| self.draft())
    }

    /// For each metric id, when a version containing it first became effective.
    pub fn metric_agreed_at(&self) -> Vec<(u32, DateTime<Utc>)> {
        let mut out: Vec<(u32, DateTime<Utc>)> = Vec::new();
        for v in &self.versions {
            let Some(at) = v.effective_at else { continue };
            for id in v.content.metrics.iter().filter_map(|m| m.id) {
                match out.iter_mut().find(|(i, _)| *i == id) {
                    Some(slot) if slot.1 > at => slot.1 = at,
                    Some(_) => {}
                    None => out.push((id, at)),
                }
            }
        }
        out
    }

    /// The verdict on `version`, or on the current version when `None`.
    pub fn verdict(&self, version: Option<&CharterVersion>) -> VersionVerdict {
        let v = version.or_else(|| self.current());
        let parties: Vec<crate::verdict::PartyRef<'_>> = self
            .parties
            .iter()
            .map(|(id, name)| crate::verdict::PartyRef { id: *id, name })
            .collect();
        let acknowledged = v.map(|v| v.acknowledged_orgs()).unwrap_or_default();
        let agreed = self.metric_agreed_at();
        let out = crate::verdict::verdict(&crate::verdict::VerdictInput {
            charter: v.map(|v| &v.content),
            parties: &parties,
            acknowledged: &acknowledged,
            went_active_at: self.went_active_at,
            metric_agreed_at: &agreed,
        });
        VersionVerdict {
            version: v.map(|v| v.number),
            status: v.map(|v| v.status),
            verdict: out.verdict,
            summary: out.summary,
            tests: out.tests,
        }
    }
}
