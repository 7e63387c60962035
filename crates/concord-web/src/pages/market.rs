//! The market scan page: a form (organization, capability or partnership type, radius, filters,
//! sort), the ranked candidates with why each ranks where it does, pagination, and a scatter plot
//! of the candidates around the organization.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use concord_domain::market::plot::{layout, Plot, PlotPoint};
use concord_domain::market::scan::{
    format_miles, CandidateKind, ScanParams, ScanRun, ScanSort, DEFAULT_RADIUS_MILES,
};
use concord_domain::partnership::PartnershipType;
use concord_domain::ValidationErrors;
use concord_storage::StoreError;

use super::forms::enum_options;
use super::{render, Chrome, Opt, PageError};
use crate::auth::PageAuth;
use crate::AppState;

/// How many candidates the plot shows at most (the best of the current order).
const PLOT_MAX: usize = 300;

/// The form's values as typed, for showing them again.
#[derive(Default)]
struct FormValues {
    org: String,
    capability: String,
    partnership_type: String,
    radius_miles: String,
    kind: String,
    state: String,
    min_providers: String,
    min_stars: String,
    name: String,
    sort: String,
    per_page: String,
}

/// One error per input (empty: none).
#[derive(Default)]
struct FormErrors {
    org: String,
    capability: String,
    partnership_type: String,
    radius_miles: String,
    kind: String,
    state: String,
    min_providers: String,
    min_stars: String,
    name: String,
    sort: String,
    page: String,
}

impl FormErrors {
    fn from(e: &ValidationErrors) -> Self {
        let m = |f: &str| e.message_for(f).unwrap_or("").to_string();
        FormErrors {
            org: m("org"),
            capability: m("capability"),
            partnership_type: m("type"),
            radius_miles: m("radius_miles"),
            kind: m("kind"),
            state: m("state"),
            min_providers: m("min_providers"),
            min_stars: m("min_stars"),
            name: m("name"),
            sort: m("sort"),
            page: [m("page"), m("per_page")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// A sortable column header.
struct SortLink {
    label: &'static str,
    href: String,
    /// `ascending`, `descending` or empty, for `aria-sort`.
    aria: &'static str,
    arrow: &'static str,
}

struct ResultRow {
    rank: usize,
    id: i64,
    name: String,
    kind: &'static str,
    address: String,
    distance: String,
    providers: String,
    beds: String,
    specialties: String,
    capabilities: String,
    facility_type: String,
    ownership: String,
    stars: String,
    star_count: u8,
    score: String,
    parts: String,
    reasons: Vec<String>,
    evaluate: String,
    source: String,
    reference: String,
}

struct Outcome {
    summary: String,
    origin_note: String,
    rows: Vec<ResultRow>,
    plot: Plot,
    plot_note: String,
    plot_title: String,
    sort_name: SortLink,
    sort_miles: SortLink,
    sort_size: SortLink,
    sort_stars: SortLink,
    sort_score: SortLink,
    page: u32,
    total_pages: u64,
    total: u64,
    prev: Option<String>,
    next: Option<String>,
    capabilities: Vec<String>,
}

#[derive(Template)]
#[template(path = "market.html")]
struct MarketPage {
    active: &'static str,
    chrome: Chrome,
    v: FormValues,
    e: FormErrors,
    error_summary: Vec<String>,
    orgs: Vec<Opt>,
    capabilities: Vec<Opt>,
    types: Vec<Opt>,
    kinds: Vec<Opt>,
    stars: Vec<Opt>,
    sort_options: Vec<Opt>,
    outcome: Option<Outcome>,
}

fn value(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

/// The scan parameters from the page's query string (unknown keys are ignored).
fn params_of(pairs: &[(String, String)]) -> ScanParams {
    ScanParams {
        org: value(pairs, "org"),
        capability: value(pairs, "capability"),
        partnership_type: value(pairs, "type"),
        radius_miles: value(pairs, "radius_miles"),
        kind: value(pairs, "kind"),
        state: value(pairs, "state"),
        min_providers: value(pairs, "min_providers"),
        min_stars: value(pairs, "min_stars"),
        name: value(pairs, "name"),
        sort: value(pairs, "sort"),
        page: value(pairs, "page"),
        per_page: value(pairs, "per_page"),
    }
}

/// A `/market?…` link for `p`, leaving out empty values.
fn link(p: &ScanParams) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    let pairs: [(&str, &Option<String>); 12] = [
        ("org", &p.org),
        ("capability", &p.capability),
        ("type", &p.partnership_type),
        ("radius_miles", &p.radius_miles),
        ("kind", &p.kind),
        ("state", &p.state),
        ("min_providers", &p.min_providers),
        ("min_stars", &p.min_stars),
        ("name", &p.name),
        ("sort", &p.sort),
        ("page", &p.page),
        ("per_page", &p.per_page),
    ];
    for (k, v) in pairs {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    format!("/market?{}", s.finish())
}

fn opt_num<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn evaluate_link(source: &str, reference: &str) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("source", source);
    s.append_pair("ref", reference);
    format!("/scorecards/new?{}", s.finish())
}

fn outcome(run: &ScanRun) -> Outcome {
    let q = &run.query;
    let base = q.to_params();
    let per_page = q.page.per_page;
    let total = run.results.len() as u64;
    let total_pages = if total == 0 {
        1
    } else {
        total.div_ceil(u64::from(per_page))
    };
    let at_page = |n: u32| {
        let mut p = base.clone();
        p.page = Some(n.to_string());
        link(&p)
    };
    let from = (q.page.page as usize - 1) * per_page as usize;
    let rows: Vec<ResultRow> = run
        .explained(from, per_page as usize)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let c = &r.candidate;
            ResultRow {
                rank: from + i + 1,
                id: c.id,
                name: c.name.clone(),
                kind: c.kind.label(),
                address: format!("{}, {}, {} {}", c.address, c.city, c.state, c.zip),
                distance: format!("{:.1}", r.distance_miles),
                providers: opt_num(c.providers),
                beds: opt_num(c.beds),
                specialties: c
                    .specialties
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                capabilities: c
                    .capabilities
                    .iter()
                    .map(|x| run.capability_name(x))
                    .collect::<Vec<_>>()
                    .join(", "),
                facility_type: c.facility_type.clone().unwrap_or_default(),
                ownership: c.ownership.clone().unwrap_or_default(),
                stars: c
                    .star_rating
                    .map(|s| format!("{}{}", "★".repeat(s as usize), "☆".repeat(5 - s as usize)))
                    .unwrap_or_default(),
                star_count: c.star_rating.unwrap_or(0),
                score: format!("{:.1}", r.score),
                parts: format!(
                    "proximity {:.1} + size {:.1} + centrality {:.1} + rating {:.1}",
                    r.score_parts.proximity,
                    r.score_parts.size,
                    r.score_parts.centrality,
                    r.score_parts.rating
                ),
                reasons: r.reasons.clone(),
                evaluate: evaluate_link(&c.source, &c.reference),
                source: c.source.clone(),
                reference: c.reference.clone(),
            }
        })
        .collect();
    let on_page: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let points: Vec<PlotPoint> = run
        .results
        .iter()
        .take(PLOT_MAX)
        .map(|r| {
            let c = &r.candidate;
            let size = match (c.providers, c.beds) {
                (None, None) => None,
                (p, b) => Some(p.unwrap_or(0).max(b.unwrap_or(0))),
            };
            PlotPoint {
                id: c.id,
                location: c.location,
                size,
                kind: c.kind,
                label: format!(
                    "{} — {:.1} mi, score {:.1}",
                    c.name, r.distance_miles, r.score
                ),
                href: if on_page.contains(&c.id) {
                    format!("#c{}", c.id)
                } else {
                    String::new()
                },
            }
        })
        .collect();
    let plot = layout(run.origin, q.radius_miles, &points);
    let wanted = run
        .wanted
        .iter()
        .map(|c| run.capability_name(c))
        .collect::<Vec<_>>();
    let what = match run.partnership_type {
        Some(t) => format!(
            "{} partners ({})",
            t.label().to_lowercase(),
            wanted.join(", ")
        ),
        None => wanted.join(", "),
    };
    let summary = format!(
        "{} {} offering {} within {} miles of {}",
        total,
        if total == 1 {
            "candidate"
        } else {
            "candidates"
        },
        what,
        format_miles(q.radius_miles),
        run.org_name
    );
    let origin_note = format!(
        "Measured from {} ({:.4}, {:.4}).",
        run.origin_from.label(),
        run.origin.latitude,
        run.origin.longitude
    );
    let plot_note = if run.results.len() > PLOT_MAX {
        format!(
            "The plot shows the first {PLOT_MAX} of {} candidates in the current order.",
            run.results.len()
        )
    } else {
        String::new()
    };
    let sort_link = |label: &'static str, asc: ScanSort, desc: Option<ScanSort>| {
        // Clicking the active column flips it (when it has two directions).
        let current = q.sort;
        let next = match desc {
            Some(d) if current == asc => d,
            _ => asc,
        };
        let mut p = base.clone();
        p.sort = Some(next.as_str().to_string());
        p.page = None;
        let active = current == asc || Some(current) == desc;
        let (aria, arrow) = match (active, sort_direction(current)) {
            (false, _) => ("", ""),
            (true, "ascending") => ("ascending", " ▲"),
            (true, d) => (d, " ▼"),
        };
        SortLink {
            label,
            href: link(&p),
            aria,
            arrow,
        }
    };
    Outcome {
        summary,
        origin_note,
        rows,
        plot_title: format!(
            "Candidates around {} by longitude and latitude",
            run.org_name
        ),
        plot,
        plot_note,
        sort_name: sort_link("Name", ScanSort::Name, Some(ScanSort::NameDesc)),
        sort_miles: sort_link("Miles", ScanSort::Distance, Some(ScanSort::DistanceDesc)),
        sort_size: sort_link("Size", ScanSort::Size, Some(ScanSort::SizeDesc)),
        sort_stars: sort_link("CMS rating", ScanSort::Stars, None),
        sort_score: sort_link("Score", ScanSort::Score, None),
        page: q.page.page,
        total_pages,
        total,
        prev: (q.page.page > 1).then(|| at_page(q.page.page - 1)),
        next: (u64::from(q.page.page) < total_pages).then(|| at_page(q.page.page + 1)),
        capabilities: wanted,
    }
}

/// Which way a sort runs, for `aria-sort`.
fn sort_direction(s: ScanSort) -> &'static str {
    match s {
        ScanSort::Distance | ScanSort::Name | ScanSort::SizeDesc => "ascending",
        ScanSort::Score
        | ScanSort::DistanceDesc
        | ScanSort::NameDesc
        | ScanSort::Size
        | ScanSort::Stars => "descending",
    }
}

/// `GET /market`: the form; with `org` and a capability or type, the scan.
pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let mut params = params_of(&pairs);
    let asked = params.capability.is_some() || params.partnership_type.is_some();
    if params.org.as_deref().is_none_or(str::is_empty) && !asked {
        params.org = Some(who.acting.org_id.0.to_string());
    }
    let (outcome, errors, status) = if asked {
        match s.store.market_scan(&params).await {
            Ok(run) => (Some(outcome(&run)), ValidationErrors::new(), StatusCode::OK),
            Err(StoreError::Validation(e)) => (None, e, StatusCode::UNPROCESSABLE_ENTITY),
            Err(e) => return Err(e.into()),
        }
    } else {
        (None, ValidationErrors::new(), StatusCode::OK)
    };
    let v = FormValues {
        org: params.org.clone().unwrap_or_default(),
        capability: params.capability.clone().unwrap_or_default(),
        partnership_type: params.partnership_type.clone().unwrap_or_default(),
        radius_miles: params
            .radius_miles
            .clone()
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| format_miles(DEFAULT_RADIUS_MILES)),
        kind: params.kind.clone().unwrap_or_default(),
        state: params.state.clone().unwrap_or_default(),
        min_providers: params.min_providers.clone().unwrap_or_default(),
        min_stars: params.min_stars.clone().unwrap_or_default(),
        name: params.name.clone().unwrap_or_default(),
        sort: params.sort.clone().unwrap_or_default(),
        per_page: params.per_page.clone().unwrap_or_default(),
    };
    let orgs = s
        .store
        .organization_choices()
        .await?
        .into_iter()
        .map(|(id, name)| Opt::new(id.to_string(), name, id.to_string() == v.org))
        .collect();
    let mut capabilities = vec![Opt::new("", "—", v.capability.is_empty())];
    capabilities.extend(s.store.list_capabilities().await?.into_iter().map(|c| {
        let code = c.code.to_string();
        let selected = code == v.capability;
        Opt::new(
            code,
            format!("{} ({})", c.name, c.category.label()),
            selected,
        )
    }));
    let stars = std::iter::once(Opt::new("", "Any", v.min_stars.is_empty()))
        .chain((1..=5).map(|n| {
            Opt::new(
                n.to_string(),
                format!("{n}+ stars"),
                v.min_stars == n.to_string(),
            )
        }))
        .collect();
    let page = MarketPage {
        active: "market",
        chrome: Chrome::load(&s, &who).await?,
        error_summary: errors
            .errors()
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect(),
        e: FormErrors::from(&errors),
        orgs,
        capabilities,
        types: enum_options(
            PartnershipType::ALL,
            PartnershipType::as_str,
            PartnershipType::label,
            &v.partnership_type,
            Some("—"),
        ),
        kinds: enum_options(
            CandidateKind::ALL,
            CandidateKind::as_str,
            CandidateKind::label,
            &v.kind,
            Some("All kinds"),
        ),
        stars,
        sort_options: enum_options(
            ScanSort::ALL,
            ScanSort::as_str,
            ScanSort::label,
            if v.sort.is_empty() { "score" } else { &v.sort },
            None,
        ),
        v,
        outcome,
    };
    render(status, &page)
}
