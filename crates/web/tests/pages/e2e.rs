//! The questionnaire in headless Chromium, driven through chromedriver's
//! W3C WebDriver HTTP API, with axe-core run on every page visited and a
//! screenshot of each page under `target/e2e-screenshots/`.
//!
//! Chromium and chromedriver come from Debian (`.ci/run` installs them);
//! axe-core is installed from npm into `target/axe` at test time. A missing
//! browser fails the test: it is never skipped silently.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use literacy_core::instrument::ItemKind;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, ROUND, TestApp};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// axe-core's browser bundle, installed into `target/axe` when missing.
fn axe_source() -> String {
    let prefix = workspace().join("target/axe");
    let file = prefix.join("node_modules/axe-core/axe.min.js");
    if !file.exists() {
        let status = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
            ])
            .arg(&prefix)
            .arg("axe-core")
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "installing axe-core with `npm install --prefix target/axe axe-core` failed; .ci/run installs it"
        );
    }
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// One browser test at a time: several Chromiums at once on a small CI
/// machine make page loads slow enough to time out.
fn one_browser_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A chromedriver process, stopped when dropped.
struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start() -> Driver {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: the browser tests need Debian's chromium and chromium-driver \
                 (.ci/run installs them: apt-get install -y chromium chromium-driver)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(120))
                .build(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = driver
                .agent
                .get(&format!("{}/status", driver.base))
                .call()
                .ok()
                .and_then(|r| r.into_string().ok())
                .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                .is_some_and(|v| v["value"]["ready"] == json!(true));
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let req = self.agent.request(method, &url);
        let result = match body {
            Some(b) => req
                .set("Content-Type", "application/json")
                .send_string(&b.to_string()),
            None => req.call(),
        };
        let text = match result {
            Ok(r) => r.into_string().expect("body"),
            Err(ureq::Error::Status(code, r)) => {
                panic!(
                    "WebDriver {method} {path}: {code} {}",
                    r.into_string().unwrap_or_default()
                )
            }
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        };
        let v: Value = serde_json::from_str(&text).expect("WebDriver JSON");
        v["value"].clone()
    }

    fn session(&self, name: &'static str, width: u32, height: u32) -> Browser<'_> {
        let profile = std::env::temp_dir().join(format!(
            "lit-chromium-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos() ^ u128::from(width)
        ));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--hide-scrollbars",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let v = self.call("POST", "/session", Some(caps));
        let id = v["sessionId"].as_str().expect("session id").to_owned();
        let b = Browser {
            driver: self,
            id,
            profile,
            name,
            shots: 0,
        };
        b.cmd(
            "POST",
            "/timeouts",
            Some(json!({"script": 60000, "pageLoad": 60000})),
        );
        b.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
        b
    }
}

/// One browser session.
struct Browser<'a> {
    driver: &'a Driver,
    id: String,
    profile: PathBuf,
    name: &'static str,
    shots: u32,
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let _ = self
            .driver
            .agent
            .delete(&format!("{}/session/{}", self.driver.base, self.id))
            .call();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Browser<'_> {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .expect("url")
            .to_owned()
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .expect("elements")
        .iter()
        .map(|e| {
            e[ELEMENT]
                .as_str()
                .unwrap_or_else(|| panic!("not an element: {e}"))
                .to_owned()
        })
        .collect()
    }

    fn find(&self, css: &str) -> String {
        self.find_all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {css} on {}", self.url()))
    }

    fn click(&self, element: &str) {
        self.cmd(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    /// Clicks an element that loads a new page, and waits for that page.
    fn submit(&self, element: &str) {
        self.script("window.__previous_page = true;");
        self.click(element);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let loaded = self
                .script("return !window.__previous_page && document.readyState === 'complete';");
            if loaded == json!(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no new page after a click on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn type_into(&self, element: &str, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{element}/clear"),
            Some(json!({})),
        );
        self.cmd(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        );
    }

    fn attr(&self, element: &str, name: &str) -> String {
        self.cmd("GET", &format!("/element/{element}/attribute/{name}"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn script(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    fn text(&self) -> String {
        self.script("return document.body.innerText;")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Saves a screenshot as `target/e2e-screenshots/SESSION-NN-name.png`.
    fn shot(&mut self, name: &str) {
        self.shots += 1;
        let data = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("base64"))
            .expect("PNG");
        let dir = workspace().join("target/e2e-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(
            dir.join(format!("{}-{:02}-{name}.png", self.name, self.shots)),
            png,
        )
        .expect("write PNG");
    }

    /// Runs axe-core on the page; fails on serious or critical violations.
    fn axe(&self, axe: &str, page: &str) {
        self.script(axe);
        let out = self.cmd(
            "POST",
            "/execute/async",
            Some(json!({"args": [], "script": r"
                var done = arguments[arguments.length - 1];
                axe.run(document, {resultTypes: ['violations']}).then(function (r) {
                    done(JSON.stringify(r.violations.map(function (v) {
                        return {id: v.id, impact: v.impact, help: v.help,
                                nodes: v.nodes.slice(0, 3).map(function (n) { return n.target.join(' '); })};
                    })));
                }).catch(function (e) { done('ERROR ' + e); });
            "})),
        );
        let text = out.as_str().expect("axe result");
        let violations: Vec<Value> = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("axe on {page} did not run: {text} ({e})"));
        let bad: Vec<&Value> = violations
            .iter()
            .filter(|v| v["impact"] == json!("serious") || v["impact"] == json!("critical"))
            .collect();
        assert!(bad.is_empty(), "axe on {page}: {bad:#?}");
    }

    /// Answers every question shown: the first option of each group, the
    /// smallest allowed number in each numeric field.
    fn answer_page(&self, app: &TestApp) {
        for label in self.find_all("fieldset.q .opt:first-of-type") {
            self.click(&label);
        }
        for input in self.find_all("input[inputmode=numeric]") {
            let id = self.attr(&input, "id");
            let value = match app.instrument.item_index(&id) {
                Some(i) => match &app.instrument.items[i].kind {
                    ItemKind::Numeric { range, .. } => range.min.to_string(),
                    _ => unreachable!("only numeric items have numeric inputs"),
                },
                None => "1980".to_owned(),
            };
            self.type_into(&input, &value);
        }
    }

    /// Checks the phone layout: nothing wider than the window, and every
    /// option, button and header link at least 44px tall.
    fn check_phone_layout(&self, page: &str) {
        let overflow = self.script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        );
        assert!(
            overflow.as_i64().unwrap_or(1) <= 0,
            "{page} scrolls sideways by {overflow}px"
        );
        let small = self.script(
            "return Array.from(document.querySelectorAll('label.opt, button, header a, .nav a, .review dd a'))\
               .filter(function (e) { return e.getBoundingClientRect().height < 44; })\
               .map(function (e) { return e.outerHTML.slice(0, 80); });",
        );
        assert_eq!(small, json!([]), "{page}: tap targets under 44px");
    }

    /// How many answers the page shows as given.
    fn answered(&self) -> u64 {
        self.script(
            "return document.querySelectorAll('input:checked').length + \
             Array.from(document.querySelectorAll('input[type=text]')).filter(function (i) { return i.value !== ''; }).length;",
        )
        .as_u64()
        .expect("a count")
    }
}

#[test]
fn the_questionnaire_is_completed_in_chromium_in_chinese_with_a_reload() {
    let _browser = one_browser_at_a_time();
    let app = TestApp::spawn(Backend::Sqlite);
    let axe = axe_source();
    let driver = Driver::start();
    // A small phone: 360 CSS pixels wide.
    let mut b = driver.session("survey", 360, 780);
    let code = app.invites(1).remove(0);
    let sections = app.instrument.sections.len();
    let total = sections + 1;

    b.go(&format!("{}/survey/{ROUND}", app.base));
    assert!(b.text().contains("邀请码"), "{}", b.text());
    b.shot("entry-phone");
    b.axe(&axe, "entry");
    b.check_phone_layout("entry");
    let input = b.find("#invite_code");
    b.type_into(&input, &code);
    b.submit(&b.find("button.primary"));
    let first = b.url();
    assert!(first.ends_with("/p/1"), "{first}");
    let session_base = first.trim_end_matches("/p/1").to_owned();

    for n in 1..=sections {
        assert!(
            b.text().contains(&format!("第 {n} / {total} 页")),
            "{}",
            b.text()
        );
        b.shot(&format!("section-{n}-phone"));
        b.axe(&axe, &format!("section {n}"));
        b.check_phone_layout(&format!("section {n}"));
        if n == 1 {
            // Keyboard: Space on a focused radio button chooses it.
            let radio = b.find("fieldset.q input[type=radio]");
            b.cmd(
                "POST",
                &format!("/element/{radio}/value"),
                Some(json!({"text": " "})),
            );
            let checked =
                b.script("return document.querySelector('fieldset.q input[type=radio]').checked;");
            assert_eq!(
                checked,
                json!(true),
                "a radio button is chosen with the keyboard"
            );
        }
        b.answer_page(&app);
        let given = b.answered();
        assert!(given as usize >= app.instrument.sections[n - 1].items.len());
        if n == sections / 2 {
            // Half-way: the page is reloaded before it is sent (what was
            // typed but not sent may go, nothing saved may), then the link
            // is opened again from the start.
            b.cmd("POST", "/refresh", Some(json!({})));
            b.go(&format!("{}/survey/{ROUND}", app.base));
            assert!(b.url().ends_with(&format!("/p/{n}")), "{}", b.url());
            b.go(&format!("{session_base}/p/{}", n - 1));
            let restored = b.answered() as usize;
            assert!(
                restored >= app.instrument.sections[n - 2].items.len(),
                "page {} shows {restored} saved answers after a reload",
                n - 1
            );
            b.shot(&format!("section-{}-restored-phone", n - 1));
            b.go(&format!("{session_base}/p/{n}"));
            b.answer_page(&app);
        }
        b.submit(&b.find("button[value=next]"));
        if !b.url().ends_with(&format!("/p/{}", n + 1)) {
            b.shot(&format!("section-{n}-stuck"));
            panic!("still on {}:\n{}", b.url(), b.text());
        }
    }

    // Demographics, first with a birth year outside 18-69.
    assert!(b.text().contains("基本情况"));
    b.click(&b.find("#province option[value='44']"));
    b.answer_page(&app);
    b.type_into(&b.find("#birth_year"), "2015");
    b.submit(&b.find("button[value=next]"));
    assert!(b.text().contains("出生年份应为"), "{}", b.text());
    b.shot("demographics-error-phone");
    b.axe(&axe, "demographics with an error");
    b.check_phone_layout("demographics");
    b.type_into(&b.find("#birth_year"), "1980");
    b.submit(&b.find("button[value=next]"));
    assert!(b.url().ends_with("/review"), "{}", b.url());
    let review = b.text();
    assert!(
        !review.contains("未作答"),
        "every question answered:\n{review}"
    );
    assert!(review.contains("广东"));
    b.shot("review-phone");
    b.axe(&axe, "review");
    b.check_phone_layout("review");
    b.submit(&b.find("form.submit button"));
    assert!(b.url().ends_with("/receipt"), "{}", b.url());
    assert!(b.text().contains("回执编号"), "{}", b.text());
    assert!(b.text().contains(&format!("{ROUND}-")));
    b.shot("receipt-phone");
    b.axe(&axe, "receipt");
    assert_eq!(app.responses(), 1);
    drop(b);

    // The same pages on a desktop window, in English.
    let mut d = driver.session("survey-desktop", 1280, 900);
    d.go(&format!("{}/survey/{ROUND}?lang=en", app.base));
    assert!(d.text().contains("Invite code"));
    d.shot("entry-desktop-en");
    let code = app.invites(1).remove(0);
    d.type_into(&d.find("#invite_code"), &code);
    d.submit(&d.find("button.primary"));
    assert!(
        d.text().contains(&format!("Page 1 of {total}")),
        "{}",
        d.text()
    );
    d.shot("section-1-desktop-en");
    d.axe(&axe, "section 1 in English");
}

#[test]
fn the_dashboard_shows_the_province_chart_in_chromium() {
    let _browser = one_browser_at_a_time();
    let app = TestApp::spawn(Backend::Sqlite);
    crate::dashboard::seed(&app);
    let axe = axe_source();
    let driver = Driver::start();
    for (name, width, height) in [
        ("dashboard-desktop", 1280, 900),
        ("dashboard-phone", 390, 844),
    ] {
        let mut b = driver.session(name, width, height);
        b.go(&format!("{}/dashboard/{ROUND}", app.base));
        assert!(b.url().contains("/login?next="), "{}", b.url());
        b.shot("login");
        b.axe(&axe, "login");
        b.type_into(&b.find("#username"), "stat");
        b.type_into(&b.find("#password"), PASSWORD);
        b.submit(&b.find("button.primary"));
        assert!(
            b.url().ends_with(&format!("/dashboard/{ROUND}")),
            "{}",
            b.url()
        );
        let text = b.text();
        assert!(text.contains("全国公民具备科学素质的比例"), "{text}");
        let charts = b.find_all("figure.chart svg");
        assert_eq!(charts.len(), 4, "national, trend, province, breakdown");
        // The province chart has one row per province with responses.
        let rows = b.script(
            "return document.querySelectorAll('figure.chart svg [data-key=\"11\"], figure.chart svg [data-key=\"44\"]').length;",
        );
        assert!(rows.as_u64().unwrap_or(0) >= 2, "province rows: {rows}");
        b.shot("dashboard");
        // The trend: a point per published year and one for the round.
        let trend = b.script(
            "return document.querySelectorAll('figure.chart svg g[data-year] circle.estimate').length;",
        );
        assert!(trend.as_u64().unwrap_or(0) >= 6, "trend points: {trend}");
        b.script("document.getElementById('h-trend').scrollIntoView();");
        b.shot("trend-chart");
        b.script("document.getElementById('h-province').scrollIntoView();");
        b.shot("province-chart");
        b.axe(&axe, "dashboard");
    }
}

#[test]
fn a_batch_with_errors_then_a_clean_commit_in_chromium() {
    let _browser = one_browser_at_a_time();
    let app = TestApp::spawn(Backend::Sqlite);
    let axe = axe_source();
    let driver = Driver::start();
    let dir = std::env::temp_dir().join(format!("lit-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("beijing.csv");
    std::fs::write(&bad, crate::upload::batch_with_errors(3)).expect("bad file");
    let good = dir.join("beijing-fixed.csv");
    std::fs::write(&good, crate::helpers::batch_of(11)).expect("good file");
    let mut b = driver.session("upload", 1280, 900);
    b.go(&format!("{}/login", app.base));
    b.type_into(&b.find("#username"), "up11");
    b.type_into(&b.find("#password"), PASSWORD);
    b.submit(&b.find("button.primary"));
    assert!(b.url().ends_with("/upload"), "{}", b.url());
    b.submit(&b.find(&format!("a[href='/upload/{ROUND}']")));
    b.shot("upload-form");
    b.axe(&axe, "upload form");
    let mut stored = 0;
    for (file, name) in [(&bad, "with-errors"), (&good, "corrected")] {
        let input = b.find("#file");
        b.cmd(
            "POST",
            &format!("/element/{input}/value"),
            Some(json!({"text": file.display().to_string()})),
        );
        b.submit(&b.find("form[action$='/check'] button"));
        let text = b.text();
        assert!(text.contains("检查结果"), "{text}");
        if name == "with-errors" {
            assert!(!b.find_all("table.problems tbody tr").is_empty());
            assert!(!b.find_all("a[download^='problems-']").is_empty());
        }
        b.shot(&format!("report-{name}"));
        b.axe(&axe, &format!("report of the file {name}"));
        b.submit(&b.find("form.commit button"));
        assert!(b.url().contains("/batches/"), "{}", b.url());
        assert!(b.text().contains("已入库"), "{}", b.text());
        b.shot(&format!("committed-{name}"));
        b.axe(&axe, &format!("batch of the file {name}"));
        assert!(app.responses() > stored, "the commit stored rows");
        stored = app.responses();
        b.go(&format!("{}/upload/{ROUND}", app.base));
    }
    assert_eq!(
        b.find_all("a[href*='/batches/']").len(),
        2,
        "both batches listed"
    );
    b.shot("past-batches");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_admin_page_works_in_chromium() {
    let _browser = one_browser_at_a_time();
    let app = TestApp::spawn(Backend::Sqlite);
    let axe = axe_source();
    let driver = Driver::start();
    let mut b = driver.session("admin", 1280, 900);
    b.go(&format!("{}/login", app.base));
    b.type_into(&b.find("#username"), "admin");
    b.type_into(&b.find("#password"), PASSWORD);
    b.submit(&b.find("button.primary"));
    assert!(b.url().ends_with("/admin"), "{}", b.url());
    b.shot("admin");
    b.axe(&axe, "admin");
    b.type_into(&b.find(&format!("#count-{ROUND}")), "3");
    b.submit(&b.find(&format!(
        "form[action='/admin/rounds/{ROUND}/invites'] button"
    )));
    assert_eq!(b.find_all("ul.codes li").len(), 3);
    b.shot("invites");
    b.axe(&axe, "invite codes");
    // The margins page, and a bad file with its problems listed.
    b.go(&format!("{}/admin/rounds/{ROUND}/margins", app.base));
    assert!(b.text().contains("51000"), "{}", b.text());
    b.shot("margins");
    b.axe(&axe, "margins");
    let bad = std::env::temp_dir().join(format!("e2e-margins-{}.csv", std::process::id()));
    std::fs::write(&bad, "variable,category,total\nsex,9,1\nplanet,1,x\n").expect("temp file");
    b.type_into(&b.find("#margins-file"), &bad.display().to_string());
    b.submit(&b.find("form[enctype='multipart/form-data'] button"));
    let _ = std::fs::remove_file(&bad);
    assert_eq!(b.find_all("#margins-errors li").len(), 3, "{}", b.text());
    b.shot("margins-errors");
    b.axe(&axe, "margins with errors");
    // The instrument versions, one version's items, publishing a draft.
    let draft = {
        let mut conn = app.store.conn().expect("connection");
        literacy_store::instruments::create_draft(
            &mut conn,
            "csl-2027",
            "2027.0",
            crate::helpers::CSL_2026,
        )
        .expect("draft")
    };
    b.go(&format!("{}/admin/instruments", app.base));
    assert_eq!(b.find_all("tbody tr").len(), 2);
    b.shot("instruments");
    b.axe(&axe, "instruments");
    b.go(&format!("{}/admin/instruments/{}", app.base, draft.id));
    b.shot("instrument-draft");
    b.axe(&axe, "instrument draft");
    b.submit(&b.find(&format!(
        "form[action='/admin/instruments/{}/publish'] button",
        draft.id
    )));
    assert!(b.url().ends_with("done=publish"), "{}", b.url());
    assert!(b.find_all("form[action$='/publish']").is_empty());
    b.shot("instrument-published");
    b.axe(&axe, "instrument published");
}
