//! The front door (`/`): what the service is, the questionnaire of every
//! open round and the staff pages; and the page people get for an address
//! that does not exist.

use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::http::header::ACCEPT;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{Ctx, PageError, esc, survey};
use crate::state::State;

/// Registers the front door.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home));
}

/// The staff pages, each behind sign-in: where, and what for.
const STAFF_PAGES: [(&str, &str, &str); 4] = [
    ("/dashboard", "统计数据看板", "Statisticians' dashboard"),
    (
        "/upload",
        "省级纸质问卷批次上传",
        "Provincial paper batch upload",
    ),
    ("/admin", "管理", "Administration"),
    ("/login", "工作人员登录", "Staff sign-in"),
];

/// `GET /`: the front door.
async fn home(req: HttpRequest, state: State) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let title = lang.t("公民科学素质调查", "Civic Science Literacy Survey");
    let mut body = format!(
        "<h1>{}</h1><p>{}</p><h2>{}</h2>{}<h2>{}</h2><ul class=\"links\">",
        esc(title),
        lang.t(
            "本服务收集全国公民科学素质调查的答卷（网上作答，或由各省录入纸质问卷），\
             按省份和人群估计18至69岁公民具备科学素质的比例及其不确定性，\
             并对照国家目标报告进展。",
            "This service collects the answers to the national civic science-literacy survey \
             (answered online, or keyed in from paper by the provinces) and estimates the share \
             of citizens aged 18 to 69 who have scientific literacy, by province and population \
             group, with its uncertainty and the progress towards the national targets.",
        ),
        lang.t("参加调查", "Take part in the survey"),
        survey::open_rounds_list(&state, lang).await?,
        lang.t("工作人员", "Staff"),
    );
    for (href, zh, en) in STAFF_PAGES {
        let _ = write!(body, r#"<li><a href="{href}">{}</a></li>"#, lang.t(zh, en));
    }
    body.push_str("</ul>");
    Ok(ctx.page(StatusCode::OK, title, &body))
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
    let lang = ctx.lang;
    let title = lang.t("找不到该页面", "Page not found");
    let body = format!(
        r#"<h1>{}</h1><p role="alert">{} <code>{}</code></p><p><a href="/">{}</a></p>"#,
        esc(title),
        lang.t("本服务没有这个地址：", "This service has no page at"),
        esc(req.path()),
        lang.t("返回首页", "Go to the front page"),
    );
    ctx.page(StatusCode::NOT_FOUND, title, &body)
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
