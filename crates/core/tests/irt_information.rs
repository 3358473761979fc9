//! IRT standard errors against an independent reference: the inverse of
//! the negative Hessian of the marginal log-likelihood, written out here
//! from its definition (61 rectangular points on [-6, 6], N(0, 1) weights)
//! and differentiated twice by central differences, at the engine's
//! estimates. Generated data with missing answers and unequal weights, so
//! that every part of the engine's exact observed information is used.

use literacy_core::irt::{
    CalibrationOptions, CategoryResponses, ItemEstimate, ItemParams, ModelKind, calibrate,
};

/// The 2,000 x 12 generated responses of `fixtures/irt_reference.py`
/// (about 5% missing).
fn responses() -> CategoryResponses {
    let mut cells = Vec::new();
    for line in include_str!("fixtures/irt_reference_responses.csv")
        .lines()
        .skip(1)
    {
        cells.extend(line.split(',').map(|x| match x {
            "" => CategoryResponses::MISSING,
            x => x.parse().expect("0 or 1"),
        }));
    }
    CategoryResponses::dichotomous(12, cells).expect("cells")
}

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

/// Gauss-Jordan inverse of a small symmetric positive definite matrix.
fn invert(m: &[f64], n: usize) -> Vec<f64> {
    let mut a = m.to_vec();
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    for col in 0..n {
        let p = a[col * n + col];
        for k in 0..n {
            a[col * n + k] /= p;
            inv[col * n + k] /= p;
        }
        for i in 0..n {
            if i != col {
                let f = a[i * n + col];
                for k in 0..n {
                    a[i * n + k] -= f * a[col * n + k];
                    inv[i * n + k] -= f * inv[col * n + k];
                }
            }
        }
    }
    inv
}

/// Standard errors of the free parameters by differencing the
/// log-likelihood twice; `build` maps free parameters to items.
fn reference_se(
    free: &[f64],
    build: impl Fn(&[f64]) -> Vec<ItemParams>,
    data: &CategoryResponses,
    weights: &[f64],
) -> Vec<f64> {
    let k = free.len();
    let h = 1e-3;
    let at = |du: Option<(usize, f64)>, dv: Option<(usize, f64)>| {
        let mut v = free.to_vec();
        for (i, s) in du.into_iter().chain(dv) {
            v[i] += s;
        }
        log_likelihood(&build(&v), data, weights)
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
    let cov = invert(&info, k);
    (0..k).map(|i| cov[i * k + i].sqrt()).collect()
}

#[test]
fn standard_errors_equal_the_differenced_likelihood_with_missing_answers_and_weights() {
    let data = responses();
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
        let reference = reference_se(&free, build, &data, &weights);
        let worst = ours
            .iter()
            .zip(&reference)
            .map(|(x, r)| ((x - r) / r).abs())
            .fold(0.0_f64, f64::max);
        assert!(worst < 1e-5, "{model:?}: {worst:e} {ours:?} {reference:?}");
    }
}
