//! What every handler shares: the store, the token keys, and a cache of
//! parsed published instruments (immutable, so a per-replica cache is safe:
//! nothing another replica needs is kept here).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::web;
use literacy_core::Instrument;
use literacy_store::rounds::{self, Round};
use literacy_store::{DbConn, Store, StoreError, instruments};

use crate::auth::Tokens;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Shared state of the service.
pub(crate) struct AppState {
    pub store: Store,
    pub tokens: Tokens,
    pub metrics: Arc<Metrics>,
    instruments: Mutex<HashMap<i64, Arc<Instrument>>>,
}

impl AppState {
    pub fn new(store: Store, tokens: Tokens, metrics: Arc<Metrics>) -> Self {
        Self {
            store,
            tokens,
            metrics,
            instruments: Mutex::new(HashMap::new()),
        }
    }

    /// The parsed instrument version `id` (published versions never change).
    pub fn instrument(&self, conn: &mut DbConn, id: i64) -> Result<Arc<Instrument>, ApiError> {
        if let Some(found) = self
            .instruments
            .lock()
            .map_err(ApiError::internal)?
            .get(&id)
        {
            return Ok(found.clone());
        }
        let stored = instruments::get(conn, id)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::internal(format!("instrument {id} is missing")))?;
        let parsed = Instrument::from_json(&stored.name, &stored.definition)
            .map_err(|e| ApiError::internal(format!("stored instrument {id}: {e}")))?;
        let parsed = Arc::new(parsed);
        if stored.is_published() {
            self.instruments
                .lock()
                .map_err(ApiError::internal)?
                .insert(id, parsed.clone());
        }
        Ok(parsed)
    }
}

/// The shared state as handlers receive it.
pub(crate) type State = web::Data<AppState>;

/// Maps a store error to the API: an unreachable database is 503, anything
/// else 500 (logged, never sent).
pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        // Nothing was stored and a retry is safe (a group of submits that
        // could not be committed, an unreachable database).
        StoreError::Connect(_) | StoreError::Pool(_) | StoreError::GroupCommit(_) => {
            ApiError::unavailable(e)
        }
        other => ApiError::internal(other),
    }
}

/// Runs `f` on a pooled connection on the blocking pool, never on an actix worker.
pub(crate) async fn db<T, F>(state: &State, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&AppState, &mut DbConn) -> Result<T, ApiError> + Send + 'static,
{
    let state = state.clone();
    // The request's span goes with the work, so its log lines carry the request id.
    let span = tracing::Span::current();
    web::block(move || {
        let _span = span.enter();
        let mut conn = state.store.conn().map_err(store_error)?;
        f(&state, &mut conn)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Runs `f` on the blocking pool (CPU-heavy work off the actix workers).
pub(crate) async fn blocking<T, F>(state: &State, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
{
    let state = state.clone();
    let span = tracing::Span::current();
    web::block(move || {
        let _span = span.enter();
        f(&state)
    })
    .await
    .map_err(ApiError::internal)?
}

/// The round with this code, or 404.
pub(crate) fn round_by_code(conn: &mut DbConn, code: &str) -> Result<Round, ApiError> {
    rounds::by_code(conn, code)
        .map_err(|e| match e {
            rounds::RoundError::Store(e) => store_error(e),
            other => ApiError::internal(other),
        })?
        .ok_or_else(|| {
            let round = format!("{code:?}");
            ApiError::not_found(String::new()).with_text("error.no_round", &[("round", &round)])
        })
}

/// The current time in seconds since the epoch.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;
    use literacy_store::StoreError;

    use super::store_error;

    #[test]
    fn a_failure_that_stored_nothing_is_unavailable_not_internal() {
        let group = store_error(StoreError::GroupCommit("disk I/O error".into()));
        assert_eq!(group.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let pool = store_error(StoreError::Pool("timed out".into()));
        assert_eq!(pool.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let corrupt = store_error(StoreError::Corrupt("role".into()));
        assert_eq!(corrupt.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
