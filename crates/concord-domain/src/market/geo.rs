//! Distances and the grid that makes a radius search an index lookup.
//!
//! Candidates are stored with the grid cell of their location: cells are 0.5° of latitude by 0.5°
//! of longitude (about 35 × 26 miles at 40°N). A radius search reads only the cells its bounding
//! box touches, then keeps the candidates whose great-circle distance is within the radius.

use serde::{Deserialize, Serialize};

/// Mean Earth radius in statute miles.
pub const EARTH_RADIUS_MILES: f64 = 3958.8;
/// Cell size in degrees.
pub const CELL_DEGREES: f64 = 0.5;
const CELLS_PER_ROW: i64 = (360.0 / CELL_DEGREES) as i64 + 1;
/// The widest radius a search may ask for.
pub const MAX_RADIUS_MILES: f64 = 250.0;

/// A point in decimal degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = GeoPoint)]
pub struct Point {
    pub latitude: f64,
    pub longitude: f64,
}

impl Point {
    /// A point when both coordinates are finite and in range.
    pub fn new(latitude: f64, longitude: f64) -> Option<Point> {
        let ok = latitude.is_finite()
            && longitude.is_finite()
            && (-90.0..=90.0).contains(&latitude)
            && (-180.0..=180.0).contains(&longitude);
        ok.then_some(Point {
            latitude,
            longitude,
        })
    }
}

/// Great-circle distance in miles (haversine).
pub fn distance_miles(a: Point, b: Point) -> f64 {
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.longitude - a.longitude).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_MILES * h.sqrt().min(1.0).asin()
}

fn row_col(latitude: f64, longitude: f64) -> (i64, i64) {
    let row = ((latitude + 90.0) / CELL_DEGREES).floor() as i64;
    let col = ((longitude + 180.0) / CELL_DEGREES).floor() as i64;
    (row, col)
}

/// The grid cell of a point.
pub fn cell(p: Point) -> i64 {
    let (row, col) = row_col(p.latitude, p.longitude);
    row * CELLS_PER_ROW + col
}

/// Every cell that may hold a point within `miles` of `center` (the cells of its bounding box).
pub fn cells_within(center: Point, miles: f64) -> Vec<i64> {
    let miles = miles.clamp(0.0, MAX_RADIUS_MILES);
    let dlat = (miles / EARTH_RADIUS_MILES).to_degrees();
    let cos = center.latitude.to_radians().cos().max(0.01);
    let dlon = (dlat / cos).min(180.0);
    let lat_lo = (center.latitude - dlat).max(-90.0);
    let lat_hi = (center.latitude + dlat).min(90.0);
    let (r0, _) = row_col(lat_lo, 0.0);
    let (r1, _) = row_col(lat_hi, 0.0);
    let (_, c0) = row_col(0.0, (center.longitude - dlon).max(-180.0));
    let (_, c1) = row_col(0.0, (center.longitude + dlon).min(180.0));
    let mut cells = Vec::with_capacity(((r1 - r0 + 1) * (c1 - c0 + 1)) as usize);
    for r in r0..=r1 {
        for c in c0..=c1 {
            cells.push(r * CELLS_PER_ROW + c);
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(lat: f64, lon: f64) -> Point {
        Point::new(lat, lon).unwrap()
    }

    #[test]
    fn hartford_to_providence_is_about_65_miles() {
        // ZCTA centroids of 06106 (Hartford, CT) and 02903 (Providence, RI).
        let d = distance_miles(p(41.7475, -72.6958), p(41.8204, -71.4107));
        assert!((d - 66.5).abs() < 2.0, "{d}");
    }

    #[test]
    fn out_of_range_points_are_refused() {
        assert!(Point::new(91.0, 0.0).is_none());
        assert!(Point::new(0.0, f64::NAN).is_none());
        assert!(Point::new(0.0, -180.5).is_none());
    }

    #[test]
    fn a_25_mile_search_reads_a_handful_of_cells() {
        let cells = cells_within(p(41.76, -72.68), 25.0);
        assert!(cells.len() <= 9, "{}", cells.len());
        assert!(cells.contains(&cell(p(41.76, -72.68))));
    }

    proptest! {
        /// Any point within the radius lies in one of the cells the search reads.
        #[test]
        fn the_cells_cover_the_radius(
            lat in -60.0f64..70.0, lon in -170.0f64..170.0,
            miles in 0.0f64..100.0, bearing in 0.0f64..360.0, frac in 0.0f64..0.999,
        ) {
            let center = p(lat, lon);
            // A point at `frac * miles` along `bearing` (destination formula).
            let d = frac * miles / EARTH_RADIUS_MILES;
            let (lat1, lon1, b) = (lat.to_radians(), lon.to_radians(), bearing.to_radians());
            let lat2 = (lat1.sin() * d.cos() + lat1.cos() * d.sin() * b.cos()).asin();
            let lon2 = lon1 + (b.sin() * d.sin() * lat1.cos()).atan2(d.cos() - lat1.sin() * lat2.sin());
            let q = p(lat2.to_degrees(), lon2.to_degrees());
            prop_assert!(distance_miles(center, q) <= miles + 1e-6);
            prop_assert!(cells_within(center, miles).contains(&cell(q)));
        }

        #[test]
        fn distance_is_symmetric_and_non_negative(
            a in -80.0f64..80.0, b in -179.0f64..179.0, c in -80.0f64..80.0, d in -179.0f64..179.0,
        ) {
            let (x, y) = (p(a, b), p(c, d));
            let d1 = distance_miles(x, y);
            prop_assert!(d1 >= 0.0);
            prop_assert!((d1 - distance_miles(y, x)).abs() < 1e-9);
        }
    }
}
