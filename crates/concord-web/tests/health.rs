//! The health score, early warnings and the organization's weights over the JSON API and the
//! pages, on SQLite and (when configured) PostgreSQL: the score and its drivers from an effective
//! charter, a new metric value reflected at once (the cache follows every write), weights that
//! change the score, the acknowledgement flow with its refusals (each writing nothing), and the
//! tenant boundary.

mod common;

use common::TestApp;
use concord_domain::account::{Role, TokenScope};
use reqwest::Method;
use serde_json::{json, Value};

async fn health(app: &TestApp, pid: i64) -> Value {
    let (status, h) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/health"))
        .await;
    assert_eq!(status, 200, "{h}");
    h
}

fn driver<'a>(h: &'a Value, key: &str) -> &'a Value {
    h["drivers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == key)
        .unwrap_or_else(|| panic!("no driver {key} in {h}"))
}

fn warning_keys(h: &Value) -> Vec<String> {
    h["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["key"].as_str().unwrap().to_string())
        .collect()
}

/// A partnership with the test charter in force; answers its id and the partner's id.
async fn deal(app: &TestApp, name: &str) -> (i64, i64) {
    let other = app.org(&format!("{name} Dental"), "dental_group").await;
    let pid = app.partnership(name, app.home, other).await;
    app.effective_charter(pid, other).await;
    (pid, other)
}

/// The id of the home organization's metric (the annual cost per referred patient).
async fn home_metric(app: &TestApp, pid: i64) -> i64 {
    let (_, o) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/metrics"))
        .await;
    o["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"]["owner"] == app.home)
        .and_then(|m| m["metric"]["id"].as_i64())
        .unwrap_or_else(|| panic!("no home metric in {o}"))
}

on_both!(score_and_drivers_follow_the_charter_and_new_values, |app| {
    let (pid, _) = deal(&app, "Smiles").await;
    let h = health(&app, pid).await;
    let score = h["score"].as_f64().expect("a score");
    assert!((0.0..=100.0).contains(&score), "{h}");
    let drivers = h["drivers"].as_array().unwrap();
    assert_eq!(drivers.len(), 8, "{h}");
    for d in drivers {
        assert!(
            d["weight"].is_number() && d["contribution"].is_number(),
            "{d}"
        );
    }
    let sum: f64 = drivers
        .iter()
        .map(|d| d["contribution"].as_f64().unwrap())
        .sum();
    assert!((sum - score).abs() < 1e-6, "contributions add up: {h}");
    // The charter's commitment was due 2026-03-31 and is open: kept 0 of 1.
    assert_eq!(driver(&h, "commitments_kept")["value"], 0.0, "{h}");
    // No values reported yet: no data, so no contribution.
    assert_eq!(driver(&h, "metric_attainment")["value"], Value::Null);
    assert_eq!(driver(&h, "metric_attainment")["contribution"], 0.0);
    let keys = warning_keys(&h);
    assert!(
        keys.iter().any(|k| k.starts_with("commitment_late:")),
        "{keys:?}"
    );
    assert!(h["trend"]["direction"].is_string(), "{h}");
    assert_eq!(h["weights"]["metric_attainment"], 25.0);

    // A value at the target: reflected at once.
    let metric = home_metric(&app, pid).await;
    let (status, e) = app
        .post_json(
            &format!("/api/v1/partnerships/{pid}/metrics/{metric}/values"),
            &json!({ "period_start": "2026-01-01", "value": 300.0 }),
        )
        .await;
    assert_eq!(status, 201, "{e}");
    let after = health(&app, pid).await;
    assert_eq!(driver(&after, "metric_attainment")["value"], 1.0, "{after}");
    assert!(after["score"].as_f64().unwrap() > score, "{h} → {after}");

    // The partnership page shows the card and the health page renders.
    let s = app.sign_in("admin@home.example").await;
    let page = s.get(&format!("/partnerships/{pid}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"health-link\""), "health card");
    let page = s.get(&format!("/partnerships/{pid}/health")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"health-score\""));
    assert!(html.contains("id=\"driver-metric_attainment\""));
});

on_both!(weights_change_the_score_and_are_validated, |app| {
    let (pid, _) = deal(&app, "Smiles").await;
    let before = health(&app, pid).await;
    let path = "/api/v1/organization/health-weights";
    let (status, w) = app.get_json(path).await;
    assert_eq!(status, 200);
    assert_eq!(w["commitments_kept"], 15.0);

    // Bad weights: 422 naming the weight, nothing written.
    let audit = app.audit_rows().await;
    app.expect_invalid(
        app.token.as_str(),
        Method::PUT,
        path,
        &json!({ "survey_level": 150 }),
        "weights.survey_level",
        "out_of_range",
    )
    .await;
    let zeros = json!({
        "metric_attainment": 0, "commitments_kept": 0, "meeting_cadence": 0, "survey_level": 0,
        "perception_gaps": 0, "open_high_risks": 0, "leadership_continuity": 0, "review_timeliness": 0
    });
    app.expect_invalid(
        app.token.as_str(),
        Method::PUT,
        path,
        &zeros,
        "weights.metric_attainment",
        "all_zero",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);
    assert_eq!(app.get_json(path).await.1, w);

    // Only commitments count: the score is the commitments driver (0 kept of 1 due).
    let only = json!({
        "metric_attainment": 0, "commitments_kept": 50, "meeting_cadence": 0, "survey_level": 0,
        "perception_gaps": 0, "open_high_risks": 0, "leadership_continuity": 0, "review_timeliness": 0
    });
    let (status, saved) = app.send_json(Method::PUT, path, &only).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(app.audit_rows().await, audit + 1);
    let after = health(&app, pid).await;
    assert_eq!(after["score"], 0.0, "{after}");
    assert_ne!(before["score"], after["score"]);
    assert_eq!(after["weights"]["commitments_kept"], 50.0);

    // The partner's view keeps the partner's (default) weights.
    let partner = app
        .member(
            "second@partner.example",
            before_partner(&app, pid).await,
            Role::AllianceManager,
            TokenScope::ReadWrite,
        )
        .await;
    let r = app
        .get_as(
            &partner.token,
            &format!("/api/v1/partnerships/{pid}/health"),
        )
        .await;
    let theirs: Value = r.json().await.unwrap();
    assert_eq!(theirs["weights"]["commitments_kept"], 15.0, "{theirs}");

    // A viewer may read, not set.
    let viewer = app
        .member(
            "viewer@home.example",
            app.home,
            Role::Viewer,
            TokenScope::Read,
        )
        .await;
    let (status, _) = app
        .call(viewer.token.as_str(), Method::GET, path, None)
        .await;
    assert_eq!(status, 200);
    let audit = app.audit_rows().await;
    let (status, _) = app
        .call(viewer.token.as_str(), Method::PUT, path, Some(&only))
        .await;
    assert_eq!(status, 403);
    assert_eq!(app.audit_rows().await, audit);

    // The page form: errors next to the input.
    let s = app.sign_in("admin@home.example").await;
    let r = s
        .post_form(
            "/organization/health-weights",
            &[
                ("metric_attainment", "abc"),
                ("commitments_kept", "15"),
                ("meeting_cadence", "10"),
                ("survey_level", "15"),
                ("perception_gaps", "10"),
                ("open_high_risks", "10"),
                ("leadership_continuity", "10"),
                ("review_timeliness", "5"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"e-metric_attainment\""), "{html}");
});

/// The partner organization of `pid` (the party that is not home).
async fn before_partner(app: &TestApp, pid: i64) -> i64 {
    let (_, p) = app.get_json(&format!("/api/v1/partnerships/{pid}")).await;
    p["parties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["organization_id"].as_i64().unwrap())
        .find(|o| *o != app.home)
        .unwrap()
}

on_both!(warnings_are_acknowledged_once_with_a_note, |app| {
    let (pid, _) = deal(&app, "Smiles").await;
    let h = health(&app, pid).await;
    let key = warning_keys(&h)
        .into_iter()
        .find(|k| k.starts_with("commitment_late:"))
        .expect("a late-commitment warning");
    let path = format!("/api/v1/partnerships/{pid}/warnings/acknowledgements");
    let audit = app.audit_rows().await;

    // No note; an unknown key: 422 naming the field, nothing written.
    app.expect_invalid(
        app.token.as_str(),
        Method::POST,
        &path,
        &json!({ "key": key, "note": "  " }),
        "note",
        "required",
    )
    .await;
    app.expect_invalid(
        app.token.as_str(),
        Method::POST,
        &path,
        &json!({ "key": "metric_off_track:99:2026-01-01", "note": "Seen" }),
        "key",
        "unknown_warning",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit);

    // A viewer cannot acknowledge; an outsider does not see the partnership.
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
    let body = json!({ "key": key, "note": "We are on it" });
    let (status, _) = app
        .call(viewer.token.as_str(), Method::POST, &path, Some(&body))
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .call(outsider.token.as_str(), Method::POST, &path, Some(&body))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            outsider.token.as_str(),
            Method::GET,
            &format!("/api/v1/partnerships/{pid}/health"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(app.audit_rows().await, audit);
    // The viewer reads the health.
    let (status, _) = app
        .call(
            viewer.token.as_str(),
            Method::GET,
            &format!("/api/v1/partnerships/{pid}/health"),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Acknowledged: shared, naming who.
    let (status, w) = app.post_json(&path, &body).await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["acknowledged"]["note"], "We are on it");
    assert_eq!(w["acknowledged"]["organization_id"], app.home);
    assert_eq!(app.audit_rows().await, audit + 1);
    let h = health(&app, pid).await;
    let acked = h["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["key"] == key.as_str())
        .unwrap();
    assert_eq!(acked["acknowledged"]["note"], "We are on it", "{h}");

    // Twice: 409, nothing written.
    app.expect_problem(
        app.token.as_str(),
        Method::POST,
        &path,
        Some(&body),
        409,
        "already_acknowledged",
        "key",
    )
    .await;
    assert_eq!(app.audit_rows().await, audit + 1);

    // The page: a missing note is shown next to the input.
    let s = app.sign_in("admin@home.example").await;
    let other = warning_keys(&h)
        .into_iter()
        .find(|k| *k != key)
        .expect("another warning");
    let r = s
        .post_form(
            &format!("/partnerships/{pid}/health/acknowledgements"),
            &[("key", other.as_str()), ("note", "")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("-error\""), "{html}");
    let r = s
        .post_form(
            &format!("/partnerships/{pid}/health/acknowledgements"),
            &[("key", other.as_str()), ("note", "Looked at it")],
        )
        .await;
    assert_eq!(r.status(), 303);
});

on_both!(
    portfolio_lines_come_from_the_cache_and_follow_new_values,
    |app| {
        use concord_domain::{OrgId, PartnershipId};
        let (pid, _) = deal(&app, "Smiles").await;
        let (pid2, _) = deal(&app, "Grins").await;
        let uid = app.user_id_of(&app.token).await;
        let acting = app
            .store
            .acting(concord_domain::UserId(uid), OrgId(app.home))
            .await
            .unwrap()
            .unwrap();
        let actor = concord_storage::Actor::person("test", &acting, None);
        let today = chrono::Utc::now().date_naive();
        let days: Vec<chrono::NaiveDate> = [300u64, 200, 100, 40, 35]
            .iter()
            .map(|n| today - chrono::Days::new(*n))
            .collect();
        let written = app
            .store
            .backfill_health_history(PartnershipId(pid), &days)
            .await
            .unwrap();
        assert_eq!(written, 5);
        let ids = [PartnershipId(pid), PartnershipId(pid2)];
        let fp = app.store.health_fingerprint(OrgId(app.home)).await.unwrap();
        let lines = app.store.portfolio_health(&actor, &ids).await.unwrap();
        assert_eq!(lines.len(), 2);
        let line = &lines[0];
        assert_eq!(line.partnership_id, pid);
        assert!(line.score.is_some());
        assert!(line.trend.is_some(), "history 40 days back gives a trend");
        assert!(
            line.sparkline.len() >= 3 && line.sparkline.len() <= 12,
            "{line:?}"
        );
        assert!(line.sparkline.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(line.warnings > 0);
        assert_eq!(
            line.verdict,
            Some(concord_domain::verdict::VerdictKind::Strategic)
        );
        assert!(line.next_review.is_some());
        assert_eq!(lines[1].partnership_id, pid2);
        assert!(lines[1].trend.is_none());
        // Read again from the cache: the same.
        let again = app.store.portfolio_health(&actor, &ids).await.unwrap();
        assert_eq!(again, lines);

        // A new value shows at once.
        let metric = home_metric(&app, pid).await;
        let (status, e) = app
            .post_json(
                &format!("/api/v1/partnerships/{pid}/metrics/{metric}/values"),
                &json!({ "period_start": "2026-01-01", "value": 300.0 }),
            )
            .await;
        assert_eq!(status, 201, "{e}");
        assert_ne!(
            app.store.health_fingerprint(OrgId(app.home)).await.unwrap(),
            fp
        );
        let after = app.store.portfolio_health(&actor, &ids).await.unwrap();
        assert!(after[0].score.unwrap() > lines[0].score.unwrap());
        assert_eq!(after[1], lines[1]);
    }
);

on_both!(stale_health_is_refreshed_in_bulk, |app| {
    let (_, _) = deal(&app, "Smiles").await;
    let n = app.store.refresh_stale_health().await.unwrap();
    assert!(n >= 1);
    assert_eq!(app.store.refresh_stale_health().await.unwrap(), 0);
});
