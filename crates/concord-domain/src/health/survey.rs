//! The joint health survey: answers, and results that protect respondents.
//!
//! A party's averages are revealed only when at least [`MIN_RESPONDENTS`] of its people answered;
//! otherwise its answers count only in the overall figure. The perception gap of a dimension is
//! the spread between the highest and lowest revealed party averages, so it is only known when at
//! least two parties are revealed.

use serde::Serialize;
use utoipa::ToSchema;

use super::Dimension;
use crate::OrgId;

/// Fewer respondents than this and a party's own figures are not shown.
pub const MIN_RESPONDENTS: usize = 3;

/// A perception gap at or above this raises an early warning.
pub const GAP_WARNING: f64 = 1.0;

/// One person's answer: their party and a 1–5 score per dimension, in [`Dimension::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyAnswer {
    pub organization_id: OrgId,
    pub scores: [u8; 9],
}

/// A dimension's overall figure.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DimensionFigure {
    pub dimension: Dimension,
    /// Mean of every answer, 1–5; `null` with no answers.
    pub average: Option<f64>,
    /// Change of the overall mean since the previous round; `null` without one.
    pub change: Option<f64>,
}

/// One party's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PartyFigures {
    pub organization_id: OrgId,
    pub respondents: usize,
    /// At least [`MIN_RESPONDENTS`] answered, so the party's averages are shown.
    pub revealed: bool,
    /// Per-dimension means, in [`Dimension::ALL`] order; empty when not revealed.
    pub averages: Vec<DimensionAverage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DimensionAverage {
    pub dimension: Dimension,
    pub average: f64,
}

/// The perception gap of one dimension between the revealed parties.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Gap {
    pub dimension: Dimension,
    /// Highest minus lowest party mean, ≥ 0.
    pub gap: f64,
    /// The party that rates it highest, and the one that rates it lowest.
    pub high: OrgId,
    pub low: OrgId,
}

/// A round's results as anyone in the partnership may see them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SurveyResults {
    pub respondents: usize,
    /// Mean over every answer and dimension, 1–5; `null` with no answers.
    pub level: Option<f64>,
    pub overall: Vec<DimensionFigure>,
    pub parties: Vec<PartyFigures>,
    /// Per dimension, when at least two parties are revealed; largest first.
    pub gaps: Vec<Gap>,
    pub max_gap: Option<f64>,
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn dimension_means(answers: &[&SurveyAnswer]) -> Vec<Option<f64>> {
    (0..Dimension::ALL.len())
        .map(|i| mean(answers.iter().map(|a| f64::from(a.scores[i]))))
        .collect()
}

/// Aggregates a round's answers for the partnership's `parties`, with the change since the
/// `previous` round's answers when there was one.
pub fn results(
    answers: &[SurveyAnswer],
    previous: Option<&[SurveyAnswer]>,
    parties: &[OrgId],
) -> SurveyResults {
    let all: Vec<&SurveyAnswer> = answers.iter().collect();
    let now = dimension_means(&all);
    let before = previous.map(|p| dimension_means(&p.iter().collect::<Vec<_>>()));
    let overall = Dimension::ALL
        .iter()
        .enumerate()
        .map(|(i, d)| DimensionFigure {
            dimension: *d,
            average: now[i],
            change: match (now[i], before.as_ref().and_then(|b| b[i])) {
                (Some(a), Some(b)) => Some(a - b),
                _ => None,
            },
        })
        .collect();
    let party_figures: Vec<PartyFigures> = parties
        .iter()
        .map(|org| {
            let mine: Vec<&SurveyAnswer> = answers
                .iter()
                .filter(|a| a.organization_id == *org)
                .collect();
            let revealed = mine.len() >= MIN_RESPONDENTS;
            let averages = if revealed {
                dimension_means(&mine)
                    .into_iter()
                    .zip(Dimension::ALL)
                    .filter_map(|(m, d)| {
                        m.map(|average| DimensionAverage {
                            dimension: *d,
                            average,
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
            PartyFigures {
                organization_id: *org,
                respondents: mine.len(),
                revealed,
                averages,
            }
        })
        .collect();
    let revealed: Vec<&PartyFigures> = party_figures.iter().filter(|p| p.revealed).collect();
    let mut gaps = Vec::new();
    if revealed.len() >= 2 {
        for (i, d) in Dimension::ALL.iter().enumerate() {
            let by_party = revealed.iter().map(|p| (p.organization_id, p.averages[i].average));
            let high = by_party
                .clone()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((OrgId(0), 0.0));
            let low = by_party
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((OrgId(0), 0.0));
            gaps.push(Gap {
                dimension: *d,
                gap: high.1 - low.1,
                high: high.0,
                low: low.0,
            });
        }
        gaps.sort_by(|a, b| b.gap.total_cmp(&a.gap));
    }
    SurveyResults {
        respondents: answers.len(),
        level: mean(now.iter().flatten().copied()),
        overall,
        max_gap: gaps.first().map(|g| g.gap),
        parties: party_figures,
        gaps,
    }
}
