//! How long a round of a million responses takes to load, on each backend.
//! Ignored by default (it writes ~0.5 GB); run in release:
//! `cargo test --release -p literacy-store --test load_million -- --ignored --nocapture`

mod common;

use std::time::Instant;

use common::{TestDb, answers, open_round};
use literacy_core::Instrument;
use literacy_store::batches::{self, BatchRow, NewBatch};
use literacy_store::load;
use literacy_store::submissions::Mode;

const ROWS: usize = 1_000_000;
const PER_BATCH: usize = 50_000;

fn million(db: &TestDb, backend: &str) {
    let instrument = Instrument::from_json("csl-2026", common::CSL_2026).expect("instrument");
    let mut conn = db.conn();
    let round = open_round(&mut conn, "2026", true);
    let start = Instant::now();
    for b in 0..ROWS / PER_BATCH {
        let rows: Vec<BatchRow> = (0..PER_BATCH)
            .map(|k| {
                let i = b * PER_BATCH + k;
                BatchRow {
                    line: k as u64 + 2,
                    respondent_id: format!("r{i:07}"),
                    answers: instrument
                        .items
                        .iter()
                        .enumerate()
                        .map(|(j, item)| (item.id.clone(), item.decode(((i + j) % 2 + 1) as u16)))
                        .collect(),
                    demographics: answers(&[("sex", "1"), ("age", "40"), ("education", "3")]),
                    started_at: None,
                }
            })
            .collect();
        let hash = format!("file-{b}");
        batches::commit(
            &mut conn,
            &NewBatch {
                round_id: round.id,
                province: 11 + (b % 20) as i32,
                uploader_id: None,
                file_name: "bench.csv",
                file_hash: &hash,
                mode: Mode::Paper,
                rows_rejected: 0,
                rows: &rows,
            },
        )
        .expect("commit");
    }
    let inserted = start.elapsed();

    let start = Instant::now();
    let records = load::all(&mut conn, round.id).expect("all");
    let raw = start.elapsed();
    assert_eq!(records.len(), ROWS);
    drop(records);

    let start = Instant::now();
    let loaded = load::response_matrix(&mut conn, round.id, &instrument).expect("matrix");
    let matrix = start.elapsed();
    assert_eq!(loaded.matrix.n_rows(), ROWS);
    println!(
        "{backend}: {ROWS} rows x {} items: commit {:.1} s, load rows {:.2} s, load into matrix {:.2} s",
        instrument.items.len(),
        inserted.as_secs_f64(),
        raw.as_secs_f64(),
        matrix.as_secs_f64()
    );
}

#[test]
#[ignore = "writes a million responses; run in release with --ignored"]
fn sqlite_million() {
    million(&TestDb::sqlite(), "sqlite");
}

#[test]
#[ignore = "writes a million responses; run in release with --ignored"]
fn postgres_million() {
    million(&TestDb::postgres(), "postgres");
}
