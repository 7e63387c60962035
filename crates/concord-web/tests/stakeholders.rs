//! The stakeholder roster, continuity and the partner brief, over the JSON API and the pages, on
//! SQLite and (when configured) PostgreSQL: bad input refused with the field and nothing written;
//! a party changes only its own people and completes only its own tasks; a departed champion
//! raises re-education tasks and a continuity alert that ends once a successor is named and every
//! task is done; outsiders find nothing; the brief shows every piece.

mod common;

use chrono::{Days, NaiveDate, Utc};
use common::{Member, Session, TestApp};
use concord_domain::account::{Role, TokenScope};
use concord_domain::PartnershipId;
use concord_storage::Actor;
use reqwest::Method;
use serde_json::{json, Value};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

struct Deal {
    pid: i64,
    other: i64,
    partner: Member,
}

async fn deal(app: &TestApp) -> Deal {
    let other = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app
        .partnership("Smiles in primary care", app.home, other)
        .await;
    let partner = app.effective_charter(pid, other).await;
    Deal {
        pid,
        other,
        partner,
    }
}

fn path(pid: i64, rest: &str) -> String {
    format!("/api/v1/partnerships/{pid}{rest}")
}

fn person(org: i64, name: &str, role: &str) -> Value {
    json!({ "organization_id": org, "name": name, "title": "Director", "email": "someone@example.org",
            "role": role, "influence": "high", "engagement": "medium" })
}

async fn add(app: &TestApp, token: &str, pid: i64, body: &Value) -> i64 {
    let (status, v) = app
        .send_json_as(token, Method::POST, &path(pid, "/stakeholders"), body)
        .await;
    assert_eq!(status, 201, "{v}");
    v["id"].as_i64().unwrap()
}

async fn roster(app: &TestApp, token: &str, pid: i64) -> Value {
    let (status, v) = app
        .call(token, Method::GET, &path(pid, "/stakeholders"), None)
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

on_both!(roster_departure_successor_and_briefing, |app| {
    let d = deal(&app).await;
    let pid = d.pid;
    let (outsider_org, outsider) = app
        .other_org("Outsider Health", "am@outsider.example", Role::Admin)
        .await;
    let viewer = app
        .member(
            "viewer@home.example",
            app.home,
            Role::Viewer,
            TokenScope::Read,
        )
        .await;
    let viewer_web = app.sign_in(&viewer.email).await;

    let ana = add(
        &app,
        &app.token,
        pid,
        &person(app.home, "Ana Alvarez", "champion"),
    )
    .await;
    let bo = add(
        &app,
        &app.token,
        pid,
        &person(app.home, "Bo Becker", "operational_lead"),
    )
    .await;
    let cy = add(
        &app,
        &d.partner.token,
        pid,
        &person(d.other, "Cy Chen", "champion"),
    )
    .await;
    let r = roster(&app, &app.token, pid).await;
    assert_eq!(r["people"].as_array().unwrap().len(), 3, "{r}");
    assert_eq!(r["alerts"], json!([]));
    assert_eq!(r["people"][0]["status"], "active");
    assert_eq!(r["people"][0]["email"], "someone@example.org");

    // Refusals: none writes anything.
    let audit = app.audit_rows().await;
    let before = roster(&app, &app.token, pid).await;
    let url = path(pid, "/stakeholders");
    app.expect_invalid(
        &app.token,
        Method::POST,
        &url,
        &person(outsider_org, "Nobody", "champion"),
        "organization_id",
        "not_a_party",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::POST,
        &url,
        &person(app.home, "  ", "champion"),
        "name",
        "required",
    )
    .await;
    let mut bad_email = person(app.home, "Dee", "champion");
    bad_email["email"] = json!("not-an-address");
    app.expect_invalid(
        &app.token,
        Method::POST,
        &url,
        &bad_email,
        "email",
        "invalid_email",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &url,
        Some(&json!({ "organization_id": app.home, "name": "X", "role": "boss" })),
        422,
        "invalid_value",
        "role",
    )
    .await;
    // Another party's people: refused with a clear message.
    let p = app
        .expect_problem(
            &app.token,
            Method::POST,
            &url,
            Some(&person(d.other, "Planted", "champion")),
            403,
            "forbidden",
            "",
        )
        .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or("")
            .contains("Bright Harbor Dental"),
        "{p}"
    );
    app.expect_problem(
        &app.token,
        Method::PUT,
        &path(pid, &format!("/stakeholders/{cy}")),
        Some(&person(d.other, "Cy Renamed", "champion")),
        403,
        "forbidden",
        "",
    )
    .await;
    app.expect_problem(
        &d.partner.token,
        Method::POST,
        &path(pid, &format!("/stakeholders/{ana}/departure")),
        Some(&json!({ "departed_on": today() })),
        403,
        "forbidden",
        "",
    )
    .await;
    // A viewer: the token's scope refuses, and signed in the role refuses.
    app.expect_problem(
        &viewer.token,
        Method::POST,
        &url,
        Some(&person(app.home, "Viewer Pick", "champion")),
        403,
        "insufficient_scope",
        "",
    )
    .await;
    app.expect_problem(
        &viewer_web,
        Method::POST,
        &url,
        Some(&person(app.home, "Viewer Pick", "champion")),
        403,
        "forbidden",
        "",
    )
    .await;
    // Outsiders see nothing.
    for (m, u, b) in [
        (Method::GET, url.clone(), None),
        (
            Method::POST,
            url.clone(),
            Some(person(outsider_org, "Mine", "champion")),
        ),
        (
            Method::POST,
            path(pid, &format!("/stakeholders/{ana}/departure")),
            Some(json!({ "departed_on": today() })),
        ),
    ] {
        app.expect_problem(&outsider.token, m, &u, b.as_ref(), 404, "not_found", "")
            .await;
    }
    // A person of another partnership is not found here.
    app.expect_problem(
        &app.token,
        Method::PUT,
        &path(pid, "/stakeholders/999999"),
        Some(&person(app.home, "Ghost", "champion")),
        404,
        "not_found",
        "",
    )
    .await;
    // Departure in the future.
    app.expect_invalid(
        &app.token,
        Method::POST,
        &path(pid, &format!("/stakeholders/{ana}/departure")),
        &json!({ "departed_on": today() + Days::new(3) }),
        "departed_on",
        "future_date",
    )
    .await;
    // A successor before the departure.
    app.expect_problem(
        &app.token,
        Method::POST,
        &path(pid, &format!("/stakeholders/{ana}/successor")),
        Some(&json!({ "successor_id": bo })),
        409,
        "not_departed",
        "successor_id",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit, "refusals write nothing");
    assert_eq!(
        roster(&app, &app.token, pid).await,
        before,
        "and change nothing"
    );

    // An edit of one's own person.
    let mut edited = person(app.home, "Ana Alvarez", "champion");
    edited["title"] = json!("Chief Strategy Officer");
    let (status, v) = app
        .send_json(
            Method::PUT,
            &path(pid, &format!("/stakeholders/{ana}")),
            &edited,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["title"], "Chief Strategy Officer");
    assert_eq!(app.audit_rows().await, audit + 1);

    // The champion leaves: tasks for home and an alert.
    let left = today() - Days::new(10);
    let (status, v) = app
        .post_json(
            &path(pid, &format!("/stakeholders/{ana}/departure")),
            &json!({ "departed_on": left }),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "departed");
    assert_eq!(v["departed_on"], left.to_string());
    assert_eq!(
        app.audit_rows().await,
        audit + 2,
        "one audit row for the departure"
    );
    let r = roster(&app, &app.token, pid).await;
    let tasks: Vec<Value> = r["tasks"].as_array().unwrap().clone();
    assert_eq!(tasks.len(), 5, "{r}");
    assert!(tasks.iter().all(|t| t["organization_id"] == app.home
        && t["status"] == "open"
        && t["stakeholder_id"] == ana));
    let topics: Vec<&str> = tasks.iter().map(|t| t["topic"].as_str().unwrap()).collect();
    for t in ["charter", "stakes", "history"] {
        assert!(topics.contains(&t), "{topics:?}");
    }
    let alerts = r["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{r}");
    assert_eq!(alerts[0]["stakeholder_id"], ana);
    assert_eq!(alerts[0]["role"], "champion");
    assert_eq!(alerts[0]["successor"], Value::Null);
    assert_eq!(alerts[0]["open_tasks"], 5);
    assert_eq!(alerts[0]["days_since_departure"], 10);
    // The same for the partner, who can read the roster.
    assert_eq!(roster(&app, &d.partner.token, pid).await, r);
    // And for the health helper's call.
    let p = app
        .store
        .get_partnership(&Actor::new("test"), PartnershipId(pid))
        .await
        .unwrap();
    let direct = app.store.continuity_alerts_of(&p, today()).await.unwrap();
    assert_eq!(direct.len(), 1);
    // Departing twice.
    app.expect_problem(
        &app.token,
        Method::POST,
        &path(pid, &format!("/stakeholders/{ana}/departure")),
        Some(&json!({ "departed_on": left })),
        409,
        "already_departed",
        "departed_on",
    )
    .await;
    // A departed person's record is closed.
    app.expect_problem(
        &app.token,
        Method::PUT,
        &path(pid, &format!("/stakeholders/{ana}")),
        Some(&edited),
        409,
        "departed",
        "status",
    )
    .await;

    // Successors: another party's person, oneself, nobody: 422, nothing written.
    let audit = app.audit_rows().await;
    let succ = path(pid, &format!("/stakeholders/{ana}/successor"));
    for bad in [cy, ana, 999_999] {
        app.expect_invalid(
            &app.token,
            Method::POST,
            &succ,
            &json!({ "successor_id": bad }),
            "successor_id",
            "invalid_successor",
        )
        .await;
    }
    assert_eq!(app.audit_rows().await, audit);
    let (status, v) = app.post_json(&succ, &json!({ "successor_id": bo })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["successor_id"], bo);
    assert_eq!(v["briefed_on"], Value::Null, "tasks still open");
    let r = roster(&app, &app.token, pid).await;
    assert_eq!(r["alerts"][0]["successor"]["name"], "Bo Becker");

    // Tasks: the partner cannot complete ours, outsiders find nothing, viewers are refused.
    let ids: Vec<i64> = r["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    let done = |t: i64| path(pid, &format!("/continuity-tasks/{t}/done"));
    let audit = app.audit_rows().await;
    app.expect_problem(
        &d.partner.token,
        Method::POST,
        &done(ids[0]),
        None,
        403,
        "forbidden",
        "",
    )
    .await;
    app.expect_problem(
        &outsider.token,
        Method::POST,
        &done(ids[0]),
        None,
        404,
        "not_found",
        "",
    )
    .await;
    app.expect_problem(
        &viewer_web,
        Method::POST,
        &done(ids[0]),
        None,
        403,
        "forbidden",
        "",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &done(999_999),
        None,
        404,
        "not_found",
        "",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);
    for (i, t) in ids.iter().enumerate() {
        let (status, v) = app.post_json(&done(*t), &json!({})).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["status"], "done");
        assert!(v["done_by"]
            .as_str()
            .unwrap()
            .contains("Home Health System"));
        let r = roster(&app, &app.token, pid).await;
        if i + 1 < ids.len() {
            assert_eq!(r["alerts"][0]["open_tasks"], (ids.len() - i - 1) as i64);
        } else {
            assert_eq!(r["alerts"], json!([]), "named and briefed: {r}");
            let a = r["people"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == ana)
                .unwrap();
            assert_eq!(a["briefed_on"], today().to_string());
        }
    }
    assert_eq!(app.audit_rows().await, audit + ids.len() as i64);
    app.expect_problem(
        &app.token,
        Method::POST,
        &done(ids[0]),
        None,
        409,
        "already_done",
        "status",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &succ,
        Some(&json!({ "successor_id": bo })),
        409,
        "already_briefed",
        "successor_id",
    )
    .await;
    // The audit log names the writes.
    let entries = app
        .store
        .audit_for("stakeholder", &ana.to_string(), 50)
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "add_stakeholder",
        "update_stakeholder",
        "depart_stakeholder",
        "name_successor",
    ] {
        assert!(actions.contains(&a), "{actions:?}");
    }
});

on_both!(naming_the_successor_last_briefs_at_once, |app| {
    let d = deal(&app).await;
    let pid = d.pid;
    let sponsor = add(
        &app,
        &d.partner.token,
        pid,
        &person(d.other, "Sam Sponsor", "executive_sponsor"),
    )
    .await;
    let next = add(
        &app,
        &d.partner.token,
        pid,
        &person(d.other, "Nia Next", "executive_sponsor"),
    )
    .await;
    // A non-key departure raises nothing.
    let lead = add(
        &app,
        &d.partner.token,
        pid,
        &person(d.other, "Lee Lead", "clinician_lead"),
    )
    .await;
    let (status, _) = app
        .send_json_as(
            &d.partner.token,
            Method::POST,
            &path(pid, &format!("/stakeholders/{lead}/departure")),
            &json!({ "departed_on": today() }),
        )
        .await;
    assert_eq!(status, 200);
    let r = roster(&app, &app.token, pid).await;
    assert_eq!(r["tasks"], json!([]));
    assert_eq!(r["alerts"], json!([]));
    // The sponsor leaves; the partner does every task first, then names the successor.
    let (status, _) = app
        .send_json_as(
            &d.partner.token,
            Method::POST,
            &path(pid, &format!("/stakeholders/{sponsor}/departure")),
            &json!({ "departed_on": today() }),
        )
        .await;
    assert_eq!(status, 200);
    let r = roster(&app, &app.token, pid).await;
    for t in r["tasks"].as_array().unwrap() {
        if t["status"] != "open" {
            continue;
        }
        // The home organization cannot do the partner's tasks.
        let url = path(pid, &format!("/continuity-tasks/{}/done", t["id"]));
        app.expect_problem(&app.token, Method::POST, &url, None, 403, "forbidden", "")
            .await;
        let (status, v) = app
            .send_json_as(&d.partner.token, Method::POST, &url, &json!({}))
            .await;
        assert_eq!(status, 200, "{v}");
    }
    let r = roster(&app, &app.token, pid).await;
    assert_eq!(r["alerts"].as_array().unwrap().len(), 1, "no successor yet");
    assert_eq!(r["alerts"][0]["open_tasks"], 0);
    let (status, v) = app
        .send_json_as(
            &d.partner.token,
            Method::POST,
            &path(pid, &format!("/stakeholders/{sponsor}/successor")),
            &json!({ "successor_id": next }),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["briefed_on"], today().to_string());
    assert_eq!(roster(&app, &app.token, pid).await["alerts"], json!([]));
});

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

on_both!(roster_and_brief_pages, |app| {
    let d = deal(&app).await;
    let pid = d.pid;
    let (outsider_org, outsider) = app
        .other_org("Outsider Health", "am@outsider.example", Role::Admin)
        .await;
    let home = app.sign_in("admin@home.example").await;
    let partner = app.sign_in(&d.partner.email).await;
    let base = format!("/partnerships/{pid}/stakeholders");

    // The partnership page links the roster and the brief.
    let (status, html) = page(&home, &format!("/partnerships/{pid}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"stakeholders-link\""));
    assert!(html.contains("id=\"brief-link\""));

    // Add through the form; a refused form shows the error next to its input.
    let audit = app.audit_rows().await;
    let outsider_id = outsider_org.to_string();
    let (status, html, _) = post(
        &home,
        &base,
        &[
            ("organization_id", &outsider_id),
            ("name", "Nobody"),
            ("role", "champion"),
            ("influence", "high"),
            ("engagement", "high"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"e-add-organization_id\""), "{html}");
    assert!(
        html.contains("value=\"Nobody\""),
        "the form keeps what was typed"
    );
    let home_id = app.home.to_string();
    let (status, html, _) = post(
        &home,
        &base,
        &[
            ("organization_id", &home_id),
            ("name", ""),
            ("role", "champion"),
            ("influence", "high"),
            ("engagement", "high"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"e-add-name\""));
    assert_eq!(app.audit_rows().await, audit, "nothing written");
    let (status, _, to) = post(
        &home,
        &base,
        &[
            ("organization_id", &home_id),
            ("name", "Ana Alvarez"),
            ("title", "VP Strategy"),
            ("role", "champion"),
            ("influence", "high"),
            ("engagement", "high"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert!(to.contains("done=added"), "{to}");
    let (_, _, _) = post(
        &home,
        &base,
        &[
            ("organization_id", &home_id),
            ("name", "Bo Becker"),
            ("role", "operational_lead"),
            ("influence", "medium"),
            ("engagement", "high"),
        ],
    )
    .await;
    let r = roster(&app, &app.token, pid).await;
    let ana = r["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "Ana Alvarez")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let bo = r["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "Bo Becker")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // Depart: a future date is refused next to the input; then recorded.
    let future = (today() + Days::new(5)).to_string();
    let (status, html, _) = post(
        &home,
        &format!("{base}/{ana}/departure"),
        &[("departed_on", &future)],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        html.contains(&format!("id=\"e-d{ana}-departed_on\"")),
        "{html}"
    );
    let on = (today() - Days::new(3)).to_string();
    let (status, _, _) = post(
        &home,
        &format!("{base}/{ana}/departure"),
        &[("departed_on", &on)],
    )
    .await;
    assert_eq!(status, 303);
    let (status, html) = page(&home, &base).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("id=\"alert-{ana}\"")));
    assert!(html.contains("Champion Ana Alvarez of Home Health System left on"));
    assert!(html.contains("Mark done"));
    // The partner sees the roster and the alert, but has no buttons for our tasks and is refused.
    let (status, phtml) = page(&partner, &base).await;
    assert_eq!(status, 200);
    assert!(phtml.contains("Ana Alvarez") && phtml.contains(&format!("id=\"alert-{ana}\"")));
    assert!(!phtml.contains("Mark done"));
    assert!(!phtml.contains(&format!("id=\"depart-{bo}\"")));
    let r = roster(&app, &app.token, pid).await;
    let task = r["tasks"][0]["id"].as_i64().unwrap();
    let audit = app.audit_rows().await;
    let (status, _, _) = post(
        &partner,
        &format!("/partnerships/{pid}/continuity-tasks/{task}/done"),
        &[],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(app.audit_rows().await, audit);
    // Name the successor and mark every task done through the forms.
    let bo_s = bo.to_string();
    let (status, _, _) = post(
        &home,
        &format!("{base}/{ana}/successor"),
        &[("successor_id", &bo_s)],
    )
    .await;
    assert_eq!(status, 303);
    for t in r["tasks"].as_array().unwrap() {
        let (status, _, _) = post(
            &home,
            &format!("/partnerships/{pid}/continuity-tasks/{}/done", t["id"]),
            &[],
        )
        .await;
        assert_eq!(status, 303);
    }
    let (_, html) = page(&home, &base).await;
    assert!(
        !html.contains(&format!("id=\"alert-{ana}\"")),
        "briefed: the alert is gone"
    );
    assert!(html.contains("briefed"));

    // A second champion leaves so the brief shows an alert; a meeting records a decision.
    let (_, _, _) = post(
        &home,
        &base,
        &[
            ("organization_id", &home_id),
            ("name", "Eve Ellis"),
            ("role", "alliance_manager"),
            ("influence", "high"),
            ("engagement", "low"),
        ],
    )
    .await;
    let (status, m) = app
        .post_json(
            &path(pid, "/meetings"),
            &json!({
                "held_on": today(), "kind": "steering",
                "attendees": [ { "organization_id": app.home, "name": "Ana" }, { "organization_id": d.other, "name": "Ben" } ],
                "decisions": [ "Extend the pilot to the east clinic" ]
            }),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    let r = roster(&app, &app.token, pid).await;
    let eve = r["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "Eve Ellis")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, _, _) = post(
        &home,
        &format!("{base}/{eve}/departure"),
        &[("departed_on", &on)],
    )
    .await;
    assert_eq!(status, 303);
    add(
        &app,
        &d.partner.token,
        pid,
        &person(d.other, "Cy Chen", "champion"),
    )
    .await;

    // The brief.
    let (status, html) = page(&home, &format!("/partnerships/{pid}/brief")).await;
    assert_eq!(status, 200, "{html}");
    for piece in [
        "id=\"brief-purpose\"",
        "Shared care",
        "id=\"brief-party-",
        "Bright Harbor Dental",
        "Revenue model",
        "id=\"brief-verdict\"",
        "Dental care for primary-care patients who have none.",
        "Uncompensated chair time",
        "id=\"brief-score\"",
        "id=\"brief-risks\"",
        "Cy Chen",
        "Alliance manager Eve Ellis of Home Health System left on",
        "Extend the pilot to the east clinic",
    ] {
        assert!(html.contains(piece), "the brief shows {piece}");
    }
    // The partner reads it too; an outsider finds nothing.
    let (status, _) = page(&partner, &format!("/partnerships/{pid}/brief")).await;
    assert_eq!(status, 200);
    let out = app.sign_in(&outsider.email).await;
    for u in [format!("/partnerships/{pid}/brief"), base.clone()] {
        let (status, html) = page(&out, &u).await;
        assert_eq!(status, 404, "{u}");
        assert!(!html.contains("Smiles in primary care"));
    }
});
