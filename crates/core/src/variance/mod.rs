//! Variance estimation: Taylor linearization for the stratified cluster
//! design (replicate methods build on the same PSU totals).

pub mod taylor;

pub use taylor::{PsuTotals, psu_totals, variance};
