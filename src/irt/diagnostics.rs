//! `literacy irt fit` and `literacy irt information`: the item diagnostics
//! for the people who write items, right/wrong and partial credit alike.
//! Fit: Orlando-Thissen S-X2 (complete answer patterns, R mirt's collapsing
//! of sparse score groups; Kang and Chen's pooling for partial credit
//! items) and the infit and outfit mean squares at each respondent's EAP
//! ability.
//! Information: item and test information and the standard error of
//! ability over a range of abilities.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use literacy_core::irt::{
    self, AbilityMethod, ItemModel, ModelKind, SX2Options, information_table, theta_range,
};

use super::params::ParamsFile;
use super::{Scored, ScoredArgs, create, field, number};

/// Item fit of calibrated items on a response file.
///
/// Writes one row per item: `item,a,b,c,n,s_x2,df,p_value,rmsea,groups,
/// infit,infit_t,outfit,outfit_t` (`b`: a partial credit item's steps
/// joined by `;`). S-X2 (Kang and Chen's for partial credit items) uses
/// respondents who answered every item (`complete` is printed); infit and
/// outfit use every answer (its category as the score), at the
/// respondent's EAP ability. A p-value is empty when the degrees of freedom
/// left after pooling are not positive.
#[derive(Debug, clap::Args)]
pub struct FitArgs {
    #[command(flatten)]
    input: ScoredArgs,
    /// Smallest expected count of a score group before it is merged with a
    /// neighbour (mirt's `mincell`).
    #[arg(long, default_value_t = 1.0)]
    min_expected: f64,
    /// Where to write the fit table (CSV).
    #[arg(long)]
    out: PathBuf,
}

/// Item and test information of calibrated items.
///
/// Writes one row per ability: `theta,<item>...,total,se`.
#[derive(Debug, clap::Args)]
pub struct InformationArgs {
    /// Parameter file written by `literacy irt calibrate`.
    #[arg(long)]
    params: PathBuf,
    /// Lowest ability.
    #[arg(long, default_value_t = -4.0, allow_negative_numbers = true)]
    from: f64,
    /// Highest ability.
    #[arg(long, default_value_t = 4.0, allow_negative_numbers = true)]
    to: f64,
    /// Abilities, equally spaced.
    #[arg(long, default_value_t = 81)]
    points: usize,
    /// Where to write the table (CSV).
    #[arg(long)]
    out: PathBuf,
}

/// Runs `literacy irt fit`.
pub fn fit(args: &FitArgs) -> anyhow::Result<()> {
    let scored = Scored::read(&args.input, None)?;
    let responses = &scored.data.responses;
    // A file's items each name their model ("mixed" is refused on reading).
    let kinds = scored
        .file
        .items
        .iter()
        .map(|i| {
            i.model
                .kind()
                .with_context(|| format!("item {:?}: no item model", i.id))
        })
        .collect::<anyhow::Result<Vec<ModelKind>>>()?;
    let mut options = SX2Options::for_kinds(&kinds, responses.categories());
    options.min_expected = args.min_expected;
    let items = &scored.items;
    let sx2 = irt::s_x2(items, responses, &scored.grids[0], &options)?;
    let thetas: Vec<f64> = scored
        .abilities(AbilityMethod::Eap)?
        .iter()
        .map(|a| a.theta)
        .collect();
    let ms = irt::mean_square_fit(items, responses, &thetas)?;
    let mut text = Vec::new();
    writeln!(
        text,
        "item,a,b,c,n,s_x2,df,p_value,rmsea,groups,infit,infit_t,outfit,outfit_t"
    )?;
    for (((name, item), s), m) in scored.names.iter().zip(items).zip(&sx2.items).zip(&ms) {
        let p_value = if s.df > 0 {
            number(s.p_value)
        } else {
            String::new()
        };
        let steps: Vec<String> = item.steps().into_iter().map(number).collect();
        let c = match item {
            ItemModel::Dichotomous(p) => p.c,
            ItemModel::Gpcm { .. } => 0.0,
        };
        writeln!(
            text,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            field(name),
            number(item.slope()),
            steps.join(";"),
            number(c),
            m.n,
            number(s.statistic),
            s.df,
            p_value,
            number(s.rmsea),
            s.groups,
            number(m.infit),
            number(m.infit_t),
            number(m.outfit),
            number(m.outfit_t)
        )?;
    }
    let mut out = create(&args.out)?;
    out.write_all(&text)?;
    out.flush()
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let misfits = sx2
        .items
        .iter()
        .filter(|s| s.df > 0 && s.p_value < 0.01)
        .count();
    eprintln!(
        "{} items: S-X2 on {} complete respondents ({misfits} with p < 0.01); infit/outfit on {} respondents",
        items.len(),
        sx2.complete,
        scored.data.ids.len()
    );
    Ok(())
}

/// Runs `literacy irt information`.
pub fn information(args: &InformationArgs) -> anyhow::Result<()> {
    let file = ParamsFile::read(&args.params)?;
    let items = file
        .item_models()
        .with_context(|| format!("{}", args.params.display()))?;
    let thetas = theta_range(args.from, args.to, args.points)
        .context("--from, --to and --points: at least 2 points on a finite range")?;
    let rows = information_table(&items, &thetas)?;
    let mut text = Vec::new();
    write!(text, "theta")?;
    for item in &file.items {
        write!(text, ",{}", field(&item.id))?;
    }
    writeln!(text, ",total,se")?;
    for row in &rows {
        write!(text, "{}", number(row.theta))?;
        for x in &row.items {
            write!(text, ",{}", number(*x))?;
        }
        writeln!(text, ",{},{}", number(row.total), number(row.se))?;
    }
    let mut out = create(&args.out)?;
    out.write_all(&text)?;
    out.flush()
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    Ok(())
}
