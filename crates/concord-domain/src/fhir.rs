//! FHIR R4 in and out: organizations as `Organization`, partnerships as `OrganizationAffiliation`.
//!
//! Export builds a `Bundle` of type `collection` from stored records. Import reads a Bundle or a
//! single resource from JSON text into an [`ImportPlan`]: every element is either mapped, reported
//! as not kept (`unknown_elements`), or — when it is malformed or Concord cannot accept it — a
//! problem naming its element path (`Organization[1].identifier[0].value`). Storage then applies
//! the plan in one transaction. Everything here is pure.
//!
//! Paths number resources by type in the order they appear: `Organization[2]` is the third
//! `Organization` in the Bundle.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::organization::{Address, Ccn, Npi, OrgKind, Organization, OrganizationInput};
use crate::partnership::{Partnership, PartnershipType, Stage};
use crate::text::name_key;
use crate::ValidationErrors;

/// US National Provider Identifier.
pub const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";
/// CMS Certification Number (HL7 terminology naming system).
pub const CCN_SYSTEM: &str = "http://terminology.hl7.org/NamingSystem/CMSCertificationNumber";
/// CMS Certification Number, as its OID.
pub const CCN_OID_SYSTEM: &str = "urn:oid:2.16.840.1.113883.4.336";
/// HL7 organization types (`prov`, `pay`, `govt`, …).
pub const ORG_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/organization-type";
/// HL7 organization roles in an affiliation (`provider`, `payer`, `member`, …), both spellings
/// seen in published examples.
pub const ORG_ROLE_SYSTEMS: &[&str] = &[
    "http://terminology.hl7.org/CodeSystem/organization-role",
    "http://hl7.org/fhir/organization-role",
];
/// Concord's organization kinds (`OrgKind` wire names).
pub const KIND_SYSTEM: &str = "urn:concord:fhir:CodeSystem:organization-kind";
/// Concord's partnership types (`PartnershipType` wire names).
pub const PARTNERSHIP_TYPE_SYSTEM: &str = "urn:concord:fhir:CodeSystem:partnership-type";
/// Identifies the Concord partnership an affiliation belongs to (one affiliation per party pair).
pub const PARTNERSHIP_ID_SYSTEM: &str = "urn:concord:fhir:partnership";
/// Extension: the partnership's name.
pub const EXT_NAME: &str = "urn:concord:fhir:StructureDefinition:partnership-name";
/// Extension: the partnership's purpose.
pub const EXT_PURPOSE: &str = "urn:concord:fhir:StructureDefinition:partnership-purpose";
/// Extension: the role of `organization` in the partnership.
pub const EXT_ORGANIZATION_ROLE: &str = "urn:concord:fhir:StructureDefinition:organization-role";
/// Extension: the role of `participatingOrganization` in the partnership.
pub const EXT_PARTICIPANT_ROLE: &str = "urn:concord:fhir:StructureDefinition:participant-role";
/// The standard geolocation extension on an address.
pub const GEOLOCATION_EXT: &str = "http://hl7.org/fhir/StructureDefinition/geolocation";

// ------------------------------------------------------------------------------------------
// Export
// ------------------------------------------------------------------------------------------

/// A stable `urn:uuid:` for a record: a name-based UUID (version 5 layout, SHA-256) over the
/// entity and id, so the same record always has the same full URL.
pub fn record_urn(entity: &str, id: i64) -> String {
    let digest = Sha256::digest(format!("concord:{entity}:{id}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The HL7 organization-type code for a kind.
pub fn hl7_org_type(kind: OrgKind) -> (&'static str, &'static str) {
    use OrgKind::*;
    match kind {
        Payer => ("pay", "Payer"),
        PublicHealth => ("govt", "Government"),
        ServiceCompany | Mso | Employer => ("bus", "Non-Healthcare Business or Corporation"),
        CommunityOrg => ("cg", "Community Group"),
        Other => ("other", "Other"),
        HealthSystem | Hospital | PhysicianGroup | DentalGroup | SpecialtyPractice | PostAcute
        | HomeHealth | BehavioralHealth | Pharmacy | LabImaging => ("prov", "Healthcare Provider"),
    }
}

/// Whether an affiliation is in force at this stage: from active until the partnership ends
/// (an archived partnership never is).
pub fn affiliation_active(stage: Stage, archived: bool) -> bool {
    !archived
        && matches!(
            stage,
            Stage::Active | Stage::UnderReview | Stage::Restructuring | Stage::Ending
        )
}

fn org_resource(o: &Organization) -> Value {
    let p = &o.profile;
    let mut identifier = Vec::new();
    if let Some(npi) = &p.npi {
        identifier.push(json!({"use": "official", "system": NPI_SYSTEM, "value": npi.as_str()}));
    }
    if let Some(ccn) = &p.ccn {
        identifier.push(json!({"system": CCN_SYSTEM, "value": ccn.as_str()}));
    }
    let (t_code, t_display) = hl7_org_type(p.kind);
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("Organization"));
    r.insert("id".into(), json!(format!("org-{}", o.id)));
    if !identifier.is_empty() {
        r.insert("identifier".into(), Value::Array(identifier));
    }
    r.insert("active".into(), json!(true));
    r.insert(
        "type".into(),
        json!([{
            "coding": [
                {"system": KIND_SYSTEM, "code": p.kind.as_str(), "display": p.kind.label()},
                {"system": ORG_TYPE_SYSTEM, "code": t_code, "display": t_display},
            ],
            "text": p.kind.label(),
        }]),
    );
    r.insert("name".into(), json!(p.name));
    let a = &p.address;
    if a.line1.is_some() || a.city.is_some() || a.state.is_some() || a.zip.is_some() {
        let mut addr = Map::new();
        addr.insert("use".into(), json!("work"));
        if let Some(l) = &a.line1 {
            addr.insert("line".into(), json!([l]));
        }
        if let Some(c) = &a.city {
            addr.insert("city".into(), json!(c));
        }
        if let Some(s) = &a.state {
            addr.insert("state".into(), json!(s));
        }
        if let Some(z) = &a.zip {
            addr.insert("postalCode".into(), json!(z));
        }
        addr.insert("country".into(), json!("US"));
        if let (Some(lat), Some(lon)) = (a.latitude, a.longitude) {
            addr.insert(
                "extension".into(),
                json!([{
                    "url": GEOLOCATION_EXT,
                    "extension": [
                        {"url": "latitude", "valueDecimal": lat},
                        {"url": "longitude", "valueDecimal": lon},
                    ],
                }]),
            );
        }
        r.insert("address".into(), json!([Value::Object(addr)]));
    }
    Value::Object(r)
}

fn reference(org_id: crate::OrgId, name: &str) -> Value {
    json!({"reference": record_urn("organization", org_id.0), "type": "Organization", "display": name})
}

fn affiliation_resources(p: &Partnership) -> Vec<Value> {
    let Some(first) = p.parties.first() else {
        return Vec::new();
    };
    let many = p.parties.len() > 2;
    p.parties
        .iter()
        .enumerate()
        .skip(1)
        .map(|(k, other)| {
            let id = if many {
                format!("partnership-{}-{}", p.id, k)
            } else {
                format!("partnership-{}", p.id)
            };
            let mut ext = vec![json!({"url": EXT_NAME, "valueString": p.name})];
            if !p.purpose.is_empty() {
                ext.push(json!({"url": EXT_PURPOSE, "valueString": p.purpose}));
            }
            ext.push(json!({"url": EXT_ORGANIZATION_ROLE, "valueString": first.role}));
            ext.push(json!({"url": EXT_PARTICIPANT_ROLE, "valueString": other.role}));
            let mut period = Map::new();
            period.insert(
                "start".into(),
                json!(p.created_at.date_naive().format("%Y-%m-%d").to_string()),
            );
            if p.stage == Stage::Ended || p.archived_at.is_some() {
                let end = p.archived_at.unwrap_or(p.updated_at);
                period.insert(
                    "end".into(),
                    json!(end.date_naive().format("%Y-%m-%d").to_string()),
                );
            }
            json!({
                "resourceType": "OrganizationAffiliation",
                "id": id,
                "extension": ext,
                "identifier": [{"system": PARTNERSHIP_ID_SYSTEM, "value": p.id.to_string()}],
                "active": affiliation_active(p.stage, p.archived_at.is_some()),
                "period": Value::Object(period),
                "organization": reference(first.organization_id, &first.organization_name),
                "participatingOrganization": reference(other.organization_id, &other.organization_name),
                "code": [{
                    "coding": [{
                        "system": PARTNERSHIP_TYPE_SYSTEM,
                        "code": p.partnership_type.as_str(),
                        "display": p.partnership_type.label(),
                    }],
                    "text": format!("{} partnership ({})", p.partnership_type.label(), p.stage.label()),
                }],
            })
        })
        .collect()
}

/// The acting organization's view as a FHIR `Bundle` of type `collection`: an `Organization` for
/// each of `organizations` (the caller passes itself and every organization it is in a
/// partnership with) and an `OrganizationAffiliation` for each partnership, one per pair of the
/// first party with each other party. Full URLs are stable `urn:uuid:`s, and every reference
/// points at one of them.
pub fn export_bundle(
    organizations: &[Organization],
    partnerships: &[Partnership],
    timestamp: DateTime<Utc>,
) -> Value {
    let mut entry = Vec::new();
    for o in organizations {
        entry.push(
            json!({"fullUrl": record_urn("organization", o.id.0), "resource": org_resource(o)}),
        );
    }
    for p in partnerships {
        for (k, r) in affiliation_resources(p).into_iter().enumerate() {
            entry.push(json!({
                "fullUrl": record_urn("affiliation", p.id.0 * 1000 + k as i64),
                "resource": r,
            }));
        }
    }
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timestamp.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "entry": entry,
    })
}

// ------------------------------------------------------------------------------------------
// Structure checks (R4)
// ------------------------------------------------------------------------------------------

/// Whether `s` is a valid FHIR resource id: 1–64 of `A-Z a-z 0-9 - .`.
pub fn is_fhir_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn is_uuid_urn(s: &str) -> bool {
    let Some(u) = s.strip_prefix("urn:uuid:") else {
        return false;
    };
    let b = u.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit() && !c.is_ascii_uppercase()
            }
        })
}

/// Checks a Bundle against the parts of the R4 structure Concord relies on: `resourceType`,
/// `type`, each entry's `fullUrl` (`urn:uuid:`, absolute, or absent) and `resource` with a valid
/// `id`, unique full URLs, and every `reference` in the Bundle resolving to an entry in it.
/// Returns every problem as a path and a message (empty when the Bundle is sound).
pub fn check_bundle_structure(bundle: &Value) -> Vec<String> {
    const BUNDLE_TYPES: &[&str] = &[
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    ];
    let mut out = Vec::new();
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        out.push("resourceType: must be `Bundle`".to_string());
    }
    match bundle.get("type").and_then(Value::as_str) {
        Some(t) if BUNDLE_TYPES.contains(&t) => {}
        _ => out.push("type: missing or not a Bundle type".to_string()),
    }
    let entries = match bundle.get("entry") {
        None => return out,
        Some(Value::Array(a)) => a,
        Some(_) => {
            out.push("entry: must be an array".to_string());
            return out;
        }
    };
    let mut full_urls: HashMap<&str, usize> = HashMap::new();
    let mut local: HashMap<String, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let p = format!("entry[{i}]");
        match e.get("fullUrl") {
            None => {}
            Some(Value::String(u)) => {
                let ok = is_uuid_urn(u)
                    || u.starts_with("http://")
                    || u.starts_with("https://")
                    || u.starts_with("urn:oid:");
                if !ok {
                    out.push(format!(
                        "{p}.fullUrl: `{u}` is neither a urn:uuid nor an absolute URL"
                    ));
                }
                if full_urls.insert(u.as_str(), i).is_some() {
                    out.push(format!("{p}.fullUrl: `{u}` appears twice"));
                }
            }
            Some(_) => out.push(format!("{p}.fullUrl: must be a string")),
        }
        let Some(r) = e.get("resource").and_then(Value::as_object) else {
            out.push(format!("{p}.resource: missing"));
            continue;
        };
        let Some(rt) = r.get("resourceType").and_then(Value::as_str) else {
            out.push(format!("{p}.resource.resourceType: missing"));
            continue;
        };
        match r.get("id") {
            None => {}
            Some(Value::String(id)) if is_fhir_id(id) => {
                local.insert(format!("{rt}/{id}"), i);
            }
            Some(_) => out.push(format!("{p}.resource.id: not a valid FHIR id")),
        }
    }
    for (i, e) in entries.iter().enumerate() {
        let mut refs = Vec::new();
        collect_references(
            e.get("resource").unwrap_or(&Value::Null),
            &format!("entry[{i}].resource"),
            &mut refs,
        );
        for (path, r) in refs {
            if r.starts_with('#') {
                continue;
            }
            if !full_urls.contains_key(r.as_str()) && !local.contains_key(&r) {
                out.push(format!(
                    "{path}: `{r}` does not resolve to an entry in the Bundle"
                ));
            }
        }
    }
    out
}

fn collect_references(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                if k == "reference" {
                    if let Value::String(s) = x {
                        out.push((p, s.clone()));
                    }
                } else {
                    collect_references(x, &p, out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect_references(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

// ------------------------------------------------------------------------------------------
// Import
// ------------------------------------------------------------------------------------------

/// Why a FHIR body could not be read at all.
#[derive(Debug, Clone, PartialEq)]
pub enum FhirError {
    /// Not JSON: where the parser stopped.
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// Valid JSON, but resources Concord cannot accept: every problem with its element path.
    Invalid(ValidationErrors),
}

/// An `Organization` to create or update.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgImport {
    /// `Organization[n]`.
    pub path: String,
    /// The resource's `id`, if any.
    pub fhir_id: Option<String>,
    pub name: String,
    /// From `type`; `None` when the resource says nothing Concord can map (a new record is then
    /// `other`, an existing one keeps its kind).
    pub kind: Option<OrgKind>,
    pub npi: Option<Npi>,
    pub ccn: Option<Ccn>,
    /// From the first address; `None` when the resource has none.
    pub address: Option<Address>,
}

/// One side of an affiliation.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgRef {
    /// `OrganizationAffiliation[n].organization`.
    pub path: String,
    pub reference: Option<String>,
    /// An NPI given as the reference's identifier.
    pub npi: Option<Npi>,
    pub display: Option<String>,
    /// The `Organization` in the same Bundle this points at (an index into
    /// [`ImportPlan::organizations`]).
    pub in_bundle: Option<usize>,
}

impl OrgRef {
    /// How the reference reads in a report.
    pub fn describe(&self) -> String {
        self.reference
            .clone()
            .or_else(|| self.npi.as_ref().map(|n| format!("NPI {}", n.as_str())))
            .or_else(|| self.display.clone())
            .unwrap_or_else(|| "(empty reference)".into())
    }

    /// A Concord organization id when the reference is relative and local (`Organization/12`).
    pub fn local_id(&self) -> Option<i64> {
        let r = self.reference.as_deref()?;
        let n = r.strip_prefix("Organization/")?;
        n.parse::<i64>().ok().filter(|n| *n > 0)
    }
}

/// An `OrganizationAffiliation`: a partnership in `exploring` between its two organizations.
#[derive(Debug, Clone, PartialEq)]
pub struct AffiliationImport {
    /// `OrganizationAffiliation[n]`.
    pub path: String,
    pub organization: OrgRef,
    pub participating: OrgRef,
    pub partnership_type: PartnershipType,
    pub name: Option<String>,
    pub purpose: Option<String>,
    pub organization_role: Option<String>,
    pub participant_role: Option<String>,
    /// Affiliations with the same Concord partnership identifier make one partnership.
    pub group: Option<String>,
}

/// A resource that was read but is not imported (a `Practitioner`, a `Location`…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Skipped {
    /// `Bundle.entry[n]`.
    pub path: String,
    pub resource_type: String,
}

/// Everything read from a FHIR body, before storage resolves it against the database.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportPlan {
    pub organizations: Vec<OrgImport>,
    pub affiliations: Vec<AffiliationImport>,
    pub skipped: Vec<Skipped>,
    /// Elements read but not kept, as paths (`Organization[2].contact`).
    pub unknown_elements: Vec<String>,
    /// Assumptions made while mapping (a defaulted partnership type…).
    pub notes: Vec<String>,
}

/// Reads FHIR JSON: a `Bundle`, an `Organization` or an `OrganizationAffiliation`. Any problem
/// makes the whole body unacceptable, with every problem listed.
pub fn parse_import(text: &str) -> Result<ImportPlan, FhirError> {
    let value: Value = serde_json::from_str(text).map_err(|e| FhirError::Json {
        line: e.line(),
        column: e.column(),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or("")
            .to_string(),
    })?;
    plan_from_value(&value)
}

/// [`parse_import`] on JSON already parsed.
pub fn plan_from_value(value: &Value) -> Result<ImportPlan, FhirError> {
    let mut cx = Reader::default();
    let Some(obj) = value.as_object() else {
        cx.err(
            "(body)",
            "invalid_type",
            "must be a FHIR resource (a JSON object)",
        );
        return Err(FhirError::Invalid(cx.errors));
    };
    match obj.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => cx.bundle(obj),
        Some("Organization") => {
            let o = cx.organization(obj, 0);
            cx.plan.organizations.extend(o);
        }
        Some("OrganizationAffiliation") => cx.affiliation(obj, 0, &BundleIndex::default()),
        Some(other) => cx.err(
            "resourceType",
            "unsupported_resource_type",
            format!(
                "`{other}` cannot be imported: send a Bundle, an Organization or an OrganizationAffiliation"
            ),
        ),
        None => cx.err(
            "resourceType",
            "required",
            "missing: a FHIR resource names its resourceType",
        ),
    }
    if cx.errors.is_empty() {
        Ok(cx.plan)
    } else {
        Err(FhirError::Invalid(cx.errors))
    }
}

#[derive(Default)]
struct BundleIndex {
    full_urls: HashMap<String, usize>,
    ids: HashMap<String, usize>,
}

impl BundleIndex {
    fn resolve(&self, reference: &str) -> Option<usize> {
        if let Some(i) = self.full_urls.get(reference) {
            return Some(*i);
        }
        let id = reference.strip_prefix("Organization/")?;
        self.ids.get(id).copied()
    }
}

#[derive(Default)]
struct Reader {
    plan: ImportPlan,
    errors: ValidationErrors,
}

const ORG_IGNORED: &[&str] = &["resourceType", "id", "meta", "text"];
const ORG_NOT_KEPT: &[&str] = &[
    "implicitRules",
    "language",
    "contained",
    "extension",
    "alias",
    "telecom",
    "partOf",
    "contact",
    "endpoint",
];
const AFF_IGNORED: &[&str] = &["resourceType", "id", "meta", "text", "active"];
const AFF_NOT_KEPT: &[&str] = &[
    "implicitRules",
    "language",
    "contained",
    "period",
    "network",
    "specialty",
    "location",
    "healthcareService",
    "telecom",
    "endpoint",
];

impl Reader {
    fn err(&mut self, path: impl Into<String>, code: &str, message: impl Into<String>) {
        self.errors.add(path, code, message);
    }

    fn unknown(&mut self, path: String) {
        self.plan.unknown_elements.push(path);
    }

    fn bundle(&mut self, b: &Map<String, Value>) {
        for k in b.keys() {
            if ![
                "resourceType",
                "id",
                "meta",
                "implicitRules",
                "language",
                "identifier",
                "type",
                "timestamp",
                "total",
                "link",
                "entry",
                "signature",
            ]
            .contains(&k.as_str())
            {
                self.unknown(format!("Bundle.{k}"));
            }
        }
        let entries = match b.get("entry") {
            None => return,
            Some(Value::Array(a)) => a,
            Some(_) => {
                self.err("Bundle.entry", "invalid_type", "must be an array");
                return;
            }
        };
        // First pass: find the organizations, so references can point forwards.
        let mut index = BundleIndex::default();
        let mut org_count = 0usize;
        let mut resources: Vec<(usize, &Map<String, Value>, String)> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let p = format!("Bundle.entry[{i}]");
            let Some(e) = e.as_object() else {
                self.err(p, "invalid_type", "must be an object");
                continue;
            };
            let full_url = match e.get("fullUrl") {
                None => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    self.err(format!("{p}.fullUrl"), "invalid_type", "must be a string");
                    None
                }
            };
            let Some(r) = e.get("resource") else {
                // A transaction-response entry may carry only a response: nothing to import.
                if !e.contains_key("response") {
                    self.err(
                        format!("{p}.resource"),
                        "required",
                        "missing: each entry carries a resource",
                    );
                }
                continue;
            };
            let Some(r) = r.as_object() else {
                self.err(format!("{p}.resource"), "invalid_type", "must be an object");
                continue;
            };
            let Some(rt) = r.get("resourceType").and_then(Value::as_str) else {
                self.err(
                    format!("{p}.resource.resourceType"),
                    "required",
                    "missing: a FHIR resource names its resourceType",
                );
                continue;
            };
            if rt == "Organization" {
                if let Some(u) = &full_url {
                    if index.full_urls.insert(u.clone(), org_count).is_some() {
                        self.err(
                            format!("{p}.fullUrl"),
                            "duplicate",
                            format!("`{u}` is the full URL of another entry"),
                        );
                    }
                }
                if let Some(id) = r.get("id").and_then(Value::as_str) {
                    if index.ids.insert(id.to_string(), org_count).is_some() {
                        self.err(
                            format!("Organization[{org_count}].id"),
                            "duplicate",
                            format!("another Organization in the Bundle has the id `{id}`"),
                        );
                    }
                }
                org_count += 1;
            }
            resources.push((i, r, rt.to_string()));
        }
        let (mut n_org, mut n_aff) = (0usize, 0usize);
        for (i, r, rt) in resources {
            match rt.as_str() {
                "Organization" => {
                    let o = self.organization(r, n_org);
                    match o {
                        Some(o) => self.plan.organizations.push(o),
                        // Keep indexes aligned with the first pass; the import fails anyway.
                        None => self.plan.organizations.push(OrgImport {
                            path: format!("Organization[{n_org}]"),
                            fhir_id: None,
                            name: String::new(),
                            kind: None,
                            npi: None,
                            ccn: None,
                            address: None,
                        }),
                    }
                    n_org += 1;
                }
                "OrganizationAffiliation" => {
                    self.affiliation(r, n_aff, &index);
                    n_aff += 1;
                }
                other => self.plan.skipped.push(Skipped {
                    path: format!("Bundle.entry[{i}]"),
                    resource_type: other.to_string(),
                }),
            }
        }
        // The same NPI or name twice would write one record twice.
        let mut npis: BTreeMap<&str, &str> = BTreeMap::new();
        let mut names: BTreeMap<String, &str> = BTreeMap::new();
        let mut dup = Vec::new();
        for o in &self.plan.organizations {
            if let Some(n) = &o.npi {
                if let Some(first) = npis.insert(n.as_str(), &o.path) {
                    dup.push((
                        format!("{}.identifier", o.path),
                        format!("NPI {} is also the NPI of {first}", n.as_str()),
                    ));
                }
            }
            if !o.name.is_empty() {
                if let Some(first) = names.insert(name_key(&o.name), &o.path) {
                    dup.push((
                        format!("{}.name", o.path),
                        format!("`{}` is also the name of {first}", o.name),
                    ));
                }
            }
        }
        for (p, m) in dup {
            self.err(p, "duplicate", m);
        }
    }

    fn organization(&mut self, r: &Map<String, Value>, n: usize) -> Option<OrgImport> {
        let path = format!("Organization[{n}]");
        let before = self.errors.errors().len();
        let mut fhir_id = None;
        let mut name = None;
        let mut kind = None;
        let mut npi: Option<(Npi, String)> = None;
        let mut ccn: Option<(Ccn, String)> = None;
        let mut address: Option<(Address, String)> = None;
        for (k, v) in r {
            let p = format!("{path}.{k}");
            match k.as_str() {
                "id" => match v.as_str() {
                    Some(s) if is_fhir_id(s) => fhir_id = Some(s.to_string()),
                    _ => self.err(
                        p,
                        "invalid_id",
                        "must be 1-64 letters, digits, `-` or `.`",
                    ),
                },
                "name" => match v.as_str() {
                    Some(s) => name = Some(s.to_string()),
                    None => self.err(p, "invalid_type", "must be a string"),
                },
                "active" => match v.as_bool() {
                    Some(true) => {}
                    // Concord keeps no inactive flag on organizations.
                    Some(false) => self.unknown(p),
                    None => self.err(p, "invalid_type", "must be true or false"),
                },
                "identifier" => {
                    let Some(list) = self.array(v, &p) else {
                        continue;
                    };
                    for (j, id) in list.iter().enumerate() {
                        let ip = format!("{p}[{j}]");
                        let Some(id) = self.object(id, &ip) else {
                            continue;
                        };
                        let system = self.string_field(id, "system", &ip);
                        let value = self.string_field(id, "value", &ip);
                        match (system.as_deref(), value) {
                            (Some(NPI_SYSTEM), Some(v)) => match Npi::parse(&v) {
                                Ok(x) => match &npi {
                                    Some((prev, _)) if prev != &x => self.err(
                                        format!("{ip}.value"),
                                        "conflicting_npi",
                                        "a second, different NPI: an organization has one",
                                    ),
                                    _ => npi = Some((x, format!("{ip}.value"))),
                                },
                                Err(e) => self.err(format!("{ip}.value"), "invalid_npi", e.to_string()),
                            },
                            (Some(CCN_SYSTEM | CCN_OID_SYSTEM), Some(v)) => match Ccn::parse(&v) {
                                Ok(x) => ccn = Some((x, format!("{ip}.value"))),
                                Err(e) => self.err(format!("{ip}.value"), "invalid_ccn", e),
                            },
                            (Some(NPI_SYSTEM | CCN_SYSTEM | CCN_OID_SYSTEM), None) => self.err(
                                format!("{ip}.value"),
                                "required",
                                "missing: an NPI or CCN identifier needs its value",
                            ),
                            _ => self.unknown(ip),
                        }
                    }
                }
                "type" => kind = self.org_kind(v, &p),
                "address" => {
                    let Some(list) = self.array(v, &p) else {
                        continue;
                    };
                    for (j, a) in list.iter().enumerate() {
                        let ap = format!("{p}[{j}]");
                        if j > 0 {
                            // Concord keeps one address.
                            self.unknown(ap);
                            continue;
                        }
                        if let Some(a) = self.object(a, &ap) {
                            address = Some((self.address(a, &ap), ap));
                        }
                    }
                }
                "modifierExtension" => self.err(
                    p,
                    "modifier_extension",
                    "a modifier extension changes the meaning of the resource and Concord does not understand it",
                ),
                k if ORG_IGNORED.contains(&k) => {}
                k if ORG_NOT_KEPT.contains(&k) => self.unknown(p),
                _ => self.unknown(p),
            }
        }
        let Some(name) = name else {
            self.err(
                format!("{path}.name"),
                "required",
                "missing: Concord needs the organization's name",
            );
            return None;
        };
        // The profile rules (name length, state, ZIP, coordinates) apply as for any organization.
        let addr_path = address.as_ref().map(|(_, p)| p.clone()).unwrap_or_default();
        let input = OrganizationInput {
            name: name.clone(),
            kind: kind.unwrap_or(OrgKind::Other),
            address: address.as_ref().map(|(a, _)| a.clone()).unwrap_or_default(),
            ..OrganizationInput::default()
        };
        match input.validate() {
            Ok(profile) => {
                if self.errors.errors().len() > before {
                    return None;
                }
                Some(OrgImport {
                    path,
                    fhir_id,
                    name: profile.name,
                    kind,
                    npi: npi.map(|(n, _)| n),
                    ccn: ccn.map(|(c, _)| c),
                    address: address.map(|_| profile.address),
                })
            }
            Err(e) => {
                for fe in e.into_errors() {
                    let field = match fe.field.as_str() {
                        "name" => format!("{path}.name"),
                        "address.line1" => format!("{addr_path}.line"),
                        "address.city" => format!("{addr_path}.city"),
                        "address.state" => format!("{addr_path}.state"),
                        "address.zip" => format!("{addr_path}.postalCode"),
                        "address.latitude" | "address.longitude" => {
                            format!("{addr_path}.extension")
                        }
                        other => format!("{path}.{other}"),
                    };
                    self.err(field, &fe.code, fe.message);
                }
                None
            }
        }
    }

    fn org_kind(&mut self, v: &Value, p: &str) -> Option<OrgKind> {
        let list = self.array(v, p)?;
        let mut ours = None;
        let mut hl7 = None;
        let mut hint = None;
        for (j, cc) in list.iter().enumerate() {
            let cp = format!("{p}[{j}]");
            let Some(cc) = self.object(cc, &cp) else {
                continue;
            };
            let text = cc.get("text").and_then(Value::as_str).unwrap_or("");
            if hint.is_none() {
                hint = kind_hint(text);
            }
            let Some(codings) = cc.get("coding") else {
                continue;
            };
            let Some(codings) = self.array(codings, &format!("{cp}.coding")) else {
                continue;
            };
            for (c, coding) in codings.iter().enumerate() {
                let kp = format!("{cp}.coding[{c}]");
                let Some(coding) = self.object(coding, &kp) else {
                    continue;
                };
                let system = self.string_field(coding, "system", &kp);
                let code = self.string_field(coding, "code", &kp);
                let display = coding.get("display").and_then(Value::as_str).unwrap_or("");
                match (system.as_deref(), code) {
                    (Some(KIND_SYSTEM), Some(code)) => match code.parse::<OrgKind>() {
                        Ok(k) => ours = Some(k),
                        Err(e) => self.err(format!("{kp}.code"), "invalid_value", e.to_string()),
                    },
                    (Some(ORG_TYPE_SYSTEM), Some(code)) if hl7.is_none() => {
                        hl7 = kind_from_hl7_type(&code);
                    }
                    _ => {}
                }
                if hint.is_none() {
                    hint = kind_hint(display);
                }
            }
        }
        // Concord's own code wins; a display naming a hospital is more precise than `prov`.
        ours.or(hint).or(hl7)
    }

    fn address(&mut self, a: &Map<String, Value>, ap: &str) -> Address {
        let mut out = Address::default();
        let country = a.get("country").and_then(Value::as_str).map(str::trim);
        let us = country.is_none_or(|c| {
            ["us", "usa", "united states", "united states of america"]
                .contains(&c.to_ascii_lowercase().as_str())
        });
        for (k, v) in a {
            let p = format!("{ap}.{k}");
            match k.as_str() {
                "line" => {
                    if let Some(lines) = self.array(v, &p) {
                        let mut parts = Vec::new();
                        for (i, l) in lines.iter().enumerate() {
                            match l.as_str() {
                                Some(s) => parts.push(s.trim().to_string()),
                                None => self.err(
                                    format!("{p}[{i}]"),
                                    "invalid_type",
                                    "must be a string",
                                ),
                            }
                        }
                        let joined = parts
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(", ");
                        out.line1 = (!joined.is_empty()).then_some(joined);
                    }
                }
                "city" => out.city = self.string_value(v, &p),
                "state" if us => out.state = self.string_value(v, &p),
                "postalCode" if us => out.zip = self.string_value(v, &p),
                "country" if us => {
                    let _ = self.string_value(v, &p);
                }
                "extension" => {
                    let Some(exts) = self.array(v, &p) else {
                        continue;
                    };
                    for (i, x) in exts.iter().enumerate() {
                        let xp = format!("{p}[{i}]");
                        match geolocation(x) {
                            Some((lat, lon)) => {
                                out.latitude = Some(lat);
                                out.longitude = Some(lon);
                            }
                            None => self.unknown(xp),
                        }
                    }
                }
                "use" | "type" => {}
                _ => self.unknown(p),
            }
        }
        out
    }

    fn affiliation(&mut self, r: &Map<String, Value>, n: usize, index: &BundleIndex) {
        let path = format!("OrganizationAffiliation[{n}]");
        let before = self.errors.errors().len();
        let mut organization = None;
        let mut participating = None;
        let mut ptype = None;
        let (mut name, mut purpose, mut org_role, mut part_role, mut group) =
            (None, None, None, None, None);
        let mut code_text = None;
        for (k, v) in r {
            let p = format!("{path}.{k}");
            match k.as_str() {
                "id" => {
                    if !v.as_str().is_some_and(is_fhir_id) {
                        self.err(
                            p,
                            "invalid_id",
                            "must be 1-64 letters, digits, `-` or `.`",
                        );
                    }
                }
                "active" => {
                    if !v.is_boolean() {
                        self.err(p, "invalid_type", "must be true or false");
                    }
                }
                "period" => {
                    if let Some(per) = self.object(v, &p) {
                        for key in ["start", "end"] {
                            if let Some(x) = per.get(key) {
                                if !x.as_str().is_some_and(is_fhir_date_time) {
                                    self.err(
                                        format!("{p}.{key}"),
                                        "invalid_date",
                                        "must be a FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz)",
                                    );
                                }
                            }
                        }
                    }
                    // Concord's partnership starts in `exploring` today; the period is not kept.
                    self.unknown(p);
                }
                "organization" => organization = self.org_ref(v, &p, index),
                "participatingOrganization" => participating = self.org_ref(v, &p, index),
                "code" => {
                    let Some(list) = self.array(v, &p) else {
                        continue;
                    };
                    for (j, cc) in list.iter().enumerate() {
                        let cp = format!("{p}[{j}]");
                        let Some(cc) = self.object(cc, &cp) else {
                            continue;
                        };
                        if code_text.is_none() {
                            code_text = cc.get("text").and_then(Value::as_str).map(str::to_string);
                        }
                        let Some(codings) = cc.get("coding") else {
                            continue;
                        };
                        let Some(codings) = self.array(codings, &format!("{cp}.coding")) else {
                            continue;
                        };
                        for (c, coding) in codings.iter().enumerate() {
                            let kp = format!("{cp}.coding[{c}]");
                            let Some(coding) = self.object(coding, &kp) else {
                                continue;
                            };
                            let system = self.string_field(coding, "system", &kp);
                            let code = self.string_field(coding, "code", &kp);
                            match (system.as_deref(), code) {
                                (Some(PARTNERSHIP_TYPE_SYSTEM), Some(code)) => {
                                    match code.parse::<PartnershipType>() {
                                        Ok(t) => ptype = Some((t, true)),
                                        Err(e) => self.err(
                                            format!("{kp}.code"),
                                            "invalid_value",
                                            e.to_string(),
                                        ),
                                    }
                                }
                                (Some(s), Some(code))
                                    if ORG_ROLE_SYSTEMS.contains(&s) && ptype.is_none() =>
                                {
                                    ptype = type_from_org_role(&code).map(|t| (t, false));
                                }
                                _ => {}
                            }
                        }
                    }
                }
                "identifier" => {
                    let Some(list) = self.array(v, &p) else {
                        continue;
                    };
                    for (j, id) in list.iter().enumerate() {
                        let ip = format!("{p}[{j}]");
                        let Some(id) = self.object(id, &ip) else {
                            continue;
                        };
                        let system = self.string_field(id, "system", &ip);
                        let value = self.string_field(id, "value", &ip);
                        match (system.as_deref(), value) {
                            (Some(PARTNERSHIP_ID_SYSTEM), Some(v)) => group = Some(v),
                            _ => self.unknown(ip),
                        }
                    }
                }
                "extension" => {
                    let Some(list) = self.array(v, &p) else {
                        continue;
                    };
                    for (j, x) in list.iter().enumerate() {
                        let xp = format!("{p}[{j}]");
                        let Some(x) = self.object(x, &xp) else {
                            continue;
                        };
                        let url = x.get("url").and_then(Value::as_str).unwrap_or("");
                        let val = x.get("valueString").and_then(Value::as_str);
                        let slot = match url {
                            EXT_NAME => &mut name,
                            EXT_PURPOSE => &mut purpose,
                            EXT_ORGANIZATION_ROLE => &mut org_role,
                            EXT_PARTICIPANT_ROLE => &mut part_role,
                            _ => {
                                self.unknown(xp);
                                continue;
                            }
                        };
                        match val {
                            Some(s) => *slot = Some(s.to_string()),
                            None => self.err(
                                format!("{xp}.valueString"),
                                "required",
                                "missing: this extension carries a valueString",
                            ),
                        }
                    }
                }
                "modifierExtension" => self.err(
                    p,
                    "modifier_extension",
                    "a modifier extension changes the meaning of the resource and Concord does not understand it",
                ),
                k if AFF_IGNORED.contains(&k) => {}
                k if AFF_NOT_KEPT.contains(&k) => self.unknown(p),
                _ => self.unknown(p),
            }
        }
        for (slot, field) in [
            (&organization, "organization"),
            (&participating, "participatingOrganization"),
        ] {
            if slot.is_none() && !r.contains_key(field) {
                self.err(
                    format!("{path}.{field}"),
                    "required",
                    "missing: Concord records a partnership between two organizations",
                );
            }
        }
        if self.errors.errors().len() > before {
            return;
        }
        let (Some(organization), Some(participating)) = (organization, participating) else {
            return;
        };
        if organization.in_bundle.is_some() && organization.in_bundle == participating.in_bundle {
            self.err(
                format!("{path}.participatingOrganization"),
                "same_organization",
                "an organization cannot be affiliated with itself",
            );
            return;
        }
        let partnership_type = match ptype {
            Some((t, _)) => t,
            None => {
                self.plan.notes.push(format!(
                    "{path}.code: no partnership type Concord knows; recorded as {}",
                    PartnershipType::VerticallyAdjacent.as_str()
                ));
                PartnershipType::VerticallyAdjacent
            }
        };
        let participant_role = part_role.or(code_text);
        self.plan.affiliations.push(AffiliationImport {
            path,
            organization,
            participating,
            partnership_type,
            name,
            purpose,
            organization_role: org_role,
            participant_role,
            group,
        });
    }

    fn org_ref(&mut self, v: &Value, p: &str, index: &BundleIndex) -> Option<OrgRef> {
        let o = self.object(v, p)?;
        let reference = self.opt_string(o, "reference", p);
        let display = self.opt_string(o, "display", p);
        let mut npi = None;
        if let Some(id) = o.get("identifier") {
            let ip = format!("{p}.identifier");
            if let Some(id) = self.object(id, &ip) {
                let system = self.string_field(id, "system", &ip);
                let value = self.string_field(id, "value", &ip);
                if let (Some(NPI_SYSTEM), Some(v)) = (system.as_deref(), value) {
                    match Npi::parse(&v) {
                        Ok(n) => npi = Some(n),
                        Err(e) => self.err(format!("{ip}.value"), "invalid_npi", e.to_string()),
                    }
                }
            }
        }
        if let Some(t) = o.get("type").and_then(Value::as_str) {
            if t != "Organization" {
                self.err(
                    format!("{p}.type"),
                    "invalid_reference",
                    format!("must refer to an Organization, not a {t}"),
                );
                return None;
            }
        }
        if let Some(r) = &reference {
            let target_type = r
                .rsplit('/')
                .nth(1)
                .filter(|_| !r.starts_with("urn:") && !r.starts_with('#'));
            if let Some(t) = target_type {
                if t != "Organization" {
                    self.err(
                        format!("{p}.reference"),
                        "invalid_reference",
                        format!("must refer to an Organization, not a {t}"),
                    );
                    return None;
                }
            }
        }
        if reference.is_none() && npi.is_none() && display.is_none() {
            self.err(
                p.to_string(),
                "required",
                "an empty reference: give a reference, an NPI identifier or a display name",
            );
            return None;
        }
        let in_bundle = reference.as_deref().and_then(|r| index.resolve(r));
        Some(OrgRef {
            path: p.to_string(),
            reference,
            npi,
            display,
            in_bundle,
        })
    }

    fn array<'v>(&mut self, v: &'v Value, p: &str) -> Option<&'v Vec<Value>> {
        match v {
            Value::Array(a) => Some(a),
            _ => {
                self.err(p.to_string(), "invalid_type", "must be an array");
                None
            }
        }
    }

    fn object<'v>(&mut self, v: &'v Value, p: &str) -> Option<&'v Map<String, Value>> {
        match v {
            Value::Object(o) => Some(o),
            _ => {
                self.err(p.to_string(), "invalid_type", "must be an object");
                None
            }
        }
    }

    fn string_value(&mut self, v: &Value, p: &str) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.err(p.to_string(), "invalid_type", "must be a string");
                None
            }
        }
    }

    fn string_field(&mut self, o: &Map<String, Value>, k: &str, p: &str) -> Option<String> {
        self.opt_string(o, k, p)
    }

    fn opt_string(&mut self, o: &Map<String, Value>, k: &str, p: &str) -> Option<String> {
        o.get(k)
            .and_then(|v| self.string_value(v, &format!("{p}.{k}")))
    }
}

fn geolocation(x: &Value) -> Option<(f64, f64)> {
    if x.get("url").and_then(Value::as_str) != Some(GEOLOCATION_EXT) {
        return None;
    }
    let parts = x.get("extension")?.as_array()?;
    let get = |name: &str| {
        parts
            .iter()
            .find(|p| p.get("url").and_then(Value::as_str) == Some(name))
            .and_then(|p| p.get("valueDecimal"))
            .and_then(Value::as_f64)
    };
    Some((get("latitude")?, get("longitude")?))
}

/// A kind named by the words of a type's display or text ("University Medical Hospital").
fn kind_hint(text: &str) -> Option<OrgKind> {
    let t = text.to_ascii_lowercase();
    if t.contains("department") || t.contains("unit") {
        // A part of a hospital is not a hospital.
        None
    } else if t.contains("hospital") || t.contains("medical center") {
        Some(OrgKind::Hospital)
    } else if t.contains("dental") {
        Some(OrgKind::DentalGroup)
    } else if t.contains("pharmacy") {
        Some(OrgKind::Pharmacy)
    } else if t.contains("home health") {
        Some(OrgKind::HomeHealth)
    } else {
        None
    }
}

/// The kind an HL7 organization-type code implies, when it implies one.
pub fn kind_from_hl7_type(code: &str) -> Option<OrgKind> {
    match code {
        "pay" | "ins" => Some(OrgKind::Payer),
        "govt" => Some(OrgKind::PublicHealth),
        "bus" => Some(OrgKind::ServiceCompany),
        "cg" | "reli" => Some(OrgKind::CommunityOrg),
        "prov" | "dept" | "team" | "edu" | "crs" | "other" => Some(OrgKind::Other),
        _ => None,
    }
}

/// The partnership type an HL7 organization-role code implies.
pub fn type_from_org_role(code: &str) -> Option<PartnershipType> {
    match code {
        // A provider in a payer's network, or the payer itself: payer with provider.
        "provider" | "payer" => Some(PartnershipType::VerticallyAdjacent),
        "diagnostics" => Some(PartnershipType::AncillaryService),
        "supplier" | "HIE/HIO" | "agency" => Some(PartnershipType::ServiceProvider),
        "research" => Some(PartnershipType::StrategicExecution),
        "member" => Some(PartnershipType::HorizontallyAdjacent),
        _ => None,
    }
}

/// Whether `s` is a FHIR `date` or `dateTime`.
pub fn is_fhir_date_time(s: &str) -> bool {
    let date = |d: &str| match d.len() {
        4 => d.bytes().all(|b| b.is_ascii_digit()),
        7 => chrono::NaiveDate::parse_from_str(&format!("{d}-01"), "%Y-%m-%d").is_ok(),
        10 => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok(),
        _ => false,
    };
    match s.split_once('T') {
        None => date(s),
        Some((d, _)) => d.len() == 10 && DateTime::parse_from_rfc3339(s).is_ok(),
    }
}

/// A partnership's default name from its parties' names, at most 200 characters.
pub fn default_partnership_name(a: &str, b: &str) -> String {
    let s = format!("{a} – {b}");
    if s.chars().count() <= 200 {
        s
    } else {
        s.chars().take(199).collect::<String>() + "…"
    }
}

/// A party role, bounded to what a partnership accepts (1–80 characters).
pub fn bounded_role(role: Option<&str>, fallback: &str) -> String {
    let r = role
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(fallback);
    if r.chars().count() <= 80 {
        r.to_string()
    } else {
        r.chars().take(79).collect::<String>() + "…"
    }
}

// ------------------------------------------------------------------------------------------
// The report
// ------------------------------------------------------------------------------------------

string_enum! {
    /// What the import did with one resource.
    pub enum ImportAction {
        Created = "created" => "Created",
        Updated = "updated" => "Updated",
        Unchanged = "unchanged" => "Unchanged",
        Existing = "existing" => "Already recorded",
    }
}

/// An organization the import created, updated or found unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportedOrganization {
    /// `Organization[n]`.
    pub path: String,
    pub organization_id: crate::OrgId,
    pub name: String,
    pub action: ImportAction,
    /// How it was matched to an existing record (`npi` or `name`), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<String>,
}

/// A partnership the import created or found already recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportedPartnership {
    /// The `OrganizationAffiliation[n]` paths it came from.
    pub paths: Vec<String>,
    pub partnership_id: crate::PartnershipId,
    pub name: String,
    #[serde(rename = "type")]
    pub partnership_type: PartnershipType,
    pub action: ImportAction,
}

/// Something valid that the import declined to apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Refusal {
    pub path: String,
    /// `not_a_party` (the acting organization is neither side), `not_permitted` (an organization
    /// only its own admins may edit).
    pub code: String,
    pub message: String,
}

/// What a FHIR import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, ToSchema)]
pub struct ImportReport {
    pub organizations: Vec<ImportedOrganization>,
    pub partnerships: Vec<ImportedPartnership>,
    pub refused: Vec<Refusal>,
    /// Resources of other types in the Bundle, not imported.
    pub skipped: Vec<Skipped>,
    /// Elements read but not kept, by path.
    pub unknown_elements: Vec<String>,
    /// Assumptions made while mapping.
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_urns_are_stable_uuids() {
        let a = record_urn("organization", 7);
        assert_eq!(a, record_urn("organization", 7));
        assert_ne!(a, record_urn("organization", 8));
        assert!(is_uuid_urn(&a), "{a}");
        assert_eq!(&a[9 + 14..9 + 15], "5");
    }

    #[test]
    fn fhir_ids_and_dates() {
        assert!(is_fhir_id("f001"));
        assert!(is_fhir_id("2.16.840.1.113883.19.5"));
        assert!(!is_fhir_id("has space"));
        assert!(!is_fhir_id(""));
        assert!(!is_fhir_id(&"a".repeat(65)));
        for ok in ["2012", "2012-03", "2012-03-31", "2012-03-31T10:00:00Z"] {
            assert!(is_fhir_date_time(ok), "{ok}");
        }
        for bad in [
            "12-03-2012",
            "2012-13",
            "2012-02-30",
            "yesterday",
            "2012-03-31T10",
        ] {
            assert!(!is_fhir_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn activity_follows_the_stage() {
        assert!(!affiliation_active(Stage::Exploring, false));
        assert!(affiliation_active(Stage::Active, false));
        assert!(!affiliation_active(Stage::Active, true));
        assert!(!affiliation_active(Stage::Ended, false));
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        match parse_import("{\n  \"resourceType\": \"Organization\",\n  \"name\": }") {
            Err(FhirError::Json { line, column, .. }) => {
                assert_eq!(line, 3);
                assert!(column >= 10);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_single_resource_of_another_type_is_refused() {
        let Err(FhirError::Invalid(e)) = parse_import(r#"{"resourceType":"Practitioner"}"#) else {
            panic!()
        };
        assert_eq!(e.errors()[0].field, "resourceType");
        assert_eq!(e.errors()[0].code, "unsupported_resource_type");
    }

    #[test]
    fn roles_and_names_are_bounded() {
        assert_eq!(bounded_role(None, "Participant"), "Participant");
        assert_eq!(
            bounded_role(Some(&"x".repeat(100)), "P").chars().count(),
            80
        );
        assert_eq!(
            default_partnership_name(&"a".repeat(150), &"b".repeat(150))
                .chars()
                .count(),
            200
        );
    }
}
