use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use concord_domain::organization::OrganizationFilter;
use concord_domain::paging::PageRequest;
use concord_domain::partnership::{PartnershipFilter, PartnershipSort, Stage};
use concord_domain::PartnershipId;

use super::partnerships::party_names;
use super::{render, Chrome, PageError};
use crate::auth::PageAuth;
use crate::AppState;

struct Bar {
    key: &'static str,
    label: &'static str,
    count: i64,
    y: i64,
    width: i64,
}

struct Recent {
    id: PartnershipId,
    name: String,
    stage: Stage,
    parties: String,
    type_label: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    active: &'static str,
    chrome: Chrome,
    total_partnerships: i64,
    active_partnerships: i64,
    pipeline_partnerships: i64,
    organizations: u64,
    stage_bars: Vec<Bar>,
    chart_height: i64,
    chart_max: i64,
    recent: Vec<Recent>,
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
) -> Result<Response, PageError> {
    let actor = who.actor();
    let counts = s.store.partnership_stage_counts(&actor).await?;
    let count_of = |st: Stage| counts.iter().find(|(s, _)| *s == st).map_or(0, |(_, n)| *n);
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let stage_bars: Vec<Bar> = counts
        .iter()
        .enumerate()
        .map(|(i, (st, n))| Bar {
            key: st.as_str(),
            label: st.label(),
            count: *n,
            y: 4 + 28 * i as i64,
            width: n * 260 / max,
        })
        .collect();
    let chart_height = 4 + 28 * stage_bars.len() as i64 + 22;
    let recent = s
        .store
        .list_partnerships(
            &actor,
            &PartnershipFilter::default(),
            PartnershipSort::UpdatedDesc,
            PageRequest::new(Some(1), Some(6)).unwrap_or_default(),
        )
        .await?
        .items
        .into_iter()
        .map(|p| Recent {
            parties: party_names(&p),
            type_label: p.partnership_type.label(),
            id: p.id,
            name: p.name,
            stage: p.stage,
        })
        .collect();
    let organizations = s
        .store
        .list_organizations(
            &OrganizationFilter::default(),
            PageRequest::new(Some(1), Some(1)).unwrap_or_default(),
        )
        .await?
        .total;
    render(
        StatusCode::OK,
        &DashboardPage {
            active: "dashboard",
            chrome: Chrome::load(&s, &who).await?,
            total_partnerships: counts.iter().map(|(_, n)| n).sum(),
            active_partnerships: count_of(Stage::Active) + count_of(Stage::UnderReview),
            pipeline_partnerships: count_of(Stage::Exploring)
                + count_of(Stage::Assessing)
                + count_of(Stage::Negotiating),
            organizations,
            stage_bars,
            chart_height,
            chart_max: max,
            recent,
        },
    )
}
