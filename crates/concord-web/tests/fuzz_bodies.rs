//! Fuzz targets for request bodies: every write route of `concord_web::routes()` (API and pages)
//! gets proptest-generated bodies on a running app over SQLite, and must never answer 5xx.
//!
//! - API writes: JSON built from the route's request schema in the live OpenAPI document (so a new
//!   route is fuzzed the moment it is documented), with wrong types, missing and unknown fields,
//!   huge strings and special numbers mixed in at any depth; also the wrong content type, invalid
//!   UTF-8, truncated JSON, deep nesting and oversized bodies. A 4xx must be a problem JSON, and a
//!   422 must name the field.
//! - Page writes: the forms the app itself renders (harvested from every page, with their fields
//!   and option values) posted with fields dropped, duplicated, added and replaced, with and without
//!   the CSRF token, urlencoded or multipart, and with bytes that are not UTF-8.
//!
//! Bounded for CI: `CONCORD_FUZZ_CASES` requests per target (default 256); `FUZZ_SECONDS=N` repeats
//! batches until N seconds have passed (`bench/fuzz.sh`). Each target prints
//! `fuzz <target>: <cases> cases in <seconds> s` and the answers by status. On demand:
//! `FUZZ_ROUTES=text` fuzzes only the routes whose path contains it, `FUZZ_SKIP_ROUTES=a,b` leaves
//! those out, `FUZZ_DEBUG=1` prints every page post with its status.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::Method;
use common::{Session, TestApp};
use concord_domain::account::{Role, TokenScope};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};
use proptest::test_runner::{Config, TestError, TestRunner};
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------------
// The app under test

struct World {
    home: i64,
    partner: i64,
    partnership: i64,
    /// A second partnership: the one archived and moved through stages (so the first stays
    /// active and writable), and the target of a quarter of the other writes too.
    spare: i64,
    journey: i64,
    scorecard: i64,
    competitor: i64,
    /// A viewer of the home organization (so a fuzzed role change never demotes the admin).
    viewer_user: i64,
}

/// Creates what the write routes act on, so bodies reach the handlers' rules rather than a 404:
/// a partnership with an effective charter, a journey, a metric value, a meeting with an action,
/// a risk, a stakeholder, a survey round, a scorecard and a competitor entry.
async fn world(app: &TestApp) -> World {
    let (partner, _) = app
        .other_org(
            "Partner Physician Group",
            "admin@partner.example",
            Role::Admin,
        )
        .await;
    let viewer = app
        .member(
            "viewer@home.example",
            app.home,
            Role::Viewer,
            TokenScope::Read,
        )
        .await;
    let viewer_user = app.user_id_of(&viewer.token).await;
    let pid = app.partnership("Fuzzed deal", app.home, partner).await;
    let spare = app.partnership("Spare deal", app.home, partner).await;
    app.effective_charter(pid, partner).await;
    app.walk_stages(pid, &["assessing", "negotiating", "active"])
        .await;
    let p = |rest: &str| format!("/api/v1/partnerships/{pid}{rest}");
    let created = |(status, body): (u16, Value)| {
        assert!(status < 300, "setting up: {status} {body}");
        body["id"].as_i64().unwrap_or(0)
    };
    let journey = created(
        app.post_json(
            &p("/journeys"),
            &json!({ "name": "Referral journey", "end_user": "patient",
                     "design": { "stages": [ { "name": "Referral", "owner": app.home },
                                             { "name": "Visit", "owner": partner } ],
                                 "handoffs": [ { "from_stage": 1, "to_stage": 2 } ],
                                 "assumptions": [ { "statement": "Patients answer", "stages": [1] } ] } }),
        )
        .await,
    );
    for (path, body) in [
        (p("/notes"), json!({ "body": "A note" })),
        (
            p("/meetings"),
            json!({ "held_on": "2026-01-15", "kind": "steering",
                    "attendees": [ { "organization_id": app.home, "name": "Someone" },
                                   { "organization_id": partner, "name": "Someone else" } ],
                    "actions": [ { "what": "Follow up", "owner": app.home, "due_on": "2026-02-01" } ] }),
        ),
        (
            p("/risks"),
            json!({ "category": "other", "title": "A risk", "likelihood": 2, "impact": 3 }),
        ),
        (
            p("/stakeholders"),
            json!({ "organization_id": app.home, "name": "A champion", "role": "champion" }),
        ),
        (p("/surveys"), json!({ "title": "First round" })),
        (
            format!("/api/v1/journeys/{journey}/trial-runs"),
            json!({ "run_on": "2026-11-01", "participants": ["P-01"] }),
        ),
    ] {
        created(app.post_json(&path, &body).await);
    }
    // A value of the charter's second metric (annual, reported by the home organization), so
    // corrections have an entry to correct.
    app.post_json(
        &p("/metrics/2/values"),
        &json!({ "period_start": "2026-01-01", "value": 320 }),
    )
    .await;
    let scorecard = created(
        app.post_json("/api/v1/scorecards", &json!({ "organization_id": partner }))
            .await,
    );
    let competitor = created(
        app.post_json(
            "/api/v1/competitors",
            &json!({ "organization_id": partner, "note": "Rival" }),
        )
        .await,
    );
    World {
        home: app.home,
        partner,
        partnership: pid,
        spare,
        journey,
        scorecard,
        competitor,
        viewer_user,
    }
}

/// The route's path with its parameters filled in for this world; partnership routes act on the
/// spare partnership when `spare` (always to archive it or move its stage).
fn concrete(path: &str, w: &World, spare: bool) -> String {
    let spare = spare || path.ends_with("/archive") || path.contains("/transition");
    let id = if path.contains("/journeys/{id}") {
        w.journey
    } else if path.contains("/partnerships/{id}") && spare {
        w.spare
    } else if path.contains("/partnerships/{id}") {
        w.partnership
    } else if path.contains("/organizations/{id}") {
        w.home
    } else if path.contains("/scorecards/{id}") {
        w.scorecard
    } else if path.contains("/competitors/{id}") {
        w.competitor
    } else if path.contains("/members/{id}") {
        w.viewer_user
    } else {
        // Tokens: never the token the fuzzer itself uses.
        999_999
    };
    let mut out = path
        .replace("{id}", &id.to_string())
        .replace("{code}", "dental")
        .replace("{token}", "not-a-real-invitation");
    while let (Some(i), Some(j)) = (out.find('{'), out.find('}')) {
        out.replace_range(i..=j, "1");
    }
    out
}

/// Write routes the fuzzer leaves alone: signing out would end the session it posts with; and
/// those whose path contains one of `FUZZ_SKIP_ROUTES` (comma-separated), for runs on demand.
fn skipped(path: &str) -> bool {
    let skip = std::env::var("FUZZ_SKIP_ROUTES").unwrap_or_default();
    path == "/sign-out" || skip.split(',').any(|s| !s.is_empty() && path.contains(s))
}

/// The write routes of the API or of the pages (`FUZZ_ROUTES=text`: only those whose path
/// contains it, to fuzz one route at length).
fn write_routes(api: bool) -> Vec<(Method, String)> {
    let only = std::env::var("FUZZ_ROUTES").unwrap_or_default();
    concord_web::routes()
        .into_iter()
        .filter(|(m, p, _)| *m != Method::GET && p.starts_with("/api/") == api && !skipped(p))
        .filter(|(_, p, _)| p.contains(&only))
        .map(|(m, p, _)| (m, p))
        .collect()
}

/// Runs `case` on values of `strategy` for `CONCORD_FUZZ_CASES` cases (default 256), or in
/// batches of that many until `FUZZ_SECONDS` have passed; a failure is shrunk and reported.
fn fuzz<S>(target: &str, strategy: S, case: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: fmt::Debug,
{
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let cases = number("CONCORD_FUZZ_CASES").unwrap_or(256).max(1) as u32;
    let budget = number("FUZZ_SECONDS");
    let started = Instant::now();
    let mut run = 0u64;
    loop {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            // Each shrinking step is a request: keep shrinking short.
            max_shrink_iters: 256,
            ..Config::default()
        });
        match runner.run(&strategy, &case) {
            Ok(()) => {}
            Err(TestError::Fail(why, input)) => {
                panic!("fuzz {target}: {why}\nminimal failing input: {input:#?}")
            }
            Err(TestError::Abort(why)) => panic!("fuzz {target}: aborted: {why}"),
        }
        run += u64::from(cases);
        if budget.is_none_or(|s| started.elapsed().as_secs() >= s) {
            break;
        }
    }
    eprintln!(
        "fuzz {target}: {run} cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The body limit: a larger body may be refused (413) before the client has finished sending it,
/// which the client sees as a broken connection.
const MAX_BODY: usize = concord_web::extract::MAX_JSON_BYTES;

/// Counts an answer's status.
fn tally(statuses: &Mutex<BTreeMap<u16, u64>>, status: u16) {
    *statuses.lock().unwrap().entry(status).or_default() += 1;
}

/// A client that opens a new connection for every request: after refusing an oversized body the
/// server closes the connection, and a pooled client could send the next case down it.
fn fresh_client(cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .cookie_store(cookies)
        .build()
        .expect("client")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

// ---------------------------------------------------------------------------------------------
// Values that break handlers

fn nasty_json() -> BoxedStrategy<Value> {
    let fixed = vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(4_294_967_296u64),
        json!(2_147_483_648u64),
        json!(1.5e308),
        json!(-0.0),
        json!(0.5),
        json!(""),
        json!(" "),
        json!("Ünïcödé 🏥 ﷽"),
        json!("\u{0}"),
        json!("<script>alert(1)</script>"),
        json!("2026-02-30"),
        json!("0000-01-01"),
        json!("+262143-12-31"),
        json!("9999-12-31T23:59:59Z"),
        json!("x".repeat(5_000)),
        json!("y".repeat(200_000)),
        json!([]),
        json!({}),
        json!([[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]),
    ];
    prop_oneof![
        6 => proptest::sample::select(fixed),
        2 => any::<String>().prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
    .boxed()
}

fn nasty_text() -> BoxedStrategy<String> {
    let fixed: Vec<String> = [
        "",
        " ",
        "0",
        "-1",
        "1.5",
        "99999999999999999999999",
        "1e400",
        "NaN",
        "inf",
        "2026-01-15",
        "2026-02-30",
        "2026-Q1",
        "99999-01-01",
        "true",
        "on",
        "Ünïcödé 🏥",
        "<b>bold</b>",
        "a\r\nb",
        "\u{0}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    prop_oneof![
        6 => proptest::sample::select(fixed),
        2 => any::<String>(),
        1 => (1usize..70_000).prop_map(|n| "z".repeat(n)),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// JSON bodies from the OpenAPI document

struct Schemas<'a> {
    doc: &'a Value,
    /// Ids that exist in the world (and a few that do not).
    ids: Vec<i64>,
}

impl Schemas<'_> {
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        match schema["$ref"].as_str() {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap_or("");
                &self.doc["components"]["schemas"][name]
            }
            None => schema,
        }
    }

    /// A value of `schema`: mostly valid, but any node may be a nasty value instead, an object
    /// may lose a required field or gain an unknown one.
    fn value(&self, schema: &Value, depth: u32) -> BoxedStrategy<Value> {
        let proper = self.proper(schema, depth);
        prop_oneof![14 => proper, 1 => nasty_json()].boxed()
    }

    fn proper(&self, schema: &Value, depth: u32) -> BoxedStrategy<Value> {
        let schema = self.resolve(schema);
        if depth > 6 {
            return Just(json!({})).boxed();
        }
        if let Some(options) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
            return Union::new(options.iter().map(|o| self.value(o, depth + 1))).boxed();
        }
        if let Some(all) = schema["allOf"].as_array() {
            if let Some(first) = all.first() {
                return self.proper(first, depth + 1);
            }
        }
        if let Some(values) = schema["enum"].as_array() {
            return proptest::sample::select(values.clone()).boxed();
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec!["object"],
        };
        let ty = types
            .iter()
            .copied()
            .find(|t| *t != "null")
            .unwrap_or("null");
        let nullable = types.contains(&"null");
        let v = match ty {
            "object" => self.object(schema, depth),
            "array" => {
                let items = self.value(&schema["items"], depth + 1);
                proptest::collection::vec(items, 0..4)
                    .prop_map(Value::Array)
                    .boxed()
            }
            "string" => self.string(schema),
            "integer" => {
                let ids = self.ids.clone();
                prop_oneof![
                    4 => proptest::sample::select(ids).prop_map(Value::from),
                    2 => (0i64..10).prop_map(Value::from),
                    1 => any::<i64>().prop_map(Value::from),
                ]
                .boxed()
            }
            "number" => prop_oneof![
                4 => proptest::sample::select(vec![0.0, 1.0, 12.5, 50.0, 100.0, 320.0]),
                1 => -1e6f64..1e6,
            ]
            .prop_map(Value::from)
            .boxed(),
            "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
            _ => Just(Value::Null).boxed(),
        };
        if nullable {
            prop_oneof![4 => v, 1 => Just(Value::Null)].boxed()
        } else {
            v
        }
    }

    fn string(&self, schema: &Value) -> BoxedStrategy<Value> {
        let proper: Vec<&'static str> = match schema["format"].as_str() {
            Some("date") => vec!["2026-01-01", "2026-01-15", "2026-03-31", "2027-06-30"],
            Some("date-time") => vec!["2026-01-15T10:00:00Z"],
            _ => vec!["Written by someone", "dental", "P-01", "Referral"],
        };
        prop_oneof![
            4 => proptest::sample::select(proper).prop_map(str::to_string),
            1 => nasty_text(),
        ]
        .prop_map(Value::String)
        .boxed()
    }

    fn object(&self, schema: &Value, depth: u32) -> BoxedStrategy<Value> {
        let required: BTreeSet<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
        for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
            let v = self.value(prop, depth + 1);
            let name = name.clone();
            // Required fields are nearly always sent, optional ones half the time.
            let weight = if required.contains(name.as_str()) {
                0.95
            } else {
                0.5
            };
            fields.push(
                proptest::option::weighted(weight, v)
                    .prop_map(move |v| v.map(|v| (name.clone(), v)))
                    .boxed(),
            );
        }
        if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
            let keys: Vec<String> = schema["propertyNames"]["enum"]
                .as_array()
                .map(|k| {
                    k.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_else(|| vec!["key".into(), "trust".into()]);
            let entry = (proptest::sample::select(keys), self.value(extra, depth + 1));
            fields.push(
                proptest::collection::vec(entry, 0..4)
                    .prop_map(|kv| kv.into_iter().last())
                    .boxed(),
            );
        }
        let unknown = proptest::option::weighted(
            0.05,
            ("[a-z_]{1,12}", nasty_json()).prop_map(|(k, v)| (k, v)),
        )
        .boxed();
        fields.push(unknown);
        fields
            .prop_map(|kv| Value::Object(kv.into_iter().flatten().collect::<Map<_, _>>()))
            .boxed()
    }
}

/// A request body and its content type (`None`: no header).
#[derive(Clone)]
struct Body {
    content_type: Option<String>,
    bytes: Vec<u8>,
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = String::from_utf8_lossy(&self.bytes);
        let shown: String = text.chars().take(2_000).collect();
        write!(
            f,
            "{:?} ({} bytes) {shown:?}",
            self.content_type,
            self.bytes.len()
        )
    }
}

fn wrong_content_type() -> impl Strategy<Value = Option<String>> {
    proptest::sample::select(vec![
        None,
        Some("text/plain".to_string()),
        Some("application/x-www-form-urlencoded".to_string()),
        Some("multipart/form-data".to_string()),
        Some("application/json; charset=latin-1".to_string()),
        Some("application/xml".to_string()),
        Some("".to_string()),
    ])
}

/// Bodies for one API write: schema-built JSON (or the FHIR fixtures, or CSV), sent as declared
/// or with another content type, damaged, deeply nested or oversized.
fn api_body(schemas: &Schemas<'_>, operation: &Value) -> BoxedStrategy<Body> {
    let content = &operation["requestBody"]["content"];
    let (declared, schema) = content
        .as_object()
        .and_then(|c| c.iter().next())
        .map(|(ct, c)| (ct.clone(), c["schema"].clone()))
        .unwrap_or_else(|| ("application/json".to_string(), json!({ "type": "object" })));
    let base: BoxedStrategy<Vec<u8>> = if declared == "text/csv" {
        prop_oneof![
            3 => proptest::sample::select(vec![
                "metric,period,value\n1,2026-Q1,12.5\n",
                "metric,period,value,note,source\n2,2026,320,,\n2,2026,1,,\n",
                "metric,period,value\r\n1,2026-Q5,x\r\n\r\n",
                "period,value\n",
                "",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
            1 => nasty_text().prop_map(String::into_bytes),
        ]
        .boxed()
    } else if declared.contains("fhir") {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fhir");
        let fixtures: Vec<Value> = std::fs::read_dir(dir)
            .expect("FHIR fixtures")
            .filter_map(|e| {
                let p = e.ok()?.path();
                serde_json::from_slice(&std::fs::read(p).ok()?).ok()
            })
            .collect();
        let fixture = proptest::sample::select(fixtures);
        let edited = (fixture.clone(), "[a-zA-Z]{1,12}", nasty_json()).prop_map(|(mut v, k, x)| {
            if let Some(o) = v.as_object_mut() {
                o.insert(k, x);
            }
            v
        });
        prop_oneof![2 => fixture, 2 => edited, 1 => schemas.value(&schema, 0)]
            .prop_map(|v| serde_json::to_vec(&v).expect("JSON"))
            .boxed()
    } else {
        schemas
            .value(&schema, 0)
            .prop_map(|v| serde_json::to_vec(&v).expect("JSON"))
            .boxed()
    };
    let declared_ct = Some(declared);
    let as_declared = {
        let ct = declared_ct.clone();
        base.clone().prop_map(move |bytes| Body {
            content_type: ct.clone(),
            bytes,
        })
    };
    let as_other = (base.clone(), wrong_content_type()).prop_map(|(bytes, content_type)| Body {
        content_type,
        bytes,
    });
    let damaged = {
        let ct = declared_ct.clone();
        (base, any::<usize>(), any::<u8>(), any::<bool>()).prop_map(
            move |(mut b, at, byte, cut)| {
                let at = at % (b.len() + 1);
                if cut {
                    b.truncate(at);
                } else {
                    b.insert(at, byte);
                }
                Body {
                    content_type: ct.clone(),
                    bytes: b,
                }
            },
        )
    };
    let raw = {
        let ct = declared_ct.clone();
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(move |bytes| Body {
            content_type: ct.clone(),
            bytes,
        })
    };
    let deep = {
        let ct = declared_ct.clone();
        (1usize..20_000, any::<bool>()).prop_map(move |(n, array)| Body {
            content_type: ct.clone(),
            bytes: if array {
                format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()
            } else {
                format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)).into_bytes()
            },
        })
    };
    let oversized = {
        let ct = declared_ct;
        (256usize * 1024..400 * 1024).prop_map(move |n| Body {
            content_type: ct.clone(),
            bytes: format!("{{\"name\":\"{}\"}}", "x".repeat(n)).into_bytes(),
        })
    };
    prop_oneof![
        12 => as_declared,
        2 => as_other,
        2 => damaged,
        1 => raw,
        1 => deep,
        1 => oversized,
    ]
    .boxed()
}

/// Checks an API answer: never 5xx; a 4xx is a problem JSON with its status and a code; a 422
/// names the field.
fn check_api_answer(
    what: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(body);
    prop_assert!(status < 500, "{what} answered {status}: {text}");
    if status >= 400 {
        prop_assert_eq!(
            content_type,
            "application/problem+json",
            "{} → {}: {}",
            what,
            status,
            text
        );
        let p: Value = serde_json::from_slice(body).map_err(|e| {
            TestCaseError::fail(format!("{what} → {status}: not JSON ({e}): {text}"))
        })?;
        prop_assert_eq!(&p["status"], &json!(status), "{}: {}", what, text);
        prop_assert!(p["code"].is_string(), "{what}: {text}");
        if status == 422 {
            let named = |v: &Value| v["field"].as_str().is_some_and(|f| !f.is_empty());
            let errors = p["errors"].as_array().cloned().unwrap_or_default();
            prop_assert!(named(&p), "{what}: a 422 names no field: {text}");
            prop_assert!(errors.iter().all(named), "{what}: {text}");
        }
    }
    Ok(())
}

#[test]
fn api_bodies() {
    let rt = runtime();
    let app = rt
        .block_on(TestApp::spawn(concord_storage::Backend::Sqlite, "fuzz_api"))
        .expect("sqlite app");
    let w = rt.block_on(world(&app));
    let doc: Value =
        serde_json::from_str(concord_web::openapi::document_json()).expect("OpenAPI JSON");
    let schemas = Schemas {
        doc: &doc,
        ids: vec![
            w.home,
            w.partner,
            w.partnership,
            w.journey,
            1,
            2,
            0,
            -1,
            999_999,
        ],
    };
    let routes = write_routes(true);
    assert!(routes.len() > 40, "{} API write routes", routes.len());
    let cases: Vec<BoxedStrategy<(usize, Body, bool)>> = routes
        .iter()
        .enumerate()
        .map(|(i, (method, path))| {
            let operation = &doc["paths"][path.as_str()][method.as_str().to_lowercase()];
            assert!(operation.is_object(), "{method} {path} is documented");
            (
                api_body(&schemas, operation),
                proptest::bool::weighted(0.25),
            )
                .prop_map(move |(b, spare)| (i, b, spare))
                .boxed()
        })
        .collect();
    let client = fresh_client(false);
    let statuses = Mutex::new(BTreeMap::new());
    fuzz("api_bodies", Union::new(cases), |(i, body, spare)| {
        let (method, path) = &routes[i];
        let url = app.url(&concrete(path, &w, spare));
        let what = format!("{method} {path}");
        rt.block_on(async {
            let mut rb = client
                .request(method.clone(), &url)
                .bearer_auth(&app.token)
                .body(body.bytes.clone());
            if let Some(ct) = &body.content_type {
                rb = rb.header("content-type", ct);
            }
            let r = match rb.send().await {
                Ok(r) => r,
                // Refused before it was read (413 while the client was still writing).
                Err(_) if body.bytes.len() > MAX_BODY => {
                    tally(&statuses, 413);
                    return Ok(());
                }
                Err(e) => return Err(TestCaseError::fail(format!("{what}: {e:?}"))),
            };
            let status = r.status().as_u16();
            tally(&statuses, status);
            let ct = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let bytes = r.bytes().await.expect("body");
            check_api_answer(&what, status, &ct, &bytes)
        })
    });
    eprintln!(
        "fuzz api_bodies: answers by status {:?}",
        statuses.lock().unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// Page forms

/// An HTML attribute's value in a tag, entities decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let i = tag.find(&needle)? + needle.len();
    let j = tag[i..].find('"')? + i;
    Some(
        tag[i..j]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The forms a page renders: (action, fields with the values the page offers for each).
fn forms_in(html: &str, page: &str) -> Vec<(String, BTreeMap<String, Vec<String>>)> {
    let mut out = Vec::new();
    for chunk in html.split("<form").skip(1) {
        let body = chunk.split("</form>").next().unwrap_or(chunk);
        let head = body.split('>').next().unwrap_or("");
        let action = attr(head, "action").unwrap_or_else(|| page.to_string());
        let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for tag_chunk in body.split('<').skip(1) {
            let tag = tag_chunk.split('>').next().unwrap_or("");
            let is_field = ["input ", "select ", "textarea ", "button "]
                .iter()
                .any(|t| tag.starts_with(t));
            if !is_field {
                continue;
            }
            let Some(name) = attr(tag, "name") else {
                continue;
            };
            let values = fields.entry(name).or_default();
            if let Some(v) = attr(tag, "value") {
                values.push(v);
            }
            if tag.starts_with("select ") {
                let options = tag_chunk_after(body, tag);
                values.extend(options);
            }
        }
        out.push((action, fields));
    }
    out
}

/// The option values of the `<select>` whose opening tag is `tag`.
fn tag_chunk_after(body: &str, tag: &str) -> Vec<String> {
    let Some(i) = body.find(tag) else {
        return Vec::new();
    };
    let rest = &body[i..];
    let select = rest.split("</select>").next().unwrap_or(rest);
    select
        .split("<option")
        .skip(1)
        .filter_map(|o| attr(o.split('>').next().unwrap_or(""), "value"))
        .collect()
}

/// Signs in through the form with a [`fresh_client`] that keeps the session cookie.
async fn sign_in(app: &TestApp, email: &str) -> Session {
    let client = fresh_client(true);
    let r = client
        .post(app.url("/sign-in"))
        .form(&[
            ("email", email),
            ("password", common::PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), 303, "sign-in as {email}");
    let html = client
        .get(app.url("/"))
        .send()
        .await
        .expect("home page")
        .text()
        .await
        .expect("home page");
    Session {
        base: app.base.clone(),
        client,
        csrf: common::csrf_in(&html).expect("a CSRF token"),
    }
}

/// One fuzzed form post.
#[derive(Debug, Clone)]
struct FormCase {
    route: usize,
    fields: Vec<(String, String)>,
    /// Whether the session's CSRF token is sent (as the form field, the query string of a file
    /// upload, or the header for JSON).
    csrf: bool,
    encoding: FormEncoding,
    /// Whether a partnership route acts on the spare partnership.
    spare: bool,
}

#[derive(Debug, Clone)]
enum FormEncoding {
    Urlencoded,
    Multipart,
    /// Percent-escapes that decode to bytes which are not UTF-8.
    InvalidUtf8,
    Json,
}

#[derive(Debug, Clone)]
enum FieldEdit {
    Drop(usize),
    Duplicate(usize),
    Replace(usize, String),
    Add(usize, String),
}

fn form_case(
    route: usize,
    base: Vec<(String, Vec<String>)>,
    vocabulary: Vec<String>,
) -> BoxedStrategy<FormCase> {
    // Each field takes one of the values the page offers for it (or its first).
    let picks = proptest::collection::vec(any::<usize>(), base.len());
    let edit = prop_oneof![
        2 => any::<usize>().prop_map(FieldEdit::Drop),
        1 => any::<usize>().prop_map(FieldEdit::Duplicate),
        4 => (any::<usize>(), nasty_text()).prop_map(|(i, v)| FieldEdit::Replace(i, v)),
        2 => (any::<usize>(), nasty_text()).prop_map(|(i, v)| FieldEdit::Add(i, v)),
    ];
    let encoding = prop_oneof![
        8 => Just(FormEncoding::Urlencoded),
        2 => Just(FormEncoding::Multipart),
        1 => Just(FormEncoding::InvalidUtf8),
        1 => Just(FormEncoding::Json),
    ];
    let csrf = proptest::bool::weighted(0.9);
    let spare = proptest::bool::weighted(0.25);
    (
        picks,
        proptest::collection::vec(edit, 0..5),
        csrf,
        encoding,
        spare,
    )
        .prop_map(move |(picks, edits, csrf, encoding, spare)| {
            let mut fields: Vec<(String, String)> = base
                .iter()
                .zip(picks)
                .map(|((name, values), p)| {
                    let v = if values.is_empty() {
                        String::new()
                    } else {
                        values[p % values.len()].clone()
                    };
                    (name.clone(), v)
                })
                .collect();
            for e in &edits {
                let n = fields.len();
                match e {
                    FieldEdit::Drop(i) if n > 0 => {
                        fields.remove(i % n);
                    }
                    FieldEdit::Duplicate(i) if n > 0 => {
                        let f = fields[i % n].clone();
                        fields.push(f);
                    }
                    FieldEdit::Replace(i, v) if n > 0 => fields[i % n].1 = v.clone(),
                    FieldEdit::Add(i, v) if !vocabulary.is_empty() => {
                        fields.push((vocabulary[i % vocabulary.len()].clone(), v.clone()))
                    }
                    _ => {}
                }
            }
            FormCase {
                route,
                fields,
                csrf,
                encoding,
                spare,
            }
        })
        .boxed()
}

fn encode(case: &FormCase, csrf: &str) -> (String, Vec<u8>) {
    let urlencoded = || {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &case.fields {
            s.append_pair(k, v);
        }
        if case.csrf {
            s.append_pair("csrf", csrf);
        }
        s.finish()
    };
    match case.encoding {
        FormEncoding::Urlencoded => (
            "application/x-www-form-urlencoded".into(),
            urlencoded().into_bytes(),
        ),
        FormEncoding::InvalidUtf8 => (
            "application/x-www-form-urlencoded".into(),
            format!("%FF%FE=%C3%28&name=%E9cole&{}", urlencoded()).into_bytes(),
        ),
        FormEncoding::Json => {
            let o: Map<String, Value> = case
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            (
                "application/json".into(),
                serde_json::to_vec(&o).expect("JSON"),
            )
        }
        FormEncoding::Multipart => {
            let boundary = "fuzzboundary7MA4YWxkTrZu0gW";
            let mut body = Vec::new();
            for (k, v) in &case.fields {
                let filename = if k == "file" {
                    "; filename=\"upload.csv\""
                } else {
                    ""
                };
                body.extend_from_slice(
                    format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"{filename}\r\n\r\n{v}\r\n"
                    )
                    .as_bytes(),
                );
            }
            body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            (format!("multipart/form-data; boundary={boundary}"), body)
        }
    }
}

#[test]
fn page_forms() {
    let rt = runtime();
    let app = rt
        .block_on(TestApp::spawn(
            concord_storage::Backend::Sqlite,
            "fuzz_pages",
        ))
        .expect("sqlite app");
    let w = rt.block_on(world(&app));
    let session = rt.block_on(sign_in(&app, "admin@home.example"));
    let routes = write_routes(false);
    let by_url: BTreeMap<String, usize> = routes
        .iter()
        .enumerate()
        .map(|(i, (_, p))| (concrete(p, &w, false), i))
        .collect();
    // Harvest every form the signed-in pages render.
    let mut bases: BTreeMap<usize, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut vocabulary: BTreeSet<String> = BTreeSet::new();
    let pages: Vec<String> = concord_web::routes()
        .into_iter()
        .filter(|(m, p, _)| *m == Method::GET && !p.starts_with("/api/") && !p.ends_with(".csv"))
        .map(|(_, p, _)| concrete(&p, &w, false))
        .collect();
    for page in &pages {
        let html = rt.block_on(async { session.get(page).await.text().await.unwrap_or_default() });
        for (action, fields) in forms_in(&html, page) {
            let action = action.split('?').next().unwrap_or("").to_string();
            vocabulary.extend(fields.keys().filter(|k| *k != "csrf").cloned());
            if let Some(&i) = by_url.get(&action) {
                let base = bases.entry(i).or_default();
                for (k, v) in fields.into_iter().filter(|(k, _)| k != "csrf") {
                    base.entry(k).or_default().extend(v);
                }
            }
        }
    }
    assert!(
        bases.len() * 2 > routes.len() || routes.len() < 5,
        "forms found for {} of {} page write routes",
        bases.len(),
        routes.len()
    );
    let vocabulary: Vec<String> = vocabulary.into_iter().collect();
    let csrf = session.csrf.clone();
    let cases: Vec<BoxedStrategy<FormCase>> = (0..routes.len())
        .map(|i| {
            let base: Vec<(String, Vec<String>)> = bases
                .get(&i)
                .map(|b| b.clone().into_iter().collect())
                .unwrap_or_default();
            form_case(i, base, vocabulary.clone())
        })
        .collect();
    let statuses = Mutex::new(BTreeMap::new());
    fuzz("page_forms", Union::new(cases), |case| {
        let (method, path) = &routes[case.route];
        let mut url = app.url(&concrete(path, &w, case.spare));
        let (content_type, body) = encode(&case, &csrf);
        // A file upload carries the token in the query string, as the page's form does; JSON in
        // the header.
        let mut rb = session.client.request(method.clone(), &url);
        match case.encoding {
            FormEncoding::Multipart if case.csrf => {
                url = format!("{url}?csrf={csrf}");
                rb = session.client.request(method.clone(), &url);
            }
            FormEncoding::Json if case.csrf => rb = rb.header("x-csrf-token", &csrf),
            _ => {}
        }
        let size = body.len();
        rt.block_on(async {
            let r = rb
                .header("content-type", content_type)
                .body(body)
                .send()
                .await;
            let r = match r {
                Ok(r) => r,
                Err(_) if size > MAX_BODY => {
                    tally(&statuses, 413);
                    return Ok(());
                }
                Err(e) => return Err(TestCaseError::fail(format!("{method} {path}: {e:?}"))),
            };
            let status = r.status().as_u16();
            tally(&statuses, status);
            let text = r.text().await.unwrap_or_default();
            if std::env::var_os("FUZZ_DEBUG").is_some() {
                eprintln!("{status} {method} {path} {case:?}");
            }
            prop_assert!(
                status < 500,
                "{method} {path} answered {status}: {}",
                text.chars().take(2_000).collect::<String>()
            );
            Ok(())
        })
    });
    eprintln!(
        "fuzz page_forms: answers by status {:?}",
        statuses.lock().unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// Fixed cases for what the targets found

/// Found by `page_forms`: acknowledging a health warning of an archived partnership from its page
/// answered 500 (`StoreError::Archived` reached `PageError`'s catch-all), where the API answers
/// 409 `archived`. It must be refused the same way.
#[tokio::test]
async fn an_archived_partnership_refuses_a_warning_acknowledgement_page() {
    let app = TestApp::spawn(concord_storage::Backend::Sqlite, "fuzz_archived_ack")
        .await
        .expect("sqlite app");
    let partner = app.org("Partner Physician Group", "physician_group").await;
    let pid = app.partnership("Archived deal", app.home, partner).await;
    let (status, body) = app
        .post_json(&format!("/api/v1/partnerships/{pid}/archive"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let web = app.sign_in("admin@home.example").await;
    let r = web
        .post_form(
            &format!("/partnerships/{pid}/health/acknowledgements"),
            &[("key", "review_overdue:next:2026-01-01"), ("note", "Seen")],
        )
        .await;
    assert_eq!(r.status(), 409, "{}", r.text().await.unwrap_or_default());
}
