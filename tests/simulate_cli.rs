//! `literacy simulate` end to end: the real binary writes a round whose
//! files have the promised columns, whose answers `literacy score` accepts
//! and scores as the microdata says, whose margins agree, whose paper
//! batches carry exactly the keying errors of their manifest, and whose
//! weighted national share lands near the truth.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Output;

use literacy_core::Instrument;
use literacy_core::demographics::{self, Demographic};
use literacy_test_support::cmd::{self, stderr};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory under `target/`.
fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target").join("test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn literacy(args: &[&str]) -> Output {
    cmd::run(env!("CARGO_BIN_EXE_literacy"), Some(&root()), args)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn simulate(out: &Path, respondents: usize, seed: u64, extra: &[&str]) {
    let (n, s) = (respondents.to_string(), seed.to_string());
    let mut args = vec![
        "simulate",
        "--respondents",
        &n,
        "--seed",
        &s,
        "--out",
        path(out),
    ];
    args.extend_from_slice(extra);
    let output = literacy(&args);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// A CSV file as its header and rows of fields (rows may be short).
fn read(file: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// The rows of a CSV file as maps from column to value.
fn records(file: &Path) -> Vec<HashMap<String, String>> {
    let (header, rows) = read(file);
    rows.into_iter()
        .map(|row| header.iter().cloned().zip(row).collect())
        .collect()
}

fn csl_2026() -> Instrument {
    Instrument::from_json(
        "csl-2026",
        include_str!("../surveys/csl-2026/instrument.json"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

const MICRODATA: &str = "respondent_id,stratum,psu,stratum_psus,base_weight,weight,province,region,urban_rural,sex,age_group,birth_year,education,occupation,mode,theta,total,qualified";
const MARGINS: [&str; 5] = ["province", "urban_rural", "sex", "age_group", "education"];

#[test]
fn a_round_is_written_with_every_file_and_column() {
    let dir = scratch("simulate-round");
    let out = dir.join("round");
    simulate(&out, 3000, 4, &["--paper-batches"]);
    let instrument = csl_2026();

    // answers.csv: the format of `literacy score`, with demographics and mode.
    let (header, rows) = read(&out.join("answers.csv"));
    let mut expected = vec!["respondent_id".to_owned()];
    expected.extend(instrument.items.iter().map(|i| i.id.clone()));
    expected.extend(
        "province urban_rural sex birth_year education occupation mode"
            .split(' ')
            .map(str::to_owned),
    );
    assert_eq!(header, expected);
    assert_eq!(rows.len(), 3000);
    for row in &rows {
        for (k, d) in demographics::ALL.iter().enumerate() {
            let value = &row[1 + instrument.items.len() + k];
            assert!(d.parse(value, instrument.fieldwork_year).is_ok(), "{value}");
        }
        assert!(["paper", "tablet", "online"].contains(&row[row.len() - 1].as_str()));
    }

    // microdata.csv
    let (header, micro) = read(&out.join("microdata.csv"));
    assert_eq!(header.join(","), MICRODATA);
    assert_eq!(micro.len(), 3000);

    // `literacy score` accepts the answers and agrees with the microdata.
    let scored = dir.join("scored.csv");
    let output = literacy(&[
        "score",
        "--instrument",
        "surveys/csl-2026",
        "--responses",
        path(&out.join("answers.csv")),
        "--out",
        path(&scored),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let scored = records(&scored);
    let micro = records(&out.join("microdata.csv"));
    for (s, m) in scored.iter().zip(&micro) {
        assert_eq!(s["respondent_id"], m["respondent_id"]);
        assert_eq!(s["qualified"], m["qualified"]);
        assert_eq!(s["total"], m["total"]);
        assert_eq!(s["province"], m["province"]);
    }

    // Margins: one file per variable, equal grand totals, the microdata's codes.
    let mut totals = Vec::new();
    for variable in MARGINS {
        let (header, rows) = read(&out.join(format!("margin_{variable}.csv")));
        assert_eq!(header, [variable, "total"]);
        let total: u64 = rows
            .iter()
            .map(|r| r[1].parse::<u64>().expect("count"))
            .sum();
        totals.push(total);
        for m in &micro {
            assert!(
                rows.iter().any(|r| r[0] == m[variable]),
                "{variable} {} has a margin",
                m[variable]
            );
        }
    }
    assert!(totals.windows(2).all(|w| w[0] == w[1]), "{totals:?}");
    assert!((900_000_000..1_100_000_000).contains(&totals[0]));

    // Truth: the nation, every published group with its published share,
    // occupations and provinces.
    let truth = records(&out.join("truth.csv"));
    assert_eq!(truth.len(), 1 + 2 + 2 + 3 + 5 + 5 + 9 + 31);
    let published: Vec<_> = truth
        .iter()
        .filter(|t| !t["published"].is_empty())
        .collect();
    assert_eq!(published.len(), 18);
    for t in &published {
        let share: f64 = t["share"].parse().expect("share");
        let target: f64 = t["published"].parse().expect("published");
        assert!((share - target).abs() < 0.003, "{t:?}");
    }
    let national = &truth[0];
    assert_eq!(
        (national["variable"].as_str(), national["category"].as_str()),
        ("national", "all")
    );
    assert_eq!(national["population"].parse::<u64>().ok(), Some(totals[0]));

    for file in ["items.csv", "strata.csv"] {
        assert!(out.join(file).is_file(), "{file}");
    }
}

#[test]
fn paper_batches_carry_the_errors_of_their_manifest() {
    let out = scratch("simulate-batches");
    simulate(&out, 4000, 8, &["--paper-batches"]);
    let instrument = csl_2026();
    let year = instrument.fieldwork_year;
    let manifest = records(&out.join("batches").join("manifest.csv"));
    let mut kinds = BTreeMap::<String, usize>::new();
    let mut files = 0;
    for entry in std::fs::read_dir(out.join("batches")).expect("batches") {
        let file = entry.expect("entry").path();
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        if name == "manifest.csv" {
            continue;
        }
        files += 1;
        let province = name
            .strip_prefix("province-")
            .and_then(|n| n.strip_suffix(".csv"))
            .expect("province-<code>.csv");
        let (header, rows) = read(&file);
        let column = |c: &str| header.iter().position(|h| h == c).expect("column");
        let errors: BTreeMap<usize, &HashMap<String, String>> = manifest
            .iter()
            .filter(|e| e["file"] == name)
            .map(|e| (e["line"].parse::<usize>().expect("line"), e))
            .collect();
        let mut seen = HashMap::<String, usize>::new();
        for (k, row) in rows.iter().enumerate() {
            let line = k + 2;
            let id = &row[0];
            let first = *seen.entry(id.clone()).or_insert(line);
            let Some(e) = errors.get(&line) else {
                // A clean row: complete, valid, of this province, keyed once.
                assert_eq!(row.len(), header.len(), "{name}:{line}");
                assert_eq!(row[column("province")], province, "{name}:{line}");
                assert_eq!(first, line, "{name}:{line} is a duplicate");
                for (i, item) in instrument.items.iter().enumerate() {
                    assert!(item.encode(&row[1 + i]).is_ok(), "{name}:{line}");
                }
                for d in demographics::ALL {
                    assert!(d.parse(&row[column(d.id())], year).is_ok(), "{name}:{line}");
                }
                continue;
            };
            assert_eq!(&e["respondent_id"], id);
            *kinds.entry(e["error"].clone()).or_default() += 1;
            let at = |c: &str| row.get(column(c)).cloned().unwrap_or_default();
            match e["error"].as_str() {
                "invalid_code" => {
                    let c = &e["column"];
                    assert_eq!(&at(c), &e["value"]);
                    let rejected = match Demographic::from_id(c) {
                        Some(d) => d.parse(&e["value"], year).is_err(),
                        None => {
                            let item = instrument.item_index(c).expect("an item");
                            instrument.items[item].encode(&e["value"]).is_err()
                        }
                    };
                    assert!(rejected, "{e:?}");
                }
                "missing_value" => assert_eq!(at(&e["column"]), "", "{e:?}"),
                "missing_fields" => {
                    assert!(row.len() < header.len(), "{e:?}");
                    assert_eq!(header[row.len()], e["column"]);
                }
                "duplicate_respondent" => {
                    assert!(first < line, "{e:?}");
                    assert_eq!(row, &rows[first - 2], "{e:?}");
                }
                "other_province" => {
                    assert_ne!(at("province"), province);
                    assert_eq!(at("province"), e["value"]);
                }
                other => panic!("unknown error kind {other}"),
            }
        }
        assert_eq!(
            errors.keys().filter(|&&l| l > rows.len() + 1).count(),
            0,
            "{name}: manifest lines beyond the file"
        );
    }
    assert_eq!(files, 31, "one batch per province");
    // Every province has every kind (two invalid codes: an item and a demographic).
    assert_eq!(kinds.get("invalid_code"), Some(&62), "{kinds:?}");
    for kind in [
        "missing_value",
        "missing_fields",
        "duplicate_respondent",
        "other_province",
    ] {
        assert_eq!(kinds.get(kind), Some(&31), "{kind}: {kinds:?}");
    }
    assert_eq!(manifest.len(), 31 * 6);
}

#[test]
fn the_weighted_national_share_of_100000_respondents_is_near_the_truth() {
    let out = scratch("simulate-hajek");
    simulate(&out, 100_000, 12, &[]);
    let micro = records(&out.join("microdata.csv"));
    assert_eq!(micro.len(), 100_000);
    let (mut weight, mut qualified) = (0.0, 0.0);
    for m in &micro {
        let w: f64 = m["weight"].parse().expect("weight");
        let base: f64 = m["base_weight"].parse().expect("base weight");
        assert!(w >= base * 0.999 && base > 0.0);
        weight += w;
        if m["qualified"] == "1" {
            qualified += w;
        }
    }
    let estimate = qualified / weight;
    let truth = records(&out.join("truth.csv"));
    let national: f64 = truth[0]["share"].parse().expect("share");
    assert!(
        (estimate - national).abs() < 0.01,
        "Hajek {estimate} vs truth {national}"
    );
    // The weights estimate the number of adults.
    let (_, rows) = read(&out.join("margin_sex.csv"));
    let adults: f64 = rows
        .iter()
        .map(|r| r[1].parse::<f64>().expect("total"))
        .sum();
    assert!((weight / adults - 1.0).abs() < 0.02, "{weight} vs {adults}");
}

#[test]
fn a_seed_gives_the_same_files_and_the_structure_can_be_given() {
    let dir = scratch("simulate-seed");
    simulate(&dir.join("a"), 1500, 21, &[]);
    simulate(
        &dir.join("b"),
        1500,
        21,
        &["--structure", "surveys/structure-2023.json"],
    );
    simulate(&dir.join("c"), 1500, 22, &[]);
    let bytes = |run: &str, file: &str| std::fs::read(dir.join(run).join(file)).expect("file");
    for file in [
        "answers.csv",
        "microdata.csv",
        "truth.csv",
        "margin_province.csv",
    ] {
        assert!(bytes("a", file) == bytes("b", file), "{file}");
    }
    assert!(bytes("a", "answers.csv") != bytes("c", "answers.csv"));
    assert!(bytes("a", "truth.csv") == bytes("c", "truth.csv"));

    // A broken structure file is a clear error naming the field.
    let broken = dir.join("broken.json");
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../surveys/structure-2023.json")).expect("JSON");
    v["population"]["male_share"] = 1.5.into();
    std::fs::write(&broken, v.to_string()).expect("written");
    let output = literacy(&[
        "simulate",
        "--out",
        path(&dir.join("d")),
        "--structure",
        path(&broken),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("population.male_share"),
        "{}",
        stderr(&output)
    );
}
