use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use concord_domain::paging::PageRequest;
use concord_domain::partnership::{
    Partnership, PartnershipFilter, PartnershipInput, PartnershipSort, PartnershipType, PartyInput,
    Stage,
};
use concord_domain::{OrgId, PartnershipId, ValidationErrors};
use concord_storage::StoreError;

use super::forms::{enum_options, summary};
use super::journeys::{JourneyRow, NewJourneyForm};
use super::{capitalize, PageId};
use super::{
    form_errors, human_time, render, see_other, Chrome, Field, Opt, PageError, Pager, Section,
};
use crate::auth::{PageAuth, Principal};
use crate::extract::Form;
use crate::AppState;

/// Party rows offered by the form; blank rows are ignored.
const PARTY_SLOTS: usize = 4;

#[derive(Deserialize, Default)]
pub struct ListParams {
    q: Option<String>,
    #[serde(rename = "type")]
    partnership_type: Option<String>,
    stage: Option<String>,
    party: Option<String>,
    sort: Option<String>,
    archived: Option<String>,
    page: Option<u32>,
}

struct Row {
    id: PartnershipId,
    name: String,
    type_label: &'static str,
    stage: Stage,
    archived: bool,
    parties: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "partnership_list.html")]
struct ListPage {
    active: &'static str,
    chrome: Chrome,
    q: String,
    types: Vec<Opt>,
    stages: Vec<Opt>,
    parties: Vec<Opt>,
    sorts: Vec<Opt>,
    archived: bool,
    rows: Vec<Row>,
    pager: Pager,
}

pub(crate) fn party_names(p: &Partnership) -> String {
    p.parties
        .iter()
        .map(|x| x.organization_name.as_str())
        .collect::<Vec<_>>()
        .join(" · ")
}

pub async fn list(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let ptype: Option<PartnershipType> = params
        .partnership_type
        .as_deref()
        .and_then(|v| v.parse().ok());
    let stage: Option<Stage> = params.stage.as_deref().and_then(|v| v.parse().ok());
    let party: Option<OrgId> = params
        .party
        .as_deref()
        .and_then(|v| v.parse().ok())
        .map(OrgId);
    let sort: PartnershipSort = params
        .sort
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PartnershipSort::UpdatedDesc);
    let archived = params.archived.as_deref() == Some("true");
    let q = params.q.unwrap_or_default();
    let page_req = PageRequest::new(params.page.filter(|p| *p > 0), None).unwrap_or_default();
    let filter = PartnershipFilter {
        partnership_type: ptype,
        stage,
        party,
        q: Some(q.clone()),
        include_archived: archived,
    };
    let page = s
        .store
        .list_partnerships(&who.actor(), &filter, sort, page_req)
        .await?;
    let orgs = s.store.partner_choices(&who.actor()).await?;
    let pager = Pager::new(
        &page,
        "/partnerships",
        &[
            ("q", q.clone()),
            (
                "type",
                ptype.map(|t| t.as_str().to_string()).unwrap_or_default(),
            ),
            (
                "stage",
                stage.map(|t| t.as_str().to_string()).unwrap_or_default(),
            ),
            ("party", party.map(|t| t.to_string()).unwrap_or_default()),
            ("sort", sort.as_str().to_string()),
            (
                "archived",
                if archived {
                    "true".into()
                } else {
                    String::new()
                },
            ),
        ],
    );
    let rows = page
        .items
        .iter()
        .map(|p| Row {
            id: p.id,
            name: p.name.clone(),
            type_label: p.partnership_type.label(),
            stage: p.stage,
            archived: p.archived_at.is_some(),
            parties: party_names(p),
            updated: human_time(p.updated_at),
        })
        .collect();
    let mut parties = vec![Opt::new("", "Any organization", party.is_none())];
    parties.extend(
        orgs.into_iter()
            .map(|(id, name)| Opt::new(id.to_string(), name, Some(id) == party)),
    );
    render(
        StatusCode::OK,
        &ListPage {
            active: "partnerships",
            chrome: Chrome::load(&s, &who).await?,
            q,
            types: enum_options(
                PartnershipType::ALL,
                PartnershipType::as_str,
                PartnershipType::label,
                ptype.map(|t| t.as_str()).unwrap_or(""),
                Some("All types"),
            ),
            stages: enum_options(
                Stage::ALL,
                Stage::as_str,
                Stage::label,
                stage.map(|t| t.as_str()).unwrap_or(""),
                Some("All stages"),
            ),
            parties,
            sorts: enum_options(
                PartnershipSort::ALL,
                PartnershipSort::as_str,
                PartnershipSort::label,
                sort.as_str(),
                None,
            ),
            archived,
            rows,
            pager,
        },
    )
}

struct HistoryRow {
    when: String,
    change: String,
    note: String,
}

struct LifecycleStep {
    label: &'static str,
    state: &'static str,
}

#[derive(Template)]
#[template(path = "partnership_detail.html")]
struct DetailPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    can_manage: bool,
    can_write_notes: bool,
    notes: Vec<NoteRow>,
    archived: bool,
    next: Vec<Stage>,
    lifecycle: Vec<LifecycleStep>,
    history: Vec<HistoryRow>,
    notice: String,
    error: String,
    /// The charter's verdict (label, wire value) and where the charter stands.
    verdict_label: &'static str,
    verdict_class: &'static str,
    charter_status: String,
    /// The partnership's journeys, and the "new journey" form for contributors.
    journeys: Vec<JourneyRow>,
    can_add_journey: bool,
    journey_form: NewJourneyForm,
    /// The roll-up of the charter's metrics, for the "Metrics and ledger" card.
    metrics: super::metrics::MetricsSummary,
    /// Commitments, meeting cadence and the review, for the "Running the partnership" card.
    ops: super::operations::Summary,
    /// Score, trend and open warnings, for the "Health" card.
    health: super::health::HealthSummary,
}

/// The main line of the lifecycle, for the progress strip.
const MAIN_LINE: &[Stage] = &[
    Stage::Exploring,
    Stage::Assessing,
    Stage::Negotiating,
    Stage::Active,
    Stage::UnderReview,
    Stage::Ended,
];

struct NoteRow {
    body: String,
    author: String,
    when: String,
}

async fn detail_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    status: StatusCode,
    notice: String,
    error: String,
) -> Result<Response, PageError> {
    let form = NewJourneyForm::default();
    detail_page_with(s, who, id, status, notice, error, form).await
}

/// The partnership page with a refused "new journey" form.
pub(super) async fn detail_with_journey_form(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    status: StatusCode,
    form: NewJourneyForm,
) -> Result<Response, PageError> {
    detail_page_with(s, who, id, status, String::new(), String::new(), form).await
}

async fn detail_page_with(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    status: StatusCode,
    notice: String,
    error: String,
    journey_form: NewJourneyForm,
) -> Result<Response, PageError> {
    let actor = who.actor();
    let (p, history, notes) = s.store.partnership_view(&actor, id).await?;
    let record = s.store.charter_of(&p).await?;
    let verdict = record.verdict(None);
    let journeys = super::journeys::rows_for(s, who, id).await?;
    let metrics = super::metrics::summary(s, &p, who).await?;
    let ops = super::operations::summary(s, who, &p).await?;
    let health = super::health::summary(s, who, &p).await?;
    let charter_status = match (record.effective(), record.draft()) {
        (Some(e), Some(d)) => format!(
            "Version {} is in force; draft version {} is open for sign-off.",
            e.number, d.number
        ),
        (Some(e), None) => format!("Version {} is in force, signed by every party.", e.number),
        (None, Some(d)) => format!(
            "Draft version {} awaits signatures ({} of {} parties signed).",
            d.number,
            d.sign_off.iter().filter(|x| x.signed.is_some()).count(),
            d.sign_off.len()
        ),
        (None, None) => "No charter yet.".to_string(),
    };
    let notes = notes
        .into_iter()
        .map(|n| NoteRow {
            body: n.body,
            author: n.author_name,
            when: human_time(n.created_at),
        })
        .collect();
    let reached: Vec<Stage> = history.iter().map(|h| h.to_stage).collect();
    let mut steps: Vec<Stage> = MAIN_LINE.to_vec();
    if !steps.contains(&p.stage) {
        // Restructuring or ending: show it where it happens, before "ended".
        steps.insert(steps.len() - 1, p.stage);
    }
    let lifecycle = steps
        .iter()
        .map(|st| LifecycleStep {
            label: st.label(),
            state: if *st == p.stage {
                "current"
            } else if reached.contains(st) {
                "done"
            } else {
                "todo"
            },
        })
        .collect();
    let history = history
        .into_iter()
        .rev()
        .map(|h| HistoryRow {
            when: human_time(h.changed_at),
            change: match h.from_stage {
                None => format!("Created in {}", h.to_stage.label()),
                Some(f) => format!("{} → {}", f.label(), h.to_stage.label()),
            },
            note: h.note,
        })
        .collect();
    render(
        status,
        &DetailPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            can_manage: who.acting.role.can_manage_partnerships(),
            can_write_notes: who.acting.role.can_contribute(),
            notes,
            archived: p.archived_at.is_some(),
            next: p.stage.next_stages().to_vec(),
            lifecycle,
            history,
            notice,
            error,
            verdict_label: verdict.verdict.label(),
            verdict_class: verdict.verdict.as_str(),
            charter_status,
            journeys,
            can_add_journey: who.acting.role.can_contribute() && p.archived_at.is_none(),
            journey_form,
            metrics,
            ops,
            health,
            p,
        },
    )
}

#[derive(Deserialize, Default)]
pub struct ShowParams {
    moved: Option<String>,
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    Query(params): Query<ShowParams>,
) -> Result<Response, PageError> {
    let notice = params
        .moved
        .as_deref()
        .and_then(|m| m.parse::<Stage>().ok())
        .map(|st| format!("Moved to {}.", st.label()))
        .unwrap_or_default();
    detail_page(
        &s,
        &who,
        PartnershipId(id),
        StatusCode::OK,
        notice,
        String::new(),
    )
    .await
}

pub async fn transition(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let to = match form.get("to").parse::<Stage>() {
        Ok(to) => to,
        Err(e) => {
            return detail_page(
                &s,
                &who,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                e.to_string(),
            )
            .await
        }
    };
    match s
        .store
        .transition_partnership(&who.actor(), id, to, form.get("note"))
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/partnerships/{id}?moved={}",
            to.as_str()
        ))),
        Err(StoreError::NotFound { .. }) => Err(PageError::NotFound),
        Err(
            e @ (StoreError::IllegalTransition(_)
            | StoreError::Archived { .. }
            | StoreError::Conflict { .. }
            | StoreError::Refused { .. }
            | StoreError::Forbidden(_)
            | StoreError::Validation(_)),
        ) => {
            let status = match e {
                StoreError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
                StoreError::Forbidden(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::CONFLICT,
            };
            let message = match &e {
                StoreError::Conflict { message, .. } | StoreError::Refused { message, .. } => {
                    message.clone()
                }
                other => other.to_string(),
            };
            let message = message
                .strip_prefix("invalid input: ")
                .unwrap_or(&message)
                .to_string();
            detail_page(&s, &who, id, status, String::new(), capitalize(&message)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn archive(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
) -> Result<Response, PageError> {
    let p = s
        .store
        .archive_partnership(&who.actor(), PartnershipId(id))
        .await?;
    Ok(see_other(&format!("/partnerships/{}", p.id)))
}

/// A form's values as typed.
#[derive(Default)]
struct Values {
    name: String,
    purpose: String,
    partnership_type: String,
    parties: Vec<(String, String)>,
}

impl Values {
    fn from_form(f: &Form) -> Self {
        Values {
            name: f.get("name").into(),
            purpose: f.get("purpose").into(),
            partnership_type: f.get("type").into(),
            parties: (0..PARTY_SLOTS)
                .map(|i| {
                    (
                        f.get(&format!("party_org_{i}")).to_string(),
                        f.get(&format!("party_role_{i}")).to_string(),
                    )
                })
                .collect(),
        }
    }

    fn from_partnership(p: &Partnership) -> Self {
        Values {
            name: p.name.clone(),
            purpose: p.purpose.clone(),
            partnership_type: p.partnership_type.as_str().into(),
            parties: p
                .parties
                .iter()
                .map(|x| (x.organization_id.to_string(), x.role.clone()))
                .collect(),
        }
    }

    /// The typed input. Blank party rows are skipped; `slot_of[i]` is the form row of party `i`,
    /// so errors land on the row the person filled in.
    fn to_input(&self) -> (Option<PartnershipInput>, Vec<usize>, ValidationErrors) {
        let mut e = ValidationErrors::new();
        let ptype = self.partnership_type.parse::<PartnershipType>().ok();
        if ptype.is_none() {
            e.add("type", "required", "choose the type of partnership");
        }
        let mut parties = Vec::new();
        let mut slot_of = Vec::new();
        for (i, (org, role)) in self.parties.iter().enumerate() {
            if org.trim().is_empty() && role.trim().is_empty() {
                continue;
            }
            match org.trim().parse::<i64>() {
                Ok(id) => {
                    parties.push(PartyInput {
                        organization_id: OrgId(id),
                        role: role.clone(),
                    });
                    slot_of.push(i);
                }
                Err(_) => e.add(
                    format!("slot{i}.organization_id"),
                    "required",
                    "choose an organization",
                ),
            }
        }
        let input = ptype.map(|t| PartnershipInput {
            name: self.name.clone(),
            purpose: self.purpose.clone(),
            partnership_type: t,
            parties,
        });
        (input, slot_of, e)
    }

    fn sections(&self, e: &ValidationErrors, orgs: &[(OrgId, String)]) -> Vec<Section> {
        let mut party_fields = Vec::new();
        for i in 0..PARTY_SLOTS {
            let (org, role) = self.parties.get(i).cloned().unwrap_or_default();
            let mut options = vec![Opt::new(
                "",
                if i < 2 { "Choose…" } else { "(none)" },
                org.is_empty(),
            )];
            options.extend(
                orgs.iter().map(|(id, name)| {
                    Opt::new(id.to_string(), name.clone(), id.to_string() == org)
                }),
            );
            let mut f = Field::select(
                &format!("party_org_{i}"),
                &format!("Party {}", i + 1),
                options,
            )
            .error_from(e, &[&format!("slot{i}.organization_id")]);
            if i < 2 {
                f = f.required();
            }
            if i == 0 {
                f = f.error_from(e, &["parties"]);
            }
            party_fields.push(f);
            let mut r = Field::text(
                &format!("party_role_{i}"),
                &format!("Role of party {}", i + 1),
                role,
            )
            .hint(if i == 0 {
                "e.g. health system, revenue-cycle vendor"
            } else {
                ""
            })
            .error_from(e, &[&format!("slot{i}.role")]);
            if i < 2 {
                r = r.required();
            }
            party_fields.push(r);
        }
        vec![
            Section::new(
                "Partnership",
                "",
                vec![
                    Field::text("name", "Name", self.name.clone())
                        .required()
                        .width("full")
                        .error_from(e, &["name"]),
                    Field::select("type", "Type", {
                        let mut o = vec![Opt::new("", "Choose…", self.partnership_type.is_empty())];
                        o.extend(PartnershipType::ALL.iter().map(|t| {
                            Opt::new(
                                t.as_str(),
                                format!("{} — {}", t.label(), t.description()),
                                t.as_str() == self.partnership_type,
                            )
                        }));
                        o
                    })
                    .required()
                    .width("full")
                    .error_from(e, &["type"]),
                    Field::textarea("purpose", "Purpose", self.purpose.clone())
                        .hint("What the partnership is for, in a few sentences.")
                        .error_from(e, &["purpose"]),
                ],
            ),
            Section::new(
                "Parties",
                "Two or more organizations, each with its role. Leave extra rows blank.",
                party_fields,
            ),
        ]
    }
}

/// Moves `parties[i].x` errors to the form row the party came from (`slotN.x`).
fn to_slots(errors: ValidationErrors, slot_of: &[usize]) -> ValidationErrors {
    let mut out = ValidationErrors::new();
    for fe in errors.into_errors() {
        let field = match fe
            .field
            .strip_prefix("parties[")
            .and_then(|r| r.split_once(']'))
        {
            Some((i, rest)) => match i.parse::<usize>().ok().and_then(|i| slot_of.get(i)) {
                Some(slot) => format!("slot{slot}{rest}"),
                None => fe.field.clone(),
            },
            None => fe.field.clone(),
        };
        out.add(field, fe.code, fe.message);
    }
    out
}

fn field_label(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("slot") {
        let n = rest
            .chars()
            .next()
            .and_then(|c| c.to_digit(10))
            .unwrap_or(0)
            + 1;
        return if rest.ends_with("role") {
            format!("Role of party {n}")
        } else {
            format!("Party {n}")
        };
    }
    match field {
        "name" => "Name".into(),
        "type" => "Type".into(),
        "purpose" => "Purpose".into(),
        "parties" => "Parties".into(),
        other => other.into(),
    }
}

#[derive(Template)]
#[template(path = "partnership_form.html")]
struct FormPage {
    active: &'static str,
    chrome: Chrome,
    heading: String,
    action: String,
    submit_label: &'static str,
    cancel_href: String,
    summary: Vec<String>,
    sections: Vec<Section>,
}

#[derive(Deserialize, Default)]
pub struct NewParams {
    party: Option<i64>,
}

/// Which partnership form: a new one, or editing an existing one (id, current name).
enum Mode {
    New,
    Edit(PartnershipId, String),
}

/// Renders the partnership form for `mode` with `values` and any `errors`.
async fn form_page(
    s: &AppState,
    who: &Principal,
    status: StatusCode,
    mode: &Mode,
    values: &Values,
    errors: &ValidationErrors,
) -> Result<Response, PageError> {
    let orgs = s.store.organization_choices().await?;
    let (heading, action, submit_label, cancel_href) = match mode {
        Mode::New => (
            "New partnership".to_string(),
            "/partnerships".to_string(),
            "Create partnership",
            "/partnerships".to_string(),
        ),
        Mode::Edit(id, name) => (
            format!("Edit {name}"),
            format!("/partnerships/{id}"),
            "Save changes",
            format!("/partnerships/{id}"),
        ),
    };
    render(
        status,
        &FormPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            heading,
            action,
            submit_label,
            cancel_href,
            summary: summary(errors, field_label),
            sections: values.sections(errors, &orgs),
        },
    )
}

pub async fn new_form(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    Query(params): Query<NewParams>,
) -> Result<Response, PageError> {
    let mut values = Values::default();
    if let Some(p) = params.party {
        values.parties.push((p.to_string(), String::new()));
    }
    form_page(
        &s,
        &who,
        StatusCode::OK,
        &Mode::New,
        &values,
        &ValidationErrors::new(),
    )
    .await
}

async fn save(
    s: &AppState,
    who: &Principal,
    existing: Option<PartnershipId>,
    form: &Form,
) -> Result<Result<PartnershipId, (Values, ValidationErrors)>, PageError> {
    let values = Values::from_form(form);
    let (input, slot_of, mut errors) = values.to_input();
    if let Some(input) = input {
        if !errors.is_empty() {
            if let Err(v) = input.validate() {
                errors.extend_prefixed("", to_slots(v, &slot_of));
            }
        } else {
            let result = match existing {
                None => s.store.create_partnership(&who.actor(), &input).await,
                Some(id) => s.store.update_partnership(&who.actor(), id, &input).await,
            };
            match result {
                Ok(p) => return Ok(Ok(p.id)),
                Err(e) => errors = to_slots(form_errors(e)?, &slot_of),
            }
        }
    }
    Ok(Err((values, errors)))
}

pub async fn create(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    form: Form,
) -> Result<Response, PageError> {
    match save(&s, &who, None, &form).await? {
        Ok(id) => Ok(see_other(&format!("/partnerships/{id}"))),
        Err((values, errors)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            form_page(&s, &who, status, &Mode::New, &values, &errors).await
        }
    }
}

pub async fn edit_form(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
) -> Result<Response, PageError> {
    let p = s
        .store
        .get_partnership(&who.actor(), PartnershipId(id))
        .await?;
    let mode = Mode::Edit(p.id, p.name.clone());
    let values = Values::from_partnership(&p);
    form_page(
        &s,
        &who,
        StatusCode::OK,
        &mode,
        &values,
        &ValidationErrors::new(),
    )
    .await
}

pub async fn update(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let current = s.store.get_partnership(&who.actor(), id).await?;
    match save(&s, &who, Some(id), &form).await? {
        Ok(id) => Ok(see_other(&format!("/partnerships/{id}"))),
        Err((values, errors)) => {
            let mode = Mode::Edit(id, current.name);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            form_page(&s, &who, status, &mode, &values, &errors).await
        }
    }
}

pub async fn add_note(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let input = concord_domain::note::NoteInput {
        body: form.get("body").to_string(),
    };
    match s.store.create_note(&who.actor(), id, &input).await {
        Ok(_) => Ok(see_other(&format!("/partnerships/{id}#notes"))),
        Err(StoreError::Validation(e)) => {
            let message = e
                .errors()
                .first()
                .map(|f| format!("Note: {}", f.message))
                .unwrap_or_default();
            detail_page(
                &s,
                &who,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                message,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
