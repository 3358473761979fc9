//! A small instrument with one item of every type, whose scores are easy to
//! compute by hand.
//!
//! Dimensions: `know` (points 60; raw max T1 1 + T2 1 + C1 2 + N1 1 = 5) and
//! `method` (points 40; raw max MA 2 + MP 3 + O1 1 + O2 1 = 7), so
//! total = 60 * know_raw / 5 + 40 * method_raw / 7.

use literacy_core::{Instrument, ResponseMatrix, Scores};
use serde_json::{Value, json};

/// Item columns in instrument order.
pub const ITEMS: [&str; 8] = ["T1", "T2", "C1", "N1", "MA", "MP", "O1", "O2"];

fn text(zh: &str, en: &str) -> Value {
    json!({"zh-CN": zh, "en": en})
}

fn options(codes: &[u16], dont_know: bool) -> Value {
    let mut list: Vec<Value> = codes
        .iter()
        .map(|c| json!({"code": c, "label": text(&format!("选项{c}"), &format!("option {c}"))}))
        .collect();
    if dont_know {
        list.push(json!({"code": 8, "label": text("不知道", "don't know"), "dont_know": true}));
    }
    Value::Array(list)
}

/// The instrument as JSON, to be mutated by tests of validation.
pub fn base() -> Value {
    json!({
        "id": "test-all-types",
        "version": "1",
        "fieldwork_year": 2026,
        "title": text("测试", "Test"),
        "languages": ["zh-CN", "en"],
        "dimensions": [
            {"id": "know", "name": text("知识", "Knowledge"), "points": 60},
            {"id": "method", "name": text("方法", "Method"), "points": 40}
        ],
        "sections": [
            {"id": "p1", "title": text("第一页", "Page 1"), "items": ["T1", "T2", "C1", "N1"]},
            {"id": "p2", "title": text("第二页", "Page 2"), "items": ["MA", "MP", "O1", "O2"]}
        ],
        "items": [
            {"id": "T1", "dimension": "know", "type": "true_false", "text": text("甲", "A"), "key": true, "points": 1},
            {"id": "T2", "dimension": "know", "type": "true_false", "text": text("乙", "B"), "key": false, "points": 1},
            {"id": "C1", "dimension": "know", "type": "single_choice", "text": text("丙", "C"),
             "options": options(&[1, 2, 3], true), "key": 2, "points": 2},
            {"id": "N1", "dimension": "know", "type": "numeric", "text": text("丁", "D"),
             "range": {"min": 0, "max": 1000}, "key": {"min": 8, "max": 9}, "dont_know_code": 9999,
             "unit": text("分钟", "minutes"), "points": 1},
            {"id": "MA", "dimension": "method", "type": "multiple_select", "text": text("戊", "E"),
             "options": options(&[1, 2, 3, 4], true), "key": [1, 3], "scoring": "all_or_nothing", "points": 2},
            {"id": "MP", "dimension": "method", "type": "multiple_select", "text": text("己", "F"),
             "options": options(&[1, 2, 3, 4], true), "key": [1, 2, 3], "scoring": "partial_credit", "points": 3},
            {"id": "O1", "dimension": "method", "type": "ordinal", "text": text("庚", "G"),
             "options": options(&[1, 2, 3, 4, 5], true), "direction": "ascending", "points": 1},
            {"id": "O2", "dimension": "method", "type": "ordinal", "text": text("辛", "H"),
             "options": options(&[1, 2, 3, 4, 5], false), "direction": "descending", "points": 1}
        ],
        "demographics": ["province", "urban_rural", "sex", "birth_year", "education", "occupation"],
        "rule": {
            "kind": "total_score", "cut": 70, "inclusive": true,
            "bands": [
                {"id": "low", "name": text("低", "low"), "from": 0},
                {"id": "basic", "name": text("基础", "basic"), "from": 55},
                {"id": "qualified", "name": text("具备", "qualified"), "from": 70},
                {"id": "advanced", "name": text("较高", "advanced"), "from": 85}
            ],
            "missing": {"policy": "unscorable_above", "max_missing": 3}
        }
    })
}

/// Builds an instrument from JSON, panicking with every problem.
pub fn instrument(value: &Value) -> Instrument {
    match Instrument::from_json("test.json", &value.to_string()) {
        Ok(instrument) => instrument,
        Err(e) => panic!("{e}"),
    }
}

/// Encodes rows of answer texts (in [`ITEMS`] order) and scores them.
pub fn score_rows(instrument: &Instrument, rows: &[[&str; 8]], thetas: Option<&[f64]>) -> Scores {
    let mut cells = Vec::new();
    for row in rows {
        for (i, text) in row.iter().enumerate() {
            let item = &instrument.items[i];
            assert_eq!(item.id, ITEMS[i]);
            cells.push(item.encode(text).unwrap_or_else(|e| panic!("{}: {e}", item.id)));
        }
    }
    let matrix = ResponseMatrix::from_rows(instrument, &cells).unwrap();
    literacy_core::score(instrument, &matrix, thetas).unwrap()
}
