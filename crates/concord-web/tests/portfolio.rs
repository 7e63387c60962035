//! The portfolio dashboard (issue 6): the home page, `/portfolio.csv` and `GET /api/v1/portfolio`
//! on SQLite and (when configured) PostgreSQL: only the acting organization's partnerships,
//! filters, sorts and the CSV; bad parameters (422 naming the parameter on the API and the CSV,
//! ignored with a message on the page); a viewer's dashboard; and a new metric value that shows
//! at once despite the in-memory memo.

mod common;

use common::TestApp;
use concord_domain::account::{Role, TokenScope};
use serde_json::{json, Value};

/// A partnership between `a` and `b` of `type`, created with `token`.
async fn partnership_of(app: &TestApp, token: &str, name: &str, ty: &str, a: i64, b: i64) -> i64 {
    let (status, body) = app
        .send_json_as(
            token,
            reqwest::Method::POST,
            "/api/v1/partnerships",
            &json!({
                "name": name, "purpose": "Shared care", "type": ty,
                "parties": [
                    { "organization_id": a, "role": "first" },
                    { "organization_id": b, "role": "second" }
                ]
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("id")
}

async fn portfolio(app: &TestApp, token: &str, query: &str) -> Value {
    let r = app
        .get_as(token, &format!("/api/v1/portfolio{query}"))
        .await;
    assert_eq!(r.status(), 200, "{query}");
    r.json().await.expect("json")
}

fn ids(p: &Value) -> Vec<i64> {
    p["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect()
}

fn row(p: &Value, id: i64) -> &Value {
    p["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no row {id} in {p}"))
}

/// Home with Alpha (two partnerships), Beta (one, archived later), and a partnership between
/// Alpha and Beta that home is not party to.
struct World {
    alpha: i64,
    alpha_p: i64,
    zeta_p: i64,
    beta_p: i64,
    outside_p: i64,
}

async fn world(app: &TestApp) -> World {
    let alpha = app.org("Alpha Dental", "dental_group").await;
    let beta = app.org("Beta Pharmacy", "pharmacy").await;
    let alpha_p = partnership_of(
        app,
        &app.token,
        "Alpha smiles",
        "horizontally_adjacent",
        app.home,
        alpha,
    )
    .await;
    let zeta_p = partnership_of(
        app,
        &app.token,
        "Zeta, \"quoted\" supply",
        "wholesale",
        app.home,
        alpha,
    )
    .await;
    let beta_p = partnership_of(
        app,
        &app.token,
        "Beta refills",
        "service_provider",
        app.home,
        beta,
    )
    .await;
    let m = app
        .member(
            "manager@alpha.example",
            alpha,
            Role::AllianceManager,
            TokenScope::ReadWrite,
        )
        .await;
    let outside_p = partnership_of(
        app,
        &m.token,
        "Alpha and Beta only",
        "wholesale",
        alpha,
        beta,
    )
    .await;
    World {
        alpha,
        alpha_p,
        zeta_p,
        beta_p,
        outside_p,
    }
}

on_both!(
    lists_only_own_partnerships_with_filters_sorts_and_csv,
    |app| {
        let w = world(&app).await;
        let p = portfolio(&app, &app.token, "?sort=name").await;
        assert_eq!(ids(&p), [w.alpha_p, w.beta_p, w.zeta_p], "{p}");
        assert_eq!(p["total"], 3);
        assert_eq!(p["totals"]["partnerships"], 3);
        let a = row(&p, w.alpha_p);
        assert_eq!(a["partners"], json!(["Alpha Dental"]));
        assert_eq!(a["type"], "horizontally_adjacent");
        assert_eq!(a["stage"], "exploring");
        assert_eq!(a["archived"], false);
        // Health by type: one entry per type, counting the rows.
        let by_type = p["by_type"].as_array().expect("by_type");
        assert_eq!(by_type.len(), 6);
        let wholesale = by_type.iter().find(|t| t["type"] == "wholesale").unwrap();
        assert_eq!(
            wholesale["count"], 1,
            "the outside partnership is not counted"
        );

        // Filters.
        assert_eq!(
            ids(&portfolio(&app, &app.token, "?type=wholesale").await),
            [w.zeta_p]
        );
        assert_eq!(
            ids(&portfolio(&app, &app.token, "?q=BETA").await),
            [w.beta_p]
        );
        assert_eq!(
            ids(&portfolio(&app, &app.token, "?stage=active").await),
            Vec::<i64>::new()
        );
        assert_eq!(
            ids(&portfolio(&app, &app.token, "?verdict=none&sort=name").await),
            [w.alpha_p, w.beta_p, w.zeta_p]
        );
        assert_eq!(
            ids(&portfolio(&app, &app.token, "?verdict=strategic").await),
            Vec::<i64>::new()
        );
        // Sorts.
        assert_eq!(
            ids(&portfolio(&app, &app.token, "?sort=name&dir=desc").await),
            [w.zeta_p, w.beta_p, w.alpha_p]
        );
        let by_type_sort = ids(&portfolio(&app, &app.token, "?sort=type").await);
        assert_eq!(
            by_type_sort,
            [w.alpha_p, w.beta_p, w.zeta_p],
            "Horizontally < Service < Wholesale"
        );
        for s in ["health", "trend", "warnings", "next_review", "stage"] {
            for d in ["asc", "desc"] {
                let got = ids(&portfolio(&app, &app.token, &format!("?sort={s}&dir={d}")).await);
                assert_eq!(got.len(), 3, "sort={s}&dir={d}");
            }
        }

        // Archived partnerships only with the filter.
        let (status, body) = app
            .post_json(
                &format!("/api/v1/partnerships/{}/archive", w.beta_p),
                &json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            ids(&portfolio(&app, &app.token, "?sort=name").await),
            [w.alpha_p, w.zeta_p]
        );
        let all = portfolio(&app, &app.token, "?sort=name&archived=true").await;
        assert_eq!(ids(&all), [w.alpha_p, w.beta_p, w.zeta_p]);
        assert_eq!(row(&all, w.beta_p)["archived"], true);

        // The CSV: same filters and order, quoted where needed, no outside partnership.
        let r = app.get("/portfolio.csv?sort=name&archived=true").await;
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let csv = r.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "id,name,partners,type,stage,verdict,health_score,trend_30d,warnings,next_review"
        );
        assert_eq!(lines.len(), 4, "{csv}");
        assert!(
            lines[1].starts_with(&format!(
                "{},Alpha smiles,Alpha Dental,horizontally_adjacent,exploring,",
                w.alpha_p
            )),
            "{csv}"
        );
        assert!(
            lines[3].starts_with(&format!(
                "{},\"Zeta, \"\"quoted\"\" supply\",Alpha Dental,wholesale,",
                w.zeta_p
            )),
            "{csv}"
        );
        assert!(!csv.contains("Alpha and Beta only"), "{csv}");
        let csv = app
            .get("/portfolio.csv?type=wholesale")
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(csv.lines().count(), 2, "{csv}");

        // The page: rows linked, the outsider's partnership absent, the chart and the filter form.
        let web = app.sign_in("admin@home.example").await;
        let r = web.get("/?sort=name").await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("href=\"/partnerships/{}\"", w.alpha_p)),
            "{html}"
        );
        assert!(html.contains("Health by partnership type"));
        assert!(html.contains("name=\"warnings\""));
        assert!(!html.contains("Alpha and Beta only"));
        assert!(!html.contains(&format!("pf-row-{}\"", w.outside_p)));
        assert!(
            !html.contains(&format!("pf-row-{}\"", w.beta_p)),
            "archived hidden by default"
        );
        let html = web
            .get("/?archived=true&type=service_provider")
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains(&format!("pf-row-{}\"", w.beta_p)));
        assert!(!html.contains(&format!("pf-row-{}\"", w.alpha_p)));

        // Alpha's member sees Alpha's portfolio: never home's partnership with Beta.
        let outsider = app
            .member(
                "viewer@alpha.example",
                w.alpha,
                Role::Viewer,
                TokenScope::Read,
            )
            .await;
        let theirs = portfolio(&app, &outsider.token, "?sort=name&archived=true").await;
        assert_eq!(ids(&theirs), [w.outside_p, w.alpha_p, w.zeta_p], "{theirs}");
        let csv = app
            .get_as(&outsider.token, "/portfolio.csv?archived=true")
            .await
            .text()
            .await
            .unwrap();
        assert!(!csv.contains("Beta refills"), "{csv}");
        let theirs_row = row(&theirs, w.alpha_p);
        assert_eq!(theirs_row["partners"], json!(["Home Health System"]));
    }
);

on_both!(bad_parameters_are_named_and_nothing_breaks, |app| {
    world(&app).await;
    for (query, field) in [
        ("?sort=colour", "sort"),
        ("?type=joint_venture", "type"),
        ("?stage=dreaming", "stage"),
        ("?verdict=great", "verdict"),
        ("?dir=up", "dir"),
        ("?warnings=maybe", "warnings"),
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/portfolio{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
        let r = app.get(&format!("/portfolio.csv{query}")).await;
        assert_eq!(r.status(), 422, "csv {query}");
        assert!(r.text().await.unwrap().contains(field), "csv {query}");
    }
    // An unknown parameter is a 400 on the API (as everywhere), ignored by the page.
    let (status, body) = app.get_json("/api/v1/portfolio?colour=red").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "colour");

    let web = app.sign_in("admin@home.example").await;
    let r = web.get("/?sort=colour&colour=red&page=abc").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Ignored the sort filter"), "{html}");
    assert!(html.contains("Ignored the page filter"), "{html}");
    assert!(html.contains("Alpha smiles"), "the rows are still shown");
    // A page past the end shows the last page.
    assert_eq!(web.get("/?page=99").await.status(), 200);
});

on_both!(a_viewer_sees_the_dashboard, |app| {
    let w = world(&app).await;
    app.member(
        "viewer@home.example",
        app.home,
        Role::Viewer,
        TokenScope::Read,
    )
    .await;
    let web = app.sign_in("viewer@home.example").await;
    let r = web.get("/").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("pf-row-{}\"", w.alpha_p)), "{html}");
    let r = web.get("/portfolio.csv").await;
    assert_eq!(r.status(), 200);
    // Without signing in: the sign-in page, and 401 on the API.
    let anon = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = anon.get(app.url("/portfolio.csv")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = anon.get(app.url("/api/v1/portfolio")).send().await.unwrap();
    assert_eq!(r.status(), 401);
});

/// The health score as the partnership's own health endpoint gives it.
async fn health_score(app: &TestApp, pid: i64) -> Value {
    let (status, h) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/health"))
        .await;
    assert_eq!(status, 200, "{h}");
    h["score"].clone()
}

fn rounded(v: &Value) -> Value {
    match v.as_f64() {
        Some(f) => json!((f * 10.0).round() / 10.0),
        None => Value::Null,
    }
}

on_both!(a_new_metric_value_shows_at_once, |app| {
    let other = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app
        .partnership("Smiles in primary care", app.home, other)
        .await;
    app.effective_charter(pid, other).await;
    app.walk_stages(pid, &["assessing", "negotiating", "active"])
        .await;
    let (status, o) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/metrics"))
        .await;
    assert_eq!(status, 200, "{o}");
    let annual = o["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"]["name"] == "Cost per referred patient")
        .expect("the home-owned annual metric")["metric"]["id"]
        .as_i64()
        .unwrap();

    let web = app.sign_in("admin@home.example").await;
    let before = portfolio(&app, &app.token, "").await;
    let score0 = row(&before, pid)["health_score"].clone();
    assert_eq!(score0, rounded(&health_score(&app, pid).await));
    let _ = web.get("/").await; // the page shares the memo

    let mut seen = vec![score0.clone()];
    for (period, value) in [("2025-01-01", 300.0), ("2026-01-01", 520.0)] {
        let (status, body) = app
            .post_json(
                &format!("/api/v1/partnerships/{pid}/metrics/{annual}/values"),
                &json!({ "period_start": period, "value": value }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        // Read the dashboard first: it must already show the new figure.
        let now = portfolio(&app, &app.token, "").await;
        let score = row(&now, pid)["health_score"].clone();
        assert_eq!(score, rounded(&health_score(&app, pid).await), "{period}");
        let csv = app.get("/portfolio.csv").await.text().await.unwrap();
        let shown = csv
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(6)
            .unwrap()
            .to_string();
        let want = score.as_f64().map(|f| {
            let s = format!("{f:.1}");
            s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
        });
        assert_eq!(Some(shown), Some(want.unwrap_or_default()), "{csv}");
        seen.push(score);
    }
    assert!(
        seen.windows(2).any(|w| w[0] != w[1]),
        "the reported values moved the health score: {seen:?}"
    );
});
