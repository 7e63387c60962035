//! Partnerships, their parties and their stage history.

use chrono::{DateTime, Utc};

use concord_domain::account::Acting;
use concord_domain::paging::{Page, PageRequest};
use concord_domain::partnership::{
    Partnership, PartnershipDraft, PartnershipFilter, PartnershipInput, PartnershipSort, Party,
    Stage, StageChange,
};
use concord_domain::{OrgId, PartnershipId, ValidationErrors};

use crate::audit::{audit, Actor};
use crate::dialect::{begin_write, contains_pattern, Arg, SqlBuilder};
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow)]
struct PartnershipRow {
    id: i64,
    name: String,
    purpose: String,
    partnership_type: String,
    stage: String,
    archived_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PartyRow {
    partnership_id: i64,
    organization_id: i64,
    organization_name: String,
    role: String,
}

#[derive(sqlx::FromRow)]
struct StageChangeRow {
    from_stage: Option<String>,
    to_stage: String,
    note: String,
    changed_at: DateTime<Utc>,
}

const SELECT: &str =
    "SELECT id, name, purpose, partnership_type, stage, archived_at, created_at, updated_at \
                      FROM partnerships";

fn corrupt(id: i64, what: &str) -> StoreError {
    StoreError::Corrupt(format!("partnership {id}: {what}"))
}

impl PartnershipRow {
    fn into_partnership(self, parties: &[PartyRow]) -> Result<Partnership, StoreError> {
        let id = self.id;
        Ok(Partnership {
            id: PartnershipId(id),
            partnership_type: self
                .partnership_type
                .parse()
                .map_err(|_| corrupt(id, "type"))?,
            stage: self.stage.parse().map_err(|_| corrupt(id, "stage"))?,
            parties: parties
                .iter()
                .filter(|p| p.partnership_id == id)
                .map(|p| Party {
                    organization_id: OrgId(p.organization_id),
                    organization_name: p.organization_name.clone(),
                    role: p.role.clone(),
                })
                .collect(),
            name: self.name,
            purpose: self.purpose,
            archived_at: self.archived_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// `ORDER BY` for a sort. Stage order follows the lifecycle, spelled out from the domain's list.
fn order_by(sort: PartnershipSort) -> String {
    match sort {
        PartnershipSort::Name => "LOWER(name), id".into(),
        PartnershipSort::NameDesc => "LOWER(name) DESC, id DESC".into(),
        PartnershipSort::Created => "created_at, id".into(),
        PartnershipSort::CreatedDesc => "created_at DESC, id DESC".into(),
        PartnershipSort::Updated => "updated_at, id".into(),
        PartnershipSort::UpdatedDesc => "updated_at DESC, id DESC".into(),
        PartnershipSort::Stage => {
            let mut s = String::from("CASE stage");
            for (i, st) in Stage::ALL.iter().enumerate() {
                s.push_str(&format!(" WHEN '{}' THEN {i}", st.as_str()));
            }
            s.push_str(" END, LOWER(name), id");
            s
        }
    }
}

/// Refuses any change to an archived partnership (or to what belongs to it: its charter, its
/// journeys).
pub(crate) fn ensure_not_archived(p: &Partnership) -> Result<(), StoreError> {
    match p.archived_at {
        Some(_) => Err(StoreError::Archived {
            entity: "partnership",
            id: p.id.0,
        }),
        None => Ok(()),
    }
}

/// Inserts a partnership in stage `exploring` with its parties, its first stage change and the
/// audit row, on `$conn` (inside the caller's transaction); evaluates to the new id. Shared by
/// [`Store::create_partnership`] and the promotion of a fit scorecard.
macro_rules! insert_partnership {
    ($conn:expr, $actor:expr, $draft:expr, $ts:expr) => {{
        let actor: &$crate::audit::Actor = $actor;
        let d: &concord_domain::partnership::PartnershipDraft = $draft;
        let ts = $ts;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO partnerships (name, purpose, partnership_type, stage, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(&d.name)
        .bind(&d.purpose)
        .bind(d.partnership_type.as_str())
        .bind(concord_domain::partnership::Stage::Exploring.as_str())
        .bind(ts)
        .fetch_one(&mut *$conn)
        .await?;
        for (i, party) in d.parties.iter().enumerate() {
            sqlx::query(
                "INSERT INTO partnership_parties (partnership_id, organization_id, role, position) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(party.organization_id.0)
            .bind(&party.role)
            .bind(i as i64)
            .execute(&mut *$conn)
            .await?;
        }
        sqlx::query(
            "INSERT INTO stage_changes (partnership_id, from_stage, to_stage, note, changed_at) VALUES ($1, NULL, $2, $3, $4)",
        )
        .bind(id)
        .bind(concord_domain::partnership::Stage::Exploring.as_str())
        .bind("Partnership created")
        .bind(ts)
        .execute(&mut *$conn)
        .await?;
        $crate::risks::seed_risks_tx(&mut $conn, id, ts).await?;
        audit!(
            &mut *$conn,
            actor,
            "create",
            "partnership",
            id,
            d.parties.iter().map(|p| p.organization_id.0),
            None,
            Some($crate::partnerships::draft_json(&d, concord_domain::partnership::Stage::Exploring))
        );
        id
    }};
}
pub(crate) use insert_partnership;

impl Store {
    /// Checks a partnership input against the domain rules and that every party exists.
    async fn check_partnership(
        &self,
        actor: &Actor,
        input: &PartnershipInput,
    ) -> Result<PartnershipDraft, StoreError> {
        actor.check(Acting::require_manager)?;
        let draft = input.validate()?;
        let ids: Vec<OrgId> = draft.parties.iter().map(|p| p.organization_id).collect();
        draft.check_parties_exist(&self.existing_organizations(&ids).await?)?;
        if let Some(acting) = &actor.acting {
            draft.check_includes(acting.org_id, &acting.org_name)?;
        }
        Ok(draft)
    }

    /// `AND <partnership is visible to the actor>`: its organization is a party. Operators see all.
    fn visible_to(actor: &Actor, b: &mut SqlBuilder) {
        if let Some(org) = actor.org_id() {
            b.push(" AND EXISTS (SELECT 1 FROM partnership_parties vis WHERE vis.partnership_id = partnerships.id AND vis.organization_id = ")
                .bind(Arg::Int(org))
                .push(")");
        }
    }

    /// Creates a partnership in stage `exploring`.
    pub async fn create_partnership(
        &self,
        actor: &Actor,
        input: &PartnershipInput,
    ) -> Result<Partnership, StoreError> {
        let d = self.check_partnership(actor, input).await?;
        let ts = now();
        let id = run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let id = insert_partnership!(tx, actor, &d, ts);
            tx.commit().await?;
            id
        });
        self.get_partnership(actor, PartnershipId(id)).await
    }

    /// Replaces a partnership's name, purpose, type and parties. The stage is left alone.
    pub async fn update_partnership(
        &self,
        actor: &Actor,
        id: PartnershipId,
        input: &PartnershipInput,
    ) -> Result<Partnership, StoreError> {
        let current = self.get_partnership(actor, id).await?;
        ensure_not_archived(&current)?;
        let d = self.check_partnership(actor, input).await?;
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query(
                "UPDATE partnerships SET name = $2, purpose = $3, partnership_type = $4, updated_at = $5 \
                 WHERE id = $1 AND archived_at IS NULL",
            )
            .bind(id.0)
            .bind(&d.name)
            .bind(&d.purpose)
            .bind(d.partnership_type.as_str())
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::Archived {
                    entity: "partnership",
                    id: id.0,
                });
            }
            sqlx::query("DELETE FROM partnership_parties WHERE partnership_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            for (i, party) in d.parties.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO partnership_parties (partnership_id, organization_id, role, position) VALUES ($1, $2, $3, $4)",
                )
                .bind(id.0)
                .bind(party.organization_id.0)
                .bind(&party.role)
                .bind(i as i64)
                .execute(&mut *tx)
                .await?;
            }
            audit!(
                &mut *tx,
                actor,
                "update",
                "partnership",
                id,
                d.parties
                    .iter()
                    .map(|p| p.organization_id.0)
                    .chain(current.parties.iter().map(|p| p.organization_id.0)),
                Some(partnership_json(&current)),
                Some(draft_json(&d, current.stage))
            );
            tx.commit().await?;
        });
        self.get_partnership(actor, id).await
    }

    /// The partnership, if the actor's organization is party to it; otherwise not found — another
    /// tenant's id reveals nothing.
    pub async fn get_partnership(
        &self,
        actor: &Actor,
        id: PartnershipId,
    ) -> Result<Partnership, StoreError> {
        let mut q = SqlBuilder::new(&format!("{SELECT} WHERE id = "));
        q.bind(Arg::Int(id.0));
        Self::visible_to(actor, &mut q);
        let (row, parties) = run!(&self.read, |p| {
            let row = bind_args!(sqlx::query_as::<_, PartnershipRow>(&q.sql), &q.args)
                .fetch_optional(p)
                .await?;
            let parties = sqlx::query_as::<_, PartyRow>(
                "SELECT pp.partnership_id, pp.organization_id, o.name AS organization_name, pp.role \
                 FROM partnership_parties pp JOIN organizations o ON o.id = pp.organization_id \
                 WHERE pp.partnership_id = $1 ORDER BY pp.position",
            )
            .bind(id.0)
            .fetch_all(p)
            .await?;
            (row, parties)
        });
        row.ok_or(StoreError::NotFound {
            entity: "partnership",
        })?
        .into_partnership(&parties)
    }

    /// A filtered, sorted page of partnerships, each with its parties (two queries, whatever the
    /// page size).
    pub async fn list_partnerships(
        &self,
        actor: &Actor,
        filter: &PartnershipFilter,
        sort: PartnershipSort,
        page: PageRequest,
    ) -> Result<Page<Partnership>, StoreError> {
        let mut w = SqlBuilder::new(" WHERE 1 = 1");
        Self::visible_to(actor, &mut w);
        if !filter.include_archived {
            w.push(" AND archived_at IS NULL");
        }
        if let Some(t) = filter.partnership_type {
            w.push(" AND partnership_type = ")
                .bind(Arg::Text(t.as_str().into()));
        }
        if let Some(s) = filter.stage {
            w.push(" AND stage = ").bind(Arg::Text(s.as_str().into()));
        }
        if let Some(org) = filter.party {
            w.push(" AND EXISTS (SELECT 1 FROM partnership_parties pp WHERE pp.partnership_id = partnerships.id AND pp.organization_id = ")
                .bind(Arg::Int(org.0))
                .push(")");
        }
        if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
            w.push(" AND LOWER(name) LIKE ")
                .bind(Arg::Text(contains_pattern(q)))
                .push(" ESCAPE '\\'");
        }
        let count_sql = format!("SELECT COUNT(*) FROM partnerships{}", w.sql);
        let mut list = SqlBuilder {
            sql: format!("{SELECT}{} ORDER BY {} LIMIT ", w.sql, order_by(sort)),
            args: w.args.clone(),
        };
        list.bind(Arg::Int(page.limit()))
            .push(" OFFSET ")
            .bind(Arg::Int(page.offset()));

        let (total, rows) = run!(&self.read, |p| {
            let total: i64 = bind_args!(sqlx::query_scalar(&count_sql), &w.args)
                .fetch_one(p)
                .await?;
            let rows: Vec<PartnershipRow> = bind_args!(sqlx::query_as(&list.sql), &list.args)
                .fetch_all(p)
                .await?;
            (total, rows)
        });
        let parties = self
            .parties_of(&rows.iter().map(|r| r.id).collect::<Vec<_>>())
            .await?;
        let items = rows
            .into_iter()
            .map(|r| r.into_partnership(&parties))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            page: page.page,
            per_page: page.per_page,
            total: total as u64,
        })
    }

    async fn parties_of(&self, ids: &[i64]) -> Result<Vec<PartyRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut b = SqlBuilder::new(
            "SELECT pp.partnership_id, pp.organization_id, o.name AS organization_name, pp.role \
             FROM partnership_parties pp JOIN organizations o ON o.id = pp.organization_id \
             WHERE pp.partnership_id IN ",
        );
        b.bind_list(ids.iter().map(|i| Arg::Int(*i)))
            .push(" ORDER BY pp.partnership_id, pp.position");
        let rows = run!(&self.read, |p| bind_args!(
            sqlx::query_as::<_, PartyRow>(&b.sql),
            &b.args
        )
        .fetch_all(p)
        .await?);
        Ok(rows)
    }

    /// The partnerships an organization is party to that the actor can see (archived ones
    /// included), newest first.
    pub async fn partnerships_of(
        &self,
        actor: &Actor,
        org: OrgId,
    ) -> Result<Vec<Partnership>, StoreError> {
        let filter = PartnershipFilter {
            party: Some(org),
            include_archived: true,
            ..PartnershipFilter::default()
        };
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let p = self
                .list_partnerships(
                    actor,
                    &filter,
                    PartnershipSort::UpdatedDesc,
                    PageRequest::new(Some(page), Some(concord_domain::paging::MAX_PER_PAGE))?,
                )
                .await?;
            let more = p.has_next();
            all.extend(p.items);
            if !more {
                return Ok(all);
            }
            page += 1;
        }
    }

    /// Moves a partnership to `to` if the state machine allows it, recording the change.
    pub async fn transition_partnership(
        &self,
        actor: &Actor,
        id: PartnershipId,
        to: Stage,
        note: &str,
    ) -> Result<Partnership, StoreError> {
        let note = {
            let mut e = ValidationErrors::new();
            let n = concord_domain::text::clean(&mut e, "note", note, 0, 2000, true);
            e.into_result(n)?
        };
        let current = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_manager)?;
        ensure_not_archived(&current)?;
        let from = current.stage;
        from.transition(to)?;
        if to == Stage::Active && !self.has_effective_charter(id).await? {
            return Err(StoreError::Refused {
                field: "to".into(),
                code: "charter_required",
                message: "a partnership goes active only with an effective charter: every party must sign a charter first".into(),
            });
        }
        // The review drives `under_review`: moving there opens a review, and leaving it waits
        // for the review's signed decision.
        if from == Stage::UnderReview && self.has_open_review(id).await? {
            return Err(StoreError::Refused {
                field: "to".into(),
                code: "review_open",
                message: "a review is in progress: the partnership leaves review when every party has signed its decision".into(),
            });
        }
        if to == Stage::UnderReview {
            self.open_review_for_transition(actor, &current, &note)
                .await?;
            return self.get_partnership(actor, id).await;
        }
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            // Conditional on the stage we checked, so two concurrent moves cannot both apply.
            let n = sqlx::query(
                "UPDATE partnerships SET stage = $2, updated_at = $3 WHERE id = $1 AND stage = $4 AND archived_at IS NULL",
            )
            .bind(id.0)
            .bind(to.as_str())
            .bind(ts)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict {
                    field: "to".into(),
                    message:
                        "the partnership changed while this request was made; reload and try again"
                            .into(),
                });
            }
            sqlx::query(
                "INSERT INTO stage_changes (partnership_id, from_stage, to_stage, note, changed_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id.0)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(&note)
            .bind(ts)
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "transition",
                "partnership",
                id,
                current.parties.iter().map(|p| p.organization_id.0),
                Some(serde_json::json!({ "stage": from.as_str() })),
                Some(serde_json::json!({ "stage": to.as_str(), "note": note }))
            );
            tx.commit().await?;
        });
        self.get_partnership(actor, id).await
    }

    /// Archives a partnership (it leaves the default lists and can no longer change).
    pub async fn archive_partnership(
        &self,
        actor: &Actor,
        id: PartnershipId,
    ) -> Result<Partnership, StoreError> {
        let current = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_manager)?;
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query(
                "UPDATE partnerships SET archived_at = $2, updated_at = $2 WHERE id = $1 AND archived_at IS NULL",
            )
            .bind(id.0)
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                audit!(
                    &mut *tx,
                    actor,
                    "archive",
                    "partnership",
                    id,
                    current.parties.iter().map(|p| p.organization_id.0),
                    Some(serde_json::json!({ "archived_at": null })),
                    Some(serde_json::json!({ "archived_at": ts }))
                );
            }
            tx.commit().await?;
        });
        // Archiving twice is not an error: the partnership is archived either way.
        self.get_partnership(actor, id).await
    }

    /// The stage history, oldest first.
    pub async fn stage_history(
        &self,
        actor: &Actor,
        id: PartnershipId,
    ) -> Result<Vec<StageChange>, StoreError> {
        self.get_partnership(actor, id).await?;
        self.stage_history_of(id).await
    }

    /// A partnership with its stage history and the actor's own notes, checking visibility once
    /// (the detail page).
    pub async fn partnership_view(
        &self,
        actor: &Actor,
        id: PartnershipId,
    ) -> Result<
        (
            Partnership,
            Vec<StageChange>,
            Vec<concord_domain::note::Note>,
        ),
        StoreError,
    > {
        let p = self.get_partnership(actor, id).await?;
        let history = self.stage_history_of(id).await?;
        let notes = match &actor.acting {
            Some(acting) => self.notes_of(acting.org_id, id).await?,
            None => Vec::new(),
        };
        Ok((p, history, notes))
    }

    /// The stage history of a partnership the caller has already been allowed to see.
    async fn stage_history_of(&self, id: PartnershipId) -> Result<Vec<StageChange>, StoreError> {
        let rows = run!(&self.read, |p| {
            sqlx::query_as::<_, StageChangeRow>(
            "SELECT from_stage, to_stage, note, changed_at FROM stage_changes WHERE partnership_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(p)
        .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(StageChange {
                    from_stage: r
                        .from_stage
                        .as_deref()
                        .map(str::parse)
                        .transpose()
                        .map_err(|_| corrupt(id.0, "stage history"))?,
                    to_stage: r
                        .to_stage
                        .parse()
                        .map_err(|_| corrupt(id.0, "stage history"))?,
                    note: r.note,
                    changed_at: r.changed_at,
                })
            })
            .collect()
    }

    /// How many partnerships are in each stage (not archived), for the dashboard.
    pub async fn partnership_stage_counts(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(Stage, i64)>, StoreError> {
        let mut q =
            SqlBuilder::new("SELECT stage, COUNT(*) FROM partnerships WHERE archived_at IS NULL");
        Self::visible_to(actor, &mut q);
        q.push(" GROUP BY stage");
        let rows: Vec<(String, i64)> =
            run!(&self.read, |p| bind_args!(sqlx::query_as(&q.sql), &q.args)
                .fetch_all(p)
                .await?);
        let mut out: Vec<(Stage, i64)> = Stage::ALL.iter().map(|s| (*s, 0)).collect();
        for (s, n) in rows {
            if let Ok(st) = s.parse::<Stage>() {
                if let Some(e) = out.iter_mut().find(|(x, _)| *x == st) {
                    e.1 = n;
                }
            }
        }
        Ok(out)
    }
}

/// A partnership as recorded in the audit log.
fn partnership_json(p: &Partnership) -> serde_json::Value {
    serde_json::json!({
        "name": p.name, "purpose": p.purpose, "type": p.partnership_type.as_str(), "stage": p.stage.as_str(),
        "parties": p.parties.iter().map(|x| serde_json::json!({ "organization_id": x.organization_id.0, "role": x.role })).collect::<Vec<_>>(),
    })
}

pub(crate) fn draft_json(d: &PartnershipDraft, stage: Stage) -> serde_json::Value {
    serde_json::json!({
        "name": d.name, "purpose": d.purpose, "type": d.partnership_type.as_str(), "stage": stage.as_str(),
        "parties": d.parties.iter().map(|x| serde_json::json!({ "organization_id": x.organization_id.0, "role": x.role })).collect::<Vec<_>>(),
    })
}
