//! Seeds an empty database with benchmark data: organizations across CT, MA and RI, and
//! partnerships between them that have walked a legal prefix of the stage machine.
//!
//! ```text
//! cargo run --release -p concord-storage --example seed_bench -- \
//!     --database-url sqlite://bench.db --orgs 2000 --partnerships 1000 [--seed 42] [--hub]
//! ```
//!
//! With `--hub`, the first organization (a health system) is a party to every partnership, so one
//! organization's view holds all of them: the load benchmark signs in as a member of it, since a
//! member sees only the partnerships their organization is party to.
//!
//! Everything goes through the store's normal, validated, audited, transactional writes, so the
//! data is exactly what the product itself would accept. The output is deterministic for a given
//! `--seed` (an inline xorshift generator; no new dependencies). The database must be empty (it is
//! migrated first); a database that already holds organizations is refused.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Instant;

use concord_domain::organization::{
    npi_check_digit, Address, BusinessModel, OrgKind, OrganizationFilter, OrganizationInput,
    PayerClass, PayerShare, RevenueBand, RevenueModel, Size,
};
use concord_domain::paging::PageRequest;
use concord_domain::partnership::{PartnershipInput, PartnershipType, PartyInput, Stage};
use concord_domain::{OrgId, PartnershipId};
use concord_storage::{Actor, ConnectOptions, Store};

const USAGE: &str = "usage: seed_bench --database-url URL [--orgs N (default 2000)] \
[--partnerships N (default 1000)] [--seed N (default 42)] [--hub]

  --hub  make the first organization (a health system) a party to every partnership, so that
         one organization's view holds them all (what the load benchmark signs in as)";

struct Args {
    database_url: String,
    orgs: usize,
    partnerships: usize,
    seed: u64,
    hub: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut database_url = std::env::var("CONCORD_DATABASE_URL").ok();
    let mut orgs = 2000usize;
    let mut partnerships = 1000usize;
    let mut seed = 42u64;
    let mut hub = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        let number = |v: String| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: `{v}` is not a whole number"))
        };
        match flag.as_str() {
            "--database-url" => database_url = Some(value()?),
            "--orgs" => orgs = number(value()?)? as usize,
            "--partnerships" => partnerships = number(value()?)? as usize,
            "--seed" => seed = number(value()?)?,
            "--hub" => hub = true,
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let database_url =
        database_url.ok_or_else(|| format!("--database-url is required\n{USAGE}"))?;
    if partnerships > 0 && orgs < 3 {
        return Err("--orgs must be at least 3 when partnerships are requested".into());
    }
    Ok(Args {
        database_url,
        orgs,
        partnerships,
        seed,
        hub,
    })
}

/// xorshift64*: small, fast, and good enough to make varied, reproducible test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Spread the seed (splitmix64 step) so that small seeds still start well; never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 1 } else { z })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + (self.next_u64() >> 11) % (hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Picks by weight from `(item, weight)` pairs.
    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut r = self.below(total as usize) as u32;
        for (item, w) in items {
            if r < *w {
                return *item;
            }
            r -= w;
        }
        items[items.len() - 1].0
    }

    /// `n` distinct indices from `0..len` (n <= len), in pick order.
    fn distinct(&mut self, n: usize, len: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n.min(len) {
            let i = self.below(len);
            if !out.contains(&i) {
                out.push(i);
            }
        }
        out
    }
}

/// (city, state, ZIP, latitude, longitude)
const CITIES: &[(&str, &str, &str, f64, f64)] = &[
    ("Hartford", "CT", "06103", 41.7658, -72.6734),
    ("New Haven", "CT", "06510", 41.3083, -72.9279),
    ("Bridgeport", "CT", "06604", 41.1792, -73.1894),
    ("Stamford", "CT", "06901", 41.0534, -73.5387),
    ("Waterbury", "CT", "06702", 41.5582, -73.0515),
    ("Norwalk", "CT", "06850", 41.1177, -73.4082),
    ("Danbury", "CT", "06810", 41.3948, -73.4540),
    ("New Britain", "CT", "06051", 41.6612, -72.7795),
    ("Middletown", "CT", "06457", 41.5623, -72.6506),
    ("New London", "CT", "06320", 41.3557, -72.0995),
    ("Norwich", "CT", "06360", 41.5243, -72.0759),
    ("Torrington", "CT", "06790", 41.8007, -73.1212),
    ("Meriden", "CT", "06450", 41.5382, -72.8070),
    ("Willimantic", "CT", "06226", 41.7107, -72.2081),
    ("Boston", "MA", "02114", 42.3601, -71.0589),
    ("Worcester", "MA", "01608", 42.2626, -71.8023),
    ("Springfield", "MA", "01103", 42.1015, -72.5898),
    ("Cambridge", "MA", "02139", 42.3736, -71.1097),
    ("Lowell", "MA", "01852", 42.6334, -71.3162),
    ("Brockton", "MA", "02301", 42.0834, -71.0184),
    ("New Bedford", "MA", "02740", 41.6362, -70.9342),
    ("Fall River", "MA", "02720", 41.7015, -71.1550),
    ("Pittsfield", "MA", "01201", 42.4501, -73.2454),
    ("Framingham", "MA", "01702", 42.2793, -71.4162),
    ("Hyannis", "MA", "02601", 41.6525, -70.2881),
    ("Salem", "MA", "01970", 42.5195, -70.8967),
    ("Providence", "RI", "02903", 41.8240, -71.4128),
    ("Warwick", "RI", "02886", 41.7001, -71.4162),
    ("Cranston", "RI", "02920", 41.7798, -71.4373),
    ("Pawtucket", "RI", "02860", 41.8787, -71.3826),
    ("Newport", "RI", "02840", 41.4901, -71.3128),
    ("Woonsocket", "RI", "02895", 42.0029, -71.5148),
    ("Westerly", "RI", "02891", 41.3776, -71.8273),
];

const PLACE_WORDS: &[&str] = &[
    "Harbor",
    "Riverbend",
    "Northeast",
    "Coastal",
    "Granite Hill",
    "Pioneer Valley",
    "Elm City",
    "Bay State",
    "Narragansett",
    "Quinnipiac",
    "Housatonic",
    "Connecticut River",
    "Berkshire",
    "Cape Cod",
    "Blackstone Valley",
    "Mystic",
    "Thames River",
    "Nutmeg",
    "Ocean State",
    "Merrimack",
    "Farmington Valley",
    "Shoreline",
    "Three Rivers",
    "Southcoast",
];

const STREETS: &[&str] = &[
    "Main St",
    "Washington St",
    "Elm St",
    "Church St",
    "State St",
    "Chapel St",
    "Broad St",
    "Park Ave",
    "Maple Ave",
    "Prospect St",
    "Water St",
    "Union St",
    "Mill Rd",
    "Hospital Dr",
    "Commerce Way",
];

const KIND_WEIGHTS: &[(OrgKind, u32)] = &[
    (OrgKind::HealthSystem, 3),
    (OrgKind::Hospital, 6),
    (OrgKind::PhysicianGroup, 16),
    (OrgKind::DentalGroup, 9),
    (OrgKind::SpecialtyPractice, 14),
    (OrgKind::Mso, 4),
    (OrgKind::Payer, 3),
    (OrgKind::PostAcute, 6),
    (OrgKind::HomeHealth, 6),
    (OrgKind::BehavioralHealth, 7),
    (OrgKind::Pharmacy, 5),
    (OrgKind::LabImaging, 5),
    (OrgKind::ServiceCompany, 6),
    (OrgKind::CommunityOrg, 5),
    (OrgKind::PublicHealth, 2),
    (OrgKind::Employer, 2),
    (OrgKind::Other, 1),
];

fn name_suffixes(kind: OrgKind) -> &'static [&'static str] {
    use OrgKind::*;
    match kind {
        HealthSystem => &["Health System", "Health", "Healthcare Network"],
        Hospital => &["Hospital", "Medical Center", "Community Hospital"],
        PhysicianGroup => &[
            "Physician Partners",
            "Primary Care Associates",
            "Medical Group",
            "Family Medicine",
        ],
        DentalGroup => &["Family Dental", "Dental Group", "Smile Partners"],
        SpecialtyPractice => &[
            "Orthopedic Associates",
            "Cardiology",
            "Vascular Specialists",
            "Podiatry",
            "Dermatology",
            "Oncology Associates",
            "Eye Care",
        ],
        Mso => &["Management Services", "Practice Management", "MSO"],
        Payer => &["Health Plan", "Community Health Plan", "Care Plan"],
        PostAcute => &[
            "Rehabilitation Center",
            "Skilled Nursing",
            "Post-Acute Care",
        ],
        HomeHealth => &["Home Care", "Visiting Nurses", "Home Health"],
        BehavioralHealth => &[
            "Behavioral Health",
            "Counseling Center",
            "Recovery Services",
        ],
        Pharmacy => &["Pharmacy", "Specialty Pharmacy", "Apothecary"],
        LabImaging => &["Imaging", "Diagnostic Lab", "Radiology"],
        ServiceCompany => &[
            "Revenue Cycle Solutions",
            "Health IT",
            "Staffing Partners",
            "Supply Services",
        ],
        CommunityOrg => &["Community Services", "Housing Partnership", "Food Bank"],
        PublicHealth => &["Health Department", "Health District"],
        Employer => &["Manufacturing Co.", "Logistics", "School District"],
        Other => &["Foundation", "Health Collaborative"],
    }
}

const VALUES: &[&str] = &[
    "equity",
    "physician-led",
    "patient-first",
    "community",
    "transparency",
    "innovation",
    "access",
    "quality",
    "stewardship",
    "teamwork",
    "respect",
    "safety",
];

const OBJECTIVES: &[&str] = &[
    "Grow market share in the region",
    "Reduce avoidable emergency visits",
    "Move a third of revenue into value-based contracts",
    "Open two new sites within three years",
    "Improve access for Medicaid patients",
    "Recruit and retain primary-care clinicians",
    "Lower total cost of care for attributed lives",
    "Modernise the revenue cycle",
    "Expand behavioral health integration",
];

const CONSTRAINTS: &[&str] = &[
    "Limited capital for new facilities",
    "Clinician shortage",
    "Board approval needed for contracts over $1M",
    "State certificate-of-need rules",
    "Legacy EHR with limited interfaces",
    "Thin operating margin",
    "Union contract renegotiation next year",
];

const DECISIONS: &[&str] = &[
    "Board decides; about a quarter from proposal to vote",
    "Physician partners vote at the monthly meeting",
    "CEO decides with the executive team within weeks",
    "Parent system approval required; six months or more",
    "Owner decides quickly",
];

fn npi(rng: &mut Rng, used: &mut HashSet<String>) -> String {
    loop {
        let first_nine = format!(
            "{}{:08}",
            if rng.chance(0.5) { 1 } else { 2 },
            rng.range(0, 99_999_999)
        );
        let s = format!("{first_nine}{}", npi_check_digit(&first_nine));
        if used.insert(s.clone()) {
            return s;
        }
    }
}

fn payer_mix(rng: &mut Rng, kind: OrgKind) -> Vec<PayerShare> {
    if matches!(
        kind,
        OrgKind::ServiceCompany | OrgKind::Employer | OrgKind::CommunityOrg | OrgKind::Payer
    ) || rng.chance(0.2)
    {
        return Vec::new();
    }
    let classes = [
        PayerClass::Commercial,
        PayerClass::Medicare,
        PayerClass::MedicareAdvantage,
        PayerClass::Medicaid,
        PayerClass::SelfPay,
    ];
    let n = 2 + rng.below(3);
    let picked = rng.distinct(n, classes.len());
    // Integer weights scaled to 100, the remainder to the first, so the total is exactly 100.
    let weights: Vec<u64> = picked.iter().map(|_| rng.range(1, 10)).collect();
    let total: u64 = weights.iter().sum();
    let mut shares: Vec<u64> = weights.iter().map(|w| w * 100 / total).collect();
    let sum: u64 = shares.iter().sum();
    shares[0] += 100 - sum;
    picked
        .iter()
        .zip(shares)
        .filter(|(_, s)| *s > 0)
        .map(|(i, s)| PayerShare {
            payer: classes[*i],
            share_pct: s as f64,
        })
        .collect()
}

fn organization(
    rng: &mut Rng,
    caps: &[String],
    names: &mut HashSet<String>,
    npis: &mut HashSet<String>,
    force_kind: Option<OrgKind>,
) -> OrganizationInput {
    let kind = match force_kind {
        Some(k) => k,
        None => rng.weighted(KIND_WEIGHTS),
    };
    let (city, state, zip, lat, lon) = *rng.pick(CITIES);
    let suffix = *rng.pick(name_suffixes(kind));
    let stem = if rng.chance(0.5) {
        city
    } else {
        *rng.pick(PLACE_WORDS)
    };
    // Names are unique (case-insensitively): on a clash, try "<place> <suffix> of <city>" a few
    // times, then number it.
    let mut name = format!("{stem} {suffix}");
    let mut tries = 0;
    while !names.insert(name.to_lowercase()) {
        tries += 1;
        name = if tries <= 20 {
            format!("{} {suffix} of {city}", rng.pick(PLACE_WORDS))
        } else {
            format!("{stem} {suffix} {tries}")
        };
    }
    let clinical = !matches!(
        kind,
        OrgKind::ServiceCompany
            | OrgKind::CommunityOrg
            | OrgKind::Employer
            | OrgKind::Payer
            | OrgKind::PublicHealth
            | OrgKind::Other
    );
    let providers = match kind {
        OrgKind::HealthSystem => Some(rng.range(300, 3000)),
        OrgKind::Hospital => Some(rng.range(60, 600)),
        OrgKind::PhysicianGroup | OrgKind::SpecialtyPractice => Some(rng.range(2, 250)),
        OrgKind::DentalGroup => Some(rng.range(2, 60)),
        _ if clinical => Some(rng.range(1, 80)),
        _ => None,
    };
    let beds = match kind {
        OrgKind::HealthSystem => Some(rng.range(400, 2500)),
        OrgKind::Hospital => Some(rng.range(25, 600)),
        OrgKind::PostAcute => Some(rng.range(40, 220)),
        OrgKind::BehavioralHealth if rng.chance(0.3) => Some(rng.range(10, 120)),
        _ => None,
    };
    let covered_lives = match kind {
        OrgKind::Payer => Some(rng.range(20_000, 1_500_000)),
        OrgKind::PhysicianGroup | OrgKind::HealthSystem if rng.chance(0.3) => {
            Some(rng.range(5_000, 250_000))
        }
        _ => None,
    };
    let revenue_band = match kind {
        OrgKind::HealthSystem | OrgKind::Payer => {
            *rng.pick(&[RevenueBand::From250mTo1b, RevenueBand::Over1b])
        }
        OrgKind::Hospital => *rng.pick(&[
            RevenueBand::From50mTo250m,
            RevenueBand::From250mTo1b,
            RevenueBand::Over1b,
        ]),
        _ => *rng.pick(&[
            RevenueBand::Under10m,
            RevenueBand::Under10m,
            RevenueBand::From10mTo50m,
            RevenueBand::From50mTo250m,
        ]),
    };
    let ccn = if matches!(
        kind,
        OrgKind::Hospital | OrgKind::PostAcute | OrgKind::HomeHealth
    ) && rng.chance(0.8)
    {
        let state_code = match state {
            "CT" => "07",
            "MA" => "22",
            _ => "41",
        };
        Some(format!("{state_code}{:04}", rng.range(1, 9999)))
    } else {
        None
    };
    let npi = if clinical && rng.chance(0.85) {
        Some(npi(rng, npis))
    } else {
        None
    };
    let n_offered = 1 + rng.below(4);
    let offered = rng.distinct(n_offered, caps.len());
    let n_sought = rng.below(4);
    let sought: Vec<usize> = rng
        .distinct(n_sought, caps.len())
        .into_iter()
        .filter(|i| !offered.contains(i))
        .collect();
    let n_values = rng.below(4);
    let values = rng
        .distinct(n_values, VALUES.len())
        .into_iter()
        .map(|i| VALUES[i].to_string())
        .collect();
    let revenue_model = match kind {
        OrgKind::Payer => RevenueModel::Premiums,
        OrgKind::ServiceCompany | OrgKind::Mso => RevenueModel::ServiceFees,
        OrgKind::CommunityOrg | OrgKind::PublicHealth => RevenueModel::Grants,
        _ => *rng.pick(&[
            RevenueModel::FeeForService,
            RevenueModel::FeeForService,
            RevenueModel::ValueBased,
            RevenueModel::Capitation,
            RevenueModel::Mixed,
        ]),
    };
    let jitter = |rng: &mut Rng| (rng.unit() - 0.5) * 0.08;
    let n_objectives = rng.below(3);
    let n_constraints = rng.below(3);
    OrganizationInput {
        name,
        kind,
        npi,
        ccn,
        address: Address {
            line1: Some(format!("{} {}", rng.range(1, 2400), rng.pick(STREETS))),
            city: Some(city.to_string()),
            state: Some(state.to_string()),
            zip: Some(zip.to_string()),
            latitude: Some(((lat + jitter(rng)) * 1e5).round() / 1e5),
            longitude: Some(((lon + jitter(rng)) * 1e5).round() / 1e5),
        },
        size: Size {
            providers: providers.map(|v| v as u32),
            beds: beds.map(|v| v as u32),
            covered_lives,
            revenue_band: Some(revenue_band),
        },
        mission: rng.chance(0.7).then(|| {
            format!(
                "To serve the people of {city} and the surrounding towns as a {} they can rely on.",
                kind.label().to_lowercase()
            )
        }),
        values,
        capabilities_offered: offered.iter().map(|i| caps[*i].clone()).collect(),
        capabilities_sought: sought.iter().map(|i| caps[*i].clone()).collect(),
        business_model: BusinessModel {
            revenue_model: Some(revenue_model),
            payer_mix: payer_mix(rng, kind),
            decision_making: rng.chance(0.6).then(|| rng.pick(DECISIONS).to_string()),
            enterprise_objectives: rng
                .distinct(n_objectives, OBJECTIVES.len())
                .into_iter()
                .map(|i| OBJECTIVES[i].to_string())
                .collect(),
            constraints: rng
                .distinct(n_constraints, CONSTRAINTS.len())
                .into_iter()
                .map(|i| CONSTRAINTS[i].to_string())
                .collect(),
        },
    }
}

fn type_phrase(t: PartnershipType) -> (&'static str, &'static str) {
    use PartnershipType::*;
    match t {
        Wholesale => (
            "capacity agreement",
            "One party buys the other's spare capacity so patients are seen sooner and fixed costs are shared.",
        ),
        VerticallyAdjacent => (
            "care continuum alliance",
            "Connect two levels of care so patients move between them without falling through the gaps.",
        ),
        HorizontallyAdjacent => (
            "shared care program",
            "Offer complementary services side by side at the same level of care, with warm referrals both ways.",
        ),
        AncillaryService => (
            "ancillary services agreement",
            "Bring lab, imaging, pharmacy or therapy services closer to the patients who need them.",
        ),
        ServiceProvider => (
            "services partnership",
            "Run non-clinical infrastructure together so clinicians can spend their time on care.",
        ),
        StrategicExecution => (
            "growth program",
            "Carry a multi-year growth and turnaround programme with shared goals and shared risk.",
        ),
    }
}

/// Short form of an organization name for partnership names.
fn short(name: &str) -> &str {
    name.split(" of ").next().unwrap_or(name)
}

/// Whether the database holds no organizations. (Every partnership has at least two parties,
/// each an organization, so no organizations means no partnerships either.)
async fn is_empty(store: &Store) -> Result<bool, String> {
    let one = PageRequest::new(Some(1), Some(1)).map_err(|e| e.to_string())?;
    let orgs = store
        .list_organizations(&OrganizationFilter::default(), one)
        .await
        .map_err(|e| e.to_string())?
        .total;
    Ok(orgs == 0)
}

async fn run(args: Args) -> Result<(), String> {
    let started = Instant::now();
    let store = Store::connect(&args.database_url, &ConnectOptions::default())
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("migrations failed: {e}"))?;
    if !is_empty(&store).await? {
        store.close().await;
        return Err(
            "the database already holds organizations; seed_bench needs an empty one".into(),
        );
    }
    let caps: Vec<String> = store
        .capability_codes()
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    if caps.is_empty() {
        return Err("the capability catalogue is empty".into());
    }
    let actor = Actor::new("bench");
    let mut rng = Rng::new(args.seed);

    // Organizations.
    let t = Instant::now();
    let mut names = HashSet::new();
    let mut npis = HashSet::new();
    let mut orgs: Vec<(OrgId, String, OrgKind)> = Vec::with_capacity(args.orgs);
    for i in 0..args.orgs {
        let force_kind = (args.hub && i == 0).then_some(OrgKind::HealthSystem);
        let input = organization(&mut rng, &caps, &mut names, &mut npis, force_kind);
        let org = store
            .create_organization(&actor, &input)
            .await
            .map_err(|e| format!("organization {} ({}): {e:?}", i + 1, input.name))?;
        orgs.push((org.id, org.profile.name, org.profile.kind));
        if (i + 1) % 500 == 0 {
            eprintln!("  {} organizations…", i + 1);
        }
    }
    let orgs_secs = t.elapsed().as_secs_f64();
    eprintln!("{} organizations in {orgs_secs:.1} s", orgs.len());
    if args.hub {
        if let Some((id, name, _)) = orgs.first() {
            println!("hub organization: {id} ({name}), a party to every partnership");
        }
    }

    // Partnerships, each walking a random legal prefix of the stage machine.
    let t = Instant::now();
    let mut transitions = 0usize;
    let mut by_stage: Vec<(Stage, usize)> = Stage::ALL.iter().map(|s| (*s, 0)).collect();
    let mut by_type: Vec<(PartnershipType, usize)> =
        PartnershipType::ALL.iter().map(|t| (*t, 0)).collect();
    for i in 0..args.partnerships {
        let ptype = PartnershipType::ALL[i % PartnershipType::ALL.len()];
        let n_parties = if rng.chance(0.75) { 2 } else { 3 };
        let parties: Vec<&(OrgId, String, OrgKind)> = if args.hub {
            std::iter::once(&orgs[0])
                .chain(
                    rng.distinct(n_parties - 1, orgs.len() - 1)
                        .into_iter()
                        .map(|j| &orgs[j + 1]),
                )
                .collect()
        } else {
            rng.distinct(n_parties, orgs.len())
                .into_iter()
                .map(|j| &orgs[j])
                .collect()
        };
        let (phrase, purpose) = type_phrase(ptype);
        let name = if parties.len() == 2 {
            format!(
                "{} + {} {phrase}",
                short(&parties[0].1),
                short(&parties[1].1)
            )
        } else {
            format!(
                "{}, {} and {} {phrase}",
                short(&parties[0].1),
                short(&parties[1].1),
                short(&parties[2].1)
            )
        };
        let input = PartnershipInput {
            name,
            purpose: purpose.to_string(),
            partnership_type: ptype,
            parties: parties
                .iter()
                .map(|(id, _, kind)| PartyInput {
                    organization_id: *id,
                    role: kind.label().to_string(),
                })
                .collect(),
        };
        let p = store
            .create_partnership(&actor, &input)
            .await
            .map_err(|e| format!("partnership {} ({}): {e:?}", i + 1, input.name))?;
        let mut stage = p.stage;
        // At each stage stop with probability 1/4, else take a random legal next step.
        for _ in 0..12 {
            let next = stage.next_stages();
            if next.is_empty() || rng.chance(0.25) {
                break;
            }
            let to = *rng.pick(next);
            let note = format!(
                "Moved from {} to {} after the steering group met.",
                stage.label(),
                to.label()
            );
            store
                .transition_partnership(&actor, PartnershipId(p.id.0), to, &note)
                .await
                .map_err(|e| format!("partnership {} to {to}: {e:?}", p.id))?;
            stage = to;
            transitions += 1;
        }
        if let Some(e) = by_stage.iter_mut().find(|(s, _)| *s == stage) {
            e.1 += 1;
        }
        if let Some(e) = by_type.iter_mut().find(|(t, _)| *t == ptype) {
            e.1 += 1;
        }
        if (i + 1) % 250 == 0 {
            eprintln!("  {} partnerships…", i + 1);
        }
    }
    let partnerships_secs = t.elapsed().as_secs_f64();
    store.close().await;

    println!(
        "seeded {} organizations ({orgs_secs:.1} s) and {} partnerships with {transitions} stage transitions ({partnerships_secs:.1} s); total {:.1} s",
        orgs.len(),
        args.partnerships,
        started.elapsed().as_secs_f64()
    );
    println!(
        "by stage: {}",
        by_stage
            .iter()
            .map(|(s, n)| format!("{s}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "by type: {}",
        by_type
            .iter()
            .map(|(t, n)| format!("{t}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
