//! The market scan page over the real sample data: the form, the ranked table with reasons and
//! "evaluate" links, sortable columns, pagination, the SVG plot, and bad input shown next to its
//! input; linked from the navigation and the organization page.

mod common;

use common::TestApp;
use serde_json::json;

async fn text(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

/// Every `href="…"` in `html` that starts with `prefix`, HTML entities for `&` undone.
fn links(html: &str, prefix: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.starts_with(prefix))
        .map(|h| h.replace("&amp;", "&").replace("&#38;", "&"))
        .collect()
}

on_both!(scan_page_ranks_plots_sorts_and_pages, |app| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/market");
    concord_storage::market_import::import_shipped_samples(&app.store, &dir)
        .await
        .expect("samples");
    let (status, org) = app
        .post_json(
            "/api/v1/organizations",
            &json!({ "name": "Hartford Primary Care", "kind": "physician_group",
                     "address": { "city": "Hartford", "state": "CT", "zip": "06106" } }),
        )
        .await;
    assert_eq!(status, 201, "{org}");
    let id = org["id"].as_i64().unwrap();
    let web = app.sign_in("admin@home.example").await;

    // Linked from the navigation and from the organization's page.
    let (_, home) = text(web.get("/").await).await;
    assert!(home.contains("href=\"/market\""));
    let (_, org_page) = text(web.get(&format!("/organizations/{id}")).await).await;
    assert!(
        org_page.contains(&format!("href=\"/market?org={id}\"")),
        "{org_page}"
    );

    // The bare form, around the acting organization.
    let (status, form) = text(web.get(&format!("/market?org={id}")).await).await;
    assert_eq!(status, 200);
    assert!(form.contains("id=\"capability\""));
    assert!(form.contains("value=\"dental\""));
    assert!(form.contains("value=\"horizontally_adjacent\""));
    assert!(!form.contains("<svg class=\"chart\""));

    // A scan: summary, plot, table, reasons, evaluate links.
    let (status, page) = text(
        web.get(&format!(
            "/market?org={id}&capability=dental&radius_miles=25&per_page=5"
        ))
        .await,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(
            "16 candidates offering Dental care within 25 miles of Hartford Primary Care"
        ),
        "{page}"
    );
    assert!(
        page.contains("Measured from the centroid of the organization"),
        "{page}"
    );
    assert!(page.contains("<svg class=\"chart\""));
    assert_eq!(
        page.matches("class=\"plot-ring\"").count(),
        3,
        "rings at 10, 20 and 25 miles"
    );
    assert!(page.contains(">25 mi<"));
    assert!(page.contains("°W<") && page.contains("°N<"));
    // Every candidate is plotted; those on this page link to their row.
    assert_eq!(page.matches(" mi, score ").count(), 16);
    assert_eq!(links(&page, "#c").len(), 5);
    assert_eq!(page.matches("<tr id=\"c").count(), 5);
    assert!(page.contains("miles away"));
    assert!(page.contains("primary taxonomy: General Practice Dentistry"));
    let evaluate = links(&page, "/scorecards/new?");
    assert_eq!(evaluate.len(), 5);
    assert!(
        evaluate
            .iter()
            .all(|l| l.starts_with("/scorecards/new?source=nppes&ref=")),
        "{evaluate:?}"
    );
    assert!(page.contains("How candidates are ranked"));

    // Pagination keeps the scan.
    let next = links(&page, "/market?")
        .into_iter()
        .find(|l| l.contains("page=2"))
        .expect("a next-page link");
    assert!(
        next.contains("capability=dental") && next.contains("per_page=5"),
        "{next}"
    );
    let (status, p2) = text(web.get(&next).await).await;
    assert_eq!(status, 200);
    assert!(p2.contains("Page 2 of 4"), "{p2}");
    assert!(
        p2.contains("<td class=\"num\">6</td>"),
        "ranks continue on page 2"
    );

    // Sortable columns: the distance header sorts nearest first, then flips.
    let by_distance = links(&page, "/market?")
        .into_iter()
        .find(|l| l.contains("sort=distance"))
        .expect("a distance sort link");
    let (_, near) = text(web.get(&by_distance).await).await;
    assert!(near.contains("aria-sort=\"ascending\""), "{near}");
    assert!(links(&near, "/market?")
        .iter()
        .any(|l| l.contains("sort=-distance")));

    // Filters narrow the table.
    let (_, practices) = text(
        web.get(&format!(
            "/market?org={id}&capability=dental&kind=practice&min_providers=2"
        ))
        .await,
    )
    .await;
    assert!(
        practices.contains("candidates offering Dental care")
            || practices.contains("candidate offering Dental care")
    );
    assert!(!practices.contains("16 candidates"));

    // By partnership type, from what the organization offers: nothing to suggest yet.
    let (status, none) = text(
        web.get(&format!("/market?org={id}&type=horizontally_adjacent"))
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(none.contains("id=\"e-type\""), "{none}");

    // Bad input is shown next to its input, with the values kept.
    let (status, bad) = text(
        web.get(&format!(
            "/market?org={id}&capability=dental&radius_miles=900&state=ZZ"
        ))
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(bad.contains("id=\"e-radius_miles\""), "{bad}");
    assert!(bad.contains("must be between 1 and 250 miles"));
    assert!(bad.contains("id=\"e-state\""));
    assert!(bad.contains("value=\"900\""));
    assert!(!bad.contains("<svg class=\"chart\""));

    // An organization with no location and no ZIP cannot be scanned around.
    let nowhere = app.org("Nowhere Clinic", "physician_group").await;
    let (status, nw) = text(
        web.get(&format!("/market?org={nowhere}&capability=dental"))
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(nw.contains("id=\"e-org\""));
    assert!(nw.contains("has no latitude and longitude"));

    // An unknown organization is a not-found page.
    let (status, _) = text(web.get("/market?org=999999&capability=dental").await).await;
    assert_eq!(status, 404);
});
