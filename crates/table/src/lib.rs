//! One tabular reader for every input file of the literacy engine: the
//! command line's answer, microdata, margin and item files, and the
//! provincial batches uploaded to the service.
//!
//! A file is read exactly or refused clearly. Its encoding is detected
//! (UTF-8 with or without a byte-order mark, UTF-16 with one, GB18030/GBK)
//! or named, and decoded losslessly ([`decode`]); CSV is parsed strictly
//! with the physical line of every row ([`csv`]). Problems name the line,
//! the column and the reason: [`TableError`] for the whole file,
//! [`RowProblem`] for one row (the others are still read).

pub mod csv;
pub mod decode;
pub mod seen;

pub use csv::{CsvReader, Header, Record};
pub use decode::Encoding;
pub use seen::FirstSeen;

/// Why a file cannot be read as a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// Reading failed.
    #[error("cannot read: {0}")]
    Io(String),
    /// Bytes that are not text in the file's encoding.
    #[error("line {line}: not valid {encoding}: {detail}")]
    Encoding {
        /// The physical line the bytes are on.
        line: u64,
        /// The encoding used.
        encoding: Encoding,
        /// Which bytes.
        detail: String,
    },
    /// The file holds nothing, not even a header.
    #[error("the file is empty: it has no header row")]
    Empty,
    /// A quote is opened and never closed.
    #[error(
        "line {line}: a quoted field starts here and is never closed (a stray \" makes the rest of the file one field)"
    )]
    UnterminatedQuote {
        /// The line its record starts on.
        line: u64,
    },
    /// One record larger than any table row could be.
    #[error("line {line}: a row longer than {limit} bytes (an unclosed quote, or not a table)")]
    RecordTooLarge {
        /// The line it starts on.
        line: u64,
        /// The limit.
        limit: usize,
    },
    /// The header row breaks the format.
    #[error("line {line} (header): {detail}")]
    Header {
        /// Its line.
        line: u64,
        /// What is wrong.
        detail: String,
    },
    /// A column without a name.
    #[error("line {line} (header): column {column} has no name")]
    EmptyColumnName {
        /// The header's line.
        line: u64,
        /// The column's position (1-based).
        column: usize,
    },
    /// Two columns with one name.
    #[error("line {line} (header): column {name:?} appears twice (columns {first} and {second})")]
    DuplicateColumn {
        /// The header's line.
        line: u64,
        /// The name.
        name: String,
        /// Its first position (1-based).
        first: usize,
        /// Its second position (1-based).
        second: usize,
    },
}

/// What is wrong with one row (the first problem found in it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    /// Another number of fields than the header has.
    #[error("the row has {found} fields; the header has {expected}")]
    FieldCount {
        /// Fields in the row.
        found: usize,
        /// Columns in the header.
        expected: usize,
    },
    /// A control character (NUL, a lone carriage return, ...) in a field.
    #[error("field {} holds the control character U+{code:04X}", column + 1)]
    ControlCharacter {
        /// The field (0-based).
        column: usize,
        /// The character.
        code: u32,
    },
    /// A quote inside a field that does not start with one.
    #[error("field {} holds a quote but does not start with one (quote the whole field, doubling inner quotes)", column + 1)]
    StrayQuote {
        /// The field (0-based).
        column: usize,
    },
    /// Text after the closing quote of a quoted field.
    #[error("field {} has text after its closing quote", column + 1)]
    TextAfterQuote {
        /// The field (0-based).
        column: usize,
    },
}

impl RowProblem {
    /// The field the problem is in (0-based), when it is in one.
    pub fn column(&self) -> Option<usize> {
        match self {
            RowProblem::FieldCount { .. } => None,
            RowProblem::ControlCharacter { column, .. }
            | RowProblem::StrayQuote { column }
            | RowProblem::TextAfterQuote { column } => Some(*column),
        }
    }
}

/// A value as a message shows it: at most `max` characters (an ellipsis
/// marks the cut), control characters written as `\u{..}` escapes so no
/// report or terminal receives a raw NUL or line break.
pub fn shorten(value: &str, max: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max * 4));
    for (n, c) in value.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::shorten;

    #[test]
    fn shown_values_are_short_and_free_of_control_characters() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("京京京京京京", 3), "京京京…");
        assert_eq!(shorten("a\u{0}b\nc", 10), "a\\u{0}b\\u{a}c");
    }
}
