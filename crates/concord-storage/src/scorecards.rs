//! Fit scorecards, their settings (weights and gates), promotion of a candidate to an ecosystem
//! organization and a partnership, and the competitor list.
//!
//! All of it is PRIVATE to the evaluating organization: every read and write is scoped with
//! `organization_id = acting organization`, so another organization — the candidate itself, a
//! partner — gets "not found" and never sees a scorecard in a list.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use concord_domain::account::Acting;
use concord_domain::market::scorecard::{
    evaluate, CandidateInfo, CandidateRef, Competitor, CompetitorInput, Criterion, FitProfile,
    Judgement, JudgementsInput, NewScorecardInput, PromoteInput, Promotion, Scorecard,
    ScorecardSummary, Settings, SettingsInput, ORGANIZATION_SOURCE,
};
use concord_domain::organization::{
    Address, Ccn, Npi, OrgKind, Organization, OrganizationInput, OrganizationProfile, Size,
    US_STATES,
};
use concord_domain::partnership::{PartnershipInput, PartyInput};
use concord_domain::text::name_key;
use concord_domain::{OrgId, PartnershipId, ValidationErrors};

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::organizations::{insert_org, write_caps};
use crate::partnerships::insert_partnership;
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow)]
struct ScorecardRow {
    id: i64,
    organization_id: i64,
    candidate_source: String,
    candidate_ref: String,
    candidate_org_id: Option<i64>,
    snapshot: Json<FitProfile>,
    judgements: Json<BTreeMap<Criterion, Judgement>>,
    partnership_id: Option<i64>,
    promoted_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const SELECT: &str =
    "SELECT id, organization_id, candidate_source, candidate_ref, candidate_org_id, snapshot, \
     judgements, partnership_id, promoted_at, created_at, updated_at FROM scorecards";

#[derive(sqlx::FromRow)]
struct MarketRow {
    kind: String,
    name: String,
    address: String,
    city: String,
    state: String,
    zip: String,
    latitude: f64,
    longitude: f64,
    providers: Option<i64>,
    beds: Option<i64>,
    specialties: String,
    capabilities: String,
    facility_type: Option<String>,
    ownership: Option<String>,
    star_rating: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct CompetitorRow {
    id: i64,
    competitor_id: i64,
    name: String,
    kind: String,
    city: Option<String>,
    state: Option<String>,
    zip: Option<String>,
    note: String,
    created_at: DateTime<Utc>,
}

/// Scorecards belong to an organization, so only a person acting for one can read or write them.
fn owner(actor: &Actor) -> Result<&Acting, StoreError> {
    actor.acting.as_ref().ok_or_else(|| {
        StoreError::Forbidden(
            "scorecards and competitor lists belong to an organization; sign in to use them".into(),
        )
    })
}

/// A unique violation on our own constraints, as a 409 naming the field.
fn duplicate(e: sqlx::Error, field: &str, message: &str) -> StoreError {
    match e.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict {
            field: field.into(),
            message: message.into(),
        },
        _ => StoreError::from(e),
    }
}

/// The fit profile of an ecosystem organization.
pub fn fit_profile_of(o: &Organization) -> FitProfile {
    let p = &o.profile;
    FitProfile {
        name: p.name.clone(),
        kind: p.kind.as_str().to_string(),
        npi: p.npi.as_ref().map(|n| n.as_str().to_string()),
        ccn: p.ccn.as_ref().map(|c| c.as_str().to_string()),
        address: p.address.line1.clone(),
        city: p.address.city.clone(),
        state: p.address.state.clone(),
        zip: p.address.zip.clone(),
        latitude: p.address.latitude,
        longitude: p.address.longitude,
        size: p.size.clone(),
        values: p.values.clone(),
        mission: p.mission.clone(),
        capabilities_offered: p
            .capabilities_offered
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        capabilities_sought: p
            .capabilities_sought
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        specialties: Vec::new(),
        star_rating: None,
        facility_type: None,
        ownership: None,
        business_model: Some(p.business_model.clone()),
    }
}

fn market_profile(r: MarketRow, source: &str, reference: &str) -> FitProfile {
    let list = |s: &str| serde_json::from_str::<Vec<String>>(s).unwrap_or_default();
    let npi = (source == "nppes")
        .then(|| Npi::parse(reference).ok())
        .flatten()
        .map(|n| n.as_str().to_string());
    let ccn = matches!(r.kind.as_str(), "hospital" | "facility")
        .then(|| Ccn::parse(reference).ok())
        .flatten()
        .map(|c| c.as_str().to_string());
    FitProfile {
        name: r.name,
        kind: r.kind,
        npi,
        ccn,
        address: Some(r.address).filter(|s| !s.is_empty()),
        city: Some(r.city).filter(|s| !s.is_empty()),
        state: Some(r.state).filter(|s| !s.is_empty()),
        zip: Some(r.zip).filter(|s| !s.is_empty()),
        latitude: Some(r.latitude),
        longitude: Some(r.longitude),
        size: Size {
            providers: r.providers.and_then(|v| u32::try_from(v).ok()),
            beds: r.beds.and_then(|v| u32::try_from(v).ok()),
            ..Size::default()
        },
        values: Vec::new(),
        mission: None,
        capabilities_offered: list(&r.capabilities),
        capabilities_sought: Vec::new(),
        specialties: list(&r.specialties),
        star_rating: r.star_rating.and_then(|s| u8::try_from(s).ok()),
        facility_type: r.facility_type,
        ownership: r.ownership,
        business_model: None,
    }
}

/// The organization profile a promoted public-data candidate starts with.
fn organization_input(p: &FitProfile, known_caps: &[String]) -> OrganizationInput {
    let caps: Vec<String> = p
        .capabilities_offered
        .iter()
        .filter(|c| known_caps.contains(c))
        .cloned()
        .collect();
    let facility = p.facility_type.as_deref().unwrap_or("").to_lowercase();
    let has = |code: &str| caps.iter().any(|c| c == code);
    let kind = match p.kind.as_str() {
        "hospital" => OrgKind::Hospital,
        "facility" if facility.contains("home health") => OrgKind::HomeHealth,
        "facility" => OrgKind::PostAcute,
        _ if has("dental") => OrgKind::DentalGroup,
        _ if has("home_health") => OrgKind::HomeHealth,
        _ if has("behavioral_health") => OrgKind::BehavioralHealth,
        _ if has("pharmacy") => OrgKind::Pharmacy,
        _ if has("lab") || has("imaging") => OrgKind::LabImaging,
        _ if has("primary_care") || has("pediatrics") => OrgKind::PhysicianGroup,
        "organization" | "practice" if !caps.is_empty() => OrgKind::SpecialtyPractice,
        "practice" => OrgKind::PhysicianGroup,
        other => other.parse().unwrap_or(OrgKind::Other),
    };
    let state = p
        .state
        .as_deref()
        .map(str::to_ascii_uppercase)
        .filter(|s| US_STATES.contains(&s.as_str()));
    let zip = p
        .zip
        .as_deref()
        .map(|z| z.chars().take(5).collect::<String>())
        .filter(|z| z.len() == 5 && z.bytes().all(|b| b.is_ascii_digit()));
    let name: String = p.name.trim().chars().take(200).collect();
    OrganizationInput {
        name,
        kind,
        npi: p.npi.clone(),
        ccn: p.ccn.clone(),
        address: Address {
            line1: p.address.as_ref().map(|a| a.chars().take(200).collect()),
            city: p.city.as_ref().map(|c| c.chars().take(100).collect()),
            state,
            zip,
            latitude: p.latitude.filter(|_| p.longitude.is_some()),
            longitude: p.longitude.filter(|_| p.latitude.is_some()),
        },
        size: p.size.clone(),
        capabilities_offered: caps,
        ..OrganizationInput::default()
    }
}

impl Store {
    /// The acting organization's weights and gates (the defaults until it saves its own).
    pub async fn scorecard_settings(&self, actor: &Actor) -> Result<Settings, StoreError> {
        let acting = owner(actor)?;
        self.settings_of(acting.org_id).await
    }

    async fn settings_of(&self, org: OrgId) -> Result<Settings, StoreError> {
        let row: Option<(Json<Settings>,)> = run!(&self.read, |p| sqlx::query_as(
            "SELECT settings FROM scorecard_settings WHERE organization_id = $1"
        )
        .bind(org.0)
        .fetch_optional(p)
        .await?);
        Ok(row.map(|r| r.0 .0).unwrap_or_default())
    }

    /// Replaces the acting organization's weights and gates (alliance managers and admins).
    pub async fn put_scorecard_settings(
        &self,
        actor: &Actor,
        input: &SettingsInput,
    ) -> Result<Settings, StoreError> {
        let acting = owner(actor)?;
        acting.require_manager()?;
        let settings = input.validate()?;
        let before = self.settings_of(acting.org_id).await?;
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            sqlx::query(
                "INSERT INTO scorecard_settings (organization_id, settings, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (organization_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
            )
            .bind(acting.org_id.0)
            .bind(Json(&settings))
            .bind(ts)
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "update",
                "scorecard_settings",
                acting.org_id.0,
                [acting.org_id.0],
                serde_json::to_value(&before).ok(),
                serde_json::to_value(&settings).ok()
            );
            tx.commit().await?;
        });
        Ok(settings)
    }

    /// A market candidate of the active import of `source`, as a fit profile (`None`: no such
    /// candidate). The scan links to new scorecards with these two values.
    pub async fn market_candidate_profile(
        &self,
        source: &str,
        reference: &str,
    ) -> Result<Option<FitProfile>, StoreError> {
        let row: Option<MarketRow> = run!(&self.read, |p| {
            sqlx::query_as(
            "SELECT c.kind, c.name, c.address, c.city, c.state, c.zip, c.latitude, c.longitude, \
             CAST(c.providers AS BIGINT) AS providers, CAST(c.beds AS BIGINT) AS beds, c.specialties, c.capabilities, \
             c.facility_type, c.ownership, CAST(c.star_rating AS BIGINT) AS star_rating \
             FROM market_candidates c JOIN market_sources s ON s.source = c.source AND s.version = c.version \
             WHERE c.source = $1 AND c.ref = $2 ORDER BY c.id LIMIT 1"
        )
        .bind(source)
        .bind(reference)
        .fetch_optional(p)
        .await?
        });
        Ok(row.map(|r| market_profile(r, source, reference)))
    }

    async fn market_source_exists(&self, source: &str) -> Result<bool, StoreError> {
        let n: i64 = run!(&self.read, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM market_sources WHERE source = $1"
        )
        .bind(source)
        .fetch_one(p)
        .await?);
        Ok(n > 0)
    }

    /// The ZIP's centroid from the imported ZIP source, if any.
    async fn zip_centroid(&self, zip: &str) -> Result<Option<(f64, f64)>, StoreError> {
        let zip5: String = zip.chars().take(5).collect();
        Ok(run!(&self.read, |p| sqlx::query_as(
            "SELECT z.latitude, z.longitude FROM market_zips z \
             JOIN market_sources s ON s.source = 'zip' AND s.version = z.version WHERE z.zip = $1"
        )
        .bind(&zip5)
        .fetch_optional(p)
        .await?))
    }

    /// An organization's fit profile, placed at its ZIP's centroid when it has no coordinates.
    async fn located_profile(&self, org: OrgId) -> Result<FitProfile, StoreError> {
        let mut p = fit_profile_of(&self.get_organization(org).await?);
        if p.latitude.is_none() {
            if let Some(zip) = p.zip.clone() {
                if let Some((lat, lon)) = self.zip_centroid(&zip).await? {
                    p.latitude = Some(lat);
                    p.longitude = Some(lon);
                }
            }
        }
        Ok(p)
    }

    /// Starts a scorecard of a candidate (contributors and above). A public-data candidate is
    /// snapshotted now, so the scorecard survives re-imports.
    pub async fn create_scorecard(
        &self,
        actor: &Actor,
        input: &NewScorecardInput,
    ) -> Result<Scorecard, StoreError> {
        let acting = owner(actor)?;
        acting.require_contributor()?;
        let (source, reference, org_id, snapshot) = match input.validate()? {
            CandidateRef::Organization(id) => {
                if id == acting.org_id {
                    return Err(ValidationErrors::single(
                        "organization_id",
                        "own_organization",
                        "your organization cannot evaluate itself",
                    )
                    .into());
                }
                if self.existing_organizations(&[id]).await?.is_empty() {
                    return Err(ValidationErrors::single(
                        "organization_id",
                        "unknown_organization",
                        format!("there is no organization {id}"),
                    )
                    .into());
                }
                let snap = self.located_profile(id).await?;
                (
                    ORGANIZATION_SOURCE.to_string(),
                    id.0.to_string(),
                    Some(id),
                    snap,
                )
            }
            CandidateRef::Market { source, reference } => {
                if !self.market_source_exists(&source).await? {
                    return Err(ValidationErrors::single(
                        "source",
                        "unknown_source",
                        format!("`{source}` is not an imported public-data source"),
                    )
                    .into());
                }
                let Some(snap) = self.market_candidate_profile(&source, &reference).await? else {
                    return Err(ValidationErrors::single(
                        "ref",
                        "unknown_candidate",
                        format!("no candidate `{reference}` in the current `{source}` data"),
                    )
                    .into());
                };
                (source, reference, None, snap)
            }
        };
        let ts = now();
        let empty: BTreeMap<Criterion, Judgement> = BTreeMap::new();
        let id = run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO scorecards (organization_id, candidate_source, candidate_ref, candidate_org_id, snapshot, \
                 judgements, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            )
            .bind(acting.org_id.0)
            .bind(&source)
            .bind(&reference)
            .bind(org_id.map(|o| o.0))
            .bind(Json(&snapshot))
            .bind(Json(&empty))
            .bind(acting.user_id.0)
            .bind(ts)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| {
                duplicate(
                    e,
                    "candidate",
                    "your organization already has a scorecard for this candidate",
                )
            })?;
            // Private: the entry concerns the evaluating organization only.
            audit!(
                &mut *tx,
                actor,
                "create",
                "scorecard",
                id,
                [acting.org_id.0],
                None,
                Some(
                    serde_json::json!({ "source": source, "ref": reference, "candidate": snapshot.name })
                )
            );
            tx.commit().await?;
            id
        });
        self.get_scorecard(actor, id).await
    }

    async fn scorecard_row(&self, org: OrgId, id: i64) -> Result<ScorecardRow, StoreError> {
        let sql = format!("{SELECT} WHERE id = $1 AND organization_id = $2");
        let row = run!(&self.read, |p| sqlx::query_as::<_, ScorecardRow>(&sql)
            .bind(id)
            .bind(org.0)
            .fetch_optional(p)
            .await?);
        row.ok_or(StoreError::NotFound {
            entity: "scorecard",
        })
    }

    /// Builds the scorecard from its row: the candidate's live profile when it is an ecosystem
    /// organization, else its snapshot.
    async fn assemble(
        &self,
        row: ScorecardRow,
        evaluator: &FitProfile,
        settings: &Settings,
    ) -> Result<Scorecard, StoreError> {
        let profile = match row.candidate_org_id {
            Some(o) => match self.located_profile(OrgId(o)).await {
                Ok(p) => p,
                Err(StoreError::NotFound { .. }) => row.snapshot.0.clone(),
                Err(e) => return Err(e),
            },
            None => row.snapshot.0.clone(),
        };
        let judgements = row.judgements.0;
        let evaluation = evaluate(evaluator, &profile, &judgements, settings);
        Ok(Scorecard {
            id: row.id,
            organization_id: OrgId(row.organization_id),
            evaluator: evaluator.clone(),
            candidate: CandidateInfo {
                source: row.candidate_source,
                reference: row.candidate_ref,
                organization_id: row.candidate_org_id.map(OrgId),
                profile,
            },
            judgements,
            settings: settings.clone(),
            evaluation,
            partnership_id: row.partnership_id.map(PartnershipId),
            promoted_at: row.promoted_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// One of the acting organization's scorecards, evaluated; anyone else's is not found.
    pub async fn get_scorecard(&self, actor: &Actor, id: i64) -> Result<Scorecard, StoreError> {
        let acting = owner(actor)?;
        let row = self.scorecard_row(acting.org_id, id).await?;
        let evaluator = self.located_profile(acting.org_id).await?;
        let settings = self.settings_of(acting.org_id).await?;
        self.assemble(row, &evaluator, &settings).await
    }

    /// The acting organization's scorecards, evaluated, most recently changed first.
    pub async fn list_scorecards(&self, actor: &Actor) -> Result<Vec<Scorecard>, StoreError> {
        let acting = owner(actor)?;
        let sql = format!("{SELECT} WHERE organization_id = $1 ORDER BY updated_at DESC, id DESC");
        let rows = run!(&self.read, |p| sqlx::query_as::<_, ScorecardRow>(&sql)
            .bind(acting.org_id.0)
            .fetch_all(p)
            .await?);
        let evaluator = self.located_profile(acting.org_id).await?;
        let settings = self.settings_of(acting.org_id).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.assemble(r, &evaluator, &settings).await?);
        }
        Ok(out)
    }

    /// [`Store::list_scorecards`], summarised.
    pub async fn scorecard_summaries(
        &self,
        actor: &Actor,
    ) -> Result<Vec<ScorecardSummary>, StoreError> {
        Ok(self
            .list_scorecards(actor)
            .await?
            .into_iter()
            .map(|s| summary(&s))
            .collect())
    }

    /// Replaces the evaluator's judgements and evidence (contributors and above).
    pub async fn update_judgements(
        &self,
        actor: &Actor,
        id: i64,
        input: &JudgementsInput,
    ) -> Result<Scorecard, StoreError> {
        let acting = owner(actor)?;
        acting.require_contributor()?;
        let before = self.scorecard_row(acting.org_id, id).await?;
        let judgements = input.validate()?;
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query(
                "UPDATE scorecards SET judgements = $3, updated_at = $4 WHERE id = $1 AND organization_id = $2",
            )
            .bind(id)
            .bind(acting.org_id.0)
            .bind(Json(&judgements))
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound {
                    entity: "scorecard",
                });
            }
            audit!(
                &mut *tx,
                actor,
                "update",
                "scorecard",
                id,
                [acting.org_id.0],
                serde_json::to_value(&before.judgements.0).ok(),
                serde_json::to_value(&judgements).ok()
            );
            tx.commit().await?;
        });
        self.get_scorecard(actor, id).await
    }

    /// Promotes the candidate: finds or creates its ecosystem organization (an existing one is
    /// matched by NPI, then CCN, then name), opens a partnership in `exploring` between the
    /// evaluator and it, and links both to the scorecard — one transaction, audited. Twice is a
    /// 409 (`already_promoted`).
    pub async fn promote_scorecard(
        &self,
        actor: &Actor,
        id: i64,
        input: &PromoteInput,
    ) -> Result<Promotion, StoreError> {
        let acting = owner(actor)?;
        acting.require_manager()?;
        let row = self.scorecard_row(acting.org_id, id).await?;
        if row.partnership_id.is_some() {
            return Err(already_promoted(row.partnership_id));
        }
        let snapshot = row.snapshot.0.clone();
        let known: Vec<String> = self
            .capability_codes()
            .await?
            .into_iter()
            .map(|c| c.as_str().to_string())
            .collect();
        // Validated before the transaction: the new organization's profile (when one is needed)
        // and the partnership (with a stand-in id for the organization, replaced inside).
        let new_profile: Option<OrganizationProfile> = match row.candidate_org_id {
            Some(_) => None,
            None => Some(organization_input(&snapshot, &known).validate()?),
        };
        let candidate_name = snapshot.name.chars().take(90).collect::<String>();
        let name = input
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| {
                format!(
                    "{} – {}",
                    acting.org_name.chars().take(90).collect::<String>(),
                    candidate_name
                )
            });
        let draft_for = |other: OrgId| {
            PartnershipInput {
                name: name.clone(),
                purpose: input.purpose.clone(),
                partnership_type: input.partnership_type,
                parties: vec![
                    PartyInput {
                        organization_id: acting.org_id,
                        role: "evaluator".into(),
                    },
                    PartyInput {
                        organization_id: other,
                        role: "candidate".into(),
                    },
                ],
            }
            .validate()
        };
        let stand_in = OrgId(if acting.org_id.0 == i64::MAX {
            1
        } else {
            i64::MAX
        });
        draft_for(row.candidate_org_id.map(OrgId).unwrap_or(stand_in))?;
        let ts = now();
        let promotion = run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            // Claim the scorecard first: a second promotion (or a concurrent one, which waits on
            // this row on PostgreSQL) finds it taken.
            let n = sqlx::query(
                "UPDATE scorecards SET updated_at = $3 WHERE id = $1 AND organization_id = $2 AND partnership_id IS NULL",
            )
            .bind(id)
            .bind(acting.org_id.0)
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(already_promoted(None));
            }
            let (org_id, created, matched_by) = match (row.candidate_org_id, &new_profile) {
                (Some(o), _) => (o, false, "organization"),
                (None, Some(profile)) => {
                    let mut found: Option<(i64, &str)> = None;
                    if let Some(npi) = &profile.npi {
                        let hit: Option<i64> =
                            sqlx::query_scalar("SELECT id FROM organizations WHERE npi = $1")
                                .bind(npi.as_str())
                                .fetch_optional(&mut *tx)
                                .await?;
                        found = hit.map(|h| (h, "npi"));
                    }
                    if found.is_none() {
                        if let Some(ccn) = &profile.ccn {
                            let hit: Option<i64> = sqlx::query_scalar(
                                "SELECT id FROM organizations WHERE ccn = $1 ORDER BY id LIMIT 1",
                            )
                            .bind(ccn.as_str())
                            .fetch_optional(&mut *tx)
                            .await?;
                            found = hit.map(|h| (h, "ccn"));
                        }
                    }
                    if found.is_none() {
                        let hit: Option<i64> =
                            sqlx::query_scalar("SELECT id FROM organizations WHERE name_key = $1")
                                .bind(name_key(&profile.name))
                                .fetch_optional(&mut *tx)
                                .await?;
                        found = hit.map(|h| (h, "name"));
                    }
                    match found {
                        Some((o, how)) => (o, false, how),
                        None => {
                            let o = insert_org!(tx, profile, ts);
                            audit!(
                                &mut *tx,
                                actor,
                                "create",
                                "organization",
                                o,
                                [o],
                                None,
                                serde_json::to_value(profile).ok()
                            );
                            (o, true, "created")
                        }
                    }
                }
                (None, None) => {
                    unreachable!("a profile is prepared for every non-organization candidate")
                }
            };
            if org_id == acting.org_id.0 {
                return Err(ValidationErrors::single(
                    "candidate",
                    "own_organization",
                    "this candidate is your own organization",
                )
                .into());
            }
            let draft = draft_for(OrgId(org_id))?;
            let pid = insert_partnership!(tx, actor, &draft, ts);
            sqlx::query(
                "UPDATE scorecards SET candidate_org_id = $3, partnership_id = $4, promoted_at = $5, updated_at = $5 \
                 WHERE id = $1 AND organization_id = $2",
            )
            .bind(id)
            .bind(acting.org_id.0)
            .bind(org_id)
            .bind(pid)
            .bind(ts)
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "promote",
                "scorecard",
                id,
                [acting.org_id.0],
                None,
                Some(serde_json::json!({
                    "organization_id": org_id, "organization_created": created,
                    "matched_by": matched_by, "partnership_id": pid
                }))
            );
            tx.commit().await?;
            Promotion {
                scorecard_id: id,
                organization_id: OrgId(org_id),
                organization_created: created,
                matched_by: matched_by.to_string(),
                partnership_id: PartnershipId(pid),
            }
        });
        Ok(promotion)
    }

    /// The acting organization's competitors, by name.
    pub async fn competitors(&self, actor: &Actor) -> Result<Vec<Competitor>, StoreError> {
        let acting = owner(actor)?;
        let rows = run!(&self.read, |p| {
            sqlx::query_as::<_, CompetitorRow>(
            "SELECT c.id, c.competitor_id, o.name, o.kind, o.city, o.state, o.zip, c.note, c.created_at \
             FROM competitors c JOIN organizations o ON o.id = c.competitor_id \
             WHERE c.organization_id = $1 ORDER BY o.name_key, c.id"
        )
        .bind(acting.org_id.0)
        .fetch_all(p)
        .await?
        });
        Ok(rows.into_iter().map(competitor).collect())
    }

    /// Marks an ecosystem organization as a competitor (contributors and above).
    pub async fn add_competitor(
        &self,
        actor: &Actor,
        input: &CompetitorInput,
    ) -> Result<Competitor, StoreError> {
        let acting = owner(actor)?;
        acting.require_contributor()?;
        let (org, note) = input.validate()?;
        if org == acting.org_id {
            return Err(ValidationErrors::single(
                "organization_id",
                "own_organization",
                "your organization cannot compete with itself",
            )
            .into());
        }
        if self.existing_organizations(&[org]).await?.is_empty() {
            return Err(ValidationErrors::single(
                "organization_id",
                "unknown_organization",
                format!("there is no organization {org}"),
            )
            .into());
        }
        let ts = now();
        let id = run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO competitors (organization_id, competitor_id, note, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(acting.org_id.0)
            .bind(org.0)
            .bind(&note)
            .bind(ts)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| {
                duplicate(
                    e,
                    "organization_id",
                    "this organization is already on your competitor list",
                )
            })?;
            audit!(
                &mut *tx,
                actor,
                "create",
                "competitor",
                id,
                [acting.org_id.0],
                None,
                Some(serde_json::json!({ "competitor_id": org.0, "note": note }))
            );
            tx.commit().await?;
            id
        });
        self.competitors(actor)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(StoreError::NotFound {
                entity: "competitor",
            })
    }

    /// Takes an organization off the acting organization's competitor list.
    pub async fn remove_competitor(&self, actor: &Actor, id: i64) -> Result<(), StoreError> {
        let acting = owner(actor)?;
        acting.require_contributor()?;
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let before: Option<(i64, String)> = sqlx::query_as(
                "SELECT competitor_id, note FROM competitors WHERE id = $1 AND organization_id = $2",
            )
            .bind(id)
            .bind(acting.org_id.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((competitor_id, note)) = before else {
                return Err(StoreError::NotFound {
                    entity: "competitor",
                });
            };
            sqlx::query("DELETE FROM competitors WHERE id = $1 AND organization_id = $2")
                .bind(id)
                .bind(acting.org_id.0)
                .execute(&mut *tx)
                .await?;
            audit!(
                &mut *tx,
                actor,
                "delete",
                "competitor",
                id,
                [acting.org_id.0],
                Some(serde_json::json!({ "competitor_id": competitor_id, "note": note })),
                None
            );
            tx.commit().await?;
        });
        Ok(())
    }
}

fn already_promoted(partnership: Option<i64>) -> StoreError {
    StoreError::Refused {
        field: "id".into(),
        code: "already_promoted",
        message: match partnership {
            Some(p) => format!("this candidate was already promoted (partnership {p})"),
            None => "this candidate was already promoted".into(),
        },
    }
}

fn competitor(r: CompetitorRow) -> Competitor {
    let address = Address {
        city: r.city,
        state: r.state,
        zip: r.zip,
        ..Address::default()
    };
    Competitor {
        id: r.id,
        organization_id: OrgId(r.competitor_id),
        name: r.name,
        kind: r.kind,
        locality: address.locality(),
        note: r.note,
        created_at: r.created_at,
    }
}

/// A scorecard as listed.
pub fn summary(s: &Scorecard) -> ScorecardSummary {
    ScorecardSummary {
        id: s.id,
        candidate_name: s.candidate.profile.name.clone(),
        candidate_kind: s.candidate.profile.kind.clone(),
        source: s.candidate.source.clone(),
        reference: s.candidate.reference.clone(),
        locality: s.candidate.profile.locality(),
        total: s.evaluation.total,
        verdict: s.evaluation.verdict,
        failed_gates: s.evaluation.gates.iter().filter(|g| !g.passed).count(),
        partnership_id: s.partnership_id,
        updated_at: s.updated_at,
    }
}
