//! Reference files for partner discovery and how they map to Concord's capability catalogue:
//! ZIP (ZCTA) centroids, the NUCC taxonomy, CMS hospital general information and the post-acute
//! facility lists. Each parser reads a whole (small) file, finds its columns by header name and
//! returns the good rows with a [`RowError`] per bad one, naming the line and the column.
//!
//! The capability mapping is data (`data/market/capability_map.csv`, embedded): which NUCC
//! classifications (and classification + specialization pairs) make up a capability, which CMS
//! hospital types and which post-acute lists offer which capabilities.

use std::collections::HashMap;
use std::io::Read;

use serde::{Deserialize, Serialize};

use super::geo::Point;

string_enum! {
    /// A reference source that `concord market import` loads.
    pub enum MarketSource {
        Zip = "zip" => "ZIP centroids",
        Taxonomy = "taxonomy" => "NUCC taxonomy",
        Nppes = "nppes" => "NPPES providers",
        Hospitals = "hospitals" => "CMS hospitals",
        Postacute = "postacute" => "Post-acute facilities",
    }
}

string_enum! {
    /// The post-acute facility lists (one file each).
    pub enum PostacuteList {
        Nursing = "nursing" => "Nursing homes",
        HomeHealth = "home_health" => "Home health agencies",
        Hospice = "hospice" => "Hospices",
        Longterm = "longterm" => "Long-term care hospitals",
        Rehab = "rehab" => "Inpatient rehabilitation facilities",
        Dialysis = "dialysis" => "Dialysis facilities",
        UrgentCare = "urgent_care" => "Urgent care centers",
        Va = "va" => "VA facilities",
    }
}

impl PostacuteList {
    /// The list a shipped file holds, from its name (`home_health_agencies.csv` → home health).
    pub fn from_file_name(name: &str) -> Option<PostacuteList> {
        let stem = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let stem = stem
            .strip_suffix(".csv")
            .unwrap_or(stem)
            .to_ascii_lowercase();
        PostacuteList::ALL
            .iter()
            .copied()
            .find(|l| stem == l.as_str() || stem.starts_with(&format!("{}_", l.as_str())))
    }
}

string_enum! {
    /// How the bytes of a field are decoded.
    pub enum Encoding {
        Auto = "auto" => "UTF-8, falling back to latin-1 per field",
        Utf8 = "utf-8" => "UTF-8 only (invalid bytes make a bad row)",
        Latin1 = "latin-1" => "latin-1 (ISO 8859-1)",
    }
}

/// Decodes one field. `None`: invalid UTF-8 under [`Encoding::Utf8`].
pub fn decode(bytes: &[u8], encoding: Encoding) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    match encoding {
        Encoding::Latin1 => Some(latin1(bytes)),
        Encoding::Utf8 => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
        Encoding::Auto => Some(match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => latin1(bytes),
        }),
    }
}

fn latin1(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    if bytes.is_ascii() {
        // ASCII is valid UTF-8.
        std::borrow::Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default())
    } else {
        std::borrow::Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())
    }
}

/// One rejected row: where, which column, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowError {
    /// 1-based line number in the file where the row starts (the header is line 1).
    pub line: u64,
    /// The column (header name), or empty when the row as a whole is wrong.
    pub column: String,
    pub message: String,
}

impl RowError {
    pub fn new(line: u64, column: impl Into<String>, message: impl Into<String>) -> Self {
        RowError {
            line,
            column: column.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        }
    }
}

/// A file that cannot be read at all (missing columns, not CSV): nothing is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// The good rows of a file and the bad ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    pub rows: Vec<T>,
    pub errors: Vec<RowError>,
    pub rows_read: u64,
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Parsed {
            rows: Vec::new(),
            errors: Vec::new(),
            rows_read: 0,
        }
    }
}

/// Normalises a header name for lookup: trimmed, BOM removed, lower case.
fn norm_header(h: &str) -> String {
    h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase()
}

/// A CSV header: the index of each column by (normalised) name.
struct Header {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    fn read<R: Read>(rdr: &mut csv::Reader<R>, encoding: Encoding) -> Result<Header, FileError> {
        let rec = rdr
            .byte_headers()
            .map_err(|e| FileError(format!("line 1: cannot read the header: {e}")))?
            .clone();
        let names: Vec<String> = rec
            .iter()
            .map(|b| {
                decode(b, encoding)
                    .map(|s| s.into_owned())
                    .unwrap_or_default()
            })
            .collect();
        let mut index = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            index.entry(norm_header(n)).or_insert(i);
        }
        Ok(Header { names, index })
    }

    /// The first of `names` present in the header.
    fn find(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|n| self.index.get(&n.to_ascii_lowercase()).copied())
    }

    fn require(&self, names: &[&str]) -> Result<usize, FileError> {
        self.find(names).ok_or_else(|| {
            FileError(format!(
                "line 1: the header has no column {}",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ))
        })
    }

    fn name(&self, i: usize) -> &str {
        self.names
            .get(i)
            .map(|s| s.trim_start_matches('\u{feff}'))
            .unwrap_or("")
    }
}

/// Reads every record of a small reference file, calling `row` with the decoded fields; wrong
/// field counts, undecodable bytes and unreadable records become row errors.
fn each_row<R: Read, C, T>(
    input: R,
    encoding: Encoding,
    setup: impl FnOnce(&Header) -> Result<C, FileError>,
    mut row: impl FnMut(&Header, &C, &Fields, u64) -> Result<T, RowError>,
) -> Result<Parsed<T>, FileError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(crate::csv_io::LineTracking::new(input));
    let header = Header::read(&mut rdr, encoding)?;
    let cols = setup(&header)?;
    let mut out = Parsed::default();
    let mut rec = csv::ByteRecord::new();
    let mut line = 1u64;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                out.rows_read += 1;
                let at = match e.position() {
                    Some(p) => rdr.get_mut().line_at(p.byte()),
                    None => line + 1,
                };
                out.errors
                    .push(RowError::new(at, "", format!("unreadable row: {e}")));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        out.rows_read += 1;
        line = match rec.position() {
            Some(p) => rdr.get_mut().line_at(p.byte()),
            None => line + 1,
        };
        if rec.len() != header.names.len() {
            out.errors.push(RowError::new(
                line,
                "",
                format!(
                    "expected {} fields, found {}",
                    header.names.len(),
                    rec.len()
                ),
            ));
            continue;
        }
        let mut fields = Vec::with_capacity(rec.len());
        let mut bad = None;
        for (i, b) in rec.iter().enumerate() {
            match decode(b, encoding) {
                Some(s) => fields.push(s.trim().to_string()),
                None => {
                    bad = Some(i);
                    break;
                }
            }
        }
        if let Some(i) = bad {
            out.errors.push(RowError::new(
                line,
                header.name(i),
                "the bytes are not valid UTF-8",
            ));
            continue;
        }
        match row(&header, &cols, &Fields(fields), line) {
            Ok(t) => out.rows.push(t),
            Err(e) => out.errors.push(e),
        }
    }
    Ok(out)
}

struct Fields(Vec<String>);

impl Fields {
    fn get(&self, i: usize) -> &str {
        self.0.get(i).map(String::as_str).unwrap_or("")
    }
    fn opt(&self, i: Option<usize>) -> &str {
        i.map(|i| self.get(i)).unwrap_or("")
    }
}

/// The first five digits of a ZIP or ZIP+4 (`06106-1234` → `06106`; `6106` → `06106`, as
/// spreadsheets drop leading zeros). `None` when it is not a ZIP.
pub fn zip5(raw: &str) -> Option<String> {
    let digits: String = raw
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let rest = &raw.trim()[digits.len()..];
    if !(rest.is_empty() || rest.starts_with('-')) {
        return None;
    }
    match digits.len() {
        3..=5 => Some(format!("{digits:0>5}")),
        9 => Some(digits[..5].to_string()),
        6..=8 => Some(format!("{:0>9}", digits)[..5].to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// ZIP centroids

/// A ZIP (ZCTA) centroid.
#[derive(Debug, Clone, PartialEq)]
pub struct ZipCentroid {
    pub zip: String,
    pub point: Point,
}

/// Parses a ZCTA centroid file (`GEOID,LAT,LONG`, also `zip,lat,lon`).
pub fn parse_zip_centroids<R: Read>(
    input: R,
    encoding: Encoding,
) -> Result<Parsed<ZipCentroid>, FileError> {
    each_row(
        input,
        encoding,
        |h| {
            Ok((
                h.require(&["GEOID", "zip", "zcta", "zcta5"])?,
                h.require(&["LAT", "latitude", "INTPTLAT"])?,
                h.require(&["LONG", "lon", "lng", "longitude", "INTPTLONG"])?,
            ))
        },
        |h, cols, f, line| {
            let zip = zip5(f.get(cols.0))
                .filter(|_| f.get(cols.0).len() == 5)
                .ok_or_else(|| RowError::new(line, h.name(cols.0), "not a 5-digit ZIP"))?;
            let point = point(h, f, line, cols.1, cols.2)?;
            Ok(ZipCentroid { zip, point })
        },
    )
}

fn point(h: &Header, f: &Fields, line: u64, lat: usize, lon: usize) -> Result<Point, RowError> {
    let num = |i: usize| -> Result<f64, RowError> {
        f.get(i)
            .trim()
            .parse::<f64>()
            .map_err(|_| RowError::new(line, h.name(i), "not a number"))
    };
    let (la, lo) = (num(lat)?, num(lon)?);
    Point::new(la, lo).ok_or_else(|| {
        RowError::new(
            line,
            h.name(lat),
            "latitude must be within ±90 and longitude within ±180",
        )
    })
}

// ---------------------------------------------------------------------------------------------
// The capability map

/// Which capabilities taxonomy codes, hospital types and post-acute lists offer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapabilityMap {
    classification: HashMap<String, String>,
    specialization: HashMap<(String, String), String>,
    hospital_type: HashMap<String, Vec<String>>,
    hospital_emergency: Vec<String>,
    postacute: HashMap<PostacuteList, Vec<String>>,
}

/// The mapping shipped with Concord.
pub const SHIPPED_CAPABILITY_MAP_CSV: &str =
    include_str!("../../../../data/market/capability_map.csv");

fn key(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

impl CapabilityMap {
    /// The shipped mapping (checked by a test to parse and to name only catalogue capabilities).
    pub fn shipped() -> CapabilityMap {
        CapabilityMap::parse(SHIPPED_CAPABILITY_MAP_CSV).unwrap_or_default()
    }

    /// Parses `kind,value,capability` rows. Kinds: `nucc_classification` (value: a NUCC
    /// classification), `nucc_specialization` (`Classification|Specialization`, which wins over
    /// the classification), `hospital_type` (a CMS hospital type; several rows for several
    /// capabilities), `hospital_emergency` (`Yes`: what emergency services add), `postacute` (a
    /// list's wire name).
    pub fn parse(text: &str) -> Result<CapabilityMap, Vec<RowError>> {
        let mut map = CapabilityMap::default();
        let mut errors = Vec::new();
        let parsed = each_row(
            text.as_bytes(),
            Encoding::Utf8,
            |_| Ok(()),
            |_, _: &(), f, line| {
                Ok((
                    line,
                    f.get(0).to_string(),
                    f.get(1).to_string(),
                    f.get(2).to_string(),
                ))
            },
        )
        .map_err(|e| vec![RowError::new(1, "", e.0)])?;
        errors.extend(parsed.errors);
        for (line, kind, value, cap) in parsed.rows {
            if cap.is_empty() {
                errors.push(RowError::new(line, "capability", "is required"));
                continue;
            }
            match kind.as_str() {
                "nucc_classification" => {
                    map.classification.insert(key(&value), cap);
                }
                "nucc_specialization" => match value.split_once('|') {
                    Some((c, s)) => {
                        map.specialization.insert((key(c), key(s)), cap);
                    }
                    None => errors.push(RowError::new(
                        line,
                        "value",
                        "a specialization is written `Classification|Specialization`",
                    )),
                },
                "hospital_type" => map.hospital_type.entry(key(&value)).or_default().push(cap),
                "hospital_emergency" => {
                    if key(&value) == "yes" {
                        map.hospital_emergency.push(cap);
                    }
                }
                "postacute" => match value.parse::<PostacuteList>() {
                    Ok(l) => map.postacute.entry(l).or_default().push(cap),
                    Err(e) => errors.push(RowError::new(line, "value", e.to_string())),
                },
                other => errors.push(RowError::new(
                    line,
                    "kind",
                    format!("unknown kind `{other}`"),
                )),
            }
        }
        if errors.is_empty() {
            Ok(map)
        } else {
            Err(errors)
        }
    }

    /// Every capability code the map names (to check against the catalogue).
    pub fn capabilities(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .classification
            .values()
            .chain(self.specialization.values())
            .chain(self.hospital_type.values().flatten())
            .chain(self.hospital_emergency.iter())
            .chain(self.postacute.values().flatten())
            .map(String::as_str)
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The capability of a taxonomy code: its specialization's, else its classification's.
    pub fn taxonomy(&self, classification: &str, specialization: &str) -> Option<&str> {
        let c = key(classification);
        if !specialization.trim().is_empty() {
            if let Some(cap) = self.specialization.get(&(c.clone(), key(specialization))) {
                return Some(cap);
            }
        }
        self.classification.get(&c).map(String::as_str)
    }

    /// The capabilities of a hospital of this type (main one first, in the mapping's order), then
    /// emergency medicine when it has an emergency department.
    pub fn hospital(&self, hospital_type: &str, emergency: bool) -> Vec<String> {
        let mut caps: Vec<String> = self
            .hospital_type
            .get(&key(hospital_type))
            .cloned()
            .unwrap_or_default();
        if emergency {
            caps.extend(self.hospital_emergency.iter().cloned());
        }
        // The mapping's order is kept: the first capability is the hospital's main one, which
        // the scan ranks as its primary offer.
        let mut seen = std::collections::HashSet::new();
        caps.retain(|c| seen.insert(c.clone()));
        caps
    }

    /// The capabilities of the facilities on a post-acute list.
    pub fn postacute(&self, list: PostacuteList) -> Vec<String> {
        self.postacute.get(&list).cloned().unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// NUCC taxonomy

/// One NUCC taxonomy code with the capability it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxonomyCode {
    pub code: String,
    pub grouping: String,
    pub classification: String,
    pub specialization: String,
    pub display_name: String,
    pub capability: Option<String>,
}

/// Whether a string has the shape of a NUCC code: 10 characters, ending in `X`.
pub fn is_taxonomy_code(s: &str) -> bool {
    s.len() == 10 && s.bytes().all(|b| b.is_ascii_alphanumeric()) && s.ends_with('X')
}

/// Parses the NUCC taxonomy CSV (`Code,Grouping,Classification,Specialization,…,Display Name`).
pub fn parse_taxonomy<R: Read>(
    input: R,
    encoding: Encoding,
    map: &CapabilityMap,
) -> Result<Parsed<TaxonomyCode>, FileError> {
    // The line each code was first seen on: a later row with the same code is refused, naming
    // both lines.
    let mut first_seen: HashMap<String, u64> = HashMap::new();
    each_row(
        input,
        encoding,
        |h| {
            Ok((
                h.require(&["Code"])?,
                h.require(&["Grouping"])?,
                h.require(&["Classification"])?,
                h.require(&["Specialization"])?,
                h.find(&["Display Name"]),
            ))
        },
        |h, c, f, line| {
            let code = f.get(c.0).to_ascii_uppercase();
            if !is_taxonomy_code(&code) {
                return Err(RowError::new(
                    line,
                    h.name(c.0),
                    "a taxonomy code is 10 letters or digits ending in X",
                ));
            }
            let classification = f.get(c.2).to_string();
            if classification.is_empty() {
                return Err(RowError::new(line, h.name(c.2), "is required"));
            }
            let specialization = f.get(c.3).to_string();
            let display_name = match f.opt(c.4) {
                "" if specialization.is_empty() => classification.clone(),
                "" => format!("{classification}, {specialization}"),
                d => d.to_string(),
            };
            if let Some(first) = first_seen.get(&code) {
                return Err(RowError::new(
                    line,
                    h.name(c.0),
                    format!("{code} appears more than once (first on line {first})"),
                ));
            }
            first_seen.insert(code.clone(), line);
            Ok(TaxonomyCode {
                capability: map
                    .taxonomy(&classification, &specialization)
                    .map(str::to_string),
                code,
                grouping: f.get(c.1).to_string(),
                classification,
                specialization,
                display_name,
            })
        },
    )
}

// ---------------------------------------------------------------------------------------------
// CMS hospitals

/// A hospital from CMS Care Compare general information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hospital {
    /// The line the row starts on (for errors found later, such as a ZIP without a centroid).
    pub line: u64,
    pub ccn: String,
    pub name: String,
    pub address: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub county: String,
    pub hospital_type: String,
    pub ownership: String,
    pub emergency: bool,
    /// 1–5, `None` when CMS has none ("Not Available").
    pub star_rating: Option<i64>,
    pub capabilities: Vec<String>,
}

/// Parses CMS hospital general information.
pub fn parse_hospitals<R: Read>(
    input: R,
    encoding: Encoding,
    map: &CapabilityMap,
) -> Result<Parsed<Hospital>, FileError> {
    each_row(
        input,
        encoding,
        |h| {
            Ok([
                h.require(&["Facility ID", "CCN", "Provider ID"])?,
                h.require(&["Facility Name", "Hospital Name"])?,
                h.require(&["Address"])?,
                h.require(&["City/Town", "City"])?,
                h.require(&["State"])?,
                h.require(&["ZIP Code", "ZIP"])?,
                h.find(&["County/Parish", "County Name"])
                    .unwrap_or(usize::MAX),
                h.require(&["Hospital Type"])?,
                h.require(&["Hospital Ownership"])?,
                h.require(&["Emergency Services"])?,
                h.require(&["Hospital overall rating"])?,
            ])
        },
        |h, c, f, line| {
            let ccn = crate::organization::Ccn::parse(f.get(c[0]))
                .map_err(|m| RowError::new(line, h.name(c[0]), m))?;
            let name = f.get(c[1]).to_string();
            if name.is_empty() {
                return Err(RowError::new(line, h.name(c[1]), "is required"));
            }
            let zip = zip5(f.get(c[5]))
                .ok_or_else(|| RowError::new(line, h.name(c[5]), "not a ZIP code"))?;
            let emergency = match f.get(c[9]).to_ascii_lowercase().as_str() {
                "yes" | "y" | "true" => true,
                "no" | "n" | "false" | "" => false,
                _ => return Err(RowError::new(line, h.name(c[9]), "expected Yes or No")),
            };
            let star_rating = match f.get(c[10]) {
                "" | "Not Available" | "Not available" | "N/A" => None,
                s => match s.parse::<i64>() {
                    Ok(n @ 1..=5) => Some(n),
                    _ => {
                        return Err(RowError::new(
                            line,
                            h.name(c[10]),
                            "a star rating is 1 to 5 or Not Available",
                        ))
                    }
                },
            };
            let hospital_type = f.get(c[7]).to_string();
            Ok(Hospital {
                line,
                ccn: ccn.as_str().to_string(),
                name,
                address: f.get(c[2]).to_string(),
                city: f.get(c[3]).to_string(),
                state: f.get(c[4]).to_ascii_uppercase(),
                zip,
                county: if c[6] == usize::MAX {
                    String::new()
                } else {
                    f.get(c[6]).to_string()
                },
                capabilities: map.hospital(&hospital_type, emergency),
                hospital_type,
                ownership: f.get(c[8]).to_string(),
                emergency,
                star_rating,
            })
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Post-acute facilities

/// A facility from one of the post-acute lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    pub list: PostacuteList,
    /// The CCN (or the list's own id for urgent care and VA facilities).
    pub id: String,
    pub name: String,
    pub address: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub point: Point,
    pub beds: Option<i64>,
    pub ownership: String,
    /// The list's own type column when it has one (urgent care, VA), else the list's label.
    pub facility_type: String,
    pub capabilities: Vec<String>,
}

/// Parses one post-acute list (columns `id,name,address,city,state,zip,LAT,LON`, optionally
/// `beds`, `ownership`, `type`, `address2`; the unnamed index column is ignored).
pub fn parse_postacute<R: Read>(
    input: R,
    encoding: Encoding,
    list: PostacuteList,
    map: &CapabilityMap,
) -> Result<Parsed<Facility>, FileError> {
    let caps = map.postacute(list);
    each_row(
        input,
        encoding,
        |h| {
            let c = [
                h.require(&["id"])?,
                h.require(&["name"])?,
                h.require(&["address"])?,
                h.require(&["city"])?,
                h.require(&["state"])?,
                h.require(&["zip"])?,
                h.require(&["LAT", "latitude"])?,
                h.require(&["LON", "LONG", "longitude"])?,
            ];
            let opt = [
                h.find(&["beds"]),
                h.find(&["ownership"]),
                h.find(&["type"]),
                h.find(&["address2"]),
            ];
            Ok((c, opt))
        },
        |h, (c, opt), f, line| {
            let id = f.get(c[0]).to_string();
            if id.is_empty() {
                return Err(RowError::new(line, h.name(c[0]), "is required"));
            }
            let name = f.get(c[1]).to_string();
            if name.is_empty() {
                return Err(RowError::new(line, h.name(c[1]), "is required"));
            }
            let zip = zip5(f.get(c[5]))
                .ok_or_else(|| RowError::new(line, h.name(c[5]), "not a ZIP code"))?;
            let point = point(h, f, line, c[6], c[7])?;
            let beds = match f.opt(opt[0]) {
                "" => None,
                s => Some(
                    s.parse::<f64>()
                        .ok()
                        .filter(|b| b.is_finite() && *b >= 0.0 && *b < 100_000.0)
                        .map(|b| b.round() as i64)
                        .ok_or_else(|| {
                            RowError::new(line, "beds", "beds must be a non-negative number")
                        })?,
                ),
            };
            let mut address = f.get(c[2]).to_string();
            let second = f.opt(opt[3]);
            if !second.is_empty() {
                address = format!("{address}, {second}");
            }
            let facility_type = match f.opt(opt[2]) {
                "" => list.label().to_string(),
                t => t.to_string(),
            };
            Ok(Facility {
                list,
                id,
                name,
                address,
                city: f.get(c[3]).to_string(),
                state: f.get(c[4]).to_ascii_uppercase(),
                zip,
                point,
                beds,
                ownership: f.opt(opt[1]).to_string(),
                facility_type,
                capabilities: caps.clone(),
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip5_takes_the_first_five_digits() {
        assert_eq!(zip5("06106").as_deref(), Some("06106"));
        assert_eq!(zip5("061061234").as_deref(), Some("06106"));
        assert_eq!(zip5("06106-1234").as_deref(), Some("06106"));
        assert_eq!(zip5("6106").as_deref(), Some("06106"));
        assert_eq!(zip5("").as_deref(), None);
        assert_eq!(zip5("ABCDE").as_deref(), None);
        assert_eq!(zip5("1").as_deref(), None);
    }

    #[test]
    fn latin1_bytes_decode_under_auto_but_not_utf8() {
        let b = b"Jos\xe9";
        assert_eq!(decode(b, Encoding::Auto).unwrap(), "José");
        assert_eq!(decode(b, Encoding::Latin1).unwrap(), "José");
        assert!(decode(b, Encoding::Utf8).is_none());
        assert_eq!(decode("José".as_bytes(), Encoding::Auto).unwrap(), "José");
    }

    #[test]
    fn list_names_come_from_file_names() {
        assert_eq!(
            PostacuteList::from_file_name("data/home_health_agencies.csv"),
            Some(PostacuteList::HomeHealth)
        );
        assert_eq!(
            PostacuteList::from_file_name("urgent_care_facilities.csv"),
            Some(PostacuteList::UrgentCare)
        );
        assert_eq!(
            PostacuteList::from_file_name("va_facilities.csv"),
            Some(PostacuteList::Va)
        );
        assert_eq!(
            PostacuteList::from_file_name("nursing.csv"),
            Some(PostacuteList::Nursing)
        );
        assert_eq!(PostacuteList::from_file_name("other.csv"), None);
    }
}
