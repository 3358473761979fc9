//! Strict CSV (RFC 4180) over decoded text, streamed record by record.
//!
//! Fields are separated by commas and records end at `\n` or `\r\n`; a
//! field may be quoted (`"..."`, a quote inside written `""`) and then
//! hold commas and line breaks. Every record knows the physical line it
//! starts on (the header is line 1; line breaks inside quoted fields count,
//! `\r\n` is one break). What the format forbids is never guessed around:
//!
//! - an unterminated quote is an error for the whole file, naming the line
//!   where its record starts (the rest of the file would become one field);
//! - a row with another number of fields than the header, a control
//!   character (NUL, a lone carriage return, ...) in a field, a quote in a
//!   field that does not start with one, or text after a closing quote
//!   make that row's [`RowProblem`]: the reader goes on with the next row;
//! - empty or repeated column names are errors for the whole file.
//!
//! Wholly empty lines are skipped (their line numbers still count).

use std::collections::HashMap;
use std::io::Read;

use crate::decode::{Decoder, Encoding, count_newlines};
use crate::{RowProblem, TableError};

/// The largest record accepted (a sign of an unterminated quote or a file
/// that is not a table, found before it is all in memory).
pub const MAX_RECORD_BYTES: usize = 64 << 20;

/// One row of a table: its fields, the physical line it starts on, and
/// what is wrong with it, if anything. Reused from row to row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    line: u64,
    text: String,
    /// Where each field ends in `text` (a record is at most
    /// [`MAX_RECORD_BYTES`], so 32 bits suffice).
    ends: Vec<u32>,
    problem: Option<RowProblem>,
}

impl Record {
    /// The physical line the row starts on (the header is line 1).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the row has no fields.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `i` (0-based), unquoted.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..end)
    }

    /// Field `i` (0-based) as UTF-8 bytes: [`Record::get`] without the
    /// character-boundary checks, for the hot paths that want bytes.
    pub fn bytes(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.as_bytes().get(start..end)
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i).unwrap_or_default())
    }

    /// The fields in order, as bytes.
    pub fn iter_bytes(&self) -> impl Iterator<Item = &[u8]> {
        let text = self.text.as_bytes();
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let field = text.get(start..end as usize).unwrap_or_default();
            start = end as usize;
            field
        })
    }

    /// What is wrong with the row (the first problem found), if anything.
    pub fn problem(&self) -> Option<&RowProblem> {
        self.problem.as_ref()
    }

    /// The row's problem placed in the table, for a message: the column it
    /// is in by name (for a row that is short, the first column it lacks;
    /// empty for one that is too long), the value there, and the problem.
    pub fn placed_problem<'a>(&'a self, header: &'a Header) -> Option<PlacedProblem<'a>> {
        let problem = self.problem.as_ref()?;
        let at = match *problem {
            RowProblem::FieldCount { found, .. } => Some(found),
            _ => problem.column(),
        };
        Some(PlacedProblem {
            column: at
                .and_then(|c| header.names().get(c))
                .map_or("", String::as_str),
            value: problem
                .column()
                .and_then(|c| self.get(c))
                .unwrap_or_default(),
            problem,
        })
    }

    /// A row from fields, for tests and for other readers of tables.
    pub fn from_fields<'a>(line: u64, fields: impl IntoIterator<Item = &'a str>) -> Record {
        let mut r = Record {
            line,
            ..Record::default()
        };
        for f in fields {
            r.text.push_str(f);
            r.push_end();
        }
        r
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.problem = None;
    }

    /// Ends the current field at the end of `text`.
    fn push_end(&mut self) {
        // `text` never exceeds MAX_RECORD_BYTES (the reader refuses longer
        // records before parsing them), well within u32.
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
    }

    /// Marks the row as malformed (the first problem found is kept).
    pub(crate) fn set_problem(&mut self, problem: RowProblem) {
        self.flag(problem);
    }

    fn flag(&mut self, problem: RowProblem) {
        if self.problem.is_none() {
            self.problem = Some(problem);
        }
    }
}

/// A row's problem with the column it is in and the value found there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlacedProblem<'a> {
    /// The column's name (empty when the problem is not in one column).
    pub column: &'a str,
    /// The value in that column (empty when none).
    pub value: &'a str,
    /// What is wrong.
    pub problem: &'a RowProblem,
}

/// The column names of a table, checked: none empty, none repeated
/// (names compare after trimming surrounding spaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    /// Checks the names of a header row on `line`.
    pub fn new(line: u64, names: impl IntoIterator<Item = String>) -> Result<Header, TableError> {
        let names: Vec<String> = names.into_iter().map(|n| n.trim().to_owned()).collect();
        let mut index = HashMap::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err(TableError::EmptyColumnName {
                    line,
                    column: i + 1,
                });
            }
            if let Some(first) = index.insert(name.clone(), i) {
                return Err(TableError::DuplicateColumn {
                    line,
                    name: name.clone(),
                    first: first + 1,
                    second: i + 1,
                });
            }
        }
        Ok(Header { names, index })
    }

    /// The names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The position (0-based) of the column `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// A CSV table read from a byte stream: decoded (see [`crate::decode`]),
/// then parsed strictly, one record at a time.
pub struct CsvReader<R> {
    decoder: Decoder<R>,
    buf: String,
    pos: usize,
    /// The physical line at `pos`.
    line: u64,
    eof: bool,
    width: Option<usize>,
}

/// What parsing at a record's start found.
enum Parse {
    /// A record: bytes consumed, line breaks consumed, blank lines before it.
    Record {
        consumed: usize,
        breaks: u64,
        blank: u64,
    },
    /// The text ends before the record does.
    NeedMore,
    /// No more records.
    End,
    /// A quote opened and never closed, in the record after `blank` blank lines.
    Unterminated { blank: u64 },
}

impl<R: Read> CsvReader<R> {
    /// A reader of `input` in `encoding` ([`Encoding::Auto`] detects it).
    pub fn new(input: R, encoding: Encoding) -> Self {
        CsvReader {
            decoder: Decoder::new(input, encoding),
            buf: String::new(),
            pos: 0,
            line: 1,
            eof: false,
            width: None,
        }
    }

    /// The encoding in use (known once the header is read).
    pub fn encoding(&self) -> Option<Encoding> {
        self.decoder.encoding()
    }

    /// Reads and checks the header: the first record. Every later row must
    /// have as many fields.
    pub fn header(&mut self) -> Result<Header, TableError> {
        let mut record = Record::default();
        if !self.read_any(&mut record)? {
            return Err(TableError::Empty);
        }
        if let Some(problem) = record.problem() {
            return Err(TableError::Header {
                line: record.line(),
                problem: problem.clone(),
            });
        }
        let header = Header::new(record.line(), record.iter().map(str::to_owned))?;
        self.width = Some(header.len());
        Ok(header)
    }

    /// Reads the next row into `record`; false at the end of the table. A
    /// row that breaks the format comes back with its [`Record::problem`].
    pub fn read(&mut self, record: &mut Record) -> Result<bool, TableError> {
        if let Some(width) = self.width {
            // Rows are kept by the block: no room beyond what they need.
            if record.ends.capacity() < width {
                record.ends.reserve_exact(width - record.ends.len());
            }
        }
        if !self.read_any(record)? {
            return Ok(false);
        }
        if let Some(width) = self.width
            && record.len() != width
        {
            record.flag(RowProblem::FieldCount {
                found: record.len(),
                expected: width,
            });
        }
        Ok(true)
    }

    fn read_any(&mut self, record: &mut Record) -> Result<bool, TableError> {
        loop {
            match parse(&self.buf[self.pos..], self.eof, record) {
                Parse::Record {
                    consumed,
                    breaks,
                    blank,
                } => {
                    record.line = self.line + blank;
                    self.line += breaks;
                    self.pos += consumed;
                    return Ok(true);
                }
                Parse::End => return Ok(false),
                Parse::Unterminated { blank } => {
                    return Err(TableError::UnterminatedQuote {
                        line: self.line + blank,
                    });
                }
                Parse::NeedMore => self.more()?,
            }
        }
    }

    /// Drops what was parsed and reads at least as much again as is left
    /// (so a long record is parsed from its start only a few times).
    fn more(&mut self) -> Result<(), TableError> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        if self.buf.len() > MAX_RECORD_BYTES {
            return Err(TableError::RecordTooLarge {
                line: self.line,
                limit: MAX_RECORD_BYTES,
            });
        }
        let target = self.buf.len() * 2 + 1;
        while self.buf.len() < target {
            if !self.decoder.fill(&mut self.buf)? {
                self.eof = true;
                break;
            }
        }
        Ok(())
    }
}

/// Parses one record at the start of `s` into `record`.
fn parse(s: &str, eof: bool, record: &mut Record) -> Parse {
    record.clear();
    let b = s.as_bytes();
    let n = b.len();
    // Skip wholly empty lines.
    let mut i = 0;
    let mut blank = 0;
    loop {
        if i < n && b[i] == b'\n' {
            i += 1;
            blank += 1;
        } else if i + 1 < n && b[i] == b'\r' && b[i + 1] == b'\n' {
            i += 2;
            blank += 1;
        } else if i + 1 == n && b[i] == b'\r' && !eof {
            return Parse::NeedMore;
        } else {
            break;
        }
    }
    if i == n {
        return if eof { Parse::End } else { Parse::NeedMore };
    }
    let mut breaks = blank;
    loop {
        let column = record.ends.len();
        if i < n && b[i] == b'"' {
            i += 1;
            loop {
                let Some(k) = b[i..].iter().position(|&c| c == b'"') else {
                    return if eof {
                        Parse::Unterminated { blank }
                    } else {
                        Parse::NeedMore
                    };
                };
                let q = i + k;
                check_quoted(&b[i..q], column, record);
                breaks += count_newlines(&b[i..q]);
                record.text.push_str(&s[i..q]);
                if q + 1 < n && b[q + 1] == b'"' {
                    record.text.push('"');
                    i = q + 2;
                } else if q + 1 == n && !eof {
                    return Parse::NeedMore;
                } else {
                    i = q + 1;
                    break;
                }
            }
            let ends_field = i == n
                || b[i] == b','
                || b[i] == b'\n'
                || (b[i] == b'\r' && (i + 1 == n || b[i + 1] == b'\n'));
            if !ends_field {
                record.flag(RowProblem::TextAfterQuote { column });
            }
        }
        // The unquoted field, or what follows a closing quote.
        let start = i;
        while i < n {
            // Ordinary bytes in a run, then the one that ends or spoils it.
            while i < n && !SPECIAL[usize::from(b[i])] {
                i += 1;
            }
            if i == n {
                break;
            }
            match b[i] {
                b',' | b'\n' => break,
                b'\r' if i + 1 < n && b[i + 1] == b'\n' => break,
                b'\r' if i + 1 == n && !eof => return Parse::NeedMore,
                b'"' => {
                    record.flag(RowProblem::StrayQuote { column });
                    i += 1;
                }
                c if is_control(c) => {
                    record.flag(RowProblem::ControlCharacter {
                        column,
                        code: u32::from(c),
                    });
                    i += 1;
                }
                _ => i += 1,
            }
        }
        record.text.push_str(&s[start..i]);
        record.push_end();
        if i == n {
            return if eof {
                Parse::Record {
                    consumed: n,
                    breaks,
                    blank,
                }
            } else {
                Parse::NeedMore
            };
        }
        match b[i] {
            b',' => i += 1,
            b'\n' => {
                return Parse::Record {
                    consumed: i + 1,
                    breaks: breaks + 1,
                    blank,
                };
            }
            _ => {
                return Parse::Record {
                    consumed: i + 2,
                    breaks: breaks + 1,
                    blank,
                };
            }
        }
    }
}

/// Control characters a field may not hold: C0 except tab, and DEL (line
/// breaks are checked where they may appear).
const fn is_control(c: u8) -> bool {
    (c < 0x20 && c != b'\t') || c == 0x7f
}

/// The bytes an unquoted field cannot simply hold: the delimiter, quotes,
/// and control characters (line breaks among them).
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = b == b',' || b == b'"' || is_control(b);
        c += 1;
    }
    table
};

/// Flags control characters inside a quoted field's text (line breaks,
/// `\r\n` included, are allowed there; a lone carriage return is not).
fn check_quoted(bytes: &[u8], column: usize, record: &mut Record) {
    for (j, &c) in bytes.iter().enumerate() {
        let allowed = c == b'\n' || (c == b'\r' && bytes.get(j + 1) == Some(&b'\n'));
        if is_control(c) && !allowed {
            record.flag(RowProblem::ControlCharacter {
                column,
                code: u32::from(c),
            });
            return;
        }
    }
}
