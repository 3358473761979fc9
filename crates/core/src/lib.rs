//! Pure computation for the civic science-literacy engine.
//!
//! No I/O, no global state, deterministic: instruments (the questionnaire
//! model and its validation), answer encoding into a columnar response
//! matrix, scoring under the qualification rules of the national rounds,
//! survey weighting, and design-based estimation with its variance.

pub mod answer;
pub mod demographics;
pub mod design;
pub mod estimate;
pub mod instrument;
pub mod irt;
pub mod matrix;
pub mod progress;
pub mod quantile;
pub mod round;
pub mod rule;
pub mod scoring;
pub mod text;
pub mod validate;
pub mod variance;
pub mod weighting;

pub use answer::{AnswerError, Cell, MISSING};
pub use instrument::{Instrument, InstrumentError, Item, ItemKind, Problem};
pub use matrix::{MatrixError, ResponseMatrix};
pub use rule::{MissingPolicy, QualificationRule, RuleKind};
pub use scoring::{ScoreError, Scores, Status, score};
