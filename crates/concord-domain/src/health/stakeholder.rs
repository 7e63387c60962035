//! The stakeholder roster of both parties and the continuity rule.
//!
//! When a key person (executive sponsor, champion, alliance manager: [`StakeholderRole::is_key`])
//! departs, their organization gets re-education tasks ([`re_education_topics`]) and the
//! partnership carries a continuity alert until a successor is named **and** briefed. Briefed
//! means every re-education task of the departed person is done and `briefed_on` is set; storage
//! sets `briefed_on` itself, in the same transaction as the write that completes the last
//! condition (naming the successor or marking the last task done).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Level, StakeholderRole, StakeholderStatus};
use crate::account::Email;
use crate::text::clean;
use crate::{OrgId, ValidationErrors};

string_enum! {
    /// Where a re-education task stands.
    pub enum TaskStatus {
        Open = "open" => "Open",
        Done = "done" => "Done",
    }
}

fn medium() -> Level {
    Level::Medium
}

/// A person on the roster, as entered or edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StakeholderInput {
    /// The party the person works for; must be a party to the partnership.
    pub organization_id: OrgId,
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub email: String,
    pub role: StakeholderRole,
    #[serde(default = "medium")]
    pub influence: Level,
    #[serde(default = "medium")]
    pub engagement: Level,
}

impl StakeholderInput {
    /// Checks the person against the partnership's parties: a name (1–200 characters), a title
    /// of at most 200, an e-mail address when given, an organization that is a party.
    pub fn validate(&self, parties: &[OrgId]) -> Result<StakeholderInput, ValidationErrors> {
        let mut e = ValidationErrors::new();
        if !parties.contains(&self.organization_id) {
            e.add(
                "organization_id",
                "not_a_party",
                format!(
                    "organization {} is not a party to this partnership; the roster holds the parties' people only",
                    self.organization_id
                ),
            );
        }
        let name = clean(&mut e, "name", &self.name, 1, 200, false);
        let title = clean(&mut e, "title", &self.title, 0, 200, false);
        let email = match self.email.trim() {
            "" => String::new(),
            raw => match Email::parse(raw) {
                Ok(m) => m.as_str().to_string(),
                Err(msg) => {
                    e.add("email", "invalid_email", msg);
                    raw.to_string()
                }
            },
        };
        e.into_result(StakeholderInput {
            organization_id: self.organization_id,
            name,
            title,
            email,
            role: self.role,
            influence: self.influence,
            engagement: self.engagement,
        })
    }
}

/// A departure: the day the person left the role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartureInput {
    pub departed_on: NaiveDate,
}

impl DepartureInput {
    /// The day may not be in the future (record a departure once it happened).
    pub fn validate(&self, today: NaiveDate) -> Result<NaiveDate, ValidationErrors> {
        if self.departed_on > today {
            return Err(ValidationErrors::single(
                "departed_on",
                "future_date",
                format!(
                    "{} is in the future; record a departure once it has happened",
                    self.departed_on
                ),
            ));
        }
        Ok(self.departed_on)
    }
}

/// Naming the successor of a departed person: an active person of the same organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuccessorInput {
    pub successor_id: i64,
}

/// A person on the roster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Stakeholder {
    pub id: i64,
    pub partnership_id: i64,
    pub organization_id: OrgId,
    pub name: String,
    pub title: String,
    pub email: String,
    pub role: StakeholderRole,
    pub influence: Level,
    pub engagement: Level,
    pub status: StakeholderStatus,
    pub departed_on: Option<NaiveDate>,
    /// The person named to take over (same organization), once named.
    pub successor_id: Option<i64>,
    /// Set when the successor is named and every re-education task is done.
    pub briefed_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A re-education task raised by a key person's departure, for that person's organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContinuityTask {
    pub id: i64,
    /// The departed person.
    pub stakeholder_id: i64,
    /// The organization that must do it (the departed person's).
    pub organization_id: OrgId,
    pub topic: String,
    pub what: String,
    pub status: TaskStatus,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: String,
}

/// Who was named to take over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SuccessorRef {
    pub id: i64,
    pub name: String,
}

/// A departed key person whose successor is not yet named and briefed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContinuityAlert {
    pub stakeholder_id: i64,
    pub organization_id: OrgId,
    pub role: StakeholderRole,
    pub name: String,
    pub departed_on: NaiveDate,
    pub successor: Option<SuccessorRef>,
    /// Re-education tasks still open.
    pub open_tasks: usize,
    pub total_tasks: usize,
    /// Days since the departure (0 on the day, never negative).
    pub days_since_departure: i64,
}

/// The roster of both parties with its re-education tasks and the continuity alerts.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Roster {
    /// Active people first, then by organization and name.
    pub people: Vec<Stakeholder>,
    /// Every re-education task, open first.
    pub tasks: Vec<ContinuityTask>,
    pub alerts: Vec<ContinuityAlert>,
}

/// What a successor must be briefed on when a key person departs: `(topic, what)`. One task per
/// topic is raised for the departed person's organization.
pub fn re_education_topics() -> &'static [(&'static str, &'static str)] {
    &[
        (
            "charter",
            "Brief the successor on the charter in force: purpose, goals, metrics, commitments and governance.",
        ),
        (
            "stakes",
            "Walk the successor through the stakes ledger: what each party gains and risks, and the trade-offs accepted.",
        ),
        (
            "history",
            "Take the successor through the history: reviews and their decisions, meeting decisions and open actions.",
        ),
        (
            "risks",
            "Go over the open risks in the register, their owners and mitigations.",
        ),
        (
            "introductions",
            "Introduce the successor to the partner's champion, sponsor and alliance manager.",
        ),
    ]
}

/// Whether a departed person's handover is complete: a successor is named and no re-education
/// task is open.
pub fn handover_complete(successor_id: Option<i64>, open_tasks: usize) -> bool {
    successor_id.is_some() && open_tasks == 0
}

/// One alert per departed key-role person who is not yet replaced by a named and briefed
/// successor, oldest departure first.
pub fn continuity_alerts(
    stakeholders: &[Stakeholder],
    tasks: &[ContinuityTask],
    today: NaiveDate,
) -> Vec<ContinuityAlert> {
    let mut out: Vec<ContinuityAlert> = stakeholders
        .iter()
        .filter(|s| s.status == StakeholderStatus::Departed && s.role.is_key())
        .filter_map(|s| {
            let mine = tasks.iter().filter(|t| t.stakeholder_id == s.id);
            let total_tasks = mine.clone().count();
            let open_tasks = mine.filter(|t| t.status == TaskStatus::Open).count();
            let briefed = handover_complete(s.successor_id, open_tasks) && s.briefed_on.is_some();
            if briefed {
                return None;
            }
            let departed_on = s.departed_on.unwrap_or(today);
            let successor = s.successor_id.map(|id| SuccessorRef {
                id,
                name: stakeholders
                    .iter()
                    .find(|x| x.id == id)
                    .map(|x| x.name.clone())
                    .unwrap_or_else(|| format!("person {id}")),
            });
            Some(ContinuityAlert {
                stakeholder_id: s.id,
                organization_id: s.organization_id,
                role: s.role,
                name: s.name.clone(),
                departed_on,
                successor,
                open_tasks,
                total_tasks,
                days_since_departure: (today - departed_on).num_days().max(0),
            })
        })
        .collect();
    out.sort_by_key(|a| (a.departed_on, a.stakeholder_id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_distinct() {
        let t = re_education_topics();
        assert!(t.len() >= 4);
        for (i, (a, _)) in t.iter().enumerate() {
            assert!(!t[i + 1..].iter().any(|(b, _)| a == b));
        }
    }
}
