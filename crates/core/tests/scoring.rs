//! Scores computed by hand for every item type and rule kind, with the
//! edges: exactly at the cut, all missing, don't know, invalid codes.

mod common;

use common::{base, instrument};
use literacy_core::answer::AnswerError;
use literacy_core::{Instrument, MISSING, ResponseMatrix, ScoreError, Scores, Status};
use literacy_test_support::tolerance::{Tol, assert_close};
use serde_json::json;

/// Item columns in instrument order.
pub const ITEMS: [&str; 8] = ["T1", "T2", "C1", "N1", "MA", "MP", "O1", "O2"];

/// Encodes rows of answer texts (in [`ITEMS`] order) and scores them.
pub fn score_rows(instrument: &Instrument, rows: &[[&str; 8]], thetas: Option<&[f64]>) -> Scores {
    let mut cells = Vec::new();
    for row in rows {
        for (i, text) in row.iter().enumerate() {
            let item = &instrument.items[i];
            assert_eq!(item.id, ITEMS[i]);
            cells.push(
                item.encode(text)
                    .unwrap_or_else(|e| panic!("{}: {e}", item.id)),
            );
        }
    }
    let matrix = ResponseMatrix::from_rows(instrument, &cells).expect("valid cells");
    literacy_core::score(instrument, &matrix, thetas).expect("scorable")
}

/// Sums of fractions of points: equal up to rounding.
const EXACT_SUM: Tol = Tol::abs(1e-12);

const ALL_CORRECT: [&str; 8] = ["1", "2", "2", "8", "1;3", "1;2;3", "5", "1"];

#[test]
fn all_correct_scores_full_points() {
    let ins = instrument(&base());
    let s = score_rows(&ins, &[ALL_CORRECT], None);
    let r = s.get(0);
    assert_eq!(r.dimensions, Some(&[60.0, 40.0][..]));
    assert_eq!(r.total, Some(100.0));
    assert_eq!(r.band, Some(3));
    assert_eq!(r.qualified, Some(true));
    assert_eq!(r.missing, 0);
    assert_eq!(r.status, Status::Scored);
}

#[test]
fn dont_know_is_an_answer_that_scores_zero_and_is_not_missing() {
    let ins = instrument(&base());
    // O2 has no don't-know option: its middle answer earns half a point
    // (descending scale, third of five options: 2/4).
    let s = score_rows(&ins, &[["8", "8", "8", "9999", "8", "8", "8", "3"]], None);
    let r = s.get(0);
    assert_eq!(r.missing, 0);
    assert_eq!(r.status, Status::Scored);
    let dims = r.dimensions.unwrap();
    assert_eq!(dims[0], 0.0);
    assert_close(dims[1], 40.0 * 0.5 / 7.0, EXACT_SUM, "method dimension");
    assert_close(r.total.unwrap(), 20.0 / 7.0, EXACT_SUM, "total");
    assert_eq!(r.band, Some(0));
    assert_eq!(r.qualified, Some(false));
    for (i, item) in ins.items.iter().enumerate().take(7) {
        let cell = item
            .encode(["8", "8", "8", "9999", "8", "8", "8"][i])
            .unwrap();
        assert!(item.is_dont_know(cell), "{}", item.id);
        assert_ne!(cell, MISSING);
    }
}

#[test]
fn exactly_at_the_cut_qualifies_and_just_below_does_not() {
    let ins = instrument(&base());
    // know 5/5 -> 60; method: MP one net hit (1 of 3 points) + O1 fourth of
    // five (0.75) = 1.75/7 -> 10; total exactly 70.
    let at = ["1", "2", "2", "9", "2", "1", "4", "5"];
    // method: MP one net hit + O1 third of five (0.5) = 1.5/7 -> 8.571...
    let below = ["1", "2", "2", "9", "2", "1", "3", "5"];
    let s = score_rows(&ins, &[at, below], None);
    assert_eq!(s.get(0).total, Some(70.0));
    assert_eq!(s.get(0).qualified, Some(true));
    assert_eq!(s.get(0).band, Some(2));
    assert_close(
        s.get(1).total.unwrap(),
        60.0 + 40.0 * 1.5 / 7.0,
        EXACT_SUM,
        "total below the cut",
    );
    assert_eq!(s.get(1).qualified, Some(false));
    assert_eq!(s.get(1).band, Some(1));

    let mut exclusive = base();
    exclusive["rule"]["inclusive"] = json!(false);
    let ins = instrument(&exclusive);
    let s = score_rows(&ins, &[at], None);
    assert_eq!(
        s.get(0).qualified,
        Some(false),
        "an exclusive cut must be exceeded"
    );
}

#[test]
fn all_missing_is_unscorable_never_failed() {
    let ins = instrument(&base());
    let s = score_rows(&ins, &[[""; 8]], None);
    let r = s.get(0);
    assert_eq!(r.status, Status::TooManyMissing);
    assert_eq!(r.missing, 8);
    assert_eq!(r.total, None);
    assert_eq!(r.dimensions, None);
    assert_eq!(r.band, None);
    assert_eq!(r.qualified, None);
    let summary = s.summary();
    assert_eq!(
        (summary.scored, summary.too_many_missing, summary.qualified),
        (0, 1, 0)
    );
}

#[test]
fn missing_up_to_the_limit_counts_as_wrong_and_beyond_it_excludes() {
    let ins = instrument(&base());
    // Three missing (the limit): scored with zero for them.
    let three = ["1", "2", "2", "8", "1;3", "", "", ""];
    let four = ["1", "2", "2", "", "1;3", "", "", ""];
    let s = score_rows(&ins, &[three, four], None);
    assert_eq!(s.get(0).status, Status::Scored);
    assert_eq!(s.get(0).missing, 3);
    assert_close(
        s.get(0).total.unwrap(),
        60.0 + 40.0 * 2.0 / 7.0,
        EXACT_SUM,
        "total with three missing",
    );
    assert_eq!(s.get(1).status, Status::TooManyMissing);
    assert_eq!(s.get(1).missing, 4);

    let mut lenient = base();
    lenient["rule"]["missing"] = json!({"policy": "count_as_wrong"});
    let ins = instrument(&lenient);
    let s = score_rows(&ins, &[[""; 8]], None);
    assert_eq!(s.get(0).status, Status::Scored);
    assert_eq!(s.get(0).total, Some(0.0));
    assert_eq!(s.get(0).qualified, Some(false));
}

#[test]
fn true_false_and_single_choice() {
    let ins = instrument(&base());
    let t1 = ins.items[0].score_table();
    let t2 = ins.items[1].score_table();
    let enc = |i: usize, t: &str| ins.items[i].encode(t).unwrap();
    assert_eq!(t1[usize::from(enc(0, "1"))], 1.0);
    assert_eq!(t1[usize::from(enc(0, "2"))], 0.0);
    assert_eq!(t2[usize::from(enc(1, "2"))], 1.0);
    assert_eq!(t2[usize::from(enc(1, "1"))], 0.0);
    let c1 = ins.items[2].score_table();
    assert_eq!(c1[usize::from(enc(2, "2"))], 2.0);
    assert_eq!(c1[usize::from(enc(2, "1"))], 0.0);
    assert_eq!(c1[usize::from(enc(2, "3"))], 0.0);
}

#[test]
fn multiple_select_all_or_nothing_and_partial_credit() {
    let ins = instrument(&base());
    let points = |i: usize, text: &str| {
        let item = &ins.items[i];
        item.score_table()[usize::from(item.encode(text).unwrap())]
    };
    // MA: key {1, 3}, 2 points, all or nothing; order of picks is irrelevant.
    assert_eq!(points(4, "1;3"), 2.0);
    assert_eq!(points(4, "3;1"), 2.0);
    assert_eq!(points(4, " 3 ; 1 "), 2.0);
    assert_eq!(points(4, "1"), 0.0);
    assert_eq!(points(4, "1;3;4"), 0.0);
    // MP: key {1, 2, 3}, 3 points: points * max(0, hits - wrong) / 3.
    assert_eq!(points(5, "1;2;3"), 3.0);
    assert_eq!(points(5, "1;2"), 2.0);
    assert_eq!(points(5, "1;2;4"), 1.0);
    assert_eq!(points(5, "1;4"), 0.0);
    assert_eq!(points(5, "4"), 0.0);
    assert_eq!(points(5, "1;2;3;4"), 2.0);
    assert_eq!(points(5, "8"), 0.0);
}

#[test]
fn ordinal_scored_by_keyed_direction() {
    let ins = instrument(&base());
    let points = |i: usize, text: &str| {
        let item = &ins.items[i];
        item.score_table()[usize::from(item.encode(text).unwrap())]
    };
    // O1 ascending: (position) / 4.
    for (code, expected) in [
        ("1", 0.0),
        ("2", 0.25),
        ("3", 0.5),
        ("4", 0.75),
        ("5", 1.0),
        ("8", 0.0),
    ] {
        assert_eq!(points(6, code), expected, "O1={code}");
    }
    // O2 descending: the first option scores full points.
    for (code, expected) in [("1", 1.0), ("2", 0.75), ("3", 0.5), ("4", 0.25), ("5", 0.0)] {
        assert_eq!(points(7, code), expected, "O2={code}");
    }
}

#[test]
fn numeric_key_interval_is_inclusive() {
    let ins = instrument(&base());
    let item = &ins.items[3];
    let table = item.score_table();
    for (text, expected) in [
        ("7", 0.0),
        ("8", 1.0),
        ("9", 1.0),
        ("10", 0.0),
        ("0", 0.0),
        ("1000", 0.0),
        ("9999", 0.0),
    ] {
        assert_eq!(
            table[usize::from(item.encode(text).unwrap())],
            expected,
            "N1={text}"
        );
    }
}

#[test]
fn invalid_codes_are_rejected_with_the_reason() {
    let ins = instrument(&base());
    let err = |i: usize, text: &str| ins.items[i].encode(text).unwrap_err();
    let tf = err(0, "3");
    assert_eq!(
        tf.to_string(),
        "not one of the item's codes: 1 (true), 2 (false), 8 (don't know)"
    );
    assert!(matches!(err(2, "x"), AnswerError::NotACode { .. }));
    assert!(matches!(err(6, "0"), AnswerError::NotACode { .. }));
    assert!(
        matches!(err(7, "8"), AnswerError::NotACode { .. }),
        "O2 has no don't know"
    );
    assert_eq!(err(4, "1;1"), AnswerError::Repeated(1));
    assert_eq!(err(4, "1;8"), AnswerError::DontKnowCombined(8));
    assert!(matches!(err(4, "1,3"), AnswerError::NotACode { .. }));
    assert_eq!(err(3, "8.5"), AnswerError::NotAnInteger);
    assert_eq!(
        err(3, "1001").to_string(),
        "outside the range 0..1000, or 9999 for don't know"
    );
    assert!(matches!(err(3, "-1"), AnswerError::OutOfRange { .. }));
    // The same reasons in Chinese, naming the options by their Chinese labels.
    assert_eq!(
        tf.zh(&ins.items[0]),
        "不是本题的选项代码：可选 1（对）、2（错）、8（不知道）"
    );
    assert!(
        err(4, "1,3")
            .zh(&ins.items[4])
            .ends_with("（多选用“;”分隔）"),
        "{}",
        err(4, "1,3").zh(&ins.items[4])
    );
    assert_eq!(
        err(3, "1001").zh(&ins.items[3]),
        "超出范围 0–1000，不知道填 9999"
    );
    assert_eq!(err(4, "1;1").zh(&ins.items[4]), "代码 1 重复");
    assert_eq!(err(3, "8.5").zh(&ins.items[3]), "不是整数");
    for (i, item) in ins.items.iter().enumerate() {
        assert_eq!(item.encode("").unwrap(), MISSING, "{i}");
        assert_eq!(item.encode("  ").unwrap(), MISSING, "{i}");
    }
}

#[test]
fn full_width_answers_read_as_what_they_stand_for() {
    let ins = instrument(&base());
    // Items: T1 true/false, N1 numeric 0..1000, MA multiple select.
    let same = |i: usize, typed: &str, ascii: &str| {
        assert_eq!(
            ins.items[i].encode(typed),
            ins.items[i].encode(ascii),
            "{typed:?} is {ascii:?}"
        );
        assert!(ins.items[i].encode(typed).is_ok(), "{typed:?}");
    };
    same(0, "１", "1");
    same(3, "５００", "500");
    same(3, "\u{3000}９９９９\u{3000}", "9999");
    same(4, "１；３", "1;3");
    assert!(
        ins.items[3].encode("５００.５").is_err(),
        "still not an integer"
    );
    use literacy_core::demographics::Demographic;
    assert_eq!(Demographic::BirthYear.parse("１９８５", 2026), Ok(1985));
    assert_eq!(Demographic::Province.parse("４４", 2026), Ok(44));
    assert_eq!(literacy_core::text::normalize("京-R1"), "京-R1");
}

#[test]
fn cells_decode_back_to_their_answers() {
    let ins = instrument(&base());
    for item in &ins.items {
        for cell in 0..item.cell_count() {
            let cell = cell as u16;
            let text = item.decode(cell);
            match item.encode(&text) {
                Ok(again) => assert_eq!(again, cell, "{} {text:?}", item.id),
                // Only multiple-select bit sets combining don't know with a pick
                // are cells that no answer produces.
                Err(AnswerError::DontKnowCombined(_)) => {}
                Err(e) => panic!("{} cell {cell} decoded to {text:?}: {e}", item.id),
            }
        }
    }
}

#[test]
fn a_matrix_rejects_cells_its_items_cannot_hold() {
    let ins = instrument(&base());
    let mut cells = vec![MISSING; 8];
    cells[0] = 4; // T1 has cells 0..=3
    let err = ResponseMatrix::from_rows(&ins, &cells).unwrap_err();
    assert_eq!(
        err.to_string(),
        "respondent 0, item T1: cell 4 is not a valid answer code"
    );
    assert!(ResponseMatrix::from_rows(&ins, &[0; 9]).is_err());
}

#[test]
fn all_dimensions_rule_needs_every_dimension_to_pass() {
    let mut v = base();
    v["rule"] = json!({"kind": "all_dimensions", "thresholds": {"know": 0.6, "method": 0.5},
                       "missing": {"policy": "count_as_wrong"}});
    let ins = instrument(&v);
    // know 3/5 = 0.6 (T1, T2, N1 right; C1 wrong); method 3.5/7 = 0.5
    // (MA right 2, MP one net hit 1, O1 middle 0.5, O2 last 0).
    let pass = ["1", "2", "1", "8", "1;3", "1", "3", "5"];
    // method 3.25/7 < 0.5 (O1 second of five: 0.25).
    let fail_method = ["1", "2", "1", "8", "1;3", "1", "2", "5"];
    // know 2/5 < 0.6 though method is full.
    let fail_know = ["1", "1", "1", "8", "1;3", "1;2;3", "5", "1"];
    let s = score_rows(&ins, &[pass, fail_method, fail_know], None);
    assert_eq!(s.get(0).qualified, Some(true));
    assert_close(
        s.get(0).total.unwrap(),
        36.0 + 20.0,
        EXACT_SUM,
        "total passing both dimensions",
    );
    assert_eq!(s.get(1).qualified, Some(false));
    assert_eq!(s.get(2).qualified, Some(false));
    assert_eq!(s.get(2).band, None, "no bands in this rule");
}

#[test]
fn irt_cut_rule_uses_the_theta_it_is_given() {
    let mut v = base();
    v["rule"] = json!({"kind": "irt_cut", "cut": 550, "scale": {"intercept": 500, "slope": 100},
                       "missing": {"policy": "unscorable_above", "max_missing": 3}});
    let ins = instrument(&v);
    let rows = [ALL_CORRECT, ALL_CORRECT, ALL_CORRECT, [""; 8]];
    let thetas = [0.5, 0.49, f64::NAN, 3.0];
    let s = score_rows(&ins, &rows, Some(&thetas));
    assert_eq!(s.get(0).qualified, Some(true));
    assert_eq!(s.get(1).qualified, Some(false));
    assert_eq!(s.get(2).qualified, None);
    assert_eq!(s.get(2).status, Status::NoTheta);
    assert_eq!(s.get(2).total, Some(100.0), "scores are still reported");
    assert_eq!(s.get(3).status, Status::TooManyMissing);
    assert_eq!(s.get(3).qualified, None);

    let matrix = ResponseMatrix::missing(&ins, 2);
    assert_eq!(
        literacy_core::score(&ins, &matrix, None).unwrap_err(),
        ScoreError::ThetaRequired
    );
    assert_eq!(
        literacy_core::score(&ins, &matrix, Some(&[0.0])).unwrap_err(),
        ScoreError::ThetaCount { thetas: 1, rows: 2 }
    );
}

#[test]
fn parallel_blocks_give_the_same_scores_as_one_respondent_at_a_time() {
    let ins = instrument(&base());
    let answers = [
        ALL_CORRECT,
        ["1", "2", "2", "9", "2", "1", "4", "5"],
        ["8", "8", "8", "9999", "8", "8", "8", "3"],
        ["", "", "", "", "", "", "", ""],
        ["2", "1", "3", "100", "2;4", "1;4", "1", "2"],
    ];
    // 5,003 respondents cycling through the patterns cross block edges.
    let rows: Vec<[&str; 8]> = (0..5003).map(|i| answers[i % answers.len()]).collect();
    let all = score_rows(&ins, &rows, None);
    for (i, row) in rows.iter().enumerate().step_by(997) {
        let one = score_rows(&ins, &[*row], None);
        assert_eq!(all.get(i), one.get(0), "respondent {i}");
    }
    assert_eq!(all.summary().respondents, 5003);
}

#[test]
fn the_fast_encoder_agrees_with_encode_on_every_input() {
    let national = [
        include_str!("../../../surveys/csl-2026/instrument.json"),
        include_str!("../../../surveys/csl-legacy/instrument.json"),
    ];
    let mut instruments = vec![instrument(&base())];
    instruments.extend(
        national
            .iter()
            .map(|json| Instrument::from_json("national", json).expect("valid")),
    );
    let mut inputs: Vec<String> = (0..=1000).map(|n| n.to_string()).collect();
    inputs.extend(
        [
            "", " ", "08", "008", " 1", "1 ", "1;3", "3;1", "1;1", "1;8", "x", "9999", "-1", "1.0",
            "１",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    for ins in &instruments {
        for item in &ins.items {
            let encoder = literacy_core::answer::Encoder::new(item);
            for input in &inputs {
                assert_eq!(
                    encoder.encode(input.as_bytes()),
                    item.encode(input),
                    "{} {}: {input:?}",
                    ins.id,
                    item.id
                );
            }
            assert_eq!(
                encoder.encode(&[0xff, 0x31]),
                Err(AnswerError::NotUtf8),
                "{}",
                item.id
            );
        }
    }
}
