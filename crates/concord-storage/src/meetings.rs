//! Meetings with their action items, the cadence they keep, and status reports on the charter's
//! commitments.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;

use concord_domain::account::Acting;
use concord_domain::charter::{CommitmentStatus, MeetingCadence};
use concord_domain::meeting::{
    cadence_adherence, is_late, ActionItem, ActionStatus, ActionUpdate, Adherence, Attendee,
    Meeting, MeetingInput, MeetingKind,
};
use concord_domain::partnership::Partnership;
use concord_domain::review::{
    commitment_state, CommitmentReport, CommitmentState, CommitmentUpdate,
};
use concord_domain::{OrgId, PartnershipId, ValidationErrors};

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::ledger::EffectiveCharter;
use crate::partnerships::ensure_not_archived;
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow)]
struct MeetingRow {
    id: i64,
    partnership_id: i64,
    held_on: NaiveDate,
    kind: String,
    attendees: Json<Vec<Attendee>>,
    notes: String,
    decisions: Json<Vec<String>>,
    recorded_by_name: String,
    recorded_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ActionRow {
    id: i64,
    meeting_id: i64,
    what: String,
    owner_org: i64,
    owner_name: String,
    due_on: NaiveDate,
    status: String,
    note: String,
}

impl ActionRow {
    fn into_item(self, today: NaiveDate) -> ActionItem {
        let status = self.status.parse().unwrap_or(ActionStatus::Open);
        ActionItem {
            id: self.id,
            meeting_id: self.meeting_id,
            what: self.what,
            owner: OrgId(self.owner_org),
            owner_name: self.owner_name,
            due_on: self.due_on,
            status,
            late: is_late(status, self.due_on, today),
            note: self.note,
        }
    }
}

const ACTION_COLUMNS: &str = "id, meeting_id, what, owner_org, owner_name, due_on, status, note";

#[derive(sqlx::FromRow)]
struct ReportRow {
    commitment_id: i32,
    status: String,
    note: String,
    reported_by_name: String,
    reported_at: DateTime<Utc>,
}

pub(crate) fn person_name(actor: &Actor) -> String {
    match &actor.acting {
        Some(a) => format!("{} ({})", a.display_name, a.org_name),
        None => format!("operator ({})", actor.label),
    }
}

fn writer(actor: &Actor) -> Result<(), StoreError> {
    actor.check(Acting::require_contributor)
}

impl Store {
    /// Every meeting of the partnership, newest first, with its action items.
    pub async fn meetings(
        &self,
        actor: &Actor,
        id: PartnershipId,
        today: NaiveDate,
    ) -> Result<Vec<Meeting>, StoreError> {
        self.get_partnership(actor, id).await?;
        self.meetings_of(id, today).await
    }

    pub(crate) async fn meetings_of(
        &self,
        id: PartnershipId,
        today: NaiveDate,
    ) -> Result<Vec<Meeting>, StoreError> {
        let (rows, actions): (Vec<MeetingRow>, Vec<ActionRow>) = run!(&self.read, |c| {
            let rows = sqlx::query_as(
                "SELECT id, partnership_id, held_on, kind, attendees, notes, decisions, recorded_by_name, recorded_at \
                 FROM meetings WHERE partnership_id = $1 ORDER BY held_on DESC, id DESC",
            )
            .bind(id.0)
            .fetch_all(c)
            .await?;
            let actions = sqlx::query_as(&format!(
                "SELECT {ACTION_COLUMNS} FROM meeting_actions WHERE partnership_id = $1 ORDER BY due_on, id"
            ))
            .bind(id.0)
            .fetch_all(c)
            .await?;
            (rows, actions)
        });
        let mut by_meeting: HashMap<i64, Vec<ActionItem>> = HashMap::new();
        for a in actions {
            by_meeting
                .entry(a.meeting_id)
                .or_default()
                .push(a.into_item(today));
        }
        Ok(rows
            .into_iter()
            .map(|r| Meeting {
                id: r.id,
                partnership_id: r.partnership_id,
                held_on: r.held_on,
                kind: r.kind.parse().unwrap_or(MeetingKind::Working),
                attendees: r.attendees.0,
                notes: r.notes,
                decisions: r.decisions.0,
                actions: by_meeting.remove(&r.id).unwrap_or_default(),
                recorded_by: r.recorded_by_name,
                recorded_at: r.recorded_at,
            })
            .collect())
    }

    /// One meeting.
    pub async fn meeting(
        &self,
        actor: &Actor,
        id: PartnershipId,
        meeting_id: i64,
        today: NaiveDate,
    ) -> Result<Meeting, StoreError> {
        self.meetings(actor, id, today)
            .await?
            .into_iter()
            .find(|m| m.id == meeting_id)
            .ok_or(StoreError::NotFound { entity: "meeting" })
    }

    /// Records a meeting held by `today`, with its action items.
    pub async fn record_meeting(
        &self,
        actor: &Actor,
        id: PartnershipId,
        input: &MeetingInput,
        today: NaiveDate,
    ) -> Result<Meeting, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        writer(actor)?;
        ensure_not_archived(&p)?;
        let parties: Vec<OrgId> = p.parties.iter().map(|x| x.organization_id).collect();
        let m = input
            .validate(&parties, today)
            .map_err(StoreError::Validation)?;
        let orgs: Vec<i64> = parties.iter().map(|o| o.0).collect();
        let ts = now();
        let name = person_name(actor);
        let meeting_id = run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let mid: i64 = sqlx::query_scalar(
                "INSERT INTO meetings (partnership_id, held_on, kind, attendees, notes, decisions, recorded_by_name, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(id.0)
            .bind(m.held_on)
            .bind(m.kind.as_str())
            .bind(Json(&m.attendees))
            .bind(&m.notes)
            .bind(Json(&m.decisions))
            .bind(&name)
            .bind(ts)
            .fetch_one(&mut *tx)
            .await?;
            for a in &m.actions {
                sqlx::query(
                    "INSERT INTO meeting_actions (meeting_id, partnership_id, what, owner_org, owner_name, due_on, status, note, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'open', '', $7)",
                )
                .bind(mid)
                .bind(id.0)
                .bind(&a.what)
                .bind(a.owner.0)
                .bind(&a.owner_name)
                .bind(a.due_on)
                .bind(ts)
                .execute(&mut *tx)
                .await?;
            }
            audit!(
                &mut *tx,
                actor,
                "record_meeting",
                "meeting",
                mid,
                orgs.iter().copied(),
                None,
                Some(serde_json::to_value(&m).unwrap_or_default())
            );
            tx.commit().await?;
            mid
        });
        self.meeting(actor, id, meeting_id, today).await
    }

    /// Marks an action item done, dropped or open again.
    pub async fn update_action(
        &self,
        actor: &Actor,
        id: PartnershipId,
        action_id: i64,
        input: &ActionUpdate,
        today: NaiveDate,
    ) -> Result<ActionItem, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        writer(actor)?;
        ensure_not_archived(&p)?;
        let u = input.validate().map_err(StoreError::Validation)?;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let ts = now();
        let row: ActionRow = run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let before: Option<ActionRow> = sqlx::query_as(&format!(
                "SELECT {ACTION_COLUMNS} FROM meeting_actions WHERE id = $1 AND partnership_id = $2"
            ))
            .bind(action_id)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(before) = before else {
                return Err(StoreError::NotFound {
                    entity: "action item",
                });
            };
            sqlx::query(
                "UPDATE meeting_actions SET status = $3, note = $4, updated_at = $5 WHERE id = $1 AND partnership_id = $2",
            )
            .bind(action_id)
            .bind(id.0)
            .bind(u.status.as_str())
            .bind(&u.note)
            .bind(ts)
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "update_action",
                "meeting_action",
                action_id,
                orgs.iter().copied(),
                Some(serde_json::json!({ "status": before.status, "note": before.note })),
                Some(serde_json::json!({ "status": u.status, "note": u.note }))
            );
            tx.commit().await?;
            ActionRow {
                status: u.status.as_str().to_string(),
                note: u.note.clone(),
                ..before
            }
        });
        Ok(row.into_item(today))
    }

    /// Open action items of every meeting, soonest due first.
    pub(crate) async fn open_actions_of(
        &self,
        id: PartnershipId,
        today: NaiveDate,
    ) -> Result<Vec<ActionItem>, StoreError> {
        let rows: Vec<ActionRow> = run!(&self.read, |c| {
            sqlx::query_as(&format!(
                "SELECT {ACTION_COLUMNS} FROM meeting_actions WHERE partnership_id = $1 AND status = 'open' ORDER BY due_on, id"
            ))
            .bind(id.0)
            .fetch_all(c)
            .await?
        });
        Ok(rows.into_iter().map(|r| r.into_item(today)).collect())
    }

    /// Steering meetings against the charter's cadence, counted from the charter's start (or
    /// when the partnership went active, or the charter took effect).
    pub async fn cadence_of(
        &self,
        p: &Partnership,
        charter: Option<&EffectiveCharter>,
        today: NaiveDate,
    ) -> Result<Adherence, StoreError> {
        let (dates, went): (Vec<NaiveDate>, Option<DateTime<Utc>>) = run!(&self.read, |c| {
            let dates = sqlx::query_scalar(
                "SELECT held_on FROM meetings WHERE partnership_id = $1 AND kind = 'steering'",
            )
            .bind(p.id.0)
            .fetch_all(c)
            .await?;
            let went = sqlx::query_scalar(
                "SELECT MIN(changed_at) FROM stage_changes WHERE partnership_id = $1 AND to_stage = 'active'",
            )
            .bind(p.id.0)
            .fetch_one(c)
            .await?;
            (dates, went)
        });
        let cadence: Option<MeetingCadence> =
            charter.and_then(|c| c.content.governance.meeting_cadence);
        // The charter's start when it names one (a partnership may predate Concord), else the
        // day it went active, else the day the charter took effect.
        let since = charter
            .and_then(|c| c.content.starts_on)
            .or_else(|| went.map(|t| t.date_naive()))
            .or_else(|| charter.map(|c| c.effective_at.date_naive()))
            .unwrap_or(today);
        Ok(cadence_adherence(cadence, since, today, &dates))
    }

    /// The charter's commitments as they stand on `today`.
    pub async fn commitments(
        &self,
        actor: &Actor,
        id: PartnershipId,
        today: NaiveDate,
    ) -> Result<Vec<CommitmentState>, StoreError> {
        self.get_partnership(actor, id).await?;
        let charter = self.effective_charter(id).await?;
        self.commitments_of(id, charter.as_ref(), today).await
    }

    pub(crate) async fn commitments_of(
        &self,
        id: PartnershipId,
        charter: Option<&EffectiveCharter>,
        today: NaiveDate,
    ) -> Result<Vec<CommitmentState>, StoreError> {
        let Some(charter) = charter else {
            return Ok(Vec::new());
        };
        let rows: Vec<ReportRow> = run!(&self.read, |c| {
            sqlx::query_as(
                "SELECT commitment_id, status, note, reported_by_name, reported_at FROM commitment_reports \
                 WHERE partnership_id = $1 ORDER BY id",
            )
            .bind(id.0)
            .fetch_all(c)
            .await?
        });
        let mut latest: HashMap<u32, CommitmentReport> = HashMap::new();
        for r in rows {
            latest.insert(
                r.commitment_id.max(0) as u32,
                CommitmentReport {
                    status: r.status.parse().unwrap_or(CommitmentStatus::Open),
                    note: r.note,
                    reported_by: r.reported_by_name,
                    reported_at: r.reported_at,
                },
            );
        }
        let mut out: Vec<CommitmentState> = charter
            .content
            .commitments
            .iter()
            .map(|c| commitment_state(c, latest.get(&c.id.unwrap_or(0)), today))
            .collect();
        out.sort_by_key(|c| (c.due_on, c.id));
        Ok(out)
    }

    /// Reports a commitment done, dropped or open again; only its party's members may.
    pub async fn report_commitment(
        &self,
        actor: &Actor,
        id: PartnershipId,
        commitment_id: u32,
        input: &CommitmentUpdate,
        today: NaiveDate,
    ) -> Result<CommitmentState, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        writer(actor)?;
        ensure_not_archived(&p)?;
        let charter = self.effective_charter(id).await?;
        let Some(c) = charter.as_ref().and_then(|ch| {
            ch.content
                .commitments
                .iter()
                .find(|c| c.id == Some(commitment_id))
        }) else {
            return Err(StoreError::NotFound {
                entity: "commitment",
            });
        };
        if let Some(org) = actor.org_id() {
            if c.party.0 != org {
                return Err(StoreError::Validation(ValidationErrors::single(
                    "commitment_id",
                    "not_your_commitment",
                    format!(
                        "commitment {commitment_id} is organization {}'s; only its members report on it",
                        c.party
                    ),
                )));
            }
        }
        let u = input.validate().map_err(StoreError::Validation)?;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let ts = now();
        let name = person_name(actor);
        run!(&self.write, |x| {
            let mut tx = x.begin_with(begin_write(self.backend)).await?;
            sqlx::query(
                "INSERT INTO commitment_reports (partnership_id, commitment_id, status, note, organization_id, reported_by_name, reported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id.0)
            .bind(commitment_id as i32)
            .bind(u.status.as_str())
            .bind(&u.note)
            .bind(c.party.0)
            .bind(&name)
            .bind(ts)
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "report_commitment",
                "commitment",
                format!("{}/{commitment_id}", id.0),
                orgs.iter().copied(),
                None,
                Some(serde_json::json!({ "status": u.status, "note": u.note }))
            );
            tx.commit().await?;
        });
        let report = CommitmentReport {
            status: u.status,
            note: u.note,
            reported_by: name,
            reported_at: ts,
        };
        Ok(commitment_state(c, Some(&report), today))
    }
}
