//! What the reader tests share: every row of a reader, as read.

use std::io::Read;

use literacy_table::{CsvReader, Header, Record, RowProblem, TableError, TableReader};

/// One row as read: its line, its fields, its problem.
pub type Row = (u64, Vec<String>, Option<RowProblem>);

/// A reader of header and records: the CSV reader or the table reader.
pub trait Rows {
    fn header(&mut self) -> Result<Header, TableError>;
    fn read(&mut self, record: &mut Record) -> Result<bool, TableError>;
}

impl<R: Read> Rows for CsvReader<R> {
    fn header(&mut self) -> Result<Header, TableError> {
        CsvReader::header(self)
    }
    fn read(&mut self, record: &mut Record) -> Result<bool, TableError> {
        CsvReader::read(self, record)
    }
}

impl<R: Read> Rows for TableReader<R> {
    fn header(&mut self) -> Result<Header, TableError> {
        TableReader::header(self)
    }
    fn read(&mut self, record: &mut Record) -> Result<bool, TableError> {
        TableReader::read(self, record)
    }
}

/// Every row of `reader` (the header first, as line 1), or the file's error.
pub fn rows(mut reader: impl Rows) -> Result<Vec<Row>, TableError> {
    let header = reader.header()?;
    let mut rows = vec![(1, header.names().to_vec(), None)];
    let mut record = Record::default();
    while reader.read(&mut record)? {
        rows.push((
            record.line(),
            record.iter().map(str::to_owned).collect(),
            record.problem().cloned(),
        ));
    }
    Ok(rows)
}

/// Owned fields.
pub fn fields(row: &[&str]) -> Vec<String> {
    row.iter().map(|s| (*s).to_owned()).collect()
}
