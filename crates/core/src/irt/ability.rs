//! Ability estimates for one respondent, or for all in parallel.
//!
//! EAP (posterior mean and SD on the quadrature grid) and MAP (mode of the
//! posterior under the grid's normal prior) shrink toward the prior mean.
//! MLE is infinite for an all-right (`+inf`) or all-wrong (`-inf`) pattern;
//! WLE (Warm 1989) is finite for both. Standard errors: the posterior SD
//! for EAP, `1 / sqrt(I(theta) + 1 / sd^2)` for MAP and `1 / sqrt(I(theta))`
//! for MLE and WLE (as mirt's `fscores`), with `I` the test information.
//! A respondent with no answers gets the prior (EAP, MAP) or NaN with an
//! infinite standard error (MLE, WLE).
//!
//! MAP, MLE and WLE solve their estimating equation by a bracketed root
//! search (Illinois regula falsi) on [-8, 8], widened up to [-64, 64];
//! beyond that the result is +-inf. Under the 2PL the equations have one
//! root; under the 3PL the likelihood can have several local maxima and
//! the root found is not guaranteed to be the global one.

use rayon::prelude::*;

use super::{Grid, IrtError, ItemParams, Responses, log_pq};

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

/// Estimates for every respondent, in order (parallel over respondents).
pub fn score(
    items: &[ItemParams],
    responses: &Responses,
    method: AbilityMethod,
    grid: &Grid,
) -> Result<Vec<Ability>, IrtError> {
    if items.len() != responses.n_items() {
        return Err(IrtError::ItemCount {
            params: items.len(),
            items: responses.n_items(),
        });
    }
    Ok((0..responses.n_respondents())
        .into_par_iter()
        .map(|i| estimate_ability(items, responses.row(i), method, grid))
        .collect())
}

/// One respondent's estimate; `row[j]` is 0, 1 or [`Responses::MISSING`]
/// (any other code is treated as missing).
pub fn estimate_ability(
    items: &[ItemParams],
    row: &[u8],
    method: AbilityMethod,
    grid: &Grid,
) -> Ability {
    match method {
        AbilityMethod::Eap => eap(items, row, grid),
        AbilityMethod::Map => {
            let precision = 1.0 / (grid.sd * grid.sd);
            let f = |t: f64| terms(items, row, t).score - (t - grid.mean) * precision;
            let theta = root(f).unwrap_or(f64::NAN);
            let info = terms(items, row, theta).info;
            Ability {
                theta,
                se: 1.0 / (info + precision).sqrt(),
            }
        }
        AbilityMethod::Mle => {
            let (right, answered) = count(row, items.len());
            if answered == 0 {
                return Ability {
                    theta: f64::NAN,
                    se: f64::INFINITY,
                };
            }
            if right == answered || right == 0 {
                let theta = if right == 0 {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                };
                return Ability {
                    theta,
                    se: f64::INFINITY,
                };
            }
            with_se(items, row, root(|t| terms(items, row, t).score))
        }
        AbilityMethod::Wle => {
            if count(row, items.len()).1 == 0 {
                return Ability {
                    theta: f64::NAN,
                    se: f64::INFINITY,
                };
            }
            let newton = if items.iter().all(|i| i.c == 0.0) {
                wle_newton(items, row)
            } else {
                None
            };
            if let Some(theta) = newton {
                return with_se(items, row, Ok(theta));
            }
            with_se(
                items,
                row,
                root(|t| {
                    let s = terms(items, row, t);
                    s.score + s.warm / (2.0 * s.info)
                }),
            )
        }
    }
}

fn with_se(items: &[ItemParams], row: &[u8], theta: Result<f64, f64>) -> Ability {
    match theta {
        Ok(theta) => Ability {
            theta,
            se: 1.0 / terms(items, row, theta).info.sqrt(),
        },
        Err(theta) => Ability {
            theta,
            se: f64::INFINITY,
        },
    }
}

/// Right answers and answers in a row.
fn count(row: &[u8], n_items: usize) -> (usize, usize) {
    row.iter().take(n_items).fold((0, 0), |(r, n), &x| match x {
        1 => (r + 1, n + 1),
        0 => (r, n + 1),
        _ => (r, n),
    })
}

/// Posterior mean and SD on the grid.
fn eap(items: &[ItemParams], row: &[u8], grid: &Grid) -> Ability {
    let post = posterior(items, row, grid);
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

/// Normalised posterior over the grid points.
pub(crate) fn posterior(items: &[ItemParams], row: &[u8], grid: &Grid) -> Vec<f64> {
    let mut post = grid.log_weights.clone();
    for (item, &x) in items.iter().zip(row) {
        if x > 1 {
            continue;
        }
        for (l, &t) in post.iter_mut().zip(&grid.points) {
            let (lp, lq) = log_pq(item, t);
            *l += if x == 1 { lp } else { lq };
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

/// Log-likelihood score, test information and Warm's `J` at `theta`.
struct Terms {
    score: f64,
    info: f64,
    warm: f64,
}

/// With `s` the logistic part and `P = c + (1 - c) s`:
/// `dP = a (1 - c) s (1 - s)`, `dP / Q = a s`, so the score term is
/// `a (s / P) (x - P)`, the information term `a^2 (1 - c) s (1 - s) s / P`
/// and `P' P'' / (P Q) = a (1 - 2 s)` times the information term; no
/// division by `Q`, which underflows first.
fn terms(items: &[ItemParams], row: &[u8], theta: f64) -> Terms {
    let mut t = Terms {
        score: 0.0,
        info: 0.0,
        warm: 0.0,
    };
    for (item, &x) in items.iter().zip(row) {
        if x > 1 {
            continue;
        }
        let z = item.a * theta + item.d;
        // logistic(z) and logistic(-z) from one exponential (the same
        // values as two calls to `logistic`).
        let e = (-z.abs()).exp();
        let (big, small) = (1.0 / (1.0 + e), e / (1.0 + e));
        let (s, sm) = if z >= 0.0 { (big, small) } else { (small, big) };
        let p = item.c + (1.0 - item.c) * s;
        let ratio = if item.c == 0.0 { 1.0 } else { s / p };
        let resid = if x == 1 { (1.0 - item.c) * sm } else { -p };
        t.score += item.a * ratio * resid;
        let info = item.a * item.a * (1.0 - item.c) * s * sm * ratio;
        t.info += info;
        t.warm += item.a * (sm - s) * info;
    }
    t
}

/// Warm's estimating equation without guessing (`c = 0` for every item),
/// solved by Newton's method with its exact derivative from 0, steps at
/// most 2 long; `None` (the caller then brackets the root) if the slope is
/// not negative or it runs past the bracket bound.
///
/// With `P` the item's probability, `Q = 1 - P`: the score is
/// `sum a (x - P)`, the information `I = sum a^2 P Q`, Warm's `J = sum a^3
/// P Q (Q - P)`, and `dI/dtheta = J`, `dJ/dtheta = sum a^4 P Q (1 - 6 P Q)`,
/// so the equation `f = score + J / (2 I)` has slope
/// `-I + (J' I - J^2) / (2 I^2)`. Quadratic convergence: about half the
/// evaluations of the bracketed search.
fn wle_newton(items: &[ItemParams], row: &[u8]) -> Option<f64> {
    let mut theta = 0.0_f64;
    for _ in 0..60 {
        let (mut score, mut info, mut warm, mut warm_slope) = (0.0, 0.0, 0.0, 0.0);
        for (item, &x) in items.iter().zip(row) {
            if x > 1 {
                continue;
            }
            let z = item.a * theta + item.d;
            let e = (-z.abs()).exp();
            let (big, small) = (1.0 / (1.0 + e), e / (1.0 + e));
            let (p, q) = if z >= 0.0 { (big, small) } else { (small, big) };
            let pq = p * q;
            let a2 = item.a * item.a;
            score += item.a * (if x == 1 { q } else { -p });
            info += a2 * pq;
            warm += a2 * item.a * pq * (q - p);
            warm_slope += a2 * a2 * pq * (1.0 - 6.0 * pq);
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
pub(super) fn root(f: impl Fn(f64) -> f64) -> Result<f64, f64> {
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
