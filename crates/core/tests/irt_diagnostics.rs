//! Item and test information, item fit (infit, outfit, S-X2) and linking,
//! against closed forms, published values (R mirt's S-X2 on LSAT-7) and
//! independent Python references (fixtures/diagnostics_reference.py and
//! fixtures/linking_reference.py: numpy/scipy code written from the
//! sources, cross-checked there with PyPI mirt 1.2.0).

use literacy_core::irt::{
    Ability, AbilityMethod, CategoryResponses, Grid, ItemCurve, ItemModel, ItemParams,
    LinkingError, LinkingMethod, ModelKind, SX2Options, ScaleTransform, information_table,
    item_information, link, mean_square_fit, s_x2, score, standard_error,
    summed_score_distribution, test_information, theta_range,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

// ------------------------------------------------------------------ helpers

/// Rows of a CSV fixture without its header (and `#` comment lines).
fn rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect()
}

fn num(s: &str) -> f64 {
    s.parse().expect("number")
}

fn close(x: f64, y: f64, tol: f64) -> bool {
    (x - y).abs() <= tol * (1.0 + y.abs())
}

/// Logistic written out here, independent of the engine.
fn p3(a: f64, d: f64, c: f64, t: f64) -> f64 {
    c + (1.0 - c) / (1.0 + (-(a * t + d)).exp())
}

// -------------------------------------------------------------- information

#[test]
fn two_pl_information_is_a_squared_p_q() {
    let items = [
        ItemParams {
            a: 1.3,
            d: -0.4,
            c: 0.0,
        },
        ItemParams {
            a: 0.7,
            d: 1.1,
            c: 0.0,
        },
        ItemParams {
            a: 2.1,
            d: 0.0,
            c: 0.0,
        },
    ];
    let thetas = [-2.5, -1.0, 0.0, 0.3, 1.7];
    for item in &items {
        for (t, info) in thetas.iter().zip(item_information(item, &thetas)) {
            let p = p3(item.a, item.d, 0.0, *t);
            let expected = item.a * item.a * p * (1.0 - p);
            assert!(close(info, expected, 1e-13), "{item:?} at {t}: {info}");
        }
    }
    // At theta = b the 2PL information is a^2 / 4.
    assert!(close(items[2].information(0.0), 2.1 * 2.1 / 4.0, 1e-14));
    let total = test_information(&items, &thetas);
    let se = standard_error(&total);
    for (k, &t) in thetas.iter().enumerate() {
        let sum: f64 = items
            .iter()
            .map(|i| {
                let p = p3(i.a, i.d, 0.0, t);
                i.a * i.a * p * (1.0 - p)
            })
            .sum();
        assert!(close(total[k], sum, 1e-13));
        assert!(close(se[k], 1.0 / sum.sqrt(), 1e-13));
    }
}

#[test]
fn three_pl_information_matches_the_closed_form() {
    // I = a^2 (Q / P) ((P - c) / (1 - c))^2 (Lord 1980, Applications of
    // Item Response Theory, ch. 5; Hambleton, Swaminathan and Rogers 1991,
    // ch. 6), with P = c + (1 - c) / (1 + e^{-a(t - b)}).
    let (a, b, c) = (1.6, 0.5, 0.2);
    let item = ItemParams::from_difficulty(a, b, c);
    for t in [-3.0, -0.5, 0.5, 0.9, 2.5] {
        let p = c + (1.0 - c) / (1.0 + (-a * (t - b)).exp());
        let q = 1.0 - p;
        let expected = a * a * (q / p) * ((p - c) / (1.0 - c)).powi(2);
        let got = ItemCurve::information(&item, t);
        assert!(close(got, expected, 1e-13), "{t}: {got} vs {expected}");
    }
    // The 3PL maximum lies above b: at b + ln((1 + sqrt(1 + 8c)) / 2) / a
    // (Lord 1980, eq. 10-4 without the 1.7).
    let peak = b + ((1.0 + (1.0 + 8.0 * c).sqrt()) / 2.0).ln() / a;
    let at = |t: f64| ItemCurve::information(&item, t);
    assert!(at(peak) > at(peak - 1e-3) && at(peak) > at(peak + 1e-3));
}

#[test]
fn information_table_rows_add_up_and_bad_input_is_an_error() {
    let items = [
        ItemParams::from_difficulty(1.0, -1.0, 0.0),
        ItemParams::from_difficulty(1.5, 0.5, 0.25),
    ];
    let thetas = theta_range(-4.0, 4.0, 17).unwrap();
    assert_eq!(thetas.len(), 17);
    assert!(close(thetas[8], 0.0, 1e-15) && close(thetas[16], 4.0, 1e-15));
    let table = information_table(&items, &thetas).unwrap();
    assert_eq!(table.len(), 17);
    for row in &table {
        let p0 = p3(1.0, 1.0, 0.0, row.theta);
        assert!(close(row.items[0], p0 * (1.0 - p0), 1e-13));
        assert!(close(row.total, row.items[0] + row.items[1], 1e-15));
        assert!(close(row.se, 1.0 / row.total.sqrt(), 1e-15));
    }
    assert!(information_table::<ItemParams>(&[], &thetas).is_err());
    assert!(information_table(&items, &[]).is_err());
    assert!(information_table(&items, &[0.0, f64::NAN]).is_err());
    let bad = [ItemParams {
        a: f64::NAN,
        d: 0.0,
        c: 0.0,
    }];
    assert!(information_table(&bad, &thetas).is_err());
    assert!(theta_range(1.0, -1.0, 5).is_err() && theta_range(0.0, 1.0, 1).is_err());
    // No information: infinite standard error, not a NaN.
    assert_eq!(standard_error(&[0.0]), vec![f64::INFINITY]);
}

#[test]
fn summed_score_distribution_is_the_convolution() {
    let items = [
        ItemParams::from_difficulty(1.0, 0.0, 0.0),
        ItemParams::from_difficulty(1.4, 1.0, 0.2),
        ItemParams::from_difficulty(0.6, -1.0, 0.0),
    ];
    let t = 0.4;
    let p: Vec<f64> = items.iter().map(|i| p3(i.a, i.d, i.c, t)).collect();
    let q: Vec<f64> = p.iter().map(|x| 1.0 - x).collect();
    let expected = [
        q[0] * q[1] * q[2],
        p[0] * q[1] * q[2] + q[0] * p[1] * q[2] + q[0] * q[1] * p[2],
        p[0] * p[1] * q[2] + p[0] * q[1] * p[2] + q[0] * p[1] * p[2],
        p[0] * p[1] * p[2],
    ];
    let got = summed_score_distribution(&items, t);
    assert_eq!(got.len(), 4);
    for (g, e) in got.iter().zip(expected) {
        assert!(close(*g, e, 1e-14), "{got:?}");
    }
}

// ---------------------------------------------------------------- item fit

struct FitFixture {
    items: Vec<ItemParams>,
    parameters: Vec<usize>,
    theta: Vec<f64>,
    rows: Vec<Vec<Option<bool>>>,
    /// `rows` as the engine's responses.
    responses: CategoryResponses,
    results: Vec<Vec<f64>>,
}

fn fit_fixture() -> FitFixture {
    let mut items = Vec::new();
    let mut parameters = Vec::new();
    for r in rows(include_str!("fixtures/fit_reference_items.csv")) {
        items.push(ItemParams {
            a: num(r[1]),
            d: num(r[2]),
            c: num(r[3]),
        });
        parameters.push(r[4].parse().expect("count"));
    }
    let mut theta = Vec::new();
    let mut answers = Vec::new();
    for r in rows(include_str!("fixtures/fit_reference_data.csv")) {
        theta.push(num(r[0]));
        answers.push(
            r[1..]
                .iter()
                .map(|x| match *x {
                    "" => None,
                    x => Some(x == "1"),
                })
                .collect(),
        );
    }
    let results = rows(include_str!("fixtures/fit_reference_results.csv"))
        .iter()
        .map(|r| r.iter().map(|x| num(x)).collect())
        .collect();
    FitFixture {
        items,
        parameters,
        theta,
        responses: CategoryResponses::from_right_wrong(&answers).expect("responses"),
        rows: answers,
        results,
    }
}

#[test]
fn infit_and_outfit_match_the_reference() {
    let f = fit_fixture();
    let fit = mean_square_fit(&f.items, &f.responses, &f.theta).unwrap();
    for (j, (got, want)) in fit.iter().zip(&f.results).enumerate() {
        // item, infit, infit_t, outfit, outfit_t, n
        assert!(close(got.infit, want[1], 1e-11), "{j}: {got:?} {want:?}");
        assert!(close(got.infit_t, want[2], 1e-9), "{j}: {got:?} {want:?}");
        assert!(close(got.outfit, want[3], 1e-11), "{j}: {got:?} {want:?}");
        assert!(close(got.outfit_t, want[4], 1e-9), "{j}: {got:?} {want:?}");
        assert_eq!(got.n as f64, want[5], "{j}");
    }
}

#[test]
fn mean_squares_do_not_depend_on_the_thread_count() {
    let f = fit_fixture();
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| mean_square_fit(&f.items, &f.responses, &f.theta).unwrap())
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn mean_squares_skip_infinite_abilities_and_reject_bad_input() {
    let f = fit_fixture();
    let base = mean_square_fit(&f.items, &f.responses, &f.theta).unwrap();
    // An extra all-right respondent with an infinite ML ability changes nothing.
    let mut rows = f.rows.clone();
    rows.push(vec![Some(true); f.items.len()]);
    let mut theta = f.theta.clone();
    theta.push(f64::INFINITY);
    let extended = mean_square_fit(
        &f.items,
        &CategoryResponses::from_right_wrong(&rows).unwrap(),
        &theta,
    )
    .unwrap();
    assert_eq!(base, extended);
    assert!(mean_square_fit(&f.items, &f.responses, &f.theta[1..]).is_err());
    assert!(mean_square_fit(&f.items[1..], &f.responses, &f.theta).is_err());
    let mut bad = f.items.clone();
    bad[3].c = 1.5;
    assert!(mean_square_fit(&bad, &f.responses, &f.theta).is_err());
}

fn check_sx2(
    items: &[ItemParams],
    responses: &CategoryResponses,
    parameters: &[usize],
    min_expected: f64,
    want: &[[f64; 4]],
) {
    let report = s_x2(
        items,
        responses,
        &Grid::standard(),
        &SX2Options {
            min_expected,
            parameters: parameters.to_vec(),
        },
    )
    .expect("S-X2");
    for (j, (got, w)) in report.items.iter().zip(want).enumerate() {
        // statistic, df, p-value, groups
        assert!(close(got.statistic, w[0], 1e-9), "{j}: {got:?} {w:?}");
        assert_eq!(got.df as f64, w[1], "{j}: {got:?}");
        assert!(close(got.p_value, w[2], 1e-8), "{j}: {got:?} {w:?}");
        assert_eq!(got.groups as f64, w[3], "{j}: {got:?}");
    }
}

#[test]
fn s_x2_matches_the_reference_on_generated_data() {
    let f = fit_fixture();
    // The engine leaves out incomplete respondents itself.
    let want: Vec<[f64; 4]> = f.results.iter().map(|r| [r[6], r[7], r[8], r[9]]).collect();
    check_sx2(&f.items, &f.responses, &f.parameters, 1.0, &want);
    let report = s_x2(
        &f.items,
        &f.responses,
        &Grid::standard(),
        &SX2Options {
            min_expected: 1.0,
            parameters: f.parameters.clone(),
        },
    )
    .unwrap();
    assert_eq!(report.complete, 1065);
    let in_pool = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                s_x2(
                    &f.items,
                    &f.responses,
                    &Grid::standard(),
                    &SX2Options::new(f.parameters.clone()),
                )
                .unwrap()
            })
    };
    assert_eq!(in_pool(1), in_pool(3));
    assert_eq!(in_pool(1), report);
}

#[test]
fn s_x2_collapses_sparse_groups_as_the_reference() {
    // The first 120 complete respondents: most score groups are sparse.
    let f = fit_fixture();
    let complete: Vec<Vec<Option<bool>>> = f
        .rows
        .iter()
        .filter(|r| r.iter().all(Option::is_some))
        .take(120)
        .cloned()
        .collect();
    let responses = CategoryResponses::from_right_wrong(&complete).unwrap();
    let want: Vec<[f64; 4]> = f
        .results
        .iter()
        .map(|r| [r[12], r[13], r[14], r[15]])
        .collect();
    assert!(want.iter().any(|w| w[3] < 10.0), "collapsing is exercised");
    check_sx2(&f.items, &responses, &f.parameters, 1.0, &want);
    // Without a minimum expected count only the merging of one-respondent
    // groups acts (R mirt's rule; PyPI mirt would pool nothing here).
    let bare: Vec<[f64; 4]> = f
        .results
        .iter()
        .map(|r| [r[18], r[19], r[20], r[21]])
        .collect();
    assert!(bare.iter().all(|w| w[3] == 13.0));
    check_sx2(&f.items, &responses, &f.parameters, 0.0, &bare);
}

/// The 1,000 LSAT-7 examinees.
fn lsat7() -> CategoryResponses {
    let mut cells = Vec::new();
    for r in rows(include_str!("fixtures/lsat7.csv")) {
        let v: Vec<u8> = r[..5].iter().map(|x| x.parse().expect("answer")).collect();
        let freq = r[5].parse::<usize>().expect("frequency");
        for _ in 0..freq {
            cells.extend_from_slice(&v);
        }
    }
    CategoryResponses::dichotomous(5, cells).expect("LSAT-7 cells")
}

#[test]
fn s_x2_on_lsat7_matches_the_python_references() {
    let items: Vec<ItemParams> = rows(include_str!("fixtures/lsat7_mirt_py.csv"))
        .iter()
        .map(|r| ItemParams::from_difficulty(num(r[1]), num(r[2]), 0.0))
        .collect();
    let want: Vec<[f64; 4]> = rows(include_str!("fixtures/lsat7_sx2.csv"))
        .iter()
        .map(|r| [num(r[1]), num(r[2]), num(r[3]), num(r[4])])
        .collect();
    check_sx2(&items, &lsat7(), &[2; 5], 1.0, &want);
}

/// R mirt's `itemfit(mod)` for the LSAT-7 2PL, as printed in mirt's
/// `createItem` documentation (docs/reference/createItem.html of
/// github.com/philchalmers/mirt, commit 07d1cff0: items 1-4 2PL, item 5
/// the same 2PL written as a custom `old2PL` item; `coef()` printed on the
/// same page to 3 decimals).
const MIRT_A: [f64; 5] = [0.989, 1.081, 1.703, 0.766, 0.737];
const MIRT_D: [f64; 4] = [1.856, 0.808, 1.803, 0.486];
const MIRT_B5: f64 = -2.518;
const MIRT_SX2: [f64; 5] = [4.750, 14.441, 1.266, 5.241, 0.941];
const MIRT_P: [f64; 5] = [0.093, 0.001, 0.531, 0.073, 0.625];
const MIRT_RMSEA: [f64; 5] = [0.037, 0.079, 0.000, 0.040, 0.000];

#[test]
fn s_x2_on_lsat7_reproduces_r_mirt() {
    let mut items: Vec<ItemParams> = (0..4)
        .map(|j| ItemParams {
            a: MIRT_A[j],
            d: MIRT_D[j],
            c: 0.0,
        })
        .collect();
    items.push(ItemParams::from_difficulty(MIRT_A[4], MIRT_B5, 0.0));
    let options = SX2Options::for_kinds(&[ModelKind::TwoPl; 5], &[2; 5]);
    assert_eq!(options.parameters, vec![2; 5]);
    assert_eq!(options.min_expected, 1.0);
    let report = s_x2(&items, &lsat7(), &Grid::standard(), &options).unwrap();
    assert_eq!(report.complete, 1000);
    for (j, got) in report.items.iter().enumerate() {
        // The parameters are printed to 3 decimals: S-X2 moves by up to 0.004.
        assert!((got.statistic - MIRT_SX2[j]).abs() < 5e-3, "{j}: {got:?}");
        assert_eq!(got.df, 2, "{j}");
        assert!((got.p_value - MIRT_P[j]).abs() < 1.5e-3, "{j}: {got:?}");
        assert!((got.rmsea - MIRT_RMSEA[j]).abs() < 1.5e-3, "{j}: {got:?}");
    }
}

#[test]
fn s_x2_rejects_bad_input() {
    let data = lsat7();
    let items = vec![ItemParams::from_difficulty(1.0, 0.0, 0.0); 5];
    let options = |parameters: Vec<usize>, min_expected| SX2Options {
        min_expected,
        parameters,
    };
    let grid = Grid::standard();
    assert!(s_x2(&items, &data, &grid, &options(vec![2; 4], 1.0)).is_err());
    assert!(s_x2(&items[..4], &data, &grid, &options(vec![2; 4], 1.0)).is_err());
    assert!(s_x2(&items, &data, &grid, &options(vec![2; 5], f64::NAN)).is_err());
    let mut bad = items.clone();
    bad[0].d = f64::INFINITY;
    assert!(s_x2(&bad, &data, &grid, &options(vec![2; 5], 1.0)).is_err());
    // Nobody complete: an error, not a division by zero.
    let missing = CategoryResponses::new(vec![2; 5], vec![CategoryResponses::MISSING; 10]).unwrap();
    assert!(s_x2(&items, &missing, &grid, &options(vec![2; 5], 1.0)).is_err());
}

// ------------------------------------------------------------------ linking

/// Old-scale anchors: 2PL and 3PL, slope-intercept.
fn old_anchors() -> Vec<ItemParams> {
    [
        (1.2, -1.5, 0.0),
        (0.8, -0.6, 0.2),
        (1.7, 0.0, 0.0),
        (1.0, 0.4, 0.15),
        (0.6, 1.1, 0.0),
        (1.4, 2.0, 0.25),
    ]
    .iter()
    .map(|&(a, b, c)| ItemParams::from_difficulty(a, b, c))
    .collect()
}

/// The same items on a new scale where theta_old = a_link theta_new + b_link:
/// a_new = a A, b_new = (b - B) / A (written out, not through the engine).
fn on_new_scale(old: &[ItemParams], a_link: f64, b_link: f64) -> Vec<ItemParams> {
    old.iter()
        .map(|i| ItemParams::from_difficulty(i.a * a_link, (i.b() - b_link) / a_link, i.c))
        .collect()
}

/// Every linking method.
const METHODS: [LinkingMethod; 4] = [
    LinkingMethod::MeanMean,
    LinkingMethod::MeanSigma,
    LinkingMethod::StockingLord,
    LinkingMethod::Haebara,
];

#[test]
fn every_method_recovers_an_exact_transformation() {
    let old = old_anchors();
    let grid = Grid::normal(41, -4.0, 4.0, 0.0, 1.0).unwrap();
    for (a_link, b_link) in [(1.25, -0.4), (0.7, 0.9), (1.0, 0.0)] {
        let new = on_new_scale(&old, a_link, b_link);
        for method in METHODS {
            let l = link(&old, &new, method, &grid).unwrap();
            assert!(
                (l.transform.a - a_link).abs() < 1e-8 && (l.transform.b - b_link).abs() < 1e-8,
                "{method:?} for ({a_link}, {b_link}): {l:?}"
            );
            assert!(l.criterion < 1e-20, "{method:?}: {l:?}");
        }
    }
}

/// The curve criteria written out here: Stocking-Lord on the test curve,
/// Haebara on the item curves, weights of a N(0, 1) on the grid points.
fn criterion(old: &[ItemParams], new: &[ItemParams], a: f64, b: f64, haebara: bool) -> f64 {
    let points: Vec<f64> = (0..61).map(|k| -6.0 + 0.2 * f64::from(k)).collect();
    let weights: Vec<f64> = points.iter().map(|t| (-0.5 * t * t).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut sum = 0.0;
    for (t, w) in points.iter().zip(&weights) {
        let diffs: Vec<f64> = old
            .iter()
            .zip(new)
            .map(|(o, n)| {
                // The new item on the old scale: a / A, A b + B.
                let (an, bn) = (n.a / a, a * n.b() + b);
                p3(o.a, o.d, o.c, *t) - (n.c + (1.0 - n.c) / (1.0 + (-an * (t - bn)).exp()))
            })
            .collect();
        sum += w / total
            * if haebara {
                diffs.iter().map(|d| d * d).sum::<f64>()
            } else {
                diffs.iter().sum::<f64>().powi(2)
            };
    }
    sum
}

#[test]
fn curve_methods_find_the_minimum_far_from_the_start() {
    // One anchor's difficulty is badly off on the new form: mean-sigma (the
    // start) lands far from the curve solutions, which must still be
    // minima of the criteria (checked with the criteria written out above).
    let old = old_anchors();
    let mut new = on_new_scale(&old, 1.25, -0.4);
    new[5] = ItemParams::from_difficulty(new[5].a, new[5].b() + 2.5, new[5].c);
    let grid = Grid::standard();
    let start = link(&old, &new, LinkingMethod::MeanSigma, &grid)
        .unwrap()
        .transform;
    for (method, haebara) in [
        (LinkingMethod::StockingLord, false),
        (LinkingMethod::Haebara, true),
    ] {
        let l = link(&old, &new, method, &grid).unwrap();
        let (a, b) = (l.transform.a, l.transform.b);
        assert!((a - start.a).abs() > 0.2, "{l:?} vs start {start:?}");
        let at = criterion(&old, &new, a, b, haebara);
        assert!(close(l.criterion, at, 1e-10), "{l:?} vs {at}");
        for (da, db) in [
            (1e-4, 0.0),
            (-1e-4, 0.0),
            (0.0, 1e-4),
            (0.0, -1e-4),
            (1e-4, 1e-4),
            (-1e-4, 1e-4),
        ] {
            assert!(
                criterion(&old, &new, a + da, b + db, haebara) > at,
                "{method:?} ({da}, {db})"
            );
        }
    }
}

#[test]
fn linking_matches_the_python_reference_on_perturbed_anchors() {
    let text = include_str!("fixtures/linking_reference.csv");
    let (mut old, mut new) = (Vec::new(), Vec::new());
    let mut want = Vec::new();
    for r in rows(text) {
        match (r[0], r[1]) {
            ("anchor", form) => {
                let item = ItemParams {
                    a: num(r[2]),
                    d: num(r[3]),
                    c: num(r[4]),
                };
                if form == "old" {
                    old.push(item)
                } else {
                    new.push(item)
                }
            }
            (_, name) => want.push((name.to_string(), num(r[2]), num(r[3]), num(r[4]))),
        }
    }
    assert_eq!((old.len(), new.len(), want.len()), (10, 10, 4));
    let grid = Grid::normal(41, -4.0, 4.0, 0.0, 1.0).unwrap();
    for (name, a, b, criterion) in want {
        let (method, tol) = match name.as_str() {
            "mean_mean" => (LinkingMethod::MeanMean, 1e-12),
            "mean_sigma" => (LinkingMethod::MeanSigma, 1e-12),
            // scipy's least squares and the engine agree to about 1e-9.
            "stocking_lord" => (LinkingMethod::StockingLord, 1e-8),
            _ => (LinkingMethod::Haebara, 1e-8),
        };
        let l = link(&old, &new, method, &grid).unwrap();
        assert!(
            (l.transform.a - a).abs() < tol && (l.transform.b - b).abs() < tol,
            "{name}: {l:?} vs ({a}, {b})"
        );
        assert!(
            close(l.criterion, criterion, 1e-8),
            "{name}: {l:?} vs {criterion}"
        );
    }
}

#[test]
fn transformed_items_and_abilities_land_on_the_old_scale() {
    let new = old_anchors();
    let t = ScaleTransform::new(1.3, -0.25).unwrap();
    let placed = t.items(&new);
    for (n, p) in new.iter().zip(&placed) {
        assert!(close(p.a, n.a / 1.3, 1e-15));
        assert!(close(p.b(), 1.3 * n.b() - 0.25, 1e-13));
        assert_eq!(p.c, n.c);
        // Same probability at corresponding abilities.
        for theta in [-2.0, 0.0, 1.5] {
            let old_theta = 1.3 * theta - 0.25;
            assert!(close(
                p3(p.a, p.d, p.c, old_theta),
                p3(n.a, n.d, n.c, theta),
                1e-14
            ));
        }
    }
    let abilities = t.abilities(&[Ability {
        theta: 0.5,
        se: 0.3,
    }]);
    assert!(close(abilities[0].theta, 1.3 * 0.5 - 0.25, 1e-15));
    assert!(close(abilities[0].se, 1.3 * 0.3, 1e-15));
    assert!(close(t.theta(-1.0), -1.55, 1e-15));
    // Linking and then transforming gives back the old anchors.
    let old = old_anchors();
    let grid = Grid::standard();
    let l = link(
        &old,
        &on_new_scale(&old, 0.8, 0.3),
        LinkingMethod::Haebara,
        &grid,
    )
    .unwrap();
    for (o, back) in old
        .iter()
        .zip(l.transform.items(&on_new_scale(&old, 0.8, 0.3)))
    {
        assert!(
            close(back.a, o.a, 1e-8) && close(back.d, o.d, 1e-8),
            "{back:?} {o:?}"
        );
    }
}

#[test]
fn linking_rejects_bad_input_without_panicking() {
    let old = old_anchors();
    let new = on_new_scale(&old, 1.1, 0.2);
    let grid = Grid::standard();
    let m = LinkingMethod::StockingLord;
    assert_eq!(
        link::<ItemParams>(&[], &[], m, &grid),
        Err(LinkingError::NoAnchors)
    );
    assert_eq!(
        link(&old, &new[1..], m, &grid),
        Err(LinkingError::AnchorCount { old: 6, new: 5 })
    );
    let mut bad = new.clone();
    bad[2].a = f64::NAN;
    assert_eq!(
        link(&old, &bad, m, &grid),
        Err(LinkingError::InvalidItem {
            form: "new",
            index: 2
        })
    );
    // Equal difficulties: no spread for mean-sigma.
    let flat: Vec<ItemParams> = (0..3)
        .map(|_| ItemParams::from_difficulty(1.0, 0.5, 0.0))
        .collect();
    assert!(matches!(
        link(&flat, &flat, LinkingMethod::MeanSigma, &grid),
        Err(LinkingError::NotIdentified(_))
    ));
    // Negative mean slopes: mean-mean is not identified.
    let negative: Vec<ItemParams> = old.iter().map(|i| ItemParams { a: -i.a, ..*i }).collect();
    assert!(link(&negative, &new, LinkingMethod::MeanMean, &grid).is_err());
    // Curves flat over the grid (abilities far beyond the items): the
    // criterion does not identify A and B.
    let far = Grid::normal(11, 1000.0, 1001.0, 1000.5, 1.0).unwrap();
    for method in [LinkingMethod::StockingLord, LinkingMethod::Haebara] {
        assert!(matches!(
            link(&old, &new, method, &far),
            Err(LinkingError::NotIdentified(_))
        ));
    }
    // A grid with a non-finite point.
    let mut broken = grid.clone();
    broken.points[3] = f64::NAN;
    assert!(matches!(
        link(&old, &new, m, &broken),
        Err(LinkingError::Grid(_))
    ));
    for (a, b) in [
        (0.0, 0.0),
        (-1.0, 0.0),
        (f64::NAN, 0.0),
        (1.0, f64::INFINITY),
    ] {
        assert!(ScaleTransform::new(a, b).is_err());
    }
}

// ------------------------------------------------- behaviour under the model

/// Standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.random(), rng.random());
    (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

#[test]
fn fit_statistics_are_calibrated_when_the_model_holds() {
    // Data drawn from known 2PL items with N(0, 1) abilities. With the
    // true parameters (0 estimated: df = contrasts) S-X2 should reject at
    // about the nominal 5%, and infit/outfit t at the true abilities should
    // be about standard normal.
    let items: Vec<ItemParams> = (0..10)
        .map(|k| {
            ItemParams::from_difficulty(0.7 + 0.12 * f64::from(k), -1.8 + 0.4 * f64::from(k), 0.0)
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(20261129);
    let (reps, n) = (150, 1000);
    let (mut rejected, mut tests) = (0u32, 0u32);
    let mut ratio = 0.0;
    let mut t_values = Vec::new();
    for _ in 0..reps {
        let theta: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
        let mut cells = Vec::with_capacity(n * items.len());
        for &t in &theta {
            for i in &items {
                cells.push(u8::from(rng.random::<f64>() < p3(i.a, i.d, i.c, t)));
            }
        }
        let responses = CategoryResponses::new(vec![2; items.len()], cells).unwrap();
        let report = s_x2(
            &items,
            &responses,
            &Grid::standard(),
            &SX2Options::new(vec![0; items.len()]),
        )
        .unwrap();
        for item in &report.items {
            tests += 1;
            rejected += u32::from(item.p_value < 0.05);
            ratio += item.statistic / item.df as f64;
        }
        for m in mean_square_fit(&items, &responses, &theta).unwrap() {
            t_values.push(m.infit_t);
            t_values.push(m.outfit_t);
        }
    }
    let rate = f64::from(rejected) / f64::from(tests);
    let mean_ratio = ratio / f64::from(tests);
    assert!((0.03..0.075).contains(&rate), "S-X2 rejection rate {rate}");
    assert!(
        (0.95..1.05).contains(&mean_ratio),
        "mean S-X2 / df {mean_ratio}"
    );
    let k = t_values.len() as f64;
    let mean = t_values.iter().sum::<f64>() / k;
    let sd = (t_values.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
    assert!(
        mean.abs() < 0.08 && (sd - 1.0).abs() < 0.06,
        "t: mean {mean}, sd {sd}"
    );
}

// ------------------------------------------ another item type through the trait

/// A generalized partial credit item defined here, to check that the
/// diagnostics work for any [`ItemCurve`]: `P_k ~ exp(sum_{v <= k} a (theta - b_v))`.
#[derive(Debug, Clone, PartialEq)]
struct Gpcm {
    a: f64,
    steps: Vec<f64>,
}

impl Gpcm {
    fn probabilities(&self, theta: f64) -> Vec<f64> {
        let mut z = vec![0.0];
        for b in &self.steps {
            let last = z[z.len() - 1];
            z.push(last + self.a * (theta - b));
        }
        let max = z.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        let e: Vec<f64> = z.iter().map(|x| (x - max).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|x| x / s).collect()
    }

    fn mean_var(&self, theta: f64) -> (f64, f64) {
        let p = self.probabilities(theta);
        let m: f64 = p.iter().enumerate().map(|(k, pk)| k as f64 * pk).sum();
        let v = p
            .iter()
            .enumerate()
            .map(|(k, pk)| (k as f64 - m).powi(2) * pk)
            .sum();
        (m, v)
    }
}

impl ItemCurve for Gpcm {
    fn max_score(&self) -> usize {
        self.steps.len()
    }
    fn category_probabilities(&self, theta: f64, out: &mut [f64]) {
        out.copy_from_slice(&self.probabilities(theta));
    }
    fn expected_score_slope(&self, theta: f64) -> f64 {
        self.a * self.mean_var(theta).1
    }
    fn information(&self, theta: f64) -> f64 {
        self.a * self.a * self.mean_var(theta).1
    }
    fn slope(&self) -> f64 {
        self.a
    }
    fn location(&self) -> f64 {
        self.steps.iter().sum::<f64>() / self.steps.len() as f64
    }
    fn rescaled(&self, scale: f64, shift: f64) -> Self {
        Gpcm {
            a: self.a / scale,
            steps: self.steps.iter().map(|b| scale * b + shift).collect(),
        }
    }
    fn is_valid(&self) -> bool {
        self.a.is_finite() && self.steps.iter().all(|b| b.is_finite())
    }
}

fn gpcm_anchors() -> Vec<Gpcm> {
    vec![
        Gpcm {
            a: 1.1,
            steps: vec![-1.0, 0.2],
        },
        Gpcm {
            a: 0.7,
            steps: vec![-0.5, 0.4, 1.6],
        },
        Gpcm {
            a: 1.5,
            steps: vec![0.3, -0.2],
        },
        Gpcm {
            a: 0.9,
            steps: vec![-2.0, -0.8, 0.1, 1.0],
        },
    ]
}

#[test]
fn a_polytomous_item_type_links_and_convolves_through_the_trait() {
    let old = gpcm_anchors();
    // On a new scale with theta_old = 0.8 theta_new + 0.6: a A, (b - B) / A.
    let new: Vec<Gpcm> = old
        .iter()
        .map(|i| Gpcm {
            a: i.a * 0.8,
            steps: i.steps.iter().map(|b| (b - 0.6) / 0.8).collect(),
        })
        .collect();
    let grid = Grid::normal(41, -4.0, 4.0, 0.0, 1.0).unwrap();
    for method in METHODS {
        let l = link(&old, &new, method, &grid).unwrap();
        assert!(
            (l.transform.a - 0.8).abs() < 1e-8 && (l.transform.b - 0.6).abs() < 1e-8,
            "{method:?}: {l:?}"
        );
    }
    // Summed scores of the first two items (0..=2 and 0..=3): the
    // convolution written out.
    let t = -0.3;
    let (p, q) = (old[0].probabilities(t), old[1].probabilities(t));
    let dist = summed_score_distribution(&old[..2], t);
    assert_eq!(dist.len(), 6);
    for (s, d) in dist.iter().enumerate() {
        let expected: f64 = (0..=2)
            .filter(|&k| s >= k && s - k <= 3)
            .map(|k| p[k] * q[s - k])
            .sum();
        assert!(close(*d, expected, 1e-14), "{s}: {dist:?}");
    }
    // Information a^2 Var(X) through the table; the score moments from the
    // category probabilities (the trait's default).
    let table = information_table(&old, &[t]).unwrap();
    let (mean, var) = old[1].mean_var(t);
    assert!(close(table[0].items[1], 0.49 * var, 1e-14));
    let m = old[1].score_moments(t);
    assert!(close(m.mean, mean, 1e-14) && close(m.variance, var, 1e-14));
}

// ------------------------------------------------- partial credit items

/// The categories of `fixtures/irt_mixed_responses.csv`'s items.
const MIXED_CATEGORIES: [usize; 8] = [2, 2, 2, 3, 4, 3, 5, 4];

/// PyPI mirt's mixed fit (`mirt_mixed` rows: slope and steps), every item
/// as a GPCM, and the responses it was fitted to.
fn mirt_mixed() -> (Vec<ItemModel>, CategoryResponses) {
    let mut slopes = [f64::NAN; 8];
    let mut steps = vec![Vec::new(); 8];
    for r in rows(include_str!("fixtures/irt_mixed_params.csv")) {
        if r[0] != "mirt_mixed" || r[1] == "0" {
            continue;
        }
        let j: usize = r[1].parse::<usize>().expect("item number") - 1;
        if r[2] == "a" {
            slopes[j] = num(r[3]);
        } else {
            steps[j].push(num(r[3]));
        }
    }
    let items = slopes
        .iter()
        .zip(&steps)
        .map(|(&a, b)| ItemModel::gpcm_from_steps(a, b))
        .collect();
    let cells = rows(include_str!("fixtures/irt_mixed_responses.csv"))
        .iter()
        .flat_map(|r| {
            r.iter().map(|c| match *c {
                "" => CategoryResponses::MISSING,
                c => c.parse().expect("category code"),
            })
        })
        .collect();
    let responses = CategoryResponses::new(MIXED_CATEGORIES.to_vec(), cells).expect("responses");
    (items, responses)
}

#[test]
fn partial_credit_items_fit_as_the_reference() {
    // fixtures/fit_polytomous_reference.py: numpy from Wright-Masters and
    // Kang-Chen, equal there to PyPI mirt's itemfit.
    let (items, responses) = mirt_mixed();
    let want = rows(include_str!("fixtures/fit_polytomous_results.csv"));
    let eap = score(&items, &responses, AbilityMethod::Eap, &Grid::standard()).unwrap();
    let theta: Vec<f64> = eap.iter().map(|a| a.theta).collect();
    let ms = mean_square_fit(&items, &responses, &theta).unwrap();
    for (j, (m, w)) in ms.iter().zip(&want).enumerate() {
        let got = [m.infit, m.infit_t, m.outfit, m.outfit_t];
        for (g, w) in got.iter().zip(&w[1..5]) {
            assert!(close(*g, num(w), 1e-9), "item {j}: {m:?} {w:?}");
        }
        assert_eq!(m.n.to_string(), w[5], "item {j}");
    }
    let parameters: Vec<usize> = MIXED_CATEGORIES
        .iter()
        .map(|&k| if k == 2 { 2 } else { k })
        .collect();
    // All 1,311 complete respondents, then the first 150 of them (sparse
    // score groups: tails and categories pooled).
    let complete: Vec<u8> = (0..responses.n_respondents())
        .map(|i| responses.row(i))
        .filter(|r| !r.contains(&CategoryResponses::MISSING))
        .take(150)
        .flatten()
        .copied()
        .collect();
    let small = CategoryResponses::new(MIXED_CATEGORIES.to_vec(), complete).unwrap();
    for (data, at, n) in [(&responses, 6, 1311), (&small, 10, 150)] {
        let options = SX2Options::new(parameters.clone());
        let report = s_x2(&items, data, &Grid::standard(), &options).unwrap();
        assert_eq!(report.complete, n);
        for (j, (got, w)) in report.items.iter().zip(&want).enumerate() {
            assert!(
                close(got.statistic, num(w[at]), 1e-9),
                "{n} item {j}: {got:?} {w:?}"
            );
            assert_eq!(got.df.to_string(), w[at + 1], "{n} item {j}: {got:?}");
            assert!(
                close(got.p_value, num(w[at + 2]), 1e-8),
                "{n} item {j}: {got:?}"
            );
            assert_eq!(got.groups.to_string(), w[at + 3], "{n} item {j}: {got:?}");
        }
    }
    // The fixture's small sample pools: fewer groups than scores.
    assert!(want.iter().any(|w| num(w[13]) < 10.0));
    // Parameters whose categories disagree with the responses are refused.
    let mut wrong = items.clone();
    wrong[3] = ItemModel::gpcm_from_steps(1.0, &[0.0]);
    assert!(
        s_x2(
            &wrong,
            &responses,
            &Grid::standard(),
            &SX2Options::new(parameters)
        )
        .is_err()
    );
    assert!(mean_square_fit(&wrong, &responses, &theta).is_err());
}
