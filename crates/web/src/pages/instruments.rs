//! Admin pages of the instrument versions: the list (name, version,
//! published or draft, created), one version's sections and items
//! (read-only: a published version never changes), and publishing a draft
//! (audited).

use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use literacy_core::instrument::Instrument;
use literacy_store::instruments::{self, InstrumentStoreError, StoredInstrument};
use serde_json::json;

use super::admin::{admin, record};
use super::sign_in::logout_form;
use super::{Ctx, Lang, PageError, TABLE_END, esc, table_start};
use crate::error::ApiError;
use crate::state::{State, db};

/// Registers the instrument pages.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/instruments", web::get().to(list))
        .route("/admin/instruments/{id}", web::get().to(show))
        .route("/admin/instruments/{id}/publish", web::post().to(publish));
}

/// `YYYY-MM-DD HH:MM UTC` of a unix-ms time (proleptic Gregorian calendar).
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn state_label(i: &StoredInstrument, lang: Lang) -> &'static str {
    if i.is_published() {
        lang.t("已发布", "published")
    } else {
        lang.t("草稿", "draft")
    }
}

fn header(ctx: &Ctx, who: &str, title: &str, back: (&str, &str)) -> String {
    format!(
        r#"{}<p><a href="{}">{}</a></p><h1>{}</h1>"#,
        logout_form(ctx, who),
        back.0,
        back.1,
        esc(title)
    )
}

/// `GET /admin/instruments`.
async fn list(req: HttpRequest, state: State) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let who = match admin(&req, &state, &ctx) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    let all = db(&state, |_, conn| {
        instruments::list(conn).map_err(ApiError::internal)
    })
    .await
    .map_err(|e| PageError::api(lang, e))?;
    let title = lang.t("问卷版本", "Instrument versions");
    let mut body = header(
        &ctx,
        &who.sub,
        title,
        ("/admin", lang.t("返回系统管理", "Back to administration")),
    );
    body.push_str(&table_start(
        "cap-instruments",
        Some(lang.t("已存储的问卷版本", "Stored instrument versions")),
        None,
        &[
            lang.t("名称", "Name"),
            lang.t("版本", "Version"),
            lang.t("状态", "State"),
            lang.t("创建时间", "Created"),
        ],
    ));
    for i in &all {
        let _ = write!(
            body,
            r#"<tr><td><a href="/admin/instruments/{id}">{name}</a></td><td>{version}</td><td>{state}</td><td>{created}</td></tr>"#,
            id = i.id,
            name = esc(&i.name),
            version = esc(&i.version),
            state = state_label(i, lang),
            created = esc(&utc(i.created_at)),
        );
    }
    body.push_str(TABLE_END);
    Ok(ctx.page(StatusCode::OK, title, &body))
}

fn not_found(lang: Lang) -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        lang,
        lang.t("没有这个问卷版本。", "There is no such instrument version."),
    )
}

/// `GET /admin/instruments/{id}`: the sections and items, read-only.
async fn show(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let who = match admin(&req, &state, &ctx) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    let id: i64 = path.parse().map_err(|_| not_found(lang))?;
    let stored = db(&state, move |_, conn| {
        instruments::get(conn, id).map_err(ApiError::internal)
    })
    .await
    .map_err(|e| PageError::api(lang, e))?
    .ok_or_else(|| not_found(lang))?;
    let title = format!("{} {}", stored.name, stored.version);
    let mut body = header(
        &ctx,
        &who.sub,
        &title,
        (
            "/admin/instruments",
            lang.t("返回问卷版本", "Back to the instrument versions"),
        ),
    );
    if req.query_string().contains("done=publish") {
        let _ = write!(
            body,
            r#"<p class="notice" role="status">{}</p>"#,
            lang.t("已发布。", "Published.")
        );
    }
    let _ = write!(
        body,
        "<p>{}: {}; {}: {}{}</p>",
        lang.t("状态", "State"),
        state_label(&stored, lang),
        lang.t("创建时间", "Created"),
        esc(&utc(stored.created_at)),
        stored
            .published_at
            .map(|p| format!("; {}: {}", lang.t("发布时间", "Published"), esc(&utc(p))))
            .unwrap_or_default(),
    );
    if stored.is_published() {
        let _ = write!(
            body,
            r#"<p class="hint">{}</p>"#,
            lang.t(
                "已发布的版本不能再修改。",
                "A published version never changes."
            )
        );
    } else {
        let _ = write!(
            body,
            r#"<form method="post" action="/admin/instruments/{id}/publish"><input type="hidden" name="csrf" value="{csrf}"><button type="submit" class="primary">{go}</button></form>"#,
            id = stored.id,
            csrf = ctx.csrf,
            go = lang.t("发布此版本", "Publish this version"),
        );
    }
    match Instrument::from_json(&format!("instrument {}", stored.id), &stored.definition) {
        Err(e) => {
            let _ = write!(
                body,
                r#"<div class="errors" role="alert"><p>{}</p><p>{}</p></div>"#,
                lang.t(
                    "这个版本的定义无法读取：",
                    "This version's definition cannot be read:"
                ),
                esc(&e.to_string()),
            );
        }
        Ok(inst) => {
            for (k, s) in inst.sections.iter().enumerate() {
                let _ = write!(
                    body,
                    r#"<section class="card" aria-labelledby="h-s{k}"><h2 id="h-s{k}">{title} <span class="hint">({id})</span></h2>{table}"#,
                    title = esc(s.title.get(lang.tag())),
                    id = esc(&s.id),
                    table = table_start(
                        &format!("h-s{k}"),
                        None,
                        None,
                        &[
                            lang.t("题号", "Item"),
                            lang.t("题目", "Question"),
                            lang.t("题型", "Type"),
                            lang.t("维度", "Dimension"),
                        ],
                    ),
                );
                for item_id in &s.items {
                    if let Some(item) = inst.items.iter().find(|i| &i.id == item_id) {
                        let _ = write!(
                            body,
                            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                            esc(&item.id),
                            esc(item.text.get(lang.tag())),
                            esc(item.kind.type_name()),
                            esc(&item.dimension),
                        );
                    }
                }
                body.push_str(TABLE_END);
                body.push_str("</section>");
            }
        }
    }
    Ok(ctx.page(StatusCode::OK, &title, &body))
}

/// `POST /admin/instruments/{id}/publish` (audited).
async fn publish(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let who = match admin(&req, &state, &ctx) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    ctx.check_csrf(
        form.iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str()),
    )?;
    let id: i64 = path.parse().map_err(|_| not_found(lang))?;
    let admin_name = who.sub.clone();
    let found = db(&state, move |_, conn| {
        let Some(before) = instruments::get(conn, id).map_err(ApiError::internal)? else {
            return Ok(Some(false));
        };
        // Only a draft that validates may be published.
        if Instrument::from_json("draft", &before.definition).is_err() {
            return Ok(None);
        }
        match instruments::publish(conn, id) {
            Ok(_) => {}
            Err(InstrumentStoreError::NotFound(_)) => return Ok(Some(false)),
            Err(e) => return Err(ApiError::internal(e)),
        }
        if !before.is_published() {
            record(
                conn,
                &admin_name,
                "instrument.publish",
                &format!("instrument:{id}"),
                json!({"via": "pages", "name": before.name, "version": before.version}),
            )?;
        }
        Ok(Some(true))
    })
    .await
    .map_err(|e| PageError::api(lang, e))?;
    match found {
        Some(true) => {}
        Some(false) => return Err(not_found(lang)),
        None => {
            return Err(PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                lang,
                lang.t(
                    "这个草稿没有通过检查，不能发布。",
                    "This draft does not validate and cannot be published.",
                ),
            ));
        }
    }
    Ok(ctx.redirect(&format!("/admin/instruments/{id}?done=publish")))
}
