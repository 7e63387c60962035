//! The `concord` binary end to end: help, configuration errors, CSV import and export.

use std::process::Command;

fn concord(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_concord"));
    c.current_dir(dir)
        .env_remove("CONCORD_DATABASE_URL")
        .env_remove("CONCORD_BIND")
        .env_remove("CONCORD_CONFIG");
    c
}

fn run(c: &mut Command) -> (bool, String, String) {
    let out = c.output().expect("run concord");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_documents_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = run(concord(dir.path()).arg("--help"));
    assert!(ok);
    for cmd in [
        "serve",
        "migrate",
        "demo",
        "import",
        "export",
        "--database-url",
        "CONCORD_DATABASE_URL",
    ] {
        assert!(out.contains(cmd), "--help mentions {cmd}");
    }
    let (ok, out, _) = run(concord(dir.path()).args(["serve", "--help"]));
    assert!(ok);
    assert!(out.contains("--bind") && out.contains("CONCORD_BIND"));
}

#[test]
fn an_unknown_database_scheme_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) =
        run(concord(dir.path()).args(["migrate", "--database-url", "sqlit://typo.db"]));
    assert!(!ok);
    assert!(
        err.contains("database_url") && err.contains("sqlit"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let (ok, _, err) = run(concord(dir.path())
        .env("CONCORD_BIND", "nowhere")
        .arg("serve"));
    assert!(!ok);
    assert!(err.contains("bind"), "{err}");
}

#[test]
fn a_config_file_is_read_and_the_environment_beats_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("concord.toml"),
        "database_url = \"sqlite://from-file.db\"\n",
    )
    .unwrap();
    let (ok, _, err) = run(concord(dir.path()).arg("migrate"));
    assert!(ok, "{err}");
    assert!(dir.path().join("from-file.db").exists());
    let (ok, _, err) = run(concord(dir.path())
        .env("CONCORD_DATABASE_URL", "sqlite://from-env.db")
        .arg("migrate"));
    assert!(ok, "{err}");
    assert!(dir.path().join("from-env.db").exists());
    std::fs::write(dir.path().join("concord.toml"), "databse_url = \"x\"\n").unwrap();
    let (ok, _, err) = run(concord(dir.path()).arg("migrate"));
    assert!(!ok);
    assert!(err.contains("databse_url"), "{err}");
}

#[test]
fn csv_import_is_all_or_nothing_and_export_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let db = "sqlite://orgs.db";
    let bad = "name,kind,npi,zip,capabilities_offered\n\
               Shoreline Primary Care,physician_group,1234567893,06510,primary_care\n\
               Bright Harbor Dental,dental_grp,,02903,dental\n\
               Kettle Pond Vascular,specialty_practice,1234567890,06106,vascular\n";
    std::fs::write(dir.path().join("bad.csv"), bad).unwrap();
    let (ok, _, err) = run(concord(dir.path()).args([
        "import",
        "organizations",
        "--csv",
        "bad.csv",
        "--database-url",
        db,
    ]));
    assert!(!ok);
    assert!(err.contains("line 3, column kind"), "{err}");
    assert!(err.contains("line 4, column npi"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    let (ok, out, _) =
        run(concord(dir.path()).args(["export", "organizations", "--database-url", db]));
    assert!(ok);
    assert_eq!(
        out.lines().count(),
        1,
        "only the header: nothing was imported"
    );

    let good = bad
        .replace("dental_grp", "dental_group")
        .replace("1234567890", "");
    std::fs::write(dir.path().join("good.csv"), &good).unwrap();
    let (ok, out, err) = run(concord(dir.path()).args([
        "import",
        "organizations",
        "--csv",
        "good.csv",
        "--database-url",
        db,
    ]));
    assert!(ok, "{err}");
    assert!(out.contains("Imported 3 organizations"));

    // Importing the same file again: every name is a duplicate, named by line.
    let (ok, _, err) = run(concord(dir.path()).args([
        "import",
        "organizations",
        "--csv",
        "good.csv",
        "--database-url",
        db,
    ]));
    assert!(!ok);
    assert!(err.contains("line 2, column name"), "{err}");

    let (ok, _, err) = run(concord(dir.path()).args([
        "export",
        "organizations",
        "--csv",
        "out.csv",
        "--database-url",
        db,
    ]));
    assert!(ok, "{err}");
    let exported = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(exported.lines().count(), 4);
    let (ok, _, err) = run(concord(dir.path()).args([
        "import",
        "organizations",
        "--csv",
        "out.csv",
        "--database-url",
        "sqlite://copy.db",
    ]));
    assert!(ok, "{err}");
    let (_, copy, _) = run(concord(dir.path()).args([
        "export",
        "organizations",
        "--database-url",
        "sqlite://copy.db",
    ]));
    assert_eq!(copy, exported, "export → import → export is lossless");
}
