//! Running the partnership: commitments as they are kept, meetings with their action items and
//! cadence, and the scheduled reviews with their packet, decision and signatures.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use concord_domain::meeting::{ActionItem, ActionUpdate, Adherence, Meeting, MeetingInput};
use concord_domain::review::{
    CommitmentState, CommitmentUpdate, DecisionInput, OpenReviewInput, Review, ReviewsOverview,
};
use concord_domain::PartnershipId;

use super::ledger::today;
use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, IdPath, IdsPath};
use crate::AppState;

fn small(raw: i64, what: &str) -> Result<u32, ApiError> {
    u32::try_from(raw).map_err(|_| ApiError::not_found(what))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/commitments", tag = "operations",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "The effective charter's commitments, soonest due first, each with its reported status; open ones past due are `late` with `days_late`", body = [CommitmentState]),
        (status = 404, description = "No such partnership, or your organization is not a party", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn commitments(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Vec<CommitmentState>>, ApiError> {
    Ok(Json(
        s.store
            .commitments(&who.actor(), PartnershipId(id), today())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/commitments/{commitment}/reports", tag = "operations",
    params(("id" = i64, Path, description = "Partnership id"), ("commitment" = u32, Path, description = "Commitment id (from the charter)")),
    request_body = CommitmentUpdate,
    responses(
        (status = 200, description = "The commitment as it now stands", body = CommitmentState),
        (status = 403, description = "Viewers cannot report", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or commitment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The commitment is another party's (`commitment_id`), `late` was sent (it is worked out), or a dropped commitment has no note", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn report_commitment(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, commitment): IdsPath,
    ApiJson(input): ApiJson<CommitmentUpdate>,
) -> Result<Json<CommitmentState>, ApiError> {
    let c = small(commitment, "commitment")?;
    Ok(Json(
        s.store
            .report_commitment(&who.actor(), PartnershipId(id), c, &input, today())
            .await?,
    ))
}

/// The meeting log and how well the steering group keeps its cadence.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingLog {
    /// Newest first.
    pub meetings: Vec<Meeting>,
    pub cadence: Adherence,
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/meetings", tag = "operations",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "Meetings, newest first, with their action items, and cadence adherence (steering meetings held in the last twelve months against the charter's cadence)", body = MeetingLog),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn meetings(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<MeetingLog>, ApiError> {
    let actor = who.actor();
    let p = s.store.get_partnership(&actor, PartnershipId(id)).await?;
    let day = today();
    let meetings = s.store.meetings(&actor, p.id, day).await?;
    let charter = s.store.effective_charter(p.id).await?;
    let cadence = s.store.cadence_of(&p, charter.as_ref(), day).await?;
    Ok(Json(MeetingLog { meetings, cadence }))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/meetings", tag = "operations",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = MeetingInput,
    responses(
        (status = 201, description = "Recorded, with its action items", body = Meeting),
        (status = 403, description = "Viewers cannot record meetings", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid: a date in the future, an attendee or action owner that is not a party, a party nobody attended for, an action due before the meeting", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn record_meeting(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<MeetingInput>,
) -> Result<(StatusCode, Json<Meeting>), ApiError> {
    let m = s
        .store
        .record_meeting(&who.actor(), PartnershipId(id), &input, today())
        .await?;
    Ok((StatusCode::CREATED, Json(m)))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/meetings/{meeting}", tag = "operations",
    params(("id" = i64, Path, description = "Partnership id"), ("meeting" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The meeting", body = Meeting),
        (status = 404, description = "No such partnership or meeting", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn meeting(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, meeting): IdsPath,
) -> Result<Json<Meeting>, ApiError> {
    Ok(Json(
        s.store
            .meeting(&who.actor(), PartnershipId(id), meeting, today())
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/partnerships/{id}/actions/{action}", tag = "operations",
    params(("id" = i64, Path, description = "Partnership id"), ("action" = i64, Path, description = "Action item id")),
    request_body = ActionUpdate,
    responses(
        (status = 200, description = "The action item with its new status", body = ActionItem),
        (status = 403, description = "Viewers cannot change action items", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or action item", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_action(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, action): IdsPath,
    ApiJson(input): ApiJson<ActionUpdate>,
) -> Result<Json<ActionItem>, ApiError> {
    Ok(Json(
        s.store
            .update_action(&who.actor(), PartnershipId(id), action, &input, today())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/reviews", tag = "operations",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "Reviews, newest first, each with its packet (live while open, frozen with the decision), and when the next one falls due", body = ReviewsOverview),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reviews(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<ReviewsOverview>, ApiError> {
    Ok(Json(
        s.store
            .reviews(&who.actor(), PartnershipId(id), today())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/reviews", tag = "operations",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = OpenReviewInput,
    responses(
        (status = 201, description = "A review opened before it was due; an active partnership moves to `under_review`", body = Review),
        (status = 403, description = "Only alliance managers and admins open reviews", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A review is already in progress (`review_open`), or the partnership is not active (`not_active`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn open_review(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<OpenReviewInput>,
) -> Result<(StatusCode, Json<Review>), ApiError> {
    let r = s
        .store
        .open_review(&who.actor(), PartnershipId(id), &input, today())
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/reviews/{number}", tag = "operations",
    params(("id" = i64, Path, description = "Partnership id"), ("number" = u32, Path, description = "Review number")),
    responses(
        (status = 200, description = "The review with its packet", body = Review),
        (status = 404, description = "No such partnership or review", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn review(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, number): IdsPath,
) -> Result<Json<Review>, ApiError> {
    let n = small(number, "review")?;
    Ok(Json(
        s.store
            .review(&who.actor(), PartnershipId(id), n, today())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/reviews/{number}/decision", tag = "operations",
    params(("id" = i64, Path, description = "Partnership id"), ("number" = u32, Path, description = "Review number")),
    request_body = DecisionInput,
    responses(
        (status = 200, description = "The decision and rationale recorded, the packet frozen with it; earlier signatures are cleared and every party signs again", body = Review),
        (status = 403, description = "Only alliance managers and admins record the decision", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or review", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The review is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No rationale, or an unknown decision", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn decide(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, number): IdsPath,
    ApiJson(input): ApiJson<DecisionInput>,
) -> Result<Json<Review>, ApiError> {
    let n = small(number, "review")?;
    Ok(Json(
        s.store
            .decide_review(&who.actor(), PartnershipId(id), n, &input, today())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/reviews/{number}/signatures", tag = "operations",
    params(("id" = i64, Path, description = "Partnership id"), ("number" = u32, Path, description = "Review number")),
    responses(
        (status = 200, description = "Signed for your organization; once every party has signed, the review is `closed` and the partnership moves to the decision's stage (continue/expand: active, restructure: restructuring, exit: ending)", body = Review),
        (status = 403, description = "Only an alliance manager or admin of a party signs", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or review", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No decision yet (`no_decision`), already signed, or closed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sign(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, number): IdsPath,
) -> Result<Json<Review>, ApiError> {
    let n = small(number, "review")?;
    Ok(Json(
        s.store
            .sign_review(&who.actor(), PartnershipId(id), n, today())
            .await?,
    ))
}
