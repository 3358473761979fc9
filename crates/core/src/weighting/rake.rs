//! Raking (iterative proportional fitting) to any number of margins.

use std::collections::HashMap;

use rayon::prelude::*;

use super::{
    CHUNK, Margin, WeightReport, WeightingError, add_in_order, calibration_factors, check_weights,
    chunked_sums, summarize,
};

/// Relative tolerance within which the margins' grand totals must agree.
const GRAND_TOTAL_TOLERANCE: f64 = 1e-9;

/// Whether two margins' grand totals count the same population (equal
/// within 1e-9 relative), as raking to both requires.
pub fn grand_totals_agree(a: f64, b: f64) -> bool {
    (a - b).abs() <= GRAND_TOTAL_TOLERANCE * a.abs().max(b.abs())
}

/// When raking stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RakeCriterion {
    /// Converged when, after a pass (or before the first), every category of
    /// every margin is within `tolerance` of its target, relatively:
    /// `max_{margin, category with total > 0} |weighted total - total| / total
    /// <= tolerance`.
    #[default]
    Margins,
    /// R's `rake()` rule, for reproducing R: after each pass compare the
    /// weighted counts of the full cross-classification of all margin
    /// variables with those after the previous pass (before the first pass:
    /// the initial weights) and stop when the largest absolute change is
    /// `< epsilon`, where `epsilon = tolerance * sum(initial weights)` if
    /// `tolerance < 1`, else `tolerance` (in weight units). R's default
    /// `control = list(maxit = 10, epsilon = 1)` is [`RakeOptions::r_default`];
    /// it can stop with margins still off by a fraction of a unit.
    RTableChange,
}

/// Options of [`rake`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RakeOptions {
    /// Most passes over the margins (default 100).
    pub max_iterations: usize,
    /// Convergence tolerance, read by `criterion` (default 1e-10, relative,
    /// on the margins themselves).
    pub tolerance: f64,
    /// Stopping rule (default [`RakeCriterion::Margins`]).
    pub criterion: RakeCriterion,
}

impl Default for RakeOptions {
    fn default() -> Self {
        Self {
            max_iterations: 100,
            tolerance: 1e-10,
            criterion: RakeCriterion::Margins,
        }
    }
}

impl RakeOptions {
    /// R's `rake(..., control = list(maxit, epsilon))` stopping rule.
    pub fn r(maxit: usize, epsilon: f64) -> Self {
        Self {
            max_iterations: maxit,
            tolerance: epsilon,
            criterion: RakeCriterion::RTableChange,
        }
    }

    /// R's default `control = list(maxit = 10, epsilon = 1)`.
    pub fn r_default() -> Self {
        Self::r(10, 1.0)
    }
}

/// Rakes the weights in place to the margins, by iterative proportional
/// fitting: each pass post-stratifies on every margin in the given order
/// (`w_i <- w_i * N_c / sum_{j in c} w_j`), as R's `rake()`.
///
/// The report's `iterations` is the number of passes; not converging within
/// `max_iterations` is reported (`converged = false`), not an error.
///
/// Errors (weights unchanged): no margin, weights negative or not finite,
/// a margin without one code per weight, grand totals that disagree by more
/// than 1e-9 relative ([`WeightingError::TotalsDisagree`], naming both
/// margins), a category with a positive total but no positive weight
/// ([`WeightingError::EmptyCategory`]), a category with positive weight but
/// total 0, a tolerance that is not positive and finite.
///
/// Sums run in fixed chunks (see [`super::CHUNK`]): bit-identical results for
/// a given input whatever the thread count.
pub fn rake(
    weights: &mut [f64],
    margins: &[Margin],
    options: RakeOptions,
) -> Result<WeightReport, WeightingError> {
    rake_impl(weights, margins, options, false).map(|(report, _)| report)
}

/// [`rake`], also returning the weights right after each margin's
/// post-stratification in the **last** pass (one vector per margin, in margin
/// order; the input weights for every margin if no pass ran). R keeps exactly
/// these with the raked design and uses them in its variance: see
/// [`super::residualize_rake_stepwise`]. Once raking has converged they equal
/// the final weights to rounding.
pub fn rake_with_steps(
    weights: &mut [f64],
    margins: &[Margin],
    options: RakeOptions,
) -> Result<(WeightReport, Vec<Vec<f64>>), WeightingError> {
    rake_impl(weights, margins, options, true)
}

/// Largest relative margin error `|weighted total - total| / total` over the
/// categories with a positive total of every margin (infinite if a category
/// with total 0 has positive weight).
pub fn max_relative_margin_error(
    weights: &[f64],
    margins: &[Margin],
) -> Result<f64, WeightingError> {
    check_weights(weights)?;
    for m in margins {
        m.check_rows(weights.len())?;
    }
    let layout = Layout::new(margins);
    let sums = layout.all_sums(weights, margins);
    Ok(layout.max_relative_error(&sums, margins))
}

/// Where each margin's category sums sit in one flat vector.
struct Layout {
    offsets: Vec<usize>,
    width: usize,
}

impl Layout {
    fn new(margins: &[Margin]) -> Self {
        let mut offsets = Vec::with_capacity(margins.len());
        let mut width = 0;
        for m in margins {
            offsets.push(width);
            width += m.categories().len();
        }
        Self { offsets, width }
    }

    fn range(&self, k: usize, margins: &[Margin]) -> std::ops::Range<usize> {
        self.offsets[k]..self.offsets[k] + margins[k].categories().len()
    }

    /// Category sums of every margin in one sweep.
    fn all_sums(&self, weights: &[f64], margins: &[Margin]) -> Vec<f64> {
        chunked_sums(weights.len(), self.width, |i, acc| {
            for (m, &off) in margins.iter().zip(&self.offsets) {
                acc[off + m.codes()[i] as usize] += weights[i];
            }
        })
    }

    fn max_relative_error(&self, sums: &[f64], margins: &[Margin]) -> f64 {
        let mut worst: f64 = 0.0;
        for (k, m) in margins.iter().enumerate() {
            for (&total, &sum) in m.totals().iter().zip(&sums[self.range(k, margins)]) {
                let err = if total > 0.0 {
                    (sum - total).abs() / total
                } else if sum > 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                };
                worst = worst.max(err);
            }
        }
        worst
    }
}

/// Multiplies each weight by its category's factor in `codes`, and sums the
/// new weights by category of the `accumulate` margins (flat, at their
/// offsets), in fixed chunks.
fn apply_and_sum(
    weights: &mut [f64],
    codes: &[u32],
    factors: &[f64],
    accumulate: &[(&[u32], usize)],
    width: usize,
) -> Vec<f64> {
    let partials: Vec<Vec<f64>> = weights
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let start = c * CHUNK;
            let mut acc = vec![0.0; width];
            for (j, w) in chunk.iter_mut().enumerate() {
                let i = start + j;
                *w *= factors[codes[i] as usize];
                for &(m_codes, off) in accumulate {
                    acc[off + m_codes[i] as usize] += *w;
                }
            }
            acc
        })
        .collect();
    add_in_order(width, partials)
}

/// Dense ids of the cells of the cross-classification of all margins (only
/// the combinations that occur), and their number.
fn joint_cells(margins: &[Margin]) -> (Vec<u32>, usize) {
    let mut ids: Vec<u32> = margins[0].codes().to_vec();
    let mut n_ids = margins[0].categories().len();
    for m in &margins[1..] {
        let mut map: HashMap<(u32, u32), u32> = HashMap::new();
        for (id, &code) in ids.iter_mut().zip(m.codes()) {
            let next = map.len() as u32;
            *id = *map.entry((*id, code)).or_insert(next);
        }
        n_ids = map.len();
    }
    (ids, n_ids)
}

/// Weighted counts of the cross-classification (sequential, row order).
fn joint_table(weights: &[f64], ids: &[u32], n_ids: usize) -> Vec<f64> {
    let mut table = vec![0.0; n_ids];
    for (&w, &id) in weights.iter().zip(ids) {
        table[id as usize] += w;
    }
    table
}

fn rake_impl(
    weights: &mut [f64],
    margins: &[Margin],
    options: RakeOptions,
    trace: bool,
) -> Result<(WeightReport, Vec<Vec<f64>>), WeightingError> {
    if margins.is_empty() {
        return Err(WeightingError::NoMargins);
    }
    if !(options.tolerance.is_finite() && options.tolerance > 0.0) {
        return Err(WeightingError::BadOption {
            option: "tolerance",
            reason: format!("{} is not a positive finite number", options.tolerance),
        });
    }
    check_weights(weights)?;
    for m in margins {
        m.check_rows(weights.len())?;
    }
    let first = &margins[0];
    let first_total = first.grand_total();
    for m in &margins[1..] {
        let total = m.grand_total();
        if !grand_totals_agree(first_total, total) {
            return Err(WeightingError::TotalsDisagree {
                first: first.variable().to_string(),
                first_total,
                second: m.variable().to_string(),
                second_total: total,
            });
        }
    }
    let layout = Layout::new(margins);
    let mut sums = layout.all_sums(weights, margins);
    for (k, m) in margins.iter().enumerate() {
        calibration_factors(m, &sums[layout.range(k, margins)])?;
    }

    let original = weights.to_vec();
    let result = passes(weights, margins, options, trace, &layout, &mut sums);
    if result.is_err() {
        weights.copy_from_slice(&original);
    }
    result
}

/// The raking passes, once the inputs are checked.
fn passes(
    weights: &mut [f64],
    margins: &[Margin],
    options: RakeOptions,
    trace: bool,
    layout: &Layout,
    sums: &mut Vec<f64>,
) -> Result<(WeightReport, Vec<Vec<f64>>), WeightingError> {
    let k_last = margins.len() - 1;
    let mut steps: Vec<Vec<f64>> = if trace {
        vec![weights.to_vec(); margins.len()]
    } else {
        Vec::new()
    };
    // R's rule: the cross-classification and its absolute epsilon.
    let (joint, epsilon, mut old_table) = match options.criterion {
        RakeCriterion::Margins => (None, 0.0, Vec::new()),
        RakeCriterion::RTableChange => {
            let (ids, n_ids) = joint_cells(margins);
            let epsilon = if options.tolerance < 1.0 {
                options.tolerance * chunked_sums(weights.len(), 1, |i, acc| acc[0] += weights[i])[0]
            } else {
                options.tolerance
            };
            let table = joint_table(weights, &ids, n_ids);
            (Some((ids, n_ids)), epsilon, table)
        }
    };
    let mut converged =
        joint.is_none() && layout.max_relative_error(sums, margins) <= options.tolerance;
    let mut n_passes = 0;
    while !converged && n_passes < options.max_iterations {
        for k in 0..margins.len() {
            let factors = calibration_factors(&margins[k], &sums[layout.range(k, margins)])?;
            let accumulate: Vec<(&[u32], usize)> = if k == k_last {
                margins
                    .iter()
                    .zip(&layout.offsets)
                    .map(|(m, &off)| (m.codes(), off))
                    .collect()
            } else {
                vec![(margins[k + 1].codes(), layout.offsets[k + 1])]
            };
            let new_sums = apply_and_sum(
                weights,
                margins[k].codes(),
                &factors,
                &accumulate,
                layout.width,
            );
            if k == k_last {
                *sums = new_sums;
            } else {
                let r = layout.range(k + 1, margins);
                sums[r.clone()].copy_from_slice(&new_sums[r]);
            }
            if trace {
                steps[k].copy_from_slice(weights);
            }
        }
        n_passes += 1;
        converged = match &joint {
            None => layout.max_relative_error(sums, margins) <= options.tolerance,
            Some((ids, n_ids)) => {
                let table = joint_table(weights, ids, *n_ids);
                let delta = table
                    .iter()
                    .zip(&old_table)
                    .fold(0.0_f64, |d, (a, b)| d.max((a - b).abs()));
                old_table = table;
                delta < epsilon
            }
        };
    }
    Ok((summarize("rake", weights, n_passes, converged), steps))
}
