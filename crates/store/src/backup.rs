//! Copies of a store and the checks a copy must pass before it is used.
//! A SQLite store is copied online by `VACUUM INTO` (a consistent snapshot
//! while the service keeps writing); a PostgreSQL store by `pg_dump`, which
//! the binary runs, and restored by `pg_restore` into an empty database.

use std::path::Path;

use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Text};

use crate::{Backend, DbConn, Store, StoreError};

/// What a backup file holds, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupKind {
    /// A SQLite database file (`VACUUM INTO`).
    Sqlite,
    /// A PostgreSQL custom-format dump (`pg_dump --format=custom`).
    PostgresDump,
}

impl BackupKind {
    /// The kind of a file starting with `start` (its first 16 bytes or more).
    pub fn of(start: &[u8]) -> Option<BackupKind> {
        if start.starts_with(b"SQLite format 3\0") {
            Some(BackupKind::Sqlite)
        } else if start.starts_with(b"PGDMP") {
            Some(BackupKind::PostgresDump)
        } else {
            None
        }
    }

    /// The backend whose backups are of this kind.
    pub fn backend(self) -> Backend {
        match self {
            BackupKind::Sqlite => Backend::Sqlite,
            BackupKind::PostgresDump => Backend::Postgres,
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// Writes a consistent copy of a SQLite store to `out` (which must not
/// exist), while the store stays in use.
pub fn sqlite_copy(store: &Store, out: &Path) -> Result<(), StoreError> {
    let out = out
        .to_str()
        .ok_or_else(|| StoreError::Corrupt(format!("{} is not a UTF-8 path", out.display())))?;
    let mut conn = store.conn()?;
    match &mut **conn {
        DbConn::Sqlite(c) => {
            diesel::sql_query("VACUUM INTO ?")
                .bind::<Text, _>(out)
                .execute(c)?;
            Ok(())
        }
        DbConn::Postgres(_) => Err(StoreError::Corrupt(
            "a PostgreSQL store is copied by pg_dump, not VACUUM INTO".into(),
        )),
    }
}

/// SQLite's full integrity check of a store: `Ok` when it says "ok",
/// otherwise its first problems. PostgreSQL stores pass (the server checks
/// its own pages).
pub fn integrity(store: &Store) -> Result<(), StoreError> {
    let mut conn = store.conn()?;
    let DbConn::Sqlite(c) = &mut **conn else {
        return Ok(());
    };
    let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check(5)").load(c)?;
    match rows.first() {
        Some(r) if rows.len() == 1 && r.integrity_check == "ok" => Ok(()),
        _ => Err(StoreError::Corrupt(format!(
            "integrity check: {}",
            rows.iter()
                .map(|r| r.integrity_check.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

/// The number of tables in the store's schema (an empty database has none;
/// a restore goes only into an empty one).
pub fn table_count(store: &Store) -> Result<i64, StoreError> {
    let query = match store.backend() {
        Backend::Sqlite => {
            "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%'"
        }
        Backend::Postgres => {
            "SELECT count(*) AS n FROM pg_catalog.pg_tables WHERE schemaname = current_schema()"
        }
    };
    let mut conn = store.conn()?;
    let rows: Vec<Count> = diesel::sql_query(query).load(&mut **conn)?;
    Ok(rows.first().map_or(0, |r| r.n))
}
