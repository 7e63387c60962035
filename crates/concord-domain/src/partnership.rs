//! Partnerships: two or more parties, a type, and a stage that moves only along the state machine.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::text::clean;
use crate::{OrgId, PartnershipId, ValidationErrors};

string_enum! {
    /// The six kinds of partnership (see the brief, "Classify and assess").
    pub enum PartnershipType {
        Wholesale = "wholesale" => "Wholesale",
        VerticallyAdjacent = "vertically_adjacent" => "Vertically adjacent",
        HorizontallyAdjacent = "horizontally_adjacent" => "Horizontally adjacent",
        AncillaryService = "ancillary_service" => "Ancillary service",
        ServiceProvider = "service_provider" => "Service provider",
        StrategicExecution = "strategic_execution" => "Strategic execution",
    }
}

impl PartnershipType {
    /// One line on what this type means, for forms and help text.
    pub fn description(self) -> &'static str {
        match self {
            Self::Wholesale => "Spare capacity bought or sold between the parties.",
            Self::VerticallyAdjacent => {
                "A different level of the care continuum, or payer with provider."
            }
            Self::HorizontallyAdjacent => {
                "A complementary service at the same level, such as primary care with dental."
            }
            Self::AncillaryService => "Lab, imaging, pharmacy, DME or therapy services.",
            Self::ServiceProvider => {
                "Non-clinical infrastructure: revenue cycle, IT, supply chain, staffing."
            }
            Self::StrategicExecution => "A partner that carries a growth or turnaround programme.",
        }
    }
}

string_enum! {
    /// Where a partnership is in its life.
    pub enum Stage {
        Exploring = "exploring" => "Exploring",
        Assessing = "assessing" => "Assessing",
        Negotiating = "negotiating" => "Negotiating",
        Active = "active" => "Active",
        UnderReview = "under_review" => "Under review",
        Restructuring = "restructuring" => "Restructuring",
        Ending = "ending" => "Ending",
        Ended = "ended" => "Ended",
    }
}

impl Stage {
    /// The stages this one may move to. The whole state machine is this one table.
    pub fn next_stages(self) -> &'static [Stage] {
        use Stage::*;
        match self {
            Exploring => &[Assessing],
            Assessing => &[Negotiating],
            Negotiating => &[Active],
            Active => &[UnderReview],
            UnderReview => &[Active, Restructuring, Ending],
            Restructuring => &[Active, Ending],
            Ending => &[Ended],
            Ended => &[],
        }
    }

    pub fn can_move_to(self, to: Stage) -> bool {
        self.next_stages().contains(&to)
    }

    /// Checks a move, naming the allowed next stages when it is refused.
    pub fn transition(self, to: Stage) -> Result<Stage, IllegalTransition> {
        if self.can_move_to(to) {
            Ok(to)
        } else {
            Err(IllegalTransition {
                from: self,
                to,
                allowed: self.next_stages().to_vec(),
            })
        }
    }

    pub fn is_terminal(self) -> bool {
        self.next_stages().is_empty()
    }
}

/// A stage move the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a partnership cannot move from {from} to {to}; {}",
    allowed_text(allowed)
)]
pub struct IllegalTransition {
    pub from: Stage,
    pub to: Stage,
    pub allowed: Vec<Stage>,
}

fn allowed_text(allowed: &[Stage]) -> String {
    if allowed.is_empty() {
        "it has ended and cannot move any further".to_string()
    } else {
        format!(
            "allowed next stages: {}",
            allowed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// A party to a partnership as a client sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyInput {
    pub organization_id: OrgId,
    /// What this organization is in the partnership ("health system", "revenue-cycle vendor").
    pub role: String,
}

/// What a client sends to create a partnership or replace its details (the stage changes only
/// through transitions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnershipInput {
    pub name: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(rename = "type")]
    pub partnership_type: PartnershipType,
    /// Two or more parties, each organization once.
    pub parties: Vec<PartyInput>,
}

/// A validated partnership definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnershipDraft {
    pub name: String,
    pub purpose: String,
    pub partnership_type: PartnershipType,
    pub parties: Vec<PartyInput>,
}

impl PartnershipInput {
    /// Checks every field. Whether each organization exists is checked against storage with
    /// [`PartnershipDraft::check_parties_exist`].
    pub fn validate(&self) -> Result<PartnershipDraft, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let name = clean(&mut e, "name", &self.name, 1, 200, false);
        let purpose = clean(&mut e, "purpose", &self.purpose, 0, 4000, true);
        if self.parties.len() < 2 {
            e.add(
                "parties",
                "too_few_parties",
                format!(
                    "a partnership needs at least two parties (got {})",
                    self.parties.len()
                ),
            );
        }
        if self.parties.len() > 20 {
            e.add("parties", "too_many", "at most 20 parties");
        }
        let mut parties = Vec::with_capacity(self.parties.len());
        for (i, p) in self.parties.iter().enumerate() {
            if self.parties[..i]
                .iter()
                .any(|q| q.organization_id == p.organization_id)
            {
                e.add(
                    format!("parties[{i}].organization_id"),
                    "duplicate_party",
                    format!("organization {} is already a party", p.organization_id),
                );
            }
            let role = clean(&mut e, &format!("parties[{i}].role"), &p.role, 1, 80, false);
            parties.push(PartyInput {
                organization_id: p.organization_id,
                role,
            });
        }
        e.into_result(PartnershipDraft {
            name,
            purpose,
            partnership_type: self.partnership_type,
            parties,
        })
    }
}

impl PartnershipDraft {
    /// Names every party whose organization is not among `existing`.
    pub fn check_parties_exist(&self, existing: &[OrgId]) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        for (i, p) in self.parties.iter().enumerate() {
            if !existing.contains(&p.organization_id) {
                e.add(
                    format!("parties[{i}].organization_id"),
                    "unknown_organization",
                    format!("organization {} does not exist", p.organization_id),
                );
            }
        }
        e.into_result(())
    }
}

impl PartnershipDraft {
    /// The acting organization must be one of the parties: nobody records a partnership between
    /// other organizations.
    pub fn check_includes(&self, org: OrgId, org_name: &str) -> Result<(), ValidationErrors> {
        if self.parties.iter().any(|p| p.organization_id == org) {
            Ok(())
        } else {
            Err(ValidationErrors::single(
                "parties",
                "acting_organization_missing",
                format!("{org_name} (your organization) must be one of the parties"),
            ))
        }
    }
}

/// A party as read back: the organization's name comes with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Party {
    pub organization_id: OrgId,
    pub organization_name: String,
    pub role: String,
}

/// A stored partnership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Partnership {
    pub id: PartnershipId,
    pub name: String,
    pub purpose: String,
    #[serde(rename = "type")]
    pub partnership_type: PartnershipType,
    pub stage: Stage,
    pub parties: Vec<Party>,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a partnership's stage history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StageChange {
    /// `null` for the first entry (the partnership was created).
    pub from_stage: Option<Stage>,
    pub to_stage: Stage,
    pub note: String,
    pub changed_at: DateTime<Utc>,
}

/// A request to move a partnership to another stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    pub to: Stage,
    /// Why the partnership moves (kept in the stage history).
    #[serde(default)]
    pub note: String,
}

string_enum! {
    /// How a partnership list is ordered.
    pub enum PartnershipSort {
        Name = "name" => "Name",
        NameDesc = "-name" => "Name (Z–A)",
        Created = "created_at" => "Oldest first",
        CreatedDesc = "-created_at" => "Newest first",
        Updated = "updated_at" => "Least recently updated",
        UpdatedDesc = "-updated_at" => "Recently updated",
        Stage = "stage" => "Stage",
    }
}

/// Filters for a partnership list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnershipFilter {
    pub partnership_type: Option<PartnershipType>,
    pub stage: Option<Stage>,
    pub party: Option<OrgId>,
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
    pub include_archived: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_lifecycle_of_the_brief() {
        use Stage::*;
        let path = [
            Exploring,
            Assessing,
            Negotiating,
            Active,
            UnderReview,
            Restructuring,
            Active,
            UnderReview,
            Ending,
            Ended,
        ];
        for w in path.windows(2) {
            assert!(w[0].can_move_to(w[1]), "{} -> {}", w[0], w[1]);
        }
        assert!(Restructuring.can_move_to(Ending));
        assert!(UnderReview.can_move_to(Active));
    }

    #[test]
    fn illegal_move_names_the_allowed_stages() {
        let err = Stage::Exploring.transition(Stage::Active).unwrap_err();
        assert_eq!(err.allowed, vec![Stage::Assessing]);
        assert!(err.to_string().contains("allowed next stages: assessing"));
        let err = Stage::Ended.transition(Stage::Active).unwrap_err();
        assert!(err.to_string().contains("ended"));
    }

    fn any_stage() -> impl Strategy<Value = Stage> {
        proptest::sample::select(Stage::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn transition_agrees_with_the_table(from in any_stage(), to in any_stage()) {
            let ok = from.transition(to).is_ok();
            prop_assert_eq!(ok, from.next_stages().contains(&to));
            prop_assert!(from != to || !ok, "no stage moves to itself");
        }

        #[test]
        fn no_walk_returns_to_the_pipeline_once_active(choices in proptest::collection::vec(0usize..3, 0..40)) {
            let pipeline = [Stage::Exploring, Stage::Assessing, Stage::Negotiating];
            let mut s = Stage::Exploring;
            let mut went_active = false;
            for c in choices {
                let next = s.next_stages();
                if next.is_empty() { prop_assert_eq!(s, Stage::Ended); break; }
                s = next[c % next.len()];
                went_active |= s == Stage::Active;
                prop_assert!(!(went_active && pipeline.contains(&s)), "{} after active", s);
            }
        }
    }

    #[test]
    fn ended_is_the_only_terminal_stage() {
        for s in Stage::ALL {
            assert_eq!(s.is_terminal(), *s == Stage::Ended);
        }
    }

    fn input(parties: Vec<(i64, &str)>) -> PartnershipInput {
        PartnershipInput {
            name: "Shoreline smiles".into(),
            purpose: "Dental care for primary-care patients".into(),
            partnership_type: PartnershipType::HorizontallyAdjacent,
            parties: parties
                .into_iter()
                .map(|(id, role)| PartyInput {
                    organization_id: OrgId(id),
                    role: role.into(),
                })
                .collect(),
        }
    }

    #[test]
    fn one_party_is_not_a_partnership() {
        let e = input(vec![(1, "primary care")]).validate().unwrap_err();
        assert_eq!(e.errors()[0].field, "parties");
        assert_eq!(e.errors()[0].code, "too_few_parties");
    }

    #[test]
    fn the_same_organization_twice_is_named() {
        let e = input(vec![(1, "a"), (2, "b"), (1, "c")])
            .validate()
            .unwrap_err();
        assert_eq!(e.errors()[0].field, "parties[2].organization_id");
    }

    #[test]
    fn missing_organizations_are_named() {
        let d = input(vec![(1, "a"), (7, "b")]).validate().unwrap();
        let e = d.check_parties_exist(&[OrgId(1)]).unwrap_err();
        assert_eq!(e.errors()[0].field, "parties[1].organization_id");
        assert_eq!(e.errors()[0].code, "unknown_organization");
    }
}
