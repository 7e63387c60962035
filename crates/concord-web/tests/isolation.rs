//! The isolation matrix. It walks every route of the router (`concord_web::routes()`, the same
//! table the router is built from, so a new route is covered the moment it exists) and proves:
//! - without signing in, nothing but public routes answers (401 for the API, a redirect to
//!   sign-in for pages);
//! - a member of an organization that is not party to a partnership gets 404 on every
//!   partnership route, for reads and writes alike;
//! - a viewer cannot write anywhere (403), and nothing changes;
//! - private notes never appear in another party's API responses or pages.

mod common;

use axum::http::Method;
use common::{Session, TestApp};
use concord_domain::account::{Role, TokenScope};
use concord_web::api::Access;
use serde_json::{json, Value};

struct World {
    partnership: i64,
    journey: i64,
    partner_org: i64,
    viewer_user: i64,
    /// A fit scorecard and a competitor entry of the home organization (private to it).
    scorecard: i64,
    competitor: i64,
}

/// The path with its parameters filled in for this world.
fn concrete(path: &str, access: Access, app: &TestApp, w: &World) -> String {
    let id = match (access, path) {
        (Access::Partnership, _) => w.partnership.to_string(),
        (Access::Journey, _) => w.journey.to_string(),
        (Access::Private, p)
            if p.starts_with("/competitors/") || p.starts_with("/api/v1/competitors/") =>
        {
            w.competitor.to_string()
        }
        (Access::Private, _) => w.scorecard.to_string(),
        (_, p) if p.starts_with("/organization/members/") => w.viewer_user.to_string(),
        (_, p) if p.contains("/organizations/") => app.home.to_string(),
        _ => "999999".to_string(),
    };
    path.replace("{id}", &id)
        .replace("{code}", "dental")
        .replace("{token}", "not-a-real-invitation")
        .replace("{number}", "1")
        .replace("{stage}", "1")
        .replace("{handoff}", "1")
        .replace("{assumption}", "1")
        .replace("{feedback}", "1")
        .replace("{metric}", "1")
        .replace("{seq}", "1")
        .replace("{commitment}", "1")
        .replace("{meeting}", "1")
        .replace("{action}", "1")
        .replace("{risk}", "1")
        .replace("{round}", "1")
        .replace("{stakeholder}", "1")
        .replace("{task}", "1")
}

/// A valid JSON body for each API write, so a refusal is about who asks, not what was sent.
/// A new write route fails here until it gets a sample: the matrix never skips a route silently.
fn api_body(method: &Method, path: &str, app: &TestApp, w: &World) -> Value {
    let parties = json!([
        { "organization_id": app.home, "role": "health system" },
        { "organization_id": w.partner_org, "role": "partner" }
    ]);
    match (method.as_str(), path) {
        ("POST", "/api/v1/organizations") => {
            json!({ "name": "Written By Someone", "kind": "other" })
        }
        ("PUT", "/api/v1/organizations/{id}") => {
            json!({ "name": "Home Health System", "kind": "health_system" })
        }
        ("POST", "/api/v1/partnerships") | ("PUT", "/api/v1/partnerships/{id}") => {
            json!({ "name": "Matrix deal", "type": "wholesale", "parties": parties })
        }
        ("POST", "/api/v1/partnerships/{id}/archive") => json!({}),
        ("POST", "/api/v1/partnerships/{id}/transitions") => json!({ "to": "assessing" }),
        ("POST", "/api/v1/partnerships/{id}/notes") => json!({ "body": "written by someone" }),
        ("PUT", "/api/v1/partnerships/{id}/charter/draft") => {
            json!({ "summary": "Written by someone" })
        }
        ("DELETE", "/api/v1/partnerships/{id}/charter/draft") => json!({}),
        ("POST", "/api/v1/partnerships/{id}/charter/signatures")
        | ("POST", "/api/v1/partnerships/{id}/charter/signatures/withdraw")
        | ("POST", "/api/v1/partnerships/{id}/charter/acknowledgements") => {
            json!({ "version": 1 })
        }
        ("POST", "/api/v1/partnerships/{id}/journeys") | ("PUT", "/api/v1/journeys/{id}") => {
            json!({ "name": "Written by someone", "end_user": "patient" })
        }
        ("POST", "/api/v1/partnerships/{id}/journeys/import") => json!({
            "format": "concord.journey/1", "name": "Imported", "end_user": "patient",
            "lull_threshold_days": 7, "design": {}
        }),
        ("POST", "/api/v1/journeys/{id}/stages")
        | ("PUT", "/api/v1/journeys/{id}/stages/{stage}") => {
            json!({ "name": "Written by someone" })
        }
        ("DELETE", "/api/v1/journeys/{id}/stages/{stage}")
        | ("DELETE", "/api/v1/journeys/{id}/handoffs/{handoff}") => json!({}),
        ("POST", "/api/v1/journeys/{id}/stages/{stage}/move") => json!({ "position": 2 }),
        ("POST", "/api/v1/journeys/{id}/handoffs") => json!({ "from_stage": 1, "to_stage": 2 }),
        ("POST", "/api/v1/journeys/{id}/assumptions")
        | ("PUT", "/api/v1/journeys/{id}/assumptions/{assumption}") => {
            json!({ "statement": "Written by someone" })
        }
        ("POST", "/api/v1/journeys/{id}/trial-runs") => {
            json!({ "run_on": "2026-11-01", "participants": ["P-01"] })
        }
        ("POST", "/api/v1/journeys/{id}/feedback/{feedback}/address") => {
            json!({ "note": "Written by someone" })
        }
        ("POST", "/api/v1/partnerships/{id}/metrics/{metric}/values") => {
            json!({ "period_start": "2026-01-01", "value": 12.5 })
        }
        // A CSV upload: a JSON string is sent as the `text/csv` body (see `with_body`).
        ("POST", "/api/v1/partnerships/{id}/metrics/import") => {
            json!("metric,period,value\n1,2026-Q1,12.5\n")
        }
        ("POST", "/api/v1/partnerships/{id}/ledger/{seq}/corrections") => {
            json!({ "value": 13, "reason": "Written by someone" })
        }
        ("POST", "/api/v1/partnerships/{id}/commitments/{commitment}/reports") => {
            json!({ "status": "done" })
        }
        ("POST", "/api/v1/partnerships/{id}/meetings") => json!({
            "held_on": "2026-01-15", "kind": "steering",
            "attendees": [
                { "organization_id": app.home, "name": "Someone" },
                { "organization_id": w.partner_org, "name": "Someone else" }
            ],
            "actions": [ { "what": "Written by someone", "owner": app.home, "due_on": "2026-02-01" } ]
        }),
        ("PUT", "/api/v1/partnerships/{id}/actions/{action}") => json!({ "status": "done" }),
        ("POST", "/api/v1/partnerships/{id}/risks")
        | ("PUT", "/api/v1/partnerships/{id}/risks/{risk}") => json!({
            "category": "other", "title": "Written by someone", "likelihood": 2, "impact": 3
        }),
        ("POST", "/api/v1/partnerships/{id}/reviews") => json!({ "reason": "Written by someone" }),
        ("POST", "/api/v1/partnerships/{id}/reviews/{number}/decision") => {
            json!({ "decision": "continue", "rationale": "Written by someone" })
        }
        ("POST", "/api/v1/partnerships/{id}/reviews/{number}/signatures") => json!({}),
        ("POST", "/api/v1/partnerships/{id}/stakeholders")
        | ("PUT", "/api/v1/partnerships/{id}/stakeholders/{stakeholder}") => json!({
            "organization_id": app.home, "name": "Written by someone", "role": "champion"
        }),
        ("POST", "/api/v1/partnerships/{id}/stakeholders/{stakeholder}/departure") => {
            json!({ "departed_on": "2026-01-15" })
        }
        ("POST", "/api/v1/partnerships/{id}/stakeholders/{stakeholder}/successor") => {
            json!({ "successor_id": 1 })
        }
        ("POST", "/api/v1/partnerships/{id}/continuity-tasks/{task}/done") => json!({}),
        ("POST", "/api/v1/partnerships/{id}/surveys") => json!({ "title": "Written by someone" }),
        ("POST", "/api/v1/partnerships/{id}/surveys/{round}/close") => json!({}),
        ("POST", "/api/v1/partnerships/{id}/surveys/{round}/responses") => json!({
            "scores": { "trust": 3, "communication": 3, "shared_vision": 3, "culture_fit": 3,
                        "governance": 3, "value_realised": 3, "fairness": 3, "transparency": 3,
                        "innovation": 3 },
            "comment": "Written by someone"
        }),
        ("POST", "/api/v1/partnerships/{id}/warnings/acknowledgements") => {
            json!({ "key": "review_overdue:next:2026-01-01", "note": "Written by someone" })
        }
        ("PUT", "/api/v1/organization/health-weights") => json!({ "metric_attainment": 30 }),
        ("POST", "/api/v1/capabilities") => {
            json!({ "code": "matrix_cap", "name": "Matrix capability", "category": "clinical", "continuum_level": "primary" })
        }
        ("PUT", "/api/v1/capabilities/{code}") => {
            json!({ "code": "dental", "name": "Dental care", "category": "clinical", "continuum_level": "primary" })
        }
        ("POST", "/api/v1/invitations") => {
            json!({ "email": "someone@else.example", "role": "viewer" })
        }
        ("POST", "/api/v1/tokens") => json!({ "name": "matrix", "scope": "read-write" }),
        ("POST", "/api/v1/tokens/{id}/revoke") => json!({}),
        ("POST", "/api/v1/scorecards") => json!({ "organization_id": w.partner_org }),
        ("PUT", "/api/v1/scorecards/{id}/judgements") => json!({
            "criteria": { "strategic_alignment": { "judgement": 4, "evidence": "Written by someone" } }
        }),
        ("POST", "/api/v1/scorecards/{id}/promote") => json!({ "type": "wholesale" }),
        ("PUT", "/api/v1/scorecard-settings") => json!({ "weights": { "strategic_alignment": 2 } }),
        ("POST", "/api/v1/competitors") => {
            json!({ "organization_id": w.partner_org, "note": "Written by someone" })
        }
        ("DELETE", "/api/v1/competitors/{id}") => json!({}),
        ("POST", "/api/v1/fhir/import") => {
            json!({ "resourceType": "Organization", "name": "Written By Someone" })
        }
        other => panic!("the isolation matrix needs a sample body for {other:?}"),
    }
}

/// A valid form for each page write.
fn form_body(path: &str, app: &TestApp, w: &World) -> Vec<(String, String)> {
    let v = |pairs: &[(&str, String)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    let partnership = v(&[
        ("name", "Matrix deal".into()),
        ("type", "wholesale".into()),
        ("party_org_0", app.home.to_string()),
        ("party_role_0", "health system".into()),
        ("party_org_1", w.partner_org.to_string()),
        ("party_role_1", "partner".into()),
    ]);
    match path {
        "/organizations" => v(&[
            ("name", "Written By Someone".into()),
            ("kind", "other".into()),
        ]),
        "/organizations/{id}" => v(&[
            ("name", "Home Health System".into()),
            ("kind", "health_system".into()),
        ]),
        "/partnerships" | "/partnerships/{id}" => partnership,
        "/partnerships/{id}/transition" => v(&[("to", "assessing".into())]),
        "/partnerships/{id}/archive" => vec![],
        "/partnerships/{id}/notes" => v(&[("body", "written by someone".into())]),
        "/partnerships/{id}/charter/edit" => v(&[
            ("section", "summary".into()),
            ("summary", "Written by someone".into()),
        ]),
        "/partnerships/{id}/charter/sign"
        | "/partnerships/{id}/charter/withdraw"
        | "/partnerships/{id}/charter/acknowledge" => v(&[("version", "1".into())]),
        "/partnerships/{id}/charter/discard" => vec![],
        "/partnerships/{id}/metrics/{metric}/values" => v(&[
            ("period", "2026-01-01".into()),
            ("value", "12.5".into()),
        ]),
        "/partnerships/{id}/ledger/{seq}/corrections" => v(&[
            ("value", "13".into()),
            ("reason", "Written by someone".into()),
        ]),
        // The page posts this as multipart with the token in the query string; sent urlencoded
        // here, who asks is refused before the file is read.
        "/partnerships/{id}/metrics/import" => {
            v(&[("file", "metric,period,value\n1,2026-Q1,12.5\n".into())])
        }
        "/partnerships/{id}/risks" | "/partnerships/{id}/risks/{risk}" => v(&[
            ("category", "other".into()),
            ("title", "Written by someone".into()),
            ("likelihood", "2".into()),
            ("impact", "3".into()),
            ("status", "open".into()),
            ("visibility", "shared".into()),
        ]),
        "/partnerships/{id}/commitments/{commitment}/reports" => v(&[
            ("status", "done".into()),
            ("note", "Written by someone".into()),
        ]),
        "/partnerships/{id}/meetings" => v(&[
            ("held_on", "2026-01-15".into()),
            ("kind", "steering".into()),
            (&format!("attendees_{}", app.home), "Someone".into()),
            (&format!("attendees_{}", w.partner_org), "Someone else".into()),
            ("action_0_what", "Written by someone".into()),
            ("action_0_owner", app.home.to_string()),
            ("action_0_due_on", "2026-02-01".into()),
        ]),
        "/partnerships/{id}/actions/{action}" => v(&[("status", "done".into())]),
        "/partnerships/{id}/reviews" => v(&[("reason", "Written by someone".into())]),
        "/partnerships/{id}/reviews/{number}/decision" => v(&[
            ("decision", "continue".into()),
            ("rationale", "Written by someone".into()),
        ]),
        "/partnerships/{id}/reviews/{number}/signatures" => vec![],
        "/partnerships/{id}/stakeholders" => v(&[
            ("organization_id", app.home.to_string()),
            ("name", "Written by someone".into()),
            ("role", "champion".into()),
            ("influence", "high".into()),
            ("engagement", "high".into()),
        ]),
        "/partnerships/{id}/stakeholders/{stakeholder}/departure" => {
            v(&[("departed_on", "2026-01-15".into())])
        }
        "/partnerships/{id}/stakeholders/{stakeholder}/successor" => {
            v(&[("successor_id", "1".into())])
        }
        "/partnerships/{id}/continuity-tasks/{task}/done" => vec![],
        "/partnerships/{id}/surveys" => v(&[("title", "Written by someone".into())]),
        "/partnerships/{id}/surveys/{round}/close" => vec![],
        "/partnerships/{id}/surveys/{round}/responses" => v(&[
            ("trust", "3".into()),
            ("communication", "3".into()),
            ("shared_vision", "3".into()),
            ("culture_fit", "3".into()),
            ("governance", "3".into()),
            ("value_realised", "3".into()),
            ("fairness", "3".into()),
            ("transparency", "3".into()),
            ("innovation", "3".into()),
            ("comment", "Written by someone".into()),
        ]),
        "/partnerships/{id}/health/acknowledgements" => v(&[
            ("key", "review_overdue:next:2026-01-01".into()),
            ("note", "Written by someone".into()),
        ]),
        "/organization/health-weights" => v(&[
            ("metric_attainment", "30".into()),
            ("commitments_kept", "15".into()),
            ("meeting_cadence", "10".into()),
            ("survey_level", "15".into()),
            ("perception_gaps", "10".into()),
            ("open_high_risks", "10".into()),
            ("leadership_continuity", "10".into()),
            ("review_timeliness", "5".into()),
        ]),
        "/partnerships/{id}/journeys" | "/journeys/{id}" => v(&[
            ("name", "Written by someone".into()),
            ("end_user", "patient".into()),
        ]),
        "/partnerships/{id}/journeys/import" => v(&[(
            "file",
            r#"{"format":"concord.journey/1","name":"Imported","end_user":"patient","lull_threshold_days":7,"design":{}}"#.into(),
        )]),
        "/journeys/{id}/stages" | "/journeys/{id}/stages/{stage}" => v(&[
            ("name", "Written by someone".into()),
            ("touchpoint_rows", "3".into()),
            ("tp0_channel", "phone".into()),
        ]),
        "/journeys/{id}/stages/{stage}/move" => v(&[("position", "2".into())]),
        "/journeys/{id}/stages/{stage}/remove" | "/journeys/{id}/handoffs/{handoff}/remove" => {
            vec![]
        }
        "/journeys/{id}/handoffs" => v(&[
            ("from_stage", "1".into()),
            ("to_stage", "2".into()),
            ("channel", "portal".into()),
        ]),
        "/journeys/{id}/assumptions" | "/journeys/{id}/assumptions/{assumption}" => v(&[
            ("statement", "Written by someone".into()),
            ("status", "untested".into()),
            ("stages", "1".into()),
        ]),
        "/journeys/{id}/trial-runs" => v(&[
            ("run_on", "2026-11-01".into()),
            ("participants", "P-01".into()),
        ]),
        "/journeys/{id}/feedback/{feedback}/address" => {
            v(&[("note", "Written by someone".into())])
        }
        "/capabilities" => v(&[
            ("code", "matrix_cap".into()),
            ("name", "Matrix capability".into()),
            ("category", "clinical".into()),
            ("continuum_level", "primary".into()),
        ]),
        "/organization/members/invite" => v(&[
            ("email", "someone@else.example".into()),
            ("role", "viewer".into()),
        ]),
        "/organization/members/{id}/role" => v(&[("role", "admin".into())]),
        "/account/tokens" => v(&[("name", "matrix".into()), ("scope", "read".into())]),
        "/scorecards" => v(&[("organization_id", w.partner_org.to_string())]),
        "/scorecards/{id}/judgements" => v(&[
            ("j_strategic_alignment", "4".into()),
            ("e_strategic_alignment", "Written by someone".into()),
        ]),
        "/scorecards/{id}/promote" => v(&[("type", "wholesale".into())]),
        "/scorecard-settings" => v(&[("w_strategic_alignment", "2".into())]),
        "/competitors" => v(&[
            ("organization_id", w.partner_org.to_string()),
            ("note", "Written by someone".into()),
        ]),
        "/competitors/{id}/remove" => vec![],
        "/fhir/import" => v(&[(
            "text",
            r#"{"resourceType":"Organization","name":"Written By Someone"}"#.into(),
        )]),
        "/account/tokens/{id}/revoke"
        | "/session/organization"
        | "/sign-in"
        | "/sign-out"
        | "/invitations/{token}" => vec![],
        other => panic!("the isolation matrix needs a sample form for POST {other}"),
    }
}

/// Attaches a sample body: a JSON string is a CSV upload (`text/csv`), anything else JSON.
fn with_body(rb: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    match body {
        Value::String(csv) => rb.header("content-type", "text/csv").body(csv.clone()),
        other => rb.json(other),
    }
}

/// Sends `method path` as a token holder (API) and returns the status and body.
async fn api_call(
    app: &TestApp,
    token: Option<&str>,
    method: &Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, String) {
    let mut rb = app.client.request(method.clone(), app.url(path));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(b) = body {
        rb = with_body(rb, b);
    }
    let r = rb.send().await.expect("request");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn page_call(
    s: &Session,
    method: &Method,
    path: &str,
    form: &[(String, String)],
) -> (u16, String) {
    let r = if *method == Method::GET {
        s.get(path).await
    } else {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        s.post_form(path, &pairs).await
    };
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// Builds the world: home (admin + viewer), a partner organization, an outsider organization, one
/// partnership between home and the partner, and a private note on each side.
async fn world(app: &TestApp) -> (World, common::Member, common::Member, common::Member) {
    let (partner_org, partner_admin) = app
        .other_org(
            "Partner Physician Group",
            "admin@partner.example",
            Role::Admin,
        )
        .await;
    let (_, outsider) = app
        .other_org(
            "Outsider Health",
            "am@outsider.example",
            Role::AllianceManager,
        )
        .await;
    let viewer = app
        .member(
            "viewer@home.example",
            app.home,
            Role::Viewer,
            TokenScope::Read,
        )
        .await;
    let partnership = app.partnership("Shared deal", app.home, partner_org).await;
    let (s, _) = app
        .post_json(
            &format!("/api/v1/partnerships/{partnership}/notes"),
            &json!({ "body": "HOME-PRIVATE-NOTE" }),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .send_json_as(
            &partner_admin.token,
            reqwest::Method::POST,
            &format!("/api/v1/partnerships/{partnership}/notes"),
            &json!({ "body": "PARTNER-PRIVATE-NOTE" }),
        )
        .await;
    assert_eq!(s, 201);
    let viewer_user = app
        .store
        .user_by_email(&concord_domain::account::Email::parse("viewer@home.example").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
        .0;
    let (s, journey) = app
        .post_json(
            &format!("/api/v1/partnerships/{partnership}/journeys"),
            &json!({ "name": "Shared deal referral journey", "end_user": "patient",
                     "design": { "stages": [ { "name": "Referral" }, { "name": "Visit" } ] } }),
        )
        .await;
    assert_eq!(s, 201, "{journey}");
    let journey = journey["id"].as_i64().unwrap();
    // Private to the home organization: a fit scorecard of the partner and a competitor entry.
    let (s, scorecard) = app
        .post_json(
            "/api/v1/scorecards",
            &json!({ "organization_id": partner_org }),
        )
        .await;
    assert_eq!(s, 201, "{scorecard}");
    let (s, competitor) = app
        .post_json(
            "/api/v1/competitors",
            &json!({ "organization_id": partner_org, "note": "HOME-PRIVATE-RIVALRY" }),
        )
        .await;
    assert_eq!(s, 201, "{competitor}");
    (
        World {
            partnership,
            journey,
            partner_org,
            viewer_user,
            scorecard: scorecard["id"].as_i64().unwrap(),
            competitor: competitor["id"].as_i64().unwrap(),
        },
        partner_admin,
        outsider,
        viewer,
    )
}

on_both!(nothing_answers_without_signing_in, |app| {
    let (w, _, _, _) = world(&app).await;
    let mut checked = 0;
    for (method, path, access) in concord_web::routes() {
        if access == Access::Public {
            continue;
        }
        let url = concrete(&path, access, &app, &w);
        if path.starts_with("/api/") {
            let body = (method != Method::GET).then(|| api_body(&method, &path, &app, &w));
            let (status, text) = api_call(&app, None, &method, &url, body.as_ref()).await;
            assert_eq!(status, 401, "{method} {url}: {text}");
        } else {
            let r = if method == Method::GET {
                app.client.get(app.url(&url)).send().await.unwrap()
            } else {
                app.client
                    .post(app.url(&url))
                    .form(&form_body(&path, &app, &w))
                    .send()
                    .await
                    .unwrap()
            };
            assert_eq!(r.status(), 303, "{method} {url}");
            let to = r.headers()["location"].to_str().unwrap().to_string();
            assert!(to.starts_with("/sign-in"), "{method} {url} → {to}");
        }
        checked += 1;
    }
    assert!(checked > 30, "the matrix walked {checked} routes");
});

on_both!(an_outsider_gets_404_on_every_partnership_route, |app| {
    let (w, _, outsider, _) = world(&app).await;
    let web = app.sign_in(&outsider.email).await;
    let audit_before = app.store.audit_count().await.unwrap();
    let mut checked = 0;
    for (method, path, access) in concord_web::routes() {
        if !matches!(access, Access::Partnership | Access::Journey) {
            continue;
        }
        let url = concrete(&path, access, &app, &w);
        let (status, text) = if path.starts_with("/api/") {
            let body = (method != Method::GET).then(|| api_body(&method, &path, &app, &w));
            api_call(&app, Some(&outsider.token), &method, &url, body.as_ref()).await
        } else {
            let form = if method == Method::GET {
                vec![]
            } else {
                form_body(&path, &app, &w)
            };
            page_call(&web, &method, &url, &form).await
        };
        assert_eq!(status, 404, "{method} {url} as an outsider: {text}");
        assert!(
            !text.contains("Shared deal"),
            "{method} {url} leaks the partnership's name"
        );
        assert!(
            !text.contains("PRIVATE-NOTE"),
            "{method} {url} leaks a note"
        );
        checked += 1;
    }
    assert!(checked >= 12, "partnership routes walked: {checked}");
    // The list and the dashboard do not mention it either.
    let (_, list) = api_call(
        &app,
        Some(&outsider.token),
        &Method::GET,
        "/api/v1/partnerships",
        None,
    )
    .await;
    assert!(list.contains("\"total\":0"), "{list}");
    let (_, dashboard) = page_call(&web, &Method::GET, "/", &[]).await;
    assert!(!dashboard.contains("Shared deal"));
    assert_eq!(
        app.store.audit_count().await.unwrap(),
        audit_before,
        "nothing was written"
    );
});

on_both!(a_viewer_cannot_write_anywhere, |app| {
    let (w, _, _, viewer) = world(&app).await;
    let web = app.sign_in(&viewer.email).await;
    let audit_before = app.store.audit_count().await.unwrap();
    let mut checked = 0;
    for (method, path, access) in concord_web::routes() {
        if method == Method::GET || matches!(access, Access::Public | Access::Personal) {
            continue;
        }
        let url = concrete(&path, access, &app, &w);
        if path.starts_with("/api/") {
            let body = api_body(&method, &path, &app, &w);
            // A viewer's token is read-only, so the scope refuses first…
            let (status, text) =
                api_call(&app, Some(&viewer.token), &method, &url, Some(&body)).await;
            assert_eq!(status, 403, "{method} {url} with a viewer's token: {text}");
            assert!(
                text.contains("insufficient_scope"),
                "{method} {url}: {text}"
            );
            // …and signed in (session + CSRF header), the role refuses.
            let r = with_body(
                web.client
                    .request(method.clone(), format!("{}{url}", web.base))
                    .header("x-csrf-token", &web.csrf),
                &body,
            )
            .send()
            .await
            .unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            assert_eq!(status, 403, "{method} {url} as a signed-in viewer: {text}");
            assert!(
                text.contains("\"code\":\"forbidden\""),
                "{method} {url}: {text}"
            );
        } else {
            let (status, text) = page_call(&web, &method, &url, &form_body(&path, &app, &w)).await;
            assert_eq!(status, 403, "{method} {url} as a viewer: {text}");
        }
        checked += 1;
    }
    assert!(checked >= 18, "write routes walked: {checked}");
    // Reading is fine.
    let (status, _) = api_call(
        &app,
        Some(&viewer.token),
        &Method::GET,
        &format!("/api/v1/partnerships/{}", w.partnership),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.store.audit_count().await.unwrap(),
        audit_before,
        "nothing was written"
    );
});

on_both!(private_notes_never_reach_the_other_party, |app| {
    let (w, partner_admin, _, _) = world(&app).await;
    let web = app.sign_in(&partner_admin.email).await;
    let mut read = 0;
    for (method, path, access) in concord_web::routes() {
        if method != Method::GET || access == Access::Public {
            continue;
        }
        let mut url = concrete(&path, access, &app, &w);
        if path == "/organizations/{id}"
            || path == "/organizations/{id}/edit"
            || path == "/api/v1/organizations/{id}"
        {
            url = url.replace(&app.home.to_string(), &w.partner_org.to_string());
        }
        let (status, text) = if path.starts_with("/api/") {
            api_call(&app, Some(&partner_admin.token), &method, &url, None).await
        } else {
            page_call(&web, &method, &url, &[]).await
        };
        assert!(status < 500, "{url}: {status}");
        assert!(
            !text.contains("HOME-PRIVATE-NOTE"),
            "GET {url} shows the home organization's private note to its partner"
        );
        read += 1;
    }
    assert!(read > 20);
    // The partner sees its own note, on the page and in the API.
    let (_, page) = page_call(
        &web,
        &Method::GET,
        &format!("/partnerships/{}", w.partnership),
        &[],
    )
    .await;
    assert!(page.contains("PARTNER-PRIVATE-NOTE"));
    let (_, notes) = api_call(
        &app,
        Some(&partner_admin.token),
        &Method::GET,
        &format!("/api/v1/partnerships/{}/notes", w.partnership),
        None,
    )
    .await;
    assert!(
        notes.contains("PARTNER-PRIVATE-NOTE") && !notes.contains("HOME-PRIVATE-NOTE"),
        "{notes}"
    );
    // And the home organization sees only its own.
    let (_, notes) = api_call(
        &app,
        Some(&app.token),
        &Method::GET,
        &format!("/api/v1/partnerships/{}/notes", w.partnership),
        None,
    )
    .await;
    assert!(
        notes.contains("HOME-PRIVATE-NOTE") && !notes.contains("PARTNER-PRIVATE-NOTE"),
        "{notes}"
    );
});

on_both!(private_records_are_404_to_every_other_organization, |app| {
    let (w, partner_admin, outsider, _) = world(&app).await;
    // The partner (also the scorecard's candidate and the competitor marked) and an outsider.
    let sessions = [
        app.sign_in(&partner_admin.email).await,
        app.sign_in(&outsider.email).await,
    ];
    let audit_before = app.store.audit_count().await.unwrap();
    let mut checked = 0;
    for (who, web) in [&partner_admin, &outsider].into_iter().zip(&sessions) {
        for (method, path, access) in concord_web::routes() {
            if access != Access::Private {
                continue;
            }
            let url = concrete(&path, access, &app, &w);
            let (status, text) = if path.starts_with("/api/") {
                let body = (method != Method::GET).then(|| api_body(&method, &path, &app, &w));
                api_call(&app, Some(&who.token), &method, &url, body.as_ref()).await
            } else {
                let form = if method == Method::GET {
                    vec![]
                } else {
                    form_body(&path, &app, &w)
                };
                page_call(web, &method, &url, &form).await
            };
            assert_eq!(status, 404, "{method} {url} as {}: {text}", who.email);
            assert!(
                !text.contains("HOME-PRIVATE-RIVALRY"),
                "{method} {url} leaks"
            );
            checked += 1;
        }
        // Nor does it appear in their lists, pages or map.
        for path in [
            "/api/v1/scorecards",
            "/api/v1/competitors",
            "/api/v1/ecosystem/map",
        ] {
            let (status, text) = api_call(&app, Some(&who.token), &Method::GET, path, None).await;
            assert_eq!(status, 200, "{path}");
            assert!(!text.contains("HOME-PRIVATE-RIVALRY"), "{path}: {text}");
            assert!(
                !text.contains(&format!("\"id\":{}", w.scorecard)) || path != "/api/v1/scorecards",
                "{path}: {text}"
            );
        }
        for path in ["/scorecards", "/competitors", "/ecosystem"] {
            let (status, text) = page_call(web, &Method::GET, path, &[]).await;
            assert_eq!(status, 200, "{path}");
            assert!(!text.contains("HOME-PRIVATE-RIVALRY"), "{path}");
            assert!(
                !text.contains(&format!("/scorecards/{}\"", w.scorecard)),
                "{path}"
            );
        }
    }
    assert!(checked >= 10, "private routes walked: {checked}");
    assert_eq!(
        app.store.audit_count().await.unwrap(),
        audit_before,
        "nothing was written"
    );
    // The home organization reads its own.
    let (status, text) = api_call(
        &app,
        Some(&app.token),
        &Method::GET,
        "/api/v1/competitors",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(text.contains("HOME-PRIVATE-RIVALRY"));
});
