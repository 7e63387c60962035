//! The ecosystem map: a network around one organization — its partners (edges coloured by
//! partnership type, marked by health), the candidates it is evaluating and its competitors —
//! laid out in rings by kind at deterministic angles, so the same ecosystem always draws the
//! same picture. Pure: storage gathers the nodes and edges, the page draws the SVG from the
//! positions computed here.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::attainment::{Rollup, Status};
use crate::partnership::PartnershipType;

/// The drawing's size in SVG user units (square).
pub const MAP_SIZE: f64 = 640.0;

string_enum! {
    /// What a node on the map is.
    pub enum NodeKind {
        Center = "center" => "Your organization",
        Partner = "partner" => "Partner",
        Candidate = "candidate" => "Candidate under evaluation",
        Competitor = "competitor" => "Competitor",
    }
}

impl NodeKind {
    /// The ring a kind is drawn on, as a share of the half-width (0 = centre).
    pub fn ring(self) -> f64 {
        match self {
            NodeKind::Center => 0.0,
            NodeKind::Partner => 0.36,
            NodeKind::Candidate => 0.62,
            NodeKind::Competitor => 0.86,
        }
    }

    /// Where on its ring a kind starts, in degrees (0 = up, clockwise), so rings do not line up.
    fn start_degrees(self) -> f64 {
        match self {
            NodeKind::Center | NodeKind::Partner => 0.0,
            NodeKind::Candidate => 20.0,
            NodeKind::Competitor => 40.0,
        }
    }
}

/// A partnership's health as the map shows it.
///
/// For now this is the metric attainment roll-up from the ledger (`Store::metrics_overview`):
/// the worst status among the charter's metrics. The health score of issue 6 will replace it.
pub fn health_of(rollup: &Rollup) -> Status {
    if rollup.off_track > 0 {
        Status::OffTrack
    } else if rollup.at_risk > 0 {
        Status::AtRisk
    } else if rollup.on_track > 0 {
        Status::OnTrack
    } else {
        Status::NoData
    }
}

/// A node before layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NodeInput {
    /// Stable key: `org:12` for an ecosystem organization, `scorecard:5` for a public-data
    /// candidate.
    pub key: String,
    pub kind: NodeKind,
    pub label: String,
    /// Where the node's page is.
    pub href: Option<String>,
}

/// An edge from the centre to a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EdgeInput {
    pub to: String,
    /// `partnership`, `evaluating` or `competes`.
    pub relation: String,
    pub partnership_id: Option<i64>,
    pub partnership_name: Option<String>,
    pub partnership_type: Option<PartnershipType>,
    pub stage: Option<String>,
    pub health: Option<Status>,
    /// For candidates: the scorecard's total.
    pub score: Option<f64>,
}

/// A node with its position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MapNode {
    pub key: String,
    pub kind: NodeKind,
    pub label: String,
    pub href: Option<String>,
    pub x: f64,
    pub y: f64,
}

/// An edge with its end points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MapEdge {
    pub from: String,
    pub to: String,
    pub relation: String,
    pub partnership_id: Option<i64>,
    pub partnership_name: Option<String>,
    pub partnership_type: Option<PartnershipType>,
    pub stage: Option<String>,
    pub health: Option<Status>,
    pub score: Option<f64>,
    /// Colour by partnership type (grey for other relations).
    pub colour: String,
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

/// One legend line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LegendItem {
    pub label: String,
    pub colour: String,
}

/// Which nodes to show.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MapFilter {
    /// Kinds to show (empty: all). The centre is always shown.
    #[serde(default)]
    pub kinds: Vec<NodeKind>,
    /// Only partnerships of this type (other kinds are unaffected).
    #[serde(default)]
    pub partnership_type: Option<PartnershipType>,
}

/// The laid-out map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EcosystemMap {
    pub size: f64,
    pub center: MapNode,
    pub nodes: Vec<MapNode>,
    pub edges: Vec<MapEdge>,
    pub legend: Vec<LegendItem>,
    pub filter: MapFilter,
}

/// The colour of a partnership type (and of other relations).
pub fn colour_of(t: Option<PartnershipType>, relation: &str) -> &'static str {
    match (t, relation) {
        (Some(PartnershipType::Wholesale), _) => "#1f77b4",
        (Some(PartnershipType::VerticallyAdjacent), _) => "#2ca02c",
        (Some(PartnershipType::HorizontallyAdjacent), _) => "#9467bd",
        (Some(PartnershipType::AncillaryService), _) => "#ff7f0e",
        (Some(PartnershipType::ServiceProvider), _) => "#8c564b",
        (Some(PartnershipType::StrategicExecution), _) => "#17becf",
        (None, "competes") => "#d62728",
        (None, _) => "#7f7f7f",
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Lays out the map: the centre in the middle, every other kind on its ring, nodes of one ring
/// ordered by label then key and spread evenly from the ring's start angle. Nodes and edges the
/// filter hides are dropped first (and nodes left without an edge with them), so the remaining
/// ones spread over the whole ring.
pub fn layout(
    center: NodeInput,
    nodes: &[NodeInput],
    edges: &[EdgeInput],
    filter: &MapFilter,
) -> EcosystemMap {
    let half = MAP_SIZE / 2.0;
    let shown_kind = |k: NodeKind| filter.kinds.is_empty() || filter.kinds.contains(&k);
    let edges: Vec<&EdgeInput> = edges
        .iter()
        .filter(|e| match (filter.partnership_type, e.relation.as_str()) {
            (Some(t), "partnership") => e.partnership_type == Some(t),
            _ => true,
        })
        .collect();
    let mut kept: Vec<&NodeInput> = nodes
        .iter()
        .filter(|n| n.kind != NodeKind::Center && shown_kind(n.kind))
        .filter(|n| n.kind != NodeKind::Partner || edges.iter().any(|e| e.to == n.key))
        .collect();
    kept.sort_by(|a, b| {
        (a.kind, a.label.to_lowercase(), &a.key).cmp(&(b.kind, b.label.to_lowercase(), &b.key))
    });
    kept.dedup_by(|a, b| a.key == b.key && a.kind == b.kind);
    let mut out = Vec::new();
    for kind in NodeKind::ALL.iter().filter(|k| **k != NodeKind::Center) {
        let ring: Vec<&&NodeInput> = kept.iter().filter(|n| n.kind == *kind).collect();
        let n = ring.len();
        for (i, node) in ring.into_iter().enumerate() {
            let deg = kind.start_degrees() + 360.0 * i as f64 / n as f64;
            let rad = deg.to_radians();
            let r = kind.ring() * half;
            out.push(MapNode {
                key: node.key.clone(),
                kind: node.kind,
                label: node.label.clone(),
                href: node.href.clone(),
                x: round1(half + r * rad.sin()),
                y: round1(half - r * rad.cos()),
            });
        }
    }
    let center = MapNode {
        key: center.key,
        kind: NodeKind::Center,
        label: center.label,
        href: center.href,
        x: half,
        y: half,
    };
    let mut map_edges = Vec::new();
    for e in edges {
        let Some(to) = out.iter().find(|n| n.key == e.to) else {
            continue;
        };
        map_edges.push(MapEdge {
            from: center.key.clone(),
            to: to.key.clone(),
            relation: e.relation.clone(),
            partnership_id: e.partnership_id,
            partnership_name: e.partnership_name.clone(),
            partnership_type: e.partnership_type,
            stage: e.stage.clone(),
            health: e.health,
            score: e.score,
            colour: colour_of(e.partnership_type, &e.relation).to_string(),
            x1: center.x,
            y1: center.y,
            x2: to.x,
            y2: to.y,
        });
    }
    let mut legend: Vec<LegendItem> = PartnershipType::ALL
        .iter()
        .map(|t| LegendItem {
            label: t.label().to_string(),
            colour: colour_of(Some(*t), "partnership").to_string(),
        })
        .collect();
    legend.push(LegendItem {
        label: "Evaluating (scorecard)".into(),
        colour: colour_of(None, "evaluating").into(),
    });
    legend.push(LegendItem {
        label: "Competitor".into(),
        colour: colour_of(None, "competes").into(),
    });
    EcosystemMap {
        size: MAP_SIZE,
        center,
        nodes: out,
        edges: map_edges,
        legend,
        filter: filter.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(key: &str, kind: NodeKind, label: &str) -> NodeInput {
        NodeInput {
            key: key.into(),
            kind,
            label: label.into(),
            href: None,
        }
    }

    fn edge(to: &str, relation: &str, t: Option<PartnershipType>) -> EdgeInput {
        EdgeInput {
            to: to.into(),
            relation: relation.into(),
            partnership_id: None,
            partnership_name: None,
            partnership_type: t,
            stage: None,
            health: None,
            score: None,
        }
    }

    #[test]
    fn a_single_partner_is_straight_up() {
        let m = layout(
            node("org:1", NodeKind::Center, "Home"),
            &[node("org:2", NodeKind::Partner, "P")],
            &[edge(
                "org:2",
                "partnership",
                Some(PartnershipType::Wholesale),
            )],
            &MapFilter::default(),
        );
        assert_eq!((m.center.x, m.center.y), (320.0, 320.0));
        assert_eq!(m.nodes[0].x, 320.0);
        assert_eq!(m.nodes[0].y, round1(320.0 - 0.36 * 320.0));
        assert_eq!(m.edges[0].colour, "#1f77b4");
    }

    #[test]
    fn health_is_the_worst_status() {
        let mut r = Rollup {
            categories: vec![],
            overall: None,
            on_track: 2,
            at_risk: 1,
            off_track: 0,
            no_data: 3,
        };
        assert_eq!(health_of(&r), Status::AtRisk);
        r.at_risk = 0;
        assert_eq!(health_of(&r), Status::OnTrack);
        r.on_track = 0;
        assert_eq!(health_of(&r), Status::NoData);
        r.off_track = 1;
        assert_eq!(health_of(&r), Status::OffTrack);
    }
}
