//! Ability estimates (EAP, MAP, MLE, WLE) and plausible values for mixed
//! instruments, with the conventions of [`super::estimate_ability`] and
//! [`super::plausible_values`].
//!
//! The score of a response in category `x` is `d ln P_x / d theta`
//! (`a (x - E[k | theta])` for a GPCM item), the information is the test
//! information (`a^2 Var(k | theta)` per GPCM item, equal to the observed
//! information for the GPCM and 2PL), and Warm's WLE solves
//! `score + J / (2 I) = 0` with `J = sum_j sum_k P_jk' P_jk'' / P_jk`
//! (`a^3` times the third central moment of the category score for a GPCM
//! item). MLE is `+inf` when every answered item is in its top category and
//! `-inf` when every one is in category 0; WLE is finite for both.
//!
//! For several groups, score each group's respondents with its own grid
//! ([`super::MixedCalibration::group_grid`]): EAP, MAP and plausible values
//! use the grid's latent distribution as the prior.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::ability::root;
use super::{Ability, AbilityMethod, CategoryResponses, Grid, IrtError, ItemModel};

/// Respondents per random stream of the plausible values (as pv.rs).
const BLOCK: usize = 1024;

/// Checks that the items fit the responses.
fn check(items: &[ItemModel], responses: &CategoryResponses) -> Result<(), IrtError> {
    if items.len() != responses.n_items() {
        return Err(IrtError::ItemCount {
            params: items.len(),
            items: responses.n_items(),
        });
    }
    if let Some(j) = items
        .iter()
        .zip(responses.categories())
        .position(|(m, &k)| m.n_categories() != k)
    {
        return Err(IrtError::Option(format!(
            "item {j}: the model has {} categories, the responses {}",
            items[j].n_categories(),
            responses.categories()[j]
        )));
    }
    Ok(())
}

/// `ln P(k | theta_q)` of every item, category and grid point:
/// item `j`, category `k`, point `q` at `offsets[j] + k * q_len + q`.
struct Table {
    q_len: usize,
    offsets: Vec<usize>,
    categories: Vec<usize>,
    values: Vec<f64>,
}

impl Table {
    fn new(items: &[ItemModel], grid: &Grid) -> Self {
        let q_len = grid.len();
        let categories: Vec<usize> = items.iter().map(ItemModel::n_categories).collect();
        let mut offsets = Vec::with_capacity(items.len());
        let mut total = 0;
        for &k in &categories {
            offsets.push(total);
            total += k * q_len;
        }
        let mut values = vec![0.0; total];
        let mut buf = vec![0.0; categories.iter().copied().max().unwrap_or(2)];
        for (j, item) in items.iter().enumerate() {
            let k_len = categories[j];
            for (q, &t) in grid.points.iter().enumerate() {
                item.log_probabilities_into(t, &mut buf[..k_len]);
                for (k, v) in buf[..k_len].iter().enumerate() {
                    values[offsets[j] + k * q_len + q] = *v;
                }
            }
        }
        Self {
            q_len,
            offsets,
            categories,
            values,
        }
    }

    /// Normalised posterior over the grid points (codes outside an item's
    /// categories count as missing).
    fn posterior(&self, row: &[u8], grid: &Grid) -> Vec<f64> {
        let mut post = grid.log_weights.clone();
        for (j, &x) in row.iter().enumerate().take(self.offsets.len()) {
            if usize::from(x) >= self.categories[j] {
                continue;
            }
            let at = self.offsets[j] + usize::from(x) * self.q_len;
            for (l, t) in post.iter_mut().zip(&self.values[at..at + self.q_len]) {
                *l += t;
            }
        }
        let max = post.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        let mut sum = 0.0;
        for l in post.iter_mut() {
            *l = (*l - max).exp();
            sum += *l;
        }
        for l in post.iter_mut() {
            *l /= sum;
        }
        post
    }
}

/// Score, test information and Warm's `J` of a row at `theta`.
fn terms(items: &[ItemModel], row: &[u8], theta: f64) -> (f64, f64, f64) {
    let mut out = (0.0, 0.0, 0.0);
    for (item, &x) in items.iter().zip(row) {
        let x = usize::from(x);
        if x >= item.n_categories() {
            continue;
        }
        let (s, i, j) = item.theta_terms(x, theta);
        out.0 += s;
        out.1 += i;
        out.2 += j;
    }
    out
}

/// One respondent's estimate under mixed item models; `row[j]` is a
/// category of item `j` or missing (any code outside `0..K_j` is treated
/// as missing).
pub fn estimate_mixed_ability(
    items: &[ItemModel],
    row: &[u8],
    method: AbilityMethod,
    grid: &Grid,
) -> Ability {
    estimate_with(items, row, method, grid, None)
}

fn estimate_with(
    items: &[ItemModel],
    row: &[u8],
    method: AbilityMethod,
    grid: &Grid,
    table: Option<&Table>,
) -> Ability {
    // Answered items, and how many sit at their lowest / highest category.
    let (mut answered, mut lowest, mut highest) = (0, 0, 0);
    for (item, &x) in items.iter().zip(row) {
        let x = usize::from(x);
        if x < item.n_categories() {
            answered += 1;
            lowest += usize::from(x == 0);
            highest += usize::from(x + 1 == item.n_categories());
        }
    }
    let no_answer = Ability {
        theta: f64::NAN,
        se: f64::INFINITY,
    };
    let with_se = |theta: Result<f64, f64>| match theta {
        Ok(theta) => Ability {
            theta,
            se: 1.0 / terms(items, row, theta).1.sqrt(),
        },
        Err(theta) => Ability {
            theta,
            se: f64::INFINITY,
        },
    };
    match method {
        AbilityMethod::Eap => {
            let post = match table {
                Some(t) => t.posterior(row, grid),
                None => Table::new(items, grid).posterior(row, grid),
            };
            let mean: f64 = post.iter().zip(&grid.points).map(|(p, t)| p * t).sum();
            let var: f64 = post
                .iter()
                .zip(&grid.points)
                .map(|(p, t)| p * (t - mean) * (t - mean))
                .sum();
            Ability {
                theta: mean,
                se: var.sqrt(),
            }
        }
        AbilityMethod::Map => {
            let precision = 1.0 / (grid.sd * grid.sd);
            let theta =
                root(|t| terms(items, row, t).0 - (t - grid.mean) * precision).unwrap_or(f64::NAN);
            Ability {
                theta,
                se: 1.0 / (terms(items, row, theta).1 + precision).sqrt(),
            }
        }
        AbilityMethod::Mle => {
            if answered == 0 {
                return no_answer;
            }
            if highest == answered || lowest == answered {
                let theta = if highest == answered {
                    f64::INFINITY
                } else {
                    f64::NEG_INFINITY
                };
                return Ability {
                    theta,
                    se: f64::INFINITY,
                };
            }
            with_se(root(|t| terms(items, row, t).0))
        }
        AbilityMethod::Wle => {
            if answered == 0 {
                return no_answer;
            }
            with_se(root(|t| {
                let (s, i, j) = terms(items, row, t);
                s + j / (2.0 * i)
            }))
        }
    }
}

/// Estimates for every respondent, in order (parallel over respondents).
pub fn score_mixed(
    items: &[ItemModel],
    responses: &CategoryResponses,
    method: AbilityMethod,
    grid: &Grid,
) -> Result<Vec<Ability>, IrtError> {
    check(items, responses)?;
    let table = (method == AbilityMethod::Eap).then(|| Table::new(items, grid));
    Ok((0..responses.n_respondents())
        .into_par_iter()
        .map(|i| estimate_with(items, responses.row(i), method, grid, table.as_ref()))
        .collect())
}

/// `draws` plausible values per respondent (`result[m][i]`), drawn as
/// [`super::plausible_values`] does: the same seed gives the same values
/// whatever the thread count, and on dichotomous items the same values.
/// Each draw is a grid point with its posterior probability plus a uniform
/// offset of half the mean point spacing either side, which assumes
/// equally spaced points (mirt's rectangular grid, [`Grid::normal`]).
pub fn plausible_values_mixed(
    items: &[ItemModel],
    responses: &CategoryResponses,
    grid: &Grid,
    draws: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>, IrtError> {
    let groups = vec![0; responses.n_respondents()];
    plausible_values_mixed_by_group(
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
/// [`super::MixedCalibration::group_grid`]).
pub fn plausible_values_mixed_by_group(
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
    if groups.len() != n {
        return Err(IrtError::Option(format!(
            "{} group indices for {n} respondents",
            groups.len()
        )));
    }
    if let Some(i) = groups.iter().position(|&g| g >= grids.len()) {
        return Err(IrtError::Option(format!(
            "respondent {i}: group {} without a grid ({} grids)",
            groups[i],
            grids.len()
        )));
    }
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
