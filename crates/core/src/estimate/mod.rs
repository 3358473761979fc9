//! Design-based estimates of a share, mean or total for the population and
//! for domains (treated as subpopulations), with Taylor-linearization
//! standard errors, intervals, design effects and a reliability verdict.

mod calibrated;
pub mod domains;
pub mod interval;
pub mod plausible;
mod raked_replicates;
pub mod reliability;

use rayon::prelude::*;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::design::Design;
use crate::variance::{PsuTotals, Replicates, psu_totals, variance};
use crate::weighting::{Margin, RakeOptions, WeightingError};

pub use domains::Domains;
pub use interval::IntervalMethod;
pub use plausible::{PlausibleEstimate, at_or_above, estimate_plausible};
pub use reliability::{Nchs, Reliability};

/// What is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// Weighted mean (a share for a 0/1 outcome): `sum w y / sum w`.
    Mean,
    /// Weighted total: `sum w y`.
    Total,
}

/// How the final weights were calibrated, so the variance accounts for it
/// (the linearized values are residualized as R's `svyrecvar` does).
#[derive(Debug, Clone, Copy)]
pub enum Calibration<'a> {
    /// Design weights (possibly trimmed): no calibration term.
    None,
    /// Post-stratified to the cells of this margin.
    PostStratified(&'a Margin),
    /// Raked to these margins, in this order.
    Raked(&'a [Margin]),
}

/// Re-runs the weighting steps (raking, trimming...) on one replicate's
/// weights, so replicate variance reflects them.
pub type Reweight<'a> = dyn Fn(&mut [f64]) -> Result<(), WeightingError> + Sync + 'a;

/// How the variance is estimated.
#[derive(Clone, Copy)]
pub enum Variance<'a> {
    /// Taylor linearization, adjusted for the calibration.
    Taylor(Calibration<'a>),
    /// Replicate weights of the raked weights, every replicate raked again
    /// to the same margins (the estimate's weights must be the raked ones).
    /// Same numbers as `Replicate` with a raking `reweight`, much faster.
    RakedReplicate(RakedReplicates<'a>),
    /// Replicate weights.
    Replicate {
        /// The replicates (multipliers per PSU).
        replicates: &'a Replicates,
        /// Centre on the full-sample estimate rather than the replicates' mean.
        mse: bool,
        /// Weights the multipliers apply to (before the weighting steps).
        base_weights: &'a [f64],
        /// The weighting steps to repeat on every replicate.
        reweight: Option<&'a Reweight<'a>>,
    },
}

/// Replicates whose only weighting step is raking: computed on cells.
#[derive(Clone, Copy)]
pub struct RakedReplicates<'a> {
    /// The replicates (multipliers per PSU).
    pub replicates: &'a Replicates,
    /// Centre on the full-sample estimate rather than the replicates' mean.
    pub mse: bool,
    /// The margins every replicate is raked to.
    pub margins: &'a [Margin],
    /// Raking's stopping rule.
    pub options: RakeOptions,
}

/// Options of an estimation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Mean (share) or total.
    pub statistic: Statistic,
    /// Whether the outcome is 0/1, so the estimate is a share.
    pub proportion: bool,
    /// Interval method for shares (means of numeric outcomes use `Wald`).
    pub interval: IntervalMethod,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// Reliability thresholds.
    pub reliability: Nchs,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            statistic: Statistic::Mean,
            proportion: true,
            interval: IntervalMethod::Logit,
            level: 0.95,
            reliability: Nchs::default(),
        }
    }
}

impl Options {
    /// Whether the estimate is a share: the mean of a 0/1 outcome.
    fn is_share(&self) -> bool {
        self.proportion && self.statistic == Statistic::Mean
    }

    /// The confidence interval of an estimate (`n` sampled rows): a share's
    /// by the chosen method, any other on the t distribution.
    fn interval(&self, estimate: f64, se: f64, df: f64, n: f64) -> (f64, f64) {
        if self.is_share() {
            interval::proportion(self.interval, estimate, se, df, n, self.level)
        } else {
            interval::mean(estimate, se, df, self.level)
        }
    }

    /// A share's effective sample size and reliability verdict.
    fn share_reliability(
        &self,
        estimate: f64,
        se: f64,
        df: f64,
        n: f64,
    ) -> (f64, reliability::Reliability) {
        (
            reliability::effective_n(estimate, se, n),
            self.reliability.proportion(estimate, se, df, n),
        )
    }
}

/// Why an estimation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EstimateError {
    /// Columns of different lengths.
    #[error("{column} has {len} values for a design of {rows} rows")]
    Length {
        /// The column.
        column: &'static str,
        /// Its length.
        len: usize,
        /// Rows of the design.
        rows: usize,
    },
    /// A weight or outcome that is not a finite number (or a negative weight).
    #[error("row {row}: {column} {value} is not {expected}")]
    Value {
        /// Row (0-based).
        row: usize,
        /// The column.
        column: &'static str,
        /// The value.
        value: f64,
        /// What it should be.
        expected: &'static str,
    },
    /// Rubin's rules need at least two plausible values.
    #[error("{draws} plausible values: Rubin's rules need at least 2")]
    Draws {
        /// Number given.
        draws: usize,
    },
    /// Re-running the weighting on a replicate failed.
    #[error("replicate {replicate}: {source}")]
    Replicate {
        /// Replicate index (1-based).
        replicate: usize,
        /// Why.
        source: WeightingError,
    },
}

/// One estimate, with everything a statistician needs to judge it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The domain: variable and label pairs (empty for the population).
    #[serde(serialize_with = "as_map")]
    pub domain: Vec<(String, String)>,
    /// Sampled rows in the domain with a non-zero weight.
    pub n: usize,
    /// Sum of the weights in the domain (the estimated population size).
    pub weighted_total: f64,
    /// The share, mean or total.
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// Lower confidence limit.
    pub ci_low: f64,
    /// Upper confidence limit.
    pub ci_high: f64,
    /// Design degrees of freedom of the domain.
    pub df: f64,
    /// Design effect against simple random sampling without replacement (R's default).
    pub deff: f64,
    /// Coefficient of variation `se / estimate`.
    pub cv: f64,
    /// Effective sample size (shares: `p (1 - p) / se^2`, at most n; means: `n / deff` with replacement).
    pub effective_n: f64,
    /// Not to be published under the reliability standard.
    pub suppressed: bool,
    /// To be reviewed before publication.
    pub flagged: bool,
    /// The rules that fired.
    pub reliability: Vec<String>,
    /// PSU totals of the linearized values (Taylor; for contrasts).
    #[serde(skip)]
    pub linearized: PsuTotals,
    /// The estimate in every replicate (replicate variance; for contrasts).
    #[serde(skip)]
    pub replicate_estimates: Vec<f64>,
}

impl Estimate {
    /// The reported fields, in the order of the CSV outputs (after the
    /// domain's variables).
    pub const CSV_FIELDS: [&'static str; 13] = [
        "n",
        "weighted_total",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "df",
        "deff",
        "cv",
        "effective_n",
        "suppressed",
        "flagged",
        "reliability",
    ];
}

fn as_map<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

fn check(design: &Design, weights: &[f64], y: &[f64]) -> Result<(), EstimateError> {
    let rows = design.n();
    for (column, len) in [("weights", weights.len()), ("outcome", y.len())] {
        if len != rows {
            return Err(EstimateError::Length { column, len, rows });
        }
    }
    if let Some(row) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(EstimateError::Value {
            row,
            column: "weight",
            value: weights[row],
            expected: "a finite non-negative number",
        });
    }
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(EstimateError::Value {
            row,
            column: "outcome",
            value: y[row],
            expected: "a finite number",
        });
    }
    Ok(())
}

/// Estimates the statistic of `y` for every domain, with the chosen variance.
pub fn estimate(
    design: &Design,
    weights: &[f64],
    y: &[f64],
    domains: &Domains,
    variance_method: Variance<'_>,
    options: &Options,
) -> Result<Vec<Estimate>, EstimateError> {
    Ok(
        estimate_each(design, weights, &[y], domains, variance_method, options)?
            .pop()
            .unwrap_or_default(),
    )
}

/// Estimates the statistic of each outcome in `ys` for every domain
/// (`result[k][d]`), with the same weights, domains and variance method:
/// what does not depend on the outcome (the calibration aggregates, the
/// domain degrees of freedom, every replicate's weights) is computed once.
/// Each result equals `estimate` on that outcome alone.
pub fn estimate_each(
    design: &Design,
    weights: &[f64],
    ys: &[&[f64]],
    domains: &Domains,
    variance_method: Variance<'_>,
    options: &Options,
) -> Result<Vec<Vec<Estimate>>, EstimateError> {
    if ys.is_empty() {
        return Ok(Vec::new());
    }
    for y in ys {
        check(design, weights, y)?;
    }
    let each = Outcomes::new(design, weights, ys, domains, options);
    match variance_method {
        Variance::Taylor(calibration) => each.taylor(calibration),
        Variance::RakedReplicate(rr) => each.raked_replicate(rr),
        Variance::Replicate {
            replicates,
            mse,
            base_weights,
            reweight,
        } => each.replicate(replicates, mse, base_weights, reweight),
    }
}

/// The checked outcomes of [`estimate_each`] with what every variance
/// method starts from: each domain's degrees of freedom and each outcome's
/// point estimates (`points[k][d]`).
struct Outcomes<'a> {
    design: &'a Design,
    weights: &'a [f64],
    ys: &'a [&'a [f64]],
    domains: &'a Domains,
    options: &'a Options,
    dfs: Vec<f64>,
    points: Vec<Vec<Point>>,
}

impl<'a> Outcomes<'a> {
    fn new(
        design: &'a Design,
        weights: &'a [f64],
        ys: &'a [&'a [f64]],
        domains: &'a Domains,
        options: &'a Options,
    ) -> Outcomes<'a> {
        let dfs: Vec<f64> = (0..domains.len())
            .into_par_iter()
            .map(|d| domain_df(design, weights, domains.rows(d)))
            .collect();
        let points: Vec<Vec<Point>> = ys
            .iter()
            .map(|y| {
                (0..domains.len())
                    .into_par_iter()
                    .map(|d| Point::of(weights, y, domains.rows(d), options.statistic))
                    .collect()
            })
            .collect();
        Outcomes {
            design,
            weights,
            ys,
            domains,
            options,
            dfs,
            points,
        }
    }

    /// Taylor linearization, adjusted for the calibration.
    fn taylor(&self, calibration: Calibration<'_>) -> Result<Vec<Vec<Estimate>>, EstimateError> {
        let plan = calibration_plan(self.design, self.weights, calibration)?;
        Ok(self
            .ys
            .iter()
            .zip(&self.points)
            .map(|(y, points)| {
                (0..self.domains.len())
                    .into_par_iter()
                    .map(|d| {
                        let rows = self.domains.rows(d);
                        let linearized = linearize(
                            self.design,
                            self.weights,
                            y,
                            rows,
                            &points[d],
                            plan.as_ref(),
                            self.options,
                        );
                        let v = variance(self.design, &linearized);
                        assemble(
                            self.weights,
                            y,
                            self.domains,
                            d,
                            &points[d],
                            self.dfs[d],
                            v,
                            linearized,
                            Vec::new(),
                            self.options,
                        )
                    })
                    .collect()
            })
            .collect())
    }

    /// Replicates of the raked weights, each raked again: on cells when
    /// the outcomes allow it, else replicate by replicate.
    fn raked_replicate(
        &self,
        rr: RakedReplicates<'_>,
    ) -> Result<Vec<Vec<Estimate>>, EstimateError> {
        let row_domain = row_domains(self.design, self.domains);
        match raked_replicates::thetas(
            self.design,
            self.weights,
            self.ys,
            &row_domain,
            self.domains.len(),
            rr.replicates,
            rr.margins,
            rr.options,
            self.options.statistic,
        ) {
            Some(thetas) => Ok(self.estimates_of_replicates(rr.replicates, rr.mse, &thetas?)),
            None => {
                let rake =
                    |w: &mut [f64]| crate::weighting::rake(w, rr.margins, rr.options).map(|_| ());
                self.replicate(rr.replicates, rr.mse, self.weights, Some(&rake))
            }
        }
    }

    /// Replicates of `base_weights`, each put through `reweight`.
    fn replicate(
        &self,
        replicates: &Replicates,
        mse: bool,
        base_weights: &[f64],
        reweight: Option<&Reweight<'_>>,
    ) -> Result<Vec<Vec<Estimate>>, EstimateError> {
        if base_weights.len() != self.design.n() {
            return Err(EstimateError::Length {
                column: "base weights",
                len: base_weights.len(),
                rows: self.design.n(),
            });
        }
        let row_domain = row_domains(self.design, self.domains);
        let thetas = row_thetas(
            self.design,
            base_weights,
            self.ys,
            &row_domain,
            self.domains.len(),
            replicates,
            reweight,
            self.options,
        )?;
        Ok(self.estimates_of_replicates(replicates, mse, &thetas))
    }

    /// Every outcome's estimates from the replicates' (`thetas[r][k][d]`).
    fn estimates_of_replicates(
        &self,
        replicates: &Replicates,
        mse: bool,
        thetas: &[Vec<Vec<f64>>],
    ) -> Vec<Vec<Estimate>> {
        self.ys
            .iter()
            .enumerate()
            .map(|(k, y)| {
                replicate_estimates(
                    self.weights,
                    y,
                    self.domains,
                    &self.points[k],
                    &self.dfs,
                    replicates,
                    mse,
                    thetas,
                    k,
                    self.options,
                )
            })
            .collect()
    }
}

/// The calibration aggregates Taylor variance needs (none without a
/// calibration), after checking every margin has a code for each row.
fn calibration_plan(
    design: &Design,
    weights: &[f64],
    calibration: Calibration<'_>,
) -> Result<Option<calibrated::Plan>, EstimateError> {
    let margins: Vec<&Margin> = match calibration {
        Calibration::None => Vec::new(),
        Calibration::PostStratified(cells) => vec![cells],
        Calibration::Raked(margins) => margins.iter().collect(),
    };
    if let Some(m) = margins.iter().find(|m| m.codes().len() != design.n()) {
        return Err(EstimateError::Length {
            column: "margin",
            len: m.codes().len(),
            rows: design.n(),
        });
    }
    Ok(match calibration {
        Calibration::None => None,
        Calibration::PostStratified(_) => {
            Some(calibrated::Plan::new(design, weights, &margins, true))
        }
        Calibration::Raked(_) => Some(calibrated::Plan::new(design, weights, &margins, false)),
    })
}

/// Each row's domain (`u32::MAX` for none), so a replicate's domain sums
/// take one sequential pass over the rows (in row order, as `Point::of`).
fn row_domains(design: &Design, domains: &Domains) -> Vec<u32> {
    let mut row_domain = vec![u32::MAX; design.n()];
    for d in 0..domains.len() {
        for &row in domains.rows(d) {
            row_domain[row as usize] = u32::try_from(d).unwrap_or(u32::MAX);
        }
    }
    row_domain
}

/// Each replicate's estimate of each outcome in each domain
/// (`result[r][k][d]`), replicate by replicate (in parallel), one weight
/// vector each, shared by the outcomes.
#[expect(clippy::too_many_arguments, reason = "one private computation")]
fn row_thetas(
    design: &Design,
    base_weights: &[f64],
    ys: &[&[f64]],
    row_domain: &[u32],
    n_domains: usize,
    replicates: &Replicates,
    reweight: Option<&Reweight<'_>>,
    options: &Options,
) -> Result<Vec<Vec<Vec<f64>>>, EstimateError> {
    (0..replicates.len())
        .into_par_iter()
        .map(|r| {
            let mut w = vec![0.0; design.n()];
            replicates.weights_into(design, base_weights, r, &mut w);
            if let Some(reweight) = reweight {
                reweight(&mut w).map_err(|source| EstimateError::Replicate {
                    replicate: r + 1,
                    source,
                })?;
            }
            Ok(ys
                .iter()
                .map(|y| {
                    let mut sums = vec![(0.0, 0.0); n_domains];
                    for ((&d, &wi), &yi) in row_domain.iter().zip(&w).zip(y.iter()) {
                        if let Some((sw, swy)) = sums.get_mut(d as usize) {
                            *sw += wi;
                            *swy += wi * yi;
                        }
                    }
                    sums.into_iter()
                        .map(|(sw, swy)| match options.statistic {
                            Statistic::Mean => swy / sw,
                            Statistic::Total => swy,
                        })
                        .collect()
                })
                .collect())
        })
        .collect()
}

/// Estimates of outcome `k` with the replicate variance of `thetas`
/// (`[r][k][d]`).
#[expect(clippy::too_many_arguments, reason = "one private assembly step")]
fn replicate_estimates(
    weights: &[f64],
    y: &[f64],
    domains: &Domains,
    points: &[Point],
    dfs: &[f64],
    replicates: &Replicates,
    mse: bool,
    thetas: &[Vec<Vec<f64>>],
    k: usize,
    options: &Options,
) -> Vec<Estimate> {
    (0..domains.len())
        .map(|d| {
            let reps: Vec<f64> = thetas.iter().map(|t| t[k][d]).collect();
            let v = replicates.variance(points[d].estimate, &reps, mse);
            assemble(
                weights,
                y,
                domains,
                d,
                &points[d],
                dfs[d],
                v,
                PsuTotals::default(),
                reps,
                options,
            )
        })
        .collect()
}

/// Sums of one domain.
#[derive(Debug, Clone, Copy)]
struct Point {
    n: usize,
    w_sum: f64,
    mean: f64,
    estimate: f64,
}

impl Point {
    fn of(weights: &[f64], y: &[f64], rows: &[u32], statistic: Statistic) -> Self {
        let (mut w_sum, mut wy_sum, mut n) = (0.0, 0.0, 0usize);
        for &row in rows {
            let (w, v) = (weights[row as usize], y[row as usize]);
            w_sum += w;
            wy_sum += w * v;
            n += usize::from(w != 0.0);
        }
        let mean = wy_sum / w_sum;
        Point {
            n,
            w_sum,
            mean,
            estimate: match statistic {
                Statistic::Mean => mean,
                Statistic::Total => wy_sum,
            },
        }
    }
}

/// PSU totals of the domain's linearized values, residualized for the
/// calibration when there is one.
fn linearize(
    design: &Design,
    weights: &[f64],
    y: &[f64],
    rows: &[u32],
    point: &Point,
    plan: Option<&calibrated::Plan>,
    options: &Options,
) -> PsuTotals {
    let score = |row: usize| {
        let (w, v) = (weights[row], y[row]);
        match options.statistic {
            Statistic::Mean => w * (v - point.mean) / point.w_sum,
            Statistic::Total => w * v,
        }
    };
    match plan {
        Some(plan) => plan.psu_totals(design, weights, score, rows),
        None => {
            let mut in_domain = vec![false; design.n()];
            let mut x = vec![0.0; design.n()];
            for &row in rows {
                in_domain[row as usize] = true;
                x[row as usize] = score(row as usize);
            }
            psu_totals(design, &x, |row| in_domain[row])
        }
    }
}

/// The estimate of domain `d` with variance `v`.
#[expect(clippy::too_many_arguments, reason = "one private assembly step")]
fn assemble(
    weights: &[f64],
    y: &[f64],
    domains: &Domains,
    d: usize,
    point: &Point,
    df: f64,
    v: f64,
    linearized: PsuTotals,
    replicate_estimates: Vec<f64>,
    options: &Options,
) -> Estimate {
    let rows = domains.rows(d);
    let (n, w_sum, mean, estimate) = (point.n, point.w_sum, point.mean, point.estimate);
    let se = v.sqrt();

    // Design effect: V over the variance under simple random sampling of n
    // without replacement from a population of sum(w).
    let n_f = n as f64;
    let spread: f64 = rows
        .iter()
        .map(|&r| weights[r as usize] * (y[r as usize] - mean).powi(2))
        .sum::<f64>()
        / w_sum
        * n_f
        / (n_f - 1.0);
    let srs = match options.statistic {
        Statistic::Mean => spread / n_f,
        Statistic::Total => spread / n_f * w_sum * w_sum,
    };
    let deff = v / (srs * (1.0 - n_f / w_sum));
    let deff_replace = v / srs;

    let domain = domains
        .variables()
        .iter()
        .cloned()
        .zip(domains.labels(d).iter().cloned())
        .collect();
    Figures {
        n,
        weighted_total: w_sum,
        estimate,
        se,
        df,
        deff,
        mean_effective_n: n_f / deff_replace,
    }
    .estimate(domain, options, linearized, replicate_estimates)
}

/// What an estimate is made of before its interval and reliability
/// verdict: the point estimate, its standard error and df, its design
/// effect and the sample behind it.
struct Figures {
    n: usize,
    weighted_total: f64,
    estimate: f64,
    se: f64,
    df: f64,
    deff: f64,
    /// The effective sample size if the estimate is not a share (a
    /// share's is `p (1 - p) / se^2`).
    mean_effective_n: f64,
}

impl Figures {
    /// The estimate of `domain`, with the interval and the reliability
    /// verdict `options` ask for.
    fn estimate(
        self,
        domain: Vec<(String, String)>,
        options: &Options,
        linearized: PsuTotals,
        replicate_estimates: Vec<f64>,
    ) -> Estimate {
        let Figures {
            n,
            weighted_total,
            estimate,
            se,
            df,
            deff,
            mean_effective_n,
        } = self;
        let n_f = n as f64;
        let (ci_low, ci_high) = options.interval(estimate, se, df, n_f);
        let (effective_n, verdict) = if options.is_share() {
            options.share_reliability(estimate, se, df, n_f)
        } else {
            (
                mean_effective_n,
                options.reliability.mean(estimate, se, df, mean_effective_n),
            )
        };
        Estimate {
            domain,
            n,
            weighted_total,
            estimate,
            se,
            ci_low,
            ci_high,
            df,
            deff,
            cv: se / estimate,
            effective_n,
            suppressed: verdict.suppressed,
            flagged: verdict.flagged,
            reliability: verdict.reasons,
            linearized,
            replicate_estimates,
        }
    }
}

/// PSUs minus strata among the domain's rows with a non-zero weight.
fn domain_df(design: &Design, weights: &[f64], rows: &[u32]) -> f64 {
    let mut psus: Vec<u32> = rows
        .iter()
        .filter(|&&r| weights[r as usize] != 0.0)
        .map(|&r| design.row_psu()[r as usize])
        .collect();
    psus.sort_unstable();
    psus.dedup();
    let mut strata: Vec<u32> = psus
        .iter()
        .map(|&p| design.psu_stratum()[p as usize])
        .collect();
    strata.sort_unstable();
    strata.dedup();
    psus.len() as f64 - strata.len() as f64
}

/// A difference (or any linear combination) of estimates, with its
/// design-based standard error including their covariance (as R's
/// `svycontrast` on `svyby(..., covmat = TRUE)`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contrast {
    /// The combination's value.
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// Lower limit, `estimate - t_df se`.
    pub ci_low: f64,
    /// Upper limit.
    pub ci_high: f64,
    /// Degrees of freedom used.
    pub df: f64,
}

/// `sum coef_k * estimate_k` with its variance from the combined linearized
/// values (Taylor) or replicate estimates, at `level` with `df` degrees of
/// freedom.
pub fn contrast(
    design: &Design,
    parts: &[(f64, &Estimate)],
    variance_method: Variance<'_>,
    df: f64,
    level: f64,
) -> Contrast {
    let estimate: f64 = parts.iter().map(|(c, e)| c * e.estimate).sum();
    let v = match variance_method {
        Variance::Taylor(_) => {
            let totals: Vec<(f64, &PsuTotals)> =
                parts.iter().map(|(c, e)| (*c, &e.linearized)).collect();
            variance(design, &PsuTotals::combine(&totals))
        }
        Variance::Replicate {
            replicates, mse, ..
        }
        | Variance::RakedReplicate(RakedReplicates {
            replicates, mse, ..
        }) => {
            let thetas: Vec<f64> = (0..replicates.len())
                .map(|r| {
                    parts
                        .iter()
                        .map(|(c, e)| c * e.replicate_estimates[r])
                        .sum()
                })
                .collect();
            replicates.variance(estimate, &thetas, mse)
        }
    };
    let se = v.sqrt();
    let (ci_low, ci_high) = interval::mean(estimate, se, df, level);
    Contrast {
        estimate,
        se,
        ci_low,
        ci_high,
        df,
    }
}
