//! FHIR R4: the acting organization's view out as a Bundle, Organizations and
//! OrganizationAffiliations (or a Bundle of them) in.

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use concord_domain::fhir::{parse_import, FhirError, ImportPlan, ImportReport};

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::AppState;

/// The largest FHIR body accepted by the import.
pub const MAX_FHIR_BYTES: usize = 4 * 1024 * 1024;

/// The media type of FHIR JSON.
pub const FHIR_JSON: &str = "application/fhir+json";

/// Export options.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `true` to answer as a file download (`Content-Disposition: attachment`).
    pub download: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/fhir/export", tag = "fhir",
    params(ExportQuery),
    description = "A FHIR R4 `Bundle` of type `collection`: an `Organization` for your \
                   organization and for every organization it is in a partnership with (NPI \
                   identifier with system `http://hl7.org/fhir/sid/us-npi`, CCN, name, type coded \
                   from the Concord kind and the HL7 organization type, address with geolocation, \
                   active) and an `OrganizationAffiliation` for each partnership it is party to \
                   (`organization` = the first party, `participatingOrganization` = each other \
                   party, `code` = the partnership type, `period`, `active` from the stage). Every \
                   entry has a stable `urn:uuid:` full URL and every reference points at one.",
    responses(
        (status = 200, description = "The Bundle", content_type = "application/fhir+json", body = Object),
        (status = 400, description = "An unknown query parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let bundle = s.store.fhir_export(&who.actor()).await?;
    let body = serde_json::to_vec_pretty(&bundle).map_err(ApiError::internal)?;
    let disposition = if q.download.unwrap_or(false) {
        "attachment; filename=\"concord-fhir-export.json\""
    } else {
        "inline"
    };
    Ok((
        [
            (header::CONTENT_TYPE, FHIR_JSON),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    ))
}

/// A FHIR JSON body (`application/fhir+json` or `application/json`), parsed into an import plan.
pub struct FhirBody(pub ImportPlan);

impl<S: Send + Sync> FromRequest<S> for FhirBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let ct = ct.split(';').next().unwrap_or("").trim();
                ct.eq_ignore_ascii_case(FHIR_JSON) || ct.eq_ignore_ascii_case("application/json")
            })
            .unwrap_or(false);
        if !ok {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send FHIR JSON with Content-Type: application/fhir+json (or application/json)",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        format!("the body is larger than {MAX_FHIR_BYTES} bytes; split the Bundle"),
                    )
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "unreadable_body",
                        "the request body could not be read",
                    )
                }
            })?;
        plan_from_bytes(&bytes).map(FhirBody)
    }
}

/// Parses FHIR JSON bytes into a plan, or the problem to answer (shared with the page).
pub(crate) fn plan_from_bytes(bytes: &[u8]) -> Result<ImportPlan, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!(
                "the body is not UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    parse_import(text).map_err(fhir_error)
}

/// The API answer for a body that cannot be imported.
pub(crate) fn fhir_error(e: FhirError) -> ApiError {
    match e {
        FhirError::Json {
            line,
            column,
            message,
        } => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: line {line}, column {column}: {message}"),
        )
        .with_field(format!("line {line}, column {column}")),
        FhirError::Invalid(errors) => ApiError::validation(errors),
    }
}

#[utoipa::path(post, path = "/api/v1/fhir/import", tag = "fhir",
    request_body(content = Object, description = "A FHIR R4 `Bundle`, `Organization` or `OrganizationAffiliation`", content_type = "application/fhir+json"),
    description = "Imports FHIR R4 resources in one transaction. `Organization` creates or updates \
                   an ecosystem organization (matched by NPI identifier, then by name): NPI and CCN \
                   identifiers, name, first address, type. `OrganizationAffiliation` records a \
                   partnership in `exploring` between the two referenced organizations (in the \
                   Bundle, or in Concord by NPI identifier, `Organization/{id}` or display name) — \
                   only when your organization is one of them; otherwise it is reported in \
                   `refused`. Affiliations carrying the same Concord partnership identifier make one \
                   partnership. Other resource types in a Bundle are reported in `skipped`; elements \
                   not kept are listed in `unknown_elements`. Any invalid resource changes nothing: \
                   422 lists every problem with its element path.",
    responses(
        (status = 200, description = "What was imported, refused, skipped and not kept", body = ImportReport),
        (status = 400, description = "Not JSON: the line and column where reading stopped", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only alliance managers and admins import", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An organization changed, or a name or NPI was taken, while the import ran; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not FHIR JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A resource of the wrong type, or invalid resources (each problem names its element path, such as `Organization[1].identifier[0].value`); nothing was written", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    State(s): State<AppState>,
    Auth(who): Auth,
    FhirBody(plan): FhirBody,
) -> Result<Json<ImportReport>, ApiError> {
    Ok(Json(s.store.fhir_import(&who.actor(), &plan).await?))
}
