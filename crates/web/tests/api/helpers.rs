//! Test harness: a fresh database, the application started on it in its
//! own thread and actix system, seeded accounts, an instrument and a round,
//! and a small blocking client.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use literacy_core::Instrument;
use literacy_store::rounds::{self, NewRound, Round, RoundStatus};
use literacy_store::users::{self, Role};
use literacy_store::{Store, instruments};
use literacy_web::auth::{Audience, Subject, Tokens};
use literacy_web::{Application, Config};
use serde_json::Value;

/// The token secret of the test service.
pub const SECRET: &[u8] = b"a test secret that is at least 32 bytes long";
/// Every seeded account's password.
pub const PASSWORD: &str = "correct horse battery";
/// The national instrument.
pub const CSL_2026: &str = include_str!("../../../../surveys/csl-2026/instrument.json");
/// The seeded round's code.
pub const ROUND: &str = "2026";

/// Runs each listed test body on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            $crate::paste_variant!($name);
        )*
    };
}

/// Generates `<name>_sqlite` and `<name>_postgres` for one body.
#[macro_export]
macro_rules! paste_variant {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(&$crate::helpers::TestApp::spawn(
                    $crate::helpers::Backend::Sqlite,
                ));
            }
            #[test]
            fn postgres() {
                super::$name(&$crate::helpers::TestApp::spawn(
                    $crate::helpers::Backend::Postgres,
                ));
            }
        }
    };
}

/// Opens round `code` on the instrument version `instrument_id`: the
/// total-score rule with a cut of 70, population `margins` (JSON), open
/// online participation when `open_online`.
pub fn open_round(
    conn: &mut literacy_store::DbConn,
    code: &str,
    instrument_id: i64,
    margins: &str,
    open_online: bool,
) -> Round {
    rounds::create(
        conn,
        &NewRound {
            code,
            instrument_id,
            rule: r#"{"kind":"total-score","cut":70}"#,
            margins,
            opens_at: None,
            closes_at: None,
            status: RoundStatus::Open,
            open_online,
        },
    )
    .expect("round")
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// A running service on a database of its own.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The service's store (for seeding and checking).
    pub store: Store,
    /// The seeded round.
    pub round: Round,
    /// The instrument.
    pub instrument: Instrument,
    url: String,
    handle: ServerHandle,
    sqlite_file: Option<PathBuf>,
    pg_database: Option<literacy_test_support::pg::Database>,
    agent: ureq::Agent,
}

impl TestApp {
    /// Starts the service on a fresh database and seeds it.
    pub fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, false)
    }

    /// [`TestApp::spawn`] of a service reached over HTTPS only
    /// (`Config::secure_cookies`).
    pub fn spawn_https_only(backend: Backend) -> TestApp {
        Self::spawn_with(backend, true)
    }

    fn spawn_with(backend: Backend, secure_cookies: bool) -> TestApp {
        let (url, sqlite_file, pg_database) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!(
                    "lit_web_{}.db",
                    literacy_test_support::dirs::unique_name()
                ));
                (format!("sqlite://{}", path.display()), Some(path), None)
            }
            Backend::Postgres => {
                let database = literacy_test_support::pg::Database::new("lit_web");
                (database.url().to_owned(), None, Some(database))
            }
        };
        let (port, store, handle) = start(&url, secure_cookies);
        let instrument = Instrument::from_json("csl-2026", CSL_2026).expect("instrument");
        let round = {
            let mut conn = store.conn().expect("connection");
            for (name, role) in [
                ("admin", Role::Admin),
                ("stat", Role::Statistician),
                ("up11", Role::Uploader { province: 11 }),
                ("up44", Role::Uploader { province: 44 }),
            ] {
                users::create(&mut conn, name, PASSWORD, role).expect("user");
            }
            let draft = instruments::create_draft(&mut conn, "csl-2026", "2026.1", CSL_2026)
                .expect("draft");
            let published = instruments::publish(&mut conn, draft.id).expect("publish");
            let margins = r#"{"sex":{"1":51000.0,"2":49000.0}}"#;
            open_round(&mut conn, ROUND, published.id, margins, false)
        };
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            url,
            store,
            round,
            instrument,
            handle,
            sqlite_file,
            pg_database,
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(120))
                // A fresh connection per request: a refused request whose
                // body was not read closes its connection.
                .max_idle_connections(0)
                .build(),
        }
    }

    /// Another replica of the service on the same database (stopped when
    /// dropped; the database stays with the first).
    pub fn replica(&self) -> TestApp {
        let (port, store, handle) = start(&self.url, false);
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            url: self.url.clone(),
            store,
            round: self.round.clone(),
            instrument: self.instrument.clone(),
            handle,
            sqlite_file: None,
            pg_database: None,
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(120))
                .max_idle_connections(0)
                .build(),
        }
    }

    /// A request; any status comes back as a [`Resp`] (never an error).
    pub fn request(&self, method: &str, path: &str, token: Option<&str>, body: Body<'_>) -> Resp {
        let mut req = self.agent.request(method, &format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.set("Authorization", &format!("Bearer {token}"));
        }
        let result = match body {
            Body::None => req.call(),
            Body::Json(v) => req
                .set("Content-Type", "application/json")
                .send_string(&v.to_string()),
            Body::Raw(content_type, bytes) => {
                req.set("Content-Type", content_type).send_bytes(bytes)
            }
            Body::Accept(accept) => req.set("Accept", accept).call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = response.status();
        let content_type = response.header("Content-Type").unwrap_or("").to_owned();
        let cache = response.header("X-Cache").map(str::to_owned);
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|h| {
                response
                    .header(&h)
                    .map(|v| (h.to_ascii_lowercase(), v.to_owned()))
            })
            .collect();
        let text = response.into_string().expect("body");
        Resp {
            status,
            content_type,
            cache,
            headers,
            text,
        }
    }

    /// A request that declares a body of `length` bytes and sends none:
    /// the service must refuse it from the headers alone. Returns the
    /// status and the body.
    pub fn declared_length(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        length: usize,
    ) -> Resp {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).expect("write");
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").expect("a response");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let content_type = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-type")
                    .then(|| v.trim().to_owned())
            })
            .unwrap_or_default();
        Resp {
            status,
            content_type,
            cache: None,
            headers: Vec::new(),
            text: body.to_owned(),
        }
    }

    /// GET with an optional token.
    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request("GET", path, token, Body::None)
    }

    /// POST JSON.
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.request("POST", path, token, Body::Json(body))
    }

    /// PUT JSON.
    pub fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.request("PUT", path, token, Body::Json(body))
    }

    /// POST a CSV batch.
    pub fn upload(&self, token: &str, dry_run: bool, csv: &str) -> Resp {
        self.request(
            "POST",
            &format!("/api/v1/rounds/{ROUND}/batches?dry_run={dry_run}"),
            Some(token),
            Body::Raw("text/csv", csv.as_bytes()),
        )
    }

    /// Signs in and returns the access token.
    pub fn login(&self, username: &str) -> String {
        let r = self.post(
            "/api/v1/auth/login",
            None,
            &serde_json::json!({"username": username, "password": PASSWORD}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()["access_token"].as_str().expect("token").to_owned()
    }

    /// Invite codes made through the API.
    pub fn invites(&self, count: usize) -> Vec<String> {
        let admin = self.login("admin");
        let r = self.post(
            &format!("/api/v1/rounds/{ROUND}/invites"),
            Some(&admin),
            &serde_json::json!({"count": count}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json()["codes"]
            .as_array()
            .expect("codes")
            .iter()
            .map(|c| c.as_str().expect("code").to_owned())
            .collect()
    }

    /// How long invite code `code` is usable: expiry less creation (ms).
    pub fn invite_lifetime_ms(&self, code: &str) -> i64 {
        let mut conn = self.store.conn().expect("connection");
        let invite = literacy_store::invites::get(&mut conn, code)
            .expect("read")
            .expect("the code is stored");
        invite.expires_at.expect("an expiry") - invite.created_at
    }

    /// Starts a session with a fresh invite code: (session id, token).
    pub fn session(&self) -> (String, String) {
        let code = self.invites(1).remove(0);
        let r = self.post(
            &format!("/api/v1/rounds/{ROUND}/sessions"),
            None,
            &serde_json::json!({"mode": "online", "invite_code": code, "lang": "zh-CN"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let v = r.json();
        (
            v["session_id"].as_str().expect("id").to_owned(),
            v["token"].as_str().expect("token").to_owned(),
        )
    }

    /// A token signed with the service's secret, as of `now` seconds.
    pub fn token(&self, subject: Subject, audience: Audience, now: u64) -> String {
        Tokens::new(SECRET, 900, 7200)
            .expect("keys")
            .issue(subject, audience, now)
            .expect("token")
    }

    /// Number of stored responses of the round.
    pub fn responses(&self) -> usize {
        let mut conn = self.store.conn().expect("connection");
        literacy_store::load::all(&mut conn, self.round.id)
            .expect("load")
            .len()
    }

    /// Number of batches of the round.
    pub fn batches(&self) -> usize {
        let mut conn = self.store.conn().expect("connection");
        literacy_store::batches::list(&mut conn, self.round.id)
            .expect("batches")
            .len()
    }

    /// Audit records with this action.
    pub fn audits(&self, action: &str) -> Vec<literacy_store::audit::AuditEvent> {
        let mut conn = self.store.conn().expect("connection");
        literacy_store::audit::by_action(&mut conn, action).expect("audit")
    }

    /// The first item of a type.
    pub fn item(&self, kind: &str) -> String {
        self.instrument
            .items
            .iter()
            .find(|i| i.kind.type_name() == kind)
            .map(|i| i.id.clone())
            .unwrap_or_else(|| panic!("no {kind} item"))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        std::thread::sleep(Duration::from_millis(50));
        if let Some(path) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
        // The PostgreSQL database (if any) is dropped with `pg_database`.
    }
}

/// Starts the application on `url` in a thread with its own actix system.
fn start(url: &str, secure_cookies: bool) -> (u16, Store, ServerHandle) {
    let config = Config {
        bind: "127.0.0.1:0".into(),
        database_url: url.to_owned(),
        jwt_secret: SECRET.to_vec(),
        staff_token_ttl_secs: 900,
        respondent_token_ttl_secs: 7200,
        workers: Some(2),
        secure_cookies,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        system.block_on(async move {
            match Application::build(config) {
                Ok(app) => {
                    let _ = tx.send(Ok((app.port(), app.store().clone(), app.handle())));
                    let _ = app.run_until_stopped().await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
        });
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the application starts")
        .expect("the application builds")
}

/// A request body.
pub enum Body<'a> {
    /// No body.
    None,
    /// JSON.
    Json(&'a Value),
    /// Bytes with a content type.
    Raw(&'a str, &'a [u8]),
    /// No body, with an Accept header.
    Accept(&'a str),
}

/// A response.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Content-Type.
    pub content_type: String,
    /// X-Cache header.
    pub cache: Option<String>,
    /// Every header (names in lower case).
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub text: String,
}

impl Resp {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts the one error shape and the status; returns the message.
    pub fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.text);
        assert!(
            self.content_type.starts_with("application/json"),
            "{}: {}",
            self.content_type,
            self.text
        );
        let v = self.json();
        assert!(v["error"]["code"].is_string(), "{}", self.text);
        v["error"]["message"].as_str().expect("message").to_owned()
    }
}

/// The simulator's provincial paper batches of one national sample (made once).
pub fn paper_batches() -> &'static [(String, String)] {
    static FILES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let instrument = Instrument::from_json("csl-2026", CSL_2026).expect("instrument");
        let model = literacy_sim::NationalModel::embedded_2023(&instrument).expect("model");
        let round = model.simulate(6_000, 11).expect("sample");
        model.paper_batches(&round).files
    })
}

/// The batch file of one province.
pub fn batch_of(province: u16) -> &'static str {
    let name = format!("province-{province}.csv");
    paper_batches()
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| t.as_str())
        .unwrap_or_else(|| panic!("no batch {name}"))
}

/// Province `province`'s batch with only its own rows (its file may hold a
/// misfiled row of another province), and how many there are.
pub fn own_rows_of(province: u16) -> (String, usize) {
    let text = batch_of(province);
    let header = text.lines().next().expect("header");
    let column = header
        .split(',')
        .position(|h| h == "province")
        .expect("province column");
    let code = province.to_string();
    let rows: Vec<&str> = text
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(column) == Some(code.as_str()))
        .collect();
    (format!("{header}\n{}\n", rows.join("\n")), rows.len())
}

/// A token of `aud` for `sub` (as `role`, in `province`, bound to session
/// `sid`), signed with the service's key, issued a minute before `now`
/// and valid for the next hour, its chain of renewals begun at `began`.
pub fn crafted_token(
    (sub, role, province, sid): (&str, literacy_web::auth::Role, Option<&str>, Option<&str>),
    aud: &str,
    began: u64,
    now: u64,
) -> String {
    let claims = literacy_web::auth::Claims {
        sub: sub.to_owned(),
        role,
        province: province.map(str::to_owned),
        sid: sid.map(str::to_owned),
        iss: literacy_web::auth::jwt::ISSUER.to_owned(),
        aud: aud.to_owned(),
        iat: now - 60,
        nbf: now - 60,
        exp: now + 3600,
        auth_time: Some(began),
    };
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET).expect("key");
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("token")
}

/// A respondent's six demographics, every one valid (province 44).
pub fn demographics() -> Value {
    serde_json::json!({"province": 44, "urban_rural": 1, "sex": 2, "birth_year": 1980, "education": 3, "occupation": 4})
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}
