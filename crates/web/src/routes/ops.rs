//! Health, metrics and the OpenAPI document.

use actix_web::HttpResponse;
use serde_json::json;

use crate::error::ApiError;
use crate::state::{State, blocking, store_error};

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
pub(crate) async fn healthz(state: State) -> Result<HttpResponse, ApiError> {
    blocking(&state, |s| {
        s.store
            .ping()
            .map_err(|e| ApiError::unavailable(store_error(e)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ok", "database": "ok"})))
}

/// `GET /metrics`: Prometheus text.
pub(crate) async fn metrics(state: State) -> HttpResponse {
    let mut text = state.metrics.render();
    if let Some(counts) = state.store.group_commit_counts() {
        crate::metrics::render_group_commit(&mut text, counts);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}

/// `GET /api/openapi.json`.
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::document())
}
