//! The adjacency page: for an organization's own service lines, the partner capabilities that
//! complement them, grouped by relation, each linking to a market scan for that capability.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use concord_domain::market::adjacency::AdjacencyRelation;

use super::{render, Chrome, PageError};
use crate::api::adjacency::{view, SuggestionView};
use crate::auth::PageAuth;
use crate::AppState;

/// `?org=ID` (default: the acting organization).
#[derive(Debug, Deserialize)]
pub struct AdjacencyParams {
    pub org: Option<String>,
}

/// The suggestions of one relation.
struct Group {
    relation: AdjacencyRelation,
    items: Vec<SuggestionView>,
}

#[derive(Template)]
#[template(path = "adjacency.html")]
struct AdjacencyPage {
    active: &'static str,
    chrome: Chrome,
    org_id: i64,
    org_name: String,
    offered: Vec<String>,
    groups: Vec<Group>,
    total: usize,
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    Query(q): Query<AdjacencyParams>,
) -> Result<Response, PageError> {
    let org = match q.org.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => who.acting.org_id.0,
        Some(v) => v.parse::<i64>().map_err(|_| PageError::NotFound)?,
    };
    let v = view(&s, org).await.map_err(|e| {
        if e.status() == StatusCode::NOT_FOUND {
            PageError::NotFound
        } else {
            PageError::Refused(e.status(), e.problem().detail.clone())
        }
    })?;
    let catalogue = s.store.list_capabilities().await?;
    let offered = v
        .capabilities_offered
        .iter()
        .map(|c| {
            catalogue
                .iter()
                .find(|x| &x.code == c)
                .map_or_else(|| c.to_string(), |x| x.name.clone())
        })
        .collect();
    let total = v.suggestions.len();
    let groups = AdjacencyRelation::ALL
        .iter()
        .map(|r| Group {
            relation: *r,
            items: v
                .suggestions
                .iter()
                .filter(|x| x.relation == *r)
                .cloned()
                .collect(),
        })
        .filter(|g| !g.items.is_empty())
        .collect();
    render(
        StatusCode::OK,
        &AdjacencyPage {
            active: "market",
            chrome: Chrome::load(&s, &who).await?,
            org_id: v.organization_id.0,
            org_name: v.organization_name,
            offered,
            groups,
            total,
        },
    )
}
