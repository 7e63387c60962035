//! The stakeholder roster of both parties, departures with their re-education tasks, successors
//! and briefing (the continuity rule is in `concord_domain::health::stakeholder`).
//!
//! The roster is shared: every party sees every party's people. A party changes only its own
//! people and completes only its own tasks (403 otherwise). A departed key person's organization
//! gets one task per re-education topic in the departure's transaction; `briefed_on` is set
//! automatically, in the same transaction as the write that completes the handover (naming the
//! successor when every task is done, or marking the last task done once a successor is named).

use chrono::{DateTime, NaiveDate, Utc};

use concord_domain::account::Acting;
use concord_domain::health::stakeholder::{
    continuity_alerts, handover_complete, re_education_topics, ContinuityAlert, ContinuityTask,
    DepartureInput, Roster, Stakeholder, StakeholderInput, SuccessorInput, TaskStatus,
};
use concord_domain::health::{Level, StakeholderRole, StakeholderStatus};
use concord_domain::partnership::Partnership;
use concord_domain::{OrgId, PartnershipId, ValidationErrors};

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::meetings::person_name;
use crate::partnerships::ensure_not_archived;
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow, Clone)]
struct StakeholderRow {
    id: i64,
    partnership_id: i64,
    organization_id: i64,
    name: String,
    title: String,
    email: String,
    role: String,
    influence: String,
    engagement: String,
    status: String,
    departed_on: Option<NaiveDate>,
    successor_id: Option<i64>,
    briefed_on: Option<NaiveDate>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, partnership_id, organization_id, name, title, email, role, influence, engagement, \
     status, departed_on, successor_id, briefed_on, created_at, updated_at";

impl StakeholderRow {
    fn into_stakeholder(self) -> Result<Stakeholder, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("stakeholder {}: {what}", self.id));
        Ok(Stakeholder {
            role: self.role.parse().map_err(|_| bad("role"))?,
            influence: self
                .influence
                .parse::<Level>()
                .map_err(|_| bad("influence"))?,
            engagement: self
                .engagement
                .parse::<Level>()
                .map_err(|_| bad("engagement"))?,
            status: self
                .status
                .parse::<StakeholderStatus>()
                .map_err(|_| bad("status"))?,
            id: self.id,
            partnership_id: self.partnership_id,
            organization_id: OrgId(self.organization_id),
            name: self.name,
            title: self.title,
            email: self.email,
            departed_on: self.departed_on,
            successor_id: self.successor_id,
            briefed_on: self.briefed_on,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    stakeholder_id: i64,
    organization_id: i64,
    topic: String,
    what: String,
    status: String,
    created_at: DateTime<Utc>,
    done_at: Option<DateTime<Utc>>,
    done_by_name: String,
}

const TASK_COLUMNS: &str =
    "id, stakeholder_id, organization_id, topic, what, status, created_at, done_at, done_by_name";

impl From<TaskRow> for ContinuityTask {
    fn from(r: TaskRow) -> ContinuityTask {
        ContinuityTask {
            id: r.id,
            stakeholder_id: r.stakeholder_id,
            organization_id: OrgId(r.organization_id),
            topic: r.topic,
            what: r.what,
            status: r.status.parse().unwrap_or(TaskStatus::Open),
            created_at: r.created_at,
            done_at: r.done_at,
            done_by: r.done_by_name,
        }
    }
}

fn stakeholder_json(s: &StakeholderRow) -> serde_json::Value {
    serde_json::json!({
        "organization_id": s.organization_id,
        "name": s.name,
        "title": s.title,
        "email": s.email,
        "role": s.role,
        "influence": s.influence,
        "engagement": s.engagement,
        "status": s.status,
        "departed_on": s.departed_on,
        "successor_id": s.successor_id,
        "briefed_on": s.briefed_on,
    })
}

fn input_json(i: &StakeholderInput) -> serde_json::Value {
    serde_json::to_value(i).unwrap_or_default()
}

fn org_name(p: &Partnership, org: i64) -> String {
    p.parties
        .iter()
        .find(|x| x.organization_id.0 == org)
        .map(|x| x.organization_name.clone())
        .unwrap_or_else(|| format!("organization {org}"))
}

/// A party changes only its own people: another party's person is refused (403), since the
/// roster is shared and visible to both. Operators pass.
fn own_person(actor: &Actor, p: &Partnership, org: i64, what: &str) -> Result<(), StoreError> {
    match actor.org_id() {
        Some(mine) if mine != org => Err(StoreError::Forbidden(format!(
            "{what} belongs to {}; only members of {} change their own people and tasks",
            org_name(p, org),
            org_name(p, org)
        ))),
        _ => Ok(()),
    }
}

fn not_found() -> StoreError {
    StoreError::NotFound {
        entity: "stakeholder",
    }
}

impl Store {
    /// The roster of both parties, with the re-education tasks and the continuity alerts as they
    /// stand on `today`.
    pub async fn stakeholders(
        &self,
        actor: &Actor,
        id: PartnershipId,
        today: NaiveDate,
    ) -> Result<(Partnership, Roster), StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let roster = self.roster_of(&p, today).await?;
        Ok((p, roster))
    }

    /// The roster of a partnership the caller has already been allowed to see.
    pub async fn roster_of(&self, p: &Partnership, today: NaiveDate) -> Result<Roster, StoreError> {
        let (rows, tasks): (Vec<StakeholderRow>, Vec<TaskRow>) = run!(&self.read, |c| {
            let rows = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM stakeholders WHERE partnership_id = $1 ORDER BY id"
            ))
            .bind(p.id.0)
            .fetch_all(c)
            .await?;
            let tasks = sqlx::query_as(&format!(
                "SELECT {TASK_COLUMNS} FROM continuity_tasks WHERE partnership_id = $1 ORDER BY id"
            ))
            .bind(p.id.0)
            .fetch_all(c)
            .await?;
            (rows, tasks)
        });
        let mut people = rows
            .into_iter()
            .map(StakeholderRow::into_stakeholder)
            .collect::<Result<Vec<_>, _>>()?;
        let position = |org: OrgId| {
            p.parties
                .iter()
                .position(|x| x.organization_id == org)
                .unwrap_or(usize::MAX)
        };
        people.sort_by_key(|s| {
            (
                s.status != StakeholderStatus::Active,
                position(s.organization_id),
                s.name.to_lowercase(),
                s.id,
            )
        });
        let mut tasks: Vec<ContinuityTask> = tasks.into_iter().map(Into::into).collect();
        tasks.sort_by_key(|t| (t.status != TaskStatus::Open, t.stakeholder_id, t.id));
        let alerts = continuity_alerts(&people, &tasks, today);
        Ok(Roster {
            people,
            tasks,
            alerts,
        })
    }

    /// The continuity alerts of a partnership the caller has already scoped (for the health
    /// score and the early warnings).
    pub async fn continuity_alerts_of(
        &self,
        p: &Partnership,
        today: NaiveDate,
    ) -> Result<Vec<ContinuityAlert>, StoreError> {
        Ok(self.roster_of(p, today).await?.alerts)
    }

    /// Adds a person to the roster. The organization must be a party (422 `organization_id`),
    /// and the acting organization adds only its own people (403).
    pub async fn add_stakeholder(
        &self,
        actor: &Actor,
        id: PartnershipId,
        input: &StakeholderInput,
    ) -> Result<Stakeholder, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let parties: Vec<OrgId> = p.parties.iter().map(|x| x.organization_id).collect();
        let v = input.validate(&parties)?;
        own_person(actor, &p, v.organization_id.0, "That person")?;
        let orgs: Vec<i64> = parties.iter().map(|o| o.0).collect();
        let ts = now();
        let row: StakeholderRow = run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let row: StakeholderRow = sqlx::query_as(&format!(
                "INSERT INTO stakeholders (partnership_id, organization_id, name, title, email, role, influence, engagement, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $9) RETURNING {COLUMNS}"
            ))
            .bind(id.0)
            .bind(v.organization_id.0)
            .bind(&v.name)
            .bind(&v.title)
            .bind(&v.email)
            .bind(v.role.as_str())
            .bind(v.influence.as_str())
            .bind(v.engagement.as_str())
            .bind(ts)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "add_stakeholder",
                "stakeholder",
                row.id,
                orgs.iter().copied(),
                None,
                Some(input_json(&v))
            );
            tx.commit().await?;
            row
        });
        row.into_stakeholder()
    }

    /// Edits an active person of the acting organization. The organization cannot change
    /// (422 `organization_id`); a departed person's record is closed (409 `departed`).
    pub async fn update_stakeholder(
        &self,
        actor: &Actor,
        id: PartnershipId,
        stakeholder: i64,
        input: &StakeholderInput,
    ) -> Result<Stakeholder, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let parties: Vec<OrgId> = p.parties.iter().map(|x| x.organization_id).collect();
        let orgs: Vec<i64> = parties.iter().map(|o| o.0).collect();
        let ts = now();
        let row: StakeholderRow = run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let before: Option<StakeholderRow> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM stakeholders WHERE id = $1 AND partnership_id = $2"
            ))
            .bind(stakeholder)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(before) = before else {
                return Err(not_found());
            };
            own_person(actor, &p, before.organization_id, &before.name)?;
            let v = input.validate(&parties)?;
            if v.organization_id.0 != before.organization_id {
                return Err(StoreError::Validation(ValidationErrors::single(
                    "organization_id",
                    "cannot_change",
                    format!(
                        "{} is on the roster for {}; add the person again for another party",
                        before.name,
                        org_name(&p, before.organization_id)
                    ),
                )));
            }
            if before.status == StakeholderStatus::Departed.as_str() {
                return Err(StoreError::Refused {
                    field: "status".into(),
                    code: "departed",
                    message: format!("{} has departed; their record is closed", before.name),
                });
            }
            let row: StakeholderRow = sqlx::query_as(&format!(
                "UPDATE stakeholders SET name = $3, title = $4, email = $5, role = $6, influence = $7, engagement = $8, updated_at = $9 \
                 WHERE id = $1 AND partnership_id = $2 RETURNING {COLUMNS}"
            ))
            .bind(stakeholder)
            .bind(id.0)
            .bind(&v.name)
            .bind(&v.title)
            .bind(&v.email)
            .bind(v.role.as_str())
            .bind(v.influence.as_str())
            .bind(v.engagement.as_str())
            .bind(ts)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "update_stakeholder",
                "stakeholder",
                stakeholder,
                orgs.iter().copied(),
                Some(stakeholder_json(&before)),
                Some(stakeholder_json(&row))
            );
            tx.commit().await?;
            row
        });
        row.into_stakeholder()
    }

    /// Records that a person left the role. For a key role (sponsor, champion, alliance
    /// manager) the re-education tasks are raised for their organization in the same
    /// transaction. Already departed: 409 `already_departed`.
    pub async fn depart_stakeholder(
        &self,
        actor: &Actor,
        id: PartnershipId,
        stakeholder: i64,
        input: &DepartureInput,
        today: NaiveDate,
    ) -> Result<Stakeholder, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let ts = now();
        let row: StakeholderRow = run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let before: Option<StakeholderRow> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM stakeholders WHERE id = $1 AND partnership_id = $2"
            ))
            .bind(stakeholder)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(before) = before else {
                return Err(not_found());
            };
            own_person(actor, &p, before.organization_id, &before.name)?;
            let on = input.validate(today)?;
            if before.status == StakeholderStatus::Departed.as_str() {
                return Err(StoreError::Refused {
                    field: "departed_on".into(),
                    code: "already_departed",
                    message: format!("{} has already departed", before.name),
                });
            }
            let row: StakeholderRow = sqlx::query_as(&format!(
                "UPDATE stakeholders SET status = 'departed', departed_on = $3, updated_at = $4 \
                 WHERE id = $1 AND partnership_id = $2 AND status = 'active' RETURNING {COLUMNS}"
            ))
            .bind(stakeholder)
            .bind(id.0)
            .bind(on)
            .bind(ts)
            .fetch_one(&mut *tx)
            .await?;
            let key = before
                .role
                .parse::<StakeholderRole>()
                .is_ok_and(StakeholderRole::is_key);
            let mut raised = Vec::new();
            if key {
                for (topic, what) in re_education_topics() {
                    sqlx::query(
                        "INSERT INTO continuity_tasks (partnership_id, stakeholder_id, organization_id, topic, what, status, created_at) \
                         VALUES ($1, $2, $3, $4, $5, 'open', $6)",
                    )
                    .bind(id.0)
                    .bind(stakeholder)
                    .bind(before.organization_id)
                    .bind(*topic)
                    .bind(*what)
                    .bind(ts)
                    .execute(&mut *tx)
                    .await?;
                    raised.push(*topic);
                }
            }
            audit!(
                &mut *tx,
                actor,
                "depart_stakeholder",
                "stakeholder",
                stakeholder,
                orgs.iter().copied(),
                Some(stakeholder_json(&before)),
                Some(serde_json::json!({
                    "status": "departed",
                    "departed_on": on,
                    "continuity_tasks": raised,
                }))
            );
            tx.commit().await?;
            row
        });
        row.into_stakeholder()
    }

    /// Names the successor of a departed person: an active person of the same organization on
    /// this roster (422 `successor_id` otherwise). When every re-education task is already done,
    /// the successor is briefed at once. Refused (409) for a person still active
    /// (`not_departed`) or whose successor is already briefed (`already_briefed`).
    pub async fn name_successor(
        &self,
        actor: &Actor,
        id: PartnershipId,
        stakeholder: i64,
        input: &SuccessorInput,
        today: NaiveDate,
    ) -> Result<Stakeholder, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let ts = now();
        let row: StakeholderRow = run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let before: Option<StakeholderRow> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM stakeholders WHERE id = $1 AND partnership_id = $2"
            ))
            .bind(stakeholder)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(before) = before else {
                return Err(not_found());
            };
            own_person(actor, &p, before.organization_id, &before.name)?;
            if before.status != StakeholderStatus::Departed.as_str() {
                return Err(StoreError::Refused {
                    field: "successor_id".into(),
                    code: "not_departed",
                    message: format!(
                        "{} is still active; record the departure first",
                        before.name
                    ),
                });
            }
            if before.briefed_on.is_some() {
                return Err(StoreError::Refused {
                    field: "successor_id".into(),
                    code: "already_briefed",
                    message: format!("{}'s successor is already named and briefed", before.name),
                });
            }
            let successor: Option<StakeholderRow> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM stakeholders WHERE id = $1 AND partnership_id = $2"
            ))
            .bind(input.successor_id)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
            let problem = match &successor {
                None => Some(format!(
                    "person {} is not on this partnership's roster",
                    input.successor_id
                )),
                Some(s) if s.id == before.id => {
                    Some("a person cannot succeed themselves".to_string())
                }
                Some(s) if s.organization_id != before.organization_id => Some(format!(
                    "{} is with {}; the successor must be with {}",
                    s.name,
                    org_name(&p, s.organization_id),
                    org_name(&p, before.organization_id)
                )),
                Some(s) if s.status != StakeholderStatus::Active.as_str() => Some(format!(
                    "{} has departed too; name an active person",
                    s.name
                )),
                Some(_) => None,
            };
            if let Some(message) = problem {
                return Err(StoreError::Validation(ValidationErrors::single(
                    "successor_id",
                    "invalid_successor",
                    message,
                )));
            }
            let open: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM continuity_tasks WHERE stakeholder_id = $1 AND status = 'open'",
            )
            .bind(stakeholder)
            .fetch_one(&mut *tx)
            .await?;
            let briefed =
                handover_complete(Some(input.successor_id), open.max(0) as usize).then_some(today);
            let row: StakeholderRow = sqlx::query_as(&format!(
                "UPDATE stakeholders SET successor_id = $3, briefed_on = $4, updated_at = $5 \
                 WHERE id = $1 AND partnership_id = $2 RETURNING {COLUMNS}"
            ))
            .bind(stakeholder)
            .bind(id.0)
            .bind(input.successor_id)
            .bind(briefed)
            .bind(ts)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "name_successor",
                "stakeholder",
                stakeholder,
                orgs.iter().copied(),
                Some(serde_json::json!({ "successor_id": before.successor_id })),
                Some(
                    serde_json::json!({ "successor_id": input.successor_id, "briefed_on": briefed })
                )
            );
            tx.commit().await?;
            row
        });
        row.into_stakeholder()
    }

    /// Marks a re-education task done. Only contributors and above of the task's organization
    /// may (403 otherwise); a done task: 409 `already_done`. Marking the last open task done once
    /// a successor is named briefs the successor (sets `briefed_on`) in the same transaction.
    pub async fn complete_task(
        &self,
        actor: &Actor,
        id: PartnershipId,
        task: i64,
        today: NaiveDate,
    ) -> Result<ContinuityTask, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let ts = now();
        let name = person_name(actor);
        let row: TaskRow = run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let before: Option<TaskRow> = sqlx::query_as(&format!(
                "SELECT {TASK_COLUMNS} FROM continuity_tasks WHERE id = $1 AND partnership_id = $2"
            ))
            .bind(task)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(before) = before else {
                return Err(StoreError::NotFound {
                    entity: "continuity task",
                });
            };
            own_person(actor, &p, before.organization_id, "This continuity task")?;
            if before.status == TaskStatus::Done.as_str() {
                return Err(StoreError::Refused {
                    field: "status".into(),
                    code: "already_done",
                    message: "this continuity task is already done".into(),
                });
            }
            let row: TaskRow = sqlx::query_as(&format!(
                "UPDATE continuity_tasks SET status = 'done', done_at = $3, done_by_name = $4 \
                 WHERE id = $1 AND partnership_id = $2 AND status = 'open' RETURNING {TASK_COLUMNS}"
            ))
            .bind(task)
            .bind(id.0)
            .bind(ts)
            .bind(&name)
            .fetch_one(&mut *tx)
            .await?;
            let (successor, open): (Option<i64>, i64) = sqlx::query_as(
                "SELECT s.successor_id, (SELECT COUNT(*) FROM continuity_tasks t WHERE t.stakeholder_id = s.id AND t.status = 'open') \
                 FROM stakeholders s WHERE s.id = $1",
            )
            .bind(before.stakeholder_id)
            .fetch_one(&mut *tx)
            .await?;
            let briefed = handover_complete(successor, open.max(0) as usize);
            if briefed {
                sqlx::query(
                    "UPDATE stakeholders SET briefed_on = $2, updated_at = $3 WHERE id = $1 AND briefed_on IS NULL",
                )
                .bind(before.stakeholder_id)
                .bind(today)
                .bind(ts)
                .execute(&mut *tx)
                .await?;
            }
            audit!(
                &mut *tx,
                actor,
                "complete_continuity_task",
                "continuity_task",
                task,
                orgs.iter().copied(),
                Some(serde_json::json!({ "status": before.status })),
                Some(serde_json::json!({
                    "status": "done",
                    "stakeholder_id": before.stakeholder_id,
                    "topic": before.topic,
                    "successor_briefed": briefed,
                }))
            );
            tx.commit().await?;
            row
        });
        Ok(row.into())
    }
}
