//! Fuzz targets for every parser of outside input, driven by proptest (`cargo fuzz` needs a
//! nightly toolchain). Each target feeds a parser arbitrary bytes and structure-aware mutations of
//! real inputs (the files under `data/`, the FHIR fixtures, sample documents) and checks that it
//! never panics and that what it accepts satisfies the parser's invariants, while what it refuses
//! names a line ≥ 1 and a column the file has.
//!
//! Bounded for CI: `CONCORD_FUZZ_CASES` cases per target (default 256). `FUZZ_SECONDS=N` repeats
//! batches of that many cases until N seconds have passed (`bench/fuzz.sh` runs them that way);
//! each target prints `fuzz <target>: <cases> cases in <seconds> s` (shown with `--nocapture`).
//! Failures are not persisted to files; a failing case is shrunk and printed.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use concord_domain::account::Email;
use concord_domain::capability::{parse_catalogue, CapabilityCode};
use concord_domain::charter::{Charter, Direction, Metric, MetricCategory, ReportingCadence};
use concord_domain::csv_io::{parse_organizations, ORG_COLUMNS};
use concord_domain::fhir::{self, FhirError};
use concord_domain::journey::JourneyExport;
use concord_domain::ledger::{
    self, parse_period, parse_values_csv, period_end, read_ledger_csv, verify_chain,
    write_ledger_csv, Entry, ImportContext,
};
use concord_domain::market::adjacency::AdjacencyTable;
use concord_domain::market::nppes::{self, parse_row, NppesColumns};
use concord_domain::market::reference::{
    self, is_taxonomy_code, zip5, CapabilityMap, Encoding, PostacuteList,
};
use concord_domain::organization::{npi_check_digit, Ccn, Npi};
use concord_domain::OrgId;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// The runner

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Runs `test` on values of `strategy` for `CONCORD_FUZZ_CASES` cases, or in batches of that many
/// until `FUZZ_SECONDS` have passed; a failure (an `Err` or a panic) is shrunk and reported.
fn fuzz<S>(target: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: fmt::Debug,
{
    let cases = env_number("CONCORD_FUZZ_CASES").unwrap_or(256).max(1) as u32;
    let budget = env_number("FUZZ_SECONDS");
    let started = Instant::now();
    let mut run = 0u64;
    loop {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 2048,
            ..Config::default()
        });
        match runner.run(&strategy, &test) {
            Ok(()) => {}
            Err(TestError::Fail(why, input)) => {
                panic!("fuzz {target}: {why}\nminimal failing input: {input:#?}")
            }
            Err(TestError::Abort(why)) => panic!("fuzz {target}: aborted: {why}"),
        }
        run += u64::from(cases);
        match budget {
            Some(s) if started.elapsed().as_secs() < s => continue,
            _ => break,
        }
    }
    eprintln!(
        "fuzz {target}: {run} cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// Bytes, shown as (lossy) text when a case fails.
#[derive(Clone)]
struct Bytes(Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

impl Bytes {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

fn repo_file(path: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A CSV file split into records of fields: the header first.
struct Seed(Vec<Vec<Vec<u8>>>);

impl Seed {
    fn parse(bytes: &[u8]) -> Arc<Seed> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let records = rdr
            .byte_records()
            .map(|r| r.expect("seed is CSV").iter().map(<[u8]>::to_vec).collect())
            .collect();
        Arc::new(Seed(records))
    }

    fn file(path: &str) -> Arc<Seed> {
        Seed::parse(&repo_file(path))
    }
}

/// Values that break parsers: quotes, separators, line ends, huge and special numbers, unicode,
/// latin-1 and invalid UTF-8 bytes, a byte-order mark, long text.
fn nasty() -> impl Strategy<Value = Vec<u8>> {
    let fixed: Vec<Vec<u8>> = [
        &b""[..],
        b"\"",
        b"\"\"",
        b"\"a,b\"",
        b",",
        b";",
        b"\n",
        b"\r\n",
        b"\r",
        b"0",
        b"-1",
        b"-0",
        b"99999999999999999999999999",
        b"1e400",
        b"-1e400",
        b"NaN",
        b"inf",
        b"-inf",
        b"1,234.5",
        b"  padded  ",
        b"\xef\xbb\xbf",
        b"\xe9cole",
        b"\xff\xfe",
        b"\xc3",
        "Ünïcödé 🏥 ﷽".as_bytes(),
        "İstanbul".as_bytes(),
        b"\0",
        b"Y",
        b"N/A",
        b"Not Available",
        b"2026-13",
        b"2026-Q5",
        b"02/30/2024",
        b"12/31/9999",
        b"1234567893",
        b"1234567890",
        b"010001",
        b"06106-1234",
        b"123456789",
        b"Organization/1",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    prop_oneof![
        6 => proptest::sample::select(fixed),
        2 => any::<String>().prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..40),
        1 => (1usize..20_000).prop_map(|n| vec![b'x'; n]),
    ]
}

/// One edit of a CSV file (indexes are taken modulo what exists).
#[derive(Debug, Clone)]
enum Edit {
    SetField(usize, usize, Vec<u8>),
    AppendToField(usize, usize, Vec<u8>),
    DeleteField(usize, usize),
    DuplicateField(usize, usize),
    SwapFields(usize, usize, usize),
    DeleteRecord(usize),
    DuplicateRecord(usize),
    SwapRecords(usize, usize),
    TruncateField(usize, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let i = || any::<usize>();
    prop_oneof![
        4 => (i(), i(), nasty()).prop_map(|(r, f, v)| Edit::SetField(r, f, v)),
        2 => (i(), i(), nasty()).prop_map(|(r, f, v)| Edit::AppendToField(r, f, v)),
        1 => (i(), i()).prop_map(|(r, f)| Edit::DeleteField(r, f)),
        1 => (i(), i()).prop_map(|(r, f)| Edit::DuplicateField(r, f)),
        1 => (i(), i(), i()).prop_map(|(r, a, b)| Edit::SwapFields(r, a, b)),
        1 => i().prop_map(Edit::DeleteRecord),
        1 => i().prop_map(Edit::DuplicateRecord),
        1 => (i(), i()).prop_map(|(a, b)| Edit::SwapRecords(a, b)),
        1 => (i(), i(), i()).prop_map(|(r, f, n)| Edit::TruncateField(r, f, n)),
    ]
}

fn apply(records: &mut Vec<Vec<Vec<u8>>>, e: &Edit) {
    if records.is_empty() {
        return;
    }
    let n = records.len();
    let field = |records: &mut Vec<Vec<Vec<u8>>>, r: usize, f: usize| -> Option<(usize, usize)> {
        let r = r % n;
        let len = records[r].len();
        (len > 0).then(|| (r, f % len))
    };
    match e {
        Edit::SetField(r, f, v) => {
            if let Some((r, f)) = field(records, *r, *f) {
                records[r][f] = v.clone();
            }
        }
        Edit::AppendToField(r, f, v) => {
            if let Some((r, f)) = field(records, *r, *f) {
                records[r][f].extend_from_slice(v);
            }
        }
        Edit::DeleteField(r, f) => {
            if let Some((r, f)) = field(records, *r, *f) {
                records[r].remove(f);
            }
        }
        Edit::DuplicateField(r, f) => {
            if let Some((r, f)) = field(records, *r, *f) {
                let v = records[r][f].clone();
                records[r].insert(f, v);
            }
        }
        Edit::SwapFields(r, a, b) => {
            if let Some((r, a)) = field(records, *r, *a) {
                let b = b % records[r].len();
                records[r].swap(a, b);
            }
        }
        Edit::DeleteRecord(r) => {
            records.remove(r % n);
        }
        Edit::DuplicateRecord(r) => {
            let v = records[r % n].clone();
            records.insert(r % n, v);
        }
        Edit::SwapRecords(a, b) => records.swap(a % n, b % n),
        Edit::TruncateField(r, f, k) => {
            if let Some((r, f)) = field(records, *r, *f) {
                let len = records[r][f].len();
                records[r][f].truncate(k % (len + 1));
            }
        }
    }
}

/// Writes records as CSV: properly quoted, or joined raw (so a quote or a line end in a field
/// breaks the structure), optionally with CRLF line ends.
fn write_csv(records: &[Vec<Vec<u8>>], quoted: bool, crlf: bool) -> Vec<u8> {
    let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    if quoted {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(if crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .from_writer(Vec::new());
        for r in records {
            if r.is_empty() {
                w.write_record([&b""[..]]).expect("write");
            } else {
                w.write_record(r).expect("write");
            }
        }
        w.into_inner().expect("flush")
    } else {
        let mut out = Vec::new();
        for r in records {
            out.extend_from_slice(&r.join(&b","[..]));
            out.extend_from_slice(end);
        }
        out
    }
}

/// A file made of the seed's header and a few of its rows, edited; or the header followed by
/// arbitrary bytes; or arbitrary bytes alone.
fn csv_input(seed: Arc<Seed>) -> impl Strategy<Value = Bytes> {
    let rows = seed.0.len().saturating_sub(1).max(1);
    let header_seed = seed.clone();
    let mutated = (
        proptest::collection::vec(0..rows, 0..6),
        proptest::collection::vec(edit(), 0..6),
        any::<bool>(),
        any::<bool>(),
        any::<usize>(),
        any::<bool>(),
    )
        .prop_map(move |(picks, edits, quoted, crlf, cut, truncate)| {
            let mut records: Vec<Vec<Vec<u8>>> = seed.0.first().cloned().into_iter().collect();
            records.extend(picks.iter().filter_map(|&i| seed.0.get(i + 1).cloned()));
            for e in &edits {
                apply(&mut records, e);
            }
            let mut bytes = write_csv(&records, quoted, crlf);
            if truncate {
                bytes.truncate(cut % (bytes.len() + 1));
            }
            Bytes(bytes)
        });
    let after_header = proptest::collection::vec(any::<u8>(), 0..400).prop_map(move |tail| {
        let mut bytes = write_csv(&header_seed.0[..header_seed.0.len().min(1)], true, false);
        bytes.extend_from_slice(&tail);
        Bytes(bytes)
    });
    prop_oneof![
        8 => mutated,
        1 => after_header,
        1 => proptest::collection::vec(any::<u8>(), 0..600).prop_map(Bytes),
    ]
}

/// Checks a refusal: at least one problem, each on a line ≥ 1 (and within the file), naming a
/// known column, a column of the file's header, a whole row (empty or parenthesised) or the file.
fn check_row_errors<'a>(
    errors: impl IntoIterator<Item = (u64, &'a str)>,
    input: &Bytes,
    known: &[&str],
) -> Result<(), TestCaseError> {
    let text = input.text();
    // Physical lines (a quoted field may span several, so an error may sit past the records).
    let lines = text.split('\n').count() as u64 + 1;
    let header: Vec<String> = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input.0.as_slice())
        .byte_records()
        .next()
        .and_then(Result::ok)
        .map(|r| {
            r.iter()
                .map(|f| String::from_utf8_lossy(f).trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    let mut any = false;
    for (line, column) in errors {
        any = true;
        prop_assert!(line >= 1, "a problem on line {line} (column {column:?})");
        prop_assert!(line <= lines, "line {line} is past the end ({lines} lines)");
        let col = column.trim_start_matches('\u{feff}').trim();
        let fine = col.is_empty()
            || col.starts_with('(')
            || known.iter().any(|k| k.eq_ignore_ascii_case(col))
            || header
                .iter()
                .any(|h| h.trim_start_matches('\u{feff}').trim() == col);
        prop_assert!(fine, "column {column:?} is not a column of the file");
    }
    prop_assert!(any, "a refusal lists no problem");
    Ok(())
}

/// A JSON document as a value, for structure-aware mutation.
#[derive(Debug, Clone)]
enum JsonEdit {
    Replace(usize, Value),
    Remove(usize, usize),
    DuplicateItem(usize, usize),
    AddKey(usize, String, Value),
    Wrap(usize),
}

fn nasty_json() -> impl Strategy<Value = Value> {
    let deep = |n: usize| (0..n).fold(json!(1), |v, _| json!([v]));
    let fixed = vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(4_294_967_296u64),
        json!(1.5e308),
        json!(-0.0),
        json!(0.1),
        json!(""),
        json!(" "),
        json!("Ünïcödé 🏥"),
        json!("2026-02-30"),
        json!("10000-01-01"),
        json!("1234567893"),
        json!("Organization/1"),
        json!("urn:uuid:1"),
        json!("#x"),
        json!([]),
        json!({}),
        json!("x".repeat(70_000)),
        deep(40),
        deep(200),
    ];
    prop_oneof![
        6 => proptest::sample::select(fixed),
        2 => any::<String>().prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    let key = prop_oneof![
        Just("id".to_string()),
        Just("resourceType".to_string()),
        Just("extension".to_string()),
        Just("stages".to_string()),
        "[a-z_]{1,12}",
    ];
    prop_oneof![
        5 => (any::<usize>(), nasty_json()).prop_map(|(i, v)| JsonEdit::Replace(i, v)),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(i, k)| JsonEdit::Remove(i, k)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(i, k)| JsonEdit::DuplicateItem(i, k)),
        1 => (any::<usize>(), key, nasty_json()).prop_map(|(i, k, v)| JsonEdit::AddKey(i, k, v)),
        1 => any::<usize>().prop_map(JsonEdit::Wrap),
    ]
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        Value::Object(o) => o.values().map(count_nodes).sum(),
        _ => 0,
    }
}

fn node_mut(v: &mut Value, i: usize) -> &mut Value {
    let mut n = i % count_nodes(v);
    // Walk again without raw pointers: find the path first, then borrow along it.
    let mut path = Vec::new();
    fn find(v: &Value, n: &mut usize, path: &mut Vec<usize>) -> bool {
        if *n == 0 {
            return true;
        }
        *n -= 1;
        let children: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) => o.values().collect(),
            _ => return false,
        };
        for (k, c) in children.into_iter().enumerate() {
            path.push(k);
            if find(c, n, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    find(v, &mut n, &mut path);
    let mut cur = v;
    for k in path {
        cur = match cur {
            Value::Array(a) => &mut a[k],
            Value::Object(o) => o.values_mut().nth(k).expect("child"),
            _ => unreachable!("the path follows containers"),
        };
    }
    cur
}

fn apply_json(v: &mut Value, e: &JsonEdit) {
    match e {
        JsonEdit::Replace(i, new) => *node_mut(v, *i) = new.clone(),
        JsonEdit::Remove(i, k) => match node_mut(v, *i) {
            Value::Array(a) if !a.is_empty() => {
                let k = k % a.len();
                a.remove(k);
            }
            Value::Object(o) if !o.is_empty() => {
                let key = o.keys().nth(k % o.len()).cloned().expect("key");
                o.remove(&key);
            }
            _ => {}
        },
        JsonEdit::DuplicateItem(i, k) => {
            if let Value::Array(a) = node_mut(v, *i) {
                if !a.is_empty() {
                    let item = a[k % a.len()].clone();
                    a.push(item);
                }
            }
        }
        JsonEdit::AddKey(i, key, new) => {
            if let Value::Object(o) = node_mut(v, *i) {
                o.insert(key.clone(), new.clone());
            }
        }
        JsonEdit::Wrap(i) => {
            let n = node_mut(v, *i);
            *n = json!([n.take()]);
        }
    }
}

/// A JSON text: one of the seeds with structural edits, sometimes cut short or with a byte
/// changed; or arbitrary text.
fn json_input(seeds: Vec<Value>) -> impl Strategy<Value = Bytes> {
    let mutated = (
        proptest::sample::select(seeds),
        proptest::collection::vec(json_edit(), 0..5),
        proptest::option::weighted(0.15, (any::<usize>(), any::<u8>(), any::<bool>())),
    )
        .prop_map(|(mut v, edits, damage)| {
            for e in &edits {
                apply_json(&mut v, e);
            }
            let mut bytes = serde_json::to_vec(&v).expect("serialize");
            if let Some((at, byte, cut)) = damage {
                let at = at % (bytes.len() + 1);
                if cut {
                    bytes.truncate(at);
                } else {
                    bytes.insert(at, byte);
                }
            }
            Bytes(bytes)
        });
    prop_oneof![
        9 => mutated,
        1 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(Bytes),
    ]
}

// ---------------------------------------------------------------------------------------------
// Organizations CSV

fn organizations_seed() -> Arc<Seed> {
    Seed::parse(
        "name,kind,npi,ccn,address_line1,city,state,zip,latitude,longitude,providers,beds,covered_lives,revenue_band,mission,values,capabilities_offered,capabilities_sought,revenue_model,payer_mix,decision_making,enterprise_objectives,constraints\n\
         Harbor Health,health_system,1234567893,070001,1 Main St,Hartford,CT,06106,41.76,-72.68,1200,450,,over_1b,Care for the valley,trust;equity,primary_care;dental,behavioral_health,fee_for_service,commercial:40;medicare:35;medicaid:25,Board,Grow;Stay local,No layoffs\n\
         Bright Smiles,dental_group,,,9 Elm St,Springfield,MA,1103,,,12,,,under_10m,,,dental,primary_care,,,,,\n\
         \"Valley \"\"Care\"\", Inc\",other,,,,,,,,,,,,,,,,,,,,,\n"
            .as_bytes(),
    )
}

#[test]
fn organizations_csv() {
    fuzz(
        "organizations_csv",
        csv_input(organizations_seed()),
        |input| {
            match parse_organizations(input.0.as_slice()) {
                Ok(rows) => {
                    let mut names = HashSet::new();
                    for r in &rows {
                        let key = concord_domain::text::name_key(&r.profile.name);
                        prop_assert!(names.insert(key), "{:?} twice", r.profile.name);
                        prop_assert!(r.line >= 2, "a data row on line {}", r.line);
                        prop_assert!(!r.profile.name.trim().is_empty());
                        if let Some(npi) = &r.profile.npi {
                            prop_assert!(Npi::parse(npi.as_str()).is_ok(), "{npi:?}");
                        }
                        if let Some(ccn) = &r.profile.ccn {
                            prop_assert!(Ccn::parse(ccn.as_str()).is_ok(), "{ccn:?}");
                        }
                        // What was accepted is accepted again.
                        prop_assert!(r.profile.to_input().validate().is_ok(), "{:?}", r.profile);
                    }
                }
                Err(errors) => check_row_errors(
                    errors.iter().map(|e| (e.line, e.column.as_str())),
                    &input,
                    ORG_COLUMNS,
                )?,
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// The metric ledger: value imports and downloads

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn metric(id: u32, name: &str, cadence: ReportingCadence, owner: i64) -> Metric {
    Metric {
        id: Some(id),
        name: name.into(),
        category: MetricCategory::Access,
        unit: "%".into(),
        direction: Direction::Higher,
        baseline: 10.0,
        target: 50.0,
        target_date: d("2027-12-31"),
        cadence,
        owner: OrgId(owner),
    }
}

#[test]
fn ledger_values_csv() {
    let metrics = vec![
        metric(1, "Screenings", ReportingCadence::Monthly, 7),
        metric(2, "Dental visits", ReportingCadence::Quarterly, 7),
        metric(3, "Cost per patient", ReportingCadence::Annual, 7),
        metric(4, "Partner metric", ReportingCadence::Monthly, 8),
    ];
    let existing: HashSet<(u32, NaiveDate)> = [(1, d("2026-01-01"))].into();
    let today = d("2026-06-15");
    let seed = Seed::parse(
        b"metric,period,value,note,source\n\
          1,2026-02,12.5,from the EHR,EHR\n\
          Screenings,2026-03-01,13,,\n\
          2,2026-Q1,40,\"quoted, note\",survey\n\
          3,2025,310.25,,finance\n\
          dental visits,2026-q2,0,,\n\
          4,2026-02,1,,\n",
    );
    fuzz("ledger_values_csv", csv_input(seed), |input| {
        let ctx = ImportContext {
            metrics: &metrics,
            reporter: OrgId(7),
            today,
            existing: &existing,
        };
        match parse_values_csv(input.0.as_slice(), &ctx) {
            Ok(values) => {
                prop_assert!(!values.is_empty(), "an accepted file has rows");
                let mut keys = HashSet::new();
                for v in &values {
                    let m = metrics.iter().find(|m| m.id == Some(v.metric_id));
                    let m = m.expect("a metric of the charter");
                    prop_assert_eq!(m.owner, OrgId(7));
                    prop_assert!(v.value.is_finite());
                    prop_assert!(period_end(m.cadence, v.period_start).is_some());
                    prop_assert!(v.period_start <= today);
                    let key = (v.metric_id, v.period_start);
                    prop_assert!(!existing.contains(&key), "{key:?} already has a value");
                    prop_assert!(keys.insert(key), "{key:?} twice");
                }
            }
            Err(errors) => {
                let known: Vec<&str> = ledger::IMPORT_COLUMNS
                    .iter()
                    .chain(ledger::IMPORT_OPTIONAL)
                    .copied()
                    .collect();
                check_row_errors(
                    errors.iter().map(|e| (e.line, e.column.as_str())),
                    &input,
                    &known,
                )?
            }
        }
        Ok(())
    });
}

fn sample_chain() -> Vec<Entry> {
    let mut prev = ledger::GENESIS.to_string();
    let mut out = Vec::new();
    for seq in 1..=4i64 {
        let e = Entry {
            seq,
            partnership_id: 1,
            metric_id: 3,
            period_start: d("2026-01-01"),
            period_end: d("2026-01-31"),
            value: format!("{}.5", seq * 10),
            note: "Ünïcode \"quoted\"\nline".into(),
            source: "EHR".into(),
            organization_id: 7,
            reported_by: 9,
            recorded_at: "2026-02-03T10:00:00.000000Z".into(),
            supersedes: (seq == 4).then_some(1),
            reason: if seq == 4 {
                "typo".into()
            } else {
                String::new()
            },
            prev_hash: String::new(),
            hash: String::new(),
        }
        .seal(&prev);
        prev = e.hash.clone();
        out.push(e);
    }
    out
}

#[test]
fn ledger_download_csv() {
    let chain = sample_chain();
    let mut seed = Vec::new();
    write_ledger_csv(&mut seed, &chain).expect("write");
    assert!(verify_chain(&chain).valid, "the seed chain verifies");
    fuzz(
        "ledger_download_csv",
        csv_input(Seed::parse(&seed)),
        |input| {
            match read_ledger_csv(input.0.as_slice()) {
                Ok(entries) => {
                    // Verifying never panics, whatever the file says.
                    let _ = verify_chain(&entries);
                    // What was read is written and read back unchanged.
                    let mut again = Vec::new();
                    write_ledger_csv(&mut again, &entries).expect("write");
                    let back = read_ledger_csv(again.as_slice());
                    prop_assert_eq!(back.as_ref().ok(), Some(&entries));
                }
                Err(errors) => check_row_errors(
                    errors.iter().map(|e| (e.line, e.column.as_str())),
                    &input,
                    ledger::EXPORT_COLUMNS,
                )?,
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Capability catalogue, capability map, adjacency table

#[test]
fn capability_catalogue_csv() {
    fuzz(
        "capability_catalogue_csv",
        csv_input(Seed::file("data/capabilities.csv")),
        |input| {
            // The parser takes text: check against the text it read, not the raw bytes.
            let input = Bytes(input.text().into_bytes());
            match parse_catalogue(&input.text()) {
                Ok(caps) => {
                    let mut codes = HashSet::new();
                    for c in &caps {
                        prop_assert!(CapabilityCode::parse(c.code.as_str()).is_ok());
                        prop_assert!(codes.insert(c.code.clone()), "{} twice", c.code);
                        prop_assert!(!c.name.trim().is_empty());
                    }
                }
                Err(errors) => check_row_errors(
                    errors.iter().map(|e| (e.line, e.column.as_str())),
                    &input,
                    &["code", "name", "category", "continuum_level", "description"],
                )?,
            }
            Ok(())
        },
    );
}

#[test]
fn capability_map_csv() {
    fuzz(
        "capability_map_csv",
        csv_input(Seed::file("data/market/capability_map.csv")),
        |input| {
            // The parser takes text: check against the text it read, not the raw bytes.
            let input = Bytes(input.text().into_bytes());
            match CapabilityMap::parse(&input.text()) {
                Ok(map) => {
                    for cap in map.capabilities() {
                        prop_assert!(!cap.is_empty());
                    }
                }
                Err(errors) => check_row_errors(
                    errors.iter().map(|e| (e.line, e.column.as_str())),
                    &input,
                    &["kind", "value", "capability"],
                )?,
            }
            Ok(())
        },
    );
}

#[test]
fn adjacency_csv() {
    fuzz(
        "adjacency_csv",
        csv_input(Seed::file("data/adjacency.csv")),
        |input| {
            // The parser takes text: check against the text it read, not the raw bytes.
            let input = Bytes(input.text().into_bytes());
            match AdjacencyTable::parse(&input.text()) {
                Ok(table) => {
                    let mut pairs = HashSet::new();
                    for r in table.rows() {
                        prop_assert!(r.capability != r.partner_capability);
                        prop_assert!(
                            pairs.insert((r.capability.clone(), r.partner_capability.clone()))
                        );
                        prop_assert!(r.relation.allowed_types().contains(&r.partnership_type));
                        prop_assert!(!r.rationale.is_empty());
                    }
                }
                Err(errors) => check_row_errors(
                    errors.iter().map(|e| (e.line, e.column.as_str())),
                    &input,
                    &[
                        "capability",
                        "partner_capability",
                        "relation",
                        "partnership_type",
                        "rationale",
                    ],
                )?,
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Market reference files

fn encoding() -> impl Strategy<Value = Encoding> {
    proptest::sample::select(vec![Encoding::Auto, Encoding::Utf8, Encoding::Latin1])
}

/// Checks a reference parser's result: good rows pass `row`, bad ones name a line and column.
fn check_parsed<T>(
    parsed: Result<reference::Parsed<T>, reference::FileError>,
    input: &Bytes,
    row: impl Fn(&T) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    match parsed {
        Ok(p) => {
            prop_assert_eq!(p.rows_read, (p.rows.len() + p.errors.len()) as u64);
            for r in &p.rows {
                row(r)?;
            }
            if !p.errors.is_empty() {
                check_row_errors(
                    p.errors.iter().map(|e| (e.line, e.column.as_str())),
                    input,
                    &[],
                )?;
            }
        }
        Err(e) => prop_assert!(e.0.starts_with("line 1"), "{e}"),
    }
    Ok(())
}

fn is_zip5(z: &str) -> bool {
    z.len() == 5 && z.bytes().all(|b| b.is_ascii_digit())
}

#[test]
fn zip_centroids_csv() {
    let seed = Seed::file("data/market/zcta_centroids_2023_gazetteer.csv");
    fuzz(
        "zip_centroids_csv",
        (csv_input(seed), encoding()),
        |(input, enc)| {
            let parsed = reference::parse_zip_centroids(input.0.as_slice(), enc);
            check_parsed(parsed, &input, |z| {
                prop_assert!(is_zip5(&z.zip), "{z:?}");
                prop_assert!(z.point.latitude.abs() <= 90.0 && z.point.longitude.abs() <= 180.0);
                Ok(())
            })
        },
    );
}

#[test]
fn nucc_taxonomy_csv() {
    let map = CapabilityMap::shipped();
    let seed = Seed::file("data/market/nucc_taxonomy_251.csv");
    fuzz(
        "nucc_taxonomy_csv",
        (csv_input(seed), encoding()),
        |(input, enc)| {
            let parsed = reference::parse_taxonomy(input.0.as_slice(), enc, &map);
            if let Ok(p) = &parsed {
                let mut codes = HashSet::new();
                for t in &p.rows {
                    prop_assert!(codes.insert(t.code.clone()), "{} kept twice", t.code);
                }
            }
            check_parsed(parsed, &input, |t| {
                prop_assert!(is_taxonomy_code(&t.code), "{t:?}");
                prop_assert!(!t.classification.is_empty());
                Ok(())
            })
        },
    );
}

#[test]
fn cms_hospitals_csv() {
    let map = CapabilityMap::shipped();
    let seed = Seed::file("data/market/cms_hospital_general_information.csv");
    fuzz(
        "cms_hospitals_csv",
        (csv_input(seed), encoding()),
        |(input, enc)| {
            let parsed = reference::parse_hospitals(input.0.as_slice(), enc, &map);
            check_parsed(parsed, &input, |h| {
                prop_assert!(Ccn::parse(&h.ccn).is_ok(), "{h:?}");
                prop_assert!(is_zip5(&h.zip), "{h:?}");
                prop_assert!(h.star_rating.is_none_or(|s| (1..=5).contains(&s)));
                prop_assert!(!h.name.is_empty() && h.line >= 2);
                Ok(())
            })
        },
    );
}

#[test]
fn postacute_csv() {
    let map = CapabilityMap::shipped();
    let lists: Vec<(PostacuteList, Arc<Seed>)> = [
        "dialysis",
        "home_health_agencies",
        "hospice",
        "longterm",
        "nursing",
        "rehab",
        "urgent_care_facilities",
        "va_facilities",
    ]
    .iter()
    .map(|f| {
        let name = format!("{f}.csv");
        let list = PostacuteList::from_file_name(&name).expect("a list");
        (list, Seed::file(&format!("data/market/postacute/{name}")))
    })
    .collect();
    let strategy = proptest::sample::select((0..lists.len()).collect::<Vec<_>>())
        .prop_flat_map(|i| (Just(i), encoding()))
        .prop_flat_map({
            let seeds: Vec<Arc<Seed>> = lists.iter().map(|(_, s)| s.clone()).collect();
            move |(i, enc)| (Just(i), Just(enc), csv_input(seeds[i].clone()))
        });
    fuzz("postacute_csv", strategy, |(i, enc, input)| {
        let list = lists[i].0;
        let parsed = reference::parse_postacute(input.0.as_slice(), enc, list, &map);
        check_parsed(parsed, &input, |f| {
            prop_assert!(is_zip5(&f.zip), "{f:?}");
            prop_assert!(!f.id.is_empty() && !f.name.is_empty());
            prop_assert!(f.point.latitude.abs() <= 90.0 && f.point.longitude.abs() <= 180.0);
            prop_assert!(f.beds.is_none_or(|b| b >= 0));
            prop_assert_eq!(f.list, list);
            Ok(())
        })
    });
}

// ---------------------------------------------------------------------------------------------
// NPPES rows

/// The 2018 sample files (organizations and practitioners) as one seed: one header, their rows.
fn nppes_seed() -> Arc<Seed> {
    let orgs = Seed::file("data/market/nppes/plannet_sample_nppes_organizations_2018.csv");
    let people = Seed::file("data/market/nppes/plannet_sample_nppes_practitioners_2018.csv");
    let mut records = orgs.0.clone();
    records.extend(people.0.iter().skip(1).take(400).cloned());
    Arc::new(Seed(records))
}

#[test]
fn nppes_rows() {
    fuzz(
        "nppes_rows",
        (csv_input(nppes_seed()), encoding()),
        |(input, enc)| {
            // As the importer reads the file: a flexible CSV reader, the header, then each record.
            let mut rdr = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(input.0.as_slice());
            let Ok(header) = rdr.byte_headers().cloned() else {
                return Ok(());
            };
            let cols = match NppesColumns::from_header(&header) {
                Ok(c) => c,
                Err(e) => {
                    prop_assert!(e.0.starts_with("line 1"), "{e}");
                    return Ok(());
                }
            };
            prop_assert_eq!(cols.width(), header.len());
            let names: Vec<String> = (0..cols.width())
                .map(|i| cols.name(i).to_string())
                .collect();
            for rec in rdr.byte_records() {
                let Ok(rec) = rec else { continue };
                let line = rec.position().map_or(2, |p| p.line());
                match parse_row(&cols, &rec, line, enc) {
                    Ok(row) => {
                        prop_assert!(Npi::parse(&row.npi).is_ok(), "{row:?}");
                        prop_assert!(row.entity_type <= 2);
                        if row.entity_type != 0 {
                            prop_assert!(!row.name.is_empty(), "{row:?}");
                            prop_assert!(is_zip5(&row.zip), "{row:?}");
                        }
                        let mut seen = HashSet::new();
                        for (i, t) in row.taxonomies.iter().enumerate() {
                            prop_assert!(seen.insert(t.clone()), "{t} twice");
                            prop_assert_eq!(t.to_ascii_uppercase(), t.clone());
                            prop_assert!(
                                usize::from(row.taxonomy_slots[i]) < nppes::TAXONOMY_SLOTS
                            );
                        }
                        // The reference check names a column of the file.
                        if let Err(e) = row.check_references(&cols, line, |_| false, |_| false) {
                            prop_assert!(e.column.is_empty() || names.contains(&e.column), "{e}");
                        }
                    }
                    Err(e) => {
                        prop_assert_eq!(e.line, line);
                        prop_assert!(
                            e.column.is_empty() || names.contains(&e.column),
                            "{e} names no column of the file"
                        );
                    }
                }
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// FHIR import

fn fhir_seeds() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../concord-web/tests/fixtures/fhir");
    let mut seeds: Vec<Value> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "json").then(|| {
                serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("fixture JSON")
            })
        })
        .collect();
    // A Bundle of all of them, so references between resources are exercised too.
    let entries: Vec<Value> = seeds
        .iter()
        .map(|r| json!({ "fullUrl": format!("urn:uuid:{}", r["id"].as_str().unwrap_or("x")), "resource": r }))
        .collect();
    seeds.push(json!({ "resourceType": "Bundle", "type": "collection", "entry": entries }));
    seeds
}

#[test]
fn fhir_import() {
    fuzz("fhir_import", json_input(fhir_seeds()), |input| {
        let text = input.text();
        match fhir::parse_import(&text) {
            Ok(plan) => {
                for o in &plan.organizations {
                    prop_assert!(!o.name.trim().is_empty(), "{o:?}");
                    prop_assert!(o.path.starts_with("Organization"), "{o:?}");
                }
                for a in &plan.affiliations {
                    prop_assert!(a
                        .organization
                        .in_bundle
                        .is_none_or(|i| i < plan.organizations.len()));
                    prop_assert!(a
                        .participating
                        .in_bundle
                        .is_none_or(|i| i < plan.organizations.len()));
                }
            }
            Err(FhirError::Json { line, .. }) => prop_assert!(line >= 1 || text.trim().is_empty()),
            Err(FhirError::Invalid(errors)) => {
                prop_assert!(!errors.is_empty());
                for e in errors.errors() {
                    prop_assert!(!e.field.is_empty(), "{e:?}");
                }
            }
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Charter and journey documents

fn charter_seed() -> Value {
    json!({
        "summary": "Dental care for primary-care patients who have none.",
        "starts_on": "2026-01-01",
        "ends_on": "2028-12-31",
        "goals": [ { "title": "Every diabetic patient sees a dentist yearly", "community_benefit": true } ],
        "alone_goals": [
            { "party": 1, "goal": "Close the oral-health gap in diabetes care", "why": "No dentists on staff" },
            { "party": 2, "goal": "Reach uninsured patients", "why": "No referral base" }
        ],
        "metrics": [
            { "name": "Dental visit within 60 days of referral", "category": "access", "unit": "%",
              "direction": "higher", "baseline": 20.0, "target": 60.0, "target_date": "2027-06-30",
              "cadence": "quarterly", "owner": 2 },
            { "id": 4, "name": "Cost per referred patient", "category": "financial", "unit": "USD",
              "direction": "lower", "baseline": 400.0, "target": 300.0, "target_date": "2027-12-31",
              "cadence": "annual", "owner": 1 }
        ],
        "commitments": [ { "party": 1, "what": "Embed referral in the EHR", "due_on": "2026-03-31" } ],
        "stakes": [
            { "party": 1, "kind": "benefit", "description": "Better diabetes outcomes", "magnitude": "high" },
            { "party": 2, "kind": "risk", "description": "Uncompensated chair time", "magnitude": "medium" }
        ],
        "coopetition": { "areas": [ { "kind": "service_line", "name": "Oral health for diabetics", "stance": "cooperate" } ],
                         "no_competing_areas": true },
        "governance": {
            "alliance_managers": [ { "party": 1, "user_id": 1 }, { "party": 2, "user_id": 2 } ],
            "meeting_cadence": "monthly", "review_interval_months": 6
        },
        "innovation_agenda": [ { "title": "Tele-dentistry screening in clinics" } ],
        "exit_criteria": [ "Two consecutive reviews below half the access target" ],
        "value_flows": [
            { "from": 1, "to": 2, "kind": "referral_volume" },
            { "from": 1, "to": 2, "kind": "shared_savings", "description": "Half of avoided ED visits" }
        ]
    })
}

#[test]
fn charter_document() {
    let parties = [OrgId(1), OrgId(2)];
    let seed: Charter = serde_json::from_value(charter_seed()).expect("seed charter reads");
    assert!(
        seed.validate(&parties, None).is_ok(),
        "the seed charter is valid"
    );
    fuzz(
        "charter_document",
        json_input(vec![charter_seed()]),
        |input| {
            let Ok(charter) = serde_json::from_slice::<Charter>(&input.0) else {
                return Ok(());
            };
            match charter.validate(&parties, None) {
                Ok(clean) => {
                    // A valid charter stays valid, with the same ids, when validated again after itself.
                    let again = clean.validate(&parties, Some(&clean));
                    prop_assert_eq!(again.as_ref().ok(), Some(&clean));
                    let ids: Vec<u32> = clean.metrics.iter().filter_map(|m| m.id).collect();
                    prop_assert_eq!(ids.len(), clean.metrics.len(), "every metric has an id");
                    prop_assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
                }
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    for e in errors.errors() {
                        prop_assert!(!e.field.is_empty(), "{e:?}");
                    }
                }
            }
            Ok(())
        },
    );
}

fn journey_seed() -> Value {
    json!({
        "format": "concord.journey/1",
        "name": "Diabetic patient to dentist",
        "end_user": "patient",
        "lull_threshold_days": 7,
        "design": {
            "stages": [
                { "id": 1, "name": "Referral", "owner": 1, "touchpoints": [ { "channel": "portal", "support": true } ],
                  "know": "Why a dentist", "feel": "Cared for", "do": "Book", "days_to_next": 10, "next_step": "Visit" },
                { "id": 2, "name": "Visit", "owner": 2, "touchpoints": [ { "channel": "in_person" } ] }
            ],
            "handoffs": [ { "id": 1, "from_stage": 1, "to_stage": 2, "channel": "phone", "information": "Chart" } ],
            "assumptions": [ { "id": 1, "statement": "Patients answer the phone", "stages": [1, 2] } ],
            "used_ids": { "stages": 2, "handoffs": 1, "assumptions": 1 }
        },
        "trial_runs": [ {
            "run_on": "2026-11-01", "participants": ["P-01", "P-02"],
            "feedback": [ { "stage": 2, "participant": "P-01", "what_happened": "Waited", "severity": "major" } ]
        } ]
    })
}

#[test]
fn journey_document() {
    let parties = [OrgId(1), OrgId(2)];
    let seed: JourneyExport = serde_json::from_value(journey_seed()).expect("seed journey reads");
    assert!(seed.validate(&parties).is_ok(), "the seed journey is valid");
    fuzz(
        "journey_document",
        json_input(vec![journey_seed()]),
        |input| {
            let Ok(journey) = serde_json::from_slice::<JourneyExport>(&input.0) else {
                return Ok(());
            };
            match journey.validate(&parties) {
                Ok(clean) => {
                    let stages: HashSet<u32> =
                        clean.design.stages.iter().filter_map(|s| s.id).collect();
                    prop_assert_eq!(stages.len(), clean.design.stages.len(), "unique stage ids");
                    for h in &clean.design.handoffs {
                        prop_assert!(
                            stages.contains(&h.from_stage) && stages.contains(&h.to_stage)
                        );
                    }
                    // Feedback names a stage of the design, or one it had and removed (an id up
                    // to `used_ids.stages`), as an exported journey's feedback may.
                    let used = clean.design.used_ids.stages;
                    for r in &clean.trial_runs {
                        for f in &r.feedback {
                            let known = stages.contains(&f.stage) || (1..=used).contains(&f.stage);
                            prop_assert!(known, "{f:?}");
                        }
                    }
                    prop_assert!(clean.validate(&parties).is_ok(), "valid again");
                }
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    for e in errors.errors() {
                        prop_assert!(!e.field.is_empty(), "{e:?}");
                    }
                }
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Identifiers and small values

#[test]
fn npi() {
    let text = prop_oneof![
        "[0-9]{9,11}",
        " ?[0-9 ]{8,12} ?",
        any::<String>(),
        "[0-9]{9}".prop_map(|nine| format!("{nine}{}", npi_check_digit(&nine))),
    ];
    fuzz("npi", text, |s| {
        if let Ok(n) = Npi::parse(&s) {
            let v = n.as_str();
            prop_assert!(v.len() == 10 && v.bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(npi_check_digit(&v[..9]), v.as_bytes()[9] - b'0');
            prop_assert_eq!(v, s.trim());
        }
        let digits: String = s.chars().filter(char::is_ascii_digit).take(9).collect();
        if digits.len() == 9 {
            let full = format!("{digits}{}", npi_check_digit(&digits));
            prop_assert!(Npi::parse(&full).is_ok(), "{full}");
        }
        Ok(())
    });
}

#[test]
fn ccn_email_zip_and_dates() {
    let text = prop_oneof![
        "[0-9A-Za-z]{5,7}",
        "[a-zA-Z0-9._%+-İı]{0,70}@[a-zA-Z0-9.-]{0,30}",
        " ?[0-9]{0,10}(-[0-9]{0,5})? ?",
        "[0-9]{1,2}/[0-9]{1,2}/[0-9]{1,5}",
        any::<String>(),
    ];
    fuzz("ccn_email_zip_and_dates", text, |s| {
        if let Ok(c) = Ccn::parse(&s) {
            prop_assert_eq!(c.as_str().len(), 6);
            prop_assert_eq!(Ccn::parse(c.as_str()), Ok(c.clone()));
        }
        if let Ok(e) = Email::parse(&s) {
            prop_assert!(e.as_str().contains('@') && e.as_str().len() <= 254);
            prop_assert!(!e.as_str().chars().any(char::is_whitespace));
            prop_assert_eq!(
                Email::parse(e.as_str()),
                Ok(e.clone()),
                "parsing is idempotent"
            );
        }
        if let Some(z) = zip5(&s) {
            prop_assert!(is_zip5(&z), "{z:?}");
        }
        if let Ok(Some(date)) = nppes::parse_date(&s) {
            prop_assert_eq!(
                nppes::parse_date(&date.format("%m/%d/%Y").to_string()),
                Ok(Some(date))
            );
        }
        Ok(())
    });
}

#[test]
fn periods() {
    let cadence = proptest::sample::select(vec![
        ReportingCadence::Monthly,
        ReportingCadence::Quarterly,
        ReportingCadence::Annual,
    ]);
    let text = prop_oneof![
        "-?[0-9]{0,7}(-?[Qq]?[0-9]{0,4}(-[0-9]{0,3})?)?",
        " ?[0-9]{4}-[0-9]{2}-[0-9]{2} ?",
        "[0-9+-]{0,12}[Qq][0-9+-]{0,6}",
        any::<String>(),
    ];
    fuzz("periods", (cadence, text), |(cadence, text)| {
        if let Ok(start) = parse_period(cadence, &text) {
            prop_assert!(period_end(cadence, start).is_some(), "{start}");
            prop_assert_eq!(parse_period(cadence, &start.to_string()), Ok(start));
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Regressions: fixed cases for what the targets found

/// Found by `organizations_csv` and `cms_hospitals_csv`: in a CRLF file (what spreadsheets save)
/// and after blank lines, every record was reported one line early, because the csv crate marks a
/// record's start before skipping the `\n` of the previous line end.
#[test]
fn crlf_and_blank_lines_keep_line_numbers() {
    let text =
        "name,kind\r\nGood One,other\r\n\r\nBad One,no_such_kind\r\n\"Two\r\nLines\",nope\r\n";
    let errors = parse_organizations(text.as_bytes()).expect_err("bad kinds");
    let lines: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.column.as_str())).collect();
    assert_eq!(lines, [(4, "kind"), (5, "kind"), (5, "name")], "{errors:?}");

    let errors = parse_organizations(&b"name,kind\n\n\nBad,nope\n"[..]).expect_err("bad kind");
    assert_eq!(errors[0].line, 4, "{errors:?}");

    let map = CapabilityMap::shipped();
    let hospitals = "Facility ID,Facility Name,Address,City/Town,State,ZIP Code,Hospital Type,Hospital Ownership,Emergency Services,Hospital overall rating\r\n\
        010001,SOUTHEAST HEALTH,1108 ROSS CLARK CIRCLE,DOTHAN,AL,36301,Acute Care Hospitals,Government,Yes,4\r\n\
        010005,MARSHALL,2505 US 431,BOAZ,AL,not-a-zip,Acute Care Hospitals,Government,Yes,3\r\n";
    let parsed = reference::parse_hospitals(hospitals.as_bytes(), Encoding::Auto, &map).unwrap();
    assert_eq!(parsed.rows[0].line, 2);
    assert_eq!(
        (parsed.errors[0].line, parsed.errors[0].column.as_str()),
        (3, "ZIP Code")
    );
}

/// Found by `nucc_taxonomy_csv`: a code listed twice was reported on line 0 with no way to find
/// it; it is now refused on its own line, naming the first.
#[test]
fn a_duplicate_taxonomy_code_names_its_line() {
    let text = "Code,Grouping,Classification,Specialization\n\
        207Q00000X,Allopathic & Osteopathic Physicians,Family Medicine,\n\
        122300000X,Dental Providers,Dentist,\n\
        207q00000x,Allopathic & Osteopathic Physicians,Family Medicine,\n";
    let parsed =
        reference::parse_taxonomy(text.as_bytes(), Encoding::Auto, &CapabilityMap::shipped())
            .unwrap();
    assert_eq!(parsed.rows.len(), 2);
    assert_eq!(parsed.rows_read, 3);
    let e = &parsed.errors[0];
    assert_eq!((e.line, e.column.as_str()), (4, "Code"), "{e}");
    assert!(e.message.contains("first on line 2"), "{e}");
}
