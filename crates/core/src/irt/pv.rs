//! Plausible values and Rubin's rules.
//!
//! Each draw takes a grid point with its posterior probability and then a
//! uniform offset within half a grid step either side (the posterior as a
//! histogram on the grid), so draws are continuous rather than stuck on the
//! grid points. Draws come from ChaCha8 streams, one per block of 1,024
//! respondents: the same seed gives the same values whatever the thread
//! count.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::ability::posterior;
use super::{Grid, IrtError, ItemParams, Responses};

const BLOCK: usize = 1024;

/// `draws` plausible values per respondent: `result[m][i]` is respondent
/// `i`'s value in draw `m` (one complete data set per draw, as each
/// statistic is computed once per draw and then combined by [`rubin`]).
pub fn plausible_values(
    items: &[ItemParams],
    responses: &Responses,
    grid: &Grid,
    draws: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>, IrtError> {
    if items.len() != responses.n_items() {
        return Err(IrtError::ItemCount {
            params: items.len(),
            items: responses.n_items(),
        });
    }
    if draws == 0 {
        return Err(IrtError::Option("zero plausible values".into()));
    }
    let n = responses.n_respondents();
    let half = 0.5 * grid.step();
    let blocks: Vec<Vec<f64>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(b as u64);
            let mut out = Vec::with_capacity(BLOCK * draws);
            for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                let post = posterior(items, responses.row(i), grid);
                for _ in 0..draws {
                    let u: f64 = rng.random();
                    let mut acc = 0.0;
                    let mut k = post.len() - 1;
                    for (q, p) in post.iter().enumerate() {
                        acc += p;
                        if u < acc {
                            k = q;
                            break;
                        }
                    }
                    let jitter: f64 = rng.random::<f64>() * 2.0 - 1.0;
                    out.push(grid.points[k] + half * jitter);
                }
            }
            out
        })
        .collect();
    let mut result = vec![Vec::with_capacity(n); draws];
    for block in &blocks {
        for values in block.chunks(draws) {
            for (m, v) in values.iter().enumerate() {
                result[m].push(*v);
            }
        }
    }
    Ok(result)
}

/// Rubin's rules for `M` completed-data estimates and their sampling
/// variances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RubinCombined {
    /// Mean of the estimates.
    pub estimate: f64,
    /// Mean of the sampling variances (within-imputation variance `W`).
    pub within: f64,
    /// Variance of the estimates, divisor `M - 1` (between variance `B`).
    pub between: f64,
    /// `W + (1 + 1/M) B`.
    pub total: f64,
    /// Square root of the total variance.
    pub se: f64,
    /// Rubin's (1987) degrees of freedom
    /// `(M - 1) (1 + W / ((1 + 1/M) B))^2`; infinite when `B = 0`.
    pub df: f64,
}

/// Combines `estimates[m]` with sampling variances `variances[m]`, one per
/// plausible value; needs at least two.
pub fn rubin(estimates: &[f64], variances: &[f64]) -> Result<RubinCombined, IrtError> {
    let m = estimates.len();
    if m < 2 || variances.len() != m {
        return Err(IrtError::Option(format!(
            "Rubin's rules need >= 2 estimates with one variance each ({m} and {})",
            variances.len()
        )));
    }
    let mf = m as f64;
    let estimate = estimates.iter().sum::<f64>() / mf;
    let within = variances.iter().sum::<f64>() / mf;
    let between = estimates
        .iter()
        .map(|e| (e - estimate) * (e - estimate))
        .sum::<f64>()
        / (mf - 1.0);
    let extra = (1.0 + 1.0 / mf) * between;
    let total = within + extra;
    let df = if extra > 0.0 {
        (mf - 1.0) * (1.0 + within / extra).powi(2)
    } else {
        f64::INFINITY
    };
    Ok(RubinCombined {
        estimate,
        within,
        between,
        total,
        se: total.sqrt(),
        df,
    })
}
