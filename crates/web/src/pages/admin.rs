//! Admin pages: the rounds (status, open participation, invite codes) and
//! the staff accounts. Every change is audited, as through the JSON API.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{self, Path};
use literacy_store::audit::{self, NewAuditEvent};
use literacy_store::rounds::{self, Round, RoundStatus};
use literacy_store::users::{self, Role as StoredRole, UserError};
use literacy_store::{DbConn, invites};
use serde_json::{Value, json};

use askama::Template;

use super::sign_in::staff_page;
use super::{
    Ctx, Form, Frame, Lang, PageError, PageResult, field, page_db, provinces, role_label,
    status_label, url_encode,
};
use crate::app::sign_in::user_error;
use crate::auth::{Claims, Role};
use crate::error::ApiError;
use crate::state::{State, round_by_code, store_error};

/// Most invite codes made at once from the page.
pub const MAX_PAGE_INVITES: usize = 10_000;

/// Registers the admin pages.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(home))
        .route("/admin/users", web::post().to(create_user))
        .route("/admin/rounds/{round}/status", web::post().to(set_status))
        .route(
            "/admin/rounds/{round}/invites",
            web::post().to(make_invites),
        );
}

/// The admin's claims, or a redirect to sign in (403 for other staff).
pub(super) fn admin(ctx: &Ctx, state: &State) -> Result<Claims, HttpResponse> {
    staff_page(ctx, state, ctx.lang.msg("staff.only_admin"), |c| {
        (c.role == Role::Admin).then_some(c)
    })
}

fn actor(conn: &mut DbConn, username: &str) -> Result<String, ApiError> {
    Ok(users::by_username(conn, username)
        .map_err(ApiError::internal)?
        .map_or_else(
            || format!("username:{username}"),
            |u| format!("user:{}", u.id),
        ))
}

pub(super) fn record(
    conn: &mut DbConn,
    admin: &str,
    action: &str,
    target: &str,
    detail: Value,
) -> Result<(), ApiError> {
    let actor = actor(conn, admin)?;
    audit::record(
        conn,
        &NewAuditEvent {
            actor: Some(&actor),
            action,
            target: Some(target),
            detail: Some(detail),
        },
    )
    .map(|_| ())
    .map_err(store_error)
}

/// A round as the page lists it.
struct RoundRow {
    code: String,
    /// The status, in the page's language.
    status: &'static str,
    open_online: bool,
    /// Invite codes used and made.
    used: i64,
    made: i64,
    /// The status choices: value, label, whether it is the round's.
    statuses: Vec<(&'static str, &'static str, bool)>,
}

/// An account as the page lists it.
struct AccountRow {
    username: String,
    /// The role, in the page's language.
    role: &'static str,
    /// The uploader's province (else empty).
    province: String,
    disabled: bool,
}

/// The admin page's content.
#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    /// The signed-in admin.
    who: &'a str,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    rounds: Vec<RoundRow>,
    accounts: Vec<AccountRow>,
    /// Every province: code and name.
    provinces: Vec<(u16, &'static str)>,
}

/// The rounds (with their invite counts) and the accounts.
async fn load(
    state: &State,
    lang: Lang,
) -> Result<(Vec<(Round, (i64, i64))>, Vec<users::User>), PageError> {
    page_db(state, lang, |_, conn| {
        let mut rows = Vec::new();
        for r in rounds::list(conn).map_err(ApiError::internal)? {
            let invites = invites::counts(conn, r.id).map_err(ApiError::internal)?;
            rows.push((r, invites));
        }
        Ok((rows, users::list(conn).map_err(ApiError::internal)?))
    })
    .await
}

fn round_row(r: &Round, (made, used): (i64, i64), lang: Lang) -> RoundRow {
    RoundRow {
        code: r.code.clone(),
        status: status_label(r.status, lang),
        open_online: r.open_online,
        used,
        made,
        statuses: [RoundStatus::Draft, RoundStatus::Open, RoundStatus::Closed]
            .into_iter()
            .map(|st| (st.name(), status_label(st, lang), st == r.status))
            .collect(),
    }
}

fn account_row(a: &users::User, lang: Lang) -> AccountRow {
    let province = match a.role {
        StoredRole::Uploader { province } => u16::try_from(province)
            .ok()
            .and_then(literacy_core::demographics::province)
            .map_or_else(
                || province.to_string(),
                |p| lang.t(p.name_zh, p.name_en).to_owned(),
            ),
        _ => String::new(),
    };
    AccountRow {
        username: a.username.clone(),
        role: role_label(&a.role, lang),
        province,
        disabled: a.disabled,
    }
}

/// The admin page, with a notice or an error from the last change.
async fn render(
    ctx: &Ctx,
    state: &State,
    who: &Claims,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = ctx.lang;
    let (rounds, accounts) = load(state, lang).await?;
    let page = AdminPage {
        lang,
        frame: ctx.frame(lang.msg("admin.title")),
        csrf: &ctx.csrf,
        who: &who.sub,
        notice,
        error,
        rounds: rounds.iter().map(|(r, n)| round_row(r, *n, lang)).collect(),
        accounts: accounts.iter().map(|a| account_row(a, lang)).collect(),
        provinces: provinces(lang),
    };
    Ok(ctx.render(status, &page))
}

/// The admin page again, saying why a change was refused (422).
async fn refused(ctx: &Ctx, state: &State, who: &Claims, why: &str) -> PageResult {
    render(
        ctx,
        state,
        who,
        None,
        Some(why),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `GET /admin`.
async fn home(ctx: Ctx, state: State) -> PageResult {
    let who = admit!(admin(&ctx, &state));
    let query = web::Query::<Vec<(String, String)>>::from_query(ctx.req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let notice = query
        .iter()
        .find(|(k, _)| k == "done")
        .map(|(_, v)| match v.as_str() {
            "user" => ctx.lang.msg("admin.done_user"),
            _ => ctx.lang.msg("admin.done"),
        });
    render(&ctx, &state, &who, notice, None, StatusCode::OK).await
}

/// `POST /admin/users`.
async fn create_user(ctx: Ctx, state: State, form: Form) -> PageResult {
    let lang = ctx.lang;
    let who = admit!(admin(&ctx, &state));
    ctx.check_csrf(field(&form, "csrf"))?;
    let province = field(&form, "province").and_then(|p| p.parse::<u16>().ok());
    let role = match (field(&form, "role").unwrap_or_default(), province) {
        ("admin", None) => Ok(StoredRole::Admin),
        ("statistician", None) => Ok(StoredRole::Statistician),
        ("uploader", Some(p)) if literacy_core::demographics::province(p).is_some() => {
            Ok(StoredRole::Uploader {
                province: i32::from(p),
            })
        }
        ("uploader", _) => Err(lang.msg("admin.uploader_needs_province")),
        ("admin" | "statistician", Some(_)) => Err(lang.msg("admin.only_uploaders_province")),
        _ => Err(lang.msg("admin.choose_role")),
    };
    let role = match role {
        Ok(r) => r,
        Err(m) => {
            return refused(&ctx, &state, &who, m).await;
        }
    };
    let (username, password) = (
        field(&form, "username")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        field(&form, "password").unwrap_or_default().to_owned(),
    );
    let admin_name = who.sub.clone();
    let made = page_db(&state, lang, move |_, conn| {
        match users::create(conn, &username, &password, role) {
            Ok(user) => {
                record(
                    conn,
                    &admin_name,
                    "user.create",
                    &format!("user:{}", user.id),
                    json!({"username": user.username, "role": user.role.name(), "via": "pages"}),
                )?;
                Ok(Ok(()))
            }
            Err(e @ (UserError::UsernameTaken(_) | UserError::Invalid(_))) => {
                Ok(Err(user_error(e).message_in(lang)))
            }
            Err(e) => Err(user_error(e)),
        }
    })
    .await?;
    match made {
        Ok(()) => Ok(ctx.redirect("/admin?done=user")),
        Err(why) => refused(&ctx, &state, &who, &why).await,
    }
}

/// `POST /admin/rounds/{round}/status`: status and open participation.
async fn set_status(ctx: Ctx, state: State, path: Path<String>, form: Form) -> PageResult {
    let lang = ctx.lang;
    let who = admit!(admin(&ctx, &state));
    ctx.check_csrf(field(&form, "csrf"))?;
    let status = match field(&form, "status").unwrap_or_default() {
        "draft" => RoundStatus::Draft,
        "open" => RoundStatus::Open,
        "closed" => RoundStatus::Closed,
        _ => {
            return refused(&ctx, &state, &who, lang.msg("admin.choose_status")).await;
        }
    };
    let open_online = field(&form, "open_online") == Some("1");
    let code = path.into_inner();
    let admin_name = who.sub.clone();
    page_db(&state, lang, move |_, conn| {
        let round = round_by_code(conn, &code)?;
        rounds::set_status(conn, round.id, status).map_err(ApiError::internal)?;
        rounds::set_open_online(conn, round.id, open_online).map_err(ApiError::internal)?;
        record(
            conn,
            &admin_name,
            "round.update",
            &format!("round:{}", round.id),
            json!({"status": status.name(), "open_online": open_online, "via": "pages"}),
        )
    })
    .await?;
    Ok(ctx.redirect("/admin?done=round"))
}

/// `POST /admin/rounds/{round}/invites`: makes codes and shows them once,
/// with a CSV download.
async fn make_invites(ctx: Ctx, state: State, path: Path<String>, form: Form) -> PageResult {
    let lang = ctx.lang;
    let who = admit!(admin(&ctx, &state));
    ctx.check_csrf(field(&form, "csrf"))?;
    let count = field(&form, "count")
        .unwrap_or_default()
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|c| (1..=MAX_PAGE_INVITES).contains(c));
    let Some(count) = count else {
        let m = lang.msgf("admin.invite_count_range", &[("max", &MAX_PAGE_INVITES)]);
        return refused(&ctx, &state, &who, &m).await;
    };
    let province = field(&form, "province")
        .unwrap_or_default()
        .parse::<u16>()
        .ok()
        .filter(|p| literacy_core::demographics::province(*p).is_some());
    let code = path.into_inner();
    let (code2, admin_name) = (code.clone(), who.sub.clone());
    let codes = page_db(&state, lang, move |_, conn| {
        let round = round_by_code(conn, &code2)?;
        let codes = invites::create_codes(conn, round.id, count, province.map(i32::from), None)
            .map_err(ApiError::internal)?;
        record(
            conn,
            &admin_name,
            "invites.create",
            &format!("round:{}", round.id),
            json!({"count": codes.len(), "province": province, "via": "pages"}),
        )?;
        Ok(codes)
    })
    .await?;
    let csv: String = std::iter::once("code".to_owned())
        .chain(codes.iter().cloned())
        .map(|c| c + "\r\n")
        .collect();
    let page = InvitesPage {
        lang,
        frame: ctx.frame(lang.msg("admin.invites_title")),
        made: lang.msgf(
            "admin.invites_made",
            &[("count", &codes.len()), ("round", &code)],
        ),
        csv_href: url_encode(&csv),
        file_code: code.replace(['"', '/', '\\'], "_"),
        codes: codes.iter().take(200).map(String::as_str).collect(),
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

/// The page showing invite codes just made (once).
#[derive(Template)]
#[template(path = "admin_invites.html")]
struct InvitesPage<'a> {
    lang: Lang,
    frame: Frame,
    /// What was made, for which round.
    made: String,
    /// The codes as a CSV file, percent-encoded for a `data:` link.
    csv_href: String,
    /// The round's code as a file name.
    file_code: String,
    /// The first 200 codes.
    codes: Vec<&'a str>,
}
