//! FHIR R4 rules over the real HL7 example resources (CC0, copied into
//! `crates/concord-web/tests/fixtures/fhir`): what is mapped, what is reported, what is refused,
//! the structure of the export, and export → import of the same records.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};

use concord_domain::fhir::{
    check_bundle_structure, export_bundle, parse_import, plan_from_value, record_urn, FhirError,
    ImportPlan, NPI_SYSTEM,
};
use concord_domain::organization::{
    Address, Ccn, Npi, OrgKind, Organization, OrganizationInput, OrganizationProfile,
};
use concord_domain::partnership::{Partnership, PartnershipType, Party, Stage};
use concord_domain::{OrgId, PartnershipId};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../concord-web/tests/fixtures/fhir/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("fixture JSON")
}

const ORGS: &[&str] = &[
    "Organization-1",
    "Organization-2",
    "Organization-3",
    "Organization-f001",
    "Organization-f002",
    "Organization-f003",
    "Organization-f201",
    "Organization-f203",
    "Organization-hl7",
    "Organization-hl7pay",
    "Organization-mmanu",
];

fn bundle_of(names: &[&str]) -> Value {
    let entry: Vec<Value> = names
        .iter()
        .map(|n| {
            let r = fixture(n);
            let full = format!(
                "http://hl7.org/fhir/{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            );
            json!({"fullUrl": full, "resource": r})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "collection", "entry": entry})
}

fn plan(v: &Value) -> ImportPlan {
    plan_from_value(v).unwrap_or_else(|e| panic!("{e:?}"))
}

fn invalid(v: &Value) -> Vec<(String, String)> {
    match plan_from_value(v) {
        Err(FhirError::Invalid(e)) => e
            .errors()
            .iter()
            .map(|f| (f.field.clone(), f.code.clone()))
            .collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn every_hl7_organization_example_is_read() {
    let expected = [
        "Gastroenterology",
        "XYZ Insurance",
        "Michigan Health",
        "Burgers University Medical Center",
        "Burgers UMC Cardiology unit",
        "Burgers UMC Ear,Nose,Throat unit",
        "Artis University Medical Center (AUMC)",
        "Blijdorp Medisch Centrum (BUMC)",
        "Health Level Seven International",
        "HL7 Payer network",
        "Acme Corporation",
    ];
    for (name, want) in ORGS.iter().zip(expected) {
        let p = plan(&fixture(name));
        assert_eq!(p.organizations.len(), 1, "{name}");
        let o = &p.organizations[0];
        assert_eq!(o.name, want);
        assert_eq!(o.path, "Organization[0]");
        // None of the HL7 examples carries a US NPI.
        assert!(o.npi.is_none());
    }
}

#[test]
fn f001_maps_type_and_keeps_a_foreign_address_without_state_or_zip() {
    let p = plan(&fixture("Organization-f001"));
    let o = &p.organizations[0];
    assert_eq!(o.fhir_id.as_deref(), Some("f001"));
    assert_eq!(o.kind, Some(OrgKind::Hospital));
    let a = o.address.as_ref().unwrap();
    assert_eq!(a.line1.as_deref(), Some("Galapagosweg 91"));
    assert_eq!(a.city.as_deref(), Some("Den Burg"));
    assert_eq!(a.zip, None);
    for path in [
        "Organization[0].identifier[0]",
        "Organization[0].identifier[1]",
        "Organization[0].telecom",
        "Organization[0].contact",
        "Organization[0].address[0].postalCode",
        "Organization[0].address[0].country",
        "Organization[0].address[1]",
    ] {
        assert!(
            p.unknown_elements.iter().any(|u| u == path),
            "{path} not in {:?}",
            p.unknown_elements
        );
    }
}

#[test]
fn us_address_department_and_payer_names() {
    let hl7 = plan(&fixture("Organization-hl7"));
    let a = hl7.organizations[0].address.clone().unwrap();
    assert_eq!(a.state.as_deref(), Some("MI"));
    assert_eq!(a.zip.as_deref(), Some("48104"));
    assert_eq!(a.city.as_deref(), Some("Ann Arbor"));
    assert!(hl7
        .unknown_elements
        .contains(&"Organization[0].alias".to_string()));
    // A hospital department is not a hospital.
    let f002 = plan(&fixture("Organization-f002"));
    assert_eq!(f002.organizations[0].kind, Some(OrgKind::Other));
    assert!(f002
        .unknown_elements
        .contains(&"Organization[0].partOf".to_string()));
    // No type at all: nothing to map.
    assert_eq!(
        plan(&fixture("Organization-hl7pay")).organizations[0].kind,
        None
    );
}

#[test]
fn a_bundle_of_the_examples_resolves_references_and_skips_other_types() {
    let mut names: Vec<&str> = ORGS.to_vec();
    names.extend([
        "OrganizationAffiliation-example",
        "OrganizationAffiliation-orgrole1",
        "OrganizationAffiliation-orgrole2",
        "Practitioner-f001",
        "Location-1",
    ]);
    let p = plan(&bundle_of(&names));
    assert_eq!(p.organizations.len(), 11);
    assert_eq!(p.affiliations.len(), 3);
    assert_eq!(
        p.skipped
            .iter()
            .map(|s| (s.path.as_str(), s.resource_type.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("Bundle.entry[14]", "Practitioner"),
            ("Bundle.entry[15]", "Location")
        ]
    );
    let ex = &p.affiliations[0];
    assert_eq!(ex.path, "OrganizationAffiliation[0]");
    // Organization/hl7pay and Organization/f001 are in the Bundle.
    assert_eq!(
        p.organizations[ex.organization.in_bundle.unwrap()].name,
        "HL7 Payer network"
    );
    assert_eq!(
        p.organizations[ex.participating.in_bundle.unwrap()].name,
        "Burgers University Medical Center"
    );
    assert_eq!(ex.partnership_type, PartnershipType::VerticallyAdjacent);
    for u in [
        "OrganizationAffiliation[0].network",
        "OrganizationAffiliation[0].specialty",
        "OrganizationAffiliation[0].location",
        "OrganizationAffiliation[0].period",
    ] {
        assert!(p.unknown_elements.iter().any(|x| x == u), "{u}");
    }
    // orgrole1 points at organizations outside the Bundle, with their display names.
    let r1 = &p.affiliations[1];
    assert_eq!(r1.organization.in_bundle, None);
    assert_eq!(
        r1.organization.display.as_deref(),
        Some("Founding Fathers Memorial Hospital")
    );
    assert_eq!(
        r1.participant_role.as_deref(),
        Some("Provider of rehabilitation services")
    );
    // orgrole2: "member" of an HIE.
    assert_eq!(
        p.affiliations[2].partnership_type,
        PartnershipType::HorizontallyAdjacent
    );
}

#[test]
fn wrong_types_and_invalid_json_are_named() {
    assert_eq!(
        invalid(&fixture("Practitioner-f001")),
        vec![(
            "resourceType".to_string(),
            "unsupported_resource_type".to_string()
        )]
    );
    assert_eq!(
        invalid(&json!([1, 2])),
        vec![("(body)".to_string(), "invalid_type".to_string())]
    );
    match parse_import("{\"resourceType\": \"Bundle\",\n \"entry\": [\n  {\"resource\": }\n]}") {
        Err(FhirError::Json { line, column, .. }) => assert_eq!((line, column), (3, 16)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_problem_is_listed_with_its_element_path() {
    let bundle = json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Organization", "name": "Good"}},
            {"resource": {"resourceType": "Organization", "id": "bad id",
                "identifier": [{"system": NPI_SYSTEM, "value": "1234567890"}],
                "name": 7}},
            {"resource": {"resourceType": "Organization", "name": "Zip",
                "address": [{"state": "ZZ", "postalCode": "1", "country": "US"}]}},
            {"resource": {"resourceType": "OrganizationAffiliation",
                "organization": {"reference": "Organization/nowhere"},
                "period": {"start": "31/12/2020"},
                "modifierExtension": [{"url": "x"}]}},
            {"fullUrl": "urn:uuid:x"},
        ]
    });
    let got = invalid(&bundle);
    let want = [
        ("Organization[1].id", "invalid_id"),
        ("Organization[1].identifier[0].value", "invalid_npi"),
        ("Organization[1].name", "invalid_type"),
        ("Organization[1].name", "required"),
        ("Organization[2].address[0].state", "invalid_state"),
        ("Organization[2].address[0].postalCode", "invalid_zip"),
        ("OrganizationAffiliation[0].period.start", "invalid_date"),
        (
            "OrganizationAffiliation[0].modifierExtension",
            "modifier_extension",
        ),
        (
            "OrganizationAffiliation[0].participatingOrganization",
            "required",
        ),
        ("Bundle.entry[4].resource", "required"),
    ];
    for (f, c) in want {
        assert!(
            got.iter().any(|(gf, gc)| gf == f && gc == c),
            "{f} {c} missing from {got:?}"
        );
    }
}

#[test]
fn duplicates_inside_a_bundle_are_refused() {
    let npi = "1234567893";
    let org = |name: &str| {
        json!({"resource": {"resourceType": "Organization", "name": name,
            "identifier": [{"system": NPI_SYSTEM, "value": npi}]}})
    };
    let got = invalid(&json!({"resourceType": "Bundle", "type": "collection",
        "entry": [org("One"), org("one")]}));
    assert!(got.contains(&("Organization[1].identifier".into(), "duplicate".into())));
    assert!(got.contains(&("Organization[1].name".into(), "duplicate".into())));
}

fn org(id: i64, name: &str, kind: OrgKind, npi: Option<&str>) -> Organization {
    let input = OrganizationInput {
        name: name.into(),
        kind,
        npi: npi.map(str::to_string),
        ccn: (kind == OrgKind::Hospital).then(|| "070022".to_string()),
        address: Address {
            line1: Some("20 York Street".into()),
            city: Some("New Haven".into()),
            state: Some("CT".into()),
            zip: Some("06510".into()),
            latitude: Some(41.30),
            longitude: Some(-72.93),
        },
        ..OrganizationInput::default()
    };
    Organization {
        id: OrgId(id),
        profile: input.validate().unwrap(),
        created_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
        updated_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
    }
}

fn partnership(
    id: i64,
    parties: &[&Organization],
    t: PartnershipType,
    stage: Stage,
) -> Partnership {
    Partnership {
        id: PartnershipId(id),
        name: format!("Deal {id}"),
        purpose: "Better care together".into(),
        partnership_type: t,
        stage,
        parties: parties
            .iter()
            .enumerate()
            .map(|(i, o)| Party {
                organization_id: o.id,
                organization_name: o.profile.name.clone(),
                role: format!("role {i}"),
            })
            .collect(),
        archived_at: None,
        created_at: Utc.with_ymd_and_hms(2025, 2, 3, 0, 0, 0).unwrap(),
        updated_at: Utc.with_ymd_and_hms(2025, 3, 4, 0, 0, 0).unwrap(),
    }
}

fn sample() -> (Vec<Organization>, Vec<Partnership>) {
    let home = org(
        1,
        "Home Health System",
        OrgKind::HealthSystem,
        Some("1234567893"),
    );
    let dental = org(2, "Harbor Dental", OrgKind::DentalGroup, None);
    let hosp = org(
        3,
        "Yale New Haven Hospital",
        OrgKind::Hospital,
        Some("1245319599"),
    );
    let payer = org(4, "Nutmeg Health Plan", OrgKind::Payer, None);
    let ps = vec![
        partnership(
            10,
            &[&home, &dental],
            PartnershipType::HorizontallyAdjacent,
            Stage::Active,
        ),
        partnership(
            11,
            &[&home, &hosp, &payer],
            PartnershipType::VerticallyAdjacent,
            Stage::Exploring,
        ),
        partnership(
            12,
            &[&payer, &home],
            PartnershipType::ServiceProvider,
            Stage::Ended,
        ),
    ];
    (vec![home, dental, hosp, payer], ps)
}

#[test]
fn the_export_is_a_sound_r4_collection() {
    let (orgs, ps) = sample();
    let b = export_bundle(&orgs, &ps, Utc::now());
    assert_eq!(check_bundle_structure(&b), Vec::<String>::new());
    assert_eq!(b["type"], "collection");
    let entries = b["entry"].as_array().unwrap();
    // 4 organizations, 1 + 2 + 1 affiliations.
    assert_eq!(entries.len(), 8);
    let home = &entries[0];
    assert_eq!(home["fullUrl"], record_urn("organization", 1));
    let r = &home["resource"];
    assert_eq!(r["resourceType"], "Organization");
    assert_eq!(r["identifier"][0]["system"], NPI_SYSTEM);
    assert_eq!(r["identifier"][0]["value"], "1234567893");
    assert_eq!(r["active"], true);
    assert_eq!(r["address"][0]["postalCode"], "06510");
    let hosp = &entries[2]["resource"];
    assert_eq!(hosp["identifier"][1]["value"], "070022");
    let aff = &entries[4]["resource"];
    assert_eq!(aff["resourceType"], "OrganizationAffiliation");
    assert_eq!(aff["active"], true);
    assert_eq!(aff["period"]["start"], "2025-02-03");
    assert_eq!(aff["code"][0]["coding"][0]["code"], "horizontally_adjacent");
    assert_eq!(
        aff["organization"]["reference"],
        record_urn("organization", 1)
    );
    assert_eq!(
        aff["participatingOrganization"]["reference"],
        record_urn("organization", 2)
    );
    // Exploring is not yet in force; ended has an end date.
    assert_eq!(entries[5]["resource"]["active"], false);
    assert_eq!(entries[7]["resource"]["active"], false);
    assert_eq!(entries[7]["resource"]["period"]["end"], "2025-03-04");
}

#[test]
fn structure_checks_catch_dangling_references_and_bad_full_urls() {
    let (orgs, ps) = sample();
    let mut b = export_bundle(&orgs, &ps, Utc::now());
    b["entry"][0]["fullUrl"] = json!("Organization/1");
    b["entry"][1]["resource"]["id"] = json!("no spaces allowed");
    let problems = check_bundle_structure(&b);
    assert!(
        problems.iter().any(|p| p.starts_with("entry[0].fullUrl")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("entry[1].resource.id")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("entry[4].resource.organization.reference")),
        "{problems:?}"
    );
}

#[test]
fn export_then_import_reads_back_the_same_records() {
    let (orgs, ps) = sample();
    let p = plan(&export_bundle(&orgs, &ps, Utc::now()));
    assert_eq!(
        p.unknown_elements,
        vec![
            "OrganizationAffiliation[0].period",
            "OrganizationAffiliation[1].period",
            "OrganizationAffiliation[2].period",
            "OrganizationAffiliation[3].period",
        ]
    );
    assert!(p.skipped.is_empty() && p.notes.is_empty());
    for (o, i) in orgs.iter().zip(&p.organizations) {
        assert_eq!(i.name, o.profile.name);
        assert_eq!(i.kind, Some(o.profile.kind));
        assert_eq!(i.npi, o.profile.npi);
        assert_eq!(i.ccn, o.profile.ccn);
        assert_eq!(i.address.as_ref(), Some(&o.profile.address));
    }
    // The three-party partnership comes back as two affiliations with one identifier.
    assert_eq!(p.affiliations.len(), 4);
    assert_eq!(p.affiliations[1].group.as_deref(), Some("11"));
    assert_eq!(p.affiliations[2].group.as_deref(), Some("11"));
    assert_eq!(p.affiliations[1].name.as_deref(), Some("Deal 11"));
    assert_eq!(
        p.affiliations[2].participant_role.as_deref(),
        Some("role 2")
    );
    assert_eq!(
        p.affiliations[3].partnership_type,
        PartnershipType::ServiceProvider
    );
    assert_eq!(p.affiliations[3].organization.in_bundle, Some(3));
    assert_eq!(p.affiliations[3].participating.in_bundle, Some(0));
}

fn npi_strategy() -> impl Strategy<Value = Option<String>> {
    proptest::option::of((100_000_000u32..999_999_999).prop_map(|n| {
        let nine = n.to_string();
        let d = concord_domain::organization::npi_check_digit(&nine);
        format!("{nine}{d}")
    }))
}

proptest! {
    #[test]
    fn any_exported_organization_round_trips(
        name in "[A-Za-z][A-Za-z .&'-]{0,60}[A-Za-z]",
        kind in proptest::sample::select(OrgKind::ALL.to_vec()),
        npi in npi_strategy(),
        ccn in proptest::option::of("[0-9]{2}[0-9A-Z]{4}"),
        zip in proptest::option::of("[0-9]{5}"),
    ) {
        let profile = OrganizationProfile {
            name: name.clone(),
            kind,
            npi: npi.as_deref().map(|n| Npi::parse(n).unwrap()),
            ccn: ccn.as_deref().map(|c| Ccn::parse(c).unwrap()),
            address: Address { zip: zip.clone(), state: Some("RI".into()), ..Address::default() },
            ..OrganizationInput { name: name.clone(), kind, ..OrganizationInput::default() }.validate().unwrap()
        };
        let o = Organization { id: OrgId(5), profile: profile.clone(), created_at: Utc::now(), updated_at: Utc::now() };
        let b = export_bundle(std::slice::from_ref(&o), &[], Utc::now());
        prop_assert!(check_bundle_structure(&b).is_empty());
        let text = serde_json::to_string(&b).unwrap();
        let p = parse_import(&text).unwrap();
        let back = &p.organizations[0];
        prop_assert_eq!(&back.name, &profile.name);
        prop_assert_eq!(back.kind, Some(kind));
        prop_assert_eq!(&back.npi, &profile.npi);
        prop_assert_eq!(&back.ccn, &profile.ccn);
        prop_assert_eq!(back.address.as_ref().unwrap(), &profile.address);
        prop_assert!(p.unknown_elements.is_empty());
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        let _ = plan_from_value(&v);
        let wrapped = json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": v.clone()}]});
        let _ = plan_from_value(&wrapped);
        let org = json!({"resourceType": "Organization", "name": "X", "address": v.clone(), "identifier": v.clone(), "type": v});
        let _ = plan_from_value(&org);
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("Organization".to_string()),
            Just("OrganizationAffiliation".to_string()),
            Just(NPI_SYSTEM.to_string()),
            "[a-z/#:]{0,12}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("resourceType".to_string()),
                        Just("name".to_string()),
                        Just("identifier".to_string()),
                        Just("system".to_string()),
                        Just("value".to_string()),
                        Just("organization".to_string()),
                        Just("participatingOrganization".to_string()),
                        Just("reference".to_string()),
                        Just("entry".to_string()),
                        Just("resource".to_string()),
                        Just("line".to_string()),
                        "[a-z]{1,6}",
                    ],
                    inner
                ),
                0..4
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}
