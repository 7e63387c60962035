use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use concord_domain::capability::{Capability, CapabilityInput};

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::extract::ApiJson;
use crate::AppState;

#[utoipa::path(get, path = "/api/v1/capabilities", tag = "capabilities",
    responses((status = 200, description = "The capability catalogue, by category and name", body = Vec<Capability>)))]
pub async fn list(
    State(s): State<AppState>,
    Auth(_): Auth,
) -> Result<Json<Vec<Capability>>, ApiError> {
    Ok(Json(s.store.list_capabilities().await?))
}

#[utoipa::path(get, path = "/api/v1/capabilities/{code}", tag = "capabilities",
    params(("code" = String, Path, description = "Capability code, e.g. `dental`")),
    responses(
        (status = 200, description = "The capability", body = Capability),
        (status = 404, description = "No such capability", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Auth(_): Auth,
    Path(code): Path<String>,
) -> Result<Json<Capability>, ApiError> {
    Ok(Json(s.store.get_capability(&code).await?))
}

#[utoipa::path(post, path = "/api/v1/capabilities", tag = "capabilities",
    request_body = CapabilityInput,
    responses(
        (status = 201, description = "Added to the catalogue", body = Capability),
        (status = 409, description = "The code or name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing, unknown or invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiJson(input): ApiJson<CapabilityInput>,
) -> Result<impl IntoResponse, ApiError> {
    let c = s.store.create_capability(&who.actor(), &input).await?;
    let location = format!("/api/v1/capabilities/{}", c.code);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(c)))
}

#[utoipa::path(put, path = "/api/v1/capabilities/{code}", tag = "capabilities",
    params(("code" = String, Path, description = "Capability code")),
    request_body = CapabilityInput,
    responses(
        (status = 200, description = "Updated (the code cannot change)", body = Capability),
        (status = 404, description = "No such capability", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another capability has this name", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing, unknown or invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<CapabilityInput>,
) -> Result<Json<Capability>, ApiError> {
    Ok(Json(
        s.store
            .update_capability(&who.actor(), &code, &input)
            .await?,
    ))
}
