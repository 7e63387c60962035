//! FHIR R4 over the JSON API, on SQLite and (when configured) PostgreSQL: the export's structure
//! and scope, imports of the real HL7 example resources (CC0, `tests/fixtures/fhir`), Bundles
//! assembled from them, refusals, invalid input that changes nothing, and a round trip from one
//! database into a fresh one.

mod common;

use common::TestApp;
use concord_domain::account::{Role, TokenScope};
use concord_domain::fhir::{check_bundle_structure, NPI_SYSTEM};
use reqwest::Method;
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/fhir/{name}.json",
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

fn bundle(resources: Vec<Value>) -> Value {
    let entry: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let full = format!(
                "http://hl7.org/fhir/{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap_or("x")
            );
            json!({ "fullUrl": full, "resource": r })
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "collection", "entry": entry })
}

async fn import_as(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    app.send_text_as(
        token,
        Method::POST,
        "/api/v1/fhir/import",
        "application/fhir+json",
        serde_json::to_vec(body).unwrap(),
    )
    .await
}

async fn import(app: &TestApp, body: &Value) -> (u16, Value) {
    import_as(app, &app.token, body).await
}

async fn export(app: &TestApp) -> Value {
    let r = app.get("/api/v1/fhir/export").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/fhir+json");
    r.json().await.expect("bundle")
}

async fn org_count(app: &TestApp) -> u64 {
    let (_, page) = app.get_json("/api/v1/organizations?per_page=1").await;
    page["total"].as_u64().unwrap()
}

/// Every organization as the API shows it, minus ids and timestamps.
async fn org_snapshot(a: &TestApp) -> Vec<Value> {
    let (_, page) = a.get_json("/api/v1/organizations?per_page=100").await;
    let mut out = Vec::new();
    for o in page["items"].as_array().unwrap() {
        let (_, full) = a
            .get_json(&format!("/api/v1/organizations/{}", o["id"]))
            .await;
        out.push(json!({
            "name": full["name"], "kind": full["kind"], "npi": full["npi"],
            "ccn": full["ccn"], "address": full["address"],
        }));
    }
    out
}

/// Every partnership (name, purpose, type, parties with their roles), by name.
async fn partnership_snapshot(a: &TestApp) -> Vec<Value> {
    let (_, page) = a
        .get_json("/api/v1/partnerships?per_page=100&sort=name")
        .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            json!({
                "name": p["name"], "purpose": p["purpose"], "type": p["type"],
                "parties": p["parties"].as_array().unwrap().iter()
                    .map(|x| json!([x["organization_name"], x["role"]]))
                    .collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// An NPI-bearing hospital, a dental group and a partnership of the home organization with each.
async fn home_view(app: &TestApp) -> (i64, i64, i64, i64) {
    let (s, hosp) = app
        .post_json(
            "/api/v1/organizations",
            &json!({
                "name": "Yale New Haven Hospital", "kind": "hospital",
                "npi": "1245319599", "ccn": "070022",
                "address": { "line1": "20 York Street", "city": "New Haven", "state": "CT",
                             "zip": "06510", "latitude": 41.3036, "longitude": -72.9360 }
            }),
        )
        .await;
    assert_eq!(s, 201, "{hosp}");
    let hosp = hosp["id"].as_i64().unwrap();
    let dental = app.org("Harbor Dental", "dental_group").await;
    let p1 = app
        .partnership("Smiles in primary care", app.home, dental)
        .await;
    let (s, p2) = app
        .post_json(
            "/api/v1/partnerships",
            &json!({
                "name": "Post-acute network", "purpose": "Fewer readmissions",
                "type": "vertically_adjacent",
                "parties": [
                    { "organization_id": hosp, "role": "acute hospital" },
                    { "organization_id": app.home, "role": "health system" },
                    { "organization_id": dental, "role": "oral health" }
                ]
            }),
        )
        .await;
    assert_eq!(s, 201, "{p2}");
    (hosp, dental, p1, p2["id"].as_i64().unwrap())
}

on_both!(the_export_is_a_sound_bundle_of_my_view_only, |app| {
    let (hosp, dental, p1, p2) = home_view(&app).await;
    // Another tenant's partnership, between organizations home has no partnership with.
    let (other, other_admin) = app
        .other_org("Elsewhere Clinic", "admin@elsewhere.example", Role::Admin)
        .await;
    let stranger = app.org("Stranger Pharmacy", "pharmacy").await;
    let (s, _) = app
        .send_json_as(
            &other_admin.token,
            Method::POST,
            "/api/v1/partnerships",
            &json!({ "name": "Not yours", "type": "ancillary_service", "parties": [
                { "organization_id": other, "role": "clinic" },
                { "organization_id": stranger, "role": "pharmacy" } ] }),
        )
        .await;
    assert_eq!(s, 201);

    let b = export(&app).await;
    assert_eq!(check_bundle_structure(&b), Vec::<String>::new(), "{b}");
    assert_eq!(b["resourceType"], "Bundle");
    assert_eq!(b["type"], "collection");
    let entries = b["entry"].as_array().unwrap();
    let of = |t: &str| -> Vec<&Value> {
        entries
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == t)
            .collect()
    };
    let orgs = of("Organization");
    let mut names: Vec<&str> = orgs.iter().map(|o| o["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "Harbor Dental",
            "Home Health System",
            "Yale New Haven Hospital"
        ]
    );
    for e in entries {
        assert!(e["fullUrl"].as_str().unwrap().starts_with("urn:uuid:"));
    }
    let yale = orgs
        .iter()
        .find(|o| o["id"] == format!("org-{hosp}"))
        .unwrap();
    assert_eq!(yale["identifier"][0]["system"], NPI_SYSTEM);
    assert_eq!(yale["identifier"][0]["value"], "1245319599");
    assert_eq!(yale["identifier"][1]["value"], "070022");
    assert_eq!(yale["type"][0]["coding"][0]["code"], "hospital");
    assert_eq!(yale["type"][0]["coding"][1]["code"], "prov");
    assert_eq!(yale["address"][0]["postalCode"], "06510");
    assert_eq!(yale["active"], true);
    let affs = of("OrganizationAffiliation");
    // One for the two-party deal, two for the three-party one.
    assert_eq!(affs.len(), 3);
    let a1 = affs
        .iter()
        .find(|a| a["id"] == format!("partnership-{p1}"))
        .unwrap();
    assert_eq!(a1["code"][0]["coding"][0]["code"], "horizontally_adjacent");
    assert_eq!(a1["active"], false, "exploring is not yet in force");
    assert!(a1["period"]["start"].as_str().unwrap().len() == 10);
    assert_eq!(
        affs.iter()
            .filter(|a| a["identifier"][0]["value"].as_str() == Some(&*p2.to_string()))
            .count(),
        2
    );
    let _ = dental;
    let text = b.to_string();
    assert!(!text.contains("Not yours") && !text.contains("Stranger Pharmacy"));
});

on_both!(
    a_round_trip_into_a_fresh_database_keeps_organizations_and_partnerships,
    |app| {
        let (_, _, p1, _) = home_view(&app).await;
        app.walk_stages(p1, &["assessing"]).await;
        let exported = export(&app).await;

        let fresh = TestApp::spawn(app.store.backend(), "fhir_round_trip_fresh")
            .await
            .expect("fresh app");
        let (s, report) = import(&fresh, &exported).await;
        assert_eq!(s, 200, "{report}");
        assert!(report["refused"].as_array().unwrap().is_empty(), "{report}");
        // The fresh database's home organization has the same name: matched, not duplicated.
        let home = report["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "Home Health System")
            .unwrap();
        assert_eq!(home["organization_id"], fresh.home);
        assert_eq!(home["action"], "unchanged");
        assert_eq!(report["partnerships"].as_array().unwrap().len(), 2);

        // Same organizations…
        assert_eq!(org_snapshot(&app).await, org_snapshot(&fresh).await);
        // …and same partnerships (name, purpose, type, parties with their roles); new ones explore.
        let before = partnership_snapshot(&app).await;
        assert_eq!(before.len(), 2);
        assert_eq!(before, partnership_snapshot(&fresh).await);
        let (_, page) = fresh.get_json("/api/v1/partnerships").await;
        for p in page["items"].as_array().unwrap() {
            assert_eq!(p["stage"], "exploring");
        }
        // Importing the same Bundle again changes nothing.
        let audit = fresh.audit_rows().await;
        let (s, again) = import(&fresh, &exported).await;
        assert_eq!(s, 200, "{again}");
        for o in again["organizations"].as_array().unwrap() {
            assert_eq!(o["action"], "unchanged", "{again}");
        }
        for p in again["partnerships"].as_array().unwrap() {
            assert_eq!(p["action"], "existing", "{again}");
        }
        assert_eq!(fresh.audit_rows().await, audit);
    }
);

on_both!(
    each_hl7_organization_example_imports_and_matches_by_name,
    |app| {
        for name in ORGS {
            let (s, r) = import(&app, &fixture(name)).await;
            assert_eq!(s, 200, "{name}: {r}");
            assert_eq!(r["organizations"][0]["action"], "created", "{name}: {r}");
            assert_eq!(r["organizations"][0]["path"], "Organization[0]");
        }
        assert_eq!(org_count(&app).await, 1 + ORGS.len() as u64);
        let (s, r) = import(&app, &fixture("Organization-f001")).await;
        assert_eq!(s, 200);
        assert_eq!(r["organizations"][0]["action"], "unchanged");
        assert_eq!(r["organizations"][0]["matched_by"], "name");
        let unknown: Vec<&str> = r["unknown_elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap())
            .collect();
        assert!(unknown.contains(&"Organization[0].contact"), "{unknown:?}");
        assert!(unknown.contains(&"Organization[0].telecom"), "{unknown:?}");
        let id = r["organizations"][0]["organization_id"].as_i64().unwrap();
        let (_, f001) = app.get_json(&format!("/api/v1/organizations/{id}")).await;
        assert_eq!(f001["kind"], "hospital");
        assert_eq!(f001["address"]["city"], "Den Burg");
        assert_eq!(f001["address"]["zip"], Value::Null);
        let (_, hl7) = app.get_json("/api/v1/organizations?q=Health%20Level").await;
        let (_, hl7) = app
            .get_json(&format!("/api/v1/organizations/{}", hl7["items"][0]["id"]))
            .await;
        assert_eq!(hl7["address"]["state"], "MI");
        assert_eq!(hl7["address"]["zip"], "48104");
    }
);

on_both!(a_bundle_of_the_examples_imports_refuses_and_skips, |app| {
    let mut resources: Vec<Value> = ORGS.iter().map(|n| fixture(n)).collect();
    // The example affiliation, with Home Health System as the participating organization.
    let mut mine = fixture("OrganizationAffiliation-example");
    mine["id"] = json!("mine");
    // (By display name: a relative `Organization/1` would resolve inside the Bundle first, to
    // the HL7 example whose id is `1`.)
    mine["participatingOrganization"] = json!({ "display": "Home Health System" });
    for n in [
        "OrganizationAffiliation-example",
        "OrganizationAffiliation-orgrole1",
        "OrganizationAffiliation-orgrole2",
        "Practitioner-f001",
        "Location-1",
    ] {
        resources.push(fixture(n));
    }
    resources.push(mine);
    let audit = app.audit_rows().await;
    let (s, r) = import(&app, &bundle(resources)).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["organizations"].as_array().unwrap().len(), 11);
    let refused: Vec<(&str, &str)> = r["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["path"].as_str().unwrap(), x["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        refused,
        vec![
            ("OrganizationAffiliation[0]", "not_a_party"),
            ("OrganizationAffiliation[1]", "not_a_party"),
            ("OrganizationAffiliation[2]", "not_a_party"),
        ]
    );
    let skipped: Vec<&str> = r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["resource_type"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, vec!["Practitioner", "Location"]);
    let ps = r["partnerships"].as_array().unwrap();
    assert_eq!(ps.len(), 1, "{r}");
    assert_eq!(ps[0]["paths"], json!(["OrganizationAffiliation[3]"]));
    assert_eq!(ps[0]["type"], "vertically_adjacent");
    assert_eq!(ps[0]["action"], "created");
    let pid = ps[0]["partnership_id"].as_i64().unwrap();
    let (s, p) = app.get_json(&format!("/api/v1/partnerships/{pid}")).await;
    assert_eq!(s, 200);
    assert_eq!(p["stage"], "exploring");
    assert_eq!(p["name"], "HL7 Payer network – Home Health System");
    assert_eq!(p["parties"][0]["organization_name"], "HL7 Payer network");
    assert_eq!(p["parties"][1]["organization_id"], app.home);
    // 11 organizations and 1 partnership, each with its audit row.
    assert_eq!(app.audit_rows().await, audit + 12);
});

on_both!(
    an_affiliation_outside_the_bundle_resolves_by_display_name,
    |app| {
        let (rehab, rehab_admin) = app
            .other_org(
                "Independence Rehabilitation Services, Inc.",
                "admin@rehab.example",
                Role::Admin,
            )
            .await;
        let orgrole1 = fixture("OrganizationAffiliation-orgrole1");
        // The hospital is in neither the Bundle nor Concord: the reference cannot be resolved.
        let (s, p) = import_as(&app, &rehab_admin.token, &orgrole1).await;
        assert_eq!(s, 422, "{p}");
        assert_eq!(
            p["errors"][0]["field"],
            "OrganizationAffiliation[0].organization"
        );
        assert_eq!(p["errors"][0]["code"], "unresolved_reference");
        // Once it is, the partnership is recorded with the roles the resource names.
        app.org("Founding Fathers Memorial Hospital", "hospital")
            .await;
        let (s, r) = import_as(&app, &rehab_admin.token, &orgrole1).await;
        assert_eq!(s, 200, "{r}");
        let pid = r["partnerships"][0]["partnership_id"].as_i64().unwrap();
        let (_, p) = app
            .send_json_as(
                &rehab_admin.token,
                Method::GET,
                &format!("/api/v1/partnerships/{pid}"),
                &Value::Null,
            )
            .await;
        assert_eq!(p["type"], "vertically_adjacent");
        assert_eq!(p["parties"][1]["organization_id"], rehab);
        assert_eq!(
            p["parties"][1]["role"],
            "Provider of rehabilitation services"
        );
        assert!(r["unknown_elements"]
            .as_array()
            .unwrap()
            .contains(&json!("OrganizationAffiliation[0].healthcareService")));
        // The home organization is party to neither: refused, nothing written.
        let audit = app.audit_rows().await;
        let (s, r) = import(&app, &orgrole1).await;
        assert_eq!(s, 200);
        assert_eq!(r["refused"][0]["code"], "not_a_party");
        assert!(r["partnerships"].as_array().unwrap().is_empty());
        assert_eq!(app.audit_rows().await, audit);
    }
);

on_both!(organizations_are_matched_by_npi_and_guarded, |app| {
    let (s, o) = app
        .post_json(
            "/api/v1/organizations",
            &json!({ "name": "Old Name Clinic", "kind": "physician_group", "npi": "1003000126" }),
        )
        .await;
    assert_eq!(s, 201);
    let id = o["id"].as_i64().unwrap();
    let res = json!({
        "resourceType": "Organization",
        "identifier": [{ "system": NPI_SYSTEM, "value": "1003000126" }],
        "name": "New Name Clinic",
        "address": [{ "line": ["1 Main St"], "city": "Providence", "state": "RI", "postalCode": "02903" }]
    });
    let (s, r) = import(&app, &res).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["organizations"][0]["organization_id"], id);
    assert_eq!(r["organizations"][0]["action"], "updated");
    assert_eq!(r["organizations"][0]["matched_by"], "npi");
    let (_, o) = app.get_json(&format!("/api/v1/organizations/{id}")).await;
    assert_eq!(o["name"], "New Name Clinic");
    assert_eq!(o["kind"], "physician_group", "no type: the kind is kept");
    assert_eq!(o["address"]["zip"], "02903");

    // Renaming it onto another organization's name is a problem, not a silent merge.
    app.org("Taken Name", "other").await;
    let mut clash = res.clone();
    clash["name"] = json!("Taken Name");
    let (s, p) = import(&app, &clash).await;
    assert_eq!(s, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "Organization[0].name");
    assert_eq!(p["errors"][0]["code"], "duplicate");

    // An organization with its own members is changed only by its admins: refused, reported.
    let (other, _) = app
        .other_org("Member Org", "admin@member.example", Role::Admin)
        .await;
    let audit = app.audit_rows().await;
    let (s, r) = import(
        &app,
        &json!({ "resourceType": "Organization", "name": "member org",
                 "address": [{ "city": "Hartford", "state": "CT" }] }),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["refused"][0]["code"], "not_permitted");
    assert_eq!(r["organizations"][0]["organization_id"], other);
    assert_eq!(r["organizations"][0]["action"], "unchanged");
    let (_, o) = app
        .get_json(&format!("/api/v1/organizations/{other}"))
        .await;
    assert_eq!(o["address"]["city"], Value::Null);
    assert_eq!(app.audit_rows().await, audit);
});

on_both!(invalid_input_changes_nothing_and_names_the_element, |app| {
    let before = org_count(&app).await;
    let audit = app.audit_rows().await;
    let bad = bundle(vec![
        fixture("Organization-hl7"),
        json!({ "resourceType": "Organization", "id": "bad",
                "identifier": [{ "system": NPI_SYSTEM, "value": "1234567890" }],
                "name": "Bad NPI Clinic" }),
        json!({ "resourceType": "OrganizationAffiliation", "id": "p",
                "organization": { "reference": "Organization/hl7" },
                "participatingOrganization": { "reference": "Organization/hl7" } }),
    ]);
    let (s, p) = import(&app, &bad).await;
    assert_eq!(s, 422, "{p}");
    assert_eq!(p["code"], "validation_failed");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "Organization[1].identifier[0].value",
            "OrganizationAffiliation[0].participatingOrganization"
        ]
    );
    assert_eq!(org_count(&app).await, before);
    assert_eq!(app.audit_rows().await, audit);

    // A single resource of another type.
    let (s, p) = import(&app, &fixture("Practitioner-f001")).await;
    assert_eq!(s, 422);
    assert_eq!(p["field"], "resourceType");
    assert_eq!(p["errors"][0]["code"], "unsupported_resource_type");
    // Not JSON: the line and column.
    let (s, p) = app
        .send_text_as(
            &app.token,
            Method::POST,
            "/api/v1/fhir/import",
            "application/json",
            "{\n  \"resourceType\": \"Organization\",\n  \"name\": \n}",
        )
        .await;
    assert_eq!(s, 400, "{p}");
    assert_eq!(p["code"], "malformed_json");
    assert_eq!(p["field"], "line 4, column 1");
    // Not FHIR JSON at all.
    let (s, p) = app
        .send_text_as(
            &app.token,
            Method::POST,
            "/api/v1/fhir/import",
            "text/csv",
            "a,b",
        )
        .await;
    assert_eq!(s, 415, "{p}");
    assert_eq!(org_count(&app).await, before);
    assert_eq!(app.audit_rows().await, audit);
});

on_both!(only_managers_import_and_anyone_signed_in_exports, |app| {
    let viewer = app
        .member(
            "viewer@home.example",
            app.home,
            Role::Viewer,
            TokenScope::Read,
        )
        .await;
    let contributor = app
        .member(
            "contrib@home.example",
            app.home,
            Role::Contributor,
            TokenScope::ReadWrite,
        )
        .await;
    let (s, p) = import_as(&app, &contributor.token, &fixture("Organization-hl7")).await;
    assert_eq!(s, 403, "{p}");
    let (s, _) = import_as(&app, &viewer.token, &fixture("Organization-hl7")).await;
    assert_eq!(s, 403);
    let r = app
        .get_as(&viewer.token, "/api/v1/fhir/export?download=true")
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let r = app
        .client
        .get(app.url("/api/v1/fhir/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (s, _) = app.get_json("/api/v1/fhir/export?format=xml").await;
    assert_eq!(s, 400);
});

on_both!(the_fhir_page_exports_imports_and_reports, |app| {
    let web = app.sign_in("admin@home.example").await;
    let html = web.get("/fhir").await.text().await.unwrap();
    assert!(html.contains("href=\"/api/v1/fhir/export?download=true\""));
    let r = web.get("/api/v1/fhir/export?download=true").await;
    assert_eq!(r.status(), 200, "the download link works with the session");
    let post = |text: String, file: Option<Vec<u8>>| {
        let mut form = reqwest::multipart::Form::new().text("text", text);
        if let Some(f) = file {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(f).file_name("bundle.json"),
            );
        }
        web.client
            .post(format!("{}/fhir/import?csrf={}", web.base, web.csrf))
            .multipart(form)
            .send()
    };
    let r = post(fixture("Organization-f201").to_string(), None)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"import-report\""), "{html}");
    assert!(html.contains("Artis University Medical Center (AUMC)"));
    assert!(html.contains("Organization[0].contact"));
    let file = serde_json::to_vec(&bundle(vec![
        fixture("Organization-mmanu"),
        fixture("Location-1"),
    ]))
    .unwrap();
    let r = post(String::new(), Some(file)).await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Acme Corporation") && html.contains("a Location"),
        "{html}"
    );
    let r = post("{ not json".into(), None).await.unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Nothing was imported") && html.contains("line 1, column 3"),
        "{html}"
    );
    let r = post(
        json!({"resourceType": "Organization", "name": ""}).to_string(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Organization[0].name"));
});

on_both!(a_single_affiliation_refers_by_local_id_or_npi, |app| {
    let (s, o) = app
        .post_json(
            "/api/v1/organizations",
            &json!({ "name": "Ocean State Labs", "kind": "lab_imaging", "npi": "1743512349" }),
        )
        .await;
    assert_eq!(s, 201);
    let lab = o["id"].as_i64().unwrap();
    let aff = json!({
        "resourceType": "OrganizationAffiliation",
        "organization": { "reference": format!("Organization/{}", app.home) },
        "participatingOrganization": {
            "identifier": { "system": NPI_SYSTEM, "value": "1743512349" }
        },
        "code": [{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/organization-role",
            "code": "diagnostics" }] }]
    });
    let (s, r) = import(&app, &aff).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["partnerships"][0]["type"], "ancillary_service");
    let pid = r["partnerships"][0]["partnership_id"].as_i64().unwrap();
    let (_, p) = app.get_json(&format!("/api/v1/partnerships/{pid}")).await;
    assert_eq!(p["parties"][0]["organization_id"], app.home);
    assert_eq!(p["parties"][1]["organization_id"], lab);
    assert_eq!(p["parties"][1]["role"], "Participating organization");
    // A local id whose display names someone else does not resolve to it.
    let mut wrong = aff.clone();
    wrong["participatingOrganization"] =
        json!({ "reference": format!("Organization/{lab}"), "display": "Somebody Else" });
    let (s, p) = import(&app, &wrong).await;
    assert_eq!(s, 422, "{p}");
    assert_eq!(
        p["errors"][0]["field"],
        "OrganizationAffiliation[0].participatingOrganization"
    );
    // A reference to something that is not an Organization.
    wrong["participatingOrganization"] = json!({ "reference": "Practitioner/f001" });
    let (s, p) = import(&app, &wrong).await;
    assert_eq!(s, 422, "{p}");
    assert_eq!(p["errors"][0]["code"], "invalid_reference");
});
