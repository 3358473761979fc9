//! Item fit: infit and outfit mean squares with their standardized forms,
//! and Orlando and Thissen's summed-score statistic S-X2, for right/wrong
//! and partial credit items alike (the score of an answer is its category).
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
//! For a partial credit item (Kang and Chen 2008, *Journal of Educational
//! Measurement* 45, 391-406) the cells are its categories `k`, with
//! `E_jks = integral P_jk f_(-j)(s - k) g / integral f(s) g`.
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
//! **Pooling for a partial credit item** with `K` categories follows Kang
//! and Chen and PyPI mirt 1.2.0 (`_sx2_from_tables`): after scores 0 and
//! the maximum are dropped, the score groups below `K - 1` (where some
//! category is impossible) are pooled into group `K - 1`, those above
//! `max - K + 1` into that group (when the two meet, everything is one
//! group; when they cross, the statistic is NaN); empty groups are
//! dropped; then, within each group with an expected count below
//! `min_expected`, the category with the smallest expected count is pooled
//! into the adjacent one with the smaller expected count (the lower on a
//! tie) until none is below or one is left.
//!
//! Degrees of freedom: over the groups, the cells with a positive expected
//! count minus one, minus the item's estimated parameters; the p-value
//! is the chi-squared upper tail (NaN when df <= 0). Respondents with a
//! missing answer are left out of S-X2 (mirt requires complete data).

use rayon::prelude::*;
use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::{CategoryResponses, Grid, IrtError, ItemCurve, ModelKind};

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

/// Checks that there is one valid item per column, each with as many
/// categories as the responses allow.
fn check_items<T: ItemCurve>(items: &[T], responses: &CategoryResponses) -> Result<(), IrtError> {
    if items.len() != responses.n_items() {
        return Err(IrtError::ItemCount {
            params: items.len(),
            items: responses.n_items(),
        });
    }
    if let Some(j) = items.iter().position(|i| !i.is_valid()) {
        return Err(IrtError::Option(format!("item {j}: invalid parameters")));
    }
    let categories = responses.categories();
    if let Some(j) = (0..items.len()).find(|&j| items[j].max_score() + 1 != categories[j]) {
        return Err(IrtError::Option(format!(
            "item {j}: {} categories in the parameters, {} in the responses",
            items[j].max_score() + 1,
            categories[j]
        )));
    }
    Ok(())
}

/// Infit and outfit mean squares of each item, with their standardized
/// values, given one ability per respondent (parallel over respondents).
pub fn mean_square_fit<T: ItemCurve>(
    items: &[T],
    responses: &CategoryResponses,
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
                    if x == CategoryResponses::MISSING {
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

    /// For items calibrated under `kinds` with `categories` categories:
    /// each item's own estimated parameters ([`ModelKind::item_parameters`]:
    /// 1 per Rasch item, and per 1PL item, whose common slope is not charged
    /// to any one item; 2 per 2PL item, 3 per 3PL item; `K - 1` per PCM
    /// item, `K` per GPCM item).
    pub fn for_kinds(kinds: &[ModelKind], categories: &[usize]) -> Self {
        Self::new(
            kinds
                .iter()
                .zip(categories)
                .map(|(kind, &k)| kind.item_parameters(k))
                .collect(),
        )
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

/// One score group: observed and expected counts in each category.
#[derive(Debug, Clone)]
struct Group {
    observed: Vec<f64>,
    expected: Vec<f64>,
}

impl Group {
    fn merge(&mut self, other: &Group) {
        for k in 0..self.observed.len() {
            self.observed[k] += other.observed[k];
            self.expected[k] += other.expected[k];
        }
    }

    fn respondents(&self) -> f64 {
        self.observed.iter().sum()
    }
}

/// The complete respondents' counts: `per_score[s]` respondents with
/// summed score `s`, `counts[j][s * K_j + k]` of them in category `k` of
/// item `j` (integer counts: exact in any order).
struct Observed {
    per_score: Vec<f64>,
    counts: Vec<Vec<f64>>,
    complete: usize,
}

impl Observed {
    fn count(responses: &CategoryResponses, width: usize) -> Observed {
        let categories = responses.categories();
        let offsets: Vec<usize> = categories
            .iter()
            .scan(width, |at, &k| {
                let start = *at;
                *at += width * k;
                Some(start)
            })
            .collect();
        let size = width * (1 + categories.iter().sum::<usize>());
        let n = responses.n_respondents();
        let (table, complete) = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let mut table = vec![0u64; size];
                let mut complete = 0usize;
                for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                    let row = responses.row(i);
                    if row.contains(&CategoryResponses::MISSING) {
                        continue;
                    }
                    complete += 1;
                    let s: usize = row.iter().map(|&x| usize::from(x)).sum();
                    table[s] += 1;
                    for (j, &x) in row.iter().enumerate() {
                        table[offsets[j] + s * categories[j] + usize::from(x)] += 1;
                    }
                }
                (table, complete)
            })
            .reduce(
                || (vec![0u64; size], 0),
                |(mut t, c), (u, d)| {
                    t.iter_mut().zip(&u).for_each(|(x, y)| *x += y);
                    (t, c + d)
                },
            );
        let as_f64 = |cells: &[u64]| cells.iter().map(|&c| c as f64).collect::<Vec<f64>>();
        Observed {
            per_score: as_f64(&table[..width]),
            counts: offsets
                .iter()
                .zip(categories)
                .map(|(&o, &k)| as_f64(&table[o..o + width * k]))
                .collect(),
            complete,
        }
    }
}

/// Orlando-Thissen S-X2 (Kang and Chen's for partial credit items), the
/// latent distribution given by the quadrature grid (its points and
/// weights). See the module documentation for the pooling of sparse cells
/// and the degrees of freedom.
pub fn s_x2<T: ItemCurve>(
    items: &[T],
    responses: &CategoryResponses,
    grid: &Grid,
    options: &SX2Options,
) -> Result<SX2Report, IrtError> {
    check_items(items, responses)?;
    let n_items = items.len();
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
    let max: usize = items.iter().map(ItemCurve::max_score).sum();
    let observed = Observed::count(responses, max + 1);
    if observed.complete == 0 {
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
    let per_score = &observed.per_score;
    if let Some(s) = (0..=max).find(|&s| per_score[s] > 0.0 && marginal[s] <= 0.0) {
        return Err(IrtError::Option(format!(
            "summed score {s} is observed but has probability 0 under the model"
        )));
    }
    let n_used = observed.complete as f64;
    let items_out: Vec<ItemSX2> = (0..n_items)
        .into_par_iter()
        .map(|j| {
            let groups = score_groups(items, j, &observed, &marginal, grid, &weights);
            let groups = if items[j].max_score() == 1 {
                Some(collapse(groups, options.min_expected))
            } else {
                pool_partial_credit(groups, items[j].max_score() + 1, options.min_expected)
            };
            item_statistic(groups, options.parameters[j], n_used)
        })
        .collect();
    Ok(SX2Report {
        items: items_out,
        complete: observed.complete,
    })
}

/// Observed and expected counts of item `j`'s categories in the score
/// groups 1 to max - 1 (all of them, empty ones included).
fn score_groups<T: ItemCurve>(
    items: &[T],
    j: usize,
    observed: &Observed,
    marginal: &[f64],
    grid: &Grid,
    weights: &[f64],
) -> Vec<Group> {
    let max = marginal.len() - 1;
    let k = items[j].max_score() + 1;
    let others: Vec<T> = items
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != j)
        .map(|(_, i)| i.clone())
        .collect();
    // joint[s * k + c]: probability of category c on item j and total s.
    let mut joint = vec![0.0; (max + 1) * k];
    let mut p = vec![0.0; k];
    for (&t, &w) in grid.points.iter().zip(weights) {
        items[j].category_probabilities(t, &mut p);
        for (s, f) in summed_score_distribution(&others, t).iter().enumerate() {
            for (c, pc) in p.iter().enumerate() {
                joint[(s + c) * k + c] += w * pc * f;
            }
        }
    }
    let counts = &observed.counts[j];
    (1..max)
        .map(|s| {
            let n = observed.per_score[s];
            let cells = s * k..(s + 1) * k;
            Group {
                observed: counts[cells.clone()].to_vec(),
                expected: joint[cells]
                    .iter()
                    .map(|x| if n > 0.0 { n * x / marginal[s] } else { 0.0 })
                    .collect(),
            }
        })
        .collect()
}

/// The statistic, df, p-value and RMSEA over the pooled groups (`None`:
/// no score group has every category possible).
fn item_statistic(groups: Option<Vec<Group>>, parameters: usize, n_used: f64) -> ItemSX2 {
    let Some(groups) = groups else {
        return ItemSX2 {
            statistic: f64::NAN,
            df: 0,
            p_value: f64::NAN,
            rmsea: f64::NAN,
            groups: 0,
        };
    };
    let (mut statistic, mut contrasts) = (0.0, 0i64);
    for g in &groups {
        let mut positive = 0i64;
        for (&o, &e) in g.observed.iter().zip(&g.expected) {
            if e > 0.0 {
                statistic += (o - e) * (o - e) / e;
                positive += 1;
            } else if o > 0.0 {
                statistic = f64::INFINITY;
            }
        }
        contrasts += (positive - 1).max(0);
    }
    let df = contrasts - parameters as i64;
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
}

/// Merges sparse score groups of a right/wrong item (R mirt's
/// `collapseCells`; steps 1 to 3 of the module documentation).
fn collapse(mut groups: Vec<Group>, min_expected: f64) -> Vec<Group> {
    // Step 1: scores no respondent has are dropped.
    groups.retain(|g| g.respondents() > 0.0);
    // Step 2: groups of exactly one respondent go into the next group.
    if groups.len() >= 2 {
        let mut keep = vec![true; groups.len()];
        for j in 0..groups.len() - 1 {
            if groups[j].respondents() == 1.0 {
                keep[j] = false;
                let g = groups[j].clone();
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
            let g = groups.pop().expect("two groups or more");
            groups[last - 1].merge(&g);
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
    groups
}

/// Pools the score groups of a partial credit item with `k` categories
/// (Kang and Chen's tails, then sparse categories within each group; see
/// the module documentation). `None` when the tails cross.
fn pool_partial_credit(groups: Vec<Group>, k: usize, min_expected: f64) -> Option<Vec<Group>> {
    let (low, high) = (k - 2, (groups.len() + 1).checked_sub(k)?);
    if high < low {
        return None;
    }
    let mut pooled: Vec<Group> = Vec::with_capacity(high - low + 1);
    for (s, g) in groups.into_iter().enumerate() {
        let at = s.clamp(low, high) - low;
        match pooled.get_mut(at) {
            Some(p) => p.merge(&g),
            None => pooled.push(g),
        }
    }
    pooled.retain(|g| g.respondents() > 0.0);
    for g in &mut pooled {
        pool_categories(g, min_expected);
    }
    Some(pooled)
}

/// Pools a group's categories with an expected count below `min_expected`
/// into their adjacent category with the smaller expected count.
fn pool_categories(g: &mut Group, min_expected: f64) {
    while g.expected.len() > 1 {
        let (c, &smallest) = g
            .expected
            .iter()
            .enumerate()
            .min_by(|x, y| x.1.total_cmp(y.1))
            .expect("two categories or more");
        if smallest >= min_expected {
            break;
        }
        let last = g.expected.len() - 1;
        let into = if c == 0 {
            1
        } else if c == last || g.expected[c - 1] <= g.expected[c + 1] {
            c - 1
        } else {
            c + 1
        };
        let (o, e) = (g.observed.remove(c), g.expected.remove(c));
        let into = if into > c { into - 1 } else { into };
        g.observed[into] += o;
        g.expected[into] += e;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(observed: &[f64], expected: &[f64]) -> Group {
        Group {
            observed: observed.to_vec(),
            expected: expected.to_vec(),
        }
    }

    #[test]
    fn a_sparse_category_joins_its_smaller_neighbour() {
        // 0.5 is below 1: its neighbours expect 5 and 3, so it joins the 3.
        let mut g = group(&[4.0, 1.0, 3.0], &[5.0, 0.5, 3.0]);
        pool_categories(&mut g, 1.0);
        assert_eq!((g.observed, g.expected), (vec![4.0, 4.0], vec![5.0, 3.5]));
        // On a tie the lower one; the ends have one neighbour.
        let mut g = group(&[1.0, 0.0, 2.0, 0.0], &[2.0, 0.4, 2.0, 0.9]);
        pool_categories(&mut g, 1.0);
        assert_eq!((g.observed, g.expected), (vec![1.0, 2.0], vec![2.4, 2.9]));
        // Nothing below the minimum: unchanged; one category left: stops.
        let mut g = group(&[1.0, 2.0], &[1.0, 2.0]);
        pool_categories(&mut g, 1.0);
        assert_eq!(g.expected, vec![1.0, 2.0]);
        let mut g = group(&[0.0, 0.0], &[0.2, 0.3]);
        pool_categories(&mut g, 1.0);
        assert_eq!((g.observed, g.expected), (vec![0.0], vec![0.5]));
    }

    #[test]
    fn partial_credit_tails_join_the_first_and_last_full_groups() {
        // Scores 1..=7 of a 4-category item (maximum 8): scores 1 and 2
        // join score 3 (the first with every category possible), 6 and 7
        // join score 5 (the last: 8 - 4 + 1).
        let groups: Vec<Group> = (0..7)
            .map(|s| group(&[1.0; 4], &[f64::from(s) + 10.0; 4]))
            .collect();
        let pooled = pool_partial_credit(groups, 4, 1.0).expect("groups");
        assert_eq!(pooled.len(), 3);
        assert_eq!(pooled[0].observed, vec![3.0; 4]);
        assert_eq!(pooled[0].expected, vec![10.0 + 11.0 + 12.0; 4]);
        assert_eq!(pooled[1].expected, vec![13.0; 4]);
        assert_eq!(pooled[2].expected, vec![14.0 + 15.0 + 16.0; 4]);
        // Too few scores for every category of a 5-category item.
        let short: Vec<Group> = (0..2).map(|_| group(&[1.0; 5], &[2.0; 5])).collect();
        assert!(pool_partial_credit(short, 5, 1.0).is_none());
    }
}
