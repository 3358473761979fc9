//! The questionnaire through plain HTML forms, as a browser without
//! JavaScript would use it.

use literacy_core::Instrument;
use literacy_core::instrument::ItemKind;
use literacy_store::rounds;
use literacy_web::auth::{Audience, Role, Subject};

use crate::client::{Client, Page};
use crate::helpers::{ROUND, TestApp, crafted_token, now};
use crate::on_both_backends;

/// A valid answer to every item of section `page` (1-based), as form pairs.
pub fn section_answers(instrument: &Instrument, page: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for id in &instrument.sections[page - 1].items {
        let item = &instrument.items[instrument.item_index(id).expect("item")];
        match &item.kind {
            ItemKind::TrueFalse { .. } => out.push((id.clone(), "1".into())),
            ItemKind::SingleChoice { options, .. } | ItemKind::Ordinal { options, .. } => {
                out.push((id.clone(), options[0].code.to_string()));
            }
            ItemKind::MultipleSelect { options, .. } => {
                for o in options.iter().filter(|o| !o.dont_know).take(2) {
                    out.push((id.clone(), o.code.to_string()));
                }
            }
            ItemKind::Numeric { range, .. } => out.push((id.clone(), range.min.to_string())),
        }
    }
    out
}

/// The page's hidden fields plus `pairs` and the button pressed.
pub fn form(page: &Page, pairs: &[(String, String)], go: &str) -> Vec<(String, String)> {
    let mut f = vec![
        ("csrf".to_owned(), page.field("csrf")),
        ("shown_at".to_owned(), page.field("shown_at")),
        ("go".to_owned(), go.to_owned()),
    ];
    f.extend(pairs.iter().cloned());
    f
}

/// The demographics of a 40-year-old urban woman in Guangdong.
pub fn demographics() -> Vec<(String, String)> {
    [
        ("province", "44"),
        ("urban_rural", "1"),
        ("sex", "2"),
        ("birth_year", "1986"),
        ("education", "3"),
        ("occupation", "2"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// Starts a session with a fresh invite code; returns the first page.
pub fn start(app: &TestApp, client: &Client) -> Page {
    let code = app.invites(1).remove(0);
    let entry = client.get(&format!("/survey/{ROUND}"));
    assert_eq!(entry.status, 200, "{}", entry.text);
    client.post(
        &format!("/survey/{ROUND}/start"),
        &[
            ("csrf".into(), entry.field("csrf")),
            ("invite_code".into(), code),
        ],
    )
}

fn session_of(page: &Page) -> String {
    page.path
        .strip_prefix("/survey/s/")
        .and_then(|p| p.split('/').next())
        .expect("a session path")
        .to_owned()
}

/// A respondent token for session `sid` (see [`crafted_token`]).
fn respondent_token(sid: &str, began: u64, now: u64) -> String {
    let who = (sid, Role::Respondent, None, Some(sid));
    crafted_token(who, "literacy-respondent", began, now)
}

fn a_province_bound_invite_is_refused_elsewhere(app: &TestApp) {
    let admin = app.login("admin");
    let made = app.post(
        &format!("/api/v1/rounds/{ROUND}/invites"),
        Some(&admin),
        &serde_json::json!({"count": 1, "province": 11}),
    );
    let code = made.json()["codes"][0].as_str().expect("code").to_owned();
    let client = Client::new(app);
    let entry = client.get(&format!("/survey/{ROUND}"));
    let first = client.post(
        &format!("/survey/{ROUND}/start"),
        &[
            ("csrf".into(), entry.field("csrf")),
            ("invite_code".into(), code),
        ],
    );
    let sid = session_of(&first);
    // Answered as Guangdong (44), though the code is Beijing's (11).
    let last = format!("/survey/s/{sid}/p/{}", app.instrument.sections.len() + 1);
    let page = client.get(&last);
    let review = client.post(&last, &form(&page, &demographics(), "next"));
    assert!(review.path.ends_with("/review"), "{}", review.text);
    let submit = vec![
        ("csrf".to_owned(), review.field("csrf")),
        ("submission_id".to_owned(), review.field("submission_id")),
    ];
    let refused = client.post(&format!("/survey/s/{sid}/submit"), &submit);
    refused.assert_shows(
        422,
        "这个邀请码是发给省份代码 11 的住户的，但问卷填写的省份代码是 44",
    );
    assert_eq!(app.responses(), 0);
}

fn a_respondent_cookie_ends_at_its_absolute_lifetime(app: &TestApp) {
    use literacy_web::auth::jwt::RESPONDENT_MAX_SECS;
    let client = Client::new(app);
    let sid = session_of(&start(app, &client));
    let page = format!("/survey/s/{sid}/p/1");
    let now = now();
    // Begun 30 s short of the absolute lifetime: shown, and the renewed
    // cookie ends with the chain, not a lifetime later.
    let nearly = respondent_token(&sid, now + 30 - RESPONDENT_MAX_SECS, now);
    client.cookies.borrow_mut().insert("lit_rs".into(), nearly);
    assert_eq!(client.get(&page).status, 200);
    let renewed = client
        .set_cookies
        .borrow()
        .iter()
        .rev()
        .find(|l| l.starts_with("lit_rs="))
        .cloned()
        .expect("a renewed cookie");
    let max_age: u64 = renewed
        .split("Max-Age=")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|v| v.parse().ok())
        .expect("Max-Age");
    assert!(max_age <= 30, "{renewed}");
    // Begun longer ago, though the token has not expired: refused; the
    // invite code is entered again.
    let over = respondent_token(&sid, now - RESPONDENT_MAX_SECS - 1, now);
    client.cookies.borrow_mut().insert("lit_rs".into(), over);
    client.get(&page).assert_shows(403, "用邀请码重新进入");
}

fn the_questionnaire_is_completed_through_forms(app: &TestApp) {
    let client = Client::new(app);
    let ins = &app.instrument;
    let total = ins.sections.len() + 1;
    let first = start(app, &client);
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.path.ends_with("/p/1"), "{}", first.path);
    assert_eq!(first.redirects.len(), 1, "POST-redirect-GET");
    assert!(first.content_type.starts_with("text/html"));
    assert!(first.has(r#"<html lang="zh-CN">"#));
    assert!(first.has(&format!("第 1 / {total} 页")), "{}", first.text);
    let sid = session_of(&first);
    let cookies = client.cookies.borrow().clone();
    assert!(cookies.contains_key("lit_rs") && cookies.contains_key("lit_csrf"));
    for line in client.set_cookies.borrow().iter() {
        if line.starts_with("lit_rs=") || line.starts_with("lit_csrf=") {
            assert!(
                line.contains("HttpOnly") && line.contains("SameSite=Strict"),
                "{line}"
            );
        }
        if line.starts_with("lit_rs=") {
            assert!(line.contains("Path=/survey"), "{line}");
        }
    }
    // Every input has a label tied to it, every choice group a legend.
    let first_item = &ins.sections[0].items[0];
    assert!(
        first.has(&format!(r#"<label class="opt" for="{first_item}-1">"#)),
        "{}",
        first.text
    );
    assert!(first.has("<fieldset") && first.has("<legend>"));

    let mut page = first;
    for n in 1..=ins.sections.len() {
        assert!(
            page.has(&format!("第 {n} / {total} 页")),
            "page {n}: {}",
            page.text
        );
        page = client.post(
            &format!("/survey/s/{sid}/p/{n}"),
            &form(&page, &section_answers(ins, n), "next"),
        );
        assert_eq!(page.status, 200, "{}", page.text);
    }
    // A reload of an earlier page shows its saved answers (and renews the
    // respondent cookie, so an active respondent is never signed out).
    let issued = |c: &Client| {
        c.set_cookies
            .borrow()
            .iter()
            .filter(|l| l.starts_with("lit_rs="))
            .count()
    };
    let before = issued(&client);
    let again = client.get(&format!("/survey/s/{sid}/p/1"));
    assert_eq!(issued(&client), before + 1);
    let tf = &ins.sections[0].items[0];
    assert!(
        again.has(&format!(r#"id="{tf}-1" name="{tf}" value="1" checked"#)),
        "{}",
        again.text
    );
    // Demographics: a birth year outside 18-69 is refused next to the field,
    // and the valid answers of the page are kept.
    assert!(page.path.ends_with(&format!("/p/{total}")), "{}", page.path);
    let mut demo = demographics();
    demo[3].1 = "2015".into();
    let refused = client.post(
        &format!("/survey/s/{sid}/p/{total}"),
        &form(&page, &demo, "next"),
    );
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.has(r#"<p class="err" id="e-birth_year">"#),
        "{}",
        refused.text
    );
    assert!(refused.has("出生年份应为"), "{}", refused.text);
    assert!(refused.has(r#"aria-invalid="true""#));
    let saved = app.get(&format!("/api/v1/sessions/{sid}"), None);
    assert_eq!(
        saved.status, 401,
        "the JSON API still wants its bearer token"
    );
    let reloaded = client.get(&format!("/survey/s/{sid}/p/{total}"));
    assert!(
        reloaded.has(r#"<option value="44" selected>"#),
        "{}",
        reloaded.text
    );
    let review = client.post(
        &format!("/survey/s/{sid}/p/{total}"),
        &form(&refused, &demographics(), "next"),
    );
    assert_eq!(review.status, 200, "{}", review.text);
    assert!(review.path.ends_with("/review"), "{}", review.path);
    assert!(review.has("广东"), "{}", review.text);
    assert!(
        !review.has(r#"class="missing""#),
        "every question answered: {}",
        review.text
    );
    assert!(review.has(&format!(r#"href="/survey/s/{sid}/p/1#q-{tf}""#)));
    // Submit; a second submit of the same form changes nothing.
    let submit = vec![
        ("csrf".to_owned(), review.field("csrf")),
        ("submission_id".to_owned(), review.field("submission_id")),
    ];
    let receipt = client.post(&format!("/survey/s/{sid}/submit"), &submit);
    assert_eq!(receipt.status, 200, "{}", receipt.text);
    assert!(receipt.path.ends_with("/receipt"));
    assert!(receipt.has(&format!("{ROUND}-0000")), "{}", receipt.text);
    let replay = client.post(&format!("/survey/s/{sid}/submit"), &submit);
    assert!(replay.path.ends_with("/receipt"), "{}", replay.path);
    assert_eq!(app.responses(), 1);
    // After submitting, every page leads to the receipt.
    assert!(
        client
            .get(&format!("/survey/s/{sid}/p/2"))
            .path
            .ends_with("/receipt")
    );
    assert!(
        client
            .get(&format!("/survey/{ROUND}"))
            .path
            .ends_with("/receipt")
    );
}

fn a_wrong_answer_is_shown_next_to_its_field_and_the_rest_is_saved(app: &TestApp) {
    let client = Client::new(app);
    let ins = &app.instrument;
    let page = start(app, &client);
    let sid = session_of(&page);
    let mut answers = section_answers(ins, 1);
    let bad = answers[1].0.clone();
    answers[1].1 = "77".into();
    let shown = client.post(
        &format!("/survey/s/{sid}/p/1"),
        &form(&page, &answers, "next"),
    );
    assert_eq!(shown.status, 422, "{}", shown.text);
    assert!(
        shown.has(&format!(r#"<p class="err" id="e-{bad}">"#)),
        "{}",
        shown.text
    );
    assert!(shown.has("请从列出的选项中选择"));
    assert!(shown.has(r#"role="alert""#));
    // Opening the link again (a reload) keeps the valid answers.
    let reload = client.get(&format!("/survey/s/{sid}/p/1"));
    let good = &answers[0].0;
    assert!(
        reload.has(&format!(
            r#"name="{good}" value="{}" checked"#,
            answers[0].1
        )),
        "{}",
        reload.text
    );
    // The entry link leads back to the first page with an unanswered question.
    assert!(
        client
            .get(&format!("/survey/{ROUND}"))
            .path
            .ends_with("/p/1")
    );
    // Submitting without demographics shows what is missing.
    let review = client.get(&format!("/survey/s/{sid}/review"));
    assert!(review.has(r#"class="missing""#));
    let refused = client.post(
        &format!("/survey/s/{sid}/submit"),
        &[
            ("csrf".into(), review.field("csrf")),
            ("submission_id".into(), review.field("submission_id")),
        ],
    );
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.has("提交前请填写基本情况"), "{}", refused.text);
    assert_eq!(app.responses(), 0);
}

fn forms_need_the_csrf_token_and_the_session_cookie(app: &TestApp) {
    let client = Client::new(app);
    let page = start(app, &client);
    let sid = session_of(&page);
    let mut f = form(&page, &section_answers(&app.instrument, 1), "next");
    f[0].1 = "0".repeat(32);
    let forged = client.post(&format!("/survey/s/{sid}/p/1"), &f);
    assert_eq!(forged.status, 403, "{}", forged.text);
    assert!(
        forged.content_type.starts_with("text/html"),
        "{}",
        forged.content_type
    );
    assert!(forged.has("表单已过期"));
    // Another browser (another respondent) cannot open this session.
    let stranger = Client::new(app);
    let other = stranger.get(&format!("/survey/s/{sid}/p/1"));
    assert_eq!(other.status, 403, "{}", other.text);
    let mine = start(app, &stranger);
    assert_ne!(session_of(&mine), sid);
}

fn english_is_chosen_and_remembered(app: &TestApp) {
    let client = Client::new(app);
    let entry = client.get(&format!("/survey/{ROUND}?lang=en"));
    assert!(entry.has(r#"<html lang="en">"#), "{}", entry.text);
    assert!(entry.has("Invite code"));
    let page = start(app, &client);
    assert!(page.has(r#"<html lang="en">"#), "{}", page.text);
    assert!(page.has("Page 1 of"), "{}", page.text);
    let sid = session_of(&page);
    let back = client.get(&format!("/survey/s/{sid}/p/1?lang=zh-CN"));
    assert!(back.has(r#"<html lang="zh-CN">"#));
    assert!(client.get(&format!("/survey/s/{sid}/p/2")).has("第 2 /"));
}

fn invite_codes_are_checked_and_open_rounds_start_directly(app: &TestApp) {
    let client = Client::new(app);
    let entry = client.get(&format!("/survey/{ROUND}"));
    let csrf = entry.field("csrf");
    let post = |code: &str| {
        client.post(
            &format!("/survey/{ROUND}/start"),
            &[
                ("csrf".into(), csrf.clone()),
                ("invite_code".into(), code.into()),
            ],
        )
    };
    let wrong = post("NOPE-NOPE");
    assert_eq!(wrong.status, 403, "{}", wrong.text);
    assert!(wrong.has("邀请码不正确"), "{}", wrong.text);
    assert!(wrong.has(r#"aria-describedby="invite-err""#));
    let none = post("");
    assert_eq!(none.status, 422, "{}", none.text);
    let mut conn = app.store.conn().expect("conn");
    rounds::set_open_online(&mut conn, app.round.id, true).expect("open");
    let direct = post("");
    assert_eq!(direct.status, 200, "{}", direct.text);
    assert!(direct.path.ends_with("/p/1"));
    assert_eq!(client.get("/survey").status, 200);
    assert_eq!(client.get("/survey/nope").status, 404);
}

fn the_invite_code_resumes_on_another_device_until_submitted(app: &TestApp) {
    let ins = &app.instrument;
    let code = app.invites(1).remove(0);
    let enter = |client: &Client| {
        let entry = client.get(&format!("/survey/{ROUND}"));
        client.post(
            &format!("/survey/{ROUND}/start"),
            &[
                ("csrf".into(), entry.field("csrf")),
                ("invite_code".into(), code.clone()),
            ],
        )
    };
    let phone = Client::new(app);
    let first = enter(&phone);
    assert_eq!(first.status, 200, "{}", first.text);
    let sid = session_of(&first);
    let saved = phone.post(
        &format!("/survey/s/{sid}/p/1"),
        &form(&first, &section_answers(ins, 1), "next"),
    );
    assert_eq!(saved.status, 200, "{}", saved.text);
    // The same code on a computer (no cookie): the same session, with the
    // answers saved on the phone.
    let computer = Client::new(app);
    let resumed = enter(&computer);
    assert_eq!(resumed.status, 200, "{}", resumed.text);
    assert_eq!(session_of(&resumed), sid);
    let tf = &ins.sections[0].items[0];
    assert!(
        resumed.has(&format!(r#"id="{tf}-1" name="{tf}" value="1" checked"#)),
        "{}",
        resumed.text
    );
    // Submitted (through the API here), the code opens nothing more.
    let token = app.token(
        Subject {
            sub: sid.clone(),
            role: Role::Respondent,
            province: None,
            sid: Some(sid.clone()),
        },
        Audience::Respondent,
        now(),
    );
    let submitted = app.post(
        &format!("/api/v1/sessions/{sid}/submit"),
        Some(&token),
        &serde_json::json!({
            "submission_id": "5d2f7a9c-1b3e-4c6d-8e0f-2a4b6c8d0e1f",
            "demographics": crate::helpers::demographics(),
        }),
    );
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let closed = enter(&Client::new(app));
    assert_eq!(closed.status, 409, "{}", closed.text);
    assert!(closed.has("问卷已经提交"), "{}", closed.text);
}

fn the_questionnaire_weighs_under_100_kb(app: &TestApp) {
    let client = Client::new(app);
    let page = start(app, &client);
    let sid = session_of(&page);
    let heaviest = (1..=app.instrument.sections.len() + 1)
        .map(|n| client.bytes(&format!("/survey/s/{sid}/p/{n}")))
        .max()
        .expect("pages");
    let css = client.bytes("/static/app.css");
    let js = client.bytes("/static/app.js");
    let total = heaviest + css + js;
    println!(
        "questionnaire weight: heaviest page {heaviest} + css {css} + js {js} = {total} bytes"
    );
    assert!(
        total < 100_000,
        "heaviest page {heaviest} + css {css} + js {js} = {total} bytes"
    );
    assert!(css > 1000 && js > 100, "assets are served");
}

on_both_backends!(
    the_questionnaire_is_completed_through_forms,
    a_respondent_cookie_ends_at_its_absolute_lifetime,
    a_province_bound_invite_is_refused_elsewhere,
    a_wrong_answer_is_shown_next_to_its_field_and_the_rest_is_saved,
    forms_need_the_csrf_token_and_the_session_cookie,
    english_is_chosen_and_remembered,
    invite_codes_are_checked_and_open_rounds_start_directly,
    the_invite_code_resumes_on_another_device_until_submitted,
    the_questionnaire_weighs_under_100_kb,
);
