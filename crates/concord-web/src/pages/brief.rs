//! The partner brief: the one page a newcomer reads first. Purpose; the parties and their
//! business-model profiles; the charter's summary and verdict; the stakes ledger; current
//! health; open risks (shared and the reader's own private ones); key people with any
//! continuity alerts; the ten most recent decisions of meetings and reviews. Print-friendly.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;

use concord_domain::health::{RiskStatus, StakeholderStatus, Visibility};
use concord_domain::partnership::Partnership;
use concord_domain::PartnershipId;

use super::operations::{day, party_name};
use super::{render, Chrome, PageError, PageId};
use crate::api::ledger::today;
use crate::auth::PageAuth;
use crate::AppState;

/// Decisions shown at most.
const MAX_DECISIONS: usize = 10;

struct PartyBrief {
    id: i64,
    name: String,
    role: String,
    kind: &'static str,
    revenue_model: String,
    decision_making: String,
    objectives: Vec<String>,
    constraints: Vec<String>,
    payer_mix: String,
}

struct StakeRow {
    party: String,
    kind: &'static str,
    kind_label: &'static str,
    description: String,
    magnitude: &'static str,
}

struct DriverRow {
    label: String,
    weight: String,
    contribution: String,
    detail: String,
}

struct HealthView {
    score: String,
    trend: &'static str,
    drivers: Vec<DriverRow>,
    warnings: Vec<String>,
}

struct RiskRow {
    title: String,
    category: &'static str,
    severity: u8,
    high: bool,
    private: bool,
    status: &'static str,
    owner: String,
    mitigation: String,
}

struct PersonRow {
    name: String,
    role: &'static str,
    org: String,
    title: String,
}

struct DecisionRow {
    on: NaiveDate,
    date: String,
    source: String,
    link: String,
    text: String,
}

#[derive(Template)]
#[template(path = "brief.html")]
struct BriefPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    parties: Vec<PartyBrief>,
    charter_summary: String,
    charter_status: String,
    verdict_label: &'static str,
    verdict_class: &'static str,
    verdict_summary: String,
    stakes: Vec<StakeRow>,
    health: HealthView,
    risks: Vec<RiskRow>,
    people: Vec<PersonRow>,
    alerts: Vec<String>,
    decisions: Vec<DecisionRow>,
}

fn one_decimal(v: f64) -> String {
    format!("{v:.1}")
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
) -> Result<Response, PageError> {
    let actor = who.actor();
    let id = PartnershipId(id);
    let day_now = today();
    let p = s.store.get_partnership(&actor, id).await?;

    let mut parties = Vec::new();
    for party in &p.parties {
        let o = s.store.get_organization(party.organization_id).await?;
        let bm = &o.profile.business_model;
        parties.push(PartyBrief {
            id: party.organization_id.0,
            name: party.organization_name.clone(),
            role: party.role.clone(),
            kind: o.profile.kind.label(),
            revenue_model: bm
                .revenue_model
                .map(|r| r.label().to_string())
                .unwrap_or_else(|| "Not recorded".into()),
            decision_making: bm
                .decision_making
                .clone()
                .unwrap_or_else(|| "Not recorded".into()),
            objectives: bm.enterprise_objectives.clone(),
            constraints: bm.constraints.clone(),
            payer_mix: bm
                .payer_mix
                .iter()
                .map(|x| format!("{} {:.0}%", x.payer.label(), x.share_pct))
                .collect::<Vec<_>>()
                .join(" · "),
        });
    }

    let record = s.store.charter_of(&p).await?;
    let verdict = record.verdict(None);
    let current = record.current();
    let charter_summary = current
        .map(|v| v.content.summary.clone())
        .unwrap_or_default();
    let charter_status = match (record.effective(), record.draft()) {
        (Some(e), _) => format!("Version {} is in force, signed by every party.", e.number),
        (None, Some(d)) => format!("Draft version {} awaits signatures.", d.number),
        (None, None) => "No charter yet.".into(),
    };
    let effective = s.store.effective_charter(id).await?;
    let stakes = effective
        .as_ref()
        .map(|c| {
            c.content
                .stakes
                .iter()
                .map(|st| StakeRow {
                    party: party_name(&p, st.party),
                    kind: st.kind.as_str(),
                    kind_label: st.kind.label(),
                    description: st.description.clone(),
                    magnitude: st.magnitude.label(),
                })
                .collect()
        })
        .unwrap_or_default();

    let (_, h) = s.store.partnership_health(&actor, id).await?;
    let health = HealthView {
        score: h
            .score
            .map(|x| format!("{x:.0}"))
            .unwrap_or_else(|| "—".into()),
        trend: h.trend.direction.label(),
        drivers: h
            .drivers
            .iter()
            .map(|d| DriverRow {
                label: d.label.clone(),
                weight: one_decimal(d.weight),
                contribution: one_decimal(d.contribution),
                detail: d.detail.clone(),
            })
            .collect(),
        warnings: h.warnings.iter().map(|w| w.message.clone()).collect(),
    };

    let (_, risk_list) = s.store.risks(&actor, id).await?;
    let risks = risk_list
        .iter()
        .filter(|r| r.status != RiskStatus::Closed)
        .map(|r| RiskRow {
            title: r.title.clone(),
            category: r.category.label(),
            severity: r.severity,
            high: r.high,
            private: r.visibility == Visibility::Private,
            status: r.status.label(),
            owner: match (r.owner_org_id, r.owner_name.is_empty()) {
                (Some(o), true) => party_name(&p, o),
                (Some(o), false) => format!("{} · {}", party_name(&p, o), r.owner_name),
                (None, _) => r.owner_name.clone(),
            },
            mitigation: r.mitigation.clone(),
        })
        .collect();

    let (_, roster) = s.store.stakeholders(&actor, id, day_now).await?;
    let people = roster
        .people
        .iter()
        .filter(|x| x.status == StakeholderStatus::Active && x.role.is_key())
        .map(|x| PersonRow {
            name: x.name.clone(),
            role: x.role.label(),
            org: party_name(&p, x.organization_id),
            title: x.title.clone(),
        })
        .collect();
    let alerts = roster
        .alerts
        .iter()
        .map(|a| {
            format!(
                "{} {} of {} left on {} — successor: {}, briefed: no; {} open task{}",
                a.role.label(),
                a.name,
                party_name(&p, a.organization_id),
                day(a.departed_on),
                a.successor
                    .as_ref()
                    .map(|x| x.name.as_str())
                    .unwrap_or("none"),
                a.open_tasks,
                if a.open_tasks == 1 { "" } else { "s" }
            )
        })
        .collect();

    let mut decisions: Vec<DecisionRow> = Vec::new();
    for m in s.store.meetings(&actor, id, day_now).await? {
        for d in &m.decisions {
            decisions.push(DecisionRow {
                on: m.held_on,
                date: day(m.held_on),
                source: format!("{} meeting", m.kind.label()),
                link: format!("/partnerships/{id}/meetings#meeting-{}", m.id),
                text: d.clone(),
            });
        }
    }
    for r in s.store.reviews(&actor, id, day_now).await?.reviews {
        if let (Some(d), Some(at)) = (r.decision, r.decided_at) {
            let on = at.date_naive();
            decisions.push(DecisionRow {
                on,
                date: day(on),
                source: format!("Review {}", r.number),
                link: format!("/partnerships/{id}/reviews/{}", r.number),
                text: if r.rationale.is_empty() {
                    d.label().to_string()
                } else {
                    format!("{}: {}", d.label(), r.rationale)
                },
            });
        }
    }
    decisions.sort_by_key(|d| std::cmp::Reverse(d.on));
    decisions.truncate(MAX_DECISIONS);

    render(
        StatusCode::OK,
        &BriefPage {
            active: "partnerships",
            chrome: Chrome::load(&s, &who).await?,
            parties,
            charter_summary,
            charter_status,
            verdict_label: verdict.verdict.label(),
            verdict_class: verdict.verdict.as_str(),
            verdict_summary: verdict.summary,
            stakes,
            health,
            risks,
            people,
            alerts,
            decisions,
            p,
        },
    )
}
