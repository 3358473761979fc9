//! Any bytes, read as a table in every encoding and as a spreadsheet: the
//! reader returns rows or an error, never panics, never loops, and its
//! lines only go forward.
#![no_main]

use libfuzzer_sys::fuzz_target;
use literacy_table::{Encoding, Options, Record, TableReader};

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts on any panic, even one caught; the reader
    // catches the spreadsheet library's panics on malformed workbooks and
    // refuses them, so only panics that escape the reader count here
    // (libfuzzer-sys still aborts on those).
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    for encoding in [
        Encoding::Auto,
        Encoding::Utf8,
        Encoding::Gb18030,
        Encoding::Utf16Le,
        Encoding::Utf16Be,
    ] {
        let options = Options {
            encoding,
            sheet: None,
        };
        let Ok(mut reader) = TableReader::from_bytes(data, &options) else {
            continue;
        };
        let Ok(header) = reader.header() else {
            continue;
        };
        let mut record = Record::default();
        let mut last = 1;
        while let Ok(true) = reader.read(&mut record) {
            assert!(record.line() > last, "lines go forward");
            last = record.line();
            if record.problem().is_none() {
                assert_eq!(record.len(), header.len(), "a clean row fits the header");
            }
        }
    }
});
