//! The OpenAPI 3.1 document, generated from the handler annotations and the domain types.

use std::sync::OnceLock;

use utoipa::OpenApi;

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Concord API",
        version = "1",
        description = "The system of record for strategic partnerships between healthcare organizations. \
                       Errors are RFC 9457 problem+json documents with a stable `code` and the offending `field`."
    ),
    paths(
        api::organizations::list,
        api::organizations::create,
        api::organizations::get,
        api::organizations::update,
        api::partnerships::list,
        api::partnerships::create,
        api::partnerships::get,
        api::partnerships::update,
        api::partnerships::archive,
        api::partnerships::transition,
        api::partnerships::history,
        api::capabilities::list,
        api::capabilities::get,
        api::capabilities::create,
        api::capabilities::update,
        api::partnerships::notes,
        api::partnerships::create_note,
        api::charter::get,
        api::charter::save_draft,
        api::charter::discard_draft,
        api::charter::sign,
        api::charter::withdraw_signature,
        api::charter::acknowledge,
        api::charter::versions,
        api::charter::version,
        api::charter::diff_versions,
        api::charter::verdict,
        api::journeys::list,
        api::journeys::create,
        api::journeys::import,
        api::journeys::get,
        api::journeys::update,
        api::journeys::gaps,
        api::journeys::export_file,
        api::journeys::add_stage,
        api::journeys::replace_stage,
        api::journeys::remove_stage,
        api::journeys::move_stage,
        api::journeys::add_handoff,
        api::journeys::remove_handoff,
        api::journeys::add_assumption,
        api::journeys::replace_assumption,
        api::journeys::trial_runs,
        api::journeys::record_trial_run,
        api::journeys::address_feedback,
        api::ledger::overview,
        api::ledger::metric_entries,
        api::ledger::report_value,
        api::ledger::import,
        api::ledger::download,
        api::ledger::verify,
        api::ledger::entry,
        api::ledger::correct,
        api::operations::commitments,
        api::operations::report_commitment,
        api::operations::meetings,
        api::operations::record_meeting,
        api::operations::meeting,
        api::operations::update_action,
        api::operations::reviews,
        api::operations::open_review,
        api::operations::review,
        api::operations::decide,
        api::operations::sign,
        api::risks::list,
        api::risks::create,
        api::risks::get,
        api::risks::update,
        api::surveys::rounds,
        api::surveys::open_round,
        api::surveys::round,
        api::surveys::close_round,
        api::surveys::answer,
        api::surveys::party_results,
        api::surveys::comments,
        api::stakeholders::roster,
        api::stakeholders::add,
        api::stakeholders::update,
        api::stakeholders::depart,
        api::stakeholders::successor,
        api::stakeholders::complete_task,
        api::health::health,
        api::health::acknowledge,
        api::health::weights,
        api::health::put_weights,
        api::portfolio::get,
        api::market::candidates,
        api::adjacency::get,
        api::fhir::export,
        api::fhir::import,
        api::market::sources,
        api::account::me,
        api::account::tokens,
        api::account::create_token,
        api::account::revoke_token,
        api::account::members,
        api::account::create_invitation,
        api::account::audit,
        api::scorecards::list,
        api::scorecards::create,
        api::scorecards::get,
        api::scorecards::judge,
        api::scorecards::promote,
        api::scorecards::settings,
        api::scorecards::put_settings,
        api::scorecards::competitors,
        api::scorecards::add_competitor,
        api::scorecards::remove_competitor,
        api::ecosystem::map,
        api::system::healthz,
        api::system::readyz,
    ),
    tags(
        (name = "organizations", description = "Organizations in the ecosystem and their business-model profiles"),
        (name = "partnerships", description = "Partnerships, their parties and their stage"),
        (name = "charter", description = "The charter each party signs, its versions and diff, and the strategic-or-transactional verdict"),
        (name = "journeys", description = "Consumer journey maps across the parties: stages, handoffs, assumptions, trial runs and the gaps found in them"),
        (name = "ledger", description = "One source of truth: metric values per period in a hash-chained, append-only ledger; corrections, CSV import, attainment, download and verification"),
        (name = "operations", description = "Running the partnership: commitments as they are kept, meetings with action items and cadence, scheduled reviews with their packet, decision and signatures"),
        (name = "surveys", description = "The joint health survey: rounds, one confidential answer per person, per-party averages only from three respondents, perception gaps, change since the last round, and comments read only inside the respondent's organization"),
        (name = "stakeholders", description = "The stakeholder roster of both parties: roles, influence and engagement, departures; a departed executive sponsor, champion or alliance manager raises a continuity alert and re-education tasks for their organization until a successor is named and briefed"),
        (name = "risks", description = "The risk register: likelihood and impact (1–5), owner, mitigation, status and review date; three classic risks seeded on every partnership; a risk is shared with every party or private to the organization that wrote it"),
        (name = "health", description = "The explainable health score (0–100) with its drivers, weights, contributions and trend; early warnings with their evidence and acknowledgements; each organization's driver weights"),
        (name = "capabilities", description = "The capability catalogue"),
        (name = "market", description = "Partner discovery from public reference data (NPPES, NUCC, CMS hospitals, post-acute lists, Census ZIP centroids): the market scan and the imported sources"),
        (name = "fhir", description = "FHIR R4 interoperability: your organization's view out as a Bundle of Organization and OrganizationAffiliation resources; Organizations, OrganizationAffiliations and Bundles in"),
        (name = "account", description = "Your account, API tokens, your organization's members, invitations and audit log"),
        (name = "scorecards", description = "Fit scorecards, private to the evaluating organization: strategic alignment, culture and values, complementarity, historical performance, geographic fit, balance of power and business-model transparency, with weights, must-pass gates and an explained total (price is deliberately not a criterion); promotion of a candidate to an organization and a partnership; the competitor list"),
        (name = "ecosystem", description = "The ecosystem map: partnerships by type and health, candidates under evaluation and competitors around your organization"),
        (name = "system", description = "Health and readiness"),
    ),
    modifiers(&Security)
)]
pub struct ApiDoc;

/// Every operation except the probes needs a bearer token (or a signed-in session with its CSRF
/// token); say so once, here, with the 401 and 403 answers that follow from it. The problems
/// every operation of a kind can answer are documented here too, unless the handler describes
/// them itself: 503 (busy or timed out) anywhere; 404 when the path names a record; 400 for a
/// bad query parameter; for a body 400 (unreadable), 413 (too large), 415 (wrong content type)
/// and 422 (a field is wrong); 409 for a change to an archived partnership or what belongs to it.
/// `scripts/schemathesis.sh` checks every response of the live server against this document.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token created in Concord (Account → API tokens) or by `concord token create`."))
                    .build(),
            ),
        );
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .into()
        };
        for (path, item) in doc.paths.paths.iter_mut() {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            // A change to a partnership, or to anything of it, is refused while it is archived.
            let of_partnership = ["/api/v1/partnerships/{id}", "/api/v1/journeys/{id}"]
                .iter()
                .any(|p| path.starts_with(p));
            for (write, op) in [
                (false, &mut item.get),
                (true, &mut item.post),
                (true, &mut item.put),
                (true, &mut item.delete),
                (true, &mut item.patch),
            ] {
                let Some(op) = op else { continue };
                op.security = Some(vec![SecurityRequirement::new(
                    "bearer",
                    Vec::<String>::new(),
                )]);
                let params = op.parameters.as_deref().unwrap_or_default();
                let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
                let mut defaults = vec![
                    ("401", "Not signed in, or the API token is unknown or revoked"),
                    ("403", "Signed in, but this role or token scope may not do this (or the CSRF token is missing)"),
                    ("503", "The server is busy (no database connection came free in time) or the request timed out; retry after `Retry-After` seconds"),
                ];
                if has(ParameterIn::Path) {
                    defaults.push((
                        "404",
                        "No such record, or not one the acting organization may see",
                    ));
                }
                if has(ParameterIn::Query) {
                    defaults.push(("400", "Unknown or malformed query parameter"));
                }
                if op.request_body.is_some() {
                    defaults.extend([
                        ("400", "The body is not well-formed"),
                        ("413", "The body is too large"),
                        ("415", "The body is not of the documented content type"),
                        ("422", "A field is missing, unknown or invalid"),
                    ]);
                }
                if write && of_partnership {
                    defaults.push(("409", "The partnership is archived, or the change conflicts with the record's state (the problem's `code` says which)"));
                }
                for (status, description) in defaults {
                    op.responses
                        .responses
                        .entry(status.into())
                        .or_insert_with(|| problem(description));
                }
            }
        }
    }
}

/// The document as pretty JSON (built once).
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    })
}

/// The document as a value (for the browsable viewer page).
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
