//! Adjacency suggestions over the JSON API and the page, on SQLite and (when configured)
//! PostgreSQL.

mod common;

use common::TestApp;
use serde_json::{json, Value};

async fn org_offering(app: &TestApp, name: &str, offered: &[&str]) -> i64 {
    let (s, o) = app
        .post_json(
            "/api/v1/organizations",
            &json!({ "name": name, "kind": "physician_group", "capabilities_offered": offered }),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    o["id"].as_i64().unwrap()
}

on_both!(suggestions_follow_what_the_organization_offers, |app| {
    let id = org_offering(&app, "Shoreline Primary Care", &["primary_care", "lab"]).await;
    let (s, v) = app
        .get_json(&format!("/api/v1/market/adjacency?org={id}"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["organization_id"], id);
    assert_eq!(v["capabilities_offered"], json!(["primary_care", "lab"]));
    let list = v["suggestions"].as_array().unwrap();
    let find = |cap: &str, rel: &str| -> Option<&Value> {
        list.iter()
            .find(|x| x["capability"] == cap && x["relation"] == rel)
    };
    let dental = find("dental", "horizontally_adjacent").expect("dental");
    assert_eq!(dental["partnership_type"], "horizontally_adjacent");
    assert_eq!(dental["from"], "primary_care");
    assert_eq!(dental["capability_name"], "Dental care");
    assert!(!dental["rationale"].as_str().unwrap().is_empty());
    assert_eq!(
        find("cardiology", "vertically_adjacent").unwrap()["partnership_type"],
        "vertically_adjacent"
    );
    assert_eq!(
        find("revenue_cycle", "infrastructure").unwrap()["partnership_type"],
        "service_provider"
    );
    assert!(find("imaging", "ancillary").is_some());
    // Never what it already offers; ordered by relation, then capability.
    assert!(list
        .iter()
        .all(|x| x["capability"] != "lab" && x["capability"] != "primary_care"));
    let order = [
        "horizontally_adjacent",
        "vertically_adjacent",
        "ancillary",
        "infrastructure",
    ];
    let keys: Vec<(usize, String)> = list
        .iter()
        .map(|x| {
            (
                order.iter().position(|r| *r == x["relation"]).unwrap(),
                x["capability"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted);

    // Nothing offered: nothing suggested.
    let none = app.org("Blank Slate", "other").await;
    let (s, v) = app
        .get_json(&format!("/api/v1/market/adjacency?org={none}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["suggestions"], json!([]));
});

on_both!(bad_queries_are_named, |app| {
    let (s, p) = app.get_json("/api/v1/market/adjacency?org=999999").await;
    assert_eq!(s, 404, "{p}");
    let (s, p) = app.get_json("/api/v1/market/adjacency").await;
    assert_eq!(s, 400, "{p}");
    assert_eq!(p["field"], "org");
    let (s, p) = app.get_json("/api/v1/market/adjacency?org=abc").await;
    assert_eq!(s, 400, "{p}");
    assert_eq!(p["field"], "org");
    let (s, p) = app
        .get_json(&format!("/api/v1/market/adjacency?org={}&x=1", app.home))
        .await;
    assert_eq!(s, 400, "{p}");
    let r = app
        .client
        .get(app.url(&format!("/api/v1/market/adjacency?org={}", app.home)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
});

on_both!(
    the_page_groups_by_relation_and_links_to_the_market_scan,
    |app| {
        let id = org_offering(&app, "Foot and Ankle Partners", &["podiatry"]).await;
        let web = app.sign_in("admin@home.example").await;
        let html = web
            .get(&format!("/organizations/{id}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains(&format!("href=\"/market/adjacency?org={id}\"")));
        let r = web.get(&format!("/market/adjacency?org={id}")).await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains("Adjacent capabilities for Foot and Ankle Partners"));
        assert!(html.contains("id=\"relation-horizontally_adjacent\""));
        assert!(html.contains(&format!(
            "href=\"/market?org={id}&amp;capability=vascular\""
        )));
        let h = html.find("relation-horizontally_adjacent").unwrap();
        let a = html.find("relation-ancillary").unwrap();
        assert!(h < a, "horizontal comes before ancillary");
        // The acting organization by default; an unknown one is a page, not a crash.
        let r = web.get("/market/adjacency").await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("id=\"adjacency-none\""));
        assert_eq!(web.get("/market/adjacency?org=nope").await.status(), 404);
        assert_eq!(web.get("/market/adjacency?org=424242").await.status(), 404);
    }
);
