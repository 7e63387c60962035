use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use concord_domain::organization::{
    OrgKind, Organization, OrganizationFilter, OrganizationInput, OrganizationSummary,
};
use concord_domain::paging::Page;
use concord_domain::OrgId;

use super::page_request;
use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::AppState;

/// Filters and paging for the organization list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Case-insensitive text in the name or city.
    pub q: Option<String>,
    pub kind: Option<OrgKind>,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page, 1–100 (default 25).
    pub per_page: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/organizations", tag = "organizations",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of organizations, by name", body = Page<OrganizationSummary>),
        (status = 400, description = "Unknown or malformed query parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Auth(_): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<OrganizationSummary>>, ApiError> {
    let page = page_request(q.page, q.per_page)?;
    let filter = OrganizationFilter {
        q: q.q,
        kind: q.kind,
    };
    Ok(Json(s.store.list_organizations(&filter, page).await?))
}

#[utoipa::path(post, path = "/api/v1/organizations", tag = "organizations",
    request_body = OrganizationInput,
    responses(
        (status = 201, description = "Created", body = Organization),
        (status = 409, description = "An organization with this name or NPI exists", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing, unknown or invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiJson(input): ApiJson<OrganizationInput>,
) -> Result<impl IntoResponse, ApiError> {
    let org = s.store.create_organization(&who.actor(), &input).await?;
    let location = format!("/api/v1/organizations/{}", org.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(org),
    ))
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "organizations",
    params(("id" = i64, Path, description = "Organization id")),
    responses(
        (status = 200, description = "The organization", body = Organization),
        (status = 404, description = "No such organization", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Auth(_): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Organization>, ApiError> {
    Ok(Json(s.store.get_organization(OrgId(id)).await?))
}

#[utoipa::path(put, path = "/api/v1/organizations/{id}", tag = "organizations",
    params(("id" = i64, Path, description = "Organization id")),
    request_body = OrganizationInput,
    responses(
        (status = 200, description = "Replaced", body = Organization),
        (status = 404, description = "No such organization", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another organization has this name or NPI", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing, unknown or invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<OrganizationInput>,
) -> Result<Json<Organization>, ApiError> {
    Ok(Json(
        s.store
            .update_organization(&who.actor(), OrgId(id), &input)
            .await?,
    ))
}
