//! The market scan over the imported reference data.
//!
//! A scan is an index range read: `market_candidate_cells` is keyed by (capability, grid cell,
//! candidate), so the candidates offering the wanted capabilities in the few cells around the
//! origin ([`cells_within`]) are read by primary key, joined to `market_sources` so only the
//! ACTIVE version of each source is seen (a re-import in progress is invisible), and to
//! `market_candidates` for their details, with a latitude/longitude bounding box so rows in the
//! cells' corners are not even sent. The exact distance filter, the score, the sort and the page
//! are the domain's ([`concord_domain::market::scan::rank`]). JSON columns are parsed in Rust, and
//! only for candidates inside the radius.

use concord_domain::capability::CapabilityCode;
use concord_domain::market::adjacency::{capabilities_for_type, AdjacencyTable};
use concord_domain::market::geo::{cells_within, distance_miles, Point, EARTH_RADIUS_MILES};
use concord_domain::market::scan::{
    rank, Candidate, CandidateKind, OriginFrom, ScanFilters, ScanParams, ScanRun, ScanSort, Wanted,
};
use concord_domain::organization::Organization;
use concord_domain::ValidationErrors;

use crate::{Store, StoreError};

#[derive(sqlx::FromRow)]
struct CandidateRow {
    id: i64,
    source: String,
    kind: String,
    #[sqlx(rename = "ref")]
    reference: String,
    name: String,
    address: String,
    city: String,
    state: String,
    zip: String,
    latitude: f64,
    longitude: f64,
    providers: Option<i32>,
    beds: Option<i32>,
    specialties: String,
    capabilities: String,
    facility_type: Option<String>,
    ownership: Option<String>,
    star_rating: Option<i32>,
}

fn corrupt(id: i64, what: &str) -> StoreError {
    StoreError::Corrupt(format!("market candidate {id}: {what}"))
}

impl CandidateRow {
    fn into_candidate(self, location: Point) -> Result<Candidate, StoreError> {
        let id = self.id;
        let specialties: Vec<String> =
            serde_json::from_str(&self.specialties).map_err(|_| corrupt(id, "specialties"))?;
        let codes: Vec<String> =
            serde_json::from_str(&self.capabilities).map_err(|_| corrupt(id, "capabilities"))?;
        let capabilities = codes
            .iter()
            .map(|c| CapabilityCode::parse(c).map_err(|_| corrupt(id, "capability code")))
            .collect::<Result<Vec<_>, _>>()?;
        let count = |v: Option<i32>| v.and_then(|n| u32::try_from(n).ok());
        Ok(Candidate {
            id,
            kind: self
                .kind
                .parse::<CandidateKind>()
                .map_err(|_| corrupt(id, "kind"))?,
            source: self.source,
            reference: self.reference,
            name: self.name,
            address: self.address,
            city: self.city,
            state: self.state,
            zip: self.zip,
            location,
            providers: count(self.providers),
            beds: count(self.beds),
            specialties,
            capabilities,
            facility_type: self.facility_type,
            ownership: self.ownership,
            star_rating: self
                .star_rating
                .and_then(|s| u8::try_from(s).ok())
                .filter(|s| (1..=5).contains(s)),
        })
    }
}

/// Miles per degree of latitude.
const MILES_PER_DEGREE: f64 = EARTH_RADIUS_MILES * std::f64::consts::PI / 180.0;

impl Store {
    /// Where a scan around `org` starts: its latitude and longitude, or else the centroid of its
    /// ZIP in the active ZIP source. `None` when it has neither.
    pub async fn market_origin(
        &self,
        org: &Organization,
    ) -> Result<Option<(Point, OriginFrom)>, StoreError> {
        let a = &org.profile.address;
        if let (Some(lat), Some(lon)) = (a.latitude, a.longitude) {
            if let Some(p) = Point::new(lat, lon) {
                return Ok(Some((p, OriginFrom::Location)));
            }
        }
        let Some(zip) = a.zip.as_deref().map(|z| z.get(..5).unwrap_or(z)) else {
            return Ok(None);
        };
        let row: Option<(f64, f64)> = run!(&self.read, |p| {
            sqlx::query_as(
                "SELECT z.latitude, z.longitude FROM market_zips z \
                 JOIN market_sources s ON s.source = 'zip' AND s.version = z.version \
                 WHERE z.zip = $1",
            )
            .bind(zip)
            .fetch_optional(p)
            .await?
        });
        Ok(row
            .and_then(|(lat, lon)| Point::new(lat, lon))
            .map(|p| (p, OriginFrom::Zip)))
    }

    /// Candidates of the active imports offering any of `capabilities` within `radius` miles of
    /// `origin` (unranked, each once per matching capability). The building block of
    /// [`Store::market_scan`], public for benchmarks.
    pub async fn market_candidates_near(
        &self,
        origin: Point,
        radius: f64,
        capabilities: &[CapabilityCode],
    ) -> Result<Vec<Candidate>, StoreError> {
        if capabilities.is_empty() {
            return Ok(Vec::new());
        }
        let cells = cells_within(origin, radius);
        // The bounding box of the circle, a little widened for rounding.
        let dlat = radius / MILES_PER_DEGREE * 1.01;
        let dlon = dlat / origin.latitude.to_radians().cos().max(0.01);
        let mut sql = String::from(
            "SELECT c.id, c.source, c.kind, c.ref, c.name, c.address, c.city, c.state, c.zip, \
             c.latitude, c.longitude, c.providers, c.beds, c.specialties, c.capabilities, \
             c.facility_type, c.ownership, c.star_rating \
             FROM market_candidate_cells x \
             JOIN market_sources s ON s.source = x.source AND s.version = x.version \
             JOIN market_candidates c ON c.id = x.candidate_id \
             WHERE x.capability_code IN (",
        );
        let mut n = 0;
        let mut list = |sql: &mut String, count: usize| {
            for i in 0..count {
                n += 1;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${n}"));
            }
            n
        };
        list(&mut sql, capabilities.len());
        sql.push_str(") AND x.cell IN (");
        let last = list(&mut sql, cells.len());
        sql.push_str(&format!(
            ") AND c.latitude BETWEEN ${} AND ${} AND c.longitude BETWEEN ${} AND ${}",
            last + 1,
            last + 2,
            last + 3,
            last + 4
        ));
        let rows: Vec<CandidateRow> = run!(&self.read, |p| {
            let mut q = sqlx::query_as::<_, CandidateRow>(&sql);
            for c in capabilities {
                q = q.bind(c.as_str());
            }
            for cell in &cells {
                q = q.bind(*cell);
            }
            q.bind(origin.latitude - dlat)
                .bind(origin.latitude + dlat)
                .bind(origin.longitude - dlon)
                .bind(origin.longitude + dlon)
                .fetch_all(p)
                .await?
        });
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            // Outside the radius: not worth parsing.
            let Some(at) = Point::new(r.latitude, r.longitude) else {
                continue;
            };
            if distance_miles(origin, at) > radius {
                continue;
            }
            out.push(r.into_candidate(at)?);
        }
        Ok(out)
    }

    /// Scans the market around an organization: validates the parameters (422 naming each bad
    /// one; an organization with no location and no known ZIP centroid is a 422 on `org`),
    /// resolves a partnership type to capabilities through the adjacency table and the
    /// organization's offered capabilities, reads the candidates near it and ranks them. Unknown
    /// organization: 404. The reference data is public: any signed-in member may scan.
    pub async fn market_scan(&self, params: &ScanParams) -> Result<ScanRun, StoreError> {
        let catalogue = self.list_capabilities().await?;
        let known: Vec<CapabilityCode> = catalogue.iter().map(|c| c.code.clone()).collect();
        let query = params.validate(&known)?;
        let org = self.get_organization(query.org).await?;
        let (origin, origin_from) = self.market_origin(&org).await?.ok_or_else(|| {
            ValidationErrors::single(
                "org",
                "no_location",
                format!(
                    "{} has no latitude and longitude and no ZIP with a known centroid; \
                     record its location to scan around it",
                    org.profile.name
                ),
            )
        })?;
        let (wanted, partnership_type) = match &query.wanted {
            Wanted::Capability(c) => (vec![c.clone()], None),
            Wanted::Type(t) => {
                let caps = capabilities_for_type(
                    AdjacencyTable::shipped(),
                    &org.profile.capabilities_offered,
                    *t,
                );
                if caps.is_empty() {
                    return Err(ValidationErrors::single(
                        "type",
                        "no_adjacent_capability",
                        format!(
                            "no capability is {} to what {} offers; record the capabilities it \
                             offers, or scan for a capability",
                            t.label().to_lowercase(),
                            org.profile.name
                        ),
                    )
                    .into());
                }
                (caps, Some(*t))
            }
        };
        let results = self
            .market_rank(
                origin,
                query.radius_miles,
                &wanted,
                &query.filters,
                query.sort,
            )
            .await?;
        Ok(ScanRun {
            org_name: org.profile.name,
            origin,
            origin_from,
            wanted,
            partnership_type,
            results,
            capability_names: catalogue.into_iter().map(|c| (c.code, c.name)).collect(),
            query,
        })
    }

    /// Every candidate within `radius` miles of `origin` that offers one of `wanted` and passes
    /// `filters`, scored and sorted (without explanations).
    pub async fn market_rank(
        &self,
        origin: Point,
        radius: f64,
        wanted: &[CapabilityCode],
        filters: &ScanFilters,
        sort: ScanSort,
    ) -> Result<Vec<concord_domain::market::scan::ScanResult>, StoreError> {
        let candidates = self.market_candidates_near(origin, radius, wanted).await?;
        Ok(rank(origin, radius, wanted, filters, sort, candidates))
    }
}
