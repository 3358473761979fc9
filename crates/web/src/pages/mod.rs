//! Server-rendered HTML pages: the respondents' questionnaire (plain HTML
//! forms, POST-redirect-GET, JavaScript only as an enhancement), with its
//! self-hosted CSS and JS, cookies for auth, CSRF and language.
//!
//! Page code builds a view struct and renders its askama template
//! (`crates/web/templates/`, checked at compile time, HTML-escaped by
//! default); every text a person reads comes from the message catalog
//! (`crate::messages`).

/// What a page guard (`admin`, `statistician`, `uploader`, ...) lets
/// through, or else the handler returns the guard's answer (the sign-in
/// page, a 403 page) at once.
macro_rules! admit {
    ($guard:expr) => {
        match $guard {
            Ok(admitted) => admitted,
            Err(answer) => return Ok(answer),
        }
    };
}

mod admin;
mod dashboard;
mod home;
mod instruments;
mod margins;
mod password;
mod sign_in;
mod survey;
mod upload;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION, SET_COOKIE};
use actix_web::{FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError, web};
use askama::Template;

use literacy_core::demographics::PROVINCES;
use literacy_store::rounds::RoundStatus;
use literacy_store::users::Role as StoredRole;

use crate::error::ApiError;
pub(crate) use home::{not_found, wants_html};

/// The stylesheet every page links.
pub const CSS: &str = include_str!("../../static/app.css");
/// The script every page loads (an enhancement: pages work without it).
pub const JS: &str = include_str!("../../static/app.js");

/// Cookie holding the respondent's signed token.
pub const RESPONDENT_COOKIE: &str = "lit_rs";
/// Cookie holding the double-submit CSRF token.
pub const CSRF_COOKIE: &str = "lit_csrf";
/// Cookie remembering the chosen language.
pub const LANG_COOKIE: &str = "lit_lang";

/// Registers the page routes and the static assets.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/app.css", web::get().to(css))
        .route("/static/app.js", web::get().to(js));
    home::configure(cfg);
    survey::configure(cfg);
    sign_in::configure(cfg);
    password::configure(cfg);
    dashboard::configure(cfg);
    upload::configure(cfg);
    admin::configure(cfg);
    margins::configure(cfg);
    instruments::configure(cfg);
}

async fn css() -> HttpResponse {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", JS)
}

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

pub use crate::lang::Lang;

/// The value of cookie `name` in the request, if any.
pub(crate) fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, and Secure when the
/// request came over HTTPS (directly or through a proxy that says so).
fn set_cookie(secure: bool, name: &str, value: &str, path: &str, max_age: u64) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// A posted form (`application/x-www-form-urlencoded`): its fields in order.
pub(crate) type Form = web::Form<Vec<(String, String)>>;

/// The first value of the field `name` among a form's fields.
pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// What a page handler returns: the page, or an error page.
pub(crate) type PageResult = Result<HttpResponse, PageError>;

/// What a page request carries: its language (and whether it must be
/// remembered) and its CSRF token (and whether it is new). Handlers take
/// it as an extractor.
pub(crate) struct Ctx {
    /// The request itself (its cookies, path and query).
    pub req: HttpRequest,
    pub lang: Lang,
    lang_changed: bool,
    pub csrf: String,
    csrf_new: bool,
    /// Whether the request came over HTTPS (cookies are then `Secure`).
    pub secure: bool,
    /// The query string without `lang`, kept by the language switch.
    keep: String,
    /// A renewed staff cookie (token, max age) that the staff guard left
    /// for the response.
    staff_cookie: std::cell::RefCell<Option<(String, u64)>>,
}

impl Ctx {
    /// Reads `?lang=` (remembered in a cookie), else the cookie, else
    /// Chinese; reads the CSRF cookie or makes one.
    pub fn of(req: &HttpRequest) -> Ctx {
        let query = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .unwrap_or_default();
        let from_query = query
            .iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::parse(v));
        let keep: String = query
            .iter()
            .filter(|(k, _)| k != "lang")
            .map(|(k, v)| format!("{}={}&", url_encode(k), url_encode(v)))
            .collect();
        let from_cookie = cookie(req, LANG_COOKIE).and_then(|v| Lang::parse(&v));
        let lang = from_query.or(from_cookie).unwrap_or(Lang::Zh);
        let csrf = cookie(req, CSRF_COOKIE).filter(|c| c.len() == 32 && is_hex(c));
        Ctx {
            req: req.clone(),
            keep,
            secure: req.app_data::<web::Data<HttpsOnly>>().is_some_and(|h| h.0)
                || req.connection_info().scheme() == "https",
            lang,
            lang_changed: from_query.is_some() && from_query != from_cookie,
            csrf_new: csrf.is_none(),
            csrf: csrf.unwrap_or_else(|| random_hex(16)),
            staff_cookie: std::cell::RefCell::new(None),
        }
    }

    /// Adds the cookies this context must set to a response.
    pub fn cookies(&self, builder: &mut HttpResponseBuilder) {
        if self.lang_changed {
            builder.append_header((
                SET_COOKIE,
                format!(
                    "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
                    self.lang.tag(),
                    if self.secure { "; Secure" } else { "" }
                ),
            ));
        }
        if self.csrf_new {
            builder.append_header((
                SET_COOKIE,
                set_cookie(self.secure, CSRF_COOKIE, &self.csrf, "/", 86400),
            ));
        }
        if let Some((token, max_age)) = self.staff_cookie.borrow().as_ref() {
            builder.append_header((
                SET_COOKIE,
                set_cookie(self.secure, sign_in::STAFF_COOKIE, token, "/", *max_age),
            ));
        }
    }

    /// Leaves a renewal of the staff token `claims` for the response: the
    /// page session slides with use, up to its absolute lifetime.
    pub fn renew_staff(&self, tokens: &crate::auth::Tokens, claims: &crate::auth::Claims) {
        let now = crate::state::now_secs();
        if let Ok(renewed) = tokens.renew(claims, crate::auth::Audience::Staff, now) {
            *self.staff_cookie.borrow_mut() = Some(renewed);
        }
    }

    /// Whether a posted form's CSRF field matches the cookie.
    pub fn check_csrf(&self, posted: Option<&str>) -> Result<(), PageError> {
        match posted {
            Some(p) if !self.csrf_new && constant_eq(p.as_bytes(), self.csrf.as_bytes()) => Ok(()),
            _ => Err(PageError::new(
                StatusCode::FORBIDDEN,
                self.lang,
                self.lang.msg("error.csrf"),
            )),
        }
    }

    /// The frame of a page titled `title` in this request's language.
    pub fn frame(&self, title: &str) -> Frame {
        Frame::new(self.lang, &self.keep, title)
    }

    /// A page rendered from its template, with this request's cookies.
    pub fn render(&self, status: StatusCode, page: &impl Template) -> HttpResponse {
        let mut builder = HttpResponse::build(status);
        self.cookies(&mut builder);
        html(builder, page)
    }

    /// Adds the cookie `name` (as [`set_cookie`] writes it) to a response.
    pub fn add_cookie(
        &self,
        res: &mut HttpResponse,
        name: &str,
        value: &str,
        path: &str,
        max_age: u64,
    ) {
        let cookie = set_cookie(self.secure, name, value, path, max_age);
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }

    /// A 303 redirect (POST-redirect-GET).
    pub fn redirect(&self, to: &str) -> HttpResponse {
        let mut builder = HttpResponse::SeeOther();
        self.cookies(&mut builder);
        builder.insert_header((LOCATION, to.to_owned())).finish()
    }
}

/// Whether the service is reached over HTTPS only (`Config::secure_cookies`):
/// then every cookie is `Secure`, whatever the request says.
pub(crate) struct HttpsOnly(pub bool);

impl FromRequest for Ctx {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Ctx, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Ctx::of(req)))
    }
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `n` random bytes from the operating system, as lowercase hex.
pub(crate) fn random_hex(n_bytes: usize) -> String {
    use rand::{RngCore, SeedableRng};
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut bytes = vec![0u8; n_bytes];
    rng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random version-4 UUID in canonical text form.
pub(crate) fn random_uuid() -> String {
    let h = random_hex(16);
    let variant = ["8", "9", "a", "b"][usize::from(h.as_bytes()[16] % 4)];
    format!(
        "{}-{}-4{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        variant,
        &h[17..20],
        &h[20..32]
    )
}

/// Percent-encodes a query value.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Writes `s` escaped for HTML content and attribute values: the one
/// escaping every template goes through (charts have their XML writer).
pub fn write_escaped(mut out: impl std::fmt::Write, s: &str) -> std::fmt::Result {
    let mut rest = s;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.write_str(&rest[..at])?;
        out.write_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        })?;
        // Each character escaped is one byte long.
        rest = &rest[at + 1..];
    }
    out.write_str(rest)
}

/// The templates' HTML escaper (`askama.toml`): [`write_escaped`].
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlEscaper;

impl askama::filters::Escaper for HtmlEscaper {
    fn write_escaped_str<W: std::fmt::Write>(&self, dest: W, s: &str) -> std::fmt::Result {
        write_escaped(dest, s)
    }
}

/// What the frame of every page (`templates/layout.html`) shows beside
/// the page's own content: its title and the switch to the other language
/// (which keeps the rest of the query).
pub(crate) struct Frame {
    /// The page's title.
    pub title: String,
    /// The query string without `lang`, each pair followed by `&`.
    pub keep: String,
    /// The language the switch offers.
    pub other: Lang,
}

impl Frame {
    /// The frame of a page in `lang`.
    pub fn new(lang: Lang, keep: &str, title: &str) -> Frame {
        Frame {
            title: title.to_owned(),
            keep: keep.to_owned(),
            other: match lang {
                Lang::Zh => Lang::En,
                Lang::En => Lang::Zh,
            },
        }
    }
}

/// An error page: its title, the message and a way on.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    lang: Lang,
    frame: Frame,
    message: &'a str,
    back: &'a str,
    back_text: &'a str,
}

/// A rendered template as an uncached HTML response (a 500 in plain text
/// if rendering failed, which only a failing `Display` can cause).
fn html(mut builder: HttpResponseBuilder, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => builder
            .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "page template");
            HttpResponse::InternalServerError()
                .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
                .body("internal error")
        }
    }
}

/// A round status in `lang`.
pub(crate) fn status_label(s: RoundStatus, lang: Lang) -> &'static str {
    match s {
        RoundStatus::Draft => lang.msg("round.draft"),
        RoundStatus::Open => lang.msg("round.open"),
        RoundStatus::Closed => lang.msg("round.closed"),
    }
}

/// Every round's code and status in `lang`, as the staff pages list them.
pub(crate) async fn round_statuses(
    state: &crate::state::State,
    lang: Lang,
) -> Result<Vec<(String, &'static str)>, PageError> {
    let list = page_db(state, lang, |_, conn| {
        literacy_store::rounds::list(conn).map_err(ApiError::internal)
    })
    .await?;
    Ok(list
        .into_iter()
        .map(|r| (r.code, status_label(r.status, lang)))
        .collect())
}

/// A stored role's name in `lang`.
pub(crate) fn role_label(role: &StoredRole, lang: Lang) -> &'static str {
    match role {
        StoredRole::Admin => lang.msg("role.admin"),
        StoredRole::Statistician => lang.msg("role.statistician"),
        StoredRole::Uploader { .. } => lang.msg("role.uploader"),
        StoredRole::Respondent => lang.msg("role.respondent"),
    }
}

/// Every province's code and name in `lang`.
pub(crate) fn provinces(lang: Lang) -> Vec<(u16, &'static str)> {
    PROVINCES
        .iter()
        .map(|p| (p.code, lang.t(p.name_zh, p.name_en)))
        .collect()
}

/// An error shown as an HTML page (never JSON: people read it).
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    lang: Lang,
    message: String,
}

impl PageError {
    /// An error page with this status and message.
    pub fn new(status: StatusCode, lang: Lang, message: impl Into<String>) -> Self {
        Self {
            status,
            lang,
            message: message.into(),
        }
    }

    /// Wraps an API error (its message is already safe to show).
    pub fn api(lang: Lang, e: ApiError) -> Self {
        let message = if e.status_code().is_server_error() {
            lang.msg("error.server").to_owned()
        } else {
            e.message_in(lang)
        };
        Self::new(e.status_code(), lang, message)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

/// Runs `f` with a pooled connection on the blocking pool, as
/// [`crate::state::db`] does, its error shown as a page in `lang`.
pub(crate) async fn page_db<T, F>(
    state: &crate::state::State,
    lang: Lang,
    f: F,
) -> Result<T, PageError>
where
    T: Send + 'static,
    F: FnOnce(&crate::state::AppState, &mut literacy_store::DbConn) -> Result<T, ApiError>
        + Send
        + 'static,
{
    crate::state::db(state, f)
        .await
        .map_err(|e| PageError::api(lang, e))
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let lang = self.lang;
        let page = ErrorPage {
            lang,
            frame: Frame::new(lang, "", lang.msg("error.title")),
            message: &self.message,
            back: "/survey",
            back_text: lang.msg("error.back"),
        };
        html(HttpResponse::build(self.status), &page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table macro alone.
    #[derive(Template)]
    #[template(
        source = r#"{% import "macros.html" as m %}{% call m::table_open(label, caption, class, columns) %}</tbody></table></div>"#,
        ext = "html"
    )]
    struct Table<'a> {
        label: &'a str,
        caption: &'a str,
        class: &'a str,
        columns: Vec<&'a str>,
    }

    #[test]
    fn tables_are_labelled_focusable_regions_with_column_headers() {
        let captioned = Table {
            label: "cap-x",
            caption: "Rows & <more>",
            class: "problems",
            columns: vec!["A", "B's"],
        };
        assert_eq!(
            captioned.render().expect("rendered"),
            concat!(
                r#"<div class="table-wrap" tabindex="0" role="region" aria-labelledby="cap-x">"#,
                r#"<table class="problems"><caption id="cap-x">Rows &amp; &lt;more&gt;</caption>"#,
                r#"<thead><tr><th scope="col">A</th><th scope="col">B&#39;s</th></tr></thead>"#,
                "<tbody></tbody></table></div>"
            )
        );
        // Labelled by a heading elsewhere: no caption of its own.
        let headed = Table {
            label: "h-s1",
            caption: "",
            class: "",
            columns: vec!["Item"],
        }
        .render()
        .expect("rendered");
        assert!(headed.starts_with(
            r#"<div class="table-wrap" tabindex="0" role="region" aria-labelledby="h-s1"><table><thead>"#
        ));
        assert!(!headed.contains("<caption"));
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            {
                let mut out = String::new();
                write_escaped(&mut out, r#"<a href="x">'&'</a>"#).expect("written");
                out
            },
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn uuids_are_canonical_v4() {
        let u = random_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!("89ab".contains(&u[19..20]), "{u}");
    }
}
