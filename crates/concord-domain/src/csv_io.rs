//! CSV in and out: a small reader that names the line and column of every problem, and the
//! organization CSV format used by `concord import organizations` / `concord export organizations`.
//!
//! Imports are all or nothing: every row is checked and every problem reported before anything is
//! written.

use std::io::Read;

use serde::Serialize;

use crate::organization::OrgKind;
use crate::organization::{
    Address, BusinessModel, OrganizationInput, OrganizationProfile, PayerClass, PayerShare, Size,
};
use crate::ValidationErrors;

/// One problem in a CSV file: the line (1 is the header) and the column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// A reader that notes where lines end, so the line a CSV record starts on can be told exactly.
///
/// The csv crate reports a record's position as where the reader stood when it began the record,
/// before skipping the `\n` of a CRLF line end or a blank line: every record of a CRLF file (what
/// spreadsheets save) would be reported one line early. [`LineTracking::line_at`] skips those
/// line ends and counts every `\n` before the record, quoted ones included.
pub struct LineTracking<R> {
    inner: R,
    read: u64,
    /// Offsets of the `\r` and `\n` bytes read but not yet behind the last record asked about.
    ends: std::collections::VecDeque<(u64, u8)>,
    /// `\n` bytes already behind it.
    lines: u64,
}

impl<R> LineTracking<R> {
    pub fn new(inner: R) -> Self {
        LineTracking {
            inner,
            read: 0,
            ends: std::collections::VecDeque::new(),
            lines: 0,
        }
    }

    /// The 1-based line of a record whose position is `byte`. Asked in increasing order of `byte`.
    pub fn line_at(&mut self, byte: u64) -> u64 {
        while let Some(&(_, b)) = self.ends.front().filter(|&&(at, _)| at < byte) {
            self.lines += u64::from(b == b'\n');
            self.ends.pop_front();
        }
        // Line ends right at the record's start were skipped by the reader (a CRLF's `\n`, blank
        // lines): the record starts after them.
        let skipped = self
            .ends
            .iter()
            .zip(byte..)
            .take_while(|&(&(at, _), next)| at == next)
            .filter(|(&(_, b), _)| b == b'\n')
            .count() as u64;
        self.lines + skipped + 1
    }
}

impl<R: Read> Read for LineTracking<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                self.ends.push_back((self.read + i as u64, b));
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// Reads a CSV with a header row, checking the header against the required and optional columns.
pub struct CsvRows<R: Read> {
    headers: Vec<String>,
    reader: csv::Reader<LineTracking<R>>,
    record: csv::StringRecord,
}

/// One data row, with its line number.
pub struct CsvRow<'a> {
    pub line: u64,
    headers: &'a [String],
    record: &'a csv::StringRecord,
}

impl<R: Read> CsvRows<R> {
    /// Opens the CSV and checks its header: every required column present, no unknown column,
    /// no column twice.
    pub fn new(input: R, required: &[&str], optional: &[&str]) -> Result<Self, Vec<RowError>> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(LineTracking::new(input));
        let headers: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
            Err(e) => {
                return Err(vec![RowError {
                    line: 1,
                    column: "(header)".into(),
                    message: format!("cannot read the header row: {e}"),
                }])
            }
        };
        let mut errors = Vec::new();
        for r in required {
            if !headers.iter().any(|h| h == r) {
                errors.push(RowError {
                    line: 1,
                    column: (*r).to_string(),
                    message: "required column is missing".into(),
                });
            }
        }
        for (i, h) in headers.iter().enumerate() {
            if !required.contains(&h.as_str()) && !optional.contains(&h.as_str()) {
                errors.push(RowError {
                    line: 1,
                    column: if h.is_empty() {
                        format!("(column {})", i + 1)
                    } else {
                        h.clone()
                    },
                    message: format!(
                        "unknown column; expected: {}",
                        required
                            .iter()
                            .chain(optional.iter())
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            } else if headers[..i].contains(h) {
                errors.push(RowError {
                    line: 1,
                    column: h.clone(),
                    message: "column appears twice".into(),
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            headers,
            reader,
            record: csv::StringRecord::new(),
        })
    }

    /// The next row, or an error naming its line when it cannot be read (bad quoting, wrong
    /// number of fields, invalid UTF-8).
    pub fn next_row(&mut self) -> Option<Result<CsvRow<'_>, RowError>> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let byte = self.record.position().map_or(0, |p| p.byte());
                let line = self.reader.get_mut().line_at(byte);
                Some(Ok(CsvRow {
                    line,
                    headers: &self.headers,
                    record: &self.record,
                }))
            }
            Err(e) => {
                let line = match e.position() {
                    Some(p) => self.reader.get_mut().line_at(p.byte()),
                    None => self.reader.position().line().max(1),
                };
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("has {len} fields; the header has {expected_len}"),
                    csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_string(),
                    _ => format!("cannot be read: {e}"),
                };
                // A read error can leave the reader unable to continue; report it once.
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    self.record.clear();
                }
                Some(Err(RowError {
                    line,
                    column: "(row)".into(),
                    message,
                }))
            }
        }
    }
}

impl CsvRow<'_> {
    /// The trimmed value of `column`, or "" when the file has no such column.
    pub fn get(&self, column: &str) -> &str {
        self.headers
            .iter()
            .position(|h| h == column)
            .and_then(|i| self.record.get(i))
            .unwrap_or("")
    }

    fn opt(&self, column: &str) -> Option<String> {
        let v = self.get(column);
        (!v.is_empty()).then(|| v.to_string())
    }

    fn list(&self, column: &str) -> Vec<String> {
        split_list(self.get(column))
    }

    /// Parses an enum column, recording an error naming the column when it is not a known value.
    pub fn parse_enum<T: std::str::FromStr<Err = crate::UnknownValue>>(
        &self,
        column: &str,
        errors: &mut Vec<RowError>,
    ) -> Option<T> {
        let v = self.get(column);
        if v.is_empty() {
            errors.push(self.error(column, "must not be empty"));
            return None;
        }
        match v.parse() {
            Ok(x) => Some(x),
            Err(e) => {
                errors.push(self.error(column, &e.to_string()));
                None
            }
        }
    }

    fn parse_num<T: std::str::FromStr>(
        &self,
        column: &str,
        what: &str,
        errors: &mut Vec<RowError>,
    ) -> Option<T> {
        let v = self.get(column);
        if v.is_empty() {
            return None;
        }
        match v.replace(',', "").parse() {
            Ok(x) => Some(x),
            Err(_) => {
                errors.push(self.error(column, &format!("`{v}` is not {what}")));
                None
            }
        }
    }

    fn error(&self, column: &str, message: &str) -> RowError {
        RowError {
            line: self.line,
            column: column.to_string(),
            message: message.to_string(),
        }
    }

    /// Turns validation errors on this row into row errors, mapping each field to its column.
    pub fn field_errors(
        &self,
        errors: ValidationErrors,
        to_column: impl Fn(&str) -> String,
    ) -> Vec<RowError> {
        errors
            .into_errors()
            .into_iter()
            .map(|fe| RowError {
                line: self.line,
                column: to_column(&fe.field),
                message: fe.message,
            })
            .collect()
    }
}

/// Lists inside one CSV cell are separated by semicolons.
pub fn split_list(v: &str) -> Vec<String> {
    v.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The columns of the organization CSV, in export order.
pub const ORG_COLUMNS: &[&str] = &[
    "name",
    "kind",
    "npi",
    "ccn",
    "address_line1",
    "city",
    "state",
    "zip",
    "latitude",
    "longitude",
    "providers",
    "beds",
    "covered_lives",
    "revenue_band",
    "mission",
    "values",
    "capabilities_offered",
    "capabilities_sought",
    "revenue_model",
    "payer_mix",
    "decision_making",
    "enterprise_objectives",
    "constraints",
];

/// Maps a validation field path to the organization CSV column it came from.
fn org_field_column(field: &str) -> String {
    let base = field.split('[').next().unwrap_or(field);
    let col = match base {
        "address.line1" => "address_line1",
        "address.city" => "city",
        "address.state" => "state",
        "address.zip" => "zip",
        "address.latitude" => "latitude",
        "address.longitude" => "longitude",
        "size.providers" => "providers",
        "size.beds" => "beds",
        "size.covered_lives" => "covered_lives",
        "size.revenue_band" => "revenue_band",
        "business_model.revenue_model" => "revenue_model",
        "business_model.decision_making" => "decision_making",
        "business_model.enterprise_objectives" => "enterprise_objectives",
        "business_model.constraints" => "constraints",
        b if b.starts_with("business_model.payer_mix") => "payer_mix",
        other => other,
    };
    col.to_string()
}

/// One organization read from a CSV row, with the line it came from.
#[derive(Debug, Clone)]
pub struct OrgRow {
    pub line: u64,
    pub profile: OrganizationProfile,
}

/// Parses an organization CSV. Every row is checked; any problem rejects the whole file, with
/// every problem listed by line and column. Names appearing twice in the file are refused.
pub fn parse_organizations<R: Read>(input: R) -> Result<Vec<OrgRow>, Vec<RowError>> {
    let mut rows = CsvRows::new(input, &["name", "kind"], &ORG_COLUMNS[2..])?;
    let mut out: Vec<OrgRow> = Vec::new();
    let mut errors = Vec::new();
    while let Some(row) = rows.next_row() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let mut row_errors = Vec::new();
        let kind = row.parse_enum::<OrgKind>("kind", &mut row_errors);
        let revenue_band = match row.get("revenue_band") {
            "" => None,
            _ => row.parse_enum("revenue_band", &mut row_errors),
        };
        let revenue_model = match row.get("revenue_model") {
            "" => None,
            _ => row.parse_enum("revenue_model", &mut row_errors),
        };
        let payer_mix = parse_payer_mix(row.get("payer_mix")).unwrap_or_else(|msg| {
            row_errors.push(row.error("payer_mix", &msg));
            Vec::new()
        });
        let input = OrganizationInput {
            name: row.get("name").to_string(),
            kind: kind.unwrap_or(OrgKind::Other),
            npi: row.opt("npi"),
            ccn: row.opt("ccn"),
            address: Address {
                line1: row.opt("address_line1"),
                city: row.opt("city"),
                state: row.opt("state"),
                zip: row.opt("zip"),
                latitude: row.parse_num("latitude", "a number", &mut row_errors),
                longitude: row.parse_num("longitude", "a number", &mut row_errors),
            },
            size: Size {
                providers: row.parse_num("providers", "a whole number", &mut row_errors),
                beds: row.parse_num("beds", "a whole number", &mut row_errors),
                covered_lives: row.parse_num("covered_lives", "a whole number", &mut row_errors),
                revenue_band,
            },
            mission: row.opt("mission"),
            values: row.list("values"),
            capabilities_offered: row.list("capabilities_offered"),
            capabilities_sought: row.list("capabilities_sought"),
            business_model: BusinessModel {
                revenue_model,
                payer_mix,
                decision_making: row.opt("decision_making"),
                enterprise_objectives: row.list("enterprise_objectives"),
                constraints: row.list("constraints"),
            },
        };
        match input.validate() {
            Ok(profile) if row_errors.is_empty() => {
                let key = crate::text::name_key(&profile.name);
                if let Some(first) = out
                    .iter()
                    .find(|o| crate::text::name_key(&o.profile.name) == key)
                {
                    errors.push(row.error(
                        "name",
                        &format!("`{}` already appears on line {}", profile.name, first.line),
                    ));
                }
                out.push(OrgRow {
                    line: row.line,
                    profile,
                });
            }
            Ok(_) => {}
            Err(e) => row_errors.extend(row.field_errors(e, org_field_column)),
        }
        errors.extend(row_errors);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// `medicare:40; commercial:35; medicaid:25`
fn parse_payer_mix(v: &str) -> Result<Vec<PayerShare>, String> {
    split_list(v)
        .into_iter()
        .map(|part| {
            let (payer, share) = part
                .split_once(':')
                .ok_or_else(|| format!("`{part}` should look like medicare:40"))?;
            let payer: PayerClass = payer.trim().parse().map_err(|e| format!("{e}"))?;
            let share_pct: f64 = share
                .trim()
                .trim_end_matches('%')
                .parse()
                .map_err(|_| format!("`{}` is not a number", share.trim()))?;
            Ok(PayerShare { payer, share_pct })
        })
        .collect()
}

/// Writes organizations as CSV in [`ORG_COLUMNS`] order; the output imports back unchanged.
pub fn write_organizations<W: std::io::Write>(
    out: W,
    profiles: &[OrganizationProfile],
) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(ORG_COLUMNS)?;
    let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let int = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
    for p in profiles {
        let payer_mix = p
            .business_model
            .payer_mix
            .iter()
            .map(|s| format!("{}:{}", s.payer.as_str(), s.share_pct))
            .collect::<Vec<_>>()
            .join(";");
        let codes = |c: &[crate::capability::CapabilityCode]| {
            c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(";")
        };
        w.write_record([
            p.name.as_str(),
            p.kind.as_str(),
            p.npi.as_ref().map_or("", |n| n.as_str()),
            p.ccn.as_ref().map_or("", |c| c.as_str()),
            p.address.line1.as_deref().unwrap_or(""),
            p.address.city.as_deref().unwrap_or(""),
            p.address.state.as_deref().unwrap_or(""),
            p.address.zip.as_deref().unwrap_or(""),
            &num(p.address.latitude),
            &num(p.address.longitude),
            &int(p.size.providers.map(u64::from)),
            &int(p.size.beds.map(u64::from)),
            &int(p.size.covered_lives),
            p.size.revenue_band.map_or("", |b| b.as_str()),
            p.mission.as_deref().unwrap_or(""),
            &p.values.join(";"),
            &codes(&p.capabilities_offered),
            &codes(&p.capabilities_sought),
            p.business_model.revenue_model.map_or("", |m| m.as_str()),
            &payer_mix,
            p.business_model.decision_making.as_deref().unwrap_or(""),
            &p.business_model.enterprise_objectives.join(";"),
            &p.business_model.constraints.join(";"),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "name,kind,npi,zip,city,state,latitude,longitude,providers,payer_mix,capabilities_offered\n\
Shoreline Primary Care,physician_group,1234567893,06510,New Haven,CT,41.3,-72.9,42,medicare:50;commercial:50,primary_care;care_management\n\
\"Bright Smiles Dental, LLC\",dental_group,,02903,Providence,RI,,,12,,dental\n";

    #[test]
    fn good_file_parses() {
        let rows = parse_organizations(GOOD.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].profile.name, "Bright Smiles Dental, LLC");
        assert_eq!(rows[0].profile.business_model.payer_mix.len(), 2);
        assert_eq!(rows[1].line, 3);
    }

    #[test]
    fn every_bad_row_is_named_by_line_and_column() {
        let csv = "name,kind,npi,zip,providers\n\
Good One,hospital,,06510,10\n\
,hospital,,06510,\n\
Bad Npi,hospital,1234567890,06510,\n\
Bad Kind,hospitl,,065,ten\n\
good one,hospital,,,\n";
        let errs = parse_organizations(csv.as_bytes()).unwrap_err();
        let got: Vec<(u64, &str)> = errs.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (3, "name"),
                (4, "npi"),
                (5, "kind"),
                (5, "providers"),
                (5, "zip"),
                (6, "name"),
            ]
        );
        assert!(errs[5].message.contains("line 2"));
    }

    #[test]
    fn unknown_and_missing_columns_are_named() {
        let errs = parse_organizations("nme,kind,colour\nx,hospital,red\n".as_bytes()).unwrap_err();
        let cols: Vec<_> = errs.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(cols, vec!["name", "nme", "colour"]);
        assert!(errs.iter().all(|e| e.line == 1));
    }

    #[test]
    fn ragged_row_is_named() {
        let errs = parse_organizations("name,kind\nA,hospital,extra\n".as_bytes()).unwrap_err();
        assert_eq!(errs[0].line, 2);
        assert!(errs[0].message.contains("3 fields"));
    }

    #[test]
    fn export_imports_back_unchanged() {
        let rows = parse_organizations(GOOD.as_bytes()).unwrap();
        let profiles: Vec<_> = rows.into_iter().map(|r| r.profile).collect();
        let mut buf = Vec::new();
        write_organizations(&mut buf, &profiles).unwrap();
        let again: Vec<_> = parse_organizations(buf.as_slice())
            .unwrap()
            .into_iter()
            .map(|r| r.profile)
            .collect();
        assert_eq!(again, profiles);
    }
}
