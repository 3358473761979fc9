//! `literacy simulate`: synthetic answers to an instrument, in the format
//! `literacy score` reads.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::Context;
use literacy_sim::answers::{self, AnswerModel};

use crate::instrument_file;

/// Generate synthetic answers.
///
/// Writes `answers.csv` in the output directory: `respondent_id` and one
/// column per item, drawn from a two-parameter logistic model with standard
/// normal abilities. Deterministic for a seed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instrument directory (holding instrument.json) or file.
    #[arg(long, default_value = "surveys/csl-2026")]
    pub instrument: PathBuf,
    /// Number of respondents.
    #[arg(long, default_value_t = 1000)]
    pub respondents: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory (created if needed).
    #[arg(long)]
    pub out: PathBuf,
}

/// Respondents generated and written per block, bounding memory.
const BLOCK: usize = 100_000;

pub fn run(args: &Args) -> anyhow::Result<()> {
    let instrument = instrument_file::load(&args.instrument)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let path = args.out.join("answers.csv");
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file));
    let mut header = vec!["respondent_id".to_owned()];
    header.extend(instrument.items.iter().map(|i| i.id.clone()));
    writer.write_record(&header)?;

    // Every cell's answer text, decoded once.
    let texts: Vec<Vec<String>> = instrument
        .items
        .iter()
        .map(|item| {
            (0..item.cell_count())
                .map(|c| item.decode(u16::try_from(c).unwrap_or(u16::MAX)))
                .collect()
        })
        .collect();
    let model = AnswerModel::for_instrument(&instrument, args.seed);
    let n_items = instrument.items.len();
    let mut start = 0;
    while start < args.respondents {
        let len = BLOCK.min(args.respondents - start);
        let block_seed = args.seed.wrapping_add(start as u64);
        let thetas = answers::standard_normal(len, block_seed);
        let cells = answers::generate(&instrument, &model, &thetas, block_seed);
        let mut record = csv::StringRecord::new();
        for r in 0..len {
            record.clear();
            record.push_field(&format!("R{:07}", start + r + 1));
            for (i, text) in texts.iter().enumerate() {
                record.push_field(&text[usize::from(cells[r * n_items + i])]);
            }
            writer.write_record(&record)?;
        }
        start += len;
    }
    writer.flush()?;
    eprintln!(
        "wrote {} respondents to {}",
        args.respondents,
        path.display()
    );
    Ok(())
}
