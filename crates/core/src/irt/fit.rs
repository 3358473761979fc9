//! Item fit: infit and outfit mean squares with their standardized forms,
//! and Orlando and Thissen's summed-score statistic S-X2.
//!
//! **Mean squares** (Wright and Masters 1982, *Rating Scale Analysis*,
//! ch. 5). With `E`, `W` and `C` the expected score, its variance and its
//! fourth central moment at a respondent's ability, and `x` the answer:
//! outfit is the mean of `(x - E)^2 / W` over the item's answers, infit is
//! `sum (x - E)^2 / sum W`. Their model variances are
//! `q_out^2 = sum(C / W^2) / N^2 - 1 / N` and
//! `q_in^2 = sum(C - W^2) / (sum W)^2`, and the standardized `t` is the
//! Wilson-Hilferty cube-root transform `(MS^(1/3) - 1) (3 / q) + q / 3`.
//! Missing answers and respondents whose ability is not finite (an ML
//! estimate of an all-right or all-wrong pattern) are skipped; answers
//! with `W <= 1e-10` enter infit but not outfit (their standardized
//! residual is undefined), as PyPI mirt does. The `t` values are only
//! approximately standard normal when the abilities do not come from the
//! same responses (EAP scores make every item look overfitting).
//!
//! **S-X2** (Orlando and Thissen 2000, *Applied Psychological Measurement*
//! 24, 50-64). For each summed score `s` of the complete respondents, the
//! observed proportion right on item `j` is compared with the model's
//! `E_js = integral P_j(theta) f_(-j)(s - 1 | theta) g(theta) /
//! integral f(s | theta) g(theta)`, where `f` and `f_(-j)` are the
//! summed-score distributions of the whole test and of the test without
//! item `j` (Lord and Wingersky 1984 recursion) and `g` is the latent
//! distribution on the quadrature grid. The statistic is the Pearson
//! `sum (O - E)^2 / E` over right and wrong cells of the score groups.
//!
//! **Collapsing sparse cells** follows R mirt's `collapseCells` for
//! dichotomous items (`R/utils.R` of github.com/philchalmers/mirt), so
//! results match mirt's `itemfit(fit_stats = "S_X2")`:
//! 1. scores 0 and the maximum are dropped (they carry no information),
//!    and so are scores no respondent has;
//! 2. going up the scores, a group with exactly one respondent is merged
//!    into the next group; if the last group then has exactly one, it is
//!    merged into the one below;
//! 3. while some cell has an expected count in `(0, min_expected)` (mirt's
//!    `mincell`, default 1) and two groups or more are left, the lowest
//!    such group is merged into a neighbour: the first group into the
//!    second, the last into the one below, otherwise into the neighbour
//!    with fewer respondents (the lower one on a tie).
//!
//! Degrees of freedom: the number of cells with a positive expected count,
//! minus one per group, minus the item's estimated parameters; the p-value
//! is the chi-squared upper tail (NaN when df <= 0). Respondents with a
//! missing answer are left out of S-X2 (mirt requires complete data).

use rayon::prelude::*;
use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::{Grid, IrtError, ItemCurve, Model, Responses};

/// Respondents per block: partial sums are added in block order, so the
/// result does not depend on the thread count.
const BLOCK: usize = 1024;

/// Answers with a score variance at or below this enter infit only.
const MIN_VARIANCE: f64 = 1e-10;

/// Infit and outfit of one item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSquareFit {
    /// Information-weighted mean square `sum (x - E)^2 / sum W`.
    pub infit: f64,
    /// Wilson-Hilferty standardized infit.
    pub infit_t: f64,
    /// Unweighted mean square: the mean of `(x - E)^2 / W`.
    pub outfit: f64,
    /// Wilson-Hilferty standardized outfit.
    pub outfit_t: f64,
    /// Answers counted in the outfit.
    pub n: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    squared: f64,
    variance: f64,
    infit_kurtosis: f64,
    outfit: f64,
    outfit_kurtosis: f64,
    n: usize,
}

impl Sums {
    fn add(&mut self, other: &Sums) {
        self.squared += other.squared;
        self.variance += other.variance;
        self.infit_kurtosis += other.infit_kurtosis;
        self.outfit += other.outfit;
        self.outfit_kurtosis += other.outfit_kurtosis;
        self.n += other.n;
    }
}

fn check_items<T: ItemCurve>(items: &[T], responses: &Responses) -> Result<(), IrtError> {
    if items.len() != responses.n_items() {
        return Err(IrtError::ItemCount {
            params: items.len(),
            items: responses.n_items(),
        });
    }
    if let Some(j) = items.iter().position(|i| !i.is_valid()) {
        return Err(IrtError::Option(format!("item {j}: invalid parameters")));
    }
    Ok(())
}

/// Infit and outfit mean squares of each item, with their standardized
/// values, given one ability per respondent (parallel over respondents).
pub fn mean_square_fit<T: ItemCurve>(
    items: &[T],
    responses: &Responses,
    theta: &[f64],
) -> Result<Vec<MeanSquareFit>, IrtError> {
    check_items(items, responses)?;
    let n = responses.n_respondents();
    if theta.len() != n {
        return Err(IrtError::Option(format!(
            "{} abilities for {n} respondents",
            theta.len()
        )));
    }
    let n_items = items.len();
    let blocks: Vec<Vec<Sums>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut sums = vec![Sums::default(); n_items];
            let (start, end) = (b * BLOCK, ((b + 1) * BLOCK).min(n));
            for (i, &t) in (start..end).zip(&theta[start..end]) {
                if !t.is_finite() {
                    continue;
                }
                for ((item, &x), s) in items.iter().zip(responses.row(i)).zip(&mut sums) {
                    if x == Responses::MISSING {
                        continue;
                    }
                    let m = item.score_moments(t);
                    let r2 = (f64::from(x) - m.mean).powi(2);
                    let w = m.variance.max(0.0);
                    s.squared += r2;
                    s.variance += w;
                    s.infit_kurtosis += m.fourth - w * w;
                    if w > MIN_VARIANCE {
                        s.outfit += r2 / w;
                        s.outfit_kurtosis += m.fourth / (w * w);
                        s.n += 1;
                    }
                }
            }
            sums
        })
        .collect();
    let mut total = vec![Sums::default(); n_items];
    for block in &blocks {
        for (t, s) in total.iter_mut().zip(block) {
            t.add(s);
        }
    }
    Ok(total
        .iter()
        .map(|s| {
            let (infit, q2_in) = if s.variance > MIN_VARIANCE {
                (
                    s.squared / s.variance,
                    s.infit_kurtosis / (s.variance * s.variance),
                )
            } else {
                (f64::NAN, f64::NAN)
            };
            let (outfit, q2_out) = if s.n > 0 {
                let n = s.n as f64;
                (s.outfit / n, (s.outfit_kurtosis / n - 1.0) / n)
            } else {
                (f64::NAN, f64::NAN)
            };
            MeanSquareFit {
                infit,
                infit_t: wilson_hilferty(infit, q2_in),
                outfit,
                outfit_t: wilson_hilferty(outfit, q2_out),
                n: s.n,
            }
        })
        .collect())
}

/// `(MS^(1/3) - 1) (3 / q) + q / 3`, NaN when undefined.
fn wilson_hilferty(mean_square: f64, variance: f64) -> f64 {
    if mean_square.is_finite() && variance.is_finite() && variance > 0.0 {
        let q = variance.sqrt();
        (mean_square.cbrt() - 1.0) * (3.0 / q) + q / 3.0
    } else {
        f64::NAN
    }
}

/// Distribution of the summed score at `theta` (Lord and Wingersky 1984):
/// `result[s]` is the probability of a total of `s`, for `s` from 0 to the
/// sum of the items' maximum scores.
pub fn summed_score_distribution<T: ItemCurve>(items: &[T], theta: f64) -> Vec<f64> {
    let max: usize = items.iter().map(ItemCurve::max_score).sum();
    let mut dist = Vec::with_capacity(max + 1);
    dist.push(1.0);
    let mut next = Vec::with_capacity(max + 1);
    let mut p = Vec::new();
    for item in items {
        let m = item.max_score();
        p.resize(m + 1, 0.0);
        item.category_probabilities(theta, &mut p);
        next.clear();
        next.resize(dist.len() + m, 0.0);
        for (s, &ds) in dist.iter().enumerate() {
            for (k, &pk) in p.iter().enumerate() {
                next[s + k] += ds * pk;
            }
        }
        std::mem::swap(&mut dist, &mut next);
    }
    dist
}

/// Options of S-X2.
#[derive(Debug, Clone, PartialEq)]
pub struct SX2Options {
    /// Smallest expected count of a cell before its score group is merged
    /// with a neighbour (mirt's `mincell`, default 1).
    pub min_expected: f64,
    /// Estimated parameters of each item, subtracted from the degrees of
    /// freedom (2 for a 2PL item, 3 for a 3PL item, 1 for a Rasch item).
    pub parameters: Vec<usize>,
}

impl SX2Options {
    /// mirt's minimum expected count of 1, with the given parameter counts.
    pub fn new(parameters: Vec<usize>) -> Self {
        Self {
            min_expected: 1.0,
            parameters,
        }
    }

    /// For `n_items` items calibrated under `model`: 1 parameter per item
    /// (Rasch, and the 1PL, whose common slope is not charged to any one
    /// item), 2 (2PL) or 3 (3PL).
    pub fn for_model(model: Model, n_items: usize) -> Self {
        let k = match model {
            Model::Rasch | Model::OnePl => 1,
            Model::TwoPl => 2,
            Model::ThreePl => 3,
        };
        Self::new(vec![k; n_items])
    }
}

/// S-X2 of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemSX2 {
    /// The statistic (infinite when a cell with zero expected count has
    /// respondents).
    pub statistic: f64,
    /// Degrees of freedom after collapsing (may be 0 or negative).
    pub df: i64,
    /// Chi-squared upper-tail p-value (NaN when `df <= 0`).
    pub p_value: f64,
    /// mirt's `RMSEA.S_X2`: `sqrt(max(S-X2 / df - 1, 0) / (N - 1))`.
    pub rmsea: f64,
    /// Score groups left after collapsing.
    pub groups: usize,
}

/// S-X2 for every item.
#[derive(Debug, Clone, PartialEq)]
pub struct SX2Report {
    /// Per item, in item order.
    pub items: Vec<ItemSX2>,
    /// Respondents with no missing answer (the only ones used).
    pub complete: usize,
}

/// One score group: observed and expected wrong and right counts.
#[derive(Debug, Clone, Copy)]
struct Group {
    observed: [f64; 2],
    expected: [f64; 2],
}

impl Group {
    fn merge(&mut self, other: &Group) {
        for k in 0..2 {
            self.observed[k] += other.observed[k];
            self.expected[k] += other.expected[k];
        }
    }

    fn respondents(&self) -> f64 {
        self.observed[0] + self.observed[1]
    }
}

/// Orlando-Thissen S-X2 for dichotomous items, the latent distribution
/// given by the quadrature grid (its points and weights). See the module
/// documentation for the collapsing rule and the degrees of freedom.
pub fn s_x2<T: ItemCurve>(
    items: &[T],
    responses: &Responses,
    grid: &Grid,
    options: &SX2Options,
) -> Result<SX2Report, IrtError> {
    check_items(items, responses)?;
    let n_items = items.len();
    if let Some(j) = items.iter().position(|i| i.max_score() != 1) {
        return Err(IrtError::Option(format!(
            "item {j}: S-X2 here needs dichotomous items"
        )));
    }
    if n_items < 2 {
        return Err(IrtError::Option("S-X2 needs at least two items".into()));
    }
    if options.parameters.len() != n_items {
        return Err(IrtError::Option(format!(
            "{} parameter counts for {n_items} items",
            options.parameters.len()
        )));
    }
    if !(options.min_expected.is_finite() && options.min_expected >= 0.0) {
        return Err(IrtError::Option(format!(
            "minimum expected count {}",
            options.min_expected
        )));
    }
    if grid.is_empty() || grid.points.iter().any(|t| !t.is_finite()) {
        return Err(IrtError::Option("quadrature grid".into()));
    }
    // Observed tables over complete respondents, by blocks in parallel
    // (integer counts: exact in any order). `table[s]` is the number with
    // summed score `s`, `table[(j + 1) * (max + 1) + s]` those of them right
    // on item `j`.
    let max = n_items;
    let width = max + 1;
    let n = responses.n_respondents();
    let (table, complete) = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut table = vec![0u64; width * (n_items + 1)];
            let mut complete = 0usize;
            for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                let row = responses.row(i);
                if row.contains(&Responses::MISSING) {
                    continue;
                }
                complete += 1;
                let s: usize = row.iter().map(|&x| usize::from(x)).sum();
                table[s] += 1;
                for (j, &x) in row.iter().enumerate() {
                    table[(j + 1) * width + s] += u64::from(x);
                }
            }
            (table, complete)
        })
        .reduce(
            || (vec![0u64; width * (n_items + 1)], 0),
            |(mut t, c), (u, d)| {
                t.iter_mut().zip(&u).for_each(|(x, y)| *x += y);
                (t, c + d)
            },
        );
    let per_score: Vec<f64> = table[..width].iter().map(|&c| c as f64).collect();
    let right: Vec<Vec<f64>> = (0..n_items)
        .map(|j| {
            table[(j + 1) * width..(j + 2) * width]
                .iter()
                .map(|&c| c as f64)
                .collect()
        })
        .collect();
    if complete == 0 {
        return Err(IrtError::Empty);
    }
    let weights: Vec<f64> = grid.log_weights.iter().map(|l| l.exp()).collect();
    // Marginal summed-score probabilities.
    let mut marginal = vec![0.0; max + 1];
    for (&t, &w) in grid.points.iter().zip(&weights) {
        for (m, f) in marginal.iter_mut().zip(summed_score_distribution(items, t)) {
            *m += w * f;
        }
    }
    if let Some(s) = (0..=max).find(|&s| per_score[s] > 0.0 && marginal[s] <= 0.0) {
        return Err(IrtError::Option(format!(
            "summed score {s} is observed but has probability 0 under the model"
        )));
    }
    let n_used = complete as f64;
    let items_out: Vec<ItemSX2> = (0..n_items)
        .into_par_iter()
        .map(|j| {
            // Joint probability of a right answer on j and a total of s.
            let others: Vec<T> = items
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != j)
                .map(|(_, i)| i.clone())
                .collect();
            let mut joint = vec![0.0; max + 1];
            for (&t, &w) in grid.points.iter().zip(&weights) {
                let p = items[j].expected_score(t);
                for (s, f) in summed_score_distribution(&others, t).iter().enumerate() {
                    joint[s + 1] += w * p * f;
                }
            }
            let mut groups: Vec<Group> = (1..max)
                .filter(|&s| per_score[s] > 0.0)
                .map(|s| {
                    let n = per_score[s];
                    let e = joint[s] / marginal[s];
                    Group {
                        observed: [n - right[j][s], right[j][s]],
                        expected: [n * (1.0 - e), n * e],
                    }
                })
                .collect();
            collapse(&mut groups, options.min_expected);
            let (mut statistic, mut cells) = (0.0, 0i64);
            for g in &groups {
                for k in 0..2 {
                    let (o, e) = (g.observed[k], g.expected[k]);
                    if e > 0.0 {
                        statistic += (o - e) * (o - e) / e;
                        cells += 1;
                    } else if o > 0.0 {
                        statistic = f64::INFINITY;
                    }
                }
            }
            let df = cells - groups.len() as i64 - options.parameters[j] as i64;
            let (p_value, rmsea) = if df > 0 {
                let p = ChiSquared::new(df as f64)
                    .map(|c| c.sf(statistic))
                    .unwrap_or(f64::NAN);
                let r = ((statistic / df as f64 - 1.0).max(0.0) / (n_used - 1.0)).sqrt();
                (p, r)
            } else {
                (f64::NAN, f64::NAN)
            };
            ItemSX2 {
                statistic,
                df,
                p_value,
                rmsea,
                groups: groups.len(),
            }
        })
        .collect();
    Ok(SX2Report {
        items: items_out,
        complete,
    })
}

/// Merges sparse score groups in place (R mirt's `collapseCells` for
/// dichotomous items; steps 2 and 3 of the module documentation).
fn collapse(groups: &mut Vec<Group>, min_expected: f64) {
    // Step 2: groups of exactly one respondent go into the next group.
    if groups.len() >= 2 {
        let mut keep = vec![true; groups.len()];
        for j in 0..groups.len() - 1 {
            if groups[j].respondents() == 1.0 {
                keep[j] = false;
                let g = groups[j];
                groups[j + 1].merge(&g);
            }
        }
        let mut k = 0;
        groups.retain(|_| {
            k += 1;
            keep[k - 1]
        });
        let last = groups.len() - 1;
        if groups.len() >= 2 && groups[last].respondents() == 1.0 {
            let g = groups[last];
            groups[last - 1].merge(&g);
            groups.pop();
        }
    }
    // Step 3: merge the lowest group with a sparse cell into a neighbour.
    let sparse = |g: &Group| g.expected.iter().any(|&e| e < min_expected && e != 0.0);
    while groups.len() >= 2 {
        let Some(w) = groups.iter().position(sparse) else {
            break;
        };
        let last = groups.len() - 1;
        let pick = if w == 0 {
            1
        } else if w == last {
            last - 1
        } else if groups[w - 1].respondents() <= groups[w + 1].respondents() {
            w - 1
        } else {
            w + 1
        };
        let g = groups.remove(w);
        let pick = if pick > w { pick - 1 } else { pick };
        groups[pick].merge(&g);
    }
}
