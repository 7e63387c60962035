//! Internal notes: what one organization writes about a partnership for itself alone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{NoteId, OrgId, PartnershipId, UserId, ValidationErrors};

/// A note as a client sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    pub body: String,
}

impl NoteInput {
    pub fn validate(&self) -> Result<String, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let body = crate::text::clean(&mut e, "body", &self.body, 1, 10_000, true);
        e.into_result(body)
    }
}

/// A stored note. Visible only inside `organization_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Note {
    pub id: NoteId,
    pub partnership_id: PartnershipId,
    /// The organization that wrote it, and the only one that can read it.
    pub organization_id: OrgId,
    pub author_user_id: UserId,
    pub author_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}
