//! The two instruments under `surveys/` load, have the published designs,
//! and score hand-checkable respondents as their rules say.

use literacy_core::answer::Cell;
use literacy_core::rule::RuleKind;
use literacy_core::{Instrument, Item, ItemKind, MISSING, ResponseMatrix, Scores, Status};

fn load(name: &str, json: &str) -> Instrument {
    Instrument::from_json(name, json).unwrap_or_else(|e| panic!("{e}"))
}

fn csl_2026() -> Instrument {
    load(
        "csl-2026",
        include_str!("../../../surveys/csl-2026/instrument.json"),
    )
}

fn csl_legacy() -> Instrument {
    load(
        "csl-legacy",
        include_str!("../../../surveys/csl-legacy/instrument.json"),
    )
}

/// The cell earning full points.
fn best(item: &Item) -> Cell {
    let table = item.score_table();
    let max = table.iter().copied().fold(0.0, f64::max);
    assert_eq!(max, item.points, "{} can earn its points", item.id);
    table.iter().position(|&p| p == max).expect("a best cell") as Cell
}

/// Don't know, or for an item without it the cell earning nothing.
fn dont_know(item: &Item) -> Cell {
    (1..item.cell_count() as Cell)
        .find(|&c| item.is_dont_know(c))
        .or_else(|| {
            (1..item.cell_count() as Cell).find(|&c| item.score_table()[usize::from(c)] == 0.0)
        })
        .expect("a cell earning nothing")
}

/// Scores one respondent per entry, answering correctly in the dimensions
/// listed and don't know elsewhere.
fn respondents(ins: &Instrument, correct_in: &[&[&str]]) -> Scores {
    let mut cells = Vec::new();
    for dims in correct_in {
        for item in &ins.items {
            cells.push(if dims.contains(&item.dimension.as_str()) {
                best(item)
            } else {
                dont_know(item)
            });
        }
    }
    let matrix = ResponseMatrix::from_rows(ins, &cells).expect("valid cells");
    literacy_core::score(ins, &matrix, None).expect("scorable")
}

#[test]
fn csl_2026_has_the_current_four_part_design() {
    let ins = csl_2026();
    let dims: Vec<(&str, f64)> = ins
        .dimensions
        .iter()
        .map(|d| (d.id.as_str(), d.points))
        .collect();
    assert_eq!(
        dims,
        [
            ("knowledge", 40.0),
            ("method", 20.0),
            ("spirit", 20.0),
            ("application", 20.0)
        ]
    );
    assert!(ins.items.len() >= 48, "{} items", ins.items.len());
    for kind in [
        "true_false",
        "single_choice",
        "multiple_select",
        "ordinal",
        "numeric",
    ] {
        assert!(
            ins.items.iter().any(|i| i.kind.type_name() == kind),
            "no {kind} item"
        );
    }
    for scoring in [
        literacy_core::instrument::MultiScoring::AllOrNothing,
        literacy_core::instrument::MultiScoring::PartialCredit,
    ] {
        assert!(ins.items.iter().any(
            |i| matches!(&i.kind, ItemKind::MultipleSelect { scoring: s, .. } if *s == scoring)
        ));
    }
    assert_eq!(ins.rule.kind, RuleKind::TotalScore { cut: 70.0 });
    assert!(ins.rule.inclusive);
    let bands: Vec<(&str, f64)> = ins
        .rule
        .bands
        .iter()
        .map(|b| (b.id.as_str(), b.from))
        .collect();
    assert_eq!(
        bands,
        [
            ("low", 0.0),
            ("basic", 55.0),
            ("qualified", 70.0),
            ("advanced", 85.0)
        ]
    );
    assert_eq!(ins.languages, ["zh-CN", "en"]);
    assert_eq!(ins.demographics.len(), 6);
}

#[test]
fn csl_2026_totals_follow_the_dimension_weights() {
    let ins = csl_2026();
    let s = respondents(
        &ins,
        &[
            &["knowledge", "method", "spirit", "application"],
            &["knowledge", "method", "application"],
            &["knowledge", "method"],
            &["knowledge"],
            &[],
        ],
    );
    let totals: Vec<f64> = (0..s.len()).map(|r| s.get(r).total.unwrap()).collect();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    for (got, expected) in totals.iter().zip([100.0, 80.0, 60.0, 40.0, 0.0]) {
        assert!(close(*got, expected), "{totals:?}");
    }
    let qualified: Vec<Option<bool>> = (0..s.len()).map(|r| s.get(r).qualified).collect();
    assert_eq!(
        qualified,
        [
            Some(true),
            Some(true),
            Some(false),
            Some(false),
            Some(false)
        ]
    );
    let bands: Vec<Option<usize>> = (0..s.len()).map(|r| s.get(r).band).collect();
    assert_eq!(bands, [Some(3), Some(2), Some(1), Some(0), Some(0)]);
    assert!(
        (0..s.len()).all(|r| s.get(r).missing == 0),
        "don't know is not missing"
    );
}

#[test]
fn csl_2026_excludes_respondents_beyond_its_missing_limit() {
    let ins = csl_2026();
    let limit = max_missing(&ins);
    let mut cells = Vec::new();
    for missing in [limit, limit + 1] {
        for (i, item) in ins.items.iter().enumerate() {
            cells.push(if i < missing { MISSING } else { best(item) });
        }
    }
    let matrix = ResponseMatrix::from_rows(&ins, &cells).unwrap();
    let s = literacy_core::score(&ins, &matrix, None).unwrap();
    assert_eq!(s.get(0).status, Status::Scored);
    assert_eq!(s.get(0).missing as usize, limit);
    assert_eq!(s.get(1).status, Status::TooManyMissing);
    assert_eq!(s.get(1).qualified, None);
}

fn max_missing(ins: &Instrument) -> usize {
    match ins.rule.missing {
        literacy_core::MissingPolicy::UnscorableAbove { max_missing } => max_missing as usize,
        other => panic!("csl-2026 should exclude respondents with many missing: {other:?}"),
    }
}

#[test]
fn csl_legacy_needs_every_part() {
    let ins = csl_legacy();
    let ids: Vec<&str> = ins.dimensions.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["knowledge", "method", "society"]);
    assert!(matches!(ins.rule.kind, RuleKind::AllDimensions { .. }));
    let s = respondents(
        &ins,
        &[
            &["knowledge", "method", "society"],
            &["knowledge", "method"],
            &["knowledge", "society"],
            &["method", "society"],
        ],
    );
    let qualified: Vec<Option<bool>> = (0..s.len()).map(|r| s.get(r).qualified).collect();
    assert_eq!(
        qualified,
        [Some(true), Some(false), Some(false), Some(false)]
    );
}
