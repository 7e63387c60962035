//! The capability catalogue.

use concord_domain::account::Acting;
use concord_domain::capability::{
    parse_catalogue, Capability, CapabilityCode, CapabilityInput, SHIPPED_CATALOGUE_CSV,
};
use concord_domain::ValidationErrors;

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow)]
struct CapabilityRow {
    code: String,
    name: String,
    category: String,
    continuum_level: String,
    description: String,
}

impl TryFrom<CapabilityRow> for Capability {
    type Error = StoreError;
    fn try_from(r: CapabilityRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("capability {}: {what}", r.code));
        Ok(Capability {
            code: CapabilityCode::parse(&r.code).map_err(|_| corrupt("code"))?,
            category: r.category.parse().map_err(|_| corrupt("category"))?,
            continuum_level: r
                .continuum_level
                .parse()
                .map_err(|_| corrupt("continuum_level"))?,
            name: r.name,
            description: r.description,
        })
    }
}

const SELECT: &str = "SELECT code, name, category, continuum_level, description FROM capabilities";

impl Store {
    pub(crate) async fn seed_catalogue(&self) -> Result<(), StoreError> {
        let catalogue = parse_catalogue(SHIPPED_CATALOGUE_CSV).map_err(|errs| {
            StoreError::Corrupt(format!(
                "shipped capability catalogue: {}",
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            for c in &catalogue {
                sqlx::query(
                    "INSERT INTO capabilities (code, name, category, continuum_level, description, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING",
                )
                .bind(c.code.as_str())
                .bind(&c.name)
                .bind(c.category.as_str())
                .bind(c.continuum_level.as_str())
                .bind(&c.description)
                .bind(ts)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The whole catalogue, ordered by category then name.
    pub async fn list_capabilities(&self) -> Result<Vec<Capability>, StoreError> {
        let sql = format!("{SELECT} ORDER BY category, name");
        let rows = run!(&self.read, |p| sqlx::query_as::<_, CapabilityRow>(&sql)
            .fetch_all(p)
            .await?);
        rows.into_iter().map(Capability::try_from).collect()
    }

    pub async fn capability_codes(&self) -> Result<Vec<CapabilityCode>, StoreError> {
        Ok(self
            .list_capabilities()
            .await?
            .into_iter()
            .map(|c| c.code)
            .collect())
    }

    pub async fn get_capability(&self, code: &str) -> Result<Capability, StoreError> {
        let sql = format!("{SELECT} WHERE code = $1");
        let row = run!(&self.read, |p| sqlx::query_as::<_, CapabilityRow>(&sql)
            .bind(code)
            .fetch_optional(p)
            .await?);
        row.ok_or(StoreError::NotFound {
            entity: "capability",
        })?
        .try_into()
    }

    /// Adds a capability to the catalogue.
    pub async fn create_capability(
        &self,
        actor: &Actor,
        input: &CapabilityInput,
    ) -> Result<Capability, StoreError> {
        actor.check(Acting::require_admin)?;
        let c = input.validate()?;
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            sqlx::query(
                "INSERT INTO capabilities (code, name, category, continuum_level, description, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(c.code.as_str())
            .bind(&c.name)
            .bind(c.category.as_str())
            .bind(c.continuum_level.as_str())
            .bind(&c.description)
            .bind(ts)
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "create",
                "capability",
                c.code,
                Vec::<i64>::new(),
                None,
                serde_json::to_value(&c).ok()
            );
            tx.commit().await?;
        });
        Ok(c)
    }

    /// Changes a capability's name, category, level or description (the code stays).
    pub async fn update_capability(
        &self,
        actor: &Actor,
        code: &str,
        input: &CapabilityInput,
    ) -> Result<Capability, StoreError> {
        actor.check(Acting::require_admin)?;
        let before = self.get_capability(code).await?;
        let c = input.validate()?;
        if c.code.as_str() != code {
            return Err(ValidationErrors::single(
                "code",
                "immutable",
                "a capability's code cannot change; organizations refer to it",
            )
            .into());
        }
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query(
                "UPDATE capabilities SET name = $2, category = $3, continuum_level = $4, description = $5, updated_at = $6 \
                 WHERE code = $1",
            )
            .bind(c.code.as_str())
            .bind(&c.name)
            .bind(c.category.as_str())
            .bind(c.continuum_level.as_str())
            .bind(&c.description)
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound {
                    entity: "capability",
                });
            }
            audit!(
                &mut *tx,
                actor,
                "update",
                "capability",
                c.code,
                Vec::<i64>::new(),
                serde_json::to_value(&before).ok(),
                serde_json::to_value(&c).ok()
            );
            tx.commit().await?;
        });
        Ok(c)
    }
}
