//! Linking a new calibration to an earlier (old) scale through anchor
//! items: mean-mean, mean-sigma, Stocking-Lord and Haebara (Kolen and
//! Brennan 2014, *Test Equating, Scaling, and Linking*, ch. 6).
//!
//! The constants `A`, `B` put the new scale on the old one:
//! `theta_old = A * theta_new + B`, so a new item becomes `a* = a / A`,
//! `b* = A b + B` (guessing unchanged) and an ability `A theta + B` with
//! standard error `A se`.
//!
//! - Mean-mean: `A = mean(a_new) / mean(a_old)`,
//!   `B = mean(b_old) - A mean(b_new)`.
//! - Mean-sigma: `A = sd(b_old) / sd(b_new)`, `B` as above.
//! - Stocking-Lord: minimizes `sum_q w_q (T_old(theta_q) - T*(theta_q))^2`,
//!   `T` the anchors' test characteristic curve and `T*` that of the new
//!   anchors placed on the old scale.
//! - Haebara: minimizes `sum_q w_q sum_j (E_old,j(theta_q) - E*_j(theta_q))^2`
//!   over the anchors' item characteristic (expected score) curves. For a
//!   polytomous item this is the expected-score variant, not the sum over
//!   category probabilities.
//!
//! The abilities `theta_q` and weights `w_q` are a quadrature [`Grid`] on
//! the old scale (one-directional criteria, as Kolen and Brennan and PyPI
//! mirt define them). Both criteria are minimized over `(ln A, B)` by
//! Levenberg-Marquardt with the analytic Jacobian (the placed curve at
//! `theta` is `E_new(u)`, `u = (theta - B) / A`, so `dE*/dB = -E'(u) / A`
//! and `dE*/d ln A = -u E'(u)`), started from mean-sigma (mean-mean when
//! the anchor difficulties have no spread).

use super::{Ability, Grid, ItemCurve};

/// Errors of linking and of scale transformations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinkingError {
    /// No anchor items.
    #[error("no anchor items")]
    NoAnchors,
    /// The two forms have different numbers of anchors.
    #[error("{old} old anchors but {new} new anchors")]
    AnchorCount {
        /// Anchors on the old form.
        old: usize,
        /// Anchors on the new form.
        new: usize,
    },
    /// An anchor's parameters are not finite or out of range.
    #[error("{form} anchor {index} has invalid parameters")]
    InvalidItem {
        /// "old" or "new".
        form: &'static str,
        /// Anchor position.
        index: usize,
    },
    /// The moments the method needs do not identify the constants.
    #[error("{0}")]
    NotIdentified(String),
    /// The quadrature grid is unusable (non-finite points or no weight).
    #[error("quadrature grid: {0}")]
    Grid(String),
    /// The criterion could not be minimized.
    #[error("{method:?} did not converge in {iterations} iterations")]
    NotConverged {
        /// The method.
        method: LinkingMethod,
        /// Iterations run.
        iterations: usize,
    },
    /// Linking constants must be finite with `A > 0`.
    #[error("linking constants A = {a}, B = {b}: A must be finite and positive, B finite")]
    Constants {
        /// Slope of the transformation.
        a: f64,
        /// Intercept of the transformation.
        b: f64,
    },
}

/// The linking method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkingMethod {
    /// Means of slopes and difficulties.
    MeanMean,
    /// Mean and standard deviation of difficulties.
    MeanSigma,
    /// Test characteristic curve matching.
    StockingLord,
    /// Item characteristic curve matching.
    Haebara,
}

/// `theta_old = a * theta_new + b`, with `a > 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleTransform {
    /// Slope `A`.
    pub a: f64,
    /// Intercept `B`.
    pub b: f64,
}

impl ScaleTransform {
    /// A transformation from its constants; `a` finite and positive, `b` finite.
    pub fn new(a: f64, b: f64) -> Result<Self, LinkingError> {
        if a.is_finite() && a > 0.0 && b.is_finite() {
            Ok(Self { a, b })
        } else {
            Err(LinkingError::Constants { a, b })
        }
    }

    /// An ability on the new scale expressed on the old one.
    pub fn theta(&self, theta: f64) -> f64 {
        self.a * theta + self.b
    }

    /// An ability estimate on the old scale (its standard error times `A`).
    pub fn ability(&self, ability: Ability) -> Ability {
        Ability {
            theta: self.theta(ability.theta),
            se: self.a * ability.se,
        }
    }

    /// Ability estimates on the old scale.
    pub fn abilities(&self, abilities: &[Ability]) -> Vec<Ability> {
        abilities.iter().map(|&x| self.ability(x)).collect()
    }

    /// An item of the new calibration on the old scale.
    pub fn item<T: ItemCurve>(&self, item: &T) -> T {
        item.rescaled(self.a, self.b)
    }

    /// Items of the new calibration on the old scale.
    pub fn items<T: ItemCurve>(&self, items: &[T]) -> Vec<T> {
        items.iter().map(|i| self.item(i)).collect()
    }
}

/// The result of linking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linking {
    /// The method used.
    pub method: LinkingMethod,
    /// The constants: `theta_old = A theta_new + B`.
    pub transform: ScaleTransform,
    /// The criterion at the constants, grid weights normalised to sum to 1
    /// (0 for the moment methods).
    pub criterion: f64,
    /// Levenberg-Marquardt iterations (0 for the moment methods).
    pub iterations: usize,
}

/// Links the new calibration to the old scale through anchors given in
/// the same order on both forms; `grid` (old scale) is used by the
/// characteristic-curve methods only.
pub fn link<T: ItemCurve>(
    old: &[T],
    new: &[T],
    method: LinkingMethod,
    grid: &Grid,
) -> Result<Linking, LinkingError> {
    if old.is_empty() || new.is_empty() {
        return Err(LinkingError::NoAnchors);
    }
    if old.len() != new.len() {
        return Err(LinkingError::AnchorCount {
            old: old.len(),
            new: new.len(),
        });
    }
    for (form, items) in [("old", old), ("new", new)] {
        if let Some(index) = items.iter().position(|i| !i.is_valid()) {
            return Err(LinkingError::InvalidItem { form, index });
        }
    }
    let moments = |method| {
        let (a, b) = match method {
            LinkingMethod::MeanSigma => mean_sigma(old, new)?,
            _ => mean_mean(old, new)?,
        };
        ScaleTransform::new(a, b)
    };
    match method {
        LinkingMethod::MeanMean | LinkingMethod::MeanSigma => Ok(Linking {
            method,
            transform: moments(method)?,
            criterion: 0.0,
            iterations: 0,
        }),
        LinkingMethod::StockingLord | LinkingMethod::Haebara => {
            let start = moments(LinkingMethod::MeanSigma)
                .or_else(|_| moments(LinkingMethod::MeanMean))
                .unwrap_or(ScaleTransform { a: 1.0, b: 0.0 });
            let curves = Curves::new(old, new, method == LinkingMethod::Haebara, grid)?;
            curves.minimize(start, method)
        }
    }
}

/// Largest `|ln A|` tried (A between 2e-9 and 5e8).
const MAX_LOG_SCALE: f64 = 20.0;

/// Solution of a 2 x 2 system (row-major), `None` when singular.
fn solve2(m: [f64; 4], g: [f64; 2]) -> Option<[f64; 2]> {
    let det = m[0] * m[3] - m[1] * m[2];
    let x = [
        (g[0] * m[3] - m[1] * g[1]) / det,
        (m[0] * g[1] - m[2] * g[0]) / det,
    ];
    (det != 0.0 && x.iter().all(|v| v.is_finite())).then_some(x)
}

fn mean(x: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = x.fold((0.0, 0.0), |(s, n), v| (s + v, n + 1.0));
    s / n
}

fn sd(x: &[f64]) -> f64 {
    let m = mean(x.iter().copied());
    mean(x.iter().map(|v| (v - m) * (v - m))).sqrt()
}

fn mean_mean<T: ItemCurve>(old: &[T], new: &[T]) -> Result<(f64, f64), LinkingError> {
    let a_old = mean(old.iter().map(ItemCurve::slope));
    let a_new = mean(new.iter().map(ItemCurve::slope));
    if !(a_old > 0.0 && a_new > 0.0) {
        return Err(LinkingError::NotIdentified(format!(
            "mean-mean needs positive mean slopes (old {a_old}, new {a_new})"
        )));
    }
    let a = a_new / a_old;
    let b =
        mean(old.iter().map(ItemCurve::location)) - a * mean(new.iter().map(ItemCurve::location));
    Ok((a, b))
}

fn mean_sigma<T: ItemCurve>(old: &[T], new: &[T]) -> Result<(f64, f64), LinkingError> {
    let b_old: Vec<f64> = old.iter().map(ItemCurve::location).collect();
    let b_new: Vec<f64> = new.iter().map(ItemCurve::location).collect();
    let (s_old, s_new) = (sd(&b_old), sd(&b_new));
    if !(s_old > 0.0 && s_new > 0.0) {
        return Err(LinkingError::NotIdentified(format!(
            "mean-sigma needs anchor difficulties with spread (old sd {s_old}, new sd {s_new})"
        )));
    }
    let a = s_old / s_new;
    let b = mean(b_old.iter().copied()) - a * mean(b_new.iter().copied());
    Ok((a, b))
}

/// The characteristic-curve criterion on a grid.
struct Curves<'a, T> {
    new: &'a [T],
    item_level: bool,
    points: Vec<f64>,
    root_weights: Vec<f64>,
    /// Old curves: per point, per item (Haebara) or the total (Stocking-Lord).
    target: Vec<f64>,
}

impl<'a, T: ItemCurve> Curves<'a, T> {
    fn new(old: &[T], new: &'a [T], item_level: bool, grid: &Grid) -> Result<Self, LinkingError> {
        if grid.is_empty() || grid.points.len() != grid.log_weights.len() {
            return Err(LinkingError::Grid("no points".into()));
        }
        if grid.points.iter().any(|t| !t.is_finite()) || grid.log_weights.iter().any(|w| w.is_nan())
        {
            return Err(LinkingError::Grid("non-finite point or weight".into()));
        }
        let weights: Vec<f64> = grid.log_weights.iter().map(|l| l.exp()).collect();
        let total: f64 = weights.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            return Err(LinkingError::Grid(format!("total weight {total}")));
        }
        let root_weights = weights.iter().map(|w| (w / total).sqrt()).collect();
        let mut target = Vec::new();
        for &t in &grid.points {
            if item_level {
                target.extend(old.iter().map(|i| i.expected_score(t)));
            } else {
                target.push(old.iter().map(|i| i.expected_score(t)).sum());
            }
        }
        Ok(Self {
            new,
            item_level,
            points: grid.points.clone(),
            root_weights,
            target,
        })
    }

    /// Residuals `sqrt(w) (old - placed new)` and their Jacobian rows
    /// (derivatives with respect to `ln A` and `B`).
    fn residuals(&self, a: f64, b: f64, jacobian: Option<&mut Vec<[f64; 2]>>) -> Vec<f64> {
        let mut r = Vec::with_capacity(self.target.len());
        let mut jac = jacobian;
        if let Some(j) = jac.as_deref_mut() {
            j.clear();
        }
        let mut k = 0;
        for (&t, &rw) in self.points.iter().zip(&self.root_weights) {
            let u = (t - b) / a;
            let (mut sum_e, mut sum_la, mut sum_b) = (0.0, 0.0, 0.0);
            for item in self.new {
                let e = item.expected_score(u);
                let slope = item.expected_score_slope(u);
                // The residual is sqrt(w) (old - E*): its derivatives are
                // sqrt(w) u E'(u) (ln A) and sqrt(w) E'(u) / A (B).
                let (d_la, d_b) = (rw * u * slope, rw * slope / a);
                if self.item_level {
                    r.push(rw * (self.target[k] - e));
                    k += 1;
                    if let Some(j) = jac.as_deref_mut() {
                        j.push([d_la, d_b]);
                    }
                } else {
                    sum_e += e;
                    sum_la += d_la;
                    sum_b += d_b;
                }
            }
            if !self.item_level {
                r.push(rw * (self.target[k] - sum_e));
                k += 1;
                if let Some(j) = jac.as_deref_mut() {
                    j.push([sum_la, sum_b]);
                }
            }
        }
        r
    }

    fn value(&self, a: f64, b: f64) -> f64 {
        self.residuals(a, b, None).iter().map(|x| x * x).sum()
    }

    /// Levenberg-Marquardt over `(ln A, B)`.
    fn minimize(
        &self,
        start: ScaleTransform,
        method: LinkingMethod,
    ) -> Result<Linking, LinkingError> {
        const MAX_ITERATIONS: usize = 500;
        let (mut la, mut b) = (start.a.ln(), start.b);
        let mut jac = Vec::new();
        let mut lambda = 1e-3;
        let mut value = self.value(la.exp(), b);
        if !value.is_finite() {
            return Err(LinkingError::NotConverged {
                method,
                iterations: 0,
            });
        }
        for iteration in 1..=MAX_ITERATIONS {
            let r = self.residuals(la.exp(), b, Some(&mut jac));
            // Gauss-Newton normal equations H = J'J, g = J'r.
            let (mut h, mut g) = ([0.0; 4], [0.0; 2]);
            for (ri, ji) in r.iter().zip(&jac) {
                for p in 0..2 {
                    g[p] += ji[p] * ri;
                    for q in 0..2 {
                        h[2 * p + q] += ji[p] * ji[q];
                    }
                }
            }
            if !(h[0] > 0.0 && h[3] > 0.0 && h.iter().all(|x| x.is_finite())) {
                // A constant moves no placed curve: the criterion is flat.
                return Err(LinkingError::NotIdentified(format!(
                    "{method:?}: the placed curves do not move with A or B over the grid"
                )));
            }
            if g[0] == 0.0 && g[1] == 0.0 {
                return Ok(self.done(la, b, value, iteration, method));
            }
            // Damped Gauss-Newton step: (H + lambda diag H) d = -g, since
            // r(p + d) ~ r + J d. Grow the damping until the criterion drops.
            loop {
                let step = solve2(
                    [h[0] * (1.0 + lambda), h[1], h[2], h[3] * (1.0 + lambda)],
                    [-g[0], -g[1]],
                );
                let trial = step.map_or(f64::INFINITY, |d| {
                    let la2 = la + d[0];
                    if la2.abs() < MAX_LOG_SCALE {
                        self.value(la2.exp(), b + d[1])
                    } else {
                        f64::INFINITY
                    }
                });
                if let (Some(d), true) = (step, trial < value) {
                    la += d[0];
                    b += d[1];
                    value = trial;
                    lambda = (lambda / 10.0).max(1e-12);
                    if d[0].abs() <= 1e-13 * (1.0 + la.abs())
                        && d[1].abs() <= 1e-13 * (1.0 + b.abs())
                    {
                        return Ok(self.done(la, b, value, iteration, method));
                    }
                    break;
                }
                lambda *= 10.0;
                if lambda > 1e16 {
                    // No step decreases the criterion: a minimum to rounding.
                    return Ok(self.done(la, b, value, iteration, method));
                }
            }
        }
        Err(LinkingError::NotConverged {
            method,
            iterations: MAX_ITERATIONS,
        })
    }

    fn done(
        &self,
        la: f64,
        b: f64,
        value: f64,
        iterations: usize,
        method: LinkingMethod,
    ) -> Linking {
        Linking {
            method,
            transform: ScaleTransform { a: la.exp(), b },
            criterion: value,
            iterations,
        }
    }
}
