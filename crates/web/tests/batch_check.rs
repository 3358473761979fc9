//! The batch check finds exactly the keying errors the simulator injected
//! into its provincial paper batches (its manifest is the reference), and
//! accepts every other row.

use std::collections::{BTreeMap, BTreeSet};

use literacy_core::Instrument;
use literacy_sim::NationalModel;
use literacy_table::Options;
use literacy_web::batch::{self, BatchFileError};

fn instrument() -> Instrument {
    let json = include_str!("../../../surveys/csl-2026/instrument.json");
    Instrument::from_json("csl-2026", json).expect("the instrument loads")
}

#[test]
fn every_injected_error_is_found_and_nothing_else() {
    let instrument = instrument();
    let model = NationalModel::embedded_2023(&instrument).unwrap();
    let round = model.simulate(20_000, 7).unwrap();
    let batches = model.paper_batches(&round);
    assert!(batches.files.len() > 20);
    let mut expected: BTreeMap<&str, BTreeSet<(u64, &str)>> = BTreeMap::new();
    for e in &batches.errors {
        expected
            .entry(e.file.as_str())
            .or_default()
            .insert((e.line as u64, e.column.as_str()));
    }
    let mut kinds = BTreeSet::new();
    for e in &batches.errors {
        kinds.insert(e.kind.as_str());
    }
    assert_eq!(kinds.len(), 5, "the round exercises every kind of error");
    for (file, text) in &batches.files {
        let code: u16 = file
            .trim_start_matches("province-")
            .trim_end_matches(".csv")
            .parse()
            .unwrap();
        let checked =
            batch::check(&instrument, code, text.as_bytes(), &Options::default()).unwrap();
        let found: BTreeSet<(u64, &str)> = checked
            .problems
            .listed()
            .iter()
            .map(|p| (p.line, p.column.as_str()))
            .collect();
        let want = expected.remove(file.as_str()).unwrap_or_default();
        assert_eq!(found, want, "{file}");
        let bad_lines: BTreeSet<u64> = want.iter().map(|(l, _)| *l).collect();
        assert_eq!(checked.rejected(), bad_lines.len(), "{file}");
        assert_eq!(checked.rows, text.lines().count() - 1, "{file}");
        for row in &checked.accepted {
            assert_eq!(row.province, code);
            assert!(!bad_lines.contains(&row.line));
        }
    }
    assert!(
        expected.is_empty(),
        "errors in files not checked: {expected:?}"
    );
}

/// The first provincial batch of a simulated round of 5,000: its province
/// and its text, with the simulator's keying errors.
fn first_batch(instrument: &Instrument) -> (u16, String) {
    let model = NationalModel::embedded_2023(instrument).expect("the model");
    let round = model.simulate(5_000, 3).expect("a round");
    let (file, text) = model.paper_batches(&round).files.swap_remove(0);
    let province = file[9..file.len() - 4]
        .parse()
        .expect("province-<code>.csv");
    (province, text)
}

#[test]
fn accepted_rows_keep_the_answers_as_keyed() {
    let instrument = instrument();
    let (code, text) = &first_batch(&instrument);
    let code = *code;
    let checked = batch::check(&instrument, code, text.as_bytes(), &Options::default()).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let lines: Vec<&str> = text.lines().collect();
    for row in checked.accepted.iter().take(50) {
        let fields: Vec<&str> = lines[row.line as usize - 1].split(',').collect();
        let answers = row.answers(&instrument);
        for (item, value) in header.iter().zip(&fields) {
            if instrument.item_index(item).is_some() {
                match answers.get(*item) {
                    Some(v) => assert_eq!(v, value, "{item}"),
                    None => assert_eq!(value.trim(), "", "{item}"),
                }
            }
        }
        assert_eq!(fields[0], row.respondent_id);
    }
}

#[test]
fn a_stored_respondent_is_reported_not_overwritten() {
    let instrument = instrument();
    let (code, text) = &first_batch(&instrument);
    let code = *code;
    let mut checked =
        batch::check(&instrument, code, text.as_bytes(), &Options::default()).unwrap();
    let accepted = checked.accepted.len();
    let stored = checked.accepted[1].respondent_id.clone();
    let before = checked.problems.listed().len();
    checked.reject_stored(|id| id == stored);
    assert_eq!(checked.accepted.len(), accepted - 1);
    assert_eq!(checked.problems.listed().len(), before + 1);
    assert!(
        checked
            .problems
            .listed()
            .windows(2)
            .all(|w| w[0].line <= w[1].line)
    );
}

#[test]
fn unreadable_files_are_refused_with_the_reason() {
    let instrument = instrument();
    match batch::check(
        &instrument,
        11,
        b"respondent_id,province\nR1,11\n",
        &Options::default(),
    ) {
        Err(BatchFileError::Header { message: m, .. }) => {
            assert!(m.contains("missing columns"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    let model = NationalModel::embedded_2023(&instrument).unwrap();
    let round = model.simulate(2_000, 5).unwrap();
    let (_, text) = &model.paper_batches(&round).files[0];
    let misspelt = text.replacen(",mode", ",mode,wieght", 1);
    match batch::check(&instrument, 11, misspelt.as_bytes(), &Options::default()) {
        Err(BatchFileError::Header { message: m, .. }) => assert!(
            m.starts_with("unknown column: wieght;") && m.contains("stratum, psu, weight"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    match batch::check(&instrument, 11, b"a,a\n1,2\n", &Options::default()) {
        Err(BatchFileError::Header { message: m, .. }) => {
            assert!(m.contains("appears twice"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    let header = model.answers_header().join(",");
    assert_eq!(
        batch::check(
            &instrument,
            11,
            format!("{header}\n").as_bytes(),
            &Options::default()
        ),
        Err(BatchFileError::Empty)
    );
}

/// `text` with the design columns appended: `design(i)` gives data row i's
/// (stratum, psu, weight) fields as keyed.
fn with_design(text: &str, design: impl Fn(usize) -> [String; 3]) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        out.push_str(line);
        if i == 0 {
            out.push_str(",stratum,psu,weight\n");
        } else {
            out.push_str(&format!(",{}\n", design(i - 1).join(",")));
        }
    }
    out
}

#[test]
fn design_columns_are_kept_and_checked() {
    let instrument = instrument();
    let (code, text) = &first_batch(&instrument);
    let code = *code;
    let clean = batch::check(&instrument, code, text.as_bytes(), &Options::default()).unwrap();
    // Every row with a design: kept as keyed (the weight as its number).
    let designed = with_design(text, |i| {
        [
            format!(" {code}-u{} ", i % 2),
            format!("{code}{:03}", i / 10),
            format!("{}.50", 1000 + i),
        ]
    });
    let checked =
        batch::check(&instrument, code, designed.as_bytes(), &Options::default()).unwrap();
    assert_eq!(checked.accepted.len(), clean.accepted.len());
    let lines = |c: &batch::CheckedBatch| {
        c.problems
            .listed()
            .iter()
            .map(|p| p.line)
            .collect::<Vec<_>>()
    };
    assert_eq!(lines(&checked), lines(&clean));
    for row in &checked.accepted {
        let i = row.line as usize - 2;
        let stored = row.demographics();
        assert_eq!(stored["stratum"], format!("{code}-u{}", i % 2));
        assert_eq!(stored["psu"], format!("{code}{:03}", i / 10));
        assert_eq!(stored["weight"], format!("{}.5", 1000 + i));
        assert_eq!(
            stored["sex"],
            clean
                .accepted
                .iter()
                .find(|r| r.line == row.line)
                .unwrap()
                .demographics()["sex"]
        );
    }
    // Without the columns nothing of a design is stored.
    assert!(!clean.accepted[0].demographics().contains_key("weight"));
    // A missing, zero, negative or non-numeric weight, an empty PSU, a
    // stratum label too long: each named with its line and column.
    let long = "s".repeat(65);
    let bad = with_design(text, |i| match i {
        0 => ["a".into(), "p".into(), String::new()],
        1 => ["a".into(), "p".into(), "0".into()],
        2 => ["a".into(), "p".into(), "-3".into()],
        3 => ["a".into(), "p".into(), "NaN".into()],
        4 => ["a".into(), " ".into(), "2".into()],
        5 => [long.clone(), "p".into(), "2".into()],
        _ => ["a".into(), "p".into(), "2".into()],
    });
    let checked = batch::check(&instrument, code, bad.as_bytes(), &Options::default()).unwrap();
    let found: Vec<(u64, &str, &str)> = checked
        .problems
        .listed()
        .iter()
        .filter(|p| batch::DESIGN.contains(&p.column.as_str()))
        .map(|p| (p.line, p.column.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (2, "weight", ""),
            (3, "weight", "0"),
            (4, "weight", "-3"),
            (5, "weight", "NaN"),
            (6, "psu", " "),
            (7, "stratum", long.as_str()),
        ]
    );
    let messages: Vec<&str> = checked
        .problems
        .listed()
        .iter()
        .filter(|p| batch::DESIGN.contains(&p.column.as_str()))
        .map(|p| p.message.as_str())
        .collect();
    assert!(
        messages[0].contains("every row gives its weight"),
        "{messages:?}"
    );
    assert!(messages[1].contains("positive number"), "{messages:?}");
    assert!(messages[5].contains("longer than 64"), "{messages:?}");
}
