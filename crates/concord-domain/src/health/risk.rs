//! The risk register: what could sink the partnership, how likely and how bad, who owns it and
//! what is being done. Every partnership starts with three classic risks ([`seeds`]); a risk is
//! shared with every party or private to the organization that wrote it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{severity, RiskCategory, RiskStatus, Visibility, HIGH_RISK};
use crate::text::clean;
use crate::{OrgId, PartnershipId, ValidationErrors};

/// Likelihood and impact are scored from 1 (rare, minor) to this (almost certain, severe).
pub const MAX_SCORE: u8 = 5;

const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 4000;
const MAX_NAME: usize = 200;

fn open() -> RiskStatus {
    RiskStatus::Open
}

fn shared() -> Visibility {
    Visibility::Shared
}

/// A risk as a client sends it, to add one or to replace one (`PUT` replaces every field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskInput {
    pub category: RiskCategory,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// 1 (rare) – 5 (almost certain).
    pub likelihood: u8,
    /// 1 (minor) – 5 (severe).
    pub impact: u8,
    /// The party that owns the risk; must be a party to the partnership.
    #[serde(default)]
    pub owner_org_id: Option<OrgId>,
    /// The person who owns it, when named.
    #[serde(default)]
    pub owner_name: String,
    /// What is being done about it.
    #[serde(default)]
    pub mitigation: String,
    /// `open` (the default), `mitigating` or `closed`.
    #[serde(default = "open")]
    pub status: RiskStatus,
    /// When the risk is next looked at again.
    #[serde(default)]
    pub review_on: Option<NaiveDate>,
    /// `shared` (the default: every party sees it) or `private` (only your organization does).
    #[serde(default = "shared")]
    pub visibility: Visibility,
}

fn check_score(e: &mut ValidationErrors, field: &str, v: u8) {
    if !(1..=MAX_SCORE).contains(&v) {
        e.add(
            field,
            "out_of_range",
            format!("must be between 1 and {MAX_SCORE} (got {v})"),
        );
    }
}

impl RiskInput {
    /// Checks the risk against the partnership's parties; answers it cleaned (text trimmed).
    pub fn validate(&self, parties: &[OrgId]) -> Result<RiskInput, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let title = clean(&mut e, "title", &self.title, 1, MAX_TITLE, false);
        let description = clean(&mut e, "description", &self.description, 0, MAX_TEXT, true);
        check_score(&mut e, "likelihood", self.likelihood);
        check_score(&mut e, "impact", self.impact);
        if let Some(owner) = self.owner_org_id {
            if !parties.contains(&owner) {
                e.add(
                    "owner_org_id",
                    "not_a_party",
                    format!("organization {owner} is not a party to this partnership"),
                );
            }
        }
        let owner_name = clean(&mut e, "owner_name", &self.owner_name, 0, MAX_NAME, false);
        let mitigation = clean(&mut e, "mitigation", &self.mitigation, 0, MAX_TEXT, true);
        e.into_result(RiskInput {
            category: self.category,
            title,
            description,
            likelihood: self.likelihood,
            impact: self.impact,
            owner_org_id: self.owner_org_id,
            owner_name,
            mitigation,
            status: self.status,
            review_on: self.review_on,
            visibility: self.visibility,
        })
    }

    /// Likelihood × impact.
    pub fn severity(&self) -> u8 {
        severity(self.likelihood, self.impact)
    }
}

/// Checks a replacement of `current` by `next`: a shared risk has been seen by every party, so
/// it cannot be made private (a private one may be shared).
pub fn check_change(current: &Risk, next: &RiskInput) -> Result<(), ValidationErrors> {
    if current.visibility == Visibility::Shared && next.visibility == Visibility::Private {
        return Err(ValidationErrors::single(
            "visibility",
            "cannot_hide_shared",
            "every party has seen this risk; a shared risk cannot be made private",
        ));
    }
    Ok(())
}

/// A risk in the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Risk {
    pub id: i64,
    pub partnership_id: PartnershipId,
    pub category: RiskCategory,
    pub title: String,
    pub description: String,
    pub likelihood: u8,
    pub impact: u8,
    /// Likelihood × impact, 1–25.
    pub severity: u8,
    /// Severity at or above 15.
    pub high: bool,
    pub owner_org_id: Option<OrgId>,
    pub owner_name: String,
    pub mitigation: String,
    pub status: RiskStatus,
    pub review_on: Option<NaiveDate>,
    pub visibility: Visibility,
    /// For a private risk, the organization that wrote it and alone sees it.
    pub private_org_id: Option<OrgId>,
    /// One of the three risks every partnership starts with.
    pub seeded: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Risk {
    /// Likelihood × impact, 1–25.
    pub fn severity(&self) -> u8 {
        severity(self.likelihood, self.impact)
    }

    /// Severity at or above [`HIGH_RISK`].
    pub fn is_high(&self) -> bool {
        self.severity() >= HIGH_RISK
    }

    /// Not closed: it still counts.
    pub fn is_open(&self) -> bool {
        self.status != RiskStatus::Closed
    }

    /// Still open (or being mitigated) and its review date has passed.
    pub fn review_overdue(&self, today: NaiveDate) -> bool {
        self.is_open() && self.review_on.is_some_and(|d| d < today)
    }

    /// High, still open, and nobody has written down a mitigation.
    pub fn high_without_mitigation(&self) -> bool {
        self.is_open() && self.is_high() && self.mitigation.trim().is_empty()
    }

    /// The input that would leave this risk as it is (a starting point for an edit form).
    pub fn to_input(&self) -> RiskInput {
        RiskInput {
            category: self.category,
            title: self.title.clone(),
            description: self.description.clone(),
            likelihood: self.likelihood,
            impact: self.impact,
            owner_org_id: self.owner_org_id,
            owner_name: self.owner_name.clone(),
            mitigation: self.mitigation.clone(),
            status: self.status,
            review_on: self.review_on,
            visibility: self.visibility,
        }
    }
}

/// The register's order: risks still open or being mitigated first, then closed ones; within
/// each, the most severe first, then the oldest.
pub fn sort_register(risks: &mut [Risk]) {
    risks.sort_by_key(|r| (!r.is_open(), std::cmp::Reverse(r.severity()), r.id));
}

/// The heat map: how many risks sit in each likelihood × impact cell.
/// `counts[l - 1][i - 1]` holds the risks of likelihood `l` and impact `i`.
pub fn heat_map<'a>(risks: impl IntoIterator<Item = &'a Risk>) -> [[usize; 5]; 5] {
    let mut counts = [[0usize; 5]; 5];
    for r in risks {
        if (1..=MAX_SCORE).contains(&r.likelihood) && (1..=MAX_SCORE).contains(&r.impact) {
            counts[usize::from(r.likelihood - 1)][usize::from(r.impact - 1)] += 1;
        }
    }
    counts
}

/// One of the risks every partnership starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskSeed {
    pub category: RiskCategory,
    pub title: &'static str,
    pub description: &'static str,
    pub likelihood: u8,
    pub impact: u8,
}

/// Likelihood and impact of a seeded risk: possible, and serious if it happens.
pub const SEED_LIKELIHOOD: u8 = 3;
pub const SEED_IMPACT: u8 = 4;

/// The three classic ways a partnership between healthcare organizations fails, seeded (shared,
/// open, unowned) on every new partnership so that the parties discuss them early. The texts are
/// repeated in the `0009_health.sql` migrations, which seed partnerships that existed before.
pub const SEEDS: [RiskSeed; 3] = [
    RiskSeed {
        category: RiskCategory::BusinessModel,
        title: "Not understanding each other's business model",
        description: "Each party may not know how the other earns its money, what its costs and constraints are, or what it must show its board, so a proposal that helps one side quietly hurts the other. Suggested mitigation: each party walks the other through its revenue, cost drivers and incentives, and the charter states what each side must get out of the partnership.",
        likelihood: SEED_LIKELIHOOD,
        impact: SEED_IMPACT,
    },
    RiskSeed {
        category: RiskCategory::PowerAsymmetry,
        title: "Unaddressed power asymmetry",
        description: "When one party is much larger, holds the patients, the data or the money, the smaller one may stop raising problems and the partnership drifts toward one side's interests. Suggested mitigation: name the imbalance openly, give each party decision rights and a veto on the matters that affect it, and review fairness in every health survey.",
        likelihood: SEED_LIKELIHOOD,
        impact: SEED_IMPACT,
    },
    RiskSeed {
        category: RiskCategory::ConsumerAssumptions,
        title: "Untested assumptions about the consumer",
        description: "The partnership rests on beliefs about what patients, members or referring clinicians want and will do, and these have not been checked with them. Suggested mitigation: list the assumptions in the journey design, test the riskiest with real patients or clinicians in a small trial, and change the design with what is learnt.",
        likelihood: SEED_LIKELIHOOD,
        impact: SEED_IMPACT,
    },
];

/// [`SEEDS`] as inputs: shared, open, unowned, no review date.
pub fn seeds() -> Vec<RiskInput> {
    SEEDS
        .iter()
        .map(|s| RiskInput {
            category: s.category,
            title: s.title.to_string(),
            description: s.description.to_string(),
            likelihood: s.likelihood,
            impact: s.impact,
            owner_org_id: None,
            owner_name: String::new(),
            mitigation: String::new(),
            status: RiskStatus::Open,
            review_on: None,
            visibility: Visibility::Shared,
        })
        .collect()
}

/// Who the seeded risks are recorded as created by.
pub const SEED_AUTHOR: &str = "Concord (seeded with the partnership)";

/// A prompt for the mitigation of a risk of `category`, shown next to the form's input.
pub fn mitigation_prompt(category: RiskCategory) -> &'static str {
    match category {
        RiskCategory::BusinessModel => "How will each party learn how the other earns its money and what it must show its board?",
        RiskCategory::PowerAsymmetry => "Which decisions need both parties' consent, and how does the smaller party raise a concern safely?",
        RiskCategory::ConsumerAssumptions => "Which assumption is riskiest, and how and when will it be tested with real patients or clinicians?",
        RiskCategory::CultureDrift => "Where do the ways of working differ, and who meets whom to keep them aligned?",
        RiskCategory::ChampionTurnover => "Who is the deputy of each champion, and are they briefed on the charter and history?",
        RiskCategory::ScopeDrift => "Who decides what is in scope, and how is a change agreed and recorded?",
        RiskCategory::ValueShortfall => "Which metric shows the shortfall first, and what is done when it is off track?",
        RiskCategory::Regulatory => "Which rule applies (Stark, anti-kickback, HIPAA, licensing), and who has checked it?",
        RiskCategory::DataSharing => "Is there a data-use agreement, and who may see which data for what purpose?",
        RiskCategory::Other => "What would reduce the likelihood or the impact, who does it, and by when?",
    }
}
