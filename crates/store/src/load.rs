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
    let encoders: Vec<Encoder<'_>> = instrument.items.iter().map(Encoder::new).collect();
    let index: HashMap<&str, usize> = instrument
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.id.as_str(), i))
        .collect();
    let n_items = encoders.len();
    let mut cells: Vec<Cell> = Vec::new();
    let mut out = LoadedRound {
        matrix: ResponseMatrix::missing(instrument, 0),
        response_ids: Vec::new(),
        respondent_ids: Vec::new(),
        provinces: Vec::new(),
        modes: Vec::new(),
        demographics: Vec::new(),
    };
    for_each_page(conn, round_id, PAGE_SIZE, |page| {
        cells.reserve(page.len() * n_items);
        for record in page {
            let start = cells.len();
            cells.resize(start + n_items, MISSING);
            let row = &mut cells[start..];
            let seed = RowSeed {
                index: &index,
                encoders: &encoders,
                row,
                response_id: record.id,
            };
            let mut de = serde_json::Deserializer::from_str(&record.answers);
            match seed.deserialize(&mut de) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(e) => {
                    return Err(LoadError::Json {
                        response_id: record.id,
                        error: e.to_string(),
                    });
                }
            }
            out.response_ids.push(record.id);
            out.respondent_ids.push(record.respondent_id);
            out.provinces.push(record.province);
            out.modes.push(record.mode);
            out.demographics.push(record.demographics);
        }
        Ok(())
    })?;
    out.matrix = ResponseMatrix::from_rows(instrument, &cells)?;
    Ok(out)
}

/// Parses one answers object into a row of cells. The outer `Result` is
/// JSON syntax; the inner one an answer that does not fit its item.
struct RowSeed<'a, 'i> {
    index: &'a HashMap<&'i str, usize>,
    encoders: &'a [Encoder<'i>],
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
        while let Some(key) = map.next_key::<Text<'de>>()? {
            let value = map.next_value::<Text<'de>>()?;
            let Some(&item) = self.index.get(key.0.as_ref()) else {
                return Ok(Err(LoadError::UnknownItem {
                    response_id: self.response_id,
                    item: key.0.into_owned(),
                }));
            };
            match self.encoders[item].encode(value.0.as_bytes()) {
                Ok(cell) => self.row[item] = cell,
                Err(error) => {
                    return Ok(Err(LoadError::Answer {
                        response_id: self.response_id,
                        item: key.0.into_owned(),
                        error,
                    }));
                }
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
