//! Reading a round's responses in bulk, in id order, for the core's
//! response matrix: only the needed columns, by pages of keyset pagination
//! (`WHERE id > last ORDER BY id LIMIT n`, served by the `(round_id, id)`
//! index), so memory stays bounded and a million rows load in seconds.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use diesel::prelude::*;
use literacy_core::answer::Encoder;
use literacy_core::{AnswerError, Cell, Instrument, MISSING, MatrixError, ResponseMatrix};
use serde::de::{DeserializeSeed, MapAccess, Visitor};

use crate::error::store_error_conversions;
use crate::schema::responses;
use crate::submissions::Mode;
use crate::{DbConn, StoreError};

/// Rows fetched per query.
pub const PAGE_SIZE: i64 = 20_000;

/// The columns of a response needed for scoring, weighting and estimation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseRecord {
    /// Response id.
    pub id: i64,
    /// Respondent id.
    pub respondent_id: String,
    /// Province code.
    pub province: i32,
    /// How it was collected.
    pub mode: Mode,
    /// Raw answers, a JSON object item id -> answer text.
    pub answers: String,
    /// Demographics, a JSON object id -> answer text.
    pub demographics: String,
}

/// Why loading failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A stored answer is not valid for its item.
    #[error("response {response_id}, item {item}: {error}")]
    Answer {
        /// The response.
        response_id: i64,
        /// The item.
        item: String,
        /// Why.
        error: AnswerError,
    },
    /// A stored answer names an item the instrument does not have.
    #[error("response {response_id}: unknown item {item}")]
    UnknownItem {
        /// The response.
        response_id: i64,
        /// The key found.
        item: String,
    },
    /// A stored answers object is not a JSON object of strings.
    #[error("response {response_id}: invalid answers JSON: {error}")]
    Json {
        /// The response.
        response_id: i64,
        /// Why.
        error: String,
    },
    /// The matrix could not be built.
    #[error(transparent)]
    Matrix(#[from] MatrixError),
    /// The storage layer failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
store_error_conversions!(LoadError);

type Row = (i64, String, i32, String, String, String);

/// Calls `f` with each page of at most `page_size` of the round's
/// responses, in id order; returns the number of rows.
pub fn for_each_page<E, F>(
    conn: &mut DbConn,
    round_id: i64,
    page_size: i64,
    mut f: F,
) -> Result<usize, E>
where
    E: From<StoreError>,
    F: FnMut(Vec<ResponseRecord>) -> Result<(), E>,
{
    let mut last = i64::MIN;
    let mut n = 0;
    loop {
        let rows: Vec<Row> = responses::table
            .filter(responses::round_id.eq(round_id))
            .filter(responses::id.gt(last))
            .order(responses::id)
            .limit(page_size.max(1))
            .select((
                responses::id,
                responses::respondent_id,
                responses::province,
                responses::mode,
                responses::answers,
                responses::demographics,
            ))
            .load(conn)
            .map_err(StoreError::from)?;
        let Some(&(id, ..)) = rows.last() else {
            return Ok(n);
        };
        last = id;
        n += rows.len();
        let full = i64::try_from(rows.len()).is_ok_and(|len| len >= page_size);
        let page = rows
            .into_iter()
            .map(
                |(id, respondent_id, province, mode, answers, demographics)| {
                    let mode = Mode::parse(&mode).ok_or_else(|| {
                        StoreError::Corrupt(format!("mode {mode} of response {id}"))
                    })?;
                    Ok(ResponseRecord {
                        id,
                        respondent_id,
                        province,
                        mode,
                        answers,
                        demographics,
                    })
                },
            )
            .collect::<Result<Vec<_>, StoreError>>()?;
        f(page)?;
        if !full {
            return Ok(n);
        }
    }
}

/// Every response of a round, in id order.
pub fn all(conn: &mut DbConn, round_id: i64) -> Result<Vec<ResponseRecord>, StoreError> {
    let mut out = Vec::new();
    for_each_page(conn, round_id, PAGE_SIZE, |page| {
        out.extend(page);
        Ok::<_, StoreError>(())
    })?;
    Ok(out)
}

/// A round's responses as the core's response matrix, with the per-row
/// columns estimation needs, all in response id order.
#[derive(Debug, Clone)]
pub struct LoadedRound {
    /// Encoded answers (row i is response `response_ids[i]`).
    pub matrix: ResponseMatrix,
    /// Response ids.
    pub response_ids: Vec<i64>,
    /// Respondent ids.
    pub respondent_ids: Vec<String>,
    /// Province codes.
    pub provinces: Vec<i32>,
    /// Modes.
    pub modes: Vec<Mode>,
    /// Demographics JSON per row (decoded by the caller with the instrument's questions).
    pub demographics: Vec<String>,
}

/// Loads a round's responses into the core's response matrix for
/// `instrument` (answers are parsed straight into cells, without building
/// maps). An answer not valid for its item is an error naming the response.
pub fn response_matrix(
    conn: &mut DbConn,
    round_id: i64,
    instrument: &Instrument,
) -> Result<LoadedRound, LoadError> {
    let parser = Parser::new(instrument);
    let mut cells: Vec<Cell> = Vec::new();
    let mut out = LoadedRound {
        matrix: ResponseMatrix::missing(instrument, 0),
        response_ids: Vec::new(),
        respondent_ids: Vec::new(),
        provinces: Vec::new(),
        modes: Vec::new(),
        demographics: Vec::new(),
    };
    // Pages are fetched on a second thread while this one parses the
    // previous page, so the database (or SQLite's reads) and the parsing overlap.
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<ResponseRecord>>(2);
    std::thread::scope(|scope| {
        let fetcher = scope.spawn(move || {
            for_each_page(conn, round_id, PAGE_SIZE, |page| {
                sender.send(page).map_err(|_| Fetch::Stopped)
            })
        });
        let mut parsed = Ok(());
        for page in receiver.iter() {
            parsed = parser.parse_page(page, &mut cells, &mut out);
            if parsed.is_err() {
                break;
            }
        }
        // Unblocks the fetcher if parsing stopped early.
        drop(receiver);
        let fetched = match fetcher.join() {
            Ok(fetched) => fetched,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        parsed?;
        match fetched {
            Ok(_) | Err(Fetch::Stopped) => Ok::<_, LoadError>(()),
            Err(Fetch::Store(e)) => Err(e.into()),
        }
    })?;
    out.matrix = ResponseMatrix::from_rows(instrument, &cells)?;
    Ok(out)
}

/// Why the fetching thread stopped early.
enum Fetch {
    Store(StoreError),
    /// The parsing side stopped (on an error of its own).
    Stopped,
}

impl From<StoreError> for Fetch {
    fn from(e: StoreError) -> Self {
        Fetch::Store(e)
    }
}

/// Parses answers objects into rows of cells.
struct Parser<'i> {
    encoders: Vec<Encoder<'i>>,
    /// Item ids in byte order (the order of the stored JSON's keys, which
    /// are written from sorted maps), with each item's index.
    sorted: Vec<(&'i str, usize)>,
    /// Item id -> (position in `sorted`), for keys out of the expected order.
    position: HashMap<&'i str, usize>,
    /// Threads parsing a page.
    threads: usize,
}

/// Rows parsed per thread, at least.
const ROWS_PER_THREAD: usize = 2_000;

impl<'i> Parser<'i> {
    fn new(instrument: &'i Instrument) -> Self {
        let mut sorted: Vec<(&str, usize)> = instrument
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| (item.id.as_str(), i))
            .collect();
        sorted.sort_unstable();
        let position = sorted
            .iter()
            .enumerate()
            .map(|(p, &(id, _))| (id, p))
            .collect();
        Parser {
            encoders: instrument.items.iter().map(Encoder::new).collect(),
            sorted,
            position,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
        }
    }

    /// Appends one page: its answers parsed into cells (in parallel by
    /// blocks of rows), its other columns.
    fn parse_page(
        &self,
        page: Vec<ResponseRecord>,
        cells: &mut Vec<Cell>,
        out: &mut LoadedRound,
    ) -> Result<(), LoadError> {
        let n_items = self.encoders.len();
        let start = cells.len();
        cells.resize(start + page.len() * n_items, MISSING);
        let new_cells = &mut cells[start..];
        let threads = self.threads.min(page.len() / ROWS_PER_THREAD).max(1);
        if threads == 1 {
            self.parse_rows(&page, new_cells)?;
        } else {
            let rows_per = page.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let handles: Vec<_> = page
                    .chunks(rows_per)
                    .zip(new_cells.chunks_mut(rows_per * n_items))
                    .map(|(records, cells)| scope.spawn(move || self.parse_rows(records, cells)))
                    .collect();
                handles.into_iter().try_for_each(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
            })?;
        }
        for record in page {
            out.response_ids.push(record.id);
            out.respondent_ids.push(record.respondent_id);
            out.provinces.push(record.province);
            out.modes.push(record.mode);
            out.demographics.push(record.demographics);
        }
        Ok(())
    }

    fn parse_rows(&self, records: &[ResponseRecord], cells: &mut [Cell]) -> Result<(), LoadError> {
        let n_items = self.encoders.len();
        for (record, row) in records.iter().zip(cells.chunks_mut(n_items)) {
            if let Some(parsed) = self.parse_plain(&record.answers, row, record.id) {
                parsed?;
                continue;
            }
            // Escapes, spaces or anything unusual: the full JSON parser.
            row.fill(MISSING);
            let seed = RowSeed {
                parser: self,
                row,
                response_id: record.id,
            };
            let mut de = serde_json::Deserializer::from_str(&record.answers);
            // `end` refuses anything but white space after the object.
            match seed.deserialize(&mut de).and_then(|r| de.end().map(|()| r)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(e) => {
                    return Err(LoadError::Json {
                        response_id: record.id,
                        error: e.to_string(),
                    });
                }
            }
        }
        Ok(())
    }
}

impl Parser<'_> {
    /// Sets one answer's cell; `next` is where the following key is
    /// expected in `sorted`.
    fn put(
        &self,
        key: &str,
        value: &[u8],
        row: &mut [Cell],
        next: &mut usize,
        response_id: i64,
    ) -> Result<(), LoadError> {
        let position = match self.sorted.get(*next) {
            Some(&(id, _)) if id == key => Some(*next),
            _ => self.position.get(key).copied(),
        };
        let Some(position) = position else {
            return Err(LoadError::UnknownItem {
                response_id,
                item: key.to_owned(),
            });
        };
        *next = position + 1;
        let item = self.sorted[position].1;
        match self.encoders[item].encode(value) {
            Ok(cell) => {
                row[item] = cell;
                Ok(())
            }
            Err(error) => Err(LoadError::Answer {
                response_id,
                item: key.to_owned(),
                error,
            }),
        }
    }

    /// Parses an answers object exactly as the store writes it
    /// (`{"K01":"1","K02":"2"}`: no spaces, no escapes) in one pass over
    /// its bytes; `None` for anything else, which the caller hands to the
    /// full JSON parser.
    fn parse_plain(
        &self,
        text: &str,
        row: &mut [Cell],
        response_id: i64,
    ) -> Option<Result<(), LoadError>> {
        /// End of a string starting at `from`: the closing quote's index.
        fn string_end(b: &[u8], from: usize) -> Option<usize> {
            let len = b
                .get(from..)?
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
            (b[from + len] == b'"').then_some(from + len)
        }
        let b = text.as_bytes();
        if b.first() != Some(&b'{') {
            return None;
        }
        if b == b"{}" {
            return Some(Ok(()));
        }
        let mut i = 1;
        let mut next = 0;
        loop {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let key_end = string_end(b, i + 1)?;
            // Quotes are ASCII, so these are character boundaries.
            let key = text.get(i + 1..key_end)?;
            if b.get(key_end + 1..key_end + 3) != Some(b":\"".as_slice()) {
                return None;
            }
            let value_start = key_end + 3;
            let value_end = string_end(b, value_start)?;
            if let Err(e) = self.put(key, &b[value_start..value_end], row, &mut next, response_id) {
                return Some(Err(e));
            }
            i = value_end + 1;
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b'}') if i + 1 == b.len() => return Some(Ok(())),
                _ => return None,
            }
        }
    }
}

/// Parses one answers object into a row of cells. The outer `Result` is
/// JSON syntax; the inner one an answer that does not fit its item.
struct RowSeed<'a, 'i> {
    parser: &'a Parser<'i>,
    row: &'a mut [Cell],
    response_id: i64,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_> {
    type Value = Result<(), LoadError>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_> {
    type Value = Result<(), LoadError>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of answer strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Where the next key is expected in the sorted item ids: keys come
        // in byte order, so usually one comparison finds the item.
        let mut next = 0;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            let value = map.next_value::<Text<'de>>()?;
            if let Err(e) = self.parser.put(
                &key.0,
                value.0.as_bytes(),
                self.row,
                &mut next,
                self.response_id,
            ) {
                return Ok(Err(e));
            }
        }
        Ok(Ok(()))
    }
}

/// A string borrowed from the JSON text when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instrument() -> Instrument {
        Instrument::from_json(
            "csl-2026",
            include_str!("../../../surveys/csl-2026/instrument.json"),
        )
        .expect("instrument")
    }

    fn parse(parser: &Parser<'_>, answers: &str) -> Result<Vec<Cell>, LoadError> {
        let record = ResponseRecord {
            id: 7,
            respondent_id: "r".into(),
            province: 11,
            mode: Mode::Online,
            answers: answers.into(),
            demographics: "{}".into(),
        };
        let mut row = vec![MISSING; parser.encoders.len()];
        parser.parse_rows(std::slice::from_ref(&record), &mut row)?;
        Ok(row)
    }

    #[test]
    fn the_one_pass_parser_and_the_json_parser_agree() {
        let instrument = instrument();
        let parser = Parser::new(&instrument);
        let k01 = instrument.item_index("K01").expect("K01");
        let k02 = instrument.item_index("K02").expect("K02");
        let expected = {
            let mut row = vec![MISSING; instrument.items.len()];
            row[k01] = instrument.items[k01].encode("1").expect("code");
            row[k02] = instrument.items[k02].encode("2").expect("code");
            row
        };
        // As the store writes it; keys out of order; spaces; escapes: the
        // last two go through serde_json.
        for text in [
            r#"{"K01":"1","K02":"2"}"#,
            r#"{"K02":"2","K01":"1"}"#,
            r#"{ "K01" : "1", "K02": "2" }"#,
            r#"{"K\u00301":"1","K02":"\u0032"}"#,
        ] {
            assert_eq!(parse(&parser, text).expect(text), expected, "{text}");
            let plain = parser.parse_plain(text, &mut vec![MISSING; instrument.items.len()], 7);
            assert_eq!(
                plain.is_some(),
                !text.contains(' ') && !text.contains('\\'),
                "{text}"
            );
        }
        assert_eq!(
            parse(&parser, "{}").expect("empty"),
            vec![MISSING; instrument.items.len()]
        );
        assert!(matches!(
            parse(&parser, r#"{"K01":"1","NOPE":"1"}"#),
            Err(LoadError::UnknownItem { response_id: 7, ref item }) if item == "NOPE"
        ));
        assert!(matches!(
            parse(&parser, r#"{"K01":"9"}"#),
            Err(LoadError::Answer { response_id: 7, ref item, .. }) if item == "K01"
        ));
        for broken in [r#"{"K01":"1"}x"#, r#"{"K01":1}"#, r#"{"K01":"1""#, "[]", ""] {
            assert!(
                matches!(
                    parse(&parser, broken),
                    Err(LoadError::Json { response_id: 7, .. })
                ),
                "{broken}"
            );
        }
    }
}
