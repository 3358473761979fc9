//! Weight trimming with redistribution, as R's `trimWeights`.

use rayon::prelude::*;

use super::{CHUNK, WeightReport, WeightingError, check_weights, chunked_sums, summarize};

/// Most rounds of strict trimming before giving up (`converged = false`).
pub const MAX_TRIM_ROUNDS: usize = 10_000;

/// Bounds for [`trim`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrimBounds {
    /// Bounds in weight units; use `f64::NEG_INFINITY` / `f64::INFINITY` for
    /// no bound (R's defaults).
    Absolute {
        /// Weights below this are raised to it.
        lower: f64,
        /// Weights above this are lowered to it.
        upper: f64,
    },
    /// Bounds as probabilities (in [0, 1]) of R's default quantile (type 7)
    /// of the positive weights before trimming.
    Quantile {
        /// Probability of the lower bound.
        lower: f64,
        /// Probability of the upper bound.
        upper: f64,
    },
}

/// Trims the weights in place to `[lower, upper]` and redistributes the
/// excess, exactly as R's `trimWeights`:
///
/// each round, `outside = w < lower | w > upper` (strict inequalities);
/// outside weights are set to the bound they crossed; the excess
/// `sum(w_old - w_new)` (which may be negative) is added **in equal additive
/// amounts**, `excess / #(not outside)`, to every weight that was not outside.
/// The total weight is preserved. `strict = false`: one round (the
/// redistribution may push weights over the bound again); `strict = true`:
/// rounds repeat until no weight is outside (at most [`MAX_TRIM_ROUNDS`]).
///
/// Weights equal to 0 (not in the analysis) are left at 0 and take no part
/// (R would raise them to `lower`). The report's `iterations` is the number
/// of rounds that changed something; `converged` is whether no weight is
/// outside the bounds at the end (so a non-strict trim can report `false`).
///
/// Errors (weights unchanged): weights negative or not finite, bounds NaN
/// or `lower > upper` (quantile probabilities outside [0, 1]), every
/// positive weight outside the bounds, and for strict trimming a mean
/// weight outside the bounds (no trimmed set can keep the total).
pub fn trim(
    weights: &mut [f64],
    bounds: TrimBounds,
    strict: bool,
) -> Result<WeightReport, WeightingError> {
    check_weights(weights)?;
    let (lower, upper) = resolve_bounds(weights, bounds)?;
    let n = weights.iter().filter(|w| **w > 0.0).count();
    let total = chunked_sums(weights.len(), 1, |i, acc| acc[0] += weights[i])[0];
    if strict && n > 0 {
        let mean = total / n as f64;
        if mean < lower || mean > upper {
            return Err(WeightingError::TrimInfeasible {
                lower,
                upper,
                n,
                mean,
            });
        }
    }
    let is_outside = |w: f64| w > 0.0 && (w < lower || w > upper);
    let mut rounds = 0;
    loop {
        // [outside count, excess]
        let s = chunked_sums(weights.len(), 2, |i, acc| {
            let w = weights[i];
            if is_outside(w) {
                acc[0] += 1.0;
                acc[1] += w - w.clamp(lower, upper);
            }
        });
        let n_outside = s[0] as usize;
        if n_outside == 0 || (!strict && rounds == 1) || rounds == MAX_TRIM_ROUNDS {
            break;
        }
        let n_inside = n - n_outside;
        if n_inside == 0 {
            return Err(WeightingError::AllWeightsOutside { lower, upper });
        }
        let share = s[1] / n_inside as f64;
        weights.par_chunks_mut(CHUNK).for_each(|chunk| {
            for w in chunk {
                if is_outside(*w) {
                    *w = w.clamp(lower, upper);
                } else if *w > 0.0 {
                    *w += share;
                }
            }
        });
        rounds += 1;
    }
    let converged = !weights.iter().any(|&w| is_outside(w));
    Ok(summarize("trim", weights, rounds, converged))
}

/// The bounds in weight units.
fn resolve_bounds(weights: &[f64], bounds: TrimBounds) -> Result<(f64, f64), WeightingError> {
    match bounds {
        TrimBounds::Absolute { lower, upper } => {
            if lower.is_nan() || upper.is_nan() || lower > upper {
                return Err(WeightingError::BadOption {
                    option: "trim bounds",
                    reason: format!("lower {lower} and upper {upper} do not make an interval"),
                });
            }
            Ok((lower, upper))
        }
        TrimBounds::Quantile { lower, upper } => {
            if !(0.0..=1.0).contains(&lower) || !(0.0..=1.0).contains(&upper) || lower > upper {
                return Err(WeightingError::BadOption {
                    option: "trim quantiles",
                    reason: format!(
                        "lower {lower} and upper {upper} must be probabilities with lower <= upper"
                    ),
                });
            }
            let mut sorted: Vec<f64> = weights.iter().copied().filter(|w| *w > 0.0).collect();
            if sorted.is_empty() {
                return Ok((f64::NEG_INFINITY, f64::INFINITY));
            }
            sorted.par_sort_unstable_by(f64::total_cmp);
            Ok((quantile7(&sorted, lower), quantile7(&sorted, upper)))
        }
    }
}

/// R's default (type 7) quantile of sorted, non-empty data, computed as
/// `quantile.default` does: `(1 - h) x[lo] + h x[hi]`.
fn quantile7(sorted: &[f64], p: f64) -> f64 {
    let index = (sorted.len() - 1) as f64 * p;
    let lo = index.floor();
    let hi = index.ceil() as usize;
    let h = index - lo;
    let (x_lo, x_hi) = (sorted[lo as usize], sorted[hi]);
    if h > 0.0 && x_hi != x_lo {
        (1.0 - h) * x_lo + h * x_hi
    } else {
        x_lo
    }
}
