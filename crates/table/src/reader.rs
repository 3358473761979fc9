//! One entry point for any table file: text (CSV, streamed) or a
//! spreadsheet, told apart by their first bytes, not by their names.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use crate::TableError;
use crate::csv::{CsvReader, Header, Record};
use crate::decode::Encoding;
use crate::sheet::SheetReader;

/// How a file is read: the encoding of a text file, the sheet of a
/// spreadsheet (the first when none is named).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// A text file's encoding ([`Encoding::Auto`] detects it).
    pub encoding: Encoding,
    /// A spreadsheet's sheet.
    pub sheet: Option<String>,
}

/// Whether `start` begins as a spreadsheet does: a zip archive (`.xlsx`,
/// `.ods`) or an OLE compound file (`.xls`). No text file begins so.
pub fn is_spreadsheet(start: &[u8]) -> bool {
    start.starts_with(b"PK\x03\x04")
        || start.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// A table being read.
pub enum TableReader<R> {
    /// A text file, parsed as CSV as it streams.
    Csv(CsvReader<R>),
    /// A spreadsheet's sheet.
    Sheet(SheetReader),
}

impl TableReader<BufReader<File>> {
    /// Opens the file at `path`.
    pub fn open(path: &Path, options: &Options) -> Result<Self, TableError> {
        let io = |e: std::io::Error| TableError::Io(e.to_string());
        let mut file = File::open(path).map_err(io)?;
        let mut start = [0u8; 8];
        let n = read_up_to(&mut file, &mut start).map_err(io)?;
        file.rewind().map_err(io)?;
        if is_spreadsheet(&start[..n]) {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).map_err(io)?;
            return Ok(TableReader::Sheet(SheetReader::new(
                bytes,
                options.sheet.as_deref(),
            )?));
        }
        text_only(options)?;
        Ok(TableReader::Csv(CsvReader::new(
            BufReader::with_capacity(1 << 20, file),
            options.encoding,
        )))
    }
}

impl<'a> TableReader<&'a [u8]> {
    /// Reads a file held in memory (an upload).
    pub fn from_bytes(bytes: &'a [u8], options: &Options) -> Result<Self, TableError> {
        if is_spreadsheet(bytes) {
            return Ok(TableReader::Sheet(SheetReader::new(
                bytes.to_vec(),
                options.sheet.as_deref(),
            )?));
        }
        text_only(options)?;
        Ok(TableReader::Csv(CsvReader::new(bytes, options.encoding)))
    }
}

impl<R: Read> TableReader<R> {
    /// Reads and checks the header.
    pub fn header(&mut self) -> Result<Header, TableError> {
        match self {
            TableReader::Csv(r) => r.header(),
            TableReader::Sheet(r) => r.header(),
        }
    }

    /// Reads the next row into `record`; false at the end of the table.
    pub fn read(&mut self, record: &mut Record) -> Result<bool, TableError> {
        match self {
            TableReader::Csv(r) => r.read(record),
            TableReader::Sheet(r) => r.read(record),
        }
    }

    /// A text file's encoding (once read), `None` for a spreadsheet.
    pub fn encoding(&self) -> Option<Encoding> {
        match self {
            TableReader::Csv(r) => r.encoding(),
            TableReader::Sheet(_) => None,
        }
    }
}

/// A sheet is named only for spreadsheets.
fn text_only(options: &Options) -> Result<(), TableError> {
    match &options.sheet {
        Some(sheet) => Err(TableError::Spreadsheet(format!(
            "sheet {sheet:?} was named, but the file is text, not a spreadsheet"
        ))),
        None => Ok(()),
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
