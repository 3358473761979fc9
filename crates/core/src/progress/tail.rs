//! Upper tail probabilities of the standard normal and Student t
//! distributions, computed as R's `pt` and `pnorm` do so that small p-values
//! keep their relative accuracy.
//!
//! `P(|T| > |t|) = I_h(df/2, 1/2)` with `h = df / (df + t^2)`, and its
//! complement `1 - I_{1-h}(1/2, df/2)`. Each form is used where the
//! regularized beta's own argument needs no `1 - x` (statrs swaps the
//! parameters when `x >= (a + 1) / (a + b + 2)`, losing the small argument's
//! digits): `h` and `1 - h` are both computed directly from `t` and `df`.

use statrs::distribution::{ContinuousCDF, Normal};
use statrs::function::beta::checked_beta_reg;

/// `P(Z > z)` for a standard normal `Z`.
pub fn normal_upper(z: f64) -> f64 {
    match Normal::new(0.0, 1.0) {
        Ok(n) => n.sf(z),
        Err(_) => f64::NAN,
    }
}

/// `P(T > t)` for Student's t with `df` degrees of freedom (`df` infinite:
/// standard normal; `df` NaN or not positive, or `t` NaN: NaN).
pub fn t_upper(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if df.is_infinite() {
        return normal_upper(t);
    }
    if t.is_infinite() {
        return if t > 0.0 { 0.0 } else { 1.0 };
    }
    let t2 = t * t;
    let small = t2 / (df + t2); // 1 - h
    let large = df / (df + t2); // h
    let (a, b) = (df / 2.0, 0.5);
    // P(|T| > |t|).
    let both = if small < (b + 1.0) / (a + b + 2.0) {
        checked_beta_reg(b, a, small).map(|lower| 1.0 - lower)
    } else {
        checked_beta_reg(a, b, large)
    };
    match both {
        Ok(both) if t > 0.0 => both / 2.0,
        Ok(both) => 1.0 - both / 2.0,
        Err(_) => f64::NAN,
    }
}
