//! Spreadsheets read as people see their cells (the files and the script
//! that writes them: `tests/hostile/make_sheets.py`).

mod common;

use std::path::PathBuf;

use common::{Row, fields, rows};
use literacy_table::{Options, RowProblem, TableError, TableReader};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/hostile")
        .join(name)
}

fn read(name: &str, sheet: Option<&str>) -> Result<Vec<Row>, TableError> {
    let options = Options {
        sheet: sheet.map(str::to_owned),
        ..Options::default()
    };
    rows(TableReader::open(&corpus(name), &options)?)
}

#[test]
fn xlsx_cells_read_as_shown() {
    let rows = read("cells.xlsx", None).expect("xlsx");
    assert_eq!(
        rows[0].1,
        fields(&[
            "respondent_id",
            "code",
            "birth_year",
            "weight",
            "interviewed",
            "note"
        ])
    );
    assert_eq!(
        rows[1],
        (
            2,
            fields(&["京-R0000001", "007", "1985", "1.5", "2026-12-06", "城镇"]),
            None
        )
    );
    assert_eq!(
        rows[2],
        (
            3,
            fields(&["京-R0000002", "010", "1990", "2", "2026-01-31", ""]),
            None
        )
    );
    // Row 4 is empty: skipped. Row 5 holds an error cell: flagged.
    assert_eq!(rows[3].0, 5);
    assert_eq!(
        rows[3].2,
        Some(RowProblem::CellError {
            column: 1,
            error: "#N/A".into()
        })
    );
    assert_eq!(rows.len(), 4);
}

#[test]
fn ods_cells_read_as_shown() {
    let rows = read("cells.ods", None).expect("ods");
    assert_eq!(
        rows[1],
        (
            2,
            fields(&["京-R0000001", "007", "1985", "1.5", "2026-12-06", "城镇"]),
            None
        )
    );
    assert_eq!(rows[3].0, 5);
    assert_eq!(rows[3].1[1], "n/a");
}

#[test]
fn a_named_sheet_is_read_and_a_missing_one_is_named() {
    let rows = read("cells.xlsx", Some("第二页")).expect("second sheet");
    assert_eq!(rows[1], (2, fields(&["粤-R0000009", "044"]), None));
    match read("cells.xlsx", Some("Sheet9")) {
        Err(TableError::Spreadsheet(m)) => {
            assert!(m.contains("Sheet9") && m.contains("answers, 第二页"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // A sheet named for a text file is a mistake, said so.
    let dir = std::env::temp_dir().join(format!("lit-sheet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let csv = dir.join("a.csv");
    std::fs::write(&csv, "a\n1\n").expect("csv");
    let options = Options {
        sheet: Some("answers".into()),
        ..Options::default()
    };
    assert!(matches!(
        TableReader::open(&csv, &options),
        Err(TableError::Spreadsheet(_))
    ));
}

#[test]
fn bytes_that_look_like_a_spreadsheet_but_are_not_are_refused() {
    let options = Options::default();
    let result = TableReader::from_bytes(b"PK\x03\x04 not really a zip", &options);
    assert!(
        matches!(result, Err(TableError::Spreadsheet(_))),
        "refused, not read as text"
    );
}

#[test]
fn xls_cells_read_as_shown() {
    let rows = read("cells.xls", None).expect("xls");
    assert_eq!(
        rows[1],
        (
            2,
            fields(&["京-R0000001", "007", "1985", "1.5", "2026-12-06", "城镇"]),
            None
        )
    );
    assert_eq!(
        rows[2].1[2], "1990",
        "a year stored as a float reads as typed"
    );
    assert_eq!(rows[3].0, 5, "the empty row 4 is skipped, its number kept");
    let second = read("cells.xls", Some("第二页")).expect("second sheet");
    assert_eq!(second[1], (2, fields(&["粤-R0000009", "044"]), None));
}
