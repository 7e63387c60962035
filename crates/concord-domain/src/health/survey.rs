//! The joint health survey: answers, and results that protect respondents.
//!
//! A party's averages are revealed only when at least [`MIN_RESPONDENTS`] of its people answered;
//! otherwise its answers count only in the overall figure. The perception gap of a dimension is
//! the spread between the highest and lowest revealed party averages, so it is only known when at
//! least two parties are revealed.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Dimension;
use crate::text::clean;
use crate::{OrgId, ValidationErrors};

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
#[schema(as = PerceptionGap)]
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
            let by_party = revealed
                .iter()
                .map(|p| (p.organization_id, p.averages[i].average));
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

// ---------------------------------------------------------------- inputs and records

string_enum! {
    /// Whether a round still takes answers.
    pub enum RoundStatus {
        Open = "open" => "Open",
        Closed = "closed" => "Closed",
    }
}

/// Opening a survey round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyRoundInput {
    /// What the round is called ("Spring 2026 pulse").
    pub title: String,
    /// The last day answers are taken; open until closed by hand when absent.
    #[serde(default)]
    pub closes_on: Option<NaiveDate>,
}

impl SurveyRoundInput {
    /// A title of 1–200 characters; `closes_on`, when given, not before `today`.
    pub fn validate(&self, today: NaiveDate) -> Result<SurveyRoundInput, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let title = clean(&mut e, "title", &self.title, 1, 200, false);
        if let Some(d) = self.closes_on {
            if d < today {
                e.add(
                    "closes_on",
                    "past_date",
                    format!("{d} is in the past; a round closes today or later"),
                );
            }
        }
        e.into_result(SurveyRoundInput {
            title,
            closes_on: self.closes_on,
        })
    }
}

/// Most characters a comment may have.
pub const MAX_COMMENT: usize = 2000;

/// One person's answer to a round, as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyAnswerInput {
    /// A score from 1 (strongly disagree) to 5 (strongly agree) for every dimension, keyed by
    /// its wire name (`trust`, `communication`, …).
    pub scores: BTreeMap<String, i64>,
    /// A free comment, read only inside the respondent's organization.
    #[serde(default)]
    pub comment: String,
}

/// An answer that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAnswer {
    /// In [`Dimension::ALL`] order, each 1–5.
    pub scores: [u8; 9],
    pub comment: String,
}

impl SurveyAnswerInput {
    /// Every dimension scored 1–5 (`scores.trust` names a missing or out-of-range score) and a
    /// comment of at most [`MAX_COMMENT`] characters.
    pub fn validate(&self) -> Result<CheckedAnswer, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let mut scores = [0u8; 9];
        for (i, d) in Dimension::ALL.iter().enumerate() {
            let field = format!("scores.{}", d.as_str());
            match self.scores.get(d.as_str()) {
                None => e.add(
                    field,
                    "required",
                    format!("rate \"{}\" from 1 to 5", d.label()),
                ),
                Some(v) if (1..=5).contains(v) => scores[i] = *v as u8,
                Some(v) => e.add(
                    field,
                    "out_of_range",
                    format!("{} is scored from 1 to 5, not {v}", d.label()),
                ),
            }
        }
        for key in self.scores.keys() {
            if key.parse::<Dimension>().is_err() {
                let shown: String = key.chars().take(50).collect();
                e.add(
                    format!("scores.{shown}"),
                    "unknown_dimension",
                    format!(
                        "`{shown}` is not a survey dimension; expected one of: {}",
                        Dimension::WIRE.join(", ")
                    ),
                );
            }
        }
        let comment = clean(&mut e, "comment", &self.comment, 0, MAX_COMMENT, true);
        e.into_result(CheckedAnswer { scores, comment })
    }
}

/// A survey round with how many have answered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SurveyRound {
    pub partnership_id: i64,
    /// 1, 2, … per partnership; used in paths.
    pub number: u32,
    pub title: String,
    pub status: RoundStatus,
    pub opened_at: DateTime<Utc>,
    pub opened_by: String,
    pub closes_on: Option<NaiveDate>,
    pub closed_at: Option<DateTime<Utc>>,
    /// People who answered, across every party.
    pub respondents: usize,
}

impl SurveyRound {
    /// Whether an answer is taken on `today`: open, and not past its closing day.
    pub fn accepts_answers(&self, today: NaiveDate) -> bool {
        self.status == RoundStatus::Open && self.closes_on.is_none_or(|d| today <= d)
    }
}

/// A round and its results, as any member of a party may see them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SurveyRoundResults {
    pub round: SurveyRound,
    /// The earlier round the changes are measured against (the latest before this one with
    /// answers).
    pub compared_with: Option<u32>,
    /// The caller has answered this round.
    pub answered: bool,
    /// The round takes answers today.
    pub accepts_answers: bool,
    pub results: SurveyResults,
}

/// One party's per-dimension averages in a round (only when at least [`MIN_RESPONDENTS`] of its
/// people answered).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PartyResults {
    pub round: u32,
    pub organization_id: OrgId,
    pub respondents: usize,
    pub averages: Vec<DimensionAverage>,
}

/// The party figures for `org`, or why they cannot be shown: `party` names an organization that
/// is not a party (`not_a_party`), or one with fewer than [`MIN_RESPONDENTS`] respondents
/// (`too_few_respondents`: their answers count only in the overall figure).
pub fn party_results(
    round: u32,
    results: &SurveyResults,
    org: OrgId,
) -> Result<PartyResults, ValidationErrors> {
    let Some(p) = results.parties.iter().find(|p| p.organization_id == org) else {
        return Err(ValidationErrors::single(
            "party",
            "not_a_party",
            format!("organization {org} is not a party to this partnership"),
        ));
    };
    if !p.revealed {
        return Err(ValidationErrors::single(
            "party",
            "too_few_respondents",
            format!(
                "fewer than {MIN_RESPONDENTS} people of organization {org} answered; their answers are only aggregated into the overall figure"
            ),
        ));
    }
    Ok(PartyResults {
        round,
        organization_id: org,
        respondents: p.respondents,
        averages: p.averages.clone(),
    })
}

/// The comments written in a round by the acting organization's own respondents, without names.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SurveyComments {
    pub round: u32,
    /// The organization whose respondents wrote them (always the caller's).
    pub organization_id: OrgId,
    /// Non-empty comments, in no particular order that links them to a person.
    pub comments: Vec<String>,
}
