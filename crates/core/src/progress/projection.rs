//! The year a target share is reached on the trend of a series: ordinary
//! least squares of `logit(share)` on the year, solved for the target.

use serde::Serialize;

/// The projection method, as stated in the output.
pub const PROJECTION_METHOD: &str = "ordinary least squares of logit(share) = intercept + slope * year \
     over the series, solved for logit(target): year = (logit(target) - intercept) / slope; \
     never reached when slope <= 0";

/// The year a target is reached on a fitted trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    /// The target share.
    pub target_share: f64,
    /// The (fractional) year the fitted trend reaches the target; `None`
    /// when the trend does not rise (`slope <= 0`). It may lie before the
    /// last point of the series when the target is already passed.
    pub year: Option<f64>,
    /// How the year was obtained ([`PROJECTION_METHOD`]).
    pub method: &'static str,
    /// Fitted slope of `logit(share)` per year.
    pub slope: f64,
    /// Fitted intercept of `logit(share)` at year 0 (R's `lm` coefficient).
    pub intercept: f64,
    /// The `(year, share)` points the trend was fitted to, by increasing year.
    pub points: Vec<(f64, f64)>,
    /// Whether the current round's estimate is among the points.
    pub includes_current: bool,
}

/// Why a projection cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProjectionError {
    /// Fewer than two distinct years: no trend.
    #[error("a trend needs at least two distinct years, the series has {0}")]
    TooFewYears(usize),
    /// A point whose year is not finite or whose share is not in (0, 1).
    #[error(
        "point ({year}, {share}): the year must be finite and the share strictly between 0 and 1"
    )]
    Point {
        /// Its year.
        year: f64,
        /// Its share.
        share: f64,
    },
    /// A target share not in (0, 1).
    #[error("target share {0} is not strictly between 0 and 1")]
    Target(f64),
}

/// `log(p / (1 - p))`, as R's `qlogis`.
fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// The year the target share is reached on the trend of `series`
/// (`(year, share)` pairs, any order), by [`PROJECTION_METHOD`]: the OLS fit
/// is computed on centred years, then reported with R's `lm` intercept at
/// year 0. Never reached (`year: None`) when the slope is not positive.
pub fn project(series: &[(f64, f64)], target_share: f64) -> Result<Projection, ProjectionError> {
    fit(series.to_vec(), target_share, false)
}

/// [`project`] with the current round's `(year, estimate)` among the points.
/// When the series already holds a figure for that year, the round's
/// estimate replaces it (the same round is not counted twice).
pub fn project_with(
    series: &[(f64, f64)],
    current: (f64, f64),
    target_share: f64,
) -> Result<Projection, ProjectionError> {
    let mut points: Vec<(f64, f64)> = series
        .iter()
        .copied()
        .filter(|&(year, _)| year != current.0)
        .collect();
    points.push(current);
    fit(points, target_share, true)
}

fn fit(
    mut points: Vec<(f64, f64)>,
    target_share: f64,
    includes_current: bool,
) -> Result<Projection, ProjectionError> {
    if !(target_share > 0.0 && target_share < 1.0) {
        return Err(ProjectionError::Target(target_share));
    }
    if let Some(&(year, share)) = points
        .iter()
        .find(|(y, s)| !(y.is_finite() && *s > 0.0 && *s < 1.0))
    {
        return Err(ProjectionError::Point { year, share });
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut years: Vec<f64> = points.iter().map(|p| p.0).collect();
    years.dedup();
    if years.len() < 2 {
        return Err(ProjectionError::TooFewYears(years.len()));
    }
    let n = points.len() as f64;
    let x_mean = points.iter().map(|p| p.0).sum::<f64>() / n;
    let y: Vec<f64> = points.iter().map(|p| logit(p.1)).collect();
    let y_mean = y.iter().sum::<f64>() / n;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (p, yi) in points.iter().zip(&y) {
        let dx = p.0 - x_mean;
        sxx += dx * dx;
        sxy += dx * (yi - y_mean);
    }
    let slope = sxy / sxx;
    let intercept = y_mean - slope * x_mean;
    let year = (slope > 0.0).then(|| x_mean + (logit(target_share) - y_mean) / slope);
    Ok(Projection {
        target_share,
        year,
        method: PROJECTION_METHOD,
        slope,
        intercept,
        points,
        includes_current,
    })
}
