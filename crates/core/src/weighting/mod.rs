//! Survey weighting: base weights, nonresponse adjustment, post-stratification,
//! raking, trimming, and the residualization the variance code needs after
//! calibration, following R's `survey` 4.1 (see `tests/reference/expected/CASES.md`).
//!
//! Every step works on a slice of weights (one per sampled row) and returns a
//! [`WeightReport`]. A weight of 0 means "not in the analysis" (a
//! nonrespondent, a row outside the sample): it is kept at 0 by every step and
//! left out of the report's statistics.
//!
//! Sums over rows run in fixed chunks of [`CHUNK`] rows (in parallel with
//! rayon), and the chunk sums are added in chunk order: the same input gives
//! the same bits whatever the number of threads.

use rayon::prelude::*;
use serde::Serialize;

pub mod base;
pub mod margin;
pub mod nonresponse;
pub mod poststratify;
pub mod rake;
pub mod residuals;
pub mod trim;

pub use base::base_weights;
pub use margin::Margin;
pub use nonresponse::nonresponse_adjust;
pub use poststratify::poststratify;
pub use rake::{RakeCriterion, RakeOptions, max_relative_margin_error, rake, rake_with_steps};
pub use residuals::{residualize_poststrat, residualize_rake, residualize_rake_stepwise};
pub use trim::{TrimBounds, trim};

/// Rows summed together by one task; chunk sums are then added in order.
pub const CHUNK: usize = 16_384;

/// Why a weighting step cannot run. Every variant names what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightingError {
    /// An inclusion probability is not in (0, 1].
    #[error("inclusion probability at row {row} is {value}; it must be in (0, 1]")]
    BadProbability {
        /// Row index (0-based).
        row: usize,
        /// The offending probability.
        value: f64,
    },
    /// A weight is negative or not finite.
    #[error("weight at row {row} is {value}; weights must be finite and >= 0")]
    BadWeight {
        /// Row index (0-based).
        row: usize,
        /// The offending weight.
        value: f64,
    },
    /// A linearized value passed to a residualization is not finite.
    #[error("linearized value at row {row} is {value}; it must be finite")]
    BadLinearizedValue {
        /// Row index (0-based).
        row: usize,
        /// The offending value.
        value: f64,
    },
    /// Two per-row inputs have different lengths.
    #[error("{what} has {found} rows but {expected} were expected")]
    LengthMismatch {
        /// Which input ("responded", "codes of margin sex", ...).
        what: String,
        /// Rows expected (the number of weights).
        expected: usize,
        /// Rows found.
        found: usize,
    },
    /// A nonresponse cell has sampled units but no respondent.
    #[error("nonresponse cell {cell} has {sampled} sampled units but no respondent")]
    NoRespondents {
        /// The cell id.
        cell: u32,
        /// Sampled units in the cell.
        sampled: usize,
    },
    /// A nonresponse cell's respondents all have weight 0 while its sampled
    /// units do not.
    #[error(
        "nonresponse cell {cell}: the respondents' weights sum to 0 but the sampled weights to {sampled_weight}"
    )]
    ZeroRespondentWeight {
        /// The cell id.
        cell: u32,
        /// Sum of the weights of all sampled units of the cell.
        sampled_weight: f64,
    },
    /// A margin has not one population total per category label.
    #[error("margin {variable}: {categories} category labels but {totals} totals")]
    CategoryCount {
        /// Margin variable.
        variable: String,
        /// Labels given.
        categories: usize,
        /// Totals given.
        totals: usize,
    },
    /// A margin lists the same category label twice.
    #[error("margin {variable}: category \"{category}\" is listed twice")]
    DuplicateCategory {
        /// Margin variable.
        variable: String,
        /// The repeated label.
        category: String,
    },
    /// A row's category code is not an index into the margin's categories.
    #[error("margin {variable}: row {row} has code {code} but there are {categories} categories")]
    CodeOutOfRange {
        /// Margin variable.
        variable: String,
        /// Row index (0-based).
        row: usize,
        /// The offending code.
        code: u32,
        /// Number of categories.
        categories: usize,
    },
    /// A row's label is not one of the margin's categories.
    #[error(
        "margin {variable}: row {row} has value \"{label}\", which is not a category of the margin"
    )]
    UnknownLabel {
        /// Margin variable.
        variable: String,
        /// Row index (0-based).
        row: usize,
        /// The offending label.
        label: String,
    },
    /// A population total is negative or not finite.
    #[error(
        "margin {variable}: category \"{category}\" has total {total}; it must be finite and >= 0"
    )]
    BadTotal {
        /// Margin variable.
        variable: String,
        /// Category label.
        category: String,
        /// The offending total.
        total: f64,
    },
    /// A category has a positive population total but no sampled row with a
    /// positive weight.
    #[error("margin {variable}: category \"{category}\" has no respondents")]
    EmptyCategory {
        /// Margin variable.
        variable: String,
        /// Category label.
        category: String,
    },
    /// A category has respondents with positive weight but population total 0
    /// (R: "Strata in sample absent from population").
    #[error(
        "margin {variable}: category \"{category}\" has respondents (weight {weight}) but population total 0"
    )]
    ZeroTotalWithRespondents {
        /// Margin variable.
        variable: String,
        /// Category label.
        category: String,
        /// Sum of the sample weights in the category.
        weight: f64,
    },
    /// Raking was asked for with no margin.
    #[error("raking needs at least one margin")]
    NoMargins,
    /// Two raking margins do not add up to the same population.
    #[error(
        "margins {first} and {second} disagree: grand totals {first_total} and {second_total} (relative tolerance 1e-9)"
    )]
    TotalsDisagree {
        /// First margin's variable.
        first: String,
        /// Its grand total.
        first_total: f64,
        /// Second margin's variable.
        second: String,
        /// Its grand total.
        second_total: f64,
    },
    /// An option is out of range.
    #[error("invalid option {option}: {reason}")]
    BadOption {
        /// Which option.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Trimming: every positive weight is outside the bounds, so nothing can
    /// receive the trimmed excess.
    #[error("every positive weight is outside [{lower}, {upper}]; nothing can receive the excess")]
    AllWeightsOutside {
        /// Lower bound.
        lower: f64,
        /// Upper bound.
        upper: f64,
    },
    /// Strict trimming cannot succeed: trimming preserves the total, and the
    /// mean weight is outside the bounds.
    #[error(
        "strict trimming to [{lower}, {upper}] is impossible: the {n} positive weights have mean {mean}, and trimming preserves the total"
    )]
    TrimInfeasible {
        /// Lower bound.
        lower: f64,
        /// Upper bound.
        upper: f64,
        /// Positive weights.
        n: usize,
        /// Their mean.
        mean: f64,
    },
}

/// What a weighting step produced: the distribution of the resulting weights.
///
/// Statistics are over the rows with a **non-zero** weight (zero means "not in
/// the analysis"), as in R's fixtures `i01`/`i02`:
/// * `n` = number of non-zero weights, `sum` = their sum, `mean = sum / n`;
/// * `cv = sqrt(sum_i (w_i - mean)^2 / n) / mean` (population SD, divisor
///   `n`, not `n - 1`);
/// * `kish_deff = 1 + cv^2` (Kish's design effect due to weighting, equal to
///   `n sum w^2 / (sum w)^2`);
/// * `effective_n = (sum w)^2 / sum w^2` (`= n / kish_deff`).
///
/// With no non-zero weight, `n = 0`, `sum = 0`, `effective_n = 0` and the
/// other statistics are NaN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightReport {
    /// Name of the step ("nonresponse", "poststratify", "rake", "trim", ...).
    pub step: String,
    /// Number of non-zero weights.
    pub n: usize,
    /// Iterations (raking passes, trimming rounds); 1 for one-shot steps.
    pub iterations: usize,
    /// Whether the step reached its target (raking tolerance, no weight
    /// outside the trimming bounds).
    pub converged: bool,
    /// Smallest non-zero weight.
    pub min: f64,
    /// Largest weight.
    pub max: f64,
    /// Mean of the non-zero weights.
    pub mean: f64,
    /// Sum of the weights.
    pub sum: f64,
    /// Coefficient of variation `sqrt(sum (w - mean)^2 / n) / mean` (divisor n).
    pub cv: f64,
    /// Kish's weighting design effect `1 + cv^2`.
    pub kish_deff: f64,
    /// Kish's effective sample size `(sum w)^2 / sum w^2`.
    pub effective_n: f64,
}

/// Summarizes weights after a step (see [`WeightReport`] for the formulas).
pub fn summarize(step: &str, weights: &[f64], iterations: usize, converged: bool) -> WeightReport {
    // [sum, sum of squares]
    let s = chunked_sums(weights.len(), 2, |i, acc| {
        let w = weights[i];
        acc[0] += w;
        acc[1] += w * w;
    });
    let n = weights.iter().filter(|w| **w != 0.0).count();
    let (sum, sum2) = (s[0], s[1]);
    if n == 0 {
        return WeightReport {
            step: step.to_string(),
            n,
            iterations,
            converged,
            min: f64::NAN,
            max: f64::NAN,
            mean: f64::NAN,
            sum: 0.0,
            cv: f64::NAN,
            kish_deff: f64::NAN,
            effective_n: 0.0,
        };
    }
    let mean = sum / n as f64;
    let ss = chunked_sums(weights.len(), 1, |i, acc| {
        let w = weights[i];
        if w != 0.0 {
            acc[0] += (w - mean) * (w - mean);
        }
    })[0];
    let cv = (ss / n as f64).sqrt() / mean;
    let (min, max) = weights
        .iter()
        .filter(|w| **w != 0.0)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &w| {
            (lo.min(w), hi.max(w))
        });
    WeightReport {
        step: step.to_string(),
        n,
        iterations,
        converged,
        min,
        max,
        mean,
        sum,
        cv,
        kish_deff: 1.0 + cv * cv,
        effective_n: sum * sum / sum2,
    }
}

/// Checks that every weight is finite and >= 0.
pub(crate) fn check_weights(weights: &[f64]) -> Result<(), WeightingError> {
    match weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        Some(row) => Err(WeightingError::BadWeight {
            row,
            value: weights[row],
        }),
        None => Ok(()),
    }
}

/// Checks that a per-row input has one entry per weight.
pub(crate) fn check_len(what: &str, expected: usize, found: usize) -> Result<(), WeightingError> {
    if expected == found {
        Ok(())
    } else {
        Err(WeightingError::LengthMismatch {
            what: what.to_string(),
            expected,
            found,
        })
    }
}

/// Accumulates `add_row(i, acc)` for rows `0..n` into `width` sums, chunk by
/// chunk of [`CHUNK`] rows in parallel, then adds the chunk sums in chunk
/// order (bit-identical whatever the thread count).
pub(crate) fn chunked_sums<F>(n: usize, width: usize, add_row: F) -> Vec<f64>
where
    F: Fn(usize, &mut [f64]) + Sync,
{
    let partials: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut acc = vec![0.0; width];
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                add_row(i, &mut acc);
            }
            acc
        })
        .collect();
    add_in_order(width, partials)
}

/// Adds per-chunk sums in chunk order.
pub(crate) fn add_in_order(width: usize, partials: Vec<Vec<f64>>) -> Vec<f64> {
    let mut total = vec![0.0; width];
    for p in partials {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

/// Sum of the weights per category of `margin`.
pub(crate) fn category_sums(weights: &[f64], margin: &Margin) -> Vec<f64> {
    let codes = margin.codes();
    chunked_sums(weights.len(), margin.categories().len(), |i, acc| {
        acc[codes[i] as usize] += weights[i];
    })
}

/// Calibration factors `total / sample weight` per category, with the checks
/// R's `postStratify` makes: a category with a positive total needs sample
/// weight, one with sample weight needs a positive total. A category with
/// neither gets factor 1 (its weights are all 0).
pub(crate) fn calibration_factors(
    margin: &Margin,
    sums: &[f64],
) -> Result<Vec<f64>, WeightingError> {
    margin
        .totals()
        .iter()
        .zip(sums)
        .enumerate()
        .map(|(c, (&total, &sum))| {
            if total > 0.0 && sum > 0.0 {
                let f = total / sum;
                if f.is_finite() {
                    Ok(f)
                } else {
                    Err(WeightingError::EmptyCategory {
                        variable: margin.variable().to_string(),
                        category: margin.categories()[c].clone(),
                    })
                }
            } else if total > 0.0 {
                Err(WeightingError::EmptyCategory {
                    variable: margin.variable().to_string(),
                    category: margin.categories()[c].clone(),
                })
            } else if sum > 0.0 {
                Err(WeightingError::ZeroTotalWithRespondents {
                    variable: margin.variable().to_string(),
                    category: margin.categories()[c].clone(),
                    weight: sum,
                })
            } else {
                Ok(1.0)
            }
        })
        .collect()
}
