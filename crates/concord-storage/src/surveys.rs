//! The joint health survey: rounds opened and closed by an alliance manager, one answer per
//! person and round, and results that never show who answered what (a party's own averages only
//! from three respondents; comments only inside the respondent's organization).

use chrono::{DateTime, NaiveDate, Utc};

use concord_domain::account::Acting;
use concord_domain::health::survey::{
    party_results, results, PartyResults, RoundStatus, SurveyAnswer, SurveyAnswerInput,
    SurveyComments, SurveyResults, SurveyRound, SurveyRoundInput, SurveyRoundResults,
};
use concord_domain::partnership::Partnership;
use concord_domain::{OrgId, PartnershipId};

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::meetings::person_name;
use crate::partnerships::ensure_not_archived;
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow)]
struct RoundRow {
    id: i64,
    number: i32,
    title: String,
    status: String,
    opened_at: DateTime<Utc>,
    opened_by_name: String,
    closes_on: Option<NaiveDate>,
    closed_at: Option<DateTime<Utc>>,
    respondents: i64,
}

const ROUND_SELECT: &str =
    "SELECT r.id, r.number, r.title, r.status, r.opened_at, r.opened_by_name, r.closes_on, r.closed_at, \
     (SELECT COUNT(*) FROM survey_responses s WHERE s.round_id = r.id) AS respondents \
     FROM survey_rounds r WHERE r.partnership_id = $1";

impl RoundRow {
    fn into_round(self, p: PartnershipId) -> SurveyRound {
        SurveyRound {
            partnership_id: p.0,
            number: self.number.max(0) as u32,
            title: self.title,
            status: self.status.parse().unwrap_or(RoundStatus::Closed),
            opened_at: self.opened_at,
            opened_by: self.opened_by_name,
            closes_on: self.closes_on,
            closed_at: self.closed_at,
            respondents: self.respondents.max(0) as usize,
        }
    }
}

#[derive(sqlx::FromRow)]
struct AnswerRow {
    organization_id: i64,
    trust: i32,
    communication: i32,
    shared_vision: i32,
    culture_fit: i32,
    governance: i32,
    value_realised: i32,
    fairness: i32,
    transparency: i32,
    innovation: i32,
}

impl AnswerRow {
    fn into_answer(self) -> SurveyAnswer {
        let s = |v: i32| v.clamp(1, 5) as u8;
        SurveyAnswer {
            organization_id: OrgId(self.organization_id),
            // Dimension::ALL order.
            scores: [
                s(self.trust),
                s(self.communication),
                s(self.shared_vision),
                s(self.culture_fit),
                s(self.governance),
                s(self.value_realised),
                s(self.fairness),
                s(self.transparency),
                s(self.innovation),
            ],
        }
    }
}

const SCORE_COLUMNS: &str = "trust, communication, shared_vision, culture_fit, governance, \
     value_realised, fairness, transparency, innovation";

fn refused(field: &str, code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Refused {
        field: field.into(),
        code,
        message: message.into(),
    }
}

fn parties_of(p: &Partnership) -> Vec<OrgId> {
    p.parties.iter().map(|x| x.organization_id).collect()
}

impl Store {
    async fn round_rows(&self, id: PartnershipId) -> Result<Vec<RoundRow>, StoreError> {
        Ok(run!(&self.read, |c| {
            sqlx::query_as(&format!("{ROUND_SELECT} ORDER BY r.number DESC"))
                .bind(id.0)
                .fetch_all(c)
                .await?
        }))
    }

    async fn round_row(&self, id: PartnershipId, number: u32) -> Result<RoundRow, StoreError> {
        let number = i32::try_from(number).map_err(|_| StoreError::NotFound {
            entity: "survey round",
        })?;
        let row: Option<RoundRow> = run!(&self.read, |c| {
            sqlx::query_as(&format!("{ROUND_SELECT} AND r.number = $2"))
                .bind(id.0)
                .bind(number)
                .fetch_optional(c)
                .await?
        });
        row.ok_or(StoreError::NotFound {
            entity: "survey round",
        })
    }

    async fn answers_of(&self, round_id: i64) -> Result<Vec<SurveyAnswer>, StoreError> {
        let rows: Vec<AnswerRow> = run!(&self.read, |c| {
            sqlx::query_as(&format!(
                "SELECT organization_id, {SCORE_COLUMNS} FROM survey_responses WHERE round_id = $1 ORDER BY id"
            ))
            .bind(round_id)
            .fetch_all(c)
            .await?
        });
        Ok(rows.into_iter().map(AnswerRow::into_answer).collect())
    }

    /// The round's results, with the change since the latest earlier round that has answers.
    async fn results_of(
        &self,
        p: &Partnership,
        row: &RoundRow,
    ) -> Result<(SurveyResults, Option<u32>), StoreError> {
        let answers = self.answers_of(row.id).await?;
        let previous: Option<(i64, i32)> = run!(&self.read, |c| {
            sqlx::query_as(
                "SELECT r.id, r.number FROM survey_rounds r WHERE r.partnership_id = $1 AND r.number < $2 \
                 AND EXISTS (SELECT 1 FROM survey_responses s WHERE s.round_id = r.id) \
                 ORDER BY r.number DESC LIMIT 1",
            )
            .bind(p.id.0)
            .bind(row.number)
            .fetch_optional(c)
            .await?
        });
        let before = match previous {
            Some((rid, _)) => Some(self.answers_of(rid).await?),
            None => None,
        };
        Ok((
            results(&answers, before.as_deref(), &parties_of(p)),
            previous.map(|(_, n)| n.max(0) as u32),
        ))
    }

    /// Every survey round of the partnership, newest first, with respondent counts.
    pub async fn survey_rounds(
        &self,
        actor: &Actor,
        id: PartnershipId,
    ) -> Result<(Partnership, Vec<SurveyRound>), StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let rounds = self
            .round_rows(id)
            .await?
            .into_iter()
            .map(|r| r.into_round(id))
            .collect();
        Ok((p, rounds))
    }

    /// The latest round with at least one answer, and its results (no actor check: the caller
    /// has already scoped `p`).
    pub async fn latest_survey_results(
        &self,
        p: &Partnership,
    ) -> Result<Option<(SurveyRound, SurveyResults)>, StoreError> {
        let row: Option<RoundRow> = run!(&self.read, |c| {
            sqlx::query_as(&format!(
                "{ROUND_SELECT} AND EXISTS (SELECT 1 FROM survey_responses s WHERE s.round_id = r.id) \
                 ORDER BY r.number DESC LIMIT 1"
            ))
            .bind(p.id.0)
            .fetch_optional(c)
            .await?
        });
        let Some(row) = row else {
            return Ok(None);
        };
        let (res, _) = self.results_of(p, &row).await?;
        Ok(Some((row.into_round(p.id), res)))
    }

    /// One round with its results as the actor may see them, and whether the actor answered.
    pub async fn survey_round_results(
        &self,
        actor: &Actor,
        id: PartnershipId,
        number: u32,
        today: NaiveDate,
    ) -> Result<SurveyRoundResults, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let row = self.round_row(id, number).await?;
        let (res, compared_with) = self.results_of(&p, &row).await?;
        let answered = match actor.user_id() {
            Some(user) => {
                let n: i64 = run!(&self.read, |c| {
                    sqlx::query_scalar(
                        "SELECT COUNT(*) FROM survey_responses WHERE round_id = $1 AND user_id = $2",
                    )
                    .bind(row.id)
                    .bind(user)
                    .fetch_one(c)
                    .await?
                });
                n > 0
            }
            None => false,
        };
        let round = row.into_round(id);
        Ok(SurveyRoundResults {
            accepts_answers: round.accepts_answers(today),
            round,
            compared_with,
            answered,
            results: res,
        })
    }

    /// One party's per-dimension averages in a round; refused (422 on `party`) when fewer than
    /// three of its people answered, or when it is not a party.
    pub async fn survey_party_results(
        &self,
        actor: &Actor,
        id: PartnershipId,
        number: u32,
        party: OrgId,
    ) -> Result<PartyResults, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let row = self.round_row(id, number).await?;
        let (res, _) = self.results_of(&p, &row).await?;
        Ok(party_results(number, &res, party)?)
    }

    /// The comments the acting organization's respondents wrote in a round, without names.
    pub async fn survey_comments(
        &self,
        actor: &Actor,
        id: PartnershipId,
        number: u32,
    ) -> Result<SurveyComments, StoreError> {
        self.get_partnership(actor, id).await?;
        let Some(org) = actor.org_id() else {
            return Err(StoreError::Forbidden(
                "comments are read inside the organization that wrote them".into(),
            ));
        };
        let row = self.round_row(id, number).await?;
        let mut comments: Vec<String> = run!(&self.read, |c| {
            sqlx::query_scalar(
                "SELECT comment FROM survey_responses WHERE round_id = $1 AND organization_id = $2 AND comment <> ''",
            )
            .bind(row.id)
            .bind(org)
            .fetch_all(c)
            .await?
        });
        // In text order, so the order says nothing about who answered when.
        comments.sort();
        Ok(SurveyComments {
            round: number,
            organization_id: OrgId(org),
            comments,
        })
    }

    /// Opens the next round (an alliance manager or admin of a party); one open round at a time.
    pub async fn open_survey_round(
        &self,
        actor: &Actor,
        id: PartnershipId,
        input: &SurveyRoundInput,
        today: NaiveDate,
    ) -> Result<SurveyRound, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_manager)?;
        ensure_not_archived(&p)?;
        let r = input.validate(today)?;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let ts = now();
        let name = person_name(actor);
        let number = run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let number: i32 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM survey_rounds WHERE partnership_id = $1",
            )
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO survey_rounds (partnership_id, number, title, status, opened_at, opened_by_name, closes_on) \
                 VALUES ($1, $2, $3, 'open', $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(id.0)
            .bind(number)
            .bind(&r.title)
            .bind(ts)
            .bind(&name)
            .bind(r.closes_on)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(round_id) = inserted else {
                return Err(refused(
                    "round",
                    "round_open",
                    "a survey round of this partnership is already open; close it before opening another",
                ));
            };
            audit!(
                &mut *tx,
                actor,
                "open_survey_round",
                "survey_round",
                round_id,
                orgs.iter().copied(),
                None,
                Some(
                    serde_json::json!({ "number": number, "title": r.title, "closes_on": r.closes_on })
                )
            );
            tx.commit().await?;
            number
        });
        Ok(self
            .round_row(id, number.max(0) as u32)
            .await?
            .into_round(id))
    }

    /// Closes an open round (an alliance manager or admin of a party).
    pub async fn close_survey_round(
        &self,
        actor: &Actor,
        id: PartnershipId,
        number: u32,
    ) -> Result<SurveyRound, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_manager)?;
        let row = self.round_row(id, number).await?;
        ensure_not_archived(&p)?;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let ts = now();
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query(
                "UPDATE survey_rounds SET status = 'closed', closed_at = $2 WHERE id = $1 AND status = 'open'",
            )
            .bind(row.id)
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(refused(
                    "round",
                    "round_closed",
                    format!("survey round {number} is already closed"),
                ));
            }
            audit!(
                &mut *tx,
                actor,
                "close_survey_round",
                "survey_round",
                row.id,
                orgs.iter().copied(),
                Some(serde_json::json!({ "status": "open" })),
                Some(serde_json::json!({ "status": "closed" }))
            );
            tx.commit().await?;
        });
        Ok(self.round_row(id, number).await?.into_round(id))
    }

    /// Records the acting person's answer to an open round (contributors, alliance managers and
    /// admins of a party; viewers only read): once per person, scores 1–5 for every dimension.
    /// The audit row names the round, never the scores.
    pub async fn answer_survey(
        &self,
        actor: &Actor,
        id: PartnershipId,
        number: u32,
        input: &SurveyAnswerInput,
        today: NaiveDate,
    ) -> Result<SurveyRoundResults, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let (Some(user), Some(org)) = (actor.user_id(), actor.org_id()) else {
            return Err(StoreError::Forbidden(
                "survey answers come from members of a party, not operators".into(),
            ));
        };
        // Viewers read; every other role answers (the role description says so too).
        actor.check(Acting::require_contributor)?;
        let row = self.round_row(id, number).await?;
        ensure_not_archived(&p)?;
        let a = input.validate()?;
        let round_id = row.id;
        let round = row.into_round(id);
        if !round.accepts_answers(today) {
            return Err(refused(
                "round",
                "round_closed",
                format!("survey round {number} is closed and takes no more answers"),
            ));
        }
        let ts = now();
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let inserted: Option<i64> = sqlx::query_scalar(&format!(
                "INSERT INTO survey_responses (round_id, partnership_id, organization_id, user_id, {SCORE_COLUMNS}, comment, submitted_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 \
                 WHERE EXISTS (SELECT 1 FROM survey_rounds WHERE id = $1 AND status = 'open') \
                 ON CONFLICT DO NOTHING RETURNING id"
            ))
            .bind(round_id)
            .bind(id.0)
            .bind(org)
            .bind(user)
            .bind(i32::from(a.scores[0]))
            .bind(i32::from(a.scores[1]))
            .bind(i32::from(a.scores[2]))
            .bind(i32::from(a.scores[3]))
            .bind(i32::from(a.scores[4]))
            .bind(i32::from(a.scores[5]))
            .bind(i32::from(a.scores[6]))
            .bind(i32::from(a.scores[7]))
            .bind(i32::from(a.scores[8]))
            .bind(&a.comment)
            .bind(ts)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(response_id) = inserted else {
                let mine: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM survey_responses WHERE round_id = $1 AND user_id = $2",
                )
                .bind(round_id)
                .bind(user)
                .fetch_one(&mut *tx)
                .await?;
                return Err(if mine > 0 {
                    refused(
                        "round",
                        "already_answered",
                        format!("you have already answered survey round {number}"),
                    )
                } else {
                    refused(
                        "round",
                        "round_closed",
                        format!("survey round {number} is closed and takes no more answers"),
                    )
                });
            };
            // Only the respondent's organization is concerned, and the scores stay out of the
            // log: results never show who answered what.
            audit!(
                &mut *tx,
                actor,
                "answer_survey",
                "survey_response",
                response_id,
                [org],
                None,
                Some(serde_json::json!({ "round": number }))
            );
            tx.commit().await?;
        });
        self.survey_round_results(actor, id, number, today).await
    }
}
