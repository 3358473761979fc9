//! Estimates and progress. The arithmetic is the core's
//! (`literacy_core::round`); this module loads the round, runs the core off
//! the actix workers, and keeps the result in the store's estimate cache,
//! keyed by the round's data version and the normalized query, so every
//! replica serves it until the round's data change.

use actix_web::http::header::ACCEPT;
use actix_web::{HttpRequest, HttpResponse, web};
use literacy_core::estimate::{Estimate, IntervalMethod};
use literacy_core::progress::{self, NationalSeries, Targets};
use literacy_core::round::{Query, Variable, VarianceChoice};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::estimates::{CACHE_KEY, cached_estimates};
use crate::error::ApiError;
use crate::state::{State, db, round_by_code};

/// The national targets, as data.
const TARGETS: &str = include_str!("../../../../surveys/targets.json");
/// The published national series (for projections).
const SERIES: &str = include_str!("../../../../surveys/national-series.json");

/// Query string of the estimates route.
#[derive(Deserialize)]
pub(crate) struct EstimateParams {
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    variance: Option<String>,
    #[serde(default)]
    ci: Option<String>,
    #[serde(default)]
    level: Option<f64>,
    #[serde(default)]
    format: Option<String>,
}

/// Parses the query; the second value is its normalized text (the cache key).
fn parse_query(p: &EstimateParams) -> Result<(Query, String), ApiError> {
    let by =
        p.by.as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Variable::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut seen = std::collections::HashSet::new();
    if let Some(v) = by.iter().find(|v| !seen.insert(**v)) {
        return Err(ApiError::bad_request(format!(
            "by: {} appears twice",
            v.name()
        )));
    }
    let variance = VarianceChoice::parse(p.variance.as_deref().unwrap_or("taylor"))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let interval: IntervalMethod =
        p.ci.as_deref()
            .unwrap_or("logit")
            .parse()
            .map_err(|e: String| ApiError::bad_request(format!("ci: {e}")))?;
    let level = p.level.unwrap_or(0.95);
    if !(level > 0.0 && level < 1.0) {
        return Err(ApiError::bad_request(
            "level must be strictly between 0 and 1",
        ));
    }
    let key = format!(
        "{CACHE_KEY}?by={}&variance={}&ci={}&level={}",
        by.iter().map(|v| v.name()).collect::<Vec<_>>().join(","),
        match variance {
            VarianceChoice::Taylor => "taylor",
            VarianceChoice::Jkn => "jkn",
            VarianceChoice::Bootstrap => "bootstrap",
        },
        interval,
        level
    );
    Ok((
        Query {
            by,
            variance,
            interval,
            level,
        },
        key,
    ))
}

/// Whether the client asked for CSV.
fn wants_csv(req: &HttpRequest, format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        Some("csv") => return Ok(true),
        Some("json") => return Ok(false),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format {other:?}: expected json or csv"
            )));
        }
        None => {}
    }
    Ok(req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv")))
}

/// The estimates of a JSON result as CSV (one row per domain).
fn to_csv(by: &[Variable], json: &Value) -> Result<String, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = by
        .iter()
        .map(|v| v.name())
        .chain(Estimate::CSV_FIELDS.iter().copied())
        .collect();
    w.write_record(&header).map_err(ApiError::internal)?;
    let text = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    };
    for e in json["estimates"].as_array().into_iter().flatten() {
        let row: Vec<String> = by
            .iter()
            .map(|v| text(&e["domain"][v.name()]))
            .chain(Estimate::CSV_FIELDS.iter().map(|f| text(&e[*f])))
            .collect();
        crate::csv_cell::write_row(&mut w, &row).map_err(ApiError::internal)?;
    }
    let bytes = w.into_inner().map_err(ApiError::internal)?;
    String::from_utf8(bytes).map_err(ApiError::internal)
}

/// `GET /api/v1/rounds/{round}/estimates` (statistician, admin).
pub(crate) async fn estimates(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    params: web::Query<EstimateParams>,
) -> Result<HttpResponse, ApiError> {
    let (query, key) = parse_query(&params)?;
    let csv = wants_csv(&req, params.format.as_deref())?;
    let by = query.by.clone();
    let (text, hit) = cached_estimates(&state, path.into_inner(), query, key).await?;
    let cache = if hit { "hit" } else { "miss" };
    if csv {
        let value: Value = serde_json::from_str(&text).map_err(ApiError::internal)?;
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("X-Cache", cache))
            .body(to_csv(&by, &value)?));
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("X-Cache", cache))
        .body(text))
}

/// `GET /api/v1/rounds/{round}/progress` (statistician, admin): the
/// national and provincial estimates (Taylor, logit, 95%) against every
/// plan's target due and next for the instrument's fieldwork year, and the
/// projected year each national target is reached.
pub(crate) async fn progress(
    state: State,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let targets = Targets::from_json("targets.json", TARGETS).map_err(ApiError::internal)?;
    let series =
        NationalSeries::from_json("national-series.json", SERIES).map_err(ApiError::internal)?;
    let mut results = Vec::new();
    for by in ["", "province"] {
        let params = EstimateParams {
            by: Some(by.to_owned()),
            variance: None,
            ci: None,
            level: None,
            format: None,
        };
        let (query, key) = parse_query(&params)?;
        let (text, _) = cached_estimates(&state, code.clone(), query, key).await?;
        results.push(serde_json::from_str::<Value>(&text).map_err(ApiError::internal)?);
    }
    let code2 = code.clone();
    let year = db(&state, move |s, conn| {
        let round = round_by_code(conn, &code2)?;
        Ok(s.instrument(conn, round.instrument_id)?.fieldwork_year)
    })
    .await?;
    let level = 0.95;
    let assess = |e: &Value| -> Value {
        let (est, se, df) = (
            e["estimate"].as_f64().unwrap_or(f64::NAN),
            e["se"].as_f64().unwrap_or(f64::NAN),
            e["df"].as_f64().unwrap_or(f64::NAN),
        );
        json!(targets.assess(year, est, se, df, level))
    };
    let national = results[0]["estimates"]
        .get(0)
        .cloned()
        .unwrap_or(Value::Null);
    let projections: Vec<Value> = match national["estimate"].as_f64() {
        Some(est) => targets
            .due(year)
            .into_iter()
            .chain(targets.next(year))
            .filter_map(|t| {
                progress::project_with(&series.pairs(), (f64::from(year), est), t.share).ok()
            })
            .map(|p| json!(p))
            .collect(),
        None => Vec::new(),
    };
    let provinces: Vec<Value> = results[1]["estimates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let code = e["domain"]["province"].as_str().unwrap_or("");
            let p = code
                .parse::<u16>()
                .ok()
                .and_then(literacy_core::demographics::province);
            json!({
                "province": code,
                "name": p.map(|p| json!({"zh-CN": p.name_zh, "en": p.name_en})),
                "estimate": e,
                "targets": assess(e),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "round": code,
        "year": year,
        "level": level,
        "national": {
            "estimate": national,
            "targets": assess(&national),
            "projections": projections,
        },
        "provinces": provinces,
    })))
}
