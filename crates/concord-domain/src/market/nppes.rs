//! The NPPES `npidata_pfile` row parser and the practice aggregation.
//!
//! Columns are found by header name, so the 329-column 2018 form and the 330-column current form
//! both work. A row is parsed from a `csv::ByteRecord` (the file is streamed, never loaded) into
//! an [`NppesRow`]; a malformed row becomes a [`RowError`] naming its line and column. Individuals
//! (entity type 1) sharing a practice address (normalised first line + ZIP5) are aggregated into
//! practices by [`PracticeAggregator`], which keeps a compact record per address keyed by a 64-bit
//! hash, so memory stays bounded for the 9-million-row national file.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use chrono::NaiveDate;
use csv::ByteRecord;

use super::reference::{decode, zip5, Encoding, FileError, RowError};
use crate::organization::Npi;

/// How many taxonomy slots an NPPES row has.
pub const TAXONOMY_SLOTS: usize = 15;

/// Where the columns Concord reads are in this file's header.
#[derive(Debug, Clone)]
pub struct NppesColumns {
    names: Vec<String>,
    npi: usize,
    entity_type: usize,
    org_name: usize,
    last_name: usize,
    first_name: usize,
    credential: usize,
    line1: usize,
    line2: Option<usize>,
    city: usize,
    state: usize,
    postal: usize,
    enumerated: usize,
    deactivated: usize,
    reactivated: Option<usize>,
    /// (code, primary switch) per slot.
    taxonomy: Vec<(usize, Option<usize>)>,
}

impl NppesColumns {
    /// Finds the columns in the header record; a missing required column refuses the file.
    pub fn from_header(header: &ByteRecord) -> Result<NppesColumns, FileError> {
        let names: Vec<String> = header
            .iter()
            .map(|b| {
                decode(b, Encoding::Auto)
                    .map(|s| s.trim_start_matches('\u{feff}').trim().to_string())
                    .unwrap_or_default()
            })
            .collect();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            index.entry(n.to_ascii_lowercase()).or_insert(i);
        }
        let find = |n: &str| index.get(&n.to_ascii_lowercase()).copied();
        let req = |n: &str| {
            find(n).ok_or_else(|| {
                FileError(format!(
                    "line 1: the header has no column `{n}` (is this an NPPES npidata_pfile?)"
                ))
            })
        };
        let mut taxonomy = Vec::new();
        for i in 1..=TAXONOMY_SLOTS {
            if let Some(code) = find(&format!("Healthcare Provider Taxonomy Code_{i}")) {
                let switch = find(&format!("Healthcare Provider Primary Taxonomy Switch_{i}"));
                taxonomy.push((code, switch));
            }
        }
        if taxonomy.is_empty() {
            return Err(FileError(
                "line 1: the header has no column `Healthcare Provider Taxonomy Code_1`".into(),
            ));
        }
        Ok(NppesColumns {
            npi: req("NPI")?,
            entity_type: req("Entity Type Code")?,
            org_name: req("Provider Organization Name (Legal Business Name)")?,
            last_name: req("Provider Last Name (Legal Name)")?,
            first_name: req("Provider First Name")?,
            credential: req("Provider Credential Text")?,
            line1: req("Provider First Line Business Practice Location Address")?,
            line2: find("Provider Second Line Business Practice Location Address"),
            city: req("Provider Business Practice Location Address City Name")?,
            state: req("Provider Business Practice Location Address State Name")?,
            postal: req("Provider Business Practice Location Address Postal Code")?,
            enumerated: req("Provider Enumeration Date")?,
            deactivated: req("NPI Deactivation Date")?,
            reactivated: find("NPI Reactivation Date"),
            taxonomy,
            names,
        })
    }

    /// How many fields every row must have.
    pub fn width(&self) -> usize {
        self.names.len()
    }

    /// The header name of column `i`.
    pub fn name(&self, i: usize) -> &str {
        self.names.get(i).map(String::as_str).unwrap_or("")
    }

    /// The name of the practice-location ZIP column.
    pub fn zip_column(&self) -> &str {
        self.name(self.postal)
    }

    /// The name of the first taxonomy column.
    pub fn taxonomy_column(&self, slot: usize) -> &str {
        self.taxonomy
            .get(slot)
            .map(|(c, _)| self.name(*c))
            .unwrap_or("")
    }

    /// The indexes of every column a row is parsed from.
    pub fn used(&self) -> Vec<usize> {
        let mut v = vec![
            self.npi,
            self.entity_type,
            self.org_name,
            self.last_name,
            self.first_name,
            self.credential,
            self.line1,
            self.city,
            self.state,
            self.postal,
            self.enumerated,
            self.deactivated,
        ];
        v.extend(self.line2);
        v.extend(self.reactivated);
        for (c, s) in &self.taxonomy {
            v.push(*c);
            v.extend(*s);
        }
        v
    }
}

/// One NPPES provider as Concord keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NppesRow {
    pub npi: String,
    /// 1 individual, 2 organization, 0 a deactivated NPI whose record CMS has blanked.
    pub entity_type: u8,
    /// Organization legal name, or "First Last" for individuals.
    pub name: String,
    pub credential: String,
    /// Practice-location first line (and second, after a comma).
    pub address: String,
    /// The first line alone (what practices are grouped by).
    pub line1: String,
    pub city: String,
    pub state: String,
    /// The practice-location ZIP5 (empty only for a blanked deactivated record).
    pub zip: String,
    /// Taxonomy codes, the primary first.
    pub taxonomies: Vec<String>,
    /// The 0-based slot (column `…Taxonomy Code_{slot+1}`) each code came from.
    pub taxonomy_slots: [u8; TAXONOMY_SLOTS],
    pub enumerated_on: Option<NaiveDate>,
    pub deactivated_on: Option<NaiveDate>,
}

impl NppesRow {
    /// A deactivated NPI (kept, never a candidate).
    pub fn is_deactivated(&self) -> bool {
        self.deactivated_on.is_some()
    }

    /// Checks the row against the imported reference data: every taxonomy code is in the NUCC
    /// code set, and the ZIP has a centroid (not required for a deactivated NPI).
    pub fn check_references(
        &self,
        cols: &NppesColumns,
        line: u64,
        known_taxonomy: impl Fn(&str) -> bool,
        known_zip: impl Fn(&str) -> bool,
    ) -> Result<(), RowError> {
        for code in &self.taxonomies {
            if !known_taxonomy(code) {
                let i = self.taxonomies.iter().position(|c| c == code).unwrap_or(0);
                let slot = usize::from(self.taxonomy_slots[i.min(TAXONOMY_SLOTS - 1)]);
                return Err(RowError::new(
                    line,
                    cols.taxonomy_column(slot),
                    format!("taxonomy code {code} is not in the NUCC code set"),
                ));
            }
        }
        if !self.is_deactivated() && !known_zip(&self.zip) {
            return Err(RowError::new(
                line,
                cols.zip_column(),
                format!(
                    "ZIP {} has no centroid in the imported ZIP source",
                    self.zip
                ),
            ));
        }
        Ok(())
    }
}

/// Not a date NPPES writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadDate;

/// Parses an NPPES date (`MM/DD/YYYY`, also ISO `YYYY-MM-DD`). Empty → `Ok(None)`.
pub fn parse_date(s: &str) -> Result<Option<NaiveDate>, BadDate> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%m/%d/%Y")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .map(Some)
        .map_err(|_| BadDate)
}

/// Parses one data row. `line` is the line the record starts on (for the error).
pub fn parse_row(
    cols: &NppesColumns,
    rec: &ByteRecord,
    line: u64,
    encoding: Encoding,
) -> Result<NppesRow, RowError> {
    if rec.len() != cols.width() {
        return Err(RowError::new(
            line,
            "",
            format!(
                "expected {} fields, found {}{}",
                cols.width(),
                rec.len(),
                if rec.len() < cols.width() {
                    " (a truncated or broken row)"
                } else {
                    ""
                }
            ),
        ));
    }
    let field = |i: usize| -> Result<std::borrow::Cow<'_, str>, RowError> {
        let raw = rec.get(i).unwrap_or_default();
        match decode(raw, encoding) {
            Some(std::borrow::Cow::Borrowed(s)) => Ok(std::borrow::Cow::Borrowed(s.trim())),
            Some(std::borrow::Cow::Owned(s)) => Ok(std::borrow::Cow::Owned(s.trim().to_string())),
            None => Err(RowError::new(
                line,
                cols.name(i),
                "the bytes are not valid UTF-8 (use --encoding latin-1 or auto)",
            )),
        }
    };
    let npi_raw = field(cols.npi)?;
    let npi = Npi::parse(&npi_raw)
        .map_err(|e| RowError::new(line, cols.name(cols.npi), format!("{npi_raw:?}: {e}")))?;
    let date = |i: usize| -> Result<Option<NaiveDate>, RowError> {
        let s = field(i)?;
        parse_date(&s).map_err(|_| {
            RowError::new(
                line,
                cols.name(i),
                format!("{s:?} is not a date (MM/DD/YYYY)"),
            )
        })
    };
    let mut deactivated_on = date(cols.deactivated)?;
    if let (Some(d), Some(ri)) = (deactivated_on, cols.reactivated) {
        if let Some(r) = date(ri)? {
            if r >= d {
                deactivated_on = None;
            }
        }
    }
    let et = field(cols.entity_type)?;
    let entity_type = match &*et {
        "1" => 1u8,
        "2" => 2u8,
        "" if deactivated_on.is_some() => 0u8,
        other => {
            return Err(RowError::new(
                line,
                cols.name(cols.entity_type),
                format!("entity type {other:?} is neither 1 (individual) nor 2 (organization)"),
            ))
        }
    };
    let name = match entity_type {
        2 => field(cols.org_name)?.into_owned(),
        _ => {
            let first = field(cols.first_name)?;
            let last = field(cols.last_name)?;
            match (first.is_empty(), last.is_empty()) {
                (true, _) => last.into_owned(),
                (false, true) => first.into_owned(),
                _ => format!("{first} {last}"),
            }
        }
    };
    if name.is_empty() && entity_type != 0 {
        let col = if entity_type == 2 {
            cols.org_name
        } else {
            cols.last_name
        };
        return Err(RowError::new(line, cols.name(col), "the name is empty"));
    }
    let line1 = field(cols.line1)?.into_owned();
    let address = match cols.line2 {
        Some(i) => {
            let l2 = field(i)?;
            if l2.is_empty() {
                line1.clone()
            } else {
                format!("{line1}, {l2}")
            }
        }
        None => line1.clone(),
    };
    let postal = field(cols.postal)?;
    let zip = if entity_type == 0 && postal.is_empty() {
        String::new()
    } else {
        zip5(&postal).ok_or_else(|| {
            RowError::new(
                line,
                cols.name(cols.postal),
                format!("{postal:?} is not a ZIP code"),
            )
        })?
    };
    let mut taxonomies: Vec<String> = Vec::with_capacity(2);
    let mut taxonomy_slots = [0u8; TAXONOMY_SLOTS];
    let mut primary: Option<usize> = None;
    for (slot, (code_i, switch_i)) in cols.taxonomy.iter().enumerate() {
        let code = field(*code_i)?;
        if code.is_empty() {
            continue;
        }
        let is_primary = match switch_i {
            Some(s) => field(*s)?.eq_ignore_ascii_case("Y"),
            None => false,
        };
        let code = code.to_ascii_uppercase();
        if taxonomies.contains(&code) {
            continue;
        }
        if is_primary && primary.is_none() {
            primary = Some(taxonomies.len());
        }
        taxonomy_slots[taxonomies.len()] = slot as u8;
        taxonomies.push(code);
    }
    if let Some(p) = primary {
        let code = taxonomies.remove(p);
        taxonomies.insert(0, code);
        taxonomy_slots[..=p].rotate_right(1);
    }
    Ok(NppesRow {
        npi: npi.as_str().to_string(),
        entity_type,
        name,
        credential: field(cols.credential)?.into_owned(),
        address,
        line1,
        city: field(cols.city)?.into_owned(),
        state: field(cols.state)?.to_ascii_uppercase(),
        zip,
        taxonomies,
        taxonomy_slots,
        enumerated_on: date(cols.enumerated)?,
        deactivated_on,
    })
}

/// The practice key of an address: the first line upper-cased with punctuation dropped and
/// spaces collapsed, then `|` and the ZIP5 (`"100 Main St., Suite 2"`, `06106` →
/// `"100 MAIN ST SUITE 2|06106"`). Stable across imports: it is the practice candidate's `ref`.
pub fn practice_key(line1: &str, zip5: &str) -> String {
    let mut out = String::with_capacity(line1.len() + 6);
    let mut space = false;
    for c in line1.chars() {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_uppercase());
        } else {
            space = true;
        }
    }
    out.push('|');
    out.push_str(zip5);
    out
}

/// A 64-bit hash of a key (FNV-1a, then a mixing step): stable across runs and builds.
pub fn key_hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // splitmix64 finaliser: spreads FNV's weak high bits.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A hasher for keys that already are good hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

const TOP_SLOTS: usize = 4;

/// The compact running record of one practice address.
#[derive(Debug, Clone)]
struct Agg {
    /// Offset and length in the arena of "key\x1faddress\x1fcity\x1fstate".
    text: (u64, u32),
    providers: u32,
    capabilities: u64,
    /// (taxonomy index, count) of the most common primary taxonomies seen.
    top: [(u16, u16); TOP_SLOTS],
}

/// One practice: individuals sharing a practice address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Practice {
    pub key: String,
    pub address: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub providers: u32,
    /// Taxonomy indexes (as given to [`PracticeAggregator::add`]), most common first.
    pub taxonomies: Vec<u16>,
    /// Capability bit set (bit i = capability index i).
    pub capabilities: u64,
}

/// Groups individuals by practice address in bounded memory: per address a fixed-size record in
/// a hash map keyed by [`key_hash`] and its text once in an arena.
#[derive(Default)]
pub struct PracticeAggregator {
    map: HashMap<u64, Agg, BuildHasherDefault<PassThrough>>,
    arena: Vec<u8>,
}

/// Not a taxonomy (a provider without a known primary taxonomy).
pub const NO_TAXONOMY: u16 = u16::MAX;

impl PracticeAggregator {
    /// An aggregator sized for about `addresses` practices.
    pub fn with_capacity(addresses: usize) -> Self {
        PracticeAggregator {
            map: HashMap::with_capacity_and_hasher(addresses, BuildHasherDefault::default()),
            arena: Vec::with_capacity(addresses.saturating_mul(40)),
        }
    }

    /// Counts one individual at `row`'s address: `primary` is the index of its primary taxonomy
    /// (or [`NO_TAXONOMY`]), `capabilities` the bit set of every capability its taxonomies map to.
    pub fn add(&mut self, row: &NppesRow, primary: u16, capabilities: u64) {
        let key = practice_key(&row.line1, &row.zip);
        let h = key_hash(&key);
        let arena = &mut self.arena;
        let agg = self.map.entry(h).or_insert_with(|| {
            let start = arena.len() as u64;
            for (i, part) in [key.as_str(), &row.address, &row.city, &row.state]
                .iter()
                .enumerate()
            {
                if i > 0 {
                    arena.push(0x1f);
                }
                arena.extend_from_slice(part.as_bytes());
            }
            Agg {
                text: (start, (arena.len() as u64 - start) as u32),
                providers: 0,
                capabilities: 0,
                top: [(NO_TAXONOMY, 0); TOP_SLOTS],
            }
        });
        agg.providers = agg.providers.saturating_add(1);
        agg.capabilities |= capabilities;
        if primary != NO_TAXONOMY {
            if let Some(slot) = agg.top.iter_mut().find(|(t, _)| *t == primary) {
                slot.1 = slot.1.saturating_add(1);
            } else if let Some(slot) = agg.top.iter_mut().find(|(t, _)| *t == NO_TAXONOMY) {
                *slot = (primary, 1);
            } else if let Some(slot) = agg.top.iter_mut().min_by_key(|(_, n)| *n) {
                // Space-saving: the least counted is replaced and its count inherited, so a
                // frequent code is never lost.
                *slot = (primary, slot.1.saturating_add(1));
            }
        }
    }

    /// How many practices so far.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes held (approximately), for the memory report.
    pub fn memory_bytes(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<(u64, Agg)>() + 1) + self.arena.capacity()
    }

    /// Every practice, in no particular order.
    pub fn into_practices(self) -> impl Iterator<Item = Practice> {
        let arena = self.arena;
        self.map.into_values().map(move |agg| {
            let (start, len) = agg.text;
            let text =
                String::from_utf8_lossy(&arena[start as usize..start as usize + len as usize])
                    .into_owned();
            let mut parts = text.split('\u{1f}');
            let key = parts.next().unwrap_or_default().to_string();
            let address = parts.next().unwrap_or_default().to_string();
            let city = parts.next().unwrap_or_default().to_string();
            let state = parts.next().unwrap_or_default().to_string();
            let zip = key.rsplit('|').next().unwrap_or_default().to_string();
            let mut top: Vec<(u16, u16)> = agg
                .top
                .iter()
                .copied()
                .filter(|(t, _)| *t != NO_TAXONOMY)
                .collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            Practice {
                key,
                address,
                city,
                state,
                zip,
                providers: agg.providers,
                taxonomies: top.into_iter().map(|(t, _)| t).collect(),
                capabilities: agg.capabilities,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn practice_keys_ignore_case_punctuation_and_spacing() {
        assert_eq!(
            practice_key("100 Main St., Suite 2", "06106"),
            "100 MAIN ST SUITE 2|06106"
        );
        assert_eq!(
            practice_key("  100  MAIN ST SUITE #2 ", "06106"),
            "100 MAIN ST SUITE 2|06106"
        );
        assert_ne!(
            practice_key("100 Main St", "06106"),
            practice_key("100 Main St", "06107")
        );
    }

    #[test]
    fn dates_are_us_or_iso() {
        assert_eq!(
            parse_date("05/23/2005").unwrap(),
            NaiveDate::from_ymd_opt(2005, 5, 23)
        );
        assert_eq!(
            parse_date("2005-05-23").unwrap(),
            NaiveDate::from_ymd_opt(2005, 5, 23)
        );
        assert_eq!(parse_date("").unwrap(), None);
        assert!(parse_date("13/45/2005").is_err());
    }
}
