//! The provincial upload page: choose a CSV, see the dry-run report as a
//! table (line, column, value, problem), download the problems as CSV, then
//! commit; and the province's past batches with their counts.
//!
//! Nothing is kept between the check and the commit: the checked file
//! travels back in the commit form (a hidden field), so any replica can
//! commit it, and the store's file hash makes a second commit a no-op.

use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use futures_util::StreamExt;
use literacy_store::DbConn;
use literacy_store::audit;
use literacy_store::batches;
use serde_json::Value;

use super::sign_in::staff_page;
use super::{Ctx, Lang, PageError, TABLE_END, esc, table_start, url_encode};
use crate::app::batches::{Outcome, Upload, run_batch};
use crate::auth::{Claims, Role};
use crate::batch::Problem;
use crate::error::ApiError;
use crate::state::{State, db, round_by_code, store_error};

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
fn uploader(req: &HttpRequest, state: &State, ctx: &Ctx) -> Result<(Claims, u16), HttpResponse> {
    staff_page(req, state, ctx, ctx.lang.msg("staff.only_uploader"), |c| {
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

/// `GET /upload`: the rounds open for batches.
async fn rounds_page(req: HttpRequest, state: State) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let (who, province) = match uploader(&req, &state, &ctx) {
        Ok(x) => x,
        Err(res) => return Ok(res),
    };
    let list = db(&state, |_, conn| {
        literacy_store::rounds::list(conn).map_err(ApiError::internal)
    })
    .await
    .map_err(|e| PageError::api(lang, e))?;
    let title = lang.t("上传纸质问卷批次", "Upload paper batches");
    let mut body = format!(
        "{}<h1>{}</h1><p>{}</p><ul class=\"links\">",
        super::sign_in::logout_form(&ctx, &who.sub),
        esc(title),
        esc(&province_name(province, lang)),
    );
    for r in list {
        let _ = write!(
            body,
            r#"<li><a href="/upload/{c}">{} {c}</a> ({})</li>"#,
            lang.t("调查轮次", "Round"),
            r.status.name(),
            c = esc(&r.code),
        );
    }
    body.push_str("</ul>");
    Ok(ctx.page(StatusCode::OK, title, &body))
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

fn batches_table(lang: Lang, code: &str, list: &[batches::Batch]) -> String {
    if list.is_empty() {
        return format!(
            "<p>{}</p>",
            lang.t(
                "本省在这一轮还没有提交过批次。",
                "No batch of this province in this round yet."
            )
        );
    }
    let mut out = table_start(
        "cap-batches",
        Some(lang.t("已提交的批次", "Committed batches")),
        None,
        &[
            lang.t("批次", "Batch"),
            lang.t("文件", "File"),
            lang.t("行数", "Rows"),
            lang.t("已入库", "Stored"),
            lang.t("有问题", "Rejected"),
            lang.t("重复", "Duplicates"),
        ],
    );
    for b in list {
        let _ = write!(
            out,
            r#"<tr><td><a href="/upload/{c}/batches/{id}">#{id}</a></td><td>{f}</td><td>{t}</td><td>{a}</td><td>{r}</td><td>{d}</td></tr>"#,
            c = esc(code),
            id = b.id,
            f = esc(&b.file_name),
            t = b.rows_total,
            a = b.rows_accepted,
            r = b.rows_rejected,
            d = b.rows_duplicate,
        );
    }
    out.push_str(TABLE_END);
    out
}

/// The encodings offered for a CSV file: value, Chinese and English label.
const ENCODINGS: [(&str, &str, &str); 4] = [
    ("auto", "自动识别", "Detect it"),
    (
        "gb18030",
        "GBK / GB18030（中文 Excel 另存的 CSV）",
        "GBK / GB18030 (CSV saved by Chinese Excel)",
    ),
    ("utf-8", "UTF-8", "UTF-8"),
    (
        "utf-16le",
        "UTF-16（Unicode 文本）",
        "UTF-16 (Unicode text)",
    ),
];

/// The reading options a form names (an unknown encoding is refused).
fn read_options(form: &Multipart, lang: Lang) -> Result<literacy_table::Options, PageError> {
    let encoding = form.field("encoding").unwrap_or("auto");
    let encoding = literacy_table::Encoding::parse(encoding).ok_or_else(|| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            lang,
            lang.t("不认识的编码。", "Unknown encoding."),
        )
    })?;
    Ok(literacy_table::Options {
        encoding,
        sheet: None,
    })
}

fn upload_form(ctx: &Ctx, code: &str, error: Option<&str>) -> String {
    let lang = ctx.lang;
    let (described, err) = match error {
        Some(e) => (
            r#" aria-describedby="file-err" aria-invalid="true""#,
            format!(r#"<p class="err" id="file-err">{}</p>"#, esc(e)),
        ),
        None => ("", String::new()),
    };
    format!(
        r#"<form method="post" action="/upload/{c}/check" enctype="multipart/form-data" class="card">
<input type="hidden" name="csrf" value="{csrf}">
<div class="field"><label for="file">{label}</label>{err}
<p class="hint" id="file-hint">{hint}</p>
<input type="file" id="file" name="file" accept=".csv,text/csv,.xlsx,.xls,.ods" required{described}></div>
<div class="field"><label for="encoding">{enc_label}</label>
<select id="encoding" name="encoding">{enc_options}</select></div>
<button type="submit" class="primary">{go}</button>
</form>"#,
        enc_label = lang.t("CSV 文件的编码", "The CSV file's encoding"),
        enc_options = ENCODINGS
            .iter()
            .map(|(value, zh, en)| format!(
                r#"<option value="{value}">{}</option>"#,
                lang.t(zh, en)
            ))
            .collect::<String>(),
        c = esc(code),
        csrf = ctx.csrf,
        label = lang.t(
            "选择文件（CSV 或 Excel/WPS 电子表格）",
            "Choose a file (CSV, or an Excel or WPS spreadsheet)"
        ),
        hint = lang.t(
            "列：respondent_id、各题、六项人口学变量；可选 mode，以及抽样设计列 stratum（层）、psu（初级抽样单元）、weight（设计权数），有则每行必填。先检查，不会入库；检查无误后再确认提交。",
            "Columns: respondent_id, every item, the six demographics; optionally mode, and the design columns stratum, psu and weight (design weight), given on every row when present. It is checked first and nothing is stored; you commit it after the check.",
        ),
        go = lang.t("检查文件", "Check the file"),
    )
}

/// `GET /upload/{round}`.
async fn upload_page(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let (who, province) = match uploader(&req, &state, &ctx) {
        Ok(x) => x,
        Err(res) => return Ok(res),
    };
    let code = path.into_inner();
    let code2 = code.clone();
    let list = db(&state, move |_, conn| past_batches(conn, &code2, province))
        .await
        .map_err(|e| PageError::api(lang, e))?;
    Ok(page(
        &ctx,
        &who,
        province,
        &code,
        &upload_form(&ctx, &code, None),
        &list,
        StatusCode::OK,
    ))
}

fn page(
    ctx: &Ctx,
    who: &Claims,
    province: u16,
    code: &str,
    main: &str,
    list: &[batches::Batch],
    status: StatusCode,
) -> HttpResponse {
    let lang = ctx.lang;
    let title = match lang {
        Lang::Zh => format!("{}：{code} 轮调查批次上传", province_name(province, lang)),
        Lang::En => format!("{}: batches of round {code}", province_name(province, lang)),
    };
    let body = format!(
        "{}<h1>{}</h1>{main}<section class=\"card\">{}</section>",
        super::sign_in::logout_form(ctx, &who.sub),
        esc(&title),
        batches_table(lang, code, list),
    );
    ctx.page(status, &title, &body)
}

/// A file and the fields of a `multipart/form-data` body.
#[derive(Default)]
pub(super) struct Multipart {
    fields: Vec<(String, String)>,
    pub(super) file: Option<(String, Vec<u8>)>,
}

impl Multipart {
    pub(super) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
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

pub(super) async fn read_form(
    req: &HttpRequest,
    mut payload: web::Payload,
    lang: Lang,
) -> Result<Multipart, PageError> {
    let too_large = || {
        PageError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            lang,
            lang.t(
                "文件太大（上限 32 MB）。",
                "The file is too large (32 MB at most).",
            ),
        )
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                lang,
                lang.t("上传中断。", "The upload broke off."),
            )
        })?;
        if body.len() + chunk.len() > MAX_UPLOAD {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    parse_multipart(content_type, &body).ok_or_else(|| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            lang,
            lang.t("表单无法读取。", "The form could not be read."),
        )
    })
}

/// The problems as CSV, messages in `lang` (with a BOM so spreadsheet
/// programs read Chinese).
fn problems_csv(lang: Lang, problems: &[Problem]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["line", "column", "value", "problem"]);
    for p in problems {
        let _ = w.write_record([
            p.line.to_string(),
            p.column.clone(),
            p.value.clone(),
            p.message_in(lang.tag()).to_owned(),
        ]);
    }
    let bytes = w.into_inner().unwrap_or_default();
    format!("\u{feff}{}", String::from_utf8_lossy(&bytes))
}

/// Says how many problems were counted but not listed (each column lists
/// at most [`crate::batch::LISTED_PER_COLUMN`]).
fn unlisted_note(lang: Lang, unlisted: usize) -> String {
    if unlisted == 0 {
        return String::new();
    }
    let n = crate::batch::LISTED_PER_COLUMN;
    format!(
        r#"<p role="note">{}</p>"#,
        match lang {
            Lang::Zh => format!("另有 {unlisted} 个问题未逐条列出（每列最多列出 {n} 个）。"),
            Lang::En => format!(
                "{unlisted} more problems are not listed one by one (at most {n} per column)."
            ),
        }
    )
}

fn problems_table(lang: Lang, problems: &[Problem]) -> String {
    let mut out = table_start(
        "cap-problems",
        Some(lang.t("有问题的行", "Rows with problems")),
        Some("problems"),
        &[
            lang.t("行", "Line"),
            lang.t("列", "Column"),
            lang.t("值", "Value"),
            lang.t("问题", "Problem"),
        ],
    );
    for p in problems {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.line,
            esc(&p.column),
            esc(&p.value),
            esc(p.message_in(lang.tag()))
        );
    }
    out.push_str(TABLE_END);
    out
}

/// `POST /upload/{round}/check`: the dry run, as a table, with the commit form.
async fn check(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let (who, province) = match uploader(&req, &state, &ctx) {
        Ok(x) => x,
        Err(res) => return Ok(res),
    };
    let form = read_form(&req, payload, lang).await?;
    ctx.check_csrf(form.field("csrf"))?;
    let read = read_options(&form, lang)?;
    let encoding = read.encoding;
    let code = path.into_inner();
    let (file_name, body) = form.file.unwrap_or_default();
    let file_name = if file_name.trim().is_empty() {
        "upload.csv".to_owned()
    } else {
        file_name
    };
    let (code2, sub, body2, name2) = (
        code.clone(),
        who.sub.clone(),
        body.clone(),
        file_name.clone(),
    );
    let (outcome, list) = db(&state, move |s, conn| {
        let outcome = if body2.is_empty() {
            Outcome::Unreadable(None)
        } else {
            run_batch(
                s,
                conn,
                &Upload {
                    code: &code2,
                    province,
                    uploader: &sub,
                    file_name: &name2,
                    body: &body2,
                    dry_run: true,
                    read: &read,
                },
            )?
        };
        Ok((outcome, past_batches(conn, &code2, province)?))
    })
    .await
    .map_err(|e| PageError::api(lang, e))?;
    let main = match outcome {
        Outcome::Unreadable(why) => {
            let message = match why {
                None => lang
                    .t(
                        "请选择一个文件（CSV 或电子表格）。",
                        "Choose a file (CSV or a spreadsheet).",
                    )
                    .to_owned(),
                Some(e) => format!(
                    "{}{}",
                    lang.t("文件无法读取：", "The file cannot be read: "),
                    lang.t(&e.zh(), &e.to_string())
                ),
            };
            return Ok(page(
                &ctx,
                &who,
                province,
                &code,
                &upload_form(&ctx, &code, Some(&message)),
                &list,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
        Outcome::Duplicate(id) => format!(
            r#"<div class="notice" role="status"><p>{} <a href="/upload/{c}/batches/{id}">#{id}</a></p></div>{}"#,
            lang.t(
                "这个文件已经提交过，不会重复入库：",
                "This file was committed before; nothing changes:"
            ),
            upload_form(&ctx, &code, None),
            c = esc(&code),
        ),
        Outcome::Report {
            rows,
            accepted,
            problems,
            ..
        } => {
            let mut main = format!(
                r#"<section class="card" aria-labelledby="h-report"><h2 id="h-report">{h}: {f}</h2><p role="status">{summary}</p>"#,
                h = lang.t("检查结果", "Check report"),
                f = esc(&file_name),
                summary = match lang {
                    Lang::Zh => format!(
                        "共 {rows} 行，{accepted} 行可以入库，{} 行有问题。",
                        rows - accepted
                    ),
                    Lang::En => format!(
                        "{rows} rows: {accepted} can be stored, {} have problems.",
                        rows - accepted
                    ),
                },
            );
            if !problems.is_empty() {
                main.push_str(&problems_table(lang, problems.listed()));
                main.push_str(&unlisted_note(lang, problems.unlisted()));
                let _ = write!(
                    main,
                    r#"<p class="downloads"><a href="data:text/csv;charset=utf-8,{}" download="problems-{}.csv">{}</a></p>"#,
                    url_encode(&problems_csv(lang, problems.listed())),
                    esc(&file_name
                        .trim_end_matches(".csv")
                        .replace(['"', '/', '\\'], "_")),
                    lang.t("下载问题清单（CSV）", "Download the problems (CSV)"),
                );
            }
            let _ = write!(
                main,
                r#"<form method="post" action="/upload/{c}/commit" enctype="multipart/form-data" class="commit">
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="file_name" value="{f}">
<input type="hidden" name="encoding" value="{enc}">
<input type="hidden" name="csv" value="{csv}">
<button type="submit" class="primary"{disabled}>{go}</button>
</form>
<p><a href="/upload/{c}">{again}</a></p></section>"#,
                c = esc(&code),
                csrf = ctx.csrf,
                f = esc(&file_name),
                enc = encoding.name(),
                csv = base64::engine::general_purpose::STANDARD.encode(&body),
                disabled = if accepted == 0 { " disabled" } else { "" },
                go = match lang {
                    Lang::Zh => format!("提交 {accepted} 行可以入库的数据"),
                    Lang::En => format!("Commit the {accepted} rows that can be stored"),
                },
                again = lang.t("改正后重新选择文件", "Choose a corrected file"),
            );
            main
        }
    };
    Ok(page(
        &ctx,
        &who,
        province,
        &code,
        &main,
        &list,
        StatusCode::OK,
    ))
}

/// `POST /upload/{round}/commit`: stores the checked file, then shows the
/// batch (POST-redirect-GET).
async fn commit(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let (who, province) = match uploader(&req, &state, &ctx) {
        Ok(x) => x,
        Err(res) => return Ok(res),
    };
    let form = read_form(&req, payload, lang).await?;
    ctx.check_csrf(form.field("csrf"))?;
    let code = path.into_inner();
    // The checked file's exact bytes, base64 (form fields' line breaks
    // would otherwise be rewritten by the browser, changing the file hash).
    let csv = base64::engine::general_purpose::STANDARD
        .decode(form.field("csv").unwrap_or_default().trim())
        .map_err(|_| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                lang,
                lang.t("表单无法读取。", "The form could not be read."),
            )
        })?;
    let file_name = form.field("file_name").unwrap_or("upload.csv").to_owned();
    let read = read_options(&form, lang)?;
    let (code2, sub) = (code.clone(), who.sub.clone());
    let outcome = db(&state, move |s, conn| {
        run_batch(
            s,
            conn,
            &Upload {
                code: &code2,
                province,
                uploader: &sub,
                file_name: &file_name,
                body: &csv,
                dry_run: false,
                read: &read,
            },
        )
    })
    .await
    .map_err(|e| PageError::api(lang, e))?;
    match outcome {
        Outcome::Duplicate(id)
        | Outcome::Report {
            batch_id: Some(id), ..
        } => Ok(ctx.redirect(&format!("/upload/{}/batches/{id}", url_encode(&code)))),
        Outcome::Unreadable(why) => Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            why.map_or_else(String::new, |e| lang.t(&e.zh(), &e.to_string()).to_owned()),
        )),
        Outcome::Report { batch_id: None, .. } => Err(PageError::api(
            lang,
            ApiError::internal("a commit gave no batch"),
        )),
    }
}

/// `GET /upload/{round}/batches/{id}`: a committed batch's report.
async fn batch_page(
    req: HttpRequest,
    state: State,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let (who, province) = match uploader(&req, &state, &ctx) {
        Ok(x) => x,
        Err(res) => return Ok(res),
    };
    let (code, id) = path.into_inner();
    let code2 = code.clone();
    let (found, report, list) = db(&state, move |_, conn| {
        let found = batches::get(conn, id).map_err(store_error)?;
        let report = audit::latest(conn, &format!("batch:{id}"), "batch.report")
            .map_err(store_error)?
            .and_then(|e| e.detail)
            .and_then(|d| serde_json::from_str::<Value>(&d).ok());
        Ok((found, report, past_batches(conn, &code2, province)?))
    })
    .await
    .map_err(|e| PageError::api(lang, e))?;
    let Some(b) = found.filter(|b| b.province == i32::from(province)) else {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            lang,
            lang.t("没有这个批次。", "There is no such batch."),
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
    let mut main = format!(
        r#"<section class="card" aria-labelledby="h-batch"><h2 id="h-batch">{h} #{id}: {f}</h2><p role="status" class="ok">{summary}</p>"#,
        h = lang.t("已提交批次", "Committed batch"),
        f = esc(&b.file_name),
        summary = match lang {
            Lang::Zh => format!(
                "已入库 {} 行；{} 行有问题未入库；{} 行重复未入库。",
                b.rows_accepted, b.rows_rejected, b.rows_duplicate
            ),
            Lang::En => format!(
                "{} rows stored; {} rows with problems and {} duplicates were not stored.",
                b.rows_accepted, b.rows_rejected, b.rows_duplicate
            ),
        },
    );
    if !problems.is_empty() {
        main.push_str(&problems_table(lang, &problems));
    }
    let _ = write!(
        main,
        r#"<p><a href="/upload/{c}">{}</a></p></section>"#,
        lang.t("上传另一个文件", "Upload another file"),
        c = esc(&code),
    );
    Ok(page(
        &ctx,
        &who,
        province,
        &code,
        &main,
        &list,
        StatusCode::OK,
    ))
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
