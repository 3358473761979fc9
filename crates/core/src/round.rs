//! The estimates of a collection round from its stored responses: score
//! every respondent under the instrument's rule, weight (design weight,
//! then raking to the round's population margins), and estimate the
//! qualified share by domain with the design-based variance. This is what
//! the service serves; the arithmetic is the tested core, never SQL.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Instrument;
use crate::demographics::{self, Region};
use crate::design::{Design, Fpc, LonelyPsu};
use crate::estimate::{
    self, Domains, Estimate, IntervalMethod, Options, RakedReplicates, Variance,
};
use crate::matrix::ResponseMatrix;
use crate::variance::{ReplicateMethod, Replicates};
use crate::weighting::{self, Margin, RakeCriterion, RakeOptions, WeightReport};

/// Largest number of replicates a request may cost (a delete-one jackknife
/// of a sample without PSUs would have one per respondent).
pub const MAX_REPLICATES: usize = 5_000;

/// Raking to 1e-13 of every margin: the weights' digits are real.
const RAKE: RakeOptions = RakeOptions {
    max_iterations: 1000,
    tolerance: 1e-13,
    criterion: RakeCriterion::Margins,
};

/// One stored respondent, as the estimation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Respondent {
    /// GB/T 2260 province code.
    pub province: u16,
    /// 1 urban, 2 rural.
    pub urban_rural: u16,
    /// 1 male, 2 female.
    pub sex: u16,
    /// Four-digit birth year.
    pub birth_year: u16,
    /// Education code 1-5.
    pub education: u16,
    /// Occupation code 1-9.
    pub occupation: u16,
    /// Collection mode (`online`, `paper`, `tablet`).
    pub mode: String,
    /// Design stratum, when the sample has one (default: the province).
    pub stratum: Option<String>,
    /// Primary sampling unit, when the sample has one (default: the respondent).
    pub psu: Option<String>,
    /// Design (base) weight, when known (default 1).
    pub weight: Option<f64>,
}

/// A variable estimates can be broken down by, and margins given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variable {
    /// Province code.
    Province,
    /// Region (east, central, west, northeast).
    Region,
    /// Urban (1) or rural (2).
    UrbanRural,
    /// Sex code.
    Sex,
    /// Age group 1-5 (18-29, ..., 60-69).
    AgeGroup,
    /// Education code.
    Education,
    /// Occupation code.
    Occupation,
    /// Collection mode.
    Mode,
}

impl Variable {
    /// Every variable, in the usual order.
    pub const ALL: [Variable; 8] = [
        Variable::Province,
        Variable::Region,
        Variable::UrbanRural,
        Variable::Sex,
        Variable::AgeGroup,
        Variable::Education,
        Variable::Occupation,
        Variable::Mode,
    ];

    /// The name used in queries, margins and outputs.
    pub fn name(self) -> &'static str {
        match self {
            Variable::Province => "province",
            Variable::Region => "region",
            Variable::UrbanRural => "urban_rural",
            Variable::Sex => "sex",
            Variable::AgeGroup => "age_group",
            Variable::Education => "education",
            Variable::Occupation => "occupation",
            Variable::Mode => "mode",
        }
    }

    /// The variable of a name.
    pub fn parse(name: &str) -> Result<Variable, RoundEstimateError> {
        Self::ALL
            .into_iter()
            .find(|v| v.name() == name.trim())
            .ok_or_else(|| RoundEstimateError::UnknownVariable(name.to_owned()))
    }

    /// A respondent's label for this variable.
    fn label(self, r: &Respondent, fieldwork_year: i32) -> String {
        match self {
            Variable::Province => r.province.to_string(),
            Variable::Region => demographics::province(r.province)
                .map_or("unknown", |p| region_name(p.region4))
                .to_owned(),
            Variable::UrbanRural => r.urban_rural.to_string(),
            Variable::Sex => r.sex.to_string(),
            Variable::AgeGroup => demographics::age_group(fieldwork_year - i32::from(r.birth_year))
                .map_or_else(|| "out_of_range".to_owned(), |g| g.to_string()),
            Variable::Education => r.education.to_string(),
            Variable::Occupation => r.occupation.to_string(),
            Variable::Mode => r.mode.clone(),
        }
    }
}

fn region_name(region: Region) -> &'static str {
    match region {
        Region::East => "east",
        Region::Central => "central",
        Region::West => "west",
        Region::Northeast => "northeast",
    }
}

/// Population totals by category, per variable: the round's margins.
pub type PopulationMargins = BTreeMap<Variable, BTreeMap<String, f64>>;

/// The variance method of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceChoice {
    /// Taylor linearization, accounting for the raking.
    Taylor,
    /// Delete-one-PSU jackknife within strata, raking repeated per replicate.
    Jkn,
    /// Rao-Wu bootstrap (200 replicates, fixed seed), raking repeated per replicate.
    Bootstrap,
}

impl VarianceChoice {
    /// Parses `taylor`, `jkn` or `bootstrap`.
    pub fn parse(s: &str) -> Result<Self, RoundEstimateError> {
        match s.trim() {
            "taylor" => Ok(Self::Taylor),
            "jkn" => Ok(Self::Jkn),
            "bootstrap" => Ok(Self::Bootstrap),
            other => Err(RoundEstimateError::Query(format!(
                "variance {other:?}: expected taylor, jkn or bootstrap"
            ))),
        }
    }
}

/// Replicates of the bootstrap choice.
pub const BOOTSTRAP_REPLICATES: usize = 200;
/// Seed of the bootstrap choice: the same request gives the same numbers.
pub const BOOTSTRAP_SEED: u64 = 2026;

/// What to estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Crossing of these variables (empty: the whole population).
    pub by: Vec<Variable>,
    /// Variance method.
    pub variance: VarianceChoice,
    /// Interval method.
    pub interval: IntervalMethod,
    /// Confidence level.
    pub level: f64,
}

/// Why a round cannot be estimated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RoundEstimateError {
    /// A breakdown variable that does not exist.
    #[error(
        "unknown variable {0:?}: expected one of province, region, urban_rural, sex, age_group, education, occupation, mode"
    )]
    UnknownVariable(String),
    /// A malformed query.
    #[error("{0}")]
    Query(String),
    /// The answers do not fit the instrument.
    #[error("answers: {0}")]
    Answers(String),
    /// Nobody could be classified.
    #[error("no respondent of the round can be classified yet")]
    NoneClassified,
    /// A respondent's design weight is not a positive number.
    #[error("respondent {row}: design weight {weight} is not positive")]
    Weight {
        /// Row index.
        row: usize,
        /// The weight.
        weight: f64,
    },
    /// The weighting failed (a margin category without respondents, ...).
    #[error("weighting: {0}")]
    Weighting(String),
    /// The design or the estimation failed.
    #[error("estimation: {0}")]
    Estimation(String),
}

/// The estimates of a round.
#[derive(Debug, Clone, Serialize)]
pub struct RoundEstimates {
    /// One per domain.
    pub estimates: Vec<Estimate>,
    /// Respondents stored.
    pub respondents: usize,
    /// Respondents classified (those who could be scored under the rule).
    pub classified: usize,
    /// What each weighting step did.
    pub weighting: Vec<WeightReport>,
    /// Replicates used (replicate variances only).
    pub replicates: Option<usize>,
    /// What a reader of the estimates should know about the data behind
    /// them (for example design weights given for some respondents only).
    pub warnings: Vec<Warning>,
}

/// Something a reader of a round's estimates should know, in English and
/// Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// What it is about, stable for programs: `partial_design_weights`.
    pub code: &'static str,
    /// The warning in English.
    pub message: String,
    /// The same in Chinese.
    pub message_zh: String,
}

/// Scores, weights and estimates a round: row `i` of `matrix` is
/// `respondents[i]`. Respondents the rule cannot classify (too
/// many missing answers) are left out of the estimation, as unit
/// nonrespondents; the raking then carries the population totals.
pub fn estimate_round(
    instrument: &Instrument,
    matrix: &ResponseMatrix,
    respondents: &[Respondent],
    margins: &PopulationMargins,
    query: &Query,
) -> Result<RoundEstimates, RoundEstimateError> {
    if !(query.level > 0.0 && query.level < 1.0) {
        return Err(RoundEstimateError::Query(format!(
            "level {}: expected a confidence level between 0 and 1",
            query.level
        )));
    }
    if let Some((row, weight)) = respondents.iter().enumerate().find_map(|(r, p)| {
        p.weight
            .filter(|w| !(w.is_finite() && *w > 0.0))
            .map(|w| (r, w))
    }) {
        return Err(RoundEstimateError::Weight { row, weight });
    }
    if matrix.n_rows() != respondents.len() {
        return Err(RoundEstimateError::Answers(format!(
            "{} answer rows for {} respondents",
            matrix.n_rows(),
            respondents.len()
        )));
    }
    let scores = crate::score(instrument, matrix, None)
        .map_err(|e| RoundEstimateError::Answers(e.to_string()))?;
    let kept: Vec<usize> = (0..respondents.len())
        .filter(|&r| scores.get(r).qualified.is_some())
        .collect();
    if kept.is_empty() {
        return Err(RoundEstimateError::NoneClassified);
    }
    let y: Vec<f64> = kept
        .iter()
        .map(|&r| f64::from(u8::from(scores.get(r).qualified == Some(true))))
        .collect();
    let year = instrument.fieldwork_year;
    let design = sample_design(respondents, &kept)?;
    let base = base_weights(respondents, &kept);
    let raking = raking_margins(margins, respondents, &kept, year)?;
    let mut weights = base.clone();
    let mut reports = vec![weighting::summarize("design", &weights, 0, true)];
    if !raking.is_empty() {
        reports.push(
            weighting::rake(&mut weights, &raking, RAKE)
                .map_err(|e| RoundEstimateError::Weighting(e.to_string()))?,
        );
    }
    let by_names: Vec<String> = query.by.iter().map(|v| v.name().to_owned()).collect();
    let domains = if query.by.is_empty() {
        Domains::whole(kept.len())
    } else {
        let columns: Vec<Vec<String>> = query
            .by
            .iter()
            .map(|v| {
                kept.iter()
                    .map(|&r| v.label(&respondents[r], year))
                    .collect()
            })
            .collect();
        let refs: Vec<&[String]> = columns.iter().map(Vec::as_slice).collect();
        Domains::crossing(&by_names, &refs)
    };
    let options = Options {
        interval: query.interval,
        level: query.level,
        ..Options::default()
    };
    let method = match query.variance {
        VarianceChoice::Taylor => None,
        VarianceChoice::Jkn => Some(ReplicateMethod::Jkn),
        VarianceChoice::Bootstrap => Some(ReplicateMethod::Bootstrap {
            replicates: BOOTSTRAP_REPLICATES,
            seed: BOOTSTRAP_SEED,
        }),
    };
    if method == Some(ReplicateMethod::Jkn) && design.n_psus() > MAX_REPLICATES {
        return Err(RoundEstimateError::Query(format!(
            "a delete-one jackknife of {} PSUs would need as many replicates (at most {MAX_REPLICATES}); use taylor or bootstrap",
            design.n_psus()
        )));
    }
    let replicates = method
        .map(|m| Replicates::new(&design, m))
        .transpose()
        .map_err(|e| RoundEstimateError::Estimation(e.to_string()))?;
    let calibration = if raking.is_empty() {
        estimate::Calibration::None
    } else {
        estimate::Calibration::Raked(&raking)
    };
    let no_reweight = |_: &mut [f64]| Ok::<(), weighting::WeightingError>(());
    let variance = match &replicates {
        None => Variance::Taylor(calibration),
        Some(replicates) if !raking.is_empty() => Variance::RakedReplicate(RakedReplicates {
            replicates,
            mse: false,
            margins: &raking,
            options: RAKE,
        }),
        Some(replicates) => Variance::Replicate {
            replicates,
            mse: false,
            base_weights: &base,
            reweight: Some(&no_reweight),
        },
    };
    let estimates = estimate::estimate(&design, &weights, &y, &domains, variance, &options)
        .map_err(|e| RoundEstimateError::Estimation(e.to_string()))?;
    Ok(RoundEstimates {
        estimates,
        respondents: respondents.len(),
        classified: kept.len(),
        weighting: reports,
        replicates: replicates.as_ref().map(Replicates::len),
        warnings: partial_design_weights(respondents, &kept)
            .into_iter()
            .collect(),
    })
}

/// A warning when some of the classified respondents in `rows` carry a
/// design weight and others do not: those are weighted 1 before raking,
/// so the two groups' weights are not on one scale (raking adjusts
/// totals by margin cells, not the ratio between the groups).
fn partial_design_weights(respondents: &[Respondent], rows: &[usize]) -> Option<Warning> {
    let with = rows
        .iter()
        .filter(|&&r| respondents[r].weight.is_some())
        .count();
    let (without, all) = (rows.len() - with, rows.len());
    (with > 0 && without > 0).then(|| Warning {
        code: "partial_design_weights",
        message: format!(
            "{without} of {all} classified respondents have no design weight and were weighted 1 before raking, while the other {with} carry their design weights: the two groups' weights are not on one scale"
        ),
        message_zh: format!(
            "在 {all} 名可判定的受访者中，{without} 名没有设计权数，加权调整前按 1 计，其余 {with} 名带有设计权数：两组的权数不在同一尺度上"
        ),
    })
}

/// Each respondent's score, qualified flag and final weight, for a
/// microdata export: row `i` is `respondents[i]`.
#[derive(Debug, Clone, Serialize)]
pub struct RoundWeights {
    /// The 0-100 total, where the respondent could be scored.
    pub total: Vec<Option<f64>>,
    /// The qualified flag, where the respondent could be classified.
    pub qualified: Vec<Option<bool>>,
    /// The final (raked) weight of a classified respondent; `None` for the
    /// others, who are left out of the estimation as unit nonrespondents.
    pub weight: Vec<Option<f64>>,
    /// What each weighting step did.
    pub weighting: Vec<WeightReport>,
}

/// Scores and weights a round exactly as [`estimate_round`] does (design
/// weight, then raking of the classified respondents to the margins).
pub fn final_weights(
    instrument: &Instrument,
    matrix: &ResponseMatrix,
    respondents: &[Respondent],
    margins: &PopulationMargins,
) -> Result<RoundWeights, RoundEstimateError> {
    if matrix.n_rows() != respondents.len() {
        return Err(RoundEstimateError::Answers(format!(
            "{} answer rows for {} respondents",
            matrix.n_rows(),
            respondents.len()
        )));
    }
    if let Some((row, weight)) = respondents.iter().enumerate().find_map(|(r, p)| {
        p.weight
            .filter(|w| !(w.is_finite() && *w > 0.0))
            .map(|w| (r, w))
    }) {
        return Err(RoundEstimateError::Weight { row, weight });
    }
    let scores = crate::score(instrument, matrix, None)
        .map_err(|e| RoundEstimateError::Answers(e.to_string()))?;
    let n = respondents.len();
    let total: Vec<Option<f64>> = (0..n).map(|r| scores.get(r).total).collect();
    let qualified: Vec<Option<bool>> = (0..n).map(|r| scores.get(r).qualified).collect();
    let kept: Vec<usize> = (0..n).filter(|&r| qualified[r].is_some()).collect();
    if kept.is_empty() {
        return Err(RoundEstimateError::NoneClassified);
    }
    let year = instrument.fieldwork_year;
    let mut weights = base_weights(respondents, &kept);
    let raking = raking_margins(margins, respondents, &kept, year)?;
    let mut reports = vec![weighting::summarize("design", &weights, 0, true)];
    if !raking.is_empty() {
        reports.push(
            weighting::rake(&mut weights, &raking, RAKE)
                .map_err(|e| RoundEstimateError::Weighting(e.to_string()))?,
        );
    }
    let mut weight = vec![None; n];
    for (&r, &w) in kept.iter().zip(&weights) {
        weight[r] = Some(w);
    }
    Ok(RoundWeights {
        total,
        qualified,
        weight,
        weighting: reports,
    })
}

/// Replicate weights of a round's classified respondents, each replicate
/// re-raked to the margins (the weighting repeated on every replicate).
#[derive(Debug, Clone)]
pub struct ReplicateWeights {
    /// Rows (indices into the respondents) that have weights: the classified ones.
    pub rows: Vec<usize>,
    /// One weight vector per replicate, in the order of `rows`.
    pub weights: Vec<Vec<f64>>,
    /// Overall scale of the variance formula.
    pub scale: f64,
    /// Per-replicate scale factors.
    pub rscales: Vec<f64>,
}

/// Replicate weights (JKn or the seeded Rao-Wu bootstrap of
/// [`VarianceChoice`]) on the design of [`estimate_round`], each replicate
/// re-raked to the margins. Refused when `replicates x rows` would exceed
/// `max_cells` (the weights are held in memory).
pub fn replicate_weights(
    instrument: &Instrument,
    matrix: &ResponseMatrix,
    respondents: &[Respondent],
    margins: &PopulationMargins,
    choice: VarianceChoice,
    max_cells: usize,
) -> Result<ReplicateWeights, RoundEstimateError> {
    let method = match choice {
        VarianceChoice::Taylor => {
            return Err(RoundEstimateError::Query(
                "replicate weights: expected jkn or bootstrap".to_owned(),
            ));
        }
        VarianceChoice::Jkn => ReplicateMethod::Jkn,
        VarianceChoice::Bootstrap => ReplicateMethod::Bootstrap {
            replicates: BOOTSTRAP_REPLICATES,
            seed: BOOTSTRAP_SEED,
        },
    };
    let full = final_weights(instrument, matrix, respondents, margins)?;
    let rows: Vec<usize> = (0..respondents.len())
        .filter(|&r| full.weight[r].is_some())
        .collect();
    let year = instrument.fieldwork_year;
    let design = sample_design(respondents, &rows)?;
    let base = base_weights(respondents, &rows);
    let count = match method {
        ReplicateMethod::Jkn => design.n_psus(),
        _ => BOOTSTRAP_REPLICATES,
    };
    if count.saturating_mul(rows.len()) > max_cells {
        return Err(RoundEstimateError::Query(format!(
            "{count} replicates of {} rows exceed {max_cells} weights; use the estimates route or a smaller design",
            rows.len()
        )));
    }
    let replicates = Replicates::new(&design, method)
        .map_err(|e| RoundEstimateError::Estimation(e.to_string()))?;
    let raking = raking_margins(margins, respondents, &rows, year)?;
    let mut weights = Vec::with_capacity(replicates.len());
    for r in 0..replicates.len() {
        let mut w = vec![0.0; rows.len()];
        replicates.weights_into(&design, &base, r, &mut w);
        if !raking.is_empty() {
            weighting::rake(&mut w, &raking, RAKE)
                .map_err(|e| RoundEstimateError::Weighting(format!("replicate {}: {e}", r + 1)))?;
        }
        weights.push(w);
    }
    Ok(ReplicateWeights {
        rows,
        weights,
        scale: replicates.scale(),
        rscales: replicates.rscales().to_vec(),
    })
}

/// The sample design of the respondents in `rows`: their strata (default:
/// the province) and PSUs (default: each respondent its own), no fpc,
/// lonely PSUs centred on the grand mean.
fn sample_design(respondents: &[Respondent], rows: &[usize]) -> Result<Design, RoundEstimateError> {
    let strata: Vec<String> = rows
        .iter()
        .map(|&r| {
            let p = &respondents[r];
            p.stratum.clone().unwrap_or_else(|| p.province.to_string())
        })
        .collect();
    let psus: Vec<String> = rows
        .iter()
        .map(|&r| {
            respondents[r]
                .psu
                .clone()
                .unwrap_or_else(|| format!("r{r}"))
        })
        .collect();
    Design::new(
        rows.len(),
        Some(&strata),
        Some(&psus),
        Fpc::None,
        LonelyPsu::Adjust,
    )
    .map_err(|e| RoundEstimateError::Estimation(e.to_string()))
}

/// The design weights of the respondents in `rows` (default 1).
fn base_weights(respondents: &[Respondent], rows: &[usize]) -> Vec<f64> {
    rows.iter()
        .map(|&r| respondents[r].weight.unwrap_or(1.0))
        .collect()
}

/// The round's population margins over the respondents in `rows`.
fn raking_margins(
    margins: &PopulationMargins,
    respondents: &[Respondent],
    rows: &[usize],
    year: i32,
) -> Result<Vec<Margin>, RoundEstimateError> {
    margins
        .iter()
        .map(|(variable, totals)| {
            let labels: Vec<String> = rows
                .iter()
                .map(|&r| variable.label(&respondents[r], year))
                .collect();
            let population: Vec<(&String, f64)> = totals.iter().map(|(k, v)| (k, *v)).collect();
            Margin::from_labels(variable.name(), &labels, &population)
                .map_err(|e| RoundEstimateError::Weighting(e.to_string()))
        })
        .collect()
}
