//! Running the partnership, as pages: the charter's commitments as they are kept, the meeting
//! log with its action items and cadence adherence, and the scheduled reviews with their packet
//! (printable for a board), decision and signatures.
//!
//! Every handler calls the same store method as the JSON API (`api::operations`). A refused form
//! is rendered again with each domain error next to the input that holds the field
//! (`actions[1].due_on` → the due date of the second filled action row); a refusal that is not
//! about a field (`review_open`, `no_decision`, `already_signed`) is an alert on the page.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;

use concord_domain::attainment::{MetricAttainment, Trend};
use concord_domain::charter::CommitmentStatus;
use concord_domain::meeting::{
    ActionInput, ActionItem, ActionStatus, ActionUpdate, Adherence, Attendee, Meeting,
    MeetingInput, MeetingKind,
};
use concord_domain::partnership::Partnership;
use concord_domain::review::{
    CommitmentState, CommitmentUpdate, DecisionInput, OpenReviewInput, Review, ReviewDecision,
    ReviewStatus,
};
use concord_domain::{OrgId, PartnershipId, ValidationErrors};
use concord_storage::StoreError;

use super::journeys::PageIds;
use super::{capitalize, human_time, render, see_other, Chrome, Opt, PageError, PageId};
use crate::api::ledger::today;
use crate::auth::{PageAuth, Principal};
use crate::extract::Form;
use crate::AppState;

/// Action rows offered on the meeting form.
const ACTION_ROWS: usize = 5;
/// Below this share of the expected steering meetings, the cadence card warns.
const CADENCE_WARN_BELOW: f64 = 0.75;

const VIEWERS_READ: &str =
    "Viewers read commitments and meetings; contributors, alliance managers and admins record them.";
const MANAGERS_ONLY: &str =
    "Only alliance managers and admins open reviews, record their decision and sign it.";

// ---------------------------------------------------------------- shared helpers

fn small_id(n: i64) -> Result<u32, PageError> {
    u32::try_from(n).map_err(|_| PageError::NotFound)
}

/// A day as people read it: "31 Mar 2026".
pub(super) fn day(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

fn opt_day(d: Option<NaiveDate>) -> String {
    d.map(day).unwrap_or_default()
}

/// A number without noise: whole numbers without decimals, others with at most two.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A share as a whole percentage: "83%".
fn pct(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

fn days_word(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

pub(super) fn party_name(p: &Partnership, org: OrgId) -> String {
    p.parties
        .iter()
        .find(|x| x.organization_id == org)
        .map(|x| x.organization_name.clone())
        .unwrap_or_else(|| format!("organization {org}"))
}

fn parties_text(p: &Partnership) -> String {
    let names: Vec<&str> = p
        .parties
        .iter()
        .map(|x| x.organization_name.as_str())
        .collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

pub(super) fn forbid_unless(ok: bool, message: &str) -> Result<(), PageError> {
    if ok {
        Ok(())
    } else {
        Err(PageError::Refused(StatusCode::FORBIDDEN, message.into()))
    }
}

/// A refusal that is not about one input, as the status and the alert to show; anything else is
/// an error page.
pub(super) fn refusal(e: StoreError) -> Result<(StatusCode, String), PageError> {
    match e {
        StoreError::Conflict { message, .. } | StoreError::Refused { message, .. } => {
            Ok((StatusCode::CONFLICT, capitalize(&message)))
        }
        e @ StoreError::Archived { .. } => Ok((StatusCode::CONFLICT, capitalize(&e.to_string()))),
        StoreError::Validation(v) => Ok((StatusCode::UNPROCESSABLE_ENTITY, v.to_string())),
        other => Err(other.into()),
    }
}

/// The first `[n]` of a domain field path under `head` (`actions[1].due_on` → (1, "due_on")).
fn indexed<'f>(field: &'f str, head: &str) -> Option<(usize, &'f str)> {
    let rest = field.strip_prefix(head)?.strip_prefix('[')?;
    let (index, tail) = rest.split_once(']')?;
    Some((index.parse().ok()?, tail.trim_start_matches('.')))
}

/// Errors by input name, plus those no input shows.
#[derive(Default)]
struct Errors {
    by_name: Vec<(String, String)>,
    general: Vec<String>,
}

impl Errors {
    fn add(&mut self, name: impl Into<String>, message: impl Into<String>) {
        self.by_name.push((name.into(), message.into()));
    }

    fn get(&self, name: &str) -> String {
        self.by_name
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn has(&self, name: &str) -> bool {
        self.by_name.iter().any(|(n, _)| n == name)
    }

    fn is_empty(&self) -> bool {
        self.by_name.is_empty() && self.general.is_empty()
    }
}

/// One labelled input. `id` is unique on the page (the inline forms of a list share names).
pub struct Input {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) label: String,
    /// `text`, `date`, `textarea` or `select`.
    pub(super) kind: &'static str,
    pub(super) value: String,
    pub(super) options: Vec<Opt>,
    pub(super) error: String,
    pub(super) hint: String,
    /// `full`, `half`, `third` or `sixth` of the form's grid row (empty: no grid).
    pub(super) width: &'static str,
    /// The label is read by screen readers only (inputs in a table row).
    pub(super) compact: bool,
    pub(super) rows: u32,
    pub(super) max: String,
}

impl Input {
    pub(super) fn new(
        name: &str,
        label: &str,
        kind: &'static str,
        value: impl Into<String>,
    ) -> Self {
        Input {
            id: name.to_string(),
            name: name.to_string(),
            label: label.to_string(),
            kind,
            value: value.into(),
            options: Vec::new(),
            error: String::new(),
            hint: String::new(),
            width: "full",
            compact: false,
            rows: 3,
            max: String::new(),
        }
    }

    pub(super) fn select(name: &str, label: &str, options: Vec<Opt>) -> Self {
        Input {
            options,
            ..Input::new(name, label, "select", "")
        }
    }

    pub(super) fn id(mut self, id: String) -> Self {
        self.id = id;
        self
    }

    pub(super) fn hint(mut self, hint: &str) -> Self {
        self.hint = hint.into();
        self
    }

    pub(super) fn width(mut self, width: &'static str) -> Self {
        self.width = width;
        self
    }

    pub(super) fn compact(mut self) -> Self {
        self.compact = true;
        self
    }

    pub(super) fn rows(mut self, rows: u32) -> Self {
        self.rows = rows;
        self
    }

    pub(super) fn max(mut self, max: String) -> Self {
        self.max = max;
        self
    }

    pub(super) fn error(mut self, error: String) -> Self {
        self.error = error;
        self
    }
}

/// The options of a closed set, with `selected` chosen.
fn options<T: Copy>(
    all: &[T],
    wire: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    selected: &str,
) -> Vec<Opt> {
    all.iter()
        .map(|v| Opt::new(wire(*v), label(*v), wire(*v) == selected))
        .collect()
}

/// What a row's inline form held when it was refused.
struct RowState {
    id: i64,
    status: String,
    note: String,
    errors: Errors,
}

#[derive(Deserialize, Default)]
pub struct DoneParams {
    done: Option<String>,
}

// ---------------------------------------------------------------- commitments

struct CommitmentRow {
    id: u32,
    party: String,
    what: String,
    due: String,
    status: &'static str,
    status_label: &'static str,
    late: bool,
    late_text: String,
    report: String,
    report_note: String,
    can_report: bool,
    status_input: Input,
    note_input: Input,
    row_error: String,
}

fn commitment_row(
    p: &Partnership,
    c: &CommitmentState,
    can_report: bool,
    state: Option<&RowState>,
) -> CommitmentRow {
    let state = state.filter(|s| s.id == i64::from(c.id));
    let default_status = match c.status {
        CommitmentStatus::Open | CommitmentStatus::Late => "done",
        _ => "open",
    };
    let status_value = state.map(|s| s.status.as_str()).unwrap_or(default_status);
    let reportable = [
        CommitmentStatus::Open,
        CommitmentStatus::Done,
        CommitmentStatus::Dropped,
    ];
    let status_input = Input::select(
        "status",
        "New status",
        options(
            &reportable,
            CommitmentStatus::as_str,
            CommitmentStatus::label,
            status_value,
        ),
    )
    .id(format!("c{}-status", c.id))
    .width("")
    .error(state.map(|s| s.errors.get("status")).unwrap_or_default());
    let note_input = Input::new(
        "note",
        "Note",
        "text",
        state.map(|s| s.note.clone()).unwrap_or_default(),
    )
    .id(format!("c{}-note", c.id))
    .width("")
    .hint("Required when dropped.")
    .error(state.map(|s| s.errors.get("note")).unwrap_or_default());
    CommitmentRow {
        id: c.id,
        party: party_name(p, c.party),
        what: c.what.clone(),
        due: day(c.due_on),
        status: c.status.as_str(),
        status_label: c.status.label(),
        late: c.late,
        late_text: c
            .days_late
            .map(|d| format!("late — {}", days_word(d)))
            .unwrap_or_default(),
        report: c
            .last_report
            .as_ref()
            .map(|r| {
                format!(
                    "{} · {} · {}",
                    r.status.label(),
                    r.reported_by,
                    human_time(r.reported_at)
                )
            })
            .unwrap_or_default(),
        report_note: c
            .last_report
            .as_ref()
            .map(|r| r.note.clone())
            .unwrap_or_default(),
        can_report,
        status_input,
        note_input,
        row_error: state
            .map(|s| s.errors.general.join(" "))
            .unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "ops_commitments.html")]
struct CommitmentsPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    has_charter: bool,
    rows: Vec<CommitmentRow>,
    any_form: bool,
    total: usize,
    late: usize,
    done: usize,
    notice: String,
    alert: String,
}

async fn commitments_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    status: StatusCode,
    notice: String,
    mut alert: String,
    state: Option<RowState>,
) -> Result<Response, PageError> {
    let actor = who.actor();
    let p = s.store.get_partnership(&actor, id).await?;
    let list = s.store.commitments(&actor, id, today()).await?;
    let has_charter = if list.is_empty() {
        s.store.effective_charter(id).await?.is_some()
    } else {
        true
    };
    let contributor = who.acting.role.can_contribute() && p.archived_at.is_none();
    let rows: Vec<CommitmentRow> = list
        .iter()
        .map(|c| {
            commitment_row(
                &p,
                c,
                contributor && c.party == who.acting.org_id,
                state.as_ref(),
            )
        })
        .collect();
    // A refusal for a row without a form (another party's commitment) shows at the top.
    if let Some(st) = &state {
        if !rows
            .iter()
            .any(|r| i64::from(r.id) == st.id && r.can_report)
            && !st.errors.is_empty()
        {
            let mut all: Vec<String> = st.errors.by_name.iter().map(|(_, m)| m.clone()).collect();
            all.extend(st.errors.general.iter().cloned());
            if alert.is_empty() {
                alert = all.join(" ");
            }
        }
    }
    render(
        status,
        &CommitmentsPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            has_charter,
            any_form: rows.iter().any(|r| r.can_report),
            total: list.len(),
            late: list.iter().filter(|c| c.late).count(),
            done: list
                .iter()
                .filter(|c| c.status == CommitmentStatus::Done)
                .count(),
            rows,
            notice,
            alert,
            p,
        },
    )
}

pub async fn commitments(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    Query(params): Query<DoneParams>,
) -> Result<Response, PageError> {
    let notice = match params.done.as_deref() {
        Some("reported") => "Report recorded.",
        _ => "",
    };
    commitments_page(
        &s,
        &who,
        PartnershipId(id),
        StatusCode::OK,
        notice.into(),
        String::new(),
        None,
    )
    .await
}

pub async fn report_commitment(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, commitment): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let cid = small_id(commitment)?;
    let actor = who.actor();
    let p = s.store.get_partnership(&actor, id).await?;
    forbid_unless(who.acting.role.can_contribute(), VIEWERS_READ)?;
    let mut row = RowState {
        id: i64::from(cid),
        status: form.get("status").trim().to_string(),
        note: form.get("note").to_string(),
        errors: Errors::default(),
    };
    let status = match row.status.parse::<CommitmentStatus>() {
        Ok(st) if st != CommitmentStatus::Late => st,
        _ => {
            row.errors.add(
                "status",
                "Choose open, done or dropped (late is worked out from the due date).",
            );
            return commitments_page(
                &s,
                &who,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                String::new(),
                Some(row),
            )
            .await;
        }
    };
    let input = CommitmentUpdate {
        status,
        note: row.note.clone(),
    };
    match s
        .store
        .report_commitment(&actor, id, cid, &input, today())
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/partnerships/{id}/commitments?done=reported#commitment-{cid}"
        ))),
        Err(StoreError::Validation(v)) => {
            for e in v.errors() {
                match (e.field.as_str(), e.code.as_str()) {
                    ("status" | "note", _) => {
                        row.errors.add(e.field.clone(), capitalize(&e.message))
                    }
                    (_, "not_your_commitment") => {
                        let owner = s
                            .store
                            .commitments(&actor, id, today())
                            .await?
                            .into_iter()
                            .find(|c| c.id == cid)
                            .map(|c| party_name(&p, c.party))
                            .unwrap_or_else(|| "its party".into());
                        row.errors.general.push(format!(
                            "Only members of {owner} report on this commitment."
                        ));
                    }
                    _ => row.errors.general.push(capitalize(&e.message)),
                }
            }
            commitments_page(
                &s,
                &who,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                String::new(),
                Some(row),
            )
            .await
        }
        Err(e @ StoreError::NotFound { .. }) => Err(e.into()),
        Err(e) => {
            let (status, message) = refusal(e)?;
            commitments_page(&s, &who, id, status, String::new(), message, None).await
        }
    }
}

// ---------------------------------------------------------------- cadence

struct CadenceView {
    cadence: String,
    /// "3 of 4", or "1 held; none expected yet".
    held: String,
    window: String,
    pct: String,
    /// Below 75 % of the expected steering meetings.
    warn: bool,
    last_held: String,
    next_due: String,
    overdue: bool,
    /// What the figures mean (or why there is no percentage).
    note: String,
}

fn cadence_view(a: &Adherence, today: NaiveDate) -> CadenceView {
    let warn = a.ratio.is_some_and(|r| r < CADENCE_WARN_BELOW);
    let note = match (a.cadence, a.ratio) {
        (None, _) => "The charter sets no meeting cadence, so adherence is not measured.".into(),
        (Some(_), None) => {
            "Too little time has passed since the partnership went active to judge the cadence."
                .into()
        }
        (Some(_), Some(_)) if warn => format!(
            "Below {}: the steering group meets less often than the charter asks.",
            pct(CADENCE_WARN_BELOW)
        ),
        (Some(_), Some(_)) => {
            "Steering meetings in the last twelve months against the charter's cadence.".into()
        }
    };
    CadenceView {
        cadence: a
            .cadence
            .map(|c| c.label().to_string())
            .unwrap_or_else(|| "Not set".into()),
        held: if a.expected == 0 {
            format!("{} held; none expected yet", a.held)
        } else {
            format!("{} of {}", a.held, a.expected)
        },
        window: format!("{} – {}", day(a.window_start), day(a.window_end)),
        pct: a.ratio.map(pct).unwrap_or_else(|| "—".into()),
        warn,
        last_held: a.last_held.map(day).unwrap_or_else(|| "never".into()),
        next_due: opt_day(a.next_due),
        overdue: a.next_due.is_some_and(|d| d < today),
        note,
    }
}

// ---------------------------------------------------------------- meetings

struct ActionView {
    id: i64,
    what: String,
    owner: String,
    due: String,
    status: &'static str,
    status_label: &'static str,
    late: bool,
    late_text: String,
    note: String,
    can_update: bool,
    status_input: Input,
    note_input: Input,
    row_error: String,
}

fn action_view(
    p: &Partnership,
    a: &ActionItem,
    today: NaiveDate,
    can_update: bool,
    state: Option<&RowState>,
) -> ActionView {
    let state = state.filter(|s| s.id == a.id);
    let status_value = state.map(|s| s.status.as_str()).unwrap_or("done");
    let owner = if a.owner_name.is_empty() {
        party_name(p, a.owner)
    } else {
        format!("{} · {}", party_name(p, a.owner), a.owner_name)
    };
    ActionView {
        id: a.id,
        what: a.what.clone(),
        owner,
        due: day(a.due_on),
        status: a.status.as_str(),
        status_label: a.status.label(),
        late: a.late,
        late_text: if a.late {
            format!("late — {}", days_word((today - a.due_on).num_days()))
        } else {
            String::new()
        },
        note: a.note.clone(),
        can_update: can_update && a.status == ActionStatus::Open,
        status_input: Input::select(
            "status",
            "Mark as",
            options(
                &[ActionStatus::Done, ActionStatus::Dropped],
                ActionStatus::as_str,
                ActionStatus::label,
                status_value,
            ),
        )
        .id(format!("a{}-status", a.id))
        .width("")
        .error(state.map(|s| s.errors.get("status")).unwrap_or_default()),
        note_input: Input::new(
            "note",
            "Note",
            "text",
            state.map(|s| s.note.clone()).unwrap_or_default(),
        )
        .id(format!("a{}-note", a.id))
        .width("")
        .error(state.map(|s| s.errors.get("note")).unwrap_or_default()),
        row_error: state
            .map(|s| s.errors.general.join(" "))
            .unwrap_or_default(),
    }
}

struct AttendeeGroup {
    party: String,
    names: String,
}

struct MeetingView {
    id: i64,
    date: String,
    kind: &'static str,
    kind_label: &'static str,
    attendees: Vec<AttendeeGroup>,
    notes: String,
    decisions: Vec<String>,
    actions: Vec<ActionView>,
    recorded: String,
}

struct MeetingForm {
    held_on: Input,
    kind: Input,
    attendees: Vec<Input>,
    notes: Input,
    decisions: Input,
    /// Per row: what, owner party, owner name, due.
    actions: Vec<Vec<Input>>,
    general: Vec<String>,
}

fn meeting_form(
    p: &Partnership,
    form: Option<&Form>,
    errors: &Errors,
    today: NaiveDate,
) -> MeetingForm {
    let value = |name: &str, default: String| match form {
        Some(f) => f.get(name).to_string(),
        None => default,
    };
    let with_error = |i: Input| {
        let e = errors.get(&i.name);
        i.error(e)
    };
    let held_on = with_error(
        Input::new(
            "held_on",
            "Held on",
            "date",
            value("held_on", today.to_string()),
        )
        .width("third")
        .max(today.to_string()),
    );
    let kind_value = value("kind", MeetingKind::Steering.as_str().into());
    let kind = with_error(
        Input::select(
            "kind",
            "Kind",
            options(
                MeetingKind::ALL,
                MeetingKind::as_str,
                MeetingKind::label,
                &kind_value,
            ),
        )
        .width("third")
        .hint("Steering meetings count toward the charter's cadence."),
    );
    let attendees = p
        .parties
        .iter()
        .map(|party| {
            let name = format!("attendees_{}", party.organization_id);
            with_error(
                Input::new(
                    &name,
                    &format!("Attendees for {}", party.organization_name),
                    "textarea",
                    value(&name, String::new()),
                )
                .width("half")
                .hint("One name per line; every party attends.")
                .rows(3),
            )
        })
        .collect();
    let notes =
        with_error(Input::new("notes", "Notes", "textarea", value("notes", String::new())).rows(4));
    let decisions = with_error(
        Input::new(
            "decisions",
            "Decisions",
            "textarea",
            value("decisions", String::new()),
        )
        .hint("One decision per line.")
        .rows(3),
    );
    let actions = (0..ACTION_ROWS)
        .map(|i| {
            let n = |k: &str| format!("action_{i}_{k}");
            let row = i + 1;
            let owner_value = value(&n("owner"), String::new());
            let mut owners = vec![Opt::new("", "—", owner_value.is_empty())];
            owners.extend(p.parties.iter().map(|x| {
                Opt::new(
                    x.organization_id.to_string(),
                    x.organization_name.clone(),
                    x.organization_id.to_string() == owner_value,
                )
            }));
            vec![
                with_error(
                    Input::new(
                        &n("what"),
                        &format!("Action {row}: what"),
                        "text",
                        value(&n("what"), String::new()),
                    )
                    .width("")
                    .compact(),
                ),
                with_error(
                    Input::select(&n("owner"), &format!("Action {row}: owner party"), owners)
                        .width("")
                        .compact(),
                ),
                with_error(
                    Input::new(
                        &n("owner_name"),
                        &format!("Action {row}: owner name"),
                        "text",
                        value(&n("owner_name"), String::new()),
                    )
                    .width("")
                    .compact(),
                ),
                with_error(
                    Input::new(
                        &n("due_on"),
                        &format!("Action {row}: due"),
                        "date",
                        value(&n("due_on"), String::new()),
                    )
                    .width("")
                    .compact(),
                ),
            ]
        })
        .collect();
    MeetingForm {
        held_on,
        kind,
        attendees,
        notes,
        decisions,
        actions,
        general: errors.general.clone(),
    }
}

#[derive(Template)]
#[template(path = "ops_meetings.html")]
struct MeetingsPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    cadence: CadenceView,
    meetings: Vec<MeetingView>,
    open_actions: usize,
    can_record: bool,
    form: MeetingForm,
    notice: String,
    alert: String,
}

#[derive(Default)]
struct MeetingsState<'a> {
    form: Option<&'a Form>,
    errors: Errors,
    action: Option<RowState>,
    notice: String,
    alert: String,
}

async fn meetings_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    status: StatusCode,
    state: MeetingsState<'_>,
) -> Result<Response, PageError> {
    let actor = who.actor();
    let p = s.store.get_partnership(&actor, id).await?;
    let now = today();
    let list: Vec<Meeting> = s.store.meetings(&actor, id, now).await?;
    let charter = s.store.effective_charter(id).await?;
    let adherence = s.store.cadence_of(&p, charter.as_ref(), now).await?;
    let writer = who.acting.role.can_contribute() && p.archived_at.is_none();
    let meetings: Vec<MeetingView> = list
        .iter()
        .map(|m| MeetingView {
            id: m.id,
            date: day(m.held_on),
            kind: m.kind.as_str(),
            kind_label: m.kind.label(),
            attendees: p
                .parties
                .iter()
                .map(|party| AttendeeGroup {
                    party: party.organization_name.clone(),
                    names: m
                        .attendees
                        .iter()
                        .filter(|a| a.organization_id == party.organization_id)
                        .map(|a| a.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
                .collect(),
            notes: m.notes.clone(),
            decisions: m.decisions.clone(),
            actions: m
                .actions
                .iter()
                .map(|a| action_view(&p, a, now, writer, state.action.as_ref()))
                .collect(),
            recorded: format!(
                "Recorded by {} · {}",
                m.recorded_by,
                human_time(m.recorded_at)
            ),
        })
        .collect();
    let open_actions = list
        .iter()
        .flat_map(|m| &m.actions)
        .filter(|a| a.status == ActionStatus::Open)
        .count();
    let form = meeting_form(&p, state.form, &state.errors, now);
    render(
        status,
        &MeetingsPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            cadence: cadence_view(&adherence, now),
            meetings,
            open_actions,
            can_record: writer,
            form,
            notice: state.notice,
            alert: state.alert,
            p,
        },
    )
}

pub async fn meetings(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    Query(params): Query<DoneParams>,
) -> Result<Response, PageError> {
    let notice = match params.done.as_deref() {
        Some("recorded") => "Meeting recorded.",
        Some("action") => "Action item updated.",
        _ => "",
    };
    meetings_page(
        &s,
        &who,
        PartnershipId(id),
        StatusCode::OK,
        MeetingsState {
            notice: notice.into(),
            ..MeetingsState::default()
        },
    )
    .await
}

/// The submitted meeting form as the domain's input, with what could not be read by input name.
struct ParsedMeeting {
    input: MeetingInput,
    errors: Errors,
    /// The party each attendee came for, by attendee index.
    attendee_party: Vec<OrgId>,
    /// The form row each action came from, by action index (blank rows are skipped).
    action_rows: Vec<usize>,
    held_on_read: bool,
}

fn read_date(text: &str) -> Result<NaiveDate, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("Give a date.".into());
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map_err(|_| format!("\"{t}\" is not a date; use YYYY-MM-DD."))
}

fn parse_meeting(p: &Partnership, form: &Form, today: NaiveDate) -> ParsedMeeting {
    let mut errors = Errors::default();
    let held_on = match read_date(form.get("held_on")) {
        Ok(d) => Some(d),
        Err(m) => {
            errors.add("held_on", m);
            None
        }
    };
    let kind = form.get("kind").parse::<MeetingKind>().unwrap_or_else(|_| {
        errors.add("kind", "Choose the kind of meeting.");
        MeetingKind::Steering
    });
    let mut attendees = Vec::new();
    let mut attendee_party = Vec::new();
    for party in &p.parties {
        let text = form.get(&format!("attendees_{}", party.organization_id));
        for name in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            attendees.push(Attendee {
                organization_id: party.organization_id,
                name: name.to_string(),
                user_id: None,
            });
            attendee_party.push(party.organization_id);
        }
    }
    let decisions = form
        .get("decisions")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let mut actions = Vec::new();
    let mut action_rows = Vec::new();
    for i in 0..ACTION_ROWS {
        let n = |k: &str| format!("action_{i}_{k}");
        let (what, owner, owner_name, due) = (
            form.get(&n("what")).trim(),
            form.get(&n("owner")).trim(),
            form.get(&n("owner_name")).trim(),
            form.get(&n("due_on")).trim(),
        );
        if what.is_empty() && owner.is_empty() && owner_name.is_empty() && due.is_empty() {
            continue;
        }
        let owner = owner.parse::<i64>().map(OrgId).unwrap_or_else(|_| {
            errors.add(n("owner"), "Choose the party that owns the action.");
            OrgId(0)
        });
        let due_on = read_date(due).unwrap_or_else(|m| {
            errors.add(n("due_on"), m);
            held_on.unwrap_or(today)
        });
        actions.push(ActionInput {
            what: what.to_string(),
            owner,
            owner_name: owner_name.to_string(),
            due_on,
        });
        action_rows.push(i);
    }
    ParsedMeeting {
        input: MeetingInput {
            held_on: held_on.unwrap_or(today),
            kind,
            attendees,
            notes: form.get("notes").to_string(),
            decisions,
            actions,
        },
        errors,
        attendee_party,
        action_rows,
        held_on_read: held_on.is_some(),
    }
}

/// Puts the domain's errors next to the inputs that hold their fields; an input that already
/// shows a reading error keeps it.
fn place_meeting_errors(p: &Partnership, parsed: &mut ParsedMeeting, v: &ValidationErrors) {
    let mut missing: Vec<OrgId> = p
        .parties
        .iter()
        .map(|x| x.organization_id)
        .filter(|o| !parsed.attendee_party.contains(o))
        .collect();
    missing.reverse();
    let mut placed: Vec<(String, String)> = Vec::new();
    for e in v.errors() {
        let f = e.field.as_str();
        let message = capitalize(&e.message);
        if e.code == "date_out_of_order" && !parsed.held_on_read {
            continue;
        }
        match f {
            "held_on" | "notes" | "kind" => placed.push((f.to_string(), message)),
            "attendees" if e.code == "party_missing" => match missing.pop() {
                Some(org) => placed.push((
                    format!("attendees_{org}"),
                    format!(
                        "Nobody attended for {}; a partnership meeting has every party.",
                        party_name(p, org)
                    ),
                )),
                None => parsed.errors.general.push(message),
            },
            "attendees" if e.code == "required" => {
                for party in &p.parties {
                    placed.push((
                        format!("attendees_{}", party.organization_id),
                        format!(
                            "Name who attended for {}, one per line.",
                            party.organization_name
                        ),
                    ));
                }
            }
            _ if f == "decisions" || f.starts_with("decisions[") => {
                placed.push(("decisions".into(), message))
            }
            _ => {
                let target = if let Some((i, _)) = indexed(f, "attendees") {
                    parsed
                        .attendee_party
                        .get(i)
                        .map(|org| format!("attendees_{org}"))
                } else if let Some((i, key)) = indexed(f, "actions") {
                    let key = key.split(['.', '[']).next().unwrap_or(key);
                    parsed
                        .action_rows
                        .get(i)
                        .filter(|_| matches!(key, "what" | "owner" | "owner_name" | "due_on"))
                        .map(|row| format!("action_{row}_{key}"))
                } else {
                    None
                };
                match target {
                    Some(t) => placed.push((t, message)),
                    None => parsed.errors.general.push(message),
                }
            }
        }
    }
    for (name, message) in placed {
        if !parsed.errors.has(&name) {
            parsed.errors.add(name, message);
        }
    }
}

pub async fn record_meeting(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let actor = who.actor();
    let p = s.store.get_partnership(&actor, id).await?;
    forbid_unless(who.acting.role.can_contribute(), VIEWERS_READ)?;
    let now = today();
    let mut parsed = parse_meeting(&p, &form, now);
    let refused = |parsed: ParsedMeeting, alert: String| MeetingsState {
        form: Some(&form),
        errors: parsed.errors,
        alert,
        ..MeetingsState::default()
    };
    if !parsed.errors.is_empty() {
        // Check the rest with the domain's rules too, so every problem shows at once.
        let parties: Vec<OrgId> = p.parties.iter().map(|x| x.organization_id).collect();
        if let Err(v) = parsed.input.validate(&parties, now) {
            place_meeting_errors(&p, &mut parsed, &v);
        }
        return meetings_page(
            &s,
            &who,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            refused(parsed, String::new()),
        )
        .await;
    }
    match s.store.record_meeting(&actor, id, &parsed.input, now).await {
        Ok(m) => Ok(see_other(&format!(
            "/partnerships/{id}/meetings?done=recorded#meeting-{}",
            m.id
        ))),
        Err(StoreError::Validation(v)) => {
            place_meeting_errors(&p, &mut parsed, &v);
            meetings_page(
                &s,
                &who,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                refused(parsed, String::new()),
            )
            .await
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            meetings_page(&s, &who, id, status, refused(parsed, message)).await
        }
    }
}

pub async fn update_action(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, action): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let actor = who.actor();
    s.store.get_partnership(&actor, id).await?;
    forbid_unless(who.acting.role.can_contribute(), VIEWERS_READ)?;
    let mut row = RowState {
        id: action,
        status: form.get("status").trim().to_string(),
        note: form.get("note").to_string(),
        errors: Errors::default(),
    };
    let refused = |row: RowState, alert: String| MeetingsState {
        action: Some(row),
        alert,
        ..MeetingsState::default()
    };
    let Ok(status) = row.status.parse::<ActionStatus>() else {
        row.errors.add("status", "Choose done or dropped.");
        return meetings_page(
            &s,
            &who,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            refused(row, String::new()),
        )
        .await;
    };
    let input = ActionUpdate {
        status,
        note: row.note.clone(),
    };
    match s
        .store
        .update_action(&actor, id, action, &input, today())
        .await
    {
        Ok(a) => Ok(see_other(&format!(
            "/partnerships/{id}/meetings?done=action#meeting-{}",
            a.meeting_id
        ))),
        Err(StoreError::Validation(v)) => {
            for e in v.errors() {
                match e.field.as_str() {
                    "status" | "note" => row.errors.add(e.field.clone(), capitalize(&e.message)),
                    _ => row.errors.general.push(capitalize(&e.message)),
                }
            }
            meetings_page(
                &s,
                &who,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                refused(row, String::new()),
            )
            .await
        }
        Err(e @ StoreError::NotFound { .. }) => Err(e.into()),
        Err(e) => {
            let (status, message) = refusal(e)?;
            meetings_page(&s, &who, id, status, refused(row, message)).await
        }
    }
}

// ---------------------------------------------------------------- reviews

struct ReviewRow {
    number: u32,
    status: &'static str,
    status_label: &'static str,
    trigger: &'static str,
    due: String,
    opened: String,
    decision: String,
    closed: String,
}

fn review_row(r: &Review) -> ReviewRow {
    ReviewRow {
        number: r.number,
        status: r.status.as_str(),
        status_label: r.status.label(),
        trigger: r.trigger.label(),
        due: day(r.due_on),
        opened: human_time(r.opened_at),
        decision: r
            .decision
            .map(|d| d.label().to_string())
            .unwrap_or_default(),
        closed: r.closed_at.map(human_time).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "ops_reviews.html")]
struct ReviewsPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    interval: String,
    next_due: String,
    overdue: bool,
    current: Option<ReviewRow>,
    history: Vec<ReviewRow>,
    can_open: bool,
    why_not: String,
    reason: Input,
    notice: String,
    alert: String,
}

async fn reviews_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    status: StatusCode,
    reason: (String, String),
    alert: String,
) -> Result<Response, PageError> {
    let actor = who.actor();
    let p = s.store.get_partnership(&actor, id).await?;
    let now = today();
    let overview = s.store.reviews(&actor, id, now).await?;
    let current = overview
        .reviews
        .iter()
        .find(|r| r.status != ReviewStatus::Closed)
        .map(review_row);
    let manager = who.acting.role.can_manage_partnerships();
    let active = matches!(
        p.stage,
        concord_domain::partnership::Stage::Active
            | concord_domain::partnership::Stage::UnderReview
    );
    let why_not = if p.archived_at.is_some() {
        "The partnership is archived."
    } else if current.is_some() {
        "A review is in progress; finish it before opening another."
    } else if !active {
        "Reviews are held once the partnership is active."
    } else if !manager {
        MANAGERS_ONLY
    } else {
        ""
    };
    render(
        status,
        &ReviewsPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            interval: overview
                .interval_months
                .map(|m| {
                    if m == 1 {
                        "every month".to_string()
                    } else {
                        format!("every {m} months")
                    }
                })
                .unwrap_or_default(),
            next_due: opt_day(overview.next_due),
            overdue: overview.next_due.is_some_and(|d| d <= now),
            history: overview.reviews.iter().map(review_row).collect(),
            current,
            can_open: why_not.is_empty(),
            why_not: why_not.to_string(),
            reason: Input::new("reason", "Why open it now?", "textarea", reason.0)
                .hint("Optional; recorded with the review.")
                .rows(3)
                .error(reason.1),
            notice: String::new(),
            alert,
            p,
        },
    )
}

pub async fn reviews(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
) -> Result<Response, PageError> {
    reviews_page(
        &s,
        &who,
        PartnershipId(id),
        StatusCode::OK,
        Default::default(),
        String::new(),
    )
    .await
}

pub async fn open_review(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let actor = who.actor();
    s.store.get_partnership(&actor, id).await?;
    forbid_unless(who.acting.role.can_manage_partnerships(), MANAGERS_ONLY)?;
    let reason = form.get("reason").to_string();
    let input = OpenReviewInput {
        reason: reason.clone(),
    };
    match s.store.open_review(&actor, id, &input, today()).await {
        Ok(r) => Ok(see_other(&format!(
            "/partnerships/{id}/reviews/{}?done=opened",
            r.number
        ))),
        Err(StoreError::Validation(v)) => {
            let message = v
                .errors()
                .iter()
                .map(|e| capitalize(&e.message))
                .collect::<Vec<_>>()
                .join(" ");
            reviews_page(
                &s,
                &who,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                (reason, message),
                String::new(),
            )
            .await
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            reviews_page(&s, &who, id, status, (reason, String::new()), message).await
        }
    }
}

struct MetricRow {
    name: String,
    category: &'static str,
    baseline_target: String,
    latest: String,
    period: String,
    attainment: String,
    expected: String,
    status: &'static str,
    status_label: &'static str,
    trend: &'static str,
    trend_label: &'static str,
    trend_mark: &'static str,
}

fn metric_row(m: &MetricAttainment) -> MetricRow {
    let unit = |v: f64| {
        if m.unit.is_empty() {
            num(v)
        } else {
            format!("{} {}", num(v), m.unit)
        }
    };
    MetricRow {
        name: m.name.clone(),
        category: m.category.label(),
        baseline_target: format!("{} → {}", unit(m.baseline), unit(m.target)),
        latest: m
            .latest
            .as_ref()
            .map(|pt| unit(pt.value))
            .unwrap_or_else(|| "—".into()),
        period: m
            .latest
            .as_ref()
            .map(|pt| format!("{} – {}", day(pt.period_start), day(pt.period_end)))
            .unwrap_or_default(),
        attainment: m.attainment.map(pct).unwrap_or_else(|| "—".into()),
        expected: m.expected.map(pct).unwrap_or_else(|| "—".into()),
        status: m.status.as_str(),
        status_label: m.status.label(),
        trend: m.trend.as_str(),
        trend_label: m.trend.label(),
        trend_mark: match m.trend {
            Trend::Improving => "↑",
            Trend::Worsening => "↓",
            Trend::Steady => "→",
            Trend::Unknown => "",
        },
    }
}

struct CategoryRow {
    category: &'static str,
    metrics: usize,
    with_data: usize,
    attainment: String,
    weight: String,
}

struct SignatureView {
    party: String,
    signed: bool,
    text: String,
    is_mine: bool,
}

struct RadioOpt {
    value: &'static str,
    label: &'static str,
    hint: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "ops_review.html")]
struct ReviewPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    parties: String,
    number: u32,
    status: &'static str,
    status_label: &'static str,
    trigger: &'static str,
    reason: String,
    due: String,
    opened: String,
    as_of: String,
    frozen: bool,
    charter_version: String,
    metrics: Vec<MetricRow>,
    categories: Vec<CategoryRow>,
    overall: String,
    counts: String,
    commitments: Vec<CommitmentRow>,
    commitments_late: usize,
    commitments_done: usize,
    cadence: CadenceView,
    actions: Vec<ActionView>,
    decision: String,
    rationale: String,
    decided: String,
    outcome: String,
    closed: String,
    signatures: Vec<SignatureView>,
    can_decide: bool,
    can_sign: bool,
    decision_opts: Vec<RadioOpt>,
    decision_error: String,
    rationale_input: Input,
    notice: String,
    alert: String,
}

#[derive(Default)]
struct DecisionState {
    decision: Option<String>,
    rationale: Option<String>,
    errors: Errors,
    notice: String,
    alert: String,
}

async fn review_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    number: u32,
    status: StatusCode,
    state: DecisionState,
) -> Result<Response, PageError> {
    let actor = who.actor();
    let p = s.store.get_partnership(&actor, id).await?;
    let now = today();
    let r = s.store.review(&actor, id, number, now).await?;
    let packet = &r.packet;
    let manager = who.acting.role.can_manage_partnerships() && p.archived_at.is_none();
    let mine = who.acting.org_id;
    let can_decide = manager && r.status != ReviewStatus::Closed;
    let can_sign =
        manager && r.status == ReviewStatus::AwaitingSignatures && r.awaiting.contains(&mine);
    let chosen = state.decision.clone().unwrap_or_else(|| {
        r.decision
            .map(|d| d.as_str().to_string())
            .unwrap_or_default()
    });
    let decision_opts = ReviewDecision::ALL
        .iter()
        .map(|d| RadioOpt {
            value: d.as_str(),
            label: d.label(),
            hint: format!(
                "Once every party signs, the partnership moves to {}.",
                d.next_stage().label().to_lowercase()
            ),
            checked: d.as_str() == chosen,
        })
        .collect();
    let rationale_value = state
        .rationale
        .clone()
        .unwrap_or_else(|| r.rationale.clone());
    let signatures = p
        .parties
        .iter()
        .map(|party| {
            let sig = r
                .signatures
                .iter()
                .find(|x| x.organization_id == party.organization_id);
            SignatureView {
                party: party.organization_name.clone(),
                signed: sig.is_some(),
                text: match sig {
                    Some(x) => format!("Signed by {} · {}", x.name, human_time(x.signed_at)),
                    None if r.status == ReviewStatus::Open => {
                        "Signs once the decision is recorded".into()
                    }
                    None => "Not signed yet".into(),
                },
                is_mine: party.organization_id == mine,
            }
        })
        .collect();
    let outcome = match (r.decision, r.status) {
        (Some(d), ReviewStatus::Closed) => format!(
            "Signed by every party: the partnership moved to {}.",
            d.next_stage().label().to_lowercase()
        ),
        (Some(d), _) => format!(
            "Once every party's alliance manager signs, the partnership moves to {}.",
            d.next_stage().label().to_lowercase()
        ),
        (None, _) => String::new(),
    };
    render(
        status,
        &ReviewPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            parties: parties_text(&p),
            number: r.number,
            status: r.status.as_str(),
            status_label: r.status.label(),
            trigger: r.trigger.label(),
            reason: r.reason.clone(),
            due: day(r.due_on),
            opened: format!("{} · {}", r.opened_by, human_time(r.opened_at)),
            as_of: day(packet.as_of),
            frozen: r.decided_at.is_some(),
            charter_version: packet
                .charter_version
                .map(|v| format!("version {v}"))
                .unwrap_or_else(|| "none in force".into()),
            metrics: packet.metrics.iter().map(metric_row).collect(),
            categories: packet
                .rollup
                .categories
                .iter()
                .map(|c| CategoryRow {
                    category: c.category.label(),
                    metrics: c.metrics,
                    with_data: c.with_data,
                    attainment: c.attainment.map(pct).unwrap_or_else(|| "—".into()),
                    weight: num(c.weight),
                })
                .collect(),
            overall: packet.rollup.overall.map(pct).unwrap_or_else(|| "—".into()),
            counts: format!(
                "{} on track · {} at risk · {} off track · {} without data",
                packet.rollup.on_track,
                packet.rollup.at_risk,
                packet.rollup.off_track,
                packet.rollup.no_data
            ),
            commitments: packet
                .commitments
                .iter()
                .map(|c| commitment_row(&p, c, false, None))
                .collect(),
            commitments_late: packet.commitments_late,
            commitments_done: packet.commitments_done,
            cadence: cadence_view(&packet.cadence, packet.as_of),
            actions: packet
                .open_actions
                .iter()
                .map(|a| action_view(&p, a, packet.as_of, false, None))
                .collect(),
            decision: r
                .decision
                .map(|d| d.label().to_string())
                .unwrap_or_default(),
            rationale: r.rationale.clone(),
            decided: match r.decided_at {
                Some(t) => format!("Recorded by {} · {}", r.decided_by, human_time(t)),
                None => String::new(),
            },
            outcome,
            closed: r.closed_at.map(human_time).unwrap_or_default(),
            signatures,
            can_decide,
            can_sign,
            decision_opts,
            decision_error: state.errors.get("decision"),
            rationale_input: Input::new("rationale", "Rationale", "textarea", rationale_value)
                .hint("Why the parties decide this; the board reads it with the packet.")
                .rows(4)
                .error(state.errors.get("rationale")),
            notice: state.notice,
            alert: {
                let mut a = state.alert;
                if a.is_empty() && !state.errors.general.is_empty() {
                    a = state.errors.general.join(" ");
                }
                a
            },
            p,
        },
    )
}

pub async fn review(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, number): PageIds,
    Query(params): Query<DoneParams>,
) -> Result<Response, PageError> {
    let notice = match params.done.as_deref() {
        Some("opened") => "Review opened; the partnership is under review.",
        Some("decided") => "Decision recorded. Each party's alliance manager now signs it.",
        Some("signed") => "Signed for your organization.",
        Some("closed") => "Signed by every party: the review is closed.",
        _ => "",
    };
    review_page(
        &s,
        &who,
        PartnershipId(id),
        small_id(number)?,
        StatusCode::OK,
        DecisionState {
            notice: notice.into(),
            ..DecisionState::default()
        },
    )
    .await
}

pub async fn decide(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, number): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let number = small_id(number)?;
    let actor = who.actor();
    s.store.get_partnership(&actor, id).await?;
    forbid_unless(who.acting.role.can_manage_partnerships(), MANAGERS_ONLY)?;
    let raw = form.get("decision").trim().to_string();
    let rationale = form.get("rationale").to_string();
    let mut state = DecisionState {
        decision: Some(raw.clone()),
        rationale: Some(rationale.clone()),
        ..DecisionState::default()
    };
    let Ok(decision) = raw.parse::<ReviewDecision>() else {
        state
            .errors
            .add("decision", "Choose continue, expand, restructure or exit.");
        if rationale.trim().is_empty() {
            state
                .errors
                .add("rationale", "Give the rationale for the decision.");
        }
        return review_page(
            &s,
            &who,
            id,
            number,
            StatusCode::UNPROCESSABLE_ENTITY,
            state,
        )
        .await;
    };
    let input = DecisionInput {
        decision,
        rationale,
    };
    match s
        .store
        .decide_review(&actor, id, number, &input, today())
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/partnerships/{id}/reviews/{number}?done=decided#decision"
        ))),
        Err(StoreError::Validation(v)) => {
            for e in v.errors() {
                match e.field.as_str() {
                    "decision" | "rationale" => {
                        state.errors.add(e.field.clone(), capitalize(&e.message))
                    }
                    _ => state.errors.general.push(capitalize(&e.message)),
                }
            }
            review_page(
                &s,
                &who,
                id,
                number,
                StatusCode::UNPROCESSABLE_ENTITY,
                state,
            )
            .await
        }
        Err(e @ StoreError::NotFound { .. }) => Err(e.into()),
        Err(e) => {
            let (status, message) = refusal(e)?;
            state.alert = message;
            review_page(&s, &who, id, number, status, state).await
        }
    }
}

pub async fn sign(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, number): PageIds,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let number = small_id(number)?;
    let actor = who.actor();
    s.store.get_partnership(&actor, id).await?;
    forbid_unless(who.acting.role.can_manage_partnerships(), MANAGERS_ONLY)?;
    match s.store.sign_review(&actor, id, number, today()).await {
        Ok(r) => {
            let done = if r.status == ReviewStatus::Closed {
                "closed"
            } else {
                "signed"
            };
            Ok(see_other(&format!(
                "/partnerships/{id}/reviews/{number}?done={done}#decision"
            )))
        }
        Err(e @ (StoreError::NotFound { .. } | StoreError::Forbidden(_))) => Err(e.into()),
        Err(e) => {
            let (status, message) = refusal(e)?;
            review_page(
                &s,
                &who,
                id,
                number,
                status,
                DecisionState {
                    alert: message,
                    ..DecisionState::default()
                },
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- the partnership page's card

/// Where the partnership's running stands, for the card on the partnership page.
pub struct Summary {
    pub has_charter: bool,
    pub commitments: usize,
    pub late: usize,
    pub cadence_text: String,
    pub cadence_warn: bool,
    pub review_text: String,
    /// The review in progress, if any (its number, for the link).
    pub review_number: Option<u32>,
}

pub(super) async fn summary(
    s: &AppState,
    who: &Principal,
    p: &Partnership,
) -> Result<Summary, PageError> {
    let actor = who.actor();
    let now = today();
    let charter = s.store.effective_charter(p.id).await?;
    let commitments = s.store.commitments(&actor, p.id, now).await?;
    let adherence = s.store.cadence_of(p, charter.as_ref(), now).await?;
    // The status only: building the live packet here would read the whole ledger again.
    let (current, interval_months, next_due) = s.store.review_status(p).await?;
    let cadence_text = match (adherence.cadence, adherence.ratio) {
        (None, _) => "no meeting cadence in the charter".to_string(),
        (Some(c), None) => format!("{} cadence; too early to judge", c.label().to_lowercase()),
        (Some(_), Some(r)) => format!(
            "{} cadence adherence ({} of {} steering meetings)",
            pct(r),
            adherence.held,
            adherence.expected
        ),
    };
    let review_text = match (current, next_due, interval_months) {
        (Some((number, status)), _, _) => {
            format!("Review {number}: {}", status.label().to_lowercase())
        }
        (None, Some(d), _) if d <= now => format!("next review due {} (due now)", day(d)),
        (None, Some(d), _) => format!("next review due {}", day(d)),
        (None, None, None) => "no review interval in the charter".to_string(),
        (None, None, Some(_)) => "next review scheduled once the partnership is active".to_string(),
    };
    Ok(Summary {
        has_charter: charter.is_some(),
        commitments: commitments.len(),
        late: commitments.iter().filter(|c| c.late).count(),
        cadence_warn: adherence.ratio.is_some_and(|r| r < CADENCE_WARN_BELOW),
        cadence_text,
        review_text,
        review_number: current.map(|(number, _)| number),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_paths_read_well() {
        assert_eq!(num(60.0), "60");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(0.333), "0.33");
        assert_eq!(num(10.001), "10");
        assert_eq!(pct(0.83), "83%");
        assert_eq!(indexed("actions[1].due_on", "actions"), Some((1, "due_on")));
        assert_eq!(indexed("attendees[0]", "attendees"), Some((0, "")));
        assert_eq!(indexed("attendees", "attendees"), None);
        assert_eq!(days_word(1), "1 day");
    }

    #[test]
    fn the_cadence_card_warns_below_three_quarters() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let monthly = Some(concord_domain::charter::MeetingCadence::Monthly);
        let dates: Vec<NaiveDate> = (1..=8)
            .map(|m| NaiveDate::from_ymd_opt(2026, m, 10).unwrap())
            .collect();
        let a = concord_domain::meeting::cadence_adherence(
            monthly,
            d("2025-01-01"),
            d("2026-11-22"),
            &dates,
        );
        let v = cadence_view(&a, d("2026-11-22"));
        assert_eq!((v.pct.as_str(), v.warn), ("67%", true));
        assert_eq!(v.held, "8 of 12");
        assert!(v.overdue, "the next meeting was due in September");
        let all: Vec<NaiveDate> = (1..=11)
            .map(|m| NaiveDate::from_ymd_opt(2026, m, 10).unwrap())
            .collect();
        let a = concord_domain::meeting::cadence_adherence(
            monthly,
            d("2025-01-01"),
            d("2026-11-22"),
            &all,
        );
        let v = cadence_view(&a, d("2026-11-22"));
        assert!(!v.warn, "{}", v.pct);
        let a = concord_domain::meeting::cadence_adherence(
            monthly,
            d("2026-11-22"),
            d("2026-11-22"),
            &[],
        );
        let v = cadence_view(&a, d("2026-11-22"));
        assert_eq!((v.pct.as_str(), v.warn), ("—", false));
        assert_eq!(v.held, "0 held; none expected yet");
    }
}
