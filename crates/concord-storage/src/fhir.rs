//! FHIR R4 export and import: the acting organization's view out as a Bundle, and a parsed
//! [`ImportPlan`] in — organizations matched by NPI then by name, affiliations turned into
//! partnerships in `exploring` — all in one transaction, or nothing when anything is invalid.

use std::collections::BTreeSet;

use sqlx::types::Json;

use concord_domain::account::Acting;
use concord_domain::fhir::{
    bounded_role, default_partnership_name, export_bundle, AffiliationImport, ImportAction,
    ImportPlan, ImportReport, ImportedOrganization, ImportedPartnership, OrgRef, Refusal,
};
use concord_domain::organization::{
    BusinessModel, OrgKind, Organization, OrganizationProfile, Size,
};
use concord_domain::paging::{PageRequest, MAX_PER_PAGE};
use concord_domain::partnership::{
    Partnership, PartnershipFilter, PartnershipInput, PartnershipSort, PartnershipType, PartyInput,
    Stage,
};
use concord_domain::text::name_key;
use concord_domain::{OrgId, PartnershipId, ValidationErrors};

use crate::audit::{audit, Actor};
use crate::dialect::{begin_write, Arg, SqlBuilder};
use crate::partnerships::draft_json;
use crate::{now, Store, StoreError};

/// What the import will do with one `Organization` of the plan.
#[derive(Debug)]
struct OrgStep {
    /// The record it is (or will be, once inserted).
    existing: Option<Organization>,
    profile: OrganizationProfile,
    action: ImportAction,
    matched_by: Option<&'static str>,
    /// Valid, but the actor may not change this record: reported, not applied.
    refused: bool,
}

/// One side of an affiliation, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The `Organization` at this index of the plan.
    Bundle(usize),
    Existing(OrgId),
}

/// A partnership to create from one or more affiliations (same Concord identifier).
#[derive(Debug)]
struct PartnershipStep {
    paths: Vec<String>,
    name: String,
    purpose: String,
    partnership_type: PartnershipType,
    /// Each party once, with its role.
    parties: Vec<(Side, String)>,
    /// Already recorded: nothing to write.
    existing: Option<PartnershipId>,
}

impl Store {
    /// The acting organization's view as a FHIR R4 Bundle: itself, every organization it shares
    /// a partnership with, and those partnerships (archived ones included, as inactive). An
    /// operator (no acting organization) exports every partnership.
    pub async fn fhir_export(&self, actor: &Actor) -> Result<serde_json::Value, StoreError> {
        let partnerships = self.all_visible_partnerships(actor).await?;
        let mut ids: BTreeSet<i64> = BTreeSet::new();
        if let Some(org) = actor.org_id() {
            ids.insert(org);
        }
        for p in &partnerships {
            ids.extend(p.parties.iter().map(|x| x.organization_id.0));
        }
        let mut orgs = Vec::with_capacity(ids.len());
        for id in ids {
            orgs.push(self.get_organization(OrgId(id)).await?);
        }
        Ok(export_bundle(&orgs, &partnerships, now()))
    }

    async fn all_visible_partnerships(
        &self,
        actor: &Actor,
    ) -> Result<Vec<Partnership>, StoreError> {
        let filter = PartnershipFilter {
            include_archived: true,
            ..PartnershipFilter::default()
        };
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let p = self
                .list_partnerships(
                    actor,
                    &filter,
                    PartnershipSort::Created,
                    PageRequest::new(Some(page), Some(MAX_PER_PAGE))?,
                )
                .await?;
            let more = p.has_next();
            all.extend(p.items);
            if !more {
                return Ok(all);
            }
            page += 1;
        }
    }

    async fn org_id_by_npi(&self, npi: &str) -> Result<Option<OrgId>, StoreError> {
        let id: Option<i64> = run!(&self.read, |p| sqlx::query_scalar(
            "SELECT id FROM organizations WHERE npi = $1"
        )
        .bind(npi)
        .fetch_optional(p)
        .await?);
        Ok(id.map(OrgId))
    }

    async fn org_id_by_name(&self, name: &str) -> Result<Option<OrgId>, StoreError> {
        let id: Option<i64> = run!(&self.read, |p| sqlx::query_scalar(
            "SELECT id FROM organizations WHERE name_key = $1"
        )
        .bind(name_key(name))
        .fetch_optional(p)
        .await?);
        Ok(id.map(OrgId))
    }

    /// Resolves a reference that is not to an `Organization` in the same Bundle: by NPI
    /// identifier, by a local `Organization/{id}` (whose display, if given, must match), then by
    /// display name.
    async fn resolve_outside(&self, r: &OrgRef) -> Result<Option<OrgId>, StoreError> {
        if let Some(npi) = &r.npi {
            if let Some(id) = self.org_id_by_npi(npi.as_str()).await? {
                return Ok(Some(id));
            }
        }
        if let Some(id) = r.local_id() {
            match self.get_organization(OrgId(id)).await {
                Ok(o) => {
                    let display_ok = r
                        .display
                        .as_deref()
                        .is_none_or(|d| name_key(d) == name_key(&o.profile.name));
                    if display_ok {
                        return Ok(Some(o.id));
                    }
                }
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(d) = &r.display {
            return self.org_id_by_name(d).await;
        }
        Ok(None)
    }

    /// Applies a parsed FHIR import: every `Organization` created or updated (matched by NPI,
    /// then by name), every `OrganizationAffiliation` the acting organization is party to
    /// recorded as a partnership in `exploring`. Problems anywhere → a validation error listing
    /// each by element path, and nothing is written. Affiliations between other organizations,
    /// and organizations only their own admins may edit, are refused and reported.
    pub async fn fhir_import(
        &self,
        actor: &Actor,
        plan: &ImportPlan,
    ) -> Result<ImportReport, StoreError> {
        actor.check(Acting::require_manager)?;
        let mut problems = ValidationErrors::new();
        let mut report = ImportReport {
            skipped: plan.skipped.clone(),
            unknown_elements: plan.unknown_elements.clone(),
            notes: plan.notes.clone(),
            ..ImportReport::default()
        };

        // 1. Organizations: match, merge, check.
        let mut steps: Vec<OrgStep> = Vec::with_capacity(plan.organizations.len());
        for o in &plan.organizations {
            let mut matched_by = None;
            let mut found = None;
            if let Some(npi) = &o.npi {
                found = self.org_id_by_npi(npi.as_str()).await?;
                matched_by = found.map(|_| "npi");
            }
            if found.is_none() {
                found = self.org_id_by_name(&o.name).await?;
                matched_by = found.map(|_| "name");
            }
            let existing = match found {
                Some(id) => Some(self.get_organization(id).await?),
                None => None,
            };
            let (profile, action) = match &existing {
                Some(e) => {
                    let mut p = e.profile.clone();
                    p.name = o.name.clone();
                    if let Some(k) = o.kind {
                        // `other` says nothing new about a record that already has a kind.
                        if k != OrgKind::Other || p.kind == OrgKind::Other {
                            p.kind = k;
                        }
                    }
                    if o.npi.is_some() {
                        p.npi = o.npi.clone();
                    }
                    if o.ccn.is_some() {
                        p.ccn = o.ccn.clone();
                    }
                    if let Some(a) = &o.address {
                        p.address = a.clone();
                    }
                    let action = if p == e.profile {
                        ImportAction::Unchanged
                    } else {
                        ImportAction::Updated
                    };
                    (p, action)
                }
                None => (
                    OrganizationProfile {
                        name: o.name.clone(),
                        kind: o.kind.unwrap_or(OrgKind::Other),
                        npi: o.npi.clone(),
                        ccn: o.ccn.clone(),
                        address: o.address.clone().unwrap_or_default(),
                        size: Size::default(),
                        mission: None,
                        values: Vec::new(),
                        capabilities_offered: Vec::new(),
                        capabilities_sought: Vec::new(),
                        business_model: BusinessModel::default(),
                    },
                    ImportAction::Created,
                ),
            };
            let mut refused = false;
            if let Some(e) = &existing {
                if name_key(&profile.name) != name_key(&e.profile.name) {
                    if let Some(other) = self.org_id_by_name(&profile.name).await? {
                        if other != e.id {
                            problems.add(
                                format!("{}.name", o.path),
                                "duplicate",
                                format!(
                                    "organization {other} already has the name `{}` (this resource matched organization {} by NPI)",
                                    profile.name, e.id
                                ),
                            );
                        }
                    }
                }
                if action == ImportAction::Updated && !self.may_edit(actor, e).await? {
                    refused = true;
                    report.refused.push(Refusal {
                        path: o.path.clone(),
                        code: "not_permitted".into(),
                        message: format!(
                            "{} (organization {}) has its own members: only its admins can change its profile; it was left as it is",
                            e.profile.name, e.id
                        ),
                    });
                }
            }
            // Two resources of the plan landing on one record would write it twice.
            if let Some(e) = &existing {
                if let Some(first) = steps
                    .iter()
                    .position(|s| s.existing.as_ref().map(|x| x.id) == Some(e.id))
                {
                    problems.add(
                        format!("{}.name", o.path),
                        "duplicate",
                        format!(
                            "matches organization {} ({}), as {} does",
                            e.id, e.profile.name, plan.organizations[first].path
                        ),
                    );
                }
            }
            steps.push(OrgStep {
                existing,
                profile,
                action,
                matched_by,
                refused,
            });
        }

        // 2. Affiliations: resolve both sides and group them into partnerships (affiliations
        //    with the same Concord partnership identifier are one partnership); keep the
        //    partnerships the acting organization is party to.
        let acting = actor.org_id().map(OrgId);
        type Resolved<'a> = (&'a AffiliationImport, [Option<Side>; 2]);
        let mut pending: Vec<(String, Vec<Resolved<'_>>)> = Vec::new();
        for a in &plan.affiliations {
            let mut sides = [None, None];
            for (slot, r) in sides.iter_mut().zip([&a.organization, &a.participating]) {
                *slot = match r.in_bundle {
                    Some(i) => Some(Side::Bundle(i)),
                    None => self.resolve_outside(r).await?.map(Side::Existing),
                };
            }
            let key = a.group.clone().unwrap_or_else(|| a.path.clone());
            match pending.iter_mut().find(|g| g.0 == key) {
                Some(g) => g.1.push((a, sides)),
                None => pending.push((key, vec![(a, sides)])),
            }
        }
        let id_of = |s: Side| -> Option<OrgId> {
            match s {
                Side::Existing(id) => Some(id),
                Side::Bundle(i) => steps[i].existing.as_ref().map(|e| e.id),
            }
        };
        let mut groups: Vec<(Vec<&AffiliationImport>, Vec<Side>, Vec<Side>)> = Vec::new();
        for (_, members) in pending {
            let party = match acting {
                None => true,
                Some(me) => members
                    .iter()
                    .flat_map(|(_, s)| s.iter().flatten())
                    .any(|s| id_of(*s) == Some(me)),
            };
            if !party {
                for (a, _) in &members {
                    report.refused.push(Refusal {
                        path: a.path.clone(),
                        code: "not_a_party".into(),
                        message: format!(
                            "neither {} nor {} is your organization: Concord records only partnerships your organization is party to",
                            a.organization.describe(),
                            a.participating.describe()
                        ),
                    });
                }
                continue;
            }
            let mut group = (Vec::new(), Vec::new(), Vec::new());
            let mut ok = true;
            for (a, sides) in members {
                for (side, r) in sides.iter().zip([&a.organization, &a.participating]) {
                    if side.is_none() {
                        ok = false;
                        problems.add(
                            r.path.clone(),
                            "unresolved_reference",
                            format!(
                                "`{}` is neither an Organization in this Bundle nor an organization in Concord (matched by NPI identifier, Organization/{{id}} or display name)",
                                r.describe()
                            ),
                        );
                    }
                }
                let (Some(s0), Some(s1)) = (sides[0], sides[1]) else {
                    continue;
                };
                let same = s0 == s1 || id_of(s0).is_some_and(|x| Some(x) == id_of(s1));
                if same {
                    ok = false;
                    problems.add(
                        format!("{}.participatingOrganization", a.path),
                        "same_organization",
                        "both sides are the same organization",
                    );
                    continue;
                }
                group.0.push(a);
                group.1.push(s0);
                group.2.push(s1);
            }
            if ok {
                groups.push(group);
            }
        }

        let mut psteps: Vec<PartnershipStep> = Vec::new();
        for (affs, firsts, seconds) in groups {
            let first = affs[0];
            let mut parties: Vec<(Side, String)> = Vec::new();
            let mut add = |s: Side, role: String| {
                if !parties.iter().any(|(x, _)| *x == s) {
                    parties.push((s, role));
                }
            };
            for (i, a) in affs.iter().enumerate() {
                add(
                    firsts[i],
                    bounded_role(a.organization_role.as_deref(), "Affiliating organization"),
                );
                add(
                    seconds[i],
                    bounded_role(a.participant_role.as_deref(), "Participating organization"),
                );
            }
            let mut names = Vec::new();
            for s in [parties[0].0, parties[1].0] {
                names.push(match s {
                    Side::Existing(id) => self.get_organization(id).await?.profile.name,
                    Side::Bundle(i) => steps[i].profile.name.clone(),
                });
            }
            let name = first
                .name
                .clone()
                .unwrap_or_else(|| default_partnership_name(&names[0], &names[1]));
            let purpose = first.purpose.clone().unwrap_or_default();
            // The partnership rules (name and role lengths, party count) as for any partnership.
            let check = PartnershipInput {
                name: name.clone(),
                purpose: purpose.clone(),
                partnership_type: first.partnership_type,
                parties: parties
                    .iter()
                    .enumerate()
                    .map(|(i, (_, role))| PartyInput {
                        organization_id: OrgId(i as i64 + 1),
                        role: role.clone(),
                    })
                    .collect(),
            };
            if let Err(e) = check.validate() {
                for fe in e.into_errors() {
                    problems.add(
                        format!("{}.extension", first.path),
                        fe.code,
                        format!("{}: {}", fe.field, fe.message),
                    );
                }
                continue;
            }
            let existing = if parties.iter().all(|(s, _)| match s {
                Side::Existing(_) => true,
                Side::Bundle(i) => steps[*i].existing.is_some(),
            }) {
                let ids: Vec<i64> = parties
                    .iter()
                    .map(|(s, _)| match s {
                        Side::Existing(id) => id.0,
                        Side::Bundle(i) => steps[*i].existing.as_ref().map_or(0, |e| e.id.0),
                    })
                    .collect();
                self.same_partnership(first.partnership_type, &ids).await?
            } else {
                None
            };
            psteps.push(PartnershipStep {
                paths: affs.iter().map(|a| a.path.clone()).collect(),
                name,
                purpose,
                partnership_type: first.partnership_type,
                parties,
                existing,
            });
        }

        if !problems.is_empty() {
            return Err(StoreError::Validation(problems));
        }

        // 3. Write everything in one transaction.
        let ts = now();
        let (org_ids, partnership_ids) = run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let mut org_ids: Vec<i64> = Vec::with_capacity(steps.len());
            for s in &steps {
                let pr = &s.profile;
                let id = match (&s.existing, s.action) {
                    (None, _) => {
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO organizations (name, name_key, kind, npi, ccn, address_line1, city, state, zip, \
                             latitude, longitude, providers, beds, covered_lives, revenue_band, mission, org_values, \
                             business_model, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, NULL, NULL, NULL, $12, $13, $14, $14) \
                             RETURNING id",
                        )
                        .bind(&pr.name)
                        .bind(name_key(&pr.name))
                        .bind(pr.kind.as_str())
                        .bind(pr.npi.as_ref().map(|n| n.as_str()))
                        .bind(pr.ccn.as_ref().map(|c| c.as_str()))
                        .bind(pr.address.line1.as_deref())
                        .bind(pr.address.city.as_deref())
                        .bind(pr.address.state.as_deref())
                        .bind(pr.address.zip.as_deref())
                        .bind(pr.address.latitude)
                        .bind(pr.address.longitude)
                        .bind(Json(&pr.values))
                        .bind(Json(&pr.business_model))
                        .bind(ts)
                        .fetch_one(&mut *tx)
                        .await?;
                        audit!(
                            &mut *tx,
                            actor,
                            "fhir_import",
                            "organization",
                            id,
                            [id],
                            None,
                            serde_json::to_value(pr).ok()
                        );
                        id
                    }
                    (Some(e), ImportAction::Updated) if !s.refused => {
                        let id = e.id.0;
                        let n = sqlx::query(
                            "UPDATE organizations SET name = $2, name_key = $3, kind = $4, npi = $5, ccn = $6, \
                             address_line1 = $7, city = $8, state = $9, zip = $10, latitude = $11, longitude = $12, \
                             updated_at = $13 WHERE id = $1 AND updated_at = $14",
                        )
                        .bind(id)
                        .bind(&pr.name)
                        .bind(name_key(&pr.name))
                        .bind(pr.kind.as_str())
                        .bind(pr.npi.as_ref().map(|n| n.as_str()))
                        .bind(pr.ccn.as_ref().map(|c| c.as_str()))
                        .bind(pr.address.line1.as_deref())
                        .bind(pr.address.city.as_deref())
                        .bind(pr.address.state.as_deref())
                        .bind(pr.address.zip.as_deref())
                        .bind(pr.address.latitude)
                        .bind(pr.address.longitude)
                        .bind(ts)
                        .bind(e.updated_at)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if n == 0 {
                            return Err(StoreError::Refused {
                                field: "organization".into(),
                                code: "stale_organization",
                                message: format!(
                                    "{} changed while the import was being prepared; send it again",
                                    e.profile.name
                                ),
                            });
                        }
                        audit!(
                            &mut *tx,
                            actor,
                            "fhir_import",
                            "organization",
                            id,
                            [id],
                            serde_json::to_value(&e.profile).ok(),
                            serde_json::to_value(pr).ok()
                        );
                        id
                    }
                    (Some(e), _) => e.id.0,
                };
                org_ids.push(id);
            }
            let mut partnership_ids: Vec<i64> = Vec::with_capacity(psteps.len());
            for ps in &psteps {
                if let Some(id) = ps.existing {
                    partnership_ids.push(id.0);
                    continue;
                }
                let party_ids: Vec<i64> = ps
                    .parties
                    .iter()
                    .map(|(s, _)| match s {
                        Side::Existing(id) => id.0,
                        Side::Bundle(i) => org_ids[*i],
                    })
                    .collect();
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO partnerships (name, purpose, partnership_type, stage, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                )
                .bind(&ps.name)
                .bind(&ps.purpose)
                .bind(ps.partnership_type.as_str())
                .bind(Stage::Exploring.as_str())
                .bind(ts)
                .fetch_one(&mut *tx)
                .await?;
                for (i, ((_, role), org)) in ps.parties.iter().zip(&party_ids).enumerate() {
                    sqlx::query(
                        "INSERT INTO partnership_parties (partnership_id, organization_id, role, position) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(id)
                    .bind(*org)
                    .bind(role)
                    .bind(i as i64)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    "INSERT INTO stage_changes (partnership_id, from_stage, to_stage, note, changed_at) VALUES ($1, NULL, $2, $3, $4)",
                )
                .bind(id)
                .bind(Stage::Exploring.as_str())
                .bind("Partnership created by a FHIR import")
                .bind(ts)
                .execute(&mut *tx)
                .await?;
                crate::risks::seed_risks_tx(&mut tx, id, ts).await?;
                let draft = concord_domain::partnership::PartnershipDraft {
                    name: ps.name.clone(),
                    purpose: ps.purpose.clone(),
                    partnership_type: ps.partnership_type,
                    parties: ps
                        .parties
                        .iter()
                        .zip(&party_ids)
                        .map(|((_, role), org)| PartyInput {
                            organization_id: OrgId(*org),
                            role: role.clone(),
                        })
                        .collect(),
                };
                audit!(
                    &mut *tx,
                    actor,
                    "fhir_import",
                    "partnership",
                    id,
                    party_ids.iter().copied(),
                    None,
                    Some(draft_json(&draft, Stage::Exploring))
                );
                partnership_ids.push(id);
            }
            tx.commit().await?;
            (org_ids, partnership_ids)
        });

        for ((o, s), id) in plan.organizations.iter().zip(&steps).zip(&org_ids) {
            report.organizations.push(ImportedOrganization {
                path: o.path.clone(),
                organization_id: OrgId(*id),
                name: s.profile.name.clone(),
                action: if s.refused {
                    ImportAction::Unchanged
                } else {
                    s.action
                },
                matched_by: s.matched_by.map(str::to_string),
            });
        }
        for (ps, id) in psteps.iter().zip(&partnership_ids) {
            report.partnerships.push(ImportedPartnership {
                paths: ps.paths.clone(),
                partnership_id: PartnershipId(*id),
                name: ps.name.clone(),
                partnership_type: ps.partnership_type,
                action: if ps.existing.is_some() {
                    ImportAction::Existing
                } else {
                    ImportAction::Created
                },
            });
        }
        Ok(report)
    }

    /// Whether the actor may change an organization's profile (the rule of
    /// `update_organization`): one with members only by its own admins.
    async fn may_edit(&self, actor: &Actor, org: &Organization) -> Result<bool, StoreError> {
        let Some(acting) = &actor.acting else {
            return Ok(true);
        };
        if self.has_members(org.id).await? {
            Ok(acting.org_id == org.id && acting.role.can_administer())
        } else {
            Ok(acting.require_manager().is_ok())
        }
    }

    /// A live partnership of this type with exactly these parties, if one is recorded.
    async fn same_partnership(
        &self,
        t: PartnershipType,
        parties: &[i64],
    ) -> Result<Option<PartnershipId>, StoreError> {
        let mut b = SqlBuilder::new(
            "SELECT p.id FROM partnerships p WHERE p.archived_at IS NULL AND p.partnership_type = ",
        );
        b.bind(Arg::Text(t.as_str().into()))
            .push(" AND (SELECT COUNT(*) FROM partnership_parties a WHERE a.partnership_id = p.id) = ")
            .bind(Arg::Int(parties.len() as i64))
            .push(" AND (SELECT COUNT(*) FROM partnership_parties b WHERE b.partnership_id = p.id AND b.organization_id IN ")
            .bind_list(parties.iter().map(|i| Arg::Int(*i)))
            .push(") = ")
            .bind(Arg::Int(parties.len() as i64))
            .push(" ORDER BY p.id LIMIT 1");
        let id: Option<i64> = run!(&self.read, |p| bind_args!(
            sqlx::query_scalar(&b.sql),
            &b.args
        )
        .fetch_optional(p)
        .await?);
        Ok(id.map(PartnershipId))
    }
}
