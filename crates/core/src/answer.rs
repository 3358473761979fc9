//! Answers as compact cells: one `u16` per item and respondent, so a round
//! of a million respondents fits in memory and scores by table look-up.
//!
//! Cell 0 is missing. Choice items store the option's position plus one,
//! multiple-select items a bit set of positions, numeric items the offset of
//! the value from the range's minimum plus one (don't know just past the
//! range). Raw answers stay in the store; cells can always be decoded back.

use std::fmt;

use crate::instrument::{Choice, Direction, Item, ItemKind, MultiScoring, true_false};
use crate::text::{PRIMARY_LANGUAGE, Text, code_list};

/// One encoded answer.
pub type Cell = u16;

/// The cell of a missing answer.
pub const MISSING: Cell = 0;

/// Separator between the codes of a multiple-select answer (`1;3`).
pub const MULTI_SEPARATOR: char = ';';

/// Why an answer is not acceptable for its item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// Not one of the item's codes.
    #[error("not one of the item's codes: {allowed}")]
    NotACode {
        /// The codes that are allowed, with their labels.
        allowed: String,
    },
    /// A numeric item's answer is not a whole number.
    #[error("not a whole number")]
    NotAnInteger,
    /// A numeric item's answer is outside its range.
    #[error("outside the range {min}..{max}{dont_know}")]
    OutOfRange {
        /// Smallest answer.
        min: i64,
        /// Largest answer.
        max: i64,
        /// How don't know is written, if the item has a code for it.
        dont_know: String,
    },
    /// A multiple-select answer names a code twice.
    #[error("code {0} is given twice")]
    Repeated(u16),
    /// The answer's bytes are not UTF-8 text.
    #[error("is not valid UTF-8 text")]
    NotUtf8,
    /// A multiple-select answer combines don't know with other codes.
    #[error("don't know ({0}) cannot be combined with other codes")]
    DontKnowCombined(u16),
}

impl AnswerError {
    /// The message in Chinese, for pages and reports read in Chinese;
    /// `item` is the item answered (its options are named).
    pub fn zh(&self, item: &Item) -> String {
        match self {
            AnswerError::NotACode { .. } => {
                let list = item
                    .choices()
                    .map(|cs| allowed(&cs, PRIMARY_LANGUAGE))
                    .unwrap_or_default();
                if matches!(item.kind, ItemKind::MultipleSelect { .. }) {
                    format!("不是本题的选项代码：可选 {list}（多选用“{MULTI_SEPARATOR}”分隔）")
                } else {
                    format!("不是本题的选项代码：可选 {list}")
                }
            }
            AnswerError::NotAnInteger => "不是整数".to_owned(),
            AnswerError::OutOfRange { min, max, .. } => {
                let dont_know = match &item.kind {
                    ItemKind::Numeric {
                        dont_know_code: Some(c),
                        ..
                    } => format!("，不知道填 {c}"),
                    _ => String::new(),
                };
                format!("超出范围 {min}–{max}{dont_know}")
            }
            AnswerError::Repeated(code) => format!("代码 {code} 重复"),
            AnswerError::NotUtf8 => "不是有效的 UTF-8 文本".to_owned(),
            AnswerError::DontKnowCombined(code) => {
                format!("“不知道”（{code}）不能与其他代码同选")
            }
        }
    }
}

const TRUE_FALSE_CODES: [(u16, &str, &str); 3] = [
    (true_false::TRUE, "对", "true"),
    (true_false::FALSE, "错", "false"),
    (true_false::DONT_KNOW, "不知道", "don't know"),
];

/// The fixed options of a true / false / don't know item.
pub fn true_false_options() -> Vec<Choice> {
    TRUE_FALSE_CODES
        .iter()
        .map(|&(code, zh, en)| Choice {
            code,
            label: Text::zh_en(zh, en),
            dont_know: code == true_false::DONT_KNOW,
        })
        .collect()
}

/// The options with their labels in `lang`.
fn allowed(options: &[Choice], lang: &str) -> String {
    code_list(options.iter().map(|c| (c.code, &c.label)), lang)
}

fn position(options: &[Choice], code: &str) -> Option<usize> {
    let code: u16 = code.parse().ok()?;
    options.iter().position(|c| c.code == code)
}

fn index_cell(index: usize) -> Cell {
    // Option counts are bounded by validation (codes 1..=999), so this fits.
    Cell::try_from(index + 1).unwrap_or(Cell::MAX)
}

impl Item {
    /// The options answers are coded with (fixed for true / false items).
    pub fn choices(&self) -> Option<std::borrow::Cow<'_, [Choice]>> {
        match &self.kind {
            ItemKind::TrueFalse { .. } => Some(true_false_options().into()),
            ItemKind::SingleChoice { options, .. }
            | ItemKind::MultipleSelect { options, .. }
            | ItemKind::Ordinal { options, .. } => Some(options.as_slice().into()),
            ItemKind::Numeric { .. } => None,
        }
    }

    /// Encodes the text of one answer ([`crate::text::normalize`]d, so
    /// full-width digits count); empty (or blank) is missing.
    pub fn encode(&self, text: &str) -> Result<Cell, AnswerError> {
        let text = crate::text::normalize(text);
        let text = text.trim();
        if text.is_empty() {
            return Ok(MISSING);
        }
        match &self.kind {
            ItemKind::Numeric {
                range,
                dont_know_code,
                ..
            } => {
                let value: i64 = text.parse().map_err(|_| AnswerError::NotAnInteger)?;
                if Some(value) == *dont_know_code {
                    return Ok(numeric_dont_know_cell(range.min, range.max));
                }
                if value < range.min || value > range.max {
                    return Err(AnswerError::OutOfRange {
                        min: range.min,
                        max: range.max,
                        dont_know: dont_know_code
                            .map(|c| format!(", or {c} for don't know"))
                            .unwrap_or_default(),
                    });
                }
                Ok(Cell::try_from(value - range.min + 1).unwrap_or(Cell::MAX))
            }
            ItemKind::MultipleSelect { options, .. } => {
                let mut mask: Cell = 0;
                for part in text.split(MULTI_SEPARATOR) {
                    let part = part.trim();
                    let index = position(options, part).ok_or_else(|| AnswerError::NotACode {
                        allowed: format!(
                            "{} (several separated by `{MULTI_SEPARATOR}`)",
                            allowed(options, "en")
                        ),
                    })?;
                    let bit = 1 << index;
                    if mask & bit != 0 {
                        return Err(AnswerError::Repeated(options[index].code));
                    }
                    mask |= bit;
                }
                if let Some(dk) = options.iter().position(|c| c.dont_know)
                    && mask & (1 << dk) != 0
                    && mask != 1 << dk
                {
                    return Err(AnswerError::DontKnowCombined(options[dk].code));
                }
                Ok(mask)
            }
            ItemKind::TrueFalse { .. } => text
                .parse::<u16>()
                .ok()
                .and_then(|code| TRUE_FALSE_CODES.iter().position(|&(c, _, _)| c == code))
                .map(index_cell)
                .ok_or_else(|| AnswerError::NotACode {
                    allowed: allowed(&true_false_options(), "en"),
                }),
            ItemKind::SingleChoice { options, .. } | ItemKind::Ordinal { options, .. } => {
                position(options, text)
                    .map(index_cell)
                    .ok_or_else(|| AnswerError::NotACode {
                        allowed: allowed(options, "en"),
                    })
            }
        }
    }

    /// The answer text of a cell, as it would be written in an answer file
    /// (empty for missing).
    pub fn decode(&self, cell: Cell) -> String {
        if cell == MISSING {
            return String::new();
        }
        match &self.kind {
            ItemKind::Numeric {
                range,
                dont_know_code,
                ..
            } => {
                if cell == numeric_dont_know_cell(range.min, range.max) {
                    dont_know_code.map(|c| c.to_string()).unwrap_or_default()
                } else {
                    (range.min + i64::from(cell) - 1).to_string()
                }
            }
            ItemKind::MultipleSelect { options, .. } => options
                .iter()
                .enumerate()
                .filter(|(i, _)| cell & (1 << i) != 0)
                .map(|(_, c)| c.code.to_string())
                .collect::<Vec<_>>()
                .join(";"),
            ItemKind::TrueFalse { .. } => TRUE_FALSE_CODES
                .get(usize::from(cell) - 1)
                .map(|&(code, _, _)| code.to_string())
                .unwrap_or_default(),
            ItemKind::SingleChoice { options, .. } | ItemKind::Ordinal { options, .. } => options
                .get(usize::from(cell) - 1)
                .map(|c| c.code.to_string())
                .unwrap_or_default(),
        }
    }

    /// Number of distinct cell values, missing included: every valid cell
    /// is below it.
    pub fn cell_count(&self) -> usize {
        match &self.kind {
            ItemKind::TrueFalse { .. } => TRUE_FALSE_CODES.len() + 1,
            ItemKind::SingleChoice { options, .. } | ItemKind::Ordinal { options, .. } => {
                options.len() + 1
            }
            ItemKind::MultipleSelect { options, .. } => 1 << options.len(),
            ItemKind::Numeric { range, .. } => {
                usize::from(numeric_dont_know_cell(range.min, range.max)) + 1
            }
        }
    }

    /// Whether a cell is a don't-know answer.
    pub fn is_dont_know(&self, cell: Cell) -> bool {
        match &self.kind {
            ItemKind::Numeric { range, .. } => cell == numeric_dont_know_cell(range.min, range.max),
            ItemKind::MultipleSelect { options, .. } => options
                .iter()
                .position(|c| c.dont_know)
                .is_some_and(|dk| cell == 1 << dk),
            ItemKind::TrueFalse { .. } => TRUE_FALSE_CODES
                .iter()
                .position(|&(code, _, _)| code == true_false::DONT_KNOW)
                .is_some_and(|i| usize::from(cell) == i + 1),
            ItemKind::SingleChoice { options, .. } | ItemKind::Ordinal { options, .. } => {
                cell != MISSING
                    && options
                        .get(usize::from(cell) - 1)
                        .is_some_and(|c| c.dont_know)
            }
        }
    }

    /// Points earned by each cell value (index = cell); missing and don't
    /// know earn zero. Scoring is one look-up per answer.
    pub fn score_table(&self) -> Vec<f64> {
        let p = self.points;
        let mut table = vec![0.0; self.cell_count()];
        match &self.kind {
            ItemKind::TrueFalse { key } => {
                let correct = if *key {
                    true_false::TRUE
                } else {
                    true_false::FALSE
                };
                for (i, &(code, _, _)) in TRUE_FALSE_CODES.iter().enumerate() {
                    if code == correct {
                        table[i + 1] = p;
                    }
                }
            }
            ItemKind::SingleChoice { options, key } => {
                for (i, c) in options.iter().enumerate() {
                    if c.code == *key {
                        table[i + 1] = p;
                    }
                }
            }
            ItemKind::MultipleSelect {
                options,
                key,
                scoring,
            } => {
                let key_mask: usize = options
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| key.contains(&c.code))
                    .map(|(i, _)| 1 << i)
                    .sum();
                let dk_mask: usize = options
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.dont_know)
                    .map(|(i, _)| 1 << i)
                    .sum();
                for (mask, points) in table.iter_mut().enumerate().skip(1) {
                    if mask & dk_mask != 0 {
                        continue;
                    }
                    *points = match scoring {
                        MultiScoring::AllOrNothing if mask == key_mask => p,
                        MultiScoring::AllOrNothing => 0.0,
                        MultiScoring::PartialCredit => {
                            let hits = (mask & key_mask).count_ones() as f64;
                            let wrong = (mask & !key_mask).count_ones() as f64;
                            p * (hits - wrong).max(0.0) / key.len() as f64
                        }
                    };
                }
            }
            ItemKind::Ordinal { options, direction } => {
                let k = options.iter().filter(|c| !c.dont_know).count();
                let steps = (k - 1) as f64;
                let mut rank = 0usize;
                for (i, c) in options.iter().enumerate() {
                    if c.dont_know {
                        continue;
                    }
                    let position = match direction {
                        Direction::Ascending => rank,
                        Direction::Descending => k - 1 - rank,
                    };
                    table[i + 1] = p * position as f64 / steps;
                    rank += 1;
                }
            }
            ItemKind::Numeric { range, key, .. } => {
                for value in key.min..=key.max {
                    table[usize::try_from(value - range.min + 1).unwrap_or(0)] = p;
                }
                table[0] = 0.0;
            }
        }
        table
    }
}

fn numeric_dont_know_cell(min: i64, max: i64) -> Cell {
    Cell::try_from(max - min + 2).unwrap_or(Cell::MAX)
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

/// Encodes the raw bytes of answers to one item quickly: a plain code of
/// one to three digits (the usual keyed-in answer) is looked up in a table;
/// anything else goes through [`Item::encode`], so results and errors are
/// exactly those of `encode`.
#[derive(Debug, Clone)]
pub struct Encoder<'a> {
    item: &'a Item,
    /// Cell of each code 0..=999, or [`MISSING`] when the code needs the slow path.
    by_code: Vec<Cell>,
}

impl<'a> Encoder<'a> {
    /// Prepares the look-up table of an item.
    pub fn new(item: &'a Item) -> Self {
        let by_code = (0..1000u16)
            .map(|code| {
                let cell = item.encode(&code.to_string()).unwrap_or(MISSING);
                // Numeric answers decode to the same number; choice codes to themselves.
                if cell != MISSING && item.decode(cell) == code.to_string() {
                    cell
                } else {
                    MISSING
                }
            })
            .collect();
        Self { item, by_code }
    }

    /// The item encoded.
    pub fn item(&self) -> &'a Item {
        self.item
    }

    /// Encodes one raw answer.
    pub fn encode(&self, raw: &[u8]) -> Result<Cell, AnswerError> {
        if !raw.is_empty() && raw.len() <= 3 && raw.iter().all(u8::is_ascii_digit) {
            let code = raw
                .iter()
                .fold(0usize, |n, &b| n * 10 + usize::from(b - b'0'));
            if (raw[0] != b'0' || raw.len() == 1)
                && let Some(&cell) = self.by_code.get(code)
                && cell != MISSING
            {
                return Ok(cell);
            }
        }
        match std::str::from_utf8(raw) {
            Ok(text) => self.item.encode(text),
            Err(_) => Err(AnswerError::NotUtf8),
        }
    }
}
