//! Spreadsheets (`.xlsx`, `.xls`, `.xlsb`, `.ods`, read with calamine):
//! the first sheet or a named one, every cell as people see it in the
//! spreadsheet: `1985`, not `1985.0`; codes typed as text keep their
//! leading zeros; dates as `2026-12-06`. The header is the sheet's first
//! used row, and every row's line is its row number in the spreadsheet.

use std::io::Cursor;

use calamine::{Data, Reader as _};

use crate::csv::{Header, Record};
use crate::{RowProblem, TableError};

/// A sheet read whole: its header and rows, handed out one by one.
pub struct SheetReader {
    header: Option<Header>,
    rows: std::vec::IntoIter<Record>,
}

impl SheetReader {
    /// Opens the workbook in `bytes` and reads `sheet` (the first sheet
    /// when `None`). A workbook that makes the spreadsheet library panic
    /// (the fuzzer found arithmetic overflows in its cell references) is
    /// refused as malformed, like any other unreadable one.
    pub fn new(bytes: Vec<u8>, sheet: Option<&str>) -> Result<SheetReader, TableError> {
        std::panic::catch_unwind(|| Self::open(bytes, sheet)).unwrap_or_else(|_| {
            Err(TableError::Spreadsheet(
                "the workbook is malformed (its parts cannot be read)".into(),
            ))
        })
    }

    fn open(bytes: Vec<u8>, sheet: Option<&str>) -> Result<SheetReader, TableError> {
        let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
            .map_err(|e| TableError::Spreadsheet(e.to_string()))?;
        let names = book.sheet_names();
        let name = match sheet {
            Some(name) if names.iter().any(|n| n == name) => name.to_owned(),
            Some(name) => {
                return Err(TableError::Spreadsheet(format!(
                    "no sheet {name:?} (sheets: {})",
                    names.join(", ")
                )));
            }
            None => names
                .first()
                .cloned()
                .ok_or_else(|| TableError::Spreadsheet("the workbook has no sheet".into()))?,
        };
        let range = book
            .worksheet_range(&name)
            .map_err(|e| TableError::Spreadsheet(format!("sheet {name:?}: {e}")))?;
        let first_row = u64::from(range.start().map_or(0, |(row, _)| row));
        let mut rows = range.rows().enumerate().map(|(i, cells)| {
            let line = first_row + i as u64 + 1;
            (line, cells.iter().map(shown).collect::<Vec<_>>())
        });
        let Some((header_line, header_cells)) = rows.find(|(_, cells)| !all_empty(cells)) else {
            return Err(TableError::Empty);
        };
        // Columns end with the header's last name; a row with something
        // beyond it does not fit the header.
        let width = header_cells
            .iter()
            .rposition(|c| !c.text.is_empty())
            .map_or(0, |i| i + 1);
        if let Some((column, error)) = header_cells[..width]
            .iter()
            .enumerate()
            .find_map(|(i, c)| c.error.clone().map(|e| (i, e)))
        {
            return Err(TableError::Header {
                line: header_line,
                problem: RowProblem::CellError { column, error },
            });
        }
        let header = Header::new(
            header_line,
            header_cells[..width].iter().map(|c| c.text.clone()),
        )?;
        let records = rows
            .filter(|(_, cells)| !all_empty(cells))
            .map(|(line, cells)| record(line, &cells, width))
            .collect::<Vec<_>>();
        Ok(SheetReader {
            header: Some(header),
            rows: records.into_iter(),
        })
    }

    /// The header (once).
    pub fn header(&mut self) -> Result<Header, TableError> {
        self.header.take().ok_or(TableError::Empty)
    }

    /// The next row into `record`; false at the end.
    pub fn read(&mut self, record: &mut Record) -> Result<bool, TableError> {
        match self.rows.next() {
            Some(r) => {
                *record = r;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// A cell as shown, and the spreadsheet error it holds, if any.
struct Shown {
    text: String,
    error: Option<String>,
}

fn all_empty(cells: &[Shown]) -> bool {
    cells.iter().all(|c| c.text.is_empty() && c.error.is_none())
}

/// One row as a record of `width` fields (more when cells beyond the
/// header are used: the row then does not fit).
fn record(line: u64, cells: &[Shown], width: usize) -> Record {
    let used = cells
        .iter()
        .rposition(|c| !c.text.is_empty() || c.error.is_some())
        .map_or(0, |i| i + 1);
    let fields = (0..width.max(used)).map(|i| cells.get(i).map_or("", |c| c.text.as_str()));
    let mut r = Record::from_fields(line, fields);
    let error = cells
        .iter()
        .enumerate()
        .find_map(|(i, c)| c.error.clone().map(|e| (i, e)));
    let control = cells.iter().enumerate().find_map(|(i, c)| {
        c.text
            .chars()
            .find(|&ch| ch.is_control() && !matches!(ch, '\n' | '\t' | '\r'))
            .map(|ch| (i, u32::from(ch)))
    });
    if used > width {
        r.set_problem(RowProblem::FieldCount {
            found: used,
            expected: width,
        });
    } else if let Some((column, error)) = error {
        r.set_problem(RowProblem::CellError { column, error });
    } else if let Some((column, code)) = control {
        r.set_problem(RowProblem::ControlCharacter { column, code });
    }
    r
}

/// A cell's text as the spreadsheet shows it.
fn shown(cell: &Data) -> Shown {
    let text = match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(d) => {
            let (y, mo, da, h, mi, s, ms) = d.to_ymd_hms_milli();
            if d.is_duration() {
                let seconds = (d.as_f64() * 86_400.0).round() as i64;
                format!(
                    "{}:{:02}:{:02}",
                    seconds / 3600,
                    seconds / 60 % 60,
                    seconds % 60
                )
            } else if (h, mi, s, ms) == (0, 0, 0, 0) {
                format!("{y:04}-{mo:02}-{da:02}")
            } else {
                format!("{y:04}-{mo:02}-{da:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        Data::Error(e) => {
            return Shown {
                text: e.to_string(),
                error: Some(e.to_string()),
            };
        }
    };
    Shown { text, error: None }
}

/// A number as a spreadsheet shows it in General format: whole numbers
/// without a decimal point, others as the shortest text that reads back
/// the same.
fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}
