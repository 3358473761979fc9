//! `GET`/`POST /account/password`: a signed-in staff member changes their
//! own password (the rule and the audit are `app::sign_in`'s, as the
//! API's).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::sign_in::staff_page;
use super::{Ctx, Form, Frame, Lang, PageResult, field};
use crate::app::sign_in::change_own_password;
use crate::state::State;

/// Registers the page.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/account/password", web::get().to(form_page))
        .route("/account/password", web::post().to(change));
}

/// The page's content.
#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    who: &'a str,
    /// Why the last try was refused.
    error: Option<&'a str>,
    /// Whether the password was just changed.
    done: bool,
}

fn render(
    ctx: &Ctx,
    who: &str,
    error: Option<&str>,
    done: bool,
    status: StatusCode,
) -> HttpResponse {
    let page = PasswordPage {
        lang: ctx.lang,
        frame: ctx.frame(ctx.lang.msg("password.title")),
        csrf: &ctx.csrf,
        who,
        error,
        done,
    };
    ctx.render(status, &page)
}

/// `GET /account/password`.
async fn form_page(ctx: Ctx, state: State) -> PageResult {
    let who = admit!(staff_page(&ctx, &state, "", Some));
    Ok(render(&ctx, &who.sub, None, false, StatusCode::OK))
}

/// `POST /account/password`.
async fn change(ctx: Ctx, state: State, form: Form) -> PageResult {
    ctx.check_csrf(field(&form, "csrf"))?;
    let who = admit!(staff_page(&ctx, &state, "", Some));
    let get = |name: &str| field(&form, name).unwrap_or_default().to_owned();
    let changed =
        change_own_password(&state, who.sub.clone(), get("current"), get("new"), "pages").await;
    Ok(match changed {
        Ok(()) => render(&ctx, &who.sub, None, true, StatusCode::OK),
        Err(e) => {
            let message = e.message_in(ctx.lang);
            render(
                &ctx,
                &who.sub,
                Some(&message),
                false,
                actix_web::ResponseError::status_code(&e),
            )
        }
    })
}
