//! The EM loop of the calibration (`mml.rs` is its model): plain EM
//! cycles until no free parameter moves by more than the tolerance,
//! optionally accelerated by SQUAREM (Varadhan and Roland 2008, scheme S3).

use super::Convergence;

/// Largest SQUAREM step length.
const MAX_EXTRAPOLATION: f64 = 64.0;

/// A model fitted by EM: its E- and M-steps and its free parameters as
/// one vector (what SQUAREM extrapolates).
pub(super) trait EmModel {
    /// The parameters being fitted.
    type State;
    /// What an E-step hands the M-step.
    type Counts;

    /// Expected counts under `state`.
    fn e_step(&self, state: &Self::State) -> Self::Counts;
    /// The next state from `state` and its expected counts.
    fn m_step(&self, state: &Self::State, counts: &Self::Counts) -> Self::State;
    /// The log-likelihood the E-step found.
    fn log_likelihood(counts: &Self::Counts) -> f64;
    /// The log prior density of `state` (0 without priors).
    fn log_prior(&self, state: &Self::State) -> f64;
    /// The free parameters of `state`, in a fixed order.
    fn free(&self, state: &Self::State) -> Vec<f64>;
    /// `template` with its free parameters replaced by `free`.
    fn unfree(&self, template: &Self::State, free: &[f64]) -> Self::State;
    /// Whether `state` is inside the parameter space (an extrapolation may
    /// leave it).
    fn valid(&self, state: &Self::State) -> bool;
}

/// When the loop stops, and whether it extrapolates.
#[derive(Debug, Clone, Copy)]
pub(super) struct EmOptions {
    /// Most E-steps (SQUAREM's count too).
    pub max_iterations: usize,
    /// Converged when no free parameter moves by this much in a plain cycle.
    pub tolerance: f64,
    /// Whether to accelerate with SQUAREM.
    pub accelerate: bool,
}

/// Runs EM from `state`. With SQUAREM, each cycle takes two EM steps,
/// extrapolates along them, keeps the result only if it is valid and its
/// target (log-likelihood plus log prior) is no worse than after the first
/// step, then takes one EM step from it. The fixed point is EM's;
/// convergence is still judged on a plain EM step.
pub(super) fn run<M: EmModel>(
    model: &M,
    mut state: M::State,
    options: EmOptions,
) -> (M::State, Convergence) {
    let mut convergence = Convergence {
        iterations: 0,
        max_change: f64::INFINITY,
        converged: false,
    };
    while convergence.iterations < options.max_iterations {
        let counts0 = model.e_step(&state);
        let step1 = model.m_step(&state, &counts0);
        convergence.iterations += 1;
        let (b0, b1) = (model.free(&state), model.free(&step1));
        convergence.max_change = max_abs_diff(&b0, &b1);
        if convergence.max_change < options.tolerance {
            state = step1;
            convergence.converged = true;
            break;
        }
        if !options.accelerate {
            state = step1;
            continue;
        }
        let counts1 = model.e_step(&step1);
        let step2 = model.m_step(&step1, &counts1);
        convergence.iterations += 1;
        let b2 = model.free(&step2);
        let r: Vec<f64> = b1.iter().zip(&b0).map(|(x, y)| x - y).collect();
        let v: Vec<f64> = b2
            .iter()
            .zip(&b1)
            .zip(&b0)
            .map(|((x2, x1), x0)| x2 - 2.0 * x1 + x0)
            .collect();
        let norm = |x: &[f64]| x.iter().map(|y| y * y).sum::<f64>().sqrt();
        let (rn, vn) = (norm(&r), norm(&v));
        state = step2;
        if vn > 0.0 && rn.is_finite() {
            let alpha = (-rn / vn).clamp(-MAX_EXTRAPOLATION, -1.0);
            let bx: Vec<f64> = b0
                .iter()
                .zip(&r)
                .zip(&v)
                .map(|((x0, r), v)| x0 - 2.0 * alpha * r + alpha * alpha * v)
                .collect();
            let px = model.unfree(&step1, &bx);
            if model.valid(&px) {
                let counts_x = model.e_step(&px);
                convergence.iterations += 1;
                let target_x = M::log_likelihood(&counts_x) + model.log_prior(&px);
                let target1 = M::log_likelihood(&counts1) + model.log_prior(&step1);
                if target_x.is_finite() && target_x >= target1 {
                    state = model.m_step(&px, &counts_x);
                }
            }
        }
    }
    (state, convergence)
}

fn max_abs_diff(x: &[f64], y: &[f64]) -> f64 {
    x.iter()
        .zip(y)
        .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()))
}
