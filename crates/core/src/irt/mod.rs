//! Item response theory: one calibrator for dichotomous (Rasch, 1PL, 2PL,
//! 3PL) and partial credit (PCM, GPCM) items side by side, in one or
//! several groups of respondents, with anchor items held fixed
//! ([`calibrate`]: marginal maximum likelihood by Bock-Aitkin EM over a
//! fixed quadrature grid, standard errors from the observed information);
//! ability estimates (EAP, MAP, MLE, WLE) and plausible values for any mix
//! of item models, each group with its own latent distribution; item and
//! test information, item fit (infit, outfit, S-X2) and linking of
//! calibrations through anchor items, written against the [`ItemCurve`]
//! trait.
//!
//! A dichotomous item is written in the slope-intercept form
//! `P(theta) = c + (1 - c) / (1 + exp(-(a * theta + d)))`, as mirt does;
//! the difficulty `b = -d / a` is reported next to it. A partial credit
//! item is written as mirt's GPCM (see [`ItemModel`]).
//!
//! Responses ([`CategoryResponses`]) are a respondent-major matrix of
//! category codes and [`CategoryResponses::MISSING`]; missing responses
//! are skipped everywhere (they are not scored as wrong). Everything is
//! deterministic: work is split in fixed ranges of respondents (or of
//! distinct response patterns) and the partial sums are added in range
//! order, so the result does not depend on the thread count.

mod ability;
mod calibrate;
mod curve;
mod em;
mod estep;
mod fit;
mod information;
mod item;
mod lanes;
mod latent;
mod linalg;
mod linking;
mod mml;
mod observed;
mod pv;
mod quadrature;

pub use ability::{Ability, AbilityMethod, estimate_ability, score, score_by_group};
pub use calibrate::{
    BetaPrior, Calibration, CalibrationOptions, Convergence, GroupEstimate, ItemEstimate,
    ModelKind, calibrate,
};
pub use curve::{ItemCurve, ScoreMoments};
pub use fit::{
    ItemSX2, MeanSquareFit, SX2Options, SX2Report, mean_square_fit, s_x2, summed_score_distribution,
};
pub use information::{
    InformationRow, information_table, item_information, standard_error, test_information,
    theta_range,
};
pub use item::{CategoryResponses, ItemModel};
pub use linking::{Linking, LinkingError, LinkingMethod, ScaleTransform, link};
pub use pv::{plausible_values, plausible_values_by_group};
pub use quadrature::Grid;

/// Errors of the IRT computations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IrtError {
    /// There are no respondents or no items.
    #[error("no respondents or no items")]
    Empty,
    /// The cell count is not a multiple of the item count.
    #[error("{cells} cells do not fill rows of {items} items")]
    Shape {
        /// Number of cells given.
        cells: usize,
        /// Number of items per row.
        items: usize,
    },
    /// Weights do not match the respondents, or one is negative or not finite.
    #[error("weights: {0}")]
    Weights(String),
    /// An item has no answers, or every answer is the same: its parameters
    /// are not identified.
    #[error("item {item} has {right} right out of {answered} answers: not estimable")]
    Degenerate {
        /// Item index.
        item: usize,
        /// Right answers.
        right: f64,
        /// Answered (non-missing) responses.
        answered: f64,
    },
    /// The item parameters do not match the responses.
    #[error("{params} item parameters for {items} items")]
    ItemCount {
        /// Number of item parameter sets.
        params: usize,
        /// Number of items in the responses.
        items: usize,
    },
    /// An option is out of its range.
    #[error("invalid option: {0}")]
    Option(String),
    /// The information matrix is singular: no standard errors.
    #[error("the information matrix is singular")]
    Singular,
    /// A cell is neither a category of its item nor missing.
    #[error(
        "respondent {respondent}, item {item}: code {code} is not a category 0..{categories} or missing"
    )]
    Category {
        /// Respondent (row) index.
        respondent: usize,
        /// Item (column) index.
        item: usize,
        /// The offending code.
        code: u8,
        /// The item's number of categories.
        categories: usize,
    },
    /// A category of an item to be estimated has no answers: its intercept
    /// is not identified.
    #[error("item {item}: category {category} has no answers; not estimable")]
    EmptyCategory {
        /// Item index.
        item: usize,
        /// The empty category.
        category: usize,
    },
}

/// Parameters of one dichotomous item, slope-intercept form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemParams {
    /// Slope (discrimination) `a`.
    pub a: f64,
    /// Intercept `d`; the difficulty is `b = -d / a`.
    pub d: f64,
    /// Lower asymptote (guessing) `c`, 0 for the Rasch, 1PL and 2PL models.
    pub c: f64,
}

impl ItemParams {
    /// An item from slope, difficulty and guessing: `d = -a * b`.
    pub fn from_difficulty(a: f64, b: f64, c: f64) -> Self {
        Self { a, d: -a * b, c }
    }

    /// Difficulty `b = -d / a`.
    pub fn b(&self) -> f64 {
        -self.d / self.a
    }

    /// Probability of a right answer at ability `theta`.
    pub fn p(&self, theta: f64) -> f64 {
        self.c + (1.0 - self.c) * logistic(self.a * theta + self.d)
    }

    /// `P`, `dP/dtheta` and `d2P/dtheta2` at `theta`.
    pub(crate) fn derivatives(&self, theta: f64) -> (f64, f64, f64) {
        let s = logistic(self.a * theta + self.d);
        let p = self.c + (1.0 - self.c) * s;
        let d1 = self.a * (1.0 - self.c) * s * (1.0 - s);
        let d2 = self.a * d1 * (1.0 - 2.0 * s);
        (p, d1, d2)
    }

    /// Fisher information of the item at `theta`.
    pub fn information(&self, theta: f64) -> f64 {
        let (p, d1, _) = self.derivatives(theta);
        let pq = p * (1.0 - p);
        if pq > 0.0 { d1 * d1 / pq } else { 0.0 }
    }
}

/// The logistic function, computed without overflow.
pub(crate) fn logistic(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln P` and `ln (1 - P)` of an item, without cancellation in the tails
/// when `c = 0`.
pub(crate) fn log_pq(item: &ItemParams, theta: f64) -> (f64, f64) {
    let z = item.a * theta + item.d;
    if item.c == 0.0 {
        // ln s = -ln(1 + e^-z), ln(1 - s) = -ln(1 + e^z)
        (-softplus(-z), -softplus(z))
    } else {
        let p = item.p(theta);
        (p.ln(), (1.0 - item.c).ln() - softplus(z))
    }
}

/// `ln(1 + e^x)` without overflow.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}
