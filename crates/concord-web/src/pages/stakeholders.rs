//! The stakeholder roster as a page: both parties' people side by side, continuity alerts on top
//! with their re-education tasks, and the forms to add a person, record a departure and name a
//! successor. Every handler calls the same store method as the JSON API (`api::stakeholders`);
//! a refused form is rendered again with each error next to its input.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;

use concord_domain::health::stakeholder::{
    DepartureInput, Roster, Stakeholder, StakeholderInput, SuccessorInput, TaskStatus,
};
use concord_domain::health::{Level, StakeholderRole, StakeholderStatus};
use concord_domain::partnership::Partnership;
use concord_domain::{OrgId, PartnershipId};
use concord_storage::StoreError;

use super::journeys::PageIds;
use super::operations::{day, party_name, refusal, Input};
use super::{capitalize, render, see_other, Chrome, Opt, PageError, PageId};
use crate::api::ledger::today;
use crate::auth::{PageAuth, Principal};
use crate::extract::Form;
use crate::AppState;

const VIEWERS_READ: &str =
    "Viewers read the roster; contributors, alliance managers and admins of a party keep its people up to date.";

/// An input of `ops_field.html` with its own id (the roster repeats names per person), outside
/// the form grid unless given a width.
fn input(id: &str, name: &str, label: &str, kind: &'static str, value: String) -> Input {
    Input::new(name, label, kind, value).id(id.into()).width("")
}

fn select(id: &str, name: &str, label: &str, options: Vec<Opt>) -> Input {
    Input::select(name, label, options).id(id.into()).width("")
}

/// Which form was refused, what it held, and the errors by input name.
#[derive(Default)]
struct Refused {
    /// `add`, `depart-{id}` or `successor-{id}`.
    target: String,
    values: Vec<(String, String)>,
    errors: Vec<(String, String)>,
}

impl Refused {
    fn new(target: String, form: &Form, names: &[&str]) -> Self {
        Refused {
            target,
            values: names
                .iter()
                .map(|n| (n.to_string(), form.get(n).to_string()))
                .collect(),
            errors: Vec::new(),
        }
    }

    fn add(&mut self, name: &str, message: impl Into<String>) {
        self.errors.push((name.to_string(), message.into()));
    }

    fn value(&self, target: &str, name: &str) -> Option<String> {
        (self.target == target)
            .then(|| {
                self.values
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            })
            .flatten()
    }

    fn error(&self, target: &str, name: &str) -> String {
        if self.target != target {
            return String::new();
        }
        self.errors
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn level_options(selected: &str) -> Vec<Opt> {
    Level::ALL
        .iter()
        .map(|l| Opt::new(l.as_str(), l.label(), l.as_str() == selected))
        .collect()
}

struct TaskView {
    id: i64,
    topic: String,
    what: String,
    done: bool,
    done_text: String,
}

struct AlertView {
    id: i64,
    role: &'static str,
    name: String,
    org: String,
    departed: String,
    successor: String,
    open_tasks: usize,
    days: i64,
    tasks: Vec<TaskView>,
    /// A member (contributor+) of the person's organization: may mark tasks done.
    can_act: bool,
}

/// A 3×3 influence (rows, high first) × engagement (columns, low first) grid.
struct GridCell {
    on: bool,
}

struct PersonView {
    id: i64,
    name: String,
    title: String,
    email: String,
    role: &'static str,
    key: bool,
    influence: &'static str,
    engagement: &'static str,
    grid: Vec<Vec<GridCell>>,
    active: bool,
    departed: String,
    successor: String,
    briefed: String,
    can_depart: bool,
    depart_input: Input,
    can_name_successor: bool,
    successor_input: Input,
}

struct PartyColumn {
    id: i64,
    name: String,
    people: Vec<PersonView>,
}

struct AddForm {
    organization_id: Input,
    name: Input,
    title: Input,
    email: Input,
    role: Input,
    influence: Input,
    engagement: Input,
}

#[derive(Template)]
#[template(path = "stakeholders.html")]
struct RosterPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    alerts: Vec<AlertView>,
    parties: Vec<PartyColumn>,
    can_write: bool,
    add: AddForm,
    notice: String,
    alert: String,
}

fn grid(influence: Level, engagement: Level) -> Vec<Vec<GridCell>> {
    [Level::High, Level::Medium, Level::Low]
        .iter()
        .map(|i| {
            [Level::Low, Level::Medium, Level::High]
                .iter()
                .map(|e| GridCell {
                    on: *i == influence && *e == engagement,
                })
                .collect()
        })
        .collect()
}

fn person_view(
    s: &Stakeholder,
    roster: &Roster,
    mine: bool,
    refused: &Refused,
    today: NaiveDate,
) -> PersonView {
    let name_of = |id: i64| {
        roster
            .people
            .iter()
            .find(|x| x.id == id)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| format!("person {id}"))
    };
    let dt = format!("depart-{}", s.id);
    let st = format!("successor-{}", s.id);
    let depart_input = input(
        &format!("d{}-departed_on", s.id),
        "departed_on",
        "Departed on",
        "date",
        refused
            .value(&dt, "departed_on")
            .unwrap_or_else(|| today.to_string()),
    )
    .max(today.to_string())
    .error(refused.error(&dt, "departed_on"));
    let chosen = refused.value(&st, "successor_id").unwrap_or_default();
    let mut choices = vec![Opt::new("", "— choose —", chosen.is_empty())];
    choices.extend(
        roster
            .people
            .iter()
            .filter(|x| {
                x.organization_id == s.organization_id
                    && x.status == StakeholderStatus::Active
                    && x.id != s.id
            })
            .map(|x| {
                Opt::new(
                    x.id.to_string(),
                    format!("{} ({})", x.name, x.role.label()),
                    x.id.to_string() == chosen,
                )
            }),
    );
    let successor_input = select(
        &format!("s{}-successor_id", s.id),
        "successor_id",
        "Successor",
        choices,
    )
    .error(refused.error(&st, "successor_id"));
    PersonView {
        id: s.id,
        name: s.name.clone(),
        title: s.title.clone(),
        email: s.email.clone(),
        role: s.role.label(),
        key: s.role.is_key(),
        influence: s.influence.label(),
        engagement: s.engagement.label(),
        grid: grid(s.influence, s.engagement),
        active: s.status == StakeholderStatus::Active,
        departed: s.departed_on.map(day).unwrap_or_default(),
        successor: s.successor_id.map(name_of).unwrap_or_default(),
        briefed: s.briefed_on.map(day).unwrap_or_default(),
        can_depart: mine && s.status == StakeholderStatus::Active,
        depart_input,
        can_name_successor: mine
            && s.status == StakeholderStatus::Departed
            && s.briefed_on.is_none(),
        successor_input,
    }
}

#[allow(clippy::too_many_arguments)]
async fn roster_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    status: StatusCode,
    notice: String,
    alert: String,
    refused: Refused,
) -> Result<Response, PageError> {
    let actor = who.actor();
    let day_now = today();
    let (p, roster) = s.store.stakeholders(&actor, id, day_now).await?;
    let can_write = who.acting.role.can_contribute() && p.archived_at.is_none();
    let mine = |org: OrgId| can_write && org == who.acting.org_id;
    let alerts = roster
        .alerts
        .iter()
        .map(|a| AlertView {
            id: a.stakeholder_id,
            role: a.role.label(),
            name: a.name.clone(),
            org: party_name(&p, a.organization_id),
            departed: day(a.departed_on),
            successor: a
                .successor
                .as_ref()
                .map(|x| x.name.clone())
                .unwrap_or_else(|| "none".into()),
            open_tasks: a.open_tasks,
            days: a.days_since_departure,
            tasks: roster
                .tasks
                .iter()
                .filter(|t| t.stakeholder_id == a.stakeholder_id)
                .map(|t| TaskView {
                    id: t.id,
                    topic: t.topic.clone(),
                    what: t.what.clone(),
                    done: t.status == TaskStatus::Done,
                    done_text: if t.status == TaskStatus::Done {
                        format!(
                            "Done{}{}",
                            if t.done_by.is_empty() { "" } else { " by " },
                            t.done_by
                        )
                    } else {
                        String::new()
                    },
                })
                .collect(),
            can_act: mine(a.organization_id),
        })
        .collect();
    let parties = p
        .parties
        .iter()
        .map(|party| PartyColumn {
            id: party.organization_id.0,
            name: party.organization_name.clone(),
            people: roster
                .people
                .iter()
                .filter(|x| x.organization_id == party.organization_id)
                .map(|x| person_view(x, &roster, mine(party.organization_id), &refused, day_now))
                .collect(),
        })
        .collect();
    let val = |name: &str, default: &str| {
        refused
            .value("add", name)
            .unwrap_or_else(|| default.to_string())
    };
    let org_value = val("organization_id", &who.acting.org_id.to_string());
    let role_value = val("role", StakeholderRole::Champion.as_str());
    let add = AddForm {
        organization_id: select(
            "add-organization_id",
            "organization_id",
            "Organization",
            p.parties
                .iter()
                .map(|x| {
                    Opt::new(
                        x.organization_id.to_string(),
                        x.organization_name.clone(),
                        x.organization_id.to_string() == org_value,
                    )
                })
                .collect(),
        )
        .width("half")
        .hint("Each party keeps its own people.")
        .error(refused.error("add", "organization_id")),
        name: input("add-name", "name", "Name", "text", val("name", ""))
            .width("half")
            .error(refused.error("add", "name")),
        title: input("add-title", "title", "Title", "text", val("title", ""))
            .width("half")
            .error(refused.error("add", "title")),
        email: input("add-email", "email", "E-mail", "email", val("email", ""))
            .width("half")
            .error(refused.error("add", "email")),
        role: select(
            "add-role",
            "role",
            "Role in the partnership",
            StakeholderRole::ALL
                .iter()
                .map(|r| Opt::new(r.as_str(), r.label(), r.as_str() == role_value))
                .collect(),
        )
        .width("third")
        .hint("Sponsors, champions and alliance managers are key: their departure raises a continuity alert.")
        .error(refused.error("add", "role")),
        influence: select(
            "add-influence",
            "influence",
            "Influence",
            level_options(&val("influence", "medium")),
        )
        .width("third")
        .error(refused.error("add", "influence")),
        engagement: select(
            "add-engagement",
            "engagement",
            "Engagement",
            level_options(&val("engagement", "medium")),
        )
        .width("third")
        .error(refused.error("add", "engagement")),
    };
    render(
        status,
        &RosterPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            alerts,
            parties,
            can_write,
            add,
            notice,
            alert,
            p,
        },
    )
}

#[derive(Deserialize, Default)]
pub struct DoneParams {
    done: Option<String>,
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    Query(params): Query<DoneParams>,
) -> Result<Response, PageError> {
    let notice = match params.done.as_deref() {
        Some("added") => "Added to the roster.",
        Some("departed") => "Departure recorded.",
        Some("successor") => "Successor named.",
        Some("task") => "Task marked done.",
        _ => "",
    };
    roster_page(
        &s,
        &who,
        PartnershipId(id),
        StatusCode::OK,
        notice.into(),
        String::new(),
        Refused::default(),
    )
    .await
}

/// Gets the partnership (404 for outsiders) and refuses viewers (403) before anything else.
async fn writer(s: &AppState, who: &Principal, id: PartnershipId) -> Result<(), PageError> {
    s.store.get_partnership(&who.actor(), id).await?;
    if who.acting.role.can_contribute() {
        Ok(())
    } else {
        Err(PageError::Refused(
            StatusCode::FORBIDDEN,
            VIEWERS_READ.into(),
        ))
    }
}

pub async fn add(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    writer(&s, &who, id).await?;
    let mut refused = Refused::new(
        "add".into(),
        &form,
        &[
            "organization_id",
            "name",
            "title",
            "email",
            "role",
            "influence",
            "engagement",
        ],
    );
    let org = form.get("organization_id").trim().parse::<i64>();
    if org.is_err() {
        refused.add("organization_id", "Choose the person's organization.");
    }
    let role = form.get("role").trim().parse::<StakeholderRole>();
    if role.is_err() {
        refused.add("role", "Choose a role.");
    }
    let influence = form.get("influence").trim().parse::<Level>();
    if influence.is_err() {
        refused.add("influence", "Choose low, medium or high.");
    }
    let engagement = form.get("engagement").trim().parse::<Level>();
    if engagement.is_err() {
        refused.add("engagement", "Choose low, medium or high.");
    }
    let (Ok(org), Ok(role), Ok(influence), Ok(engagement)) = (org, role, influence, engagement)
    else {
        return roster_page(
            &s,
            &who,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
            String::new(),
            refused,
        )
        .await;
    };
    let input = StakeholderInput {
        organization_id: OrgId(org),
        name: form.get("name").to_string(),
        title: form.get("title").to_string(),
        email: form.get("email").to_string(),
        role,
        influence,
        engagement,
    };
    let status = match s.store.add_stakeholder(&who.actor(), id, &input).await {
        Ok(st) => {
            return Ok(see_other(&format!(
                "/partnerships/{id}/stakeholders?done=added#person-{}",
                st.id
            )))
        }
        Err(StoreError::Validation(v)) => {
            for e in v.errors() {
                refused.add(&e.field, capitalize(&e.message));
            }
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(StoreError::Forbidden(m)) => {
            refused.add("organization_id", capitalize(&m));
            StatusCode::FORBIDDEN
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            return roster_page(
                &s,
                &who,
                id,
                status,
                String::new(),
                message,
                Refused::default(),
            )
            .await;
        }
    };
    roster_page(&s, &who, id, status, String::new(), String::new(), refused).await
}

pub async fn depart(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, stakeholder): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    writer(&s, &who, id).await?;
    let mut refused = Refused::new(format!("depart-{stakeholder}"), &form, &["departed_on"]);
    let Ok(on) = NaiveDate::parse_from_str(form.get("departed_on").trim(), "%Y-%m-%d") else {
        refused.add("departed_on", "Enter the day they left, as a date.");
        return roster_page(
            &s,
            &who,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
            String::new(),
            refused,
        )
        .await;
    };
    let input = DepartureInput { departed_on: on };
    match s
        .store
        .depart_stakeholder(&who.actor(), id, stakeholder, &input, today())
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/partnerships/{id}/stakeholders?done=departed#person-{stakeholder}"
        ))),
        Err(StoreError::Validation(v)) => {
            for e in v.errors() {
                refused.add(&e.field, capitalize(&e.message));
            }
            roster_page(
                &s,
                &who,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                String::new(),
                refused,
            )
            .await
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            roster_page(&s, &who, id, status, String::new(), message, refused).await
        }
    }
}

pub async fn successor(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, stakeholder): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    writer(&s, &who, id).await?;
    let mut refused = Refused::new(format!("successor-{stakeholder}"), &form, &["successor_id"]);
    let Ok(successor_id) = form.get("successor_id").trim().parse::<i64>() else {
        refused.add("successor_id", "Choose the successor.");
        return roster_page(
            &s,
            &who,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
            String::new(),
            refused,
        )
        .await;
    };
    match s
        .store
        .name_successor(
            &who.actor(),
            id,
            stakeholder,
            &SuccessorInput { successor_id },
            today(),
        )
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/partnerships/{id}/stakeholders?done=successor#person-{stakeholder}"
        ))),
        Err(StoreError::Validation(v)) => {
            for e in v.errors() {
                refused.add(&e.field, capitalize(&e.message));
            }
            roster_page(
                &s,
                &who,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                String::new(),
                refused,
            )
            .await
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            roster_page(&s, &who, id, status, String::new(), message, refused).await
        }
    }
}

pub async fn complete_task(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, task): PageIds,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    writer(&s, &who, id).await?;
    match s.store.complete_task(&who.actor(), id, task, today()).await {
        Ok(t) => Ok(see_other(&format!(
            "/partnerships/{id}/stakeholders?done=task#alert-{}",
            t.stakeholder_id
        ))),
        Err(e) => {
            let (status, message) = refusal(e)?;
            roster_page(
                &s,
                &who,
                id,
                status,
                String::new(),
                message,
                Refused::default(),
            )
            .await
        }
    }
}
