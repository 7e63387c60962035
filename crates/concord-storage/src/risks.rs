//! The risk register of a partnership. A shared risk is seen by every party; a private one is
//! written with `private_org_id` = the writing organization and is not found for anyone else, in
//! any list, read or update. Every partnership starts with the three seeded risks
//! ([`seed_risks_tx`], called inside each partnership-creating transaction).

use chrono::{DateTime, NaiveDate, Utc};

use concord_domain::account::Acting;
use concord_domain::health::risk::{
    check_change, seeds, sort_register, Risk, RiskInput, SEED_AUTHOR,
};
use concord_domain::health::{severity, RiskCategory, RiskStatus, Visibility, HIGH_RISK};
use concord_domain::partnership::Partnership;
use concord_domain::{OrgId, PartnershipId, ValidationErrors};

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::meetings::person_name;
use crate::partnerships::ensure_not_archived;
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow)]
struct RiskRow {
    id: i64,
    partnership_id: i64,
    category: String,
    title: String,
    description: String,
    likelihood: i32,
    impact: i32,
    owner_org_id: Option<i64>,
    owner_name: String,
    mitigation: String,
    status: String,
    review_on: Option<NaiveDate>,
    visibility: String,
    private_org_id: Option<i64>,
    seeded: bool,
    created_by_name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, partnership_id, category, title, description, likelihood, impact, owner_org_id, \
     owner_name, mitigation, status, review_on, visibility, private_org_id, seeded, created_by_name, \
     created_at, updated_at";

impl RiskRow {
    fn into_risk(self) -> Result<Risk, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("risk {}: {what}", self.id));
        let score = |v: i32, what: &str| {
            u8::try_from(v)
                .ok()
                .filter(|v| (1..=5).contains(v))
                .ok_or_else(|| corrupt(what))
        };
        let likelihood = score(self.likelihood, "likelihood")?;
        let impact = score(self.impact, "impact")?;
        let category: RiskCategory = self.category.parse().map_err(|_| corrupt("category"))?;
        let status: RiskStatus = self.status.parse().map_err(|_| corrupt("status"))?;
        let visibility: Visibility = self.visibility.parse().map_err(|_| corrupt("visibility"))?;
        let sev = severity(likelihood, impact);
        Ok(Risk {
            id: self.id,
            partnership_id: PartnershipId(self.partnership_id),
            category,
            title: self.title,
            description: self.description,
            likelihood,
            impact,
            severity: sev,
            high: sev >= HIGH_RISK,
            owner_org_id: self.owner_org_id.map(OrgId),
            owner_name: self.owner_name,
            mitigation: self.mitigation,
            status,
            review_on: self.review_on,
            visibility,
            private_org_id: self.private_org_id.map(OrgId),
            seeded: self.seeded,
            created_by: self.created_by_name,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// `AND <the risk is visible to the actor>`: shared, or private to the acting organization.
/// Operators (no acting organization) see every risk.
fn visibility_clause(actor: &Actor) -> String {
    match actor.org_id() {
        Some(org) => format!(" AND (private_org_id IS NULL OR private_org_id = {org})"),
        None => String::new(),
    }
}

/// The organizations an audit entry about a risk concerns: every party for a shared risk, only
/// the owning organization for a private one (so the partner's admins never read it).
fn audit_orgs(p: &Partnership, private_org: Option<i64>) -> Vec<i64> {
    match private_org {
        Some(o) => vec![o],
        None => p.parties.iter().map(|x| x.organization_id.0).collect(),
    }
}

/// The organization a new private risk belongs to: the acting one; an operator names it with
/// `owner_org_id`.
fn private_owner(actor: &Actor, input: &RiskInput) -> Result<Option<i64>, StoreError> {
    if input.visibility == Visibility::Shared {
        return Ok(None);
    }
    match (actor.org_id(), input.owner_org_id) {
        (Some(org), _) => Ok(Some(org)),
        (None, Some(owner)) => Ok(Some(owner.0)),
        (None, None) => Err(StoreError::Validation(ValidationErrors::single(
            "owner_org_id",
            "required",
            "a private risk added by an operator needs the owning organization",
        ))),
    }
}

/// Seeds the three classic risks (shared, open, unowned) on partnership `id` inside the
/// caller's transaction. Every path that creates a partnership calls it.
pub(crate) async fn seed_risks_tx<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    id: i64,
    ts: DateTime<Utc>,
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for s in seeds() {
        sqlx::query(
            "INSERT INTO risks (partnership_id, category, title, description, likelihood, impact, owner_name, \
             mitigation, status, visibility, seeded, created_by_name, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, '', '', $7, $8, $9, $10, $11, $11)",
        )
        .bind(id)
        .bind(s.category.as_str())
        .bind(s.title)
        .bind(s.description)
        .bind(i32::from(s.likelihood))
        .bind(i32::from(s.impact))
        .bind(s.status.as_str())
        .bind(s.visibility.as_str())
        .bind(true)
        .bind(SEED_AUTHOR)
        .bind(ts)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// The register: shared risks and the acting organization's private ones, those still open
    /// or being mitigated first, each group most severe first.
    pub async fn risks(
        &self,
        actor: &Actor,
        id: PartnershipId,
    ) -> Result<(Partnership, Vec<Risk>), StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM risks WHERE partnership_id = $1{} ORDER BY id",
            visibility_clause(actor)
        );
        let rows: Vec<RiskRow> = run!(&self.read, |c| sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_all(c)
            .await?);
        let mut list = rows
            .into_iter()
            .map(RiskRow::into_risk)
            .collect::<Result<Vec<_>, _>>()?;
        sort_register(&mut list);
        Ok((p, list))
    }

    /// One risk of the register; another organization's private risk is not found.
    pub async fn risk(
        &self,
        actor: &Actor,
        id: PartnershipId,
        risk_id: i64,
    ) -> Result<(Partnership, Risk), StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM risks WHERE id = $1 AND partnership_id = $2{}",
            visibility_clause(actor)
        );
        let row: Option<RiskRow> = run!(&self.read, |c| sqlx::query_as(&sql)
            .bind(risk_id)
            .bind(id.0)
            .fetch_optional(c)
            .await?);
        let risk = row
            .ok_or(StoreError::NotFound { entity: "risk" })?
            .into_risk()?;
        Ok((p, risk))
    }

    /// Adds a risk (contributors and above). A private one belongs to the acting organization.
    pub async fn add_risk(
        &self,
        actor: &Actor,
        id: PartnershipId,
        input: &RiskInput,
    ) -> Result<Risk, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let parties: Vec<OrgId> = p.parties.iter().map(|x| x.organization_id).collect();
        let r = input.validate(&parties)?;
        let private_org = private_owner(actor, &r)?;
        let orgs = audit_orgs(&p, private_org);
        let ts = now();
        let name = person_name(actor);
        let risk_id = run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let rid: i64 = sqlx::query_scalar(
                "INSERT INTO risks (partnership_id, category, title, description, likelihood, impact, owner_org_id, \
                 owner_name, mitigation, status, review_on, visibility, private_org_id, seeded, created_by_name, \
                 created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id",
            )
            .bind(id.0)
            .bind(r.category.as_str())
            .bind(&r.title)
            .bind(&r.description)
            .bind(i32::from(r.likelihood))
            .bind(i32::from(r.impact))
            .bind(r.owner_org_id.map(|o| o.0))
            .bind(&r.owner_name)
            .bind(&r.mitigation)
            .bind(r.status.as_str())
            .bind(r.review_on)
            .bind(r.visibility.as_str())
            .bind(private_org)
            .bind(false)
            .bind(&name)
            .bind(ts)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "add_risk",
                "risk",
                rid,
                orgs.iter().copied(),
                None,
                Some(
                    serde_json::json!({ "partnership_id": id.0, "risk": r, "private_org_id": private_org })
                )
            );
            tx.commit().await?;
            rid
        });
        Ok(self.risk(actor, id, risk_id).await?.1)
    }

    /// Replaces a risk's fields (contributors and above). Another organization's private risk is
    /// not found; a shared risk cannot be made private; a private one may be shared.
    pub async fn update_risk(
        &self,
        actor: &Actor,
        id: PartnershipId,
        risk_id: i64,
        input: &RiskInput,
    ) -> Result<Risk, StoreError> {
        let (p, _) = self.risk(actor, id, risk_id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let parties: Vec<OrgId> = p.parties.iter().map(|x| x.organization_id).collect();
        let r = input.validate(&parties)?;
        let ts = now();
        let select = format!(
            "SELECT {COLUMNS} FROM risks WHERE id = $1 AND partnership_id = $2{}",
            visibility_clause(actor)
        );
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let before: Option<RiskRow> = sqlx::query_as(&select)
                .bind(risk_id)
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(before) = before else {
                return Err(StoreError::NotFound { entity: "risk" });
            };
            let before = before.into_risk()?;
            check_change(&before, &r)?;
            // Sharing a private risk clears its owner; a private one stays with its organization.
            let private_org = match r.visibility {
                Visibility::Shared => None,
                Visibility::Private => before.private_org_id.map(|o| o.0),
            };
            let n = sqlx::query(
                "UPDATE risks SET category = $3, title = $4, description = $5, likelihood = $6, impact = $7, \
                 owner_org_id = $8, owner_name = $9, mitigation = $10, status = $11, review_on = $12, \
                 visibility = $13, private_org_id = $14, updated_at = $15 \
                 WHERE id = $1 AND partnership_id = $2 AND updated_at = $16",
            )
            .bind(risk_id)
            .bind(id.0)
            .bind(r.category.as_str())
            .bind(&r.title)
            .bind(&r.description)
            .bind(i32::from(r.likelihood))
            .bind(i32::from(r.impact))
            .bind(r.owner_org_id.map(|o| o.0))
            .bind(&r.owner_name)
            .bind(&r.mitigation)
            .bind(r.status.as_str())
            .bind(r.review_on)
            .bind(r.visibility.as_str())
            .bind(private_org)
            .bind(ts)
            .bind(before.updated_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::Refused {
                    field: "risk".into(),
                    code: "edited_concurrently",
                    message: "the risk was changed by someone else meanwhile; reload and try again"
                        .into(),
                });
            }
            // A private risk made shared now concerns every party.
            let orgs = audit_orgs(&p, private_org);
            audit!(
                &mut *tx,
                actor,
                "update_risk",
                "risk",
                risk_id,
                orgs.iter().copied(),
                Some(serde_json::to_value(before.to_input()).unwrap_or_default()),
                Some(serde_json::to_value(&r).unwrap_or_default())
            );
            tx.commit().await?;
        });
        Ok(self.risk(actor, id, risk_id).await?.1)
    }
}
