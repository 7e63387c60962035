//! The joint health survey over the JSON API and the pages, on SQLite and (when configured)
//! PostgreSQL: rounds opened and closed by alliance managers, one confidential answer per person,
//! a party's figures only from three respondents, perception gaps, the change since the last
//! round with answers, and comments read only inside the respondent's organization. Every refused
//! write is shown to write nothing.

mod common;

use common::{Member, TestApp};
use concord_domain::account::{Role, TokenScope};
use concord_domain::PartnershipId;
use reqwest::Method;
use serde_json::{json, Value};

const DIMENSIONS: [&str; 9] = [
    "trust",
    "communication",
    "shared_vision",
    "culture_fit",
    "governance",
    "value_realised",
    "fairness",
    "transparency",
    "innovation",
];

/// Every dimension scored `v`, then the overrides.
fn scores(v: i64, overrides: &[(&str, i64)]) -> Value {
    let mut m = serde_json::Map::new();
    for d in DIMENSIONS {
        m.insert(d.into(), json!(v));
    }
    for (d, x) in overrides {
        m.insert((*d).into(), json!(x));
    }
    Value::Object(m)
}

fn answer_body(v: i64, overrides: &[(&str, i64)], comment: &str) -> Value {
    json!({ "scores": scores(v, overrides), "comment": comment })
}

/// A partnership between home and a partner: home has its admin (the app's token) and two
/// contributors; the partner has an alliance manager and two contributors; plus a home viewer
/// and an outsider organization's alliance manager.
struct Deal {
    pid: i64,
    partner_org: i64,
    home: Vec<Member>,
    partner: Vec<Member>,
    viewer: Member,
    outsider: Member,
    outsider_org: i64,
}

async fn deal(app: &TestApp, name: &str) -> Deal {
    let (partner_org, partner_am) = app
        .other_org(
            &format!("{name} Partner Group"),
            &format!("am@{}.example", name.to_lowercase()),
            Role::AllianceManager,
        )
        .await;
    let pid = app.partnership(name, app.home, partner_org).await;
    let mut home = vec![Member {
        email: "admin@home.example".into(),
        org: app.home,
        token: app.token.clone(),
    }];
    let mut partner = vec![partner_am];
    for i in 0..2 {
        home.push(
            app.member(
                &format!("c{i}@home.example"),
                app.home,
                Role::Contributor,
                TokenScope::ReadWrite,
            )
            .await,
        );
        partner.push(
            app.member(
                &format!("c{i}@{}.example", name.to_lowercase()),
                partner_org,
                Role::Contributor,
                TokenScope::ReadWrite,
            )
            .await,
        );
    }
    let viewer = app
        .member(
            "viewer@home.example",
            app.home,
            Role::Viewer,
            TokenScope::Read,
        )
        .await;
    let (outsider_org, outsider) = app
        .other_org(
            &format!("{name} Outsider Health"),
            &format!("am@outsider-{}.example", name.to_lowercase()),
            Role::AllianceManager,
        )
        .await;
    Deal {
        pid,
        partner_org,
        home,
        partner,
        viewer,
        outsider,
        outsider_org,
    }
}

fn path(pid: i64, rest: &str) -> String {
    format!("/api/v1/partnerships/{pid}/surveys{rest}")
}

async fn open_round(app: &TestApp, pid: i64, title: &str) -> i64 {
    let (status, v) = app
        .post_json(&path(pid, ""), &json!({ "title": title }))
        .await;
    assert_eq!(status, 201, "{v}");
    v["number"].as_i64().unwrap()
}

async fn answer(app: &TestApp, who: &Member, pid: i64, n: i64, body: &Value) -> Value {
    let (status, v) = app
        .call(
            &who.token,
            Method::POST,
            &path(pid, &format!("/{n}/responses")),
            Some(body),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    v
}

async fn respondents(app: &TestApp, pid: i64, n: i64) -> i64 {
    let (status, v) = app.get_json(&path(pid, &format!("/{n}"))).await;
    assert_eq!(status, 200, "{v}");
    v["round"]["respondents"].as_i64().unwrap()
}

fn party(results: &Value, org: i64) -> &Value {
    results["results"]["parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["organization_id"] == org)
        .unwrap_or_else(|| panic!("no party {org} in {results}"))
}

on_both!(rounds_are_opened_answered_once_and_closed, |app| {
    let d = deal(&app, "Rounds").await;
    let pid = d.pid;
    let (status, list) = app.get_json(&path(pid, "")).await;
    assert_eq!((status, list.clone()), (200, json!([])));

    // Opening: managers only, a title, a closing day not in the past.
    let viewer_web = app.sign_in(&d.viewer.email).await;
    let audit = app.audit_rows().await;
    let (status, _) = app
        .call(
            &d.viewer.token,
            Method::POST,
            &path(pid, ""),
            Some(&json!({ "title": "Pulse" })),
        )
        .await;
    assert_eq!(status, 403, "a viewer's token is read-only");
    for who in [
        common::Who::Token(&d.home[1].token),
        common::Who::Web(&viewer_web),
    ] {
        app.expect_problem(
            who,
            Method::POST,
            &path(pid, ""),
            Some(&json!({ "title": "Pulse" })),
            403,
            "forbidden",
            "",
        )
        .await;
    }
    app.expect_invalid(
        &app.token,
        Method::POST,
        &path(pid, ""),
        &json!({ "title": "  " }),
        "title",
        "required",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::POST,
        &path(pid, ""),
        &json!({ "title": "Pulse", "closes_on": "2020-01-01" }),
        "closes_on",
        "past_date",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &path(pid, ""),
        Some(&json!({ "title": "Pulse", "colour": "red" })),
        422,
        "unknown_field",
        "colour",
    )
    .await;
    app.expect_problem(
        &d.outsider.token,
        Method::POST,
        &path(pid, ""),
        Some(&json!({ "title": "Pulse" })),
        404,
        "not_found",
        "",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit, "nothing was written");
    let (_, list) = app.get_json(&path(pid, "")).await;
    assert_eq!(list, json!([]));

    let (status, r) = app
        .post_json(&path(pid, ""), &json!({ "title": "Spring pulse" }))
        .await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["number"], 1);
    assert_eq!(r["status"], "open");
    assert_eq!(r["respondents"], 0);
    assert_eq!(app.audit_rows().await, audit + 1, "the opening is audited");

    // One open round at a time, whichever party asks.
    let audit = app.audit_rows().await;
    for who in [&d.home[0], &d.partner[0]] {
        app.expect_problem(
            &who.token,
            Method::POST,
            &path(pid, ""),
            Some(&json!({ "title": "Another" })),
            409,
            "round_open",
            "round",
        )
        .await;
    }

    // Bad answers: 422 naming the field, nothing written.
    let responses = path(pid, "/1/responses");
    let mut missing = answer_body(3, &[], "");
    missing["scores"].as_object_mut().unwrap().remove("trust");
    app.expect_invalid(
        &app.token,
        Method::POST,
        &responses,
        &missing,
        "scores.trust",
        "required",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::POST,
        &responses,
        &answer_body(3, &[("fairness", 6)], ""),
        "scores.fairness",
        "out_of_range",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::POST,
        &responses,
        &answer_body(3, &[("innovation", 0)], ""),
        "scores.innovation",
        "out_of_range",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::POST,
        &responses,
        &answer_body(3, &[], &"x".repeat(2001)),
        "comment",
        "too_long",
    )
    .await;
    let mut text = answer_body(3, &[], "");
    text["scores"]["trust"] = json!("high");
    app.expect_problem(
        &app.token,
        Method::POST,
        &responses,
        Some(&text),
        422,
        "invalid_type",
        "scores.trust",
    )
    .await;
    let mut unknown = answer_body(3, &[], "");
    unknown["scores"]["happiness"] = json!(5);
    app.expect_invalid(
        &app.token,
        Method::POST,
        &responses,
        &unknown,
        "scores.happiness",
        "unknown_dimension",
    )
    .await;
    // A viewer reads but does not answer; an outsider cannot reach the partnership; a round
    // that does not exist is not found.
    app.expect_problem(
        &viewer_web,
        Method::POST,
        &responses,
        Some(&answer_body(3, &[], "")),
        403,
        "forbidden",
        "",
    )
    .await;
    app.expect_problem(
        &d.outsider.token,
        Method::POST,
        &responses,
        Some(&answer_body(3, &[], "")),
        404,
        "not_found",
        "",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &path(pid, "/7/responses"),
        Some(&answer_body(3, &[], "")),
        404,
        "not_found",
        "",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit, "nothing was written");
    assert_eq!(respondents(&app, pid, 1).await, 0);

    // A good answer, once.
    let r = answer(&app, &d.home[0], pid, 1, &answer_body(4, &[], "Good start")).await;
    assert_eq!(r["answered"], true);
    assert_eq!(r["round"]["respondents"], 1);
    assert_eq!(app.audit_rows().await, audit + 1, "the answer is audited");
    let audit = app.audit_rows().await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &responses,
        Some(&answer_body(2, &[], "Changed my mind")),
        409,
        "already_answered",
        "round",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);
    assert_eq!(respondents(&app, pid, 1).await, 1);
    // The audit row names the round, never the scores or the comment.
    let entries = app
        .store
        .audit_for("survey_response", "1", 10)
        .await
        .expect("audit");
    assert_eq!(entries.len(), 1);
    let logged = serde_json::to_string(&entries).unwrap();
    assert!(!logged.contains("Good start"), "{logged}");
    assert!(!logged.contains("\"trust\""), "{logged}");

    // Others see whether *they* answered.
    let (_, mine) = app
        .call(&d.partner[1].token, Method::GET, &path(pid, "/1"), None)
        .await;
    assert_eq!(mine["answered"], false);
    assert_eq!(mine["accepts_answers"], true);

    // Reading: outsiders get 404 everywhere.
    for rest in ["", "/1", "/1/comments", "/1/results?party=1"] {
        app.expect_problem(
            &d.outsider.token,
            Method::GET,
            &path(pid, rest),
            None,
            404,
            "not_found",
            "",
        )
        .await;
    }
    app.expect_problem(
        &app.token,
        Method::GET,
        &path(pid, "/9"),
        None,
        404,
        "not_found",
        "",
    )
    .await;

    // Closing: managers only, once; a closed round takes no answers.
    let audit = app.audit_rows().await;
    app.expect_problem(
        &d.home[1].token,
        Method::POST,
        &path(pid, "/1/close"),
        None,
        403,
        "forbidden",
        "",
    )
    .await;
    let (status, closed) = app
        .call(
            &d.partner[0].token,
            Method::POST,
            &path(pid, "/1/close"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert!(closed["closed_at"].is_string());
    assert_eq!(app.audit_rows().await, audit + 1);
    let audit = app.audit_rows().await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &path(pid, "/1/close"),
        None,
        409,
        "round_closed",
        "round",
    )
    .await;
    app.expect_problem(
        &d.partner[1].token,
        Method::POST,
        &responses,
        Some(&answer_body(3, &[], "")),
        409,
        "round_closed",
        "round",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);
    assert_eq!(respondents(&app, pid, 1).await, 1);

    // The next round gets the next number; the list is newest first with its counts.
    assert_eq!(open_round(&app, pid, "Autumn pulse").await, 2);
    let (_, list) = app.get_json(&path(pid, "")).await;
    let numbers: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![2, 1]);
    assert_eq!(list[1]["respondents"], 1);
    assert_eq!(list[0]["respondents"], 0);
});

on_both!(a_party_under_three_respondents_is_not_revealed, |app| {
    let d = deal(&app, "Anonymity").await;
    let pid = d.pid;
    let n = open_round(&app, pid, "Pulse").await;
    // Home: three answers; partner: two.
    for m in &d.home {
        answer(&app, m, pid, n, &answer_body(4, &[("trust", 5)], "")).await;
    }
    for m in &d.partner[..2] {
        answer(&app, m, pid, n, &answer_body(2, &[("trust", 3)], "")).await;
    }
    let (status, r) = app.get_json(&path(pid, &format!("/{n}"))).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["results"]["respondents"], 5);
    let home = party(&r, app.home);
    assert_eq!(home["respondents"], 3);
    assert_eq!(home["revealed"], true);
    assert_eq!(home["averages"].as_array().unwrap().len(), 9);
    let partner = party(&r, d.partner_org);
    assert_eq!(partner["respondents"], 2);
    assert_eq!(partner["revealed"], false);
    assert_eq!(partner["averages"], json!([]));
    // No gap can be shown without revealing the partner.
    assert_eq!(r["results"]["gaps"], json!([]));
    assert_eq!(r["results"]["max_gap"], Value::Null);
    // The partner's answers count in the overall figure: trust (3·5 + 2·3) / 5.
    assert_eq!(r["results"]["overall"][0]["dimension"], "trust");
    assert_eq!(r["results"]["overall"][0]["average"], 4.2);
    // Never who answered what.
    let text = r.to_string();
    assert!(!text.contains("user_id") && !text.contains("@"), "{text}");

    // The partner's figures cannot be asked for; unknown parties are refused.
    let results = |q: &str| path(pid, &format!("/{n}/results{q}"));
    app.expect_invalid(
        &app.token,
        Method::GET,
        &results(&format!("?party={}", d.partner_org)),
        &Value::Null,
        "party",
        "too_few_respondents",
    )
    .await;
    let p = app
        .expect_problem(
            &d.partner[0].token,
            Method::GET,
            &results(&format!("?party={}", d.partner_org)),
            None,
            422,
            "validation_failed",
            "party",
        )
        .await;
    assert!(
        p["detail"].as_str().unwrap().contains("only aggregated"),
        "{p}"
    );
    app.expect_invalid(
        &app.token,
        Method::GET,
        &results(&format!("?party={}", d.outsider_org)),
        &Value::Null,
        "party",
        "not_a_party",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::GET,
        &results("?party=abc"),
        &Value::Null,
        "party",
        "invalid",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::GET,
        &results(""),
        &Value::Null,
        "party",
        "required",
    )
    .await;
    let (status, mine) = app
        .get_json(&results(&format!("?party={}", app.home)))
        .await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["respondents"], 3);
    assert_eq!(mine["averages"][0]["dimension"], "trust");
    assert_eq!(mine["averages"][0]["average"], 5.0);
    assert_eq!(mine["averages"][1]["average"], 4.0);

    // A third partner respondent reveals the partner, and the perception gaps appear.
    answer(
        &app,
        &d.partner[2],
        pid,
        n,
        &answer_body(2, &[("trust", 3)], ""),
    )
    .await;
    let (_, r) = app.get_json(&path(pid, &format!("/{n}"))).await;
    let partner = party(&r, d.partner_org);
    assert_eq!(partner["revealed"], true);
    assert_eq!(partner["averages"][0]["average"], 3.0);
    let gaps = r["results"]["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 9);
    // Trust: 5 vs 3; every other dimension 4 vs 2. Largest first (ties in dimension order).
    assert!(
        gaps.iter().all(|g| g["gap"].as_f64().unwrap() == 2.0),
        "{r}"
    );
    assert_eq!(gaps[0]["high"], app.home);
    assert_eq!(gaps[0]["low"], d.partner_org);
    assert_eq!(r["results"]["max_gap"], 2.0);
    let (status, theirs) = app
        .get_json(&results(&format!("?party={}", d.partner_org)))
        .await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["averages"][1]["average"], 2.0);
});

on_both!(comments_stay_inside_the_organization, |app| {
    let d = deal(&app, "Comments").await;
    let pid = d.pid;
    let n = open_round(&app, pid, "Pulse").await;
    answer(
        &app,
        &d.home[1],
        pid,
        n,
        &answer_body(4, &[], "HOME-COMMENT on cadence"),
    )
    .await;
    answer(&app, &d.home[2], pid, n, &answer_body(4, &[], "")).await;
    answer(
        &app,
        &d.partner[1],
        pid,
        n,
        &answer_body(3, &[], "PARTNER-COMMENT about trust"),
    )
    .await;

    let comments = path(pid, &format!("/{n}/comments"));
    let (status, ours) = app.get_json(&comments).await;
    assert_eq!(status, 200, "{ours}");
    assert_eq!(ours["organization_id"], app.home);
    assert_eq!(ours["comments"], json!(["HOME-COMMENT on cadence"]));
    let (status, theirs) = app
        .call(&d.partner[0].token, Method::GET, &comments, None)
        .await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["comments"], json!(["PARTNER-COMMENT about trust"]));
    // A viewer of home reads home's comments.
    let (_, viewer) = app
        .call(&d.viewer.token, Method::GET, &comments, None)
        .await;
    assert_eq!(viewer["comments"], json!(["HOME-COMMENT on cadence"]));
    // Results never carry comments.
    let (_, r) = app.get_json(&path(pid, &format!("/{n}"))).await;
    assert!(!r.to_string().contains("COMMENT"), "{r}");
    let (_, r) = app
        .call(
            &d.partner[0].token,
            Method::GET,
            &path(pid, &format!("/{n}")),
            None,
        )
        .await;
    assert!(!r.to_string().contains("HOME-COMMENT"), "{r}");
    app.expect_problem(
        &d.outsider.token,
        Method::GET,
        &comments,
        None,
        404,
        "not_found",
        "",
    )
    .await;
});

on_both!(
    change_is_measured_against_the_last_round_with_answers,
    |app| {
        let d = deal(&app, "Change").await;
        let pid = d.pid;
        let p = app
            .store
            .get_partnership(&concord_storage::Actor::new("test"), PartnershipId(pid))
            .await
            .unwrap();
        assert!(app.store.latest_survey_results(&p).await.unwrap().is_none());
        // Round 1: everyone 3.
        let n1 = open_round(&app, pid, "First").await;
        for m in d.home.iter().chain(&d.partner) {
            answer(&app, m, pid, n1, &answer_body(3, &[], "")).await;
        }
        let (_, r1) = app.get_json(&path(pid, &format!("/{n1}"))).await;
        assert_eq!(r1["compared_with"], Value::Null);
        assert_eq!(r1["results"]["overall"][0]["change"], Value::Null);
        assert_eq!(r1["results"]["level"], 3.0);
        app.post_json(&path(pid, &format!("/{n1}/close")), &json!({}))
            .await;
        // Round 2: nobody answers.
        let n2 = open_round(&app, pid, "Quiet").await;
        let (s, _) = app
            .post_json(&path(pid, &format!("/{n2}/close")), &json!({}))
            .await;
        assert_eq!(s, 200);
        // Round 3: everyone 4, trust 2 — compared with round 1.
        let n3 = open_round(&app, pid, "Third").await;
        for m in d.home.iter().chain(&d.partner) {
            answer(&app, m, pid, n3, &answer_body(4, &[("trust", 2)], "")).await;
        }
        let (_, r3) = app.get_json(&path(pid, &format!("/{n3}"))).await;
        assert_eq!(r3["compared_with"], n1);
        assert_eq!(r3["results"]["overall"][0]["change"], -1.0);
        assert_eq!(r3["results"]["overall"][1]["change"], 1.0);
        let (round, results) = app
            .store
            .latest_survey_results(&p)
            .await
            .unwrap()
            .expect("a round with answers");
        assert_eq!(round.number, 3);
        assert_eq!(round.respondents, 6);
        assert_eq!(results.respondents, 6);
        let (_, rounds) = app
            .store
            .survey_rounds(&concord_storage::Actor::new("test"), PartnershipId(pid))
            .await
            .unwrap();
        assert_eq!(rounds.len(), 3);
    }
);

// ---------------------------------------------------------------- pages

fn page_path(pid: i64, rest: &str) -> String {
    format!("/partnerships/{pid}/surveys{rest}")
}

fn form_scores(v: &str) -> Vec<(&'static str, String)> {
    DIMENSIONS.iter().map(|d| (*d, v.to_string())).collect()
}

on_both!(the_survey_pages_open_answer_and_show_results, |app| {
    let d = deal(&app, "Pages").await;
    let pid = d.pid;
    let web = app.sign_in("admin@home.example").await;
    let detail = web
        .get(&format!("/partnerships/{pid}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        detail.contains("id=\"survey-link\""),
        "the partnership links to its survey"
    );

    let html = web.get(&page_path(pid, "")).await.text().await.unwrap();
    assert!(html.contains("id=\"survey-open-form\""), "{html}");
    assert!(html.contains("id=\"survey-no-rounds\""));

    // A refused round: the error next to the title, nothing written.
    let audit = app.audit_rows().await;
    let r = web
        .post_form(
            &page_path(pid, ""),
            &[("title", " "), ("closes_on", "2020-01-01")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"e-title\""), "{html}");
    assert!(html.contains("id=\"e-closes_on\""), "{html}");
    let r = web
        .post_form(
            &page_path(pid, ""),
            &[("title", "Pulse"), ("closes_on", "someday")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"e-closes_on\""));
    assert_eq!(app.audit_rows().await, audit);

    let r = web
        .post_form(&page_path(pid, ""), &[("title", "Spring pulse")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/partnerships/{pid}/surveys?done=opened").as_str()
    );
    let html = web
        .get(&page_path(pid, "?done=opened"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"survey-notice\""));
    assert!(
        html.contains("id=\"survey-answer\""),
        "the answer form is shown"
    );
    // Each statement is a labelled 1–5 scale.
    for dim in DIMENSIONS {
        assert!(html.contains(&format!("id=\"q-{dim}\"")), "{dim}");
        for v in 1..=5 {
            assert!(
                html.contains(&format!(
                    "<label class=\"survey-choice\" for=\"{dim}-{v}\">"
                )),
                "{dim}-{v}"
            );
        }
    }
    assert!(html.contains("Strongly agree"));
    assert!(html.contains("id=\"survey-close\""), "managers may close");
    assert!(
        html.contains("id=\"survey-open-unavailable\""),
        "one round at a time"
    );

    // A refused answer: errors next to the statements, the chosen values kept, nothing written.
    let mut form = form_scores("4");
    form.retain(|(k, _)| *k != "trust");
    form.iter_mut().for_each(|(k, v)| {
        if *k == "fairness" {
            *v = "9".into();
        }
    });
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = web.post_form(&page_path(pid, "/1/responses"), &pairs).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"e-trust\""), "{html}");
    assert!(html.contains("id=\"e-fairness\""), "{html}");
    assert!(html.contains("id=\"survey-errors\""));
    assert!(
        html.contains("id=\"governance-4\" value=\"4\" checked"),
        "the chosen values are kept"
    );
    assert_eq!(
        app.audit_rows().await,
        audit + 1,
        "only the opening was written"
    );
    assert_eq!(respondents(&app, pid, 1).await, 0);

    let mut form = form_scores("5");
    form.push(("comment", "HOME-PAGE-COMMENT".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = web.post_form(&page_path(pid, "/1/responses"), &pairs).await;
    assert_eq!(r.status(), 303);
    let html = web
        .get(&page_path(pid, "?done=answered"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"survey-answered\""), "{html}");
    assert!(!html.contains("id=\"survey-answer\""));
    // A second answer is refused with an alert.
    let r = web.post_form(&page_path(pid, "/1/responses"), &pairs).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("id=\"survey-alert\""));
    assert_eq!(respondents(&app, pid, 1).await, 1);

    // A viewer signed in reads but cannot answer.
    let viewer = app.sign_in(&d.viewer.email).await;
    let r = viewer
        .post_form(&page_path(pid, "/1/responses"), &pairs)
        .await;
    assert_eq!(r.status(), 403);
    let html = viewer.get(&page_path(pid, "")).await.text().await.unwrap();
    assert!(!html.contains("id=\"survey-open-form\""));
    assert!(!html.contains("id=\"survey-close\""));

    // Results with one home respondent: no party revealed.
    let html = web.get(&page_path(pid, "/1")).await.text().await.unwrap();
    assert!(
        html.contains("fewer than 3 answered — counted in the overall figure only"),
        "{html}"
    );
    assert!(html.contains("id=\"survey-gaps-hidden\""));
    assert!(!html.contains("class=\"survey-chart\""));
    assert!(html.contains("HOME-PAGE-COMMENT"));
    assert!(html.contains("private to Home Health System"));

    // Three per party, with a gap of 2 in trust: revealed columns, flagged gaps, the chart.
    for m in &d.home[1..] {
        answer(&app, m, pid, 1, &answer_body(5, &[], "")).await;
    }
    for m in &d.partner {
        answer(
            &app,
            m,
            pid,
            1,
            &answer_body(5, &[("trust", 3)], "PARTNER-PAGE-COMMENT"),
        )
        .await;
    }
    let html = web.get(&page_path(pid, "/1")).await.text().await.unwrap();
    assert!(
        !html.contains("counted in the overall figure only"),
        "{html}"
    );
    assert!(html.contains("class=\"survey-gap-warn\""), "{html}");
    assert!(html.contains("class=\"survey-chart\""));
    assert!(html.contains("HOME-PAGE-COMMENT"));
    assert!(
        !html.contains("PARTNER-PAGE-COMMENT"),
        "the partner's comments stay with it"
    );
    let partner = app.sign_in(&d.partner[0].email).await;
    let html = partner
        .get(&page_path(pid, "/1"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("PARTNER-PAGE-COMMENT"));
    assert!(!html.contains("HOME-PAGE-COMMENT"));

    // Closing from the page.
    let r = web.post_form(&page_path(pid, "/1/close"), &[]).await;
    assert_eq!(r.status(), 303);
    let html = web.get(&page_path(pid, "")).await.text().await.unwrap();
    assert!(html.contains("id=\"survey-open-form\""));
    let r = web.post_form(&page_path(pid, "/1/close"), &[]).await;
    assert_eq!(r.status(), 409);

    // An outsider cannot reach any of it.
    let outsider = app.sign_in(&d.outsider.email).await;
    assert_eq!(outsider.get(&page_path(pid, "")).await.status(), 404);
    assert_eq!(outsider.get(&page_path(pid, "/1")).await.status(), 404);
    assert_eq!(
        outsider
            .post_form(&page_path(pid, "/1/responses"), &pairs)
            .await
            .status(),
        404
    );
});

#[test]
fn the_survey_api_is_documented() {
    let doc: Value = serde_json::from_str(concord_web::openapi::document_json()).unwrap();
    for (path, method) in [
        ("/api/v1/partnerships/{id}/surveys", "get"),
        ("/api/v1/partnerships/{id}/surveys", "post"),
        ("/api/v1/partnerships/{id}/surveys/{round}", "get"),
        ("/api/v1/partnerships/{id}/surveys/{round}/close", "post"),
        (
            "/api/v1/partnerships/{id}/surveys/{round}/responses",
            "post",
        ),
        ("/api/v1/partnerships/{id}/surveys/{round}/results", "get"),
        ("/api/v1/partnerships/{id}/surveys/{round}/comments", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} documented"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for name in [
        "SurveyAnswerInput",
        "SurveyRoundInput",
        "SurveyRound",
        "SurveyRoundResults",
        "SurveyResults",
        "PartyResults",
        "SurveyComments",
    ] {
        assert!(schemas[name].is_object(), "schema {name}");
    }
    if std::env::var_os("SHOW_SURVEY_SCHEMAS").is_some() {
        eprintln!(
            "{}",
            serde_json::to_string_pretty(&schemas["SurveyAnswerInput"]).unwrap()
        );
        eprintln!(
            "{}",
            serde_json::to_string_pretty(
                &doc["paths"]["/api/v1/partnerships/{id}/surveys/{round}/results"]
            )
            .unwrap()
        );
    }
}

on_both!(racing_writes_land_once, |app| {
    let d = deal(&app, "Races").await;
    let pid = d.pid;
    // Two managers open a round at the same moment: one round opens, the other is refused.
    let body = json!({ "title": "Race" });
    let rounds = path(pid, "");
    let (a, b) = tokio::join!(
        app.call(&app.token, Method::POST, &rounds, Some(&body)),
        app.call(&d.partner[0].token, Method::POST, &rounds, Some(&body)),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{a:?} {b:?}");
    // One person sends the same answer twice at once: it is recorded once.
    let body = answer_body(4, &[], "once");
    let responses = path(pid, "/1/responses");
    let (a, b) = tokio::join!(
        app.call(&d.home[1].token, Method::POST, &responses, Some(&body)),
        app.call(&d.home[1].token, Method::POST, &responses, Some(&body)),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{a:?} {b:?}");
    let refused = if a.0 == 409 { &a.1 } else { &b.1 };
    assert_eq!(refused["code"], "already_answered", "{refused}");
    assert_eq!(respondents(&app, pid, 1).await, 1);
});
