//! A stratified multistage sample of the population.
//!
//! 1. **Strata**: province x urban/rural. The completed interviews are
//!    allocated to provinces in proportion to `adults^allocation_power`,
//!    then to the urban and rural strata in proportion to their adults
//!    (largest remainders, so they add up to the number asked for).
//! 2. **PSUs**: each stratum's frame is a list of PSUs (villages and
//!    neighbourhood committees) of lognormal sizes averaging
//!    `mean_psu_adults`, drawn once from `frame_seed` (the same frame for
//!    every sample). A stratum with `n` completes draws
//!    `max(2, ceil(n / completes_per_psu))` PSUs (one if `n` is 1) by
//!    systematic PPS from a random start; PSU `j` is drawn with
//!    probability `pi_j = m size_j / adults` (a PSU hit twice counts as two
//!    PSUs, as in with-replacement designs).
//! 3. **Households**: a PSU of `size_j` adults has `H_j = size_j / mean
//!    household adults` households. They are contacted in random order
//!    until the PSU's quota of completed interviews is reached; `c_j` are
//!    contacted, which makes the household's selection probability
//!    `c_j / H_j`.
//! 4. **One adult per household** (Kish): a household has `a` adults
//!    (`adults_per_household`), one of whom is selected (probability
//!    `1 / a`); the household roster records the selected adult's sex and
//!    age group even if they do not respond.
//! 5. **Nonresponse**: the selected adult responds with a probability
//!    that depends on urban/rural, sex, age group and education.
//! 6. **Mode**: paper, tablet or online, by urban/rural and age group.
//!
//! Weights: `base_weight = (1 / pi_j) (H_j / c_j) a` (the inverse of the
//! selection probability), and `weight = base_weight x` the nonresponse
//! adjustment of the respondent's cell (stratum x sex x age group, known for
//! every contacted household from its roster): the base weights of all the
//! selected adults of the cell over those of its respondents. A stratum
//! with a cell where nobody responded is adjusted by age group only, or as
//! a whole if that fails too. Education is not in the cells, so the
//! weighted sample still leans towards the educated who respond more; the
//! population margins (raking) correct that.
//!
//! Randomness: the frame comes from `frame_seed` and the stratum's code;
//! the PSU draw from the run's seed and the stratum's code; the fieldwork
//! of each PSU from the run's seed and the PSU's number. Every piece of
//! work has its own stream, so the sample does not depend on the number of
//! threads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::answers::normal;
use crate::population::{PopCell, Population, Stratum};
use crate::structure::{AGE_GROUPS, DesignParams, ModelParams, Structure};

/// Key of the random streams of the PSU draws.
const SELECT_KEY: u64 = 0x5e1e_c7ed_0000_0001;
/// Key of the random streams of the fieldwork.
const FIELD_KEY: u64 = 0xf1e1_d000_0000_0002;

/// Survey mode of a respondent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Face-to-face, paper questionnaire (keyed in later by the province).
    Paper,
    /// Face-to-face on the interviewer's tablet.
    Tablet,
    /// Online self-completion.
    Online,
}

impl Mode {
    /// Every mode, in the order of the structure file's mode shares.
    pub const ALL: [Mode; 3] = [Mode::Paper, Mode::Tablet, Mode::Online];

    /// Name written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Paper => "paper",
            Mode::Tablet => "tablet",
            Mode::Online => "online",
        }
    }
}

/// One respondent of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampledRespondent {
    /// Index of the population cell the respondent belongs to.
    pub cell: u32,
    /// Index of the stratum in [`Population::strata`].
    pub stratum: u16,
    /// PSU number, unique in the sample (PSUs are numbered stratum by stratum).
    pub psu: u32,
    /// Age in years.
    pub age: u8,
    /// Adults in the respondent's household.
    pub household_adults: u8,
    /// Survey mode.
    pub mode: Mode,
    /// Latent literacy.
    pub theta: f64,
    /// Inverse of the selection probability.
    pub base_weight: f64,
    /// Base weight after the nonresponse adjustment.
    pub weight: f64,
}

/// What happened in one stratum.
#[derive(Debug, Clone, PartialEq)]
pub struct StratumSample {
    /// Index in [`Population::strata`].
    pub stratum: usize,
    /// PSUs in the stratum's frame.
    pub frame_psus: usize,
    /// PSUs drawn.
    pub sampled_psus: usize,
    /// Households contacted.
    pub contacted: u64,
    /// Completed interviews.
    pub completes: usize,
}

/// A drawn sample.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sample {
    /// Respondents, stratum by stratum, PSU by PSU, in order of contact.
    pub respondents: Vec<SampledRespondent>,
    /// Every stratum with a sample.
    pub strata: Vec<StratumSample>,
}

/// One PSU to work: where it is and what it must bring back.
struct PsuTask {
    stratum: usize,
    number: u32,
    pi: f64,
    households: f64,
    quota: usize,
}

/// What the fieldwork of one PSU brought back.
struct PsuResult {
    respondents: Vec<SampledRespondent>,
    contacted: u64,
    /// Adults behind each contacted household's selected adult (sum of
    /// `a`), by sex x age group cell: [contacted, responded].
    roster: [[f64; 2]; 2 * AGE_GROUPS],
}

/// Splits `total` into integers proportional to `weights` (largest
/// remainders; ties to the first).
pub fn largest_remainder(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    if sum.is_nan() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut out: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let given: usize = out.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = exact[a] - exact[a].floor();
        let rb = exact[b] - exact[b].floor();
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().take(total.saturating_sub(given)) {
        out[i] += 1;
    }
    out
}

fn stream(seed: u64, key: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ key);
    rng.set_stream(stream);
    rng
}

/// Index drawn from cumulative probabilities (the last entry is 1).
fn pick(cumulative: &[f64], u: f64) -> usize {
    cumulative
        .partition_point(|&c| c <= u)
        .min(cumulative.len() - 1)
}

fn cumulative(shares: &[f64]) -> Vec<f64> {
    let total: f64 = shares.iter().sum();
    let mut acc = 0.0;
    let mut out: Vec<f64> = shares
        .iter()
        .map(|s| {
            acc += s / total;
            acc
        })
        .collect();
    if let Some(last) = out.last_mut() {
        *last = 1.0;
    }
    out
}

/// Lowest age of each age group.
const AGE_FROM: [u8; AGE_GROUPS] = [18, 30, 40, 50, 60];
/// Highest age of each age group.
const AGE_TO: [u8; AGE_GROUPS] = [29, 39, 49, 59, 69];

/// Draws a sample of `respondents` completed interviews.
pub fn draw(
    population: &Population,
    structure: &Structure,
    respondents: usize,
    seed: u64,
) -> Sample {
    let design = &structure.design;
    let per_stratum = allocate(&population.strata, design, respondents);
    let (tasks, mut summaries) = psu_tasks(&population.strata, design, &per_stratum, seed);
    let fieldwork = Fieldwork::new(population, structure);
    let results: Vec<PsuResult> = tasks
        .par_iter()
        .map(|task| fieldwork.work(task, seed))
        .collect();
    let respondents =
        adjust_for_nonresponse(population, &tasks, results, &mut summaries, respondents);
    Sample {
        respondents,
        strata: summaries,
    }
}

/// Completed interviews by stratum: to provinces by adults^power, then to
/// their strata by adults.
fn allocate(strata: &[Stratum], design: &DesignParams, respondents: usize) -> Vec<usize> {
    let mut province_adults = vec![0.0; literacy_core::demographics::PROVINCES.len()];
    for s in strata {
        province_adults[s.province] += s.adults;
    }
    let province_weights: Vec<f64> = province_adults
        .iter()
        .map(|&a| {
            if a > 0.0 {
                a.powf(design.allocation_power)
            } else {
                0.0
            }
        })
        .collect();
    let per_province = largest_remainder(respondents, &province_weights);
    let mut per_stratum = vec![0usize; strata.len()];
    for (p, &n) in per_province.iter().enumerate() {
        let members: Vec<usize> = (0..strata.len())
            .filter(|&h| strata[h].province == p)
            .collect();
        let weights: Vec<f64> = members.iter().map(|&h| strata[h].adults).collect();
        for (&h, k) in members.iter().zip(largest_remainder(n, &weights)) {
            per_stratum[h] = k;
        }
    }
    per_stratum
}

/// The PSUs of every stratum with completes to bring (each stratum drawn
/// from its own streams), numbered stratum by stratum, and a summary of
/// each such stratum (its households contacted still 0).
fn psu_tasks(
    strata: &[Stratum],
    design: &DesignParams,
    per_stratum: &[usize],
    seed: u64,
) -> (Vec<PsuTask>, Vec<StratumSample>) {
    let drawn: Vec<(usize, usize, Vec<DrawnPsu>)> = (0..strata.len())
        .into_par_iter()
        .filter(|&h| per_stratum[h] > 0)
        .map(|h| {
            let (frame, psus) = draw_psus(
                design,
                strata[h].adults,
                strata[h].code(),
                per_stratum[h],
                seed,
            );
            (h, frame, psus)
        })
        .collect();
    let mut tasks = Vec::new();
    let mut summaries = Vec::new();
    for (h, frame_psus, psus) in drawn {
        summaries.push(StratumSample {
            stratum: h,
            frame_psus,
            sampled_psus: psus.len(),
            contacted: 0,
            completes: per_stratum[h],
        });
        for psu in psus {
            tasks.push(PsuTask {
                stratum: h,
                number: tasks.len() as u32 + 1,
                pi: psu.pi,
                households: psu.households,
                quota: psu.quota,
            });
        }
    }
    (tasks, summaries)
}

/// What the fieldwork of every PSU draws from: the population's cells by
/// stratum, household sizes and modes, as cumulative probabilities.
struct Fieldwork<'a> {
    population: &'a Population,
    model: &'a ModelParams,
    /// Each stratum's cells, by their adults.
    stratum_cumulative: Vec<Vec<f64>>,
    household_adults: Vec<f64>,
    /// Modes by urban/rural and age group.
    modes: [Vec<Vec<f64>>; 2],
}

impl<'a> Fieldwork<'a> {
    fn new(population: &'a Population, structure: &'a Structure) -> Fieldwork<'a> {
        let design = &structure.design;
        let stratum_cumulative = population
            .strata
            .iter()
            .map(|s| {
                cumulative(
                    &population.cells[s.cells.clone()]
                        .iter()
                        .map(|c| c.count)
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        Fieldwork {
            population,
            model: &structure.model,
            stratum_cumulative,
            household_adults: cumulative(&design.adults_per_household),
            modes: [
                design.mode.urban.iter().map(|m| cumulative(m)).collect(),
                design.mode.rural.iter().map(|m| cumulative(m)).collect(),
            ],
        }
    }

    /// One PSU's fieldwork: households contacted until its quota of
    /// completes is reached; base weights and roster totals scaled by the
    /// inverse of the PSU's and the households' selection probabilities.
    fn work(&self, task: &PsuTask, seed: u64) -> PsuResult {
        let mut rng = stream(seed, FIELD_KEY, u64::from(task.number));
        let stratum = &self.population.strata[task.stratum];
        let cells = &self.population.cells[stratum.cells.clone()];
        let psu_effect = self.model.sd_psu * normal(&mut rng);
        let mut out = PsuResult {
            respondents: Vec::with_capacity(task.quota),
            contacted: 0,
            roster: [[0.0; 2]; 2 * AGE_GROUPS],
        };
        while out.respondents.len() < task.quota {
            out.contacted += 1;
            let adults = pick(&self.household_adults, rng.random::<f64>()) + 1;
            let k = pick(&self.stratum_cumulative[task.stratum], rng.random::<f64>());
            let cell = &cells[k];
            let slot = roster_slot(cell);
            out.roster[slot][0] += adults as f64;
            if rng.random::<f64>() >= cell.response {
                continue;
            }
            out.roster[slot][1] += adults as f64;
            let a = usize::from(cell.age_group - 1);
            let age = rng.random_range(AGE_FROM[a]..=AGE_TO[a]);
            let mode = Mode::ALL[pick(
                &self.modes[usize::from(cell.urban_rural - 1)][a],
                rng.random::<f64>(),
            )];
            let theta = cell.mu + psu_effect + self.model.sd_within * normal(&mut rng);
            out.respondents.push(SampledRespondent {
                cell: (stratum.cells.start + k) as u32,
                stratum: task.stratum as u16,
                psu: task.number,
                age,
                household_adults: adults as u8,
                mode,
                theta,
                base_weight: adults as f64,
                weight: f64::NAN,
            });
        }
        // The household's selection probability is c_j / H_j (at most 1).
        let households = task.households.max(out.contacted as f64);
        let factor = households / (task.pi * out.contacted as f64);
        for r in &mut out.respondents {
            r.base_weight *= factor;
        }
        for slot in &mut out.roster {
            slot[0] *= factor;
            slot[1] *= factor;
        }
        out
    }
}

/// A cell's place among the sex x age group roster cells.
fn roster_slot(cell: &PopCell) -> usize {
    usize::from(cell.sex - 1) * AGE_GROUPS + usize::from(cell.age_group - 1)
}

/// The PSUs' respondents in order, each weighted by the nonresponse
/// adjustment of its stratum x sex x age group cell; the strata's
/// households contacted filled in.
fn adjust_for_nonresponse(
    population: &Population,
    tasks: &[PsuTask],
    results: Vec<PsuResult>,
    summaries: &mut [StratumSample],
    respondents: usize,
) -> Vec<SampledRespondent> {
    let strata = &population.strata;
    let mut roster = vec![[[0.0f64; 2]; 2 * AGE_GROUPS]; strata.len()];
    let mut contacted = vec![0u64; strata.len()];
    for (task, result) in tasks.iter().zip(&results) {
        contacted[task.stratum] += result.contacted;
        for (total, psu) in roster[task.stratum].iter_mut().zip(&result.roster) {
            total[0] += psu[0];
            total[1] += psu[1];
        }
    }
    let adjustment: Vec<[f64; 2 * AGE_GROUPS]> = roster.iter().map(nonresponse_factors).collect();
    for s in summaries {
        s.contacted = contacted[s.stratum];
    }
    let mut all = Vec::with_capacity(respondents);
    for result in results {
        for mut r in result.respondents {
            let slot = roster_slot(&population.cells[r.cell as usize]);
            r.weight = r.base_weight * adjustment[usize::from(r.stratum)][slot];
            all.push(r);
        }
    }
    all
}

/// Nonresponse factors of a stratum's sex x age group cells from their
/// [contacted, responded] base-weight totals, collapsing to age groups, or
/// to the whole stratum, when a cell with contacts has no respondent.
fn nonresponse_factors(cells: &[[f64; 2]; 2 * AGE_GROUPS]) -> [f64; 2 * AGE_GROUPS] {
    let ratio = |c: f64, r: f64| if r > 0.0 { c / r } else { 1.0 };
    if cells.iter().all(|c| c[0] == 0.0 || c[1] > 0.0) {
        return cells.map(|c| ratio(c[0], c[1]));
    }
    let by_age: Vec<[f64; 2]> = (0..AGE_GROUPS)
        .map(|a| {
            let (m, f) = (cells[a], cells[AGE_GROUPS + a]);
            [m[0] + f[0], m[1] + f[1]]
        })
        .collect();
    if by_age.iter().all(|c| c[0] == 0.0 || c[1] > 0.0) {
        return std::array::from_fn(|slot| {
            let c = by_age[slot % AGE_GROUPS];
            ratio(c[0], c[1])
        });
    }
    let total = cells
        .iter()
        .fold([0.0, 0.0], |acc, c| [acc[0] + c[0], acc[1] + c[1]]);
    [ratio(total[0], total[1]); 2 * AGE_GROUPS]
}

/// One PSU drawn.
struct DrawnPsu {
    /// Selection probability (expected number of hits).
    pi: f64,
    /// Households in the PSU.
    households: f64,
    /// Completed interviews to bring back.
    quota: usize,
}

/// The PSUs a stratum draws: the frame's size and the PSUs drawn.
fn draw_psus(
    design: &DesignParams,
    adults: f64,
    code: u32,
    completes: usize,
    seed: u64,
) -> (usize, Vec<DrawnPsu>) {
    let m = if completes >= 2 {
        completes.div_ceil(design.completes_per_psu).max(2)
    } else {
        1
    };
    let frame_len = ((adults / design.mean_psu_adults).round() as usize).max(m);
    // The frame: lognormal sizes scaled to the stratum's adults.
    let mut frame_rng = stream(design.frame_seed, 0, u64::from(code));
    let sigma = (1.0 + design.psu_size_cv * design.psu_size_cv).ln().sqrt();
    let raw: Vec<f64> = (0..frame_len)
        .map(|_| (sigma * normal(&mut frame_rng)).exp())
        .collect();
    let raw_total: f64 = raw.iter().sum();
    let mut cumulative = Vec::with_capacity(frame_len);
    let mut acc = 0.0;
    for x in &raw {
        acc += x / raw_total * adults;
        cumulative.push(acc);
    }
    // Systematic PPS from a random start.
    let mut rng = stream(seed, SELECT_KEY, u64::from(code));
    let interval = adults / m as f64;
    let start = rng.random::<f64>() * interval;
    let mean_household: f64 = design
        .adults_per_household
        .iter()
        .enumerate()
        .map(|(k, p)| (k + 1) as f64 * p)
        .sum::<f64>()
        / design.adults_per_household.iter().sum::<f64>();
    let base = completes / m;
    let extra = completes % m;
    let psus = (0..m)
        .map(|k| {
            let point = start + k as f64 * interval;
            let j = cumulative
                .partition_point(|&c| c <= point)
                .min(frame_len - 1);
            let size = raw[j] / raw_total * adults;
            let pi = m as f64 * size / adults;
            let quota = base + usize::from(k < extra);
            DrawnPsu {
                pi,
                households: (size / mean_household).max(1.0),
                quota,
            }
        })
        .collect();
    (frame_len, psus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainders_add_up() {
        assert_eq!(largest_remainder(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(largest_remainder(7, &[0.5, 0.25, 0.25]), vec![3, 2, 2]);
        assert_eq!(largest_remainder(0, &[1.0]), vec![0]);
        let w: Vec<f64> = (1..=31).map(|x| f64::from(x).sqrt()).collect();
        assert_eq!(
            largest_remainder(300_000, &w).iter().sum::<usize>(),
            300_000
        );
    }

    #[test]
    fn nonresponse_cells_collapse_when_empty() {
        let mut cells = [[10.0, 5.0]; 2 * AGE_GROUPS];
        assert_eq!(nonresponse_factors(&cells), [2.0; 2 * AGE_GROUPS]);
        cells[0] = [10.0, 0.0];
        let f = nonresponse_factors(&cells);
        // Men and women of age group 1 share the factor (10 + 10) / (0 + 5).
        assert_eq!(f[0], 4.0);
        assert_eq!(f[AGE_GROUPS], 4.0);
        assert_eq!(f[1], 2.0);
        cells[AGE_GROUPS] = [10.0, 0.0];
        assert_eq!(nonresponse_factors(&cells), [100.0 / 40.0; 2 * AGE_GROUPS]);
    }
}
