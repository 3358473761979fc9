//! Admin page of a round's population margins: the totals by variable and
//! category the weights are raked to, and their replacement from an
//! uploaded CSV file (`variable,category,total`), checked with every problem
//! listed (each line's codes and totals, then whether raking can meet the
//! file: every category of a variable given, every variable adding up to
//! the same population) and applied only when clean (the round's data
//! version is bumped, so cached estimates are recomputed; audited).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::web::{self, Path, Payload};
use literacy_core::round::PopulationMargins;
use literacy_store::rounds;
use serde_json::json;

use super::admin::{admin, record};
use askama::Template;

use super::upload::read_form;
use super::{Ctx, Frame, Lang, PageError, PageResult, page_db};
use crate::app::margins::{label, parse_margins};
use crate::auth::Claims;
use crate::error::ApiError;
use crate::state::{State, round_by_code};

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
) -> PageResult {
    let lang = ctx.lang;
    let code2 = code.to_owned();
    let round = page_db(state, lang, move |_, conn| round_by_code(conn, &code2)).await?;
    let margins: PopulationMargins = serde_json::from_str(&round.margins).unwrap_or_default();
    let page = MarginsPage {
        lang,
        frame: ctx.frame(&lang.msgf("margins.title", &[("round", &code)])),
        csrf: &ctx.csrf,
        who: &who.sub,
        code,
        notice,
        problems,
        caption: lang.msgf("margins.caption", &[("version", &round.data_version)]),
        rows: margins
            .iter()
            .flat_map(|(var, cats)| {
                cats.iter().map(move |(cat, total)| {
                    (
                        var.name(),
                        cat.clone(),
                        label(*var, cat, lang),
                        total.to_string(),
                    )
                })
            })
            .collect(),
    };
    Ok(ctx.render(status, &page))
}

/// The margins page's content.
#[derive(Template)]
#[template(path = "margins.html")]
struct MarginsPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    who: &'a str,
    /// The round's code.
    code: &'a str,
    notice: Option<&'a str>,
    /// What is wrong with the file just sent.
    problems: &'a [String],
    /// The table's caption (with the data version).
    caption: String,
    /// Variable, category code, category label, population total.
    rows: Vec<(&'static str, String, String, String)>,
}

/// `GET /admin/rounds/{round}/margins`.
async fn page(ctx: Ctx, state: State, path: Path<String>) -> PageResult {
    let who = admit!(admin(&ctx, &state));
    let done = ctx.req.query_string().contains("done=margins");
    let notice = done.then(|| ctx.lang.msg("margins.replaced"));
    render(&ctx, &state, &who, &path, notice, &[], StatusCode::OK).await
}

/// `POST /admin/rounds/{round}/margins` (multipart: `csrf`, `file`).
async fn replace(ctx: Ctx, state: State, path: Path<String>, payload: Payload) -> PageResult {
    let lang = ctx.lang;
    let who = admit!(admin(&ctx, &state));
    let form = read_form(&ctx, payload).await?;
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
    page_db(&state, lang, move |_, conn| {
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
    .await?;
    Ok(ctx.redirect(&format!(
        "/admin/rounds/{}/margins?done=margins",
        super::url_encode(&code)
    )))
}
