//! Committing provincial paper batches: all accepted rows or none, one
//! batch per file (the same file again names the earlier batch), and a
//! respondent already stored is reported, never overwritten.
//!
//! Validation (and the dry run) is the caller's job: the rows given here
//! are the ones it accepted; its rejected count is recorded with the batch.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::audit;
use crate::conn::write_transaction;
use crate::error::{is_unique_violation, store_error_conversions};
use crate::rounds::{self, RoundError, RoundStatus, bump_data_version};
use crate::schema::{batches, responses};
use crate::sessions::Answers;
use crate::submissions::Mode;
use crate::{DbConn, StoreError, now_ms};

/// Rows inserted per statement (14 parameters each: well under both
/// backends' limits on bound parameters).
const INSERT_CHUNK: usize = 500;

/// Rows per `COPY` on PostgreSQL (its binary rows are buffered: about 7 MB).
const COPY_CHUNK: usize = 10_000;

/// One validated row of a batch, its answers already in their stored JSON
/// form (a 100,000-row batch then holds about 70 MB of text rather than a
/// map of heap strings a cell).
#[derive(Debug, Clone)]
pub struct BatchRow {
    /// Line in the uploaded file (for reports).
    pub line: u64,
    /// The respondent id keyed in.
    pub respondent_id: String,
    /// Raw answers by item id, as stored (a JSON object of strings).
    answers: String,
    /// Demographic answers by id, as stored.
    demographics: String,
    /// When the interview took place (unix ms), if known.
    pub started_at: Option<i64>,
}

impl BatchRow {
    /// A row from its answers and demographics (serialized as submits store them).
    pub fn new(
        line: u64,
        respondent_id: String,
        answers: &Answers,
        demographics: &Answers,
        started_at: Option<i64>,
    ) -> Result<BatchRow, StoreError> {
        Ok(BatchRow {
            line,
            respondent_id,
            answers: serde_json::to_string(answers)?,
            demographics: serde_json::to_string(demographics)?,
            started_at,
        })
    }

    /// The answers as stored (a JSON object of strings, keys sorted).
    pub fn answers_json(&self) -> &str {
        &self.answers
    }
}

/// A validated batch to commit.
#[derive(Debug, Clone)]
pub struct NewBatch<'a> {
    /// The round.
    pub round_id: i64,
    /// The province whose association uploads it.
    pub province: i32,
    /// The uploading account.
    pub uploader_id: Option<i64>,
    /// The file's name as uploaded.
    pub file_name: &'a str,
    /// Hash of the file's bytes (hex), computed by the caller; identifies the batch.
    pub file_hash: &'a str,
    /// Paper or tablet.
    pub mode: Mode,
    /// Rows the caller's validation rejected (recorded, not stored).
    pub rows_rejected: usize,
    /// The rows that passed validation.
    pub rows: &'a [BatchRow],
}

/// Where an already stored respondent came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DuplicateOf {
    /// A response stored before this batch.
    Stored {
        /// Its id.
        response_id: i64,
        /// Its batch, if it came in one.
        batch_id: Option<i64>,
    },
    /// An earlier line of this same file.
    EarlierLine(u64),
}

/// A row not stored because its respondent already has a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateRow {
    /// Line in the file.
    pub line: u64,
    /// The respondent id.
    pub respondent_id: String,
    /// What it duplicates.
    pub duplicate_of: DuplicateOf,
}

/// A committed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReceipt {
    /// The new batch's id.
    pub batch_id: i64,
    /// Rows stored.
    pub accepted: usize,
    /// Rows not stored because the respondent already had a response.
    pub duplicates: Vec<DuplicateRow>,
}

/// The result of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Stored now.
    Committed(BatchReceipt),
    /// This file was committed before, as this batch: nothing changed.
    DuplicateOf {
        /// The earlier batch.
        batch_id: i64,
    },
}

/// A committed batch's record.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = batches)]
pub struct Batch {
    /// Id.
    pub id: i64,
    /// The round.
    pub round_id: i64,
    /// The province.
    pub province: i32,
    /// The uploader.
    pub uploader_id: Option<i64>,
    /// File name.
    pub file_name: String,
    /// File hash.
    pub file_hash: String,
    /// Rows given (accepted + duplicates) plus the rows rejected by validation.
    pub rows_total: i32,
    /// Rows stored.
    pub rows_accepted: i32,
    /// Rows rejected by validation.
    pub rows_rejected: i32,
    /// Rows not stored as duplicates.
    pub rows_duplicate: i32,
    /// `committed`.
    pub status: String,
    /// When (unix ms).
    pub created_at: i64,
}

/// Why a commit failed (nothing was stored).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// No such round.
    #[error("no such round")]
    RoundNotFound,
    /// The round is not open (paper batches are accepted while it is open,
    /// whatever its dates, since keying lags fieldwork).
    #[error("the round is not open")]
    RoundNotOpen,
    /// A count does not fit the table.
    #[error("batch too large")]
    TooLarge,
    /// Concurrent commits kept clashing; the caller may retry.
    #[error("the batch clashed with concurrent commits; retry")]
    Contended,
    /// The storage layer failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
store_error_conversions!(BatchError);

impl From<RoundError> for BatchError {
    fn from(e: RoundError) -> Self {
        match e {
            RoundError::Store(e) => BatchError::Store(e),
            _ => BatchError::RoundNotFound,
        }
    }
}

fn count(n: usize) -> Result<i32, BatchError> {
    i32::try_from(n).map_err(|_| BatchError::TooLarge)
}

#[derive(Insertable)]
#[diesel(table_name = responses)]
// `None` is NULL, never DEFAULT: PostgreSQL's COPY has no DEFAULT.
#[diesel(treat_none_as_default_value = false)]
struct ResponseInsert<'a> {
    round_id: i64,
    respondent_id: &'a str,
    province: i32,
    mode: &'static str,
    instrument_id: i64,
    answers: &'a str,
    demographics: &'a str,
    paradata: &'static str,
    batch_id: Option<i64>,
    started_at: Option<i64>,
    submitted_at: i64,
    created_at: i64,
}

/// Finds a committed batch by file hash.
pub fn by_hash(
    conn: &mut DbConn,
    round_id: i64,
    file_hash: &str,
) -> Result<Option<Batch>, StoreError> {
    Ok(batches::table
        .filter(batches::round_id.eq(round_id))
        .filter(batches::file_hash.eq(file_hash))
        .select(Batch::as_select())
        .first(conn)
        .optional()?)
}

/// Finds a batch by id.
pub fn get(conn: &mut DbConn, id: i64) -> Result<Option<Batch>, StoreError> {
    Ok(batches::table
        .find(id)
        .select(Batch::as_select())
        .first(conn)
        .optional()?)
}

/// The batches of a round, by id.
pub fn list(conn: &mut DbConn, round_id: i64) -> Result<Vec<Batch>, StoreError> {
    Ok(batches::table
        .filter(batches::round_id.eq(round_id))
        .order(batches::id)
        .select(Batch::as_select())
        .load(conn)?)
}

/// Commits a validated batch in one transaction (see the module docs).
pub fn commit(conn: &mut DbConn, batch: &NewBatch<'_>) -> Result<BatchOutcome, BatchError> {
    commit_with_report(conn, batch, |_| None)
}

/// [`commit`], also recording the caller's report of the batch (`report`
/// of the receipt: what was stored, which rows were duplicates) as a
/// `batch.report` audit event in the same transaction, so a committed
/// batch never lacks its report.
pub fn commit_with_report(
    conn: &mut DbConn,
    batch: &NewBatch<'_>,
    report: impl Fn(&BatchReceipt) -> Option<serde_json::Value>,
) -> Result<BatchOutcome, BatchError> {
    let round = rounds::get(conn, batch.round_id)?.ok_or(BatchError::RoundNotFound)?;
    if round.status != RoundStatus::Open {
        return Err(BatchError::RoundNotOpen);
    }
    // A UNIQUE violation (a respondent submitted online meanwhile, or the
    // same file committed for another province) rolls everything back; the
    // retry then sees the other side's rows and reports them.
    for _ in 0..3 {
        match write_transaction(conn, |c| {
            commit_once(c, batch, round.instrument_id, &report)
        }) {
            Err(BatchError::Store(StoreError::Database(e))) if is_unique_violation(&e) => {}
            other => return other,
        }
    }
    Err(BatchError::Contended)
}

/// One try of a commit, inside its write transaction.
fn commit_once(
    conn: &mut DbConn,
    batch: &NewBatch<'_>,
    instrument_id: i64,
    report: &impl Fn(&BatchReceipt) -> Option<serde_json::Value>,
) -> Result<BatchOutcome, BatchError> {
    take_the_provinces_turn(conn, batch)?;
    if let Some(earlier) = by_hash(conn, batch.round_id, batch.file_hash)? {
        return Ok(BatchOutcome::DuplicateOf {
            batch_id: earlier.id,
        });
    }
    let now = now_ms();
    let batch_id = insert_batch(conn, batch, now)?;
    let stored = stored_in_province(conn, batch.round_id, batch.province)?;
    let (accepted, duplicates) = split_duplicates(batch.rows, &stored);
    insert_responses(conn, batch, instrument_id, batch_id, &accepted, now)?;
    let receipt = BatchReceipt {
        batch_id,
        accepted: accepted.len(),
        duplicates,
    };
    record_counts(conn, batch, &receipt)?;
    if receipt.accepted > 0 {
        bump_data_version(conn, batch.round_id)?;
    }
    if let Some(detail) = report(&receipt) {
        audit_batch(conn, batch, batch_id, "batch.report", detail)?;
    }
    Ok(BatchOutcome::Committed(receipt))
}

/// Commits to one province of one round take turns: on SQLite the
/// IMMEDIATE transaction already does that; on PostgreSQL a transaction
/// advisory lock on (round, province) does, so overlapping files never
/// race (and online submits, which take no such lock, are not held up).
fn take_the_provinces_turn(conn: &mut DbConn, batch: &NewBatch<'_>) -> Result<(), BatchError> {
    if let DbConn::Postgres(pg) = conn {
        let round_key = i32::try_from(batch.round_id % i64::from(i32::MAX)).unwrap_or_default();
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind::<diesel::sql_types::Integer, _>(round_key)
            .bind::<diesel::sql_types::Integer, _>(batch.province)
            .execute(pg)?;
    }
    Ok(())
}

/// The batch's row, its counts still 0; returns its id.
fn insert_batch(conn: &mut DbConn, batch: &NewBatch<'_>, now: i64) -> Result<i64, BatchError> {
    Ok(diesel::insert_into(batches::table)
        .values((
            batches::round_id.eq(batch.round_id),
            batches::province.eq(batch.province),
            batches::uploader_id.eq(batch.uploader_id),
            batches::file_name.eq(batch.file_name),
            batches::file_hash.eq(batch.file_hash),
            batches::rows_total.eq(0),
            batches::rows_accepted.eq(0),
            batches::rows_rejected.eq(count(batch.rows_rejected)?),
            batches::rows_duplicate.eq(0),
            batches::status.eq("committed"),
            batches::created_at.eq(now),
        ))
        .returning(batches::id)
        .get_result::<i64>(conn)?)
}

/// Respondents already stored in this round and province, with their
/// response and batch: one query (a range of the UNIQUE (round, province,
/// respondent) index), whatever the planner's statistics, rather than one
/// look-up per chunk of ids. An online submit racing in for one of them
/// makes the insert fail on that constraint; the retry then reports it as
/// stored.
fn stored_in_province(
    conn: &mut DbConn,
    round_id: i64,
    province: i32,
) -> Result<HashMap<String, (i64, Option<i64>)>, StoreError> {
    Ok(responses::table
        .filter(responses::round_id.eq(round_id))
        .filter(responses::province.eq(province))
        .select((responses::respondent_id, responses::id, responses::batch_id))
        .load::<(String, i64, Option<i64>)>(conn)?
        .into_iter()
        .map(|(r, id, b)| (r, (id, b)))
        .collect())
}

/// The rows to store, and those not stored: respondents `stored` already,
/// or repeated from an earlier line of the file.
fn split_duplicates<'r>(
    rows: &'r [BatchRow],
    stored: &HashMap<String, (i64, Option<i64>)>,
) -> (Vec<&'r BatchRow>, Vec<DuplicateRow>) {
    let mut duplicates = Vec::new();
    let mut first_line: HashMap<&str, u64> = HashMap::new();
    let mut accepted = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.respondent_id.as_str();
        let duplicate_of = if let Some(&(response_id, batch_id)) = stored.get(id) {
            Some(DuplicateOf::Stored {
                response_id,
                batch_id,
            })
        } else if let Some(&line) = first_line.get(id) {
            Some(DuplicateOf::EarlierLine(line))
        } else {
            first_line.insert(id, row.line);
            None
        };
        match duplicate_of {
            Some(duplicate_of) => duplicates.push(DuplicateRow {
                line: row.line,
                respondent_id: row.respondent_id.clone(),
                duplicate_of,
            }),
            None => accepted.push(row),
        }
    }
    (accepted, duplicates)
}

/// Stores the accepted rows as responses of the batch, chunk by chunk.
fn insert_responses(
    conn: &mut DbConn,
    batch: &NewBatch<'_>,
    instrument_id: i64,
    batch_id: i64,
    accepted: &[&BatchRow],
    now: i64,
) -> Result<(), BatchError> {
    let chunk_rows = match conn {
        DbConn::Postgres(_) => COPY_CHUNK,
        DbConn::Sqlite(_) => INSERT_CHUNK,
    };
    for chunk in accepted.chunks(chunk_rows) {
        let values: Vec<ResponseInsert<'_>> = chunk
            .iter()
            .map(|row| ResponseInsert {
                round_id: batch.round_id,
                respondent_id: &row.respondent_id,
                province: batch.province,
                mode: batch.mode.name(),
                instrument_id,
                answers: &row.answers,
                demographics: &row.demographics,
                paradata: "{}",
                batch_id: Some(batch_id),
                started_at: row.started_at,
                submitted_at: now,
                created_at: now,
            })
            .collect();
        match conn {
            // COPY: the rows stream in binary, with no statement of
            // thousands of parameters to build, parse and plan (a
            // 100,000-row batch: 10.4 s as multi-row INSERTs, see bench/).
            DbConn::Postgres(pg) => diesel::copy_from(responses::table)
                .from_insertable(&values)
                .execute(pg)?,
            // SQLite runs one prepared statement per row either way,
            // inside this transaction.
            DbConn::Sqlite(sqlite) => diesel::insert_into(responses::table)
                .values(&values)
                .execute(sqlite)?,
        };
    }
    Ok(())
}

/// The batch's counts, and its `batch.commit` audit event.
fn record_counts(
    conn: &mut DbConn,
    batch: &NewBatch<'_>,
    receipt: &BatchReceipt,
) -> Result<(), BatchError> {
    let total = batch.rows.len() + batch.rows_rejected;
    diesel::update(batches::table.find(receipt.batch_id))
        .set((
            batches::rows_total.eq(count(total)?),
            batches::rows_accepted.eq(count(receipt.accepted)?),
            batches::rows_duplicate.eq(count(receipt.duplicates.len())?),
        ))
        .execute(conn)?;
    let detail = serde_json::json!({
        "round_id": batch.round_id,
        "province": batch.province,
        "file_name": batch.file_name,
        "file_hash": batch.file_hash,
        "accepted": receipt.accepted,
        "duplicates": receipt.duplicates.len(),
        "rejected": batch.rows_rejected,
    });
    audit_batch(conn, batch, receipt.batch_id, "batch.commit", detail)
}

/// An audit event of the batch, by its uploader.
fn audit_batch(
    conn: &mut DbConn,
    batch: &NewBatch<'_>,
    batch_id: i64,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), BatchError> {
    let actor = batch.uploader_id.map(|id| format!("user:{id}"));
    let target = format!("batch:{batch_id}");
    audit::record_action(conn, actor.as_deref(), action, &target, detail)?;
    Ok(())
}

/// Of `respondent_ids`, those that already have a response in the round and
/// province (for the service's report before a commit; the commit checks
/// again inside its transaction).
pub fn stored_respondents(
    conn: &mut DbConn,
    round_id: i64,
    province: i32,
    respondent_ids: &[&str],
) -> Result<std::collections::HashSet<String>, StoreError> {
    // One query for the province's stored respondents (served by the
    // (round, province, respondent) index), then an intersection: chunked
    // `IN` lists made PostgreSQL scan the round once per chunk.
    let stored: std::collections::HashSet<String> = responses::table
        .filter(responses::round_id.eq(round_id))
        .filter(responses::province.eq(province))
        .select(responses::respondent_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    Ok(respondent_ids
        .iter()
        .filter(|id| stored.contains(**id))
        .map(|id| (*id).to_owned())
        .collect())
}
