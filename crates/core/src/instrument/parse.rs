//! Reading an instrument from JSON, collecting one precise message per
//! problem (file, item, field, reason) rather than stopping at the first.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde_json::{Map, Value};

use super::{
    Choice, Dimension, Direction, Instrument, Interval, Item, ItemKind, MAX_MULTI_OPTIONS,
    MAX_NUMERIC_SPAN, MAX_OPTION_CODE, MultiScoring, Section,
};
use crate::demographics::Demographic;
use crate::rule::{Band, MissingPolicy, QualificationRule, RuleKind, Scale};
use crate::text::{PRIMARY_LANGUAGE, Text};
use crate::validate::{Collector, describe, join};

/// Column names an item id may not take: they mean something else in answer
/// and score files.
pub const RESERVED_COLUMNS: [&str; 7] = [
    "respondent_id",
    "total",
    "band",
    "qualified",
    "n_missing",
    "status",
    "theta",
];

/// Most bands a rule may have.
pub const MAX_BANDS: usize = 100;

/// One thing wrong with an instrument (its subject is `item <id>` for a
/// problem inside an item).
pub use crate::validate::Problem;

/// An instrument that failed validation, with every problem found.
#[derive(Debug, Clone, thiserror::Error)]
pub struct InstrumentError {
    /// The file the instrument was read from.
    pub source_name: String,
    /// Every problem, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for InstrumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::validate::write_report(f, &self.source_name, "instrument", &self.problems)
    }
}

/// Walks the JSON tree, collecting problems (through the shared
/// [`Collector`], which it dereferences to).
struct Ctx {
    collector: Collector,
    languages: Vec<String>,
}

impl std::ops::Deref for Ctx {
    type Target = Collector;

    fn deref(&self) -> &Collector {
        &self.collector
    }
}

impl std::ops::DerefMut for Ctx {
    fn deref_mut(&mut self) -> &mut Collector {
        &mut self.collector
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Ctx {
    fn id(&mut self, map: &Map<String, Value>, path: &str, key: &str) -> Option<String> {
        let id = self.string(map, path, key)?;
        if valid_id(&id) {
            Some(id)
        } else {
            self.problem(
                join(path, key),
                format!("{id:?} is not an identifier (letters, digits, `_` and `-`, at most 64)"),
            );
            None
        }
    }

    fn positive(&mut self, map: &Map<String, Value>, path: &str, key: &str) -> Option<f64> {
        let x = self.number(map, path, key)?;
        if x > 0.0 {
            Some(x)
        } else {
            self.problem(
                join(path, key),
                format!("must be greater than 0, found {x}"),
            );
            None
        }
    }

    fn integer_value(&mut self, value: &Value, path: &str) -> Option<i64> {
        match value.as_i64() {
            Some(x) => Some(x),
            None => {
                self.problem(
                    path,
                    format!("expected an integer, found {}", describe(value)),
                );
                None
            }
        }
    }

    fn integer(&mut self, map: &Map<String, Value>, path: &str, key: &str) -> Option<i64> {
        let value = self.required(map, path, key)?;
        self.integer_value(value, &join(path, key))
    }

    fn optional_bool(
        &mut self,
        map: &Map<String, Value>,
        path: &str,
        key: &str,
        default: bool,
    ) -> bool {
        match map.get(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.problem(
                    join(path, key),
                    format!("expected true or false, found {}", describe(other)),
                );
                default
            }
        }
    }

    fn text_value(&mut self, value: &Value, path: &str) -> Option<Text> {
        let map = self.object(value, path)?;
        let mut text = BTreeMap::new();
        let mut ok = true;
        for lang in self.languages.clone() {
            match map.get(&lang) {
                Some(Value::String(s)) if !s.trim().is_empty() => {
                    text.insert(lang, s.clone());
                }
                Some(Value::String(_)) => {
                    self.problem(join(path, &lang), "must not be empty");
                    ok = false;
                }
                Some(other) => {
                    self.problem(
                        join(path, &lang),
                        format!("expected a string, found {}", describe(other)),
                    );
                    ok = false;
                }
                None => {
                    self.problem(
                        join(path, &lang),
                        "is required (a language of the instrument)",
                    );
                    ok = false;
                }
            }
        }
        for key in map.keys() {
            if !self.languages.contains(key) {
                let languages = self.languages.join(", ");
                self.problem(
                    join(path, key),
                    format!("{key:?} is not one of the instrument's languages ({languages})"),
                );
                ok = false;
            }
        }
        ok.then_some(Text(text))
    }

    fn text(&mut self, map: &Map<String, Value>, path: &str, key: &str) -> Option<Text> {
        let value = self.required(map, path, key)?;
        self.text_value(value, &join(path, key))
    }
}

/// Parses and validates an instrument.
pub(super) fn parse(source: &str, json: &str) -> Result<Instrument, InstrumentError> {
    let fail = |problems| InstrumentError {
        source_name: source.to_owned(),
        problems,
    };
    let root: Value = serde_json::from_str(json)
        .map_err(|e| fail(vec![Problem::whole_file(format!("not valid JSON: {e}"))]))?;
    let mut ctx = Ctx {
        collector: Collector::default(),
        languages: Vec::new(),
    };
    let instrument = walk(&mut ctx, &root);
    match instrument {
        Some(instrument) if ctx.is_empty() => Ok(instrument),
        _ => Err(fail(ctx.collector.into_problems())),
    }
}

const ROOT_KEYS: [&str; 10] = [
    "id",
    "version",
    "fieldwork_year",
    "title",
    "languages",
    "dimensions",
    "sections",
    "items",
    "demographics",
    "rule",
];

fn walk(ctx: &mut Ctx, root: &Value) -> Option<Instrument> {
    let map = ctx.record(root, "", &ROOT_KEYS)?;
    let languages = languages(ctx, map);

    let id = ctx.id(map, "", "id");
    if let Some(id) = &id
        && id.chars().any(|c| c.is_ascii_uppercase() || c == '_')
    {
        ctx.problem(
            "id",
            format!("{id:?} must use lower-case letters, digits and `-`"),
        );
    }
    let version = ctx.string(map, "", "version");
    let fieldwork_year = ctx.integer(map, "", "fieldwork_year").and_then(|year| {
        if (1990..=2100).contains(&year) {
            i32::try_from(year).ok()
        } else {
            ctx.problem(
                "fieldwork_year",
                format!("{year} is not a year between 1990 and 2100"),
            );
            None
        }
    });
    let title = ctx.text(map, "", "title");
    let dimensions = dimensions(ctx, map);
    let items = items(ctx, map, dimensions.as_deref().unwrap_or(&[]));
    let demographics = demographics(ctx, map);

    let (mut dimensions, items) = (dimensions?, items?);
    for (d, dimension) in dimensions.iter_mut().enumerate() {
        dimension.raw_max = items
            .iter()
            .filter(|item| item.dimension_index == d)
            .map(|item| item.points)
            .sum();
        if dimension.raw_max == 0.0 {
            ctx.problem(
                format!("dimensions[{d}]"),
                format!("dimension {:?} has no items", dimension.id),
            );
        }
    }
    let sections = sections(ctx, map, &items, &dimensions);
    let rule = map
        .get("rule")
        .or_else(|| {
            ctx.problem("rule", "is required");
            None
        })
        .and_then(|rule| parse_rule(ctx, rule, &dimensions, items.len()));

    let item_positions = items
        .iter()
        .enumerate()
        .map(|(k, item)| (item.id.clone(), k))
        .collect();
    Some(Instrument {
        id: id?,
        version: version?,
        fieldwork_year: fieldwork_year?,
        title: title?,
        languages: languages?,
        dimensions,
        sections: sections?,
        items,
        demographics: demographics?,
        rule: rule?,
        item_positions,
    })
}

fn languages(ctx: &mut Ctx, map: &Map<String, Value>) -> Option<Vec<String>> {
    let value = ctx.required(map, "", "languages")?;
    let list = ctx.array(value, "languages")?;
    let mut languages = Vec::new();
    for (i, value) in list.iter().enumerate() {
        match value {
            Value::String(s) if !s.trim().is_empty() => {
                if languages.contains(s) {
                    ctx.problem(format!("languages[{i}]"), format!("{s:?} is listed twice"));
                } else {
                    languages.push(s.clone());
                }
            }
            other => ctx.problem(
                format!("languages[{i}]"),
                format!("expected a language tag, found {}", describe(other)),
            ),
        }
    }
    // Texts are checked against the languages listed, even when the list
    // itself is wrong, so one mistake gives one message.
    ctx.languages = if languages.is_empty() {
        vec![PRIMARY_LANGUAGE.to_owned()]
    } else {
        languages.clone()
    };
    if languages.first().map(String::as_str) != Some(PRIMARY_LANGUAGE) {
        ctx.problem(
            "languages",
            format!("must start with {PRIMARY_LANGUAGE:?}, the first language of every page"),
        );
        return None;
    }
    Some(languages)
}

fn dimensions(ctx: &mut Ctx, map: &Map<String, Value>) -> Option<Vec<Dimension>> {
    let list = ctx.list(map, "dimensions", "dimension")?;
    let mut out = Vec::new();
    let mut ok = true;
    let mut seen = HashSet::new();
    for (i, value) in list.iter().enumerate() {
        let path = format!("dimensions[{i}]");
        let Some(dim) = ctx.record(value, &path, &["id", "name", "points"]) else {
            ok = false;
            continue;
        };
        let id = ctx.id(dim, &path, "id");
        if let Some(id) = &id
            && !seen.insert(id.clone())
        {
            ctx.problem(
                join(&path, "id"),
                format!("{id:?} is used by another dimension"),
            );
            ok = false;
        }
        let name = ctx.text(dim, &path, "name");
        let points = ctx.positive(dim, &path, "points");
        match (id, name, points) {
            (Some(id), Some(name), Some(points)) => out.push(Dimension {
                id,
                name,
                points,
                raw_max: 0.0,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

fn items(ctx: &mut Ctx, map: &Map<String, Value>, dimensions: &[Dimension]) -> Option<Vec<Item>> {
    let list = ctx.list(map, "items", "item")?;
    let mut out = Vec::new();
    let mut ok = true;
    let mut seen = HashSet::new();
    for (i, value) in list.iter().enumerate() {
        let name = value
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map_or_else(|| format!("items[{i}]"), str::to_owned);
        ctx.set_subject(Some(format!("item {name}")));
        match item(ctx, value, dimensions, &mut seen) {
            Some(item) => out.push(item),
            None => ok = false,
        }
        ctx.set_subject(None);
    }
    ok.then_some(out)
}

const ITEM_KEYS: [&str; 12] = [
    "id",
    "dimension",
    "type",
    "text",
    "points",
    "options",
    "key",
    "scoring",
    "direction",
    "range",
    "dont_know_code",
    "unit",
];

fn item(
    ctx: &mut Ctx,
    value: &Value,
    dimensions: &[Dimension],
    seen: &mut HashSet<String>,
) -> Option<Item> {
    let map = ctx.record(value, "", &ITEM_KEYS)?;
    let id = ctx.id(map, "", "id");
    if let Some(id) = &id {
        if !seen.insert(id.clone()) {
            ctx.problem("id", format!("{id:?} is used by another item"));
        }
        if RESERVED_COLUMNS.contains(&id.as_str())
            || Demographic::from_id(id).is_some()
            || id.starts_with("score_")
        {
            ctx.problem(
                "id",
                format!("{id:?} is reserved for another column of answer and score files"),
            );
        }
    }
    let dimension = ctx.string(map, "", "dimension").and_then(|dim| {
        match dimensions.iter().position(|d| d.id == dim) {
            Some(index) => Some((dim, index)),
            None if dimensions.is_empty() => None,
            None => {
                let ids: Vec<&str> = dimensions.iter().map(|d| d.id.as_str()).collect();
                ctx.problem(
                    "dimension",
                    format!(
                        "{dim:?} is not a dimension (expected one of: {})",
                        ids.join(", ")
                    ),
                );
                None
            }
        }
    });
    let text = ctx.text(map, "", "text");
    let points = ctx.positive(map, "", "points");
    let kind = ctx
        .string(map, "", "type")
        .and_then(|kind| item_kind(ctx, map, &kind));
    let (dimension, dimension_index) = dimension?;
    Some(Item {
        id: id?,
        dimension,
        dimension_index,
        text: text?,
        points: points?,
        kind: kind?,
    })
}

/// Fields that only some item types take.
const TYPE_FIELDS: [(&str, &[&str]); 5] = [
    ("true_false", &["key"]),
    ("single_choice", &["options", "key"]),
    ("multiple_select", &["options", "key", "scoring"]),
    ("ordinal", &["options", "direction"]),
    ("numeric", &["range", "key", "dont_know_code", "unit"]),
];

fn item_kind(ctx: &mut Ctx, map: &Map<String, Value>, kind: &str) -> Option<ItemKind> {
    let Some((_, fields)) = TYPE_FIELDS.iter().find(|(name, _)| *name == kind) else {
        let names: Vec<&str> = TYPE_FIELDS.iter().map(|(name, _)| *name).collect();
        ctx.problem(
            "type",
            format!(
                "{kind:?} is not an item type (expected one of: {})",
                names.join(", ")
            ),
        );
        return None;
    };
    for key in [
        "options",
        "key",
        "scoring",
        "direction",
        "range",
        "dont_know_code",
        "unit",
    ] {
        if map.contains_key(key) && !fields.contains(&key) {
            let hint = if kind == "ordinal" && key == "key" {
                "; an ordinal item is keyed by `direction`"
            } else if kind == "true_false" && key == "options" {
                "; true_false codes are fixed (1 true, 2 false, 8 don't know)"
            } else {
                ""
            };
            ctx.problem(key, format!("does not apply to a {kind} item{hint}"));
        }
    }
    match kind {
        "true_false" => match ctx.required(map, "", "key")? {
            Value::Bool(key) => Some(ItemKind::TrueFalse { key: *key }),
            other => {
                ctx.problem(
                    "key",
                    format!("expected true or false, found {}", describe(other)),
                );
                None
            }
        },
        "single_choice" => {
            let options = options(ctx, map, 2, usize::from(MAX_OPTION_CODE));
            let key = ctx
                .required(map, "", "key")
                .and_then(|key| option_key(ctx, key, "key", options.as_deref()));
            Some(ItemKind::SingleChoice {
                options: options?,
                key: key?,
            })
        }
        "multiple_select" => {
            let options = options(ctx, map, 2, MAX_MULTI_OPTIONS);
            let key = ctx.list(map, "key", "correct code").and_then(|list| {
                let mut codes = Vec::new();
                for (i, code) in list.iter().enumerate() {
                    let code = option_key(ctx, code, &format!("key[{i}]"), options.as_deref())?;
                    if codes.contains(&code) {
                        ctx.problem(format!("key[{i}]"), format!("code {code} is listed twice"));
                        return None;
                    }
                    codes.push(code);
                }
                Some(codes)
            });
            let scoring = ctx
                .string(map, "", "scoring")
                .and_then(|scoring| match scoring.as_str() {
                    "all_or_nothing" => Some(MultiScoring::AllOrNothing),
                    "partial_credit" => Some(MultiScoring::PartialCredit),
                    other => {
                        ctx.problem(
                            "scoring",
                            format!("{other:?} is not a scoring (expected all_or_nothing or partial_credit)"),
                        );
                        None
                    }
                });
            Some(ItemKind::MultipleSelect {
                options: options?,
                key: key?,
                scoring: scoring?,
            })
        }
        "ordinal" => {
            let options = options(ctx, map, 2, usize::from(MAX_OPTION_CODE));
            let direction = ctx
                .string(map, "", "direction")
                .and_then(|direction| match direction.as_str() {
                    "ascending" => Some(Direction::Ascending),
                    "descending" => Some(Direction::Descending),
                    other => {
                        ctx.problem(
                            "direction",
                            format!(
                                "{other:?} is not a direction (expected ascending or descending)"
                            ),
                        );
                        None
                    }
                });
            Some(ItemKind::Ordinal {
                options: options?,
                direction: direction?,
            })
        }
        _ => numeric(ctx, map),
    }
}

fn interval(ctx: &mut Ctx, map: &Map<String, Value>, key: &str) -> Option<Interval> {
    let value = ctx.required(map, "", key)?;
    let obj = ctx.record(value, key, &["min", "max"])?;
    let min = ctx.integer(obj, key, "min");
    let max = ctx.integer(obj, key, "max");
    let (min, max) = (min?, max?);
    if min > max {
        ctx.problem(key, format!("min {min} is greater than max {max}"));
        return None;
    }
    Some(Interval { min, max })
}

fn numeric(ctx: &mut Ctx, map: &Map<String, Value>) -> Option<ItemKind> {
    let range = interval(ctx, map, "range");
    let key = interval(ctx, map, "key");
    let dont_know_code = map
        .get("dont_know_code")
        .and_then(|v| ctx.integer_value(v, "dont_know_code"));
    let unit = map.get("unit").and_then(|v| ctx.text_value(v, "unit"));
    let (range, key) = (range?, key?);
    let mut ok = true;
    if range.max - range.min + 1 > MAX_NUMERIC_SPAN {
        ctx.problem(
            "range",
            format!(
                "spans {} values; at most {MAX_NUMERIC_SPAN} are allowed",
                range.max - range.min + 1
            ),
        );
        ok = false;
    }
    if key.min < range.min || key.max > range.max {
        ctx.problem(
            "key",
            format!(
                "{}..{} is not inside the range {}..{}",
                key.min, key.max, range.min, range.max
            ),
        );
        ok = false;
    }
    if let Some(code) = dont_know_code
        && (range.min..=range.max).contains(&code)
    {
        ctx.problem(
            "dont_know_code",
            format!(
                "{code} is inside the range {}..{}, so it would be read as an answer",
                range.min, range.max
            ),
        );
        ok = false;
    }
    if map.contains_key("unit") && unit.is_none() {
        ok = false;
    }
    ok.then_some(ItemKind::Numeric {
        range,
        key,
        dont_know_code,
        unit,
    })
}

fn options(
    ctx: &mut Ctx,
    map: &Map<String, Value>,
    min_answers: usize,
    max_options: usize,
) -> Option<Vec<Choice>> {
    let value = ctx.required(map, "", "options")?;
    let list = ctx.array(value, "options")?;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, value) in list.iter().enumerate() {
        let path = format!("options[{i}]");
        let Some(obj) = ctx.record(value, &path, &["code", "label", "dont_know"]) else {
            ok = false;
            continue;
        };
        let code = ctx
            .integer(obj, &path, "code")
            .and_then(|code| match u16::try_from(code) {
                Ok(code) if (1..=MAX_OPTION_CODE).contains(&code) => {
                    if out.iter().any(|c: &Choice| c.code == code) {
                        ctx.problem(
                            join(&path, "code"),
                            format!("code {code} is used by another option"),
                        );
                        None
                    } else {
                        Some(code)
                    }
                }
                _ => {
                    ctx.problem(
                        join(&path, "code"),
                        format!("{code} is not a code between 1 and {MAX_OPTION_CODE}"),
                    );
                    None
                }
            });
        let label = ctx.text(obj, &path, "label");
        let dont_know = ctx.optional_bool(obj, &path, "dont_know", false);
        match (code, label) {
            (Some(code), Some(label)) => out.push(Choice {
                code,
                label,
                dont_know,
            }),
            _ => ok = false,
        }
    }
    if !ok {
        return None;
    }
    if out.len() > max_options {
        ctx.problem(
            "options",
            format!(
                "has {} options; at most {max_options} are allowed",
                out.len()
            ),
        );
        return None;
    }
    let dont_knows = out.iter().filter(|c| c.dont_know).count();
    if dont_knows > 1 {
        ctx.problem(
            "options",
            format!("has {dont_knows} don't-know options; at most one is allowed"),
        );
        return None;
    }
    if out.len() - dont_knows < min_answers {
        ctx.problem(
            "options",
            format!("needs at least {min_answers} options besides don't know"),
        );
        return None;
    }
    Some(out)
}

fn option_key(ctx: &mut Ctx, value: &Value, path: &str, options: Option<&[Choice]>) -> Option<u16> {
    let code = ctx.integer_value(value, path)?;
    let options = options?;
    match options.iter().find(|c| i64::from(c.code) == code) {
        Some(choice) if choice.dont_know => {
            ctx.problem(
                path,
                format!("{code} is the don't-know option, which cannot be correct"),
            );
            None
        }
        Some(choice) => Some(choice.code),
        None => {
            let codes: Vec<String> = options.iter().map(|c| c.code.to_string()).collect();
            ctx.problem(
                path,
                format!(
                    "{code} is not one of the option codes ({})",
                    codes.join(", ")
                ),
            );
            None
        }
    }
}

fn demographics(ctx: &mut Ctx, map: &Map<String, Value>) -> Option<Vec<Demographic>> {
    let value = ctx.required(map, "", "demographics")?;
    let list = ctx.array(value, "demographics")?;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, value) in list.iter().enumerate() {
        let path = format!("demographics[{i}]");
        match value.as_str().map(|id| (id, Demographic::from_id(id))) {
            Some((_, Some(d))) if !out.contains(&d) => out.push(d),
            Some((id, Some(_))) => {
                ctx.problem(path, format!("{id:?} is listed twice"));
                ok = false;
            }
            _ => {
                let ids: Vec<&str> = crate::demographics::ALL.iter().map(|d| d.id()).collect();
                ctx.problem(
                    path,
                    format!(
                        "{} is not a demographic question (expected one of: {})",
                        describe(value),
                        ids.join(", ")
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn sections(
    ctx: &mut Ctx,
    map: &Map<String, Value>,
    items: &[Item],
    dimensions: &[Dimension],
) -> Option<Vec<Section>> {
    let Some(value) = map.get("sections") else {
        return Some(
            dimensions
                .iter()
                .map(|d| Section {
                    id: d.id.clone(),
                    title: d.name.clone(),
                    items: items
                        .iter()
                        .filter(|item| item.dimension == d.id)
                        .map(|item| item.id.clone())
                        .collect(),
                })
                .collect(),
        );
    };
    let list = ctx.array(value, "sections")?;
    let mut out = Vec::new();
    let mut ok = true;
    let mut placed: BTreeMap<&str, String> = BTreeMap::new();
    for (i, value) in list.iter().enumerate() {
        let path = format!("sections[{i}]");
        let Some(obj) = ctx.record(value, &path, &["id", "title", "items"]) else {
            ok = false;
            continue;
        };
        let id = ctx.id(obj, &path, "id");
        let title = ctx.text(obj, &path, "title");
        let mut ids = Vec::new();
        let items_path = join(&path, "items");
        if let Some(list) = ctx
            .required(obj, &path, "items")
            .and_then(|v| ctx.array(v, &items_path))
        {
            for (j, v) in list.iter().enumerate() {
                let field = format!("{items_path}[{j}]");
                match v
                    .as_str()
                    .and_then(|s| items.iter().find(|item| item.id == s))
                {
                    Some(item) => {
                        if let Some(first) = placed.get(item.id.as_str()) {
                            ctx.problem(field, format!("item {:?} is already in {first}", item.id));
                            ok = false;
                        } else {
                            placed.insert(&item.id, path.clone());
                            ids.push(item.id.clone());
                        }
                    }
                    None => {
                        ctx.problem(field, format!("{} is not an item id", describe(v)));
                        ok = false;
                    }
                }
            }
        } else {
            ok = false;
        }
        match (id, title) {
            (Some(id), Some(title)) => out.push(Section {
                id,
                title,
                items: ids,
            }),
            _ => ok = false,
        }
    }
    for item in items {
        if !placed.contains_key(item.id.as_str()) {
            ctx.problem("sections", format!("item {:?} is in no section", item.id));
            ok = false;
        }
    }
    ok.then_some(out)
}

fn parse_rule(
    ctx: &mut Ctx,
    value: &Value,
    dimensions: &[Dimension],
    n_items: usize,
) -> Option<QualificationRule> {
    let map = ctx.record(
        value,
        "rule",
        &[
            "kind",
            "cut",
            "thresholds",
            "scale",
            "inclusive",
            "bands",
            "missing",
        ],
    )?;
    let inclusive = ctx.optional_bool(map, "rule", "inclusive", true);
    let bands = match map.get("bands") {
        None => Some(Vec::new()),
        Some(value) => bands(ctx, value),
    };
    let missing = ctx
        .required(map, "rule", "missing")
        .and_then(|value| missing_policy(ctx, value, n_items));
    let kind = ctx.string(map, "rule", "kind").and_then(|kind| {
        let applies: &[&str] = match kind.as_str() {
            "total_score" => &["cut"],
            "all_dimensions" => &["thresholds"],
            "irt_cut" => &["cut", "scale"],
            other => {
                ctx.problem(
                    "rule.kind",
                    format!(
                        "{other:?} is not a rule kind (expected total_score, all_dimensions or irt_cut)"
                    ),
                );
                return None;
            }
        };
        for key in ["cut", "thresholds", "scale"] {
            if map.contains_key(key) && !applies.contains(&key) {
                ctx.problem(join("rule", key), format!("does not apply to a {kind} rule"));
            }
        }
        match kind.as_str() {
            "total_score" => {
                let cut = ctx.number(map, "rule", "cut")?;
                if !(0.0..=100.0).contains(&cut) {
                    ctx.problem("rule.cut", format!("{cut} is not on the 0-100 total"));
                    return None;
                }
                Some(RuleKind::TotalScore { cut })
            }
            "all_dimensions" => thresholds(ctx, map, dimensions),
            _ => {
                let cut = ctx.number(map, "rule", "cut")?;
                let scale = match map.get("scale") {
                    None => None,
                    Some(value) => Some(scale(ctx, value)?),
                };
                Some(RuleKind::IrtCut { cut, scale })
            }
        }
    });
    Some(QualificationRule {
        kind: kind?,
        inclusive,
        bands: bands?,
        missing: missing?,
    })
}

fn thresholds(
    ctx: &mut Ctx,
    map: &Map<String, Value>,
    dimensions: &[Dimension],
) -> Option<RuleKind> {
    let value = ctx.required(map, "rule", "thresholds")?;
    let obj = ctx.object(value, "rule.thresholds")?;
    let mut thresholds = BTreeMap::new();
    let mut ok = true;
    for (key, value) in obj {
        let path = format!("rule.thresholds.{key}");
        if !dimensions.iter().any(|d| &d.id == key) {
            ctx.problem(&path, format!("{key:?} is not a dimension"));
            ok = false;
            continue;
        }
        match ctx.number_value(value, &path) {
            Some(t) if (0.0..=1.0).contains(&t) => {
                thresholds.insert(key.clone(), t);
            }
            Some(t) => {
                ctx.problem(&path, format!("{t} is not a share between 0 and 1"));
                ok = false;
            }
            None => ok = false,
        }
    }
    for d in dimensions {
        if !obj.contains_key(&d.id) {
            ctx.problem(
                "rule.thresholds",
                format!("dimension {:?} has no threshold", d.id),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let by_dimension = dimensions
        .iter()
        .map(|d| thresholds.get(&d.id).copied().unwrap_or(0.0))
        .collect();
    Some(RuleKind::AllDimensions {
        thresholds,
        by_dimension,
    })
}

fn scale(ctx: &mut Ctx, value: &Value) -> Option<Scale> {
    let obj = ctx.record(value, "rule.scale", &["intercept", "slope"])?;
    let intercept = ctx.number(obj, "rule.scale", "intercept");
    let slope = ctx.number(obj, "rule.scale", "slope");
    let (intercept, slope) = (intercept?, slope?);
    if slope == 0.0 {
        ctx.problem("rule.scale.slope", "must not be 0");
        return None;
    }
    Some(Scale { intercept, slope })
}

fn bands(ctx: &mut Ctx, value: &Value) -> Option<Vec<Band>> {
    let list = ctx.array(value, "rule.bands")?;
    if list.len() > MAX_BANDS {
        ctx.problem(
            "rule.bands",
            format!("has {} bands; at most {MAX_BANDS} are allowed", list.len()),
        );
        return None;
    }
    let mut out: Vec<Band> = Vec::new();
    let mut ok = true;
    for (i, value) in list.iter().enumerate() {
        let path = format!("rule.bands[{i}]");
        let Some(obj) = ctx.record(value, &path, &["id", "name", "from"]) else {
            ok = false;
            continue;
        };
        let id = ctx.id(obj, &path, "id");
        let name = ctx.text(obj, &path, "name");
        let from = ctx.number(obj, &path, "from");
        let (Some(id), Some(name), Some(from)) = (id, name, from) else {
            ok = false;
            continue;
        };
        if out.iter().any(|b| b.id == id) {
            ctx.problem(join(&path, "id"), format!("{id:?} is used by another band"));
            ok = false;
        }
        if i == 0 && from != 0.0 {
            ctx.problem(
                join(&path, "from"),
                format!("the first band must start at 0, not {from}"),
            );
            ok = false;
        }
        if !(0.0..=100.0).contains(&from) {
            ctx.problem(
                join(&path, "from"),
                format!("{from} is not on the 0-100 total"),
            );
            ok = false;
        }
        if let Some(previous) = out.last()
            && from <= previous.from
        {
            ctx.problem(
                join(&path, "from"),
                format!(
                    "{from} does not exceed the previous band's {}",
                    previous.from
                ),
            );
            ok = false;
        }
        out.push(Band { id, name, from });
    }
    ok.then_some(out)
}

fn missing_policy(ctx: &mut Ctx, value: &Value, n_items: usize) -> Option<MissingPolicy> {
    let obj = ctx.record(value, "rule.missing", &["policy", "max_missing"])?;
    match ctx.string(obj, "rule.missing", "policy")?.as_str() {
        "count_as_wrong" => {
            if obj.contains_key("max_missing") {
                ctx.problem(
                    "rule.missing.max_missing",
                    "does not apply to count_as_wrong (use unscorable_above)",
                );
                return None;
            }
            Some(MissingPolicy::CountAsWrong)
        }
        "unscorable_above" => {
            let max = ctx.integer(obj, "rule.missing", "max_missing")?;
            match u32::try_from(max) {
                Ok(max_missing) if (max_missing as usize) < n_items || n_items == 0 => {
                    Some(MissingPolicy::UnscorableAbove { max_missing })
                }
                _ => {
                    ctx.problem(
                        "rule.missing.max_missing",
                        format!(
                            "{max} is not between 0 and the number of items less one ({})",
                            n_items.saturating_sub(1)
                        ),
                    );
                    None
                }
            }
        }
        other => {
            ctx.problem(
                "rule.missing.policy",
                format!("{other:?} is not a policy (expected count_as_wrong or unscorable_above)"),
            );
            None
        }
    }
}
