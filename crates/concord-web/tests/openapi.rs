//! The OpenAPI document is pinned: a contract change shows up in review as a change to
//! tests/snapshots/openapi.json. Run with UPDATE_SNAPSHOTS=1 to accept a deliberate change.

#[test]
fn openapi_document_matches_snapshot() {
    let doc = concord_web::openapi::document_json();
    let value: serde_json::Value = serde_json::from_str(doc).expect("valid JSON");
    assert_eq!(
        value["openapi"].as_str().map(|v| v.starts_with("3.1")),
        Some(true)
    );
    for path in [
        "/api/v1/organizations",
        "/api/v1/organizations/{id}",
        "/api/v1/partnerships",
        "/api/v1/partnerships/{id}",
        "/api/v1/partnerships/{id}/transitions",
        "/api/v1/partnerships/{id}/archive",
        "/api/v1/capabilities",
    ] {
        assert!(value["paths"].get(path).is_some(), "{path} documented");
    }
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("{doc}\n")).unwrap();
        return;
    }
    let pinned = std::fs::read_to_string(&file)
        .expect("tests/snapshots/openapi.json exists (run with UPDATE_SNAPSHOTS=1 to create it)");
    assert!(
        pinned.trim_end() == doc.trim_end(),
        "the OpenAPI document changed; review the diff and run with UPDATE_SNAPSHOTS=1 to accept it"
    );
}
