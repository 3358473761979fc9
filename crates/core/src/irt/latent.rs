//! Normal latent distributions discretised on a fixed quadrature grid: the
//! log masses of N(`mean`, `sd`^2) on the grid's points, their exact
//! M-step, and the gradient of the expected log masses in `(mean, sd)`.
//!
//! A grid's log weights are its own normal density (N(`grid.mean`,
//! `grid.sd`^2)) times a base measure (a constant for mirt's rectangular
//! grid, the Gauss-Hermite weights' remainder for Gauss-Hermite nodes).
//! Another normal on the same points replaces the density and keeps the
//! base measure: `ln w_q = base_q - (t_q - mean)^2 / (2 sd^2) - ln Z`.
//! These masses form an exponential family in `(t, t^2)` on the grid, so
//! `sum_q n_q ln w_q` is concave in the natural parameters
//! `(mean / sd^2, -1 / (2 sd^2))` and is maximised where the masses' mean
//! and mean square equal those of the counts `n_q`.

use super::{Grid, IrtError};

impl Grid {
    /// The same points carrying a N(`mean`, `sd`^2) latent distribution:
    /// the log weights with this grid's normal density replaced by the new
    /// one, normalised (on mirt's rectangular grid: the normal density at
    /// the points).
    pub fn reweighted(&self, mean: f64, sd: f64) -> Result<Grid, IrtError> {
        if !mean.is_finite() || !sd.is_finite() || sd <= 0.0 {
            return Err(IrtError::Option(format!("latent N({mean}, {sd}^2)")));
        }
        Ok(Grid {
            points: self.points.clone(),
            log_weights: LatentGrid::new(self).log_weights(mean, sd),
            mean,
            sd,
        })
    }
}

/// A grid's points and its base measure.
#[derive(Debug, Clone)]
pub(super) struct LatentGrid {
    points: Vec<f64>,
    /// The grid's log weights without its normal density.
    base: Vec<f64>,
}

impl LatentGrid {
    pub(super) fn new(grid: &Grid) -> Self {
        Self {
            points: grid.points.clone(),
            base: grid
                .points
                .iter()
                .zip(&grid.log_weights)
                .map(|(t, lw)| lw + 0.5 * ((t - grid.mean) / grid.sd).powi(2))
                .collect(),
        }
    }

    /// Normalised log masses of N(`mean`, `sd`^2) on the points.
    pub(super) fn log_weights(&self, mean: f64, sd: f64) -> Vec<f64> {
        let raw: Vec<f64> = self
            .base
            .iter()
            .zip(&self.points)
            .map(|(b, t)| b - 0.5 * ((t - mean) / sd).powi(2))
            .collect();
        let log_total = log_sum_exp(&raw);
        raw.iter().map(|x| x - log_total).collect()
    }

    /// Mean and covariance of `(t, t^2)` under the masses of
    /// `exp(base + e1 t + e2 t^2)`, and its log normaliser.
    fn natural_moments(&self, e1: f64, e2: f64) -> ([f64; 2], [f64; 3], f64) {
        let raw: Vec<f64> = self
            .base
            .iter()
            .zip(&self.points)
            .map(|(b, t)| b + e1 * t + e2 * t * t)
            .collect();
        let log_z = log_sum_exp(&raw);
        let (mut m1, mut m2) = (0.0, 0.0);
        for (r, t) in raw.iter().zip(&self.points) {
            let w = (r - log_z).exp();
            m1 += w * t;
            m2 += w * t * t;
        }
        let (mut v11, mut v12, mut v22) = (0.0, 0.0, 0.0);
        for (r, t) in raw.iter().zip(&self.points) {
            let w = (r - log_z).exp();
            let (u1, u2) = (t - m1, t * t - m2);
            v11 += w * u1 * u1;
            v12 += w * u1 * u2;
            v22 += w * u2 * u2;
        }
        ([m1, m2], [v11, v12, v22], log_z)
    }

    /// The discretised normal maximising `sum_q n_q ln w_q`: Newton in the
    /// natural parameters `(mean / sd^2, -1 / (2 sd^2))` (a concave
    /// target), with step halving.
    pub(super) fn m_step(&self, n: &[f64], mean: f64, sd: f64) -> (f64, f64) {
        let total: f64 = n.iter().sum();
        if total <= 0.0 {
            return (mean, sd);
        }
        let pts = &self.points;
        let t1 = n.iter().zip(pts).map(|(c, t)| c * t).sum::<f64>() / total;
        let t2 = n.iter().zip(pts).map(|(c, t)| c * t * t).sum::<f64>() / total;
        let mut e = [mean / (sd * sd), -0.5 / (sd * sd)];
        let (mut mom, mut cov, mut log_z) = self.natural_moments(e[0], e[1]);
        for _ in 0..100 {
            let g = [t1 - mom[0], t2 - mom[1]];
            let det = cov[0] * cov[2] - cov[1] * cov[1];
            if det <= 0.0 || !det.is_finite() {
                break;
            }
            let step = [
                (cov[2] * g[0] - cov[1] * g[1]) / det,
                (cov[0] * g[1] - cov[1] * g[0]) / det,
            ];
            let value = e[0] * t1 + e[1] * t2 - log_z;
            let mut scale = 1.0;
            let mut moved = false;
            for _ in 0..40 {
                let cand = [e[0] + scale * step[0], e[1] + scale * step[1]];
                if cand[1] < 0.0 {
                    let (cm, cc, cz) = self.natural_moments(cand[0], cand[1]);
                    if cand[0] * t1 + cand[1] * t2 - cz >= value {
                        e = cand;
                        (mom, cov, log_z) = (cm, cc, cz);
                        moved = true;
                        break;
                    }
                }
                scale *= 0.5;
            }
            let size = scale * step[0].abs().max(step[1].abs());
            if !moved || size < 1e-13 * (1.0 + e[0].abs().max(e[1].abs())) {
                break;
            }
        }
        let var = -0.5 / e[1];
        (e[0] * var, var.sqrt())
    }

    /// Gradient of `sum_q n_q ln w_q(mean, sd)` in `(mean, sd)`: in the
    /// natural parameters it is `(sum n t - N E[t], sum n t^2 - N E[t^2])`,
    /// then the chain rule through `eta1 = mean / sd^2`,
    /// `eta2 = -1 / (2 sd^2)`.
    pub(super) fn gradient(&self, n: &[f64], mean: f64, sd: f64) -> [f64; 2] {
        let total: f64 = n.iter().sum();
        let s1: f64 = n.iter().zip(&self.points).map(|(c, t)| c * t).sum();
        let s2: f64 = n.iter().zip(&self.points).map(|(c, t)| c * t * t).sum();
        let (mom, _, _) = self.natural_moments(mean / (sd * sd), -0.5 / (sd * sd));
        let (g1, g2) = (s1 - total * mom[0], s2 - total * mom[1]);
        let sd3 = sd * sd * sd;
        [g1 / (sd * sd), -2.0 * mean * g1 / sd3 + g2 / sd3]
    }
}

fn log_sum_exp(x: &[f64]) -> f64 {
    let max = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + x.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}
