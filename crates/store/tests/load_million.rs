//! How long a round of a million responses takes to load into the core's
//! response matrix, on each backend. Ignored by default (it writes ~0.8 GB);
//! run in release:
//! `cargo test --release -p literacy-store --test load_million -- --ignored --nocapture --test-threads 1`
//!
//! Measured on the 2-core development machine while other builds ran
//! (load average ~7), 1,000,000 rows x 60 items:
//! - SQLite: into the matrix 5.3 s (fetching the rows alone 1.7 s); a
//!   50,000-row batch commit into that round 1.4 s.
//! - PostgreSQL 15: into the matrix 9.5 s (fetching alone 4.9 s); the first
//!   read after the bulk insert took 32 s (the server setting hint bits on
//!   a million fresh rows, once); a 50,000-row batch commit 3-5 s.

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use common::{TestDb, answers, open_round};
use diesel::RunQueryDsl;
use literacy_core::Instrument;
use literacy_store::batches::{self, BatchRow, NewBatch};
use literacy_store::load;
use literacy_store::submissions::Mode;

const ROWS: usize = 1_000_000;
const BATCH: usize = 50_000;

fn answer_row(instrument: &Instrument, i: usize) -> BTreeMap<String, String> {
    instrument
        .items
        .iter()
        .enumerate()
        .map(|(j, item)| (item.id.clone(), item.decode(((i + j) % 2 + 1) as u16)))
        .collect()
}

fn million(db: &TestDb, backend: &str) {
    let instrument = Instrument::from_json("csl-2026", common::CSL_2026).expect("instrument");
    let mut conn = db.conn();
    let round = open_round(&mut conn, "2026", true);

    // All but one batch in one SQL statement, with the same kind of answers
    // (province 11 gets ~30,000 of them).
    let even = serde_json::to_string(&answer_row(&instrument, 0)).expect("json");
    let odd = serde_json::to_string(&answer_row(&instrument, 1)).expect("json");
    let rest = ROWS - BATCH;
    let select = format!(
        "INSERT INTO responses (round_id, respondent_id, province, mode, instrument_id, \
         answers, demographics, paradata, submitted_at, created_at) \
         SELECT {round}, 'r' || g, 11 + g % 31, 'online', {instrument_id}, \
         CASE WHEN g % 2 = 0 THEN '{even}' ELSE '{odd}' END, \
         '{{\"sex\":\"1\",\"age\":\"40\"}}', '{{}}', 0, 0 FROM s",
        round = round.id,
        instrument_id = round.instrument_id,
    );
    let sql = match backend {
        "sqlite" => format!(
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rest}) {select}"
        ),
        _ => format!(
            "{select} ",
            select = select.replace("FROM s", &format!("FROM generate_series(1, {rest}) s(g)"))
        ),
    };
    diesel::sql_query(sql)
        .execute(&mut **conn)
        .expect("bulk insert");

    // Then one provincial batch through the store, timed: its look-ups run
    // against a round of 950,000 responses.
    let rows: Vec<BatchRow> = (0..BATCH)
        .map(|i| {
            BatchRow::new(
                i as u64 + 2,
                format!("b{i:07}"),
                &answer_row(&instrument, i),
                &answers(&[("sex", "1"), ("age", "40"), ("education", "3")]),
                None,
            )
            .expect("row")
        })
        .collect();
    let start = Instant::now();
    batches::commit(
        &mut conn,
        &NewBatch {
            round_id: round.id,
            province: 11,
            uploader_id: None,
            file_name: "bench.csv",
            file_hash: "bench",
            mode: Mode::Paper,
            rows_rejected: 0,
            rows: &rows,
        },
    )
    .expect("commit");
    let commit = start.elapsed();

    let mut times = Vec::new();
    for _ in 0..2 {
        let start = Instant::now();
        let loaded = load::response_matrix(&mut conn, round.id, &instrument).expect("matrix");
        times.push(start.elapsed().as_secs_f64());
        assert_eq!(loaded.matrix.n_rows(), ROWS);
    }
    let start = Instant::now();
    let n = load::for_each_page(&mut conn, round.id, load::PAGE_SIZE, |_| {
        Ok::<_, literacy_store::StoreError>(())
    })
    .expect("pages");
    let fetch = start.elapsed().as_secs_f64();
    assert_eq!(n, ROWS);
    println!(
        "{backend}: commit of one {BATCH}-row batch {:.1} s; {ROWS} rows x {} items into the matrix: \
         {:.2} s first, {:.2} s again; fetching the rows alone {fetch:.2} s",
        commit.as_secs_f64(),
        instrument.items.len(),
        times[0],
        times[1],
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
