use concord_domain::partnership::IllegalTransition;
use concord_domain::ValidationErrors;

/// What can go wrong in storage. The web layer maps each to an HTTP status; only `Database` and
/// `Migrate` are the server's fault.
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
        match crate::dialect::unique_violation_field(&e) {
            Some((field, message)) => StoreError::Conflict {
                field: field.to_string(),
                message: message.to_string(),
            },
            None => StoreError::Database(e),
        }
    }
}
