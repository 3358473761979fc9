//! A general item model for mixed instruments (dichotomous and partial
//! credit items side by side) and the category-coded responses they score.
//!
//! The generalized partial credit model (GPCM) is written in mirt's
//! slope-intercept form: for an item with categories `0..K`,
//! `P(k | theta) = exp(a k theta + d_k) / sum_m exp(a m theta + d_m)` with
//! `d_0 = 0`, so only `d_1..d_{K-1}` are stored. The adjacent-category log
//! odds are `a theta + d_k - d_{k-1} = a (theta - b_k)`: the step
//! (threshold) parameters `b_k = -(d_k - d_{k-1}) / a` are what PyPI mirt
//! and many reports print. The partial credit model (PCM) is the GPCM with
//! `a = 1`. A two-category GPCM is exactly the 2PL with the same `a` and
//! `d = d_1`.

use super::{IrtError, ItemParams, logistic};

/// One item of a mixed instrument.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemModel {
    /// A right/wrong item (Rasch, 1PL, 2PL or 3PL): categories 0 and 1.
    Dichotomous(ItemParams),
    /// A generalized partial credit item (PCM when `a = 1`).
    Gpcm {
        /// Slope.
        a: f64,
        /// Intercepts `d_1..d_{K-1}` of categories `1..K` (`d_0 = 0`).
        d: Vec<f64>,
    },
}

impl ItemModel {
    /// A GPCM item from its slope and step parameters `b_1..b_{K-1}`
    /// (PyPI mirt's "steps"): `d_k = -a (b_1 + ... + b_k)`.
    pub fn gpcm_from_steps(a: f64, steps: &[f64]) -> Self {
        let mut d = Vec::with_capacity(steps.len());
        let mut acc = 0.0;
        for b in steps {
            acc -= a * b;
            d.push(acc);
        }
        Self::Gpcm { a, d }
    }

    /// Number of response categories `K` (2 for a dichotomous item).
    pub fn n_categories(&self) -> usize {
        match self {
            Self::Dichotomous(_) => 2,
            Self::Gpcm { d, .. } => d.len() + 1,
        }
    }

    /// The slope `a`.
    pub fn slope(&self) -> f64 {
        match self {
            Self::Dichotomous(p) => p.a,
            Self::Gpcm { a, .. } => *a,
        }
    }

    /// Step parameters `b_k = -(d_k - d_{k-1}) / a`, `k = 1..K-1`; for a
    /// dichotomous item the difficulty `[b]`.
    pub fn steps(&self) -> Vec<f64> {
        match self {
            Self::Dichotomous(p) => vec![p.b()],
            Self::Gpcm { a, d } => {
                let mut prev = 0.0;
                d.iter()
                    .map(|&dk| {
                        let b = -(dk - prev) / a;
                        prev = dk;
                        b
                    })
                    .collect()
            }
        }
    }

    /// Writes `ln P(k | theta)` for `k = 0..K` into `out` (length `K`;
    /// shorter panics), without allocating.
    pub(crate) fn log_probabilities_into(&self, theta: f64, out: &mut [f64]) {
        match self {
            Self::Dichotomous(p) => {
                let (lp, lq) = super::log_pq(p, theta);
                out[0] = lq;
                out[1] = lp;
            }
            Self::Gpcm { a, d } => {
                out[0] = 0.0;
                for (o, (k, dk)) in out[1..].iter_mut().zip(d.iter().enumerate()) {
                    *o = a * (k + 1) as f64 * theta + dk;
                }
                let max = out.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
                let log_sum = max + out.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
                for o in out.iter_mut() {
                    *o -= log_sum;
                }
            }
        }
    }

    /// `(slope, intercept)` of `ln P(k) - ln P(0)` in theta for category
    /// `k >= 1`: `a k` and `d_k` (exact for every item without guessing).
    pub(crate) fn log_odds_line(&self, k: usize) -> (f64, f64) {
        match self {
            Self::Dichotomous(p) => (p.a, p.d),
            Self::Gpcm { a, d } => (a * k as f64, d[k - 1]),
        }
    }

    /// `ln P(k | theta)` for every category.
    pub fn log_probabilities(&self, theta: f64) -> Vec<f64> {
        let mut out = vec![0.0; self.n_categories()];
        self.log_probabilities_into(theta, &mut out);
        out
    }

    /// `P(k | theta)` for every category.
    pub fn probabilities(&self, theta: f64) -> Vec<f64> {
        match self {
            Self::Dichotomous(p) => {
                let right = p.p(theta);
                vec![1.0 - right, right]
            }
            Self::Gpcm { .. } => self
                .log_probabilities(theta)
                .into_iter()
                .map(f64::exp)
                .collect(),
        }
    }

    /// Expected item score `sum_k k P(k | theta)`.
    pub fn expected_score(&self, theta: f64) -> f64 {
        match self {
            Self::Dichotomous(p) => p.p(theta),
            Self::Gpcm { .. } => self
                .probabilities(theta)
                .iter()
                .enumerate()
                .map(|(k, p)| k as f64 * p)
                .sum(),
        }
    }

    /// Fisher information at `theta`: `sum_k P_k'^2 / P_k`; for the GPCM
    /// `a^2 Var(k | theta)`.
    pub fn information(&self, theta: f64) -> f64 {
        match self {
            Self::Dichotomous(p) => p.information(theta),
            Self::Gpcm { a, .. } => a * a * self.central_moments(theta)[1],
        }
    }

    /// The same item on the scale `theta* = scale * theta + shift`
    /// (`scale != 0`): `P*(k | theta*) = P(k | theta)`. Slopes are divided
    /// by `scale`; intercepts become `d_k - k a shift / scale`; guessing is
    /// unchanged.
    pub fn rescale(&self, scale: f64, shift: f64) -> Self {
        match self {
            Self::Dichotomous(p) => Self::Dichotomous(ItemParams {
                a: p.a / scale,
                d: p.d - p.a * shift / scale,
                c: p.c,
            }),
            Self::Gpcm { a, d } => Self::Gpcm {
                a: a / scale,
                d: d.iter()
                    .enumerate()
                    .map(|(k, dk)| dk - (k + 1) as f64 * a * shift / scale)
                    .collect(),
            },
        }
    }

    /// Mean and second, third and fourth central moments of the category
    /// score at `theta`, without allocating: the scoring loops call it many
    /// times.
    fn central_moments(&self, theta: f64) -> [f64; 4] {
        let (a, d) = match self {
            Self::Dichotomous(p) => {
                let (r, q) = if p.c == 0.0 {
                    // logistic(z) and logistic(-z) from one exponential.
                    let z = p.a * theta + p.d;
                    let e = (-z.abs()).exp();
                    let (big, small) = (1.0 / (1.0 + e), e / (1.0 + e));
                    if z >= 0.0 { (big, small) } else { (small, big) }
                } else {
                    let r = p.p(theta);
                    (r, 1.0 - r)
                };
                let pq = r * q;
                return [r, pq, pq * (q - r), pq * (r * r * r + q * q * q)];
            }
            Self::Gpcm { a, d } => (*a, d.as_slice()),
        };
        let z = |k: usize| {
            if k == 0 {
                0.0
            } else {
                a * k as f64 * theta + d[k - 1]
            }
        };
        let k_len = d.len() + 1;
        let max = (0..k_len).fold(f64::NEG_INFINITY, |m, k| m.max(z(k)));
        let (mut total, mut first) = (0.0, 0.0);
        for k in 0..k_len {
            let e = (z(k) - max).exp();
            total += e;
            first += k as f64 * e;
        }
        let mean = first / total;
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for k in 0..k_len {
            let p = (z(k) - max).exp() / total;
            let e = k as f64 - mean;
            let e2 = e * e;
            m2 += p * e2;
            m3 += p * e2 * e;
            m4 += p * e2 * e2;
        }
        [mean, m2, m3, m4]
    }

    /// For an item without guessing (`c = 0`): the first four cumulants of
    /// the category score at `theta` (mean, variance, third and fourth
    /// cumulants); `None` with guessing. The score of category `x` is then
    /// `a (x - mean)`, the information `a^2 k2`, Warm's `J = a^3 k3` and
    /// `dJ / dtheta = a^4 k4` (the category score is the sufficient
    /// statistic of `a theta`).
    pub(crate) fn cumulants(&self, theta: f64) -> Option<[f64; 4]> {
        if matches!(self, Self::Dichotomous(p) if p.c != 0.0) {
            return None;
        }
        let [mean, m2, m3, m4] = self.central_moments(theta);
        Some([mean, m2, m3, m4 - 3.0 * m2 * m2])
    }

    /// For a response in category `x` at `theta`: the score
    /// `d ln P_x / d theta`, the item information and Warm's
    /// `J = sum_k P_k' P_k'' / P_k` (the WLE correction is `J / (2 I)`).
    pub(crate) fn theta_terms(&self, x: usize, theta: f64) -> (f64, f64, f64) {
        match self {
            Self::Dichotomous(item) => {
                // As ability.rs: no division by Q, which underflows first.
                let z = item.a * theta + item.d;
                let (s, sm) = (logistic(z), logistic(-z));
                let p = item.c + (1.0 - item.c) * s;
                let ratio = if item.c == 0.0 { 1.0 } else { s / p };
                let resid = if x == 1 { (1.0 - item.c) * sm } else { -p };
                let info = item.a * item.a * (1.0 - item.c) * s * sm * ratio;
                (item.a * ratio * resid, info, item.a * (sm - s) * info)
            }
            Self::Gpcm { a, .. } => {
                // P_k' = a P_k (k - mu), P_k'' = a^2 P_k ((k - mu)^2 - var):
                // I = a^2 var, J = a^3 (third central moment).
                let [mean, var, third, _] = self.central_moments(theta);
                (a * (x as f64 - mean), a * a * var, a * a * a * third)
            }
        }
    }
}

/// Category-coded responses of a mixed instrument, respondent-major:
/// `cells[i * n_items + j]` is respondent `i`'s category (`0..K_j`) on
/// item `j`, or [`CategoryResponses::MISSING`].
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryResponses {
    categories: Vec<usize>,
    cells: Vec<u8>,
}

impl CategoryResponses {
    /// The code of a missing response.
    pub const MISSING: u8 = u8::MAX;

    /// Right/wrong responses to `n_items` items: every cell 0, 1 or
    /// [`CategoryResponses::MISSING`].
    pub fn dichotomous(n_items: usize, cells: Vec<u8>) -> Result<Self, IrtError> {
        if n_items == 0 {
            return Err(IrtError::Empty);
        }
        Self::new(vec![2; n_items], cells)
    }

    /// Right/wrong rows of `Some(right)` or `None` (missing); all rows as
    /// long as the first.
    pub fn from_right_wrong(rows: &[Vec<Option<bool>>]) -> Result<Self, IrtError> {
        let n_items = rows.first().map_or(0, Vec::len);
        let mut cells = Vec::with_capacity(rows.len() * n_items);
        for row in rows {
            if row.len() != n_items {
                return Err(IrtError::Shape {
                    cells: row.len(),
                    items: n_items,
                });
            }
            cells.extend(row.iter().map(|x| match x {
                Some(true) => 1,
                Some(false) => 0,
                None => Self::MISSING,
            }));
        }
        Self::dichotomous(n_items, cells)
    }

    /// Checks that every item has 2 to 255 categories and every cell is a
    /// category of its item or missing.
    pub fn new(categories: Vec<usize>, cells: Vec<u8>) -> Result<Self, IrtError> {
        let n_items = categories.len();
        if n_items == 0 || cells.is_empty() {
            return Err(IrtError::Empty);
        }
        if !cells.len().is_multiple_of(n_items) {
            return Err(IrtError::Shape {
                cells: cells.len(),
                items: n_items,
            });
        }
        if let Some(j) = categories.iter().position(|&k| !(2..=255).contains(&k)) {
            return Err(IrtError::Option(format!(
                "item {j}: {} categories (2 to 255 allowed)",
                categories[j]
            )));
        }
        for (k, &c) in cells.iter().enumerate() {
            let item = k % n_items;
            if c != Self::MISSING && usize::from(c) >= categories[item] {
                return Err(IrtError::Category {
                    respondent: k / n_items,
                    item,
                    code: c,
                    categories: categories[item],
                });
            }
        }
        Ok(Self { categories, cells })
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.categories.len()
    }

    /// Number of respondents.
    pub fn n_respondents(&self) -> usize {
        self.cells.len() / self.categories.len()
    }

    /// Number of categories of each item.
    pub fn categories(&self) -> &[usize] {
        &self.categories
    }

    /// Respondent `i`'s answers.
    pub fn row(&self, i: usize) -> &[u8] {
        let n = self.categories.len();
        &self.cells[i * n..(i + 1) * n]
    }

    /// All cells, respondent-major.
    pub fn cells(&self) -> &[u8] {
        &self.cells
    }
}
