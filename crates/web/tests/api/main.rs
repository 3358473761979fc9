//! The HTTP API end to end: the real application on a free port, against
//! SQLite (a temporary file) and PostgreSQL (a fresh database per test),
//! the same test bodies on both, through a blocking HTTP client.

mod helpers;

mod auth;
mod batches;
mod estimates;
mod ops;
mod sessions;
