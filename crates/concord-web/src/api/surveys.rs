//! The joint health survey over JSON: rounds, answers, results that protect respondents, and
//! comments read only inside the organization that wrote them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use concord_domain::health::survey::{
    PartyResults, SurveyAnswerInput, SurveyComments, SurveyRound, SurveyRoundInput,
    SurveyRoundResults,
};
use concord_domain::{OrgId, PartnershipId, ValidationErrors};

use super::ledger::today;
use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath, IdsPath};
use crate::AppState;

fn round_number(raw: i64) -> Result<u32, ApiError> {
    u32::try_from(raw).map_err(|_| ApiError::not_found("survey round"))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/surveys", tag = "surveys", operation_id = "list_survey_rounds",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "Survey rounds, newest first, each with how many people answered", body = [SurveyRound]),
        (status = 404, description = "No such partnership, or your organization is not a party", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rounds(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Vec<SurveyRound>>, ApiError> {
    let (_, rounds) = s
        .store
        .survey_rounds(&who.actor(), PartnershipId(id))
        .await?;
    Ok(Json(rounds))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/surveys", tag = "surveys", operation_id = "open_survey_round",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = SurveyRoundInput,
    responses(
        (status = 201, description = "The round opened; members of every party may answer it", body = SurveyRound),
        (status = 403, description = "Only alliance managers and admins open rounds", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A round is already open (`round_open`), or the partnership is archived", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No title, or a closing day in the past", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn open_round(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<SurveyRoundInput>,
) -> Result<(StatusCode, Json<SurveyRound>), ApiError> {
    let r = s
        .store
        .open_survey_round(&who.actor(), PartnershipId(id), &input, today())
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/surveys/{round}", tag = "surveys", operation_id = "get_survey_round",
    params(("id" = i64, Path, description = "Partnership id"), ("round" = u32, Path, description = "Round number")),
    responses(
        (status = 200, description = "The round and its results: overall averages per dimension with the change since the previous round with answers, respondents per party, a party's averages only when at least three of its people answered, and the perception gaps between revealed parties. Never who answered what.", body = SurveyRoundResults),
        (status = 404, description = "No such partnership or round", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn round(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, round): IdsPath,
) -> Result<Json<SurveyRoundResults>, ApiError> {
    let n = round_number(round)?;
    Ok(Json(
        s.store
            .survey_round_results(&who.actor(), PartnershipId(id), n, today())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/surveys/{round}/close", tag = "surveys", operation_id = "close_survey_round",
    params(("id" = i64, Path, description = "Partnership id"), ("round" = u32, Path, description = "Round number")),
    responses(
        (status = 200, description = "The round closed; it takes no more answers", body = SurveyRound),
        (status = 403, description = "Only alliance managers and admins close rounds", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or round", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The round is already closed (`round_closed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn close_round(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, round): IdsPath,
) -> Result<Json<SurveyRound>, ApiError> {
    let n = round_number(round)?;
    Ok(Json(
        s.store
            .close_survey_round(&who.actor(), PartnershipId(id), n)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/surveys/{round}/responses", tag = "surveys", operation_id = "answer_survey",
    params(("id" = i64, Path, description = "Partnership id"), ("round" = u32, Path, description = "Round number")),
    request_body = SurveyAnswerInput,
    responses(
        (status = 201, description = "Your answer is recorded; the round's results as they now stand", body = SurveyRoundResults),
        (status = 403, description = "Viewers read the survey; contributors, alliance managers and admins answer it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or round, or your organization is not a party", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "You already answered this round (`already_answered`), or it is closed (`round_closed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A dimension is missing or scored outside 1–5 (`scores.trust`, …), or the comment is longer than 2,000 characters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn answer(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, round): IdsPath,
    ApiJson(input): ApiJson<SurveyAnswerInput>,
) -> Result<(StatusCode, Json<SurveyRoundResults>), ApiError> {
    let n = round_number(round)?;
    let r = s
        .store
        .answer_survey(&who.actor(), PartnershipId(id), n, &input, today())
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// Which party's figures to show.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PartyQuery {
    /// The organization id of a party (required).
    #[param(value_type = i64)]
    pub party: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/surveys/{round}/results", tag = "surveys", operation_id = "get_survey_party_results",
    params(("id" = i64, Path, description = "Partnership id"), ("round" = u32, Path, description = "Round number"), PartyQuery),
    responses(
        (status = 200, description = "The party's averages per dimension", body = PartyResults),
        (status = 404, description = "No such partnership or round", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`party` is missing, not a party (`not_a_party`), or fewer than three of its people answered (`too_few_respondents`: their answers are only aggregated into the overall figure)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn party_results(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, round): IdsPath,
    ApiQuery(q): ApiQuery<PartyQuery>,
) -> Result<Json<PartyResults>, ApiError> {
    let n = round_number(round)?;
    let actor = who.actor();
    // Out of reach is a 404 before the query is judged.
    s.store.get_partnership(&actor, PartnershipId(id)).await?;
    let raw = q.party.unwrap_or_default();
    let party = raw.trim().parse::<i64>().map_err(|_| {
        ApiError::validation(ValidationErrors::single(
            "party",
            if raw.trim().is_empty() {
                "required"
            } else {
                "invalid"
            },
            "name a party by its organization id (`?party=12`)",
        ))
    })?;
    Ok(Json(
        s.store
            .survey_party_results(&actor, PartnershipId(id), n, OrgId(party))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/surveys/{round}/comments", tag = "surveys", operation_id = "get_survey_comments",
    params(("id" = i64, Path, description = "Partnership id"), ("round" = u32, Path, description = "Round number")),
    responses(
        (status = 200, description = "The comments written by your own organization's respondents, without names; another party's comments are never shown", body = SurveyComments),
        (status = 404, description = "No such partnership or round", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn comments(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, round): IdsPath,
) -> Result<Json<SurveyComments>, ApiError> {
    let n = round_number(round)?;
    Ok(Json(
        s.store
            .survey_comments(&who.actor(), PartnershipId(id), n)
            .await?,
    ))
}
