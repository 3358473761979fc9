//! Staff sign-in (a cookie holding the staff token) and the statisticians'
//! dashboard: the national share against the targets with its interval,
//! the trend across rounds (the published national series, every stored
//! round's estimate with its interval, and the targets), the province chart
//! and the breakdowns by sex, urban/rural, age group and education, each chart downloadable as SVG and its data as CSV.
//!
//! The numbers come from the same cached estimation the JSON API serves
//! (`app::estimates::cached_estimates`, Taylor variance, logit 95%
//! intervals), so the dashboard and the API never disagree.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::{self, Path};
use actix_web::{HttpResponse, ResponseError};
use literacy_core::demographics::Demographic;
use literacy_core::estimate::IntervalMethod;
use literacy_core::progress::{NationalSeries, Targets};
use literacy_core::round::{Query, Variable, VarianceChoice};
use literacy_store::rounds;
use serde_json::Value;

use askama::Template;

use super::sign_in::staff_page;
use super::{Ctx, Frame, Lang, PageError, PageResult, round_statuses};
use crate::app::estimates::cached_estimates;
use crate::auth::{Claims, Role};
use crate::charts::{self, Group, Labels, ShareRow, TargetLine, TrendPoint, TrendSource};
use crate::error::ApiError;
use crate::state::{State, db, round_by_code};

/// The national targets, as data (the same file the API reads).
const TARGETS: &str = include_str!("../../../../surveys/targets.json");

/// The published national series, as data (the same file the API reads).
const SERIES: &str = include_str!("../../../../surveys/national-series.json");

/// The charts of the dashboard, in page order.
const CHARTS: [&str; 4] = ["national", "trend", "province", "breakdown"];

/// Registers the dashboard.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(rounds_page))
        .route("/dashboard/{round}", web::get().to(dashboard))
        .route("/dashboard/{round}/{file}", web::get().to(download));
}

/// The statistician's (or admin's) claims, or a redirect to sign in.
fn statistician(ctx: &Ctx, state: &State) -> Result<Claims, HttpResponse> {
    staff_page(ctx, state, ctx.lang.msg("staff.only_statistician"), |c| {
        matches!(c.role, Role::Statistician | Role::Admin).then_some(c)
    })
}

/// The list of rounds.
#[derive(Template)]
#[template(path = "dashboard_rounds.html")]
struct RoundsPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    who: &'a str,
    /// Each round's code and status.
    rounds: Vec<(String, &'static str)>,
}

/// `GET /dashboard`: the rounds.
async fn rounds_page(ctx: Ctx, state: State) -> PageResult {
    let lang = ctx.lang;
    let who = admit!(statistician(&ctx, &state));
    let page = RoundsPage {
        lang,
        frame: ctx.frame(lang.msg("dashboard.title")),
        csrf: &ctx.csrf,
        who: &who.sub,
        rounds: round_statuses(&state, lang).await?,
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

/// What the dashboard shows of one round.
struct Data {
    year: i32,
    national: Option<ShareRow>,
    national_raw: Value,
    provinces: Vec<ShareRow>,
    groups: Vec<Group>,
    /// The published national series, then every estimable stored round.
    trend: Vec<TrendPoint>,
    /// The estimates' warnings about the data: (English, Chinese).
    warnings: Vec<(String, String)>,
}

fn query(by: Vec<Variable>) -> (Query, String) {
    // The same normalized key the JSON API uses, so both share the cache.
    let key = format!(
        "{}?by={}&variance=taylor&ci=logit&level=0.95",
        crate::app::estimates::CACHE_KEY,
        by.iter().map(|v| v.name()).collect::<Vec<_>>().join(",")
    );
    (
        Query {
            by,
            variance: VarianceChoice::Taylor,
            interval: IntervalMethod::Logit,
            level: 0.95,
        },
        key,
    )
}

fn share_row(e: &Value, key: &str, zh: &str, en: &str) -> ShareRow {
    let num = |k: &str| e[k].as_f64().unwrap_or(f64::NAN);
    ShareRow {
        key: key.to_owned(),
        label_zh: zh.to_owned(),
        label_en: en.to_owned(),
        estimate: num("estimate"),
        ci_low: num("ci_low"),
        ci_high: num("ci_high"),
        n: e["n"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0),
        suppressed: e["suppressed"].as_bool().unwrap_or(false),
    }
}

fn category_label(var: Variable, code: &str) -> (String, String) {
    let fixed = |d: Demographic| {
        d.codes()
            .into_iter()
            .find(|(c, _)| c.to_string() == code)
            .map(|(_, t)| (t.get("zh-CN").to_owned(), t.get("en").to_owned()))
    };
    let found = match var {
        Variable::Province => fixed(Demographic::Province),
        Variable::Sex => fixed(Demographic::Sex),
        Variable::UrbanRural => fixed(Demographic::UrbanRural),
        Variable::Education => fixed(Demographic::Education),
        Variable::AgeGroup => ["18–29", "30–39", "40–49", "50–59", "60–69"]
            .iter()
            .zip(1..)
            .find(|(_, g)| g.to_string() == code)
            .map(|(range, _)| (format!("{range} 岁"), (*range).to_owned())),
        _ => None,
    };
    found.unwrap_or_else(|| (code.to_owned(), code.to_owned()))
}

/// A breakdown variable's name in `lang`.
fn variable_name(var: Variable, lang: Lang) -> &'static str {
    match var {
        Variable::Sex => lang.msg("var.sex"),
        Variable::UrbanRural => lang.msg("var.urban_rural"),
        Variable::AgeGroup => lang.msg("var.age_group"),
        Variable::Education => lang.msg("var.education"),
        _ => "",
    }
}

async fn load(state: &State, code: &str) -> Result<Data, ApiError> {
    let estimates = |by: Vec<Variable>| {
        let (q, key) = query(by);
        let code = code.to_owned();
        async move {
            let (text, _) = cached_estimates(state, code, q, key).await?;
            serde_json::from_str::<Value>(&text).map_err(ApiError::internal)
        }
    };
    let national_all = estimates(vec![]).await?;
    let national_raw = national_all["estimates"]
        .get(0)
        .cloned()
        .unwrap_or(Value::Null);
    let text = |w: &Value, k: &str| w[k].as_str().unwrap_or_default().to_owned();
    let warnings = national_all["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| (text(w, "message"), text(w, "message_zh")))
        .collect();
    let national = (!national_raw.is_null()).then(|| {
        let (zh, en) = (Lang::Zh.msg("national"), Lang::En.msg("national"));
        share_row(&national_raw, "national", zh, en)
    });
    let mut provinces = Vec::new();
    for e in estimates(vec![Variable::Province]).await?["estimates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = e["domain"]["province"].as_str().unwrap_or_default();
        let (zh, en) = category_label(Variable::Province, key);
        provinces.push(share_row(e, key, &zh, &en));
    }
    let mut groups = Vec::new();
    for var in [
        Variable::Sex,
        Variable::UrbanRural,
        Variable::AgeGroup,
        Variable::Education,
    ] {
        let v = estimates(vec![var]).await?;
        let mut rows: Vec<ShareRow> = v["estimates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let key = e["domain"][var.name()].as_str().unwrap_or_default();
                let (zh, en) = category_label(var, key);
                share_row(e, key, &zh, &en)
            })
            .collect();
        rows.sort_by_key(|r| r.key.parse::<u32>().unwrap_or(u32::MAX));
        groups.push(Group {
            key: var.name().to_owned(),
            label_zh: variable_name(var, Lang::Zh).to_owned(),
            label_en: variable_name(var, Lang::En).to_owned(),
            rows,
        });
    }
    let code2 = code.to_owned();
    let year = db(state, move |s, conn| {
        let round = round_by_code(conn, &code2)?;
        Ok(s.instrument(conn, round.instrument_id)?.fieldwork_year)
    })
    .await?;
    let trend = trend_points(state, code, year, &national_raw).await?;
    Ok(Data {
        year,
        national,
        national_raw,
        provinces,
        groups,
        trend,
        warnings,
    })
}

fn series() -> Result<NationalSeries, ApiError> {
    NationalSeries::from_json("national-series.json", SERIES).map_err(ApiError::internal)
}

fn trend_point(year: i32, round: &str, e: &Value) -> TrendPoint {
    let num = |k: &str| e[k].as_f64().unwrap_or(f64::NAN);
    TrendPoint {
        year,
        source: TrendSource::Round(round.to_owned()),
        estimate: num("estimate"),
        ci_low: num("ci_low"),
        ci_high: num("ci_high"),
        n: e["n"].as_u64().and_then(|n| usize::try_from(n).ok()),
        suppressed: e["suppressed"].as_bool().unwrap_or(false),
    }
}

/// The trend: the published national shares (no intervals published), then
/// the national estimate of every stored round that can be estimated (the
/// current one always; the others skipped while they cannot), at its
/// instrument's fieldwork year.
async fn trend_points(
    state: &State,
    code: &str,
    year: i32,
    current: &Value,
) -> Result<Vec<TrendPoint>, ApiError> {
    let mut points: Vec<TrendPoint> = series()?
        .points
        .iter()
        .map(|p| TrendPoint {
            year: p.year,
            source: TrendSource::Published(p.source.clone()),
            estimate: p.share,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            n: None,
            suppressed: false,
        })
        .collect();
    let others = db(state, |s, conn| {
        let list = rounds::list(conn).map_err(ApiError::internal)?;
        let mut out = Vec::with_capacity(list.len());
        for r in list {
            let year = s.instrument(conn, r.instrument_id)?.fieldwork_year;
            out.push((r.code, year));
        }
        Ok(out)
    })
    .await?;
    let mut rounds_points = Vec::new();
    for (other, other_year) in others {
        if other == code {
            if !current.is_null() {
                rounds_points.push(trend_point(year, code, current));
            }
            continue;
        }
        let (q, key) = query(vec![]);
        // A round that cannot be estimated yet is left out of the trend.
        let Ok((text, _)) = cached_estimates(state, other.clone(), q, key).await else {
            continue;
        };
        let v = serde_json::from_str::<Value>(&text).map_err(ApiError::internal)?;
        if let Some(e) = v["estimates"].get(0) {
            rounds_points.push(trend_point(other_year, &other, e));
        }
    }
    rounds_points.sort_by_key(|p| p.year);
    points.extend(rounds_points);
    Ok(points)
}

fn targets() -> Result<Targets, ApiError> {
    Targets::from_json("targets.json", TARGETS).map_err(ApiError::internal)
}

fn target_lines(t: &Targets) -> Vec<TargetLine> {
    t.targets
        .iter()
        .map(|t| TargetLine::new(&t.plan, t.year, t.share))
        .collect()
}

/// The SVG of chart `name` (`national`, `trend`, `province`, `breakdown`).
fn chart_svg(name: &str, data: &Data, lines: &[TargetLine], lang: Lang) -> Option<String> {
    let labels = Labels::new(lang).with_ci_level(0.95);
    match name {
        "national" => data
            .national
            .as_ref()
            .map(|n| charts::national_chart(n, lines, &labels)),
        "trend" => Some(charts::trend_chart(
            &data.trend,
            lines,
            &labels.with_source(lang.msg("dashboard.trend_source")),
        )),
        "province" => Some(charts::province_chart(
            &data.provinces,
            data.national.as_ref(),
            lines,
            &labels,
        )),
        "breakdown" => Some(charts::breakdown_chart(
            &data.groups,
            data.national.as_ref(),
            lines,
            &labels,
        )),
        _ => None,
    }
}

fn chart_csv(name: &str, data: &Data) -> Option<String> {
    match name {
        "national" => Some(charts::shares_to_csv(data.national.as_slice())),
        "trend" => Some(charts::trend_to_csv(&data.trend)),
        "province" => Some(charts::shares_to_csv(&data.provinces)),
        "breakdown" => Some(charts::breakdown_to_csv(&data.groups)),
        _ => None,
    }
}

use crate::percent::percent as pct;

/// The page for a round that cannot be estimated yet.
#[derive(Template)]
#[template(path = "dashboard_not_estimable.html")]
struct NotEstimable<'a> {
    lang: Lang,
    frame: Frame,
    code: &'a str,
    /// The estimation's reason.
    why: String,
}

fn not_estimable(ctx: &Ctx, code: &str, e: &ApiError) -> HttpResponse {
    let page = NotEstimable {
        lang: ctx.lang,
        frame: ctx.frame(ctx.lang.msg("dashboard.title")),
        code,
        why: e.message_in(ctx.lang),
    };
    ctx.render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// A row of the targets table.
struct TargetRow {
    plan: String,
    year: i32,
    share: String,
    gap: String,
    p: String,
    verdict: &'static str,
}

/// A chart's place on the page: its section heading (the national chart
/// shares the national section) and its SVG.
struct ChartView {
    name: &'static str,
    heading: Option<&'static str>,
    svg: Option<String>,
}

/// A round's dashboard.
#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    who: &'a str,
    code: &'a str,
    /// The estimates' warnings in the page's language.
    warnings: Vec<String>,
    /// The national share, its interval and n, formatted.
    national: (String, String, String, u64),
    targets: Vec<TargetRow>,
    charts: Vec<ChartView>,
}

/// The national share against every plan's due and next targets.
fn target_rows(t: &Targets, data: &Data, lang: Lang) -> Vec<TargetRow> {
    let n = &data.national_raw;
    let f = |k: &str| n[k].as_f64().unwrap_or(f64::NAN);
    let mut rows = Vec::new();
    for plan in t.assess(data.year, f("estimate"), f("se"), f("df"), 0.95) {
        for a in plan.due.iter().chain(plan.next.iter()) {
            let verdict = if a.met_at_level {
                lang.msg("dashboard.verdict_met")
            } else if a.reached {
                lang.msg("dashboard.verdict_reached")
            } else {
                lang.msg("dashboard.verdict_not_met")
            };
            rows.push(TargetRow {
                plan: plan.plan.clone(),
                year: a.target.year,
                share: pct(a.target.share),
                gap: pct(a.gap),
                p: if a.p_value.is_finite() {
                    format!("{:.3}", a.p_value)
                } else {
                    "—".into()
                },
                verdict,
            });
        }
    }
    rows
}

fn chart_views(data: &Data, lines: &[TargetLine], lang: Lang) -> Vec<ChartView> {
    CHARTS
        .into_iter()
        .map(|name| ChartView {
            name,
            heading: match name {
                "national" => None,
                "trend" => Some(lang.msg("dashboard.trend")),
                "province" => Some(lang.msg("dashboard.province")),
                _ => Some(lang.msg("dashboard.breakdown")),
            },
            svg: chart_svg(name, data, lines, lang),
        })
        .collect()
}

/// `GET /dashboard/{round}`.
async fn dashboard(ctx: Ctx, state: State, path: Path<String>) -> PageResult {
    let lang = ctx.lang;
    let who = admit!(statistician(&ctx, &state));
    let code = path.into_inner();
    let data = match load(&state, &code).await {
        Ok(d) => d,
        Err(e) if e.status_code() == StatusCode::UNPROCESSABLE_ENTITY => {
            return Ok(not_estimable(&ctx, &code, &e));
        }
        Err(e) => return Err(PageError::api(lang, e)),
    };
    let t = targets().map_err(|e| PageError::api(lang, e))?;
    let lines = target_lines(&t);
    let n = &data.national_raw;
    let f = |k: &str| pct(n[k].as_f64().unwrap_or(f64::NAN));
    let page = DashboardPage {
        lang,
        frame: ctx.frame(&lang.msgf("dashboard.round_title", &[("round", &code)])),
        csrf: &ctx.csrf,
        who: &who.sub,
        code: &code,
        warnings: data
            .warnings
            .iter()
            .map(|(en, zh)| lang.t(zh, en).to_owned())
            .collect(),
        national: (
            f("estimate"),
            f("ci_low"),
            f("ci_high"),
            n["n"].as_u64().unwrap_or(0),
        ),
        targets: target_rows(&t, &data, lang),
        charts: chart_views(&data, &lines, lang),
    };
    let mut res = ctx.render(StatusCode::OK, &page);
    res.headers_mut().insert(
        CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

/// `GET /dashboard/{round}/{chart}.svg` and `.csv`.
async fn download(ctx: Ctx, state: State, path: Path<(String, String)>) -> PageResult {
    let lang = ctx.lang;
    admit!(statistician(&ctx, &state));
    let (code, file) = path.into_inner();
    let not_found = || PageError::new(StatusCode::NOT_FOUND, lang, lang.msg("dashboard.no_file"));
    let (name, ext) = file.rsplit_once('.').ok_or_else(not_found)?;
    if !CHARTS.contains(&name) || !["svg", "csv"].contains(&ext) {
        return Err(not_found());
    }
    let data = load(&state, &code)
        .await
        .map_err(|e| PageError::api(lang, e))?;
    let lines = target_lines(&targets().map_err(|e| PageError::api(lang, e))?);
    let (body, content_type) = if ext == "svg" {
        (
            chart_svg(name, &data, &lines, lang),
            "image/svg+xml; charset=utf-8",
        )
    } else {
        (chart_csv(name, &data), "text/csv; charset=utf-8")
    };
    let body = body.ok_or_else(not_found)?;
    let safe_code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CACHE_CONTROL, "private, no-store"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"literacy-{safe_code}-{name}.{ext}\""),
        ))
        .body(body))
}
