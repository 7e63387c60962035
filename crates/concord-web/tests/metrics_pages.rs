//! The metric pages, on SQLite and (when configured) PostgreSQL, driven as a browser would: the
//! metrics page with its roll-up, a chart and a status per metric; reporting a value through the
//! form (success, a value that is not a number, a period that already has a value); the CSV
//! upload as multipart/form-data with the CSRF token in the query string (all or nothing, every
//! bad row listed); a metric's history with corrections; the ledger with its verification; and
//! that an outsider gets "not found" on every one of them.

mod common;

use common::{Member, Session, TestApp};
use concord_domain::account::{Role, TokenScope};
use serde_json::Value;

/// A partnership between the home organization and a dental group with an effective charter:
/// `ours` is the annual "Cost per referred patient" (USD, lower is better, owned by home),
/// `theirs` the quarterly "Dental visit within 60 days of referral" (owned by the partner).
struct Deal {
    pid: i64,
    partner: Member,
    ours: i64,
    theirs: i64,
}

async fn deal(app: &TestApp) -> Deal {
    let other = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app
        .partnership("Smiles in primary care", app.home, other)
        .await;
    let partner = app.effective_charter(pid, other).await;
    let o = overview(app, pid).await;
    let id = |name: &str| {
        o["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"]["name"] == name)
            .unwrap_or_else(|| panic!("no metric {name} in {o}"))["metric"]["id"]
            .as_i64()
            .unwrap()
    };
    Deal {
        pid,
        ours: id("Cost per referred patient"),
        theirs: id("Dental visit within 60 days of referral"),
        partner,
    }
}

async fn overview(app: &TestApp, pid: i64) -> Value {
    let (status, o) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/metrics"))
        .await;
    assert_eq!(status, 200, "{o}");
    o
}

/// How many entries the ledger has.
async fn entry_count(app: &TestApp, pid: i64) -> usize {
    let (status, v) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/ledger"))
        .await;
    assert_eq!(status, 200, "{v}");
    v.as_array().unwrap().len()
}

async fn page(web: &Session, path: &str) -> (u16, String) {
    let r = web.get(path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Follows a 303 and returns the page it leads to.
async fn follow(web: &Session, r: reqwest::Response) -> String {
    assert_eq!(r.status(), 303, "a redirect after the write");
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let (status, html) = page(web, &to).await;
    assert_eq!(status, 200, "{to}");
    html
}

/// The markup of one metric's card.
fn card(html: &str, metric: i64) -> &str {
    let start = html
        .find(&format!("id=\"metric-{metric}\""))
        .unwrap_or_else(|| panic!("no card for metric {metric}"));
    let rest = &html[start..];
    let end = rest.find("</section>").unwrap();
    &rest[..end]
}

/// The dots the chart of a metric draws.
fn chart_points(html: &str, metric: i64) -> usize {
    card(html, metric).matches("<circle class=\"point").count()
}

async fn report_api(app: &TestApp, pid: i64, metric: i64, start: &str, value: f64) -> i64 {
    report_as(app, &app.token, pid, metric, start, value).await
}

async fn report_as(
    app: &TestApp,
    token: &str,
    pid: i64,
    metric: i64,
    start: &str,
    value: f64,
) -> i64 {
    let (status, e) = app
        .send_json_as(
            token,
            reqwest::Method::POST,
            &format!("/api/v1/partnerships/{pid}/metrics/{metric}/values"),
            &serde_json::json!({ "period_start": start, "value": value }),
        )
        .await;
    assert_eq!(status, 201, "{e}");
    e["seq"].as_i64().unwrap()
}

/// Uploads `csv` as the import form does, with `csrf` as the query parameter (or none).
async fn upload(web: &Session, pid: i64, csrf: Option<&str>, csv: &str) -> reqwest::Response {
    let mut url = format!("{}/partnerships/{pid}/metrics/import", web.base);
    if let Some(t) = csrf {
        url.push_str(&format!("?csrf={t}"));
    }
    let part = reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
        .file_name("values.csv")
        .mime_str("text/csv")
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    web.client
        .post(url)
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

on_both!(the_metrics_page_draws_charts_and_statuses, |app| {
    let d = deal(&app).await;
    let web = app.sign_in("admin@home.example").await;
    let metrics = format!("/partnerships/{}/metrics", d.pid);

    let (status, html) = page(&web, &metrics).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("version 1"), "names the charter version");
    assert!(html.contains("id=\"count-no_data\">2<"), "{html}");
    for m in [d.ours, d.theirs] {
        let c = card(&html, m);
        assert!(c.contains("<svg class=\"metric-chart\""), "a chart");
        assert!(c.contains("role=\"img\""), "the chart is an image");
        assert!(c.contains("No values yet"));
        assert!(c.contains(&format!("id=\"metric-{m}-status\">No data<")));
    }
    // Home owns the annual metric: it has a form and the upload lists it; not the partner's.
    assert!(card(&html, d.ours).contains(&format!("id=\"report-form-{}\"", d.ours)));
    assert!(!card(&html, d.theirs).contains("report-form-"));
    assert!(html.contains("id=\"import-form\""));
    assert!(html.contains("enctype=\"multipart/form-data\""));

    // Values: the chart draws a dot each, the card shows the status and the latest periods.
    report_api(&app, d.pid, d.ours, "2026-01-01", 330.0).await;
    report_as(&app, &d.partner.token, d.pid, d.theirs, "2026-01-01", 30.0).await;
    let (_, html) = page(&web, &metrics).await;
    assert_eq!(chart_points(&html, d.ours), 1);
    let o = overview(&app, d.pid).await;
    for line in o["metrics"].as_array().unwrap() {
        let id = line["metric"]["id"].as_i64().unwrap();
        let label = match line["attainment"]["status"].as_str().unwrap() {
            "on_track" => "On track",
            "at_risk" => "At risk",
            "off_track" => "Off track",
            other => panic!("{other}"),
        };
        assert!(
            card(&html, id).contains(&format!("id=\"metric-{id}-status\">{label}<")),
            "metric {id} shows {label}"
        );
    }
    assert!(card(&html, d.ours).contains("330 USD"));
    assert!(card(&html, d.ours).contains("2026"));
    let overall = o["rollup"]["overall"].as_f64().unwrap();
    assert!(
        html.contains(&format!("id=\"overall\">{} %<", (overall * 100.0).round())),
        "the overall attainment"
    );
    // The partnership page links to the metrics and shows the roll-up.
    let (_, detail) = page(&web, &format!("/partnerships/{}", d.pid)).await;
    assert!(detail.contains(&format!("href=\"/partnerships/{}/metrics\"", d.pid)));
    assert!(detail.contains("id=\"detail-metric-counts\""));

    // The partner sees the same numbers, and the form for its own metric only.
    let partner = app.sign_in(&d.partner.email).await;
    let (_, theirs) = page(&partner, &metrics).await;
    assert!(card(&theirs, d.theirs).contains("report-form-"));
    assert!(!card(&theirs, d.ours).contains("report-form-"));

    // Without an effective charter the page says where metrics come from.
    let other = app.org("Lakeside Pharmacy", "pharmacy").await;
    let bare = app.partnership("No charter yet", app.home, other).await;
    let (status, html) = page(&web, &format!("/partnerships/{bare}/metrics")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Metrics come from the signed charter"));
    assert!(html.contains(&format!("href=\"/partnerships/{bare}/charter\"")));
    assert!(!html.contains("import-form"));
});

on_both!(reporting_a_value_through_the_form, |app| {
    let d = deal(&app).await;
    let web = app.sign_in("admin@home.example").await;
    let action = format!("/partnerships/{}/metrics/{}/values", d.pid, d.ours);
    let metrics = format!("/partnerships/{}/metrics", d.pid);

    // The form offers the recent years without a value, newest first.
    let (_, html) = page(&web, &metrics).await;
    let c = card(&html, d.ours);
    assert!(
        c.contains("<option value=\"2026-01-01\" selected>2026</option>"),
        "{c}"
    );
    assert!(c.contains("<option value=\"2025-01-01\">2025</option>"));

    let r = web
        .post_form(
            &action,
            &[
                ("period", "2025-01-01"),
                ("period_start", ""),
                ("value", "350.5"),
                ("note", "Fiscal year"),
                ("source", "Finance report"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.ends_with(&format!("#metric-{}", d.ours)),
        "back to the card: {to}"
    );
    let html = follow(&web, r).await;
    assert!(html.contains("Value recorded in the ledger as entry 1."));
    let c = card(&html, d.ours);
    assert!(c.contains("350.5 USD") && c.contains("Fiscal year"), "{c}");
    assert_eq!(chart_points(&html, d.ours), 1);
    assert!(
        !c.contains("<option value=\"2025-01-01\""),
        "2025 has a value now"
    );

    // A typed date wins over the list.
    let r = web
        .post_form(
            &action,
            &[
                ("period", "2026-01-01"),
                ("period_start", "2024-01-01"),
                ("value", "380"),
            ],
        )
        .await;
    let html = follow(&web, r).await;
    assert_eq!(chart_points(&html, d.ours), 2);
    let o = overview(&app, d.pid).await;
    let line = o["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"]["id"] == d.ours)
        .unwrap();
    let starts: Vec<&str> = line["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["period_start"].as_str().unwrap())
        .collect();
    assert_eq!(starts, ["2024-01-01", "2025-01-01"]);

    // A value that is not a number: 422, the error next to the input, what was typed kept.
    let count = entry_count(&app, d.pid).await;
    let r = web
        .post_form(
            &action,
            &[
                ("period", "2026-01-01"),
                ("value", "lots"),
                ("note", "typed"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    let c = card(&html, d.ours);
    assert!(
        c.contains(&format!("id=\"e-m{}-value\"", d.ours)),
        "inline error: {c}"
    );
    assert!(c.contains("`lots` is not a number"));
    assert!(c.contains("aria-invalid=\"true\""));
    assert!(c.contains("value=\"lots\""), "the typed value stays");
    assert!(html.contains("id=\"metrics-error\""));
    // Not finite, the wrong cadence, a period that has not begun: each named.
    for (period, value, want) in [
        ("2026-01-01", "inf", "finite"),
        ("2023-03-01", "1", "1 January"),
        ("2027-01-01", "1", "has not begun"),
    ] {
        let r = web
            .post_form(&action, &[("period_start", period), ("value", value)])
            .await;
        assert_eq!(r.status(), 422, "{period} {value}");
        let html = r.text().await.unwrap();
        assert!(
            card(&html, d.ours).contains(want),
            "{period} {value}: {want}"
        );
    }
    assert_eq!(entry_count(&app, d.pid).await, count, "nothing was written");

    // A period that already has a value: 409, the message names the entry, with a link to correct it.
    let r = web
        .post_form(&action, &[("period", "2025-01-01"), ("value", "340")])
        .await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    let c = card(&html, d.ours);
    assert!(c.contains(&format!("id=\"e-m{}-period\"", d.ours)), "{c}");
    assert!(c.contains("already has a value for 2025 (entry 1)"), "{c}");
    assert!(c.contains("send a correction of entry 1"));
    assert!(c.contains(&format!(
        "href=\"/partnerships/{}/metrics/{}#entry-1\"",
        d.pid, d.ours
    )));
    assert_eq!(entry_count(&app, d.pid).await, count);

    // The partner's metric is not home's to report.
    let r = web
        .post_form(
            &format!("/partnerships/{}/metrics/{}/values", d.pid, d.theirs),
            &[("period", "2026-01-01"), ("value", "5")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("only its members report values"));
    // An unknown metric is not found; a viewer may not report.
    let r = web
        .post_form(
            &format!("/partnerships/{}/metrics/999/values", d.pid),
            &[("period", "2026-01-01"), ("value", "5")],
        )
        .await;
    assert_eq!(r.status(), 404);
    app.member(
        "viewer@home.example",
        app.home,
        Role::Viewer,
        TokenScope::Read,
    )
    .await;
    let viewer = app.sign_in("viewer@home.example").await;
    let (_, html) = page(&viewer, &metrics).await;
    assert!(!html.contains("report-form-") && !html.contains("import-form"));
    let r = viewer
        .post_form(&action, &[("period", "2026-01-01"), ("value", "5")])
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(entry_count(&app, d.pid).await, count);
});

on_both!(csv_upload_with_the_csrf_token_in_the_query, |app| {
    let d = deal(&app).await;
    let web = app.sign_in("admin@home.example").await;
    let metrics = format!("/partnerships/{}/metrics", d.pid);
    let (_, html) = page(&web, &metrics).await;
    assert!(html.contains(&format!(
        "action=\"/partnerships/{}/metrics/import?csrf={}\"",
        d.pid, web.csrf
    )));

    // Without the token, or with another, the upload is refused and nothing is imported.
    let good = format!(
        "metric,period,value,note\n{0},2024,380,\nCost per referred patient,2025,360,better\n",
        d.ours
    );
    let r = upload(&web, d.pid, None, &good).await;
    assert_eq!(r.status(), 403);
    let r = upload(&web, d.pid, Some("not-the-token"), &good).await;
    assert_eq!(r.status(), 403);
    assert_eq!(entry_count(&app, d.pid).await, 0);

    // A bad file: every problem listed, nothing imported.
    let bad = format!(
        "metric,period,value\n{0},2023,400\n{0},2022-03,390\n{1},2026-Q1,5\n99,2021,1\n{0},2020,abc\n{0},2023,410\n",
        d.ours, d.theirs
    );
    let r = upload(&web, d.pid, Some(&web.csrf), &bad).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Nothing was imported"), "{html}");
    let table = &html[html.find("id=\"import-error-table\"").expect("the errors")..];
    let table = &table[..table.find("</table>").unwrap()];
    for (line, column) in [
        (3, "period"),
        (4, "metric"),
        (5, "metric"),
        (6, "value"),
        (7, "period"),
    ] {
        assert!(
            table.contains(&format!(
                "<tr><td class=\"num\">{line}</td><td>{column}</td>"
            )),
            "line {line}, {column}: {table}"
        );
    }
    assert!(
        !table.contains("<td class=\"num\">2</td>"),
        "line 2 is good"
    );
    assert_eq!(entry_count(&app, d.pid).await, 0, "nothing was imported");

    // No file at all.
    let r = web
        .client
        .post(format!(
            "{}/partnerships/{}/metrics/import?csrf={}",
            web.base, d.pid, web.csrf
        ))
        .multipart(reqwest::multipart::Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Choose a CSV file"));

    // The good file, with the token: imported, and the page says which entries.
    let r = upload(&web, d.pid, Some(&web.csrf), &good).await;
    let html = follow(&web, r).await;
    assert!(
        html.contains("2 values imported, entries 1–2."),
        "{}",
        &html[..html.len().min(4000)]
    );
    assert_eq!(chart_points(&html, d.ours), 2);
    assert_eq!(entry_count(&app, d.pid).await, 2);

    // The same file again: every row's period is taken now.
    let r = upload(&web, d.pid, Some(&web.csrf), &good).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("already has a value"));
    assert_eq!(entry_count(&app, d.pid).await, 2);
});

on_both!(history_and_corrections, |app| {
    let d = deal(&app).await;
    let web = app.sign_in("admin@home.example").await;
    let first = report_api(&app, d.pid, d.ours, "2025-01-01", 350.0).await;
    let history = format!("/partnerships/{}/metrics/{}", d.pid, d.ours);
    let (status, html) = page(&web, &history).await;
    assert_eq!(status, 200);
    assert!(html.contains("Cost per referred patient"));
    assert!(html.contains(&format!("id=\"entry-{first}\"")));
    assert!(html.contains(&format!("id=\"correct-form-{first}\"")));
    let action = format!("/partnerships/{}/ledger/{first}/corrections", d.pid);

    // A correction needs a reason and a number; both are named.
    let r = web
        .post_form(&action, &[("value", "x"), ("reason", "")])
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("id=\"e-c{first}-value\"")), "{html}");
    assert!(html.contains(&format!("id=\"e-c{first}-reason\"")));
    assert!(
        html.contains(&format!("<details id=\"correct-{first}\" open>")),
        "the refused form is open"
    );
    assert_eq!(entry_count(&app, d.pid).await, 1);

    let r = web
        .post_form(
            &action,
            &[("value", "345"), ("reason", "Late invoices were left out")],
        )
        .await;
    let html = follow(&web, r).await;
    assert!(html.contains("Correction recorded in the ledger as entry 2."));
    assert!(html.contains("Superseded"));
    assert!(html.contains(&format!("Corrects <a href=\"#entry-{first}\">#{first}</a>")));
    assert!(html.contains("Late invoices were left out"));
    assert!(
        !html.contains(&format!("id=\"correct-form-{first}\"")),
        "a superseded entry has no form"
    );
    assert!(html.contains("id=\"correct-form-2\""));

    // Correcting the superseded entry again is a conflict naming the newer one.
    let r = web
        .post_form(&action, &[("value", "340"), ("reason", "again")])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("correct entry 2 instead"));

    // The metrics page marks the corrected value; the chart marks the point.
    let (_, html) = page(&web, &format!("/partnerships/{}/metrics", d.pid)).await;
    let c = card(&html, d.ours);
    assert!(c.contains("345 USD") && c.contains("corrected-mark"), "{c}");
    assert!(c.contains("class=\"point corrected\""));

    // The partner reads the history but has no correction form for home's metric.
    let partner = app.sign_in(&d.partner.email).await;
    let (status, html) = page(&partner, &history).await;
    assert_eq!(status, 200);
    assert!(!html.contains("correct-form-"));
    let r = partner
        .post_form(
            &format!("/partnerships/{}/ledger/2/corrections", d.pid),
            &[("value", "1"), ("reason", "ours now")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("only its members report values"));
    assert_eq!(entry_count(&app, d.pid).await, 2);
    // An unknown metric with no entries is not found.
    let (status, _) = page(&web, &format!("/partnerships/{}/metrics/999", d.pid)).await;
    assert_eq!(status, 404);
});

on_both!(the_ledger_page_verifies_and_pages, |app| {
    let d = deal(&app).await;
    let web = app.sign_in("admin@home.example").await;
    let ledger = format!("/partnerships/{}/ledger", d.pid);
    let (status, html) = page(&web, &ledger).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"verify-status\">Chain valid<"), "{html}");
    assert!(html.contains("no entries yet"));
    assert!(html.contains(&format!(
        "href=\"/api/v1/partnerships/{}/ledger?format=csv\"",
        d.pid
    )));
    assert!(html.contains(&format!(
        "href=\"/api/v1/partnerships/{}/ledger?format=json\"",
        d.pid
    )));
    assert!(html.contains("Verifying the ledger"));

    // 120 years of values: two pages, newest first.
    let mut csv = String::from("metric,period,value\n");
    for y in 1907..=2026 {
        csv.push_str(&format!("{},{y},{}\n", d.ours, 400 - (y - 1907) / 2));
    }
    let r = upload(&web, d.pid, Some(&web.csrf), &csv).await;
    assert_eq!(r.status(), 303);
    let (_, v) = app
        .get_json(&format!("/api/v1/partnerships/{}/ledger/verify", d.pid))
        .await;
    let head = v["head"].as_str().unwrap().to_string();
    let (_, html) = page(&web, &ledger).await;
    assert!(html.contains("id=\"verify-status\">Chain valid<"));
    assert!(html.contains("All 120 entries"));
    assert!(html.contains(&format!("id=\"head-hash\">{head}<")));
    assert!(html.contains(&format!(
        "<code class=\"hash\" title=\"{head}\">{}</code>",
        &head[..12]
    )));
    assert_eq!(html.matches("<tr id=\"entry-").count(), 100);
    let newest = html.find("id=\"entry-120\"").unwrap();
    let older = html.find("id=\"entry-119\"").unwrap();
    assert!(newest < older, "newest first");
    assert!(!html.contains("id=\"entry-20\""));
    assert!(html.contains("Page 1 of 2"));
    assert!(html.contains("?page=2"));
    let (_, html) = page(&web, &format!("{ledger}?page=2")).await;
    assert_eq!(html.matches("<tr id=\"entry-").count(), 20);
    assert!(html.contains("id=\"entry-1\""));
    assert!(html.contains("Cost per referred patient"));
    assert!(html.contains("1907"));
    // A value's row on the metrics page links to its ledger page.
    let (_, html) = page(&web, &format!("/partnerships/{}/metrics", d.pid)).await;
    assert!(html.contains(&format!(
        "href=\"/partnerships/{}/ledger#entry-120\"",
        d.pid
    )));
});

on_both!(an_outsider_gets_not_found_on_every_metric_page, |app| {
    let d = deal(&app).await;
    let seq = report_api(&app, d.pid, d.ours, "2025-01-01", 350.0).await;
    let (_, outsider) = app
        .other_org(
            "Outsider Health",
            "am@outsider.example",
            Role::AllianceManager,
        )
        .await;
    let web = app.sign_in(&outsider.email).await;
    let pid = d.pid;
    for path in [
        format!("/partnerships/{pid}/metrics"),
        format!("/partnerships/{pid}/metrics/{}", d.ours),
        format!("/partnerships/{pid}/ledger"),
        format!("/partnerships/{pid}/ledger?page=2"),
    ] {
        let (status, html) = page(&web, &path).await;
        assert_eq!(status, 404, "GET {path}");
        assert!(
            !html.contains("Smiles in primary care"),
            "{path} leaks the name"
        );
    }
    let r = web
        .post_form(
            &format!("/partnerships/{pid}/metrics/{}/values", d.ours),
            &[("period", "2026-01-01"), ("value", "1")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = web
        .post_form(
            &format!("/partnerships/{pid}/ledger/{seq}/corrections"),
            &[("value", "1"), ("reason", "mine now")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let csv = format!("metric,period,value\n{},2026,1\n", d.ours);
    let r = upload(&web, pid, Some(&web.csrf), &csv).await;
    assert_eq!(r.status(), 404);
    assert!(!r.text().await.unwrap().contains("Smiles in primary care"));
    assert_eq!(entry_count(&app, pid).await, 1, "nothing was written");
});

/// Someone with the database changes a value behind Concord's back: the ledger page says the
/// chain is broken and names the first entry that does not match.
#[tokio::test]
async fn a_tampered_ledger_shows_the_first_mismatch() {
    use sqlx::Connection;
    let (app, url) = TestApp::spawn_with_url(concord_storage::Backend::Sqlite, "pages_tamper")
        .await
        .expect("sqlite app");
    let d = deal(&app).await;
    report_api(&app, d.pid, d.ours, "2024-01-01", 390.0).await;
    report_api(&app, d.pid, d.ours, "2025-01-01", 350.0).await;
    let web = app.sign_in("admin@home.example").await;
    let ledger = format!("/partnerships/{}/ledger", d.pid);
    let (_, html) = page(&web, &ledger).await;
    assert!(html.contains("id=\"verify-status\">Chain valid<"));

    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for sql in [
        "DROP TRIGGER metric_entries_no_update".to_string(),
        format!(
            "UPDATE metric_entries SET value = '99', value_num = 99 WHERE partnership_id = {} AND seq = 1",
            d.pid
        ),
    ] {
        sqlx::query(&sql).execute(&mut c).await.unwrap();
    }
    c.close().await.unwrap();

    let (status, html) = page(&web, &ledger).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"verify-status\">Chain broken<"),
        "{html}"
    );
    let alert = &html[html.find("id=\"verify\"").unwrap()..];
    let alert = &alert[..alert.find("</section>").unwrap()];
    assert!(alert.contains("role=\"alert\""));
    assert!(alert.contains("<strong>#1</strong>"), "{alert}");
    assert!(alert.contains("<code>hash_mismatch</code>"), "{alert}");
    // The tampered value is shown as stored, not hidden.
    assert!(html.contains("99 USD"));
}
