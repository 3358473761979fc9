//! Provincial paper batches: a dry run lists every problem; a commit stores
//! the accepted rows in one transaction; the same file again changes nothing.

use actix_web::{HttpRequest, HttpResponse, web};
use literacy_store::audit;
use literacy_store::batches::{self};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::batches::{Outcome, Upload, report, run_batch};
use crate::auth::{Role, Staff};
use crate::body::{BodyError, read_limited};
use crate::error::ApiError;
use crate::state::{State, db, store_error};
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
    let body = read_limited(&req, payload, MAX_CSV)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => ApiError::too_large(format!(
                "the body is larger than {} MB",
                MAX_CSV / (1024 * 1024)
            )),
            BodyError::Broken(e) => ApiError::bad_request(format!("reading the body: {e}")),
        })?;
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
    let upload = Upload {
        code,
        province,
        uploader,
        file_name,
        body,
        dry_run,
        read,
    };
    let (status, out) = db(&state, move |s, conn| {
        let outcome = run_batch(s, conn, &upload)?;
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
