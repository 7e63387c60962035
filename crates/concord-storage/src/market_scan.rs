//! The market scan over the imported reference data.
//!
//! A scan is an index range read: `market_candidate_cells` is keyed by (capability, grid cell,
//! candidate) and COVERING (it carries each candidate's location, kind, name, state, size, star
//! rating and whether the capability is its main one), so the candidates offering the wanted
//! capabilities in the few cells around the origin ([`cells_within`]) are read by primary key
//! alone, joined to `market_sources` so only the ACTIVE version of each source is seen (a
//! re-import in progress is invisible), with a latitude/longitude bounding box so rows in the
//! cells' corners are not even sent. The exact distance filter, the score, the sort and the page
//! are the domain's ([`concord_domain::market::scan::rank_offers`]). Only the candidates of the
//! page shown are then read from `market_candidates` (one `IN (…)` query) for their details.

use concord_domain::capability::CapabilityCode;
use concord_domain::market::adjacency::{capabilities_for_type, AdjacencyTable};
use concord_domain::market::geo::{cells_within, distance_miles, Point, EARTH_RADIUS_MILES};
use concord_domain::market::scan::{
    rank_offers, Candidate, CandidateKind, Offer, OriginFrom, ScanFilters, ScanParams, ScanResult,
    ScanRun, ScanSort, Wanted,
};
use concord_domain::organization::Organization;
use concord_domain::paging::PageRequest;
use concord_domain::ValidationErrors;

use crate::{Store, StoreError};

/// A row of the radius index (`market_candidate_cells`).
#[derive(sqlx::FromRow)]
struct OfferRow {
    candidate_id: i64,
    capability_code: String,
    source: String,
    kind: String,
    name: String,
    state: String,
    latitude: f64,
    longitude: f64,
    providers: Option<i32>,
    beds: Option<i32>,
    star_rating: Option<i32>,
    is_primary: i32,
}

/// The details of a candidate shown on a page (`market_candidates`).
#[derive(sqlx::FromRow)]
struct DetailRow {
    id: i64,
    #[sqlx(rename = "ref")]
    reference: String,
    address: String,
    city: String,
    zip: String,
    specialties: String,
    capabilities: String,
    facility_type: Option<String>,
    ownership: Option<String>,
}

fn corrupt(id: i64, what: &str) -> StoreError {
    StoreError::Corrupt(format!("market candidate {id}: {what}"))
}

fn count(v: Option<i32>) -> Option<u32> {
    v.and_then(|n| u32::try_from(n).ok())
}

impl OfferRow {
    fn into_offer(self, location: Point) -> Result<Offer, StoreError> {
        let id = self.candidate_id;
        Ok(Offer {
            capability: CapabilityCode::parse(&self.capability_code)
                .map_err(|_| corrupt(id, "capability code"))?,
            primary: self.is_primary != 0,
            candidate: Candidate::summary(
                id,
                self.source,
                self.kind
                    .parse::<CandidateKind>()
                    .map_err(|_| corrupt(id, "kind"))?,
                self.name,
                self.state,
                location,
                count(self.providers),
                count(self.beds),
                self.star_rating
                    .and_then(|s| u8::try_from(s).ok())
                    .filter(|s| (1..=5).contains(s)),
            ),
        })
    }
}

impl DetailRow {
    /// Fills in a summary's details.
    fn fill(self, c: &mut Candidate) -> Result<(), StoreError> {
        let id = self.id;
        c.specialties =
            serde_json::from_str(&self.specialties).map_err(|_| corrupt(id, "specialties"))?;
        let codes: Vec<String> =
            serde_json::from_str(&self.capabilities).map_err(|_| corrupt(id, "capabilities"))?;
        c.capabilities = codes
            .iter()
            .map(|x| CapabilityCode::parse(x).map_err(|_| corrupt(id, "capability code")))
            .collect::<Result<Vec<_>, _>>()?;
        c.reference = self.reference;
        c.address = self.address;
        c.city = self.city;
        c.zip = self.zip;
        c.facility_type = self.facility_type;
        c.ownership = self.ownership;
        Ok(())
    }
}

/// Rescans allowed when an import replaces the data between a scan's two reads.
const ATTEMPTS: usize = 3;

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

    /// The offers of the active imports of any of `capabilities` within `radius` miles of
    /// `origin`, as read from the covering radius index (unranked; a candidate once per matching
    /// capability; candidates as [`Candidate::summary`]s). The building block of
    /// [`Store::market_rank`], public for benchmarks.
    pub async fn market_candidates_near(
        &self,
        origin: Point,
        radius: f64,
        capabilities: &[CapabilityCode],
    ) -> Result<Vec<Offer>, StoreError> {
        if capabilities.is_empty() {
            return Ok(Vec::new());
        }
        let cells = cells_within(origin, radius);
        // The bounding box of the circle, a little widened for rounding.
        let dlat = radius / MILES_PER_DEGREE * 1.01;
        let dlon = dlat / origin.latitude.to_radians().cos().max(0.01);
        let mut sql = String::from(
            "SELECT x.candidate_id, x.capability_code, x.source, x.kind, x.name, x.state, \
             x.latitude, x.longitude, x.providers, x.beds, x.star_rating, x.is_primary \
             FROM market_candidate_cells x \
             JOIN market_sources s ON s.source = x.source AND s.version = x.version \
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
            ") AND x.latitude BETWEEN ${} AND ${} AND x.longitude BETWEEN ${} AND ${}",
            last + 1,
            last + 2,
            last + 3,
            last + 4
        ));
        let rows: Vec<OfferRow> = run!(&self.read, |p| {
            let mut q = sqlx::query_as::<_, OfferRow>(&sql);
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
            let Some(at) = Point::new(r.latitude, r.longitude) else {
                continue;
            };
            if distance_miles(origin, at) > radius {
                continue;
            }
            out.push(r.into_offer(at)?);
        }
        Ok(out)
    }

    /// Reads the details of `results` (summaries) from `market_candidates`, in one query. False
    /// when one of them is no longer there (an import replaced the data meanwhile).
    async fn market_fill(&self, results: &mut [ScanResult]) -> Result<bool, StoreError> {
        if results.is_empty() {
            return Ok(true);
        }
        let mut sql = String::from(
            "SELECT id, ref, address, city, zip, specialties, capabilities, facility_type, \
             ownership FROM market_candidates WHERE id IN (",
        );
        for i in 0..results.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", i + 1));
        }
        sql.push(')');
        let rows: Vec<DetailRow> = run!(&self.read, |p| {
            let mut q = sqlx::query_as::<_, DetailRow>(&sql);
            for r in results.iter() {
                q = q.bind(r.candidate.id);
            }
            q.fetch_all(p).await?
        });
        let mut by_id: std::collections::HashMap<i64, DetailRow> =
            rows.into_iter().map(|r| (r.id, r)).collect();
        for r in results.iter_mut() {
            let Some(d) = by_id.remove(&r.candidate.id) else {
                return Ok(false);
            };
            d.fill(&mut r.candidate)?;
        }
        Ok(true)
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
                query.page,
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
    /// `filters`, scored and sorted (without explanations). Ranking reads the covering radius
    /// index only; the results of `page` then get their candidates' details (address,
    /// specialties, capabilities, …) from `market_candidates`, the others stay
    /// [`Candidate::summary`]s whose `capabilities` are the matched ones.
    pub async fn market_rank(
        &self,
        origin: Point,
        radius: f64,
        wanted: &[CapabilityCode],
        filters: &ScanFilters,
        sort: ScanSort,
        page: PageRequest,
    ) -> Result<Vec<ScanResult>, StoreError> {
        for _ in 0..ATTEMPTS {
            let offers = self.market_candidates_near(origin, radius, wanted).await?;
            let mut results = rank_offers(origin, radius, wanted, filters, sort, offers);
            for r in results.iter_mut() {
                r.candidate.capabilities = r.matched.clone();
            }
            let from = usize::try_from(page.offset())
                .unwrap_or(usize::MAX)
                .min(results.len());
            let to = from
                .saturating_add(page.per_page as usize)
                .min(results.len());
            if self.market_fill(&mut results[from..to]).await? {
                return Ok(results);
            }
        }
        Err(StoreError::Conflict {
            field: "scan".into(),
            message: "the market data was replaced by an import while the scan read it; scan again"
                .into(),
        })
    }
}
