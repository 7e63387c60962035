//! What every page's frame shows: who is signed in, the organization they act for (with a
//! switcher when they belong to several), and the CSRF token forms must carry.

use concord_domain::account::Role;

use super::{Opt, PageError};
use crate::auth::Principal;
use crate::AppState;

#[derive(Default)]
pub struct Chrome {
    pub signed_in: bool,
    pub user_name: String,
    pub org_name: String,
    pub role: String,
    pub is_admin: bool,
    pub csrf: String,
    /// The user's organizations, for the switcher (empty when they have one).
    pub orgs: Vec<Opt>,
}

impl Chrome {
    pub async fn load(s: &AppState, who: &Principal) -> Result<Chrome, PageError> {
        let memberships = s.store.memberships(who.acting.user_id).await?;
        let orgs = if memberships.len() > 1 {
            memberships
                .iter()
                .map(|m| {
                    Opt::new(
                        m.organization_id.to_string(),
                        m.organization_name.clone(),
                        m.organization_id == who.acting.org_id,
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Chrome {
            signed_in: true,
            user_name: who.acting.display_name.clone(),
            org_name: who.acting.org_name.clone(),
            role: who.acting.role.label().to_string(),
            is_admin: who.acting.role == Role::Admin,
            csrf: who.csrf().to_string(),
            orgs,
        })
    }
}
