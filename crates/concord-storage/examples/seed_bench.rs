//! Seeds an empty database with benchmark data: organizations across CT, MA and RI, and
//! partnerships between them that have walked a legal prefix of the stage machine.
//!
//! ```text
//! cargo run --release -p concord-storage --example seed_bench -- \
//!     --database-url sqlite://bench.db --orgs 2000 --partnerships 1000 [--seed 42] [--hub] \
//!     [--charters N] [--ledger N [--ledger-periods 60] [--ledger-from 2001-01] \
//!     [--ledger-big K] [--ledger-big-metrics 200] [--ledger-manifest FILE]]
//! ```
//!
//! With `--hub`, the first organization (a health system) is a party to every partnership, so one
//! organization's view holds all of them: the load benchmark signs in as a member of it, since a
//! member sees only the partnerships their organization is party to.
//!
//! Charters: a partnership goes active only with an effective charter, so every partnership whose
//! stage walk reaches `active` gets one, drafted, acknowledged and signed by an alliance manager of
//! each party (accounts created here, one per organization, four for the hub) just before it goes
//! active, and amended once after (version 1 superseded, version 2 effective). `--charters N` gives
//! the same two-version charter to the first N partnerships (ids 1..=N on a fresh database)
//! whatever their stage, so the charter benchmark can pick any id in that range. Charter content
//! comes from a second generator stream, so organizations, partnerships and stage walks are the
//! same for a given `--seed` with or without `--charters`.
//!
//! Metric ledger (`--ledger N`, for the issue-5 benchmark `bench/ledger.sh`): every charter then
//! has 20 metrics (of the 21 templates), all reported monthly, each owned by one of the parties
//! (drawn as before), and partnerships 1..=N (given a charter whatever their stage, as with
//! `--charters N`) get `--ledger-periods` monthly values per metric of the effective version,
//! starting `--ledger-from` (default 60 months from 2001-01: far in the past, so a benchmark can
//! append later periods). Values go in through [`Store::import_values`], one CSV per
//! (partnership, owning party) imported by that party's alliance manager, so every chain is built
//! and hashed by the product's own code and `verify` holds. `--ledger-big K` adds K partnerships
//! after the others (ids partnerships+1..), each between the first organization (the hub with
//! `--hub`) and one other, with a one-version charter of `--ledger-big-metrics` (200) monthly
//! metrics all owned by the first organization and no values: the import benchmark fills one with
//! a 100,000-row CSV (200 metrics x 500 months). `--ledger-manifest FILE` writes one line per
//! metric of those partnerships: `kind<TAB>partnership<TAB>metric<TAB>owner organization`, kind
//! `ledger` or `big`. Without `--ledger` nothing changes: the same charters and data as before.
//!
//! Everything goes through the store's normal, validated, audited, transactional writes, so the
//! data is exactly what the product itself would accept. The output is deterministic for a given
//! `--seed` (an inline xorshift generator; no new dependencies). The database must be empty (it is
//! migrated first); a database that already holds organizations is refused.

use std::collections::{HashMap, HashSet};
use std::process::ExitCode;
use std::time::Instant;

use chrono::NaiveDate;
use concord_domain::account::{Email, Role};
use concord_domain::charter::{
    AllianceManager, AloneGoal, Area, AreaKind, Charter, CharterVersion, Commitment,
    CommitmentStatus, Coopetition, Direction, Goal, Governance, Idea, IdeaStatus, Magnitude,
    MeetingCadence, Metric, MetricCategory, ReportingCadence, SignInput, Stake, StakeKind, Stance,
    SteeringMember, Tradeoff, ValueFlow, ValueFlowKind, VersionStatus,
};
use concord_domain::organization::{
    npi_check_digit, Address, BusinessModel, OrgKind, OrganizationFilter, OrganizationInput,
    PayerClass, PayerShare, RevenueBand, RevenueModel, Size,
};
use concord_domain::paging::PageRequest;
use concord_domain::partnership::{PartnershipInput, PartnershipType, PartyInput, Stage};
use concord_domain::review::{DecisionInput, ReviewDecision, ReviewStatus};
use concord_domain::{OrgId, PartnershipId, UserId};
use concord_storage::{Actor, ConnectOptions, Store};

const USAGE: &str = "usage: seed_bench --database-url URL [--orgs N (default 2000)] \
[--partnerships N (default 1000)] [--seed N (default 42)] [--hub] [--charters N (default 0)]

  --hub         make the first organization (a health system) a party to every partnership, so
                that one organization's view holds them all (what the load benchmark signs in as)
  --charters N  give the first N partnerships a signed two-version charter whatever their stage
                (partnerships that go active always get one: the product requires it)
  --ledger N    metric ledger: every charter gets 20 monthly metrics, and partnerships 1..N (given a
                charter, as with --charters) get --ledger-periods monthly values per metric,
                imported by each owning party's alliance manager through the store
  --ledger-periods P      months of values per metric (default 60)
  --ledger-from YYYY-MM   first month (default 2001-01)
  --ledger-big K          K extra partnerships (hub + one other) with a charter of
                          --ledger-big-metrics (default 200) monthly metrics owned by the first
                          organization, no values (for the import and verify benchmark)
  --ledger-manifest FILE  write `kind<TAB>partnership<TAB>metric<TAB>owner` per ledger metric";

struct Args {
    database_url: String,
    orgs: usize,
    partnerships: usize,
    seed: u64,
    hub: bool,
    charters: usize,
    ledger: usize,
    ledger_periods: usize,
    ledger_from: NaiveDate,
    ledger_big: usize,
    ledger_big_metrics: usize,
    ledger_manifest: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut database_url = std::env::var("CONCORD_DATABASE_URL").ok();
    let mut orgs = 2000usize;
    let mut partnerships = 1000usize;
    let mut seed = 42u64;
    let mut hub = false;
    let mut charters = 0usize;
    let mut ledger = 0usize;
    let mut ledger_periods = 60usize;
    let mut ledger_from = NaiveDate::from_ymd_opt(2001, 1, 1).expect("a date");
    let mut ledger_big = 0usize;
    let mut ledger_big_metrics = 200usize;
    let mut ledger_manifest = None;
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
            "--charters" => charters = number(value()?)? as usize,
            "--ledger" => ledger = number(value()?)? as usize,
            "--ledger-periods" => ledger_periods = number(value()?)? as usize,
            "--ledger-from" => {
                let v = value()?;
                ledger_from = NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d")
                    .map_err(|_| format!("--ledger-from: `{v}` is not a month (YYYY-MM)"))?;
            }
            "--ledger-big" => ledger_big = number(value()?)? as usize,
            "--ledger-big-metrics" => ledger_big_metrics = number(value()?)? as usize,
            "--ledger-manifest" => ledger_manifest = Some(value()?),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let database_url =
        database_url.ok_or_else(|| format!("--database-url is required\n{USAGE}"))?;
    if (partnerships > 0 || ledger_big > 0) && orgs < 3 {
        return Err("--orgs must be at least 3 when partnerships are requested".into());
    }
    if ledger > partnerships {
        return Err("--ledger cannot exceed --partnerships".into());
    }
    if !(1..=concord_domain::charter::MAX_ITEMS).contains(&ledger_big_metrics) {
        return Err(format!(
            "--ledger-big-metrics must be 1..={}",
            concord_domain::charter::MAX_ITEMS
        ));
    }
    Ok(Args {
        database_url,
        orgs,
        partnerships,
        seed,
        hub,
        // The ledger's partnerships need an effective charter whatever their stage.
        charters: charters.max(ledger),
        ledger,
        ledger_periods,
        ledger_from,
        ledger_big,
        ledger_big_metrics,
        ledger_manifest,
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

// ---------------------------------------------------------------------------------------------
// Charters.

const FIRST_NAMES: &[&str] = &[
    "Ana", "Ben", "Carmen", "David", "Elena", "Farid", "Grace", "Hiro", "Imani", "Jonas", "Keisha",
    "Liam", "Maya", "Nikhil", "Olivia", "Pedro", "Quinn", "Rosa", "Samuel", "Tara", "Umar",
    "Valerie", "Wei", "Yasmin", "Zoe",
];

const LAST_NAMES: &[&str] = &[
    "Alvarez",
    "Brennan",
    "Castillo",
    "Donovan",
    "Eriksen",
    "Fitzgerald",
    "Goldberg",
    "Haddad",
    "Iyer",
    "Jablonski",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "O'Connell",
    "Pereira",
    "Quintero",
    "Rasmussen",
    "Santos",
    "Thibodeau",
    "Underwood",
    "Vasquez",
    "Whitfield",
    "Young",
];

/// (name, category, unit, direction, baseline low, baseline high)
const METRIC_TEMPLATES: &[(&str, MetricCategory, &str, Direction, f64, f64)] = &[
    (
        "Shared savings",
        MetricCategory::Financial,
        "USD",
        Direction::Higher,
        150_000.0,
        2_500_000.0,
    ),
    (
        "Total cost of care per member per month",
        MetricCategory::Financial,
        "USD",
        Direction::Lower,
        380.0,
        1_100.0,
    ),
    (
        "Net revenue from joint services",
        MetricCategory::Financial,
        "USD",
        Direction::Higher,
        250_000.0,
        6_000_000.0,
    ),
    (
        "Administrative cost per claim",
        MetricCategory::Financial,
        "USD",
        Direction::Lower,
        4.0,
        18.0,
    ),
    (
        "30-day readmission rate",
        MetricCategory::ClinicalQuality,
        "%",
        Direction::Lower,
        11.0,
        22.0,
    ),
    (
        "Diabetic patients with HbA1c under 8%",
        MetricCategory::ClinicalQuality,
        "%",
        Direction::Higher,
        48.0,
        70.0,
    ),
    (
        "Follow-up visit within 7 days of discharge",
        MetricCategory::ClinicalQuality,
        "%",
        Direction::Higher,
        35.0,
        65.0,
    ),
    (
        "Hospital-acquired infections per 1,000 patient days",
        MetricCategory::ClinicalQuality,
        "per 1,000 days",
        Direction::Lower,
        1.2,
        4.5,
    ),
    (
        "Would recommend (top box)",
        MetricCategory::PatientExperience,
        "%",
        Direction::Higher,
        62.0,
        82.0,
    ),
    (
        "Complaints per 1,000 visits",
        MetricCategory::PatientExperience,
        "per 1,000 visits",
        Direction::Lower,
        2.0,
        9.0,
    ),
    (
        "Days to third next available appointment",
        MetricCategory::Access,
        "days",
        Direction::Lower,
        12.0,
        45.0,
    ),
    (
        "Referred patients seen within 14 days",
        MetricCategory::Access,
        "%",
        Direction::Higher,
        40.0,
        72.0,
    ),
    (
        "Specialist visits offered locally",
        MetricCategory::Access,
        "visits per month",
        Direction::Higher,
        120.0,
        900.0,
    ),
    (
        "Uninsured patients served",
        MetricCategory::CommunityBenefit,
        "patients",
        Direction::Higher,
        300.0,
        4_000.0,
    ),
    (
        "Community health worker contacts",
        MetricCategory::CommunityBenefit,
        "contacts per quarter",
        Direction::Higher,
        200.0,
        2_500.0,
    ),
    (
        "Closed referral loops",
        MetricCategory::Operational,
        "%",
        Direction::Higher,
        30.0,
        70.0,
    ),
    (
        "Emergency department boarding hours",
        MetricCategory::Operational,
        "hours per day",
        Direction::Lower,
        20.0,
        140.0,
    ),
    (
        "Discharges before noon",
        MetricCategory::Operational,
        "%",
        Direction::Higher,
        15.0,
        40.0,
    ),
    (
        "Registered nurse vacancy rate",
        MetricCategory::Workforce,
        "%",
        Direction::Lower,
        8.0,
        19.0,
    ),
    (
        "Clinician turnover",
        MetricCategory::Workforce,
        "%",
        Direction::Lower,
        9.0,
        24.0,
    ),
    (
        "Staff cross-trained across both sites",
        MetricCategory::Workforce,
        "people",
        Direction::Higher,
        10.0,
        160.0,
    ),
];

const GOALS: &[(&str, &str)] = &[
    (
        "Shorten the wait for specialist care",
        "Patients referred between the parties are seen within two weeks, close to home.",
    ),
    (
        "Reduce avoidable readmissions",
        "Discharged patients get a follow-up visit and a medication review within a week.",
    ),
    (
        "Keep care in the community",
        "Services that patients now travel for are offered locally, by the partners together.",
    ),
    (
        "Share the cost of fixed capacity",
        "Spare capacity on one side fills demand on the other instead of both building more.",
    ),
    (
        "Close the loop on every referral",
        "Each referral comes back with a note, so no patient falls between the partners.",
    ),
    (
        "Improve chronic disease control",
        "Patients with diabetes, heart failure or COPD are managed on one shared care plan.",
    ),
    (
        "Stabilise the workforce",
        "Shared recruiting, training and float pools reduce vacancies on both sides.",
    ),
    (
        "Serve patients regardless of coverage",
        "Uninsured and Medicaid patients are offered the same access as everyone else.",
    ),
    (
        "Build a shared data picture",
        "Both partners see the same monthly dashboard, fed from their own systems.",
    ),
    (
        "Grow value-based contracts together",
        "The partners take on shared risk with payers once the metrics are reliable.",
    ),
    (
        "Make transitions of care safe",
        "Every handover between the partners uses one checklist and one point of contact.",
    ),
    (
        "Reduce administrative waste",
        "One prior-authorisation and billing process for the services the partners share.",
    ),
];

const ALONE_GOALS: &[(&str, &str)] = &[
    (
        "Offer round-the-clock specialist coverage",
        "We do not have enough specialists to staff nights and weekends on our own.",
    ),
    (
        "Take on downside risk with payers",
        "Our patient panel is too small to absorb the swings of a risk contract alone.",
    ),
    (
        "Bring imaging and lab closer to patients",
        "The capital for equipment and accreditation is out of reach for us alone.",
    ),
    (
        "Keep post-acute patients out of the hospital",
        "We see the patients after discharge but not the records and plans that come with them.",
    ),
    (
        "Reach patients in rural towns",
        "We have no sites or staff outside the city and cannot justify building them.",
    ),
    (
        "Recruit and keep nurses",
        "We lose nurses to larger employers that can offer rotations and training.",
    ),
    (
        "Run a modern revenue cycle",
        "Our volume is too low to justify the systems and the staff it takes.",
    ),
    (
        "Report quality measures reliably",
        "We lack the analysts and the data feeds to measure what payers ask for.",
    ),
];

const COMMITMENTS: &[&str] = &[
    "Open two weekly specialist clinic sessions at the partner's site",
    "Give the partner's care managers read access to discharge summaries",
    "Provide a named referral coordinator and a direct phone line",
    "Fund half of the shared community health worker team",
    "Deliver a monthly dashboard of the agreed metrics",
    "Train the partner's front-desk staff on the shared scheduling process",
    "Set up the data feed for admissions, discharges and transfers",
    "Offer reserved imaging slots for referred patients within 5 days",
    "Staff the joint transitions-of-care huddle three times a week",
    "Move billing for the shared services onto one fee schedule",
    "Pilot the shared float pool on two units",
    "Publish one shared patient-facing guide to the joint services",
];

const BENEFITS: &[&str] = &[
    "Referral volume into a service line with spare capacity",
    "Lower readmission penalties",
    "Access to specialists without recruiting them",
    "A share of the savings under the value-based contract",
    "Fewer empty imaging slots",
    "A stronger position in the next payer negotiation",
    "Better quality scores on the measures that drive incentives",
    "Staff retention from shared training and rotations",
];

const RISKS: &[&str] = &[
    "Losing some patients to the partner's own service line",
    "Up-front spending on data integration that may not pay back",
    "Reputational harm if the shared service has quality problems",
    "Staff time diverted from existing programmes",
    "Dependence on the partner's scheduling capacity",
    "Antitrust scrutiny of joint contracting",
    "Revenue shortfall if referral volume does not materialise",
    "Exposure to downside risk under the shared contract",
];

const TRADEOFFS: &[&str] = &[
    "Gives up building its own clinic in the partner's territory",
    "Accepts a lower fee for reserved capacity in exchange for volume",
    "Shares its quality data, including the unflattering measures",
    "Lets the partner's brand appear first on joint materials",
    "Refers first to the partner for the services in scope",
];

const SERVICE_LINES: &[&str] = &[
    "Cardiology",
    "Orthopedics",
    "Behavioral health",
    "Maternity",
    "Oncology",
    "Primary care",
    "Imaging",
    "Laboratory",
    "Post-acute rehabilitation",
    "Home health",
    "Pharmacy",
    "Dental",
];

const POPULATIONS: &[&str] = &[
    "Medicaid adults",
    "Seniors with heart failure",
    "Children with asthma",
    "Uninsured adults",
    "Patients with diabetes",
    "Employees of the partners",
    "Pregnant people",
];

const FUNCTIONS: &[&str] = &[
    "Revenue cycle",
    "Purchasing",
    "Health IT",
    "Recruiting",
    "Quality reporting",
    "Care management",
];

const STEERING_TITLES: &[&str] = &[
    "Chief Executive Officer",
    "Chief Medical Officer",
    "Chief Nursing Officer",
    "Chief Financial Officer",
    "VP Strategy",
    "Medical Director",
    "Director of Operations",
];

const IDEAS: &[(&str, &str)] = &[
    (
        "Joint hospital-at-home programme",
        "Treat selected acute patients at home with the partners' combined staff.",
    ),
    (
        "Shared telehealth front door",
        "One virtual urgent-care line that routes patients to either partner.",
    ),
    (
        "Co-located behavioral health",
        "Place counsellors in primary care sites on both sides.",
    ),
    (
        "Common patient portal",
        "One sign-in for appointments and results across the partners.",
    ),
    (
        "Joint residency rotation",
        "Rotate residents through both partners' sites.",
    ),
    (
        "Bundled payment for joint replacement",
        "Offer payers one price for the whole episode of care.",
    ),
    (
        "Mobile screening van",
        "Bring screenings to towns without a clinic.",
    ),
    (
        "Shared analytics team",
        "Pool analysts to build the models both partners need.",
    ),
];

const EXITS: &[&str] = &[
    "Either party may leave with 180 days' notice after the first review.",
    "The agreement ends if fewer than half of the metrics are on track for two consecutive reviews.",
    "A change of control of either party triggers a review within 90 days.",
    "A material breach not cured within 60 days of written notice ends the agreement.",
    "Regulatory changes that make the arrangement unlawful end it immediately.",
];

/// How a seeded charter is meant to come out of the verdict.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// Every test passes.
    Strategic,
    /// No meeting cadence and no stance on competition: two core tests fail.
    Partly,
    /// Only referrals pass between the parties: a finder's fee.
    Referral,
}

/// Round to two decimals.
fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn add_days(d: NaiveDate, days: u64) -> NaiveDate {
    d + chrono::Duration::days(days as i64)
}

/// Writes charters through the store, as each party's own alliance manager.
struct CharterSeeder<'a> {
    store: &'a Store,
    operator: &'a Actor,
    rng: Rng,
    hub: Option<OrgId>,
    /// Alliance managers created so far, per organization.
    managers: HashMap<OrgId, Vec<UserId>>,
    /// An `Actor::person` per (user, organization), looked up once.
    people: HashMap<(UserId, OrgId), Actor>,
    users: usize,
    versions: usize,
    acknowledgements: usize,
    signatures: usize,
    charters: usize,
    shapes: [usize; 3],
    /// Metrics per charter version: 12, or 20 for the metric ledger (`--ledger`).
    metrics_per_charter: usize,
    /// Every metric reported monthly (`--ledger`), so 60 periods fit in five years.
    monthly: bool,
}

impl<'a> CharterSeeder<'a> {
    fn new(store: &'a Store, operator: &'a Actor, seed: u64, hub: Option<OrgId>) -> Self {
        Self {
            metrics_per_charter: 12,
            monthly: false,
            store,
            operator,
            // A stream of its own, so the rest of the data does not depend on the charters.
            rng: Rng::new(seed ^ 0xC4A2_7E25_0000_0001),
            hub,
            managers: HashMap::new(),
            people: HashMap::new(),
            users: 0,
            versions: 0,
            acknowledgements: 0,
            signatures: 0,
            charters: 0,
            shapes: [0; 3],
        }
    }

    fn person_name(&mut self) -> String {
        format!(
            "{} {}",
            self.rng.pick(FIRST_NAMES),
            self.rng.pick(LAST_NAMES)
        )
    }

    /// The organization's alliance managers, created (as members with the alliance manager
    /// role) the first time: four for the hub, one for any other organization. The accounts
    /// have no usable password (nobody signs in as them).
    async fn managers_of(&mut self, org: OrgId) -> Result<Vec<UserId>, String> {
        if let Some(m) = self.managers.get(&org) {
            return Ok(m.clone());
        }
        let n = if Some(org) == self.hub { 4 } else { 1 };
        let mut out = Vec::with_capacity(n);
        for k in 1..=n {
            let email = Email::parse(&format!("alliance.manager{k}.org{org}@bench.concord.test"))
                .map_err(|e| format!("alliance manager e-mail: {e}"))?;
            let name = self.person_name();
            let user = self
                .store
                .create_user(
                    self.operator,
                    &email,
                    &name,
                    "!seed_bench: no password",
                    org,
                    Role::AllianceManager,
                )
                .await
                .map_err(|e| format!("alliance manager {email}: {e:?}"))?;
            self.users += 1;
            out.push(user.id);
        }
        self.managers.insert(org, out.clone());
        Ok(out)
    }

    /// The person acting for `org` as `user` (looked up through the store once).
    async fn person(&mut self, user: UserId, org: OrgId) -> Result<Actor, String> {
        if let Some(a) = self.people.get(&(user, org)) {
            return Ok(a.clone());
        }
        let acting = self
            .store
            .acting(user, org)
            .await
            .map_err(|e| format!("acting as {user} for {org}: {e:?}"))?
            .ok_or_else(|| format!("user {user} cannot act for organization {org}"))?;
        let actor = Actor::person("seed_bench", &acting, None);
        self.people.insert((user, org), actor.clone());
        Ok(actor)
    }

    fn metric(&mut self, template: usize, parties: &[OrgId], starts_on: NaiveDate) -> Metric {
        let (name, category, unit, direction, lo, hi) = METRIC_TEMPLATES[template];
        let baseline = r2(lo + (hi - lo) * self.rng.unit());
        let change = 0.05 + 0.25 * self.rng.unit();
        let target = match direction {
            Direction::Higher => r2(baseline * (1.0 + change)),
            Direction::Lower => r2(baseline * (1.0 - change)),
        };
        Metric {
            id: None,
            name: name.to_string(),
            category,
            unit: unit.to_string(),
            direction,
            baseline,
            target,
            target_date: add_days(starts_on, self.rng.range(180, 1000)),
            cadence: match *self.rng.pick(&[
                ReportingCadence::Monthly,
                ReportingCadence::Quarterly,
                ReportingCadence::Quarterly,
                ReportingCadence::Annual,
            ]) {
                // The draw is made either way, so the rest of the stream does not change.
                _ if self.monthly => ReportingCadence::Monthly,
                c => c,
            },
            owner: *self.rng.pick(parties),
        }
    }

    /// Version 1 of a charter between `parties`, with `managers[i]` the alliance manager of
    /// `parties[i]`.
    fn first_version(
        &mut self,
        purpose: &str,
        parties: &[(OrgId, &str)],
        managers: &[UserId],
        shape: Shape,
    ) -> Charter {
        let ids: Vec<OrgId> = parties.iter().map(|(id, _)| *id).collect();
        let starts_on = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date")
            + chrono::Duration::days(self.rng.below(330) as i64);
        let goals = self
            .rng
            .distinct(5, GOALS.len())
            .into_iter()
            .map(|i| Goal {
                id: None,
                title: GOALS[i].0.to_string(),
                description: GOALS[i].1.to_string(),
                community_benefit: self.rng.chance(0.4),
            })
            .collect();
        let alone_goals = ids
            .iter()
            .map(|party| {
                let (goal, why) = *self.rng.pick(ALONE_GOALS);
                AloneGoal {
                    party: *party,
                    goal: goal.to_string(),
                    why: why.to_string(),
                }
            })
            .collect();
        let metrics = self
            .rng
            .distinct(self.metrics_per_charter, METRIC_TEMPLATES.len())
            .into_iter()
            .map(|t| self.metric(t, &ids, starts_on))
            .collect();
        let commitments = self
            .rng
            .distinct(6, COMMITMENTS.len())
            .into_iter()
            .map(|i| Commitment {
                id: None,
                party: *self.rng.pick(&ids),
                what: COMMITMENTS[i].to_string(),
                due_on: add_days(starts_on, self.rng.range(30, 540)),
                status: CommitmentStatus::Open,
            })
            .collect();
        let magnitude =
            |rng: &mut Rng| *rng.pick(&[Magnitude::Low, Magnitude::Medium, Magnitude::High]);
        // A benefit and a risk for every party, then more lines up to eight.
        let mut stakes = Vec::with_capacity(8);
        for party in &ids {
            for kind in [StakeKind::Benefit, StakeKind::Risk] {
                let text = if kind == StakeKind::Benefit {
                    BENEFITS
                } else {
                    RISKS
                };
                stakes.push(Stake {
                    party: *party,
                    kind,
                    description: self.rng.pick(text).to_string(),
                    magnitude: magnitude(&mut self.rng),
                });
            }
        }
        while stakes.len() < 8 {
            let kind = if self.rng.chance(0.5) {
                StakeKind::Benefit
            } else {
                StakeKind::Risk
            };
            let text = if kind == StakeKind::Benefit {
                BENEFITS
            } else {
                RISKS
            };
            stakes.push(Stake {
                party: *self.rng.pick(&ids),
                kind,
                description: self.rng.pick(text).to_string(),
                magnitude: magnitude(&mut self.rng),
            });
        }
        let mut tradeoffs = Vec::new();
        for party in &ids {
            if self.rng.chance(0.6) {
                tradeoffs.push(Tradeoff {
                    party: *party,
                    description: self.rng.pick(TRADEOFFS).to_string(),
                });
            }
        }
        let mut areas: Vec<Area> = Vec::new();
        let n_coop = 2 + self.rng.below(2);
        for i in self.rng.distinct(n_coop, SERVICE_LINES.len()) {
            areas.push(Area {
                kind: AreaKind::ServiceLine,
                name: SERVICE_LINES[i].to_string(),
                stance: Stance::Cooperate,
            });
        }
        areas.push(Area {
            kind: AreaKind::Population,
            name: self.rng.pick(POPULATIONS).to_string(),
            stance: Stance::Cooperate,
        });
        if self.rng.chance(0.5) {
            areas.push(Area {
                kind: AreaKind::Function,
                name: self.rng.pick(FUNCTIONS).to_string(),
                stance: Stance::Cooperate,
            });
        }
        let compete = shape != Shape::Partly && self.rng.chance(0.6);
        if compete {
            let name = SERVICE_LINES
                .iter()
                .find(|s| !areas.iter().any(|a| a.name == **s))
                .copied()
                .unwrap_or("Urgent care");
            areas.push(Area {
                kind: AreaKind::ServiceLine,
                name: name.to_string(),
                stance: Stance::Compete,
            });
        }
        let no_competing_areas = shape != Shape::Partly && !compete;
        let mut steering_group = Vec::new();
        for party in &ids {
            for _ in 0..2 {
                steering_group.push(SteeringMember {
                    party: *party,
                    name: self.person_name(),
                    title: self.rng.pick(STEERING_TITLES).to_string(),
                });
            }
        }
        let governance = Governance {
            alliance_managers: ids
                .iter()
                .zip(managers)
                .map(|(party, user)| AllianceManager {
                    party: *party,
                    user_id: *user,
                })
                .collect(),
            steering_group,
            meeting_cadence: (shape != Shape::Partly).then(|| {
                *self.rng.pick(&[
                    MeetingCadence::Fortnightly,
                    MeetingCadence::Monthly,
                    MeetingCadence::Monthly,
                    MeetingCadence::Quarterly,
                ])
            }),
            review_interval_months: Some(*self.rng.pick(&[6, 12, 12])),
        };
        let innovation_agenda = self
            .rng
            .distinct(3, IDEAS.len())
            .into_iter()
            .map(|i| Idea {
                id: None,
                title: IDEAS[i].0.to_string(),
                description: IDEAS[i].1.to_string(),
                status: IdeaStatus::Proposed,
            })
            .collect();
        let exit_criteria = self
            .rng
            .distinct(3, EXITS.len())
            .into_iter()
            .map(|i| EXITS[i].to_string())
            .collect();
        // Value flows: from the first party to each other and back.
        let kinds: &[ValueFlowKind] = match shape {
            Shape::Referral => &[ValueFlowKind::ReferralVolume, ValueFlowKind::PerReferralFee],
            _ => &[
                ValueFlowKind::ServiceFees,
                ValueFlowKind::SharedSavings,
                ValueFlowKind::ReferralVolume,
                ValueFlowKind::Capital,
                ValueFlowKind::Data,
                ValueFlowKind::Staff,
            ],
        };
        let mut value_flows = Vec::new();
        for other in &ids[1..] {
            for (from, to) in [(ids[0], *other), (*other, ids[0])] {
                let kind = *self.rng.pick(kinds);
                value_flows.push(ValueFlow {
                    from,
                    to,
                    kind,
                    description: format!("{} under the charter's terms.", kind.label()),
                });
            }
        }
        if shape != Shape::Referral && value_flows.iter().all(|f| f.kind.is_referral()) {
            value_flows[0].kind = ValueFlowKind::SharedSavings;
            value_flows[0].description = "Shared savings under the charter's terms.".into();
        }
        let names: Vec<&str> = parties.iter().map(|(_, n)| short(n)).collect();
        Charter {
            summary: format!(
                "{} {} agree to work together for three years. {purpose}",
                names[..names.len() - 1].join(", "),
                format_args!("and {}", names[names.len() - 1]),
            ),
            starts_on: Some(starts_on),
            ends_on: Some(add_days(starts_on, 3 * 365)),
            goals,
            alone_goals,
            metrics,
            commitments,
            stakes,
            tradeoffs,
            coopetition: Coopetition {
                areas,
                no_competing_areas,
            },
            governance,
            innovation_agenda,
            exit_criteria,
            value_flows,
        }
    }

    /// Version 2: version 1 as stored (with its ids) after a first review: a goal reworded and
    /// one added, a metric dropped and one added, two targets moved, commitments done or late,
    /// a stake added (so every party acknowledges again), an idea being explored.
    fn amendment(&mut self, v1: &Charter) -> Charter {
        let mut c = v1.clone();
        let ids: Vec<OrgId> = c.alone_goals.iter().map(|g| g.party).collect();
        let starts_on = c.starts_on.expect("version 1 has a start date");
        c.summary.push_str(" Amended after the first review.");
        if let Some(g) = c.goals.first_mut() {
            g.description
                .push_str(" Extended to the second site after the first review.");
        }
        if let Some(i) = (0..GOALS.len()).find(|i| !c.goals.iter().any(|g| g.title == GOALS[*i].0))
        {
            c.goals.push(Goal {
                id: None,
                title: GOALS[i].0.to_string(),
                description: GOALS[i].1.to_string(),
                community_benefit: false,
            });
        }
        c.metrics.pop();
        for m in c.metrics.iter_mut().take(2) {
            m.target = r2(match m.direction {
                Direction::Higher => m.target * 1.05,
                Direction::Lower => m.target * 0.95,
            });
        }
        let unused: Vec<usize> = (0..METRIC_TEMPLATES.len())
            .filter(|t| !c.metrics.iter().any(|m| m.name == METRIC_TEMPLATES[*t].0))
            .collect();
        if !unused.is_empty() {
            let t = *self.rng.pick(&unused);
            let m = self.metric(t, &ids, starts_on);
            c.metrics.push(m);
        }
        for (k, status) in c.commitments.iter_mut().zip([
            CommitmentStatus::Done,
            CommitmentStatus::Done,
            CommitmentStatus::Late,
        ]) {
            k.status = status;
        }
        c.stakes.push(Stake {
            party: *self.rng.pick(&ids),
            kind: StakeKind::Risk,
            description: "Volumes in the first year came in below the plan".into(),
            magnitude: Magnitude::Medium,
        });
        if let Some(idea) = c.innovation_agenda.first_mut() {
            idea.status = IdeaStatus::Exploring;
        }
        c
    }

    /// Drafts a version as the first party's alliance manager, then has every party acknowledge
    /// the stakes and sign it, against the hash of the text they read. Returns the stored
    /// version (effective once the last party signs).
    async fn agree(
        &mut self,
        id: PartnershipId,
        parties: &[(OrgId, UserId)],
        content: &Charter,
    ) -> Result<CharterVersion, String> {
        let (org, user) = parties[0];
        let author = self.person(user, org).await?;
        let mut version = self
            .store
            .save_charter_draft(&author, id, content)
            .await
            .map_err(|e| format!("charter draft of partnership {id}: {e:?}"))?;
        self.versions += 1;
        let read = SignInput {
            version: version.number,
            content_sha256: Some(version.content_sha256.clone()),
        };
        for (org, user) in parties {
            let who = self.person(*user, *org).await?;
            version = self
                .store
                .acknowledge_stakes(&who, id, &read)
                .await
                .map_err(|e| format!("partnership {id}: {org} acknowledging: {e:?}"))?;
            self.acknowledgements += 1;
        }
        for (org, user) in parties {
            let who = self.person(*user, *org).await?;
            version = self
                .store
                .sign_charter(&who, id, &read)
                .await
                .map_err(|e| format!("partnership {id}: {org} signing: {e:?}"))?;
            self.signatures += 1;
        }
        if version.status != VersionStatus::Effective {
            return Err(format!(
                "partnership {id}: version {} is {} after every party signed",
                version.number, version.status
            ));
        }
        Ok(version)
    }

    /// Version 1 of the charter of partnership `id`, agreed by every party. Returns what
    /// [`CharterSeeder::amend`] needs.
    async fn first(
        &mut self,
        id: PartnershipId,
        purpose: &str,
        parties: &[(OrgId, &str)],
    ) -> Result<(Vec<(OrgId, UserId)>, CharterVersion), String> {
        let mut signers = Vec::with_capacity(parties.len());
        for (org, _) in parties {
            let managers = self.managers_of(*org).await?;
            let user = *self.rng.pick(&managers);
            signers.push((*org, user));
        }
        let shape = match self.rng.below(20) {
            0 => Shape::Referral,
            1 | 2 => Shape::Partly,
            _ => Shape::Strategic,
        };
        self.shapes[shape as usize] += 1;
        let users: Vec<UserId> = signers.iter().map(|(_, u)| *u).collect();
        let content = self.first_version(purpose, parties, &users, shape);
        let v1 = self.agree(id, &signers, &content).await?;
        Ok((signers, v1))
    }

    /// Version 2, amending version 1: v1 is superseded and v2 effective.
    async fn amend(
        &mut self,
        id: PartnershipId,
        signers: &[(OrgId, UserId)],
        v1: &CharterVersion,
    ) -> Result<(), String> {
        let content = self.amendment(&v1.content);
        self.agree(id, signers, &content).await?;
        self.charters += 1;
        Ok(())
    }

    /// Decides the open review of partnership `id` so that it leaves `under_review` for `to`
    /// (continue: active, restructure: restructuring, exit: ending) and has an alliance manager
    /// of every party sign the decision; the last signature closes the review and moves the
    /// partnership.
    async fn close_review(
        &mut self,
        id: PartnershipId,
        parties: &[(OrgId, &str)],
        to: Stage,
    ) -> Result<(), String> {
        let today = chrono::Utc::now().date_naive();
        let decision = match to {
            Stage::Active => ReviewDecision::Continue,
            Stage::Restructuring => ReviewDecision::Restructure,
            _ => ReviewDecision::Exit,
        };
        let open = self
            .store
            .reviews(self.operator, id, today)
            .await
            .map_err(|e| format!("reviews of partnership {id}: {e:?}"))?
            .reviews
            .into_iter()
            .find(|r| r.status != ReviewStatus::Closed)
            .ok_or_else(|| format!("partnership {id} is under review without an open review"))?;
        let input = DecisionInput {
            decision,
            rationale: format!(
                "The steering group reviewed the metrics and commitments and decided to {}.",
                decision.label().to_lowercase()
            ),
        };
        self.store
            .decide_review(self.operator, id, open.number, &input, today)
            .await
            .map_err(|e| format!("partnership {id}: deciding review {}: {e:?}", open.number))?;
        for (org, _) in parties {
            let managers = self.managers_of(*org).await?;
            let who = self.person(managers[0], *org).await?;
            self.store
                .sign_review(&who, id, open.number, today)
                .await
                .map_err(|e| {
                    format!(
                        "partnership {id}: {org} signing review {}: {e:?}",
                        open.number
                    )
                })?;
        }
        Ok(())
    }

    /// A one-version charter of `n` monthly metrics, all owned by the first party, for the
    /// import and verify benchmark (`--ledger-big`). Metric names repeat the templates with a
    /// line number, so they stay unique.
    async fn big(
        &mut self,
        id: PartnershipId,
        purpose: &str,
        parties: &[(OrgId, &str)],
        n: usize,
    ) -> Result<CharterVersion, String> {
        let mut signers = Vec::with_capacity(parties.len());
        for (org, _) in parties {
            let managers = self.managers_of(*org).await?;
            signers.push((*org, managers[0]));
        }
        let users: Vec<UserId> = signers.iter().map(|(_, u)| *u).collect();
        let mut content = self.first_version(purpose, parties, &users, Shape::Strategic);
        let starts_on = content.starts_on.expect("version 1 has a start date");
        let owner = [parties[0].0];
        content.metrics = (0..n)
            .map(|k| {
                let t = k % METRIC_TEMPLATES.len();
                let mut m = self.metric(t, &owner, starts_on);
                m.name = format!("{} (line {})", METRIC_TEMPLATES[t].0, k + 1);
                m.cadence = ReportingCadence::Monthly;
                m
            })
            .collect();
        let v = self.agree(id, &signers, &content).await?;
        self.charters += 1;
        Ok(v)
    }
}

/// Months after `from` (`from` is the first of a month).
fn add_months(from: NaiveDate, months: usize) -> NaiveDate {
    from.checked_add_months(chrono::Months::new(months as u32))
        .expect("a month in range")
}

/// Seeds `periods` monthly values from `from` for every metric of the effective charter of
/// `id`: one CSV per owning party, imported through [`Store::import_values`] by that party's
/// alliance manager (so the chain is built and hashed by the product). Values drift from the
/// baseline towards the target with noise. Returns (entries, imports) and appends the metrics to
/// `manifest`.
async fn seed_ledger(
    charters: &mut CharterSeeder<'_>,
    rng: &mut Rng,
    id: PartnershipId,
    periods: usize,
    from: NaiveDate,
    today: NaiveDate,
    manifest: &mut String,
) -> Result<(usize, usize), String> {
    let store = charters.store;
    let charter = store
        .effective_charter(id)
        .await
        .map_err(|e| format!("partnership {id}: effective charter: {e:?}"))?
        .ok_or_else(|| format!("partnership {id} has no effective charter"))?;
    let mut owners: Vec<OrgId> = Vec::new();
    for m in &charter.content.metrics {
        manifest.push_str(&format!(
            "ledger\t{}\t{}\t{}\n",
            id.0,
            m.id.unwrap_or(0),
            m.owner.0
        ));
        if !owners.contains(&m.owner) {
            owners.push(m.owner);
        }
    }
    let (mut entries, mut imports) = (0, 0);
    for owner in owners {
        let mut csv = String::from("metric,period,value\n");
        let mut rows = 0;
        for m in charter.content.metrics.iter().filter(|m| m.owner == owner) {
            let span = m.target - m.baseline;
            for k in 0..periods {
                let drift = span * 0.8 * (k as f64 / periods.max(1) as f64);
                let noise = span.abs().max(0.01) * 0.3 * (rng.unit() - 0.5);
                let v = r2(m.baseline + drift + noise);
                let month = add_months(from, k);
                csv.push_str(&format!(
                    "{},{},{v}\n",
                    m.id.unwrap_or(0),
                    month.format("%Y-%m")
                ));
                rows += 1;
            }
        }
        let managers = charters.managers_of(owner).await?;
        let who = charters.person(managers[0], owner).await?;
        store
            .import_values(&who, id, csv.as_bytes(), today)
            .await
            .map_err(|e| format!("partnership {id}: importing values of {owner}: {e:?}"))?;
        entries += rows;
        imports += 1;
    }
    Ok((entries, imports))
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
    let mut charters = CharterSeeder::new(&store, &actor, args.seed, args.hub.then(|| orgs[0].0));
    let ledger_mode = args.ledger > 0 || args.ledger_big > 0;
    if ledger_mode {
        charters.metrics_per_charter = 20;
        charters.monthly = true;
    }
    let mut charter_secs = 0.0f64;
    let mut transitions = 0usize;
    let mut created: Vec<PartnershipId> = Vec::with_capacity(args.partnerships);
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
        // At each stage stop with probability 1/4, else take a random legal next step. (The
        // walk is drawn first, with the same draws as before charters existed, so the stages
        // do not depend on them.)
        let mut path = Vec::new();
        let mut stage = p.stage;
        for _ in 0..12 {
            let next = stage.next_stages();
            if next.is_empty() || rng.chance(0.25) {
                break;
            }
            let to = *rng.pick(next);
            path.push(to);
            stage = to;
        }
        let id = PartnershipId(p.id.0);
        created.push(id);
        let charter_parties: Vec<(OrgId, &str)> =
            parties.iter().map(|(o, n, _)| (*o, n.as_str())).collect();
        // Version 1 is agreed just before the partnership goes active (or, for one chartered
        // only by --charters, after its walk); version 2 amends it right after.
        let mut v1 = None;
        let mut amended = false;
        let mut stage = p.stage;
        for to in path {
            if to == Stage::Active && v1.is_none() {
                let c = Instant::now();
                v1 = Some(charters.first(id, purpose, &charter_parties).await?);
                charter_secs += c.elapsed().as_secs_f64();
            }
            let note = format!(
                "Moved from {} to {} after the steering group met.",
                stage.label(),
                to.label()
            );
            if stage == Stage::UnderReview {
                // Moving to `under_review` opened a review; the partnership leaves it when every
                // party has signed the review's decision, which moves it to `to`.
                let c = Instant::now();
                charters.close_review(id, &charter_parties, to).await?;
                charter_secs += c.elapsed().as_secs_f64();
            } else {
                store
                    .transition_partnership(&actor, id, to, &note)
                    .await
                    .map_err(|e| format!("partnership {} to {to}: {e:?}", p.id))?;
            }
            stage = to;
            transitions += 1;
            if to == Stage::Active && !amended {
                if let Some((signers, v)) = &v1 {
                    let c = Instant::now();
                    charters.amend(id, signers, v).await?;
                    charter_secs += c.elapsed().as_secs_f64();
                    amended = true;
                }
            }
        }
        if !amended && i < args.charters {
            let c = Instant::now();
            let (signers, v) = charters.first(id, purpose, &charter_parties).await?;
            charters.amend(id, &signers, &v).await?;
            charter_secs += c.elapsed().as_secs_f64();
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

    // The metric ledger: extra partnerships with a large charter, then values.
    let mut manifest = String::new();
    let mut big_ids = Vec::new();
    for k in 0..args.ledger_big {
        let mut lrng = Rng::new(args.seed ^ 0x1ED6_E200_0000_0000 ^ k as u64);
        let other = &orgs[1 + lrng.below(orgs.len() - 1)];
        let first = &orgs[0];
        let (_, purpose) = type_phrase(PartnershipType::StrategicExecution);
        let input = PartnershipInput {
            name: format!(
                "{} + {} ledger benchmark {}",
                short(&first.1),
                short(&other.1),
                k + 1
            ),
            purpose: purpose.to_string(),
            partnership_type: PartnershipType::StrategicExecution,
            parties: [first, other]
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
            .map_err(|e| format!("ledger partnership {}: {e:?}", k + 1))?;
        let id = PartnershipId(p.id.0);
        let parties = [(first.0, first.1.as_str()), (other.0, other.1.as_str())];
        let v = charters
            .big(id, purpose, &parties, args.ledger_big_metrics)
            .await?;
        for m in &v.content.metrics {
            manifest.push_str(&format!(
                "big\t{}\t{}\t{}\n",
                id.0,
                m.id.unwrap_or(0),
                m.owner.0
            ));
        }
        big_ids.push(id.0);
    }
    if !big_ids.is_empty() {
        println!(
            "ledger big partnerships: {} ({} monthly metrics each, owned by organization {}; no values)",
            big_ids
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            args.ledger_big_metrics,
            orgs[0].0
        );
    }
    let t = Instant::now();
    let mut lrng = Rng::new(args.seed ^ 0x1ED6_E200_0000_0001);
    let today = chrono::Utc::now().date_naive();
    let (mut entries, mut imports) = (0usize, 0usize);
    for (i, id) in created.iter().take(args.ledger).copied().enumerate() {
        let (n, k) = seed_ledger(
            &mut charters,
            &mut lrng,
            id,
            args.ledger_periods,
            args.ledger_from,
            today,
            &mut manifest,
        )
        .await?;
        entries += n;
        imports += k;
        if (i + 1) % 100 == 0 {
            eprintln!("  ledger: {} partnerships, {entries} entries…", i + 1);
        }
    }
    let ledger_secs = t.elapsed().as_secs_f64();
    if args.ledger > 0 {
        println!(
            "ledger: {entries} entries for partnerships 1..={} ({} monthly periods from {} per metric, {imports} imports) in {ledger_secs:.1} s",
            args.ledger,
            args.ledger_periods,
            args.ledger_from.format("%Y-%m"),
        );
    }
    if let Some(path) = &args.ledger_manifest {
        std::fs::write(path, &manifest).map_err(|e| format!("writing {path}: {e}"))?;
    }
    store.close().await;

    println!(
        "seeded {} organizations ({orgs_secs:.1} s) and {} partnerships with {transitions} stage transitions ({partnerships_secs:.1} s); total {:.1} s",
        orgs.len(),
        args.partnerships,
        started.elapsed().as_secs_f64()
    );
    println!(
        "charters: {} (two versions each: {} versions, {} acknowledgements, {} signatures, by {} alliance managers; {} intended strategic, {} partly strategic, {} referral-only) in {charter_secs:.1} s; {}",
        charters.charters,
        charters.versions,
        charters.acknowledgements,
        charters.signatures,
        charters.users,
        charters.shapes[Shape::Strategic as usize],
        charters.shapes[Shape::Partly as usize],
        charters.shapes[Shape::Referral as usize],
        match args.charters.min(args.partnerships) {
            0 => "the partnerships that went active have one".to_string(),
            n => format!("every partnership with id 1..={n} has one"),
        },
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
