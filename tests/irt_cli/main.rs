//! `literacy irt calibrate` and `literacy irt score` end to end: the real
//! binary on files, checked against independent references: R mirt's
//! published LSAT-7 2PL fit, and PyPI mirt's fits and scores of the
//! generated data in `crates/core/tests/fixtures/` (see `irt_reference.py`
//! there).

mod mixed;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

const FIXTURES: &str = "crates/core/tests/fixtures";

/// R mirt 1.47.5 on LSAT-7 (`mirt(expand.table(LSAT7), 1)`), as printed
/// in the `LSAT7` help page: 3 decimals, EM tolerance 1e-4.
const MIRT_A: [f64; 5] = [0.988, 1.081, 1.706, 0.765, 0.736];
const MIRT_D: [f64; 5] = [1.856, 0.808, 1.804, 0.486, 1.855];
const MIRT_LOGLIK: f64 = -2658.805;
const MIRT_AIC: f64 = 5337.61;
const MIRT_BIC: f64 = 5386.688;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

use literacy_test_support::cmd::{self, stderr};
use literacy_test_support::dirs::scratch;

fn literacy(args: &[&str]) -> Output {
    cmd::run(env!("CARGO_BIN_EXE_literacy"), Some(&root()), args)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join(FIXTURES).join(name)).expect("fixture")
}

/// Rows of a CSV text after its header, split on commas.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

fn num(x: &str) -> f64 {
    x.parse().expect("number")
}

/// The 1,000 LSAT-7 examinees, one row each, with a respondent id.
fn lsat7_csv() -> String {
    let mut csv = String::from("respondent_id,item1,item2,item3,item4,item5\n");
    let mut id = 0;
    for row in rows(&fixture("lsat7.csv")) {
        for _ in 0..row[5].parse::<usize>().expect("frequency") {
            id += 1;
            csv.push_str(&format!("p{id},{}\n", row[..5].join(",")));
        }
    }
    csv
}

/// The 2,000 generated respondents of `irt_reference.py`, with ids r0.. .
fn reference_csv() -> String {
    let text = fixture("irt_reference_responses.csv");
    let mut lines = text.lines();
    let mut csv = format!("respondent_id,{}\n", lines.next().expect("header"));
    for (i, line) in lines.enumerate() {
        csv.push_str(&format!("r{i},{line}\n"));
    }
    csv
}

fn calibrate(dir: &Path, csv: &str, extra: &[&str]) -> (Output, PathBuf) {
    let input = dir.join("responses.csv");
    let out = dir.join("params.json");
    std::fs::write(&input, csv).expect("responses written");
    let mut args = vec![
        "irt",
        "calibrate",
        "--responses",
        path(&input),
        "--out",
        path(&out),
    ];
    args.extend_from_slice(extra);
    (literacy(&args), out)
}

/// Writes `params` to a file in `dir` and runs `irt information` on it from
/// -2 to 2 at `points` abilities; returns the parameter and table files.
fn information(dir: &Path, params: &str, points: usize) -> (PathBuf, PathBuf) {
    let file = dir.join("params.json");
    std::fs::write(&file, params).expect("params written");
    let out = dir.join("info.csv");
    let points = points.to_string();
    let run = literacy(&[
        "irt",
        "information",
        "--params",
        path(&file),
        "--from",
        "-2",
        "--to",
        "2",
        "--points",
        &points,
        "--out",
        path(&out),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    (file, out)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("JSON written")).expect("JSON")
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

#[test]
fn lsat7_two_pl_reproduces_the_published_fit() {
    let dir = scratch("irt-lsat7");
    let (output, out) = calibrate(
        &dir,
        &lsat7_csv(),
        &["--model", "2pl", "--tolerance", "1e-8"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json = read_json(&out);
    assert_eq!(json["format"], "literacy-irt-params");
    assert_eq!(json["model"], "2pl");
    assert_eq!(json["n_respondents"], 1000);
    assert_eq!(json["n_parameters"], 10);
    assert_eq!(json["convergence"]["converged"], true);
    assert!((f(&json["log_likelihood"]) - MIRT_LOGLIK).abs() < 1e-3);
    assert!((f(&json["aic"]) - MIRT_AIC).abs() < 2e-3);
    assert!((f(&json["bic"]) - MIRT_BIC).abs() < 2e-3);
    // PyPI mirt 1.2.0 at tolerance 1e-10: a, b and Oakes standard errors.
    let mirt_py = rows(&fixture("lsat7_mirt_py.csv"));
    let items = json["items"].as_array().expect("items");
    assert_eq!(items.len(), 5);
    for (j, item) in items.iter().enumerate() {
        assert_eq!(item["id"], format!("item{}", j + 1));
        assert_eq!(item["model"], "2pl");
        // The published values have 3 decimals from a fit stopped at an
        // EM tolerance of 1e-4 (its item 3 intercept is 1.2e-3 short).
        assert!((f(&item["a"]) - MIRT_A[j]).abs() < 2e-3, "{item}");
        assert!((f(&item["d"]) - MIRT_D[j]).abs() < 2e-3, "{item}");
        assert_eq!(f(&item["c"]), 0.0);
        assert!(item["se_c"].is_null(), "{item}");
        let r = &mirt_py[j];
        assert!((f(&item["a"]) - num(&r[1])).abs() < 1e-5, "{item} {r:?}");
        assert!((f(&item["b"]) - num(&r[2])).abs() < 1e-5, "{item} {r:?}");
        assert!((f(&item["se_a"]) - num(&r[3])).abs() < 1e-5, "{item} {r:?}");
        assert!((f(&item["se_b"]) - num(&r[4])).abs() < 1e-5, "{item} {r:?}");
        assert!(f(&item["se_d"]) > 0.05 && f(&item["se_d"]) < 0.5, "{item}");
    }
}

#[test]
fn frequency_weights_and_item_selection_give_the_published_fit() {
    // The 32 LSAT-7 patterns once each, with their frequency as the weight
    // and an extra column that --items leaves out.
    let dir = scratch("irt-lsat7-weighted");
    let mut csv = String::from("respondent_id,note,item1,item2,item3,item4,item5,freq\n");
    for (k, row) in rows(&fixture("lsat7.csv")).iter().enumerate() {
        csv.push_str(&format!("pattern{k},x,{},{}\n", row[..5].join(","), row[5]));
    }
    let (output, out) = calibrate(
        &dir,
        &csv,
        &[
            "--model",
            "2pl",
            "--weight",
            "freq",
            "--items",
            "item1,item2,item3,item4,item5",
            "--no-se",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json = read_json(&out);
    assert_eq!(json["weight"], "freq");
    assert!((f(&json["log_likelihood"]) - MIRT_LOGLIK).abs() < 1e-3);
    for (j, item) in json["items"].as_array().expect("items").iter().enumerate() {
        assert!((f(&item["a"]) - MIRT_A[j]).abs() < 2e-3, "{item}");
        assert!((f(&item["d"]) - MIRT_D[j]).abs() < 2e-3, "{item}");
        assert!(item["se_a"].is_null() && item["se_b"].is_null(), "{item}");
    }
}

/// PyPI mirt's fit of `label` to the generated data: (a, b, c, se_a, se_b, se_c) per item.
fn reference_params(label: &str) -> Vec<[f64; 6]> {
    rows(&fixture("irt_reference_params.csv"))
        .iter()
        .filter(|r| r[0] == label)
        .map(|r| [2, 3, 4, 5, 6, 7].map(|k| num(&r[k])))
        .collect()
}

#[test]
fn rasch_and_3pl_match_python_mirt_by_column_name() {
    let dir = scratch("irt-models");
    // mirt's "1PL" (slopes fixed at 1, N(0, 1) latent) is our Rasch.
    for (model, label, tol, extra) in [("rasch", "1PL", 1e-5, "1e-8"), ("3pl", "3PL", 1e-4, "1e-7")]
    {
        let (output, out) = calibrate(
            &dir,
            &reference_csv(),
            &["--model", model, "--tolerance", extra],
        );
        assert!(output.status.success(), "{model}: {}", stderr(&output));
        let json = read_json(&out);
        assert_eq!(json["model"], model);
        let items = json["items"].as_array().expect("items");
        for (j, (item, want)) in items.iter().zip(reference_params(label)).enumerate() {
            assert_eq!(item["id"], format!("item{}", j + 1));
            assert!((f(&item["a"]) - want[0]).abs() < tol, "{model} {item}");
            assert!((f(&item["b"]) - want[1]).abs() < tol, "{model} {item}");
            assert!((f(&item["c"]) - want[2]).abs() < tol, "{model} {item}");
            assert!((f(&item["se_b"]) - want[4]).abs() < tol, "{model} {item}");
            if model == "rasch" {
                assert!(item["se_a"].is_null() && item["se_c"].is_null(), "{item}");
            } else {
                assert!((f(&item["se_a"]) - want[3]).abs() < tol, "{model} {item}");
                assert!((f(&item["se_c"]) - want[5]).abs() < tol, "{model} {item}");
            }
        }
        if model == "3pl" {
            assert_eq!(json["guessing_prior"]["alpha"], 5.0);
        }
    }
}

fn score(dir: &Path, params: &Path, csv: &str, method: &str, extra: &[&str]) -> (Output, String) {
    let input = dir.join("to-score.csv");
    let out = dir.join(format!("scores-{method}.csv"));
    let _ = std::fs::remove_file(&out);
    std::fs::write(&input, csv).expect("responses written");
    let mut args = vec![
        "irt",
        "score",
        "--params",
        path(params),
        "--responses",
        path(&input),
        "--method",
        method,
        "--out",
        path(&out),
    ];
    args.extend_from_slice(extra);
    let output = literacy(&args);
    (output, std::fs::read_to_string(&out).unwrap_or_default())
}

#[test]
fn calibrate_then_score_matches_python_mirt_fscores() {
    let dir = scratch("irt-round-trip");
    let csv = reference_csv();
    let (output, params) = calibrate(&dir, &csv, &["--model", "2pl", "--tolerance", "1e-8"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json = read_json(&params);
    for (item, want) in json["items"]
        .as_array()
        .expect("items")
        .iter()
        .zip(reference_params("2PL"))
    {
        assert!((f(&item["a"]) - want[0]).abs() < 1e-5, "{item}");
        assert!((f(&item["b"]) - want[1]).abs() < 1e-5, "{item}");
    }
    // mirt scored the first 200 respondents under its own fit; ours
    // differs from it by < 1e-5, so the scores agree to about that.
    let reference = rows(&fixture("irt_reference_scores.csv"));
    // The items in another column order, with a column that is not an item.
    let mut shuffled = String::from(
        "extra,item12,item3,item1,item2,item4,item5,item6,item7,item8,item9,item10,item11,respondent_id\n",
    );
    for row in rows(&csv).iter().take(200) {
        let order = [12, 3, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11];
        let cells: Vec<&str> = order.iter().map(|&k| row[k].as_str()).collect();
        shuffled.push_str(&format!("z,{},{}\n", cells.join(","), row[0]));
    }
    for (k, method) in ["eap", "map", "wle", "mle"].into_iter().enumerate() {
        let (output, text) = score(&dir, &params, &shuffled, method, &[]);
        assert!(output.status.success(), "{method}: {}", stderr(&output));
        assert!(text.starts_with("respondent_id,theta,se\n"), "{text}");
        let ours = rows(&text);
        assert_eq!(ours.len(), 200);
        let mut worst = [0.0_f64; 2];
        for (i, (r, want)) in ours.iter().zip(&reference).enumerate() {
            assert_eq!(r[0], format!("r{i}"));
            let (theta, se) = (num(&r[1]), num(&r[2]));
            let (want_theta, want_se) = (num(&want[1 + 2 * k]), num(&want[2 + 2 * k]));
            if method == "mle" && want_se.is_infinite() {
                // mirt reports its bound (+-6) for all-right / all-wrong.
                assert_eq!(theta, want_theta.signum() * f64::INFINITY, "{r:?}");
                assert!(se.is_infinite());
                continue;
            }
            worst[0] = worst[0].max((theta - want_theta).abs());
            worst[1] = worst[1].max((se - want_se).abs());
        }
        assert!(worst.iter().all(|w| *w < 1e-4), "{method}: {worst:?}");
    }
}

#[test]
fn plausible_values_are_reproducible_and_drawn_from_the_posterior() {
    let dir = scratch("irt-pv");
    // Published-style parameters written by hand: PyPI mirt's 2PL fit as
    // a and b only (d is derived).
    let items: Vec<String> = reference_params("2PL")
        .iter()
        .enumerate()
        .map(|(j, p)| {
            format!(
                r#"{{"id": "item{}", "model": "2pl", "a": {}, "b": {}}}"#,
                j + 1,
                p[0],
                p[1]
            )
        })
        .collect();
    let params = dir.join("published.json");
    std::fs::write(
        &params,
        format!(
            r#"{{"format": "literacy-irt-params", "version": 1, "model": "2pl", "items": [{}]}}"#,
            items.join(",")
        ),
    )
    .expect("params written");
    let csv: String = reference_csv()
        .lines()
        .take(201)
        .map(|l| format!("{l}\n"))
        .collect();
    let draws = 200;
    let run = |seed: &str| {
        let (output, text) = score(
            &dir,
            &params,
            &csv,
            "pv",
            &["--draws", &draws.to_string(), "--seed", seed],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        text
    };
    let (first, again, other) = (run("7"), run("7"), run("8"));
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert!(first.starts_with("respondent_id,pv1,pv2,"));
    assert!(first.lines().next().expect("header").ends_with(",pv200"));
    // Each respondent's draws: mean near mirt's EAP, SD near its posterior
    // SD (200 draws: the mean's error is about SD / 14; the histogram
    // draws add at most the grid's half step to either).
    let reference = rows(&fixture("irt_reference_scores.csv"));
    let mut mean_error = 0.0;
    for (r, want) in rows(&first).iter().zip(&reference) {
        let pv: Vec<f64> = r[1..].iter().map(|x| num(x)).collect();
        assert_eq!(pv.len(), draws);
        let mean = pv.iter().sum::<f64>() / draws as f64;
        let sd = (pv.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (draws - 1) as f64).sqrt();
        let (eap, eap_se) = (num(&want[1]), num(&want[2]));
        assert!(
            (mean - eap).abs() < 4.5 * eap_se / (draws as f64).sqrt(),
            "{r:?}"
        );
        assert!((sd / eap_se - 1.0).abs() < 0.35, "{sd} {eap_se}");
        mean_error += (mean - eap) / 200.0;
    }
    assert!(mean_error.abs() < 0.02, "{mean_error}");
}

#[test]
fn bad_cells_are_reported_by_line_column_and_value_and_nothing_is_written() {
    let dir = scratch("irt-bad-cells");
    let csv = "respondent_id,q1,q2\na,1,0\nb,2,1\nc,1,yes\nd,0,\n";
    let (output, out) = calibrate(&dir, csv, &["--model", "2pl"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("2 problem(s)"), "{err}");
    assert!(
        err.contains("line 3, column q1, value \"2\": not 0, 1 or empty (missing)"),
        "{err}"
    );
    assert!(err.contains("line 4, column q2, value \"yes\""), "{err}");
    assert!(!out.exists());
}

#[test]
fn duplicate_respondents_and_bad_weights_are_errors() {
    let dir = scratch("irt-duplicates");
    let csv = "respondent_id,q1,q2,w\na,1,0,1\nb,0,1,2\na,1,1,1\nc,0,0,-1\n";
    let (output, out) = calibrate(&dir, csv, &["--model", "rasch", "--weight", "w"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains(
            "line 4, column respondent_id, value \"a\": duplicate respondent_id (first on line 2)"
        ),
        "{err}"
    );
    assert!(err.contains("line 5, column w, value \"-1\""), "{err}");
    assert!(!out.exists());
}

#[test]
fn missing_columns_are_named() {
    let dir = scratch("irt-missing-columns");
    let csv = "respondent_id,q1,q2\na,1,0\nb,0,1\nc,1,1\n";
    let (output, out) = calibrate(&dir, csv, &["--model", "2pl", "--items", "q1,q3"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no item column \"q3\""),
        "{}",
        stderr(&output)
    );
    assert!(!out.exists());
    let (output, _) = calibrate(&dir, "id,q1\na,1\n", &["--model", "2pl"]);
    assert!(
        stderr(&output).contains("no respondent id column \"respondent_id\""),
        "{}",
        stderr(&output)
    );

    // Scoring: every item of the parameter file must be a column.
    let (output, params) = calibrate(&dir, &lsat7_csv(), &["--model", "2pl", "--no-se"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (output, text) = score(
        &dir,
        &params,
        "respondent_id,item1,item2,item3,item5\na,1,1,1,1\n",
        "eap",
        &[],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no item column \"item4\""),
        "{}",
        stderr(&output)
    );
    assert!(text.is_empty());
}

#[test]
fn an_item_that_everyone_answers_alike_is_named() {
    let dir = scratch("irt-degenerate");
    let csv = "respondent_id,q1,q2,q3\na,1,0,1\nb,0,1,1\nc,1,1,1\nd,0,0,1\n";
    let (output, out) = calibrate(&dir, csv, &["--model", "2pl"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("item \"q3\" has 4 right out of 4 answers"),
        "{}",
        stderr(&output)
    );
    assert!(!out.exists());
}

#[test]
fn a_category_list_on_a_right_wrong_item_is_refused() {
    let dir = scratch("irt-polytomous");
    let params = dir.join("gpcm.json");
    std::fs::write(
        &params,
        r#"{"format": "literacy-irt-params", "version": 1, "model": "2pl",
            "items": [{"id": "q1", "model": "2pl", "a": 1.2, "d": [0.5, -0.3]}]}"#,
    )
    .expect("params written");
    let (output, _) = score(&dir, &params, "respondent_id,q1\na,1\n", "eap", &[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(
            "item \"q1\": d is a list (category steps), but model 2pl is right/wrong; a partial \
             credit item is \"pcm\" or \"gpcm\""
        ),
        "{}",
        stderr(&output)
    );
}

/// R mirt's `itemfit` S-X2 of the LSAT-7 2PL, as printed in mirt's
/// `createItem` documentation (github.com/philchalmers/mirt,
/// docs/reference/createItem.html, commit 07d1cff0); df 2 for every item.
const MIRT_LSAT7_SX2: [f64; 5] = [4.750, 14.441, 1.266, 5.241, 0.941];

#[test]
fn item_fit_of_lsat7_reproduces_r_mirt() {
    let dir = scratch("irt-fit");
    let (cal, params) = calibrate(&dir, &lsat7_csv(), &["--model", "2pl"]);
    assert!(cal.status.success(), "{}", stderr(&cal));
    let out = dir.join("fit.csv");
    let fit = literacy(&[
        "irt",
        "fit",
        "--params",
        path(&params),
        "--responses",
        path(&dir.join("responses.csv")),
        "--out",
        path(&out),
    ]);
    assert!(fit.status.success(), "{}", stderr(&fit));
    assert!(stderr(&fit).contains("1000 complete"), "{}", stderr(&fit));
    let text = std::fs::read_to_string(&out).expect("fit written");
    assert_eq!(
        text.lines().next(),
        Some("item,a,b,c,n,s_x2,df,p_value,rmsea,groups,infit,infit_t,outfit,outfit_t")
    );
    let table = rows(&text);
    assert_eq!(table.len(), 5);
    for (row, want) in table.iter().zip(MIRT_LSAT7_SX2) {
        // mirt printed its parameters to 3 decimals; ours are the MLE itself.
        assert!((num(&row[5]) - want).abs() < 0.02, "{row:?} vs {want}");
        assert_eq!(row[6], "2");
        assert_eq!(row[4], "1000");
        // Infit and outfit (tested against references in the core's
        // irt_diagnostics) are written for every item.
        for k in [10, 11, 12, 13] {
            assert!(num(&row[k]).is_finite(), "{row:?}");
        }
    }
}

#[test]
fn information_is_the_closed_form() {
    let dir = scratch("irt-information");
    let (params, out) = information(
        &dir,
        r#"{"format":"literacy-irt-params","version":1,"model":"3pl","items":[
            {"id":"q1","model":"2pl","a":1.5,"b":0.5},
            {"id":"q2","model":"3pl","a":0.8,"d":-0.2,"c":0.2}]}"#,
        5,
    );
    let text = std::fs::read_to_string(&out).expect("table written");
    assert_eq!(text.lines().next(), Some("theta,q1,q2,total,se"));
    let table = rows(&text);
    assert_eq!(table.len(), 5);
    for row in &table {
        let t = num(&row[0]);
        // 2PL: a^2 P Q.
        let p1 = 1.0 / (1.0 + (-1.5 * (t - 0.5)).exp());
        let i1 = 1.5 * 1.5 * p1 * (1.0 - p1);
        // 3PL: a^2 (Q / P) ((P - c) / (1 - c))^2.
        let s = 1.0 / (1.0 + (-(0.8 * t - 0.2)).exp());
        let p2 = 0.2 + 0.8 * s;
        let i2 = 0.8 * 0.8 * ((1.0 - p2) / p2) * ((p2 - 0.2) / 0.8).powi(2);
        assert!((num(&row[1]) - i1).abs() < 1e-12, "{row:?}");
        assert!((num(&row[2]) - i2).abs() < 1e-12, "{row:?}");
        assert!((num(&row[4]) - 1.0 / (i1 + i2).sqrt()).abs() < 1e-12);
    }
    let bad = literacy(&[
        "irt",
        "information",
        "--params",
        path(&params),
        "--from",
        "2",
        "--to",
        "-2",
        "--out",
        path(&out),
    ]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("--from"), "{}", stderr(&bad));
}
