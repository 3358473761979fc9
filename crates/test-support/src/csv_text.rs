//! Reading back the CSV the engine writes (exports, `--format csv`) with
//! the `csv` crate, quoting and all.

/// The header and the records of CSV `bytes`; every record must parse
/// and have as many fields as the header.
pub fn read(bytes: &[u8]) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    let records = reader.records().map(|r| r.expect("a record")).collect();
    (header, records)
}
