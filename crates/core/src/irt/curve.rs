//! What information, item fit and linking need from an item type.
//!
//! [`ItemCurve`] is the seam between the diagnostics and the item models:
//! the dichotomous [`ItemParams`] implements it here, and a polytomous type
//! (scores `0..=max_score`) can implement it without touching the
//! diagnostics. Everything is in terms of the item score: its category
//! probabilities, expected value, and the derivative of the expected value.

use super::{ItemParams, logistic};

/// An item response function of one latent trait, scored `0..=max_score`.
pub trait ItemCurve: Clone + Send + Sync {
    /// Highest score of the item (1 for a dichotomous item).
    fn max_score(&self) -> usize;

    /// Probabilities of the scores `0..=max_score` at `theta`, written to
    /// `out` (whose length is `max_score + 1`).
    fn category_probabilities(&self, theta: f64, out: &mut [f64]);

    /// Expected item score at `theta` (the item characteristic curve).
    fn expected_score(&self, theta: f64) -> f64 {
        self.score_moments(theta).mean
    }

    /// Derivative of the expected score with respect to `theta`.
    fn expected_score_slope(&self, theta: f64) -> f64;

    /// Fisher information of the item at `theta`.
    fn information(&self, theta: f64) -> f64;

    /// Mean, variance and fourth central moment of the item score at
    /// `theta`, from the category probabilities.
    fn score_moments(&self, theta: f64) -> ScoreMoments {
        let mut p = vec![0.0; self.max_score() + 1];
        self.category_probabilities(theta, &mut p);
        let mean: f64 = p.iter().enumerate().map(|(k, pk)| k as f64 * pk).sum();
        let (mut variance, mut fourth) = (0.0, 0.0);
        for (k, pk) in p.iter().enumerate() {
            let d2 = (k as f64 - mean).powi(2);
            variance += pk * d2;
            fourth += pk * d2 * d2;
        }
        ScoreMoments {
            mean,
            variance,
            fourth,
        }
    }

    /// Slope (discrimination) used by mean-mean linking.
    fn slope(&self) -> f64;

    /// Location (difficulty; for a polytomous item, the mean of its step
    /// difficulties) used by mean-mean and mean-sigma linking.
    fn location(&self) -> f64;

    /// The same item expressed on another scale, where
    /// `theta_other = scale * theta + shift`: slopes are divided by
    /// `scale`, locations become `scale * b + shift`, probabilities at
    /// corresponding abilities are unchanged.
    fn rescaled(&self, scale: f64, shift: f64) -> Self;

    /// Whether every parameter is finite (and in its range).
    fn is_valid(&self) -> bool;
}

/// Moments of an item score at one ability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreMoments {
    /// Expected score `E`.
    pub mean: f64,
    /// Variance `W = E[(X - E)^2]`.
    pub variance: f64,
    /// Fourth central moment `C = E[(X - E)^4]`.
    pub fourth: f64,
}

impl ItemCurve for ItemParams {
    fn max_score(&self) -> usize {
        1
    }

    fn category_probabilities(&self, theta: f64, out: &mut [f64]) {
        let p = self.p(theta);
        if let [q0, p1, ..] = out {
            *q0 = 1.0 - p;
            *p1 = p;
        }
    }

    fn expected_score(&self, theta: f64) -> f64 {
        self.p(theta)
    }

    fn expected_score_slope(&self, theta: f64) -> f64 {
        let s = logistic(self.a * theta + self.d);
        self.a * (1.0 - self.c) * s * (1.0 - s)
    }

    fn information(&self, theta: f64) -> f64 {
        ItemParams::information(self, theta)
    }

    /// `W = P Q`, `C = P Q (P^3 + Q^3)` (Wright and Masters 1982).
    fn score_moments(&self, theta: f64) -> ScoreMoments {
        let p = self.p(theta);
        let q = 1.0 - p;
        let w = p * q;
        ScoreMoments {
            mean: p,
            variance: w,
            fourth: w * (p * p * p + q * q * q),
        }
    }

    fn slope(&self) -> f64 {
        self.a
    }

    fn location(&self) -> f64 {
        self.b()
    }

    /// `a* = a / A`, `d* = d - a B / A` (so `b* = A b + B`), `c* = c`.
    fn rescaled(&self, scale: f64, shift: f64) -> Self {
        Self {
            a: self.a / scale,
            d: self.d - self.a * shift / scale,
            c: self.c,
        }
    }

    fn is_valid(&self) -> bool {
        self.a.is_finite() && self.d.is_finite() && (0.0..1.0).contains(&self.c)
    }
}

/// Mixed instruments: a GPCM item's expected score moves with `a Var(k)`,
/// its location is the mean of its steps; dichotomous items defer to
/// [`ItemParams`].
impl ItemCurve for super::ItemModel {
    fn max_score(&self) -> usize {
        self.n_categories() - 1
    }

    fn category_probabilities(&self, theta: f64, out: &mut [f64]) {
        for (o, p) in out.iter_mut().zip(self.probabilities(theta)) {
            *o = p;
        }
    }

    fn expected_score(&self, theta: f64) -> f64 {
        super::ItemModel::expected_score(self, theta)
    }

    fn expected_score_slope(&self, theta: f64) -> f64 {
        match self {
            Self::Dichotomous(p) => p.expected_score_slope(theta),
            Self::Gpcm { a, .. } => a * self.score_moments(theta).variance,
        }
    }

    fn information(&self, theta: f64) -> f64 {
        super::ItemModel::information(self, theta)
    }

    fn slope(&self) -> f64 {
        super::ItemModel::slope(self)
    }

    fn location(&self) -> f64 {
        let steps = self.steps();
        steps.iter().sum::<f64>() / steps.len() as f64
    }

    fn rescaled(&self, scale: f64, shift: f64) -> Self {
        self.rescale(scale, shift)
    }

    fn is_valid(&self) -> bool {
        match self {
            Self::Dichotomous(p) => p.is_valid(),
            Self::Gpcm { a, d } => a.is_finite() && *a != 0.0 && d.iter().all(|x| x.is_finite()),
        }
    }
}
