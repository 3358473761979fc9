//! Base (design) weights from inclusion probabilities.

use super::WeightingError;

/// Base weights `1 / pi_i` from inclusion probabilities.
///
/// Every probability must be in (0, 1]; the first one that is not (including
/// NaN) is reported with its row.
pub fn base_weights(inclusion_probabilities: &[f64]) -> Result<Vec<f64>, WeightingError> {
    inclusion_probabilities
        .iter()
        .enumerate()
        .map(|(row, &p)| {
            if p > 0.0 && p <= 1.0 {
                Ok(1.0 / p)
            } else {
                Err(WeightingError::BadProbability { row, value: p })
            }
        })
        .collect()
}
