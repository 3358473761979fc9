//! Instrument versions: drafts may change; a published version never does
//! (the store refuses, and a trigger in both schemas refuses too).

use diesel::prelude::*;

use crate::error::{is_unique_violation, store_error_conversions};
use crate::schema::instruments;
use crate::{DbConn, StoreError, now_ms};

/// A stored instrument version.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = instruments)]
pub struct StoredInstrument {
    /// Id.
    pub id: i64,
    /// The instrument's id, e.g. `csl-2026`.
    pub name: String,
    /// Version.
    pub version: String,
    /// The instrument JSON as given (the caller validated it with the core).
    pub definition: String,
    /// When it was published (unix ms); `None` while a draft.
    pub published_at: Option<i64>,
    /// When it was stored (unix ms).
    pub created_at: i64,
}

impl StoredInstrument {
    /// Whether this version is published (and so immutable).
    pub fn is_published(&self) -> bool {
        self.published_at.is_some()
    }
}

/// Why an instrument operation failed.
#[derive(Debug, thiserror::Error)]
pub enum InstrumentStoreError {
    /// `(name, version)` is already stored.
    #[error("instrument {name} version {version} already exists")]
    Exists {
        /// Instrument id.
        name: String,
        /// Version.
        version: String,
    },
    /// No instrument has this id.
    #[error("no instrument with id {0}")]
    NotFound(i64),
    /// The version is published: it cannot change or be deleted.
    #[error("instrument {0} is published and cannot change")]
    Published(i64),
    /// The storage layer failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
store_error_conversions!(InstrumentStoreError);

/// Stores a draft version.
pub fn create_draft(
    conn: &mut DbConn,
    name: &str,
    version: &str,
    definition: &str,
) -> Result<StoredInstrument, InstrumentStoreError> {
    let created_at = now_ms();
    let inserted = diesel::insert_into(instruments::table)
        .values((
            instruments::name.eq(name),
            instruments::version.eq(version),
            instruments::definition.eq(definition),
            instruments::published_at.eq(None::<i64>),
            instruments::created_at.eq(created_at),
        ))
        .returning(instruments::id)
        .get_result::<i64>(conn);
    match inserted {
        Ok(id) => Ok(StoredInstrument {
            id,
            name: name.to_owned(),
            version: version.to_owned(),
            definition: definition.to_owned(),
            published_at: None,
            created_at,
        }),
        Err(e) if is_unique_violation(&e) => Err(InstrumentStoreError::Exists {
            name: name.to_owned(),
            version: version.to_owned(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Finds a version by id.
pub fn get(conn: &mut DbConn, id: i64) -> Result<Option<StoredInstrument>, InstrumentStoreError> {
    Ok(instruments::table
        .find(id)
        .select(StoredInstrument::as_select())
        .first(conn)
        .optional()?)
}

/// Finds a version by instrument id and version.
pub fn find(
    conn: &mut DbConn,
    name: &str,
    version: &str,
) -> Result<Option<StoredInstrument>, InstrumentStoreError> {
    Ok(instruments::table
        .filter(instruments::name.eq(name))
        .filter(instruments::version.eq(version))
        .select(StoredInstrument::as_select())
        .first(conn)
        .optional()?)
}

/// Every stored version, by id.
pub fn list(conn: &mut DbConn) -> Result<Vec<StoredInstrument>, InstrumentStoreError> {
    Ok(instruments::table
        .order(instruments::id)
        .select(StoredInstrument::as_select())
        .load(conn)?)
}

/// Replaces a draft's definition; a published version is refused.
pub fn update_draft(
    conn: &mut DbConn,
    id: i64,
    definition: &str,
) -> Result<(), InstrumentStoreError> {
    let n = diesel::update(
        instruments::table
            .find(id)
            .filter(instruments::published_at.is_null()),
    )
    .set(instruments::definition.eq(definition))
    .execute(conn)?;
    draft_changed(conn, id, n)
}

/// Publishes a draft; publishing a published version again is a no-op
/// that returns the original publication time.
pub fn publish(conn: &mut DbConn, id: i64) -> Result<StoredInstrument, InstrumentStoreError> {
    diesel::update(
        instruments::table
            .find(id)
            .filter(instruments::published_at.is_null()),
    )
    .set(instruments::published_at.eq(now_ms()))
    .execute(conn)?;
    get(conn, id)?.ok_or(InstrumentStoreError::NotFound(id))
}

/// Deletes a draft; a published version is refused.
pub fn delete_draft(conn: &mut DbConn, id: i64) -> Result<(), InstrumentStoreError> {
    let n = diesel::delete(
        instruments::table
            .find(id)
            .filter(instruments::published_at.is_null()),
    )
    .execute(conn)?;
    draft_changed(conn, id, n)
}

/// `Ok` when a change meant for draft `id` reached its row (`rows` 1);
/// else why it did not: the version is published, or there is none.
fn draft_changed(conn: &mut DbConn, id: i64, rows: usize) -> Result<(), InstrumentStoreError> {
    if rows == 1 {
        return Ok(());
    }
    match get(conn, id)? {
        Some(_) => Err(InstrumentStoreError::Published(id)),
        None => Err(InstrumentStoreError::NotFound(id)),
    }
}
