//! The provincial upload page: choose a CSV, see the dry-run report as a
//! table (line, column, value, problem), download the problems as CSV, then
//! commit; and the province's past batches with their counts.
//!
//! Nothing is kept between the check and the commit: the checked file
//! travels back in the commit form (a hidden field), so any replica can
//! commit it, and the store's file hash makes a second commit a no-op.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{self, Path, Payload};
use base64::Engine as _;
use literacy_store::DbConn;
use literacy_store::audit;
use literacy_store::batches;
use serde_json::Value;

use askama::Template;

use super::sign_in::staff_page;
use super::{Ctx, Frame, Lang, PageError, PageResult, field, page_db, round_statuses, url_encode};
use crate::app::batches::{Outcome, Upload, run_batch};
use crate::auth::{Claims, Role};
use crate::batch::{BatchFileError, Problem, Problems};
use crate::body::{BodyError, read_limited};
use crate::error::ApiError;
use crate::state::{State, round_by_code, store_error};

/// Largest upload accepted by the page (the file plus the form).
pub const MAX_UPLOAD: usize = 32 * 1024 * 1024;

/// Registers the upload pages.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/upload", web::get().to(rounds_page))
        .route("/upload/{round}", web::get().to(upload_page))
        .route("/upload/{round}/check", web::post().to(check))
        .route("/upload/{round}/commit", web::post().to(commit))
        .route("/upload/{round}/batches/{id}", web::get().to(batch_page));
}

/// The uploader's claims and province, or a redirect to sign in.
fn uploader(ctx: &Ctx, state: &State) -> Result<(Claims, u16), HttpResponse> {
    staff_page(ctx, state, ctx.lang.msg("staff.only_uploader"), |c| {
        let province = c
            .province
            .as_deref()
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| literacy_core::demographics::province(*p).is_some());
        match (c.role, province) {
            (Role::Uploader, Some(p)) => Some((c, p)),
            _ => None,
        }
    })
}

fn province_name(code: u16, lang: Lang) -> String {
    literacy_core::demographics::province(code)
        .map(|p| lang.t(p.name_zh, p.name_en).to_owned())
        .unwrap_or_else(|| code.to_string())
}

/// The rounds page's content.
#[derive(Template)]
#[template(path = "upload_rounds.html")]
struct RoundsPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    who: &'a str,
    /// The uploader's province.
    province: String,
    /// Each round's code and status.
    rounds: Vec<(String, &'static str)>,
}

/// `GET /upload`: the rounds open for batches.
async fn rounds_page(ctx: Ctx, state: State) -> PageResult {
    let lang = ctx.lang;
    let (who, province) = admit!(uploader(&ctx, &state));
    let page = RoundsPage {
        lang,
        frame: ctx.frame(lang.msg("upload.title")),
        csrf: &ctx.csrf,
        who: &who.sub,
        province: province_name(province, lang),
        rounds: round_statuses(&state, lang).await?,
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

/// The province's committed batches of a round, newest first.
fn past_batches(
    conn: &mut DbConn,
    code: &str,
    province: u16,
) -> Result<Vec<batches::Batch>, ApiError> {
    let round = round_by_code(conn, code)?;
    let mut list: Vec<batches::Batch> = batches::list(conn, round.id)
        .map_err(store_error)?
        .into_iter()
        .filter(|b| b.province == i32::from(province))
        .collect();
    list.reverse();
    Ok(list)
}

/// The reading options a form names (an unknown encoding is refused).
fn read_options(form: &Multipart, lang: Lang) -> Result<literacy_table::Options, PageError> {
    let encoding = form.field("encoding").unwrap_or("auto");
    let encoding = literacy_table::Encoding::parse(encoding).ok_or_else(|| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            lang,
            lang.msg("upload.unknown_encoding"),
        )
    })?;
    Ok(literacy_table::Options {
        encoding,
        sheet: None,
    })
}

/// `GET /upload/{round}`.
async fn upload_page(ctx: Ctx, state: State, path: Path<String>) -> PageResult {
    let lang = ctx.lang;
    let (who, province) = admit!(uploader(&ctx, &state));
    let code = path.into_inner();
    let code2 = code.clone();
    let list = page_db(&state, lang, move |_, conn| {
        past_batches(conn, &code2, province)
    })
    .await?;
    let page = UploadPage::new(&ctx, &who, province, &code, list);
    Ok(ctx.render(StatusCode::OK, &page))
}

/// A problem as the report lists it (message in the page's language).
struct ProblemRow {
    line: u64,
    column: String,
    value: String,
    message: String,
}

impl ProblemRow {
    fn of(p: &Problem, lang: Lang) -> ProblemRow {
        ProblemRow {
            line: p.line,
            column: p.column.clone(),
            value: p.value.clone(),
            message: p.message_in(lang.tag()).to_owned(),
        }
    }
}

/// A dry run's report with the commit form.
struct Report {
    file_name: String,
    /// How many rows, stored or not.
    summary: String,
    accepted: usize,
    problems: Vec<ProblemRow>,
    /// How many problems are counted but not listed, if any.
    unlisted: Option<String>,
    /// The problems as CSV, percent-encoded for a `data:` link.
    csv_href: String,
    /// The file's name without `.csv`, for the problems' file name.
    csv_file: String,
    /// The encoding the file was read in.
    encoding: &'static str,
    /// The checked file's exact bytes, base64, for the commit.
    body_base64: String,
    /// The commit button's text.
    commit: String,
}

/// A committed batch's report.
struct BatchReport {
    id: i64,
    file_name: String,
    summary: String,
    problems: Vec<ProblemRow>,
}

/// A round's upload page: the form, a check's report or a committed
/// batch, and the province's batches of the round.
#[derive(Template)]
#[template(path = "upload.html")]
struct UploadPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    who: &'a str,
    /// The round's code.
    code: &'a str,
    show_form: bool,
    /// Why the last file was refused.
    form_error: Option<String>,
    /// The batch an identical file was committed as.
    duplicate: Option<i64>,
    report: Option<Report>,
    batch: Option<BatchReport>,
    /// The province's committed batches, newest first.
    batches: Vec<batches::Batch>,
}

impl<'a> UploadPage<'a> {
    /// The page with the upload form and nothing else.
    fn new(
        ctx: &'a Ctx,
        who: &'a Claims,
        province: u16,
        code: &'a str,
        batches: Vec<batches::Batch>,
    ) -> Self {
        let lang = ctx.lang;
        let title = lang.msgf(
            "upload.round_title",
            &[
                ("province", &province_name(province, lang)),
                ("round", &code),
            ],
        );
        UploadPage {
            lang,
            frame: ctx.frame(&title),
            csrf: &ctx.csrf,
            who: &who.sub,
            code,
            show_form: true,
            form_error: None,
            duplicate: None,
            report: None,
            batch: None,
            batches,
        }
    }
}

/// A file and the fields of a `multipart/form-data` body.
#[derive(Default)]
pub(super) struct Multipart {
    fields: Vec<(String, String)>,
    pub(super) file: Option<(String, Vec<u8>)>,
}

impl Multipart {
    pub(super) fn field(&self, name: &str) -> Option<&str> {
        field(&self.fields, name)
    }
}

/// Where `needle` first occurs in `haystack` at or after `from` (memchr's
/// linear search).
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(haystack.get(from..)?, needle).map(|i| i + from)
}

fn header_param(header: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = header.find(&key)? + key.len();
    let end = header[start..].find('"')? + start;
    Some(header[start..end].to_owned())
}

/// Parses a `multipart/form-data` body (the part named `file` is the
/// file), in one linear pass; `None` for anything malformed (no boundary,
/// headers that never end or are not text, a part not closed by
/// `CRLF--boundary`, a text field that is not UTF-8). Never panics.
fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Multipart> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    if boundary.is_empty() || boundary.len() > 70 {
        return None;
    }
    let first = format!("--{boundary}");
    // Every delimiter after the first is preceded by a line break.
    let delimiter = format!("\r\n--{boundary}");
    let mut out = Multipart::default();
    let mut at = find(body, first.as_bytes(), 0)? + first.len();
    loop {
        if body.get(at..at + 2)? == b"--" {
            return Some(out);
        }
        if body.get(at..at + 2)? != b"\r\n" {
            return None;
        }
        let head_start = at + 2;
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = std::str::from_utf8(body.get(head_start..head_end)?).ok()?;
        let content_start = head_end + 4;
        let next = find(body, delimiter.as_bytes(), content_start)?;
        let content = body.get(content_start..next)?;
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))?;
        let name = header_param(disposition, "name")?;
        if name == "file" {
            let file_name = header_param(disposition, "filename").unwrap_or_default();
            out.file = Some((file_name, content.to_vec()));
        } else {
            out.fields
                .push((name, String::from_utf8(content.to_vec()).ok()?));
        }
        at = next + delimiter.len();
    }
}

/// Reads a posted `multipart/form-data` body (at most [`MAX_UPLOAD`]
/// bytes) and checks its CSRF field.
pub(super) async fn read_form(ctx: &Ctx, payload: Payload) -> Result<Multipart, PageError> {
    let (req, lang) = (&ctx.req, ctx.lang);
    let body = read_limited(req, payload, MAX_UPLOAD)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => PageError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                lang,
                lang.msg("upload.too_large"),
            ),
            BodyError::Broken(_) => {
                PageError::new(StatusCode::BAD_REQUEST, lang, lang.msg("upload.broke_off"))
            }
        })?;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let form = parse_multipart(content_type, &body).ok_or_else(|| {
        PageError::new(StatusCode::BAD_REQUEST, lang, lang.msg("form.unreadable"))
    })?;
    ctx.check_csrf(form.field("csrf"))?;
    Ok(form)
}

/// The problems as CSV, messages in `lang` (with a BOM so spreadsheet
/// programs read Chinese).
fn problems_csv(lang: Lang, problems: &[Problem]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["line", "column", "value", "problem"]);
    for p in problems {
        let line = p.line.to_string();
        let fields = [&line, &p.column, &p.value, p.message_in(lang.tag())];
        let _ = crate::csv_cell::write_row(&mut w, fields);
    }
    let bytes = w.into_inner().unwrap_or_default();
    format!("\u{feff}{}", String::from_utf8_lossy(&bytes))
}

/// Says how many problems were counted but not listed (each column lists
/// at most [`crate::batch::LISTED_PER_COLUMN`]).
fn unlisted_note(lang: Lang, unlisted: usize) -> Option<String> {
    (unlisted > 0).then(|| {
        lang.msgf(
            "upload.unlisted",
            &[
                ("unlisted", &unlisted),
                ("n", &crate::batch::LISTED_PER_COLUMN),
            ],
        )
    })
}

/// A file's refusal in `lang`: none chosen, or why it cannot be read.
fn unreadable(lang: Lang, why: Option<&BatchFileError>) -> String {
    match why {
        None => lang.msg("upload.no_file").to_owned(),
        Some(e) => lang.msgf(
            "upload.unreadable",
            &[("why", &lang.t(&e.zh(), &e.to_string()))],
        ),
    }
}

/// `POST /upload/{round}/check`: the dry run, as a table, with the commit form.
async fn check(ctx: Ctx, state: State, path: Path<String>, payload: Payload) -> PageResult {
    let lang = ctx.lang;
    let (who, province) = admit!(uploader(&ctx, &state));
    let form = read_form(&ctx, payload).await?;
    let read = read_options(&form, lang)?;
    let encoding = read.encoding;
    let code = path.into_inner();
    let (file_name, body) = form.file.unwrap_or_default();
    let file_name = if file_name.trim().is_empty() {
        "upload.csv".to_owned()
    } else {
        file_name
    };
    let upload = Upload {
        code: code.clone(),
        province,
        uploader: who.sub.clone(),
        file_name: file_name.clone(),
        body: body.clone(),
        dry_run: true,
        read,
    };
    let (outcome, list) = page_db(&state, lang, move |s, conn| {
        let outcome = if upload.body.is_empty() {
            Outcome::Unreadable(None)
        } else {
            run_batch(s, conn, &upload)?
        };
        Ok((outcome, past_batches(conn, &upload.code, province)?))
    })
    .await?;
    let mut page = UploadPage::new(&ctx, &who, province, &code, list);
    let status = match outcome {
        Outcome::Unreadable(why) => {
            page.form_error = Some(unreadable(lang, why.as_ref()));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Outcome::Duplicate(id) => {
            page.duplicate = Some(id);
            StatusCode::OK
        }
        Outcome::Report {
            rows,
            accepted,
            problems,
            ..
        } => {
            page.show_form = false;
            page.report = Some(report(
                lang,
                file_name,
                rows,
                accepted,
                &problems,
                encoding.name(),
                &body,
            ));
            StatusCode::OK
        }
    };
    Ok(ctx.render(status, &page))
}

/// A dry run's report, in `lang`, with what the commit form sends back.
fn report(
    lang: Lang,
    file_name: String,
    rows: usize,
    accepted: usize,
    problems: &Problems,
    encoding: &'static str,
    body: &[u8],
) -> Report {
    let listed = problems.listed();
    Report {
        summary: lang.msgf(
            "upload.summary",
            &[
                ("rows", &rows),
                ("accepted", &accepted),
                ("rejected", &(rows - accepted)),
            ],
        ),
        accepted,
        problems: listed.iter().map(|p| ProblemRow::of(p, lang)).collect(),
        unlisted: unlisted_note(lang, problems.unlisted()),
        csv_href: url_encode(&problems_csv(lang, listed)),
        csv_file: file_name
            .trim_end_matches(".csv")
            .replace(['"', '/', '\\'], "_"),
        encoding,
        body_base64: base64::engine::general_purpose::STANDARD.encode(body),
        commit: lang.msgf("upload.commit", &[("accepted", &accepted)]),
        file_name,
    }
}

/// `POST /upload/{round}/commit`: stores the checked file, then shows the
/// batch (POST-redirect-GET).
async fn commit(ctx: Ctx, state: State, path: Path<String>, payload: Payload) -> PageResult {
    let lang = ctx.lang;
    let (who, province) = admit!(uploader(&ctx, &state));
    let form = read_form(&ctx, payload).await?;
    let code = path.into_inner();
    // The checked file's exact bytes, base64 (form fields' line breaks
    // would otherwise be rewritten by the browser, changing the file hash).
    let csv = base64::engine::general_purpose::STANDARD
        .decode(form.field("csv").unwrap_or_default().trim())
        .map_err(|_| PageError::new(StatusCode::BAD_REQUEST, lang, lang.msg("form.unreadable")))?;
    let file_name = form.field("file_name").unwrap_or("upload.csv").to_owned();
    let read = read_options(&form, lang)?;
    let upload = Upload {
        code: code.clone(),
        province,
        uploader: who.sub.clone(),
        file_name,
        body: csv,
        dry_run: false,
        read,
    };
    let outcome = page_db(&state, lang, move |s, conn| run_batch(s, conn, &upload)).await?;
    match outcome {
        Outcome::Duplicate(id)
        | Outcome::Report {
            batch_id: Some(id), ..
        } => Ok(ctx.redirect(&format!("/upload/{}/batches/{id}", url_encode(&code)))),
        Outcome::Unreadable(why) => Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            unreadable(lang, why.as_ref()),
        )),
        Outcome::Report { batch_id: None, .. } => Err(PageError::api(
            lang,
            ApiError::internal("a commit gave no batch"),
        )),
    }
}

/// `GET /upload/{round}/batches/{id}`: a committed batch's report.
async fn batch_page(ctx: Ctx, state: State, path: Path<(String, i64)>) -> PageResult {
    let lang = ctx.lang;
    let (who, province) = admit!(uploader(&ctx, &state));
    let (code, id) = path.into_inner();
    let code2 = code.clone();
    let (found, report, list) = page_db(&state, lang, move |_, conn| {
        let found = batches::get(conn, id).map_err(store_error)?;
        let report = audit::latest(conn, &format!("batch:{id}"), "batch.report")
            .map_err(store_error)?
            .and_then(|e| e.detail)
            .and_then(|d| serde_json::from_str::<Value>(&d).ok());
        Ok((found, report, past_batches(conn, &code2, province)?))
    })
    .await?;
    let Some(b) = found.filter(|b| b.province == i32::from(province)) else {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            lang,
            lang.msg("upload.no_batch"),
        ));
    };
    let problems: Vec<Problem> = report
        .as_ref()
        .and_then(|r| r["errors"].as_array())
        .into_iter()
        .flatten()
        .map(|p| Problem {
            line: p["line"].as_u64().unwrap_or(0),
            column: p["column"].as_str().unwrap_or_default().to_owned(),
            value: p["value"].as_str().unwrap_or_default().to_owned(),
            message: p["message"].as_str().unwrap_or_default().to_owned(),
            message_zh: p["message_zh"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    let mut page = UploadPage::new(&ctx, &who, province, &code, list);
    page.show_form = false;
    page.batch = Some(BatchReport {
        id: b.id,
        summary: lang.msgf(
            "upload.batch_summary",
            &[
                ("accepted", &b.rows_accepted),
                ("rejected", &b.rows_rejected),
                ("duplicate", &b.rows_duplicate),
            ],
        ),
        file_name: b.file_name,
        problems: problems.iter().map(|p| ProblemRow::of(p, lang)).collect(),
    });
    Ok(ctx.render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_fields_and_the_file_are_read() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n1,2\r\n\r\n--XyZ--\r\n";
        let m = parse_multipart("multipart/form-data; boundary=XyZ", body).expect("parsed");
        assert_eq!(m.field("csrf"), Some("abc"));
        let (name, content) = m.file.expect("file");
        assert_eq!(name, "b.csv");
        assert_eq!(content, b"a,b\r\n1,2\r\n");
        assert!(parse_multipart("multipart/form-data; boundary=nope", body).is_none());
    }

    #[test]
    fn malformed_bodies_are_refused_without_panicking() {
        let ct = "multipart/form-data; boundary=XyZ";
        for body in [
            &b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n--XyZ--\r\n"[..],
            b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc",
            b"--XyZ",
            b"--XyZ\r",
            b"",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n\xff\r\n--XyZ--\r\n",
        ] {
            assert!(parse_multipart(ct, body).is_none(), "{body:?}");
        }
        // An empty file part is a part (its content is empty).
        let empty = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"e.csv\"\r\n\r\n\r\n--XyZ--\r\n";
        let m = parse_multipart(ct, empty).expect("parsed");
        assert_eq!(m.file, Some(("e.csv".to_owned(), Vec::new())));
    }

    #[test]
    fn a_large_body_full_of_dashes_is_read_whole() {
        // 8 MB of a file full of dashes and line breaks (what made the old
        // search slow), in one part.
        let mut body =
            b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n"
                .to_vec();
        body.extend(std::iter::repeat_n(b"--\r\n-", (8 << 20) / 5).flatten());
        body.extend_from_slice(b"\r\n--B--\r\n");
        let m = parse_multipart("multipart/form-data; boundary=B", &body).expect("parsed");
        assert_eq!(m.file.map(|(_, c)| c.len()), Some((8 << 20) / 5 * 5));
    }
}
