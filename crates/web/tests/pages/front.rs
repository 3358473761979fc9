//! The front door and the answer to an unknown address: an HTML page for
//! a browser, the one JSON error shape for an API client.

use literacy_store::rounds::{self, RoundStatus};

use crate::client::Client;
use crate::helpers::{Body, ROUND, TestApp};
use crate::on_both_backends;

on_both_backends!(
    the_front_door_links_the_open_questionnaires_and_staff_pages,
    unknown_paths_answer_browsers_with_html_and_clients_with_json,
);

fn the_front_door_links_the_open_questionnaires_and_staff_pages(app: &TestApp) {
    let client = Client::new(app);
    let zh = client.get("/");
    assert_eq!(zh.status, 200, "{}", zh.text);
    assert!(
        zh.content_type.starts_with("text/html"),
        "{}",
        zh.content_type
    );
    assert!(zh.has(r#"<html lang="zh-CN">"#), "{}", zh.text);
    assert!(zh.has("<h1>公民科学素质调查</h1>"), "{}", zh.text);
    assert!(zh.has("具备科学素质的比例"), "says what the service does");
    assert!(
        zh.has(&format!(
            r#"<a href="/survey/{ROUND}">调查轮次 {ROUND}</a>"#
        )),
        "the open round's questionnaire: {}",
        zh.text
    );
    for staff in [
        r#"<a href="/login">工作人员登录</a>"#,
        r#"<a href="/dashboard">"#,
        r#"<a href="/upload">"#,
        r#"<a href="/admin">"#,
    ] {
        assert!(zh.has(staff), "{staff} missing: {}", zh.text);
    }
    // Every link on the page leads somewhere (sign-in for the staff pages).
    for href in ["/login", "/dashboard", "/upload", "/admin", "/survey/2026"] {
        let page = client.get(href);
        assert_eq!(page.status, 200, "{href}: {}", page.text);
    }
    // The English toggle, remembered.
    let en = client.get("/?lang=en");
    assert!(en.has(r#"<html lang="en">"#), "{}", en.text);
    assert!(en.has("Civic Science Literacy Survey"));
    assert!(en.has(&format!(
        r#"<a href="/survey/{ROUND}">Survey round {ROUND}</a>"#
    )));
    assert!(
        en.has(r#"<a href="/login">Staff sign-in</a>"#),
        "{}",
        en.text
    );
    assert!(en.has(r#"href="?lang=zh-CN""#), "the way back to Chinese");
    assert!(client.get("/").has(r#"<html lang="en">"#));
    // A closed round is not offered.
    let mut conn = app.store.conn().expect("connection");
    rounds::set_status(&mut conn, app.round.id, RoundStatus::Closed).expect("close");
    let closed = client.get("/");
    assert!(!closed.has("/survey/2026"), "{}", closed.text);
    assert!(closed.has("No survey is collecting answers now."));
    // API clients asking for `/` get the page too (it is a page).
    let plain = app.get("/", None);
    assert_eq!(plain.status, 200);
    assert!(plain.content_type.starts_with("text/html"));
}

fn unknown_paths_answer_browsers_with_html_and_clients_with_json(app: &TestApp) {
    let client = Client::new(app);
    let page = client.get("/no/such/page?x=<b>");
    assert_eq!(page.status, 404, "{}", page.text);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(page.has("<h1>找不到该页面</h1>"), "{}", page.text);
    assert!(page.has("<code>/no/such/page</code>"), "{}", page.text);
    assert!(page.has(r#"<a href="/">返回首页</a>"#), "{}", page.text);
    let en = client.get("/nowhere?lang=en");
    assert_eq!(en.status, 404);
    assert!(en.has("<h1>Page not found</h1>"), "{}", en.text);
    // The path is shown as it was sent (still percent-encoded), never as markup.
    let odd = client.get("/%3Cscript%3E%22");
    assert_eq!(odd.status, 404);
    assert!(odd.has("<code>/%3Cscript%3E%22</code>"), "{}", odd.text);
    // API clients: the JSON error, whatever the path.
    for accept in [None, Some("*/*"), Some("application/json")] {
        let r = match accept {
            None => app.get("/no/such/page", None),
            Some(a) => app.request("GET", "/no/such/page", None, Body::Accept(a)),
        };
        assert_eq!(r.status, 404, "{accept:?}");
        assert!(r.content_type.starts_with("application/json"), "{accept:?}");
        assert_eq!(r.json()["error"]["code"], "not_found");
        assert_eq!(
            r.json()["error"]["message"],
            "no route GET /no/such/page",
            "{accept:?}"
        );
    }
    // A browser asking for an API path that does not exist gets the page.
    let api = client.get("/api/v1/nothing");
    assert_eq!(api.status, 404);
    assert!(api.content_type.starts_with("text/html"));
}
