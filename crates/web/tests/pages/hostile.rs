//! Hostile text wherever people's text reaches a page: usernames, round
//! codes, instrument names, the sign-in page's `next`, uploaded file names
//! and cells in the upload report and the committed batch, margins files'
//! cells in their problems. Every page shows it escaped exactly once, in
//! Chinese and in English, and never as markup.

use literacy_store::instruments;

use crate::client::{Client, Page, encode};
use crate::dashboard::sign_in;
use crate::helpers::{CSL_2026, PASSWORD, TestApp, batch_of, open_round};
use crate::on_both_backends;
use crate::upload::batch_with_sex;

/// Markup, a broken-out attribute and an entity, in one text (54
/// characters: a valid username).
const HOSTILE: &str = r#"<script>alert(1)</script>"'><img src=x onerror=1>&amp;"#;

/// The same without `/` (a round code is one path segment) and without
/// `"` (a multipart file name cannot hold one).
const NO_SLASH: &str = r#"'"><img src=x onerror=1><b>&amp;"#;
const FILE_NAME: &str = "<script>alert(1)</script>'><img src=x onerror=1>&amp;.csv";

/// `text` escaped as the pages escape it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page shows `text` escaped (once: `&amp;` becomes `&amp;amp;`) and
/// none of the hostile markup.
fn shows_escaped(page: &Page, text: &str, what: &str) {
    assert!(
        page.has(&escaped(text)),
        "{what}: {} not shown escaped on {} ({}):\n{}",
        text,
        page.path,
        page.status,
        page.text
    );
    for raw in ["<script>", "<img", "<b>"] {
        assert!(
            !page.has(raw),
            "{what}: {raw} unescaped on {}:\n{}",
            page.path,
            page.text
        );
    }
}

/// GETs `path` in Chinese, then in English, and checks each shows `text`.
fn both_languages(client: &Client, path: &str, text: &str) {
    let sep = if path.contains('?') { '&' } else { '?' };
    for lang in ["zh-CN", "en"] {
        let page = client.get(&format!("{path}{sep}lang={lang}"));
        assert!(page.has(&format!("<html lang=\"{lang}\">")), "{path}");
        shows_escaped(&page, text, path);
    }
}

/// Sets the client's language (remembered in its cookie).
fn speak(client: &Client, lang: &str) {
    let page = client.get(&format!("/?lang={lang}"));
    assert!(
        page.has(&format!("<html lang=\"{lang}\">")),
        "{}",
        page.text
    );
}

fn seed_hostile_round_and_instrument(app: &TestApp) -> i64 {
    let mut conn = app.store.conn().expect("connection");
    open_round(&mut conn, NO_SLASH, app.round.instrument_id, "{}", true);
    instruments::create_draft(&mut conn, HOSTILE, HOSTILE, CSL_2026)
        .expect("draft")
        .id
}

fn hostile_text_is_escaped_on_every_page(app: &TestApp) {
    let draft = seed_hostile_round_and_instrument(app);
    // In a path a space is %20 (a form's + is a plus there).
    let round = encode(NO_SLASH).replace('+', "%20");
    // Anyone: the front door, the survey index and the round's entry page.
    let visitor = Client::new(app);
    for path in ["/", "/survey", &format!("/survey/{round}")] {
        both_languages(&visitor, path, NO_SLASH);
    }
    both_languages(
        &visitor,
        &format!("/login?next=/{}", encode(HOSTILE)),
        HOSTILE,
    );
    // The admin: accounts, rounds, margins, instruments.
    let admin = Client::new(app);
    let home = sign_in(&admin, "admin", "");
    let csrf = home.field("csrf");
    for (name, role, province) in [
        (HOSTILE.to_owned(), "statistician", ""),
        (format!("{HOSTILE}u"), "uploader", "11"),
    ] {
        let fields = |lang: &str| {
            speak(&admin, lang);
            admin.post(
                "/admin/users",
                &[
                    ("csrf".into(), csrf.clone()),
                    ("username".into(), name.clone()),
                    ("password".into(), PASSWORD.into()),
                    ("role".into(), role.into()),
                    ("province".into(), province.into()),
                ],
            )
        };
        let made = fields("zh-CN");
        assert_eq!(made.path, "/admin?done=user", "{}", made.text);
        // Taken, in both languages: the refusal names it.
        for lang in ["zh-CN", "en"] {
            let taken = fields(lang);
            assert_eq!(taken.status, 422, "{}", taken.text);
            shows_escaped(&taken, &name, "a taken username");
        }
    }
    both_languages(&admin, "/admin", HOSTILE);
    both_languages(&admin, "/admin", NO_SLASH);
    both_languages(&admin, &format!("/admin/rounds/{round}/margins"), NO_SLASH);
    both_languages(&admin, "/admin/instruments", HOSTILE);
    both_languages(&admin, &format!("/admin/instruments/{draft}"), HOSTILE);
    let margins_csv = format!(
        "variable,category,total\n\"{q}\",1,5\nsex,\"{q}\",5\nsex,1,\"{q}\"\n",
        q = HOSTILE.replace('"', "\"\"")
    );
    let margins_path = format!("/admin/rounds/{round}/margins");
    for lang in ["zh-CN", "en"] {
        speak(&admin, lang);
        let csrf = admin.get(&margins_path).field("csrf");
        let bad = admin.post_multipart(
            &margins_path,
            &[("csrf".to_owned(), csrf)],
            Some(("m.csv", margins_csv.as_bytes())),
        );
        assert_eq!(bad.status, 422, "{}", bad.text);
        shows_escaped(&bad, HOSTILE, "a margins file's cells");
    }
    // A statistician with a hostile name: the dashboard pages.
    let stat = Client::new(app);
    sign_in(&stat, HOSTILE, "");
    both_languages(&stat, "/dashboard", HOSTILE);
    both_languages(&stat, "/dashboard", NO_SLASH);
    both_languages(&stat, &format!("/dashboard/{round}"), NO_SLASH);
    // An uploader with a hostile name: a file with a hostile name and cells.
    let up = Client::new(app);
    sign_in(&up, &format!("{HOSTILE}u"), "");
    both_languages(&up, "/upload", HOSTILE);
    both_languages(&up, "/upload", NO_SLASH);
    both_languages(&up, &format!("/upload/{round}"), NO_SLASH);
    let check = format!("/upload/{}/check", app.round.code);
    let file = batch_with_sex(2, HOSTILE);
    assert_ne!(file, batch_of(11));
    let mut report = None;
    for lang in ["zh-CN", "en"] {
        speak(&up, lang);
        let csrf = up.get(&format!("/upload/{}", app.round.code)).field("csrf");
        let page = up.post_multipart(
            &check,
            &[("csrf".to_owned(), csrf)],
            Some((FILE_NAME, file.as_bytes())),
        );
        assert_eq!(page.status, 200, "{}", page.text);
        shows_escaped(&page, FILE_NAME, "an uploaded file's name");
        shows_escaped(&page, HOSTILE, "an uploaded file's cells");
        report = Some(page);
    }
    let report = report.expect("a report");
    let committed = up.post_multipart(
        &format!("/upload/{}/commit", app.round.code),
        &[
            ("csrf".to_owned(), report.field("csrf")),
            ("file_name".to_owned(), FILE_NAME.to_owned()),
            ("encoding".to_owned(), report.field("encoding")),
            ("csv".to_owned(), report.field("csv")),
        ],
        None,
    );
    assert_eq!(committed.status, 200, "{}", committed.text);
    assert!(committed.path.contains("/batches/"), "{}", committed.path);
    both_languages(&up, &committed.path, FILE_NAME);
    both_languages(&up, &committed.path, HOSTILE);
    both_languages(&up, &format!("/upload/{}", app.round.code), FILE_NAME);
}

on_both_backends!(hostile_text_is_escaped_on_every_page);
