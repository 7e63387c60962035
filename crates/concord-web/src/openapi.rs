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
        api::system::healthz,
        api::system::readyz,
    ),
    tags(
        (name = "organizations", description = "Organizations in the ecosystem and their business-model profiles"),
        (name = "partnerships", description = "Partnerships, their parties and their stage"),
        (name = "capabilities", description = "The capability catalogue"),
        (name = "system", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

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
