//! Scheduled reviews: opened when due (or early), a packet of the partnership's figures, a
//! decision with its rationale, signed by every party; the partnership's stage follows.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;

use concord_domain::account::Acting;
use concord_domain::partnership::{Partnership, Stage};
use concord_domain::review::{
    awaiting, next_review_due, DecisionInput, OpenReviewInput, Review, ReviewDecision,
    ReviewPacket, ReviewSignature, ReviewStatus, ReviewTrigger, ReviewsOverview,
};
use concord_domain::{OrgId, PartnershipId, UserId, ValidationErrors};

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::meetings::person_name;
use crate::partnerships::ensure_not_archived;
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: i64,
    number: i32,
    status: String,
    trigger_kind: String,
    reason: String,
    due_on: NaiveDate,
    opened_at: DateTime<Utc>,
    opened_by_name: String,
    decision: Option<String>,
    rationale: String,
    decided_by_name: String,
    decided_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    packet: Option<Json<serde_json::Value>>,
}

const REVIEW_COLUMNS: &str =
    "id, number, status, trigger_kind, reason, due_on, opened_at, opened_by_name, decision, \
     rationale, decided_by_name, decided_at, closed_at, packet";

#[derive(sqlx::FromRow)]
struct SignatureRow {
    review_id: i64,
    organization_id: i64,
    user_id: i64,
    name: String,
    signed_at: DateTime<Utc>,
}

fn refused(field: &str, code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Refused {
        field: field.into(),
        code,
        message: message.into(),
    }
}

impl Store {
    async fn review_rows(
        &self,
        id: PartnershipId,
    ) -> Result<(Vec<ReviewRow>, Vec<SignatureRow>), StoreError> {
        Ok(run!(&self.read, |c| {
            let rows = sqlx::query_as(&format!(
                "SELECT {REVIEW_COLUMNS} FROM reviews WHERE partnership_id = $1 ORDER BY number DESC"
            ))
            .bind(id.0)
            .fetch_all(c)
            .await?;
            let sigs = sqlx::query_as(
                "SELECT s.review_id, s.organization_id, s.user_id, u.display_name AS name, s.signed_at \
                 FROM review_signatures s JOIN reviews r ON r.id = s.review_id JOIN users u ON u.id = s.user_id \
                 WHERE r.partnership_id = $1 ORDER BY s.signed_at",
            )
            .bind(id.0)
            .fetch_all(c)
            .await?;
            (rows, sigs)
        }))
    }

    /// The packet as it stands on `today`: attainment per metric and the roll-up, commitments,
    /// meeting cadence and open action items.
    pub async fn review_packet(
        &self,
        p: &Partnership,
        actor: &Actor,
        today: NaiveDate,
    ) -> Result<ReviewPacket, StoreError> {
        let charter = self.effective_charter(p.id).await?;
        let metrics = self.metrics_of(p, actor).await?;
        let commitments = self.commitments_of(p.id, charter.as_ref(), today).await?;
        let cadence = self.cadence_of(p, charter.as_ref(), today).await?;
        let open_actions = self.open_actions_of(p.id, today).await?;
        Ok(ReviewPacket {
            as_of: today,
            charter_version: charter.as_ref().map(|c| c.number),
            commitments_late: commitments.iter().filter(|c| c.late).count(),
            commitments_done: commitments
                .iter()
                .filter(|c| c.status == concord_domain::charter::CommitmentStatus::Done)
                .count(),
            metrics: metrics.metrics.into_iter().map(|m| m.attainment).collect(),
            rollup: metrics.rollup,
            commitments,
            cadence,
            open_actions,
        })
    }

    fn to_review(
        p: &Partnership,
        r: ReviewRow,
        sigs: &[SignatureRow],
        live: Option<&ReviewPacket>,
    ) -> Result<Review, StoreError> {
        let signatures: Vec<ReviewSignature> = sigs
            .iter()
            .filter(|s| s.review_id == r.id)
            .map(|s| ReviewSignature {
                organization_id: OrgId(s.organization_id),
                user_id: UserId(s.user_id),
                name: s.name.clone(),
                signed_at: s.signed_at,
            })
            .collect();
        let parties: Vec<OrgId> = p.parties.iter().map(|x| x.organization_id).collect();
        let status: ReviewStatus = r.status.parse().unwrap_or(ReviewStatus::Open);
        let packet: ReviewPacket = match (r.packet, live) {
            (Some(Json(v)), _) => serde_json::from_value(v)
                .map_err(|e| StoreError::Corrupt(format!("review packet: {e}")))?,
            (None, Some(l)) => l.clone(),
            (None, None) => {
                return Err(StoreError::Corrupt("review without packet".into()));
            }
        };
        Ok(Review {
            partnership_id: p.id.0,
            number: r.number.max(0) as u32,
            status,
            trigger: r.trigger_kind.parse().unwrap_or(ReviewTrigger::Scheduled),
            reason: r.reason,
            due_on: r.due_on,
            opened_at: r.opened_at,
            opened_by: r.opened_by_name,
            decision: r.decision.and_then(|d| d.parse().ok()),
            rationale: r.rationale,
            decided_by: r.decided_by_name,
            decided_at: r.decided_at,
            awaiting: if status == ReviewStatus::Open {
                parties
            } else {
                awaiting(&parties, &signatures)
            },
            signatures,
            closed_at: r.closed_at,
            packet,
        })
    }

    /// Every review, newest first, and when the next falls due.
    pub async fn reviews(
        &self,
        actor: &Actor,
        id: PartnershipId,
        today: NaiveDate,
    ) -> Result<ReviewsOverview, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let (rows, sigs) = self.review_rows(id).await?;
        let live = if rows.iter().any(|r| r.packet.is_none()) {
            Some(self.review_packet(&p, actor, today).await?)
        } else {
            None
        };
        let charter = self.effective_charter(id).await?;
        let interval = charter
            .as_ref()
            .and_then(|c| c.content.governance.review_interval_months);
        let open = rows.iter().any(|r| r.status != "closed");
        let next_due = if open {
            None
        } else {
            self.next_due(&p, interval).await?
        };
        let reviews = rows
            .into_iter()
            .map(|r| Self::to_review(&p, r, &sigs, live.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ReviewsOverview {
            reviews,
            interval_months: interval,
            next_due,
        })
    }

    /// The review in progress (number and status), the interval and when the next review falls
    /// due — without building any packet, for cards and lists.
    pub async fn review_status(
        &self,
        p: &Partnership,
    ) -> Result<(Option<(u32, ReviewStatus)>, Option<u32>, Option<NaiveDate>), StoreError> {
        let current: Option<(i32, String)> = run!(&self.read, |c| {
            sqlx::query_as(
                "SELECT number, status FROM reviews WHERE partnership_id = $1 AND status <> 'closed'",
            )
            .bind(p.id.0)
            .fetch_optional(c)
            .await?
        });
        let interval = self
            .effective_charter(p.id)
            .await?
            .and_then(|c| c.content.governance.review_interval_months);
        let current =
            current.map(|(n, st)| (n.max(0) as u32, st.parse().unwrap_or(ReviewStatus::Open)));
        let next_due = match current {
            Some(_) => None,
            None => self.next_due(p, interval).await?,
        };
        Ok((current, interval, next_due))
    }

    /// One review by number.
    pub async fn review(
        &self,
        actor: &Actor,
        id: PartnershipId,
        number: u32,
        today: NaiveDate,
    ) -> Result<Review, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let (rows, sigs) = self.review_rows(id).await?;
        let Some(r) = rows.into_iter().find(|r| r.number == number as i32) else {
            return Err(StoreError::NotFound { entity: "review" });
        };
        let live = if r.packet.is_none() {
            Some(self.review_packet(&p, actor, today).await?)
        } else {
            None
        };
        Self::to_review(&p, r, &sigs, live.as_ref())
    }

    /// When the next scheduled review falls due: the interval after the last closed review, or
    /// after the charter's start (or the day the partnership first went active).
    async fn next_due(
        &self,
        p: &Partnership,
        interval: Option<u32>,
    ) -> Result<Option<NaiveDate>, StoreError> {
        if interval.is_none() {
            return Ok(None);
        }
        let (closed, went): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = run!(
            &self.read,
            |c| {
                let closed = sqlx::query_scalar(
                "SELECT MAX(closed_at) FROM reviews WHERE partnership_id = $1 AND status = 'closed'",
            )
            .bind(p.id.0)
            .fetch_one(c)
            .await?;
                let went = sqlx::query_scalar(
                "SELECT MIN(changed_at) FROM stage_changes WHERE partnership_id = $1 AND to_stage = 'active'",
            )
            .bind(p.id.0)
            .fetch_one(c)
            .await?;
                (closed, went)
            }
        );
        let start = self
            .effective_charter(p.id)
            .await?
            .and_then(|c| c.content.starts_on);
        let anchor = closed
            .map(|t| t.date_naive())
            .or(start)
            .or_else(|| went.map(|t| t.date_naive()));
        Ok(anchor.and_then(|a| next_review_due(interval, a)))
    }

    /// Opens a review before it is due (an alliance manager or admin). An active partnership
    /// moves to `under_review`.
    pub async fn open_review(
        &self,
        actor: &Actor,
        id: PartnershipId,
        input: &OpenReviewInput,
        today: NaiveDate,
    ) -> Result<Review, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_manager)?;
        ensure_not_archived(&p)?;
        let mut e = ValidationErrors::new();
        let reason = concord_domain::text::clean(&mut e, "reason", &input.reason, 0, 2000, true);
        if !e.is_empty() {
            return Err(StoreError::Validation(e));
        }
        let number = self
            .insert_review(actor, &p, ReviewTrigger::Early, &reason, today)
            .await?;
        self.review(actor, id, number, today).await
    }

    /// Opens every scheduled review that is due on `today` (the server does this hourly; the
    /// CLI's `concord reviews open-due` too). Returns the partnerships and review numbers opened.
    pub async fn open_due_reviews(
        &self,
        today: NaiveDate,
    ) -> Result<Vec<(PartnershipId, u32)>, StoreError> {
        let ids: Vec<i64> = run!(&self.read, |c| {
            sqlx::query_scalar(
                "SELECT p.id FROM partnerships p WHERE p.stage = 'active' AND p.archived_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.partnership_id = p.id AND r.status <> 'closed') \
                 ORDER BY p.id",
            )
            .fetch_all(c)
            .await?
        });
        let actor = Actor::new("review scheduler");
        let mut opened = Vec::new();
        for id in ids {
            let id = PartnershipId(id);
            let p = self.get_partnership(&actor, id).await?;
            let interval = self
                .effective_charter(id)
                .await?
                .and_then(|c| c.content.governance.review_interval_months);
            let Some(due) = self.next_due(&p, interval).await? else {
                continue;
            };
            if due > today {
                continue;
            }
            match self
                .insert_review(&actor, &p, ReviewTrigger::Scheduled, "", due)
                .await
            {
                Ok(n) => opened.push((id, n)),
                // Opened by someone else meanwhile.
                Err(StoreError::Refused { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(opened)
    }

    /// Inserts review `n + 1` and moves an active partnership to `under_review`, in one
    /// transaction. `due_on` is the scheduled date (or today, for an early review).
    async fn insert_review(
        &self,
        actor: &Actor,
        p: &Partnership,
        trigger: ReviewTrigger,
        reason: &str,
        due_on: NaiveDate,
    ) -> Result<u32, StoreError> {
        if !matches!(p.stage, Stage::Active | Stage::UnderReview) {
            return Err(refused(
                "stage",
                "not_active",
                format!(
                    "a review is held for an active partnership; this one is {}",
                    p.stage.label().to_lowercase()
                ),
            ));
        }
        if self.effective_charter(p.id).await?.is_none() {
            return Err(refused(
                "stage",
                "charter_required",
                "a review needs an effective charter to review against",
            ));
        }
        let id = p.id;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let ts = now();
        let name = person_name(actor);
        let from = p.stage;
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let number: i32 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM reviews WHERE partnership_id = $1",
            )
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
            let n = sqlx::query(
                "INSERT INTO reviews (partnership_id, number, status, trigger_kind, reason, due_on, opened_at, \
                 opened_by_name, rationale, decided_by_name) VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, '', '') \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id.0)
            .bind(number)
            .bind(trigger.as_str())
            .bind(reason)
            .bind(due_on)
            .bind(ts)
            .bind(&name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(refused(
                    "review",
                    "review_open",
                    "a review of this partnership is already in progress",
                ));
            }
            if from == Stage::Active {
                move_stage(
                    &mut tx,
                    id,
                    from,
                    Stage::UnderReview,
                    &format!("Review {number} opened"),
                    ts,
                )
                .await?;
            }
            audit!(
                &mut *tx,
                actor,
                "open_review",
                "review",
                format!("{}/{number}", id.0),
                orgs.iter().copied(),
                None,
                Some(
                    serde_json::json!({ "number": number, "trigger": trigger, "reason": reason, "due_on": due_on })
                )
            );
            tx.commit().await?;
            Ok(number.max(0) as u32)
        })
    }

    /// Records (or changes) the decision and its rationale; the packet is frozen with it and any
    /// signatures on an earlier decision are cleared.
    pub async fn decide_review(
        &self,
        actor: &Actor,
        id: PartnershipId,
        number: u32,
        input: &DecisionInput,
        today: NaiveDate,
    ) -> Result<Review, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_manager)?;
        ensure_not_archived(&p)?;
        let d = input.validate().map_err(StoreError::Validation)?;
        let review = self.review(actor, id, number, today).await?;
        if review.status == ReviewStatus::Closed {
            return Err(refused(
                "review",
                "review_closed",
                format!("review {number} is closed; its decision is signed"),
            ));
        }
        // Freeze the figures the decision was taken on (recomputed now, not the earlier freeze).
        let packet = self.review_packet(&p, actor, today).await?;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let ts = now();
        let name = person_name(actor);
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            // The review row first, conditionally on it still being open: on PostgreSQL this
            // takes its lock, so a signature being given right now (which locks the same row)
            // either commits before and is cleared below, or waits and sees the new decision;
            // and a review the last signer closed meanwhile is not reopened.
            let rid: Option<i64> = sqlx::query_scalar(
                "UPDATE reviews SET status = 'awaiting_signatures', decision = $3, rationale = $4, \
                 decided_by_name = $5, decided_at = $6, packet = $7 \
                 WHERE partnership_id = $1 AND number = $2 AND status <> 'closed' RETURNING id",
            )
            .bind(id.0)
            .bind(number as i32)
            .bind(d.decision.as_str())
            .bind(&d.rationale)
            .bind(&name)
            .bind(ts)
            .bind(Json(&packet))
            .fetch_optional(&mut *tx)
            .await?;
            let Some(rid) = rid else {
                return Err(refused(
                    "review",
                    "review_closed",
                    "the review closed meanwhile; reload",
                ));
            };
            sqlx::query("DELETE FROM review_signatures WHERE review_id = $1")
                .bind(rid)
                .execute(&mut *tx)
                .await?;
            audit!(
                &mut *tx,
                actor,
                "decide_review",
                "review",
                format!("{}/{number}", id.0),
                orgs.iter().copied(),
                review
                    .decision
                    .map(|x| serde_json::json!({ "decision": x, "rationale": review.rationale })),
                Some(serde_json::json!({ "decision": d.decision, "rationale": d.rationale }))
            );
            tx.commit().await?;
        });
        self.review(actor, id, number, today).await
    }

    /// An alliance manager (or admin) signs the decision for their organization. When every
    /// party has signed, the review closes and the partnership moves to the decision's stage.
    pub async fn sign_review(
        &self,
        actor: &Actor,
        id: PartnershipId,
        number: u32,
        today: NaiveDate,
    ) -> Result<Review, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let Some(acting) = actor.acting.as_ref() else {
            return Err(StoreError::Forbidden(
                "a review decision is signed by a person acting for a party".into(),
            ));
        };
        acting.require_manager().map_err(StoreError::from)?;
        ensure_not_archived(&p)?;
        let review = self.review(actor, id, number, today).await?;
        let decision: ReviewDecision = match (review.status, review.decision) {
            (ReviewStatus::AwaitingSignatures, Some(d)) => d,
            (ReviewStatus::Closed, _) => {
                return Err(refused(
                    "review",
                    "review_closed",
                    format!("review {number} is closed"),
                ))
            }
            _ => {
                return Err(refused(
                    "review",
                    "no_decision",
                    "record the decision and its rationale before signing",
                ))
            }
        };
        if review
            .signatures
            .iter()
            .any(|s| s.organization_id == acting.org_id)
        {
            return Err(refused(
                "review",
                "already_signed",
                "your organization has already signed this decision",
            ));
        }
        let parties: Vec<OrgId> = p.parties.iter().map(|x| x.organization_id).collect();
        let orgs: Vec<i64> = parties.iter().map(|o| o.0).collect();
        let ts = now();
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            // Lock the review row (PostgreSQL) so the last two signers cannot both miss closing it.
            let rid: Option<(i64, Option<String>)> = sqlx::query_as(
                "UPDATE reviews SET status = status WHERE partnership_id = $1 AND number = $2 \
                 AND status = 'awaiting_signatures' RETURNING id, decision",
            )
            .bind(id.0)
            .bind(number as i32)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((rid, current)) = rid else {
                return Err(refused(
                    "review",
                    "review_closed",
                    "the review changed meanwhile; reload",
                ));
            };
            if current.as_deref() != Some(decision.as_str()) {
                return Err(refused(
                    "review",
                    "decision_changed",
                    "the decision changed meanwhile; reload and read it again",
                ));
            }
            let n = sqlx::query(
                "INSERT INTO review_signatures (review_id, organization_id, user_id, signed_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (review_id, organization_id) DO NOTHING",
            )
            .bind(rid)
            .bind(acting.org_id.0)
            .bind(acting.user_id.0)
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(refused(
                    "review",
                    "already_signed",
                    "your organization has already signed this decision",
                ));
            }
            audit!(
                &mut *tx,
                actor,
                "sign_review",
                "review",
                format!("{}/{number}", id.0),
                orgs.iter().copied(),
                None,
                Some(
                    serde_json::json!({ "decision": decision, "organization_id": acting.org_id.0 })
                )
            );
            let signed: Vec<i64> = sqlx::query_scalar(
                "SELECT organization_id FROM review_signatures WHERE review_id = $1",
            )
            .bind(rid)
            .fetch_all(&mut *tx)
            .await?;
            if parties.iter().all(|o| signed.contains(&o.0)) {
                sqlx::query("UPDATE reviews SET status = 'closed', closed_at = $2 WHERE id = $1")
                    .bind(rid)
                    .bind(ts)
                    .execute(&mut *tx)
                    .await?;
                let stage: String =
                    sqlx::query_scalar("SELECT stage FROM partnerships WHERE id = $1")
                        .bind(id.0)
                        .fetch_one(&mut *tx)
                        .await?;
                if stage == Stage::UnderReview.as_str() {
                    move_stage(
                        &mut tx,
                        id,
                        Stage::UnderReview,
                        decision.next_stage(),
                        &format!("Review {number}: {}", decision.label().to_lowercase()),
                        ts,
                    )
                    .await?;
                }
                audit!(
                    &mut *tx,
                    actor,
                    "close_review",
                    "review",
                    format!("{}/{number}", id.0),
                    orgs.iter().copied(),
                    None,
                    Some(
                        serde_json::json!({ "decision": decision, "stage": decision.next_stage() })
                    )
                );
            }
            tx.commit().await?;
        });
        self.review(actor, id, number, today).await
    }

    /// Moving an active partnership to `under_review` by hand opens an early review.
    pub(crate) async fn open_review_for_transition(
        &self,
        actor: &Actor,
        p: &Partnership,
        note: &str,
    ) -> Result<u32, StoreError> {
        let today = Utc::now().date_naive();
        self.insert_review(actor, p, ReviewTrigger::Early, note, today)
            .await
    }

    /// Whether a review of the partnership is in progress (not closed).
    pub(crate) async fn has_open_review(&self, id: PartnershipId) -> Result<bool, StoreError> {
        let n: i64 = run!(&self.read, |c| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM reviews WHERE partnership_id = $1 AND status <> 'closed'",
            )
            .bind(id.0)
            .fetch_one(c)
            .await?
        });
        Ok(n > 0)
    }
}

/// Moves the partnership's stage inside a transaction, recording the change.
async fn move_stage<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    id: PartnershipId,
    from: Stage,
    to: Stage,
    note: &str,
    ts: DateTime<Utc>,
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query("UPDATE partnerships SET stage = $2, updated_at = $3 WHERE id = $1")
        .bind(id.0)
        .bind(to.as_str())
        .bind(ts)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO stage_changes (partnership_id, from_stage, to_stage, note, changed_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.0)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(note)
    .bind(ts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
