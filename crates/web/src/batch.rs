//! Validation of an uploaded paper batch: every row is checked against the
//! instrument's codes, the demographic codes and the uploader's province,
//! and every problem is listed (line, column, value, message), not just
//! the first. Optional design columns (`stratum`, `psu`, `weight`) carry a
//! sampled household's design into the estimates. Pure: storing the
//! accepted rows is the caller's job.

use literacy_core::answer::Encoder;
use literacy_core::demographics::{self, Demographic};
use literacy_core::{Cell, Instrument, MISSING};
use literacy_store::StoreError;
use literacy_store::batches;
use literacy_store::sessions::Answers;
use literacy_table::{FirstSeen, Header, Options, Record, TableError, TableReader};
use serde::Serialize;

use crate::lang::Lang;

/// The column holding each row's respondent identifier.
pub const RESPONDENT_ID: &str = "respondent_id";
/// The optional column holding the collection mode (default `paper`).
pub const MODE: &str = "mode";
/// The modes a batch row may carry.
pub const MODES: [&str; 3] = ["paper", "tablet", "online"];
/// The optional design columns: stratum, primary sampling unit, design
/// weight. A file that has one gives it on every row.
pub const DESIGN: [&str; 3] = ["stratum", "psu", "weight"];
/// Longest stratum or PSU label.
const MAX_LABEL: usize = 64;

/// One problem in a batch, as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Line in the file, the header being line 1.
    pub line: u64,
    /// The column at fault (empty when the whole row is).
    pub column: String,
    /// The value found (empty when missing).
    pub value: String,
    /// What is wrong and what is allowed.
    pub message: String,
    /// The same in Chinese (empty in reports stored before it was kept).
    #[serde(default)]
    pub message_zh: String,
}

impl Problem {
    /// The message in `lang` (`zh-CN` or `en`), English when no Chinese is kept.
    pub fn message_in(&self, lang: &str) -> &str {
        if lang.starts_with("zh") && !self.message_zh.is_empty() {
            &self.message_zh
        } else {
            &self.message
        }
    }

    /// A stored respondent's row: reported, never overwritten.
    pub fn already_stored(line: u64, respondent_id: &str) -> Problem {
        Problem {
            line,
            column: RESPONDENT_ID.to_owned(),
            value: respondent_id.to_owned(),
            message: Lang::En.msg("batch.already_stored").to_owned(),
            message_zh: Lang::Zh.msg("batch.already_stored").to_owned(),
        }
    }
}

/// A row that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRow {
    /// Line in the file.
    pub line: u64,
    /// The respondent's identifier, unique within the province.
    pub respondent_id: String,
    /// GB/T 2260 province code.
    pub province: u16,
    /// The demographic answers other than province, by column name.
    pub demographics: Vec<(&'static str, u16)>,
    /// Collection mode.
    pub mode: &'static str,
    /// The design columns given (`stratum`, `psu`, `weight`), the weight
    /// as the shortest text that reads back the same number.
    pub design: Vec<(&'static str, String)>,
    /// Encoded answers in the instrument's item order ([`MISSING`] when empty).
    pub cells: Vec<Cell>,
}

impl BatchRow {
    /// The answers as stored: item id to answer text, missing answers left out.
    pub fn answers(&self, instrument: &Instrument) -> Answers {
        instrument
            .items
            .iter()
            .zip(&self.cells)
            .filter(|(_, c)| **c != MISSING)
            .map(|(item, &c)| (item.id.clone(), item.decode(c)))
            .collect()
    }

    /// The demographics as stored: column name to code, province
    /// included, and the design columns given (where the estimates read
    /// them).
    pub fn demographics(&self) -> Answers {
        std::iter::once(("province", self.province))
            .chain(self.demographics.iter().copied())
            .map(|(k, v)| (k.to_owned(), v.to_string()))
            .chain(
                self.design
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone())),
            )
            .collect()
    }

    /// The row as the store commits it (answers serialized, so a large
    /// batch never holds a map per row).
    pub fn to_store(&self, instrument: &Instrument) -> Result<batches::BatchRow, StoreError> {
        batches::BatchRow::new(
            self.line,
            self.respondent_id.clone(),
            &self.answers(instrument),
            &self.demographics(),
            None,
        )
    }
}

/// Problems listed in a report, at most this many for each column (every
/// one is still counted): a file of a million bad cells makes a report of
/// a bounded size.
pub const LISTED_PER_COLUMN: usize = 1_000;

/// A batch's problems: the first [`LISTED_PER_COLUMN`] of each column
/// listed in line order, every one counted by column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Problems {
    listed: Vec<Problem>,
    counts: std::collections::BTreeMap<String, usize>,
}

impl Problems {
    /// Counts `problem`, and lists it while its column has room.
    pub fn push(&mut self, problem: Problem) {
        let count = self.counts.entry(problem.column.clone()).or_insert(0);
        *count += 1;
        if *count <= LISTED_PER_COLUMN {
            self.listed.push(problem);
        }
    }

    /// The problems listed, in line order.
    pub fn listed(&self) -> &[Problem] {
        &self.listed
    }

    /// Every problem, by column (the whole row's under `""`).
    pub fn counts(&self) -> &std::collections::BTreeMap<String, usize> {
        &self.counts
    }

    /// How many problems there are, listed or not.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    /// How many were counted but not listed.
    pub fn unlisted(&self) -> usize {
        self.total() - self.listed.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Puts the listed problems in line order (stable within a line).
    pub fn sort(&mut self) {
        self.listed.sort_by_key(|p| p.line);
    }
}

/// The outcome of checking a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckedBatch {
    /// Data rows read (the header not counted).
    pub rows: usize,
    /// Rows with no problem, in file order.
    pub accepted: Vec<BatchRow>,
    /// The problems, in file order.
    pub problems: Problems,
}

impl CheckedBatch {
    /// Rows with at least one problem.
    pub fn rejected(&self) -> usize {
        self.rows - self.accepted.len()
    }

    /// Rejects the accepted rows whose respondent is already stored (a
    /// respondent is never overwritten).
    pub fn reject_stored(&mut self, is_stored: impl Fn(&str) -> bool) {
        let mut kept = Vec::with_capacity(self.accepted.len());
        for row in std::mem::take(&mut self.accepted) {
            if is_stored(&row.respondent_id) {
                self.problems
                    .push(Problem::already_stored(row.line, &row.respondent_id));
            } else {
                kept.push(row);
            }
        }
        self.accepted = kept;
        self.problems.sort();
    }
}

/// A batch that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchFileError {
    /// The header lacks required columns, names one twice, or has one
    /// nothing reads.
    #[error("header: {message}")]
    Header {
        /// What is wrong, in English.
        message: String,
        /// The same in Chinese.
        message_zh: String,
    },
    /// The file is not a readable table (its encoding, an unclosed quote).
    #[error(transparent)]
    Table(TableError),
    /// The file has a header and nothing else.
    #[error("the file has no data rows")]
    Empty,
}

impl BatchFileError {
    /// The error in Chinese, for the upload page.
    pub fn zh(&self) -> String {
        match self {
            BatchFileError::Header { message_zh, .. } => format!("表头：{message_zh}"),
            BatchFileError::Table(e) => e.zh(),
            BatchFileError::Empty => Lang::Zh.msg("batch.empty").to_owned(),
        }
    }

    fn header((message, message_zh): (String, String)) -> BatchFileError {
        BatchFileError::Header {
            message,
            message_zh,
        }
    }
}

impl From<TableError> for BatchFileError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::DuplicateColumn {
                name,
                first,
                second,
                ..
            } => BatchFileError::header(msg_both(
                "batch.column_twice",
                &[
                    ("name", &format!("{name:?}")),
                    ("first", &first),
                    ("second", &second),
                ],
            )),
            TableError::EmptyColumnName { column, .. } => {
                BatchFileError::header(msg_both("batch.column_unnamed", &[("column", &column)]))
            }
            TableError::Header { problem, .. } => {
                BatchFileError::header((problem.to_string(), problem.zh()))
            }
            TableError::Empty => BatchFileError::Empty,
            other => BatchFileError::Table(other),
        }
    }
}

/// Column positions of a batch file.
struct Layout {
    width: usize,
    header: Header,
    id: usize,
    items: Vec<usize>,
    demographics: Vec<(Demographic, usize)>,
    mode: Option<usize>,
    design: Vec<(&'static str, usize)>,
}

fn layout(instrument: &Instrument, header: &Header) -> Result<Layout, BatchFileError> {
    let find = |name: &str| header.position(name);
    let mut missing: Vec<&str> = Vec::new();
    let id = find(RESPONDENT_ID);
    if id.is_none() {
        missing.push(RESPONDENT_ID);
    }
    let items: Vec<Option<usize>> = instrument.items.iter().map(|i| find(&i.id)).collect();
    missing.extend(
        instrument
            .items
            .iter()
            .zip(&items)
            .filter(|(_, c)| c.is_none())
            .map(|(i, _)| i.id.as_str()),
    );
    let demographics: Vec<(Demographic, Option<usize>)> = demographics::ALL
        .iter()
        .map(|d| (*d, find(d.id())))
        .collect();
    missing.extend(
        demographics
            .iter()
            .filter(|(_, c)| c.is_none())
            .map(|(d, _)| d.id()),
    );
    if !missing.is_empty() {
        let says = |lang: Lang| {
            let list = &missing.join(lang.msg("list.separator"));
            if missing.len() == 1 {
                lang.msgf("batch.missing_column", &[("list", list)])
            } else {
                lang.msgf("batch.missing_columns", &[("list", list)])
            }
        };
        return Err(BatchFileError::header((says(Lang::En), says(Lang::Zh))));
    }
    let layout = Layout {
        width: header.len(),
        id: id.unwrap_or_default(),
        items: items.into_iter().flatten().collect(),
        demographics: demographics
            .into_iter()
            .filter_map(|(d, c)| c.map(|c| (d, c)))
            .collect(),
        mode: find(MODE),
        design: DESIGN
            .iter()
            .filter_map(|name| find(name).map(|c| (*name, c)))
            .collect(),
        header: header.clone(),
    };
    // A column nothing reads would be dropped unseen (a misspelt `weight`
    // would lose every row's design weight): refused, named.
    let mut read = vec![false; layout.width];
    for c in std::iter::once(layout.id)
        .chain(layout.items.iter().copied())
        .chain(layout.demographics.iter().map(|&(_, c)| c))
        .chain(layout.mode)
        .chain(layout.design.iter().map(|&(_, c)| c))
    {
        read[c] = true;
    }
    let unknown: Vec<&str> = layout
        .header
        .names()
        .iter()
        .zip(&read)
        .filter(|(_, read)| !**read)
        .map(|(name, _)| name.as_str())
        .collect();
    if !unknown.is_empty() {
        let demographics = demographics::ALL.iter().map(|d| d.id()).collect::<Vec<_>>();
        // At most 20 names, so a header of 100,000 columns gives a short message.
        let shown: Vec<String> = unknown
            .iter()
            .take(20)
            .map(|n| literacy_table::shorten(n, 40))
            .collect();
        let more = unknown.len().saturating_sub(20);
        let says = |lang: Lang| {
            let sep = lang.msg("list.separator");
            let more = if more > 0 {
                lang.msgf("batch.more_columns", &[("more", &more)])
            } else {
                String::new()
            };
            let args: [(&str, &dyn std::fmt::Display); 5] = [
                ("list", &shown.join(sep)),
                ("more", &more),
                ("demographics", &demographics.join(sep)),
                ("mode", &MODE),
                ("design", &DESIGN.join(sep)),
            ];
            if unknown.len() == 1 {
                lang.msgf("batch.unknown_column", &args)
            } else {
                lang.msgf("batch.unknown_columns", &args)
            }
        };
        return Err(BatchFileError::header((says(Lang::En), says(Lang::Zh))));
    }
    Ok(layout)
}

/// Checks a batch (CSV, or a spreadsheet's sheet) for `province` (the
/// uploader's) against `instrument`, read as `options` say.
pub fn check(
    instrument: &Instrument,
    province: u16,
    body: &[u8],
    options: &Options,
) -> Result<CheckedBatch, BatchFileError> {
    let mut reader = TableReader::from_bytes(body, options)?;
    let header = reader.header()?;
    let layout = layout(instrument, &header)?;
    let encoders: Vec<Encoder<'_>> = instrument.items.iter().map(Encoder::new).collect();
    let mut out = CheckedBatch::default();
    let mut seen = FirstSeen::default();
    let mut record = Record::default();
    while reader.read(&mut record)? {
        out.rows += 1;
        let line = record.line();
        let mut found = Vec::new();
        let row = check_row(
            instrument, province, &encoders, &layout, &record, &mut found,
        );
        if let Some(row) = row {
            match seen.first_line(&row.respondent_id, line) {
                Some(first) => found.push(Problem {
                    line,
                    column: RESPONDENT_ID.to_owned(),
                    value: shown(&row.respondent_id),
                    message: Lang::En.msgf("batch.same_respondent", &[("first", &first)]),
                    message_zh: Lang::Zh.msgf("batch.same_respondent", &[("first", &first)]),
                }),
                None if found.is_empty() => out.accepted.push(row),
                None => {}
            }
        }
        for problem in found {
            out.problems.push(problem);
        }
    }
    if out.rows == 0 {
        return Err(BatchFileError::Empty);
    }
    Ok(out)
}

/// Values are shortened to this many characters in problems.
const VALUE_CHARS: usize = 80;

/// A value as a problem shows it: shortened, control characters escaped.
fn shown(value: &str) -> String {
    literacy_table::shorten(value, VALUE_CHARS)
}

/// Checks one row, pushing its problems; returns the row when its
/// identifier could be read (so duplicates are found even in bad rows), or
/// `None` when the row is unusable.
fn check_row(
    instrument: &Instrument,
    province: u16,
    encoders: &[Encoder<'_>],
    layout: &Layout,
    record: &Record,
    problems: &mut Vec<Problem>,
) -> Option<BatchRow> {
    let line = record.line();
    let mut problem = |column: &str, value: &str, message: String, message_zh: String| {
        problems.push(Problem {
            line,
            column: column.to_owned(),
            value: shown(value),
            message,
            message_zh,
        });
    };
    if let Some(placed) = record.placed_problem(&layout.header) {
        problem(
            placed.column,
            placed.value,
            placed.problem.to_string(),
            placed.problem.zh(),
        );
        return None;
    }
    let field = |c: usize| record.get(c).unwrap_or_default();
    let id_raw = field(layout.id);
    let respondent_id = id_raw.trim().to_owned();
    if respondent_id.is_empty() {
        let (en, zh) = msg_both("batch.id_empty", &[]);
        problem(RESPONDENT_ID, id_raw, en, zh);
    } else if respondent_id.chars().count() > 64 {
        let (en, zh) = msg_both("batch.too_long", &[("max", &64)]);
        problem(RESPONDENT_ID, id_raw, en, zh);
    }
    let mut cells = Vec::with_capacity(encoders.len());
    for (encoder, &c) in encoders.iter().zip(&layout.items) {
        let raw = field(c);
        match encoder.encode(raw.as_bytes()) {
            Ok(cell) => cells.push(cell),
            Err(e) => {
                cells.push(MISSING);
                problem(&encoder.item().id, raw, e.to_string(), e.zh(encoder.item()));
            }
        }
    }
    let mut row_province = province;
    let mut demographics = Vec::with_capacity(layout.demographics.len());
    for &(d, c) in &layout.demographics {
        let raw = field(c);
        match d.parse(raw, instrument.fieldwork_year) {
            Ok(code) if d == Demographic::Province => {
                row_province = code;
                if code != province {
                    let (en, zh) = msg_both(
                        "batch.other_province",
                        &[("code", &code), ("province", &province)],
                    );
                    problem(d.id(), raw, en, zh);
                }
            }
            Ok(code) => demographics.push((d.id(), code)),
            Err(e) => problem(d.id(), raw, e.to_string(), e.zh()),
        }
    }
    let mode = match layout.mode.map(field) {
        None => "paper",
        Some(raw) => {
            let text = literacy_core::text::normalize(raw);
            let text = text.trim();
            if text.is_empty() {
                "paper"
            } else if let Some(m) = MODES.iter().find(|m| **m == text) {
                m
            } else {
                let (en, zh) = (MODES.join(", "), MODES.join("、"));
                problem(
                    MODE,
                    raw,
                    Lang::En.msgf("batch.not_a_mode", &[("list", &en)]),
                    Lang::Zh.msgf("batch.not_a_mode", &[("list", &zh)]),
                );
                "paper"
            }
        }
    };
    let mut design = Vec::with_capacity(layout.design.len());
    for &(name, c) in &layout.design {
        let raw = field(c);
        match design_value(name, raw) {
            Ok(value) => design.push((name, value)),
            Err((message, message_zh)) => problem(name, raw, message, message_zh),
        }
    }
    (!respondent_id.is_empty()).then_some(BatchRow {
        line,
        respondent_id,
        province: row_province,
        demographics,
        mode,
        design,
        cells,
    })
}

/// A catalog message in English and in Chinese (a batch's problems carry
/// both: the API and the stored report give both).
fn msg_both(key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> (String, String) {
    (Lang::En.msgf(key, args), Lang::Zh.msgf(key, args))
}

/// A design column's value as stored, or why it is refused (in English
/// and Chinese).
fn design_value(name: &str, text: &str) -> Result<String, (String, String)> {
    let text = literacy_core::text::normalize(text);
    let text = text.trim();
    if text.is_empty() {
        return Err(msg_both("batch.design_empty", &[("name", &name)]));
    }
    if name == "weight" {
        return match text.parse::<f64>() {
            Ok(w) if w.is_finite() && w > 0.0 => Ok(w.to_string()),
            _ => Err(msg_both("batch.not_a_weight", &[])),
        };
    }
    if text.chars().count() > MAX_LABEL {
        return Err(msg_both("batch.too_long", &[("max", &MAX_LABEL)]));
    }
    Ok(text.to_owned())
}
