//! Storage for the literacy engine: diesel over SQLite (the embedded
//! default) and PostgreSQL, from one code base.
//!
//! A [`Store`] is opened from a URL (`sqlite://path`, `sqlite::memory:`,
//! `postgres://...`); every query module takes a `&mut DbConn` borrowed from
//! the store's pool, so a caller can run several calls on one connection
//! (inside `web::block`, for the service).
//!
//! Portable representation, the same on both backends (see `schema.rs`):
//! ids are 64-bit integers (`BIGINT`), except respondent session ids and
//! invite codes, which are random text; JSON is `TEXT`; times are UTC unix
//! milliseconds in `BIGINT` columns; booleans are `BOOLEAN`.

pub mod audit;
pub mod backup;
pub mod batches;
pub mod cache;
mod conn;
mod error;
mod group_commit;
pub mod instruments;
pub mod invites;
pub mod load;
pub mod rounds;
pub mod schema;
pub mod sessions;
pub mod submissions;
pub mod users;

pub use conn::{
    Backend, DbConn, PooledConn, Store, StoreOptions, backend_of, open_and_migrate, sqlite_file,
};
pub use error::StoreError;

/// The database used when neither `--database` nor `DATABASE_URL` names one.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://literacy.db";

/// The database URL to use: the explicit one (`--database`), else the
/// `DATABASE_URL` environment variable, else [`DEFAULT_DATABASE_URL`].
pub fn database_url(explicit: Option<&str>) -> String {
    explicit
        .map(str::to_owned)
        .or_else(|| std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

/// The current time as UTC unix milliseconds, the unit of every time column.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `n` random bytes from the operating system, as lowercase hex.
pub(crate) fn random_hex(n_bytes: usize) -> String {
    use rand::{RngCore, SeedableRng};
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut bytes = vec![0u8; n_bytes];
    rng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
