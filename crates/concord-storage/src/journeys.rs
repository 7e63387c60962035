//! Consumer journeys: the design document per journey, trial runs and their feedback. A journey
//! is visible exactly when its partnership is; anyone else gets "not found".

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;

use concord_domain::account::Acting;
use concord_domain::journey::{
    gaps_of, Design, Feedback, Journey, JourneyExport, JourneyInput, JourneySummary, StageEdit,
    TrialRun, TrialRunInput, DEFAULT_LULL_DAYS,
};
use concord_domain::partnership::Partnership;
use concord_domain::{OrgId, PartnershipId, ValidationErrors};

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::partnerships::ensure_not_archived;
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow)]
struct JourneyRow {
    id: i64,
    partnership_id: i64,
    name: String,
    end_user: String,
    description: String,
    lull_threshold_days: i32,
    design: Json<Design>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl JourneyRow {
    fn into_journey(self) -> Result<Journey, StoreError> {
        Ok(Journey {
            end_user: self.end_user.parse().map_err(|_| {
                StoreError::Corrupt(format!("journey {}: end user {}", self.id, self.end_user))
            })?,
            id: self.id,
            partnership_id: PartnershipId(self.partnership_id),
            name: self.name,
            description: self.description,
            lull_threshold_days: self.lull_threshold_days.max(1) as u32,
            design: self.design.0,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    journey_id: i64,
    run_on: NaiveDate,
    participants: Json<Vec<String>>,
    notes: String,
    created_at: DateTime<Utc>,
}

/// A feedback row as read back in one aggregated JSON value (see [`Store::trial_runs_of`]).
#[derive(serde::Deserialize)]
struct FeedbackRow {
    id: i64,
    trial_run_id: i64,
    stage_id: i32,
    participant: String,
    what_happened: String,
    knew: String,
    felt: String,
    did: String,
    severity: String,
    addressed_at: Option<DateTime<Utc>>,
    addressed_note: String,
}

const SELECT: &str =
    "SELECT id, partnership_id, name, end_user, description, lull_threshold_days, design, \
     created_at, updated_at FROM journeys";

fn parties(p: &Partnership) -> Vec<OrgId> {
    p.parties.iter().map(|x| x.organization_id).collect()
}

fn orgs(p: &Partnership) -> Vec<i64> {
    p.parties.iter().map(|x| x.organization_id.0).collect()
}

fn not_found() -> StoreError {
    StoreError::NotFound { entity: "journey" }
}

impl Store {
    /// The partnership's journeys, with stage and gap counts.
    pub async fn journeys(
        &self,
        actor: &Actor,
        id: PartnershipId,
    ) -> Result<Vec<JourneySummary>, StoreError> {
        self.get_partnership(actor, id).await?;
        let sql = format!("{SELECT} WHERE partnership_id = $1 ORDER BY LOWER(name), id");
        let rows: Vec<JourneyRow> = run!(&self.read, |c| sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_all(c)
            .await?);
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let j = r.into_journey()?;
            let runs = self.trial_runs_of(j.id).await?;
            out.push(JourneySummary {
                id: j.id,
                partnership_id: j.partnership_id,
                stages: j.design.stages.len() as u32,
                gaps: gaps_of(&j, &runs).len() as u32,
                name: j.name,
                end_user: j.end_user,
                updated_at: j.updated_at,
            });
        }
        Ok(out)
    }

    /// A journey, its partnership and its trial runs, if the actor's organization is party to
    /// the partnership.
    pub async fn journey(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(Partnership, Journey, Vec<TrialRun>), StoreError> {
        let sql = format!("{SELECT} WHERE id = $1");
        let row: Option<JourneyRow> = run!(&self.read, |c| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(c)
            .await?);
        let j = row.ok_or_else(not_found)?.into_journey()?;
        let p = self
            .get_partnership(actor, j.partnership_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => not_found(),
                other => other,
            })?;
        let runs = self.trial_runs_of(j.id).await?;
        Ok((p, j, runs))
    }

    async fn trial_runs_of(&self, journey: i64) -> Result<Vec<TrialRun>, StoreError> {
        // A journey's feedback comes back as one JSON array: a long trial history is one row to
        // hand over instead of thousands (most of the cost of reading a large journey).
        let feedback_sql = match self.backend {
            crate::Backend::Sqlite => {
                "SELECT COALESCE(json_group_array(json_object('id', id, 'trial_run_id', trial_run_id, \
                 'stage_id', stage_id, 'participant', participant, 'what_happened', what_happened, 'knew', knew, \
                 'felt', felt, 'did', did, 'severity', severity, 'addressed_at', addressed_at, \
                 'addressed_note', addressed_note)), '[]') FROM trial_feedback WHERE journey_id = $1"
            }
            crate::Backend::Postgres => {
                "SELECT COALESCE(json_agg(json_build_object('id', id, 'trial_run_id', trial_run_id, \
                 'stage_id', stage_id, 'participant', participant, 'what_happened', what_happened, 'knew', knew, \
                 'felt', felt, 'did', did, 'severity', severity, 'addressed_at', addressed_at, \
                 'addressed_note', addressed_note)), '[]'::json)::text FROM trial_feedback WHERE journey_id = $1"
            }
        };
        let (runs, feedback) = run!(&self.read, |c| {
            let runs: Vec<RunRow> = sqlx::query_as(
                "SELECT id, journey_id, run_on, participants, notes, created_at FROM trial_runs \
                 WHERE journey_id = $1 ORDER BY run_on DESC, id DESC",
            )
            .bind(journey)
            .fetch_all(c)
            .await?;
            let feedback: String = sqlx::query_scalar(feedback_sql)
                .bind(journey)
                .fetch_one(c)
                .await?;
            (runs, feedback)
        });
        let mut feedback: Vec<FeedbackRow> = serde_json::from_str(&feedback)
            .map_err(|e| StoreError::Corrupt(format!("journey {journey}: feedback: {e}")))?;
        feedback.sort_by_key(|f| f.id);
        runs.into_iter()
            .map(|r| {
                let feedback = feedback
                    .iter()
                    .filter(|f| f.trial_run_id == r.id)
                    .map(|f| {
                        Ok(Feedback {
                            id: f.id,
                            trial_run_id: f.trial_run_id,
                            stage: f.stage_id as u32,
                            participant: f.participant.clone(),
                            what_happened: f.what_happened.clone(),
                            knew: f.knew.clone(),
                            felt: f.felt.clone(),
                            did: f.did.clone(),
                            severity: f.severity.parse().map_err(|_| {
                                StoreError::Corrupt(format!("feedback {}: severity", f.id))
                            })?,
                            addressed_at: f.addressed_at,
                            addressed_note: f.addressed_note.clone(),
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(TrialRun {
                    id: r.id,
                    journey_id: r.journey_id,
                    run_on: r.run_on,
                    participants: r.participants.0,
                    notes: r.notes,
                    feedback,
                    created_at: r.created_at,
                })
            })
            .collect()
    }

    /// Creates a journey on a partnership (contributors and above).
    pub async fn create_journey(
        &self,
        actor: &Actor,
        id: PartnershipId,
        input: &JourneyInput,
    ) -> Result<Journey, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let mut v = input.validate(&parties(&p), (0, 0, 0))?;
        let ts = now();
        v.design.stamp(&Design::default(), ts);
        self.insert_journey(actor, &p, &v, ts, Vec::new()).await
    }

    async fn insert_journey(
        &self,
        actor: &Actor,
        p: &Partnership,
        v: &JourneyInput,
        ts: DateTime<Utc>,
        runs: Vec<concord_domain::journey::TrialRunExport>,
    ) -> Result<Journey, StoreError> {
        let threshold = v.lull_threshold_days.unwrap_or(DEFAULT_LULL_DAYS) as i32;
        let jid = run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let jid: i64 = sqlx::query_scalar(
                "INSERT INTO journeys (partnership_id, name, end_user, description, lull_threshold_days, design, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            )
            .bind(p.id.0)
            .bind(&v.name)
            .bind(v.end_user.as_str())
            .bind(&v.description)
            .bind(threshold)
            .bind(Json(&v.design))
            .bind(ts)
            .fetch_one(&mut *tx)
            .await?;
            // Oldest first, so ids (and the order of same-day runs) follow the file's history.
            for r in runs.iter().rev() {
                let rid: i64 = sqlx::query_scalar(
                    "INSERT INTO trial_runs (journey_id, run_on, participants, notes, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(jid)
                .bind(r.run_on)
                .bind(Json(&r.participants))
                .bind(&r.notes)
                .bind(actor.user_id())
                .bind(ts)
                .fetch_one(&mut *tx)
                .await?;
                for f in &r.feedback {
                    sqlx::query(
                        "INSERT INTO trial_feedback (trial_run_id, journey_id, stage_id, participant, what_happened, \
                         knew, felt, did, severity, addressed_at, addressed_note) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(rid)
                    .bind(jid)
                    .bind(f.stage as i32)
                    .bind(&f.participant)
                    .bind(&f.what_happened)
                    .bind(&f.knew)
                    .bind(&f.felt)
                    .bind(&f.did)
                    .bind(f.severity.as_str())
                    .bind(f.addressed_at)
                    .bind(&f.addressed_note)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            audit!(
                &mut *tx,
                actor,
                if runs.is_empty() { "create" } else { "import" },
                "journey",
                jid,
                orgs(p),
                None,
                Some(serde_json::json!({
                    "partnership_id": p.id.0, "name": v.name, "end_user": v.end_user.as_str(),
                    "lull_threshold_days": threshold, "design": &v.design, "trial_runs": runs.len(),
                }))
            );
            tx.commit().await?;
            jid
        });
        Ok(self.journey(actor, jid).await?.1)
    }

    /// Imports a journey file (see [`concord_domain::journey::export`]) onto a partnership: all
    /// or nothing.
    pub async fn import_journey(
        &self,
        actor: &Actor,
        id: PartnershipId,
        file: &JourneyExport,
    ) -> Result<Journey, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let checked = file.validate(&parties(&p))?;
        let ts = now();
        let mut design = checked.design;
        // Keep the file's timestamps; stamp only what it lacks.
        for s in &mut design.stages {
            s.revised_at = s.revised_at.or(Some(ts));
        }
        let input = JourneyInput {
            name: checked.name,
            end_user: checked.end_user,
            description: checked.description,
            lull_threshold_days: Some(checked.lull_threshold_days),
            design,
        };
        self.insert_journey(actor, &p, &input, ts, checked.trial_runs)
            .await
    }

    /// Replaces a journey's name, end user, description, threshold and design.
    pub async fn update_journey(
        &self,
        actor: &Actor,
        id: i64,
        input: &JourneyInput,
    ) -> Result<Journey, StoreError> {
        let (p, j, _) = self.journey(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let mut v = input.validate(&parties(&p), j.design.max_ids())?;
        let ts = now();
        v.design.stamp(&j.design, ts);
        self.write_journey(actor, &p, &j, &v, ts, "update").await
    }

    /// Applies one stage edit to the design (read, change, validate, write if unchanged since).
    pub async fn edit_stages(
        &self,
        actor: &Actor,
        id: i64,
        edit: StageEdit,
    ) -> Result<Journey, StoreError> {
        self.edit_design(actor, id, "edit_stages", |d| d.apply(edit))
            .await
    }

    /// Changes the design with `change`, then validates and saves it.
    pub async fn edit_design(
        &self,
        actor: &Actor,
        id: i64,
        action: &str,
        change: impl FnOnce(&mut Design) -> Result<(), ValidationErrors>,
    ) -> Result<Journey, StoreError> {
        let (p, j, _) = self.journey(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let mut design = j.design.clone();
        change(&mut design)?;
        let input = JourneyInput {
            name: j.name.clone(),
            end_user: j.end_user,
            description: j.description.clone(),
            lull_threshold_days: Some(j.lull_threshold_days),
            design,
        };
        let mut v = input.validate(&parties(&p), j.design.max_ids())?;
        let ts = now();
        v.design.stamp(&j.design, ts);
        self.write_journey(actor, &p, &j, &v, ts, action).await
    }

    async fn write_journey(
        &self,
        actor: &Actor,
        p: &Partnership,
        before: &Journey,
        v: &JourneyInput,
        ts: DateTime<Utc>,
        action: &str,
    ) -> Result<Journey, StoreError> {
        let threshold = v.lull_threshold_days.unwrap_or(DEFAULT_LULL_DAYS) as i32;
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            // Conditional on the version we read: a concurrent edit is refused, not lost.
            let n = sqlx::query(
                "UPDATE journeys SET name = $3, end_user = $4, description = $5, lull_threshold_days = $6, \
                 design = $7, updated_at = $8 WHERE id = $1 AND updated_at = $2",
            )
            .bind(before.id)
            .bind(before.updated_at)
            .bind(&v.name)
            .bind(v.end_user.as_str())
            .bind(&v.description)
            .bind(threshold)
            .bind(Json(&v.design))
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::Refused {
                    field: "design".into(),
                    code: "stale_journey",
                    message: "someone else changed this journey while you were editing; reload and try again".into(),
                });
            }
            audit!(
                &mut *tx,
                actor,
                action,
                "journey",
                before.id,
                orgs(p),
                Some(serde_json::json!({ "name": before.name, "design": before.design })),
                Some(serde_json::json!({ "name": v.name, "design": v.design }))
            );
            tx.commit().await?;
        });
        Ok(self.journey(actor, before.id).await?.1)
    }

    /// Records a trial run with its feedback, and moves the assumptions it tested.
    pub async fn record_trial_run(
        &self,
        actor: &Actor,
        id: i64,
        input: &TrialRunInput,
    ) -> Result<TrialRun, StoreError> {
        let (p, j, _) = self.journey(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let r = input.validate(&j.design)?;
        let ts = now();
        let mut design = j.design.clone();
        for v in &r.assumptions {
            if let Some(a) = design
                .assumptions
                .iter_mut()
                .find(|a| a.id == Some(v.assumption))
            {
                if a.status != v.status {
                    a.status = v.status;
                    a.status_changed_at = Some(ts);
                }
                if !v.evidence.is_empty() {
                    a.evidence = if a.evidence.is_empty() {
                        v.evidence.clone()
                    } else {
                        format!(
                            "{}\n{} (trial run {}): {}",
                            a.evidence,
                            v.status.label(),
                            r.run_on,
                            v.evidence
                        )
                    };
                }
            }
        }
        let rid = run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query(
                "UPDATE journeys SET design = $3, updated_at = $4 WHERE id = $1 AND updated_at = $2",
            )
            .bind(j.id)
            .bind(j.updated_at)
            .bind(Json(&design))
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::Refused {
                    field: "design".into(),
                    code: "stale_journey",
                    message: "someone else changed this journey while you were recording; reload and try again".into(),
                });
            }
            let rid: i64 = sqlx::query_scalar(
                "INSERT INTO trial_runs (journey_id, run_on, participants, notes, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(j.id)
            .bind(r.run_on)
            .bind(Json(&r.participants))
            .bind(&r.notes)
            .bind(actor.user_id())
            .bind(ts)
            .fetch_one(&mut *tx)
            .await?;
            for f in &r.feedback {
                sqlx::query(
                    "INSERT INTO trial_feedback (trial_run_id, journey_id, stage_id, participant, what_happened, \
                     knew, felt, did, severity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(rid)
                .bind(j.id)
                .bind(f.stage as i32)
                .bind(&f.participant)
                .bind(&f.what_happened)
                .bind(&f.knew)
                .bind(&f.felt)
                .bind(&f.did)
                .bind(f.severity.as_str())
                .execute(&mut *tx)
                .await?;
            }
            audit!(
                &mut *tx,
                actor,
                "record_trial_run",
                "journey",
                j.id,
                orgs(&p),
                None,
                Some(serde_json::json!({ "trial_run_id": rid, "run": &r }))
            );
            tx.commit().await?;
            rid
        });
        let runs = self.trial_runs_of(j.id).await?;
        runs.into_iter()
            .find(|x| x.id == rid)
            .ok_or(StoreError::NotFound {
                entity: "trial run",
            })
    }

    /// Marks a feedback item addressed, with what was done.
    pub async fn address_feedback(
        &self,
        actor: &Actor,
        id: i64,
        feedback: i64,
        note: &str,
    ) -> Result<Feedback, StoreError> {
        let (p, _, runs) = self.journey(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let note = {
            let mut e = ValidationErrors::new();
            let n = concord_domain::text::clean(&mut e, "note", note, 1, 2000, true);
            e.into_result(n)?
        };
        let Some(f) = runs
            .iter()
            .flat_map(|r| r.feedback.iter())
            .find(|f| f.id == feedback)
            .cloned()
        else {
            return Err(StoreError::NotFound { entity: "feedback" });
        };
        if f.addressed_at.is_some() {
            return Err(StoreError::Refused {
                field: "note".into(),
                code: "already_addressed",
                message: format!("this feedback was already addressed: {}", f.addressed_note),
            });
        }
        let ts = now();
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query(
                "UPDATE trial_feedback SET addressed_at = $3, addressed_note = $4 \
                 WHERE id = $1 AND journey_id = $2 AND addressed_at IS NULL",
            )
            .bind(feedback)
            .bind(id)
            .bind(ts)
            .bind(&note)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::Refused {
                    field: "note".into(),
                    code: "already_addressed",
                    message: "someone addressed this feedback at the same moment".into(),
                });
            }
            {
                audit!(
                    &mut *tx,
                    actor,
                    "address_feedback",
                    "journey",
                    id,
                    orgs(&p),
                    Some(serde_json::json!({ "feedback_id": feedback, "addressed_at": null })),
                    Some(
                        serde_json::json!({ "feedback_id": feedback, "addressed_at": ts, "note": note })
                    )
                );
            }
            tx.commit().await?;
        });
        Ok(Feedback {
            addressed_at: Some(ts),
            addressed_note: note,
            ..f
        })
    }
}
