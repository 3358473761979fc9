//! A small instrument with one item of every type, whose scores are easy to
//! compute by hand.
//!
//! Dimensions: `know` (points 60; raw max T1 1 + T2 1 + C1 2 + N1 1 = 5) and
//! `method` (points 40; raw max MA 2 + MP 3 + O1 1 + O2 1 = 7), so
//! total = 60 * know_raw / 5 + 40 * method_raw / 7.

use literacy_core::Instrument;
use serde_json::Value;

/// The instrument as JSON (`tests/fixtures/all-types.json`, which the
/// command-line tests use too), to be mutated by tests of validation.
pub fn base() -> Value {
    serde_json::from_str(include_str!("../fixtures/all-types.json")).expect("fixture is JSON")
}

/// Builds an instrument from JSON, panicking with every problem.
pub fn instrument(value: &Value) -> Instrument {
    match Instrument::from_json("test.json", &value.to_string()) {
        Ok(instrument) => instrument,
        Err(e) => panic!("{e}"),
    }
}
