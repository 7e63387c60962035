//! The audit log: every write records who did what to which record, in the write's transaction.

use chrono::{DateTime, Utc};
use concord_domain::account::Acting;
use concord_domain::audit::{AuditEntry, AuditFilter};
use concord_domain::paging::{Page, PageRequest};

use crate::dialect::{Arg, SqlBuilder};

use crate::{Store, StoreError};

/// Who is calling the store. `acting` is the signed-in user and the organization they act for —
/// the tenant: every query for tenant-owned rows is scoped by it, and role rules are checked
/// against it. An operator at the command line (`concord import`, the demo loader) has no
/// `acting` and is not scoped. `label` names the surface (`api`, `web`, `cli`, `demo`) and, with
/// the request id, is recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub label: String,
    pub acting: Option<Acting>,
    pub request_id: Option<String>,
}

impl Actor {
    /// An operator (the CLI, the demo loader): not scoped to an organization.
    pub fn new(label: impl Into<String>) -> Self {
        Actor {
            label: label.into(),
            ..Actor::default()
        }
    }

    /// A signed-in user or API token acting for an organization.
    pub fn person(label: impl Into<String>, acting: &Acting, request_id: Option<String>) -> Self {
        Actor {
            label: label.into(),
            acting: Some(acting.clone()),
            request_id,
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        self.acting.as_ref().map(|a| a.user_id.0)
    }

    pub fn org_id(&self) -> Option<i64> {
        self.acting.as_ref().map(|a| a.org_id.0)
    }

    /// Checks a role rule for a person; operators pass.
    pub fn check(
        &self,
        rule: impl FnOnce(&Acting) -> Result<(), concord_domain::account::Forbidden>,
    ) -> Result<(), StoreError> {
        match &self.acting {
            Some(a) => rule(a).map_err(StoreError::from),
            None => Ok(()),
        }
    }
}

const AUDIT_SELECT: &str = "SELECT a.id AS id, a.occurred_at AS occurred_at, a.actor AS actor, a.user_id AS user_id, \
     u.email AS user_email, a.acting_org_id AS acting_org_id, a.action AS action, a.entity AS entity, \
     a.entity_id AS entity_id, a.before_state AS before_state, a.after_state AS after_state, \
     a.request_id AS request_id FROM audit_log a LEFT JOIN users u ON u.id = a.user_id";

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    occurred_at: DateTime<Utc>,
    actor: String,
    user_id: Option<i64>,
    user_email: Option<String>,
    acting_org_id: Option<i64>,
    action: String,
    entity: String,
    entity_id: String,
    before_state: Option<sqlx::types::Json<serde_json::Value>>,
    after_state: Option<sqlx::types::Json<serde_json::Value>>,
    request_id: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> AuditEntry {
        AuditEntry {
            id: r.id,
            occurred_at: r.occurred_at,
            actor: r.actor,
            user_id: r.user_id,
            user_email: r.user_email,
            acting_org_id: r.acting_org_id,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            before: r.before_state.map(|j| j.0),
            after: r.after_state.map(|j| j.0),
            request_id: r.request_id,
        }
    }
}

/// Records an audit entry on `conn` (inside the caller's transaction): who (the actor), what
/// (action, entity, id), the state before and after as JSON, and which organizations it concerns
/// (their admins can read it).
macro_rules! audit {
    ($conn:expr, $actor:expr, $action:expr, $entity:expr, $entity_id:expr, $orgs:expr, $before:expr, $after:expr) => {{
        let before: Option<serde_json::Value> = $before;
        let after: Option<serde_json::Value> = $after;
        let audit_id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_log (occurred_at, actor, action, entity, entity_id, detail, user_id, acting_org_id, \
             before_state, after_state, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind($crate::now())
        .bind($actor.label.as_str())
        .bind($action)
        .bind($entity)
        .bind($entity_id.to_string())
        .bind(sqlx::types::Json(serde_json::json!({})))
        .bind($actor.user_id())
        .bind($actor.org_id())
        .bind(before.map(sqlx::types::Json))
        .bind(after.map(sqlx::types::Json))
        .bind($actor.request_id.as_deref())
        .fetch_one(&mut *$conn)
        .await?;
        let mut orgs: Vec<i64> = $orgs.into_iter().collect();
        if let Some(o) = $actor.org_id() {
            orgs.push(o);
        }
        orgs.sort_unstable();
        orgs.dedup();
        for org in orgs {
            sqlx::query("INSERT INTO audit_log_orgs (audit_id, organization_id) VALUES ($1, $2)")
                .bind(audit_id)
                .bind(org)
                .execute(&mut *$conn)
                .await?;
        }
    }};
    ($conn:expr, $actor:expr, $action:expr, $entity:expr, $entity_id:expr, $detail:expr) => {
        audit!($conn, $actor, $action, $entity, $entity_id, Vec::<i64>::new(), None, Some($detail))
    };
}
pub(crate) use audit;

impl Store {
    /// The most recent audit entries for one record, newest first.
    pub async fn audit_for(
        &self,
        entity: &str,
        entity_id: &str,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "{AUDIT_SELECT} WHERE a.entity = $1 AND a.entity_id = $2 ORDER BY a.id DESC LIMIT $3"
        );
        let rows = run!(&self.read, |p| sqlx::query_as::<_, AuditRow>(&sql)
            .bind(entity)
            .bind(entity_id)
            .bind(limit)
            .fetch_all(p)
            .await?);
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }

    /// The audit entries that concern the acting organization, newest first (its admins only),
    /// filtered by entity, record and user.
    pub async fn list_audit(
        &self,
        acting: &Acting,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        acting.require_admin()?;
        let mut w = SqlBuilder::new(
            " WHERE EXISTS (SELECT 1 FROM audit_log_orgs ao WHERE ao.audit_id = a.id AND ao.organization_id = ",
        );
        w.bind(Arg::Int(acting.org_id.0)).push(")");
        if let Some(e) = filter.entity.as_deref().filter(|e| !e.is_empty()) {
            w.push(" AND a.entity = ").bind(Arg::Text(e.to_string()));
        }
        if let Some(id) = filter.entity_id.as_deref().filter(|e| !e.is_empty()) {
            w.push(" AND a.entity_id = ")
                .bind(Arg::Text(id.to_string()));
        }
        if let Some(u) = filter.user_id {
            w.push(" AND a.user_id = ").bind(Arg::Int(u));
        }
        let count_sql = format!("SELECT COUNT(*) FROM audit_log a{}", w.sql);
        let mut list = SqlBuilder {
            sql: format!("{AUDIT_SELECT}{} ORDER BY a.id DESC LIMIT ", w.sql),
            args: w.args.clone(),
        };
        list.bind(Arg::Int(page.limit()))
            .push(" OFFSET ")
            .bind(Arg::Int(page.offset()));
        let (total, rows) = run!(&self.read, |p| {
            let total: i64 = bind_args!(sqlx::query_scalar(&count_sql), &w.args)
                .fetch_one(p)
                .await?;
            let rows: Vec<AuditRow> = bind_args!(sqlx::query_as(&list.sql), &list.args)
                .fetch_all(p)
                .await?;
            (total, rows)
        });
        Ok(Page {
            items: rows.into_iter().map(AuditEntry::from).collect(),
            page: page.page,
            per_page: page.per_page,
            total: total as u64,
        })
    }

    /// How many audit entries exist (for tests and `doctor`).
    pub async fn audit_count(&self) -> Result<i64, StoreError> {
        let n = run!(&self.read, |p| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM audit_log"
        )
        .fetch_one(p)
        .await?);
        Ok(n)
    }
}
