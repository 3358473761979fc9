//! The fixed quadrature grid of the latent distribution.

use super::IrtError;

/// Equally spaced points with weights proportional to the normal density
/// of the latent distribution, normalised to sum to 1 (mirt's rectangular
/// quadrature: 61 points on [-6, 6] by default for one dimension).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Quadrature points (theta values).
    pub points: Vec<f64>,
    /// Natural logarithms of the normalised weights.
    pub log_weights: Vec<f64>,
    /// Mean of the latent normal distribution.
    pub mean: f64,
    /// Standard deviation of the latent normal distribution.
    pub sd: f64,
}

impl Grid {
    /// `n` points on `[lo, hi]` for a N(`mean`, `sd`^2) latent distribution.
    pub fn normal(n: usize, lo: f64, hi: f64, mean: f64, sd: f64) -> Result<Self, IrtError> {
        if n < 2 || !lo.is_finite() || !hi.is_finite() || lo >= hi {
            return Err(IrtError::Option(format!(
                "grid of {n} points on [{lo}, {hi}]"
            )));
        }
        if !sd.is_finite() || sd <= 0.0 || !mean.is_finite() {
            return Err(IrtError::Option(format!("latent N({mean}, {sd}^2)")));
        }
        let step = (hi - lo) / (n - 1) as f64;
        let points: Vec<f64> = (0..n).map(|k| lo + step * k as f64).collect();
        let log_density: Vec<f64> = points
            .iter()
            .map(|t| -0.5 * ((t - mean) / sd).powi(2))
            .collect();
        let max = log_density.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        let log_total = max
            + log_density
                .iter()
                .map(|x| (x - max).exp())
                .sum::<f64>()
                .ln();
        let log_weights = log_density.iter().map(|x| x - log_total).collect();
        Ok(Self {
            points,
            log_weights,
            mean,
            sd,
        })
    }

    /// mirt's default: 61 points on [-6, 6], N(0, 1).
    pub fn standard() -> Self {
        let step = 0.2;
        let points: Vec<f64> = (0..61).map(|k| -6.0 + step * f64::from(k)).collect();
        let log_density: Vec<f64> = points.iter().map(|t| -0.5 * t * t).collect();
        let log_total = log_density.iter().map(|x| x.exp()).sum::<f64>().ln();
        Self {
            log_weights: log_density.iter().map(|x| x - log_total).collect(),
            points,
            mean: 0.0,
            sd: 1.0,
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the grid has no points (never, once built).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Distance between neighbouring points.
    pub fn step(&self) -> f64 {
        match self.points.as_slice() {
            [first, .., last] => (last - first) / (self.points.len() - 1) as f64,
            _ => 0.0,
        }
    }
}

impl Default for Grid {
    fn default() -> Self {
        Self::standard()
    }
}
