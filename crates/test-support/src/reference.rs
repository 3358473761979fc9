//! The R reference fixtures under `tests/reference/` (see its README and
//! `expected/CASES.md`): where they are, and reading their CSV files.

use std::path::PathBuf;

/// The folder of the reference fixtures (`tests/reference/` of the
/// workspace); the CLI tests run the binary there.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference")
}

/// A CSV file of the reference fixtures: header + rows, no quoting.
#[derive(Debug, Clone)]
pub struct Csv {
    /// The column names.
    pub header: Vec<String>,
    /// The fields of each row (every row has as many as the header).
    pub rows: Vec<Vec<String>>,
}

impl Csv {
    /// Reads `relative` (to [`dir`]); blank lines are skipped.
    pub fn read(relative: &str) -> Csv {
        let path = dir().join(relative);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut lines = text.lines().filter(|l| !l.is_empty());
        let header = lines
            .next()
            .expect("a header line")
            .split(',')
            .map(str::to_string)
            .collect::<Vec<_>>();
        let rows = lines
            .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect::<Vec<_>>();
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(
                r.len(),
                header.len(),
                "{}: row {i} has {} fields",
                path.display(),
                r.len()
            );
        }
        Csv { header, rows }
    }

    /// Position of `column`.
    pub fn index(&self, column: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("no column {column}"))
    }

    /// Every row's text in `column`.
    pub fn text(&self, column: &str) -> Vec<String> {
        let i = self.index(column);
        self.rows.iter().map(|r| r[i].clone()).collect()
    }

    /// Every row's number in `column`.
    pub fn num(&self, column: &str) -> Vec<f64> {
        self.text(column).iter().map(|s| parse_num(s)).collect()
    }

    /// Rows where every `(column, value)` matches.
    pub fn select(&self, filters: &[(&str, &str)]) -> Vec<usize> {
        let cols: Vec<(usize, &str)> = filters.iter().map(|(c, v)| (self.index(c), *v)).collect();
        (0..self.rows.len())
            .filter(|&r| cols.iter().all(|&(c, v)| self.rows[r][c] == v))
            .collect()
    }

    /// The number in `column` of `row`.
    pub fn get(&self, row: usize, column: &str) -> f64 {
        parse_num(&self.rows[row][self.index(column)])
    }
}

/// R's value of `column` in `file` on the first row whose first columns
/// are `key`.
pub fn r_value(file: &str, key: &[&str], column: &str) -> f64 {
    let csv = Csv::read(file);
    match csv.rows.iter().position(|r| r[..key.len()] == *key) {
        Some(row) => csv.get(row, column),
        None => panic!("{file}: no row {key:?}"),
    }
}

/// A number as R writes it (`NaN`, `Inf` and `-Inf` included).
pub fn parse_num(s: &str) -> f64 {
    match s {
        "NaN" => f64::NAN,
        "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}")),
    }
}
