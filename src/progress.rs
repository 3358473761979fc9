//! Progress against the national targets for `literacy estimate`: the
//! targets due and next for the round's year, the change since an earlier
//! round's output, gaps between domains and how they changed, and the
//! projected year each target is reached.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use literacy_core::design::Design;
use literacy_core::estimate::{self, Contrast, Domains, Estimate, Options, Variance, plausible};
use literacy_core::progress::{self, Change, NationalSeries, PlanAssessment, Projection, Targets};
use serde::Serialize;

use crate::instrument_file;

/// Options of the progress report.
#[derive(Debug, clap::Args)]
pub struct ProgressArgs {
    /// The round's year: assess every estimate against the targets due and next.
    #[arg(long)]
    year: Option<i32>,
    /// Targets file [default: the national targets, surveys/targets.json,
    /// built in].
    #[arg(long)]
    targets: Option<PathBuf>,
    /// Published national series, for the projected year of each target
    /// [default: surveys/national-series.json, built in].
    #[arg(long)]
    series: Option<PathBuf>,
    /// An earlier round's `literacy estimate --format json` output: report
    /// the change of every estimate and gap found in both.
    #[arg(long)]
    previous: Option<PathBuf>,
    /// A gap to report, `VARIABLE:A-B` (domain A minus domain B, e.g.
    /// `urban_rural:1-2`) or `VARIABLE:*` (each category minus the nation).
    #[arg(long)]
    gap: Vec<String>,
}

/// Progress of one estimate.
#[derive(Debug, Serialize)]
pub struct EstimateProgress {
    /// The targets due and next, per plan, with the one-sided test.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    targets: Vec<PlanAssessment>,
    /// Change since the earlier round.
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<Change>,
    /// Projected year each target is reached (national estimate only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    projections: Vec<Projection>,
}

/// A gap between two domains (or a domain and the nation).
#[derive(Debug, Serialize)]
pub struct Gap {
    variable: String,
    a: String,
    b: String,
    #[serde(flatten)]
    contrast: Contrast,
    /// Rubin's parts, for plausible values.
    #[serde(flatten)]
    rubin: Option<plausible::Rubin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<Change>,
}

/// What the earlier round's output holds that we compare with.
#[derive(serde::Deserialize)]
struct Previous {
    estimates: Vec<PreviousEstimate>,
    #[serde(default)]
    gaps: Vec<PreviousGap>,
}

#[derive(serde::Deserialize)]
struct PreviousEstimate {
    domain: serde_json::Map<String, serde_json::Value>,
    estimate: Option<f64>,
    se: Option<f64>,
}

#[derive(serde::Deserialize)]
struct PreviousGap {
    variable: String,
    a: String,
    b: String,
    estimate: Option<f64>,
    se: Option<f64>,
    df: Option<f64>,
}

/// The file at `path` (its name and text), or the built-in `text` named
/// `name (built in)` when no path is given.
fn file_or_built_in(
    path: Option<&Path>,
    name: &str,
    text: &'static str,
) -> anyhow::Result<(String, String)> {
    match path {
        Some(path) => Ok((path.display().to_string(), read(path)?)),
        None => Ok((format!("{name} (built in)"), text.to_owned())),
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The parts of the report that need files, loaded once.
pub struct Report {
    year: Option<i32>,
    targets: Option<Targets>,
    series: Option<NationalSeries>,
    previous: Option<Previous>,
    gaps: Vec<(String, String, String)>,
    level: f64,
}

impl Report {
    /// Loads the files the options name.
    pub fn load(args: &ProgressArgs, level: f64) -> anyhow::Result<Report> {
        let (targets, series) = match args.year {
            Some(_) => {
                let (name, text) = file_or_built_in(
                    args.targets.as_deref(),
                    "targets.json",
                    instrument_file::TARGETS,
                )?;
                let targets = Targets::from_json(&name, &text)?;
                let (name, text) = file_or_built_in(
                    args.series.as_deref(),
                    "national-series.json",
                    instrument_file::NATIONAL_SERIES,
                )?;
                (
                    Some(targets),
                    Some(NationalSeries::from_json(&name, &text)?),
                )
            }
            None => (None, None),
        };
        let previous = match &args.previous {
            Some(path) => Some(serde_json::from_str::<Previous>(&read(path)?).with_context(
                || format!("{}: not a literacy estimate JSON output", path.display()),
            )?),
            None => None,
        };
        let gaps = args
            .gap
            .iter()
            .map(|g| {
                let parsed = g.split_once(':').and_then(|(var, pair)| {
                    if pair == "*" {
                        Some((var.to_owned(), "*".to_owned(), "nation".to_owned()))
                    } else {
                        pair.split_once('-')
                            .map(|(a, b)| (var.to_owned(), a.to_owned(), b.to_owned()))
                    }
                });
                match parsed {
                    Some(p) if !p.0.is_empty() && !p.1.is_empty() && !p.2.is_empty() => Ok(p),
                    _ => bail!("--gap {g:?}: expected VARIABLE:A-B or VARIABLE:*"),
                }
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Report {
            year: args.year,
            targets,
            series,
            previous,
            gaps,
            level,
        })
    }

    /// Progress of each estimate (in order).
    pub fn estimates(&self, estimates: &[Estimate]) -> Vec<Option<EstimateProgress>> {
        estimates
            .iter()
            .map(|e| {
                let targets = match (&self.targets, self.year) {
                    (Some(t), Some(year)) => t.assess(year, e.estimate, e.se, e.df, self.level),
                    _ => Vec::new(),
                };
                let change = self.previous.as_ref().and_then(|p| {
                    p.estimates
                        .iter()
                        .find(|prev| same_domain(&prev.domain, &e.domain))
                        .and_then(|prev| Some((prev.estimate?, prev.se?)))
                        .map(|earlier| progress::change((e.estimate, e.se), earlier, self.level))
                });
                let projections = match (&self.targets, &self.series, self.year) {
                    (Some(t), Some(s), Some(year)) if e.domain.is_empty() => t
                        .due(year)
                        .into_iter()
                        .chain(t.next(year))
                        .filter_map(|target| {
                            progress::project_with(
                                &s.pairs(),
                                (f64::from(year), e.estimate),
                                target.share,
                            )
                            .ok()
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let any = !targets.is_empty() || change.is_some() || !projections.is_empty();
                any.then_some(EstimateProgress {
                    targets,
                    change,
                    projections,
                })
            })
            .collect()
    }

    /// The gaps asked for, estimated on the same design and variance: of
    /// `ys[0]`, or with several outcomes (plausible values) of each, the
    /// draws' contrasts combined by Rubin's rules.
    pub fn gaps<'d>(
        &self,
        design: &Design,
        weights: &[f64],
        ys: &[&[f64]],
        column: &dyn Fn(&str) -> anyhow::Result<Vec<std::borrow::Cow<'d, str>>>,
        variance: Variance<'_>,
        options: &Options,
    ) -> anyhow::Result<Vec<Gap>> {
        if self.gaps.is_empty() {
            return Ok(Vec::new());
        }
        let df = design.degrees_of_freedom(weights, |_| true);
        let nation = estimate::estimate_each(
            design,
            weights,
            ys,
            &Domains::whole(design.n()),
            variance,
            options,
        )?;
        let mut out = Vec::new();
        for (variable, a, b) in &self.gaps {
            let labels = column(variable)?;
            let domains = Domains::crossing(std::slice::from_ref(variable), &[&labels[..]]);
            let by = estimate::estimate_each(design, weights, ys, &domains, variance, options)?;
            let find = |label: &str| {
                domains.find(&[label]).with_context(|| {
                    format!("--gap {variable}:{a}-{b}: no rows with {variable} = {label:?}")
                })
            };
            // Each gap's labels and its parts: a coefficient and a domain
            // (`None`: the nation).
            let pairs: Vec<GapParts> = if a == "*" {
                (0..domains.len())
                    .map(|d| {
                        (
                            domains.labels(d)[0].clone(),
                            "nation".to_owned(),
                            vec![(1.0, Some(d)), (-1.0, None)],
                        )
                    })
                    .collect()
            } else {
                vec![(
                    a.clone(),
                    b.clone(),
                    vec![(1.0, Some(find(a)?)), (-1.0, Some(find(b)?))],
                )]
            };
            for (a, b, spec) in pairs {
                let parts = |k: usize| -> Vec<(f64, &Estimate)> {
                    spec.iter()
                        .map(|&(c, d)| (c, d.map_or(&nation[k][0], |d| &by[k][d])))
                        .collect()
                };
                let (contrast, rubin) = if ys.len() == 1 {
                    let parts = parts(0);
                    let c = estimate::contrast(design, &parts, variance, df, self.level);
                    (c, None)
                } else {
                    let draws: Vec<_> = (0..ys.len()).map(parts).collect();
                    let c = plausible::contrast(design, &draws, variance, df, self.level)?;
                    (c.contrast, Some(c.rubin))
                };
                let change = self.previous.as_ref().and_then(|p| {
                    let prev = p
                        .gaps
                        .iter()
                        .find(|g| g.variable == *variable && g.a == a && g.b == b)?;
                    let earlier = Contrast {
                        estimate: prev.estimate?,
                        se: prev.se?,
                        ci_low: f64::NAN,
                        ci_high: f64::NAN,
                        df: prev.df.unwrap_or(f64::INFINITY),
                    };
                    Some(progress::gap_change(&contrast, &earlier, self.level))
                });
                out.push(Gap {
                    variable: variable.clone(),
                    a,
                    b,
                    contrast,
                    rubin,
                    change,
                });
            }
        }
        Ok(out)
    }
}

/// One gap's labels and its parts: a coefficient and a domain index
/// (`None`: the nation).
type GapParts = (String, String, Vec<(f64, Option<usize>)>);

fn same_domain(
    previous: &serde_json::Map<String, serde_json::Value>,
    domain: &[(String, String)],
) -> bool {
    previous.len() == domain.len()
        && domain
            .iter()
            .all(|(k, v)| previous.get(k).and_then(|p| p.as_str()) == Some(v.as_str()))
}
