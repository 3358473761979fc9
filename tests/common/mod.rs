//! What the command-line tests share: the binary run where the R
//! reference fixtures are, the design of R's synthetic surveys, and a round
//! to store into.

#![allow(dead_code, reason = "each test file uses part of these helpers")]

use std::path::PathBuf;
use std::process::Output;

use literacy_store::{DbConn, instruments, rounds};
use literacy_test_support::{cmd, reference};

/// The workspace's folder.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `literacy` with `args`, run in the reference fixtures' folder.
pub fn literacy_in_reference(args: &[&str]) -> Output {
    cmd::run(
        env!("CARGO_BIN_EXE_literacy"),
        Some(&reference::dir()),
        args,
    )
}

/// The design of R's synthetic surveys (`data/synth*.csv`): weights,
/// provinces as strata, PSUs.
pub const SYNTH_DESIGN: [&str; 6] = ["--weight", "weight", "--strata", "province", "--psu", "psu"];

/// `--margin FILE` for each of the raking margins of R's synthetic surveys
/// (`data/margin_*.csv`: sex, urban/rural, age group, province).
pub fn raking_margins() -> Vec<String> {
    ["sex", "urban_rural", "age_group", "province"]
        .iter()
        .flat_map(|m| ["--margin".to_owned(), format!("data/margin_{m}.csv")])
        .collect()
}

/// Publishes the built-in 2026 instrument and opens round `code` on it.
pub fn open_round(conn: &mut DbConn, code: &str) {
    let json = include_str!("../../surveys/csl-2026/instrument.json");
    let ins = instruments::create_draft(conn, "csl-2026", "2026.1", json).expect("draft");
    instruments::publish(conn, ins.id).expect("published");
    rounds::create(
        conn,
        &rounds::NewRound {
            code,
            instrument_id: ins.id,
            rule: "{}",
            margins: "{}",
            opens_at: None,
            closes_at: None,
            status: rounds::RoundStatus::Open,
            open_online: false,
        },
    )
    .expect("round");
}
