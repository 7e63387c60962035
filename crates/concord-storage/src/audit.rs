//! The audit log: every write records who did what to which record, in the write's transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Store, StoreError};

/// Who is acting. Until accounts exist this names the surface (`api`, `web`, `cli`, `demo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    pub fn new(label: impl Into<String>) -> Self {
        Actor(label.into())
    }
}

/// One audit entry.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub detail: sqlx::types::Json<serde_json::Value>,
}

/// Records an audit entry on `conn` (inside the caller's transaction).
macro_rules! audit {
    ($conn:expr, $actor:expr, $action:expr, $entity:expr, $entity_id:expr, $detail:expr) => {
        sqlx::query(
            "INSERT INTO audit_log (occurred_at, actor, action, entity, entity_id, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($crate::now())
        .bind($actor.0.as_str())
        .bind($action)
        .bind($entity)
        .bind($entity_id.to_string())
        .bind(sqlx::types::Json($detail))
        .execute($conn)
        .await?
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
        let sql =
            "SELECT id, occurred_at, actor, action, entity, entity_id, detail FROM audit_log \
                   WHERE entity = $1 AND entity_id = $2 ORDER BY id DESC LIMIT $3";
        let rows = run!(&self.read, |p| sqlx::query_as::<_, AuditEntry>(sql)
            .bind(entity)
            .bind(entity_id)
            .bind(limit)
            .fetch_all(p)
            .await?);
        Ok(rows)
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
