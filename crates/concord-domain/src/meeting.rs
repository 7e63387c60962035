//! The meeting log: who met, what they decided, what they will do; and whether the steering
//! group keeps the cadence the charter set.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::charter::MeetingCadence;
use crate::text::clean;
use crate::{OrgId, UserId, ValidationErrors};

string_enum! {
    /// What kind of meeting it was. Steering meetings count toward the charter's cadence.
    pub enum MeetingKind {
        Steering = "steering" => "Steering group",
        Working = "working" => "Working session",
        Executive = "executive" => "Executive",
    }
}

string_enum! {
    /// Where an action item stands.
    pub enum ActionStatus {
        Open = "open" => "Open",
        Done = "done" => "Done",
        Dropped = "dropped" => "Dropped",
    }
}

/// Someone at the meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendee {
    /// The party they came for.
    pub organization_id: OrgId,
    pub name: String,
    /// Their Concord account, when they have one.
    #[serde(default)]
    pub user_id: Option<UserId>,
}

/// An action agreed at the meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    pub what: String,
    /// The party that owns the action.
    pub owner: OrgId,
    /// The person who owns it, when named.
    #[serde(default)]
    pub owner_name: String,
    pub due_on: NaiveDate,
}

/// A meeting as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingInput {
    pub held_on: NaiveDate,
    pub kind: MeetingKind,
    pub attendees: Vec<Attendee>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub decisions: Vec<String>,
    #[serde(default)]
    pub actions: Vec<ActionInput>,
}

/// A recorded meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Meeting {
    pub id: i64,
    pub partnership_id: i64,
    pub held_on: NaiveDate,
    pub kind: MeetingKind,
    pub attendees: Vec<Attendee>,
    pub notes: String,
    pub decisions: Vec<String>,
    pub actions: Vec<ActionItem>,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// An action item, with where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActionItem {
    pub id: i64,
    pub meeting_id: i64,
    pub what: String,
    pub owner: OrgId,
    pub owner_name: String,
    pub due_on: NaiveDate,
    pub status: ActionStatus,
    /// Open and past its due date.
    pub late: bool,
    pub note: String,
}

/// A change to an action item's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionUpdate {
    pub status: ActionStatus,
    #[serde(default)]
    pub note: String,
}

impl ActionUpdate {
    pub fn validate(&self) -> Result<ActionUpdate, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let note = clean(&mut e, "note", &self.note, 0, 1000, true);
        if e.is_empty() {
            Ok(ActionUpdate {
                status: self.status,
                note,
            })
        } else {
            Err(e)
        }
    }
}

/// Whether an open item is past due on `today`.
pub fn is_late(status: ActionStatus, due_on: NaiveDate, today: NaiveDate) -> bool {
    status == ActionStatus::Open && due_on < today
}

const MAX_ATTENDEES: usize = 100;
const MAX_LIST: usize = 100;

impl MeetingInput {
    /// Checks the meeting against the partnership's parties: held by `today`, every attendee and
    /// action owner a party, every party present.
    pub fn validate(
        &self,
        parties: &[OrgId],
        today: NaiveDate,
    ) -> Result<MeetingInput, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let mut m = self.clone();
        if m.held_on > today {
            e.add(
                "held_on",
                "future_date",
                format!(
                    "{} is in the future; record a meeting once it is held",
                    m.held_on
                ),
            );
        }
        if m.attendees.is_empty() {
            e.add("attendees", "required", "name the people who attended");
        } else if m.attendees.len() > MAX_ATTENDEES {
            e.add(
                "attendees",
                "too_many",
                format!("at most {MAX_ATTENDEES} attendees"),
            );
        }
        for (i, a) in m.attendees.iter_mut().enumerate() {
            a.name = clean(
                &mut e,
                &format!("attendees[{i}].name"),
                &a.name,
                1,
                200,
                false,
            );
            if !parties.contains(&a.organization_id) {
                e.add(
                    format!("attendees[{i}].organization_id"),
                    "not_a_party",
                    format!(
                        "organization {} is not a party to this partnership",
                        a.organization_id
                    ),
                );
            }
        }
        if !m.attendees.is_empty() {
            for p in parties {
                if !m.attendees.iter().any(|a| a.organization_id == *p) {
                    e.add(
                        "attendees",
                        "party_missing",
                        format!("nobody attended for organization {p}; a partnership meeting has every party"),
                    );
                }
            }
        }
        m.notes = clean(&mut e, "notes", &m.notes, 0, 20_000, true);
        if m.decisions.len() > MAX_LIST {
            e.add(
                "decisions",
                "too_many",
                format!("at most {MAX_LIST} decisions"),
            );
        }
        for (i, d) in m.decisions.iter_mut().enumerate() {
            *d = clean(&mut e, &format!("decisions[{i}]"), d, 1, 1000, true);
        }
        if m.actions.len() > MAX_LIST {
            e.add("actions", "too_many", format!("at most {MAX_LIST} actions"));
        }
        for (i, a) in m.actions.iter_mut().enumerate() {
            a.what = clean(
                &mut e,
                &format!("actions[{i}].what"),
                &a.what,
                1,
                500,
                false,
            );
            a.owner_name = clean(
                &mut e,
                &format!("actions[{i}].owner_name"),
                &a.owner_name,
                0,
                200,
                false,
            );
            if !parties.contains(&a.owner) {
                e.add(
                    format!("actions[{i}].owner"),
                    "not_a_party",
                    format!(
                        "organization {} is not a party to this partnership",
                        a.owner
                    ),
                );
            }
            if a.due_on < m.held_on {
                e.add(
                    format!("actions[{i}].due_on"),
                    "date_out_of_order",
                    format!("due {} is before the meeting ({})", a.due_on, m.held_on),
                );
            }
        }
        if e.is_empty() {
            Ok(m)
        } else {
            Err(e)
        }
    }
}

/// Meetings held against the charter's cadence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Adherence {
    pub cadence: Option<MeetingCadence>,
    /// The window counted: the last twelve months, from when the charter took effect at the earliest.
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    /// Steering meetings the cadence asks for in the window.
    pub expected: u32,
    /// Steering meetings held in the window.
    pub held: u32,
    /// held / expected, at most 1; `None` when no cadence is set or the window is shorter than one interval.
    pub ratio: Option<f64>,
    pub last_held: Option<NaiveDate>,
    /// When the next steering meeting is due.
    pub next_due: Option<NaiveDate>,
}

/// Counts steering meetings (`held_on` dates) in the last twelve months, starting no earlier than
/// `since` (when the charter took effect), against the cadence: expected = whole intervals in the
/// window. Pure; the ratio is capped at 1 so extra meetings do not hide a later lull.
pub fn cadence_adherence(
    cadence: Option<MeetingCadence>,
    since: NaiveDate,
    today: NaiveDate,
    steering_dates: &[NaiveDate],
) -> Adherence {
    let year_ago = today - chrono::Days::new(365);
    let window_start = since.max(year_ago).min(today);
    let held = steering_dates
        .iter()
        .filter(|d| **d >= window_start && **d <= today)
        .count() as u32;
    let last_held = steering_dates
        .iter()
        .filter(|d| **d <= today)
        .max()
        .copied();
    let days = (today - window_start).num_days().max(0) as u32;
    let (expected, ratio, next_due) = match cadence {
        None => (0, None, None),
        Some(c) => {
            let expected = days / c.days();
            let ratio = (expected > 0).then(|| (held as f64 / expected as f64).min(1.0));
            let next = last_held.unwrap_or(window_start) + chrono::Days::new(c.days() as u64);
            (expected, ratio, Some(next))
        }
    };
    Adherence {
        cadence,
        window_start,
        window_end: today,
        expected,
        held,
        ratio,
        last_held,
        next_due,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn meeting() -> MeetingInput {
        MeetingInput {
            held_on: d("2026-03-02"),
            kind: MeetingKind::Steering,
            attendees: vec![
                Attendee {
                    organization_id: OrgId(1),
                    name: "Ana".into(),
                    user_id: None,
                },
                Attendee {
                    organization_id: OrgId(2),
                    name: "Ben".into(),
                    user_id: None,
                },
            ],
            notes: "Went well".into(),
            decisions: vec!["Extend pilot".into()],
            actions: vec![ActionInput {
                what: "Send the data".into(),
                owner: OrgId(2),
                owner_name: "Ben".into(),
                due_on: d("2026-03-20"),
            }],
        }
    }

    #[test]
    fn a_meeting_has_every_party() {
        let parties = [OrgId(1), OrgId(2)];
        assert!(meeting().validate(&parties, d("2026-03-10")).is_ok());
        let mut m = meeting();
        m.attendees.remove(1);
        m.actions[0].owner = OrgId(9);
        m.actions[0].due_on = d("2026-03-01");
        m.held_on = d("2026-04-01");
        let e = m.validate(&parties, d("2026-03-10")).unwrap_err();
        let got: Vec<_> = e
            .errors()
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("held_on", "future_date"),
                ("attendees", "party_missing"),
                ("actions[0].owner", "not_a_party"),
                ("actions[0].due_on", "date_out_of_order"),
            ]
        );
        let mut m = meeting();
        m.attendees[0].organization_id = OrgId(5);
        let e = m.validate(&parties, d("2026-03-10")).unwrap_err();
        assert_eq!(e.errors()[0].field, "attendees[0].organization_id");
    }

    #[test]
    fn adherence_counts_steering_meetings_in_the_window() {
        let dates: Vec<NaiveDate> = (1..=12)
            .map(|m| NaiveDate::from_ymd_opt(2025, m, 15).unwrap())
            .collect();
        let a = cadence_adherence(
            Some(MeetingCadence::Monthly),
            d("2024-01-01"),
            d("2026-01-01"),
            &dates,
        );
        assert_eq!((a.expected, a.held), (12, 12));
        assert_eq!(a.ratio, Some(1.0));
        assert_eq!(a.next_due, Some(d("2026-01-14")));
        let half: Vec<NaiveDate> = dates.iter().step_by(2).copied().collect();
        let a = cadence_adherence(
            Some(MeetingCadence::Monthly),
            d("2024-01-01"),
            d("2026-01-01"),
            &half,
        );
        assert_eq!(a.ratio, Some(0.5));
        let a = cadence_adherence(
            Some(MeetingCadence::Quarterly),
            d("2025-12-01"),
            d("2026-01-01"),
            &[],
        );
        assert_eq!((a.expected, a.ratio), (0, None));
        let a = cadence_adherence(None, d("2025-01-01"), d("2026-01-01"), &dates);
        assert_eq!((a.ratio, a.next_due), (None, None));
        assert!(is_late(
            ActionStatus::Open,
            d("2026-01-01"),
            d("2026-01-02")
        ));
        assert!(!is_late(
            ActionStatus::Done,
            d("2026-01-01"),
            d("2026-01-02")
        ));
    }
}
