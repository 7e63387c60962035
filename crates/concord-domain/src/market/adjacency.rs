//! Adjacency: which partner capabilities complement the service lines an organization already
//! offers, and which partnership type each implies. The table is data (`data/adjacency.csv`:
//! `capability,partner_capability,relation,partnership_type,rationale`), shipped with Concord and
//! parsed once; [`suggestions`] is a pure function over it.
//!
//! Each row reads one way: "an organization that offers `capability` gains from a partner that
//! offers `partner_capability`". Symmetric pairs (primary care ↔ dental) are two rows, each with
//! its own rationale.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;
use utoipa::ToSchema;

use crate::capability::CapabilityCode;
use crate::csv_io::{CsvRows, RowError};
use crate::partnership::PartnershipType;

string_enum! {
    /// How a partner capability relates to one the organization offers.
    pub enum AdjacencyRelation {
        HorizontallyAdjacent = "horizontally_adjacent" => "Horizontally adjacent",
        VerticallyAdjacent = "vertically_adjacent" => "Vertically adjacent",
        Ancillary = "ancillary" => "Ancillary services",
        Infrastructure = "infrastructure" => "Infrastructure",
    }
}

impl AdjacencyRelation {
    /// One line on what the relation means, for the page.
    pub fn description(self) -> &'static str {
        match self {
            Self::HorizontallyAdjacent => {
                "Complementary services at the same level of care: the patient needs both."
            }
            Self::VerticallyAdjacent => {
                "The next levels of the care continuum, before or after yours, and payer with provider."
            }
            Self::Ancillary => "Lab, imaging, pharmacy, durable medical equipment and therapy.",
            Self::Infrastructure => {
                "Non-clinical services: revenue cycle, IT, supply chain, staffing, analytics."
            }
        }
    }

    /// The partnership types a row of this relation may imply.
    pub fn allowed_types(self) -> &'static [PartnershipType] {
        match self {
            Self::HorizontallyAdjacent => &[PartnershipType::HorizontallyAdjacent],
            Self::VerticallyAdjacent => &[PartnershipType::VerticallyAdjacent],
            Self::Ancillary => &[
                PartnershipType::AncillaryService,
                PartnershipType::Wholesale,
            ],
            Self::Infrastructure => &[
                PartnershipType::ServiceProvider,
                PartnershipType::StrategicExecution,
            ],
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Adjacency {
    pub capability: CapabilityCode,
    pub partner_capability: CapabilityCode,
    pub relation: AdjacencyRelation,
    pub partnership_type: PartnershipType,
    pub rationale: String,
}

/// The adjacency table: rows in file order, indexed by the offered capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjacencyTable {
    rows: Vec<Adjacency>,
    by_capability: BTreeMap<CapabilityCode, Vec<usize>>,
}

/// A partner capability worth looking for, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Suggestion {
    /// The capability to look for in a partner.
    pub capability: CapabilityCode,
    pub relation: AdjacencyRelation,
    /// The partnership type such a partnership would be.
    pub partnership_type: PartnershipType,
    /// The organization's own capability that makes this one adjacent.
    pub from: CapabilityCode,
    pub rationale: String,
}

/// The table shipped with Concord.
pub const SHIPPED_ADJACENCY_CSV: &str = include_str!("../../../../data/adjacency.csv");

impl AdjacencyTable {
    /// The shipped table, parsed once. The shipped file is checked by a test (it parses, and
    /// every code is in the shipped capability catalogue), so this never fails in a build that
    /// passed its tests; a broken file yields an empty table rather than a crash.
    pub fn shipped() -> &'static AdjacencyTable {
        static TABLE: OnceLock<AdjacencyTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            AdjacencyTable::parse(SHIPPED_ADJACENCY_CSV).unwrap_or_else(|_| AdjacencyTable {
                rows: Vec::new(),
                by_capability: BTreeMap::new(),
            })
        })
    }

    /// Parses a table, naming the line and column of every problem: bad codes, unknown relation or
    /// partnership type, a type the relation cannot imply, a capability paired with itself, a
    /// pair listed twice, an empty rationale. All or nothing.
    pub fn parse(csv_text: &str) -> Result<AdjacencyTable, Vec<RowError>> {
        let mut rows = CsvRows::new(
            csv_text.as_bytes(),
            &[
                "capability",
                "partner_capability",
                "relation",
                "partnership_type",
                "rationale",
            ],
            &[],
        )?;
        let mut out: Vec<Adjacency> = Vec::new();
        let mut errors = Vec::new();
        while let Some(row) = rows.next_row() {
            let row = match row {
                Ok(r) => r,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let line = row.line;
            let err = |column: &str, message: String| RowError {
                line,
                column: column.to_string(),
                message,
            };
            let mut row_errors = Vec::new();
            let code = |column: &str, errs: &mut Vec<RowError>| match CapabilityCode::parse(
                row.get(column),
            ) {
                Ok(c) => Some(c),
                Err(msg) => {
                    errs.push(err(column, format!("`{}`: {msg}", row.get(column))));
                    None
                }
            };
            let capability = code("capability", &mut row_errors);
            let partner = code("partner_capability", &mut row_errors);
            let relation = row.parse_enum::<AdjacencyRelation>("relation", &mut row_errors);
            let ptype = row.parse_enum::<PartnershipType>("partnership_type", &mut row_errors);
            let rationale = row.get("rationale").to_string();
            if rationale.is_empty() {
                row_errors.push(err("rationale", "must not be empty".into()));
            } else if rationale.chars().count() > 300 {
                row_errors.push(err("rationale", "is longer than 300 characters".into()));
            }
            if let (Some(relation), Some(ptype)) = (relation, ptype) {
                if !relation.allowed_types().contains(&ptype) {
                    row_errors.push(err(
                        "partnership_type",
                        format!(
                            "a `{relation}` row implies {}, not `{ptype}`",
                            relation
                                .allowed_types()
                                .iter()
                                .map(|t| format!("`{t}`"))
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                    ));
                }
            }
            if let (Some(c), Some(p)) = (&capability, &partner) {
                if c == p {
                    row_errors.push(err(
                        "partner_capability",
                        format!("`{p}` cannot be adjacent to itself"),
                    ));
                } else if out
                    .iter()
                    .any(|o| &o.capability == c && &o.partner_capability == p)
                {
                    row_errors.push(err(
                        "partner_capability",
                        format!("the pair `{c}` → `{p}` appears twice"),
                    ));
                }
            }
            match (capability, partner, relation, ptype) {
                (Some(capability), Some(partner_capability), Some(relation), Some(pt))
                    if row_errors.is_empty() =>
                {
                    out.push(Adjacency {
                        capability,
                        partner_capability,
                        relation,
                        partnership_type: pt,
                        rationale,
                    })
                }
                _ => errors.extend(row_errors),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self::from_rows(out))
    }

    fn from_rows(rows: Vec<Adjacency>) -> Self {
        let mut by_capability: BTreeMap<CapabilityCode, Vec<usize>> = BTreeMap::new();
        for (i, r) in rows.iter().enumerate() {
            by_capability
                .entry(r.capability.clone())
                .or_default()
                .push(i);
        }
        AdjacencyTable {
            rows,
            by_capability,
        }
    }

    /// Every row, in file order.
    pub fn rows(&self) -> &[Adjacency] {
        &self.rows
    }

    /// The rows for one offered capability, in file order.
    pub fn for_capability<'a>(
        &'a self,
        capability: &CapabilityCode,
    ) -> impl Iterator<Item = &'a Adjacency> + 'a {
        self.by_capability
            .get(capability)
            .into_iter()
            .flatten()
            .map(|&i| &self.rows[i])
    }

    /// Names every code (by line, 2 being the first data row, and column) that is not in `known`.
    pub fn check_codes(&self, known: &[CapabilityCode]) -> Vec<RowError> {
        let mut out = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            for (column, code) in [
                ("capability", &r.capability),
                ("partner_capability", &r.partner_capability),
            ] {
                if !known.contains(code) {
                    out.push(RowError {
                        line: i as u64 + 2,
                        column: column.into(),
                        message: format!("`{code}` is not in the capability catalogue"),
                    });
                }
            }
        }
        out
    }
}

/// The partner capabilities adjacent to what an organization offers (`own`): one suggestion per
/// (relation, capability), never a capability the organization already offers, ordered by
/// relation (horizontal, vertical, ancillary, infrastructure) then capability code. When several
/// of the organization's capabilities lead to the same suggestion, `from` is the smallest code
/// among them, so the answer does not depend on the order of `own`.
pub fn suggestions(table: &AdjacencyTable, own: &[CapabilityCode]) -> Vec<Suggestion> {
    let mut best: BTreeMap<(AdjacencyRelation, &CapabilityCode), &Adjacency> = BTreeMap::new();
    for c in own {
        for row in table.for_capability(c) {
            if own.contains(&row.partner_capability) {
                continue;
            }
            best.entry((row.relation, &row.partner_capability))
                .and_modify(|cur| {
                    if row.capability < cur.capability {
                        *cur = row;
                    }
                })
                .or_insert(row);
        }
    }
    best.into_values()
        .map(|r| Suggestion {
            capability: r.partner_capability.clone(),
            relation: r.relation,
            partnership_type: r.partnership_type,
            from: r.capability.clone(),
            rationale: r.rationale.clone(),
        })
        .collect()
}

/// The capabilities to look for when a partnership type is wanted rather than a capability
/// (`type=horizontally_adjacent` in the market scan): the distinct suggested capabilities whose
/// row implies that type, in code order.
pub fn capabilities_for_type(
    table: &AdjacencyTable,
    own: &[CapabilityCode],
    partnership_type: PartnershipType,
) -> Vec<CapabilityCode> {
    let mut out: Vec<CapabilityCode> = suggestions(table, own)
        .into_iter()
        .filter(|s| s.partnership_type == partnership_type)
        .map(|s| s.capability)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::{parse_catalogue, SHIPPED_CATALOGUE_CSV};

    fn code(s: &str) -> CapabilityCode {
        CapabilityCode::parse(s).unwrap()
    }

    #[test]
    fn shipped_table_is_valid_against_the_shipped_catalogue() {
        let table = AdjacencyTable::parse(SHIPPED_ADJACENCY_CSV).expect("shipped table parses");
        let known: Vec<CapabilityCode> = parse_catalogue(SHIPPED_CATALOGUE_CSV)
            .unwrap()
            .into_iter()
            .map(|c| c.code)
            .collect();
        assert_eq!(table.check_codes(&known), Vec::<RowError>::new());
        assert_eq!(AdjacencyTable::shipped(), &table);
        assert!(table.rows().len() > 100);
        for relation in AdjacencyRelation::ALL {
            assert!(table.rows().iter().any(|r| r.relation == *relation));
        }
    }

    #[test]
    fn shipped_table_covers_the_brief() {
        let t = AdjacencyTable::shipped();
        let has = |a: &str, b: &str, rel: AdjacencyRelation| {
            t.rows().iter().any(|r| {
                r.capability.as_str() == a
                    && r.partner_capability.as_str() == b
                    && r.relation == rel
            })
        };
        use AdjacencyRelation::*;
        assert!(has("primary_care", "dental", HorizontallyAdjacent));
        assert!(has("dental", "primary_care", HorizontallyAdjacent));
        assert!(has("vascular", "podiatry", HorizontallyAdjacent));
        assert!(has("podiatry", "vascular", HorizontallyAdjacent));
        assert!(has("endocrinology", "podiatry", HorizontallyAdjacent));
        assert!(has(
            "inpatient_acute",
            "skilled_nursing",
            VerticallyAdjacent
        ));
        assert!(has("inpatient_acute", "home_health", VerticallyAdjacent));
        assert!(has("inpatient_acute", "rehabilitation", VerticallyAdjacent));
        assert!(has("primary_care", "cardiology", VerticallyAdjacent));
        assert!(has("health_plan", "primary_care", VerticallyAdjacent));
        assert!(has("primary_care", "health_plan", VerticallyAdjacent));
        for anc in ["lab", "imaging", "pharmacy"] {
            assert!(has("primary_care", anc, Ancillary));
        }
        assert!(has("inpatient_acute", "dme", Ancillary));
        assert!(has("orthopedics", "physical_therapy", Ancillary));
        for infra in ["revenue_cycle", "it", "supply_chain", "staffing"] {
            assert!(has("inpatient_acute", infra, Infrastructure));
        }
    }

    #[test]
    fn suggestions_for_a_primary_care_group() {
        let s = suggestions(AdjacencyTable::shipped(), &[code("primary_care")]);
        let dental = s
            .iter()
            .find(|s| s.capability.as_str() == "dental")
            .unwrap();
        assert_eq!(dental.relation, AdjacencyRelation::HorizontallyAdjacent);
        assert_eq!(
            dental.partnership_type,
            PartnershipType::HorizontallyAdjacent
        );
        assert_eq!(dental.from.as_str(), "primary_care");
        assert!(!dental.rationale.is_empty());
        // Ordered by relation then capability.
        for w in s.windows(2) {
            assert!((w[0].relation, &w[0].capability) < (w[1].relation, &w[1].capability));
        }
    }

    #[test]
    fn what_the_organization_offers_is_never_suggested() {
        let own = [code("primary_care"), code("dental"), code("lab")];
        let s = suggestions(AdjacencyTable::shipped(), &own);
        assert!(!s.is_empty());
        assert!(s.iter().all(|s| !own.contains(&s.capability)));
    }

    #[test]
    fn duplicates_keep_the_smallest_source() {
        // vascular and endocrinology both lead to podiatry (horizontal).
        let s = suggestions(
            AdjacencyTable::shipped(),
            &[code("vascular"), code("endocrinology")],
        );
        let pod: Vec<_> = s
            .iter()
            .filter(|s| s.capability.as_str() == "podiatry")
            .collect();
        assert_eq!(pod.len(), 1);
        assert_eq!(pod[0].from.as_str(), "endocrinology");
    }

    #[test]
    fn capabilities_for_a_type() {
        let caps = capabilities_for_type(
            AdjacencyTable::shipped(),
            &[code("primary_care")],
            PartnershipType::HorizontallyAdjacent,
        );
        assert!(caps.contains(&code("dental")));
        assert!(!caps.contains(&code("lab")));
    }

    #[test]
    fn unknown_capabilities_give_nothing() {
        assert!(suggestions(AdjacencyTable::shipped(), &[code("no_such_thing")]).is_empty());
        assert!(suggestions(AdjacencyTable::shipped(), &[]).is_empty());
    }

    #[test]
    fn bad_rows_are_named_by_line_and_column() {
        let csv = "capability,partner_capability,relation,partnership_type,rationale\n\
                   primary_care,dental,horizontally_adjacent,horizontally_adjacent,ok\n\
                   primary_care,dental,horizontally_adjacent,horizontally_adjacent,again\n\
                   Bad,dental,sideways,wholesale,x\n\
                   lab,lab,ancillary,ancillary_service,x\n\
                   lab,imaging,ancillary,vertically_adjacent,\n";
        let errs = AdjacencyTable::parse(csv).unwrap_err();
        let at: Vec<(u64, &str)> = errs.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(
            at,
            vec![
                (3, "partner_capability"),
                (4, "capability"),
                (4, "relation"),
                (5, "partner_capability"),
                (6, "rationale"),
                (6, "partnership_type"),
            ]
        );
    }

    #[test]
    fn a_wrong_header_is_refused() {
        let errs = AdjacencyTable::parse("capability,partner,relation\n").unwrap_err();
        assert!(errs.iter().all(|e| e.line == 1));
        assert!(errs.iter().any(|e| e.column == "partner_capability"));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn catalogue() -> Vec<CapabilityCode> {
        crate::capability::parse_catalogue(crate::capability::SHIPPED_CATALOGUE_CSV)
            .unwrap()
            .into_iter()
            .map(|c| c.code)
            .collect()
    }

    proptest! {
        #[test]
        fn suggestions_are_sorted_unique_and_exclude_own(
            picks in proptest::collection::vec(0usize..50, 0..8),
            reverse in any::<bool>(),
        ) {
            let cat = catalogue();
            let mut own: Vec<CapabilityCode> =
                picks.iter().map(|i| cat[i % cat.len()].clone()).collect();
            let s = suggestions(AdjacencyTable::shipped(), &own);
            for w in s.windows(2) {
                prop_assert!((w[0].relation, &w[0].capability) < (w[1].relation, &w[1].capability));
            }
            for x in &s {
                prop_assert!(!own.contains(&x.capability));
                prop_assert!(own.contains(&x.from));
                prop_assert!(x.relation.allowed_types().contains(&x.partnership_type));
            }
            if reverse {
                own.reverse();
                prop_assert_eq!(suggestions(AdjacencyTable::shipped(), &own), s);
            }
        }
    }
}
