//! Provincial paper batches: a dry run lists every problem; a commit stores
//! the accepted rows in one transaction; the same file again changes nothing.

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use literacy_store::audit;
use literacy_store::batches::{self, BatchError, BatchOutcome, NewBatch};
use literacy_store::submissions::Mode;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::auth::{Role, Staff};
use crate::batch::{self, BatchFileError, Problem, Problems};
use crate::error::ApiError;
use crate::state::{AppState, State, db, round_by_code, store_error};
use literacy_store::DbConn;
use literacy_table::{Encoding, Options};

/// Largest CSV body accepted.
pub(crate) const MAX_CSV: usize = 64 * 1024 * 1024;

/// Query of an upload.
#[derive(Deserialize)]
pub(crate) struct UploadQuery {
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default)]
    file_name: Option<String>,
    /// `auto` (default), `utf-8`, `utf-16le`, `utf-16be`, `gb18030` (`gbk`).
    #[serde(default)]
    encoding: Option<String>,
    /// A spreadsheet's sheet (default: the first).
    #[serde(default)]
    sheet: Option<String>,
}

/// Reads the body up to `limit` bytes; 413 beyond.
async fn read_body(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::too_large(format!(
                "the body is larger than {} MB",
                limit / (1024 * 1024)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The report of a check or commit: `errors` lists at most
/// [`batch::LISTED_PER_COLUMN`] problems per column, `error_counts` counts
/// every one by column, `errors_unlisted` says how many were not listed.
fn report(
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

/// The content types a batch may come as: text, or a spreadsheet (told
/// apart by its first bytes, whatever the type says).
const BATCH_TYPES: [&str; 7] = [
    "text/csv",
    "text/plain",
    "application/octet-stream",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.ms-excel.sheet.binary.macroenabled.12",
];

/// `POST /api/v1/rounds/{round}/batches?dry_run=true|false` (uploader; body
/// `text/csv` or a spreadsheet).
pub(crate) async fn upload(
    state: State,
    staff: Staff,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let province = staff.province()?;
    let uploader = staff.0.sub.clone();
    if let Some(ct) = req.headers().get(actix_web::http::header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        if !BATCH_TYPES.iter().any(|t| ct.starts_with(t)) {
            return Err(ApiError::new(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the batch as text/csv, or as a spreadsheet (.xlsx, .xls, .ods)",
            ));
        }
    }
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_CSV) {
        return Err(ApiError::too_large(format!(
            "the body is larger than {} MB",
            MAX_CSV / (1024 * 1024)
        )));
    }
    let body = read_body(payload, MAX_CSV).await?;
    let code = path.into_inner();
    let UploadQuery {
        dry_run,
        file_name,
        encoding,
        sheet,
    } = query.into_inner();
    let read = Options {
        encoding: match encoding {
            None => Encoding::Auto,
            Some(name) => name.parse::<Encoding>().map_err(ApiError::bad_request)?,
        },
        sheet,
    };
    let dry_run = dry_run.unwrap_or(false);
    let file_name = file_name.unwrap_or_else(|| "upload.csv".to_owned());
    let (status, out) = db(&state, move |s, conn| {
        let outcome = run_batch(
            s,
            conn,
            &Upload {
                code: &code,
                province,
                uploader: &uploader,
                file_name: &file_name,
                body: &body,
                dry_run,
                read: &read,
            },
        )?;
        Ok(match outcome {
            Outcome::Unreadable(why) => {
                return Err(ApiError::unprocessable(
                    why.map_or_else(|| "the body is empty".to_owned(), |e| e.to_string()),
                ));
            }
            Outcome::Duplicate(id) => (200, json!({"duplicate_of": id})),
            Outcome::Report {
                batch_id,
                rows,
                accepted,
                problems,
            } => (
                if batch_id.is_some() { 201 } else { 200 },
                report(batch_id, rows, accepted, &problems, batch_id.is_none()),
            ),
        })
    })
    .await?;
    Ok(if status == 201 {
        HttpResponse::Created().json(out)
    } else {
        HttpResponse::Ok().json(out)
    })
}

/// `GET /api/v1/batches/{id}`.
pub(crate) async fn get(
    state: State,
    staff: Staff,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    // The router let in uploaders, statisticians and admins; an uploader
    // sees only the own province's batches.
    let own_province = match staff.0.role {
        Role::Uploader => Some(staff.province()?),
        _ => None,
    };
    let out = db(&state, move |_, conn| {
        let batch = batches::get(conn, id)
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found(format!("no batch {id}")))?;
        if own_province.is_some_and(|p| i32::from(p) != batch.province) {
            return Err(ApiError::forbidden(
                "this batch belongs to another province",
            ));
        }
        let stored = audit::latest(conn, &format!("batch:{id}"), "batch.report")
            .map_err(store_error)?
            .and_then(|e| e.detail)
            .and_then(|d| serde_json::from_str::<Value>(&d).ok());
        let mut out = stored.unwrap_or_else(|| {
            json!({
                "batch_id": batch.id,
                "dry_run": false,
                "rows": batch.rows_total,
                "accepted": batch.rows_accepted,
                "rejected": batch.rows_total - batch.rows_accepted,
                "errors": [],
            })
        });
        if let Value::Object(m) = &mut out {
            m.insert("file_name".into(), json!(batch.file_name));
            m.insert("province".into(), json!(batch.province));
            m.insert("created_at".into(), json!(batch.created_at));
        }
        Ok(out)
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
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
pub(crate) struct Upload<'a> {
    /// The round's code.
    pub code: &'a str,
    /// The uploader's province.
    pub province: u16,
    /// The uploader's username.
    pub uploader: &'a str,
    /// The file's name.
    pub file_name: &'a str,
    /// The file.
    pub body: &'a [u8],
    /// Check only.
    pub dry_run: bool,
    /// How the file is read (a text file's encoding, a spreadsheet's sheet).
    pub read: &'a Options,
}

/// Checks (and, unless `dry_run`, commits) a batch, as the JSON API does:
/// the file hash makes a repeated commit a no-op, stored respondents are
/// never overwritten, and the full report is audited.
pub(crate) fn run_batch(
    s: &AppState,
    conn: &mut DbConn,
    up: &Upload<'_>,
) -> Result<Outcome, ApiError> {
    let Upload {
        code,
        province,
        uploader,
        file_name,
        body,
        dry_run,
        read,
    } = *up;
    let hash: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let round = round_by_code(conn, code)?;
    if let Some(earlier) = batches::by_hash(conn, round.id, &hash).map_err(store_error)? {
        return Ok(Outcome::Duplicate(earlier.id));
    }
    let instrument = s.instrument(conn, round.instrument_id)?;
    let mut checked = match batch::check(&instrument, province, body, read) {
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
    let user = literacy_store::users::by_username(conn, uploader).map_err(ApiError::internal)?;
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
            file_name,
            file_hash: &hash,
            mode,
            rows_rejected,
            rows: &rows,
        },
        stored_report,
    )
    .map_err(|e| match e {
        BatchError::RoundNotFound => ApiError::not_found("no such round"),
        BatchError::RoundNotOpen => ApiError::conflict("the round is not open"),
        BatchError::TooLarge => ApiError::too_large("the batch is too large"),
        BatchError::Contended => {
            ApiError::conflict("the batch clashed with a concurrent upload; retry")
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
