//! Partner discovery: public reference data (NPPES, NUCC, CMS), the market scan, adjacency, fit
//! scorecards, the ecosystem map and FHIR R4. Each file holds one rule set; all of it is pure.

pub mod adjacency;
pub mod ecosystem_map;
pub mod geo;
pub mod nppes;
pub mod plot;
pub mod reference;
pub mod scan;
pub mod scorecard;
