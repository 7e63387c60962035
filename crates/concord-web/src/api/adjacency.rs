//! Adjacency suggestions: for an organization's own service lines, the partner capabilities that
//! complement them and the partnership type each implies, from the table shipped as data.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use concord_domain::capability::CapabilityCode;
use concord_domain::market::adjacency::{suggestions, AdjacencyRelation, AdjacencyTable};
use concord_domain::partnership::PartnershipType;
use concord_domain::OrgId;

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::AppState;

/// Whose suggestions.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdjacencyQuery {
    /// The organization whose offered capabilities are the starting point.
    pub org: i64,
}

/// One suggestion, with the capability names people read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SuggestionView {
    /// The capability to look for in a partner.
    pub capability: CapabilityCode,
    pub capability_name: String,
    pub relation: AdjacencyRelation,
    pub partnership_type: PartnershipType,
    /// The organization's own capability that makes this one adjacent.
    pub from: CapabilityCode,
    pub from_name: String,
    pub rationale: String,
}

/// An organization's adjacency suggestions, ordered by relation then capability.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdjacencyView {
    pub organization_id: OrgId,
    pub organization_name: String,
    /// What the organization offers (the starting point; never suggested).
    pub capabilities_offered: Vec<CapabilityCode>,
    pub suggestions: Vec<SuggestionView>,
}

/// Builds the view for an organization (shared with the page).
pub(crate) async fn view(s: &AppState, org: i64) -> Result<AdjacencyView, ApiError> {
    if org <= 0 {
        return Err(ApiError::not_found("organization"));
    }
    let o = s.store.get_organization(OrgId(org)).await?;
    let catalogue = s.store.list_capabilities().await?;
    let name_of = |c: &CapabilityCode| {
        catalogue
            .iter()
            .find(|x| &x.code == c)
            .map_or_else(|| c.to_string(), |x| x.name.clone())
    };
    let own = &o.profile.capabilities_offered;
    let list = suggestions(AdjacencyTable::shipped(), own)
        .into_iter()
        .map(|x| SuggestionView {
            capability_name: name_of(&x.capability),
            from_name: name_of(&x.from),
            capability: x.capability,
            relation: x.relation,
            partnership_type: x.partnership_type,
            from: x.from,
            rationale: x.rationale,
        })
        .collect();
    Ok(AdjacencyView {
        organization_id: o.id,
        organization_name: o.profile.name.clone(),
        capabilities_offered: own.clone(),
        suggestions: list,
    })
}

#[utoipa::path(get, path = "/api/v1/market/adjacency", tag = "market",
    params(AdjacencyQuery),
    description = "For the capabilities the organization `org` offers, the partner capabilities \
                   that are horizontally adjacent (complementary at the same level: primary care \
                   and dental), vertically adjacent (the next levels of the continuum, payer and \
                   provider), ancillary (lab, imaging, pharmacy, DME, therapy) or infrastructure \
                   (revenue cycle, IT, supply chain, staffing), each with the partnership type it \
                   implies and why — from the adjacency table shipped as `data/adjacency.csv`. \
                   One suggestion per relation and capability, never one the organization already \
                   offers, ordered by relation then capability code.",
    responses(
        (status = 200, description = "The suggestions", body = AdjacencyView),
        (status = 400, description = "`org` is missing, not a number, or an unknown parameter was sent", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Auth(_): Auth,
    ApiQuery(q): ApiQuery<AdjacencyQuery>,
) -> Result<Json<AdjacencyView>, ApiError> {
    Ok(Json(view(&s, q.org).await?))
}
