//! How every command reads its input tables: a text file's encoding and a
//! spreadsheet's sheet, the same options everywhere.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::Context;
use literacy_table::{Encoding, Header, Options, TableReader};

/// Options for reading an input table.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReadArgs {
    /// A text file's encoding: auto (a byte-order mark, else UTF-8, else
    /// GB18030), utf-8, utf-16le, utf-16be or gb18030 (gbk).
    #[arg(long, default_value = "auto")]
    pub encoding: Encoding,
    /// A spreadsheet's sheet (.xlsx, .xls, .ods) [default: the first].
    #[arg(long)]
    pub sheet: Option<String>,
}

impl ReadArgs {
    /// The reader's options.
    pub fn options(&self) -> Options {
        Options {
            encoding: self.encoding,
            sheet: self.sheet.clone(),
        }
    }
}

/// An input table being read.
pub type Reader = TableReader<BufReader<File>>;

/// Opens an input table and reads its header, errors naming the file.
pub fn open(path: &Path, options: &Options) -> anyhow::Result<(Reader, Header)> {
    let cannot = || format!("{}: cannot read", path.display());
    let mut reader = TableReader::open(path, options).with_context(cannot)?;
    let header = reader.header().with_context(cannot)?;
    Ok((reader, header))
}
