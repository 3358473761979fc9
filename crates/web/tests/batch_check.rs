//! The batch check finds exactly the keying errors the simulator injected
//! into its provincial paper batches (its manifest is the reference), and
//! accepts every other row.

use std::collections::{BTreeMap, BTreeSet};

use literacy_core::Instrument;
use literacy_sim::NationalModel;
use literacy_web::batch::{self, BatchError};

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
        let checked = batch::check(&instrument, code, text.as_bytes()).unwrap();
        let found: BTreeSet<(u64, &str)> = checked
            .problems
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

#[test]
fn accepted_rows_keep_the_answers_as_keyed() {
    let instrument = instrument();
    let model = NationalModel::embedded_2023(&instrument).unwrap();
    let round = model.simulate(5_000, 3).unwrap();
    let batches = model.paper_batches(&round);
    let (file, text) = &batches.files[0];
    let code: u16 = file[9..file.len() - 4].parse().unwrap();
    let checked = batch::check(&instrument, code, text.as_bytes()).unwrap();
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
    let model = NationalModel::embedded_2023(&instrument).unwrap();
    let round = model.simulate(5_000, 3).unwrap();
    let batches = model.paper_batches(&round);
    let (file, text) = &batches.files[0];
    let code: u16 = file[9..file.len() - 4].parse().unwrap();
    let mut checked = batch::check(&instrument, code, text.as_bytes()).unwrap();
    let accepted = checked.accepted.len();
    let stored = checked.accepted[1].respondent_id.clone();
    let before = checked.problems.len();
    checked.reject_stored(|id| id == stored);
    assert_eq!(checked.accepted.len(), accepted - 1);
    assert_eq!(checked.problems.len(), before + 1);
    assert!(checked.problems.windows(2).all(|w| w[0].line <= w[1].line));
}

#[test]
fn unreadable_files_are_refused_with_the_reason() {
    let instrument = instrument();
    match batch::check(&instrument, 11, b"respondent_id,province\nR1,11\n") {
        Err(BatchError::Header(m)) => assert!(m.contains("missing columns"), "{m}"),
        other => panic!("{other:?}"),
    }
    match batch::check(&instrument, 11, b"a,a\n1,2\n") {
        Err(BatchError::Header(m)) => assert!(m.contains("appears twice"), "{m}"),
        other => panic!("{other:?}"),
    }
    let model = NationalModel::embedded_2023(&instrument).unwrap();
    let header = model.answers_header().join(",");
    assert_eq!(
        batch::check(&instrument, 11, format!("{header}\n").as_bytes()),
        Err(BatchError::Empty)
    );
}
