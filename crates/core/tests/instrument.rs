//! A broken instrument gives one precise message per problem, naming the
//! file, the item and the field.

mod common;

use common::base;
use literacy_core::Instrument;
use serde_json::{Value, json};

/// Every problem found in `value`, as displayed.
fn problems(value: &Value) -> Vec<String> {
    match Instrument::from_json("broken.json", &value.to_string()) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

/// Applies `edit` to the base instrument and checks the one problem found.
fn expect_one(edit: impl FnOnce(&mut Value), expected: &str) {
    let mut v = base();
    edit(&mut v);
    assert_eq!(problems(&v), vec![expected.to_owned()]);
}

fn item<'v>(v: &'v mut Value, id: &str) -> &'v mut Value {
    let items = v["items"].as_array_mut().expect("items");
    items
        .iter_mut()
        .find(|i| i["id"] == id)
        .expect("the item exists")
}

#[test]
fn the_base_instrument_is_valid() {
    assert_eq!(problems(&base()), Vec::<String>::new());
}

#[test]
fn items_are_found_by_id() {
    let instrument = Instrument::from_json("base.json", &base().to_string()).expect("valid");
    assert!(!instrument.items.is_empty());
    for (k, item) in instrument.items.iter().enumerate() {
        assert_eq!(instrument.item_index(&item.id), Some(k), "{}", item.id);
    }
    assert_eq!(instrument.item_index("no-such-item"), None);
    assert_eq!(instrument.item_index(""), None);
}

#[test]
fn invalid_json_is_one_problem_with_its_position() {
    let err = Instrument::from_json("broken.json", "{\"id\": ").unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert!(
        err.problems[0].message.starts_with("not valid JSON: "),
        "{err}"
    );
    assert!(err.problems[0].message.contains("line 1"), "{err}");
}

#[test]
fn every_problem_is_reported_with_the_file_name() {
    let mut v = base();
    v["version"] = json!("");
    item(&mut v, "T1")["points"] = json!(-1);
    item(&mut v, "C1")["key"] = json!(5);
    item(&mut v, "MA")["scoring"] = json!("some");
    let err = Instrument::from_json("surveys/x/instrument.json", &v.to_string()).unwrap_err();
    assert_eq!(
        err.problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "field `version`: must not be empty",
            "item T1, field `points`: must be greater than 0, found -1",
            "item C1, field `key`: 5 is not one of the option codes (1, 2, 3, 8)",
            "item MA, field `scoring`: \"some\" is not a scoring (expected all_or_nothing or partial_credit)",
        ]
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with("surveys/x/instrument.json: invalid instrument (4 problems)"),
        "{shown}"
    );
    assert_eq!(
        shown.matches("\n  surveys/x/instrument.json: ").count(),
        4,
        "{shown}"
    );
}

#[test]
fn top_level_fields() {
    expect_one(
        |v| drop(v.as_object_mut().unwrap().remove("id")),
        "field `id`: is required",
    );
    expect_one(
        |v| v["id"] = json!("CSL_2026"),
        "field `id`: \"CSL_2026\" must use lower-case letters, digits and `-`",
    );
    expect_one(
        |v| v["fieldwork_year"] = json!(26),
        "field `fieldwork_year`: 26 is not a year between 1990 and 2100",
    );
    expect_one(
        |v| v["fieldwork_year"] = json!("2026"),
        "field `fieldwork_year`: expected an integer, found the string \"2026\"",
    );
    expect_one(
        |v| v["colour"] = json!("red"),
        "field `colour`: unknown field (expected one of: id, version, fieldwork_year, title, languages, dimensions, sections, items, demographics, rule)",
    );
    expect_one(
        |v| v["languages"] = json!(["en", "zh-CN"]),
        "field `languages`: must start with \"zh-CN\", the first language of every page",
    );
    expect_one(
        |v| v["languages"] = json!(["zh-CN", "en", "en"]),
        "field `languages[2]`: \"en\" is listed twice",
    );
    expect_one(
        |v| v["title"]["en"] = json!(""),
        "field `title.en`: must not be empty",
    );
}

#[test]
fn texts_need_every_language_and_no_other() {
    expect_one(
        |v| drop(item(v, "C1")["text"].as_object_mut().unwrap().remove("en")),
        "item C1, field `text.en`: is required (a language of the instrument)",
    );
    expect_one(
        |v| item(v, "C1")["text"]["fr"] = json!("C"),
        "item C1, field `text.fr`: \"fr\" is not one of the instrument's languages (zh-CN, en)",
    );
    expect_one(
        |v| item(v, "C1")["options"][0]["label"]["zh-CN"] = json!(3),
        "item C1, field `options[0].label.zh-CN`: expected a string, found 3",
    );
}

#[test]
fn dimensions() {
    expect_one(
        |v| v["dimensions"][1]["points"] = json!(0),
        "field `dimensions[1].points`: must be greater than 0, found 0",
    );
    expect_one(
        |v| v["dimensions"][1]["id"] = json!("know"),
        "field `dimensions[1].id`: \"know\" is used by another dimension",
    );
    let mut v = base();
    v["dimensions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "spirit", "name": {"zh-CN": "精神", "en": "Spirit"}, "points": 10}));
    v["rule"]["missing"] = json!({"policy": "count_as_wrong"});
    assert_eq!(
        problems(&v),
        ["field `dimensions[2]`: dimension \"spirit\" has no items"]
    );
}

#[test]
fn common_item_fields() {
    let mut v = base();
    item(&mut v, "T2")["id"] = json!("T1");
    assert_eq!(
        problems(&v),
        [
            "item T1, field `id`: \"T1\" is used by another item",
            "field `sections[0].items[1]`: the string \"T2\" is not an item id",
        ]
    );
    expect_one(
        |v| item(v, "T1")["pionts"] = json!(1),
        "item T1, field `pionts`: unknown field (expected one of: id, dimension, type, text, points, options, key, scoring, direction, range, dont_know_code, unit)",
    );
    expect_one(
        |v| item(v, "T1")["dimension"] = json!("spirit"),
        "item T1, field `dimension`: \"spirit\" is not a dimension (expected one of: know, method)",
    );
    expect_one(
        |v| item(v, "T1")["type"] = json!("essay"),
        "item T1, field `type`: \"essay\" is not an item type (expected one of: true_false, single_choice, multiple_select, ordinal, numeric)",
    );
    expect_one(
        |v| item(v, "T1")["points"] = json!("one"),
        "item T1, field `points`: expected a number, found the string \"one\"",
    );
    let mut v = base();
    item(&mut v, "T1")["id"] = json!("total");
    v["sections"][0]["items"][0] = json!("total");
    assert_eq!(
        problems(&v),
        [
            "item total, field `id`: \"total\" is reserved for another column of answer and score files"
        ]
    );
    let mut v = base();
    item(&mut v, "T1")["id"] = json!("K 01");
    v["sections"][0]["items"][0] = json!("K 01");
    assert_eq!(
        problems(&v)[0],
        "item K 01, field `id`: \"K 01\" is not an identifier (letters, digits, `_` and `-`, at most 64)"
    );
}

#[test]
fn true_false_items() {
    expect_one(
        |v| item(v, "T1")["key"] = json!("yes"),
        "item T1, field `key`: expected true or false, found the string \"yes\"",
    );
    expect_one(
        |v| item(v, "T1")["options"] = json!([]),
        "item T1, field `options`: does not apply to a true_false item; true_false codes are fixed (1 true, 2 false, 8 don't know)",
    );
    expect_one(
        |v| drop(item(v, "T1").as_object_mut().unwrap().remove("key")),
        "item T1, field `key`: is required",
    );
}

#[test]
fn single_choice_items() {
    expect_one(
        |v| item(v, "C1")["key"] = json!(8),
        "item C1, field `key`: 8 is the don't-know option, which cannot be correct",
    );
    expect_one(
        |v| item(v, "C1")["options"][1]["code"] = json!(1),
        "item C1, field `options[1].code`: code 1 is used by another option",
    );
    expect_one(
        |v| item(v, "C1")["options"][2]["code"] = json!(1000),
        "item C1, field `options[2].code`: 1000 is not a code between 1 and 999",
    );
    expect_one(
        |v| item(v, "C1")["options"][0]["dont_know"] = json!(true),
        "item C1, field `options`: has 2 don't-know options; at most one is allowed",
    );
    expect_one(
        |v| item(v, "C1")["options"] = json!([{"code": 2, "label": {"zh-CN": "乙", "en": "B"}}]),
        "item C1, field `options`: needs at least 2 options besides don't know",
    );
    expect_one(
        |v| item(v, "C1")["direction"] = json!("ascending"),
        "item C1, field `direction`: does not apply to a single_choice item",
    );
}

#[test]
fn multiple_select_items() {
    expect_one(
        |v| item(v, "MA")["key"] = json!([1, 1]),
        "item MA, field `key[1]`: code 1 is listed twice",
    );
    expect_one(
        |v| item(v, "MA")["key"] = json!([]),
        "item MA, field `key`: must list at least one correct code",
    );
    expect_one(
        |v| item(v, "MA")["key"] = json!([1, 9]),
        "item MA, field `key[1]`: 9 is not one of the option codes (1, 2, 3, 4, 8)",
    );
    expect_one(
        |v| {
            item(v, "MA")["options"] = Value::Array(
                (1..=13)
                    .map(|c| json!({"code": c, "label": {"zh-CN": "项", "en": "o"}}))
                    .collect(),
            );
        },
        "item MA, field `options`: has 13 options; at most 12 are allowed",
    );
    expect_one(
        |v| drop(item(v, "MA").as_object_mut().unwrap().remove("scoring")),
        "item MA, field `scoring`: is required",
    );
}

#[test]
fn ordinal_items() {
    expect_one(
        |v| item(v, "O1")["key"] = json!(5),
        "item O1, field `key`: does not apply to a ordinal item; an ordinal item is keyed by `direction`",
    );
    expect_one(
        |v| item(v, "O1")["direction"] = json!("up"),
        "item O1, field `direction`: \"up\" is not a direction (expected ascending or descending)",
    );
}

#[test]
fn numeric_items() {
    expect_one(
        |v| item(v, "N1")["key"] = json!({"min": 990, "max": 1010}),
        "item N1, field `key`: 990..1010 is not inside the range 0..1000",
    );
    expect_one(
        |v| item(v, "N1")["dont_know_code"] = json!(999),
        "item N1, field `dont_know_code`: 999 is inside the range 0..1000, so it would be read as an answer",
    );
    expect_one(
        |v| {
            item(v, "N1")["range"] = json!({"min": 0, "max": 70000});
            item(v, "N1")["dont_know_code"] = json!(-1);
        },
        "item N1, field `range`: spans 70001 values; at most 65534 are allowed",
    );
    expect_one(
        |v| item(v, "N1")["range"] = json!({"min": 10, "max": 0}),
        "item N1, field `range`: min 10 is greater than max 0",
    );
    expect_one(
        |v| item(v, "N1")["range"]["min"] = json!(0.5),
        "item N1, field `range.min`: expected an integer, found 0.5",
    );
}

#[test]
fn sections() {
    expect_one(
        |v| {
            v["sections"][1]["items"]
                .as_array_mut()
                .unwrap()
                .push(json!("T1"))
        },
        "field `sections[1].items[4]`: item \"T1\" is already in sections[0]",
    );
    let mut v = base();
    v["sections"][1]["items"] = json!(["MP", "O1", "O2"]);
    assert_eq!(
        problems(&v),
        ["field `sections`: item \"MA\" is in no section"]
    );
    expect_one(
        |v| {
            v["sections"][1]["items"]
                .as_array_mut()
                .unwrap()
                .push(json!("ZZ"))
        },
        "field `sections[1].items[4]`: the string \"ZZ\" is not an item id",
    );
}

#[test]
fn sections_default_to_one_per_dimension() {
    let mut v = base();
    v.as_object_mut().unwrap().remove("sections");
    let ins = common::instrument(&v);
    let ids: Vec<(&str, usize)> = ins
        .sections
        .iter()
        .map(|s| (s.id.as_str(), s.items.len()))
        .collect();
    assert_eq!(ids, [("know", 4), ("method", 4)]);
}

#[test]
fn demographics() {
    expect_one(
        |v| v["demographics"] = json!(["province", "income"]),
        "field `demographics[1]`: the string \"income\" is not a demographic question (expected one of: province, urban_rural, sex, birth_year, education, occupation)",
    );
    expect_one(
        |v| v["demographics"] = json!(["sex", "sex"]),
        "field `demographics[1]`: \"sex\" is listed twice",
    );
}

#[test]
fn rules() {
    expect_one(
        |v| v["rule"]["kind"] = json!("majority"),
        "field `rule.kind`: \"majority\" is not a rule kind (expected total_score, all_dimensions or irt_cut)",
    );
    expect_one(
        |v| v["rule"]["cut"] = json!(170),
        "field `rule.cut`: 170 is not on the 0-100 total",
    );
    expect_one(
        |v| v["rule"]["thresholds"] = json!({"know": 0.5}),
        "field `rule.thresholds`: does not apply to a total_score rule",
    );
    expect_one(
        |v| drop(v.as_object_mut().unwrap().remove("rule")),
        "field `rule`: is required",
    );
    expect_one(
        |v| v["rule"]["inclusive"] = json!("yes"),
        "field `rule.inclusive`: expected true or false, found the string \"yes\"",
    );
}

#[test]
fn all_dimensions_thresholds() {
    let rule = |thresholds: Value| {
        move |v: &mut Value| {
            v["rule"] = json!({"kind": "all_dimensions", "thresholds": thresholds,
                               "missing": {"policy": "count_as_wrong"}});
        }
    };
    expect_one(
        rule(json!({"know": 0.6})),
        "field `rule.thresholds`: dimension \"method\" has no threshold",
    );
    expect_one(
        rule(json!({"know": 60, "method": 0.5})),
        "field `rule.thresholds.know`: 60 is not a share between 0 and 1",
    );
    let mut v = base();
    rule(json!({"know": 0.6, "method": 0.6, "society": 0.6}))(&mut v);
    assert_eq!(
        problems(&v),
        ["field `rule.thresholds.society`: \"society\" is not a dimension"]
    );
}

#[test]
fn irt_cut_rule() {
    let mut v = base();
    v["rule"] = json!({"kind": "irt_cut", "cut": 0.5, "scale": {"intercept": 500, "slope": 0},
                       "missing": {"policy": "count_as_wrong"}});
    assert_eq!(problems(&v), ["field `rule.scale.slope`: must not be 0"]);
    v["rule"]["scale"]["slope"] = json!(100);
    assert_eq!(problems(&v), Vec::<String>::new());
}

#[test]
fn bands() {
    expect_one(
        |v| v["rule"]["bands"][0]["from"] = json!(10),
        "field `rule.bands[0].from`: the first band must start at 0, not 10",
    );
    expect_one(
        |v| v["rule"]["bands"][2]["from"] = json!(55),
        "field `rule.bands[2].from`: 55 does not exceed the previous band's 55",
    );
    expect_one(
        |v| v["rule"]["bands"][3]["id"] = json!("low"),
        "field `rule.bands[3].id`: \"low\" is used by another band",
    );
}

#[test]
fn missing_policy() {
    expect_one(
        |v| v["rule"]["missing"] = json!({"policy": "ignore"}),
        "field `rule.missing.policy`: \"ignore\" is not a policy (expected count_as_wrong or unscorable_above)",
    );
    expect_one(
        |v| v["rule"]["missing"]["max_missing"] = json!(8),
        "field `rule.missing.max_missing`: 8 is not between 0 and the number of items less one (7)",
    );
    expect_one(
        |v| v["rule"]["missing"] = json!({"policy": "unscorable_above"}),
        "field `rule.missing.max_missing`: is required",
    );
    expect_one(
        |v| v["rule"]["missing"] = json!({"policy": "count_as_wrong", "max_missing": 2}),
        "field `rule.missing.max_missing`: does not apply to count_as_wrong (use unscorable_above)",
    );
}

#[test]
fn an_instrument_serializes_back_to_its_own_format() {
    let ins = common::instrument(&base());
    let again = serde_json::to_value(&ins).unwrap();
    let reparsed = common::instrument(&again);
    assert_eq!(serde_json::to_value(&reparsed).unwrap(), again);
    assert_eq!(again["items"][4]["type"], "multiple_select");
    assert_eq!(again["rule"]["kind"], "total_score");
    assert_eq!(again["rule"]["missing"]["policy"], "unscorable_above");
}

#[test]
fn structural_problems() {
    assert_eq!(
        problems(&json!([1, 2])),
        ["expected an object, found an array"]
    );
    expect_one(
        |v| v["version"] = json!(3),
        "field `version`: expected a string, found 3",
    );
    expect_one(
        |v| v["title"] = json!("Test"),
        "field `title`: expected an object, found the string \"Test\"",
    );
    expect_one(
        |v| v["languages"] = json!(["zh-CN", "en", 5]),
        "field `languages[2]`: expected a language tag, found 5",
    );
    expect_one(
        |v| v["dimensions"] = json!({"know": 60}),
        "field `dimensions`: expected an array, found an object",
    );
    expect_one(
        |v| v["dimensions"] = json!([]),
        "field `dimensions`: must list at least one dimension",
    );
    expect_one(
        |v| v["items"] = json!([]),
        "field `items`: must list at least one item",
    );
    expect_one(
        |v| v["items"][0] = json!(5),
        "item items[0], expected an object, found 5",
    );
    expect_one(
        |v| item(v, "N1")["unit"] = json!("minutes"),
        "item N1, field `unit`: expected an object, found the string \"minutes\"",
    );
    expect_one(
        |v| v["rule"]["bands"][3]["from"] = json!(120),
        "field `rule.bands[3].from`: 120 is not on the 0-100 total",
    );
    expect_one(
        |v| {
            v["rule"]["bands"] = Value::Array(
                (0..101)
                    .map(|i| json!({"id": format!("b{i}"), "name": {"zh-CN": "段", "en": "band"}, "from": i}))
                    .collect(),
            );
        },
        "field `rule.bands`: has 101 bands; at most 100 are allowed",
    );
}
