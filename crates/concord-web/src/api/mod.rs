//! The JSON API under `/api/v1`. Handlers are thin: parse the input at the edge, call the store
//! (which applies the domain rules and the tenant boundary), answer JSON or a problem.
//!
//! Every route is declared once in [`routes`], with how it is scoped. The router is built from
//! that table, and the isolation tests walk the same table, so a new route is covered by them
//! the moment it exists.

use axum::http::Method;
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;

use crate::AppState;

pub mod account;
pub mod adjacency;
pub mod capabilities;
pub mod charter;
pub mod ecosystem;
pub mod fhir;
pub mod health;
pub mod journeys;
pub mod ledger;
pub mod market;
pub mod operations;
pub mod organizations;
pub mod partnerships;
pub mod portfolio;
pub mod risks;
pub mod scorecards;
pub mod stakeholders;
pub mod surveys;
pub mod system;

/// How a route is scoped, for the isolation tests and for reading the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Open without signing in.
    Public,
    /// Any signed-in member: the shared ecosystem (organizations, the capability catalogue).
    Ecosystem,
    /// A partnership (`{id}`) the acting organization is party to; anyone else gets 404.
    Partnership,
    /// A journey (`{id}`) of a partnership the acting organization is party to; anyone else gets
    /// 404.
    Journey,
    /// The acting organization's own records (its partnership list, members, invitations, audit).
    Own,
    /// The caller's own account: any member may act on it, viewers included (their API tokens,
    /// signing out, switching organization).
    Personal,
    /// A record (`{id}`: a fit scorecard, a competitor entry) written by the acting organization
    /// and private to it; anyone else — the candidate, a partner — gets 404.
    Private,
}

/// One route: method, path (relative to its surface), scope, handler.
pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub handler: MethodRouter<AppState>,
}

fn r(
    method: Method,
    path: &'static str,
    access: Access,
    handler: MethodRouter<AppState>,
) -> RouteDef {
    RouteDef {
        method,
        path,
        access,
        handler,
    }
}

/// Every API route, relative to `/api/v1`.
pub fn routes() -> Vec<RouteDef> {
    use Access::*;
    use Method as M;
    vec![
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
            "/organizations/{id}",
            Ecosystem,
            get(organizations::get),
        ),
        r(
            M::PUT,
            "/organizations/{id}",
            Ecosystem,
            put(organizations::update),
        ),
        r(M::GET, "/portfolio", Own, get(portfolio::get)),
        r(M::GET, "/partnerships", Own, get(partnerships::list)),
        r(M::POST, "/partnerships", Own, post(partnerships::create)),
        r(
            M::GET,
            "/partnerships/{id}",
            Partnership,
            get(partnerships::get),
        ),
        r(
            M::PUT,
            "/partnerships/{id}",
            Partnership,
            put(partnerships::update),
        ),
        r(
            M::POST,
            "/partnerships/{id}/archive",
            Partnership,
            post(partnerships::archive),
        ),
        r(
            M::GET,
            "/partnerships/{id}/transitions",
            Partnership,
            get(partnerships::history),
        ),
        r(
            M::POST,
            "/partnerships/{id}/transitions",
            Partnership,
            post(partnerships::transition),
        ),
        r(
            M::GET,
            "/partnerships/{id}/notes",
            Partnership,
            get(partnerships::notes),
        ),
        r(
            M::POST,
            "/partnerships/{id}/notes",
            Partnership,
            post(partnerships::create_note),
        ),
        r(
            M::GET,
            "/partnerships/{id}/charter",
            Partnership,
            get(charter::get),
        ),
        r(
            M::PUT,
            "/partnerships/{id}/charter/draft",
            Partnership,
            put(charter::save_draft),
        ),
        r(
            M::DELETE,
            "/partnerships/{id}/charter/draft",
            Partnership,
            delete(charter::discard_draft),
        ),
        r(
            M::POST,
            "/partnerships/{id}/charter/signatures",
            Partnership,
            post(charter::sign),
        ),
        r(
            M::POST,
            "/partnerships/{id}/charter/signatures/withdraw",
            Partnership,
            post(charter::withdraw_signature),
        ),
        r(
            M::POST,
            "/partnerships/{id}/charter/acknowledgements",
            Partnership,
            post(charter::acknowledge),
        ),
        r(
            M::GET,
            "/partnerships/{id}/charter/versions",
            Partnership,
            get(charter::versions),
        ),
        r(
            M::GET,
            "/partnerships/{id}/charter/versions/{number}",
            Partnership,
            get(charter::version),
        ),
        r(
            M::GET,
            "/partnerships/{id}/charter/diff",
            Partnership,
            get(charter::diff_versions),
        ),
        r(
            M::GET,
            "/partnerships/{id}/verdict",
            Partnership,
            get(charter::verdict),
        ),
        r(
            M::GET,
            "/partnerships/{id}/metrics",
            Partnership,
            get(ledger::overview),
        ),
        r(
            M::GET,
            "/partnerships/{id}/metrics/{metric}/entries",
            Partnership,
            get(ledger::metric_entries),
        ),
        r(
            M::POST,
            "/partnerships/{id}/metrics/{metric}/values",
            Partnership,
            post(ledger::report_value),
        ),
        r(
            M::POST,
            "/partnerships/{id}/metrics/import",
            Partnership,
            post(ledger::import).layer(axum::extract::DefaultBodyLimit::max(ledger::MAX_CSV_BYTES)),
        ),
        r(
            M::GET,
            "/partnerships/{id}/ledger",
            Partnership,
            get(ledger::download),
        ),
        r(
            M::GET,
            "/partnerships/{id}/ledger/verify",
            Partnership,
            get(ledger::verify),
        ),
        r(
            M::GET,
            "/partnerships/{id}/ledger/{seq}",
            Partnership,
            get(ledger::entry),
        ),
        r(
            M::POST,
            "/partnerships/{id}/ledger/{seq}/corrections",
            Partnership,
            post(ledger::correct),
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
            M::GET,
            "/partnerships/{id}/meetings/{meeting}",
            Partnership,
            get(operations::meeting),
        ),
        r(
            M::PUT,
            "/partnerships/{id}/actions/{action}",
            Partnership,
            put(operations::update_action),
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
            post(risks::create),
        ),
        r(
            M::GET,
            "/partnerships/{id}/risks/{risk}",
            Partnership,
            get(risks::get),
        ),
        r(
            M::PUT,
            "/partnerships/{id}/risks/{risk}",
            Partnership,
            put(risks::update),
        ),
        r(
            M::GET,
            "/partnerships/{id}/surveys",
            Partnership,
            get(surveys::rounds),
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
            "/partnerships/{id}/surveys/{round}/results",
            Partnership,
            get(surveys::party_results),
        ),
        r(
            M::GET,
            "/partnerships/{id}/surveys/{round}/comments",
            Partnership,
            get(surveys::comments),
        ),
        r(
            M::GET,
            "/partnerships/{id}/stakeholders",
            Partnership,
            get(stakeholders::roster),
        ),
        r(
            M::POST,
            "/partnerships/{id}/stakeholders",
            Partnership,
            post(stakeholders::add),
        ),
        r(
            M::PUT,
            "/partnerships/{id}/stakeholders/{stakeholder}",
            Partnership,
            put(stakeholders::update),
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
            "/partnerships/{id}/journeys",
            Partnership,
            get(journeys::list),
        ),
        r(
            M::POST,
            "/partnerships/{id}/journeys",
            Partnership,
            post(journeys::create),
        ),
        r(
            M::POST,
            "/partnerships/{id}/journeys/import",
            Partnership,
            post(journeys::import),
        ),
        r(M::GET, "/journeys/{id}", Journey, get(journeys::get)),
        r(M::PUT, "/journeys/{id}", Journey, put(journeys::update)),
        r(M::GET, "/journeys/{id}/gaps", Journey, get(journeys::gaps)),
        r(
            M::GET,
            "/journeys/{id}/export",
            Journey,
            get(journeys::export_file),
        ),
        r(
            M::POST,
            "/journeys/{id}/stages",
            Journey,
            post(journeys::add_stage),
        ),
        r(
            M::PUT,
            "/journeys/{id}/stages/{stage}",
            Journey,
            put(journeys::replace_stage),
        ),
        r(
            M::DELETE,
            "/journeys/{id}/stages/{stage}",
            Journey,
            delete(journeys::remove_stage),
        ),
        r(
            M::POST,
            "/journeys/{id}/stages/{stage}/move",
            Journey,
            post(journeys::move_stage),
        ),
        r(
            M::POST,
            "/journeys/{id}/handoffs",
            Journey,
            post(journeys::add_handoff),
        ),
        r(
            M::DELETE,
            "/journeys/{id}/handoffs/{handoff}",
            Journey,
            delete(journeys::remove_handoff),
        ),
        r(
            M::POST,
            "/journeys/{id}/assumptions",
            Journey,
            post(journeys::add_assumption),
        ),
        r(
            M::PUT,
            "/journeys/{id}/assumptions/{assumption}",
            Journey,
            put(journeys::replace_assumption),
        ),
        r(
            M::GET,
            "/journeys/{id}/trial-runs",
            Journey,
            get(journeys::trial_runs),
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
        r(M::GET, "/capabilities", Ecosystem, get(capabilities::list)),
        r(
            M::POST,
            "/capabilities",
            Ecosystem,
            post(capabilities::create),
        ),
        r(
            M::GET,
            "/capabilities/{code}",
            Ecosystem,
            get(capabilities::get),
        ),
        r(
            M::PUT,
            "/capabilities/{code}",
            Ecosystem,
            put(capabilities::update),
        ),
        r(
            M::GET,
            "/market/candidates",
            Ecosystem,
            get(market::candidates),
        ),
        r(M::GET, "/market/adjacency", Ecosystem, get(adjacency::get)),
        r(M::GET, "/fhir/export", Own, get(fhir::export)),
        r(
            M::POST,
            "/fhir/import",
            Own,
            post(fhir::import).layer(axum::extract::DefaultBodyLimit::max(fhir::MAX_FHIR_BYTES)),
        ),
        r(M::GET, "/market/sources", Ecosystem, get(market::sources)),
        r(M::GET, "/me", Personal, get(account::me)),
        r(M::GET, "/tokens", Personal, get(account::tokens)),
        r(M::POST, "/tokens", Personal, post(account::create_token)),
        r(
            M::POST,
            "/tokens/{id}/revoke",
            Personal,
            post(account::revoke_token),
        ),
        r(M::GET, "/members", Own, get(account::members)),
        r(
            M::POST,
            "/invitations",
            Own,
            post(account::create_invitation),
        ),
        r(M::GET, "/audit", Own, get(account::audit)),
        r(M::GET, "/scorecards", Own, get(scorecards::list)),
        r(M::POST, "/scorecards", Own, post(scorecards::create)),
        r(M::GET, "/scorecards/{id}", Private, get(scorecards::get)),
        r(
            M::PUT,
            "/scorecards/{id}/judgements",
            Private,
            put(scorecards::judge),
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
            M::PUT,
            "/scorecard-settings",
            Own,
            put(scorecards::put_settings),
        ),
        r(M::GET, "/competitors", Own, get(scorecards::competitors)),
        r(
            M::POST,
            "/competitors",
            Own,
            post(scorecards::add_competitor),
        ),
        r(
            M::DELETE,
            "/competitors/{id}",
            Private,
            delete(scorecards::remove_competitor),
        ),
        r(M::GET, "/ecosystem/map", Own, get(ecosystem::map)),
        r(
            M::GET,
            "/partnerships/{id}/health",
            Partnership,
            get(health::health),
        ),
        r(
            M::POST,
            "/partnerships/{id}/warnings/acknowledgements",
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
            M::PUT,
            "/organization/health-weights",
            Own,
            put(health::put_weights),
        ),
        r(M::GET, "/openapi.json", Public, get(system::openapi_json)),
    ]
}

/// Builds a router from a route table (routes sharing a path are merged by method).
pub(crate) fn build(defs: Vec<RouteDef>) -> Router<AppState> {
    defs.into_iter()
        .fold(Router::new(), |router, d| router.route(d.path, d.handler))
}

pub fn router() -> Router<AppState> {
    build(routes()).fallback(system::api_not_found)
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
