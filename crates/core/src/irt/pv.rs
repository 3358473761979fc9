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
