//! `literacy irt`: calibrate dichotomous item response models on a
//! response file, score respondents under calibrated parameters, and
//! report item fit and information.
//!
//! The parameter file's format is documented in [`params`].

mod diagnostics;
pub mod params;
pub mod responses;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use literacy_core::irt::{
    self, AbilityMethod, CalibrationOptions, Grid, IrtError, plausible_values,
};

use literacy_table::Options;
use params::{ModelName, ParamsFile};
use responses::{ItemColumns, RESPONDENT_ID, ResponseFile};

/// The `irt` subcommands.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: IrtCommand,
}

#[derive(Debug, clap::Subcommand)]
enum IrtCommand {
    /// Calibrate item parameters by marginal maximum likelihood (EM).
    Calibrate(CalibrateArgs),
    /// Score respondents (ability estimates or plausible values).
    Score(ScoreArgs),
    /// Item fit: S-X2, infit and outfit of calibrated items.
    Fit(diagnostics::FitArgs),
    /// Item and test information over a range of abilities.
    Information(diagnostics::InformationArgs),
}

/// Calibrate a dichotomous IRT model and write the item parameters as JSON.
///
/// The response file has a `respondent_id` column and one column per item
/// holding 1 (right), 0 (wrong) or nothing (missing, skipped: never scored
/// as wrong). Estimation: Bock-Aitkin EM on 61 quadrature points in
/// [-6, 6] (or `--quadrature`) under a N(0, 1) latent, SQUAREM-accelerated; standard errors
/// from the observed information (Oakes). Nothing is written unless the
/// whole file is valid and the calibration succeeds.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// Response file (CSV).
    #[arg(long)]
    responses: PathBuf,
    #[command(flatten)]
    read: crate::reading::ReadArgs,
    /// The model.
    #[arg(long, value_enum)]
    model: ModelName,
    /// Item columns, comma-separated [default: every column but
    /// respondent_id and the weight].
    #[arg(long, value_delimiter = ',')]
    items: Option<Vec<String>>,
    /// Weight column (frequency or sampling weights; the standard errors
    /// then treat the weights as counts).
    #[arg(long)]
    weight: Option<String>,
    /// Converged when no parameter moves by more than this in an EM cycle.
    #[arg(long, default_value_t = 1e-6)]
    tolerance: f64,
    /// Quadrature points, equally spaced on [-6, 6] (N(0, 1) latent).
    #[arg(long, default_value_t = 61)]
    quadrature: usize,
    /// Largest number of E-steps.
    #[arg(long, default_value_t = 5000)]
    max_iterations: usize,
    /// Skip the standard errors (they cost two E-steps per parameter).
    #[arg(long)]
    no_se: bool,
    /// Where to write the parameter file (JSON).
    #[arg(long)]
    out: PathBuf,
}

/// Ability estimator, or plausible values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Method {
    /// Posterior mean on the grid (SE: posterior SD).
    Eap,
    /// Posterior mode under the normal latent.
    Map,
    /// Maximum likelihood (+-inf for all-right / all-wrong patterns).
    Mle,
    /// Warm's weighted likelihood (finite for every pattern).
    Wle,
    /// Plausible values: draws from each respondent's posterior.
    Pv,
}

/// Score respondents under calibrated item parameters.
///
/// Items are matched to the response file's columns by name (other
/// columns are ignored). Writes `respondent_id,theta,se`, or with
/// `--method pv` `respondent_id,pv1,...,pvM`. Numbers are written to full
/// precision; an infinite MLE as `inf` / `-inf`; a respondent without
/// answers gets an empty theta under MLE and WLE (and an `inf` SE).
#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// Parameter file written by `literacy irt calibrate`.
    #[arg(long)]
    params: PathBuf,
    /// Response file (CSV) with respondent_id and the items' columns.
    #[arg(long)]
    responses: PathBuf,
    #[command(flatten)]
    read: crate::reading::ReadArgs,
    /// Estimator.
    #[arg(long, value_enum)]
    method: Method,
    /// Plausible values per respondent (`--method pv`).
    #[arg(long, default_value_t = 5)]
    draws: usize,
    /// Random seed of the plausible values (same seed, same values).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the scores (CSV).
    #[arg(long)]
    out: PathBuf,
}

/// Runs an `irt` subcommand.
pub fn run(args: &Args) -> anyhow::Result<()> {
    match &args.command {
        IrtCommand::Calibrate(a) => calibrate(a),
        IrtCommand::Score(a) => score(a),
        IrtCommand::Fit(a) => diagnostics::fit(a),
        IrtCommand::Information(a) => diagnostics::information(a),
    }
}

fn calibrate(args: &CalibrateArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let columns = match &args.items {
        Some(names) => ItemColumns::Named(names),
        None => ItemColumns::AllOthers,
    };
    let data = responses::read(
        &args.responses,
        columns,
        args.weight.as_deref(),
        &args.read.options(),
    )?;
    let read_time = start.elapsed();
    let grid = if args.quadrature == 61 {
        Grid::standard()
    } else {
        Grid::normal(args.quadrature, -6.0, 6.0, 0.0, 1.0).context("--quadrature")?
    };
    let options = CalibrationOptions {
        grid,
        model: args.model.model(),
        tolerance: args.tolerance,
        max_iterations: args.max_iterations,
        standard_errors: !args.no_se,
        ..CalibrationOptions::default()
    };
    let fit = irt::calibrate(&data.responses, data.weights.as_deref(), &options)
        .map_err(|e| name_items(e, &data))
        .with_context(|| format!("calibrating {}", args.responses.display()))?;
    let file = ParamsFile::from_calibration(
        &fit,
        &data.items,
        &options,
        args.weight.as_deref(),
        data.ids.len(),
    );
    let json = serde_json::to_string_pretty(&file)?;
    std::fs::write(&args.out, json + "\n")
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let c = fit.convergence;
    eprintln!(
        "{} respondents x {} items, {}: log-likelihood {:.6}, {} after {} E-steps \
         (largest change {:.2e}); read {:.2} s, total {:.2} s",
        data.ids.len(),
        data.items.len(),
        args.model.name(),
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
    Ok(())
}

/// Names the item of a per-item error by its column.
fn name_items(e: IrtError, data: &ResponseFile) -> anyhow::Error {
    match e {
        IrtError::Degenerate {
            item,
            right,
            answered,
        } => anyhow::anyhow!(
            "item {:?} has {right} right out of {answered} answers: its parameters are not \
             estimable (leave it out with --items)",
            data.items.get(item).map_or("?", String::as_str)
        ),
        e => e.into(),
    }
}

/// A calibration's parameters and the responses to use them on, read
/// together: what `irt score` and `irt fit` start from.
struct Scored {
    file: ParamsFile,
    items: Vec<irt::ItemParams>,
    grid: Grid,
    names: Vec<String>,
    data: ResponseFile,
}

impl Scored {
    /// Reads the parameter file, then the responses to its items (errors name the files).
    fn read(params: &Path, responses: &Path, options: &Options) -> anyhow::Result<Scored> {
        let file = ParamsFile::read(params)?;
        let items = file
            .item_params()
            .with_context(|| format!("{}", params.display()))?;
        let grid = file.latent.grid()?;
        let names: Vec<String> = file.items.iter().map(|i| i.id.clone()).collect();
        let data = responses::read(responses, ItemColumns::Named(&names), None, options)
            .with_context(|| format!("items of {}", params.display()))?;
        Ok(Scored {
            file,
            items,
            grid,
            names,
            data,
        })
    }
}

fn score(args: &ScoreArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let Scored {
        items, grid, data, ..
    } = Scored::read(&args.params, &args.responses, &args.read.options())?;
    let method = match args.method {
        Method::Eap => Some(AbilityMethod::Eap),
        Method::Map => Some(AbilityMethod::Map),
        Method::Mle => Some(AbilityMethod::Mle),
        Method::Wle => Some(AbilityMethod::Wle),
        Method::Pv => None,
    };
    // Computed in full before the file is created: an error writes nothing.
    let mut text = Vec::with_capacity(data.ids.len() * 48);
    match method {
        Some(method) => {
            let scores = irt::score(&items, &data.responses, method, &grid)?;
            writeln!(text, "{RESPONDENT_ID},theta,se")?;
            for (id, s) in data.ids.iter().zip(&scores) {
                writeln!(text, "{},{},{}", field(id), number(s.theta), number(s.se))?;
            }
        }
        None => {
            if args.draws == 0 {
                bail!("--draws must be at least 1");
            }
            let pv = plausible_values(&items, &data.responses, &grid, args.draws, args.seed)?;
            write!(text, "{RESPONDENT_ID}")?;
            for m in 1..=args.draws {
                write!(text, ",pv{m}")?;
            }
            writeln!(text)?;
            for (i, id) in data.ids.iter().enumerate() {
                write!(text, "{}", field(id))?;
                for draw in &pv {
                    write!(text, ",{}", number(draw[i]))?;
                }
                writeln!(text)?;
            }
        }
    }
    let mut out = create(&args.out)?;
    out.write_all(&text)?;
    out.flush()
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "{} respondents x {} items scored in {:.2} s",
        data.ids.len(),
        data.responses.n_items(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// A number at full precision; NaN (not estimable) as an empty cell.
fn number(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        x.to_string()
    }
}

/// A CSV field, quoted when it needs to be.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
