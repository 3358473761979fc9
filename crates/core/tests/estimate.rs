//! Design-based estimates against R `survey` 4.1 (fixtures under
//! `tests/reference/`, made by `tests/reference/make_fixtures.R`; the cases
//! are described in `expected/CASES.md`).
//!
//! Tolerances: estimates, standard errors, intervals, design effects 1e-10
//! relative for uncalibrated designs (CASES.md: closed form), 1e-9 after
//! raking; standard errors that are exactly zero in R's arithmetic are
//! compared with an absolute 1e-12.

mod survey;

use literacy_core::design::{Design, Fpc, LonelyPsu};
use literacy_core::estimate::{
    self, Calibration, Domains, Estimate, IntervalMethod, Options, Variance,
};
use literacy_core::weighting::{self, Margin, RakeOptions, TrimBounds};
use literacy_test_support::reference::Csv;
use literacy_test_support::tolerance::{Tol, assert_close};
use survey::{Data, api_clus1, api_strat, options, raking_margins, synth};

fn domains(data: &Data, by: &[&str]) -> Domains {
    if by.is_empty() {
        return Domains::whole(data.design.n());
    }
    let columns: Vec<Vec<String>> = by.iter().map(|c| data.csv.text(c)).collect();
    let refs: Vec<&[String]> = columns.iter().map(Vec::as_slice).collect();
    let names: Vec<String> = by.iter().map(|s| (*s).to_owned()).collect();
    Domains::crossing(&names, &refs)
}

/// Compares every row of an expected file whose domain column is `by`
/// (empty: the population) with the engine's estimates.
fn check_file(data: &Data, expected: &str, by: &[&str], calibration: Calibration<'_>, tol: f64) {
    check_rows(data, &Csv::read(expected), &[], by, calibration, tol);
}

fn check_rows(
    data: &Data,
    exp: &Csv,
    filter: &[(&str, &str)],
    by: &[&str],
    calibration: Calibration<'_>,
    tol: f64,
) {
    let doms = domains(data, by);
    let mut checked = 0;
    for row in exp.select(filter) {
        let variable = &exp.rows[row][exp.index("variable")];
        let statistic = &exp.rows[row][exp.index("statistic")];
        let labels: Vec<&str> = by
            .iter()
            .map(|b| exp.rows[row][exp.index(b)].as_str())
            .collect();
        // Population rows have every domain column of the file empty.
        let population = DOMAIN_COLUMNS
            .iter()
            .filter_map(|c| exp.header.iter().position(|h| h == c))
            .all(|i| exp.rows[row][i].is_empty());
        if population != by.is_empty() {
            continue;
        }
        let y = data.csv.num(variable);
        let all = estimate::estimate(
            &data.design,
            &data.weights,
            &y,
            &doms,
            Variance::Taylor(calibration),
            &options(statistic),
        )
        .expect("estimates");
        let e: &Estimate = if by.is_empty() {
            &all[0]
        } else {
            &all[doms.find(&labels).expect("domain in data")]
        };
        let what = |field: &str| {
            format!(
                "{} {labels:?} {variable} {statistic} {field}",
                exp.header[0]
            )
        };
        let agree = |got: f64, column: &str, tol: Tol| {
            assert_close(got, exp.get(row, column), tol, &what(column));
        };
        agree(e.estimate, "estimate", Tol::rel(tol));
        agree(e.se, "se", Tol::rel(tol).or_abs(1e-12));
        agree(e.df, "df", Tol::EXACT);
        agree(e.ci_low, "ci_low", Tol::rel(tol).or_abs(1e-12));
        agree(e.ci_high, "ci_high", Tol::rel(tol).or_abs(1e-12));
        agree(e.deff, "deff", Tol::rel(tol).or_abs(1e-12));
        agree(e.n as f64, "n", Tol::EXACT);
        agree(e.weighted_total, "weighted_total", Tol::rel(1e-12));
        checked += 1;
    }
    assert!(checked > 0, "no rows checked for {by:?}");
}

/// Columns that name a domain in the expected files.
const DOMAIN_COLUMNS: [&str; 5] = ["stype", "province", "sex", "urban_rural", "age_group"];

#[test]
fn the_published_api_means() {
    // R's own test outputs: svymean(~api00, dstrat) and svymean(~api00, dclus1).
    let strat = api_strat(true);
    let y = strat.csv.num("api00");
    let e = estimate::estimate(
        &strat.design,
        &strat.weights,
        &y,
        &Domains::whole(strat.design.n()),
        Variance::Taylor(Calibration::None),
        &options("mean"),
    )
    .expect("estimates");
    assert_close(
        e[0].estimate,
        662.287_363_159,
        Tol::rel(1e-11),
        "dstrat mean",
    );
    assert_close(e[0].se, 9.408_940_802_78, Tol::rel(1e-11), "dstrat se");
    let clus = api_clus1(true);
    let y = clus.csv.num("api00");
    let e = estimate::estimate(
        &clus.design,
        &clus.weights,
        &y,
        &Domains::whole(clus.design.n()),
        Variance::Taylor(Calibration::None),
        &options("mean"),
    )
    .expect("estimates");
    assert_close(
        e[0].estimate,
        644.169_398_907,
        Tol::rel(1e-11),
        "dclus1 mean",
    );
    assert_close(e[0].se, 23.542_240_693_8, Tol::rel(1e-11), "dclus1 se");
}

#[test]
fn stratified_without_and_with_fpc() {
    for (fpc, file) in [
        (false, "expected/a01_apistrat_nofpc.csv"),
        (true, "expected/a02_apistrat_fpc.csv"),
    ] {
        let data = api_strat(fpc);
        check_file(&data, file, &[], Calibration::None, 1e-10);
        check_file(&data, file, &["stype"], Calibration::None, 1e-10);
    }
}

#[test]
fn one_stage_cluster_without_and_with_fpc() {
    for (fpc, file) in [
        (false, "expected/a03_apiclus1_nofpc.csv"),
        (true, "expected/a04_apiclus1_fpc.csv"),
    ] {
        let data = api_clus1(fpc);
        check_file(&data, file, &[], Calibration::None, 1e-10);
        check_file(&data, file, &["stype"], Calibration::None, 1e-10);
    }
}

#[test]
fn every_lonely_psu_rule_with_and_without_fpc() {
    for (rule, name) in [
        (LonelyPsu::Certainty, "certainty"),
        (LonelyPsu::Remove, "remove"),
        (LonelyPsu::Adjust, "adjust"),
        (LonelyPsu::Average, "average"),
    ] {
        for fpc in [false, true] {
            let file = format!(
                "expected/b_synth_lonely_{name}_{}.csv",
                if fpc { "fpc" } else { "nofpc" }
            );
            let data = synth(rule, fpc);
            check_file(&data, &file, &[], Calibration::None, 1e-10);
            check_file(&data, &file, &["province"], Calibration::None, 1e-10);
        }
    }
}

#[test]
fn the_fail_rule_refuses_a_single_psu_stratum() {
    let csv = Csv::read("data/synth.csv");
    let err = Design::new(
        csv.rows.len(),
        Some(&csv.text("province")),
        Some(&csv.text("psu")),
        Fpc::None,
        LonelyPsu::Fail,
    )
    .expect_err("province 32 has one PSU");
    assert_eq!(
        err.to_string(),
        "stratum \"32\" has only one PSU (choose a lonely-PSU rule: certainty, remove, adjust or average)"
    );
}

#[test]
fn domains_are_subpopulations() {
    let data = synth(LonelyPsu::Adjust, false);
    check_file(
        &data,
        "expected/c01_synth_domain_province.csv",
        &["province"],
        Calibration::None,
        1e-10,
    );
    check_file(
        &data,
        "expected/c02_synth_domain_sex_urban.csv",
        &["sex", "urban_rural"],
        Calibration::None,
        1e-10,
    );
    check_file(
        &data,
        "expected/c04_synth_domain_age_group.csv",
        &["age_group"],
        Calibration::None,
        1e-10,
    );
    let with_fpc = synth(LonelyPsu::Adjust, true);
    check_file(
        &with_fpc,
        "expected/c03_synth_fpc_domain_sex_urban.csv",
        &["sex", "urban_rural"],
        Calibration::None,
        1e-10,
    );
}

#[test]
fn post_stratified() {
    let mut data = synth(LonelyPsu::Adjust, false);
    let table = Csv::read("data/poststrat_province_urban.csv");
    let key = |p: &str, u: &str| format!("{p}|{u}");
    let population: Vec<(String, f64)> = (0..table.rows.len())
        .map(|r| {
            (
                key(
                    &table.rows[r][table.index("province")],
                    &table.rows[r][table.index("urban_rural")],
                ),
                table.get(r, "total"),
            )
        })
        .collect();
    let labels: Vec<String> = data
        .csv
        .text("province")
        .iter()
        .zip(data.csv.text("urban_rural"))
        .map(|(p, u)| key(p, &u))
        .collect();
    let cells = Margin::from_labels("province x urban_rural", &labels, &population).expect("cells");
    weighting::poststratify(&mut data.weights, &cells).expect("post-stratified");
    let file = "expected/d01_synth_poststrat.csv";
    check_file(&data, file, &[], Calibration::PostStratified(&cells), 1e-10);
    check_file(
        &data,
        file,
        &["sex"],
        Calibration::PostStratified(&cells),
        1e-10,
    );
}

#[test]
fn raked() {
    let mut data = synth(LonelyPsu::Adjust, false);
    let margins = raking_margins(&data.csv);
    weighting::rake(&mut data.weights, &margins, RakeOptions::r(1000, 1e-15)).expect("raked");
    let file = "expected/d02_synth_rake.csv";
    check_file(&data, file, &[], Calibration::Raked(&margins), 1e-9);
    check_file(
        &data,
        file,
        &["urban_rural"],
        Calibration::Raked(&margins),
        1e-9,
    );
}

#[test]
fn trimmed() {
    for (strict, name) in [(false, "nonstrict"), (true, "strict")] {
        let mut data = synth(LonelyPsu::Adjust, false);
        weighting::trim(
            &mut data.weights,
            TrimBounds::Absolute {
                lower: 40.0,
                upper: 160.0,
            },
            strict,
        )
        .expect("trimmed");
        let exp = Csv::read("expected/e01_synth_trim.csv");
        check_rows(
            &data,
            &exp,
            &[("trim", name)],
            &[],
            Calibration::None,
            1e-10,
        );
    }
}

#[test]
fn contrasts_include_the_covariance() {
    let data = synth(LonelyPsu::Adjust, false);
    let exp = Csv::read("expected/h01_contrasts.csv");
    let y = data.csv.num("qualified");
    let run = |by: &[&str]| {
        estimate::estimate(
            &data.design,
            &data.weights,
            &y,
            &domains(&data, by),
            Variance::Taylor(Calibration::None),
            &options("mean"),
        )
        .expect("estimates")
    };
    let nation = run(&[]);
    let urban = run(&["urban_rural"]);
    let sex = run(&["sex"]);
    let province = run(&["province"]);
    let mut checked = 0;
    for row in exp.select(&[("design", "synth_adjust")]) {
        let name = &exp.rows[row][exp.index("contrast")];
        let parts: Vec<(f64, &Estimate)> = if name == "qualified: urban(1) - rural(2)" {
            vec![(1.0, &urban[0]), (-1.0, &urban[1])]
        } else if name == "qualified: male(1) - female(2)" {
            vec![(1.0, &sex[0]), (-1.0, &sex[1])]
        } else if let Some(p) = name
            .strip_prefix("qualified: province ")
            .and_then(|s| s.strip_suffix(" - national"))
        {
            let d = domains(&data, &["province"]).find(&[p]).expect("province");
            vec![(1.0, &province[d]), (-1.0, &nation[0])]
        } else {
            continue;
        };
        let c = estimate::contrast(
            &data.design,
            &parts,
            Variance::Taylor(Calibration::None),
            exp.get(row, "df"),
            0.95,
        );
        assert_close(
            c.estimate,
            exp.get(row, "estimate"),
            Tol::rel(1e-10).or_abs(1e-15),
            &format!("{name} estimate"),
        );
        assert_close(
            c.se,
            exp.get(row, "se"),
            Tol::rel(1e-10).or_abs(1e-12),
            &format!("{name} se"),
        );
        assert_close(
            c.ci_low,
            exp.get(row, "ci_low"),
            Tol::rel(1e-10).or_abs(1e-12),
            &format!("{name} ci_low"),
        );
        assert_close(
            c.ci_high,
            exp.get(row, "ci_high"),
            Tol::rel(1e-10).or_abs(1e-12),
            &format!("{name} ci_high"),
        );
        checked += 1;
    }
    assert!(checked >= 10, "{checked} contrasts checked");
}

#[test]
fn proportion_intervals_of_every_method() {
    let methods = [
        ("logit", IntervalMethod::Logit),
        ("beta", IntervalMethod::Beta),
        ("mean", IntervalMethod::Wald),
        ("wilson", IntervalMethod::Wilson),
    ];
    let exp = Csv::read("expected/g01_ciprop_synth_province.csv");
    let data = synth(LonelyPsu::Adjust, false);
    let y = data.csv.num("qualified");
    let mut checked = 0;
    for by in [&[][..], &["province"][..]] {
        let doms = domains(&data, by);
        for (name, method) in methods {
            for level in [0.95, 0.90] {
                let all = estimate::estimate(
                    &data.design,
                    &data.weights,
                    &y,
                    &doms,
                    Variance::Taylor(Calibration::None),
                    &Options {
                        interval: method,
                        level,
                        ..Options::default()
                    },
                )
                .expect("estimates");
                for row in exp.select(&[("method", name), ("variable", "qualified")]) {
                    if (exp.get(row, "level") - level).abs() > 1e-12 {
                        continue;
                    }
                    let label = exp.rows[row][exp.index("province")].clone();
                    if label.is_empty() != by.is_empty() {
                        continue;
                    }
                    let e = if by.is_empty() {
                        &all[0]
                    } else {
                        &all[doms.find(&[label.as_str()]).expect("province")]
                    };
                    let what = format!("{name} {level} province {label:?}");
                    // R's logit interval comes from an IRLS fit (svyglm) that
                    // stops about 1e-8 short of the closed form the engine
                    // computes exactly; the others are closed form in R too.
                    let tol = if name == "logit" { 1e-7 } else { 1e-9 };
                    assert_close(
                        e.ci_low,
                        exp.get(row, "ci_low"),
                        Tol::rel(tol).or_abs(1e-12),
                        &format!("{what} low"),
                    );
                    assert_close(
                        e.ci_high,
                        exp.get(row, "ci_high"),
                        Tol::rel(tol).or_abs(1e-12),
                        &format!("{what} high"),
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 50, "{checked} intervals checked");
}
