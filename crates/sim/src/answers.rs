//! Answers to an instrument drawn from an item response model: each
//! respondent has an ability theta, each item a slope and difficulty
//! (two-parameter logistic), and a wrong answer is sometimes don't know.

use literacy_core::answer::{Cell, MISSING};
use literacy_core::{Instrument, ItemKind};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Respondents drawn from one random stream: the output does not depend on
/// how rayon splits the work.
const BLOCK: usize = 4096;

/// Item parameters and answering behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerModel {
    /// Discrimination of each item.
    pub slope: Vec<f64>,
    /// Difficulty of each item on the theta scale.
    pub difficulty: Vec<f64>,
    /// Probability that a wrong answer is given as don't know.
    pub dont_know: f64,
    /// Probability that an item is left unanswered.
    pub missing: f64,
}

impl AnswerModel {
    /// Plausible parameters for every item of an instrument, drawn from `seed`.
    pub fn for_instrument(instrument: &Instrument, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = instrument.items.len();
        Self {
            slope: (0..n).map(|_| rng.random_range(0.8..2.0)).collect(),
            difficulty: (0..n).map(|_| rng.random_range(-1.5..1.0)).collect(),
            dont_know: 0.3,
            missing: 0.01,
        }
    }

    /// Probability that a respondent of ability `theta` answers item `i` correctly.
    pub fn p_correct(&self, item: usize, theta: f64) -> f64 {
        1.0 / (1.0 + (-self.slope[item] * (theta - self.difficulty[item])).exp())
    }
}

/// `n` standard normal abilities drawn from `seed`.
pub fn standard_normal(n: usize, seed: u64) -> Vec<f64> {
    let mut out = vec![0.0; n];
    out.par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(block, chunk)| {
            let mut rng = block_rng(seed, block);
            for x in chunk {
                *x = normal(&mut rng);
            }
        });
    out
}

fn block_rng(seed: u64, block: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(block as u64);
    rng
}

/// One standard normal draw (Box-Muller).
pub fn normal(rng: &mut impl RngCore) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Respondent-major cells (`rows[r * items + i]`) answering the instrument
/// for each ability in `thetas`, deterministic for `seed`.
pub fn generate(
    instrument: &Instrument,
    model: &AnswerModel,
    thetas: &[f64],
    seed: u64,
) -> Vec<Cell> {
    let n_items = instrument.items.len();
    let mut rows = vec![MISSING; thetas.len() * n_items];
    rows.par_chunks_mut(BLOCK * n_items)
        .zip(thetas.par_chunks(BLOCK))
        .enumerate()
        .for_each(|(block, (cells, thetas))| {
            let mut rng = block_rng(seed ^ 0x5eed_a115, block);
            for (r, &theta) in thetas.iter().enumerate() {
                for (i, item) in instrument.items.iter().enumerate() {
                    if rng.random::<f64>() < model.missing {
                        continue;
                    }
                    let correct = rng.random::<f64>() < model.p_correct(i, theta);
                    let dont_know = !correct && rng.random::<f64>() < model.dont_know;
                    cells[r * n_items + i] = answer(item, correct, dont_know, &mut rng);
                }
            }
        });
    rows
}

/// A cell for one item: the keyed answer when `correct`, don't know when
/// `dont_know` (and the item has one), otherwise a wrong answer.
fn answer(
    item: &literacy_core::Item,
    correct: bool,
    dont_know: bool,
    rng: &mut impl RngCore,
) -> Cell {
    let table = item.score_table();
    let count = table.len();
    let dk = (1..count).find(|&c| item.is_dont_know(c as Cell));
    if dont_know {
        if let Some(dk) = dk {
            return dk as Cell;
        }
    }
    let best = table.iter().copied().fold(0.0, f64::max);
    let valid = |c: usize| Some(c) != dk && valid_answer(item, c as Cell);
    let candidates: Vec<usize> = match &item.kind {
        // A correct ordinal answer leans to the keyed end, a wrong one away from it.
        ItemKind::Ordinal { .. } => (1..count)
            .filter(|&c| valid(c) && ((table[c] >= best / 2.0) == correct))
            .collect(),
        _ => (1..count)
            .filter(|&c| valid(c) && ((table[c] == best) == correct))
            .collect(),
    };
    if candidates.is_empty() {
        return MISSING;
    }
    candidates[rng.random_range(0..candidates.len())] as Cell
}

fn valid_answer(item: &literacy_core::Item, cell: Cell) -> bool {
    // Multiple-select bit sets that combine don't know with a pick are not answers.
    match &item.kind {
        ItemKind::MultipleSelect { options, .. } => options
            .iter()
            .enumerate()
            .all(|(i, c)| !c.dont_know || cell & (1 << i) == 0),
        _ => true,
    }
}
