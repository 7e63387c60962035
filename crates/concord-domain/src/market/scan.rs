//! The market scan: which candidates near an organization offer a wanted capability, ranked and
//! explained.
//!
//! A scan asks for one capability (`capability=dental`) or a partnership type (`type=…`, whose
//! capabilities come from the adjacency table and the organization's own service lines), a radius
//! (1–250 miles), optional filters, a sort and a page. Storage reads the candidates of the grid
//! cells around the origin ([`super::geo::cells_within`]); everything after that is here and pure:
//! the exact distance filter, the filters, the score, the sort, the page and the explanation.
//!
//! The score (0–100) adds four parts, each shown to the user:
//! - **proximity** (up to 40 points): `1 − distance / radius`;
//! - **size** (up to 25): providers at the address or beds, on a log scale (100 providers or 500
//!   beds score full marks; an unpublished size counts as small; half when the capability is a
//!   secondary one, since most of those providers then do something else);
//! - **centrality** (up to 20): full when the wanted capability is the candidate's main one (its
//!   primary taxonomy: the first of its capabilities), half when it is a secondary one;
//! - **rating** (up to 15): the CMS overall star rating out of 5; without a rating, half marks.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::geo::{distance_miles, Point, MAX_RADIUS_MILES};
use crate::capability::CapabilityCode;
use crate::organization::US_STATES;
use crate::paging::{PageRequest, DEFAULT_PER_PAGE};
use crate::partnership::PartnershipType;
use crate::{OrgId, ValidationErrors};

/// The narrowest radius a scan may ask for.
pub const MIN_RADIUS_MILES: f64 = 1.0;
/// The radius used when none is given.
pub const DEFAULT_RADIUS_MILES: f64 = 25.0;

/// Points each part of the score is worth (they add up to 100).
pub const PROXIMITY_POINTS: f64 = 40.0;
pub const SIZE_POINTS: f64 = 25.0;
pub const CENTRALITY_POINTS: f64 = 20.0;
pub const RATING_POINTS: f64 = 15.0;

/// Providers (or beds) at which the size part is full.
const FULL_PROVIDERS: f64 = 100.0;
const FULL_BEDS: f64 = 500.0;
/// The size part of a candidate whose size is not published.
const UNKNOWN_SIZE: f64 = 0.2;

string_enum! {
    /// What a market candidate is.
    pub enum CandidateKind {
        Organization = "organization" => "Organization",
        Practice = "practice" => "Practice",
        Hospital = "hospital" => "Hospital",
        Facility = "facility" => "Post-acute facility",
    }
}

string_enum! {
    /// How scan results are ordered. Ties go to the better score, then the nearer candidate.
    pub enum ScanSort {
        Score = "score" => "Best match first",
        Distance = "distance" => "Nearest first",
        DistanceDesc = "-distance" => "Farthest first",
        Name = "name" => "Name (A–Z)",
        NameDesc = "-name" => "Name (Z–A)",
        Size = "size" => "Largest first",
        SizeDesc = "-size" => "Smallest first",
        Stars = "stars" => "Highest star rating first",
    }
}

/// The scan's query parameters as received (from the query string or the page's form). Every
/// value is text so that a bad one is reported by [`ScanParams::validate`] as a 422 naming it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScanParams {
    /// The organization to scan around (its id): its latitude/longitude, or its ZIP's centroid.
    #[param(value_type = Option<i64>)]
    pub org: Option<String>,
    /// The wanted capability code, e.g. `dental` (give this or `type`).
    pub capability: Option<String>,
    /// A partnership type, e.g. `horizontally_adjacent`: scans for the capabilities the adjacency
    /// table suggests for it from the organization's offered capabilities.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<PartnershipType>)]
    pub partnership_type: Option<String>,
    /// Radius in miles, 1–250 (default 25).
    #[param(value_type = Option<f64>)]
    pub radius_miles: Option<String>,
    /// Only this kind: `organization`, `practice`, `hospital` or `facility`.
    #[param(value_type = Option<CandidateKind>)]
    pub kind: Option<String>,
    /// Only this state (two-letter code).
    pub state: Option<String>,
    /// Only candidates with at least this many providers.
    #[param(value_type = Option<u32>)]
    pub min_providers: Option<String>,
    /// Only candidates with at least this CMS star rating (1–5).
    #[param(value_type = Option<u8>)]
    pub min_stars: Option<String>,
    /// Only candidates whose name contains this text (case-insensitive).
    pub name: Option<String>,
    /// `score` (default), `distance`, `-distance`, `name`, `-name`, `size`, `-size`, `stars`.
    #[param(value_type = Option<ScanSort>)]
    pub sort: Option<String>,
    /// Page number, from 1.
    #[param(value_type = Option<u32>)]
    pub page: Option<String>,
    /// Results per page, 1–100 (default 25).
    #[param(value_type = Option<u32>)]
    pub per_page: Option<String>,
}

/// What a scan looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    Capability(CapabilityCode),
    /// The capabilities suggested for this partnership type (resolved by storage, which knows the
    /// organization's service lines).
    Type(PartnershipType),
}

/// Filters on the candidates within the radius.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScanFilters {
    pub kind: Option<CandidateKind>,
    pub state: Option<String>,
    pub min_providers: Option<u32>,
    pub min_stars: Option<u8>,
    /// Lower-cased text the name must contain.
    pub name: Option<String>,
}

/// A validated scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanQuery {
    pub org: OrgId,
    pub wanted: Wanted,
    pub radius_miles: f64,
    pub filters: ScanFilters,
    pub sort: ScanSort,
    pub page: PageRequest,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_u32(e: &mut ValidationErrors, field: &str, v: &Option<String>) -> Option<u32> {
    let s = present(v)?;
    match s.parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            e.add(field, "not_a_number", "must be a whole number");
            None
        }
    }
}

impl ScanParams {
    /// Checks every parameter against the capability catalogue (`known`), naming each bad one.
    pub fn validate(&self, known: &[CapabilityCode]) -> Result<ScanQuery, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let org = match present(&self.org) {
            None => {
                e.add(
                    "org",
                    "required",
                    "give the id of the organization to scan around",
                );
                None
            }
            Some(s) => match s.parse::<i64>() {
                Ok(id) if id > 0 => Some(OrgId(id)),
                _ => {
                    e.add("org", "invalid_format", "must be an organization id");
                    None
                }
            },
        };
        let wanted = match (present(&self.capability), present(&self.partnership_type)) {
            (Some(_), Some(_)) => {
                e.add(
                    "type",
                    "conflict",
                    "give either a capability or a partnership type, not both",
                );
                None
            }
            (None, None) => {
                e.add(
                    "capability",
                    "required",
                    "give a capability (such as dental) or a partnership type to scan for",
                );
                None
            }
            (Some(c), None) => match CapabilityCode::parse(c) {
                Ok(code) if known.contains(&code) => Some(Wanted::Capability(code)),
                _ => {
                    e.add(
                        "capability",
                        "unknown_capability",
                        format!("`{c}` is not in the capability catalogue"),
                    );
                    None
                }
            },
            (None, Some(t)) => match t.parse::<PartnershipType>() {
                Ok(t) => Some(Wanted::Type(t)),
                Err(err) => {
                    e.add("type", "unknown_value", err.to_string());
                    None
                }
            },
        };
        let radius_miles = match present(&self.radius_miles) {
            None => DEFAULT_RADIUS_MILES,
            Some(s) => {
                match s.parse::<f64>() {
                    Ok(r) if r.is_finite() => {
                        if !(MIN_RADIUS_MILES..=MAX_RADIUS_MILES).contains(&r) {
                            e.add(
                            "radius_miles",
                            "out_of_range",
                            format!("must be between {MIN_RADIUS_MILES} and {MAX_RADIUS_MILES} miles"),
                        );
                        }
                        r
                    }
                    _ => {
                        e.add("radius_miles", "not_a_number", "must be a number of miles");
                        DEFAULT_RADIUS_MILES
                    }
                }
            }
        };
        let kind = present(&self.kind).and_then(|k| match k.parse::<CandidateKind>() {
            Ok(k) => Some(k),
            Err(err) => {
                e.add("kind", "unknown_value", err.to_string());
                None
            }
        });
        let state = present(&self.state).and_then(|s| {
            let s = s.to_ascii_uppercase();
            if US_STATES.contains(&s.as_str()) {
                Some(s)
            } else {
                e.add(
                    "state",
                    "invalid_state",
                    "must be a two-letter US state code such as CT",
                );
                None
            }
        });
        let min_providers = parse_u32(&mut e, "min_providers", &self.min_providers);
        let min_stars = parse_u32(&mut e, "min_stars", &self.min_stars).and_then(|n| {
            if (1..=5).contains(&n) {
                Some(n as u8)
            } else {
                e.add("min_stars", "out_of_range", "must be between 1 and 5");
                None
            }
        });
        let name = present(&self.name).and_then(|n| {
            if n.chars().count() > 100 {
                e.add("name", "too_long", "must be at most 100 characters");
                None
            } else {
                Some(n.to_lowercase())
            }
        });
        let sort = match present(&self.sort) {
            None => ScanSort::Score,
            Some(s) => s.parse::<ScanSort>().unwrap_or_else(|err| {
                e.add("sort", "unknown_value", err.to_string());
                ScanSort::Score
            }),
        };
        let page = parse_u32(&mut e, "page", &self.page);
        let per_page = parse_u32(&mut e, "per_page", &self.per_page);
        let page = match PageRequest::new(page, per_page) {
            Ok(p) => p,
            Err(errs) => {
                e.extend_prefixed("", errs);
                PageRequest::default()
            }
        };
        match (org, wanted) {
            (Some(org), Some(wanted)) if e.is_empty() => Ok(ScanQuery {
                org,
                wanted,
                radius_miles,
                filters: ScanFilters {
                    kind,
                    state,
                    min_providers,
                    min_stars,
                    name,
                },
                sort,
                page,
            }),
            _ => Err(e),
        }
    }
}

impl ScanQuery {
    /// Back to parameters (for links that keep the scan: pagination, sorting, the plot).
    pub fn to_params(&self) -> ScanParams {
        let f = &self.filters;
        ScanParams {
            org: Some(self.org.0.to_string()),
            capability: match &self.wanted {
                Wanted::Capability(c) => Some(c.to_string()),
                Wanted::Type(_) => None,
            },
            partnership_type: match &self.wanted {
                Wanted::Type(t) => Some(t.as_str().to_string()),
                Wanted::Capability(_) => None,
            },
            radius_miles: Some(format_miles(self.radius_miles)),
            kind: f.kind.map(|k| k.as_str().to_string()),
            state: f.state.clone(),
            min_providers: f.min_providers.map(|n| n.to_string()),
            min_stars: f.min_stars.map(|n| n.to_string()),
            name: f.name.clone(),
            sort: Some(self.sort.as_str().to_string()),
            page: Some(self.page.page.to_string()),
            per_page: (self.page.per_page != DEFAULT_PER_PAGE)
                .then(|| self.page.per_page.to_string()),
        }
    }
}

/// A radius as people write it: `25`, `12.5`.
pub fn format_miles(m: f64) -> String {
    let s = format!("{m:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// A candidate from the public reference data (the active import of its source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Candidate {
    /// The candidate's row id (changes with each import; `source` + `ref` do not).
    pub id: i64,
    /// `nppes`, `hospitals` or `postacute`.
    pub source: String,
    pub kind: CandidateKind,
    /// NPI, CCN or the practice's address key: stable across imports.
    #[serde(rename = "ref")]
    pub reference: String,
    pub name: String,
    pub address: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub location: Point,
    /// Providers at the address (practices) or on the record.
    pub providers: Option<u32>,
    pub beds: Option<u32>,
    /// Taxonomy display names, most common first.
    pub specialties: Vec<String>,
    /// Capability codes, the main one (its primary taxonomy) first.
    pub capabilities: Vec<CapabilityCode>,
    /// Hospital type, or the post-acute list the facility is on.
    pub facility_type: Option<String>,
    pub ownership: Option<String>,
    /// CMS overall star rating, 1–5.
    pub star_rating: Option<u8>,
}

/// The points each part of a score contributed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoreParts {
    pub proximity: f64,
    pub size: f64,
    pub centrality: f64,
    pub rating: f64,
}

impl ScoreParts {
    pub fn total(&self) -> f64 {
        self.proximity + self.size + self.centrality + self.rating
    }
}

/// A candidate within the radius, scored.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ScanResult {
    #[serde(flatten)]
    pub candidate: Candidate,
    /// Great-circle distance from the origin, in miles (to 0.1).
    pub distance_miles: f64,
    /// 0–100, the sum of `score_parts` (to 0.1).
    pub score: f64,
    pub score_parts: ScoreParts,
    /// The wanted capabilities this candidate offers.
    pub matched: Vec<CapabilityCode>,
    /// Whether a wanted capability is the candidate's main one (its primary taxonomy).
    pub primary_match: bool,
    /// Why it ranks where it does, one phrase per part: "4.2 miles away", "12 providers at this
    /// address", "primary taxonomy: Dentist", "4-star CMS rating".
    pub reasons: Vec<String>,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The size part (0–1): providers or beds on a log scale, whichever is larger.
pub fn size_part(providers: Option<u32>, beds: Option<u32>) -> f64 {
    let log = |n: u32, full: f64| ((1.0 + f64::from(n)).ln() / (1.0 + full).ln()).min(1.0);
    match (providers, beds) {
        (None, None) => UNKNOWN_SIZE,
        (p, b) => {
            let p = p.map(|n| log(n, FULL_PROVIDERS)).unwrap_or(0.0);
            let b = b.map(|n| log(n, FULL_BEDS)).unwrap_or(0.0);
            p.max(b)
        }
    }
}

/// The score of a candidate `distance` miles away within `radius`, `primary` when a wanted
/// capability is its main one.
pub fn score_parts(distance: f64, radius: f64, candidate: &Candidate, primary: bool) -> ScoreParts {
    let proximity = if radius > 0.0 {
        (1.0 - distance / radius).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let rating = candidate
        .star_rating
        .map(|s| f64::from(s.min(5)) / 5.0)
        .unwrap_or(0.5);
    ScoreParts {
        proximity: PROXIMITY_POINTS * proximity,
        // Most of a big practice's providers do something else when the capability is secondary.
        size: SIZE_POINTS
            * size_part(candidate.providers, candidate.beds)
            * if primary { 1.0 } else { 0.5 },
        centrality: CENTRALITY_POINTS * if primary { 1.0 } else { 0.5 },
        rating: RATING_POINTS * rating,
    }
}

impl ScanFilters {
    pub fn accepts(&self, c: &Candidate) -> bool {
        self.kind.is_none_or(|k| c.kind == k)
            && self.state.as_deref().is_none_or(|s| c.state == s)
            && self
                .min_providers
                .is_none_or(|n| c.providers.unwrap_or(0) >= n)
            && self
                .min_stars
                .is_none_or(|n| c.star_rating.is_some_and(|s| s >= n))
            && self
                .name
                .as_deref()
                .is_none_or(|n| c.name.to_lowercase().contains(n))
    }
}

fn size_key(r: &ScanResult) -> u32 {
    r.candidate
        .providers
        .unwrap_or(0)
        .max(r.candidate.beds.unwrap_or(0))
}

fn compare(sort: ScanSort, a: &ScanResult, b: &ScanResult) -> Ordering {
    let by_score = b.score.total_cmp(&a.score);
    let by_distance = a.distance_miles.total_cmp(&b.distance_miles);
    let primary = match sort {
        ScanSort::Score => Ordering::Equal,
        ScanSort::Distance => by_distance,
        ScanSort::DistanceDesc => by_distance.reverse(),
        ScanSort::Name => a.candidate.name.cmp(&b.candidate.name),
        ScanSort::NameDesc => b.candidate.name.cmp(&a.candidate.name),
        ScanSort::Size => size_key(b).cmp(&size_key(a)),
        ScanSort::SizeDesc => size_key(a).cmp(&size_key(b)),
        ScanSort::Stars => b.candidate.star_rating.cmp(&a.candidate.star_rating),
    };
    primary
        .then(by_score)
        .then(by_distance)
        .then(a.candidate.id.cmp(&b.candidate.id))
}

/// One row of the radius index: a candidate offering one capability, and whether that capability
/// is the candidate's main one (its primary taxonomy's). Storage reads these without the
/// candidate's details ([`Candidate::summary`]) and fills in those of the page shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub candidate: Candidate,
    pub capability: CapabilityCode,
    pub primary: bool,
}

impl Candidate {
    /// A candidate with only what ranking, sorting, filtering and the plot use: id, source, kind,
    /// name, state, location, providers, beds and star rating. The rest (reference, address, city,
    /// ZIP, specialties, capabilities, facility type, ownership) is left empty, to be filled for
    /// the page shown.
    #[allow(clippy::too_many_arguments)]
    pub fn summary(
        id: i64,
        source: String,
        kind: CandidateKind,
        name: String,
        state: String,
        location: Point,
        providers: Option<u32>,
        beds: Option<u32>,
        star_rating: Option<u8>,
    ) -> Candidate {
        Candidate {
            id,
            source,
            kind,
            reference: String::new(),
            name,
            address: String::new(),
            city: String::new(),
            state,
            zip: String::new(),
            location,
            providers,
            beds,
            specialties: Vec::new(),
            capabilities: Vec::new(),
            facility_type: None,
            ownership: None,
            star_rating,
        }
    }

    /// Its offers (one per capability), the first of its capabilities being the main one.
    pub fn offers(self) -> Vec<Offer> {
        let main = self.capabilities.first().cloned();
        self.capabilities
            .clone()
            .into_iter()
            .map(|capability| Offer {
                primary: main.as_ref() == Some(&capability),
                capability,
                candidate: self.clone(),
            })
            .collect()
    }
}

/// Keeps the candidates within `radius` miles of `origin` that offer a `wanted` capability and
/// pass the filters, scores them and sorts them. A candidate listed twice (once per matching
/// capability) is kept once. Reasons are left empty: [`explain`] fills them for the page shown.
/// The main capability of each candidate is the first of its `capabilities`.
pub fn rank(
    origin: Point,
    radius: f64,
    wanted: &[CapabilityCode],
    filters: &ScanFilters,
    sort: ScanSort,
    candidates: impl IntoIterator<Item = Candidate>,
) -> Vec<ScanResult> {
    rank_offers(
        origin,
        radius,
        wanted,
        filters,
        sort,
        candidates.into_iter().flat_map(Candidate::offers),
    )
}

/// [`rank`] over the rows of the radius index: a candidate's matched capabilities are those of its
/// offers that are wanted (in the order of `wanted`), and it is a primary match when one of those
/// is flagged as its main capability. Offers of capabilities not wanted are ignored; a candidate
/// is kept once however many of its offers match (the offers of one id describe one candidate).
pub fn rank_offers(
    origin: Point,
    radius: f64,
    wanted: &[CapabilityCode],
    filters: &ScanFilters,
    sort: ScanSort,
    offers: impl IntoIterator<Item = Offer>,
) -> Vec<ScanResult> {
    // Candidate id → (index in `kept`, matched capabilities as a bit set over `wanted`).
    let mut at: HashMap<i64, usize> = HashMap::new();
    let mut kept: Vec<(Candidate, f64, u128, bool)> = Vec::new();
    for o in offers {
        let Some(w) = wanted.iter().position(|w| *w == o.capability) else {
            continue;
        };
        let bit = 1u128 << w.min(127);
        if let Some(&i) = at.get(&o.candidate.id) {
            let k = &mut kept[i];
            k.2 |= bit;
            k.3 |= o.primary;
            continue;
        }
        let distance = distance_miles(origin, o.candidate.location);
        if distance > radius || !filters.accepts(&o.candidate) {
            continue;
        }
        at.insert(o.candidate.id, kept.len());
        kept.push((o.candidate, distance, bit, o.primary));
    }
    let mut out: Vec<ScanResult> = kept
        .into_iter()
        .map(|(c, distance, bits, primary)| {
            let matched: Vec<CapabilityCode> = wanted
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1u128 << (*i).min(127)) != 0)
                .map(|(_, w)| w.clone())
                .collect();
            let parts = score_parts(distance, radius, &c, primary);
            ScanResult {
                distance_miles: round1(distance),
                score: round1(parts.total()),
                score_parts: ScoreParts {
                    proximity: round1(parts.proximity),
                    size: round1(parts.size),
                    centrality: round1(parts.centrality),
                    rating: round1(parts.rating),
                },
                matched,
                primary_match: primary,
                reasons: Vec::new(),
                candidate: c,
            }
        })
        .collect();
    out.sort_by(|a, b| compare(sort, a, b));
    out
}

/// The reasons for a result, one phrase per part of its score. `name_of` names a capability.
pub fn explain(r: &ScanResult, name_of: impl Fn(&CapabilityCode) -> String) -> Vec<String> {
    let c = &r.candidate;
    let mut reasons = vec![format!("{:.1} miles away", r.distance_miles)];
    let plural = |n: u32, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    match (c.providers, c.beds) {
        (Some(p), _) if c.kind == CandidateKind::Practice => reasons.push(format!(
            "{} at this address",
            plural(p, "provider", "providers")
        )),
        (Some(p), Some(b)) => reasons.push(format!(
            "{}, {}",
            plural(p, "provider", "providers"),
            plural(b, "bed", "beds")
        )),
        (Some(p), None) => reasons.push(plural(p, "provider", "providers")),
        (None, Some(b)) => reasons.push(plural(b, "bed", "beds")),
        (None, None) => reasons.push("size not published".to_string()),
    }
    let matched = r
        .matched
        .iter()
        .map(&name_of)
        .collect::<Vec<_>>()
        .join(", ");
    match (c.kind, r.primary_match, c.specialties.first()) {
        (CandidateKind::Organization | CandidateKind::Practice, true, Some(s)) => {
            reasons.push(format!("primary taxonomy: {s}"))
        }
        (CandidateKind::Organization | CandidateKind::Practice, false, Some(s)) => {
            reasons.push(format!("{matched} is a secondary taxonomy (main: {s})"))
        }
        (_, true, _) => match &c.facility_type {
            Some(t) => reasons.push(format!("main service: {matched} ({t})")),
            None => reasons.push(format!("main service: {matched}")),
        },
        (_, false, _) => reasons.push(format!("also offers {matched}")),
    }
    match c.star_rating {
        Some(s) => reasons.push(format!("{s}-star CMS rating")),
        None if c.kind == CandidateKind::Hospital => reasons.push("no CMS star rating".to_string()),
        None => {}
    }
    reasons
}

string_enum! {
    /// Where a scan's origin came from.
    pub enum OriginFrom {
        Location = "location" => "the organization's latitude and longitude",
        Zip = "zip" => "the centroid of the organization's ZIP",
    }
}

/// A scan, run: every qualifying candidate in order (reasons not yet filled), with what was asked.
/// Only the results of the page asked for (`query.page`) carry their candidate's details; the
/// others are [`Candidate::summary`]s (enough for sorting, filtering and the plot), with
/// `capabilities` listing the matched ones.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRun {
    pub query: ScanQuery,
    pub org_name: String,
    pub origin: Point,
    pub origin_from: OriginFrom,
    /// The capabilities scanned for (one, or those the partnership type suggests).
    pub wanted: Vec<CapabilityCode>,
    pub partnership_type: Option<PartnershipType>,
    pub results: Vec<ScanResult>,
    /// Capability names, for the explanations.
    pub capability_names: Vec<(CapabilityCode, String)>,
}

/// One page of a scan, explained: what the API answers.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ScanPage {
    pub organization_id: OrgId,
    pub organization_name: String,
    pub origin: Point,
    pub origin_from: OriginFrom,
    pub radius_miles: f64,
    /// The capabilities scanned for.
    pub capabilities: Vec<CapabilityCode>,
    /// The partnership type asked for, when the scan was by type.
    pub partnership_type: Option<PartnershipType>,
    pub filters: ScanFilters,
    pub sort: ScanSort,
    pub items: Vec<ScanResult>,
    pub page: u32,
    pub per_page: u32,
    /// Candidates within the radius that pass the filters.
    pub total: u64,
}

impl ScanRun {
    /// The name of a capability (its code when it is not in the catalogue).
    pub fn capability_name(&self, code: &CapabilityCode) -> String {
        self.capability_names
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| code.to_string())
    }

    /// Results `from..from + n`, explained.
    pub fn explained(&self, from: usize, n: usize) -> Vec<ScanResult> {
        self.results
            .iter()
            .skip(from)
            .take(n)
            .map(|r| {
                let mut r = r.clone();
                r.reasons = explain(&r, |c| self.capability_name(c));
                r
            })
            .collect()
    }

    /// The page the query asked for, explained.
    pub fn page(&self) -> ScanPage {
        let p = self.query.page;
        let from = usize::try_from(p.offset()).unwrap_or(usize::MAX);
        ScanPage {
            organization_id: self.query.org,
            organization_name: self.org_name.clone(),
            origin: self.origin,
            origin_from: self.origin_from,
            radius_miles: self.query.radius_miles,
            capabilities: self.wanted.clone(),
            partnership_type: self.partnership_type,
            filters: self.query.filters.clone(),
            sort: self.query.sort,
            items: self.explained(from, p.per_page as usize),
            page: p.page,
            per_page: p.per_page,
            total: self.results.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn code(s: &str) -> CapabilityCode {
        CapabilityCode::parse(s).unwrap()
    }

    fn known() -> Vec<CapabilityCode> {
        ["dental", "podiatry", "home_health"]
            .into_iter()
            .map(code)
            .collect()
    }

    fn params(pairs: &[(&str, &str)]) -> ScanParams {
        let q = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        serde_json::from_value(serde_json::Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                .collect(),
        ))
        .unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    fn fields(e: &ValidationErrors) -> Vec<&str> {
        e.errors().iter().map(|f| f.field.as_str()).collect()
    }

    // Hartford, CT (ZCTA 06106 centroid).
    const HARTFORD: Point = Point {
        latitude: 41.7475,
        longitude: -72.6958,
    };

    fn candidate(id: i64, lat: f64, lon: f64, caps: &[&str]) -> Candidate {
        Candidate {
            id,
            source: "nppes".into(),
            kind: CandidateKind::Practice,
            reference: format!("ref{id}"),
            name: format!("Practice {id}"),
            address: "1 Main St".into(),
            city: "Hartford".into(),
            state: "CT".into(),
            zip: "06106".into(),
            location: Point {
                latitude: lat,
                longitude: lon,
            },
            providers: Some(3),
            beds: None,
            specialties: vec!["Dentist".into()],
            capabilities: caps.iter().map(|c| code(c)).collect(),
            facility_type: None,
            ownership: None,
            star_rating: None,
        }
    }

    #[test]
    fn a_good_scan_validates_with_defaults() {
        let q = params(&[("org", "7"), ("capability", "dental")])
            .validate(&known())
            .unwrap();
        assert_eq!(q.org, OrgId(7));
        assert_eq!(q.wanted, Wanted::Capability(code("dental")));
        assert_eq!(q.radius_miles, DEFAULT_RADIUS_MILES);
        assert_eq!(q.sort, ScanSort::Score);
        assert_eq!(q.page, PageRequest::default());
        let back = q.to_params().validate(&known()).unwrap();
        assert_eq!(back, q);
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let e = params(&[
            ("org", "x"),
            ("capability", "astrology"),
            ("radius_miles", "far"),
            ("kind", "castle"),
            ("state", "ZZ"),
            ("min_providers", "-1"),
            ("min_stars", "6"),
            ("sort", "luck"),
            ("page", "0"),
            ("per_page", "500"),
        ])
        .validate(&known())
        .unwrap_err();
        assert_eq!(
            fields(&e),
            vec![
                "org",
                "capability",
                "radius_miles",
                "kind",
                "state",
                "min_providers",
                "min_stars",
                "sort",
                "page",
                "per_page"
            ]
        );
    }

    #[test]
    fn radius_bounds_and_what_to_scan_for() {
        for (r, ok) in [
            ("0.5", false),
            ("1", true),
            ("250", true),
            ("250.1", false),
            ("NaN", false),
            ("inf", false),
        ] {
            let got = params(&[("org", "1"), ("capability", "dental"), ("radius_miles", r)])
                .validate(&known());
            assert_eq!(got.is_ok(), ok, "{r}");
            if let Err(e) = got {
                assert_eq!(fields(&e), vec!["radius_miles"]);
            }
        }
        let e = params(&[("org", "1")]).validate(&known()).unwrap_err();
        assert_eq!(e.errors()[0].field, "capability");
        assert_eq!(e.errors()[0].code, "required");
        let e = params(&[
            ("org", "1"),
            ("capability", "dental"),
            ("type", "wholesale"),
        ])
        .validate(&known())
        .unwrap_err();
        assert_eq!(fields(&e), vec!["type"]);
        let e = params(&[("org", "1"), ("type", "friendship")])
            .validate(&known())
            .unwrap_err();
        assert_eq!(fields(&e), vec!["type"]);
        let q = params(&[("org", "1"), ("type", "horizontally_adjacent")])
            .validate(&known())
            .unwrap();
        assert_eq!(
            q.wanted,
            Wanted::Type(PartnershipType::HorizontallyAdjacent)
        );
        let e = params(&[("capability", "dental")])
            .validate(&known())
            .unwrap_err();
        assert_eq!(fields(&e), vec!["org"]);
    }

    #[test]
    fn ranking_explains_itself() {
        let mut near = candidate(1, 41.76, -72.68, &["dental"]);
        near.providers = Some(12);
        let mut far_secondary = candidate(2, 41.9, -72.6, &["primary_care", "dental"]);
        far_secondary.specialties = vec!["Family Medicine".into(), "Dentist".into()];
        let mut hospital = candidate(3, 41.77, -72.70, &["dental", "emergency"]);
        hospital.kind = CandidateKind::Hospital;
        hospital.providers = None;
        hospital.star_rating = Some(4);
        hospital.facility_type = Some("Acute Care Hospitals".into());
        let out_of_range = candidate(4, 42.36, -71.06, &["dental"]);
        let other_capability = candidate(5, 41.75, -72.69, &["podiatry"]);
        let ranked = rank(
            HARTFORD,
            25.0,
            &[code("dental")],
            &ScanFilters::default(),
            ScanSort::Score,
            vec![
                near.clone(),
                far_secondary,
                hospital,
                out_of_range,
                other_capability,
                near,
            ],
        );
        let ids: Vec<i64> = ranked.iter().map(|r| r.candidate.id).collect();
        assert_eq!(ids, vec![1, 3, 2]);
        let name = |c: &CapabilityCode| c.to_string();
        let r = explain(&ranked[0], name);
        assert_eq!(r[0], "1.2 miles away");
        assert_eq!(r[1], "12 providers at this address");
        assert_eq!(r[2], "primary taxonomy: Dentist");
        assert_eq!(r.len(), 3);
        let r = explain(&ranked[1], name);
        assert_eq!(r[1], "size not published");
        assert_eq!(r[2], "main service: dental (Acute Care Hospitals)");
        assert_eq!(r[3], "4-star CMS rating");
        let r = explain(&ranked[2], name);
        assert_eq!(
            r[2],
            "dental is a secondary taxonomy (main: Family Medicine)"
        );
        assert!(!ranked[2].primary_match);
        assert_eq!(ranked[2].score_parts.centrality, CENTRALITY_POINTS / 2.0);
    }

    #[test]
    fn offers_carry_the_main_capability() {
        let c = candidate(1, 41.76, -72.68, &["primary_care"]);
        let offer = |cap: &str, primary: bool| Offer {
            candidate: c.clone(),
            capability: code(cap),
            primary,
        };
        let wanted = [code("podiatry"), code("dental")];
        let f = ScanFilters::default();
        // Two wanted capabilities: kept once, matched in the order asked, primary from the flag.
        let ranked = rank_offers(
            HARTFORD,
            25.0,
            &wanted,
            &f,
            ScanSort::Score,
            vec![
                offer("dental", true),
                offer("primary_care", false),
                offer("podiatry", false),
            ],
        );
        assert_eq!(ranked.len(), 1);
        assert_eq!(ranked[0].matched, wanted.to_vec());
        assert!(ranked[0].primary_match);
        assert_eq!(ranked[0].score_parts.centrality, CENTRALITY_POINTS);
        // The main capability is not wanted: a secondary match, whatever the order of the rows.
        let ranked = rank_offers(
            HARTFORD,
            25.0,
            &wanted,
            &f,
            ScanSort::Score,
            vec![offer("primary_care", true), offer("dental", false)],
        );
        assert!(!ranked[0].primary_match);
        assert_eq!(ranked[0].matched, vec![code("dental")]);
        // Only offers of unwanted capabilities: nothing.
        assert!(rank_offers(
            HARTFORD,
            25.0,
            &wanted,
            &f,
            ScanSort::Score,
            vec![offer("primary_care", true)]
        )
        .is_empty());
    }

    #[test]
    fn filters_and_sorts() {
        let mut a = candidate(1, 41.76, -72.68, &["dental"]);
        a.name = "Bright Smiles".into();
        a.providers = Some(2);
        let mut b = candidate(2, 41.80, -72.60, &["dental"]);
        b.name = "Acorn Dental".into();
        b.providers = Some(9);
        b.state = "MA".into();
        let all = vec![a, b];
        let by = |sort, filters: ScanFilters| -> Vec<i64> {
            rank(
                HARTFORD,
                25.0,
                &[code("dental")],
                &filters,
                sort,
                all.clone(),
            )
            .iter()
            .map(|r| r.candidate.id)
            .collect()
        };
        let none = ScanFilters::default;
        assert_eq!(by(ScanSort::Name, none()), vec![2, 1]);
        assert_eq!(by(ScanSort::NameDesc, none()), vec![1, 2]);
        assert_eq!(by(ScanSort::Distance, none()), vec![1, 2]);
        assert_eq!(by(ScanSort::DistanceDesc, none()), vec![2, 1]);
        assert_eq!(by(ScanSort::Size, none()), vec![2, 1]);
        assert_eq!(by(ScanSort::SizeDesc, none()), vec![1, 2]);
        let f = |g: fn(&mut ScanFilters)| {
            let mut x = ScanFilters::default();
            g(&mut x);
            x
        };
        assert_eq!(
            by(ScanSort::Score, f(|x| x.state = Some("MA".into()))),
            vec![2]
        );
        assert_eq!(
            by(ScanSort::Score, f(|x| x.min_providers = Some(5))),
            vec![2]
        );
        assert_eq!(
            by(ScanSort::Score, f(|x| x.name = Some("smiles".into()))),
            vec![1]
        );
        assert!(by(ScanSort::Score, f(|x| x.min_stars = Some(1))).is_empty());
        assert!(by(
            ScanSort::Score,
            f(|x| x.kind = Some(CandidateKind::Hospital))
        )
        .is_empty());
    }

    fn arb_candidate() -> impl Strategy<Value = Candidate> {
        (
            1i64..1000,
            -0.6f64..0.6,
            -0.8f64..0.8,
            proptest::option::of(0u32..400),
            proptest::option::of(0u32..900),
            proptest::option::of(1u8..=5),
            0usize..3,
            proptest::sample::select(vec![
                CandidateKind::Organization,
                CandidateKind::Practice,
                CandidateKind::Hospital,
                CandidateKind::Facility,
            ]),
        )
            .prop_map(|(id, dlat, dlon, providers, beds, stars, caps, kind)| {
                let caps: &[&str] = match caps {
                    0 => &["dental"],
                    1 => &["podiatry", "dental"],
                    _ => &["home_health"],
                };
                let mut c = candidate(
                    id,
                    HARTFORD.latitude + dlat,
                    HARTFORD.longitude + dlon,
                    caps,
                );
                c.providers = providers;
                c.beds = beds;
                c.star_rating = stars;
                c.kind = kind;
                c
            })
    }

    fn arb_sort() -> impl Strategy<Value = ScanSort> {
        proptest::sample::select(ScanSort::ALL.to_vec())
    }

    proptest! {
        /// Moving a candidate closer to the origin never lowers its score.
        #[test]
        fn closer_never_scores_lower(
            c in arb_candidate(), d1 in 0.0f64..50.0, d2 in 0.0f64..50.0, radius in 1.0f64..250.0,
            primary in any::<bool>(),
        ) {
            let (near, far) = if d1 <= d2 { (d1, d2) } else { (d2, d1) };
            let a = score_parts(near, radius, &c, primary).total();
            let b = score_parts(far, radius, &c, primary).total();
            prop_assert!(a >= b, "{a} < {b}");
            prop_assert!((0.0..=100.0).contains(&a));
        }

        /// More providers or beds never lower the score.
        #[test]
        fn bigger_never_scores_lower(p in 0u32..10_000, extra in 0u32..10_000, beds in proptest::option::of(0u32..2000)) {
            prop_assert!(size_part(Some(p + extra), beds) >= size_part(Some(p), beds));
            prop_assert!(size_part(Some(p), beds) <= 1.0);
        }

        /// Every result is within the radius, offers a wanted capability, passes the filters,
        /// appears once, and the results are in the order asked for.
        #[test]
        fn results_are_within_the_radius_and_sorted(
            cands in proptest::collection::vec(arb_candidate(), 0..40),
            radius in 1.0f64..60.0,
            sort in arb_sort(),
            min_providers in proptest::option::of(0u32..50),
        ) {
            let wanted = [code("dental")];
            let filters = ScanFilters { min_providers, ..ScanFilters::default() };
            let ranked = rank(HARTFORD, radius, &wanted, &filters, sort, cands.clone());
            let mut ids = HashSet::new();
            for r in &ranked {
                prop_assert!(distance_miles(HARTFORD, r.candidate.location) <= radius);
                prop_assert!(r.candidate.capabilities.contains(&wanted[0]));
                prop_assert!(filters.accepts(&r.candidate));
                prop_assert!(ids.insert(r.candidate.id));
                prop_assert!((0.0..=100.0).contains(&r.score));
            }
            for w in ranked.windows(2) {
                prop_assert!(compare(sort, &w[0], &w[1]) != Ordering::Greater);
            }
            if sort == ScanSort::Score {
                for w in ranked.windows(2) {
                    prop_assert!(w[0].score >= w[1].score);
                }
            }
            // Nothing that qualifies is lost.
            let qualifying: HashSet<i64> = cands
                .iter()
                .filter(|c| distance_miles(HARTFORD, c.location) <= radius
                    && c.capabilities.contains(&wanted[0])
                    && filters.accepts(c))
                .map(|c| c.id)
                .collect();
            prop_assert_eq!(ids, qualifying);
        }

        /// Ranking a candidate's offers (as storage reads them) gives what ranking the candidate
        /// gives, its first capability being the main one.
        #[test]
        fn offers_rank_like_candidates(
            cands in proptest::collection::vec(arb_candidate(), 0..30),
            sort in arb_sort(),
            two in any::<bool>(),
        ) {
            let mut cands = cands;
            let mut seen = HashSet::new();
            cands.retain(|c| seen.insert(c.id));
            let wanted = if two { vec![code("dental"), code("podiatry")] } else { vec![code("dental")] };
            let f = ScanFilters::default();
            let a = rank(HARTFORD, 40.0, &wanted, &f, sort, cands.clone());
            let b = rank_offers(
                HARTFORD, 40.0, &wanted, &f, sort,
                cands.into_iter().flat_map(Candidate::offers).rev(),
            );
            prop_assert_eq!(a, b);
        }

        /// A candidate moved closer never drops below one it used to outrank (score order).
        #[test]
        fn moving_closer_never_lowers_the_rank(
            cands in proptest::collection::vec(arb_candidate(), 1..25),
            pick in any::<proptest::sample::Index>(),
            frac in 0.0f64..0.9,
        ) {
            let mut cands = cands;
            let mut seen = HashSet::new();
            cands.retain(|c| seen.insert(c.id));
            let i = pick.index(cands.len());
            let wanted = [code("dental")];
            let f = ScanFilters::default();
            let before = rank(HARTFORD, 60.0, &wanted, &f, ScanSort::Score, cands.clone());
            let id = cands[i].id;
            let Some(pos_before) = before.iter().position(|r| r.candidate.id == id) else {
                return Ok(());
            };
            let below: HashSet<i64> = before[pos_before + 1..]
                .iter()
                .filter(|r| r.score < before[pos_before].score)
                .map(|r| r.candidate.id)
                .collect();
            let c = &mut cands[i];
            c.location = Point {
                latitude: HARTFORD.latitude + (c.location.latitude - HARTFORD.latitude) * frac,
                longitude: HARTFORD.longitude + (c.location.longitude - HARTFORD.longitude) * frac,
            };
            let after = rank(HARTFORD, 60.0, &wanted, &f, ScanSort::Score, cands.clone());
            let pos_after = after.iter().position(|r| r.candidate.id == id).expect("still within");
            for r in &after[..pos_after] {
                prop_assert!(!below.contains(&r.candidate.id));
            }
        }
    }
}
