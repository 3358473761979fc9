//! `literacy estimate` on plausible values, and the irt_cut rule end to
//! end (`literacy score --theta-column` then `literacy estimate`), against
//! R's `survey::withPV` + `mitools::MIcombine` results
//! (`tests/reference/expected/p_pv_*.csv`, made by `make_pv_fixtures.R`).

mod common;

use common::{SYNTH_DESIGN, literacy_in_reference, raking_margins, root};
use literacy_test_support::cmd::{json, stderr};
use literacy_test_support::csv_text;
use literacy_test_support::reference::r_value;
use literacy_test_support::tolerance::{Tol, assert_close};
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("literacy-pv-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `literacy score` of `responses` under `instrument` into `out`, the
/// ability taken from `theta_column`; it must succeed.
fn score_file(instrument: &Path, responses: &Path, out: &Path, theta_column: &str) {
    let o = literacy_in_reference(&[
        "score",
        "--instrument",
        instrument.to_str().expect("utf-8"),
        "--responses",
        responses.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--theta-column",
        theta_column,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

const COMBINED: &str = "expected/p_pv_combined.csv";

/// Every estimate of an output against the R rows of `case` (`by`: the
/// domain variable, `None` for the population).
fn check(case: &str, out: &serde_json::Value, by: Option<&str>, tol: f64) {
    let estimates = out["estimates"].as_array().expect("estimates");
    assert!(!estimates.is_empty());
    for e in estimates {
        let (var, label) = match by {
            None => ("", String::new()),
            Some(b) => (b, e["domain"][b].as_str().expect("label").to_owned()),
        };
        let key = [case, var, label.as_str()];
        let what = |f: &str| format!("{case} {var}={label} {f}");
        for (field, column) in [
            ("estimate", "estimate"),
            ("se", "se"),
            ("within", "within"),
            ("between", "between"),
            ("total_variance", "total_variance"),
            ("df", "df"),
            ("fmi", "fmi"),
            ("rubin_df", "rubin_df"),
            ("complete_df", "complete_df"),
            ("deff", "deff"),
            ("ci_low", "logit_low"),
            ("ci_high", "logit_high"),
            ("n", "n"),
        ] {
            let got = e[field]
                .as_f64()
                .unwrap_or_else(|| panic!("{} in {e}", what(field)));
            assert_close(
                got,
                r_value(COMBINED, &key, column),
                Tol::rel(tol),
                &what(field),
            );
        }
        assert_eq!(e["draws"], 5);
    }
}

fn synth_pv<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["estimate", "--data", "data/synth_pv.csv"];
    args.extend(SYNTH_DESIGN);
    args.extend(extra);
    args
}

/// The draws `pv1`..`pv5` by their prefix.
const PREFIX: [&str; 2] = ["--pv-prefix", "pv"];
/// Qualified at or above 0.5.
const CUT: [&str; 2] = ["--cut", "0.5"];

/// [`synth_pv`] on the draws `draws` (`--pv-prefix` or
/// `--plausible-values`), qualified by `rule` (`--cut` or `--instrument`),
/// with the lonely PSU rule `lonely`, then `extra`.
fn pv<'a>(
    draws: [&'a str; 2],
    rule: [&'a str; 2],
    lonely: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = [draws, rule, ["--lonely-psu", lonely]].concat();
    args.extend(extra);
    synth_pv(&args)
}

#[test]
fn plausible_values_above_a_cut_with_taylor_variance() {
    let out = json(&literacy_in_reference(&pv(PREFIX, CUT, "adjust", &[])));
    check("taylor", &out, None, 1e-10);
    assert_eq!(out["statistic"], "share");
    assert_eq!(
        out["plausible_values"]["columns"],
        serde_json::json!(["pv1", "pv2", "pv3", "pv4", "pv5"])
    );
    let draws = ["--plausible-values", "pv1,pv2,pv3,pv4,pv5"];
    let by_sex = ["--by", "sex"];
    let out = json(&literacy_in_reference(&pv(draws, CUT, "adjust", &by_sex)));
    check("taylor", &out, Some("sex"), 1e-10);
}

/// `--gap sex:1-2`: each draw's contrast with its design variance
/// (covariance of the domains included), combined (R: `svycontrast` of
/// `svyby(..., covmat = TRUE)` per draw, `MIcombine`).
#[test]
fn gaps_between_domains_are_combined_over_the_draws() {
    for (case, lonely, variance) in [("taylor", "adjust", "taylor"), ("jkn", "certainty", "jkn")] {
        let extra = ["--variance", variance, "--gap", "sex:1-2"];
        let out = json(&literacy_in_reference(&pv(PREFIX, CUT, lonely, &extra)));
        let gap = &out["gaps"][0];
        assert_eq!(
            (gap["a"].as_str(), gap["b"].as_str()),
            (Some("1"), Some("2"))
        );
        let key = [case, "sex", "1", "2"];
        for field in [
            "estimate",
            "se",
            "within",
            "between",
            "total_variance",
            "complete_df",
            "rubin_df",
            "df",
            "fmi",
            "ci_low",
            "ci_high",
        ] {
            assert_close(
                gap[field]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{field} in {gap}")),
                r_value("expected/p_pv_gaps.csv", &key, field),
                Tol::rel(1e-10),
                &format!("{case} gap {field}"),
            );
        }
    }
}

#[test]
fn csv_output_adds_the_rubin_columns() {
    let extra = ["--by", "sex", "--format", "csv"];
    let o = literacy_in_reference(&pv(PREFIX, CUT, "adjust", &extra));
    assert!(o.status.success(), "{}", stderr(&o));
    let (header, rows) = csv_text::read(&o.stdout);
    for column in [
        "sex", "estimate", "se", "df", "within", "between", "fmi", "rubin_df",
    ] {
        assert!(header.iter().any(|h| h == column), "{column} in {header:?}");
    }
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let get = |c: &str| -> f64 {
            row[header.iter().position(|h| h == c).expect("column")]
                .parse()
                .expect("number")
        };
        let key = ["taylor", "sex", &row[0]];
        for column in [
            "estimate", "se", "df", "within", "between", "fmi", "rubin_df",
        ] {
            assert_close(
                get(column),
                r_value(COMBINED, &key, column),
                Tol::rel(1e-10),
                column,
            );
        }
        assert_close(
            get("ci_low"),
            r_value(COMBINED, &key, "logit_low"),
            Tol::rel(1e-10),
            "ci_low",
        );
    }
}

#[test]
fn with_fpc_raking_and_the_jackknife() {
    let extra = ["--fpc", "fpc", "--by", "urban_rural"];
    let out = json(&literacy_in_reference(&pv(PREFIX, CUT, "adjust", &extra)));
    check("taylor_fpc", &out, Some("urban_rural"), 1e-10);
    let margins = raking_margins();
    let raked: Vec<&str> = margins.iter().map(String::as_str).collect();
    let out = json(&literacy_in_reference(&pv(PREFIX, CUT, "adjust", &raked)));
    check("raked", &out, None, 1e-9);
    let extra = ["--variance", "jkn", "--by", "urban_rural"];
    let out = json(&literacy_in_reference(&pv(
        PREFIX,
        CUT,
        "certainty",
        &extra,
    )));
    check("jkn", &out, Some("urban_rural"), 1e-10);
}

/// An instrument with an irt_cut rule (and a reporting scale when given).
fn irt_instrument(dir: &Path, rule: serde_json::Value) -> (PathBuf, Vec<String>) {
    let text =
        std::fs::read_to_string(root().join("surveys/csl-2026/instrument.json")).expect("csl-2026");
    let mut instrument: serde_json::Value = serde_json::from_str(&text).expect("json");
    instrument["id"] = "csl-irt-test".into();
    instrument["rule"] = rule;
    let items = instrument["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect();
    let path = dir.join("instrument.json");
    std::fs::write(&path, instrument.to_string()).expect("write");
    (path, items)
}

#[test]
fn the_irt_cut_rule_of_an_instrument_on_plausible_values() {
    let dir = scratch("rule");
    // theta >= 0.5 on the reporting scale 500 + 100 theta: a cut of 550.
    let (path, _) = irt_instrument(
        &dir,
        serde_json::json!({
            "kind": "irt_cut", "cut": 550, "scale": {"intercept": 500, "slope": 100},
            "missing": {"policy": "count_as_wrong"}
        }),
    );
    let rule = ["--instrument", path.to_str().expect("utf-8")];
    let by_sex = ["--by", "sex"];
    let out = json(&literacy_in_reference(&pv(PREFIX, rule, "adjust", &by_sex)));
    check("taylor", &out, Some("sex"), 1e-10);
    assert!(
        out["plausible_values"]["outcome"]
            .as_str()
            .expect("outcome")
            .contains("irt_cut"),
        "{out}"
    );
    // An instrument qualifying by total score has no cut for abilities.
    let rule = ["--instrument", "../../surveys/csl-2026"];
    let o = literacy_in_reference(&pv(PREFIX, rule, "adjust", &[]));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not irt_cut"), "{}", stderr(&o));
}

#[test]
fn one_plausible_value_is_not_enough() {
    let o = literacy_in_reference(&pv(["--plausible-values", "pv1"], CUT, "adjust", &[]));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("at least 2"), "{}", stderr(&o));
    let o = literacy_in_reference(&synth_pv(&["--pv-prefix", "zz", "--lonely-psu", "adjust"]));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no column"), "{}", stderr(&o));
}

/// The chain that exists today: a theta per respondent (here the first
/// plausible value) -> `literacy score --theta-column` applies the
/// instrument's irt_cut rule -> `literacy estimate --outcome qualified`;
/// the share and its variance are R's for draw 1.
#[test]
fn score_with_a_theta_column_then_estimate() {
    let dir = scratch("chain");
    let (instrument, items) = irt_instrument(
        &dir,
        serde_json::json!({
            "kind": "irt_cut", "cut": 0.5, "missing": {"policy": "count_as_wrong"}
        }),
    );
    let data = std::fs::read_to_string(root().join("tests/reference/data/synth_pv.csv"))
        .expect("synth_pv");
    let mut lines = data.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (id, province, psu, weight, theta) = (
        col("id"),
        col("province"),
        col("psu"),
        col("weight"),
        col("pv1"),
    );
    // No answers (all missing, counted as wrong): the rule needs only theta.
    let mut answers = format!(
        "respondent_id,{},province,psu,weight,theta\n",
        items.join(",")
    );
    let blanks = ",".repeat(items.len());
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        answers.push_str(&format!(
            "{}{blanks},{},{},{},{}\n",
            f[id], f[province], f[psu], f[weight], f[theta]
        ));
    }
    let responses = dir.join("answers.csv");
    std::fs::write(&responses, answers).expect("answers");
    let scored = dir.join("scored.csv");
    score_file(&instrument, &responses, &scored, "theta");
    let mut args = vec!["estimate", "--data", scored.to_str().expect("utf-8")];
    args.extend(SYNTH_DESIGN);
    args.extend(["--lonely-psu", "adjust", "--outcome", "qualified"]);
    let out = json(&literacy_in_reference(&args));
    let e = &out["estimates"][0];
    let key = ["taylor", "", "", "1"];
    assert_close(
        e["estimate"].as_f64().expect("estimate"),
        r_value("expected/p_pv_draws.csv", &key, "estimate"),
        Tol::rel(1e-12),
        "share",
    );
    let se = e["se"].as_f64().expect("se");
    assert_close(
        se * se,
        r_value("expected/p_pv_draws.csv", &key, "variance"),
        Tol::rel(1e-10),
        "variance",
    );
}

/// From answers to the qualified share under an irt_cut rule, with a known
/// truth: abilities N(0, 1) answer the instrument under a 2PL model
/// (`literacy_sim`); the first 8 right/wrong items (true/false and single
/// choice; don't know is wrong, missing stays missing) with their true
/// parameters form a short ability scale. Plausible values (what `literacy
/// irt score --method pv` will write) -> `literacy estimate --pv-prefix pv
/// --instrument` lands within 3 combined SEs of the sample's true share
/// (weighted share of true abilities at or above the cut); EAP scores
/// -> `literacy score --theta-column` -> `literacy estimate --outcome
/// qualified` falls far below it.
#[test]
fn from_answers_to_the_qualified_share_under_an_irt_cut_rule() {
    use literacy_core::irt::{
        AbilityMethod, CategoryResponses, Grid, ItemModel, ItemParams, plausible_values, score,
    };
    use literacy_core::{Instrument, ItemKind, MISSING};
    use literacy_sim::answers::{AnswerModel, generate, standard_normal};

    const CUT: f64 = 1.5;
    let dir = scratch("answers");
    let (path, item_ids) = irt_instrument(
        &dir,
        serde_json::json!({
            "kind": "irt_cut", "cut": CUT, "missing": {"policy": "count_as_wrong"}
        }),
    );
    let instrument = Instrument::from_json("irt", &std::fs::read_to_string(&path).expect("read"))
        .expect("valid");
    let n = 6000;
    let thetas = standard_normal(n, 11);
    let model = AnswerModel::for_instrument(&instrument, 12);
    let cells = generate(&instrument, &model, &thetas, 13);
    let n_items = instrument.items.len();
    let scale: Vec<usize> = (0..n_items)
        .filter(|&i| {
            matches!(
                instrument.items[i].kind,
                ItemKind::TrueFalse { .. } | ItemKind::SingleChoice { .. }
            )
        })
        .take(8)
        .collect();
    assert_eq!(scale.len(), 8);
    let tables: Vec<Vec<f64>> = scale
        .iter()
        .map(|&i| instrument.items[i].score_table())
        .collect();
    let mut right = Vec::with_capacity(n * scale.len());
    for r in 0..n {
        for (k, &i) in scale.iter().enumerate() {
            let cell = cells[r * n_items + i];
            right.push(if cell == MISSING {
                CategoryResponses::MISSING
            } else {
                u8::from(tables[k][usize::from(cell)] > 0.0)
            });
        }
    }
    let responses = CategoryResponses::dichotomous(scale.len(), right).expect("responses");
    let params: Vec<ItemModel> = scale
        .iter()
        .map(|&i| {
            ItemModel::Dichotomous(ItemParams::from_difficulty(
                model.slope[i],
                model.difficulty[i],
                0.0,
            ))
        })
        .collect();
    let pvs = plausible_values(&params, &responses, &Grid::standard(), 5, 14).expect("pv");
    let eap = score(&params, &responses, AbilityMethod::Eap, &Grid::standard()).expect("eap");

    // The design: 60 PSUs of 100 in 4 strata, weights by stratum.
    let design = |r: usize| {
        let psu = r / 100;
        (psu % 4, psu, 1.0 + (psu % 4) as f64)
    };
    let (mut sw, mut swq) = (0.0, 0.0);
    for (r, &t) in thetas.iter().enumerate() {
        let (_, _, w) = design(r);
        sw += w;
        swq += if t >= CUT { w } else { 0.0 };
    }
    let truth = swq / sw;

    // The answer file (with the EAP as the theta column) and the PV file.
    let mut answers = format!(
        "respondent_id,{},stratum,psu,weight,eap\n",
        item_ids.join(",")
    );
    let mut pv_file = "respondent_id,stratum,psu,weight,pv1,pv2,pv3,pv4,pv5\n".to_owned();
    for r in 0..n {
        let (h, psu, w) = design(r);
        let row: Vec<String> = (0..n_items)
            .map(|i| instrument.items[i].decode(cells[r * n_items + i]))
            .collect();
        answers.push_str(&format!(
            "R{r},{},{h},{psu},{w},{}\n",
            row.join(","),
            eap[r].theta
        ));
        let values: Vec<String> = pvs.iter().map(|v| v[r].to_string()).collect();
        pv_file.push_str(&format!("R{r},{h},{psu},{w},{}\n", values.join(",")));
    }
    let (answers_path, pv_path, scored) = (
        dir.join("answers.csv"),
        dir.join("pv.csv"),
        dir.join("scored.csv"),
    );
    std::fs::write(&answers_path, answers).expect("answers");
    std::fs::write(&pv_path, pv_file).expect("pv");
    let design_args = ["--weight", "weight", "--strata", "stratum", "--psu", "psu"];

    let mut args = vec!["estimate", "--data", pv_path.to_str().expect("utf-8")];
    args.extend(design_args);
    args.extend([
        "--pv-prefix",
        "pv",
        "--instrument",
        path.to_str().expect("utf-8"),
    ]);
    let out = json(&literacy_in_reference(&args));
    let pv = &out["estimates"][0];
    let (share, se) = (
        pv["estimate"].as_f64().expect("estimate"),
        pv["se"].as_f64().expect("se"),
    );
    assert!(
        (share - truth).abs() < 3.0 * se,
        "PV share {share} (se {se}) vs true {truth}"
    );
    assert!(pv["between"].as_f64().expect("between") > 0.0);

    score_file(&path, &answers_path, &scored, "eap");
    let mut args = vec!["estimate", "--data", scored.to_str().expect("utf-8")];
    args.extend(design_args);
    args.extend(["--outcome", "qualified"]);
    let out = json(&literacy_in_reference(&args));
    let eap_share = out["estimates"][0]["estimate"].as_f64().expect("estimate");
    assert!(
        eap_share < truth - 3.0 * se,
        "EAP share {eap_share} vs true {truth} (PV se {se})"
    );
}
