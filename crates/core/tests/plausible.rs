//! Plausible values combined with design-based variances against R:
//! `survey::withPV` + `mitools::MIcombine` for the draws, W, B, T and
//! Rubin's df, and the Barnard-Rubin df, fraction of missing information
//! and intervals written out by hand in R from the formulas
//! (`tests/reference/make_pv_fixtures.R`, `expected/CASES.md` section p).
//!
//! Tolerances: 1e-10 relative (Taylor, JKn), 1e-9 after raking (as the
//! single-data-set fixtures); quantities R computes as rounding noise
//! around zero (the single-PSU province's within variance) absolute 1e-12.

mod survey;

use literacy_core::design::{Design, Fpc, LonelyPsu};
use literacy_core::estimate::plausible::{self, PlausibleEstimate};
use literacy_core::estimate::{
    self, Calibration, Domains, Estimate, EstimateError, IntervalMethod, Options, RakedReplicates,
    Variance, at_or_above, estimate_plausible,
};
use literacy_core::variance::{ReplicateMethod, Replicates};
use literacy_core::weighting::{self, RakeOptions};
use literacy_test_support::reference::Csv;
use literacy_test_support::tolerance::{Tol, assert_close};
use survey::raking_margins;

const CUT: f64 = 0.5;
const M: usize = 5;

struct Data {
    csv: Csv,
    weights: Vec<f64>,
    design: Design,
    outcomes: Vec<Vec<f64>>,
}

fn load(lonely: LonelyPsu, fpc: bool) -> Data {
    let csv = Csv::read("data/synth_pv.csv");
    let fpc_values = csv.num("fpc");
    let design = Design::new(
        csv.rows.len(),
        Some(&csv.text("province")),
        Some(&csv.text("psu")),
        if fpc {
            Fpc::PopulationPsus(&fpc_values)
        } else {
            Fpc::None
        },
        lonely,
    )
    .expect("design");
    let weights = csv.num("weight");
    let outcomes = (1..=M)
        .map(|m| at_or_above(&csv.num(&format!("pv{m}")), CUT))
        .collect();
    Data {
        csv,
        weights,
        design,
        outcomes,
    }
}

fn domains(data: &Data, by: Option<&str>) -> Domains {
    match by {
        None => Domains::whole(data.design.n()),
        Some(b) => Domains::crossing(&[b.to_owned()], &[&data.csv.text(b)[..]]),
    }
}

/// Compares one case (all its domain variables) with R.
fn check_case(case: &str, data: &Data, variance: Variance<'_>, by: &[&str], tol: f64) {
    let combined = Csv::read("expected/p_pv_combined.csv");
    let draws = Csv::read("expected/p_pv_draws.csv");
    let ys: Vec<&[f64]> = data.outcomes.iter().map(Vec::as_slice).collect();
    let mut checked = 0;
    for by in std::iter::once(None).chain(by.iter().map(|b| Some(*b))) {
        let doms = domains(data, by);
        let options = Options::default();
        let each =
            estimate::estimate_each(&data.design, &data.weights, &ys, &doms, variance, &options)
                .expect("estimates");
        let logit = estimate_plausible(&data.design, &data.weights, &ys, &doms, variance, &options)
            .expect("combined");
        for (d, pe) in logit.iter().enumerate() {
            let (var, label) = match by {
                None => ("", String::new()),
                Some(b) => (b, doms.labels(d)[0].clone()),
            };
            let rows =
                combined.select(&[("case", case), ("domain_variable", var), ("domain", &label)]);
            assert_eq!(rows.len(), 1, "{case} {var} {label}");
            let x = Expected {
                case,
                var,
                label,
                combined: &combined,
                row: rows[0],
                tol,
            };
            check_draws(&x, &draws, &each, d);
            check_combined(&x, pe);
            check_intervals(&x, &each, d);
            // The reliability verdict is the standard's on R's combined numbers.
            let verdict = options.reliability.proportion(
                x.want("estimate"),
                x.want("se"),
                x.want("df"),
                x.want("n"),
            );
            let c = &pe.combined;
            assert_eq!(c.suppressed, verdict.suppressed, "{}", x.what("suppressed"));
            assert_eq!(c.flagged, verdict.flagged, "{}", x.what("flagged"));
            checked += 1;
        }
    }
    let expected = combined.select(&[("case", case)]).len();
    assert_eq!(checked, expected, "{case}: rows checked");
}

/// One domain of a case in R's combined results, and the tolerance.
struct Expected<'a> {
    case: &'a str,
    var: &'a str,
    label: String,
    combined: &'a Csv,
    row: usize,
    tol: f64,
}

impl Expected<'_> {
    /// R's value of a column.
    fn want(&self, column: &str) -> f64 {
        self.combined.get(self.row, column)
    }

    /// Names a quantity of this domain in a failure.
    fn what(&self, field: &str) -> String {
        format!("{} {}={} {field}", self.case, self.var, self.label)
    }

    /// Asserts that `got` agrees with R's `column` within `tol`.
    fn agree(&self, got: f64, column: &str, tol: Tol) {
        assert_close(got, self.want(column), tol, &self.what(column));
    }

    /// No within-imputation variance: design effects mean nothing.
    fn noise(&self) -> bool {
        self.want("within") < 1e-20
    }
}

/// The completed data sets' estimates of domain `d`, one by one.
fn check_draws(x: &Expected<'_>, draws: &Csv, each: &[Vec<Estimate>], d: usize) {
    for (m, e) in each.iter().enumerate() {
        let dr = draws.select(&[
            ("case", x.case),
            ("domain_variable", x.var),
            ("domain", &x.label),
            ("draw", &(m + 1).to_string()),
        ])[0];
        assert_close(
            e[d].estimate,
            draws.get(dr, "estimate"),
            Tol::rel(x.tol),
            &x.what("draw estimate"),
        );
        assert_close(
            e[d].se * e[d].se,
            draws.get(dr, "variance"),
            Tol::rel(x.tol).or_abs(1e-12),
            &x.what("draw variance"),
        );
        if !x.noise() {
            assert_close(
                e[d].deff,
                draws.get(dr, "deff"),
                Tol::rel(x.tol),
                &x.what("draw deff"),
            );
        }
    }
}

/// The combined estimate by Rubin's rules and its parts.
fn check_combined(x: &Expected<'_>, pe: &PlausibleEstimate) {
    let c = &pe.combined;
    assert_eq!(c.n as f64, x.want("n"), "{}", x.what("n"));
    assert_eq!(pe.rubin.draws, M);
    x.agree(c.weighted_total, "weighted_total", Tol::rel(1e-12));
    x.agree(c.estimate, "estimate", Tol::rel(x.tol));
    x.agree(c.se, "se", Tol::rel(x.tol));
    x.agree(pe.rubin.within, "within", Tol::rel(x.tol).or_abs(1e-12));
    x.agree(pe.rubin.between, "between", Tol::rel(x.tol));
    assert_close(
        pe.rubin.total_variance,
        x.want("total_variance"),
        Tol::rel(x.tol),
        &x.what("total"),
    );
    x.agree(pe.rubin.complete_df, "complete_df", Tol::EXACT);
    x.agree(pe.rubin.rubin_df, "rubin_df", Tol::rel(x.tol).or_abs(1e-9));
    x.agree(c.df, "df", Tol::rel(x.tol).or_abs(1e-12));
    x.agree(pe.rubin.fmi, "fmi", Tol::rel(x.tol).or_abs(1e-12));
    // mitools' small-sample df differs from the paper's only in
    // writing W / (W + B) for 1 - gamma: that variant of the engine's
    // numbers gives MIcombine(df.complete = nu)'s df.
    let nu = pe.rubin.complete_df;
    let mitools_obs =
        (nu + 1.0) / (nu + 3.0) * nu * pe.rubin.within / (pe.rubin.within + pe.rubin.between);
    let mitools_df = 1.0 / (1.0 / pe.rubin.rubin_df + 1.0 / mitools_obs);
    x.agree(mitools_df, "mitools_df", Tol::rel(x.tol).or_abs(1e-12));
    if !x.noise() {
        x.agree(pe.rubin.riv, "riv", Tol::rel(x.tol));
        x.agree(c.deff, "deff", Tol::rel(x.tol));
    }
}

/// Every interval method on the combined estimate, SE and df.
fn check_intervals(x: &Expected<'_>, each: &[Vec<Estimate>], d: usize) {
    for (method, low, high) in [
        (IntervalMethod::Logit, "logit_low", "logit_high"),
        (IntervalMethod::Wald, "wald_low", "wald_high"),
        (IntervalMethod::Beta, "beta_low", "beta_high"),
        (IntervalMethod::Wilson, "wilson_low", "wilson_high"),
    ] {
        let options = Options {
            interval: method,
            ..Options::default()
        };
        let draws: Vec<_> = each.iter().map(|e| &e[d]).collect();
        let pe = plausible::combine(&draws, &options).expect("combine");
        x.agree(pe.combined.ci_low, low, Tol::rel(x.tol).or_abs(1e-12));
        x.agree(pe.combined.ci_high, high, Tol::rel(x.tol).or_abs(1e-12));
    }
}

#[test]
fn taylor_with_domains_against_r() {
    let data = load(LonelyPsu::Adjust, false);
    check_case(
        "taylor",
        &data,
        Variance::Taylor(Calibration::None),
        &["sex", "province"],
        1e-10,
    );
}

#[test]
fn taylor_with_fpc_against_r() {
    let data = load(LonelyPsu::Adjust, true);
    check_case(
        "taylor_fpc",
        &data,
        Variance::Taylor(Calibration::None),
        &["urban_rural"],
        1e-10,
    );
}

#[test]
fn raked_taylor_against_r() {
    let mut data = load(LonelyPsu::Adjust, false);
    let margins = raking_margins(&data.csv);
    weighting::rake(&mut data.weights, &margins, RakeOptions::r(1000, 1e-15)).expect("raked");
    check_case(
        "raked",
        &data,
        Variance::Taylor(Calibration::Raked(&margins)),
        &["urban_rural"],
        1e-9,
    );
}

#[test]
fn jackknife_against_r() {
    let data = load(LonelyPsu::Certainty, false);
    let reps = Replicates::new(&data.design, ReplicateMethod::Jkn).expect("jkn");
    check_case(
        "jkn",
        &data,
        Variance::Replicate {
            replicates: &reps,
            mse: false,
            base_weights: &data.weights,
            reweight: None,
        },
        &["urban_rural"],
        1e-10,
    );
}

/// The shared computation gives, for every outcome, what `estimate` gives
/// on that outcome alone (itself tested against R), on every variance path.
#[test]
fn estimating_the_draws_together_equals_one_at_a_time() {
    let mut data = load(LonelyPsu::Certainty, false);
    let margins = raking_margins(&data.csv);
    let base = data.weights.clone();
    weighting::rake(&mut data.weights, &margins, RakeOptions::r(1000, 1e-13)).expect("raked");
    let reps = Replicates::new(
        &data.design,
        ReplicateMethod::Bootstrap {
            replicates: 20,
            seed: 3,
        },
    )
    .expect("bootstrap");
    let rake =
        |w: &mut [f64]| weighting::rake(w, &margins, RakeOptions::r(1000, 1e-13)).map(|_| ());
    let doms = domains(&data, Some("urban_rural"));
    let ys: Vec<&[f64]> = data.outcomes.iter().map(Vec::as_slice).collect();
    for variance in [
        Variance::Taylor(Calibration::Raked(&margins)),
        Variance::RakedReplicate(RakedReplicates {
            replicates: &reps,
            mse: true,
            margins: &margins,
            options: RakeOptions::r(1000, 1e-13),
        }),
        Variance::Replicate {
            replicates: &reps,
            mse: false,
            base_weights: &base,
            reweight: Some(&rake),
        },
    ] {
        let options = Options::default();
        let each =
            estimate::estimate_each(&data.design, &data.weights, &ys, &doms, variance, &options)
                .expect("together");
        for (y, together) in ys.iter().zip(&each) {
            let alone =
                estimate::estimate(&data.design, &data.weights, y, &doms, variance, &options)
                    .expect("alone");
            assert_eq!(&alone, together);
        }
    }
}

#[test]
fn rubin_by_hand_on_three_draws() {
    // est 0.2, 0.3, 0.4 with variances 0.001, 0.002, 0.003 and 10 design df:
    // W = 0.002, B = 0.01, T = 0.002 + 4/3 0.01, r = (4/3) 0.01 / 0.002,
    // rubin df = 2 (1 + 1/r)^2, gamma = (4/3) 0.01 / T,
    // df_obs = 11/13 * 10 (1 - gamma), df = 1 / (1/rubin + 1/df_obs).
    let data = load(LonelyPsu::Adjust, false);
    let doms = domains(&data, None);
    let ys: Vec<&[f64]> = data.outcomes.iter().map(Vec::as_slice).collect();
    let options = Options::default();
    let each = estimate::estimate_each(
        &data.design,
        &data.weights,
        &ys[..3],
        &doms,
        Variance::Taylor(Calibration::None),
        &options,
    )
    .expect("estimates");
    let mut draws: Vec<_> = each.into_iter().map(|mut e| e.remove(0)).collect();
    for (e, (est, var)) in draws
        .iter_mut()
        .zip([(0.2, 0.001), (0.3, 0.002), (0.4, 0.003)])
    {
        e.estimate = est;
        e.se = f64::sqrt(var);
        e.df = 10.0;
    }
    let refs: Vec<_> = draws.iter().collect();
    let pe: PlausibleEstimate = plausible::combine(&refs, &options).expect("combine");
    let (w, b) = (0.002, 0.01);
    let t = w + 4.0 / 3.0 * b;
    let r = 4.0 / 3.0 * b / w;
    let rubin = 2.0 * (1.0 + 1.0 / r) * (1.0 + 1.0 / r);
    let obs = 11.0 / 13.0 * 10.0 * (1.0 - 4.0 / 3.0 * b / t);
    let df = 1.0 / (1.0 / rubin + 1.0 / obs);
    assert_close(pe.combined.estimate, 0.3, Tol::rel(1e-15), "estimate");
    assert_close(pe.rubin.within, w, Tol::rel(1e-14), "within");
    assert_close(pe.rubin.between, b, Tol::rel(1e-14), "between");
    assert_close(pe.rubin.total_variance, t, Tol::rel(1e-14), "total");
    assert_close(pe.rubin.rubin_df, rubin, Tol::rel(1e-13), "rubin_df");
    assert_close(pe.combined.df, df, Tol::rel(1e-13), "df");
    assert_close(
        pe.rubin.fmi,
        (r + 2.0 / (df + 3.0)) / (r + 1.0),
        Tol::rel(1e-13),
        "fmi",
    );
    // No between variance: Rubin's df is infinite and df is df_obs = 11/13 * 10.
    for e in &mut draws {
        e.estimate = 0.3;
    }
    let refs: Vec<_> = draws.iter().collect();
    let pe = plausible::combine(&refs, &options).expect("combine");
    assert_eq!(pe.rubin.rubin_df, f64::INFINITY);
    assert_close(
        pe.combined.df,
        110.0 / 13.0,
        Tol::rel(1e-14),
        "df without B",
    );
    assert_eq!(pe.rubin.riv, 0.0);
    assert_close(
        pe.rubin.fmi,
        2.0 / (110.0 / 13.0 + 3.0),
        Tol::rel(1e-14),
        "fmi without B",
    );
    // A share of 0 in every draw: W = B = 0, still finite.
    for e in &mut draws {
        e.estimate = 0.0;
        e.se = 0.0;
    }
    let refs: Vec<_> = draws.iter().collect();
    let pe = plausible::combine(&refs, &options).expect("combine");
    assert_eq!((pe.rubin.total_variance, pe.rubin.riv), (0.0, 0.0));
    assert_close(pe.combined.df, 110.0 / 13.0, Tol::rel(1e-14), "df at 0");
}

#[test]
fn one_draw_is_an_error() {
    let data = load(LonelyPsu::Adjust, false);
    let doms = domains(&data, None);
    let err = estimate_plausible(
        &data.design,
        &data.weights,
        &[&data.outcomes[0]],
        &doms,
        Variance::Taylor(Calibration::None),
        &Options::default(),
    );
    assert_eq!(err, Err(EstimateError::Draws { draws: 1 }));
}
