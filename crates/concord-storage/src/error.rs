use concord_domain::partnership::IllegalTransition;
use concord_domain::ValidationErrors;

/// What can go wrong in storage. The web layer maps each to an HTTP status; only `Database` and
/// `Migrate` are the server's fault, and `Busy` is a moment's overload (503 with `Retry-After`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    #[error("invalid input: {0}")]
    Validation(ValidationErrors),
    /// A unique constraint: the field names what is duplicated.
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    /// The request conflicts with the record's state (a signed version edited, a stale version
    /// signed, going active without a charter): `code` says which rule, `field` what to fix.
    #[error("{field}: {message}")]
    Refused {
        field: String,
        code: &'static str,
        message: String,
    },
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// The actor can see the record but may not do this (a viewer writing, a non-admin managing).
    #[error("{0}")]
    Forbidden(String),
    /// The thing existed but is no longer usable (a used or expired invitation).
    #[error("{0}")]
    Gone(String),
    /// The record is archived and cannot change.
    #[error("{entity} {id} is archived and cannot be changed")]
    Archived { entity: &'static str, id: i64 },
    #[error("unsupported database URL scheme `{scheme}`: use sqlite://PATH or postgres://…")]
    UnsupportedUrl { scheme: String },
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    /// No database connection came free within the pool timeout, or SQLite's lock wait ran out:
    /// the server is overloaded for a moment and the request may be retried.
    #[error("the database is busy: no connection or lock came free in time")]
    Busy,
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data that the domain no longer accepts (a bug or a hand edit).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl From<ValidationErrors> for StoreError {
    fn from(e: ValidationErrors) -> Self {
        StoreError::Validation(e)
    }
}

impl From<concord_domain::account::Forbidden> for StoreError {
    fn from(e: concord_domain::account::Forbidden) -> Self {
        StoreError::Forbidden(e.0)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if matches!(e, sqlx::Error::PoolTimedOut) {
            crate::POOL_TIMEOUTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if is_busy(&e) {
            return StoreError::Busy;
        }
        match crate::dialect::unique_violation_field(&e) {
            Some((field, message)) => StoreError::Conflict {
                field: field.to_string(),
                message: message.to_string(),
            },
            None => StoreError::Database(e),
        }
    }
}

/// A pool timeout, or SQLite's `SQLITE_BUSY` (any extended code whose primary code is 5) after
/// its busy timeout.
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => {
            db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                && db
                    .code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(|c| c & 0xff == 5)
        }
        _ => false,
    }
}
