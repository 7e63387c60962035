//! Fit scorecards: how well a candidate partner fits the evaluating organization, criterion by
//! criterion, each 0–100 with its evidence and a line explaining the figure; weights and
//! must-pass gates per evaluating organization; the total as a weighted mean, explained.
//!
//! Price is deliberately not a criterion: a partnership chosen on price alone is a purchase, and
//! price is negotiated after fit is established. Everything here is pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::market::geo::{distance_miles, Point};
use crate::organization::{BusinessModel, RevenueBand, Size};
use crate::text::clean;
use crate::ValidationErrors;

/// Said wherever the criteria are listed (UI and API descriptions).
pub const PRICE_NOTE: &str = "Price is deliberately not a criterion: fit comes first, and price \
     is negotiated once the fit is established.";

/// Above this size ratio one side is "far larger": the balance-of-power criterion warns.
pub const POWER_WARNING_RATIO: f64 = 5.0;

/// The largest evidence text per criterion.
pub const MAX_EVIDENCE: usize = 2000;

string_enum! {
    /// The fit criteria, in the order they are shown.
    pub enum Criterion {
        StrategicAlignment = "strategic_alignment" => "Strategic alignment",
        CultureValues = "culture_values" => "Culture and values alignment",
        Complementarity = "complementarity" => "Complementarity",
        HistoricalPerformance = "historical_performance" => "Historical performance",
        GeographicFit = "geographic_fit" => "Geographic fit",
        BalanceOfPower = "balance_of_power" => "Balance of power",
        Transparency = "business_model_transparency" => "Business-model transparency",
    }
}

impl Criterion {
    /// Whether the evaluator's judgement (1–5) is part of the score. The others are computed from
    /// the two profiles alone; the evaluator adds evidence to them but not a judgement.
    pub fn takes_judgement(self) -> bool {
        matches!(
            self,
            Criterion::StrategicAlignment
                | Criterion::CultureValues
                | Criterion::HistoricalPerformance
        )
    }

    /// What the criterion measures, one line.
    pub fn description(self) -> &'static str {
        match self {
            Criterion::StrategicAlignment => "Your judgement (1–5) of how well the candidate serves your strategy.",
            Criterion::CultureValues => "Overlap of the two organizations' mission and values tags, plus your judgement (1–5).",
            Criterion::Complementarity => "Share of the capabilities you seek that the candidate offers.",
            Criterion::HistoricalPerformance => "The CMS star rating when there is one, plus your judgement (1–5) of the evidence.",
            Criterion::GeographicFit => "Distance between the two, and service-area overlap (same ZIP3, same state).",
            Criterion::BalanceOfPower => "Relative size (providers, beds, covered lives or revenue band); warns when one side is more than 5× the other.",
            Criterion::Transparency => "Share of the candidate's business-model profile that is filled in.",
        }
    }
}

/// What the scorecard knows about one side: the evaluator (live from its profile) or the
/// candidate (an ecosystem organization, or the snapshot of a public-data candidate).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FitProfile {
    pub name: String,
    /// Organization kind or market candidate kind, as its wire name.
    pub kind: String,
    #[serde(default)]
    pub npi: Option<String>,
    #[serde(default)]
    pub ccn: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub zip: Option<String>,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
    #[serde(default)]
    pub size: Size,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub mission: Option<String>,
    /// Capability codes offered.
    #[serde(default)]
    pub capabilities_offered: Vec<String>,
    /// Capability codes sought.
    #[serde(default)]
    pub capabilities_sought: Vec<String>,
    /// Specialties as published (taxonomy display names), for public-data candidates.
    #[serde(default)]
    pub specialties: Vec<String>,
    /// CMS overall star rating (1–5), hospitals only.
    #[serde(default)]
    pub star_rating: Option<u8>,
    #[serde(default)]
    pub facility_type: Option<String>,
    #[serde(default)]
    pub ownership: Option<String>,
    /// Absent for public-data candidates: they have no business-model profile until promoted.
    #[serde(default)]
    pub business_model: Option<BusinessModel>,
}

impl FitProfile {
    pub fn point(&self) -> Option<Point> {
        Point::new(self.latitude?, self.longitude?)
    }

    /// "City, ST ZIP".
    pub fn locality(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.city {
            parts.push(c.clone());
        }
        let st_zip = [self.state.clone(), self.zip.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !st_zip.is_empty() {
            parts.push(st_zip);
        }
        parts.join(", ")
    }
}

/// The evaluator's input for one criterion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JudgementInput {
    /// 1 (poor) to 5 (excellent); only for criteria that take a judgement.
    #[serde(default)]
    pub judgement: Option<i64>,
    /// What the judgement rests on.
    #[serde(default)]
    pub evidence: String,
}

/// The evaluator's judgements and evidence, by criterion wire name. Replaces the whole set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JudgementsInput {
    #[serde(default)]
    pub criteria: BTreeMap<String, JudgementInput>,
}

/// A validated judgement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Judgement {
    pub judgement: Option<u8>,
    pub evidence: String,
}

/// Validated judgements, by criterion.
pub type Judgements = BTreeMap<Criterion, Judgement>;

impl JudgementsInput {
    /// Checks every criterion name, judgement (1–5, and only where one is taken) and evidence.
    pub fn validate(&self) -> Result<Judgements, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let mut out = Judgements::new();
        for (key, j) in &self.criteria {
            let field = format!("criteria.{key}");
            let Ok(c) = key.parse::<Criterion>() else {
                e.add(
                    field,
                    "unknown_criterion",
                    format!(
                        "`{key}` is not a criterion; expected one of {}",
                        Criterion::WIRE.join(", ")
                    ),
                );
                continue;
            };
            let judgement = match j.judgement {
                None => None,
                Some(_) if !c.takes_judgement() => {
                    e.add(
                        format!("{field}.judgement"),
                        "not_judged",
                        format!(
                            "{} is computed from the two profiles; give evidence only",
                            c.label()
                        ),
                    );
                    None
                }
                Some(v) if (1..=5).contains(&v) => Some(v as u8),
                Some(_) => {
                    e.add(
                        format!("{field}.judgement"),
                        "out_of_range",
                        "must be between 1 and 5",
                    );
                    None
                }
            };
            let evidence = clean(
                &mut e,
                &format!("{field}.evidence"),
                &j.evidence,
                0,
                MAX_EVIDENCE,
                true,
            );
            if judgement.is_some() || !evidence.is_empty() {
                out.insert(
                    c,
                    Judgement {
                        judgement,
                        evidence,
                    },
                );
            }
        }
        e.into_result(out)
    }
}

/// Weights and must-pass gates, as sent (`PUT /api/v1/scorecard-settings`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    /// Weight per criterion (≥ 0, finite); a criterion left out weighs 1, a weight of 0 drops it.
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    /// Must-pass threshold per criterion (0–100): a candidate scoring below it fails the gate.
    #[serde(default)]
    pub gates: BTreeMap<String, f64>,
}

/// An organization's validated scorecard settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    /// Every criterion's weight.
    pub weights: BTreeMap<Criterion, f64>,
    /// Thresholds of the criteria that are gates.
    pub gates: BTreeMap<Criterion, f64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            weights: Criterion::ALL.iter().map(|c| (*c, 1.0)).collect(),
            gates: BTreeMap::new(),
        }
    }
}

impl Settings {
    pub fn weight(&self, c: Criterion) -> f64 {
        self.weights.get(&c).copied().unwrap_or(1.0)
    }

    /// Back to the input form.
    pub fn to_input(&self) -> SettingsInput {
        SettingsInput {
            weights: self
                .weights
                .iter()
                .map(|(c, w)| (c.as_str().to_string(), *w))
                .collect(),
            gates: self
                .gates
                .iter()
                .map(|(c, t)| (c.as_str().to_string(), *t))
                .collect(),
        }
    }
}

impl SettingsInput {
    pub fn validate(&self) -> Result<Settings, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let mut s = Settings::default();
        for (key, w) in &self.weights {
            let field = format!("weights.{key}");
            match key.parse::<Criterion>() {
                Err(_) => e.add(
                    field,
                    "unknown_criterion",
                    format!(
                        "`{key}` is not a criterion; expected one of {}",
                        Criterion::WIRE.join(", ")
                    ),
                ),
                Ok(_) if !w.is_finite() => e.add(field, "not_finite", "must be a finite number"),
                Ok(_) if *w < 0.0 => e.add(field, "negative", "must be 0 or more"),
                Ok(_) if *w > 1000.0 => e.add(field, "out_of_range", "must be at most 1000"),
                Ok(c) => {
                    s.weights.insert(c, *w);
                }
            }
        }
        for (key, t) in &self.gates {
            let field = format!("gates.{key}");
            match key.parse::<Criterion>() {
                Err(_) => e.add(
                    field,
                    "unknown_criterion",
                    format!(
                        "`{key}` is not a criterion; expected one of {}",
                        Criterion::WIRE.join(", ")
                    ),
                ),
                Ok(_) if !t.is_finite() || !(0.0..=100.0).contains(t) => {
                    e.add(field, "out_of_range", "must be between 0 and 100")
                }
                Ok(c) => {
                    s.gates.insert(c, *t);
                }
            }
        }
        e.into_result(s)
    }
}

/// One criterion's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CriterionScore {
    pub criterion: Criterion,
    pub label: String,
    /// 0–100; absent when there is nothing to score it on (the explanation says what is missing).
    pub score: Option<f64>,
    /// How the figure was reached.
    pub explanation: String,
    pub judgement: Option<u8>,
    pub evidence: String,
    pub weight: f64,
    /// What this criterion adds to the total (its weighted share); 0 when unscored or weighed 0.
    pub contribution: f64,
}

/// A must-pass gate and whether the candidate passes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GateResult {
    pub criterion: Criterion,
    pub threshold: f64,
    pub score: Option<f64>,
    pub passed: bool,
    pub message: String,
}

string_enum! {
    /// The overall reading of a scorecard.
    pub enum Verdict {
        FailsGate = "fails_gate" => "Fails a must-pass gate",
        StrongFit = "strong_fit" => "Strong fit",
        PossibleFit = "possible_fit" => "Possible fit",
        WeakFit = "weak_fit" => "Weak fit",
        NotEnoughData = "not_enough_data" => "Not enough data",
    }
}

/// The evaluation of a candidate: every criterion, the gates, warnings, the total and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Evaluation {
    pub criteria: Vec<CriterionScore>,
    pub gates: Vec<GateResult>,
    pub warnings: Vec<String>,
    /// Weighted mean of the scored criteria with a weight above 0 (0–100); absent when none.
    pub total: Option<f64>,
    pub verdict: Verdict,
    /// Which criteria contributed what, and what was left out.
    pub explanation: Vec<String>,
    /// Always [`PRICE_NOTE`].
    pub price_note: String,
}

/// 1–5 → 0–100.
fn judged(j: u8) -> f64 {
    f64::from(j.clamp(1, 5) - 1) * 25.0
}

fn lower_set(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = v
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Jaccard overlap of two tag lists (case-insensitive): (shared, union).
pub fn tag_overlap(a: &[String], b: &[String]) -> (Vec<String>, usize) {
    let (a, b) = (lower_set(a), lower_set(b));
    let shared: Vec<String> = a.iter().filter(|t| b.contains(t)).cloned().collect();
    let union = a.len() + b.len() - shared.len();
    (shared, union)
}

/// The comparable size of two organizations: the first measure both disclose, as
/// (measure name, evaluator, candidate). Revenue bands compare as 5× per band.
pub fn comparable_size(a: &Size, b: &Size) -> Option<(&'static str, f64, f64)> {
    if let (Some(x), Some(y)) = (a.providers, b.providers) {
        return Some(("providers", f64::from(x), f64::from(y)));
    }
    if let (Some(x), Some(y)) = (a.beds, b.beds) {
        return Some(("beds", f64::from(x), f64::from(y)));
    }
    if let (Some(x), Some(y)) = (a.covered_lives, b.covered_lives) {
        return Some(("covered lives", x as f64, y as f64));
    }
    if let (Some(x), Some(y)) = (a.revenue_band, b.revenue_band) {
        let idx =
            |r: RevenueBand| RevenueBand::ALL.iter().position(|b| *b == r).unwrap_or(0) as i32;
        return Some(("revenue band", 5f64.powi(idx(x)), 5f64.powi(idx(y))));
    }
    None
}

/// Share (0–1) of the five parts of a business-model profile that are filled in, and the
/// names of the missing ones.
pub fn transparency(bm: &BusinessModel) -> (f64, Vec<&'static str>) {
    let parts = [
        ("revenue model", bm.revenue_model.is_some()),
        ("payer mix", !bm.payer_mix.is_empty()),
        (
            "decision making",
            bm.decision_making
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty()),
        ),
        (
            "enterprise objectives",
            !bm.enterprise_objectives.is_empty(),
        ),
        ("constraints", !bm.constraints.is_empty()),
    ];
    let filled = parts.iter().filter(|(_, f)| *f).count();
    let missing = parts.iter().filter(|(_, f)| !*f).map(|(n, _)| *n).collect();
    (filled as f64 / parts.len() as f64, missing)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Scores one criterion from the two profiles and the evaluator's judgement; also answers any
/// warning it raises.
pub fn score_criterion(
    c: Criterion,
    evaluator: &FitProfile,
    candidate: &FitProfile,
    judgement: Option<u8>,
) -> (Option<f64>, String, Option<String>) {
    match c {
        Criterion::StrategicAlignment => match judgement {
            Some(j) => (Some(judged(j)), format!("Your judgement: {j} of 5."), None),
            None => (None, "Not judged yet: give a judgement from 1 to 5.".into(), None),
        },
        Criterion::CultureValues => {
            let (shared, union) = tag_overlap(&evaluator.values, &candidate.values);
            let overlap = (union > 0).then(|| shared.len() as f64 / union as f64 * 100.0);
            let tags = if union == 0 {
                "Neither side has values tags".to_string()
            } else if shared.is_empty() {
                format!("No shared values tags (of {union})")
            } else {
                format!(
                    "Shared values: {} ({} of {union} tags, {:.0}%)",
                    shared.join(", "),
                    shared.len(),
                    overlap.unwrap_or(0.0)
                )
            };
            match (overlap, judgement) {
                (Some(o), Some(j)) => (
                    Some((o + judged(j)) / 2.0),
                    format!("{tags}; your judgement {j} of 5; the mean of the two."),
                    None,
                ),
                (Some(o), None) => (Some(o), format!("{tags}."), None),
                (None, Some(j)) => (
                    Some(judged(j)),
                    format!("{tags}; your judgement {j} of 5."),
                    None,
                ),
                (None, None) => (None, format!("{tags} and no judgement yet."), None),
            }
        }
        Criterion::Complementarity => {
            let sought = lower_set(&evaluator.capabilities_sought);
            if sought.is_empty() {
                return (
                    None,
                    "Your organization's profile lists no capabilities sought.".into(),
                    None,
                );
            }
            let offered = lower_set(&candidate.capabilities_offered);
            let met: Vec<&String> = sought.iter().filter(|s| offered.contains(s)).collect();
            let score = met.len() as f64 / sought.len() as f64 * 100.0;
            let expl = if met.is_empty() {
                format!(
                    "Offers none of the {} capabilities you seek ({}).",
                    sought.len(),
                    sought.join(", ")
                )
            } else {
                format!(
                    "Offers {} of the {} capabilities you seek: {}.",
                    met.len(),
                    sought.len(),
                    met.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                )
            };
            (Some(score), expl, None)
        }
        Criterion::HistoricalPerformance => {
            let stars = candidate.star_rating.filter(|s| (1..=5).contains(s));
            match (stars, judgement) {
                (Some(s), Some(j)) => (
                    Some((judged(s) + judged(j)) / 2.0),
                    format!("CMS overall star rating {s} of 5; your judgement {j} of 5; the mean of the two."),
                    None,
                ),
                (Some(s), None) => (
                    Some(judged(s)),
                    format!("CMS overall star rating {s} of 5."),
                    None,
                ),
                (None, Some(j)) => (
                    Some(judged(j)),
                    format!("No CMS star rating; your judgement {j} of 5."),
                    None,
                ),
                (None, None) => (
                    None,
                    "No CMS star rating and no judgement yet.".into(),
                    None,
                ),
            }
        }
        Criterion::GeographicFit => {
            let zip3 = |p: &FitProfile| p.zip.as_deref().and_then(|z| z.get(..3)).map(str::to_string);
            let same_zip3 = zip3(evaluator).is_some() && zip3(evaluator) == zip3(candidate);
            let same_state = evaluator.state.is_some()
                && evaluator.state.as_deref().map(str::to_ascii_uppercase)
                    == candidate.state.as_deref().map(str::to_ascii_uppercase);
            let area = if same_zip3 {
                Some((100.0, "same ZIP3 area"))
            } else if same_state {
                Some((60.0, "same state, different ZIP3 area"))
            } else if evaluator.state.is_some() && candidate.state.is_some() {
                Some((0.0, "different states"))
            } else {
                None
            };
            let distance = match (evaluator.point(), candidate.point()) {
                (Some(a), Some(b)) => Some(distance_miles(a, b)),
                _ => None,
            };
            // 100 within 5 miles, falling linearly to 0 at 100 miles.
            let near = |d: f64| (100.0 - (d - 5.0).max(0.0) * (100.0 / 95.0)).clamp(0.0, 100.0);
            match (distance, area) {
                (Some(d), Some((a, what))) => (
                    Some(0.7 * near(d) + 0.3 * a),
                    format!("{d:.1} miles apart ({:.0} for distance, 70%); {what} ({a:.0}, 30%).", near(d)),
                    None,
                ),
                (Some(d), None) => (
                    Some(near(d)),
                    format!("{d:.1} miles apart (100 within 5 miles, 0 from 100 miles)."),
                    None,
                ),
                (None, Some((a, what))) => (
                    Some(a),
                    format!("No location for the distance; {what}."),
                    None,
                ),
                (None, None) => (
                    None,
                    "Neither a location nor a state to compare.".into(),
                    None,
                ),
            }
        }
        Criterion::BalanceOfPower => match comparable_size(&evaluator.size, &candidate.size) {
            None => (
                None,
                "No size measure disclosed by both (providers, beds, covered lives, revenue band).".into(),
                None,
            ),
            Some((measure, a, b)) => {
                let (lo, hi) = (a.min(b).max(1.0), a.max(b).max(1.0));
                let ratio = hi / lo;
                let score = 100.0 / ratio.sqrt();
                let bigger = if a >= b { &evaluator.name } else { &candidate.name };
                let expl = if ratio < 1.05 {
                    format!("Equal size by {measure} ({a} and {b}).")
                } else {
                    format!(
                        "By {measure}: {} is {ratio:.1}× the other ({a} and {b}); 100 ÷ √ratio.",
                        bigger
                    )
                };
                let warning = (ratio > POWER_WARNING_RATIO).then(|| {
                    format!(
                        "Balance of power: {bigger} is {ratio:.1}× the size of the other by {measure} (more than {POWER_WARNING_RATIO}×); the smaller side risks being dominated."
                    )
                });
                (Some(score), expl, warning)
            }
        },
        Criterion::Transparency => match &candidate.business_model {
            None => (
                Some(0.0),
                "No business-model profile: a candidate from public data has none until it is promoted and fills one in.".into(),
                None,
            ),
            Some(bm) => {
                let (share, missing) = transparency(bm);
                let expl = if missing.is_empty() {
                    "All five parts of the business-model profile are filled in.".to_string()
                } else {
                    format!(
                        "{} of 5 parts filled in; missing: {}.",
                        5 - missing.len(),
                        missing.join(", ")
                    )
                };
                (Some(share * 100.0), expl, None)
            }
        },
    }
}

/// The total from criterion scores and weights: the weighted mean over the criteria with a score
/// and a weight above 0 (`None` when there is none). Each criterion's contribution is its share.
pub fn weighted_total(scores: &[(Option<f64>, f64)]) -> (Option<f64>, Vec<f64>) {
    let sum_w: f64 = scores
        .iter()
        .filter(|(s, w)| s.is_some() && *w > 0.0)
        .map(|(_, w)| *w)
        .sum();
    if sum_w <= 0.0 {
        return (None, vec![0.0; scores.len()]);
    }
    let contributions: Vec<f64> = scores
        .iter()
        .map(|(s, w)| match s {
            Some(s) if *w > 0.0 => s.clamp(0.0, 100.0) * w / sum_w,
            _ => 0.0,
        })
        .collect();
    let total: f64 = contributions.iter().sum();
    (Some(total.clamp(0.0, 100.0)), contributions)
}

/// Gates against scores: a gate fails when its criterion scores below the threshold or has no
/// score at all.
pub fn check_gates(
    settings: &Settings,
    scores: &BTreeMap<Criterion, Option<f64>>,
) -> Vec<GateResult> {
    settings
        .gates
        .iter()
        .map(|(c, t)| {
            let score = scores.get(c).copied().flatten();
            let passed = score.is_some_and(|s| s >= *t);
            let message = match score {
                None => format!(
                    "{} must be at least {t:.0}, and it has no score yet.",
                    c.label()
                ),
                Some(s) if passed => format!("{} is {:.1}, at least {t:.0}.", c.label(), s),
                Some(s) => format!("{} is {:.1}, below the must-pass {t:.0}.", c.label(), s),
            };
            GateResult {
                criterion: *c,
                threshold: *t,
                score: score.map(round1),
                passed,
                message,
            }
        })
        .collect()
}

/// Scores every criterion and the total.
pub fn evaluate(
    evaluator: &FitProfile,
    candidate: &FitProfile,
    judgements: &Judgements,
    settings: &Settings,
) -> Evaluation {
    let mut warnings = Vec::new();
    let mut rows = Vec::new();
    for c in Criterion::ALL {
        let j = judgements.get(c).cloned().unwrap_or_default();
        let (score, explanation, warning) = score_criterion(*c, evaluator, candidate, j.judgement);
        warnings.extend(warning);
        rows.push((*c, score.map(|s| s.clamp(0.0, 100.0)), explanation, j));
    }
    let weighted: Vec<(Option<f64>, f64)> = rows
        .iter()
        .map(|(c, s, _, _)| (*s, settings.weight(*c)))
        .collect();
    let (total, contributions) = weighted_total(&weighted);
    let scores: BTreeMap<Criterion, Option<f64>> =
        rows.iter().map(|(c, s, _, _)| (*c, *s)).collect();
    let gates = check_gates(settings, &scores);
    let failed = gates.iter().any(|g| !g.passed);
    let verdict = match total {
        _ if failed => Verdict::FailsGate,
        None => Verdict::NotEnoughData,
        Some(t) if t >= 70.0 => Verdict::StrongFit,
        Some(t) if t >= 50.0 => Verdict::PossibleFit,
        Some(_) => Verdict::WeakFit,
    };
    let mut explanation = Vec::new();
    let sum_w: f64 = weighted
        .iter()
        .filter(|(s, w)| s.is_some() && *w > 0.0)
        .map(|(_, w)| w)
        .sum();
    match total {
        Some(t) => {
            explanation.push(format!(
            "Total {:.1} of 100: the weighted mean of {} scored criteria (weights add up to {}).",
            t,
            weighted.iter().filter(|(s, w)| s.is_some() && *w > 0.0).count(),
            trim_num(sum_w)
        ))
        }
        None => {
            explanation.push("No total: no criterion with a weight above 0 has a score yet.".into())
        }
    }
    let mut criteria = Vec::new();
    for ((c, score, expl, j), contribution) in rows.into_iter().zip(contributions) {
        let weight = settings.weight(c);
        if weight <= 0.0 {
            explanation.push(format!("{} is left out: its weight is 0.", c.label()));
        } else if let Some(s) = score {
            explanation.push(format!(
                "{} contributed {:.1} (score {:.1} × weight {} of {}).",
                c.label(),
                contribution,
                s,
                trim_num(weight),
                trim_num(sum_w)
            ));
        } else {
            explanation.push(format!("{} is left out: it has no score yet.", c.label()));
        }
        criteria.push(CriterionScore {
            criterion: c,
            label: c.label().to_string(),
            score: score.map(round1),
            explanation: expl,
            judgement: j.judgement,
            evidence: j.evidence,
            weight,
            contribution: round1(contribution),
        });
    }
    for g in gates.iter().filter(|g| !g.passed) {
        explanation.push(format!("Fails a must-pass gate: {}", g.message));
    }
    Evaluation {
        criteria,
        gates,
        warnings,
        total: total.map(round1),
        verdict,
        explanation,
        price_note: PRICE_NOTE.to_string(),
    }
}

/// A number without a needless ".0".
fn trim_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}").trim_end_matches('0').to_string()
    }
}

/// Which candidate a new scorecard evaluates: an ecosystem organization (`organization_id`) or a
/// market candidate from public data (`source` and `ref`, as the market scan lists them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScorecardInput {
    #[serde(default)]
    pub organization_id: Option<i64>,
    /// The public-data source: `nppes`, `hospitals` or `postacute`.
    #[serde(default)]
    pub source: Option<String>,
    /// The candidate's reference in that source (NPI, CCN or practice address key).
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
}

/// What a new scorecard refers to, once the input names exactly one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateRef {
    Organization(crate::OrgId),
    Market { source: String, reference: String },
}

/// The source name scorecards of ecosystem organizations are filed under.
pub const ORGANIZATION_SOURCE: &str = "organization";

impl NewScorecardInput {
    pub fn validate(&self) -> Result<CandidateRef, ValidationErrors> {
        let source = self
            .source
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let reference = self
            .reference
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        match (self.organization_id, source, reference) {
            (Some(id), None, None) => Ok(CandidateRef::Organization(crate::OrgId(id))),
            (None, Some(s), Some(r)) => {
                let mut e = ValidationErrors::new();
                let source = clean(&mut e, "source", s, 1, 40, false);
                let reference = clean(&mut e, "ref", r, 1, 200, false);
                e.into_result(CandidateRef::Market { source, reference })
            }
            (None, Some(_), None) => Err(ValidationErrors::single(
                "ref",
                "required",
                "give the candidate's reference in the source (NPI, CCN or practice key)",
            )),
            (None, None, Some(_)) => Err(ValidationErrors::single(
                "source",
                "required",
                "give the public-data source the reference belongs to",
            )),
            (None, None, None) => Err(ValidationErrors::single(
                "organization_id",
                "required",
                "name the candidate: an organization_id, or a source and ref from the market scan",
            )),
            (Some(_), _, _) => Err(ValidationErrors::single(
                "organization_id",
                "ambiguous",
                "name the candidate once: an organization_id or a source and ref, not both",
            )),
        }
    }
}

/// The candidate a scorecard is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CandidateInfo {
    /// `organization` for an ecosystem organization, else the public-data source.
    pub source: String,
    #[serde(rename = "ref")]
    pub reference: String,
    /// The ecosystem organization, when the candidate is one (or once promoted).
    pub organization_id: Option<crate::OrgId>,
    /// What was known when the scorecard was created (public data survives re-imports here); for
    /// an ecosystem organization, its current profile.
    pub profile: FitProfile,
}

/// A fit scorecard: private to the evaluating organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Scorecard {
    pub id: i64,
    /// The evaluating organization (the only one that can see it).
    pub organization_id: crate::OrgId,
    pub evaluator: FitProfile,
    pub candidate: CandidateInfo,
    pub judgements: BTreeMap<Criterion, Judgement>,
    pub settings: Settings,
    pub evaluation: Evaluation,
    /// The partnership created by promotion.
    pub partnership_id: Option<crate::PartnershipId>,
    pub promoted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A scorecard as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScorecardSummary {
    pub id: i64,
    pub candidate_name: String,
    pub candidate_kind: String,
    pub source: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub locality: String,
    pub total: Option<f64>,
    pub verdict: Verdict,
    pub failed_gates: usize,
    pub partnership_id: Option<crate::PartnershipId>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Promotion: the partnership to open with the candidate (in stage `exploring`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteInput {
    #[serde(rename = "type")]
    pub partnership_type: crate::partnership::PartnershipType,
    /// Defaults to "<evaluator> – <candidate>".
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub purpose: String,
}

/// What promotion did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Promotion {
    pub scorecard_id: i64,
    pub organization_id: crate::OrgId,
    /// Whether the organization was created (false: it existed, matched as `matched_by`).
    pub organization_created: bool,
    /// `organization` (already one), `npi`, `ccn`, `name` or `created`.
    pub matched_by: String,
    pub partnership_id: crate::PartnershipId,
}

/// Marking an ecosystem organization as a competitor (private to the acting organization).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompetitorInput {
    pub organization_id: i64,
    #[serde(default)]
    pub note: String,
}

impl CompetitorInput {
    pub fn validate(&self) -> Result<(crate::OrgId, String), ValidationErrors> {
        let mut e = ValidationErrors::new();
        let note = clean(&mut e, "note", &self.note, 0, 2000, true);
        e.into_result((crate::OrgId(self.organization_id), note))
    }
}

/// A competitor on the acting organization's private list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Competitor {
    pub id: i64,
    pub organization_id: crate::OrgId,
    pub name: String,
    pub kind: String,
    pub locality: String,
    pub note: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(name: &str) -> FitProfile {
        FitProfile {
            name: name.into(),
            kind: "physician_group".into(),
            ..FitProfile::default()
        }
    }

    #[test]
    fn judgement_maps_to_quarters() {
        assert_eq!(judged(1), 0.0);
        assert_eq!(judged(3), 50.0);
        assert_eq!(judged(5), 100.0);
    }

    #[test]
    fn a_far_larger_side_warns() {
        let mut a = org("Big System");
        let mut b = org("Small Group");
        a.size.providers = Some(600);
        b.size.providers = Some(12);
        let (score, _, warning) = score_criterion(Criterion::BalanceOfPower, &a, &b, None);
        assert!((score.unwrap() - 100.0 / 50f64.sqrt()).abs() < 1e-9);
        assert!(warning.unwrap().contains("Big System is 50.0×"));
        b.size.providers = Some(200);
        assert!(score_criterion(Criterion::BalanceOfPower, &a, &b, None)
            .2
            .is_none());
    }

    #[test]
    fn complementarity_counts_sought_capabilities_offered() {
        let mut a = org("A");
        let mut b = org("B");
        a.capabilities_sought = vec!["dental".into(), "podiatry".into()];
        b.capabilities_offered = vec!["dental".into(), "primary_care".into()];
        let (s, e, _) = score_criterion(Criterion::Complementarity, &a, &b, None);
        assert_eq!(s, Some(50.0));
        assert!(e.contains("1 of the 2"), "{e}");
    }

    #[test]
    fn transparency_of_an_empty_profile_is_zero() {
        let b = org("B");
        let (s, _, _) = score_criterion(Criterion::Transparency, &org("A"), &b, None);
        assert_eq!(s, Some(0.0));
    }
}
