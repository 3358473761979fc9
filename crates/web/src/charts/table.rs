//! Each chart's data as CSV (RFC 4180: comma-separated, CRLF line ends,
//! fields quoted when they hold a comma, a quote, a line break or edge
//! spaces, quotes doubled).
//!
//! The text starts with a UTF-8 byte-order mark, so that Excel and WPS open
//! the Chinese labels correctly; CSV readers (the `csv` crate, pandas,
//! readr) skip it. Shares are fractions at full precision; a non-finite
//! number or an unknown count is an empty field; suppressed estimates keep
//! their numbers, with `suppressed` = `true`; a text a spreadsheet would
//! run as a formula gets a leading `'` ([`crate::csv_cell`]).

use super::{Group, Lang, ShareRow, TargetLine, TrendPoint};

/// The byte-order mark every CSV here starts with.
const BOM: char = '\u{feff}';

struct Csv(String);

impl Csv {
    fn new(header: &[&str]) -> Csv {
        let mut c = Csv(String::from(BOM));
        c.record(header.iter().map(|h| (*h).to_owned()));
        c
    }

    fn record(&mut self, fields: impl IntoIterator<Item = String>) {
        for (i, f) in fields.into_iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            let f = crate::csv_cell::safe(&f);
            let quote = f.contains([',', '"', '\r', '\n'])
                || f.starts_with(char::is_whitespace)
                || f.ends_with(char::is_whitespace);
            if quote {
                self.0.push('"');
                self.0.push_str(&f.replace('"', "\"\""));
                self.0.push('"');
            } else {
                self.0.push_str(&f);
            }
        }
        self.0.push_str("\r\n");
    }
}

/// A share at full precision (shortest text that reads back the same), or empty.
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

fn share_fields(r: &ShareRow) -> [String; 8] {
    [
        r.key.clone(),
        r.label_zh.clone(),
        r.label_en.clone(),
        num(r.estimate),
        num(r.ci_low),
        num(r.ci_high),
        r.n.to_string(),
        r.suppressed.to_string(),
    ]
}

const SHARE_HEADER: [&str; 8] = [
    "key",
    "label_zh",
    "label_en",
    "estimate",
    "ci_low",
    "ci_high",
    "n",
    "suppressed",
];

/// Shares (the province and national charts' data), one row each in the
/// order given: `key,label_zh,label_en,estimate,ci_low,ci_high,n,suppressed`.
pub fn shares_to_csv(rows: &[ShareRow]) -> String {
    let mut c = Csv::new(&SHARE_HEADER);
    for r in rows {
        c.record(share_fields(r));
    }
    c.0
}

/// The breakdown chart's data: `group_key,group_zh,group_en` then the share columns.
pub fn breakdown_to_csv(groups: &[Group]) -> String {
    let header: Vec<&str> = ["group_key", "group_zh", "group_en"]
        .into_iter()
        .chain(SHARE_HEADER)
        .collect();
    let mut c = Csv::new(&header);
    for g in groups {
        for r in &g.rows {
            let group = [g.key.clone(), g.label_zh.clone(), g.label_en.clone()];
            c.record(group.into_iter().chain(share_fields(r)));
        }
    }
    c.0
}

/// The trend chart's rounds:
/// `year,series,estimate,ci_low,ci_high,n,suppressed,source`, `series`
/// being `published` (a published national figure, `source` the
/// publication) or `estimate` (this service's, `source` the round's code).
pub fn trend_to_csv(points: &[TrendPoint]) -> String {
    let mut c = Csv::new(&[
        "year",
        "series",
        "estimate",
        "ci_low",
        "ci_high",
        "n",
        "suppressed",
        "source",
    ]);
    for p in points {
        c.record([
            p.year.to_string(),
            p.source.series().to_owned(),
            num(p.estimate),
            num(p.ci_low),
            num(p.ci_high),
            p.n.map(|n| n.to_string()).unwrap_or_default(),
            p.suppressed.to_string(),
            p.source.name().to_owned(),
        ]);
    }
    c.0
}

/// The targets drawn on a chart: `plan,year,share,label_zh,label_en` (the labels as drawn).
pub fn targets_to_csv(targets: &[TargetLine]) -> String {
    let mut c = Csv::new(&["plan", "year", "share", "label_zh", "label_en"]);
    for t in targets {
        c.record([
            t.plan.clone(),
            t.year.to_string(),
            num(t.share),
            t.text(Lang::Zh),
            t.text(Lang::En),
        ]);
    }
    c.0
}
