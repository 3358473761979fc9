//! The instrument: a versioned questionnaire with its keys, points and one
//! qualification rule. Built only by [`Instrument::from_json`], which
//! validates everything, so the rest of the engine can trust its invariants.

mod parse;

use std::collections::HashMap;

use serde::Serialize;

use crate::demographics::Demographic;
use crate::rule::QualificationRule;
use crate::text::Text;

pub use parse::{InstrumentError, Problem};

/// Largest number of options a multiple-select item may have (its answer is
/// a bit set stored in one cell, and its score table has 2^options entries).
pub const MAX_MULTI_OPTIONS: usize = 12;
/// Largest option code.
pub const MAX_OPTION_CODE: u16 = 999;
/// Largest number of distinct values a numeric item's range may span.
pub const MAX_NUMERIC_SPAN: i64 = 65_534;

/// A validated questionnaire version.
#[derive(Debug, Clone, Serialize)]
pub struct Instrument {
    /// Stable identifier, e.g. `csl-2026`.
    pub id: String,
    /// Version; a published `(id, version)` never changes.
    pub version: String,
    /// Year ages are computed against.
    pub fieldwork_year: i32,
    /// Title shown to respondents.
    pub title: Text,
    /// Languages every text is given in; the first is `zh-CN`.
    pub languages: Vec<String>,
    /// The parts of the score, with their weight on the 0-100 total.
    pub dimensions: Vec<Dimension>,
    /// Pages of the questionnaire, in order.
    pub sections: Vec<Section>,
    /// The scored items, in questionnaire order.
    pub items: Vec<Item>,
    /// Demographic questions asked, with engine-defined codes.
    pub demographics: Vec<Demographic>,
    /// How a respondent qualifies.
    pub rule: QualificationRule,
    /// Item positions by id ([`Instrument::item_index`] runs for every
    /// answer of every submit).
    #[serde(skip)]
    item_positions: HashMap<String, usize>,
}

/// One part of the score (for example scientific knowledge).
#[derive(Debug, Clone, Serialize)]
pub struct Dimension {
    /// Identifier, e.g. `knowledge`.
    pub id: String,
    /// Display name.
    pub name: Text,
    /// Weight of this dimension on the 0-100 total.
    pub points: f64,
    /// Sum of the raw points of the dimension's items.
    #[serde(skip)]
    pub raw_max: f64,
}

/// One page of the questionnaire.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// Identifier.
    pub id: String,
    /// Page title.
    pub title: Text,
    /// Item ids on this page, in order.
    pub items: Vec<String>,
}

/// One scored question.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Identifier, also the item's column name in answer files.
    pub id: String,
    /// Id of the dimension the item scores into.
    pub dimension: String,
    /// Index of that dimension in [`Instrument::dimensions`].
    #[serde(skip)]
    pub dimension_index: usize,
    /// Question text.
    pub text: Text,
    /// Raw points for a fully correct answer.
    pub points: f64,
    /// Type, options and key.
    #[serde(flatten)]
    pub kind: ItemKind,
}

/// One answer option of a choice item.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// Code written in answer files.
    pub code: u16,
    /// Label shown to respondents.
    pub label: Text,
    /// Whether this option is "don't know" (an answer that scores zero).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dont_know: bool,
}

/// How a multiple-select item is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiScoring {
    /// Full points only for exactly the key set.
    AllOrNothing,
    /// `points * max(0, hits - wrong picks) / key size`.
    PartialCredit,
}

/// Which end of an ordinal scale scores highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The last option listed scores full points.
    Ascending,
    /// The first option listed scores full points.
    Descending,
}

/// Inclusive integer interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Interval {
    /// Lower bound.
    pub min: i64,
    /// Upper bound.
    pub max: i64,
}

/// Item type with its options and key.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemKind {
    /// True / false / don't know, with fixed codes 1, 2, 8.
    TrueFalse {
        /// The correct answer.
        key: bool,
    },
    /// One option from a list.
    SingleChoice {
        /// Options, in display order.
        options: Vec<Choice>,
        /// Code of the correct option.
        key: u16,
    },
    /// Any non-empty set of options.
    MultipleSelect {
        /// Options, in display order.
        options: Vec<Choice>,
        /// Codes of the correct options.
        key: Vec<u16>,
        /// All-or-nothing or partial credit.
        scoring: MultiScoring,
    },
    /// A Likert scale scored by keyed direction.
    Ordinal {
        /// Scale options from one end to the other (plus don't know).
        options: Vec<Choice>,
        /// Which end scores highest.
        direction: Direction,
    },
    /// An integer answer within a range.
    Numeric {
        /// Answers that may be given.
        range: Interval,
        /// Answers that score.
        key: Interval,
        /// Code that records "don't know", outside `range`.
        #[serde(skip_serializing_if = "Option::is_none")]
        dont_know_code: Option<i64>,
        /// Unit shown after the input.
        #[serde(skip_serializing_if = "Option::is_none")]
        unit: Option<Text>,
    },
}

/// True / false / don't-know codes of a `true_false` item.
pub mod true_false {
    /// Code for "true" (对).
    pub const TRUE: u16 = 1;
    /// Code for "false" (错).
    pub const FALSE: u16 = 2;
    /// Code for "don't know" (不知道).
    pub const DONT_KNOW: u16 = 8;
}

impl ItemKind {
    /// Name of the type as written in instrument files.
    pub fn type_name(&self) -> &'static str {
        match self {
            ItemKind::TrueFalse { .. } => "true_false",
            ItemKind::SingleChoice { .. } => "single_choice",
            ItemKind::MultipleSelect { .. } => "multiple_select",
            ItemKind::Ordinal { .. } => "ordinal",
            ItemKind::Numeric { .. } => "numeric",
        }
    }
}

impl Instrument {
    /// Parses and validates an instrument; `source` names the file in messages.
    pub fn from_json(source: &str, json: &str) -> Result<Instrument, InstrumentError> {
        parse::parse(source, json)
    }

    /// Index of the item with this id.
    pub fn item_index(&self, id: &str) -> Option<usize> {
        self.item_positions.get(id).copied()
    }

    /// Largest possible raw score of each dimension, in dimension order.
    pub fn raw_max(&self) -> Vec<f64> {
        self.dimensions.iter().map(|d| d.raw_max).collect()
    }
}
