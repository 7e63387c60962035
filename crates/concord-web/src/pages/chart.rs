//! A line chart of one metric's values over time, as an inline SVG fragment for a page.
//!
//! [`render`] lays the chart out here (plot area, "nice" axis ticks, every coordinate) into a
//! [`Chart`] and lets the `metric_chart.svg.html` template draw it, so all text is escaped by
//! askama. The chart shows the baseline and the target as horizontal lines, the straight path
//! from (path start, baseline) to (target date, target) as a dotted line, and the values as a
//! line with one dot per value (corrected values are marked), each dot with its label as a
//! tooltip. Styling is done in CSS through the classes; the few presentation attributes on the
//! elements keep the chart legible without it.

use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use askama::Template;
use chrono::{Datelike, NaiveDate};

/// One value of the metric.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPoint {
    /// The end of the period the value is for.
    pub at: NaiveDate,
    pub value: f64,
    /// The tooltip, e.g. "Mar 2026: 42.5 %".
    pub label: String,
    /// The value replaced an earlier one.
    pub corrected: bool,
}

/// What a chart shows.
#[derive(Debug, Clone, Copy)]
pub struct ChartInput<'a> {
    pub title: &'a str,
    pub unit: &'a str,
    pub baseline: f64,
    pub target: f64,
    /// The path runs straight from (`path_start`, `baseline`) to (`target_date`, `target`).
    pub path_start: NaiveDate,
    pub target_date: NaiveDate,
    /// In any order; drawn in order of `at`. Values that are not finite are left out.
    pub points: &'a [ChartPoint],
    /// The size in SVG user units (e.g. 640 × 260); at least 240 × 140 is used.
    pub width: u32,
    pub height: u32,
}

/// The chart as SVG markup (`<svg …>…</svg>`, text escaped), to be inserted with `|safe`.
pub fn render(input: &ChartInput) -> String {
    layout(input).render().unwrap_or_default()
}

// ---------------------------------------------------------------- layout

const MIN_WIDTH: u32 = 240;
const MIN_HEIGHT: u32 = 140;
const MARGIN_TOP: f64 = 26.0;
const MARGIN_RIGHT: f64 = 64.0;
const MARGIN_BOTTOM: f64 = 30.0;
/// Approximate width of one character of an 11-unit label, for the left margin.
const CHAR_W: f64 = 6.5;
/// Values beyond this magnitude are drawn at it (the tooltip keeps the real value).
const LIMIT: f64 = 1e15;
/// The x axis spans at least this many days, so that it has at least one month boundary.
const MIN_SPAN_DAYS: i64 = 60;
const MAX_X_LABELS: usize = 8;
/// Horizontal room one x label needs.
const X_LABEL_W: f64 = 64.0;

/// A coordinate in SVG user units, written with at most one decimal (never "-0", "NaN" or "inf").
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Px(pub f64);

impl Px {
    /// Moved by `d` units.
    pub fn shift(self, d: f64) -> Px {
        Px(self.0 + d)
    }
}

impl fmt::Display for Px {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = (self.0 * 10.0).round() / 10.0;
        if !r.is_finite() || r == 0.0 {
            f.write_str("0")
        } else if r.fract() == 0.0 {
            write!(f, "{r:.0}")
        } else {
            write!(f, "{r:.1}")
        }
    }
}

/// A tick on an axis: its position along the axis and its label.
#[derive(Debug)]
pub struct Tick {
    pub pos: Px,
    /// Where the label's baseline sits (y ticks) or its centre (x ticks) on the other axis.
    pub label_at: Px,
    pub label: String,
}

/// The baseline or the target: a horizontal line across the plot, labelled at its right end.
#[derive(Debug)]
pub struct RefLine {
    pub y: Px,
    pub label_y: Px,
    pub label: &'static str,
    /// The tooltip, e.g. "Baseline: 40 %".
    pub title: String,
}

/// The straight path from the baseline to the target.
#[derive(Debug)]
pub struct Segment {
    pub x1: Px,
    pub y1: Px,
    pub x2: Px,
    pub y2: Px,
    pub title: String,
}

/// One value, placed.
#[derive(Debug)]
pub struct Dot {
    pub x: Px,
    pub y: Px,
    pub label: String,
    pub corrected: bool,
    /// Drawn with a marker and its label (the latest values and every corrected one).
    pub marked: bool,
}

/// How many of the latest values get a marker with a hover label.
pub const MARKED_POINTS: usize = 24;

/// The laid-out chart the template draws.
#[derive(Debug, Template)]
#[template(path = "metric_chart.svg.html")]
pub struct Chart {
    /// Prefix of the ids of `<title>` and `<desc>` (a hash of the input, so that two charts on a
    /// page do not share ids and the same input always gives the same markup).
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub title: String,
    pub desc: String,
    pub unit: String,
    /// The plot area.
    pub left: Px,
    pub right: Px,
    pub top: Px,
    pub bottom: Px,
    /// Ticks on the y axis, bottom to top, values in the unit.
    pub y_ticks: Vec<Tick>,
    /// Ticks on the x axis at month, quarter or year boundaries, left to right.
    pub x_ticks: Vec<Tick>,
    /// The y axis's domain (the first and last y tick).
    pub y_min: f64,
    pub y_max: f64,
    pub baseline: Option<RefLine>,
    pub target: Option<RefLine>,
    pub path: Option<Segment>,
    /// The values in order of date.
    pub points: Vec<Dot>,
}

impl Chart {
    fn mid_x(&self) -> Px {
        Px((self.left.0 + self.right.0) / 2.0)
    }

    fn mid_y(&self) -> Px {
        Px((self.top.0 + self.bottom.0) / 2.0)
    }
}

fn days(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce())
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn month_year(d: NaiveDate) -> String {
    d.format("%b %Y").to_string()
}

/// Lays the chart out.
pub fn layout(input: &ChartInput) -> Chart {
    let width = input.width.max(MIN_WIDTH);
    let height = input.height.max(MIN_HEIGHT);
    let unit = input.unit.trim();

    let mut points: Vec<&ChartPoint> = input
        .points
        .iter()
        .filter(|p| p.value.is_finite())
        .collect();
    points.sort_by_key(|p| p.at);
    let baseline = finite(input.baseline);
    let target = finite(input.target);

    // The x range, in days since the common era.
    let mut x_lo = days(input.path_start).min(days(input.target_date));
    let mut x_hi = days(input.path_start).max(days(input.target_date));
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        x_lo = x_lo.min(days(first.at));
        x_hi = x_hi.max(days(last.at));
    }
    if x_hi - x_lo < MIN_SPAN_DAYS {
        let extra = MIN_SPAN_DAYS - (x_hi - x_lo);
        x_lo -= extra / 2;
        x_hi += extra - extra / 2;
    }

    // The y range: every value drawn, padded, then widened to nice ticks.
    let clamp = |v: f64| v.clamp(-LIMIT, LIMIT);
    let drawn = points
        .iter()
        .map(|p| p.value)
        .chain(baseline)
        .chain(target)
        .map(clamp);
    let (lo, hi) = drawn.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if lo > hi {
        (0.0, 1.0)
    } else if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    } else {
        // Padding does not cross zero: a metric that never goes below zero has no negative axis.
        let pad = (hi - lo) * 0.08;
        let padded_lo = if lo >= 0.0 {
            (lo - pad).max(0.0)
        } else {
            lo - pad
        };
        let padded_hi = if hi <= 0.0 {
            (hi + pad).min(0.0)
        } else {
            hi + pad
        };
        (padded_lo, padded_hi)
    };
    let y_scale = NiceScale::new(lo, hi);
    let y_labels: Vec<String> = y_scale.ticks().iter().map(|&t| y_scale.label(t)).collect();

    // The plot area: the left margin fits the longest y label.
    let longest = y_labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(1);
    let margin_left = (14.0 + CHAR_W * longest as f64).clamp(36.0, 110.0);
    let (left, right) = (margin_left, f64::from(width) - MARGIN_RIGHT);
    let (top, bottom) = (MARGIN_TOP, f64::from(height) - MARGIN_BOTTOM);

    let (y_min, y_max) = (y_scale.min(), y_scale.max());
    let x_of = |d: i64| left + (d - x_lo) as f64 / (x_hi - x_lo) as f64 * (right - left);
    let y_of = |v: f64| bottom - (clamp(v) - y_min) / (y_max - y_min) * (bottom - top);

    let y_ticks = y_scale
        .ticks()
        .into_iter()
        .zip(y_labels)
        .map(|(t, label)| Tick {
            pos: Px(y_of(t)),
            label_at: Px(y_of(t) + 4.0),
            label,
        })
        .collect();
    let max_labels = (((right - left) / X_LABEL_W) as usize).clamp(2, MAX_X_LABELS);
    let x_ticks = month_ticks(x_lo, x_hi, max_labels)
        .into_iter()
        .map(|(d, label)| Tick {
            pos: Px(x_of(d)),
            label_at: Px(bottom + 18.0),
            label,
        })
        .collect();

    let with_unit = |v: f64| {
        if unit.is_empty() {
            compact(v)
        } else {
            format!("{} {unit}", compact(v))
        }
    };

    // The reference lines, with their labels moved apart when the lines are close.
    let mut baseline_line = baseline.map(|b| RefLine {
        y: Px(y_of(b)),
        label_y: Px(y_of(b) + 4.0),
        label: "Baseline",
        title: format!("Baseline: {}", with_unit(b)),
    });
    let mut target_line = target.map(|t| RefLine {
        y: Px(y_of(t)),
        label_y: Px(y_of(t) + 4.0),
        label: "Target",
        title: format!(
            "Target: {} by {}",
            with_unit(t),
            month_year(input.target_date)
        ),
    });
    if let (Some(b), Some(t)) = (baseline_line.as_mut(), target_line.as_mut()) {
        const GAP: f64 = 13.0;
        if (b.y.0 - t.y.0).abs() < GAP {
            let mid = (b.y.0 + t.y.0) / 2.0 + 4.0;
            // The label of the higher line goes above; the target wins a tie.
            let (upper, lower) = if t.y.0 <= b.y.0 { (t, b) } else { (b, t) };
            upper.label_y = Px(mid - GAP / 2.0);
            lower.label_y = Px(mid + GAP / 2.0);
        }
    }
    let path = match (baseline, target) {
        (Some(b), Some(t)) => Some(Segment {
            x1: Px(x_of(days(input.path_start))),
            y1: Px(y_of(b)),
            x2: Px(x_of(days(input.target_date))),
            y2: Px(y_of(t)),
            title: format!(
                "Path from {} in {} to {} by {}",
                with_unit(b),
                month_year(input.path_start),
                with_unit(t),
                month_year(input.target_date)
            ),
        }),
        _ => None,
    };

    // Every value is on the line; the latest MARKED_POINTS (and every corrected one) also get a
    // marker with its label, which keeps a long history's chart light to send and draw.
    let marked_from = points.len().saturating_sub(MARKED_POINTS);
    let dots = points
        .iter()
        .enumerate()
        .map(|(i, p)| Dot {
            x: Px(x_of(days(p.at))),
            y: Px(y_of(p.value)),
            label: p.label.clone(),
            corrected: p.corrected,
            marked: p.corrected || i >= marked_from,
        })
        .collect();

    // The description, for people who cannot see the chart.
    let mut desc = match (points.first(), points.last()) {
        (Some(first), Some(_)) if points.len() == 1 => format!("1 value, {}", month_year(first.at)),
        (Some(first), Some(last)) => format!(
            "{} values from {} to {}",
            points.len(),
            month_year(first.at),
            month_year(last.at)
        ),
        _ => "No values yet".to_string(),
    };
    let mut refs = Vec::new();
    if let Some(b) = baseline {
        refs.push(format!("baseline {}", with_unit(b)));
    }
    if let Some(t) = target {
        refs.push(format!(
            "target {} by {}",
            with_unit(t),
            month_year(input.target_date)
        ));
    }
    if !refs.is_empty() {
        desc.push_str("; ");
        desc.push_str(&refs.join(", "));
    }
    if let Some(last) = points.last() {
        desc.push_str(&format!("; latest {}", with_unit(last.value)));
        if last.corrected {
            desc.push_str(" (corrected)");
        }
    }
    desc.push('.');

    Chart {
        id: chart_id(input),
        width,
        height,
        title: input.title.to_string(),
        desc,
        unit: unit.to_string(),
        left: Px(left),
        right: Px(right),
        top: Px(top),
        bottom: Px(bottom),
        y_ticks,
        x_ticks,
        y_min,
        y_max,
        baseline: baseline_line,
        target: target_line,
        path,
        points: dots,
    }
}

/// "metric-chart-" and a hash of what the chart shows.
fn chart_id(input: &ChartInput) -> String {
    let mut h = DefaultHasher::new();
    input.title.hash(&mut h);
    input.unit.hash(&mut h);
    input.baseline.to_bits().hash(&mut h);
    input.target.to_bits().hash(&mut h);
    input.path_start.hash(&mut h);
    input.target_date.hash(&mut h);
    for p in input.points {
        p.at.hash(&mut h);
        p.value.to_bits().hash(&mut h);
    }
    format!("metric-chart-{:08x}", h.finish() as u32)
}

// ---------------------------------------------------------------- y ticks

/// Ticks at multiples of a step of 1, 2 or 5 × 10ⁿ: between 4 and 6 of them, the first at or
/// below the range and the last at or above it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct NiceScale {
    step: f64,
    /// The first and last tick as multiples of `step`.
    first: i64,
    last: i64,
}

impl NiceScale {
    const MIN_TICKS: i64 = 4;
    const MAX_TICKS: i64 = 6;

    /// `lo < hi`, both finite (otherwise `0..1`).
    fn new(lo: f64, hi: f64) -> NiceScale {
        let (lo, hi) = if lo.is_finite() && hi.is_finite() && lo < hi {
            (lo, hi)
        } else {
            (0.0, 1.0)
        };
        // Steps below a cent, or too fine to count in f64 at this magnitude, are not nice.
        let min_step = (lo.abs().max(hi.abs()) * 1e-12).max(0.01);
        let mut exp = min_step.log10().floor() as i32;
        let mut chosen = None;
        'search: for _ in 0..700 {
            for m in [1.0, 2.0, 5.0] {
                let step = m * 10f64.powi(exp);
                if step < min_step * (1.0 - 1e-9) {
                    continue;
                }
                // A bound within a billionth of a step of a tick counts as on it.
                let first = (lo / step + 1e-9).floor() as i64;
                let last = (hi / step - 1e-9).ceil() as i64;
                if last - first < Self::MAX_TICKS {
                    chosen = Some(NiceScale { step, first, last });
                    break 'search;
                }
            }
            exp += 1;
        }
        let mut s = chosen.unwrap_or(NiceScale {
            step: 1.0,
            first: 0,
            last: 1,
        });
        // Widen to four ticks, alternately up and down, but not across zero.
        let mut up = true;
        while s.last - s.first + 1 < Self::MIN_TICKS {
            let can_up = !(hi <= 0.0 && s.last >= 0);
            let can_down = !(lo >= 0.0 && s.first <= 0);
            if (up && can_up) || !can_down {
                s.last += 1;
            } else {
                s.first -= 1;
            }
            up = !up;
        }
        s
    }

    fn ticks(&self) -> Vec<f64> {
        (self.first..=self.last)
            .map(|i| i as f64 * self.step)
            .collect()
    }

    fn min(&self) -> f64 {
        self.first as f64 * self.step
    }

    fn max(&self) -> f64 {
        self.last as f64 * self.step
    }

    /// A tick's label: in millions, billions or trillions when the ticks are that large and the
    /// step still shows in two decimals.
    fn label(&self, v: f64) -> String {
        let largest = self.min().abs().max(self.max().abs());
        for (scale, suffix) in [(1e12, "T"), (1e9, "B"), (1e6, "M")] {
            if largest >= scale && self.step / scale >= 0.01 {
                return number(v, scale, suffix);
            }
        }
        number(v, 1.0, "")
    }
}

// ---------------------------------------------------------------- x ticks

/// A month as months since year 0.
fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn first_of_month(index: i64) -> Option<NaiveDate> {
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    NaiveDate::from_ymd_opt(year, index.rem_euclid(12) as u32 + 1, 1)
}

fn date_of(days_from_ce: i64) -> NaiveDate {
    i32::try_from(days_from_ce)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .unwrap_or(if days_from_ce < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// Ticks at the first days of months, quarters or years (every 1, 2, 5, 10, 20, … years) inside
/// `lo..=hi` (days since the common era): the finest kind with at most `max` ticks. Each tick is
/// its day and its label ("Jan 2026", "Q1 2026" or "2026").
fn month_ticks(lo: i64, hi: i64, max: usize) -> Vec<(i64, String)> {
    let (from, to) = (date_of(lo), date_of(hi));
    let first_month = month_index(from) + i64::from(from.day() != 1);
    let last_month = month_index(to);
    let mut steps = vec![1i64, 3];
    let mut years = 1i64;
    while years < 1_000_000 {
        for m in [1, 2, 5] {
            steps.push(12 * years * m);
        }
        years *= 10;
    }
    for step in steps {
        let first = first_month.div_euclid(step) * step
            + if first_month.rem_euclid(step) == 0 {
                0
            } else {
                step
            };
        let last = last_month.div_euclid(step) * step;
        let count = if last < first {
            0
        } else {
            (last - first) / step + 1
        };
        if count as usize > max {
            continue;
        }
        return (0..count)
            .filter_map(|i| first_of_month(first + i * step))
            .map(|d| {
                let label = match step {
                    1 => month_year(d),
                    3 => format!("Q{} {}", d.month0() / 3 + 1, d.year()),
                    _ => d.year().to_string(),
                };
                (days(d), label)
            })
            .collect();
    }
    Vec::new()
}

// ---------------------------------------------------------------- numbers

/// `v / scale` with at most two decimals (trailing zeros dropped), thousands separators and
/// `suffix`; never "-0".
fn number(v: f64, scale: f64, suffix: &str) -> String {
    let r = (v / scale * 100.0).round() / 100.0;
    if !r.is_finite() {
        return "n/a".to_string();
    }
    if r == 0.0 {
        return "0".to_string();
    }
    let text = format!("{:.2}", r.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let frac = frac.trim_end_matches('0');
    let mut out = String::new();
    if r < 0.0 {
        out.push('-');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out.push_str(suffix);
    out
}

/// A value as people read it: "42.5", "1,250", "3.4M", "2.1B", "1.5e20".
fn compact(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        "n/a".to_string()
    } else if a >= LIMIT {
        let text = format!("{v:.2e}");
        match text.split_once('e') {
            Some((mantissa, exp)) if mantissa.contains('.') => format!(
                "{}e{exp}",
                mantissa.trim_end_matches('0').trim_end_matches('.')
            ),
            _ => text,
        }
    } else if a >= 1e12 {
        number(v, 1e12, "T")
    } else if a >= 1e9 {
        number(v, 1e9, "B")
    } else if a >= 1e6 {
        number(v, 1e6, "M")
    } else {
        number(v, 1.0, "")
    }
}

// ---------------------------------------------------------------- tests

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// The last day of each month from `(y, m)` on, with the given values.
    fn monthly(y: i32, m: u32, values: &[f64]) -> Vec<ChartPoint> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let start =
                    first_of_month(i64::from(y) * 12 + i64::from(m - 1) + i as i64 + 1).unwrap();
                let at = start.pred_opt().unwrap();
                ChartPoint {
                    at,
                    value: v,
                    label: format!("{}: {v} %", month_year(at)),
                    corrected: i % 5 == 3,
                }
            })
            .collect()
    }

    fn input<'a>(points: &'a [ChartPoint]) -> ChartInput<'a> {
        ChartInput {
            title: "Follow-up within 7 days",
            unit: "%",
            baseline: 40.0,
            target: 60.0,
            path_start: d(2025, 1, 1),
            target_date: d(2026, 12, 31),
            points,
            width: 640,
            height: 260,
        }
    }

    /// Checks that every tag is closed in order and every attribute value is quoted, and that no
    /// stray `<` or `>` is left in text; returns the element names in document order.
    fn well_formed(svg: &str) -> Vec<String> {
        let mut stack: Vec<String> = Vec::new();
        let mut names = Vec::new();
        let mut rest = svg.trim();
        assert!(rest.starts_with("<svg"), "starts with <svg: {rest}");
        while let Some(open) = rest.find('<') {
            assert!(!rest[..open].contains('>'), "stray > in text: {rest}");
            let close = rest[open..].find('>').expect("unclosed tag") + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "< inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name.trim()), "closing {tag}");
            } else {
                let self_closing = tag.ends_with('/');
                let tag = tag.trim_end_matches('/');
                let name = tag.split_whitespace().next().expect("tag name").to_string();
                let attrs = tag[name.len()..].trim();
                // name="value" pairs only, values without quotes inside.
                let mut a = attrs;
                while !a.is_empty() {
                    let eq = a
                        .find("=\"")
                        .unwrap_or_else(|| panic!("attribute in {tag}"));
                    assert!(!a[..eq].trim().contains(' '), "attribute name in {tag}");
                    let end = a[eq + 2..].find('"').expect("closing quote") + eq + 2;
                    a = a[end + 1..].trim_start();
                }
                names.push(name.clone());
                if !self_closing {
                    stack.push(name);
                }
            }
            rest = &rest[close + 1..];
            if stack.is_empty() {
                break;
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        assert!(rest.trim().is_empty(), "after </svg>: {rest}");
        names
    }

    fn assert_clean(svg: &str) {
        well_formed(svg);
        for bad in ["NaN", "inf", "-0 ", "-0\"", "-0,"] {
            assert!(!svg.contains(bad), "{bad:?} in {svg}");
        }
        // Every number in an attribute has at most one decimal.
        for part in svg.split('"').skip(1).step_by(2) {
            for num in part.split([' ', ',']) {
                if let Some((int, frac)) = num.split_once('.') {
                    if int
                        .trim_start_matches('-')
                        .chars()
                        .all(|c| c.is_ascii_digit())
                        && !int.is_empty()
                        && frac.chars().all(|c| c.is_ascii_digit())
                    {
                        assert!(frac.len() <= 1, "{num} in {svg}");
                    }
                }
            }
        }
    }

    fn inside(c: &Chart, x: Px, y: Px) -> bool {
        let eps = 1e-6;
        c.left.0 - eps <= x.0
            && x.0 <= c.right.0 + eps
            && c.top.0 - eps <= y.0
            && y.0 <= c.bottom.0 + eps
    }

    #[test]
    fn a_typical_chart_has_every_part() {
        let values: Vec<f64> = (0..24).map(|i| 40.0 + f64::from(i) * 0.5).collect();
        let points = monthly(2025, 1, &values);
        let svg = render(&input(&points));
        assert_clean(&svg);
        let names = well_formed(&svg);
        assert_eq!(names[0], "svg");
        assert_eq!(names[1], "title");
        assert_eq!(names[2], "desc");
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains("<title id=\"metric-chart-"));
        assert!(svg.contains(">Follow-up within 7 days</title>"));
        for class in [
            "axis",
            "tick",
            "tick-label",
            "unit",
            "baseline",
            "target",
            "path",
            "values",
            "point",
            "point corrected",
        ] {
            assert!(svg.contains(&format!("class=\"{class}")), "class {class}");
        }
        assert!(svg.contains(">Baseline</text>"));
        assert!(svg.contains(">Target</text>"));
        assert!(svg.contains(">%</text>"));
        assert!(svg.contains("<title>Mar 2025: 41 %</title>"));
        assert_eq!(svg.matches("<circle").count(), 24);
        assert_eq!(svg.matches("class=\"point corrected\"").count(), 5);
        let c = layout(&input(&points));
        assert_eq!(
            c.desc,
            "24 values from Jan 2025 to Dec 2026; baseline 40 %, target 60 % by Dec 2026; \
             latest 51.5 % (corrected)."
        );
        // 24 months: quarters.
        assert!(c.x_ticks.iter().all(|t| t.label.starts_with('Q')));
        assert!(c.x_ticks.len() <= MAX_X_LABELS);
    }

    #[test]
    fn edge_cases_render_clean_markup() {
        let one = monthly(2026, 3, &[42.5]);
        let equal = monthly(2025, 1, &[7.0; 12]);
        let huge = monthly(2025, 1, &[1e300, -1e300, 3e12, f64::MAX, 0.0]);
        let negative = monthly(2025, 1, &[-5.0, -12.25, -0.001]);
        let odd = monthly(2025, 1, &[f64::NAN, 3.0, f64::INFINITY, f64::NEG_INFINITY]);
        let tiny = monthly(2025, 1, &[1e-9, 2e-9]);
        let cases: Vec<(&str, ChartInput)> = vec![
            ("no points", input(&[])),
            ("one point", input(&one)),
            (
                "all equal",
                ChartInput {
                    baseline: 7.0,
                    target: 7.0,
                    ..input(&equal)
                },
            ),
            (
                "baseline == target",
                ChartInput {
                    baseline: 50.0,
                    target: 50.0,
                    ..input(&one)
                },
            ),
            ("huge", input(&huge)),
            (
                "negative",
                ChartInput {
                    baseline: -3.0,
                    target: -20.0,
                    ..input(&negative)
                },
            ),
            (
                "not finite",
                ChartInput {
                    baseline: f64::NAN,
                    target: f64::INFINITY,
                    ..input(&odd)
                },
            ),
            (
                "tiny",
                ChartInput {
                    baseline: 0.0,
                    target: 0.0,
                    ..input(&tiny)
                },
            ),
            (
                "path backwards",
                ChartInput {
                    path_start: d(2027, 6, 30),
                    target_date: d(2025, 1, 31),
                    ..input(&one)
                },
            ),
            (
                "same day",
                ChartInput {
                    path_start: d(2026, 3, 31),
                    target_date: d(2026, 3, 31),
                    ..input(&[])
                },
            ),
            (
                "tiny size",
                ChartInput {
                    width: 0,
                    height: 0,
                    ..input(&one)
                },
            ),
            (
                "centuries",
                ChartInput {
                    path_start: d(1, 1, 1),
                    target_date: d(9999, 12, 31),
                    ..input(&one)
                },
            ),
            (
                "extreme dates",
                ChartInput {
                    path_start: NaiveDate::MIN,
                    target_date: NaiveDate::MAX,
                    ..input(&[])
                },
            ),
            (
                "zero everything",
                ChartInput {
                    baseline: 0.0,
                    target: 0.0,
                    unit: "",
                    ..input(&[])
                },
            ),
        ];
        for (name, case) in cases {
            let svg = render(&case);
            assert!(svg.starts_with("<svg"), "{name}: {svg}");
            assert_clean(&svg);
            let c = layout(&case);
            assert!(c.y_min < c.y_max, "{name}");
            assert!(
                (4..=6).contains(&c.y_ticks.len()),
                "{name}: {:?}",
                c.y_ticks
            );
            assert!(c.x_ticks.len() <= MAX_X_LABELS, "{name}");
            for p in &c.points {
                assert!(inside(&c, p.x, p.y), "{name}: {p:?}");
            }
            for t in &c.x_ticks {
                assert!(c.left.0 <= t.pos.0 && t.pos.0 <= c.right.0, "{name}: {t:?}");
            }
            for r in c.baseline.iter().chain(&c.target) {
                assert!(c.top.0 <= r.y.0 && r.y.0 <= c.bottom.0, "{name}");
            }
            if let Some(p) = &c.path {
                assert!(inside(&c, p.x1, p.y1) && inside(&c, p.x2, p.y2), "{name}");
            }
        }
    }

    #[test]
    fn a_long_history_marks_only_the_latest_and_corrected_values() {
        let points: Vec<ChartPoint> = (0..60)
            .map(|i| ChartPoint {
                at: d(2020, 1, 1) + chrono::Days::new(30 * i),
                value: 40.0 + i as f64 / 3.0,
                label: format!("value {i}"),
                corrected: i == 3,
            })
            .collect();
        let svg = render(&input(&points));
        assert_eq!(svg.matches("<circle").count(), MARKED_POINTS + 1);
        assert!(svg.contains("value 3</title>"));
        assert!(!svg.contains("value 4</title>"));
        assert!(svg.contains("value 59</title>"));
        // The line still goes through every value.
        let line = svg.split("points=\"").nth(1).unwrap();
        let line = &line[..line.find('"').unwrap()];
        assert_eq!(line.split(' ').count(), 60);
    }

    #[test]
    fn zero_and_one_point() {
        let c = layout(&input(&[]));
        assert!(c.points.is_empty());
        assert_eq!(
            c.desc,
            "No values yet; baseline 40 %, target 60 % by Dec 2026."
        );
        let svg = render(&input(&[]));
        assert!(!svg.contains("class=\"values\""));
        assert!(svg.contains("No values yet"));

        let one = monthly(2026, 3, &[42.5]);
        let c = layout(&input(&one));
        assert_eq!(c.points.len(), 1);
        assert!(c.desc.starts_with("1 value, Mar 2026;"));
        assert!(c.desc.ends_with("latest 42.5 %."));
    }

    #[test]
    fn baseline_equal_to_target_keeps_labels_apart() {
        let c = layout(&ChartInput {
            baseline: 50.0,
            target: 50.0,
            ..input(&[])
        });
        let (b, t) = (c.baseline.unwrap(), c.target.unwrap());
        assert_eq!(b.y, t.y);
        assert!(b.label_y.0 - t.label_y.0 >= 12.0);
    }

    #[test]
    fn higher_values_are_drawn_higher() {
        let points = monthly(2025, 1, &[10.0, 30.0, 20.0, -5.0, 1000.0]);
        let c = layout(&input(&points));
        let y: Vec<f64> = c.points.iter().map(|p| p.y.0).collect();
        assert!(y[1] < y[2] && y[2] < y[0] && y[0] < y[3] && y[4] < y[1]);
        let (b, t) = (c.baseline.as_ref().unwrap(), c.target.as_ref().unwrap());
        assert!(t.y.0 < b.y.0, "target 60 above baseline 40");
        // And later values further right.
        assert!(c.points.windows(2).all(|w| w[0].x.0 < w[1].x.0));
        // Ticks go up the axis.
        assert!(c.y_ticks.windows(2).all(|w| w[1].pos.0 < w[0].pos.0));
    }

    #[test]
    fn points_are_sorted_and_inside_the_plot() {
        let mut points = monthly(2024, 6, &[5.0, 9.0, 1.0, 4.0]);
        points.reverse();
        let c = layout(&ChartInput {
            path_start: d(2025, 1, 1),
            ..input(&points)
        });
        assert_eq!(c.points.first().unwrap().label, "Jun 2024: 5 %");
        assert_eq!(c.points.last().unwrap().label, "Sep 2024: 4 %");
        assert!(c.desc.contains("latest 4 %"));
        for p in &c.points {
            assert!(inside(&c, p.x, p.y), "{p:?}");
        }
        // The path starts at (path_start, baseline) and ends at (target_date, target).
        let path = c.path.as_ref().unwrap();
        assert_eq!(path.y1, c.baseline.as_ref().unwrap().y);
        assert_eq!(path.y2, c.target.as_ref().unwrap().y);
        assert!(path.x1.0 < path.x2.0);
        assert!(
            (path.x2.0 - c.right.0).abs() < 1e-9,
            "the target date ends the range"
        );
        assert!(
            (c.points[0].x.0 - c.left.0).abs() < 1e-9,
            "the first value starts it"
        );
    }

    #[test]
    fn nice_ticks_cover_the_range() {
        let mut ranges = vec![
            (0.0, 1.0),
            (38.4, 61.6),
            (-12.25, -0.001),
            (0.3, 0.6),
            (1.1, 10.9),
            (0.0, 100.0),
            (999_999.0, 1_000_001.0),
            (-1e15, 1e15),
            (1e15 - 1.0, 1e15),
            (-0.003, 0.004),
        ];
        // And a sweep over magnitudes and offsets.
        for e in -3..13 {
            for k in 1..40 {
                let span = f64::from(k) * 0.37 * 10f64.powi(e);
                let lo = f64::from(k * 7 % 11 - 5) * span / 3.0;
                ranges.push((lo, lo + span));
            }
        }
        for (lo, hi) in ranges {
            let s = NiceScale::new(lo, hi);
            let ticks = s.ticks();
            assert!((4..=6).contains(&ticks.len()), "{lo}..{hi}: {ticks:?}");
            let tol = s.step * 1e-6;
            assert!(
                s.min() <= lo + tol && s.max() >= hi - tol,
                "{lo}..{hi}: {ticks:?}"
            );
            let mantissa = s.step / 10f64.powf(s.step.log10().floor());
            assert!(
                [1.0, 2.0, 5.0].iter().any(|m| (m - mantissa).abs() < 1e-9),
                "step {}",
                s.step
            );
            let labels: Vec<String> = ticks.iter().map(|&t| s.label(t)).collect();
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(unique, labels, "{lo}..{hi}: labels are distinct");
            for l in &labels {
                assert_ne!(l, "-0");
                let decimals = l
                    .trim_end_matches(['M', 'B', 'T'])
                    .split_once('.')
                    .map_or(0, |(_, f)| f.len());
                assert!(decimals <= 2, "{l}");
            }
        }
        let s = NiceScale::new(38.4, 61.6);
        assert_eq!(s.ticks(), vec![30.0, 40.0, 50.0, 60.0, 70.0]);
        // Ticks added to reach four stay on the data's side of zero.
        let s = NiceScale::new(0.001, 0.002);
        assert!(s.min() >= 0.0 && s.ticks().len() == 4, "{:?}", s.ticks());
        let s = NiceScale::new(-0.002, -0.001);
        assert!(s.max() <= 0.0 && s.ticks().len() == 4, "{:?}", s.ticks());
    }

    #[test]
    fn numbers_are_compact() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(-0.0), "0");
        assert_eq!(compact(-0.001), "0");
        assert_eq!(compact(42.5), "42.5");
        assert_eq!(compact(42.125), "42.13");
        assert_eq!(compact(-1234.5), "-1,234.5");
        assert_eq!(compact(999_999.0), "999,999");
        assert_eq!(compact(3_400_000.0), "3.4M");
        assert_eq!(compact(2.1e9), "2.1B");
        assert_eq!(compact(5e12), "5T");
        assert_eq!(compact(1.5e20), "1.5e20");
        assert_eq!(compact(f64::NAN), "n/a");
        let s = NiceScale::new(0.0, 3_000_000.0);
        assert_eq!(s.label(2_500_000.0), "2.5M");
        let s = NiceScale::new(1_000_000.0, 1_000_300.0);
        assert_eq!(s.label(1_000_100.0), "1,000,100");
        assert_eq!(Px(-0.04).to_string(), "0");
        assert_eq!(Px(12.345).to_string(), "12.3");
        assert_eq!(Px(12.96).to_string(), "13");
        assert_eq!(Px(f64::NAN).to_string(), "0");
    }

    #[test]
    fn x_ticks_follow_the_span() {
        let label = |from: NaiveDate, to: NaiveDate| -> Vec<String> {
            month_ticks(days(from), days(to), MAX_X_LABELS)
                .into_iter()
                .map(|t| t.1)
                .collect()
        };
        assert_eq!(
            label(d(2026, 1, 15), d(2026, 5, 31)),
            ["Feb 2026", "Mar 2026", "Apr 2026", "May 2026"]
        );
        assert_eq!(
            label(d(2025, 1, 1), d(2026, 12, 31)),
            [
                "Q1 2025", "Q2 2025", "Q3 2025", "Q4 2025", "Q1 2026", "Q2 2026", "Q3 2026",
                "Q4 2026"
            ]
        );
        assert_eq!(
            label(d(2020, 3, 1), d(2026, 12, 31)),
            ["2021", "2022", "2023", "2024", "2025", "2026"]
        );
        assert_eq!(
            label(d(2001, 1, 1), d(2030, 1, 1)),
            ["2005", "2010", "2015", "2020", "2025", "2030"]
        );
        // Ticks at the first of the month, where the month begins.
        let t = month_ticks(days(d(2026, 1, 15)), days(d(2026, 3, 31)), 8);
        assert_eq!(t[0].0, days(d(2026, 2, 1)));
        // The plot's width limits the labels.
        let c = layout(&ChartInput {
            width: 240,
            ..input(&[])
        });
        assert!(c.x_ticks.len() <= 2, "{:?}", c.x_ticks);
    }

    #[test]
    fn text_is_escaped() {
        let points = vec![ChartPoint {
            at: d(2026, 3, 31),
            value: 1.0,
            label: "<b>\"Mar\" & co</b>".to_string(),
            corrected: false,
        }];
        let svg = render(&ChartInput {
            title: "<script>alert(1)</script>",
            unit: "<i>%</i>",
            ..input(&points)
        });
        assert!(!svg.contains("<script>"));
        assert!(!svg.contains("<b>"));
        assert!(!svg.contains("<i>"));
        // askama writes `<` and `>` as numeric character references.
        assert!(svg.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
        assert!(svg.contains("&#60;b&#62;&#34;Mar&#34; &#38; co&#60;/b&#62;"));
        assert!(svg.contains(">&#60;i&#62;%&#60;/i&#62;</text>"));
        assert_clean(&svg);
    }

    #[test]
    fn desc_mentions_the_latest_value() {
        let points = monthly(2025, 1, &[40.0, 45.0, 52.0]);
        let svg = render(&input(&points));
        let desc = svg
            .split("<desc")
            .nth(1)
            .and_then(|s| s.split("</desc>").next())
            .unwrap();
        assert!(
            desc.contains("3 values from Jan 2025 to Mar 2025"),
            "{desc}"
        );
        assert!(desc.contains("baseline 40 %"), "{desc}");
        assert!(desc.contains("target 60 % by Dec 2026"), "{desc}");
        assert!(desc.contains("latest 52 %"), "{desc}");
    }

    #[test]
    fn the_same_input_gives_the_same_markup() {
        let points = monthly(2025, 1, &[1.0, 2.0]);
        assert_eq!(render(&input(&points)), render(&input(&points)));
        let other = render(&ChartInput {
            title: "Other",
            ..input(&points)
        });
        assert_ne!(
            layout(&input(&points)).id,
            layout(&ChartInput {
                title: "Other",
                ..input(&points)
            })
            .id
        );
        assert!(other.contains("aria-labelledby=\"metric-chart-"));
    }
}
