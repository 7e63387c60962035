//! Fit scorecards, promotion, competitors and the ecosystem map over the JSON API, on SQLite and
//! (when configured) PostgreSQL: scoring with evidence and an explained total, weights and gates,
//! privacy (another organization — the candidate, a partner — gets 404 and sees nothing), bad
//! input named by field, promotion in one transaction (twice is a 409), and the map.

mod common;

use common::TestApp;
use concord_domain::account::{Role, TokenScope};
use reqwest::Method;
use serde_json::{json, Value};

/// Gives the home organization a profile the criteria can read.
async fn home_profile(app: &TestApp) {
    let (s, body) = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/organizations/{}", app.home),
            &json!({
                "name": "Home Health System", "kind": "health_system",
                "address": { "city": "New Haven", "state": "CT", "zip": "06510",
                             "latitude": 41.3083, "longitude": -72.9279 },
                "size": { "providers": 400 },
                "values": ["equity", "physician-led"],
                "capabilities_sought": ["dental", "podiatry"]
            }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

/// A dental group near the home organization, with a half-filled business model.
async fn dental_group(app: &TestApp) -> i64 {
    let (s, body) = app
        .post_json(
            "/api/v1/organizations",
            &json!({
                "name": "Bright Harbor Dental", "kind": "dental_group",
                "npi": "1003000126",
                "address": { "city": "New Haven", "state": "CT", "zip": "06511",
                             "latitude": 41.3163, "longitude": -72.9223 },
                "size": { "providers": 20 },
                "values": ["Equity", "access"],
                "capabilities_offered": ["dental"],
                "business_model": { "revenue_model": "fee_for_service",
                                    "decision_making": "The partners vote" }
            }),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    body["id"].as_i64().unwrap()
}

fn criterion<'a>(sc: &'a Value, name: &str) -> &'a Value {
    sc["evaluation"]["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["criterion"] == name)
        .unwrap_or_else(|| panic!("{name} in {sc}"))
}

on_both!(an_organization_is_scored_judged_and_promoted, |app| {
    home_profile(&app).await;
    let dental = dental_group(&app).await;
    let audit0 = app.audit_rows().await;
    let (s, sc) = app
        .post_json("/api/v1/scorecards", &json!({ "organization_id": dental }))
        .await;
    assert_eq!(s, 201, "{sc}");
    let id = sc["id"].as_i64().unwrap();
    assert_eq!(sc["candidate"]["source"], "organization");
    assert_eq!(sc["candidate"]["profile"]["name"], "Bright Harbor Dental");
    assert_eq!(criterion(&sc, "complementarity")["score"], 50.0);
    assert_eq!(criterion(&sc, "business_model_transparency")["score"], 40.0);
    assert!(criterion(&sc, "geographic_fit")["explanation"]
        .as_str()
        .unwrap()
        .contains("same ZIP3"));
    assert!(criterion(&sc, "strategic_alignment")["score"].is_null());
    // 400 providers against 20: the balance of power warns.
    assert!(sc["evaluation"]["warnings"][0]
        .as_str()
        .unwrap()
        .contains("Home Health System is 20.0×"));
    assert!(sc["evaluation"]["price_note"]
        .as_str()
        .unwrap()
        .contains("Price is deliberately not a criterion"));
    assert_eq!(app.audit_rows().await, audit0 + 1);

    // Judgements and evidence.
    let (s, sc) = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/scorecards/{id}/judgements"),
            &json!({ "criteria": {
                "strategic_alignment": { "judgement": 5, "evidence": "Closes our dental gap in New Haven" },
                "historical_performance": { "judgement": 4, "evidence": "Referral data 2025" },
                "geographic_fit": { "evidence": "Two blocks from our clinic" }
            }}),
        )
        .await;
    assert_eq!(s, 200, "{sc}");
    assert_eq!(criterion(&sc, "strategic_alignment")["score"], 100.0);
    assert_eq!(
        criterion(&sc, "strategic_alignment")["evidence"],
        "Closes our dental gap in New Haven"
    );
    assert_eq!(criterion(&sc, "historical_performance")["score"], 75.0);
    assert_eq!(
        criterion(&sc, "geographic_fit")["evidence"],
        "Two blocks from our clinic"
    );
    let total = sc["evaluation"]["total"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&total));
    let contributions: f64 = sc["evaluation"]["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contribution"].as_f64().unwrap())
        .sum();
    assert!(
        (contributions - total).abs() < 0.5,
        "{contributions} vs {total}"
    );
    assert!(sc["evaluation"]["explanation"][0]
        .as_str()
        .unwrap()
        .starts_with("Total "));

    // Listed for the evaluator.
    let (s, list) = app.get_json("/api/v1/scorecards").await;
    assert_eq!(s, 200);
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["candidate_name"], "Bright Harbor Dental");

    // Promotion: the organization exists already, so only the partnership is new.
    let audit1 = app.audit_rows().await;
    let (s, p) = app
        .post_json(
            &format!("/api/v1/scorecards/{id}/promote"),
            &json!({ "type": "horizontally_adjacent" }),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["organization_id"], dental);
    assert_eq!(p["organization_created"], false);
    assert_eq!(p["matched_by"], "organization");
    let pid = p["partnership_id"].as_i64().unwrap();
    let (s, partnership) = app.get_json(&format!("/api/v1/partnerships/{pid}")).await;
    assert_eq!(s, 200);
    assert_eq!(partnership["stage"], "exploring");
    assert_eq!(partnership["type"], "horizontally_adjacent");
    let parties: Vec<i64> = partnership["parties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["organization_id"].as_i64().unwrap())
        .collect();
    assert_eq!(parties, vec![app.home, dental]);
    // The partnership's creation and the promotion, audited.
    assert_eq!(app.audit_rows().await, audit1 + 2);
    let (_, sc) = app.get_json(&format!("/api/v1/scorecards/{id}")).await;
    assert_eq!(sc["partnership_id"], pid);

    // Twice is a conflict, and nothing more is written.
    app.expect_problem(
        &app.token,
        Method::POST,
        &format!("/api/v1/scorecards/{id}/promote"),
        Some(&json!({ "type": "horizontally_adjacent" })),
        409,
        "already_promoted",
        "id",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit1 + 2);
});

on_both!(a_scorecard_is_private_to_the_evaluator, |app| {
    home_profile(&app).await;
    let dental = dental_group(&app).await;
    let candidate_admin = app
        .member(
            "admin@dental.example",
            dental,
            Role::Admin,
            TokenScope::ReadWrite,
        )
        .await;
    let (partner_org, partner) = app
        .other_org("Partner Group", "am@partner.example", Role::AllianceManager)
        .await;
    app.partnership("Shared deal", app.home, partner_org).await;
    let (s, sc) = app
        .post_json("/api/v1/scorecards", &json!({ "organization_id": dental }))
        .await;
    assert_eq!(s, 201);
    let id = sc["id"].as_i64().unwrap();
    let (s, c) = app
        .post_json(
            "/api/v1/competitors",
            &json!({ "organization_id": dental, "note": "SECRET-RIVALRY" }),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let cid = c["id"].as_i64().unwrap();
    let audit = app.audit_rows().await;
    for who in [&candidate_admin.token, &partner.token] {
        for (m, path, body) in [
            (Method::GET, format!("/api/v1/scorecards/{id}"), None),
            (
                Method::PUT,
                format!("/api/v1/scorecards/{id}/judgements"),
                Some(json!({ "criteria": {} })),
            ),
            (
                Method::POST,
                format!("/api/v1/scorecards/{id}/promote"),
                Some(json!({ "type": "wholesale" })),
            ),
            (Method::DELETE, format!("/api/v1/competitors/{cid}"), None),
        ] {
            app.expect_problem(who, m, &path, body.as_ref(), 404, "not_found", "")
                .await;
        }
        let (s, list) = app.call(who, Method::GET, "/api/v1/scorecards", None).await;
        assert_eq!(s, 200);
        assert_eq!(list, json!([]), "another organization sees no scorecard");
        let (_, list) = app
            .call(who, Method::GET, "/api/v1/competitors", None)
            .await;
        assert_eq!(list, json!([]));
        let (_, map) = app
            .call(who, Method::GET, "/api/v1/ecosystem/map", None)
            .await;
        assert!(!map.to_string().contains("SECRET-RIVALRY"), "{map}");
        assert!(
            map["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|n| n["kind"] == "partner"),
            "only its own partnerships: {map}"
        );
    }
    // The partner's map shows its own partnership with home, not home's candidates.
    let (_, map) = app
        .call(&partner.token, Method::GET, "/api/v1/ecosystem/map", None)
        .await;
    assert!(!map.to_string().contains("Bright Harbor Dental"), "{map}");
    assert_eq!(app.audit_rows().await, audit, "nothing was written");
});

on_both!(bad_input_is_named_by_field_and_writes_nothing, |app| {
    home_profile(&app).await;
    let dental = dental_group(&app).await;
    let (_, sc) = app
        .post_json("/api/v1/scorecards", &json!({ "organization_id": dental }))
        .await;
    let id = sc["id"].as_i64().unwrap();
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
            "contributor@home.example",
            app.home,
            Role::Contributor,
            TokenScope::ReadWrite,
        )
        .await;
    let web = app.sign_in(&viewer.email).await;
    let audit = app.audit_rows().await;
    let t = &app.token;
    let judge = format!("/api/v1/scorecards/{id}/judgements");
    for (body, field, code) in [
        (
            json!({ "criteria": { "strategic_alignment": { "judgement": 6 } } }),
            "criteria.strategic_alignment.judgement",
            "out_of_range",
        ),
        (
            json!({ "criteria": { "strategic_alignment": { "judgement": 0 } } }),
            "criteria.strategic_alignment.judgement",
            "out_of_range",
        ),
        (
            json!({ "criteria": { "price": { "judgement": 3 } } }),
            "criteria.price",
            "unknown_criterion",
        ),
        (
            json!({ "criteria": { "complementarity": { "judgement": 3 } } }),
            "criteria.complementarity.judgement",
            "not_judged",
        ),
    ] {
        app.expect_invalid(t, Method::PUT, &judge, &body, field, code)
            .await;
    }
    for (body, field, code) in [
        (
            json!({ "weights": { "geographic_fit": -1 } }),
            "weights.geographic_fit",
            "negative",
        ),
        (
            json!({ "weights": { "price": 2 } }),
            "weights.price",
            "unknown_criterion",
        ),
        (
            json!({ "gates": { "geographic_fit": 101 } }),
            "gates.geographic_fit",
            "out_of_range",
        ),
        (
            json!({ "gates": { "complementarity": -0.5 } }),
            "gates.complementarity",
            "out_of_range",
        ),
    ] {
        app.expect_invalid(
            t,
            Method::PUT,
            "/api/v1/scorecard-settings",
            &body,
            field,
            code,
        )
        .await;
    }
    // A weight too large for a float is named too.
    let r = app
        .client
        .put(app.url("/api/v1/scorecard-settings"))
        .bearer_auth(t)
        .header("content-type", "application/json")
        .body(r#"{"weights":{"geographic_fit":1e400}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["field"], "weights.geographic_fit", "{p}");
    for (body, field, code) in [
        (json!({}), "organization_id", "required"),
        (
            json!({ "organization_id": 999999 }),
            "organization_id",
            "unknown_organization",
        ),
        (
            json!({ "organization_id": app.home }),
            "organization_id",
            "own_organization",
        ),
        (
            json!({ "organization_id": dental, "source": "nppes", "ref": "1003000126" }),
            "organization_id",
            "ambiguous",
        ),
        (json!({ "source": "nppes" }), "ref", "required"),
        (
            json!({ "source": "not_a_source", "ref": "x" }),
            "source",
            "unknown_source",
        ),
    ] {
        app.expect_invalid(t, Method::POST, "/api/v1/scorecards", &body, field, code)
            .await;
    }
    app.expect_problem(
        t,
        Method::POST,
        "/api/v1/scorecards",
        Some(&json!({ "organization_id": dental })),
        409,
        "duplicate",
        "candidate",
    )
    .await;
    app.expect_problem(
        t,
        Method::POST,
        "/api/v1/scorecards",
        Some(&json!({ "organization": dental })),
        422,
        "unknown_field",
        "organization",
    )
    .await;
    app.expect_problem(
        t,
        Method::POST,
        &format!("/api/v1/scorecards/{id}/promote"),
        Some(&json!({ "type": "merger" })),
        422,
        "invalid_value",
        "type",
    )
    .await;
    app.expect_problem(
        t,
        Method::GET,
        "/api/v1/scorecards/999999",
        None,
        404,
        "not_found",
        "",
    )
    .await;
    for (body, field, code) in [
        (
            json!({ "organization_id": app.home }),
            "organization_id",
            "own_organization",
        ),
        (
            json!({ "organization_id": 999999 }),
            "organization_id",
            "unknown_organization",
        ),
    ] {
        app.expect_invalid(t, Method::POST, "/api/v1/competitors", &body, field, code)
            .await;
    }
    app.expect_problem(
        t,
        Method::GET,
        "/api/v1/ecosystem/map?kinds=planet",
        None,
        400,
        "invalid_query",
        "kinds",
    )
    .await;
    // A viewer reads but does not write; a contributor judges but does not set weights.
    let (s, _) = app
        .call(
            &viewer.token,
            Method::GET,
            &format!("/api/v1/scorecards/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    for (m, path, body) in [
        (Method::PUT, judge.clone(), json!({ "criteria": {} })),
        (
            Method::POST,
            "/api/v1/scorecards".to_string(),
            json!({ "organization_id": dental }),
        ),
        (
            Method::POST,
            "/api/v1/competitors".to_string(),
            json!({ "organization_id": dental }),
        ),
    ] {
        app.expect_problem(&web, m, &path, Some(&body), 403, "forbidden", "")
            .await;
    }
    app.expect_problem(
        &contributor.token,
        Method::PUT,
        "/api/v1/scorecard-settings",
        Some(&json!({})),
        403,
        "forbidden",
        "",
    )
    .await;
    app.expect_problem(
        &contributor.token,
        Method::POST,
        &format!("/api/v1/scorecards/{id}/promote"),
        Some(&json!({ "type": "wholesale" })),
        403,
        "forbidden",
        "",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit, "nothing was written");
});

on_both!(weights_and_gates_shape_the_total_and_the_verdict, |app| {
    home_profile(&app).await;
    let dental = dental_group(&app).await;
    let (_, sc) = app
        .post_json("/api/v1/scorecards", &json!({ "organization_id": dental }))
        .await;
    let id = sc["id"].as_i64().unwrap();
    let (s, _) = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/scorecards/{id}/judgements"),
            &json!({ "criteria": { "strategic_alignment": { "judgement": 3, "evidence": "Maybe" } } }),
        )
        .await;
    assert_eq!(s, 200);
    let (s, settings) = app.get_json("/api/v1/scorecard-settings").await;
    assert_eq!(s, 200);
    assert_eq!(settings["weights"]["strategic_alignment"], 1.0);
    let (s, settings) = app
        .send_json(
            Method::PUT,
            "/api/v1/scorecard-settings",
            &json!({ "weights": { "strategic_alignment": 3, "balance_of_power": 0 },
                     "gates": { "strategic_alignment": 80 } }),
        )
        .await;
    assert_eq!(s, 200, "{settings}");
    assert_eq!(settings["weights"]["balance_of_power"], 0.0);
    let (_, sc) = app.get_json(&format!("/api/v1/scorecards/{id}")).await;
    assert_eq!(sc["evaluation"]["verdict"], "fails_gate", "{sc}");
    assert_eq!(sc["evaluation"]["gates"][0]["passed"], false);
    let explanation = sc["evaluation"]["explanation"].to_string();
    assert!(explanation.contains("Balance of power is left out: its weight is 0"));
    assert!(explanation.contains("Fails a must-pass gate"));
    assert_eq!(criterion(&sc, "balance_of_power")["contribution"], 0.0);
    let (_, list) = app.get_json("/api/v1/scorecards").await;
    assert_eq!(list[0]["verdict"], "fails_gate");
    assert_eq!(list[0]["failed_gates"], 1);
    // Meeting the gate lifts the verdict.
    app.send_json(
        Method::PUT,
        &format!("/api/v1/scorecards/{id}/judgements"),
        &json!({ "criteria": { "strategic_alignment": { "judgement": 5 } } }),
    )
    .await;
    let (_, sc) = app.get_json(&format!("/api/v1/scorecards/{id}")).await;
    assert_ne!(sc["evaluation"]["verdict"], "fails_gate", "{sc}");
});

on_both!(competitors_and_the_ecosystem_map, |app| {
    home_profile(&app).await;
    let dental = dental_group(&app).await;
    let rival = app.org("Rival Health", "health_system").await;
    let partner = app.org("Valley Podiatry", "specialty_practice").await;
    let pid = app.partnership("Feet first", app.home, partner).await;
    let (s, sc) = app
        .post_json("/api/v1/scorecards", &json!({ "organization_id": dental }))
        .await;
    assert_eq!(s, 201);
    let sid = sc["id"].as_i64().unwrap();
    let (s, c) = app
        .post_json(
            "/api/v1/competitors",
            &json!({ "organization_id": rival, "note": "Same market" }),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["name"], "Rival Health");
    assert_eq!(c["note"], "Same market");
    app.expect_problem(
        &app.token,
        Method::POST,
        "/api/v1/competitors",
        Some(&json!({ "organization_id": rival })),
        409,
        "duplicate",
        "organization_id",
    )
    .await;
    let (_, list) = app.get_json("/api/v1/competitors").await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    let (s, map) = app.get_json("/api/v1/ecosystem/map").await;
    assert_eq!(s, 200, "{map}");
    assert_eq!(map["center"]["label"], "Home Health System");
    let kinds: Vec<(&str, &str)> = map["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["kind"].as_str().unwrap(), n["label"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("partner", "Valley Podiatry"),
            ("candidate", "Bright Harbor Dental"),
            ("competitor", "Rival Health"),
        ]
    );
    let partner_edge = map["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["relation"] == "partnership")
        .unwrap();
    assert_eq!(partner_edge["partnership_id"], pid);
    assert_eq!(partner_edge["partnership_type"], "horizontally_adjacent");
    assert_eq!(partner_edge["health"], "no_data");
    let candidate_node = map["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "candidate")
        .unwrap();
    assert_eq!(candidate_node["href"], format!("/scorecards/{sid}"));
    assert!(map["legend"].as_array().unwrap().len() >= 8);
    // The same question twice draws the same picture.
    let (_, again) = app.get_json("/api/v1/ecosystem/map").await;
    assert_eq!(map, again);

    let (_, only) = app
        .get_json("/api/v1/ecosystem/map?kinds=competitor,candidate")
        .await;
    assert_eq!(only["nodes"].as_array().unwrap().len(), 2);
    let (_, typed) = app.get_json("/api/v1/ecosystem/map?type=wholesale").await;
    assert!(typed["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["kind"] != "partner"));

    // Off the list.
    let cid = c["id"].as_i64().unwrap();
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/competitors/{cid}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    app.expect_problem(
        &app.token,
        Method::DELETE,
        &format!("/api/v1/competitors/{cid}"),
        None,
        404,
        "not_found",
        "",
    )
    .await;
});

/// Runs SQL on the test database directly: the public-data importer's tables, filled by hand.
async fn exec(url: &str, sql: &str) {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
    }
}

const MARKET: &str = "
INSERT INTO market_sources (source, version, file_name, rows_read, rows_loaded, rows_rejected, summary, imported_at)
VALUES ('nppes', 1, 'npidata_pfile.csv', 2, 2, 0, '{}', '2026-11-01T00:00:00Z'),
       ('hospitals', 1, 'hospitals.csv', 1, 1, 0, '{}', '2026-11-01T00:00:00Z');
INSERT INTO market_candidates (id, source, version, kind, ref, name, address, city, state, zip, latitude, longitude,
    providers, beds, specialties, capabilities, facility_type, ownership, star_rating, detail)
VALUES (1, 'nppes', 1, 'organization', '1841293990', 'SHORELINE FOOT AND ANKLE LLC', '12 Main St', 'Branford', 'CT',
        '064052201', 41.2795, -72.8151, 6, NULL, '[\"Podiatrist\"]', '[\"podiatry\"]', NULL, NULL, NULL, '{}'),
       (2, 'hospitals', 1, 'hospital', '070022', 'YALE-NEW HAVEN HOSPITAL', '20 York St', 'New Haven', 'CT',
        '06510', 41.3040, -72.9360, NULL, 1541, '[]', '[\"hospital_care\"]', 'Acute Care Hospitals',
        'Voluntary non-profit - Private', 4, '{}');
";

macro_rules! on_both_with_db {
    ($name:ident, |$app:ident, $url:ident| $body:block) => {
        mod $name {
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let ($app, $url) =
                    TestApp::spawn_with_url(concord_storage::Backend::Sqlite, stringify!($name))
                        .await
                        .expect("sqlite app");
                $body
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(($app, $url)) =
                    TestApp::spawn_with_url(concord_storage::Backend::Postgres, stringify!($name))
                        .await
                {
                    $body
                }
            }
        }
    };
}

on_both_with_db!(
    a_public_data_candidate_is_snapshotted_and_promoted,
    |app, url| {
        home_profile(&app).await;
        exec(&url, MARKET).await;
        app.expect_invalid(
            &app.token,
            Method::POST,
            "/api/v1/scorecards",
            &json!({ "source": "nppes", "ref": "1234567893" }),
            "ref",
            "unknown_candidate",
        )
        .await;
        let (s, sc) = app
            .post_json(
                "/api/v1/scorecards",
                &json!({ "source": "nppes", "ref": "1841293990" }),
            )
            .await;
        assert_eq!(s, 201, "{sc}");
        let id = sc["id"].as_i64().unwrap();
        let profile = &sc["candidate"]["profile"];
        assert_eq!(profile["name"], "SHORELINE FOOT AND ANKLE LLC");
        assert_eq!(profile["npi"], "1841293990");
        assert_eq!(profile["size"]["providers"], 6);
        assert_eq!(criterion(&sc, "complementarity")["score"], 50.0);
        assert_eq!(criterion(&sc, "business_model_transparency")["score"], 0.0);
        // A hospital with a star rating.
        let (s, hosp) = app
            .post_json(
                "/api/v1/scorecards",
                &json!({ "source": "hospitals", "ref": "070022" }),
            )
            .await;
        assert_eq!(s, 201, "{hosp}");
        assert_eq!(criterion(&hosp, "historical_performance")["score"], 75.0);
        assert_eq!(hosp["candidate"]["profile"]["ccn"], "070022");

        // A re-import that drops the candidate leaves the scorecard whole.
        exec(&url, "DELETE FROM market_candidates").await;
        let (s, again) = app.get_json(&format!("/api/v1/scorecards/{id}")).await;
        assert_eq!(s, 200);
        assert_eq!(
            again["candidate"]["profile"]["name"],
            "SHORELINE FOOT AND ANKLE LLC"
        );

        // Promotion creates the organization from the snapshot and the partnership, audited.
        let audit = app.audit_rows().await;
        let (s, p) = app
        .post_json(
            &format!("/api/v1/scorecards/{id}/promote"),
            &json!({ "type": "horizontally_adjacent", "name": "Feet first", "purpose": "Diabetic foot care" }),
        )
        .await;
        assert_eq!(s, 201, "{p}");
        assert_eq!(p["organization_created"], true);
        assert_eq!(p["matched_by"], "created");
        assert_eq!(app.audit_rows().await, audit + 3);
        let org = p["organization_id"].as_i64().unwrap();
        let (_, o) = app.get_json(&format!("/api/v1/organizations/{org}")).await;
        assert_eq!(o["npi"], "1841293990");
        assert_eq!(o["kind"], "specialty_practice");
        assert_eq!(o["address"]["zip"], "06405");
        assert_eq!(o["capabilities_offered"], json!(["podiatry"]));
        let (_, part) = app
            .get_json(&format!("/api/v1/partnerships/{}", p["partnership_id"]))
            .await;
        assert_eq!(part["name"], "Feet first");
        assert_eq!(part["stage"], "exploring");
        // Now the scorecard reads the organization.
        let (_, sc) = app.get_json(&format!("/api/v1/scorecards/{id}")).await;
        assert_eq!(sc["candidate"]["organization_id"], org);

        // Another organization's scorecard of the same NPI matches the organization just created.
        let (_, other) = app
            .other_org("Other Health", "am@other.example", Role::AllianceManager)
            .await;
        exec(
        &url,
        "INSERT INTO market_candidates (id, source, version, kind, ref, name, address, city, state, zip, latitude, longitude, \
         providers, beds, specialties, capabilities, facility_type, ownership, star_rating, detail) VALUES \
         (3, 'nppes', 1, 'organization', '1841293990', 'Shoreline Foot & Ankle', '12 Main St', 'Branford', 'CT', '06405', \
          41.2795, -72.8151, 6, NULL, '[]', '[]', NULL, NULL, NULL, '{}')",
    )
    .await;
        let (s, sc2) = app
            .call(
                &other.token,
                Method::POST,
                "/api/v1/scorecards",
                Some(&json!({ "source": "nppes", "ref": "1841293990" })),
            )
            .await;
        assert_eq!(s, 201, "{sc2}");
        let (s, p2) = app
            .call(
                &other.token,
                Method::POST,
                &format!("/api/v1/scorecards/{}/promote", sc2["id"]),
                Some(&json!({ "type": "wholesale" })),
            )
            .await;
        assert_eq!(s, 201, "{p2}");
        assert_eq!(p2["organization_id"], org);
        assert_eq!(p2["matched_by"], "npi");
        assert_eq!(p2["organization_created"], false);
    }
);

/// One candidate (source, ref) of each kind in the imported data.
async fn one_of_each_kind(url: &str) -> Vec<(String, String, String)> {
    use sqlx::Connection;
    let sql = "SELECT c.kind, c.source, c.ref FROM market_candidates c \
               JOIN market_sources s ON s.source = c.source AND s.version = c.version \
               WHERE c.id IN (SELECT MIN(id) FROM market_candidates GROUP BY kind) ORDER BY c.kind";
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
    }
}

on_both_with_db!(
    real_sample_candidates_are_scored_and_promoted,
    |app, url| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/market");
        concord_storage::market_import::import_shipped_samples(&app.store, &dir)
            .await
            .expect("the shipped public data imports");
        home_profile(&app).await;
        let picks = one_of_each_kind(&url).await;
        let kinds: Vec<&str> = picks.iter().map(|(k, _, _)| k.as_str()).collect();
        assert!(
            kinds.contains(&"hospital") && kinds.contains(&"practice"),
            "{kinds:?}"
        );
        for (kind, source, reference) in &picks {
            let (s, sc) = app
                .post_json(
                    "/api/v1/scorecards",
                    &json!({ "source": source, "ref": reference }),
                )
                .await;
            assert_eq!(s, 201, "{kind} {source} {reference}: {sc}");
            let profile = &sc["candidate"]["profile"];
            assert_eq!(profile["kind"], kind.as_str());
            assert!(profile["latitude"].is_number(), "{sc}");
            assert!(
                criterion(&sc, "geographic_fit")["score"].is_number(),
                "{sc}"
            );
            let (s, p) = app
                .post_json(
                    &format!("/api/v1/scorecards/{}/promote", sc["id"]),
                    &json!({ "type": "vertically_adjacent" }),
                )
                .await;
            assert_eq!(s, 201, "{kind} {source} {reference}: {p}");
        }
    }
);

on_both!(concurrent_promotions_open_one_partnership, |app| {
    home_profile(&app).await;
    let dental = dental_group(&app).await;
    let (_, sc) = app
        .post_json("/api/v1/scorecards", &json!({ "organization_id": dental }))
        .await;
    let path = format!("/api/v1/scorecards/{}/promote", sc["id"]);
    let body = json!({ "type": "horizontally_adjacent" });
    let ((a, _), (b, _)) = tokio::join!(app.post_json(&path, &body), app.post_json(&path, &body));
    let mut statuses = [a, b];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let (_, list) = app.get_json("/api/v1/partnerships").await;
    assert_eq!(list["total"], 1, "{list}");
});
