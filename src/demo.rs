//! `literacy demo`: a newcomer's first run. Simulates a round's answers to
//! an instrument and scores them, so every step of the pipeline runs.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{instrument_file, score, simulate};

/// Simulate a round and score it.
///
/// Writes `answers.csv` and `scored.csv` to the output directory and prints
/// the counts by qualification. (`serve --demo` shows the same kind of
/// round through the service.)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instrument directory (holding instrument.json), file, or built-in id.
    #[arg(long, default_value = instrument_file::DEFAULT)]
    instrument: PathBuf,
    /// Number of simulated respondents.
    #[arg(long, default_value_t = 20_000)]
    respondents: usize,
    /// Random seed.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Output directory.
    #[arg(long, default_value = "target/demo")]
    out: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    simulate::run(&simulate::Args {
        instrument: Some(args.instrument.clone()),
        respondents: args.respondents,
        seed: args.seed,
        out: args.out.clone(),
        ..simulate::Args::default()
    })?;
    let scored = args.out.join("scored.csv");
    let code = score::run(&score::Args {
        instrument: args.instrument.clone(),
        responses: args.out.join("answers.csv"),
        out: scored.clone(),
        errors: None,
        theta_column: None,
        read: crate::reading::ReadArgs::default(),
        block: 65_536,
    })?;
    eprintln!("scores written to {}", scored.display());
    Ok(code)
}
