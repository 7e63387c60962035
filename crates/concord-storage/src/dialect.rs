//! Everything that differs between SQLite and PostgreSQL, in one place.
//!
//! - Placeholders: both accept `$1, $2, …`, so queries use that form everywhere.
//! - Write transactions: SQLite starts them with `BEGIN IMMEDIATE` so the write lock is taken up
//!   front (a deferred transaction that reads first can fail to upgrade); PostgreSQL uses `BEGIN`.
//! - Unique violations: PostgreSQL names the constraint; SQLite names `table.column`. Both are
//!   mapped to the API field here.
//! - Types: timestamps are TEXT in SQLite and TIMESTAMPTZ in PostgreSQL, JSON is TEXT and JSONB;
//!   sqlx's chrono and `Json<T>` encodings handle both, so the query text does not change.

use crate::Backend;

/// A dynamically bound query argument (for queries whose filters are chosen at run time).
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Text(String),
}

/// Builds SQL with numbered placeholders and the arguments that go with them.
#[derive(Debug, Default)]
pub struct SqlBuilder {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl SqlBuilder {
    pub fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder for `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.sql.push_str(&format!("${}", self.args.len()));
        self
    }

    /// Appends `(…)` with one placeholder per value, for `IN` lists.
    pub fn bind_list(&mut self, values: impl IntoIterator<Item = Arg>) -> &mut Self {
        self.sql.push('(');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.bind(v);
        }
        self.sql.push(')');
        self
    }
}

/// The statement that opens a write transaction.
pub fn begin_write(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    }
}

/// Constraint (PostgreSQL name, SQLite `table.column`) → API field and message.
const UNIQUE: &[(&str, &str, &str, &str)] = &[
    (
        "charter_signatures_pkey",
        "charter_signatures.organization_id",
        "version",
        "your organization has already signed this version",
    ),
    (
        "charter_acknowledgements_pkey",
        "charter_acknowledgements.organization_id",
        "version",
        "your organization has already acknowledged the stakes of this version",
    ),
    (
        "charter_one_draft",
        "charter_versions.partnership_id",
        "version",
        "someone else changed this charter at the same moment; reload and try again",
    ),
    (
        "charter_one_effective",
        "charter_versions.partnership_id",
        "version",
        "someone else changed this charter at the same moment; reload and try again",
    ),
    (
        "charter_versions_number_unique",
        "charter_versions.number",
        "version",
        "someone else changed this charter at the same moment; reload and try again",
    ),
    (
        "organizations_name_key_unique",
        "organizations.name_key",
        "name",
        "an organization with this name already exists",
    ),
    (
        "organizations_npi_unique",
        "organizations.npi",
        "npi",
        "an organization with this NPI already exists",
    ),
    (
        "capabilities_name_unique",
        "capabilities.name",
        "name",
        "a capability with this name already exists",
    ),
    (
        "users_email_unique",
        "users.email",
        "email",
        "a user with this e-mail address already exists",
    ),
    (
        "capabilities_pkey",
        "capabilities.code",
        "code",
        "a capability with this code already exists",
    ),
];

/// When `e` is a unique violation on a known constraint, the field and message to report.
pub fn unique_violation_field(e: &sqlx::Error) -> Option<(&'static str, &'static str)> {
    let db = e.as_database_error()?;
    if !db.is_unique_violation() {
        return None;
    }
    let constraint = db.constraint().unwrap_or("");
    let message = db.message();
    UNIQUE
        .iter()
        .find(|(pg, lite, _, _)| {
            constraint == *pg || message.ends_with(lite) || message.contains(&format!("{lite},"))
        })
        .map(|(_, _, field, msg)| (*field, *msg))
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern and wraps it in `%…%`, lowercased.
pub fn contains_pattern(q: &str) -> String {
    let mut p = String::from("%");
    for c in q.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_numbers_placeholders() {
        let mut b = SqlBuilder::new("SELECT 1 WHERE a = ");
        b.bind(Arg::Int(1))
            .push(" AND b IN ")
            .bind_list([Arg::Int(2), Arg::Int(3)]);
        assert_eq!(b.sql, "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        assert_eq!(b.args.len(), 3);
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(contains_pattern(" 50%_A\\ "), "%50\\%\\_a\\\\%");
    }

    #[test]
    fn url_schemes() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("sqlit://x.db").is_err());
        assert!(Backend::from_url("mysql://x").is_err());
        assert!(Backend::from_url("concord.db").is_err());
    }
}
