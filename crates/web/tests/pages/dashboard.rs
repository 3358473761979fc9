//! Staff sign-in and the statisticians' dashboard through plain forms.

use crate::client::Client;
use crate::helpers::{PASSWORD, ROUND, TestApp, batch_of};
use crate::on_both_backends;

/// Commits the paper batches of two provinces through the API.
pub fn seed(app: &TestApp) {
    for (user, province) in [("up11", 11), ("up44", 44)] {
        let token = app.login(user);
        let r = app.upload(&token, false, batch_of(province));
        assert_eq!(r.status, 201, "{}", r.text);
    }
}

/// Signs `user` in through the login form.
pub fn sign_in(client: &Client, user: &str, next: &str) -> crate::client::Page {
    let form = client.get(&format!("/login?next={next}"));
    assert_eq!(form.status, 200, "{}", form.text);
    assert!(form.has(r#"<label for="password">"#));
    if !next.is_empty() {
        // The language switch keeps where to go after signing in.
        assert!(form.has("lang=en\""), "{}", form.text);
        assert!(form.has("?next=/"), "{}", form.text);
    }
    client.post(
        "/login",
        &[
            ("csrf".into(), form.field("csrf")),
            ("next".into(), form.field("next")),
            ("username".into(), user.into()),
            ("password".into(), PASSWORD.into()),
        ],
    )
}

fn the_dashboard_shows_the_estimates_with_charts_and_downloads(app: &TestApp) {
    seed(app);
    let client = Client::new(app);
    // Not signed in: to the sign-in page, and back after it.
    let gate = client.get(&format!("/dashboard/{ROUND}"));
    assert!(gate.path.starts_with("/login?next="), "{}", gate.path);
    let page = sign_in(&client, "stat", &format!("/dashboard/{ROUND}"));
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.path, format!("/dashboard/{ROUND}"));
    assert!(client.cookies.borrow().contains_key("lit_staff"));
    assert!(page.has("全国公民具备科学素质的比例"), "{}", page.text);
    assert_eq!(
        page.text.matches("<svg").count(),
        3,
        "national, province and breakdown charts"
    );
    for target in [
        "2020: 10.00%",
        "2035: 20.00%",
        "2025: 15.00%",
        "2035: 25.00%",
    ] {
        assert!(page.has(target), "{target} missing");
    }
    assert!(page.has("95% 置信区间"));
    // The same national number as the API's.
    let stat = app.login("stat");
    let api = app.get(&format!("/api/v1/rounds/{ROUND}/estimates"), Some(&stat));
    let p = api.json()["estimates"][0]["estimate"]
        .as_f64()
        .expect("estimate");
    assert!(page.has(&format!("{:.2}%", p * 100.0)), "{p}");
    for name in ["national", "province", "breakdown"] {
        let svg = client.get(&format!("/dashboard/{ROUND}/{name}.svg"));
        assert_eq!(svg.status, 200, "{}", svg.text);
        assert!(
            svg.content_type.starts_with("image/svg+xml"),
            "{}",
            svg.content_type
        );
        roxmltree::Document::parse(&svg.text).expect("well-formed SVG");
        let csv = client.get(&format!("/dashboard/{ROUND}/{name}.csv"));
        assert_eq!(csv.status, 200);
        assert!(csv.content_type.starts_with("text/csv"));
        assert!(csv.text.lines().count() >= 2, "{}", csv.text);
    }
    let provinces = client.get(&format!("/dashboard/{ROUND}/province.csv"));
    assert_eq!(
        provinces.text.lines().count(),
        3,
        "header and two provinces: {}",
        provinces.text
    );
    assert_eq!(
        client.get(&format!("/dashboard/{ROUND}/nope.svg")).status,
        404
    );
    let en = client.get(&format!("/dashboard/{ROUND}?lang=en"));
    assert!(en.has("National share"));
    // Signing out forgets the cookie.
    let out = client.post("/logout", &[("csrf".into(), en.field("csrf"))]);
    assert!(out.path.starts_with("/login"));
    assert!(client.get("/dashboard").path.starts_with("/login"));
}

fn uploaders_and_wrong_passwords_do_not_reach_the_dashboard(app: &TestApp) {
    let client = Client::new(app);
    let form = client.get("/login");
    let wrong = client.post(
        "/login",
        &[
            ("csrf".into(), form.field("csrf")),
            ("username".into(), "stat".into()),
            ("password".into(), "nope".into()),
        ],
    );
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert!(wrong.has("用户名或密码不正确"));
    assert!(!client.cookies.borrow().contains_key("lit_staff"));
    let up = sign_in(&client, "up11", "/dashboard");
    assert_eq!(up.status, 403, "{}", up.text);
    // An open redirect is refused: `next` stays on this site.
    let other = Client::new(app);
    let page = sign_in(&other, "stat", "//evil.example/");
    assert_eq!(page.path, "/dashboard");
    // A round with no responses says so.
    let empty = other.get(&format!("/dashboard/{ROUND}"));
    assert_eq!(empty.status, 422, "{}", empty.text);
    assert!(empty.has("还不能估计"));
}

on_both_backends!(
    the_dashboard_shows_the_estimates_with_charts_and_downloads,
    uploaders_and_wrong_passwords_do_not_reach_the_dashboard,
);
