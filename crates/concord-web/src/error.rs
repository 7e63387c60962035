//! One error type for the JSON API, answered as RFC 9457 problem+json.
//!
//! Every error has a stable `code` a client can switch on, and names the offending `field` when
//! there is one. Client mistakes are 4xx with what to fix; server faults are logged with their
//! cause chain and answered with an opaque 500 — the client never sees internal text.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use concord_domain::partnership::Stage;
use concord_domain::{FieldError, ValidationErrors};
use concord_storage::StoreError;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type (`/problems/{code}`).
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable problem code (`validation_failed`, `not_found`, …).
    pub code: String,
    /// The first offending field, when the problem is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every offending field, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For illegal stage transitions: the stages the partnership may move to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<Stage>>,
}

/// An error on the JSON surface.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    problem: Box<Problem>,
    /// Logged, never sent.
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            problem: Box::new(Problem {
                type_: format!("/problems/{code}"),
                title: status.canonical_reason().unwrap_or("Error").to_string(),
                status: status.as_u16(),
                detail: detail.into(),
                code: code.to_string(),
                field: None,
                errors: Vec::new(),
                allowed: None,
            }),
            source: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.problem.field = Some(field.into());
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn validation(errors: ValidationErrors) -> Self {
        let errors = errors.into_errors();
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            detail,
        );
        e.problem.field = errors.first().map(|f| f.field.clone());
        e.problem.errors = errors;
        e
    }

    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged",
        );
        e.source = Some(Box::new(source));
        e
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity } => ApiError::not_found(entity),
            StoreError::Validation(v) => ApiError::validation(v),
            StoreError::Conflict { field, message } => {
                ApiError::new(StatusCode::CONFLICT, "duplicate", message).with_field(field)
            }
            StoreError::Refused {
                field,
                code,
                message,
            } => ApiError::new(StatusCode::CONFLICT, code, message).with_field(field),
            StoreError::IllegalTransition(t) => {
                let mut err =
                    ApiError::new(StatusCode::CONFLICT, "illegal_transition", t.to_string())
                        .with_field("to");
                err.problem.allowed = Some(t.allowed);
                err
            }
            StoreError::Forbidden(message) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
            }
            StoreError::Gone(message) => ApiError::new(StatusCode::GONE, "gone", message),
            StoreError::Archived { .. } => {
                ApiError::new(StatusCode::CONFLICT, "archived", e.to_string())
            }
            StoreError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is busy (no database connection came free in time); retry in a moment",
            ),
            other => ApiError::internal(other),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::validation(e)
    }
}

/// `e` and every cause under it, joined with ": ".
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        chain.push_str(": ");
        chain.push_str(&c.to_string());
        cur = c.source();
    }
    chain
}

/// Logs `e` with its whole cause chain.
pub fn log_internal(e: &(dyn std::error::Error + 'static)) {
    tracing::error!(error = %error_chain(e), "internal error");
}

/// Seconds a client is asked to wait before retrying a 503 (busy or timed out).
pub const RETRY_AFTER_SECS: u32 = 1;

/// Adds `Retry-After` to a 503: the refusal is momentary overload, not a fault.
pub fn retry_after(mut res: Response) -> Response {
    if res.status() == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut()
            .insert(header::RETRY_AFTER, RETRY_AFTER_SECS.into());
    }
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(src) = &self.source {
            log_internal(src.as_ref());
        }
        let body = serde_json::to_vec(self.problem.as_ref()).unwrap_or_default();
        retry_after(
            (
                self.status,
                [(header::CONTENT_TYPE, "application/problem+json")],
                body,
            )
                .into_response(),
        )
    }
}
