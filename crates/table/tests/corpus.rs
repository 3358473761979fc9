//! The hostile-input corpus (`tests/hostile/`, written with what each file
//! must give by `make_text.py`): every file read to the expected rows and
//! row problems with their physical lines, or refused by the expected
//! error at the expected line.

use std::path::PathBuf;

use literacy_table::{Options, Record, RowProblem, TableError, TableReader};
use serde_json::Value;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/hostile")
}

fn problem_kind(p: &RowProblem) -> &'static str {
    match p {
        RowProblem::FieldCount { .. } => "field_count",
        RowProblem::ControlCharacter { .. } => "control_character",
        RowProblem::StrayQuote { .. } => "stray_quote",
        RowProblem::TextAfterQuote { .. } => "text_after_quote",
        RowProblem::CellError { .. } => "cell_error",
    }
}

fn error_kind(e: &TableError) -> (&'static str, u64) {
    match e {
        TableError::UnterminatedQuote { line } => ("unterminated_quote", *line),
        TableError::DuplicateColumn { line, .. } => ("duplicate_column", *line),
        TableError::EmptyColumnName { line, .. } => ("empty_column_name", *line),
        TableError::Encoding { line, .. } => ("encoding", *line),
        TableError::Header { line, .. } => ("header", *line),
        TableError::RecordTooLarge { line, .. } => ("record_too_large", *line),
        TableError::Empty => ("empty", 0),
        TableError::Io(_) => ("io", 0),
        TableError::Spreadsheet(_) => ("spreadsheet", 0),
    }
}

/// What reading `name` gives, in the shape of expected.json.
fn outcome(name: &str) -> Value {
    let read = || -> Result<Vec<Value>, TableError> {
        let mut reader = TableReader::open(&corpus().join(name), &Options::default())?;
        let header = reader.header()?;
        assert!(!header.is_empty());
        let mut rows = Vec::new();
        let mut record = Record::default();
        while reader.read(&mut record)? {
            rows.push(serde_json::json!([
                record.line(),
                record.problem().map(problem_kind)
            ]));
        }
        Ok(rows)
    };
    match read() {
        Ok(rows) => serde_json::json!({ "rows": rows }),
        Err(e) => {
            let (kind, line) = error_kind(&e);
            serde_json::json!({ "error": kind, "line": line })
        }
    }
}

#[test]
fn every_corpus_file_reads_as_expected() {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(corpus().join("expected.json")).expect("expected.json"),
    )
    .expect("JSON");
    let cases = expected.as_object().expect("an object");
    assert!(cases.len() >= 20, "the corpus is there");
    for (name, want) in cases {
        assert_eq!(&outcome(name), want, "{name}");
    }
}

#[test]
fn every_encoding_gives_the_same_text() {
    let cells = |name: &str| -> Vec<Vec<String>> {
        let mut reader =
            TableReader::open(&corpus().join(name), &Options::default()).expect("readable");
        let mut out = vec![reader.header().expect("header").names().to_vec()];
        let mut record = Record::default();
        while reader.read(&mut record).expect("rows") {
            out.push(record.iter().map(str::to_owned).collect());
        }
        out
    };
    let utf8 = cells("utf8.csv");
    assert_eq!(utf8[2][2], "乡村, 山区");
    for name in [
        "bom.csv",
        "crlf.csv",
        "gbk.csv",
        "utf16le.csv",
        "utf16be.csv",
    ] {
        assert_eq!(cells(name), utf8, "{name}");
    }
    assert_eq!(cells("gb18030_four_byte.csv")[1][1], "\u{20000}");
    assert_eq!(cells("quoted_breaks.csv")[2][1], "say \"hi\"");
}
