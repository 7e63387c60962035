//! The fit scorecard pages, the competitor list and the ecosystem map, through a signed-in
//! browser session on SQLite and (when configured) PostgreSQL: start a scorecard from an
//! organization, judge it (refusals shown next to the input), promote it, set weights and gates,
//! mark competitors, and read the map with its filters.

mod common;

use common::TestApp;
use serde_json::json;

async fn setup(app: &TestApp) -> i64 {
    let (s, body) = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/organizations/{}", app.home),
            &json!({
                "name": "Home Health System", "kind": "health_system",
                "address": { "state": "CT", "zip": "06510", "latitude": 41.3083, "longitude": -72.9279 },
                "size": { "providers": 400 },
                "capabilities_sought": ["dental"]
            }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = app
        .post_json(
            "/api/v1/organizations",
            &json!({
                "name": "Bright Harbor Dental", "kind": "dental_group",
                "address": { "state": "CT", "zip": "06511", "latitude": 41.3163, "longitude": -72.9223 },
                "size": { "providers": 20 },
                "capabilities_offered": ["dental"]
            }),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    body["id"].as_i64().unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

on_both!(
    a_scorecard_is_started_judged_and_promoted_in_the_browser,
    |app| {
        let dental = setup(&app).await;
        let web = app.sign_in("admin@home.example").await;

        let r = web.get("/scorecards").await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains("Price is deliberately not a criterion"));
        assert!(html.contains("No scorecards yet"));
        assert!(html.contains("Bright Harbor Dental"), "the picker lists it");

        let r = web
            .get(&format!("/scorecards/new?organization_id={dental}"))
            .await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains("Evaluate Bright Harbor Dental"));
        assert!(html.contains("Start the scorecard"));

        let r = web
            .post_form("/scorecards", &[("organization_id", &dental.to_string())])
            .await;
        assert_eq!(r.status(), 303);
        let page = location(&r);
        let id: i64 = page.trim_start_matches("/scorecards/").parse().unwrap();
        let html = web.get(&page).await.text().await.unwrap();
        for text in [
            "Strategic alignment",
            "Culture and values alignment",
            "Complementarity",
            "Historical performance",
            "Geographic fit",
            "Balance of power",
            "Business-model transparency",
            "Price is deliberately not a criterion",
            "Offers 1 of the 1 capabilities you seek: dental.",
            "Home Health System is 20.0×",
            "How the total is made",
            "Promote to a partnership",
        ] {
            assert!(html.contains(text), "{text} on the scorecard page");
        }
        // Starting it again points at the existing one.
        let html = web
            .get(&format!("/scorecards/new?organization_id={dental}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains(&format!("href=\"/scorecards/{id}\"")));

        // A judgement out of range is refused next to its input, with what was typed kept.
        let r = web
            .post_form(
                &format!("/scorecards/{id}/judgements"),
                &[
                    ("action", "judge"),
                    ("j_strategic_alignment", "9"),
                    ("e_strategic_alignment", "TYPED-EVIDENCE"),
                ],
            )
            .await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("must be between 1 and 5"));
        assert!(html.contains("TYPED-EVIDENCE"));
        let r = web
            .post_form(
                &format!("/scorecards/{id}/judgements"),
                &[
                    ("action", "judge"),
                    ("j_strategic_alignment", "5"),
                    ("e_strategic_alignment", "Closes our dental gap"),
                    ("e_geographic_fit", "Across the street"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let html = web.get(&page).await.text().await.unwrap();
        assert!(html.contains("Closes our dental gap"));
        assert!(html.contains("Across the street"));
        assert!(html.contains("Your judgement: 5 of 5."));

        // Promotion needs a type; then it opens the partnership; twice is a conflict.
        let r = web
            .post_form(&format!("/scorecards/{id}/promote"), &[("type", "")])
            .await;
        assert_eq!(r.status(), 422);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("choose a partnership type"));
        let r = web
            .post_form(
                &format!("/scorecards/{id}/promote"),
                &[("type", "horizontally_adjacent"), ("name", "Smiles")],
            )
            .await;
        assert_eq!(r.status(), 303);
        let partnership = location(&r);
        assert!(partnership.starts_with("/partnerships/"), "{partnership}");
        let html = web.get(&partnership).await.text().await.unwrap();
        assert!(html.contains("Smiles"));
        let r = web
            .post_form(
                &format!("/scorecards/{id}/promote"),
                &[("type", "horizontally_adjacent")],
            )
            .await;
        assert_eq!(r.status(), 409);
        assert!(r.text().await.unwrap().contains("already promoted"));
        let html = web.get("/scorecards").await.text().await.unwrap();
        assert!(html.contains(&format!("href=\"{partnership}\">Promoted")));

        // A candidate the public data does not have is named.
        let r = web.get("/scorecards/new?source=nppes&ref=1234567893").await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("no candidate `1234567893`"), "{html}");
    }
);

on_both!(weights_and_gates_are_set_in_a_form, |app| {
    setup(&app).await;
    let web = app.sign_in("admin@home.example").await;
    let r = web.get("/scorecard-settings").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Price is deliberately not a criterion"));
    assert!(html.contains("name=\"w_geographic_fit\" value=\"1\""));
    let r = web
        .post_form(
            "/scorecard-settings",
            &[
                ("w_geographic_fit", "-2"),
                ("w_complementarity", "lots"),
                ("g_balance_of_power", "150"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("must be 0 or more"));
    assert!(html.contains("must be a finite number"));
    assert!(html.contains("must be between 0 and 100"));
    assert!(html.contains("value=\"lots\""), "typed values are kept");
    let r = web
        .post_form(
            "/scorecard-settings",
            &[
                ("w_geographic_fit", "2.5"),
                ("w_balance_of_power", "0"),
                ("g_strategic_alignment", "60"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/scorecard-settings?saved=1");
    let (_, settings) = app.get_json("/api/v1/scorecard-settings").await;
    assert_eq!(settings["weights"]["geographic_fit"], 2.5);
    assert_eq!(settings["weights"]["balance_of_power"], 0.0);
    assert_eq!(settings["gates"]["strategic_alignment"], 60.0);
    let html = web
        .get("/scorecard-settings?saved=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Saved."));
    assert!(html.contains("name=\"g_strategic_alignment\" value=\"60\""));
});

on_both!(competitors_and_the_map_in_the_browser, |app| {
    let dental = setup(&app).await;
    let rival = app.org("Rival Health", "health_system").await;
    let partner = app.org("Valley Podiatry", "specialty_practice").await;
    app.partnership("Feet first", app.home, partner).await;
    let (s, _) = app
        .post_json("/api/v1/scorecards", &json!({ "organization_id": dental }))
        .await;
    assert_eq!(s, 201);
    let web = app.sign_in("admin@home.example").await;

    let r = web
        .post_form(
            "/competitors",
            &[
                ("organization_id", &rival.to_string()),
                ("note", "Same catchment"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = web.get("/competitors").await.text().await.unwrap();
    assert!(html.contains("Rival Health"));
    assert!(html.contains("Same catchment"));
    let r = web
        .post_form("/competitors", &[("organization_id", &rival.to_string())])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("already on your competitor list"));
    let r = web
        .post_form(
            "/competitors",
            &[("organization_id", &app.home.to_string())],
        )
        .await;
    assert_eq!(r.status(), 422);

    let r = web.get("/ecosystem").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<svg class=\"eco-map\""));
    assert!(html.contains("</svg>"));
    assert_eq!(html.matches("<circle class=\"eco-").count(), 4, "{html}");
    for text in [
        "Valley Podiatry",
        "Bright Harbor Dental",
        "Rival Health",
        "Horizontally adjacent",
        "health: No data",
        "Legend",
    ] {
        assert!(html.contains(text), "{text} on the map page");
    }
    let html = web
        .get("/ecosystem?kind=competitor")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("<circle class=\"eco-").count(), 2);
    assert!(!html.contains(">Valley Podiatry<"));
    let html = web
        .get("/ecosystem?type=wholesale")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains(">Valley Podiatry<"));
    assert!(html.contains(">Rival Health<"));
    let r = web.get("/ecosystem?kind=planet").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("not a node kind"));

    // Off the list.
    let (_, list) = app.get_json("/api/v1/competitors").await;
    let cid = list[0]["id"].as_i64().unwrap();
    let r = web
        .post_form(&format!("/competitors/{cid}/remove"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let html = web.get("/competitors").await.text().await.unwrap();
    assert!(html.contains("No competitors marked"));
    // The organization page links to a scorecard.
    let html = web
        .get(&format!("/organizations/{dental}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("/scorecards/new?organization_id={dental}")));
});
