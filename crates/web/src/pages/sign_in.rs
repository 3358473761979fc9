//! Staff sign-in and out: the sign-in page (the one sign-in of
//! `crate::app::sign_in`), the staff cookie holding the token, and the guard
//! every staff page runs first.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use askama::Template;

use super::{Ctx, Form, Frame, Lang, PageError, PageResult, cookie, field};
use crate::app::sign_in::{SignIn, sign_in};
use crate::auth::{Audience, Claims, Role};
use crate::state::State;

/// Cookie holding a staff member's signed token.
pub const STAFF_COOKIE: &str = "lit_staff";

/// Registers sign-in and sign-out.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout));
}

/// The staff claims of the cookie, if valid (`Tokens::verify` also ends a
/// page session at its absolute lifetime).
pub(crate) fn staff(req: &HttpRequest, state: &State) -> Option<Claims> {
    let token = cookie(req, STAFF_COOKIE)?;
    let claims = state.tokens.verify(&token, Audience::Staff).ok()?;
    (claims.role != Role::Respondent).then_some(claims)
}

/// What a staff page's guard `admit` lets through (the claims, or more),
/// for the signed-in staff member, whose page session it renews (the
/// responses the page builds through `ctx` carry the new cookie);
/// otherwise the answer to send: the
/// sign-in page for a visitor, a 403 page saying `refusal` for a member
/// it does not admit.
pub(crate) fn staff_page<T>(
    ctx: &Ctx,
    state: &State,
    refusal: &str,
    admit: impl FnOnce(Claims) -> Option<T>,
) -> Result<T, HttpResponse> {
    let Some(claims) = staff(&ctx.req, state) else {
        let next = super::url_encode(ctx.req.path());
        return Err(ctx.redirect(&format!("/login?next={next}")));
    };
    ctx.renew_staff(&state.tokens, &claims);
    admit(claims)
        .ok_or_else(|| PageError::new(StatusCode::FORBIDDEN, ctx.lang, refusal).error_response())
}

/// The sign-in page's content.
#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    /// Where to go after signing in.
    next: &'a str,
    /// Why the last try failed.
    error: Option<&'a str>,
}

fn login_form(ctx: &Ctx, next: &str, error: Option<&str>, status: StatusCode) -> HttpResponse {
    let page = SignInPage {
        lang: ctx.lang,
        frame: ctx.frame(ctx.lang.msg("sign_in.title")),
        csrf: &ctx.csrf,
        next,
        error,
    };
    ctx.render(status, &page)
}

/// The page to go to after signing in: a path of this site, never another
/// origin (`None`: the role's home page). Control characters are refused
/// as well as backslashes: browsers drop tabs and newlines from a
/// `Location`, so `/\t/evil.example` would become `//evil.example`.
fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.contains('\\')
            && !n.chars().any(char::is_control)
    })
    .map(str::to_owned)
}

/// `GET /login`.
async fn login_page(ctx: Ctx) -> HttpResponse {
    let next = web::Query::<Vec<(String, String)>>::from_query(ctx.req.query_string())
        .ok()
        .and_then(|q| q.iter().find(|(k, _)| k == "next").map(|(_, v)| v.clone()));
    let next = safe_next(next.as_deref()).unwrap_or_default();
    login_form(&ctx, &next, None, StatusCode::OK)
}

/// `POST /login`: checks the password (audited like the API's sign-in),
/// sets the staff cookie and goes on.
async fn login(ctx: Ctx, state: State, form: Form) -> PageResult {
    let lang = ctx.lang;
    let get = |name: &str| field(&form, name).unwrap_or_default().to_owned();
    ctx.check_csrf(Some(&get("csrf")))?;
    let asked = safe_next(Some(&get("next")));
    let next = asked.clone().unwrap_or_default();
    let (username, password) = (get("username"), get("password"));
    let wrong = lang.msg("sign_in.wrong");
    let (token, role) = match sign_in(&state, username, password, "pages")
        .await
        .map_err(|e| PageError::api(lang, e))?
    {
        SignIn::Staff { token, role } => (token, role),
        SignIn::Wrong | SignIn::NotStaff => {
            return Ok(login_form(
                &ctx,
                &next,
                Some(wrong),
                StatusCode::UNAUTHORIZED,
            ));
        }
    };
    let home = match role {
        Role::Uploader => "/upload",
        Role::Admin => "/admin",
        _ => "/dashboard",
    };
    let mut res = ctx.redirect(asked.as_deref().unwrap_or(home));
    let ttl = state.tokens.ttl(Audience::Staff);
    ctx.add_cookie(&mut res, STAFF_COOKIE, &token, "/", ttl);
    Ok(res)
}

/// `POST /logout`: forgets the staff cookie.
async fn logout(ctx: Ctx, form: Form) -> PageResult {
    ctx.check_csrf(field(&form, "csrf"))?;
    let mut res = ctx.redirect("/login");
    ctx.add_cookie(&mut res, STAFF_COOKIE, "", "/", 0);
    Ok(res)
}
