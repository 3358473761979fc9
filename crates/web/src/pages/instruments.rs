//! Admin pages of the instrument versions: the list (name, version,
//! published or draft, created), one version's sections and items
//! (read-only: a published version never changes), and publishing a draft
//! (audited).

use actix_web::http::StatusCode;
use actix_web::web::{self, Path};
use askama::Template;
use literacy_core::instrument::{Instrument, ItemKind};
use literacy_store::instruments::{self, InstrumentStoreError, StoredInstrument};
use serde_json::json;

use super::admin::{admin, record};
use super::{Ctx, Form, Frame, Lang, PageError, PageResult, field, page_db};
use crate::error::ApiError;
use crate::state::State;

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

/// An instrument version as the pages show it.
struct Row {
    id: i64,
    name: String,
    version: String,
    /// Published or draft, in the page's language.
    state: &'static str,
    published: bool,
    /// When it was made (UTC).
    created: String,
}

impl Row {
    fn of(i: &StoredInstrument, lang: Lang) -> Row {
        Row {
            id: i.id,
            name: i.name.clone(),
            version: i.version.clone(),
            state: if i.is_published() {
                lang.msg("instruments.published")
            } else {
                lang.msg("instruments.draft")
            },
            published: i.is_published(),
            created: utc(i.created_at),
        }
    }
}

/// The list of instrument versions.
#[derive(Template)]
#[template(path = "instruments.html")]
struct ListPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    who: &'a str,
    rows: Vec<Row>,
}

/// `GET /admin/instruments`.
async fn list(ctx: Ctx, state: State) -> PageResult {
    let lang = ctx.lang;
    let who = admit!(admin(&ctx, &state));
    let all = page_db(&state, lang, |_, conn| {
        instruments::list(conn).map_err(ApiError::internal)
    })
    .await?;
    let page = ListPage {
        lang,
        frame: ctx.frame(lang.msg("instruments.title")),
        csrf: &ctx.csrf,
        who: &who.sub,
        rows: all.iter().map(|i| Row::of(i, lang)).collect(),
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

fn not_found(lang: Lang) -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        lang,
        lang.msg("instruments.not_found"),
    )
}

/// An item type's name in `lang`.
fn item_type(kind: &ItemKind, lang: Lang) -> &'static str {
    match kind {
        ItemKind::TrueFalse { .. } => lang.msg("item_type.true_false"),
        ItemKind::SingleChoice { .. } => lang.msg("item_type.single_choice"),
        ItemKind::MultipleSelect { .. } => lang.msg("item_type.multiple_select"),
        ItemKind::Ordinal { .. } => lang.msg("item_type.ordinal"),
        ItemKind::Numeric { .. } => lang.msg("item_type.numeric"),
    }
}

/// A section as the version's page shows it.
struct SectionView {
    /// The id of its heading (`h-s0`, `h-s1`, ...), which labels its table.
    label: String,
    id: String,
    title: String,
    /// Each item's id, question, type and dimension.
    items: Vec<(String, String, &'static str, String)>,
}

fn sections(inst: &Instrument, lang: Lang) -> Vec<SectionView> {
    inst.sections
        .iter()
        .enumerate()
        .map(|(k, s)| SectionView {
            label: format!("h-s{k}"),
            id: s.id.clone(),
            title: s.title.get(lang.tag()).to_owned(),
            items: s
                .items
                .iter()
                .filter_map(|id| inst.items.iter().find(|i| &i.id == id))
                .map(|item| {
                    (
                        item.id.clone(),
                        item.text.get(lang.tag()).to_owned(),
                        item_type(&item.kind, lang),
                        item.dimension.clone(),
                    )
                })
                .collect(),
        })
        .collect()
}

/// One instrument version, read-only.
#[derive(Template)]
#[template(path = "instrument.html")]
struct ShowPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    who: &'a str,
    row: Row,
    /// When it was published (UTC).
    published_at: Option<String>,
    /// Whether it was just published.
    published_notice: bool,
    /// Why its definition cannot be read.
    unreadable: Option<String>,
    sections: Vec<SectionView>,
}

/// `GET /admin/instruments/{id}`: the sections and items, read-only.
async fn show(ctx: Ctx, state: State, path: Path<String>) -> PageResult {
    let lang = ctx.lang;
    let who = admit!(admin(&ctx, &state));
    let id: i64 = path.parse().map_err(|_| not_found(lang))?;
    let stored = page_db(&state, lang, move |_, conn| {
        instruments::get(conn, id).map_err(ApiError::internal)
    })
    .await?
    .ok_or_else(|| not_found(lang))?;
    let parsed = Instrument::from_json(&format!("instrument {}", stored.id), &stored.definition);
    let page = ShowPage {
        lang,
        frame: ctx.frame(&format!("{} {}", stored.name, stored.version)),
        csrf: &ctx.csrf,
        who: &who.sub,
        row: Row::of(&stored, lang),
        published_at: stored.published_at.map(utc),
        published_notice: ctx.req.query_string().contains("done=publish"),
        unreadable: parsed.as_ref().err().map(ToString::to_string),
        sections: parsed.map(|i| sections(&i, lang)).unwrap_or_default(),
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

/// `POST /admin/instruments/{id}/publish` (audited).
async fn publish(ctx: Ctx, state: State, path: Path<String>, form: Form) -> PageResult {
    let lang = ctx.lang;
    let who = admit!(admin(&ctx, &state));
    ctx.check_csrf(field(&form, "csrf"))?;
    let id: i64 = path.parse().map_err(|_| not_found(lang))?;
    let admin_name = who.sub.clone();
    let found = page_db(&state, lang, move |_, conn| {
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
    .await?;
    match found {
        Some(true) => {}
        Some(false) => return Err(not_found(lang)),
        None => {
            return Err(PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                lang,
                lang.msg("instruments.invalid_draft"),
            ));
        }
    }
    Ok(ctx.redirect(&format!("/admin/instruments/{id}?done=publish")))
}
