//! The exact probability of qualifying under an instrument's rule, for a
//! respondent of known ability and for a population cell whose abilities
//! are normal around a mean.
//!
//! For ability theta, every item's points follow a small discrete
//! distribution (the answer model of [`crate::answers`]: correct with the
//! 2PL probability, otherwise don't know or a wrong pick, sometimes blank).
//! Items are independent given theta, so each dimension's raw score is the
//! convolution of its items' distributions, and the total is combined from
//! the dimensions by meet-in-the-middle: the dimensions are split in two
//! halves, and for each total of the first half the probability that the
//! second half brings the total to the cut is read from sorted tail sums.
//! The comparison with the cut is the rule's own
//! ([`literacy_core::QualificationRule::reaches`]), so ties and rounding
//! behave as in scoring. The chance of being unscorable for too many blank
//! items (below 1e-15 with the shipped answer model) is neglected.
//!
//! A population cell's share qualified is `Q(mu) = E q(mu + s Z)` for a
//! standard normal `Z`: tabulated once on a grid of `mu` by quadrature over
//! `Z` (the ability curve `q` itself tabulated on a fine grid of theta and
//! interpolated linearly), then read by linear interpolation. For the
//! `irt_cut` rule `q` is a step and `Q` is a normal tail, computed directly.

use literacy_core::rule::RuleKind;
use literacy_core::{Instrument, QualificationRule};
use rayon::prelude::*;

use crate::answers::{AnswerModel, ScoreOutcomes};

/// Lowest theta (and cell mean) tabulated.
const GRID_MIN: f64 = -8.0;
/// Highest theta (and cell mean) tabulated.
const GRID_MAX: f64 = 8.0;
/// Spacing of the theta grid.
const GRID_STEP: f64 = 0.01;
/// Spacing of the first, coarse pass over the theta grid.
const COARSE_STEP: f64 = 0.1;
/// A probability this close to 0 or 1 is taken as 0 or 1.
const SATURATED: f64 = 1e-14;
/// Spacing of the quadrature over the standard normal (from -8 to 8).
const Z_STEP: f64 = 0.02;
/// Scores closer than this are the same score.
const SAME_SCORE: f64 = 1e-7;

/// The probability that a respondent of ability theta qualifies under an
/// instrument's rule, given the answer model.
#[derive(Debug, Clone)]
pub struct ExactRule {
    model: AnswerModel,
    outcomes: Vec<ScoreOutcomes>,
    /// Item indices of each dimension.
    groups: Vec<Vec<usize>>,
    raw_max: Vec<f64>,
    points: Vec<f64>,
    rule: QualificationRule,
}

/// A discrete distribution: (value, probability), sorted by value.
type Distribution = Vec<(f64, f64)>;

impl ExactRule {
    /// Prepares the computation for an instrument and an answer model.
    pub fn new(instrument: &Instrument, model: &AnswerModel) -> Self {
        let groups = (0..instrument.dimensions.len())
            .map(|d| {
                (0..instrument.items.len())
                    .filter(|&i| instrument.items[i].dimension_index == d)
                    .collect()
            })
            .collect();
        Self {
            model: model.clone(),
            outcomes: ScoreOutcomes::for_instrument(instrument),
            groups,
            raw_max: instrument.raw_max(),
            points: instrument.dimensions.iter().map(|d| d.points).collect(),
            rule: instrument.rule.clone(),
        }
    }

    /// The rule's cut on theta when the rule is `irt_cut`: (cut, whether
    /// abilities above it qualify).
    fn theta_cut(&self) -> Option<(f64, bool)> {
        match &self.rule.kind {
            RuleKind::IrtCut { cut, scale } => Some(match scale {
                Some(s) => ((cut - s.intercept) / s.slope, s.slope > 0.0),
                None => (*cut, true),
            }),
            _ => None,
        }
    }

    /// Distribution of the raw points of dimension `d` at ability `theta`.
    fn dimension(&self, d: usize, theta: f64) -> Distribution {
        let mut dist = vec![(0.0, 1.0)];
        for &i in &self.groups[d] {
            let item = self.outcomes[i].distribution(self.model.p_correct(i, theta), &self.model);
            dist = convolve(&dist, &item);
        }
        dist
    }

    /// Probability that a respondent of ability `theta` qualifies.
    pub fn p_qualified(&self, theta: f64) -> f64 {
        match &self.rule.kind {
            RuleKind::IrtCut { .. } => f64::from(u8::from(
                self.rule.qualifies(&[], 0.0, Some(theta)) == Some(true),
            )),
            RuleKind::AllDimensions { by_dimension, .. } => (0..self.groups.len())
                .map(|d| {
                    self.dimension(d, theta)
                        .iter()
                        .filter(|(v, _)| self.rule.reaches(v / self.raw_max[d], by_dimension[d]))
                        .map(|(_, p)| p)
                        .sum::<f64>()
                })
                .product(),
            RuleKind::TotalScore { cut } => {
                let total_points: f64 = self.points.iter().sum();
                // Each dimension's contribution to the sum of dimension scores.
                let contribution = |d: usize| -> Distribution {
                    self.dimension(d, theta)
                        .into_iter()
                        .map(|(v, p)| (v / self.raw_max[d] * self.points[d], p))
                        .collect()
                };
                let half = self.groups.len().div_ceil(2);
                let combine = |dims: std::ops::Range<usize>| {
                    dims.fold(vec![(0.0, 1.0)], |acc, d| convolve(&acc, &contribution(d)))
                };
                let first = combine(0..half);
                let second = combine(half..self.groups.len());
                // tail[k]: probability that the second half scores second[k] or more.
                let mut tail = vec![0.0; second.len() + 1];
                for k in (0..second.len()).rev() {
                    tail[k] = tail[k + 1] + second[k].1;
                }
                first
                    .iter()
                    .map(|&(a, pa)| {
                        let k = second.partition_point(|&(b, _)| {
                            !self.rule.reaches(100.0 * (a + b) / total_points, *cut)
                        });
                        pa * tail[k]
                    })
                    .sum::<f64>()
                    .clamp(0.0, 1.0)
            }
        }
    }
}

/// The distribution of the sum of two independent variables.
fn convolve(a: &[(f64, f64)], b: &[(f64, f64)]) -> Distribution {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(a.len() * b.len());
    for &(x, p) in a {
        for &(y, q) in b {
            if p * q > 0.0 {
                out.push((x + y, p * q));
            }
        }
    }
    out.sort_by(|l, r| l.0.total_cmp(&r.0));
    let mut merged: Distribution = Vec::with_capacity(out.len());
    for (v, p) in out {
        match merged.last_mut() {
            Some(last) if v - last.0 < SAME_SCORE => last.1 += p,
            _ => merged.push((v, p)),
        }
    }
    merged
}

/// The share qualified of a population cell as a function of the mean
/// ability `mu` of the cell, abilities being normal with a fixed standard
/// deviation around it.
#[derive(Debug, Clone)]
pub struct Link {
    sd: f64,
    /// `Q(mu)` on the grid.
    share: Vec<f64>,
    /// `dQ/dmu` on the grid.
    slope: Vec<f64>,
    /// For the `irt_cut` rule: the cut on theta and its direction.
    theta_cut: Option<(f64, bool)>,
}

impl Link {
    /// Tabulates the link of `rule` for abilities with standard deviation `sd`.
    pub fn new(rule: &ExactRule, sd: f64) -> Link {
        let n = grid_len();
        let theta_cut = rule.theta_cut();
        if theta_cut.is_some() {
            return Link {
                sd,
                share: Vec::new(),
                slope: Vec::new(),
                theta_cut,
            };
        }
        // q on the theta grid, one theta per task: the same numbers whatever
        // the threads. q rises from 0 to 1 (more ability, stochastically more
        // points), so a coarse pass finds where it is not yet 0 or already 1
        // (to 1e-14), and only that range is computed on the fine grid.
        let coarse = (COARSE_STEP / GRID_STEP).round() as usize;
        let coarse_q: Vec<(usize, f64)> = (0..n)
            .step_by(coarse)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|k| (k, rule.p_qualified(grid_point(k))))
            .collect();
        let lo = coarse_q
            .iter()
            .rev()
            .find(|(_, q)| *q < SATURATED)
            .map_or(0, |&(k, _)| k);
        let hi = coarse_q
            .iter()
            .find(|(_, q)| *q > 1.0 - SATURATED)
            .map_or(n - 1, |&(k, _)| k);
        let q: Vec<f64> = (0..n)
            .into_par_iter()
            .map(|k| {
                if k < lo {
                    0.0
                } else if k > hi {
                    1.0
                } else {
                    rule.p_qualified(grid_point(k))
                }
            })
            .collect();
        let q_at = |theta: f64| interpolate(&q, theta);
        let nz = ((16.0 / Z_STEP).round() as usize) + 1;
        let z: Vec<f64> = (0..nz).map(|j| -8.0 + j as f64 * Z_STEP).collect();
        let density: Vec<f64> = z.iter().map(|z| (-0.5 * z * z).exp()).collect();
        let norm: f64 = density.iter().sum();
        let (share, slope): (Vec<f64>, Vec<f64>) = (0..n)
            .into_par_iter()
            .map(|k| {
                let mu = grid_point(k);
                let mut share = 0.0;
                let mut slope = 0.0;
                for (z, w) in z.iter().zip(&density) {
                    let v = q_at(mu + sd * z);
                    share += w * v;
                    slope += w * z * v;
                }
                (share / norm, slope / norm / sd)
            })
            .unzip();
        Link {
            sd,
            share,
            slope,
            theta_cut: None,
        }
    }

    /// Standard deviation of abilities within a cell.
    pub fn sd(&self) -> f64 {
        self.sd
    }

    /// Share qualified of a cell with mean ability `mu`.
    pub fn share(&self, mu: f64) -> f64 {
        match self.theta_cut {
            Some((cut, above)) => {
                let upper = normal_cdf((mu - cut) / self.sd);
                if above { upper } else { 1.0 - upper }
            }
            None => interpolate(&self.share, mu),
        }
    }

    /// Derivative of [`Link::share`] with respect to `mu`.
    pub fn slope(&self, mu: f64) -> f64 {
        match self.theta_cut {
            Some((cut, above)) => {
                let x = (mu - cut) / self.sd;
                let d = (-0.5 * x * x).exp() / (std::f64::consts::TAU.sqrt() * self.sd);
                if above { d } else { -d }
            }
            None => interpolate(&self.slope, mu),
        }
    }
}

fn grid_len() -> usize {
    ((GRID_MAX - GRID_MIN) / GRID_STEP).round() as usize + 1
}

fn grid_point(k: usize) -> f64 {
    GRID_MIN + k as f64 * GRID_STEP
}

/// Linear interpolation of values tabulated on the grid, constant beyond it.
fn interpolate(table: &[f64], x: f64) -> f64 {
    let pos = (x - GRID_MIN) / GRID_STEP;
    if pos <= 0.0 {
        return table[0];
    }
    let last = table.len() - 1;
    if pos >= last as f64 {
        return table[last];
    }
    let k = pos.floor() as usize;
    let f = pos - k as f64;
    table[k] + f * (table[k + 1] - table[k])
}

/// Standard normal distribution function, to about 1e-15: Marsaglia's
/// Taylor series (2004, "Evaluating the normal distribution", J. Stat.
/// Softw. 11(4)) within 7.5 of zero, Laplace's continued fraction for the
/// tails beyond.
pub fn normal_cdf(x: f64) -> f64 {
    if x < -38.0 {
        return 0.0;
    }
    if x > 38.0 {
        return 1.0;
    }
    let (mut s, mut t, mut b, q) = (x, 0.0, x, x * x);
    let mut i = 1.0;
    if x.abs() < 7.5 {
        while s != t {
            t = s;
            i += 2.0;
            b *= q / i;
            s = t + b;
        }
        0.5 + s * (-0.5 * q - 0.918_938_533_204_672_8).exp()
    } else {
        // Far tails: the asymptotic continued fraction (Laplace).
        let z = x.abs();
        let mut f = 0.0;
        for k in (1..=60).rev() {
            f = f64::from(k) / (z + f);
        }
        let tail = (-0.5 * z * z - 0.918_938_533_204_672_8).exp() / (z + f);
        if x < 0.0 { tail } else { 1.0 - tail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-12);
        assert!((normal_cdf(-1.0) - 0.158_655_253_931_457_05).abs() < 1e-12);
        assert!((normal_cdf(-8.0) - 6.220_960_574_271_785e-16).abs() < 1e-20);
        assert!((normal_cdf(9.0) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn convolution_adds_and_merges_equal_sums() {
        let a = vec![(0.0, 0.5), (1.0, 0.5)];
        let c = convolve(&a, &a);
        assert_eq!(c, vec![(0.0, 0.25), (1.0, 0.5), (2.0, 0.25)]);
        let third = vec![(0.0, 0.5), (2.0 / 3.0, 0.5)];
        let c = convolve(&convolve(&third, &third), &third);
        assert_eq!(c.len(), 4);
    }
}
