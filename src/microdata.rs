//! Reading microdata and margin files for `literacy estimate` and
//! `literacy weight` through the one tabular reader (`literacy-table`:
//! encodings, strict CSV, physical lines), with errors that name the file,
//! line and column. A file with any malformed row, or with one respondent
//! on two rows, is refused: estimates are never made from part of a file.

use std::borrow::Cow;
use std::path::Path;

use anyhow::{Context, bail};
use literacy_core::weighting::Margin;
use literacy_table::{FirstSeen, Options, Record};

/// The column that identifies a respondent, when a file has one.
const RESPONDENT_ID: &str = "respondent_id";

/// The largest design weight believed: a weight counts people, and no
/// survey's respondent stands for more than ten billion of them.
pub const MAX_WEIGHT: f64 = 1e10;

/// A table file held in memory: every cell's text in one arena, so a
/// million rows cost two allocations, not one per row or per cell.
pub struct Table {
    /// The file's name, for messages.
    pub name: String,
    /// Column names.
    pub headers: Vec<String>,
    /// Line of each row in the file.
    pub lines: Vec<u64>,
    /// Every cell's text, row after row.
    text: String,
    /// Where each cell ends in `text` (`rows x columns` entries).
    ends: Vec<u32>,
}

impl Table {
    /// Reads a whole table file (CSV or a spreadsheet's sheet).
    pub fn read(path: &Path, options: &Options) -> anyhow::Result<Table> {
        let name = path.display().to_string();
        let (mut reader, header) = crate::reading::open(path, options)?;
        let headers = header.names().to_vec();
        let ids = header.position(RESPONDENT_ID);
        let mut seen = FirstSeen::default();
        let mut lines = Vec::new();
        let mut text = String::new();
        let mut ends = Vec::new();
        let mut record = Record::default();
        while reader
            .read(&mut record)
            .with_context(|| format!("{name}: cannot read"))?
        {
            let line = record.line();
            if let Some(placed) = record.placed_problem(&header) {
                let column = if placed.column.is_empty() {
                    String::new()
                } else {
                    format!(", column {}", placed.column)
                };
                bail!("{name}: line {line}{column}: {}", placed.problem);
            }
            if let Some(id) = ids.and_then(|c| record.get(c)).map(str::trim)
                && !id.is_empty()
                && let Some(first) = seen.first_line(id, line)
            {
                bail!(
                    "{name}: line {line}, column {RESPONDENT_ID}: {:?} is the same respondent as line {first}",
                    literacy_table::shorten(id, 80)
                );
            }
            for cell in record.iter() {
                text.push_str(cell);
                let end = u32::try_from(text.len()).map_err(|_| {
                    anyhow::anyhow!("{name}: line {line}: more than 4 GB of text in one table")
                })?;
                ends.push(end);
            }
            lines.push(line);
        }
        if lines.is_empty() {
            bail!("{name}: has no rows");
        }
        Ok(Table {
            name,
            headers,
            lines,
            text,
            ends,
        })
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.lines.len()
    }

    /// The text of row `row`'s cell in column `column` (as written).
    pub fn cell(&self, row: usize, column: usize) -> &str {
        let at = row * self.headers.len() + column;
        let start = if at == 0 {
            0
        } else {
            self.ends[at - 1] as usize
        };
        self.text
            .get(start..self.ends[at] as usize)
            .unwrap_or_default()
    }

    /// The cells of row `row`, in column order.
    pub fn row(&self, row: usize) -> impl Iterator<Item = &str> {
        (0..self.headers.len()).map(move |c| self.cell(row, c))
    }

    /// Index of a column, or an error naming the columns there are.
    pub fn column(&self, column: &str) -> anyhow::Result<usize> {
        self.headers
            .iter()
            .position(|h| h == column)
            .with_context(|| {
                format!(
                    "{}: no column {column:?} (columns: {})",
                    self.name,
                    self.headers.join(", ")
                )
            })
    }

    /// The text of a column, normalized and trimmed (borrowed from the
    /// table: no allocation per cell for ASCII); an empty cell is an error.
    pub fn text(&self, column: &str) -> anyhow::Result<Vec<Cow<'_, str>>> {
        let i = self.column(column)?;
        (0..self.rows())
            .map(|r| {
                let value = match literacy_core::text::normalize(self.cell(r, i)) {
                    Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
                    Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
                };
                if value.is_empty() {
                    bail!(
                        "{}: line {}, column {column}: is empty",
                        self.name,
                        self.lines[r]
                    );
                }
                Ok(value)
            })
            .collect()
    }

    /// A numeric column; every cell must be a finite number.
    pub fn numbers(&self, column: &str) -> anyhow::Result<Vec<f64>> {
        let i = self.column(column)?;
        (0..self.rows())
            .map(|r| {
                let value = literacy_core::text::normalize(self.cell(r, i));
                let value = value.trim();
                match value.parse::<f64>() {
                    Ok(x) if x.is_finite() => Ok(x),
                    _ => bail!(
                        "{}: line {}, column {column}: {value:?} is not a number",
                        self.name,
                        self.lines[r]
                    ),
                }
            })
            .collect()
    }

    /// Design weights: every one finite, not negative and believable (at
    /// most [`MAX_WEIGHT`]), and not all zero; an error names the rows.
    pub fn weights(&self, column: &str) -> anyhow::Result<Vec<f64>> {
        let w = self.numbers(column)?;
        let rows = |bad: &dyn Fn(f64) -> bool| self.rows_where(column, &w, bad);
        if w.iter().any(|&x| x < 0.0) {
            bail!(
                "{}: column {column}: negative weights at {}",
                self.name,
                rows(&|x| x < 0.0)
            );
        }
        if w.iter().any(|&x| x > MAX_WEIGHT) {
            bail!(
                "{}: column {column}: weights above {MAX_WEIGHT:e} (more people than there are) at {}",
                self.name,
                rows(&|x| x > MAX_WEIGHT)
            );
        }
        if w.iter().all(|&x| x == 0.0) {
            bail!(
                "{}: column {column}: every weight is zero, so nothing can be estimated",
                self.name
            );
        }
        Ok(w)
    }

    /// A 0/1 outcome: every value 0 or 1, else an error naming the rows
    /// that are not (a share of something else is a mistake, not a mean).
    pub fn zero_one(&self, column: &str) -> anyhow::Result<Vec<f64>> {
        let y = self.numbers(column)?;
        let not_zero_one = |v: f64| v != 0.0 && v != 1.0;
        if y.iter().any(|&v| not_zero_one(v)) {
            bail!(
                "{}: column {column}: a share needs 0 or 1 on every row; not so at {} (give --statistic mean for a mean)",
                self.name,
                self.rows_where(column, &y, &not_zero_one)
            );
        }
        Ok(y)
    }

    /// The first five rows of `column` whose value is `bad`, as
    /// `line L (value as written)`, and how many more there are.
    fn rows_where(&self, column: &str, values: &[f64], bad: &dyn Fn(f64) -> bool) -> String {
        let i = self.column(column).unwrap_or_default();
        let found: Vec<usize> = (0..values.len()).filter(|&r| bad(values[r])).collect();
        let mut list: Vec<String> = found
            .iter()
            .take(5)
            .map(|&r| {
                let written = self.cell(r, i).trim();
                format!(
                    "line {} ({})",
                    self.lines[r],
                    literacy_table::shorten(written, 40)
                )
            })
            .collect();
        if found.len() > 5 {
            list.push(format!("and {} more", found.len() - 5));
        }
        list.join(", ")
    }
}

/// Reads a margin file (first column named after the variable, holding its
/// categories; second `total`) and matches it to the data's column.
pub fn margin(path: &Path, data: &Table, options: &Options) -> anyhow::Result<Margin> {
    let table = Table::read(path, options)?;
    if table.headers.len() != 2 || table.headers[1] != "total" {
        bail!(
            "{}: a margin file has two columns, the variable and `total`; found {}",
            table.name,
            table.headers.join(", ")
        );
    }
    let variable = table.headers[0].clone();
    let categories = table.text(&variable)?;
    let totals = table.numbers("total")?;
    let mut seen = FirstSeen::default();
    for (category, &line) in categories.iter().zip(&table.lines) {
        if let Some(first) = seen.first_line(category, line) {
            bail!(
                "{}: line {line}: category {category:?} appears twice (first on line {first})",
                table.name
            );
        }
    }
    let labels = data
        .text(&variable)
        .with_context(|| format!("margin {}", table.name))?;
    let known: std::collections::HashSet<&str> = categories.iter().map(|c| c.as_ref()).collect();
    if let Some(row) = labels.iter().position(|l| !known.contains(l.as_ref())) {
        bail!(
            "{}: line {}, column {variable}: category {:?} is not in the margin file {}",
            data.name,
            data.lines[row],
            labels[row],
            table.name
        );
    }
    let population: Vec<(&str, f64)> = categories.iter().map(|c| c.as_ref()).zip(totals).collect();
    Margin::from_labels(&variable, &labels, &population)
        .with_context(|| format!("margin {}", table.name))
}
