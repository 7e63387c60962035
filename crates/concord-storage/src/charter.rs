//! Charters: versions, drafts, signatures and stakes acknowledgements. A version's content is one
//! JSON document; its SHA-256 is stored with it and copied into every signature, so a signature
//! always names the exact text signed.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::types::Json;

use concord_domain::account::Acting;
use concord_domain::charter::{
    Acknowledgement, Charter, CharterRecord, CharterVersion, SignInput, SignOff, Signature,
    VersionStatus,
};
use concord_domain::partnership::{Partnership, Stage};
use concord_domain::{OrgId, PartnershipId, UserId, ValidationErrors};

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::partnerships::ensure_not_archived;
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow)]
struct VersionRow {
    id: i64,
    number: i32,
    status: String,
    content: Json<Charter>,
    content_sha256: String,
    created_by_name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    effective_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct MarkRow {
    version_id: i64,
    organization_id: i64,
    user_id: Option<i64>,
    user_name: String,
    at: DateTime<Utc>,
}

/// SHA-256 of the canonical JSON, in lowercase hex.
pub fn content_sha256(c: &Charter) -> String {
    let digest = Sha256::digest(c.canonical_json().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn creator_name(actor: &Actor) -> String {
    match &actor.acting {
        Some(a) => format!("{} ({})", a.display_name, a.org_name),
        None => format!("operator ({})", actor.label),
    }
}

fn signer(actor: &Actor) -> Result<&Acting, StoreError> {
    actor.acting.as_ref().ok_or_else(|| {
        StoreError::Forbidden(
            "a charter is signed by a person acting for a party; sign in to sign".into(),
        )
    })
}

fn refused(field: &str, code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Refused {
        field: field.into(),
        code,
        message: message.into(),
    }
}

/// Another request changed the charter between our read and our write.
fn raced() -> StoreError {
    refused(
        "version",
        "stale_version",
        "the charter changed while this request was made (signed, edited, discarded or made effective); reload and try again",
    )
}

fn party_ids(p: &Partnership) -> Vec<OrgId> {
    p.parties.iter().map(|x| x.organization_id).collect()
}

impl Store {
    /// The partnership and its whole charter history (newest version first), if the actor's
    /// organization is party to it.
    pub async fn charter(
        &self,
        actor: &Actor,
        id: PartnershipId,
    ) -> Result<(Partnership, CharterRecord), StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let record = self.charter_of(&p).await?;
        Ok((p, record))
    }

    /// [`Store::charter`] for a partnership the caller has already read through a scoped method
    /// (so it is visible to the actor), without reading the partnership again.
    pub async fn charter_of(&self, p: &Partnership) -> Result<CharterRecord, StoreError> {
        let id = p.id;
        let (rows, sigs, acks, went_active_at) = run!(&self.read, |c| {
            let rows: Vec<VersionRow> = sqlx::query_as(
                "SELECT id, number, status, content, content_sha256, created_by_name, created_at, updated_at, effective_at \
                 FROM charter_versions WHERE partnership_id = $1 ORDER BY number DESC",
            )
            .bind(id.0)
            .fetch_all(c)
            .await?;
            let sigs: Vec<MarkRow> = sqlx::query_as(
                "SELECT s.version_id, s.organization_id, s.user_id, u.display_name AS user_name, s.signed_at AS at \
                 FROM charter_signatures s JOIN charter_versions v ON v.id = s.version_id \
                 JOIN users u ON u.id = s.user_id WHERE v.partnership_id = $1",
            )
            .bind(id.0)
            .fetch_all(c)
            .await?;
            let acks: Vec<MarkRow> = sqlx::query_as(
                "SELECT a.version_id, a.organization_id, a.user_id, COALESCE(u.display_name, 'operator') AS user_name, \
                 a.acknowledged_at AS at \
                 FROM charter_acknowledgements a JOIN charter_versions v ON v.id = a.version_id \
                 LEFT JOIN users u ON u.id = a.user_id WHERE v.partnership_id = $1",
            )
            .bind(id.0)
            .fetch_all(c)
            .await?;
            let went: Option<DateTime<Utc>> = sqlx::query_scalar(
                "SELECT MIN(changed_at) FROM stage_changes WHERE partnership_id = $1 AND to_stage = $2",
            )
            .bind(id.0)
            .bind(Stage::Active.as_str())
            .fetch_one(c)
            .await?;
            (rows, sigs, acks, went)
        });
        let mut versions = Vec::with_capacity(rows.len());
        for r in rows {
            let status: VersionStatus = r.status.parse().map_err(|_| {
                StoreError::Corrupt(format!("charter version {}: status {}", r.id, r.status))
            })?;
            let sign_off = p
                .parties
                .iter()
                .map(|party| {
                    let org = party.organization_id;
                    let find = |rows: &[MarkRow]| {
                        rows.iter()
                            .find(|m| m.version_id == r.id && m.organization_id == org.0)
                            .map(|m| (UserId(m.user_id.unwrap_or(0)), m.user_name.clone(), m.at))
                    };
                    SignOff {
                        organization_id: org,
                        organization_name: party.organization_name.clone(),
                        signed: find(&sigs).map(|(user_id, signed_by, signed_at)| Signature {
                            organization_id: org,
                            organization_name: party.organization_name.clone(),
                            user_id,
                            signed_by,
                            signed_at,
                        }),
                        acknowledged_stakes: find(&acks).map(
                            |(user_id, acknowledged_by, acknowledged_at)| Acknowledgement {
                                organization_id: org,
                                organization_name: party.organization_name.clone(),
                                user_id,
                                acknowledged_by,
                                acknowledged_at,
                            },
                        ),
                    }
                })
                .collect();
            versions.push(CharterVersion {
                number: r.number as u32,
                status,
                content: r.content.0,
                content_sha256: r.content_sha256,
                created_by: r.created_by_name,
                created_at: r.created_at,
                updated_at: r.updated_at,
                effective_at: r.effective_at,
                sign_off,
            });
        }
        Ok(CharterRecord {
            parties: p
                .parties
                .iter()
                .map(|x| (x.organization_id, x.organization_name.clone()))
                .collect(),
            versions,
            went_active_at,
        })
    }

    /// One version by number.
    pub async fn charter_version(
        &self,
        actor: &Actor,
        id: PartnershipId,
        number: u32,
    ) -> Result<CharterVersion, StoreError> {
        let (_, record) = self.charter(actor, id).await?;
        record.version(number).cloned().ok_or(StoreError::NotFound {
            entity: "charter version",
        })
    }

    /// Names every alliance manager who is not a member of the party they are named for.
    async fn check_alliance_managers(&self, c: &Charter) -> Result<(), StoreError> {
        let refs = c.alliance_manager_refs();
        if refs.is_empty() {
            return Ok(());
        }
        let mut e = ValidationErrors::new();
        for (field, org, user) in refs {
            let n: i64 = run!(&self.read, |p| sqlx::query_scalar(
                "SELECT COUNT(*) FROM memberships WHERE user_id = $1 AND organization_id = $2"
            )
            .bind(user.0)
            .bind(org.0)
            .fetch_one(p)
            .await?);
            if n == 0 {
                e.add(
                    field,
                    "not_a_member",
                    format!("user {user} is not a member of organization {org}, so cannot be its alliance manager"),
                );
            }
        }
        e.into_result(()).map_err(StoreError::from)
    }

    /// Creates the open draft (from `input`) or replaces its content. A draft that anyone has
    /// signed is frozen: its signatures must be withdrawn, or the draft discarded, first.
    pub async fn save_charter_draft(
        &self,
        actor: &Actor,
        id: PartnershipId,
        input: &Charter,
    ) -> Result<CharterVersion, StoreError> {
        let (p, record) = self.charter(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let priors: Vec<&Charter> = record.versions.iter().map(|v| &v.content).collect();
        let content = input.validate_after(&party_ids(&p), &priors)?;
        self.check_alliance_managers(&content).await?;
        let sha = content_sha256(&content);
        let ts = now();
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let draft = record.draft().cloned();
        if let Some(d) = &draft {
            if d.signed_by_anyone() {
                let who: Vec<&str> = d
                    .sign_off
                    .iter()
                    .filter(|s| s.signed.is_some())
                    .map(|s| s.organization_name.as_str())
                    .collect();
                return Err(refused(
                    "version",
                    "signed_version",
                    format!(
                        "version {} has been signed by {}; a signed version cannot be edited. Withdraw the signature or discard the draft first",
                        d.number,
                        who.join(", ")
                    ),
                ));
            }
        }
        let name = creator_name(actor);
        let number = run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let number = match &draft {
                Some(d) => {
                    // Lock the draft row first (PostgreSQL: this waits for a signer holding
                    // it), then look for signatures in a fresh statement, which sees theirs.
                    let vid: Option<i64> = sqlx::query_scalar(
                        "UPDATE charter_versions SET updated_at = $3 \
                         WHERE partnership_id = $1 AND number = $2 AND status = 'draft' RETURNING id",
                    )
                    .bind(id.0)
                    .bind(d.number as i32)
                    .bind(ts)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(vid) = vid else {
                        return Err(raced());
                    };
                    let signed: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM charter_signatures WHERE version_id = $1",
                    )
                    .bind(vid)
                    .fetch_one(&mut *tx)
                    .await?;
                    if signed > 0 {
                        return Err(raced());
                    }
                    sqlx::query(
                        "UPDATE charter_versions SET content = $2, content_sha256 = $3 WHERE id = $1",
                    )
                    .bind(vid)
                    .bind(Json(&content))
                    .bind(&sha)
                    .execute(&mut *tx)
                    .await?;
                    if !d.content.same_stakes(&content) {
                        sqlx::query(
                            "DELETE FROM charter_acknowledgements WHERE version_id = \
                             (SELECT id FROM charter_versions WHERE partnership_id = $1 AND number = $2)",
                        )
                        .bind(id.0)
                        .bind(d.number as i32)
                        .execute(&mut *tx)
                        .await?;
                    }
                    audit!(
                        &mut *tx,
                        actor,
                        "update_draft",
                        "charter",
                        format!("{}/v{}", id.0, d.number),
                        orgs.iter().copied(),
                        Some(serde_json::to_value(&d.content).unwrap_or_default()),
                        Some(serde_json::to_value(&content).unwrap_or_default())
                    );
                    d.number
                }
                None => {
                    let next: i32 = sqlx::query_scalar(
                        "SELECT COALESCE(MAX(number), 0) + 1 FROM charter_versions WHERE partnership_id = $1",
                    )
                    .bind(id.0)
                    .fetch_one(&mut *tx)
                    .await?;
                    let vid: i64 = sqlx::query_scalar(
                        "INSERT INTO charter_versions (partnership_id, number, status, content, content_sha256, created_by, \
                         created_by_name, created_at, updated_at) VALUES ($1, $2, 'draft', $3, $4, $5, $6, $7, $7) RETURNING id",
                    )
                    .bind(id.0)
                    .bind(next)
                    .bind(Json(&content))
                    .bind(&sha)
                    .bind(actor.user_id())
                    .bind(&name)
                    .bind(ts)
                    .fetch_one(&mut *tx)
                    .await?;
                    // Acknowledgements of unchanged stakes carry over from the effective version.
                    if let Some(eff) = record.effective() {
                        if eff.content.same_stakes(&content) {
                            for s in eff
                                .sign_off
                                .iter()
                                .filter_map(|s| s.acknowledged_stakes.as_ref())
                            {
                                sqlx::query(
                                    "INSERT INTO charter_acknowledgements (version_id, organization_id, user_id, acknowledged_at) \
                                     VALUES ($1, $2, $3, $4)",
                                )
                                .bind(vid)
                                .bind(s.organization_id.0)
                                .bind(Some(s.user_id.0).filter(|u| *u != 0))
                                .bind(s.acknowledged_at)
                                .execute(&mut *tx)
                                .await?;
                            }
                        }
                    }
                    audit!(
                        &mut *tx,
                        actor,
                        "create_draft",
                        "charter",
                        format!("{}/v{}", id.0, next),
                        orgs.iter().copied(),
                        record
                            .effective()
                            .map(|e| serde_json::to_value(&e.content).unwrap_or_default()),
                        Some(serde_json::to_value(&content).unwrap_or_default())
                    );
                    next as u32
                }
            };
            sqlx::query("UPDATE partnerships SET updated_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(ts)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            number
        });
        self.charter_version(actor, id, number).await
    }

    /// Finds the open draft a sign/acknowledge request names, refusing stale requests.
    fn open_draft<'r>(
        record: &'r CharterRecord,
        input: &SignInput,
    ) -> Result<&'r CharterVersion, StoreError> {
        let Some(draft) = record.draft() else {
            return Err(match record.version(input.version) {
                Some(v) => refused(
                    "version",
                    "not_a_draft",
                    format!(
                        "version {} is {}, not an open draft; only a draft can be signed",
                        v.number,
                        v.status.label().to_lowercase()
                    ),
                ),
                None => refused("version", "no_draft", "there is no open draft to sign"),
            });
        };
        if draft.number != input.version {
            return Err(refused(
                "version",
                "stale_version",
                format!(
                    "version {} is not the open draft; the open draft is version {}",
                    input.version, draft.number
                ),
            ));
        }
        if let Some(h) = &input.content_sha256 {
            if !h.eq_ignore_ascii_case(&draft.content_sha256) {
                return Err(refused(
                    "content_sha256",
                    "content_changed",
                    format!(
                        "version {} changed since you read it; reload it and read it again before signing",
                        draft.number
                    ),
                ));
            }
        }
        Ok(draft)
    }

    /// Signs the open draft for the acting organization (its alliance managers and admins). When
    /// every party has signed, the draft becomes the effective version and the previous one is
    /// superseded.
    pub async fn sign_charter(
        &self,
        actor: &Actor,
        id: PartnershipId,
        input: &SignInput,
    ) -> Result<CharterVersion, StoreError> {
        let (p, record) = self.charter(actor, id).await?;
        let acting = signer(actor)?;
        acting.require_manager()?;
        ensure_not_archived(&p)?;
        let draft = Self::open_draft(&record, input)?;
        let org = acting.org_id;
        if draft
            .sign_off
            .iter()
            .any(|s| s.organization_id == org && s.signed.is_some())
        {
            return Err(refused(
                "version",
                "already_signed",
                format!(
                    "{} has already signed version {}",
                    acting.org_name, draft.number
                ),
            ));
        }
        let number = draft.number;
        let sha = draft.content_sha256.clone();
        let party_count = p.parties.len() as i64;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let ts = now();
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            // Touch the draft first: on PostgreSQL this row lock serialises concurrent signers,
            // so the last one always sees every other signature and makes the version effective.
            let vid: Option<i64> = sqlx::query_scalar(
                "UPDATE charter_versions SET updated_at = $4 WHERE partnership_id = $1 AND number = $2 \
                 AND status = 'draft' AND content_sha256 = $3 RETURNING id",
            )
            .bind(id.0)
            .bind(number as i32)
            .bind(&sha)
            .bind(ts)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(vid) = vid else {
                return Err(raced());
            };
            sqlx::query(
                "INSERT INTO charter_signatures (version_id, organization_id, user_id, content_sha256, signed_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(vid)
            .bind(org.0)
            .bind(acting.user_id.0)
            .bind(&sha)
            .bind(ts)
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "sign",
                "charter",
                format!("{}/v{}", id.0, number),
                orgs.iter().copied(),
                None,
                Some(
                    serde_json::json!({ "version": number, "organization_id": org.0, "content_sha256": sha })
                )
            );
            let signed: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM charter_signatures s JOIN partnership_parties pp \
                 ON pp.organization_id = s.organization_id AND pp.partnership_id = $2 WHERE s.version_id = $1",
            )
            .bind(vid)
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
            if signed >= party_count {
                let previous: Option<i32> = sqlx::query_scalar(
                    "UPDATE charter_versions SET status = 'superseded', updated_at = $2 \
                     WHERE partnership_id = $1 AND status = 'effective' RETURNING number",
                )
                .bind(id.0)
                .bind(ts)
                .fetch_optional(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE charter_versions SET status = 'effective', effective_at = $2, updated_at = $2 WHERE id = $1",
                )
                .bind(vid)
                .bind(ts)
                .execute(&mut *tx)
                .await?;
                audit!(
                    &mut *tx,
                    actor,
                    "make_effective",
                    "charter",
                    format!("{}/v{}", id.0, number),
                    orgs.iter().copied(),
                    Some(serde_json::json!({ "effective_version": previous })),
                    Some(serde_json::json!({ "effective_version": number, "content_sha256": sha }))
                );
            }
            sqlx::query("UPDATE partnerships SET updated_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(ts)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        self.charter_version(actor, id, number).await
    }

    /// Withdraws the acting organization's signature from the open draft (it has not become
    /// effective, so nothing is lost), which unfreezes the draft once no signature is left.
    pub async fn withdraw_charter_signature(
        &self,
        actor: &Actor,
        id: PartnershipId,
        input: &SignInput,
    ) -> Result<CharterVersion, StoreError> {
        let (p, record) = self.charter(actor, id).await?;
        let acting = signer(actor)?;
        acting.require_manager()?;
        ensure_not_archived(&p)?;
        let draft = Self::open_draft(&record, input)?;
        if !draft
            .sign_off
            .iter()
            .any(|s| s.organization_id == acting.org_id && s.signed.is_some())
        {
            return Err(refused(
                "version",
                "not_signed",
                format!(
                    "{} has not signed version {}",
                    acting.org_name, draft.number
                ),
            ));
        }
        let number = draft.number;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            // Lock the draft row first, as signing does, so a withdrawal and the last signature
            // cannot pass each other (the signer would count a signature being withdrawn).
            let vid: Option<i64> = sqlx::query_scalar(
                "UPDATE charter_versions SET updated_at = $3 \
                 WHERE partnership_id = $1 AND number = $2 AND status = 'draft' RETURNING id",
            )
            .bind(id.0)
            .bind(number as i32)
            .bind(now())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(vid) = vid else {
                return Err(raced());
            };
            let n = sqlx::query(
                "DELETE FROM charter_signatures WHERE version_id = $1 AND organization_id = $2",
            )
            .bind(vid)
            .bind(acting.org_id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(raced());
            }
            audit!(
                &mut *tx,
                actor,
                "withdraw_signature",
                "charter",
                format!("{}/v{}", id.0, number),
                orgs.iter().copied(),
                Some(serde_json::json!({ "version": number, "organization_id": acting.org_id.0 })),
                None
            );
            tx.commit().await?;
        });
        self.charter_version(actor, id, number).await
    }

    /// Records that the acting organization has read and acknowledged the other parties' stakes
    /// in a version (the open draft or the effective one).
    pub async fn acknowledge_stakes(
        &self,
        actor: &Actor,
        id: PartnershipId,
        input: &SignInput,
    ) -> Result<CharterVersion, StoreError> {
        let (p, record) = self.charter(actor, id).await?;
        let acting = signer(actor)?;
        acting.require_manager()?;
        ensure_not_archived(&p)?;
        let Some(v) = record.version(input.version) else {
            return Err(StoreError::NotFound {
                entity: "charter version",
            });
        };
        if !matches!(v.status, VersionStatus::Draft | VersionStatus::Effective) {
            return Err(refused(
                "version",
                "not_current",
                format!(
                    "version {} is {}; acknowledge the stakes of the effective version or the open draft",
                    v.number,
                    v.status.label().to_lowercase()
                ),
            ));
        }
        if let Some(h) = &input.content_sha256 {
            if !h.eq_ignore_ascii_case(&v.content_sha256) {
                return Err(refused(
                    "content_sha256",
                    "content_changed",
                    format!("version {} changed since you read it; reload it", v.number),
                ));
            }
        }
        if v.sign_off
            .iter()
            .any(|s| s.organization_id == acting.org_id && s.acknowledged_stakes.is_some())
        {
            return Ok(v.clone());
        }
        let number = v.number;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let ts = now();
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let vid: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM charter_versions WHERE partnership_id = $1 AND number = $2 \
                 AND status IN ('draft', 'effective')",
            )
            .bind(id.0)
            .bind(number as i32)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(vid) = vid else {
                return Err(raced());
            };
            // Two people of one party acknowledging at once: the first one counts.
            let n = sqlx::query(
                "INSERT INTO charter_acknowledgements (version_id, organization_id, user_id, acknowledged_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (version_id, organization_id) DO NOTHING",
            )
            .bind(vid)
            .bind(acting.org_id.0)
            .bind(acting.user_id.0)
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                audit!(
                    &mut *tx,
                    actor,
                    "acknowledge_stakes",
                    "charter",
                    format!("{}/v{}", id.0, number),
                    orgs.iter().copied(),
                    None,
                    Some(
                        serde_json::json!({ "version": number, "organization_id": acting.org_id.0 })
                    )
                );
            }
            tx.commit().await?;
        });
        self.charter_version(actor, id, number).await
    }

    /// Discards the open draft (it stays readable as `withdrawn`).
    pub async fn discard_charter_draft(
        &self,
        actor: &Actor,
        id: PartnershipId,
    ) -> Result<CharterVersion, StoreError> {
        let (p, record) = self.charter(actor, id).await?;
        actor.check(Acting::require_manager)?;
        ensure_not_archived(&p)?;
        let Some(draft) = record.draft() else {
            return Err(StoreError::NotFound {
                entity: "charter draft",
            });
        };
        let number = draft.number;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let ts = now();
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query(
                "UPDATE charter_versions SET status = 'withdrawn', updated_at = $3 \
                 WHERE partnership_id = $1 AND number = $2 AND status = 'draft'",
            )
            .bind(id.0)
            .bind(number as i32)
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(raced());
            }
            audit!(
                &mut *tx,
                actor,
                "discard_draft",
                "charter",
                format!("{}/v{}", id.0, number),
                orgs.iter().copied(),
                Some(serde_json::json!({ "version": number, "status": "draft" })),
                Some(serde_json::json!({ "version": number, "status": "withdrawn" }))
            );
            tx.commit().await?;
        });
        self.charter_version(actor, id, number).await
    }

    /// Whether the partnership has an effective charter (required to go active).
    pub(crate) async fn has_effective_charter(
        &self,
        id: PartnershipId,
    ) -> Result<bool, StoreError> {
        let n: i64 = run!(&self.read, |c| {
            sqlx::query_scalar(
            "SELECT COUNT(*) FROM charter_versions WHERE partnership_id = $1 AND status = 'effective'"
        )
        .bind(id.0)
        .fetch_one(c)
        .await?
        });
        Ok(n > 0)
    }

    /// The members of every party, for choosing alliance managers: (party, user id, display
    /// name). `p` must have been read through a scoped method (so it is visible to the actor).
    pub async fn people_of_parties(
        &self,
        p: &Partnership,
    ) -> Result<Vec<(OrgId, UserId, String)>, StoreError> {
        let rows: Vec<(i64, i64, String)> = run!(&self.read, |c| {
            sqlx::query_as(
            "SELECT m.organization_id, u.id, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id \
             JOIN partnership_parties pp ON pp.organization_id = m.organization_id AND pp.partnership_id = $1 \
             WHERE u.disabled_at IS NULL ORDER BY pp.position, LOWER(u.display_name)"
        )
        .bind(p.id.0)
        .fetch_all(c)
        .await?
        });
        Ok(rows
            .into_iter()
            .map(|(o, u, n)| (OrgId(o), UserId(u), n))
            .collect())
    }
}
