//! The health score, early warnings and the precomputed health the portfolio reads.
//!
//! Triggers (migration 0009) bump `health_marks.version` in the transaction of every write that
//! affects a partnership's health. `health_cache` keeps the weight-independent driver values and
//! warnings (with their acknowledgements) computed for a version on a day; a cached row is valid
//! while its version equals the mark's (a missing mark is 0) and it was computed today. A refresh
//! reads the mark first, then the inputs, so a write that lands in between leaves a row that is
//! already stale. Weights are applied when reading (they belong to the viewing organization).
//! `health_history` keeps one compact row per partnership and day (the driver values in
//! [`DriverKey::ALL`] order) for the trend and the sparklines.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sqlx::types::Json;

use concord_domain::account::Acting;
use concord_domain::health::score::{
    driver_values, pack, score, trend, unpack, DepartedKeyPerson, DriverValue, HealthInputs,
    HistoryPoint, PartnershipHealth, PortfolioHealth, ReviewTiming, SharedRisk, SurveySummary,
    Weights,
};
use concord_domain::health::survey::{results, SurveyAnswer};
use concord_domain::health::warnings::{detect, Ack, Warning, WarningRules};
use concord_domain::health::StakeholderRole;
use concord_domain::partnership::Partnership;
use concord_domain::verdict::VerdictKind;
use concord_domain::{OrgId, PartnershipId, ValidationErrors};

use crate::audit::{audit, Actor};
use crate::dialect::{begin_write, Arg, SqlBuilder};
use crate::meetings::person_name;
use crate::partnerships::ensure_not_archived;
use crate::{now, Backend, Store, StoreError};

/// Driver values in [`concord_domain::health::score::DriverKey::ALL`] order.
type Packed = Vec<Option<f64>>;
/// One day of history: the day and its packed driver values.
type HistoryRow = (NaiveDate, Packed);

/// How many ids go in one `IN` list.
const CHUNK: usize = 500;

/// A valid or freshly computed cache entry.
#[derive(Debug, Clone)]
struct Cached {
    drivers: Vec<DriverValue>,
    warnings: Vec<Warning>,
    next_review: Option<NaiveDate>,
    verdict: Option<VerdictKind>,
}

#[derive(sqlx::FromRow)]
struct CacheRow {
    partnership_id: i64,
    version: i64,
    computed_on: NaiveDate,
    drivers: Json<Vec<DriverValue>>,
    warnings: Json<Vec<Warning>>,
    next_review: Option<NaiveDate>,
    verdict: Option<String>,
    mark: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AckRow {
    warning_key: String,
    organization_id: i64,
    acknowledged_by: String,
    note: String,
    acknowledged_at: DateTime<Utc>,
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The first day of the month `back` months before `day`'s month.
fn month_start(day: NaiveDate, back: u32) -> NaiveDate {
    let first = day.with_day(1).unwrap_or(day);
    first
        .checked_sub_months(chrono::Months::new(back))
        .unwrap_or(first)
}

fn weighted(points: &[HistoryRow], w: &Weights) -> Vec<(NaiveDate, f64)> {
    points
        .iter()
        .filter_map(|(d, v)| score(&unpack(v), w).score.map(|s| (*d, s)))
        .collect()
}

impl Store {
    // ----- inputs ---------------------------------------------------------------------------

    /// Gathers everything a partnership's health is judged from on `today`, and the verdict kind
    /// of its charter.
    async fn health_inputs(
        &self,
        p: &Partnership,
        today: NaiveDate,
    ) -> Result<(HealthInputs, Option<VerdictKind>), StoreError> {
        let op = Actor::new("health");
        let packet = self.review_packet(p, &op, today).await?;
        let mut inp = HealthInputs::empty(p.id.0, today);
        inp.metrics = packet.metrics;
        inp.rollup = Some(packet.rollup);
        inp.commitments = packet.commitments;
        inp.cadence = Some(packet.cadence);
        inp.survey = self.survey_summary(p).await?;
        inp.risks = self.shared_open_risks(p.id).await?;
        inp.departed = self.departed_key_people(p.id).await?;
        let (_, _, next_due) = self.review_status(p).await?;
        let open: Option<(i32, NaiveDate)> = run!(&self.read, |c| {
            sqlx::query_as(
                "SELECT number, due_on FROM reviews WHERE partnership_id = $1 AND status <> 'closed' \
                 ORDER BY number DESC LIMIT 1",
            )
            .bind(p.id.0)
            .fetch_optional(c)
            .await?
        });
        inp.reviews = ReviewTiming {
            next_due,
            open: open.map(|(n, d)| (n.max(0) as u32, d)),
        };
        let record = self.charter_of(p).await?;
        let verdict = (!record.versions.is_empty()).then(|| record.verdict(None).verdict);
        Ok((inp, verdict))
    }

    /// The latest survey round with answers, with the change since the one before.
    async fn survey_summary(&self, p: &Partnership) -> Result<Option<SurveySummary>, StoreError> {
        type Answer = (i64, i64, i32, i32, i32, i32, i32, i32, i32, i32, i32);
        let (rounds, answers): (Vec<(i64, i32)>, Vec<Answer>) = run!(&self.read, |c| {
            let rounds: Vec<(i64, i32)> = sqlx::query_as(
                "SELECT r.id, r.number FROM survey_rounds r WHERE r.partnership_id = $1 \
                 AND EXISTS (SELECT 1 FROM survey_responses s WHERE s.round_id = r.id) \
                 ORDER BY r.number DESC LIMIT 2",
            )
            .bind(p.id.0)
            .fetch_all(c)
            .await?;
            let answers = if rounds.is_empty() {
                Vec::new()
            } else {
                let ids: Vec<i64> = rounds.iter().map(|r| r.0).collect();
                sqlx::query_as(
                    "SELECT round_id, organization_id, trust, communication, shared_vision, culture_fit, \
                     governance, value_realised, fairness, transparency, innovation \
                     FROM survey_responses WHERE partnership_id = $1 AND (round_id = $2 OR round_id = $3)",
                )
                .bind(p.id.0)
                .bind(ids[0])
                .bind(*ids.get(1).unwrap_or(&ids[0]))
                .fetch_all(c)
                .await?
            };
            (rounds, answers)
        });
        let Some((latest, number)) = rounds.first().copied() else {
            return Ok(None);
        };
        let to_answer = |a: &Answer| SurveyAnswer {
            organization_id: OrgId(a.1),
            scores: [a.2, a.3, a.4, a.5, a.6, a.7, a.8, a.9, a.10].map(|x| x.clamp(1, 5) as u8),
        };
        let now: Vec<SurveyAnswer> = answers
            .iter()
            .filter(|a| a.0 == latest)
            .map(to_answer)
            .collect();
        let before: Option<Vec<SurveyAnswer>> = rounds.get(1).map(|(id, _)| {
            answers
                .iter()
                .filter(|a| a.0 == *id)
                .map(to_answer)
                .collect()
        });
        let parties: Vec<OrgId> = p.parties.iter().map(|x| x.organization_id).collect();
        Ok(Some(SurveySummary {
            round: number.max(0) as u32,
            results: results(&now, before.as_deref(), &parties),
        }))
    }

    async fn shared_open_risks(&self, id: PartnershipId) -> Result<Vec<SharedRisk>, StoreError> {
        let rows: Vec<(i64, String, i32, i32, String, Option<NaiveDate>)> = run!(&self.read, |c| {
            sqlx::query_as(
                    "SELECT id, title, likelihood, impact, mitigation, review_on FROM risks \
                 WHERE partnership_id = $1 AND visibility = 'shared' AND status <> 'closed' ORDER BY id",
                )
                .bind(id.0)
                .fetch_all(c)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, title, l, i, mitigation, review_on)| SharedRisk {
                id,
                title,
                likelihood: l.clamp(1, 5) as u8,
                impact: i.clamp(1, 5) as u8,
                mitigated: !mitigation.trim().is_empty(),
                review_on,
            })
            .collect())
    }

    /// Departed sponsors, champions and alliance managers. A successor counts as briefed when
    /// one is named and the departure's `briefed_on` is set (the stakeholder store sets it when
    /// the successor is named and every re-education task is done).
    async fn departed_key_people(
        &self,
        id: PartnershipId,
    ) -> Result<Vec<DepartedKeyPerson>, StoreError> {
        type Row = (
            i64,
            String,
            String,
            i64,
            Option<NaiveDate>,
            Option<i64>,
            Option<NaiveDate>,
        );
        let rows: Vec<Row> = run!(&self.read, |c| {
            sqlx::query_as(
                "SELECT id, name, role, organization_id, departed_on, successor_id, briefed_on \
                 FROM stakeholders WHERE partnership_id = $1 AND status = 'departed' \
                 AND role IN ('executive_sponsor', 'champion', 'alliance_manager') ORDER BY id",
            )
            .bind(id.0)
            .fetch_all(c)
            .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(sid, name, role, org, departed_on, successor, briefed)| {
                let role: StakeholderRole = role.parse().ok()?;
                Some(DepartedKeyPerson {
                    stakeholder_id: sid,
                    name,
                    role,
                    organization_id: OrgId(org),
                    departed_on,
                    successor_briefed: successor.is_some() && briefed.is_some(),
                })
            })
            .collect())
    }

    async fn acks_of(&self, id: PartnershipId) -> Result<HashMap<String, Ack>, StoreError> {
        let rows: Vec<AckRow> = run!(&self.read, |c| {
            sqlx::query_as(
                "SELECT warning_key, organization_id, acknowledged_by, note, acknowledged_at \
                 FROM warning_acks WHERE partnership_id = $1",
            )
            .bind(id.0)
            .fetch_all(c)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.warning_key,
                    Ack {
                        by: r.acknowledged_by,
                        organization_id: OrgId(r.organization_id),
                        note: r.note,
                        at: r.acknowledged_at,
                    },
                )
            })
            .collect())
    }

    // ----- the cache ------------------------------------------------------------------------

    /// Recomputes a partnership's health for `today` and stores it with the version read first.
    async fn refresh_health(
        &self,
        p: &Partnership,
        today: NaiveDate,
    ) -> Result<Cached, StoreError> {
        let version: i64 = run!(&self.read, |c| {
            sqlx::query_scalar::<_, i64>(
                "SELECT version FROM health_marks WHERE partnership_id = $1",
            )
            .bind(p.id.0)
            .fetch_optional(c)
            .await?
        })
        .unwrap_or(0);
        let (inp, verdict) = self.health_inputs(p, today).await?;
        let drivers = driver_values(&inp);
        let acks = self.acks_of(p.id).await?;
        let warnings: Vec<Warning> = detect(&inp, &WarningRules::default())
            .into_iter()
            .map(|mut w| {
                w.acknowledged = acks.get(&w.key).cloned();
                w
            })
            .collect();
        let next_review = inp.reviews.open.map(|(_, d)| d).or(inp.reviews.next_due);
        let packed = pack(&drivers);
        let ts = now();
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            sqlx::query(
                "INSERT INTO health_cache (partnership_id, version, computed_on, drivers, warnings, next_review, computed_at, verdict) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (partnership_id) DO UPDATE SET \
                 version = excluded.version, computed_on = excluded.computed_on, drivers = excluded.drivers, \
                 warnings = excluded.warnings, next_review = excluded.next_review, \
                 computed_at = excluded.computed_at, verdict = excluded.verdict",
            )
            .bind(p.id.0)
            .bind(version)
            .bind(today)
            .bind(Json(&drivers))
            .bind(Json(&warnings))
            .bind(next_review)
            .bind(ts)
            .bind(verdict.map(|v| v.as_str()))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO health_history (partnership_id, on_date, drivers) VALUES ($1, $2, $3) \
                 ON CONFLICT (partnership_id, on_date) DO UPDATE SET drivers = excluded.drivers",
            )
            .bind(p.id.0)
            .bind(today)
            .bind(Json(&packed))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(Cached {
            drivers,
            warnings,
            next_review,
            verdict,
        })
    }

    /// Cache rows with their marks for `ids`, keyed by partnership.
    async fn cache_rows(&self, ids: &[i64]) -> Result<HashMap<i64, CacheRow>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut q = SqlBuilder::new(
                "SELECT c.partnership_id, c.version, c.computed_on, c.drivers, c.warnings, c.next_review, \
                 c.verdict, m.version AS mark FROM health_cache c \
                 LEFT JOIN health_marks m ON m.partnership_id = c.partnership_id WHERE c.partnership_id IN ",
            );
            q.bind_list(chunk.iter().map(|i| Arg::Int(*i)));
            let rows: Vec<CacheRow> = run!(&self.read, |c| {
                bind_args!(sqlx::query_as::<_, CacheRow>(&q.sql), &q.args)
                    .fetch_all(c)
                    .await?
            });
            for r in rows {
                out.insert(r.partnership_id, r);
            }
        }
        Ok(out)
    }

    fn valid(row: &CacheRow, today: NaiveDate) -> Option<Cached> {
        (row.version == row.mark.unwrap_or(0) && row.computed_on == today).then(|| Cached {
            drivers: row.drivers.0.clone(),
            warnings: row.warnings.0.clone(),
            next_review: row.next_review,
            verdict: row.verdict.as_deref().and_then(|v| v.parse().ok()),
        })
    }

    /// The health of a partnership already read through a scoped method, from the cache when
    /// valid.
    async fn cached_health(&self, p: &Partnership, today: NaiveDate) -> Result<Cached, StoreError> {
        let rows = self.cache_rows(&[p.id.0]).await?;
        match rows.get(&p.id.0).and_then(|r| Self::valid(r, today)) {
            Some(c) => Ok(c),
            None => self.refresh_health(p, today).await,
        }
    }

    /// History points `(day, packed driver values)` of `ids` from `since`, oldest first. With
    /// `monthly`, only the latest day of each month, plus the latest day on or before `cut` (for
    /// the 30-day trend).
    async fn history_points(
        &self,
        ids: &[i64],
        since: NaiveDate,
        monthly: Option<NaiveDate>,
    ) -> Result<HashMap<i64, Vec<HistoryRow>>, StoreError> {
        let mut out: HashMap<i64, Vec<HistoryRow>> = HashMap::new();
        let month = match self.backend {
            Backend::Sqlite => "substr(on_date, 1, 7)",
            Backend::Postgres => "to_char(on_date, 'YYYY-MM')",
        };
        for chunk in ids.chunks(CHUNK) {
            let mut q = SqlBuilder::new(
                "SELECT h.partnership_id, h.on_date, h.drivers FROM health_history h ",
            );
            match monthly {
                None => {
                    q.push("WHERE h.on_date >= ")
                        .bind(Arg::Text(since.to_string()))
                        .push(" AND h.partnership_id IN ")
                        .bind_list(chunk.iter().map(|i| Arg::Int(*i)));
                }
                Some(cut) => {
                    q.push("JOIN (SELECT partnership_id, MAX(on_date) AS d FROM health_history WHERE on_date >= ")
                        .bind(Arg::Text(since.to_string()))
                        .push(" AND partnership_id IN ")
                        .bind_list(chunk.iter().map(|i| Arg::Int(*i)))
                        .push(&format!(" GROUP BY partnership_id, {month} UNION SELECT partnership_id, MAX(on_date) FROM health_history WHERE on_date <= "))
                        .bind(Arg::Text(cut.to_string()))
                        .push(" AND partnership_id IN ")
                        .bind_list(chunk.iter().map(|i| Arg::Int(*i)))
                        .push(" GROUP BY partnership_id) m ON m.partnership_id = h.partnership_id AND m.d = h.on_date");
                }
            }
            let rows: Vec<(i64, NaiveDate, Json<Packed>)> = match self.backend {
                // PostgreSQL compares DATE with a text parameter only when the text is cast.
                Backend::Postgres => {
                    let sql = pg_dates(&q.sql);
                    run!(&self.read, |c| {
                        bind_args!(sqlx::query_as(&sql), &q.args)
                            .fetch_all(c)
                            .await?
                    })
                }
                Backend::Sqlite => run!(&self.read, |c| {
                    bind_args!(sqlx::query_as(&q.sql), &q.args)
                        .fetch_all(c)
                        .await?
                }),
            };
            for (pid, d, v) in rows {
                out.entry(pid).or_default().push((d, v.0));
            }
        }
        for v in out.values_mut() {
            v.sort_by_key(|(d, _)| *d);
            v.dedup_by_key(|(d, _)| *d);
        }
        Ok(out)
    }

    // ----- reads ----------------------------------------------------------------------------

    /// A partnership's health as the acting organization sees it (its weights): score, drivers,
    /// trend, the last twelve months, warnings with their acknowledgements, the next review.
    pub async fn partnership_health(
        &self,
        actor: &Actor,
        id: PartnershipId,
    ) -> Result<(Partnership, PartnershipHealth), StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let day = today();
        let cached = self.cached_health(&p, day).await?;
        let weights = self.health_weights(actor).await?;
        let scored = score(&cached.drivers, &weights);
        let since = day - chrono::Days::new(365);
        let points = self
            .history_points(&[p.id.0], since, None)
            .await?
            .remove(&p.id.0)
            .unwrap_or_default();
        let mut series = weighted(&points, &weights);
        // Today's score as computed now (the history row may predate a same-day change).
        series.retain(|(d, _)| *d != day);
        if let Some(s) = scored.score {
            series.push((day, s));
        }
        let history: Vec<HistoryPoint> = series
            .iter()
            .map(|(d, s)| HistoryPoint {
                on: *d,
                score: Some(*s),
            })
            .collect();
        let health = PartnershipHealth {
            partnership_id: p.id.0,
            as_of: day,
            score: scored.score,
            drivers: scored.drivers,
            trend: trend(&series, day),
            history,
            warnings: cached.warnings,
            weights,
            next_review: cached.next_review,
            verdict: cached.verdict,
        };
        Ok((p, health))
    }

    /// The portfolio's health lines for `ids` (already scoped by the caller to the acting
    /// organization's partnerships), in the order given. Valid cache rows are read in batches;
    /// only stale partnerships are recomputed.
    pub async fn portfolio_health(
        &self,
        actor: &Actor,
        ids: &[PartnershipId],
    ) -> Result<Vec<PortfolioHealth>, StoreError> {
        let day = today();
        let raw: Vec<i64> = ids.iter().map(|i| i.0).collect();
        let weights = self.health_weights(actor).await?;
        let rows = self.cache_rows(&raw).await?;
        let mut fresh: HashMap<i64, Cached> = HashMap::with_capacity(raw.len());
        for id in &raw {
            if let Some(c) = rows.get(id).and_then(|r| Self::valid(r, day)) {
                fresh.insert(*id, c);
            }
        }
        drop(rows);
        for id in &raw {
            if fresh.contains_key(id) {
                continue;
            }
            let p = self.get_partnership(actor, PartnershipId(*id)).await?;
            let c = self.refresh_health(&p, day).await?;
            fresh.insert(*id, c);
        }
        let since = month_start(day, 11);
        let cut = day - chrono::Days::new(30);
        let mut hist = self.history_points(&raw, since, Some(cut)).await?;
        let mut out = Vec::with_capacity(raw.len());
        for id in &raw {
            let Some(c) = fresh.get(id) else { continue };
            let s = score(&c.drivers, &weights).score;
            let points = hist.remove(id).unwrap_or_default();
            let mut series = weighted(&points, &weights);
            series.retain(|(d, _)| *d != day);
            if let Some(s) = s {
                series.push((day, s));
            }
            let t = trend(&series, day).delta_30d;
            let mut spark: Vec<(NaiveDate, f64)> = series
                .iter()
                .filter(|(d, _)| *d >= since)
                .copied()
                .collect();
            // One per month: the latest in each.
            spark.dedup_by(|later, earlier| {
                if (later.0.year(), later.0.month()) == (earlier.0.year(), earlier.0.month()) {
                    *earlier = *later;
                    true
                } else {
                    false
                }
            });
            if spark.len() > 12 {
                spark.drain(..spark.len() - 12);
            }
            out.push(PortfolioHealth {
                partnership_id: *id,
                score: s,
                trend: t,
                sparkline: spark,
                warnings: c
                    .warnings
                    .iter()
                    .filter(|w| w.acknowledged.is_none())
                    .count(),
                next_review: c.next_review,
                verdict: c.verdict,
            });
        }
        Ok(out)
    }

    /// Recomputes every partnership whose cached health is missing or stale on `today` (for a
    /// periodic job, so the first dashboard of the day does not pay for it). Answers how many
    /// were recomputed.
    pub async fn refresh_stale_health(&self) -> Result<usize, StoreError> {
        let day = today();
        let ids: Vec<i64> = run!(&self.read, |c| {
            sqlx::query_scalar(
                "SELECT p.id FROM partnerships p LEFT JOIN health_cache c ON c.partnership_id = p.id \
                 LEFT JOIN health_marks m ON m.partnership_id = p.id \
                 WHERE c.partnership_id IS NULL OR c.computed_on <> $1 OR c.version <> COALESCE(m.version, 0) \
                 ORDER BY p.id",
            )
            .bind(day)
            .fetch_all(c)
            .await?
        });
        let op = Actor::new("health refresh");
        for id in &ids {
            let p = self.get_partnership(&op, PartnershipId(*id)).await?;
            self.refresh_health(&p, day).await?;
        }
        Ok(ids.len())
    }

    /// `(count, sum of versions)` of the health marks of `org`'s partnerships: it changes
    /// whenever any of their health inputs does, so the web layer can memoise on it (together
    /// with the day).
    pub async fn health_fingerprint(&self, org: OrgId) -> Result<(i64, i64), StoreError> {
        let (n, sum): (i64, Option<i64>) = run!(&self.read, |c| {
            sqlx::query_as(
                "SELECT COUNT(*), CAST(SUM(m.version) AS BIGINT) FROM health_marks m \
                 JOIN partnership_parties pp ON pp.partnership_id = m.partnership_id \
                 WHERE pp.organization_id = $1",
            )
            .bind(org.0)
            .fetch_one(c)
            .await?
        });
        Ok((n, sum.unwrap_or(0)))
    }

    // ----- weights --------------------------------------------------------------------------

    /// The acting organization's weights (the defaults until it sets its own; operators get the
    /// defaults).
    pub async fn health_weights(&self, actor: &Actor) -> Result<Weights, StoreError> {
        let Some(org) = actor.org_id() else {
            return Ok(Weights::default());
        };
        let row: Option<Json<Weights>> = run!(&self.read, |c| {
            sqlx::query_scalar("SELECT weights FROM health_settings WHERE organization_id = $1")
                .bind(org)
                .fetch_optional(c)
                .await?
        });
        Ok(row.map(|j| j.0).unwrap_or_default())
    }

    /// Sets the acting organization's weights (its admins and alliance managers).
    pub async fn set_health_weights(
        &self,
        actor: &Actor,
        weights: &Weights,
    ) -> Result<Weights, StoreError> {
        actor.check(Acting::require_manager)?;
        let Some(org) = actor.org_id() else {
            return Err(StoreError::Forbidden(
                "health weights belong to an organization; sign in to set them".into(),
            ));
        };
        let w = weights.validate().map_err(StoreError::Validation)?;
        let before = self.health_weights(actor).await?;
        let ts = now();
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            sqlx::query(
                "INSERT INTO health_settings (organization_id, weights, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (organization_id) DO UPDATE SET weights = excluded.weights, updated_at = excluded.updated_at",
            )
            .bind(org)
            .bind(Json(&w))
            .bind(ts)
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "set_health_weights",
                "organization",
                org,
                [org],
                Some(serde_json::to_value(&before).unwrap_or_default()),
                Some(serde_json::to_value(&w).unwrap_or_default())
            );
            tx.commit().await?;
        });
        Ok(w)
    }

    // ----- acknowledgements -----------------------------------------------------------------

    /// Acknowledges a current warning of the partnership with a note (members who may
    /// contribute). The acknowledgement is shared with every party and names who made it.
    pub async fn acknowledge_warning(
        &self,
        actor: &Actor,
        id: PartnershipId,
        key: &str,
        note: &str,
    ) -> Result<Warning, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        actor.check(Acting::require_contributor)?;
        ensure_not_archived(&p)?;
        let mut e = ValidationErrors::new();
        let note = concord_domain::text::clean(&mut e, "note", note, 1, 2000, true);
        let key = key.trim().to_string();
        if key.is_empty() {
            e.add("key", "required", "name the warning to acknowledge");
        }
        if !e.is_empty() {
            return Err(StoreError::Validation(e));
        }
        let Some(org) = actor.org_id() else {
            return Err(StoreError::Forbidden(
                "warnings are acknowledged by a member of a party".into(),
            ));
        };
        let current = self.cached_health(&p, today()).await?;
        let Some(warning) = current.warnings.into_iter().find(|w| w.key == key) else {
            return Err(StoreError::Validation(ValidationErrors::single(
                "key",
                "unknown_warning",
                "no current warning of this partnership has this key",
            )));
        };
        if warning.acknowledged.is_some() {
            return Err(already());
        }
        let by = person_name(actor);
        let ts = now();
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM warning_acks WHERE partnership_id = $1 AND warning_key = $2",
            )
            .bind(id.0)
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?;
            if exists.is_some() {
                return Err(already());
            }
            let ack_id: i64 = sqlx::query_scalar(
                "INSERT INTO warning_acks (partnership_id, warning_key, organization_id, acknowledged_by, note, acknowledged_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(id.0)
            .bind(&key)
            .bind(org)
            .bind(&by)
            .bind(&note)
            .bind(ts)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "acknowledge_warning",
                "warning_ack",
                ack_id,
                orgs.iter().copied(),
                None,
                Some(serde_json::json!({ "partnership_id": id.0, "key": key, "note": note }))
            );
            tx.commit().await?;
        });
        Ok(Warning {
            acknowledged: Some(Ack {
                by,
                organization_id: OrgId(org),
                note,
                at: ts,
            }),
            ..warning
        })
    }

    // ----- history backfill -----------------------------------------------------------------

    /// Writes history rows for past `days` (for demo data), computing each day's drivers from the
    /// figures as they stand now but judged on that day: metric values for periods ending after
    /// the day, steering meetings held after it and survey rounds opened after it are left out;
    /// risks, people and reviews are taken as they are now (approximation). Operators only.
    pub async fn backfill_health_history(
        &self,
        id: PartnershipId,
        days: &[NaiveDate],
    ) -> Result<usize, StoreError> {
        let op = Actor::new("health backfill");
        let p = self.get_partnership(&op, id).await?;
        let mut written = 0;
        for day in days {
            let (mut inp, _) = self.health_inputs(&p, *day).await?;
            // Metrics: only periods that had ended by then.
            let charter = self.effective_charter(p.id).await?;
            if let Some(c) = &charter {
                let overview = self.metrics_of(&p, &op).await?;
                inp.metrics = overview
                    .metrics
                    .iter()
                    .map(|line| {
                        let points: Vec<concord_domain::attainment::Point> = line
                            .values
                            .iter()
                            .filter(|v| v.period_end <= *day)
                            .map(|v| concord_domain::attainment::Point {
                                period_start: v.period_start,
                                period_end: v.period_end,
                                value: v.value,
                            })
                            .collect();
                        concord_domain::attainment::metric_attainment(
                            &line.metric,
                            c.path_start(),
                            &points,
                        )
                    })
                    .collect();
            }
            let opened_after: bool = run!(&self.read, |c| {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM survey_rounds WHERE partnership_id = $1 AND opened_at > $2",
                )
                .bind(p.id.0)
                .bind(day.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc())
                .fetch_one(c)
                .await?
            }) > 0;
            if opened_after {
                inp.survey = None;
            }
            let packed = pack(&driver_values(&inp));
            run!(&self.write, |c| {
                let mut tx = c.begin_with(begin_write(self.backend)).await?;
                sqlx::query(
                    "INSERT INTO health_history (partnership_id, on_date, drivers) VALUES ($1, $2, $3) \
                     ON CONFLICT (partnership_id, on_date) DO UPDATE SET drivers = excluded.drivers",
                )
                .bind(p.id.0)
                .bind(*day)
                .bind(Json(&packed))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            });
            written += 1;
        }
        Ok(written)
    }
}

fn already() -> StoreError {
    StoreError::Refused {
        field: "key".into(),
        code: "already_acknowledged",
        message: "this warning is already acknowledged".into(),
    }
}

/// On PostgreSQL, text parameters compared with DATE columns are cast to DATE.
fn pg_dates(sql: &str) -> String {
    sql.replace("on_date >= $", "on_date >= CAST($")
        .replace("on_date <= $", "on_date <= CAST($")
        .split("CAST($")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_string()
            } else {
                // `part` begins with the placeholder number.
                let n: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
                format!("CAST(${n} AS DATE){}", &part[n.len()..])
            }
        })
        .collect()
}
