//! `literacy irt calibrate`: item parameters by marginal maximum
//! likelihood for any mix of item models, one group or several, with
//! anchor items held fixed for linking.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use literacy_core::irt::{self, Calibration, CalibrationOptions, Grid, ItemModel, ModelKind};

use super::item_models::ItemModels;
use super::params::{ModelName, ParamsFile, Setup};
use super::responses::{self, GroupColumn, ItemColumns, Request, ResponseFile};

/// Calibrate an item response model and write the item parameters as JSON.
///
/// The response file has a `respondent_id` column and one column per item
/// holding a category code or nothing (missing: skipped, never scored as
/// wrong): 1 (right) or 0 (wrong) for `rasch`, `1pl`, `2pl`, `3pl` items,
/// `0..K-1` for `pcm` and `gpcm` items (K is the largest code answered plus
/// one; every category must have answers). Estimation: Bock-Aitkin EM on
/// 61 quadrature points in [-6, 6] (or `--quadrature`), SQUAREM-accelerated;
/// the reference group's latent is N(0, 1) (free with anchors), the other
/// groups' means and SDs are estimated; standard errors from the observed
/// information. Nothing is written unless the whole file is valid and the
/// calibration succeeds.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// Response file (CSV or a spreadsheet).
    #[arg(long)]
    responses: PathBuf,
    #[command(flatten)]
    read: crate::reading::ReadArgs,
    /// The model of every item, or `mixed` with `--item-models`.
    #[arg(long, value_enum)]
    model: ModelName,
    /// With `--model mixed`: CSV `item,model` giving each item's model
    /// (rasch, 2pl, 3pl, pcm, gpcm); its items are the ones calibrated
    /// unless `--items` chooses.
    #[arg(long)]
    item_models: Option<PathBuf>,
    /// Item columns, comma-separated [default: the items of
    /// `--item-models`, else every column but respondent_id, the weight
    /// and the group].
    #[arg(long, value_delimiter = ',')]
    items: Option<Vec<String>>,
    /// Weight column (frequency or sampling weights; the standard errors
    /// then treat the weights as counts).
    #[arg(long)]
    weight: Option<String>,
    /// Group column: one latent distribution per group, the reference
    /// group's N(0, 1), the others' means and SDs estimated.
    #[arg(long)]
    groups: Option<String>,
    /// The reference group's value in the group column [default: the
    /// first value in sorted order].
    #[arg(long, requires = "groups")]
    reference_group: Option<String>,
    /// Parameter file of an earlier calibration: its items that are
    /// calibrated here are held at its parameters (fixed-parameter
    /// linking), and every group's mean and SD are estimated on its scale.
    #[arg(long)]
    anchors: Option<PathBuf>,
    /// Converged when no parameter moves by more than this in an EM cycle.
    #[arg(long, default_value_t = 1e-6)]
    tolerance: f64,
    /// Quadrature points, equally spaced on [-6, 6].
    #[arg(long, default_value_t = 61)]
    quadrature: usize,
    /// Largest number of E-steps.
    #[arg(long, default_value_t = 5000)]
    max_iterations: usize,
    /// Skip the standard errors.
    #[arg(long)]
    no_se: bool,
    /// Where to write the parameter file (JSON).
    #[arg(long)]
    out: PathBuf,
}

/// What to calibrate: each item's model and the anchors, from the options
/// and files named on the command line.
struct Plan {
    item_models: Option<ItemModels>,
    /// The anchor file's items: id, model name and parameters.
    anchors: Vec<(String, ModelName, ItemModel)>,
}

impl Plan {
    fn new(args: &CalibrateArgs) -> anyhow::Result<Self> {
        let item_models = match (&args.item_models, args.model) {
            (Some(path), ModelName::Mixed) => Some(ItemModels::read(path, &args.read.options())?),
            (None, ModelName::Mixed) => {
                bail!("--model mixed needs --item-models FILE (CSV item,model)")
            }
            (Some(_), model) => bail!(
                "--item-models is for --model mixed; --model {} gives every item one model",
                model.name()
            ),
            (None, _) => None,
        };
        let anchors = match &args.anchors {
            Some(path) => {
                let file = ParamsFile::read(path)?;
                let models = file
                    .item_models()
                    .with_context(|| format!("{}", path.display()))?;
                file.items
                    .into_iter()
                    .zip(models)
                    .map(|(i, m)| (i.id, i.model, m))
                    .collect()
            }
            None => Vec::new(),
        };
        if args.model == ModelName::OnePl && (args.anchors.is_some() || args.groups.is_some()) {
            bail!(
                "--model 1pl estimates the latent SD through its common slope: it cannot also \
                 take --groups or --anchors (use rasch items, whose groups' SDs are free)"
            );
        }
        Ok(Self {
            item_models,
            anchors,
        })
    }

    /// The anchor file's model name and parameters of item column `item`.
    fn anchor(&self, item: &str) -> Option<(ModelName, &ItemModel)> {
        self.anchors
            .iter()
            .find(|(id, _, _)| id == item)
            .map(|(_, name, m)| (*name, m))
    }

    /// The model written for item column `item`.
    fn model_of(&self, item: &str, model: ModelName) -> ModelName {
        if let Some((name, _)) = self.anchor(item) {
            return name;
        }
        match &self.item_models {
            Some(m) => m.get(item).unwrap_or(model),
            None => model,
        }
    }

    /// The categories item column `item` may take (`None`: from the data).
    fn categories(&self, item: &str, model: ModelName) -> Option<usize> {
        if let Some((_, m)) = self.anchor(item) {
            return Some(m.n_categories());
        }
        self.model_of(item, model).dichotomous().then_some(2)
    }
}

/// Runs `literacy irt calibrate`.
pub fn run(args: &CalibrateArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let plan = Plan::new(args)?;
    let listed = plan.item_models.as_ref().map(|m| m.order.clone());
    let columns = match (&args.items, &listed) {
        (Some(names), _) | (None, Some(names)) => ItemColumns::Named(names),
        (None, None) => ItemColumns::AllOthers,
    };
    let categories = |item: &str| plan.categories(item, args.model);
    let request = Request {
        items: columns,
        categories: &categories,
        weight: args.weight.as_deref(),
        group: args.groups.as_deref(),
    };
    let data = responses::read(&args.responses, &request, &args.read.options())?;
    if let (Some(m), Some(path)) = (&plan.item_models, &args.item_models) {
        m.check_covers(path, &data.items)?;
    }
    let read_time = start.elapsed();
    let groups = match (&data.groups, &args.groups) {
        (Some(raw), Some(column)) => Some(GroupColumn::new(
            column,
            raw,
            args.reference_group.as_deref(),
        )?),
        _ => None,
    };
    let models: Vec<ModelName> = data
        .items
        .iter()
        .map(|i| plan.model_of(i, args.model))
        .collect();
    let options = options(args, &plan, &data, &models)?;
    let fit = irt::calibrate(
        &data.responses,
        groups.as_ref().map(|g| g.of.as_slice()),
        data.weights.as_deref(),
        &options,
    );
    let fit = fit
        .map_err(|e| super::name_items(e, &data.items))
        .with_context(|| format!("calibrating {}", args.responses.display()))?;
    let setup = Setup {
        model: args.model,
        item_models: &models,
        ids: &data.items,
        options: &options,
        weight: args.weight.as_deref(),
        groups: args
            .groups
            .as_deref()
            .zip(groups.as_ref().map(|g| g.labels.as_slice())),
        n_respondents: data.ids.len(),
    };
    let file = ParamsFile::from_calibration(&fit, &setup);
    let json = serde_json::to_string_pretty(&file)?;
    std::fs::write(&args.out, json + "\n")
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    report(args, &data, &fit, &models, read_time, start);
    Ok(())
}

/// The engine's options: each item's kind, the anchors, the grid.
fn options(
    args: &CalibrateArgs,
    plan: &Plan,
    data: &ResponseFile,
    models: &[ModelName],
) -> anyhow::Result<CalibrationOptions> {
    let grid = if args.quadrature == 61 {
        Grid::standard()
    } else {
        Grid::normal(args.quadrature, -6.0, 6.0, 0.0, 1.0).context("--quadrature")?
    };
    let kinds = models
        .iter()
        .map(|m| m.kind().unwrap_or(ModelKind::Rasch))
        .collect();
    let anchors: Vec<(usize, ItemModel)> = data
        .items
        .iter()
        .enumerate()
        .filter_map(|(j, item)| plan.anchor(item).map(|(_, m)| (j, m.clone())))
        .collect();
    if let Some(path) = &args.anchors
        && anchors.is_empty()
    {
        bail!(
            "--anchors {}: none of its items is calibrated here, so nothing links the scales",
            path.display()
        );
    }
    Ok(CalibrationOptions {
        anchors,
        grid,
        tolerance: args.tolerance,
        max_iterations: args.max_iterations,
        standard_errors: !args.no_se,
        ..CalibrationOptions::new(kinds)
    })
}

/// One line on stderr: the size, the model, the fit and the time.
fn report(
    args: &CalibrateArgs,
    data: &ResponseFile,
    fit: &Calibration,
    models: &[ModelName],
    read_time: std::time::Duration,
    start: Instant,
) {
    let c = &fit.convergence;
    let anchored = fit.items.iter().filter(|i| i.anchored).count();
    let mut what = args.model.name().to_owned();
    if args.model == ModelName::Mixed {
        let mut counts: Vec<(ModelName, usize)> = Vec::new();
        for m in models {
            match counts.iter_mut().find(|(n, _)| n == m) {
                Some((_, k)) => *k += 1,
                None => counts.push((*m, 1)),
            }
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|(m, k)| format!("{k} {}", m.name()))
            .collect();
        what = format!("mixed ({})", parts.join(", "));
    }
    if fit.groups.len() > 1 {
        what.push_str(&format!(", {} groups", fit.groups.len()));
    }
    if anchored > 0 {
        what.push_str(&format!(", {anchored} anchored"));
    }
    eprintln!(
        "{} respondents x {} items, {what}: log-likelihood {:.6}, {} after {} E-steps \
         (largest change {:.2e}); read {:.2} s, total {:.2} s",
        data.ids.len(),
        data.items.len(),
        fit.log_likelihood,
        if c.converged {
            "converged"
        } else {
            "NOT converged"
        },
        c.iterations,
        c.max_change,
        read_time.as_secs_f64(),
        start.elapsed().as_secs_f64(),
    );
}
