//! The charter of a partnership: its versions, the open draft, sign-off, stakes acknowledgements,
//! the diff between versions, and the strategic-or-transactional verdict.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use concord_domain::charter::{
    Charter, CharterRecord, CharterVersion, SignInput, VersionSummary, VersionVerdict,
};
use concord_domain::charter_diff::{diff, Change};
use concord_domain::PartnershipId;

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath, IdsPath};
use crate::AppState;

/// A partnership's charter at a glance.
#[derive(Debug, Serialize, ToSchema)]
pub struct CharterOverview {
    pub partnership_id: PartnershipId,
    /// The version in force, signed by every party.
    pub effective: Option<CharterVersion>,
    /// The open draft, if someone is editing.
    pub draft: Option<CharterVersion>,
    /// Every version, newest first.
    pub versions: Vec<VersionSummary>,
    /// The verdict on the effective version (or on the draft when nothing is effective yet).
    pub verdict: VersionVerdict,
}

/// Summaries of every version, newest first.
pub fn summaries(record: &CharterRecord) -> Vec<VersionSummary> {
    record
        .versions
        .iter()
        .map(|v| VersionSummary {
            number: v.number,
            status: v.status,
            created_by: v.created_by.clone(),
            created_at: v.created_at,
            effective_at: v.effective_at,
            signatures: v.sign_off.iter().filter(|s| s.signed.is_some()).count() as u32,
            parties: v.sign_off.len() as u32,
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/charter", tag = "charter",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "The effective version, the open draft, the version list and the verdict", body = CharterOverview),
        (status = 404, description = "No such partnership, or your organization is not a party", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<CharterOverview>, ApiError> {
    let (p, record) = s.store.charter(&who.actor(), PartnershipId(id)).await?;
    Ok(Json(CharterOverview {
        partnership_id: p.id,
        effective: record.effective().cloned(),
        draft: record.draft().cloned(),
        versions: summaries(&record),
        verdict: record.verdict(None),
    }))
}

#[utoipa::path(put, path = "/api/v1/partnerships/{id}/charter/draft", tag = "charter",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = Charter,
    responses(
        (status = 200, description = "The open draft (created from this content when there was none; its content replaced otherwise). Items without an `id` get one.", body = CharterVersion),
        (status = 403, description = "Viewers cannot edit the charter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The draft has been signed (`field` = `version`): withdraw the signatures or discard it first; or the partnership is archived", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid: a target on the wrong side of the baseline, a non-party, an alliance manager who is not a member of their party, dates out of order …", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn save_draft(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<Charter>,
) -> Result<Json<CharterVersion>, ApiError> {
    Ok(Json(
        s.store
            .save_charter_draft(&who.actor(), PartnershipId(id), &input)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/partnerships/{id}/charter/draft", tag = "charter",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "The draft, now `withdrawn` (it stays readable)", body = CharterVersion),
        (status = 403, description = "Only alliance managers and admins discard drafts", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership, or no open draft", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn discard_draft(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<CharterVersion>, ApiError> {
    Ok(Json(
        s.store
            .discard_charter_draft(&who.actor(), PartnershipId(id))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/charter/signatures", tag = "charter",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = SignInput,
    responses(
        (status = 200, description = "Signed for your organization; `status` is `effective` once every party has signed", body = CharterVersion),
        (status = 403, description = "Only an alliance manager or admin of a party signs", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership, or your organization is not a party", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version` is not the open draft, its content changed since you read it (`content_sha256`), or your organization already signed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sign(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<SignInput>,
) -> Result<Json<CharterVersion>, ApiError> {
    Ok(Json(
        s.store
            .sign_charter(&who.actor(), PartnershipId(id), &input)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/charter/signatures/withdraw", tag = "charter",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = SignInput,
    responses(
        (status = 200, description = "Your organization's signature is withdrawn from the open draft", body = CharterVersion),
        (status = 403, description = "Only an alliance manager or admin withdraws a signature", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not the open draft, or your organization has not signed it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn withdraw_signature(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<SignInput>,
) -> Result<Json<CharterVersion>, ApiError> {
    Ok(Json(
        s.store
            .withdraw_charter_signature(&who.actor(), PartnershipId(id), &input)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/charter/acknowledgements", tag = "charter",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body = SignInput,
    responses(
        (status = 200, description = "Your organization has acknowledged the other parties' stakes in this version", body = CharterVersion),
        (status = 403, description = "Only an alliance manager or admin acknowledges", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The version is superseded or withdrawn, or changed since you read it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn acknowledge(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<SignInput>,
) -> Result<Json<CharterVersion>, ApiError> {
    Ok(Json(
        s.store
            .acknowledge_stakes(&who.actor(), PartnershipId(id), &input)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/charter/versions", tag = "charter",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "Every version, newest first", body = Vec<VersionSummary>),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn versions(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Vec<VersionSummary>>, ApiError> {
    let (_, record) = s.store.charter(&who.actor(), PartnershipId(id)).await?;
    Ok(Json(summaries(&record)))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/charter/versions/{number}", tag = "charter",
    params(
        ("id" = i64, Path, description = "Partnership id"),
        ("number" = u32, Path, description = "Version number, from 1"),
    ),
    responses(
        (status = 200, description = "The version with its content and sign-off", body = CharterVersion),
        (status = 404, description = "No such partnership or version", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn version(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, number): IdsPath,
) -> Result<Json<CharterVersion>, ApiError> {
    let number = u32::try_from(number).map_err(|_| ApiError::not_found("charter version"))?;
    Ok(Json(
        s.store
            .charter_version(&who.actor(), PartnershipId(id), number)
            .await?,
    ))
}

/// Which two versions to compare.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The earlier version number (required).
    pub from: Option<u32>,
    /// The later version number (required).
    pub to: Option<u32>,
}

/// What changed between two versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct CharterDiff {
    pub from: u32,
    pub to: u32,
    pub changes: Vec<Change>,
}

/// Looks up two versions and compares them (shared by the API and the page).
pub fn compare(record: &CharterRecord, from: u32, to: u32) -> Result<CharterDiff, ApiError> {
    let find = |n: u32, field: &str| {
        record.version(n).ok_or_else(|| {
            ApiError::from(concord_domain::ValidationErrors::single(
                field,
                "unknown_version",
                format!(
                    "there is no version {n}; versions are 1 to {}",
                    record.versions.len()
                ),
            ))
        })
    };
    let (a, b) = (find(from, "from"), find(to, "to"));
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    Ok(CharterDiff {
        from,
        to,
        changes: diff(&a.content, &b.content),
    })
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/charter/diff", tag = "charter",
    params(("id" = i64, Path, description = "Partnership id"), DiffQuery),
    responses(
        (status = 200, description = "Every change from `from` to `to`, section by section", body = CharterDiff),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`from` or `to` names no version", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn diff_versions(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Json<CharterDiff>, ApiError> {
    // Visibility first: an outsider learns nothing from a malformed query either.
    let (_, record) = s.store.charter(&who.actor(), PartnershipId(id)).await?;
    let mut e = concord_domain::ValidationErrors::new();
    for (field, v) in [("from", q.from), ("to", q.to)] {
        if v.is_none() {
            e.add(field, "required", "name a version number");
        }
    }
    let (Some(from), Some(to)) = (q.from, q.to) else {
        return Err(e.into());
    };
    Ok(Json(compare(&record, from, to)?))
}

/// Which version to judge.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerdictQuery {
    /// A version number; by default the effective version, else the open draft.
    pub version: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/verdict", tag = "charter",
    params(("id" = i64, Path, description = "Partnership id"), VerdictQuery),
    responses(
        (status = 200, description = "`verdict` (strategic, partly_strategic, transactional) with every test's pass/fail, reason and suggestions; recomputed on every read", body = VersionVerdict),
        (status = 404, description = "No such partnership or version", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verdict(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<VerdictQuery>,
) -> Result<Json<VersionVerdict>, ApiError> {
    let (_, record) = s.store.charter(&who.actor(), PartnershipId(id)).await?;
    let version = match q.version {
        Some(n) => Some(
            record
                .version(n)
                .ok_or_else(|| ApiError::not_found("charter version"))?,
        ),
        None => None,
    };
    Ok(Json(record.verdict(version)))
}
