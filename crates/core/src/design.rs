//! The sample design: strata, primary sampling units (PSUs) nested in
//! strata, an optional finite population correction, and a named rule for
//! strata with a single PSU. Variance is computed the ultimate-cluster way:
//! PSUs drawn with replacement within strata (times the fpc when given).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// What to do with a stratum that has a single PSU (R's `survey.lonely.psu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LonelyPsu {
    /// Refuse the design.
    Fail,
    /// The PSU was taken with certainty: it adds no variance.
    Certainty,
    /// Leave the stratum out of the variance (same as certainty here).
    Remove,
    /// Centre the PSU at the grand mean (zero for a mean's scores).
    Adjust,
    /// Replace the stratum's variance by the average of the others.
    Average,
}

impl FromStr for LonelyPsu {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fail" => Ok(LonelyPsu::Fail),
            "certainty" => Ok(LonelyPsu::Certainty),
            "remove" => Ok(LonelyPsu::Remove),
            "adjust" => Ok(LonelyPsu::Adjust),
            "average" => Ok(LonelyPsu::Average),
            other => Err(format!(
                "{other:?} is not a lonely-PSU rule (fail, certainty, remove, adjust, average)"
            )),
        }
    }
}

impl fmt::Display for LonelyPsu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LonelyPsu::Fail => "fail",
            LonelyPsu::Certainty => "certainty",
            LonelyPsu::Remove => "remove",
            LonelyPsu::Adjust => "adjust",
            LonelyPsu::Average => "average",
        })
    }
}

/// Finite population correction, given per row and constant within a stratum.
#[derive(Debug, Clone, Copy)]
pub enum Fpc<'a> {
    /// Sampling with replacement.
    None,
    /// Number of PSUs in the stratum's population (`N_h`, as R's `fpc` > 1).
    PopulationPsus(&'a [f64]),
    /// Sampling fraction of PSUs in the stratum (`n_h / N_h`, as R's `fpc` <= 1).
    Fraction(&'a [f64]),
}

/// Why a design cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DesignError {
    /// Columns of different lengths.
    #[error("the design has {rows} rows but {column} has {len} values")]
    Length {
        /// Rows of the design.
        rows: usize,
        /// The column concerned.
        column: &'static str,
        /// Its length.
        len: usize,
    },
    /// A PSU id appears in two strata.
    #[error(
        "row {row}: PSU {psu:?} is in stratum {stratum:?} but also in stratum {other:?}; PSU ids must be nested in strata"
    )]
    NotNested {
        /// Row (0-based) where the second stratum appears.
        row: usize,
        /// The PSU id.
        psu: String,
        /// Its stratum on this row.
        stratum: String,
        /// Its stratum on an earlier row.
        other: String,
    },
    /// A stratum has one PSU and the rule is `fail`.
    #[error(
        "stratum {0:?} has only one PSU (choose a lonely-PSU rule: certainty, remove, adjust or average)"
    )]
    LonelyPsu(String),
    /// The finite population correction is not usable.
    #[error("row {row}: fpc {value} {reason}")]
    Fpc {
        /// Row (0-based).
        row: usize,
        /// The value given.
        value: f64,
        /// What is wrong with it.
        reason: String,
    },
    /// The design has no rows.
    #[error("the design has no rows")]
    Empty,
}

/// A validated stratified cluster design over `n` rows.
#[derive(Debug, Clone)]
pub struct Design {
    n: usize,
    row_stratum: Vec<u32>,
    row_psu: Vec<u32>,
    psu_stratum: Vec<u32>,
    /// Sampled PSUs per stratum (`n_h`).
    stratum_psus: Vec<u32>,
    /// `f_h = (N_h - n_h) / N_h`, or 1 without an fpc.
    stratum_fpc: Vec<f64>,
    stratum_labels: Vec<String>,
    psu_labels: Vec<String>,
    /// Rows grouped by PSU, in row order within a PSU: rows of PSU j are
    /// `psu_rows[psu_start[j]..psu_start[j + 1]]`.
    psu_start: Vec<usize>,
    psu_rows: Vec<u32>,
    lonely: LonelyPsu,
}

/// Interns labels into dense codes in order of first appearance.
fn intern<S: AsRef<str>>(labels: &[S]) -> (Vec<u32>, Vec<String>) {
    let mut map: HashMap<&str, u32> = HashMap::new();
    let mut names = Vec::new();
    let codes = labels
        .iter()
        .map(|label| {
            let label = label.as_ref();
            *map.entry(label).or_insert_with(|| {
                names.push(label.to_owned());
                u32::try_from(names.len() - 1).unwrap_or(u32::MAX)
            })
        })
        .collect();
    (codes, names)
}

impl Design {
    /// A design of `n` rows, one stratum, each row its own PSU, with
    /// replacement: simple random sampling for the variance.
    pub fn simple(n: usize) -> Result<Design, DesignError> {
        Self::new::<&str, &str>(n, None, None, Fpc::None, LonelyPsu::Fail)
    }

    /// Builds a design of `n` rows from per-row stratum and PSU labels
    /// (`None`: one stratum; each row its own PSU), an fpc and a lonely-PSU rule.
    pub fn new<S: AsRef<str>, P: AsRef<str>>(
        n: usize,
        strata: Option<&[S]>,
        psus: Option<&[P]>,
        fpc: Fpc<'_>,
        lonely: LonelyPsu,
    ) -> Result<Design, DesignError> {
        if n == 0 {
            return Err(DesignError::Empty);
        }
        let check = |column: &'static str, len: usize| {
            if len == n {
                Ok(())
            } else {
                Err(DesignError::Length {
                    rows: n,
                    column,
                    len,
                })
            }
        };
        let (row_stratum, stratum_labels) = match strata {
            Some(s) => {
                check("strata", s.len())?;
                intern(s)
            }
            None => (vec![0; n], vec![String::new()]),
        };
        // PSU labels are interned within their stratum's namespace check.
        let (row_psu, psu_labels) = match psus {
            Some(p) => {
                check("psu", p.len())?;
                intern(p)
            }
            None => (
                (0..n)
                    .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                    .collect(),
                (0..n).map(|i| (i + 1).to_string()).collect(),
            ),
        };
        let mut psu_stratum = vec![u32::MAX; psu_labels.len()];
        for (row, (&psu, &stratum)) in row_psu.iter().zip(&row_stratum).enumerate() {
            let slot = &mut psu_stratum[psu as usize];
            if *slot == u32::MAX {
                *slot = stratum;
            } else if *slot != stratum {
                return Err(DesignError::NotNested {
                    row,
                    psu: psu_labels[psu as usize].clone(),
                    stratum: stratum_labels[stratum as usize].clone(),
                    other: stratum_labels[*slot as usize].clone(),
                });
            }
        }
        let mut stratum_psus = vec![0u32; stratum_labels.len()];
        for &h in &psu_stratum {
            stratum_psus[h as usize] += 1;
        }
        if lonely == LonelyPsu::Fail
            && let Some(h) = stratum_psus.iter().position(|&c| c == 1)
        {
            return Err(DesignError::LonelyPsu(stratum_labels[h].clone()));
        }
        let stratum_fpc = Self::fpc(&row_stratum, &stratum_psus, fpc, n)?;

        let n_psu = psu_labels.len();
        let mut psu_start = vec![0usize; n_psu + 1];
        for &psu in &row_psu {
            psu_start[psu as usize + 1] += 1;
        }
        for j in 0..n_psu {
            psu_start[j + 1] += psu_start[j];
        }
        let mut next = psu_start.clone();
        let mut psu_rows = vec![0u32; n];
        for (row, &psu) in row_psu.iter().enumerate() {
            psu_rows[next[psu as usize]] = u32::try_from(row).unwrap_or(u32::MAX);
            next[psu as usize] += 1;
        }
        Ok(Design {
            n,
            row_stratum,
            row_psu,
            psu_stratum,
            stratum_psus,
            stratum_fpc,
            stratum_labels,
            psu_labels,
            psu_start,
            psu_rows,
            lonely,
        })
    }

    fn fpc(
        row_stratum: &[u32],
        stratum_psus: &[u32],
        fpc: Fpc<'_>,
        n: usize,
    ) -> Result<Vec<f64>, DesignError> {
        let (values, is_count) = match fpc {
            Fpc::None => return Ok(vec![1.0; stratum_psus.len()]),
            Fpc::PopulationPsus(v) => (v, true),
            Fpc::Fraction(v) => (v, false),
        };
        if values.len() != n {
            return Err(DesignError::Length {
                rows: n,
                column: "fpc",
                len: values.len(),
            });
        }
        let mut by_stratum: Vec<Option<f64>> = vec![None; stratum_psus.len()];
        for (row, (&value, &h)) in values.iter().zip(row_stratum).enumerate() {
            let bad = |reason: String| DesignError::Fpc { row, value, reason };
            let sampled = f64::from(stratum_psus[h as usize]);
            let f = if is_count {
                if !(value.is_finite() && value >= sampled) {
                    return Err(bad(format!(
                        "is not a population PSU count of at least the {sampled} PSUs sampled in the stratum"
                    )));
                }
                (value - sampled) / value
            } else {
                if !(value > 0.0 && value <= 1.0) {
                    return Err(bad("is not a sampling fraction in (0, 1]".to_owned()));
                }
                1.0 - value
            };
            match by_stratum[h as usize] {
                None => by_stratum[h as usize] = Some(f),
                Some(previous) if previous == f => {}
                Some(_) => {
                    return Err(bad(
                        "differs from the fpc of earlier rows of the same stratum".to_owned(),
                    ));
                }
            }
        }
        Ok(by_stratum.into_iter().map(|f| f.unwrap_or(1.0)).collect())
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of strata.
    pub fn n_strata(&self) -> usize {
        self.stratum_psus.len()
    }

    /// Number of PSUs.
    pub fn n_psus(&self) -> usize {
        self.psu_stratum.len()
    }

    /// Stratum index of each row.
    pub fn row_stratum(&self) -> &[u32] {
        &self.row_stratum
    }

    /// PSU index of each row.
    pub fn row_psu(&self) -> &[u32] {
        &self.row_psu
    }

    /// Stratum index of each PSU.
    pub fn psu_stratum(&self) -> &[u32] {
        &self.psu_stratum
    }

    /// Sampled PSUs in each stratum.
    pub fn stratum_psus(&self) -> &[u32] {
        &self.stratum_psus
    }

    /// Finite population correction factor `(N_h - n_h) / N_h` per stratum (1 without).
    pub fn stratum_fpc(&self) -> &[f64] {
        &self.stratum_fpc
    }

    /// Label of each stratum.
    pub fn stratum_labels(&self) -> &[String] {
        &self.stratum_labels
    }

    /// Label (id) of each PSU.
    pub fn psu_labels(&self) -> &[String] {
        &self.psu_labels
    }

    /// Rows of PSU `j`, in row order.
    pub fn psu_rows(&self, j: usize) -> &[u32] {
        &self.psu_rows[self.psu_start[j]..self.psu_start[j + 1]]
    }

    /// The lonely-PSU rule.
    pub fn lonely(&self) -> LonelyPsu {
        self.lonely
    }

    /// Design degrees of freedom of the rows where `member` holds and the
    /// weight is not zero: PSUs with such rows minus strata with such rows
    /// (R's `degf` of a subset).
    pub fn degrees_of_freedom(&self, weights: &[f64], member: impl Fn(usize) -> bool) -> f64 {
        let mut psu_seen = vec![false; self.n_psus()];
        let mut stratum_seen = vec![false; self.n_strata()];
        for (row, &w) in weights.iter().enumerate() {
            if w != 0.0 && member(row) {
                psu_seen[self.row_psu[row] as usize] = true;
                stratum_seen[self.row_stratum[row] as usize] = true;
            }
        }
        let psus = psu_seen.iter().filter(|&&s| s).count();
        let strata = stratum_seen.iter().filter(|&&s| s).count();
        psus as f64 - strata as f64
    }
}
