//! Server-rendered pages. Templates live in `templates/` and are compiled into the binary
//! (askama, auto-escaping). Handlers call the same store methods as the JSON API; a form that
//! fails validation is rendered again with each error next to its input (status 422).

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use concord_domain::ValidationErrors;
use concord_storage::StoreError;

use crate::AppState;

mod api_docs;
mod capabilities;
mod dashboard;
mod forms;
mod organizations;
mod partnerships;

pub use forms::{CheckCategory, CheckGroup, Field, Opt, Section};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::show))
        .route(
            "/organizations",
            get(organizations::list).post(organizations::create),
        )
        .route("/organizations.csv", get(organizations::export_csv))
        .route("/organizations/new", get(organizations::new_form))
        .route(
            "/organizations/{id}",
            get(organizations::show).post(organizations::update),
        )
        .route("/organizations/{id}/edit", get(organizations::edit_form))
        .route(
            "/partnerships",
            get(partnerships::list).post(partnerships::create),
        )
        .route("/partnerships/new", get(partnerships::new_form))
        .route(
            "/partnerships/{id}",
            get(partnerships::show).post(partnerships::update),
        )
        .route("/partnerships/{id}/edit", get(partnerships::edit_form))
        .route(
            "/partnerships/{id}/transition",
            post(partnerships::transition),
        )
        .route("/partnerships/{id}/archive", post(partnerships::archive))
        .route(
            "/capabilities",
            get(capabilities::list).post(capabilities::create),
        )
        .route("/api", get(api_docs::show))
        .route("/static/style.css", get(stylesheet))
        .fallback(not_found)
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/style.css"),
    )
}

async fn not_found() -> PageError {
    PageError::NotFound
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    active: &'static str,
    heading: String,
    message: String,
}

/// An error on a page: rendered as an HTML page, never as JSON or a raw message.
#[derive(Debug)]
pub enum PageError {
    NotFound,
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => PageError::NotFound,
            other => PageError::Internal(Box::new(other)),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Internal(Box::new(e))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here. It may have been moved, or the address may be mistyped.",
            ),
            PageError::Internal(e) => {
                crate::error::log_internal(e.as_ref());
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Concord could not complete this request. The problem has been logged; please try again.",
                )
            }
        };
        let page = ErrorPage {
            active: "",
            heading: heading.to_string(),
            message: message.to_string(),
        };
        let body = page
            .render()
            .unwrap_or_else(|_| "Something went wrong.".to_string());
        (status, Html(body)).into_response()
    }
}

/// A numeric id in a page's path; anything else is a "Not found" page.
pub struct PageId(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PageId {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, PageError> {
        crate::extract::IdPath::from_request_parts(parts, state)
            .await
            .map(|id| PageId(id.0))
            .map_err(|_| PageError::NotFound)
    }
}

/// Renders a template with a status.
pub(crate) fn render<T: Template>(status: StatusCode, t: &T) -> Result<Response, PageError> {
    Ok((status, Html(t.render()?)).into_response())
}

/// A 303 redirect after a successful form post.
pub(crate) fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// The actor recorded in the audit log for page writes (until accounts exist).
pub(crate) fn web_actor() -> concord_storage::Actor {
    concord_storage::Actor::new("web")
}

/// Splits a store error into validation errors to show on the form, or a page error.
pub(crate) fn form_errors(e: StoreError) -> Result<ValidationErrors, PageError> {
    match e {
        StoreError::Validation(v) => Ok(v),
        StoreError::Conflict { field, message } => {
            Ok(ValidationErrors::single(field, "duplicate", message))
        }
        e @ StoreError::Archived { .. } => {
            Ok(ValidationErrors::single("name", "archived", e.to_string()))
        }
        other => Err(other.into()),
    }
}

/// Links for a list's pages, keeping its filters.
pub struct Pager {
    pub page: u32,
    pub total_pages: u64,
    pub total: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new<T>(
        page: &concord_domain::paging::Page<T>,
        base: &str,
        query: &[(&str, String)],
    ) -> Pager {
        let link = |n: u32| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in query {
                if !v.is_empty() {
                    s.append_pair(k, v);
                }
            }
            s.append_pair("page", &n.to_string());
            format!("{base}?{}", s.finish())
        };
        Pager {
            page: page.page,
            total_pages: page.total_pages(),
            total: page.total,
            prev: (page.page > 1).then(|| link(page.page - 1)),
            next: page.has_next().then(|| link(page.page + 1)),
        }
    }
}

/// Dates as people read them: "22 Nov 2026, 15:04 UTC".
pub(crate) fn human_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%-d %b %Y, %H:%M UTC").to_string()
}
