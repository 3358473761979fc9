//! Provincial paper batches: the paper-mode respondents of each province
//! as its association would key them in (the answer-file format), with the
//! keying errors uploads must catch, and a manifest of every error.
//!
//! Each batch `province-<code>.csv` receives, as far as it has own rows:
//! - `invalid_code`: an item answer that is not one of the item's codes,
//!   and a demographic answer that is not one of its codes (or a birth
//!   year outside 18-69);
//! - `missing_value`: a required demographic left empty;
//! - `missing_fields`: a row cut short (fewer fields than the header);
//! - `duplicate_respondent`: a row keyed twice (the same respondent and
//!   answers on a later line);
//! - `other_province`: a questionnaire misfiled from the next province
//!   (in code order) that has rows to spare; it is missing from its own
//!   province's batch.
//!
//! `manifest.csv` lists every error: `file`, `line` (in the batch file,
//! the header being line 1), `respondent_id`, `error`, `column`, `value`,
//! `detail`.

use literacy_core::ItemKind;
use literacy_core::demographics::{Demographic, PROVINCES};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::design::Mode;
use crate::{NationalModel, SimulatedRound};

/// Key of the batches' random streams.
const BATCH_KEY: u64 = 0xba7c_4e55_0000_0004;

/// The kinds of keying error injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A value that is not one of the column's codes.
    InvalidCode,
    /// A required demographic left empty.
    MissingValue,
    /// A row with fewer fields than the header.
    MissingFields,
    /// A row keyed twice.
    DuplicateRespondent,
    /// A respondent of another province.
    OtherProvince,
}

impl ErrorKind {
    /// Name written in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidCode => "invalid_code",
            ErrorKind::MissingValue => "missing_value",
            ErrorKind::MissingFields => "missing_fields",
            ErrorKind::DuplicateRespondent => "duplicate_respondent",
            ErrorKind::OtherProvince => "other_province",
        }
    }
}

/// One injected error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedError {
    /// Batch file name.
    pub file: String,
    /// Line in the file (the header is line 1).
    pub line: usize,
    /// The row's respondent.
    pub respondent_id: String,
    /// What is wrong.
    pub kind: ErrorKind,
    /// The column at fault.
    pub column: String,
    /// The value keyed (empty when missing).
    pub value: String,
    /// Explanation.
    pub detail: String,
}

/// The batch files of a round and their errors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaperBatches {
    /// (file name, CSV text), one per province with paper respondents.
    pub files: Vec<(String, String)>,
    /// Every injected error, file by file, in line order.
    pub errors: Vec<InjectedError>,
}

impl PaperBatches {
    /// The manifest (`manifest.csv`) as CSV text.
    pub fn manifest(&self) -> String {
        let mut out = String::from("file,line,respondent_id,error,column,value,detail\n");
        for e in &self.errors {
            out.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                e.file,
                e.line,
                e.respondent_id,
                e.kind.as_str(),
                e.column,
                e.value,
                e.detail
            ));
        }
        out
    }
}

/// A row being prepared, with the error it carries.
struct Row {
    line: String,
    error: Option<(ErrorKind, String, String, String)>,
    /// Index of the row this one duplicates.
    duplicate_of: Option<usize>,
}

impl Row {
    /// A row as keyed correctly.
    fn clean(line: String) -> Row {
        Row {
            line,
            error: None,
            duplicate_of: None,
        }
    }

    /// Records the error this row now carries.
    fn mark(&mut self, kind: ErrorKind, column: &str, value: String, detail: String) {
        self.error = Some((kind, column.to_owned(), value, detail));
    }
}

/// The columns of a batch file.
struct Layout {
    header: Vec<String>,
    /// Position of the `province` column.
    province_col: usize,
}

impl Layout {
    fn new(header: Vec<String>) -> Layout {
        let mut layout = Layout {
            header,
            province_col: 0,
        };
        layout.province_col = layout.column("province");
        layout
    }

    /// Position of a column (0 if absent).
    fn column(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).unwrap_or(0)
    }
}

/// Name of the batch file of a province code.
pub fn file_name(province_code: u16) -> String {
    format!("province-{province_code}.csv")
}

impl NationalModel {
    /// The paper batches of a round, deterministic for the round's seed.
    pub fn paper_batches(&self, round: &SimulatedRound) -> PaperBatches {
        let layout = Layout::new(self.answers_header());
        let mut own = self.paper_lines_by_province(round);
        let mut rngs = batch_rngs(round.seed);
        let mut received = misfile(&mut own, &mut rngs);
        let mut batches = PaperBatches::default();
        for p in 0..PROVINCES.len() {
            if own[p].is_empty() && received[p].is_none() {
                continue;
            }
            let rng = &mut rngs[p];
            let mut rows: Vec<Row> = own[p].drain(..).map(Row::clean).collect();
            self.inject_keying_errors(&layout, &mut rows, rng);
            if let Some(line) = received[p].take() {
                insert_misfiled(&mut rows, line, &layout, PROVINCES[p].code, rng);
            }
            batches.add(file_name(PROVINCES[p].code), &layout.header, &rows);
        }
        batches
    }

    /// The answer-file lines of each province's paper respondents, by
    /// position in [`PROVINCES`].
    fn paper_lines_by_province(&self, round: &SimulatedRound) -> Vec<Vec<String>> {
        let texts = self.answer_texts();
        let mut own: Vec<Vec<String>> = vec![Vec::new(); PROVINCES.len()];
        for (r, resp) in round.sample.respondents.iter().enumerate() {
            if resp.mode == Mode::Paper {
                let province = self.population().cells[resp.cell as usize].province;
                let mut line = String::new();
                self.push_answer_line(round, r, &texts, &mut line);
                own[usize::from(province)].push(line);
            }
        }
        own
    }

    /// Corrupts distinct own rows, picked in a random order: an invalid
    /// item answer, an invalid demographic, a required demographic left
    /// empty, a row cut short; and keys one clean row twice.
    fn inject_keying_errors(&self, layout: &Layout, rows: &mut Vec<Row>, rng: &mut ChaCha8Rng) {
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.shuffle(rng);
        let mut targets = order.into_iter();
        if let Some(r) = targets.next() {
            self.invalid_item_answer(&mut rows[r], rng);
        }
        let clean = targets.next();
        if let Some(r) = targets.next() {
            let fieldwork_year = self.instrument().fieldwork_year;
            invalid_demographic(layout, &mut rows[r], fieldwork_year, rng);
        }
        if let Some(r) = targets.next() {
            missing_value(layout, &mut rows[r], rng);
        }
        if let Some(r) = targets.next() {
            cut_short(layout, &mut rows[r], rng);
        }
        if let Some(r) = clean {
            key_twice(rows, r, rng);
        }
    }

    /// A random item's answer replaced by a value that is not its code.
    fn invalid_item_answer(&self, row: &mut Row, rng: &mut ChaCha8Rng) {
        let i = rng.random_range(0..self.instrument().items.len());
        let item = &self.instrument().items[i];
        let value = invalid_answer(&item.kind, |v| item.encode(v).is_err());
        set_field(&mut row.line, i + 1, &value);
        row.mark(
            ErrorKind::InvalidCode,
            &item.id,
            value,
            "not one of the item's codes".to_owned(),
        );
    }
}

/// One random stream per province (by position in [`PROVINCES`]).
fn batch_rngs(seed: u64) -> Vec<ChaCha8Rng> {
    PROVINCES
        .iter()
        .map(|p| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ BATCH_KEY);
            rng.set_stream(u64::from(p.code));
            rng
        })
        .collect()
}

/// Misfiled questionnaires: each province with rows of its own receives
/// one, taken out of the next province (in code order) that can spare one.
fn misfile(own: &mut [Vec<String>], rngs: &mut [ChaCha8Rng]) -> Vec<Option<String>> {
    let n = own.len();
    let mut received: Vec<Option<String>> = vec![None; n];
    for p in 0..n {
        if own[p].is_empty() {
            continue;
        }
        let donor = (1..n).map(|k| (p + k) % n).find(|&q| own[q].len() >= 2);
        if let Some(q) = donor {
            let k = rngs[p].random_range(0..own[q].len());
            received[p] = Some(own[q].remove(k));
        }
    }
    received
}

/// A demographic replaced by a value that is not one of its codes (a birth
/// year outside the ages asked).
fn invalid_demographic(layout: &Layout, row: &mut Row, fieldwork_year: i32, rng: &mut ChaCha8Rng) {
    let choices = [
        (Demographic::Sex, "3".to_owned()),
        (Demographic::Education, "6".to_owned()),
        (Demographic::Occupation, "0".to_owned()),
        (Demographic::UrbanRural, "3".to_owned()),
        (Demographic::BirthYear, (fieldwork_year - 15).to_string()),
    ];
    let (demographic, value) = choices[rng.random_range(0..choices.len())].clone();
    debug_assert!(demographic.parse(&value, fieldwork_year).is_err());
    set_field(&mut row.line, layout.column(demographic.id()), &value);
    row.mark(
        ErrorKind::InvalidCode,
        demographic.id(),
        value,
        "not one of the demographic's codes".to_owned(),
    );
}

/// A required demographic left empty.
fn missing_value(layout: &Layout, row: &mut Row, rng: &mut ChaCha8Rng) {
    let demographic = [
        Demographic::Sex,
        Demographic::BirthYear,
        Demographic::Education,
    ][rng.random_range(0..3)];
    set_field(&mut row.line, layout.column(demographic.id()), "");
    row.mark(
        ErrorKind::MissingValue,
        demographic.id(),
        String::new(),
        "required demographic left empty".to_owned(),
    );
}

/// A row cut short somewhere among its item answers.
fn cut_short(layout: &Layout, row: &mut Row, rng: &mut ChaCha8Rng) {
    let keep = rng.random_range(layout.province_col / 2..layout.province_col);
    let fields: Vec<&str> = row.line.split(',').take(keep).collect();
    row.line = fields.join(",");
    row.mark(
        ErrorKind::MissingFields,
        &layout.header[keep],
        String::new(),
        format!("row has {keep} of {} fields", layout.header.len()),
    );
}

/// Row `r` keyed again, further down.
fn key_twice(rows: &mut Vec<Row>, r: usize, rng: &mut ChaCha8Rng) {
    let at = rng.random_range(r + 1..=rows.len());
    let mut again = Row::clean(rows[r].line.clone());
    again.mark(
        ErrorKind::DuplicateRespondent,
        "respondent_id",
        first_field(&rows[r].line).to_owned(),
        String::new(),
    );
    again.duplicate_of = Some(r);
    rows.insert(at, again);
}

/// A questionnaire of another province put in at a random place.
fn insert_misfiled(
    rows: &mut Vec<Row>,
    line: String,
    layout: &Layout,
    province_code: u16,
    rng: &mut ChaCha8Rng,
) {
    let from = line
        .split(',')
        .nth(layout.province_col)
        .unwrap_or_default()
        .to_owned();
    let at = rng.random_range(0..=rows.len());
    // Indices of duplicated rows after `at` move down by one.
    for row in rows.iter_mut() {
        if let Some(d) = row.duplicate_of.as_mut()
            && *d >= at
        {
            *d += 1;
        }
    }
    let mut misfiled = Row::clean(line);
    misfiled.mark(
        ErrorKind::OtherProvince,
        "province",
        from.clone(),
        format!("a respondent of province {from} in the batch of province {province_code}"),
    );
    rows.insert(at, misfiled);
}

impl PaperBatches {
    /// A batch file of `rows` under `header`, with the errors its rows carry.
    fn add(&mut self, file: String, header: &[String], rows: &[Row]) {
        let mut text = header.join(",");
        text.push('\n');
        for (k, row) in rows.iter().enumerate() {
            text.push_str(&row.line);
            text.push('\n');
            if let Some((kind, column, value, detail)) = &row.error {
                let detail = match row.duplicate_of {
                    Some(d) => format!("the same respondent as line {}", d + 2),
                    None => detail.clone(),
                };
                self.errors.push(InjectedError {
                    file: file.clone(),
                    line: k + 2,
                    respondent_id: first_field(&row.line).to_owned(),
                    kind: *kind,
                    column: column.clone(),
                    value: value.clone(),
                    detail,
                });
            }
        }
        self.files.push((file, text));
    }
}

/// The first field of a CSV line.
fn first_field(line: &str) -> &str {
    line.split(',').next().unwrap_or_default()
}

/// Replaces field `k` of a CSV line.
fn set_field(line: &mut String, k: usize, value: &str) {
    let mut fields: Vec<&str> = line.split(',').collect();
    if let Some(f) = fields.get_mut(k) {
        *f = value;
    }
    *line = fields.join(",");
}

/// A keyed value that `rejects` (the item's check) does not accept.
fn invalid_answer(kind: &ItemKind, rejects: impl Fn(&str) -> bool) -> String {
    let candidates: &[&str] = match kind {
        ItemKind::Numeric { .. } => &["100001", "-1", "x"],
        _ => &["3", "4", "5", "6", "7", "9", "0", "x"],
    };
    candidates
        .iter()
        .find(|v| rejects(v))
        .map_or_else(|| "x".to_owned(), |v| (*v).to_owned())
}
