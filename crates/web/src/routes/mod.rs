//! The route table: every endpoint's method, path, who may call it and its
//! handler, in one place. The router and the OpenAPI document are both
//! built from it, so they cannot disagree.

mod admin;
mod auth;
pub(crate) mod batches;
pub(crate) mod estimates;
mod export;
mod ops;
mod sessions;

use actix_web::web;

use crate::auth::{Access, Role};

/// One endpoint.
pub(crate) struct Endpoint {
    /// HTTP method (upper case).
    pub method: &'static str,
    /// Path pattern, `{name}` for parameters.
    pub path: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Who may call it: enforced by the router before the handler runs.
    pub auth: Access,
    /// Query parameters: name and what it does.
    pub query: &'static [(&'static str, &'static str)],
    /// Builds the actix route.
    pub route: fn() -> actix_web::Route,
}

/// Every endpoint of the service.
pub(crate) static ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "POST",
        path: "/api/v1/auth/login",
        summary: "Sign in with a username and password; returns a bearer token",
        auth: Access::Public,
        query: &[],
        route: || web::post().to(auth::login),
    },
    Endpoint {
        method: "POST",
        path: "/api/v1/auth/password",
        summary: "Change one's own password: {current, new}; 204, 403 when current is wrong, 422 when new is too short",
        auth: Access::Staff(&[Role::Admin, Role::Statistician, Role::Uploader]),
        query: &[],
        route: || web::post().to(auth::change_password),
    },
    Endpoint {
        method: "POST",
        path: "/api/v1/users",
        summary: "Create an account (admin, statistician or uploader with its province)",
        auth: Access::Staff(&[Role::Admin]),
        query: &[],
        route: || web::post().to(admin::create_user),
    },
    Endpoint {
        method: "POST",
        path: "/api/v1/rounds/{round}/invites",
        summary: "Make invite codes for a round: {count, province?, expires_at? (unix ms; default 90 days from now)}",
        auth: Access::Staff(&[Role::Admin]),
        query: &[],
        route: || web::post().to(admin::create_invites),
    },
    Endpoint {
        method: "POST",
        path: "/api/v1/rounds/{round}/sessions",
        summary: "Start an online session (with an invite code unless the round is open to all); a code used before resumes its unsubmitted session (200)",
        auth: Access::InviteCode,
        query: &[],
        route: || web::post().to(sessions::start),
    },
    Endpoint {
        method: "GET",
        path: "/api/v1/sessions/{id}",
        summary: "The answers saved so far, to resume a session",
        auth: Access::OwnSession,
        query: &[],
        route: || web::get().to(sessions::get),
    },
    Endpoint {
        method: "PUT",
        path: "/api/v1/sessions/{id}/answers",
        summary: "Save partial answers (merged with those saved before)",
        auth: Access::OwnSession,
        query: &[],
        route: || web::put().to(sessions::save),
    },
    Endpoint {
        method: "POST",
        path: "/api/v1/sessions/{id}/submit",
        summary: "Submit the session once (idempotent by submission_id)",
        auth: Access::OwnSession,
        query: &[],
        route: || web::post().to(sessions::submit),
    },
    Endpoint {
        method: "POST",
        path: "/api/v1/rounds/{round}/batches",
        summary: "Check (dry_run=true) or commit a provincial batch (CSV, or a spreadsheet: .xlsx, .xls, .ods): respondent_id, every item, the six demographics; optional mode, and the design columns stratum, psu, weight (given on every row when present). A commit with no row to store is refused (422, the check's report beside the error) and creates no batch",
        auth: Access::Staff(&[Role::Uploader]),
        query: &[
            ("dry_run", "true: check only (200); false: commit (201)"),
            ("file_name", "the file's name, kept with the batch"),
            (
                "encoding",
                "auto (default: a byte-order mark, else UTF-8, else GB18030), utf-8, utf-16le, utf-16be, gb18030 (gbk); bytes that are not text in it are refused with their line",
            ),
            (
                "sheet",
                "a spreadsheet's sheet (.xlsx, .xls, .ods bodies; default the first)",
            ),
        ],
        route: || web::post().to(batches::upload),
    },
    Endpoint {
        method: "GET",
        path: "/api/v1/batches/{id}",
        summary: "The report of a committed batch",
        auth: Access::Staff(&[Role::Uploader, Role::Statistician, Role::Admin]),
        query: &[],
        route: || web::get().to(batches::get),
    },
    Endpoint {
        method: "GET",
        path: "/api/v1/rounds/{round}/estimates",
        summary: "Weighted estimates of the qualified share by domain (JSON or CSV)",
        auth: Access::Staff(&[Role::Statistician, Role::Admin]),
        query: &[
            (
                "by",
                "comma-separated: province, region, urban_rural, sex, age_group, education, occupation, mode",
            ),
            ("variance", "taylor (default), jkn or bootstrap"),
            ("ci", "logit (default), beta, wilson or wald"),
            ("level", "confidence level, default 0.95"),
            (
                "format",
                "json (default) or csv; Accept: text/csv also gives CSV",
            ),
        ],
        route: || web::get().to(estimates::estimates),
    },
    Endpoint {
        method: "GET",
        path: "/api/v1/rounds/{round}/progress",
        summary: "National and provincial estimates against the targets",
        auth: Access::Staff(&[Role::Statistician, Role::Admin]),
        query: &[],
        route: || web::get().to(estimates::progress),
    },
    Endpoint {
        method: "GET",
        path: "/api/v1/rounds/{round}/export",
        summary: "Microdata with final weights, streamed as CSV",
        auth: Access::Staff(&[Role::Statistician, Role::Admin]),
        query: &[(
            "replicates",
            "jkn or bootstrap: add re-raked replicate weights rep_1..rep_R",
        )],
        route: || web::get().to(export::export),
    },
    Endpoint {
        method: "GET",
        path: "/api/v1/rounds/{round}/codebook",
        summary: "Every export column and code, in Chinese and English",
        auth: Access::Staff(&[Role::Statistician, Role::Admin]),
        query: &[],
        route: || web::get().to(export::codebook),
    },
    Endpoint {
        method: "GET",
        path: "/healthz",
        summary: "Health: the database answers",
        auth: Access::Public,
        query: &[],
        route: || web::get().to(ops::healthz),
    },
    Endpoint {
        method: "GET",
        path: "/metrics",
        summary: "Prometheus metrics of this replica",
        auth: Access::Public,
        query: &[],
        route: || web::get().to(ops::metrics),
    },
    Endpoint {
        method: "GET",
        path: "/api/openapi.json",
        summary: "This API's OpenAPI document",
        auth: Access::Public,
        query: &[],
        route: || web::get().to(ops::openapi),
    },
];

/// Registers every endpoint; another method on a known path is a 405.
///
/// The respondents' session routes go first, busiest first (a respondent
/// saves every page and submits once): they carry nearly all the traffic,
/// and the router tries patterns in registration order (each pattern with a
/// parameter is a regular-expression match, about 2% of a submit's CPU
/// each when tried before the right one).
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    for e in in_router_order() {
        let access = e.auth;
        cfg.service(
            web::resource(e.path)
                .route((e.route)())
                .default_service(web::to(method_not_allowed))
                .wrap(actix_web::middleware::from_fn(move |req, next| {
                    enforce(access, req, next)
                })),
        );
    }
}

/// Lets a request reach its handler only as the endpoint's [`Access`] says;
/// a refusal is answered here as the error response (so the request log and
/// the metrics see it like any other).
async fn enforce<B: actix_web::body::MessageBody>(
    access: Access,
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::EitherBody<B>>, actix_web::Error> {
    match access.check(req.request()) {
        Ok(()) => next
            .call(req)
            .await
            .map(actix_web::dev::ServiceResponse::map_into_left_body),
        Err(e) => Ok(req.error_response(e).map_into_right_body()),
    }
}

/// The endpoints in the order they are registered (see [`configure`]).
fn in_router_order() -> impl Iterator<Item = &'static Endpoint> {
    const BUSIEST: [&str; 3] = [
        "/api/v1/sessions/{id}/answers",
        "/api/v1/sessions/{id}/submit",
        "/api/v1/sessions/{id}",
    ];
    let busiest = BUSIEST
        .into_iter()
        .flat_map(|path| ENDPOINTS.iter().filter(move |e| e.path == path));
    busiest.chain(ENDPOINTS.iter().filter(|e| !BUSIEST.contains(&e.path)))
}

/// The route pattern of an API path (`/api/v1/sessions/{id}/submit` for
/// `/api/v1/sessions/ab12/submit`), found by comparing path segments in the
/// router's order, for the metrics' `route` label. The router's own answer
/// (`HttpRequest::match_pattern`) runs the route regexes again: about 8% of
/// the server's CPU per submit. `None` for a path outside the API table (the
/// pages), whose pattern the caller asks the router for.
pub(crate) fn pattern_of(path: &str) -> Option<&'static str> {
    in_router_order()
        .map(|e| e.path)
        .find(|pattern| segments_match(pattern, path))
}

/// Whether `path` has `pattern`'s segments: literal ones equal, `{name}`
/// ones non-empty (what the router's `[^/]+` matches).
fn segments_match(pattern: &str, path: &str) -> bool {
    let mut wanted = pattern.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') => {
                if g.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// A 405 naming the path's methods, in the message and in `Allow`.
async fn method_not_allowed(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    let allowed: Vec<&str> = ENDPOINTS
        .iter()
        .filter(|e| req.match_pattern().as_deref() == Some(e.path))
        .map(|e| e.method)
        .collect();
    let allowed = allowed.join(", ");
    let error = crate::error::ApiError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not allowed here; allowed: {allowed}",
            crate::request_log::method_label(req.method())
        ),
    );
    let mut response = error.error_response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allowed) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use actix_web::dev::ResourceDef;

    use super::{ENDPOINTS, in_router_order, pattern_of};

    #[test]
    fn every_endpoint_is_registered_once_busiest_first() {
        let key = |e: &super::Endpoint| (e.method, e.path);
        let mut order: Vec<_> = in_router_order().map(key).collect();
        assert_eq!(
            order[..2],
            [
                ("PUT", "/api/v1/sessions/{id}/answers"),
                ("POST", "/api/v1/sessions/{id}/submit")
            ]
        );
        let mut all: Vec<_> = ENDPOINTS.iter().map(key).collect();
        order.sort_unstable();
        all.sort_unstable();
        assert_eq!(order, all);
    }

    /// The router's answer: the first registered pattern whose regex matches.
    fn router_pattern(path: &str) -> Option<&'static str> {
        in_router_order()
            .map(|e| e.path)
            .find(|p| ResourceDef::new(*p).is_match(path))
    }

    #[test]
    fn pattern_of_agrees_with_the_router() {
        let mut paths: Vec<String> = in_router_order()
            .map(|e| e.path.replace("{id}", "a1b2-c3").replace("{round}", "2026"))
            .collect();
        paths.extend(
            [
                "/api/v1/sessions//submit",
                "/api/v1/sessions/a/submit/extra",
                "/api/v1/sessions/a/",
                "/api/v1/rounds/2026",
                "/survey/2026",
                "/",
                "",
                "/healthz/",
            ]
            .map(str::to_owned),
        );
        for path in &paths {
            assert_eq!(pattern_of(path), router_pattern(path), "{path}");
        }
        assert_eq!(
            pattern_of("/api/v1/sessions/5d1c/submit"),
            Some("/api/v1/sessions/{id}/submit")
        );
    }
}
