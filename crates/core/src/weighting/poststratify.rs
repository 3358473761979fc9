//! Post-stratification to known cell totals.

use rayon::prelude::*;

use super::{
    CHUNK, Margin, WeightReport, WeightingError, calibration_factors, category_sums, check_weights,
    summarize,
};

/// Post-stratifies in place: `w_i <- w_i * N_c / sum_{j in c} w_j` for the
/// cell `c` of row `i`, as R's `postStratify` (`cells` is the crossing of the
/// post-stratification variables as one [`Margin`]; its totals are the `N_c`).
///
/// Errors: weights negative or not finite, codes not one per weight, a cell
/// with a positive total but no positive weight
/// ([`WeightingError::EmptyCategory`]), a cell with positive weight but total 0
/// ([`WeightingError::ZeroTotalWithRespondents`]). The weights are unchanged on
/// error.
pub fn poststratify(weights: &mut [f64], cells: &Margin) -> Result<WeightReport, WeightingError> {
    check_weights(weights)?;
    cells.check_rows(weights.len())?;
    let sums = category_sums(weights, cells);
    let factors = calibration_factors(cells, &sums)?;
    let codes = cells.codes();
    weights
        .par_chunks_mut(CHUNK)
        .zip(codes.par_chunks(CHUNK))
        .for_each(|(w, k)| {
            for (w, &k) in w.iter_mut().zip(k) {
                *w *= factors[k as usize];
            }
        });
    Ok(summarize("poststratify", weights, 1, true))
}
