//! What Taylor-linearization variance needs after calibration: the
//! linearized values of an estimator, residualized on the calibration
//! variables, exactly as R's `survey:::svyrecvar` does before the
//! stratified-cluster variance formula.
//!
//! Convention (R's): `z` holds the **weighted** linearized (influence) values
//! of the estimator, computed with the final calibrated weights `w*`, e.g. for
//! a mean `z_i = w*_i (y_i - ybar) / sum w*`, for a total `z_i = w*_i y_i`;
//! for a domain, `z_i = 0` outside it, and the residualization is still done
//! on the **whole** sample with the full-sample weights (R keeps every row of
//! a calibrated design, with weight 0, in a domain). The residualized values
//! then go into the usual formula (PSU totals, centred within strata,
//! `n_h / (n_h - 1)`, fpc, lonely-PSU rule).

use rayon::prelude::*;

use super::{CHUNK, Margin, WeightingError, check_len, check_weights, chunked_sums};

/// Residualizes linearized values after post-stratification on `cells`
/// (R's `svyrecvar` for a `postStratify`d design):
///
/// `z_i <- z_i - w*_i * zbar_c`, with `zbar_c = sum_{j in c} z_j / sum_{j in c} w*_j`
/// the `w*`-weighted mean of `z / w*` in the post-stratum `c` of row `i`.
///
/// `weights` are the post-stratified weights `w*` (R computes the cell mean
/// with the pre-post-stratification weights, `sum (z oldw / w*) / sum oldw`,
/// which is the same number because `oldw / w*` is constant in a cell). A cell
/// whose weights are all 0 is left unchanged.
pub fn residualize_poststrat(
    z: &mut [f64],
    weights: &[f64],
    cells: &Margin,
) -> Result<(), WeightingError> {
    check_inputs(z, weights)?;
    cells.check_rows(weights.len())?;
    let n_cat = cells.categories().len();
    let codes = cells.codes();
    // [sum z per cell ..., sum w per cell ...]
    let sums = chunked_sums(z.len(), 2 * n_cat, |i, acc| {
        let c = codes[i] as usize;
        acc[c] += z[i];
        acc[n_cat + c] += weights[i];
    });
    let means = category_means(&sums, n_cat);
    subtract(z, weights, codes, &means);
    Ok(())
}

/// Residualizes linearized values after raking (R's `svyrecvar` for a
/// `rake()`d design), with the final raked weights `w*` for every margin:
///
/// `sweeps` times (R: 10), for each margin in order:
/// `u_i = z_i / w*_i`; `z_i <- z_i - w*_i * mean_{j in c} u_j`, where the mean
/// over the category `c` of row `i` is **unweighted** (unlike
/// post-stratification's weighted mean). The limit of the sweeps is
/// `w* x` the residual of an unweighted least-squares fit of `z / w*` on all
/// margin dummies.
///
/// Rows with weight 0 are left out of the means and unchanged (their `z` is
/// 0; R would divide by zero). R actually uses, for margin `k`, the weights
/// right after margin `k` in the last raking pass; once raking has converged
/// they equal `w*` to rounding (SEs agree to ~1e-12), but after R's default
/// loose stopping rule they do not (~1e-6): use
/// [`residualize_rake_stepwise`] with the weights from
/// [`super::rake_with_steps`] to reproduce R there.
pub fn residualize_rake(
    z: &mut [f64],
    weights: &[f64],
    margins: &[Margin],
    sweeps: usize,
) -> Result<(), WeightingError> {
    let steps = vec![weights; margins.len()];
    residualize_rake_stepwise(z, &steps, margins, sweeps)
}

/// [`residualize_rake`] with one weight vector per margin, exactly as R:
/// `z <- z - psw_k * ave(z / psw_k, margin_k)`, `psw_k` = `step_weights[k]`
/// (R's `attr(margin, "weights")`, what [`super::rake_with_steps`] returns).
pub fn residualize_rake_stepwise<W>(
    z: &mut [f64],
    step_weights: &[W],
    margins: &[Margin],
    sweeps: usize,
) -> Result<(), WeightingError>
where
    W: AsRef<[f64]>,
{
    check_len(
        "step weights (one per margin)",
        margins.len(),
        step_weights.len(),
    )?;
    for (w, m) in step_weights.iter().zip(margins) {
        check_inputs(z, w.as_ref())?;
        m.check_rows(z.len())?;
    }
    for _ in 0..sweeps {
        for (w, m) in step_weights.iter().zip(margins) {
            let w = w.as_ref();
            let n_cat = m.categories().len();
            let codes = m.codes();
            // [sum z/w per category ..., rows with w > 0 per category ...]
            let zr: &[f64] = z;
            let sums = chunked_sums(zr.len(), 2 * n_cat, |i, acc| {
                if w[i] > 0.0 {
                    let c = codes[i] as usize;
                    acc[c] += zr[i] / w[i];
                    acc[n_cat + c] += 1.0;
                }
            });
            let means = category_means(&sums, n_cat);
            subtract(z, w, codes, &means);
        }
    }
    Ok(())
}

/// Each category's mean from `[sums ..., counts ...]` of `n_cat`
/// categories (0 for a category with nothing in it).
fn category_means(sums: &[f64], n_cat: usize) -> Vec<f64> {
    (0..n_cat)
        .map(|c| {
            if sums[n_cat + c] > 0.0 {
                sums[c] / sums[n_cat + c]
            } else {
                0.0
            }
        })
        .collect()
}

/// `z_i <- z_i - w_i * means[codes_i]` in fixed chunks.
fn subtract(z: &mut [f64], weights: &[f64], codes: &[u32], means: &[f64]) {
    z.par_chunks_mut(CHUNK)
        .zip(weights.par_chunks(CHUNK).zip(codes.par_chunks(CHUNK)))
        .for_each(|(z, (w, k))| {
            for ((z, &w), &k) in z.iter_mut().zip(w).zip(k) {
                if w > 0.0 {
                    *z -= w * means[k as usize];
                }
            }
        });
}

/// Lengths agree, weights valid, linearized values finite.
fn check_inputs(z: &[f64], weights: &[f64]) -> Result<(), WeightingError> {
    check_len("weights", z.len(), weights.len())?;
    check_weights(weights)?;
    match z.iter().position(|v| !v.is_finite()) {
        Some(row) => Err(WeightingError::BadLinearizedValue { row, value: z[row] }),
        None => Ok(()),
    }
}
