use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use concord_domain::note::{Note, NoteInput};
use concord_domain::paging::Page;
use concord_domain::partnership::{
    Partnership, PartnershipFilter, PartnershipInput, PartnershipSort, PartnershipType, Stage,
    StageChange, TransitionInput,
};
use concord_domain::{OrgId, PartnershipId};

use super::page_request;
use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::AppState;

/// Filters, order and paging for the partnership list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only partnerships of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub partnership_type: Option<PartnershipType>,
    /// Only partnerships in this stage.
    pub stage: Option<Stage>,
    /// Only partnerships this organization (id) is party to.
    pub party: Option<i64>,
    /// Case-insensitive text in the name.
    pub q: Option<String>,
    /// Include archived partnerships (default false).
    pub archived: Option<bool>,
    /// Order: name, -name, created_at, -created_at, updated_at, -updated_at (default), stage.
    #[param(inline)]
    pub sort: Option<PartnershipSort>,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page, 1–100 (default 25).
    pub per_page: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/partnerships", tag = "partnerships",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of partnerships with their parties", body = Page<Partnership>),
        (status = 400, description = "Unknown or malformed query parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<Partnership>>, ApiError> {
    let page = page_request(q.page, q.per_page)?;
    let filter = PartnershipFilter {
        partnership_type: q.partnership_type,
        stage: q.stage,
        party: q.party.map(OrgId),
        q: q.q,
        include_archived: q.archived.unwrap_or(false),
    };
    let sort = q.sort.unwrap_or(PartnershipSort::UpdatedDesc);
    Ok(Json(
        s.store
            .list_partnerships(&who.actor(), &filter, sort, page)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships", tag = "partnerships",
    request_body = PartnershipInput,
    responses(
        (status = 201, description = "Created in stage `exploring`", body = Partnership),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing, unknown or invalid; fewer than two parties; a party that does not exist", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiJson(input): ApiJson<PartnershipInput>,
) -> Result<impl IntoResponse, ApiError> {
    let p = s.store.create_partnership(&who.actor(), &input).await?;
    let location = format!("/api/v1/partnerships/{}", p.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(p)))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}", tag = "partnerships",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "The partnership", body = Partnership),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Partnership>, ApiError> {
    Ok(Json(
        s.store
            .get_partnership(&who.actor(), PartnershipId(id))
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/partnerships/{id}", tag = "partnerships",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = PartnershipInput,
    responses(
        (status = 200, description = "Name, purpose, type and parties replaced (the stage changes only through transitions)", body = Partnership),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The partnership is archived", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing, unknown or invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<PartnershipInput>,
) -> Result<Json<Partnership>, ApiError> {
    Ok(Json(
        s.store
            .update_partnership(&who.actor(), PartnershipId(id), &input)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/archive", tag = "partnerships",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "Archived (archiving twice is harmless)", body = Partnership),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn archive(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Partnership>, ApiError> {
    Ok(Json(
        s.store
            .archive_partnership(&who.actor(), PartnershipId(id))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/transitions", tag = "partnerships",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = TransitionInput,
    responses(
        (status = 200, description = "Moved to the target stage", body = Partnership),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The state machine does not allow this move (`allowed` lists the next stages), or the partnership is archived", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown stage or field", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn transition(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<TransitionInput>,
) -> Result<Json<Partnership>, ApiError> {
    Ok(Json(
        s.store
            .transition_partnership(&who.actor(), PartnershipId(id), input.to, &input.note)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/transitions", tag = "partnerships",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "Stage history, oldest first", body = Vec<StageChange>),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn history(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Vec<StageChange>>, ApiError> {
    Ok(Json(
        s.store
            .stage_history(&who.actor(), PartnershipId(id))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/notes", tag = "partnerships",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "Your organization's private notes on this partnership, newest first (the other parties' notes are never included)", body = Vec<Note>),
        (status = 404, description = "No such partnership, or your organization is not a party", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn notes(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Vec<Note>>, ApiError> {
    Ok(Json(s.store.notes(&who.actor(), PartnershipId(id)).await?))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/notes", tag = "partnerships",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = NoteInput,
    responses(
        (status = 201, description = "Added; visible only inside your organization", body = Note),
        (status = 403, description = "Viewers cannot write notes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership, or your organization is not a party", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_note(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<NoteInput>,
) -> Result<impl IntoResponse, ApiError> {
    let note = s
        .store
        .create_note(&who.actor(), PartnershipId(id), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(note)))
}
