use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use concord_domain::capability::{Capability, CapabilityCategory};
use concord_domain::csv_io::write_organizations;
use concord_domain::organization::{
    OrgKind, OrganizationFilter, OrganizationInput, OrganizationProfile, PayerClass, PayerShare,
    RevenueBand, RevenueModel,
};
use concord_domain::paging::PageRequest;
use concord_domain::{OrgId, ValidationErrors};

use super::forms::{enum_options, summary};
use super::PageId;
use super::{
    form_errors, render, see_other, CheckCategory, CheckGroup, Chrome, Field, Opt, PageError,
    Pager, Section,
};
use crate::auth::PageAuth;
use crate::extract::Form;
use crate::AppState;

#[derive(Deserialize, Default)]
pub struct ListParams {
    q: Option<String>,
    kind: Option<String>,
    page: Option<u32>,
}

struct Row {
    id: OrgId,
    name: String,
    kind: &'static str,
    location: String,
    providers: String,
    beds: String,
    offers: String,
}

#[derive(Template)]
#[template(path = "org_list.html")]
struct ListPage {
    active: &'static str,
    chrome: Chrome,
    q: String,
    kinds: Vec<Opt>,
    rows: Vec<Row>,
    pager: Pager,
}

fn opt_num<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

pub async fn list(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let kind: Option<OrgKind> = params.kind.as_deref().and_then(|k| k.parse().ok());
    let q = params.q.unwrap_or_default();
    let page_req = PageRequest::new(params.page.filter(|p| *p > 0), None).unwrap_or_default();
    let page = s
        .store
        .list_organizations(
            &OrganizationFilter {
                q: Some(q.clone()),
                kind,
            },
            page_req,
        )
        .await?;
    let caps = s.store.list_capabilities().await?;
    let pager = Pager::new(
        &page,
        "/organizations",
        &[
            ("q", q.clone()),
            (
                "kind",
                kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
            ),
        ],
    );
    let rows = page
        .items
        .into_iter()
        .map(|o| Row {
            id: o.id,
            name: o.name,
            kind: o.kind.label(),
            location: [o.city, o.state, o.zip]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
            providers: opt_num(o.providers),
            beds: opt_num(o.beds),
            offers: capability_names(&caps, &o.capabilities_offered, 4),
        })
        .collect();
    render(
        StatusCode::OK,
        &ListPage {
            active: "organizations",
            chrome: Chrome::load(&s, &who).await?,
            q,
            kinds: enum_options(
                OrgKind::ALL,
                OrgKind::as_str,
                OrgKind::label,
                kind.map(|k| k.as_str()).unwrap_or(""),
                Some("All kinds"),
            ),
            rows,
            pager,
        },
    )
}

fn capability_name(caps: &[Capability], code: &str) -> String {
    caps.iter()
        .find(|c| c.code.as_str() == code)
        .map(|c| c.name.clone())
        .unwrap_or_else(|| code.to_string())
}

fn capability_names(
    caps: &[Capability],
    codes: &[concord_domain::capability::CapabilityCode],
    max: usize,
) -> String {
    let mut names: Vec<String> = codes
        .iter()
        .take(max)
        .map(|c| capability_name(caps, c.as_str()))
        .collect();
    if codes.len() > max {
        names.push(format!("+{} more", codes.len() - max));
    }
    names.join(", ")
}

/// A form's values as typed, so a refused form comes back exactly as the person left it.
#[derive(Default)]
struct Values {
    name: String,
    kind: String,
    npi: String,
    ccn: String,
    line1: String,
    city: String,
    state: String,
    zip: String,
    latitude: String,
    longitude: String,
    providers: String,
    beds: String,
    covered_lives: String,
    revenue_band: String,
    mission: String,
    values: String,
    offered: Vec<String>,
    sought: Vec<String>,
    revenue_model: String,
    payer: Vec<(PayerClass, String)>,
    decision_making: String,
    objectives: String,
    constraints: String,
}

fn payer_field(p: PayerClass) -> String {
    format!("payer_{}", p.as_str())
}

impl Values {
    fn from_form(f: &Form) -> Self {
        Values {
            name: f.get("name").into(),
            kind: f.get("kind").into(),
            npi: f.get("npi").into(),
            ccn: f.get("ccn").into(),
            line1: f.get("line1").into(),
            city: f.get("city").into(),
            state: f.get("state").into(),
            zip: f.get("zip").into(),
            latitude: f.get("latitude").into(),
            longitude: f.get("longitude").into(),
            providers: f.get("providers").into(),
            beds: f.get("beds").into(),
            covered_lives: f.get("covered_lives").into(),
            revenue_band: f.get("revenue_band").into(),
            mission: f.get("mission").into(),
            values: f.get("values").into(),
            offered: f.all("capabilities_offered"),
            sought: f.all("capabilities_sought"),
            revenue_model: f.get("revenue_model").into(),
            payer: PayerClass::ALL
                .iter()
                .map(|p| (*p, f.get(&payer_field(*p)).to_string()))
                .collect(),
            decision_making: f.get("decision_making").into(),
            objectives: f.get("objectives").into(),
            constraints: f.get("constraints").into(),
        }
    }

    fn from_profile(p: &OrganizationProfile) -> Self {
        Values {
            name: p.name.clone(),
            kind: p.kind.as_str().into(),
            npi: p
                .npi
                .as_ref()
                .map(|n| n.as_str().to_string())
                .unwrap_or_default(),
            ccn: p
                .ccn
                .as_ref()
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            line1: p.address.line1.clone().unwrap_or_default(),
            city: p.address.city.clone().unwrap_or_default(),
            state: p.address.state.clone().unwrap_or_default(),
            zip: p.address.zip.clone().unwrap_or_default(),
            latitude: opt_num(p.address.latitude),
            longitude: opt_num(p.address.longitude),
            providers: opt_num(p.size.providers),
            beds: opt_num(p.size.beds),
            covered_lives: opt_num(p.size.covered_lives),
            revenue_band: p
                .size
                .revenue_band
                .map(|b| b.as_str().to_string())
                .unwrap_or_default(),
            mission: p.mission.clone().unwrap_or_default(),
            values: p.values.join(", "),
            offered: p
                .capabilities_offered
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            sought: p
                .capabilities_sought
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            revenue_model: p
                .business_model
                .revenue_model
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            payer: PayerClass::ALL
                .iter()
                .map(|c| {
                    let v = p
                        .business_model
                        .payer_mix
                        .iter()
                        .find(|s| s.payer == *c)
                        .map(|s| s.share_pct.to_string())
                        .unwrap_or_default();
                    (*c, v)
                })
                .collect(),
            decision_making: p.business_model.decision_making.clone().unwrap_or_default(),
            objectives: p.business_model.enterprise_objectives.join("\n"),
            constraints: p.business_model.constraints.join("\n"),
        }
    }

    /// The typed input, plus errors for what could not even be read (a number that is not one).
    fn to_input(&self) -> (OrganizationInput, ValidationErrors) {
        let mut e = ValidationErrors::new();
        fn num<T: std::str::FromStr>(
            e: &mut ValidationErrors,
            field: &str,
            v: &str,
            what: &str,
        ) -> Option<T> {
            let v = v.trim().replace(',', "");
            if v.is_empty() {
                return None;
            }
            match v.parse() {
                Ok(x) => Some(x),
                Err(_) => {
                    e.add(field, "invalid_number", format!("must be {what}"));
                    None
                }
            }
        }
        let kind = match self.kind.parse::<OrgKind>() {
            Ok(k) => k,
            Err(_) => {
                e.add("kind", "required", "choose the kind of organization");
                OrgKind::Other
            }
        };
        let revenue_band = if self.revenue_band.is_empty() {
            None
        } else {
            self.revenue_band.parse::<RevenueBand>().ok()
        };
        let revenue_model = if self.revenue_model.is_empty() {
            None
        } else {
            self.revenue_model.parse::<RevenueModel>().ok()
        };
        let mut payer_mix = Vec::new();
        for (p, v) in &self.payer {
            if let Some(share_pct) =
                num::<f64>(&mut e, "business_model.payer_mix", v, "a percentage")
            {
                payer_mix.push(PayerShare {
                    payer: *p,
                    share_pct,
                });
            }
        }
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        let lines = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
        let input = OrganizationInput {
            name: self.name.clone(),
            kind,
            npi: opt(&self.npi),
            ccn: opt(&self.ccn),
            address: concord_domain::organization::Address {
                line1: opt(&self.line1),
                city: opt(&self.city),
                state: opt(&self.state),
                zip: opt(&self.zip),
                latitude: num(
                    &mut e,
                    "address.latitude",
                    &self.latitude,
                    "a number such as 41.31",
                ),
                longitude: num(
                    &mut e,
                    "address.longitude",
                    &self.longitude,
                    "a number such as -72.93",
                ),
            },
            size: concord_domain::organization::Size {
                providers: num(&mut e, "size.providers", &self.providers, "a whole number"),
                beds: num(&mut e, "size.beds", &self.beds, "a whole number"),
                covered_lives: num(
                    &mut e,
                    "size.covered_lives",
                    &self.covered_lives,
                    "a whole number",
                ),
                revenue_band,
            },
            mission: opt(&self.mission),
            values: self.values.split(',').map(str::to_string).collect(),
            capabilities_offered: self.offered.clone(),
            capabilities_sought: self.sought.clone(),
            business_model: concord_domain::organization::BusinessModel {
                revenue_model,
                payer_mix,
                decision_making: opt(&self.decision_making),
                enterprise_objectives: lines(&self.objectives),
                constraints: lines(&self.constraints),
            },
        };
        (input, e)
    }

    fn sections(&self, e: &ValidationErrors, caps: &[Capability]) -> Vec<Section> {
        let checks = |name: &str, legend: &str, selected: &[String]| CheckGroup {
            name: name.into(),
            legend: legend.into(),
            error: e
                .errors()
                .iter()
                .find(|x| x.field.starts_with(name))
                .map(|x| x.message.clone())
                .unwrap_or_default(),
            groups: CapabilityCategory::ALL
                .iter()
                .map(|cat| CheckCategory {
                    label: cat.label().into(),
                    options: caps
                        .iter()
                        .filter(|c| c.category == *cat)
                        .map(|c| {
                            Opt::new(
                                c.code.as_str(),
                                c.name.clone(),
                                selected.iter().any(|s| s == c.code.as_str()),
                            )
                        })
                        .collect(),
                })
                .collect(),
        };
        let mut capabilities = Section::new(
            "Capabilities",
            "What the organization offers partners, and what it wants to become good at.",
            vec![],
        );
        capabilities.checks = vec![
            checks("capabilities_offered", "Offers", &self.offered),
            checks("capabilities_sought", "Seeks", &self.sought),
        ];
        // The payer-mix error (shares must add up to 100) shows under the first share.
        let payer_fields: Vec<Field> = self
            .payer
            .iter()
            .enumerate()
            .map(|(i, (p, v))| {
                let f = Field::number(&payer_field(*p), &format!("{} %", p.label()), v.clone());
                if i == 0 {
                    f.error_from(e, &["business_model.payer_mix"])
                } else {
                    f
                }
            })
            .collect();
        vec![
            Section::new("Identity", "", vec![
                Field::text("name", "Name", self.name.clone()).required().width("full").error_from(e, &["name"]),
                Field::select("kind", "Kind", enum_options(OrgKind::ALL, OrgKind::as_str, OrgKind::label, &self.kind, Some("Choose…"))).required().width("third").error_from(e, &["kind"]),
                Field::text("npi", "NPI", self.npi.clone()).width("third").hint("10 digits; checked against its check digit").error_from(e, &["npi"]),
                Field::text("ccn", "CMS Certification Number", self.ccn.clone()).width("third").hint("6 characters, e.g. 070001").error_from(e, &["ccn"]),
            ]),
            Section::new("Location", "Latitude and longitude place the organization on maps and in distance searches.", vec![
                Field::text("line1", "Street address", self.line1.clone()).width("full").error_from(e, &["address.line1"]),
                Field::text("city", "City", self.city.clone()).width("third").error_from(e, &["address.city"]),
                Field::text("state", "State", self.state.clone()).width("third").hint("Two letters, e.g. CT").error_from(e, &["address.state"]),
                Field::text("zip", "ZIP", self.zip.clone()).width("third").error_from(e, &["address.zip"]),
                Field::number("latitude", "Latitude", self.latitude.clone()).width("half").error_from(e, &["address.latitude"]),
                Field::number("longitude", "Longitude", self.longitude.clone()).width("half").error_from(e, &["address.longitude"]),
            ]),
            Section::new("Size", "", vec![
                Field::number("providers", "Providers", self.providers.clone()).error_from(e, &["size.providers"]),
                Field::number("beds", "Staffed beds", self.beds.clone()).error_from(e, &["size.beds"]),
                Field::number("covered_lives", "Covered lives", self.covered_lives.clone()).error_from(e, &["size.covered_lives"]),
                Field::select("revenue_band", "Annual revenue", enum_options(RevenueBand::ALL, RevenueBand::as_str, RevenueBand::label, &self.revenue_band, Some("Not disclosed"))).width("half"),
            ]),
            Section::new("Mission and values", "", vec![
                Field::textarea("mission", "Mission", self.mission.clone()).error_from(e, &["mission"]),
                Field::text("values", "Values", self.values.clone()).width("full").hint("Short tags separated by commas, e.g. equity, physician-led").error_from(e, &["values"]),
            ]),
            capabilities,
            Section::new("Business-model profile", "How the organization earns money and decides — what a partner should know before the first meeting.", vec![
                Field::select("revenue_model", "Revenue model", enum_options(RevenueModel::ALL, RevenueModel::as_str, RevenueModel::label, &self.revenue_model, Some("Not recorded"))).width("half"),
                Field::text("decision_making", "How decisions are made", self.decision_making.clone()).width("half").error_from(e, &["business_model.decision_making"]),
                Field::textarea("objectives", "Enterprise objectives", self.objectives.clone()).width("half").hint("One per line").error_from(e, &["business_model.enterprise_objectives"]),
                Field::textarea("constraints", "Constraints", self.constraints.clone()).width("half").hint("One per line").error_from(e, &["business_model.constraints"]),
            ]),
            Section::new("Payer mix", "Percent of revenue by payer; leave all blank if not disclosed, otherwise they must add up to 100.", payer_fields),
        ]
    }
}

fn field_label(field: &str) -> String {
    let base = field.split('[').next().unwrap_or(field);
    match base {
        "name" => "Name",
        "kind" => "Kind",
        "npi" => "NPI",
        "ccn" => "CMS Certification Number",
        "address.line1" => "Street address",
        "address.city" => "City",
        "address.state" => "State",
        "address.zip" => "ZIP",
        "address.latitude" => "Latitude",
        "address.longitude" => "Longitude",
        "size.providers" => "Providers",
        "size.beds" => "Staffed beds",
        "size.covered_lives" => "Covered lives",
        "mission" => "Mission",
        "values" => "Values",
        "capabilities_offered" => "Offers",
        "capabilities_sought" => "Seeks",
        "business_model.decision_making" => "How decisions are made",
        "business_model.enterprise_objectives" => "Enterprise objectives",
        "business_model.constraints" => "Constraints",
        b if b.starts_with("business_model.payer_mix") => "Payer mix",
        other => other,
    }
    .to_string()
}

#[derive(Template)]
#[template(path = "org_form.html")]
struct FormPage {
    active: &'static str,
    chrome: Chrome,
    heading: String,
    action: String,
    submit_label: &'static str,
    cancel_href: String,
    summary: Vec<String>,
    sections: Vec<Section>,
}

/// Which organization form: a new one, or editing an existing one (id, current name).
enum Mode {
    New,
    Edit(i64, String),
}

fn form_page(
    chrome: Chrome,
    mode: &Mode,
    values: &Values,
    errors: &ValidationErrors,
    caps: &[Capability],
) -> FormPage {
    let (heading, action, submit_label, cancel_href) = match mode {
        Mode::New => (
            "New organization".to_string(),
            "/organizations".to_string(),
            "Create organization",
            "/organizations".to_string(),
        ),
        Mode::Edit(id, name) => (
            format!("Edit {name}"),
            format!("/organizations/{id}"),
            "Save changes",
            format!("/organizations/{id}"),
        ),
    };
    FormPage {
        active: "organizations",
        chrome,
        heading,
        action,
        submit_label,
        cancel_href,
        summary: summary(errors, field_label),
        sections: values.sections(errors, caps),
    }
}

pub async fn new_form(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
) -> Result<Response, PageError> {
    let caps = s.store.list_capabilities().await?;
    render(
        StatusCode::OK,
        &form_page(
            Chrome::load(&s, &who).await?,
            &Mode::New,
            &Values::default(),
            &ValidationErrors::new(),
            &caps,
        ),
    )
}

pub async fn create(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    form: Form,
) -> Result<Response, PageError> {
    let values = Values::from_form(&form);
    let (input, mut errors) = values.to_input();
    if errors.is_empty() {
        match s.store.create_organization(&who.actor(), &input).await {
            Ok(org) => return Ok(see_other(&format!("/organizations/{}", org.id))),
            Err(e) => errors = form_errors(e)?,
        }
    } else if let Err(v) = input.validate() {
        // Show the domain's complaints too, not only the unreadable numbers.
        errors.extend_prefixed("", v);
    }
    let caps = s.store.list_capabilities().await?;
    render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &form_page(
            Chrome::load(&s, &who).await?,
            &Mode::New,
            &values,
            &errors,
            &caps,
        ),
    )
}

pub async fn edit_form(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
) -> Result<Response, PageError> {
    let org = s.store.get_organization(OrgId(id)).await?;
    let caps = s.store.list_capabilities().await?;
    render(
        StatusCode::OK,
        &form_page(
            Chrome::load(&s, &who).await?,
            &Mode::Edit(id, org.profile.name.clone()),
            &Values::from_profile(&org.profile),
            &ValidationErrors::new(),
            &caps,
        ),
    )
}

pub async fn update(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let current = s.store.get_organization(OrgId(id)).await?;
    let values = Values::from_form(&form);
    let (input, mut errors) = values.to_input();
    if errors.is_empty() {
        match s
            .store
            .update_organization(&who.actor(), OrgId(id), &input)
            .await
        {
            Ok(_) => return Ok(see_other(&format!("/organizations/{id}"))),
            Err(e) => errors = form_errors(e)?,
        }
    } else if let Err(v) = input.validate() {
        errors.extend_prefixed("", v);
    }
    let caps = s.store.list_capabilities().await?;
    render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &form_page(
            Chrome::load(&s, &who).await?,
            &Mode::Edit(id, current.profile.name.clone()),
            &values,
            &errors,
            &caps,
        ),
    )
}

struct PayerSegment {
    x: f64,
    width: f64,
    legend_y: u32,
    label: &'static str,
    pct: String,
}

struct PartnershipRow {
    id: concord_domain::PartnershipId,
    name: String,
    type_label: &'static str,
    stage: concord_domain::partnership::Stage,
    archived: bool,
    role: String,
}

#[derive(Template)]
#[template(path = "org_detail.html")]
struct DetailPage {
    active: &'static str,
    chrome: Chrome,
    id: OrgId,
    name: String,
    kind: &'static str,
    location: String,
    facts: Vec<(&'static str, String)>,
    mission: String,
    values: Vec<String>,
    offered: Vec<String>,
    sought: Vec<String>,
    revenue_model: &'static str,
    decision_making: String,
    objectives: Vec<String>,
    constraints: Vec<String>,
    payer_segments: Vec<PayerSegment>,
    payer_chart_height: u32,
    partnerships: Vec<PartnershipRow>,
}

pub async fn show(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
) -> Result<Response, PageError> {
    let org = s.store.get_organization(OrgId(id)).await?;
    let caps = s.store.list_capabilities().await?;
    let partnerships = s.store.partnerships_of(&who.actor(), org.id).await?;
    let p = &org.profile;
    let none = || "—".to_string();
    let mut facts: Vec<(&'static str, String)> = vec![
        (
            "NPI",
            p.npi
                .as_ref()
                .map(|n| n.as_str().to_string())
                .unwrap_or_else(none),
        ),
        (
            "CCN",
            p.ccn
                .as_ref()
                .map(|c| c.as_str().to_string())
                .unwrap_or_else(none),
        ),
        ("Address", {
            let mut parts = vec![];
            if let Some(l) = &p.address.line1 {
                parts.push(l.clone());
            }
            let loc = p.address.locality();
            if !loc.is_empty() {
                parts.push(loc);
            }
            if parts.is_empty() {
                none()
            } else {
                parts.join(", ")
            }
        }),
    ];
    if let (Some(lat), Some(lon)) = (p.address.latitude, p.address.longitude) {
        facts.push(("Coordinates", format!("{lat:.4}, {lon:.4}")));
    }
    facts.push((
        "Providers",
        p.size.providers.map(|v| v.to_string()).unwrap_or_else(none),
    ));
    facts.push((
        "Staffed beds",
        p.size.beds.map(|v| v.to_string()).unwrap_or_else(none),
    ));
    facts.push((
        "Covered lives",
        p.size
            .covered_lives
            .map(|v| v.to_string())
            .unwrap_or_else(none),
    ));
    facts.push((
        "Annual revenue",
        p.size
            .revenue_band
            .map(|b| b.label().to_string())
            .unwrap_or_else(none),
    ));

    let mut x = 0.0;
    let payer_segments: Vec<PayerSegment> = p
        .business_model
        .payer_mix
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let width = s.share_pct / 100.0 * 400.0;
            let seg = PayerSegment {
                x,
                width,
                legend_y: 70 + 20 * i as u32,
                label: s.payer.label(),
                pct: format!("{}", s.share_pct),
            };
            x += width;
            seg
        })
        .collect();
    let payer_chart_height = 70 + 20 * payer_segments.len() as u32;
    let rows = partnerships
        .into_iter()
        .map(|pp| PartnershipRow {
            role: pp
                .parties
                .iter()
                .find(|x| x.organization_id == org.id)
                .map(|x| x.role.clone())
                .unwrap_or_default(),
            id: pp.id,
            name: pp.name,
            type_label: pp.partnership_type.label(),
            stage: pp.stage,
            archived: pp.archived_at.is_some(),
        })
        .collect();
    render(
        StatusCode::OK,
        &DetailPage {
            active: "organizations",
            chrome: Chrome::load(&s, &who).await?,
            id: org.id,
            name: p.name.clone(),
            kind: p.kind.label(),
            location: p.address.locality(),
            facts,
            mission: p.mission.clone().unwrap_or_else(|| "Not recorded.".into()),
            values: p.values.clone(),
            offered: p
                .capabilities_offered
                .iter()
                .map(|c| capability_name(&caps, c.as_str()))
                .collect(),
            sought: p
                .capabilities_sought
                .iter()
                .map(|c| capability_name(&caps, c.as_str()))
                .collect(),
            revenue_model: p
                .business_model
                .revenue_model
                .map(|m| m.label())
                .unwrap_or("Not recorded"),
            decision_making: p
                .business_model
                .decision_making
                .clone()
                .unwrap_or_else(|| "Not recorded".into()),
            objectives: p.business_model.enterprise_objectives.clone(),
            constraints: p.business_model.constraints.clone(),
            payer_segments,
            payer_chart_height,
            partnerships: rows,
        },
    )
}

/// All organizations as CSV, in the format `concord import organizations` reads.
pub async fn export_csv(
    State(s): State<AppState>,
    PageAuth(_): PageAuth,
) -> Result<Response, PageError> {
    let orgs = s.store.all_organizations().await?;
    let profiles: Vec<_> = orgs.into_iter().map(|o| o.profile).collect();
    let mut buf = Vec::new();
    write_organizations(&mut buf, &profiles).map_err(|e| PageError::Internal(Box::new(e)))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"organizations.csv\"",
            ),
        ],
        buf,
    )
        .into_response())
}
