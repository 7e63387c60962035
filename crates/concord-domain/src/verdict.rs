//! Is this partnership strategic or merely transactional? Five tests computed from the charter,
//! each with a reason and, when it fails, concrete suggestions. Recomputed on every read.
//!
//! - **Coopetition scoped**: at least one area of cooperation, and either a named area of
//!   competition or an explicit "no competing areas".
//! - **Together beats alone**: every party states a goal it could not reach alone; at least one
//!   metric is not financial; metrics were agreed before the partnership went active.
//! - **Stakes on the table**: every party has benefits *and* risks recorded, and every party has
//!   acknowledged the others' stakes.
//! - **Relationship tended**: an alliance manager for every party, a meeting cadence, a review
//!   interval, and an innovation agenda that is not empty.
//! - **Not a finder's fee**: value flows are recorded and not only referral volume or
//!   per-referral fees. A deal whose only flows are referrals is transactional whatever else
//!   passes.
//!
//! The verdict: transactional when the finder's-fee rule bites; strategic when all five pass;
//! partly strategic when at least two of the first four pass; transactional otherwise.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::charter::{Charter, MetricCategory, StakeKind, Stance};
use crate::OrgId;

string_enum! {
    /// The verdict on a partnership.
    pub enum VerdictKind {
        Strategic = "strategic" => "Strategic",
        PartlyStrategic = "partly_strategic" => "Partly strategic",
        Transactional = "transactional" => "Transactional",
    }
}

impl VerdictKind {
    /// Higher is more strategic (for "never makes the verdict worse").
    pub fn rank(self) -> u8 {
        match self {
            Self::Transactional => 0,
            Self::PartlyStrategic => 1,
            Self::Strategic => 2,
        }
    }
}

string_enum! {
    /// The five tests.
    pub enum TestKind {
        CoopetitionScoped = "coopetition_scoped" => "Coopetition is scoped",
        TogetherBeatsAlone = "together_beats_alone" => "Together beats alone",
        StakesOnTheTable = "stakes_on_the_table" => "Unequal benefits and risks are on the table",
        RelationshipTended = "relationship_tended" => "The relationship is tended",
        NotAFindersFee = "not_a_finders_fee" => "Not a finder's fee",
    }
}

/// One test's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TestResult {
    pub test: TestKind,
    pub label: String,
    pub passed: bool,
    /// Why it passed or failed, in a sentence or two.
    pub reason: String,
    /// What to change to pass (empty when it passed).
    pub suggestions: Vec<String>,
}

/// The verdict with every test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Verdict {
    pub verdict: VerdictKind,
    /// One sentence on how the verdict follows from the tests.
    pub summary: String,
    pub tests: Vec<TestResult>,
}

/// A party as the verdict names it.
#[derive(Debug, Clone, Copy)]
pub struct PartyRef<'a> {
    pub id: OrgId,
    pub name: &'a str,
}

/// Everything the verdict looks at besides the charter text.
#[derive(Debug, Clone)]
pub struct VerdictInput<'a> {
    /// The charter judged; `None` when the partnership has none yet.
    pub charter: Option<&'a Charter>,
    pub parties: &'a [PartyRef<'a>],
    /// Parties that acknowledged the others' stakes in this version.
    pub acknowledged: &'a [OrgId],
    /// When the partnership first went active, if it has.
    pub went_active_at: Option<DateTime<Utc>>,
    /// For each metric id, when a version containing it first became effective.
    pub metric_agreed_at: &'a [(u32, DateTime<Utc>)],
}

fn names(parties: &[&PartyRef<'_>]) -> String {
    let v: Vec<&str> = parties.iter().map(|p| p.name).collect();
    match v.len() {
        0 => String::new(),
        1 => v[0].to_string(),
        _ => format!("{} and {}", v[..v.len() - 1].join(", "), v[v.len() - 1]),
    }
}

struct Checks {
    /// Each failure as a sentence fragment; `true` when it starts with a party's name (kept as
    /// written), otherwise its first letter is capitalised.
    failures: Vec<(String, bool)>,
    suggestions: Vec<String>,
}

impl Checks {
    fn new() -> Self {
        Self {
            failures: Vec::new(),
            suggestions: Vec::new(),
        }
    }
    fn fail(&mut self, why: String, suggestion: String) {
        self.failures.push((why, false));
        self.suggestions.push(suggestion);
    }
    /// A failure whose sentence starts with a party's name.
    fn fail_named(&mut self, why: String, suggestion: String) {
        self.failures.push((why, true));
        self.suggestions.push(suggestion);
    }
    fn finish(self, test: TestKind, pass_reason: String) -> TestResult {
        let passed = self.failures.is_empty();
        TestResult {
            test,
            label: test.label().to_string(),
            passed,
            reason: if passed {
                pass_reason
            } else {
                self.failures
                    .into_iter()
                    .map(|(s, named)| if named { s } else { capitalise(s) } + ".")
                    .collect::<Vec<_>>()
                    .join(" ")
            },
            suggestions: self.suggestions,
        }
    }
}

fn capitalise(s: String) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => s,
    }
}

fn no_charter(parties: &[PartyRef<'_>]) -> Verdict {
    let everyone = names(&parties.iter().collect::<Vec<_>>());
    let tests = TestKind::ALL
        .iter()
        .map(|&test| TestResult {
            test,
            label: test.label().to_string(),
            passed: false,
            reason: "There is no charter yet.".to_string(),
            suggestions: vec![format!(
                "Draft a charter that {everyone} can sign: goals, metrics, stakes, coopetition scope, governance and value flows."
            )],
        })
        .collect();
    Verdict {
        verdict: VerdictKind::Transactional,
        summary: "Transactional: nothing has been agreed in a charter yet.".to_string(),
        tests,
    }
}

fn coopetition(c: &Charter) -> TestResult {
    let mut k = Checks::new();
    let coop: Vec<&str> = c
        .coopetition
        .areas
        .iter()
        .filter(|a| a.stance == Stance::Cooperate)
        .map(|a| a.name.as_str())
        .collect();
    let compete: Vec<&str> = c
        .coopetition
        .areas
        .iter()
        .filter(|a| a.stance == Stance::Compete)
        .map(|a| a.name.as_str())
        .collect();
    if coop.is_empty() {
        k.fail(
            "no area of cooperation is named".into(),
            "Name at least one area (service line, geography, population or function) where the parties cooperate.".into(),
        );
    }
    if compete.is_empty() && !c.coopetition.no_competing_areas {
        k.fail(
            "areas of competition are neither named nor explicitly ruled out".into(),
            "Name the areas where the parties keep competing, or state explicitly that there are none.".into(),
        );
    }
    let competing = if c.coopetition.no_competing_areas {
        "no competing areas, stated explicitly".to_string()
    } else {
        format!("competing in {}", compete.join(", "))
    };
    k.finish(
        TestKind::CoopetitionScoped,
        format!("Cooperating in {}; {competing}.", coop.join(", ")),
    )
}

fn together(input: &VerdictInput<'_>, c: &Charter) -> TestResult {
    let mut k = Checks::new();
    let missing: Vec<&PartyRef<'_>> = input
        .parties
        .iter()
        .filter(|p| !c.alone_goals.iter().any(|g| g.party == p.id))
        .collect();
    if !missing.is_empty() {
        k.fail_named(
            format!(
                "{} states no goal it could not reach alone",
                names(&missing)
            ),
            format!(
                "Ask {} to state a goal it could not reach without the partnership, and why.",
                names(&missing)
            ),
        );
    }
    let non_financial = c
        .metrics
        .iter()
        .filter(|m| m.category != MetricCategory::Financial)
        .count();
    if non_financial == 0 {
        k.fail(
            if c.metrics.is_empty() {
                "no success metric is defined".into()
            } else {
                "every metric is financial".into()
            },
            "Add a metric that is not financial: clinical quality, patient experience, access, community benefit, operational or workforce.".into(),
        );
    }
    let timing = match input.went_active_at {
        None => !c.metrics.is_empty(),
        Some(active) => {
            // Ids agreed in time, looked up once rather than per metric.
            let in_time: std::collections::HashSet<u32> = input
                .metric_agreed_at
                .iter()
                .filter(|(_, at)| *at <= active)
                .map(|(id, _)| *id)
                .collect();
            c.metrics
                .iter()
                .any(|m| m.id.is_some_and(|id| in_time.contains(&id)))
        }
    };
    if !timing && !c.metrics.is_empty() {
        k.fail(
            "no metric was agreed before the partnership went active".into(),
            "Metrics count when they are set before go-live; at the next review, agree the metrics you will be judged on and record how the partnership went live without them.".into(),
        );
    } else if !timing && input.went_active_at.is_some() {
        k.fail(
            "the partnership went active without agreed metrics".into(),
            "Agree success metrics with a baseline and a target at the next review.".into(),
        );
    }
    k.finish(
        TestKind::TogetherBeatsAlone,
        format!(
            "Every party states a goal it could not reach alone; {non_financial} of {} metrics are non-financial; metrics were set {}.",
            c.metrics.len(),
            if input.went_active_at.is_some() {
                "before the partnership went active"
            } else {
                "before go-live"
            }
        ),
    )
}

fn stakes(input: &VerdictInput<'_>, c: &Charter) -> TestResult {
    let mut k = Checks::new();
    let has = |p: &PartyRef<'_>, kind: StakeKind| {
        c.stakes.iter().any(|s| s.party == p.id && s.kind == kind)
    };
    let no_benefit: Vec<&PartyRef<'_>> = input
        .parties
        .iter()
        .filter(|p| !has(p, StakeKind::Benefit))
        .collect();
    let no_risk: Vec<&PartyRef<'_>> = input
        .parties
        .iter()
        .filter(|p| !has(p, StakeKind::Risk))
        .collect();
    if !no_benefit.is_empty() {
        k.fail(
            format!("no benefit is recorded for {}", names(&no_benefit)),
            format!(
                "Record what {} gains from the partnership, with its magnitude.",
                names(&no_benefit)
            ),
        );
    }
    if !no_risk.is_empty() {
        k.fail(
            format!("no risk is recorded for {}", names(&no_risk)),
            format!(
                "Record what {} puts at risk; unequal stakes are fine, hidden ones are not.",
                names(&no_risk)
            ),
        );
    }
    let unacked: Vec<&PartyRef<'_>> = input
        .parties
        .iter()
        .filter(|p| !input.acknowledged.contains(&p.id))
        .collect();
    if !unacked.is_empty() {
        k.fail_named(
            format!(
                "{} {} not acknowledged the other parties' stakes",
                names(&unacked),
                if unacked.len() == 1 { "has" } else { "have" }
            ),
            format!(
                "An alliance manager of {} should read the stakes ledger and acknowledge it.",
                names(&unacked)
            ),
        );
    }
    k.finish(
        TestKind::StakesOnTheTable,
        format!(
            "Every party has recorded benefits and risks ({} lines) and acknowledged the others'.",
            c.stakes.len()
        ),
    )
}

fn tended(input: &VerdictInput<'_>, c: &Charter) -> TestResult {
    let mut k = Checks::new();
    let g = &c.governance;
    let unmanaged: Vec<&PartyRef<'_>> = input
        .parties
        .iter()
        .filter(|p| !g.alliance_managers.iter().any(|m| m.party == p.id))
        .collect();
    if !unmanaged.is_empty() {
        k.fail_named(
            format!("{} has no alliance manager", names(&unmanaged)),
            format!(
                "Name an alliance manager for {}: one of its members who owns the relationship day to day.",
                names(&unmanaged)
            ),
        );
    }
    if g.meeting_cadence.is_none() {
        k.fail(
            "no meeting cadence is set".into(),
            "Set how often the steering group meets (monthly is common while a partnership is young).".into(),
        );
    }
    if g.review_interval_months.is_none() {
        k.fail(
            "no review interval is set".into(),
            "Set how often the partnership is formally reviewed (every 6 or 12 months).".into(),
        );
    }
    if c.innovation_agenda.is_empty() {
        k.fail(
            "the innovation agenda is empty".into(),
            "Add at least one idea the parties will explore together later (an \"expansion joint\").".into(),
        );
    }
    k.finish(
        TestKind::RelationshipTended,
        format!(
            "Alliance managers named for every party, the steering group meets {}, reviews every {} months, {} idea(s) on the innovation agenda.",
            g.meeting_cadence.map(|m| m.label().to_lowercase()).unwrap_or_default(),
            g.review_interval_months.unwrap_or_default(),
            c.innovation_agenda.len()
        ),
    )
}

/// The finder's-fee test, and whether it forces the verdict to transactional.
fn finders_fee(c: &Charter) -> (TestResult, bool) {
    let flows = &c.value_flows;
    let test = TestKind::NotAFindersFee;
    if flows.is_empty() {
        return (
            TestResult {
                test,
                label: test.label().to_string(),
                passed: false,
                reason: "No value flows between the parties are recorded.".into(),
                suggestions: vec![
                    "Record what passes between the parties: service fees, shared savings, referral volume, per-referral fees, capital, data or staff.".into(),
                ],
            },
            false,
        );
    }
    if flows.iter().all(|f| f.kind.is_referral()) {
        return (
            TestResult {
                test,
                label: test.label().to_string(),
                passed: false,
                reason: "The only value flows are referral volume or per-referral fees: this is a finder's fee, so the partnership is transactional whatever else it claims.".into(),
                suggestions: vec![
                    "Build value the parties create together — shared savings, data, staff, capital or jointly delivered services — or call the deal what it is: a referral arrangement.".into(),
                ],
            },
            true,
        );
    }
    let mut kinds: Vec<&str> = Vec::new();
    for f in flows.iter().filter(|f| !f.kind.is_referral()) {
        let l = f.kind.label();
        if !kinds.contains(&l) {
            kinds.push(l);
        }
    }
    (
        TestResult {
            test,
            label: test.label().to_string(),
            passed: true,
            reason: format!(
                "Value flows beyond referrals: {}.",
                kinds.join(", ").to_lowercase()
            ),
            suggestions: Vec::new(),
        },
        false,
    )
}

/// The verdict. Pure: the same input always gives the same verdict.
pub fn verdict(input: &VerdictInput<'_>) -> Verdict {
    let Some(c) = input.charter else {
        return no_charter(input.parties);
    };
    let core = [
        coopetition(c),
        together(input, c),
        stakes(input, c),
        tended(input, c),
    ];
    let (fee, forced) = finders_fee(c);
    let core_passed = core.iter().filter(|t| t.passed).count();
    let (kind, summary) = if forced {
        (
            VerdictKind::Transactional,
            "Transactional: the only value passing between the parties is referrals.".to_string(),
        )
    } else if core_passed == core.len() && fee.passed {
        (
            VerdictKind::Strategic,
            "Strategic: every test passes.".to_string(),
        )
    } else if core_passed >= 2 {
        let failed = core.iter().chain([&fee]).filter(|t| !t.passed).count();
        (
            VerdictKind::PartlyStrategic,
            format!(
                "Partly strategic: {failed} of {} tests fail; the suggestions say what to agree next.",
                core.len() + 1
            ),
        )
    } else {
        (
            VerdictKind::Transactional,
            format!("Transactional: only {core_passed} of the four core tests pass."),
        )
    };
    let mut tests: Vec<TestResult> = core.into_iter().collect();
    tests.push(fee);
    Verdict {
        verdict: kind,
        summary,
        tests,
    }
}
