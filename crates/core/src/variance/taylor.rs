//! Taylor-linearization variance of a statistic from its linearized values
//! (influence values) summed per PSU, with R `survey`'s conventions: PSUs
//! with replacement within strata (ultimate cluster), `n_h / (n_h - 1)`,
//! the stratum's fpc, and the lonely-PSU rule.

use rayon::prelude::*;

use crate::design::{Design, LonelyPsu};

/// Linearized values summed per PSU, for the PSUs with rows in the analysis
/// (sorted by PSU index). A PSU listed with a zero total still counts as
/// present: R keeps a domain's PSUs whose rows are in the subset.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PsuTotals {
    entries: Vec<(u32, f64)>,
}

impl PsuTotals {
    /// The (PSU, total) pairs.
    pub fn entries(&self) -> &[(u32, f64)] {
        &self.entries
    }

    /// Builds totals from (PSU, total) pairs (sorted and merged here).
    pub fn from_entries(mut entries: Vec<(u32, f64)>) -> Self {
        entries.sort_by_key(|&(psu, _)| psu);
        let mut merged: Vec<(u32, f64)> = Vec::with_capacity(entries.len());
        for (psu, t) in entries {
            match merged.last_mut() {
                Some((last, total)) if *last == psu => *total += t,
                _ => merged.push((psu, t)),
            }
        }
        Self { entries: merged }
    }

    /// `sum_k coef_k * totals_k`, over the union of their PSUs (for
    /// differences between domains, with their covariance).
    pub fn combine(parts: &[(f64, &PsuTotals)]) -> Self {
        let entries = parts
            .iter()
            .flat_map(|(coef, t)| t.entries.iter().map(move |&(psu, x)| (psu, coef * x)))
            .collect();
        Self::from_entries(entries)
    }
}

/// Sums `x` over the rows of each PSU where `member` holds (in row order);
/// a PSU is present when it has at least one such row.
pub fn psu_totals(design: &Design, x: &[f64], member: impl Fn(usize) -> bool + Sync) -> PsuTotals {
    let entries = (0..design.n_psus())
        .into_par_iter()
        .filter_map(|j| {
            let mut present = false;
            let mut total = 0.0;
            for &row in design.psu_rows(j) {
                let row = row as usize;
                if member(row) {
                    present = true;
                    total += x[row];
                }
            }
            present.then_some((u32::try_from(j).unwrap_or(u32::MAX), total))
        })
        .collect();
    PsuTotals { entries }
}

/// Variance of a statistic from the PSU totals of its linearized values.
///
/// For each stratum h present (with a PSU in `totals`) with `n_h` sampled
/// PSUs, its totals padded with zeros to `n_h` values:
/// `V_h = f_h * n_h / (n_h - 1) * sum_j (t_j - mean_j t)^2`. A stratum with a
/// single PSU adds 0 (`certainty`, `remove`), `f_h t^2` (`adjust`), or is
/// left out with `V` scaled by (strata present) / (strata with more than
/// one PSU) (`average`). Strata with `f_h` < 1e-7 (censuses) add 0.
pub fn variance(design: &Design, totals: &PsuTotals) -> f64 {
    let h_count = design.n_strata();
    let psu_stratum = design.psu_stratum();
    let mut sum = vec![0.0; h_count];
    let mut present = vec![0usize; h_count];
    for &(psu, t) in &totals.entries {
        let h = psu_stratum[psu as usize] as usize;
        sum[h] += t;
        present[h] += 1;
    }
    let n_h = design.stratum_psus();
    let mean: Vec<f64> = (0..h_count)
        .map(|h| sum[h] / f64::from(n_h[h].max(1)))
        .collect();
    let mut squares = vec![0.0; h_count];
    for &(psu, t) in &totals.entries {
        let h = psu_stratum[psu as usize] as usize;
        squares[h] += (t - mean[h]) * (t - mean[h]);
    }
    let fpc = design.stratum_fpc();
    let (mut v, mut strata, mut ok) = (0.0, 0usize, 0usize);
    for h in 0..h_count {
        if present[h] == 0 {
            continue;
        }
        strata += 1;
        let f = fpc[h];
        if f < 1e-7 {
            ok += 1;
            continue;
        }
        let n = f64::from(n_h[h]);
        if n_h[h] > 1 {
            // The zero totals of absent PSUs each add mean^2.
            let padded = squares[h] + (n - present[h] as f64) * mean[h] * mean[h];
            v += f * n / (n - 1.0) * padded;
            ok += 1;
        } else {
            match design.lonely() {
                LonelyPsu::Certainty | LonelyPsu::Remove | LonelyPsu::Fail => ok += 1,
                LonelyPsu::Adjust => {
                    v += f * sum[h] * sum[h];
                    ok += 1;
                }
                LonelyPsu::Average => {}
            }
        }
    }
    if ok == strata {
        v
    } else if ok == 0 {
        f64::NAN
    } else {
        v * strata as f64 / ok as f64
    }
}
