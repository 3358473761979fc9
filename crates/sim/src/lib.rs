//! Synthetic respondents with known truth, for tests, demos and benchmarks.

pub mod answers;
