//! A simulated national round, weighted and estimated by the engine,
//! recovers the simulator's known population truth within its intervals;
//! and the progress report (targets, gaps, change since an earlier round)
//! is assembled from those estimates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn literacy(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_literacy"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the literacy binary runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Simulates a round of `n` respondents into a scratch directory.
fn round(name: &str, n: &str, seed: &str) -> PathBuf {
    let dir = root().join("target/test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    literacy(
        &root(),
        &[
            "simulate",
            "--respondents",
            n,
            "--seed",
            seed,
            "--out",
            dir.to_str().expect("UTF-8"),
        ],
    );
    dir
}

const MARGINS: [&str; 10] = [
    "--margin",
    "margin_province.csv",
    "--margin",
    "margin_sex.csv",
    "--margin",
    "margin_urban_rural.csv",
    "--margin",
    "margin_age_group.csv",
    "--margin",
    "margin_education.csv",
];

fn estimate(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "estimate",
        "--data",
        "microdata.csv",
        "--weight",
        "weight",
        "--strata",
        "stratum",
        "--psu",
        "psu",
        "--outcome",
        "qualified",
        "--lonely-psu",
        "adjust",
    ];
    args.extend(MARGINS);
    args.extend_from_slice(extra);
    serde_json::from_slice(&literacy(dir, &args).stdout).expect("JSON")
}

/// `truth.csv`: (variable, category) -> true population share.
fn truth(dir: &Path) -> Vec<(String, String, f64)> {
    let text = std::fs::read_to_string(dir.join("truth.csv")).expect("truth");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (v, c, s) = (col("variable"), col("category"), col("share"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[v].to_owned(),
                f[c].to_owned(),
                f[s].parse().expect("share"),
            )
        })
        .collect()
}

#[test]
fn raked_estimates_recover_the_known_truth() {
    let dir = round("recover", "100000", "11");
    let truth = truth(&dir);
    let mut z_scores = Vec::new();
    let national = estimate(&dir, &[]);
    let e = &national["estimates"][0];
    let t = truth
        .iter()
        .find(|(v, _, _)| v == "national")
        .expect("national truth")
        .2;
    z_scores.push((
        "national".to_owned(),
        (e["estimate"].as_f64().unwrap() - t) / e["se"].as_f64().unwrap(),
    ));
    for by in ["region", "sex", "urban_rural", "age_group", "education"] {
        let out = estimate(&dir, &["--by", by]);
        for e in out["estimates"].as_array().expect("estimates") {
            let label = e["domain"][by].as_str().expect("label");
            let t = truth
                .iter()
                .find(|(v, c, _)| v == by && c == label)
                .unwrap_or_else(|| panic!("no truth for {by} {label}"))
                .2;
            let z = (e["estimate"].as_f64().unwrap() - t) / e["se"].as_f64().unwrap();
            z_scores.push((format!("{by}={label}"), z));
        }
    }
    assert!(z_scores.len() >= 18, "{z_scores:?}");
    // Every estimate within 3.5 standard errors of the truth, and at least
    // 80% of the truths inside the 95% intervals.
    for (name, z) in &z_scores {
        assert!(
            z.abs() < 3.5,
            "{name}: {z:.2} standard errors from the truth; all: {z_scores:?}"
        );
    }
    let inside = z_scores.iter().filter(|(_, z)| z.abs() < 1.96).count();
    assert!(
        inside * 5 >= z_scores.len() * 4,
        "{inside} of {} within 1.96 SE: {z_scores:?}",
        z_scores.len()
    );
}

#[test]
fn progress_against_targets_gaps_and_an_earlier_round() {
    let dir = round("progress", "20000", "5");
    let surveys = root().join("surveys");
    let targets = surveys.join("targets.json");
    let series = surveys.join("national-series.json");
    let common = [
        "--year",
        "2026",
        "--targets",
        targets.to_str().unwrap(),
        "--series",
        series.to_str().unwrap(),
        "--gap",
        "urban_rural:1-2",
        "--gap",
        "region:*",
    ];
    let now = estimate(&dir, &common);
    let e = &now["estimates"][0];
    let plans = e["progress"]["targets"].as_array().expect("targets");
    let find = |plan: &str| plans.iter().find(|p| p["plan"] == plan).expect("plan");
    assert_eq!(find("cast-2018")["due"]["target"]["share"], 0.10);
    assert_eq!(find("cast-2018")["next"]["target"]["share"], 0.20);
    assert_eq!(find("state-council-2021")["due"]["target"]["share"], 0.15);
    assert_eq!(find("state-council-2021")["next"]["target"]["share"], 0.25);
    let due = &find("state-council-2021")["due"];
    let gap = due["gap"].as_f64().unwrap();
    assert!((gap - (e["estimate"].as_f64().unwrap() - 0.15)).abs() < 1e-15);
    assert_eq!(
        e["progress"]["projections"]
            .as_array()
            .expect("projections")
            .len(),
        4
    );

    // The urban-rural gap is the difference of the two domain estimates.
    let by = estimate(&dir, &["--by", "urban_rural"]);
    let urban = by["estimates"][0]["estimate"].as_f64().unwrap();
    let rural = by["estimates"][1]["estimate"].as_f64().unwrap();
    let gaps = now["gaps"].as_array().expect("gaps");
    let ur = gaps
        .iter()
        .find(|g| g["variable"] == "urban_rural")
        .expect("urban-rural gap");
    assert!((ur["estimate"].as_f64().unwrap() - (urban - rural)).abs() < 1e-12);
    assert!(ur["se"].as_f64().unwrap() > 0.0);
    let regions: Vec<&str> = gaps
        .iter()
        .filter(|g| g["variable"] == "region")
        .map(|g| g["a"].as_str().unwrap())
        .collect();
    assert_eq!(regions, ["central", "east", "west"]);

    // Against an earlier round (another simulated sample): the change and
    // its standard error for independent samples.
    let earlier_dir = round("progress-earlier", "20000", "6");
    let earlier = estimate(&earlier_dir, &common);
    let earlier_file = dir.join("earlier.json");
    std::fs::write(&earlier_file, serde_json::to_vec(&earlier).unwrap()).unwrap();
    let mut with_previous: Vec<&str> = common.to_vec();
    with_previous.extend(["--previous", earlier_file.to_str().unwrap()]);
    let again = estimate(&dir, &with_previous);
    let change = &again["estimates"][0]["progress"]["change"];
    let (a, sa) = (e["estimate"].as_f64().unwrap(), e["se"].as_f64().unwrap());
    let (b, sb) = (
        earlier["estimates"][0]["estimate"].as_f64().unwrap(),
        earlier["estimates"][0]["se"].as_f64().unwrap(),
    );
    assert!((change["difference"].as_f64().unwrap() - (a - b)).abs() < 1e-15);
    assert!((change["se"].as_f64().unwrap() - (sa * sa + sb * sb).sqrt()).abs() < 1e-15);
    let gap_change = &again["gaps"][0]["change"];
    assert!(gap_change["difference"].is_f64(), "{}", again["gaps"][0]);
}
