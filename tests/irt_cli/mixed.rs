//! Mixed formats from the command line: right/wrong and partial credit
//! items together, with missing answers, several groups and anchor items,
//! checked against PyPI mirt and the direct maximisation of
//! `crates/core/tests/fixtures/irt_mixed_reference.py`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{calibrate, f, fixture, information, literacy, num, path, read_json, rows, score};
use literacy_test_support::cmd::stderr;
use literacy_test_support::dirs::scratch;

/// `irt_mixed_params.csv`: (fit, item, param) -> (value, se).
fn reference() -> HashMap<(String, usize, String), (f64, f64)> {
    rows(&fixture("irt_mixed_params.csv"))
        .into_iter()
        .map(|r| {
            let item = r[1].parse().expect("item number");
            ((r[0].clone(), item, r[2].clone()), (num(&r[3]), num(&r[4])))
        })
        .collect()
}

fn get(
    reference: &HashMap<(String, usize, String), (f64, f64)>,
    key: (&str, usize, &str),
) -> (f64, f64) {
    *reference
        .get(&(key.0.to_owned(), key.1, key.2.to_owned()))
        .unwrap_or_else(|| panic!("no reference {key:?}"))
}

/// A number or a list of numbers.
fn values(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(list) => list.iter().map(f).collect(),
        other => vec![f(other)],
    }
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:.10}, reference {want:.10}, difference {:.2e} > {tol:e}",
        (got - want).abs()
    );
}

/// A fixture's rows with respondent ids r0.. in front.
fn with_ids(name: &str) -> String {
    let text = fixture(name);
    let mut lines = text.lines();
    let mut csv = format!("respondent_id,{}\n", lines.next().expect("header"));
    for (i, line) in lines.enumerate() {
        csv.push_str(&format!("r{i},{line}\n"));
    }
    csv
}

/// Items 1-3 2PL, 4-8 GPCM: the mixed design of the reference script.
fn item_models(dir: &Path) -> PathBuf {
    let file = dir.join("item-models.csv");
    let mut text = String::from("item,model\n");
    for j in 1..=8 {
        let model = if j <= 3 { "2pl" } else { "gpcm" };
        text.push_str(&format!("item{j},{model}\n"));
    }
    std::fs::write(&file, text).expect("item models written");
    file
}

/// Checks free items' slopes, intercepts d and their SEs, the free groups'
/// means and SDs with SEs, and the log-likelihood against the direct
/// maximisation `label`.
fn check_against_direct(json: &Value, label: &str, tol: f64) {
    let reference = reference();
    for (j, item) in json["items"].as_array().expect("items").iter().enumerate() {
        if item["anchored"] == true {
            continue;
        }
        let number = j + 1;
        let (a, se_a) = get(&reference, (label, number, "a"));
        close(&format!("{label} item {number} a"), f(&item["a"]), a, tol);
        close(
            &format!("{label} item {number} se a"),
            f(&item["se_a"]),
            se_a,
            tol,
        );
        let (d, se_d) = (values(&item["d"]), values(&item["se_d"]));
        assert_eq!(d.len(), se_d.len(), "{item}");
        for (k, (d, se)) in d.iter().zip(&se_d).enumerate() {
            let (want, want_se) = get(&reference, (label, number, &format!("d{}", k + 1)));
            close(&format!("{label} item {number} d{}", k + 1), *d, want, tol);
            close(
                &format!("{label} item {number} se d{}", k + 1),
                *se,
                want_se,
                tol,
            );
        }
    }
    // One group's latent is `latent` (free with anchors), several `groups`.
    let groups = match json["groups"]["list"].as_array() {
        Some(list) => list
            .iter()
            .enumerate()
            .filter(|(_, g)| g["free"] == true)
            .collect(),
        None if json["latent"]["se_mean"].is_number() => vec![(0, &json["latent"])],
        None => Vec::new(),
    };
    for (g, group) in groups {
        for what in ["mean", "sd"] {
            let (want, want_se) = get(&reference, (label, 0, &format!("group{g}.{what}")));
            close(
                &format!("{label} group {g} {what}"),
                f(&group[what]),
                want,
                tol,
            );
            let se = f(&group[format!("se_{what}").as_str()]);
            close(&format!("{label} group {g} se {what}"), se, want_se, tol);
        }
    }
    let (ll, _) = get(&reference, (label, 0, "loglik"));
    close(
        &format!("{label} log-likelihood"),
        f(&json["log_likelihood"]),
        ll,
        tol,
    );
}

#[test]
fn two_pl_and_gpcm_items_with_missing_answers_match_python_mirt() {
    let dir = scratch("irt-mixed-cli");
    let models = item_models(&dir);
    let csv = with_ids("irt_mixed_responses.csv");
    let (output, params) = calibrate(
        &dir,
        &csv,
        &[
            "--model",
            "mixed",
            "--item-models",
            path(&models),
            "--tolerance",
            "1e-8",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("2000 respondents x 8 items, mixed (3 2pl, 5 gpcm)"),
        "{}",
        stderr(&output)
    );
    let json = read_json(&params);
    assert_eq!(json["model"], "mixed");
    assert_eq!(json["convergence"]["converged"], true);
    // 3 x (a, d) + 5 slopes + 2 + 3 + 2 + 4 + 3 intercepts.
    assert_eq!(json["n_parameters"], 6 + 5 + 14);
    check_against_direct(&json, "direct_mixed", 1e-6);
    // mirt (EM to 1e-10, Oakes SEs) writes slopes and steps b = the
    // points where adjacent categories are equally likely.
    let reference = reference();
    for (j, item) in json["items"].as_array().expect("items").iter().enumerate() {
        let number = j + 1;
        assert_eq!(item["id"], format!("item{number}"));
        assert_eq!(item["model"], if number <= 3 { "2pl" } else { "gpcm" });
        let (a, se_a) = get(&reference, ("mirt_mixed", number, "a"));
        close(&format!("item {number} a"), f(&item["a"]), a, 1e-5);
        close(&format!("item {number} se a"), f(&item["se_a"]), se_a, 1e-5);
        let (b, se_b) = (values(&item["b"]), values(&item["se_b"]));
        let expected = if number <= 3 {
            1
        } else {
            [2, 3, 2, 4, 3][number - 4]
        };
        assert_eq!(b.len(), expected, "{item}");
        for (k, (b, se)) in b.iter().zip(&se_b).enumerate() {
            let (want, want_se) = get(
                &reference,
                ("mirt_mixed", number, &format!("step{}", k + 1)),
            );
            close(&format!("item {number} b{}", k + 1), *b, want, 1e-5);
            close(&format!("item {number} se b{}", k + 1), *se, want_se, 1e-5);
        }
    }
    let (ll, _) = get(&reference, ("mirt_mixed", 0, "loglik"));
    close("log-likelihood", f(&json["log_likelihood"]), ll, 1e-5);

    // mirt's fscores of the first 200 respondents under its fit: ours are
    // under our fit, which differs from mirt's by < 1e-5.
    let first: String = csv.lines().take(201).map(|l| format!("{l}\n")).collect();
    let want = rows(&fixture("irt_mixed_scores.csv"));
    for (k, method) in ["eap", "map", "wle", "mle"].into_iter().enumerate() {
        let (output, text) = score(&dir, &params, &first, method, &[]);
        assert!(output.status.success(), "{method}: {}", stderr(&output));
        let ours = rows(&text);
        assert_eq!(ours.len(), 200);
        let mut worst = [0.0_f64; 2];
        let mut bounded = 0;
        for (i, (r, w)) in ours.iter().zip(&want).enumerate() {
            assert_eq!(r[0], format!("r{i}"));
            let (theta, se) = (num(&r[1]), num(&r[2]));
            let (want_theta, want_se) = (num(&w[1 + 2 * k]), num(&w[2 + 2 * k]));
            if method == "mle" && want_theta.abs() > 5.99 {
                // mirt stops at its bound (+-6) for all-top and
                // all-bottom patterns; ours is infinite.
                assert_eq!(theta, want_theta.signum() * f64::INFINITY, "{r:?}");
                bounded += 1;
                continue;
            }
            worst[0] = worst[0].max((theta - want_theta).abs());
            worst[1] = worst[1].max((se - want_se).abs());
        }
        assert!(method != "mle" || bounded > 0);
        assert!(worst.iter().all(|w| *w < 2e-5), "{method}: {worst:?}");
    }
}

#[test]
fn two_groups_match_the_direct_maximum_and_score_under_their_own_latent() {
    let dir = scratch("irt-mixed-groups-cli");
    let csv = with_ids("irt_mixed_groups.csv");
    let (output, params) = calibrate(
        &dir,
        &csv,
        &[
            "--model",
            "gpcm",
            "--groups",
            "group",
            "--tolerance",
            "1e-8",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json = read_json(&params);
    assert_eq!(json["groups"]["column"], "group");
    assert_eq!(json["groups"]["reference"], "0");
    let list = json["groups"]["list"].as_array().expect("groups");
    assert_eq!(list.len(), 2);
    assert_eq!((f(&list[0]["mean"]), f(&list[0]["sd"])), (0.0, 1.0));
    assert_eq!(list[0]["free"], false);
    assert_eq!(f(&list[1]["weight"]), 1500.0);
    check_against_direct(&json, "direct_groups", 1e-6);

    // EAP under each group's N(mean, sd^2) on the 61-point grid, summed
    // here from the file's parameters (P(k) ~ exp(a k theta + d_k)).
    let items: Vec<(f64, Vec<f64>)> = json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| (f(&i["a"]), values(&i["d"])))
        .collect();
    let data = rows(&csv);
    // Twenty respondents of each group.
    let mut sample = String::from(csv.lines().next().expect("header"));
    sample.push('\n');
    for label in ["0", "1"] {
        for r in data.iter().filter(|r| r[1] == label).take(20) {
            sample.push_str(&r.join(","));
            sample.push('\n');
        }
    }
    let (output, text) = score(&dir, &params, &sample, "eap", &["--groups", "group"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let scored = rows(&text);
    let by_id: HashMap<&str, &Vec<String>> = data.iter().map(|r| (r[0].as_str(), r)).collect();
    let mut seen = [0, 0];
    for s in &scored {
        let row = by_id[s[0].as_str()];
        let g: usize = row[1].parse().expect("group");
        seen[g] += 1;
        let (mean, sd) = (f(&list[g]["mean"]), f(&list[g]["sd"]));
        let (eap, se) = direct_eap(&items, &row[2..], mean, sd);
        close(&format!("{} eap", s[0]), num(&s[1]), eap, 1e-10);
        close(&format!("{} se", s[0]), num(&s[2]), se, 1e-10);
    }
    assert!(seen[0] > 0 && seen[1] > 0, "{seen:?}");

    let unknown = sample.replacen("\nr0,0,", "\nr0,north,", 1);
    let (output, _) = score(&dir, &params, &unknown, "eap", &["--groups", "group"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--groups: group(s) north are not in"),
        "{}",
        stderr(&output)
    );
}

/// The posterior mean and SD of theta for one response row, every item a
/// GPCM (a, d_1..), latent N(mean, sd^2) on 61 points in [-6, 6].
fn direct_eap(items: &[(f64, Vec<f64>)], cells: &[String], mean: f64, sd: f64) -> (f64, f64) {
    let points: Vec<f64> = (0..61).map(|q| -6.0 + 0.2 * f64::from(q)).collect();
    let log_post: Vec<f64> = points
        .iter()
        .map(|&t| {
            let mut lp = -0.5 * ((t - mean) / sd).powi(2);
            for ((a, d), cell) in items.iter().zip(cells) {
                if cell.is_empty() {
                    continue;
                }
                let x: usize = cell.parse().expect("category");
                let z: Vec<f64> = (0..=d.len())
                    .map(|k| a * k as f64 * t + if k == 0 { 0.0 } else { d[k - 1] })
                    .collect();
                let top = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                let log_sum = top + z.iter().map(|v| (v - top).exp()).sum::<f64>().ln();
                lp += z[x] - log_sum;
            }
            lp
        })
        .collect();
    let top = log_post.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let w: Vec<f64> = log_post.iter().map(|v| (v - top).exp()).collect();
    let total: f64 = w.iter().sum();
    let eap = points.iter().zip(&w).map(|(t, w)| t * w).sum::<f64>() / total;
    let var = points
        .iter()
        .zip(&w)
        .map(|(t, w)| (t - eap).powi(2) * w)
        .sum::<f64>()
        / total;
    (eap, var.sqrt())
}

#[test]
fn anchor_items_from_an_earlier_file_put_new_items_on_its_scale() {
    let dir = scratch("irt-mixed-anchor-cli");
    // An earlier calibration's file: items 1-4 at the true parameters the
    // data were drawn from.
    let truth = rows(&fixture("irt_mixed_truth.csv"));
    let anchors: Vec<String> = truth
        .iter()
        .filter(|r| r[0] == "anchor" && num(&r[1]) <= 4.0)
        .map(|r| {
            let d: Vec<&str> = r[3].split(';').collect();
            let model = if d.len() == 1 { "2pl" } else { "gpcm" };
            let d = if d.len() == 1 {
                d[0].to_owned()
            } else {
                format!("[{}]", d.join(","))
            };
            format!(
                r#"{{"id":"item{}","model":"{model}","a":{},"d":{d}}}"#,
                r[1], r[2]
            )
        })
        .collect();
    let anchor_file = dir.join("anchors.json");
    std::fs::write(
        &anchor_file,
        format!(
            r#"{{"format":"literacy-irt-params","version":2,"model":"mixed","items":[{}]}}"#,
            anchors.join(",")
        ),
    )
    .expect("anchors written");
    let csv = with_ids("irt_mixed_anchor.csv");
    let (output, params) = calibrate(
        &dir,
        &csv,
        &[
            "--model",
            "gpcm",
            "--anchors",
            path(&anchor_file),
            "--tolerance",
            "1e-8",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("4 anchored"),
        "{}",
        stderr(&output)
    );
    let json = read_json(&params);
    check_against_direct(&json, "direct_anchor", 1e-6);
    let items = json["items"].as_array().expect("items");
    for (item, r) in items.iter().zip(&truth).take(4) {
        assert_eq!(item["anchored"], true, "{item}");
        assert_eq!(f(&item["a"]), num(&r[2]), "{item}");
        let d: Vec<f64> = r[3].split(';').map(num).collect();
        assert_eq!(values(&item["d"]), d, "{item}");
        assert!(item["se_a"].is_null(), "{item}");
    }
    // The population was N(0.4, 1.3^2), estimated on the anchors' scale.
    let group = &json["latent"];
    let (mean, sd) = (f(&group["mean"]), f(&group["sd"]));
    assert!((mean - 0.4).abs() < 3.0 * f(&group["se_mean"]), "{group}");
    assert!((sd - 1.3).abs() < 3.0 * f(&group["se_sd"]), "{group}");

    // An anchor file sharing no item with the data links nothing.
    let other = dir.join("other.json");
    std::fs::write(
        &other,
        r#"{"format":"literacy-irt-params","version":2,"model":"2pl",
            "items":[{"id":"q9","model":"2pl","a":1.0,"d":0.0}]}"#,
    )
    .expect("written");
    let (output, _) = calibrate(&dir, &csv, &["--model", "gpcm", "--anchors", path(&other)]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("none of its items is calibrated here"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn item_model_files_and_category_codes_are_checked_by_line_and_column() {
    let dir = scratch("irt-mixed-errors");
    let csv = "respondent_id,q1,q2\na,0,2\nb,1,0\nc,1,1\nd,0,\n";
    let refused = |args: &[&str], csv: &str, expected: &str| {
        let (output, out) = calibrate(&dir, csv, args);
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!out.exists());
    };
    let models = |text: &str| {
        let file = dir.join("models.csv");
        std::fs::write(&file, text).expect("written");
        file
    };
    refused(
        &["--model", "mixed"],
        csv,
        "--model mixed needs --item-models FILE",
    );
    let m = models("item,model\nq1,2pl\nq2,gpcm\n");
    refused(
        &["--model", "2pl", "--item-models", path(&m)],
        csv,
        "--item-models is for --model mixed",
    );
    let m = models("item,model\nq1,2pl\nq2,graded\n");
    refused(
        &["--model", "mixed", "--item-models", path(&m)],
        csv,
        "line 3, column model, value \"graded\": not an item model",
    );
    let m = models("item,model\nq1,2pl\nq1,gpcm\n");
    refused(
        &["--model", "mixed", "--item-models", path(&m)],
        csv,
        "line 3, column item, value \"q1\": listed twice (first on line 2)",
    );
    let m = models("item,kind\nq1,2pl\n");
    refused(
        &["--model", "mixed", "--item-models", path(&m)],
        csv,
        "line 1 (header): no column \"model\"",
    );
    let m = models("item,model\nq1,2pl\n");
    refused(
        &[
            "--model",
            "mixed",
            "--item-models",
            path(&m),
            "--items",
            "q1,q2",
        ],
        csv,
        "gives no model for the item column(s) q2",
    );
    // A right/wrong item's cells are 0 or 1.
    let m = models("item,model\nq1,2pl\nq2,2pl\n");
    refused(
        &["--model", "mixed", "--item-models", path(&m)],
        csv,
        "line 2, column q2, value \"2\"",
    );
    // A partial credit item's codes are 0..K-1 with every category used.
    let gappy = "respondent_id,q1,q2\na,0,3\nb,1,0\nc,1,1\nd,0,\n";
    refused(
        &["--model", "gpcm"],
        gappy,
        "item \"q2\": nobody answered category 2, so its step is not estimable",
    );
    refused(
        &["--model", "gpcm"],
        "respondent_id,q1\na,0\nb,-1\n",
        "line 3, column q1, value \"-1\"",
    );
    refused(
        &["--model", "1pl", "--groups", "q2"],
        csv,
        "--model 1pl estimates the latent SD through its common slope",
    );
    // Four answers cannot identify five parameters: the slopes run off
    // (perfect separation) and the observed information is singular, said
    // so rather than given as standard errors.
    let m = models("item,model\nq1,2pl\nq2,gpcm\n");
    refused(
        &["--model", "mixed", "--item-models", path(&m)],
        csv,
        "the information matrix is singular",
    );
    // Nothing above wrote a file; a valid run does.
    let (output, out) = calibrate(
        &dir,
        csv,
        &["--model", "mixed", "--item-models", path(&m), "--no-se"],
    );
    assert!(out.exists(), "{}", stderr(&output));
}

#[test]
fn information_of_a_partial_credit_item_is_its_closed_form() {
    let dir = scratch("irt-information-gpcm");
    let (_, out) = information(
        &dir,
        r#"{"format":"literacy-irt-params","version":2,"model":"mixed","items":[
            {"id":"q1","model":"gpcm","a":1.3,"d":[0.4,-0.2,-1.1]},
            {"id":"q2","model":"pcm","a":1,"b":[-0.5,0.5]}]}"#,
        9,
    );
    let table = rows(&std::fs::read_to_string(&out).expect("table written"));
    assert_eq!(table.len(), 9);
    // GPCM: a^2 Var(k | theta), P(k) ~ exp(a k theta + d_k); the PCM with
    // steps b has d_k = -(b_1 + ... + b_k).
    let info = |a: f64, d: &[f64], t: f64| {
        let z: Vec<f64> = (0..=d.len())
            .map(|k| a * k as f64 * t + if k == 0 { 0.0 } else { d[k - 1] })
            .collect();
        let total: f64 = z.iter().map(|v| v.exp()).sum();
        let p: Vec<f64> = z.iter().map(|v| v.exp() / total).collect();
        let m: f64 = p.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
        let m2: f64 = p.iter().enumerate().map(|(k, p)| (k * k) as f64 * p).sum();
        a * a * (m2 - m * m)
    };
    for row in &table {
        let t = num(&row[0]);
        let (i1, i2) = (info(1.3, &[0.4, -0.2, -1.1], t), info(1.0, &[0.5, 0.0], t));
        assert!((num(&row[1]) - i1).abs() < 1e-12, "{row:?}");
        assert!((num(&row[2]) - i2).abs() < 1e-12, "{row:?}");
        assert!((num(&row[3]) - (i1 + i2)).abs() < 1e-12, "{row:?}");
    }
}

#[test]
fn partial_credit_items_fit_as_the_reference() {
    let dir = scratch("irt-mixed-fit-cli");
    // PyPI mirt's mixed fit written by hand as a parameter file: slopes and
    // steps b (the items 1-3 2PL).
    let reference = reference();
    let items: Vec<String> = (1..=8)
        .map(|j| {
            let a = get(&reference, ("mirt_mixed", j, "a")).0;
            let steps: Vec<String> = (1..)
                .map_while(|k| reference.get(&("mirt_mixed".into(), j, format!("step{k}"))))
                .map(|(b, _)| b.to_string())
                .collect();
            let (model, b) = if j <= 3 {
                ("2pl", steps[0].clone())
            } else {
                ("gpcm", format!("[{}]", steps.join(",")))
            };
            format!(r#"{{"id":"item{j}","model":"{model}","a":{a},"b":{b}}}"#)
        })
        .collect();
    let params = dir.join("mirt.json");
    std::fs::write(
        &params,
        format!(
            r#"{{"format":"literacy-irt-params","version":2,"model":"mixed","items":[{}]}}"#,
            items.join(",")
        ),
    )
    .expect("params written");
    let responses = dir.join("responses.csv");
    std::fs::write(&responses, with_ids("irt_mixed_responses.csv")).expect("written");
    let out = dir.join("fit.csv");
    let run = literacy(&[
        "irt",
        "fit",
        "--params",
        path(&params),
        "--responses",
        path(&responses),
        "--out",
        path(&out),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("8 items: S-X2 on 1311 complete respondents"),
        "{}",
        stderr(&run)
    );
    let text = std::fs::read_to_string(&out).expect("fit written");
    let got = rows(&text);
    // fixtures/fit_polytomous_reference.py: EAP abilities, Wright-Masters
    // mean squares and Kang-Chen S-X2, equal there to PyPI mirt's itemfit.
    let want = rows(&fixture("fit_polytomous_results.csv"));
    assert_eq!(got.len(), 8);
    for (j, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g[0], format!("item{}", j + 1));
        assert_eq!(g[2].split(';').count(), MIXED_STEPS[j], "{g:?}");
        // infit, infit_t, outfit, outfit_t, S-X2, p.
        let pairs = [(10, 1), (11, 2), (12, 3), (13, 4), (5, 6), (7, 8)];
        for (ours, theirs) in pairs {
            let (x, y) = (num(&g[ours]), num(&w[theirs]));
            assert!(
                (x - y).abs() <= 1e-9 * (1.0 + y.abs()),
                "item {}: {g:?} {w:?}",
                j + 1
            );
        }
        // n, df, score groups.
        assert_eq!(
            (&g[4], &g[6], &g[9]),
            (&w[5], &w[7], &w[9]),
            "item {}",
            j + 1
        );
    }
}

/// Category steps of the mixed fixture's items.
const MIXED_STEPS: [usize; 8] = [1, 1, 1, 2, 3, 2, 4, 3];
