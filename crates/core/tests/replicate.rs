//! Replicate-weight variance against R `survey` 4.1 (fixtures under
//! `tests/reference/`, case f of `expected/CASES.md`): JK1, JKn (every
//! lonely-PSU rule), bootstrap and JK2 from R's own replicate weights, BRR
//! and Fay from the engine's Hadamard matrix, and raking repeated on every
//! replicate. Both centrings (`mse` false and true).
//!
//! Degrees of freedom: the engine uses PSUs minus strata for every design;
//! R uses the rank of the replicate weights minus one, which is the same
//! number except for the JKn `adjust` rule, JK2 and raked replicates, so
//! intervals are compared where the two agree. Tolerances 1e-10 relative
//! (closed form), 1e-8 after raking every replicate (iterative).

mod survey;

use literacy_core::design::{Design, Fpc, LonelyPsu};
use literacy_core::estimate::{self, Domains, Estimate, Reweight, Variance};
use literacy_core::variance::{ReplicateMethod, Replicates};
use literacy_core::weighting::{self, Margin, RakeOptions, WeightingError};
use literacy_test_support::reference::Csv;
use literacy_test_support::tolerance::{Tol, assert_close};
use survey::{Data, Spec, api_clus1, load, options, raking_margins, synth};

/// Raking run to convergence far below the estimates' tolerances.
fn tight() -> RakeOptions {
    RakeOptions {
        max_iterations: 1000,
        tolerance: 1e-13,
        ..RakeOptions::default()
    }
}

/// The design weights raked ([`tight`]) to `margins`.
fn raked(data: &Data, margins: &[Margin]) -> Vec<f64> {
    let mut raked = data.weights.clone();
    weighting::rake(&mut raked, margins, tight()).expect("raked");
    raked
}

/// Raking again to `margins` ([`tight`]), for every replicate.
fn rerake(margins: &[Margin]) -> impl Fn(&mut [f64]) -> Result<(), WeightingError> + Sync + '_ {
    move |w| weighting::rake(w, margins, tight()).map(|_| ())
}

/// R's synthetic survey (certainty PSUs, no fpc), its raking margins, its
/// design weights raked to them ([`raked`]), the outcome `qualified` and
/// the urban and rural domains.
struct RakedSynth {
    data: Data,
    margins: Vec<Margin>,
    raked: Vec<f64>,
    y: Vec<f64>,
    by: Domains,
}

impl RakedSynth {
    fn new() -> RakedSynth {
        let data = synth(LonelyPsu::Certainty, false);
        let margins = raking_margins(&data.csv);
        RakedSynth {
            raked: raked(&data, &margins),
            y: data.csv.num("qualified"),
            by: by_urban_rural(&data),
            data,
            margins,
        }
    }

    /// The mean of `y` by urban and rural on the raked weights, with
    /// `variance`.
    fn means(&self, variance: Variance) -> Vec<Estimate> {
        estimate::estimate(
            &self.data.design,
            &self.raked,
            &self.y,
            &self.by,
            variance,
            &options("mean"),
        )
        .expect("estimates")
    }
}

/// The urban and rural domains.
fn by_urban_rural(data: &Data) -> Domains {
    Domains::crossing(
        &["urban_rural".to_owned()],
        &[&data.csv.text("urban_rural")[..]],
    )
}

/// Replicates from R's exported replicate analysis weights (`rep_1..`).
fn from_r_weights(data: &Data, file: &str, scale: f64) -> Replicates {
    let reps = Csv::read(file);
    let columns: Vec<&String> = reps
        .header
        .iter()
        .filter(|h| h.starts_with("rep_"))
        .collect();
    let n_psu = data.design.n_psus();
    let mut factors = vec![f64::NAN; columns.len() * n_psu];
    for (r, column) in columns.iter().enumerate() {
        let w = reps.num(column);
        for (row, (&rep, &base)) in w.iter().zip(&data.weights).enumerate() {
            let psu = data.design.row_psu()[row] as usize;
            let f = rep / base;
            let slot = &mut factors[r * n_psu + psu];
            assert!(
                slot.is_nan() || (*slot - f).abs() < 1e-12,
                "multiplier constant within a PSU"
            );
            *slot = f;
        }
    }
    Replicates::from_factors(n_psu, factors, scale, vec![1.0; columns.len()]).expect("replicates")
}

/// [`check_with`] on the design weights as they are (nothing repeated on
/// the replicates), against R's `se` to 1e-10.
fn check(
    data: &Data,
    exp: &Csv,
    filter: &[(&str, &str)],
    by: Option<&str>,
    replicates: &Replicates,
) -> usize {
    check_with(
        data,
        exp,
        filter,
        by,
        replicates,
        &data.weights,
        None,
        "se",
        1e-10,
    )
}

/// Checks the rows of `exp` selected by `filter` (population rows and the
/// domains of `by`) with the given replicates.
#[expect(
    clippy::too_many_arguments,
    reason = "a test's full description of one case"
)]
fn check_with<'a>(
    data: &'a Data,
    exp: &Csv,
    filter: &[(&str, &str)],
    by: Option<&str>,
    replicates: &'a Replicates,
    weights: &[f64],
    reweight: Option<&'a Reweight<'a>>,
    se_column: &str,
    tol: f64,
) -> usize {
    let mut checked = 0;
    for row in exp.select(filter) {
        let variable = &exp.rows[row][exp.index("variable")];
        let statistic = &exp.rows[row][exp.index("statistic")];
        let mse = exp.rows[row][exp.index("mse")] == "1";
        let label = by
            .map(|b| exp.rows[row][exp.index(b)].clone())
            .unwrap_or_default();
        let domains = match by {
            Some(b) if !label.is_empty() => {
                Domains::crossing(&[b.to_owned()], &[&data.csv.text(b)[..]])
            }
            _ => Domains::whole(data.design.n()),
        };
        let y = data.csv.num(variable);
        let all = estimate::estimate(
            &data.design,
            weights,
            &y,
            &domains,
            Variance::Replicate {
                replicates,
                mse,
                base_weights: &data.weights,
                reweight,
            },
            &options(statistic),
        )
        .expect("estimates");
        let e: &Estimate = if label.is_empty() {
            &all[0]
        } else {
            &all[domains.find(&[label.as_str()]).expect("domain")]
        };
        let what = |f: &str| format!("{filter:?} {label:?} {variable} {statistic} mse={mse} {f}");
        let agree = |got: f64, column: &str, tol: Tol| {
            assert_close(got, exp.get(row, column), tol, &what(column));
        };
        agree(e.estimate, "estimate", Tol::rel(tol).or_abs(1e-12));
        assert_close(
            e.se,
            exp.get(row, se_column),
            Tol::rel(tol).or_abs(1e-12),
            &what("se"),
        );
        if e.df == exp.get(row, "df") && se_column == "se" {
            agree(e.ci_low, "ci_low", Tol::rel(tol).or_abs(1e-12));
            agree(e.ci_high, "ci_high", Tol::rel(tol).or_abs(1e-12));
            agree(e.deff, "deff", Tol::rel(tol).or_abs(1e-12));
        }
        checked += 1;
    }
    assert!(checked > 0, "no rows for {filter:?}");
    checked
}

/// Builds `method`'s replicates of `data` (`count` of them) and checks the
/// rows of `exp` for this `fpc` flag by `stype`.
fn check_fpc(data: &Data, exp: &Csv, fpc: bool, method: ReplicateMethod, count: usize) {
    let reps = Replicates::new(&data.design, method).expect("replicates");
    assert_eq!(reps.len(), count);
    let flag = if fpc { "1" } else { "0" };
    check(data, exp, &[("fpc", flag)], Some("stype"), &reps);
}

#[test]
fn jk1_on_a_one_stage_cluster_sample() {
    let exp = Csv::read("expected/f01_apiclus1_jk1.csv");
    for fpc in [false, true] {
        check_fpc(&api_clus1(fpc), &exp, fpc, ReplicateMethod::Jk1, 15);
    }
}

#[test]
fn jkn_on_a_stratified_sample() {
    let exp = Csv::read("expected/f02_apistrat_jkn.csv");
    for fpc in [false, true] {
        let csv = Csv::read("data/api_strat.csv");
        let ids: Vec<String> = (1..=csv.rows.len()).map(|i| i.to_string()).collect();
        let f = fpc.then(|| csv.num("fpc"));
        let design = Design::new(
            csv.rows.len(),
            Some(&csv.text("stype")),
            Some(&ids),
            f.as_deref().map_or(Fpc::None, Fpc::PopulationPsus),
            LonelyPsu::Fail,
        )
        .expect("design");
        let weights = csv.num("pw");
        let data = Data {
            csv,
            weights,
            design,
        };
        check_fpc(&data, &exp, fpc, ReplicateMethod::Jkn, 200);
    }
}

#[test]
fn jkn_with_every_lonely_psu_rule() {
    let exp = Csv::read("expected/f03_synth_jkn.csv");
    for (rule, name, count) in [
        (LonelyPsu::Certainty, "certainty", 53),
        (LonelyPsu::Adjust, "adjust", 54),
        (LonelyPsu::Average, "average", 53),
    ] {
        let data = synth(rule, false);
        let reps = Replicates::new(&data.design, ReplicateMethod::Jkn).expect("jkn");
        assert_eq!(reps.len(), count, "{name}");
        check(
            &data,
            &exp,
            &[("lonely_psu", name)],
            Some("urban_rural"),
            &reps,
        );
    }
}

#[test]
fn bootstrap_from_rs_replicate_weights() {
    let exp = Csv::read("expected/f04_synth_bootstrap.csv");
    let data = synth(LonelyPsu::Certainty, false);
    let reps = from_r_weights(&data, "data/boot_repweights.csv", 0.026_986_001_011_975_038);
    check(&data, &exp, &[], Some("urban_rural"), &reps);
}

/// R's survey of two PSUs in every stratum (`data/brr_pairs.csv`).
fn brr_pairs() -> Data {
    load(&Spec {
        file: "data/brr_pairs.csv",
        strata: Some("province"),
        psu: Some("psu"),
        weight: "weight",
        fpc: None,
        lonely: LonelyPsu::Fail,
    })
}

#[test]
fn brr_and_fay_from_the_engines_hadamard_matrix() {
    let data = brr_pairs();
    let brr = Replicates::new(&data.design, ReplicateMethod::Brr).expect("brr");
    assert_eq!(brr.len(), 8);
    assert_eq!(brr.scale(), 0.125);
    // The same multipliers as R's replicate weights.
    let r_brr = from_r_weights(&data, "data/brr_repweights.csv", 0.125);
    for r in 0..8 {
        for (ours, theirs) in brr.factors(r).iter().zip(r_brr.factors(r)) {
            assert!(
                (ours - theirs).abs() < 1e-12,
                "replicate {r}: {ours} vs {theirs}"
            );
        }
    }
    let exp = Csv::read("expected/f05_brr_pairs_brr.csv");
    check(&data, &exp, &[], Some("urban_rural"), &brr);

    let fay = Replicates::new(&data.design, ReplicateMethod::Fay { rho: 0.5 }).expect("fay");
    assert_eq!(fay.scale(), 0.5);
    let exp = Csv::read("expected/f06_brr_pairs_fay.csv");
    check(&data, &exp, &[], Some("urban_rural"), &fay);
}

#[test]
fn brr_needs_pairs() {
    let data = synth(LonelyPsu::Certainty, false);
    let err = Replicates::new(&data.design, ReplicateMethod::Brr).expect_err("8 PSUs per stratum");
    assert_eq!(
        err.to_string(),
        "brr needs exactly 2 PSUs in every stratum; stratum \"11\" has 8"
    );
    let err = Replicates::new(&data.design, ReplicateMethod::Jk1).expect_err("stratified");
    assert!(
        err.to_string()
            .starts_with("JK1 is for unstratified designs")
    );
}

#[test]
fn jk2_from_rs_replicate_weights() {
    let data = brr_pairs();
    let reps = from_r_weights(&data, "data/jk2_repweights.csv", 1.0);
    let exp = Csv::read("expected/f07_brr_pairs_jk2.csv");
    check(&data, &exp, &[], Some("urban_rural"), &reps);
}

#[test]
fn raking_repeated_on_every_replicate() {
    let data = synth(LonelyPsu::Certainty, false);
    let margins = raking_margins(&data.csv);
    let mut raked = data.weights.clone();
    weighting::rake(&mut raked, &margins, RakeOptions::r(1000, 1e-15)).expect("raked");
    let reweight = |w: &mut [f64]| -> Result<(), WeightingError> {
        weighting::rake(w, &margins, RakeOptions::default()).map(|_| ())
    };
    let exp = Csv::read("expected/f08_rake_replicates.csv");
    let boot = from_r_weights(&data, "data/boot_repweights.csv", 0.026_986_001_011_975_038);
    let jkn = Replicates::new(&data.design, ReplicateMethod::Jkn).expect("jkn");
    for (name, reps) in [("bootstrap", &boot), ("jkn_certainty", &jkn)] {
        check_with(
            &data,
            &exp,
            &[("replicate_design", name)],
            None,
            reps,
            &raked,
            Some(&reweight),
            "se_fully_converged_replicates",
            1e-8,
        );
    }
}

#[test]
fn our_bootstrap_is_seeded_and_rescaled() {
    let data = synth(LonelyPsu::Certainty, false);
    let method = ReplicateMethod::Bootstrap {
        replicates: 200,
        seed: 7,
    };
    let a = Replicates::new(&data.design, method).expect("bootstrap");
    let b = Replicates::new(&data.design, method).expect("bootstrap");
    assert_eq!(a, b, "same seed, same replicates");
    let c = Replicates::new(
        &data.design,
        ReplicateMethod::Bootstrap {
            replicates: 200,
            seed: 8,
        },
    )
    .expect("bootstrap");
    assert_ne!(a, c);
    // Rao-Wu with n_h - 1 draws: each stratum's multipliers sum to n_h.
    for r in 0..a.len() {
        let f = a.factors(r);
        for h in 0..data.design.n_strata() {
            let psus: Vec<usize> = (0..data.design.n_psus())
                .filter(|&j| data.design.psu_stratum()[j] as usize == h)
                .collect();
            let sum: f64 = psus.iter().map(|&j| f[j]).sum();
            assert!(
                (sum - psus.len() as f64).abs() < 1e-12,
                "replicate {r} stratum {h}: {sum}"
            );
        }
    }
    // Its standard error is close to the linearization one (200 replicates:
    // within 20%, about four standard errors of a variance estimate).
    let y = data.csv.num("qualified");
    let whole = Domains::whole(data.design.n());
    let boot = estimate::estimate(
        &data.design,
        &data.weights,
        &y,
        &whole,
        Variance::Replicate {
            replicates: &a,
            mse: false,
            base_weights: &data.weights,
            reweight: None,
        },
        &options("mean"),
    )
    .expect("bootstrap");
    let taylor = estimate::estimate(
        &data.design,
        &data.weights,
        &y,
        &whole,
        Variance::Taylor(literacy_core::estimate::Calibration::None),
        &options("mean"),
    )
    .expect("taylor");
    let ratio = boot[0].se / taylor[0].se;
    assert!(
        (0.8..1.2).contains(&ratio),
        "bootstrap/Taylor SE ratio {ratio}"
    );
}

#[test]
fn our_seeded_bootstrap_gives_rs_standard_errors_on_the_same_weights() {
    // tests/reference/engine_bootstrap.R: the engine's replicates (seed
    // 20261129, 50 replicates, exported by `literacy weight`) given to R.
    let data = synth(LonelyPsu::Certainty, false);
    let ours = Replicates::new(
        &data.design,
        ReplicateMethod::Bootstrap {
            replicates: 50,
            seed: 20_261_129,
        },
    )
    .expect("bootstrap");
    assert_eq!(ours.scale(), 1.0 / 49.0);
    // The generator still makes exactly the exported replicates.
    let exported = from_r_weights(&data, "data/engine_bootstrap_repweights.csv", 1.0 / 49.0);
    for r in 0..ours.len() {
        for (a, b) in ours.factors(r).iter().zip(exported.factors(r)) {
            assert!((a - b).abs() < 1e-12, "replicate {r}: {a} vs {b}");
        }
    }
    let exp = Csv::read("expected/f09_engine_bootstrap.csv");
    check(&data, &exp, &[], None, &ours);
}

#[test]
fn re_raking_from_the_raked_weights_gives_the_same_replicates() {
    // Raking's solution does not change when the starting weights are
    // multiplied by per-category factors; the raked weights are such a
    // multiple of the design weights. `literacy estimate` relies on it.
    let s = RakedSynth::new();
    let reweight = rerake(&s.margins);
    let reps = Replicates::new(&s.data.design, ReplicateMethod::Jkn).expect("jkn");
    let run = |start: &[f64]| {
        s.means(Variance::Replicate {
            replicates: &reps,
            mse: false,
            base_weights: start,
            reweight: Some(&reweight),
        })
    };
    let from_design = run(&s.data.weights);
    let from_raked = run(&s.raked);
    for (a, b) in from_design.iter().zip(&from_raked) {
        assert_close(b.se, a.se, Tol::rel(1e-9).or_abs(1e-12), "se");
    }
}

#[test]
fn raking_replicates_on_cells_equals_raking_their_rows() {
    let s = RakedSynth::new();
    let reweight = rerake(&s.margins);
    for method in [
        ReplicateMethod::Jkn,
        ReplicateMethod::Bootstrap {
            replicates: 40,
            seed: 3,
        },
    ] {
        let reps = Replicates::new(&s.data.design, method).expect("replicates");
        let rows = s.means(Variance::Replicate {
            replicates: &reps,
            mse: false,
            base_weights: &s.raked,
            reweight: Some(&reweight),
        });
        let cells = s.means(Variance::RakedReplicate(estimate::RakedReplicates {
            replicates: &reps,
            mse: false,
            margins: &s.margins,
            options: tight(),
        }));
        for (a, b) in rows.iter().zip(&cells) {
            assert_close(
                b.se,
                a.se,
                Tol::rel(1e-9).or_abs(1e-12),
                &format!("{method} se"),
            );
            for (x, z) in a.replicate_estimates.iter().zip(&b.replicate_estimates) {
                assert_close(
                    *z,
                    *x,
                    Tol::rel(1e-11).or_abs(1e-12),
                    &format!("{method} replicate"),
                );
            }
        }
    }
}
