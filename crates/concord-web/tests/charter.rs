//! The charter over the JSON API, on SQLite and (when configured) PostgreSQL: drafting, stakes
//! acknowledgements, sign-off, versions and their diff, the verdict, who may do what, and that a
//! refused request writes nothing.

mod common;

use common::{Member, Session, TestApp};
use concord_domain::account::{Role, TokenScope};
use reqwest::Method;
use serde_json::{json, Value};

/// A partnership between the home organization and a partner, with an alliance manager on each
/// side (the home admin and `partner`).
struct Deal {
    pid: i64,
    other: i64,
    partner: Member,
    home_uid: i64,
    partner_uid: i64,
}

async fn deal(app: &TestApp) -> Deal {
    let other = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app
        .partnership("Smiles in primary care", app.home, other)
        .await;
    let partner = app
        .member(
            "manager@harbor.example",
            other,
            Role::AllianceManager,
            TokenScope::ReadWrite,
        )
        .await;
    let home_uid = app.user_id_of(&app.token).await;
    let partner_uid = app.user_id_of(&partner.token).await;
    Deal {
        pid,
        other,
        partner,
        home_uid,
        partner_uid,
    }
}

fn charter_path(pid: i64, rest: &str) -> String {
    format!("/api/v1/partnerships/{pid}/charter{rest}")
}

/// Who sends a request: a bearer token, or a signed-in browser session (cookie and CSRF header).
#[derive(Clone, Copy)]
enum Who<'a> {
    Token(&'a str),
    Web(&'a Session),
}

impl<'a> From<&'a String> for Who<'a> {
    fn from(t: &'a String) -> Self {
        Who::Token(t)
    }
}

impl<'a> From<&'a Session> for Who<'a> {
    fn from(s: &'a Session) -> Self {
        Who::Web(s)
    }
}

fn request(
    app: &TestApp,
    who: Who<'_>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::RequestBuilder {
    let req = match who {
        Who::Token(t) => app.client.request(method, app.url(path)).bearer_auth(t),
        Who::Web(s) => s
            .client
            .request(method, app.url(path))
            .header("x-csrf-token", &s.csrf),
    };
    match body {
        Some(b) => req.json(b),
        None => req,
    }
}

/// Sends `body` (or nothing) as `who`; answers the status and the JSON body.
async fn call<'a>(
    app: &TestApp,
    who: impl Into<Who<'a>>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let r = request(app, who.into(), method, path, body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Asserts a problem+json answer with this status, code and field (empty: no field).
#[allow(clippy::too_many_arguments)]
async fn expect_problem<'a>(
    app: &TestApp,
    who: impl Into<Who<'a>>,
    method: Method,
    path: &str,
    body: Option<&Value>,
    status: u16,
    code: &str,
    field: &str,
) -> Value {
    let r = request(app, who.into(), method.clone(), path, body)
        .send()
        .await
        .expect("request");
    let got = r.status().as_u16();
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    let p: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{method} {path}: {p}");
    assert_eq!(ct, "application/problem+json", "{method} {path}");
    assert_eq!(p["code"], code, "{method} {path}: {p}");
    if field.is_empty() {
        assert!(p.get("field").is_none(), "{method} {path}: {p}");
    } else {
        assert_eq!(p["field"], field, "{method} {path}: {p}");
    }
    assert_eq!(p["status"], status);
    p
}

async fn put_draft<'a>(app: &TestApp, token: impl Into<Who<'a>>, pid: i64, body: &Value) -> Value {
    let (status, v) = call(
        app,
        token,
        Method::PUT,
        &charter_path(pid, "/draft"),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "PUT draft: {v}");
    v
}

fn sign_body(version: &Value, sha: Option<&Value>) -> Value {
    match sha {
        Some(h) => json!({ "version": version, "content_sha256": h }),
        None => json!({ "version": version }),
    }
}

/// Signs (or acknowledges, with `what` = `acknowledgements`) version `v` as `token`, expecting 200.
async fn post_ok<'a>(
    app: &TestApp,
    token: impl Into<Who<'a>>,
    pid: i64,
    what: &str,
    v: &Value,
) -> Value {
    let body = sign_body(&v["number"], Some(&v["content_sha256"]));
    let (status, out) = call(
        app,
        token,
        Method::POST,
        &charter_path(pid, &format!("/{what}")),
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "{what}: {out}");
    out
}

async fn overview(app: &TestApp, pid: i64) -> Value {
    let (status, o) = app.get_json(&charter_path(pid, "")).await;
    assert_eq!(status, 200, "{o}");
    o
}

async fn verdict(app: &TestApp, pid: i64, query: &str) -> Value {
    let (status, v) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/verdict{query}"))
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

fn test_of<'a>(verdict: &'a Value, test: &str) -> &'a Value {
    verdict["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["test"] == test)
        .unwrap_or_else(|| panic!("no test {test} in {verdict}"))
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().expect("id"))
        .collect()
}

/// Audit entries about charters the acting organization may read, oldest first.
async fn charter_audit(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let r = app
        .get_as(
            token,
            &format!("/api/v1/audit?entity=charter&per_page=100{query}"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    let mut items = page["items"].as_array().unwrap().clone();
    items.reverse();
    items
}

/// How many audit entries the home admin can read.
async fn audit_total(app: &TestApp) -> u64 {
    let (status, page) = app.get_json("/api/v1/audit?per_page=1").await;
    assert_eq!(status, 200, "{page}");
    page["total"].as_u64().unwrap()
}

/// Everything a refused request must leave as it was: the charter as read, the audit log as the
/// home admin reads it, and the audit log as a whole.
async fn snapshot(app: &TestApp, pid: i64) -> (Value, u64, i64) {
    (
        overview(app, pid).await,
        audit_total(app).await,
        app.store.audit_count().await.unwrap(),
    )
}

fn new_metric(owner: i64) -> Value {
    json!({ "name": "Dental follow-up within a year", "category": "clinical_quality", "unit": "%",
            "direction": "higher", "baseline": 10.0, "target": 30.0, "target_date": "2027-12-31",
            "cadence": "annual", "owner": owner })
}

on_both!(draft_sign_supersede_diff_and_verdict, |app| {
    let d = deal(&app).await;
    let pid = d.pid;

    let o = overview(&app, pid).await;
    assert!(o["effective"].is_null() && o["draft"].is_null(), "{o}");
    assert_eq!(o["versions"], json!([]));
    assert_eq!(o["verdict"]["verdict"], "transactional");
    assert!(o["verdict"]["version"].is_null());

    // Version 1: drafted by home; every listed item gets an id.
    let body = app.strategic_charter(d.other, d.home_uid, d.partner_uid);
    let v1 = put_draft(&app, &app.token, pid, &body).await;
    assert_eq!(v1["number"], 1);
    assert_eq!(v1["status"], "draft");
    assert_eq!(ids(&v1["content"]["metrics"]), vec![1, 2]);
    assert_eq!(ids(&v1["content"]["goals"]), vec![1]);
    assert_eq!(ids(&v1["content"]["commitments"]), vec![1]);
    assert_eq!(ids(&v1["content"]["innovation_agenda"]), vec![1]);
    assert_eq!(v1["content"]["commitments"][0]["status"], "open");
    let sha = v1["content_sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert!(sha.chars().all(|c| c.is_ascii_hexdigit()));
    let parties: Vec<&Value> = v1["sign_off"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["organization_id"])
        .collect();
    assert_eq!(parties, vec![&json!(app.home), &json!(d.other)]);
    assert!(v1["sign_off"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["signed"].is_null() && s["acknowledged_stakes"].is_null()));

    // Nobody has acknowledged the stakes yet: the draft is only partly strategic.
    let v = verdict(&app, pid, "").await;
    assert_eq!(v["version"], 1);
    assert_eq!(v["status"], "draft");
    assert_eq!(v["verdict"], "partly_strategic", "{v}");
    let stakes = test_of(&v, "stakes_on_the_table");
    assert_eq!(stakes["passed"], false);
    assert!(!stakes["suggestions"].as_array().unwrap().is_empty());

    // Both parties acknowledge the stakes, then sign; the draft becomes effective.
    let acked = post_ok(&app, &app.token, pid, "acknowledgements", &v1).await;
    assert_eq!(
        acked["sign_off"][0]["acknowledged_stakes"]["user_id"],
        d.home_uid
    );
    assert!(acked["sign_off"][1]["acknowledged_stakes"].is_null());
    let acked = post_ok(&app, &d.partner.token, pid, "acknowledgements", &v1).await;
    assert_eq!(
        acked["sign_off"][1]["acknowledged_stakes"]["user_id"],
        d.partner_uid
    );
    let half = post_ok(&app, &app.token, pid, "signatures", &v1).await;
    assert_eq!(half["status"], "draft");
    assert_eq!(half["sign_off"][0]["signed"]["user_id"], d.home_uid);
    assert_eq!(
        half["sign_off"][0]["signed"]["organization_name"],
        "Home Health System"
    );
    assert!(half["sign_off"][1]["signed"].is_null());
    assert!(half["effective_at"].is_null());
    let done = post_ok(&app, &d.partner.token, pid, "signatures", &v1).await;
    assert_eq!(done["status"], "effective", "{done}");
    assert!(done["effective_at"].is_string());
    assert_eq!(done["sign_off"][1]["signed"]["user_id"], d.partner_uid);
    assert_eq!(done["content"], v1["content"]);
    assert_eq!(done["content_sha256"], v1["content_sha256"]);

    let o = overview(&app, pid).await;
    assert_eq!(o["effective"]["number"], 1);
    assert!(o["draft"].is_null());
    assert_eq!(o["versions"][0]["status"], "effective");
    assert_eq!(o["versions"][0]["signatures"], 2);
    assert_eq!(o["versions"][0]["parties"], 2);

    let v = verdict(&app, pid, "").await;
    assert_eq!(v["verdict"], "strategic", "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(v["status"], "effective");
    assert_eq!(v["summary"], "Strategic: every test passes.");
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 5);
    for t in tests {
        assert_eq!(t["passed"], true, "{t}");
        assert_eq!(t["suggestions"], json!([]), "{t}");
        assert!(!t["reason"].as_str().unwrap().is_empty());
    }
    let names: Vec<&str> = tests.iter().map(|t| t["test"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "coopetition_scoped",
            "together_beats_alone",
            "stakes_on_the_table",
            "relationship_tended",
            "not_a_finders_fee"
        ]
    );
    assert_eq!(o["verdict"], v, "the overview carries the same verdict");

    // Version 2 starts from version 1's content: metric 1's target rises, a metric is added.
    let mut c2 = o["effective"]["content"].clone();
    c2["metrics"][0]["target"] = json!(70.0);
    c2["metrics"]
        .as_array_mut()
        .unwrap()
        .push(new_metric(d.other));
    let v2 = put_draft(&app, &app.token, pid, &c2).await;
    assert_eq!(v2["number"], 2);
    assert_eq!(v2["status"], "draft");
    assert_eq!(ids(&v2["content"]["metrics"]), vec![1, 2, 3]);
    assert_ne!(v2["content_sha256"], v1["content_sha256"]);
    // The stakes did not change, so both acknowledgements carry over.
    for s in v2["sign_off"].as_array().unwrap() {
        assert!(!s["acknowledged_stakes"].is_null(), "{s}");
        assert!(s["signed"].is_null(), "{s}");
    }
    let o = overview(&app, pid).await;
    assert_eq!(o["effective"]["number"], 1, "v1 stays in force meanwhile");
    assert_eq!(o["draft"]["number"], 2);
    assert_eq!(o["verdict"]["version"], 1);

    post_ok(&app, &d.partner.token, pid, "signatures", &v2).await;
    let done = post_ok(&app, &app.token, pid, "signatures", &v2).await;
    assert_eq!(done["status"], "effective");

    let (status, list) = app.get_json(&charter_path(pid, "/versions")).await;
    assert_eq!(status, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0]["number"].clone(), list[0]["status"].clone()),
        (json!(2), json!("effective"))
    );
    assert_eq!(
        (list[1]["number"].clone(), list[1]["status"].clone()),
        (json!(1), json!("superseded"))
    );
    assert!(list
        .iter()
        .all(|s| s["signatures"] == 2 && s["parties"] == 2));

    let (status, one) = app.get_json(&charter_path(pid, "/versions/1")).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["status"], "superseded");
    assert_eq!(one["content"]["metrics"][0]["target"], 60.0);
    assert_eq!(one["content"], v1["content"], "a version never changes");
    assert!(one["sign_off"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| !s["signed"].is_null()));
    let (status, two) = app.get_json(&charter_path(pid, "/versions/2")).await;
    assert_eq!(status, 200, "{two}");
    assert_eq!(two["status"], "effective");
    assert_eq!(two["content"]["metrics"][0]["target"], 70.0);

    let (status, diff) = app.get_json(&charter_path(pid, "/diff?from=1&to=2")).await;
    assert_eq!(status, 200, "{diff}");
    assert_eq!(
        (diff["from"].clone(), diff["to"].clone()),
        (json!(1), json!(2))
    );
    let changes = diff["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{diff}");
    let target = changes
        .iter()
        .find(|c| c["kind"] == "changed")
        .expect("a changed item");
    assert_eq!(target["section"], "metrics");
    assert_eq!(target["section_title"], "Success metrics");
    assert_eq!(target["field"], "target");
    assert_eq!(
        target["item"],
        "metric 1: Dental visit within 60 days of referral"
    );
    assert_eq!(target["before"], "60.0");
    assert_eq!(target["after"], "70.0");
    let added = changes.iter().find(|c| c["kind"] == "added").unwrap();
    assert_eq!(added["item"], "metric 3: Dental follow-up within a year");
    assert!(added["before"].is_null());
    let (_, back) = app.get_json(&charter_path(pid, "/diff?from=2&to=1")).await;
    assert!(
        back["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "removed"
                && c["item"] == "metric 3: Dental follow-up within a year")
    );

    let v = verdict(&app, pid, "").await;
    assert_eq!(
        (v["version"].clone(), v["verdict"].clone()),
        (json!(2), json!("strategic"))
    );
    let v = verdict(&app, pid, "?version=1").await;
    assert_eq!(v["version"], 1);
    assert_eq!(v["status"], "superseded");
    assert_eq!(v["verdict"], "strategic");

    // The partner reads the same charter.
    let r = app.get_as(&d.partner.token, &charter_path(pid, "")).await;
    assert_eq!(r.status(), 200);
    let theirs: Value = r.json().await.unwrap();
    assert_eq!(theirs["effective"], overview(&app, pid).await["effective"]);
});

on_both!(
    verdict_on_a_referral_deal_and_on_partly_strategic_ones,
    |app| {
        let d = deal(&app).await;
        let a = app.home;
        let b = d.other;

        // Everything else passes, but the only value passing is referrals: a finder's fee.
        let mut c = app.strategic_charter(b, d.home_uid, d.partner_uid);
        c["value_flows"] = json!([
            { "from": a, "to": b, "kind": "referral_volume" },
            { "from": b, "to": a, "kind": "per_referral_fee", "description": "USD 40 per new patient" }
        ]);
        let v1 = put_draft(&app, &app.token, d.pid, &c).await;
        for token in [&app.token, &d.partner.token] {
            post_ok(&app, token, d.pid, "acknowledgements", &v1).await;
            post_ok(&app, token, d.pid, "signatures", &v1).await;
        }
        let v = verdict(&app, d.pid, "").await;
        assert_eq!(v["status"], "effective");
        assert_eq!(v["verdict"], "transactional", "{v}");
        assert!(v["summary"].as_str().unwrap().contains("referrals"), "{v}");
        let fee = test_of(&v, "not_a_finders_fee");
        assert_eq!(fee["passed"], false);
        assert!(fee["reason"].as_str().unwrap().contains("finder's fee"));
        let suggestions = fee["suggestions"].as_array().unwrap();
        assert!(!suggestions.is_empty());
        assert!(suggestions.iter().all(|s| !s.as_str().unwrap().is_empty()));
        for t in [
            "coopetition_scoped",
            "together_beats_alone",
            "stakes_on_the_table",
            "relationship_tended",
        ] {
            assert_eq!(test_of(&v, t)["passed"], true, "{t}: {v}");
        }

        // Another deal: scoped coopetition and goals no party could reach alone, but no stakes and no
        // governance. Two of four core tests pass: partly strategic.
        let county = app.org("County Health District", "public_health").await;
        let pid2 = app.partnership("Screening in schools", a, county).await;
        let mut c = app.strategic_charter(county, d.home_uid, 0);
        c["stakes"] = json!([]);
        c["governance"] = json!({});
        c["innovation_agenda"] = json!([]);
        put_draft(&app, &app.token, pid2, &c).await;
        let v = verdict(&app, pid2, "").await;
        assert_eq!(v["verdict"], "partly_strategic", "{v}");
        assert_eq!(v["status"], "draft");
        assert!(v["summary"].as_str().unwrap().contains("2 of 5"), "{v}");
        for (t, passed) in [
            ("coopetition_scoped", true),
            ("together_beats_alone", true),
            ("stakes_on_the_table", false),
            ("relationship_tended", false),
            ("not_a_finders_fee", true),
        ] {
            let got = test_of(&v, t);
            assert_eq!(got["passed"], passed, "{t}: {got}");
            assert_eq!(
                got["suggestions"].as_array().unwrap().is_empty(),
                passed,
                "failed tests suggest, passed ones do not: {got}"
            );
        }
        let tended = test_of(&v, "relationship_tended");
        assert_eq!(
            tended["suggestions"].as_array().unwrap().len(),
            4,
            "alliance managers, cadence, review interval, innovation agenda: {tended}"
        );

        // Without the goals no party could reach alone only one core test passes: transactional.
        c["alone_goals"] = json!([]);
        c["value_flows"] = json!([]);
        put_draft(&app, &app.token, pid2, &c).await;
        let v = verdict(&app, pid2, "").await;
        assert_eq!(v["verdict"], "transactional", "{v}");
        assert!(v["summary"]
            .as_str()
            .unwrap()
            .contains("only 1 of the four"));
        let together = test_of(&v, "together_beats_alone");
        assert_eq!(together["passed"], false);
        assert!(together["reason"]
            .as_str()
            .unwrap()
            .contains("Home Health System and County Health District"));
        assert_eq!(test_of(&v, "not_a_finders_fee")["passed"], false);
    }
);

on_both!(item_ids_are_assigned_once_and_kept_across_versions, |app| {
    let d = deal(&app).await;
    let pid = d.pid;
    let body = app.strategic_charter(d.other, d.home_uid, d.partner_uid);
    let v = put_draft(&app, &app.token, pid, &body).await;
    assert_eq!(ids(&v["content"]["metrics"]), vec![1, 2]);

    // Replace the draft: metric 2 dropped, a new metric first, metric 1 kept by its id.
    let mut c = v["content"].clone();
    let m1 = c["metrics"][0].clone();
    c["metrics"] = json!([new_metric(d.other), m1]);
    let v = put_draft(&app, &app.token, pid, &c).await;
    assert_eq!(v["number"], 1, "the same open draft");
    assert_eq!(
        ids(&v["content"]["metrics"]),
        vec![3, 1],
        "a removed metric's id is never given to another"
    );
    assert_eq!(
        v["content"]["metrics"][1]["name"],
        "Dental visit within 60 days of referral"
    );

    // Two items with one id are refused.
    let mut dup = v["content"].clone();
    dup["metrics"][1]["id"] = json!(3);
    let p = expect_problem(
        &app,
        &app.token,
        Method::PUT,
        &charter_path(pid, "/draft"),
        Some(&dup),
        422,
        "validation_failed",
        "metrics[1].id",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "duplicate_id");

    for token in [&app.token, &d.partner.token] {
        post_ok(&app, token, pid, "signatures", &v).await;
    }

    // Version 2 from version 1: existing ids stay, the new goal and metric get fresh ones.
    let mut c = v["content"].clone();
    c["goals"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "title": "Shorter waits for a first dental visit" }));
    let mut m = new_metric(app.home);
    m["name"] = json!("Emergency visits for dental pain");
    m["direction"] = json!("lower");
    m["baseline"] = json!(120.0);
    m["target"] = json!(80.0);
    c["metrics"].as_array_mut().unwrap().push(m);
    let v2 = put_draft(&app, &app.token, pid, &c).await;
    assert_eq!(v2["number"], 2);
    assert_eq!(ids(&v2["content"]["metrics"]), vec![3, 1, 4]);
    assert_eq!(ids(&v2["content"]["goals"]), vec![1, 2]);
    let (_, diff) = app.get_json(&charter_path(pid, "/diff?from=1&to=2")).await;
    let items: Vec<&str> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["item"].as_str().unwrap())
        .collect();
    assert_eq!(
        items,
        vec![
            "goal 2: Shorter waits for a first dental visit",
            "metric 4: Emergency visits for dental pain"
        ],
        "{diff}"
    );
    assert!(diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["kind"] == "added"));
});

on_both!(bad_charter_input_is_named_and_writes_nothing, |app| {
    let d = deal(&app).await;
    let pid = d.pid;
    let county = app.org("County Health District", "public_health").await;
    let good = app.strategic_charter(d.other, d.home_uid, d.partner_uid);
    let path = charter_path(pid, "/draft");

    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Edit, &str, &str, &str)> = vec![
        (
            Box::new(|c| c["metrics"][0]["target"] = json!(10.0)),
            "validation_failed",
            "metrics[0].target",
            "target_wrong_side",
        ),
        (
            Box::new(|c| c["metrics"][1]["target"] = json!(450.0)),
            "validation_failed",
            "metrics[1].target",
            "target_wrong_side",
        ),
        (
            Box::new(|c| c["metrics"][0]["target"] = json!(20.0)),
            "validation_failed",
            "metrics[0].target",
            "target_wrong_side",
        ),
        (
            Box::new(move |c| {
                c["governance"]["alliance_managers"][0]["user_id"] = json!(d.partner_uid)
            }),
            "validation_failed",
            "governance.alliance_managers[0].user_id",
            "not_a_member",
        ),
        (
            Box::new(|c| c["governance"]["alliance_managers"][1]["user_id"] = json!(987654)),
            "validation_failed",
            "governance.alliance_managers[1].user_id",
            "not_a_member",
        ),
        (
            Box::new(move |c| c["stakes"][0]["party"] = json!(county)),
            "validation_failed",
            "stakes[0].party",
            "not_a_party",
        ),
        (
            Box::new(move |c| c["alone_goals"][1]["party"] = json!(county)),
            "validation_failed",
            "alone_goals[1].party",
            "not_a_party",
        ),
        (
            Box::new(move |c| c["metrics"][0]["owner"] = json!(county)),
            "validation_failed",
            "metrics[0].owner",
            "not_a_party",
        ),
        (
            Box::new(move |c| c["governance"]["alliance_managers"][1]["party"] = json!(county)),
            "validation_failed",
            "governance.alliance_managers[1].party",
            "not_a_party",
        ),
        (
            Box::new(move |c| c["value_flows"][0]["to"] = json!(county)),
            "validation_failed",
            "value_flows[0].to",
            "not_a_party",
        ),
        (
            Box::new(|c| c["value_flows"][1]["to"] = c["value_flows"][1]["from"].clone()),
            "validation_failed",
            "value_flows[1].to",
            "same_party",
        ),
        (
            Box::new(|c| c["ends_on"] = json!("2025-12-31")),
            "validation_failed",
            "ends_on",
            "date_out_of_order",
        ),
        (
            Box::new(|c| c["ends_on"] = json!("2026-01-01")),
            "validation_failed",
            "ends_on",
            "date_out_of_order",
        ),
        (
            Box::new(|c| c["metrics"][0]["target_date"] = json!("2025-06-30")),
            "validation_failed",
            "metrics[0].target_date",
            "date_out_of_order",
        ),
        (
            Box::new(|c| c["commitments"][0]["due_on"] = json!("2025-12-31")),
            "validation_failed",
            "commitments[0].due_on",
            "date_out_of_order",
        ),
        (
            Box::new(|c| c["governance"]["review_interval_months"] = json!(48)),
            "validation_failed",
            "governance.review_interval_months",
            "out_of_range",
        ),
        (
            Box::new(|c| c["coopetition"]["areas"][0]["stance"] = json!("compete")),
            "validation_failed",
            "coopetition.no_competing_areas",
            "contradiction",
        ),
        (
            Box::new(|c| {
                c["metrics"][1]["name"] = json!("dental visit WITHIN 60 days of referral")
            }),
            "validation_failed",
            "metrics[1].name",
            "duplicate",
        ),
        (
            Box::new(|c| c["colour"] = json!("blue")),
            "unknown_field",
            "colour",
            "",
        ),
        (
            Box::new(|c| c["metrics"][0]["colour"] = json!("blue")),
            "unknown_field",
            "metrics[0].colour",
            "",
        ),
        (
            Box::new(|c| c["governance"]["chair"] = json!("someone")),
            "unknown_field",
            "governance.chair",
            "",
        ),
        (
            Box::new(|c| c["metrics"][0]["category"] = json!("vibes")),
            "invalid_value",
            "metrics[0].category",
            "",
        ),
        (
            Box::new(|c| c["metrics"][0]["target_date"] = json!("next spring")),
            "invalid_type",
            "metrics[0].target_date",
            "",
        ),
        (
            Box::new(|c| c["metrics"][0]["target"] = json!("sixty")),
            "invalid_type",
            "metrics[0].target",
            "",
        ),
    ];

    // Twice: with no charter at all, and with an open draft whose content must stay as it was.
    for round in 0..2 {
        if round == 1 {
            let v = put_draft(&app, &app.token, pid, &good).await;
            assert_eq!(v["number"], 1);
        }
        let before = snapshot(&app, pid).await;
        for (edit, code, field, error_code) in &cases {
            let mut body = good.clone();
            edit(&mut body);
            let p = expect_problem(
                &app,
                &app.token,
                Method::PUT,
                &path,
                Some(&body),
                422,
                code,
                field,
            )
            .await;
            if !error_code.is_empty() {
                assert_eq!(p["errors"][0]["code"], *error_code, "{p}");
                assert_eq!(p["errors"][0]["field"], *field, "{p}");
            }
        }
        // A viewer may not draft at all.
        let email = format!("viewer{round}@home.example");
        app.member(&email, app.home, Role::Viewer, TokenScope::Read)
            .await;
        let viewer = app.sign_in(&email).await;
        let before = (
            before.0,
            audit_total(&app).await,
            app.store.audit_count().await.unwrap(),
        );
        expect_problem(
            &app,
            &viewer,
            Method::PUT,
            &path,
            Some(&good),
            403,
            "forbidden",
            "",
        )
        .await;
        let after = snapshot(&app, pid).await;
        assert_eq!(
            after, before,
            "round {round}: a refused draft writes nothing"
        );
        if round == 0 {
            assert!(after.0["draft"].is_null());
            assert_eq!(after.0["versions"], json!([]));
        } else {
            assert_eq!(after.0["draft"]["number"], 1);
            assert_eq!(after.0["versions"].as_array().unwrap().len(), 1);
        }
    }
});

on_both!(who_may_sign_and_when, |app| {
    let d = deal(&app).await;
    let pid = d.pid;
    // A viewer's tokens are read-only; the viewer acts through a signed-in session.
    let viewer_token = app
        .member(
            "viewer@home.example",
            app.home,
            Role::Viewer,
            TokenScope::Read,
        )
        .await
        .token;
    let viewer = app.sign_in("viewer@home.example").await;
    let contributor = app
        .member(
            "contributor@home.example",
            app.home,
            Role::Contributor,
            TokenScope::ReadWrite,
        )
        .await;
    let (_, outsider) = app
        .other_org(
            "County Health District",
            "manager@county.example",
            Role::AllianceManager,
        )
        .await;
    let sigs = charter_path(pid, "/signatures");
    let withdraw = charter_path(pid, "/signatures/withdraw");
    let acks = charter_path(pid, "/acknowledgements");
    let draft = charter_path(pid, "/draft");

    // A contributor may draft.
    let body = app.strategic_charter(d.other, d.home_uid, d.partner_uid);
    let v1 = put_draft(&app, &contributor.token, pid, &body).await;
    assert!(v1["created_by"]
        .as_str()
        .unwrap()
        .contains("Home Health System"));
    let one = sign_body(&json!(1), Some(&v1["content_sha256"]));

    let before = snapshot(&app, pid).await;
    for (token, status, code) in [
        (Who::Web(&viewer), 403, "forbidden"),
        (Who::from(&viewer_token), 403, "insufficient_scope"),
        (Who::from(&contributor.token), 403, "forbidden"),
        (Who::from(&outsider.token), 404, "not_found"),
    ] {
        for path in [&sigs, &acks, &withdraw] {
            expect_problem(
                &app,
                token,
                Method::POST,
                path,
                Some(&one),
                status,
                code,
                "",
            )
            .await;
        }
        expect_problem(&app, token, Method::DELETE, &draft, None, status, code, "").await;
    }
    expect_problem(
        &app,
        &outsider.token,
        Method::PUT,
        &draft,
        Some(&body),
        404,
        "not_found",
        "",
    )
    .await;
    // Stale or wrong requests from someone who may sign.
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &sigs,
        Some(&json!({ "version": 2 })),
        409,
        "stale_version",
        "version",
    )
    .await;
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &sigs,
        Some(&json!({ "version": 1, "content_sha256": "0".repeat(64) })),
        409,
        "content_changed",
        "content_sha256",
    )
    .await;
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &acks,
        Some(&json!({ "version": 1, "content_sha256": "f".repeat(64) })),
        409,
        "content_changed",
        "content_sha256",
    )
    .await;
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &withdraw,
        Some(&one),
        409,
        "not_signed",
        "version",
    )
    .await;
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &sigs,
        Some(&json!({ "version": 1, "colour": "blue" })),
        422,
        "unknown_field",
        "colour",
    )
    .await;
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &sigs,
        Some(&json!({})),
        422,
        "missing_field",
        "version",
    )
    .await;
    assert_eq!(snapshot(&app, pid).await, before, "refusals write nothing");

    // Home signs (the hash in any case is accepted); the draft is now frozen.
    let upper = sign_body(
        &json!(1),
        Some(&json!(v1["content_sha256"]
            .as_str()
            .unwrap()
            .to_uppercase())),
    );
    let (status, signed) = call(&app, &app.token, Method::POST, &sigs, Some(&upper)).await;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["status"], "draft");
    let before = snapshot(&app, pid).await;
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &sigs,
        Some(&one),
        409,
        "already_signed",
        "version",
    )
    .await;
    let mut edited = v1["content"].clone();
    edited["summary"] = json!("A different summary after signing");
    let p = expect_problem(
        &app,
        &app.token,
        Method::PUT,
        &draft,
        Some(&edited),
        409,
        "signed_version",
        "version",
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("Home Health System"),
        "{p}"
    );
    expect_problem(
        &app,
        &d.partner.token,
        Method::PUT,
        &draft,
        Some(&edited),
        409,
        "signed_version",
        "version",
    )
    .await;
    let after = snapshot(&app, pid).await;
    assert_eq!(after, before, "a signed draft does not change");
    assert_eq!(after.0["draft"]["content_sha256"], v1["content_sha256"]);

    // Withdrawing the signature unfreezes the draft.
    let (status, w) = call(&app, &app.token, Method::POST, &withdraw, Some(&one)).await;
    assert_eq!(status, 200, "{w}");
    assert!(w["sign_off"][0]["signed"].is_null());
    assert_eq!(w["status"], "draft");
    let v1b = put_draft(&app, &app.token, pid, &edited).await;
    assert_eq!(v1b["number"], 1);
    assert_eq!(
        v1b["content"]["summary"],
        "A different summary after signing"
    );
    assert_ne!(v1b["content_sha256"], v1["content_sha256"]);
    // The hash read before the edit no longer signs.
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &sigs,
        Some(&one),
        409,
        "content_changed",
        "content_sha256",
    )
    .await;
    for token in [&app.token, &d.partner.token] {
        post_ok(&app, token, pid, "signatures", &v1b).await;
    }
    assert_eq!(overview(&app, pid).await["effective"]["number"], 1);

    // Version 1 is effective: signing it again, or by its number once version 2 is open, is stale.
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &sigs,
        Some(&one),
        409,
        "not_a_draft",
        "version",
    )
    .await;
    let v2 = put_draft(&app, &app.token, pid, &v1b["content"]).await;
    assert_eq!(v2["number"], 2);
    expect_problem(
        &app,
        &d.partner.token,
        Method::POST,
        &sigs,
        Some(&json!({ "version": 1 })),
        409,
        "stale_version",
        "version",
    )
    .await;

    // Discarding the draft: contributors may not; it stays readable as withdrawn.
    expect_problem(
        &app,
        &contributor.token,
        Method::DELETE,
        &draft,
        None,
        403,
        "forbidden",
        "",
    )
    .await;
    let (status, gone) = call(&app, &app.token, Method::DELETE, &draft, None).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["number"], 2);
    assert_eq!(gone["status"], "withdrawn");
    let o = overview(&app, pid).await;
    assert!(o["draft"].is_null());
    assert_eq!(o["effective"]["number"], 1);
    let statuses: Vec<&str> = o["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["withdrawn", "effective"]);
    let (status, two) = app.get_json(&charter_path(pid, "/versions/2")).await;
    assert_eq!(status, 200);
    assert_eq!(two["status"], "withdrawn");
    let before = snapshot(&app, pid).await;
    expect_problem(
        &app,
        &app.token,
        Method::DELETE,
        &draft,
        None,
        404,
        "not_found",
        "",
    )
    .await;
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &sigs,
        Some(&json!({ "version": 2 })),
        409,
        "not_a_draft",
        "version",
    )
    .await;
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &acks,
        Some(&json!({ "version": 2 })),
        409,
        "not_current",
        "version",
    )
    .await;
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &acks,
        Some(&json!({ "version": 9 })),
        404,
        "not_found",
        "",
    )
    .await;
    assert_eq!(snapshot(&app, pid).await, before);
    let v3 = put_draft(&app, &app.token, pid, &v1b["content"]).await;
    assert_eq!(v3["number"], 3, "numbers are never reused");
});

on_both!(unknown_versions_and_bad_queries, |app| {
    let d = deal(&app).await;
    let pid = d.pid;
    let (status, list) = app.get_json(&charter_path(pid, "/versions")).await;
    assert_eq!((status, list), (200, json!([])));
    let (_, v) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/verdict"))
        .await;
    assert_eq!(v["verdict"], "transactional");
    assert!(v["tests"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["passed"] == false && !t["suggestions"].as_array().unwrap().is_empty()));

    app.effective_charter(pid, d.other).await;
    let token = app.token.clone();
    for path in [
        charter_path(pid, "/versions/99"),
        charter_path(pid, "/versions/0"),
        charter_path(pid, "/versions/abc"),
        format!("/api/v1/partnerships/{pid}/verdict?version=99"),
        "/api/v1/partnerships/999/charter".to_string(),
        "/api/v1/partnerships/999/charter/versions/1".to_string(),
        "/api/v1/partnerships/999/verdict".to_string(),
    ] {
        expect_problem(&app, &token, Method::GET, &path, None, 404, "not_found", "").await;
    }
    for (q, field) in [
        ("from=1&to=2", "to"),
        ("from=5&to=1", "from"),
        ("from=0&to=1", "from"),
    ] {
        let p = expect_problem(
            &app,
            &token,
            Method::GET,
            &charter_path(pid, &format!("/diff?{q}")),
            None,
            422,
            "validation_failed",
            field,
        )
        .await;
        assert_eq!(p["errors"][0]["code"], "unknown_version", "{p}");
    }
    for (q, field) in [("from=1", "to"), ("to=1", "from"), ("", "from")] {
        let p = expect_problem(
            &app,
            &token,
            Method::GET,
            &charter_path(pid, &format!("/diff?{q}")),
            None,
            422,
            "validation_failed",
            field,
        )
        .await;
        assert_eq!(p["errors"][0]["code"], "required", "{p}");
    }
    for (q, code, field) in [
        ("from=x&to=1", "invalid_type", "from"),
        ("from=1&to=1&colour=red", "unknown_field", "colour"),
    ] {
        expect_problem(
            &app,
            &token,
            Method::GET,
            &charter_path(pid, &format!("/diff?{q}")),
            None,
            400,
            code,
            field,
        )
        .await;
    }
    let (status, same) = app.get_json(&charter_path(pid, "/diff?from=1&to=1")).await;
    assert_eq!(status, 200);
    assert_eq!(same["changes"], json!([]));
});

on_both!(going_active_needs_an_effective_charter, |app| {
    let d = deal(&app).await;
    let pid = d.pid;
    let moves = format!("/api/v1/partnerships/{pid}/transitions");
    for to in ["assessing", "negotiating"] {
        let (status, p) = app.post_json(&moves, &json!({ "to": to })).await;
        assert_eq!(status, 200, "{p}");
    }
    let active = json!({ "to": "active", "note": "Launch" });
    let before = snapshot(&app, pid).await;
    let p = expect_problem(
        &app,
        &app.token,
        Method::POST,
        &moves,
        Some(&active),
        409,
        "charter_required",
        "to",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("charter"), "{p}");
    assert_eq!(
        snapshot(&app, pid).await,
        before,
        "a refused move writes nothing"
    );

    // A draft signed by one party is not enough.
    let body = app.strategic_charter(d.other, d.home_uid, d.partner_uid);
    let v1 = put_draft(&app, &app.token, pid, &body).await;
    post_ok(&app, &app.token, pid, "signatures", &v1).await;
    let before = snapshot(&app, pid).await;
    expect_problem(
        &app,
        &app.token,
        Method::POST,
        &moves,
        Some(&active),
        409,
        "charter_required",
        "to",
    )
    .await;
    assert_eq!(
        snapshot(&app, pid).await,
        before,
        "a refused move writes nothing"
    );
    let (_, p) = app.get_json(&format!("/api/v1/partnerships/{pid}")).await;
    assert_eq!(p["stage"], "negotiating");
    let (_, history) = app.get_json(&moves).await;
    assert_eq!(history.as_array().unwrap().len(), 3);

    // Once every party has signed, the partnership goes active.
    post_ok(&app, &d.partner.token, pid, "signatures", &v1).await;
    let (status, p) = app.post_json(&moves, &active).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["stage"], "active");
    let (_, history) = app.get_json(&moves).await;
    assert_eq!(history.as_array().unwrap().len(), 4);
});

on_both!(every_charter_write_is_audited, |app| {
    let d = deal(&app).await;
    let pid = d.pid;
    assert!(charter_audit(&app, &app.token, "").await.is_empty());

    let body = app.strategic_charter(d.other, d.home_uid, d.partner_uid);
    let first = put_draft(&app, &app.token, pid, &body).await;
    let mut edited = first["content"].clone();
    edited["summary"] = json!("Dental care, revised");
    let v1 = put_draft(&app, &app.token, pid, &edited).await;
    post_ok(&app, &app.token, pid, "acknowledgements", &v1).await;
    // Acknowledging again changes nothing, and records nothing.
    post_ok(&app, &app.token, pid, "acknowledgements", &v1).await;
    post_ok(&app, &app.token, pid, "signatures", &v1).await;
    let one = sign_body(&json!(1), None);
    let (status, _) = call(
        &app,
        &app.token,
        Method::POST,
        &charter_path(pid, "/signatures/withdraw"),
        Some(&one),
    )
    .await;
    assert_eq!(status, 200);
    post_ok(&app, &app.token, pid, "signatures", &v1).await;
    post_ok(&app, &d.partner.token, pid, "signatures", &v1).await;
    let v2 = put_draft(&app, &d.partner.token, pid, &v1["content"]).await;
    let (status, _) = call(
        &app,
        &app.token,
        Method::DELETE,
        &charter_path(pid, "/draft"),
        None,
    )
    .await;
    assert_eq!(status, 200);

    let log = charter_audit(&app, &app.token, "").await;
    let seen: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["entity_id"].as_str().unwrap(),
                e["user_email"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    let v1_id = format!("{pid}/v1");
    let v2_id = format!("{pid}/v2");
    let (home, partner) = ("admin@home.example", "manager@harbor.example");
    assert_eq!(
        seen,
        vec![
            ("create_draft", v1_id.as_str(), home),
            ("update_draft", v1_id.as_str(), home),
            ("acknowledge_stakes", v1_id.as_str(), home),
            ("sign", v1_id.as_str(), home),
            ("withdraw_signature", v1_id.as_str(), home),
            ("sign", v1_id.as_str(), home),
            ("sign", v1_id.as_str(), partner),
            ("make_effective", v1_id.as_str(), partner),
            ("create_draft", v2_id.as_str(), partner),
            ("discard_draft", v2_id.as_str(), home),
        ]
    );
    for e in &log {
        assert_eq!(e["entity"], "charter");
        assert_eq!(e["actor"], "api");
        let org = if e["user_email"] == home {
            app.home
        } else {
            d.other
        };
        assert_eq!(e["acting_org_id"], org, "{e}");
    }
    let by = |action: &str, nth: usize| {
        log.iter()
            .filter(|e| e["action"] == action)
            .nth(nth)
            .unwrap()
    };
    assert!(by("create_draft", 0)["before"].is_null());
    assert_eq!(
        by("create_draft", 0)["after"]["summary"],
        first["content"]["summary"]
    );
    assert_eq!(
        by("update_draft", 0)["before"]["summary"],
        first["content"]["summary"]
    );
    assert_eq!(
        by("update_draft", 0)["after"]["summary"],
        "Dental care, revised"
    );
    assert_eq!(
        by("sign", 0)["after"]["content_sha256"],
        v1["content_sha256"]
    );
    assert_eq!(by("sign", 2)["after"]["organization_id"], d.other);
    assert!(by("make_effective", 0)["before"]["effective_version"].is_null());
    assert_eq!(by("make_effective", 0)["after"]["effective_version"], 1);
    assert_eq!(
        by("create_draft", 1)["before"]["summary"],
        "Dental care, revised",
        "v2 starts from the effective text"
    );
    assert_eq!(by("create_draft", 1)["after"], v2["content"]);
    assert_eq!(by("discard_draft", 0)["after"]["status"], "withdrawn");

    // The partner's admin reads the same entries; a filter by record narrows them.
    let partner_admin = app
        .member(
            "admin@harbor.example",
            d.other,
            Role::Admin,
            TokenScope::ReadWrite,
        )
        .await;
    let theirs = charter_audit(&app, &partner_admin.token, "").await;
    let ids_of = |l: &[Value]| l.iter().map(|e| e["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids_of(&theirs), ids_of(&log));
    let only_v2 = charter_audit(&app, &app.token, &format!("&entity_id={pid}%2Fv2")).await;
    assert_eq!(only_v2.len(), 2);
    // An organization that is not a party sees none of them.
    let (_, outsider) = app
        .other_org(
            "County Health District",
            "admin@county.example",
            Role::Admin,
        )
        .await;
    assert!(charter_audit(&app, &outsider.token, "").await.is_empty());
});

on_both!(an_archived_partnership_keeps_its_charter_as_it_is, |app| {
    let d = deal(&app).await;
    let pid = d.pid;
    let body = app.strategic_charter(d.other, d.home_uid, d.partner_uid);
    let v1 = put_draft(&app, &app.token, pid, &body).await;
    post_ok(&app, &app.token, pid, "signatures", &v1).await;
    let (status, p) = app
        .post_json(&format!("/api/v1/partnerships/{pid}/archive"), &json!({}))
        .await;
    assert_eq!(status, 200, "{p}");

    // Reading still works; every charter write is refused as archived and writes nothing.
    let before = snapshot(&app, pid).await;
    assert_eq!(before.0["draft"]["number"], 1);
    let one = sign_body(&json!(1), None);
    expect_problem(
        &app,
        &app.token,
        Method::PUT,
        &charter_path(pid, "/draft"),
        Some(&body),
        409,
        "archived",
        "",
    )
    .await;
    let mut accepted = Vec::new();
    for (who, method, rest, body) in [
        (&d.partner.token, Method::POST, "/signatures", Some(&one)),
        (
            &d.partner.token,
            Method::POST,
            "/acknowledgements",
            Some(&one),
        ),
        (&app.token, Method::POST, "/acknowledgements", Some(&one)),
        (&app.token, Method::POST, "/signatures/withdraw", Some(&one)),
        (&app.token, Method::DELETE, "/draft", None),
    ] {
        let (status, p) = call(&app, who, method.clone(), &charter_path(pid, rest), body).await;
        if (status, p["code"].as_str()) != (409, Some("archived")) {
            accepted.push(format!("{method} {rest} -> {status} {}", p["code"]));
        }
    }
    assert!(
        accepted.is_empty(),
        "charter writes on an archived partnership not refused as archived: {accepted:?}"
    );
    assert_eq!(snapshot(&app, pid).await, before);
});
