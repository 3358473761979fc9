//! A provincial batch checked (and, unless it is a dry run, committed) as
//! the JSON API and the upload page both do: the file hash makes a
//! repeated commit a no-op, stored respondents are never overwritten, and
//! the report is stored with the batch.

use literacy_store::DbConn;
use literacy_store::batches::{self, BatchError, BatchOutcome, NewBatch};
use literacy_store::submissions::Mode;
use literacy_table::Options;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::batch::{self, BatchFileError, Problem, Problems};
use crate::error::ApiError;
use crate::state::{AppState, round_by_code, store_error};

/// The report of a check or commit: `errors` lists at most
/// [`batch::LISTED_PER_COLUMN`] problems per column, `error_counts` counts
/// every one by column, `errors_unlisted` says how many were not listed.
pub(crate) fn report(
    batch_id: Option<i64>,
    rows: usize,
    accepted: usize,
    problems: &Problems,
    dry_run: bool,
) -> Value {
    json!({
        "batch_id": batch_id,
        "dry_run": dry_run,
        "rows": rows,
        "accepted": accepted,
        "rejected": rows - accepted,
        "errors": problems.listed(),
        "error_counts": problems.counts(),
        "errors_unlisted": problems.unlisted(),
    })
}

/// What a check or a commit came to.
pub(crate) enum Outcome {
    /// The file could not be read at all (`None`: no file was sent).
    Unreadable(Option<BatchFileError>),
    /// The same file was committed before.
    Duplicate(i64),
    /// Checked (and committed when `batch_id` is set).
    Report {
        batch_id: Option<i64>,
        rows: usize,
        accepted: usize,
        problems: Problems,
    },
}

/// One file sent by an uploader.
pub(crate) struct Upload {
    /// The round's code.
    pub code: String,
    /// The uploader's province.
    pub province: u16,
    /// The uploader's username.
    pub uploader: String,
    /// The file's name.
    pub file_name: String,
    /// The file.
    pub body: Vec<u8>,
    /// Check only.
    pub dry_run: bool,
    /// How the file is read (a text file's encoding, a spreadsheet's sheet).
    pub read: Options,
}

/// Checks (and, unless `dry_run`, commits) a batch, as the JSON API does:
/// the file hash makes a repeated commit a no-op, stored respondents are
/// never overwritten, a commit with no row to store is refused (422, with
/// the check's report), and the full report is audited.
pub(crate) fn run_batch(s: &AppState, conn: &mut DbConn, up: &Upload) -> Result<Outcome, ApiError> {
    let (province, dry_run) = (up.province, up.dry_run);
    let hash: String = Sha256::digest(&up.body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let round = round_by_code(conn, &up.code)?;
    if let Some(earlier) = batches::by_hash(conn, round.id, &hash).map_err(store_error)? {
        return Ok(Outcome::Duplicate(earlier.id));
    }
    let instrument = s.instrument(conn, round.instrument_id)?;
    let mut checked = match batch::check(&instrument, province, &up.body, &up.read) {
        Ok(c) => c,
        Err(e) => return Ok(Outcome::Unreadable(Some(e))),
    };
    let ids: Vec<&str> = checked
        .accepted
        .iter()
        .map(|r| r.respondent_id.as_str())
        .collect();
    let stored = batches::stored_respondents(conn, round.id, i32::from(province), &ids)
        .map_err(store_error)?;
    checked.reject_stored(|id| stored.contains(id));
    if dry_run {
        return Ok(Outcome::Report {
            batch_id: None,
            rows: checked.rows,
            accepted: checked.accepted.len(),
            problems: checked.problems,
        });
    }
    if checked.accepted.is_empty() {
        // No empty batch: a commit must store at least one row. Every row
        // stored already may mean this very file was just committed by
        // another request (its rows and its hash land in one transaction):
        // that is the earlier batch, as for any repeated file.
        if let Some(earlier) = batches::by_hash(conn, round.id, &hash).map_err(store_error)? {
            return Ok(Outcome::Duplicate(earlier.id));
        }
        let rows = checked.rows;
        return Err(ApiError::unprocessable(String::new())
            .with_text("error.nothing_to_commit", &[("rows", &rows)])
            .with_report(report(None, rows, 0, &checked.problems, false)));
    }
    let mode =
        if !checked.accepted.is_empty() && checked.accepted.iter().all(|r| r.mode == "tablet") {
            Mode::Tablet
        } else {
            Mode::Paper
        };
    let rows_read = checked.rows;
    let rows_rejected = checked.rejected();
    // Each checked row becomes the store's row and is dropped at once, so
    // the two forms of a large batch are never all in memory together.
    let rows = std::mem::take(&mut checked.accepted)
        .into_iter()
        .map(|row| row.to_store(&instrument))
        .collect::<Result<Vec<_>, _>>()
        .map_err(store_error)?;
    let user =
        literacy_store::users::by_username(conn, &up.uploader).map_err(ApiError::internal)?;
    let checked_problems = checked.problems;
    // The report as stored with the batch, in its commit's transaction.
    let stored_report = |receipt: &batches::BatchReceipt| {
        Some(report(
            Some(receipt.batch_id),
            rows_read,
            receipt.accepted,
            &with_duplicates(checked_problems.clone(), receipt),
            false,
        ))
    };
    let outcome = batches::commit_with_report(
        conn,
        &NewBatch {
            round_id: round.id,
            province: i32::from(province),
            uploader_id: user.as_ref().map(|u| u.id),
            file_name: &up.file_name,
            file_hash: &hash,
            mode,
            rows_rejected,
            rows: &rows,
        },
        stored_report,
    )
    .map_err(|e| match e {
        BatchError::RoundNotFound => {
            ApiError::not_found(String::new()).with_text("error.no_such_round", &[])
        }
        BatchError::RoundNotOpen => {
            ApiError::conflict(String::new()).with_text("error.round_not_open", &[])
        }
        BatchError::TooLarge => {
            ApiError::too_large(String::new()).with_text("error.batch_too_large", &[])
        }
        BatchError::Contended => {
            ApiError::conflict(String::new()).with_text("error.batch_contended", &[])
        }
        BatchError::Store(e) => store_error(e),
    })?;
    let receipt = match outcome {
        BatchOutcome::DuplicateOf { batch_id } => return Ok(Outcome::Duplicate(batch_id)),
        BatchOutcome::Committed(receipt) => receipt,
    };
    let problems = with_duplicates(checked_problems, &receipt);
    Ok(Outcome::Report {
        batch_id: Some(receipt.batch_id),
        rows: rows_read,
        accepted: receipt.accepted,
        problems,
    })
}

/// The check's problems and the rows the commit found already stored, by line.
fn with_duplicates(mut problems: Problems, receipt: &batches::BatchReceipt) -> Problems {
    for d in &receipt.duplicates {
        problems.push(Problem::already_stored(d.line, &d.respondent_id));
    }
    problems.sort();
    problems
}
