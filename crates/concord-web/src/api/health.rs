//! The health score with its drivers and trend, early warnings and their acknowledgements, and
//! the organization's health weights.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use concord_domain::health::score::{PartnershipHealth, Weights};
use concord_domain::health::warnings::Warning;
use concord_domain::PartnershipId;

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, IdPath};
use crate::AppState;

/// Acknowledging a warning.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeInput {
    /// The warning's key (from `GET …/health`).
    pub key: String,
    /// Why it is acknowledged; required.
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/health", tag = "health",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "The health score (0–100, `null` without data) with the acting organization's weights, each driver's weight, value and contribution, the 30-day trend, the last twelve months, current early warnings (acknowledged ones with who and when) and the next review", body = PartnershipHealth),
        (status = 404, description = "No such partnership, or your organization is not a party", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn health(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<PartnershipHealth>, ApiError> {
    let (_, h) = s
        .store
        .partnership_health(&who.actor(), PartnershipId(id))
        .await?;
    Ok(Json(h))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/warnings/acknowledgements", tag = "health",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = AcknowledgeInput,
    responses(
        (status = 200, description = "The warning, acknowledged (shared with every party)", body = Warning),
        (status = 403, description = "Viewers cannot acknowledge", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already acknowledged (`already_acknowledged`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No note (`note`), or no current warning has this key (`key`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn acknowledge(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<AcknowledgeInput>,
) -> Result<Json<Warning>, ApiError> {
    Ok(Json(
        s.store
            .acknowledge_warning(&who.actor(), PartnershipId(id), &input.key, &input.note)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/organization/health-weights", tag = "health",
    responses(
        (status = 200, description = "Your organization's health-score weights (the defaults until set)", body = Weights),
    ))]
pub async fn weights(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Weights>, ApiError> {
    Ok(Json(s.store.health_weights(&who.actor()).await?))
}

#[utoipa::path(put, path = "/api/v1/organization/health-weights", tag = "health",
    request_body = Weights,
    responses(
        (status = 200, description = "The weights as saved", body = Weights),
        (status = 403, description = "Only admins and alliance managers set the weights", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A weight outside 0–100 or all weights zero (`weights.<driver>`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_weights(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiJson(input): ApiJson<Weights>,
) -> Result<Json<Weights>, ApiError> {
    Ok(Json(
        s.store.set_health_weights(&who.actor(), &input).await?,
    ))
}
