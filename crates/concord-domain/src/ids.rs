//! Newtype ids, so an organization id can never be passed where a partnership id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// An organization's id.
    OrgId
);
id_type!(
    /// A partnership's id.
    PartnershipId
);
id_type!(
    /// A user's id.
    UserId
);
id_type!(
    /// An internal note's id.
    NoteId
);
id_type!(
    /// An API token's id (not the token).
    TokenId
);

/// The largest id a client may give an item inside a document (a charter's metrics, a journey's
/// stages): far above any real one, so the next id can always be assigned.
pub const MAX_ITEM_ID: u32 = 1_000_000;

/// Gives every item of a document list without an id the next free one (above `floor`, the
/// largest id used before, and above every id given), and reports ids that are zero, too large
/// or used twice. Shared by the charter and the journey design.
pub(crate) fn assign_ids<T>(
    e: &mut crate::ValidationErrors,
    field: &str,
    items: &mut [T],
    floor: u32,
    id: impl Fn(&mut T) -> &mut Option<u32>,
) {
    let mut seen = std::collections::BTreeSet::new();
    let mut next = floor;
    for (i, item) in items.iter_mut().enumerate() {
        if let Some(v) = *id(item) {
            if v > MAX_ITEM_ID {
                e.add(
                    format!("{field}[{i}].id"),
                    "invalid",
                    format!("ids are at most {MAX_ITEM_ID}; leave the id out for a new item"),
                );
            } else if v == 0 {
                e.add(
                    format!("{field}[{i}].id"),
                    "invalid",
                    "ids start at 1; leave the id out for a new item",
                );
            } else if !seen.insert(v) {
                e.add(
                    format!("{field}[{i}].id"),
                    "duplicate_id",
                    format!("id {v} is used twice in {field}"),
                );
            }
            next = next.max(v.min(MAX_ITEM_ID));
        }
    }
    for item in items.iter_mut() {
        let slot = id(item);
        if slot.is_none() {
            next = next.saturating_add(1);
            *slot = Some(next);
        }
    }
}
