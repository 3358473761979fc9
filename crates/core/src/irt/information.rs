//! Item and test information curves and the standard error of ability
//! they imply.
//!
//! The test information is the sum of the item informations (local
//! independence); the standard error of a maximum-likelihood ability at
//! `theta` is `1 / sqrt(I(theta))`, infinite where the information is 0.
//! For a dichotomous item `I = P'^2 / (P Q)`: `a^2 P Q` under the 2PL and
//! `a^2 (Q / P) ((P - c) / (1 - c))^2` under the 3PL.

use super::{IrtError, ItemCurve};

/// One row of an information table: an ability and the information there.
#[derive(Debug, Clone, PartialEq)]
pub struct InformationRow {
    /// The ability.
    pub theta: f64,
    /// Information of each item, in item order.
    pub items: Vec<f64>,
    /// Test information (sum over the items).
    pub total: f64,
    /// Standard error `1 / sqrt(total)` (infinite when `total` is 0).
    pub se: f64,
}

/// Information of one item at each ability.
pub fn item_information<T: ItemCurve>(item: &T, thetas: &[f64]) -> Vec<f64> {
    thetas.iter().map(|&t| item.information(t)).collect()
}

/// Test information (sum of the item informations) at each ability.
pub fn test_information<T: ItemCurve>(items: &[T], thetas: &[f64]) -> Vec<f64> {
    thetas
        .iter()
        .map(|&t| items.iter().map(|i| i.information(t)).sum())
        .collect()
}

/// Standard error `1 / sqrt(I)` of each test information value.
pub fn standard_error(information: &[f64]) -> Vec<f64> {
    information.iter().map(|&i| se_of(i)).collect()
}

fn se_of(information: f64) -> f64 {
    if information > 0.0 {
        1.0 / information.sqrt()
    } else {
        f64::INFINITY
    }
}

/// `n` equally spaced abilities from `lo` to `hi` inclusive, for a table.
pub fn theta_range(lo: f64, hi: f64, n: usize) -> Result<Vec<f64>, IrtError> {
    if n < 2 || !lo.is_finite() || !hi.is_finite() || lo >= hi {
        return Err(IrtError::Option(format!("{n} abilities on [{lo}, {hi}]")));
    }
    let step = (hi - lo) / (n - 1) as f64;
    Ok((0..n).map(|k| lo + step * k as f64).collect())
}

/// The information table a command prints: per ability, each item's
/// information, the test information and the standard error. Fails on no
/// items, no abilities, a non-finite ability or invalid item parameters.
pub fn information_table<T: ItemCurve>(
    items: &[T],
    thetas: &[f64],
) -> Result<Vec<InformationRow>, IrtError> {
    if items.is_empty() || thetas.is_empty() {
        return Err(IrtError::Empty);
    }
    if let Some(t) = thetas.iter().find(|t| !t.is_finite()) {
        return Err(IrtError::Option(format!("ability {t}")));
    }
    if let Some(j) = items.iter().position(|i| !i.is_valid()) {
        return Err(IrtError::Option(format!("item {j}: invalid parameters")));
    }
    Ok(thetas
        .iter()
        .map(|&theta| {
            let items: Vec<f64> = items.iter().map(|i| i.information(theta)).collect();
            let total = items.iter().sum();
            InformationRow {
                theta,
                items,
                total,
                se: se_of(total),
            }
        })
        .collect())
}
