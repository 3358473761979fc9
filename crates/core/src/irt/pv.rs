//! Plausible values, under any mix of item models, each group with its own
//! prior.
//!
//! Each draw takes a grid point with its posterior probability and then a
//! uniform offset within half the mean point spacing either side (the
//! posterior as a histogram on the grid, which assumes equally spaced
//! points: mirt's rectangular grid, [`Grid::normal`]), so draws are
//! continuous rather than stuck on the grid points. Draws come from
//! ChaCha8 streams, one per block of 1,024 respondents: the same seed gives
//! the same values whatever the thread count.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::ability::{Table, check, check_groups};
use super::{CategoryResponses, Grid, IrtError, ItemModel};

/// Respondents per random stream.
const BLOCK: usize = 1024;

/// `draws` plausible values per respondent: `result[m][i]` is respondent
/// `i`'s value in draw `m` (one complete data set per draw: compute each
/// statistic once per draw, then combine them by Rubin's rules).
pub fn plausible_values(
    items: &[ItemModel],
    responses: &CategoryResponses,
    grid: &Grid,
    draws: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>, IrtError> {
    let groups = vec![0; responses.n_respondents()];
    plausible_values_by_group(
        items,
        responses,
        &groups,
        std::slice::from_ref(grid),
        draws,
        seed,
    )
}

/// Plausible values with a prior per group: respondent `i` draws from the
/// posterior under `grids[groups[i]]` (e.g. the calibration's
/// [`super::Calibration::group_grids`]).
pub fn plausible_values_by_group(
    items: &[ItemModel],
    responses: &CategoryResponses,
    groups: &[usize],
    grids: &[Grid],
    draws: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>, IrtError> {
    check(items, responses)?;
    if draws == 0 {
        return Err(IrtError::Option("zero plausible values".into()));
    }
    let n = responses.n_respondents();
    check_groups(groups, n, grids)?;
    let tables: Vec<Table> = grids.iter().map(|g| Table::new(items, g)).collect();
    let blocks: Vec<Vec<f64>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(b as u64);
            let mut out = Vec::with_capacity(BLOCK * draws);
            let end = ((b + 1) * BLOCK).min(n);
            for (i, &g) in groups.iter().enumerate().take(end).skip(b * BLOCK) {
                let grid = &grids[g];
                let half = 0.5 * grid.step();
                let post = tables[g].posterior(responses.row(i), grid);
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
