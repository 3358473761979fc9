//! Admin pages: the rounds (status, open participation, invite codes) and
//! the staff accounts. Every change is audited, as through the JSON API.

use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use literacy_core::demographics::PROVINCES;
use literacy_store::audit::{self, NewAuditEvent};
use literacy_store::rounds::{self, RoundStatus};
use literacy_store::users::{self, Role as StoredRole, UserError};
use literacy_store::{DbConn, invites};
use serde_json::{Value, json};

use super::sign_in::{logout_form, staff_page};
use super::{Ctx, Lang, PageError, TABLE_END, esc, table_start, url_encode};
use crate::auth::{Claims, Role};
use crate::error::ApiError;
use crate::state::{State, db, round_by_code, store_error};

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

type Form = web::Form<Vec<(String, String)>>;

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The admin's claims, or a redirect to sign in (403 for other staff).
pub(super) fn admin(req: &HttpRequest, state: &State, ctx: &Ctx) -> Result<Claims, HttpResponse> {
    staff_page(
        req,
        state,
        ctx,
        (
            "只有管理员可以打开这一页。",
            "Only administrators may open this page.",
        ),
        |c| (c.role == Role::Admin).then_some(c),
    )
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
    status: RoundStatus,
    open_online: bool,
    invites: (i64, i64),
}

fn status_label(s: RoundStatus, lang: Lang) -> &'static str {
    match s {
        RoundStatus::Draft => lang.t("准备中", "draft"),
        RoundStatus::Open => lang.t("进行中", "open"),
        RoundStatus::Closed => lang.t("已结束", "closed"),
    }
}

async fn render(
    ctx: &Ctx,
    state: &State,
    who: &Claims,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = ctx.lang;
    let (rounds, accounts) = db(state, |_, conn| {
        let mut rows = Vec::new();
        for r in rounds::list(conn).map_err(ApiError::internal)? {
            let invites = invites::counts(conn, r.id).map_err(ApiError::internal)?;
            rows.push(RoundRow {
                code: r.code,
                status: r.status,
                open_online: r.open_online,
                invites,
            });
        }
        Ok((rows, users::list(conn).map_err(ApiError::internal)?))
    })
    .await
    .map_err(|e| PageError::api(lang, e))?;
    let title = lang.t("系统管理", "Administration");
    let mut body = format!("{}<h1>{}</h1>", logout_form(ctx, &who.sub), esc(title));
    if let Some(n) = notice {
        let _ = write!(body, r#"<p class="notice" role="status">{}</p>"#, esc(n));
    }
    if let Some(e) = error {
        let _ = write!(
            body,
            r#"<div class="errors" role="alert"><p>{}</p></div>"#,
            esc(e)
        );
    }
    let _ = write!(
        body,
        r#"<p><a href="/admin/instruments">{}</a></p>"#,
        lang.t("问卷版本", "Instrument versions")
    );
    // Rounds.
    let _ = write!(
        body,
        r#"<section class="card" aria-labelledby="h-rounds"><h2 id="h-rounds">{}</h2>"#,
        lang.t("调查轮次", "Rounds")
    );
    for r in &rounds {
        let c = esc(&r.code);
        let _ = write!(
            body,
            r#"<div class="round"><h3>{round} {c}</h3><p>{status}: {s}; {online}: {o}; {inv}: {used} / {total}</p>
<p><a href="/admin/rounds/{c}/margins">{margins}</a></p>
<form method="post" action="/admin/rounds/{c}/status" class="inline">
<input type="hidden" name="csrf" value="{csrf}">
<div class="field"><label for="status-{c}">{status}</label><select id="status-{c}" name="status">"#,
            round = lang.t("轮次", "Round"),
            status = lang.t("状态", "Status"),
            s = status_label(r.status, lang),
            online = lang.t("无需邀请码", "Open without invite"),
            o = if r.open_online {
                lang.t("是", "yes")
            } else {
                lang.t("否", "no")
            },
            inv = lang.t("邀请码（已用 / 总数）", "Invite codes (used / made)"),
            margins = lang.t("总体边际（人口总数）", "Population margins"),
            used = r.invites.1,
            total = r.invites.0,
            csrf = ctx.csrf,
        );
        for st in [RoundStatus::Draft, RoundStatus::Open, RoundStatus::Closed] {
            let _ = write!(
                body,
                r#"<option value="{v}"{sel}>{l}</option>"#,
                v = st.name(),
                sel = if st == r.status { " selected" } else { "" },
                l = status_label(st, lang),
            );
        }
        let _ = write!(
            body,
            r#"</select></div>
<label class="opt" for="online-{c}"><input type="checkbox" id="online-{c}" name="open_online" value="1"{checked}><span>{online}</span></label>
<button type="submit" class="secondary">{save}</button></form>
<form method="post" action="/admin/rounds/{c}/invites" class="inline">
<input type="hidden" name="csrf" value="{csrf}">
<div class="field"><label for="count-{c}">{count}</label><input type="text" inputmode="numeric" id="count-{c}" name="count" value="100" size="6"></div>
<div class="field"><label for="province-{c}">{prov}</label><select id="province-{c}" name="province"><option value="">{any}</option>{options}</select></div>
<button type="submit" class="secondary">{make}</button></form></div>"#,
            checked = if r.open_online { " checked" } else { "" },
            online = lang.t(
                "允许无邀请码直接参加",
                "Anyone may take part without an invite code"
            ),
            save = lang.t("保存", "Save"),
            csrf = ctx.csrf,
            count = lang.t("生成邀请码数量", "Invite codes to make"),
            prov = lang.t("省份（可选）", "Province (optional)"),
            any = lang.t("不限", "Any"),
            options = province_options(lang, None),
            make = lang.t("生成邀请码", "Make invite codes"),
        );
    }
    body.push_str("</section>");
    // Accounts.
    let _ = write!(
        body,
        r#"<section class="card" aria-labelledby="h-users"><h2 id="h-users">{h}</h2>
{table}"#,
        h = lang.t("工作人员账户", "Staff accounts"),
        table = table_start(
            "cap-users",
            Some(lang.t("全部账户", "All accounts")),
            None,
            &[
                lang.t("用户名", "Username"),
                lang.t("角色", "Role"),
                lang.t("省份", "Province"),
                lang.t("状态", "State"),
            ],
        ),
    );
    for a in &accounts {
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
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.username),
            a.role.name(),
            esc(&province),
            if a.disabled {
                lang.t("已停用", "disabled")
            } else {
                lang.t("可用", "active")
            },
        );
    }
    let _ = write!(
        body,
        r#"{TABLE_END}
<h3>{new}</h3>
<form method="post" action="/admin/users">
<input type="hidden" name="csrf" value="{csrf}">
<div class="field"><label for="new-username">{u}</label><input type="text" id="new-username" name="username" autocomplete="off" required></div>
<div class="field"><label for="new-password">{p}</label><input type="password" id="new-password" name="password" autocomplete="new-password" required></div>
<div class="field"><label for="new-role">{r}</label><select id="new-role" name="role"><option value="statistician">statistician</option><option value="uploader">uploader</option><option value="admin">admin</option></select></div>
<div class="field"><label for="new-province">{prov}</label><select id="new-province" name="province"><option value="">—</option>{options}</select></div>
<button type="submit" class="primary">{create}</button></form></section>"#,
        new = lang.t("新建账户", "New account"),
        csrf = ctx.csrf,
        u = lang.t("用户名", "Username"),
        p = lang.t("密码", "Password"),
        r = lang.t("角色", "Role"),
        prov = lang.t("省份（仅上传账户）", "Province (uploaders only)"),
        options = province_options(lang, None),
        create = lang.t("创建账户", "Create the account"),
    );
    Ok(ctx.page(status, title, &body))
}

fn province_options(lang: Lang, selected: Option<u16>) -> String {
    PROVINCES
        .iter()
        .map(|p| {
            format!(
                r#"<option value="{c}"{sel}>{n}</option>"#,
                c = p.code,
                sel = if Some(p.code) == selected {
                    " selected"
                } else {
                    ""
                },
                n = esc(lang.t(p.name_zh, p.name_en)),
            )
        })
        .collect()
}

/// `GET /admin`.
async fn home(req: HttpRequest, state: State) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let who = match admin(&req, &state, &ctx) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    let query = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let notice = query
        .iter()
        .find(|(k, _)| k == "done")
        .map(|(_, v)| match v.as_str() {
            "user" => ctx.lang.t("账户已创建。", "The account was created."),
            _ => ctx.lang.t("已保存。", "Saved."),
        });
    render(&ctx, &state, &who, notice, None, StatusCode::OK).await
}

/// `POST /admin/users`.
async fn create_user(
    req: HttpRequest,
    state: State,
    form: Form,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let who = match admin(&req, &state, &ctx) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    ctx.check_csrf(Some(field(&form, "csrf")))?;
    let province = field(&form, "province").parse::<u16>().ok();
    let role = match (field(&form, "role"), province) {
        ("admin", None) => Ok(StoredRole::Admin),
        ("statistician", None) => Ok(StoredRole::Statistician),
        ("uploader", Some(p)) if literacy_core::demographics::province(p).is_some() => {
            Ok(StoredRole::Uploader {
                province: i32::from(p),
            })
        }
        ("uploader", _) => Err(lang.t("上传账户需要选择省份。", "An uploader needs a province.")),
        ("admin" | "statistician", Some(_)) => {
            Err(lang.t("只有上传账户有省份。", "Only uploaders have a province."))
        }
        _ => Err(lang.t("请选择角色。", "Choose a role.")),
    };
    let role = match role {
        Ok(r) => r,
        Err(m) => {
            return render(
                &ctx,
                &state,
                &who,
                None,
                Some(m),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let (username, password) = (
        field(&form, "username").trim().to_owned(),
        field(&form, "password").to_owned(),
    );
    let admin_name = who.sub.clone();
    let made = db(&state, move |_, conn| {
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
            Err(UserError::UsernameTaken(name)) => Ok(Err(format!("username {name:?} is taken"))),
            Err(UserError::Invalid(why)) => Ok(Err(why.to_owned())),
            Err(UserError::Store(e)) => Err(store_error(e)),
            Err(e) => Err(ApiError::internal(e)),
        }
    })
    .await
    .map_err(|e| PageError::api(lang, e))?;
    match made {
        Ok(()) => Ok(ctx.redirect("/admin?done=user")),
        Err(why) => {
            render(
                &ctx,
                &state,
                &who,
                None,
                Some(&why),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `POST /admin/rounds/{round}/status`: status and open participation.
async fn set_status(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let who = match admin(&req, &state, &ctx) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    ctx.check_csrf(Some(field(&form, "csrf")))?;
    let status = match field(&form, "status") {
        "draft" => RoundStatus::Draft,
        "open" => RoundStatus::Open,
        "closed" => RoundStatus::Closed,
        _ => {
            return render(
                &ctx,
                &state,
                &who,
                None,
                Some(lang.t("请选择状态。", "Choose a status.")),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let open_online = field(&form, "open_online") == "1";
    let code = path.into_inner();
    let admin_name = who.sub.clone();
    db(&state, move |_, conn| {
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
    .await
    .map_err(|e| PageError::api(lang, e))?;
    Ok(ctx.redirect("/admin?done=round"))
}

/// `POST /admin/rounds/{round}/invites`: makes codes and shows them once,
/// with a CSV download.
async fn make_invites(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let who = match admin(&req, &state, &ctx) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    ctx.check_csrf(Some(field(&form, "csrf")))?;
    let count = field(&form, "count")
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|c| (1..=MAX_PAGE_INVITES).contains(c));
    let Some(count) = count else {
        let m = match lang {
            Lang::Zh => format!("邀请码数量应为 1 到 {MAX_PAGE_INVITES}。"),
            Lang::En => format!("The number of codes must be 1 to {MAX_PAGE_INVITES}."),
        };
        return render(
            &ctx,
            &state,
            &who,
            None,
            Some(&m),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let province = field(&form, "province")
        .parse::<u16>()
        .ok()
        .filter(|p| literacy_core::demographics::province(*p).is_some());
    let code = path.into_inner();
    let (code2, admin_name) = (code.clone(), who.sub.clone());
    let codes = db(&state, move |_, conn| {
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
    .await
    .map_err(|e| PageError::api(lang, e))?;
    let title = lang.t("新的邀请码", "New invite codes");
    let csv: String = std::iter::once("code".to_owned())
        .chain(codes.iter().cloned())
        .map(|c| c + "\r\n")
        .collect();
    let mut body = format!(
        r#"<h1>{}</h1><p role="status">{}</p><p class="downloads"><a href="data:text/csv;charset=utf-8,{}" download="invites-{}.csv">{}</a> <a href="/admin">{}</a></p><ul class="codes">"#,
        esc(title),
        esc(&match lang {
            Lang::Zh => format!(
                "已为 {code} 轮生成 {} 个邀请码。请现在下载保存：离开此页后不再显示。",
                codes.len()
            ),
            Lang::En => format!(
                "{} codes were made for round {code}. Download them now: they are not shown again.",
                codes.len()
            ),
        }),
        url_encode(&csv),
        esc(&code.replace(['"', '/', '\\'], "_")),
        lang.t("下载邀请码（CSV）", "Download the codes (CSV)"),
        lang.t("返回管理页", "Back to administration"),
    );
    for c in codes.iter().take(200) {
        let _ = write!(body, "<li><code>{}</code></li>", esc(c));
    }
    body.push_str("</ul>");
    Ok(ctx.page(StatusCode::OK, title, &body))
}
