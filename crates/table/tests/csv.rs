//! The reader on hostile files: line numbers (CRLF, quoted line breaks,
//! blank lines), every format error with its line, encodings, sizes; and
//! property tests: written tables read back exactly whatever the chunking,
//! and no byte string makes the reader panic.

mod common;

use std::io::Read;

use common::{Row, fields, rows};
use literacy_table::{CsvReader, Encoding, Record, RowProblem, TableError};
use proptest::prelude::*;

/// Every row of `bytes` (the header first), or the file's error.
fn read_all(bytes: &[u8], encoding: Encoding) -> Result<Vec<Row>, TableError> {
    read_from(bytes, encoding)
}

fn read_from(input: impl Read, encoding: Encoding) -> Result<Vec<Row>, TableError> {
    rows(CsvReader::new(input, encoding))
}

#[test]
fn crlf_files_number_their_lines_like_lf_files() {
    for end in ["\n", "\r\n"] {
        let text = ["id,a", "1,x", "2,y", ""].join(end);
        let rows = read_all(text.as_bytes(), Encoding::Auto).expect("read");
        assert_eq!(
            rows,
            vec![
                (1, fields(&["id", "a"]), None),
                (2, fields(&["1", "x"]), None),
                (3, fields(&["2", "y"]), None),
            ],
            "{end:?}"
        );
    }
}

#[test]
fn quoted_fields_keep_commas_quotes_and_line_breaks() {
    let text = "id,note\r\n1,\"a, \"\"b\"\"\r\nc\"\r\n2,plain\r\n";
    let rows = read_all(text.as_bytes(), Encoding::Auto).expect("read");
    assert_eq!(rows[1], (2, fields(&["1", "a, \"b\"\r\nc"]), None));
    assert_eq!(
        rows[2],
        (4, fields(&["2", "plain"]), None),
        "the quoted break counts"
    );
}

#[test]
fn an_unterminated_quote_is_refused_at_its_record() {
    let text = "id,a\n1,x\n2,\"oops\n3,z\n4,w\n";
    assert_eq!(
        read_all(text.as_bytes(), Encoding::Auto),
        Err(TableError::UnterminatedQuote { line: 3 })
    );
    let mut many = String::from("respondent_id,q1,comment\n");
    for r in 0..3000 {
        let comment = if r == 1500 { "\"stray" } else { "ok" };
        many.push_str(&format!("R{r},1,{comment}\n"));
    }
    assert_eq!(
        read_all(many.as_bytes(), Encoding::Auto),
        Err(TableError::UnterminatedQuote { line: 1502 })
    );
}

#[test]
fn malformed_rows_are_flagged_and_reading_goes_on() {
    let text = "id,a\n1\n2,x,y\n3,a\u{0}b\n4,ab\"c\n5,\"ab\"c\n6,ok\n7,x\ry\n";
    let rows = read_all(text.as_bytes(), Encoding::Auto).expect("read");
    let problems: Vec<(u64, Option<RowProblem>)> =
        rows[1..].iter().map(|(l, _, p)| (*l, p.clone())).collect();
    assert_eq!(
        problems,
        vec![
            (
                2,
                Some(RowProblem::FieldCount {
                    found: 1,
                    expected: 2
                })
            ),
            (
                3,
                Some(RowProblem::FieldCount {
                    found: 3,
                    expected: 2
                })
            ),
            (4, Some(RowProblem::ControlCharacter { column: 1, code: 0 })),
            (5, Some(RowProblem::StrayQuote { column: 1 })),
            (6, Some(RowProblem::TextAfterQuote { column: 1 })),
            (7, None),
            (
                8,
                Some(RowProblem::ControlCharacter {
                    column: 1,
                    code: 13
                })
            ),
        ]
    );
    assert_eq!(
        rows[4].1,
        fields(&["4", "ab\"c"]),
        "the value is kept as written"
    );
}

#[test]
fn header_problems_refuse_the_file() {
    assert_eq!(
        read_all(b"id,a,id\n1,2,3\n", Encoding::Auto),
        Err(TableError::DuplicateColumn {
            line: 1,
            name: "id".into(),
            first: 1,
            second: 3
        })
    );
    assert_eq!(
        read_all(b"id, a ,a\n", Encoding::Auto),
        Err(TableError::DuplicateColumn {
            line: 1,
            name: "a".into(),
            first: 2,
            second: 3
        }),
        "names compare trimmed"
    );
    assert_eq!(
        read_all(b"id,a,\n1,2,\n", Encoding::Auto),
        Err(TableError::EmptyColumnName { line: 1, column: 3 })
    );
    assert_eq!(read_all(b"", Encoding::Auto), Err(TableError::Empty));
    assert_eq!(
        read_all(b"\xEF\xBB\xBF\n\n", Encoding::Auto),
        Err(TableError::Empty)
    );
    assert!(matches!(
        read_all(b"id,\"a\"b\n", Encoding::Auto),
        Err(TableError::Header { line: 1, .. })
    ));
}

#[test]
fn blank_lines_are_skipped_but_counted() {
    let rows = read_all(b"id\n\n1\r\n\r\n\n2", Encoding::Auto).expect("read");
    assert_eq!(
        rows,
        vec![
            (1, fields(&["id"]), None),
            (3, fields(&["1"]), None),
            (6, fields(&["2"]), None),
        ]
    );
}

#[test]
fn encodings_are_decoded_exactly() {
    let text = "respondent_id,province\n京-R0000001,11\n\u{20000}-R2,44\n";
    let (gb, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    let rows = read_all(&gb, Encoding::Auto).expect("GB18030 detected");
    assert_eq!(rows[1].1, fields(&["京-R0000001", "11"]));
    assert_eq!(rows[2].1, fields(&["\u{20000}-R2", "44"]));
    let mut utf16: Vec<u8> = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(read_all(&utf16, Encoding::Auto).expect("UTF-16"), rows);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text.as_bytes());
    assert_eq!(
        read_all(&bom, Encoding::Auto).expect("UTF-8 with BOM"),
        rows
    );
    // GBK bytes read as UTF-8 when UTF-8 is named: refused with the line.
    assert!(matches!(
        read_all(&gb, Encoding::Utf8),
        Err(TableError::Encoding {
            line: 2,
            encoding: Encoding::Utf8,
            ..
        })
    ));
}

#[test]
fn huge_fields_and_wide_headers_are_read_whole() {
    let big = "x,".repeat(500_000);
    let text = format!("id,note\n1,\"{big}\"\n2,y\n");
    let rows = read_all(text.as_bytes(), Encoding::Auto).expect("read");
    assert_eq!(rows[1].1[1], big);
    assert_eq!(rows[2].0, 3);
    let names: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    let row: Vec<String> = (0..100_000).map(|i| (i % 7).to_string()).collect();
    let text = format!("{}\n{}\n", names.join(","), row.join(","));
    let mut reader = CsvReader::new(text.as_bytes(), Encoding::Auto);
    let header = reader.header().expect("header");
    assert_eq!(header.len(), 100_000);
    assert_eq!(header.position("c99999"), Some(99_999));
    let mut record = Record::default();
    assert!(reader.read(&mut record).expect("row"));
    assert_eq!((record.len(), record.problem()), (100_000, None));
}

/// Hands out its bytes a few at a time, to cut records, characters and
/// `\r\n` pairs at every possible place.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// A field as a CSV writer would write it: quoted when it must be.
fn write_field(f: &str, out: &mut String) {
    if f.contains([',', '"', '\n', '\r']) || f.is_empty() {
        out.push('"');
        out.push_str(&f.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(f);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn written_tables_read_back_exactly(
        rows in prop::collection::vec(
            prop::collection::vec("[a-z京,\"\n 0-9]{0,6}", 3),
            1..20,
        ),
        crlf in any::<bool>(),
        step in 1usize..9,
        gbk in any::<bool>(),
    ) {
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = String::from("a,b,c");
        text.push_str(end);
        let mut expected_lines = Vec::new();
        let mut line = 2u64;
        for row in &rows {
            expected_lines.push(line);
            for (i, f) in row.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                // Line breaks inside fields are written as the file's own.
                let f = f.replace('\n', end);
                write_field(&f, &mut text);
                line += f.matches('\n').count() as u64;
            }
            text.push_str(end);
            line += 1;
        }
        let bytes = if gbk {
            encoding_rs::GB18030.encode(&text).0.into_owned()
        } else {
            text.clone().into_bytes()
        };
        let encoding = if gbk { Encoding::Gb18030 } else { Encoding::Auto };
        let got = read_from(Trickle { bytes: &bytes, step }, encoding).expect("read");
        prop_assert_eq!(got.len(), rows.len() + 1);
        for ((got, row), line) in got[1..].iter().zip(&rows).zip(&expected_lines) {
            let want: Vec<String> = row.iter().map(|f| f.replace('\n', end)).collect();
            prop_assert_eq!(&got.1, &want);
            prop_assert_eq!(got.0, *line);
            prop_assert_eq!(&got.2, &None);
        }
    }

    #[test]
    fn no_byte_string_makes_the_reader_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        step in 1usize..9,
        encoding in prop::sample::select(vec![Encoding::Auto, Encoding::Utf8, Encoding::Gb18030, Encoding::Utf16Le]),
    ) {
        let _ = read_from(Trickle { bytes: &bytes, step }, encoding);
    }

    #[test]
    fn csv_like_bytes_read_or_fail_without_panic(
        text in "[a,\"\r\n\u{0}京]{0,200}",
        step in 1usize..9,
    ) {
        if let Ok(rows) = read_from(Trickle { bytes: text.as_bytes(), step }, Encoding::Auto) {
            // Lines only go forward.
            prop_assert!(rows.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }
}
