//! The metric ledger: values and corrections appended to one hash chain per partnership, bulk
//! imports, the metrics overview with attainment, downloads and verification.
//!
//! Appends to one partnership are serialised by the chain's head row (`ledger_heads`): SQLite has
//! one writer anyway, and on PostgreSQL the head is locked `FOR UPDATE` first, so two concurrent
//! appends can never take the same sequence number or the same previous hash.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;

use concord_domain::account::Acting;
use concord_domain::attainment::{
    metric_attainment, rollup, CategoryWeights, MetricAttainment, Point,
};
use concord_domain::charter::{Charter, Metric};
use concord_domain::ledger::{
    canonical_time, canonical_value, check_owner, parse_values_csv, period_label, ChainVerifier,
    CheckedValue, CorrectionInput, CurrentValue, Entry, ImportContext, ImportSummary, MetricLine,
    MetricsOverview, Mismatch, ValueInput, Verification, GENESIS,
};
use concord_domain::partnership::Partnership;
use concord_domain::{PartnershipId, ValidationErrors};

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::partnerships::ensure_not_archived;
use crate::{Backend, ImportError, Store, StoreError};

/// The effective charter of a partnership, as the ledger needs it.
#[derive(Debug, Clone)]
pub struct EffectiveCharter {
    pub number: u32,
    pub content: Charter,
    pub effective_at: DateTime<Utc>,
}

impl EffectiveCharter {
    /// Where the straight path to each target begins: the charter's start, or the day it took
    /// effect.
    pub fn path_start(&self) -> NaiveDate {
        self.content
            .starts_on
            .unwrap_or_else(|| self.effective_at.date_naive())
    }

    pub fn metric(&self, id: u32) -> Option<&Metric> {
        self.content.metrics.iter().find(|m| m.id == Some(id))
    }
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    partnership_id: i64,
    seq: i64,
    metric_id: i32,
    period_start: NaiveDate,
    period_end: NaiveDate,
    value: String,
    note: String,
    source: String,
    organization_id: i64,
    reported_by: i64,
    recorded_at: String,
    supersedes: Option<i64>,
    reason: String,
    prev_hash: String,
    hash: String,
}

impl From<EntryRow> for Entry {
    fn from(r: EntryRow) -> Entry {
        Entry {
            seq: r.seq,
            partnership_id: r.partnership_id,
            metric_id: r.metric_id.max(0) as u32,
            period_start: r.period_start,
            period_end: r.period_end,
            value: r.value,
            note: r.note,
            source: r.source,
            organization_id: r.organization_id,
            reported_by: r.reported_by,
            recorded_at: r.recorded_at,
            supersedes: r.supersedes,
            reason: r.reason,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

const ENTRY_COLUMNS: &str =
    "partnership_id, seq, metric_id, period_start, period_end, value, note, \
     source, organization_id, reported_by, recorded_at, supersedes, reason, prev_hash, hash";

/// An entry as read back in a JSON array, in the order of [`ENTRY_COLUMNS`].
#[derive(serde::Deserialize)]
struct EntryJson(
    i64,
    i64,
    u32,
    NaiveDate,
    NaiveDate,
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<i64>,
    String,
    String,
    String,
);

impl From<EntryJson> for Entry {
    fn from(r: EntryJson) -> Entry {
        Entry {
            partnership_id: r.0,
            seq: r.1,
            metric_id: r.2,
            period_start: r.3,
            period_end: r.4,
            value: r.5,
            note: r.6,
            source: r.7,
            organization_id: r.8,
            reported_by: r.9,
            recorded_at: r.10,
            supersedes: r.11,
            reason: r.12,
            prev_hash: r.13,
            hash: r.14,
        }
    }
}

/// A current value as read back in the JSON array (SQLite): seq, metric, period start and end,
/// value (its canonical text, the very number that was hashed), corrected (0 or 1), note.
#[derive(serde::Deserialize)]
struct CurrentJson(i64, i32, NaiveDate, NaiveDate, String, i64, String);

/// A current value as read row by row (PostgreSQL).
#[derive(sqlx::FromRow)]
struct CurrentRow {
    seq: i64,
    metric_id: i32,
    period_start: NaiveDate,
    period_end: NaiveDate,
    value_num: f64,
    supersedes: Option<i64>,
    note: String,
}

/// The current entry of every (metric, period) — the entries no later entry supersedes — and
/// the chain's head, on SQLite in one statement and one row: the values as one JSON array
/// (handing 1,200 rows over one by one was most of the cost of the metrics page). The entries
/// that are superseded are found once (`NOT IN`, a list built from the correction index, empty
/// unless something was corrected) instead of probing the index from its root for every entry
/// (`NOT EXISTS`), and the value is the stored text, not the float, so SQLite need not format
/// 1,200 floating-point numbers.
const CURRENT_SQLITE: &str = "SELECT COALESCE((SELECT json_group_array(json_array(e.seq, e.metric_id, \
     e.period_start, e.period_end, e.value, e.supersedes IS NOT NULL, e.note)) FROM metric_entries e \
     WHERE e.partnership_id = $1 AND e.seq NOT IN (SELECT supersedes FROM metric_entries \
     WHERE partnership_id = $1 AND supersedes IS NOT NULL)), '[]'), \
     (SELECT seq FROM ledger_heads WHERE partnership_id = $1), \
     (SELECT hash FROM ledger_heads WHERE partnership_id = $1)";

/// The same on PostgreSQL, row by row: its wire protocol hands rows over cheaply, and building
/// the JSON array cost PostgreSQL more than it saved (measured: the metrics API at 32 clients
/// 427 requests/s with rows, 383 with `json_agg`).
const CURRENT_POSTGRES: &str = "SELECT e.seq, e.metric_id, e.period_start, e.period_end, e.value_num, \
     e.supersedes, e.note FROM metric_entries e WHERE e.partnership_id = $1 AND NOT EXISTS \
     (SELECT 1 FROM metric_entries c WHERE c.partnership_id = e.partnership_id AND c.supersedes = e.seq) \
     ORDER BY e.metric_id, e.period_start";

/// Rows per multi-row INSERT (16 parameters each; SQLite allows 32,766 per statement, PostgreSQL
/// 65,535).
const INSERT_CHUNK: usize = 1000;

fn reporter(actor: &Actor) -> Result<&Acting, StoreError> {
    let a = actor.acting.as_ref().ok_or_else(|| {
        StoreError::Forbidden(
            "values are reported by a person acting for the owning party; sign in to report".into(),
        )
    })?;
    actor.check(Acting::require_contributor)?;
    Ok(a)
}

/// The metric must be the acting organization's; the refusal names the owning party.
fn owned_by(p: &Partnership, metric: &Metric, acting: &Acting) -> Result<(), StoreError> {
    check_owner(metric, acting.org_id).map_err(|_| {
        let owner = p
            .parties
            .iter()
            .find(|x| x.organization_id == metric.owner)
            .map(|x| x.organization_name.clone())
            .unwrap_or_else(|| format!("organization {}", metric.owner));
        StoreError::Validation(ValidationErrors::single(
            "metric_id",
            "not_owner",
            format!(
                "\"{}\" is reported by {owner}; only its members report values for it",
                metric.name
            ),
        ))
    })
}

fn no_charter() -> StoreError {
    StoreError::Refused {
        field: "metric_id".into(),
        code: "no_effective_charter",
        message: "the partnership has no effective charter yet; its metrics are defined there"
            .into(),
    }
}

impl Store {
    /// The effective charter's number, content and effective time, without the rest of the
    /// charter history.
    pub async fn effective_charter(
        &self,
        id: PartnershipId,
    ) -> Result<Option<EffectiveCharter>, StoreError> {
        let row: Option<(i32, Json<Charter>, Option<DateTime<Utc>>)> = run!(&self.read, |c| {
            sqlx::query_as(
                "SELECT number, content, effective_at FROM charter_versions \
                 WHERE partnership_id = $1 AND status = 'effective'",
            )
            .bind(id.0)
            .fetch_optional(c)
            .await?
        });
        Ok(row.map(|(number, content, at)| EffectiveCharter {
            number: number.max(0) as u32,
            content: content.0,
            effective_at: at.unwrap_or_else(Utc::now),
        }))
    }

    /// The metrics of the effective charter with their current values, attainment on `today`'s
    /// data and the roll-up by category.
    pub async fn metrics_overview(
        &self,
        actor: &Actor,
        id: PartnershipId,
    ) -> Result<(Partnership, MetricsOverview), StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let overview = self.metrics_of(&p, actor).await?;
        Ok((p, overview))
    }

    /// [`Store::metrics_overview`] for a partnership already read through a scoped method.
    pub async fn metrics_of(
        &self,
        p: &Partnership,
        actor: &Actor,
    ) -> Result<MetricsOverview, StoreError> {
        let charter = self.effective_charter(p.id).await?;
        // (seq, metric, period start, period end, value, corrected, note), by metric and period.
        type Current = (i64, i32, NaiveDate, NaiveDate, f64, bool, String);
        let (mut rows, head): (Vec<Current>, Option<(i64, String)>) = match self.backend {
            Backend::Sqlite => {
                let (json, head_seq, head_hash): (String, Option<i64>, Option<String>) =
                    run!(&self.read, |c| {
                        sqlx::query_as(CURRENT_SQLITE)
                            .bind(p.id.0)
                            .fetch_one(c)
                            .await?
                    });
                let rows: Vec<CurrentJson> = serde_json::from_str(&json).map_err(|e| {
                    StoreError::Corrupt(format!("partnership {}: current values: {e}", p.id))
                })?;
                let rows = rows
                    .into_iter()
                    .map(
                        |CurrentJson(seq, metric, start, end, value, corrected, note)| {
                            let value = value.parse().unwrap_or(f64::NAN);
                            (seq, metric, start, end, value, corrected != 0, note)
                        },
                    )
                    .collect();
                (rows, head_seq.zip(head_hash))
            }
            Backend::Postgres => run!(&self.read, |c| {
                let rows: Vec<CurrentRow> = sqlx::query_as(CURRENT_POSTGRES)
                    .bind(p.id.0)
                    .fetch_all(c)
                    .await?;
                let head =
                    sqlx::query_as("SELECT seq, hash FROM ledger_heads WHERE partnership_id = $1")
                        .bind(p.id.0)
                        .fetch_optional(c)
                        .await?;
                let rows = rows
                    .into_iter()
                    .map(|r| {
                        let corrected = r.supersedes.is_some();
                        (
                            r.seq,
                            r.metric_id,
                            r.period_start,
                            r.period_end,
                            r.value_num,
                            corrected,
                            r.note,
                        )
                    })
                    .collect();
                (rows, head)
            }),
        };
        rows.sort_unstable_by_key(|r| (r.1, r.2));
        let mut by_metric: HashMap<u32, Vec<CurrentValue>> = HashMap::new();
        for (seq, metric_id, period_start, period_end, value, corrected, note) in rows {
            by_metric
                .entry(metric_id.max(0) as u32)
                .or_default()
                .push(CurrentValue {
                    seq,
                    period_start,
                    period_end,
                    value,
                    corrected,
                    note,
                });
        }
        // Reportable: the acting organization owns the metric and the person may write.
        let org = actor
            .acting
            .as_ref()
            .filter(|a| a.require_contributor().is_ok())
            .map(|a| a.org_id.0);
        let start = charter.as_ref().map(|c| c.path_start());
        let mut lines = Vec::new();
        if let Some(c) = &charter {
            for m in &c.content.metrics {
                let values = by_metric.remove(&m.id.unwrap_or(0)).unwrap_or_default();
                let points: Vec<Point> = values
                    .iter()
                    .map(|v| Point {
                        period_start: v.period_start,
                        period_end: v.period_end,
                        value: v.value,
                    })
                    .collect();
                lines.push(MetricLine {
                    attainment: metric_attainment(m, c.path_start(), &points),
                    metric: m.clone(),
                    values,
                    reportable: org == Some(m.owner.0),
                });
            }
        }
        let atts: Vec<MetricAttainment> = lines.iter().map(|l| l.attainment.clone()).collect();
        let (entries, head) = match head {
            Some((seq, hash)) if seq > 0 => (seq, Some(hash)),
            _ => (0, None),
        };
        Ok(MetricsOverview {
            partnership_id: p.id.0,
            charter_version: charter.as_ref().map(|c| c.number),
            path_start: start,
            rollup: rollup(&atts, &CategoryWeights::default()),
            metrics: lines,
            entries,
            head,
        })
    }

    /// Every entry of the ledger in chain order, optionally of one metric (corrections and the
    /// entries they supersede included).
    pub async fn ledger_entries(
        &self,
        actor: &Actor,
        id: PartnershipId,
        metric: Option<u32>,
    ) -> Result<Vec<Entry>, StoreError> {
        self.get_partnership(actor, id).await?;
        let rows: Vec<EntryRow> = run!(&self.read, |c| {
            match metric {
                Some(m) => sqlx::query_as(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM metric_entries WHERE partnership_id = $1 AND metric_id = $2 ORDER BY seq"
                ))
                .bind(id.0)
                .bind(m as i32)
                .fetch_all(c)
                .await?,
                None => sqlx::query_as(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM metric_entries WHERE partnership_id = $1 ORDER BY seq"
                ))
                .bind(id.0)
                .fetch_all(c)
                .await?,
            }
        });
        Ok(rows.into_iter().map(Entry::from).collect())
    }

    /// One entry.
    pub async fn ledger_entry(
        &self,
        actor: &Actor,
        id: PartnershipId,
        seq: i64,
    ) -> Result<Entry, StoreError> {
        self.get_partnership(actor, id).await?;
        self.entry_unscoped(id, seq).await
    }

    async fn entry_unscoped(&self, id: PartnershipId, seq: i64) -> Result<Entry, StoreError> {
        let row: Option<EntryRow> = run!(&self.read, |c| {
            sqlx::query_as(&format!(
                "SELECT {ENTRY_COLUMNS} FROM metric_entries WHERE partnership_id = $1 AND seq = $2"
            ))
            .bind(id.0)
            .bind(seq)
            .fetch_optional(c)
            .await?
        });
        row.map(Entry::from).ok_or(StoreError::NotFound {
            entity: "ledger entry",
        })
    }

    /// Reports the value of `metric` for a period. The actor's organization must own the metric;
    /// a period that already has a value needs a correction instead.
    pub async fn report_value(
        &self,
        actor: &Actor,
        id: PartnershipId,
        metric_id: u32,
        input: &ValueInput,
        today: NaiveDate,
    ) -> Result<Entry, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let acting = reporter(actor)?;
        ensure_not_archived(&p)?;
        let charter = self.effective_charter(id).await?.ok_or_else(no_charter)?;
        let metric = charter
            .metric(metric_id)
            .ok_or(StoreError::NotFound { entity: "metric" })?;
        owned_by(&p, metric, acting)?;
        let checked = input
            .validate(metric, today)
            .map_err(StoreError::Validation)?;
        let label = period_label(metric.cadence, checked.period_start);
        let out = self
            .append(actor, &p, vec![Pending::value(checked)], Some(label))
            .await?;
        Ok(out.first)
    }

    /// Corrects entry `seq` with a new value and a reason. Only the current entry of a period can
    /// be corrected (a correction of a correction continues the line).
    pub async fn correct_entry(
        &self,
        actor: &Actor,
        id: PartnershipId,
        seq: i64,
        input: &CorrectionInput,
    ) -> Result<Entry, StoreError> {
        let p = self.get_partnership(actor, id).await?;
        let acting = reporter(actor)?;
        ensure_not_archived(&p)?;
        let target = self.entry_unscoped(id, seq).await?;
        let charter = self.effective_charter(id).await?.ok_or_else(no_charter)?;
        let metric = charter.metric(target.metric_id).ok_or_else(|| {
            StoreError::Validation(ValidationErrors::single(
                "metric_id",
                "not_in_charter",
                format!(
                    "metric {} is not in the effective charter any more; its entries cannot be corrected",
                    target.metric_id
                ),
            ))
        })?;
        owned_by(&p, metric, acting)?;
        let (value, reason, note, source) = input.validate().map_err(StoreError::Validation)?;
        let pending = Pending {
            value: CheckedValue {
                metric_id: target.metric_id,
                period_start: target.period_start,
                period_end: target.period_end,
                value,
                note,
                source,
            },
            supersedes: Some(seq),
            reason,
        };
        let out = self.append(actor, &p, vec![pending], None).await?;
        Ok(out.first)
    }

    /// Imports values from a CSV (`metric,period,value[,note][,source]`) as the actor's
    /// organization: the whole file is checked first; any bad row rejects it, with every problem
    /// named by line and column, and nothing is written.
    pub async fn import_values(
        &self,
        actor: &Actor,
        id: PartnershipId,
        csv: &[u8],
        today: NaiveDate,
    ) -> Result<ImportSummary, ImportError> {
        let p = self.get_partnership(actor, id).await?;
        let acting = reporter(actor)?;
        ensure_not_archived(&p)?;
        let charter = self.effective_charter(id).await?.ok_or_else(no_charter)?;
        let existing: Vec<(i32, NaiveDate)> = run!(&self.read, |c| {
            sqlx::query_as(
            "SELECT metric_id, period_start FROM metric_entries WHERE partnership_id = $1 AND supersedes IS NULL"
        )
        .bind(id.0)
        .fetch_all(c)
        .await
        .map_err(StoreError::from)?
        });
        let existing: HashSet<(u32, NaiveDate)> = existing
            .into_iter()
            .map(|(m, d)| (m.max(0) as u32, d))
            .collect();
        let ctx = ImportContext {
            metrics: &charter.content.metrics,
            reporter: acting.org_id,
            today,
            existing: &existing,
        };
        let rows = parse_values_csv(csv, &ctx).map_err(ImportError::Rows)?;
        let pending: Vec<Pending> = rows.into_iter().map(Pending::value).collect();
        let out = self.append(actor, &p, pending, None).await?;
        Ok(ImportSummary {
            imported: out.count,
            first_seq: out.first.seq,
            last_seq: out.last_seq,
            head: out.head,
        })
    }

    /// Appends entries to the partnership's chain in one transaction: lock the head, chain,
    /// insert, move the head, audit.
    ///
    /// The common case costs as few statements as possible on the one write connection: the
    /// head row is read (and locked) first and only created when the chain is new; a single
    /// value is inserted with `ON CONFLICT DO NOTHING` and the entry that holds its period (or
    /// the correction that got there first) is looked up only when nothing was inserted.
    /// Entries are sealed and inserted [`INSERT_CHUNK`] at a time, so an import of 100,000 rows
    /// never holds more than one chunk of sealed entries in memory.
    async fn append(
        &self,
        actor: &Actor,
        p: &Partnership,
        pending: Vec<Pending>,
        label: Option<String>,
    ) -> Result<Appended, StoreError> {
        let id = p.id;
        let orgs: Vec<i64> = p.parties.iter().map(|x| x.organization_id.0).collect();
        let acting = reporter(actor)?;
        let recorded_at = canonical_time(crate::now());
        let head_sql = match self.backend {
            Backend::Postgres => {
                "SELECT seq, hash FROM ledger_heads WHERE partnership_id = $1 FOR UPDATE"
            }
            Backend::Sqlite => "SELECT seq, hash FROM ledger_heads WHERE partnership_id = $1",
        };
        let count = pending.len();
        let single = count == 1;
        // For a single value: what a refusal says, and how to find the entry in the way.
        let conflict = pending
            .first()
            .filter(|_| single)
            .map(|v| (v.value.metric_id, v.value.period_start, v.supersedes));
        run!(&self.write, |c| {
            let mut tx = c.begin_with(begin_write(self.backend)).await?;
            let mut head: Option<(i64, String)> = sqlx::query_as(head_sql)
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
            if head.is_none() {
                // The chain's first append (a concurrent first append on PostgreSQL waits here
                // for the other's row and then locks it below).
                sqlx::query(
                    "INSERT INTO ledger_heads (partnership_id, seq, hash) VALUES ($1, 0, $2) \
                     ON CONFLICT (partnership_id) DO NOTHING",
                )
                .bind(id.0)
                .bind(GENESIS)
                .execute(&mut *tx)
                .await?;
                head = Some(
                    sqlx::query_as(head_sql)
                        .bind(id.0)
                        .fetch_one(&mut *tx)
                        .await?,
                );
            }
            let (mut seq, mut prev) = head.unwrap_or((0, GENESIS.to_string()));
            let mut first: Option<Entry> = None;
            let mut pending = pending.into_iter().peekable();
            while pending.peek().is_some() {
                let chunk: Vec<Entry> = pending
                    .by_ref()
                    .take(INSERT_CHUNK)
                    .map(|v| {
                        seq += 1;
                        let e = Entry {
                            seq,
                            partnership_id: id.0,
                            metric_id: v.value.metric_id,
                            period_start: v.value.period_start,
                            period_end: v.value.period_end,
                            value: canonical_value(v.value.value),
                            note: v.value.note,
                            source: v.value.source,
                            organization_id: acting.org_id.0,
                            reported_by: acting.user_id.0,
                            recorded_at: recorded_at.clone(),
                            supersedes: v.supersedes,
                            reason: v.reason,
                            prev_hash: String::new(),
                            hash: String::new(),
                        }
                        .seal(&prev);
                        prev.clone_from(&e.hash);
                        e
                    })
                    .collect();
                let mut sql =
                    format!("INSERT INTO metric_entries ({ENTRY_COLUMNS}, value_num) VALUES ");
                for i in 0..chunk.len() {
                    let b = i * 16;
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push('(');
                    for k in 1..=16 {
                        if k > 1 {
                            sql.push(',');
                        }
                        // SQLite looks each `$N` up by name among those already seen (a linear
                        // scan, so 16,000 of them made one statement quadratic: 10,000 rows took
                        // ten times longer than on PostgreSQL); plain `?` is positional.
                        if self.backend == Backend::Sqlite {
                            sql.push('?');
                        } else {
                            sql.push('$');
                            sql.push_str(&(b + k).to_string());
                        }
                    }
                    sql.push(')');
                }
                if single {
                    // A period already taken (or an entry already corrected) inserts nothing;
                    // the refusal below names the entry in the way.
                    sql.push_str(" ON CONFLICT DO NOTHING");
                }
                let mut q = sqlx::query(&sql);
                for e in &chunk {
                    q = q
                        .bind(e.partnership_id)
                        .bind(e.seq)
                        .bind(e.metric_id as i32)
                        .bind(e.period_start)
                        .bind(e.period_end)
                        .bind(e.value.as_str())
                        .bind(e.note.as_str())
                        .bind(e.source.as_str())
                        .bind(e.organization_id)
                        .bind(e.reported_by)
                        .bind(e.recorded_at.as_str())
                        .bind(e.supersedes)
                        .bind(e.reason.as_str())
                        .bind(e.prev_hash.as_str())
                        .bind(e.hash.as_str())
                        .bind(e.number());
                }
                let inserted = q
                    .execute(&mut *tx)
                    .await
                    .map_err(duplicate)?
                    .rows_affected();
                if let (0, Some((metric_id, period_start, supersedes))) = (inserted, conflict) {
                    let taken: Option<i64> = match supersedes {
                        None => sqlx::query_scalar(
                            "SELECT seq FROM metric_entries WHERE partnership_id = $1 AND metric_id = $2 \
                             AND period_start = $3 AND supersedes IS NULL",
                        )
                        .bind(id.0)
                        .bind(metric_id as i32)
                        .bind(period_start)
                        .fetch_optional(&mut *tx)
                        .await?,
                        Some(s) => sqlx::query_scalar(
                            "SELECT seq FROM metric_entries WHERE partnership_id = $1 AND supersedes = $2",
                        )
                        .bind(id.0)
                        .bind(s)
                        .fetch_optional(&mut *tx)
                        .await?,
                    };
                    let taken = taken.map(|t| t.to_string()).unwrap_or_else(|| "?".into());
                    return Err(match supersedes {
                        None => StoreError::Refused {
                            field: "period_start".into(),
                            code: "duplicate_period",
                            message: format!(
                                "metric {metric_id} already has a value for {} (entry {taken}); send a correction of entry {taken} instead",
                                label.as_deref().unwrap_or("this period")
                            ),
                        },
                        Some(s) => StoreError::Refused {
                            field: "seq".into(),
                            code: "already_corrected",
                            message: format!(
                                "entry {s} was already corrected by entry {taken}; correct entry {taken} instead"
                            ),
                        },
                    });
                }
                if first.is_none() {
                    first = chunk.into_iter().next();
                }
            }
            let Some(first) = first else {
                return Err(StoreError::Corrupt("nothing to append".into()));
            };
            sqlx::query("UPDATE ledger_heads SET seq = $2, hash = $3 WHERE partnership_id = $1")
                .bind(id.0)
                .bind(seq)
                .bind(prev.as_str())
                .execute(&mut *tx)
                .await?;
            if single {
                audit!(
                    &mut *tx,
                    actor,
                    if first.supersedes.is_some() {
                        "correct_value"
                    } else {
                        "report_value"
                    },
                    "metric_entry",
                    format!("{}/{}", id.0, first.seq),
                    orgs.iter().copied(),
                    None,
                    Some(serde_json::to_value(&first).unwrap_or_default())
                );
            } else {
                audit!(
                    &mut *tx,
                    actor,
                    "import_values",
                    "metric_entry",
                    format!("{}/{}-{seq}", id.0, first.seq),
                    orgs.iter().copied(),
                    None,
                    Some(serde_json::json!({
                        "rows": count, "first_seq": first.seq, "last_seq": seq, "head": prev
                    }))
                );
            }
            tx.commit().await?;
            self.ledger_appends
                .fetch_add(count as u64, std::sync::atomic::Ordering::Relaxed);
            Ok(Appended {
                first,
                last_seq: seq,
                head: prev,
                count,
            })
        })
    }

    /// Recomputes the partnership's chain, 10,000 entries at a time, and checks that the head
    /// row names the last entry (so a truncated chain is found too).
    pub async fn verify_ledger(
        &self,
        actor: &Actor,
        id: PartnershipId,
    ) -> Result<Verification, StoreError> {
        self.get_partnership(actor, id).await?;
        self.verify_ledger_unscoped(id).await
    }

    /// [`Store::verify_ledger`] for the operator (`concord verify`).
    pub async fn verify_ledger_unscoped(
        &self,
        id: PartnershipId,
    ) -> Result<Verification, StoreError> {
        const PAGE: i64 = 10_000;
        let mut v = ChainVerifier::default();
        let page_sql = match self.backend {
            Backend::Sqlite => Some(
                "SELECT COALESCE(json_group_array(json_array(partnership_id, seq, metric_id, period_start, \
                 period_end, value, note, source, organization_id, reported_by, recorded_at, supersedes, reason, \
                 prev_hash, hash)), '[]') FROM (SELECT * FROM metric_entries WHERE partnership_id = $1 \
                 AND seq > $2 ORDER BY seq LIMIT $3)",
            ),
            Backend::Postgres => None,
        };
        // Entries and head are read in one read transaction — a repeatable-read snapshot on
        // PostgreSQL, one WAL snapshot on SQLite — so a value appended while the chain is walked
        // is seen whole (entry and head) or not at all, never as a head the walk did not reach
        // (which was reported as tampering).
        let head: Option<(i64, String)> = run!(&self.read, |c| {
            let mut tx = c.begin().await?;
            if self.backend == Backend::Postgres {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
            }
            let mut after = 0i64;
            loop {
                // On SQLite a page of entries comes back as one JSON array (one row instead of
                // 10,000 to decode: 0.96 s to 0.32 s for 100,000 entries); PostgreSQL hands rows
                // over cheaply and building the JSON there was slower (0.26 s to 0.57 s).
                let entries: Vec<Entry> = match page_sql {
                    Some(sql) => {
                        let page: String = sqlx::query_scalar(sql)
                            .bind(id.0)
                            .bind(after)
                            .bind(PAGE)
                            .fetch_one(&mut *tx)
                            .await?;
                        let mut rows: Vec<EntryJson> =
                            serde_json::from_str(&page).map_err(|e| {
                                StoreError::Corrupt(format!("ledger of partnership {id}: {e}"))
                            })?;
                        rows.sort_unstable_by_key(|r| r.1);
                        rows.into_iter().map(Entry::from).collect()
                    }
                    None => {
                        let rows: Vec<EntryRow> = sqlx::query_as(&format!(
                            "SELECT {ENTRY_COLUMNS} FROM metric_entries WHERE partnership_id = $1 \
                             AND seq > $2 ORDER BY seq LIMIT $3"
                        ))
                        .bind(id.0)
                        .bind(after)
                        .bind(PAGE)
                        .fetch_all(&mut *tx)
                        .await?;
                        rows.into_iter().map(Entry::from).collect()
                    }
                };
                let n = entries.len() as i64;
                for e in entries {
                    after = e.seq;
                    v.push(&e);
                }
                if n < PAGE {
                    break;
                }
            }
            let head =
                sqlx::query_as("SELECT seq, hash FROM ledger_heads WHERE partnership_id = $1")
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            tx.commit().await?;
            head
        });
        let mut out = v.finish();
        let (head_seq, head_hash) = match head {
            Some((seq, hash)) if seq > 0 => (seq, Some(hash)),
            _ => (0, None),
        };
        if out.valid && (head_seq != out.entries as i64 || head_hash != out.head) {
            out.valid = false;
            out.first_mismatch = Some(Mismatch {
                seq: head_seq,
                code: "head_mismatch".into(),
                message: format!(
                    "the chain's recorded head is entry {head_seq}, but the ledger ends at entry {}",
                    out.entries
                ),
                expected: head_hash.unwrap_or_default(),
                found: out.head.clone().unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// Every partnership that has a ledger, for `concord verify`.
    pub async fn ledger_partnerships(&self) -> Result<Vec<PartnershipId>, StoreError> {
        let ids: Vec<i64> = run!(&self.read, |c| {
            sqlx::query_scalar(
                "SELECT partnership_id FROM ledger_heads WHERE seq > 0 ORDER BY partnership_id",
            )
            .fetch_all(c)
            .await?
        });
        Ok(ids.into_iter().map(PartnershipId).collect())
    }
}

/// What [`Store::append`] wrote: the first entry (the only one for a value or a correction),
/// the last sequence number and hash, and how many entries.
struct Appended {
    first: Entry,
    last_seq: i64,
    head: String,
    count: usize,
}

/// A value waiting to be chained.
struct Pending {
    value: CheckedValue,
    supersedes: Option<i64>,
    reason: String,
}

impl Pending {
    fn value(value: CheckedValue) -> Pending {
        Pending {
            value,
            supersedes: None,
            reason: String::new(),
        }
    }
}

/// A unique violation while inserting entries: a period taken or an entry corrected by a
/// concurrent writer between the check and the insert.
fn duplicate(e: sqlx::Error) -> StoreError {
    let is_unique = e
        .as_database_error()
        .map(|d| d.is_unique_violation())
        .unwrap_or(false);
    if is_unique {
        StoreError::Refused {
            field: "period_start".into(),
            code: "duplicate_period",
            message: "a value for this period was recorded at the same moment; reload and send a correction instead".into(),
        }
    } else {
        StoreError::from(e)
    }
}
