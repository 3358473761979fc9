//! Sign-in, token checks, roles, account management.

use literacy_web::auth::{Audience, Role, Subject, Tokens};
use serde_json::json;

use crate::helpers::{PASSWORD, ROUND, TestApp, batch_of, now};
use crate::on_both_backends;

on_both_backends!(
    login_issues_bearer_tokens_and_audits_every_attempt,
    bad_tokens_are_refused,
    roles_and_provinces_are_enforced,
    admins_create_accounts,
    staff_change_their_own_password,
);

fn staff_change_their_own_password(app: &TestApp) {
    let path = "/api/v1/auth/password";
    let login = |password: &str| {
        let body = json!({"username": "stat", "password": password});
        app.post("/api/v1/auth/login", None, &body).status
    };
    let token = app.login("stat");
    let new = "a brand new passphrase";
    // Not signed in: 401. The current password wrong: 403, nothing changes.
    app.post(path, None, &json!({"current": PASSWORD, "new": new}))
        .error(401);
    let wrong = json!({"current": "not the password", "new": new});
    app.post(path, Some(&token), &wrong).error(403);
    assert_eq!(app.audits("user.password_failed").len(), 1);
    // Too short: 422 with the account rule's message.
    let short = json!({"current": PASSWORD, "new": "short"});
    let m = app.post(path, Some(&token), &short).error(422);
    assert!(m.contains("password is too short"), "{m}");
    assert_eq!(login(PASSWORD), 200);
    // Right: 204; the new password signs in, the old one no longer.
    let right = json!({"current": PASSWORD, "new": new});
    let done = app.post(path, Some(&token), &right);
    assert_eq!(done.status, 204, "{}", done.text);
    assert_eq!((login(new), login(PASSWORD)), (200, 401));
    let audited = app.audits("user.password");
    assert_eq!(audited.len(), 1);
    assert!(
        audited[0]
            .actor
            .as_deref()
            .is_some_and(|a| a.starts_with("user:"))
    );
    // A respondent's token is not a staff token.
    let (_, respondent) = app.session();
    app.post(path, Some(&respondent), &right).error(401);
}

fn login_issues_bearer_tokens_and_audits_every_attempt(app: &TestApp) {
    let r = app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "stat", "password": PASSWORD}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 900);
    assert!(
        v["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );

    for (user, password) in [("stat", "wrong password"), ("nobody", PASSWORD)] {
        let r = app.post(
            "/api/v1/auth/login",
            None,
            &json!({"username": user, "password": password}),
        );
        r.error(401);
    }
    assert_eq!(app.audits("auth.login").len(), 1);
    let failed = app.audits("auth.login_failed");
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|e| e.actor.is_none()));
    // A body without the fields is a 400 in the error shape.
    app.post("/api/v1/auth/login", None, &json!({"user": "x"}))
        .error(400);
}

fn estimates(app: &TestApp, token: Option<&str>) -> crate::helpers::Resp {
    app.get(&format!("/api/v1/rounds/{ROUND}/estimates"), token)
}

fn bad_tokens_are_refused(app: &TestApp) {
    let stat = Subject {
        sub: "stat".into(),
        role: Role::Statistician,
        province: None,
        sid: None,
    };
    estimates(app, None).error(401);
    // Expired.
    let old = app.token(stat.clone(), Audience::Staff, now() - 3600);
    estimates(app, Some(&old)).error(401);
    // Tampered: the payload of an admin token under a statistician's signature.
    let good = app.token(stat.clone(), Audience::Staff, now());
    let admin = app.token(
        Subject {
            sub: "admin".into(),
            role: Role::Admin,
            ..stat.clone()
        },
        Audience::Staff,
        now(),
    );
    let mut parts: Vec<&str> = good.split('.').collect();
    let forged = admin.split('.').nth(1).expect("payload").to_owned();
    parts[1] = &forged;
    estimates(app, Some(&parts.join("."))).error(401);
    // Signed with another algorithm, or with none.
    // The claims of the statistician's good token, valid in every other way.
    let claims = Tokens::new(crate::helpers::SECRET, 900, 900)
        .expect("keys")
        .verify(&good, Audience::Staff)
        .expect("the good token's claims");
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(crate::helpers::SECRET).expect("key"),
    )
    .expect("hs512");
    estimates(app, Some(&hs512)).error(401);
    let payload = hs512.split('.').nth(1).expect("payload");
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    estimates(app, Some(&none)).error(401);
    // Signed with another secret.
    let theirs = Tokens::new(b"another secret, also 32 bytes or more", 900, 900)
        .expect("keys")
        .issue(stat.clone(), Audience::Staff, now())
        .expect("token");
    estimates(app, Some(&theirs)).error(401);
    // A respondent token is not a staff token, and the reverse.
    let (session, respondent) = app.session();
    estimates(app, Some(&respondent)).error(401);
    app.get(&format!("/api/v1/sessions/{session}"), Some(&good))
        .error(401);
    // Not a bearer token at all.
    app.request(
        "GET",
        &format!("/api/v1/rounds/{ROUND}/estimates"),
        None,
        crate::helpers::Body::None,
    )
    .error(401);
}

fn roles_and_provinces_are_enforced(app: &TestApp) {
    let up11 = app.login("up11");
    let up44 = app.login("up44");
    let stat = app.login("stat");
    // Uploaders do not read estimates, exports or codebooks.
    for path in ["estimates", "progress", "export", "codebook"] {
        app.get(&format!("/api/v1/rounds/{ROUND}/{path}"), Some(&up11))
            .error(403);
    }
    // Statisticians do not upload, nor manage accounts.
    app.upload(&stat, true, batch_of(11)).error(403);
    app.post(
        "/api/v1/users",
        Some(&stat),
        &json!({"username": "x", "password": PASSWORD, "role": "admin"}),
    )
    .error(403);
    // An uploader sees only its own province's batches.
    let r = app.upload(&up11, false, batch_of(11));
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["batch_id"].as_i64().expect("id");
    app.get(&format!("/api/v1/batches/{id}"), Some(&up44))
        .error(403);
    assert_eq!(
        app.get(&format!("/api/v1/batches/{id}"), Some(&up11))
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/batches/{id}"), Some(&stat))
            .status,
        200
    );
    // A token claiming a province that does not exist.
    let bogus = app.token(
        Subject {
            sub: "up11".into(),
            role: Role::Uploader,
            province: Some("99".into()),
            sid: None,
        },
        Audience::Staff,
        now(),
    );
    app.upload(&bogus, true, batch_of(11)).error(403);
}

fn admins_create_accounts(app: &TestApp) {
    let admin = app.login("admin");
    let r = app.post(
        "/api/v1/users",
        Some(&admin),
        &json!({"username": "gd2", "password": PASSWORD, "role": "uploader", "province": 44}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["province"], 44);
    app.post(
        "/api/v1/users",
        Some(&admin),
        &json!({"username": "gd2", "password": PASSWORD, "role": "statistician"}),
    )
    .error(409);
    app.post(
        "/api/v1/users",
        Some(&admin),
        &json!({"username": "gd3", "password": PASSWORD, "role": "uploader"}),
    )
    .error(422);
    app.post(
        "/api/v1/users",
        Some(&admin),
        &json!({"username": "gd4", "password": "short", "role": "statistician"}),
    )
    .error(422);
    assert_eq!(app.audits("user.create").len(), 1);
    // The new account signs in with its province.
    let token = app.login("gd2");
    let claims = Tokens::new(crate::helpers::SECRET, 900, 900)
        .expect("keys")
        .verify(&token, Audience::Staff)
        .expect("claims");
    assert_eq!(claims.province.as_deref(), Some("44"));
}
