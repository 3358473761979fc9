//! Online answers: the JSON values a respondent's client sends, checked
//! against the instrument and turned into the canonical text every answer
//! is stored as (the same text a paper batch carries), so any round can be
//! re-scored later from what was stored.

use std::borrow::Cow;
use std::collections::BTreeMap;

use literacy_core::{Instrument, MISSING};
use serde_json::{Map, Value};

/// Why an answer is refused; the message names the item and what it allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("item {item}: {message}")]
pub struct AnswerProblem {
    /// The item id as sent.
    pub item: String,
    /// What is wrong and which values are allowed.
    pub message: String,
}

/// Checks `answers` (`{"<item_id>": value}`) and returns them as stored:
/// item id to canonical answer text, `None` for `null` or `""` ("no
/// answer", kept so a save can clear an earlier answer).
///
/// A value is a code (`2` or `"2"`), a list of codes for a multiple-select
/// item (`[1, 3]` or `"1;3"`), or a number for a numeric item.
pub fn check(
    instrument: &Instrument,
    answers: &Map<String, Value>,
) -> Result<BTreeMap<String, Option<String>>, Vec<AnswerProblem>> {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for (id, value) in answers {
        let Some(index) = instrument.item_index(id) else {
            problems.push(AnswerProblem {
                item: id.clone(),
                message: format!(
                    "there is no such item in instrument {} {}",
                    instrument.id, instrument.version
                ),
            });
            continue;
        };
        let item = &instrument.items[index];
        let text = match text_of(value) {
            Ok(text) => text,
            Err(message) => {
                problems.push(AnswerProblem {
                    item: id.clone(),
                    message,
                });
                continue;
            }
        };
        match item.encode(&text) {
            Ok(MISSING) => {
                out.insert(id.clone(), None);
            }
            Ok(cell) => {
                out.insert(id.clone(), Some(item.decode(cell)));
            }
            Err(e) => problems.push(AnswerProblem {
                item: id.clone(),
                message: format!("{value} is {e}"),
            }),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The answer text of one JSON value (borrowed when the client sent text).
fn text_of(value: &Value) -> Result<Cow<'_, str>, String> {
    match value {
        Value::Null => Ok(Cow::Borrowed("")),
        Value::String(s) => Ok(Cow::Borrowed(s)),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Cow::Owned(n.to_string())),
        Value::Number(n) => Err(format!("{n} is not a whole number")),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p {
                Value::Number(n) if n.is_u64() => Ok(n.to_string()),
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("{other} in a list is not a code")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|codes| Cow::Owned(codes.join(";"))),
        Value::Bool(_) | Value::Object(_) => Err(format!(
            "{value} is not an answer: send a code, a list of codes or a number"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn instrument() -> Instrument {
        let json = include_str!("../../../surveys/csl-2026/instrument.json");
        Instrument::from_json("csl-2026", json).unwrap()
    }

    fn first(instrument: &Instrument, kind: &str) -> String {
        instrument
            .items
            .iter()
            .find(|i| i.kind.type_name() == kind)
            .map(|i| i.id.clone())
            .unwrap_or_else(|| panic!("no {kind} item"))
    }

    #[test]
    fn codes_lists_and_clears_are_stored_as_canonical_text() {
        let ins = instrument();
        let tf = first(&ins, "true_false");
        let multi = first(&ins, "multiple_select");
        let mut answers = Map::new();
        answers.insert(tf.clone(), json!(1));
        answers.insert(multi.clone(), json!(["2", 1]));
        let stored = check(&ins, &answers).unwrap();
        assert_eq!(stored[&tf].as_deref(), Some("1"));
        assert_eq!(stored[&multi].as_deref(), Some("1;2"));
        let mut clear = Map::new();
        clear.insert(tf.clone(), Value::Null);
        assert_eq!(check(&ins, &clear).unwrap()[&tf], None);
    }

    #[test]
    fn full_width_answers_are_stored_as_the_codes_they_stand_for() {
        let ins = instrument();
        let tf = first(&ins, "true_false");
        let multi = first(&ins, "multiple_select");
        let mut answers = Map::new();
        answers.insert(tf.clone(), json!("１"));
        answers.insert(multi.clone(), json!("２；１"));
        let stored = check(&ins, &answers).unwrap();
        assert_eq!(stored[&tf].as_deref(), Some("1"));
        assert_eq!(stored[&multi].as_deref(), Some("1;2"));
    }

    #[test]
    fn a_value_outside_the_codes_names_the_item_and_the_allowed_values() {
        let ins = instrument();
        let tf = first(&ins, "true_false");
        let mut answers = Map::new();
        answers.insert(tf.clone(), json!(5));
        answers.insert("nope".into(), json!(1));
        answers.insert(first(&ins, "single_choice"), json!({"a": 1}));
        let problems = check(&ins, &answers).unwrap_err();
        assert_eq!(problems.len(), 3);
        let p = problems.iter().find(|p| p.item == tf).unwrap();
        assert!(
            p.message.contains("1 (true)") && p.message.contains("8 (don't know)"),
            "{}",
            p.message
        );
        assert!(
            problems
                .iter()
                .any(|p| p.item == "nope" && p.message.contains("no such item"))
        );
    }
}
