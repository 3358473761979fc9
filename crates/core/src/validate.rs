//! Reading a JSON data file (an instrument, national targets, a published
//! series, a simulation's structure) while collecting every problem, each
//! named by where it is in the file, instead of stopping at the first: one
//! collector for every parser of data files.

use std::fmt;

use serde_json::{Map, Value};

/// One thing wrong with a data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What the problem is about when it is inside one entry (`item K01`),
    /// else `None`.
    pub subject: Option<String>,
    /// The field's path in the file (`items[3].key`; empty for the whole file).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem with the whole file (it is not JSON, say).
    pub fn whole_file(message: impl Into<String>) -> Problem {
        Problem {
            subject: None,
            field: String::new(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(subject) = &self.subject {
            write!(f, "{subject}, ")?;
        }
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "field `{}`: {}", self.field, self.message)
        }
    }
}

/// Writes a file's problems: `SOURCE: invalid WHAT (N problems)`, then one
/// line per problem, each naming the file.
pub fn write_report(
    f: &mut fmt::Formatter<'_>,
    source_name: &str,
    what: &str,
    problems: &[Problem],
) -> fmt::Result {
    let n = problems.len();
    write!(
        f,
        "{source_name}: invalid {what} ({n} problem{})",
        if n == 1 { "" } else { "s" }
    )?;
    for problem in problems {
        write!(f, "\n  {source_name}: {problem}")?;
    }
    Ok(())
}

/// The field path `path.key` (`key` at the top).
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A JSON value described for a message (`the string "x"`, `an array`).
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Collects the problems of one file while a parser walks it, with the
/// checks every parser needs (an object, an array, known keys, a required
/// field, a non-empty string, a finite number), each recording what is
/// wrong where and answering `None`.
#[derive(Debug, Clone, Default)]
pub struct Collector {
    problems: Vec<Problem>,
    subject: Option<String>,
}

impl Collector {
    /// Problems from now on are about `subject` (`None`: the file).
    pub fn set_subject(&mut self, subject: Option<String>) {
        self.subject = subject;
    }

    /// Records that `field` is wrong.
    pub fn problem(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            subject: self.subject.clone(),
            field: field.into(),
            message: message.into(),
        });
    }

    /// Whether nothing is wrong so far.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// Every problem, in the order found.
    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// `value` as an object.
    pub fn object<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.problem(
                    path,
                    format!("expected an object, found {}", describe(other)),
                );
                None
            }
        }
    }

    /// `value` as an object whose keys are all `allowed` (each other key
    /// is a problem).
    pub fn record<'v>(
        &mut self,
        value: &'v Value,
        path: &str,
        allowed: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let map = self.object(value, path)?;
        self.known_keys(map, path, allowed);
        Some(map)
    }

    /// `value` as an array.
    pub fn array<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v Vec<Value>> {
        match value {
            Value::Array(items) => Some(items),
            other => {
                self.problem(
                    path,
                    format!("expected an array, found {}", describe(other)),
                );
                None
            }
        }
    }

    /// The array under `key` of a top-level `map`, required and listing at
    /// least one `what`.
    pub fn list<'v>(
        &mut self,
        map: &'v Map<String, Value>,
        key: &str,
        what: &str,
    ) -> Option<&'v Vec<Value>> {
        let value = self.required(map, "", key)?;
        let list = self.array(value, key)?;
        if list.is_empty() {
            self.problem(key, format!("must list at least one {what}"));
            return None;
        }
        Some(list)
    }

    /// Records every key of `map` that is not `allowed`.
    pub fn known_keys(&mut self, map: &Map<String, Value>, path: &str, allowed: &[&str]) {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                self.problem(
                    join(path, key),
                    format!("unknown field (expected one of: {})", allowed.join(", ")),
                );
            }
        }
    }

    /// The value of `key`, which must be there.
    pub fn required<'v>(
        &mut self,
        map: &'v Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<&'v Value> {
        let value = map.get(key);
        if value.is_none() {
            self.problem(join(path, key), "is required");
        }
        value
    }

    /// The string under `key`, required and not blank.
    pub fn string(&mut self, map: &Map<String, Value>, path: &str, key: &str) -> Option<String> {
        match self.required(map, path, key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::String(_) => {
                self.problem(join(path, key), "must not be empty");
                None
            }
            other => {
                self.problem(
                    join(path, key),
                    format!("expected a string, found {}", describe(other)),
                );
                None
            }
        }
    }

    /// `value` as a finite number.
    pub fn number_value(&mut self, value: &Value, path: &str) -> Option<f64> {
        match value.as_f64() {
            Some(x) if x.is_finite() => Some(x),
            _ => {
                self.problem(
                    path,
                    format!("expected a number, found {}", describe(value)),
                );
                None
            }
        }
    }

    /// The finite number under `key`, required.
    pub fn number(&mut self, map: &Map<String, Value>, path: &str, key: &str) -> Option<f64> {
        let value = self.required(map, path, key)?;
        self.number_value(value, &join(path, key))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn problems_are_collected_with_their_place() {
        let mut c = Collector::default();
        let v = json!({"a": "", "b": 1, "c": "x", "n": "3"});
        let map = c.object(&v, "").expect("object");
        assert_eq!(c.string(map, "", "a"), None);
        assert_eq!(c.string(map, "", "b"), None);
        assert_eq!(c.string(map, "", "c").as_deref(), Some("x"));
        c.set_subject(Some("item K01".into()));
        assert_eq!(c.number(map, "items[0]", "n"), None);
        assert_eq!(c.required(map, "items[0]", "z"), None);
        c.known_keys(map, "", &["a", "b", "c"]);
        let shown: Vec<String> = c.into_problems().iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "field `a`: must not be empty",
                "field `b`: expected a string, found 1",
                "item K01, field `items[0].n`: expected a number, found the string \"3\"",
                "item K01, field `items[0].z`: is required",
                "item K01, field `n`: unknown field (expected one of: a, b, c)",
            ]
        );
    }
}
