//! Reading the R reference fixtures under `tests/reference/` (see its
//! README and `expected/CASES.md`) and comparing numbers with them.

#![allow(dead_code, reason = "each test file uses part of these helpers")]

/// A CSV file of the reference fixtures: header + rows, no quoting.
pub struct Csv {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Csv {
    pub fn read(relative: &str) -> Csv {
        let path = format!(
            "{}/../../tests/reference/{relative}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
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
                "{path}: row {i} has {} fields",
                r.len()
            );
        }
        Csv { header, rows }
    }

    pub fn index(&self, column: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("no column {column}"))
    }

    pub fn text(&self, column: &str) -> Vec<String> {
        let i = self.index(column);
        self.rows.iter().map(|r| r[i].clone()).collect()
    }

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

    pub fn get(&self, row: usize, column: &str) -> f64 {
        parse_num(&self.rows[row][self.index(column)])
    }
}

pub fn parse_num(s: &str) -> f64 {
    match s {
        "NaN" => f64::NAN,
        "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}")),
    }
}
