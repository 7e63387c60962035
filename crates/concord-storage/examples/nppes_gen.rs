//! Writes a national-scale NPPES `npidata_pfile` CSV for the partner-discovery benchmark
//! (issue 8, "Speed and memory"; `bench/market.sh`).
//!
//! ```text
//! cargo run --release -p concord-storage --example nppes_gen -- \
//!     [--rows 9000000] [--seed 8] [--out FILE|-] [--data ../shared/data]
//! ```
//!
//! The file has exactly the current (V2, June 2025) 330-column layout: the header is read from
//! `nppes/npidata_pfile_20250608_columns.csv`, and, like the real file, every value is enclosed in
//! double quotes (empty ones too) and a double quote inside a value is written as a single quote.
//! Rows are filled the way the real file fills them, so the size per row matches it (the real file
//! is 10.7 GB for about 9 million rows, ~1,190 bytes a row):
//!
//! - ~80 % individuals (entity type 1) with legal name, credential, sex, sole-proprietor flag and
//!   often a certification date; ~20 % organizations (entity type 2) with legal business name, a
//!   masked EIN (`<UNAVAIL>`), sometimes a "doing business as" other name, an authorized official
//!   (name, title, phone, prefix, credential) and the subpart flag;
//! - mailing and practice-location addresses (line 1, sometimes line 2, city, state, ZIP+4, `US`,
//!   phone, fax), enumeration, last-update dates;
//! - 1–3 taxonomy codes per row (exactly one with the primary switch `Y`) with licence number and
//!   state, drawn from the NUCC code set `taxonomy/nucc_taxonomy_251.csv`: individuals from the
//!   "Individual" section, organizations mostly from the "Non-Individual" section, weighted so
//!   that most rows carry the common clinical classifications (nurse practitioners, physicians,
//!   counselors and social workers, dentists, therapists, pharmacists…);
//! - 0–6 other provider identifiers (Medicaid with a state, commercial plans with an issuer);
//! - ~1 % deactivated NPIs which, as in the real file, carry only the NPI and the deactivation
//!   date (every other field empty, the entity type included).
//!
//! NPIs are distinct 10-digit numbers starting with 1 whose last digit is the Luhn check digit
//! over the `80840` prefix ([`npi_check_digit`]). Practice ZIPs are real ZCTAs from
//! `geo/zcta_centroids_2023_gazetteer.csv`, each with a fixed random weight so that some ZIPs are
//! dense and others sparse; the state is the one the ZIP's 3-digit prefix belongs to; the city is
//! a name chosen per ZIP from a fixed list (the centroid file has no city names). Individuals
//! cluster at shared practice addresses: a quarter practise alone, the rest pick one of the shared
//! sites with a skewed (power-law) popularity, so most sites hold a few providers and the largest
//! (hospital campuses) thousands; half of the organizations sit at one of those sites.
//!
//! The output is deterministic for a given `--seed` and `--rows` (an inline splitmix64
//! generator; no dependencies beyond the standard library and the domain crate).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use concord_domain::organization::npi_check_digit;

const COLUMNS: usize = 330;

struct Args {
    rows: u64,
    seed: u64,
    out: String,
    data: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        rows: 9_000_000,
        seed: 8,
        out: "-".to_owned(),
        data: PathBuf::from("../shared/data"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => {
                args.rows = value()?
                    .replace('_', "")
                    .parse()
                    .map_err(|_| "--rows must be a whole number".to_owned())?
            }
            "--seed" => {
                args.seed = value()?
                    .parse()
                    .map_err(|_| "--seed must be a whole number".to_owned())?
            }
            "--out" => args.out = value()?,
            "--data" => args.data = PathBuf::from(value()?),
            "-h" | "--help" => {
                return Err(
                    "usage: nppes_gen [--rows N] [--seed S] [--out FILE|-] [--data DIR]".to_owned(),
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.rows == 0 || args.rows > 800_000_000 {
        return Err("--rows must be between 1 and 800000000".to_owned());
    }
    Ok(args)
}

// ---------------------------------------------------------------------------------------------
// Random numbers

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// splitmix64's finalizer: a good 64-bit hash of a counter.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Cumulative weights, drawn from by binary search.
struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    fn new(weights: impl IntoIterator<Item = f64>) -> Weighted {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Weighted { cumulative }
    }
    fn draw(&self, u: f64) -> usize {
        let total = *self.cumulative.last().expect("weights are not empty");
        let x = u * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len() - 1)
    }
}

// ---------------------------------------------------------------------------------------------
// Reference data

/// A minimal RFC 4180 reader (quoted fields, doubled quotes, line breaks inside quotes).
fn read_csv(path: &Path) -> Result<Vec<Vec<String>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                any = false;
            }
            _ => field.push(c),
        }
    }
    if any {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

fn column(header: &[String], name: &str, path: &Path) -> Result<usize, String> {
    header
        .iter()
        .position(|h| h.trim() == name)
        .ok_or_else(|| format!("{}: no column {name}", path.display()))
}

struct Zip {
    code: [u8; 5],
    state: &'static str,
    city: &'static str,
    area_code: u16,
}

struct Taxonomy {
    code: String,
    classification: String,
    grouping: String,
    /// No specialization: the classification's own code.
    generic: bool,
}

struct Pool {
    codes: Vec<usize>,
    weights: Weighted,
}

struct Reference {
    header: Vec<u8>,
    zips: Vec<Zip>,
    zip_weights: Weighted,
    taxonomy: Vec<Taxonomy>,
    individual: Pool,
    organization: Pool,
    /// Codes by classification, for secondary taxonomies close to the primary.
    siblings: Vec<Vec<usize>>,
    sibling_of: Vec<usize>,
}

/// Relative frequency of a classification among individuals (approximately the national file's
/// mix); classifications not listed weigh 0.5.
const INDIVIDUAL_WEIGHTS: &[(&str, f64)] = &[
    ("Nurse Practitioner", 90.0),
    ("Internal Medicine", 60.0),
    ("Counselor", 50.0),
    ("Social Worker", 50.0),
    ("Registered Nurse", 40.0),
    (
        "Student in an Organized Health Care Education/Training Program",
        40.0,
    ),
    ("Physical Therapist", 40.0),
    ("Dentist", 40.0),
    ("Pharmacist", 40.0),
    ("Family Medicine", 35.0),
    ("Physician Assistant", 35.0),
    ("Psychologist", 25.0),
    ("Chiropractor", 20.0),
    ("Pediatrics", 15.0),
    ("Psychiatry & Neurology", 15.0),
    ("Occupational Therapist", 15.0),
    ("Speech-Language Pathologist", 15.0),
    ("Nurse Anesthetist, Certified Registered", 15.0),
    ("Emergency Medicine", 12.0),
    ("Anesthesiology", 12.0),
    ("Optometrist", 10.0),
    ("Obstetrics & Gynecology", 10.0),
    ("Radiology", 10.0),
    ("Massage Therapist", 10.0),
    ("Marriage & Family Therapist", 10.0),
    ("Behavior Technician", 10.0),
    ("Surgery", 8.0),
    ("Dental Hygienist", 8.0),
    ("Dietitian, Registered", 8.0),
    ("Licensed Practical Nurse", 8.0),
    ("Orthopaedic Surgery", 6.0),
    ("Behavior Analyst", 6.0),
    ("Podiatrist", 5.0),
    ("Ophthalmology", 5.0),
    ("Home Health Aide", 5.0),
    ("Emergency Medical Technician, Paramedic", 5.0),
    ("Dermatology", 4.0),
    ("Pathology", 4.0),
    ("Acupuncturist", 4.0),
    ("Urology", 3.0),
    ("Otolaryngology", 3.0),
    ("Physical Medicine & Rehabilitation", 3.0),
    ("Clinical Nurse Specialist", 3.0),
    ("Community Health Worker", 3.0),
    ("Audiologist", 3.0),
    ("Advanced Practice Midwife", 2.0),
];

/// The same for organizations; classifications not listed weigh 0.5 (Non-Individual section).
const ORGANIZATION_WEIGHTS: &[(&str, f64)] = &[
    ("Clinic/Center", 120.0),
    ("Pharmacy", 60.0),
    ("Single Specialty", 60.0),
    ("Multi-Specialty", 40.0),
    ("Durable Medical Equipment & Medical Supplies", 40.0),
    ("Home Health", 30.0),
    ("Ambulance", 15.0),
    ("Skilled Nursing Facility", 15.0),
    ("Clinical Medical Laboratory", 15.0),
    ("Community/Behavioral Health", 15.0),
    ("Assisted Living Facility", 10.0),
    ("In Home Supportive Care", 10.0),
    ("General Acute Care Hospital", 8.0),
    ("Hospice Care, Community Based", 8.0),
    ("Case Management", 8.0),
    ("Nursing Care", 5.0),
    ("Prosthetic/Orthotic Supplier", 5.0),
];

/// Organizations that carry an individual's taxonomy (a dental practice filed as `1223G0001X`,
/// a physical-therapy group…): this share of them draws from the individual pool.
const ORGANIZATION_INDIVIDUAL_CODES: f64 = 0.3;

fn pool(
    taxonomy: &[Taxonomy],
    eligible: impl Fn(usize) -> bool,
    weights: &[(&str, f64)],
    specializations: &std::collections::HashMap<String, (usize, bool)>,
) -> Pool {
    let mut codes = Vec::new();
    let mut w = Vec::new();
    for (i, t) in taxonomy.iter().enumerate() {
        if !eligible(i) {
            continue;
        }
        let class_weight = weights
            .iter()
            .find(|(c, _)| *c == t.classification)
            .map_or(0.5, |(_, w)| *w);
        // The generic code of a classification (no specialization) takes half of its weight
        // when it exists; the specializations share the rest.
        let (count, has_generic) = specializations[&t.classification];
        let generic = taxonomy_is_generic(t);
        let share = match (has_generic, generic) {
            (true, true) if count == 1 => 1.0,
            (true, true) => 0.5,
            (true, false) => 0.5 / (count - 1) as f64,
            (false, _) => 1.0 / count as f64,
        };
        codes.push(i);
        w.push(class_weight * share);
    }
    Pool {
        codes,
        weights: Weighted::new(w),
    }
}

fn taxonomy_is_generic(t: &Taxonomy) -> bool {
    t.generic
}

fn load_reference(data: &Path) -> Result<Reference, String> {
    // Header.
    let path = data.join("nppes/npidata_pfile_20250608_columns.csv");
    let rows = read_csv(&path)?;
    let (head, body) = rows.split_first().ok_or("empty column list")?;
    let name_col = column(head, "column_name", &path)?;
    let names: Vec<&str> = body
        .iter()
        .filter(|r| r.len() > name_col)
        .map(|r| r[name_col].as_str())
        .collect();
    if names.len() != COLUMNS {
        return Err(format!(
            "{}: {} columns, expected {COLUMNS}",
            path.display(),
            names.len()
        ));
    }
    let mut header = Vec::new();
    for (i, n) in names.iter().enumerate() {
        header.push(b'"');
        header.extend_from_slice(n.replace('"', "'").as_bytes());
        header.push(b'"');
        header.push(if i + 1 == COLUMNS { b'\n' } else { b',' });
    }

    // ZIPs.
    let path = data.join("geo/zcta_centroids_2023_gazetteer.csv");
    let rows = read_csv(&path)?;
    let (head, body) = rows.split_first().ok_or("empty ZIP file")?;
    let zip_col = column(head, "GEOID", &path)?;
    let mut zips = Vec::new();
    let mut zip_w = Vec::new();
    for r in body {
        let Some(z) = r.get(zip_col) else { continue };
        let z = z.trim();
        if z.len() != 5 || !z.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let prefix: u16 = z[..3].parse().expect("digits");
        let Some(state) = state_of(prefix) else {
            continue;
        };
        let h = mix(u64::from(z.parse::<u32>().expect("digits")) ^ 0x5EED);
        let code: [u8; 5] = z.as_bytes().try_into().expect("five bytes");
        zips.push(Zip {
            code,
            state,
            city: CITIES[(h % CITIES.len() as u64) as usize],
            area_code: 201 + ((h >> 20) % 780) as u16,
        });
        // A log-normal-ish weight: most ZIPs light, some dense (cities).
        let u = ((h >> 32) as f64 + 0.5) / 4_294_967_296.0;
        zip_w.push((-u.ln()).powf(2.5));
    }
    if zips.is_empty() {
        return Err(format!("{}: no usable ZIPs", path.display()));
    }

    // Taxonomy.
    let path = data.join("taxonomy/nucc_taxonomy_251.csv");
    let rows = read_csv(&path)?;
    let (head, body) = rows.split_first().ok_or("empty taxonomy file")?;
    let code_col = column(head, "Code", &path)?;
    let group_col = column(head, "Grouping", &path)?;
    let class_col = column(head, "Classification", &path)?;
    let spec_col = column(head, "Specialization", &path)?;
    let section_col = column(head, "Section", &path)?;
    let mut taxonomy = Vec::new();
    let mut sections = Vec::new();
    let mut specializations: std::collections::HashMap<String, (usize, bool)> =
        std::collections::HashMap::new();
    for r in body {
        if r.len() <= section_col.max(spec_col) || r[code_col].trim().len() != 10 {
            continue;
        }
        let t = Taxonomy {
            code: r[code_col].trim().to_owned(),
            classification: r[class_col].trim().to_owned(),
            grouping: r[group_col].trim().to_owned(),
            generic: r[spec_col].trim().is_empty(),
        };
        let e = specializations
            .entry(t.classification.clone())
            .or_insert((0, false));
        e.0 += 1;
        e.1 |= t.generic;
        sections.push(r[section_col].trim() == "Individual");
        taxonomy.push(t);
    }
    for (name, _) in INDIVIDUAL_WEIGHTS.iter().chain(ORGANIZATION_WEIGHTS) {
        if !specializations.contains_key(*name) {
            return Err(format!(
                "{}: no classification named {name}",
                path.display()
            ));
        }
    }
    let is_group = |t: &Taxonomy| t.grouping == "Group";
    let individual = pool(
        &taxonomy,
        |i| sections[i] && !is_group(&taxonomy[i]),
        INDIVIDUAL_WEIGHTS,
        &specializations,
    );
    let organization = pool(
        &taxonomy,
        |i| !sections[i] || is_group(&taxonomy[i]),
        ORGANIZATION_WEIGHTS,
        &specializations,
    );
    let mut classes: Vec<&str> = Vec::new();
    let mut sibling_of = Vec::new();
    let mut siblings: Vec<Vec<usize>> = Vec::new();
    for (i, t) in taxonomy.iter().enumerate() {
        let k = match classes.iter().position(|c| *c == t.classification) {
            Some(k) => k,
            None => {
                classes.push(&t.classification);
                siblings.push(Vec::new());
                classes.len() - 1
            }
        };
        siblings[k].push(i);
        sibling_of.push(k);
    }
    Ok(Reference {
        header,
        zips,
        zip_weights: Weighted::new(zip_w),
        taxonomy,
        individual,
        organization,
        siblings,
        sibling_of,
    })
}

/// The state a ZIP's 3-digit prefix belongs to (USPS assignments; military and unassigned
/// prefixes give None).
fn state_of(prefix: u16) -> Option<&'static str> {
    const RANGES: &[(u16, u16, &str)] = &[
        (5, 5, "NY"),
        (6, 7, "PR"),
        (8, 8, "VI"),
        (9, 9, "PR"),
        (10, 27, "MA"),
        (28, 29, "RI"),
        (30, 38, "NH"),
        (39, 49, "ME"),
        (50, 54, "VT"),
        (55, 55, "MA"),
        (56, 59, "VT"),
        (60, 69, "CT"),
        (70, 89, "NJ"),
        (100, 149, "NY"),
        (150, 196, "PA"),
        (197, 199, "DE"),
        (200, 205, "DC"),
        (206, 219, "MD"),
        (220, 246, "VA"),
        (247, 268, "WV"),
        (270, 289, "NC"),
        (290, 299, "SC"),
        (300, 319, "GA"),
        (320, 349, "FL"),
        (350, 369, "AL"),
        (370, 385, "TN"),
        (386, 397, "MS"),
        (398, 399, "GA"),
        (400, 427, "KY"),
        (430, 459, "OH"),
        (460, 479, "IN"),
        (480, 499, "MI"),
        (500, 528, "IA"),
        (530, 549, "WI"),
        (550, 567, "MN"),
        (569, 569, "DC"),
        (570, 577, "SD"),
        (580, 588, "ND"),
        (590, 599, "MT"),
        (600, 629, "IL"),
        (630, 658, "MO"),
        (660, 679, "KS"),
        (680, 693, "NE"),
        (700, 714, "LA"),
        (716, 729, "AR"),
        (730, 749, "OK"),
        (750, 799, "TX"),
        (800, 816, "CO"),
        (820, 831, "WY"),
        (832, 838, "ID"),
        (840, 847, "UT"),
        (850, 865, "AZ"),
        (870, 884, "NM"),
        (885, 885, "TX"),
        (889, 898, "NV"),
        (900, 961, "CA"),
        (967, 968, "HI"),
        (969, 969, "GU"),
        (970, 979, "OR"),
        (980, 994, "WA"),
        (995, 999, "AK"),
    ];
    RANGES
        .iter()
        .find(|(lo, hi, _)| (*lo..=*hi).contains(&prefix))
        .map(|(_, _, s)| *s)
}

const CITIES: &[&str] = &[
    "SPRINGFIELD",
    "FRANKLIN",
    "GREENVILLE",
    "BRISTOL",
    "CLINTON",
    "FAIRVIEW",
    "SALEM",
    "MADISON",
    "GEORGETOWN",
    "ARLINGTON",
    "ASHLAND",
    "BURLINGTON",
    "MANCHESTER",
    "MILTON",
    "NEWPORT",
    "OXFORD",
    "RIVERSIDE",
    "CLAYTON",
    "DAYTON",
    "LEXINGTON",
    "MILFORD",
    "WINCHESTER",
    "CENTERVILLE",
    "HUDSON",
    "KINGSTON",
    "MARION",
    "MOUNT VERNON",
    "JACKSON",
    "WASHINGTON",
    "CHESTER",
    "DOVER",
    "AUBURN",
    "CAMDEN",
    "HAMILTON",
    "LEBANON",
    "LINCOLN",
    "PLYMOUTH",
    "WAVERLY",
    "WESTFIELD",
    "ANDOVER",
    "BELMONT",
    "CANTON",
    "DANVILLE",
    "EASTON",
    "FLORENCE",
    "GLENDALE",
    "HAVEN",
    "JEFFERSON",
    "LAKEWOOD",
    "MONROE",
    "NORWOOD",
    "ORANGE",
    "PRINCETON",
    "QUINCY",
    "RICHMOND",
    "SHELBY",
    "TROY",
    "UNION",
    "VERNON",
    "WARREN",
    "YORK",
    "ALBANY",
    "BEDFORD",
    "CONCORD",
    "DEERFIELD",
    "ELKTON",
    "FAIRFIELD",
    "GRAFTON",
    "HARRISON",
    "IRVING",
    "JAMESTOWN",
    "KENT",
    "LAUREL",
    "MAPLEWOOD",
    "NEWTON",
    "OAKLAND",
    "PARIS",
    "RALEIGH",
    "SHARON",
    "TRENTON",
    "UTICA",
    "VICTORIA",
    "WOODSTOCK",
    "ZION CROSSROADS",
    "PORT SAINT LUCIE",
    "SAINT CHARLES",
    "EAST HARTFORD",
    "NORTH ADAMS",
    "WEST PALM BEACH",
    "SOUTH BEND",
];

const LAST_NAMES: &[&str] = &[
    "SMITH",
    "JOHNSON",
    "WILLIAMS",
    "BROWN",
    "JONES",
    "GARCIA",
    "MILLER",
    "DAVIS",
    "RODRIGUEZ",
    "MARTINEZ",
    "HERNANDEZ",
    "LOPEZ",
    "GONZALEZ",
    "WILSON",
    "ANDERSON",
    "THOMAS",
    "TAYLOR",
    "MOORE",
    "JACKSON",
    "MARTIN",
    "LEE",
    "PEREZ",
    "THOMPSON",
    "WHITE",
    "HARRIS",
    "SANCHEZ",
    "CLARK",
    "RAMIREZ",
    "LEWIS",
    "ROBINSON",
    "WALKER",
    "YOUNG",
    "ALLEN",
    "KING",
    "WRIGHT",
    "SCOTT",
    "TORRES",
    "NGUYEN",
    "HILL",
    "FLORES",
    "GREEN",
    "ADAMS",
    "NELSON",
    "BAKER",
    "HALL",
    "RIVERA",
    "CAMPBELL",
    "MITCHELL",
    "CARTER",
    "ROBERTS",
    "PATEL",
    "SHAH",
    "KIM",
    "CHEN",
    "WANG",
    "SINGH",
    "KUMAR",
    "O'BRIEN",
    "O'CONNOR",
    "MCCARTHY",
    "SULLIVAN",
    "MURPHY",
    "KELLY",
    "COHEN",
    "LEVINE",
    "FRIEDMAN",
    "ROSSI",
    "RUSSO",
    "COSTA",
    "SILVA",
    "SANTOS",
    "OLIVEIRA",
    "NOWAK",
    "KOWALSKI",
    "MUELLER",
    "SCHMIDT",
    "SCHNEIDER",
    "FISCHER",
    "WEBER",
    "WAGNER",
    "BECKER",
    "HOFFMAN",
    "OKAFOR",
    "ADEYEMI",
    "MENSAH",
    "HASSAN",
    "ALI",
    "KHAN",
    "AHMED",
    "YAMAMOTO",
    "TANAKA",
    "PARK",
    "CHOI",
    "TRAN",
    "PHAM",
    "LE",
    "HUANG",
    "LIU",
    "ZHANG",
    "DE LA CRUZ",
    "VAN DER BERG",
    "ST. JOHN",
    "FITZGERALD-HAYES",
];

const FIRST_NAMES: &[&str] = &[
    "JAMES",
    "MARY",
    "ROBERT",
    "PATRICIA",
    "JOHN",
    "JENNIFER",
    "MICHAEL",
    "LINDA",
    "DAVID",
    "ELIZABETH",
    "WILLIAM",
    "BARBARA",
    "RICHARD",
    "SUSAN",
    "JOSEPH",
    "JESSICA",
    "THOMAS",
    "SARAH",
    "CHRISTOPHER",
    "KAREN",
    "CHARLES",
    "LISA",
    "DANIEL",
    "NANCY",
    "MATTHEW",
    "BETTY",
    "ANTHONY",
    "MARGARET",
    "MARK",
    "SANDRA",
    "DONALD",
    "ASHLEY",
    "STEVEN",
    "KIMBERLY",
    "PAUL",
    "EMILY",
    "ANDREW",
    "DONNA",
    "JOSHUA",
    "MICHELLE",
    "KENNETH",
    "CAROL",
    "KEVIN",
    "AMANDA",
    "BRIAN",
    "MELISSA",
    "GEORGE",
    "DEBORAH",
    "TIMOTHY",
    "STEPHANIE",
    "PRIYA",
    "RAJ",
    "WEI",
    "MEI",
    "AHMED",
    "FATIMA",
    "CHIDI",
    "NGOZI",
    "HIROSHI",
    "YUKI",
    "JOSE",
    "MARIA",
    "LUIS",
    "ANA",
    "CARLOS",
    "SOFIA",
    "OLEKSANDR",
    "KATARZYNA",
    "ANNE-MARIE",
    "JEAN-PAUL",
];

const MIDDLE: &[&str] = &[
    "A",
    "B",
    "C",
    "D",
    "E",
    "J",
    "L",
    "M",
    "R",
    "S",
    "ANN",
    "LEE",
    "MARIE",
    "JAMES",
    "LYNN",
    "MICHAEL",
    "ELIZABETH",
    "EDWARD",
];

const STREETS: &[&str] = &[
    "MAIN ST",
    "OAK ST",
    "PARK AVE",
    "PINE ST",
    "MAPLE AVE",
    "CEDAR ST",
    "ELM ST",
    "WASHINGTON ST",
    "LAKE ST",
    "HILL ST",
    "CHURCH ST",
    "HIGH ST",
    "CENTER ST",
    "BROAD ST",
    "MEDICAL CENTER DR",
    "HOSPITAL DR",
    "HEALTH PARK BLVD",
    "PROFESSIONAL PKWY",
    "COMMERCE DR",
    "STATE ROUTE 9",
    "N MAIN ST",
    "S BROADWAY",
    "E 5TH ST",
    "W 3RD ST",
    "MARKET ST",
    "UNIVERSITY AVE",
    "COLLEGE RD",
    "RIVER RD",
    "SUMMIT AVE",
    "MEADOW LN",
    "FOREST DR",
    "SUNSET BLVD",
    "LINCOLN HWY",
    "JEFFERSON AVE",
    "MADISON AVE",
    "FRANKLIN ST",
    "WATER ST",
    "BRIDGE ST",
    "MILL RD",
    "SCHOOL ST",
    "VETERANS MEMORIAL PKWY",
    "MARTIN LUTHER KING JR BLVD",
];

const SUITES: &[&str] = &["STE", "SUITE", "UNIT", "FL", "BLDG", "RM"];

const ORG_SUFFIXES: &[&str] = &[
    ", LLC",
    ", PC",
    ", PLLC",
    " INC",
    ", INC.",
    ", P.A.",
    " GROUP, LLC",
    " ASSOCIATES, PC",
    " LLP",
    "",
];

const ISSUERS: &[&str] = &[
    "BLUE CROSS BLUE SHIELD",
    "AETNA",
    "UNITED HEALTHCARE",
    "CIGNA",
    "HUMANA",
    "ANTHEM",
    "TRICARE",
    "HARVARD PILGRIM HEALTH CARE",
    "KAISER PERMANENTE",
    "MOLINA HEALTHCARE",
];

const TITLES: &[&str] = &[
    "PRESIDENT",
    "CEO",
    "OWNER",
    "ADMINISTRATOR",
    "CFO",
    "DIRECTOR",
    "OFFICE MANAGER",
    "VP FINANCIAL OPERATIONS",
    "COMPLIANCE OFFICER",
    "MANAGING MEMBER",
];

fn credential_for(grouping: &str, classification: &str, rng: &mut Rng) -> &'static str {
    match grouping {
        "Allopathic & Osteopathic Physicians" => {
            rng.pick(&["MD", "M.D.", "DO", "D.O.", "MD, PHD", "M.D.", "MD"])
        }
        "Dental Providers" if classification == "Dentist" => rng.pick(&["DDS", "DMD", "D.D.S."]),
        "Dental Providers" => rng.pick(&["RDH", "CDA", ""]),
        "Physician Assistants & Advanced Practice Nursing Providers" => {
            rng.pick(&["NP", "APRN", "FNP-C", "PA-C", "CRNA", "CNM", "DNP"])
        }
        "Nursing Service Providers" => rng.pick(&["RN", "R.N.", "LPN", "BSN, RN"]),
        "Behavioral Health & Social Service Providers" => rng.pick(&[
            "LCSW", "LPC", "LMHC", "PHD", "PSYD", "LMFT", "BCBA", "RBT", "MSW",
        ]),
        "Pharmacy Service Providers" => rng.pick(&["PHARMD", "RPH", "PHARM.D."]),
        "Podiatric Medicine & Surgery Service Providers" => rng.pick(&["DPM", "D.P.M."]),
        "Chiropractic Providers" => rng.pick(&["DC", "D.C."]),
        "Eye and Vision Services Providers" => rng.pick(&["OD", "O.D.", ""]),
        "Respiratory, Developmental, Rehabilitative and Restorative Service Providers" => {
            rng.pick(&["PT", "DPT", "OTR/L", "OT", "LMT", "CCC-SLP", "RRT", ""])
        }
        "Student, Health Care" => rng.pick(&["", "MS", "BS"]),
        _ => rng.pick(&["", "", "MS", "BS", "CHW", "EMT-P"]),
    }
}

fn org_word(grouping: &str, classification: &str) -> &'static str {
    match (grouping, classification) {
        (_, "Pharmacy") => "PHARMACY",
        (_, "Home Health") => "HOME HEALTH CARE",
        (_, "Durable Medical Equipment & Medical Supplies") => "MEDICAL SUPPLY",
        (_, "Ambulance") => "AMBULANCE SERVICE",
        (_, "Clinical Medical Laboratory") => "LABORATORIES",
        (_, "General Acute Care Hospital") => "MEMORIAL HOSPITAL",
        (_, "Skilled Nursing Facility") => "NURSING AND REHABILITATION CENTER",
        (_, "Assisted Living Facility") => "ASSISTED LIVING",
        (_, "Hospice Care, Community Based") => "HOSPICE",
        ("Dental Providers", _) => "FAMILY DENTAL",
        ("Group", _) => "MEDICAL GROUP",
        ("Allopathic & Osteopathic Physicians", _) => "MEDICAL ASSOCIATES",
        ("Ambulatory Health Care Facilities", _) => "HEALTH CENTER",
        ("Respiratory, Developmental, Rehabilitative and Restorative Service Providers", _) => {
            "PHYSICAL THERAPY"
        }
        ("Behavioral Health & Social Service Providers", _) | ("Agencies", _) => {
            "BEHAVIORAL HEALTH SERVICES"
        }
        ("Podiatric Medicine & Surgery Service Providers", _) => "FOOT AND ANKLE",
        ("Chiropractic Providers", _) => "CHIROPRACTIC",
        ("Eye and Vision Services Providers", _) => "EYE CARE",
        _ => "HEALTH SERVICES",
    }
}

// ---------------------------------------------------------------------------------------------
// Rows

/// A row under construction: fields are appended in column order; gaps are filled with `""`.
struct Row<'a> {
    buf: &'a mut Vec<u8>,
    next: usize,
}

impl Row<'_> {
    /// Empty fields up to (not including) 1-based column `col`.
    fn skip_to(&mut self, col: usize) {
        while self.next < col {
            self.buf.extend_from_slice(b"\"\",");
            self.next += 1;
        }
    }
    fn set(&mut self, col: usize, value: &[u8]) {
        self.skip_to(col);
        self.buf.push(b'"');
        self.buf.extend_from_slice(value);
        self.buf.extend_from_slice(b"\",");
        self.next += 1;
    }
    fn set_str(&mut self, col: usize, value: &str) {
        self.set(col, value.as_bytes());
    }
    fn set_fmt(&mut self, col: usize, value: std::fmt::Arguments<'_>) {
        self.skip_to(col);
        self.buf.push(b'"');
        self.buf.write_fmt(value).expect("writing to a Vec");
        self.buf.extend_from_slice(b"\",");
        self.next += 1;
    }
    fn finish(mut self) {
        self.skip_to(COLUMNS + 1);
        let last = self.buf.len() - 1;
        self.buf[last] = b'\n';
    }
}

struct Site {
    zip: usize,
    number: u32,
    street: usize,
    suite: Option<(usize, u32)>,
    phone: u32,
    /// The ZIP+4 extension of the site.
    plus4: u16,
}

fn site(reference: &Reference, seed: u64, id: u64) -> Site {
    let mut r = Rng::new(mix(id ^ seed.rotate_left(17)));
    let zip = reference.zip_weights.draw(r.unit());
    let number = 1 + r.below(9_999) as u32;
    let street = r.below(STREETS.len() as u64) as usize;
    let suite = r.chance(0.45).then(|| {
        (
            r.below(SUITES.len() as u64) as usize,
            1 + r.below(999) as u32,
        )
    });
    let phone = 2_000_000 + r.below(7_999_999) as u32;
    let plus4 = r.below(10_000) as u16;
    Site {
        zip,
        number,
        street,
        suite,
        phone,
        plus4,
    }
}

fn date(days_since_2005: u64) -> String {
    // 2005-05-23 is when NPPES started enumerating.
    let start = chrono::NaiveDate::from_ymd_opt(2005, 5, 23).expect("valid date");
    let d = start + chrono::Days::new(days_since_2005);
    d.format("%m/%d/%Y").to_string()
}

const DAYS_TO_2025: u64 = 7_320; // 2005-05-23 .. 2025-05-31

struct Generator<'a> {
    reference: &'a Reference,
    seed: u64,
    rng: Rng,
    shared_sites: u64,
}

impl Generator<'_> {
    fn npi(&self, row: u64) -> [u8; 10] {
        // A bijection of 0..900,000,000 (7^10 is coprime to 9 * 10^8), so NPIs are distinct.
        let nine = 100_000_000 + (row.wrapping_mul(282_475_249) + self.seed) % 900_000_000;
        let first_nine = nine.to_string();
        let mut out = [0u8; 10];
        out[..9].copy_from_slice(first_nine.as_bytes());
        out[9] = b'0' + npi_check_digit(&first_nine);
        out
    }

    fn write_address(&mut self, row: &mut Row<'_>, first_col: usize, s: &Site, mailing: bool) {
        let z = &self.reference.zips[s.zip];
        let rng = &mut self.rng;
        if mailing && rng.chance(0.15) {
            row.set_fmt(first_col, format_args!("PO BOX {}", 1 + rng.below(20_000)));
        } else {
            row.set_fmt(
                first_col,
                format_args!("{} {}", s.number, STREETS[s.street]),
            );
            if let Some((kind, n)) = s.suite {
                row.set_fmt(first_col + 1, format_args!("{} {}", SUITES[kind], n));
            }
        }
        row.set_str(first_col + 2, z.city);
        row.set_str(first_col + 3, z.state);
        if rng.chance(0.85) {
            let plus4 = s.plus4;
            row.set_fmt(
                first_col + 4,
                format_args!("{}{plus4:04}", std::str::from_utf8(&z.code).expect("ascii")),
            );
        } else {
            row.set(first_col + 4, &z.code);
        }
        row.set_str(first_col + 5, "US");
        row.set_fmt(first_col + 6, format_args!("{}{}", z.area_code, s.phone));
        if rng.chance(0.6) {
            row.set_fmt(
                first_col + 7,
                format_args!("{}{}", z.area_code, s.phone + 1),
            );
        }
    }

    fn row(&mut self, index: u64, buf: &mut Vec<u8>) {
        let npi = self.npi(index);
        let mut row = Row { buf, next: 1 };
        row.set(1, &npi);
        let enumerated = self.rng.below(DAYS_TO_2025 - 30);
        if self.rng.chance(0.01) {
            // Deactivated: the real file keeps only the NPI and the deactivation date.
            let deactivated = enumerated + 1 + self.rng.below(DAYS_TO_2025 - enumerated - 1);
            row.set_str(40, &date(deactivated));
            row.finish();
            return;
        }
        let organization = self.rng.chance(0.2);
        row.set_str(2, if organization { "2" } else { "1" });

        // Practice site.
        let site_id =
            if organization && self.rng.chance(0.5) || !organization && self.rng.chance(0.25) {
                // A unique address of its own.
                self.shared_sites + index
            } else {
                // A shared site, with power-law popularity.
                let u = self.rng.unit();
                ((u * u) * self.shared_sites as f64) as u64
            };
        let practice = site(self.reference, self.seed, site_id);
        let state = self.reference.zips[practice.zip].state;

        // Taxonomies: the primary first, then 0–2 more, often from the same classification.
        let pool = if !organization || self.rng.chance(ORGANIZATION_INDIVIDUAL_CODES) {
            &self.reference.individual
        } else {
            &self.reference.organization
        };
        let primary = pool.codes[pool.weights.draw(self.rng.unit())];
        let mut codes = vec![primary];
        let extra = match self.rng.below(100) {
            0..=64 => 0,
            65..=89 => 1,
            _ => 2,
        };
        for _ in 0..extra {
            let siblings = &self.reference.siblings[self.reference.sibling_of[primary]];
            let code = if siblings.len() > 1 && self.rng.chance(0.6) {
                self.rng.pick(siblings)
            } else {
                pool.codes[pool.weights.draw(self.rng.unit())]
            };
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        // The primary switch is usually on the first code, not always.
        let primary_at = if codes.len() > 1 && self.rng.chance(0.2) {
            1 + self.rng.below(codes.len() as u64 - 1) as usize
        } else {
            0
        };
        codes.swap(0, primary_at);
        let main = &self.reference.taxonomy[primary];

        let last = self.rng.pick(LAST_NAMES);
        if organization {
            row.set_str(4, "<UNAVAIL>");
            let word = org_word(&main.grouping, &main.classification);
            let suffix = self.rng.pick(ORG_SUFFIXES);
            if self.rng.chance(0.3) {
                let city = self.reference.zips[practice.zip].city;
                row.set_fmt(5, format_args!("{city} {word}{suffix}"));
            } else {
                row.set_fmt(5, format_args!("{last} {word}{suffix}"));
            }
            if self.rng.chance(0.25) {
                let other = self.rng.pick(LAST_NAMES);
                row.set_fmt(12, format_args!("{other} {word}"));
                row.set_str(13, "3");
            }
        } else {
            row.set_str(6, last);
            row.set_str(7, self.rng.pick(FIRST_NAMES));
            if self.rng.chance(0.55) {
                row.set_str(8, self.rng.pick(MIDDLE));
            }
            if self.rng.chance(0.12) {
                row.set_str(9, self.rng.pick(&["DR.", "MR.", "MS.", "MRS."]));
            }
            if self.rng.chance(0.03) {
                row.set_str(10, self.rng.pick(&["JR.", "SR.", "II", "III"]));
            }
            let credential = credential_for(&main.grouping, &main.classification, &mut self.rng);
            if !credential.is_empty() {
                row.set_str(11, credential);
            }
            if self.rng.chance(0.05) {
                row.set_str(14, self.rng.pick(LAST_NAMES));
                row.set_str(15, self.rng.pick(FIRST_NAMES));
                row.set_str(20, "1");
            }
        }

        // Mailing address: usually the practice site, sometimes elsewhere in the same area.
        let mailing = if self.rng.chance(0.7) {
            site(self.reference, self.seed, site_id)
        } else {
            site(
                self.reference,
                self.seed ^ 0xA11,
                self.shared_sites * 2 + index,
            )
        };
        self.write_address(&mut row, 21, &mailing, true);
        self.write_address(&mut row, 29, &practice, false);

        let updated = enumerated + self.rng.below(DAYS_TO_2025 - enumerated);
        row.set_str(37, &date(enumerated));
        row.set_str(38, &date(updated));
        if !organization {
            row.set_str(42, if self.rng.chance(0.5) { "F" } else { "M" });
        } else {
            row.set_str(43, self.rng.pick(LAST_NAMES));
            row.set_str(44, self.rng.pick(FIRST_NAMES));
            if self.rng.chance(0.4) {
                row.set_str(45, self.rng.pick(MIDDLE));
            }
            row.set_str(46, self.rng.pick(TITLES));
            let z = &self.reference.zips[practice.zip];
            row.set_fmt(
                47,
                format_args!("{}{}", z.area_code, 2_000_000 + self.rng.below(7_999_999)),
            );
        }
        for (k, &code) in codes.iter().enumerate() {
            let col = 48 + 4 * k;
            row.set_str(col, &self.reference.taxonomy[code].code);
            if !organization || self.rng.chance(0.3) {
                let digits = 4 + self.rng.below(5) as usize;
                let n = self.rng.below(10u64.pow(digits as u32));
                row.set_fmt(col + 1, format_args!("{n:0digits$}"));
                let licence_state = if self.rng.chance(0.9) {
                    state
                } else {
                    self.reference.zips[self.reference.zip_weights.draw(self.rng.unit())].state
                };
                row.set_str(col + 2, licence_state);
            }
            row.set_str(col + 3, if k == 0 { "Y" } else { "N" });
        }
        // Other provider identifiers.
        let others = match self.rng.below(100) {
            0..=44 => 0,
            45..=69 => 1,
            70..=84 => 2,
            85..=94 => 3,
            _ => 4 + self.rng.below(3) as usize,
        };
        for k in 0..others {
            let col = 108 + 4 * k;
            row.set_fmt(col, format_args!("{:09}", self.rng.below(1_000_000_000)));
            if self.rng.chance(0.6) {
                row.set_str(col + 1, "05");
                row.set_str(col + 2, state);
            } else {
                row.set_str(col + 1, "01");
                row.set_str(col + 2, state);
                row.set_str(col + 3, self.rng.pick(ISSUERS));
            }
        }
        if organization {
            let subpart = self.rng.chance(0.35);
            row.set_str(309, if subpart { "Y" } else { "N" });
            if subpart {
                let parent = self.rng.pick(LAST_NAMES);
                row.set_fmt(310, format_args!("{parent} HEALTH SYSTEM, INC."));
            }
            if self.rng.chance(0.3) {
                row.set_str(312, self.rng.pick(&["DR.", "MR.", "MS."]));
            }
            if self.rng.chance(0.25) {
                row.set_str(314, self.rng.pick(&["MD", "MBA", "RN", "DDS", "CPA"]));
            }
        } else {
            row.set_str(308, if self.rng.chance(0.3) { "Y" } else { "N" });
            if self.rng.chance(0.6) {
                let certified = updated + self.rng.below(DAYS_TO_2025 - updated + 1);
                row.set_str(330, &date(certified));
            }
        }
        row.finish();
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("nppes_gen: {e}");
            return ExitCode::from(2);
        }
    };
    let reference = match load_reference(&args.data) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nppes_gen: {e}");
            return ExitCode::from(2);
        }
    };
    let out: Box<dyn Write> = if args.out == "-" {
        Box::new(io::stdout().lock())
    } else {
        match File::create(&args.out) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("nppes_gen: {}: {e}", args.out);
                return ExitCode::from(2);
            }
        }
    };
    let mut out = BufWriter::with_capacity(1 << 22, out);
    let started = Instant::now();
    // About 5 individuals per shared site on average (3 of every 4 individuals share one).
    let shared_sites = (args.rows * 8 / 10 * 3 / 4 / 5).max(1);
    let mut generator = Generator {
        reference: &reference,
        seed: args.seed,
        rng: Rng::new(args.seed),
        shared_sites,
    };
    let mut buf = Vec::with_capacity(1 << 16);
    let mut bytes = reference.header.len() as u64;
    if let Err(e) = out.write_all(&reference.header) {
        eprintln!("nppes_gen: {e}");
        return ExitCode::FAILURE;
    }
    for i in 0..args.rows {
        generator.row(i, &mut buf);
        if buf.len() >= 1 << 16 || i + 1 == args.rows {
            bytes += buf.len() as u64;
            if let Err(e) = out.write_all(&buf) {
                eprintln!("nppes_gen: {e}");
                return ExitCode::FAILURE;
            }
            buf.clear();
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("nppes_gen: {e}");
        return ExitCode::FAILURE;
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "nppes_gen: {} rows, {} bytes ({:.0} bytes/row) in {:.1} s ({:.0} MB/s)",
        args.rows,
        bytes,
        bytes as f64 / args.rows as f64,
        secs,
        bytes as f64 / 1e6 / secs
    );
    ExitCode::SUCCESS
}
