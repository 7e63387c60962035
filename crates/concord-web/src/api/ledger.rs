//! The metric ledger: metrics with attainment, values, corrections, CSV import, the ledger
//! download (JSON or CSV, with hashes) and its verification.

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use concord_domain::csv_io::RowError;
use concord_domain::ledger::{
    write_ledger_csv, CorrectionInput, Entry, ImportSummary, MetricsOverview, ValueInput,
    Verification,
};
use concord_domain::PartnershipId;
use concord_storage::ImportError;

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath, IdsPath};
use crate::AppState;

/// The largest CSV accepted by the value import (about 200,000 rows).
pub const MAX_CSV_BYTES: usize = 24 * 1024 * 1024;

/// Today, in UTC: the day periods, lateness and due dates are judged against.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

fn metric_id(raw: i64) -> Result<u32, ApiError> {
    u32::try_from(raw).map_err(|_| ApiError::not_found("metric"))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/metrics", tag = "ledger",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "The effective charter's metrics, each with its current value per period and attainment (progress from baseline to target, status against the straight path, trend), and the roll-up by category", body = MetricsOverview),
        (status = 404, description = "No such partnership, or your organization is not a party", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn overview(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<MetricsOverview>, ApiError> {
    let (_, o) = s
        .store
        .metrics_overview(&who.actor(), PartnershipId(id))
        .await?;
    Ok(Json(o))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/metrics/{metric}/entries", tag = "ledger",
    params(("id" = i64, Path, description = "Partnership id"), ("metric" = u32, Path, description = "Metric id (from the charter)")),
    responses(
        (status = 200, description = "Every entry of the metric in chain order: values and the corrections that supersede them (its history)", body = [Entry]),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn metric_entries(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, metric): IdsPath,
) -> Result<Json<Vec<Entry>>, ApiError> {
    let m = metric_id(metric)?;
    Ok(Json(
        s.store
            .ledger_entries(&who.actor(), PartnershipId(id), Some(m))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/metrics/{metric}/values", tag = "ledger",
    params(("id" = i64, Path, description = "Partnership id"), ("metric" = u32, Path, description = "Metric id (from the effective charter)")),
    request_body = ValueInput,
    responses(
        (status = 201, description = "Appended to the ledger; the entry with its hash", body = Entry),
        (status = 403, description = "Viewers cannot report values", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or metric", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The period already has a value (`duplicate_period`: send a correction of the entry named), no effective charter, or the partnership is archived", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Your organization does not own the metric (`metric_id`), the period does not match the cadence or has not begun (`period_start`, `period_end`), or the value is not a finite number (`value`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn report_value(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, metric): IdsPath,
    ApiJson(input): ApiJson<ValueInput>,
) -> Result<(StatusCode, Json<Entry>), ApiError> {
    let m = metric_id(metric)?;
    let e = s
        .store
        .report_value(&who.actor(), PartnershipId(id), m, &input, today())
        .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/ledger/{seq}/corrections", tag = "ledger",
    params(("id" = i64, Path, description = "Partnership id"), ("seq" = i64, Path, description = "The entry to correct")),
    request_body = CorrectionInput,
    responses(
        (status = 201, description = "The correction, appended to the ledger; it supersedes the entry", body = Entry),
        (status = 403, description = "Viewers cannot correct values", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership or entry", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The entry was already corrected (`already_corrected`: correct the newer entry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason, a value that is not a finite number, or a metric your organization does not own", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn correct(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, seq): IdsPath,
    ApiJson(input): ApiJson<CorrectionInput>,
) -> Result<(StatusCode, Json<Entry>), ApiError> {
    let e = s
        .store
        .correct_entry(&who.actor(), PartnershipId(id), seq, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/ledger/{seq}", tag = "ledger",
    params(("id" = i64, Path, description = "Partnership id"), ("seq" = i64, Path, description = "Entry number in the chain")),
    responses(
        (status = 200, description = "One entry", body = Entry),
        (status = 404, description = "No such partnership or entry", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn entry(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdsPath(id, seq): IdsPath,
) -> Result<Json<Entry>, ApiError> {
    Ok(Json(
        s.store
            .ledger_entry(&who.actor(), PartnershipId(id), seq)
            .await?,
    ))
}

/// The ledger download's format.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LedgerFormat {
    #[default]
    Json,
    Csv,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// `json` (default) or `csv`.
    #[serde(default)]
    #[param(inline)]
    pub format: LedgerFormat,
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/ledger", tag = "ledger",
    params(("id" = i64, Path, description = "Partnership id"), LedgerQuery),
    responses(
        (status = 200, description = "Every entry in chain order with `prev_hash` and `hash`, as JSON or CSV (`text/csv`, one row per entry, the columns of the canonical form); verify it yourself with the canonical form in the README",
            content((Vec<Entry> = "application/json"), (String = "text/csv"))),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn download(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<LedgerQuery>,
) -> Result<Response, ApiError> {
    let entries = s
        .store
        .ledger_entries(&who.actor(), PartnershipId(id), None)
        .await?;
    Ok(match q.format {
        LedgerFormat::Json => Json(entries).into_response(),
        LedgerFormat::Csv => {
            let mut buf = Vec::new();
            write_ledger_csv(&mut buf, &entries).map_err(ApiError::internal)?;
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"ledger-{id}.csv\""),
                    ),
                ],
                buf,
            )
                .into_response()
        }
    })
}

#[utoipa::path(get, path = "/api/v1/partnerships/{id}/ledger/verify", tag = "ledger",
    params(("id" = i64, Path, description = "Partnership id")),
    responses(
        (status = 200, description = "The chain recomputed: `valid`, the number of entries, the head hash and the first entry that does not match", body = Verification),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Verification>, ApiError> {
    Ok(Json(
        s.store
            .verify_ledger(&who.actor(), PartnershipId(id))
            .await?,
    ))
}

/// A rejected import: every problem, by line and column.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportProblem {
    #[serde(flatten)]
    pub problem: Problem,
    pub rows: Vec<RowError>,
}

/// A CSV request body (`text/csv`), up to [`MAX_CSV_BYTES`].
pub struct CsvBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for CsvBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| ct.split(';').next().unwrap_or("").trim())
            .is_some_and(|ct| ct.eq_ignore_ascii_case("text/csv"));
        if !ok {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the file as CSV with Content-Type: text/csv",
            ));
        }
        axum::body::Bytes::from_request(req, state)
            .await
            .map(CsvBody)
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        format!("the file is larger than {MAX_CSV_BYTES} bytes; split it"),
                    )
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "unreadable_body",
                        "the request body could not be read",
                    )
                }
            })
    }
}

/// Turns a refused import into a 422 listing every row, or the store's own error.
pub fn import_error(e: ImportError) -> Response {
    match e {
        ImportError::Rows(rows) => {
            let first = rows.first();
            let detail = format!(
                "{} problem(s); nothing was imported. First: {}",
                rows.len(),
                first.map(|r| r.to_string()).unwrap_or_default()
            );
            let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_rows", detail);
            if let Some(f) = first {
                err = err.with_field(format!("line {} {}", f.line, f.column));
            }
            let body = ImportProblem {
                problem: err.problem().clone(),
                rows,
            };
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                [(header::CONTENT_TYPE, "application/problem+json")],
                Json(body),
            )
                .into_response()
        }
        ImportError::Store(e) => ApiError::from(e).into_response(),
    }
}

#[utoipa::path(post, path = "/api/v1/partnerships/{id}/metrics/import", tag = "ledger",
    params(("id" = i64, Path, description = "Partnership id")),
    request_body(content = String, content_type = "text/csv", description = "Header `metric,period,value` with optional `note` and `source`. `metric` is a metric id or its exact name; `period` is `2026-03` (month), `2026-Q1` (quarter), `2026` (year) or the period's first day."),
    responses(
        (status = 201, description = "Every row appended to the ledger in one transaction", body = ImportSummary),
        (status = 403, description = "Viewers cannot import", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partnership", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not sent as text/csv", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Nothing imported: every bad row, by line and column (`rows`) — unknown metric, a metric your organization does not own, a period that does not match the cadence or already has a value, a value that is not a finite number", body = ImportProblem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
    CsvBody(body): CsvBody,
) -> Response {
    match s
        .store
        .import_values(&who.actor(), PartnershipId(id), &body, today())
        .await
    {
        Ok(summary) => (StatusCode::CREATED, Json(summary)).into_response(),
        Err(e) => import_error(e),
    }
}
