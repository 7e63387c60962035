//! The risk register as pages: a likelihood × impact heat map of the risks still open, the
//! register (shared risks and the acting organization's private ones), a form to add a risk and
//! an edit page per risk. Handlers call the same store methods as the JSON API (`api::risks`); a
//! refused form is rendered again with each error next to its input.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;

use concord_domain::health::risk::{heat_map, mitigation_prompt, Risk, RiskInput, MAX_SCORE};
use concord_domain::health::{severity, RiskCategory, RiskStatus, Visibility, HIGH_RISK};
use concord_domain::partnership::Partnership;
use concord_domain::{OrgId, PartnershipId, ValidationErrors};
use concord_storage::StoreError;

use super::journeys::PageIds;
use super::operations::{day, party_name};
use super::{capitalize, render, see_other, Chrome, Opt, PageError, PageId};
use crate::api::ledger::today;
use crate::auth::{PageAuth, Principal};
use crate::extract::Form;
use crate::AppState;

const VIEWERS_READ: &str =
    "Viewers read the risk register; contributors, alliance managers and admins add and edit risks.";

/// Severity at or above this (and below [`HIGH_RISK`]) is shown as medium.
const MEDIUM_RISK: u8 = 8;

const LIKELIHOOD: [&str; 5] = ["Rare", "Unlikely", "Possible", "Likely", "Almost certain"];
const IMPACT: [&str; 5] = ["Minor", "Moderate", "Serious", "Major", "Severe"];

/// The names of the form's inputs, in the order of the domain's fields.
const FIELDS: [&str; 11] = [
    "category",
    "title",
    "description",
    "likelihood",
    "impact",
    "owner_org_id",
    "owner_name",
    "mitigation",
    "status",
    "review_on",
    "visibility",
];

fn zone(sev: u8) -> &'static str {
    if sev >= HIGH_RISK {
        "high"
    } else if sev >= MEDIUM_RISK {
        "medium"
    } else {
        "low"
    }
}

/// One labelled input of the risk form.
pub struct Input {
    id: String,
    name: String,
    label: String,
    /// `text`, `date`, `textarea` or `select`.
    kind: &'static str,
    value: String,
    options: Vec<Opt>,
    error: String,
    hint: String,
    /// `full`, `half` or `third` of the form's grid row.
    width: &'static str,
}

impl Input {
    fn new(prefix: &str, name: &str, label: &str, kind: &'static str, value: String) -> Self {
        Input {
            id: format!("{prefix}-{name}"),
            name: name.to_string(),
            label: label.to_string(),
            kind,
            value,
            options: Vec::new(),
            error: String::new(),
            hint: String::new(),
            width: "half",
        }
    }

    fn select(prefix: &str, name: &str, label: &str, options: Vec<Opt>) -> Self {
        Input {
            options,
            ..Input::new(prefix, name, label, "select", String::new())
        }
    }

    fn hint(mut self, hint: &str) -> Self {
        self.hint = hint.into();
        self
    }

    fn width(mut self, width: &'static str) -> Self {
        self.width = width;
        self
    }
}

/// What the form holds: raw strings, as typed (or as stored).
#[derive(Clone, Default)]
struct Values {
    category: String,
    title: String,
    description: String,
    likelihood: String,
    impact: String,
    owner_org_id: String,
    owner_name: String,
    mitigation: String,
    status: String,
    review_on: String,
    visibility: String,
}

impl Values {
    fn blank() -> Values {
        Values {
            category: RiskCategory::Other.as_str().into(),
            likelihood: "3".into(),
            impact: "3".into(),
            status: RiskStatus::Open.as_str().into(),
            visibility: Visibility::Shared.as_str().into(),
            ..Values::default()
        }
    }

    fn of(r: &RiskInput) -> Values {
        Values {
            category: r.category.as_str().into(),
            title: r.title.clone(),
            description: r.description.clone(),
            likelihood: r.likelihood.to_string(),
            impact: r.impact.to_string(),
            owner_org_id: r.owner_org_id.map(|o| o.0.to_string()).unwrap_or_default(),
            owner_name: r.owner_name.clone(),
            mitigation: r.mitigation.clone(),
            status: r.status.as_str().into(),
            review_on: r.review_on.map(|d| d.to_string()).unwrap_or_default(),
            visibility: r.visibility.as_str().into(),
        }
    }

    fn from_form(f: &Form) -> Values {
        Values {
            category: f.get("category").trim().into(),
            title: f.get("title").into(),
            description: f.get("description").into(),
            likelihood: f.get("likelihood").trim().into(),
            impact: f.get("impact").trim().into(),
            owner_org_id: f.get("owner_org_id").trim().into(),
            owner_name: f.get("owner_name").into(),
            mitigation: f.get("mitigation").into(),
            status: f.get("status").trim().into(),
            review_on: f.get("review_on").trim().into(),
            visibility: f.get("visibility").trim().into(),
        }
    }

    /// The input the form describes, or the errors of the values that cannot even be read.
    fn parse(&self) -> Result<RiskInput, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let category = self.category.parse::<RiskCategory>().ok();
        if category.is_none() {
            e.add(
                "category",
                "invalid_value",
                "choose a category from the list",
            );
        }
        let score = |e: &mut ValidationErrors, field: &str, v: &str| -> u8 {
            match v.parse::<u8>() {
                Ok(n) if (1..=MAX_SCORE).contains(&n) => n,
                _ => {
                    e.add(field, "out_of_range", format!("choose 1 to {MAX_SCORE}"));
                    0
                }
            }
        };
        let likelihood = score(&mut e, "likelihood", &self.likelihood);
        let impact = score(&mut e, "impact", &self.impact);
        let owner_org_id = if self.owner_org_id.is_empty() {
            None
        } else {
            match self.owner_org_id.parse::<i64>() {
                Ok(n) => Some(OrgId(n)),
                Err(_) => {
                    e.add("owner_org_id", "invalid_value", "choose a party");
                    None
                }
            }
        };
        let status = self.status.parse::<RiskStatus>().ok();
        if status.is_none() {
            e.add(
                "status",
                "invalid_value",
                "choose open, mitigating or closed",
            );
        }
        let review_on = if self.review_on.is_empty() {
            None
        } else {
            match NaiveDate::parse_from_str(&self.review_on, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    e.add("review_on", "invalid_date", "enter a date as YYYY-MM-DD");
                    None
                }
            }
        };
        let visibility = self.visibility.parse::<Visibility>().ok();
        if visibility.is_none() {
            e.add("visibility", "invalid_value", "choose shared or private");
        }
        match (category, status, visibility) {
            (Some(category), Some(status), Some(visibility)) if e.is_empty() => Ok(RiskInput {
                category,
                title: self.title.clone(),
                description: self.description.clone(),
                likelihood,
                impact,
                owner_org_id,
                owner_name: self.owner_name.clone(),
                mitigation: self.mitigation.clone(),
                status,
                review_on,
                visibility,
            }),
            _ => Err(e),
        }
    }
}

/// The add or edit form.
pub struct RiskForm {
    /// `add` or `edit-<id>`: prefixes the input ids.
    id: String,
    action: String,
    submit: &'static str,
    inputs: Vec<Input>,
}

fn opts<T: Copy>(
    all: &[T],
    wire: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    selected: &str,
) -> Vec<Opt> {
    all.iter()
        .map(|v| Opt::new(wire(*v), label(*v), wire(*v) == selected))
        .collect()
}

fn score_opts(labels: &[&str; 5], selected: &str) -> Vec<Opt> {
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let v = (i + 1).to_string();
            let selected = v == selected;
            Opt::new(v.clone(), format!("{v} — {l}"), selected)
        })
        .collect()
}

fn risk_form(
    p: &Partnership,
    form_id: &str,
    action: String,
    submit: &'static str,
    v: &Values,
    errors: &ValidationErrors,
    allow_private: bool,
) -> RiskForm {
    let mut owners = vec![Opt::new("", "No party yet", v.owner_org_id.is_empty())];
    owners.extend(p.parties.iter().map(|x| {
        let id = x.organization_id.0.to_string();
        let selected = id == v.owner_org_id;
        Opt::new(id, x.organization_name.clone(), selected)
    }));
    let category = v.category.parse::<RiskCategory>().ok();
    let visibilities: Vec<Visibility> = if allow_private {
        Visibility::ALL.to_vec()
    } else {
        vec![Visibility::Shared]
    };
    let mut inputs = vec![
        Input::select(
            form_id,
            "category",
            "Category",
            opts(RiskCategory::ALL, RiskCategory::as_str, RiskCategory::label, &v.category),
        ),
        Input::new(form_id, "title", "Title", "text", v.title.clone()),
        Input::new(form_id, "description", "What could happen", "textarea", v.description.clone())
            .width("full"),
        Input::select(form_id, "likelihood", "Likelihood", score_opts(&LIKELIHOOD, &v.likelihood))
            .width("third"),
        Input::select(form_id, "impact", "Impact", score_opts(&IMPACT, &v.impact))
            .width("third"),
        Input::select(
            form_id,
            "status",
            "Status",
            opts(RiskStatus::ALL, RiskStatus::as_str, RiskStatus::label, &v.status),
        )
        .width("third"),
        Input::select(form_id, "owner_org_id", "Owning party", owners),
        Input::new(form_id, "owner_name", "Owner (person)", "text", v.owner_name.clone()),
        Input::new(form_id, "mitigation", "Mitigation", "textarea", v.mitigation.clone())
            .width("full")
            .hint(category.map(mitigation_prompt).unwrap_or("")),
        Input::new(form_id, "review_on", "Review on", "date", v.review_on.clone())
            .hint("When the parties look at this risk again."),
        Input::select(
            form_id,
            "visibility",
            "Who sees it",
            opts(&visibilities, Visibility::as_str, Visibility::label, &v.visibility),
        )
        .hint(if allow_private {
            "A private risk is seen only by your organization and does not count in the shared health score."
        } else {
            "A shared risk stays shared: every party has seen it."
        }),
    ];
    for i in &mut inputs {
        i.error = errors
            .errors()
            .iter()
            .filter(|e| e.field == i.name)
            .map(|e| capitalize(&e.message))
            .collect::<Vec<_>>()
            .join(" ");
    }
    RiskForm {
        id: form_id.to_string(),
        action,
        submit,
        inputs,
    }
}

/// Errors no input shows (a refusal about the whole risk).
fn general_errors(errors: &ValidationErrors) -> String {
    errors
        .errors()
        .iter()
        .filter(|e| !FIELDS.contains(&e.field.as_str()))
        .map(|e| capitalize(&e.message))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits a refused write into errors to show on the form (with the status), or a page error.
fn refused(e: StoreError) -> Result<(StatusCode, ValidationErrors), PageError> {
    match e {
        StoreError::Validation(v) => Ok((StatusCode::UNPROCESSABLE_ENTITY, v)),
        StoreError::Refused {
            field,
            code,
            message,
        } => Ok((
            StatusCode::CONFLICT,
            ValidationErrors::single(field, code, message),
        )),
        e @ StoreError::Archived { .. } => Ok((
            StatusCode::CONFLICT,
            ValidationErrors::single("partnership", "archived", e.to_string()),
        )),
        other => Err(other.into()),
    }
}

fn forbid_viewers(who: &Principal) -> Result<(), PageError> {
    if who.acting.role.can_contribute() {
        Ok(())
    } else {
        Err(PageError::Refused(
            StatusCode::FORBIDDEN,
            VIEWERS_READ.into(),
        ))
    }
}

// ---------------------------------------------------------------- the register

struct HeatCell {
    likelihood: u8,
    impact: u8,
    severity: u8,
    zone: &'static str,
    count: usize,
}

struct HeatRow {
    likelihood: u8,
    label: &'static str,
    cells: Vec<HeatCell>,
}

struct RiskView {
    id: i64,
    category: &'static str,
    title: String,
    description: String,
    likelihood: u8,
    impact: u8,
    severity: u8,
    zone: &'static str,
    owner: String,
    mitigation: String,
    status: &'static str,
    status_label: &'static str,
    review: String,
    overdue: bool,
    private_to: String,
    seeded: bool,
    high_unmitigated: bool,
}

fn risk_view(p: &Partnership, r: &Risk, today: NaiveDate) -> RiskView {
    let owner = match (r.owner_org_id, r.owner_name.is_empty()) {
        (Some(o), false) => format!("{} · {}", party_name(p, o), r.owner_name),
        (Some(o), true) => party_name(p, o),
        (None, false) => r.owner_name.clone(),
        (None, true) => String::new(),
    };
    RiskView {
        id: r.id,
        category: r.category.label(),
        title: r.title.clone(),
        description: r.description.clone(),
        likelihood: r.likelihood,
        impact: r.impact,
        severity: r.severity(),
        zone: zone(r.severity()),
        owner,
        mitigation: r.mitigation.clone(),
        status: r.status.as_str(),
        status_label: r.status.label(),
        review: r.review_on.map(day).unwrap_or_default(),
        overdue: r.review_overdue(today),
        private_to: r
            .private_org_id
            .map(|o| party_name(p, o))
            .unwrap_or_default(),
        seeded: r.seeded,
        high_unmitigated: r.high_without_mitigation(),
    }
}

#[derive(Template)]
#[template(path = "risks.html")]
struct RisksPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    heat: Vec<HeatRow>,
    impact_labels: Vec<(u8, &'static str)>,
    open_count: usize,
    high_count: usize,
    closed_count: usize,
    risks: Vec<RiskView>,
    can_edit: bool,
    form: RiskForm,
    notice: String,
    alert: String,
}

#[derive(Deserialize, Default)]
pub struct DoneParams {
    done: Option<String>,
}

async fn register_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    status: StatusCode,
    notice: String,
    values: Values,
    errors: ValidationErrors,
) -> Result<Response, PageError> {
    let actor = who.actor();
    let (p, risks) = s.store.risks(&actor, id).await?;
    let day = today();
    let open: Vec<&Risk> = risks.iter().filter(|r| r.is_open()).collect();
    let counts = heat_map(open.iter().copied());
    let heat = (1..=MAX_SCORE)
        .rev()
        .map(|l| HeatRow {
            likelihood: l,
            label: LIKELIHOOD[usize::from(l - 1)],
            cells: (1..=MAX_SCORE)
                .map(|i| HeatCell {
                    likelihood: l,
                    impact: i,
                    severity: severity(l, i),
                    zone: zone(severity(l, i)),
                    count: counts[usize::from(l - 1)][usize::from(i - 1)],
                })
                .collect(),
        })
        .collect();
    let can_edit = who.acting.role.can_contribute() && p.archived_at.is_none();
    let form = risk_form(
        &p,
        "add",
        format!("/partnerships/{id}/risks"),
        "Add the risk",
        &values,
        &errors,
        true,
    );
    let alert = general_errors(&errors);
    render(
        status,
        &RisksPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            heat,
            impact_labels: (1..=MAX_SCORE)
                .map(|i| (i, IMPACT[usize::from(i - 1)]))
                .collect(),
            open_count: open.len(),
            high_count: open.iter().filter(|r| r.is_high()).count(),
            closed_count: risks.len() - open.len(),
            risks: risks.iter().map(|r| risk_view(&p, r, day)).collect(),
            can_edit,
            form,
            notice,
            alert,
            p,
        },
    )
}

pub async fn list(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    Query(params): Query<DoneParams>,
) -> Result<Response, PageError> {
    let notice = match params.done.as_deref() {
        Some("added") => "Risk added.",
        Some("updated") => "Risk updated.",
        _ => "",
    };
    register_page(
        &s,
        &who,
        PartnershipId(id),
        StatusCode::OK,
        notice.into(),
        Values::blank(),
        ValidationErrors::new(),
    )
    .await
}

pub async fn add(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let actor = who.actor();
    s.store.get_partnership(&actor, id).await?;
    forbid_viewers(&who)?;
    let values = Values::from_form(&form);
    let input = match values.parse() {
        Ok(i) => i,
        Err(e) => {
            return register_page(
                &s,
                &who,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                values,
                e,
            )
            .await
        }
    };
    match s.store.add_risk(&actor, id, &input).await {
        Ok(r) => Ok(see_other(&format!(
            "/partnerships/{id}/risks?done=added#risk-{}",
            r.id
        ))),
        Err(e) => {
            let (status, errors) = refused(e)?;
            register_page(&s, &who, id, status, String::new(), values, errors).await
        }
    }
}

// ---------------------------------------------------------------- one risk

#[derive(Template)]
#[template(path = "risk_edit.html")]
struct EditPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    risk: RiskView,
    can_edit: bool,
    form: RiskForm,
    alert: String,
}

async fn edit_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    risk_id: i64,
    status: StatusCode,
    values: Option<Values>,
    errors: ValidationErrors,
) -> Result<Response, PageError> {
    let (p, r) = s.store.risk(&who.actor(), id, risk_id).await?;
    let values = values.unwrap_or_else(|| Values::of(&r.to_input()));
    let form = risk_form(
        &p,
        &format!("edit-{}", r.id),
        format!("/partnerships/{id}/risks/{}", r.id),
        "Save the risk",
        &values,
        &errors,
        r.visibility == Visibility::Private,
    );
    render(
        status,
        &EditPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            risk: risk_view(&p, &r, today()),
            can_edit: who.acting.role.can_contribute() && p.archived_at.is_none(),
            form,
            alert: general_errors(&errors),
            p,
        },
    )
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, risk): PageIds,
) -> Result<Response, PageError> {
    edit_page(
        &s,
        &who,
        PartnershipId(id),
        risk,
        StatusCode::OK,
        None,
        ValidationErrors::new(),
    )
    .await
}

pub async fn update(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, risk): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let actor = who.actor();
    s.store.risk(&actor, id, risk).await?;
    forbid_viewers(&who)?;
    let values = Values::from_form(&form);
    let input = match values.parse() {
        Ok(i) => i,
        Err(e) => {
            return edit_page(
                &s,
                &who,
                id,
                risk,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(values),
                e,
            )
            .await
        }
    };
    match s.store.update_risk(&actor, id, risk, &input).await {
        Ok(r) => Ok(see_other(&format!(
            "/partnerships/{id}/risks?done=updated#risk-{}",
            r.id
        ))),
        Err(e) => {
            let (status, errors) = refused(e)?;
            edit_page(&s, &who, id, risk, status, Some(values), errors).await
        }
    }
}
