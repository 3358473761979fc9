//! The item parameter file written by `literacy irt calibrate` and read by
//! `literacy irt score`: JSON, one object per item named by its column.
//!
//! ```json
//! {
//!   "format": "literacy-irt-params",
//!   "version": 1,
//!   "model": "2pl",
//!   "latent": { "mean": 0.0, "sd": 1.0,
//!               "quadrature": { "points": 61, "lower": -6.0, "upper": 6.0 } },
//!   "items": [
//!     { "id": "item1", "model": "2pl",
//!       "a": 0.9875, "b": -1.8793, "d": 1.8559, "c": 0.0,
//!       "se_a": 0.1772, "se_b": 0.2640, "se_d": 0.1815, "se_c": null }
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
//! Each item's response function is `P(theta) = c + (1 - c) / (1 +
//! exp(-(a theta + d)))` with difficulty `b = -d / a`. A standard error is
//! `null` when the parameter is fixed by the model (a Rasch slope, the
//! guessing parameter below the 3PL) or was not computed (`--no-se`).
//!
//! Reading back (`irt score`, or a file written by hand from published
//! parameters): per item `id`, `a` and `d` or `b` are required (when both
//! are given they must agree), `c` defaults to 0; the standard errors, the
//! fit statistics and the convergence report are optional; `latent`
//! defaults to N(0, 1) on 61 points in [-6, 6].
//!
//! Room for polytomous items: each item carries its own `model`, and `d`
//! (with `b`, `se_d`, `se_b`) may be a list, one intercept per category
//! step, as a generalized partial credit item will need. This version
//! reads dichotomous items only and says so for a list.

use std::path::Path;

use anyhow::{Context, bail};
use literacy_core::irt::{Calibration, CalibrationOptions, Grid, ItemParams, Model};
use serde::{Deserialize, Serialize};

/// Value of the `format` field.
pub const FORMAT: &str = "literacy-irt-params";
/// Version of the format this binary writes and reads.
pub const VERSION: u32 = 1;

/// The model, as written in the file and given on the command line.
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
}

impl ModelName {
    /// The core's model.
    pub fn model(self) -> Model {
        match self {
            ModelName::Rasch => Model::Rasch,
            ModelName::OnePl => Model::OnePl,
            ModelName::TwoPl => Model::TwoPl,
            ModelName::ThreePl => Model::ThreePl,
        }
    }

    /// The name in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelName::Rasch => "rasch",
            ModelName::OnePl => "1pl",
            ModelName::TwoPl => "2pl",
            ModelName::ThreePl => "3pl",
        }
    }

    fn from_model(model: Model) -> Self {
        match model {
            Model::Rasch => ModelName::Rasch,
            Model::OnePl => ModelName::OnePl,
            Model::TwoPl => ModelName::TwoPl,
            Model::ThreePl => ModelName::ThreePl,
        }
    }
}

/// A number, or one number per category step (polytomous items, later).
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

/// The latent distribution the parameters are on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latent {
    /// Mean of the normal latent distribution.
    pub mean: f64,
    /// Its standard deviation.
    pub sd: f64,
    /// The quadrature grid.
    pub quadrature: Quadrature,
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
        }
    }
}

impl Latent {
    /// The grid (the core's standard one for the default latent).
    pub fn grid(&self) -> anyhow::Result<Grid> {
        if *self == Latent::default() {
            return Ok(Grid::standard());
        }
        let q = &self.quadrature;
        Grid::normal(q.points, q.lower, q.upper, self.mean, self.sd).context("latent")
    }
}

/// One item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The response column.
    pub id: String,
    /// The item's model.
    pub model: ModelName,
    /// Slope.
    pub a: f64,
    /// Difficulty `-d / a` (a list for category steps).
    #[serde(default)]
    pub b: Option<Values>,
    /// Intercept (a list for category steps).
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
    /// Always [`VERSION`].
    pub version: u32,
    /// The model calibrated.
    pub model: ModelName,
    /// The latent distribution and its grid.
    #[serde(default)]
    pub latent: Latent,
    /// The items, in response column order.
    pub items: Vec<Item>,
    /// The weight column used, if any.
    #[serde(default)]
    pub weight: Option<String>,
    /// The prior on guessing (3PL only).
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

impl ParamsFile {
    /// The file for a calibration of the columns `ids`.
    pub fn from_calibration(
        fit: &Calibration,
        ids: &[String],
        options: &CalibrationOptions,
        weight: Option<&str>,
        n_respondents: usize,
    ) -> Self {
        let model = ModelName::from_model(fit.model);
        let items = fit
            .items
            .iter()
            .zip(ids)
            .map(|(e, id)| Item {
                id: id.clone(),
                model,
                a: e.params.a,
                b: Some(Values::One(e.b)),
                d: Some(Values::One(e.params.d)),
                c: e.params.c,
                se_a: finite(e.se_a),
                se_b: finite(e.se_b).map(Values::One),
                se_d: finite(e.se_d).map(Values::One),
                se_c: finite(e.se_c),
            })
            .collect();
        let grid = &options.grid;
        let latent = Latent {
            mean: grid.mean,
            sd: grid.sd,
            quadrature: Quadrature {
                points: grid.len(),
                lower: grid.points.first().copied().unwrap_or(f64::NAN),
                upper: grid.points.last().copied().unwrap_or(f64::NAN),
            },
        };
        Self {
            format: FORMAT.to_owned(),
            version: VERSION,
            model,
            latent,
            items,
            weight: weight.map(str::to_owned),
            guessing_prior: (fit.model == Model::ThreePl).then_some(GuessingPrior {
                alpha: options.guessing_prior.alpha,
                beta: options.guessing_prior.beta,
            }),
            log_likelihood: Some(fit.log_likelihood),
            log_posterior: Some(fit.log_posterior),
            aic: Some(fit.aic),
            bic: Some(fit.bic),
            n_respondents: Some(n_respondents),
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
        if file.format != FORMAT {
            bail!("{name}: format {:?}, expected {FORMAT:?}", file.format);
        }
        if file.version != VERSION {
            bail!(
                "{name}: format version {}, this binary reads version {VERSION}",
                file.version
            );
        }
        if file.items.is_empty() {
            bail!("{name}: no items");
        }
        for (k, item) in file.items.iter().enumerate() {
            if file.items[..k].iter().any(|i| i.id == item.id) {
                bail!("{name}: item {:?} appears twice", item.id);
            }
        }
        Ok(file)
    }

    /// The items' parameters, in file order, checked.
    pub fn item_params(&self) -> anyhow::Result<Vec<ItemParams>> {
        self.items.iter().map(Item::params).collect()
    }
}

impl Item {
    /// The dichotomous parameters: `d` from `d`, or from `b` (`d = -a b`).
    pub fn params(&self) -> anyhow::Result<ItemParams> {
        let id = &self.id;
        let one = |v: &Option<Values>, field: &str| -> anyhow::Result<Option<f64>> {
            match v {
                None => Ok(None),
                Some(Values::One(x)) => Ok(Some(*x)),
                Some(Values::Steps(_)) => bail!(
                    "item {id:?}: {field} is a list (category steps of a polytomous item); \
                     this version scores dichotomous items only"
                ),
            }
        };
        let (b, d) = (one(&self.b, "b")?, one(&self.d, "d")?);
        if !self.a.is_finite() || self.a == 0.0 {
            bail!("item {id:?}: slope a = {} must be finite and not 0", self.a);
        }
        let d = match (d, b) {
            (Some(d), Some(b)) => {
                let implied = -d / self.a;
                if (implied - b).abs() > 1e-6 * (1.0 + b.abs()) {
                    bail!("item {id:?}: b = {b} disagrees with -d / a = {implied}");
                }
                d
            }
            (Some(d), None) => d,
            (None, Some(b)) => -self.a * b,
            (None, None) => bail!("item {id:?}: needs d or b"),
        };
        if !d.is_finite() {
            bail!("item {id:?}: intercept d = {d} is not finite");
        }
        if !(0.0..1.0).contains(&self.c) {
            bail!("item {id:?}: guessing c = {} is outside [0, 1)", self.c);
        }
        Ok(ItemParams {
            a: self.a,
            d,
            c: self.c,
        })
    }
}
