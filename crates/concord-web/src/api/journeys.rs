//! Consumer journeys: the journeys of a partnership, their stages, handoffs and assumptions,
//! trial runs with feedback, gap detection, and export/import.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use concord_domain::journey::{
    export, gaps_of, Assumption, Feedback, Gap, Handoff, Journey, JourneyExport, JourneyInput,
    JourneySummary, Stage, StageEdit, TrialRun, TrialRunInput,
};
use concord_domain::{PartnershipId, ValidationErrors};

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, IdPath, IdsPath};
use crate::AppState;

/// A journey with its trial runs and the gaps found in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JourneyView {
    pub journey: Journey,
    pub trial_runs: Vec<TrialRun>,
    pub gaps: Vec<Gap>,
}

/// Where to move a stage.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveInput {
    /// The new 1-based position.
    pub position: u32,
}

/// How a feedback item was addressed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    pub note: String,
}

fn u32_of(n: i64, what: &str) -> Result<u32, ApiError> {
    u32::try_from(n).map_err(|_| ApiError::not_found(what))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/journeys", tag = "journeys",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "The partnership's journeys with stage and gap counts", body = Vec<JourneySummary>),
        (status = 404, description = "No such partnership, or your organization is not a party", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Vec<JourneySummary>>, ApiError> {
    Ok(Json(
        s.store.journeys(&who.actor(), PartnershipId(id)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/journeys", tag = "journeys",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = JourneyInput,
    responses(
        (status = 201, description = "Created; every stage, handoff and assumption has an id", body = Journey),
        (status = 403, description = "Viewers cannot create journeys", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid: stage position collisions, a stage owned by a non-party, a handoff or assumption naming a stage not in this journey …", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<JourneyInput>,
) -> Result<impl IntoResponse, ApiError> {
    let j = s
        .store
        .create_journey(&who.actor(), PartnershipId(id), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(j)))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/journeys/import", tag = "journeys",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = JourneyExport,
    responses(
        (status = 201, description = "Imported as a new journey, with its trial runs", body = Journey),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The file is invalid or refers to stages it does not contain (each error names its path); nothing was written", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(file): ApiJson<JourneyExport>,
) -> Result<impl IntoResponse, ApiError> {
    let j = s
        .store
        .import_journey(&who.actor(), PartnershipId(id), &file)
        .await?;
    Ok((StatusCode::CREATED, Json(j)))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id")),
    responses(
        (status = 200, description = "The journey, its trial runs and its gaps", body = JourneyView),
        (status = 404, description = "No such journey, or your organization is not party to its partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<JourneyView>, ApiError> {
    let (_, journey, trial_runs) = s.store.journey(&who.actor(), id).await?;
    let gaps = gaps_of(&journey, &trial_runs);
    Ok(Json(JourneyView {
        journey,
        trial_runs,
        gaps,
    }))
}

#[utoipa::path(put, path = "/api/v1/journeys/{id}", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id")),
    request_body = JourneyInput,
    responses(
        (status = 200, description = "Replaced; stages keep their ids, new ones get fresh ids", body = Journey),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed by someone else meanwhile (`stale_journey`), or the partnership is archived", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<JourneyInput>,
) -> Result<Json<Journey>, ApiError> {
    Ok(Json(
        s.store.update_journey(&who.actor(), id, &input).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}/gaps", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id")),
    responses(
        (status = 200, description = "Every gap, in journey order, with its kind, stage and evidence", body = Vec<Gap>),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn gaps(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Vec<Gap>>, ApiError> {
    let (_, journey, runs) = s.store.journey(&who.actor(), id).await?;
    Ok(Json(gaps_of(&journey, &runs)))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}/export", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id")),
    responses(
        (status = 200, description = "The journey as a file to import elsewhere (`concord.journey/1`)", body = JourneyExport),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_file(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<impl IntoResponse, ApiError> {
    let (_, journey, runs) = s.store.journey(&who.actor(), id).await?;
    let disposition = format!("attachment; filename=\"journey-{id}.json\"");
    Ok((
        [(header::CONTENT_DISPOSITION, disposition)],
        Json(export(&journey, &runs)),
    ))
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/stages", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id")),
    request_body = Stage,
    responses(
        (status = 200, description = "Added (at `position`, or at the end); the journey as it is now", body = Journey),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (e.g. an owner that is not a party)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_stage(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(stage): ApiJson<Stage>,
) -> Result<Json<Journey>, ApiError> {
    Ok(Json(
        s.store
            .edit_stages(&who.actor(), id, StageEdit::Add(stage))
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/journeys/{id}/stages/{stage}", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id"), ("stage" = u32, Path, description = "Stage id")),
    request_body = Stage,
    responses(
        (status = 200, description = "Replaced (id and place kept)", body = Journey),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such stage in this journey, or a field is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace_stage(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, stage): IdsPath,
    ApiJson(body): ApiJson<Stage>,
) -> Result<Json<Journey>, ApiError> {
    let stage = u32_of(stage, "stage")?;
    Ok(Json(
        s.store
            .edit_stages(&who.actor(), id, StageEdit::Replace(stage, body))
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/journeys/{id}/stages/{stage}", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id"), ("stage" = u32, Path, description = "Stage id")),
    responses(
        (status = 200, description = "Removed, with its handoffs and its links from assumptions", body = Journey),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such stage in this journey", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_stage(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, stage): IdsPath,
) -> Result<Json<Journey>, ApiError> {
    let stage = u32_of(stage, "stage")?;
    Ok(Json(
        s.store
            .edit_stages(&who.actor(), id, StageEdit::Remove(stage))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/stages/{stage}/move", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id"), ("stage" = u32, Path, description = "Stage id")),
    request_body = MoveInput,
    responses(
        (status = 200, description = "Moved; the other stages are renumbered", body = Journey),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such stage, or a position outside 1..n", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn move_stage(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, stage): IdsPath,
    ApiJson(body): ApiJson<MoveInput>,
) -> Result<Json<Journey>, ApiError> {
    let stage = u32_of(stage, "stage")?;
    Ok(Json(
        s.store
            .edit_stages(&who.actor(), id, StageEdit::Move(stage, body.position))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/handoffs", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id")),
    request_body = Handoff,
    responses(
        (status = 200, description = "Added; the journey as it is now", body = Journey),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A stage that is not in this journey (`design.handoffs[n].from_stage` / `to_stage`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_handoff(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(mut h): ApiJson<Handoff>,
) -> Result<Json<Journey>, ApiError> {
    h.id = None;
    Ok(Json(
        s.store
            .edit_design(&who.actor(), id, "add_handoff", |d| {
                d.handoffs.push(h);
                Ok(())
            })
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/journeys/{id}/handoffs/{handoff}", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id"), ("handoff" = u32, Path, description = "Handoff id")),
    responses(
        (status = 200, description = "Removed", body = Journey),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such handoff in this journey", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_handoff(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, handoff): IdsPath,
) -> Result<Json<Journey>, ApiError> {
    let handoff = u32_of(handoff, "handoff")?;
    Ok(Json(
        s.store
            .edit_design(&who.actor(), id, "remove_handoff", |d| {
                let before = d.handoffs.len();
                d.handoffs.retain(|h| h.id != Some(handoff));
                if d.handoffs.len() == before {
                    return Err(ValidationErrors::single(
                        "handoff",
                        "unknown_handoff",
                        format!("handoff {handoff} is not a handoff of this journey"),
                    ));
                }
                Ok(())
            })
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/assumptions", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id")),
    request_body = Assumption,
    responses(
        (status = 200, description = "Added; the journey as it is now", body = Journey),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid or a linked stage is not in this journey", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_assumption(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(mut a): ApiJson<Assumption>,
) -> Result<Json<Journey>, ApiError> {
    a.id = None;
    Ok(Json(
        s.store
            .edit_design(&who.actor(), id, "add_assumption", |d| {
                d.assumptions.push(a);
                Ok(())
            })
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/journeys/{id}/assumptions/{assumption}", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id"), ("assumption" = u32, Path, description = "Assumption id")),
    request_body = Assumption,
    responses(
        (status = 200, description = "Replaced (a status change is time-stamped)", body = Journey),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such assumption, or a field is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace_assumption(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, assumption): IdsPath,
    ApiJson(mut a): ApiJson<Assumption>,
) -> Result<Json<Journey>, ApiError> {
    let assumption = u32_of(assumption, "assumption")?;
    a.id = Some(assumption);
    Ok(Json(
        s.store
            .edit_design(&who.actor(), id, "update_assumption", |d| {
                let Some(slot) = d.assumptions.iter_mut().find(|x| x.id == Some(assumption)) else {
                    return Err(ValidationErrors::single(
                        "assumption",
                        "unknown_assumption",
                        format!("assumption {assumption} is not an assumption of this journey"),
                    ));
                };
                a.status_changed_at = slot.status_changed_at;
                *slot = a;
                Ok(())
            })
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}/trial-runs", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id")),
    responses(
        (status = 200, description = "Trial runs, newest first, with their feedback", body = Vec<TrialRun>),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn trial_runs(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Vec<TrialRun>>, ApiError> {
    Ok(Json(s.store.journey(&who.actor(), id).await?.2))
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/trial-runs", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id")),
    request_body = TrialRunInput,
    responses(
        (status = 201, description = "Recorded; assumptions it validated or invalidated are updated", body = TrialRun),
        (status = 404, description = "No such journey", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Feedback for a stage of another journey, a participant id that is not pseudonymous …", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn record_trial_run(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<TrialRunInput>,
) -> Result<impl IntoResponse, ApiError> {
    let r = s.store.record_trial_run(&who.actor(), id, &input).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/feedback/{feedback}/address", tag = "journeys",
    params(("id" = i64, Path, description = "Journey id"), ("feedback" = i64, Path, description = "Feedback id")),
    request_body = AddressInput,
    responses(
        (status = 200, description = "Marked addressed with what was done", body = Feedback),
        (status = 404, description = "No such journey or feedback", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already addressed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty note", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn address_feedback(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, feedback): IdsPath,
    ApiJson(body): ApiJson<AddressInput>,
) -> Result<Json<Feedback>, ApiError> {
    Ok(Json(
        s.store
            .address_feedback(&who.actor(), id, feedback, &body.note)
            .await?,
    ))
}
