//! Cells of the CSV files the service writes, made safe for spreadsheets:
//! a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
//! return would be run as a formula by Excel, WPS or LibreOffice (an
//! uploaded respondent id `=HYPERLINK(...)` becomes a live link), so it is
//! written with a leading `'` (the OWASP rule for CSV injection). Numbers
//! (`-0.5`, `+3`) are left as they are.

use std::borrow::Cow;

/// The cell as written: `'` + the text when a spreadsheet would read it
/// as a formula, the text itself otherwise.
pub(crate) fn safe(cell: &str) -> Cow<'_, str> {
    let formula_start = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula_start && cell.parse::<f64>().is_err() {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Writes one record, every field through [`safe`].
pub(crate) fn write_row<W: std::io::Write, S: AsRef<str>>(
    w: &mut csv::Writer<W>,
    fields: impl IntoIterator<Item = S>,
) -> csv::Result<()> {
    for f in fields {
        w.write_field(safe(f.as_ref()).as_bytes())?;
    }
    w.write_record(None::<&[u8]>)
}

#[cfg(test)]
mod tests {
    use super::safe;

    #[test]
    fn formulas_are_quoted_and_numbers_and_text_left_alone() {
        for (cell, written) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-", "'-"),
            ("-0.5", "-0.5"),
            ("+3", "+3"),
            ("-1e-3", "-1e-3"),
            ("北京", "北京"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(safe(cell), written, "{cell:?}");
        }
    }
}
