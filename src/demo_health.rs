//! The demo's sustain story (issue 6): stakeholder rosters, survey rounds, risk registers and a
//! health history for the partnerships that are live, so the portfolio shows a healthy
//! partnership (Quinnehtuk's revenue cycle), one declining (the Narragansett Bay imaging and lab
//! agreement: a metric off track, a perception gap on fairness, an unmitigated high risk) and one
//! whose champion left (the Greater Hartford Value Alliance: Farmington's champion departed with
//! no successor yet).

use chrono::{Duration, NaiveDate};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use concord_domain::account::{Email, Role};
use concord_domain::health::risk::RiskInput;
use concord_domain::health::stakeholder::{DepartureInput, StakeholderInput};
use concord_domain::health::survey::{SurveyAnswerInput, SurveyRoundInput};
use concord_domain::health::RiskCategory;
use concord_domain::partnership::Partnership;
use concord_domain::{OrgId, PartnershipId, UserId};
use concord_storage::{Actor, Store};

pub const HEALTHY: &str = "Quinnehtuk Revenue Cycle Partnership";
pub const DECLINING: &str = "Narragansett Bay Imaging and Lab Capacity Agreement";
pub const CHAMPION_LEFT: &str = "Greater Hartford Value Alliance";

fn parse<T: DeserializeOwned>(what: &str, v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("demo {what}: {e}"))
}

struct Loader<'a> {
    store: &'a Store,
    admins: &'a [(OrgId, UserId)],
    hash: &'a str,
    today: NaiveDate,
    /// Survey respondents created so far, by organization.
    respondents: Vec<(OrgId, Vec<UserId>)>,
    answers: usize,
    rounds: usize,
}

/// Three people of each party per survey: the admin and two colleagues.
const COLLEAGUES: [(&str, &str); 2] = [
    ("care.coordination", "Care coordination lead"),
    ("finance.partner", "Finance business partner"),
];

impl Loader<'_> {
    async fn act(&self, user: UserId, org: OrgId) -> Result<Actor, String> {
        let acting = self
            .store
            .acting(user, org)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("demo user {user} cannot act for organization {org}"))?;
        Ok(Actor::person("demo", &acting, None))
    }

    async fn admin(&self, org: OrgId) -> Result<Actor, String> {
        let user = self
            .admins
            .iter()
            .find(|(o, _)| *o == org)
            .map(|(_, u)| *u)
            .ok_or_else(|| format!("organization {org} has no demo admin"))?;
        self.act(user, org).await
    }

    async fn respondents_of(&mut self, org: OrgId, slug: &str) -> Result<Vec<UserId>, String> {
        if let Some((_, users)) = self.respondents.iter().find(|(o, _)| *o == org) {
            return Ok(users.clone());
        }
        let mut users: Vec<UserId> = self
            .admins
            .iter()
            .filter(|(o, _)| *o == org)
            .map(|(_, u)| *u)
            .collect();
        for (local, name) in COLLEAGUES {
            let email =
                Email::parse(&format!("{local}@{slug}.example")).map_err(|e| e.to_string())?;
            let user = self
                .store
                .create_user(
                    &Actor::new("demo"),
                    &email,
                    name,
                    self.hash,
                    org,
                    Role::Contributor,
                )
                .await
                .map_err(|e| format!("demo account {email}: {e}"))?;
            users.push(user.id);
        }
        self.respondents.push((org, users.clone()));
        Ok(users)
    }

    /// Opens a round, has three people of each party answer with `scores[party][person]` (the
    /// nine dimensions in order), and closes it when `close`.
    async fn survey(
        &mut self,
        p: &Partnership,
        slugs: &[String],
        title: &str,
        scores: &[[[i64; 9]; 3]],
        comments: &[&str],
        close: bool,
    ) -> Result<(), String> {
        let opener = self.admin(p.parties[0].organization_id).await?;
        let round = self
            .store
            .open_survey_round(
                &opener,
                p.id,
                &SurveyRoundInput {
                    title: title.to_string(),
                    closes_on: None,
                },
                self.today,
            )
            .await
            .map_err(|e| format!("demo survey of {}: {e}", p.name))?;
        self.rounds += 1;
        for (i, party) in p.parties.iter().enumerate() {
            let Some(party_scores) = scores.get(i) else {
                continue;
            };
            let users = self
                .respondents_of(party.organization_id, &slugs[i])
                .await?;
            for (j, user) in users.iter().enumerate() {
                let actor = self.act(*user, party.organization_id).await?;
                let dims = concord_domain::health::Dimension::ALL;
                let mut map = serde_json::Map::new();
                for (d, s) in dims.iter().zip(party_scores[j % 3]) {
                    map.insert(d.as_str().to_string(), json!(s));
                }
                let comment = comments.get(i * 3 + j).copied().unwrap_or("");
                let input: SurveyAnswerInput = parse(
                    "survey answer",
                    json!({ "scores": map, "comment": comment }),
                )?;
                self.store
                    .answer_survey(&actor, p.id, round.number, &input, self.today)
                    .await
                    .map_err(|e| format!("demo survey answer in {}: {e}", p.name))?;
                self.answers += 1;
            }
        }
        if close {
            self.store
                .close_survey_round(&opener, p.id, round.number)
                .await
                .map_err(|e| format!("demo survey of {}: {e}", p.name))?;
        }
        Ok(())
    }

    async fn people(
        &self,
        p: &Partnership,
        people: &[(usize, &str, &str, &str, &str, &str)],
    ) -> Result<Vec<i64>, String> {
        let mut ids = Vec::new();
        for (party, name, title, role, influence, engagement) in people {
            let org = p.parties[*party].organization_id;
            let actor = self.admin(org).await?;
            let input: StakeholderInput = parse(
                "stakeholder",
                json!({ "organization_id": org, "name": name, "title": title, "role": role,
                        "influence": influence, "engagement": engagement }),
            )?;
            let s = self
                .store
                .add_stakeholder(&actor, p.id, &input)
                .await
                .map_err(|e| format!("demo stakeholder {name} in {}: {e}", p.name))?;
            ids.push(s.id);
        }
        Ok(ids)
    }

    /// Updates the seeded risk of `category` (the three classic risks every partnership starts
    /// with) as the first party's admin.
    async fn assess_seeded(
        &self,
        p: &Partnership,
        category: RiskCategory,
        likelihood: u8,
        impact: u8,
        mitigation: &str,
        status: &str,
    ) -> Result<(), String> {
        let actor = self.admin(p.parties[0].organization_id).await?;
        let (_, risks) = self
            .store
            .risks(&actor, p.id)
            .await
            .map_err(|e| format!("demo risks of {}: {e}", p.name))?;
        let Some(r) = risks.iter().find(|r| r.category == category) else {
            return Err(format!("{} has no seeded {category} risk", p.name));
        };
        let input: RiskInput = parse(
            "risk",
            json!({ "category": category, "title": r.title, "description": r.description,
                    "likelihood": likelihood, "impact": impact,
                    "owner_org_id": p.parties[0].organization_id, "owner_name": "",
                    "mitigation": mitigation, "status": status,
                    "review_on": self.today + Duration::days(45), "visibility": "shared" }),
        )?;
        self.store
            .update_risk(&actor, p.id, r.id, &input)
            .await
            .map_err(|e| format!("demo risk of {}: {e}", p.name))?;
        Ok(())
    }

    async fn add_risk(&self, p: &Partnership, party: usize, v: Value) -> Result<(), String> {
        let actor = self.admin(p.parties[party].organization_id).await?;
        let input: RiskInput = parse("risk", v)?;
        self.store
            .add_risk(&actor, p.id, &input)
            .await
            .map_err(|e| format!("demo risk of {}: {e}", p.name))?;
        Ok(())
    }
}

const GOOD: [[i64; 9]; 3] = [
    [5, 4, 5, 4, 5, 4, 4, 5, 4],
    [4, 4, 4, 4, 4, 5, 4, 4, 3],
    [5, 5, 4, 4, 4, 4, 5, 4, 4],
];
const FAIR: [[i64; 9]; 3] = [
    [4, 3, 4, 3, 4, 3, 3, 3, 3],
    [3, 4, 3, 4, 3, 3, 4, 3, 3],
    [4, 3, 3, 3, 3, 4, 3, 4, 2],
];
/// The larger party's view of the imaging agreement: content.
const LANTERN_VIEW: [[i64; 9]; 3] = [
    [4, 4, 4, 4, 4, 3, 5, 4, 3],
    [4, 3, 4, 4, 4, 3, 4, 4, 3],
    [5, 4, 4, 3, 4, 3, 4, 5, 3],
];
/// The smaller party's view: the balance of power and transparency look very different.
const SALTMARSH_VIEW: [[i64; 9]; 3] = [
    [3, 3, 3, 3, 3, 2, 2, 2, 2],
    [3, 2, 3, 3, 3, 2, 2, 3, 2],
    [2, 3, 3, 3, 2, 2, 3, 2, 2],
];

async fn all_partnerships(store: &Store) -> Result<Vec<Partnership>, String> {
    use concord_domain::paging::PageRequest;
    use concord_domain::partnership::{PartnershipFilter, PartnershipSort};
    Ok(store
        .list_partnerships(
            &Actor::new("demo"),
            &PartnershipFilter {
                include_archived: true,
                ..PartnershipFilter::default()
            },
            PartnershipSort::Name,
            PageRequest::new(Some(1), Some(100)).map_err(|e| e.to_string())?,
        )
        .await
        .map_err(|e| format!("demo partnerships: {e}"))?
        .items)
}

/// Loads the sustain story over the partnerships the demo created.
pub(crate) async fn load(
    store: &Store,
    admins: &[(OrgId, UserId)],
    hash: &str,
    today: NaiveDate,
) -> Result<String, String> {
    let all = all_partnerships(store).await?;
    let find = |name: &str| {
        all.iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| format!("the demo has no partnership {name}"))
    };
    let slugs = |p: &Partnership| -> Vec<String> {
        p.parties
            .iter()
            .map(|x| crate::demo::slug(&x.organization_name))
            .collect()
    };
    let mut l = Loader {
        store,
        admins,
        hash,
        today,
        respondents: Vec::new(),
        answers: 0,
        rounds: 0,
    };

    // Healthy: the revenue cycle partnership.
    let healthy = find(HEALTHY)?;
    l.people(
        &healthy,
        &[
            (
                0,
                "Dr. Alma Reyes",
                "Chief Strategy Officer",
                "executive_sponsor",
                "high",
                "high",
            ),
            (
                0,
                "Marcus Bell",
                "Vice President, Revenue Cycle",
                "champion",
                "high",
                "high",
            ),
            (
                0,
                "Priya Natarajan",
                "Director, Strategic Alliances",
                "alliance_manager",
                "medium",
                "high",
            ),
            (
                1,
                "Colin Whitaker",
                "Chief Operating Officer",
                "executive_sponsor",
                "high",
                "medium",
            ),
            (
                1,
                "Dana Obi",
                "Client Partner",
                "alliance_manager",
                "medium",
                "high",
            ),
            (
                1,
                "Lucia Ferreira",
                "Coding Quality Lead",
                "operational_lead",
                "medium",
                "high",
            ),
        ],
    )
    .await?;
    l.survey(
        &healthy,
        &slugs(&healthy),
        "Spring pulse",
        &[FAIR, GOOD],
        &[],
        true,
    )
    .await?;
    l.survey(
        &healthy,
        &slugs(&healthy),
        "Annual health survey",
        &[GOOD, GOOD],
        &[
            "Denials work is finally shared both ways; keep the monthly huddles.",
            "",
            "",
            "Their coders answer within a day now.",
        ],
        true,
    )
    .await?;
    l.assess_seeded(
        &healthy,
        RiskCategory::BusinessModel,
        2,
        3,
        "Joint finance walkthrough of both revenue models each budget cycle.",
        "mitigating",
    )
    .await?;
    l.assess_seeded(
        &healthy,
        RiskCategory::PowerAsymmetry,
        2,
        3,
        "Fee at risk is capped and reviewed by the steering group.",
        "mitigating",
    )
    .await?;

    // Declining: the imaging and lab capacity agreement.
    let declining = find(DECLINING)?;
    l.people(
        &declining,
        &[
            (
                0,
                "Dr. Evelyn Hart",
                "Chief Medical Officer",
                "executive_sponsor",
                "high",
                "medium",
            ),
            (
                0,
                "Tomas Lindqvist",
                "Director, Imaging Services",
                "champion",
                "medium",
                "medium",
            ),
            (
                1,
                "Grace Amankwah",
                "Chief Executive Officer",
                "executive_sponsor",
                "high",
                "low",
            ),
            (
                1,
                "Ravi Menon",
                "Laboratory Manager",
                "operational_lead",
                "low",
                "medium",
            ),
        ],
    )
    .await?;
    l.survey(
        &declining,
        &slugs(&declining),
        "First-year survey",
        &[GOOD, FAIR],
        &[],
        true,
    )
    .await?;
    l.survey(
        &declining,
        &slugs(&declining),
        "Restructuring check-in",
        &[LANTERN_VIEW, SALTMARSH_VIEW],
        &[
            "",
            "",
            "",
            "We take the overflow at their price and hear about schedule changes last.",
            "Turnaround times are blamed on us even when transport is late.",
        ],
        true,
    )
    .await?;
    l.assess_seeded(&declining, RiskCategory::PowerAsymmetry, 4, 4, "", "open")
        .await?;
    l.add_risk(
        &declining,
        1,
        json!({ "category": "value_shortfall", "title": "Scan turnaround keeps slipping",
                "description": "Fewer outpatients are scanned within 7 days each month; referrers are going elsewhere.",
                "likelihood": 4, "impact": 3, "owner_org_id": declining.parties[1].organization_id,
                "owner_name": "Ravi Menon", "mitigation": "Weekly slot review with Lantern Bay scheduling.",
                "status": "open" }),
    )
    .await?;
    l.add_risk(
        &declining,
        1,
        json!({ "category": "other", "title": "We may need a second imaging partner",
                "description": "Internal: options if the restructuring fails.",
                "likelihood": 3, "impact": 4, "mitigation": "Board briefing in the next quarter.",
                "visibility": "private" }),
    )
    .await?;

    // Champion left: the Greater Hartford Value Alliance.
    let left = find(CHAMPION_LEFT)?;
    let ids = l
        .people(
            &left,
            &[
                (
                    0,
                    "Dr. Alma Reyes",
                    "Chief Strategy Officer",
                    "executive_sponsor",
                    "high",
                    "high",
                ),
                (
                    0,
                    "Hannah Kowalski",
                    "Director, Population Health",
                    "alliance_manager",
                    "medium",
                    "high",
                ),
                (
                    1,
                    "Dr. Nia Okafor",
                    "Medical Director, Quality",
                    "champion",
                    "high",
                    "high",
                ),
                (
                    1,
                    "Peter Szabo",
                    "Practice Operations Manager",
                    "operational_lead",
                    "medium",
                    "medium",
                ),
            ],
        )
        .await?;
    let farmington = left.parties[1].organization_id;
    l.store
        .depart_stakeholder(
            &l.admin(farmington).await?,
            left.id,
            ids[2],
            &DepartureInput {
                departed_on: today - Duration::days(24),
            },
            today,
        )
        .await
        .map_err(|e| format!("demo departure in {}: {e}", left.name))?;
    l.survey(
        &left,
        &slugs(&left),
        "Mid-year survey",
        &[GOOD, GOOD],
        &[],
        true,
    )
    .await?;

    // A health history for every live partnership: the drivers as of each of the last twelve
    // months, so the trend and the sparklines have something to show from the first visit.
    let days: Vec<NaiveDate> = (1..=12)
        .rev()
        .map(|m| today - Duration::days(30 * m))
        .collect();
    let mut histories = 0;
    for p in &all {
        if p.stage.is_terminal() || p.archived_at.is_some() {
            continue;
        }
        histories += store
            .backfill_health_history(p.id, &days)
            .await
            .map_err(|e| format!("demo health history of {}: {e}", p.name))?;
    }
    Ok(format!(
        "Health: {} survey rounds ({} answers), stakeholder rosters and risk registers for 3 partnerships; {HEALTHY} is healthy, {DECLINING} is declining, {CHAMPION_LEFT} lost its champion; {histories} health history points.\n",
        l.rounds, l.answers
    ))
}

/// The ids of the three partnerships the story is about, for the demo test.
pub async fn story_ids(store: &Store) -> Result<[PartnershipId; 3], String> {
    let all = all_partnerships(store).await?;
    let id = |name: &str| {
        all.iter()
            .find(|p| p.name == name)
            .map(|p| p.id)
            .ok_or_else(|| format!("no partnership {name}"))
    };
    Ok([id(HEALTHY)?, id(DECLINING)?, id(CHAMPION_LEFT)?])
}
