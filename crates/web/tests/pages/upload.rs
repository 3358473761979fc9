//! The provincial upload page through plain forms: a file with errors is
//! checked, its problems listed and downloadable; a commit stores the good
//! rows once; the past batches are listed with their counts.

use literacy_web::auth::Role;

use crate::client::{Client, Page};
use crate::dashboard::sign_in;
use crate::helpers::{ROUND, TestApp, batch_of, crafted_token, now, own_rows_of};
use crate::on_both_backends;

/// The Beijing batch with `bad` rows made wrong (an impossible sex code).
pub fn batch_with_errors(bad: usize) -> String {
    batch_with_sex(bad, "7")
}

/// The Beijing batch with the sex of the first `bad` rows set to `value`.
pub fn batch_with_sex(bad: usize, value: &str) -> String {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(batch_of(11).as_bytes());
    let header = reader.headers().expect("header").clone();
    let sex = header.iter().position(|h| h == "sex").expect("sex column");
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    w.write_record(&header).expect("header");
    for (i, row) in reader.records().enumerate() {
        let mut row: Vec<String> = row.expect("row").iter().map(str::to_owned).collect();
        if i < bad && row.len() > sex {
            row[sex] = value.into();
        }
        w.write_record(&row).expect("row");
    }
    String::from_utf8(w.into_inner().expect("csv")).expect("utf-8")
}

/// Posts the commit form of a check's report page: its csrf, file name and
/// file, and the `extra` fields it carries.
fn commit(client: &Client, report: &Page, extra: &[&str]) -> Page {
    let fields: Vec<(String, String)> = ["csrf", "file_name"]
        .iter()
        .chain(extra)
        .chain(&["csv"])
        .map(|&name| (name.to_owned(), report.field(name)))
        .collect();
    client.post_multipart(&format!("/upload/{ROUND}/commit"), &fields, None)
}

/// What the JSON API's dry run says of a file: (rows, accepted).
fn api_dry_run(app: &TestApp, csv: &str) -> (usize, usize) {
    let token = app.login("up11");
    let r = app.upload(&token, true, csv);
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    let count = |k: &str| usize::try_from(v[k].as_u64().expect("count")).expect("usize");
    (count("rows"), count("accepted"))
}

fn a_batch_is_checked_then_committed_once(app: &TestApp) {
    let client = Client::new(app);
    let home = sign_in(&client, "up11", "");
    assert_eq!(home.path, "/upload", "an uploader's home");
    let page = client.get(&format!("/upload/{ROUND}"));
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.has("北京"), "{}", page.text);
    assert!(page.has(r#"<label for="file">"#));
    let csrf = vec![("csrf".to_owned(), page.field("csrf"))];
    // No file: the message is next to the field.
    let none = client.post_multipart(&format!("/upload/{ROUND}/check"), &csrf, None);
    assert_eq!(none.status, 422, "{}", none.text);
    assert!(none.has(r#"id="file-err""#));
    // Two bad rows: listed with line, column, value and problem; nothing stored.
    let bad = batch_with_errors(2);
    let report = client.post_multipart(
        &format!("/upload/{ROUND}/check"),
        &csrf,
        Some(("beijing.csv", bad.as_bytes())),
    );
    assert_eq!(report.status, 200, "{}", report.text);
    let (rows, accepted) = api_dry_run(app, &bad);
    assert!(
        report.has(&format!(
            "共 {rows} 行，{accepted} 行可以入库，{} 行有问题",
            rows - accepted
        )),
        "the page agrees with the API: {}",
        report.text
    );
    assert!(
        report.has("<td>2</td><td>sex</td><td>7</td>"),
        "{}",
        report.text
    );
    assert!(report.has("<td>3</td><td>sex</td><td>7</td>"));
    // In Chinese, with the codes' Chinese labels.
    assert!(
        report.has("<td>不是有效代码：可填 1（男）、2（女）</td>"),
        "{}",
        report.text
    );
    assert!(report.has(r#"download="problems-beijing.csv""#));
    assert!(report.has("data:text/csv;charset=utf-8,%EF%BB%BFline%2Ccolumn%2Cvalue%2Cproblem"));
    assert_eq!(app.responses(), 0, "a check stores nothing");
    // Commit: the good rows are stored, and the batch page says so.
    let done = commit(&client, &report, &[]);
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(
        done.path.starts_with(&format!("/upload/{ROUND}/batches/")),
        "{}",
        done.path
    );
    assert!(
        done.has(&format!(
            "已入库 {accepted} 行；{} 行有问题未入库",
            rows - accepted
        )),
        "{}",
        done.text
    );
    assert!(done.has("<td>beijing.csv</td>"));
    assert_eq!(app.responses(), accepted);
    // The same commit again, or the same file checked again, changes nothing.
    let again = commit(&client, &report, &[]);
    assert_eq!(again.path, done.path);
    let recheck = client.post_multipart(
        &format!("/upload/{ROUND}/check"),
        &csrf,
        Some(("beijing.csv", bad.as_bytes())),
    );
    assert!(recheck.has("这个文件已经提交过"), "{}", recheck.text);
    // Names and values from the file are escaped, never markup.
    let hostile = client.post_multipart(
        &format!("/upload/{ROUND}/check"),
        &csrf,
        Some((
            "<img src=x onerror=alert(1)>.csv",
            batch_with_sex(1, "<script>").as_bytes(),
        )),
    );
    assert!(
        !hostile.has("<img src=x") && !hostile.has("<script>"),
        "{}",
        hostile.text
    );
    assert!(hostile.has("&lt;script&gt;"), "{}", hostile.text);
    assert_eq!(app.responses(), accepted);
    // A corrected file: only the fixed rows are new.
    let (_, fresh) = api_dry_run(app, batch_of(11));
    let fixed = client.post_multipart(
        &format!("/upload/{ROUND}/check"),
        &csrf,
        Some(("beijing-fixed.csv", batch_of(11).as_bytes())),
    );
    assert!(
        fixed.has(&format!("{fresh} 行可以入库")),
        "stored respondents are refused: {}",
        fixed.text
    );
    let done = commit(&client, &fixed, &[]);
    assert!(done.has(&format!("已入库 {fresh} 行")), "{}", done.text);
    assert_eq!(app.responses(), accepted + fresh);
    assert_eq!(
        done.text.matches("/batches/").count(),
        2,
        "two past batches listed"
    );
}

fn a_commit_with_nothing_to_store_is_refused(app: &TestApp) {
    let client = Client::new(app);
    let page = sign_in(&client, "up11", &format!("/upload/{ROUND}"));
    // Guangdong's rows sent by Beijing's uploader: every row is rejected.
    let (file, n_rows) = own_rows_of(44);
    let report = client.post_multipart(
        &format!("/upload/{ROUND}/check"),
        &[("csrf".to_owned(), page.field("csrf"))],
        Some(("guangdong.csv", file.as_bytes())),
    );
    assert!(
        report.has(&format!("共 {n_rows} 行，0 行可以入库")),
        "{}",
        report.text
    );
    // Posted all the same: refused, in the page's language; no batch.
    let refused = commit(&client, &report, &[]);
    refused.assert_shows(
        422,
        &format!("没有可以提交的行：文件的 {n_rows} 行都未通过检查"),
    );
    assert_eq!((app.batches(), app.responses()), (0, 0));
}

/// The staff cookie's `Max-Age` the last response set.
fn staff_cookie_max_age(client: &Client) -> Option<u64> {
    client
        .set_cookies
        .borrow()
        .iter()
        .rev()
        .find(|l| l.starts_with("lit_staff="))?
        .split("Max-Age=")
        .nth(1)?
        .split(';')
        .next()?
        .parse()
        .ok()
}

fn the_staff_page_session_slides_up_to_its_absolute_lifetime(app: &TestApp) {
    use literacy_web::auth::jwt::STAFF_MAX_SECS;
    let client = Client::new(app);
    let page = format!("/upload/{ROUND}");
    let now = now();
    let up11 = |began| {
        let who = ("up11", Role::Uploader, Some("11"), None);
        crafted_token(who, "literacy-staff", began, now)
    };
    // Signed in ten minutes ago: each page renews the session for the
    // whole lifetime (15 minutes) again.
    client
        .cookies
        .borrow_mut()
        .insert("lit_staff".into(), up11(now - 600));
    assert_eq!(client.get(&page).status, 200);
    assert_eq!(staff_cookie_max_age(&client), Some(900));
    // Signed in nearly the absolute lifetime ago: renewed only to its end.
    client
        .cookies
        .borrow_mut()
        .insert("lit_staff".into(), up11(now + 30 - STAFF_MAX_SECS));
    assert_eq!(client.get(&page).status, 200);
    assert!(staff_cookie_max_age(&client).is_some_and(|s| s <= 30));
    // Longer ago, though the token has not expired: signed out.
    client
        .cookies
        .borrow_mut()
        .insert("lit_staff".into(), up11(now - STAFF_MAX_SECS - 1));
    assert!(client.get(&page).path.starts_with("/login?next="));
}

fn only_uploaders_reach_the_upload_page(app: &TestApp) {
    let client = Client::new(app);
    assert!(
        client
            .get(&format!("/upload/{ROUND}"))
            .path
            .starts_with("/login?next=")
    );
    let page = sign_in(&client, "stat", &format!("/upload/{ROUND}"));
    assert_eq!(page.status, 403, "{}", page.text);
    // Another province's batch is not shown.
    let up44 = Client::new(app);
    sign_in(&up44, "up44", "");
    let up11 = Client::new(app);
    sign_in(&up11, "up11", "");
    let token = app.login("up11");
    let r = app.upload(&token, false, batch_of(11));
    let id = r.json()["batch_id"].as_i64().expect("batch id");
    assert_eq!(
        up11.get(&format!("/upload/{ROUND}/batches/{id}")).status,
        200
    );
    assert_eq!(
        up44.get(&format!("/upload/{ROUND}/batches/{id}")).status,
        404
    );
}

on_both_backends!(
    a_batch_is_checked_then_committed_once,
    a_commit_with_nothing_to_store_is_refused,
    the_staff_page_session_slides_up_to_its_absolute_lifetime,
    only_uploaders_reach_the_upload_page,
    gbk_files_and_spreadsheets_upload_as_the_api_reads_them,
    malformed_forms_are_refused_not_crashed_on,
    server_refusals_read_in_the_page_language,
);

/// A refusal made by the server (no such round; an account check) reads
/// in the page's language, from the message catalog.
fn server_refusals_read_in_the_page_language(app: &TestApp) {
    let client = Client::new(app);
    sign_in(&client, "up11", "");
    client
        .get("/upload/nosuch?lang=zh-CN")
        .assert_shows(404, "没有这一轮调查：&quot;nosuch&quot;。");
    client
        .get("/upload/nosuch?lang=en")
        .assert_shows(404, "no round &quot;nosuch&quot;");
    let admin = Client::new(app);
    let home = sign_in(&admin, "admin", "");
    for (lang, says) in [
        ("zh-CN", "密码太短（至少 8 个字符）"),
        ("en", "password is too short"),
    ] {
        admin.get(&format!("/admin?lang={lang}"));
        let short = admin.post(
            "/admin/users",
            &[
                ("csrf".into(), home.field("csrf")),
                ("username".into(), "shorty".into()),
                ("password".into(), "short".into()),
                ("role".into(), "statistician".into()),
                ("province".into(), String::new()),
            ],
        );
        assert_eq!(short.status, 422, "{}", short.text);
        assert!(short.has(says), "{lang}: {}", short.text);
    }
}

fn malformed_forms_are_refused_not_crashed_on(app: &TestApp) {
    let client = Client::new(app);
    sign_in(&client, "up11", "");
    let path = format!("/upload/{ROUND}/check");
    let ct = "multipart/form-data; boundary=XyZ";
    // The start of a part named `name`, up to the end of its first header.
    let part = |name: &str| format!("--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"");
    let bodies = [
        // A delimiter right after a part's headers (the old parser panicked).
        format!("{}; filename=\"a.csv\"\r\n\r\n--XyZ--\r\n", part("file")).into_bytes(),
        // Headers never ended, a body never closed, no delimiter at all.
        part("csrf").into_bytes(),
        format!("{}\r\n\r\nabc", part("csrf")).into_bytes(),
        b"no multipart here".to_vec(),
        // A text field that is not UTF-8.
        [
            format!("{}\r\n\r\n", part("csrf")).as_bytes(),
            b"\xff\xfe\r\n--XyZ--\r\n",
        ]
        .concat(),
    ];
    for body in &bodies {
        let page = client.post_raw(&path, ct, body);
        assert!(
            matches!(page.status, 400 | 403 | 422),
            "{}: {}",
            page.status,
            page.text
        );
        assert!(
            page.content_type.starts_with("text/html"),
            "{}",
            page.content_type
        );
    }
    // The service is still there.
    assert_eq!(client.get(&format!("/upload/{ROUND}")).status, 200);
}

fn gbk_files_and_spreadsheets_upload_as_the_api_reads_them(app: &TestApp) {
    let client = Client::new(app);
    sign_in(&client, "up11", "");
    let page = client.get(&format!("/upload/{ROUND}"));
    assert!(
        page.has(r#"<option value="gb18030">GBK / GB18030（中文 Excel 另存的 CSV）</option>"#),
        "{}",
        page.text
    );
    let csrf = page.field("csrf");
    let with = |encoding: &str| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("encoding".to_owned(), encoding.to_owned()),
        ]
    };
    // The batch with Chinese respondent ids, saved as GBK.
    let text: String = batch_with_errors(1)
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                format!("{line}\n")
            } else {
                format!("京-{line}\n")
            }
        })
        .collect();
    let (rows, accepted) = api_dry_run(app, &text);
    let (gbk, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable && gbk.len() < text.len(), "GBK bytes");
    let report = client.post_multipart(
        &format!("/upload/{ROUND}/check"),
        &with("gb18030"),
        Some(("beijing-gbk.csv", &gbk)),
    );
    assert_eq!(report.status, 200, "{}", report.text);
    assert!(
        report.has(&format!("共 {rows} 行，{accepted} 行可以入库")),
        "{}",
        report.text
    );
    assert_eq!(report.field("encoding"), "gb18030", "carried to the commit");
    // Named as UTF-8, the GBK file is refused, in Chinese, with its line.
    let refused = client.post_multipart(
        &format!("/upload/{ROUND}/check"),
        &with("utf-8"),
        Some(("gbk-named-utf8.csv", &gbk)),
    );
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.has("第 2 行：不是有效的 utf-8 文本"),
        "{}",
        refused.text
    );
    // A spreadsheet: checked and committed like its CSV.
    let plain = batch_with_errors(1);
    let rows_of = literacy_test_support::sheet::rows_of(plain.trim_end());
    let sheet = literacy_test_support::sheet::xlsx("北京", &rows_of);
    let report = client.post_multipart(
        &format!("/upload/{ROUND}/check"),
        &with("auto"),
        Some(("beijing.xlsx", &sheet)),
    );
    assert_eq!(report.status, 200, "{}", report.text);
    assert!(
        report.has(&format!("共 {rows} 行，{accepted} 行可以入库")),
        "{}",
        report.text
    );
    let done = commit(&client, &report, &["encoding"]);
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.has(&format!("已入库 {accepted} 行")), "{}", done.text);
    assert_eq!(app.responses(), accepted);
}
