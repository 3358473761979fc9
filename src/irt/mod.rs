//! `literacy irt`: calibrate item response models (right/wrong and
//! partial credit items, one group or several, anchors held fixed) on a
//! response file, score respondents under calibrated parameters, and
//! report item fit and information.
//!
//! The parameter file's format is documented in [`params`].

mod calibrate;
mod diagnostics;
pub mod item_models;
pub mod params;
pub mod responses;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use literacy_core::irt::{self, Ability, AbilityMethod, Grid, IrtError, ItemModel};

use params::ParamsFile;
use responses::{ItemColumns, RESPONDENT_ID, Request, ResponseFile};

/// The `irt` subcommands.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: IrtCommand,
}

#[derive(Debug, clap::Subcommand)]
enum IrtCommand {
    /// Calibrate item parameters by marginal maximum likelihood (EM).
    Calibrate(calibrate::CalibrateArgs),
    /// Score respondents (ability estimates or plausible values).
    Score(ScoreArgs),
    /// Item fit: S-X2, infit and outfit of calibrated items.
    Fit(diagnostics::FitArgs),
    /// Item and test information over a range of abilities.
    Information(diagnostics::InformationArgs),
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

/// Score respondents under calibrated item parameters (any mix of item
/// models).
///
/// Items are matched to the response file's columns by name (other
/// columns are ignored). Writes `respondent_id,theta,se`, or with
/// `--method pv` `respondent_id,pv1,...,pvM`. Numbers are written to full
/// precision; an infinite MLE as `inf` / `-inf`; a respondent without
/// answers gets an empty theta under MLE and WLE (and an `inf` SE).
#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    input: ScoredArgs,
    /// Estimator.
    #[arg(long, value_enum)]
    method: Method,
    /// Plausible values per respondent (`--method pv`).
    #[arg(long, default_value_t = 5)]
    draws: usize,
    /// Random seed of the plausible values (same seed, same values).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Group column: score each respondent under their group's latent
    /// distribution (a multiple-group calibration's file; EAP, MAP and
    /// plausible values use it) [default: the reference group's for all].
    #[arg(long)]
    groups: Option<String>,
    /// Where to write the scores (CSV).
    #[arg(long)]
    out: PathBuf,
}

/// A parameter file and the responses to use it on (`irt score`, `irt fit`).
#[derive(Debug, clap::Args)]
pub struct ScoredArgs {
    /// Parameter file written by `literacy irt calibrate`.
    #[arg(long)]
    params: PathBuf,
    /// Response file (CSV or a spreadsheet) with respondent_id and the
    /// items' columns.
    #[arg(long)]
    responses: PathBuf,
    #[command(flatten)]
    read: crate::reading::ReadArgs,
}

/// Runs an `irt` subcommand.
pub fn run(args: &Args) -> anyhow::Result<()> {
    match &args.command {
        IrtCommand::Calibrate(a) => calibrate::run(a),
        IrtCommand::Score(a) => score(a),
        IrtCommand::Fit(a) => diagnostics::fit(a),
        IrtCommand::Information(a) => diagnostics::information(a),
    }
}

/// A calibration's parameters and the responses to use them on, read
/// together: what `irt score` and `irt fit` start from.
struct Scored {
    file: ParamsFile,
    items: Vec<ItemModel>,
    /// One grid per group of the file (the reference latent's alone
    /// without groups).
    grids: Vec<Grid>,
    names: Vec<String>,
    data: ResponseFile,
    /// Each respondent's group in the file's order, with `--groups`.
    groups: Option<Vec<usize>>,
}

impl Scored {
    /// Reads the parameter file, then the responses to its items (errors
    /// name the files); `group` names the response file's group column.
    fn read(args: &ScoredArgs, group: Option<&str>) -> anyhow::Result<Scored> {
        let (params, responses) = (args.params.as_path(), args.responses.as_path());
        let file = ParamsFile::read(params)?;
        let in_file = || format!("{}", params.display());
        let items = file.item_models().with_context(in_file)?;
        let grids = file.group_grids().with_context(in_file)?;
        let names: Vec<String> = file.items.iter().map(|i| i.id.clone()).collect();
        let categories = |item: &str| {
            let j = names.iter().position(|n| n == item)?;
            Some(items[j].n_categories())
        };
        let request = Request {
            items: ItemColumns::Named(&names),
            categories: &categories,
            weight: None,
            group,
        };
        let data = responses::read(responses, &request, &args.read.options())
            .with_context(|| format!("items of {}", params.display()))?;
        let groups = match (&data.groups, &file.groups) {
            (None, _) => None,
            (Some(_), None) => bail!(
                "--groups: {} was calibrated on one group; score without --groups",
                params.display()
            ),
            (Some(labels), Some(g)) => Some(group_indices(labels, g, params)?),
        };
        Ok(Scored {
            file,
            items,
            grids,
            names,
            data,
            groups,
        })
    }

    /// Every respondent's estimate, each under their group's latent.
    fn abilities(&self, method: AbilityMethod) -> anyhow::Result<Vec<Ability>> {
        let (groups, grids) = self.priors();
        Ok(irt::score_by_group(
            &self.items,
            &self.data.responses,
            &groups,
            grids,
            method,
        )?)
    }

    /// Each respondent's group and the groups' grids (one group, the
    /// reference latent's, without `--groups`).
    fn priors(&self) -> (Vec<usize>, &[Grid]) {
        match &self.groups {
            Some(groups) => (groups.clone(), &self.grids[..]),
            None => (vec![0; self.data.ids.len()], &self.grids[..1]),
        }
    }
}

/// Each respondent's group, by label, in the order of the file's groups.
fn group_indices(
    labels: &[String],
    groups: &params::Groups,
    params: &Path,
) -> anyhow::Result<Vec<usize>> {
    let mut unknown: Vec<&str> = Vec::new();
    let of = labels
        .iter()
        .map(|l| {
            groups
                .list
                .iter()
                .position(|g| g.label == *l)
                .unwrap_or_else(|| {
                    if !unknown.contains(&l.as_str()) {
                        unknown.push(l);
                    }
                    0
                })
        })
        .collect();
    if !unknown.is_empty() {
        bail!(
            "--groups: group(s) {} are not in {} (its groups: {})",
            unknown.join(", "),
            params.display(),
            groups
                .list
                .iter()
                .map(|g| g.label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(of)
}

fn score(args: &ScoreArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let scored = Scored::read(&args.input, args.groups.as_deref())?;
    let method = match args.method {
        Method::Eap => Some(AbilityMethod::Eap),
        Method::Map => Some(AbilityMethod::Map),
        Method::Mle => Some(AbilityMethod::Mle),
        Method::Wle => Some(AbilityMethod::Wle),
        Method::Pv => None,
    };
    let data = &scored.data;
    // Computed in full before the file is created: an error writes nothing.
    let mut text = Vec::with_capacity(data.ids.len() * 48);
    match method {
        Some(method) => {
            let scores = scored.abilities(method)?;
            writeln!(text, "{RESPONDENT_ID},theta,se")?;
            for (id, s) in data.ids.iter().zip(&scores) {
                writeln!(text, "{},{},{}", field(id), number(s.theta), number(s.se))?;
            }
        }
        None => {
            if args.draws == 0 {
                bail!("--draws must be at least 1");
            }
            let (groups, grids) = scored.priors();
            let pv = irt::plausible_values_by_group(
                &scored.items,
                &data.responses,
                &groups,
                grids,
                args.draws,
                args.seed,
            )?;
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

/// Names the item of a per-item error by its column.
fn name_items(e: IrtError, items: &[String]) -> anyhow::Error {
    let name = |j: usize| items.get(j).map_or("?", String::as_str).to_owned();
    match e {
        IrtError::Degenerate {
            item,
            right,
            answered,
        } => anyhow::anyhow!(
            "item {:?} has {right} right out of {answered} answers: its parameters are not \
             estimable (leave it out with --items)",
            name(item)
        ),
        IrtError::EmptyCategory { item, category } => anyhow::anyhow!(
            "item {:?}: nobody answered category {category}, so its step is not estimable \
             (recode the item's categories 0..K-1 without gaps, or leave it out with --items)",
            name(item)
        ),
        e => e.into(),
    }
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
