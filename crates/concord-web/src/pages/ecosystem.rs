//! The ecosystem map page: an SVG network around the acting organization — partnerships by type
//! (edge colour) and health (for now the ledger's attainment roll-up; the health score of issue 6
//! will replace it), candidates under evaluation and competitors — filterable by node kind and
//! partnership type, with a legend and the same content as a table.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use concord_domain::attainment::Status;
use concord_domain::market::ecosystem_map::{EcosystemMap, MapFilter, NodeKind};
use concord_domain::partnership::PartnershipType;

use super::forms::enum_options;
use super::{render, Chrome, Opt, PageError};
use crate::auth::PageAuth;
use crate::extract::Form;
use crate::AppState;

/// Room left and right of the rings for labels (SVG units).
const LABEL_ROOM: f64 = 150.0;

struct KindCheck {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

struct EdgeView {
    x1: f64,
    y1: f64,
    x2: f64,
    y2: f64,
    colour: String,
    dashed: bool,
    width: f64,
    title: String,
}

struct NodeView {
    x: f64,
    y: f64,
    r: f64,
    class: &'static str,
    label: String,
    label_x: f64,
    label_y: f64,
    anchor: &'static str,
    href: String,
    title: String,
}

struct TableRow {
    kind: &'static str,
    name: String,
    href: String,
    relation: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "ecosystem.html")]
struct MapPage {
    active: &'static str,
    chrome: Chrome,
    size: f64,
    /// The drawing is widened on both sides so labels of the outer ring fit.
    view_x: f64,
    view_w: f64,
    center: NodeView,
    nodes: Vec<NodeView>,
    edges: Vec<EdgeView>,
    legend: Vec<(String, String)>,
    kinds: Vec<KindCheck>,
    types: Vec<Opt>,
    rows: Vec<TableRow>,
    desc: String,
    error: String,
}

fn health_text(h: Option<Status>) -> &'static str {
    h.map(|s| s.label()).unwrap_or("No data")
}

fn node_view(n: &concord_domain::market::ecosystem_map::MapNode, size: f64) -> NodeView {
    let half = size / 2.0;
    let (r, class) = match n.kind {
        NodeKind::Center => (16.0, "eco-center"),
        NodeKind::Partner => (10.0, "eco-partner"),
        NodeKind::Candidate => (8.0, "eco-candidate"),
        NodeKind::Competitor => (8.0, "eco-competitor"),
    };
    let (label_x, anchor) = if n.kind == NodeKind::Center {
        (n.x, "middle")
    } else if n.x >= half {
        (n.x + r + 4.0, "start")
    } else {
        (n.x - r - 4.0, "end")
    };
    let label_y = if n.kind == NodeKind::Center {
        n.y + r + 14.0
    } else {
        n.y + 4.0
    };
    let mut label: String = n.label.chars().take(28).collect();
    if n.label.chars().count() > 28 {
        label.push('…');
    }
    NodeView {
        x: n.x,
        y: n.y,
        r,
        class,
        label,
        label_x: (label_x * 10.0).round() / 10.0,
        label_y: (label_y * 10.0).round() / 10.0,
        anchor,
        href: n.href.clone().unwrap_or_default(),
        title: format!("{}: {}", n.kind.label(), n.label),
    }
}

fn view(map: &EcosystemMap) -> (Vec<EdgeView>, Vec<TableRow>) {
    let mut edges = Vec::new();
    let mut rows = Vec::new();
    for e in &map.edges {
        let node = map.nodes.iter().find(|n| n.key == e.to);
        let name = node.map(|n| n.label.clone()).unwrap_or_default();
        let (relation, detail, title) = match e.relation.as_str() {
            "partnership" => {
                let t = e.partnership_type.map(|t| t.label()).unwrap_or("");
                let stage = e.stage.clone().unwrap_or_default().replace('_', " ");
                let health = health_text(e.health);
                (
                    format!(
                        "Partnership: {}",
                        e.partnership_name.clone().unwrap_or_default()
                    ),
                    format!("{t} · {stage} · health: {health}"),
                    format!(
                        "{} — {t}, {stage}, health {health}",
                        e.partnership_name.clone().unwrap_or_default()
                    ),
                )
            }
            "evaluating" => {
                let score = e
                    .score
                    .map(|s| format!("{s:.1}"))
                    .unwrap_or_else(|| "—".into());
                (
                    "Under evaluation".to_string(),
                    format!("fit total {score}"),
                    format!("{name}: under evaluation, fit total {score}"),
                )
            }
            _ => (
                "Competitor".to_string(),
                String::new(),
                format!("{name}: competitor"),
            ),
        };
        edges.push(EdgeView {
            x1: e.x1,
            y1: e.y1,
            x2: e.x2,
            y2: e.y2,
            colour: e.colour.clone(),
            dashed: e.relation != "partnership",
            width: match e.health {
                Some(Status::OffTrack) => 4.0,
                Some(Status::AtRisk) => 3.0,
                _ => 2.0,
            },
            title,
        });
        rows.push(TableRow {
            kind: node.map(|n| n.kind.label()).unwrap_or(""),
            name,
            href: node.and_then(|n| n.href.clone()).unwrap_or_default(),
            relation,
            detail,
        });
    }
    (edges, rows)
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let f = Form::parse(q.unwrap_or_default().as_bytes());
    let mut error = String::new();
    let mut kinds = Vec::new();
    for k in f.all("kind") {
        match k.parse::<NodeKind>() {
            Ok(NodeKind::Center) | Err(_) => error = format!("`{k}` is not a node kind."),
            Ok(kind) => kinds.push(kind),
        }
    }
    let partnership_type = match f.get("type") {
        "" => None,
        t => match t.parse::<PartnershipType>() {
            Ok(t) => Some(t),
            Err(_) => {
                error = format!("`{t}` is not a partnership type.");
                None
            }
        },
    };
    let filter = MapFilter {
        kinds: kinds.clone(),
        partnership_type,
    };
    let map = s.store.ecosystem_map(&who.actor(), &filter).await?;
    let (edges, rows) = view(&map);
    let desc = format!(
        "{} and {} related organizations: {} partners, {} candidates under evaluation, {} competitors.",
        map.center.label,
        map.nodes.len(),
        map.nodes.iter().filter(|n| n.kind == NodeKind::Partner).count(),
        map.nodes.iter().filter(|n| n.kind == NodeKind::Candidate).count(),
        map.nodes.iter().filter(|n| n.kind == NodeKind::Competitor).count(),
    );
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render(
        status,
        &MapPage {
            active: "ecosystem",
            chrome: Chrome::load(&s, &who).await?,
            size: map.size,
            view_x: -LABEL_ROOM,
            view_w: map.size + 2.0 * LABEL_ROOM,
            center: node_view(&map.center, map.size),
            nodes: map.nodes.iter().map(|n| node_view(n, map.size)).collect(),
            edges,
            legend: map
                .legend
                .iter()
                .map(|l| (l.label.clone(), l.colour.clone()))
                .collect(),
            kinds: [NodeKind::Partner, NodeKind::Candidate, NodeKind::Competitor]
                .into_iter()
                .map(|k| KindCheck {
                    value: k.as_str(),
                    label: k.label(),
                    checked: kinds.is_empty() || kinds.contains(&k),
                })
                .collect(),
            types: enum_options(
                PartnershipType::ALL,
                PartnershipType::as_str,
                PartnershipType::label,
                partnership_type.map(|t| t.as_str()).unwrap_or(""),
                Some("All types"),
            ),
            rows,
            desc,
            error,
        },
    )
}
