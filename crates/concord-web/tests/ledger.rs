//! The metric ledger over the JSON API, on SQLite and (when configured) PostgreSQL: values and
//! their hash chain, corrections, the CSV import (all or nothing), the download and its
//! verification — by the server, by the domain's reader and by hand from the documented canonical
//! form — and tampering behind the application's back. Every refused write is shown to write
//! nothing: neither a ledger entry nor an audit row.

mod common;

use chrono::{Datelike, Months, NaiveDate};
use common::{Member, TestApp};
use concord_domain::account::{Role, TokenScope};
use concord_domain::ledger::{read_ledger_csv, verify_chain, Entry, GENESIS};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A partnership between the home organization and a partner with an effective charter. Metric
/// ids: `theirs` (quarterly, owned by the partner), `annual` (owned by home), `monthly` and
/// `quarterly` (owned by home).
struct Deal {
    pid: i64,
    other: i64,
    partner: Member,
    theirs: i64,
    annual: i64,
    monthly: i64,
    quarterly: i64,
}

/// The strategic charter plus two home-owned metrics: "Referrals sent" (monthly, higher is
/// better, 10 → 50 by 2027-12-31) and "No-show rate" (quarterly, lower is better).
fn with_home_metrics(home: i64) -> impl FnOnce(&mut Value) {
    move |c: &mut Value| {
        let metrics = c["metrics"].as_array_mut().unwrap();
        metrics.push(
            json!({ "name": "Referrals sent", "category": "access", "unit": "patients",
            "direction": "higher", "baseline": 10.0, "target": 50.0, "target_date": "2027-12-31",
            "cadence": "monthly", "owner": home }),
        );
        metrics.push(
            json!({ "name": "No-show rate", "category": "clinical_quality", "unit": "%",
            "direction": "lower", "baseline": 30.0, "target": 10.0, "target_date": "2027-12-31",
            "cadence": "quarterly", "owner": home }),
        );
    }
}

async fn deal(app: &TestApp) -> Deal {
    let other = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app
        .partnership("Smiles in primary care", app.home, other)
        .await;
    let partner = app
        .effective_charter_with(pid, other, with_home_metrics(app.home))
        .await;
    let o = overview(app, pid).await;
    let id = |name: &str| metric_by_name(&o, name)["metric"]["id"].as_i64().unwrap();
    Deal {
        pid,
        other,
        partner,
        theirs: id("Dental visit within 60 days of referral"),
        annual: id("Cost per referred patient"),
        monthly: id("Referrals sent"),
        quarterly: id("No-show rate"),
    }
}

fn metric_by_name<'a>(o: &'a Value, name: &str) -> &'a Value {
    o["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"]["name"] == name)
        .unwrap_or_else(|| panic!("no metric {name} in {o}"))
}

fn metric_by_id(o: &Value, id: i64) -> &Value {
    o["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"]["id"] == id)
        .unwrap_or_else(|| panic!("no metric {id} in {o}"))
}

fn values_path(pid: i64, metric: i64) -> String {
    format!("/api/v1/partnerships/{pid}/metrics/{metric}/values")
}

fn import_path(pid: i64) -> String {
    format!("/api/v1/partnerships/{pid}/metrics/import")
}

async fn overview(app: &TestApp, pid: i64) -> Value {
    let (status, o) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/metrics"))
        .await;
    assert_eq!(status, 200, "{o}");
    o
}

/// The whole ledger, as JSON.
async fn ledger(app: &TestApp, pid: i64) -> Vec<Entry> {
    let r = app.get(&format!("/api/v1/partnerships/{pid}/ledger")).await;
    assert_eq!(r.status(), 200);
    r.json().await.expect("ledger entries")
}

async fn verify(app: &TestApp, pid: i64) -> Value {
    let (status, v) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/ledger/verify"))
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

/// How much there is now, to prove a refused write changed nothing.
struct Before {
    entries: usize,
    audit: i64,
}

async fn before(app: &TestApp, pid: i64) -> Before {
    Before {
        entries: ledger(app, pid).await.len(),
        audit: app.audit_rows().await,
    }
}

async fn unchanged(app: &TestApp, pid: i64, b: &Before, what: &str) {
    assert_eq!(
        ledger(app, pid).await.len(),
        b.entries,
        "{what}: no ledger entry was written"
    );
    assert_eq!(app.audit_rows().await, b.audit, "{what}: no audit row");
}

async fn report(app: &TestApp, pid: i64, metric: i64, start: &str, value: f64) -> Value {
    let (status, e) = app
        .post_json(
            &values_path(pid, metric),
            &json!({ "period_start": start, "value": value }),
        )
        .await;
    assert_eq!(status, 201, "{start}: {e}");
    e
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap()
}

on_both!(values_are_chained_and_bad_values_refused, |app| {
    let d = deal(&app).await;
    let pid = d.pid;

    // Three months of values: 201, numbered 1, 2, 3, each naming the hash before it.
    let mut prev = GENESIS.to_string();
    for (i, (start, end, value)) in [
        ("2026-01-01", "2026-01-31", 12.0),
        ("2026-02-01", "2026-02-28", 15.5),
        ("2026-03-01", "2026-03-31", 18.0),
    ]
    .into_iter()
    .enumerate()
    {
        let e = report(&app, pid, d.monthly, start, value).await;
        assert_eq!(e["seq"], i as i64 + 1, "{e}");
        assert_eq!(
            e["period_end"], end,
            "the end follows from the cadence: {e}"
        );
        assert_eq!(e["prev_hash"], prev.as_str(), "{e}");
        assert_eq!(e["metric_id"], d.monthly);
        assert_eq!(e["organization_id"], app.home);
        assert_eq!(e["supersedes"], Value::Null);
        let hash = e["hash"].as_str().unwrap();
        assert_eq!(hash.len(), 64);
        assert!(hash
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(hash, prev);
        prev = hash.to_string();
    }
    let entries = ledger(&app, pid).await;
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].prev_hash, GENESIS);
    for w in entries.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash);
    }
    // One entry by its number.
    let (status, one) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/ledger/2"))
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["value"], "15.5");
    app.expect_problem(
        &app.token,
        Method::GET,
        &format!("/api/v1/partnerships/{pid}/ledger/99"),
        None,
        404,
        "not_found",
        "",
    )
    .await;

    // The overview: current values, attainment and status. Referrals go 10 → 50 by 2027-12-31
    // from the charter's start (2026-01-01): 18 in March is 20 % of the way, while the straight
    // path expects about 12 % by 31 March — on track, and improving.
    let o = overview(&app, pid).await;
    assert_eq!(o["entries"], 3);
    assert_eq!(o["head"], prev.as_str());
    assert_eq!(o["path_start"], "2026-01-01");
    let m = metric_by_id(&o, d.monthly);
    assert_eq!(m["reportable"], true);
    let values: Vec<f64> = m["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [12.0, 15.5, 18.0]);
    let a = &m["attainment"];
    assert_eq!(a["latest"]["value"], 18.0, "{a}");
    assert_eq!(a["latest"]["period_end"], "2026-03-31");
    assert!(
        (a["attainment"].as_f64().unwrap() - 0.2).abs() < 1e-9,
        "{a}"
    );
    let expected = 89.0 / 729.0;
    assert!(
        (a["expected"].as_f64().unwrap() - expected).abs() < 1e-9,
        "{a}"
    );
    assert_eq!(a["status"], "on_track", "{a}");
    assert_eq!(a["trend"], "improving", "{a}");
    assert_eq!(a["periods_reported"], 3);
    // The partner's metric: not reportable by home, no data yet.
    let theirs = metric_by_id(&o, d.theirs);
    assert_eq!(theirs["reportable"], false);
    assert_eq!(theirs["attainment"]["status"], "no_data");
    assert!(o["rollup"].is_object(), "{o}");
    // The partner reads the same figures; its own metric is reportable for it.
    let (status, po) = app
        .call(
            &d.partner.token,
            Method::GET,
            &format!("/api/v1/partnerships/{pid}/metrics"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{po}");
    assert_eq!(po["head"], prev.as_str());
    assert_eq!(metric_by_id(&po, d.theirs)["reportable"], true);
    assert_eq!(metric_by_id(&po, d.monthly)["reportable"], false);

    // Who else asks: a viewer (token and signed in), an outsider, a partnership without charter.
    let viewer = app
        .member(
            "viewer@home.example",
            app.home,
            Role::Viewer,
            TokenScope::Read,
        )
        .await;
    let web = app.sign_in(&viewer.email).await;
    let (_, outsider) = app
        .other_org("Outsider Health", "am@outsider.example", Role::Admin)
        .await;
    let bare_org = app.org("Lakeside Pharmacy", "pharmacy").await;
    let bare = app.partnership("No charter yet", app.home, bare_org).await;

    // Bad input: each refused with its field and code, and nothing written.
    let b = before(&app, pid).await;
    let bad = |start: &str| json!({ "period_start": start, "value": 1.0 });
    // A metric the reporter's organization does not own.
    let p = app
        .expect_invalid(
            &app.token,
            Method::POST,
            &values_path(pid, d.theirs),
            &bad("2026-04-01"),
            "metric_id",
            "not_owner",
        )
        .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("Bright Harbor Dental"),
        "the refusal names the owning party: {p}"
    );
    // …nor when its owner sends a value for the home organization's metric.
    app.expect_invalid(
        &d.partner.token,
        Method::POST,
        &values_path(pid, d.monthly),
        &bad("2026-04-01"),
        "metric_id",
        "not_owner",
    )
    .await;
    // Periods off the cadence.
    app.expect_invalid(
        &app.token,
        Method::POST,
        &values_path(pid, d.monthly),
        &bad("2026-04-15"),
        "period_start",
        "cadence_mismatch",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::POST,
        &values_path(pid, d.quarterly),
        &bad("2026-02-01"),
        "period_start",
        "cadence_mismatch",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::POST,
        &values_path(pid, d.annual),
        &bad("2025-07-01"),
        "period_start",
        "cadence_mismatch",
    )
    .await;
    // A period end that does not match.
    app.expect_invalid(
        &app.token,
        Method::POST,
        &values_path(pid, d.monthly),
        &json!({ "period_start": "2026-04-01", "period_end": "2026-04-29", "value": 1.0 }),
        "period_end",
        "cadence_mismatch",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::POST,
        &values_path(pid, d.quarterly),
        &json!({ "period_start": "2026-04-01", "period_end": "2026-04-30", "value": 1.0 }),
        "period_end",
        "cadence_mismatch",
    )
    .await;
    // A period that has not begun.
    let next_month = first_of_month(today()) + Months::new(1);
    app.expect_invalid(
        &app.token,
        Method::POST,
        &values_path(pid, d.monthly),
        &bad(&next_month.to_string()),
        "period_start",
        "future_period",
    )
    .await;
    // A period that already has a value: a correction is needed, and the entry is named.
    let p = app
        .expect_problem(
            &app.token,
            Method::POST,
            &values_path(pid, d.monthly),
            Some(&json!({ "period_start": "2026-02-01", "value": 16.0 })),
            409,
            "duplicate_period",
            "period_start",
        )
        .await;
    assert!(
        p["detail"].as_str().unwrap().contains("entry 2"),
        "the refusal names the entry to correct: {p}"
    );
    // Values that are not finite numbers.
    for (value, code) in [
        (json!("abc"), "invalid_type"),
        (json!("NaN"), "invalid_type"),
        (json!("12"), "invalid_type"),
        (json!(null), "invalid_type"),
    ] {
        app.expect_problem(
            &app.token,
            Method::POST,
            &values_path(pid, d.monthly),
            Some(&json!({ "period_start": "2026-04-01", "value": value })),
            422,
            code,
            "value",
        )
        .await;
    }
    app.expect_problem(
        &app.token,
        Method::POST,
        &values_path(pid, d.monthly),
        Some(&json!({ "period_start": "2026-04-01" })),
        422,
        "missing_field",
        "value",
    )
    .await;
    for huge in [1e300, -1e300, 1.000001e15] {
        app.expect_invalid(
            &app.token,
            Method::POST,
            &values_path(pid, d.monthly),
            &json!({ "period_start": "2026-04-01", "value": huge }),
            "value",
            "out_of_range",
        )
        .await;
    }
    // A number beyond what a float holds is not malformed JSON: it is a bad value of `value`.
    let (status, body) = app
        .send_text_as(
            &app.token,
            Method::POST,
            &values_path(pid, d.monthly),
            "application/json",
            r#"{"period_start": "2026-04-01", "value": 1e400}"#,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "value", "{body}");
    assert_eq!(body["errors"][0]["code"], "out_of_range", "{body}");
    // Unknown fields and unknown metrics.
    app.expect_problem(
        &app.token,
        Method::POST,
        &values_path(pid, d.monthly),
        Some(&json!({ "period_start": "2026-04-01", "value": 1, "period": "2026-04" })),
        422,
        "unknown_field",
        "period",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &values_path(pid, 99),
        Some(&bad("2026-04-01")),
        404,
        "not_found",
        "",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &values_path(pid, 1 << 40),
        Some(&bad("2026-04-01")),
        404,
        "not_found",
        "",
    )
    .await;
    // A viewer: refused by the token's scope, and signed in, by the role.
    app.expect_problem(
        &viewer.token,
        Method::POST,
        &values_path(pid, d.monthly),
        Some(&bad("2026-04-01")),
        403,
        "insufficient_scope",
        "",
    )
    .await;
    app.expect_problem(
        &web,
        Method::POST,
        &values_path(pid, d.monthly),
        Some(&bad("2026-04-01")),
        403,
        "forbidden",
        "",
    )
    .await;
    // An organization that is not a party does not see the partnership at all.
    app.expect_problem(
        &outsider.token,
        Method::POST,
        &values_path(pid, d.monthly),
        Some(&bad("2026-04-01")),
        404,
        "not_found",
        "",
    )
    .await;
    app.expect_problem(
        &outsider.token,
        Method::GET,
        &format!("/api/v1/partnerships/{pid}/metrics"),
        None,
        404,
        "not_found",
        "",
    )
    .await;
    // No effective charter: nothing to report against.
    app.expect_problem(
        &app.token,
        Method::POST,
        &values_path(bare, 1),
        Some(&bad("2026-04-01")),
        409,
        "no_effective_charter",
        "metric_id",
    )
    .await;
    unchanged(&app, pid, &b, "refused values").await;
    assert!(ledger(&app, bare).await.is_empty());
    let (status, o) = app
        .get_json(&format!("/api/v1/partnerships/{bare}/metrics"))
        .await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["charter_version"], Value::Null);
    assert_eq!(o["metrics"], json!([]));
    assert_eq!(o["entries"], 0);
    let v = verify(&app, bare).await;
    assert_eq!(v["valid"], true, "an empty ledger verifies: {v}");
    assert_eq!(v["entries"], 0);
    assert_eq!(v["head"], Value::Null);

    // An archived partnership takes no more values (nor corrections, nor imports).
    let (status, body) = app
        .post_json(&format!("/api/v1/partnerships/{pid}/archive"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let b = before(&app, pid).await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &values_path(pid, d.monthly),
        Some(&bad("2026-04-01")),
        409,
        "archived",
        "",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &format!("/api/v1/partnerships/{pid}/ledger/1/corrections"),
        Some(&json!({ "value": 1, "reason": "typo" })),
        409,
        "archived",
        "",
    )
    .await;
    let (status, p) = app
        .post_csv(
            &import_path(pid),
            "metric,period,value\nReferrals sent,2026-04,1\n",
        )
        .await;
    assert_eq!(status, 409, "{p}");
    assert_eq!(p["code"], "archived");
    unchanged(&app, pid, &b, "archived").await;
    // Its ledger still reads and verifies.
    assert_eq!(verify(&app, pid).await["valid"], true);
});

on_both!(corrections_supersede_and_chain, |app| {
    let d = deal(&app).await;
    let pid = d.pid;
    report(&app, pid, d.monthly, "2026-01-01", 12.0).await;
    report(&app, pid, d.monthly, "2026-02-01", 20.0).await;
    let corr = |seq: i64| format!("/api/v1/partnerships/{pid}/ledger/{seq}/corrections");

    let (status, c) = app
        .post_json(
            &corr(1),
            &json!({ "value": 14, "reason": "Counted one clinic twice", "source": "EHR report" }),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["seq"], 3);
    assert_eq!(c["supersedes"], 1);
    assert_eq!(c["reason"], "Counted one clinic twice");
    assert_eq!(c["period_start"], "2026-01-01");
    assert_eq!(c["period_end"], "2026-01-31");
    assert_eq!(c["metric_id"], d.monthly);
    assert_eq!(c["value"], "14");
    let entries = ledger(&app, pid).await;
    assert_eq!(c["prev_hash"], entries[1].hash.as_str());

    // The current value of January is the correction; February is untouched.
    let o = overview(&app, pid).await;
    let m = metric_by_id(&o, d.monthly);
    let values = m["values"].as_array().unwrap();
    assert_eq!(values.len(), 2, "{m}");
    assert_eq!(values[0]["value"], 14.0);
    assert_eq!(values[0]["seq"], 3);
    assert_eq!(values[0]["corrected"], true);
    assert_eq!(values[1]["value"], 20.0);
    assert_eq!(values[1]["corrected"], false);
    // The metric's history shows both January entries, in chain order.
    let (status, hist) = app
        .get_json(&format!(
            "/api/v1/partnerships/{pid}/metrics/{}/entries",
            d.monthly
        ))
        .await;
    assert_eq!(status, 200, "{hist}");
    let seqs: Vec<i64> = hist
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(
        hist[0]["value"], "12",
        "the corrected entry is kept as it was"
    );
    let (_, other_hist) = app
        .get_json(&format!(
            "/api/v1/partnerships/{pid}/metrics/{}/entries",
            d.theirs
        ))
        .await;
    assert_eq!(other_hist, json!([]));

    // Refusals, none of which writes anything.
    let b = before(&app, pid).await;
    let p = app
        .expect_problem(
            &app.token,
            Method::POST,
            &corr(1),
            Some(&json!({ "value": 15, "reason": "Again" })),
            409,
            "already_corrected",
            "seq",
        )
        .await;
    assert!(p["detail"].as_str().unwrap().contains("entry 3"), "{p}");
    app.expect_problem(
        &app.token,
        Method::POST,
        &corr(2),
        Some(&json!({ "value": 15 })),
        422,
        "missing_field",
        "reason",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::POST,
        &corr(2),
        &json!({ "value": 15, "reason": "   " }),
        "reason",
        "required",
    )
    .await;
    app.expect_invalid(
        &app.token,
        Method::POST,
        &corr(2),
        &json!({ "value": 1e300, "reason": "Too big" }),
        "value",
        "out_of_range",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &corr(2),
        Some(&json!({ "value": "NaN", "reason": "Not a number" })),
        422,
        "invalid_type",
        "value",
    )
    .await;
    app.expect_problem(
        &app.token,
        Method::POST,
        &corr(99),
        Some(&json!({ "value": 15, "reason": "No such entry" })),
        404,
        "not_found",
        "",
    )
    .await;
    // The partner does not own the metric, so it cannot correct its values either.
    app.expect_invalid(
        &d.partner.token,
        Method::POST,
        &corr(2),
        &json!({ "value": 15, "reason": "We think it is wrong" }),
        "metric_id",
        "not_owner",
    )
    .await;
    unchanged(&app, pid, &b, "refused corrections").await;

    // A correction of the correction continues the line.
    let (status, c2) = app
        .post_json(&corr(3), &json!({ "value": 13.5, "reason": "Final count" }))
        .await;
    assert_eq!(status, 201, "{c2}");
    assert_eq!(
        (c2["seq"].as_i64(), c2["supersedes"].as_i64()),
        (Some(4), Some(3))
    );
    let o = overview(&app, pid).await;
    let jan = &metric_by_id(&o, d.monthly)["values"][0];
    assert_eq!(
        (jan["value"].as_f64(), jan["seq"].as_i64()),
        (Some(13.5), Some(4))
    );
    // The period still has a value: a new value for January is refused, naming the current entry.
    let p = app
        .expect_problem(
            &app.token,
            Method::POST,
            &values_path(pid, d.monthly),
            Some(&json!({ "period_start": "2026-01-01", "value": 1 })),
            409,
            "duplicate_period",
            "period_start",
        )
        .await;
    assert!(p["detail"].as_str().unwrap().contains("entry"), "{p}");
    let v = verify(&app, pid).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["entries"], 4);
});

/// `n` months after January 1940, as `YYYY-MM`.
fn month(n: u32) -> String {
    let d = NaiveDate::from_ymd_opt(1940, 1, 1).unwrap() + Months::new(n);
    format!("{:04}-{:02}", d.year(), d.month())
}

on_both!(a_csv_import_is_all_or_nothing, |app| {
    // Ten monthly metrics owned by the home organization, a thousand months each from 1940.
    let other = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app.partnership("Bulk reporting", app.home, other).await;
    let home = app.home;
    let partner = app
        .effective_charter_with(pid, other, move |c| {
            let metrics = c["metrics"].as_array_mut().unwrap();
            for i in 0..10 {
                metrics.push(
                    json!({ "name": format!("Bulk metric {i}"), "category": "access",
                    "unit": "patients", "direction": "higher", "baseline": 0.0, "target": 100.0,
                    "target_date": "2027-12-31", "cadence": "monthly", "owner": home }),
                );
            }
        })
        .await;
    let o = overview(&app, pid).await;
    let ids: Vec<i64> = (0..10)
        .map(|i| {
            metric_by_name(&o, &format!("Bulk metric {i}"))["metric"]["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let mut rows: Vec<String> = Vec::with_capacity(10_000);
    for (k, id) in ids.iter().enumerate() {
        for n in 0..1000u32 {
            rows.push(format!(
                "{id},{},{}.{},imported from the 1940-2023 registry extract",
                month(n),
                n % 97,
                k
            ));
        }
    }
    let file = |rows: &[String]| format!("metric,period,value,note\n{}\n", rows.join("\n"));
    let good = file(&rows);
    assert!(
        good.len() > 256 * 1024,
        "the file is larger than the JSON body limit ({} bytes)",
        good.len()
    );

    // One bad row in the middle: nothing is imported, the row is named by line and column.
    let mut with_bad = rows.clone();
    with_bad.insert(5000, format!("{},2024-01,12x,typed by hand", ids[3]));
    let bad_line = 5000 + 2; // the header is line 1
    let b = before(&app, pid).await;
    let (status, p) = app.post_csv(&import_path(pid), file(&with_bad)).await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["code"], "invalid_rows", "{p}");
    assert_eq!(p["field"], format!("line {bad_line} value"), "{p}");
    assert_eq!(
        p["rows"],
        json!([{ "line": bad_line, "column": "value", "message": "`12x` is not a number" }]),
    );
    unchanged(&app, pid, &b, "a file with a bad row").await;

    // The same file without it: every row in one go.
    let (status, s) = app.post_csv(&import_path(pid), good.clone()).await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["imported"], 10_000);
    assert_eq!(s["first_seq"], 1);
    assert_eq!(s["last_seq"], 10_000);
    let v = verify(&app, pid).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["entries"], 10_000);
    assert_eq!(v["head"], s["head"]);
    assert_eq!(
        app.audit_rows().await,
        b.audit + 1,
        "one audit row for the import"
    );
    let o = overview(&app, pid).await;
    let first = metric_by_id(&o, ids[0]);
    assert_eq!(first["values"].as_array().unwrap().len(), 1000);
    assert_eq!(first["values"][0]["period_start"], "1940-01-01");
    assert_eq!(first["values"][999]["period_start"], "2023-04-01");
    assert_eq!(first["values"][999]["period_end"], "2023-04-30");
    assert_eq!(first["values"][999]["value"], 29.0);

    // Refused files, none of which writes anything.
    let b = before(&app, pid).await;
    // Not sent as CSV.
    let (status, p) = app
        .send_text_as(
            &app.token,
            Method::POST,
            &import_path(pid),
            "application/json",
            "metric,period,value\n",
        )
        .await;
    assert_eq!(status, 415, "{p}");
    assert_eq!(p["code"], "unsupported_media_type");
    let (status, p) = app
        .send_text_as(
            &app.token,
            Method::POST,
            &import_path(pid),
            "text/plain",
            "metric,period,value\n",
        )
        .await;
    assert_eq!(status, 415, "{p}");
    let expect_rows = |body: &'static str, want: Vec<(u64, &'static str)>| {
        let app = &app;
        async move {
            let (status, p) = app.post_csv(&import_path(pid), body).await;
            assert_eq!(status, 422, "{body}: {p}");
            assert_eq!(p["code"], "invalid_rows", "{p}");
            let got: Vec<(u64, String)> = p["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["line"].as_u64().unwrap(),
                        r["column"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            let want: Vec<(u64, String)> =
                want.into_iter().map(|(l, c)| (l, c.to_string())).collect();
            assert_eq!(got, want, "{body}: {p}");
            assert_eq!(
                p["field"],
                format!("line {} {}", want[0].0, want[0].1),
                "{p}"
            );
            p
        }
    };
    // An unknown column, a missing one.
    expect_rows(
        "metric,period,value,colour\nBulk metric 0,2024-01,1,red\n",
        vec![(1, "colour")],
    )
    .await;
    expect_rows("metric,value\nBulk metric 0,1\n", vec![(1, "period")]).await;
    // An empty file, and a header without rows.
    let p = expect_rows("", vec![(1, "metric"), (1, "period"), (1, "value")]).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was imported"),
        "{p}"
    );
    let p = expect_rows("metric,period,value\n", vec![(1, "(file)")]).await;
    assert!(
        p["rows"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no rows"),
        "{p}"
    );
    // A period twice in the file, and a period the ledger already has.
    let p = expect_rows(
        "metric,period,value\nBulk metric 0,2024-01,1\nBulk metric 0,2024-01,2\n",
        vec![(3, "period")],
    )
    .await;
    assert!(
        p["rows"][0]["message"].as_str().unwrap().contains("line 2"),
        "{p}"
    );
    let p = expect_rows(
        "metric,period,value\nBulk metric 0,2024-01,1\nBulk metric 1,1950-06,2\n",
        vec![(3, "period")],
    )
    .await;
    assert!(
        p["rows"][0]["message"]
            .as_str()
            .unwrap()
            .contains("correction"),
        "{p}"
    );
    // Values that are not finite numbers; every bad row is listed.
    expect_rows(
        "metric,period,value\nBulk metric 0,2024-01,abc\nBulk metric 0,2024-02,inf\nBulk metric 0,2024-03,NaN\nBulk metric 0,2024-04,-Infinity\nBulk metric 0,2024-05,\nBulk metric 0,2024-06,1e300\n",
        vec![
            (2, "value"),
            (3, "value"),
            (4, "value"),
            (5, "value"),
            (6, "value"),
            (7, "value"),
        ],
    )
    .await;
    // Unknown metrics, another party's metric, periods off the cadence or in the future.
    let next_month = first_of_month(today()) + Months::new(1);
    let future = format!(
        "metric,period,value\nBulk metric 0,{:04}-{:02},1\nNo such metric,2024-01,1\nDental visit within 60 days of referral,2024-Q1,1\nBulk metric 0,2024-02-15,1\nBulk metric 0,2024-13,1\n",
        next_month.year(),
        next_month.month()
    );
    let (status, p) = app.post_csv(&import_path(pid), future).await;
    assert_eq!(status, 422, "{p}");
    let got: Vec<(u64, &str)> = p["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["column"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (2, "period"),
            (3, "metric"),
            (4, "metric"),
            (5, "period"),
            (6, "period")
        ],
        "{p}"
    );
    // A label that names a period of another length: a year or a quarter for a monthly metric
    // (not read as January), a month for the quarterly one.
    let p = expect_rows(
        "metric,period,value\nBulk metric 0,2024,1\nBulk metric 0,2024-Q2,1\nBulk metric 0,2024-04,1\n",
        vec![(2, "period"), (3, "period")],
    )
    .await;
    assert!(
        p["rows"][0]["message"]
            .as_str()
            .unwrap()
            .contains("names a year"),
        "{p}"
    );
    // A ragged row.
    expect_rows(
        "metric,period,value\nBulk metric 0,2024-01,1,extra\n",
        vec![(2, "(row)")],
    )
    .await;
    // The partner may import its own metric, but not the home organization's.
    let (status, p) = app
        .send_text_as(
            &partner.token,
            Method::POST,
            &import_path(pid),
            "text/csv",
            "metric,period,value\nBulk metric 0,2024-01,1\n",
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["rows"][0]["column"], "metric");
    unchanged(&app, pid, &b, "refused imports").await;
    let v = verify(&app, pid).await;
    assert_eq!(v["valid"], true);

    // Names work as well as ids, and a small import appends after the big one.
    let (status, s) = app
        .post_csv(
            &import_path(pid),
            "metric,period,value,source\nbulk metric 0,2024-01,7,Registry\nBulk metric 1,2024-01-01,8,\n",
        )
        .await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(
        (s["first_seq"].as_i64(), s["last_seq"].as_i64()),
        (Some(10_001), Some(10_002))
    );
    let entries = ledger(&app, pid).await;
    assert_eq!(entries.len(), 10_002);
    assert_eq!(entries[10_000].source, "Registry");
    assert_eq!(entries[10_000].metric_id as i64, ids[0]);
    assert_eq!(entries[10_000].prev_hash, entries[9_999].hash);
    assert!(verify_chain(&entries).valid);
});

/// Writes `s` as a JSON string the way the README's canonical form asks: quotes, backslashes and
/// control characters escaped, everything else (non-ASCII included) as is.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The canonical form, built by hand from its documentation: a JSON object with exactly these
/// keys in this order, no whitespace, integers as numbers, `supersedes` null or a number, dates
/// `YYYY-MM-DD`, everything else a string.
fn canonical_by_hand(e: &Value) -> String {
    let int = |k: &str| {
        e[k].as_i64()
            .unwrap_or_else(|| panic!("{k} in {e}"))
            .to_string()
    };
    let text = |k: &str| json_string(e[k].as_str().unwrap_or_else(|| panic!("{k} in {e}")));
    let supersedes = match e["supersedes"].as_i64() {
        Some(s) => s.to_string(),
        None => "null".to_string(),
    };
    format!(
        "{{\"seq\":{},\"partnership_id\":{},\"metric_id\":{},\"period_start\":{},\"period_end\":{},\
         \"value\":{},\"note\":{},\"source\":{},\"organization_id\":{},\"reported_by\":{},\
         \"recorded_at\":{},\"supersedes\":{},\"reason\":{},\"prev_hash\":{}}}",
        int("seq"),
        int("partnership_id"),
        int("metric_id"),
        text("period_start"),
        text("period_end"),
        text("value"),
        text("note"),
        text("source"),
        int("organization_id"),
        int("reported_by"),
        text("recorded_at"),
        supersedes,
        text("reason"),
        text("prev_hash"),
    )
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A few entries with awkward text: quotes, commas, line breaks, non-ASCII, a negative and a
/// fractional value, a zero, and a correction.
async fn awkward_ledger(app: &TestApp, d: &Deal) {
    let pid = d.pid;
    for (metric, body) in [
        (
            d.monthly,
            json!({ "period_start": "2026-01-01", "value": 12.5,
                    "note": "Clinic \"North\", incl. walk-ins\nsecond line — Ünïcode ✓", "source": "EHR, nightly" }),
        ),
        (
            d.quarterly,
            json!({ "period_start": "2026-01-01", "period_end": "2026-03-31", "value": -0.0,
                    "note": "tab\there and a back\\slash" }),
        ),
        (
            d.annual,
            json!({ "period_start": "2025-01-01", "value": 1234567.891 }),
        ),
        (
            d.monthly,
            json!({ "period_start": "2026-02-01", "value": 0.1 }),
        ),
    ] {
        let (status, e) = app.post_json(&values_path(pid, metric), &body).await;
        assert_eq!(status, 201, "{e}");
    }
    let (status, e) = app
        .post_json(
            &format!("/api/v1/partnerships/{pid}/ledger/1/corrections"),
            &json!({ "value": -3.25, "reason": "Sign was wrong; see \"audit\" memo", "note": "ok" }),
        )
        .await;
    assert_eq!(status, 201, "{e}");
    let (status, e) = app
        .send_json_as(
            &d.partner.token,
            Method::POST,
            &values_path(pid, d.theirs),
            &json!({ "period_start": "2026-04-01", "value": 42 }),
        )
        .await;
    assert_eq!(status, 201, "{e}");
}

on_both!(the_download_verifies_independently, |app| {
    let d = deal(&app).await;
    let pid = d.pid;
    awkward_ledger(&app, &d).await;

    let v = verify(&app, pid).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["entries"], 6);
    assert_eq!(v["first_mismatch"], Value::Null);

    // JSON download.
    let (status, json_body) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/ledger?format=json"))
        .await;
    assert_eq!(status, 200);
    let entries: Vec<Entry> = serde_json::from_value(json_body.clone()).unwrap();
    assert_eq!(entries.len(), 6);
    assert_eq!(v["head"], entries[5].hash.as_str());
    assert_eq!(entries[1].value, "0", "negative zero is written 0");
    assert_eq!(entries[2].value, "1234567.891");
    assert_eq!(entries[4].value, "-3.25");
    assert_eq!(entries[4].supersedes, Some(1));
    assert_eq!(entries[5].organization_id, d.other);

    // CSV download: reads back with the domain's reader into the same entries; the chain checks.
    let r = app
        .get(&format!("/api/v1/partnerships/{pid}/ledger?format=csv"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&format!("ledger-{pid}.csv")));
    let csv = r.bytes().await.unwrap();
    let from_csv = read_ledger_csv(csv.as_ref()).expect("the download reads back");
    assert_eq!(from_csv, entries);
    let local = verify_chain(&from_csv);
    assert!(local.valid, "{local:?}");
    assert_eq!(local.entries, 6);
    assert_eq!(local.head.as_deref(), v["head"].as_str());
    app.expect_problem(
        &app.token,
        Method::GET,
        &format!("/api/v1/partnerships/{pid}/ledger?format=xml"),
        None,
        400,
        "invalid_value",
        "format",
    )
    .await;

    // Each hash recomputed by hand from the documented canonical form.
    let mut prev = GENESIS.to_string();
    for e in json_body.as_array().unwrap() {
        assert_eq!(e["prev_hash"], prev.as_str(), "{e}");
        let canonical = canonical_by_hand(e);
        assert_eq!(
            sha256_hex(&canonical),
            e["hash"].as_str().unwrap(),
            "{canonical}"
        );
        prev = e["hash"].as_str().unwrap().to_string();
    }
    // recorded_at is RFC 3339 UTC with microseconds, exactly as hashed.
    let t = entries[0].recorded_at.as_str();
    assert_eq!(t.len(), "2026-03-04T10:11:12.123456Z".len(), "{t}");
    assert!(t.ends_with('Z'));
    assert!(chrono::DateTime::parse_from_rfc3339(t).is_ok());

    // Both parties download the same ledger; an outsider gets nothing.
    let r = app
        .get_as(
            &d.partner.token,
            &format!("/api/v1/partnerships/{pid}/ledger?format=csv"),
        )
        .await;
    assert_eq!(r.bytes().await.unwrap(), csv);
    let (_, outsider) = app
        .other_org("Outsider Health", "am@outsider.example", Role::Admin)
        .await;
    for path in [
        "/ledger",
        "/ledger?format=csv",
        "/ledger/verify",
        "/ledger/1",
    ] {
        app.expect_problem(
            &outsider.token,
            Method::GET,
            &format!("/api/v1/partnerships/{pid}{path}"),
            None,
            404,
            "not_found",
            "",
        )
        .await;
    }
});

/// Runs SQL on the test database directly, behind the application's back.
async fn exec(url: &str, sql: &str) -> Result<u64, sqlx::Error> {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await?;
        let n = sqlx::query(sql).execute(&mut c).await?.rows_affected();
        c.close().await?;
        Ok(n)
    } else {
        let mut c = sqlx::PgConnection::connect(url).await?;
        let n = sqlx::query(sql).execute(&mut c).await?.rows_affected();
        c.close().await?;
        Ok(n)
    }
}

/// Like `on_both!`, with the database URL too.
macro_rules! on_both_with_db {
    ($name:ident, |$app:ident, $url:ident| $body:block) => {
        mod $name {
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let ($app, $url) =
                    TestApp::spawn_with_url(concord_storage::Backend::Sqlite, stringify!($name))
                        .await
                        .expect("sqlite app");
                $body
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(($app, $url)) =
                    TestApp::spawn_with_url(concord_storage::Backend::Postgres, stringify!($name))
                        .await
                {
                    $body
                }
            }
        }
    };
}

on_both_with_db!(tampering_is_found, |app, url| {
    let d = deal(&app).await;
    let pid = d.pid;
    awkward_ledger(&app, &d).await;
    let is_sqlite = url.starts_with("sqlite:");

    // While the triggers are in place the ledger cannot be changed or shortened.
    let update = format!(
        "UPDATE metric_entries SET value = '99', value_num = 99 WHERE partnership_id = {pid} AND seq = 3"
    );
    let delete = format!("DELETE FROM metric_entries WHERE partnership_id = {pid} AND seq = 6");
    for sql in [&update, &delete] {
        let e = exec(&url, sql)
            .await
            .expect_err("the ledger is append-only");
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    assert_eq!(verify(&app, pid).await["valid"], true);

    // Someone with the database drops the trigger and changes entry 3's value.
    let drop_update = if is_sqlite {
        "DROP TRIGGER metric_entries_no_update"
    } else {
        "DROP TRIGGER metric_entries_no_update ON metric_entries"
    };
    exec(&url, drop_update).await.unwrap();
    assert_eq!(exec(&url, &update).await.unwrap(), 1);
    let v = verify(&app, pid).await;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["entries"], 6);
    let m = &v["first_mismatch"];
    assert_eq!(m["seq"], 3, "{v}");
    assert_eq!(m["code"], "hash_mismatch", "{v}");
    assert_eq!(m["found"].as_str().unwrap().len(), 64);
    assert_ne!(m["expected"], m["found"]);
    // The tampered value shows (the ledger does not hide it), and the download says the same.
    let entries = ledger(&app, pid).await;
    assert_eq!(entries[2].value, "99");
    let r = app
        .get(&format!("/api/v1/partnerships/{pid}/ledger?format=csv"))
        .await;
    let local = verify_chain(&read_ledger_csv(r.bytes().await.unwrap().as_ref()).unwrap());
    assert!(!local.valid);
    let lm = local.first_mismatch.unwrap();
    assert_eq!((lm.seq, lm.code.as_str()), (3, "hash_mismatch"));

    // Put the value back: the chain is whole again.
    let restore = format!(
        "UPDATE metric_entries SET value = '1234567.891', value_num = 1234567.891 WHERE partnership_id = {pid} AND seq = 3"
    );
    assert_eq!(exec(&url, &restore).await.unwrap(), 1);
    assert_eq!(verify(&app, pid).await["valid"], true);

    // Rewriting an entry *and* its hash breaks the next entry's link.
    let entries = ledger(&app, pid).await;
    let mut forged = entries[2].clone();
    forged.value = "7".into();
    let forged = forged.seal(&entries[1].hash);
    exec(
        &url,
        &format!(
            "UPDATE metric_entries SET value = '7', hash = '{}' WHERE partnership_id = {pid} AND seq = 3",
            forged.hash
        ),
    )
    .await
    .unwrap();
    let v = verify(&app, pid).await;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["first_mismatch"]["seq"], 4, "{v}");
    assert_eq!(v["first_mismatch"]["code"], "prev_hash_mismatch", "{v}");
    exec(
        &url,
        &format!(
            "UPDATE metric_entries SET value = '1234567.891', hash = '{}' WHERE partnership_id = {pid} AND seq = 3",
            entries[2].hash
        ),
    )
    .await
    .unwrap();
    assert_eq!(verify(&app, pid).await["valid"], true);

    // Dropping the last entry is found too: the chain no longer reaches its recorded head.
    if is_sqlite {
        exec(&url, "DROP TRIGGER metric_entries_no_delete")
            .await
            .unwrap();
    }
    assert_eq!(exec(&url, &delete).await.unwrap(), 1);
    let v = verify(&app, pid).await;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["entries"], 5);
    assert_eq!(v["first_mismatch"]["code"], "head_mismatch", "{v}");
    // And so is a gap in the middle.
    exec(
        &url,
        &format!("DELETE FROM metric_entries WHERE partnership_id = {pid} AND seq = 2"),
    )
    .await
    .unwrap();
    let v = verify(&app, pid).await;
    assert_eq!(v["first_mismatch"]["seq"], 3, "{v}");
    assert_eq!(v["first_mismatch"]["code"], "sequence_gap", "{v}");
});
