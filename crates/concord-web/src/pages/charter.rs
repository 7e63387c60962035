//! The charter pages: the charter with its verdict and sign-off, an edit form per section, the
//! version history and the diff between two versions.
//!
//! Each section is described once ([`sections`]): its scalar fields and its lists, with a column
//! per field. The same description renders the read-only tables, the edit form and turns a
//! submitted form back into the JSON the domain validates, so a section's page, form and parser
//! can never disagree.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value};

use concord_domain::charter::{
    AreaKind, Charter, CharterRecord, CharterVersion, CommitmentStatus, Direction, IdeaStatus,
    Magnitude, MeetingCadence, MetricCategory, ReportingCadence, SignInput, StakeKind, Stance,
    ValueFlowKind, VersionStatus, VersionVerdict,
};
use concord_domain::charter_diff::Change;
use concord_domain::partnership::Partnership;
use concord_domain::{OrgId, PartnershipId, UserId, ValidationErrors};
use concord_storage::StoreError;

use super::{human_time, render, see_other, Chrome, Opt, PageError, PageId};
use crate::auth::{PageAuth, Principal};
use crate::extract::Form;
use crate::AppState;

/// Blank rows offered under a list for new items.
const BLANK_ROWS: usize = 2;

type Choices = fn() -> Vec<(&'static str, &'static str)>;

macro_rules! choices {
    ($t:ty) => {
        || <$t>::ALL.iter().map(|v| (v.as_str(), v.label())).collect()
    };
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Long,
    Number,
    Int,
    Date,
    Check,
    Party,
    Person,
    Choice(Choices),
}

#[derive(Clone, Copy)]
struct Col {
    key: &'static str,
    label: &'static str,
    kind: Kind,
    /// May be left blank (becomes JSON null or "").
    optional: bool,
}

const fn col(key: &'static str, label: &'static str, kind: Kind) -> Col {
    Col {
        key,
        label,
        kind,
        optional: false,
    }
}

const fn opt(key: &'static str, label: &'static str, kind: Kind) -> Col {
    Col {
        key,
        label,
        kind,
        optional: true,
    }
}

struct ListSpec {
    /// The JSON path of the array (`metrics`, `coopetition.areas`).
    path: &'static str,
    title: &'static str,
    cols: Vec<Col>,
    /// Items are plain strings (exit criteria), edited through the first column.
    plain: bool,
}

struct SectionSpec {
    key: &'static str,
    title: &'static str,
    intro: &'static str,
    /// Scalar fields: the column key is the full JSON path.
    scalars: Vec<Col>,
    lists: Vec<ListSpec>,
}

fn list(path: &'static str, title: &'static str, cols: Vec<Col>) -> ListSpec {
    ListSpec {
        path,
        title,
        cols,
        plain: false,
    }
}

fn sections() -> Vec<SectionSpec> {
    use Kind::*;
    vec![
        SectionSpec {
            key: "summary",
            title: "Summary and term",
            intro: "What the partnership is for, and when the charter runs.",
            scalars: vec![
                opt("summary", "Summary", Long),
                opt("starts_on", "Starts on", Date),
                opt("ends_on", "Ends on", Date),
            ],
            lists: vec![],
        },
        SectionSpec {
            key: "goals",
            title: "Shared goals",
            intro: "What the parties pursue together; mark the goals that benefit the community beyond the parties.",
            scalars: vec![],
            lists: vec![list(
                "goals",
                "Goals",
                vec![
                    col("title", "Goal", Text),
                    opt("description", "Description", Long),
                    opt("community_benefit", "Benefits the community", Check),
                ],
            )],
        },
        SectionSpec {
            key: "alone_goals",
            title: "Goals no party could reach alone",
            intro: "Each party states a goal it could not reach without the partnership, and why.",
            scalars: vec![],
            lists: vec![list(
                "alone_goals",
                "Goals",
                vec![
                    col("party", "Party", Party),
                    col("goal", "Goal", Long),
                    col("why", "Why not alone", Long),
                ],
            )],
        },
        SectionSpec {
            key: "metrics",
            title: "Success metrics",
            intro: "Defined before going live, financial and non-financial. The target must lie on the better side of the baseline.",
            scalars: vec![],
            lists: vec![list(
                "metrics",
                "Metrics",
                vec![
                    col("name", "Name", Text),
                    col("category", "Category", Choice(choices!(MetricCategory))),
                    col("unit", "Unit", Text),
                    col("direction", "Direction", Choice(choices!(Direction))),
                    col("baseline", "Baseline", Number),
                    col("target", "Target", Number),
                    col("target_date", "Target date", Date),
                    col("cadence", "Reporting", Choice(choices!(ReportingCadence))),
                    col("owner", "Data owner", Party),
                ],
            )],
        },
        SectionSpec {
            key: "commitments",
            title: "Commitments",
            intro: "What each party undertakes to do, by when.",
            scalars: vec![],
            lists: vec![list(
                "commitments",
                "Commitments",
                vec![
                    col("party", "Party", Party),
                    col("what", "What", Long),
                    col("due_on", "Due", Date),
                    col("status", "Status", Choice(choices!(CommitmentStatus))),
                ],
            )],
        },
        SectionSpec {
            key: "stakes",
            title: "Stakes ledger",
            intro: "What each party gains and risks. Unequal stakes are fine; hidden ones are not.",
            scalars: vec![],
            lists: vec![
                list(
                    "stakes",
                    "Benefits and risks",
                    vec![
                        col("party", "Party", Party),
                        col("kind", "Benefit or risk", Choice(choices!(StakeKind))),
                        col("description", "Description", Long),
                        col("magnitude", "Magnitude", Choice(choices!(Magnitude))),
                    ],
                ),
                list(
                    "tradeoffs",
                    "Tradeoffs accepted",
                    vec![
                        col("party", "Party", Party),
                        col("description", "Tradeoff", Long),
                    ],
                ),
            ],
        },
        SectionSpec {
            key: "coopetition",
            title: "Coopetition scope",
            intro: "Where the parties cooperate, and where they keep competing — or say explicitly that they compete nowhere.",
            scalars: vec![opt(
                "coopetition.no_competing_areas",
                "No competing areas",
                Check,
            )],
            lists: vec![list(
                "coopetition.areas",
                "Areas",
                vec![
                    col("kind", "Kind", Choice(choices!(AreaKind))),
                    col("name", "Area", Text),
                    col("stance", "Stance", Choice(choices!(Stance))),
                ],
            )],
        },
        SectionSpec {
            key: "governance",
            title: "Governance",
            intro: "An alliance manager per party (a member of that party), the steering group, how often it meets and how often the partnership is reviewed.",
            scalars: vec![
                opt(
                    "governance.meeting_cadence",
                    "Meeting cadence",
                    Choice(choices!(MeetingCadence)),
                ),
                opt(
                    "governance.review_interval_months",
                    "Review every (months)",
                    Int,
                ),
            ],
            lists: vec![
                list(
                    "governance.alliance_managers",
                    "Alliance managers",
                    vec![col("party", "Party", Party), col("user_id", "Person", Person)],
                ),
                list(
                    "governance.steering_group",
                    "Steering group",
                    vec![
                        col("party", "Party", Party),
                        col("name", "Name", Text),
                        opt("title", "Title", Text),
                    ],
                ),
            ],
        },
        SectionSpec {
            key: "innovation_agenda",
            title: "Innovation agenda",
            intro: "\"Expansion joints\": ideas the parties will explore together later.",
            scalars: vec![],
            lists: vec![list(
                "innovation_agenda",
                "Ideas",
                vec![
                    col("title", "Idea", Text),
                    opt("description", "Description", Long),
                    col("status", "Status", Choice(choices!(IdeaStatus))),
                ],
            )],
        },
        SectionSpec {
            key: "exit_criteria",
            title: "Exit criteria",
            intro: "When the parties will end the partnership.",
            scalars: vec![],
            lists: vec![ListSpec {
                path: "exit_criteria",
                title: "Criteria",
                cols: vec![col("text", "Criterion", Long)],
                plain: true,
            }],
        },
        SectionSpec {
            key: "value_flows",
            title: "Value flows",
            intro: "What passes between the parties. A deal made only of referral volume or per-referral fees is a finder's fee.",
            scalars: vec![],
            lists: vec![list(
                "value_flows",
                "Flows",
                vec![
                    col("from", "From", Party),
                    col("to", "To", Party),
                    col("kind", "Kind", Choice(choices!(ValueFlowKind))),
                    opt("description", "Description", Long),
                ],
            )],
        },
    ]
}

fn get_path<'v>(v: &'v Value, path: &str) -> &'v Value {
    let mut cur = v;
    for k in path.split('.') {
        cur = cur.get(k).unwrap_or(&Value::Null);
    }
    cur
}

fn set_path(v: &mut Value, path: &str, new: Value) {
    let mut cur = v;
    let keys: Vec<&str> = path.split('.').collect();
    for k in &keys[..keys.len() - 1] {
        if !cur.get(*k).is_some_and(Value::is_object) {
            cur[*k] = Value::Object(Map::new());
        }
        cur = &mut cur[*k];
    }
    cur[keys[keys.len() - 1]] = new;
}

/// Names of parties and people, for showing ids as words.
struct Names {
    parties: Vec<(OrgId, String)>,
    people: Vec<(OrgId, UserId, String)>,
}

impl Names {
    fn party(&self, id: i64) -> String {
        self.parties
            .iter()
            .find(|(o, _)| o.0 == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("organization {id}"))
    }
    fn person(&self, id: i64) -> String {
        self.people
            .iter()
            .find(|(_, u, _)| u.0 == id)
            .map(|(_, _, n)| n.clone())
            .unwrap_or_else(|| format!("user {id}"))
    }
}

/// A JSON value as the text an input holds.
fn raw(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "on" } else { "" }.to_string(),
        other => other.to_string(),
    }
}

/// A JSON value as people read it.
fn shown(col: &Col, v: &Value, names: &Names) -> String {
    match col.kind {
        Kind::Party => v.as_i64().map(|i| names.party(i)).unwrap_or_default(),
        Kind::Person => v.as_i64().map(|i| names.person(i)).unwrap_or_default(),
        Kind::Check => if v.as_bool() == Some(true) {
            "Yes"
        } else {
            "—"
        }
        .to_string(),
        Kind::Choice(c) => {
            let s = raw(v);
            c().into_iter()
                .find(|(w, _)| *w == s)
                .map(|(_, l)| l.to_string())
                .unwrap_or(s)
        }
        _ => raw(v),
    }
}

// ---------------------------------------------------------------- read-only view

struct Table {
    title: &'static str,
    id: String,
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

struct SectionView {
    key: &'static str,
    title: &'static str,
    facts: Vec<(&'static str, String)>,
    tables: Vec<Table>,
}

fn section_views(content: &Charter, names: &Names) -> Vec<SectionView> {
    let v = serde_json::to_value(content).unwrap_or_default();
    sections()
        .into_iter()
        .map(|s| SectionView {
            key: s.key,
            title: s.title,
            facts: s
                .scalars
                .iter()
                .map(|c| (c.label, shown(c, get_path(&v, c.key), names)))
                .collect(),
            tables: s
                .lists
                .iter()
                .map(|l| {
                    let items = get_path(&v, l.path).as_array().cloned().unwrap_or_default();
                    let mut headers: Vec<&'static str> = Vec::new();
                    let keyed = items.iter().any(|i| i.get("id").is_some());
                    if keyed {
                        headers.push("#");
                    }
                    headers.extend(l.cols.iter().map(|c| c.label));
                    Table {
                        title: l.title,
                        id: l.path.replace('.', "-"),
                        headers,
                        rows: items
                            .iter()
                            .map(|item| {
                                let mut row = Vec::new();
                                if keyed {
                                    row.push(raw(item.get("id").unwrap_or(&Value::Null)));
                                }
                                for c in &l.cols {
                                    row.push(if l.plain {
                                        raw(item)
                                    } else {
                                        shown(c, item.get(c.key).unwrap_or(&Value::Null), names)
                                    });
                                }
                                row
                            })
                            .collect(),
                    }
                })
                .collect(),
        })
        .collect()
}

struct SignOffRow {
    party: String,
    signed: String,
    acknowledged: String,
    is_mine: bool,
}

struct VersionRow {
    number: u32,
    status: VersionStatus,
    created_by: String,
    created: String,
    effective: String,
    signatures: String,
}

#[derive(Template)]
#[template(path = "charter.html")]
struct CharterPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    notice: String,
    error: String,
    /// The version shown, if any.
    version: Option<CharterVersion>,
    viewing_note: String,
    verdict: VersionVerdict,
    sections: Vec<SectionView>,
    sign_off: Vec<SignOffRow>,
    versions: Vec<VersionRow>,
    version_opts_from: Vec<Opt>,
    version_opts_to: Vec<Opt>,
    /// Actions open to the viewer on the shown version.
    can_edit: bool,
    can_sign: bool,
    can_withdraw: bool,
    can_acknowledge: bool,
    can_discard: bool,
    frozen_reason: String,
    has_draft: bool,
}

#[derive(Deserialize, Default)]
pub struct ShowParams {
    version: Option<String>,
    done: Option<String>,
}

fn notice_for(done: Option<&str>) -> String {
    match done {
        Some("saved") => "Draft saved.",
        Some("signed") => "Signed for your organization.",
        Some("effective") => "Signed by every party: this version is now the effective charter.",
        Some("withdrawn") => "Your organization's signature was withdrawn.",
        Some("acknowledged") => "Your organization has acknowledged the other parties' stakes.",
        Some("discarded") => "The draft was discarded.",
        _ => "",
    }
    .to_string()
}

async fn names_for(
    s: &AppState,
    p: &Partnership,
    record: &CharterRecord,
) -> Result<Names, PageError> {
    Ok(Names {
        parties: record.parties.clone(),
        people: s.store.people_of_parties(p).await?,
    })
}

async fn charter_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    number: Option<u32>,
    status: StatusCode,
    notice: String,
    error: String,
) -> Result<Response, PageError> {
    let (p, record) = s.store.charter(&who.actor(), id).await?;
    let names = names_for(s, &p, &record).await?;
    let version = match number {
        Some(n) => Some(record.version(n).ok_or(PageError::NotFound)?.clone()),
        None => record.draft().or_else(|| record.effective()).cloned(),
    };
    let verdict = record.verdict(version.as_ref());
    let role = who.acting.role;
    let mine = who.acting.org_id;
    let archived = p.archived_at.is_some();
    let (mut can_sign, mut can_withdraw, mut can_acknowledge, mut can_discard) =
        (false, false, false, false);
    let mut frozen_reason = String::new();
    let mut sign_off = Vec::new();
    let mut viewing_note = String::new();
    if let Some(v) = &version {
        let signed_by_me = v
            .sign_off
            .iter()
            .any(|s| s.organization_id == mine && s.signed.is_some());
        let acked_by_me = v
            .sign_off
            .iter()
            .any(|s| s.organization_id == mine && s.acknowledged_stakes.is_some());
        let manager = role.can_manage_partnerships() && !archived;
        let draft = v.status == VersionStatus::Draft;
        can_sign = manager && draft && !signed_by_me;
        can_withdraw = manager && draft && signed_by_me;
        can_discard = manager && draft;
        can_acknowledge = manager
            && !acked_by_me
            && matches!(v.status, VersionStatus::Draft | VersionStatus::Effective);
        if draft && v.signed_by_anyone() {
            frozen_reason = "This draft has signatures, so it can no longer be edited. Withdraw the signatures or discard the draft to change it.".into();
        }
        viewing_note = match v.status {
            VersionStatus::Draft => format!(
                "Version {} is a draft: it becomes the charter when every party has signed it.",
                v.number
            ),
            VersionStatus::Effective => format!(
                "Version {} is the effective charter, signed by every party{}.",
                v.number,
                v.effective_at
                    .map(|t| format!(" on {}", human_time(t)))
                    .unwrap_or_default()
            ),
            VersionStatus::Superseded => format!(
                "Version {} was superseded by a later version; it stays readable.",
                v.number
            ),
            VersionStatus::Withdrawn => {
                format!("Version {} was a draft that was discarded.", v.number)
            }
        };
        sign_off = v
            .sign_off
            .iter()
            .map(|s| SignOffRow {
                party: s.organization_name.clone(),
                signed: s
                    .signed
                    .as_ref()
                    .map(|x| format!("Signed by {} · {}", x.signed_by, human_time(x.signed_at)))
                    .unwrap_or_else(|| "Not signed".into()),
                acknowledged: s
                    .acknowledged_stakes
                    .as_ref()
                    .map(|x| {
                        format!(
                            "Acknowledged by {} · {}",
                            x.acknowledged_by,
                            human_time(x.acknowledged_at)
                        )
                    })
                    .unwrap_or_else(|| "Not acknowledged".into()),
                is_mine: s.organization_id == mine,
            })
            .collect();
    }
    let can_edit =
        role.can_contribute() && !archived && record.draft().is_none_or(|d| !d.signed_by_anyone());
    let versions: Vec<VersionRow> = record
        .versions
        .iter()
        .map(|v| VersionRow {
            number: v.number,
            status: v.status,
            created_by: v.created_by.clone(),
            created: human_time(v.created_at),
            effective: v.effective_at.map(human_time).unwrap_or_default(),
            signatures: format!(
                "{} of {}",
                v.sign_off.iter().filter(|s| s.signed.is_some()).count(),
                v.sign_off.len()
            ),
        })
        .collect();
    let newest = record.versions.first().map(|v| v.number).unwrap_or(0);
    let opts = |selected: u32| {
        record
            .versions
            .iter()
            .map(|v| {
                Opt::new(
                    v.number.to_string(),
                    format!("Version {} ({})", v.number, v.status.label().to_lowercase()),
                    v.number == selected,
                )
            })
            .collect::<Vec<_>>()
    };
    let sections = version
        .as_ref()
        .map(|v| section_views(&v.content, &names))
        .unwrap_or_default();
    render(
        status,
        &CharterPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            notice,
            error,
            viewing_note,
            verdict,
            sections,
            sign_off,
            version_opts_from: opts(newest.saturating_sub(1).max(1)),
            version_opts_to: opts(newest),
            versions,
            can_edit,
            can_sign,
            can_withdraw,
            can_acknowledge,
            can_discard,
            frozen_reason,
            has_draft: record.draft().is_some(),
            version,
            p,
        },
    )
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    Query(params): Query<ShowParams>,
) -> Result<Response, PageError> {
    let number = match params.version.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => Some(v.parse::<u32>().map_err(|_| PageError::NotFound)?),
        None => None,
    };
    charter_page(
        &s,
        &who,
        PartnershipId(id),
        number,
        StatusCode::OK,
        notice_for(params.done.as_deref()),
        String::new(),
    )
    .await
}

fn sign_input(form: &Form) -> Result<SignInput, String> {
    let version = form
        .get("version")
        .parse::<u32>()
        .map_err(|_| "The form did not say which version; reload the page.".to_string())?;
    let sha = form.get("content_sha256").trim();
    Ok(SignInput {
        version,
        content_sha256: (!sha.is_empty()).then(|| sha.to_string()),
    })
}

/// Runs a sign-off action and redirects, or shows the charter again with the refusal.
async fn sign_off_action(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    form: &Form,
    action: &str,
) -> Result<Response, PageError> {
    let input = match sign_input(form) {
        Ok(i) => i,
        Err(m) => {
            return charter_page(
                s,
                who,
                id,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                m,
            )
            .await
        }
    };
    let actor = who.actor();
    let result = match action {
        "sign" => s.store.sign_charter(&actor, id, &input).await,
        "withdraw" => s.store.withdraw_charter_signature(&actor, id, &input).await,
        _ => s.store.acknowledge_stakes(&actor, id, &input).await,
    };
    match result {
        Ok(v) => {
            let done = match action {
                "sign" if v.status == VersionStatus::Effective => "effective",
                "sign" => "signed",
                "withdraw" => "withdrawn",
                _ => "acknowledged",
            };
            Ok(see_other(&format!(
                "/partnerships/{id}/charter?version={}&done={done}",
                v.number
            )))
        }
        Err(e) => refusal(s, who, id, e).await,
    }
}

async fn refusal(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    e: StoreError,
) -> Result<Response, PageError> {
    let (status, message) = match e {
        StoreError::Conflict { message, .. } | StoreError::Refused { message, .. } => {
            (StatusCode::CONFLICT, message)
        }
        StoreError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
        e @ StoreError::Archived { .. } => (StatusCode::CONFLICT, e.to_string()),
        StoreError::Validation(v) => (StatusCode::UNPROCESSABLE_ENTITY, v.to_string()),
        other => return Err(other.into()),
    };
    charter_page(s, who, id, None, status, String::new(), message).await
}

pub async fn sign(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    sign_off_action(&s, &who, PartnershipId(id), &form, "sign").await
}

pub async fn withdraw(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    sign_off_action(&s, &who, PartnershipId(id), &form, "withdraw").await
}

pub async fn acknowledge(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    sign_off_action(&s, &who, PartnershipId(id), &form, "acknowledge").await
}

pub async fn discard(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    match s.store.discard_charter_draft(&who.actor(), id).await {
        Ok(_) => Ok(see_other(&format!(
            "/partnerships/{id}/charter?done=discarded"
        ))),
        Err(e) => refusal(&s, &who, id, e).await,
    }
}

// ---------------------------------------------------------------- edit form

struct Cell {
    name: String,
    label: &'static str,
    /// `text`, `textarea`, `number`, `date`, `checkbox` or `select`.
    kind: &'static str,
    value: String,
    checked: bool,
    options: Vec<Opt>,
    error: String,
}

struct ListForm {
    title: &'static str,
    path: &'static str,
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
    count: usize,
}

#[derive(Template)]
#[template(path = "charter_edit.html")]
struct EditPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    section_key: &'static str,
    section_title: &'static str,
    intro: &'static str,
    base_note: String,
    scalars: Vec<Cell>,
    lists: Vec<ListForm>,
    general_errors: Vec<String>,
    /// Stable item ids, carried as hidden inputs.
    hidden: Vec<(String, String)>,
}

fn cell(col: &Col, name: String, value: String, names: &Names, errors: &ErrorMap) -> Cell {
    let (kind, options): (&'static str, Vec<Opt>) =
        match col.kind {
            Kind::Text => ("text", vec![]),
            Kind::Long => ("textarea", vec![]),
            Kind::Number | Kind::Int => ("number", vec![]),
            Kind::Date => ("date", vec![]),
            Kind::Check => ("checkbox", vec![]),
            Kind::Party => (
                "select",
                std::iter::once(Opt::new("", "—", value.is_empty()))
                    .chain(names.parties.iter().map(|(o, n)| {
                        Opt::new(o.0.to_string(), n.clone(), o.0.to_string() == value)
                    }))
                    .collect(),
            ),
            Kind::Person => (
                "select",
                std::iter::once(Opt::new("", "—", value.is_empty()))
                    .chain(names.people.iter().map(|(o, u, n)| {
                        Opt::new(
                            u.0.to_string(),
                            format!("{n} ({})", names.party(o.0)),
                            u.0.to_string() == value,
                        )
                    }))
                    .collect(),
            ),
            Kind::Choice(c) => (
                "select",
                std::iter::once(Opt::new("", "—", value.is_empty()))
                    .chain(c().into_iter().map(|(w, l)| Opt::new(w, l, w == value)))
                    .collect(),
            ),
        };
    Cell {
        error: errors.get(&name),
        checked: matches!(col.kind, Kind::Check) && !value.is_empty(),
        name,
        label: col.label,
        kind,
        value,
        options,
    }
}

/// Errors by input name (`metrics.0.target`), plus those no input shows.
#[derive(Default)]
struct ErrorMap {
    by_name: Vec<(String, String)>,
    general: Vec<String>,
}

impl ErrorMap {
    fn get(&self, name: &str) -> String {
        self.by_name
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A submitted list: which form rows became which items.
struct Kept {
    path: &'static str,
    rows: Vec<usize>,
}

/// Maps a domain field path (`metrics[2].target`) to the input that holds it.
fn input_name(field: &str, kept: &[Kept], spec: &SectionSpec) -> Option<String> {
    if spec.scalars.iter().any(|c| c.key == field) {
        return Some(field.to_string());
    }
    let (head, rest) = field.split_once('[')?;
    let (index, tail) = rest.split_once(']')?;
    let index: usize = index.parse().ok()?;
    let k = kept.iter().find(|k| k.path == head)?;
    let row = *k.rows.get(index)?;
    let l = spec.lists.iter().find(|l| l.path == head)?;
    let tail = tail.trim_start_matches('.');
    let key = if l.plain || tail.is_empty() {
        l.cols[0].key
    } else {
        tail.split(['.', '[']).next().unwrap_or(tail)
    };
    l.cols
        .iter()
        .any(|c| c.key == key)
        .then(|| format!("{head}.{row}.{key}"))
}

fn build_form(
    spec: &SectionSpec,
    content: &Value,
    submitted: Option<&Form>,
    names: &Names,
    errors: &ErrorMap,
) -> (Vec<Cell>, Vec<ListForm>) {
    let scalars = spec
        .scalars
        .iter()
        .map(|c| {
            let value = match submitted {
                Some(f) => f.get(c.key).to_string(),
                None => raw(get_path(content, c.key)),
            };
            cell(c, c.key.to_string(), value, names, errors)
        })
        .collect();
    let lists = spec
        .lists
        .iter()
        .map(|l| {
            let items = get_path(content, l.path)
                .as_array()
                .cloned()
                .unwrap_or_default();
            let count = match submitted {
                Some(f) => f
                    .get(&format!("{}.rows", l.path))
                    .parse::<usize>()
                    .unwrap_or(0)
                    .min(concord_domain::charter::MAX_ITEMS + BLANK_ROWS),
                None => items.len() + BLANK_ROWS,
            };
            let rows = (0..count)
                .map(|i| {
                    l.cols
                        .iter()
                        .map(|c| {
                            let name = format!("{}.{i}.{}", l.path, c.key);
                            let value = match submitted {
                                Some(f) => f.get(&name).to_string(),
                                None => match items.get(i) {
                                    Some(item) if l.plain => raw(item),
                                    Some(item) => raw(item.get(c.key).unwrap_or(&Value::Null)),
                                    None => String::new(),
                                },
                            };
                            cell(c, name, value, names, errors)
                        })
                        .collect()
                })
                .collect();
            ListForm {
                title: l.title,
                path: l.path,
                headers: l.cols.iter().map(|c| c.label).collect(),
                rows,
                count,
            }
        })
        .collect();
    (scalars, lists)
}

/// One submitted cell as JSON, or the error to show next to it.
fn parse_cell(col: &Col, text: &str) -> Result<Value, String> {
    let t = text.trim();
    if t.is_empty() {
        return match col.kind {
            Kind::Check => Ok(Value::Bool(false)),
            Kind::Text | Kind::Long if col.optional => Ok(Value::String(String::new())),
            _ if col.optional => Ok(Value::Null),
            Kind::Text | Kind::Long => Ok(Value::String(String::new())),
            _ => Err("must not be empty".into()),
        };
    }
    match col.kind {
        Kind::Text | Kind::Long => Ok(Value::String(t.to_string())),
        Kind::Check => Ok(Value::Bool(true)),
        Kind::Number => t
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("must be a number (got \"{t}\")")),
        Kind::Int => t
            .parse::<u32>()
            .map(Value::from)
            .map_err(|_| format!("must be a whole number (got \"{t}\")")),
        Kind::Date => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(|d| Value::String(d.to_string()))
            .map_err(|_| format!("must be a date as YYYY-MM-DD (got \"{t}\")")),
        Kind::Party | Kind::Person => t
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "choose one of the options".to_string()),
        Kind::Choice(c) => {
            if c().iter().any(|(w, _)| *w == t) {
                Ok(Value::String(t.to_string()))
            } else {
                Err(format!("\"{t}\" is not one of the options"))
            }
        }
    }
}

/// Turns the submitted form into the new charter content: the base content with this section's
/// fields replaced. Cell-level problems are returned by input name.
fn apply_form(
    spec: &SectionSpec,
    base: &Value,
    form: &Form,
) -> (Value, Vec<Kept>, Vec<(String, String)>) {
    let mut out = base.clone();
    let mut errors = Vec::new();
    for c in &spec.scalars {
        match parse_cell(c, form.get(c.key)) {
            Ok(v) => set_path(&mut out, c.key, v),
            Err(m) => errors.push((c.key.to_string(), m)),
        }
    }
    let mut kept = Vec::new();
    for l in &spec.lists {
        let count = form
            .get(&format!("{}.rows", l.path))
            .parse::<usize>()
            .unwrap_or(0)
            .min(concord_domain::charter::MAX_ITEMS + BLANK_ROWS);
        let old = get_path(base, l.path)
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut items = Vec::new();
        let mut rows = Vec::new();
        for i in 0..count {
            let name = |c: &Col| format!("{}.{i}.{}", l.path, c.key);
            let blank = l
                .cols
                .iter()
                .filter(|c| !matches!(c.kind, Kind::Check))
                .all(|c| form.get(&name(c)).trim().is_empty());
            if blank {
                continue;
            }
            if l.plain {
                items.push(Value::String(
                    form.get(&name(&l.cols[0])).trim().to_string(),
                ));
            } else {
                let mut obj = Map::new();
                // Keep the stable id of an item edited in place.
                if let Some(id) = form
                    .get(&format!("{}.{i}.id", l.path))
                    .parse::<u64>()
                    .ok()
                    .filter(|id| {
                        old.iter()
                            .any(|o| o.get("id").and_then(Value::as_u64) == Some(*id))
                    })
                {
                    obj.insert("id".into(), Value::from(id));
                }
                for c in &l.cols {
                    match parse_cell(c, form.get(&name(c))) {
                        Ok(v) => {
                            obj.insert(c.key.into(), v);
                        }
                        Err(m) => errors.push((name(c), m)),
                    }
                }
                items.push(Value::Object(obj));
            }
            rows.push(i);
        }
        set_path(&mut out, l.path, Value::Array(items));
        kept.push(Kept { path: l.path, rows });
    }
    (out, kept, errors)
}

#[derive(Deserialize, Default)]
pub struct EditParams {
    section: Option<String>,
}

fn find_section(key: &str) -> Result<SectionSpec, PageError> {
    sections()
        .into_iter()
        .find(|s| s.key == key)
        .ok_or(PageError::NotFound)
}

/// The content a new edit starts from: the open draft, else the effective version, else empty.
fn base_content(record: &CharterRecord) -> (Charter, String) {
    match (record.draft(), record.effective()) {
        (Some(d), _) => (
            d.content.clone(),
            format!("You are editing the open draft, version {}.", d.number),
        ),
        (None, Some(e)) => (
            e.content.clone(),
            format!(
                "Saving creates a new draft from the effective version {}; the effective charter stays in force until every party signs the draft.",
                e.number
            ),
        ),
        (None, None) => (
            Charter::default(),
            "Saving creates the first draft of this charter.".into(),
        ),
    }
}

/// Stable ids ride along as hidden inputs (`metrics.0.id`).
fn ids_of(spec: &SectionSpec, content: &Value, submitted: Option<&Form>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for l in spec.lists.iter().filter(|l| !l.plain) {
        match submitted {
            Some(f) => {
                let count = f
                    .get(&format!("{}.rows", l.path))
                    .parse::<usize>()
                    .unwrap_or(0);
                for i in 0..count.min(concord_domain::charter::MAX_ITEMS + BLANK_ROWS) {
                    let n = format!("{}.{i}.id", l.path);
                    let v = f.get(&n);
                    if !v.is_empty() {
                        out.push((n, v.to_string()));
                    }
                }
            }
            None => {
                for (i, item) in get_path(content, l.path)
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if let Some(id) = item.get("id").and_then(Value::as_u64) {
                        out.push((format!("{}.{i}.id", l.path), id.to_string()));
                    }
                }
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
async fn edit_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    key: &str,
    submitted: Option<&Form>,
    errors: ErrorMap,
    status: StatusCode,
) -> Result<Response, PageError> {
    let spec = find_section(key)?;
    let (p, record) = s.store.charter(&who.actor(), id).await?;
    if !who.acting.role.can_contribute() {
        return Err(PageError::Refused(
            StatusCode::FORBIDDEN,
            "Viewers read the charter; contributors, alliance managers and admins edit it.".into(),
        ));
    }
    let names = names_for(s, &p, &record).await?;
    let (base, base_note) = base_content(&record);
    let content = serde_json::to_value(&base).unwrap_or_default();
    let (scalars, lists) = build_form(&spec, &content, submitted, &names, &errors);
    let hidden = ids_of(&spec, &content, submitted);
    render(
        status,
        &EditPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            section_key: spec.key,
            section_title: spec.title,
            intro: spec.intro,
            base_note,
            scalars,
            lists,
            general_errors: errors.general,
            hidden,
            p,
        },
    )
}

pub async fn edit_form(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    Query(params): Query<EditParams>,
) -> Result<Response, PageError> {
    let key = params.section.unwrap_or_else(|| "summary".into());
    edit_page(
        &s,
        &who,
        PartnershipId(id),
        &key,
        None,
        ErrorMap::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn save(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let id = PartnershipId(id);
    let key = form.get("section").to_string();
    let spec = find_section(&key)?;
    let (_, record) = s.store.charter(&who.actor(), id).await?;
    let (base, _) = base_content(&record);
    let base = serde_json::to_value(&base).unwrap_or_default();
    let (content, kept, cell_errors) = apply_form(&spec, &base, &form);
    let mut errors = ErrorMap::default();
    if !cell_errors.is_empty() {
        errors.by_name = cell_errors;
        return edit_page(
            &s,
            &who,
            id,
            &key,
            Some(&form),
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let charter: Charter = match serde_json::from_value(content) {
        Ok(c) => c,
        Err(e) => {
            errors
                .general
                .push(format!("The form could not be read: {e}"));
            return edit_page(
                &s,
                &who,
                id,
                &key,
                Some(&form),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    match s.store.save_charter_draft(&who.actor(), id, &charter).await {
        Ok(_) => Ok(see_other(&format!(
            "/partnerships/{id}/charter?done=saved#{key}"
        ))),
        Err(StoreError::Validation(v)) => {
            place_errors(&mut errors, &v, &kept, &spec);
            edit_page(
                &s,
                &who,
                id,
                &key,
                Some(&form),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(StoreError::Conflict { message, .. } | StoreError::Refused { message, .. }) => {
            errors.general.push(message);
            edit_page(
                &s,
                &who,
                id,
                &key,
                Some(&form),
                errors,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e @ StoreError::Archived { .. }) => {
            errors.general.push(e.to_string());
            edit_page(
                &s,
                &who,
                id,
                &key,
                Some(&form),
                errors,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn place_errors(errors: &mut ErrorMap, v: &ValidationErrors, kept: &[Kept], spec: &SectionSpec) {
    for e in v.errors() {
        match input_name(&e.field, kept, spec) {
            Some(name) => errors.by_name.push((name, e.message.clone())),
            None => errors.general.push(format!("{}: {}", e.field, e.message)),
        }
    }
}

// ---------------------------------------------------------------- diff

struct DiffRow {
    section: String,
    kind: &'static str,
    kind_class: &'static str,
    item: String,
    field: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "charter_diff.html")]
struct DiffPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    from: u32,
    to: u32,
    rows: Vec<DiffRow>,
    error: String,
}

#[derive(Deserialize, Default)]
pub struct DiffParams {
    from: Option<String>,
    to: Option<String>,
}

pub async fn diff(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    Query(params): Query<DiffParams>,
) -> Result<Response, PageError> {
    let (p, record) = s.store.charter(&who.actor(), PartnershipId(id)).await?;
    let names = names_for(&s, &p, &record).await?;
    let num = |v: Option<&str>| v.and_then(|v| v.trim().parse::<u32>().ok()).unwrap_or(0);
    let (from, to) = (num(params.from.as_deref()), num(params.to.as_deref()));
    let (rows, error, status) = match crate::api::charter::compare(&record, from, to) {
        Ok(d) => (
            d.changes.into_iter().map(|c| diff_row(c, &names)).collect(),
            String::new(),
            StatusCode::OK,
        ),
        Err(e) => (
            Vec::new(),
            e.problem().detail.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    render(
        status,
        &DiffPage {
            active: "partnerships",
            chrome: Chrome::load(&s, &who).await?,
            p,
            from,
            to,
            rows,
            error,
        },
    )
}

/// A diff value in words: party and person ids become names.
fn diff_value(field: Option<&str>, text: Option<String>, names: &Names) -> String {
    let Some(text) = text else {
        return String::new();
    };
    let name_of = |k: &str, v: &Value| match (k, v.as_i64()) {
        ("party" | "owner" | "from" | "to", Some(i)) => names.party(i),
        ("user_id", Some(i)) => names.person(i),
        _ => raw(v),
    };
    match (field, serde_json::from_str::<Value>(&text)) {
        (Some(f), Ok(v)) => name_of(f, &v),
        (None, Ok(Value::Object(o))) => o
            .iter()
            .filter(|(k, v)| *k != "id" && !v.is_null() && !raw(v).is_empty())
            .map(|(k, v)| format!("{}: {}", k.replace('_', " "), name_of(k, v)))
            .collect::<Vec<_>>()
            .join(" · "),
        _ => text,
    }
}

fn diff_row(c: Change, names: &Names) -> DiffRow {
    DiffRow {
        section: c.section_title,
        kind: c.kind.label(),
        kind_class: c.kind.as_str(),
        before: diff_value(c.field.as_deref(), c.before, names),
        after: diff_value(c.field.as_deref(), c.after, names),
        item: c.item,
        field: c.field.unwrap_or_default().replace('_', " "),
    }
}
