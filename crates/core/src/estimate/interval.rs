//! Confidence intervals for a share or a mean, with the design's degrees
//! of freedom as R's `svyciprop` uses them.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::quantile::{qbeta, qnorm, qt};

/// How an interval is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    /// On the logit scale, back-transformed: `expit(logit p -/+ t se / (p (1 - p)))`.
    Logit,
    /// Korn-Graubard: Clopper-Pearson on the effective sample size, adjusted
    /// by `(t_{n-1} / t_df)^2` (R's `method = "beta"`).
    Beta,
    /// Wilson score interval on the effective sample size `p (1 - p) / se^2`,
    /// with the normal quantile.
    Wilson,
    /// `p -/+ t_df se` (R's `method = "mean"`), not clipped to [0, 1].
    Wald,
}

impl FromStr for IntervalMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "logit" => Ok(Self::Logit),
            "beta" => Ok(Self::Beta),
            "wilson" => Ok(Self::Wilson),
            "wald" => Ok(Self::Wald),
            other => Err(format!(
                "{other:?} is not an interval method (logit, beta, wilson, wald)"
            )),
        }
    }
}

impl fmt::Display for IntervalMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Logit => "logit",
            Self::Beta => "beta",
            Self::Wilson => "wilson",
            Self::Wald => "wald",
        })
    }
}

/// Interval for a share `p` (in [0, 1]) with standard error `se`, design
/// degrees of freedom `df`, `n` sampled rows, at `level` (e.g. 0.95).
///
/// Edges: with `df` <= 0 the t-based intervals are undefined (NaN), as in
/// R. At p = 0 or 1 the logit interval falls back to Korn-Graubard, and
/// Wilson uses `n` for the undefined effective sample size.
pub fn proportion(
    method: IntervalMethod,
    p: f64,
    se: f64,
    df: f64,
    n: f64,
    level: f64,
) -> (f64, f64) {
    let alpha = 1.0 - level;
    match method {
        IntervalMethod::Wald => mean(p, se, df, level),
        IntervalMethod::Logit if p > 0.0 && p < 1.0 => {
            let t = qt(1.0 - alpha / 2.0, df);
            let logit = (p / (1.0 - p)).ln();
            let half = t * se / (p * (1.0 - p));
            (expit(logit - half), expit(logit + half))
        }
        IntervalMethod::Logit | IntervalMethod::Beta => korn_graubard(p, se, df, n, alpha, false),
        IntervalMethod::Wilson => {
            let z = qnorm(1.0 - alpha / 2.0);
            let m = if p > 0.0 && p < 1.0 {
                p * (1.0 - p) / (se * se)
            } else {
                n
            };
            if m.is_infinite() {
                return (p, p);
            }
            let z2m = z * z / m;
            let centre = (p + z2m / 2.0) / (1.0 + z2m);
            let half = z / (1.0 + z2m) * (p * (1.0 - p) / m + z * z / (4.0 * m * m)).sqrt();
            (centre - half, centre + half)
        }
    }
}

/// `estimate -/+ t_df se`: the interval for a mean of a numeric variable.
pub fn mean(estimate: f64, se: f64, df: f64, level: f64) -> (f64, f64) {
    let t = qt(1.0 - (1.0 - level) / 2.0, df);
    (estimate - t * se, estimate + t * se)
}

fn expit(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Korn-Graubard interval; with `cap` the effective sample size is at most
/// `n` (the NCHS convention; R does not cap).
pub fn korn_graubard(p: f64, se: f64, df: f64, n: f64, alpha: f64, cap: bool) -> (f64, f64) {
    let adjust = qt(alpha / 2.0, n - 1.0) / qt(alpha / 2.0, df);
    let mut m = p * (1.0 - p) / (se * se) * adjust * adjust;
    if cap && m > n {
        m = n;
    }
    if p > 0.0 && p < 1.0 && se == 0.0 && df > 0.0 {
        return (p, p);
    }
    if m.is_nan() || (p > 0.0 && p < 1.0 && m <= 0.0) {
        return (f64::NAN, f64::NAN);
    }
    if p == 0.0 || p == 1.0 {
        // p (1 - p) = 0: the effective sample size is undefined; NCHS uses n.
        m = n;
    }
    let low = if p == 0.0 {
        0.0
    } else {
        qbeta(alpha / 2.0, m * p, m * (1.0 - p) + 1.0)
    };
    let high = if p == 1.0 {
        1.0
    } else {
        qbeta(1.0 - alpha / 2.0, m * p + 1.0, m * (1.0 - p))
    };
    (low, high)
}
