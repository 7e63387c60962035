//! The stakeholder roster of both parties, departures, successors and the re-education tasks a
//! key person's departure raises.
//!
//! Briefing is automatic: a departed person's successor is briefed (`briefed_on` set) by the
//! write that completes the handover — naming the successor once every task is done, or marking
//! the last task done once a successor is named — so there is no separate "briefed" call.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use concord_domain::health::stakeholder::{
    ContinuityTask, DepartureInput, Roster, Stakeholder, StakeholderInput, SuccessorInput,
};
use concord_domain::PartnershipId;

use super::ledger::today;
use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, IdPath, IdsPath};
use crate::AppState;

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/stakeholders", tag = "stakeholders",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "Both parties' people (active first), every re-education task (open first) and the continuity alerts: one per departed executive sponsor, champion or alliance manager whose successor is not yet named and briefed", body = Roster),
        (status = 404, description = "No such partnership, or your organization is not a party", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn roster(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Roster>, ApiError> {
    let (_, roster) = s
        .store
        .stakeholders(&who.actor(), PartnershipId(id), today())
        .await?;
    Ok(Json(roster))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/stakeholders", tag = "stakeholders",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = StakeholderInput,
    responses(
        (status = 201, description = "Added to the roster, active", body = Stakeholder),
        (status = 403, description = "Viewers cannot write; a party adds only its own people", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid: `organization_id` not a party, `name` empty, `email` malformed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<StakeholderInput>,
) -> Result<(StatusCode, Json<Stakeholder>), ApiError> {
    let st = s
        .store
        .add_stakeholder(&who.actor(), PartnershipId(id), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(st)))
}

#[utoipa::path(put, path = "/api/v1/partnerships/{id}/stakeholders/{stakeholder}", tag = "stakeholders",
    params(("id" = i64, Path, description = "Partnership id"), ("stakeholder" = i64, Path, description = "Stakeholder id")),
    request_body = StakeholderInput,
    responses(
        (status = 200, description = "The person as now recorded", body = Stakeholder),
        (status = 403, description = "Viewers cannot write; the person is another party's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or person", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person has departed (`departed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or `organization_id` differs from the person's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, stakeholder): IdsPath,
    ApiJson(input): ApiJson<StakeholderInput>,
) -> Result<Json<Stakeholder>, ApiError> {
    Ok(Json(
        s.store
            .update_stakeholder(&who.actor(), PartnershipId(id), stakeholder, &input)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/stakeholders/{stakeholder}/departure", tag = "stakeholders",
    params(("id" = i64, Path, description = "Partnership id"), ("stakeholder" = i64, Path, description = "Stakeholder id")),
    request_body = DepartureInput,
    responses(
        (status = 200, description = "Departed; for an executive sponsor, champion or alliance manager the re-education tasks are raised for their organization and a continuity alert stands until a successor is named and briefed", body = Stakeholder),
        (status = 403, description = "Viewers cannot write; the person is another party's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or person", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already departed (`already_departed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`departed_on` in the future", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn depart(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, stakeholder): IdsPath,
    ApiJson(input): ApiJson<DepartureInput>,
) -> Result<Json<Stakeholder>, ApiError> {
    Ok(Json(
        s.store
            .depart_stakeholder(
                &who.actor(),
                PartnershipId(id),
                stakeholder,
                &input,
                today(),
            )
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/stakeholders/{stakeholder}/successor", tag = "stakeholders",
    params(("id" = i64, Path, description = "Partnership id"), ("stakeholder" = i64, Path, description = "The departed person's id")),
    request_body = SuccessorInput,
    responses(
        (status = 200, description = "The successor is named; when every re-education task is already done, `briefed_on` is set too and the continuity alert ends", body = Stakeholder),
        (status = 403, description = "Viewers cannot write; the person is another party's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or person", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person has not departed (`not_departed`), or the successor is already briefed (`already_briefed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`successor_id` is not an active person of the same organization on this roster", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn successor(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, stakeholder): IdsPath,
    ApiJson(input): ApiJson<SuccessorInput>,
) -> Result<Json<Stakeholder>, ApiError> {
    Ok(Json(
        s.store
            .name_successor(
                &who.actor(),
                PartnershipId(id),
                stakeholder,
                &input,
                today(),
            )
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/continuity-tasks/{task}/done", tag = "stakeholders",
    params(("id" = i64, Path, description = "Partnership id"), ("task" = i64, Path, description = "Continuity task id")),
    responses(
        (status = 200, description = "Done; when it was the last open task and a successor is named, the successor is briefed", body = ContinuityTask),
        (status = 403, description = "Viewers cannot write; only the task's organization completes it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or task", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already done (`already_done`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn complete_task(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, task): IdsPath,
) -> Result<Json<ContinuityTask>, ApiError> {
    Ok(Json(
        s.store
            .complete_task(&who.actor(), PartnershipId(id), task, today())
            .await?,
    ))
}
