//! Ability estimates for one respondent, or for all in parallel, under any
//! mix of item models, each group with its own prior.
//!
//! EAP (posterior mean and SD on the quadrature grid) and MAP (mode of the
//! posterior under the grid's normal prior) shrink toward the prior mean.
//! MLE is `+inf` when every answered item is in its top category and
//! `-inf` when every one is in category 0; WLE (Warm 1989) is finite for
//! both. Standard errors: the posterior SD for EAP,
//! `1 / sqrt(I(theta) + 1 / sd^2)` for MAP and `1 / sqrt(I(theta))` for MLE
//! and WLE (as mirt's `fscores`), with `I` the test information. A
//! respondent with no answers gets the prior (EAP, MAP) or NaN with an
//! infinite standard error (MLE, WLE).
//!
//! The score of a response in category `x` is `d ln P_x / d theta`
//! (`a (x - E[k | theta])` for a GPCM item), the information is the test
//! information (`a^2 Var(k | theta)` per GPCM item, equal to the observed
//! information for the GPCM and 2PL), and Warm's WLE solves
//! `score + J / (2 I) = 0` with `J = sum_j sum_k P_jk' P_jk'' / P_jk`
//! (`a^3` times the third central moment of the category score for a GPCM
//! item, `a^3 P Q (Q - P)` for a 2PL item).
//!
//! Without guessing, WLE is found by Newton's method (its exact slope comes
//! from the fourth cumulant of the category scores); MAP, MLE, and WLE with
//! guessing, by a bracketed root search (Illinois regula falsi) on
//! [-8, 8], widened up to [-64, 64]; beyond that the result is +-inf.
//! Without guessing the equations have one root; under the 3PL the
//! likelihood can have several local maxima and the root found is not
//! guaranteed to be the global one.
//!
//! For several groups, score each group's respondents with its own grid
//! ([`score_by_group`], the grids from
//! [`super::Calibration::group_grids`]): EAP, MAP and plausible values use
//! the grid's latent distribution as the prior.

use rayon::prelude::*;

use super::{CategoryResponses, Grid, IrtError, ItemModel};

/// The estimator of ability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbilityMethod {
    /// Expected a posteriori (posterior mean on the grid).
    Eap,
    /// Maximum a posteriori (posterior mode, normal prior).
    Map,
    /// Maximum likelihood.
    Mle,
    /// Warm's weighted likelihood.
    Wle,
}

/// An ability estimate with its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ability {
    /// The estimate (may be infinite for MLE, NaN without answers).
    pub theta: f64,
    /// Its standard error (posterior SD for EAP).
    pub se: f64,
}

/// Checks that the items fit the responses.
pub(super) fn check(items: &[ItemModel], responses: &CategoryResponses) -> Result<(), IrtError> {
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

/// Checks one group index per respondent, each with a grid.
pub(super) fn check_groups(groups: &[usize], n: usize, grids: &[Grid]) -> Result<(), IrtError> {
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
    Ok(())
}

/// `ln P(k | theta_q)` of every item, category and grid point:
/// item `j`, category `k`, point `q` at `offsets[j] + k * q_len + q`.
pub(super) struct Table {
    q_len: usize,
    offsets: Vec<usize>,
    categories: Vec<usize>,
    values: Vec<f64>,
}

impl Table {
    pub(super) fn new(items: &[ItemModel], grid: &Grid) -> Self {
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
    pub(super) fn posterior(&self, row: &[u8], grid: &Grid) -> Vec<f64> {
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

/// One respondent's estimate; `row[j]` is a category of item `j` or
/// missing (any code outside `0..K_j` is treated as missing).
pub fn estimate_ability(
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
            if let Some(theta) = wle_newton(items, row) {
                return with_se(Ok(theta));
            }
            with_se(root(|t| {
                let (s, i, j) = terms(items, row, t);
                s + j / (2.0 * i)
            }))
        }
    }
}

/// Estimates for every respondent, in order (parallel over respondents).
pub fn score(
    items: &[ItemModel],
    responses: &CategoryResponses,
    method: AbilityMethod,
    grid: &Grid,
) -> Result<Vec<Ability>, IrtError> {
    let groups = vec![0; responses.n_respondents()];
    score_by_group(
        items,
        responses,
        &groups,
        std::slice::from_ref(grid),
        method,
    )
}

/// Estimates for every respondent, respondent `i` under the prior of
/// `grids[groups[i]]` (parallel over respondents).
pub fn score_by_group(
    items: &[ItemModel],
    responses: &CategoryResponses,
    groups: &[usize],
    grids: &[Grid],
    method: AbilityMethod,
) -> Result<Vec<Ability>, IrtError> {
    check(items, responses)?;
    check_groups(groups, responses.n_respondents(), grids)?;
    let tables: Vec<Table> = if method == AbilityMethod::Eap {
        grids.iter().map(|g| Table::new(items, g)).collect()
    } else {
        Vec::new()
    };
    Ok(groups
        .par_iter()
        .enumerate()
        .map(|(i, &g)| estimate_with(items, responses.row(i), method, &grids[g], tables.get(g)))
        .collect())
}

/// Warm's estimating equation without guessing (`c = 0` for every
/// answered dichotomous item), solved by Newton's method with its exact
/// derivative from 0, steps at most 2 long; `None` (the caller then
/// brackets the root) with guessing, if the slope is not negative or it
/// runs past the bracket bound.
///
/// With `k1..k4` the cumulants of an item's category score and `a` its
/// slope: the score is `sum a (x - k1)`, the information `I = sum a^2 k2`,
/// Warm's `J = sum a^3 k3`, and `dI/dtheta = J`, `dJ/dtheta = sum a^4 k4`,
/// so the equation `f = score + J / (2 I)` has slope
/// `-I + (J' I - J^2) / (2 I^2)`. Quadratic convergence: about half the
/// evaluations of the bracketed search.
fn wle_newton(items: &[ItemModel], row: &[u8]) -> Option<f64> {
    let mut theta = 0.0_f64;
    for _ in 0..60 {
        let (mut score, mut info, mut warm, mut warm_slope) = (0.0, 0.0, 0.0, 0.0);
        for (item, &x) in items.iter().zip(row) {
            if usize::from(x) >= item.n_categories() {
                continue;
            }
            let [k1, k2, k3, k4] = item.cumulants(theta)?;
            let a = item.slope();
            let a2 = a * a;
            score += a * (f64::from(x) - k1);
            info += a2 * k2;
            warm += a2 * a * k3;
            warm_slope += a2 * a2 * k4;
        }
        let f = score + warm / (2.0 * info);
        let slope = -info + (warm_slope * info - warm * warm) / (2.0 * info * info);
        if !(slope < 0.0 && f.is_finite()) {
            return None;
        }
        let step = (-f / slope).clamp(-2.0, 2.0);
        theta += step;
        if theta.abs() > BOUND {
            return None;
        }
        if step.abs() < 1e-9 * (1.0 + theta.abs()) {
            return Some(theta);
        }
    }
    None
}

/// Largest bracket tried for a root.
const BOUND: f64 = 64.0;

/// Root of a function positive on the left and negative on the right,
/// bracketed in [-8, 8] and widened up to [-64, 64]; `Err(+-inf)` when it
/// stays of one sign (the root lies beyond the bound).
fn root(f: impl Fn(f64) -> f64) -> Result<f64, f64> {
    let (mut lo, mut hi) = (-8.0, 8.0);
    let (mut flo, mut fhi) = (f(lo), f(hi));
    while flo <= 0.0 && lo > -BOUND {
        hi = lo;
        fhi = flo;
        lo *= 2.0;
        flo = f(lo);
    }
    while fhi >= 0.0 && hi < BOUND {
        lo = hi;
        flo = fhi;
        hi *= 2.0;
        fhi = f(hi);
    }
    if flo.is_nan() || fhi.is_nan() {
        return Err(f64::NAN);
    }
    if flo <= 0.0 {
        return if flo == 0.0 {
            Ok(lo)
        } else {
            Err(f64::NEG_INFINITY)
        };
    }
    if fhi >= 0.0 {
        return if fhi == 0.0 {
            Ok(hi)
        } else {
            Err(f64::INFINITY)
        };
    }
    // Illinois variant of regula falsi: bracketed, superlinear.
    let mut side = 0;
    for _ in 0..200 {
        let x = (lo * fhi - hi * flo) / (fhi - flo);
        let fx = f(x);
        if fx == 0.0 || (hi - lo) < 1e-12 {
            return Ok(x);
        }
        if fx > 0.0 {
            lo = x;
            flo = fx;
            if side == 1 {
                fhi *= 0.5;
            }
            side = 1;
        } else {
            hi = x;
            fhi = fx;
            if side == -1 {
                flo *= 0.5;
            }
            side = -1;
        }
        if (hi - lo).abs() < 1e-11 * (1.0 + x.abs()) {
            return Ok(x);
        }
    }
    Ok(0.5 * (lo + hi))
}
