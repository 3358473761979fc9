//! The two data files of progress: the national targets
//! (`surveys/targets.json`) and the published national series
//! (`surveys/national-series.json`), validated on load with one message per
//! problem (file, index, field, reason).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::validate::{Collector, Problem, describe};

/// Earliest year a target or a published figure may carry.
pub const MIN_YEAR: i64 = 1990;
/// Latest year a target or a published figure may carry.
pub const MAX_YEAR: i64 = 2100;

/// One national target: the share of citizens with civic scientific
/// literacy that a plan sets for a year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// The plan's id (lower-case letters, digits and `-`).
    pub plan: String,
    /// The year by which the share is to be reached.
    pub year: i32,
    /// The share, as a fraction (0.15 for 15%).
    pub share: f64,
    /// `true`: the plan asks for a share *above* `share` (strictly);
    /// `false`: at least `share`.
    pub above: bool,
    /// Where the target comes from.
    pub source: String,
}

impl Target {
    /// Whether a point value reaches the target (`> share` when `above`,
    /// else `>= share`), without any allowance for sampling error.
    pub fn reached_by(&self, value: f64) -> bool {
        if self.above {
            value > self.share
        } else {
            value >= self.share
        }
    }
}

/// The targets of every plan, as read from a targets file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Targets {
    /// What the file holds, if it says.
    pub description: Option<String>,
    /// The targets in file order.
    pub targets: Vec<Target>,
}

/// The targets of one plan that bear on a round's year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanTargets<'a> {
    /// The plan's id.
    pub plan: &'a str,
    /// The target due: the plan's latest target year at or before the round.
    pub due: Option<&'a Target>,
    /// The next target: the plan's earliest target year after the round.
    pub next: Option<&'a Target>,
}

/// One published national figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// The survey year.
    pub year: i32,
    /// The published share, as a fraction (0.1056 for 10.56%).
    pub share: f64,
    /// Where the figure was published.
    pub source: String,
}

/// The published national shares, sorted by year (one figure per year).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NationalSeries {
    /// What the file holds, if it says.
    pub description: Option<String>,
    /// The figures, by increasing year.
    pub points: Vec<SeriesPoint>,
}

/// A targets or national-series file that failed validation, with every
/// problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TargetsError {
    /// The file the data was read from.
    pub source_name: String,
    /// Every problem, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for TargetsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::validate::write_report(f, &self.source_name, "data", &self.problems)
    }
}

fn valid_plan_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Reads one file, collecting problems (through the shared [`Collector`]).
#[derive(Default)]
struct Reader {
    c: Collector,
}

impl Reader {
    fn problem(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.c.problem(field, message);
    }

    /// Parses the top level: an object with an optional `description` and a
    /// non-empty array under `array`; returns the description and entries.
    fn top<'v>(
        &mut self,
        root: &'v Value,
        array: &str,
        what: &str,
    ) -> (Option<String>, &'v [Value]) {
        let Value::Object(map) = root else {
            self.problem(
                String::new(),
                format!(
                    "expected an object with a `{array}` array, found {}",
                    describe(root)
                ),
            );
            return (None, &[]);
        };
        for key in map.keys() {
            if key != "description" && key != array {
                self.problem(
                    key.clone(),
                    format!("unknown field (expected `description` or `{array}`)"),
                );
            }
        }
        let description = match map.get("description") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.problem(
                    "description".to_owned(),
                    format!("expected a string, found {}", describe(other)),
                );
                None
            }
        };
        let entries: &[Value] = match map.get(array) {
            None => {
                self.problem(array.to_owned(), "missing".to_owned());
                &[]
            }
            Some(Value::Array(items)) if items.is_empty() => {
                self.problem(array.to_owned(), format!("no {what} listed"));
                &[]
            }
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.problem(
                    array.to_owned(),
                    format!("expected an array, found {}", describe(other)),
                );
                &[]
            }
        };
        (description, entries)
    }

    /// The entry `array[i]` as an object whose keys are all in `allowed`.
    fn entry<'v>(
        &mut self,
        array: &str,
        i: usize,
        value: &'v Value,
        allowed: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Value::Object(map) = value else {
            self.problem(
                format!("{array}[{i}]"),
                format!("expected an object, found {}", describe(value)),
            );
            return None;
        };
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                let list = allowed
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.problem(
                    format!("{array}[{i}].{key}"),
                    format!("unknown field (expected one of {list})"),
                );
            }
        }
        Some(map)
    }

    fn field<'v>(
        &mut self,
        map: &'v Map<String, Value>,
        array: &str,
        i: usize,
        key: &str,
    ) -> Option<&'v Value> {
        let value = map.get(key);
        if value.is_none() {
            self.problem(format!("{array}[{i}].{key}"), "missing".to_owned());
        }
        value
    }

    fn year(&mut self, map: &Map<String, Value>, array: &str, i: usize) -> Option<i32> {
        let value = self.field(map, array, i, "year")?;
        let path = format!("{array}[{i}].year");
        match value.as_i64() {
            Some(y) if (MIN_YEAR..=MAX_YEAR).contains(&y) => i32::try_from(y).ok(),
            Some(y) => {
                self.problem(
                    path,
                    format!("{y} is not a year from {MIN_YEAR} to {MAX_YEAR}"),
                );
                None
            }
            None => {
                self.problem(
                    path,
                    format!("expected a whole year, found {}", describe(value)),
                );
                None
            }
        }
    }

    fn share(&mut self, map: &Map<String, Value>, array: &str, i: usize) -> Option<f64> {
        let value = self.field(map, array, i, "share")?;
        let path = format!("{array}[{i}].share");
        match value.as_f64() {
            Some(s) if s > 0.0 && s < 1.0 => Some(s),
            Some(_) => {
                self.problem(
                    path,
                    format!(
                        "{} is not a fraction strictly between 0 and 1 (write 15% as 0.15)",
                        describe(value)
                    ),
                );
                None
            }
            None => {
                self.problem(
                    path,
                    format!("expected a number, found {}", describe(value)),
                );
                None
            }
        }
    }

    fn text(
        &mut self,
        map: &Map<String, Value>,
        array: &str,
        i: usize,
        key: &str,
    ) -> Option<String> {
        let value = self.field(map, array, i, key)?;
        match value {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::String(_) => {
                self.problem(format!("{array}[{i}].{key}"), "empty".to_owned());
                None
            }
            other => {
                self.problem(
                    format!("{array}[{i}].{key}"),
                    format!("expected a string, found {}", describe(other)),
                );
                None
            }
        }
    }

    fn finish<T>(self, source_name: &str, value: T) -> Result<T, TargetsError> {
        if self.c.is_empty() {
            Ok(value)
        } else {
            Err(TargetsError {
                source_name: source_name.to_owned(),
                problems: self.c.into_problems(),
            })
        }
    }
}

fn parse_json(source_name: &str, json: &str) -> Result<Value, TargetsError> {
    serde_json::from_str(json).map_err(|e| TargetsError {
        source_name: source_name.to_owned(),
        problems: vec![Problem::whole_file(format!("not valid JSON: {e}"))],
    })
}

impl Targets {
    /// Reads and validates a targets file (`source_name` names it in
    /// messages): `{"description": "...", "targets": [{"plan", "year",
    /// "share", "above", "source"}, ...]}`, every field required, shares in
    /// (0, 1), years 1990-2100, no two targets with the same plan and year.
    pub fn from_json(source_name: &str, json: &str) -> Result<Targets, TargetsError> {
        const ARRAY: &str = "targets";
        const FIELDS: [&str; 5] = ["plan", "year", "share", "above", "source"];
        let root = parse_json(source_name, json)?;
        let mut r = Reader::default();
        let (description, entries) = r.top(&root, ARRAY, "targets");
        let mut targets = Vec::with_capacity(entries.len());
        let mut seen: BTreeMap<(String, i32), usize> = BTreeMap::new();
        for (i, value) in entries.iter().enumerate() {
            let Some(map) = r.entry(ARRAY, i, value, &FIELDS) else {
                continue;
            };
            let plan = match r.field(map, ARRAY, i, "plan") {
                Some(Value::String(id)) if valid_plan_id(id) => Some(id.clone()),
                Some(Value::String(id)) => {
                    r.problem(
                        format!("{ARRAY}[{i}].plan"),
                        format!(
                            "{id:?} is not a plan id (1-64 lower-case letters, digits and `-`)"
                        ),
                    );
                    None
                }
                Some(other) => {
                    r.problem(
                        format!("{ARRAY}[{i}].plan"),
                        format!("expected a string, found {}", describe(other)),
                    );
                    None
                }
                None => None,
            };
            let year = r.year(map, ARRAY, i);
            let share = r.share(map, ARRAY, i);
            let above = match r.field(map, ARRAY, i, "above") {
                Some(Value::Bool(b)) => Some(*b),
                Some(other) => {
                    r.problem(
                        format!("{ARRAY}[{i}].above"),
                        format!("expected true or false, found {}", describe(other)),
                    );
                    None
                }
                None => None,
            };
            let source = r.text(map, ARRAY, i, "source");
            if let (Some(plan), Some(year)) = (&plan, year) {
                if let Some(first) = seen.get(&(plan.clone(), year)) {
                    r.problem(
                        format!("{ARRAY}[{i}]"),
                        format!("plan {plan:?} already has a target for {year} ({ARRAY}[{first}])"),
                    );
                } else {
                    seen.insert((plan.clone(), year), i);
                }
            }
            if let (Some(plan), Some(year), Some(share), Some(above), Some(source)) =
                (plan, year, share, above, source)
            {
                targets.push(Target {
                    plan,
                    year,
                    share,
                    above,
                    source,
                });
            }
        }
        r.finish(
            source_name,
            Targets {
                description,
                targets,
            },
        )
    }

    /// The plans' ids, in the order they first appear in the file.
    pub fn plans(&self) -> Vec<&str> {
        let mut plans: Vec<&str> = Vec::new();
        for t in &self.targets {
            if !plans.contains(&t.plan.as_str()) {
                plans.push(&t.plan);
            }
        }
        plans
    }

    /// For each plan (in file order), the target due for a round held in
    /// `year` (the plan's latest target year `<= year`) and the next one
    /// (its earliest target year `> year`).
    pub fn for_year(&self, year: i32) -> Vec<PlanTargets<'_>> {
        self.plans()
            .into_iter()
            .map(|plan| {
                let of_plan = || self.targets.iter().filter(move |t| t.plan == plan);
                PlanTargets {
                    plan,
                    due: of_plan().filter(|t| t.year <= year).max_by_key(|t| t.year),
                    next: of_plan().filter(|t| t.year > year).min_by_key(|t| t.year),
                }
            })
            .collect()
    }

    /// The targets due in `year`, one per plan that has one.
    pub fn due(&self, year: i32) -> Vec<&Target> {
        self.for_year(year)
            .into_iter()
            .filter_map(|p| p.due)
            .collect()
    }

    /// The next targets after `year`, one per plan that has one.
    pub fn next(&self, year: i32) -> Vec<&Target> {
        self.for_year(year)
            .into_iter()
            .filter_map(|p| p.next)
            .collect()
    }
}

impl NationalSeries {
    /// Reads and validates a series file (`source_name` names it in
    /// messages): `{"description": "...", "points": [{"year", "share",
    /// "source"}, ...]}`, every field required, shares in (0, 1), years
    /// 1990-2100, one figure per year. The points are sorted by year.
    pub fn from_json(source_name: &str, json: &str) -> Result<NationalSeries, TargetsError> {
        const ARRAY: &str = "points";
        const FIELDS: [&str; 3] = ["year", "share", "source"];
        let root = parse_json(source_name, json)?;
        let mut r = Reader::default();
        let (description, entries) = r.top(&root, ARRAY, "figures");
        let mut points = Vec::with_capacity(entries.len());
        let mut seen: BTreeMap<i32, usize> = BTreeMap::new();
        for (i, value) in entries.iter().enumerate() {
            let Some(map) = r.entry(ARRAY, i, value, &FIELDS) else {
                continue;
            };
            let year = r.year(map, ARRAY, i);
            let share = r.share(map, ARRAY, i);
            let source = r.text(map, ARRAY, i, "source");
            if let Some(year) = year {
                if let Some(first) = seen.get(&year) {
                    r.problem(
                        format!("{ARRAY}[{i}].year"),
                        format!("{year} already has a figure ({ARRAY}[{first}])"),
                    );
                } else {
                    seen.insert(year, i);
                }
            }
            if let (Some(year), Some(share), Some(source)) = (year, share, source) {
                points.push(SeriesPoint {
                    year,
                    share,
                    source,
                });
            }
        }
        points.sort_by_key(|p| p.year);
        r.finish(
            source_name,
            NationalSeries {
                description,
                points,
            },
        )
    }

    /// The series as `(year, share)` pairs, by increasing year (the input
    /// of [`project`](super::project)).
    pub fn pairs(&self) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .map(|p| (f64::from(p.year), p.share))
            .collect()
    }

    /// The latest published figure strictly before `year` (the previous
    /// round), if any.
    pub fn before(&self, year: i32) -> Option<&SeriesPoint> {
        self.points.iter().rev().find(|p| p.year < year)
    }
}
