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
