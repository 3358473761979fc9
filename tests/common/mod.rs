//! What the store's command-line tests share.

use literacy_store::{DbConn, instruments, rounds};

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
