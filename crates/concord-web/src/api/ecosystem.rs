//! The ecosystem map around the acting organization.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use concord_domain::market::ecosystem_map::{EcosystemMap, MapFilter, NodeKind};
use concord_domain::partnership::PartnershipType;

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::AppState;

/// Filters for the map.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MapQuery {
    /// Node kinds to show, comma-separated: `partner`, `candidate`, `competitor` (default: all).
    pub kinds: Option<String>,
    /// Only partnerships of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub partnership_type: Option<PartnershipType>,
}

impl MapQuery {
    /// The domain filter, or the unknown kind named.
    pub fn filter(&self) -> Result<MapFilter, String> {
        let mut kinds = Vec::new();
        for k in self
            .kinds
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            match k.parse::<NodeKind>() {
                Ok(NodeKind::Center) | Err(_) => {
                    return Err(format!(
                        "`{k}` is not a node kind; expected partner, candidate or competitor"
                    ))
                }
                Ok(kind) => kinds.push(kind),
            }
        }
        Ok(MapFilter {
            kinds,
            partnership_type: self.partnership_type,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/ecosystem/map", tag = "ecosystem",
    params(MapQuery),
    responses(
        (status = 200, description = "The network around your organization: its partnerships by type (edge colour) and health (for now the worst metric attainment status from the ledger), the candidates it is evaluating (its open scorecards) and its competitors, with positions (rings by kind, deterministic angles) and a legend", body = EcosystemMap),
        (status = 400, description = "An unknown node kind (`kinds`) or partnership type (`type`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn map(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<MapQuery>,
) -> Result<Json<EcosystemMap>, ApiError> {
    let filter = q.filter().map_err(|m| {
        ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_query", m).with_field("kinds")
    })?;
    Ok(Json(s.store.ecosystem_map(&who.actor(), &filter).await?))
}
