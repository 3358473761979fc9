//! `literacy estimate` on plausible values: one completed data set per
//! plausible-value column, each estimated with the design-based variance
//! the other flags choose, combined by Rubin's rules with Barnard-Rubin
//! degrees of freedom (`literacy_core::estimate::plausible`).
//!
//! The outcome of draw m is `1{pv_m >= cut}` with `--cut` (a value exactly
//! at the cut qualifies), or the instrument's `irt_cut` rule applied to
//! `pv_m` with `--instrument` (its cut, reporting scale and inclusiveness,
//! with the rule's 1e-9 tolerance at the cut);
//! without either, the plausible values themselves (a mean ability).

use std::path::PathBuf;

use anyhow::{Context, bail};
use literacy_core::design::Design;
use literacy_core::estimate::{
    Domains, Options, PlausibleEstimate, Variance, at_or_above, estimate_plausible,
};
use literacy_core::rule::RuleKind;
use serde::Serialize;

use crate::microdata::Table;

/// Plausible values instead of one outcome column.
#[derive(Debug, clap::Args)]
pub struct PvArgs {
    /// Plausible-value columns, comma-separated (e.g. `pv1,pv2,pv3,pv4,pv5`):
    /// the estimate is computed once per column and the results are
    /// combined by Rubin's rules (at least 2).
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["outcome", "pv_prefix"])]
    plausible_values: Vec<String>,
    /// Every column named PREFIX followed by a number (`pv` takes pv1..pvM),
    /// in numeric order, as the plausible values.
    #[arg(long, conflicts_with = "outcome")]
    pv_prefix: Option<String>,
    /// Cut on the plausible values' scale: each draw's outcome is 1 when
    /// the value is >= the cut, else 0 (a share above the cut).
    #[arg(long, conflicts_with = "outcome")]
    cut: Option<f64>,
    /// Instrument (directory or file) whose `irt_cut` rule is applied to
    /// every plausible value (its cut, reporting scale and inclusiveness).
    #[arg(long, conflicts_with_all = ["outcome", "cut"])]
    instrument: Option<PathBuf>,
}

/// What the output says about the plausible values.
#[derive(Debug, Serialize)]
pub struct PvMeta {
    /// The columns, one per draw.
    columns: Vec<String>,
    /// How a draw's outcome is formed.
    outcome: String,
    /// How the draws are combined.
    combination: &'static str,
}

/// The draws' outcomes, ready to estimate.
pub struct PvOutcomes {
    /// One outcome vector per draw.
    outcomes: Vec<Vec<f64>>,
    /// Whether the outcomes are 0/1 (a share).
    pub proportion: bool,
    /// For the output.
    pub meta: PvMeta,
}

impl PvArgs {
    /// The plausible values' outcomes, or `None` without `--plausible-values`
    /// or `--pv-prefix`.
    pub fn outcomes(&self, data: &Table) -> anyhow::Result<Option<PvOutcomes>> {
        let columns = match &self.pv_prefix {
            Some(prefix) => {
                let mut found: Vec<(u64, String)> = data
                    .headers
                    .iter()
                    .filter_map(|h| {
                        let rest = h.strip_prefix(prefix.as_str())?;
                        let k = rest.parse::<u64>().ok()?;
                        (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
                            .then(|| (k, h.clone()))
                    })
                    .collect();
                found.sort();
                found.into_iter().map(|(_, h)| h).collect()
            }
            None => self.plausible_values.clone(),
        };
        if columns.is_empty() {
            if self.pv_prefix.is_some() {
                bail!(
                    "{}: no column named {:?} followed by a number",
                    data.name,
                    self.pv_prefix.as_deref().unwrap_or_default()
                );
            }
            if self.cut.is_some() || self.instrument.is_some() {
                bail!("--cut and --instrument need --plausible-values or --pv-prefix");
            }
            return Ok(None);
        }
        if columns.len() < 2 {
            bail!(
                "{} plausible value column ({}): Rubin's rules need at least 2",
                columns.len(),
                columns.join(", ")
            );
        }
        let values = columns
            .iter()
            .map(|c| data.numbers(c))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (outcomes, outcome, proportion) = match (self.cut, &self.instrument) {
            (Some(cut), _) => {
                if !cut.is_finite() {
                    bail!("--cut {cut}: expected a finite number");
                }
                (
                    values.iter().map(|v| at_or_above(v, cut)).collect(),
                    format!("1 when the plausible value is >= {cut}, else 0"),
                    true,
                )
            }
            (None, Some(path)) => {
                let instrument = crate::instrument_file::load(path)?;
                let rule = &instrument.rule;
                let RuleKind::IrtCut { cut, scale } = &rule.kind else {
                    bail!(
                        "instrument {}: its qualification rule is not irt_cut",
                        instrument.id
                    );
                };
                let outcomes = values
                    .iter()
                    .zip(&columns)
                    .map(|(v, column)| {
                        v.iter()
                            .enumerate()
                            .map(|(row, &theta)| {
                                let q = rule.qualifies(&[], 0.0, Some(theta)).with_context(|| {
                                    format!(
                                        "{}: line {}, column {column}: no qualification for {theta}",
                                        data.name, data.lines[row]
                                    )
                                })?;
                                Ok(if q { 1.0 } else { 0.0 })
                            })
                            .collect::<anyhow::Result<Vec<f64>>>()
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let value = scale.map_or("the plausible value".to_owned(), |s| {
                    format!("{} + {} x the plausible value", s.intercept, s.slope)
                });
                let sign = if rule.inclusive { ">=" } else { ">" };
                (
                    outcomes,
                    format!(
                        "the irt_cut rule of {} {}: 1 when {value} {sign} {cut}, else 0",
                        instrument.id, instrument.version
                    ),
                    true,
                )
            }
            (None, None) => {
                let proportion = values
                    .iter()
                    .all(|v| v.iter().all(|&x| x == 0.0 || x == 1.0));
                (values, "the plausible value".to_owned(), proportion)
            }
        };
        Ok(Some(PvOutcomes {
            outcomes,
            proportion,
            meta: PvMeta {
                columns,
                outcome,
                combination: "Rubin's rules: T = W + (1 + 1/M) B; df by Barnard and Rubin (1999) with the design df of the domain as complete-data df",
            },
        }))
    }
}

impl PvOutcomes {
    /// The draws' outcomes.
    pub fn ys(&self) -> Vec<&[f64]> {
        self.outcomes.iter().map(Vec::as_slice).collect()
    }
}

/// Estimates every draw and combines them, per domain.
pub fn estimate(
    pv: &PvOutcomes,
    design: &Design,
    weights: &[f64],
    domains: &Domains,
    variance: Variance<'_>,
    options: &Options,
) -> anyhow::Result<Vec<PlausibleEstimate>> {
    Ok(estimate_plausible(
        design,
        weights,
        &pv.ys(),
        domains,
        variance,
        options,
    )?)
}

/// The Rubin columns appended to the CSV output.
pub fn csv_columns(estimates: &[PlausibleEstimate]) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "draws",
        "within",
        "between",
        "total_variance",
        "riv",
        "fmi",
        "complete_df",
        "rubin_df",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows = estimates
        .iter()
        .map(|e| {
            let mut row = vec![e.rubin.draws.to_string()];
            row.extend(
                [
                    e.rubin.within,
                    e.rubin.between,
                    e.rubin.total_variance,
                    e.rubin.riv,
                    e.rubin.fmi,
                    e.rubin.complete_df,
                    e.rubin.rubin_df,
                ]
                .map(|x| x.to_string()),
            );
            row
        })
        .collect();
    (header, rows)
}
