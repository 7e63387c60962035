//! Early warnings: rules over the same figures as the health score ([`HealthInputs`]). Each
//! warning names its evidence and links to the page that shows it; its `key` is the rule and the
//! evidence (for example `metric_off_track:3:2026-05-01`), so an acknowledgement covers exactly
//! that evidence and new evidence raises a new warning.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::score::HealthInputs;
use super::survey::GAP_WARNING;
use super::{severity, HIGH_RISK};
use crate::OrgId;

string_enum! {
    /// Which rule raised a warning.
    pub enum WarningRule {
        MetricOffTrack = "metric_off_track" => "Metric off track",
        CommitmentLate = "commitment_late" => "Commitment late",
        CadenceLow = "cadence_low" => "Meeting cadence below target",
        PerceptionGap = "perception_gap" => "Perception gap",
        KeyPersonDeparted = "key_person_departed" => "Key person departed without a briefed successor",
        HighRiskUnmitigated = "high_risk_unmitigated" => "High risk without mitigation",
        ReviewOverdue = "review_overdue" => "Review overdue",
    }
}

string_enum! {
    /// How urgent a warning is.
    pub enum WarningSeverity {
        Critical = "critical" => "Critical",
        Warning = "warning" => "Warning",
    }
}

/// An acknowledgement: who looked at the warning, and what they said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ack {
    /// The person's name.
    pub by: String,
    pub organization_id: OrgId,
    pub note: String,
    pub at: DateTime<Utc>,
}

/// One early warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Warning {
    /// Stable: the rule and its evidence.
    pub key: String,
    pub rule: WarningRule,
    pub severity: WarningSeverity,
    pub message: String,
    /// The figures that raised it.
    pub evidence: String,
    /// The page that shows the evidence.
    pub link: String,
    pub acknowledged: Option<Ack>,
}

/// The rules' thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WarningRules {
    /// A metric off track for this many consecutive periods: 3.
    pub off_track_periods: usize,
    /// A commitment late by more than this many days: 30.
    pub late_days: i64,
    /// Steering meetings held / expected below this: 0.75.
    pub min_cadence: f64,
    /// A perception gap at or above this in any dimension: 1.0.
    pub gap: f64,
}

impl Default for WarningRules {
    fn default() -> Self {
        WarningRules {
            off_track_periods: 3,
            late_days: 30,
            min_cadence: 0.75,
            gap: GAP_WARNING,
        }
    }
}

/// Every warning the figures raise, unacknowledged, in rule order.
pub fn detect(inp: &HealthInputs, rules: &WarningRules) -> Vec<Warning> {
    let pid = inp.partnership_id;
    let mut out = Vec::new();
    let mut push = |key: String,
                    rule: WarningRule,
                    severity: WarningSeverity,
                    message: String,
                    evidence: String,
                    link: String| {
        out.push(Warning {
            key,
            rule,
            severity,
            message,
            evidence,
            link,
            acknowledged: None,
        })
    };

    for m in &inp.metrics {
        if rules.off_track_periods > 0 && m.off_track_streak >= rules.off_track_periods {
            let Some(latest) = &m.latest else { continue };
            push(
                format!("metric_off_track:{}:{}", m.metric_id, latest.period_end),
                WarningRule::MetricOffTrack,
                WarningSeverity::Critical,
                format!(
                    "{} has been off track for {} consecutive periods",
                    m.name, m.off_track_streak
                ),
                format!(
                    "Latest value {} {} for the period ending {}: {:.0}% attained, {:.0}% expected",
                    latest.value,
                    m.unit,
                    latest.period_end,
                    m.attainment.unwrap_or(0.0) * 100.0,
                    m.expected.unwrap_or(0.0) * 100.0
                ),
                format!("/partnerships/{pid}/metrics/{}", m.metric_id),
            );
        }
    }
    for c in &inp.commitments {
        if let Some(days) = c.days_late.filter(|d| c.late && *d > rules.late_days) {
            push(
                format!("commitment_late:{}:{}", c.id, c.due_on),
                WarningRule::CommitmentLate,
                WarningSeverity::Warning,
                format!("Commitment late by {days} days: {}", c.what),
                format!("Due {}, still open", c.due_on),
                format!("/partnerships/{pid}/commitments"),
            );
        }
    }
    if let Some(a) = &inp.cadence {
        if let Some(r) = a.ratio.filter(|r| *r < rules.min_cadence) {
            push(
                format!(
                    "cadence_low:{}",
                    a.last_held
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "never".into())
                ),
                WarningRule::CadenceLow,
                WarningSeverity::Warning,
                format!(
                    "Steering meetings kept {:.0}% of the cadence (below {:.0}%)",
                    r * 100.0,
                    rules.min_cadence * 100.0
                ),
                format!(
                    "{} of {} steering meetings held since {}; last held {}",
                    a.held,
                    a.expected,
                    a.window_start,
                    a.last_held
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "never".into())
                ),
                format!("/partnerships/{pid}/meetings"),
            );
        }
    }
    if let Some(s) = &inp.survey {
        let wide: Vec<String> = s
            .results
            .gaps
            .iter()
            .filter(|g| g.gap >= rules.gap)
            .map(|g| format!("{} {:.2}", g.dimension.label(), g.gap))
            .collect();
        if !wide.is_empty() {
            push(
                format!("perception_gap:{}", s.round),
                WarningRule::PerceptionGap,
                WarningSeverity::Warning,
                format!(
                    "The parties see the partnership differently in survey round {}",
                    s.round
                ),
                format!("Gaps of {:.1} or more: {}", rules.gap, wide.join(", ")),
                format!("/partnerships/{pid}/surveys"),
            );
        }
    }
    for d in &inp.departed {
        if d.successor_briefed || !d.role.is_key() {
            continue;
        }
        push(
            format!("key_person_departed:{}", d.stakeholder_id),
            WarningRule::KeyPersonDeparted,
            WarningSeverity::Critical,
            format!(
                "{} ({}) departed without a briefed successor",
                d.name,
                d.role.label().to_lowercase()
            ),
            match d.departed_on {
                Some(on) => format!("Departed {on}; no successor named and briefed"),
                None => "No successor named and briefed".to_string(),
            },
            format!("/partnerships/{pid}/stakeholders"),
        );
    }
    for r in &inp.risks {
        if severity(r.likelihood, r.impact) >= HIGH_RISK && !r.mitigated {
            push(
                format!("high_risk_unmitigated:{}", r.id),
                WarningRule::HighRiskUnmitigated,
                WarningSeverity::Critical,
                format!("High risk without mitigation: {}", r.title),
                format!(
                    "Likelihood {} × impact {} = {}",
                    r.likelihood,
                    r.impact,
                    severity(r.likelihood, r.impact)
                ),
                format!("/partnerships/{pid}/risks"),
            );
        }
    }
    if let Some((number, due)) = inp.reviews.overdue(inp.today) {
        let days = (inp.today - due).num_days();
        let (key, message, link) = if number > 0 {
            (
                format!("review_overdue:{number}:{due}"),
                format!("Review {number} is {days} days past its due date"),
                format!("/partnerships/{pid}/reviews/{number}"),
            )
        } else {
            (
                format!("review_overdue:next:{due}"),
                format!("The scheduled review is {days} days overdue and not opened"),
                format!("/partnerships/{pid}/reviews"),
            )
        };
        push(
            key,
            WarningRule::ReviewOverdue,
            WarningSeverity::Warning,
            message,
            format!("Due {due}"),
            link,
        );
    }
    out
}

/// The rule a key names (its part before the first `:`).
pub fn rule_of_key(key: &str) -> Option<WarningRule> {
    key.split(':').next().and_then(|r| r.parse().ok())
}
