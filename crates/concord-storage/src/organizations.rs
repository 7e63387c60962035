//! Organizations and the capabilities they offer and seek.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use concord_domain::account::Acting;
use concord_domain::capability::CapabilityCode;
use concord_domain::csv_io::{OrgRow as CsvOrgRow, RowError};
use concord_domain::organization::{
    Address, BusinessModel, Ccn, Npi, Organization, OrganizationFilter, OrganizationInput,
    OrganizationProfile, OrganizationSummary, Size,
};
use concord_domain::paging::{Page, PageRequest};
use concord_domain::text::name_key;
use concord_domain::OrgId;

use crate::audit::{audit, Actor};
use crate::dialect::{begin_write, contains_pattern, Arg, SqlBuilder};
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: i64,
    name: String,
    kind: String,
    npi: Option<String>,
    ccn: Option<String>,
    address_line1: Option<String>,
    city: Option<String>,
    state: Option<String>,
    zip: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    providers: Option<i64>,
    beds: Option<i64>,
    covered_lives: Option<i64>,
    revenue_band: Option<String>,
    mission: Option<String>,
    org_values: Json<Vec<String>>,
    business_model: Json<BusinessModel>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT id, name, kind, npi, ccn, address_line1, city, state, zip, latitude, longitude, \
     providers, beds, covered_lives, revenue_band, mission, org_values, business_model, created_at, updated_at \
     FROM organizations";

#[derive(sqlx::FromRow)]
struct CapRow {
    organization_id: i64,
    direction: String,
    capability_code: String,
}

fn corrupt(id: i64, what: &str) -> StoreError {
    StoreError::Corrupt(format!("organization {id}: {what}"))
}

impl OrgRow {
    fn into_organization(self, caps: &[CapRow]) -> Result<Organization, StoreError> {
        let id = self.id;
        let codes = |dir: &str| -> Result<Vec<CapabilityCode>, StoreError> {
            caps.iter()
                .filter(|c| c.organization_id == id && c.direction == dir)
                .map(|c| {
                    CapabilityCode::parse(&c.capability_code).map_err(|_| corrupt(id, "capability"))
                })
                .collect()
        };
        let u32_of = |v: Option<i64>, what: &str| -> Result<Option<u32>, StoreError> {
            v.map(|x| u32::try_from(x).map_err(|_| corrupt(id, what)))
                .transpose()
        };
        Ok(Organization {
            id: OrgId(id),
            profile: OrganizationProfile {
                kind: self.kind.parse().map_err(|_| corrupt(id, "kind"))?,
                npi: self
                    .npi
                    .as_deref()
                    .map(Npi::parse)
                    .transpose()
                    .map_err(|_| corrupt(id, "npi"))?,
                ccn: self
                    .ccn
                    .as_deref()
                    .map(Ccn::parse)
                    .transpose()
                    .map_err(|_| corrupt(id, "ccn"))?,
                address: Address {
                    line1: self.address_line1,
                    city: self.city,
                    state: self.state,
                    zip: self.zip,
                    latitude: self.latitude,
                    longitude: self.longitude,
                },
                size: Size {
                    providers: u32_of(self.providers, "providers")?,
                    beds: u32_of(self.beds, "beds")?,
                    covered_lives: self
                        .covered_lives
                        .map(|x| u64::try_from(x).map_err(|_| corrupt(id, "covered_lives")))
                        .transpose()?,
                    revenue_band: self
                        .revenue_band
                        .as_deref()
                        .map(str::parse)
                        .transpose()
                        .map_err(|_| corrupt(id, "revenue_band"))?,
                },
                mission: self.mission,
                values: self.org_values.0,
                capabilities_offered: codes("offered")?,
                capabilities_sought: codes("sought")?,
                business_model: self.business_model.0,
                name: self.name,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Inserts an organization row and its capabilities on `$conn`; evaluates to the new id.
macro_rules! insert_org {
    ($conn:expr, $p:expr, $ts:expr) => {{
        let p: &OrganizationProfile = $p;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO organizations (name, name_key, kind, npi, ccn, address_line1, city, state, zip, \
             latitude, longitude, providers, beds, covered_lives, revenue_band, mission, org_values, \
             business_model, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) \
             RETURNING id",
        )
        .bind(&p.name)
        .bind(name_key(&p.name))
        .bind(p.kind.as_str())
        .bind(p.npi.as_ref().map(|n| n.as_str()))
        .bind(p.ccn.as_ref().map(|c| c.as_str()))
        .bind(p.address.line1.as_deref())
        .bind(p.address.city.as_deref())
        .bind(p.address.state.as_deref())
        .bind(p.address.zip.as_deref())
        .bind(p.address.latitude)
        .bind(p.address.longitude)
        .bind(p.size.providers.map(i64::from))
        .bind(p.size.beds.map(i64::from))
        .bind(p.size.covered_lives.map(|v| v as i64))
        .bind(p.size.revenue_band.map(|b| b.as_str()))
        .bind(p.mission.as_deref())
        .bind(Json(&p.values))
        .bind(Json(&p.business_model))
        .bind($ts)
        .fetch_one(&mut *$conn)
        .await?;
        write_caps!($conn, id, p);
        id
    }};
}

/// Replaces an organization's offered and sought capabilities on `$conn`.
macro_rules! write_caps {
    ($conn:expr, $id:expr, $p:expr) => {{
        sqlx::query("DELETE FROM organization_capabilities WHERE organization_id = $1")
            .bind($id)
            .execute(&mut *$conn)
            .await?;
        for (direction, list) in [("offered", &$p.capabilities_offered), ("sought", &$p.capabilities_sought)] {
            for (i, code) in list.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO organization_capabilities (organization_id, direction, capability_code, position) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind($id)
                .bind(direction)
                .bind(code.as_str())
                .bind(i as i64)
                .execute(&mut *$conn)
                .await?;
            }
        }
    }};
}

// Shared with the promotion of a fit scorecard (`scorecards.rs`), which creates the candidate's
// organization inside its own transaction.
pub(crate) use {insert_org, write_caps};

impl Store {
    /// Validates and stores a new organization.
    pub async fn create_organization(
        &self,
        actor: &Actor,
        input: &OrganizationInput,
    ) -> Result<Organization, StoreError> {
        actor.check(Acting::require_manager)?;
        let profile = input.validate()?;
        profile.check_capabilities(&self.capability_codes().await?)?;
        let ts = now();
        let id = run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let id = insert_org!(tx, &profile, ts);
            audit!(
                &mut *tx,
                actor,
                "create",
                "organization",
                id,
                [id],
                None,
                serde_json::to_value(&profile).ok()
            );
            tx.commit().await?;
            id
        });
        self.get_organization(OrgId(id)).await
    }

    /// Validates and replaces an organization's profile.
    pub async fn update_organization(
        &self,
        actor: &Actor,
        id: OrgId,
        input: &OrganizationInput,
    ) -> Result<Organization, StoreError> {
        let before = self.get_organization(id).await?;
        self.check_may_edit(actor, &before).await?;
        let profile = input.validate()?;
        profile.check_capabilities(&self.capability_codes().await?)?;
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query(
                "UPDATE organizations SET name = $2, name_key = $3, kind = $4, npi = $5, ccn = $6, \
                 address_line1 = $7, city = $8, state = $9, zip = $10, latitude = $11, longitude = $12, \
                 providers = $13, beds = $14, covered_lives = $15, revenue_band = $16, mission = $17, \
                 org_values = $18, business_model = $19, updated_at = $20 WHERE id = $1",
            )
            .bind(id.0)
            .bind(&profile.name)
            .bind(name_key(&profile.name))
            .bind(profile.kind.as_str())
            .bind(profile.npi.as_ref().map(|n| n.as_str()))
            .bind(profile.ccn.as_ref().map(|c| c.as_str()))
            .bind(profile.address.line1.as_deref())
            .bind(profile.address.city.as_deref())
            .bind(profile.address.state.as_deref())
            .bind(profile.address.zip.as_deref())
            .bind(profile.address.latitude)
            .bind(profile.address.longitude)
            .bind(profile.size.providers.map(i64::from))
            .bind(profile.size.beds.map(i64::from))
            .bind(profile.size.covered_lives.map(|v| v as i64))
            .bind(profile.size.revenue_band.map(|b| b.as_str()))
            .bind(profile.mission.as_deref())
            .bind(Json(&profile.values))
            .bind(Json(&profile.business_model))
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound {
                    entity: "organization",
                });
            }
            write_caps!(tx, id.0, &profile);
            audit!(
                &mut *tx,
                actor,
                "update",
                "organization",
                id,
                [id.0],
                serde_json::to_value(&before.profile).ok(),
                serde_json::to_value(&profile).ok()
            );
            tx.commit().await?;
        });
        self.get_organization(id).await
    }

    /// An organization with members is edited only by its own admins; a plain ecosystem record
    /// (no members) by any alliance manager or admin.
    async fn check_may_edit(&self, actor: &Actor, org: &Organization) -> Result<(), StoreError> {
        let Some(acting) = &actor.acting else {
            return Ok(());
        };
        if self.has_members(org.id).await? {
            if acting.org_id == org.id && acting.role.can_administer() {
                Ok(())
            } else {
                Err(StoreError::Forbidden(format!(
                    "only an admin of {} can edit its profile",
                    org.profile.name
                )))
            }
        } else {
            acting.require_manager().map_err(StoreError::from)
        }
    }

    pub async fn get_organization(&self, id: OrgId) -> Result<Organization, StoreError> {
        let sql = format!("{SELECT} WHERE id = $1");
        let (row, caps) = run!(&self.read, |p| {
            let row = sqlx::query_as::<_, OrgRow>(&sql)
                .bind(id.0)
                .fetch_optional(p)
                .await?;
            let caps = sqlx::query_as::<_, CapRow>(
                "SELECT organization_id, direction, capability_code FROM organization_capabilities \
                 WHERE organization_id = $1 ORDER BY direction, position",
            )
            .bind(id.0)
            .fetch_all(p)
            .await?;
            (row, caps)
        });
        row.ok_or(StoreError::NotFound {
            entity: "organization",
        })?
        .into_organization(&caps)
    }

    /// Every organization, by name (for export).
    pub async fn all_organizations(&self) -> Result<Vec<Organization>, StoreError> {
        let sql = format!("{SELECT} ORDER BY name_key");
        let (rows, caps) = run!(&self.read, |p| {
            let rows = sqlx::query_as::<_, OrgRow>(&sql).fetch_all(p).await?;
            let caps = sqlx::query_as::<_, CapRow>(
                "SELECT organization_id, direction, capability_code FROM organization_capabilities \
                 ORDER BY organization_id, direction, position",
            )
            .fetch_all(p)
            .await?;
            (rows, caps)
        });
        rows.into_iter()
            .map(|r| r.into_organization(&caps))
            .collect()
    }

    /// A page of organizations, by name.
    pub async fn list_organizations(
        &self,
        filter: &OrganizationFilter,
        page: PageRequest,
    ) -> Result<Page<OrganizationSummary>, StoreError> {
        let mut where_ = SqlBuilder::new(" WHERE 1 = 1");
        if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
            let pat = contains_pattern(q);
            where_
                .push(" AND (name_key LIKE ")
                .bind(Arg::Text(pat.clone()))
                .push(" ESCAPE '\\' OR LOWER(COALESCE(city, '')) LIKE ")
                .bind(Arg::Text(pat))
                .push(" ESCAPE '\\')");
        }
        if let Some(kind) = filter.kind {
            where_
                .push(" AND kind = ")
                .bind(Arg::Text(kind.as_str().to_string()));
        }
        let count_sql = format!("SELECT COUNT(*) FROM organizations{}", where_.sql);
        let mut list = SqlBuilder {
            sql: format!("{SELECT}{} ORDER BY name_key LIMIT ", where_.sql),
            args: where_.args.clone(),
        };
        list.bind(Arg::Int(page.limit()))
            .push(" OFFSET ")
            .bind(Arg::Int(page.offset()));

        let (total, rows) = run!(&self.read, |p| {
            let total: i64 = bind_args!(sqlx::query_scalar(&count_sql), &where_.args)
                .fetch_one(p)
                .await?;
            let rows: Vec<OrgRow> = bind_args!(sqlx::query_as(&list.sql), &list.args)
                .fetch_all(p)
                .await?;
            (total, rows)
        });
        let caps = self
            .capabilities_of(&rows.iter().map(|r| r.id).collect::<Vec<_>>())
            .await?;
        let items = rows
            .into_iter()
            .map(|r| {
                let o = r.into_organization(&caps)?;
                Ok(OrganizationSummary {
                    id: o.id,
                    name: o.profile.name,
                    kind: o.profile.kind,
                    city: o.profile.address.city,
                    state: o.profile.address.state,
                    zip: o.profile.address.zip,
                    providers: o.profile.size.providers,
                    beds: o.profile.size.beds,
                    capabilities_offered: o.profile.capabilities_offered,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page {
            items,
            page: page.page,
            per_page: page.per_page,
            total: total as u64,
        })
    }

    async fn capabilities_of(&self, ids: &[i64]) -> Result<Vec<CapRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut b = SqlBuilder::new(
            "SELECT organization_id, direction, capability_code FROM organization_capabilities \
             WHERE organization_id IN ",
        );
        b.bind_list(ids.iter().map(|i| Arg::Int(*i)))
            .push(" ORDER BY organization_id, direction, position");
        let rows = run!(&self.read, |p| bind_args!(
            sqlx::query_as::<_, CapRow>(&b.sql),
            &b.args
        )
        .fetch_all(p)
        .await?);
        Ok(rows)
    }

    /// Every organization's id and name, by name (for pickers).
    pub async fn organization_choices(&self) -> Result<Vec<(OrgId, String)>, StoreError> {
        let rows: Vec<(i64, String)> = run!(&self.read, |p| sqlx::query_as(
            "SELECT id, name FROM organizations ORDER BY name_key"
        )
        .fetch_all(p)
        .await?);
        Ok(rows.into_iter().map(|(id, n)| (OrgId(id), n)).collect())
    }

    /// The organizations that share a partnership with the actor's organization (itself
    /// included), by name: the useful choices for filtering its partnership list. Operators get
    /// every organization.
    pub async fn partner_choices(&self, actor: &Actor) -> Result<Vec<(OrgId, String)>, StoreError> {
        let Some(org) = actor.org_id() else {
            return self.organization_choices().await;
        };
        let rows: Vec<(i64, String)> = run!(&self.read, |p| {
            sqlx::query_as(
            "SELECT o.id, o.name FROM organizations o WHERE o.id = $1 OR EXISTS ( \
             SELECT 1 FROM partnership_parties mine JOIN partnership_parties theirs \
             ON theirs.partnership_id = mine.partnership_id \
             WHERE mine.organization_id = $1 AND theirs.organization_id = o.id) ORDER BY o.name_key"
        )
        .bind(org)
        .fetch_all(p)
        .await?
        });
        Ok(rows.into_iter().map(|(id, n)| (OrgId(id), n)).collect())
    }

    /// Which of `ids` exist.
    pub async fn existing_organizations(&self, ids: &[OrgId]) -> Result<Vec<OrgId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut b = SqlBuilder::new("SELECT id FROM organizations WHERE id IN ");
        b.bind_list(ids.iter().map(|i| Arg::Int(i.0)));
        let rows: Vec<i64> = run!(&self.read, |p| bind_args!(
            sqlx::query_scalar(&b.sql),
            &b.args
        )
        .fetch_all(p)
        .await?);
        Ok(rows.into_iter().map(OrgId).collect())
    }

    /// Imports parsed CSV rows all or nothing: capability codes and names are checked against the
    /// database first (every problem named by line and column), then every row is written in one
    /// transaction.
    pub async fn import_organizations(
        &self,
        actor: &Actor,
        rows: &[CsvOrgRow],
    ) -> Result<usize, ImportError> {
        let known = self.capability_codes().await?;
        let existing: Vec<String> = run!(&self.read, |p| sqlx::query_scalar(
            "SELECT name_key FROM organizations"
        )
        .fetch_all(p)
        .await
        .map_err(StoreError::from)?);
        let existing_npis: Vec<String> = run!(&self.read, |p| sqlx::query_scalar(
            "SELECT npi FROM organizations WHERE npi IS NOT NULL"
        )
        .fetch_all(p)
        .await
        .map_err(StoreError::from)?);
        let mut errors = Vec::new();
        for r in rows {
            if existing.contains(&name_key(&r.profile.name)) {
                errors.push(RowError {
                    line: r.line,
                    column: "name".into(),
                    message: format!("an organization named `{}` already exists", r.profile.name),
                });
            }
            if let Some(npi) = &r.profile.npi {
                if existing_npis.iter().any(|n| n == npi.as_str()) {
                    errors.push(RowError {
                        line: r.line,
                        column: "npi".into(),
                        message: format!(
                            "an organization with NPI {} already exists",
                            npi.as_str()
                        ),
                    });
                }
            }
            if let Err(e) = r.profile.check_capabilities(&known) {
                for fe in e.into_errors() {
                    errors.push(RowError {
                        line: r.line,
                        column: fe.field.split('[').next().unwrap_or("").to_string(),
                        message: fe.message,
                    });
                }
            }
        }
        if !errors.is_empty() {
            return Err(ImportError::Rows(errors));
        }
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p
                .begin_with(begin_write(self.backend))
                .await
                .map_err(StoreError::from)?;
            let result: Result<(), StoreError> = async {
                for r in rows {
                    let id = insert_org!(tx, &r.profile, ts);
                    audit!(
                        &mut *tx,
                        actor,
                        "import",
                        "organization",
                        id,
                        [id],
                        None,
                        Some(serde_json::json!({ "name": r.profile.name, "line": r.line }))
                    );
                }
                Ok(())
            }
            .await;
            result?;
            tx.commit().await.map_err(StoreError::from)?;
        });
        Ok(rows.len())
    }
}

/// Why an import was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} problem(s) in the file", .0.len())]
    Rows(Vec<RowError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}
