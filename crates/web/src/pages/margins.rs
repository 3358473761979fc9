//! Admin page of a round's population margins: the totals by variable and
//! category the weights are raked to, and their replacement from an
//! uploaded CSV file (`variable,category,total`), checked with every problem
//! listed (each line's codes and totals, then whether raking can meet the
//! file: every category of a variable given, every variable adding up to
//! the same population) and applied only when clean (the round's data
//! version is bumped, so cached estimates are recomputed; audited).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use literacy_core::round::PopulationMargins;
use literacy_store::rounds;
use serde_json::json;

use super::admin::{admin, record};
use super::sign_in::logout_form;
use super::upload::read_form;
use super::{Ctx, Lang, PageError, TABLE_END, esc, table_start};
use crate::app::margins::{label, parse_margins};
use crate::auth::Claims;
use crate::error::ApiError;
use crate::state::{State, db, round_by_code};

/// Registers the margins page.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/rounds/{round}/margins", web::get().to(page))
        .route("/admin/rounds/{round}/margins", web::post().to(replace));
}

async fn render(
    ctx: &Ctx,
    state: &State,
    who: &Claims,
    code: &str,
    notice: Option<&str>,
    problems: &[String],
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = ctx.lang;
    let code2 = code.to_owned();
    let round = db(state, move |_, conn| round_by_code(conn, &code2))
        .await
        .map_err(|e| PageError::api(lang, e))?;
    let margins: PopulationMargins = serde_json::from_str(&round.margins).unwrap_or_default();
    let title = match lang {
        Lang::Zh => format!("总体边际：{code} 轮调查"),
        Lang::En => format!("Population margins: round {code}"),
    };
    let mut body = format!(
        r#"{}<p><a href="/admin">{}</a></p><h1>{}</h1>"#,
        logout_form(ctx, &who.sub),
        lang.t("返回系统管理", "Back to administration"),
        esc(&title)
    );
    if let Some(n) = notice {
        let _ = write!(body, r#"<p class="notice" role="status">{}</p>"#, esc(n));
    }
    if !problems.is_empty() {
        let _ = write!(
            body,
            r#"<div class="errors" role="alert" id="margins-errors"><p>{}</p><ul>"#,
            lang.t(
                "文件有以下问题，边际未作更改：",
                "The file has these problems; the margins were not changed:"
            )
        );
        for p in problems {
            let _ = write!(body, "<li>{}</li>", esc(p));
        }
        body.push_str("</ul></div>");
    }
    let _ = write!(
        body,
        r#"<section class="card" aria-labelledby="h-margins"><h2 id="h-margins">{h}</h2>
{table}"#,
        h = lang.t("当前边际", "Current margins"),
        table = table_start(
            "cap-margins",
            Some(&match lang {
                Lang::Zh => format!("按变量和类别的总体人数（数据版本 {}）", round.data_version),
                Lang::En => format!(
                    "Population totals by variable and category (data version {})",
                    round.data_version
                ),
            }),
            None,
            &[
                lang.t("变量", "Variable"),
                lang.t("类别代码", "Category"),
                lang.t("名称", "Label"),
                lang.t("总体人数", "Population total"),
            ],
        ),
    );
    for (var, cats) in &margins {
        for (cat, total) in cats {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(var.name()),
                esc(cat),
                esc(&label(*var, cat, lang)),
                esc(&total.to_string()),
            );
        }
    }
    let _ = write!(
        body,
        r#"{TABLE_END}</section>
<section class="card" aria-labelledby="h-replace"><h2 id="h-replace">{h}</h2>
<p class="hint" id="margins-hint">{hint}</p>
<form method="post" action="/admin/rounds/{c}/margins" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="{csrf}">
<div class="field"><label for="margins-file">{file}</label><input type="file" id="margins-file" name="file" accept=".csv,text/csv" required aria-describedby="margins-hint"></div>
<button type="submit" class="primary">{go}</button></form></section>"#,
        h = lang.t("用 CSV 文件替换边际", "Replace the margins from a CSV file"),
        hint = lang.t(
            "表头为 variable,category,total，每行一个类别。检查无误后才会替换，并重新计算估计。",
            "Header variable,category,total, one category a line. Applied only when every line is valid; estimates are then recomputed."
        ),
        c = esc(code),
        csrf = ctx.csrf,
        file = lang.t("边际文件（CSV）", "Margins file (CSV)"),
        go = lang.t("检查并替换", "Check and replace"),
    );
    Ok(ctx.page(status, &title, &body))
}

/// `GET /admin/rounds/{round}/margins`.
async fn page(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let who = match admin(&req, &state, &ctx) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    let done = req.query_string().contains("done=margins");
    let notice = done.then(|| ctx.lang.t("边际已替换。", "The margins were replaced."));
    render(&ctx, &state, &who, &path, notice, &[], StatusCode::OK).await
}

/// `POST /admin/rounds/{round}/margins` (multipart: `csrf`, `file`).
async fn replace(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let who = match admin(&req, &state, &ctx) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    let form = read_form(&req, payload, lang).await?;
    ctx.check_csrf(form.field("csrf"))?;
    let code = path.into_inner();
    let bytes = form
        .file
        .as_ref()
        .map(|(_, b)| b.as_slice())
        .unwrap_or_default();
    let margins = match parse_margins(bytes, lang) {
        Ok(m) => m,
        Err(problems) => {
            return render(
                &ctx,
                &state,
                &who,
                &code,
                None,
                &problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let json =
        serde_json::to_string(&margins).map_err(|e| PageError::api(lang, ApiError::internal(e)))?;
    let admin_name = who.sub.clone();
    let code2 = code.clone();
    db(&state, move |_, conn| {
        let round = round_by_code(conn, &code2)?;
        rounds::set_margins(conn, round.id, &json).map_err(ApiError::internal)?;
        let totals: BTreeMap<&str, f64> = margins
            .iter()
            .map(|(v, cats)| (v.name(), cats.values().sum()))
            .collect();
        record(
            conn,
            &admin_name,
            "round.margins",
            &format!("round:{}", round.code),
            json!({"via": "pages", "totals": totals}),
        )
    })
    .await
    .map_err(|e| PageError::api(lang, e))?;
    Ok(ctx.redirect(&format!(
        "/admin/rounds/{}/margins?done=margins",
        super::url_encode(&code)
    )))
}
