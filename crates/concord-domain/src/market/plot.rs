//! The layout of the market scan's scatter plot: candidates by longitude and latitude around the
//! organization, sized by scale, with distance rings and degree axes.
//!
//! The projection is local and equirectangular: around the centre, a degree of latitude is
//! [`MILES_PER_DEGREE`] miles and a degree of longitude that times the cosine of the centre's
//! latitude, so within a few hundred miles the rings are circles and distances read true. The
//! template draws what this computes; nothing here knows about SVG syntax.

use serde::Serialize;

use super::geo::{Point, EARTH_RADIUS_MILES};
use super::scan::CandidateKind;

/// Miles per degree of latitude.
pub const MILES_PER_DEGREE: f64 = EARTH_RADIUS_MILES * std::f64::consts::PI / 180.0;

/// The drawing's size in SVG units.
pub const WIDTH: f64 = 640.0;
pub const HEIGHT: f64 = 600.0;
/// The square plot area inside the margins (left for latitude labels, bottom for longitude).
const LEFT: f64 = 70.0;
const TOP: f64 = 16.0;
const SIDE: f64 = 540.0;
/// Dot radii.
const MIN_DOT: f64 = 3.0;
const MAX_DOT: f64 = 13.0;

/// One candidate to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotPoint {
    pub id: i64,
    pub location: Point,
    /// Providers or beds (whichever is larger); `None` when not published.
    pub size: Option<u32>,
    pub kind: CandidateKind,
    /// Shown on hover: name, distance, score.
    pub label: String,
    /// Where a click goes (the result's row).
    pub href: String,
}

/// A drawn candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dot {
    pub id: i64,
    pub cx: f64,
    pub cy: f64,
    pub r: f64,
    /// CSS class suffix: the candidate kind's wire name.
    pub kind: &'static str,
    /// Whether the size is known (unknown sizes are drawn hollow).
    pub sized: bool,
    pub label: String,
    pub href: String,
}

/// A distance ring around the centre.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ring {
    pub miles: f64,
    pub r: f64,
    pub label: String,
    /// Where its label sits (just above the ring, north of the centre).
    pub label_x: f64,
    pub label_y: f64,
}

/// An axis tick: its position along the axis and its label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tick {
    pub pos: f64,
    pub label: String,
}

/// Everything the template draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plot {
    pub width: f64,
    pub height: f64,
    /// The plot area.
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    /// The organization.
    pub cx: f64,
    pub cy: f64,
    pub rings: Vec<Ring>,
    /// Longitude ticks along the bottom (x positions).
    pub x_ticks: Vec<Tick>,
    /// Latitude ticks along the left (y positions).
    pub y_ticks: Vec<Tick>,
    /// Largest first, so small dots are drawn on top.
    pub dots: Vec<Dot>,
}

/// A "nice" step (1, 2, 2.5 or 5 times a power of ten) close to `rough`.
pub fn nice_step(rough: f64) -> f64 {
    if !(rough.is_finite() && rough > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(rough.log10().floor());
    let f = rough / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Distances for the rings: multiples of a nice step up to `radius`, always ending at `radius`.
pub fn ring_miles(radius: f64) -> Vec<f64> {
    let step = nice_step(radius / 4.0);
    let mut out = Vec::new();
    let mut k = 1.0;
    while k * step < radius * 0.999 && out.len() < 10 {
        out.push(k * step);
        k += 1.0;
    }
    // Drop a last step that would crowd the outer ring.
    if out.last().is_some_and(|m| radius - m < step * 0.35) {
        out.pop();
    }
    out.push(radius);
    out
}

fn decimals(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
            + usize::from(step * 10f64.powf(-step.log10().floor()) % 1.0 > 1e-9)
    }
}

fn degrees(v: f64, pos: char, neg: char, places: usize) -> String {
    let hemi = if v < 0.0 { neg } else { pos };
    format!("{:.*}°{hemi}", places, v.abs())
}

fn miles_label(m: f64) -> String {
    format!("{} mi", super::scan::format_miles(m))
}

/// Lays out a plot of `points` around `center` out to `radius` miles.
pub fn layout(center: Point, radius: f64, points: &[PlotPoint]) -> Plot {
    let radius = if radius.is_finite() && radius > 0.0 {
        radius
    } else {
        1.0
    };
    let cos = center.latitude.to_radians().cos().max(0.01);
    let half = SIDE / 2.0;
    let (cx, cy) = (LEFT + half, TOP + half);
    // The outer ring sits a little inside the frame.
    let px_per_mile = (half - 8.0) / radius;
    let (left, top, right, bottom) = (LEFT, TOP, LEFT + SIDE, TOP + SIDE);
    let x_of = |lon: f64| cx + (lon - center.longitude) * cos * MILES_PER_DEGREE * px_per_mile;
    let y_of = |lat: f64| cy - (lat - center.latitude) * MILES_PER_DEGREE * px_per_mile;

    let rings = ring_miles(radius)
        .into_iter()
        .map(|m| {
            let r = m * px_per_mile;
            Ring {
                miles: m,
                r,
                label: miles_label(m),
                label_x: cx + 4.0,
                label_y: cy - r - 3.0,
            }
        })
        .collect();

    // Degrees visible across the half-width, each way.
    let half_lat = half / px_per_mile / MILES_PER_DEGREE;
    let half_lon = half_lat / cos;
    let ticks = |lo: f64, hi: f64, to_pos: &dyn Fn(f64) -> f64, pos: char, neg: char| {
        let step = nice_step((hi - lo) / 5.0);
        let places = decimals(step);
        let mut out = Vec::new();
        let mut v = (lo / step).ceil() * step;
        while v <= hi + 1e-9 && out.len() < 12 {
            out.push(Tick {
                pos: to_pos(v),
                label: degrees(v, pos, neg, places),
            });
            v += step;
        }
        out
    };
    let x_ticks = ticks(
        center.longitude - half_lon,
        center.longitude + half_lon,
        &x_of,
        'E',
        'W',
    );
    let y_ticks = ticks(
        center.latitude - half_lat,
        center.latitude + half_lat,
        &y_of,
        'N',
        'S',
    );

    let max_size = points.iter().filter_map(|p| p.size).max().unwrap_or(0);
    let mut dots: Vec<Dot> = points
        .iter()
        .map(|p| {
            let r = match p.size {
                Some(s) if max_size > 0 => {
                    MIN_DOT + (MAX_DOT - MIN_DOT) * (f64::from(s) / f64::from(max_size)).sqrt()
                }
                _ => MIN_DOT + 1.0,
            };
            Dot {
                id: p.id,
                cx: x_of(p.location.longitude).clamp(left, right),
                cy: y_of(p.location.latitude).clamp(top, bottom),
                r,
                kind: p.kind.as_str(),
                sized: p.size.is_some(),
                label: p.label.clone(),
                href: p.href.clone(),
            }
        })
        .collect();
    dots.sort_by(|a, b| b.r.total_cmp(&a.r).then(a.id.cmp(&b.id)));
    Plot {
        width: WIDTH,
        height: HEIGHT,
        left,
        top,
        right,
        bottom,
        cx,
        cy,
        rings,
        x_ticks,
        y_ticks,
        dots,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::geo::distance_miles;
    use proptest::prelude::*;

    const HARTFORD: Point = Point {
        latitude: 41.7475,
        longitude: -72.6958,
    };

    fn point(id: i64, lat: f64, lon: f64, size: Option<u32>) -> PlotPoint {
        PlotPoint {
            id,
            location: Point {
                latitude: lat,
                longitude: lon,
            },
            size,
            kind: CandidateKind::Practice,
            label: format!("P{id}"),
            href: format!("#r{id}"),
        }
    }

    #[test]
    fn nice_steps_and_rings() {
        assert_eq!(nice_step(6.25), 10.0);
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(0.12), 0.2);
        assert_eq!(nice_step(2.2), 2.5);
        assert_eq!(ring_miles(25.0), vec![10.0, 20.0, 25.0]);
        assert_eq!(ring_miles(100.0), vec![25.0, 50.0, 75.0, 100.0]);
        assert_eq!(ring_miles(1.0), vec![0.25, 0.5, 0.75, 1.0]);
        assert_eq!(ring_miles(250.0), vec![100.0, 200.0, 250.0]);
    }

    #[test]
    fn hartford_plot() {
        let plot = layout(
            HARTFORD,
            25.0,
            &[
                point(1, 41.76, -72.68, Some(12)),
                point(2, 41.9, -72.6, Some(3)),
                point(3, 41.6, -72.9, None),
            ],
        );
        assert_eq!(plot.rings.last().unwrap().label, "25 mi");
        // Biggest first; the unknown size is hollow.
        assert_eq!(plot.dots[0].id, 1);
        assert!(!plot.dots.iter().find(|d| d.id == 3).unwrap().sized);
        // North-east of the centre is up and to the right.
        let d2 = plot.dots.iter().find(|d| d.id == 2).unwrap();
        assert!(d2.cx > plot.cx && d2.cy < plot.cy);
        // The labels read as degrees west and north.
        assert!(plot.x_ticks.iter().all(|t| t.label.ends_with("°W")));
        assert!(plot.y_ticks.iter().all(|t| t.label.ends_with("°N")));
        assert!(
            plot.x_ticks.iter().any(|t| t.label == "72.6°W"),
            "{:?}",
            plot.x_ticks
        );
        assert!(plot.x_ticks.len() >= 3 && plot.y_ticks.len() >= 3);
    }

    #[test]
    fn tick_decimals() {
        assert_eq!(decimals(1.0), 0);
        assert_eq!(decimals(0.5), 1);
        assert_eq!(decimals(0.25), 2);
        assert_eq!(decimals(0.05), 2);
        assert_eq!(degrees(-72.5, 'E', 'W', 1), "72.5°W");
    }

    proptest! {
        /// Every dot is inside the plot area, the rings grow outwards and end at the radius, and
        /// a candidate's distance on the drawing matches its distance in miles (within 2%).
        #[test]
        fn dots_sit_where_the_miles_say(
            lat in -50.0f64..60.0, lon in -170.0f64..170.0, radius in 1.0f64..250.0,
            offsets in proptest::collection::vec((-1.0f64..1.0, -1.0f64..1.0, proptest::option::of(0u32..500)), 0..30),
        ) {
            let center = Point { latitude: lat, longitude: lon };
            let cos = lat.to_radians().cos();
            let pts: Vec<PlotPoint> = offsets.iter().enumerate().map(|(i, (a, b, s))| {
                let dlat = a * radius * 0.7 / MILES_PER_DEGREE;
                let dlon = b * radius * 0.7 / MILES_PER_DEGREE / cos;
                point(i as i64, lat + dlat, lon + dlon, *s)
            }).collect();
            let plot = layout(center, radius, &pts);
            let outer = plot.rings.last().unwrap();
            prop_assert!((outer.miles - radius).abs() < 1e-9);
            prop_assert!(outer.r <= (plot.right - plot.left) / 2.0);
            for w in plot.rings.windows(2) {
                prop_assert!(w[0].r < w[1].r);
            }
            let px_per_mile = outer.r / radius;
            for d in &plot.dots {
                prop_assert!(d.cx >= plot.left && d.cx <= plot.right);
                prop_assert!(d.cy >= plot.top && d.cy <= plot.bottom);
                prop_assert!(d.r >= MIN_DOT && d.r <= MAX_DOT);
                let p = &pts[d.id as usize];
                let miles = distance_miles(center, p.location);
                let drawn = ((d.cx - plot.cx).powi(2) + (d.cy - plot.cy).powi(2)).sqrt() / px_per_mile;
                prop_assert!((drawn - miles).abs() <= 0.02 * radius + 0.01, "{drawn} vs {miles}");
            }
            for w in plot.dots.windows(2) {
                prop_assert!(w[0].r >= w[1].r);
            }
        }
    }
}
