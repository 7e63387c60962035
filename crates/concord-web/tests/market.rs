//! The market scan over the JSON API, on SQLite and (when configured) PostgreSQL, over the real
//! sample data shipped in `data/market/` (NPPES CT/MA/RI rows, CMS hospitals, post-acute lists,
//! Census ZIP centroids, the NUCC taxonomy): dental near Hartford, podiatry near Providence, home
//! health around Boston, hospitals with their type, ownership and star rating, a scan by
//! partnership type; paging, filters and sorts; only the active import is read; every bad
//! parameter is a 4xx naming it.

mod common;

use common::TestApp;
use serde_json::{json, Value};
use sqlx::Connection;

async fn load_samples(app: &TestApp) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/market");
    concord_storage::market_import::import_shipped_samples(&app.store, &dir)
        .await
        .expect("the shipped samples import");
}

/// An organization with a ZIP (and optionally a location and offered capabilities).
async fn org_at(app: &TestApp, name: &str, zip: &str, extra: Value) -> i64 {
    let mut body = json!({ "name": name, "kind": "physician_group", "address": { "zip": zip } });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let (status, body) = app.post_json("/api/v1/organizations", &body).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("id")
}

async fn scan(app: &TestApp, query: &str) -> Value {
    let (status, body) = app
        .get_json(&format!("/api/v1/market/candidates?{query}"))
        .await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("items")
}

/// Checks what every page must satisfy: within the radius, offering a wanted capability, scores
/// explained and consistent.
fn check_page(page: &Value, radius: f64) {
    let wanted: Vec<&str> = page["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for it in items(page) {
        let d = it["distance_miles"].as_f64().unwrap();
        assert!(d <= radius, "{it}");
        let caps: Vec<&str> = it["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert!(wanted.iter().any(|w| caps.contains(w)), "{it}");
        let reasons = it["reasons"].as_array().unwrap();
        assert!(reasons.len() >= 3, "{it}");
        assert!(reasons[0].as_str().unwrap().ends_with("miles away"), "{it}");
        let parts = &it["score_parts"];
        let sum: f64 = ["proximity", "size", "centrality", "rating"]
            .iter()
            .map(|k| parts[k].as_f64().unwrap())
            .sum();
        let score = it["score"].as_f64().unwrap();
        assert!((sum - score).abs() < 0.25, "{it}");
        assert!((0.0..=100.0).contains(&score));
        assert!(it["ref"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(it["location"]["latitude"].as_f64().is_some());
    }
}

fn scores(page: &Value) -> Vec<f64> {
    items(page)
        .iter()
        .map(|i| i["score"].as_f64().unwrap())
        .collect()
}

on_both!(dental_near_hartford, |app| {
    load_samples(&app).await;
    let org = org_at(&app, "Hartford Primary Care", "06106", json!({})).await;
    let page = scan(
        &app,
        &format!("org={org}&capability=dental&radius_miles=25"),
    )
    .await;
    check_page(&page, 25.0);
    assert_eq!(page["organization_id"], org);
    assert_eq!(page["origin_from"], "zip");
    assert_eq!(page["capabilities"], json!(["dental"]));
    assert_eq!(page["radius_miles"], 25.0);
    let total = page["total"].as_u64().unwrap();
    assert!(
        total >= 8,
        "the sample has a dozen dentists around Hartford: {page}"
    );
    let s = scores(&page);
    assert!(s.windows(2).all(|w| w[0] >= w[1]), "{s:?}");
    // Practices are inferred from dentists sharing an address (three at 165 Miller St, Meriden).
    let meriden = items(&page)
        .iter()
        .find(|i| {
            i["kind"] == "practice"
                && i["primary_match"] == true
                && i["providers"].as_u64().unwrap_or(0) >= 2
        })
        .unwrap_or_else(|| panic!("a practice of several dentists: {page}"));
    let reasons: Vec<&str> = meriden["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons[1].ends_with("providers at this address"),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.starts_with("primary taxonomy: ")),
        "{reasons:?}"
    );
    assert_eq!(meriden["state"], "CT");
    // Where dental care is a secondary taxonomy, the reasons say so and it counts for less.
    let secondary = items(&page)
        .iter()
        .find(|i| i["primary_match"] == false)
        .unwrap_or_else(|| panic!("a practice where dentistry is secondary: {page}"));
    assert!(
        secondary["reasons"][2]
            .as_str()
            .unwrap()
            .contains("is a secondary taxonomy (main: "),
        "{secondary}"
    );
    assert_eq!(secondary["score_parts"]["centrality"], 10.0);

    // Paging: page 2 of 3 continues page 1 of 3.
    let p1 = scan(&app, &format!("org={org}&capability=dental&per_page=3")).await;
    let p2 = scan(
        &app,
        &format!("org={org}&capability=dental&per_page=3&page=2"),
    )
    .await;
    let first6 = scan(&app, &format!("org={org}&capability=dental&per_page=6")).await;
    let ids =
        |p: &Value| -> Vec<i64> { items(p).iter().map(|i| i["id"].as_i64().unwrap()).collect() };
    let mut joined = ids(&p1);
    joined.extend(ids(&p2));
    assert_eq!(joined, ids(&first6));
    assert_eq!(p2["page"], 2);
    assert_eq!(p2["per_page"], 3);
    assert_eq!(p2["total"], total);
    let past = scan(&app, &format!("org={org}&capability=dental&page=99")).await;
    assert!(items(&past).is_empty());
    assert_eq!(past["total"], total);

    // Sorts.
    let near = scan(
        &app,
        &format!("org={org}&capability=dental&sort=distance&per_page=100"),
    )
    .await;
    let d: Vec<f64> = items(&near)
        .iter()
        .map(|i| i["distance_miles"].as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    assert_eq!(near["sort"], "distance");
    let names = scan(
        &app,
        &format!("org={org}&capability=dental&sort=name&per_page=100"),
    )
    .await;
    let n: Vec<String> = items(&names)
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    assert!(n.windows(2).all(|w| w[0] <= w[1]), "{n:?}");
    let big = scan(
        &app,
        &format!("org={org}&capability=dental&sort=size&per_page=100"),
    )
    .await;
    let sz: Vec<u64> = items(&big)
        .iter()
        .map(|i| {
            i["providers"]
                .as_u64()
                .unwrap_or(0)
                .max(i["beds"].as_u64().unwrap_or(0))
        })
        .collect();
    assert!(sz.windows(2).all(|w| w[0] >= w[1]), "{sz:?}");

    // A narrower radius finds a subset; filters narrow further.
    let five = scan(
        &app,
        &format!("org={org}&capability=dental&radius_miles=5&per_page=100"),
    )
    .await;
    check_page(&five, 5.0);
    assert!(five["total"].as_u64().unwrap() < total);
    let practices = scan(
        &app,
        &format!("org={org}&capability=dental&kind=practice&min_providers=2&per_page=100"),
    )
    .await;
    assert!(practices["total"].as_u64().unwrap() >= 1);
    for it in items(&practices) {
        assert_eq!(it["kind"], "practice");
        assert!(it["providers"].as_u64().unwrap() >= 2);
    }
    assert_eq!(practices["filters"]["kind"], "practice");
    let ma = scan(&app, &format!("org={org}&capability=dental&state=ma")).await;
    for it in items(&ma) {
        assert_eq!(it["state"], "MA");
    }
    let named = scan(
        &app,
        &format!("org={org}&capability=dental&name=DENTISTRY%20practice&per_page=100"),
    )
    .await;
    assert!(named["total"].as_u64().unwrap() >= 5, "{named}");
    assert!(named["total"].as_u64().unwrap() < total, "{named}");
    for it in items(&named) {
        assert!(
            it["name"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("dentistry practice"),
            "{it}"
        );
    }

    // With a latitude and longitude, the organization's own location is the origin.
    let placed = org_at(
        &app,
        "Placed Clinic",
        "06106",
        json!({ "address": { "zip": "06106", "latitude": 41.7637, "longitude": -72.6851 } }),
    )
    .await;
    let at = scan(&app, &format!("org={placed}&capability=dental")).await;
    assert_eq!(at["origin_from"], "location");
    assert_eq!(at["origin"]["latitude"], 41.7637);
    check_page(&at, 25.0);
});

on_both!(podiatry_home_health_hospitals_and_types, |app| {
    load_samples(&app).await;
    // Podiatry near Providence.
    let pvd = org_at(&app, "Providence Vascular", "02903", json!({})).await;
    let page = scan(
        &app,
        &format!("org={pvd}&capability=podiatry&radius_miles=20&per_page=100"),
    )
    .await;
    check_page(&page, 20.0);
    assert!(
        items(&page).iter().any(|i| i["state"] == "RI"),
        "Rhode Island podiatrists: {page}"
    );

    // Home health around Boston: post-acute facilities from the CMS lists.
    let bos = org_at(&app, "Back Bay Health", "02115", json!({})).await;
    let hh = scan(
        &app,
        &format!("org={bos}&capability=home_health&radius_miles=15&kind=facility&per_page=100"),
    )
    .await;
    check_page(&hh, 15.0);
    assert!(hh["total"].as_u64().unwrap() >= 3, "{hh}");
    for it in items(&hh) {
        assert_eq!(it["kind"], "facility");
    }

    // Hospitals near Hartford: type, ownership and CMS star rating, filtered and sorted by stars.
    let hfd = org_at(&app, "Hartford Primary Care", "06106", json!({})).await;
    let hospitals = scan(
        &app,
        &format!("org={hfd}&capability=emergency&kind=hospital&radius_miles=30&per_page=100"),
    )
    .await;
    check_page(&hospitals, 30.0);
    let list = items(&hospitals);
    assert!(list.len() >= 3, "{hospitals}");
    for it in list {
        assert!(
            it["facility_type"].as_str().is_some_and(|t| !t.is_empty()),
            "{it}"
        );
        assert!(
            it["ownership"].as_str().is_some_and(|t| !t.is_empty()),
            "{it}"
        );
    }
    let rated = list
        .iter()
        .find(|i| i["star_rating"].is_u64())
        .expect("a rated hospital");
    let stars = rated["star_rating"].as_u64().unwrap();
    assert!(
        rated["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == &json!(format!("{stars}-star CMS rating"))),
        "{rated}"
    );
    let good = scan(&app, &format!("org={hfd}&capability=emergency&kind=hospital&radius_miles=30&min_stars=3&sort=stars&per_page=100")).await;
    let s: Vec<u64> = items(&good)
        .iter()
        .map(|i| i["star_rating"].as_u64().expect("rated"))
        .collect();
    assert!(s.iter().all(|n| *n >= 3), "{s:?}");
    assert!(s.windows(2).all(|w| w[0] >= w[1]), "{s:?}");

    // By partnership type: a primary-care group looks for horizontally adjacent partners.
    let pc = org_at(
        &app,
        "Type Scan Primary Care",
        "06106",
        json!({ "capabilities_offered": ["primary_care"] }),
    )
    .await;
    let adj = scan(
        &app,
        &format!("org={pc}&type=horizontally_adjacent&per_page=100"),
    )
    .await;
    assert_eq!(adj["partnership_type"], "horizontally_adjacent");
    let caps: Vec<&str> = adj["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(caps.contains(&"dental"), "{caps:?}");
    assert!(!caps.contains(&"primary_care"), "{caps:?}");
    check_page(&adj, 25.0);
    assert!(adj["total"].as_u64().unwrap() >= 1);
    // Without offered capabilities there is nothing adjacent to look for.
    app.expect_problem(
        &app.token,
        reqwest::Method::GET,
        &format!("/api/v1/market/candidates?org={hfd}&type=horizontally_adjacent"),
        None,
        422,
        "validation_failed",
        "type",
    )
    .await;

    // The imported sources, with their counts.
    let (status, sources) = app.get_json("/api/v1/market/sources").await;
    assert_eq!(status, 200, "{sources}");
    let names: Vec<&str> = sources
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    for s in ["hospitals", "nppes", "postacute", "taxonomy", "zip"] {
        assert!(names.contains(&s), "{names:?}");
    }
    for s in sources.as_array().unwrap() {
        assert!(s["rows_loaded"].as_i64().unwrap() > 0, "{s}");
    }
});

async fn exec(url: &str, sql: &str) {
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
        sqlx::query(sql).execute(&mut c).await.expect(sql);
        c.close().await.expect("close");
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
        sqlx::query(sql).execute(&mut c).await.expect(sql);
        c.close().await.expect("close");
    }
}

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

on_both_with_db!(only_the_active_import_is_read, |app, url| {
    load_samples(&app).await;
    let org = org_at(&app, "Hartford Primary Care", "06106", json!({})).await;
    let before = scan(&app, &format!("org={org}&capability=dental&per_page=100")).await;
    assert!(before["total"].as_u64().unwrap() > 0);
    // A candidate of another (inactive) nppes version, right in Hartford: as an import in progress
    // would have written it.
    let cell = concord_domain::market::geo::cell(
        concord_domain::market::geo::Point::new(41.76, -72.68).unwrap(),
    );
    exec(
        &url,
        "INSERT INTO market_candidates (id, source, version, kind, ref, name, address, city, state, zip, \
         latitude, longitude, providers, specialties, capabilities) VALUES \
         (987654321, 'nppes', 999999, 'practice', 'new-import', 'Next Import Dental', '1 Main St', \
         'Hartford', 'CT', '06103', 41.76, -72.68, 40, '[\"Dentist\"]', '[\"dental\"]')",
    )
    .await;
    exec(
        &url,
        &format!(
            "INSERT INTO market_candidate_cells (capability_code, cell, candidate_id, source, version, \
             latitude, longitude, kind, name, state, providers, is_primary) \
             VALUES ('dental', {cell}, 987654321, 'nppes', 999999, 41.76, -72.68, 'practice', \
             'Next Import Dental', 'CT', 40, 1)"
        ),
    )
    .await;
    let during = scan(&app, &format!("org={org}&capability=dental&per_page=100")).await;
    assert_eq!(during["total"], before["total"]);
    assert!(!items(&during).iter().any(|i| i["ref"] == "new-import"));
    // Once the new version is made active, the scan sees it and no longer the old NPPES rows.
    exec(
        &url,
        "UPDATE market_sources SET version = 999999 WHERE source = 'nppes'",
    )
    .await;
    let after = scan(&app, &format!("org={org}&capability=dental&per_page=100")).await;
    let list = items(&after);
    assert!(list.iter().any(|i| i["ref"] == "new-import"), "{after}");
    assert!(
        list.iter()
            .all(|i| i["source"] != "nppes" || i["ref"] == "new-import"),
        "{after}"
    );
    let top = &list[0];
    assert_eq!(
        top["ref"], "new-import",
        "40 providers a mile away rank first"
    );
    assert_eq!(top["reasons"][1], "40 providers at this address");
});

on_both!(bad_scans_are_named, |app| {
    let t = &app.token;
    let org = org_at(&app, "Hartford Primary Care", "06106", json!({})).await;
    let nowhere = app.org("Nowhere Clinic", "physician_group").await;
    let path = |q: &str| format!("/api/v1/market/candidates?{q}");
    for (q, field) in [
        (
            format!("org={org}&capability=dental&radius_miles=0"),
            "radius_miles",
        ),
        (
            format!("org={org}&capability=dental&radius_miles=251"),
            "radius_miles",
        ),
        (
            format!("org={org}&capability=dental&radius_miles=far"),
            "radius_miles",
        ),
        (
            format!("org={org}&capability=dental&radius_miles=NaN"),
            "radius_miles",
        ),
        (format!("org={org}&capability=astrology"), "capability"),
        (format!("org={org}&type=friendship"), "type"),
        (
            format!("org={org}&capability=dental&type=wholesale"),
            "type",
        ),
        (format!("org={org}"), "capability"),
        (format!("org={org}&capability=dental&page=0"), "page"),
        (format!("org={org}&capability=dental&page=x"), "page"),
        (
            format!("org={org}&capability=dental&per_page=101"),
            "per_page",
        ),
        (format!("org={org}&capability=dental&kind=castle"), "kind"),
        (format!("org={org}&capability=dental&state=ZZ"), "state"),
        (
            format!("org={org}&capability=dental&min_stars=9"),
            "min_stars",
        ),
        (
            format!("org={org}&capability=dental&min_providers=-3"),
            "min_providers",
        ),
        (format!("org={org}&capability=dental&sort=luck"), "sort"),
        ("org=abc&capability=dental".to_string(), "org"),
        ("capability=dental".to_string(), "org"),
        (format!("org={nowhere}&capability=dental"), "org"),
    ] {
        app.expect_problem(
            t,
            reqwest::Method::GET,
            &path(&q),
            None,
            422,
            "validation_failed",
            field,
        )
        .await;
    }
    // An unknown organization is not found; an unknown parameter is a bad request.
    app.expect_problem(
        t,
        reqwest::Method::GET,
        &path("org=999999&capability=dental"),
        None,
        404,
        "not_found",
        "",
    )
    .await;
    let (status, _) = app
        .get_json(&path(&format!("org={org}&capability=dental&colour=red")))
        .await;
    assert_eq!(status, 400);
    // Signed out: 401.
    let r = app
        .client
        .get(app.url(&path(&format!("org={org}&capability=dental"))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Nothing imported yet: a valid scan finds nothing, and the source list is empty.
    let placed = org_at(
        &app,
        "Placed Clinic",
        "06106",
        json!({ "address": { "zip": "06106", "latitude": 41.7637, "longitude": -72.6851 } }),
    )
    .await;
    let empty = scan(&app, &format!("org={placed}&capability=dental")).await;
    assert_eq!(empty["total"], 0);
    assert!(items(&empty).is_empty());
    let (status, sources) = app.get_json("/api/v1/market/sources").await;
    assert_eq!(status, 200);
    assert_eq!(sources, json!([]));
});
