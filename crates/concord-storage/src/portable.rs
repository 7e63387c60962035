//! The portable export and import (`concord export all`, `concord import all`): every row of every
//! table as JSON lines, the same whichever database wrote them, so an installation moves from
//! SQLite to PostgreSQL and back with nothing lost.
//!
//! # The format
//!
//! Line 1 is a header, `{"concord_export":1,"schema":9,"backend":"sqlite","exported_at":"…"}`
//! (`schema` is the latest migration the database had). Every other line is one row,
//! `{"table":"partnerships","row":{"id":1,…}}`, with every column of the row. Tables come in
//! foreign-key order (after every table they reference), rows by primary key (by every column
//! when a table has none; text keys in byte order on both databases).
//!
//! Values take the form the application writes on SQLite, whichever database is read: integers
//! and floats as JSON numbers, booleans as 0 or 1, timestamps as RFC 3339 text with a `+00:00`
//! offset and as many fraction digits as needed (what sqlx writes for a `DateTime<Utc>`), dates as
//! `YYYY-MM-DD`, JSON documents as their compact text, NULL as `null`. PostgreSQL values are
//! converted by their type; an import into PostgreSQL casts each text to the column's type with
//! the session in UTC.
//!
//! # Derived caches
//!
//! `health_marks` and `health_cache` ([`DERIVED`]) are not exported: they are derived from the
//! other rows and kept by triggers (migration 0009). An import re-creates the marks through those
//! same triggers as it inserts the rows, and leaves the cache empty, so each partnership's health
//! is recomputed on its first read.
//!
//! # Import
//!
//! Only into a freshly migrated database (the catalogue rows that migrating seeds are replaced),
//! in one transaction, all or nothing. A bad line is reported with its number, table and column.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::postgres::{PgArguments, PgConnection, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow};
use sqlx::{Postgres, Row, Sqlite, TypeInfo, ValueRef};

use crate::dialect::begin_write;
use crate::{Backend, Store, StoreError};

/// How every portable export starts.
pub const MAGIC: &[u8] = b"{\"concord_export\"";

/// The version of the export format (the header's `concord_export`).
pub const FORMAT: i64 = 1;

/// Tables derived from the others and kept by triggers: not exported, rebuilt by an import.
pub const DERIVED: &[&str] = &["health_cache", "health_marks"];

/// Tables that migrating fills in a fresh database (the shipped capability catalogue): an import
/// replaces their rows with the file's.
const SEEDED: &[&str] = &["capabilities"];

/// Rows written or read per table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: String,
    pub rows: u64,
}

/// Why an export or an import failed.
#[derive(Debug, thiserror::Error)]
pub enum PortableError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The target of an import already holds records.
    #[error(
        "the database is not empty (table {table} has rows): import into a new database \
         (for SQLite a new file; for PostgreSQL `createdb`), which concord migrates first"
    )]
    NotEmpty { table: String },
    /// The first line is not a header this version reads.
    #[error("line 1: {0}")]
    Header(String),
    /// A row that cannot be imported.
    #[error("line {line}{}{}: {message}", table.as_deref().map(|t| format!(", table {t}")).unwrap_or_default(), column.as_deref().map(|c| format!(", column {c}")).unwrap_or_default())]
    Line {
        line: u64,
        table: Option<String>,
        column: Option<String>,
        message: String,
    },
}

impl From<sqlx::Error> for PortableError {
    fn from(e: sqlx::Error) -> Self {
        PortableError::Store(e.into())
    }
}

/// One table of the catalog.
#[derive(Debug, Clone)]
struct Table {
    name: String,
    /// Columns in their order, with the declared type (SQLite) or type name (PostgreSQL).
    columns: Vec<(String, String)>,
    /// Primary-key columns, in key order (empty: no primary key).
    key: Vec<String>,
    /// Other tables this one references.
    refs: BTreeSet<String>,
    /// Columns referencing this same table.
    self_refs: Vec<String>,
}

/// Double-quotes an identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Orders tables so each comes after every table it references; ties alphabetically, so both
/// databases give the same order.
fn fk_order(tables: Vec<Table>) -> Result<Vec<Table>, StoreError> {
    let mut left: BTreeMap<String, Table> =
        tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready = left
            .values()
            .find(|t| t.refs.iter().all(|r| !left.contains_key(r)))
            .map(|t| t.name.clone())
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "foreign keys form a cycle among {}",
                    left.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?;
        out.extend(left.remove(&ready));
    }
    Ok(out)
}

fn table(
    name: String,
    columns: Vec<(String, String)>,
    key: Vec<String>,
    fks: Vec<(String, String)>,
) -> Table {
    let mut refs = BTreeSet::new();
    let mut self_refs = Vec::new();
    for (to, from) in fks {
        if to == name {
            self_refs.push(from);
        } else {
            refs.insert(to);
        }
    }
    Table {
        name,
        columns,
        key,
        refs,
        self_refs,
    }
}

/// What differs between the databases in reading the catalog and converting values.
trait Catalog {
    /// Every table but the migrations' bookkeeping, in foreign-key order.
    async fn catalog(&mut self) -> Result<Vec<Table>, StoreError>;
    /// The latest migration applied.
    async fn schema_version(&mut self) -> Result<i64, StoreError>;
}

impl Catalog for SqliteConnection {
    async fn catalog(&mut self) -> Result<Vec<Table>, StoreError> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' \
             ESCAPE '!' AND name <> '_sqlx_migrations' ORDER BY name",
        )
        .fetch_all(&mut *self)
        .await?;
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            let cols: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT name, upper(type), pk FROM pragma_table_info($1) ORDER BY cid",
            )
            .bind(&name)
            .fetch_all(&mut *self)
            .await?;
            let mut key: Vec<(i64, String)> = cols
                .iter()
                .filter(|c| c.2 > 0)
                .map(|c| (c.2, c.0.clone()))
                .collect();
            key.sort();
            let fks: Vec<(String, String)> =
                sqlx::query_as("SELECT \"table\", \"from\" FROM pragma_foreign_key_list($1)")
                    .bind(&name)
                    .fetch_all(&mut *self)
                    .await?;
            tables.push(table(
                name,
                cols.into_iter().map(|c| (c.0, c.1)).collect(),
                key.into_iter().map(|k| k.1).collect(),
                fks,
            ));
        }
        fk_order(tables)
    }

    async fn schema_version(&mut self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
                .fetch_one(&mut *self)
                .await?,
        )
    }
}

impl Catalog for PgConnection {
    async fn catalog(&mut self) -> Result<Vec<Table>, StoreError> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT relname::text FROM pg_class WHERE relnamespace = current_schema()::regnamespace \
             AND relkind IN ('r', 'p') AND relname <> '_sqlx_migrations' ORDER BY 1",
        )
        .fetch_all(&mut *self)
        .await?;
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            let columns: Vec<(String, String)> = sqlx::query_as(
                "SELECT a.attname::text, t.typname::text FROM pg_attribute a \
                 JOIN pg_type t ON t.oid = a.atttypid \
                 WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped \
                 ORDER BY a.attnum",
            )
            .bind(&name)
            .fetch_all(&mut *self)
            .await?;
            let key: Vec<String> = sqlx::query_scalar(
                "SELECT a.attname::text FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                 WHERE i.indrelid = $1::regclass AND i.indisprimary \
                 ORDER BY array_position(i.indkey::int2[], a.attnum)",
            )
            .bind(&name)
            .fetch_all(&mut *self)
            .await?;
            let fks: Vec<(String, String)> = sqlx::query_as(
                "SELECT f.relname::text, a.attname::text FROM pg_constraint k \
                 JOIN pg_class f ON f.oid = k.confrelid \
                 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
                 WHERE k.contype = 'f' AND k.conrelid = $1::regclass",
            )
            .bind(&name)
            .fetch_all(&mut *self)
            .await?;
            tables.push(table(name, columns, key, fks));
        }
        fk_order(tables)
    }

    async fn schema_version(&mut self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
                .fetch_one(&mut *self)
                .await?,
        )
    }
}

/// A row's value in the portable form.
trait PortableRow {
    fn portable(&self, i: usize) -> Result<Value, String>;
}

fn number(f: f64) -> Result<Value, String> {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| format!("{f} is not a finite number"))
}

/// A timestamp as sqlx writes a `DateTime<Utc>` on SQLite.
fn timestamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

impl PortableRow for SqliteRow {
    fn portable(&self, i: usize) -> Result<Value, String> {
        let raw = self.try_get_raw(i).map_err(|e| e.to_string())?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        let ty = raw.type_info().name().to_string();
        let e = |e: sqlx::Error| e.to_string();
        match ty.as_str() {
            "INTEGER" => Ok(self.try_get_unchecked::<i64, _>(i).map_err(e)?.into()),
            "REAL" => number(self.try_get_unchecked::<f64, _>(i).map_err(e)?),
            "TEXT" => Ok(Value::String(
                self.try_get_unchecked::<String, _>(i).map_err(e)?,
            )),
            other => Err(format!("a {other} value has no portable form")),
        }
    }
}

impl PortableRow for PgRow {
    fn portable(&self, i: usize) -> Result<Value, String> {
        let raw = self.try_get_raw(i).map_err(|e| e.to_string())?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        let ty = raw.type_info().name().to_string();
        let e = |e: sqlx::Error| e.to_string();
        Ok(match ty.as_str() {
            "INT2" => self.try_get::<i16, _>(i).map_err(e)?.into(),
            "INT4" => self.try_get::<i32, _>(i).map_err(e)?.into(),
            "INT8" => self.try_get::<i64, _>(i).map_err(e)?.into(),
            "FLOAT4" => number(self.try_get::<f32, _>(i).map_err(e)?.into())?,
            "FLOAT8" => number(self.try_get::<f64, _>(i).map_err(e)?)?,
            "BOOL" => i64::from(self.try_get::<bool, _>(i).map_err(e)?).into(),
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => {
                Value::String(self.try_get::<String, _>(i).map_err(e)?)
            }
            "TIMESTAMPTZ" => Value::String(timestamp_text(
                self.try_get::<DateTime<Utc>, _>(i).map_err(e)?,
            )),
            "DATE" => Value::String(
                self.try_get::<NaiveDate, _>(i)
                    .map_err(e)?
                    .format("%F")
                    .to_string(),
            ),
            "JSON" | "JSONB" => Value::String(self.try_get::<Value, _>(i).map_err(e)?.to_string()),
            other => return Err(format!("a {other} value has no portable form")),
        })
    }
}

/// Binds a portable value: natively on SQLite, as text cast by the statement on PostgreSQL.
trait BindPortable<'q> {
    fn bind_portable(self, v: &'q Value) -> Self;
}

impl<'q> BindPortable<'q> for Query<'q, Sqlite, SqliteArguments<'q>> {
    fn bind_portable(self, v: &'q Value) -> Self {
        match v {
            Value::Null => self.bind(None::<String>),
            Value::Bool(b) => self.bind(i64::from(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => self.bind(i),
                None => self.bind(n.as_f64()),
            },
            Value::String(s) => self.bind(s.as_str()),
            other => self.bind(other.to_string()),
        }
    }
}

impl<'q> BindPortable<'q> for Query<'q, Postgres, PgArguments> {
    fn bind_portable(self, v: &'q Value) -> Self {
        match v {
            Value::Null => self.bind(None::<String>),
            Value::String(s) => self.bind(s.as_str()),
            other => self.bind(other.to_string()),
        }
    }
}

/// Checks a value fits its column, so a bad one is reported with the column's name (the database
/// would only name the statement). `ty` is the declared type (SQLite) or type name (PostgreSQL).
fn check_value(ty: &str, v: &Value) -> Result<(), String> {
    let ty = ty.to_ascii_lowercase();
    match (ty.as_str(), v) {
        (_, Value::Null) => Ok(()),
        ("integer" | "int2" | "int4" | "int8" | "bigint", Value::Number(n)) if n.is_i64() => Ok(()),
        ("bool", Value::Number(n)) if matches!(n.as_i64(), Some(0 | 1)) => Ok(()),
        ("real" | "float4" | "float8", Value::Number(_)) => Ok(()),
        ("timestamptz", Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|_| ())
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").map(|_| ()))
            .map_err(|_| format!("{s:?} is not a timestamp (RFC 3339)")),
        ("date", Value::String(s)) => NaiveDate::parse_from_str(s, "%F")
            .map(|_| ())
            .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)")),
        ("json" | "jsonb", Value::String(s)) => serde_json::from_str::<serde::de::IgnoredAny>(s)
            .map(|_| ())
            .map_err(|e| format!("not a JSON document: {e}")),
        ("integer" | "int2" | "int4" | "int8" | "bigint", _) => {
            Err(format!("{v} is not an integer"))
        }
        ("bool", _) => Err(format!("{v} is not 0 or 1")),
        ("real" | "float4" | "float8", _) => Err(format!("{v} is not a number")),
        (_, Value::String(_)) => Ok(()),
        _ => Err(format!("{v} is not text")),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    concord_export: i64,
    schema: i64,
    #[allow(dead_code)]
    backend: String,
    #[allow(dead_code)]
    exported_at: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    table: String,
    row: Map<String, Value>,
}

/// Reads and checks the header line against this database's schema.
fn read_header(line: Option<std::io::Result<String>>, schema: i64) -> Result<(), PortableError> {
    let line = line
        .ok_or_else(|| PortableError::Header("the file is empty, not a concord export".into()))??;
    let h: Header = serde_json::from_str(&line).map_err(|e| {
        PortableError::Header(format!(
            "not a concord export header (written by `concord export all`): {e}"
        ))
    })?;
    if h.concord_export != FORMAT {
        return Err(PortableError::Header(format!(
            "export format {} is not the format this concord reads ({FORMAT})",
            h.concord_export
        )));
    }
    if h.schema != schema {
        let advice = if h.schema < schema {
            "import it with the concord release that wrote it, then run this one's `concord migrate`"
        } else {
            "import it with the concord release that wrote it, or a newer one"
        };
        return Err(PortableError::Header(format!(
            "the export has schema {} and this database schema {schema}: {advice}",
            h.schema
        )));
    }
    Ok(())
}

impl Store {
    /// Writes every row of every table (but [`DERIVED`]) to `out` as JSON lines, from one
    /// consistent snapshot, streaming; returns the rows written per table, in file order.
    pub async fn export_all(&self, out: &mut impl Write) -> Result<Vec<TableCount>, PortableError> {
        let backend = match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        run!(&self.read, |p| {
            let mut tx = p.begin().await?;
            if self.backend == Backend::Postgres {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
            }
            let schema = tx.schema_version().await?;
            let tables = tx.catalog().await?;
            // Written by hand so the file starts with `{"concord_export"`, which `concord
            // restore` recognises.
            writeln!(
                out,
                "{{\"concord_export\":{FORMAT},\"schema\":{schema},\"backend\":\"{backend}\",\
                 \"exported_at\":\"{}\"}}",
                timestamp_text(crate::now())
            )?;
            let mut counts = Vec::with_capacity(tables.len());
            for t in tables
                .iter()
                .filter(|t| !DERIVED.contains(&t.name.as_str()))
            {
                let order = if t.key.is_empty() {
                    t.columns.iter().map(|c| c.0.clone()).collect()
                } else {
                    t.key.clone()
                };
                let order: Vec<String> = order
                    .iter()
                    .map(|c| {
                        let text = t
                            .columns
                            .iter()
                            .any(|(n, ty)| n == c && ty.eq_ignore_ascii_case("text"));
                        match (self.backend, text) {
                            (Backend::Postgres, true) => format!("{} COLLATE \"C\"", ident(c)),
                            _ => ident(c),
                        }
                    })
                    .collect();
                let columns: Vec<String> = t.columns.iter().map(|c| ident(&c.0)).collect();
                let sql = format!(
                    "SELECT {} FROM {} ORDER BY {}",
                    columns.join(", "),
                    ident(&t.name),
                    order.join(", ")
                );
                let prefix = format!("{{\"table\":{},\"row\":", Value::from(t.name.as_str()));
                let mut rows = sqlx::query(&sql).fetch(&mut *tx);
                let mut n = 0u64;
                while let Some(row) = rows.try_next().await? {
                    let mut obj = Map::new();
                    for (i, (name, _)) in t.columns.iter().enumerate() {
                        let v = row.portable(i).map_err(|m| {
                            StoreError::Corrupt(format!("table {}, column {name}: {m}", t.name))
                        })?;
                        obj.insert(name.clone(), v);
                    }
                    out.write_all(prefix.as_bytes())?;
                    serde_json::to_writer(&mut *out, &obj).map_err(std::io::Error::from)?;
                    out.write_all(b"}\n")?;
                    n += 1;
                }
                counts.push(TableCount {
                    table: t.name.clone(),
                    rows: n,
                });
            }
            out.flush()?;
            Ok(counts)
        })
    }

    /// Imports a portable export into this freshly migrated database, in one transaction: all or
    /// nothing. Refuses a database that holds records, a header of another schema, and any bad
    /// line (named by number, table and column). Returns the rows imported per table.
    pub async fn import_all(&self, input: impl BufRead) -> Result<Vec<TableCount>, PortableError> {
        let postgres = self.backend == Backend::Postgres;
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            if postgres {
                sqlx::query("SET LOCAL TIME ZONE 'UTC'")
                    .execute(&mut *tx)
                    .await?;
            }
            let mut lines = input.lines();
            read_header(lines.next(), tx.schema_version().await?)?;
            let tables = tx.catalog().await?;
            for t in &tables {
                let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", ident(&t.name));
                if sqlx::query_scalar::<_, bool>(&sql)
                    .fetch_one(&mut *tx)
                    .await?
                {
                    if !SEEDED.contains(&t.name.as_str()) {
                        return Err(PortableError::NotEmpty {
                            table: t.name.clone(),
                        });
                    }
                    sqlx::query(&format!("DELETE FROM {}", ident(&t.name)))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let by_name: BTreeMap<&str, &Table> =
                tables.iter().map(|t| (t.name.as_str(), t)).collect();
            let mut counts: Vec<TableCount> = Vec::new();
            // Rows go in as multi-row INSERTs (a round trip per row was most of the time on
            // PostgreSQL). A batch that fails is retried row by row, so the error names the line:
            // after rolling back to its savepoint on PostgreSQL, where a failed statement aborts
            // the transaction; SQLite undoes just the failed statement.
            macro_rules! flush {
                ($tx:ident, $t:expr, $pending:expr) => {{
                    let (t, pending): (&Table, &mut Vec<(u64, Vec<Value>)>) = ($t, $pending);
                    if !pending.is_empty() {
                        if postgres {
                            sqlx::query("SAVEPOINT portable_batch")
                                .execute(&mut *$tx)
                                .await?;
                        }
                        let sql = insert_sql(t, postgres, pending.len());
                        let mut q = sqlx::query(&sql);
                        for v in pending.iter().flat_map(|r| &r.1) {
                            q = q.bind_portable(v);
                        }
                        if q.execute(&mut *$tx).await.is_err() {
                            if postgres {
                                sqlx::query("ROLLBACK TO SAVEPOINT portable_batch")
                                    .execute(&mut *$tx)
                                    .await?;
                            }
                            let one = insert_sql(t, postgres, 1);
                            for (line, row) in pending.iter() {
                                let mut q = sqlx::query(&one);
                                for v in row {
                                    q = q.bind_portable(v);
                                }
                                q.execute(&mut *$tx)
                                    .await
                                    .map_err(|e| PortableError::Line {
                                        line: *line,
                                        table: Some(t.name.clone()),
                                        column: None,
                                        message: db_message(&e),
                                    })?;
                            }
                        }
                        if postgres {
                            sqlx::query("RELEASE SAVEPOINT portable_batch")
                                .execute(&mut *$tx)
                                .await?;
                        }
                        pending.clear();
                    }
                }};
            }
            let mut pending: Vec<(u64, Vec<Value>)> = Vec::new();
            // Self-references are inserted as NULL and set once the whole table is in (a row may
            // name one further on): (line, key value, column, value).
            let mut deferred: Vec<(u64, Value, String, Value)> = Vec::new();
            let mut current: Option<&Table> = None;
            // One pass over the lines and then the end of the file, where the last table is
            // finished like any other.
            for item in lines.enumerate().map(Some).chain(std::iter::once(None)) {
                let rec = match item {
                    Some((i, line)) => {
                        let line_no = i as u64 + 2;
                        let unreadable = |message: String| PortableError::Line {
                            line: line_no,
                            table: None,
                            column: None,
                            message,
                        };
                        let line = line.map_err(|e| unreadable(e.to_string()))?;
                        if line.trim().is_empty() {
                            continue;
                        }
                        let rec: Record = serde_json::from_str(&line).map_err(|e| {
                            unreadable(format!("not a row of a concord export: {e}"))
                        })?;
                        Some((line_no, rec))
                    }
                    None => None,
                };
                let name = rec.as_ref().map(|r| r.1.table.as_str());
                if current.map(|t| t.name.as_str()) != name {
                    if let Some(t) = current.take() {
                        flush!(tx, t, &mut pending);
                        for (line, key, column, v) in deferred.drain(..) {
                            let ty = |c: &str| {
                                t.columns
                                    .iter()
                                    .find(|x| x.0 == c)
                                    .map_or("", |x| x.1.as_str())
                            };
                            let sql = format!(
                                "UPDATE {} SET {} = {} WHERE {} = {}",
                                ident(&t.name),
                                ident(&column),
                                placeholder(postgres, 1, ty(&column)),
                                ident(&t.key[0]),
                                placeholder(postgres, 2, ty(&t.key[0])),
                            );
                            sqlx::query(&sql)
                                .bind_portable(&v)
                                .bind_portable(&key)
                                .execute(&mut *tx)
                                .await
                                .map_err(|e| PortableError::Line {
                                    line,
                                    table: Some(t.name.clone()),
                                    column: Some(column.clone()),
                                    message: db_message(&e),
                                })?;
                        }
                    }
                }
                let Some((line_no, mut rec)) = rec else { break };
                let bad =
                    |table: &str, column: Option<&str>, message: String| PortableError::Line {
                        line: line_no,
                        table: Some(table.to_string()),
                        column: column.map(str::to_string),
                        message,
                    };
                let t = match current {
                    Some(t) => t,
                    None => {
                        let t = *by_name.get(rec.table.as_str()).ok_or_else(|| {
                            bad(&rec.table, None, "no such table in this database".into())
                        })?;
                        if DERIVED.contains(&t.name.as_str()) {
                            return Err(bad(
                                &t.name,
                                None,
                                "a derived cache, rebuilt by the database; not imported".into(),
                            ));
                        }
                        if !counts.iter().any(|c| c.table == t.name) {
                            counts.push(TableCount {
                                table: t.name.clone(),
                                rows: 0,
                            });
                        }
                        current = Some(t);
                        t
                    }
                };
                if let Some(unknown) = rec
                    .row
                    .keys()
                    .find(|k| !t.columns.iter().any(|c| &c.0 == *k))
                {
                    return Err(bad(
                        &t.name,
                        Some(unknown),
                        "no such column in this table".into(),
                    ));
                }
                let key = match t.key.first() {
                    Some(k) if !t.self_refs.is_empty() => rec.row.get(k).cloned(),
                    _ => None,
                }
                .unwrap_or(Value::Null);
                let mut values = Vec::with_capacity(t.columns.len());
                for (name, ty) in &t.columns {
                    let v = rec
                        .row
                        .remove(name)
                        .ok_or_else(|| bad(&t.name, Some(name), "missing".into()))?;
                    check_value(ty, &v).map_err(|m| bad(&t.name, Some(name), m))?;
                    if t.self_refs.contains(name) && !v.is_null() && t.key.len() == 1 {
                        deferred.push((line_no, key.clone(), name.clone(), v));
                        values.push(Value::Null);
                    } else {
                        values.push(v);
                    }
                }
                pending.push((line_no, values));
                if let Some(c) = counts.iter_mut().find(|c| c.table == t.name) {
                    c.rows += 1;
                }
                if pending.len() >= batch_rows(t, postgres) {
                    flush!(tx, t, &mut pending);
                }
            }
            if postgres {
                let identities: Vec<(String, String)> = sqlx::query_as(
                    "SELECT c.relname::text, a.attname::text FROM pg_attribute a \
                     JOIN pg_class c ON c.oid = a.attrelid \
                     WHERE c.relnamespace = current_schema()::regnamespace \
                     AND a.attidentity <> '' AND a.attnum > 0",
                )
                .fetch_all(&mut *tx)
                .await?;
                for (t, c) in identities {
                    sqlx::query(&format!(
                        "SELECT setval(pg_get_serial_sequence($1, $2), \
                         COALESCE((SELECT MAX({}) FROM {}), 0) + 1, false)",
                        ident(&c),
                        ident(&t)
                    ))
                    .bind(&t)
                    .bind(&c)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(counts)
        })
    }

    /// Rows per table (every table but the migrations' bookkeeping), in foreign-key order.
    pub async fn table_counts(&self) -> Result<Vec<TableCount>, StoreError> {
        run!(&self.read, |p| {
            let mut tx = p.begin().await?;
            if self.backend == Backend::Postgres {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
            }
            let tables = tx.catalog().await?;
            let mut counts = Vec::with_capacity(tables.len());
            for t in tables {
                let n: i64 =
                    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", ident(&t.name)))
                        .fetch_one(&mut *tx)
                        .await?;
                counts.push(TableCount {
                    table: t.name,
                    rows: n as u64,
                });
            }
            Ok(counts)
        })
    }
}

/// Rows per INSERT. PostgreSQL: about 10,000 values (it allows 65,535 parameters), at most 1,000
/// rows. SQLite: one (no round trip to save, and sqlx binds a many-row statement slower: 28 s of
/// CPU against 6 s for the demo's 150,000 rows).
fn batch_rows(t: &Table, postgres: bool) -> usize {
    if postgres {
        (10_000 / t.columns.len().max(1)).clamp(1, 1_000)
    } else {
        1
    }
}

/// `INSERT INTO t (…) VALUES (…), …` for `rows` rows.
fn insert_sql(t: &Table, postgres: bool, rows: usize) -> String {
    let width = t.columns.len();
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let row: Vec<String> = t
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| placeholder(postgres, r * width + i + 1, ty))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES {}",
        ident(&t.name),
        t.columns
            .iter()
            .map(|c| ident(&c.0))
            .collect::<Vec<_>>()
            .join(", "),
        values.join(", ")
    )
}

/// `$n`, cast to the column's type on PostgreSQL (values travel as text there).
fn placeholder(postgres: bool, n: usize, ty: &str) -> String {
    if postgres {
        format!("CAST(${n} AS {ty})")
    } else {
        format!("${n}")
    }
}

/// The database's own words for a failed statement.
fn db_message(e: &sqlx::Error) -> String {
    match e.as_database_error() {
        Some(d) => d.message().to_string(),
        None => e.to_string(),
    }
}
