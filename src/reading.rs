//! How every command reads its input tables: a text file's encoding and a
//! spreadsheet's sheet, the same options everywhere.

use literacy_table::{Encoding, Options};

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
