//! Commitments as they are kept, and the scheduled review: when it is due, the packet that goes
//! to the board, and the decision each party's alliance manager signs.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::attainment::{MetricAttainment, Rollup};
use crate::charter::{Commitment, CommitmentStatus};
use crate::meeting::{ActionItem, Adherence};
use crate::partnership::Stage;
use crate::text::clean;
use crate::{OrgId, UserId, ValidationErrors};

/// A change to a commitment's status, reported by its party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentUpdate {
    /// `open`, `done` or `dropped` (`late` is worked out from the due date).
    pub status: CommitmentStatus,
    #[serde(default)]
    pub note: String,
}

impl CommitmentUpdate {
    pub fn validate(&self) -> Result<CommitmentUpdate, ValidationErrors> {
        let mut e = ValidationErrors::new();
        if self.status == CommitmentStatus::Late {
            e.add(
                "status",
                "not_settable",
                "late is worked out from the due date; report open, done or dropped",
            );
        }
        let note = clean(&mut e, "note", &self.note, 0, 1000, true);
        if self.status == CommitmentStatus::Dropped && note.is_empty() {
            e.add("note", "required", "say why the commitment is dropped");
        }
        if e.is_empty() {
            Ok(CommitmentUpdate {
                status: self.status,
                note,
            })
        } else {
            Err(e)
        }
    }
}

/// The latest reported status of a commitment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CommitmentReport {
    pub status: CommitmentStatus,
    pub note: String,
    pub reported_by: String,
    pub reported_at: DateTime<Utc>,
}

/// A charter commitment as it stands today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CommitmentState {
    pub id: u32,
    pub party: OrgId,
    pub what: String,
    pub due_on: NaiveDate,
    /// The status reported, or the charter's; `late` when open past its due date.
    pub status: CommitmentStatus,
    /// Open past its due date (flagged automatically).
    pub late: bool,
    /// Days past due, for a late commitment.
    pub days_late: Option<i64>,
    pub last_report: Option<CommitmentReport>,
}

/// Works out where a commitment stands on `today` from the charter and the latest report.
pub fn commitment_state(
    c: &Commitment,
    report: Option<&CommitmentReport>,
    today: NaiveDate,
) -> CommitmentState {
    let reported = report.map(|r| r.status).unwrap_or(c.status);
    let open = matches!(reported, CommitmentStatus::Open | CommitmentStatus::Late);
    let late = open && c.due_on < today;
    CommitmentState {
        id: c.id.unwrap_or(0),
        party: c.party,
        what: c.what.clone(),
        due_on: c.due_on,
        status: if late {
            CommitmentStatus::Late
        } else if open {
            CommitmentStatus::Open
        } else {
            reported
        },
        late,
        days_late: late.then(|| (today - c.due_on).num_days()),
        last_report: report.cloned(),
    }
}

string_enum! {
    /// What the parties decide at a review.
    pub enum ReviewDecision {
        Continue = "continue" => "Continue",
        Expand = "expand" => "Expand",
        Restructure = "restructure" => "Restructure",
        Exit = "exit" => "Exit",
    }
}

impl ReviewDecision {
    /// The stage a partnership moves to once every party has signed the decision.
    pub fn next_stage(self) -> Stage {
        match self {
            Self::Continue | Self::Expand => Stage::Active,
            Self::Restructure => Stage::Restructuring,
            Self::Exit => Stage::Ending,
        }
    }
}

string_enum! {
    /// Where a review stands.
    pub enum ReviewStatus {
        Open = "open" => "Open",
        AwaitingSignatures = "awaiting_signatures" => "Decision awaiting signatures",
        Closed = "closed" => "Closed",
    }
}

string_enum! {
    /// Why a review was opened.
    pub enum ReviewTrigger {
        Scheduled = "scheduled" => "Scheduled",
        Early = "early" => "Opened early",
    }
}

/// Opening a review before it is due.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenReviewInput {
    /// Why now.
    #[serde(default)]
    pub reason: String,
}

/// The decision of a review, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub decision: ReviewDecision,
    pub rationale: String,
}

impl DecisionInput {
    pub fn validate(&self) -> Result<DecisionInput, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let rationale = clean(&mut e, "rationale", &self.rationale, 1, 4000, true);
        if e.is_empty() {
            Ok(DecisionInput {
                decision: self.decision,
                rationale,
            })
        } else {
            Err(e)
        }
    }
}

/// One party's signature on a review decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewSignature {
    pub organization_id: OrgId,
    pub user_id: UserId,
    pub name: String,
    pub signed_at: DateTime<Utc>,
}

/// The packet: what the parties (and their boards) look at in a review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewPacket {
    /// The day the figures were taken.
    pub as_of: NaiveDate,
    /// The charter version the metrics and commitments come from.
    pub charter_version: Option<u32>,
    pub metrics: Vec<MetricAttainment>,
    pub rollup: Rollup,
    pub commitments: Vec<CommitmentState>,
    pub commitments_late: usize,
    pub commitments_done: usize,
    pub cadence: Adherence,
    pub open_actions: Vec<ActionItem>,
}

/// A review.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Review {
    pub partnership_id: i64,
    /// 1, 2, … per partnership.
    pub number: u32,
    pub status: ReviewStatus,
    pub trigger: ReviewTrigger,
    pub reason: String,
    pub due_on: NaiveDate,
    pub opened_at: DateTime<Utc>,
    pub opened_by: String,
    pub decision: Option<ReviewDecision>,
    pub rationale: String,
    pub decided_by: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub signatures: Vec<ReviewSignature>,
    /// Parties still to sign the decision.
    pub awaiting: Vec<OrgId>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Live while the review is open; frozen when the decision is recorded, so the signed
    /// decision and its packet stay together.
    pub packet: ReviewPacket,
}

/// A partnership's reviews and when the next one falls due.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReviewsOverview {
    /// Newest first.
    pub reviews: Vec<Review>,
    /// Months between reviews, from the effective charter.
    pub interval_months: Option<u32>,
    /// When the next scheduled review is due (`None` without an interval or while one is open).
    pub next_due: Option<NaiveDate>,
}

/// When the next review is due: `interval_months` after `anchor` (the day the charter took effect
/// or the last review closed). `None` without an interval.
pub fn next_review_due(interval_months: Option<u32>, anchor: NaiveDate) -> Option<NaiveDate> {
    let m = interval_months.filter(|m| *m > 0)?;
    anchor.checked_add_months(chrono::Months::new(m))
}

/// Parties whose signature is still missing.
pub fn awaiting(parties: &[OrgId], signatures: &[ReviewSignature]) -> Vec<OrgId> {
    parties
        .iter()
        .filter(|p| !signatures.iter().any(|s| s.organization_id == **p))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn commitment() -> Commitment {
        Commitment {
            id: Some(2),
            party: OrgId(1),
            what: "Open Saturday clinic".into(),
            due_on: d("2026-03-31"),
            status: CommitmentStatus::Open,
        }
    }

    #[test]
    fn late_commitments_are_flagged() {
        let c = commitment();
        let s = commitment_state(&c, None, d("2026-03-31"));
        assert_eq!((s.status, s.late), (CommitmentStatus::Open, false));
        let s = commitment_state(&c, None, d("2026-04-10"));
        assert_eq!(
            (s.status, s.late, s.days_late),
            (CommitmentStatus::Late, true, Some(10))
        );
        let done = CommitmentReport {
            status: CommitmentStatus::Done,
            note: String::new(),
            reported_by: "Ana".into(),
            reported_at: Utc::now(),
        };
        let s = commitment_state(&c, Some(&done), d("2026-04-10"));
        assert_eq!((s.status, s.late), (CommitmentStatus::Done, false));
        assert!(CommitmentUpdate {
            status: CommitmentStatus::Late,
            note: String::new()
        }
        .validate()
        .is_err());
        assert_eq!(
            CommitmentUpdate {
                status: CommitmentStatus::Dropped,
                note: " ".into()
            }
            .validate()
            .unwrap_err()
            .errors()[0]
                .field,
            "note"
        );
    }

    #[test]
    fn reviews_fall_due_after_the_interval() {
        assert_eq!(
            next_review_due(Some(12), d("2025-01-31")),
            Some(d("2026-01-31"))
        );
        assert_eq!(
            next_review_due(Some(1), d("2025-01-31")),
            Some(d("2025-02-28"))
        );
        assert_eq!(next_review_due(None, d("2025-01-31")), None);
        assert_eq!(ReviewDecision::Exit.next_stage(), Stage::Ending);
        assert_eq!(ReviewDecision::Expand.next_stage(), Stage::Active);
        assert!(DecisionInput {
            decision: ReviewDecision::Continue,
            rationale: "".into()
        }
        .validate()
        .is_err());
    }
}
