//! PSU totals of residualized linearized values for calibrated designs,
//! computed from category-level aggregates instead of sweeping every row
//! for every domain.
//!
//! R (`svyrecvar`) residualizes a domain's values `x` on the whole sample:
//! for raking, ten sweeps over the margins of `x <- x - w * mean_c(x / w)`
//! (unweighted category means); for post-stratification, `x <- x - w *
//! sum_c x / sum_c w`. In `u = x / w` a sweep subtracts a per-category
//! constant, so after all sweeps `u = u0 - sum_m A_m[cat_m]`, and the
//! constants follow from the domain's category sums of `u0` and the
//! domain-independent cross-counts of categories. The PSU totals are then
//! `sum_{i in j} x_i - sum_m sum_k A_m[k] * (weight of PSU j in category k)`.
//! Same numbers as sweeping the rows (to rounding), at a cost per domain
//! of categories squared plus PSUs times categories.

use crate::design::Design;
use crate::variance::PsuTotals;
use crate::weighting::Margin;

/// R's number of residualization sweeps after raking.
const SWEEPS: usize = 10;

/// Domain-independent aggregates of one calibration.
pub(super) struct Plan {
    /// Offset of each margin's categories in the global category list.
    offsets: Vec<usize>,
    /// Margin codes per row, one slice per margin.
    codes: Vec<Vec<u32>>,
    /// Rows with a non-zero weight in each global category.
    counts: Vec<f64>,
    /// `cross[k * total + l]`: rows (non-zero weight) in categories k and l.
    cross: Vec<f64>,
    /// `psu_weight[j * total + k]`: weight of PSU j's rows in category k.
    psu_weight: Vec<f64>,
    total: usize,
    /// Post-stratification: weighted cell means (one margin, one pass).
    weighted: bool,
    /// Weight sum of each category (post-stratification).
    weight_sums: Vec<f64>,
}

impl Plan {
    /// Aggregates for raking (`weighted = false`) or post-stratification.
    pub(super) fn new(
        design: &Design,
        weights: &[f64],
        margins: &[&Margin],
        weighted: bool,
    ) -> Plan {
        let mut offsets = Vec::with_capacity(margins.len());
        let mut total = 0;
        for m in margins {
            offsets.push(total);
            total += m.categories().len();
        }
        let codes: Vec<Vec<u32>> = margins.iter().map(|m| m.codes().to_vec()).collect();
        let mut counts = vec![0.0; total];
        let mut weight_sums = vec![0.0; total];
        let mut cross = vec![0.0; total * total];
        let mut psu_weight = vec![0.0; design.n_psus() * total];
        let mut cats = vec![0usize; margins.len()];
        for (row, &w) in weights.iter().enumerate() {
            for (m, c) in cats.iter_mut().enumerate() {
                *c = offsets[m] + codes[m][row] as usize;
            }
            let j = design.row_psu()[row] as usize;
            for &k in &cats {
                psu_weight[j * total + k] += w;
                weight_sums[k] += w;
            }
            if w != 0.0 {
                for &k in &cats {
                    counts[k] += 1.0;
                    for &l in &cats {
                        cross[k * total + l] += 1.0;
                    }
                }
            }
        }
        Plan {
            offsets,
            codes,
            counts,
            cross,
            psu_weight,
            total,
            weighted,
            weight_sums,
        }
    }

    /// PSU totals of the residualized values of a domain whose linearized
    /// values are `x` on `rows` (zero elsewhere).
    pub(super) fn psu_totals(
        &self,
        design: &Design,
        weights: &[f64],
        x: impl Fn(usize) -> f64,
        rows: &[u32],
    ) -> PsuTotals {
        let total = self.total;
        // Per category: sum of u0 = x / w (raking) or of x (post-strata).
        let mut s0 = vec![0.0; total];
        let mut psu_x = vec![0.0; design.n_psus()];
        for &row in rows {
            let row = row as usize;
            let (xi, w) = (x(row), weights[row]);
            psu_x[design.row_psu()[row] as usize] += xi;
            if w == 0.0 {
                continue;
            }
            for (m, codes) in self.codes.iter().enumerate() {
                let k = self.offsets[m] + codes[row] as usize;
                s0[k] += if self.weighted { xi } else { xi / w };
            }
        }
        let mut a = vec![0.0; total];
        if self.weighted {
            for k in 0..total {
                if self.weight_sums[k] > 0.0 {
                    a[k] = s0[k] / self.weight_sums[k];
                }
            }
        } else {
            for _ in 0..SWEEPS {
                for (m, &offset) in self.offsets.iter().enumerate() {
                    let end = self.offsets.get(m + 1).copied().unwrap_or(total);
                    for k in offset..end {
                        if self.counts[k] == 0.0 {
                            continue;
                        }
                        let row = &self.cross[k * total..(k + 1) * total];
                        let taken: f64 = row.iter().zip(&a).map(|(c, a)| c * a).sum();
                        a[k] += (s0[k] - taken) / self.counts[k];
                    }
                }
            }
        }
        let entries = (0..design.n_psus())
            .map(|j| {
                let weights = &self.psu_weight[j * total..(j + 1) * total];
                let adjust: f64 = weights.iter().zip(&a).map(|(w, a)| w * a).sum();
                (u32::try_from(j).unwrap_or(u32::MAX), psu_x[j] - adjust)
            })
            .collect();
        PsuTotals::from_entries(entries)
    }
}
