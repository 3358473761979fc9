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

/// Name of the batch file of a province code.
pub fn file_name(province_code: u16) -> String {
    format!("province-{province_code}.csv")
}

impl NationalModel {
    /// The paper batches of a round, deterministic for the round's seed.
    pub fn paper_batches(&self, round: &SimulatedRound) -> PaperBatches {
        let texts = self.answer_texts();
        let header = self.answers_header();
        let column = |name: &str| header.iter().position(|h| h == name).unwrap_or(0);
        let province_col = column("province");
        let mut own: Vec<Vec<String>> = vec![Vec::new(); PROVINCES.len()];
        for (r, resp) in round.sample.respondents.iter().enumerate() {
            if resp.mode == Mode::Paper {
                let province = self.population().cells[resp.cell as usize].province;
                let mut line = String::new();
                self.push_answer_line(round, r, &texts, &mut line);
                own[usize::from(province)].push(line);
            }
        }
        let mut rngs: Vec<ChaCha8Rng> = PROVINCES
            .iter()
            .map(|p| {
                let mut rng = ChaCha8Rng::seed_from_u64(round.seed ^ BATCH_KEY);
                rng.set_stream(u64::from(p.code));
                rng
            })
            .collect();
        // Misfiled questionnaires: each batch gets one from the next
        // province that can spare one.
        let n = PROVINCES.len();
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
        let mut batches = PaperBatches::default();
        let fieldwork_year = self.instrument().fieldwork_year;
        for p in 0..n {
            if own[p].is_empty() && received[p].is_none() {
                continue;
            }
            let rng = &mut rngs[p];
            let file = file_name(PROVINCES[p].code);
            let mut rows: Vec<Row> = own[p]
                .drain(..)
                .map(|line| Row {
                    line,
                    error: None,
                    duplicate_of: None,
                })
                .collect();
            // Distinct own rows to corrupt, in a random order.
            let mut order: Vec<usize> = (0..rows.len()).collect();
            order.shuffle(rng);
            let mut targets = order.into_iter();
            if let Some(r) = targets.next() {
                let i = rng.random_range(0..self.instrument().items.len());
                let item = &self.instrument().items[i];
                let value = invalid_answer(&item.kind, |v| item.encode(v).is_err());
                set_field(&mut rows[r].line, i + 1, &value);
                rows[r].error = Some((
                    ErrorKind::InvalidCode,
                    item.id.clone(),
                    value,
                    "not one of the item's codes".to_owned(),
                ));
            }
            let clean = targets.next();
            if let Some(r) = targets.next() {
                let choices = [
                    (Demographic::Sex, "3".to_owned()),
                    (Demographic::Education, "6".to_owned()),
                    (Demographic::Occupation, "0".to_owned()),
                    (Demographic::UrbanRural, "3".to_owned()),
                    (Demographic::BirthYear, (fieldwork_year - 15).to_string()),
                ];
                let (demographic, value) = choices[rng.random_range(0..choices.len())].clone();
                debug_assert!(demographic.parse(&value, fieldwork_year).is_err());
                set_field(&mut rows[r].line, column(demographic.id()), &value);
                rows[r].error = Some((
                    ErrorKind::InvalidCode,
                    demographic.id().to_owned(),
                    value,
                    "not one of the demographic's codes".to_owned(),
                ));
            }
            if let Some(r) = targets.next() {
                let demographic = [
                    Demographic::Sex,
                    Demographic::BirthYear,
                    Demographic::Education,
                ][rng.random_range(0..3)];
                set_field(&mut rows[r].line, column(demographic.id()), "");
                rows[r].error = Some((
                    ErrorKind::MissingValue,
                    demographic.id().to_owned(),
                    String::new(),
                    "required demographic left empty".to_owned(),
                ));
            }
            if let Some(r) = targets.next() {
                let keep = rng.random_range(province_col / 2..province_col);
                let first_missing = header[keep].clone();
                let fields: Vec<&str> = rows[r].line.split(',').take(keep).collect();
                rows[r].line = fields.join(",");
                rows[r].error = Some((
                    ErrorKind::MissingFields,
                    first_missing,
                    String::new(),
                    format!("row has {keep} of {} fields", header.len()),
                ));
            }
            // A row keyed twice: the clean row again, further down.
            if let Some(r) = clean {
                let at = rng.random_range(r + 1..=rows.len());
                rows.insert(
                    at,
                    Row {
                        line: rows[r].line.clone(),
                        error: Some((
                            ErrorKind::DuplicateRespondent,
                            "respondent_id".to_owned(),
                            first_field(&rows[r].line).to_owned(),
                            String::new(),
                        )),
                        duplicate_of: Some(r),
                    },
                );
            }
            if let Some(line) = received[p].take() {
                let from = line
                    .split(',')
                    .nth(province_col)
                    .unwrap_or_default()
                    .to_owned();
                let at = rng.random_range(0..=rows.len());
                // Indices of duplicated rows after `at` move down by one.
                for row in &mut rows {
                    if let Some(d) = row.duplicate_of.as_mut() {
                        if *d >= at {
                            *d += 1;
                        }
                    }
                }
                rows.insert(
                    at,
                    Row {
                        line,
                        error: Some((
                            ErrorKind::OtherProvince,
                            "province".to_owned(),
                            from.clone(),
                            format!(
                                "a respondent of province {from} in the batch of province {}",
                                PROVINCES[p].code
                            ),
                        )),
                        duplicate_of: None,
                    },
                );
            }
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
                    batches.errors.push(InjectedError {
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
            batches.files.push((file, text));
        }
        batches
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
