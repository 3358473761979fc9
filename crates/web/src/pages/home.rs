//! The front door (`/`): what the service is, the questionnaire of every
//! open round and the staff pages; and the page people get for an address
//! that does not exist.

use actix_web::http::StatusCode;
use actix_web::http::header::ACCEPT;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Ctx, Frame, Lang, PageResult, survey};
use crate::state::State;

/// Registers the front door.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home));
}

/// The front door's content.
#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    lang: Lang,
    frame: Frame,
    /// The codes of the rounds collecting responses now.
    open: Vec<String>,
}

/// `GET /`: the front door.
async fn home(ctx: Ctx, state: State) -> PageResult {
    let lang = ctx.lang;
    let page = Home {
        lang,
        frame: ctx.frame(lang.msg("brand")),
        open: survey::open_rounds(&state, lang).await?,
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

/// Whether the request asks for HTML (a browser navigating): its `Accept`
/// header names `text/html` or `application/xhtml+xml` with a non-zero
/// quality. API clients (`*/*`, `application/json`, none) get JSON.
pub(crate) fn wants_html(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let html = media.eq_ignore_ascii_case("text/html")
                || media.eq_ignore_ascii_case("application/xhtml+xml");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            html && !refused
        })
}

/// The 404 page for people: the address was not found, with a way home.
pub(crate) fn not_found(req: &HttpRequest) -> HttpResponse {
    let ctx = Ctx::of(req);
    let page = NotFound {
        lang: ctx.lang,
        frame: ctx.frame(ctx.lang.msg("not_found.title")),
        path: req.path(),
    };
    ctx.render(StatusCode::NOT_FOUND, &page)
}

/// The 404 page's content.
#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFound<'a> {
    lang: Lang,
    frame: Frame,
    /// The path asked for.
    path: &'a str,
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::wants_html;

    #[test]
    fn browsers_want_html_and_api_clients_do_not() {
        let with = |accept: &str| {
            wants_html(
                &TestRequest::default()
                    .insert_header(("accept", accept))
                    .to_http_request(),
            )
        };
        assert!(with(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(with("application/xhtml+xml"));
        assert!(with("TEXT/HTML; charset=utf-8"));
        assert!(!with("*/*"));
        assert!(!with("application/json"));
        assert!(!with("text/html;q=0, application/json"));
        assert!(!wants_html(&TestRequest::default().to_http_request()));
    }
}
