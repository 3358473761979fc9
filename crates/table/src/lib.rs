//! One tabular reader for every input file of the literacy engine: the
//! command line's answer, microdata, margin and item files, and the
//! provincial batches uploaded to the service.
//!
//! A file is read exactly or refused clearly. Its encoding is detected
//! (UTF-8 with or without a byte-order mark, UTF-16 with one, GB18030/GBK)
//! or named, and decoded losslessly ([`decode`]); CSV is parsed strictly
//! with the physical line of every row ([`csv`]); spreadsheets are read
//! as people see their cells ([`sheet`]); [`TableReader`] takes either. Problems name the line,
//! the column and the reason: [`TableError`] for the whole file,
//! [`RowProblem`] for one row (the others are still read).

pub mod csv;
pub mod decode;
pub mod reader;
pub mod seen;
pub mod sheet;

pub use csv::{CsvReader, Header, PlacedProblem, Record};
pub use decode::Encoding;
pub use reader::{Options, TableReader, is_spreadsheet};
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
    #[error("line {line} (header): {problem}")]
    Header {
        /// Its line.
        line: u64,
        /// What is wrong.
        problem: RowProblem,
    },
    /// A column without a name.
    #[error("line {line} (header): column {column} has no name")]
    EmptyColumnName {
        /// The header's line.
        line: u64,
        /// The column's position (1-based).
        column: usize,
    },
    /// The file is a spreadsheet that cannot be read (or has no such sheet).
    #[error("spreadsheet: {0}")]
    Spreadsheet(String),
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

impl TableError {
    /// The error in Chinese, for pages and reports in Chinese.
    pub fn zh(&self) -> String {
        match self {
            TableError::Io(e) => format!("无法读取：{e}"),
            TableError::Encoding { line, encoding, .. } => format!(
                "第 {line} 行：不是有效的 {encoding} 文本（中文 Excel 保存的 CSV 多为 GBK/GB18030，可选择该编码）"
            ),
            TableError::Empty => "文件为空：没有表头行".to_owned(),
            TableError::UnterminatedQuote { line } => format!(
                "第 {line} 行：以引号开始的字段一直没有结束（一个多余的 \" 会使文件其余部分都成为一个字段）"
            ),
            TableError::RecordTooLarge { line, limit } => {
                format!("第 {line} 行：一行超过 {limit} 字节（引号未闭合，或不是表格文件）")
            }
            TableError::Header { line, problem } => {
                format!("第 {line} 行（表头）：{}", problem.zh())
            }
            TableError::Spreadsheet(e) => format!("电子表格无法读取：{e}"),
            TableError::EmptyColumnName { line, column } => {
                format!("第 {line} 行（表头）：第 {column} 列没有列名")
            }
            TableError::DuplicateColumn {
                line,
                name,
                first,
                second,
            } => format!(
                "第 {line} 行（表头）：列名 {name:?} 出现两次（第 {first} 列和第 {second} 列）"
            ),
        }
    }
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
    /// A spreadsheet cell holding an error (`#N/A`, `#DIV/0!`, ...).
    #[error("field {} holds the spreadsheet error {error}", column + 1)]
    CellError {
        /// The field (0-based).
        column: usize,
        /// The error as the spreadsheet shows it.
        error: String,
    },
}

impl RowProblem {
    /// The problem in Chinese, for pages and reports in Chinese.
    pub fn zh(&self) -> String {
        match self {
            RowProblem::FieldCount { found, expected } => {
                format!("该行有 {found} 个字段，表头有 {expected} 个")
            }
            RowProblem::ControlCharacter { column, code } => {
                format!("第 {} 个字段含有控制字符 U+{code:04X}", column + 1)
            }
            RowProblem::StrayQuote { column } => format!(
                "第 {} 个字段含有引号，但不是以引号开头（应将整个字段用引号括起，内部引号写两次）",
                column + 1
            ),
            RowProblem::TextAfterQuote { column } => {
                format!("第 {} 个字段的右引号之后还有文字", column + 1)
            }
            RowProblem::CellError { column, error } => {
                format!("第 {} 个单元格是电子表格错误 {error}", column + 1)
            }
        }
    }

    /// The field the problem is in (0-based), when it is in one.
    pub fn column(&self) -> Option<usize> {
        match self {
            RowProblem::FieldCount { .. } => None,
            RowProblem::ControlCharacter { column, .. }
            | RowProblem::StrayQuote { column }
            | RowProblem::TextAfterQuote { column }
            | RowProblem::CellError { column, .. } => Some(*column),
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
