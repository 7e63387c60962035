//! The reference-data rules: NPPES columns found by name in both the 2018 (329-column) and the
//! current (330-column) form, row parsing and its errors, the practice key and aggregation, and
//! the capability mapping shipped as data.

use std::path::{Path, PathBuf};

use concord_domain::market::nppes::{
    self, key_hash, parse_row, practice_key, NppesColumns, PracticeAggregator, NO_TAXONOMY,
};
use concord_domain::market::reference::{
    self, decode, zip5, CapabilityMap, Encoding, PostacuteList,
};
use csv::ByteRecord;
use proptest::prelude::*;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/market")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data().join(rel)).unwrap()
}

/// The header of the 2018 sample (329 columns).
fn header_2018() -> ByteRecord {
    let bytes = read("nppes/plannet_sample_nppes_organizations_2018.csv");
    let mut rdr = csv::ReaderBuilder::new().from_reader(&bytes[..]);
    rdr.byte_headers().unwrap().clone()
}

/// The header of the current full file (330 columns), from its published layout.
fn header_2025() -> ByteRecord {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/npidata_pfile_20250608_columns.csv"),
    )
    .unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let names: Vec<String> = rdr
        .records()
        .map(|r| r.unwrap().get(1).unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 330);
    ByteRecord::from(names)
}

/// A row for `header` with the named fields set and the rest empty.
fn row(header: &ByteRecord, fields: &[(&str, &str)]) -> ByteRecord {
    let mut out = vec![String::new(); header.len()];
    for (name, value) in fields {
        let i = header
            .iter()
            .position(|h| h == name.as_bytes())
            .unwrap_or_else(|| panic!("no column {name}"));
        out[i] = value.to_string();
    }
    ByteRecord::from(out)
}

fn dentist(npi: &str) -> Vec<(&str, &str)> {
    vec![
        ("NPI", npi),
        ("Entity Type Code", "1"),
        ("Provider Last Name (Legal Name)", "SMITH"),
        ("Provider First Name", "JANE"),
        ("Provider Credential Text", "DDS"),
        (
            "Provider First Line Business Practice Location Address",
            "100 MAIN ST.",
        ),
        (
            "Provider Second Line Business Practice Location Address",
            "SUITE 2",
        ),
        (
            "Provider Business Practice Location Address City Name",
            "HARTFORD",
        ),
        (
            "Provider Business Practice Location Address State Name",
            "ct",
        ),
        (
            "Provider Business Practice Location Address Postal Code",
            "061061234",
        ),
        ("Provider Enumeration Date", "05/23/2005"),
        ("Healthcare Provider Taxonomy Code_1", "122300000X"),
        ("Healthcare Provider Primary Taxonomy Switch_1", "N"),
        ("Healthcare Provider Taxonomy Code_2", "1223G0001X"),
        ("Healthcare Provider Primary Taxonomy Switch_2", "Y"),
    ]
}

#[test]
fn both_header_forms_parse_the_same_row() {
    for header in [header_2018(), header_2025()] {
        let cols = NppesColumns::from_header(&header).unwrap();
        assert_eq!(cols.width(), header.len());
        let r = parse_row(
            &cols,
            &row(&header, &dentist("1234567893")),
            2,
            Encoding::Auto,
        )
        .unwrap();
        assert_eq!(r.npi, "1234567893");
        assert_eq!(r.entity_type, 1);
        assert_eq!(r.name, "JANE SMITH");
        assert_eq!(r.credential, "DDS");
        assert_eq!(r.address, "100 MAIN ST., SUITE 2");
        assert_eq!(r.state, "CT");
        assert_eq!(r.zip, "06106");
        // The primary comes first whatever its slot.
        assert_eq!(r.taxonomies, vec!["1223G0001X", "122300000X"]);
        assert_eq!(r.taxonomy_slots[..2], [1, 0]);
        assert_eq!(r.enumerated_on.unwrap().to_string(), "2005-05-23");
        assert!(!r.is_deactivated());
    }
}

#[test]
fn every_shipped_sample_row_parses() {
    for file in [
        "nppes/plannet_sample_nppes_practitioners_2018.csv",
        "nppes/plannet_sample_nppes_organizations_2018.csv",
    ] {
        let bytes = read(file);
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(&bytes[..]);
        let cols = NppesColumns::from_header(rdr.byte_headers().unwrap()).unwrap();
        let mut n = 0;
        for rec in rdr.byte_records() {
            let rec = rec.unwrap();
            let line = rec.position().unwrap().line();
            let r = parse_row(&cols, &rec, line, Encoding::Auto)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(r.entity_type == 1 || r.entity_type == 2);
            assert!(!r.taxonomies.is_empty(), "{file} line {line}");
            n += 1;
        }
        assert!(n >= 40);
    }
}

#[test]
fn malformed_rows_name_their_line_and_column() {
    let header = header_2025();
    let cols = NppesColumns::from_header(&header).unwrap();
    let parse =
        |fields: Vec<(&str, &str)>| parse_row(&cols, &row(&header, &fields), 7, Encoding::Auto);

    let e = parse(dentist("1234567890")).unwrap_err();
    assert_eq!((e.line, e.column.as_str()), (7, "NPI"));
    assert!(e.message.contains("check digit"), "{e}");

    let mut f = dentist("1234567893");
    f[1] = ("Entity Type Code", "3");
    let e = parse(f).unwrap_err();
    assert_eq!(e.column, "Entity Type Code");

    let mut f = dentist("1234567893");
    f[9] = (
        "Provider Business Practice Location Address Postal Code",
        "CT",
    );
    let e = parse(f).unwrap_err();
    assert_eq!(
        e.column,
        "Provider Business Practice Location Address Postal Code"
    );

    let mut f = dentist("1234567893");
    f[10] = ("Provider Enumeration Date", "2005/23/05");
    assert_eq!(parse(f).unwrap_err().column, "Provider Enumeration Date");

    // Too few fields.
    let short = ByteRecord::from(vec!["1234567893", "1"]);
    let e = parse_row(&cols, &short, 9, Encoding::Auto).unwrap_err();
    assert_eq!(e.line, 9);
    assert!(e.message.contains("expected 330 fields, found 2"), "{e}");

    // Invalid UTF-8 is a bad row only when UTF-8 was asked for.
    let mut rec = row(&header, &dentist("1234567893"));
    let i = header
        .iter()
        .position(|h| h == b"Provider Last Name (Legal Name)")
        .unwrap();
    let mut fields: Vec<Vec<u8>> = rec.iter().map(<[u8]>::to_vec).collect();
    fields[i] = b"MU\xd1OZ".to_vec();
    rec = ByteRecord::from(fields);
    assert_eq!(
        parse_row(&cols, &rec, 3, Encoding::Auto).unwrap().name,
        "JANE MUÑOZ"
    );
    let e = parse_row(&cols, &rec, 3, Encoding::Utf8).unwrap_err();
    assert_eq!(e.column, "Provider Last Name (Legal Name)");

    // References: an unknown taxonomy names its slot; a ZIP without a centroid names the ZIP.
    let r = parse(dentist("1234567893")).unwrap();
    let e = r
        .check_references(&cols, 7, |c| c != "122300000X", |_| true)
        .unwrap_err();
    assert_eq!(e.column, "Healthcare Provider Taxonomy Code_1");
    let e = r
        .check_references(&cols, 7, |c| c != "1223G0001X", |_| true)
        .unwrap_err();
    assert_eq!(e.column, "Healthcare Provider Taxonomy Code_2");
    let e = r
        .check_references(&cols, 7, |_| true, |_| false)
        .unwrap_err();
    assert!(e.message.contains("06106"), "{e}");
}

#[test]
fn deactivation_and_reactivation() {
    let header = header_2025();
    let cols = NppesColumns::from_header(&header).unwrap();
    let mut f = dentist("1234567893");
    f.push(("NPI Deactivation Date", "03/16/2006"));
    let r = parse_row(&cols, &row(&header, &f), 2, Encoding::Auto).unwrap();
    assert!(r.is_deactivated());
    f.push(("NPI Reactivation Date", "03/20/2006"));
    let r = parse_row(&cols, &row(&header, &f), 2, Encoding::Auto).unwrap();
    assert!(!r.is_deactivated());
    // CMS blanks everything but the NPI and the date of a deactivated record.
    let blank = row(
        &header,
        &[
            ("NPI", "1234567893"),
            ("NPI Deactivation Date", "02/01/2019"),
        ],
    );
    let r = parse_row(&cols, &blank, 2, Encoding::Auto).unwrap();
    assert_eq!(r.entity_type, 0);
    assert!(r.is_deactivated());
    assert!(r.check_references(&cols, 2, |_| true, |_| false).is_ok());
}

#[test]
fn a_file_that_is_not_nppes_is_refused_by_its_header() {
    let e = NppesColumns::from_header(&ByteRecord::from(vec!["a", "b"])).unwrap_err();
    assert!(e.0.contains("line 1"), "{}", e.0);
}

#[test]
fn the_shipped_capability_map_names_catalogue_capabilities_only() {
    let map = CapabilityMap::parse(reference::SHIPPED_CAPABILITY_MAP_CSV).unwrap();
    let catalogue: Vec<String> = concord_domain::capability::parse_catalogue(
        concord_domain::capability::SHIPPED_CATALOGUE_CSV,
    )
    .unwrap()
    .into_iter()
    .map(|c| c.code.as_str().to_string())
    .collect();
    for cap in map.capabilities() {
        assert!(
            catalogue.iter().any(|c| c == cap),
            "{cap} is not in the catalogue"
        );
    }
    assert_eq!(map.taxonomy("Dentist", "General Practice"), Some("dental"));
    assert_eq!(map.taxonomy("Podiatrist", ""), Some("podiatry"));
    assert_eq!(
        map.taxonomy("Internal Medicine", "Cardiovascular Disease"),
        Some("cardiology")
    );
    assert_eq!(map.taxonomy("Internal Medicine", ""), Some("primary_care"));
    assert_eq!(map.taxonomy("Home Health", ""), Some("home_health"));
    assert_eq!(
        map.taxonomy("Clinic/Center", "Federally Qualified Health Center (FQHC)"),
        Some("primary_care")
    );
    assert_eq!(map.taxonomy("Veterinarian", ""), None);
    // The hospital type's own capability first (the scan ranks it as the main one), then the
    // emergency department.
    assert_eq!(
        map.hospital("Acute Care Hospitals", true),
        vec!["inpatient_acute".to_string(), "emergency".to_string()]
    );
    assert_eq!(
        map.postacute(PostacuteList::HomeHealth),
        vec!["home_health".to_string()]
    );
    for list in PostacuteList::ALL {
        assert!(!map.postacute(*list).is_empty(), "{list}");
    }
}

#[test]
fn bad_capability_map_rows_are_named() {
    let errs = CapabilityMap::parse("kind,value,capability\nnucc_specialization,Dentist,dental\nwhat,x,y\npostacute,moon,hospice\n")
        .unwrap_err();
    let lines: Vec<(u64, &str)> = errs.iter().map(|e| (e.line, e.column.as_str())).collect();
    assert_eq!(lines, vec![(2, "value"), (3, "kind"), (4, "value")]);
}

#[test]
fn the_shipped_reference_files_parse() {
    let map = CapabilityMap::shipped();
    let zips = reference::parse_zip_centroids(
        &read("zcta_centroids_2023_gazetteer.csv")[..],
        Encoding::Auto,
    )
    .unwrap();
    assert_eq!((zips.rows.len(), zips.errors.len()), (33_791, 0));
    let tax = reference::parse_taxonomy(&read("nucc_taxonomy_251.csv")[..], Encoding::Auto, &map)
        .unwrap();
    assert_eq!((tax.rows.len(), tax.errors.len()), (883, 0));
    let dentist = tax.rows.iter().find(|t| t.code == "1223G0001X").unwrap();
    assert_eq!(dentist.capability.as_deref(), Some("dental"));
    assert!(tax.rows.iter().filter(|t| t.capability.is_some()).count() > 300);
    let hospitals = reference::parse_hospitals(
        &read("cms_hospital_general_information.csv")[..],
        Encoding::Auto,
        &map,
    )
    .unwrap();
    assert_eq!(hospitals.rows_read, 5_421);
    assert!(
        hospitals.errors.is_empty(),
        "{:?}",
        &hospitals.errors[..hospitals.errors.len().min(3)]
    );
    assert!(hospitals.rows.iter().any(|h| h.star_rating == Some(5)));
    for (file, list) in [
        ("nursing.csv", PostacuteList::Nursing),
        ("home_health_agencies.csv", PostacuteList::HomeHealth),
        ("hospice.csv", PostacuteList::Hospice),
        ("longterm.csv", PostacuteList::Longterm),
        ("rehab.csv", PostacuteList::Rehab),
        ("dialysis.csv", PostacuteList::Dialysis),
        ("urgent_care_facilities.csv", PostacuteList::UrgentCare),
        ("va_facilities.csv", PostacuteList::Va),
    ] {
        assert_eq!(PostacuteList::from_file_name(file), Some(list));
        let p = reference::parse_postacute(
            &read(&format!("postacute/{file}"))[..],
            Encoding::Auto,
            list,
            &map,
        )
        .unwrap();
        assert!(
            p.rows.len() as u64 + 10 >= p.rows_read,
            "{file}: {:?}",
            &p.errors[..p.errors.len().min(3)]
        );
        if list == PostacuteList::Nursing {
            assert!(p.rows.iter().all(|f| f.beds.is_some()));
        }
    }
}

#[test]
fn bad_reference_rows_name_line_and_column() {
    let map = CapabilityMap::shipped();
    let z = reference::parse_zip_centroids(
        &b"GEOID,LAT,LONG\n06106,41.7,-72.7\n6106x,1,1\n06107,95,0\n06108,abc,0\n06109,1\n"[..],
        Encoding::Auto,
    )
    .unwrap();
    assert_eq!(z.rows.len(), 1);
    let e: Vec<(u64, &str)> = z
        .errors
        .iter()
        .map(|e| (e.line, e.column.as_str()))
        .collect();
    assert_eq!(e, vec![(3, "GEOID"), (4, "LAT"), (5, "LAT"), (6, "")]);
    let missing = reference::parse_hospitals(&b"a,b\n1,2\n"[..], Encoding::Auto, &map).unwrap_err();
    assert!(missing.0.contains("Facility ID"), "{}", missing.0);
    let f = reference::parse_postacute(
        &b",id,name,address,city,state,zip,beds,LAT,LON\n0,075001,A,1 Main,Hartford,CT,06106,12,41.7,-72.7\n1,075002,B,2 Main,Hartford,CT,06106,many,41.7,-72.7\n"[..],
        Encoding::Auto,
        PostacuteList::Nursing,
        &map,
    )
    .unwrap();
    assert_eq!(f.rows.len(), 1);
    assert_eq!((f.errors[0].line, f.errors[0].column.as_str()), (3, "beds"));
}

#[test]
fn practices_group_individuals_by_normalised_address() {
    let header = header_2025();
    let cols = NppesColumns::from_header(&header).unwrap();
    let mut agg = PracticeAggregator::default();
    let addresses = ["100 MAIN ST.", "100 Main St", "100  MAIN  ST", "200 ELM ST"];
    for (i, a) in addresses.iter().enumerate() {
        let mut f = dentist("1234567893");
        f[5] = ("Provider First Line Business Practice Location Address", a);
        let r = parse_row(&cols, &row(&header, &f), 2, Encoding::Auto).unwrap();
        agg.add(&r, if i == 0 { 7 } else { 3 }, 1 << i);
    }
    let mut practices: Vec<_> = agg.into_practices().collect();
    practices.sort_by_key(|p| std::cmp::Reverse(p.providers));
    assert_eq!(practices.len(), 2);
    assert_eq!(practices[0].providers, 3);
    assert_eq!(practices[0].key, "100 MAIN ST|06106");
    assert_eq!(practices[0].taxonomies, vec![3, 7]);
    assert_eq!(practices[0].capabilities, 0b111);
    assert_eq!(practices[0].city, "HARTFORD");
    assert_eq!(practices[1].providers, 1);
}

proptest! {
    #[test]
    fn practice_keys_ignore_case_and_punctuation(words in proptest::collection::vec("[A-Za-z0-9]{1,8}", 1..6), zip in "[0-9]{5}") {
        let plain = words.join(" ");
        let noisy = words.iter().map(|w| format!("  {}.,", w.to_lowercase())).collect::<String>();
        prop_assert_eq!(practice_key(&plain, &zip), practice_key(&noisy, &zip));
        prop_assert_eq!(key_hash(&practice_key(&plain, &zip)), key_hash(&practice_key(&noisy, &zip)));
    }

    #[test]
    fn aggregation_counts_every_provider_once(codes in proptest::collection::vec((0u8..5, 0u16..3), 1..200)) {
        let header = header_2018();
        let cols = NppesColumns::from_header(&header).unwrap();
        let mut agg = PracticeAggregator::default();
        let mut by_address = std::collections::HashMap::<u8, std::collections::HashMap<u16, u32>>::new();
        for (addr, tax) in &codes {
            let line = format!("{addr} MAIN ST");
            let mut f = dentist("1234567893");
            f[5] = ("Provider First Line Business Practice Location Address", &line);
            let r = parse_row(&cols, &row(&header, &f), 2, Encoding::Auto).unwrap();
            agg.add(&r, *tax, 1u64 << tax);
            *by_address.entry(*addr).or_default().entry(*tax).or_default() += 1;
        }
        let practices: Vec<_> = agg.into_practices().collect();
        prop_assert_eq!(practices.len(), by_address.len());
        prop_assert_eq!(practices.iter().map(|p| p.providers as usize).sum::<usize>(), codes.len());
        for p in practices {
            let addr: u8 = p.key.split(' ').next().unwrap().parse().unwrap();
            let counts = &by_address[&addr];
            // With at most four codes per address the order is exact: most common first.
            let best = counts.values().max().unwrap();
            prop_assert_eq!(counts[&p.taxonomies[0]], *best);
            prop_assert_eq!(p.taxonomies.len(), counts.len());
            prop_assert!(!p.taxonomies.contains(&NO_TAXONOMY));
        }
    }

    #[test]
    fn zip5_keeps_five_digit_zips_and_cuts_zip4(zip in "[0-9]{5}", plus in "[0-9]{4}") {
        prop_assert_eq!(zip5(&zip), Some(zip.clone()));
        prop_assert_eq!(zip5(&format!("{zip}{plus}")), Some(zip.clone()));
        prop_assert_eq!(zip5(&format!("{zip}-{plus}")), Some(zip.clone()));
    }

    #[test]
    fn latin1_decoding_never_fails_and_keeps_every_byte(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let s = decode(&bytes, Encoding::Latin1).unwrap();
        prop_assert_eq!(s.chars().count(), bytes.len());
        prop_assert!(s.chars().zip(&bytes).all(|(c, b)| c as u32 == u32::from(*b)));
        prop_assert!(decode(&bytes, Encoding::Auto).is_some());
    }

    #[test]
    fn any_valid_npi_parses_and_any_other_check_digit_does_not(nine in "[1-2][0-9]{8}", wrong in 0u8..10) {
        let header = header_2025();
        let cols = NppesColumns::from_header(&header).unwrap();
        let check = concord_domain::organization::npi_check_digit(&nine);
        let good = format!("{nine}{check}");
        prop_assert!(parse_row(&cols, &row(&header, &dentist(&good)), 2, Encoding::Auto).is_ok());
        if wrong != check {
            let bad = format!("{nine}{wrong}");
            let e = parse_row(&cols, &row(&header, &dentist(&bad)), 2, Encoding::Auto).unwrap_err();
            prop_assert_eq!(e.column, "NPI");
        }
    }
}

#[test]
fn dates_parse_in_both_forms() {
    assert!(nppes::parse_date("02/29/2024").unwrap().is_some());
    assert!(nppes::parse_date("02/30/2024").is_err());
}
