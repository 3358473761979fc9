//! Whether an estimate may be published: the NCHS Data Presentation
//! Standards for Proportions (National Center for Health Statistics, Vital
//! Health Stat 2(175), 2017), with configurable thresholds.

use serde::Serialize;

use super::interval::korn_graubard;

/// Thresholds of the NCHS standard for proportions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Nchs {
    /// Suppress below this effective sample size (30).
    pub min_effective_n: f64,
    /// Suppress when the Korn-Graubard interval is at least this wide (0.30).
    pub max_width: f64,
    /// Suppress when width / p exceeds this (1.30), unless the width is at
    /// most `present_width`.
    pub max_relative_width: f64,
    /// Intervals at most this wide are always presented (0.05).
    pub present_width: f64,
    /// Flag for statistical review below these degrees of freedom (8).
    pub min_df: f64,
}

impl Default for Nchs {
    fn default() -> Self {
        Self {
            min_effective_n: 30.0,
            max_width: 0.30,
            max_relative_width: 1.30,
            present_width: 0.05,
            min_df: 8.0,
        }
    }
}

/// The verdict on one estimate.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Reliability {
    /// Not to be published.
    pub suppressed: bool,
    /// To be reviewed by a statistician before publication.
    pub flagged: bool,
    /// Why, one reason per rule that fired (empty when presented as is).
    pub reasons: Vec<String>,
}

impl Nchs {
    /// Applies the standard to a share `p` with standard error `se`, design
    /// degrees of freedom `df` and `n` sampled rows. The effective sample
    /// size is `p (1 - p) / se^2`, at most `n`; the interval is the 95%
    /// Korn-Graubard interval on it.
    pub fn proportion(&self, p: f64, se: f64, df: f64, n: f64) -> Reliability {
        let mut r = Reliability::default();
        let effective_n = effective_n(p, se, n);
        if effective_n.is_nan() || effective_n < self.min_effective_n {
            r.suppressed = true;
            r.reasons.push(format!(
                "effective sample size {effective_n:.1} is below {}",
                self.min_effective_n
            ));
        }
        let (low, high) = korn_graubard(p, se, df, n, 0.05, true);
        let width = high - low;
        if width.is_nan() {
            r.suppressed = true;
            r.reasons
                .push("no confidence interval (too few degrees of freedom)".to_owned());
        } else if width >= self.max_width {
            r.suppressed = true;
            r.reasons.push(format!(
                "confidence interval width {width:.3} is at least {}",
                self.max_width
            ));
        } else if width > self.present_width && p > 0.0 && width / p > self.max_relative_width {
            r.suppressed = true;
            r.reasons.push(format!(
                "relative confidence interval width {:.2} exceeds {}",
                width / p,
                self.max_relative_width
            ));
        }
        if !r.suppressed
            && width > self.present_width
            && p < 1.0
            && width / (1.0 - p) > self.max_relative_width
        {
            r.flagged = true;
            r.reasons.push(format!(
                "relative width of the complement {:.2} exceeds {}",
                width / (1.0 - p),
                self.max_relative_width
            ));
        }
        if df < self.min_df {
            r.flagged = true;
            r.reasons.push(format!(
                "{df} degrees of freedom, fewer than {}",
                self.min_df
            ));
        }
        r
    }

    /// For a mean of a numeric variable: suppressed below the minimum
    /// effective sample size, flagged when the relative standard error
    /// exceeds 30% or the degrees of freedom are few.
    pub fn mean(&self, estimate: f64, se: f64, df: f64, effective_n: f64) -> Reliability {
        let mut r = Reliability::default();
        if effective_n.is_nan() || effective_n < self.min_effective_n {
            r.suppressed = true;
            r.reasons.push(format!(
                "effective sample size {effective_n:.1} is below {}",
                self.min_effective_n
            ));
        }
        let rse = se / estimate.abs();
        if rse > 0.30 {
            r.flagged = true;
            r.reasons
                .push(format!("relative standard error {rse:.2} exceeds 0.30"));
        }
        if df < self.min_df {
            r.flagged = true;
            r.reasons.push(format!(
                "{df} degrees of freedom, fewer than {}",
                self.min_df
            ));
        }
        r
    }
}

/// Effective sample size of a share: `p (1 - p) / se^2`, at most `n`
/// (NCHS); `n` when the variance is zero.
pub fn effective_n(p: f64, se: f64, n: f64) -> f64 {
    let m = p * (1.0 - p) / (se * se);
    if m.is_nan() || m > n { n } else { m }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nchs_rules() {
        let rule = Nchs::default();
        // Large sample, narrow interval: presented.
        let ok = rule.proportion(0.15, 0.005, 100.0, 5000.0);
        assert!(!ok.suppressed && !ok.flagged, "{ok:?}");
        // Effective n = 0.25 / 0.01 = 25 < 30.
        let small = rule.proportion(0.5, 0.1, 100.0, 200.0);
        assert!(small.suppressed);
        assert!(small.reasons[0].contains("effective sample size 25.0"));
        // Few degrees of freedom: flagged.
        let few = rule.proportion(0.15, 0.005, 5.0, 5000.0);
        assert!(few.flagged && !few.suppressed, "{few:?}");
        // A rare share with a wide relative interval: suppressed.
        let rare = rule.proportion(0.02, 0.012, 100.0, 2000.0);
        assert!(rare.suppressed, "{rare:?}");
        assert!(
            rare.reasons.iter().any(|r| r.contains("relative")),
            "{rare:?}"
        );
    }
}
