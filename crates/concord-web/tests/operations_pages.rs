//! The commitments, meetings and reviews pages, driven through their forms as a signed-in person
//! would, on SQLite and (when configured) PostgreSQL: late commitments flagged and reported,
//! meetings recorded with each refused field shown next to its input, a review opened early,
//! decided and signed by both parties' alliance managers (the stage follows), the printable packet,
//! and an outsider who finds none of it.

mod common;

use chrono::{Days, NaiveDate, Utc};
use common::{Member, Session, TestApp};
use concord_domain::account::{Role, TokenScope};
use serde_json::json;

/// An active partnership between the home organization and a dental group, with an effective
/// strategic charter (one commitment of the home organization, due 2026-03-31; two metrics;
/// monthly meetings; a review every six months).
struct Running {
    pid: i64,
    other: i64,
    partner: Member,
}

async fn running(app: &TestApp) -> Running {
    let other = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app
        .partnership("Smiles in primary care", app.home, other)
        .await;
    let partner = app.effective_charter(pid, other).await;
    for to in ["assessing", "negotiating", "active"] {
        let (status, body) = app
            .post_json(
                &format!("/api/v1/partnerships/{pid}/transitions"),
                &json!({ "to": to }),
            )
            .await;
        assert_eq!(status, 200, "to {to}: {body}");
    }
    Running {
        pid,
        other,
        partner,
    }
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

async fn page(s: &Session, path: &str) -> (u16, String) {
    let r = s.get(path).await;
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// Posts a form; answers the status, the page (when re-rendered) and the redirect target.
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

/// The stage as the partnership page shows it.
async fn stage_shown(s: &Session, pid: i64) -> String {
    let (status, html) = page(s, &format!("/partnerships/{pid}")).await;
    assert_eq!(status, 200);
    let i =
        html.find("id=\"current-stage\">").expect("stage badge") + "id=\"current-stage\">".len();
    let j = html[i..].find('<').unwrap() + i;
    html[i..j].to_string()
}

on_both!(
    commitments_are_flagged_late_and_reported_through_the_form,
    |app| {
        let r = running(&app).await;
        let pid = r.pid;
        let web = app.sign_in("admin@home.example").await;
        let (_, list) = app
            .get_json(&format!("/api/v1/partnerships/{pid}/commitments"))
            .await;
        let cid = list[0]["id"].as_i64().expect("commitment id");
        assert_eq!(list[0]["status"], "late", "{list}");
        let days = (today() - NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()).num_days();
        assert!(days > 1);

        // The page shows the commitment with a red "late — N days" badge, and a report form for
        // the home organization's members.
        let path = format!("/partnerships/{pid}/commitments");
        let (status, html) = page(&web, &path).await;
        assert_eq!(status, 200);
        assert!(html.contains("Embed referral in the EHR"));
        assert!(html.contains(&format!(
            "<span class=\"badge late\" id=\"late-{cid}\">late — {days} days</span>"
        )));
        assert!(html.contains(&format!("<tr id=\"commitment-{cid}\" class=\"late\">")));
        let report = format!("/partnerships/{pid}/commitments/{cid}/reports");
        assert!(html.contains(&format!("action=\"{report}\"")));
        assert!(html.contains(&format!("<label for=\"c{cid}-status\">")));
        // The partnership page counts it.
        let (_, detail) = page(&web, &format!("/partnerships/{pid}")).await;
        assert!(
            detail.contains("id=\"ops-late\">1 late</span>"),
            "late count on the card"
        );
        assert!(detail.contains(&format!("href=\"{path}\" id=\"commitments-link\"")));

        // The other party sees it without a form, and a report of theirs is refused in words.
        let partner = app.sign_in(&r.partner.email).await;
        let (_, html) = page(&partner, &path).await;
        assert!(html.contains("late — "));
        assert!(!html.contains(&format!("action=\"{report}\"")));
        let (status, html, _) = post(&partner, &report, &[("status", "done"), ("note", "")]).await;
        assert_eq!(status, 422);
        assert!(
            html.contains("Only members of Home Health System report on this commitment."),
            "the refusal names the party"
        );

        // A dropped commitment needs a note: the error sits next to the note input.
        let (status, html, _) = post(&web, &report, &[("status", "dropped"), ("note", "  ")]).await;
        assert_eq!(status, 422);
        assert!(html.contains(&format!("<p class=\"error\" id=\"e-c{cid}-note\">")));
        assert!(html.contains(&format!(
            "aria-invalid=\"true\" aria-describedby=\"e-c{cid}-note\""
        )));
        assert!(
            html.contains("<option value=\"dropped\" selected>"),
            "the choice is kept"
        );
        let (_, list) = app
            .get_json(&format!("/api/v1/partnerships/{pid}/commitments"))
            .await;
        assert_eq!(list[0]["status"], "late", "nothing was recorded: {list}");

        // Done, with a note.
        let (status, _, location) = post(
            &web,
            &report,
            &[("status", "done"), ("note", "Live in the EHR since June")],
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(
            location,
            format!("/partnerships/{pid}/commitments?done=reported#commitment-{cid}")
        );
        let (_, html) = page(&web, &location).await;
        assert!(html.contains("Report recorded."));
        assert!(html.contains("Live in the EHR since June"));
        assert!(html.contains("<span class=\"badge commitment-done\">Done</span>"));
        assert!(
            !html.contains(&format!("id=\"late-{cid}\"")),
            "no longer late"
        );
        let (_, list) = app
            .get_json(&format!("/api/v1/partnerships/{pid}/commitments"))
            .await;
        assert_eq!(list[0]["status"], "done", "{list}");
        assert_eq!(list[0]["late"], false);
        let (_, detail) = page(&web, &format!("/partnerships/{pid}")).await;
        assert!(detail.contains("none late"));

        // A viewer reads, but may not report.
        app.member(
            "viewer@home.example",
            app.home,
            Role::Viewer,
            TokenScope::Read,
        )
        .await;
        let viewer = app.sign_in("viewer@home.example").await;
        let (_, html) = page(&viewer, &path).await;
        assert!(!html.contains(&format!("action=\"{report}\"")));
        let (status, _, _) = post(&viewer, &report, &[("status", "open")]).await;
        assert_eq!(status, 403);
    }
);

on_both!(
    meetings_are_recorded_through_the_form_with_errors_in_place,
    |app| {
        let r = running(&app).await;
        let pid = r.pid;
        let (home, other) = (app.home.to_string(), r.other.to_string());
        let web = app.sign_in("admin@home.example").await;
        let path = format!("/partnerships/{pid}/meetings");
        let (status, html) = page(&web, &path).await;
        assert_eq!(status, 200);
        assert!(html.contains("id=\"cadence\""));
        assert!(html.contains("<dd id=\"cadence-kind\">Monthly</dd>"));
        assert!(html.contains("id=\"no-meetings\""));
        assert!(html.contains(&format!(
            "<label for=\"attendees_{other}\">Attendees for Bright Harbor Dental</label>"
        )));
        assert!(html.contains(&format!(
            "<label for=\"attendees_{home}\">Attendees for Home Health System</label>"
        )));

        let held = iso(today());
        let soon = iso(today() + Days::new(14));
        let before = iso(today() - Days::new(10));
        let attendees_home = format!("attendees_{home}");
        let attendees_other = format!("attendees_{other}");
        // Nobody for the dental group, and the second filled action row (form row 2) due before
        // the meeting.
        let mut form: Vec<(&str, &str)> = vec![
            ("held_on", &held),
            ("kind", "steering"),
            (&attendees_home, "Ana Ruiz\nLee Park"),
            (&attendees_other, "  "),
            ("notes", "Kick-off of the referral pilot"),
            ("decisions", "Start referrals in March\n\nPull data monthly"),
            ("action_0_what", "Send the referral list"),
            ("action_0_owner", &home),
            ("action_0_owner_name", "Ana Ruiz"),
            ("action_0_due_on", &soon),
            ("action_2_what", "Book chair time"),
            ("action_2_owner", &other),
            ("action_2_due_on", &before),
        ];
        let (status, html, _) = post(&web, &path, &form).await;
        assert_eq!(status, 422, "{html}");
        assert!(
        html.contains(&format!("<p class=\"error\" id=\"e-attendees_{other}\">Nobody attended for Bright Harbor Dental")),
        "the missing party's error sits under its attendee list"
    );
        assert!(html.contains(&format!(
            "aria-invalid=\"true\" aria-describedby=\"e-attendees_{other}\""
        )));
        assert!(!html.contains(&format!("id=\"e-attendees_{home}\"")));
        assert!(
            html.contains("<p class=\"error\" id=\"e-action_2_due_on\">Due "),
            "actions[1].due_on lands on form row 2"
        );
        assert!(html.contains("is before the meeting"));
        assert!(html.contains("aria-describedby=\"e-action_2_due_on\""));
        assert!(!html.contains("id=\"e-action_0_due_on\""));
        assert!(!html.contains("id=\"e-action_1_due_on\""));
        // What was typed is kept.
        assert!(html.contains("Ana Ruiz\nLee Park</textarea>"));
        assert!(html.contains("value=\"Book chair time\""));
        assert!(html.contains("Kick-off of the referral pilot</textarea>"));
        assert!(html.contains(&format!("<option value=\"{other}\" selected>")));
        let (_, log) = app
            .get_json(&format!("/api/v1/partnerships/{pid}/meetings"))
            .await;
        assert_eq!(log["meetings"], json!([]), "nothing recorded");

        // A meeting in the future, and a date that is not one.
        let tomorrow = iso(today() + Days::new(1));
        let (status, html, _) = post(
            &web,
            &path,
            &[
                ("held_on", &tomorrow),
                ("kind", "working"),
                (&attendees_home, "Ana Ruiz"),
                (&attendees_other, "Sam Lee"),
            ],
        )
        .await;
        assert_eq!(status, 422);
        assert!(html.contains("<p class=\"error\" id=\"e-held_on\">"));
        assert!(html.contains("in the future"));
        let (status, html, _) = post(
            &web,
            &path,
            &[
                ("held_on", "last tuesday"),
                ("kind", "steering"),
                (&attendees_home, "Ana Ruiz"),
                ("action_0_what", "Call back"),
            ],
        )
        .await;
        assert_eq!(status, 422);
        assert!(html.contains("is not a date"), "the date is named");
        assert!(
            html.contains(&format!("id=\"e-attendees_{other}\"")),
            "and the rest is checked at once"
        );
        assert!(
            html.contains("id=\"e-action_0_owner\"") && html.contains("id=\"e-action_0_due_on\"")
        );

        // Fixed: recorded, and shown newest first with attendees by party, decisions and actions.
        let later = iso(today() + Days::new(30));
        form[3] = (&attendees_other, "Dr. Sam Lee");
        form[12] = ("action_2_due_on", &later);
        let (status, _, location) = post(&web, &path, &form).await;
        assert_eq!(status, 303);
        assert!(
            location.starts_with(&format!(
                "/partnerships/{pid}/meetings?done=recorded#meeting-"
            )),
            "{location}"
        );
        let (_, html) = page(&web, &location).await;
        assert!(html.contains("Meeting recorded."));
        assert!(html.contains("<dd>Ana Ruiz, Lee Park</dd>"));
        assert!(html.contains("<dd>Dr. Sam Lee</dd>"));
        assert!(html.contains("<li>Start referrals in March</li>"));
        assert!(html.contains("<li>Pull data monthly</li>"));
        assert!(html.contains("Home Health System · Ana Ruiz"));
        assert!(html.contains("Book chair time"));
        assert!(html.contains("<dd id=\"cadence-last\">"));
        let (_, log) = app
            .get_json(&format!("/api/v1/partnerships/{pid}/meetings"))
            .await;
        let m = &log["meetings"][0];
        assert_eq!(m["kind"], "steering");
        assert_eq!(m["decisions"].as_array().unwrap().len(), 2, "{m}");
        assert_eq!(m["attendees"].as_array().unwrap().len(), 3, "{m}");
        assert_eq!(log["cadence"]["last_held"], held);
        let actions = m["actions"].as_array().unwrap();
        assert_eq!(actions.len(), 2);
        let send = actions
            .iter()
            .find(|a| a["what"] == "Send the referral list")
            .unwrap()["id"]
            .as_i64()
            .unwrap();

        // An open action is marked done with its small form.
        let update = format!("/partnerships/{pid}/actions/{send}");
        assert!(html.contains(&format!("action=\"{update}\"")));
        let (status, html, _) = post(&web, &update, &[("status", "finished")]).await;
        assert_eq!(status, 422);
        assert!(html.contains(&format!("<p class=\"error\" id=\"e-a{send}-status\">")));
        let (status, _, location) =
            post(&web, &update, &[("status", "done"), ("note", "Sent")]).await;
        assert_eq!(status, 303);
        let (_, html) = page(&web, &location).await;
        assert!(html.contains("Action item updated."));
        assert!(
            !html.contains(&format!("action=\"{update}\"")),
            "done: no form"
        );
        let (_, log) = app
            .get_json(&format!("/api/v1/partnerships/{pid}/meetings"))
            .await;
        let a = log["meetings"][0]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == send)
            .unwrap()
            .clone();
        assert_eq!(a["status"], "done", "{a}");
        assert_eq!(a["note"], "Sent");
    }
);

/// The id of the charter metric named `name` (version 1).
async fn metric_id(app: &TestApp, pid: i64, name: &str) -> i64 {
    let (_, v) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/charter/versions/1"))
        .await;
    v["content"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no metric {name} in {v}"))["id"]
        .as_i64()
        .unwrap()
}

on_both!(
    a_review_is_opened_decided_and_signed_through_the_forms,
    |app| {
        let r = running(&app).await;
        let pid = r.pid;
        // A value for the home organization's metric, so the packet carries a figure.
        let cost = metric_id(&app, pid, "Cost per referred patient").await;
        let (status, body) = app
            .post_json(
                &format!("/api/v1/partnerships/{pid}/metrics/{cost}/values"),
                &json!({ "period_start": "2026-01-01", "value": 350.0 }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let web = app.sign_in("admin@home.example").await;
        let partner = app.sign_in(&r.partner.email).await;

        let reviews = format!("/partnerships/{pid}/reviews");
        let (status, html) = page(&web, &reviews).await;
        assert_eq!(status, 200);
        let (_, overview) = app
            .get_json(&format!("/api/v1/partnerships/{pid}/reviews"))
            .await;
        let due = NaiveDate::parse_from_str(overview["next_due"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap()
            .format("%-d %b %Y")
            .to_string();
        assert!(
            html.contains(&format!("<strong id=\"next-review-due\">{due}</strong>")),
            "the next scheduled review"
        );
        assert!(html.contains("id=\"no-reviews\""));
        assert!(html.contains("id=\"open-review\""));

        // Opened early, with a reason: the partnership is under review.
        let (status, _, location) =
            post(&web, &reviews, &[("reason", "Referrals below plan")]).await;
        assert_eq!(status, 303);
        assert_eq!(
            location,
            format!("/partnerships/{pid}/reviews/1?done=opened")
        );
        assert_eq!(stage_shown(&web, pid).await, "Under review");
        let (_, detail) = page(&web, &format!("/partnerships/{pid}")).await;
        assert!(
            detail.contains("Review 1: open"),
            "the card shows the review in progress"
        );
        // A second one is refused, as an alert.
        let (status, html, _) = post(&web, &reviews, &[("reason", "Again")]).await;
        assert_eq!(status, 409);
        assert!(html.contains("id=\"ops-alert\""));
        assert!(html.contains("A review of this partnership is already in progress"));
        let (_, html) = page(&web, &reviews).await;
        assert!(html.contains("id=\"current-review-link\""));
        assert!(
            !html.contains("id=\"open-review\""),
            "no second review offered"
        );

        // The packet.
        let review = format!("/partnerships/{pid}/reviews/1");
        let (status, html) = page(&web, &location).await;
        assert_eq!(status, 200);
        assert!(html.contains("Review opened; the partnership is under review."));
        assert!(html.contains("Dental visit within 60 days of referral"));
        assert!(html.contains("Cost per referred patient"));
        assert!(
            html.contains("400 USD → 300 USD"),
            "baseline → target with the unit"
        );
        assert!(html.contains("350 USD"), "the latest value");
        assert!(html.contains("<header class=\"packet-print-head\""));
        assert!(html.contains(&format!(
            "Review 1 packet — as of {}",
            today().format("%-d %b %Y")
        )));
        assert!(html.contains("Opened early: <span class=\"prewrap\">Referrals below plan</span>"));
        assert!(html.contains("Embed referral in the EHR"));
        assert!(html.contains("<strong>1</strong> late"));
        assert!(html.contains("id=\"packet-rollup\""));
        assert!(html.contains("id=\"decision-form\""));
        assert!(!html.contains("id=\"sign-review\""), "nothing to sign yet");

        // Signing before the decision is refused as an alert, not an error page.
        let sign = format!("{review}/signatures");
        let (status, html, _) = post(&web, &sign, &[]).await;
        assert_eq!(status, 409);
        assert!(html.contains("id=\"ops-alert\""));
        assert!(html.contains("Record the decision and its rationale before signing"));

        // The decision form: a choice and a rationale are required, each shown in place.
        let decision = format!("{review}/decision");
        let (status, html, _) = post(&web, &decision, &[("rationale", "On plan")]).await;
        assert_eq!(status, 422);
        assert!(html.contains("<p class=\"error\" id=\"e-decision\">"));
        assert!(html.contains("<legend>Decision</legend>"));
        assert!(html.contains("On plan</textarea>"), "the rationale is kept");
        let (status, html, _) = post(
            &web,
            &decision,
            &[("decision", "continue"), ("rationale", " ")],
        )
        .await;
        assert_eq!(status, 422);
        assert!(html.contains("<p class=\"error\" id=\"e-rationale\">"));
        assert!(html.contains("id=\"decision-continue\" value=\"continue\" checked"));
        let (status, _, location) = post(
            &web,
            &decision,
            &[
                ("decision", "continue"),
                ("rationale", "Access is recovering; keep going"),
            ],
        )
        .await;
        assert_eq!(status, 303);
        let (_, html) = page(&web, &location).await;
        assert!(html.contains("<strong id=\"decision-value\">Continue</strong>"));
        assert!(html.contains("Decision awaiting signatures"));
        assert!(html.contains("Sign for Home Health System"));

        // A viewer may not decide or sign.
        app.member(
            "viewer@home.example",
            app.home,
            Role::Viewer,
            TokenScope::Read,
        )
        .await;
        let viewer = app.sign_in("viewer@home.example").await;
        let (_, html) = page(&viewer, &review).await;
        assert!(!html.contains("id=\"decision-form\"") && !html.contains("id=\"sign-review\""));
        assert_eq!(post(&viewer, &sign, &[]).await.0, 403);
        assert_eq!(
            post(
                &viewer,
                &decision,
                &[("decision", "exit"), ("rationale", "No")]
            )
            .await
            .0,
            403
        );

        // Each party's alliance manager signs with the button.
        let (status, _, location) = post(&web, &sign, &[]).await;
        assert_eq!(status, 303);
        assert!(location.contains("done=signed"), "{location}");
        let (_, html) = page(&web, &review).await;
        assert!(!html.contains("id=\"sign-review\""), "signed once");
        let (status, html, _) = post(&web, &sign, &[]).await;
        assert_eq!(status, 409);
        assert!(html.contains("Your organization has already signed this decision"));
        assert_eq!(stage_shown(&web, pid).await, "Under review");

        let (_, html) = page(&partner, &review).await;
        assert!(html.contains("Sign for Bright Harbor Dental"));
        let (status, _, location) = post(&partner, &sign, &[]).await;
        assert_eq!(status, 303);
        assert!(location.contains("done=closed"), "{location}");

        // Closed: the decision, rationale, who signed when, and the resulting stage.
        let (_, html) = page(&web, &review).await;
        assert!(
            html.contains("<span class=\"badge review-closed\" id=\"review-status\">Closed</span>")
        );
        assert!(html.contains("Access is recovering; keep going"));
        assert_eq!(
            html.matches("Signed by Test Person · ").count(),
            2,
            "both signatures"
        );
        assert!(html.contains("the partnership moved to active"));
        assert!(!html.contains("id=\"decision-form\"") && !html.contains("id=\"sign-review\""));
        assert!(html.contains("id=\"review-closed\""));
        assert_eq!(stage_shown(&web, pid).await, "Active");
        let (_, html) = page(&web, &reviews).await;
        assert!(html.contains("<tr id=\"review-row-1\">"));
        assert!(html.contains("<td>Continue</td>"));
        assert!(
            html.contains("id=\"next-review-due\""),
            "the next one is scheduled"
        );
        let (_, api) = app
            .get_json(&format!("/api/v1/partnerships/{pid}/reviews/1"))
            .await;
        assert_eq!(api["status"], "closed", "{api}");
        assert_eq!(api["decision"], "continue");
        assert_eq!(api["signatures"].as_array().unwrap().len(), 2);
    }
);

on_both!(an_outsider_finds_no_operations_page, |app| {
    let r = running(&app).await;
    let pid = r.pid;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/partnerships/{pid}/meetings"),
            &json!({
                "held_on": iso(today()), "kind": "steering",
                "attendees": [ { "organization_id": app.home, "name": "Ana" },
                               { "organization_id": r.other, "name": "Sam" } ],
                "actions": [ { "what": "Call", "owner": app.home, "due_on": iso(today()) } ]
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let action = body["actions"][0]["id"].as_i64().unwrap();
    let (status, body) = app
        .post_json(&format!("/api/v1/partnerships/{pid}/reviews"), &json!({}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, list) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/commitments"))
        .await;
    let cid = list[0]["id"].as_i64().unwrap();

    let (_, outsider) = app
        .other_org(
            "County Health District",
            "manager@county.example",
            Role::AllianceManager,
        )
        .await;
    let web = app.sign_in(&outsider.email).await;
    let audit = app.store.audit_count().await.unwrap();
    let base = format!("/partnerships/{pid}");
    for path in ["/commitments", "/meetings", "/reviews", "/reviews/1"] {
        let (status, html) = page(&web, &format!("{base}{path}")).await;
        assert_eq!(status, 404, "GET {path}");
        assert!(
            !html.contains("Smiles in primary care"),
            "GET {path} leaks the name"
        );
    }
    let held = iso(today());
    let home_attendees = format!("attendees_{}", app.home);
    let writes: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("{base}/commitments/{cid}/reports"),
            vec![("status", "done")],
        ),
        (
            format!("{base}/meetings"),
            vec![
                ("held_on", &held),
                ("kind", "steering"),
                (&home_attendees, "Eve"),
            ],
        ),
        (format!("{base}/actions/{action}"), vec![("status", "done")]),
        (format!("{base}/reviews"), vec![("reason", "Now")]),
        (
            format!("{base}/reviews/1/decision"),
            vec![("decision", "exit"), ("rationale", "Mine")],
        ),
        (format!("{base}/reviews/1/signatures"), vec![]),
    ];
    for (path, form) in &writes {
        let (status, html, _) = post(&web, path, form).await;
        assert_eq!(status, 404, "POST {path}");
        assert!(
            !html.contains("Smiles in primary care"),
            "POST {path} leaks the name"
        );
    }
    assert_eq!(
        app.store.audit_count().await.unwrap(),
        audit,
        "nothing written"
    );
    // A review that does not exist is not found either, for the parties too.
    let home = app.sign_in("admin@home.example").await;
    assert_eq!(page(&home, &format!("{base}/reviews/7")).await.0, 404);
    assert_eq!(page(&home, &format!("{base}/reviews/abc")).await.0, 404);
});
