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

fn admins_manage_accounts_rounds_and_invites(app: &TestApp) {
    let client = Client::new(app);
    let home = sign_in(&client, "admin", "");
    assert_eq!(home.status, 200, "{}", home.text);
    assert_eq!(home.path, "/admin");
    assert!(home.has(&format!("轮次 {ROUND}")), "{}", home.text);
    assert!(home.has("<td>up44</td>"));
    let csrf = home.field("csrf");
    // Accounts: an uploader needs a province; a made account can sign in.
    let refused = post(
        &client,
        "/admin/users",
        &csrf,
        &[
            ("username", "up33"),
            ("password", PASSWORD),
            ("role", "uploader"),
            ("province", ""),
        ],
    );
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.has("上传账户需要选择省份"));
    let made = post(
        &client,
        "/admin/users",
        &csrf,
        &[
            ("username", "up33"),
            ("password", PASSWORD),
            ("role", "uploader"),
            ("province", "33"),
        ],
    );
    assert_eq!(made.path, "/admin?done=user", "{}", made.text);
    assert!(made.has("账户已创建") && made.has("<td>up33</td>"));
    let taken = post(
        &client,
        "/admin/users",
        &csrf,
        &[
            ("username", "up33"),
            ("password", PASSWORD),
            ("role", "statistician"),
            ("province", ""),
        ],
    );
    assert_eq!(taken.status, 422);
    assert!(!app.audits("user.create").is_empty());
    let odd = post(
        &client,
        "/admin/users",
        &csrf,
        &[
            ("username", "<i>x</i>"),
            ("password", PASSWORD),
            ("role", "statistician"),
            ("province", ""),
        ],
    );
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

on_both_backends!(
    admins_manage_accounts_rounds_and_invites,
    only_admins_open_the_admin_pages,
);
