//! A stored round's estimates, as the JSON API and the dashboard both
//! get them: its responses loaded for the core, estimated, and kept in the
//! estimate cache under the round's data version.

use std::sync::Arc;

use literacy_core::Instrument;
use literacy_core::round::{self, PopulationMargins, Query, Respondent, RoundEstimateError};
use literacy_store::load::{self, LoadError, LoadedRound};
use literacy_store::rounds::Round;
use literacy_store::{DbConn, cache};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::state::{AppState, State, blocking, db, round_by_code, store_error};

/// The estimate cache's key prefix, with the version of the result's JSON
/// (v2: `warnings` added), so a cached result of an older shape is never
/// served.
pub(crate) const CACHE_KEY: &str = "estimates/v2";
/// One number or code of a demographics object (stored as text or number).
fn field<'a>(demo: &'a Map<String, Value>, key: &str) -> Option<std::borrow::Cow<'a, str>> {
    match demo.get(key)? {
        Value::String(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// The estimation columns of stored response `i`.
pub(crate) fn respondent(loaded: &LoadedRound, i: usize) -> Result<Respondent, ApiError> {
    let id = loaded.response_ids[i];
    let demo: Map<String, Value> = serde_json::from_str(&loaded.demographics[i])
        .map_err(|e| ApiError::internal(format!("response {id}: demographics: {e}")))?;
    let code = |key: &str| -> Result<u16, ApiError> {
        field(&demo, key)
            .and_then(|v| v.trim().parse::<u16>().ok())
            .ok_or_else(|| {
                ApiError::unprocessable(String::new())
                    .with_text("error.no_valid_code", &[("id", &id), ("key", &key)])
            })
    };
    let weight = match field(&demo, "weight") {
        None => None,
        Some(w) => Some(w.trim().parse::<f64>().map_err(|_| {
            let weight = format!("{w:?}");
            ApiError::unprocessable(String::new()).with_text(
                "error.weight_not_number",
                &[("id", &id), ("weight", &weight)],
            )
        })?),
    };
    Ok(Respondent {
        province: u16::try_from(loaded.provinces[i])
            .map_err(|_| ApiError::internal(format!("response {id}: province")))?,
        urban_rural: code("urban_rural")?,
        sex: code("sex")?,
        birth_year: code("birth_year")?,
        education: code("education")?,
        occupation: code("occupation")?,
        mode: loaded.modes[i].name().to_owned(),
        stratum: field(&demo, "stratum").map(|s| s.into_owned()),
        psu: field(&demo, "psu").map(|s| s.into_owned()),
        weight,
    })
}

/// A round's data, loaded for the core.
pub(crate) struct RoundData {
    pub round: Round,
    pub instrument: Arc<Instrument>,
    pub loaded: LoadedRound,
    pub respondents: Vec<Respondent>,
    pub margins: PopulationMargins,
}

/// Loads every response of a round, with its margins.
pub(crate) fn load_round(
    state: &AppState,
    conn: &mut DbConn,
    round: Round,
) -> Result<RoundData, ApiError> {
    let instrument = state.instrument(conn, round.instrument_id)?;
    let loaded = load::response_matrix(conn, round.id, &instrument).map_err(|e| match e {
        LoadError::Store(e) => store_error(e),
        other => ApiError::internal(other),
    })?;
    let respondents = (0..loaded.response_ids.len())
        .map(|i| respondent(&loaded, i))
        .collect::<Result<Vec<_>, _>>()?;
    let margins: PopulationMargins = if round.margins.trim().is_empty() {
        PopulationMargins::new()
    } else {
        serde_json::from_str(&round.margins).map_err(|e| {
            ApiError::unprocessable(String::new())
                .with_text("error.margins_invalid", &[("detail", &e)])
        })?
    };
    Ok(RoundData {
        round,
        instrument,
        loaded,
        respondents,
        margins,
    })
}

/// Maps a core estimation error to the API.
pub(crate) fn round_error(e: RoundEstimateError) -> ApiError {
    match e {
        RoundEstimateError::UnknownVariable(_) | RoundEstimateError::Query(_) => {
            ApiError::bad_request(e.to_string())
        }
        other => ApiError::unprocessable(String::new())
            .with_text("error.not_estimable", &[("detail", &other)]),
    }
}

/// The estimates of `query` as JSON text, from the cache when the round's
/// data have not changed since they were computed; the flag says whether
/// they came from the cache.
pub(crate) async fn cached_estimates(
    state: &State,
    code: String,
    query: Query,
    key: String,
) -> Result<(String, bool), ApiError> {
    let key2 = key.clone();
    let first = db(state, move |s, conn| {
        let round = round_by_code(conn, &code)?;
        if let Some(hit) = cache::get(conn, round.id, &key2).map_err(store_error)? {
            return Ok(Err(hit.result));
        }
        // The version is read before the data: an estimate stored under it
        // is never served if the data changed meanwhile.
        let version = cache::data_version(conn, round.id)
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("no such round"))?;
        Ok(Ok((version, load_round(s, conn, round)?)))
    })
    .await?;
    let (version, data) = match first {
        Err(hit) => return Ok((hit, true)),
        Ok(found) => found,
    };
    let round_id = data.round.id;
    let text = blocking(state, move |_| {
        let est = round::estimate_round(
            &data.instrument,
            &data.loaded.matrix,
            &data.respondents,
            &data.margins,
            &query,
        )
        .map_err(round_error)?;
        serde_json::to_string(&est).map_err(ApiError::internal)
    })
    .await?;
    let stored = text.clone();
    db(state, move |_, conn| {
        cache::put(conn, round_id, version, &key, &stored).map_err(store_error)
    })
    .await?;
    Ok((text, false))
}
