//! IRT standard errors against an independent reference: the inverse of
//! the negative Hessian of the marginal log-likelihood, written out here
//! from its definition (61 rectangular points on [-6, 6], N(0, 1) weights)
//! and differentiated twice by central differences, at the engine's
//! estimates. Generated data with missing answers and unequal weights, so
//! that every part of the engine's exact observed information is used.

mod item_probability;
mod reference_responses;

use item_probability::probability;
use reference_responses::reference_responses;

use literacy_core::irt::{
    Calibration, CalibrationOptions, CategoryResponses, ItemEstimate, ItemModel, ItemParams,
    ModelKind, calibrate,
};

/// A dichotomous item's parameters.
fn params(e: &ItemEstimate) -> ItemParams {
    e.params().expect("a dichotomous item")
}

/// The weighted marginal log-likelihood, from its definition.
fn log_likelihood(items: &[ItemParams], data: &CategoryResponses, weights: &[f64]) -> f64 {
    let points: Vec<f64> = (0..61).map(|k| -6.0 + 0.2 * f64::from(k)).collect();
    let density: Vec<f64> = points.iter().map(|t| (-0.5 * t * t).exp()).collect();
    let total: f64 = density.iter().sum();
    let log_prior: Vec<f64> = density.iter().map(|d| (d / total).ln()).collect();
    // ln P and ln Q per item and point.
    let table: Vec<[f64; 2]> = items
        .iter()
        .flat_map(|item| {
            points.iter().map(|&t| {
                let p = 1.0 / (1.0 + (-(item.a * t + item.d)).exp());
                [p.ln(), (1.0 - p).ln()]
            })
        })
        .collect();
    let mut ll = 0.0;
    for (i, w) in weights.iter().enumerate() {
        let row = data.row(i);
        let terms: Vec<f64> = (0..points.len())
            .map(|q| {
                let mut l = log_prior[q];
                for (j, &x) in row.iter().enumerate() {
                    match x {
                        1 => l += table[j * points.len() + q][0],
                        0 => l += table[j * points.len() + q][1],
                        _ => {}
                    }
                }
                l
            })
            .collect();
        let max = terms.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        ll += w * (max + terms.iter().map(|x| (x - max).exp()).sum::<f64>().ln());
    }
    ll
}

/// The diagonal of the inverse of a small symmetric positive definite
/// matrix, through its Cholesky factor `m = L L'`: `(m^-1)_ii` is the
/// squared length of column `i` of `L^-1`. (Written independently of the
/// engine's Gauss-Jordan inverse.)
fn inverse_diagonal(m: &[f64], n: usize) -> Vec<f64> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s = m[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            if i == j {
                assert!(s > 0.0, "not positive definite at row {i}: {s}");
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    // Column i of L^-1 solves L y = e_i, by forward substitution; its
    // entries above row i are 0.
    (0..n)
        .map(|i| {
            let mut y = vec![0.0; n];
            for r in i..n {
                let s: f64 = (i..r).map(|k| l[r * n + k] * y[k]).sum();
                y[r] = (f64::from(u8::from(r == i)) - s) / l[r * n + r];
            }
            y.iter().map(|v| v * v).sum()
        })
        .collect()
}

/// Standard errors of the free parameters by differencing their
/// log-likelihood twice.
fn reference_se(free: &[f64], log_likelihood: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let k = free.len();
    let h = 1e-3;
    let at = |du: Option<(usize, f64)>, dv: Option<(usize, f64)>| {
        let mut v = free.to_vec();
        for (i, s) in du.into_iter().chain(dv) {
            v[i] += s;
        }
        log_likelihood(&v)
    };
    let centre = at(None, None);
    let mut info = vec![0.0; k * k];
    for u in 0..k {
        let plus = at(Some((u, h)), None);
        let minus = at(Some((u, -h)), None);
        info[u * k + u] = -(plus - 2.0 * centre + minus) / (h * h);
        for v in 0..u {
            let pp = at(Some((u, h)), Some((v, h)));
            let pm = at(Some((u, h)), Some((v, -h)));
            let mp = at(Some((u, -h)), Some((v, h)));
            let mm = at(Some((u, -h)), Some((v, -h)));
            let x = -(pp - pm - mp + mm) / (4.0 * h * h);
            info[u * k + v] = x;
            info[v * k + u] = x;
        }
    }
    inverse_diagonal(&info, k)
        .into_iter()
        .map(f64::sqrt)
        .collect()
}

#[test]
fn standard_errors_equal_the_differenced_likelihood_with_missing_answers_and_weights() {
    let data = reference_responses();
    let weights: Vec<f64> = (0..data.n_respondents())
        .map(|i| 0.5 + 0.25 * (i % 5) as f64)
        .collect();
    for model in [ModelKind::TwoPl, ModelKind::OnePl, ModelKind::Rasch] {
        let fit = calibrate(
            &data,
            None,
            Some(&weights),
            &CalibrationOptions {
                tolerance: 1e-9,
                ..CalibrationOptions::all(model, 12)
            },
        )
        .expect("calibrated");
        let items: Vec<ItemParams> = fit.items.iter().map(params).collect();
        let (free, ours): (Vec<f64>, Vec<f64>) = match model {
            ModelKind::TwoPl => items
                .iter()
                .zip(&fit.items)
                .flat_map(|(p, e)| [(p.a, e.se_a), (p.d, e.se_d[0])])
                .unzip(),
            ModelKind::OnePl => std::iter::once((items[0].a, fit.items[0].se_a))
                .chain(items.iter().zip(&fit.items).map(|(p, e)| (p.d, e.se_d[0])))
                .unzip(),
            _ => items
                .iter()
                .zip(&fit.items)
                .map(|(p, e)| (p.d, e.se_d[0]))
                .unzip(),
        };
        let build = |v: &[f64]| -> Vec<ItemParams> {
            (0..12)
                .map(|j| match model {
                    ModelKind::TwoPl => ItemParams {
                        a: v[2 * j],
                        d: v[2 * j + 1],
                        c: 0.0,
                    },
                    ModelKind::OnePl => ItemParams {
                        a: v[0],
                        d: v[1 + j],
                        c: 0.0,
                    },
                    _ => ItemParams {
                        a: 1.0,
                        d: v[j],
                        c: 0.0,
                    },
                })
                .collect()
        };
        let reference = reference_se(&free, |v| log_likelihood(&build(v), &data, &weights));
        let worst = ours
            .iter()
            .zip(&reference)
            .map(|(x, r)| ((x - r) / r).abs())
            .fold(0.0_f64, f64::max);
        assert!(worst < 1e-5, "{model:?}: {worst:e} {ours:?} {reference:?}");
    }
}

/// Every other respondent of `fixtures/irt_mixed_groups.csv` (two groups;
/// items of 2, 2, 3, 4, 3 and 4 categories, about 2% missing) and their
/// groups.
fn mixed_groups() -> (CategoryResponses, Vec<usize>) {
    let (mut cells, mut groups) = (Vec::new(), Vec::new());
    for line in include_str!("fixtures/irt_mixed_groups.csv")
        .lines()
        .skip(1)
        .step_by(2)
    {
        let mut fields = line.split(',');
        groups.push(fields.next().expect("group").parse().expect("group"));
        cells.extend(fields.map(|x| match x {
            "" => CategoryResponses::MISSING,
            x => x.parse().expect("category"),
        }));
    }
    let data = CategoryResponses::new(vec![2, 2, 3, 4, 3, 4], cells).expect("cells");
    (data, groups)
}

/// The weighted marginal log-likelihood of items and groups' normal
/// latent distributions (their masses at mirt's 61 points), from its
/// definition.
fn mixed_log_likelihood(
    items: &[ItemModel],
    latent: &[(f64, f64)],
    data: &CategoryResponses,
    groups: &[usize],
    weights: &[f64],
) -> f64 {
    let points: Vec<f64> = (0..61).map(|k| -6.0 + 0.2 * f64::from(k)).collect();
    let log_masses: Vec<Vec<f64>> = latent
        .iter()
        .map(|&(mean, sd)| {
            let density: Vec<f64> = points
                .iter()
                .map(|t| (-0.5 * ((t - mean) / sd).powi(2)).exp())
                .collect();
            let total: f64 = density.iter().sum();
            density.iter().map(|d| (d / total).ln()).collect()
        })
        .collect();
    let table: Vec<Vec<Vec<f64>>> = items
        .iter()
        .map(|item| {
            (0..item.n_categories())
                .map(|x| {
                    points
                        .iter()
                        .map(|&t| probability(item, x, t).ln())
                        .collect()
                })
                .collect()
        })
        .collect();
    let mut ll = 0.0;
    for (i, (w, &g)) in weights.iter().zip(groups).enumerate() {
        let terms: Vec<f64> = (0..points.len())
            .map(|q| {
                let mut l = log_masses[g][q];
                for (j, &x) in data.row(i).iter().enumerate() {
                    if x != CategoryResponses::MISSING {
                        l += table[j][usize::from(x)][q];
                    }
                }
                l
            })
            .collect();
        let max = terms.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        ll += w * (max + terms.iter().map(|x| (x - max).exp()).sum::<f64>().ln());
    }
    ll
}

/// The items and latent distributions of `fit` with its free parameters
/// (in the order of its labels) replaced by `v`.
fn rebuild(fit: &Calibration, v: &[f64]) -> (Vec<ItemModel>, Vec<(f64, f64)>) {
    let mut items = fit.models();
    let mut latent: Vec<(f64, f64)> = fit.groups.iter().map(|g| (g.mean, g.sd)).collect();
    let set_slope = |item: &mut ItemModel, x: f64| match item {
        ItemModel::Dichotomous(p) => p.a = x,
        ItemModel::Gpcm { a, .. } => *a = x,
    };
    for (label, &x) in fit.labels.iter().zip(v) {
        let (what, field) = label.split_once('.').expect("a label");
        if what == "common" {
            for (item, e) in items.iter_mut().zip(&fit.items) {
                if e.kind == ModelKind::OnePl && !e.anchored {
                    set_slope(item, x);
                }
            }
        } else if let Some(g) = what.strip_prefix("group") {
            let g: usize = g.parse().expect("group");
            match field {
                "mean" => latent[g].0 = x,
                _ => latent[g].1 = x,
            }
        } else {
            let j: usize = what[4..].parse().expect("item");
            match (&mut items[j], field) {
                (item, "a") => set_slope(item, x),
                (ItemModel::Dichotomous(p), "d") => p.d = x,
                (ItemModel::Dichotomous(p), "c") => p.c = x,
                (ItemModel::Gpcm { d, .. }, k) => {
                    d[k[1..].parse::<usize>().expect("step") - 1] = x;
                }
                (_, other) => panic!("label {other}"),
            }
        }
    }
    (items, latent)
}

#[test]
fn mixed_standard_errors_equal_the_differenced_likelihood_with_groups_and_anchors() {
    // 1PL items sharing a slope, PCM and GPCM items, two groups, missing
    // answers and unequal weights: Louis' identity in natural parameters,
    // mapped to the common slope and to the groups' (mean, sd).
    let (data, groups) = mixed_groups();
    let weights: Vec<f64> = (0..data.n_respondents())
        .map(|i| 0.5 + 0.25 * (i % 5) as f64)
        .collect();
    let kinds = vec![
        ModelKind::OnePl,
        ModelKind::OnePl,
        ModelKind::Pcm,
        ModelKind::Gpcm,
        ModelKind::Gpcm,
        ModelKind::Gpcm,
    ];
    let options = CalibrationOptions {
        tolerance: 1e-9,
        ..CalibrationOptions::new(kinds)
    };
    let free_fit = calibrate(&data, Some(&groups), Some(&weights), &options).expect("calibrated");
    // Then with item 5 anchored at its estimate: both groups free.
    let anchored = CalibrationOptions {
        anchors: vec![(5, free_fit.items[5].model.clone())],
        ..options.clone()
    };
    let anchored_fit =
        calibrate(&data, Some(&groups), Some(&weights), &anchored).expect("calibrated");
    assert!(!free_fit.groups[0].free && free_fit.groups[1].free);
    assert!(anchored_fit.groups.iter().all(|g| g.free));
    assert_eq!(free_fit.labels[..3], ["common.a", "item0.d", "item1.d"]);
    for fit in [&free_fit, &anchored_fit] {
        assert!(fit.convergence.converged, "{:?}", fit.convergence);
        let cov = fit.covariance.as_ref().expect("covariance");
        let k = fit.n_parameters;
        let ours: Vec<f64> = (0..k).map(|i| cov[i * k + i].sqrt()).collect();
        let free: Vec<f64> = fit.labels.iter().map(|l| value_of(fit, l)).collect();
        let reference = reference_se(&free, |v| {
            let (items, latent) = rebuild(fit, v);
            mixed_log_likelihood(&items, &latent, &data, &groups, &weights)
        });
        let worst = ours
            .iter()
            .zip(&reference)
            .map(|(x, r)| ((x - r) / r).abs())
            .fold(0.0_f64, f64::max);
        assert!(
            worst < 1e-5,
            "{:?}: {worst:e} {ours:?} {reference:?}",
            fit.labels
        );
    }
}

/// The value of a free parameter of `fit`, by its label.
fn value_of(fit: &Calibration, label: &str) -> f64 {
    let (what, field) = label.split_once('.').expect("a label");
    if what == "common" {
        let one_pl = fit.items.iter().find(|e| e.kind == ModelKind::OnePl);
        return one_pl.expect("a 1PL item").model.slope();
    }
    if let Some(g) = what.strip_prefix("group") {
        let g = &fit.groups[g.parse::<usize>().expect("group")];
        return if field == "mean" { g.mean } else { g.sd };
    }
    let item = &fit.items[what[4..].parse::<usize>().expect("item")].model;
    match (item, field) {
        (item, "a") => item.slope(),
        (ItemModel::Dichotomous(p), "d") => p.d,
        (ItemModel::Dichotomous(p), _) => p.c,
        (ItemModel::Gpcm { d, .. }, k) => d[k[1..].parse::<usize>().expect("step") - 1],
    }
}
