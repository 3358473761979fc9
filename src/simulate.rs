//! `literacy simulate`: a synthetic national round with known truth (see
//! the `literacy-sim` crate for the population, the design and the
//! answer model).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use literacy_sim::NationalModel;
use literacy_sim::output::MARGIN_VARIABLES;
use literacy_sim::structure::{Census, Structure};

use crate::instrument_file;

/// Simulate a national round with known truth.
///
/// Draws a stratified multistage sample (province x urban/rural strata,
/// PSUs by PPS, households, one adult each, nonresponse, three modes) from
/// a synthetic population calibrated to a published structure, answers
/// the instrument from an item response model and scores it. Writes to the
/// output directory: `answers.csv` (the format of `literacy score`, with
/// the demographics and the mode), `microdata.csv` (design, weights,
/// groups, theta, score), `margin_<variable>.csv` (population totals for
/// raking: province, urban_rural, sex, age_group, education), `truth.csv`
/// (the true population share qualified of every domain), `items.csv`
/// (item parameters), `strata.csv` (the fieldwork by stratum), and with
/// `--paper-batches`, `batches/province-<code>.csv` with keying errors
/// listed in `batches/manifest.csv`. Deterministic for a seed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instrument directory (holding instrument.json), file, or built-in id
    /// [default: the built-in csl-2026].
    #[arg(long)]
    pub instrument: Option<PathBuf>,
    /// Number of respondents (completed interviews).
    #[arg(long, default_value_t = 1000)]
    pub respondents: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory (created if needed).
    #[arg(long)]
    pub out: PathBuf,
    /// Structure file: published targets and the simulation's assumptions
    /// [default: the 2023 round, surveys/structure-2023.json, built in].
    #[arg(long)]
    pub structure: Option<PathBuf>,
    /// Also write provincial paper batches with keying errors.
    #[arg(long)]
    pub paper_batches: bool,
    /// Put before every respondent id [default: `S<seed>-`, so rounds
    /// simulated with other seeds, and the demo round, never share an id];
    /// `--id-prefix ''` for none.
    #[arg(long)]
    pub id_prefix: Option<String>,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            instrument: None,
            respondents: 1000,
            seed: 1,
            out: PathBuf::new(),
            structure: None,
            paper_batches: false,
            id_prefix: None,
        }
    }
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// Writes one output file through `write`.
fn write_file(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut w = create(path)?;
    write(&mut w).with_context(|| format!("cannot write {}", path.display()))?;
    w.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let instrument = instrument_file::load_or_default(args.instrument.as_deref())?;
    let structure = match &args.structure {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the structure {}", path.display()))?;
            Structure::from_json(&path.display().to_string(), &text)?
        }
        None => Structure::embedded_2023()?,
    };
    let model = NationalModel::new(&instrument, &structure, &Census::embedded()?)?;
    let calibration = &model.population().calibration;
    if !calibration.converged || calibration.max_error_points > 0.3 {
        eprintln!(
            "warning: the population calibrated to {} misses a published share by {:.3} points ({} iterations{})",
            structure.id,
            calibration.max_error_points,
            calibration.iterations,
            if calibration.converged {
                ""
            } else {
                ", not converged"
            }
        );
    }
    let mut round = model.simulate(args.respondents, args.seed)?;
    round.id_prefix = match &args.id_prefix {
        Some(prefix) => check_id_prefix(prefix)?.to_owned(),
        None => format!("S{}-", args.seed),
    };

    let out = &args.out;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_file(&out.join("answers.csv"), |w| model.write_answers(&round, w))?;
    write_file(&out.join("microdata.csv"), |w| {
        model.write_microdata(&round, w)
    })?;
    for variable in MARGIN_VARIABLES {
        let name = format!("margin_{}.csv", variable.name());
        write_file(&out.join(name), |w| model.write_margin(variable, w))?;
    }
    write_file(&out.join("truth.csv"), |w| model.write_truth(w))?;
    write_file(&out.join("items.csv"), |w| model.write_items(w))?;
    write_file(&out.join("strata.csv"), |w| model.write_strata(&round, w))?;
    if args.paper_batches {
        let dir = out.join("batches");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let batches = model.paper_batches(&round);
        for (name, text) in &batches.files {
            write_file(&dir.join(name), |w| w.write_all(text.as_bytes()))?;
        }
        write_file(&dir.join("manifest.csv"), |w| {
            w.write_all(batches.manifest().as_bytes())
        })?;
        eprintln!(
            "{} paper batches with {} keying errors in {}",
            batches.files.len(),
            batches.errors.len(),
            dir.display()
        );
    }
    let summary = round.scores.summary();
    eprintln!(
        "{} respondents in {} strata and {} PSUs written to {} in {:.2} s; true national share qualified {:.2}% (target {:.2}%), {} of the sample qualified",
        args.respondents,
        round.sample.strata.len(),
        round.sample.respondents.last().map_or(0, |r| r.psu),
        out.display(),
        started.elapsed().as_secs_f64(),
        100.0 * model.population().share_of(|_| true),
        structure.qualified_percent.national,
        summary.qualified,
    );
    Ok(())
}

/// A prefix keeps respondent ids one plain CSV field: letters, digits,
/// `-`, `_` and `.`, at most 32 characters.
fn check_id_prefix(prefix: &str) -> anyhow::Result<&str> {
    let plain = prefix
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain && prefix.chars().count() <= 32 {
        Ok(prefix)
    } else {
        anyhow::bail!("--id-prefix {prefix:?}: use at most 32 letters, digits, '-', '_' or '.'")
    }
}
