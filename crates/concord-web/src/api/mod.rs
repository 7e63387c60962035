//! The JSON API under `/api/v1`. Handlers are thin: parse the input at the edge, call the store
//! (which applies the domain rules), answer JSON or a problem.

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

pub mod capabilities;
pub mod organizations;
pub mod partnerships;
pub mod system;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/organizations",
            get(organizations::list).post(organizations::create),
        )
        .route(
            "/organizations/{id}",
            get(organizations::get).put(organizations::update),
        )
        .route(
            "/partnerships",
            get(partnerships::list).post(partnerships::create),
        )
        .route(
            "/partnerships/{id}",
            get(partnerships::get).put(partnerships::update),
        )
        .route("/partnerships/{id}/archive", post(partnerships::archive))
        .route(
            "/partnerships/{id}/transitions",
            get(partnerships::history).post(partnerships::transition),
        )
        .route(
            "/capabilities",
            get(capabilities::list).post(capabilities::create),
        )
        .route(
            "/capabilities/{code}",
            get(capabilities::get).put(capabilities::update),
        )
        .route("/openapi.json", get(system::openapi_json))
        .fallback(system::api_not_found)
}

/// The actor recorded in the audit log for API writes (until accounts exist).
pub(crate) fn api_actor() -> concord_storage::Actor {
    concord_storage::Actor::new("api")
}

/// A page request from query parameters; out-of-range values are a 400 naming the parameter.
pub(crate) fn page_request(
    page: Option<u32>,
    per_page: Option<u32>,
) -> Result<concord_domain::paging::PageRequest, crate::error::ApiError> {
    concord_domain::paging::PageRequest::new(page, per_page).map_err(|e| {
        let first = &e.errors()[0];
        crate::error::ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            first.message.clone(),
        )
        .with_field(first.field.clone())
    })
}
