//! Estimates from plausible values: the statistic is computed once per
//! completed data set (one per plausible value, with the design-based
//! variance of that data set) and the M results are combined by Rubin's
//! rules (Rubin 1987), never by averaging the plausible values per person.
//!
//! For a share above a cut the outcome of draw m is `1{pv_m >= cut}`
//! ([`at_or_above`]); the weights, domains and design are the same in every
//! draw, so [`estimate_each`](super::estimate_each) computes what does not
//! depend on the outcome once (calibration aggregates, domain degrees of
//! freedom, replicate weights).
//!
//! Combination, per domain, with `est_m`, `var_m` the completed-data
//! estimates and design-based variances:
//!
//! - estimate `= mean_m est_m`; within `W = mean_m var_m`; between
//!   `B = sum_m (est_m - estimate)^2 / (M - 1)`;
//!   total `T = W + (1 + 1/M) B`; SE `= sqrt(T)`;
//! - relative increase in variance `r = (1 + 1/M) B / W`; Rubin's
//!   large-sample df `nu_m = (M - 1) (1 + 1/r)^2` (infinite when `B = 0`);
//! - degrees of freedom by Barnard and Rubin (1999), with the design's
//!   degrees of freedom of the domain (PSUs minus strata with members) as
//!   the complete-data df `nu_c`: `gamma = (1 + 1/M) B / T`,
//!   `nu_obs = (nu_c + 1) / (nu_c + 3) nu_c (1 - gamma)`,
//!   `df = 1 / (1 / nu_m + 1 / nu_obs)`. (mitools' `MIcombine` with
//!   `df.complete` writes `W / (W + B)` for `1 - gamma`; the engine follows
//!   the paper, and reports `rubin_df` as `MIcombine` does without it.)
//! - fraction of missing information `(r + 2 / (df + 3)) / (r + 1)` (as
//!   `MIcombine`'s `missinfo`, with the Barnard-Rubin df); 1 when `W = 0 < B`;
//!   with `B = 0`, `r = 0` and the fraction is `2 / (df + 3)` (as mitools).
//!
//! Intervals use the combined estimate, SE and df in the interval formulas
//! of the single data set ([`interval::proportion`](super::interval::proportion)):
//! Wald `p -/+ t_df se`; logit `expit(logit p -/+ t_df se / (p (1 - p)))`,
//! i.e. the combined variance carried to the logit scale by the delta
//! method (as `svyciprop`'s logit method does for one data set) rather than
//! combining logits (which fails when a draw's share is 0 or 1);
//! Korn-Graubard and Wilson on the effective sample size `p (1 - p) / T`.
//! The reliability verdict applies the standard to the combined estimate,
//! SE and df. The design effect is the mean of the draws' design effects
//! (the imputation variance is not a design effect); the effective sample
//! size is `p (1 - p) / T` (at most n) for shares and, for means, n times
//! the mean of the draws' simple-random-sampling variances over `T`.
//!
//! Contrasts ([`contrast`]): each draw's contrast with its design-based
//! variance (covariances included), combined the same way with the given
//! complete-data df, interval `estimate -/+ t_df se`.
//!
//! Rubin's variance assumes the imputation model is congenial to the
//! analysis. Plausible values drawn under a fixed population distribution
//! (the calibration's N(0, 1), not estimated with the sample) carry more
//! information than the design-based analysis, and `T` is then
//! conservative: the draws' mean varies as about `W - B + B/M`
//! (`tests/irt_pv_share.rs`). Drawing them without the design's clusters or
//! domains in the conditioning model attenuates differences between them.

use serde::Serialize;

use super::{
    Contrast, Domains, Estimate, EstimateError, Figures, Options, Variance, estimate_each, interval,
};
use crate::design::Design;
use crate::variance::PsuTotals;

/// Rubin's rules for one statistic: the parts of the combined variance and
/// its degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rubin {
    /// Number of plausible values M.
    pub draws: usize,
    /// Within variance `W`, the mean of the draws' design-based variances.
    pub within: f64,
    /// Between variance `B` of the draws' estimates (divisor M - 1).
    pub between: f64,
    /// Total variance `T = W + (1 + 1/M) B`.
    pub total_variance: f64,
    /// Relative increase in variance due to the latent ability, `(1 + 1/M) B / W`.
    pub riv: f64,
    /// Fraction of missing information `(r + 2 / (df + 3)) / (r + 1)`.
    pub fmi: f64,
    /// Complete-data degrees of freedom: the design's, for the domain.
    pub complete_df: f64,
    /// Rubin's (1987) large-sample degrees of freedom `(M - 1) (1 + 1/r)^2`.
    pub rubin_df: f64,
    /// Barnard-Rubin (1999) degrees of freedom.
    #[serde(skip)]
    pub df: f64,
    /// Mean of the draws' estimates.
    #[serde(skip)]
    pub estimate: f64,
}

impl Rubin {
    /// The combined standard error, `sqrt(T)`.
    pub fn se(&self) -> f64 {
        self.total_variance.sqrt()
    }

    /// Combines `estimates[m]` with design-based `variances[m]` (M >= 2) and
    /// the complete-data degrees of freedom (see the module; infinite for
    /// none, which gives Rubin's 1987 df).
    pub fn new(
        estimates: &[f64],
        variances: &[f64],
        complete_df: f64,
    ) -> Result<Rubin, EstimateError> {
        let m = estimates.len();
        if m < 2 || variances.len() != m {
            return Err(EstimateError::Draws { draws: m });
        }
        let mf = m as f64;
        let estimate = estimates.iter().sum::<f64>() / mf;
        let within = variances.iter().sum::<f64>() / mf;
        let between = estimates
            .iter()
            .map(|e| (e - estimate) * (e - estimate))
            .sum::<f64>()
            / (mf - 1.0);
        let extra = (1.0 + 1.0 / mf) * between;
        let total = within + extra;
        // No between variance: no missing information is visible (riv 0,
        // also when W = 0, e.g. a share of 0 in every draw).
        let riv = if between > 0.0 { extra / within } else { 0.0 };
        let rubin_df = if between > 0.0 {
            (mf - 1.0) * (1.0 + 1.0 / riv).powi(2)
        } else {
            f64::INFINITY
        };
        let gamma = if total > 0.0 { extra / total } else { 0.0 };
        // Without a complete-data df (infinite: a large sample, as for a
        // share of abilities), Barnard-Rubin's df is Rubin's (1987).
        let observed_df = if complete_df.is_infinite() {
            f64::INFINITY
        } else {
            (complete_df + 1.0) / (complete_df + 3.0) * complete_df * (1.0 - gamma)
        };
        let df = if rubin_df.is_infinite() {
            observed_df
        } else {
            1.0 / (1.0 / rubin_df + 1.0 / observed_df)
        };
        let fmi = if riv.is_infinite() {
            1.0
        } else {
            (riv + 2.0 / (df + 3.0)) / (riv + 1.0)
        };
        Ok(Rubin {
            draws: m,
            within,
            between,
            total_variance: total,
            riv,
            fmi,
            complete_df,
            rubin_df,
            df,
            estimate,
        })
    }
}

/// One domain's estimate combined over the plausible values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlausibleEstimate {
    /// The combined estimate: `estimate`, `se = sqrt(T)`, the interval and
    /// reliability verdict on them, `df` by Barnard-Rubin, `deff` the mean of
    /// the draws'. (No linearized values or replicate estimates: contrasts
    /// of plausible-value estimates are combined by [`contrast`].)
    #[serde(flatten)]
    pub combined: Estimate,
    /// Rubin's parts.
    #[serde(flatten)]
    pub rubin: Rubin,
    /// Each draw's estimate.
    pub draw_estimates: Vec<f64>,
    /// Each draw's design-based variance.
    pub draw_variances: Vec<f64>,
}

/// A contrast of plausible-value estimates, combined over the draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlausibleContrast {
    /// The combined contrast (`se = sqrt(T)`, Barnard-Rubin df, t interval).
    #[serde(flatten)]
    pub contrast: Contrast,
    /// Rubin's parts.
    #[serde(flatten)]
    pub rubin: Rubin,
}

/// A linear combination of domain estimates for plausible values:
/// `draws[m]` holds draw m's `(coefficient, estimate)` parts; each draw's
/// contrast gets its design-based variance (with covariances, as
/// [`estimate::contrast`](super::contrast)), and the draws are combined by
/// Rubin's rules with `complete_df` as the complete-data df.
pub fn contrast(
    design: &Design,
    draws: &[Vec<(f64, &Estimate)>],
    variance_method: Variance<'_>,
    complete_df: f64,
    level: f64,
) -> Result<PlausibleContrast, EstimateError> {
    let each: Vec<Contrast> = draws
        .iter()
        .map(|parts| super::contrast(design, parts, variance_method, complete_df, level))
        .collect();
    let estimates: Vec<f64> = each.iter().map(|c| c.estimate).collect();
    let variances: Vec<f64> = each.iter().map(|c| c.se * c.se).collect();
    let rubin = Rubin::new(&estimates, &variances, complete_df)?;
    let se = rubin.total_variance.sqrt();
    let (ci_low, ci_high) = interval::mean(rubin.estimate, se, rubin.df, level);
    Ok(PlausibleContrast {
        contrast: Contrast {
            estimate: rubin.estimate,
            se,
            ci_low,
            ci_high,
            df: rubin.df,
        },
        rubin,
    })
}

/// The outcome of one completed data set for a share above a cut:
/// `1{value >= cut}` (a value exactly at the cut qualifies).
pub fn at_or_above(values: &[f64], cut: f64) -> Vec<f64> {
    values
        .iter()
        .map(|&v| if v >= cut { 1.0 } else { 0.0 })
        .collect()
}

/// Estimates the statistic of each draw's outcome (`outcomes[m]`, one per
/// plausible value, M >= 2) for every domain with the design-based
/// variance, and combines the draws by Rubin's rules (see the module).
pub fn estimate_plausible(
    design: &Design,
    weights: &[f64],
    outcomes: &[&[f64]],
    domains: &Domains,
    variance_method: Variance<'_>,
    options: &Options,
) -> Result<Vec<PlausibleEstimate>, EstimateError> {
    if outcomes.len() < 2 {
        return Err(EstimateError::Draws {
            draws: outcomes.len(),
        });
    }
    let each = estimate_each(design, weights, outcomes, domains, variance_method, options)?;
    (0..domains.len())
        .map(|d| {
            let draws: Vec<&Estimate> = each.iter().map(|e| &e[d]).collect();
            combine(&draws, options)
        })
        .collect()
}

/// Combines one domain's completed-data estimates (one per plausible
/// value, M >= 2, same domain and weights) by Rubin's rules.
pub fn combine(draws: &[&Estimate], options: &Options) -> Result<PlausibleEstimate, EstimateError> {
    let (first, m) = match draws {
        [first, _, ..] => (*first, draws.len()),
        _ => {
            return Err(EstimateError::Draws { draws: draws.len() });
        }
    };
    let mf = m as f64;
    let estimates: Vec<f64> = draws.iter().map(|e| e.estimate).collect();
    let variances: Vec<f64> = draws.iter().map(|e| e.se * e.se).collect();
    let rubin = Rubin::new(&estimates, &variances, first.df)?;
    let (estimate, total, df) = (rubin.estimate, rubin.total_variance, rubin.df);
    let se = total.sqrt();
    let deff = draws.iter().map(|e| e.deff).sum::<f64>() / mf;
    // n / deff_m = n srs_m / var_m, so n srs_m = effective_n_m var_m.
    let srs_n = draws
        .iter()
        .map(|e| e.effective_n * e.se * e.se)
        .sum::<f64>()
        / mf;
    let combined = Figures {
        n: first.n,
        weighted_total: first.weighted_total,
        estimate,
        se,
        df,
        deff,
        mean_effective_n: srs_n / total,
    }
    .estimate(
        first.domain.clone(),
        options,
        PsuTotals::default(),
        Vec::new(),
    );
    Ok(PlausibleEstimate {
        combined,
        rubin,
        draw_estimates: estimates,
        draw_variances: variances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cut_is_inclusive() {
        assert_eq!(at_or_above(&[0.49, 0.5, 0.51], 0.5), [0.0, 1.0, 1.0]);
    }
}
