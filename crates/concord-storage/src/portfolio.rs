//! The portfolio dashboard (issue 6): every partnership of the acting organization with its
//! parties and its health figures, and the fingerprint that says when any of it changed.
//!
//! The health figures come from [`Store::portfolio_health`] (`health.rs`), which reads the
//! precomputed, versioned health cache. The web layer keeps the assembled rows in memory keyed
//! by [`Store::portfolio_fingerprint`], so a dashboard request costs one cheap query while
//! nothing changed, and a new value shows at once (the triggers of migration 0009 bump a
//! partnership's version in the write's own transaction).

use chrono::{DateTime, Utc};

use concord_domain::health::score::PortfolioHealth;
use concord_domain::partnership::{Partnership, Party};
use concord_domain::{OrgId, PartnershipId};

use crate::audit::Actor;
use crate::{Store, StoreError};

#[derive(sqlx::FromRow)]
struct Row {
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

fn corrupt(id: i64, what: &str) -> StoreError {
    StoreError::Corrupt(format!("partnership {id}: {what}"))
}

fn acting_org(actor: &Actor) -> Result<i64, StoreError> {
    actor.org_id().ok_or_else(|| {
        StoreError::Forbidden("the portfolio is an organization's view: act for one".into())
    })
}

impl Store {
    /// Every partnership the acting organization is party to, archived ones included, each with
    /// its parties in their order; by id. Two queries, whatever the size of the portfolio.
    pub async fn portfolio_partnerships(
        &self,
        actor: &Actor,
    ) -> Result<Vec<Partnership>, StoreError> {
        let org = acting_org(actor)?;
        let (rows, parties) = run!(&self.read, |p| {
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, name, purpose, partnership_type, stage, archived_at, created_at, updated_at \
                 FROM partnerships WHERE EXISTS (SELECT 1 FROM partnership_parties vis \
                 WHERE vis.partnership_id = partnerships.id AND vis.organization_id = $1) ORDER BY id",
            )
            .bind(org)
            .fetch_all(p)
            .await?;
            let parties: Vec<PartyRow> = sqlx::query_as(
                "SELECT pp.partnership_id, pp.organization_id, o.name AS organization_name, pp.role \
                 FROM partnership_parties pp JOIN organizations o ON o.id = pp.organization_id \
                 WHERE pp.partnership_id IN (SELECT vis.partnership_id FROM partnership_parties vis \
                 WHERE vis.organization_id = $1) ORDER BY pp.partnership_id, pp.position",
            )
            .bind(org)
            .fetch_all(p)
            .await?;
            (rows, parties)
        });
        let mut out = Vec::with_capacity(rows.len());
        let mut parties = parties.into_iter().peekable();
        for r in rows {
            // Both lists are ordered by partnership id: walk them together.
            while parties.peek().is_some_and(|x| x.partnership_id < r.id) {
                parties.next();
            }
            let mut mine = Vec::new();
            while let Some(x) = parties.next_if(|x| x.partnership_id == r.id) {
                mine.push(Party {
                    organization_id: OrgId(x.organization_id),
                    organization_name: x.organization_name,
                    role: x.role,
                });
            }
            out.push(Partnership {
                id: PartnershipId(r.id),
                partnership_type: r
                    .partnership_type
                    .parse()
                    .map_err(|_| corrupt(r.id, "type"))?,
                stage: r.stage.parse().map_err(|_| corrupt(r.id, "stage"))?,
                parties: mine,
                name: r.name,
                purpose: r.purpose,
                archived_at: r.archived_at,
                created_at: r.created_at,
                updated_at: r.updated_at,
            });
        }
        Ok(out)
    }

    /// The portfolio of the acting organization: every partnership it is party to (archived
    /// ones included) with its health figures, by id. A partnership the health store has no
    /// figures for gets none (no score, no warnings).
    pub async fn portfolio(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(Partnership, PortfolioHealth)>, StoreError> {
        let partnerships = self.portfolio_partnerships(actor).await?;
        let ids: Vec<PartnershipId> = partnerships.iter().map(|p| p.id).collect();
        let mut health = self.portfolio_health(actor, &ids).await?;
        health.sort_by_key(|h| h.partnership_id);
        let mut health = health.into_iter().peekable();
        let mut out = Vec::with_capacity(partnerships.len());
        for p in partnerships {
            while health.peek().is_some_and(|h| h.partnership_id < p.id.0) {
                health.next();
            }
            let h = health
                .next_if(|h| h.partnership_id == p.id.0)
                .unwrap_or_else(|| PortfolioHealth {
                    partnership_id: p.id.0,
                    score: None,
                    trend: None,
                    sparkline: Vec::new(),
                    warnings: 0,
                    next_review: None,
                    verdict: None,
                });
            out.push((p, h));
        }
        Ok(out)
    }

    /// What the acting organization's portfolio is computed from, compared as a whole, in one
    /// query: the count and the sum of the health versions of its partnerships (the triggers of
    /// migration 0009 bump a partnership's version on every write its health or its row is
    /// computed from, a partner renamed included; versions only grow, so any change changes the
    /// sum), and when the organization last set its health weights. Equal fingerprints on the
    /// same day mean an equal portfolio.
    pub async fn portfolio_fingerprint(
        &self,
        actor: &Actor,
    ) -> Result<(i64, i64, Option<String>), StoreError> {
        let org = acting_org(actor)?;
        let (n, sum, weights): (i64, Option<i64>, Option<String>) = run!(&self.read, |p| {
            sqlx::query_as(
                "SELECT COUNT(*), CAST(SUM(m.version) AS BIGINT), \
                 (SELECT CAST(hs.updated_at AS TEXT) FROM health_settings hs WHERE hs.organization_id = $1) \
                 FROM partnership_parties pp \
                 LEFT JOIN health_marks m ON m.partnership_id = pp.partnership_id \
                 WHERE pp.organization_id = $1",
            )
            .bind(org)
            .fetch_one(p)
            .await?
        });
        Ok((n, sum.unwrap_or(0), weights))
    }
}
