//! The admin pages through plain forms: accounts, round status and open
//! participation, invite codes.

use crate::client::Client;
use crate::dashboard::sign_in;
use crate::helpers::{PASSWORD, ROUND, TestApp};
use crate::on_both_backends;

fn post(client: &Client, path: &str, csrf: &str, fields: &[(&str, &str)]) -> crate::client::Page {
    let mut f = vec![("csrf".to_owned(), csrf.to_owned())];
    f.extend(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    client.post(path, &f)
}

/// Posts the form that makes an account `username` (password [`PASSWORD`])
/// with `role` and `province`.
fn add_user(
    client: &Client,
    csrf: &str,
    username: &str,
    role: &str,
    province: &str,
) -> crate::client::Page {
    let fields = [
        ("username", username),
        ("password", PASSWORD),
        ("role", role),
        ("province", province),
    ];
    post(client, "/admin/users", csrf, &fields)
}

fn admins_manage_accounts_rounds_and_invites(app: &TestApp) {
    let client = Client::new(app);
    let home = sign_in(&client, "admin", "");
    assert_eq!(home.status, 200, "{}", home.text);
    assert_eq!(home.path, "/admin");
    assert!(home.has(&format!("轮次 {ROUND}")), "{}", home.text);
    assert!(home.has("<td>up44</td>"));
    let csrf = home.field("csrf");
    // Accounts: an uploader needs a province; a made account can sign in.
    let refused = add_user(&client, &csrf, "up33", "uploader", "");
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.has("上传账户需要选择省份"));
    let made = add_user(&client, &csrf, "up33", "uploader", "33");
    assert_eq!(made.path, "/admin?done=user", "{}", made.text);
    assert!(made.has("账户已创建") && made.has("<td>up33</td>"));
    let taken = add_user(&client, &csrf, "up33", "statistician", "");
    assert_eq!(taken.status, 422);
    assert!(!app.audits("user.create").is_empty());
    let odd = add_user(&client, &csrf, "<i>x</i>", "statistician", "");
    assert!(
        odd.has("<td>&lt;i&gt;x&lt;/i&gt;</td>") && !odd.has("<i>x</i>"),
        "{}",
        odd.text
    );
    let up33 = Client::new(app);
    assert_eq!(sign_in(&up33, "up33", "").path, "/upload");
    // Invite codes: made, shown once, and usable.
    let codes = post(
        &client,
        &format!("/admin/rounds/{ROUND}/invites"),
        &csrf,
        &[("count", "5"), ("province", "")],
    );
    assert_eq!(codes.status, 200, "{}", codes.text);
    assert_eq!(codes.text.matches("<li><code>").count(), 5);
    let start = codes.text.find("<li><code>").expect("a code") + "<li><code>".len();
    let code = &codes.text[start..start + codes.text[start..].find('<').expect("end")];
    let lifetime = literacy_store::invites::DEFAULT_LIFETIME_MS;
    assert_eq!(
        app.invite_lifetime_ms(code),
        lifetime,
        "never without an expiry"
    );
    let respondent = Client::new(app);
    let entry = respondent.get(&format!("/survey/{ROUND}"));
    let first = respondent.post(
        &format!("/survey/{ROUND}/start"),
        &[
            ("csrf".into(), entry.field("csrf")),
            ("invite_code".into(), code.into()),
        ],
    );
    assert!(first.path.ends_with("/p/1"), "{}", first.text);
    assert!(client.get("/admin").has("1 / 5"), "one of five codes used");
    let too_many = post(
        &client,
        &format!("/admin/rounds/{ROUND}/invites"),
        &csrf,
        &[("count", "0")],
    );
    assert_eq!(too_many.status, 422);
    // Open participation, then closing the round.
    let opened = post(
        &client,
        &format!("/admin/rounds/{ROUND}/status"),
        &csrf,
        &[("status", "open"), ("open_online", "1")],
    );
    assert_eq!(opened.path, "/admin?done=round");
    let anyone = Client::new(app);
    let entry = anyone.get(&format!("/survey/{ROUND}"));
    let direct = anyone.post(
        &format!("/survey/{ROUND}/start"),
        &[
            ("csrf".into(), entry.field("csrf")),
            ("invite_code".into(), String::new()),
        ],
    );
    assert!(direct.path.ends_with("/p/1"), "{}", direct.text);
    post(
        &client,
        &format!("/admin/rounds/{ROUND}/status"),
        &csrf,
        &[("status", "closed")],
    );
    let late = Client::new(app).get(&format!("/survey/{ROUND}"));
    assert!(late.has("不接受答卷"), "{}", late.text);
}

fn only_admins_open_the_admin_pages(app: &TestApp) {
    let client = Client::new(app);
    assert!(client.get("/admin").path.starts_with("/login?next="));
    let page = sign_in(&client, "stat", "/admin");
    assert_eq!(page.status, 403, "{}", page.text);
    let forged = client.post(
        "/admin/users",
        &[
            ("csrf".into(), "0".repeat(32)),
            ("username".into(), "x".into()),
        ],
    );
    assert_eq!(forged.status, 403);
}

fn national_weighted_total(app: &TestApp) -> f64 {
    let stat = app.login("stat");
    let r = app.get(&format!("/api/v1/rounds/{ROUND}/estimates"), Some(&stat));
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["estimates"][0]["weighted_total"]
        .as_f64()
        .expect("weighted_total")
}

fn admins_replace_the_margins_from_a_checked_file(app: &TestApp) {
    crate::dashboard::seed(app);
    let before = national_weighted_total(app);
    assert!((before - 100_000.0).abs() < 1e-6, "{before}");
    let client = Client::new(app);
    let path = format!("/admin/rounds/{ROUND}/margins");
    let home = sign_in(&client, "admin", "");
    assert!(home.has(&format!("href=\"{path}\"")), "{}", home.text);
    let page = client.get(&path);
    page.assert_shows(200, "<td>sex</td><td>1</td><td>男</td><td>51000</td>");
    let csrf = page.field("csrf");
    let send = |name: &str, csv: &str| {
        client.post_multipart(
            &path,
            &[("csrf".to_owned(), csrf.clone())],
            Some((name, csv.as_bytes())),
        )
    };
    // A bad file: every problem listed, nothing changed.
    let bad = send(
        "bad.csv",
        "variable,category,total\nsex,1,60000\nplanet,1,5\nsex,<b>9</b>,5\nsex,2,abc\neducation,1,-3\nsex,1,60000\n",
    );
    assert_eq!(bad.status, 422, "{}", bad.text);
    for problem in [
        "第 3 行：未知变量“planet”",
        "第 4 行：变量 sex 没有类别代码“&lt;b&gt;9&lt;/b&gt;”",
        "第 5 行：总数“abc”不是数字",
        "第 6 行：总数 -3 为负数",
        "第 7 行：sex 的类别 1 重复",
    ] {
        assert!(bad.has(problem), "{problem} missing: {}", bad.text);
    }
    assert!(!bad.has("<b>9</b>"));
    assert_eq!(bad.text.matches("<li>").count(), 5, "{}", bad.text);
    assert!(app.audits("round.margins").is_empty());
    assert!((national_weighted_total(app) - before).abs() < 1e-6);
    // A file without the token is refused.
    let forged = client.post_multipart(
        &path,
        &[("csrf".to_owned(), "0".repeat(32))],
        Some(("m.csv", b"variable,category,total\nsex,1,1\n")),
    );
    assert_eq!(forged.status, 403);
    // Margins that raking could not meet: totals of two populations, a
    // variable missing a category. Listed, and nothing changes.
    let unrakeable = send(
        "unrakeable.csv",
        "variable,category,total\nsex,1,70000\nsex,2,50000\nurban_rural,1,60000\nurban_rural,2,50000\neducation,1,120000\n",
    );
    assert_eq!(unrakeable.status, 422, "{}", unrakeable.text);
    assert!(unrakeable.has("缺少以下类别的总数"), "{}", unrakeable.text);
    assert!(
        unrakeable.has("各变量应合计为同一总体"),
        "{}",
        unrakeable.text
    );
    assert!(app.audits("round.margins").is_empty());
    assert!((national_weighted_total(app) - before).abs() < 1e-6);
    // A good file replaces the margins; the estimates follow.
    let good = send(
        "good.csv",
        "\u{feff}variable,category,total\r\nsex,1,70000\r\nsex,2,50000\r\n",
    );
    assert_eq!(good.status, 200, "{}", good.text);
    assert!(good.path.ends_with("done=margins"), "{}", good.path);
    assert!(good.has("边际已替换"));
    assert!(
        good.has("<td>sex</td><td>2</td><td>女</td><td>50000</td>"),
        "{}",
        good.text
    );
    assert_eq!(app.audits("round.margins").len(), 1);
    let after = national_weighted_total(app);
    assert!((after - 120_000.0).abs() < 1e-6, "{after}");
    // Statisticians may not open it.
    let stat = Client::new(app);
    sign_in(&stat, "stat", "");
    assert_eq!(stat.get(&path).status, 403);
}

fn admins_see_instruments_and_publish_drafts(app: &TestApp) {
    use literacy_store::instruments;
    let draft = {
        let mut conn = app.store.conn().expect("connection");
        instruments::create_draft(&mut conn, "csl-<2027>", "2027.0", crate::helpers::CSL_2026)
            .expect("draft")
    };
    let client = Client::new(app);
    let home = sign_in(&client, "admin", "");
    assert!(home.has(r#"href="/admin/instruments""#), "{}", home.text);
    let list = client.get("/admin/instruments");
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(list.has("<td>2026.1</td><td>已发布</td>"), "{}", list.text);
    assert!(
        list.has("csl-&lt;2027&gt;</a></td><td>2027.0</td><td>草稿</td>"),
        "{}",
        list.text
    );
    assert!(!list.has("csl-<2027>"));
    // The published version: its sections and items, and no publish button.
    let published = client.get("/admin/instruments/1");
    assert_eq!(published.status, 200, "{}", published.text);
    let definition: serde_json::Value =
        serde_json::from_str(crate::helpers::CSL_2026).expect("instrument JSON");
    let items = definition["items"].as_array().expect("items");
    for item in items {
        let id = item["id"].as_str().expect("id");
        assert!(published.has(&format!("<td>{id}</td>")), "{id} missing");
    }
    assert!(published.has("已发布的版本不能再修改"));
    assert!(!published.has("/publish\""));
    // The draft: published by its button, audited.
    let path = format!("/admin/instruments/{}", draft.id);
    let page = client.get(&path);
    assert!(
        page.has(&format!("action=\"{path}/publish\"")),
        "{}",
        page.text
    );
    let forged = client.post(
        &format!("{path}/publish"),
        &[("csrf".into(), "0".repeat(32))],
    );
    assert_eq!(forged.status, 403);
    assert!(app.audits("instrument.publish").is_empty());
    let done = client.post(
        &format!("{path}/publish"),
        &[("csrf".into(), page.field("csrf"))],
    );
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(
        done.has("已发布。") && done.has("已发布的版本不能再修改"),
        "{}",
        done.text
    );
    assert_eq!(app.audits("instrument.publish").len(), 1);
    let mut conn = app.store.conn().expect("connection");
    assert!(
        instruments::get(&mut conn, draft.id)
            .expect("get")
            .expect("stored")
            .is_published()
    );
    assert_eq!(client.get("/admin/instruments/999").status, 404);
    let stat = Client::new(app);
    sign_in(&stat, "stat", "");
    assert_eq!(stat.get("/admin/instruments").status, 403);
}

on_both_backends!(
    admins_manage_accounts_rounds_and_invites,
    admins_see_instruments_and_publish_drafts,
    admins_replace_the_margins_from_a_checked_file,
    only_admins_open_the_admin_pages,
);
