//! Synthetic national rounds with known truth, for tests, demos and
//! benchmarks.
//!
//! - [`structure`]: the parameter file of a round (published targets with
//!   their source, and the assumed composition, model and design) and the
//!   census populations.
//! - [`qualify`]: the exact probability of qualifying under an
//!   instrument's rule, for an ability and for a population cell.
//! - [`population`]: the population as cells, calibrated to the published
//!   structure; its truth.
//! - [`design`]: the stratified multistage sample with design weights,
//!   nonresponse and modes.
//! - [`answers`]: answers from a two-parameter logistic model.
//! - [`output`]: the files of a simulated round; [`batches`]: provincial
//!   paper batches with keying errors.
//!
//! [`NationalModel`] ties them together: build it once from an instrument
//! and a structure, then draw as many rounds as needed.

pub mod answers;
pub mod batches;
pub mod design;
pub mod output;
pub mod population;
pub mod qualify;
pub mod structure;

use literacy_core::{Instrument, MatrixError, ResponseMatrix, ScoreError, Scores};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::answers::AnswerModel;
use crate::design::Sample;
use crate::population::Population;
use crate::qualify::{ExactRule, Link};
use crate::structure::{Census, Structure, StructureError};

/// Key of the answers' random streams (mixed into the run's seed).
const ANSWER_KEY: u64 = 0xa115_e125_0000_0003;
/// Key of the random streams of [`NationalModel::draw_people`].
const PEOPLE_KEY: u64 = 0x9e09_1e00_0000_0005;
/// People drawn from one random stream by [`NationalModel::draw_people`].
const PEOPLE_BLOCK: usize = 4096;

/// Why a round cannot be simulated.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The structure or census file is unusable.
    #[error(transparent)]
    Structure(#[from] StructureError),
    /// The generated answers do not fit the instrument (a bug).
    #[error("generated answers: {0}")]
    Matrix(#[from] MatrixError),
    /// The answers could not be scored.
    #[error("scoring the generated answers: {0}")]
    Score(#[from] ScoreError),
}

/// A calibrated population with its answer model and design, for one
/// instrument: the known truth of every round drawn from it.
#[derive(Debug, Clone)]
pub struct NationalModel {
    instrument: Instrument,
    structure: Structure,
    answers: AnswerModel,
    exact: ExactRule,
    link: Link,
    population: Population,
}

/// One simulated round: a sample, its answers and their scores.
#[derive(Debug, Clone)]
pub struct SimulatedRound {
    /// The sample's respondents and strata.
    pub sample: Sample,
    /// Respondent-major answer cells (`cells[r * items + i]`).
    pub cells: Vec<literacy_core::Cell>,
    /// The answers scored under the instrument's rule.
    pub scores: Scores,
    /// The seed the round was drawn from.
    pub seed: u64,
    /// Put before every respondent id (empty: `R0000001`, ...), so rounds
    /// drawn with different seeds can be stored in one survey round.
    pub id_prefix: String,
}

impl SimulatedRound {
    /// Identifier of the respondent at `index` (0-based): the prefix, then
    /// `R` and the 1-based number in seven digits.
    pub fn respondent_id(&self, index: usize) -> String {
        let mut id = String::new();
        self.push_respondent_id(index, &mut id);
        id
    }

    /// Appends [`SimulatedRound::respondent_id`] to `out`.
    pub fn push_respondent_id(&self, index: usize, out: &mut String) {
        use std::fmt::Write as _;
        let _ = write!(out, "{}R{:07}", self.id_prefix, index + 1);
    }
}

impl NationalModel {
    /// Builds and calibrates the population of `structure` for `instrument`.
    pub fn new(
        instrument: &Instrument,
        structure: &Structure,
        census: &Census,
    ) -> Result<NationalModel, SimError> {
        let mut answers = AnswerModel::for_instrument(instrument, structure.model.item_seed);
        answers.dont_know = structure.model.dont_know;
        answers.missing = structure.model.missing;
        let exact = ExactRule::new(instrument, &answers);
        let sd = structure.model.sd_psu.hypot(structure.model.sd_within);
        let link = Link::new(&exact, sd);
        let population = Population::new(structure, census, &link);
        Ok(NationalModel {
            instrument: instrument.clone(),
            structure: structure.clone(),
            answers,
            exact,
            link,
            population,
        })
    }

    /// The 2023 structure and 2020 census shipped with the engine.
    pub fn embedded_2023(instrument: &Instrument) -> Result<NationalModel, SimError> {
        NationalModel::new(
            instrument,
            &Structure::embedded_2023()?,
            &Census::embedded()?,
        )
    }

    /// The instrument answered.
    pub fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    /// The structure the population was calibrated to.
    pub fn structure(&self) -> &Structure {
        &self.structure
    }

    /// The item parameters of the answers.
    pub fn answer_model(&self) -> &AnswerModel {
        &self.answers
    }

    /// The exact probability of qualifying given ability.
    pub fn exact_rule(&self) -> &ExactRule {
        &self.exact
    }

    /// The share qualified of a population cell given its mean ability.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// The calibrated population.
    pub fn population(&self) -> &Population {
        &self.population
    }

    /// Draws a round of `respondents` completed interviews: the sample, its
    /// answers and their scores. Deterministic for `seed`.
    pub fn simulate(&self, respondents: usize, seed: u64) -> Result<SimulatedRound, SimError> {
        let sample = design::draw(&self.population, &self.structure, respondents, seed);
        let thetas: Vec<f64> = sample.respondents.iter().map(|r| r.theta).collect();
        let (cells, scores) = self.answer(&thetas, seed)?;
        Ok(SimulatedRound {
            sample,
            cells,
            scores,
            seed,
            id_prefix: String::new(),
        })
    }

    /// `n` adults drawn at random from the whole population (not by the
    /// sample design): the index of each one's cell in
    /// [`Population::cells`] and their theta. For checks of the population
    /// itself. Deterministic for `seed`.
    pub fn draw_people(&self, n: usize, seed: u64) -> (Vec<u32>, Vec<f64>) {
        let cells = &self.population.cells;
        let total: f64 = cells.iter().map(|c| c.count).sum();
        let mut acc = 0.0;
        let cumulative: Vec<f64> = cells
            .iter()
            .map(|c| {
                acc += c.count / total;
                acc
            })
            .collect();
        let sd = self.link.sd();
        let mut index = vec![0u32; n];
        let mut theta = vec![0.0; n];
        index
            .par_chunks_mut(PEOPLE_BLOCK)
            .zip(theta.par_chunks_mut(PEOPLE_BLOCK))
            .enumerate()
            .for_each(|(block, (index, theta))| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ PEOPLE_KEY);
                rng.set_stream(block as u64);
                for (i, t) in index.iter_mut().zip(theta.iter_mut()) {
                    let u: f64 = rng.random();
                    let k = cumulative.partition_point(|&c| c <= u).min(cells.len() - 1);
                    *i = k as u32;
                    *t = cells[k].mu + sd * answers::normal(&mut rng);
                }
            });
        (index, theta)
    }

    /// Answers of respondents of abilities `thetas`, and their scores
    /// (the `irt_cut` rule is applied to the true abilities).
    pub fn answer(
        &self,
        thetas: &[f64],
        seed: u64,
    ) -> Result<(Vec<literacy_core::Cell>, Scores), SimError> {
        let cells = answers::generate(&self.instrument, &self.answers, thetas, seed ^ ANSWER_KEY);
        let scores = if thetas.is_empty() {
            Scores::default()
        } else {
            let matrix = ResponseMatrix::from_rows(&self.instrument, &cells)?;
            literacy_core::score(&self.instrument, &matrix, Some(thetas))?
        };
        Ok((cells, scores))
    }
}
