//! The journey pages: a journey's swimlane map (SVG computed here, drawn by the template), its
//! gaps, and inline forms for stages, handoffs, assumptions, trial runs and feedback; plus the
//! partnership page's "new journey" form and the import page.
//!
//! Every write loads the journey first (another tenant gets "not found"), refuses viewers (403),
//! turns the form into the domain's input, calls one store method and redirects back to the
//! anchor of what changed. A refusal renders the journey page again with the typed values and
//! each error next to its input (422 for invalid input, 409 for a conflict).

use std::borrow::Cow;
use std::collections::HashMap;

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;

use concord_domain::journey::{
    gaps_of, Assumption, AssumptionStatus, AssumptionVerdict, Channel, EndUser, FeedbackInput, Gap,
    GapKind, Handoff, Journey, JourneyExport, JourneyInput, JourneySummary, Severity, Stage,
    StageEdit, Touchpoint, TrialRun, TrialRunInput,
};
use concord_domain::partnership::Partnership;
use concord_domain::{OrgId, PartnershipId, ValidationErrors};
use concord_storage::StoreError;

use super::{capitalize, human_time, render, see_other, Chrome, Opt, PageError, PageId};
use crate::auth::{PageAuth, Principal};
use crate::extract::Form;
use crate::AppState;

/// Touchpoint rows a stage form offers at least (more when a stage already has more).
const TOUCHPOINT_ROWS: usize = 3;
/// The most touchpoints a stage may have (the domain's bound).
const MAX_TOUCHPOINTS: usize = 20;
/// Feedback rows and assumption-verdict rows in the "record a trial run" form.
const FEEDBACK_ROWS: usize = 3;
const VERDICT_ROWS: usize = 2;

const VIEWERS_READ: &str =
    "Viewers read journeys; contributors, alliance managers and admins edit them.";

/// Two numeric ids in a page's path (`/journeys/{id}/stages/{stage}`); anything else is a
/// "Not found" page.
pub struct PageIds(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PageIds {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, PageError> {
        crate::extract::IdsPath::from_request_parts(parts, state)
            .await
            .map(|p| PageIds(p.0, p.1))
            .map_err(|_| PageError::NotFound)
    }
}

fn small_id(n: i64) -> Result<u32, PageError> {
    u32::try_from(n).map_err(|_| PageError::NotFound)
}

// ---------------------------------------------------------------- form inputs

/// Text that is usually a fixed label (no allocation) and sometimes built.
type Text = Cow<'static, str>;

/// An option of a select.
pub struct Choice {
    value: Text,
    label: Text,
    selected: bool,
}

/// One labelled input of a journey form. `id` is unique on the page (many forms share it);
/// `name` is what the form posts.
pub struct Input {
    id: String,
    name: String,
    label: String,
    /// `text`, `number`, `date`, `textarea`, `select` or `checkbox`.
    kind: &'static str,
    value: String,
    checked: bool,
    options: Vec<Choice>,
    error: String,
    hint: String,
    /// `full`, `half`, `third` or `sixth` of the form's grid row.
    width: &'static str,
}

impl Input {
    fn hint(mut self, hint: &str) -> Self {
        self.hint = hint.into();
        self
    }

    fn width(mut self, width: &'static str) -> Self {
        self.width = width;
        self
    }
}

/// Errors by input name, plus those no input shows.
#[derive(Default)]
struct Errors {
    by_name: Vec<(String, String)>,
    general: Vec<String>,
}

impl Errors {
    fn add(&mut self, name: impl Into<String>, message: impl Into<String>) {
        self.by_name.push((name.into(), message.into()));
    }

    fn get(&self, name: &str) -> String {
        self.by_name
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn is_empty(&self) -> bool {
        self.by_name.is_empty() && self.general.is_empty()
    }

    /// Places each domain error on the input `place` names, or among the general ones.
    fn place(&mut self, v: &ValidationErrors, place: &(dyn Fn(&str) -> Option<String> + Sync)) {
        for e in v.errors() {
            match place(&e.field) {
                Some(name) => self.add(name, e.message.clone()),
                None => self.general.push(general_message(&e.field, &e.message)),
            }
        }
    }
}

fn general_message(field: &str, message: &str) -> String {
    match field {
        "" | "stage" | "handoff" | "assumption" | "design" | "feedback" | "position" => {
            capitalize(message)
        }
        f => format!("{f}: {message}"),
    }
}

/// A refused form: which one, what was typed, and what was wrong.
struct Submitted {
    /// Which form on the page (`stage-3`, `stage-new`, `handoff-new`, `trial-run` …).
    key: String,
    /// Where the form is on the page.
    anchor: String,
    /// What was being done, for the alert at the top ("The stage").
    what: String,
    form: Form,
    errors: Errors,
}

/// Builds the inputs of one form: the stored values, or what was typed when this is the form
/// that was refused.
struct Fields<'a> {
    prefix: String,
    sub: Option<&'a Submitted>,
}

impl<'a> Fields<'a> {
    fn new(key: impl Into<String>, prefix: impl Into<String>, sub: Option<&'a Submitted>) -> Self {
        let key = key.into();
        let sub = sub.filter(|s| s.key == key);
        Fields {
            prefix: prefix.into(),
            sub,
        }
    }

    fn active(&self) -> bool {
        self.sub.is_some()
    }

    fn value(&self, name: &str, stored: impl FnOnce() -> String) -> String {
        match self.sub {
            Some(s) => s.form.get(name).to_string(),
            None => stored(),
        }
    }

    fn error(&self, name: &str) -> String {
        self.sub.map(|s| s.errors.get(name)).unwrap_or_default()
    }

    fn general(&self) -> Vec<String> {
        self.sub
            .map(|s| s.errors.general.clone())
            .unwrap_or_default()
    }

    fn input(&self, kind: &'static str, name: &str, label: &str, stored: String) -> Input {
        Input {
            id: format!("{}-{name}", self.prefix),
            name: name.to_string(),
            label: label.to_string(),
            kind,
            value: self.value(name, || stored),
            checked: false,
            options: Vec::new(),
            error: self.error(name),
            hint: String::new(),
            width: match kind {
                "textarea" => "full",
                "number" | "date" => "third",
                _ => "half",
            },
        }
    }

    fn text(&self, name: &str, label: &str, stored: impl Into<String>) -> Input {
        self.input("text", name, label, stored.into())
    }

    fn area(&self, name: &str, label: &str, stored: impl Into<String>) -> Input {
        self.input("textarea", name, label, stored.into())
    }

    fn number(&self, name: &str, label: &str, stored: Option<u32>) -> Input {
        self.input(
            "number",
            name,
            label,
            stored.map(|n| n.to_string()).unwrap_or_default(),
        )
    }

    fn date(&self, name: &str, label: &str, stored: String) -> Input {
        self.input("date", name, label, stored)
    }

    /// A select of `(value, label)` choices, after a blank choice labelled `blank` if given.
    fn select(
        &self,
        name: &str,
        label: &str,
        blank: Option<&str>,
        choices: Vec<(Text, Text)>,
        stored: String,
    ) -> Input {
        let mut i = self.input("select", name, label, stored);
        i.options.reserve(choices.len() + 1);
        if let Some(b) = blank {
            i.options.push(Choice {
                value: Cow::Borrowed(""),
                label: Cow::Owned(b.to_string()),
                selected: i.value.is_empty(),
            });
        }
        for (value, label) in choices {
            let selected = value == i.value.as_str();
            i.options.push(Choice {
                value,
                label,
                selected,
            });
        }
        i
    }

    fn check(&self, name: &str, label: &str, stored: bool) -> Input {
        let mut i = self.input("checkbox", name, label, "on".into());
        i.value = "on".into();
        i.checked = match self.sub {
            Some(s) => !s.form.get(name).is_empty(),
            None => stored,
        };
        i.width = "sixth";
        i
    }

    /// Checkboxes sharing `name`, one per `(value, label)`; ticked when stored (or submitted).
    fn checks(&self, name: &str, choices: Vec<(Text, Text)>, stored: &[String]) -> Vec<Input> {
        let submitted = self.sub.map(|s| s.form.all(name));
        choices
            .into_iter()
            .map(|(v, l)| Input {
                id: format!("{}-{name}-{v}", self.prefix),
                name: name.to_string(),
                label: l.into_owned(),
                kind: "checkbox",
                checked: match &submitted {
                    Some(all) => all.iter().any(|x| *x == v),
                    None => stored.iter().any(|x| *x == v),
                },
                value: v.into_owned(),
                options: Vec::new(),
                error: String::new(),
                hint: String::new(),
                width: "half",
            })
            .collect()
    }
}

fn enum_choices<T: Copy>(
    all: &[T],
    wire: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Vec<(Text, Text)> {
    all.iter()
        .map(|v| (Cow::Borrowed(wire(*v)), Cow::Borrowed(label(*v))))
        .collect()
}

fn channel_choices() -> Vec<(Text, Text)> {
    enum_choices(Channel::ALL, Channel::as_str, Channel::label)
}

/// Shortens `s` to at most `max` characters, ending with "…" when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out = out.trim_end().to_string();
        out.push('…');
        out
    }
}

// ---------------------------------------------------------------- the swimlane map

/// Layout of the map, in SVG user units.
const MARGIN: i32 = 12;
const LABEL_W: i32 = 150;
const HEAD_H: i32 = 32;
const CARD_W: i32 = 200;
const CARD_H: i32 = 104;
const COL_GAP: i32 = 60;
const LANE_PAD: i32 = 26;
const LANE_H: i32 = CARD_H + 2 * LANE_PAD;
/// Characters per line that fit a card's title, a card's small print and a lane label.
const TITLE_CHARS: usize = 24;
const SMALL_CHARS: usize = 30;
const LANE_CHARS: usize = 17;

/// Word-wraps `text` into at most `lines` lines of `width` characters; the last line ends with
/// "…" when the text did not fit.
fn wrap(text: &str, width: usize, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        loop {
            let (cur_len, word_len) = (cur.chars().count(), word.chars().count());
            if cur.is_empty() && word_len <= width {
                cur = word;
                break;
            }
            if !cur.is_empty() && cur_len + 1 + word_len <= width {
                cur.push(' ');
                cur.push_str(&word);
                break;
            }
            if cur.is_empty() {
                out.push(word.chars().take(width).collect());
                word = word.chars().skip(width).collect();
                continue;
            }
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    if out.len() > lines {
        out.truncate(lines);
        if let Some(last) = out.last_mut() {
            let base: String = last.chars().take(width.saturating_sub(1)).collect();
            *last = format!("{}…", base.trim_end());
        }
    }
    out
}

pub struct MapLane {
    y: i32,
    h: i32,
    name: String,
    /// Lines of the label with their baselines.
    label: Vec<(i32, String)>,
    unowned: bool,
    odd: bool,
}

pub struct MapColumn {
    x: i32,
    label: String,
}

pub struct MapCard {
    id: u32,
    x: i32,
    y: i32,
    w: i32,
    h: i32,
    text_x: i32,
    /// The full description, for the tooltip.
    tooltip: String,
    title: Vec<(i32, String)>,
    channels: (i32, String),
    days: (i32, String),
    gap_count: usize,
    /// The number of the stage's first gap in the gap list (`#gap-n`).
    first_gap: usize,
    gap_summary: String,
    badge_x: i32,
    badge_y: i32,
}

/// The line from one stage to the next in journey order: out of the right edge, down or up
/// halfway between the columns, into the next card's left edge.
pub struct MapSequence {
    x1: i32,
    y1: i32,
    mx: i32,
    x2: i32,
    y2: i32,
}

/// A handoff as a cubic Bézier curve from one card's edge to another's, with its channel as a
/// label at the middle.
pub struct MapHandoff {
    x1: i32,
    y1: i32,
    c1x: i32,
    c1y: i32,
    c2x: i32,
    c2y: i32,
    x2: i32,
    y2: i32,
    label: String,
    label_x: i32,
    label_y: i32,
    label_w: i32,
    /// No channel or no information on a cross-party handoff.
    incomplete: bool,
    cross: bool,
    tooltip: String,
}

pub struct MapView {
    width: i32,
    height: i32,
    label_w: i32,
    title: String,
    desc: String,
    lanes: Vec<MapLane>,
    columns: Vec<MapColumn>,
    cards: Vec<MapCard>,
    sequence: Vec<MapSequence>,
    handoffs: Vec<MapHandoff>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Top,
    Bottom,
}

/// Lays out the swimlane map: one lane per party (and "Unowned" when a stage has no owner yet),
/// one column per stage in journey order, handoffs as curves between cards.
fn swimlane_map(p: &Partnership, j: &Journey, gaps: &[Gap]) -> MapView {
    let stages = &j.design.stages;
    let mut lane_of_party: Vec<(OrgId, String)> = p
        .parties
        .iter()
        .map(|x| (x.organization_id, x.organization_name.clone()))
        .collect();
    lane_of_party.dedup_by_key(|x| x.0);
    let owner_lane = |s: &Stage| {
        s.owner
            .and_then(|o| lane_of_party.iter().position(|(id, _)| *id == o))
    };
    let unowned = stages.iter().any(|s| owner_lane(s).is_none());
    let lane_count = lane_of_party.len() + usize::from(unowned);
    let lane_index = |s: &Stage| owner_lane(s).unwrap_or(lane_of_party.len());
    let lane_y = |k: usize| HEAD_H + k as i32 * LANE_H;

    let n = stages.len() as i32;
    let width = MARGIN + LABEL_W + n.max(1) * (CARD_W + COL_GAP) + MARGIN;
    let height = HEAD_H + lane_count as i32 * LANE_H + MARGIN;

    let mut lanes: Vec<MapLane> = lane_of_party
        .iter()
        .map(|(_, name)| name.clone())
        .chain(unowned.then(|| "Unowned".to_string()))
        .enumerate()
        .map(|(k, name)| {
            let lines = wrap(&name, LANE_CHARS, 3);
            let y = lane_y(k);
            let first = y + LANE_H / 2 - (lines.len() as i32 - 1) * 9 + 5;
            MapLane {
                y,
                h: LANE_H,
                label: lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| (first + i as i32 * 18, l))
                    .collect(),
                unowned: unowned && k == lane_of_party.len(),
                odd: k % 2 == 1,
                name,
            }
        })
        .collect();
    if lanes.is_empty() {
        lanes.push(MapLane {
            y: lane_y(0),
            h: LANE_H,
            name: String::new(),
            label: Vec::new(),
            unowned: false,
            odd: false,
        });
    }

    let col_x = |i: usize| MARGIN + LABEL_W + COL_GAP / 2 + i as i32 * (CARD_W + COL_GAP);
    let card_y = |s: &Stage| lane_y(lane_index(s)) + LANE_PAD;
    let columns = (0..stages.len())
        .map(|i| MapColumn {
            x: col_x(i) + CARD_W / 2,
            label: format!("Stage {}", i + 1),
        })
        .collect();

    // Each stage's gaps with their numbers in the gap list.
    let mut gaps_of_stage: HashMap<u32, Vec<(usize, &Gap)>> = HashMap::new();
    for (k, g) in gaps.iter().enumerate() {
        if let Some(sid) = g.stage {
            gaps_of_stage.entry(sid).or_default().push((k + 1, g));
        }
    }
    let cards = stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (x, y) = (col_x(i), card_y(s));
            let sid = s.id.unwrap_or(0);
            let mine: &[(usize, &Gap)] =
                s.id.and_then(|id| gaps_of_stage.get(&id))
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
            let title = wrap(&format!("{}. {}", i + 1, s.name), TITLE_CHARS, 2);
            let title_lines = title.len() as i32;
            let mut channels: Vec<&str> = Vec::new();
            for t in &s.touchpoints {
                if !channels.contains(&t.channel.label()) {
                    channels.push(t.channel.label());
                }
            }
            let channel_text = if channels.is_empty() {
                "No touchpoints".to_string()
            } else {
                let mut c = channels.join(" · ");
                if s.touchpoints.iter().any(|t| t.support) {
                    c.push_str(" (support)");
                }
                c
            };
            let days = match s.days_to_next {
                Some(1) => "1 day to the next stage".to_string(),
                Some(d) => format!("{d} days to the next stage"),
                None if i + 1 == stages.len() => "Last stage".to_string(),
                None => "Time to next stage not set".to_string(),
            };
            let owner = s
                .owner
                .and_then(|o| lane_of_party.iter().find(|(id, _)| *id == o))
                .map(|(_, n)| n.as_str())
                .unwrap_or("nobody yet");
            let text_y = y + 21;
            MapCard {
                id: sid,
                x,
                y,
                w: CARD_W,
                h: CARD_H,
                text_x: x + 10,
                tooltip: format!(
                    "{}. {} — owned by {owner}; {channel_text}; {days}",
                    i + 1,
                    s.name
                ),
                title: title
                    .into_iter()
                    .enumerate()
                    .map(|(k, l)| (text_y + k as i32 * 17, l))
                    .collect(),
                channels: (
                    text_y + title_lines * 17 + 8,
                    shorten(&channel_text, SMALL_CHARS),
                ),
                days: (y + CARD_H - 12, shorten(&days, SMALL_CHARS)),
                gap_count: mine.len(),
                first_gap: mine.first().map(|(k, _)| *k).unwrap_or(0),
                gap_summary: mine
                    .iter()
                    .map(|(k, g)| format!("Gap {k}: {}", g.label))
                    .collect::<Vec<_>>()
                    .join("; "),
                badge_x: x + CARD_W - 4,
                badge_y: y + 4,
            }
        })
        .collect();

    let sequence = stages
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let x1 = col_x(i) + CARD_W;
            MapSequence {
                x1,
                y1: card_y(&w[0]) + CARD_H / 2,
                mx: x1 + COL_GAP / 2,
                x2: col_x(i + 1),
                y2: card_y(&w[1]) + CARD_H / 2,
            }
        })
        .collect();

    // Handoffs: leave through the bottom towards a lower lane, the top towards a higher one (or
    // the same one, arching over the cards); several on one edge are spread along it.
    let positions: HashMap<u32, usize> = stages
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.id.map(|id| (id, i)))
        .collect();
    let index_of = |id: u32| positions.get(&id).copied();
    struct Route {
        from: usize,
        to: usize,
        out: Side,
        into: Side,
        h: usize,
    }
    let routes: Vec<Route> = j
        .design
        .handoffs
        .iter()
        .enumerate()
        .filter_map(|(h, x)| {
            let (from, to) = (index_of(x.from_stage)?, index_of(x.to_stage)?);
            let (lf, lt) = (lane_index(&stages[from]), lane_index(&stages[to]));
            let (out, into) = match lt.cmp(&lf) {
                std::cmp::Ordering::Greater => (Side::Bottom, Side::Top),
                std::cmp::Ordering::Less => (Side::Top, Side::Bottom),
                std::cmp::Ordering::Equal => (Side::Top, Side::Top),
            };
            Some(Route {
                from,
                to,
                out,
                into,
                h,
            })
        })
        .collect();
    // The handoffs meeting each card edge, in order, to spread them along it.
    let mut ends: HashMap<(usize, Side), Vec<usize>> = HashMap::new();
    for (r, route) in routes.iter().enumerate() {
        for key in [(route.from, route.out), (route.to, route.into)] {
            ends.entry(key).or_default().push(r);
        }
    }
    let offset = |key: (usize, Side), r: usize| -> i32 {
        let Some(v) = ends.get(&key) else {
            return 0;
        };
        let pos = v.iter().position(|x| *x == r).unwrap_or(0) as i32;
        let spread = 22.min((CARD_W - 40) / (v.len() as i32).max(1));
        (2 * pos - (v.len() as i32 - 1)) * spread / 2
    };
    let port = |i: usize, side: Side, dx: i32| -> (i32, i32) {
        let y = card_y(&stages[i]);
        (
            col_x(i) + CARD_W / 2 + dx,
            if side == Side::Top { y } else { y + CARD_H },
        )
    };
    let handoffs = routes
        .iter()
        .enumerate()
        .map(|(r, route)| {
            let h = &j.design.handoffs[route.h];
            let (x1, y1) = port(route.from, route.out, offset((route.from, route.out), r));
            let (x2, y2) = port(route.to, route.into, offset((route.to, route.into), r));
            let (c1y, c2y) = if route.out == route.into {
                (y1 - 56, y2 - 56)
            } else {
                let d = ((y2 - y1).abs() / 2).max(40);
                if route.out == Side::Bottom {
                    (y1 + d, y2 - d)
                } else {
                    (y1 - d, y2 + d)
                }
            };
            let (a, b) = (&stages[route.from], &stages[route.to]);
            let cross = matches!((a.owner, b.owner), (Some(x), Some(y)) if x != y);
            let incomplete = cross && (h.channel.is_none() || h.information.trim().is_empty());
            let label = match h.channel {
                Some(c) => c.label().to_string(),
                None if cross => "no channel".to_string(),
                None => String::new(),
            };
            // An arc within a lane carries its label at its top (t = ½); a handoff across lanes
            // carries it where it leaves its card, clear of the journey-order line, which turns
            // halfway between the columns.
            let (label_x, label_y) = match (route.out, route.into) {
                (Side::Top, Side::Top) => ((x1 + x2) / 2, (y1 + 3 * c1y + 3 * c2y + y2) / 8),
                (Side::Bottom, _) => (x1, y1 + 15),
                (Side::Top, _) => (x1, y1 - 13),
            };
            MapHandoff {
                x1,
                y1,
                c1x: x1,
                c1y,
                c2x: x2,
                c2y,
                x2,
                y2,
                label_w: label.chars().count() as i32 * 6 + 10,
                label_x,
                label_y,
                label,
                incomplete,
                cross,
                tooltip: format!(
                    "Handoff from {}. {} to {}. {}{}{}",
                    route.from + 1,
                    a.name,
                    route.to + 1,
                    b.name,
                    h.channel
                        .map(|c| format!(" by {}", c.label().to_lowercase()))
                        .unwrap_or_default(),
                    if h.information.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", h.information)
                    }
                ),
            }
        })
        .collect();

    let lane_names: Vec<&str> = lanes.iter().map(|l| l.name.as_str()).collect();
    let stage_list = stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let owner = s
                .owner
                .and_then(|o| lane_of_party.iter().find(|(id, _)| *id == o))
                .map(|(_, n)| n.as_str())
                .unwrap_or("unowned");
            format!("{}. {} ({owner})", i + 1, s.name)
        })
        .collect::<Vec<_>>()
        .join("; ");
    let gap_stages = {
        let mut v: Vec<u32> = gaps.iter().filter_map(|g| g.stage).collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    let desc = format!(
        "{} lane{} ({}); {} stage{} in journey order{}{}; {} handoff{}; {} gap{} on {} stage{}.",
        lanes.len(),
        plural(lanes.len()),
        lane_names.join(", "),
        stages.len(),
        plural(stages.len()),
        if stages.is_empty() { "" } else { ": " },
        stage_list,
        j.design.handoffs.len(),
        plural(j.design.handoffs.len()),
        gaps.len(),
        plural(gaps.len()),
        gap_stages,
        plural(gap_stages),
    );
    MapView {
        width,
        height,
        label_w: LABEL_W,
        title: format!(
            "Swimlane map of the journey \"{}\" for a {}",
            j.name,
            j.end_user.label().to_lowercase()
        ),
        desc,
        lanes,
        columns,
        cards,
        sequence,
        handoffs,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

// ---------------------------------------------------------------- the journey page

pub struct GapView {
    number: usize,
    kind: GapKind,
    stage: Option<u32>,
    stage_label: String,
    evidence: String,
}

pub struct StageForm {
    /// The DOM id of the form.
    form_id: String,
    action: String,
    submit_id: String,
    submit_label: &'static str,
    main: Vec<Input>,
    kfd: Vec<Input>,
    next: Vec<Input>,
    touchpoints: Vec<Vec<Input>>,
    touchpoint_rows: usize,
    general: Vec<String>,
    /// For a stored stage: its address (for move and remove) and where it can move.
    prefix: String,
    stage_base: String,
    up: usize,
    down: usize,
}

pub struct StageView {
    id: u32,
    number: usize,
    name: String,
    owner: String,
    touchpoints: Vec<String>,
    know: String,
    feel: String,
    act: String,
    days: String,
    next_step: String,
    gaps: Vec<usize>,
    form: Option<StageForm>,
    /// Positions for the move buttons when the form is closed (0 = no such move).
    up: usize,
    down: usize,
}

pub struct HandoffView {
    id: u32,
    from: String,
    to: String,
    channel: String,
    information: String,
    cross: bool,
    general: Vec<String>,
}

pub struct SimpleForm {
    fields: Vec<Input>,
    general: Vec<String>,
}

pub struct AssumptionForm {
    form_id: String,
    action: String,
    submit_id: String,
    submit_label: &'static str,
    /// Statement and stages shown as inputs (or carried as hidden inputs).
    full: bool,
    statement: String,
    stage_ids: Vec<u32>,
    fields: Vec<Input>,
    stages: Vec<Input>,
    stages_error: String,
    general: Vec<String>,
    /// Opens the full form (statement and linked stages) for this assumption.
    edit_link: String,
}

pub struct AssumptionView {
    id: u32,
    statement: String,
    status: AssumptionStatus,
    evidence: String,
    stages: Vec<(u32, String)>,
    form: Option<AssumptionForm>,
}

pub struct FeedbackView {
    id: i64,
    stage: String,
    stage_id: u32,
    participant: String,
    severity: Severity,
    what_happened: String,
    knew: String,
    felt: String,
    did: String,
    addressed: String,
    addressed_note: String,
    /// Open major or blocking feedback (a gap until addressed).
    open: bool,
    /// The "addressed" form: shown to editors on open feedback, with what was typed and the
    /// errors when it was refused.
    can_address: bool,
    note: String,
    note_error: String,
    general: Vec<String>,
}

pub struct RunView {
    id: i64,
    run_on: String,
    participants: String,
    notes: String,
    feedback: Vec<FeedbackView>,
}

pub struct RunForm {
    top: Vec<Input>,
    feedback: Vec<Vec<Input>>,
    verdicts: Vec<Vec<Input>>,
    general: Vec<String>,
}

pub struct Refusal {
    anchor: String,
    what: String,
    /// Some errors are shown next to inputs of the form.
    on_fields: bool,
    messages: Vec<String>,
}

#[derive(Template)]
#[template(path = "journey.html")]
struct JourneyPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    j: Journey,
    updated: String,
    can_edit: bool,
    archived: bool,
    map: MapView,
    gaps: Vec<GapView>,
    stages: Vec<StageView>,
    add_stage: Option<StageForm>,
    handoffs: Vec<HandoffView>,
    add_handoff: Option<SimpleForm>,
    assumptions: Vec<AssumptionView>,
    add_assumption: Option<AssumptionForm>,
    runs: Vec<RunView>,
    record_run: Option<RunForm>,
    details: Option<SimpleForm>,
    refusal: Option<Refusal>,
}

#[derive(Deserialize, Default)]
pub struct ShowParams {
    /// The assumption whose statement and stages are open for editing.
    assumption: Option<String>,
    /// On a long journey, the stage whose form is open.
    stage: Option<String>,
}

/// Above this many stages the page opens one stage's form at a time (each stage still has its
/// move and remove buttons), so a long journey's page stays small and quick.
pub const INLINE_FORMS_UP_TO: usize = 30;

fn party_name(p: &Partnership, o: Option<OrgId>) -> String {
    o.and_then(|o| p.parties.iter().find(|x| x.organization_id == o))
        .map(|x| x.organization_name.clone())
        .unwrap_or_else(|| "Nobody yet".into())
}

/// Each stage as people refer to it ("3. First dental visit"), by id, and as select choices;
/// built once per page.
struct StageLabels {
    by_id: HashMap<u32, String>,
    choices: Vec<(Text, Text)>,
}

impl StageLabels {
    fn new(j: &Journey) -> Self {
        let mut by_id = HashMap::with_capacity(j.design.stages.len());
        let mut choices = Vec::with_capacity(j.design.stages.len());
        for (i, s) in j.design.stages.iter().enumerate() {
            if let Some(id) = s.id {
                let label = format!("{}. {}", i + 1, s.name);
                choices.push((Cow::Owned(id.to_string()), Cow::Owned(shorten(&label, 60))));
                by_id.insert(id, label);
            }
        }
        StageLabels { by_id, choices }
    }

    fn get(&self, id: u32) -> String {
        self.by_id
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("stage {id} (removed)"))
    }

    fn choices(&self) -> Vec<(Text, Text)> {
        self.choices.clone()
    }
}

fn touchpoint_text(t: &Touchpoint) -> String {
    let mut s = t.channel.label().to_string();
    if !t.description.is_empty() {
        s.push_str(" — ");
        s.push_str(&t.description);
    }
    if t.support {
        s.push_str(" (support)");
    }
    s
}

fn days_text(d: Option<u32>) -> String {
    match d {
        None => String::new(),
        Some(1) => "1 day".into(),
        Some(d) => format!("{d} days"),
    }
}

/// The stage form: an existing stage (`stage` given) or a new one.
fn stage_form(
    p: &Partnership,
    j: &Journey,
    stage: Option<&Stage>,
    sub: Option<&Submitted>,
) -> StageForm {
    let (key, prefix) = match stage.and_then(|s| s.id) {
        Some(id) => (format!("stage-{id}"), format!("s{id}")),
        None => ("stage-new".to_string(), "snew".to_string()),
    };
    let f = Fields::new(key, prefix.clone(), sub);
    let get = |g: fn(&Stage) -> String| stage.map(g).unwrap_or_default();
    let owners: Vec<(Text, Text)> = p
        .parties
        .iter()
        .map(|x| {
            (
                Cow::Owned(x.organization_id.to_string()),
                Cow::Owned(x.organization_name.clone()),
            )
        })
        .collect();
    let mut main = vec![
        f.text("name", "Name", get(|s| s.name.clone())),
        f.select(
            "owner",
            "Owner",
            Some("Nobody yet"),
            owners,
            stage
                .and_then(|s| s.owner)
                .map(|o| o.to_string())
                .unwrap_or_default(),
        )
        .width("third"),
        f.number(
            "days_to_next",
            "Days to next stage",
            stage.and_then(|s| s.days_to_next),
        )
        .width("sixth"),
    ];
    if stage.is_none() {
        main[0].width = "third";
        main.push(
            f.number("position", "Position", None)
                .width("sixth")
                .hint(&format!(
                    "1 to {}; blank adds it at the end",
                    j.design.stages.len() + 1
                )),
        );
    }
    let kfd = vec![
        f.area("know", "What they should know", get(|s| s.know.clone()))
            .width("third"),
        f.area("feel", "What they should feel", get(|s| s.feel.clone()))
            .width("third"),
        f.area("do", "What they should do", get(|s| s.act.clone()))
            .width("third"),
    ];
    let next = vec![f
        .text("next_step", "Next step", get(|s| s.next_step.clone()))
        .width("full")];
    let stored_tps: &[Touchpoint] = stage.map(|s| s.touchpoints.as_slice()).unwrap_or(&[]);
    let rows = if f.active() {
        f.value("touchpoint_rows", String::new)
            .parse::<usize>()
            .unwrap_or(TOUCHPOINT_ROWS)
            .clamp(TOUCHPOINT_ROWS, MAX_TOUCHPOINTS)
    } else {
        (stored_tps.len() + 1).clamp(TOUCHPOINT_ROWS, MAX_TOUCHPOINTS)
    };
    let touchpoints = (0..rows)
        .map(|i| {
            let t = stored_tps.get(i);
            vec![
                f.select(
                    &format!("tp{i}_channel"),
                    &format!("Touchpoint {} channel", i + 1),
                    Some("—"),
                    channel_choices(),
                    t.map(|t| t.channel.as_str().to_string())
                        .unwrap_or_default(),
                )
                .width("third"),
                f.text(
                    &format!("tp{i}_description"),
                    &format!("Touchpoint {} description", i + 1),
                    t.map(|t| t.description.clone()).unwrap_or_default(),
                ),
                f.check(
                    &format!("tp{i}_support"),
                    "Support",
                    t.is_some_and(|t| t.support),
                ),
            ]
        })
        .collect();
    let (action, submit_label) = match stage.and_then(|s| s.id) {
        Some(id) => (format!("/journeys/{}/stages/{id}", j.id), "Save stage"),
        None => (format!("/journeys/{}/stages", j.id), "Add stage"),
    };
    StageForm {
        form_id: format!("{prefix}-form"),
        submit_id: format!("{prefix}-save"),
        stage_base: match stage.and_then(|s| s.id) {
            Some(id) => format!("/journeys/{}/stages/{id}", j.id),
            None => String::new(),
        },
        prefix,
        up: 0,
        down: 0,
        action,
        submit_label,
        main,
        kfd,
        next,
        touchpoints,
        touchpoint_rows: rows,
        general: f.general(),
    }
}

fn assumption_form(
    j: &Journey,
    labels: &StageLabels,
    a: Option<&Assumption>,
    full: bool,
    sub: Option<&Submitted>,
) -> AssumptionForm {
    let (key, prefix) = match a.and_then(|a| a.id) {
        Some(id) => (format!("assumption-{id}"), format!("a{id}")),
        None => ("assumption-new".to_string(), "anew".to_string()),
    };
    let f = Fields::new(key, prefix.clone(), sub);
    let full = full || f.active() && f.sub.is_some_and(|s| s.form.get("full") == "1");
    let mut fields = Vec::new();
    if full {
        fields.push(
            f.area(
                "statement",
                "Statement",
                a.map(|a| a.statement.clone()).unwrap_or_default(),
            )
            .width("full"),
        );
    }
    fields.push(
        f.select(
            "status",
            "Status",
            None,
            enum_choices(
                AssumptionStatus::ALL,
                AssumptionStatus::as_str,
                AssumptionStatus::label,
            ),
            a.map(|a| a.status.as_str().to_string())
                .unwrap_or_else(|| "untested".into()),
        )
        .width("third"),
    );
    fields.push(
        f.area(
            "evidence",
            "Evidence",
            a.map(|a| a.evidence.clone()).unwrap_or_default(),
        )
        .width("full"),
    );
    let linked: Vec<String> = a
        .map(|a| a.stages.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    let stages = if full {
        f.checks("stages", labels.choices(), &linked)
    } else {
        Vec::new()
    };
    let (action, submit_label) = match a.and_then(|a| a.id) {
        Some(id) => (
            format!("/journeys/{}/assumptions/{id}", j.id),
            "Save assumption",
        ),
        None => (format!("/journeys/{}/assumptions", j.id), "Add assumption"),
    };
    AssumptionForm {
        form_id: format!("{prefix}-form"),
        submit_id: format!("{prefix}-save"),
        action,
        submit_label,
        full,
        statement: a.map(|a| a.statement.clone()).unwrap_or_default(),
        stage_ids: a.map(|a| a.stages.clone()).unwrap_or_default(),
        fields,
        stages,
        stages_error: f.error("stages"),
        general: f.general(),
        edit_link: a
            .and_then(|a| a.id)
            .map(|aid| format!("/journeys/{}?assumption={aid}#assumption-{aid}", j.id))
            .unwrap_or_default(),
    }
}

fn run_form(j: &Journey, labels: &StageLabels, sub: Option<&Submitted>) -> RunForm {
    let f = Fields::new("trial-run", "run", sub);
    let top = vec![
        f.date(
            "run_on",
            "Run on",
            chrono::Utc::now().date_naive().to_string(),
        ),
        f.text("participants", "Participants", String::new())
            .width("full")
            .hint("Pseudonymous ids separated by commas (P-01, P-02): no names, e-mail addresses, phone or record numbers."),
        f.area("notes", "Notes", String::new()),
    ];
    let severity = enum_choices(Severity::ALL, Severity::as_str, Severity::label);
    let feedback = (0..FEEDBACK_ROWS)
        .map(|i| {
            let n = |k: &str| format!("fb{i}_{k}");
            vec![
                f.select(
                    &n("stage"),
                    "Stage",
                    Some("Choose…"),
                    labels.choices(),
                    String::new(),
                ),
                f.text(&n("participant"), "Participant", String::new())
                    .width("sixth"),
                f.select(
                    &n("severity"),
                    "Severity",
                    Some("Choose…"),
                    severity.clone(),
                    String::new(),
                )
                .width("sixth"),
                f.area(&n("what_happened"), "What happened", String::new()),
                f.text(&n("knew"), "What they knew", String::new())
                    .width("third"),
                f.text(&n("felt"), "What they felt", String::new())
                    .width("third"),
                f.text(&n("did"), "What they did", String::new())
                    .width("third"),
            ]
        })
        .collect();
    let assumptions: Vec<(Text, Text)> = j
        .design
        .assumptions
        .iter()
        .filter_map(|a| {
            a.id.map(|id| {
                (
                    Cow::Owned(id.to_string()),
                    Cow::Owned(shorten(&a.statement, 70)),
                )
            })
        })
        .collect();
    let verdicts = if assumptions.is_empty() {
        Vec::new()
    } else {
        (0..VERDICT_ROWS)
            .map(|i| {
                let n = |k: &str| format!("av{i}_{k}");
                vec![
                    f.select(
                        &n("assumption"),
                        "Assumption",
                        Some("Choose…"),
                        assumptions.clone(),
                        String::new(),
                    ),
                    f.select(
                        &n("status"),
                        "Verdict",
                        Some("Choose…"),
                        vec![
                            ("validated".into(), "Validated".into()),
                            ("invalidated".into(), "Invalidated".into()),
                        ],
                        String::new(),
                    )
                    .width("sixth"),
                    f.text(&n("evidence"), "Evidence", String::new())
                        .width("third"),
                ]
            })
            .collect()
    };
    RunForm {
        top,
        feedback,
        verdicts,
        general: f.general(),
    }
}

async fn journey_page(
    s: &AppState,
    who: &Principal,
    id: i64,
    sub: Option<Submitted>,
    status: StatusCode,
    open_assumption: Option<u32>,
    open_stage: Option<u32>,
) -> Result<Response, PageError> {
    let (p, j, runs) = s.store.journey(&who.actor(), id).await?;
    let can_edit = who.acting.role.can_contribute();
    let chrome = Chrome::load(s, who).await?;
    let page = page_view(
        chrome,
        p,
        j,
        &runs,
        can_edit,
        sub.as_ref(),
        (open_assumption, open_stage),
    );
    render(status, &page)
}

/// Everything the journey page shows, from the stored journey; `can_edit` is the role's say
/// (an archived partnership is read-only whatever the role).
fn page_view(
    chrome: Chrome,
    p: Partnership,
    j: Journey,
    runs: &[TrialRun],
    can_edit: bool,
    sub: Option<&Submitted>,
    (open_assumption, open_stage): (Option<u32>, Option<u32>),
) -> JourneyPage {
    let archived = p.archived_at.is_some();
    let can_edit = can_edit && !archived;
    let labels = StageLabels::new(&j);
    let gap_list = gaps_of(&j, runs);
    let map = swimlane_map(&p, &j, &gap_list);
    let gaps: Vec<GapView> = gap_list
        .iter()
        .enumerate()
        .map(|(k, g)| GapView {
            number: k + 1,
            kind: g.kind,
            stage: g.stage,
            stage_label: g.stage.map(|sid| labels.get(sid)).unwrap_or_default(),
            evidence: g.evidence.clone(),
        })
        .collect();
    let count = j.design.stages.len();
    // A long journey opens one stage's form at a time: the one asked for, or the one whose
    // submission was refused.
    let all_forms = count <= INLINE_FORMS_UP_TO;
    let refused_stage = sub.and_then(|x| x.key.strip_prefix("stage-")?.parse::<u32>().ok());
    let is_open = |sid: Option<u32>| {
        all_forms || (sid.is_some() && (sid == open_stage || sid == refused_stage))
    };
    let stages = j
        .design
        .stages
        .iter()
        .enumerate()
        .map(|(i, st)| StageView {
            id: st.id.unwrap_or(0),
            number: i + 1,
            name: st.name.clone(),
            owner: party_name(&p, st.owner),
            touchpoints: st.touchpoints.iter().map(touchpoint_text).collect(),
            know: st.know.clone(),
            feel: st.feel.clone(),
            act: st.act.clone(),
            days: days_text(st.days_to_next),
            next_step: st.next_step.clone(),
            gaps: gaps
                .iter()
                .filter(|g| g.stage.is_some() && g.stage == st.id)
                .map(|g| g.number)
                .collect(),
            form: (can_edit && is_open(st.id)).then(|| {
                let mut f = stage_form(&p, &j, Some(st), sub);
                f.up = i;
                f.down = if i + 1 < count { i + 2 } else { 0 };
                f
            }),
            up: i,
            down: if i + 1 < count { i + 2 } else { 0 },
        })
        .collect();
    let handoffs = j
        .design
        .handoffs
        .iter()
        .map(|h| {
            let owner = |sid: u32| j.design.stage(sid).and_then(|s| s.owner);
            HandoffView {
                id: h.id.unwrap_or(0),
                from: labels.get(h.from_stage),
                to: labels.get(h.to_stage),
                channel: h.channel.map(|c| c.label().to_string()).unwrap_or_default(),
                information: h.information.clone(),
                cross: matches!(
                    (owner(h.from_stage), owner(h.to_stage)),
                    (Some(a), Some(b)) if a != b
                ),
                general: Fields::new(format!("handoff-{}", h.id.unwrap_or(0)), "h", sub).general(),
            }
        })
        .collect();
    let add_handoff = (can_edit && count >= 2).then(|| {
        let f = Fields::new("handoff-new", "hnew", sub);
        SimpleForm {
            fields: vec![
                f.select(
                    "from_stage",
                    "From stage",
                    Some("Choose…"),
                    labels.choices(),
                    String::new(),
                ),
                f.select(
                    "to_stage",
                    "To stage",
                    Some("Choose…"),
                    labels.choices(),
                    String::new(),
                ),
                f.select(
                    "channel",
                    "Channel",
                    Some("Not decided yet"),
                    channel_choices(),
                    String::new(),
                )
                .width("third"),
                f.area("information", "Information that passes", String::new()),
            ],
            general: f.general(),
        }
    });
    let assumptions = j
        .design
        .assumptions
        .iter()
        .map(|a| {
            let aid = a.id.unwrap_or(0);
            AssumptionView {
                id: aid,
                statement: a.statement.clone(),
                status: a.status,
                evidence: a.evidence.clone(),
                stages: a
                    .stages
                    .iter()
                    .map(|sid| (*sid, labels.get(*sid)))
                    .collect(),
                form: can_edit.then(|| {
                    assumption_form(&j, &labels, Some(a), open_assumption == Some(aid), sub)
                }),
            }
        })
        .collect();
    let add_assumption = can_edit.then(|| assumption_form(&j, &labels, None, true, sub));
    let runs = runs
        .iter()
        .map(|r| run_view(&labels, r, can_edit, sub))
        .collect();
    let record_run = (can_edit && count > 0).then(|| run_form(&j, &labels, sub));
    let details = can_edit.then(|| {
        let f = Fields::new("details", "j", sub);
        SimpleForm {
            fields: vec![
                f.text("name", "Name", j.name.clone()),
                f.select(
                    "end_user",
                    "End user",
                    None,
                    enum_choices(EndUser::ALL, EndUser::as_str, EndUser::label),
                    j.end_user.as_str().to_string(),
                )
                .width("third"),
                f.number(
                    "lull_threshold_days",
                    "Lull threshold (days)",
                    Some(j.lull_threshold_days),
                )
                .width("sixth")
                .hint("A longer wait without a support touchpoint is a gap."),
                f.area("description", "Description", j.description.clone()),
            ],
            general: f.general(),
        }
    });
    let refusal = sub.map(|s| Refusal {
        anchor: s.anchor.clone(),
        what: s.what.clone(),
        on_fields: !s.errors.by_name.is_empty(),
        messages: s
            .errors
            .by_name
            .iter()
            .map(|(n, m)| format!("{}: {m}", label_for(n)))
            .chain(s.errors.general.iter().cloned())
            .collect(),
    });
    JourneyPage {
        active: "partnerships",
        chrome,
        updated: human_time(j.updated_at),
        can_edit,
        archived,
        map,
        gaps,
        stages,
        add_stage: can_edit.then(|| stage_form(&p, &j, None, sub)),
        handoffs,
        add_handoff,
        assumptions,
        add_assumption,
        runs,
        record_run,
        details,
        refusal,
        p,
        j,
    }
}

fn run_view(
    labels: &StageLabels,
    r: &TrialRun,
    can_edit: bool,
    sub: Option<&Submitted>,
) -> RunView {
    RunView {
        id: r.id,
        run_on: r.run_on.format("%-d %b %Y").to_string(),
        participants: r.participants.join(", "),
        notes: r.notes.clone(),
        feedback: r
            .feedback
            .iter()
            .map(|fb| {
                let open = fb.addressed_at.is_none() && fb.severity != Severity::Minor;
                let key = if sub.is_some() {
                    format!("feedback-{}", fb.id)
                } else {
                    String::new()
                };
                let f = Fields::new(key, String::new(), sub);
                FeedbackView {
                    id: fb.id,
                    stage: labels.get(fb.stage),
                    stage_id: fb.stage,
                    participant: fb.participant.clone(),
                    severity: fb.severity,
                    what_happened: fb.what_happened.clone(),
                    knew: fb.knew.clone(),
                    felt: fb.felt.clone(),
                    did: fb.did.clone(),
                    addressed: fb.addressed_at.map(human_time).unwrap_or_default(),
                    addressed_note: fb.addressed_note.clone(),
                    open,
                    can_address: can_edit && open,
                    note: f.value("note", String::new),
                    note_error: f.error("note"),
                    general: f.general(),
                }
            })
            .collect(),
    }
}

/// A label for an input name, for the summary at the top of the page.
fn label_for(name: &str) -> String {
    let plain = match name {
        "name" => "Name",
        "owner" => "Owner",
        "know" => "What they should know",
        "feel" => "What they should feel",
        "do" => "What they should do",
        "days_to_next" => "Days to next stage",
        "next_step" => "Next step",
        "position" => "Position",
        "from_stage" => "From stage",
        "to_stage" => "To stage",
        "channel" => "Channel",
        "information" => "Information",
        "statement" => "Statement",
        "status" => "Status",
        "evidence" => "Evidence",
        "stages" => "Linked stages",
        "run_on" => "Run on",
        "participants" => "Participants",
        "notes" => "Notes",
        "note" => "What was done",
        "end_user" => "End user",
        "description" => "Description",
        "lull_threshold_days" => "Lull threshold",
        _ => "",
    };
    if !plain.is_empty() {
        return plain.to_string();
    }
    // tp0_channel, fb1_stage, av0_evidence
    let (head, tail) = name.split_once('_').unwrap_or((name, ""));
    let row = head
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .parse::<usize>()
        .map(|n| n + 1)
        .unwrap_or(0);
    let what = if head.starts_with("tp") {
        "Touchpoint"
    } else if head.starts_with("fb") {
        "Feedback"
    } else if head.starts_with("av") {
        "Assumption verdict"
    } else {
        return name.to_string();
    };
    format!("{what} {row}, {}", tail.replace('_', " "))
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    Query(params): Query<ShowParams>,
) -> Result<Response, PageError> {
    let open = params.assumption.and_then(|a| a.parse::<u32>().ok());
    let stage = params.stage.and_then(|a| a.parse::<u32>().ok());
    journey_page(&s, &who, id, None, StatusCode::OK, open, stage).await
}

// ---------------------------------------------------------------- writes

/// Loads the journey (404 for anyone not party to it) and refuses viewers (403).
async fn writable(
    s: &AppState,
    who: &Principal,
    id: i64,
) -> Result<(Partnership, Journey, Vec<TrialRun>), PageError> {
    let loaded = s.store.journey(&who.actor(), id).await?;
    if !who.acting.role.can_contribute() {
        return Err(PageError::Refused(
            StatusCode::FORBIDDEN,
            VIEWERS_READ.into(),
        ));
    }
    Ok(loaded)
}

/// Shows the journey page again with the refused form, its values and errors.
async fn refused_form(
    s: &AppState,
    who: &Principal,
    id: i64,
    sub: Submitted,
    status: StatusCode,
) -> Result<Response, PageError> {
    journey_page(s, who, id, Some(sub), status, None, None).await
}

/// Turns a store refusal into the form's errors (422 for invalid input, 409 for a conflict or
/// an archived partnership); anything else becomes an error page.
async fn store_refused(
    s: &AppState,
    who: &Principal,
    id: i64,
    mut sub: Submitted,
    e: StoreError,
    place: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Response, PageError> {
    let status = match e {
        StoreError::Validation(v) => {
            sub.errors.place(&v, place);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        StoreError::Refused { field, message, .. } | StoreError::Conflict { field, message } => {
            match place(&field) {
                Some(name) => sub.errors.add(name, message),
                None => sub.errors.general.push(capitalize(&message)),
            }
            StatusCode::CONFLICT
        }
        e @ StoreError::Archived { .. } => {
            sub.errors.general.push(capitalize(&e.to_string()));
            StatusCode::CONFLICT
        }
        other => return Err(other.into()),
    };
    refused_form(s, who, id, sub, status).await
}

fn submitted(key: String, anchor: String, what: &str, form: Form) -> Submitted {
    Submitted {
        key,
        anchor,
        what: what.to_string(),
        form,
        errors: Errors::default(),
    }
}

/// `design.stages[3].touchpoints[1].description` → `touchpoints[1].description`.
fn after_item<'f>(field: &'f str, list: &str) -> Option<&'f str> {
    let rest = field
        .strip_prefix("design.")
        .unwrap_or(field)
        .strip_prefix(list)?
        .strip_prefix('[')?;
    let (_, tail) = rest.split_once(']')?;
    Some(tail.trim_start_matches('.'))
}

/// A stage as the form describes it, with the form rows the touchpoints came from; or the
/// problems by input name.
fn stage_from_form(form: &Form, errors: &mut Errors) -> (Stage, Vec<usize>) {
    let owner = match form.get("owner").trim() {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(o) => Some(OrgId(o)),
            Err(_) => {
                errors.add("owner", "choose one of the parties, or nobody yet");
                None
            }
        },
    };
    let days_to_next = match form.get("days_to_next").trim() {
        "" => None,
        v => match v.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add(
                    "days_to_next",
                    format!("must be a whole number of days (got \"{v}\")"),
                );
                None
            }
        },
    };
    let position = match form.get("position").trim() {
        "" => None,
        v => match v.parse::<u32>().ok().filter(|p| *p > 0) {
            Some(p) => Some(p),
            None => {
                errors.add(
                    "position",
                    format!("must be a whole number from 1 (got \"{v}\")"),
                );
                None
            }
        },
    };
    let rows = form
        .get("touchpoint_rows")
        .parse::<usize>()
        .unwrap_or(TOUCHPOINT_ROWS)
        .min(MAX_TOUCHPOINTS);
    let mut touchpoints = Vec::new();
    let mut kept = Vec::new();
    for i in 0..rows {
        let channel = form.get(&format!("tp{i}_channel")).trim();
        let description = form.get(&format!("tp{i}_description"));
        if channel.is_empty() && description.trim().is_empty() {
            continue;
        }
        match channel.parse::<Channel>() {
            Ok(channel) => {
                touchpoints.push(Touchpoint {
                    channel,
                    description: description.to_string(),
                    support: !form.get(&format!("tp{i}_support")).is_empty(),
                });
                kept.push(i);
            }
            Err(_) => errors.add(
                format!("tp{i}_channel"),
                "choose how the touchpoint happens",
            ),
        }
    }
    (
        Stage {
            id: None,
            position,
            name: form.get("name").to_string(),
            owner,
            touchpoints,
            know: form.get("know").to_string(),
            feel: form.get("feel").to_string(),
            act: form.get("do").to_string(),
            days_to_next,
            next_step: form.get("next_step").to_string(),
            revised_at: None,
        },
        kept,
    )
}

/// Places a stage error (`design.stages[i].name`) on the stage form's input.
fn stage_input(field: &str, kept: &[usize]) -> Option<String> {
    if field == "position" {
        return Some("position".into());
    }
    let tail = after_item(field, "stages")?;
    if let Some(rest) = tail.strip_prefix("touchpoints[") {
        let (j, t) = rest.split_once(']')?;
        let row = *kept.get(j.parse::<usize>().ok()?)?;
        let key = t.trim_start_matches('.');
        let key = if key.is_empty() { "channel" } else { key };
        return Some(format!("tp{row}_{key}"));
    }
    match tail {
        "name" | "owner" | "know" | "feel" | "do" | "days_to_next" | "next_step" | "position" => {
            Some(tail.to_string())
        }
        _ => None,
    }
}

/// POST /journeys/{id}/stages: adds a stage (at `position`, or at the end).
pub async fn add_stage(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let (_, before, _) = writable(&s, &who, id).await?;
    let mut sub = submitted(
        "stage-new".into(),
        "add-stage".into(),
        "The new stage",
        form,
    );
    let (stage, kept) = stage_from_form(&sub.form, &mut sub.errors);
    if !sub.errors.is_empty() {
        return refused_form(&s, &who, id, sub, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match s
        .store
        .edit_stages(&who.actor(), id, StageEdit::Add(stage))
        .await
    {
        Ok(j) => {
            let old: Vec<Option<u32>> = before.design.stages.iter().map(|s| s.id).collect();
            let new = j
                .design
                .stages
                .iter()
                .filter_map(|s| s.id)
                .find(|sid| !old.contains(&Some(*sid)))
                .unwrap_or(0);
            Ok(see_other(&format!("/journeys/{id}#stage-{new}")))
        }
        Err(e) => store_refused(&s, &who, id, sub, e, &|f| stage_input(f, &kept)).await,
    }
}

/// POST /journeys/{id}/stages/{stage}: saves a stage in place.
pub async fn save_stage(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, sid): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let sid = small_id(sid)?;
    writable(&s, &who, id).await?;
    let mut sub = submitted(
        format!("stage-{sid}"),
        format!("stage-{sid}"),
        "The stage",
        form,
    );
    let (stage, kept) = stage_from_form(&sub.form, &mut sub.errors);
    if !sub.errors.is_empty() {
        return refused_form(&s, &who, id, sub, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match s
        .store
        .edit_stages(&who.actor(), id, StageEdit::Replace(sid, stage))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/journeys/{id}#stage-{sid}"))),
        Err(e) => store_refused(&s, &who, id, sub, e, &|f| stage_input(f, &kept)).await,
    }
}

/// POST /journeys/{id}/stages/{stage}/move: moves a stage to `position`.
pub async fn move_stage(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, sid): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let sid = small_id(sid)?;
    writable(&s, &who, id).await?;
    let position = form.get("position").trim().parse::<u32>().unwrap_or(0);
    let sub = submitted(
        format!("stage-{sid}"),
        format!("stage-{sid}"),
        "Moving the stage",
        form,
    );
    match s
        .store
        .edit_stages(&who.actor(), id, StageEdit::Move(sid, position))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/journeys/{id}#stage-{sid}"))),
        Err(e) => store_refused(&s, &who, id, sub, e, &|_| None).await,
    }
}

/// POST /journeys/{id}/stages/{stage}/remove: removes a stage with its handoffs and links.
pub async fn remove_stage(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, sid): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let sid = small_id(sid)?;
    writable(&s, &who, id).await?;
    let sub = submitted(
        format!("stage-{sid}"),
        format!("stage-{sid}"),
        "Removing the stage",
        form,
    );
    match s
        .store
        .edit_stages(&who.actor(), id, StageEdit::Remove(sid))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/journeys/{id}#stages"))),
        Err(e) => store_refused(&s, &who, id, sub, e, &|_| None).await,
    }
}

/// POST /journeys/{id}/handoffs: adds a handoff between two stages.
pub async fn add_handoff(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    writable(&s, &who, id).await?;
    let mut sub = submitted(
        "handoff-new".into(),
        "add-handoff".into(),
        "The handoff",
        form,
    );
    let stage_of = |name: &str, errors: &mut Errors| match sub.form.get(name).trim().parse::<u32>()
    {
        Ok(v) => Some(v),
        Err(_) => {
            errors.add(name, "choose a stage");
            None
        }
    };
    let mut errors = Errors::default();
    let from = stage_of("from_stage", &mut errors);
    let to = stage_of("to_stage", &mut errors);
    let channel = match sub.form.get("channel").trim() {
        "" => None,
        v => match v.parse::<Channel>() {
            Ok(c) => Some(c),
            Err(_) => {
                errors.add("channel", "choose one of the channels");
                None
            }
        },
    };
    let information = sub.form.get("information").to_string();
    sub.errors = errors;
    let (Some(from), Some(to), true) = (from, to, sub.errors.is_empty()) else {
        return refused_form(&s, &who, id, sub, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let h = Handoff {
        id: None,
        from_stage: from,
        to_stage: to,
        channel,
        information,
    };
    let result = s
        .store
        .edit_design(&who.actor(), id, "add_handoff", |d| {
            d.handoffs.push(h);
            Ok(())
        })
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/journeys/{id}#handoffs"))),
        Err(e) => {
            let place = |f: &str| match after_item(f, "handoffs")? {
                t @ ("from_stage" | "to_stage" | "information" | "channel") => Some(t.to_string()),
                _ => None,
            };
            store_refused(&s, &who, id, sub, e, &place).await
        }
    }
}

/// POST /journeys/{id}/handoffs/{handoff}/remove.
pub async fn remove_handoff(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, hid): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let hid = small_id(hid)?;
    writable(&s, &who, id).await?;
    let sub = submitted(
        format!("handoff-{hid}"),
        "handoffs".into(),
        "Removing the handoff",
        form,
    );
    let result = s
        .store
        .edit_design(&who.actor(), id, "remove_handoff", |d| {
            let before = d.handoffs.len();
            d.handoffs.retain(|h| h.id != Some(hid));
            if d.handoffs.len() == before {
                return Err(ValidationErrors::single(
                    "handoff",
                    "unknown_handoff",
                    format!("handoff {hid} is not a handoff of this journey"),
                ));
            }
            Ok(())
        })
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/journeys/{id}#handoffs"))),
        Err(e) => store_refused(&s, &who, id, sub, e, &|_| None).await,
    }
}

fn assumption_from_form(form: &Form, errors: &mut Errors) -> Assumption {
    let status = match form.get("status").trim() {
        "" => AssumptionStatus::Untested,
        v => v.parse::<AssumptionStatus>().unwrap_or_else(|_| {
            errors.add("status", "choose one of the statuses");
            AssumptionStatus::Untested
        }),
    };
    let mut stages = Vec::new();
    for v in form.all("stages") {
        match v.trim().parse::<u32>() {
            Ok(s) => stages.push(s),
            Err(_) => errors.add("stages", "choose stages of this journey"),
        }
    }
    Assumption {
        id: None,
        statement: form.get("statement").to_string(),
        status,
        evidence: form.get("evidence").to_string(),
        stages,
        status_changed_at: None,
    }
}

fn assumption_input(field: &str) -> Option<String> {
    let tail = after_item(field, "assumptions")?;
    match tail.split(['[', '.']).next().unwrap_or(tail) {
        t @ ("statement" | "status" | "evidence" | "stages") => Some(t.to_string()),
        _ => None,
    }
}

/// POST /journeys/{id}/assumptions: adds an assumption.
pub async fn add_assumption(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let (_, before, _) = writable(&s, &who, id).await?;
    let before = before.design.max_ids().2;
    let mut sub = submitted(
        "assumption-new".into(),
        "add-assumption".into(),
        "The new assumption",
        form,
    );
    let a = assumption_from_form(&sub.form, &mut sub.errors);
    if !sub.errors.is_empty() {
        return refused_form(&s, &who, id, sub, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let result = s
        .store
        .edit_design(&who.actor(), id, "add_assumption", |d| {
            d.assumptions.push(a);
            Ok(())
        })
        .await;
    match result {
        Ok(j) => {
            let new = j
                .design
                .assumptions
                .iter()
                .filter_map(|a| a.id)
                .find(|aid| *aid > before)
                .unwrap_or(0);
            Ok(see_other(&format!("/journeys/{id}#assumption-{new}")))
        }
        Err(e) => store_refused(&s, &who, id, sub, e, &assumption_input).await,
    }
}

/// POST /journeys/{id}/assumptions/{assumption}: saves an assumption (statement, status,
/// evidence and linked stages).
pub async fn save_assumption(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, aid): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    let aid = small_id(aid)?;
    writable(&s, &who, id).await?;
    let mut sub = submitted(
        format!("assumption-{aid}"),
        format!("assumption-{aid}"),
        "The assumption",
        form,
    );
    let mut a = assumption_from_form(&sub.form, &mut sub.errors);
    if !sub.errors.is_empty() {
        return refused_form(&s, &who, id, sub, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    a.id = Some(aid);
    let result = s
        .store
        .edit_design(&who.actor(), id, "update_assumption", |d| {
            let Some(slot) = d.assumptions.iter_mut().find(|x| x.id == Some(aid)) else {
                return Err(ValidationErrors::single(
                    "assumption",
                    "unknown_assumption",
                    format!("assumption {aid} is not an assumption of this journey"),
                ));
            };
            a.status_changed_at = slot.status_changed_at;
            *slot = a;
            Ok(())
        })
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/journeys/{id}#assumption-{aid}"))),
        Err(e) => store_refused(&s, &who, id, sub, e, &assumption_input).await,
    }
}

/// The trial run the form describes, with the form rows feedback and verdicts came from.
fn run_from_form(form: &Form, errors: &mut Errors) -> (TrialRunInput, Vec<usize>, Vec<usize>) {
    let run_on = match NaiveDate::parse_from_str(form.get("run_on").trim(), "%Y-%m-%d") {
        Ok(d) => d,
        Err(_) => {
            errors.add("run_on", "give the date of the run (YYYY-MM-DD)");
            NaiveDate::default()
        }
    };
    let participants: Vec<String> = form
        .get("participants")
        .split([',', '\n', ';'])
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let mut feedback = Vec::new();
    let mut kept_fb = Vec::new();
    for i in 0..FEEDBACK_ROWS {
        let get = |k: &str| form.get(&format!("fb{i}_{k}")).to_string();
        let texts = [
            "stage",
            "participant",
            "what_happened",
            "knew",
            "felt",
            "did",
        ];
        if texts.iter().all(|k| get(k).trim().is_empty()) {
            continue;
        }
        let stage = get("stage").trim().parse::<u32>();
        if stage.is_err() {
            errors.add(format!("fb{i}_stage"), "choose the stage");
        }
        let severity = get("severity").trim().parse::<Severity>();
        if severity.is_err() {
            errors.add(format!("fb{i}_severity"), "choose how severe it was");
        }
        if let (Ok(stage), Ok(severity)) = (stage, severity) {
            feedback.push(FeedbackInput {
                stage,
                participant: get("participant"),
                what_happened: get("what_happened"),
                knew: get("knew"),
                felt: get("felt"),
                did: get("did"),
                severity,
            });
            kept_fb.push(i);
        }
    }
    let mut verdicts = Vec::new();
    let mut kept_av = Vec::new();
    for i in 0..VERDICT_ROWS {
        let get = |k: &str| form.get(&format!("av{i}_{k}")).to_string();
        if ["assumption", "status", "evidence"]
            .iter()
            .all(|k| get(k).trim().is_empty())
        {
            continue;
        }
        let assumption = get("assumption").trim().parse::<u32>();
        if assumption.is_err() {
            errors.add(format!("av{i}_assumption"), "choose the assumption");
        }
        let status = get("status")
            .trim()
            .parse::<AssumptionStatus>()
            .ok()
            .filter(|s| *s != AssumptionStatus::Untested);
        if status.is_none() {
            errors.add(format!("av{i}_status"), "choose validated or invalidated");
        }
        if let (Ok(assumption), Some(status)) = (assumption, status) {
            verdicts.push(AssumptionVerdict {
                assumption,
                status,
                evidence: get("evidence"),
            });
            kept_av.push(i);
        }
    }
    (
        TrialRunInput {
            run_on,
            participants,
            notes: form.get("notes").to_string(),
            feedback,
            assumptions: verdicts,
        },
        kept_fb,
        kept_av,
    )
}

/// POST /journeys/{id}/trial-runs: records a trial run with its feedback and verdicts.
pub async fn record_trial_run(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    writable(&s, &who, id).await?;
    let mut sub = submitted(
        "trial-run".into(),
        "record-run".into(),
        "The trial run",
        form,
    );
    let (input, kept_fb, kept_av) = run_from_form(&sub.form, &mut sub.errors);
    if !sub.errors.is_empty() {
        return refused_form(&s, &who, id, sub, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match s.store.record_trial_run(&who.actor(), id, &input).await {
        Ok(run) => Ok(see_other(&format!("/journeys/{id}#run-{}", run.id))),
        Err(e) => {
            let participants = input.participants.clone();
            let place = move |f: &str| -> Option<String> {
                if f == "participants" || f.starts_with("participants[") || f == "notes" {
                    return Some(f.split('[').next().unwrap_or(f).to_string());
                }
                let (list, kept, prefix) = if f.starts_with("feedback[") {
                    ("feedback", &kept_fb, "fb")
                } else if f.starts_with("assumptions[") {
                    ("assumptions", &kept_av, "av")
                } else {
                    return None;
                };
                let rest = f.strip_prefix(list)?.strip_prefix('[')?;
                let (i, tail) = rest.split_once(']')?;
                let row = kept.get(i.parse::<usize>().ok()?)?;
                let key = tail.trim_start_matches('.');
                Some(format!("{prefix}{row}_{key}"))
            };
            // Name the participant an error is about.
            if let StoreError::Validation(v) = &e {
                let mut named = ValidationErrors::new();
                for fe in v.errors() {
                    let message = fe
                        .field
                        .strip_prefix("participants[")
                        .and_then(|r| r.split_once(']'))
                        .and_then(|(i, _)| i.parse::<usize>().ok())
                        .and_then(|i| participants.get(i))
                        .map(|p| format!("\"{p}\": {}", fe.message))
                        .unwrap_or_else(|| fe.message.clone());
                    named.add(fe.field.clone(), fe.code.clone(), message);
                }
                return store_refused(&s, &who, id, sub, StoreError::Validation(named), &place)
                    .await;
            }
            store_refused(&s, &who, id, sub, e, &place).await
        }
    }
}

/// POST /journeys/{id}/feedback/{feedback}/address: marks feedback addressed with a note.
pub async fn address_feedback(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageIds(id, fid): PageIds,
    form: Form,
) -> Result<Response, PageError> {
    writable(&s, &who, id).await?;
    let note = form.get("note").to_string();
    let sub = submitted(
        format!("feedback-{fid}"),
        format!("feedback-{fid}"),
        "Marking the feedback addressed",
        form,
    );
    match s.store.address_feedback(&who.actor(), id, fid, &note).await {
        Ok(_) => Ok(see_other(&format!("/journeys/{id}#feedback-{fid}"))),
        Err(e) => {
            store_refused(&s, &who, id, sub, e, &|f| {
                (f == "note").then(|| "note".to_string())
            })
            .await
        }
    }
}

/// POST /journeys/{id}: saves the journey's name, end user, description and lull threshold.
pub async fn save_details(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let (_, j, _) = writable(&s, &who, id).await?;
    let mut sub = submitted("details".into(), "details".into(), "The journey", form);
    let end_user = sub.form.get("end_user").trim().parse::<EndUser>();
    if end_user.is_err() {
        sub.errors.add("end_user", "choose whom the journey serves");
    }
    let threshold = match sub.form.get("lull_threshold_days").trim() {
        "" => None,
        v => match v.parse::<u32>() {
            Ok(t) => Some(t),
            Err(_) => {
                sub.errors.add(
                    "lull_threshold_days",
                    format!("must be a whole number of days (got \"{v}\")"),
                );
                None
            }
        },
    };
    let Ok(end_user) = end_user else {
        return refused_form(&s, &who, id, sub, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    if !sub.errors.is_empty() {
        return refused_form(&s, &who, id, sub, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let input = JourneyInput {
        name: sub.form.get("name").to_string(),
        end_user,
        description: sub.form.get("description").to_string(),
        lull_threshold_days: threshold,
        design: j.design.clone(),
    };
    match s.store.update_journey(&who.actor(), id, &input).await {
        Ok(_) => Ok(see_other(&format!("/journeys/{id}"))),
        Err(e) => {
            let place = |f: &str| match f {
                "name" | "description" | "lull_threshold_days" => Some(f.to_string()),
                _ => None,
            };
            store_refused(&s, &who, id, sub, e, &place).await
        }
    }
}

// ---------------------------------------------------------------- the partnership page's part

/// A journey in the partnership page's list.
pub struct JourneyRow {
    pub id: i64,
    pub name: String,
    pub end_user: &'static str,
    pub stages: u32,
    pub gaps: u32,
    pub updated: String,
}

impl From<JourneySummary> for JourneyRow {
    fn from(j: JourneySummary) -> Self {
        JourneyRow {
            id: j.id,
            name: j.name,
            end_user: j.end_user.label(),
            stages: j.stages,
            gaps: j.gaps,
            updated: human_time(j.updated_at),
        }
    }
}

/// The "new journey" form on the partnership page: what was typed and what was wrong.
pub struct NewJourneyForm {
    pub name: String,
    pub name_error: String,
    pub end_users: Vec<Opt>,
    pub end_user_error: String,
    pub general: Vec<String>,
}

impl NewJourneyForm {
    pub fn new(name: &str, end_user: &str, errors: &ValidationErrors) -> Self {
        let err = |f: &str| errors.message_for(f).unwrap_or_default().to_string();
        let mut end_users = vec![Opt::new("", "Choose…", end_user.is_empty())];
        end_users.extend(
            EndUser::ALL
                .iter()
                .map(|e| Opt::new(e.as_str(), e.label(), e.as_str() == end_user)),
        );
        NewJourneyForm {
            name: name.to_string(),
            name_error: err("name"),
            end_users,
            end_user_error: err("end_user"),
            general: errors
                .errors()
                .iter()
                .filter(|e| e.field != "name" && e.field != "end_user")
                .map(|e| general_message(&e.field, &e.message))
                .collect(),
        }
    }
}

impl Default for NewJourneyForm {
    fn default() -> Self {
        NewJourneyForm::new("", "", &ValidationErrors::new())
    }
}

/// The partnership's journeys for its page.
pub async fn rows_for(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
) -> Result<Vec<JourneyRow>, PageError> {
    Ok(s.store
        .journeys(&who.actor(), id)
        .await?
        .into_iter()
        .map(JourneyRow::from)
        .collect())
}

/// POST /partnerships/{id}/journeys: creates a journey (name and end user) and opens it.
pub async fn create(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let pid = PartnershipId(id);
    s.store.get_partnership(&who.actor(), pid).await?;
    if !who.acting.role.can_contribute() {
        return Err(PageError::Refused(
            StatusCode::FORBIDDEN,
            VIEWERS_READ.into(),
        ));
    }
    let name = form.get("name").to_string();
    let end_user = form.get("end_user").trim().to_string();
    let refuse = |errors: ValidationErrors, status| {
        let form = NewJourneyForm::new(&name, &end_user, &errors);
        super::partnerships::detail_with_journey_form(&s, &who, pid, status, form)
    };
    let Ok(eu) = end_user.parse::<EndUser>() else {
        let e = ValidationErrors::single("end_user", "required", "choose whom the journey serves");
        return refuse(e, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let input = JourneyInput {
        name: name.clone(),
        end_user: eu,
        description: String::new(),
        lull_threshold_days: None,
        design: Default::default(),
    };
    match s.store.create_journey(&who.actor(), pid, &input).await {
        Ok(j) => Ok(see_other(&format!("/journeys/{}", j.id))),
        Err(StoreError::Validation(v)) => refuse(v, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e @ StoreError::Archived { .. }) => {
            let e = ValidationErrors::single("partnership", "archived", capitalize(&e.to_string()));
            refuse(e, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "journey_import.html")]
struct ImportPage {
    active: &'static str,
    chrome: Chrome,
    p: Partnership,
    file: String,
    errors: Vec<String>,
}

async fn import_page(
    s: &AppState,
    who: &Principal,
    id: PartnershipId,
    file: String,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let p = s.store.get_partnership(&who.actor(), id).await?;
    if !who.acting.role.can_contribute() {
        return Err(PageError::Refused(
            StatusCode::FORBIDDEN,
            VIEWERS_READ.into(),
        ));
    }
    render(
        status,
        &ImportPage {
            active: "partnerships",
            chrome: Chrome::load(s, who).await?,
            p,
            file,
            errors,
        },
    )
}

/// GET /partnerships/{id}/journeys/import: a form to paste an exported journey into.
pub async fn import_form(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
) -> Result<Response, PageError> {
    import_page(
        &s,
        &who,
        PartnershipId(id),
        String::new(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// POST /partnerships/{id}/journeys/import: imports a pasted journey file, all or nothing.
pub async fn import(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let pid = PartnershipId(id);
    s.store.get_partnership(&who.actor(), pid).await?;
    if !who.acting.role.can_contribute() {
        return Err(PageError::Refused(
            StatusCode::FORBIDDEN,
            VIEWERS_READ.into(),
        ));
    }
    let file = form.get("file").to_string();
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    if file.trim().is_empty() {
        let e = vec!["Paste the contents of an exported journey file (concord.journey/1).".into()];
        return import_page(&s, &who, pid, file, e, unprocessable).await;
    }
    let parsed: JourneyExport = match crate::extract::parse_json(file.as_bytes()) {
        Ok(f) => f,
        Err(e) => {
            let detail = e
                .problem()
                .detail
                .replace("the body is not valid JSON", "the file is not valid JSON");
            return import_page(
                &s,
                &who,
                pid,
                file,
                vec![capitalize(&detail)],
                unprocessable,
            )
            .await;
        }
    };
    match s.store.import_journey(&who.actor(), pid, &parsed).await {
        Ok(j) => Ok(see_other(&format!("/journeys/{}", j.id))),
        Err(StoreError::Validation(v)) => {
            let errors = v
                .errors()
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            import_page(&s, &who, pid, file, errors, unprocessable).await
        }
        Err(e @ StoreError::Archived { .. }) => {
            let errors = vec![capitalize(&e.to_string())];
            import_page(&s, &who, pid, file, errors, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_on_words_and_ellipsizes() {
        assert_eq!(
            wrap("Referral from primary care", 12, 3),
            vec!["Referral", "from primary", "care"]
        );
        assert_eq!(wrap("abcdefghij", 4, 2), vec!["abcd", "efg…"]);
        assert_eq!(wrap("one two three four", 8, 1), vec!["one two…"]);
        assert!(wrap("", 8, 2).is_empty());
    }

    #[test]
    fn stage_errors_land_on_their_inputs() {
        assert_eq!(
            stage_input("design.stages[2].name", &[]),
            Some("name".into())
        );
        assert_eq!(stage_input("design.stages[0].do", &[]), Some("do".into()));
        assert_eq!(
            stage_input("design.stages[0].touchpoints[1].description", &[0, 2]),
            Some("tp2_description".into())
        );
        assert_eq!(stage_input("stage", &[]), None);
        assert_eq!(
            assumption_input("design.assumptions[3].stages[0]"),
            Some("stages".into())
        );
    }

    #[test]
    fn labels_name_the_row() {
        assert_eq!(label_for("tp0_channel"), "Touchpoint 1, channel");
        assert_eq!(label_for("fb2_what_happened"), "Feedback 3, what happened");
        assert_eq!(label_for("name"), "Name");
    }
}
