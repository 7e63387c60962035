//! Organizations: who they are, where they are, how big, what they offer and seek, and the
//! business-model profile a partner reads before the first meeting.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::capability::CapabilityCode;
use crate::text::{clean, clean_list, clean_opt};
use crate::{OrgId, ValidationErrors};

string_enum! {
    /// What kind of organization this is.
    pub enum OrgKind {
        HealthSystem = "health_system" => "Health system",
        Hospital = "hospital" => "Hospital",
        PhysicianGroup = "physician_group" => "Physician group",
        DentalGroup = "dental_group" => "Dental group",
        SpecialtyPractice = "specialty_practice" => "Specialty practice",
        Mso = "mso" => "Management services organization",
        Payer = "payer" => "Payer / health plan",
        PostAcute = "post_acute" => "Post-acute provider",
        HomeHealth = "home_health" => "Home health agency",
        BehavioralHealth = "behavioral_health" => "Behavioral health provider",
        Pharmacy = "pharmacy" => "Pharmacy",
        LabImaging = "lab_imaging" => "Lab / imaging",
        ServiceCompany = "service_company" => "Service company",
        CommunityOrg = "community_org" => "Community organization",
        PublicHealth = "public_health" => "Public health department",
        Employer = "employer" => "Employer",
        Other = "other" => "Other",
    }
}

string_enum! {
    /// Annual revenue, in bands (exact revenue is rarely shared before a deal).
    pub enum RevenueBand {
        Under10m = "under_10m" => "Under $10M",
        From10mTo50m = "10m_to_50m" => "$10M–$50M",
        From50mTo250m = "50m_to_250m" => "$50M–$250M",
        From250mTo1b = "250m_to_1b" => "$250M–$1B",
        Over1b = "over_1b" => "Over $1B",
    }
}

string_enum! {
    /// How the organization mainly earns its money.
    pub enum RevenueModel {
        FeeForService = "fee_for_service" => "Fee for service",
        ValueBased = "value_based" => "Value-based contracts",
        Capitation = "capitation" => "Capitation",
        Premiums = "premiums" => "Premiums",
        ServiceFees = "service_fees" => "Service fees",
        Grants = "grants" => "Grants and philanthropy",
        Mixed = "mixed" => "Mixed",
    }
}

string_enum! {
    /// A class of payer in a payer mix.
    pub enum PayerClass {
        Commercial = "commercial" => "Commercial",
        Medicare = "medicare" => "Medicare",
        MedicareAdvantage = "medicare_advantage" => "Medicare Advantage",
        Medicaid = "medicaid" => "Medicaid",
        SelfPay = "self_pay" => "Self-pay",
        OtherGovernment = "other_government" => "Other government",
        Other = "other" => "Other",
    }
}

/// A validated National Provider Identifier: 10 digits whose last digit is the Luhn check digit
/// computed over the 80840 card-issuer prefix and the first nine digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Npi(String);

/// Why a string is not an NPI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpiError {
    #[error("an NPI is exactly 10 digits")]
    Format,
    #[error("the NPI check digit does not match (expected {expected})")]
    CheckDigit { expected: u8 },
}

impl Npi {
    pub fn parse(s: &str) -> Result<Self, NpiError> {
        let s = s.trim();
        if s.len() != 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NpiError::Format);
        }
        let expected = npi_check_digit(&s[..9]);
        if s.as_bytes()[9] - b'0' != expected {
            return Err(NpiError::CheckDigit { expected });
        }
        Ok(Npi(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The NPI check digit for nine leading digits: Luhn over "80840" followed by those digits.
pub fn npi_check_digit(first_nine: &str) -> u8 {
    let payload = format!("80840{first_nine}");
    // Luhn: double every second digit starting from the rightmost digit of the payload.
    let mut sum = 0u32;
    for (i, b) in payload.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    ((10 - (sum % 10)) % 10) as u8
}

/// A CMS Certification Number: six characters, a two-digit state code and four letters or digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Ccn(String);

impl Ccn {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() == 6
            && b[..2].iter().all(u8::is_ascii_digit)
            && b[2..].iter().all(u8::is_ascii_alphanumeric)
        {
            Ok(Ccn(s))
        } else {
            Err("a CCN is 6 characters: a 2-digit state code and 4 letters or digits")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// US states, DC and territories (USPS codes).
pub const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP",
];

/// Where an organization is. Latitude and longitude come together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default)]
    pub line1: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    /// Two-letter USPS state code.
    #[serde(default)]
    pub state: Option<String>,
    /// Five-digit ZIP or ZIP+4.
    #[serde(default)]
    pub zip: Option<String>,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

impl Address {
    fn validate(&self, e: &mut ValidationErrors) -> Address {
        let line1 = clean_opt(e, "address.line1", self.line1.as_deref(), 200);
        let city = clean_opt(e, "address.city", self.city.as_deref(), 100);
        let state = self
            .state
            .as_deref()
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty());
        if let Some(s) = &state {
            if !US_STATES.contains(&s.as_str()) {
                e.add(
                    "address.state",
                    "invalid_state",
                    "must be a two-letter US state code such as CT",
                );
            }
        }
        let zip = self.zip.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if let Some(z) = zip {
            if !is_zip(z) {
                e.add(
                    "address.zip",
                    "invalid_zip",
                    "must be a 5-digit ZIP or ZIP+4 such as 06510 or 06510-1234",
                );
            }
        }
        match (self.latitude, self.longitude) {
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) {
                    e.add(
                        "address.latitude",
                        "out_of_range",
                        "must be between -90 and 90",
                    );
                }
                if !(-180.0..=180.0).contains(&lon) {
                    e.add(
                        "address.longitude",
                        "out_of_range",
                        "must be between -180 and 180",
                    );
                }
            }
            (Some(_), None) => e.add(
                "address.longitude",
                "required",
                "latitude and longitude come together",
            ),
            (None, Some(_)) => e.add(
                "address.latitude",
                "required",
                "latitude and longitude come together",
            ),
            (None, None) => {}
        }
        Address {
            line1,
            city,
            state,
            zip: zip.map(str::to_string),
            latitude: self.latitude,
            longitude: self.longitude,
        }
    }

    /// "City, ST ZIP" for display, skipping what is missing.
    pub fn locality(&self) -> String {
        let mut s = String::new();
        if let Some(c) = &self.city {
            s.push_str(c);
        }
        if let Some(st) = &self.state {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str(st);
        }
        if let Some(z) = &self.zip {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(z);
        }
        s
    }
}

fn is_zip(z: &str) -> bool {
    let b = z.as_bytes();
    (b.len() == 5 && b.iter().all(u8::is_ascii_digit))
        || (b.len() == 10
            && b[..5].iter().all(u8::is_ascii_digit)
            && b[5] == b'-'
            && b[6..].iter().all(u8::is_ascii_digit))
}

/// Size indicators; each is optional because organizations disclose different things.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Size {
    /// Clinicians (physicians, dentists, advanced practitioners).
    #[serde(default)]
    pub providers: Option<u32>,
    /// Staffed beds.
    #[serde(default)]
    pub beds: Option<u32>,
    /// Covered lives (payers, risk-bearing groups).
    #[serde(default)]
    pub covered_lives: Option<u64>,
    #[serde(default)]
    pub revenue_band: Option<RevenueBand>,
}

/// One payer's share of revenue, in percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayerShare {
    pub payer: PayerClass,
    pub share_pct: f64,
}

/// The partner's "cheat sheet": how the organization earns money, its payer mix, how it decides,
/// what it is trying to achieve and what constrains it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessModel {
    #[serde(default)]
    pub revenue_model: Option<RevenueModel>,
    /// Shares must add up to 100 when any are given; each payer at most once.
    #[serde(default)]
    pub payer_mix: Vec<PayerShare>,
    /// How decisions are made (who decides, how long it takes).
    #[serde(default)]
    pub decision_making: Option<String>,
    #[serde(default)]
    pub enterprise_objectives: Vec<String>,
    #[serde(default)]
    pub constraints: Vec<String>,
}

impl BusinessModel {
    fn validate(&self, e: &mut ValidationErrors) -> BusinessModel {
        let mut seen = Vec::new();
        let mut total = 0.0;
        for (i, p) in self.payer_mix.iter().enumerate() {
            if !p.share_pct.is_finite() || !(0.0..=100.0).contains(&p.share_pct) {
                e.add(
                    format!("business_model.payer_mix[{i}].share_pct"),
                    "out_of_range",
                    "must be between 0 and 100",
                );
            }
            if seen.contains(&p.payer) {
                e.add(
                    format!("business_model.payer_mix[{i}].payer"),
                    "duplicate",
                    format!("{} appears more than once", p.payer.label()),
                );
            }
            seen.push(p.payer);
            total += p.share_pct;
        }
        if !self.payer_mix.is_empty() && (total - 100.0).abs() > 0.5 {
            e.add(
                "business_model.payer_mix",
                "must_total_100",
                format!("shares must add up to 100 (they add up to {total:.1})"),
            );
        }
        BusinessModel {
            revenue_model: self.revenue_model,
            payer_mix: self.payer_mix.clone(),
            decision_making: clean_opt(
                e,
                "business_model.decision_making",
                self.decision_making.as_deref(),
                1000,
            ),
            enterprise_objectives: clean_list(
                e,
                "business_model.enterprise_objectives",
                &self.enterprise_objectives,
                300,
                20,
            ),
            constraints: clean_list(e, "business_model.constraints", &self.constraints, 300, 20),
        }
    }
}

/// What a client sends to create or replace an organization. Validate it with
/// [`OrganizationInput::validate`] to get an [`OrganizationProfile`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationInput {
    pub name: String,
    pub kind: OrgKind,
    /// National Provider Identifier (10 digits, Luhn check digit over the 80840 prefix).
    #[serde(default)]
    pub npi: Option<String>,
    /// CMS Certification Number.
    #[serde(default)]
    pub ccn: Option<String>,
    #[serde(default)]
    pub address: Address,
    #[serde(default)]
    pub size: Size,
    #[serde(default)]
    pub mission: Option<String>,
    /// Values, as short tags ("equity", "physician-led").
    #[serde(default)]
    pub values: Vec<String>,
    /// Capability codes from the catalogue this organization offers.
    #[serde(default)]
    pub capabilities_offered: Vec<String>,
    /// Capability codes from the catalogue this organization wants to be good at.
    #[serde(default)]
    pub capabilities_sought: Vec<String>,
    #[serde(default)]
    pub business_model: BusinessModel,
}

// The enum is declared by `string_enum!`, which cannot carry a `#[default]` variant.
#[allow(clippy::derivable_impls)]
impl Default for OrgKind {
    fn default() -> Self {
        OrgKind::Other
    }
}

/// A validated organization profile: what is stored and what every read returns (with an id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrganizationProfile {
    pub name: String,
    pub kind: OrgKind,
    pub npi: Option<Npi>,
    pub ccn: Option<Ccn>,
    pub address: Address,
    pub size: Size,
    pub mission: Option<String>,
    pub values: Vec<String>,
    pub capabilities_offered: Vec<CapabilityCode>,
    pub capabilities_sought: Vec<CapabilityCode>,
    pub business_model: BusinessModel,
}

impl OrganizationInput {
    /// Checks every field and returns the clean profile, or every problem found.
    /// Whether capability codes exist in the catalogue is checked by
    /// [`OrganizationProfile::check_capabilities`], since the catalogue is data.
    pub fn validate(&self) -> Result<OrganizationProfile, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let name = clean(&mut e, "name", &self.name, 1, 200, false);
        let npi = match self.npi.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => match Npi::parse(s) {
                Ok(n) => Some(n),
                Err(err) => {
                    let code = match err {
                        NpiError::Format => "invalid_format",
                        NpiError::CheckDigit { .. } => "invalid_check_digit",
                    };
                    e.add("npi", code, err.to_string());
                    None
                }
            },
        };
        let ccn = match self.ccn.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => match Ccn::parse(s) {
                Ok(c) => Some(c),
                Err(msg) => {
                    e.add("ccn", "invalid_format", msg);
                    None
                }
            },
        };
        let address = self.address.validate(&mut e);
        let mission = match self.mission.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(m) => Some(clean(&mut e, "mission", m, 1, 2000, true)),
        };
        let values = clean_list(&mut e, "values", &self.values, 40, 20);
        let capabilities_offered =
            parse_codes(&mut e, "capabilities_offered", &self.capabilities_offered);
        let capabilities_sought =
            parse_codes(&mut e, "capabilities_sought", &self.capabilities_sought);
        let business_model = self.business_model.validate(&mut e);
        e.into_result(OrganizationProfile {
            name,
            kind: self.kind,
            npi,
            ccn,
            address,
            size: self.size.clone(),
            mission,
            values,
            capabilities_offered,
            capabilities_sought,
            business_model,
        })
    }
}

fn parse_codes(e: &mut ValidationErrors, field: &str, codes: &[String]) -> Vec<CapabilityCode> {
    let mut out: Vec<CapabilityCode> = Vec::new();
    for (i, c) in codes.iter().enumerate() {
        match CapabilityCode::parse(c) {
            Ok(code) => {
                if !out.contains(&code) {
                    out.push(code);
                }
            }
            Err(msg) => e.add(format!("{field}[{i}]"), "invalid_format", msg),
        }
    }
    out
}

impl OrganizationProfile {
    /// Names every offered or sought capability that is not in the catalogue.
    pub fn check_capabilities(&self, known: &[CapabilityCode]) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        for (field, list) in [
            ("capabilities_offered", &self.capabilities_offered),
            ("capabilities_sought", &self.capabilities_sought),
        ] {
            for (i, c) in list.iter().enumerate() {
                if !known.contains(c) {
                    e.add(
                        format!("{field}[{i}]"),
                        "unknown_capability",
                        format!("`{}` is not in the capability catalogue", c.as_str()),
                    );
                }
            }
        }
        e.into_result(())
    }

    /// Back to the input form (for edit forms and CSV export).
    pub fn to_input(&self) -> OrganizationInput {
        OrganizationInput {
            name: self.name.clone(),
            kind: self.kind,
            npi: self.npi.as_ref().map(|n| n.as_str().to_string()),
            ccn: self.ccn.as_ref().map(|c| c.as_str().to_string()),
            address: self.address.clone(),
            size: self.size.clone(),
            mission: self.mission.clone(),
            values: self.values.clone(),
            capabilities_offered: self
                .capabilities_offered
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            capabilities_sought: self
                .capabilities_sought
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            business_model: self.business_model.clone(),
        }
    }
}

/// A stored organization.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Organization {
    pub id: OrgId,
    #[serde(flatten)]
    pub profile: OrganizationProfile,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Filters for the organization list.
#[derive(Debug, Clone, Default)]
pub struct OrganizationFilter {
    /// Case-insensitive substring of the name or city.
    pub q: Option<String>,
    pub kind: Option<OrgKind>,
}

/// An organization as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganizationSummary {
    pub id: OrgId,
    pub name: String,
    pub kind: OrgKind,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub providers: Option<u32>,
    pub beds: Option<u32>,
    pub capabilities_offered: Vec<CapabilityCode>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cms_example_npi_is_valid() {
        // The example in CMS's check-digit note.
        assert!(Npi::parse("1234567893").is_ok());
        assert_eq!(
            Npi::parse("1234567890"),
            Err(NpiError::CheckDigit { expected: 3 })
        );
        assert_eq!(Npi::parse("123456789"), Err(NpiError::Format));
        assert_eq!(Npi::parse("12345678a3"), Err(NpiError::Format));
    }

    #[test]
    fn real_npis_from_the_sample_file_are_valid() {
        // Organization NPIs from the NPPES sample in shared/data.
        for n in ["1003000126", "1023011178", "1841293990"] {
            assert!(Npi::parse(n).is_ok(), "{n}");
        }
    }

    proptest! {
        #[test]
        fn exactly_one_check_digit_is_valid(first in "[0-9]{9}", last in 0u8..10) {
            let candidate = format!("{first}{last}");
            let valid = last == npi_check_digit(&first);
            prop_assert_eq!(Npi::parse(&candidate).is_ok(), valid);
        }

        #[test]
        fn validation_never_panics(name in ".{0,300}", npi in proptest::option::of(".{0,12}"),
                                   zip in proptest::option::of(".{0,12}"),
                                   lat in proptest::option::of(-200.0f64..200.0)) {
            let input = OrganizationInput {
                name, npi,
                address: Address { zip, latitude: lat, longitude: lat, ..Address::default() },
                ..OrganizationInput::default()
            };
            let _ = input.validate();
        }
    }

    fn valid_input() -> OrganizationInput {
        OrganizationInput {
            name: "  Harbor Valley Health ".into(),
            kind: OrgKind::HealthSystem,
            npi: Some("1234567893".into()),
            ccn: Some("070001".into()),
            address: Address {
                city: Some("New Haven".into()),
                state: Some("ct".into()),
                zip: Some("06510".into()),
                latitude: Some(41.3),
                longitude: Some(-72.9),
                ..Address::default()
            },
            capabilities_offered: vec!["primary_care".into(), "primary_care".into()],
            business_model: BusinessModel {
                payer_mix: vec![
                    PayerShare {
                        payer: PayerClass::Medicare,
                        share_pct: 60.0,
                    },
                    PayerShare {
                        payer: PayerClass::Commercial,
                        share_pct: 40.0,
                    },
                ],
                ..BusinessModel::default()
            },
            ..OrganizationInput::default()
        }
    }

    #[test]
    fn valid_input_is_cleaned() {
        let p = valid_input().validate().unwrap();
        assert_eq!(p.name, "Harbor Valley Health");
        assert_eq!(p.address.state.as_deref(), Some("CT"));
        assert_eq!(p.capabilities_offered.len(), 1);
    }

    #[test]
    fn every_problem_is_named() {
        let mut input = valid_input();
        input.name = " ".into();
        input.npi = Some("1234567890".into());
        input.ccn = Some("7".into());
        input.address.zip = Some("6510".into());
        input.address.state = Some("XX".into());
        input.address.longitude = None;
        input.business_model.payer_mix[0].share_pct = 10.0;
        input.capabilities_sought = vec!["Not A Code".into()];
        let e = input.validate().unwrap_err();
        let fields: Vec<_> = e.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "name",
                "npi",
                "ccn",
                "address.state",
                "address.zip",
                "address.longitude",
                "capabilities_sought[0]",
                "business_model.payer_mix",
            ]
        );
        assert_eq!(e.errors()[1].code, "invalid_check_digit");
    }

    #[test]
    fn duplicate_payer_is_refused() {
        let mut input = valid_input();
        input.business_model.payer_mix[1].payer = PayerClass::Medicare;
        let e = input.validate().unwrap_err();
        assert_eq!(e.errors()[0].field, "business_model.payer_mix[1].payer");
    }

    #[test]
    fn unknown_capabilities_are_named() {
        let p = valid_input().validate().unwrap();
        let e = p
            .check_capabilities(&[CapabilityCode::parse("dental").unwrap()])
            .unwrap_err();
        assert_eq!(e.errors()[0].field, "capabilities_offered[0]");
        assert_eq!(e.errors()[0].code, "unknown_capability");
    }

    #[test]
    fn kinds_round_trip_through_their_wire_names() {
        for k in OrgKind::ALL {
            assert_eq!(k.as_str().parse::<OrgKind>().unwrap(), *k);
        }
        let err = "hospitl".parse::<OrgKind>().unwrap_err();
        assert!(err.to_string().contains("health_system"));
    }
}
