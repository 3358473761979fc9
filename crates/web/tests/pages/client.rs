//! A browser-like client: keeps cookies, follows redirects by hand (a 303
//! after a POST becomes a GET), posts URL-encoded forms.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::helpers::TestApp;

/// One page as the client saw it after following redirects.
#[derive(Debug, Clone)]
pub struct Page {
    /// Final status.
    pub status: u16,
    /// Final path (after redirects).
    pub path: String,
    /// Content type.
    pub content_type: String,
    /// Body.
    pub text: String,
    /// Redirects followed on the way.
    pub redirects: Vec<String>,
}

impl Page {
    /// The value of the form field `name` (hidden inputs).
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .text
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} on {}:\n{}", self.path, self.text))
            + marker.len();
        let end = self.text[start..].find('"').expect("closing quote") + start;
        self.text[start..end].to_owned()
    }

    /// Whether the body contains `s`.
    pub fn has(&self, s: &str) -> bool {
        self.text.contains(s)
    }

    /// Asserts that the page came back with `status` and contains `s`.
    pub fn assert_shows(&self, status: u16, s: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert!(self.has(s), "{}", self.text);
    }
}

/// A client with a cookie jar.
pub struct Client {
    base: String,
    agent: ureq::Agent,
    /// Cookies by name.
    pub cookies: RefCell<BTreeMap<String, String>>,
    /// Every `Set-Cookie` header received, as sent.
    pub set_cookies: RefCell<Vec<String>>,
}

/// Percent-encodes a form value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Client {
    /// A client of `app` with no cookies.
    pub fn new(app: &TestApp) -> Client {
        Client {
            base: app.base.clone(),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(60))
                .redirects(0)
                .max_idle_connections(0)
                .build(),
            cookies: RefCell::new(BTreeMap::new()),
            set_cookies: RefCell::new(Vec::new()),
        }
    }

    fn once(
        &self,
        method: &str,
        path: &str,
        form: Option<&str>,
    ) -> (u16, Option<String>, String, String) {
        let body = form.map(|f| {
            (
                "application/x-www-form-urlencoded".to_owned(),
                f.as_bytes().to_vec(),
            )
        });
        self.send(method, path, body)
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<(String, Vec<u8>)>,
    ) -> (u16, Option<String>, String, String) {
        // What a browser sends when it navigates.
        let mut req = self
            .agent
            .request(method, &format!("{}{path}", self.base))
            .set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
        let jar: Vec<String> = self
            .cookies
            .borrow()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !jar.is_empty() {
            req = req.set("Cookie", &jar.join("; "));
        }
        let result = match body {
            Some((content_type, bytes)) => {
                req.set("Content-Type", &content_type).send_bytes(&bytes)
            }
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        for c in resp.all("set-cookie") {
            self.set_cookies.borrow_mut().push(c.to_owned());
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                let max_age_zero = c.contains("Max-Age=0");
                if max_age_zero {
                    self.cookies.borrow_mut().remove(k);
                } else {
                    self.cookies.borrow_mut().insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let status = resp.status();
        let location = resp.header("location").map(str::to_owned);
        let content_type = resp.content_type().to_owned();
        let text = resp.into_string().expect("body");
        (status, location, content_type, text)
    }

    fn follow(&self, method: &str, path: &str, form: Option<&str>) -> Page {
        let body = form.map(|f| {
            (
                "application/x-www-form-urlencoded".to_owned(),
                f.as_bytes().to_vec(),
            )
        });
        self.follow_body(method, path, body)
    }

    fn follow_body(&self, method: &str, path: &str, body: Option<(String, Vec<u8>)>) -> Page {
        let (mut status, mut location, mut content_type, mut text) = self.send(method, path, body);
        let mut path = path.to_owned();
        let mut redirects = Vec::new();
        while let (300..=399, Some(to)) = (status, location.clone()) {
            assert!(redirects.len() < 10, "redirect loop: {redirects:?}");
            redirects.push(to.clone());
            path = to;
            (status, location, content_type, text) = self.once("GET", &path, None);
        }
        Page {
            status,
            path,
            content_type,
            text,
            redirects,
        }
    }

    /// POST of a raw body with its content type (a malformed form, say),
    /// following redirects.
    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Page {
        self.follow_body("POST", path, Some((content_type.to_owned(), body.to_vec())))
    }

    /// GET, following redirects.
    pub fn get(&self, path: &str) -> Page {
        self.follow("GET", path, None)
    }

    /// The raw bytes of a GET (no redirects).
    pub fn bytes(&self, path: &str) -> usize {
        self.once("GET", path, None).3.len()
    }

    /// POSTs a form (pairs may repeat a name), following redirects.
    pub fn post(&self, path: &str, fields: &[(String, String)]) -> Page {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        self.follow("POST", path, Some(&body.join("&")))
    }

    /// POSTs a `multipart/form-data` form with an optional file part
    /// named `file`, following redirects.
    pub fn post_multipart(
        &self,
        path: &str,
        fields: &[(String, String)],
        file: Option<(&str, &[u8])>,
    ) -> Page {
        let boundary = "----pagesTestBoundary7MA4YWxk";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some((name, bytes)) = file {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.follow_body(
            "POST",
            path,
            Some((format!("multipart/form-data; boundary={boundary}"), body)),
        )
    }
}
