//! An item's category probabilities written out from the models'
//! definitions, independent of the engine (for the IRT tests' direct
//! likelihoods).

use literacy_core::irt::ItemModel;

/// `P(x | theta)` of an item, written out from the models' definitions:
/// `c + (1 - c) / (1 + exp(-(a t + d)))` right for a right/wrong item,
/// `exp(a k t + d_k) / sum` (with d_0 = 0) for a GPCM item.
pub fn probability(item: &ItemModel, x: usize, t: f64) -> f64 {
    match item {
        ItemModel::Dichotomous(p) => {
            let right = p.c + (1.0 - p.c) / (1.0 + (-(p.a * t + p.d)).exp());
            if x == 1 { right } else { 1.0 - right }
        }
        ItemModel::Gpcm { a, d } => {
            let z = |k: usize| {
                if k == 0 {
                    0.0
                } else {
                    a * k as f64 * t + d[k - 1]
                }
            };
            let total: f64 = (0..=d.len()).map(|k| z(k).exp()).sum();
            z(x).exp() / total
        }
    }
}
