//! Every request observed once: a request id (the client's `X-Request-Id`
//! when it is a plain token, else a new one, echoed in the response), a
//! span carrying it around the handler, the Prometheus counters, and one
//! log line (method, matched route, status, latency, request id).
//!
//! Only the route pattern is logged, never the path, query, headers or
//! body: no session id, invite code, token, password or answer reaches
//! the log.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::web;
use tracing::Instrument as _;

use crate::state::AppState;

/// The header carrying the request id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The log target of the request lines (`RUST_LOG=literacy::request=off`
/// silences them alone).
pub const TARGET: &str = "literacy::request";

/// Observes one request through `srv`: the middleware the application wraps
/// every request in.
pub(crate) fn observe<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let start = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let span = tracing::info_span!("request", request_id = %id);
    let fut = srv.call(req).instrument(span);
    async move {
        let mut res = fut.await?;
        let request = res.request();
        let route = match crate::routes::pattern_of(request.path()) {
            Some(api) => std::borrow::Cow::Borrowed(api),
            None => request.match_pattern().map_or(
                std::borrow::Cow::Borrowed("unmatched"),
                std::borrow::Cow::Owned,
            ),
        };
        let status = res.status().as_u16();
        let elapsed = start.elapsed();
        if let Some(metrics) = metrics {
            metrics.observe(method_label(&method), &route, status, elapsed);
        }
        tracing::info!(
            target: TARGET,
            method = %method_label(&method),
            route = %route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            request_id = %id,
            "request"
        );
        if let Ok(value) = HeaderValue::from_str(&id) {
            res.headers_mut().insert(REQUEST_ID, value);
        }
        Ok(res)
    }
}

/// The client's request id when it is 1 to 64 characters of letters,
/// digits, `-`, `_` and `.` (so it cannot forge log lines); else a new one:
/// a random prefix per process and a counter, unique across replicas.
fn request_id(req: &ServiceRequest) -> String {
    let given = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    if let Some(id) = given {
        return id.to_owned();
    }
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| crate::pages::random_hex(4));
    format!("{prefix}-{:x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The method as the metrics and the log name it: one of the standard
/// methods, else `other` (a made-up method must not grow the label set).
pub(crate) fn method_label(method: &actix_web::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::{REQUEST_ID, request_id};

    #[test]
    fn plain_client_ids_are_kept_and_others_replaced() {
        let with = |id: &str| {
            request_id(
                &TestRequest::default()
                    .insert_header((REQUEST_ID, id))
                    .to_srv_request(),
            )
        };
        assert_eq!(with("abc-123_x.y"), "abc-123_x.y");
        for forged in ["a b", "x\"y", "", &"z".repeat(65)] {
            let id = with(forged);
            assert_ne!(id, forged);
            assert!(id.len() <= 64 && id.contains('-'), "{id}");
        }
        let a = request_id(&TestRequest::default().to_srv_request());
        let b = request_id(&TestRequest::default().to_srv_request());
        assert_ne!(a, b, "new ids differ");
    }
}
