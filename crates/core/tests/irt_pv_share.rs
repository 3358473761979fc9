//! The share above an ability cut from a clustered sample, by simulation
//! against a closed-form truth: plausible values estimated with the
//! design-based (Taylor) variance and combined by Rubin's rules are
//! unbiased and their intervals cover; EAP scores are biased downwards.
//! (`tests/irt.rs` shows the PV-vs-EAP point bias on one simple random
//! sample; this adds the design: clusters, strata, unequal weights, and the
//! combined standard error.)
//!
//! Each repetition draws a new sample from the superpopulation: 12 strata
//! x 6 PSUs x 40 respondents; ability `theta = u_psu + e` with
//! `u ~ N(0, 0.4^2)`, `e ~ N(0, 1 - 0.4^2)`, so `theta ~ N(0, 1)` in every
//! stratum and the population share above the cut 1.5 is
//! `1 - Phi(1.5) = 0.066807201268858` whatever the weights. Responses to 8
//! 2PL items with the true parameters; 5 plausible values per respondent
//! from the N(0, 1) posterior on the grid. Weights differ by stratum.

use literacy_core::design::{Design, Fpc, LonelyPsu};
use literacy_core::estimate::{
    self, Calibration, Domains, Options, Variance, at_or_above, estimate_plausible,
};
use literacy_core::irt::{
    AbilityMethod, CategoryResponses, Grid, ItemModel, ItemParams, plausible_values, score,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `1 - Phi(1.5)` (R: `pnorm(1.5, lower.tail = FALSE)`).
const TRUE_SHARE: f64 = 0.066_807_201_268_858_06;
const CUT: f64 = 1.5;
const REPETITIONS: usize = 60;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.random::<f64>().max(1e-300);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

struct Repetition {
    pv: f64,
    pv_se: f64,
    pv_low: f64,
    pv_high: f64,
    within: f64,
    eap: f64,
}

fn repetition(items: &[ItemParams], sd_u: f64, seed: u64) -> Repetition {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (strata, psus, size) = (12, 6, 40);
    let (mut stratum, mut psu, mut weights, mut theta) = (vec![], vec![], vec![], vec![]);
    let sd_e = (1.0 - sd_u * sd_u).sqrt();
    for h in 0..strata {
        for j in 0..psus {
            let u = sd_u * normal(&mut rng);
            for _ in 0..size {
                stratum.push(h.to_string());
                psu.push(format!("{h}-{j}"));
                weights.push(50.0 + 25.0 * f64::from(h % 4));
                theta.push(u + sd_e * normal(&mut rng));
            }
        }
    }
    let mut cells = Vec::with_capacity(theta.len() * items.len());
    for &t in &theta {
        for item in items {
            cells.push(u8::from(rng.random::<f64>() < item.p(t)));
        }
    }
    let responses = CategoryResponses::dichotomous(items.len(), cells).expect("0/1 cells");
    let models: Vec<ItemModel> = items.iter().copied().map(ItemModel::Dichotomous).collect();
    let design = Design::new(
        theta.len(),
        Some(&stratum),
        Some(&psu),
        Fpc::None,
        LonelyPsu::Fail,
    )
    .expect("design");
    let domains = Domains::whole(theta.len());
    let variance = Variance::Taylor(Calibration::None);
    let options = Options::default();

    let pvs = plausible_values(&models, &responses, &Grid::standard(), 5, seed ^ 0xABCD)
        .expect("plausible values");
    let outcomes: Vec<Vec<f64>> = pvs.iter().map(|v| at_or_above(v, CUT)).collect();
    let ys: Vec<&[f64]> = outcomes.iter().map(Vec::as_slice).collect();
    let combined = estimate_plausible(&design, &weights, &ys, &domains, variance, &options)
        .expect("combined")
        .remove(0);

    let eap: Vec<f64> = score(&models, &responses, AbilityMethod::Eap, &Grid::standard())
        .expect("eap")
        .iter()
        .map(|a| a.theta)
        .collect();
    let eap_share = estimate::estimate(
        &design,
        &weights,
        &at_or_above(&eap, CUT),
        &domains,
        variance,
        &options,
    )
    .expect("eap share")
    .remove(0)
    .estimate;
    Repetition {
        pv: combined.combined.estimate,
        pv_se: combined.combined.se,
        pv_low: combined.combined.ci_low,
        pv_high: combined.combined.ci_high,
        within: combined.rubin.within,
        eap: eap_share,
    }
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

fn items() -> Vec<ItemParams> {
    [
        (1.2, -1.5),
        (1.0, -0.8),
        (1.4, -0.3),
        (0.9, 0.0),
        (1.3, 0.4),
        (1.1, 0.9),
        (1.5, 1.3),
        (1.2, 1.8),
    ]
    .iter()
    .map(|&(a, b)| ItemParams::from_difficulty(a, b, 0.0))
    .collect()
}

fn mean(x: impl Iterator<Item = f64>) -> f64 {
    x.sum::<f64>() / REPETITIONS as f64
}

/// Unbiased PV share, biased EAP share, covering intervals; returns the
/// repetitions for further checks.
fn unbiased_and_covering(sd_u: f64, seed: u64) -> Vec<Repetition> {
    let items = items();
    let reps: Vec<Repetition> = (0..REPETITIONS)
        .map(|r| repetition(&items, sd_u, seed + r as u64))
        .collect();
    let (pv_mean, pv_sd) = mean_sd(&reps.iter().map(|r| r.pv).collect::<Vec<_>>());
    let (eap_mean, eap_sd) = mean_sd(&reps.iter().map(|r| r.eap).collect::<Vec<_>>());
    let root = (REPETITIONS as f64).sqrt();
    let (mc, eap_mc) = (pv_sd / root, eap_sd / root);
    // Unbiased: within 3 Monte Carlo standard errors of the truth.
    assert!(
        (pv_mean - TRUE_SHARE).abs() < 3.0 * mc,
        "PV mean {pv_mean} vs true {TRUE_SHARE} (MC se {mc})"
    );
    // EAP shrinks toward the mean: biased downwards far beyond MC error
    // (about 2.5% against 6.7%).
    assert!(
        eap_mean < TRUE_SHARE - 10.0 * eap_mc.max(mc),
        "EAP mean {eap_mean} vs true {TRUE_SHARE}"
    );
    // 95% logit intervals with the Barnard-Rubin df: at least 57 of 60
    // cover (the expected count at exactly 95%; they are conservative, below).
    let covered = reps
        .iter()
        .filter(|r| r.pv_low <= TRUE_SHARE && TRUE_SHARE <= r.pv_high)
        .count();
    assert!(covered >= 57, "{covered} of {REPETITIONS} intervals cover");
    // Rubin's total variance is conservative here, and the between-draw
    // part is real: T > W, and the mean SE is 1 to 2 times the spread of
    // the estimates over repetitions (see the next test for why).
    let mean_se = mean(reps.iter().map(|r| r.pv_se));
    let ratio = mean_se / pv_sd;
    assert!(
        (1.0..2.0).contains(&ratio),
        "mean SE {mean_se} vs SD {pv_sd}"
    );
    assert!(reps.iter().all(|r| r.within < r.pv_se * r.pv_se));
    reps
}

#[test]
fn clustered_abilities_plausible_values_unbiased_eap_biased_intervals_cover() {
    unbiased_and_covering(0.4, 1000);
}

/// Without a cluster effect the PV prior N(0, 1) is exactly the
/// population's distribution, and it is *known* to the imputation (not
/// estimated from the sample): the imputer has more information than the
/// design-based analysis, so Rubin's rules are conservative (Meng 1994).
/// In closed form: the average of the M shares varies as
/// `W - B + B / M` (the complete-data variance less the part the known
/// prior supplies, plus the draws' noise), while `T = W + (1 + 1/M) B`.
/// The repetitions' variance agrees with the first within what 60
/// repetitions can tell (relative error of a variance ~ sqrt(2/59) = 18%;
/// allowed 45%), and is far below T.
#[test]
fn with_a_known_population_distribution_rubin_is_conservative_by_the_closed_form() {
    let reps = unbiased_and_covering(0.0, 5000);
    let m = 5.0;
    let (_, sd) = mean_sd(&reps.iter().map(|r| r.pv).collect::<Vec<_>>());
    let w = mean(reps.iter().map(|r| r.within));
    let t = mean(reps.iter().map(|r| r.pv_se * r.pv_se));
    let b = (t - w) / (1.0 + 1.0 / m);
    let predicted = w - b + b / m;
    let actual = sd * sd;
    assert!(
        (actual / predicted - 1.0).abs() < 0.45,
        "actual {actual} predicted {predicted} (W {w}, B {b}, T {t})"
    );
    assert!(actual < 0.6 * t, "actual {actual} T {t}");
}
