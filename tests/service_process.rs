//! The `literacy serve` process: killed with SIGKILL in the middle of a
//! stream of submits and of a batch commit, restarted, every acknowledged
//! submission is stored and the batch is all there or not at all; two
//! processes over one PostgreSQL database serve one consistent store.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use literacy_core::Instrument;
use literacy_test_support::http;
use literacy_test_support::serve::Serve;
use serde_json::{Value, json};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("literacy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A running `literacy serve` on `database`, with the demo round if `demo`.
struct Server;

impl Server {
    fn start(database: &str, demo: bool) -> Serve {
        let extra: &[&str] = if demo {
            &["--demo", "--demo-respondents", "1500"]
        } else {
            &[]
        };
        Serve::start(Path::new(env!("CARGO_BIN_EXE_literacy")), database, extra)
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
}

/// Status and JSON body of a request (errors are responses too).
fn send(req: ureq::Request, body: Option<&Value>) -> Result<(u16, Value), String> {
    let reply = http::send(req, body.map_or(http::Body::None, http::Body::Json))?;
    Ok((reply.status, reply.json()))
}

fn login(base: &str, user: &str, password: &str) -> String {
    let (status, v) = send(
        agent().post(&format!("{base}/api/v1/auth/login")),
        Some(&json!({"username": user, "password": password})),
    )
    .expect("login answered");
    assert_eq!(status, 200, "{v}");
    v["access_token"].as_str().expect("a token").to_owned()
}

fn uuid(n: u64, salt: u64) -> String {
    format!("{salt:08x}-0000-4000-8000-{n:012x}")
}

fn demographics() -> Value {
    json!({"province": 44, "urban_rural": 1, "sex": 2, "birth_year": 1985, "education": 3, "occupation": 4})
}

/// Starts a session and returns (session id, token).
fn start_session(base: &str) -> Result<(String, String), String> {
    let (status, v) = send(
        agent().post(&format!("{base}/api/v1/rounds/2026/sessions")),
        Some(&json!({"mode": "online", "lang": "zh-CN"})),
    )?;
    if status != 201 {
        return Err(format!("{status} {v}"));
    }
    Ok((
        v["session_id"].as_str().unwrap_or_default().to_owned(),
        v["token"].as_str().unwrap_or_default().to_owned(),
    ))
}

fn submit(base: &str, session: &str, token: &str, body: &Value) -> Result<(u16, Value), String> {
    send(
        agent()
            .post(&format!("{base}/api/v1/sessions/{session}/submit"))
            .set("Authorization", &format!("Bearer {token}")),
        Some(body),
    )
}

fn instrument() -> Instrument {
    let json = include_str!("../surveys/csl-2026/instrument.json");
    Instrument::from_json("csl-2026", json).expect("the instrument loads")
}

/// A valid batch for province 11 of `rows` respondents `K...`.
fn batch_csv(rows: usize) -> String {
    let ins = instrument();
    let mut out = String::from("respondent_id");
    for item in &ins.items {
        out.push(',');
        out.push_str(&item.id);
    }
    out.push_str(",province,urban_rural,sex,birth_year,education,occupation,mode\n");
    let answers: Vec<String> = ins.items.iter().map(|i| i.decode(1)).collect();
    let answers = answers.join(",");
    for r in 0..rows {
        out.push_str(&format!(
            "K{r:07},{answers},11,{},{},{},3,4,paper\n",
            1 + r % 2,
            1 + (r / 2) % 2,
            1960 + r % 40
        ));
    }
    out
}

/// Sends `one` and `two` at the same time; both must be answered. Returns
/// their replies and the sorted statuses.
fn at_once(
    one: impl FnOnce() -> Result<(u16, Value), String> + Send,
    two: impl FnOnce() -> Result<(u16, Value), String> + Send,
) -> (Vec<(u16, Value)>, Vec<u16>) {
    let replies: Vec<(u16, Value)> = std::thread::scope(|s| {
        let one = s.spawn(one);
        let two = s.spawn(two);
        [one, two]
            .into_iter()
            .map(|h| h.join().expect("thread").expect("answered"))
            .collect()
    });
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.0).collect();
    statuses.sort();
    (replies, statuses)
}

fn upload(base: &str, token: &str, csv: &str) -> Result<(u16, Value), String> {
    let req = agent()
        .post(&format!("{base}/api/v1/rounds/2026/batches?dry_run=false"))
        .set("Authorization", &format!("Bearer {token}"));
    let reply = http::send(req, http::Body::Text("text/csv", csv))?;
    Ok((reply.status, reply.json()))
}

/// Respondent ids stored in round 2026, read straight from the store.
fn stored_ids(database: &str) -> Vec<String> {
    let store = literacy_store::Store::open(database).expect("the store opens");
    let mut conn = store.conn().expect("a connection");
    let round = literacy_store::rounds::by_code(&mut conn, "2026")
        .expect("rounds read")
        .expect("the demo round");
    literacy_store::load::all(&mut conn, round.id)
        .expect("responses read")
        .into_iter()
        .map(|r| r.respondent_id)
        .collect()
}

/// An acknowledged submit: session, token, body, receipt.
type Acked = (String, String, Value, String);

#[test]
fn sigkill_loses_no_acknowledged_submission_and_no_half_batch() {
    let dir = scratch("kill");
    let database = format!("sqlite://{}", dir.join("l.db").display());
    let server = Server::start(&database, true);
    let base = server.base.clone();
    let uploader = login(&base, "uploader-11", &server.password("uploader-11"));

    // A stream of submits from two threads, acknowledged ones recorded.
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let streams: Vec<_> = (0..2u64)
        .map(|t| {
            let (acked, stop, base) = (acked.clone(), stop.clone(), base.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let Ok((session, token)) = start_session(&base) else {
                        break;
                    };
                    let body = json!({"submission_id": uuid(n, t), "answers": {}, "demographics": demographics()});
                    match submit(&base, &session, &token, &body) {
                        Ok((201, v)) => {
                            let receipt = v["receipt"].as_str().unwrap_or_default().to_owned();
                            acked.lock().expect("lock").push((session, token, body, receipt));
                        }
                        Ok((status, v)) => panic!("submit answered {status} {v}"),
                        Err(_) => break, // the server died mid-request: not acknowledged
                    }
                }
            })
        })
        .collect();
    let t0 = Instant::now();
    while acked.lock().expect("lock").len() < 40 && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // A large batch, killed while it commits.
    let rows = 40_000;
    let csv = batch_csv(rows);
    let uploading = {
        let (base, uploader, csv) = (base.clone(), uploader.clone(), csv.clone());
        std::thread::spawn(move || upload(&base, &uploader, &csv))
    };
    std::thread::sleep(Duration::from_millis(1500));
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for s in streams {
        s.join().expect("a stream thread");
    }
    let upload_result = uploading.join().expect("the upload thread");
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= 40,
        "submits were acknowledged before the kill"
    );

    // Straight from the file after the kill: the batch is all or nothing.
    let ids = stored_ids(&database);
    let batch_rows = ids.iter().filter(|id| id.starts_with('K')).count();
    eprintln!(
        "killed: {} submits acknowledged, batch rows stored {batch_rows} of {rows}, upload {upload_result:?}",
        acked.len()
    );
    assert!(
        batch_rows == 0 || batch_rows == rows,
        "{batch_rows} of {rows} batch rows stored (upload: {upload_result:?})"
    );
    if let Ok((201, _)) = upload_result {
        assert_eq!(batch_rows, rows, "an acknowledged batch is stored");
    }

    // Restarted: every acknowledged submission is there, with its receipt.
    let server = Server::start(&database, false);
    for (session, token, body, receipt) in &acked {
        let (status, v) = submit(&server.base, session, token, body).expect("replay answered");
        assert_eq!(status, 200, "replay of an acknowledged submit: {v}");
        assert_eq!(v["receipt"].as_str(), Some(receipt.as_str()));
    }
    // The batch again: either it was committed (duplicate_of) or it commits now, whole.
    let (status, v) = upload(&server.base, &uploader, &csv).expect("re-upload answered");
    assert!(status == 200 || status == 201, "{status} {v}");
    if batch_rows == rows {
        assert!(v.get("duplicate_of").is_some(), "{v}");
    }
    let ids = stored_ids(&database);
    assert_eq!(ids.iter().filter(|id| id.starts_with('K')).count(), rows);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "no respondent stored twice");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_processes_over_one_postgresql_serve_one_store() {
    let db = literacy_test_support::pg::Database::new("lit_proc");
    let url = db.url().to_owned();
    let a = Server::start(&url, true);
    let b = Server::start(&url, false);
    let before = stored_ids(&url).len();
    // Submits alternate between the two; each submission is also replayed
    // on the other process at the same time.
    let mut receipts = Vec::new();
    for n in 0..20u64 {
        let (first, second) = if n % 2 == 0 {
            (&a.base, &b.base)
        } else {
            (&b.base, &a.base)
        };
        let (session, token) = start_session(first).expect("a session");
        let body =
            json!({"submission_id": uuid(n, 7), "answers": {}, "demographics": demographics()});
        let (replies, statuses) = at_once(
            || submit(first, &session, &token, &body),
            || submit(second, &session, &token, &body),
        );
        assert_eq!(
            statuses,
            [200, 201],
            "one creates, the other replays: {replies:?}"
        );
        assert_eq!(replies[0].1["receipt"], replies[1].1["receipt"]);
        receipts.push(replies[0].1["receipt"].clone());
    }
    // The same batch through both at once: stored once.
    let csv = batch_csv(500);
    let token_a = login(&a.base, "uploader-11", &a.password("uploader-11"));
    let token_b = login(&b.base, "uploader-11", &a.password("uploader-11"));
    let (replies, statuses) = at_once(
        || upload(&a.base, &token_a, &csv),
        || upload(&b.base, &token_b, &csv),
    );
    assert_eq!(statuses, [200, 201], "{replies:?}");
    let ids = stored_ids(&url);
    assert_eq!(
        ids.len(),
        before + 20 + 500,
        "every submit and batch row once"
    );
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    // Both processes report the same estimate from the one store.
    let stat = a.password("statistician");
    let ta = login(&a.base, "statistician", &stat);
    let tb = login(&b.base, "statistician", &stat);
    let get = |base: &str, token: &str| {
        send(
            agent()
                .get(&format!("{base}/api/v1/rounds/2026/estimates"))
                .set("Authorization", &format!("Bearer {token}")),
            None,
        )
        .expect("estimates answered")
    };
    let (sa, va) = get(&a.base, &ta);
    let (sb, vb) = get(&b.base, &tb);
    assert_eq!((sa, sb), (200, 200));
    assert_eq!(va["estimates"][0]["n"], vb["estimates"][0]["n"]);
    assert_eq!(
        va["estimates"][0]["estimate"],
        vb["estimates"][0]["estimate"]
    );
}
