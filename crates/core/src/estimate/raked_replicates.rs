//! Replicate estimates when raking is the only weighting step, computed on
//! cells instead of rows.
//!
//! A replicate's weights are the raked weights times one multiplier per
//! PSU, and raking them again only needs the weight totals of the cells of
//! the margins' crossing. So the rows are summed once into groups (PSU x
//! cell x domain); each replicate then rakes its cell table (a few hundred
//! cells) and sums its domains from the groups. The same solution as
//! raking the rows (tested against it), for the cost of one pass over the
//! groups per replicate.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::design::Design;
use crate::variance::Replicates;
use crate::weighting::{Margin, RakeOptions, WeightingError};

use super::{EstimateError, Statistic};

/// Largest crossing of the margins handled on cells.
pub(super) const MAX_CELLS: usize = 1 << 22;

struct Group {
    psu: u32,
    cell: u32,
    domain: u32,
    w: f64,
    /// `sum w y`, one per outcome.
    wy: Vec<f64>,
}

/// Each replicate's estimate of each outcome in each domain
/// (`result[r][k][d]`), or `None` when the margins' crossing is too large
/// for cells. The cells are raked once per replicate for all outcomes.
#[expect(clippy::too_many_arguments, reason = "one private computation")]
pub(super) fn thetas(
    design: &Design,
    raked: &[f64],
    ys: &[&[f64]],
    row_domain: &[u32],
    n_domains: usize,
    replicates: &Replicates,
    margins: &[Margin],
    options: RakeOptions,
    statistic: Statistic,
) -> Option<Result<Vec<Vec<Vec<f64>>>, EstimateError>> {
    let sizes: Vec<usize> = margins.iter().map(|m| m.categories().len()).collect();
    let n_cells = sizes
        .iter()
        .try_fold(1usize, |acc, &k| acc.checked_mul(k))
        .filter(|&n| n <= MAX_CELLS)?;
    let mut strides = vec![1usize; margins.len()];
    for m in 1..margins.len() {
        strides[m] = strides[m - 1] * sizes[m - 1];
    }
    // Rows into groups, summed in row order.
    let mut index: HashMap<(u32, u32, u32), usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for row in 0..design.n() {
        let cell: usize = margins
            .iter()
            .zip(&strides)
            .map(|(m, s)| m.codes()[row] as usize * s)
            .sum();
        let key = (
            design.row_psu()[row],
            u32::try_from(cell).unwrap_or(u32::MAX),
            row_domain[row],
        );
        let g = *index.entry(key).or_insert_with(|| {
            groups.push(Group {
                psu: key.0,
                cell: key.1,
                domain: key.2,
                w: 0.0,
                wy: vec![0.0; ys.len()],
            });
            groups.len() - 1
        });
        let group = &mut groups[g];
        group.w += raked[row];
        for (wy, y) in group.wy.iter_mut().zip(ys) {
            *wy += raked[row] * y[row];
        }
    }
    groups.sort_by_key(|g| (g.psu, g.cell, g.domain));
    // The category of each cell in each margin.
    let cell_category: Vec<Vec<u32>> = (0..margins.len())
        .map(|m| {
            (0..n_cells)
                .map(|c| u32::try_from((c / strides[m]) % sizes[m]).unwrap_or(u32::MAX))
                .collect()
        })
        .collect();
    Some(
        (0..replicates.len())
            .into_par_iter()
            .map(|r| {
                let a = replicates.factors(r);
                let mut table = vec![0.0; n_cells];
                for g in &groups {
                    table[g.cell as usize] += a[g.psu as usize] * g.w;
                }
                let factor =
                    rake_cells(&table, margins, &cell_category, options).map_err(|source| {
                        EstimateError::Replicate {
                            replicate: r + 1,
                            source,
                        }
                    })?;
                let mut sw = vec![0.0; n_domains];
                let mut swy = vec![vec![0.0; n_domains]; ys.len()];
                for g in &groups {
                    let d = g.domain as usize;
                    if d < n_domains {
                        let f = a[g.psu as usize] * factor[g.cell as usize];
                        sw[d] += f * g.w;
                        for (s, wy) in swy.iter_mut().zip(&g.wy) {
                            s[d] += f * wy;
                        }
                    }
                }
                Ok(swy
                    .into_iter()
                    .map(|s| {
                        s.into_iter()
                            .zip(&sw)
                            .map(|(swy, sw)| match statistic {
                                Statistic::Mean => swy / sw,
                                Statistic::Total => swy,
                            })
                            .collect()
                    })
                    .collect())
            })
            .collect(),
    )
}

/// Iterative proportional fitting of a cell table to the margins; returns
/// each cell's factor. Stops when every margin is within `tolerance`
/// (relative), as row-level raking does.
fn rake_cells(
    table: &[f64],
    margins: &[Margin],
    cell_category: &[Vec<u32>],
    options: RakeOptions,
) -> Result<Vec<f64>, WeightingError> {
    let mut factor = vec![1.0; table.len()];
    let margin_sums = |factor: &[f64], m: usize| {
        let mut sums = vec![0.0; margins[m].categories().len()];
        for ((&t, &f), &k) in table.iter().zip(factor).zip(&cell_category[m]) {
            sums[k as usize] += t * f;
        }
        sums
    };
    for _ in 0..options.max_iterations {
        for (m, margin) in margins.iter().enumerate() {
            let sums = margin_sums(&factor, m);
            let mut adjust = vec![1.0; sums.len()];
            for (k, (&sum, &target)) in sums.iter().zip(margin.totals()).enumerate() {
                if sum > 0.0 {
                    adjust[k] = target / sum;
                } else if target > 0.0 {
                    return Err(WeightingError::EmptyCategory {
                        variable: margin.variable().to_string(),
                        category: margin.categories()[k].clone(),
                    });
                }
            }
            for (f, &k) in factor.iter_mut().zip(&cell_category[m]) {
                *f *= adjust[k as usize];
            }
        }
        let worst = (0..margins.len())
            .flat_map(|m| {
                margin_sums(&factor, m)
                    .into_iter()
                    .zip(margins[m].totals().to_vec())
                    .collect::<Vec<_>>()
            })
            .map(|(sum, target)| {
                if target > 0.0 {
                    (sum - target).abs() / target
                } else {
                    sum.abs()
                }
            })
            .fold(0.0, f64::max);
        if worst <= options.tolerance {
            break;
        }
    }
    Ok(factor)
}
