//! The capability catalogue: the service lines an organization can offer or seek, each with a
//! category and a level of the care continuum. Shipped as data (`data/capabilities.csv`), editable.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::text::clean;
use crate::ValidationErrors;

string_enum! {
    /// What sort of capability this is.
    pub enum CapabilityCategory {
        Clinical = "clinical" => "Clinical",
        Ancillary = "ancillary" => "Ancillary",
        Infrastructure = "infrastructure" => "Infrastructure",
        Community = "community" => "Community",
    }
}

string_enum! {
    /// Where on the care continuum a capability sits.
    pub enum ContinuumLevel {
        Community = "community" => "Community and prevention",
        Primary = "primary" => "Primary care",
        Specialty = "specialty" => "Specialty care",
        Acute = "acute" => "Acute care",
        PostAcute = "post_acute" => "Post-acute care",
        Home = "home" => "Home and community-based care",
        EndOfLife = "end_of_life" => "End of life",
        CrossContinuum = "cross_continuum" => "Across the continuum",
    }
}

/// A capability's code: a lowercase slug such as `primary_care` or `revenue_cycle`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct CapabilityCode(String);

impl CapabilityCode {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let s = s.trim();
        let ok = (2..=40).contains(&s.len())
            && s.as_bytes()[0].is_ascii_lowercase()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(CapabilityCode(s.to_string()))
        } else {
            Err("a capability code is 2-40 lowercase letters, digits or underscores, starting with a letter")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CapabilityCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A capability in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Capability {
    pub code: CapabilityCode,
    pub name: String,
    pub category: CapabilityCategory,
    pub continuum_level: ContinuumLevel,
    pub description: String,
}

/// What a client sends to add a capability or change one (the code is fixed once created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapabilityInput {
    pub code: String,
    pub name: String,
    pub category: CapabilityCategory,
    pub continuum_level: ContinuumLevel,
    #[serde(default)]
    pub description: String,
}

impl CapabilityInput {
    pub fn validate(&self) -> Result<Capability, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let code = match CapabilityCode::parse(&self.code) {
            Ok(c) => Some(c),
            Err(msg) => {
                e.add("code", "invalid_format", msg);
                None
            }
        };
        let name = clean(&mut e, "name", &self.name, 1, 100, false);
        let description = clean(&mut e, "description", &self.description, 0, 500, false);
        match code {
            Some(code) if e.is_empty() => Ok(Capability {
                code,
                name,
                category: self.category,
                continuum_level: self.continuum_level,
                description,
            }),
            _ => Err(e),
        }
    }
}

/// The catalogue shipped with Concord.
pub const SHIPPED_CATALOGUE_CSV: &str = include_str!("../../../data/capabilities.csv");

/// Parses a catalogue CSV (`code,name,category,continuum_level,description`), naming the line and
/// column of every problem. All or nothing.
pub fn parse_catalogue(csv_text: &str) -> Result<Vec<Capability>, Vec<crate::csv_io::RowError>> {
    use crate::csv_io::{CsvRows, RowError};
    let mut rows = CsvRows::new(
        csv_text.as_bytes(),
        &["code", "name", "category", "continuum_level"],
        &["description"],
    )?;
    let mut out: Vec<Capability> = Vec::new();
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
        let category = row.parse_enum::<CapabilityCategory>("category", &mut row_errors);
        let level = row.parse_enum::<ContinuumLevel>("continuum_level", &mut row_errors);
        if let (Some(category), Some(continuum_level)) = (category, level) {
            let input = CapabilityInput {
                code: row.get("code").to_string(),
                name: row.get("name").to_string(),
                category,
                continuum_level,
                description: row.get("description").to_string(),
            };
            match input.validate() {
                Ok(c) => {
                    if out.iter().any(|o| o.code == c.code) {
                        row_errors.push(RowError {
                            line: row.line,
                            column: "code".into(),
                            message: format!("`{}` appears twice", c.code),
                        });
                    }
                    out.push(c)
                }
                Err(e) => row_errors.extend(row.field_errors(e, |f| f.to_string())),
            }
        }
        errors.extend(row_errors);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalogue_parses_and_covers_the_brief() {
        let cat = parse_catalogue(SHIPPED_CATALOGUE_CSV).expect("shipped catalogue is valid");
        for code in [
            "primary_care",
            "dental",
            "podiatry",
            "vascular",
            "cardiology",
            "orthopedics",
            "oncology",
            "behavioral_health",
            "ambulatory_surgery",
            "imaging",
            "lab",
            "pharmacy",
            "home_health",
            "skilled_nursing",
            "hospice",
            "revenue_cycle",
            "supply_chain",
            "care_management",
            "housing",
            "transportation",
            "food_security",
        ] {
            assert!(
                cat.iter().any(|c| c.code.as_str() == code),
                "missing {code}"
            );
        }
        for category in CapabilityCategory::ALL {
            assert!(cat.iter().any(|c| c.category == *category));
        }
    }

    #[test]
    fn bad_catalogue_rows_are_named_by_line_and_column() {
        let csv = "code,name,category,continuum_level,description\nok_code,Fine,clinical,primary,x\nBad Code,Bad,clinical,primary,x\nthird,Third,magic,primary,x\n";
        let errs = parse_catalogue(csv).unwrap_err();
        assert_eq!(errs[0].line, 3);
        assert_eq!(errs[0].column, "code");
        assert_eq!(errs[1].line, 4);
        assert_eq!(errs[1].column, "category");
    }

    #[test]
    fn codes() {
        assert!(CapabilityCode::parse("revenue_cycle").is_ok());
        assert!(CapabilityCode::parse("Revenue").is_err());
        assert!(CapabilityCode::parse("1abc").is_err());
        assert!(CapabilityCode::parse("a").is_err());
    }
}
