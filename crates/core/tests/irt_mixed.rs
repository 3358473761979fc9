//! Mixed instruments (2PL/3PL/Rasch and GPCM/PCM items), several groups
//! and anchor items, against PyPI mirt and an independent numpy/scipy
//! maximisation of the same quadrature likelihood
//! (`fixtures/irt_mixed_reference.py`), closed forms, structural identities
//! and recovery simulations.

mod item_probability;
mod reference_responses;

use item_probability::probability;
use reference_responses::reference_responses;

use std::collections::HashMap;

use literacy_core::irt::{
    AbilityMethod, Calibration, CalibrationOptions, CategoryResponses, Grid, IrtError, ItemModel,
    ItemParams, ModelKind, calibrate, estimate_ability, plausible_values,
    plausible_values_by_group, score,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

// ---------------------------------------------------------------- fixtures

/// Rows of a CSV fixture after its header, split on commas.
fn csv_rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
        .collect()
}

fn num(x: &str) -> f64 {
    x.parse().unwrap_or_else(|e| panic!("{x:?}: {e}"))
}

/// Category responses from a fixture (empty: missing), skipping `skip`
/// leading columns (the group).
fn responses(text: &str, skip: usize, categories: &[usize]) -> (CategoryResponses, Vec<usize>) {
    let mut cells = Vec::new();
    let mut groups = Vec::new();
    for row in csv_rows(text) {
        if skip > 0 {
            groups.push(row[0].parse().expect("group"));
        }
        cells.extend(row[skip..].iter().map(|x| match *x {
            "" => CategoryResponses::MISSING,
            x => x.parse().expect("category"),
        }));
    }
    (
        CategoryResponses::new(categories.to_vec(), cells).expect("fixture cells"),
        groups,
    )
}

const MIXED_CATS: [usize; 8] = [2, 2, 2, 3, 4, 3, 5, 4];
const GROUP_CATS: [usize; 6] = [2, 2, 3, 4, 3, 4];
const ANCHOR_CATS: [usize; 7] = [2, 3, 2, 4, 2, 3, 4];

/// `fixtures/irt_mixed_groups.csv`: two groups, items of 2, 2, 3, 4, 3 and
/// 4 categories; the responses and each respondent's group.
fn group_data() -> (CategoryResponses, Vec<usize>) {
    responses(
        include_str!("fixtures/irt_mixed_groups.csv"),
        1,
        &GROUP_CATS,
    )
}

/// The items of [`group_data`]: two right/wrong, then four GPCM.
fn group_kinds() -> Vec<ModelKind> {
    [vec![ModelKind::TwoPl; 2], vec![ModelKind::Gpcm; 4]].concat()
}

fn mixed_data() -> CategoryResponses {
    responses(
        include_str!("fixtures/irt_mixed_responses.csv"),
        0,
        &MIXED_CATS,
    )
    .0
}

/// Columns `from..` of a response matrix.
fn columns(data: &CategoryResponses, from: usize) -> CategoryResponses {
    let cats = data.categories()[from..].to_vec();
    let mut cells = Vec::new();
    for i in 0..data.n_respondents() {
        cells.extend_from_slice(&data.row(i)[from..]);
    }
    CategoryResponses::new(cats, cells).expect("columns")
}

/// `(fit, item, param) -> (value, se)` from `irt_mixed_params.csv`.
fn reference() -> HashMap<(String, usize, String), (f64, f64)> {
    csv_rows(include_str!("fixtures/irt_mixed_params.csv"))
        .into_iter()
        .map(|r| {
            (
                (
                    r[0].to_string(),
                    r[1].parse().expect("item"),
                    r[2].to_string(),
                ),
                (num(r[3]), num(r[4])),
            )
        })
        .collect()
}

fn get(
    reference: &HashMap<(String, usize, String), (f64, f64)>,
    fit: &str,
    item: usize,
    param: &str,
) -> (f64, f64) {
    *reference
        .get(&(fit.to_string(), item, param.to_string()))
        .unwrap_or_else(|| panic!("no {fit} item {item} {param}"))
}

/// The true item parameters of `irt_mixed_truth.csv` (`set`: anchor, groups).
fn truth(set: &str) -> Vec<ItemModel> {
    csv_rows(include_str!("fixtures/irt_mixed_truth.csv"))
        .into_iter()
        .filter(|r| r[0] == set)
        .map(|r| {
            let a = num(r[2]);
            let d: Vec<f64> = r[3].split(';').map(num).collect();
            if d.len() == 1 {
                ItemModel::Dichotomous(ItemParams { a, d: d[0], c: 0.0 })
            } else {
                ItemModel::Gpcm { a, d }
            }
        })
        .collect()
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:.10}, reference {want:.10}, difference {:.2e} > {tol:e}",
        (got - want).abs()
    );
}

fn tight(kinds: Vec<ModelKind>) -> CalibrationOptions {
    CalibrationOptions {
        tolerance: 1e-8,
        ..CalibrationOptions::new(kinds)
    }
}

fn intercepts(model: &ItemModel) -> Vec<f64> {
    match model {
        ItemModel::Dichotomous(p) => vec![p.d],
        ItemModel::Gpcm { d, .. } => d.clone(),
    }
}

// ------------------------------------------------------- against PyPI mirt

/// Checks a fit against mirt's rows `label` (a, step_k and their SEs).
fn check_against_mirt(fit: &Calibration, label: &str, tol: f64, ll_tol: f64) {
    let reference = reference();
    for (j, item) in fit.items.iter().enumerate() {
        let number = j + 1;
        let (a, se_a) = get(&reference, label, number, "a");
        close(
            &format!("{label} item {number} a"),
            item.model.slope(),
            a,
            tol,
        );
        if !se_a.is_nan() {
            close(&format!("{label} item {number} se a"), item.se_a, se_a, tol);
        }
        for (k, (step, se)) in item.steps.iter().zip(&item.se_steps).enumerate() {
            let (want, want_se) = get(&reference, label, number, &format!("step{}", k + 1));
            close(&format!("{label} item {number} step {k}"), *step, want, tol);
            close(
                &format!("{label} item {number} se step {k}"),
                *se,
                want_se,
                tol,
            );
        }
    }
    let (ll, _) = get(&reference, label, 0, "loglik");
    close(
        &format!("{label} log-likelihood"),
        fit.log_likelihood,
        ll,
        ll_tol,
    );
}

/// Checks a fit against the direct maximisation `label` (slopes,
/// intercepts, their SEs, free groups' means and SDs with SEs, and the
/// log-likelihood) to `tol`; anchored items are skipped.
fn check_against_direct(fit: &Calibration, label: &str, tol: f64) {
    let reference = reference();
    for (j, item) in fit.items.iter().enumerate() {
        if item.anchored {
            continue;
        }
        if item.kind != ModelKind::Pcm {
            let (a, se_a) = get(&reference, label, j + 1, "a");
            close(&format!("{label} item {j} a"), item.model.slope(), a, tol);
            close(&format!("{label} item {j} se a"), item.se_a, se_a, tol);
        }
        for (k, (d, se)) in intercepts(&item.model).iter().zip(&item.se_d).enumerate() {
            let (want, want_se) = get(&reference, label, j + 1, &format!("d{}", k + 1));
            close(&format!("{label} item {j} d{k}"), *d, want, tol);
            close(&format!("{label} item {j} se d{k}"), *se, want_se, tol);
        }
    }
    for (g, est) in fit.groups.iter().enumerate() {
        if !est.free {
            continue;
        }
        let (mean, se_mean) = get(&reference, label, 0, &format!("group{g}.mean"));
        let (sd, se_sd) = get(&reference, label, 0, &format!("group{g}.sd"));
        close(&format!("{label} group {g} mean"), est.mean, mean, tol);
        close(&format!("{label} group {g} sd"), est.sd, sd, tol);
        close(
            &format!("{label} group {g} se mean"),
            est.se_mean,
            se_mean,
            tol,
        );
        close(&format!("{label} group {g} se sd"), est.se_sd, se_sd, tol);
    }
    let (ll, _) = get(&reference, label, 0, "loglik");
    close(
        &format!("{label} log-likelihood"),
        fit.log_likelihood,
        ll,
        tol,
    );
}

#[test]
fn gpcm_matches_python_mirt() {
    let data = columns(&mixed_data(), 3);
    let fit = calibrate(&data, None, None, &tight(vec![ModelKind::Gpcm; 5])).unwrap();
    assert!(fit.convergence.converged, "{:?}", fit.convergence);
    // 5 slopes and 2 + 3 + 2 + 4 + 3 intercepts.
    assert_eq!(fit.n_parameters, 19);
    check_against_direct(&fit, "direct_gpcm", 1e-6);
    // mirt (SQUAREM, tolerance 1e-10) stops 2e-5 below the maximum in
    // log-likelihood; its parameters and SEs agree to 1e-5.
    check_against_mirt(&fit, "mirt_gpcm", 1e-5, 5e-5);
    close("AIC", fit.aic, -2.0 * fit.log_likelihood + 2.0 * 19.0, 1e-9);
}

#[test]
fn pcm_matches_python_mirt() {
    let data = columns(&mixed_data(), 3);
    let fit = calibrate(&data, None, None, &tight(vec![ModelKind::Pcm; 5])).unwrap();
    assert!(fit.convergence.converged, "{:?}", fit.convergence);
    assert_eq!(fit.n_parameters, 14);
    assert!(
        fit.items
            .iter()
            .all(|i| i.model.slope() == 1.0 && i.se_a.is_nan())
    );
    check_against_direct(&fit, "direct_pcm", 1e-6);
    check_against_mirt(&fit, "mirt_pcm", 1e-5, 1e-5);
}

#[test]
fn mixed_two_pl_and_gpcm_match_mirt_and_the_direct_maximum() {
    let data = mixed_data();
    let kinds = [vec![ModelKind::TwoPl; 3], vec![ModelKind::Gpcm; 5]].concat();
    let fit = calibrate(&data, None, None, &tight(kinds)).unwrap();
    assert!(fit.convergence.converged, "{:?}", fit.convergence);
    check_against_direct(&fit, "direct_mixed", 1e-6);
    // mirt's mixed formats run plain EM (no SQUAREM): it stops within
    // 5e-6 of the direct maximum.
    check_against_mirt(&fit, "mirt_mixed", 1e-5, 1e-5);
    assert_eq!(fit.labels[0], "item0.a");
    assert_eq!(fit.labels[8], "item3.d2");
    assert_eq!(fit.labels.len(), fit.n_parameters);
}

/// mirt's mixed fit as item models.
fn mirt_mixed_items() -> Vec<ItemModel> {
    let reference = reference();
    MIXED_CATS
        .iter()
        .enumerate()
        .map(|(j, &k)| {
            let a = get(&reference, "mirt_mixed", j + 1, "a").0;
            let steps: Vec<f64> = (1..k)
                .map(|s| get(&reference, "mirt_mixed", j + 1, &format!("step{s}")).0)
                .collect();
            if k == 2 {
                ItemModel::Dichotomous(ItemParams::from_difficulty(a, steps[0], 0.0))
            } else {
                ItemModel::gpcm_from_steps(a, &steps)
            }
        })
        .collect()
}

#[test]
fn ability_estimates_match_python_mirt_fscores() {
    let items = mirt_mixed_items();
    let data = mixed_data();
    let grid = Grid::standard();
    let methods = [
        AbilityMethod::Eap,
        AbilityMethod::Map,
        AbilityMethod::Wle,
        AbilityMethod::Mle,
    ];
    let mut worst = [0.0_f64; 8];
    let mut extremes = 0;
    for r in csv_rows(include_str!("fixtures/irt_mixed_scores.csv")) {
        let row = data.row(r[0].parse().expect("respondent"));
        for (k, method) in methods.into_iter().enumerate() {
            let ours = estimate_ability(&items, row, method, &grid);
            let (theta, se) = (num(r[1 + 2 * k]), num(r[2 + 2 * k]));
            if method == AbilityMethod::Mle && theta.abs() > 5.99 {
                // mirt stops at its bound (+-6) for all-top / all-bottom
                // patterns; ours is infinite.
                assert_eq!(ours.theta, theta.signum() * f64::INFINITY, "{r:?}");
                extremes += 1;
                continue;
            }
            worst[2 * k] = worst[2 * k].max((ours.theta - theta).abs());
            worst[2 * k + 1] = worst[2 * k + 1].max((ours.se - se).abs());
        }
    }
    assert!(extremes > 0);
    assert!(worst.iter().all(|w| *w < 1e-5), "{worst:?}");
    // score gives the same as one at a time.
    let all = score(&items, &data, AbilityMethod::Eap, &grid).unwrap();
    let one = estimate_ability(&items, data.row(7), AbilityMethod::Eap, &grid);
    assert_eq!(all[7], one);
}

// ------------------------------------- several groups, anchors (direct)

#[test]
fn two_groups_match_the_direct_maximum_and_recover_the_truth() {
    let (data, groups) = group_data();
    let kinds = group_kinds();
    let fit = calibrate(&data, Some(&groups), None, &tight(kinds)).unwrap();
    assert!(fit.convergence.converged, "{:?}", fit.convergence);
    check_against_direct(&fit, "direct_groups", 1e-6);
    let reference = reference();
    let [g0, g1] = [fit.groups[0], fit.groups[1]];
    assert!(!g0.free && g0.mean == 0.0 && g0.sd == 1.0 && g0.se_mean.is_nan());
    assert!(g1.free && g0.weight == 1500.0 && g1.weight == 1500.0);
    // mirt's multiple-group EM (Gauss-Hermite nodes, moment-matching
    // update) lands within 1e-5 of the same maximum.
    close(
        "mirt group 1 mean",
        g1.mean,
        get(&reference, "mirt_groups", 0, "group1.mean").0,
        2e-5,
    );
    close(
        "mirt group 1 sd",
        g1.sd,
        get(&reference, "mirt_groups", 0, "group1.sd").0,
        2e-5,
    );
    // The data were drawn with group 1 ~ N(0.5, 1.2^2).
    assert!((g1.mean - 0.5).abs() < 3.0 * g1.se_mean, "{g1:?}");
    assert!((g1.sd - 1.2).abs() < 3.0 * g1.se_sd, "{g1:?}");
    assert_eq!(fit.n_parameters, 2 * 2 + (3 + 4 + 3 + 4) + 2);
}

#[test]
fn anchored_calibration_matches_the_direct_maximum_and_recovers_the_population() {
    let (data, _) = responses(
        include_str!("fixtures/irt_mixed_anchor.csv"),
        0,
        &ANCHOR_CATS,
    );
    let truth = truth("anchor");
    let kinds: Vec<ModelKind> = ANCHOR_CATS
        .iter()
        .map(|&k| {
            if k == 2 {
                ModelKind::TwoPl
            } else {
                ModelKind::Gpcm
            }
        })
        .collect();
    let options = CalibrationOptions {
        anchors: (0..4).map(|j| (j, truth[j].clone())).collect(),
        ..tight(kinds)
    };
    let fit = calibrate(&data, None, None, &options).unwrap();
    assert!(fit.convergence.converged, "{:?}", fit.convergence);
    check_against_direct(&fit, "direct_anchor", 1e-6);
    for (j, item) in fit.items.iter().enumerate().take(4) {
        assert!(item.anchored && item.model == truth[j] && item.se_a.is_nan());
    }
    let g = fit.groups[0];
    assert!(g.free);
    // The population was N(0.4, 1.3^2); the new items were drawn on the
    // anchors' scale, so their estimates recover the truth too.
    assert!((g.mean - 0.4).abs() < 3.0 * g.se_mean, "{g:?}");
    assert!((g.sd - 1.3).abs() < 3.0 * g.se_sd, "{g:?}");
    for (j, (item, t)) in fit.items.iter().zip(&truth).enumerate().skip(4) {
        let z = (item.model.slope() - t.slope()) / item.se_a;
        assert!(z.abs() < 3.0, "item {j}: z {z}");
    }
}

// ------------------------------------------------- structural identities

#[test]
fn two_category_gpcm_and_pcm_equal_the_two_pl_and_rasch_fits() {
    // A two-category GPCM is the 2PL and a two-category PCM the Rasch
    // model: the right/wrong items and the partial credit items reach the
    // same maximum, through different code (the item models' own
    // probabilities, derivatives and starting values).
    let data = reference_responses();
    let cases = [
        (ModelKind::TwoPl, ModelKind::Gpcm),
        (ModelKind::Rasch, ModelKind::Pcm),
    ];
    for (model, kind) in cases {
        let tolerance = 1e-9;
        let fit = |kind| {
            calibrate(
                &data,
                None,
                None,
                &CalibrationOptions {
                    tolerance,
                    ..CalibrationOptions::new(vec![kind; 12])
                },
            )
            .unwrap()
        };
        let (old, new) = (fit(model), fit(kind));
        assert!(matches!(old.items[0].model, ItemModel::Dichotomous(_)));
        assert!(matches!(new.items[0].model, ItemModel::Gpcm { .. }));
        assert_eq!(old.n_parameters, new.n_parameters, "{kind:?}");
        close(
            &format!("{kind:?} loglik"),
            new.log_likelihood,
            old.log_likelihood,
            1e-7,
        );
        close(
            &format!("{kind:?} logpost"),
            new.log_posterior,
            old.log_posterior,
            1e-7,
        );
        for (o, n) in old.items.iter().zip(&new.items) {
            let (p, q) = (n.params().unwrap(), o.params().unwrap());
            let tol = 1e-6;
            close(&format!("{kind:?} a"), p.a, q.a, tol);
            close(&format!("{kind:?} d"), p.d, q.d, tol);
            close(&format!("{kind:?} c"), p.c, q.c, tol);
            close(&format!("{kind:?} se d"), n.se_d[0], o.se_d[0], 1e-5);
            close(&format!("{kind:?} b"), n.steps[0], o.steps[0], tol);
            close(
                &format!("{kind:?} se b"),
                n.se_steps[0],
                o.se_steps[0],
                1e-5,
            );
            if model != ModelKind::Rasch {
                close(&format!("{kind:?} se a"), n.se_a, o.se_a, 1e-5);
            }
        }
    }
}

/// `ln sum_q w_q prod_j P_j(x_j | t_q)` summed over respondents, with the
/// group's normal masses on mirt's grid, written out independently.
fn direct_log_likelihood(
    items: &[ItemModel],
    data: &CategoryResponses,
    groups: &[usize],
    latent: &[(f64, f64)],
) -> f64 {
    let points: Vec<f64> = (0..61).map(|k| -6.0 + 0.2 * f64::from(k)).collect();
    let mut ll = 0.0;
    for i in 0..data.n_respondents() {
        let (mean, sd) = latent[groups[i]];
        let density: Vec<f64> = points
            .iter()
            .map(|t| (-0.5 * ((t - mean) / sd).powi(2)).exp())
            .collect();
        let norm: f64 = density.iter().sum();
        let mut like = 0.0;
        for (q, &t) in points.iter().enumerate() {
            let mut p = density[q] / norm;
            for (j, &x) in data.row(i).iter().enumerate() {
                if x != CategoryResponses::MISSING {
                    p *= probability(&items[j], usize::from(x), t);
                }
            }
            like += p;
        }
        ll += like.ln();
    }
    ll
}

#[test]
fn log_likelihood_equals_a_direct_quadrature_sum() {
    let (data, groups) = group_data();
    // A 3PL and a PCM item among them, and three groups.
    let groups: Vec<usize> = groups
        .iter()
        .enumerate()
        .map(|(i, &g)| if g == 1 && i % 3 == 0 { 2 } else { g })
        .collect();
    let kinds = vec![
        ModelKind::ThreePl,
        ModelKind::TwoPl,
        ModelKind::Pcm,
        ModelKind::Gpcm,
        ModelKind::Gpcm,
        ModelKind::Gpcm,
    ];
    let options = CalibrationOptions {
        tolerance: 1e-4,
        standard_errors: false,
        ..CalibrationOptions::new(kinds)
    };
    let fit = calibrate(&data, Some(&groups), None, &options).unwrap();
    assert_eq!(fit.groups.len(), 3);
    assert!(fit.covariance.is_none());
    let latent: Vec<(f64, f64)> = fit.groups.iter().map(|g| (g.mean, g.sd)).collect();
    let direct = direct_log_likelihood(&fit.models(), &data, &groups, &latent);
    close("log-likelihood", fit.log_likelihood, direct, 1e-8);
    // The 3PL prior enters the log posterior only.
    assert!(fit.log_posterior != fit.log_likelihood);
    // Groups 1 and 2 are random halves of the same population.
    let (g1, g2) = (fit.groups[1], fit.groups[2]);
    assert!((g1.mean - g2.mean).abs() < 0.2 && (g1.sd - g2.sd).abs() < 0.2);
}

#[test]
fn an_anchor_with_guessing_enters_the_likelihood_as_given() {
    // Free 2PL and GPCM items are fitted through their sufficient
    // statistics; an anchored item with guessing is not of that family and
    // must enter every posterior point by point.
    let (data, groups) = group_data();
    let anchor = ItemModel::Dichotomous(ItemParams {
        a: 1.1,
        d: -0.3,
        c: 0.2,
    });
    let mut kinds = group_kinds();
    kinds[0] = ModelKind::ThreePl;
    let options = CalibrationOptions {
        anchors: vec![(0, anchor.clone())],
        tolerance: 1e-6,
        standard_errors: false,
        ..CalibrationOptions::new(kinds)
    };
    let fit = calibrate(&data, Some(&groups), None, &options).unwrap();
    assert_eq!(fit.models()[0], anchor);
    let latent: Vec<(f64, f64)> = fit.groups.iter().map(|g| (g.mean, g.sd)).collect();
    let direct = direct_log_likelihood(&fit.models(), &data, &groups, &latent);
    close("log-likelihood", fit.log_likelihood, direct, 1e-8);
}

#[test]
fn item_model_identities() {
    let gpcm = ItemModel::Gpcm {
        a: 1.3,
        d: vec![0.4, -0.2, -1.5],
    };
    let two = ItemModel::Dichotomous(ItemParams {
        a: 1.7,
        d: -0.3,
        c: 0.15,
    });
    for theta in [-3.0, -0.7, 0.0, 0.9, 2.5] {
        for item in [&gpcm, &two] {
            let p = item.probabilities(theta);
            assert_eq!(p.len(), item.n_categories());
            close("sum", p.iter().sum::<f64>(), 1.0, 1e-14);
            let lp = item.log_probabilities(theta);
            for (x, y) in p.iter().zip(&lp) {
                close("log", y.exp(), *x, 1e-14);
            }
            let e: f64 = p.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
            close("expected score", item.expected_score(theta), e, 1e-14);
            // Information sum_k P_k'^2 / P_k by central differences.
            let h = 1e-5;
            let (up, down) = (item.probabilities(theta + h), item.probabilities(theta - h));
            let info: f64 = (0..p.len())
                .map(|k| ((up[k] - down[k]) / (2.0 * h)).powi(2) / p[k])
                .sum();
            close("information", item.information(theta), info, 1e-7);
            // theta* = 0.8 theta + 0.5 leaves every probability unchanged.
            let moved = item.rescale(0.8, 0.5).probabilities(0.8 * theta + 0.5);
            for (x, y) in p.iter().zip(&moved) {
                close("rescale", *y, *x, 1e-14);
            }
        }
    }
    // GPCM: the adjacent log odds are a (theta - b_k).
    let steps = gpcm.steps();
    let p = gpcm.probabilities(0.3);
    for k in 1..4 {
        close(
            "steps",
            (p[k] / p[k - 1]).ln(),
            1.3 * (0.3 - steps[k - 1]),
            1e-12,
        );
    }
    assert_eq!(ItemModel::gpcm_from_steps(1.3, &steps).n_categories(), 4);
    let round = ItemModel::gpcm_from_steps(1.3, &steps);
    for (x, y) in intercepts(&round).iter().zip(&intercepts(&gpcm)) {
        close("round trip", *x, *y, 1e-14);
    }
    // A two-category GPCM is the 2PL.
    let g2 = ItemModel::Gpcm {
        a: 1.7,
        d: vec![-0.3],
    };
    let p2 = ItemModel::Dichotomous(ItemParams {
        a: 1.7,
        d: -0.3,
        c: 0.0,
    });
    for theta in [-2.0, 0.1, 3.0] {
        close(
            "2PL",
            g2.probabilities(theta)[1],
            p2.probabilities(theta)[1],
            1e-15,
        );
        close(
            "2PL info",
            g2.information(theta),
            p2.information(theta),
            1e-14,
        );
    }
    assert_eq!(p2.steps(), vec![-(-0.3) / 1.7]);
}

#[test]
fn reweighted_grids_carry_the_new_normal_on_the_same_points() {
    let grid = Grid::standard();
    let moved = grid.reweighted(0.5, 1.2).unwrap();
    let direct = Grid::normal(61, -6.0, 6.0, 0.5, 1.2).unwrap();
    assert_eq!(moved.points, grid.points);
    assert_eq!((moved.mean, moved.sd), (0.5, 1.2));
    for (x, y) in moved.log_weights.iter().zip(&direct.log_weights) {
        close("log weight", *x, *y, 1e-12);
    }
    // A grid with another base measure (uneven weights) keeps it: moving
    // there and back is the identity.
    let uneven = Grid {
        log_weights: grid
            .log_weights
            .iter()
            .enumerate()
            .map(|(q, w)| w + 0.01 * q as f64)
            .collect(),
        ..grid.clone()
    };
    let back = uneven
        .reweighted(-0.3, 0.7)
        .unwrap()
        .reweighted(0.0, 1.0)
        .unwrap();
    let total = uneven.log_weights.iter().map(|w| w.exp()).sum::<f64>().ln();
    for (x, y) in back.log_weights.iter().zip(&uneven.log_weights) {
        close("round trip", *x, y - total, 1e-12);
    }
    assert!(grid.reweighted(0.0, 0.0).is_err());
}

#[test]
fn rescaled_anchors_move_the_scale_and_the_other_items_with_it() {
    // Fit on N(0, 1), then anchor items 0-4 at their estimates moved to
    // theta* = 1.2 theta + 0.5: the population comes out as N(0.5, 1.2^2)
    // and the free items as the rescaled estimates (up to the fixed grid's
    // discretisation of a shifted normal).
    let data = mixed_data();
    let kinds = [vec![ModelKind::TwoPl; 3], vec![ModelKind::Gpcm; 5]].concat();
    let options = CalibrationOptions {
        tolerance: 1e-8,
        standard_errors: false,
        ..CalibrationOptions::new(kinds)
    };
    let base = calibrate(&data, None, None, &options).unwrap();
    let (scale, shift) = (1.2, 0.5);
    let anchored = CalibrationOptions {
        anchors: (0..5)
            .map(|j| (j, base.items[j].model.rescale(scale, shift)))
            .collect(),
        ..options
    };
    let moved = calibrate(&data, None, None, &anchored).unwrap();
    let g = moved.groups[0];
    close("mean", g.mean, shift, 1e-4);
    close("sd", g.sd, scale, 1e-4);
    close("loglik", moved.log_likelihood, base.log_likelihood, 1e-3);
    for j in 5..8 {
        let want = base.items[j].model.rescale(scale, shift);
        close("a", moved.items[j].model.slope(), want.slope(), 1e-4);
        for (x, y) in intercepts(&moved.items[j].model)
            .iter()
            .zip(&intercepts(&want))
        {
            close("d", *x, *y, 1e-4);
        }
    }
}

// ------------------------------------------------------ recovery studies

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.random::<f64>().max(1e-300);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Category responses drawn from `items` at each theta.
fn simulate(items: &[ItemModel], theta: &[f64], rng: &mut ChaCha8Rng) -> CategoryResponses {
    let mut cells = Vec::with_capacity(theta.len() * items.len());
    for &t in theta {
        for item in items {
            let u: f64 = rng.random();
            let mut acc = 0.0;
            let p = item.probabilities(t);
            let mut x = p.len() - 1;
            for (k, pk) in p.iter().enumerate() {
                acc += pk;
                if u < acc {
                    x = k;
                    break;
                }
            }
            cells.push(x as u8);
        }
    }
    CategoryResponses::new(items.iter().map(ItemModel::n_categories).collect(), cells)
        .expect("simulated cells")
}

fn simulation_items() -> Vec<ItemModel> {
    vec![
        ItemModel::Dichotomous(ItemParams::from_difficulty(1.4, -0.5, 0.0)),
        ItemModel::Dichotomous(ItemParams::from_difficulty(0.9, 0.3, 0.0)),
        ItemModel::Dichotomous(ItemParams::from_difficulty(1.8, 1.0, 0.0)),
        ItemModel::gpcm_from_steps(1.1, &[-1.0, 0.2]),
        ItemModel::gpcm_from_steps(0.8, &[-1.2, -0.1, 0.9]),
        ItemModel::gpcm_from_steps(1.5, &[-0.4, 0.6]),
        ItemModel::gpcm_from_steps(1.2, &[-1.6, -0.6, 0.3, 1.4]),
    ]
}

fn kinds_of(items: &[ItemModel]) -> Vec<ModelKind> {
    items
        .iter()
        .map(|m| match m {
            ItemModel::Dichotomous(_) => ModelKind::TwoPl,
            ItemModel::Gpcm { .. } => ModelKind::Gpcm,
        })
        .collect()
}

/// Draws each respondent's ability from their group's (mean, SD) in
/// `truth`, then simulates their answers to `items` with the same `rng`.
fn simulate_groups(
    items: &[ItemModel],
    groups: &[usize],
    truth: &[(f64, f64)],
    rng: &mut ChaCha8Rng,
) -> CategoryResponses {
    let theta: Vec<f64> = groups
        .iter()
        .map(|&g| truth[g].0 + truth[g].1 * normal(rng))
        .collect();
    simulate(items, &theta, rng)
}

/// Calibrates `items`' kinds by group to a tolerance of 1e-5.
fn calibrate_groups(
    data: &CategoryResponses,
    groups: &[usize],
    items: &[ItemModel],
    standard_errors: bool,
) -> Calibration {
    calibrate(
        data,
        Some(groups),
        None,
        &CalibrationOptions {
            tolerance: 1e-5,
            standard_errors,
            ..CalibrationOptions::new(kinds_of(items))
        },
    )
    .expect("calibrated")
}

#[test]
fn several_groups_recover_their_means_and_sds() {
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_129);
    let items = simulation_items();
    // Group 0 ~ N(0, 1), group 1 ~ N(0.5, 1.2^2), group 2 ~ N(-0.4, 0.8^2).
    let truth = [(0.0, 1.0), (0.5, 1.2), (-0.4, 0.8)];
    let groups: Vec<usize> = (0..4500).map(|i| i % 3).collect();
    let data = simulate_groups(&items, &groups, &truth, &mut rng);
    let fit = calibrate_groups(&data, &groups, &items, true);
    assert!(fit.convergence.converged);
    for (g, (est, t)) in fit.groups.iter().zip(&truth).enumerate().skip(1) {
        assert!((est.mean - t.0).abs() < 3.0 * est.se_mean, "{g}: {est:?}");
        assert!((est.sd - t.1).abs() < 3.0 * est.se_sd, "{g}: {est:?}");
        // About 0.05 for 1,500 respondents on 7 items.
        assert!(est.se_mean > 0.02 && est.se_mean < 0.1, "{est:?}");
    }
    // Item parameters: standard errors neither too small nor too large.
    let z: Vec<f64> = fit
        .items
        .iter()
        .zip(&items)
        .flat_map(|(est, t)| {
            let mut z = vec![(est.model.slope() - t.slope()) / est.se_a];
            for ((d, se), dt) in intercepts(&est.model)
                .iter()
                .zip(&est.se_d)
                .zip(intercepts(t))
            {
                z.push((d - dt) / se);
            }
            z
        })
        .collect();
    // 22 parameters: mean z^2 is chi-square(22) / 22, inside [0.36, 1.86]
    // with probability 0.99 (correlated estimates widen it a little).
    let mean_z2 = z.iter().map(|z| z * z).sum::<f64>() / z.len() as f64;
    assert!(mean_z2 > 0.3 && mean_z2 < 2.0, "mean z^2 {mean_z2} {z:?}");
}

#[test]
fn group_standard_errors_match_the_spread_over_replications() {
    // 40 replications of two groups of 600 (group 1 ~ N(0.5, 1.2^2)):
    // the Oakes SEs of group 1's mean and SD match the spread of the
    // estimates, and 95% Wald intervals cover the truth.
    let items = simulation_items();
    let truth = [(0.0, 1.0), (0.5, 1.2)];
    let groups: Vec<usize> = (0..1200).map(|i| i % 2).collect();
    let reps = 40;
    let (mut means, mut sds, mut se_means, mut se_sds) = (vec![], vec![], vec![], vec![]);
    let mut covered = 0;
    for r in 0..reps {
        let mut rng = ChaCha8Rng::seed_from_u64(1_000 + r);
        let data = simulate_groups(&items, &groups, &truth, &mut rng);
        let fit = calibrate_groups(&data, &groups, &items, true);
        let g = fit.groups[1];
        covered += usize::from((g.mean - 0.5).abs() < 1.96 * g.se_mean);
        covered += usize::from((g.sd - 1.2).abs() < 1.96 * g.se_sd);
        means.push(g.mean);
        sds.push(g.sd);
        se_means.push(g.se_mean);
        se_sds.push(g.se_sd);
    }
    let spread = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
    };
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // The SD of 40 estimates is within about 11% of the truth (1 SE):
    // allow 3 of those.
    for (what, est, se) in [("mean", &means, &se_means), ("sd", &sds, &se_sds)] {
        let ratio = avg(se) / spread(est);
        assert!(ratio > 0.7 && ratio < 1.4, "{what}: SE / spread {ratio}");
    }
    // 80 intervals at 95%: 76 expected, fewer than 70 has probability 0.002
    // (binomial; here 75, and SE / spread 1.04 for the mean, 0.94 for the SD).
    assert!(covered >= 70, "{covered} of 80 intervals cover the truth");
}

#[test]
fn fixing_all_but_one_item_recovers_a_shifted_population() {
    let mut rng = ChaCha8Rng::seed_from_u64(7_777);
    let items = simulation_items();
    let theta: Vec<f64> = (0..3000).map(|_| -0.6 + 0.75 * normal(&mut rng)).collect();
    let data = simulate(&items, &theta, &mut rng);
    let free = 4;
    let options = CalibrationOptions {
        anchors: (0..items.len())
            .filter(|&j| j != free)
            .map(|j| (j, items[j].clone()))
            .collect(),
        ..CalibrationOptions::new(kinds_of(&items))
    };
    let fit = calibrate(&data, None, None, &options).unwrap();
    assert_eq!(fit.n_parameters, 4 + 2);
    let g = fit.groups[0];
    assert!((g.mean + 0.6).abs() < 3.0 * g.se_mean, "{g:?}");
    assert!((g.sd - 0.75).abs() < 3.0 * g.se_sd, "{g:?}");
    // Not the default N(0, 1): the shift is far outside the SEs.
    assert!(g.mean.abs() > 10.0 * g.se_mean && (1.0 - g.sd) > 5.0 * g.se_sd);
    let est = &fit.items[free];
    assert!(!est.anchored && fit.items.iter().filter(|i| i.anchored).count() == 6);
    let z = (est.model.slope() - items[free].slope()) / est.se_a;
    assert!(z.abs() < 3.0, "{z}");
    for ((d, se), dt) in intercepts(&est.model)
        .iter()
        .zip(&est.se_d)
        .zip(intercepts(&items[free]))
    {
        assert!(((d - dt) / se).abs() < 3.0, "{d} {dt} {se}");
    }
    // Scoring on the calibration's population: EAPs average near -0.6.
    let grid = fit.group_grid(0).unwrap();
    let eap = score(&fit.models(), &data, AbilityMethod::Eap, &grid).unwrap();
    let mean = eap.iter().map(|a| a.theta).sum::<f64>() / eap.len() as f64;
    assert!((mean + 0.6).abs() < 0.05, "{mean}");
}

#[test]
fn anchors_free_every_group_including_the_first() {
    let mut rng = ChaCha8Rng::seed_from_u64(4_242);
    let items = simulation_items();
    let truth = [(-0.6, 0.75), (0.3, 1.1)];
    let groups: Vec<usize> = (0..4000).map(|i| usize::from(i % 4 == 0)).collect();
    let data = simulate_groups(&items, &groups, &truth, &mut rng);
    let options = CalibrationOptions {
        anchors: (1..items.len()).map(|j| (j, items[j].clone())).collect(),
        tolerance: 1e-5,
        ..CalibrationOptions::new(kinds_of(&items))
    };
    let fit = calibrate(&data, Some(&groups), None, &options).unwrap();
    // Item 0's a and d, two means and two SDs.
    assert_eq!(fit.n_parameters, 2 + 4);
    assert_eq!(
        fit.labels,
        [
            "item0.a",
            "item0.d",
            "group0.mean",
            "group0.sd",
            "group1.mean",
            "group1.sd"
        ]
    );
    for (g, (est, t)) in fit.groups.iter().zip(&truth).enumerate() {
        assert!(est.free, "{g}");
        assert!((est.mean - t.0).abs() < 3.0 * est.se_mean, "{g}: {est:?}");
        assert!((est.sd - t.1).abs() < 3.0 * est.se_sd, "{g}: {est:?}");
    }
    assert_eq!(fit.groups[1].weight, 1000.0);
}

// --------------------------------------------------------------- ability

fn one(method: AbilityMethod, items: &[ItemModel], row: &[u8]) -> (f64, f64) {
    let a = estimate_ability(items, row, method, &Grid::standard());
    (a.theta, a.se)
}

#[test]
fn ability_for_gpcm_items_on_closed_forms() {
    use AbilityMethod::{Eap, Map, Mle, Wle};
    let item = ItemModel::Gpcm {
        a: 1.2,
        d: vec![0.5, 0.3, -0.8],
    };
    let items = [item.clone()];
    // MLE for a middle category solves E[k | theta] = x.
    for x in [1u8, 2] {
        let (t, se) = one(Mle, &items, &[x]);
        close("E[k]", item.expected_score(t), f64::from(x), 1e-9);
        close("se", se, 1.0 / item.information(t).sqrt(), 1e-12);
    }
    // Top and bottom categories: MLE infinite, WLE finite and ordered.
    assert_eq!(one(Mle, &items, &[3]).0, f64::INFINITY);
    assert_eq!(one(Mle, &items, &[0]).0, f64::NEG_INFINITY);
    let (hi, lo) = (one(Wle, &items, &[3]).0, one(Wle, &items, &[0]).0);
    assert!(hi.is_finite() && lo.is_finite() && lo < hi);
    // WLE: a (x - mu) + J / (2 I) = 0 with J = dI/dtheta (for the GPCM,
    // sum_k P_k' P_k'' / P_k = dI/dtheta / 1 since observed = expected
    // information), checked with a numerical derivative of the information.
    for x in 0u8..4 {
        let (t, _) = one(Wle, &items, &[x]);
        let h = 1e-5;
        let di = (item.information(t + h) - item.information(t - h)) / (2.0 * h);
        let score = 1.2 * (f64::from(x) - item.expected_score(t));
        close(
            "WLE equation",
            score + di / (2.0 * item.information(t)),
            0.0,
            1e-7,
        );
    }
    // Several items, all at the top: MLE +inf; missing cells are skipped.
    let many = [
        item.clone(),
        ItemModel::Dichotomous(ItemParams::from_difficulty(1.0, 0.2, 0.0)),
    ];
    assert_eq!(one(Mle, &many, &[3, 1]).0, f64::INFINITY);
    assert_eq!(
        one(Mle, &many, &[0, CategoryResponses::MISSING]).0,
        f64::NEG_INFINITY
    );
    assert!(one(Wle, &many, &[CategoryResponses::MISSING; 2]).0.is_nan());
    // EAP against an independent fine trapezoid integral.
    let (t, se) = one(Eap, &items, &[2]);
    let (mut m0, mut m1, mut m2) = (0.0, 0.0, 0.0);
    for k in 0..=12_000 {
        let x = -6.0 + 1e-3 * f64::from(k);
        let w = if k == 0 || k == 12_000 { 0.5 } else { 1.0 };
        let z = [0.0, 1.2 * x + 0.5, 2.4 * x + 0.3, 3.6 * x - 0.8];
        let total: f64 = z.iter().map(|v| v.exp()).sum();
        let f = w * (-0.5 * x * x).exp() * z[2].exp() / total;
        m0 += f;
        m1 += f * x;
        m2 += f * x * x;
    }
    let (mean, sd) = (m1 / m0, (m2 / m0 - (m1 / m0).powi(2)).sqrt());
    close("EAP", t, mean, 1e-6);
    close("EAP sd", se, sd, 1e-6);
    // MAP solves score = theta (N(0, 1) prior).
    let (t, _) = one(Map, &items, &[2]);
    close("MAP", 1.2 * (2.0 - item.expected_score(t)), t, 1e-9);
}

#[test]
fn abilities_on_right_wrong_items_equal_those_on_two_category_gpcm_items() {
    // The same items written as 2PL items and as two-category GPCM items
    // go through different code (closed-form logistic terms and cumulants
    // against the GPCM's log-sum-exp and moments) to the same estimates.
    let items: Vec<ItemParams> = [(-1.0, 1.3), (0.0, 0.7), (0.8, 1.9), (1.5, 1.1)]
        .iter()
        .map(|&(b, a)| ItemParams::from_difficulty(a, b, 0.0))
        .collect();
    let dichotomous: Vec<ItemModel> = items.iter().map(|p| ItemModel::Dichotomous(*p)).collect();
    let gpcm: Vec<ItemModel> = items
        .iter()
        .map(|p| ItemModel::Gpcm {
            a: p.a,
            d: vec![p.d],
        })
        .collect();
    let grid = Grid::standard();
    for row in [[1u8, 0, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0], [1, 255, 0, 1]] {
        for method in [
            AbilityMethod::Eap,
            AbilityMethod::Map,
            AbilityMethod::Mle,
            AbilityMethod::Wle,
        ] {
            let x = estimate_ability(&dichotomous, &row, method, &grid);
            let y = estimate_ability(&gpcm, &row, method, &grid);
            let same = |x: f64, y: f64| x == y || (x - y).abs() < 1e-10;
            assert!(
                same(x.theta, y.theta) && same(x.se, y.se),
                "{method:?} {row:?} {x:?} {y:?}"
            );
        }
    }
}

#[test]
fn plausible_values_are_deterministic_and_equal_on_two_category_gpcm_items() {
    let data = reference_responses();
    let fit = calibrate(
        &data,
        None,
        None,
        &CalibrationOptions {
            tolerance: 1e-4,
            standard_errors: false,
            ..CalibrationOptions::new(vec![ModelKind::TwoPl; 12])
        },
    )
    .unwrap();
    let models = fit.models();
    let gpcm: Vec<ItemModel> = fit
        .items
        .iter()
        .map(|i| {
            let p = i.params().unwrap();
            ItemModel::Gpcm {
                a: p.a,
                d: vec![p.d],
            }
        })
        .collect();
    let grid = Grid::standard();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| plausible_values(&models, &data, &grid, 3, 11).unwrap())
    };
    let one = run(1);
    assert_eq!(one, run(3));
    assert_eq!(one, plausible_values(&gpcm, &data, &grid, 3, 11).unwrap());
    // Another seed, other draws.
    assert_ne!(one, plausible_values(&models, &data, &grid, 3, 12).unwrap());
}

#[test]
fn plausible_values_by_group_reproduce_each_groups_distribution() {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let items = simulation_items();
    let truth = [(0.0, 1.0), (0.8, 0.6)];
    let groups: Vec<usize> = (0..6000).map(|i| i % 2).collect();
    let data = simulate_groups(&items, &groups, &truth, &mut rng);
    let fit = calibrate_groups(&data, &groups, &items, false);
    let grids = [fit.group_grid(0).unwrap(), fit.group_grid(1).unwrap()];
    let pv = plausible_values_by_group(&fit.models(), &data, &groups, &grids, 2, 5).unwrap();
    for (g, t) in truth.iter().enumerate() {
        let v: Vec<f64> = pv[0]
            .iter()
            .zip(&groups)
            .filter(|(_, h)| **h == g)
            .map(|(x, _)| *x)
            .collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        // 3,000 draws: sampling SE about 0.02 for the mean and the SD.
        assert!((m - t.0).abs() < 0.08, "{g}: mean {m}");
        assert!((sd - t.1).abs() < 0.08, "{g}: sd {sd}");
    }
    // One prior for everyone pulls group 1's draws toward 0.
    let pooled = plausible_values(&fit.models(), &data, &Grid::standard(), 1, 5).unwrap();
    let m1: f64 = pooled[0].iter().skip(1).step_by(2).sum::<f64>() / 3000.0;
    assert!(m1 < 0.75, "{m1}");
}

// ---------------------------------------------------------- conventions

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let data = mixed_data();
    let kinds = [vec![ModelKind::TwoPl; 3], vec![ModelKind::Gpcm; 5]].concat();
    let groups: Vec<usize> = (0..data.n_respondents()).map(|i| i % 2).collect();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let fit = calibrate(
                    &data,
                    Some(&groups),
                    None,
                    &CalibrationOptions {
                        tolerance: 1e-4,
                        standard_errors: false,
                        ..CalibrationOptions::new(kinds.clone())
                    },
                )
                .unwrap();
                format!("{fit:?}")
            })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn squarem_reaches_the_plain_em_fixed_point_in_fewer_e_steps() {
    let (data, groups) = group_data();
    let kinds = group_kinds();
    let fit = |accelerate| {
        calibrate(
            &data,
            Some(&groups),
            None,
            &CalibrationOptions {
                accelerate,
                tolerance: 1e-9,
                standard_errors: false,
                ..CalibrationOptions::new(kinds.clone())
            },
        )
        .unwrap()
    };
    let (plain, fast) = (fit(false), fit(true));
    assert!(plain.convergence.converged && fast.convergence.converged);
    assert!(
        2 * fast.convergence.iterations < plain.convergence.iterations,
        "{:?} {:?}",
        fast.convergence,
        plain.convergence
    );
    for (x, y) in plain.items.iter().zip(&fast.items) {
        close("a", x.model.slope(), y.model.slope(), 1e-6);
    }
    close("mean", plain.groups[1].mean, fast.groups[1].mean, 1e-6);
    close("sd", plain.groups[1].sd, fast.groups[1].sd, 1e-6);
    close("loglik", plain.log_likelihood, fast.log_likelihood, 1e-8);
    // A cap on the E-steps is reported, not hidden.
    let capped = calibrate(
        &data,
        Some(&groups),
        None,
        &CalibrationOptions {
            max_iterations: 3,
            standard_errors: false,
            ..CalibrationOptions::new(kinds.clone())
        },
    )
    .unwrap();
    assert!(!capped.convergence.converged && capped.convergence.iterations >= 3);
}

#[test]
fn frequency_weights_equal_repeated_rows() {
    let data = columns(&mixed_data(), 3);
    let n = 300;
    let weights: Vec<f64> = (0..n).map(|i| f64::from(1 + (i % 3) as u32)).collect();
    let mut cells = Vec::new();
    let mut compact = Vec::new();
    for i in 0..n {
        compact.extend_from_slice(data.row(i));
        for _ in 0..(1 + i % 3) {
            cells.extend_from_slice(data.row(i));
        }
    }
    let cats = data.categories().to_vec();
    let compact = CategoryResponses::new(cats.clone(), compact).unwrap();
    let expanded = CategoryResponses::new(cats, cells).unwrap();
    let options = CalibrationOptions {
        tolerance: 1e-9,
        standard_errors: false,
        ..CalibrationOptions::new(vec![ModelKind::Gpcm; 5])
    };
    let w = calibrate(&compact, None, Some(&weights), &options).unwrap();
    let e = calibrate(&expanded, None, None, &options).unwrap();
    close("loglik", w.log_likelihood, e.log_likelihood, 1e-7);
    for (x, y) in w.items.iter().zip(&e.items) {
        close("a", x.model.slope(), y.model.slope(), 1e-7);
    }
}

#[test]
fn bad_input_is_an_error_naming_what_is_wrong() {
    let err = CategoryResponses::new(vec![2, 3], vec![0, 2, 1, 3]).unwrap_err();
    assert_eq!(
        err,
        IrtError::Category {
            respondent: 1,
            item: 1,
            code: 3,
            categories: 3
        }
    );
    let text = err.to_string();
    assert!(text.contains("respondent 1") && text.contains("item 1") && text.contains("code 3"));
    assert!(CategoryResponses::new(vec![2, 1], vec![0, 0]).is_err());
    assert!(CategoryResponses::new(vec![2, 2], vec![0, 0, 1]).is_err());
    // A GPCM item with an empty category is not estimable.
    let data = CategoryResponses::new(vec![3, 2], vec![0, 1, 2, 0, 0, 0, 2, 1]).unwrap();
    let err = calibrate(
        &data,
        None,
        None,
        &CalibrationOptions::new(vec![ModelKind::Gpcm; 2]),
    )
    .unwrap_err();
    assert_eq!(
        err,
        IrtError::EmptyCategory {
            item: 0,
            category: 1
        }
    );
    // A dichotomous kind on a three-category item, wrong kinds count,
    // empty group, mismatched anchor.
    let ok = CategoryResponses::new(vec![3, 2], vec![0, 1, 1, 0, 2, 1, 1, 0]).unwrap();
    let two = |k| CalibrationOptions::new(vec![k, ModelKind::TwoPl]);
    assert!(calibrate(&ok, None, None, &two(ModelKind::TwoPl)).is_err());
    assert!(
        calibrate(
            &ok,
            None,
            None,
            &CalibrationOptions::new(vec![ModelKind::Gpcm])
        )
        .is_err()
    );
    assert!(calibrate(&ok, Some(&[0, 0, 2, 2]), None, &two(ModelKind::Gpcm)).is_err());
    let bad_anchor = CalibrationOptions {
        anchors: vec![(
            0,
            ItemModel::Dichotomous(ItemParams::from_difficulty(1.0, 0.0, 0.0)),
        )],
        ..two(ModelKind::Gpcm)
    };
    assert!(calibrate(&ok, None, None, &bad_anchor).is_err());
    assert!(
        calibrate(
            &ok,
            None,
            Some(&[1.0, -1.0, 1.0, 1.0]),
            &two(ModelKind::Gpcm)
        )
        .is_err()
    );
    // Scoring with models that do not fit the responses.
    let models = vec![ItemModel::Dichotomous(ItemParams::from_difficulty(1.0, 0.0, 0.0)); 2];
    assert!(score(&models, &ok, AbilityMethod::Eap, &Grid::standard()).is_err());
}

/// The diagnostics work on mixed instruments through `ItemCurve`: a GPCM
/// item's information is the finite difference of its expected score times
/// its slope (a^2 Var = a dE/dtheta), mean-sigma recovers a known
/// transformation of GPCM anchors, and the summed-score distribution of one
/// GPCM item is its category probabilities.
#[test]
fn mixed_items_work_with_the_diagnostics() {
    use literacy_core::irt::{ItemCurve, LinkingMethod, link, summed_score_distribution};
    let items = vec![
        ItemModel::gpcm_from_steps(1.3, &[-0.8, 0.2, 1.1]),
        ItemModel::gpcm_from_steps(0.7, &[0.5, -0.3]),
        ItemModel::Dichotomous(ItemParams::from_difficulty(1.1, 0.3, 0.0)),
        ItemModel::gpcm_from_steps(1.9, &[0.0]),
    ];
    for item in &items {
        for theta in [-2.0, 0.0, 1.5] {
            let h = 1e-5;
            let slope =
                (item.expected_score(theta + h) - item.expected_score(theta - h)) / (2.0 * h);
            assert!((ItemCurve::expected_score_slope(item, theta) - slope).abs() < 1e-8);
            let info = ItemCurve::information(item, theta);
            assert!(
                (info - item.slope() * slope).abs() < 1e-7,
                "{info} vs {}",
                item.slope() * slope
            );
        }
    }
    let (scale, shift) = (1.25, -0.4);
    let new: Vec<ItemModel> = items
        .iter()
        .map(|i| i.rescale(1.0 / scale, -shift / scale))
        .collect();
    for method in [
        LinkingMethod::MeanSigma,
        LinkingMethod::StockingLord,
        LinkingMethod::Haebara,
    ] {
        let l = link(&items, &new, method, &Grid::standard()).expect("linked");
        assert!(
            (l.transform.a - scale).abs() < 1e-7,
            "{method:?} {:?}",
            l.transform
        );
        assert!(
            (l.transform.b - shift).abs() < 1e-7,
            "{method:?} {:?}",
            l.transform
        );
    }
    let dist = summed_score_distribution(&items[..1], 0.4);
    for (a, b) in dist.iter().zip(items[0].probabilities(0.4)) {
        assert!((a - b).abs() < 1e-15);
    }
}
