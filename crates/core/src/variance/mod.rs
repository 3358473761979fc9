//! Variance estimation: Taylor linearization for the stratified cluster
//! design (replicate methods build on the same PSU totals).

pub mod replicate;
pub mod taylor;

pub use replicate::{ReplicateError, ReplicateMethod, Replicates};
pub use taylor::{PsuTotals, psu_totals, variance};
