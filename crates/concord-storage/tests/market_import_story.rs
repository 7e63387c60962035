//! The market import story, on SQLite always and on PostgreSQL when CONCORD_TEST_POSTGRES_URL is
//! set: the shipped samples load; bad NPPES rows are reported by line and column while the good
//! ones load; too many bad rows change nothing; a reader during a re-import sees the old data or
//! the new, never a mix; a single post-acute list keeps the other lists.

use std::path::{Path, PathBuf};

use concord_storage::market_import::{
    import_shipped_samples, ImportOptions, MarketSource, PostacuteList,
};
use concord_storage::{Store, StoreError};

mod common;
use common::operator;

/// Like `on_both!`, but the body also gets the database URL, to look behind the store's back.
macro_rules! on_both_db {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let url = concord_storage::testing::fresh_sqlite_url();
                ($body)(connect(&url).await, url).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(url) =
                    concord_storage::testing::fresh_postgres_url(stringify!($name)).await
                {
                    ($body)(connect(&url).await, url).await;
                }
            }
        }
    };
}

async fn connect(url: &str) -> Store {
    let store = Store::connect(url, &concord_storage::ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/market")
}

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "concord-market-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn uuid_like() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
}

async fn import(
    store: &Store,
    source: MarketSource,
    path: &Path,
) -> Result<concord_storage::market_import::ImportReport, StoreError> {
    store
        .import_market_file(&operator(), source, path, &ImportOptions::default())
        .await
}

async fn references(store: &Store) {
    let dir = shipped();
    import(
        store,
        MarketSource::Zip,
        &dir.join("zcta_centroids_2023_gazetteer.csv"),
    )
    .await
    .unwrap();
    import(
        store,
        MarketSource::Taxonomy,
        &dir.join("nucc_taxonomy_251.csv"),
    )
    .await
    .unwrap();
}

/// How many candidates of `kind` the active version of `source` holds (what a scan would read).
async fn active_candidates(url: &str, source: &str) -> i64 {
    count(
        url,
        &format!(
            "SELECT COUNT(*) FROM market_candidates c JOIN market_sources s ON s.source = c.source \
             AND s.version = c.version WHERE c.source = '{source}'"
        ),
    )
    .await
}

async fn count(url: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    }
}

on_both_db!(
    shipped_samples_load_and_are_audited,
    |store: Store, url: String| async move {
        let reports = import_shipped_samples(&store, &shipped()).await.unwrap();
        let by = |s: MarketSource| reports.iter().find(|r| r.source == s).unwrap().clone();
        assert_eq!(by(MarketSource::Zip).rows_loaded, 33_791);
        assert_eq!(by(MarketSource::Taxonomy).rows_loaded, 883);
        let nppes = by(MarketSource::Nppes);
        assert_eq!(nppes.rows_read, 2_040);
        // Rows whose practice ZIP has no ZCTA centroid (PO-box and single-site ZIPs) are rejected.
        assert_eq!(nppes.rows_loaded, 1_847, "{nppes:?}");
        assert_eq!(nppes.rows_rejected, 193, "{nppes:?}");
        assert!(nppes.candidates > 500, "{nppes:?}");
        // The 30 deactivated NPIs of the sample were all reactivated four days later.
        assert_eq!(nppes.detail["deactivated"], 0, "{nppes:?}");
        // 06030 (UConn Health) is a ZIP without a ZCTA centroid: those rows are reported, not lost.
        assert!(nppes
            .errors
            .iter()
            .any(|e| e.message.contains("ZIP 06030 has no centroid")));
        assert!(by(MarketSource::Hospitals).candidates > 5_000);
        let post = by(MarketSource::Postacute);
        assert!(post.rows_loaded > 46_000, "{post:?}");
        assert_eq!(post.detail["lists"].as_object().unwrap().len(), 8);

        let status = store.market_sources().await.unwrap();
        assert_eq!(status.len(), 5);
        assert!(status.iter().all(|s| s.rows_loaded > 0));

        // Dentists in southern New England.
        let dental = count(
        &url,
        "SELECT COUNT(*) FROM market_candidate_cells x JOIN market_sources s ON s.source = x.source \
         AND s.version = x.version WHERE x.capability_code = 'dental'",
    )
    .await;
        assert!(dental > 20, "{dental}");
        // The radius index is covering: each row copies its candidate's columns.
        let differ = count(
            &url,
            "SELECT COUNT(*) FROM market_candidate_cells x JOIN market_candidates c ON c.id = x.candidate_id \
             WHERE x.latitude <> c.latitude OR x.longitude <> c.longitude OR x.kind <> c.kind \
             OR x.name <> c.name OR x.state <> c.state OR x.source <> c.source OR x.version <> c.version \
             OR COALESCE(x.providers, -1) <> COALESCE(c.providers, -1) \
             OR COALESCE(x.beds, -1) <> COALESCE(c.beds, -1) \
             OR COALESCE(x.star_rating, -1) <> COALESCE(c.star_rating, -1)",
        )
        .await;
        assert_eq!(differ, 0);
        // At most one main capability per candidate, and it is the first of its capabilities.
        let twice = count(
            &url,
            "SELECT COUNT(*) FROM (SELECT candidate_id FROM market_candidate_cells WHERE is_primary = 1 \
             GROUP BY candidate_id HAVING COUNT(*) > 1) t",
        )
        .await;
        assert_eq!(twice, 0);
        let not_first = count(
            &url,
            "SELECT COUNT(*) FROM market_candidate_cells x JOIN market_candidates c ON c.id = x.candidate_id \
             WHERE x.is_primary = 1 AND c.capabilities NOT LIKE '[\"' || x.capability_code || '\"%'",
        )
        .await;
        assert_eq!(not_first, 0);
        // An organization's main capability is that of its primary taxonomy (the first listed).
        let org_primary = |agree: bool| {
            format!(
                "SELECT COUNT(*) FROM market_candidates c \
                 JOIN market_sources s ON s.source = c.source AND s.version = c.version \
                 JOIN market_providers p ON p.version = c.version AND p.npi = c.ref \
                 JOIN market_sources st ON st.source = 'taxonomy' \
                 JOIN market_taxonomy t ON t.version = st.version AND t.code = substr(p.taxonomies, 1, 10) \
                 WHERE c.kind = 'organization' AND t.capability_code IS NOT NULL AND {} EXISTS \
                 (SELECT 1 FROM market_candidate_cells x WHERE x.candidate_id = c.id \
                  AND x.capability_code = t.capability_code AND x.is_primary = 1)",
                if agree { "" } else { "NOT" }
            )
        };
        assert!(count(&url, &org_primary(true)).await > 0);
        assert_eq!(count(&url, &org_primary(false)).await, 0);
        // Practices whose main capability is not dental but that also offer it exist in the sample
        // (dentistry as a secondary taxonomy), and practices whose main one is dental.
        for primary in [0, 1] {
            let n = count(
                &url,
                &format!(
                    "SELECT COUNT(*) FROM market_candidate_cells x JOIN market_sources s ON s.source = x.source \
                     AND s.version = x.version WHERE x.capability_code = 'dental' AND x.kind = 'practice' \
                     AND x.is_primary = {primary}"
                ),
            )
            .await;
            assert!(n > 0, "dental practices with is_primary = {primary}");
        }
        let big = count(
            &url,
            "SELECT COUNT(*) FROM market_candidates WHERE kind = 'practice' AND providers >= 30",
        )
        .await;
        assert!(big >= 1, "{big}");
        // One audit row per import.
        let audits = store.audit_for("market_source", "nppes", 10).await.unwrap();
        assert_eq!(audits.len(), 1);
        assert_eq!(audits[0].action, "import");
        assert_eq!(audits[0].actor, "market-samples");
    }
);

/// The header and a good row of the shipped organization sample, as latin-1 bytes split into
/// fields (no field there holds a comma inside quotes that we change).
fn sample() -> (Vec<String>, Vec<Vec<String>>) {
    let bytes =
        std::fs::read(shipped().join("nppes/plannet_sample_nppes_organizations_2018.csv")).unwrap();
    let mut rdr = csv::ReaderBuilder::new().from_reader(&bytes[..]);
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let rows = rdr
        .byte_records()
        .map(|r| {
            r.unwrap()
                .iter()
                .map(|f| f.iter().map(|&b| char::from(b)).collect())
                .collect()
        })
        .collect();
    (header, rows)
}

fn csv_line(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(",")
}

on_both_db!(
    bad_rows_are_reported_by_line_and_the_good_ones_load,
    |store: Store, url: String| async move {
        references(&store).await;
        let (header, rows) = sample();
        let col = |n: &str| header.iter().position(|h| h == n).unwrap();
        let mut lines = vec![csv_line(&header)];
        // line 2, 3: good
        lines.push(csv_line(&rows[0]));
        lines.push(csv_line(&rows[1]));
        // line 4: invalid NPI check digit
        let mut r = rows[2].clone();
        r[0] = "1234567890".into();
        lines.push(csv_line(&r));
        // line 5: unknown entity type
        let mut r = rows[3].clone();
        r[col("Entity Type Code")] = "3".into();
        lines.push(csv_line(&r));
        // line 6: taxonomy code not in the code set
        let mut r = rows[4].clone();
        r[col("Healthcare Provider Taxonomy Code_1")] = "999X00000X".into();
        lines.push(csv_line(&r));
        // line 7: a ZIP without a centroid
        let mut r = rows[5].clone();
        r[col("Provider Business Practice Location Address Postal Code")] = "00000".into();
        lines.push(csv_line(&r));
        // line 8: too few fields
        lines.push(csv_line(&rows[6][..100]));
        // line 9: good, with a latin-1 byte in the name
        let mut r = rows[7].clone();
        r[col("Provider Organization Name (Legal Business Name)")] = "CLÍNICA DEL PUEBLO".into();
        lines.push(csv_line(&r));
        // line 10: deactivated (kept, not a candidate); line 11: deactivated and blanked by CMS
        let mut r = rows[9].clone();
        r[col("NPI Deactivation Date")] = "01/15/2020".into();
        lines.push(csv_line(&r));
        let mut r: Vec<String> = vec![String::new(); header.len()];
        r[0] = rows[10][0].clone();
        r[col("NPI Deactivation Date")] = "02/01/2019".into();
        lines.push(csv_line(&r));
        // line 12: truncated last row (cut inside a quoted field)
        let last = csv_line(&rows[8]);
        let text = format!("{}\n{}", lines.join("\n"), &last[..last.len() / 2]);
        // As latin-1 bytes.
        let bytes: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
        let path = tmp("npidata_bad.csv", &bytes);

        let report = import(&store, MarketSource::Nppes, &path).await.unwrap();
        assert_eq!(report.rows_read, 11, "{report:#?}");
        assert_eq!(report.rows_loaded, 5, "{report:#?}");
        assert_eq!(report.rows_rejected, 6, "{report:#?}");
        let at = |line: u64| {
            report
                .errors
                .iter()
                .find(|e| e.line == line)
                .unwrap_or_else(|| panic!("no error at line {line}: {:#?}", report.errors))
        };
        assert_eq!(at(4).column, "NPI");
        assert!(at(4).message.contains("check digit"), "{:?}", at(4));
        assert_eq!(at(5).column, "Entity Type Code");
        assert_eq!(at(6).column, "Healthcare Provider Taxonomy Code_1");
        assert!(at(6).message.contains("999X00000X"));
        assert_eq!(
            at(7).column,
            "Provider Business Practice Location Address Postal Code"
        );
        assert!(at(7).message.contains("centroid"));
        assert!(
            at(8).message.contains("expected 329 fields, found 100"),
            "{:?}",
            at(8)
        );
        assert!(at(12).message.contains("fields"), "{:?}", at(12));
        let kept = count(
            &url,
            "SELECT COUNT(*) FROM market_providers WHERE deactivated_on IS NOT NULL",
        )
        .await;
        assert_eq!(kept, 2);
        let leaked = count(
            &url,
            "SELECT COUNT(*) FROM market_candidates c JOIN market_providers p ON p.npi = c.ref \
         WHERE p.deactivated_on IS NOT NULL",
        )
        .await;
        assert_eq!(leaked, 0);
        assert_eq!(report.candidates, 3, "the three active organizations");
        let name = count(
            &url,
            "SELECT COUNT(*) FROM market_providers WHERE name = 'CLÍNICA DEL PUEBLO'",
        )
        .await;
        assert_eq!(name, 1, "latin-1 decoded");

        // Strict UTF-8: the latin-1 byte is a bad row naming its column.
        let strict = store
            .import_market_file(
                &operator(),
                MarketSource::Nppes,
                &path,
                &ImportOptions {
                    encoding: "utf-8".parse().unwrap(),
                    ..ImportOptions::default()
                },
            )
            .await
            .unwrap();
        let e = strict.errors.iter().find(|e| e.line == 9).unwrap();
        assert_eq!(e.column, "Provider Organization Name (Legal Business Name)");
        assert_eq!(strict.rows_loaded, 4);
    }
);

on_both_db!(
    too_many_bad_rows_change_nothing,
    |store: Store, url: String| async move {
        references(&store).await;
        let dir = shipped().join("nppes");
        let first = import(&store, MarketSource::Nppes, &dir).await.unwrap();
        let before = active_candidates(&url, "nppes").await;
        assert_eq!(before as u64, first.candidates);
        // The practitioners file as strict UTF-8 with a limit of 0: the latin-1 rows are bad.
        let (header, rows) = sample();
        let mut text = csv_line(&header);
        for r in rows.iter().take(5) {
            let mut r = r.clone();
            r[0] = "0000000000".into();
            text.push('\n');
            text.push_str(&csv_line(&r));
        }
        let path = tmp("npidata_all_bad.csv", text.as_bytes());
        let err = store
            .import_market_file(
                &operator(),
                MarketSource::Nppes,
                &path,
                &ImportOptions {
                    max_bad_rows: 2,
                    ..ImportOptions::default()
                },
            )
            .await
            .unwrap_err();
        match err {
            StoreError::Refused { code, message, .. } => {
                assert_eq!(code, "too_many_bad_rows");
                assert!(message.contains("line 2, column NPI"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(active_candidates(&url, "nppes").await, before);
        let status = store.market_sources().await.unwrap();
        let n = status.iter().find(|s| s.source == "nppes").unwrap();
        assert_eq!(n.version, first.version);
        // Nothing of the refused version is left behind.
        let stray = count(
            &url,
            &format!(
                "SELECT COUNT(*) FROM market_providers WHERE version <> {}",
                first.version
            ),
        )
        .await;
        assert_eq!(stray, 0);
    }
);

on_both_db!(
    a_reader_during_a_reimport_sees_old_or_new,
    |store: Store, url: String| async move {
        references(&store).await;
        let orgs = shipped().join("nppes/plannet_sample_nppes_organizations_2018.csv");
        let all = shipped().join("nppes");
        let old = import(&store, MarketSource::Nppes, &orgs).await.unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (url, stop) = (url.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = std::collections::BTreeSet::new();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    seen.insert(
                        count(
                            &url,
                            "SELECT COUNT(*) FROM market_candidates c JOIN market_sources s ON \
                         s.source = c.source AND s.version = c.version WHERE c.source = 'nppes'",
                        )
                        .await,
                    );
                }
                seen
            })
        };
        let new = import(&store, MarketSource::Nppes, &all).await.unwrap();
        let back = import(&store, MarketSource::Nppes, &orgs).await.unwrap();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let seen = reader.await.unwrap();
        let allowed = [old.candidates as i64, new.candidates as i64];
        assert!(
            seen.iter().all(|n| allowed.contains(n)),
            "a reader saw {seen:?}, allowed {allowed:?}"
        );
        assert_eq!(back.candidates, old.candidates);
        // Old versions are gone.
        let versions = count(&url, "SELECT COUNT(DISTINCT version) FROM market_providers").await;
        assert_eq!(versions, 1);
    }
);

on_both_db!(
    one_postacute_list_keeps_the_others,
    |store: Store, url: String| async move {
        references(&store).await;
        let dir = shipped().join("postacute");
        let all = import(&store, MarketSource::Postacute, &dir).await.unwrap();
        let before = active_candidates(&url, "postacute").await;
        assert_eq!(before as u64, all.candidates);
        // Re-import hospices alone from a copy named nothing like a list.
        let copy = tmp(
            "some_list.csv",
            &std::fs::read(dir.join("hospice.csv")).unwrap(),
        );
        let unnamed = import(&store, MarketSource::Postacute, &copy).await;
        assert!(
            matches!(
                unnamed,
                Err(StoreError::Refused {
                    code: "unknown_list",
                    ..
                })
            ),
            "{unnamed:?}"
        );
        let one = store
            .import_market_file(
                &operator(),
                MarketSource::Postacute,
                &copy,
                &ImportOptions {
                    list: Some(PostacuteList::Hospice),
                    ..ImportOptions::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(one.candidates, all.candidates);
        assert_eq!(active_candidates(&url, "postacute").await, before);
        let hospice_cells = count(
        &url,
        "SELECT COUNT(*) FROM market_candidate_cells x JOIN market_sources s ON s.source = x.source \
         AND s.version = x.version WHERE x.capability_code = 'hospice'",
    )
    .await;
        assert!(hospice_cells > 4_000, "{hospice_cells}");
        let snf_cells = count(
        &url,
        "SELECT COUNT(*) FROM market_candidate_cells x JOIN market_sources s ON s.source = x.source \
         AND s.version = x.version WHERE x.capability_code = 'skilled_nursing'",
    )
    .await;
        assert!(snf_cells > 15_000, "{snf_cells}");
    }
);

on_both_db!(
    nppes_needs_the_references_first,
    |store: Store, _url: String| async move {
        let err = import(&store, MarketSource::Nppes, &shipped().join("nppes"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Refused {
                    code: "missing_reference",
                    ..
                }
            ),
            "{err:?}"
        );
        let missing = import(
            &store,
            MarketSource::Zip,
            Path::new("/nonexistent/zips.csv"),
        )
        .await;
        assert!(
            matches!(
                missing,
                Err(StoreError::Refused {
                    code: "bad_file",
                    ..
                })
            ),
            "{missing:?}"
        );
        // A file that is not what it claims: the header names what is missing.
        let wrong = tmp("wrong.csv", b"a,b\n1,2\n");
        match import(&store, MarketSource::Nppes, &wrong).await {
            Err(StoreError::Refused { message, .. }) => {
                assert!(
                    message.contains("missing_reference") || message.contains("ZIP"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
        references(&store).await;
        match import(&store, MarketSource::Nppes, &wrong).await {
            Err(StoreError::Refused { code, message, .. }) => {
                assert_eq!(code, "bad_file");
                assert!(message.contains("line 1"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
);
