//! IRT calibration, ability estimates and plausible values against
//! published values (mirt's LSAT-7 2PL fit), closed forms and simulation.

mod reference_responses;

use reference_responses::reference_responses;

use literacy_core::estimate::plausible::Rubin;
use literacy_core::irt::{
    AbilityMethod, Calibration, CalibrationOptions, CategoryResponses, Grid, ItemEstimate,
    ItemModel, ItemParams, ModelKind, calibrate, estimate_ability, plausible_values, score,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A dichotomous item's parameters.
fn p(e: &ItemEstimate) -> ItemParams {
    e.params().expect("a dichotomous item")
}

/// Calibrates every item of `data` as `model` (no groups, no weights) to
/// `tolerance`.
fn fit_all(
    data: &CategoryResponses,
    model: ModelKind,
    tolerance: f64,
    standard_errors: bool,
) -> Calibration {
    let n_items = data.categories().len();
    calibrate(
        data,
        None,
        None,
        &CalibrationOptions {
            tolerance,
            standard_errors,
            ..CalibrationOptions::all(model, n_items)
        },
    )
    .expect("calibrated")
}

/// Right/wrong item models from their parameters.
fn models(items: &[ItemParams]) -> Vec<ItemModel> {
    items.iter().copied().map(ItemModel::Dichotomous).collect()
}

/// The 32 LSAT-7 patterns and their frequencies.
fn lsat7_patterns() -> (Vec<[u8; 5]>, Vec<f64>) {
    let mut patterns = Vec::new();
    let mut freq = Vec::new();
    for line in include_str!("fixtures/lsat7.csv").lines() {
        if line.starts_with('#') || line.starts_with("item1") {
            continue;
        }
        let v: Vec<u32> = line.split(',').map(|x| x.parse().expect("count")).collect();
        patterns.push([v[0], v[1], v[2], v[3], v[4]].map(|x| x as u8));
        freq.push(f64::from(v[5]));
    }
    (patterns, freq)
}

/// The 1,000 LSAT-7 examinees, one row each.
fn lsat7() -> CategoryResponses {
    let (patterns, freq) = lsat7_patterns();
    let mut cells = Vec::new();
    for (p, f) in patterns.iter().zip(&freq) {
        for _ in 0..*f as usize {
            cells.extend_from_slice(p);
        }
    }
    CategoryResponses::dichotomous(5, cells).expect("LSAT-7 cells")
}

/// mirt 1.47.5, `mirt(expand.table(LSAT7), 1)` (61 rectangular quadrature
/// points on [-6, 6], EM tolerance 1e-4), as printed in the `LSAT7` help
/// page's example: a1 and d per item, log-likelihood, AIC and BIC.
const MIRT_A: [f64; 5] = [0.988, 1.081, 1.706, 0.765, 0.736];
const MIRT_D: [f64; 5] = [1.856, 0.808, 1.804, 0.486, 1.855];
const MIRT_LOGLIK: f64 = -2658.805;
const MIRT_AIC: f64 = 5337.61;
const MIRT_BIC: f64 = 5386.688;

#[test]
fn lsat7_two_pl_reproduces_mirt() {
    let fit = calibrate(
        &lsat7(),
        None,
        None,
        &CalibrationOptions::all(ModelKind::TwoPl, 5),
    )
    .unwrap();
    assert!(fit.convergence.converged, "{:?}", fit.convergence);
    assert_eq!(fit.n_parameters, 10);
    assert!(
        (fit.log_likelihood - MIRT_LOGLIK).abs() < 1e-3,
        "{}",
        fit.log_likelihood
    );
    assert!((fit.aic - MIRT_AIC).abs() < 2e-3, "{}", fit.aic);
    assert!((fit.bic - MIRT_BIC).abs() < 2e-3, "{}", fit.bic);
    for (j, item) in fit.items.iter().enumerate() {
        // mirt prints 3 decimals and stops at an EM tolerance of 1e-4.
        assert!((p(item).a - MIRT_A[j]).abs() < 2e-3, "a{j}: {item:?}");
        assert!((p(item).d - MIRT_D[j]).abs() < 2e-3, "d{j}: {item:?}");
        let b = -MIRT_D[j] / MIRT_A[j];
        assert!((item.steps[0] - b).abs() < 5e-3, "b{j}: {item:?}");
        assert!(item.se_a > 0.05 && item.se_a < 0.5, "{item:?}");
        assert!(item.se_d[0] > 0.05 && item.se_d[0] < 0.5, "{item:?}");
        assert!(item.se_steps[0].is_finite() && item.se_c.is_nan());
    }
}

#[test]
fn frequency_weights_equal_expanded_rows_and_missing_rows_are_skipped() {
    let (patterns, freq) = lsat7_patterns();
    let compact = CategoryResponses::dichotomous(5, patterns.concat()).unwrap();
    let options = CalibrationOptions {
        standard_errors: false,
        tolerance: 1e-8,
        ..CalibrationOptions::all(ModelKind::TwoPl, 5)
    };
    let weighted = calibrate(&compact, None, Some(&freq), &options).unwrap();
    // Adding respondents with no answers changes nothing.
    let mut cells = lsat7().cells().to_vec();
    cells.extend([CategoryResponses::MISSING; 10]);
    let expanded = calibrate(
        &CategoryResponses::dichotomous(5, cells).unwrap(),
        None,
        None,
        &options,
    )
    .unwrap();
    assert!((weighted.log_likelihood - expanded.log_likelihood).abs() < 1e-8);
    for (w, e) in weighted.items.iter().zip(&expanded.items) {
        assert!((p(w).a - p(e).a).abs() < 1e-7);
        assert!((p(w).d - p(e).d).abs() < 1e-7);
    }
}

#[test]
fn nested_models_on_lsat7_order_their_likelihoods() {
    let data = lsat7();
    let fit = |model| fit_all(&data, model, 1e-5, true);
    let (rasch, one, two, three) = (
        fit(ModelKind::Rasch),
        fit(ModelKind::OnePl),
        fit(ModelKind::TwoPl),
        fit(ModelKind::ThreePl),
    );
    assert_eq!(
        [
            rasch.n_parameters,
            one.n_parameters,
            two.n_parameters,
            three.n_parameters
        ],
        [5, 6, 10, 15]
    );
    assert!(rasch.log_likelihood <= one.log_likelihood + 1e-6);
    assert!(one.log_likelihood <= two.log_likelihood + 1e-6);
    let slope = p(&one.items[0]).a;
    assert!(one.items.iter().all(|i| p(i).a == slope && i.se_a > 0.0));
    assert!(rasch.items.iter().all(|i| p(i).a == 1.0 && i.se_a.is_nan()));
    for item in &three.items {
        assert!(p(item).c > 0.0 && p(item).c < 0.5, "{item:?}");
        assert!(item.se_c.is_finite() && item.se_c > 0.0, "{item:?}");
    }
    assert!(three.convergence.converged);
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.random::<f64>().max(1e-300);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Responses drawn from known item parameters for the given abilities.
fn simulate(items: &[ItemParams], theta: &[f64], seed: u64) -> CategoryResponses {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cells = Vec::with_capacity(theta.len() * items.len());
    for &t in theta {
        for item in items {
            cells.push(u8::from(rng.random::<f64>() < item.p(t)));
        }
    }
    CategoryResponses::dichotomous(items.len(), cells).expect("0/1 cells")
}

fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    sxy / (sxx * syy).sqrt()
}

#[test]
fn two_pl_recovers_known_parameters_within_their_standard_errors() {
    let mut rng = ChaCha8Rng::seed_from_u64(20_260_401);
    let truth: Vec<ItemParams> = (0..20)
        .map(|_| {
            // Slopes spread enough that the expected correlation of
            // estimates with truth (about 0.99 with SEs near 0.07) clears
            // 0.98 by a margin.
            let a = rng.random_range(0.5..2.5);
            let b = rng.random_range(-2.0..2.0);
            ItemParams::from_difficulty(a, b, 0.0)
        })
        .collect();
    let theta: Vec<f64> = (0..5000).map(|_| normal(&mut rng)).collect();
    let data = simulate(&truth, &theta, 7);
    let fit = fit_all(&data, ModelKind::TwoPl, 1e-4, true);
    assert!(fit.convergence.converged);
    let z: Vec<f64> = fit
        .items
        .iter()
        .zip(&truth)
        .flat_map(|(est, t)| [(p(est).a - t.a) / est.se_a, (p(est).d - t.d) / est.se_d[0]])
        .collect();
    // 40 parameters: about 0.1 expected outside 3 SE.
    let outside = z.iter().filter(|z| z.abs() > 3.0).count();
    assert!(outside <= 1, "{outside} parameters outside 3 SE: {z:?}");
    // The standard errors are neither too small nor too large: the mean
    // squared z is chi-square(40) / 40, between 0.52 and 1.59 with
    // probability 0.99.
    let mean_z2 = z.iter().map(|z| z * z).sum::<f64>() / z.len() as f64;
    assert!(mean_z2 > 0.52 && mean_z2 < 1.59, "mean z^2 {mean_z2}");
    let a_est: Vec<f64> = fit.items.iter().map(|i| p(i).a).collect();
    let a_true: Vec<f64> = truth.iter().map(|i| i.a).collect();
    let b_est: Vec<f64> = fit.items.iter().map(|i| i.steps[0]).collect();
    let b_true: Vec<f64> = truth.iter().map(|i| i.b()).collect();
    assert!(correlation(&a_est, &a_true) > 0.98);
    assert!(correlation(&b_est, &b_true) > 0.99);
}

fn one(method: AbilityMethod, items: &[ItemParams], row: &[u8]) -> (f64, f64) {
    let a = estimate_ability(&models(items), row, method, &Grid::standard());
    (a.theta, a.se)
}

#[test]
fn ability_estimates_on_closed_forms() {
    use AbilityMethod::{Eap, Map, Mle, Wle};
    // One 2PL item: the WLE equation a (1 - P) + a (1 - 2P) / 2 = 0 gives
    // P = 3/4 for a right answer, P = 1/4 for a wrong one.
    let item = [ItemParams::from_difficulty(1.7, 0.4, 0.0)];
    let (t, se) = one(Wle, &item, &[1]);
    assert!((t - (0.4 + 3f64.ln() / 1.7)).abs() < 1e-9, "{t}");
    let info = 1.7f64.powi(2) * 0.75 * 0.25;
    assert!((se - 1.0 / info.sqrt()).abs() < 1e-9);
    let (t, _) = one(Wle, &item, &[0]);
    assert!((t - (0.4 - 3f64.ln() / 1.7)).abs() < 1e-9, "{t}");
    // MLE: infinite for all right / all wrong, NaN without answers.
    assert_eq!(one(Mle, &item, &[1]), (f64::INFINITY, f64::INFINITY));
    assert_eq!(one(Mle, &item, &[0]).0, f64::NEG_INFINITY);
    assert!(one(Mle, &item, &[CategoryResponses::MISSING]).0.is_nan());
    assert!(one(Wle, &item, &[CategoryResponses::MISSING]).0.is_nan());
    // Without answers EAP is the prior: mean 0, SD 1 (on the grid).
    let (t, se) = one(Eap, &item, &[CategoryResponses::MISSING]);
    assert!(t.abs() < 1e-12 && (se - 1.0).abs() < 1e-6, "{t} {se}");
    // MAP for one right answer solves a (1 - P(theta)) = theta.
    let (t, se) = one(Map, &item, &[1]);
    let p = item[0].p(t);
    assert!((1.7 * (1.0 - p) - t).abs() < 1e-9, "{t}");
    assert!((se - 1.0 / (1.7f64.powi(2) * p * (1.0 - p) + 1.0).sqrt()).abs() < 1e-9);
    // EAP against an independent fine trapezoid integral of the posterior.
    let (t, se) = one(Eap, &item, &[1]);
    let (mut m0, mut m1, mut m2) = (0.0, 0.0, 0.0);
    for k in 0..=12_000 {
        let x = -6.0 + 1e-3 * f64::from(k);
        let w = if k == 0 || k == 12_000 { 0.5 } else { 1.0 };
        let f = w * (-0.5 * x * x).exp() * item[0].p(x);
        m0 += f;
        m1 += f * x;
        m2 += f * x * x;
    }
    let (mean, sd) = (m1 / m0, (m2 / m0 - (m1 / m0).powi(2)).sqrt());
    assert!(
        (t - mean).abs() < 1e-6 && (se - sd).abs() < 1e-6,
        "{t} {mean} {se} {sd}"
    );
    // Two identical items, one right: the MLE and WLE are the difficulty,
    // SE sqrt(2) / a.
    let two = [item[0], item[0]];
    for method in [Mle, Wle] {
        let (t, se) = one(method, &two, &[1, 0]);
        assert!((t - 0.4).abs() < 1e-9, "{method:?} {t}");
        assert!((se - 2f64.sqrt() / 1.7).abs() < 1e-9);
    }
    // A symmetric Rasch test, half right: every estimator gives 0.
    let sym: Vec<ItemParams> = [-1.5, -0.5, 0.5, 1.5]
        .iter()
        .map(|&b| ItemParams::from_difficulty(1.0, b, 0.0))
        .collect();
    for method in [Eap, Map, Mle, Wle] {
        for row in [[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1, 1]] {
            let (t, se) = one(method, &sym, &row);
            assert!(t.abs() < 1e-9, "{method:?} {row:?} {t}");
            assert!(se.is_finite() && se > 0.0);
        }
    }
    // WLE is finite for all right and all wrong, also under the 3PL, and
    // MLE/WLE/EAP are ordered: EAP shrinks toward 0.
    let three: Vec<ItemParams> = sym.iter().map(|i| ItemParams { c: 0.2, ..*i }).collect();
    for items in [&sym, &three] {
        let (w_hi, _) = one(Wle, items, &[1, 1, 1, 1]);
        let (w_lo, _) = one(Wle, items, &[0, 0, 0, 0]);
        let (e_hi, _) = one(Eap, items, &[1, 1, 1, 1]);
        assert!(w_hi.is_finite() && w_lo.is_finite() && w_lo < w_hi);
        assert!(e_hi > 0.0 && e_hi < w_hi);
    }
    // The Rasch symmetry also gives WLE(all wrong) = -WLE(all right).
    let (w_hi, _) = one(Wle, &sym, &[1, 1, 1, 1]);
    let (w_lo, _) = one(Wle, &sym, &[0, 0, 0, 0]);
    assert!((w_hi + w_lo).abs() < 1e-9);
}

#[test]
fn score_runs_over_all_respondents_in_order() {
    let sym: Vec<ItemParams> = [-1.0, 0.0, 1.0]
        .iter()
        .map(|&b| ItemParams::from_difficulty(1.2, b, 0.0))
        .collect();
    let data = CategoryResponses::dichotomous(3, vec![1, 1, 1, 0, 0, 0, 1, 255, 0]).unwrap();
    let out = score(&models(&sym), &data, AbilityMethod::Mle, &Grid::standard()).unwrap();
    assert_eq!(out[0].theta, f64::INFINITY);
    assert_eq!(out[1].theta, f64::NEG_INFINITY);
    assert!(out[2].theta.abs() < 1e-9);
    assert!(
        score(
            &models(&sym[..2]),
            &data,
            AbilityMethod::Eap,
            &Grid::standard()
        )
        .is_err()
    );
}

#[test]
fn plausible_values_estimate_the_share_above_a_cut_where_eap_does_not() {
    // 6 items, 20,000 respondents from N(0, 1); cut 1.95, true share 2.56%.
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let items: Vec<ItemParams> = [-1.0, -0.5, 0.0, 0.3, 0.8, 1.2]
        .iter()
        .map(|&b| ItemParams::from_difficulty(1.3, b, 0.0))
        .collect();
    let theta: Vec<f64> = (0..20_000).map(|_| normal(&mut rng)).collect();
    let data = simulate(&items, &theta, 15);
    let cut = 1.95;
    let share = |v: &[f64]| v.iter().filter(|&&t| t >= cut).count() as f64 / v.len() as f64;
    let true_share = share(&theta);
    let eap: Vec<f64> = score(
        &models(&items),
        &data,
        AbilityMethod::Eap,
        &Grid::standard(),
    )
    .unwrap()
    .iter()
    .map(|a| a.theta)
    .collect();
    let pv = plausible_values(&models(&items), &data, &Grid::standard(), 5, 99).unwrap();
    assert_eq!(
        pv,
        plausible_values(&models(&items), &data, &Grid::standard(), 5, 99).unwrap()
    );
    let shares: Vec<f64> = pv.iter().map(|v| share(v)).collect();
    let n = theta.len() as f64;
    let variances: Vec<f64> = shares.iter().map(|p| p * (1.0 - p) / n).collect();
    let combined = Rubin::new(&shares, &variances, f64::INFINITY).unwrap();
    let eap_share = share(&eap);
    // The sample's true share is known exactly; PVs hit it within 3 of
    // their combined standard errors, EAP falls far short.
    assert!(
        (combined.estimate - true_share).abs() < 3.0 * combined.se(),
        "pv {} true {true_share} se {}",
        combined.estimate,
        combined.se()
    );
    assert!(
        eap_share < 0.5 * true_share,
        "eap {eap_share} true {true_share}"
    );
    // PVs reproduce the population's variance; EAPs shrink it.
    let var = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64
    };
    assert!((var(&pv[0]) - 1.0).abs() < 0.05, "{}", var(&pv[0]));
    assert!(var(&eap) < 0.8);
}

#[test]
fn rubin_rules_by_hand() {
    // Without a complete-data df: Rubin's (1987) rules.
    let rubin = |e: &[f64], v: &[f64]| Rubin::new(e, v, f64::INFINITY);
    let r = rubin(&[1.0, 2.0, 3.0], &[0.5, 0.7, 0.9]).unwrap();
    assert!((r.estimate - 2.0).abs() < 1e-15);
    assert!((r.within - 0.7).abs() < 1e-15);
    assert!((r.between - 1.0).abs() < 1e-15);
    // T = W + (1 + 1/3) B; df = (M - 1) (1 + W / ((1 + 1/M) B))^2.
    assert!((r.total_variance - (0.7 + 4.0 / 3.0)).abs() < 1e-14);
    assert!((r.se() - r.total_variance.sqrt()).abs() < 1e-15);
    let df = 2.0 * (1.0_f64 + 0.7 / (4.0 / 3.0)).powi(2);
    assert!((r.df - df).abs() < 1e-12, "{}", r.df);
    assert!((r.rubin_df - df).abs() < 1e-12);
    let same = rubin(&[2.0, 2.0], &[0.1, 0.3]).unwrap();
    assert_eq!((same.total_variance, same.df), (0.2, f64::INFINITY));
    assert!(rubin(&[1.0], &[0.1]).is_err());
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    assert!(CategoryResponses::dichotomous(3, vec![0, 1]).is_err());
    assert!(CategoryResponses::dichotomous(2, vec![0, 2]).is_err());
    // An item everyone answered right is not estimable.
    let data = CategoryResponses::dichotomous(2, vec![1, 0, 1, 1, 1, 0]).unwrap();
    assert!(
        calibrate(
            &data,
            None,
            None,
            &CalibrationOptions::all(ModelKind::TwoPl, 2)
        )
        .is_err()
    );
    let data = CategoryResponses::dichotomous(2, vec![1, 0, 0, 1, 1, 1, 0, 0]).unwrap();
    assert!(
        calibrate(
            &data,
            None,
            Some(&[1.0, -1.0, 1.0, 1.0]),
            &CalibrationOptions::all(ModelKind::TwoPl, 2)
        )
        .is_err()
    );
    assert!(
        calibrate(
            &data,
            None,
            Some(&[1.0]),
            &CalibrationOptions::all(ModelKind::TwoPl, 2)
        )
        .is_err()
    );
}

/// Rows of a CSV fixture after its header, split on commas.
fn csv_rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect()
}

fn num(x: &str) -> f64 {
    x.parse().expect("number")
}

#[test]
fn lsat7_two_pl_matches_python_mirt_with_oakes_standard_errors() {
    // fixtures/irt_reference.py: PyPI mirt 1.2.0, 61 points, tolerance 1e-8.
    let reference = csv_rows(include_str!("fixtures/lsat7_mirt_py.csv"));
    let fit = fit_all(&lsat7(), ModelKind::TwoPl, 1e-8, true);
    for (item, r) in fit.items.iter().zip(&reference) {
        assert!((p(item).a - num(r[1])).abs() < 1e-5, "{item:?} {r:?}");
        assert!((item.steps[0] - num(r[2])).abs() < 1e-5, "{item:?} {r:?}");
        assert!((item.se_a - num(r[3])).abs() < 1e-5, "{item:?} {r:?}");
        assert!(
            (item.se_steps[0] - num(r[4])).abs() < 1e-5,
            "{item:?} {r:?}"
        );
        assert!((fit.log_likelihood - num(r[5])).abs() < 1e-6);
    }
}

#[test]
fn generated_data_matches_python_mirt() {
    let data = reference_responses();
    let reference = csv_rows(include_str!("fixtures/irt_reference_params.csv"));
    // Columns: model, item, a, b, c, se_a, se_b, se_c, log_likelihood,
    // log_posterior.
    // mirt's "1PL" fixes every slope at 1 with a N(0, 1) latent: our Rasch;
    // "1PLc" (one common slope) comes from a direct scipy maximisation.
    let cases = [
        ("2PL", ModelKind::TwoPl, 1e-5),
        ("1PL", ModelKind::Rasch, 1e-5),
        ("1PLc", ModelKind::OnePl, 1e-5),
        ("3PL", ModelKind::ThreePl, 1e-4),
    ];
    for (label, model, tol) in cases {
        let tolerance = if model == ModelKind::ThreePl {
            1e-7
        } else {
            1e-8
        };
        let fit = fit_all(&data, model, tolerance, true);
        assert!(fit.convergence.converged, "{label} {:?}", fit.convergence);
        let rows: Vec<_> = reference.iter().filter(|r| r[0] == label).collect();
        assert_eq!(rows.len(), 12);
        for (item, r) in fit.items.iter().zip(rows) {
            let close = |x: f64, col: usize| {
                let want = num(r[col]);
                want.is_nan() || (x - want).abs() < tol
            };
            assert!(close(p(item).a, 2), "{label} a {item:?} {r:?}");
            assert!(close(item.steps[0], 3), "{label} b {item:?} {r:?}");
            assert!(close(p(item).c, 4), "{label} c {item:?} {r:?}");
            if model != ModelKind::Rasch {
                assert!(close(item.se_a, 5), "{label} se_a {item:?} {r:?}");
            }
            assert!(close(item.se_steps[0], 6), "{label} se_b {item:?} {r:?}");
            if model == ModelKind::ThreePl {
                assert!(close(item.se_c, 7), "{label} se_c {item:?} {r:?}");
            }
            // The 3PL maximises the posterior: its log-likelihood moves
            // with c at a rate of about 60 per unit (the prior's slope), so
            // c differences of 1e-6 show as 1e-4; the log posterior is flat.
            let ll_tol = if model == ModelKind::ThreePl {
                1e-3
            } else {
                1e-5
            };
            assert!((fit.log_likelihood - num(r[8])).abs() < ll_tol, "{label}");
            assert!(
                (fit.log_posterior - num(r[9])).abs() < 1e-5,
                "{label} {}",
                fit.log_posterior
            );
        }
    }
}

#[test]
fn ability_estimates_match_python_mirt_fscores() {
    let params: Vec<ItemParams> = csv_rows(include_str!("fixtures/irt_reference_params.csv"))
        .iter()
        .filter(|r| r[0] == "2PL")
        .map(|r| ItemParams::from_difficulty(num(r[2]), num(r[3]), 0.0))
        .collect();
    let data = reference_responses();
    let grid = Grid::standard();
    let mut worst = [0.0_f64; 8];
    for r in csv_rows(include_str!("fixtures/irt_reference_scores.csv")) {
        let row = data.row(r[0].parse().unwrap());
        let methods = [
            AbilityMethod::Eap,
            AbilityMethod::Map,
            AbilityMethod::Wle,
            AbilityMethod::Mle,
        ];
        for (k, method) in methods.into_iter().enumerate() {
            let ours = estimate_ability(&models(&params), row, method, &grid);
            let (theta, se) = (num(r[1 + 2 * k]), num(r[2 + 2 * k]));
            if method == AbilityMethod::Mle && se.is_infinite() {
                // mirt reports its bound (+-6) for all-right / all-wrong.
                assert_eq!(ours.theta, theta.signum() * f64::INFINITY, "{r:?}");
                continue;
            }
            worst[2 * k] = worst[2 * k].max((ours.theta - theta).abs());
            worst[2 * k + 1] = worst[2 * k + 1].max((ours.se - se).abs());
        }
    }
    assert!(worst.iter().all(|w| *w < 1e-5), "{worst:?}");
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // More than one block of 1,024 respondents, so the work is split.
    let data = {
        let mut cells = reference_responses().cells().to_vec();
        cells.truncate(12 * 1500);
        CategoryResponses::dichotomous(12, cells).unwrap()
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let fit = fit_all(&data, ModelKind::TwoPl, 1e-4, false);
            let pv = plausible_values(&fit.models(), &data, &Grid::standard(), 3, 5).unwrap();
            let wle = score(&fit.models(), &data, AbilityMethod::Wle, &Grid::standard()).unwrap();
            // Debug prints every f64 so that it reads back to the same
            // bits (and NaN, unequal to itself, as "NaN").
            format!("{fit:?} {pv:?} {wle:?}")
        })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn squarem_reaches_the_plain_em_fixed_point_in_fewer_e_steps() {
    let data = lsat7();
    for model in [ModelKind::TwoPl, ModelKind::OnePl, ModelKind::ThreePl] {
        let fit = |accelerate| {
            calibrate(
                &data,
                None,
                None,
                &CalibrationOptions {
                    accelerate,
                    tolerance: 1e-9,
                    standard_errors: false,
                    ..CalibrationOptions::all(model, 5)
                },
            )
            .unwrap()
        };
        let (plain, fast) = (fit(false), fit(true));
        assert!(plain.convergence.converged && fast.convergence.converged);
        assert!(
            fast.convergence.iterations < plain.convergence.iterations,
            "{model:?} {:?} {:?}",
            fast.convergence,
            plain.convergence
        );
        for (x, y) in plain.items.iter().zip(&fast.items) {
            for (u, v) in [(p(x).a, p(y).a), (p(x).d, p(y).d), (p(x).c, p(y).c)] {
                assert!((u - v).abs() < 1e-6, "{model:?} {x:?} {y:?}");
            }
        }
        assert!((plain.log_posterior - fast.log_posterior).abs() < 1e-8);
    }
}
