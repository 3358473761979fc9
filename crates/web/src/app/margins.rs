//! A round's population margins from an administrator's file: read by the
//! one tabular reader, every code checked against its variable, and the
//! whole refused when raking could not meet it (a variable missing
//! categories, variables adding up to different populations). Messages in
//! the page's language.

use literacy_core::demographics::Demographic;
use literacy_core::round::{PopulationMargins, Variable};

use crate::lang::Lang;

/// The categories of a variable with their zh/en labels; `None` when any
/// code is allowed (the collection mode).
pub(crate) fn categories(var: Variable) -> Option<Vec<(String, String, String)>> {
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

pub(crate) fn label(var: Variable, code: &str, lang: Lang) -> String {
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
        problems.push(lang.msg("margins.header").to_owned());
        return Err(problems);
    }
    let mut margins = PopulationMargins::new();
    let mut rows = 0usize;
    let mut record = literacy_table::Record::default();
    while reader.read(&mut record).map_err(unreadable)? {
        let n = record.line();
        rows += 1;
        if let Some(problem) = record.problem() {
            let problem = lang.t(&problem.zh(), &problem.to_string()).to_owned();
            problems.push(lang.msgf("margins.line_problem", &[("n", &n), ("problem", &problem)]));
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
            problems.push(lang.msgf("margins.unknown_variable", &[("n", &n), ("var", &var)]));
        }
        let known = variable.is_some_and(|v| {
            !cat.is_empty() && categories(v).is_none_or(|cs| cs.iter().any(|(c, _, _)| c == cat))
        });
        if let (Some(_), false) = (variable, known) {
            problems.push(lang.msgf(
                "margins.unknown_category",
                &[("n", &n), ("var", &var), ("cat", &cat)],
            ));
        }
        let value = total.parse::<f64>().ok().filter(|t| t.is_finite());
        match value {
            None => {
                problems.push(lang.msgf("margins.not_a_number", &[("n", &n), ("total", &total)]))
            }
            Some(t) if t < 0.0 => {
                problems.push(lang.msgf("margins.negative", &[("n", &n), ("total", &total)]))
            }
            Some(_) => {}
        }
        if let (Some(v), true, Some(t)) = (variable, known, value.filter(|t| *t >= 0.0)) {
            let cats = margins.entry(v).or_default();
            if cats.insert(cat.to_owned(), t).is_some() {
                problems
                    .push(lang.msgf("margins.twice", &[("n", &n), ("var", &var), ("cat", &cat)]));
            }
        }
    }
    if rows == 0 && problems.is_empty() {
        problems.push(lang.msg("margins.empty").to_owned());
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
pub(crate) fn rakeable(margins: &PopulationMargins, lang: Lang) -> Vec<String> {
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
            let list = missing.join(lang.msg("list.separator"));
            problems.push(lang.msgf(
                "margins.missing_categories",
                &[("var", &var.name()), ("list", &list)],
            ));
        }
    }
    let sums: Vec<(Variable, f64)> = margins
        .iter()
        .map(|(&v, totals)| (v, totals.values().sum()))
        .collect();
    if let Some(&(first, first_total)) = sums.first() {
        for &(var, total) in &sums[1..] {
            if !literacy_core::weighting::rake::grand_totals_agree(first_total, total) {
                problems.push(lang.msgf(
                    "margins.different_populations",
                    &[
                        ("first", &first.name()),
                        ("first_total", &first_total),
                        ("var", &var.name()),
                        ("total", &total),
                    ],
                ));
            }
        }
    }
    problems
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
