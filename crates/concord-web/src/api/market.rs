//! The market scan over public reference data (NPPES, CMS, post-acute lists): candidates near an
//! organization for a wanted capability or partnership type, ranked and explained.

use axum::extract::State;
use axum::Json;

use concord_domain::market::scan::{ScanPage, ScanParams};

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::AppState;

#[utoipa::path(get, path = "/api/v1/market/candidates", tag = "market",
    params(ScanParams),
    description = "Candidates within `radius_miles` of the organization `org` (its latitude and \
                   longitude, or its ZIP's centroid) that offer the wanted `capability` — or, with \
                   `type`, the capabilities the adjacency table suggests for that partnership type \
                   from what the organization offers. Organizations (NPPES entity type 2), \
                   practices (individual providers at one practice address), hospitals (CMS) and \
                   post-acute facilities, from the active import of each source. Each result has \
                   its distance, size, specialties, capabilities, for hospitals type, ownership and \
                   star rating, a `score` (0–100: proximity 40, size 25, centrality of the \
                   capability 20, CMS star rating 15) with `score_parts` and `reasons`.",
    responses(
        (status = 200, description = "A page of ranked candidates", body = ScanPage),
        (status = 400, description = "An unknown query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is missing or invalid (named in `field`): `org` (also when the organization has no location and no ZIP centroid), `capability`, `type`, `radius_miles`, `kind`, `state`, `min_providers`, `min_stars`, `name`, `sort`, `page`, `per_page`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn candidates(
    State(s): State<AppState>,
    Auth(_): Auth,
    ApiQuery(params): ApiQuery<ScanParams>,
) -> Result<Json<ScanPage>, ApiError> {
    Ok(Json(s.store.market_scan(&params).await?.page()))
}

/// One imported public source: its active version and what its import reported.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MarketSourceStatus {
    /// `zip`, `taxonomy`, `nppes`, `hospitals` or `postacute`.
    pub source: String,
    /// The active version (a scan reads only this one).
    pub version: i64,
    pub file_name: String,
    pub rows_read: i64,
    pub rows_loaded: i64,
    pub rows_rejected: i64,
    pub imported_at: chrono::DateTime<chrono::Utc>,
    /// What the import reported (per-list counts, practices inferred, deactivated NPIs …).
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
}

#[utoipa::path(get, path = "/api/v1/market/sources", tag = "market",
    description = "The public reference sources imported (`concord market import …`), each with its \
                   active version and its import's counts. An empty list: nothing imported yet, so \
                   every scan finds no candidates.",
    responses(
        (status = 200, description = "The imported sources, by name", body = Vec<MarketSourceStatus>),
    ))]
pub async fn sources(
    State(s): State<AppState>,
    Auth(_): Auth,
) -> Result<Json<Vec<MarketSourceStatus>>, ApiError> {
    let list = s.store.market_sources().await?;
    Ok(Json(
        list.into_iter()
            .map(|m| MarketSourceStatus {
                source: m.source,
                version: m.version,
                file_name: m.file_name,
                rows_read: m.rows_read,
                rows_loaded: m.rows_loaded,
                rows_rejected: m.rows_rejected,
                imported_at: m.imported_at,
                summary: m.summary,
            })
            .collect(),
    ))
}
