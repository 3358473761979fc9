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

/// A sign-in never sends the browser to another site, however `next` is
/// written (a tab or newline is dropped by browsers, so `/\t/x` is `//x`).
fn sign_in_stays_on_this_site(app: &TestApp) {
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "evil.example",
    ] {
        let client = Client::new(app);
        let form = client.get("/login");
        let page = client.post(
            "/login",
            &[
                ("csrf".into(), form.field("csrf")),
                ("next".into(), next.into()),
                ("username".into(), "stat".into()),
                ("password".into(), PASSWORD.into()),
            ],
        );
        assert_eq!(page.status, 200, "{next:?}: {}", page.text);
        assert_eq!(page.path, "/dashboard", "{next:?}");
    }
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
    assert!(!page.has(r#"role="note""#), "no warning: {}", page.text);
    assert_eq!(
        page.text.matches("<svg").count(),
        4,
        "national, trend, province and breakdown charts"
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
    for name in ["national", "trend", "province", "breakdown"] {
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
    the_trend_shows_the_published_series_and_the_round(&client, p, &api.json());
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

/// The trend chart and its data: every published year with its share as in
/// `surveys/national-series.json` (read here independently), then the round
/// with the API's national estimate and interval.
fn the_trend_shows_the_published_series_and_the_round(
    client: &Client,
    national: f64,
    api: &serde_json::Value,
) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../surveys/national-series.json"
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("series file")).expect("JSON");
    let published: Vec<(i64, f64, String)> = file["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| {
            (
                p["year"].as_i64().expect("year"),
                p["share"].as_f64().expect("share"),
                p["source"].as_str().expect("source").to_owned(),
            )
        })
        .collect();
    assert!(published.len() >= 5, "{published:?}");
    let csv = client.get(&format!("/dashboard/{ROUND}/trend.csv"));
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(
        csv.text
            .starts_with("\u{feff}year,series,estimate,ci_low,ci_high,n,suppressed,source\r\n"),
        "a BOM for spreadsheets, then the header: {}",
        csv.text
    );
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(csv.text.as_bytes())
        .records()
        .map(|r| r.expect("a record").iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), published.len() + 1, "{}", csv.text);
    for ((year, share, source), row) in published.iter().zip(&rows) {
        assert_eq!(row[0], year.to_string(), "{}", csv.text);
        assert_eq!(row[1], "published");
        assert_eq!(row[2].parse::<f64>().expect("share"), *share, "{year}");
        assert!(row[3].is_empty() && row[4].is_empty() && row[5].is_empty());
        assert_eq!(&row[7], source);
    }
    let round = rows.last().expect("the round");
    let e = &api["estimates"][0];
    assert_eq!((round[1].as_str(), round[7].as_str()), ("estimate", ROUND));
    assert_eq!(round[2].parse::<f64>().expect("estimate"), national);
    assert_eq!(
        round[3].parse::<f64>().expect("ci_low"),
        e["ci_low"].as_f64().expect("ci_low")
    );
    assert_eq!(
        round[4].parse::<f64>().expect("ci_high"),
        e["ci_high"].as_f64().expect("ci_high")
    );
    assert_eq!(round[5], e["n"].as_u64().expect("n").to_string());
    // The SVG: a point per published year and one for the round, and the
    // target lines.
    let svg = client.get(&format!("/dashboard/{ROUND}/trend.svg"));
    assert_eq!(svg.status, 200, "{}", svg.text);
    let doc = roxmltree::Document::parse(&svg.text).expect("well-formed SVG");
    let years: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle") && n.attribute("class") == Some("estimate"))
        .filter_map(|n| n.parent()?.attribute("data-year").map(str::to_owned))
        .collect();
    let mut expected: Vec<String> = published.iter().map(|(y, _, _)| y.to_string()).collect();
    expected.push(round[0].clone());
    assert_eq!(
        years, expected,
        "a point per published year, then the round"
    );
    assert!(svg.text.contains("class=\"target\""), "the targets");
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

/// A batch with design weights beside one without: the dashboard says the
/// weights are not on one scale, in the page's language.
fn design_weights_for_part_of_the_round_are_pointed_out(app: &TestApp) {
    let weighted: String = batch_of(11)
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                format!("{line},weight\n")
            } else {
                format!("{line},{}\n", 1000 + i)
            }
        })
        .collect();
    for (user, csv) in [("up11", weighted.as_str()), ("up44", batch_of(44))] {
        let r = app.upload(&app.login(user), false, csv);
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let client = Client::new(app);
    let page = sign_in(&client, "stat", &format!("/dashboard/{ROUND}"));
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.has(r#"<p class="notice" role="note"><strong>请注意：</strong> 在 "#)
            && page.has("两组的权数不在同一尺度上"),
        "{}",
        page.text
    );
    let en = client.get(&format!("/dashboard/{ROUND}?lang=en"));
    assert!(
        en.has("<strong>Note:</strong> ")
            && en.has("the two groups&#39; weights are not on one scale"),
        "{}",
        en.text
    );
}

on_both_backends!(
    the_dashboard_shows_the_estimates_with_charts_and_downloads,
    uploaders_and_wrong_passwords_do_not_reach_the_dashboard,
    design_weights_for_part_of_the_round_are_pointed_out,
    sign_in_stays_on_this_site,
    staff_change_their_own_password_on_a_page,
);

fn staff_change_their_own_password_on_a_page(app: &TestApp) {
    let client = Client::new(app);
    let home = sign_in(&client, "stat", "");
    assert!(
        home.has(r#"<a href="/account/password">修改密码</a>"#),
        "{}",
        home.text
    );
    let page = client.get("/account/password");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.has(r#"autocomplete="new-password""#), "{}", page.text);
    let send = |current: &str, new: &str| {
        client.post(
            "/account/password",
            &[
                ("csrf".into(), page.field("csrf")),
                ("current".into(), current.into()),
                ("new".into(), new.into()),
            ],
        )
    };
    let new = "a brand new passphrase";
    send("not the password", new).assert_shows(403, "当前密码不对，密码没有修改。");
    send(PASSWORD, "short").assert_shows(422, "密码太短（至少 8 个字符）");
    send(PASSWORD, new).assert_shows(200, "密码已修改");
    let login = |password: &str| {
        let body = serde_json::json!({"username": "stat", "password": password});
        app.post("/api/v1/auth/login", None, &body).status
    };
    assert_eq!((login(new), login(PASSWORD)), (200, 401));
    // Not signed in: the sign-in page.
    let visitor = Client::new(app);
    assert!(
        visitor
            .get("/account/password")
            .path
            .starts_with("/login?next=")
    );
}
