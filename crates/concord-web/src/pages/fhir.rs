//! The FHIR page: download the organization's view as an R4 Bundle, import a Bundle or a
//! resource (pasted or uploaded), and read what the import did.

use askama::Template;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use concord_domain::fhir::ImportReport;
use concord_domain::FieldError;
use concord_storage::StoreError;

use super::{render, Chrome, PageError};
use crate::api::fhir::{plan_from_bytes, MAX_FHIR_BYTES};
use crate::auth::{PageAuth, Principal};
use crate::AppState;

#[derive(Template)]
#[template(path = "fhir.html")]
struct FhirPage {
    active: &'static str,
    chrome: Chrome,
    report: Option<ImportReport>,
    /// Every problem with its element path (nothing was imported).
    problems: Vec<FieldError>,
    /// A problem that is not about one element (not JSON, too large, a conflict).
    general: String,
    /// The pasted text, shown again after a refusal.
    text: String,
}

async fn page(
    s: &AppState,
    who: &Principal,
    status: StatusCode,
    report: Option<ImportReport>,
    problems: Vec<FieldError>,
    general: String,
    text: String,
) -> Result<Response, PageError> {
    render(
        status,
        &FhirPage {
            active: "fhir",
            chrome: Chrome::load(s, who).await?,
            report,
            problems,
            general,
            text,
        },
    )
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
) -> Result<Response, PageError> {
    page(
        &s,
        &who,
        StatusCode::OK,
        None,
        Vec::new(),
        String::new(),
        String::new(),
    )
    .await
}

/// The pasted text and the uploaded file of the import form.
async fn read_form(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(String, Vec<u8>), (StatusCode, String)> {
    let mut mp = multipart.map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            "Send the resource with the import form (as multipart/form-data).".to_string(),
        )
    })?;
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "The upload is larger than {} MiB; split the Bundle.",
                    MAX_FHIR_BYTES / (1024 * 1024)
                ),
            )
        } else {
            (
                StatusCode::BAD_REQUEST,
                "The upload could not be read; send it again.".to_string(),
            )
        }
    };
    let (mut text, mut file) = (String::new(), Vec::new());
    while let Some(field) = mp.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("text") => text = field.text().await.map_err(unreadable)?,
            Some("file") => file = field.bytes().await.map_err(unreadable)?.to_vec(),
            _ => {}
        }
    }
    Ok((text, file))
}

/// `POST /fhir/import` (multipart, CSRF token in the query string).
pub async fn import(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    // Who may import is settled before the upload is read.
    who.acting
        .require_manager()
        .map_err(|e| PageError::Refused(StatusCode::FORBIDDEN, e.0))?;
    let fail = |status: StatusCode, problems: Vec<FieldError>, general: String, text: String| {
        let (s, who) = (s.clone(), who.clone());
        async move { page(&s, &who, status, None, problems, general, text).await }
    };
    let (text, file) = match read_form(multipart).await {
        Ok(x) => x,
        Err((status, m)) => return fail(status, Vec::new(), m, String::new()).await,
    };
    let body: Vec<u8> = if !file.is_empty() {
        file
    } else if !text.trim().is_empty() {
        text.clone().into_bytes()
    } else {
        return fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            Vec::new(),
            "Paste a FHIR resource or Bundle, or choose a file.".into(),
            text,
        )
        .await;
    };
    let plan = match plan_from_bytes(&body) {
        Ok(p) => p,
        Err(e) => {
            let p = e.problem();
            return fail(e.status(), p.errors.clone(), p.detail.clone(), text).await;
        }
    };
    match s.store.fhir_import(&who.actor(), &plan).await {
        Ok(report) => {
            page(
                &s,
                &who,
                StatusCode::OK,
                Some(report),
                Vec::new(),
                String::new(),
                String::new(),
            )
            .await
        }
        Err(StoreError::Validation(v)) => {
            fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                v.into_errors(),
                String::new(),
                text,
            )
            .await
        }
        Err(StoreError::Conflict { message, .. }) | Err(StoreError::Refused { message, .. }) => {
            fail(StatusCode::CONFLICT, Vec::new(), message, text).await
        }
        Err(e) => Err(e.into()),
    }
}
