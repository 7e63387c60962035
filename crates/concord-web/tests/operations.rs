//! Running a partnership over the JSON API, on SQLite and (when configured) PostgreSQL: the
//! charter's commitments as they are kept (late ones flagged), meetings with their action items
//! and cadence adherence, and reviews — opened early, by hand through `under_review` or by the
//! scheduler — with their packet, decision and signatures, and the stage following them. Every
//! refused write is shown to write nothing.

mod common;

use chrono::{Days, Months, NaiveDate};
use common::{Member, TestApp};
use concord_domain::account::{Role, TokenScope};
use concord_domain::PartnershipId;
use concord_storage::Actor;
use reqwest::Method;
use serde_json::{json, Value};

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// The start of the test charter (`TestApp::strategic_charter`).
const STARTS_ON: NaiveDate = match NaiveDate::from_ymd_opt(2026, 1, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// A partnership between home and a partner with an effective charter: home's commitment (due
/// 2026-03-31, so late), a partner commitment due in the future, monthly steering meetings, a
/// review every six months. `partner` is the partner's alliance manager, `helper` a contributor
/// there.
struct Deal {
    pid: i64,
    other: i64,
    partner: Member,
    helper: Member,
}

async fn deal(app: &TestApp, name: &str) -> Deal {
    let other = app.org(&format!("{name} Dental"), "dental_group").await;
    let pid = app.partnership(name, app.home, other).await;
    let future_due = (today() + Months::new(6)).to_string();
    let partner = app
        .effective_charter_with(pid, other, move |c| {
            c["commitments"].as_array_mut().unwrap().push(
                json!({ "party": other, "what": "Reserve two chairs on Saturdays", "due_on": future_due }),
            );
        })
        .await;
    let helper = app
        .member(
            &format!("helper{other}@partner.example"),
            other,
            Role::Contributor,
            TokenScope::ReadWrite,
        )
        .await;
    Deal {
        pid,
        other,
        partner,
        helper,
    }
}

fn path(pid: i64, rest: &str) -> String {
    format!("/api/v1/partnerships/{pid}{rest}")
}

async fn get(app: &TestApp, pid: i64, rest: &str) -> Value {
    let (status, v) = app.get_json(&path(pid, rest)).await;
    assert_eq!(status, 200, "GET {rest}: {v}");
    v
}

async fn stage(app: &TestApp, pid: i64) -> String {
    get(app, pid, "").await["stage"]
        .as_str()
        .unwrap()
        .to_string()
}

fn find<'a>(list: &'a Value, key: &str, value: &Value) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| &x[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))
}

on_both!(commitments_are_tracked_and_late_ones_flagged, |app| {
    let d = deal(&app, "Smiles").await;
    let pid = d.pid;
    let list = get(&app, pid, "/commitments").await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    // Soonest due first: home's, due 2026-03-31 and still open, is late.
    let home_c = &list[0];
    assert_eq!(home_c["party"], app.home);
    assert_eq!(home_c["due_on"], "2026-03-31");
    assert_eq!(home_c["status"], "late", "{home_c}");
    assert_eq!(home_c["late"], true);
    let due = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    assert_eq!(home_c["days_late"], (today() - due).num_days());
    assert_eq!(home_c["last_report"], Value::Null);
    // The partner's, due in six months, is open and not late.
    let theirs = &list[1];
    assert_eq!(theirs["party"], d.other);
    assert_eq!(theirs["status"], "open");
    assert_eq!(theirs["late"], false);
    assert_eq!(theirs["days_late"], Value::Null);
    let (home_id, their_id) = (
        home_c["id"].as_i64().unwrap(),
        theirs["id"].as_i64().unwrap(),
    );
    let report = |id: i64| path(pid, &format!("/commitments/{id}/reports"));

    // Refusals, none of which writes anything.
    let viewer = app
        .member(
            "viewer@home.example",
            app.home,
            Role::Viewer,
            TokenScope::Read,
        )
        .await;
    let (_, outsider) = app
        .other_org("Outsider Health", "am@outsider.example", Role::Admin)
        .await;
    let audit = app.audit_rows().await;
    // Another party's commitment.
    app.expect_invalid(
        &app.token,
        Method::POST,
        &report(their_id),
        &json!({ "status": "done" }),
        "commitment_id",
        "not_your_commitment",
    )
    .await;
    app.expect_invalid(
        &d.partner.token,
        Method::POST,
        &report(home_id),
        &json!({ "status": "done" }),
        "commitment_id",
        "not_your_commitment",
    )
    .await;
    // `late` is worked out, not reported.
    app.expect_invalid(
        &app.token,
        Method::POST,
        &report(home_id),
        &json!({ "status": "late" }),
        "status",
        "not_settable",
    )
    .await;
    // Dropping needs a reason.
    app.expect_invalid(
        &app.token,
        Method::POST,
        &report(home_id),
        &json!({ "status": "dropped" }),
        "note",
        "required",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::POST,
        &report(home_id),
        &json!({ "status": "dropped", "note": "   " }),
        "note",
        "required",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &report(home_id),
        Some(&json!({ "status": "finished" })),
        422,
        "invalid_value",
        "status",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &report(99),
        Some(&json!({ "status": "done" })),
        404,
        "not_found",
        "",
    )
    .await;
    app.expect_problem(
        &viewer.token,
        Method::POST,
        &report(home_id),
        Some(&json!({ "status": "done" })),
        403,
        "insufficient_scope",
        "",
    )
    .await;
    app.expect_problem(
        &outsider.token,
        Method::POST,
        &report(home_id),
        Some(&json!({ "status": "done" })),
        404,
        "not_found",
        "",
    )
    .await;
    app.expect_problem(
        &outsider.token,
        Method::GET,
        &path(pid, "/commitments"),
        None,
        404,
        "not_found",
        "",
    )
    .await;
    assert_eq!(
        app.audit_rows().await,
        audit,
        "refused reports write nothing"
    );
    assert_eq!(
        get(&app, pid, "/commitments").await,
        list,
        "and change nothing"
    );

    // Done: no longer late.
    let (status, s) = app
        .post_json(
            &report(home_id),
            &json!({ "status": "done", "note": "Live since May" }),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["status"], "done");
    assert_eq!(s["late"], false);
    assert_eq!(s["days_late"], Value::Null);
    assert_eq!(s["last_report"]["note"], "Live since May");
    assert!(s["last_report"]["reported_by"]
        .as_str()
        .unwrap()
        .contains("Home Health System"));
    assert_eq!(app.audit_rows().await, audit + 1);
    let list = get(&app, pid, "/commitments").await;
    let home_now = find(&list, "id", &json!(home_id));
    assert_eq!(home_now["status"], "done");
    assert_eq!(home_now["late"], false);
    // The partner's contributor reports on the partner's own commitment; dropped with a note.
    let (status, s) = app
        .send_json_as(
            &d.helper.token,
            Method::POST,
            &report(their_id),
            &json!({ "status": "dropped", "note": "No chairs free" }),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["status"], "dropped");
    // Reopened: home's commitment is open again, and so late again.
    let (status, s) = app
        .post_json(&report(home_id), &json!({ "status": "open" }))
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["status"], "late");
    assert_eq!(s["late"], true);
    // The partner sees the same.
    let (status, theirs_view) = app
        .call(
            &d.partner.token,
            Method::GET,
            &path(pid, "/commitments"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(theirs_view, get(&app, pid, "/commitments").await);
});

fn meeting_body(app: &TestApp, d: &Deal, held_on: NaiveDate, kind: &str) -> Value {
    json!({
        "held_on": held_on,
        "kind": kind,
        "attendees": [
            { "organization_id": app.home, "name": "Ana Alvarez" },
            { "organization_id": d.other, "name": "Ben Brooks" }
        ],
        "notes": "Referral volumes reviewed.",
        "decisions": [ "Extend the pilot to the east clinic" ],
        "actions": [
            { "what": "Send the referral extract", "owner": d.other, "owner_name": "Ben Brooks",
              "due_on": held_on + Days::new(14) }
        ]
    })
}

on_both!(meetings_keep_actions_and_cadence, |app| {
    let d = deal(&app, "Smiles").await;
    let pid = d.pid;
    let day = today();
    let (_, outsider) = app
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

    // Empty to start with; the charter asks for monthly steering meetings.
    let log = get(&app, pid, "/meetings").await;
    assert_eq!(log["meetings"], json!([]));
    assert_eq!(log["cadence"]["cadence"], "monthly");
    assert_eq!(log["cadence"]["held"], 0);

    // A steering meeting today with both parties and an action for the partner.
    let (status, m) = app
        .post_json(
            &path(pid, "/meetings"),
            &meeting_body(&app, &d, day, "steering"),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["kind"], "steering");
    assert_eq!(m["held_on"], day.to_string());
    assert_eq!(m["attendees"].as_array().unwrap().len(), 2);
    assert_eq!(
        m["decisions"],
        json!(["Extend the pilot to the east clinic"])
    );
    let action = &m["actions"][0];
    assert_eq!(action["owner"], d.other);
    assert_eq!(action["status"], "open");
    assert_eq!(action["late"], false);
    assert_eq!(action["due_on"], (day + Days::new(14)).to_string());
    let (mid, aid) = (m["id"].as_i64().unwrap(), action["id"].as_i64().unwrap());
    // A working session earlier, whose action is overdue; it does not count for the cadence.
    let earlier = day - Days::new(40);
    let (status, w) = app
        .send_json_as(
            &d.helper.token,
            Method::POST,
            &path(pid, "/meetings"),
            &meeting_body(&app, &d, earlier, "working"),
        )
        .await;
    assert_eq!(status, 201, "{w}");
    assert_eq!(
        w["actions"][0]["late"], true,
        "due 26 days ago and open: {w}"
    );

    // The log: newest first, with the cadence. The window runs from the charter's start
    // (2026-01-01), a year back at most; only steering meetings count.
    let log = get(&app, pid, "/meetings").await;
    let ids: Vec<i64> = log["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [mid, w["id"].as_i64().unwrap()]);
    let c = &log["cadence"];
    let window_start = |on: NaiveDate| STARTS_ON.max(on - Days::new(365));
    let expected = |on: NaiveDate| (on - window_start(on)).num_days() / 30;
    assert_eq!(c["window_start"], window_start(day).to_string(), "{c}");
    assert_eq!(c["window_end"], day.to_string());
    assert_eq!(c["held"], 1, "{c}");
    assert_eq!(c["expected"], expected(day), "{c}");
    assert!(expected(day) >= 10, "the charter started in January 2026");
    let ratio = c["ratio"].as_f64().unwrap();
    assert!((ratio - 1.0 / expected(day) as f64).abs() < 1e-9, "{c}");
    assert_eq!(c["last_held"], day.to_string());
    assert_eq!(c["next_due"], (day + Days::new(30)).to_string());
    let (status, one) = app.get_json(&path(pid, &format!("/meetings/{mid}"))).await;
    assert_eq!(status, 200);
    assert_eq!(one, log["meetings"][0]);
    // Three months on, the window has moved: the same meeting against a year of monthly meetings.
    let store_actor = Actor::new("test");
    let p = app
        .store
        .get_partnership(&store_actor, PartnershipId(pid))
        .await
        .unwrap();
    let charter = app.store.effective_charter(p.id).await.unwrap();
    let later = day + Days::new(95);
    let a = app
        .store
        .cadence_of(&p, charter.as_ref(), later)
        .await
        .unwrap();
    assert_eq!(a.window_start, window_start(later));
    assert_eq!(
        (i64::from(a.expected), a.held),
        (expected(later), 1),
        "{a:?}"
    );
    assert_eq!(a.expected, 12, "{a:?}");
    assert!((a.ratio.unwrap() - 1.0 / 12.0).abs() < 1e-9);
    // Without a start in the charter the window starts when the charter took effect (the
    // partnership never went active): today, with nothing expected yet.
    let mut undated = charter.clone().unwrap();
    undated.content.starts_on = None;
    let a = app.store.cadence_of(&p, Some(&undated), day).await.unwrap();
    assert_eq!((a.window_start, a.expected, a.held), (day, 0, 1), "{a:?}");
    assert_eq!(a.ratio, None);

    // Refused meetings: each names its field, and nothing is written.
    let audit = app.audit_rows().await;
    let bad = |edit: &dyn Fn(&mut Value)| {
        let mut b = meeting_body(&app, &d, day, "steering");
        edit(&mut b);
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            bad(&|b| b["held_on"] = json!(day + Days::new(1))),
            "held_on",
            "future_date",
        ),
        (
            bad(&|b| b["attendees"][1]["organization_id"] = json!(outsider.org)),
            "attendees[1].organization_id",
            "not_a_party",
        ),
        (
            bad(&|b| {
                b["attendees"] = json!([
                    { "organization_id": app.home, "name": "Ana Alvarez" },
                    { "organization_id": app.home, "name": "Carl Cruz" }
                ])
            }),
            "attendees",
            "party_missing",
        ),
        (
            bad(&|b| b["attendees"] = json!([])),
            "attendees",
            "required",
        ),
        (
            bad(&|b| b["attendees"][0]["name"] = json!(" ")),
            "attendees[0].name",
            "required",
        ),
        (
            bad(&|b| b["actions"][0]["due_on"] = json!(day - Days::new(1))),
            "actions[0].due_on",
            "date_out_of_order",
        ),
        (
            bad(&|b| b["actions"][0]["owner"] = json!(outsider.org)),
            "actions[0].owner",
            "not_a_party",
        ),
        (
            bad(&|b| b["actions"][0]["what"] = json!("")),
            "actions[0].what",
            "required",
        ),
        (
            bad(&|b| b["decisions"] = json!(["Fine", ""])),
            "decisions[1]",
            "required",
        ),
    ];
    for (body, field, code) in &cases {
        app.expect_invalid(
            &app.token,
            Method::POST,
            &path(pid, "/meetings"),
            body,
            field,
            code,
        )
        .await;
    }
    app.expect_problem(
        &app.token,
        Method::POST,
        &path(pid, "/meetings"),
        Some(&bad(&|b| b["kind"] = json!("social"))),
        422,
        "invalid_value",
        "kind",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &path(pid, "/meetings"),
        Some(&bad(&|b| b["held_on"] = json!("yesterday"))),
        422,
        "invalid_type",
        "held_on",
    )
    .await;
    app.expect_problem(
        &viewer.token,
        Method::POST,
        &path(pid, "/meetings"),
        Some(&bad(&|_| {})),
        403,
        "insufficient_scope",
        "",
    )
    .await;
    app.expect_problem(
        &outsider.token,
        Method::POST,
        &path(pid, "/meetings"),
        Some(&bad(&|_| {})),
        404,
        "not_found",
        "",
    )
    .await;
    app.expect_problem(
        &outsider.token,
        Method::GET,
        &path(pid, &format!("/meetings/{mid}")),
        None,
        404,
        "not_found",
        "",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::GET,
        &path(pid, "/meetings/999"),
        None,
        404,
        "not_found",
        "",
    )
    .await;
    // Action items: unknown, another partnership's, a viewer's change.
    let action = |id: i64| path(pid, &format!("/actions/{id}"));
    app.expect_problem(
        &app.token,
        Method::PUT,
        &action(999),
        Some(&json!({ "status": "done" })),
        404,
        "not_found",
        "",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::PUT,
        &action(aid),
        Some(&json!({ "status": "late" })),
        422,
        "invalid_value",
        "status",
    )
    .await;
    app.expect_problem(
        &viewer.token,
        Method::PUT,
        &action(aid),
        Some(&json!({ "status": "done" })),
        403,
        "insufficient_scope",
        "",
    )
    .await;
    app.expect_problem(
        &outsider.token,
        Method::PUT,
        &action(aid),
        Some(&json!({ "status": "done" })),
        404,
        "not_found",
        "",
    )
    .await;
    assert_eq!(
        app.audit_rows().await,
        audit,
        "refused meetings write nothing"
    );
    assert_eq!(
        get(&app, pid, "/meetings").await["meetings"],
        log["meetings"]
    );
    // An action of another partnership is not found through this one.
    let d2 = deal(&app, "Second").await;
    let (status, m2) = app
        .post_json(
            &path(d2.pid, "/meetings"),
            &meeting_body(&app, &d2, day, "executive"),
        )
        .await;
    assert_eq!(status, 201, "{m2}");
    let other_action = m2["actions"][0]["id"].as_i64().unwrap();
    let audit = app.audit_rows().await;
    app.expect_problem(
        &app.token,
        Method::PUT,
        &action(other_action),
        Some(&json!({ "status": "done" })),
        404,
        "not_found",
        "",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);

    // The action is done.
    let (status, a) = app
        .send_json(
            Method::PUT,
            &action(aid),
            &json!({ "status": "done", "note": "Sent on Tuesday" }),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["status"], "done");
    assert_eq!(a["note"], "Sent on Tuesday");
    assert_eq!(a["late"], false);
    assert_eq!(a["id"], aid);
    assert_eq!(app.audit_rows().await, audit + 1);
    let (_, one) = app.get_json(&path(pid, &format!("/meetings/{mid}"))).await;
    assert_eq!(one["actions"][0]["status"], "done");
    // The partner's contributor drops the overdue one.
    let late_id = w["actions"][0]["id"].as_i64().unwrap();
    let (status, a) = app
        .send_json_as(
            &d.helper.token,
            Method::PUT,
            &action(late_id),
            &json!({ "status": "dropped", "note": "Superseded" }),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["late"], false);
});

/// Moves the deal's partnership to active (it has an effective charter).
async fn activate(app: &TestApp, pid: i64) {
    app.walk_stages(pid, &["assessing", "negotiating", "active"])
        .await;
    assert_eq!(stage(app, pid).await, "active");
}

on_both!(a_review_from_opening_to_signed_decision, |app| {
    let d = deal(&app, "Smiles").await;
    let pid = d.pid;
    let reviews = path(pid, "/reviews");
    let review = |n: i64, rest: &str| path(pid, &format!("/reviews/{n}{rest}"));
    let contributor = app
        .member(
            "contributor@home.example",
            app.home,
            Role::Contributor,
            TokenScope::ReadWrite,
        )
        .await;

    // Not active yet: no review.
    let audit = app.audit_rows().await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &reviews,
        Some(&json!({ "reason": "Too early" })),
        409,
        "not_active",
        "stage",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);
    activate(&app, pid).await;
    let o = get(&app, pid, "/reviews").await;
    assert_eq!(o["reviews"], json!([]));
    assert_eq!(o["interval_months"], 6);
    assert_eq!(
        o["next_due"], "2026-07-01",
        "six months after the charter's start: {o}"
    );

    // Only managers open one.
    let audit = app.audit_rows().await;
    app.expect_problem(
        &contributor.token,
        Method::POST,
        &reviews,
        Some(&json!({ "reason": "Volumes dropped" })),
        403,
        "forbidden",
        "",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);
    assert_eq!(stage(&app, pid).await, "active");

    // Opened early: the partnership is under review.
    let (status, r) = app
        .post_json(&reviews, &json!({ "reason": "Volumes dropped" }))
        .await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["number"], 1);
    assert_eq!(r["status"], "open");
    assert_eq!(r["trigger"], "early");
    assert_eq!(r["reason"], "Volumes dropped");
    assert_eq!(r["due_on"], today().to_string());
    assert_eq!(r["decision"], Value::Null);
    assert_eq!(r["awaiting"], json!([app.home, d.other]));
    assert_eq!(r["packet"]["charter_version"], 1);
    assert_eq!(stage(&app, pid).await, "under_review");
    let history = get(&app, pid, "/transitions").await;
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["to_stage"], "under_review");
    assert_eq!(last["note"], "Review 1 opened");

    // Refusals while it is open, none of which writes anything.
    let audit = app.audit_rows().await;
    app.expect_problem(
        &d.partner.token,
        Method::POST,
        &reviews,
        Some(&json!({})),
        409,
        "review_open",
        "review",
    )
    .await;
    for to in ["active", "restructuring", "ending"] {
        app.expect_problem(
            &app.token,
            Method::POST,
            &path(pid, "/transitions"),
            Some(&json!({ "to": to })),
            409,
            "review_open",
            "to",
        )
        .await;
    }
    app.expect_invalid(
        &app.token,
        Method::POST,
        &review(1, "/decision"),
        &json!({ "decision": "continue", "rationale": "  " }),
        "rationale",
        "required",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &review(1, "/decision"),
        Some(&json!({ "decision": "continue" })),
        422,
        "missing_field",
        "rationale",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &review(1, "/decision"),
        Some(&json!({ "decision": "pause", "rationale": "Why not" })),
        422,
        "invalid_value",
        "decision",
    )
    .await;
    app.expect_problem(
        &contributor.token,
        Method::POST,
        &review(1, "/decision"),
        Some(&json!({ "decision": "continue", "rationale": "Fine" })),
        403,
        "forbidden",
        "",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &review(1, "/signatures"),
        None,
        409,
        "no_decision",
        "review",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &review(2, "/decision"),
        Some(&json!({ "decision": "continue", "rationale": "Fine" })),
        404,
        "not_found",
        "",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit, "refusals write nothing");
    assert_eq!(stage(&app, pid).await, "under_review");

    // The packet is live while the review is open: a commitment reported done shows.
    let commitments = get(&app, pid, "/commitments").await;
    let home_c = commitments[0]["id"].as_i64().unwrap();
    let r1 = get(&app, pid, "/reviews/1").await;
    assert_eq!(r1["packet"]["commitments_done"], 0);
    assert_eq!(r1["packet"]["commitments_late"], 1);
    let (status, _) = app
        .post_json(
            &path(pid, &format!("/commitments/{home_c}/reports")),
            &json!({ "status": "done" }),
        )
        .await;
    assert_eq!(status, 200);
    let r1 = get(&app, pid, "/reviews/1").await;
    assert_eq!(r1["packet"]["commitments_done"], 1);
    assert_eq!(r1["packet"]["commitments_late"], 0);

    // The decision: restructure. The packet is frozen with it.
    let (status, r) = app
        .post_json(
            &review(1, "/decision"),
            &json!({ "decision": "restructure", "rationale": "Access lags; change the referral route" }),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["status"], "awaiting_signatures");
    assert_eq!(r["decision"], "restructure");
    assert_eq!(r["rationale"], "Access lags; change the referral route");
    assert!(r["decided_at"].is_string());
    assert_eq!(r["awaiting"], json!([app.home, d.other]));
    let packet = r["packet"].clone();
    assert_eq!(packet["as_of"], today().to_string());
    assert_eq!(packet["metrics"].as_array().unwrap().len(), 2, "{packet}");
    assert_eq!(packet["commitments"].as_array().unwrap().len(), 2);
    assert_eq!(packet["commitments_done"], 1);
    assert_eq!(packet["cadence"]["cadence"], "monthly");
    assert!(packet["rollup"].is_object());
    assert_eq!(packet["open_actions"], json!([]));
    // Later changes do not reach the frozen packet.
    let (status, _) = app
        .post_json(
            &path(pid, &format!("/commitments/{home_c}/reports")),
            &json!({ "status": "open" }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, m) = app
        .post_json(
            &path(pid, "/meetings"),
            &json!({ "held_on": today(), "kind": "steering",
                     "attendees": [ { "organization_id": app.home, "name": "Ana" },
                                    { "organization_id": d.other, "name": "Ben" } ],
                     "actions": [ { "what": "Draft the new route", "owner": app.home, "due_on": today() } ] }),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(get(&app, pid, "/reviews/1").await["packet"], packet);

    // A contributor cannot sign; the home manager signs first.
    let audit = app.audit_rows().await;
    app.expect_problem(
        &contributor.token,
        Method::POST,
        &review(1, "/signatures"),
        None,
        403,
        "forbidden",
        "",
    )
    .await;
    app.expect_problem(
        &d.helper.token,
        Method::POST,
        &review(1, "/signatures"),
        None,
        403,
        "forbidden",
        "",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);
    let (status, r) = app
        .call(&app.token, Method::POST, &review(1, "/signatures"), None)
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["status"], "awaiting_signatures");
    assert_eq!(r["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(r["signatures"][0]["organization_id"], app.home);
    assert_eq!(r["awaiting"], json!([d.other]));
    let audit = app.audit_rows().await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &review(1, "/signatures"),
        None,
        409,
        "already_signed",
        "review",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);

    // The decision changes: the signature is cleared and the packet taken again.
    let (status, r) = app
        .send_json_as(
            &d.partner.token,
            Method::POST,
            &review(1, "/decision"),
            &json!({ "decision": "expand", "rationale": "Demand is there" }),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["decision"], "expand");
    assert_eq!(r["signatures"], json!([]));
    assert_eq!(r["awaiting"], json!([app.home, d.other]));
    assert_eq!(
        r["packet"]["commitments_done"], 0,
        "re-frozen with the new decision"
    );
    assert_eq!(r["packet"]["open_actions"].as_array().unwrap().len(), 1);
    // Back to restructure; both managers sign; the review closes and the stage follows.
    let (status, r) = app
        .post_json(
            &review(1, "/decision"),
            &json!({ "decision": "restructure", "rationale": "Access lags; change the referral route" }),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    let (status, r) = app
        .call(
            &d.partner.token,
            Method::POST,
            &review(1, "/signatures"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["status"], "awaiting_signatures");
    assert_eq!(stage(&app, pid).await, "under_review");
    let (status, r) = app
        .call(&app.token, Method::POST, &review(1, "/signatures"), None)
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["status"], "closed");
    assert!(r["closed_at"].is_string());
    assert_eq!(r["awaiting"], json!([]));
    assert_eq!(r["signatures"].as_array().unwrap().len(), 2);
    assert_eq!(stage(&app, pid).await, "restructuring");
    let history = get(&app, pid, "/transitions").await;
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["from_stage"], "under_review");
    assert_eq!(last["to_stage"], "restructuring");
    assert_eq!(last["note"], "Review 1: restructure");

    // Closed: nothing more to decide or sign.
    let audit = app.audit_rows().await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &review(1, "/decision"),
        Some(&json!({ "decision": "exit", "rationale": "Changed our minds" })),
        409,
        "review_closed",
        "review",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &review(1, "/signatures"),
        None,
        409,
        "review_closed",
        "review",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);
    let o = get(&app, pid, "/reviews").await;
    assert_eq!(o["reviews"].as_array().unwrap().len(), 1);
    assert_eq!(o["reviews"][0]["status"], "closed");
    // The partner reads the same review; an outsider reads nothing.
    let (status, theirs) = app
        .call(&d.partner.token, Method::GET, &review(1, ""), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(theirs, get(&app, pid, "/reviews/1").await);
    let (_, outsider) = app
        .other_org("Outsider Health", "am@outsider.example", Role::Admin)
        .await;
    for p in [reviews.clone(), review(1, "")] {
        app.expect_problem(&outsider.token, Method::GET, &p, None, 404, "not_found", "")
            .await;
    }
    // Restructuring goes back to active by hand (no review is open).
    app.walk_stages(pid, &["active"]).await;
});

on_both!(reviews_open_when_due_or_by_hand, |app| {
    // Scheduled: an active partnership with a six-month interval and a charter that started on
    // 2026-01-01, so its first review fell due on 2026-07-01.
    let d = deal(&app, "Scheduled").await;
    activate(&app, d.pid).await;
    // Another whose charter names no start: its first review falls due six months after it went
    // active (today).
    let undated_org = app.org("Undated Dental", "dental_group").await;
    let undated = app.partnership("Undated", app.home, undated_org).await;
    app.effective_charter_with(undated, undated_org, |c| {
        c["starts_on"] = Value::Null;
    })
    .await;
    activate(&app, undated).await;
    assert_eq!(
        get(&app, undated, "/reviews").await["next_due"],
        (today() + Months::new(6)).to_string()
    );
    // One without an interval, also active, and one with an interval that is not active.
    let no_interval_org = app.org("No Interval Dental", "dental_group").await;
    let no_interval = app
        .partnership("No interval", app.home, no_interval_org)
        .await;
    app.effective_charter_with(no_interval, no_interval_org, |c| {
        c["governance"]["review_interval_months"] = Value::Null;
    })
    .await;
    activate(&app, no_interval).await;
    let idle = deal(&app, "Idle").await;

    // Today the overdue one opens, as scheduled on its due date; the undated one is not due.
    let opened = app.store.open_due_reviews(today()).await.unwrap();
    assert_eq!(opened, vec![(PartnershipId(d.pid), 1)]);
    let o = get(&app, d.pid, "/reviews").await;
    let r = &o["reviews"][0];
    assert_eq!(r["trigger"], "scheduled");
    assert_eq!(r["status"], "open");
    assert_eq!(r["due_on"], "2026-07-01");
    assert!(
        r["opened_by"]
            .as_str()
            .unwrap()
            .contains("review scheduler"),
        "{r}"
    );
    assert_eq!(o["next_due"], Value::Null, "none is due while one is open");
    assert_eq!(stage(&app, d.pid).await, "under_review");
    let history = get(&app, d.pid, "/transitions").await;
    assert_eq!(
        history.as_array().unwrap().last().unwrap()["note"],
        "Review 1 opened"
    );
    assert_eq!(
        get(&app, no_interval, "/reviews").await["reviews"],
        json!([])
    );
    assert_eq!(stage(&app, no_interval).await, "active");
    assert_eq!(get(&app, idle.pid, "/reviews").await["reviews"], json!([]));
    assert_eq!(get(&app, undated, "/reviews").await["reviews"], json!([]));
    assert_eq!(stage(&app, undated).await, "active");
    // Far ahead, the undated one is due too: only it opens (the other is already in review, the
    // one without an interval and the one not active never are).
    let far = today() + Months::new(60);
    let opened = app.store.open_due_reviews(far).await.unwrap();
    assert_eq!(opened, vec![(PartnershipId(undated), 1)]);
    let r = &get(&app, undated, "/reviews").await["reviews"][0];
    assert_eq!(r["due_on"], (today() + Months::new(6)).to_string());
    assert_eq!(stage(&app, undated).await, "under_review");
    // Again: nothing more opens.
    let audit = app.audit_rows().await;
    assert_eq!(app.store.open_due_reviews(far).await.unwrap(), vec![]);
    assert_eq!(
        get(&app, d.pid, "/reviews").await["reviews"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(app.audit_rows().await, audit);

    // Continue, signed by both: active again, and the next review is due six months after.
    let (status, r) = app
        .post_json(
            &path(d.pid, "/reviews/1/decision"),
            &json!({ "decision": "continue", "rationale": "On track" }),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    for token in [&app.token, &d.partner.token] {
        let (status, r) = app
            .call(
                token,
                Method::POST,
                &path(d.pid, "/reviews/1/signatures"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{r}");
    }
    assert_eq!(stage(&app, d.pid).await, "active");
    let o = get(&app, d.pid, "/reviews").await;
    assert_eq!(o["next_due"], (today() + Months::new(6)).to_string(), "{o}");
    let opened = app.store.open_due_reviews(far).await.unwrap();
    assert_eq!(opened, vec![(PartnershipId(d.pid), 2)]);
    assert_eq!(stage(&app, d.pid).await, "under_review");

    // By hand: moving an active partnership to under_review opens an early review with the note.
    activate(&app, idle.pid).await;
    let (status, p) = app
        .post_json(
            &path(idle.pid, "/transitions"),
            &json!({ "to": "under_review", "note": "The board asked for a look" }),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["stage"], "under_review");
    let o = get(&app, idle.pid, "/reviews").await;
    assert_eq!(o["reviews"].as_array().unwrap().len(), 1, "{o}");
    let r = &o["reviews"][0];
    assert_eq!(r["trigger"], "early");
    assert_eq!(r["reason"], "The board asked for a look");
    assert_eq!(r["status"], "open");
    let history = get(&app, idle.pid, "/transitions").await;
    let moves: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["to_stage"] == "under_review")
        .collect();
    assert_eq!(moves.len(), 1, "one move, recorded once: {history}");
    // Only a manager may move it; the scheduler does not open a second one.
    assert_eq!(app.store.open_due_reviews(far).await.unwrap(), vec![]);
    // Exit, signed: the partnership is ending.
    let (status, _) = app
        .post_json(
            &path(idle.pid, "/reviews/1/decision"),
            &json!({ "decision": "exit", "rationale": "Goals met elsewhere" }),
        )
        .await;
    assert_eq!(status, 200);
    for token in [&idle.partner.token, &app.token] {
        let (status, r) = app
            .call(
                token,
                Method::POST,
                &path(idle.pid, "/reviews/1/signatures"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{r}");
    }
    assert_eq!(stage(&app, idle.pid).await, "ending");
    // An ending partnership is not reviewed (by hand or by the scheduler).
    let audit = app.audit_rows().await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &path(idle.pid, "/reviews"),
        Some(&json!({})),
        409,
        "not_active",
        "stage",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);
});
