//! Comparing a computed number with its reference within a stated
//! tolerance, and saying which quantity missed when it does not agree.
//!
//! One rule for every test: two NaNs agree (the reference says "undefined"
//! and so does the engine), equal numbers agree, and otherwise the number
//! agrees when it is within the absolute or the relative part of [`Tol`].

use std::fmt;

/// How far a computed number may be from its reference: absolutely, or
/// relative to the reference's size; either part suffices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tol {
    rel: f64,
    abs: f64,
}

impl Tol {
    /// Only an equal number (or NaN for NaN) agrees.
    pub const EXACT: Tol = Tol { rel: 0.0, abs: 0.0 };

    /// Within `rel` of the reference, relative to its size.
    pub const fn rel(rel: f64) -> Tol {
        Tol { rel, abs: 0.0 }
    }

    /// Within `abs` of the reference.
    pub const fn abs(abs: f64) -> Tol {
        Tol { rel: 0.0, abs }
    }

    /// This tolerance, or else within `abs` of the reference (for
    /// references at or near zero, where a relative error means nothing).
    pub const fn or_abs(self, abs: f64) -> Tol {
        Tol { rel: self.rel, abs }
    }
}

impl fmt::Display for Tol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.rel > 0.0, self.abs > 0.0) {
            (true, true) => write!(f, "relative {:e} or absolute {:e}", self.rel, self.abs),
            (true, false) => write!(f, "relative {:e}", self.rel),
            (false, true) => write!(f, "absolute {:e}", self.abs),
            (false, false) => f.write_str("exact"),
        }
    }
}

/// `|actual - expected| / |expected|`: 0 for equal numbers, and measured
/// against the smallest positive number when `expected` is 0.
pub fn relative_error(actual: f64, expected: f64) -> f64 {
    if actual == expected {
        0.0
    } else {
        (actual - expected).abs() / expected.abs().max(f64::MIN_POSITIVE)
    }
}

/// Whether `actual` agrees with `expected` within `tol`.
pub fn is_close(actual: f64, expected: f64, tol: Tol) -> bool {
    (actual.is_nan() && expected.is_nan())
        || actual == expected
        || (actual - expected).abs() <= tol.abs
        || relative_error(actual, expected) <= tol.rel
}

/// Panics, naming the quantity `what`, unless `actual` agrees with
/// `expected` within `tol`.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, tol: Tol, what: &str) {
    assert!(
        is_close(actual, expected, tol),
        "{what}: got {actual:.17e}, expected {expected:.17e} (difference {:.3e}, relative {:.3e}; tolerance {tol})",
        (actual - expected).abs(),
        relative_error(actual, expected)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_parts_each_suffice() {
        assert!(is_close(100.0 + 1e-6, 100.0, Tol::rel(1e-9).or_abs(1e-5)));
        assert!(!is_close(100.0 + 1e-6, 100.0, Tol::rel(1e-9)));
        assert!(is_close(1e-13, 0.0, Tol::rel(1e-9).or_abs(1e-12)));
        assert!(!is_close(1e-11, 0.0, Tol::rel(1e-9).or_abs(1e-12)));
        assert!(is_close(1.0 + 1e-10, 1.0, Tol::rel(1e-9)));
        assert!(!is_close(1.0 + 1e-8, 1.0, Tol::rel(1e-9)));
    }

    #[test]
    fn exact_takes_only_equal_numbers_and_nan_for_nan() {
        assert!(is_close(0.1 + 0.2, 0.1 + 0.2, Tol::EXACT));
        assert!(!is_close(0.1 + 0.2, 0.3, Tol::EXACT));
        assert!(is_close(f64::NAN, f64::NAN, Tol::EXACT));
        assert!(!is_close(f64::NAN, 1.0, Tol::rel(1.0)));
        assert!(!is_close(1.0, f64::NAN, Tol::abs(1.0)));
        assert!(is_close(f64::INFINITY, f64::INFINITY, Tol::EXACT));
    }

    #[test]
    #[should_panic(expected = "design effect: got")]
    fn a_miss_names_the_quantity() {
        assert_close(1.5, 1.0, Tol::rel(0.1), "design effect");
    }
}
