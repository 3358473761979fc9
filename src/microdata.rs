//! Reading microdata and margin files for `literacy estimate` and
//! `literacy weight`, with errors that name the file, line and column.

use std::path::Path;

use anyhow::{Context, bail};
use literacy_core::weighting::Margin;

/// A CSV file held in memory, column by column.
pub struct Table {
    /// The file's name, for messages.
    pub name: String,
    /// Column names.
    pub headers: Vec<String>,
    /// The raw records (for writing the rows back out).
    pub records: Vec<csv::StringRecord>,
    /// Line of each record in the file.
    pub lines: Vec<u64>,
}

impl Table {
    /// Reads a whole CSV file.
    pub fn read(path: &Path) -> anyhow::Result<Table> {
        let name = path.display().to_string();
        let mut reader =
            csv::Reader::from_path(path).with_context(|| format!("cannot open {name}"))?;
        let headers: Vec<String> = reader
            .headers()
            .with_context(|| format!("{name}: cannot read the header"))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        let mut records = Vec::new();
        let mut lines = Vec::new();
        for record in reader.records() {
            let record = record.with_context(|| format!("{name}: cannot read"))?;
            lines.push(record.position().map_or(0, csv::Position::line));
            records.push(record);
        }
        if records.is_empty() {
            bail!("{name}: has no rows");
        }
        Ok(Table {
            name,
            headers,
            records,
            lines,
        })
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

    /// The text of a column, trimmed; an empty cell is an error.
    pub fn text(&self, column: &str) -> anyhow::Result<Vec<String>> {
        let i = self.column(column)?;
        self.records
            .iter()
            .zip(&self.lines)
            .map(|(r, line)| {
                let value = r.get(i).unwrap_or_default().trim();
                if value.is_empty() {
                    bail!("{}: line {line}, column {column}: is empty", self.name);
                }
                Ok(value.to_owned())
            })
            .collect()
    }

    /// A numeric column; every cell must be a finite number.
    pub fn numbers(&self, column: &str) -> anyhow::Result<Vec<f64>> {
        let i = self.column(column)?;
        self.records
            .iter()
            .zip(&self.lines)
            .map(|(r, line)| {
                let value = r.get(i).unwrap_or_default().trim();
                match value.parse::<f64>() {
                    Ok(x) if x.is_finite() => Ok(x),
                    _ => bail!(
                        "{}: line {line}, column {column}: {value:?} is not a number",
                        self.name
                    ),
                }
            })
            .collect()
    }

    /// Weights: finite and not negative.
    pub fn weights(&self, column: &str) -> anyhow::Result<Vec<f64>> {
        let w = self.numbers(column)?;
        if let Some(row) = w.iter().position(|&x| x < 0.0) {
            bail!(
                "{}: line {}, column {column}: weight {} is negative",
                self.name,
                self.lines[row],
                w[row]
            );
        }
        Ok(w)
    }
}

/// Reads a margin file (first column named after the variable, holding its
/// categories; second `total`) and matches it to the data's column.
pub fn margin(path: &Path, data: &Table) -> anyhow::Result<Margin> {
    let table = Table::read(path)?;
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
    for (i, category) in categories.iter().enumerate() {
        if categories[..i].contains(category) {
            bail!(
                "{}: line {}: category {category:?} appears twice",
                table.name,
                table.lines[i]
            );
        }
    }
    let labels = data
        .text(&variable)
        .with_context(|| format!("margin {}", table.name))?;
    if let Some(row) = labels.iter().position(|l| !categories.contains(l)) {
        bail!(
            "{}: line {}, column {variable}: category {:?} is not in the margin file {}",
            data.name,
            data.lines[row],
            labels[row],
            table.name
        );
    }
    let population: Vec<(String, f64)> = categories.into_iter().zip(totals).collect();
    Margin::from_labels(&variable, &labels, &population)
        .with_context(|| format!("margin {}", table.name))
}
