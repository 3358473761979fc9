//! Arithmetic on `LANES` quadrature points at a time, written as plain
//! loops over fixed-size arrays so that the compiler turns each into
//! vector instructions: the E-step's sums and its exponentials.

/// Quadrature points handled together (the grids are padded to a multiple).
pub(super) const LANES: usize = 8;

/// Below this the exponential is under the smallest normal `f64` (it is
/// taken as 0: such a posterior weight is below 2.3e-308 of the largest).
const EXP_MIN: f64 = -708.39;
/// Adding it rounds to an integer in the low bits of the significand.
const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
/// ln 2 split so that `n * LN2_HI` is exact for `|n| < 2^20` (the split of
/// fdlibm's `e_exp.c`: the high part keeps 32 significant bits).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// The rest of ln 2.
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// `acc += x` on `LANES` values.
#[inline(always)]
pub(super) fn lane_add(acc: &mut [f64], x: &[f64]) {
    for (a, b) in acc[..LANES].iter_mut().zip(&x[..LANES]) {
        *a += b;
    }
}

/// `exp(x)` of `LANES` values of at most 0 (`-inf` gives 0), within 2 units
/// in the last place of the correctly rounded value (0 below [`EXP_MIN`]).
///
/// `x = n ln 2 + r` with `n` the nearest integer to `x / ln 2` and
/// `|r| <= ln 2 / 2` (Cody and Waite's reduction in two parts), `exp(r)`
/// by its Taylor series to degree 13 (remainder below 1e-17 relative),
/// times `2^n` written into the exponent bits. No branch and no table, so
/// the loop runs as vector instructions.
#[inline(always)]
pub(super) fn exp_lanes(x: &mut [f64]) {
    // Each step is its own loop over the lanes: one vector instruction each.
    let x = &mut x[..LANES];
    let (mut n, mut bits, mut r) = ([0.0; LANES], [0_u64; LANES], [0.0; LANES]);
    for ((n, bits), v) in n.iter_mut().zip(&mut bits).zip(x.iter()) {
        let t = v * std::f64::consts::LOG2_E + ROUND;
        *n = t - ROUND;
        *bits = t.to_bits();
    }
    for ((r, n), v) in r.iter_mut().zip(&n).zip(x.iter()) {
        *r = (v - n * LN2_HI) - n * LN2_LO;
    }
    let mut p = [TAYLOR[13]; LANES];
    for c in TAYLOR[..13].iter().rev() {
        for (p, r) in p.iter_mut().zip(&r) {
            *p = *p * r + c;
        }
    }
    // t's low significand bits hold n (two's complement): 2^n's bits.
    for ((v, p), bits) in x.iter_mut().zip(&p).zip(&bits) {
        let two_n = f64::from_bits(bits.wrapping_sub(ROUND.to_bits()).wrapping_add(1023) << 52);
        *v = if *v < EXP_MIN { 0.0 } else { p * two_n };
    }
}

/// `1 / k!` for `k = 0..=13`.
const TAYLOR: [f64; 14] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Units in the last place between `a` and the correctly rounded `b`.
    fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn the_exponential_is_within_two_units_in_the_last_place_of_std() {
        // std's exp is within 1 ulp of the true value (glibc: correctly
        // rounded in nearly every case), so 2 against it bounds ours by 3.
        let mut worst = 0;
        let n = 2_000_000;
        for chunk in 0..n / LANES {
            let mut x = [0.0; LANES];
            for (l, v) in x.iter_mut().enumerate() {
                let i = chunk * LANES + l;
                *v = EXP_MIN * (i as f64 / n as f64).powf(1.7);
            }
            let want: Vec<f64> = x.iter().map(|v| v.exp()).collect();
            exp_lanes(&mut x);
            for (got, want) in x.iter().zip(&want) {
                worst = worst.max(ulps(*got, *want));
            }
        }
        assert!(worst <= 2, "{worst} ulps");
    }

    #[test]
    fn the_exponential_of_its_edges() {
        let mut x = [
            0.0,
            -0.0,
            f64::NEG_INFINITY,
            -709.0,
            EXP_MIN + 1e-9,
            -1e-300,
            -0.5 * std::f64::consts::LN_2,
            -1.0,
        ];
        exp_lanes(&mut x);
        assert_eq!(x[..4], [1.0, 1.0, 0.0, 0.0]);
        assert!(x[4] > 0.0 && ulps(x[4], (EXP_MIN + 1e-9_f64).exp()) <= 2);
        assert_eq!(x[5], 1.0);
        assert!(ulps(x[6], std::f64::consts::FRAC_1_SQRT_2) <= 1);
        assert!(ulps(x[7], (-1.0_f64).exp()) <= 1);
    }

    #[test]
    fn a_missing_value_stays_missing() {
        let mut x = [f64::NAN; LANES];
        exp_lanes(&mut x);
        assert!(x.iter().all(|v| v.is_nan()));
    }
}
