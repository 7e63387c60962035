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

use crate::api::{Access, RouteDef};
use crate::AppState;

mod account;
mod adjacency;
mod api_docs;
mod brief;
mod capabilities;
pub mod chart;
mod charter;
mod chrome;
mod ecosystem;
mod fhir;
mod forms;
mod health;
mod journeys;
mod market;
mod metrics;
mod operations;
mod organizations;
mod partnerships;
mod portfolio;
mod risks;
mod scorecards;
mod session;
mod stakeholders;
mod surveys;

pub use chrome::Chrome;
pub use forms::{CheckCategory, CheckGroup, Field, Opt, Section};

/// Every page route, with its scope (see [`crate::api::Access`]).
pub fn routes() -> Vec<RouteDef> {
    use axum::http::Method as M;
    use Access::*;
    let r = |method, path, access, handler| RouteDef {
        method,
        path,
        access,
        handler,
    };
    vec![
        r(M::GET, "/", Own, get(portfolio::show)),
        r(M::GET, "/portfolio.csv", Own, get(portfolio::export_csv)),
        r(
            M::GET,
            "/organizations",
            Ecosystem,
            get(organizations::list),
        ),
        r(
            M::POST,
            "/organizations",
            Ecosystem,
            post(organizations::create),
        ),
        r(
            M::GET,
            "/organizations.csv",
            Ecosystem,
            get(organizations::export_csv),
        ),
        r(
            M::GET,
            "/organizations/new",
            Ecosystem,
            get(organizations::new_form),
        ),
        r(
            M::GET,
            "/organizations/{id}",
            Ecosystem,
            get(organizations::show),
        ),
        r(
            M::POST,
            "/organizations/{id}",
            Ecosystem,
            post(organizations::update),
        ),
        r(
            M::GET,
            "/organizations/{id}/edit",
            Ecosystem,
            get(organizations::edit_form),
        ),
        r(M::GET, "/partnerships", Own, get(partnerships::list)),
        r(M::POST, "/partnerships", Own, post(partnerships::create)),
        r(
            M::GET,
            "/partnerships/new",
            Own,
            get(partnerships::new_form),
        ),
        r(
            M::GET,
            "/partnerships/{id}",
            Partnership,
            get(partnerships::show),
        ),
        r(
            M::POST,
            "/partnerships/{id}",
            Partnership,
            post(partnerships::update),
        ),
        r(
            M::GET,
            "/partnerships/{id}/edit",
            Partnership,
            get(partnerships::edit_form),
        ),
        r(
            M::POST,
            "/partnerships/{id}/transition",
            Partnership,
            post(partnerships::transition),
        ),
        r(
            M::POST,
            "/partnerships/{id}/archive",
            Partnership,
            post(partnerships::archive),
        ),
        r(
            M::POST,
            "/partnerships/{id}/notes",
            Partnership,
            post(partnerships::add_note),
        ),
        r(
            M::GET,
            "/partnerships/{id}/charter",
            Partnership,
            get(charter::show),
        ),
        r(
            M::GET,
            "/partnerships/{id}/charter/edit",
            Partnership,
            get(charter::edit_form),
        ),
        r(
            M::POST,
            "/partnerships/{id}/charter/edit",
            Partnership,
            post(charter::save),
        ),
        r(
            M::GET,
            "/partnerships/{id}/charter/diff",
            Partnership,
            get(charter::diff),
        ),
        r(
            M::POST,
            "/partnerships/{id}/charter/sign",
            Partnership,
            post(charter::sign),
        ),
        r(
            M::POST,
            "/partnerships/{id}/charter/withdraw",
            Partnership,
            post(charter::withdraw),
        ),
        r(
            M::POST,
            "/partnerships/{id}/charter/acknowledge",
            Partnership,
            post(charter::acknowledge),
        ),
        r(
            M::POST,
            "/partnerships/{id}/charter/discard",
            Partnership,
            post(charter::discard),
        ),
        r(
            M::GET,
            "/partnerships/{id}/commitments",
            Partnership,
            get(operations::commitments),
        ),
        r(
            M::POST,
            "/partnerships/{id}/commitments/{commitment}/reports",
            Partnership,
            post(operations::report_commitment),
        ),
        r(
            M::GET,
            "/partnerships/{id}/meetings",
            Partnership,
            get(operations::meetings),
        ),
        r(
            M::POST,
            "/partnerships/{id}/meetings",
            Partnership,
            post(operations::record_meeting),
        ),
        r(
            M::POST,
            "/partnerships/{id}/actions/{action}",
            Partnership,
            post(operations::update_action),
        ),
        r(
            M::GET,
            "/partnerships/{id}/reviews",
            Partnership,
            get(operations::reviews),
        ),
        r(
            M::POST,
            "/partnerships/{id}/reviews",
            Partnership,
            post(operations::open_review),
        ),
        r(
            M::GET,
            "/partnerships/{id}/reviews/{number}",
            Partnership,
            get(operations::review),
        ),
        r(
            M::POST,
            "/partnerships/{id}/reviews/{number}/decision",
            Partnership,
            post(operations::decide),
        ),
        r(
            M::POST,
            "/partnerships/{id}/reviews/{number}/signatures",
            Partnership,
            post(operations::sign),
        ),
        r(
            M::GET,
            "/partnerships/{id}/risks",
            Partnership,
            get(risks::list),
        ),
        r(
            M::POST,
            "/partnerships/{id}/risks",
            Partnership,
            post(risks::add),
        ),
        r(
            M::GET,
            "/partnerships/{id}/risks/{risk}",
            Partnership,
            get(risks::show),
        ),
        r(
            M::POST,
            "/partnerships/{id}/risks/{risk}",
            Partnership,
            post(risks::update),
        ),
        r(
            M::GET,
            "/partnerships/{id}/surveys",
            Partnership,
            get(surveys::list),
        ),
        r(
            M::POST,
            "/partnerships/{id}/surveys",
            Partnership,
            post(surveys::open_round),
        ),
        r(
            M::GET,
            "/partnerships/{id}/surveys/{round}",
            Partnership,
            get(surveys::round),
        ),
        r(
            M::POST,
            "/partnerships/{id}/surveys/{round}/close",
            Partnership,
            post(surveys::close_round),
        ),
        r(
            M::POST,
            "/partnerships/{id}/surveys/{round}/responses",
            Partnership,
            post(surveys::answer),
        ),
        r(
            M::GET,
            "/partnerships/{id}/stakeholders",
            Partnership,
            get(stakeholders::show),
        ),
        r(
            M::POST,
            "/partnerships/{id}/stakeholders",
            Partnership,
            post(stakeholders::add),
        ),
        r(
            M::POST,
            "/partnerships/{id}/stakeholders/{stakeholder}/departure",
            Partnership,
            post(stakeholders::depart),
        ),
        r(
            M::POST,
            "/partnerships/{id}/stakeholders/{stakeholder}/successor",
            Partnership,
            post(stakeholders::successor),
        ),
        r(
            M::POST,
            "/partnerships/{id}/continuity-tasks/{task}/done",
            Partnership,
            post(stakeholders::complete_task),
        ),
        r(
            M::GET,
            "/partnerships/{id}/brief",
            Partnership,
            get(brief::show),
        ),
        r(
            M::GET,
            "/partnerships/{id}/health",
            Partnership,
            get(health::show),
        ),
        r(
            M::POST,
            "/partnerships/{id}/health/acknowledgements",
            Partnership,
            post(health::acknowledge),
        ),
        r(
            M::GET,
            "/organization/health-weights",
            Own,
            get(health::weights),
        ),
        r(
            M::POST,
            "/organization/health-weights",
            Own,
            post(health::save_weights),
        ),
        r(
            M::POST,
            "/partnerships/{id}/journeys",
            Partnership,
            post(journeys::create),
        ),
        r(
            M::GET,
            "/partnerships/{id}/journeys/import",
            Partnership,
            get(journeys::import_form),
        ),
        r(
            M::POST,
            "/partnerships/{id}/journeys/import",
            Partnership,
            post(journeys::import),
        ),
        r(
            M::GET,
            "/partnerships/{id}/metrics",
            Partnership,
            get(metrics::show),
        ),
        r(
            M::POST,
            "/partnerships/{id}/metrics/import",
            Partnership,
            post(metrics::import).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::ledger::MAX_CSV_BYTES,
            )),
        ),
        r(
            M::GET,
            "/partnerships/{id}/metrics/{metric}",
            Partnership,
            get(metrics::history),
        ),
        r(
            M::POST,
            "/partnerships/{id}/metrics/{metric}/values",
            Partnership,
            post(metrics::report),
        ),
        r(
            M::POST,
            "/partnerships/{id}/ledger/{seq}/corrections",
            Partnership,
            post(metrics::correct),
        ),
        r(
            M::GET,
            "/partnerships/{id}/ledger",
            Partnership,
            get(metrics::ledger),
        ),
        r(M::GET, "/journeys/{id}", Journey, get(journeys::show)),
        r(
            M::POST,
            "/journeys/{id}",
            Journey,
            post(journeys::save_details),
        ),
        r(
            M::POST,
            "/journeys/{id}/stages",
            Journey,
            post(journeys::add_stage),
        ),
        r(
            M::POST,
            "/journeys/{id}/stages/{stage}",
            Journey,
            post(journeys::save_stage),
        ),
        r(
            M::POST,
            "/journeys/{id}/stages/{stage}/move",
            Journey,
            post(journeys::move_stage),
        ),
        r(
            M::POST,
            "/journeys/{id}/stages/{stage}/remove",
            Journey,
            post(journeys::remove_stage),
        ),
        r(
            M::POST,
            "/journeys/{id}/handoffs",
            Journey,
            post(journeys::add_handoff),
        ),
        r(
            M::POST,
            "/journeys/{id}/handoffs/{handoff}/remove",
            Journey,
            post(journeys::remove_handoff),
        ),
        r(
            M::POST,
            "/journeys/{id}/assumptions",
            Journey,
            post(journeys::add_assumption),
        ),
        r(
            M::POST,
            "/journeys/{id}/assumptions/{assumption}",
            Journey,
            post(journeys::save_assumption),
        ),
        r(
            M::POST,
            "/journeys/{id}/trial-runs",
            Journey,
            post(journeys::record_trial_run),
        ),
        r(
            M::POST,
            "/journeys/{id}/feedback/{feedback}/address",
            Journey,
            post(journeys::address_feedback),
        ),
        r(M::GET, "/market", Ecosystem, get(market::show)),
        r(M::GET, "/market/adjacency", Ecosystem, get(adjacency::show)),
        r(M::GET, "/fhir", Own, get(fhir::show)),
        r(
            M::POST,
            "/fhir/import",
            Own,
            post(fhir::import).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::fhir::MAX_FHIR_BYTES,
            )),
        ),
        r(M::GET, "/capabilities", Ecosystem, get(capabilities::list)),
        r(
            M::POST,
            "/capabilities",
            Ecosystem,
            post(capabilities::create),
        ),
        r(M::GET, "/account/tokens", Personal, get(account::tokens)),
        r(
            M::POST,
            "/account/tokens",
            Personal,
            post(account::create_token),
        ),
        r(
            M::POST,
            "/account/tokens/{id}/revoke",
            Personal,
            post(account::revoke_token),
        ),
        r(M::GET, "/organization/members", Own, get(account::members)),
        r(
            M::POST,
            "/organization/members/invite",
            Own,
            post(account::invite),
        ),
        r(
            M::POST,
            "/organization/members/{id}/role",
            Own,
            post(account::set_role),
        ),
        r(M::GET, "/organization/audit", Own, get(account::audit)),
        r(
            M::POST,
            "/session/organization",
            Personal,
            post(session::switch_org),
        ),
        r(M::GET, "/scorecards", Own, get(scorecards::list)),
        r(M::POST, "/scorecards", Own, post(scorecards::create)),
        r(M::GET, "/scorecards/new", Own, get(scorecards::new_form)),
        r(M::GET, "/scorecards/{id}", Private, get(scorecards::show)),
        r(
            M::POST,
            "/scorecards/{id}/judgements",
            Private,
            post(scorecards::judge),
        ),
        r(
            M::POST,
            "/scorecards/{id}/promote",
            Private,
            post(scorecards::promote),
        ),
        r(
            M::GET,
            "/scorecard-settings",
            Own,
            get(scorecards::settings),
        ),
        r(
            M::POST,
            "/scorecard-settings",
            Own,
            post(scorecards::save_settings),
        ),
        r(M::GET, "/competitors", Own, get(scorecards::competitors)),
        r(
            M::POST,
            "/competitors",
            Own,
            post(scorecards::add_competitor),
        ),
        r(
            M::POST,
            "/competitors/{id}/remove",
            Private,
            post(scorecards::remove_competitor),
        ),
        r(M::GET, "/ecosystem", Own, get(ecosystem::show)),
        r(M::GET, "/sign-in", Public, get(session::sign_in_form)),
        r(M::POST, "/sign-in", Public, post(session::sign_in)),
        r(M::POST, "/sign-out", Public, post(session::sign_out)),
        r(
            M::GET,
            "/invitations/{token}",
            Public,
            get(session::invitation),
        ),
        r(
            M::POST,
            "/invitations/{token}",
            Public,
            post(session::accept_invitation),
        ),
        r(M::GET, "/api", Public, get(api_docs::show)),
        r(M::GET, "/static/style.css", Public, get(stylesheet)),
    ]
}

pub fn router() -> Router<AppState> {
    crate::api::build(routes()).fallback(not_found)
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
    chrome: Chrome,
    heading: String,
    message: String,
}

/// An error on a page: rendered as an HTML page, never as JSON or a raw message.
#[derive(Debug)]
pub enum PageError {
    NotFound,
    /// Refused with a status and a message people can act on (403 for a viewer writing, …).
    Refused(StatusCode, String),
    /// Momentary overload (no database connection came free, the request ran out of time): 503
    /// with `Retry-After`.
    Unavailable(String),
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => PageError::NotFound,
            StoreError::Forbidden(m) => PageError::Refused(StatusCode::FORBIDDEN, m),
            StoreError::Gone(m) => PageError::Refused(StatusCode::GONE, m),
            e @ StoreError::Archived { .. } => {
                PageError::Refused(StatusCode::CONFLICT, e.to_string())
            }
            StoreError::Busy => PageError::Unavailable(
                "Concord is busy right now. Please try again in a moment.".into(),
            ),
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
            PageError::Refused(status, message) => (*status, "Not allowed", message.as_str()),
            PageError::Unavailable(message) => {
                (StatusCode::SERVICE_UNAVAILABLE, "Busy", message.as_str())
            }
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
            chrome: Chrome::default(),
            heading: heading.to_string(),
            message: message.to_string(),
        };
        let body = page
            .render()
            .unwrap_or_else(|_| "Something went wrong.".to_string());
        crate::error::retry_after((status, Html(body)).into_response())
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

/// The message with its first letter in upper case, for refusals shown as sentences.
pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A 303 redirect after a successful form post.
pub(crate) fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// Splits a store error into validation errors to show on the form, or a page error.
pub(crate) fn form_errors(e: StoreError) -> Result<ValidationErrors, PageError> {
    match e {
        StoreError::Validation(v) => Ok(v),
        StoreError::Conflict { field, message } => {
            Ok(ValidationErrors::single(field, "duplicate", message))
        }
        StoreError::Refused {
            field,
            code,
            message,
        } => Ok(ValidationErrors::single(field, code, message)),
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
