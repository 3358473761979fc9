//! Calibration by marginal maximum likelihood, for any mix of item models:
//! dichotomous (Rasch, 1PL, 2PL, 3PL) and partial credit (PCM, GPCM) items
//! side by side, several groups of respondents, and anchor items held
//! fixed. Bock-Aitkin EM over the fixed quadrature grid (optionally
//! accelerated by SQUAREM), Fisher scoring per item in the M-step, and
//! standard errors from the observed information of the marginal
//! likelihood.
//!
//! Standard errors: the observed information is the negative Hessian of
//! the marginal log-likelihood (plus the log prior of 3PL guessing) at the
//! estimate: what R mirt's `SE.type = "Oakes"` and PyPI mirt's
//! `se_method = "oakes"` compute (the tests agree with PyPI mirt to 1e-5,
//! and with independent maximisations and the twice-differenced likelihood
//! to 1e-6 or 1e-5 relative). It is neither the complete-data information
//! of the M-step (which omits the missing information and understates the
//! errors) nor the cross-product approximation. Without a free 3PL item it
//! is computed exactly by Louis' identity in one pass over the response
//! patterns (`observed.rs`, about three E-steps of work); with one, by
//! central differences of the exact gradient (Fisher's identity), two
//! E-steps per free parameter.
//!
//! The E-step runs over the distinct response patterns of each group (with
//! their summed weights), see `estep.rs`.
//!
//! Latent distributions. Every group `g` has a normal latent distribution
//! N(`mean_g`, `sd_g`^2) discretised on the grid's points: its log masses
//! are the grid's log weights with the grid's own normal density replaced
//! by group `g`'s, normalised to sum to 1 (for mirt's rectangular grid this
//! is the normal density at the points; on Gauss-Hermite nodes it is the
//! density ratio correction PyPI mirt's multiple-group EM uses). The M-step
//! of a free group maximises the expected complete-data log-likelihood of
//! these masses exactly (`latent.rs`).
//!
//! Identification.
//! - Without anchors, group 0 is the reference: its distribution is the
//!   grid's (N(0, 1) for [`Grid::standard`]) and fixed; every other group
//!   has its mean and SD estimated. Item parameters are common to all
//!   groups, which is what links the groups (a group answering no item in
//!   common with the others is not identified: its information matrix is
//!   singular).
//! - With anchors (items whose parameters are given and held fixed), the
//!   anchors carry the scale: every group, group 0 included, has its mean
//!   and SD estimated, and the other items land on the anchors' scale
//!   (fixed-parameter calibration).
//! - Rasch and PCM items have their slope fixed at 1; with a fixed N(0, 1)
//!   reference this is mirt's "1PL"/"PCM" (not a free latent variance).
//!   1PL items share one estimated slope (the same likelihood as the Rasch
//!   model with a latent SD equal to that slope).

use super::em::{self, EmOptions};
use super::mml::{Fit, State};
use super::{CategoryResponses, Grid, IrtError, ItemModel, ItemParams};

/// Keeps the guessing parameter strictly inside (0, 1).
pub(super) const C_MIN: f64 = 1e-8;

/// The model of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Dichotomous, slope fixed at 1 (an intercept).
    Rasch,
    /// Dichotomous, one slope common to every 1PL item, and an intercept.
    OnePl,
    /// Dichotomous, slope and intercept.
    TwoPl,
    /// Dichotomous, slope, intercept and guessing (Beta prior on guessing).
    ThreePl,
    /// Partial credit: slope fixed at 1, `K - 1` intercepts.
    Pcm,
    /// Generalized partial credit: slope and `K - 1` intercepts.
    Gpcm,
}

impl ModelKind {
    /// Whether the kind is a right/wrong model (needs two categories).
    pub fn dichotomous(self) -> bool {
        matches!(
            self,
            Self::Rasch | Self::OnePl | Self::TwoPl | Self::ThreePl
        )
    }

    /// Parameters charged to one item of this kind with `k` categories
    /// (a 1PL item: its intercept; the common slope belongs to no item).
    pub fn item_parameters(self, k: usize) -> usize {
        match self {
            Self::Rasch | Self::OnePl => 1,
            Self::TwoPl => 2,
            Self::ThreePl => 3,
            Self::Pcm => k.saturating_sub(1),
            Self::Gpcm => k,
        }
    }

    /// Whether the item has a slope of its own to estimate.
    pub(super) fn own_slope(self) -> bool {
        matches!(self, Self::TwoPl | Self::ThreePl | Self::Gpcm)
    }

    /// The name used in labels and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rasch => "rasch",
            Self::OnePl => "1pl",
            Self::TwoPl => "2pl",
            Self::ThreePl => "3pl",
            Self::Pcm => "pcm",
            Self::Gpcm => "gpcm",
        }
    }
}

/// A Beta(`alpha`, `beta`) prior density on the guessing parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaPrior {
    /// First shape (`alpha - 1` pseudo right guesses).
    pub alpha: f64,
    /// Second shape.
    pub beta: f64,
}

/// Options of a calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationOptions {
    /// The model of each item, in response column order (for an anchor:
    /// reported, not used).
    pub kinds: Vec<ModelKind>,
    /// Anchor items `(column, parameters)`: held fixed at the given
    /// parameters; with any anchor, every group's mean and SD are free.
    pub anchors: Vec<(usize, ItemModel)>,
    /// The quadrature grid; its normal distribution is the reference
    /// group's when there are no anchors.
    pub grid: Grid,
    /// Largest number of E-steps (EM cycles, counting those SQUAREM uses).
    pub max_iterations: usize,
    /// Converged when no free parameter moves by more than this in a cycle.
    pub tolerance: f64,
    /// Prior on the guessing parameter of 3PL items (mode
    /// `(alpha - 1) / (alpha + beta - 2)`); default Beta(5, 17), mode 0.2.
    pub guessing_prior: BetaPrior,
    /// Whether to compute standard errors.
    pub standard_errors: bool,
    /// Whether to accelerate EM by SQUAREM (same fixed point, far fewer
    /// E-steps on slowly converging fits).
    pub accelerate: bool,
}

impl CalibrationOptions {
    /// Defaults (mirt's 61-point grid on [-6, 6], tolerance 1e-6, at most
    /// 5,000 E-steps, SQUAREM, standard errors) for the given item models.
    pub fn new(kinds: Vec<ModelKind>) -> Self {
        Self {
            kinds,
            anchors: Vec::new(),
            grid: Grid::standard(),
            max_iterations: 5000,
            tolerance: 1e-6,
            guessing_prior: BetaPrior {
                alpha: 5.0,
                beta: 17.0,
            },
            standard_errors: true,
            accelerate: true,
        }
    }

    /// The defaults with every one of `n_items` items of one kind.
    pub fn all(kind: ModelKind, n_items: usize) -> Self {
        Self::new(vec![kind; n_items])
    }
}

/// How the EM iterations ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Convergence {
    /// E-steps run before the final one (EM cycles, counting SQUAREM's).
    pub iterations: usize,
    /// Largest change of a free parameter in the last plain EM cycle.
    pub max_change: f64,
    /// Whether `max_change` fell below the tolerance.
    pub converged: bool,
}

/// One item's estimates and standard errors (NaN when not computed, fixed
/// by the model, or the item is an anchor).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemEstimate {
    /// The model calibrated (for an anchor: the kind given in the options).
    pub kind: ModelKind,
    /// The parameters.
    pub model: ItemModel,
    /// Whether the item was an anchor (held fixed).
    pub anchored: bool,
    /// Standard error of the slope (a 1PL item: of the common slope).
    pub se_a: f64,
    /// Standard errors of the intercepts `d_1..d_{K-1}` (`[se_d]` for a
    /// dichotomous item).
    pub se_d: Vec<f64>,
    /// Standard error of the guessing parameter.
    pub se_c: f64,
    /// Step parameters (difficulty `[b]` for a dichotomous item), see
    /// [`ItemModel::steps`].
    pub steps: Vec<f64>,
    /// Their standard errors (delta method).
    pub se_steps: Vec<f64>,
}

impl ItemEstimate {
    /// The parameters of a dichotomous item (`None` for a partial credit
    /// item of more than two categories; a two-category one as its 2PL).
    pub fn params(&self) -> Option<ItemParams> {
        match &self.model {
            ItemModel::Dichotomous(p) => Some(*p),
            ItemModel::Gpcm { a, d } => match d.as_slice() {
                [d] => Some(ItemParams {
                    a: *a,
                    d: *d,
                    c: 0.0,
                }),
                _ => None,
            },
        }
    }
}

/// One group's latent distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupEstimate {
    /// Latent mean.
    pub mean: f64,
    /// Latent standard deviation.
    pub sd: f64,
    /// Standard error of the mean (NaN when fixed or not computed).
    pub se_mean: f64,
    /// Standard error of the SD (NaN when fixed or not computed).
    pub se_sd: f64,
    /// Whether mean and SD were estimated (false for the reference group).
    pub free: bool,
    /// Sum of the group's weights (its number of respondents unweighted).
    pub weight: f64,
}

/// The result of a calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Per item, in response column order.
    pub items: Vec<ItemEstimate>,
    /// Per group, in group index order.
    pub groups: Vec<GroupEstimate>,
    /// Marginal log-likelihood at the estimates (weighted when weights were
    /// given; without the log prior).
    pub log_likelihood: f64,
    /// `log_likelihood` plus the normalised log prior density of the free
    /// 3PL guessing parameters: the target maximised (equal to
    /// `log_likelihood` without 3PL items).
    pub log_posterior: f64,
    /// Number of free parameters (items and latent distributions).
    pub n_parameters: usize,
    /// `-2 log L + 2 k`.
    pub aic: f64,
    /// `-2 log L + k ln n`, `n` the number of respondents (not the sum of
    /// the weights).
    pub bic: f64,
    /// The EM report.
    pub convergence: Convergence,
    /// Names of the free parameters, in covariance order: `common.a` (the
    /// 1PL items' slope) first, then `item{j}.a`, `item{j}.d{k}`
    /// (`item{j}.d` for a dichotomous item), `item{j}.c` item by item,
    /// then `group{g}.mean`, `group{g}.sd`.
    pub labels: Vec<String>,
    /// Covariance of the free parameters (row-major), when computed.
    pub covariance: Option<Vec<f64>>,
    /// The quadrature grid of the calibration.
    pub grid: Grid,
}

impl Calibration {
    /// The item models alone.
    pub fn models(&self) -> Vec<ItemModel> {
        self.items.iter().map(|i| i.model.clone()).collect()
    }

    /// The grid carrying group `g`'s latent distribution (for EAP, MAP and
    /// plausible values of that group's respondents).
    pub fn group_grid(&self, g: usize) -> Result<Grid, IrtError> {
        let group = self
            .groups
            .get(g)
            .ok_or_else(|| IrtError::Option(format!("no group {g}")))?;
        self.grid.reweighted(group.mean, group.sd)
    }

    /// Every group's grid, in group order.
    pub fn group_grids(&self) -> Result<Vec<Grid>, IrtError> {
        (0..self.groups.len()).map(|g| self.group_grid(g)).collect()
    }
}

/// Calibrates the items: `groups[i]` is respondent `i`'s group (`0..G`;
/// `None`: one group), `weights` optional non-negative sampling weights.
///
/// Weights enter the likelihood as frequency weights (a pseudo-likelihood
/// for sampling weights): the estimates are the design-weighted ones, but
/// the standard errors then treat the weights as counts and are not
/// design-based (that needs replicate weights or a sandwich estimator).
/// Respondents without any answer contribute nothing.
pub fn calibrate(
    responses: &CategoryResponses,
    groups: Option<&[usize]>,
    weights: Option<&[f64]>,
    options: &CalibrationOptions,
) -> Result<Calibration, IrtError> {
    let n = responses.n_respondents();
    let n_items = responses.n_items();
    if options.kinds.len() != n_items {
        return Err(IrtError::ItemCount {
            params: options.kinds.len(),
            items: n_items,
        });
    }
    check_weights(weights, n)?;
    if options.tolerance.is_nan() || options.tolerance <= 0.0 {
        return Err(IrtError::Option(format!("tolerance {}", options.tolerance)));
    }
    let (group_of, group_weight) = group_indices(groups, weights, n)?;
    let anchored = anchor_slots(&options.anchors, responses.categories())?;
    let prior = options.guessing_prior;
    let uses_3pl = options
        .kinds
        .iter()
        .zip(&anchored)
        .any(|(k, a)| *k == ModelKind::ThreePl && a.is_none());
    if uses_3pl && !(prior.alpha >= 1.0 && prior.beta >= 1.0) {
        return Err(IrtError::Option(format!(
            "guessing prior Beta({}, {}) needs both shapes >= 1",
            prior.alpha, prior.beta
        )));
    }
    let items = start_items(responses, weights, options, &anchored)?;
    let n_groups = group_weight.len();
    let free_group: Vec<bool> = (0..n_groups)
        .map(|g| g > 0 || !options.anchors.is_empty())
        .collect();
    let grid = &options.grid;
    let fit = Fit::new(
        responses,
        &group_of,
        weights,
        options,
        anchored.iter().map(Option::is_some).collect(),
        free_group,
    );
    let state = State {
        items,
        groups: vec![(grid.mean, grid.sd); n_groups],
    };
    let (state, convergence) = em::run(
        &fit,
        state,
        EmOptions {
            max_iterations: options.max_iterations,
            tolerance: options.tolerance,
            accelerate: options.accelerate,
        },
    );
    let log_likelihood = fit.e_step(&state).log_likelihood;
    let k = fit.n_free();
    let covariance = if options.standard_errors && k > 0 {
        Some(fit.covariance(&state)?)
    } else {
        None
    };
    let (items, groups) = fit.estimates(&state, covariance.as_deref(), &group_weight);
    let log_prior = fit.log_prior(&state);
    Ok(Calibration {
        items,
        groups,
        log_likelihood,
        log_posterior: log_likelihood + log_prior,
        n_parameters: k,
        aic: -2.0 * log_likelihood + 2.0 * k as f64,
        bic: -2.0 * log_likelihood + k as f64 * (n as f64).ln(),
        convergence,
        labels: fit.labels(),
        covariance,
        grid: grid.clone(),
    })
}

/// One weight per respondent, each finite and non-negative.
fn check_weights(weights: Option<&[f64]>, n: usize) -> Result<(), IrtError> {
    let Some(w) = weights else { return Ok(()) };
    if w.len() != n {
        return Err(IrtError::Weights(format!(
            "{} weights for {n} respondents",
            w.len()
        )));
    }
    if let Some(i) = w.iter().position(|x| !x.is_finite() || *x < 0.0) {
        return Err(IrtError::Weights(format!("respondent {i}: {}", w[i])));
    }
    Ok(())
}

/// Each respondent's group (all 0 without `groups`) and each group's sum
/// of weights; every group `0..G` needs a positive one.
fn group_indices(
    groups: Option<&[usize]>,
    weights: Option<&[f64]>,
    n: usize,
) -> Result<(Vec<usize>, Vec<f64>), IrtError> {
    let group_of: Vec<usize> = match groups {
        Some(g) if g.len() != n => {
            return Err(IrtError::Option(format!(
                "{} group indices for {n} respondents",
                g.len()
            )));
        }
        Some(g) => g.to_vec(),
        None => vec![0; n],
    };
    let n_groups = group_of.iter().max().map_or(1, |m| m + 1);
    let mut group_weight = vec![0.0; n_groups];
    for (i, &g) in group_of.iter().enumerate() {
        group_weight[g] += weights.map_or(1.0, |w| w[i]);
    }
    if let Some(g) = group_weight.iter().position(|&w| w <= 0.0) {
        return Err(IrtError::Option(format!(
            "group {g} has no respondents (groups are numbered 0..{n_groups})"
        )));
    }
    Ok((group_of, group_weight))
}

/// The anchors by item: `Some(parameters)` for an anchored item.
fn anchor_slots(
    anchors: &[(usize, ItemModel)],
    cats: &[usize],
) -> Result<Vec<Option<ItemModel>>, IrtError> {
    let n_items = cats.len();
    let mut anchored: Vec<Option<ItemModel>> = vec![None; n_items];
    for (j, model) in anchors {
        let slot = anchored
            .get_mut(*j)
            .ok_or_else(|| IrtError::Option(format!("anchor item {j} of {n_items} items")))?;
        if slot.is_some() {
            return Err(IrtError::Option(format!("item {j} anchored twice")));
        }
        if model.n_categories() != cats[*j] {
            return Err(IrtError::Option(format!(
                "anchor item {j}: {} categories, the responses have {}",
                model.n_categories(),
                cats[*j]
            )));
        }
        *slot = Some(model.clone());
    }
    Ok(anchored)
}

/// The anchors as given, and starting values of the other items from their
/// weighted category counts (which must identify them).
fn start_items(
    responses: &CategoryResponses,
    weights: Option<&[f64]>,
    options: &CalibrationOptions,
    anchored: &[Option<ItemModel>],
) -> Result<Vec<ItemModel>, IrtError> {
    let cats = responses.categories();
    let mut counts: Vec<Vec<f64>> = cats.iter().map(|&k| vec![0.0; k]).collect();
    for i in 0..responses.n_respondents() {
        let w = weights.map_or(1.0, |w| w[i]);
        for (j, &x) in responses.row(i).iter().enumerate() {
            if x != CategoryResponses::MISSING {
                counts[j][usize::from(x)] += w;
            }
        }
    }
    let mut items = Vec::with_capacity(cats.len());
    for (j, c) in counts.iter().enumerate() {
        if let Some(model) = &anchored[j] {
            items.push(model.clone());
            continue;
        }
        let kind = options.kinds[j];
        if kind.dichotomous() && cats[j] != 2 {
            return Err(IrtError::Option(format!(
                "item {j}: {} needs 2 categories, the responses have {}",
                kind.name(),
                cats[j]
            )));
        }
        let answered: f64 = c.iter().sum();
        if kind.dichotomous() {
            if c[1] <= 0.0 || c[0] <= 0.0 {
                return Err(IrtError::Degenerate {
                    item: j,
                    right: c[1],
                    answered,
                });
            }
        } else if let Some(k) = c.iter().position(|&x| x <= 0.0) {
            return Err(IrtError::EmptyCategory {
                item: j,
                category: k,
            });
        }
        items.push(start_values(kind, c, options.guessing_prior));
    }
    Ok(items)
}

/// Starting values from the weighted category counts `c` of an item.
fn start_values(kind: ModelKind, c: &[f64], prior: BetaPrior) -> ItemModel {
    if kind.dichotomous() {
        let p = c[1] / (c[0] + c[1]);
        let guess = if kind == ModelKind::ThreePl {
            ((prior.alpha - 1.0) / (prior.alpha + prior.beta - 2.0).max(1.0)).max(C_MIN)
        } else {
            0.0
        };
        let pp = ((p - guess) / (1.0 - guess)).clamp(0.05, 0.95);
        return ItemModel::Dichotomous(ItemParams {
            a: 1.0,
            d: (pp / (1.0 - pp)).ln() * 1.2,
            c: guess,
        });
    }
    // At theta = 0 with a = 1, P(k) is proportional to exp(d_k).
    let base = c[0] + 0.5;
    ItemModel::Gpcm {
        a: 1.0,
        d: c[1..].iter().map(|x| ((x + 0.5) / base).ln()).collect(),
    }
}
