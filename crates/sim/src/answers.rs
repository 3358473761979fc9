//! Answers to an instrument drawn from an item response model: each
//! respondent has an ability theta, each item a slope and difficulty
//! (two-parameter logistic), and a wrong answer is sometimes don't know.

use literacy_core::answer::{Cell, MISSING};
use literacy_core::{Instrument, Item, ItemKind};
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

/// The cells a simulated respondent picks from, per item.
pub(crate) struct ItemPlan {
    pub(crate) correct: Vec<Cell>,
    pub(crate) wrong: Vec<Cell>,
    pub(crate) dont_know: Option<Cell>,
}

impl ItemPlan {
    pub(crate) fn new(item: &Item) -> Self {
        let table = item.score_table();
        let best = table.iter().copied().fold(0.0, f64::max);
        let dont_know = (1..table.len())
            .map(|c| c as Cell)
            .find(|&c| item.is_dont_know(c));
        let answers = (1..table.len())
            .map(|c| c as Cell)
            .filter(|&c| Some(c) != dont_know && valid_answer(item, c));
        // A correct ordinal answer leans to the keyed end, a wrong one away from it.
        let is_correct = |c: Cell| match &item.kind {
            ItemKind::Ordinal { .. } => table[usize::from(c)] >= best / 2.0,
            _ => table[usize::from(c)] == best,
        };
        let (correct, wrong) = answers.partition(|&c| is_correct(c));
        Self {
            correct,
            wrong,
            dont_know,
        }
    }

    /// The keyed answer when `correct`, don't know when `dont_know` (and the
    /// item has one), otherwise a wrong answer.
    fn pick(&self, correct: bool, dont_know: bool, rng: &mut impl RngCore) -> Cell {
        if let (true, Some(dk)) = (dont_know, self.dont_know) {
            return dk;
        }
        let from = if correct { &self.correct } else { &self.wrong };
        if from.is_empty() {
            return MISSING;
        }
        from[rng.random_range(0..from.len())]
    }
}

/// The points an answer to one item earns, by how [`generate`] picks it:
/// the distribution of points among the correct picks, among the wrong
/// picks, and whether a wrong answer can be don't know.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScoreOutcomes {
    /// (points, probability) of a correct pick.
    correct: Vec<(f64, f64)>,
    /// (points, probability) of a wrong pick.
    wrong: Vec<(f64, f64)>,
    /// Whether the item has a don't-know answer.
    has_dont_know: bool,
}

impl ScoreOutcomes {
    /// The outcomes of every item of an instrument, in item order.
    pub(crate) fn for_instrument(instrument: &Instrument) -> Vec<ScoreOutcomes> {
        instrument
            .items
            .iter()
            .map(|item| {
                let plan = ItemPlan::new(item);
                let table = item.score_table();
                // An empty list makes `pick` leave the item missing: zero points.
                let points = |cells: &[Cell]| -> Vec<(f64, f64)> {
                    if cells.is_empty() {
                        return vec![(0.0, 1.0)];
                    }
                    let share = 1.0 / cells.len() as f64;
                    let mut out: Vec<(f64, f64)> = Vec::new();
                    for &c in cells {
                        let v = table[usize::from(c)];
                        match out.iter_mut().find(|(w, _)| *w == v) {
                            Some((_, p)) => *p += share,
                            None => out.push((v, share)),
                        }
                    }
                    out
                };
                ScoreOutcomes {
                    correct: points(&plan.correct),
                    wrong: points(&plan.wrong),
                    has_dont_know: plan.dont_know.is_some(),
                }
            })
            .collect()
    }

    /// (points, probability) of the answer of a respondent who answers
    /// correctly with probability `p_correct`, under `model`'s don't-know
    /// and missing rates: exactly the distribution [`generate`] draws from.
    pub(crate) fn distribution(&self, p_correct: f64, model: &AnswerModel) -> Vec<(f64, f64)> {
        let answered = 1.0 - model.missing;
        let mut out = vec![(0.0, model.missing)];
        let wrong = answered * (1.0 - p_correct);
        let wrong_pick = if self.has_dont_know {
            out.push((0.0, wrong * model.dont_know));
            wrong * (1.0 - model.dont_know)
        } else {
            wrong
        };
        out.extend(
            self.correct
                .iter()
                .map(|&(v, p)| (v, p * answered * p_correct)),
        );
        out.extend(self.wrong.iter().map(|&(v, p)| (v, p * wrong_pick)));
        out
    }
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
    let plans: Vec<ItemPlan> = instrument.items.iter().map(ItemPlan::new).collect();
    let mut rows = vec![MISSING; thetas.len() * n_items];
    rows.par_chunks_mut(BLOCK * n_items)
        .zip(thetas.par_chunks(BLOCK))
        .enumerate()
        .for_each(|(block, (cells, thetas))| {
            let mut rng = block_rng(seed ^ 0x5eed_a115, block);
            for (r, &theta) in thetas.iter().enumerate() {
                for (i, plan) in plans.iter().enumerate() {
                    if rng.random::<f64>() < model.missing {
                        continue;
                    }
                    let correct = rng.random::<f64>() < model.p_correct(i, theta);
                    let dont_know = !correct && rng.random::<f64>() < model.dont_know;
                    cells[r * n_items + i] = plan.pick(correct, dont_know, &mut rng);
                }
            }
        });
    rows
}

fn valid_answer(item: &Item, cell: Cell) -> bool {
    // Multiple-select bit sets that combine don't know with a pick are not answers.
    match &item.kind {
        ItemKind::MultipleSelect { options, .. } => options
            .iter()
            .enumerate()
            .all(|(i, c)| !c.dont_know || cell & (1 << i) == 0),
        _ => true,
    }
}
