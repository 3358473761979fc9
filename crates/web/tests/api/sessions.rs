//! Online sessions: invite codes, partial saves, resume, idempotent submits.

use std::sync::Barrier;

use serde_json::{Value, json};

use crate::helpers::{ROUND, Resp, TestApp, demographics};
use crate::on_both_backends;

on_both_backends!(
    an_invite_code_starts_one_session_and_resumes_it,
    partial_answers_are_merged_and_resumed,
    a_value_outside_the_codes_is_a_422_naming_the_item,
    submit_is_idempotent_and_final,
    concurrent_duplicate_submits_store_one_response,
    a_province_bound_invite_is_refused_elsewhere,
);

/// `request` sent by 8 clients released at once; their statuses and
/// bodies.
fn race(request: impl Fn() -> Resp + Sync) -> Vec<(u16, Value)> {
    let barrier = Barrier::new(8);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let r = request();
                    (r.status, r.json())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    })
}

fn start(app: &TestApp, code: Option<&str>) -> Resp {
    let mut body = json!({"mode": "online", "lang": "zh-CN"});
    if let Some(code) = code {
        body["invite_code"] = json!(code);
    }
    app.post(&format!("/api/v1/rounds/{ROUND}/sessions"), None, &body)
}

fn an_invite_code_starts_one_session_and_resumes_it(app: &TestApp) {
    // The round is not open to all: a code is required.
    start(app, None).error(403);
    start(app, Some("NOSUCHCODE")).error(403);
    let codes = app.invites(2);
    // Made without an expiry, they expire after the default lifetime.
    for code in &codes {
        let lifetime = literacy_store::invites::DEFAULT_LIFETIME_MS;
        assert_eq!(app.invite_lifetime_ms(code), lifetime);
    }
    let r = start(app, Some(&codes[0]));
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert!(v["session_id"].is_string() && v["token"].is_string());
    assert_eq!(
        v["instrument"]["items"].as_array().map(Vec::len),
        Some(app.instrument.items.len())
    );
    // The same code again (typed lower case, with a dash) resumes that
    // session: 200, the same id, a fresh token that reads the answers.
    let session = v["session_id"].as_str().expect("id").to_owned();
    let tf = app.item("true_false");
    app.put(
        &format!("/api/v1/sessions/{session}/answers"),
        Some(v["token"].as_str().expect("token")),
        &json!({"answers": {tf.clone(): 2}}),
    );
    let typed = format!("{}-{}", &codes[0][..5], &codes[0][5..]).to_lowercase();
    let again = start(app, Some(&typed));
    assert_eq!(again.status, 200, "{}", again.text);
    let again = again.json();
    assert_eq!(again["session_id"], session.as_str());
    assert_eq!(again["resumed"], true);
    assert_eq!(v["resumed"], false);
    let token = again["token"].as_str().expect("token").to_owned();
    let saved = app
        .get(&format!("/api/v1/sessions/{session}"), Some(&token))
        .json();
    assert_eq!(saved["answers"][&tf], "2", "{saved}");
    // Once submitted, the code opens nothing: 409.
    let submitted = app.post(
        &format!("/api/v1/sessions/{session}/submit"),
        Some(&token),
        &json!({"submission_id": SUBMISSION, "demographics": demographics()}),
    );
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let m = start(app, Some(&codes[0])).error(409);
    assert!(m.contains("already submitted"), "{m}");
    // Eight clients racing on one code: one starts the session, the
    // others resume it; one session in all.
    let started = race(|| start(app, Some(&codes[1])));
    let statuses: Vec<u16> = started.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 200),
        "{statuses:?}"
    );
    assert!(
        started
            .iter()
            .all(|(_, v)| v["session_id"] == started[0].1["session_id"]),
        "{started:?}"
    );
    // An open round needs no code.
    {
        let mut conn = app.store.conn().expect("conn");
        literacy_store::rounds::set_open_online(&mut conn, app.round.id, true).expect("open");
    }
    assert_eq!(start(app, None).status, 201);
    // No such round.
    app.post(
        "/api/v1/rounds/1999/sessions",
        None,
        &json!({"mode": "online"}),
    )
    .error(404);
}

fn partial_answers_are_merged_and_resumed(app: &TestApp) {
    let (id, token) = app.session();
    let tf = app.item("true_false");
    let single = app.item("single_choice");
    let path = format!("/api/v1/sessions/{id}/answers");
    let r = app.put(
        &path,
        Some(&token),
        &json!({"answers": {tf.clone(): 1}, "page": 1, "elapsed_ms": 12000}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.put(
        &path,
        Some(&token),
        &json!({"answers": {single.clone(): "2"}, "demographics": {"sex": 2}, "page": 2, "elapsed_ms": 8000}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // Resume: everything saved so far.
    let v = app
        .get(&format!("/api/v1/sessions/{id}"), Some(&token))
        .json();
    assert_eq!(v["answers"][&tf], "1");
    assert_eq!(v["answers"][&single], "2");
    assert_eq!(v["demographics"]["sex"], "2");
    assert_eq!(v["page_ms"]["1"], 12000);
    assert_eq!(v["submitted"], false);
    // A null clears an answer.
    app.put(&path, Some(&token), &json!({"answers": {tf.clone(): null}}));
    let v = app
        .get(&format!("/api/v1/sessions/{id}"), Some(&token))
        .json();
    assert!(v["answers"].get(&tf).is_none(), "{v}");
    assert_eq!(v["answers"][&single], "2");
    // Another session's token cannot read or write this one.
    let (_, other) = app.session();
    app.get(&format!("/api/v1/sessions/{id}"), Some(&other))
        .error(403);
    app.put(&path, Some(&other), &json!({"answers": {}}))
        .error(403);
}

fn a_value_outside_the_codes_is_a_422_naming_the_item(app: &TestApp) {
    let (id, token) = app.session();
    let tf = app.item("true_false");
    let r = app.put(
        &format!("/api/v1/sessions/{id}/answers"),
        Some(&token),
        &json!({"answers": {tf.clone(): 5}}),
    );
    let message = r.error(422);
    assert!(message.contains(&tf), "{message}");
    assert!(
        message.contains("1 (true)") && message.contains("8 (don't know)"),
        "{message}"
    );
    let message = app
        .put(
            &format!("/api/v1/sessions/{id}/answers"),
            Some(&token),
            &json!({"answers": {"no_such_item": 1}, "demographics": {"province": 99}}),
        )
        .error(422);
    assert!(
        message.contains("no_such_item") && message.contains("province"),
        "{message}"
    );
    // Nothing was saved.
    let v = app
        .get(&format!("/api/v1/sessions/{id}"), Some(&token))
        .json();
    assert_eq!(v["answers"], json!({}));
}

const SUBMISSION: &str = "0b6f2c1e-8d4a-4c1b-9f0e-3a7d5e2b1c90";

fn a_province_bound_invite_is_refused_elsewhere(app: &TestApp) {
    // A code issued for Beijing (11).
    let admin = app.login("admin");
    let made = app.post(
        &format!("/api/v1/rounds/{ROUND}/invites"),
        Some(&admin),
        &json!({"count": 1, "province": 11}),
    );
    assert_eq!(made.status, 201, "{}", made.text);
    let code = made.json()["codes"][0].as_str().expect("code").to_owned();
    let started = start(app, Some(&code)).json();
    let id = started["session_id"].as_str().expect("session").to_owned();
    let token = started["token"].as_str().expect("token").to_owned();
    let path = format!("/api/v1/sessions/{id}/submit");
    // Answered as Guangdong (44): refused, naming both; nothing stored.
    let guangdong = demographics();
    assert_eq!(guangdong["province"], 44);
    let body = json!({"submission_id": SUBMISSION, "demographics": guangdong});
    let m = app.post(&path, Some(&token), &body).error(422);
    assert!(
        m.contains("issued for province 11") && m.contains("province 44"),
        "{m}"
    );
    assert_eq!(app.responses(), 0);
    // As Beijing: stored.
    let mut beijing = demographics();
    beijing["province"] = json!(11);
    let body = json!({"submission_id": SUBMISSION, "demographics": beijing});
    let stored = app.post(&path, Some(&token), &body);
    assert_eq!(stored.status, 201, "{}", stored.text);
    assert_eq!(app.responses(), 1);
}

fn submit_is_idempotent_and_final(app: &TestApp) {
    let (id, token) = app.session();
    let tf = app.item("true_false");
    let path = format!("/api/v1/sessions/{id}/submit");
    app.put(
        &format!("/api/v1/sessions/{id}/answers"),
        Some(&token),
        &json!({"answers": {tf.clone(): 2}}),
    );
    // Demographics are required.
    let m = app
        .post(&path, Some(&token), &json!({"submission_id": SUBMISSION}))
        .error(422);
    for d in "province urban_rural sex birth_year education occupation".split(' ') {
        assert!(m.contains(d), "{m}");
    }
    // Not a UUID.
    app.post(
        &path,
        Some(&token),
        &json!({"submission_id": "x", "demographics": demographics()}),
    )
    .error(422);
    let body = json!({"submission_id": SUBMISSION, "answers": {}, "demographics": demographics()});
    let first = app.post(&path, Some(&token), &body);
    assert_eq!(first.status, 201, "{}", first.text);
    let receipt = first.json()["receipt"].clone();
    assert!(receipt.is_string());
    // The same request again: 200, the same receipt, nothing new.
    let again = app.post(&path, Some(&token), &body);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["receipt"], receipt);
    assert_eq!(app.responses(), 1);
    // The same id with another body, another id, or a change: 409.
    let mut other = body.clone();
    other["demographics"]["sex"] = json!(1);
    app.post(&path, Some(&token), &other).error(409);
    let mut fresh = body.clone();
    fresh["submission_id"] = json!("9b6f2c1e-8d4a-4c1b-9f0e-3a7d5e2b1c91");
    app.post(&path, Some(&token), &fresh).error(409);
    app.put(
        &format!("/api/v1/sessions/{id}/answers"),
        Some(&token),
        &json!({"answers": {tf.clone(): 1}}),
    )
    .error(409);
    assert_eq!(app.responses(), 1);
    // The session shows it was submitted, with the receipt.
    let v = app
        .get(&format!("/api/v1/sessions/{id}"), Some(&token))
        .json();
    assert_eq!(v["submitted"], true);
    assert_eq!(v["receipt"], receipt);
    assert_eq!(v["answers"][&tf], "2");
}

fn concurrent_duplicate_submits_store_one_response(app: &TestApp) {
    let (id, token) = app.session();
    let path = format!("/api/v1/sessions/{id}/submit");
    let body = json!({"submission_id": SUBMISSION, "answers": {app.item("true_false"): 1}, "demographics": demographics()});
    let results = race(|| app.post(&path, Some(&token), &body));
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{results:?}");
    assert!(
        results.iter().all(|(s, _)| *s == 201 || *s == 200),
        "{results:?}"
    );
    let receipt = &results[0].1["receipt"];
    assert!(results.iter().all(|(_, v)| v["receipt"] == *receipt));
    assert_eq!(app.responses(), 1);
}
