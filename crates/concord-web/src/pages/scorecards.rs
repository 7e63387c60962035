//! Fit scorecard pages: the list, starting a scorecard (from an ecosystem organization or from a
//! market-scan candidate), the scorecard itself (criteria with evidence and explanations, gates,
//! warnings, the explained total, the judgement form and the promote button), the weights and
//! gates form, and the competitor list. All private to the acting organization: another
//! organization's scorecard is "not found".

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use concord_domain::market::scorecard::{
    CompetitorInput, Criterion, FitProfile, JudgementInput, JudgementsInput, NewScorecardInput,
    PromoteInput, Scorecard, ScorecardSummary, SettingsInput, Verdict, PRICE_NOTE,
};
use concord_domain::organization::OrganizationFilter;
use concord_domain::paging::PageRequest;
use concord_domain::partnership::PartnershipType;
use concord_domain::ValidationErrors;

use super::forms::enum_options;
use super::{form_errors, render, see_other, Chrome, Opt, PageError, PageId};
use crate::auth::{PageAuth, Principal};
use crate::extract::Form;
use crate::AppState;

/// "72.4" or "—".
fn score_text(s: Option<f64>) -> String {
    s.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into())
}

fn num_text(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// Every error message, "field: message", for the summary at the top of a form.
fn messages(e: &ValidationErrors) -> Vec<String> {
    e.errors()
        .iter()
        .map(|f| format!("{}: {}", f.field.replace('_', " "), f.message))
        .collect()
}

/// The first error on `field` or under it (`field.…`).
fn error_under(e: &ValidationErrors, field: &str) -> String {
    e.errors()
        .iter()
        .find(|f| f.field == field || f.field.starts_with(&format!("{field}.")))
        .map(|f| f.message.clone())
        .unwrap_or_default()
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::StrongFit => "sc-strong",
        Verdict::PossibleFit => "sc-possible",
        Verdict::WeakFit => "sc-weak",
        Verdict::FailsGate => "sc-fails",
        Verdict::NotEnoughData => "sc-nodata",
    }
}

fn kind_label(kind: &str) -> String {
    kind.parse::<concord_domain::organization::OrgKind>()
        .map(|k| k.label().to_string())
        .unwrap_or_else(|_| {
            let mut s = kind.replace('_', " ");
            if let Some(f) = s.get_mut(..1) {
                f.make_ascii_uppercase();
            }
            s
        })
}

// ---------------------------------------------------------------- list

struct ListRow {
    id: i64,
    name: String,
    kind: String,
    locality: String,
    source: String,
    total: String,
    verdict: String,
    verdict_class: &'static str,
    failed_gates: usize,
    partnership_id: Option<i64>,
}

impl From<ScorecardSummary> for ListRow {
    fn from(s: ScorecardSummary) -> Self {
        ListRow {
            id: s.id,
            name: s.candidate_name,
            kind: kind_label(&s.candidate_kind),
            locality: s.locality,
            source: if s.source == "organization" {
                "Ecosystem".into()
            } else {
                format!("Public data ({})", s.source)
            },
            total: score_text(s.total),
            verdict: s.verdict.label().to_string(),
            verdict_class: verdict_class(s.verdict),
            failed_gates: s.failed_gates,
            partnership_id: s.partnership_id.map(|p| p.0),
        }
    }
}

#[derive(Template)]
#[template(path = "scorecards.html")]
struct ListPage {
    active: &'static str,
    chrome: Chrome,
    rows: Vec<ListRow>,
    orgs: Vec<Opt>,
    price_note: &'static str,
    can_write: bool,
}

/// Up to 100 ecosystem organizations other than the acting one, by name, for pickers.
async fn org_options(s: &AppState, who: &Principal) -> Result<Vec<Opt>, PageError> {
    let page = s
        .store
        .list_organizations(
            &OrganizationFilter::default(),
            PageRequest::new(Some(1), Some(concord_domain::paging::MAX_PER_PAGE))
                .map_err(|_| PageError::Refused(StatusCode::BAD_REQUEST, "page size".into()))?,
        )
        .await?;
    Ok(page
        .items
        .into_iter()
        .filter(|o| o.id != who.acting.org_id)
        .map(|o| Opt::new(o.id.to_string(), o.name, false))
        .collect())
}

pub async fn list(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
) -> Result<Response, PageError> {
    let rows = s
        .store
        .scorecard_summaries(&who.actor())
        .await?
        .into_iter()
        .map(ListRow::from)
        .collect();
    render(
        StatusCode::OK,
        &ListPage {
            active: "scorecards",
            chrome: Chrome::load(&s, &who).await?,
            rows,
            orgs: org_options(&s, &who).await?,
            price_note: PRICE_NOTE,
            can_write: who.acting.role.can_contribute(),
        },
    )
}

// ---------------------------------------------------------------- new

/// What the market scan (or an organization's page) links to.
#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    pub source: Option<String>,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub organization_id: Option<String>,
}

struct Fact {
    label: &'static str,
    value: String,
}

fn facts(p: &FitProfile) -> Vec<Fact> {
    let mut out = vec![
        Fact {
            label: "Kind",
            value: kind_label(&p.kind),
        },
        Fact {
            label: "Location",
            value: [p.address.clone().unwrap_or_default(), p.locality()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
        },
    ];
    let mut push = |label, v: Option<String>| {
        if let Some(value) = v.filter(|v| !v.is_empty()) {
            out.push(Fact { label, value });
        }
    };
    push("NPI", p.npi.clone());
    push("CCN", p.ccn.clone());
    push("Providers", p.size.providers.map(|v| v.to_string()));
    push("Beds", p.size.beds.map(|v| v.to_string()));
    push("Covered lives", p.size.covered_lives.map(|v| v.to_string()));
    push(
        "Revenue",
        p.size.revenue_band.map(|b| b.label().to_string()),
    );
    push("Facility type", p.facility_type.clone());
    push("Ownership", p.ownership.clone());
    push(
        "CMS star rating",
        p.star_rating.map(|s| format!("{s} of 5")),
    );
    push("Capabilities", Some(p.capabilities_offered.join(", ")));
    push("Specialties", Some(p.specialties.join(", ")));
    push("Values", Some(p.values.join(", ")));
    out
}

#[derive(Template)]
#[template(path = "scorecard_new.html")]
struct NewPage {
    active: &'static str,
    chrome: Chrome,
    name: String,
    facts: Vec<Fact>,
    source: String,
    reference: String,
    organization_id: String,
    existing: Option<i64>,
    errors: Vec<String>,
    found: bool,
    price_note: &'static str,
}

pub async fn new_form(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    let input = new_input(&q);
    new_page(&s, &who, &input, ValidationErrors::new()).await
}

fn new_input(q: &NewQuery) -> NewScorecardInput {
    NewScorecardInput {
        organization_id: q
            .organization_id
            .as_deref()
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().parse::<i64>().unwrap_or(0)),
        source: q.source.clone(),
        reference: q.reference.clone(),
    }
}

async fn new_page(
    s: &AppState,
    who: &Principal,
    input: &NewScorecardInput,
    mut errors: ValidationErrors,
) -> Result<Response, PageError> {
    let mut profile: Option<FitProfile> = None;
    let mut key: Option<(String, String)> = None;
    match input.validate() {
        Err(e) => errors.extend_prefixed("", e),
        Ok(concord_domain::market::scorecard::CandidateRef::Organization(id)) => {
            match s.store.get_organization(id).await {
                Ok(o) => {
                    profile = Some(concord_storage::scorecards::fit_profile_of(&o));
                    key = Some(("organization".into(), id.0.to_string()));
                }
                Err(concord_storage::StoreError::NotFound { .. }) => errors.add(
                    "organization_id",
                    "unknown_organization",
                    format!("there is no organization {id}"),
                ),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(concord_domain::market::scorecard::CandidateRef::Market { source, reference }) => {
            match s
                .store
                .market_candidate_profile(&source, &reference)
                .await?
            {
                Some(p) => {
                    profile = Some(p);
                    key = Some((source, reference));
                }
                None => errors.add(
                    "ref",
                    "unknown_candidate",
                    format!("no candidate `{reference}` in the current `{source}` data"),
                ),
            }
        }
    }
    let existing = match &key {
        Some((src, r)) => s
            .store
            .scorecard_summaries(&who.actor())
            .await?
            .into_iter()
            .find(|x| &x.source == src && &x.reference == r)
            .map(|x| x.id),
        None => None,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &NewPage {
            active: "scorecards",
            chrome: Chrome::load(s, who).await?,
            name: profile.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            facts: profile.as_ref().map(facts).unwrap_or_default(),
            found: profile.is_some(),
            source: input.source.clone().unwrap_or_default(),
            reference: input.reference.clone().unwrap_or_default(),
            organization_id: input
                .organization_id
                .map(|i| i.to_string())
                .unwrap_or_default(),
            existing,
            errors: messages(&errors),
            price_note: PRICE_NOTE,
        },
    )
}

pub async fn create(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    form: Form,
) -> Result<Response, PageError> {
    let q = NewQuery {
        source: Some(form.get("source").to_string()),
        reference: Some(form.get("ref").to_string()),
        organization_id: Some(form.get("organization_id").to_string()),
    };
    let input = new_input(&q);
    match s.store.create_scorecard(&who.actor(), &input).await {
        Ok(sc) => Ok(see_other(&format!("/scorecards/{}", sc.id))),
        Err(e) => {
            let errors = form_errors(e)?;
            new_page(&s, &who, &input, errors).await
        }
    }
}

// ---------------------------------------------------------------- one scorecard

struct CriterionRow {
    code: &'static str,
    label: &'static str,
    description: &'static str,
    score: String,
    bar: u32,
    explanation: String,
    evidence: String,
    weight: String,
    contribution: String,
    takes_judgement: bool,
    judgement_options: Vec<Opt>,
    error: String,
}

struct GateRow {
    label: &'static str,
    threshold: String,
    score: String,
    passed: bool,
    message: String,
}

#[derive(Template)]
#[template(path = "scorecard.html")]
struct DetailPage {
    active: &'static str,
    chrome: Chrome,
    id: i64,
    name: String,
    kind: String,
    locality: String,
    source: String,
    candidate_org: Option<i64>,
    facts: Vec<Fact>,
    rows: Vec<CriterionRow>,
    gates: Vec<GateRow>,
    warnings: Vec<String>,
    total: String,
    verdict: String,
    verdict_class: &'static str,
    explanation: Vec<String>,
    price_note: &'static str,
    partnership_id: Option<i64>,
    types: Vec<Opt>,
    promote_name: String,
    promote_purpose: String,
    judge_errors: Vec<String>,
    promote_errors: Vec<String>,
    can_judge: bool,
    can_promote: bool,
}

#[derive(Default)]
struct Typed<'a> {
    form: Option<&'a Form>,
    judge_errors: ValidationErrors,
    promote_errors: ValidationErrors,
}

async fn detail(
    s: &AppState,
    who: &Principal,
    status: StatusCode,
    sc: Scorecard,
    typed: Typed<'_>,
) -> Result<Response, PageError> {
    let f = typed.form;
    let rows = sc
        .evaluation
        .criteria
        .iter()
        .map(|c| {
            let code = c.criterion.as_str();
            let chosen = match f {
                Some(f) if f.get("action") == "judge" => f.get(&format!("j_{code}")).to_string(),
                _ => c.judgement.map(|j| j.to_string()).unwrap_or_default(),
            };
            let evidence = match f {
                Some(f) if f.get("action") == "judge" => f.get(&format!("e_{code}")).to_string(),
                _ => c.evidence.clone(),
            };
            let mut judgement_options = vec![Opt::new("", "Not judged", chosen.is_empty())];
            for (v, l) in [
                ("1", "1 — poor"),
                ("2", "2"),
                ("3", "3 — fair"),
                ("4", "4"),
                ("5", "5 — excellent"),
            ] {
                judgement_options.push(Opt::new(v, l, chosen == v));
            }
            CriterionRow {
                code,
                label: c.criterion.label(),
                description: c.criterion.description(),
                score: score_text(c.score),
                bar: c.score.map(|v| v.round() as u32).unwrap_or(0),
                explanation: c.explanation.clone(),
                evidence,
                weight: num_text(c.weight),
                contribution: format!("{:.1}", c.contribution),
                takes_judgement: c.criterion.takes_judgement(),
                judgement_options,
                error: error_under(&typed.judge_errors, &format!("criteria.{code}")),
            }
        })
        .collect();
    let gates = sc
        .evaluation
        .gates
        .iter()
        .map(|g| GateRow {
            label: g.criterion.label(),
            threshold: num_text(g.threshold),
            score: score_text(g.score),
            passed: g.passed,
            message: g.message.clone(),
        })
        .collect();
    let chosen_type = f.map(|f| f.get("type").to_string()).unwrap_or_default();
    let p = &sc.candidate.profile;
    render(
        status,
        &DetailPage {
            active: "scorecards",
            chrome: Chrome::load(s, who).await?,
            id: sc.id,
            name: p.name.clone(),
            kind: kind_label(&p.kind),
            locality: p.locality(),
            source: if sc.candidate.source == "organization" {
                "an ecosystem organization".into()
            } else {
                format!(
                    "public data ({} {}), snapshotted when this scorecard was started",
                    sc.candidate.source, sc.candidate.reference
                )
            },
            candidate_org: sc.candidate.organization_id.map(|o| o.0),
            facts: facts(p),
            rows,
            gates,
            warnings: sc.evaluation.warnings.clone(),
            total: score_text(sc.evaluation.total),
            verdict: sc.evaluation.verdict.label().to_string(),
            verdict_class: verdict_class(sc.evaluation.verdict),
            explanation: sc.evaluation.explanation.clone(),
            price_note: PRICE_NOTE,
            partnership_id: sc.partnership_id.map(|p| p.0),
            types: enum_options(
                PartnershipType::ALL,
                PartnershipType::as_str,
                PartnershipType::label,
                &chosen_type,
                Some("Choose…"),
            ),
            promote_name: f.map(|f| f.get("name").to_string()).unwrap_or_default(),
            promote_purpose: f.map(|f| f.get("purpose").to_string()).unwrap_or_default(),
            judge_errors: messages(&typed.judge_errors),
            promote_errors: messages(&typed.promote_errors),
            can_judge: who.acting.role.can_contribute(),
            can_promote: who.acting.role.can_manage_partnerships(),
        },
    )
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
) -> Result<Response, PageError> {
    let sc = s.store.get_scorecard(&who.actor(), id).await?;
    detail(&s, &who, StatusCode::OK, sc, Typed::default()).await
}

pub async fn judge(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let mut input = JudgementsInput::default();
    for c in Criterion::ALL {
        let code = c.as_str();
        let j = form.get(&format!("j_{code}")).trim();
        let judgement = if j.is_empty() {
            None
        } else {
            // Anything that is not a number is out of range, and said so next to the input.
            Some(j.parse::<i64>().unwrap_or(0))
        };
        let evidence = form.get(&format!("e_{code}")).to_string();
        if judgement.is_some() || !evidence.trim().is_empty() {
            input.criteria.insert(
                code.to_string(),
                JudgementInput {
                    judgement,
                    evidence,
                },
            );
        }
    }
    match s.store.update_judgements(&who.actor(), id, &input).await {
        Ok(_) => Ok(see_other(&format!("/scorecards/{id}#criteria"))),
        Err(e) => {
            let judge_errors = form_errors(e)?;
            let sc = s.store.get_scorecard(&who.actor(), id).await?;
            let typed = Typed {
                form: Some(&form),
                judge_errors,
                ..Typed::default()
            };
            detail(&s, &who, StatusCode::UNPROCESSABLE_ENTITY, sc, typed).await
        }
    }
}

pub async fn promote(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let partnership_type = form.get("type").parse::<PartnershipType>();
    let result = match partnership_type {
        Ok(partnership_type) => {
            let input = PromoteInput {
                partnership_type,
                name: Some(form.get("name").to_string()).filter(|n| !n.trim().is_empty()),
                purpose: form.get("purpose").to_string(),
            };
            s.store.promote_scorecard(&who.actor(), id, &input).await
        }
        Err(_) => {
            // Who asks is checked before what was sent, as on every other form.
            s.store.get_scorecard(&who.actor(), id).await?;
            if !who.acting.role.can_manage_partnerships() {
                return Err(PageError::Refused(
                    StatusCode::FORBIDDEN,
                    "Only alliance managers and admins promote candidates.".into(),
                ));
            }
            Err(ValidationErrors::single("type", "required", "choose a partnership type").into())
        }
    };
    match result {
        Ok(p) => Ok(see_other(&format!("/partnerships/{}", p.partnership_id))),
        Err(e) => {
            let status = match &e {
                concord_storage::StoreError::Refused { .. } => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let promote_errors = form_errors(e)?;
            let sc = s.store.get_scorecard(&who.actor(), id).await?;
            let typed = Typed {
                form: Some(&form),
                promote_errors,
                ..Typed::default()
            };
            detail(&s, &who, status, sc, typed).await
        }
    }
}

// ---------------------------------------------------------------- settings

struct SettingRow {
    code: &'static str,
    label: &'static str,
    description: &'static str,
    weight: String,
    gate: String,
    weight_error: String,
    gate_error: String,
}

#[derive(Template)]
#[template(path = "scorecard_settings.html")]
struct SettingsPage {
    active: &'static str,
    chrome: Chrome,
    rows: Vec<SettingRow>,
    errors: Vec<String>,
    price_note: &'static str,
    can_edit: bool,
    saved: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    pub saved: Option<String>,
}

async fn settings_page(
    s: &AppState,
    who: &Principal,
    status: StatusCode,
    form: Option<&Form>,
    errors: &ValidationErrors,
    saved: bool,
) -> Result<Response, PageError> {
    let settings = s.store.scorecard_settings(&who.actor()).await?;
    let rows = Criterion::ALL
        .iter()
        .map(|c| {
            let code = c.as_str();
            SettingRow {
                code,
                label: c.label(),
                description: c.description(),
                weight: match form {
                    Some(f) => f.get(&format!("w_{code}")).to_string(),
                    None => num_text(settings.weight(*c)),
                },
                gate: match form {
                    Some(f) => f.get(&format!("g_{code}")).to_string(),
                    None => settings
                        .gates
                        .get(c)
                        .map(|t| num_text(*t))
                        .unwrap_or_default(),
                },
                weight_error: error_under(errors, &format!("weights.{code}")),
                gate_error: error_under(errors, &format!("gates.{code}")),
            }
        })
        .collect();
    render(
        status,
        &SettingsPage {
            active: "scorecards",
            chrome: Chrome::load(s, who).await?,
            rows,
            errors: messages(errors),
            price_note: PRICE_NOTE,
            can_edit: who.acting.role.can_manage_partnerships(),
            saved,
        },
    )
}

pub async fn settings(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    settings_page(
        &s,
        &who,
        StatusCode::OK,
        None,
        &ValidationErrors::new(),
        q.saved.is_some(),
    )
    .await
}

/// A number typed in a form; anything unreadable becomes NaN, which validation names.
fn typed_number(v: &str) -> Option<f64> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.parse::<f64>().unwrap_or(f64::NAN))
}

pub async fn save_settings(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    form: Form,
) -> Result<Response, PageError> {
    let mut input = SettingsInput::default();
    for c in Criterion::ALL {
        let code = c.as_str();
        if let Some(w) = typed_number(form.get(&format!("w_{code}"))) {
            input.weights.insert(code.to_string(), w);
        }
        if let Some(g) = typed_number(form.get(&format!("g_{code}"))) {
            input.gates.insert(code.to_string(), g);
        }
    }
    match s.store.put_scorecard_settings(&who.actor(), &input).await {
        Ok(_) => Ok(see_other("/scorecard-settings?saved=1")),
        Err(e) => {
            let errors = form_errors(e)?;
            settings_page(
                &s,
                &who,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&form),
                &errors,
                false,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- competitors

struct CompetitorRow {
    id: i64,
    organization_id: i64,
    name: String,
    kind: String,
    locality: String,
    note: String,
}

#[derive(Template)]
#[template(path = "ecosystem_competitors.html")]
struct CompetitorsPage {
    active: &'static str,
    chrome: Chrome,
    rows: Vec<CompetitorRow>,
    orgs: Vec<Opt>,
    note: String,
    errors: Vec<String>,
    can_write: bool,
}

async fn competitors_page(
    s: &AppState,
    who: &Principal,
    status: StatusCode,
    form: Option<&Form>,
    errors: &ValidationErrors,
) -> Result<Response, PageError> {
    let rows = s
        .store
        .competitors(&who.actor())
        .await?
        .into_iter()
        .map(|c| CompetitorRow {
            id: c.id,
            organization_id: c.organization_id.0,
            name: c.name,
            kind: kind_label(&c.kind),
            locality: c.locality,
            note: c.note,
        })
        .collect();
    let chosen = form.map(|f| f.get("organization_id")).unwrap_or("");
    let orgs = org_options(s, who)
        .await?
        .into_iter()
        .map(|mut o| {
            o.selected = o.value == chosen;
            o
        })
        .collect();
    render(
        status,
        &CompetitorsPage {
            active: "scorecards",
            chrome: Chrome::load(s, who).await?,
            rows,
            orgs,
            note: form.map(|f| f.get("note").to_string()).unwrap_or_default(),
            errors: messages(errors),
            can_write: who.acting.role.can_contribute(),
        },
    )
}

pub async fn competitors(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
) -> Result<Response, PageError> {
    competitors_page(&s, &who, StatusCode::OK, None, &ValidationErrors::new()).await
}

pub async fn add_competitor(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    form: Form,
) -> Result<Response, PageError> {
    let input = CompetitorInput {
        organization_id: form.get("organization_id").trim().parse().unwrap_or(0),
        note: form.get("note").to_string(),
    };
    match s.store.add_competitor(&who.actor(), &input).await {
        Ok(_) => Ok(see_other("/competitors")),
        Err(e) => {
            let status = match &e {
                concord_storage::StoreError::Conflict { .. } => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let errors = form_errors(e)?;
            competitors_page(&s, &who, status, Some(&form), &errors).await
        }
    }
}

pub async fn remove_competitor(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
) -> Result<Response, PageError> {
    s.store.remove_competitor(&who.actor(), id).await?;
    Ok(see_other("/competitors"))
}
