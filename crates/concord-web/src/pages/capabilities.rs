use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use concord_domain::capability::{Capability, CapabilityCategory, CapabilityInput, ContinuumLevel};
use concord_domain::ValidationErrors;

use super::forms::{enum_options, summary};
use super::{form_errors, render, see_other, Chrome, Field, PageError, Section};
use crate::auth::{PageAuth, Principal};
use crate::extract::Form;
use crate::AppState;

struct Group {
    label: &'static str,
    items: Vec<Capability>,
}

#[derive(Template)]
#[template(path = "capabilities.html")]
struct CatalogPage {
    active: &'static str,
    chrome: Chrome,
    groups: Vec<Group>,
    summary: Vec<String>,
    sections: Vec<Section>,
}

fn sections(f: Option<&Form>, e: &ValidationErrors) -> Vec<Section> {
    let get = |k: &str| f.map(|f| f.get(k).to_string()).unwrap_or_default();
    vec![Section::new(
        "New capability",
        "",
        vec![
            Field::text("code", "Code", get("code"))
                .required()
                .width("third")
                .hint("lowercase_with_underscores, e.g. teledentistry")
                .error_from(e, &["code"]),
            Field::text("name", "Name", get("name"))
                .required()
                .width("third")
                .error_from(e, &["name"]),
            Field::select(
                "category",
                "Category",
                enum_options(
                    CapabilityCategory::ALL,
                    CapabilityCategory::as_str,
                    CapabilityCategory::label,
                    &get("category"),
                    Some("Choose…"),
                ),
            )
            .required()
            .width("third")
            .error_from(e, &["category"]),
            Field::select(
                "continuum_level",
                "Continuum level",
                enum_options(
                    ContinuumLevel::ALL,
                    ContinuumLevel::as_str,
                    ContinuumLevel::label,
                    &get("continuum_level"),
                    Some("Choose…"),
                ),
            )
            .required()
            .width("third")
            .error_from(e, &["continuum_level"]),
            Field::text("description", "Description", get("description"))
                .width("full")
                .error_from(e, &["description"]),
        ],
    )]
}

async fn page(
    s: &AppState,
    who: &Principal,
    status: StatusCode,
    form: Option<&Form>,
    errors: &ValidationErrors,
) -> Result<Response, PageError> {
    let caps = s.store.list_capabilities().await?;
    let groups = CapabilityCategory::ALL
        .iter()
        .map(|cat| Group {
            label: cat.label(),
            items: caps
                .iter()
                .filter(|c| c.category == *cat)
                .cloned()
                .collect(),
        })
        .collect();
    render(
        status,
        &CatalogPage {
            active: "capabilities",
            chrome: Chrome::load(s, who).await?,
            groups,
            summary: summary(errors, |f| f.replace('_', " ")),
            sections: sections(form, errors),
        },
    )
}

pub async fn list(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
) -> Result<Response, PageError> {
    page(&s, &who, StatusCode::OK, None, &ValidationErrors::new()).await
}

pub async fn create(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    form: Form,
) -> Result<Response, PageError> {
    let mut errors = ValidationErrors::new();
    let category = form.get("category").parse::<CapabilityCategory>();
    let level = form.get("continuum_level").parse::<ContinuumLevel>();
    if category.is_err() {
        errors.add("category", "required", "choose a category");
    }
    if level.is_err() {
        errors.add(
            "continuum_level",
            "required",
            "choose a level of the care continuum",
        );
    }
    if let (Ok(category), Ok(continuum_level)) = (category, level) {
        let input = CapabilityInput {
            code: form.get("code").into(),
            name: form.get("name").into(),
            category,
            continuum_level,
            description: form.get("description").into(),
        };
        match s.store.create_capability(&who.actor(), &input).await {
            Ok(_) => return Ok(see_other("/capabilities")),
            Err(e) => errors = form_errors(e)?,
        }
    }
    page(
        &s,
        &who,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some(&form),
        &errors,
    )
    .await
}
