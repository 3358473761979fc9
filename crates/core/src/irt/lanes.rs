//! The E-step's arithmetic written so that the compiler turns it into
//! vector instructions: sums over `LANES` quadrature points at a time, and
//! an exponential without branches or tables (a loop over a row of it is
//! vectorised). The callers run it through `pulp::Arch::dispatch`, so it
//! uses AVX-512 or AVX2 where the CPU has it; no fused multiply-add, so
//! every CPU computes the same bits.

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

/// The sum of `x * y` over padded rows, `LANES` partial sums at a time.
#[inline(always)]
pub(super) fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    for (cx, cy) in x.chunks_exact(LANES).zip(y.chunks_exact(LANES)) {
        for ((a, u), v) in acc.iter_mut().zip(cx).zip(cy) {
            *a += u * v;
        }
    }
    acc.iter().sum()
}

/// `exp(x)` for `x <= 0` (`-inf` gives 0), within 1 unit in the last place
/// of std's (0 below [`EXP_MIN`]). Straight-line code without a branch or a
/// table, so that a loop over a row of it runs as vector instructions.
///
/// fdlibm's method (`e_exp.c`): `x = n ln 2 + r` with `n` the nearest
/// integer to `x / ln 2` and `|r| <= ln 2 / 2` (Cody and Waite's reduction
/// in two parts, `r = hi - lo`); `exp(r) = 1 + r + r c / (2 - c)` with
/// `c = r - r^2 P(r^2)`, `P` fdlibm's Remez polynomial of degree 4 (error
/// below 2^-59); times `2^n` written into the exponent bits.
#[inline(always)]
pub(super) fn exp_nonpositive(x: f64) -> f64 {
    let t = x * std::f64::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let (hi, lo) = (x - n * LN2_HI, n * LN2_LO);
    let r = hi - lo;
    let s = r * r;
    let c = r - s * (P[0] + s * (P[1] + s * (P[2] + s * (P[3] + s * P[4]))));
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    // t's low significand bits hold n (two's complement): 2^n's bits.
    let two_n = f64::from_bits(t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(1023) << 52);
    if x < EXP_MIN { 0.0 } else { y * two_n }
}

/// fdlibm's `P1..P5` of `e_exp.c` (Sun Microsystems, 1993), by their bits.
const P: [f64; 5] = [
    f64::from_bits(0x3fc5_5555_5555_553e),
    f64::from_bits(0xbf66_c16c_16be_bd93),
    f64::from_bits(0x3f11_566a_af25_de2c),
    f64::from_bits(0xbebb_bd41_c5d2_6bf1),
    f64::from_bits(0x3e66_3769_72be_a4d0),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Units in the last place between `a` and the correctly rounded `b`.
    fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn the_exponential_is_within_one_unit_in_the_last_place_of_std() {
        // std's exp (glibc's) is correctly rounded in nearly every case:
        // within 1 ulp of it, ours is within 2 of the true value.
        let n = 2_000_000;
        let worst = (0..n)
            .map(|i| EXP_MIN * (f64::from(i) / f64::from(n)).powf(1.7))
            .map(|x| ulps(exp_nonpositive(x), x.exp()))
            .max();
        assert!(worst <= Some(1), "{worst:?} ulps");
    }

    #[test]
    fn the_exponential_of_its_edges() {
        let exp = exp_nonpositive;
        assert_eq!([exp(0.0), exp(-0.0), exp(-1e-300)], [1.0; 3]);
        assert_eq!([exp(f64::NEG_INFINITY), exp(-709.0)], [0.0; 2]);
        let just_above = EXP_MIN + 1e-9;
        assert!(exp(just_above) > 0.0 && ulps(exp(just_above), just_above.exp()) <= 1);
        let half_ln2 = -0.5 * std::f64::consts::LN_2;
        assert!(ulps(exp(half_ln2), std::f64::consts::FRAC_1_SQRT_2) <= 1);
        assert!(ulps(exp(-1.0), (-1.0_f64).exp()) <= 1);
    }

    #[test]
    fn a_missing_value_stays_missing() {
        assert!(exp_nonpositive(f64::NAN).is_nan());
    }
}
