//! Fit scorecards (private to the evaluating organization), their weights and gates, promotion of
//! a candidate to an ecosystem organization and a partnership, and the competitor list.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use concord_domain::market::scorecard::{
    Competitor, CompetitorInput, JudgementsInput, NewScorecardInput, PromoteInput, Promotion,
    Scorecard, ScorecardSummary, Settings, SettingsInput,
};

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, IdPath};
use crate::AppState;

#[utoipa::path(get, path = "/api/v1/scorecards", tag = "scorecards",
    responses(
        (status = 200, description = "Your organization's fit scorecards (private: no other organization sees them), most recently changed first, each with its total and verdict", body = [ScorecardSummary]),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<ScorecardSummary>>, ApiError> {
    Ok(Json(s.store.scorecard_summaries(&who.actor()).await?))
}

#[utoipa::path(post, path = "/api/v1/scorecards", tag = "scorecards",
    request_body = NewScorecardInput,
    responses(
        (status = 201, description = "The new scorecard, evaluated. A public-data candidate is snapshotted (name, kind, location, size, capabilities, star rating) so the scorecard survives re-imports. Criteria: strategic alignment, culture and values, complementarity, historical performance, geographic fit, balance of power, business-model transparency. Price is deliberately not a criterion.", body = Scorecard),
        (status = 403, description = "Viewers cannot start scorecards", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your organization already has a scorecard for this candidate (`candidate`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No candidate named, or both kinds (`organization_id`); an unknown organization or your own (`organization_id`); an unknown public-data source (`source`) or candidate (`ref`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiJson(input): ApiJson<NewScorecardInput>,
) -> Result<(StatusCode, Json<Scorecard>), ApiError> {
    let sc = s.store.create_scorecard(&who.actor(), &input).await?;
    Ok((StatusCode::CREATED, Json(sc)))
}

#[utoipa::path(get, path = "/api/v1/scorecards/{id}", tag = "scorecards",
    params(("id" = i64, Path, description = "Scorecard id")),
    responses(
        (status = 200, description = "The scorecard: each criterion's score (0–100) with its explanation and evidence, the gates, warnings (e.g. one side more than 5× the other), the weighted total and its explanation. Price is deliberately not a criterion.", body = Scorecard),
        (status = 404, description = "No such scorecard, or it belongs to another organization", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Scorecard>, ApiError> {
    Ok(Json(s.store.get_scorecard(&who.actor(), id).await?))
}

#[utoipa::path(put, path = "/api/v1/scorecards/{id}/judgements", tag = "scorecards",
    params(("id" = i64, Path, description = "Scorecard id")),
    request_body = JudgementsInput,
    responses(
        (status = 200, description = "The judgements and evidence replaced; the scorecard re-evaluated", body = Scorecard),
        (status = 403, description = "Viewers cannot judge", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such scorecard, or it belongs to another organization", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown criterion (`criteria.<name>`), a judgement outside 1–5 or on a computed criterion (`criteria.<name>.judgement`), evidence too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn judge(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<JudgementsInput>,
) -> Result<Json<Scorecard>, ApiError> {
    Ok(Json(
        s.store.update_judgements(&who.actor(), id, &input).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/scorecards/{id}/promote", tag = "scorecards",
    params(("id" = i64, Path, description = "Scorecard id")),
    request_body = PromoteInput,
    responses(
        (status = 201, description = "The candidate's ecosystem organization (matched by NPI, then CCN, then name, or created from the snapshot) and a new partnership in `exploring` between your organization and it, linked to the scorecard; one transaction", body = Promotion),
        (status = 403, description = "Only alliance managers and admins promote", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such scorecard, or it belongs to another organization", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already promoted (`already_promoted`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown partnership type (`type`) or a bad name", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn promote(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<PromoteInput>,
) -> Result<(StatusCode, Json<Promotion>), ApiError> {
    let p = s.store.promote_scorecard(&who.actor(), id, &input).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

#[utoipa::path(get, path = "/api/v1/scorecard-settings", tag = "scorecards",
    responses(
        (status = 200, description = "Your organization's weight per criterion and must-pass gates (defaults: every weight 1, no gates)", body = Settings),
    ))]
pub async fn settings(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(s.store.scorecard_settings(&who.actor()).await?))
}

#[utoipa::path(put, path = "/api/v1/scorecard-settings", tag = "scorecards",
    request_body = SettingsInput,
    responses(
        (status = 200, description = "Saved. A criterion left out weighs 1; a weight of 0 drops it from the total; a gate fails a candidate scoring below its threshold whatever the total. Price is deliberately not a criterion.", body = Settings),
        (status = 403, description = "Only alliance managers and admins set weights and gates", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown criterion (`weights.<name>`, `gates.<name>`), a weight that is negative or not finite, a threshold outside 0–100", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_settings(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiJson(input): ApiJson<SettingsInput>,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(
        s.store.put_scorecard_settings(&who.actor(), &input).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/competitors", tag = "scorecards",
    responses(
        (status = 200, description = "Your organization's private competitor list", body = [Competitor]),
    ))]
pub async fn competitors(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<Competitor>>, ApiError> {
    Ok(Json(s.store.competitors(&who.actor()).await?))
}

#[utoipa::path(post, path = "/api/v1/competitors", tag = "scorecards",
    request_body = CompetitorInput,
    responses(
        (status = 201, description = "Marked as a competitor (only your organization sees it)", body = Competitor),
        (status = 403, description = "Viewers cannot edit the list", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already on the list (`organization_id`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown organization or your own (`organization_id`), a note too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_competitor(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiJson(input): ApiJson<CompetitorInput>,
) -> Result<(StatusCode, Json<Competitor>), ApiError> {
    let c = s.store.add_competitor(&who.actor(), &input).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(delete, path = "/api/v1/competitors/{id}", tag = "scorecards",
    params(("id" = i64, Path, description = "Competitor entry id")),
    responses(
        (status = 204, description = "Taken off the list"),
        (status = 403, description = "Viewers cannot edit the list", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry on your organization's list", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_competitor(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    s.store.remove_competitor(&who.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
