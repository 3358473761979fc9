//! Calibration of mixed instruments by marginal maximum likelihood:
//! dichotomous (Rasch, 2PL, 3PL) and partial credit (GPCM, PCM) items side
//! by side, several groups of respondents, and anchor items held fixed.
//!
//! The conventions are those of [`super::calibrate`]: Bock-Aitkin EM over
//! the fixed quadrature grid, deterministic sums over fixed ranges of
//! respondents with rayon, optional SQUAREM, Fisher scoring per item in the M-step,
//! and standard errors from the observed information of the marginal
//! likelihood (central differences of its exact Fisher-identity gradient,
//! as mirt's Oakes standard errors).
//!
//! Latent distributions. Every group `g` has a normal latent distribution
//! N(`mean_g`, `sd_g`^2) discretised on the grid's points: its log masses
//! are the grid's log weights with the grid's own normal density replaced
//! by group `g`'s, normalised to sum to 1 (for mirt's rectangular grid this
//! is the normal density at the points; on Gauss-Hermite nodes it is the
//! density ratio correction PyPI mirt's multiple-group EM uses). The M-step
//! of a free group maximises the expected complete-data log-likelihood of
//! these masses exactly (see `latent.rs`: the discretised normal is an
//! exponential family on the grid, so the maximum matches the grid mean
//! and mean square of the group's expected counts).
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
//!   (fixed-parameter calibration). The anchors must identify location and
//!   scale: at least one anchor is needed, and Rasch/PCM anchors alone fix
//!   the scale through their unit slopes.
//! - Rasch and PCM items have their slope fixed at 1; with a fixed N(0, 1)
//!   reference this is mirt's "1PL"/"PCM" (not a free latent variance).

use rayon::prelude::*;

use super::em::{self, EmModel, EmOptions};
use super::latent::LatentGrid;
use super::linalg::{invert, solve};
use super::{
    BetaPrior, CategoryResponses, Convergence, Grid, IrtError, ItemModel, ItemParams, log_pq,
    logistic,
};

/// The E-step splits the respondents into at most this many fixed ranges
/// (multiples of [`BLOCK`] respondents, depending only on their number),
/// sums each range in respondent order and adds the partial sums in range
/// order: the result does not depend on the thread count, and memory for
/// partial counts stays bounded however many respondents there are.
const MAX_TASKS: usize = 64;
/// Granularity of the E-step's ranges of respondents.
const BLOCK: usize = 1024;
/// Keeps the guessing parameter strictly inside (0, 1).
const C_MIN: f64 = 1e-8;
/// Smallest latent SD accepted from an extrapolation.
const SD_MIN: f64 = 1e-6;

/// The model of one item in a mixed calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Dichotomous, slope fixed at 1 (an intercept).
    Rasch,
    /// Dichotomous, slope and intercept.
    TwoPl,
    /// Dichotomous, slope, intercept and guessing (Beta prior on guessing).
    ThreePl,
    /// Generalized partial credit: slope and `K - 1` intercepts.
    Gpcm,
    /// Partial credit: slope fixed at 1, `K - 1` intercepts.
    Pcm,
}

impl ModelKind {
    /// Whether the kind is a right/wrong model (needs two categories).
    fn dichotomous(self) -> bool {
        matches!(self, Self::Rasch | Self::TwoPl | Self::ThreePl)
    }

    /// Free parameters of an item of this kind with `k` categories.
    fn n_free(self, k: usize) -> usize {
        match self {
            Self::Rasch => 1,
            Self::TwoPl => 2,
            Self::ThreePl => 3,
            Self::Gpcm => k,
            Self::Pcm => k - 1,
        }
    }

    /// Whether the slope is free.
    fn free_slope(self) -> bool {
        matches!(self, Self::TwoPl | Self::ThreePl | Self::Gpcm)
    }
}

/// Options of a mixed calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct MixedOptions {
    /// The model of each item, in response column order (ignored for
    /// anchored items).
    pub kinds: Vec<ModelKind>,
    /// Anchor items `(column, parameters)`: held fixed at the given
    /// parameters; with any anchor, every group's mean and SD are free.
    pub anchors: Vec<(usize, ItemModel)>,
    /// The quadrature grid; its normal distribution is the reference
    /// group's when there are no anchors.
    pub grid: Grid,
    /// Largest number of E-steps (counting SQUAREM's).
    pub max_iterations: usize,
    /// Converged when no free parameter moves by more than this in a cycle.
    pub tolerance: f64,
    /// Prior on the guessing parameter of 3PL items.
    pub guessing_prior: BetaPrior,
    /// Whether to compute standard errors (two E-steps per free parameter).
    pub standard_errors: bool,
    /// Whether to accelerate EM by SQUAREM.
    pub accelerate: bool,
}

impl MixedOptions {
    /// Defaults (those of [`super::CalibrationOptions`]) for the given item models.
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
}

/// One item's estimates and standard errors (NaN when not computed, fixed
/// by the model, or the item is an anchor).
#[derive(Debug, Clone, PartialEq)]
pub struct MixedItemEstimate {
    /// The model calibrated (for an anchor: the kind given in the options).
    pub kind: ModelKind,
    /// The parameters.
    pub model: ItemModel,
    /// Whether the item was an anchor (held fixed).
    pub anchored: bool,
    /// Standard error of the slope.
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

/// The result of a mixed calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct MixedCalibration {
    /// Per item, in response column order.
    pub items: Vec<MixedItemEstimate>,
    /// Per group, in group index order.
    pub groups: Vec<GroupEstimate>,
    /// Marginal log-likelihood (weighted; without the log prior).
    pub log_likelihood: f64,
    /// `log_likelihood` plus the normalised log prior of the 3PL guessing
    /// parameters (the target maximised).
    pub log_posterior: f64,
    /// Number of free parameters (items and latent distributions).
    pub n_parameters: usize,
    /// `-2 log L + 2 k`.
    pub aic: f64,
    /// `-2 log L + k ln n`, `n` the number of respondents.
    pub bic: f64,
    /// The EM report.
    pub convergence: Convergence,
    /// Names of the free parameters, in covariance order: `item{j}.a`,
    /// `item{j}.d{k}` (`item{j}.d` for a dichotomous item), `item{j}.c`,
    /// then `group{g}.mean`, `group{g}.sd`.
    pub labels: Vec<String>,
    /// Covariance of the free parameters (row-major), when computed.
    pub covariance: Option<Vec<f64>>,
    /// The quadrature grid of the calibration.
    pub grid: Grid,
}

impl MixedCalibration {
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
}

/// Calibrates a mixed instrument: `groups[i]` is respondent `i`'s group
/// (`0..G`; `None`: one group), `weights` optional non-negative frequency
/// weights (a pseudo-likelihood for sampling weights, as [`super::calibrate`]).
pub fn calibrate_mixed(
    responses: &CategoryResponses,
    groups: Option<&[usize]>,
    weights: Option<&[f64]>,
    options: &MixedOptions,
) -> Result<MixedCalibration, IrtError> {
    let n = responses.n_respondents();
    let n_items = responses.n_items();
    let cats = responses.categories();
    if options.kinds.len() != n_items {
        return Err(IrtError::ItemCount {
            params: options.kinds.len(),
            items: n_items,
        });
    }
    if let Some(w) = weights {
        if w.len() != n {
            return Err(IrtError::Weights(format!(
                "{} weights for {n} respondents",
                w.len()
            )));
        }
        if let Some(i) = w.iter().position(|x| !x.is_finite() || *x < 0.0) {
            return Err(IrtError::Weights(format!("respondent {i}: {}", w[i])));
        }
    }
    if options.tolerance.is_nan() || options.tolerance <= 0.0 {
        return Err(IrtError::Option(format!("tolerance {}", options.tolerance)));
    }
    let (group_of, group_weight) = group_indices(groups, weights, n)?;
    let n_groups = group_weight.len();
    let anchored = anchor_slots(&options.anchors, cats)?;
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
    // Weighted category counts, for the checks and the starting values.
    let mut counts = vec![Vec::new(); n_items];
    for (j, c) in counts.iter_mut().enumerate() {
        *c = vec![0.0; cats[j]];
    }
    for i in 0..n {
        let w = weights.map_or(1.0, |w| w[i]);
        for (j, &x) in responses.row(i).iter().enumerate() {
            if x != CategoryResponses::MISSING {
                counts[j][usize::from(x)] += w;
            }
        }
    }
    let mut items = Vec::with_capacity(n_items);
    for j in 0..n_items {
        if let Some(model) = &anchored[j] {
            items.push(model.clone());
            continue;
        }
        let kind = options.kinds[j];
        if kind.dichotomous() && cats[j] != 2 {
            return Err(IrtError::Option(format!(
                "item {j}: {kind:?} needs 2 categories, the responses have {}",
                cats[j]
            )));
        }
        let c = &counts[j];
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
        items.push(start_values(kind, c, prior));
    }
    let free_group: Vec<bool> = (0..n_groups)
        .map(|g| g > 0 || !options.anchors.is_empty())
        .collect();
    let grid = &options.grid;
    let fit = Fit {
        responses,
        group_of: &group_of,
        weights,
        grid,
        latent: LatentGrid::new(grid),
        kinds: &options.kinds,
        anchored: anchored.iter().map(Option::is_some).collect(),
        free_group,
        prior,
        layout: Layout::new(cats, grid.len()),
    };
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
    let k = fit.free(&state).len();
    let covariance = if options.standard_errors && k > 0 {
        Some(fit.covariance(&state)?)
    } else {
        None
    };
    let (items, groups) = fit.estimates(&state, covariance.as_deref(), &group_weight);
    let log_prior = fit.log_prior(&state);
    Ok(MixedCalibration {
        items,
        groups,
        log_likelihood,
        log_posterior: log_likelihood + log_prior,
        n_parameters: k,
        aic: -2.0 * log_likelihood + 2.0 * k as f64,
        bic: -2.0 * log_likelihood + k as f64 * (n as f64).ln(),
        convergence,
        labels: fit.labels(&state),
        covariance,
        grid: grid.clone(),
    })
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

/// Starting values from the weighted category counts `c` of an item.
fn start_values(kind: ModelKind, c: &[f64], prior: BetaPrior) -> ItemModel {
    match kind {
        ModelKind::Rasch | ModelKind::TwoPl | ModelKind::ThreePl => {
            let p = c[1] / (c[0] + c[1]);
            let guess = if kind == ModelKind::ThreePl {
                (prior.alpha - 1.0) / (prior.alpha + prior.beta - 2.0).max(1.0)
            } else {
                0.0
            };
            let pp = ((p - guess) / (1.0 - guess)).clamp(0.05, 0.95);
            ItemModel::Dichotomous(ItemParams {
                a: 1.0,
                d: (pp / (1.0 - pp)).ln() * 1.2,
                c: guess.max(if kind == ModelKind::ThreePl {
                    C_MIN
                } else {
                    0.0
                }),
            })
        }
        ModelKind::Gpcm | ModelKind::Pcm => {
            // At theta = 0 with a = 1, P(k) is proportional to exp(d_k).
            let base = c[0] + 0.5;
            ItemModel::Gpcm {
                a: 1.0,
                d: c[1..].iter().map(|x| ((x + 0.5) / base).ln()).collect(),
            }
        }
    }
}

/// Where each item's expected counts live: item `j`, category `k`, point
/// `q` at `offsets[j] + k * q_len + q`.
struct Layout {
    q_len: usize,
    categories: Vec<usize>,
    offsets: Vec<usize>,
    total: usize,
}

impl Layout {
    fn new(categories: &[usize], q_len: usize) -> Self {
        let mut offsets = Vec::with_capacity(categories.len());
        let mut total = 0;
        for &k in categories {
            offsets.push(total);
            total += k * q_len;
        }
        Self {
            q_len,
            categories: categories.to_vec(),
            offsets,
            total,
        }
    }

    fn span(&self, j: usize) -> std::ops::Range<usize> {
        self.offsets[j]..self.offsets[j] + self.categories[j] * self.q_len
    }
}

/// Expected counts of one E-step.
struct Counts {
    /// Per item, category and point (see [`Layout`]).
    items: Vec<f64>,
    /// Per group and point (`g * q_len + q`).
    groups: Vec<f64>,
    log_likelihood: f64,
}

/// The parameters of one EM iterate.
#[derive(Debug, Clone)]
struct State {
    items: Vec<ItemModel>,
    /// `(mean, sd)` per group.
    groups: Vec<(f64, f64)>,
}

/// Everything one EM run needs.
struct Fit<'a> {
    responses: &'a CategoryResponses,
    group_of: &'a [usize],
    weights: Option<&'a [f64]>,
    grid: &'a Grid,
    /// The latent distributions on the grid.
    latent: LatentGrid,
    kinds: &'a [ModelKind],
    anchored: Vec<bool>,
    free_group: Vec<bool>,
    prior: BetaPrior,
    layout: Layout,
}

/// An item's M-step target, gradient and Fisher information (dense, in
/// the item's free parameters).
struct ItemTerms {
    value: f64,
    grad: Vec<f64>,
    info: Vec<f64>,
}

impl EmModel for Fit<'_> {
    type State = State;
    type Counts = Counts;

    fn e_step(&self, state: &State) -> Counts {
        Fit::e_step(self, state)
    }
    fn m_step(&self, state: &State, counts: &Counts) -> State {
        Fit::m_step(self, state, counts)
    }
    fn log_likelihood(counts: &Counts) -> f64 {
        counts.log_likelihood
    }
    fn log_prior(&self, state: &State) -> f64 {
        Fit::log_prior(self, state)
    }
    fn free(&self, state: &State) -> Vec<f64> {
        Fit::free(self, state)
    }
    fn unfree(&self, template: &State, free: &[f64]) -> State {
        Fit::unfree(self, template, free)
    }
    fn valid(&self, state: &State) -> bool {
        Fit::valid(self, state)
    }
}

impl Fit<'_> {
    /// The item's free parameters, in the order of [`ModelKind`].
    fn item_free(kind: ModelKind, model: &ItemModel) -> Vec<f64> {
        match (kind, model) {
            (ModelKind::Rasch, ItemModel::Dichotomous(p)) => vec![p.d],
            (ModelKind::TwoPl, ItemModel::Dichotomous(p)) => vec![p.a, p.d],
            (ModelKind::ThreePl, ItemModel::Dichotomous(p)) => vec![p.a, p.d, p.c],
            (ModelKind::Gpcm, ItemModel::Gpcm { a, d }) => {
                let mut v = Vec::with_capacity(d.len() + 1);
                v.push(*a);
                v.extend_from_slice(d);
                v
            }
            (ModelKind::Pcm, ItemModel::Gpcm { d, .. }) => d.clone(),
            // Never built: items are created from their kind.
            _ => Vec::new(),
        }
    }

    /// Inverse of [`Fit::item_free`].
    fn item_from(kind: ModelKind, x: &[f64]) -> ItemModel {
        let at = |i: usize| x.get(i).copied().unwrap_or(f64::NAN);
        match kind {
            ModelKind::Rasch => ItemModel::Dichotomous(ItemParams {
                a: 1.0,
                d: at(0),
                c: 0.0,
            }),
            ModelKind::TwoPl => ItemModel::Dichotomous(ItemParams {
                a: at(0),
                d: at(1),
                c: 0.0,
            }),
            ModelKind::ThreePl => ItemModel::Dichotomous(ItemParams {
                a: at(0),
                d: at(1),
                c: at(2),
            }),
            ModelKind::Gpcm => ItemModel::Gpcm {
                a: at(0),
                d: x.get(1..).unwrap_or_default().to_vec(),
            },
            ModelKind::Pcm => ItemModel::Gpcm {
                a: 1.0,
                d: x.to_vec(),
            },
        }
    }

    /// The free parameters: items in column order (anchors have none),
    /// then `(mean, sd)` of each free group.
    fn free(&self, s: &State) -> Vec<f64> {
        let mut v = Vec::new();
        for (j, model) in s.items.iter().enumerate() {
            if !self.anchored[j] {
                v.extend(Self::item_free(self.kinds[j], model));
            }
        }
        for (g, &(m, sd)) in s.groups.iter().enumerate() {
            if self.free_group[g] {
                v.push(m);
                v.push(sd);
            }
        }
        v
    }

    /// Inverse of [`Fit::free`].
    fn unfree(&self, template: &State, v: &[f64]) -> State {
        let mut at = 0;
        let items = template
            .items
            .iter()
            .enumerate()
            .map(|(j, model)| {
                if self.anchored[j] {
                    return model.clone();
                }
                let m = self.kinds[j].n_free(self.layout.categories[j]);
                let item = Self::item_from(self.kinds[j], &v[at..at + m]);
                at += m;
                item
            })
            .collect();
        let groups = template
            .groups
            .iter()
            .enumerate()
            .map(|(g, &ms)| {
                if self.free_group[g] {
                    at += 2;
                    (v[at - 2], v[at - 1])
                } else {
                    ms
                }
            })
            .collect();
        State { items, groups }
    }

    /// Names of the free parameters.
    fn labels(&self, s: &State) -> Vec<String> {
        let mut out = Vec::new();
        for (j, model) in s.items.iter().enumerate() {
            if self.anchored[j] {
                continue;
            }
            let kind = self.kinds[j];
            if kind.free_slope() {
                out.push(format!("item{j}.a"));
            }
            if kind.dichotomous() {
                out.push(format!("item{j}.d"));
            } else {
                out.extend((1..model.n_categories()).map(|k| format!("item{j}.d{k}")));
            }
            if kind == ModelKind::ThreePl {
                out.push(format!("item{j}.c"));
            }
        }
        for (g, free) in self.free_group.iter().enumerate() {
            if *free {
                out.push(format!("group{g}.mean"));
                out.push(format!("group{g}.sd"));
            }
        }
        out
    }

    /// Whether extrapolated parameters are usable.
    fn valid(&self, s: &State) -> bool {
        let items_ok = s.items.iter().enumerate().all(|(j, m)| match m {
            ItemModel::Dichotomous(p) => {
                p.a.is_finite()
                    && p.d.is_finite()
                    && (self.anchored[j]
                        || self.kinds[j] != ModelKind::ThreePl
                        || (p.c >= C_MIN && p.c < 1.0))
            }
            ItemModel::Gpcm { a, d } => a.is_finite() && d.iter().all(|x| x.is_finite()),
        });
        items_ok
            && s.groups
                .iter()
                .all(|&(m, sd)| m.is_finite() && sd.is_finite() && sd > SD_MIN)
    }

    /// Normalised log prior density of the free 3PL guessing parameters.
    fn log_prior(&self, s: &State) -> f64 {
        let (al, be) = (self.prior.alpha, self.prior.beta);
        let mut total = 0.0;
        for (j, m) in s.items.iter().enumerate() {
            if let (false, ModelKind::ThreePl, ItemModel::Dichotomous(p)) =
                (self.anchored[j], self.kinds[j], m)
            {
                total += (al - 1.0) * p.c.ln() + (be - 1.0) * (1.0 - p.c).ln()
                    - statrs::function::beta::ln_beta(al, be);
            }
        }
        total
    }

    /// Log masses of every group's latent distribution on the grid.
    fn group_log_weights(&self, s: &State) -> Vec<Vec<f64>> {
        s.groups
            .iter()
            .map(|&(m, sd)| self.latent.log_weights(m, sd))
            .collect()
    }

    /// Expected counts per item, category and point, per group and point,
    /// and the marginal log-likelihood.
    fn e_step(&self, s: &State) -> Counts {
        let layout = &self.layout;
        let q_len = layout.q_len;
        let mut table = vec![0.0; layout.total];
        let mut buf = vec![0.0; layout.categories.iter().copied().max().unwrap_or(2)];
        for (j, model) in s.items.iter().enumerate() {
            let k_len = layout.categories[j];
            for (q, &t) in self.grid.points.iter().enumerate() {
                model.log_probabilities_into(t, &mut buf[..k_len]);
                for (k, lp) in buf[..k_len].iter().enumerate() {
                    table[layout.offsets[j] + k * q_len + q] = *lp;
                }
            }
        }
        let log_w = self.group_log_weights(s);
        let n_groups = s.groups.len();
        let n = self.responses.n_respondents();
        let range = n.div_ceil(MAX_TASKS).div_ceil(BLOCK).max(1) * BLOCK;
        let blocks: Vec<Counts> = (0..n.div_ceil(range))
            .into_par_iter()
            .map(|b| {
                let mut c = Counts {
                    items: vec![0.0; layout.total],
                    groups: vec![0.0; n_groups * q_len],
                    log_likelihood: 0.0,
                };
                let mut post = vec![0.0; q_len];
                for i in b * range..((b + 1) * range).min(n) {
                    let w = self.weights.map_or(1.0, |w| w[i]);
                    if w == 0.0 {
                        continue;
                    }
                    let g = self.group_of[i];
                    let row = self.responses.row(i);
                    post.copy_from_slice(&log_w[g]);
                    for (j, &x) in row.iter().enumerate() {
                        if x == CategoryResponses::MISSING {
                            continue;
                        }
                        let at = layout.offsets[j] + usize::from(x) * q_len;
                        for (l, t) in post.iter_mut().zip(&table[at..at + q_len]) {
                            *l += t;
                        }
                    }
                    let max = post.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
                    let mut sum = 0.0;
                    for l in post.iter_mut() {
                        *l = (*l - max).exp();
                        sum += *l;
                    }
                    c.log_likelihood += w * (max + sum.ln());
                    let scale = w / sum;
                    for l in post.iter_mut() {
                        *l *= scale;
                    }
                    for (j, &x) in row.iter().enumerate() {
                        if x == CategoryResponses::MISSING {
                            continue;
                        }
                        let at = layout.offsets[j] + usize::from(x) * q_len;
                        for (r, p) in c.items[at..at + q_len].iter_mut().zip(&post) {
                            *r += p;
                        }
                    }
                    for (r, p) in c.groups[g * q_len..(g + 1) * q_len].iter_mut().zip(&post) {
                        *r += p;
                    }
                }
                c
            })
            .collect();
        let mut out = Counts {
            items: vec![0.0; layout.total],
            groups: vec![0.0; n_groups * q_len],
            log_likelihood: 0.0,
        };
        for b in blocks {
            for (o, x) in out.items.iter_mut().zip(&b.items) {
                *o += x;
            }
            for (o, x) in out.groups.iter_mut().zip(&b.groups) {
                *o += x;
            }
            out.log_likelihood += b.log_likelihood;
        }
        out
    }

    /// Item `j`'s expected complete-data log-likelihood (plus log prior),
    /// gradient and Fisher information in its free parameters, from its
    /// expected counts `r` (category-major, see [`Layout`]).
    fn item_terms(&self, j: usize, model: &ItemModel, r: &[f64]) -> ItemTerms {
        let kind = self.kinds[j];
        let k_len = self.layout.categories[j];
        let q_len = self.layout.q_len;
        let m = kind.n_free(k_len);
        let mut t = ItemTerms {
            value: 0.0,
            grad: vec![0.0; m],
            info: vec![0.0; m * m],
        };
        let mut logp = vec![0.0; k_len];
        let mut g = vec![0.0; k_len * m];
        for (q, &theta) in self.grid.points.iter().enumerate() {
            let n_q: f64 = (0..k_len).map(|k| r[k * q_len + q]).sum();
            if n_q == 0.0 {
                continue;
            }
            item_derivatives(kind, model, theta, &mut logp, &mut g);
            for k in 0..k_len {
                let rk = r[k * q_len + q];
                let gk = &g[k * m..(k + 1) * m];
                if rk != 0.0 {
                    t.value += rk * logp[k];
                    for (o, x) in t.grad.iter_mut().zip(gk) {
                        *o += rk * x;
                    }
                }
                let wk = n_q * logp[k].exp();
                if wk > 0.0 {
                    for (u, gu) in gk.iter().enumerate() {
                        let f = wk * gu;
                        for (o, gv) in t.info[u * m..(u + 1) * m].iter_mut().zip(gk) {
                            *o += f * gv;
                        }
                    }
                }
            }
        }
        if kind == ModelKind::ThreePl
            && let ItemModel::Dichotomous(p) = model
        {
            let (al, be, c) = (self.prior.alpha, self.prior.beta, p.c);
            t.value += (al - 1.0) * c.ln() + (be - 1.0) * (1.0 - c).ln();
            t.grad[2] += (al - 1.0) / c - (be - 1.0) / (1.0 - c);
            t.info[8] += (al - 1.0) / (c * c) + (be - 1.0) / ((1.0 - c) * (1.0 - c));
        }
        t
    }

    /// One M-step: Fisher scoring with step halving per free item, and the
    /// exact maximisation for each free group's latent distribution.
    fn m_step(&self, s: &State, counts: &Counts) -> State {
        let items = s
            .items
            .iter()
            .enumerate()
            .map(|(j, model)| {
                if self.anchored[j] {
                    model.clone()
                } else {
                    self.item_m_step(j, model, &counts.items[self.layout.span(j)])
                }
            })
            .collect();
        let q_len = self.layout.q_len;
        let groups = s
            .groups
            .iter()
            .enumerate()
            .map(|(g, &(m, sd))| {
                if self.free_group[g] {
                    self.latent
                        .m_step(&counts.groups[g * q_len..(g + 1) * q_len], m, sd)
                } else {
                    (m, sd)
                }
            })
            .collect();
        State { items, groups }
    }

    fn item_m_step(&self, j: usize, model: &ItemModel, r: &[f64]) -> ItemModel {
        let kind = self.kinds[j];
        let mut x = Self::item_free(kind, model);
        let mut item = model.clone();
        let m = x.len();
        for _ in 0..20 {
            let t = self.item_terms(j, &item, r);
            let Some(step) = solve(&t.info, &t.grad, m) else {
                break;
            };
            let mut scale = 1.0;
            let mut accepted = false;
            for _ in 0..30 {
                let cand: Vec<f64> = x.iter().zip(&step).map(|(a, s)| a + scale * s).collect();
                let inside = kind != ModelKind::ThreePl || (cand[2] >= C_MIN && cand[2] < 1.0);
                if inside {
                    let cand_item = Self::item_from(kind, &cand);
                    if self.item_terms(j, &cand_item, r).value >= t.value {
                        x = cand;
                        item = cand_item;
                        accepted = true;
                        break;
                    }
                }
                scale *= 0.5;
            }
            let size = step.iter().fold(0.0_f64, |s, v| s.max(v.abs())) * scale;
            if !accepted || size < 1e-10 {
                break;
            }
        }
        item
    }

    /// Gradient of the marginal log-likelihood (plus log prior) in the
    /// free parameters, by Fisher's identity from the E-step at `s`.
    fn gradient(&self, s: &State, counts: &Counts) -> Vec<f64> {
        let mut g = Vec::new();
        for (j, model) in s.items.iter().enumerate() {
            if !self.anchored[j] {
                g.extend(
                    self.item_terms(j, model, &counts.items[self.layout.span(j)])
                        .grad,
                );
            }
        }
        let q_len = self.layout.q_len;
        for (gi, &(mean, sd)) in s.groups.iter().enumerate() {
            if !self.free_group[gi] {
                continue;
            }
            let n = &counts.groups[gi * q_len..(gi + 1) * q_len];
            g.extend(self.latent.gradient(n, mean, sd));
        }
        g
    }

    /// Covariance of the free parameters: the inverse of the negative
    /// central-difference Hessian of the marginal log-likelihood (plus log
    /// prior), from its exact gradient.
    fn covariance(&self, s: &State) -> Result<Vec<f64>, IrtError> {
        let base = self.free(s);
        let k = base.len();
        let mut hess = vec![0.0; k * k];
        for col in 0..k {
            let h = 1e-4 * base[col].abs().max(1.0);
            let mut grads = [Vec::new(), Vec::new()];
            for (side, sign) in [1.0, -1.0].into_iter().enumerate() {
                let mut v = base.clone();
                v[col] += sign * h;
                let p = self.unfree(s, &v);
                let counts = self.e_step(&p);
                grads[side] = self.gradient(&p, &counts);
            }
            for row in 0..k {
                hess[row * k + col] = (grads[0][row] - grads[1][row]) / (2.0 * h);
            }
        }
        let mut info = vec![0.0; k * k];
        for r in 0..k {
            for c in 0..k {
                info[r * k + c] = -0.5 * (hess[r * k + c] + hess[c * k + r]);
            }
        }
        invert(&info, k).ok_or(IrtError::Singular)
    }

    /// Per-item and per-group estimates with their standard errors.
    fn estimates(
        &self,
        s: &State,
        cov: Option<&[f64]>,
        group_weight: &[f64],
    ) -> (Vec<MixedItemEstimate>, Vec<GroupEstimate>) {
        let k = self.free(s).len();
        let var = |i: usize, j: usize| cov.map_or(f64::NAN, |c| c[i * k + j]);
        let mut at = 0;
        let items = s
            .items
            .iter()
            .enumerate()
            .map(|(j, model)| {
                let kind = self.kinds[j];
                let n_steps = model.n_categories() - 1;
                if self.anchored[j] {
                    return MixedItemEstimate {
                        kind,
                        model: model.clone(),
                        anchored: true,
                        se_a: f64::NAN,
                        se_d: vec![f64::NAN; n_steps],
                        se_c: f64::NAN,
                        steps: model.steps(),
                        se_steps: vec![f64::NAN; n_steps],
                    };
                }
                // Free indices of a, d_1..d_{K-1}, c.
                let ia = kind.free_slope().then_some(at);
                let first_d = at + usize::from(kind.free_slope());
                let id: Vec<usize> = (first_d..first_d + n_steps).collect();
                let ic = (kind == ModelKind::ThreePl).then_some(first_d + n_steps);
                at += kind.n_free(model.n_categories());
                let se = |i: Option<usize>| i.map_or(f64::NAN, |i| var(i, i).sqrt());
                // b_k = -(d_k - d_{k-1}) / a: gradient in a, d_k, d_{k-1}.
                let a = model.slope();
                let d: Vec<f64> = match model {
                    ItemModel::Dichotomous(p) => vec![p.d],
                    ItemModel::Gpcm { d, .. } => d.clone(),
                };
                let se_steps = (0..n_steps)
                    .map(|s_k| {
                        let prev = if s_k == 0 { 0.0 } else { d[s_k - 1] };
                        let mut grad: Vec<(usize, f64)> = vec![(id[s_k], -1.0 / a)];
                        if s_k > 0 {
                            grad.push((id[s_k - 1], 1.0 / a));
                        }
                        if let Some(ia) = ia {
                            grad.push((ia, (d[s_k] - prev) / (a * a)));
                        }
                        let mut v = 0.0;
                        for &(u, gu) in &grad {
                            for &(w, gw) in &grad {
                                v += gu * gw * var(u, w);
                            }
                        }
                        v.sqrt()
                    })
                    .collect();
                MixedItemEstimate {
                    kind,
                    model: model.clone(),
                    anchored: false,
                    se_a: se(ia),
                    se_d: id.iter().map(|&i| se(Some(i))).collect(),
                    se_c: se(ic),
                    steps: model.steps(),
                    se_steps,
                }
            })
            .collect();
        let groups = s
            .groups
            .iter()
            .enumerate()
            .map(|(g, &(mean, sd))| {
                let (se_mean, se_sd) = if self.free_group[g] {
                    at += 2;
                    (var(at - 2, at - 2).sqrt(), var(at - 1, at - 1).sqrt())
                } else {
                    (f64::NAN, f64::NAN)
                };
                GroupEstimate {
                    mean,
                    sd,
                    se_mean,
                    se_sd,
                    free: self.free_group[g],
                    weight: group_weight[g],
                }
            })
            .collect();
        (items, groups)
    }
}

/// `ln P_k` and `g[k * m + u] = d ln P_k / d x_u` at `theta` for the `m`
/// free parameters `x` of `kind`.
fn item_derivatives(
    kind: ModelKind,
    model: &ItemModel,
    theta: f64,
    logp: &mut [f64],
    g: &mut [f64],
) {
    match model {
        ItemModel::Dichotomous(p) => {
            let (lp, lq) = log_pq(p, theta);
            logp[0] = lq;
            logp[1] = lp;
            let z = p.a * theta + p.d;
            let (s, sm) = (logistic(z), logistic(-z));
            // d ln P / d(a, d, c) and d ln Q / d(a, d, c), Q = (1 - c) sm.
            let (ratio, dc1) = if p.c == 0.0 {
                (sm, sm / s.max(f64::MIN_POSITIVE))
            } else {
                let pr = p.c + (1.0 - p.c) * s;
                ((1.0 - p.c) * s * sm / pr, sm / pr)
            };
            let right = [ratio * theta, ratio, dc1];
            let wrong = [-s * theta, -s, -1.0 / (1.0 - p.c)];
            let idx: &[usize] = match kind {
                ModelKind::Rasch => &[1],
                ModelKind::TwoPl => &[0, 1],
                _ => &[0, 1, 2],
            };
            let m = idx.len();
            for (u, &i) in idx.iter().enumerate() {
                g[u] = wrong[i];
                g[m + u] = right[i];
            }
        }
        ItemModel::Gpcm { .. } => {
            model.log_probabilities_into(theta, logp);
            let k_len = logp.len();
            let mean: f64 = logp
                .iter()
                .enumerate()
                .map(|(k, l)| k as f64 * l.exp())
                .sum();
            let slope = usize::from(kind == ModelKind::Gpcm);
            let m = k_len - 1 + slope;
            for k in 0..k_len {
                let row = &mut g[k * m..(k + 1) * m];
                if slope == 1 {
                    row[0] = theta * (k as f64 - mean);
                }
                for c in 1..k_len {
                    let indicator = if c == k { 1.0 } else { 0.0 };
                    row[slope + c - 1] = indicator - logp[c].exp();
                }
            }
        }
    }
}
