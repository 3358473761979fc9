//! `literacy serve` as a newcomer and an operator meet it: the page
//! addresses it prints, one log line per request (text or JSON, filtered
//! by `RUST_LOG`, never a password or token), on SQLite and PostgreSQL;
//! and a round simulated from any folder uploads into the demo round.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use literacy_test_support::http;
use literacy_test_support::pg::Database;
use literacy_test_support::serve::Serve;
use serde_json::{Value, json};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_literacy"))
}

use literacy_test_support::dirs::outside as scratch;

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(120))
        .build()
}

/// Status, `x-request-id` and body of a request (errors are responses too).
fn call(req: ureq::Request, body: Option<&Value>) -> (u16, String, String) {
    let reply = http::send(req, body.map_or(http::Body::None, http::Body::Json))
        .unwrap_or_else(|e| panic!("no answer: {e}"));
    (reply.status, reply.request_id, reply.text)
}

/// A SQLite database file in a scratch folder.
fn sqlite(name: &str) -> String {
    format!("sqlite://{}", scratch(name).join("literacy.db").display())
}

#[test]
fn requests_are_logged_once_each_without_secrets_on_sqlite() {
    drop(requests_are_logged_once_each_without_secrets(&sqlite(
        "log",
    )));
}

#[test]
fn requests_are_logged_once_each_without_secrets_on_postgres() {
    let db = Database::new("lit_log");
    let server = requests_are_logged_once_each_without_secrets(db.url());
    // An internal error is logged with its detail (never sent), inside its
    // request's span, so the line carries the request id.
    db.execute("ALTER TABLE rounds RENAME TO rounds_hidden");
    let (status, id, body) = call(agent().get(&format!("{}/", server.base)), None);
    assert_eq!(status, 500, "{body}");
    assert!(!body.contains("rounds"), "the detail is not sent: {body}");
    let is_error = |l: &String| l.contains("\"internal error\"") && l.contains(&id);
    let lines = server.stderr_until(|l| l.iter().any(is_error));
    let line = lines
        .iter()
        .find(|l| is_error(l))
        .unwrap_or_else(|| panic!("no internal error logged for {id}: {lines:#?}"));
    let v: Value = serde_json::from_str(line).expect("JSON");
    assert_eq!(v["level"], "ERROR", "{v}");
    assert_eq!(v["span"]["request_id"], id.as_str(), "{v}");
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("rounds")),
        "{v}"
    );
}

/// The demo's pages answer at the printed addresses, and every request
/// leaves exactly one JSON log line with its method, route, status,
/// latency and request id (the one the response carries).
fn requests_are_logged_once_each_without_secrets(database: &str) -> Serve {
    let server = Serve::start(
        bin(),
        database,
        &[
            "--demo",
            "--demo-respondents",
            "300",
            "--log-format",
            "json",
        ],
    );
    let base = &server.base;
    // The page addresses, printed next to the accounts.
    let round = "2026";
    for (name, path) in [
        ("front-door", "/".to_owned()),
        ("questionnaire", format!("/survey/{round}")),
        ("sign-in", "/login".to_owned()),
        ("dashboard", format!("/dashboard/{round}")),
        ("upload", format!("/upload/{round}")),
        ("admin", "/admin".to_owned()),
    ] {
        assert_eq!(
            server.page(name).as_deref(),
            Some(format!("{base}{path}").as_str()),
            "{name}: {:?}",
            server.stdout
        );
    }
    let password = server.password("statistician");
    let mut sent: Vec<(&str, &str, u16, String)> = Vec::new();
    // (method, route, status, request id) of each request made.
    let (status, id, body) = call(agent().get(&format!("{base}/healthz")), None);
    assert_eq!(status, 200, "{body}");
    sent.push(("GET", "/healthz", status, id));
    let (status, id, body) = call(
        agent().post(&format!("{base}/api/v1/auth/login")),
        Some(&json!({"username": "statistician", "password": password})),
    );
    assert_eq!(status, 200, "{body}");
    let token = serde_json::from_str::<Value>(&body).expect("JSON")["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    sent.push(("POST", "/api/v1/auth/login", status, id));
    let (status, id, _) = call(
        agent()
            .get(&format!("{base}/api/v1/rounds/{round}/progress"))
            .set("Authorization", &format!("Bearer {token}")),
        None,
    );
    assert_eq!(status, 200);
    sent.push(("GET", "/api/v1/rounds/{round}/progress", status, id));
    let (status, id, _) = call(
        agent()
            .get(&format!("{base}/no/such/page"))
            .set("Accept", "text/html"),
        None,
    );
    assert_eq!(status, 404);
    sent.push(("GET", "unmatched", status, id));
    let (status, id, _) = call(agent().get(&format!("{base}/survey/{round}")), None);
    assert_eq!(status, 200);
    sent.push(("GET", "/survey/{round}", status, id));
    // A plain request id from the client is kept; a forged one is not.
    let (status, id, _) = call(
        agent()
            .get(&format!("{base}/healthz"))
            .set("X-Request-Id", "client-id-1"),
        None,
    );
    assert_eq!((status, id.as_str()), (200, "client-id-1"));
    sent.push(("GET", "/healthz", status, id));
    let (_, id, _) = call(
        agent()
            .get(&format!("{base}/healthz"))
            .set("X-Request-Id", "a\" \"forged"),
        None,
    );
    assert!(!id.is_empty() && !id.contains('"'), "{id}");
    sent.push(("GET", "/healthz", 200, id));

    let request_lines = |lines: &[String]| -> Vec<Value> {
        lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["target"] == "literacy::request")
            .collect()
    };
    let lines = server.stderr_until(|l| request_lines(l).len() >= sent.len());
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("every log line is JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{v}");
    }
    let logged = request_lines(&lines);
    let by_id: BTreeMap<&str, &Value> = logged
        .iter()
        .map(|v| (v["request_id"].as_str().expect("request_id"), v))
        .collect();
    assert_eq!(logged.len(), sent.len(), "one line per request: {lines:#?}");
    assert_eq!(by_id.len(), sent.len(), "request ids differ: {lines:#?}");
    for (method, route, status, id) in &sent {
        let v = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("no log line for request {id}: {lines:#?}"));
        assert_eq!(v["method"], *method, "{v}");
        assert_eq!(v["route"], *route, "{v}");
        assert_eq!(v["status"], *status, "{v}");
        assert!(v["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{v}");
        assert_eq!(v["message"], "request");
    }
    let everything = lines.join("\n");
    for secret in [
        password.as_str(),
        token.as_str(),
        literacy_test_support::serve::SECRET,
    ] {
        assert!(!everything.contains(secret), "a secret was logged");
    }
    assert!(
        lines.iter().any(|l| l.contains("\"listening\"")),
        "start-up is logged too: {lines:#?}"
    );
    server
}

#[test]
fn text_logs_follow_rust_log() {
    let database = sqlite("log-text");
    // Text lines by default, at info.
    let server = Serve::start(bin(), &database, &[]);
    let (status, _, _) = call(agent().get(&format!("{}/healthz", server.base)), None);
    assert_eq!(status, 200);
    let lines = server.stderr_until(|l| l.iter().any(|l| l.contains("literacy::request")));
    let line = lines
        .iter()
        .find(|l| l.contains("literacy::request"))
        .unwrap_or_else(|| panic!("no request line: {lines:#?}"));
    for part in [
        " INFO ",
        "method=GET",
        "route=/healthz",
        "status=200",
        "latency_ms=",
        "request_id=",
    ] {
        assert!(line.contains(part), "{part} missing: {line}");
    }
    drop(server);
    // RUST_LOG silences the request lines alone.
    let mut quiet = Command::new(bin());
    quiet.env("RUST_LOG", "info,literacy::request=off");
    let server = Serve::start_with(quiet, &database, &[]);
    let (status, _, _) = call(agent().get(&format!("{}/healthz", server.base)), None);
    assert_eq!(status, 200);
    let lines = server.stderr_until(|l| l.iter().any(|l| l.contains("listening")));
    assert!(lines.iter().any(|l| l.contains("listening")), "{lines:#?}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !server
            .stderr()
            .iter()
            .any(|l| l.contains("literacy::request")),
        "{:#?}",
        server.stderr()
    );
    // A filter that does not parse is refused, named.
    let bad = Command::new(bin())
        .args(["serve", "--database", &database])
        .env("RUST_LOG", "info,=[")
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(said.contains("RUST_LOG"), "{said}");
}

#[test]
fn secure_cookies_mark_every_cookie_and_send_hsts() {
    let database = sqlite("secure-cookies");
    for (extra, secure) in [(&["--secure-cookies"][..], true), (&[][..], false)] {
        let server = Serve::start(bin(), &database, extra);
        let response = agent()
            .get(&format!("{}/login", server.base))
            .call()
            .expect("the sign-in page");
        let hsts = response.header("strict-transport-security");
        assert_eq!(hsts, secure.then_some("max-age=31536000"), "{extra:?}");
        let cookies = response.all("set-cookie");
        assert!(!cookies.is_empty());
        for cookie in cookies {
            assert_eq!(cookie.ends_with("; Secure"), secure, "{extra:?}: {cookie}");
        }
    }
}

#[test]
fn a_round_simulated_in_any_folder_uploads_into_the_demo_round() {
    let dir = scratch("anywhere");
    let out = Command::new(bin())
        .current_dir(&dir)
        .args([
            "simulate",
            "--respondents",
            "4000",
            "--out",
            "round",
            "--paper-batches",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let batch = std::fs::read_to_string(dir.join("round/batches/province-11.csv")).expect("batch");
    let rows = batch.lines().count() - 1;
    let first_id = batch
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').next())
        .expect("a row");
    assert!(first_id.starts_with("S1-R"), "seed 1's prefix: {first_id}");
    // The keying errors the simulator made in this file, by line.
    let manifest =
        std::fs::read_to_string(dir.join("round/batches/manifest.csv")).expect("manifest");
    let keyed_wrong: BTreeSet<u64> = manifest
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("province-11.csv,"))
        .map(|l| {
            l.split(',')
                .nth(1)
                .and_then(|n| n.parse().ok())
                .expect("line")
        })
        .collect();
    assert!(rows > keyed_wrong.len(), "{rows} rows, {keyed_wrong:?}");

    let server = Serve::start(
        bin(),
        &sqlite("anywhere-db"),
        &["--demo", "--demo-respondents", "1500"],
    );
    let (status, _, body) = call(
        agent().post(&format!("{}/api/v1/auth/login", server.base)),
        Some(&json!({"username": "uploader-11", "password": server.password("uploader-11")})),
    );
    assert_eq!(status, 200, "{body}");
    let token = serde_json::from_str::<Value>(&body).expect("JSON")["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let req = agent()
        .post(&format!(
            "{}/api/v1/rounds/2026/batches?dry_run=false",
            server.base
        ))
        .set("Authorization", &format!("Bearer {token}"));
    let reply = http::send(req, http::Body::Text("text/csv", &batch)).expect("an answer");
    let (status, report) = (reply.status, reply.json());
    assert_eq!(status, 201, "{report}");
    let rejected: BTreeSet<u64> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(
        rejected, keyed_wrong,
        "exactly the keying errors are refused"
    );
    assert_eq!(report["accepted"], rows - keyed_wrong.len(), "{report}");
}

/// Runs the binary in `dir` and returns its output, failing on an error exit.
fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(bin())
        .current_dir(dir)
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn demo_simulate_and_estimate_need_no_checkout() {
    let dir = scratch("no-checkout");
    assert!(!dir.join("surveys").exists());
    // The demo scores its simulated round with the built-in instrument.
    run_in(&dir, &["demo", "--respondents", "600", "--out", "demo"]);
    let scored = std::fs::read_to_string(dir.join("demo/scored.csv")).expect("scored.csv");
    assert_eq!(scored.lines().count(), 601, "a header and 600 scored rows");
    // Another built-in instrument by its id.
    run_in(
        &dir,
        &[
            "simulate",
            "--instrument",
            "csl-legacy",
            "--respondents",
            "300",
            "--seed",
            "7",
            "--out",
            "legacy",
        ],
    );
    let answers = std::fs::read_to_string(dir.join("legacy/answers.csv")).expect("answers");
    let second = answers.lines().nth(1).expect("a row");
    assert!(second.starts_with("S7-R0000001,"), "{second}");
    // Progress against the built-in targets and national series.
    let out = run_in(
        &dir,
        &[
            "estimate",
            "--data",
            "demo/microdata.csv",
            "--weight",
            "weight",
            "--outcome",
            "qualified",
            "--year",
            "2026",
            "--format",
            "json",
        ],
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let plans = report["estimates"][0]["progress"]["targets"]
        .as_array()
        .expect("targets");
    assert!(
        plans
            .iter()
            .any(|p| p["plan"] == "state-council-2021" && p["due"]["target"]["share"] == 0.15),
        "{report}"
    );
    // A name that is neither a file nor built in is refused, listing the built-in ones.
    let out = Command::new(bin())
        .current_dir(&dir)
        .args(["simulate", "--instrument", "csl-1999", "--out", "x"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("csl-1999") && said.contains("csl-2026, csl-legacy"),
        "{said}"
    );
}
