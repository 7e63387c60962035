//! Sustaining a partnership: the joint health survey, the risk register, the stakeholder roster
//! and its continuity rules, the explainable health score and the early warnings.
//!
//! Everything here is pure. Storage gathers the figures (`concord-storage/src/health.rs`), these
//! functions judge them.

pub mod risk;
pub mod score;
pub mod stakeholder;
pub mod survey;
pub mod warnings;

string_enum! {
    /// A dimension of the joint health survey. Each has one statement, answered on a 1–5 scale
    /// (1 = strongly disagree, 5 = strongly agree).
    pub enum Dimension {
        Trust = "trust" => "Trust",
        Communication = "communication" => "Communication",
        SharedVision = "shared_vision" => "Shared vision",
        CultureFit = "culture_fit" => "Culture fit",
        Governance = "governance" => "Governance",
        ValueRealised = "value_realised" => "Value realised",
        Fairness = "fairness" => "Fairness and balance of power",
        Transparency = "transparency" => "Transparency",
        Innovation = "innovation" => "Innovation",
    }
}

impl Dimension {
    /// The statement respondents rate, in the survey's fixed wording.
    pub fn statement(self) -> &'static str {
        match self {
            Dimension::Trust => "I trust the other party to act in the partnership's interest, not only its own.",
            Dimension::Communication => "Information reaches the people who need it, on both sides, in time to act on it.",
            Dimension::SharedVision => "Both parties want the same outcome from this partnership and describe it the same way.",
            Dimension::CultureFit => "Our ways of working and deciding fit together well enough to get things done.",
            Dimension::Governance => "The steering group, cadence and decision rights work as the charter intends.",
            Dimension::ValueRealised => "The partnership is delivering the value we expected from it.",
            Dimension::Fairness => "Benefits, risks and influence are balanced fairly, or the imbalance is openly agreed.",
            Dimension::Transparency => "The other party is open about its business model, constraints and results.",
            Dimension::Innovation => "We are exploring new ideas together, beyond the original scope.",
        }
    }

    /// Position in [`Dimension::ALL`] (and in a [`survey::SurveyAnswer`]'s scores).
    pub fn index(self) -> usize {
        Dimension::ALL.iter().position(|d| *d == self).unwrap_or(0)
    }
}

string_enum! {
    /// What kind of risk a register entry is. The first three are seeded on every partnership.
    pub enum RiskCategory {
        BusinessModel = "business_model" => "Not understanding each other's business model",
        PowerAsymmetry = "power_asymmetry" => "Unaddressed power asymmetry",
        ConsumerAssumptions = "consumer_assumptions" => "Untested assumptions about the consumer",
        CultureDrift = "culture_drift" => "Culture drift",
        ChampionTurnover = "champion_turnover" => "Champion turnover",
        ScopeDrift = "scope_drift" => "Scope drift",
        ValueShortfall = "value_shortfall" => "Value shortfall",
        Regulatory = "regulatory" => "Regulatory",
        DataSharing = "data_sharing" => "Data sharing",
        Other = "other" => "Other",
    }
}

string_enum! {
    /// Where a risk stands.
    pub enum RiskStatus {
        Open = "open" => "Open",
        Mitigating = "mitigating" => "Mitigating",
        Closed = "closed" => "Closed",
    }
}

string_enum! {
    /// Who sees a risk: every party, or only the organization that wrote it.
    pub enum Visibility {
        Shared = "shared" => "Shared with the partner",
        Private = "private" => "Private to my organization",
    }
}

string_enum! {
    /// A person's role in the partnership.
    pub enum StakeholderRole {
        ExecutiveSponsor = "executive_sponsor" => "Executive sponsor",
        Champion = "champion" => "Champion",
        AllianceManager = "alliance_manager" => "Alliance manager",
        OperationalLead = "operational_lead" => "Operational lead",
        ClinicianLead = "clinician_lead" => "Clinician lead",
        FinanceLead = "finance_lead" => "Finance lead",
        DataLead = "data_lead" => "Data lead",
        Other = "other" => "Other",
    }
}

impl StakeholderRole {
    /// Roles whose departure threatens continuity: a departure raises a continuity alert and
    /// re-education tasks until a successor is named and briefed.
    pub fn is_key(self) -> bool {
        matches!(
            self,
            StakeholderRole::ExecutiveSponsor
                | StakeholderRole::Champion
                | StakeholderRole::AllianceManager
        )
    }
}

string_enum! {
    /// Low, medium or high: a stakeholder's influence and engagement.
    pub enum Level {
        Low = "low" => "Low",
        Medium = "medium" => "Medium",
        High = "high" => "High",
    }
}

string_enum! {
    /// Whether a stakeholder is still in their role.
    pub enum StakeholderStatus {
        Active = "active" => "Active",
        Departed = "departed" => "Departed",
    }
}

/// Likelihood × impact at or above this makes a risk "high".
pub const HIGH_RISK: u8 = 15;

/// A risk's severity: likelihood × impact, 1–25.
pub fn severity(likelihood: u8, impact: u8) -> u8 {
    likelihood.saturating_mul(impact)
}
