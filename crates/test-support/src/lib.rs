//! What the literacy engine's tests share.
//!
//! [`pg`] gives every test a PostgreSQL database of its own: on the server
//! `LITERACY_TEST_PG` names, or else on a throwaway cluster this test
//! process starts under `target/` and that is removed when it exits. No
//! test depends on the system's PostgreSQL service or its authentication
//! settings, and none skips when PostgreSQL is missing: it fails, saying
//! what to install. [`serve`] runs the `literacy serve` binary for the
//! tests of the process itself, and [`http`] sends them requests;
//! [`sheet`] writes the `.xlsx` files the spreadsheet tests read; [`dirs`]
//! makes their scratch folders; [`cmd`] runs the binary, [`csv_text`]
//! reads back the CSV it writes; [`tolerance`] compares numbers with their
//! references, [`reference`] reads R's.

pub mod cmd;
pub mod csv_text;
pub mod dirs;
pub mod http;
pub mod pg;
pub mod reference;
pub mod serve;
pub mod sheet;
pub mod tolerance;
