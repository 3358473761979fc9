//! Admin page of a round's population margins: the totals by variable and
//! category the weights are raked to, and their replacement from an
//! uploaded CSV file (`variable,category,total`), checked with every problem
//! listed (each line's codes and totals, then whether raking can meet the
//! file: every category of a variable given, every variable adding up to
//! the same population) and applied only when clean (the round's data
//! version is bumped, so cached estimates are recomputed; audited).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use literacy_core::demographics::Demographic;
use literacy_core::round::{PopulationMargins, Variable};
use literacy_store::rounds;
use serde_json::json;

use super::admin::{admin, record};
use super::dashboard::logout_form;
use super::upload::read_form;
use super::{Ctx, Lang, PageError, TABLE_END, esc, table_start};
use crate::auth::Claims;
use crate::error::ApiError;
use crate::state::{State, db, round_by_code};

/// Registers the margins page.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/rounds/{round}/margins", web::get().to(page))
        .route("/admin/rounds/{round}/margins", web::post().to(replace));
}

/// The categories of a variable with their zh/en labels; `None` when any
/// code is allowed (the collection mode).
fn categories(var: Variable) -> Option<Vec<(String, String, String)>> {
    let fixed = |d: Demographic| {
        d.codes()
            .into_iter()
            .map(|(c, t)| {
                (
                    c.to_string(),
                    t.get("zh-CN").to_owned(),
                    t.get("en").to_owned(),
                )
            })
            .collect()
    };
    match var {
        Variable::Province => Some(fixed(Demographic::Province)),
        Variable::Sex => Some(fixed(Demographic::Sex)),
        Variable::UrbanRural => Some(fixed(Demographic::UrbanRural)),
        Variable::Education => Some(fixed(Demographic::Education)),
        Variable::Occupation => Some(fixed(Demographic::Occupation)),
        Variable::AgeGroup => Some(
            ["18–29", "30–39", "40–49", "50–59", "60–69"]
                .iter()
                .zip(1..)
                .map(|(r, g): (&&str, u32)| (g.to_string(), format!("{r} 岁"), (*r).to_owned()))
                .collect(),
        ),
        Variable::Region => Some(
            [
                ("east", "东部", "East"),
                ("central", "中部", "Central"),
                ("west", "西部", "West"),
                ("northeast", "东北", "Northeast"),
            ]
            .iter()
            .map(|(c, zh, en)| ((*c).to_owned(), (*zh).to_owned(), (*en).to_owned()))
            .collect(),
        ),
        Variable::Mode => None,
    }
}

fn label(var: Variable, code: &str, lang: Lang) -> String {
    categories(var)
        .and_then(|cs| cs.into_iter().find(|(c, _, _)| c == code))
        .map_or_else(String::new, |(_, zh, en)| lang.t(&zh, &en).to_owned())
}

/// Reads a margins file: `variable,category,total` with a header line. Every
/// problem is listed (line numbers count the header as line 1).
pub(crate) fn parse_margins(bytes: &[u8], lang: Lang) -> Result<PopulationMargins, Vec<String>> {
    // The one tabular reader: any encoding or spreadsheet, physical lines.
    let unreadable =
        |e: literacy_table::TableError| vec![lang.t(&e.zh(), &e.to_string()).to_owned()];
    let mut reader =
        literacy_table::TableReader::from_bytes(bytes, &literacy_table::Options::default())
            .map_err(unreadable)?;
    let header = reader.header().map_err(unreadable)?;
    let mut problems = Vec::new();
    if header.names() != ["variable", "category", "total"] {
        problems.push(
            lang.t(
                "第 1 行应为表头 variable,category,total。",
                "Line 1 must be the header variable,category,total.",
            )
            .to_owned(),
        );
        return Err(problems);
    }
    let mut margins = PopulationMargins::new();
    let mut rows = 0usize;
    let mut record = literacy_table::Record::default();
    while reader.read(&mut record).map_err(unreadable)? {
        let n = record.line();
        rows += 1;
        if let Some(problem) = record.problem() {
            problems.push(match lang {
                Lang::Zh => format!("第 {n} 行：{}。", problem.zh()),
                Lang::En => format!("Line {n}: {problem}."),
            });
            continue;
        }
        let normal: Vec<String> = record
            .iter()
            .map(|f| literacy_core::text::normalize(f).trim().to_owned())
            .collect();
        let fields: Vec<&str> = normal.iter().map(String::as_str).collect();
        let (var, cat, total) = (fields[0], fields[1], fields[2]);
        let variable = Variable::parse(var).ok();
        if variable.is_none() {
            problems.push(match lang {
                Lang::Zh => format!("第 {n} 行：未知变量“{var}”。"),
                Lang::En => format!("Line {n}: unknown variable \"{var}\"."),
            });
        }
        let known = variable.is_some_and(|v| {
            !cat.is_empty() && categories(v).is_none_or(|cs| cs.iter().any(|(c, _, _)| c == cat))
        });
        if let (Some(_), false) = (variable, known) {
            problems.push(match lang {
                Lang::Zh => format!("第 {n} 行：变量 {var} 没有类别代码“{cat}”。"),
                Lang::En => format!("Line {n}: variable {var} has no category code \"{cat}\"."),
            });
        }
        let value = total.parse::<f64>().ok().filter(|t| t.is_finite());
        match value {
            None => problems.push(match lang {
                Lang::Zh => format!("第 {n} 行：总数“{total}”不是数字。"),
                Lang::En => format!("Line {n}: the total \"{total}\" is not a number."),
            }),
            Some(t) if t < 0.0 => problems.push(match lang {
                Lang::Zh => format!("第 {n} 行：总数 {total} 为负数。"),
                Lang::En => format!("Line {n}: the total {total} is negative."),
            }),
            Some(_) => {}
        }
        if let (Some(v), true, Some(t)) = (variable, known, value.filter(|t| *t >= 0.0)) {
            let cats = margins.entry(v).or_default();
            if cats.insert(cat.to_owned(), t).is_some() {
                problems.push(match lang {
                    Lang::Zh => format!("第 {n} 行：{var} 的类别 {cat} 重复。"),
                    Lang::En => format!("Line {n}: {var} category {cat} is given twice."),
                });
            }
        }
    }
    if rows == 0 && problems.is_empty() {
        problems.push(
            lang.t("文件中没有任何边际。", "The file has no margins.")
                .to_owned(),
        );
    }
    if problems.is_empty() {
        problems.extend(rakeable(&margins, lang));
    }
    if problems.is_empty() {
        Ok(margins)
    } else {
        Err(problems)
    }
}

/// What would stop the weights being raked to well-formed margins: a
/// variable without a total for each of its categories (its respondents
/// would have nothing to be raked to), or variables whose totals add up to
/// different populations (raking cannot meet both).
fn rakeable(margins: &PopulationMargins, lang: Lang) -> Vec<String> {
    let mut problems = Vec::new();
    for (&var, totals) in margins {
        let Some(cats) = categories(var) else {
            continue;
        };
        let missing: Vec<String> = cats
            .iter()
            .filter(|(c, _, _)| !totals.contains_key(c))
            .map(|(c, zh, en)| format!("{c} ({})", lang.t(zh, en)))
            .collect();
        if !missing.is_empty() {
            let list = missing.join(lang.t("、", ", "));
            problems.push(match lang {
                Lang::Zh => format!(
                    "变量 {} 缺少以下类别的总数（总体中没有的类别请填 0）：{list}。",
                    var.name()
                ),
                Lang::En => format!(
                    "Variable {} has no total for these categories (give 0 for one the population lacks): {list}.",
                    var.name()
                ),
            });
        }
    }
    let sums: Vec<(Variable, f64)> = margins
        .iter()
        .map(|(&v, totals)| (v, totals.values().sum()))
        .collect();
    if let Some(&(first, first_total)) = sums.first() {
        for &(var, total) in &sums[1..] {
            if !literacy_core::weighting::rake::grand_totals_agree(first_total, total) {
                problems.push(match lang {
                    Lang::Zh => format!(
                        "变量 {} 的总数之和为 {first_total}，变量 {} 为 {total}：各变量应合计为同一总体。",
                        first.name(),
                        var.name()
                    ),
                    Lang::En => format!(
                        "The totals of {} add up to {first_total} and those of {} to {total}: every variable must add up to the same population.",
                        first.name(),
                        var.name()
                    ),
                });
            }
        }
    }
    problems
}

async fn render(
    ctx: &Ctx,
    state: &State,
    who: &Claims,
    code: &str,
    notice: Option<&str>,
    problems: &[String],
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = ctx.lang;
    let code2 = code.to_owned();
    let round = db(state, move |_, conn| round_by_code(conn, &code2))
        .await
        .map_err(|e| PageError::api(lang, e))?;
    let margins: PopulationMargins = serde_json::from_str(&round.margins).unwrap_or_default();
    let title = match lang {
        Lang::Zh => format!("总体边际：{code} 轮调查"),
        Lang::En => format!("Population margins: round {code}"),
    };
    let mut body = format!(
        r#"{}<p><a href="/admin">{}</a></p><h1>{}</h1>"#,
        logout_form(ctx, &who.sub),
        lang.t("返回系统管理", "Back to administration"),
        esc(&title)
    );
    if let Some(n) = notice {
        let _ = write!(body, r#"<p class="notice" role="status">{}</p>"#, esc(n));
    }
    if !problems.is_empty() {
        let _ = write!(
            body,
            r#"<div class="errors" role="alert" id="margins-errors"><p>{}</p><ul>"#,
            lang.t(
                "文件有以下问题，边际未作更改：",
                "The file has these problems; the margins were not changed:"
            )
        );
        for p in problems {
            let _ = write!(body, "<li>{}</li>", esc(p));
        }
        body.push_str("</ul></div>");
    }
    let _ = write!(
        body,
        r#"<section class="card" aria-labelledby="h-margins"><h2 id="h-margins">{h}</h2>
{table}"#,
        h = lang.t("当前边际", "Current margins"),
        table = table_start(
            "cap-margins",
            Some(&match lang {
                Lang::Zh => format!("按变量和类别的总体人数（数据版本 {}）", round.data_version),
                Lang::En => format!(
                    "Population totals by variable and category (data version {})",
                    round.data_version
                ),
            }),
            None,
            &[
                lang.t("变量", "Variable"),
                lang.t("类别代码", "Category"),
                lang.t("名称", "Label"),
                lang.t("总体人数", "Population total"),
            ],
        ),
    );
    for (var, cats) in &margins {
        for (cat, total) in cats {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(var.name()),
                esc(cat),
                esc(&label(*var, cat, lang)),
                esc(&total.to_string()),
            );
        }
    }
    let _ = write!(
        body,
        r#"{TABLE_END}</section>
<section class="card" aria-labelledby="h-replace"><h2 id="h-replace">{h}</h2>
<p class="hint" id="margins-hint">{hint}</p>
<form method="post" action="/admin/rounds/{c}/margins" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="{csrf}">
<div class="field"><label for="margins-file">{file}</label><input type="file" id="margins-file" name="file" accept=".csv,text/csv" required aria-describedby="margins-hint"></div>
<button type="submit" class="primary">{go}</button></form></section>"#,
        h = lang.t("用 CSV 文件替换边际", "Replace the margins from a CSV file"),
        hint = lang.t(
            "表头为 variable,category,total，每行一个类别。检查无误后才会替换，并重新计算估计。",
            "Header variable,category,total, one category a line. Applied only when every line is valid; estimates are then recomputed."
        ),
        c = esc(code),
        csrf = ctx.csrf,
        file = lang.t("边际文件（CSV）", "Margins file (CSV)"),
        go = lang.t("检查并替换", "Check and replace"),
    );
    Ok(ctx.page(status, &title, &body))
}

/// `GET /admin/rounds/{round}/margins`.
async fn page(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let who = match admin(&req, &state, &ctx) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    let done = req.query_string().contains("done=margins");
    let notice = done.then(|| ctx.lang.t("边际已替换。", "The margins were replaced."));
    render(&ctx, &state, &who, &path, notice, &[], StatusCode::OK).await
}

/// `POST /admin/rounds/{round}/margins` (multipart: `csrf`, `file`).
async fn replace(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let who = match admin(&req, &state, &ctx) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    let form = read_form(&req, payload, lang).await?;
    ctx.check_csrf(form.field("csrf"))?;
    let code = path.into_inner();
    let bytes = form
        .file
        .as_ref()
        .map(|(_, b)| b.as_slice())
        .unwrap_or_default();
    let margins = match parse_margins(bytes, lang) {
        Ok(m) => m,
        Err(problems) => {
            return render(
                &ctx,
                &state,
                &who,
                &code,
                None,
                &problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let json =
        serde_json::to_string(&margins).map_err(|e| PageError::api(lang, ApiError::internal(e)))?;
    let admin_name = who.sub.clone();
    let code2 = code.clone();
    db(&state, move |_, conn| {
        let round = round_by_code(conn, &code2)?;
        rounds::set_margins(conn, round.id, &json).map_err(ApiError::internal)?;
        let totals: BTreeMap<&str, f64> = margins
            .iter()
            .map(|(v, cats)| (v.name(), cats.values().sum()))
            .collect();
        record(
            conn,
            &admin_name,
            "round.margins",
            &format!("round:{}", round.code),
            json!({"via": "pages", "totals": totals}),
        )
    })
    .await
    .map_err(|e| PageError::api(lang, e))?;
    Ok(ctx.redirect(&format!(
        "/admin/rounds/{}/margins?done=margins",
        super::url_encode(&code)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_listed() {
        let bad =
            "variable,category,total\nsex,1,100\nsex,3,5\nplanet,1,2\nsex,2,-1\nsex,2,x\nsex,1,7\n";
        let problems = parse_margins(bad.as_bytes(), Lang::En).unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:?}");
        let good = parse_margins(
            "\u{feff}variable,category,total\nsex,1,10\nsex,2,20\nurban_rural,1,12\nurban_rural,2,18\n"
                .as_bytes(),
            Lang::En,
        )
        .expect("clean");
        assert_eq!(good[&Variable::Sex]["2"], 20.0);
        // Read by the one reader: physical lines in a Windows file, full
        // width digits, and an unclosed quote refusing the file at its line.
        let crlf = "variable,category,total\r\nsex,1,１０\r\nsex,2,x\r\n";
        let problems = parse_margins(crlf.as_bytes(), Lang::En).unwrap_err();
        assert_eq!(problems, ["Line 3: the total \"x\" is not a number."]);
        let quoted = "variable,category,total\nsex,1,\"10\nsex,2,20\n";
        let problems = parse_margins(quoted.as_bytes(), Lang::Zh).unwrap_err();
        assert!(
            problems[0].starts_with("第 2 行：以引号开始的字段"),
            "{problems:?}"
        );
    }

    #[test]
    fn margins_that_cannot_be_raked_are_refused() {
        // Urban/rural adds up to 31, sex and education to 30; education
        // lacks levels 2 to 5.
        let text = "variable,category,total\nsex,1,10\nsex,2,20\nurban_rural,1,12\nurban_rural,2,19\neducation,1,30\n";
        let problems = parse_margins(text.as_bytes(), Lang::En).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("Variable education has no total for these categories")
                && problems[0].contains("2 (")
                && !problems[0].contains("1 ("),
            "{problems:?}"
        );
        assert!(problems[0].contains("5 (") && problems[0].ends_with("bachelor or above)."));
        assert_eq!(
            problems[1],
            "The totals of urban_rural add up to 31 and those of sex to 30: every variable must add up to the same population."
        );
        assert!(
            problems[2].contains("those of education to 30"),
            "{problems:?}"
        );
        // The same population to within 1e-9 relative is one population.
        let close = "variable,category,total\nsex,1,500000000\nsex,2,500000000\nurban_rural,1,400000000\nurban_rural,2,600000000.1\n";
        assert!(parse_margins(close.as_bytes(), Lang::En).is_ok());
        let zh = parse_margins(b"variable,category,total\nsex,1,10\n", Lang::Zh).unwrap_err();
        assert!(zh[0].contains("缺少") && zh[0].contains("2 (女)"), "{zh:?}");
    }
}
