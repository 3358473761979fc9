//! Health, metrics, the OpenAPI document, and the one error shape for
//! every kind of bad request.

use serde_json::json;

use crate::helpers::{Backend, Body, ROUND, TestApp, demographics};
use crate::on_both_backends;

on_both_backends!(
    healthz_checks_the_database,
    metrics_count_requests_by_route_and_status,
    metrics_count_the_submit_groups,
    openapi_lists_every_route_and_every_listed_route_exists,
    bad_requests_get_the_error_shape,
    replicas_share_everything_through_the_database,
    every_route_lets_in_exactly_its_documented_callers,
    every_response_carries_the_security_headers,
);

/// `serve --secure-cookies`: every cookie `Secure` even over plain HTTP
/// (a TLS proxy in front), HSTS on every response; without it, neither
/// over plain HTTP.
fn https_only_marks_every_cookie_secure_and_sends_hsts(backend: Backend) {
    let hsts = literacy_web::startup::STRICT_TRANSPORT_SECURITY;
    for (app, https_only) in [
        (TestApp::spawn_https_only(backend), true),
        (TestApp::spawn(backend), false),
    ] {
        for (path, status) in [
            ("/login", 200),
            ("/survey/2026?lang=en", 200),
            ("/no/such", 404),
        ] {
            let r = app.request("GET", path, None, Body::Accept("text/html"));
            assert_eq!(r.status, status, "{path}: {}", r.text);
            let hsts_sent = r.header("strict-transport-security");
            assert_eq!(hsts_sent, https_only.then_some(hsts), "{path}");
            let cookies: Vec<&str> = r
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
                .map(|(_, v)| v.as_str())
                .collect();
            if status == 200 {
                assert!(!cookies.is_empty(), "{path}: a page sets its cookies");
            }
            for cookie in cookies {
                assert_eq!(cookie.ends_with("; Secure"), https_only, "{path}: {cookie}");
            }
        }
    }
}

#[test]
fn https_only_marks_every_cookie_secure_and_sends_hsts_sqlite() {
    https_only_marks_every_cookie_secure_and_sends_hsts(Backend::Sqlite);
}

#[test]
fn https_only_marks_every_cookie_secure_and_sends_hsts_postgres() {
    https_only_marks_every_cookie_secure_and_sends_hsts(Backend::Postgres);
}

fn every_response_carries_the_security_headers(app: &TestApp) {
    let csp = literacy_web::startup::CONTENT_SECURITY_POLICY;
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert!(csp.contains("frame-ancestors 'none'"));
    let bad_json = Body::Raw("application/json", b"{");
    for (method, path, body, status) in [
        ("GET", "/", Body::None, 200),
        ("GET", "/login", Body::None, 200),
        ("GET", "/static/app.js", Body::None, 200),
        ("GET", "/healthz", Body::None, 200),
        ("GET", "/api/v1/batches/7", Body::None, 401),
        ("POST", "/api/v1/auth/login", bad_json, 400),
        ("GET", "/no/such/page", Body::Accept("text/html"), 404),
        ("DELETE", "/healthz", Body::None, 405),
    ] {
        let r = app.request(method, path, None, body);
        assert_eq!(r.status, status, "{method} {path}: {}", r.text);
        for (name, value) in [
            ("content-security-policy", csp),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
        ] {
            assert_eq!(
                r.header(name),
                Some(value),
                "{method} {path}: {:?}",
                r.headers
            );
        }
    }
}

fn healthz_checks_the_database(app: &TestApp) {
    let r = app.get("/healthz", None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["database"], "ok");
}

fn metrics_count_requests_by_route_and_status(app: &TestApp) {
    app.get("/healthz", None);
    app.get("/healthz", None);
    app.get("/api/v1/batches/7", None);
    // Made-up methods share one label: they cannot grow the label set.
    for method in ["FOO", "BAR", "XYZZY"] {
        app.request(method, "/healthz", None, Body::None).error(405);
    }
    let r = app.get("/metrics", None);
    assert!(
        r.text
            .contains("http_requests_total{method=\"other\",route=\"/healthz\",status=\"405\"} 3"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("FOO") && !r.text.contains("XYZZY"));
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/plain"));
    assert!(
        r.text
            .contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"),
        "{}",
        r.text
    );
    assert!(r.text.contains(
        "http_requests_total{method=\"GET\",route=\"/api/v1/batches/{id}\",status=\"401\"} 1"
    ));
    assert!(
        r.text
            .contains("http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 5")
    );
    assert!(
        r.text
            .contains("# TYPE http_request_duration_seconds histogram")
    );
}

fn metrics_count_the_submit_groups(app: &TestApp) {
    let counters = || {
        let text = app.get("/metrics", None).text;
        let value = |name: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or_else(|| panic!("no counter {name}:\n{text}"))
        };
        [
            value("literacy_submit_groups_total"),
            value("literacy_submit_group_submits_total"),
            value("literacy_session_read_groups_total"),
            value("literacy_session_group_reads_total"),
        ]
    };
    let [groups, submits, read_groups, reads] = counters();
    let (id, token) = app.session();
    let body = json!({
        "submission_id": "5d1c7a2e-3b4f-4e6a-8c9d-0e1f2a3b4c5d",
        "answers": {},
        "demographics": demographics(),
    });
    let r = app.post(
        &format!("/api/v1/sessions/{id}/submit"),
        Some(&token),
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    // One submit alone: one group of one; on PostgreSQL its session was
    // read by the store's reader thread (one statement of one read), on
    // SQLite on the request's own connection.
    let read = u64::from(app.store.backend() == literacy_store::Backend::Postgres);
    assert_eq!(
        counters(),
        [groups + 1, submits + 1, read_groups + read, reads + read]
    );
}

fn openapi_lists_every_route_and_every_listed_route_exists(app: &TestApp) {
    let r = app.get("/api/openapi.json", None);
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.0.3");
    let routes = literacy_web::openapi::routes();
    assert_eq!(
        doc["paths"].as_object().map(|p| p.len()),
        Some(routes.len())
    );
    for (method, path) in routes {
        assert!(doc["paths"][path][method.to_ascii_lowercase()].is_object());
        // Every listed route is served: whatever the answer, not "no route".
        let concrete = path.replace("{round}", ROUND).replace("{id}", "1");
        let body = json!({});
        let r = app.request(
            method,
            &concrete,
            None,
            if method == "GET" {
                Body::None
            } else {
                Body::Json(&body)
            },
        );
        if r.status == 404 {
            let m = r.error(404);
            assert!(!m.starts_with("no route"), "{method} {path}: {m}");
        }
    }
    let params = doc["paths"]["/api/v1/rounds/{round}/estimates"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    for name in ["round", "by", "variance", "ci", "format"] {
        assert!(params.iter().any(|p| p["name"] == name), "{name}");
    }
    // And the routes are all there.
    for (method, path) in [
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/rounds/{round}/sessions"),
        ("PUT", "/api/v1/sessions/{id}/answers"),
        ("GET", "/api/v1/sessions/{id}"),
        ("POST", "/api/v1/sessions/{id}/submit"),
        ("POST", "/api/v1/rounds/{round}/batches"),
        ("GET", "/api/v1/batches/{id}"),
        ("GET", "/api/v1/rounds/{round}/estimates"),
        ("GET", "/api/v1/rounds/{round}/progress"),
        ("GET", "/api/v1/rounds/{round}/export"),
        ("GET", "/api/v1/rounds/{round}/codebook"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/api/openapi.json"),
    ] {
        assert!(
            doc["paths"][path][method.to_ascii_lowercase()].is_object(),
            "{method} {path}"
        );
    }
}

fn bad_requests_get_the_error_shape(app: &TestApp) {
    // Unknown route, wrong method.
    let m = app.get("/no/such/route", None).error(404);
    assert!(m.contains("/no/such/route"), "{m}");
    let r = app.request("DELETE", "/healthz", None, Body::None);
    assert_eq!(r.header("allow"), Some("GET"), "{:?}", r.headers);
    r.error(405);
    let r = app.request("PUT", "/api/v1/auth/login", None, Body::None);
    assert_eq!(r.header("allow"), Some("POST"), "{:?}", r.headers);
    r.error(405);
    // Malformed JSON, wrong content type, wrong types.
    app.request(
        "POST",
        "/api/v1/auth/login",
        None,
        Body::Raw("application/json", b"{\"username\": "),
    )
    .error(400);
    app.request(
        "POST",
        "/api/v1/auth/login",
        None,
        Body::Raw("text/plain", b"{}"),
    )
    .error(415);
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": 1, "password": []}),
    )
    .error(400);
    // A JSON body over 256 KB, a CSV body over 64 MB: refused from the
    // declared length, before any of it is read.
    app.declared_length("/api/v1/auth/login", None, "application/json", 300 * 1024)
        .error(413);
    let up = app.login("up11");
    app.declared_length(
        &format!("/api/v1/rounds/{ROUND}/batches?dry_run=true"),
        Some(&up),
        "text/csv",
        65 * 1024 * 1024,
    )
    .error(413);

    // A path parameter of the wrong type.
    let stat = app.login("stat");
    app.get("/api/v1/batches/not-a-number", Some(&stat))
        .error(404);
    // A session that does not exist, with a token bound to it.
    let token = app.token(
        literacy_web::auth::Subject {
            sub: "nope".into(),
            role: literacy_web::auth::Role::Respondent,
            province: None,
            sid: Some("nope".into()),
        },
        literacy_web::auth::Audience::Respondent,
        crate::helpers::now(),
    );
    app.get("/api/v1/sessions/nope", Some(&token)).error(404);
}

/// Two replicas on one database: a token from one works on the other, a
/// session started on one is saved and submitted on the other (a replayed
/// submit on the first gets the same receipt), and an estimate computed on
/// one is served from the cache by the other.
fn replicas_share_everything_through_the_database(app: &TestApp) {
    let other = app.replica();
    let stat = app.login("stat");
    assert_eq!(other.get("/healthz", None).status, 200);
    let (id, token) = app.session();
    let tf = app.item("true_false");
    let r = other.put(
        &format!("/api/v1/sessions/{id}/answers"),
        Some(&token),
        &json!({"answers": {tf.clone(): 1}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.get(&format!("/api/v1/sessions/{id}"), Some(&token))
            .json()["answers"][&tf],
        "1"
    );
    let body = json!({
        "submission_id": "5b6f2c1e-8d4a-4c1b-9f0e-3a7d5e2b1c95",
        "demographics": {"province": 11, "urban_rural": 2, "sex": 1, "birth_year": 1970, "education": 2, "occupation": 1},
    });
    let first = other.post(
        &format!("/api/v1/sessions/{id}/submit"),
        Some(&token),
        &body,
    );
    assert_eq!(first.status, 201, "{}", first.text);
    let again = app.post(
        &format!("/api/v1/sessions/{id}/submit"),
        Some(&token),
        &body,
    );
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["receipt"], first.json()["receipt"]);
    // The estimate cache.
    let up = app.login("up11");
    assert_eq!(
        app.upload(&up, false, crate::helpers::batch_of(11)).status,
        201
    );
    let path = format!("/api/v1/rounds/{ROUND}/estimates?by=sex");
    let computed = app.get(&path, Some(&stat));
    assert_eq!(computed.cache.as_deref(), Some("miss"), "{}", computed.text);
    let served = other.get(&path, Some(&stat));
    assert_eq!(served.cache.as_deref(), Some("hit"));
    assert_eq!(served.text, computed.text);
}

/// Every endpoint of the API document, called by every kind of caller: the
/// router refuses (401 or 403, the error shape's `unauthorized` or
/// `forbidden`) exactly those its document's `x-roles` leave out, so the
/// documented roles are the enforced ones.
fn every_route_lets_in_exactly_its_documented_callers(app: &TestApp) {
    let doc = app.get("/api/openapi.json", None).json();
    let (own, own_token) = app.session();
    let (_, other_token) = app.session();
    let callers: Vec<(&str, Option<String>)> = vec![
        ("nobody", None),
        ("admin", Some(app.login("admin"))),
        ("statistician", Some(app.login("stat"))),
        ("uploader", Some(app.login("up11"))),
        ("respondent", Some(own_token)),
        ("another session's respondent", Some(other_token)),
    ];
    let mut checked = 0;
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        let url = path.replace("{round}", ROUND).replace(
            "{id}",
            if path.contains("/sessions/") {
                &own
            } else {
                "999999"
            },
        );
        for (method, operation) in operations.as_object().expect("operations") {
            let roles: Vec<&str> = operation["x-roles"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path} has no x-roles"))
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect();
            let mut answers = Vec::new();
            for (caller, token) in &callers {
                let r = app.request(
                    &method.to_ascii_uppercase(),
                    &url,
                    token.as_deref(),
                    Body::Json(&json!({})),
                );
                let code = serde_json::from_str::<serde_json::Value>(&r.text)
                    .ok()
                    .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                let refused = matches!(
                    (r.status, code.as_str()),
                    (401, "unauthorized") | (403, "forbidden")
                );
                if roles.is_empty() {
                    answers.push(r.status);
                } else {
                    let allowed = roles.contains(caller);
                    assert_eq!(
                        !refused, allowed,
                        "{method} {path} by {caller}: {} {} (documented: {roles:?})",
                        r.status, r.text
                    );
                }
                checked += 1;
            }
            // Open to anyone: every caller gets the same answer.
            if roles.is_empty() {
                answers.dedup();
                assert_eq!(
                    answers.len(),
                    1,
                    "{method} {path} answers callers differently: {answers:?}"
                );
            }
        }
    }
    assert!(checked >= 16 * callers.len(), "{checked} calls");
}
