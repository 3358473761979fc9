//! The store's base error, shared by every module's typed error.

/// A failure of the storage layer itself (connection, migration, query).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL has a scheme the store does not know; nothing was created.
    #[error(
        "unsupported database URL scheme `{0}`: use sqlite://PATH, sqlite::memory: or postgres://..."
    )]
    UnknownScheme(String),
    /// The database could not be reached or opened.
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// No pooled connection became free in time, or the pool could not be built.
    #[error("no database connection available: {0}")]
    Pool(String),
    /// Applying or reverting the embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    /// JSON read from or written to a TEXT column is invalid.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A group of submits could not be committed together (SQLite); none of it was stored.
    #[error("database error while committing a group of submits: {0}")]
    GroupCommit(String),
    /// A stored value is outside what the store writes (for example an unknown role).
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the error is a UNIQUE constraint violation.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(e) if is_unique_violation(e))
    }
}

/// Whether a diesel error is a UNIQUE (or primary key) constraint violation.
pub(crate) fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Implements `From<diesel::result::Error>` and `From<serde_json::Error>`
/// for a module error that has a `Store(StoreError)` variant, so `?` and
/// transactions work on it directly.
macro_rules! store_error_conversions {
    ($t:ty) => {
        impl From<diesel::result::Error> for $t {
            fn from(e: diesel::result::Error) -> Self {
                Self::Store($crate::StoreError::Database(e))
            }
        }
        impl From<serde_json::Error> for $t {
            fn from(e: serde_json::Error) -> Self {
                Self::Store($crate::StoreError::Json(e))
            }
        }
    };
}
pub(crate) use store_error_conversions;
