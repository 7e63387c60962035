//! The ecosystem map's data: the acting organization's partnerships (with their type and health),
//! the candidates it is evaluating (its open scorecards) and its competitors, laid out by the
//! domain (`concord_domain::market::ecosystem_map::layout`).

use concord_domain::market::ecosystem_map::{
    health_of, layout, EcosystemMap, EdgeInput, MapFilter, NodeInput, NodeKind,
};

use crate::audit::Actor;
use crate::{Store, StoreError};

impl Store {
    /// The map around the acting organization, filtered.
    pub async fn ecosystem_map(
        &self,
        actor: &Actor,
        filter: &MapFilter,
    ) -> Result<EcosystemMap, StoreError> {
        let acting = actor.acting.as_ref().ok_or_else(|| {
            StoreError::Forbidden(
                "the ecosystem map is drawn around an organization; sign in".into(),
            )
        })?;
        let me = acting.org_id;
        let center = NodeInput {
            key: format!("center:org:{}", me.0),
            kind: NodeKind::Center,
            label: acting.org_name.clone(),
            href: Some(format!("/organizations/{}", me.0)),
        };
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        for p in self.partnerships_of(actor, me).await? {
            if p.archived_at.is_some() {
                continue;
            }
            // Health, for now, is the worst metric attainment status from the ledger; the health
            // score of issue 6 will replace it.
            let health = health_of(&self.metrics_of(&p, actor).await?.rollup);
            for party in p.parties.iter().filter(|x| x.organization_id != me) {
                let key = format!("partner:org:{}", party.organization_id.0);
                nodes.push(NodeInput {
                    key: key.clone(),
                    kind: NodeKind::Partner,
                    label: party.organization_name.clone(),
                    href: Some(format!("/organizations/{}", party.organization_id.0)),
                });
                edges.push(EdgeInput {
                    to: key,
                    relation: "partnership".into(),
                    partnership_id: Some(p.id.0),
                    partnership_name: Some(p.name.clone()),
                    partnership_type: Some(p.partnership_type),
                    stage: Some(p.stage.as_str().to_string()),
                    health: Some(health),
                    score: None,
                });
            }
        }
        for s in self.list_scorecards(actor).await? {
            if s.partnership_id.is_some() {
                continue; // promoted: it is a partner now
            }
            let key = format!("candidate:scorecard:{}", s.id);
            nodes.push(NodeInput {
                key: key.clone(),
                kind: NodeKind::Candidate,
                label: s.candidate.profile.name.clone(),
                href: Some(format!("/scorecards/{}", s.id)),
            });
            edges.push(EdgeInput {
                to: key,
                relation: "evaluating".into(),
                partnership_id: None,
                partnership_name: None,
                partnership_type: None,
                stage: None,
                health: None,
                score: s.evaluation.total,
            });
        }
        for c in self.competitors(actor).await? {
            let key = format!("competitor:org:{}", c.organization_id.0);
            nodes.push(NodeInput {
                key: key.clone(),
                kind: NodeKind::Competitor,
                label: c.name.clone(),
                href: Some(format!("/organizations/{}", c.organization_id.0)),
            });
            edges.push(EdgeInput {
                to: key,
                relation: "competes".into(),
                partnership_id: None,
                partnership_name: None,
                partnership_type: None,
                stage: None,
                health: None,
                score: None,
            });
        }
        Ok(layout(center, &nodes, &edges, filter))
    }
}
