//! `literacy estimate` and `literacy weight` end to end on R's reference
//! data (`tests/reference/`), compared with R `survey`'s results.

mod common;

use common::{SYNTH_DESIGN, literacy_in_reference, raking_margins, root};
use literacy_test_support::cmd::{json, stderr};
use literacy_test_support::reference::r_value;
use literacy_test_support::tolerance::{Tol, assert_close};

/// `estimate` on R's synthetic survey with its design and outcome, then
/// `extra`.
fn estimate_synth<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["estimate", "--data", "data/synth.csv"];
    args.extend(SYNTH_DESIGN);
    args.extend(["--outcome", "qualified"]);
    args.extend(extra);
    args
}

#[test]
fn domain_shares_with_taylor_standard_errors() {
    let args = estimate_synth(&["--by", "province", "--ci", "wald", "--lonely-psu", "adjust"]);
    let out = json(&literacy_in_reference(&args));
    let estimates = out["estimates"].as_array().expect("estimates");
    assert_eq!(estimates.len(), 8);
    for e in estimates {
        let p = e["domain"]["province"].as_str().expect("province");
        let key = [p, "qualified", "mean"];
        let file = "expected/c01_synth_domain_province.csv";
        assert_close(
            e["estimate"].as_f64().unwrap(),
            r_value(file, &key, "estimate"),
            Tol::rel(1e-12),
            "estimate",
        );
        if p != "32" {
            assert_close(
                e["se"].as_f64().unwrap(),
                r_value(file, &key, "se"),
                Tol::rel(1e-10),
                "se",
            );
            assert_close(
                e["ci_low"].as_f64().unwrap(),
                r_value(file, &key, "ci_low"),
                Tol::rel(1e-10),
                "ci_low",
            );
        }
        assert_eq!(e["n"].as_f64().unwrap(), r_value(file, &key, "n"));
        for field in [
            "weighted_total",
            "deff",
            "cv",
            "effective_n",
            "df",
            "suppressed",
            "flagged",
        ] {
            assert!(!e[field].is_null(), "{field} in {e}");
        }
    }
    // Province 32 is one PSU: zero degrees of freedom, so it cannot be published.
    let lonely = estimates
        .iter()
        .find(|e| e["domain"]["province"] == "32")
        .expect("32");
    assert_eq!(lonely["suppressed"], true, "{lonely}");
    assert_eq!(out["variance"], "taylor");
    assert_eq!(out["statistic"], "share");
}

#[test]
fn raked_estimates_as_csv() {
    let mut args = estimate_synth(&["--by", "urban_rural", "--format", "csv"]);
    args.extend(["--lonely-psu", "adjust"]);
    let margins = raking_margins();
    args.extend(margins.iter().map(String::as_str));
    let out = literacy_in_reference(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "urban_rural,n,weighted_total,estimate,se,ci_low,ci_high,df,deff,cv,effective_n,suppressed,flagged,reliability"
        )
    );
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let key = [f[0], "qualified", "mean"];
        let file = "expected/d02_synth_rake.csv";
        assert_close(
            f[3].parse().unwrap(),
            r_value(file, &key, "estimate"),
            Tol::rel(1e-9),
            "estimate",
        );
        assert_close(
            f[4].parse().unwrap(),
            r_value(file, &key, "se"),
            Tol::rel(1e-9),
            "se",
        );
        assert_close(
            f[2].parse().unwrap(),
            r_value(file, &key, "weighted_total"),
            Tol::rel(1e-12),
            "weighted_total",
        );
    }
}

#[test]
fn replicate_variance_is_deterministic_for_a_seed() {
    let mut args = estimate_synth(&["--variance", "bootstrap", "--replicates", "60"]);
    args.extend(["--seed", "9", "--lonely-psu", "certainty"]);
    let a = json(&literacy_in_reference(&args));
    let b = json(&literacy_in_reference(&args));
    assert_eq!(a, b);
    assert_eq!(a["replicates"], 60);
    let jkn = estimate_synth(&["--variance", "jkn", "--lonely-psu", "certainty"]);
    let out = json(&literacy_in_reference(&jkn));
    let file = "expected/f03_synth_jkn.csv";
    let se = out["estimates"][0]["se"].as_f64().unwrap();
    assert_close(
        se,
        r_value(file, &["certainty", "", "qualified", "mean"], "se"),
        Tol::rel(1e-10),
        "jkn se",
    );
}

#[test]
fn weight_writes_final_weights_and_the_report() {
    let dir = root().join("target/test-scratch/weight");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let out_file = dir.join("weighted.csv");
    let margins = raking_margins();
    let mut args = vec!["weight", "--data", "data/synth.csv", "--weight", "weight"];
    args.extend(margins.iter().map(String::as_str));
    args.extend(["--out", out_file.to_str().unwrap()]);
    let out = literacy_in_reference(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stderr).expect("report");
    assert_eq!(report["weighting"][1]["step"], "rake", "{report}");
    assert_eq!(report["weighting"][1]["converged"], true);
    let written = std::fs::read_to_string(&out_file).expect("output");
    let expected =
        std::fs::read_to_string(root().join("tests/reference/expected/raked_weights.csv"))
            .expect("fixture");
    let r: Vec<f64> = expected
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let mut lines = written.lines();
    assert!(lines.next().unwrap().ends_with(",final_weight"));
    for (line, want) in lines.zip(&r) {
        let got: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
        assert_close(got, *want, Tol::rel(1e-9), "final weight");
    }
}

#[test]
fn bad_input_names_the_file_line_and_column() {
    // The arguments after the design (split at spaces; the outcome is
    // `qualified` and lonely PSUs are adjusted unless they say otherwise),
    // and the message.
    let cases = [
        ("--outcome income", "data/synth.csv: no column \"income\""),
        ("--by nowhere", "no column \"nowhere\""),
        ("--lonely-psu fail", "stratum \"32\" has only one PSU"),
        ("--margin data/synth.csv", "a margin file has two columns"),
        ("--trim 50", "--trim \"50\": expected LOW:HIGH"),
        ("--ci exact", "\"exact\" is not an interval method"),
        (
            "--variance brr",
            "brr needs exactly 2 PSUs in every stratum",
        ),
    ];
    for (extra, message) in cases {
        let mut extra: Vec<&str> = extra.split(' ').collect();
        if !extra.contains(&"--outcome") {
            extra = [&["--outcome", "qualified"][..], &extra].concat();
        }
        let lonely = if extra.contains(&"--lonely-psu") {
            &[][..]
        } else {
            &["--lonely-psu", "adjust"][..]
        };
        let mut args = vec!["estimate", "--data", "data/synth.csv"];
        args.extend(SYNTH_DESIGN);
        args.extend_from_slice(lonely);
        args.extend_from_slice(&extra);
        let out = literacy_in_reference(&args);
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        assert!(
            stderr(&out).contains(message),
            "{extra:?}: {}",
            stderr(&out)
        );
    }
    // A non-numeric weight and a category missing from a margin, in files made here.
    let dir = root().join("target/test-scratch/estimate-bad");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let data = dir.join("data.csv");
    let margin = dir.join("margin_sex.csv");
    std::fs::write(&margin, "sex,total\n1,10\n2,12\n").expect("margin");
    // `literacy estimate` of outcome y weighted by w on `text`, with `more`
    // arguments: its message says `expected`.
    let refused = |text: &str, more: &[&str], expected: &str| {
        std::fs::write(&data, text).expect("data");
        let mut args = vec!["estimate", "--data", data.to_str().unwrap()];
        args.extend(["--weight", "w", "--outcome", "y"]);
        args.extend_from_slice(more);
        let out = literacy_in_reference(&args);
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    };
    refused(
        "w,y,sex\n1,0,1\nx,1,2\n",
        &[],
        "data.csv: line 3, column w: \"x\" is not a number",
    );
    let with_margin = ["--margin", margin.to_str().unwrap()];
    refused(
        "w,y,sex\n1,0,1\n2,1,3\n",
        &with_margin,
        "line 3, column sex: category \"3\" is not in the margin file",
    );
    refused(
        "w,y,sex\n1,0,1\n2,1,1\n",
        &with_margin,
        "category \"2\" has no respondents",
    );
    refused(
        "w,y,sex\n1,0,1\n2,1,\n",
        &["--by", "sex"],
        "line 3, column sex: is empty",
    );
}
