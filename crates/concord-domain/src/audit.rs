//! Audit entries as read back: who did what to which record, when, from which request, with the
//! state before and after.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    /// The surface the change came through (`api`, `web`, `cli`, `demo`).
    pub actor: String,
    pub user_id: Option<i64>,
    pub user_email: Option<String>,
    /// The organization the user was acting for.
    pub acting_org_id: Option<i64>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

/// Filters for reading the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub user_id: Option<i64>,
}
