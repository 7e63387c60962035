//! The risk register over the JSON API and its pages, on SQLite and (when configured)
//! PostgreSQL: the three seeded risks on every new partnership (also one created by promoting a
//! fit scorecard), adding and editing risks with audit rows, bad input refused with the field and
//! nothing written, private risks that the partner never finds, viewers refused, and the heat map
//! and register pages driven through their forms.

mod common;

use chrono::{Days, Utc};
use common::{Member, Session, TestApp};
use concord_domain::account::{Role, TokenScope};
use reqwest::Method;
use serde_json::{json, Value};

/// A partnership between home and a partner organization whose admin is `partner`.
struct Deal {
    pid: i64,
    other: i64,
    partner: Member,
}

async fn deal(app: &TestApp, name: &str) -> Deal {
    let (other, partner) = app
        .other_org(
            &format!("{name} Dental"),
            &format!("admin@{}.example", name.to_lowercase()),
            Role::Admin,
        )
        .await;
    let pid = app.partnership(name, app.home, other).await;
    Deal {
        pid,
        other,
        partner,
    }
}

fn risks(pid: i64) -> String {
    format!("/api/v1/partnerships/{pid}/risks")
}

fn one(pid: i64, rid: i64) -> String {
    format!("/api/v1/partnerships/{pid}/risks/{rid}")
}

async fn list_as(app: &TestApp, token: &str, pid: i64) -> Vec<Value> {
    let (s, v) = app.call(token, Method::GET, &risks(pid), None).await;
    assert_eq!(s, 200, "{v}");
    v.as_array().unwrap().clone()
}

fn ids(list: &[Value]) -> Vec<i64> {
    list.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

fn body(other: i64) -> Value {
    json!({
        "category": "data_sharing",
        "title": "Claims data flows before the data-use agreement",
        "description": "The pilot needs claims data in week 2.",
        "likelihood": 4,
        "impact": 5,
        "owner_org_id": other,
        "owner_name": "Dana Ruiz",
        "mitigation": "",
        "status": "open",
        "review_on": "2026-01-15",
        "visibility": "shared"
    })
}

fn assert_seeds(list: &[Value]) {
    assert_eq!(list.len(), 3, "{list:?}");
    let cats: Vec<&str> = list
        .iter()
        .map(|r| r["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        cats,
        vec!["business_model", "power_asymmetry", "consumer_assumptions"]
    );
    for r in list {
        assert_eq!(r["seeded"], true);
        assert_eq!(r["visibility"], "shared");
        assert_eq!(r["status"], "open");
        assert_eq!(r["likelihood"], 3);
        assert_eq!(r["impact"], 4);
        assert_eq!(r["severity"], 12);
        assert_eq!(r["high"], false);
        assert_eq!(r["owner_org_id"], Value::Null);
        assert_eq!(r["private_org_id"], Value::Null);
        assert!(r["description"]
            .as_str()
            .unwrap()
            .contains("Suggested mitigation"));
    }
}

on_both!(
    every_new_partnership_starts_with_the_three_seeded_risks,
    |app| {
        let d = deal(&app, "Seeds").await;
        assert_seeds(&list_as(&app, &app.token, d.pid).await);
        // The partner sees the same shared risks.
        assert_seeds(&list_as(&app, &d.partner.token, d.pid).await);

        // A partnership created by promoting a fit scorecard is seeded too.
        let dental = app.org("Promoted Dental", "dental_group").await;
        let (s, sc) = app
            .post_json("/api/v1/scorecards", &json!({ "organization_id": dental }))
            .await;
        assert_eq!(s, 201, "{sc}");
        let (s, p) = app
            .post_json(
                &format!("/api/v1/scorecards/{}/promote", sc["id"]),
                &json!({ "type": "horizontally_adjacent" }),
            )
            .await;
        assert_eq!(s, 201, "{p}");
        let promoted = p["partnership_id"].as_i64().unwrap();
        assert_seeds(&list_as(&app, &app.token, promoted).await);
    }
);

on_both!(a_partnership_imported_from_fhir_is_seeded_too, |app| {
    let fixture = |name: &str| -> Value {
        let path = format!(
            "{}/tests/fixtures/fhir/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON")
    };
    let mut aff = fixture("OrganizationAffiliation-example");
    aff["id"] = json!("mine");
    aff["participatingOrganization"] = json!({ "display": "Home Health System" });
    let entry: Vec<Value> = [fixture("Organization-hl7pay"), aff]
        .into_iter()
        .map(|r| {
            let full = format!(
                "http://hl7.org/fhir/{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            );
            json!({ "fullUrl": full, "resource": r })
        })
        .collect();
    let bundle = json!({ "resourceType": "Bundle", "type": "collection", "entry": entry });
    let (s, r) = app
        .send_text_as(
            &app.token,
            Method::POST,
            "/api/v1/fhir/import",
            "application/fhir+json",
            serde_json::to_vec(&bundle).unwrap(),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let ps = r["partnerships"].as_array().unwrap();
    assert_eq!(ps.len(), 1, "{r}");
    assert_eq!(ps[0]["action"], "created", "{r}");
    let pid = ps[0]["partnership_id"].as_i64().unwrap();
    assert_seeds(&list_as(&app, &app.token, pid).await);
});

on_both!(risks_are_added_and_edited_with_audit_rows, |app| {
    let d = deal(&app, "Register").await;
    let audit = app.audit_rows().await;
    let (s, r) = app.post_json(&risks(d.pid), &body(d.other)).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(app.audit_rows().await, audit + 1);
    let rid = r["id"].as_i64().unwrap();
    assert_eq!(r["severity"], 20);
    assert_eq!(r["high"], true);
    assert_eq!(r["owner_org_id"], d.other);
    assert_eq!(r["owner_name"], "Dana Ruiz");
    assert_eq!(r["review_on"], "2026-01-15");
    assert_eq!(r["seeded"], false);
    assert_eq!(r["visibility"], "shared");
    assert!(r["created_by"]
        .as_str()
        .unwrap()
        .contains("Home Health System"));
    let entries = app
        .store
        .audit_for("risk", &rid.to_string(), 5)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, "add_risk");

    // The most severe open risk comes first; the partner sees it as well.
    let list = list_as(&app, &app.token, d.pid).await;
    assert_eq!(list.len(), 4);
    assert_eq!(list[0]["id"], rid);
    assert_eq!(
        ids(&list_as(&app, &d.partner.token, d.pid).await),
        ids(&list)
    );
    let (s, got) = app.get_json(&one(d.pid, rid)).await;
    assert_eq!(s, 200);
    assert_eq!(got, r);

    // The partner (an admin there) mitigates it: every field is replaced.
    let mut next = body(d.other);
    next["mitigation"] = json!("Sign the DUA before week 2; synthetic data until then.");
    next["status"] = json!("mitigating");
    next["likelihood"] = json!(2);
    next["owner_name"] = json!("");
    let (s, u) = app
        .call(&d.partner.token, Method::PUT, &one(d.pid, rid), Some(&next))
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["status"], "mitigating");
    assert_eq!(u["severity"], 10);
    assert_eq!(u["high"], false);
    assert_eq!(u["owner_name"], "");
    assert_eq!(u["created_at"], r["created_at"]);
    assert_eq!(app.audit_rows().await, audit + 2);
    let entries = app
        .store
        .audit_for("risk", &rid.to_string(), 5)
        .await
        .unwrap();
    assert_eq!(entries[0].action, "update_risk");
    assert_eq!(entries[0].before.as_ref().unwrap()["likelihood"], 4);
    assert_eq!(entries[0].after.as_ref().unwrap()["likelihood"], 2);

    // Closed risks go to the end of the register.
    next["status"] = json!("closed");
    let (s, _) = app.send_json(Method::PUT, &one(d.pid, rid), &next).await;
    assert_eq!(s, 200);
    let list = list_as(&app, &app.token, d.pid).await;
    assert_eq!(list[3]["id"], rid);
});

on_both!(
    bad_input_is_refused_with_the_field_and_nothing_written,
    |app| {
        let d = deal(&app, "Refusals").await;
        let outsider_org = app.org("Not A Party", "other").await;
        let (s, r) = app.post_json(&risks(d.pid), &body(d.other)).await;
        assert_eq!(s, 201);
        let rid = r["id"].as_i64().unwrap();
        let other_deal = deal(&app, "Elsewhere").await;
        let before = list_as(&app, &app.token, d.pid).await;
        let audit = app.audit_rows().await;

        let with = |key: &str, v: Value| {
            let mut b = body(d.other);
            b[key] = v;
            b
        };
        for path in [risks(d.pid), one(d.pid, rid)] {
            let method = if path.ends_with("/risks") {
                Method::POST
            } else {
                Method::PUT
            };
            for (b, field, code) in [
                (with("likelihood", json!(0)), "likelihood", "out_of_range"),
                (with("likelihood", json!(6)), "likelihood", "out_of_range"),
                (with("impact", json!(0)), "impact", "out_of_range"),
                (with("impact", json!(6)), "impact", "out_of_range"),
                (
                    with("owner_org_id", json!(outsider_org)),
                    "owner_org_id",
                    "not_a_party",
                ),
                (with("title", json!("   ")), "title", "required"),
            ] {
                app.expect_invalid(&app.token, method.clone(), &path, &b, field, code)
                    .await;
            }
            for (b, code, field) in [
                (with("impact", json!("x")), "invalid_type", "impact"),
                (with("likelihood", json!(300)), "invalid_type", "likelihood"),
                (
                    with("category", json!("weather")),
                    "invalid_value",
                    "category",
                ),
                (with("status", json!("solved")), "invalid_value", "status"),
                (
                    with("visibility", json!("secret")),
                    "invalid_value",
                    "visibility",
                ),
                (
                    with("review_on", json!("soon")),
                    "invalid_type",
                    "review_on",
                ),
                (with("colour", json!("red")), "unknown_field", "colour"),
            ] {
                app.expect_problem(
                    &app.token,
                    method.clone(),
                    &path,
                    Some(&b),
                    422,
                    code,
                    field,
                )
                .await;
            }
        }
        // Missing required fields.
        app.expect_problem(
            &app.token,
            Method::POST,
            &risks(d.pid),
            Some(&json!({ "category": "other", "title": "x", "impact": 2 })),
            422,
            "missing_field",
            "likelihood",
        )
        .await;
        // A shared risk cannot be made private.
        app.expect_invalid(
            &app.token,
            Method::PUT,
            &one(d.pid, rid),
            &with("visibility", json!("private")),
            "visibility",
            "cannot_hide_shared",
        )
        .await;
        // Unknown risk, or a risk of another partnership: 404.
        for path in [one(d.pid, 999_999), one(other_deal.pid, rid)] {
            app.expect_problem(&app.token, Method::GET, &path, None, 404, "not_found", "")
                .await;
            app.expect_problem(
                &app.token,
                Method::PUT,
                &path,
                Some(&body(d.other)),
                404,
                "not_found",
                "",
            )
            .await;
        }
        assert_eq!(list_as(&app, &app.token, d.pid).await, before);
        assert_eq!(app.audit_rows().await, audit);

        // An archived partnership's register is read-only.
        let (s, _) = app
            .post_json(
                &format!("/api/v1/partnerships/{}/archive", d.pid),
                &json!({}),
            )
            .await;
        assert_eq!(s, 200);
        let audit = app.audit_rows().await;
        let (s, p) = app.post_json(&risks(d.pid), &body(d.other)).await;
        assert_eq!(s, 409, "{p}");
        let (s, p) = app
            .send_json(Method::PUT, &one(d.pid, rid), &body(d.other))
            .await;
        assert_eq!(s, 409, "{p}");
        assert_eq!(app.audit_rows().await, audit);
    }
);

on_both!(a_private_risk_is_found_only_by_its_organization, |app| {
    let d = deal(&app, "Privacy").await;
    let (_, outsider) = app
        .other_org("Outsider Health", "am@outsider.example", Role::Admin)
        .await;
    let mut b = body(d.other);
    b["visibility"] = json!("private");
    b["title"] = json!("PRIVATE-WORRY: their CFO may pull funding");
    b["category"] = json!("value_shortfall");
    let (s, r) = app.post_json(&risks(d.pid), &b).await;
    assert_eq!(s, 201, "{r}");
    let rid = r["id"].as_i64().unwrap();
    assert_eq!(r["visibility"], "private");
    assert_eq!(r["private_org_id"], app.home);
    assert!(ids(&list_as(&app, &app.token, d.pid).await).contains(&rid));

    // The partner: absent from the list, 404 on read and update, nothing written.
    let audit = app.audit_rows().await;
    let theirs = list_as(&app, &d.partner.token, d.pid).await;
    assert!(!ids(&theirs).contains(&rid));
    assert!(!Value::Array(theirs).to_string().contains("PRIVATE-WORRY"));
    for who in [&d.partner.token, &outsider.token] {
        app.expect_problem(
            who,
            Method::GET,
            &one(d.pid, rid),
            None,
            404,
            "not_found",
            "",
        )
        .await;
        app.expect_problem(
            who,
            Method::PUT,
            &one(d.pid, rid),
            Some(&body(d.other)),
            404,
            "not_found",
            "",
        )
        .await;
    }
    // An outsider does not see the partnership's register at all.
    app.expect_problem(
        &outsider.token,
        Method::GET,
        &risks(d.pid),
        None,
        404,
        "not_found",
        "",
    )
    .await;
    app.expect_problem(
        &outsider.token,
        Method::POST,
        &risks(d.pid),
        Some(&body(d.other)),
        404,
        "not_found",
        "",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);
    // The audit entry concerns only the writing organization: the partner's admins never read it.
    let (s, log) = app
        .call(
            &d.partner.token,
            Method::GET,
            "/api/v1/audit?entity=risk",
            None,
        )
        .await;
    assert_eq!(s, 200, "{log}");
    assert!(!log.to_string().contains("PRIVATE-WORRY"), "{log}");
    let (_, log) = app.get_json("/api/v1/audit?entity=risk").await;
    assert!(log.to_string().contains("PRIVATE-WORRY"));

    // The partner's own private risk is just as invisible to home.
    let mut pb = body(d.other);
    pb["visibility"] = json!("private");
    let (s, pr) = app
        .call(&d.partner.token, Method::POST, &risks(d.pid), Some(&pb))
        .await;
    assert_eq!(s, 201, "{pr}");
    assert_eq!(pr["private_org_id"], d.other);
    let prid = pr["id"].as_i64().unwrap();
    assert!(!ids(&list_as(&app, &app.token, d.pid).await).contains(&prid));
    app.expect_problem(
        &app.token,
        Method::GET,
        &one(d.pid, prid),
        None,
        404,
        "not_found",
        "",
    )
    .await;

    // Home shares its private risk: now the partner finds it.
    let mut shared = b.clone();
    shared["visibility"] = json!("shared");
    let (s, u) = app.send_json(Method::PUT, &one(d.pid, rid), &shared).await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["private_org_id"], Value::Null);
    assert!(ids(&list_as(&app, &d.partner.token, d.pid).await).contains(&rid));
});

on_both!(viewers_read_but_cannot_write, |app| {
    let d = deal(&app, "Viewers").await;
    let viewer = app
        .member(
            "viewer@home.example",
            app.home,
            Role::Viewer,
            TokenScope::Read,
        )
        .await;
    let list = list_as(&app, &viewer.token, d.pid).await;
    assert_eq!(list.len(), 3);
    let rid = list[0]["id"].as_i64().unwrap();
    // Signed in (a read-only token would be refused for its scope before its role is asked).
    let session = app.sign_in(&viewer.email).await;
    let audit = app.audit_rows().await;
    app.expect_problem(
        &session,
        Method::POST,
        &risks(d.pid),
        Some(&body(d.other)),
        403,
        "forbidden",
        "",
    )
    .await;
    app.expect_problem(
        &session,
        Method::PUT,
        &one(d.pid, rid),
        Some(&body(d.other)),
        403,
        "forbidden",
        "",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);
    assert_eq!(list_as(&app, &app.token, d.pid).await, list);
});

// ---------------------------------------------------------------- pages

async fn page(s: &Session, path: &str) -> (u16, String) {
    let r = s.get(path).await;
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn post(s: &Session, path: &str, pairs: &[(&str, &str)]) -> (u16, String, String) {
    let r = s.post_form(path, pairs).await;
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, r.text().await.unwrap_or_default(), location)
}

/// The text of the element with `id` up to its first tag.
fn text_of(html: &str, id: &str) -> String {
    let start = format!("id=\"{id}\"");
    let i = html
        .find(&start)
        .unwrap_or_else(|| panic!("no #{id} in page"));
    let i = html[i..].find('>').unwrap() + i + 1;
    let j = html[i..].find('<').unwrap() + i;
    html[i..j].trim().to_string()
}

on_both!(
    the_register_page_shows_the_heat_map_and_takes_forms,
    |app| {
        let d = deal(&app, "Pages").await;
        let home = app.sign_in("admin@home.example").await;
        let base = format!("/partnerships/{}/risks", d.pid);

        // The partnership page links to the register.
        let (s, html) = page(&home, &format!("/partnerships/{}", d.pid)).await;
        assert_eq!(s, 200);
        assert!(html.contains(&format!("href=\"{base}\" id=\"risks-link\"")));

        // The three seeds sit in the likelihood 3 × impact 4 cell.
        let (s, html) = page(&home, &base).await;
        assert_eq!(s, 200);
        assert!(html.contains("id=\"heat-map\""));
        assert!(html.contains("<strong>3</strong>"));
        assert!(html.contains("id=\"heat-3-4\""));
        assert!(
            html.contains("Not understanding each other&#x27;s business model")
                || html.contains("Not understanding each other&#39;s business model")
        );
        assert!(html.contains("id=\"add-form\""));
        assert!(html.contains("high zone ≥ 15"));

        // A refused form keeps what was typed and shows each error next to its input.
        let outsider = app.org("Stranger Clinic", "other").await.to_string();
        let audit = app.audit_rows().await;
        let other = d.other.to_string();
        let (s, html, _) = post(
            &home,
            &base,
            &[
                ("category", "regulatory"),
                ("title", "Stark law review of the referral fee"),
                ("likelihood", "9"),
                ("impact", "x"),
                ("owner_org_id", &other),
                ("status", "open"),
                ("visibility", "shared"),
                ("review_on", ""),
            ],
        )
        .await;
        assert_eq!(s, 422);
        assert!(html.contains("id=\"e-add-likelihood\""), "{html}");
        assert!(html.contains("id=\"e-add-impact\""));
        assert!(html.contains("Stark law review of the referral fee"));
        // A non-party owner, from the domain.
        let (s, html, _) = post(
            &home,
            &base,
            &[
                ("category", "regulatory"),
                ("title", "Stark"),
                ("likelihood", "3"),
                ("impact", "5"),
                ("owner_org_id", &outsider),
                ("status", "open"),
                ("visibility", "shared"),
            ],
        )
        .await;
        assert_eq!(s, 422);
        assert!(html.contains("id=\"e-add-owner_org_id\""), "{html}");
        assert_eq!(app.audit_rows().await, audit);
        assert_eq!(list_as(&app, &app.token, d.pid).await.len(), 3);

        // Added: high, unmitigated, its review overdue.
        let yesterday = (Utc::now().date_naive() - Days::new(1)).to_string();
        let (s, _, location) = post(
            &home,
            &base,
            &[
                ("category", "regulatory"),
                ("title", "Stark law review of the referral fee"),
                ("description", "Counsel has not looked at the fee schedule."),
                ("likelihood", "5"),
                ("impact", "5"),
                ("owner_org_id", &other),
                ("owner_name", "Counsel"),
                ("mitigation", ""),
                ("status", "open"),
                ("review_on", &yesterday),
                ("visibility", "shared"),
            ],
        )
        .await;
        assert_eq!(s, 303);
        assert!(
            location.starts_with(&format!("{base}?done=added#risk-")),
            "{location}"
        );
        let rid: i64 = location.rsplit("#risk-").next().unwrap().parse().unwrap();
        let (s, html) = page(&home, &location).await;
        assert_eq!(s, 200);
        assert!(html.contains("id=\"risk-notice\""));
        assert_eq!(text_of(&html, &format!("risk-{rid}-severity")), "25 · high");
        assert!(html.contains(&format!("id=\"risk-{rid}-unmitigated\"")));
        assert!(html.contains(&format!("id=\"risk-{rid}-overdue\"")));
        assert_eq!(text_of(&html, "risk-high-count"), "1");
        assert!(html.contains("id=\"heat-5-5\""));

        // Its edit page, and an update through it.
        let edit = format!("{base}/{rid}");
        let (s, html) = page(&home, &edit).await;
        assert_eq!(s, 200);
        assert!(html.contains(&format!("id=\"edit-{rid}-form\"")));
        assert!(html.contains("Counsel has not looked at the fee schedule."));
        let (s, html, _) = post(
            &home,
            &edit,
            &[
                ("category", "regulatory"),
                ("title", "Stark law review of the referral fee"),
                ("likelihood", "0"),
                ("impact", "5"),
                ("status", "open"),
                ("visibility", "shared"),
            ],
        )
        .await;
        assert_eq!(s, 422);
        assert!(html.contains(&format!("id=\"e-edit-{rid}-likelihood\"")));
        let (s, _, location) = post(
            &home,
            &edit,
            &[
                ("category", "regulatory"),
                ("title", "Stark law review of the referral fee"),
                ("likelihood", "2"),
                ("impact", "5"),
                ("owner_org_id", &other),
                ("mitigation", "Counsel reviews the schedule this month."),
                ("status", "mitigating"),
                ("review_on", ""),
                ("visibility", "shared"),
            ],
        )
        .await;
        assert_eq!(s, 303);
        assert_eq!(location, format!("{base}?done=updated#risk-{rid}"));
        let (_, html) = page(&home, &location).await;
        assert_eq!(text_of(&html, &format!("risk-{rid}-severity")), "10");
        assert!(!html.contains(&format!("id=\"risk-{rid}-overdue\"")));

        // A private risk: badged for home, absent for the partner (404 on its page and its form).
        let (s, _, location) = post(
            &home,
            &base,
            &[
                ("category", "other"),
                ("title", "PRIVATE-PAGE-WORRY"),
                ("likelihood", "2"),
                ("impact", "2"),
                ("status", "open"),
                ("visibility", "private"),
            ],
        )
        .await;
        assert_eq!(s, 303);
        let private_id: i64 = location.rsplit("#risk-").next().unwrap().parse().unwrap();
        let (_, html) = page(&home, &base).await;
        assert_eq!(
            text_of(&html, &format!("risk-{private_id}-private")),
            "Private to Home Health System"
        );
        let partner = app.sign_in(&d.partner.email).await;
        let (s, html) = page(&partner, &base).await;
        assert_eq!(s, 200);
        assert!(!html.contains("PRIVATE-PAGE-WORRY"));
        let (s, _) = page(&partner, &format!("{base}/{private_id}")).await;
        assert_eq!(s, 404);
        let audit = app.audit_rows().await;
        let (s, _, _) = post(
            &partner,
            &format!("{base}/{private_id}"),
            &[
                ("category", "other"),
                ("title", "overwritten"),
                ("likelihood", "1"),
                ("impact", "1"),
                ("status", "closed"),
                ("visibility", "shared"),
            ],
        )
        .await;
        assert_eq!(s, 404);
        assert_eq!(app.audit_rows().await, audit);

        // A viewer reads the register without forms; a post is refused.
        let _viewer = app
            .member(
                "viewer@home.example",
                app.home,
                Role::Viewer,
                TokenScope::Read,
            )
            .await;
        let viewer = app.sign_in("viewer@home.example").await;
        let audit = app.audit_rows().await;
        let (s, html) = page(&viewer, &base).await;
        assert_eq!(s, 200);
        assert!(!html.contains("id=\"add-form\""));
        assert!(
            html.contains("PRIVATE-PAGE-WORRY"),
            "private to home, so home's viewer reads it"
        );
        let (s, _, _) = post(
            &viewer,
            &base,
            &[
                ("category", "other"),
                ("title", "x"),
                ("likelihood", "1"),
                ("impact", "1"),
                ("status", "open"),
                ("visibility", "shared"),
            ],
        )
        .await;
        assert_eq!(s, 403);
        assert_eq!(app.audit_rows().await, audit);
    }
);
