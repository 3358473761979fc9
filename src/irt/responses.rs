//! Reading a dichotomous response file: `respondent_id`, one column per
//! item holding 0, 1 or nothing (missing), optionally a weight column;
//! every problem named by line, column, value and reason.

use std::fmt;
use std::path::Path;

use anyhow::{Context, bail};
use literacy_core::irt::Responses;
use literacy_table::{FirstSeen, Options, Record, TableReader};

/// Column that identifies a respondent.
pub const RESPONDENT_ID: &str = "respondent_id";

/// Problems listed before the rest are only counted.
const MAX_LISTED: usize = 20;

/// Which columns are items.
pub enum ItemColumns<'a> {
    /// Every column but `respondent_id` and the weight.
    AllOthers,
    /// Exactly these, in this order.
    Named(&'a [String]),
}

/// A response file read into the core's matrix.
pub struct ResponseFile {
    /// Respondent ids, in file order.
    pub ids: Vec<String>,
    /// Item columns, in matrix order.
    pub items: Vec<String>,
    /// The responses.
    pub responses: Responses,
    /// The weights, when a weight column was named.
    pub weights: Option<Vec<f64>>,
}

/// One problem with one cell.
struct Problem {
    line: u64,
    column: String,
    value: String,
    reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}, value {:?}: {}",
            self.line,
            self.column,
            literacy_table::shorten(&self.value, 80),
            self.reason
        )
    }
}

/// Reads `path` (CSV or a spreadsheet's sheet); fails listing every
/// problem (the first 20, then a count).
pub fn read(
    path: &Path,
    columns: ItemColumns<'_>,
    weight: Option<&str>,
    options: &Options,
) -> anyhow::Result<ResponseFile> {
    let name = path.display().to_string();
    let mut reader =
        TableReader::open(path, options).with_context(|| format!("{name}: cannot read"))?;
    let header = reader
        .header()
        .with_context(|| format!("{name}: cannot read"))?;
    let headers = header.names().to_vec();
    let find = |column: &str, what: &str| -> anyhow::Result<usize> {
        header.position(column).with_context(|| {
            format!(
                "{name}: line 1 (header): no {what} column {column:?} (columns: {})",
                headers.join(", ")
            )
        })
    };
    let id_col = find(RESPONDENT_ID, "respondent id")?;
    let weight_col = weight.map(|w| find(w, "weight")).transpose()?;
    let item_cols: Vec<usize> = match columns {
        ItemColumns::AllOthers => (0..headers.len())
            .filter(|&k| k != id_col && Some(k) != weight_col)
            .collect(),
        ItemColumns::Named(names) => {
            let mut cols = Vec::with_capacity(names.len());
            for (k, item) in names.iter().enumerate() {
                if names[..k].contains(item) {
                    bail!("item {item:?} is named twice");
                }
                if item == RESPONDENT_ID || Some(item.as_str()) == weight {
                    bail!("{item:?} cannot be an item: it is the respondent id or the weight");
                }
                cols.push(find(item, "item")?);
            }
            cols
        }
    };
    if item_cols.is_empty() {
        bail!("{name}: no item columns");
    }
    let n_items = item_cols.len();

    let mut ids = Vec::new();
    let mut cells = Vec::new();
    let mut weights = weight_col.map(|_| Vec::new());
    let mut seen = FirstSeen::default();
    let mut problems = Vec::new();
    let mut n_problems = 0usize;
    let mut note = |p: Problem| {
        n_problems += 1;
        if problems.len() < MAX_LISTED {
            problems.push(p);
        }
    };
    let mut record = Record::default();
    while reader
        .read(&mut record)
        .with_context(|| format!("{name}: cannot read"))?
    {
        let line = record.line();
        if let Some(placed) = record.placed_problem(&header) {
            note(Problem {
                line,
                column: placed.column.to_owned(),
                value: placed.value.to_owned(),
                reason: placed.problem.to_string(),
            });
            continue;
        }
        let text = |k: usize| record.get(k).unwrap_or_default().to_owned();
        let id = text(id_col).trim().to_owned();
        if id.is_empty() {
            note(Problem {
                line,
                column: RESPONDENT_ID.to_owned(),
                value: id.clone(),
                reason: "a respondent id is required".into(),
            });
        } else if let Some(first) = seen.first_line(&id, line) {
            note(Problem {
                line,
                column: RESPONDENT_ID.to_owned(),
                value: id.clone(),
                reason: format!("duplicate respondent_id (first on line {first})"),
            });
        }
        ids.push(id);
        for &k in &item_cols {
            let written = record.get(k).unwrap_or_default();
            let normal = literacy_core::text::normalize(written);
            cells.push(match normal.trim().as_bytes() {
                b"1" => 1,
                b"0" => 0,
                b"" => Responses::MISSING,
                _ => {
                    note(Problem {
                        line,
                        column: headers[k].clone(),
                        value: text(k),
                        reason: "not 0, 1 or empty (missing)".into(),
                    });
                    Responses::MISSING
                }
            });
        }
        if let (Some(k), Some(w)) = (weight_col, weights.as_mut()) {
            let value = text(k);
            match value.trim().parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => w.push(x),
                _ => {
                    note(Problem {
                        line,
                        column: headers[k].clone(),
                        value,
                        reason: "a weight is a finite number >= 0".into(),
                    });
                    w.push(0.0);
                }
            }
        }
    }
    if n_problems > 0 {
        let mut message = format!("{name}: {n_problems} problem(s)");
        for p in &problems {
            message.push_str(&format!("\n  {p}"));
        }
        if n_problems > problems.len() {
            message.push_str(&format!("\n  ... and {} more", n_problems - problems.len()));
        }
        bail!(message);
    }
    if ids.is_empty() {
        bail!("{name}: has no rows");
    }
    let responses = Responses::new(n_items, cells).with_context(|| name.clone())?;
    Ok(ResponseFile {
        ids,
        items: item_cols.iter().map(|&k| headers[k].clone()).collect(),
        responses,
        weights,
    })
}
