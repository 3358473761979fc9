//! The item parameter file written by `literacy irt calibrate` and read by
//! `literacy irt score`, `fit` and `information`: JSON, one object per
//! item named by its column, any mix of item models.
//!
//! ```json
//! {
//!   "format": "literacy-irt-params",
//!   "version": 2,
//!   "model": "mixed",
//!   "latent": { "mean": 0.0, "sd": 1.0,
//!               "quadrature": { "points": 61, "lower": -6.0, "upper": 6.0 } },
//!   "groups": { "column": "province", "reference": "11",
//!               "list": [ { "label": "11", "mean": 0.0, "sd": 1.0, "free": false,
//!                           "se_mean": null, "se_sd": null, "weight": 812.0 },
//!                         { "label": "12", "mean": 0.31, "sd": 1.08, "free": true,
//!                           "se_mean": 0.05, "se_sd": 0.04, "weight": 788.0 } ] },
//!   "items": [
//!     { "id": "q1", "model": "2pl",
//!       "a": 0.9875, "b": -1.8793, "d": 1.8559, "c": 0.0,
//!       "se_a": 0.1772, "se_b": 0.2640, "se_d": 0.1815, "se_c": null },
//!     { "id": "q2", "model": "gpcm", "a": 1.21,
//!       "b": [-0.8, 0.4], "d": [0.968, 0.484],
//!       "se_a": 0.08, "se_b": [0.07, 0.06], "se_d": [0.09, 0.1], "se_c": null },
//!     { "id": "q3", "model": "2pl", "a": 1.1, "d": -0.2, "anchored": true }
//!   ],
//!   "weight": null,
//!   "guessing_prior": null,
//!   "log_likelihood": -2658.805, "log_posterior": -2658.805,
//!   "aic": 5337.61, "bic": 5386.688,
//!   "n_respondents": 1000, "n_parameters": 10,
//!   "convergence": { "converged": true, "iterations": 23,
//!                    "max_change": 6.1e-7, "tolerance": 1e-6 }
//! }
//! ```
//!
//! A dichotomous item (`rasch`, `1pl`, `2pl`, `3pl`) answers `P(theta) = c
//! + (1 - c) / (1 + exp(-(a theta + d)))`, difficulty `b = -d / a`. A
//! partial credit item (`pcm`: `a` = 1, or `gpcm`) with categories
//! `0..K-1` answers `P(k) ~ exp(a k theta + d_k)` with `d_0 = 0` (mirt's
//! slope-intercept form): `d` lists `d_1..d_{K-1}` and `b` the step
//! difficulties `b_k = -(d_k - d_{k-1}) / a` (PyPI mirt's steps). A
//! standard error is `null` when the parameter is fixed by the model or
//! the item is an anchor, or was not computed (`--no-se`).
//!
//! `latent` is the reference group's distribution and the quadrature grid;
//! `groups` (absent for one group) gives every group's normal
//! distribution, named by its label in the `column` of the response file.
//!
//! Reading back (a file written by hand from published parameters too):
//! per item `id`, `model`, `a` and `d` or `b` are required (when both are
//! given they must agree), `c` defaults to 0; everything else is
//! optional; `latent` defaults to N(0, 1) on 61 points in [-6, 6].
//! Version 1 files (dichotomous items, one group) read unchanged.

use std::path::Path;

use anyhow::{Context, bail};
use literacy_core::irt::{Calibration, CalibrationOptions, Grid, ItemModel, ItemParams, ModelKind};
use serde::{Deserialize, Serialize};

/// Value of the `format` field.
pub const FORMAT: &str = "literacy-irt-params";
/// Version of the format this binary writes.
pub const VERSION: u32 = 2;

/// An item model, as written in the file and given on the command line
/// (`mixed` only for a whole calibration whose items differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum ModelName {
    /// Rasch: every slope fixed at 1, latent N(0, 1).
    #[serde(rename = "rasch")]
    #[value(name = "rasch")]
    Rasch,
    /// One slope common to all items, latent N(0, 1).
    #[serde(rename = "1pl")]
    #[value(name = "1pl")]
    OnePl,
    /// Slope and intercept per item.
    #[serde(rename = "2pl")]
    #[value(name = "2pl")]
    TwoPl,
    /// Slope, intercept and guessing per item (Beta prior on guessing).
    #[serde(rename = "3pl")]
    #[value(name = "3pl")]
    ThreePl,
    /// Partial credit: slope fixed at 1, one intercept per category step.
    #[serde(rename = "pcm")]
    #[value(name = "pcm")]
    Pcm,
    /// Generalized partial credit: a slope and one intercept per step.
    #[serde(rename = "gpcm")]
    #[value(name = "gpcm")]
    Gpcm,
    /// Each item its own model (`--item-models`).
    #[serde(rename = "mixed")]
    #[value(name = "mixed")]
    Mixed,
}

impl ModelName {
    /// The name in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelName::Rasch => "rasch",
            ModelName::OnePl => "1pl",
            ModelName::TwoPl => "2pl",
            ModelName::ThreePl => "3pl",
            ModelName::Pcm => "pcm",
            ModelName::Gpcm => "gpcm",
            ModelName::Mixed => "mixed",
        }
    }

    /// The model of one item named `name` (`mixed` names no item model).
    pub fn parse_item(name: &str) -> Option<Self> {
        let model = <Self as clap::ValueEnum>::from_str(name, true).ok()?;
        (model != ModelName::Mixed).then_some(model)
    }

    /// Whether items of this model are right/wrong (two categories).
    pub fn dichotomous(self) -> bool {
        matches!(
            self,
            ModelName::Rasch | ModelName::OnePl | ModelName::TwoPl | ModelName::ThreePl
        )
    }

    /// The core's model of one item (`None` for `mixed`).
    pub fn kind(self) -> Option<ModelKind> {
        Some(match self {
            ModelName::Rasch => ModelKind::Rasch,
            ModelName::OnePl => ModelKind::OnePl,
            ModelName::TwoPl => ModelKind::TwoPl,
            ModelName::ThreePl => ModelKind::ThreePl,
            ModelName::Pcm => ModelKind::Pcm,
            ModelName::Gpcm => ModelKind::Gpcm,
            ModelName::Mixed => return None,
        })
    }
}

/// A number, or one number per category step (partial credit items).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Values {
    /// One value (a dichotomous item).
    One(f64),
    /// One value per category step.
    Steps(Vec<f64>),
}

/// The quadrature grid of the latent distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quadrature {
    /// Number of equally spaced points.
    pub points: usize,
    /// Lowest point.
    pub lower: f64,
    /// Highest point.
    pub upper: f64,
}

/// The reference latent distribution the parameters are on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latent {
    /// Mean of the normal latent distribution.
    pub mean: f64,
    /// Its standard deviation.
    pub sd: f64,
    /// The quadrature grid.
    pub quadrature: Quadrature,
    /// Standard error of the mean, when it was estimated (anchors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub se_mean: Option<f64>,
    /// Standard error of the SD, when it was estimated (anchors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub se_sd: Option<f64>,
}

impl Default for Latent {
    fn default() -> Self {
        Self {
            mean: 0.0,
            sd: 1.0,
            quadrature: Quadrature {
                points: 61,
                lower: -6.0,
                upper: 6.0,
            },
            se_mean: None,
            se_sd: None,
        }
    }
}

impl Latent {
    /// The latent of a grid.
    fn of(grid: &Grid) -> Self {
        Latent {
            mean: grid.mean,
            sd: grid.sd,
            quadrature: Quadrature {
                points: grid.len(),
                lower: grid.points.first().copied().unwrap_or(f64::NAN),
                upper: grid.points.last().copied().unwrap_or(f64::NAN),
            },
            se_mean: None,
            se_sd: None,
        }
    }

    /// The grid (the core's standard one for the default latent).
    pub fn grid(&self) -> anyhow::Result<Grid> {
        self.grid_at(self.mean, self.sd)
    }

    /// This grid's points under a N(`mean`, `sd`^2) latent (a group's).
    pub fn grid_at(&self, mean: f64, sd: f64) -> anyhow::Result<Grid> {
        let q = &self.quadrature;
        if mean == 0.0 && sd == 1.0 && *q == Latent::default().quadrature {
            return Ok(Grid::standard());
        }
        Grid::normal(q.points, q.lower, q.upper, mean, sd).context("latent")
    }
}

/// One group's latent distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// The group's value in the group column.
    pub label: String,
    /// Mean of its normal latent distribution.
    pub mean: f64,
    /// Its standard deviation.
    pub sd: f64,
    /// Whether mean and SD were estimated (the reference group's are fixed
    /// unless anchors set the scale).
    #[serde(default)]
    pub free: bool,
    /// Standard error of the mean.
    #[serde(default)]
    pub se_mean: Option<f64>,
    /// Standard error of the SD.
    #[serde(default)]
    pub se_sd: Option<f64>,
    /// Sum of the group's weights (respondents without a weight).
    #[serde(default)]
    pub weight: Option<f64>,
}

/// The groups of a multiple-group calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Groups {
    /// The response file's group column.
    pub column: String,
    /// The label of the reference group (its latent is `latent`).
    pub reference: String,
    /// Every group, the reference first.
    pub list: Vec<Group>,
}

/// One item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The response column.
    pub id: String,
    /// The item's model (never `mixed`).
    pub model: ModelName,
    /// Slope.
    pub a: f64,
    /// Difficulty `-d / a`, or the step difficulties.
    #[serde(default)]
    pub b: Option<Values>,
    /// Intercept, or the intercepts `d_1..d_{K-1}`.
    #[serde(default)]
    pub d: Option<Values>,
    /// Lower asymptote (guessing); 0 unless 3PL.
    #[serde(default)]
    pub c: f64,
    /// Standard error of `a`.
    #[serde(default)]
    pub se_a: Option<f64>,
    /// Standard error of `b` (delta method).
    #[serde(default)]
    pub se_b: Option<Values>,
    /// Standard error of `d`.
    #[serde(default)]
    pub se_d: Option<Values>,
    /// Standard error of `c`.
    #[serde(default)]
    pub se_c: Option<f64>,
    /// Held fixed at these parameters in the calibration (an anchor).
    #[serde(default, skip_serializing_if = "is_false")]
    pub anchored: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The EM report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceReport {
    /// Whether the largest parameter change fell below the tolerance.
    pub converged: bool,
    /// E-steps run (counting SQUAREM's).
    pub iterations: usize,
    /// Largest parameter change in the last EM cycle.
    pub max_change: f64,
    /// The tolerance used.
    pub tolerance: f64,
}

/// Beta prior on the guessing parameter (3PL).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GuessingPrior {
    /// First shape.
    pub alpha: f64,
    /// Second shape.
    pub beta: f64,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamsFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`] when written; 1 or 2 when read.
    pub version: u32,
    /// The model calibrated (`mixed` when the items' models differ).
    pub model: ModelName,
    /// The reference latent distribution and the grid.
    #[serde(default)]
    pub latent: Latent,
    /// The groups of a multiple-group calibration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Groups>,
    /// The items, in response column order.
    pub items: Vec<Item>,
    /// The weight column used, if any.
    #[serde(default)]
    pub weight: Option<String>,
    /// The prior on guessing (3PL items only).
    #[serde(default)]
    pub guessing_prior: Option<GuessingPrior>,
    /// Marginal log-likelihood (weighted when a weight was used).
    #[serde(default)]
    pub log_likelihood: Option<f64>,
    /// Log-likelihood plus the log prior on guessing (3PL's target).
    #[serde(default)]
    pub log_posterior: Option<f64>,
    /// Akaike's criterion.
    #[serde(default)]
    pub aic: Option<f64>,
    /// Schwarz's criterion (`n` = respondents).
    #[serde(default)]
    pub bic: Option<f64>,
    /// Respondents (rows) in the calibration file.
    #[serde(default)]
    pub n_respondents: Option<usize>,
    /// Free parameters.
    #[serde(default)]
    pub n_parameters: Option<usize>,
    /// The EM report.
    #[serde(default)]
    pub convergence: Option<ConvergenceReport>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Finite values as one value or steps; `None` when none is finite.
fn values(xs: &[f64], steps: bool) -> Option<Values> {
    if xs.iter().all(|x| !x.is_finite()) {
        return None;
    }
    Some(match (steps, xs) {
        (false, [x]) => Values::One(*x),
        _ => Values::Steps(xs.to_vec()),
    })
}

/// What a calibration was asked: written into the file beside its results.
pub struct Setup<'a> {
    /// The model named on the command line.
    pub model: ModelName,
    /// Each item's model, in column order.
    pub item_models: &'a [ModelName],
    /// The item columns.
    pub ids: &'a [String],
    /// The engine's options.
    pub options: &'a CalibrationOptions,
    /// The weight column.
    pub weight: Option<&'a str>,
    /// The group column and the groups' labels in the engine's order.
    pub groups: Option<(&'a str, &'a [String])>,
    /// Rows in the response file.
    pub n_respondents: usize,
}

impl ParamsFile {
    /// The file for a calibration.
    pub fn from_calibration(fit: &Calibration, setup: &Setup<'_>) -> Self {
        let items = fit
            .items
            .iter()
            .zip(setup.ids)
            .zip(setup.item_models)
            .map(|((e, id), &model)| {
                let steps = !model.dichotomous();
                let d = match &e.model {
                    ItemModel::Dichotomous(p) => vec![p.d],
                    ItemModel::Gpcm { d, .. } => d.clone(),
                };
                let c = match &e.model {
                    ItemModel::Dichotomous(p) => p.c,
                    ItemModel::Gpcm { .. } => 0.0,
                };
                Item {
                    id: id.clone(),
                    model,
                    a: e.model.slope(),
                    b: values(&e.steps, steps),
                    d: values(&d, steps),
                    c,
                    se_a: finite(e.se_a),
                    se_b: values(&e.se_steps, steps),
                    se_d: values(&e.se_d, steps),
                    se_c: finite(e.se_c),
                    anchored: e.anchored,
                }
            })
            .collect();
        let groups = setup.groups.map(|(column, labels)| Groups {
            column: column.to_owned(),
            reference: labels[0].clone(),
            list: fit
                .groups
                .iter()
                .zip(labels)
                .map(|(g, label)| Group {
                    label: label.clone(),
                    mean: g.mean,
                    sd: g.sd,
                    free: g.free,
                    se_mean: finite(g.se_mean),
                    se_sd: finite(g.se_sd),
                    weight: Some(g.weight),
                })
                .collect(),
        });
        let reference = fit.groups.first();
        let mut latent = Latent::of(&fit.grid);
        if let Some(r) = reference {
            (latent.mean, latent.sd) = (r.mean, r.sd);
            (latent.se_mean, latent.se_sd) = (finite(r.se_mean), finite(r.se_sd));
        }
        let options = setup.options;
        let uses_3pl = setup.item_models.contains(&ModelName::ThreePl);
        Self {
            format: FORMAT.to_owned(),
            version: VERSION,
            model: setup.model,
            latent,
            groups,
            items,
            weight: setup.weight.map(str::to_owned),
            guessing_prior: uses_3pl.then_some(GuessingPrior {
                alpha: options.guessing_prior.alpha,
                beta: options.guessing_prior.beta,
            }),
            log_likelihood: Some(fit.log_likelihood),
            log_posterior: Some(fit.log_posterior),
            aic: Some(fit.aic),
            bic: Some(fit.bic),
            n_respondents: Some(setup.n_respondents),
            n_parameters: Some(fit.n_parameters),
            convergence: Some(ConvergenceReport {
                converged: fit.convergence.converged,
                iterations: fit.convergence.iterations,
                max_change: fit.convergence.max_change,
                tolerance: options.tolerance,
            }),
        }
    }

    /// Reads and checks a parameter file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
        let file: ParamsFile =
            serde_json::from_str(&text).with_context(|| format!("{name}: not a parameter file"))?;
        file.check().with_context(|| name.clone())?;
        Ok(file)
    }

    /// Checks what serde cannot: the format, items named once, groups.
    fn check(&self) -> anyhow::Result<()> {
        if self.format != FORMAT {
            bail!("format {:?}, expected {FORMAT:?}", self.format);
        }
        if !(1..=VERSION).contains(&self.version) {
            bail!(
                "format version {}, this binary reads versions 1 to {VERSION}",
                self.version
            );
        }
        if self.items.is_empty() {
            bail!("no items");
        }
        for (k, item) in self.items.iter().enumerate() {
            if self.items[..k].iter().any(|i| i.id == item.id) {
                bail!("item {:?} appears twice", item.id);
            }
            if item.model == ModelName::Mixed {
                bail!("item {:?}: model \"mixed\" names no item model", item.id);
            }
        }
        if let Some(groups) = &self.groups {
            if groups.list.first().map(|g| &g.label) != Some(&groups.reference) {
                bail!(
                    "groups: the reference group {:?} must come first",
                    groups.reference
                );
            }
            for (k, g) in groups.list.iter().enumerate() {
                if groups.list[..k].iter().any(|h| h.label == g.label) {
                    bail!("groups: group {:?} appears twice", g.label);
                }
            }
        }
        Ok(())
    }

    /// The items' models, in file order, checked.
    pub fn item_models(&self) -> anyhow::Result<Vec<ItemModel>> {
        self.items.iter().map(Item::model).collect()
    }

    /// The grid of each group, in the order of `groups.list` (the
    /// reference latent's alone without groups).
    pub fn group_grids(&self) -> anyhow::Result<Vec<Grid>> {
        match &self.groups {
            None => Ok(vec![self.latent.grid()?]),
            Some(groups) => groups
                .list
                .iter()
                .map(|g| {
                    self.latent
                        .grid_at(g.mean, g.sd)
                        .with_context(|| format!("group {:?}", g.label))
                })
                .collect(),
        }
    }
}

impl Item {
    /// The item's model: `d` from `d`, or from `b`, checked.
    pub fn model(&self) -> anyhow::Result<ItemModel> {
        let id = &self.id;
        if !self.a.is_finite() || self.a == 0.0 {
            bail!("item {id:?}: slope a = {} must be finite and not 0", self.a);
        }
        if self.model.dichotomous() {
            let one = |v: &Option<Values>, field: &str| -> anyhow::Result<Option<f64>> {
                match v {
                    None => Ok(None),
                    Some(Values::One(x)) => Ok(Some(*x)),
                    Some(Values::Steps(_)) => bail!(
                        "item {id:?}: {field} is a list (category steps), but model {} is \
                         right/wrong; a partial credit item is \"pcm\" or \"gpcm\"",
                        self.model.name()
                    ),
                }
            };
            let d = self.intercepts(
                one(&self.d, "d")?.map(|d| vec![d]),
                one(&self.b, "b")?.map(|b| vec![b]),
            )?[0];
            if !(0.0..1.0).contains(&self.c) {
                bail!("item {id:?}: guessing c = {} is outside [0, 1)", self.c);
            }
            return Ok(ItemModel::Dichotomous(ItemParams {
                a: self.a,
                d,
                c: self.c,
            }));
        }
        let list = |v: &Option<Values>| -> Option<Vec<f64>> {
            v.as_ref().map(|v| match v {
                Values::One(x) => vec![*x],
                Values::Steps(xs) => xs.clone(),
            })
        };
        if self.c != 0.0 {
            bail!(
                "item {id:?}: a {} item has no guessing c",
                self.model.name()
            );
        }
        if self.model == ModelName::Pcm && self.a != 1.0 {
            bail!("item {id:?}: a pcm item's slope is 1, not {}", self.a);
        }
        let d = self.intercepts(list(&self.d), list(&self.b))?;
        Ok(ItemModel::Gpcm { a: self.a, d })
    }

    /// The intercepts from `d` and/or the steps `b` (`d_k = -a (b_1 + ... +
    /// b_k)`), which must agree when both are given.
    fn intercepts(&self, d: Option<Vec<f64>>, b: Option<Vec<f64>>) -> anyhow::Result<Vec<f64>> {
        let id = &self.id;
        let from_b = |b: &[f64]| match ItemModel::gpcm_from_steps(self.a, b) {
            ItemModel::Gpcm { d, .. } => d,
            ItemModel::Dichotomous(p) => vec![p.d],
        };
        let d = match (d, b) {
            (Some(d), Some(b)) => {
                let implied = from_b(&b);
                if d.len() != b.len() {
                    bail!(
                        "item {id:?}: {} intercepts d but {} steps b",
                        d.len(),
                        b.len()
                    );
                }
                for (k, (x, y)) in d.iter().zip(&implied).enumerate() {
                    if (x - y).abs() > 1e-6 * (1.0 + y.abs()) {
                        let at = if d.len() > 1 {
                            format!("[{k}]")
                        } else {
                            String::new()
                        };
                        bail!("item {id:?}: d{at} = {x} disagrees with b, which gives {y}");
                    }
                }
                d
            }
            (Some(d), None) => d,
            (None, Some(b)) => from_b(&b),
            (None, None) => bail!("item {id:?}: needs d or b"),
        };
        if d.is_empty() {
            bail!("item {id:?}: needs at least one category step");
        }
        if d.len() > 254 {
            bail!("item {id:?}: {} category steps (at most 254)", d.len());
        }
        if let Some(x) = d.iter().find(|x| !x.is_finite()) {
            bail!("item {id:?}: intercept d = {x} is not finite");
        }
        Ok(d)
    }
}
