//! `literacy estimate` and `literacy weight`: weighting and design-based
//! estimation on exported microdata.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use literacy_core::design::{Design, Fpc, LonelyPsu};
use literacy_core::estimate::{
    self, Calibration, Domains, Estimate, IntervalMethod, Options, RakedReplicates, Statistic,
    Variance,
};
use literacy_core::variance::{ReplicateMethod, Replicates};
use literacy_core::weighting::{
    self, Margin, RakeOptions, TrimBounds, WeightReport, WeightingError,
};
use serde::Serialize;

use crate::microdata::{self, Table};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON document.
    Json,
    /// One CSV row per estimate.
    Csv,
}

/// What is estimated of the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatisticArg {
    /// The share of 1s (intervals for proportions).
    Share,
    /// The mean.
    Mean,
}

/// Variance method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceArg {
    /// Taylor linearization (adjusted for raking).
    Taylor,
    /// Delete-one-PSU jackknife, unstratified.
    Jk1,
    /// Delete-one-PSU jackknife within strata.
    Jkn,
    /// Rao-Wu rescaled bootstrap.
    Bootstrap,
    /// Balanced repeated replication.
    Brr,
    /// Fay's method.
    Fay,
}

/// Estimate a share (or mean) with design-based uncertainty.
///
/// Reads microdata with design columns, optionally rakes the weights to
/// population margins and trims them, and writes one estimate per domain
/// with n, weighted total, standard error, interval, design effect, CV,
/// effective n and the NCHS reliability verdict.
#[derive(Debug, clap::Args)]
pub struct EstimateArgs {
    #[command(flatten)]
    weighting: WeightingArgs,
    #[command(flatten)]
    design: DesignArgs,
    /// Outcome column.
    #[arg(long, required_unless_present_any = ["plausible_values", "pv_prefix"])]
    outcome: Option<String>,
    /// What to estimate of the outcome: a share (every value 0 or 1; any
    /// other value is an error naming its row) or a mean.
    #[arg(long, value_enum, default_value = "share")]
    statistic: StatisticArg,
    #[command(flatten)]
    pv: crate::estimate_pv::PvArgs,
    /// Domain columns, comma-separated: one estimate per cell of their crossing.
    #[arg(long, value_delimiter = ',')]
    by: Vec<String>,
    /// Variance method.
    #[arg(long, value_enum, default_value = "taylor")]
    variance: VarianceArg,
    #[command(flatten)]
    replicate: ReplicateArgs,
    /// Centre replicate variance on the full-sample estimate (R's mse = TRUE).
    #[arg(long)]
    mse: bool,
    /// Interval method for shares.
    #[arg(long, default_value = "logit")]
    ci: String,
    /// Confidence level.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    #[command(flatten)]
    progress: crate::progress::ProgressArgs,
}

/// Rake and trim survey weights.
///
/// Writes the rows with a `final_weight` column (and, with
/// `--replicate-method`, replicate weights `rep_1..rep_R` with the weighting
/// re-run on each) and prints the weighting report.
#[derive(Debug, clap::Args)]
pub struct WeightArgs {
    #[command(flatten)]
    weighting: WeightingArgs,
    #[command(flatten)]
    design: DesignArgs,
    /// Also write replicate weights made by this method.
    #[arg(long, value_enum)]
    replicate_method: Option<VarianceArg>,
    #[command(flatten)]
    replicate: ReplicateArgs,
    /// Where to write the rows with `final_weight`.
    #[arg(long)]
    out: PathBuf,
}

/// The sample design's columns and rule.
#[derive(Debug, clap::Args)]
struct DesignArgs {
    /// Stratum column.
    #[arg(long)]
    strata: Option<String>,
    /// PSU (cluster) column; without it every row is its own PSU.
    #[arg(long)]
    psu: Option<String>,
    /// Finite population correction column (population PSUs per stratum, or a fraction <= 1).
    #[arg(long)]
    fpc: Option<String>,
    /// Rule for strata with a single PSU.
    #[arg(long, default_value = "fail")]
    lonely_psu: String,
}

impl DesignArgs {
    fn build(&self, data: &Table) -> anyhow::Result<Design> {
        let lonely: LonelyPsu = self.lonely_psu.parse().map_err(anyhow::Error::msg)?;
        let strata = self.strata.as_deref().map(|c| data.text(c)).transpose()?;
        let psus = self.psu.as_deref().map(|c| data.text(c)).transpose()?;
        let fpc = self.fpc.as_deref().map(|c| data.numbers(c)).transpose()?;
        let fpc = match &fpc {
            None => Fpc::None,
            Some(v) if v.iter().all(|&x| x <= 1.0) => Fpc::Fraction(v),
            Some(v) => Fpc::PopulationPsus(v),
        };
        Design::new(data.rows(), strata.as_deref(), psus.as_deref(), fpc, lonely)
            .with_context(|| format!("{}: the design", data.name))
    }
}

/// Parameters of replicate methods.
#[derive(Debug, clap::Args)]
struct ReplicateArgs {
    /// Bootstrap replicates.
    #[arg(long, default_value_t = 100)]
    replicates: usize,
    /// Fay's rho.
    #[arg(long, default_value_t = 0.5)]
    fay_rho: f64,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl ReplicateArgs {
    /// The replicate method of a variance choice (`None` for Taylor).
    fn method(&self, variance: VarianceArg) -> Option<ReplicateMethod> {
        match variance {
            VarianceArg::Taylor => None,
            VarianceArg::Jk1 => Some(ReplicateMethod::Jk1),
            VarianceArg::Jkn => Some(ReplicateMethod::Jkn),
            VarianceArg::Bootstrap => Some(ReplicateMethod::Bootstrap {
                replicates: self.replicates,
                seed: self.seed,
            }),
            VarianceArg::Brr => Some(ReplicateMethod::Brr),
            VarianceArg::Fay => Some(ReplicateMethod::Fay { rho: self.fay_rho }),
        }
    }
}

/// What `estimate` and `weight` share.
#[derive(Debug, clap::Args)]
struct WeightingArgs {
    /// Microdata CSV.
    #[arg(long)]
    data: PathBuf,
    /// Weight column (design weights).
    #[arg(long)]
    weight: String,
    /// Population margin file (`<variable>,total`); repeat for several. With margins, weights are raked.
    #[arg(long)]
    margin: Vec<PathBuf>,
    /// Trim the weights to LOW:HIGH, redistributing the excess (after raking).
    #[arg(long)]
    trim: Option<String>,
    #[command(flatten)]
    read: crate::reading::ReadArgs,
}

/// Raking to 1e-13 of every margin: the weights' digits are real.
const RAKE_OPTIONS: RakeOptions = RakeOptions {
    max_iterations: 1000,
    tolerance: 1e-13,
    criterion: weighting::RakeCriterion::Margins,
};

/// The weighting steps, ready to run on the full sample and on replicates.
struct Steps {
    margins: Vec<Margin>,
    trim: Option<TrimBounds>,
}

impl Steps {
    fn new(args: &WeightingArgs, data: &Table) -> anyhow::Result<Steps> {
        let margins = args
            .margin
            .iter()
            .map(|path| {
                // Margin files are small text files: their sheet is not the data's.
                let options = literacy_table::Options {
                    sheet: None,
                    ..args.read.options()
                };
                microdata::margin(path, data, &options)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let trim = match &args.trim {
            None => None,
            Some(text) => {
                let parse = |s: &str| s.trim().parse::<f64>().ok().filter(|x| x.is_finite());
                match text.split_once(':').map(|(l, h)| (parse(l), parse(h))) {
                    Some((Some(lower), Some(upper))) if lower <= upper => {
                        Some(TrimBounds::Absolute { lower, upper })
                    }
                    _ => bail!("--trim {text:?}: expected LOW:HIGH with LOW <= HIGH"),
                }
            }
        };
        Ok(Steps { margins, trim })
    }

    /// Rakes then trims `weights`, reporting each step.
    fn run(&self, weights: &mut [f64]) -> Result<Vec<WeightReport>, WeightingError> {
        let mut reports = vec![weighting::summarize("design", weights, 0, true)];
        if !self.margins.is_empty() {
            reports.push(weighting::rake(weights, &self.margins, RAKE_OPTIONS)?);
        }
        if let Some(bounds) = self.trim {
            reports.push(weighting::trim(weights, bounds, true)?);
        }
        Ok(reports)
    }

    fn calibration(&self) -> Calibration<'_> {
        if self.margins.is_empty() {
            Calibration::None
        } else {
            Calibration::Raked(&self.margins)
        }
    }
}

/// An estimate (or a plausible-value estimate) with its progress against
/// the targets.
#[derive(Serialize)]
struct Row<'a, E: Serialize> {
    #[serde(flatten)]
    estimate: &'a E,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<crate::progress::EstimateProgress>,
}

#[derive(Serialize)]
struct Output<'a, E: Serialize> {
    estimates: Vec<Row<'a, E>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plausible_values: Option<&'a crate::estimate_pv::PvMeta>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gaps: Vec<crate::progress::Gap>,
    outcome: &'a str,
    statistic: &'static str,
    variance: VarianceArg,
    replicates: Option<usize>,
    mse: bool,
    ci: String,
    level: f64,
    lonely_psu: String,
    reliability_rule: &'static str,
    weighting: &'a [WeightReport],
}

/// Runs `literacy estimate`.
pub fn run_estimate(args: &EstimateArgs) -> anyhow::Result<()> {
    let data = Table::read(&args.weighting.data, &args.weighting.read.options())?;
    let base = data.weights(&args.weighting.weight)?;
    // Plausible values: one outcome per draw, combined by Rubin's rules.
    let pv = args.pv.outcomes(&data)?;
    let (y, proportion) = match (&pv, &args.outcome) {
        (Some(pv), _) => (Vec::new(), pv.proportion),
        (None, Some(column)) => match args.statistic {
            StatisticArg::Share => (data.zero_one(column)?, true),
            StatisticArg::Mean => (data.numbers(column)?, false),
        },
        (None, None) => bail!("give --outcome or --plausible-values"),
    };
    let interval: IntervalMethod = args.ci.parse().map_err(anyhow::Error::msg)?;
    if !(args.level > 0.0 && args.level < 1.0) {
        bail!(
            "--level {}: expected a confidence level between 0 and 1",
            args.level
        );
    }
    let design = args.design.build(&data)?;
    let domains = if args.by.is_empty() {
        Domains::whole(design.n())
    } else {
        let columns = args
            .by
            .iter()
            .map(|c| data.text(c))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let refs: Vec<&[std::borrow::Cow<'_, str>]> = columns.iter().map(Vec::as_slice).collect();
        Domains::crossing(&args.by, &refs)
    };

    let steps = Steps::new(&args.weighting, &data)?;
    let mut weights = base.clone();
    let reports = steps.run(&mut weights)?;
    let options = Options {
        statistic: Statistic::Mean,
        proportion,
        interval,
        level: args.level,
        ..Options::default()
    };
    let replicate_method = args.replicate.method(args.variance);
    let reweight = |w: &mut [f64]| steps.run(w).map(|_| ());
    let replicates = replicate_method
        .map(|m| Replicates::new(&design, m))
        .transpose()?;
    let variance = match &replicates {
        None => Variance::Taylor(steps.calibration()),
        // Raking alone: replicates are raked on cells (same numbers, fast).
        Some(replicates) if steps.trim.is_none() && !steps.margins.is_empty() => {
            Variance::RakedReplicate(RakedReplicates {
                replicates,
                mse: args.mse,
                margins: &steps.margins,
                options: RAKE_OPTIONS,
            })
        }
        Some(replicates) => Variance::Replicate {
            replicates,
            mse: args.mse,
            base_weights: &base,
            reweight: Some(&reweight),
        },
    };
    let report = crate::progress::Report::load(&args.progress, args.level)?;
    if let Some(pv) = pv {
        let combined =
            crate::estimate_pv::estimate(&pv, &design, &weights, &domains, variance, &options)?;
        let gaps = report.gaps(
            &design,
            &weights,
            &pv.ys(),
            &|c| data.text(c),
            variance,
            &options,
        )?;
        let estimates: Vec<Estimate> = combined.iter().map(|c| c.combined.clone()).collect();
        let progress = report.estimates(&estimates);
        let meta = Meta {
            args,
            outcome: "plausible values",
            proportion,
            interval,
            replicates: replicates.as_ref(),
            design: &design,
            reports: &reports,
        };
        return match args.format {
            Format::Json => write_json(&meta, &combined, progress, gaps, Some(&pv.meta)),
            Format::Csv => {
                let (header, extra) = crate::estimate_pv::csv_columns(&combined);
                write_csv(
                    &mut std::io::stdout().lock(),
                    &args.by,
                    &estimates,
                    &header,
                    &extra,
                )
            }
        };
    }
    let estimates = estimate::estimate(&design, &weights, &y, &domains, variance, &options)?;
    let gaps = report.gaps(
        &design,
        &weights,
        &[&y],
        &|c| data.text(c),
        variance,
        &options,
    )?;
    let progress = report.estimates(&estimates);
    let meta = Meta {
        args,
        outcome: args.outcome.as_deref().unwrap_or_default(),
        proportion,
        interval,
        replicates: replicates.as_ref(),
        design: &design,
        reports: &reports,
    };
    match args.format {
        Format::Json => write_json(&meta, &estimates, progress, gaps, None),
        Format::Csv => write_csv(
            &mut std::io::stdout().lock(),
            &args.by,
            &estimates,
            &[],
            &[],
        ),
    }
}

/// What the JSON output says about the run (shared by the one-outcome and
/// the plausible-value paths).
struct Meta<'a> {
    args: &'a EstimateArgs,
    outcome: &'a str,
    proportion: bool,
    interval: IntervalMethod,
    replicates: Option<&'a Replicates>,
    design: &'a Design,
    reports: &'a [WeightReport],
}

fn write_json<E: Serialize>(
    meta: &Meta<'_>,
    estimates: &[E],
    progress: Vec<Option<crate::progress::EstimateProgress>>,
    gaps: Vec<crate::progress::Gap>,
    plausible_values: Option<&crate::estimate_pv::PvMeta>,
) -> anyhow::Result<()> {
    let (args, proportion) = (meta.args, meta.proportion);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let output = Output {
        estimates: estimates
            .iter()
            .zip(progress)
            .map(|(estimate, progress)| Row { estimate, progress })
            .collect(),
        plausible_values,
        gaps,
        outcome: meta.outcome,
        statistic: if proportion { "share" } else { "mean" },
        variance: args.variance,
        replicates: meta.replicates.map(Replicates::len),
        mse: args.mse,
        ci: if proportion {
            meta.interval.to_string()
        } else {
            "wald".to_owned()
        },
        level: args.level,
        lonely_psu: meta.design.lonely().to_string(),
        reliability_rule: "NCHS Data Presentation Standards for Proportions (2017)",
        weighting: meta.reports,
    };
    serde_json::to_writer_pretty(&mut out, &output)?;
    writeln!(out)?;
    Ok(())
}

/// One row per estimate; `extra_header` names columns appended to every
/// row from `extra[row]`.
fn write_csv(
    out: &mut impl Write,
    by: &[String],
    estimates: &[Estimate],
    extra_header: &[String],
    extra: &[Vec<String>],
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = by.to_vec();
    header.extend(Estimate::CSV_FIELDS.map(str::to_owned));
    header.extend(extra_header.iter().cloned());
    w.write_record(&header)?;
    for (i, e) in estimates.iter().enumerate() {
        let mut row: Vec<String> = e.domain.iter().map(|(_, v)| v.clone()).collect();
        row.push(e.n.to_string());
        for x in [
            e.weighted_total,
            e.estimate,
            e.se,
            e.ci_low,
            e.ci_high,
            e.df,
            e.deff,
            e.cv,
            e.effective_n,
        ] {
            row.push(x.to_string());
        }
        row.push(e.suppressed.to_string());
        row.push(e.flagged.to_string());
        row.push(e.reliability.join("; "));
        if let Some(more) = extra.get(i) {
            row.extend(more.iter().cloned());
        }
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// Runs `literacy weight`.
pub fn run_weight(args: &WeightArgs) -> anyhow::Result<()> {
    let data = Table::read(&args.weighting.data, &args.weighting.read.options())?;
    let base = data.weights(&args.weighting.weight)?;
    let steps = Steps::new(&args.weighting, &data)?;
    let mut weights = base.clone();
    let reports = steps.run(&mut weights)?;
    let replicates = match args.replicate_method.and_then(|v| args.replicate.method(v)) {
        Some(method) => {
            let design = args.design.build(&data)?;
            let replicates = Replicates::new(&design, method)?;
            // One replicate's weights per column: multipliers, then the
            // weighting steps again.
            let columns = (0..replicates.len())
                .map(|r| {
                    let mut w = vec![0.0; design.n()];
                    replicates.weights_into(&design, &base, r, &mut w);
                    steps
                        .run(&mut w)
                        .map(|_| w)
                        .with_context(|| format!("replicate {}", r + 1))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Some((replicates, columns))
        }
        None => None,
    };
    let mut header = data.headers.clone();
    header.push("final_weight".to_owned());
    if let Some((_, columns)) = &replicates {
        header.extend((1..=columns.len()).map(|r| format!("rep_{r}")));
    }
    for added in &header[data.headers.len()..] {
        if data.headers.contains(added) {
            bail!("{}: already has a {added} column", data.name);
        }
    }
    let mut w = csv::Writer::from_path(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    w.write_record(&header)?;
    for row in 0..data.rows() {
        let mut fields: Vec<String> = data.row(row).map(str::to_owned).collect();
        fields.push(weights[row].to_string());
        if let Some((_, columns)) = &replicates {
            fields.extend(columns.iter().map(|c| c[row].to_string()));
        }
        w.write_record(&fields)?;
    }
    w.flush()?;
    #[derive(Serialize)]
    struct ReplicateReport<'a> {
        replicates: usize,
        scale: f64,
        rscales: &'a [f64],
    }
    #[derive(Serialize)]
    struct WeightOutput<'a> {
        weighting: &'a [WeightReport],
        #[serde(skip_serializing_if = "Option::is_none")]
        replicates: Option<ReplicateReport<'a>>,
    }
    let output = WeightOutput {
        weighting: &reports,
        replicates: replicates.as_ref().map(|(r, _)| ReplicateReport {
            replicates: r.len(),
            scale: r.scale(),
            rscales: r.rscales(),
        }),
    };
    serde_json::to_writer_pretty(std::io::stderr(), &output)?;
    eprintln!();
    Ok(())
}
