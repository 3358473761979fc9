//! Microdata export (streamed CSV with final weights) and its codebook.

use actix_web::{HttpResponse, web};
use literacy_core::demographics::{self, Demographic};
use literacy_core::text::Text;
use literacy_core::{Instrument, Item, ItemKind, round};
use literacy_store::audit::{self, NewAuditEvent};
use serde_json::{Value, json};

use super::admin::actor;
use crate::app::estimates::{RoundData, load_round, round_error};
use crate::auth::Staff;
use crate::error::ApiError;
use crate::state::{State, blocking, db, round_by_code, store_error};

/// Most replicate weights an export holds in memory (rows x replicates).
const MAX_REPLICATE_CELLS: usize = 20_000_000;

/// Query of the export.
#[derive(serde::Deserialize)]
pub(crate) struct ExportParams {
    /// `jkn` or `bootstrap`: add re-raked replicate weights `rep_1..rep_R`.
    #[serde(default)]
    replicates: Option<String>,
}

/// Replicate weights by respondent row, for the export.
struct Reps {
    weights: round::ReplicateWeights,
    /// Position of each respondent row in `weights.rows`.
    position: Vec<Option<usize>>,
}

/// Rows written per streamed chunk.
const ROWS_PER_CHUNK: usize = 2_000;

/// Columns before the items.
const LEADING: [&str; 12] = [
    "response_id",
    "respondent_id",
    "province",
    "urban_rural",
    "sex",
    "birth_year",
    "education",
    "occupation",
    "mode",
    "stratum",
    "psu",
    "design_weight",
];
/// Columns after the items.
const TRAILING: [&str; 3] = ["total_score", "qualified", "final_weight"];

fn header(instrument: &Instrument, replicates: usize) -> Vec<String> {
    LEADING
        .iter()
        .map(|s| (*s).to_owned())
        .chain(instrument.items.iter().map(|i| i.id.clone()))
        .chain(TRAILING.iter().map(|s| (*s).to_owned()))
        .chain((1..=replicates).map(|r| format!("rep_{r}")))
        .collect()
}

fn num(x: Option<f64>) -> String {
    x.map_or_else(String::new, |v| format!("{v}"))
}

/// Rows `start..end` of the export as CSV text.
fn chunk(
    data: &RoundData,
    weights: &round::RoundWeights,
    reps: Option<&Reps>,
    start: usize,
    end: usize,
    with_header: bool,
) -> Result<web::Bytes, std::io::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let n_reps = reps.map_or(0, |r| r.weights.weights.len());
    if with_header {
        w.write_record(header(&data.instrument, n_reps))?;
    }
    let n_items = data.instrument.items.len();
    for i in start..end {
        let r = &data.respondents[i];
        let mut row: Vec<String> = Vec::with_capacity(LEADING.len() + n_items + TRAILING.len());
        row.push(data.loaded.response_ids[i].to_string());
        row.push(data.loaded.respondent_ids[i].clone());
        for v in [
            r.province,
            r.urban_rural,
            r.sex,
            r.birth_year,
            r.education,
            r.occupation,
        ] {
            row.push(v.to_string());
        }
        row.push(r.mode.clone());
        row.push(r.stratum.clone().unwrap_or_default());
        row.push(r.psu.clone().unwrap_or_default());
        row.push(num(Some(r.weight.unwrap_or(1.0))));
        for (j, item) in data.instrument.items.iter().enumerate() {
            row.push(item.decode(data.loaded.matrix.get(i, j)));
        }
        row.push(num(weights.total[i]));
        row.push(weights.qualified[i].map_or_else(String::new, |q| u8::from(q).to_string()));
        row.push(num(weights.weight[i]));
        if let Some(reps) = reps {
            match reps.position[i] {
                Some(k) => row.extend(reps.weights.weights.iter().map(|w| num(Some(w[k])))),
                None => row.extend(std::iter::repeat_n(String::new(), n_reps)),
            }
        }
        crate::csv_cell::write_row(&mut w, &row)?;
    }
    w.into_inner()
        .map(web::Bytes::from)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// `GET /api/v1/rounds/{round}/export` (statistician, admin): one row per
/// response with its answers, score, qualified flag and final (raked)
/// weight, streamed in chunks; with `?replicates=jkn|bootstrap`, also the
/// replicate weights (each re-raked), their scales in the
/// `X-Replicate-Scale` and `X-Replicate-Rscales` headers. Audited.
pub(crate) async fn export(
    state: State,
    staff: Staff,
    path: web::Path<String>,
    params: web::Query<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    let choice = params
        .replicates
        .as_deref()
        .map(round::VarianceChoice::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("replicates: {e}")))?;
    if choice == Some(round::VarianceChoice::Taylor) {
        return Err(ApiError::bad_request(
            "replicates: expected jkn or bootstrap",
        ));
    }
    let who = staff.0.sub.clone();
    let code = path.into_inner();
    let data = db(&state, move |s, conn| {
        let round = round_by_code(conn, &code)?;
        let data = load_round(s, conn, round)?;
        let actor = actor(conn, &who)?;
        let target = format!("round:{}", data.round.id);
        audit::record(
            conn,
            &NewAuditEvent {
                actor: Some(&actor),
                action: "round.export",
                target: Some(&target),
                detail: Some(json!({"rows": data.respondents.len(), "data_version": data.round.data_version})),
            },
        )
        .map_err(store_error)?;
        Ok(data)
    })
    .await?;
    let (data, weights, reps) = blocking(&state, move |_| {
        if data.respondents.is_empty() {
            // Nothing stored yet: the header alone.
            let none = round::RoundWeights {
                total: Vec::new(),
                qualified: Vec::new(),
                weight: Vec::new(),
                weighting: Vec::new(),
            };
            return Ok((data, none, None));
        }
        let weights = round::final_weights(
            &data.instrument,
            &data.loaded.matrix,
            &data.respondents,
            &data.margins,
        )
        .map_err(round_error)?;
        let reps = match choice {
            None => None,
            Some(choice) => {
                let weights = round::replicate_weights(
                    &data.instrument,
                    &data.loaded.matrix,
                    &data.respondents,
                    &data.margins,
                    choice,
                    MAX_REPLICATE_CELLS,
                )
                .map_err(round_error)?;
                let mut position = vec![None; data.respondents.len()];
                for (k, &row) in weights.rows.iter().enumerate() {
                    position[row] = Some(k);
                }
                Some(Reps { weights, position })
            }
        };
        Ok((data, weights, reps))
    })
    .await?;
    let n = data.respondents.len();
    let file = format!("attachment; filename=\"round-{}.csv\"", data.round.code);
    let starts: Vec<usize> = if n == 0 {
        vec![0]
    } else {
        (0..n).step_by(ROWS_PER_CHUNK).collect()
    };
    let mut response = HttpResponse::Ok();
    response
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", file));
    if let Some(reps) = &reps {
        let rscales: Vec<String> = reps
            .weights
            .rscales
            .iter()
            .map(|r| format!("{r}"))
            .collect();
        response
            .insert_header((
                "X-Replicate-Method",
                params.replicates.clone().unwrap_or_default(),
            ))
            .insert_header(("X-Replicate-Scale", format!("{}", reps.weights.scale)))
            .insert_header(("X-Replicate-Rscales", rscales.join(",")));
    }
    let body = futures_util::stream::iter(starts.into_iter().map(move |start| {
        let end = (start + ROWS_PER_CHUNK).min(n);
        chunk(&data, &weights, reps.as_ref(), start, end, start == 0)
    }));
    Ok(response.streaming(body))
}

fn codes(pairs: impl IntoIterator<Item = (String, Text)>) -> Vec<Value> {
    pairs
        .into_iter()
        .map(|(code, label)| json!({"code": code, "label": label}))
        .collect()
}

fn column(name: &str, zh: &str, en: &str, kind: &str, codes: Vec<Value>) -> Value {
    json!({"name": name, "label": Text::zh_en(zh, en), "type": kind, "codes": codes})
}

/// The codebook of a round's export: the columns of [`header`], in order,
/// then how to use the replicate weights.
fn codebook_of(instrument: &Instrument, round_code: &str) -> Value {
    let mut columns = leading_columns(instrument);
    columns.extend(instrument.items.iter().map(item_column));
    columns.extend(trailing_columns());
    json!({
        "round": round_code,
        "instrument": {"id": instrument.id, "version": instrument.version, "title": instrument.title},
        "columns": columns,
        "replicate_weights": replicate_weights_note(),
    })
}

/// The codebook's entries for [`LEADING`]: ids, demographics, mode and design.
fn leading_columns(instrument: &Instrument) -> Vec<Value> {
    let demo = |d: Demographic| codes(d.codes().into_iter().map(|(c, l)| (c.to_string(), l)));
    vec![
        column("response_id", "答卷编号", "response id", "integer", vec![]),
        column(
            "respondent_id",
            "受访者编号",
            "respondent id",
            "text",
            vec![],
        ),
        column(
            "province",
            "省份",
            "province (GB/T 2260)",
            "code",
            demo(Demographic::Province),
        ),
        column(
            "urban_rural",
            "城乡",
            "urban or rural",
            "code",
            demo(Demographic::UrbanRural),
        ),
        column("sex", "性别", "sex", "code", demo(Demographic::Sex)),
        column(
            "birth_year",
            "出生年份",
            &format!(
                "birth year (ages {}-{} in {})",
                demographics::MIN_AGE,
                demographics::MAX_AGE,
                instrument.fieldwork_year
            ),
            "year",
            vec![],
        ),
        column(
            "education",
            "文化程度",
            "education",
            "code",
            demo(Demographic::Education),
        ),
        column(
            "occupation",
            "职业",
            "occupation",
            "code",
            demo(Demographic::Occupation),
        ),
        column(
            "mode",
            "调查方式",
            "collection mode",
            "code",
            codes([
                (
                    "online".to_owned(),
                    Text::zh_en("网络自填", "online self-completion"),
                ),
                (
                    "paper".to_owned(),
                    Text::zh_en("纸质问卷", "paper questionnaire"),
                ),
                (
                    "tablet".to_owned(),
                    Text::zh_en("平板面访", "face-to-face on a tablet"),
                ),
            ]),
        ),
        column(
            "stratum",
            "抽样层",
            "design stratum (empty: the province)",
            "text",
            vec![],
        ),
        column(
            "psu",
            "初级抽样单元",
            "primary sampling unit (empty: the respondent)",
            "text",
            vec![],
        ),
        column(
            "design_weight",
            "设计权数",
            "design (base) weight",
            "number",
            vec![],
        ),
    ]
}

/// The codebook's entry for an item's column.
fn item_column(item: &Item) -> Value {
    let (kind, item_codes, note) = item_codes(&item.kind);
    json!({
        "name": item.id,
        "label": item.text,
        "type": kind,
        "dimension": item.dimension,
        "codes": item_codes,
        "note": note,
        "missing": Text::zh_en("空白：未作答", "empty: not answered"),
    })
}

/// An item's column type, its codes and a note on reading it.
fn item_codes(kind: &ItemKind) -> (&'static str, Vec<Value>, Option<Text>) {
    let dk = Text::zh_en("不知道", "don't know");
    match kind {
        ItemKind::TrueFalse { .. } => (
            "code",
            codes([
                ("1".to_owned(), Text::zh_en("对", "true")),
                ("2".to_owned(), Text::zh_en("错", "false")),
                ("8".to_owned(), dk),
            ]),
            None,
        ),
        ItemKind::SingleChoice { options, .. } | ItemKind::Ordinal { options, .. } => (
            "code",
            codes(
                options
                    .iter()
                    .map(|o| (o.code.to_string(), o.label.clone())),
            ),
            None,
        ),
        ItemKind::MultipleSelect { options, .. } => (
            "codes",
            codes(
                options
                    .iter()
                    .map(|o| (o.code.to_string(), o.label.clone())),
            ),
            Some(Text::zh_en(
                "多选：选项代码以分号分隔",
                "several codes separated by ;",
            )),
        ),
        ItemKind::Numeric {
            range,
            dont_know_code,
            unit,
            ..
        } => (
            "integer",
            dont_know_code.map_or_else(Vec::new, |c| codes([(c.to_string(), dk)])),
            Some(Text::zh_en(
                &format!(
                    "{}至{}{}",
                    range.min,
                    range.max,
                    unit.as_ref().map_or("", |u| u.get("zh-CN"))
                ),
                &format!(
                    "{} to {} {}",
                    range.min,
                    range.max,
                    unit.as_ref().map_or("", |u| u.get("en"))
                ),
            )),
        ),
    }
}

/// The codebook's entries for [`TRAILING`]: score, qualified, final weight.
fn trailing_columns() -> Vec<Value> {
    vec![
        column(
            "total_score",
            "科学素质总分",
            "total score 0-100",
            "number",
            vec![],
        ),
        column(
            "qualified",
            "是否具备科学素质",
            "qualified under the instrument's rule",
            "code",
            codes([
                ("1".to_owned(), Text::zh_en("具备", "qualified")),
                ("0".to_owned(), Text::zh_en("不具备", "not qualified")),
            ]),
        ),
        column(
            "final_weight",
            "最终权数",
            "final weight (design weight raked to the round's population margins; empty when not classified)",
            "number",
            vec![],
        ),
    ]
}

/// How the optional replicate weight columns are named and used.
fn replicate_weights_note() -> Value {
    json!({
        "columns": "rep_1 .. rep_R (only with ?replicates=jkn or ?replicates=bootstrap)",
        "label": Text::zh_en(
            "重复权数：每个重复样本均重新进行迭代加权（raking）",
            "replicate weights, each replicate re-raked to the population margins",
        ),
        "variance": "scale * sum_r rscale_r (theta_r - mean_r theta_r)^2; scale and rscales in the X-Replicate-Scale and X-Replicate-Rscales response headers",
    })
}

/// `GET /api/v1/rounds/{round}/codebook` (statistician, admin).
pub(crate) async fn codebook(
    state: State,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let out = db(&state, move |s, conn| {
        let round = round_by_code(conn, &code)?;
        let instrument = s.instrument(conn, round.instrument_id)?;
        Ok(codebook_of(&instrument, &round.code))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}
