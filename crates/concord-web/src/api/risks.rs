//! The risk register: every partnership's shared risks (three seeded at creation) and the acting
//! organization's private ones.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use concord_domain::health::risk::{Risk, RiskInput};
use concord_domain::PartnershipId;

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, IdPath, IdsPath};
use crate::AppState;

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/risks", tag = "risks",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "The register: shared risks and your organization's private ones; open and mitigating risks first, most severe (likelihood × impact) first, then closed ones", body = [Risk]),
        (status = 404, description = "No such partnership, or your organization is not a party", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Vec<Risk>>, ApiError> {
    let (_, risks) = s.store.risks(&who.actor(), PartnershipId(id)).await?;
    Ok(Json(risks))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/risks", tag = "risks",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = RiskInput,
    responses(
        (status = 201, description = "Added. A `private` risk is seen only by your organization", body = Risk),
        (status = 403, description = "Viewers cannot add risks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The partnership is archived", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid: `likelihood` or `impact` outside 1–5, an unknown `category` or `status`, an `owner_org_id` that is not a party, an empty `title`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<RiskInput>,
) -> Result<(StatusCode, Json<Risk>), ApiError> {
    let r = s
        .store
        .add_risk(&who.actor(), PartnershipId(id), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/risks/{risk}", tag = "risks",
    params(("id" = i64, Path, description = "Partnership id"), ("risk" = i64, Path, description = "Risk id")),
    responses(
        (status = 200, description = "The risk", body = Risk),
        (status = 404, description = "No such partnership or risk, or the risk is private to another organization", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, risk): IdsPath,
) -> Result<Json<Risk>, ApiError> {
    let (_, r) = s.store.risk(&who.actor(), PartnershipId(id), risk).await?;
    Ok(Json(r))
}

#[utoipa::path(put, path = "/api/v1/partnerships/{id}/risks/{risk}", tag = "risks",
    params(("id" = i64, Path, description = "Partnership id"), ("risk" = i64, Path, description = "Risk id")),
    request_body = RiskInput,
    responses(
        (status = 200, description = "The risk with every field replaced (omitted optional fields are cleared)", body = Risk),
        (status = 403, description = "Viewers cannot change risks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or risk, or the risk is private to another organization", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The partnership is archived, or the risk was changed meanwhile (`edited_concurrently`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (as when adding), or a shared risk would be made private (`visibility`, `cannot_hide_shared`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, risk): IdsPath,
    ApiJson(input): ApiJson<RiskInput>,
) -> Result<Json<Risk>, ApiError> {
    Ok(Json(
        s.store
            .update_risk(&who.actor(), PartnershipId(id), risk, &input)
            .await?,
    ))
}
