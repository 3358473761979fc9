//! Progress against the national targets: targets and the published series
//! as data ([`Targets`], [`NationalSeries`]), a one-sided test that an
//! estimate exceeds a target ([`assess`]), the change between two rounds
//! ([`change`], [`gap_change`]) and the year a target is reached on the
//! trend of the published series ([`project`]).
//!
//! Non-finite numbers (an infinite statistic, a NaN p-value) serialize to
//! JSON as `null`; every result that can hold one carries a `note` saying why.

mod data;
mod projection;
mod tail;

use serde::Serialize;

use crate::estimate::Contrast;
use crate::quantile::qnorm;

pub use data::{
    MAX_YEAR, MIN_YEAR, NationalSeries, PlanTargets, SeriesPoint, Target, Targets, TargetsError,
};
pub use projection::{PROJECTION_METHOD, Projection, ProjectionError, project, project_with};
pub use tail::{normal_upper, t_upper};

/// The test [`assess`] performs, as stated in its output.
pub const ASSESS_TEST: &str = "one-sided t test of H0: share <= target against H1: share > target; \
     p = P(T_df > (estimate - target) / se), normal when df is infinite";

/// The test [`change`] performs, as stated in its output.
pub const CHANGE_TEST: &str = "two-sided z test of no change between independent samples; \
     se = sqrt(se_current^2 + se_earlier^2), normal quantiles";

/// An estimate against one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// The target.
    pub target: Target,
    /// The estimated share.
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// Degrees of freedom of the test (infinite: normal).
    pub df: f64,
    /// `estimate - target.share`.
    pub gap: f64,
    /// Whether the point estimate reaches the target (strictly above it when
    /// the target says "above"), sampling error aside.
    pub reached: bool,
    /// `gap / se`.
    pub statistic: f64,
    /// One-sided p-value `P(T_df > statistic)`.
    pub p_value: f64,
    /// Confidence level of the verdict.
    pub level: f64,
    /// Whether the target is met at `level`: `p_value < 1 - level`.
    pub met_at_level: bool,
    /// The test performed ([`ASSESS_TEST`]).
    pub test: &'static str,
    /// Why the test is degenerate or was not performed, if it is or was not.
    pub note: Option<&'static str>,
}

/// Tests whether the share exceeds `target`: H0 share <= target against
/// H1 share > target, `t = (estimate - share) / se`, `p = P(T_df > t)`
/// (standard normal when `df` is infinite), met at `level` when
/// `p < 1 - level`. The test is the same whether the target says "above"
/// or "at least" (the distribution is continuous); `reached` compares the
/// point estimate as the target states it.
///
/// Degenerate cases, each with a `note`:
/// - `estimate` not finite, `se` negative or NaN, or `level` outside (0, 1):
///   no test (`statistic` and `p_value` NaN, not met);
/// - `df` NaN or `df <= 0` (a domain in a single PSU per stratum has no
///   design degrees of freedom): no test (`statistic` is still `gap / se`,
///   `p_value` NaN, not met);
/// - `se == 0` (the estimate is taken as exact): `statistic` is `gap / 0`
///   (+inf, -inf, or NaN when the gap is 0), `p_value` is 0 when the gap is
///   positive and 1 otherwise (H0 holds at equality).
pub fn assess(estimate: f64, se: f64, df: f64, target: &Target, level: f64) -> Assessment {
    let gap = estimate - target.share;
    let mut a = Assessment {
        target: target.clone(),
        estimate,
        se,
        df,
        gap,
        reached: target.reached_by(estimate),
        statistic: f64::NAN,
        p_value: f64::NAN,
        level,
        met_at_level: false,
        test: ASSESS_TEST,
        note: None,
    };
    if !estimate.is_finite() || se.is_nan() || se < 0.0 || !(level > 0.0 && level < 1.0) {
        a.note = Some("no test: the estimate, its standard error or the level is not valid");
        return a;
    }
    a.statistic = gap / se;
    if df.is_nan() || df <= 0.0 {
        a.note = Some("no test: no degrees of freedom (df <= 0)");
        return a;
    }
    if se == 0.0 {
        a.p_value = if gap > 0.0 { 0.0 } else { 1.0 };
        a.note = Some("standard error is zero: the estimate is taken as exact");
    } else {
        a.p_value = t_upper(a.statistic, df);
    }
    a.met_at_level = a.p_value < 1.0 - level;
    a
}

/// An estimate against the targets of one plan for a round's year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanAssessment {
    /// The plan's id.
    pub plan: String,
    /// Against the target due (latest target year at or before the round).
    pub due: Option<Assessment>,
    /// Against the next target (earliest target year after the round).
    pub next: Option<Assessment>,
}

impl Targets {
    /// [`assess`] against every plan's due and next target for a round held
    /// in `year` (plans in file order).
    pub fn assess(
        &self,
        year: i32,
        estimate: f64,
        se: f64,
        df: f64,
        level: f64,
    ) -> Vec<PlanAssessment> {
        self.for_year(year)
            .into_iter()
            .map(|p| PlanAssessment {
                plan: p.plan.to_owned(),
                due: p.due.map(|t| assess(estimate, se, df, t, level)),
                next: p.next.map(|t| assess(estimate, se, df, t, level)),
            })
            .collect()
    }
}

/// The change of a share (or of a gap) between two rounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The current round's value.
    pub current: f64,
    /// The earlier round's value.
    pub earlier: f64,
    /// `current - earlier`.
    pub difference: f64,
    /// `sqrt(se_current^2 + se_earlier^2)`: the rounds are independent samples.
    pub se: f64,
    /// Lower limit, `difference - z se`, `z` the normal quantile at `level`.
    pub ci_low: f64,
    /// Upper limit, `difference + z se`.
    pub ci_high: f64,
    /// Confidence level.
    pub level: f64,
    /// `difference / se`.
    pub statistic: f64,
    /// Two-sided p-value `2 P(Z > |statistic|)`.
    pub p_value: f64,
    /// The test performed ([`CHANGE_TEST`]).
    pub test: &'static str,
    /// Why the test is degenerate or was not performed, if it is or was not.
    pub note: Option<&'static str>,
}

/// The change from `earlier` to `current`, each `(estimate, se)` from an
/// independent sample (two rounds): difference, `se = sqrt(se1^2 + se2^2)`,
/// a normal interval at `level` and the two-sided p-value of no change.
///
/// A published figure without a standard error enters with `se = 0`.
/// Degenerate cases, each with a `note`: a value not finite, an `se`
/// negative or NaN, or `level` outside (0, 1) give NaN interval, statistic
/// and p-value; a combined `se` of 0 gives the interval
/// `(difference, difference)`, statistic `difference / 0` and p-value 0
/// for a non-zero difference, 1 for none.
pub fn change(current: (f64, f64), earlier: (f64, f64), level: f64) -> Change {
    let (c, se_c) = current;
    let (e, se_e) = earlier;
    let difference = c - e;
    let se = (se_c * se_c + se_e * se_e).sqrt();
    let mut out = Change {
        current: c,
        earlier: e,
        difference,
        se,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        level,
        statistic: f64::NAN,
        p_value: f64::NAN,
        test: CHANGE_TEST,
        note: None,
    };
    let bad_se = |s: f64| s.is_nan() || s < 0.0;
    if !c.is_finite()
        || !e.is_finite()
        || bad_se(se_c)
        || bad_se(se_e)
        || !(level > 0.0 && level < 1.0)
    {
        out.note = Some("no test: a value, a standard error or the level is not valid");
        return out;
    }
    out.statistic = difference / se;
    if se == 0.0 {
        out.ci_low = difference;
        out.ci_high = difference;
        out.p_value = if difference == 0.0 { 1.0 } else { 0.0 };
        out.note = Some("standard errors are zero: both values are taken as exact");
        return out;
    }
    let z = qnorm(1.0 - (1.0 - level) / 2.0);
    out.ci_low = difference - z * se;
    out.ci_high = difference + z * se;
    out.p_value = 2.0 * normal_upper(out.statistic.abs());
    out
}

/// The change of a gap between two rounds: [`change`] applied to two
/// contrasts (each a difference of domains with its design-based SE, e.g.
/// urban minus rural in each round). Negative when the gap narrowed from a
/// positive value.
pub fn gap_change(current: &Contrast, earlier: &Contrast, level: f64) -> Change {
    change(
        (current.estimate, current.se),
        (earlier.estimate, earlier.se),
        level,
    )
}
