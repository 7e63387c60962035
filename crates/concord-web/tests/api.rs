//! The JSON API over a real socket, on SQLite and (when configured) PostgreSQL.

mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

fn full_org(name: &str) -> Value {
    json!({
        "name": name,
        "kind": "health_system",
        "npi": "1234567893",
        "ccn": "070001",
        "address": { "line1": "1 Main St", "city": "New Haven", "state": "CT", "zip": "06510",
                     "latitude": 41.3083, "longitude": -72.9279 },
        "size": { "providers": 420, "beds": 610, "revenue_band": "over_1b" },
        "mission": "Care for the region",
        "values": ["community", "equity"],
        "capabilities_offered": ["primary_care", "imaging"],
        "capabilities_sought": ["revenue_cycle"],
        "business_model": {
            "revenue_model": "mixed",
            "payer_mix": [ { "payer": "medicare", "share_pct": 45 }, { "payer": "commercial", "share_pct": 55 } ],
            "decision_making": "Board approves capital over $5M",
            "enterprise_objectives": ["Grow value-based lives"],
            "constraints": ["Capital constrained"]
        }
    })
}

async fn org_count(app: &TestApp) -> u64 {
    app.get_json("/api/v1/organizations").await.1["total"]
        .as_u64()
        .unwrap()
}

on_both!(organization_crud, |app| {
    let (status, created) = app
        .post_json("/api/v1/organizations", &full_org("Harbor Valley Health"))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        created["business_model"]["payer_mix"][1]["payer"],
        "commercial"
    );
    let (status, got) = app.get_json(&format!("/api/v1/organizations/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got, created);

    let mut changed = full_org("Harbor Valley Health System");
    changed["capabilities_offered"] = json!(["dental"]);
    let (status, updated) = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/organizations/{id}"),
            &changed,
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Harbor Valley Health System");
    assert_eq!(updated["capabilities_offered"], json!(["dental"]));

    app.org("Shoreline Dental", "dental_group").await;
    let (_, page) = app
        .get_json("/api/v1/organizations?kind=dental_group")
        .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["name"], "Shoreline Dental");
    let (_, page) = app
        .get_json("/api/v1/organizations?q=haven&per_page=1")
        .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["per_page"], 1);
});

/// Asserts a problem+json answer with this status, code and field.
async fn expect_problem(
    app: &TestApp,
    method: Method,
    path: &str,
    body: &Value,
    status: u16,
    code: &str,
    field: &str,
) -> Value {
    let r = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&app.token)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), status, "{path} {body}");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["code"], code, "{p}");
    if field.is_empty() {
        assert!(p.get("field").is_none(), "{p}");
    } else {
        assert_eq!(p["field"], field, "{p}");
    }
    assert_eq!(p["status"], status);
    p
}

on_both!(bad_organization_input_is_named_and_writes_nothing, |app| {
    app.org("Harbor Valley Health", "health_system").await;
    let audit_before = app.store.audit_count().await.unwrap();
    let post = |body: Value| body;

    let mut b = full_org("X");
    b["colour"] = json!("blue");
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/organizations",
        &post(b),
        422,
        "unknown_field",
        "colour",
    )
    .await;

    let mut b = full_org("X");
    b["address"]["planet"] = json!("earth");
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/organizations",
        &b,
        422,
        "unknown_field",
        "address.planet",
    )
    .await;

    let mut b = full_org("X");
    b["size"]["beds"] = json!("many");
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/organizations",
        &b,
        422,
        "invalid_type",
        "size.beds",
    )
    .await;

    let mut b = full_org("X");
    b["size"]["beds"] = json!(-3);
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/organizations",
        &b,
        422,
        "invalid_type",
        "size.beds",
    )
    .await;

    let b = full_org("   ");
    let p = expect_problem(
        &app,
        Method::POST,
        "/api/v1/organizations",
        &b,
        422,
        "validation_failed",
        "name",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "required");

    let mut b = full_org("X");
    b["npi"] = json!("1234567890");
    let p = expect_problem(
        &app,
        Method::POST,
        "/api/v1/organizations",
        &b,
        422,
        "validation_failed",
        "npi",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "invalid_check_digit");

    let mut b = full_org("X");
    b["kind"] = json!("spaceport");
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/organizations",
        &b,
        422,
        "invalid_value",
        "kind",
    )
    .await;

    let mut b = full_org("X");
    b["capabilities_sought"] = json!(["revenue_cycle", "teleportation"]);
    let p = expect_problem(
        &app,
        Method::POST,
        "/api/v1/organizations",
        &b,
        422,
        "validation_failed",
        "capabilities_sought[1]",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "unknown_capability");

    let mut b = full_org("X");
    b["business_model"]["payer_mix"][0]["share_pct"] = json!(10);
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/organizations",
        &b,
        422,
        "validation_failed",
        "business_model.payer_mix",
    )
    .await;

    let b = json!({ "kind": "hospital" });
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/organizations",
        &b,
        422,
        "missing_field",
        "name",
    )
    .await;

    let mut b = full_org("harbor valley  HEALTH");
    b["npi"] = Value::Null;
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/organizations",
        &b,
        409,
        "duplicate",
        "name",
    )
    .await;

    // Not JSON at all, the wrong media type, and a body over the limit.
    let r = app
        .client
        .post(app.url("/api/v1/organizations"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "malformed_json");
    let r = app
        .client
        .post(app.url("/api/v1/organizations"))
        .bearer_auth(&app.token)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "unsupported_media_type"
    );
    let mut big = full_org("Big");
    big["mission"] = json!("x".repeat(300 * 1024));
    let r = app
        .client
        .post(app.url("/api/v1/organizations"))
        .bearer_auth(&app.token)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "payload_too_large"
    );

    // Nothing was written by any refused request (the home organization and Harbor Valley).
    assert_eq!(org_count(&app).await, 2);
    assert_eq!(app.store.audit_count().await.unwrap(), audit_before);
});

on_both!(unknown_ids_answer_404, |app| {
    for path in [
        "/api/v1/organizations/999",
        "/api/v1/organizations/abc",
        "/api/v1/organizations/-1",
        "/api/v1/partnerships/999",
        "/api/v1/partnerships/999/transitions",
        "/api/v1/capabilities/warp_drive",
        "/api/v1/nothing-here",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "not_found");
    }
    expect_problem(
        &app,
        Method::PUT,
        "/api/v1/organizations/999",
        &full_org("Nobody"),
        404,
        "not_found",
        "",
    )
    .await
    .to_string();
});

on_both!(partnership_lifecycle_over_the_api, |app| {
    let a = app.home;
    let b = app.org("Bright Harbor Dental", "dental_group").await;
    let id = app.partnership("Smiles in primary care", a, b).await;
    let (_, p) = app.get_json(&format!("/api/v1/partnerships/{id}")).await;
    assert_eq!(p["stage"], "exploring");
    assert_eq!(p["type"], "horizontally_adjacent");
    assert_eq!(p["parties"][1]["organization_name"], "Bright Harbor Dental");

    let p = expect_problem(
        &app,
        Method::POST,
        &format!("/api/v1/partnerships/{id}/transitions"),
        &json!({ "to": "active" }),
        409,
        "illegal_transition",
        "to",
    )
    .await;
    assert_eq!(p["allowed"], json!(["assessing"]));
    assert!(p["detail"]
        .as_str()
        .unwrap()
        .contains("allowed next stages: assessing"));
    expect_problem(
        &app,
        Method::POST,
        &format!("/api/v1/partnerships/{id}/transitions"),
        &json!({ "to": "dreaming" }),
        422,
        "invalid_value",
        "to",
    )
    .await;

    let (status, moved) = app
        .post_json(
            &format!("/api/v1/partnerships/{id}/transitions"),
            &json!({ "to": "assessing", "note": "Fit looks good" }),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["stage"], "assessing");
    let (_, history) = app
        .get_json(&format!("/api/v1/partnerships/{id}/transitions"))
        .await;
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[1]["note"], "Fit looks good");

    let c = app.org("County Health District", "public_health").await;
    let (status, updated) = app.send_json(Method::PUT, &format!("/api/v1/partnerships/{id}"), &json!({
        "name": "Smiles in primary care", "purpose": "Now three parties", "type": "vertically_adjacent",
        "parties": [ { "organization_id": a, "role": "primary care" }, { "organization_id": b, "role": "dental" },
                     { "organization_id": c, "role": "public health" } ]
    })).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["parties"].as_array().unwrap().len(), 3);
    assert_eq!(updated["stage"], "assessing");

    let (_, listed) = app
        .get_json(&format!(
            "/api/v1/partnerships?party={c}&stage=assessing&type=vertically_adjacent"
        ))
        .await;
    assert_eq!(listed["total"], 1);

    let (status, archived) = app
        .post_json(&format!("/api/v1/partnerships/{id}/archive"), &json!({}))
        .await;
    assert_eq!(status, 200);
    assert!(archived["archived_at"].is_string());
    expect_problem(
        &app,
        Method::POST,
        &format!("/api/v1/partnerships/{id}/transitions"),
        &json!({ "to": "negotiating" }),
        409,
        "archived",
        "",
    )
    .await
    .to_string();
    let (_, listed) = app.get_json("/api/v1/partnerships").await;
    assert_eq!(listed["total"], 0);
    let (_, listed) = app.get_json("/api/v1/partnerships?archived=true").await;
    assert_eq!(listed["total"], 1);
});

on_both!(bad_partnership_input_is_named_and_writes_nothing, |app| {
    let a = app.home;
    let b = app.org("Bright Harbor Dental", "dental_group").await;
    let audit_before = app.store.audit_count().await.unwrap();
    let body = |parties: Value| json!({ "name": "P", "type": "wholesale", "parties": parties });

    expect_problem(
        &app,
        Method::POST,
        "/api/v1/partnerships",
        &body(json!([{ "organization_id": a, "role": "x" }])),
        422,
        "validation_failed",
        "parties",
    )
    .await;
    let p = expect_problem(&app, Method::POST, "/api/v1/partnerships", &body(json!([{ "organization_id": a, "role": "x" }, { "organization_id": 987654, "role": "y" }])), 422, "validation_failed", "parties[1].organization_id").await;
    assert_eq!(p["errors"][0]["code"], "unknown_organization");
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/partnerships",
        &body(
            json!([{ "organization_id": a, "role": "x" }, { "organization_id": a, "role": "y" }]),
        ),
        422,
        "validation_failed",
        "parties[1].organization_id",
    )
    .await;
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/partnerships",
        &body(
            json!([{ "organization_id": a, "role": "x" }, { "organization_id": b, "role": " " }]),
        ),
        422,
        "validation_failed",
        "parties[1].role",
    )
    .await;
    expect_problem(&app, Method::POST, "/api/v1/partnerships", &json!({ "name": "", "type": "wholesale", "parties": [{ "organization_id": a, "role": "x" }, { "organization_id": b, "role": "y" }] }), 422, "validation_failed", "name").await;
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/partnerships",
        &json!({ "name": "P", "type": "merger", "parties": [] }),
        422,
        "invalid_value",
        "type",
    )
    .await;
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/partnerships",
        &json!({ "name": "P", "type": "wholesale", "stage": "active", "parties": [] }),
        422,
        "unknown_field",
        "stage",
    )
    .await;

    let (_, listed) = app.get_json("/api/v1/partnerships?archived=true").await;
    assert_eq!(listed["total"], 0);
    assert_eq!(app.store.audit_count().await.unwrap(), audit_before);
});

on_both!(list_queries_are_checked, |app| {
    for (q, field) in [
        ("?colour=red", "colour"),
        ("?stage=dreaming", "stage"),
        ("?page=abc", "page"),
        ("?page=0", "page"),
        ("?per_page=1000", "per_page"),
        ("?sort=chaos", "sort"),
        ("?party=x", "party"),
    ] {
        let r = app.get(&format!("/api/v1/partnerships{q}")).await;
        assert_eq!(r.status(), 400, "{q}");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["field"], field, "{q}: {p}");
    }
    let a = app.home;
    let b = app.org("B Org", "hospital").await;
    for i in 0..3 {
        app.partnership(&format!("Deal {i}"), a, b).await;
    }
    let (status, page) = app
        .get_json("/api/v1/partnerships?sort=name&per_page=2&page=2")
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 3);
    assert_eq!(page["items"][0]["name"], "Deal 2");
});

on_both!(capability_catalogue, |app| {
    let (status, caps) = app.get_json("/api/v1/capabilities").await;
    assert_eq!(status, 200);
    assert!(caps.as_array().unwrap().len() >= 22);
    let new = json!({ "code": "teledentistry", "name": "Teledentistry", "category": "clinical", "continuum_level": "primary", "description": "Virtual dental triage" });
    let (status, _) = app.post_json("/api/v1/capabilities", &new).await;
    assert_eq!(status, 201);
    let mut same_code = new.clone();
    same_code["name"] = json!("Dentistry at a distance");
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/capabilities",
        &same_code,
        409,
        "duplicate",
        "code",
    )
    .await;
    let mut edit = new.clone();
    edit["name"] = json!("Virtual dentistry");
    let (status, got) = app
        .send_json(Method::PUT, "/api/v1/capabilities/teledentistry", &edit)
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["name"], "Virtual dentistry");
    let mut bad = new.clone();
    bad["code"] = json!("Tele Dentistry");
    expect_problem(
        &app,
        Method::POST,
        "/api/v1/capabilities",
        &bad,
        422,
        "validation_failed",
        "code",
    )
    .await;
});

on_both!(health_probes, |app| {
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    let r = app.get("/healthz").await;
    assert!(r.headers().contains_key("x-request-id"));
});

on_both!(forms_show_inline_errors_and_write_nothing, |app| {
    let web = app.sign_in("admin@home.example").await;
    let r = web
        .post_form(
            "/organizations",
            &[
                ("name", "Shoreline Primary Care"),
                ("kind", "physician_group"),
                ("npi", "1234567890"),
                ("zip", "06510"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"e-npi\""), "inline NPI error");
    assert!(html.contains("check digit"));
    assert!(
        html.contains("value=\"Shoreline Primary Care\""),
        "the form keeps what was typed"
    );
    assert_eq!(org_count(&app).await, 1);

    let r = web
        .post_form(
            "/organizations",
            &[
                ("name", "Shoreline Primary Care"),
                ("kind", "physician_group"),
                ("beds", "lots"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"e-beds\""));

    let r = web
        .post_form(
            "/organizations",
            &[
                ("name", "Shoreline <Primary> Care"),
                ("kind", "physician_group"),
                ("capabilities_offered", "primary_care"),
                ("capabilities_offered", "dental"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let html = web.get(&location).await.text().await.unwrap();
    assert!(
        html.contains("Shoreline &#60;Primary&#62; Care")
            || html.contains("Shoreline &lt;Primary&gt; Care"),
        "names are escaped"
    );
    assert!(!html.contains("<Primary>"));

    let r = web
        .post_form(
            "/organizations",
            &[("name", "shoreline <primary> care"), ("kind", "hospital")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("already exists"));

    let a = app
        .org("Bright Harbor Dental", "dental_group")
        .await
        .to_string();
    let r = web
        .post_form(
            "/partnerships",
            &[
                ("name", "Solo"),
                ("type", "wholesale"),
                ("party_org_0", &a),
                ("party_role_0", "seller"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("at least two parties"));
    let (_, listed) = app.get_json("/api/v1/partnerships").await;
    assert_eq!(listed["total"], 0);
});

on_both!(illegal_transition_in_the_ui_is_refused, |app| {
    let web = app.sign_in("admin@home.example").await;
    let a = app.home;
    let b = app.org("B Org", "hospital").await;
    let id = app.partnership("Deal", a, b).await;
    let html = web
        .get(&format!("/partnerships/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("value=\"assessing\""));
    assert!(
        !html.contains("value=\"active\""),
        "only legal next stages are offered"
    );
    let r = web
        .post_form(
            &format!("/partnerships/{id}/transition"),
            &[("to", "ended")],
        )
        .await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("transition-error"));
    assert!(html.contains("allowed next stages: assessing"));
    let r = web
        .post_form(
            &format!("/partnerships/{id}/transition"),
            &[("to", "assessing")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, p) = app.get_json(&format!("/api/v1/partnerships/{id}")).await;
    assert_eq!(p["stage"], "assessing");
});

on_both!(cross_site_form_posts_are_refused, |app| {
    let r = app
        .client
        .post(app.url("/organizations"))
        .header("origin", "https://evil.example")
        .form(&[("name", "Evil"), ("kind", "other")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(org_count(&app).await, 1);
});

on_both!(pages_render, |app| {
    let web = app.sign_in("admin@home.example").await;
    let a = app.home;
    let b = app.org("B Org", "hospital").await;
    let id = app.partnership("Deal", a, b).await;
    for path in [
        "/",
        "/organizations",
        "/organizations/new",
        &format!("/organizations/{a}"),
        &format!("/organizations/{a}/edit"),
        "/partnerships",
        "/partnerships/new",
        &format!("/partnerships/{id}"),
        &format!("/partnerships/{id}/edit"),
        "/capabilities",
        "/api",
        "/static/style.css",
        "/organizations.csv",
        "/account/tokens",
        "/organization/members",
        "/organization/audit",
    ] {
        let r = web.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
    }
    for path in [
        "/organizations/999",
        "/partnerships/999",
        "/partnerships/abc",
        "/nowhere",
    ] {
        let r = web.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert!(r.text().await.unwrap().contains("Not found"));
    }
});

on_both!(the_party_filter_offers_only_partners, |app| {
    let web = app.sign_in("admin@home.example").await;
    let partner = app.org("Partner Dental Group", "dental_group").await;
    app.org("Unrelated Clinic", "physician_group").await;
    app.partnership("Deal", app.home, partner).await;
    let html = web.get("/partnerships").await.text().await.unwrap();
    assert!(html.contains(">Partner Dental Group</option>"));
    assert!(html.contains(">Home Health System</option>"));
    assert!(
        !html.contains("Unrelated Clinic"),
        "an organization we share no partnership with is not offered"
    );
});
